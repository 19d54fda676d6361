//! `stratbox bench backtest`: what running a strategy as a sandboxed component costs,
//! against the same strategy compiled natively into the same Nautilus `BacktestEngine`.
//!
//! Two workloads, each a pair of twins that make identical decisions:
//! - **light**: `ema-atr-filter` (two EMAs and an ATR on every quote, at most one trade per
//!   2,000 quotes) against its native twin, which compiles the plugin's own decision core.
//!   Nearly all of a run is data flowing through Nautilus and the strategy, so this is
//!   where the sandbox's per-event cost shows.
//! - **heavy**: `ema-cross` against Nautilus's own Rust EMA-cross example (a trade on every
//!   cross: thousands of fills), where Nautilus's order path dominates.
//!
//! For each workload three things run in one process, interleaved (the order rotates every
//! rep, so neither side always runs on a warmer or more fragmented heap): pure replay (the
//! same engine and data with no strategy), the native twin and the component twin. Each
//! run is timed whole (engine setup, data, strategy, teardown); the figures are medians
//! over the reps, per event. `ratio` = component / native.

use std::{path::PathBuf, sync::Arc, time::Instant};

use nautilus_model::{
    identifiers::InstrumentId,
    instruments::Instrument,
    types::{Money, Quantity},
};
use serde::Serialize;
use stratbox_manifest::ParamValue;

use super::median;
use crate::{
    audit::AuditLog,
    backtest::{
        self, BacktestSpec, Outcome, StrategySpec, data, native::light_core::LightConfig,
        report::StrategyReport,
    },
    capabilities::{self, risk_gate::RiskHub},
    catalog::instrument_defs::Instruments,
    sandbox::{EngineOptions, LoadPolicy, MAX_COMPONENT_BYTES, PluginComponent, SandboxEngine},
    storage,
};

crate::named_enum! {
    /// Which pair of twins.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Workload: "workload" {
        Light = "light": "ema-atr-filter and its native twin: indicators on every quote, few orders.",
        Heavy = "heavy": "ema-cross and Nautilus's EMA-cross example: thousands of orders.",
    }
}

/// Settings of the light twins.
#[derive(Debug, Clone, Copy)]
pub struct LightSettings {
    pub fast_period: usize,
    pub slow_period: usize,
    pub atr_period: usize,
    pub atr_mult: f64,
    pub cooldown: u64,
    /// The component registers its EMAs with the host (else it computes them itself).
    pub host_indicators: bool,
}

impl Default for LightSettings {
    fn default() -> Self {
        Self {
            fast_period: 20,
            slow_period: 100,
            atr_period: 14,
            atr_mult: 0.5,
            cooldown: 2_000,
            host_indicators: true,
        }
    }
}

/// What to measure.
#[derive(Debug, Clone)]
pub struct Config {
    /// Folder holding `ema-atr-filter.wasm` and `ema-cross.wasm`.
    pub plugin_dir: PathBuf,
    pub workloads: Vec<Workload>,
    pub data: PathBuf,
    pub format: data::DataFormat,
    pub reps: usize,
    pub trade_size: String,
    pub light: LightSettings,
    /// Fast and slow EMA periods of the heavy twins.
    pub heavy_periods: (usize, usize),
}

/// Figures of one workload.
#[derive(Debug, Clone, Serialize)]
pub struct WorkloadReport {
    pub workload: Workload,
    pub plugin: String,
    pub sha256: String,
    pub instrument: String,
    pub events: usize,
    pub reps: usize,
    /// The engine and data alone, no strategy.
    pub replay_ns_per_event: f64,
    pub native_ns_per_event: f64,
    pub component_ns_per_event: f64,
    /// What the sandbox adds per event: component − native.
    pub sandbox_ns_per_event: f64,
    /// Time inside the guest per event (one extra component run that reads the clock
    /// around every guest call; not part of the medians).
    pub guest_ns_per_event: f64,
    pub orders_native: usize,
    pub orders_component: usize,
    pub fills: usize,
    /// Both twins sent the same orders and got the same fills.
    pub identical: bool,
    pub ratio: f64,
}

