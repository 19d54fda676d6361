//! `stratbox bench backtest`: the cost of running a strategy as a sandboxed component
//! instead of natively, inside the same Nautilus `BacktestEngine`.
//!
//! In one process, native EMA-cross (nautilus-trading's Rust example) and the `ema-cross`
//! component run alternately (ABBA order) `reps` times on the same data with the same
//! parameters; each run is timed whole (engine setup, data, strategy, teardown). The ratio
//! of the medians is the figure; both sides make identical decisions (see the parity
//! tests). With Nautilus 0.57 most of a run with many fills is Nautilus's own per-fill
//! work (each fill clones the margin account with its event history), so `--slow-period`
//! larger (fewer fills) shows the per-event cost of the sandbox more plainly.

use std::{path::PathBuf, sync::Arc, time::Instant};

use nautilus_model::{instruments::Instrument, types::Quantity};
use serde::Serialize;

use super::median;
use crate::{
    audit::AuditLog,
    backtest::{self, BacktestSpec, StrategySpec, data},
    capabilities::{self, risk_gate::RiskHub},
    catalog::instrument_defs::Instruments,
    sandbox::{EngineOptions, LoadPolicy, MAX_COMPONENT_BYTES, SandboxEngine},
    storage,
};

/// What to measure.
#[derive(Debug, Clone)]
pub struct Config {
    pub plugin: PathBuf,
    pub data: PathBuf,
    pub format: data::DataFormat,
    pub reps: usize,
    pub trade_size: String,
    pub fast_period: usize,
    pub slow_period: usize,
}

/// Measured figures.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub plugin: String,
    pub sha256: String,
    pub instrument: String,
    pub events: usize,
    pub reps: usize,
    pub native_ns_per_event: f64,
    pub component_ns_per_event: f64,
    /// Time inside the guest per event (from one extra component run that reads the clock
    /// around every guest call; that run is not in the ratio).
    pub guest_ns_per_event: f64,
    pub orders_native: usize,
    pub orders_component: usize,
    pub ratio: f64,
}

/// Runs the benchmark.
pub fn run(config: &Config) -> Result<Report, String> {
    let defs = Instruments::bundled();
    let loaded =
        data::load(&config.data, config.format, None, None, &defs).map_err(|e| e.to_string())?;
    let engine = SandboxEngine::new(EngineOptions::default()).map_err(|e| e.to_string())?;
    let audit = AuditLog::memory();
    let bytes = storage::read_operator_file(&config.plugin, MAX_COMPONENT_BYTES as u64)
        .map_err(|e| e.to_string())?;
    let component = capabilities::load(&engine, &bytes, &LoadPolicy::default(), &audit)
        .map_err(|e| e.to_string())?;
    let id = loaded.instrument.id();
    let trade_size: Quantity = config
        .trade_size
        .parse()
        .map_err(|e| format!("--trade-size `{}`: {e}", config.trade_size))?;
    let overrides = vec![
        ("instrument_id".to_string(), id.to_string()),
        ("trade_size".to_string(), config.trade_size.clone()),
        ("fast_period".to_string(), config.fast_period.to_string()),
        ("slow_period".to_string(), config.slow_period.to_string()),
    ];
    let params = component
        .manifest()
        .resolve_params(&overrides)
        .map_err(|p| p.to_string())?;
    let table = Arc::new(defs.table());
    let settlement = loaded.instrument.settlement_currency();
    let events = loaded.data.len();
    let run_once = |sandboxed: bool, timing: bool| -> Result<(f64, usize, u64), String> {
        let strategy = if sandboxed {
            StrategySpec::Component {
                component: &component,
                params: params.clone(),
            }
        } else {
            StrategySpec::NativeEmaCross {
                instrument_id: id,
                trade_size,
                fast_period: config.fast_period,
                slow_period: config.slow_period,
            }
        };
        let spec = BacktestSpec {
            instruments: vec![loaded.instrument.clone()],
            table: Arc::clone(&table),
            data: loaded.data.clone(),
            balances: vec![nautilus_model::types::Money::new(1_000_000.0, settlement)],
            strategies: vec![strategy],
            chunk: usize::MAX,
            timing,
            risk: RiskHub::permissive(audit.clone()),
            signals: crate::backtest::SignalInput::default(),
            purge_account_events: true,
        };
        let started = Instant::now();
        let outcome =
            backtest::run(spec, &engine, &audit, &mut |_, _| {}).map_err(|e| e.to_string())?;
        #[allow(clippy::cast_precision_loss)]
        let per_event = started.elapsed().as_nanos() as f64 / events as f64;
        let orders = outcome.report.strategies[0].orders.len();
        Ok((per_event, orders, outcome.guest_nanos[0].unwrap_or(0)))
    };
    let (mut native, mut comp) = (Vec::new(), Vec::new());
    let (mut orders_native, mut orders_component) = (0, 0);
    // ABBA order (N C, C N, N C, ...): later runs in a process are slower (the heap
    // Nautilus leaves behind grows), so a fixed order would bias whichever side runs second.
    for rep in 0..config.reps.max(1) {
        let order = if rep % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        for sandboxed in order {
            // Untimed: reading the clock around every guest call is not part of the cost.
            let (ns, orders, _) = run_once(sandboxed, false)?;
            if sandboxed {
                comp.push(ns);
                orders_component = orders;
            } else {
                native.push(ns);
                orders_native = orders;
            }
        }
    }
    // One more component run, with the clock read around each guest call, for the share
    // of the time spent inside the guest.
    let (_, _, guest_nanos) = run_once(true, true)?;
    let native_ns = median(&mut native);
    let component_ns = median(&mut comp);
    Ok(Report {
        plugin: component.manifest().name.clone(),
        sha256: component.sha256().to_string(),
        instrument: id.to_string(),
        events,
        reps: config.reps.max(1),
        native_ns_per_event: native_ns,
        component_ns_per_event: component_ns,
        #[allow(clippy::cast_precision_loss)]
        guest_ns_per_event: guest_nanos as f64 / events as f64,
        orders_native,
        orders_component,
        ratio: component_ns / native_ns,
    })
}
