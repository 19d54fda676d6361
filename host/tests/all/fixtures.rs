//! What every test area shares, defined once: the repository's folders and bundled data, the
//! `stratbox` binary, the PostgreSQL URL, one sandbox engine and a process-wide cache of
//! compiled plugin components, the bundled GBP/USD minutes as events, and replay helpers.
#![allow(dead_code)] // each area uses the part it needs

use std::{
    collections::HashMap,
    path::Path,
    process::Command,
    sync::{Arc, Mutex, OnceLock},
};

use stratbox::{
    audit::AuditLog,
    backtest::data::{self, DataFormat},
    catalog::{InstrumentTable, MarketEvent, instrument_defs::Instruments},
    replay::{self, ReplayPlugin},
    sandbox::{EngineOptions, FaultRecord, LoadPolicy, PluginComponent, SandboxEngine},
};

/// The repository's root folder.
pub const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
/// The bundled market data (`data/`).
pub const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../data");
/// The bundled GBP/USD one-minute bid bars of 2012, relative to [`DATA`].
pub const GBPUSD_FILE: &str = "fxcm/gbpusd-m1-bid-2012.csv";
/// The bundled BTC perpetual regime signals of January 2022.
pub const SIGNALS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../data/signals/btc-perp-regimes-2022-01.jsonl"
);
/// Nautilus's own 64-bit fixed-point reference Parquet files.
pub const NAUTILUS_64BIT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/nautilus-64bit");

pub const GBPUSD: &str = "GBP/USD.FXCM";
pub const GBPUSD_BID_BARS: &str = "GBP/USD.FXCM-1-MINUTE-BID-EXTERNAL";

/// Cargo's target folder for the plugin crates tests build for the guest (translations,
/// `stratbox new` crates), kept between runs and shared, so the SDK and its dependencies
/// are built for `wasm32-unknown-unknown` once.
pub fn guest_target() -> std::path::PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("guest-target")
}

/// `DATA/<name>` as a string, for command lines.
pub fn data(name: &str) -> String {
    format!("{DATA}/{name}")
}

/// The bundled GBP/USD bid file's full path.
pub fn gbpusd() -> String {
    data(GBPUSD_FILE)
}

/// Runs `stratbox args...`; returns (exit code, stdout, stderr).
pub fn stratbox(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_stratbox"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// `stratbox catalog import` of the bundled GBP/USD bid+ask minutes as quotes into `cat`.
pub fn import_fxcm(cat: &Path, extra: &[&str]) -> (i32, String, String) {
    let bid = gbpusd();
    let ask = data("fxcm/gbpusd-m1-ask-2012.csv");
    let mut args = vec![
        "catalog",
        "import",
        &bid,
        "--ask",
        &ask,
        "--catalog",
        cat.to_str().unwrap(),
        "--instrument",
        "GBP/USD.FXCM",
        "--kind",
        "quotes",
        // The real minutes include 347 crossed closes; keep them, as the CSV backtest does.
        "--on-problem",
        "keep-and-flag",
    ];
    args.extend_from_slice(extra);
    stratbox(&args)
}

/// The PostgreSQL URL for tests (`cargo xtask test` starts one); `None` only when
/// `STRATBOX_SKIP_POSTGRES=1` says to skip knowingly.
pub fn postgres_url() -> Option<String> {
    match std::env::var("STRATBOX_TEST_POSTGRES_URL") {
        Ok(url) => Some(url),
        Err(_) => {
            assert!(
                std::env::var("STRATBOX_SKIP_POSTGRES").is_ok_and(|v| v == "1"),
                "STRATBOX_TEST_POSTGRES_URL is not set: run the tests with `cargo xtask test` (it starts PostgreSQL via .ci/postgres.sh), or set STRATBOX_SKIP_POSTGRES=1 to skip this test knowingly"
            );
            None
        }
    }
}

/// One sandbox engine with the default options for the whole test process (cheap to clone).
/// Tests that need other options build their own with `SandboxEngine::new`.
pub fn engine() -> SandboxEngine {
    static ENGINE: OnceLock<SandboxEngine> = OnceLock::new();
    ENGINE
        .get_or_init(|| SandboxEngine::new(EngineOptions::default()).unwrap())
        .clone()
}

pub fn bytes(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The component at `path`, loaded under the default policy. Components for the shared
/// [`engine`] are compiled once per process and cloned from then on (Cranelift dominates a
/// test's time otherwise); for any other engine this compiles afresh.
pub fn load(engine: &SandboxEngine, path: &str) -> PluginComponent {
    static CACHE: OnceLock<Mutex<HashMap<String, PluginComponent>>> = OnceLock::new();
    if !wasmtime::Engine::same(engine.wasmtime(), self::engine().wasmtime()) {
        return load_with(engine, path, &LoadPolicy::default());
    }
    let cache = CACHE.get_or_init(Mutex::default);
    if let Some(c) = cache.lock().unwrap().get(path) {
        return c.clone();
    }
    // Compiled outside the lock: two tests racing for one path both compile, neither waits.
    let component = load_with(engine, path, &LoadPolicy::default());
    cache
        .lock()
        .unwrap()
        .entry(path.to_string())
        .or_insert(component)
        .clone()
}

pub fn load_with(engine: &SandboxEngine, path: &str, policy: &LoadPolicy) -> PluginComponent {
    PluginComponent::load(engine, &bytes(path), policy).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `DATA/<name>` loaded as Nautilus data for a backtest (instrument from the bundled table).
pub fn loaded(name: &str, format: DataFormat) -> data::Loaded {
    data::load(
        &Path::new(DATA).join(name),
        format,
        None,
        None,
        &Instruments::bundled(),
    )
    .unwrap()
}

/// Resolves `overrides` (name, text) on top of the component's manifest defaults.
pub fn params(
    component: &PluginComponent,
    overrides: &[(&str, &str)],
) -> Vec<(String, stratbox_manifest::ParamValue)> {
    let overrides: Vec<(String, String)> = overrides
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
    component.manifest().resolve_params(&overrides).unwrap()
}

/// The bundled GBP/USD minutes as events (bar + quote per minute), read once.
pub fn all_events() -> &'static [MarketEvent] {
    static EVENTS: OnceLock<Vec<MarketEvent>> = OnceLock::new();
    EVENTS.get_or_init(|| {
        let dir = stratbox::storage::open_dir(Path::new(&data("fxcm"))).unwrap();
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

pub fn market() -> Arc<InstrumentTable> {
    Arc::new(InstrumentTable::bundled())
}

/// Instantiates `component` with `params` (name, text) on top of its manifest defaults.
pub fn plugin(
    engine: &SandboxEngine,
    component: &PluginComponent,
    market: &Arc<InstrumentTable>,
    overrides: &[(&str, &str)],
) -> ReplayPlugin {
    ReplayPlugin::new(
        engine,
        component,
        Arc::clone(market),
        &params(component, overrides),
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
