//! `stratbox bench order-path`: Nautilus's order path with and without the account-history
//! purge (see `backtest::history`), on a fill-heavy run.
//!
//! The heavy twin's native side (Nautilus's own EMA-cross example) runs on the same data
//! with `purge_account_events` off (Nautilus untouched: every fill copies the account's
//! whole state history) and on, alternately, `reps` times each. Both reports must be
//! identical (orders, fills, positions, PnL, statistics, balance curve); the speed-up is
//! the ratio of the medians.

use std::path::PathBuf;

use serde::Serialize;

use super::{
    backtest::{self as bt, Twins, Workload},
    median,
};
use crate::{
    backtest::data,
    catalog::instrument_defs::Instruments,
    sandbox::{EngineOptions, SandboxEngine},
};

/// What to measure.
#[derive(Debug, Clone)]
pub struct Config {
    pub plugin_dir: PathBuf,
    pub data: PathBuf,
    pub format: data::DataFormat,
    pub reps: usize,
    pub trade_size: String,
    pub periods: (usize, usize),
    /// Also measure the component twin (slower: twice the runs).
    pub component: bool,
}

/// One side's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Pair {
    pub strategy: &'static str,
    pub untouched_ns_per_event: f64,
    pub purged_ns_per_event: f64,
    pub speedup: f64,
    /// Every field of both reports is equal.
    pub identical_reports: bool,
}

/// The figures.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub build: &'static str,
    pub instrument: String,
    pub events: usize,
    pub orders: usize,
    pub fills: usize,
    pub reps: usize,
    pub pairs: Vec<Pair>,
}

/// Runs the benchmark.
pub fn run(config: &Config) -> Result<Report, String> {
    let defs = Instruments::bundled();
    let loaded =
        data::load(&config.data, config.format, None, None, &defs).map_err(|e| e.to_string())?;
    let engine = SandboxEngine::new(EngineOptions::default()).map_err(|e| e.to_string())?;
    let bench = bt::Config {
        plugin_dir: config.plugin_dir.clone(),
        workloads: vec![Workload::Heavy],
        data: config.data.clone(),
        format: config.format,
        reps: config.reps,
        trade_size: config.trade_size.clone(),
        light: bt::LightSettings::default(),
        heavy_periods: config.periods,
    };
    use nautilus_model::instruments::Instrument;
    let twins = Twins::new(&engine, &bench, Workload::Heavy, loaded.instrument.id())?;
    let events = loaded.data.len();
    #[allow(clippy::cast_precision_loss)]
    let per_event = |d: std::time::Duration| d.as_nanos() as f64 / events as f64;
    let mut pairs = Vec::new();
    let (mut orders, mut fills) = (0, 0);
    let sides: &[(bool, &'static str)] = if config.component {
        &[(false, "native"), (true, "component")]
    } else {
        &[(false, "native")]
    };
    for &(sandboxed, name) in sides {
        let (mut untouched, mut purged) = (Vec::new(), Vec::new());
        let mut reports = (None, None);
        for rep in 0..config.reps.max(1) {
            let order = if rep % 2 == 0 {
                [false, true]
            } else {
                [true, false]
            };
            for purge in order {
                let (took, outcome) = bt::run_once(
                    &engine,
                    &loaded,
                    vec![twins.strategy(sandboxed)],
                    false,
                    purge,
                )?;
                let json = serde_json::to_value(&outcome.report).map_err(|e| e.to_string())?;
                if let Some(s) = outcome.report.strategies.first() {
                    orders = s.orders.len();
                    fills = s.fills.len();
                }
                if purge {
                    purged.push(per_event(took));
                    reports.1 = Some(json);
                } else {
                    untouched.push(per_event(took));
                    reports.0 = Some(json);
                }
            }
        }
        let (u, p) = (median(&mut untouched), median(&mut purged));
        pairs.push(Pair {
            strategy: name,
            untouched_ns_per_event: u,
            purged_ns_per_event: p,
            speedup: u / p,
            identical_reports: reports.0.is_some() && reports.0 == reports.1,
        });
    }
    Ok(Report {
        build: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        instrument: loaded.instrument.id().to_string(),
        events,
        orders,
        fills,
        reps: config.reps.max(1),
        pairs,
    })
}
