//! `stratbox bench callback`: what one sandboxed callback costs.
//!
//! Measures, in one process: component compile time, instantiate + init time, and the
//! median time of an `on-bar` callback of a real strategy on real bars with fuel metering
//! on, against the identical callback on an engine without fuel. Fuel-on and fuel-off
//! samples are interleaved so machine noise hits both alike.

use std::{path::PathBuf, sync::Arc, time::Instant};

use serde::Serialize;

use super::median;
use crate::{
    audit::AuditLog,
    bindings::types::Bar,
    catalog::{InstrumentTable, MarketEvent},
    replay::ReplayPlugin,
    sandbox::{EngineOptions, LoadPolicy, PluginComponent, SandboxEngine},
    storage,
};

/// What to measure.
#[derive(Debug, Clone)]
pub struct Config {
    /// Component whose `on-bar` is measured (it must subscribe to bars in `on-start`).
    pub plugin: PathBuf,
    /// Parameter overrides (`name=value`).
    pub params: Vec<(String, String)>,
    /// Folder with the FXCM GBP/USD minute files.
    pub data_dir: PathBuf,
    /// Timed samples per engine.
    pub samples: usize,
    /// Callbacks per sample.
    pub batch: usize,
    pub compile_runs: usize,
    pub instantiate_runs: usize,
}

impl Config {
    /// Defaults for the bundled data and strategies, relative to the repository root.
    #[must_use]
    pub fn bundled(plugin_dir: PathBuf, data_dir: PathBuf) -> Self {
        Self {
            plugin: plugin_dir.join("regime-signal.wasm"),
            params: vec![(
                "bar_type".into(),
                "GBP/USD.FXCM-1-MINUTE-BID-EXTERNAL".into(),
            )],
            data_dir,
            samples: 301,
            batch: 1_000,
            compile_runs: 5,
            instantiate_runs: 200,
        }
    }
}

/// The figures.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub plugin: String,
    pub sha256: String,
    pub callback: &'static str,
    pub bars: usize,
    pub compile_ms: f64,
    pub instantiate_us: f64,
    pub fuel_on_ns: f64,
    pub fuel_off_ns: f64,
    /// fuel_on_ns / fuel_off_ns.
    pub ratio: f64,
    pub fuel_per_callback: f64,
    /// Empty core-wasm function call on the fuel-on engine (calibration).
    pub floor_core_ns: f64,
    /// Empty component export call on the fuel-on engine: wasmtime's fixed cost per callback.
    pub floor_component_ns: f64,
    pub samples: usize,
    pub batch: usize,
}

/// Why the benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Storage(#[from] storage::StorageError),
    #[error(transparent)]
    Data(#[from] crate::catalog::DataError),
    #[error("{0}")]
    Plugin(String),
}

fn plugin_err(e: impl std::fmt::Display) -> BenchError {
    BenchError::Plugin(e.to_string())
}

struct Subject {
    plugin: ReplayPlugin,
    stream: u32,
}

fn subject(
    engine: &SandboxEngine,
    bytes: &[u8],
    market: &Arc<InstrumentTable>,
    params: &[(String, String)],
) -> Result<Subject, BenchError> {
    let audit = AuditLog::memory();
    let component =
        PluginComponent::load(engine, bytes, &LoadPolicy::default()).map_err(plugin_err)?;
    let params = component
        .manifest()
        .resolve_params(params)
        .map_err(plugin_err)?;
    let mut plugin = ReplayPlugin::new(engine, &component, Arc::clone(market), &params, &audit)
        .map_err(plugin_err)?;
    plugin.instance.on_start().map_err(plugin_err)?;
    let stream = plugin
        .instance
        .host()
        .market_data
        .subscriptions()
        .first()
        .map(crate::capabilities::market_data::Subscription::stream)
        .ok_or_else(|| BenchError::Plugin("the plugin subscribed to nothing in on-start".into()))?;
    Ok(Subject { plugin, stream })
}

/// Times `batch` on-bar callbacks starting at bar `*next`; returns ns per callback.
fn sample(
    s: &mut Subject,
    bars: &[Bar],
    next: &mut usize,
    batch: usize,
) -> Result<f64, BenchError> {
    let start = Instant::now();
    for _ in 0..batch {
        let bar = Bar {
            stream: s.stream,
            ..bars[*next]
        };
        *next = (*next + 1) % bars.len();
        s.plugin.instance.on_bar(bar).map_err(plugin_err)?;
    }
    #[allow(clippy::cast_precision_loss)]
    Ok(start.elapsed().as_nanos() as f64 / batch as f64)
}

