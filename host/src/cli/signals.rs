//! `stratbox signals ingest | dead-letters | replay`: the persisted signal buffer from the
//! command line. Every command calls the `signals` library; this file parses and prints.

use std::{collections::VecDeque, io::Write, path::PathBuf, sync::Arc};

use serde::Serialize;

use super::{backtest::plugin_path, fail, instrument_defs, key_value, plugins};
use crate::{
    audit::AuditLog,
    capabilities::{self, PluginEnv, risk_gate::RiskHub},
    sandbox::{EngineOptions, SandboxEngine},
    signals::{
        SignalLimits, TimeCheck, Validator,
        buffer::{Pending, SignalBuffer},
        delivery::route_page,
        ingest::{self, Format, Record},
        router::{BreakerConfig, Consumer, RetryPolicy, SignalRouter},
        store::{Ack, Durability, SignalStore},
    },
    storage,
};

#[derive(Debug, clap::Subcommand)]
pub enum Which {
    /// Validate a signal file (JSONL, CSV, Parquet) into the persisted buffer; refused
    /// records become dead letters. Safe to re-run: stored signals are skipped.
    Ingest(IngestArgs),
    /// List dead letters: refused signals and failed deliveries, with reasons.
    DeadLetters(DeadArgs),
    /// Re-deliver stored signals with timestamps in [--from, --to), in the order they were
    /// acknowledged: to --plugin components, or just print the sequence.
    Replay(ReplayArgs),
}

#[derive(Debug, clap::Args)]
pub struct StoreArgs {
    /// Signal folder (holds signals.db; created if missing).
    #[arg(long, env = "STRATBOX_SIGNAL_DIR", default_value = "signals")]
    pub store: PathBuf,
    /// What a commit survives: power-loss (fsync each commit) or process-crash.
    #[arg(long, default_value = "power-loss")]
    pub durability: Durability,
}

#[derive(Debug, clap::Args)]
pub struct IngestArgs {
    /// The signal file.
    pub file: PathBuf,
    /// Its format (default: from the extension).
    #[arg(long)]
    pub format: Option<Format>,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Instrument definitions (TOML) naming the known instruments (default: bundled).
    #[arg(long)]
    pub instruments: Option<PathBuf>,
    /// Live mode: also refuse timestamps older than --max-age-secs or ahead of the clock
    /// by more than --max-ahead-ms.
    #[arg(long)]
    pub live: bool,
    #[arg(long, default_value_t = 300)]
    pub max_age_secs: u64,
    #[arg(long, default_value_t = 2_000)]
    pub max_ahead_ms: u64,
    /// Records per batch (one acknowledgement each).
    #[arg(long, default_value_t = 512)]
    pub batch: usize,
    /// Buffer room, in signals: reading waits when this many are waiting to be stored.
    #[arg(long, default_value_t = 8_192)]
    pub capacity: usize,
    /// Print one JSON line per acknowledged batch, and a summary line.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct DeadArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Only this stage: validation, duplicate or delivery.
    #[arg(long)]
    pub stage: Option<String>,
    /// Only dead letters after this id.
    #[arg(long, default_value_t = 0)]
    pub after: i64,
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
    /// One JSON object per line.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Start (inclusive): UNIX ns, `2022-01-05`, or `2022-01-05T12:00:00Z`.
    #[arg(long)]
    pub from: String,
    /// End (exclusive), same forms.
    #[arg(long)]
    pub to: String,
    /// Components to deliver to (repeatable); each gets its own sandbox.
    #[arg(long = "plugin")]
    pub plugins: Vec<String>,
    /// Parameter, name=value (repeatable); checked against each plugin's manifest.
    #[arg(long = "param", value_parser = key_value)]
    pub params: Vec<(String, String)>,
    /// Instrument definitions for the plugins (default: bundled).
    #[arg(long)]
    pub instruments: Option<PathBuf>,
    /// One JSON object per signal, then a summary.
    #[arg(long)]
    pub json: bool,
}

