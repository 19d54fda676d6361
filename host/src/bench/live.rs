//! `stratbox bench live`: tick-to-order latency through a Nautilus `LiveNode`, for the
//! `ema-cross` component and Nautilus's own EMA-cross strategy on the same quotes, in one
//! process.
//!
//! Each run plays the quotes through the replay feed at full speed into its own node with
//! the sandbox venue. For every order the strategy sent:
//! - **tick**: the wall-clock time the quote that triggered it reached the node's message
//!   bus (recorded by the node's first handler, ahead of the strategy);
//! - **decision**: the order's `ts_init`, when the strategy created it. For the component
//!   this includes the guest call, the risk gate and the order conversion;
//! - **submitted**: the `OrderSubmitted` event's time, stamped by the sandbox execution
//!   client when Nautilus's `RiskEngine` and `ExecutionEngine` handed it the order.
//!
//! All three come from the same clock (Nautilus's realtime clock). Latency = submitted −
//! tick; it splits into tick → decision (the strategy) and decision → submitted (Nautilus's
//! order path, the same for both). Runs alternate sides; percentiles pool every order of
//! every run of a side. `ratio_p99` = component p99 / native p99.

use std::time::Duration;

use nautilus_common::cache::Cache;
use nautilus_model::{events::OrderEventAny, instruments::Instrument, orders::Order};
use serde::Serialize;

use super::backtest::{Config as BacktestConfig, Twins, Workload};
use crate::{
    audit::AuditLog,
    backtest::{self, BacktestSpec, data},
    capabilities::risk_gate::RiskHub,
    catalog::instrument_defs::Instruments,
    nautilus::{live, paper::Speed},
    sandbox::{EngineOptions, SandboxEngine},
};

/// What to measure.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the components are, the data, the twins' settings (the heavy pair).
    pub twins: BacktestConfig,
    /// Runs per side (alternating).
    pub reps: usize,
}

/// Latency figures of one side, in microseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    pub strategy: String,
    pub orders: usize,
    pub p50_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
    /// Tick → the strategy's order (median).
    pub decision_p50_us: f64,
    pub decision_p99_us: f64,
    /// The strategy's order → the execution client (median).
    pub order_path_p50_us: f64,
    pub order_path_p99_us: f64,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub build: &'static str,
    pub instrument: String,
    pub events: usize,
    pub reps: usize,
    pub component: Side,
    pub native: Side,
    /// Both sides sent the same orders and got the same fills (every run).
    pub identical: bool,
    pub ratio_p99: f64,
}

/// Per order: (tick → submitted, tick → decision, decision → submitted), in ns.
type Sample = (u64, u64, u64);

/// Latency samples of every order in `cache`, given the arrival times of the quotes.
fn samples(cache: &Cache, arrivals: &[u64]) -> Vec<Sample> {
    let mut out = Vec::new();
    for order in cache.orders(None, None, None, None, None) {
        let decision = order.ts_init().as_u64();
        let Some(submitted) = order.events().iter().find_map(|e| match e {
            OrderEventAny::Submitted(s) => Some(s.ts_event.as_u64()),
            _ => None,
        }) else {
            continue;
        };
        // The last quote that reached the bus before the strategy decided.
        let i = arrivals.partition_point(|&a| a <= decision);
        let Some(&tick) = i.checked_sub(1).and_then(|i| arrivals.get(i)) else {
            continue;
        };
        out.push((
            submitted.saturating_sub(tick),
            decision.saturating_sub(tick),
            submitted.saturating_sub(decision),
        ));
    }
    out
}

