//! `stratbox bench swap`: hot-swaps of a running paper session (ema-cross 0.1.0 ⇄ 0.2.0 on
//! the bundled GBP/USD quotes), their pause, and whether any event was lost. The baseline,
//! measured in the same run, is the bare guest work a swap must do: `snapshot()` of a warm
//! instance and `restore()` into a fresh one, outside any session.

use std::{
    path::PathBuf,
    sync::{Arc, mpsc},
    time::{Duration, Instant},
};

use nautilus_model::data::HasTsInit;
use serde::Serialize;

use crate::{
    audit::AuditLog,
    backtest::{
        self,
        data::{DataFormat, load},
    },
    capabilities::{self, Instance, PluginEnv, risk_gate::RiskHub},
    catalog::{InstrumentTable, instrument_defs::Instruments},
    nautilus::{
        hotswap::{SwapReply, SwapRequest},
        paper::{self, SessionSpec, Speed},
        router::NautilusRouter,
    },
    sandbox::{LoadPolicy, PluginComponent, SandboxEngine},
};

/// What to measure.
#[derive(Debug, Clone)]
pub struct Config {
    pub v1: PathBuf,
    pub v2: PathBuf,
    pub data: PathBuf,
    /// Swaps to make (alternating versions).
    pub swaps: usize,
    /// Wall time the session's data is spread over.
    pub seconds: f64,
}