pub fn run(which: Which) -> u8 {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(format!("cannot start the async runtime: {e}")),
    };
    let result = match which {
        Which::Ingest(a) => rt.block_on(ingest_cmd(&a)),
        Which::DeadLetters(a) => rt.block_on(dead_letters_cmd(&a)),
        Which::Replay(a) => rt.block_on(replay_cmd(&a)),
    };
    match result {
        Ok(code) => code,
        Err(e) => fail(e),
    }
}

async fn open_store(a: &StoreArgs) -> Result<SignalStore, String> {
    storage::create_dir(&a.store).map_err(|e| e.to_string())?;
    SignalStore::open(&a.store, a.durability)
        .await
        .map_err(|e| e.to_string())
}

/// Counts of one ingest.
#[derive(Debug, Default, Clone, Serialize)]
struct Tally {
    records: u64,
    stored: u64,
    duplicates: u64,
    dead_lettered: u64,
}

impl Tally {
    fn add(&mut self, acks: &[Ack]) {
        for a in acks {
            self.records += 1;
            match a {
                Ack::Stored { .. } => self.stored += 1,
                Ack::Duplicate { .. } => self.duplicates += 1,
                Ack::DeadLettered { .. } => self.dead_lettered += 1,
            }
        }
    }
}

async fn ingest_cmd(a: &IngestArgs) -> Result<u8, String> {
    let format = match a.format {
        Some(f) => f,
        None => Format::from_path(&a.file).ok_or_else(|| {
            format!(
                "{}: cannot tell the format from the extension; pass --format jsonl|csv|parquet",
                a.file.display()
            )
        })?,
    };
    if a.batch == 0 || a.batch > a.capacity {
        return Err(format!(
            "--batch {} must be between 1 and --capacity {}",
            a.batch, a.capacity
        ));
    }
    let defs = instrument_defs(a.instruments.as_deref())?;
    let time = if a.live {
        TimeCheck::Live {
            now_ns: crate::time::wall_clock_ns(),
            max_age_ns: a.max_age_secs.saturating_mul(1_000_000_000),
            max_ahead_ns: a.max_ahead_ms.saturating_mul(1_000_000),
        }
    } else {
        TimeCheck::Backtest
    };
    let mut validator = Validator::new(defs.ids(), SignalLimits::default(), time);
    let store = open_store(&a.store).await?;
    let (buffer, writer) =
        SignalBuffer::start(store.clone(), a.capacity, crate::time::wall_clock_ns);

    // The file is read on its own thread and handed over in batches through a bounded
    // channel: a slow store slows the reader instead of filling memory.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Record>>(4);
    let path = a.file.clone();
    let batch = a.batch;
    let reader = std::thread::spawn(move || -> Result<(), String> {
        let mut current = Vec::with_capacity(batch);
        ingest::read(&path, format, &mut |record| {
            current.push(record);
            if current.len() >= batch {
                let full = std::mem::replace(&mut current, Vec::with_capacity(batch));
                if tx.blocking_send(full).is_err() {
                    return Err(ingest::IngestError::File {
                        path: path.display().to_string(),
                        reason: "ingest stopped".into(),
                    });
                }
            }
            Ok(())
        })
        .map_err(|e| e.to_string())?;
        if !current.is_empty() {
            let _ = tx.blocking_send(current);
        }
        Ok(())
    });

    let run_id = format!(
        "ingest-{}-{}",
        crate::time::wall_clock_ns() / 1_000_000,
        std::process::id()
    );
    let bar = if a.json {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new_spinner()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {pos} records  {per_sec}  {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    let mut tally = Tally::default();
    let mut in_flight: VecDeque<(Pending, String)> = VecDeque::new();
    let mut n = 0u64;
    let mut stdout = std::io::stdout();
    let mut settle = |acks: Vec<Ack>, last: &str, tally: &mut Tally| -> Result<(), String> {
        tally.add(&acks);
        bar.set_position(tally.records);
        if a.json {
            let line = serde_json::json!({
                "acked": tally.records,
                "through": last,
                "stored": tally.stored,
                "duplicates": tally.duplicates,
                "dead_lettered": tally.dead_lettered,
            });
            writeln!(stdout, "{line}")
                .and_then(|()| stdout.flush())
                .map_err(|e| format!("stdout: {e}"))?;
        }
        Ok(())
    };
    while let Some(records) = rx.recv().await {
        if a.live {
            validator.set_now(crate::time::wall_clock_ns());
        }
        let last = records.last().map(|r| r.source.clone()).unwrap_or_default();
        let first_n = n + 1;
        let items: Vec<_> = records
            .into_iter()
            .map(|r| {
                n += 1;
                ingest::judge(r, &validator, format!("{run_id}/{n}"))
            })
            .collect();
        // STRATBOX_LOG=debug ties each batch's correlation ids to the file lines; the
        // router's `signal` span carries each id on to `on-signal`.
        tracing::debug!(
            run = %run_id,
            correlation_ids = %format!("{run_id}/{first_n}..={n}"),
            through = %last,
            "batch queued"
        );
        let pending = buffer.enqueue(items).await.map_err(|e| e.to_string())?;
        in_flight.push_back((pending, last));
        while in_flight.len() > 4 {
            if let Some((p, last)) = in_flight.pop_front() {
                let acks = p.acks().await.map_err(|e| e.to_string())?;
                settle(acks, &last, &mut tally)?;
            }
        }
    }
    while let Some((p, last)) = in_flight.pop_front() {
        let acks = p.acks().await.map_err(|e| e.to_string())?;
        settle(acks, &last, &mut tally)?;
    }
    drop(buffer);
    let _ = writer.await;
    bar.finish_and_clear();
    let read = reader
        .join()
        .map_err(|_| "the file reader thread panicked".to_string())?;
    let total = store.count().await.map_err(|e| e.to_string())?;
    store.close().await;
    if a.json {
        println!(
            "{}",
            serde_json::json!({"done": read.is_ok(), "records": tally.records, "stored": tally.stored,
                "duplicates": tally.duplicates, "dead_lettered": tally.dead_lettered, "store_total": total})
        );
    } else {
        println!(
            "ingest {}: {} records: {} stored, {} already stored, {} dead-lettered (`stratbox signals dead-letters`); {} signals in {}",
            a.file.display(),
            tally.records,
            tally.stored,
            tally.duplicates,
            tally.dead_lettered,
            total,
            a.store.store.display()
        );
    }
    read.map(|()| 0)
}

async fn dead_letters_cmd(a: &DeadArgs) -> Result<u8, String> {
    if let Some(s) = &a.stage
        && !["validation", "duplicate", "delivery"].contains(&s.as_str())
    {
        return Err(format!(
            "--stage `{s}`: expected validation, duplicate or delivery"
        ));
    }
    let store = open_store(&a.store).await?;
    let rows = store
        .dead_letters(a.stage.as_deref(), a.after, a.limit)
        .await
        .map_err(|e| e.to_string())?;
    store.close().await;
    if a.json {
        for r in &rows {
            println!("{}", serde_json::to_string(r).map_err(|e| e.to_string())?);
        }
        return Ok(0);
    }
    if rows.is_empty() {
        println!("no dead letters");
        return Ok(0);
    }
    for r in &rows {
        println!(
            "#{} {} {} {}{}: {}",
            r.id,
            r.stage,
            r.source,
            r.signal_id
                .as_deref()
                .map_or_else(String::new, |s| format!("signal `{s}` ")),
            r.consumer
                .as_deref()
                .map_or_else(String::new, |c| format!("to `{c}`")),
            r.reason
        );
    }
    if rows.len() == a.limit as usize {
        println!(
            "(first {}; more with --after {})",
            a.limit,
            rows.last().map_or(0, |r| r.id)
        );
    }
    Ok(0)
}

/// `--from` / `--to`: UNIX ns, a date, or an RFC 3339 time.
pub(crate) fn parse_time(s: &str) -> Result<u64, String> {
    if let Ok(ns) = s.parse::<u64>() {
        return Ok(ns);
    }
    let t = chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
        })
        .map_err(|_| {
            format!("`{s}` is not a time (UNIX ns, 2022-01-05 or 2022-01-05T12:00:00Z)")
        })?;
    t.timestamp_nanos_opt()
        .and_then(|n| u64::try_from(n).ok())
        .ok_or_else(|| format!("`{s}` is outside the representable range"))
}