/// The `q`-quantile (0..=1) of sorted `v`, in µs.
#[allow(clippy::cast_precision_loss)]
fn quantile_us(v: &[u64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let rank = ((v.len() - 1) as f64 * q).round() as usize;
    v[rank.min(v.len() - 1)] as f64 / 1_000.0
}

fn side(strategy: &str, samples: &[Sample]) -> Side {
    let pick = |f: fn(&Sample) -> u64| {
        let mut v: Vec<u64> = samples.iter().map(f).collect();
        v.sort_unstable();
        v
    };
    let (total, decision, path) = (pick(|s| s.0), pick(|s| s.1), pick(|s| s.2));
    Side {
        strategy: strategy.to_string(),
        orders: samples.len(),
        p50_us: quantile_us(&total, 0.5),
        p90_us: quantile_us(&total, 0.9),
        p99_us: quantile_us(&total, 0.99),
        max_us: quantile_us(&total, 1.0),
        decision_p50_us: quantile_us(&decision, 0.5),
        decision_p99_us: quantile_us(&decision, 0.99),
        order_path_p50_us: quantile_us(&path, 0.5),
        order_path_p99_us: quantile_us(&path, 0.99),
    }
}

/// One live run of `twins`' component (`true`) or native side on its own thread (a node's
/// components are thread-local); returns the samples and the decisions.
fn run_once(
    engine: &SandboxEngine,
    loaded: &data::Loaded,
    twins: &Twins,
    sandboxed: bool,
) -> Result<(Vec<Sample>, super::backtest::Decisions), String> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let defs = Instruments::bundled();
                let audit = AuditLog::memory();
                let spec = BacktestSpec {
                    instruments: vec![loaded.instrument.clone()],
                    table: std::sync::Arc::new(defs.table()),
                    data: loaded.data.clone(),
                    balances: vec![nautilus_model::types::Money::new(
                        1_000_000.0,
                        loaded.instrument.settlement_currency(),
                    )],
                    strategies: vec![twins.strategy(sandboxed)],
                    chunk: backtest::DEFAULT_CHUNK,
                    timing: false,
                    risk: RiskHub::permissive(audit.clone()),
                    signals: backtest::SignalInput::default(),
                    purge_account_events: true,
                };
                let options = live::LiveOptions {
                    speed: Speed::Max,
                    stale_after: Duration::from_secs(3_600),
                    record_arrivals: true,
                    record_feed: false,
                };
                let (outcome, samples) =
                    live::run_inspect(spec, options, engine, &audit, &mut |_, _| {}, samples)
                        .map_err(|e| e.to_string())?;
                let decisions = outcome
                    .report
                    .strategies
                    .first()
                    .map(super::backtest::decisions_without_time)
                    .unwrap_or_default();
                Ok((samples, decisions))
            })
            .join()
            .map_err(|_| "the live run's thread panicked".to_string())?
    })
}

/// Runs the benchmark.
///
/// # Errors
/// Missing components or data, or a node that fails.
pub fn run(config: &Config) -> Result<Report, String> {
    let defs = Instruments::bundled();
    let t = &config.twins;
    let loaded = data::load(&t.data, t.format, None, None, &defs).map_err(|e| e.to_string())?;
    let engine = SandboxEngine::new(EngineOptions::default()).map_err(|e| e.to_string())?;
    let twins = Twins::new(&engine, t, Workload::Heavy, loaded.instrument.id())?;
    let reps = config.reps.max(1);
    let (mut comp, mut native) = (Vec::new(), Vec::new());
    let mut identical = true;
    for rep in 0..reps {
        // Alternate which side runs first.
        let order = if rep % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        let mut decisions = Vec::new();
        for sandboxed in order {
            let (s, d) = run_once(&engine, &loaded, &twins, sandboxed)?;
            if sandboxed {
                comp.extend(s);
            } else {
                native.extend(s);
            }
            decisions.push(d);
        }
        identical &= decisions[0] == decisions[1];
    }
    let (component, native) = (
        side("ema-cross (component)", &comp),
        side("EmaCross (native)", &native),
    );
    let ratio_p99 = if native.p99_us > 0.0 {
        component.p99_us / native.p99_us
    } else {
        0.0
    };
    Ok(Report {
        build: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        instrument: loaded.instrument.id().to_string(),
        events: loaded.data.len(),
        reps,
        component,
        native,
        identical,
        ratio_p99,
    })
}

#[cfg(test)]
mod tests {
    use super::{quantile_us, samples};

    #[test]
    fn quantiles_pick_ranks() {
        let v: Vec<u64> = (1..=100).map(|x| x * 1_000).collect();
        assert_eq!(quantile_us(&v, 0.5), 51.0);
        assert_eq!(quantile_us(&v, 0.99), 99.0);
        assert_eq!(quantile_us(&v, 1.0), 100.0);
        assert_eq!(quantile_us(&[], 0.5), 0.0);
    }

    #[test]
    fn an_empty_cache_has_no_samples() {
        let cache = nautilus_common::cache::Cache::default();
        assert!(samples(&cache, &[1, 2, 3]).is_empty());
    }
}