/// The figures.
#[derive(Debug, Clone, Serialize)]
pub struct SwapBench {
    pub swaps_done: usize,
    pub swaps_refused: usize,
    pub pause_p50_ns: u64,
    pub pause_p99_ns: u64,
    pub pause_max_ns: u64,
    /// Median of a bare snapshot() + restore() pair (the baseline).
    pub baseline_ns: u64,
    /// pause p50 / baseline.
    pub ratio_p50: f64,
    pub events: u64,
    pub delivered: u64,
    /// Events the plugin should have handled but did not (must be 0).
    pub dropped: u64,
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn component(engine: &SandboxEngine, path: &std::path::Path) -> Result<PluginComponent, String> {
    let bytes =
        crate::storage::read_operator_file(path, crate::sandbox::MAX_COMPONENT_BYTES as u64)
            .map_err(|e| e.to_string())?;
    PluginComponent::load(engine, &bytes, &LoadPolicy::default())
        .map_err(|e| format!("{}: {e}", path.display()))
}

struct Kit {
    engine: SandboxEngine,
    table: Arc<InstrumentTable>,
    risk: Arc<RiskHub>,
    audit: AuditLog,
    params: Vec<(String, String)>,
}

impl Kit {
    fn instance(&self, c: &PluginComponent, router: NautilusRouter) -> Result<Instance, String> {
        let params = c
            .manifest()
            .resolve_params(&self.params)
            .map_err(|e| e.to_string())?;
        let env = PluginEnv {
            market: Arc::clone(&self.table) as _,
            router: Box::new(router),
            risk: Arc::clone(&self.risk),
        };
        capabilities::instantiate(&self.engine, c, env, &params, &self.audit)
            .map_err(|e| e.to_string())
    }
}

/// Runs the benchmark.
pub fn run(config: &Config) -> Result<SwapBench, String> {
    let engine =
        SandboxEngine::new(crate::sandbox::EngineOptions::default()).map_err(|e| e.to_string())?;
    let v1 = component(&engine, &config.v1)?;
    let v2 = component(&engine, &config.v2)?;
    let defs = Instruments::bundled();
    let loaded = load(&config.data, DataFormat::FxcmQuotes, None, None, &defs).map_err(|e| e.0)?;
    let audit = AuditLog::memory();
    let kit = Kit {
        engine,
        table: Arc::new(defs.table()),
        risk: RiskHub::permissive(audit.clone()),
        audit,
        params: vec![
            ("instrument_id".into(), "GBP/USD.FXCM".into()),
            ("fast_period".into(), "10".into()),
            ("slow_period".into(), "20".into()),
        ],
    };

    // Baseline: snapshot a warm v1, restore into a fresh v2, no session around them.
    let mut warm = kit.instance(&v1, NautilusRouter::new("BASE").0)?;
    let _ = warm.on_start();
    let mut baseline = Vec::new();
    for _ in 0..200 {
        let mut fresh = kit.instance(&v2, NautilusRouter::new("BASE").0)?;
        let t = Instant::now();
        let state = warm.snapshot().map_err(|e| e.to_string())?;
        let _ = fresh.restore(&state).map_err(|e| e.to_string())?;
        baseline.push(t.elapsed().as_secs_f64() * 1e9);
    }
    let baseline_ns = crate::bench::median(&mut baseline) as u64;

    // The session: the data spread over `seconds` of wall time.
    let events = loaded.data.len() as u64;
    let span_s = match (loaded.data.first(), loaded.data.last()) {
        (Some(a), Some(b)) => (b.ts_init().as_u64() - a.ts_init().as_u64()) as f64 / 1e9,
        _ => return Err("no data".into()),
    };
    let sid = backtest::strategy_id("ema-cross", 0);
    let (router, queue) = NautilusRouter::new(sid.as_str());
    let instance = kit.instance(&v1, router)?;
    let balance = backtest::parse_balance(None, "USD")?;
    let mut handle = paper::start(SessionSpec {
        id: "bench".into(),
        instruments: vec![loaded.instrument],
        table: Arc::clone(&kit.table),
        data: loaded.data,
        balances: vec![balance],
        instance,
        queue,
        strategy_name: "ema-cross".into(),
        risk: Arc::clone(&kit.risk),
        audit: kit.audit.clone(),
        speed: Speed::Factor(span_s / config.seconds.max(0.5)),
        sink: Arc::new(|_| {}),
    })
    .map_err(|e| e.to_string())?;

    // Let the EMAs warm up, then swap at a steady rhythm across the run.
    std::thread::sleep(Duration::from_secs_f64(config.seconds * 0.1));
    // Half the run for the swaps' own work (instantiating each new version), half for gaps.
    let gap = Duration::from_secs_f64(config.seconds * 0.4 / config.swaps.max(1) as f64);
    let (mut pauses, mut refused) = (Vec::new(), 0);
    for i in 0..config.swaps {
        let next = if i % 2 == 0 { &v2 } else { &v1 };
        let new = kit.instance(next, NautilusRouter::new("SWAP").0)?;
        let (tx, rx) = mpsc::channel();
        let request = SwapRequest {
            new,
            probation_events: 0,
            actor: "bench".into(),
            reply: tx,
        };
        if handle
            .progress
            .finished
            .load(std::sync::atomic::Ordering::Acquire)
            || handle.slot.post(request).is_err()
        {
            refused += 1;
            continue;
        }
        let reply = loop {
            match rx.recv_timeout(Duration::from_millis(20)) {
                Ok(r) => break Some(r),
                Err(mpsc::RecvTimeoutError::Timeout)
                    if !handle
                        .progress
                        .finished
                        .load(std::sync::atomic::Ordering::Acquire) => {}
                Err(_) => {
                    // The data ran out before an event boundary: withdraw it.
                    handle.slot.cancel();
                    break None;
                }
            }
        };
        match reply {
            Some(SwapReply::Swapped { pause, .. }) => pauses.push(pause.as_nanos() as u64),
            Some(SwapReply::Refused { .. }) | None => refused += 1,
        }
        std::thread::sleep(gap);
    }
    let end = handle.join().ok_or("the session did not end")?;
    if let Some(e) = end.error {
        return Err(e);
    }
    pauses.sort_unstable();
    let p50 = percentile(&pauses, 0.5);
    Ok(SwapBench {
        swaps_done: pauses.len(),
        swaps_refused: refused,
        pause_p50_ns: p50,
        pause_p99_ns: percentile(&pauses, 0.99),
        pause_max_ns: pauses.last().copied().unwrap_or(0),
        baseline_ns,
        ratio_p50: if baseline_ns == 0 {
            0.0
        } else {
            p50 as f64 / baseline_ns as f64
        },
        events,
        delivered: end.delivered,
        dropped: events.saturating_sub(end.delivered),
    })
}