async fn replay_cmd(a: &ReplayArgs) -> Result<u8, String> {
    let from = parse_time(&a.from).map_err(|e| format!("--from {e}"))?;
    let to = parse_time(&a.to).map_err(|e| format!("--to {e}"))?;
    if from >= to {
        return Err(format!("--from {from} is not before --to {to}"));
    }
    let store = open_store(&a.store).await?;
    let audit = AuditLog::memory();
    let engine = SandboxEngine::new(EngineOptions::default()).map_err(|e| e.to_string())?;
    let paths: Vec<PathBuf> = a
        .plugins
        .iter()
        .map(|p| plugin_path(p))
        .collect::<Result<_, _>>()?;
    let components = match plugins::load(&engine, paths, &audit) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let params = plugins::resolve_params(&components, &a.params, &[])?;
    let table = Arc::new(instrument_defs(a.instruments.as_deref())?.table());
    let risk = Arc::new(RiskHub::permissive(audit.clone()));
    let mut router = SignalRouter::new(RetryPolicy::default(), BreakerConfig::default());
    let mut order_logs = Vec::new();
    for ((_, component), params) in components.iter().zip(&params) {
        let (orders, log) = crate::replay::RecordingRouter::new(&component.manifest().name);
        order_logs.push(log);
        let env = PluginEnv {
            market: Arc::clone(&table) as _,
            router: Box::new(orders),
            risk: Arc::clone(&risk),
        };
        let mut instance = capabilities::instantiate(&engine, component, env, params, &audit)
            .map_err(|e| format!("{}: {e}", component.manifest().name))?;
        if let Err(e) = instance.on_start() {
            eprintln!(
                "warning: {}: on-start failed: {e}",
                component.manifest().name
            );
        }
        router.add(instance);
    }
    let mut after = 0;
    let mut count = 0u64;
    loop {
        let page = store
            .read_range(from, to, after, 1_024)
            .await
            .map_err(|e| e.to_string())?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        let outcomes = route_page(
            &store,
            &mut router,
            &page,
            &audit,
            crate::time::wall_clock_ns(),
        )
        .await
        .map_err(|e| e.to_string())?;
        for (stored, out) in page.iter().zip(&outcomes) {
            count += 1;
            let delivered: Vec<&str> = out
                .delivered
                .iter()
                .filter_map(|&i| router.consumer(i).map(Consumer::name))
                .collect();
            let s = &stored.signal;
            if a.json {
                println!(
                    "{}",
                    serde_json::json!({
                        "seq": stored.seq, "signal_id": s.signal_id, "timestamp": s.timestamp,
                        "signal_type": s.signal_type, "instrument_id": s.instrument_id,
                        "source_model": s.source_model, "correlation_id": stored.correlation_id,
                        "delivered_to": delivered,
                        "failed": out.failed.iter().map(|(_, r)| r).collect::<Vec<_>>(),
                    })
                );
            } else {
                println!(
                    "{:>8} {} {} {} {} -> {}",
                    stored.seq,
                    crate::time::format_ns(s.timestamp),
                    s.signal_type,
                    s.instrument_id,
                    s.signal_id,
                    if delivered.is_empty() {
                        "-".to_string()
                    } else {
                        delivered.join(", ")
                    }
                );
            }
        }
    }
    store.close().await;
    let per: Vec<serde_json::Value> = (0..router.len())
        .filter_map(|i| {
            let c = router.consumer(i)?;
            Some(serde_json::json!({
                "plugin": Consumer::name(c),
                "stats": router.stats(i),
                "orders_recorded": order_logs.get(i).map_or(0, |l| l.orders().len()),
            }))
        })
        .collect();
    if a.json {
        println!(
            "{}",
            serde_json::json!({ "replayed": count, "consumers": per })
        );
    } else {
        println!("replayed {count} signals");
        for p in &per {
            println!("  {p}");
        }
    }
    Ok(0)
}