/// Runs the benchmark.
pub fn run(config: &Config) -> Result<Report, BenchError> {
    let bytes =
        storage::read_operator_file(&config.plugin, crate::sandbox::MAX_COMPONENT_BYTES as u64)?;
    let data = storage::open_dir(&config.data_dir)?;
    let events = crate::replay::fxcm_events(
        &data,
        "gbpusd-m1-bid-2012.csv",
        "gbpusd-m1-ask-2012.csv",
        "GBP/USD.FXCM",
    )?;
    let bars: Vec<Bar> = events
        .iter()
        .filter_map(|e| match e {
            MarketEvent::Bar { bar, .. } => Some(*bar),
            _ => None,
        })
        .collect();
    let market = Arc::new(InstrumentTable::bundled());
    let on = SandboxEngine::new(EngineOptions::default()).map_err(plugin_err)?;
    let off = SandboxEngine::new(EngineOptions {
        fuel: false,
        ..EngineOptions::default()
    })
    .map_err(plugin_err)?;

    let mut compile = Vec::with_capacity(config.compile_runs);
    let mut sha256 = String::new();
    let mut name = String::new();
    for _ in 0..config.compile_runs.max(1) {
        let t = Instant::now();
        let c = PluginComponent::load(&on, &bytes, &LoadPolicy::default()).map_err(plugin_err)?;
        compile.push(t.elapsed().as_secs_f64() * 1e3);
        sha256 = c.sha256().to_string();
        name.clone_from(&c.manifest().name);
    }

    let component =
        PluginComponent::load(&on, &bytes, &LoadPolicy::default()).map_err(plugin_err)?;
    let params = component
        .manifest()
        .resolve_params(&config.params)
        .map_err(plugin_err)?;
    let audit = AuditLog::memory();
    let mut instantiate = Vec::with_capacity(config.instantiate_runs);
    for _ in 0..config.instantiate_runs.max(1) {
        let t = Instant::now();
        let p = ReplayPlugin::new(&on, &component, Arc::clone(&market), &params, &audit)
            .map_err(plugin_err)?;
        instantiate.push(t.elapsed().as_secs_f64() * 1e6);
        drop(p);
    }

    let mut with_fuel = subject(&on, &bytes, &market, &config.params)?;
    let mut without = subject(&off, &bytes, &market, &config.params)?;
    let (mut next_on, mut next_off) = (0, 0);
    // Warm up both (caches, branch predictors, lazily touched pages).
    sample(&mut with_fuel, &bars, &mut next_on, config.batch)?;
    sample(&mut without, &bars, &mut next_off, config.batch)?;
    let fuel_before = with_fuel.plugin.instance.profile();
    let mut on_ns = Vec::with_capacity(config.samples);
    let mut off_ns = Vec::with_capacity(config.samples);
    for _ in 0..config.samples.max(1) {
        on_ns.push(sample(&mut with_fuel, &bars, &mut next_on, config.batch)?);
        off_ns.push(sample(&mut without, &bars, &mut next_off, config.batch)?);
    }
    let fuel_after = with_fuel.plugin.instance.profile();
    let calls = fuel_after.callbacks - fuel_before.callbacks;
    #[allow(clippy::cast_precision_loss)]
    let fuel_per_callback =
        (fuel_after.fuel_total - fuel_before.fuel_total) as f64 / calls.max(1) as f64;
    let (floor_core_ns, floor_component_ns) =
        super::floor::measure(&on, config.samples, config.batch).map_err(plugin_err)?;
    let fuel_on_ns = median(&mut on_ns);
    let fuel_off_ns = median(&mut off_ns);
    Ok(Report {
        plugin: name,
        sha256,
        callback: "on-bar",
        bars: bars.len(),
        compile_ms: median(&mut compile),
        instantiate_us: median(&mut instantiate),
        fuel_on_ns,
        fuel_off_ns,
        ratio: if fuel_off_ns > 0.0 {
            fuel_on_ns / fuel_off_ns
        } else {
            0.0
        },
        fuel_per_callback,
        floor_core_ns,
        floor_component_ns,
        samples: config.samples,
        batch: config.batch,
    })
}