/// All workloads of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub build: &'static str,
    pub workloads: Vec<WorkloadReport>,
    /// Peak resident memory of this process (all runs), from `/proc/self/status`.
    pub peak_rss_bytes: Option<u64>,
}

/// The two twins of a workload on one instrument.
#[derive(Debug)]
pub struct Twins {
    pub workload: Workload,
    pub component: PluginComponent,
    params: Vec<(String, ParamValue)>,
    instrument_id: InstrumentId,
    trade_size: Quantity,
    light: LightSettings,
    heavy_periods: (usize, usize),
}

impl Twins {
    /// Loads the component of `workload` from `plugin_dir` and resolves both twins'
    /// parameters for `instrument_id`.
    pub fn new(
        engine: &SandboxEngine,
        config: &Config,
        workload: Workload,
        instrument_id: InstrumentId,
    ) -> Result<Self, String> {
        let file = match workload {
            Workload::Light => "ema-atr-filter.wasm",
            Workload::Heavy => "ema-cross.wasm",
        };
        let path = config.plugin_dir.join(file);
        let bytes =
            storage::read_operator_file(&path, MAX_COMPONENT_BYTES as u64).map_err(|e| {
                format!("{e} (build the bundled components with `cargo xtask plugins`)")
            })?;
        let component =
            capabilities::load(engine, &bytes, &LoadPolicy::default(), &AuditLog::memory())
                .map_err(|e| format!("{}: {e}", path.display()))?;
        let trade_size: Quantity = config
            .trade_size
            .parse()
            .map_err(|e| format!("--trade-size `{}`: {e}", config.trade_size))?;
        let mut overrides = vec![
            ("instrument_id".to_string(), instrument_id.to_string()),
            ("trade_size".to_string(), config.trade_size.clone()),
        ];
        let l = config.light;
        match workload {
            Workload::Light => overrides.extend([
                ("fast_period".to_string(), l.fast_period.to_string()),
                ("slow_period".to_string(), l.slow_period.to_string()),
                ("atr_period".to_string(), l.atr_period.to_string()),
                ("atr_mult".to_string(), l.atr_mult.to_string()),
                ("cooldown".to_string(), l.cooldown.to_string()),
            ]),
            Workload::Heavy => overrides.extend([
                (
                    "fast_period".to_string(),
                    config.heavy_periods.0.to_string(),
                ),
                (
                    "slow_period".to_string(),
                    config.heavy_periods.1.to_string(),
                ),
            ]),
        }
        // Only when asked: a component built before registered indicators (contract 0.1.0)
        // has no such parameter and computes its EMAs itself anyway.
        if workload == Workload::Light && !l.host_indicators {
            overrides.push(("host_indicators".to_string(), "false".to_string()));
        }
        let params = component
            .manifest()
            .resolve_params(&overrides)
            .map_err(|p| p.to_string())?;
        Ok(Self {
            workload,
            component,
            params,
            instrument_id,
            trade_size,
            light: l,
            heavy_periods: config.heavy_periods,
        })
    }

    /// The component twin (`true`) or the native one.
    #[must_use]
    pub fn strategy(&self, sandboxed: bool) -> StrategySpec<'_> {
        if sandboxed {
            return StrategySpec::Component {
                component: &self.component,
                params: self.params.clone(),
            };
        }
        match self.workload {
            Workload::Light => StrategySpec::NativeLight {
                instrument_id: self.instrument_id,
                trade_size: self.trade_size,
                config: LightConfig {
                    fast_period: self.light.fast_period,
                    slow_period: self.light.slow_period,
                    atr_period: self.light.atr_period,
                    atr_mult: self.light.atr_mult,
                    cooldown: self.light.cooldown,
                },
            },
            Workload::Heavy => StrategySpec::NativeEmaCross {
                instrument_id: self.instrument_id,
                trade_size: self.trade_size,
                fast_period: self.heavy_periods.0,
                slow_period: self.heavy_periods.1,
            },
        }
    }
}

