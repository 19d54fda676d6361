//! `stratbox bench signals`: routing throughput and ingest → `on-signal` latency.
//!
//! Real inputs: the bundled regime signals (their JSON lines as a model would send them),
//! mixed with the same signals re-typed to kinds and instruments no consumer subscribed to,
//! and real `regime-signal` components as consumers.
//!
//! - **routing**: the routing decision alone (which consumers get a signal: grant, scope,
//!   subscriptions) over a million signals, 8 consumers; signals/s.
//! - **delivery**: routing plus the `on-signal` call into the sandbox, against the same
//!   call made directly (baseline, same run, alternating): the router's share.
//! - **latency, in process**: per signal, from its JSON text to the return of `on-signal`:
//!   parse, validate, route, deliver. p50 / p99.
//! - **latency, durable**: the same plus the buffer's commit to SQLite before delivery
//!   (what a restart-safe host does), with the store in `--dir`. p50 / p99, reported for
//!   both durability settings.

use std::{path::PathBuf, sync::Arc, time::Instant};

use serde::Serialize;

use super::median;
use crate::{
    audit::AuditLog,
    capabilities::Instance,
    catalog::InstrumentTable,
    replay::ReplayPlugin,
    sandbox::{EngineOptions, LoadPolicy, PluginComponent, SandboxEngine},
    signals::{
        Signal, SignalKind, SignalLimits, TimeCheck, Validator,
        buffer::SignalBuffer,
        router::{BreakerConfig, RetryPolicy, SignalRouter},
        store::{Durability, Incoming, SignalStore, Stored},
    },
    storage,
};

/// What to measure.
#[derive(Debug, Clone)]
pub struct Config {
    pub plugin: PathBuf,
    pub signals: PathBuf,
    /// Folder for the benchmark's SQLite store (a fresh subfolder is used and removed).
    pub dir: PathBuf,
    pub consumers: usize,
    /// Routing decisions per sample.
    pub routes: usize,
    pub samples: usize,
    /// Signals per durable-latency measurement.
    pub durable_signals: usize,
}

/// Latency percentiles, ns.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub samples: usize,
    pub p50_ns: f64,
    pub p99_ns: f64,
    pub max_ns: f64,
}

/// The figures.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub plugin: String,
    pub consumers: usize,
    pub distinct_signals: usize,
    pub routing_signals_per_sec: f64,
    pub routing_ns_per_signal: f64,
    /// Recipients per signal, on average (how much matching the figure includes).
    pub recipients_per_signal: f64,
    pub delivery_direct_ns: f64,
    pub delivery_routed_ns: f64,
    /// delivery_routed_ns / delivery_direct_ns.
    pub delivery_ratio: f64,
    pub latency_in_process: Latency,
    pub latency_durable_process_crash: Latency,
    pub latency_durable_power_loss: Latency,
    /// Batched ingest into SQLite (512 per batch, process-crash durability), signals/s.
    pub ingest_signals_per_sec: f64,
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn consumer(
    engine: &SandboxEngine,
    component: &PluginComponent,
    market: &Arc<InstrumentTable>,
) -> Result<Instance, String> {
    let params = component
        .manifest()
        .resolve_params(&[(
            "bar_type".into(),
            "BTCUSDT-PERP.BINANCE-1-MINUTE-LAST-EXTERNAL".into(),
        )])
        .map_err(err)?;
    let mut p = ReplayPlugin::new(
        engine,
        component,
        Arc::clone(market),
        &params,
        &AuditLog::memory(),
    )
    .map_err(err)?;
    p.instance.on_start().map_err(err)?;
    Ok(p.instance)
}

fn percentiles(mut ns: Vec<f64>) -> Latency {
    ns.sort_by(f64::total_cmp);
    let at = |q: f64| {
        if ns.is_empty() {
            return 0.0;
        }
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let i = ((ns.len() as f64 - 1.0) * q).round() as usize;
        ns[i.min(ns.len() - 1)]
    };
    Latency {
        samples: ns.len(),
        p50_ns: at(0.50),
        p99_ns: at(0.99),
        max_ns: ns.last().copied().unwrap_or(0.0),
    }
}

