//! Shared fixtures for the end-to-end tests: engine, bundled data, plugin loading, replay.
#![allow(dead_code)]

use std::sync::{Arc, OnceLock};

use stratbox::{
    audit::AuditLog,
    catalog::{InstrumentTable, MarketEvent},
    replay::{self, ReplayPlugin},
    sandbox::{EngineOptions, FaultRecord, LoadPolicy, PluginComponent, SandboxEngine},
};

pub const GBPUSD: &str = "GBP/USD.FXCM";
pub const GBPUSD_BID_BARS: &str = "GBP/USD.FXCM-1-MINUTE-BID-EXTERNAL";

/// The bundled GBP/USD minutes as events (bar + quote per minute), read once.
pub fn all_events() -> &'static [MarketEvent] {
    static EVENTS: OnceLock<Vec<MarketEvent>> = OnceLock::new();
    EVENTS.get_or_init(|| {
        let dir = stratbox::storage::open_dir(
            concat!(env!("CARGO_MANIFEST_DIR"), "/../data/fxcm").as_ref(),
        )
        .unwrap();
        replay::fxcm_events(
            &dir,
            "gbpusd-m1-bid-2012.csv",
            "gbpusd-m1-ask-2012.csv",
            GBPUSD,
        )
        .unwrap()
    })
}

/// The first `n` events.
pub fn events(n: usize) -> &'static [MarketEvent] {
    &all_events()[..n]
}

pub fn engine() -> SandboxEngine {
    SandboxEngine::new(EngineOptions::default()).unwrap()
}

pub fn bytes(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn load(engine: &SandboxEngine, path: &str) -> PluginComponent {
    PluginComponent::load(engine, &bytes(path), &LoadPolicy::default())
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn load_with(engine: &SandboxEngine, path: &str, policy: &LoadPolicy) -> PluginComponent {
    PluginComponent::load(engine, &bytes(path), policy).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn market() -> Arc<InstrumentTable> {
    Arc::new(InstrumentTable::bundled())
}

/// Instantiates `component` with `params` (name, text) on top of its manifest defaults.
pub fn plugin(
    engine: &SandboxEngine,
    component: &PluginComponent,
    market: &Arc<InstrumentTable>,
    params: &[(&str, &str)],
) -> ReplayPlugin {
    let overrides: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
    let params = component.manifest().resolve_params(&overrides).unwrap();
    ReplayPlugin::new(
        engine,
        component,
        Arc::clone(market),
        &params,
        &AuditLog::memory(),
    )
    .unwrap()
}

/// ema-cross on GBP/USD with small periods so it trades often in a short slice.
pub fn ema_cross(engine: &SandboxEngine, market: &Arc<InstrumentTable>) -> ReplayPlugin {
    let component = load(engine, stratbox_artifacts::EMA_CROSS);
    plugin(
        engine,
        &component,
        market,
        &[
            ("instrument_id", GBPUSD),
            ("fast_period", "5"),
            ("slow_period", "20"),
        ],
    )
}

/// Runs `plugins` over `events`; returns the faults.
pub fn run(
    plugins: &mut [ReplayPlugin],
    market: &InstrumentTable,
    events: &[MarketEvent],
) -> Vec<FaultRecord> {
    replay::run(plugins, market, events)
}