/// One backtest of `strategies` on `loaded` with a permissive gate; returns its wall
/// time and outcome.
pub fn run_once(
    engine: &SandboxEngine,
    loaded: &data::Loaded,
    strategies: Vec<StrategySpec<'_>>,
    timing: bool,
    purge_account_events: bool,
) -> Result<(std::time::Duration, Outcome), String> {
    run_observed(
        engine,
        loaded,
        strategies,
        timing,
        purge_account_events,
        &mut |_, _| {},
    )
}

/// [`run_once`], calling `progress(done, total)` after each chunk. Never inlined: the
/// callgrind recipe (`bench backtest --instructions`) collects inside this function only.
#[inline(never)]
pub fn run_observed(
    engine: &SandboxEngine,
    loaded: &data::Loaded,
    strategies: Vec<StrategySpec<'_>>,
    timing: bool,
    purge_account_events: bool,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(std::time::Duration, Outcome), String> {
    let defs = Instruments::bundled();
    let audit = AuditLog::memory();
    let settlement = loaded.instrument.settlement_currency();
    let spec = BacktestSpec {
        instruments: vec![loaded.instrument.clone()],
        table: Arc::new(defs.table()),
        data: loaded.data.clone(),
        balances: vec![Money::new(1_000_000.0, settlement)],
        strategies,
        chunk: backtest::DEFAULT_CHUNK,
        timing,
        risk: RiskHub::permissive(audit.clone()),
        signals: backtest::SignalInput::default(),
        purge_account_events,
    };
    let started = Instant::now();
    let outcome = backtest::run(spec, engine, &audit, progress).map_err(|e| e.to_string())?;
    Ok((started.elapsed(), outcome))
}

/// Orders as (ts, side, quantity, status) and fills as (ts, side, qty, px): what both
/// twins must agree on.
#[must_use]
pub fn decisions(s: &StrategyReport) -> (Vec<[String; 4]>, Vec<[String; 4]>) {
    (
        s.orders
            .iter()
            .map(|o| {
                [
                    o.ts_init.to_string(),
                    o.side.clone(),
                    o.quantity.clone(),
                    o.status.clone(),
                ]
            })
            .collect(),
        s.fills
            .iter()
            .map(|f| {
                [
                    f.ts_event.to_string(),
                    f.side.clone(),
                    f.last_qty.clone(),
                    f.last_px.clone(),
                ]
            })
            .collect(),
    )
}

/// Orders (side, type, quantity, status) and fills (side, quantity, price), without
/// timestamps or ids: what two runs of twins on different engines must agree on.
pub type Decisions = (Vec<[String; 4]>, Vec<[String; 3]>);

/// [`Decisions`] of a strategy's report.
#[must_use]
pub fn decisions_without_time(s: &StrategyReport) -> Decisions {
    (
        s.orders
            .iter()
            .map(|o| {
                [
                    o.side.clone(),
                    o.order_type.clone(),
                    o.quantity.clone(),
                    o.status.clone(),
                ]
            })
            .collect(),
        s.fills
            .iter()
            .map(|f| [f.side.clone(), f.last_qty.clone(), f.last_px.clone()])
            .collect(),
    )
}

crate::named_enum! {
    /// One side of a workload.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Side: "side" {
        Replay = "replay": "The engine and the data alone, no strategy.",
        Native = "native": "The native twin.",
        Component = "component": "The component twin.",
    }
}

impl Side {
    /// `n` copies of this side's strategy of `twins` (none for replay).
    #[must_use]
    pub fn strategies<'a>(self, twins: &'a Twins, n: usize) -> Vec<StrategySpec<'a>> {
        match self {
            Self::Replay => Vec::new(),
            Self::Native => (0..n).map(|_| twins.strategy(false)).collect(),
            Self::Component => (0..n).map(|_| twins.strategy(true)).collect(),
        }
    }
}