fn stored(signal: Signal, seq: i64) -> Stored {
    Stored {
        seq,
        signal,
        source: "bench".into(),
        correlation_id: format!("bench/{seq}"),
        received_ns: 0,
    }
}

#[allow(clippy::cast_precision_loss)]
fn ns_per(elapsed: std::time::Duration, n: usize) -> f64 {
    elapsed.as_nanos() as f64 / n.max(1) as f64
}

/// Runs the benchmark.
#[allow(clippy::too_many_lines, clippy::cast_precision_loss)]
pub fn run(config: &Config) -> Result<Report, String> {
    let engine = SandboxEngine::new(EngineOptions::default()).map_err(err)?;
    let bytes = storage::read_operator_file(&config.plugin, 64 << 20).map_err(err)?;
    let component = PluginComponent::load(&engine, &bytes, &LoadPolicy::default()).map_err(err)?;
    let defs = crate::catalog::instrument_defs::Instruments::bundled();
    let market = Arc::new(defs.table());
    let validator = Validator::new(defs.ids(), SignalLimits::default(), TimeCheck::Backtest);

    let text =
        String::from_utf8(storage::read_operator_file(&config.signals, 64 << 20).map_err(err)?)
            .map_err(|_| format!("{}: not UTF-8", config.signals.display()))?;
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let real: Vec<Signal> = lines
        .iter()
        .map(|l| validator.parse_json(l))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", config.signals.display()))?;
    if real.is_empty() {
        return Err(format!("{}: no signals", config.signals.display()));
    }
    // Half the mix is for nobody: other kinds, another instrument.
    let mut pool: Vec<Signal> = Vec::with_capacity(real.len() * 2);
    for (i, s) in real.iter().enumerate() {
        pool.push(s.clone());
        let mut other = s.clone();
        other.signal_type = SignalKind::ALL[1 + i % 3];
        if i % 2 == 0 {
            other.instrument_id = "GBP/USD.FXCM".into();
        }
        pool.push(other);
    }

    // Routing decision.
    let mut router = SignalRouter::new(RetryPolicy::default(), BreakerConfig::default());
    for _ in 0..config.consumers.max(1) {
        router.add(consumer(&engine, &component, &market)?);
    }
    let mut recipients = 0usize;
    let mut per_signal = Vec::with_capacity(config.samples);
    for _ in 0..config.samples.max(1) {
        let started = Instant::now();
        let mut n = 0usize;
        for s in pool.iter().cycle().take(config.routes.max(1)) {
            n += router.recipients(std::hint::black_box(s)).count();
        }
        per_signal.push(ns_per(started.elapsed(), config.routes));
        recipients = n;
    }
    let routing_ns = median(&mut per_signal);

    // Delivery: routed vs direct, alternating samples.
    let mut direct_instance = consumer(&engine, &component, &market)?;
    let mut routed = SignalRouter::new(RetryPolicy::default(), BreakerConfig::default());
    routed.add(consumer(&engine, &component, &market)?);
    let stored_real: Vec<Stored> = real
        .iter()
        .cloned()
        .zip(1..)
        .map(|(s, seq)| stored(s, seq))
        .collect();
    let (mut direct, mut via) = (Vec::new(), Vec::new());
    for _ in 0..config.samples.max(1) {
        let started = Instant::now();
        for s in &stored_real {
            direct_instance.on_signal(&s.signal.to_wit()).map_err(err)?;
        }
        direct.push(ns_per(started.elapsed(), stored_real.len()));
        let started = Instant::now();
        for s in &stored_real {
            let out = routed.route(s);
            if !out.failed.is_empty() {
                return Err(format!("delivery failed: {:?}", out.failed));
            }
        }
        via.push(ns_per(started.elapsed(), stored_real.len()));
    }
    let direct_ns = median(&mut direct);
    let routed_ns = median(&mut via);

    // Latency in process: JSON text -> on-signal returned.
    let mut lat = Vec::with_capacity(lines.len() * 20);
    for _ in 0..20 {
        for (i, line) in lines.iter().enumerate() {
            let started = Instant::now();
            let signal = validator.parse_json(line).map_err(err)?;
            let out = routed.route(&stored(signal, i64::try_from(i).unwrap_or(0)));
            lat.push(started.elapsed().as_nanos() as f64);
            if out.delivered.len() != 1 {
                return Err("the bench consumer did not receive a signal".into());
            }
        }
    }
    let in_process = percentiles(lat);

    // Durable latency and batched ingest, through the buffer and SQLite.
    // A fresh folder inside --dir, removed afterwards through a handle on --dir.
    let name = format!("stratbox-bench-signals-{}", std::process::id());
    let parent = storage::create_dir(&config.dir).map_err(err)?;
    parent.create_dir_all(&name).map_err(err)?;
    let root = config.dir.join(&name);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(err)?;
    let result = rt.block_on(async {
        let mut durable = Vec::new();
        let mut ingest_rate = 0.0;
        for (k, durability) in [Durability::ProcessCrash, Durability::PowerLoss]
            .into_iter()
            .enumerate()
        {
            let dir = root.join(format!("d{k}"));
            storage::create_dir(&dir).map_err(err)?;
            let store = SignalStore::open(&dir, durability).await.map_err(err)?;
            let (buffer, writer) =
                SignalBuffer::start(store.clone(), 8_192, crate::time::wall_clock_ns);
            let mut lat = Vec::with_capacity(config.durable_signals);
            let mut after = 0;
            for i in 0..config.durable_signals.max(1) {
                let line = lines[i % lines.len()];
                let started = Instant::now();
                let mut signal = validator.parse_json(line).map_err(err)?;
                signal.signal_id = format!("{}#{i}", signal.signal_id);
                buffer
                    .submit(vec![Incoming::Valid {
                        signal,
                        source: "bench".into(),
                        correlation_id: format!("bench/{i}"),
                    }])
                    .await
                    .map_err(err)?;
                let page = store.read_after(after, 16).await.map_err(err)?;
                for s in &page {
                    after = s.seq;
                    routed.route(s);
                }
                lat.push(started.elapsed().as_nanos() as f64);
            }
            durable.push(percentiles(lat));
            if durability == Durability::ProcessCrash {
                // As `signals ingest` does it: batches of 512, up to 4 in flight.
                let n = 50_000usize;
                let started = Instant::now();
                let mut i = 0usize;
                let mut in_flight = std::collections::VecDeque::new();
                while i < n {
                    let batch: Vec<Incoming> = (i..(i + 512).min(n))
                        .map(|j| {
                            let mut s = real[j % real.len()].clone();
                            s.signal_id = format!("{}@{j}", s.signal_id);
                            Incoming::Valid {
                                signal: s,
                                source: "bench".into(),
                                correlation_id: format!("bench/{j}"),
                            }
                        })
                        .collect();
                    i += batch.len();
                    in_flight.push_back(buffer.enqueue(batch).await.map_err(err)?);
                    if in_flight.len() > 4
                        && let Some(p) = in_flight.pop_front()
                    {
                        p.acks().await.map_err(err)?;
                    }
                }
                while let Some(p) = in_flight.pop_front() {
                    p.acks().await.map_err(err)?;
                }
                ingest_rate = n as f64 / started.elapsed().as_secs_f64();
            }
            drop(buffer);
            let _ = writer.await;
            store.close().await;
        }
        Ok::<_, String>((durable, ingest_rate))
    });
    if let Err(e) = parent.remove_dir_all(&name) {
        tracing::warn!("cannot remove {}: {e}", root.display());
    }
    let (mut durable, ingest_rate) = result?;
    let power = durable.pop().ok_or("no durable figures")?;
    let crash = durable.pop().ok_or("no durable figures")?;

    Ok(Report {
        plugin: component.manifest().name.clone(),
        consumers: config.consumers.max(1),
        distinct_signals: pool.len(),
        routing_signals_per_sec: 1e9 / routing_ns.max(1e-9),
        routing_ns_per_signal: routing_ns,
        recipients_per_signal: recipients as f64 / config.routes.max(1) as f64,
        delivery_direct_ns: direct_ns,
        delivery_routed_ns: routed_ns,
        delivery_ratio: routed_ns / direct_ns.max(1e-9),
        latency_in_process: in_process,
        latency_durable_process_crash: crash,
        latency_durable_power_loss: power,
        ingest_signals_per_sec: ingest_rate,
    })
}
