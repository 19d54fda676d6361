//! `stratbox bench backtest --strategies N[,N...]`: N copies of the light component in one
//! engine against N native twins, for each N (and always N = 1, the baseline), interleaved
//! with pure replay. Per N: ns per market event for each side, `ratio` = component ÷ native
//! (whole runs), the sandbox's cost per copy, (component − native) ÷ N ns per event, and the
//! resident memory each extra component costs: the growth of RSS during a component run
//! (sampled after every chunk) minus that of the native run, divided by N.
//!
//! The whole-run ratio grows with N by construction (N sandboxes against N native cores that
//! cost almost nothing, on the same replay); what must not grow is the cost per copy: a
//! per-instance cost that grew with the number of instances (a shared lock, a scan over
//! every instance per event) would show there. The RSS figure is approximate (the allocator
//! reuses what earlier runs freed); `bench memory` measures idle instances exactly.

use serde::Serialize;

use super::{
    backtest::{self, Config, Side, Twins, Workload},
    median,
    memory::rss_bytes,
};
use crate::sandbox::{EngineOptions, SandboxEngine};

/// One N.
#[derive(Debug, Clone, Serialize)]
pub struct ScalingRow {
    pub strategies: usize,
    pub replay_ns_per_event: f64,
    pub native_ns_per_event: f64,
    pub component_ns_per_event: f64,
    pub ratio: f64,
    /// (component − native) ÷ N: what one sandboxed copy adds per market event.
    pub sandbox_ns_per_event_per_copy: f64,
    /// RSS growth during a run (median over the reps), where `/proc` has it.
    pub native_rss_growth_bytes: Option<f64>,
    pub component_rss_growth_bytes: Option<f64>,
    /// (component growth − native growth) ÷ N.
    pub rss_per_component_bytes: Option<f64>,
    /// Orders of the first copy (every copy decides alike).
    pub orders_per_strategy: usize,
    /// Every copy on both sides made the same decisions.
    pub identical: bool,
}

/// What `--strategies` measured.
#[derive(Debug, Clone, Serialize)]
pub struct ScalingReport {
    pub build: &'static str,
    pub plugin: String,
    pub events: usize,
    pub reps: usize,
    pub rows: Vec<ScalingRow>,
    /// The sandbox cost per copy at the largest N ÷ at N = 1 (≤ 1 when it does not grow).
    pub per_copy_growth: f64,
}

/// Measures N = 1 and every N of `counts` on the light twins.
pub fn run(
    config: &Config,
    counts: &[usize],
    events: Option<usize>,
) -> Result<ScalingReport, String> {
    if let Some(bad) = counts.iter().find(|&&n| n == 0 || n > 500) {
        return Err(format!("--strategies {bad}: between 1 and 500 copies"));
    }
    let mut counts: Vec<usize> = std::iter::once(1).chain(counts.iter().copied()).collect();
    counts.sort_unstable();
    counts.dedup();
    let loaded = backtest::load(config, events)?;
    let engine = SandboxEngine::new(EngineOptions::default()).map_err(|e| e.to_string())?;
    let twins = {
        use nautilus_model::instruments::Instrument;
        Twins::new(&engine, config, Workload::Light, loaded.instrument.id())?
    };
    let reps = config.reps.max(3);
    let n_events = loaded.data.len();
    let mut rows = Vec::new();
    for &n in &counts {
        let mut time = [Vec::new(), Vec::new(), Vec::new()];
        let mut growth = [Vec::new(), Vec::new(), Vec::new()];
        let mut decisions: [Vec<_>; 3] = [Vec::new(), Vec::new(), Vec::new()];
        let sides = [Side::Replay, Side::Native, Side::Component];
        for rep in 0..reps {
            for k in 0..sides.len() {
                let i = (rep + k) % sides.len();
                let before = rss_bytes();
                let mut peak = before.unwrap_or(0);
                let (took, outcome) = backtest::run_observed(
                    &engine,
                    &loaded,
                    sides[i].strategies(&twins, n),
                    false,
                    true,
                    &mut |_, _| peak = peak.max(rss_bytes().unwrap_or(0)),
                )?;
                #[allow(clippy::cast_precision_loss)]
                time[i].push(took.as_nanos() as f64 / n_events as f64);
                if let Some(b) = before {
                    #[allow(clippy::cast_precision_loss)]
                    growth[i].push(peak.saturating_sub(b) as f64);
                }
                let reports = outcome.report.strategies;
                if let Some(fault) = reports
                    .iter()
                    .find_map(|r| r.plugin.as_ref().and_then(|p| p.fault.clone()))
                {
                    return Err(format!("a component copy faulted: {fault}"));
                }
                decisions[i] = reports.iter().map(backtest::decisions).collect();
            }
        }
        let [replay_ns, native_ns, component_ns] = time.map(|mut t| median(&mut t));
        let [_, native_growth, component_growth] =
            growth.map(|mut g| (!g.is_empty()).then(|| median(&mut g)));
        let first = decisions[1].first().cloned();
        let identical = decisions[1..]
            .iter()
            .all(|side| side.len() == n && side.iter().all(|d| Some(d) == first.as_ref()));
        rows.push(ScalingRow {
            strategies: n,
            replay_ns_per_event: replay_ns,
            native_ns_per_event: native_ns,
            component_ns_per_event: component_ns,
            ratio: component_ns / native_ns,
            #[allow(clippy::cast_precision_loss)]
            sandbox_ns_per_event_per_copy: (component_ns - native_ns) / n as f64,
            native_rss_growth_bytes: native_growth,
            component_rss_growth_bytes: component_growth,
            #[allow(clippy::cast_precision_loss)]
            rss_per_component_bytes: native_growth
                .zip(component_growth)
                .map(|(a, b)| (b - a) / n as f64),
            orders_per_strategy: first.map_or(0, |d| d.0.len()),
            identical,
        });
    }
    let per_copy_growth = match (rows.first(), rows.last()) {
        (Some(a), Some(b)) => b.sandbox_ns_per_event_per_copy / a.sandbox_ns_per_event_per_copy,
        _ => 1.0,
    };
    let m = twins.component.manifest();
    Ok(ScalingReport {
        build: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        plugin: format!("{} {}", m.name, m.version),
        events: n_events,
        reps,
        rows,
        per_copy_growth,
    })
}