/// The benchmark's data: `config.data`, cut to its first `events` events if given.
pub fn load(config: &Config, events: Option<usize>) -> Result<data::Loaded, String> {
    let defs = Instruments::bundled();
    let mut loaded =
        data::load(&config.data, config.format, None, None, &defs).map_err(|e| e.to_string())?;
    if let Some(n) = events {
        if n == 0 {
            return Err("--events 0: at least one event is needed".to_string());
        }
        loaded.data.truncate(n);
    }
    Ok(loaded)
}

/// Runs the benchmark.
pub fn run(config: &Config) -> Result<Report, String> {
    run_on(config, None)
}

/// Runs the benchmark on the first `events` events of the data (all if `None`).
pub fn run_on(config: &Config, events: Option<usize>) -> Result<Report, String> {
    let loaded = load(config, events)?;
    let engine = SandboxEngine::new(EngineOptions::default()).map_err(|e| e.to_string())?;
    let mut workloads = Vec::new();
    for &workload in &config.workloads {
        let twins = Twins::new(&engine, config, workload, loaded.instrument.id())?;
        workloads.push(measure(&engine, &loaded, &twins, config.reps.max(5))?);
    }
    Ok(Report {
        build: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        workloads,
        peak_rss_bytes: super::memory::peak_rss_bytes(),
    })
}

fn measure(
    engine: &SandboxEngine,
    loaded: &data::Loaded,
    twins: &Twins,
    reps: usize,
) -> Result<WorkloadReport, String> {
    let events = loaded.data.len();
    #[allow(clippy::cast_precision_loss)]
    let per_event = |d: std::time::Duration| d.as_nanos() as f64 / events as f64;
    let (mut replay, mut native, mut comp) = (Vec::new(), Vec::new(), Vec::new());
    let (mut native_report, mut comp_report) = (None, None);
    let sides = [Side::Replay, Side::Native, Side::Component];
    for rep in 0..reps {
        for k in 0..sides.len() {
            let side = sides[(rep + k) % sides.len()];
            let (took, outcome) = run_once(engine, loaded, side.strategies(twins, 1), false, true)?;
            match side {
                Side::Replay => replay.push(per_event(took)),
                Side::Native => {
                    native.push(per_event(took));
                    native_report = outcome.report.strategies.into_iter().next();
                }
                Side::Component => {
                    comp.push(per_event(took));
                    comp_report = outcome.report.strategies.into_iter().next();
                }
            }
        }
    }
    let (Some(native_report), Some(comp_report)) = (native_report, comp_report) else {
        return Err("a run produced no strategy report".to_string());
    };
    if let Some(fault) = comp_report.plugin.as_ref().and_then(|p| p.fault.as_ref()) {
        return Err(format!("the component faulted: {fault}"));
    }
    // One more component run with the clock read around each guest call.
    let (_, timed) = run_once(engine, loaded, vec![twins.strategy(true)], true, true)?;
    let guest_nanos = timed.guest_nanos.first().copied().flatten().unwrap_or(0);
    let (native_ns, component_ns) = (median(&mut native), median(&mut comp));
    let m = twins.component.manifest();
    Ok(WorkloadReport {
        workload: twins.workload,
        plugin: format!("{} {}", m.name, m.version),
        sha256: twins.component.sha256().to_string(),
        instrument: loaded.instrument.id().to_string(),
        events,
        reps,
        replay_ns_per_event: median(&mut replay),
        native_ns_per_event: native_ns,
        component_ns_per_event: component_ns,
        sandbox_ns_per_event: component_ns - native_ns,
        #[allow(clippy::cast_precision_loss)]
        guest_ns_per_event: guest_nanos as f64 / events as f64,
        orders_native: native_report.orders.len(),
        orders_component: comp_report.orders.len(),
        fills: comp_report.fills.len(),
        identical: decisions(&native_report) == decisions(&comp_report),
        ratio: component_ns / native_ns,
    })
}
