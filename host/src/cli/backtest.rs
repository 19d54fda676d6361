//! `stratbox backtest`: strategy components trading inside Nautilus on recorded data.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::Arc,
    time::Instant,
};

use nautilus_model::{instruments::Instrument, types::Money};

use super::{default_plugin_dir, fail, key_value, named::named, plugins};
use crate::{
    audit::AuditLog,
    backtest::{
        self, BacktestSpec, DEFAULT_CHUNK, SignalInput, StrategySpec,
        data::{self, DataFormat},
        report::{BacktestReport, SignalsReport, StrategyReport},
    },
    capabilities::risk_gate::{RiskHub, RiskPolicy, TradingControl, persist::StoredStates},
    notify::{Notifiers, WebhookNotifier},
    sandbox::{EngineOptions, SandboxEngine},
    signals::{SignalLimits, TimeCheck, Validator, ingest::Format},
    storage,
};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Component file, or the name of a built one (`ema-cross` = target/plugins/ema-cross.wasm).
    /// Repeatable: each plugin gets its own sandbox and strategy id.
    #[arg(long = "plugin", required_unless_present = "replay_of")]
    pub plugins: Vec<String>,
    /// Market data: a file, or a folder of FXCM bid/ask files.
    #[arg(long, default_value = "data/fxcm/gbpusd-m1-bid-2012.csv")]
    pub data: PathBuf,
    /// Read market data from this catalog (see `stratbox catalog`) instead of --data;
    /// needs --instrument.
    #[arg(long, requires = "instrument")]
    pub catalog: Option<PathBuf>,
    /// With --catalog: which data (default: quotes if present, else bars, else trades).
    #[arg(long, value_parser = named::<crate::catalog::series::Kind>(), requires = "catalog")]
    pub kind: Option<crate::catalog::series::Kind>,
    /// With --catalog: first time (ns, `YYYY-MM-DD` or ISO, UTC; inclusive).
    #[arg(long, value_parser = super::catalog::parse_time, requires = "catalog")]
    pub from: Option<u64>,
    /// With --catalog: last time (inclusive).
    #[arg(long, value_parser = super::catalog::parse_time, requires = "catalog")]
    pub to: Option<u64>,
    /// How to read --data.
    #[arg(long, value_parser = named::<DataFormat>(), default_value_t = DataFormat::Auto)]
    pub format: DataFormat,
    /// Instrument the data is for (default: known for the bundled files).
    #[arg(long)]
    pub instrument: Option<String>,
    /// Instrument definitions (TOML, see data/instruments.toml; default: the bundled ones).
    #[arg(long)]
    pub instruments: Option<PathBuf>,
    /// Bar type for OHLCV data, e.g. `BTCUSDT-PERP.BINANCE-1-MINUTE-LAST-EXTERNAL`.
    #[arg(long)]
    pub bar_type: Option<String>,
    /// Parameter, name=value (repeatable); checked against each plugin's manifest.
    #[arg(long = "param", value_parser = key_value)]
    pub params: Vec<(String, String)>,
    /// Starting balance of the venue account (default: 1000000 in the settlement currency).
    #[arg(long)]
    pub balance: Option<String>,
    /// Risk policy (TOML; see docs/risk.md). Default: the contract's checks only.
    #[arg(long)]
    pub risk: Option<PathBuf>,
    /// State folder of `stratbox halt/resume`: its trading states apply to this run.
    #[arg(long, env = "STRATBOX_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Also send halts and position mismatches to this webhook (JSON POST).
    #[arg(long)]
    pub webhook: Option<String>,
    /// AI signals (JSONL, CSV or Parquet; see docs/signals.md), validated and delivered to
    /// plugins granted and subscribed to them, in timestamp order with the market data.
    #[arg(long)]
    pub signals: Option<PathBuf>,
    /// How to read --signals (default: from the file extension).
    #[arg(long)]
    pub signals_format: Option<crate::signals::ingest::Format>,
    /// AI signals from a signal store (`stratbox signals ingest --store`): those for the
    /// run's instrument within the data's time range.
    #[arg(long, conflicts_with = "signals")]
    pub signal_store: Option<PathBuf>,
    /// Folder for report.json and report.html (created if missing): the page opens from
    /// file:// with no network (dated price chart with the fills, equity, drawdown,
    /// statistics, orders, risk).
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Print the report as JSON instead of the summary.
    #[arg(long)]
    pub json: bool,
    /// Backtest a finished live deployment's recording (a deployment id, or the recording's
    /// folder) with its component, parameters and policy, and check every decision matched
    /// the live session's. Exit 1 on the first divergence.
    #[arg(long, value_name = "DEPLOYMENT", conflicts_with_all = ["plugins", "catalog", "signals", "signal_store", "params"])]
    pub replay_of: Option<String>,
    /// Run as a job on a `stratbox serve` at this URL instead of here: `--plugin` is a
    /// registered digest or a component file (uploaded first if the service does not have
    /// it), `--data`/`--catalog` name files under the service's data folder (a leading
    /// `data/` is dropped), `--risk` is read here and sent. Follows the job's progress,
    /// prints its summary and where its report is; exit 1 if it did not finish.
    #[arg(long, value_name = "URL", conflicts_with_all = ["replay_of", "signals", "signal_store", "state_dir", "webhook", "instruments"])]
    pub server: Option<String>,
    /// With --server: the API token (operator or admin; see `stratbox tokens create`).
    #[arg(long, env = "STRATBOX_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Where the service keeps recordings (`<service state dir>/recordings`).
    #[arg(
        long,
        env = "STRATBOX_RECORDINGS",
        default_value = "stratbox-state/recordings"
    )]
    pub recordings: PathBuf,
}

/// `backtest --replay-of`: finds the recording, replays it, prints the verdict.
fn replay_of(args: &Args, which: &str) -> u8 {
    let given = Path::new(which);
    let folder = if given.is_dir() {
        given.to_path_buf()
    } else if which.contains(['/', '\\']) || which.starts_with('.') {
        return fail(format!("--replay-of {which}: no such folder"));
    } else {
        let folder = args.recordings.join(which);
        if !folder.is_dir() {
            return fail(format!(
                "--replay-of {which}: no recording in {} (a live deployment writes one when it ends; --recordings names the service's `<state dir>/recordings`)",
                args.recordings.display()
            ));
        }
        folder
    };
    let verdict = match crate::nautilus::live::recording::replay(&folder) {
        Ok(v) => v,
        Err(e) => return fail(format!("--replay-of {which}: {e}")),
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&verdict).unwrap_or_default()
        );
    } else if verdict.matched {
        println!(
            "replay of {}: every decision matched ({} events, {} orders, {} fills)",
            verdict.deployment, verdict.events, verdict.orders, verdict.fills
        );
    } else if let Some(d) = &verdict.first_divergence {
        let show = |v: &Option<serde_json::Value>| {
            v.as_ref()
                .map_or_else(|| "(none)".to_string(), ToString::to_string)
        };
        println!(
            "replay of {}: decisions diverge at {} {}\n  live:   {}\n  replay: {}",
            verdict.deployment,
            d.what,
            d.index,
            show(&d.live),
            show(&d.replay)
        );
    }
    u8::from(!verdict.matched)
}

/// A `--plugin` value as a path: an existing file, or a name in the plugin folder.
pub(crate) fn plugin_path(arg: &str) -> Result<PathBuf, String> {
    let as_path = Path::new(arg);
    if as_path.is_file() {
        return Ok(as_path.to_path_buf());
    }
    let looks_like_name = !arg.contains('/') && !arg.contains('\\') && !arg.ends_with(".wasm");
    if looks_like_name {
        let built = default_plugin_dir().join(format!("{arg}.wasm"));
        if built.is_file() {
            return Ok(built);
        }
        return Err(format!(
            "no component `{arg}`: {} does not exist; build the bundled plugins with `cargo xtask plugins` or pass a .wasm path",
            built.display()
        ));
    }
    Err(format!("--plugin `{arg}`: no such file"))
}

fn balance(arg: Option<&str>, default_currency: &str) -> Result<Money, String> {
    crate::backtest::parse_balance(arg, default_currency).map_err(|e| format!("--balance {e}"))
}

/// Finds a statistic by name prefix (Nautilus names carry periods: `Sharpe Ratio (252 days)`).
fn stat(stats: &BTreeMap<String, f64>, prefix: &str) -> Option<f64> {
    stats
        .iter()
        .find(|(k, _)| k.starts_with(prefix))
        .map(|(_, v)| *v)
        .filter(|v| v.is_finite())
}

fn fmt_opt(v: Option<f64>, suffix: &str) -> String {
    v.map_or_else(|| "n/a".to_string(), |v| format!("{v:.4}{suffix}"))
}

fn print_strategy(s: &StrategyReport, guest_nanos: Option<u64>) {
    let title = s.plugin.as_ref().map_or_else(
        || "native".to_string(),
        |p| format!("{} {} ({}…)", p.name, p.version, &p.sha256[..12]),
    );
    println!("  {} — {title}", s.strategy_id);
    println!(
        "    orders {}, fills {}, position cycles {}",
        s.orders.len(),
        s.fills.len(),
        s.positions.len()
    );
    let pnl = |m: &BTreeMap<String, String>| {
        if m.is_empty() {
            "0".to_string()
        } else {
            m.values().cloned().collect::<Vec<_>>().join(", ")
        }
    };
    println!(
        "    realized PnL {}, unrealized {}",
        pnl(&s.realized_pnl),
        pnl(&s.unrealized_pnl)
    );
    for (currency, stats) in &s.pnl_stats {
        println!(
            "    win rate {} ({currency}), expectancy {}",
            fmt_opt(stat(stats, "Win Rate"), ""),
            fmt_opt(stat(stats, "Expectancy"), "")
        );
    }
    if let Some(p) = &s.plugin {
        #[allow(clippy::cast_precision_loss)]
        let guest = guest_nanos.map_or_else(String::new, |ns| {
            format!(
                ", {:.1} ms in guest ({:.0} ns/callback)",
                ns as f64 / 1e6,
                ns as f64 / p.callbacks.max(1) as f64
            )
        });
        println!(
            "    sandbox: {} callbacks, fuel {} total / {} max per callback{guest}, peak memory {} B",
            p.callbacks, p.fuel_total, p.fuel_max, p.peak_memory_bytes
        );
        println!(
            "    risk gate: {} accepted, refused: {}",
            p.orders_accepted_by_gate,
            counted(&p.orders_refused_by_gate)
        );
        if p.signals_received > 0 || !p.signal_dead_letters.is_empty() {
            println!(
                "    signals: {} received, {} dead-lettered",
                p.signals_received,
                p.signal_dead_letters.len()
            );
        }
        match &p.fault {
            Some(f) => println!("    fault: {f} (quarantined)"),
            None => println!("    faults: none"),
        }
    }
    if !s.venue_rejected_by_reason.is_empty() {
        println!(
            "    venue rejected {} orders: {}",
            total(&s.venue_rejected_by_reason),
            counted(&s.venue_rejected_by_reason)
        );
    }
    if !s.denied_by_reason.is_empty() {
        println!(
            "    Nautilus RiskEngine denied {} orders: {}",
            total(&s.denied_by_reason),
            counted(&s.denied_by_reason)
        );
    }
}

fn total(by_reason: &BTreeMap<String, u64>) -> u64 {
    by_reason.values().sum()
}

/// `none`, or `reason ×n, reason ×n` (most frequent first, at most five).
fn counted(by_reason: &BTreeMap<String, u64>) -> String {
    if total(by_reason) == 0 {
        return "none".to_string();
    }
    let mut v: Vec<(&String, &u64)> = by_reason.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let listed: Vec<String> = v
        .iter()
        .take(5)
        .map(|(reason, n)| format!("{reason} ×{n}"))
        .collect();
    let more = if v.len() > 5 {
        format!(" and {} more reasons (report.json)", v.len() - 5)
    } else {
        String::new()
    };
    format!("{}{more}", listed.join(", "))
}

fn print_summary(r: &BacktestReport, guest: &[Option<u64>], seconds: f64, label: &str) {
    #[allow(clippy::cast_precision_loss)]
    let rate = r.events as f64 / seconds.max(1e-9);
    println!(
        "{label}: {} events of {} in {seconds:.2} s ({rate:.0} events/s)",
        r.events,
        r.instruments.join(", ")
    );
    let p = &r.portfolio;
    println!(
        "account: start {}, end {}",
        p.starting_balances
            .values()
            .cloned()
            .collect::<Vec<_>>()
            .join(", "),
        p.final_balances
            .values()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    );
    for (currency, stats) in &p.pnl_stats {
        println!(
            "  PnL {} {currency} ({}), win rate {}",
            fmt_opt(stat(stats, "PnL (total)"), ""),
            fmt_opt(stat(stats, "PnL% (total)"), "%"),
            fmt_opt(stat(stats, "Win Rate"), "")
        );
    }
    let rs = &p.returns_stats;
    println!(
        "  max drawdown {:.4}% (balance), Sharpe {}, Sortino {}",
        p.max_drawdown_pct,
        fmt_opt(stat(rs, "Sharpe Ratio"), ""),
        fmt_opt(stat(rs, "Sortino Ratio"), "")
    );
    println!("strategies:");
    for (s, g) in r.strategies.iter().zip(guest) {
        print_strategy(s, *g);
    }
    let risk = &r.risk;
    println!(
        "risk (policy {}): {} orders accepted, refused: {}",
        risk.policy_version,
        risk.orders_accepted,
        counted(&risk.refused_by_reason)
    );
    let rejected = total(&risk.venue_rejected_by_reason);
    let denied = total(&risk.denied_by_reason);
    let mut past_gate = Vec::new();
    if rejected > 0 {
        past_gate.push(format!(
            "venue rejected {rejected} orders ({})",
            counted(&risk.venue_rejected_by_reason)
        ));
    }
    if denied > 0 {
        past_gate.push(format!(
            "Nautilus RiskEngine denied {denied} ({})",
            counted(&risk.denied_by_reason)
        ));
    }
    if !past_gate.is_empty() {
        println!("past the gate: {}", past_gate.join("; "));
    }
    if risk
        .venue_rejected_by_reason
        .keys()
        .any(|r| r.starts_with("No market for"))
    {
        println!(
            "  (\"No market\": Nautilus's simulated venue fills from quotes, trades, LAST/MID bars, \
             or bid and ask bars together; bid or ask bars alone give it no market)"
        );
    }
    let sig = &r.signals;
    if let Some(source) = &sig.source {
        println!(
            "signals ({source}): {} loaded, {} refused, {} duplicates; {} delivered, {} dead-lettered",
            sig.loaded,
            sig.refused.len(),
            sig.duplicates,
            sig.delivered,
            sig.dead_lettered
        );
    }
    for c in &risk.state_changes {
        println!(
            "  {} {} -> {} at {} by {}: {}",
            c.scope,
            c.from,
            c.to,
            c.event_ts
                .map_or_else(|| "-".to_string(), |t| t.to_string()),
            c.actor,
            c.reason
        );
    }
}

/// The `--signals` file, validated for the run's instrument (backtest mode: no clock check).
fn load_signals(args: &Args, instrument_id: &str, span: (u64, u64)) -> Result<SignalInput, String> {
    if let Some(dir) = &args.signal_store {
        return load_stored_signals(dir, instrument_id, span);
    }
    let Some(path) = &args.signals else {
        return Ok(SignalInput::default());
    };
    let format = match args.signals_format {
        Some(f) => f,
        None => Format::from_path(path).ok_or_else(|| {
            format!(
                "--signals {}: cannot tell the format from the extension; pass --signals-format jsonl|csv|parquet",
                path.display()
            )
        })?,
    };
    let validator = Validator::new(
        [instrument_id],
        SignalLimits::default(),
        TimeCheck::Backtest,
    );
    let file = crate::signals::load_file(path, format, &validator).map_err(|e| e.to_string())?;
    if !file.refused.is_empty() {
        eprintln!(
            "warning: {} of the records in {} were refused (listed in the report); first: {}: {}",
            file.refused.len(),
            path.display(),
            file.refused[0].source,
            file.refused[0].reason
        );
    }
    Ok(SignalInput {
        report: SignalsReport {
            source: path.file_name().map(|n| n.to_string_lossy().into_owned()),
            refused: file.refused,
            duplicates: file.duplicates,
            ..SignalsReport::default()
        },
        signals: file.signals,
    })
}

/// `--signal-store`: the stored signals of the run's instrument within `span` (inclusive).
fn load_stored_signals(
    dir: &Path,
    instrument_id: &str,
    span: (u64, u64),
) -> Result<SignalInput, String> {
    use crate::signals::store::{DB_FILE, Durability, SignalStore};
    // Opening would create an empty store: a missing one is a mistake worth naming.
    let missing = || {
        format!(
            "--signal-store {}: no {DB_FILE} there (fill it with `stratbox signals ingest --store`)",
            dir.display()
        )
    };
    storage::open_dir(dir)
        .map_err(|_| missing())?
        .metadata(DB_FILE)
        .map_err(|_| missing())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let signals = rt
        .block_on(async {
            let store = SignalStore::open(dir, Durability::PowerLoss).await?;
            let signals =
                crate::signals::stored_for_backtest(&store, instrument_id, span.0, span.1).await;
            store.close().await;
            signals
        })
        .map_err(|e| e.to_string())?;
    Ok(SignalInput {
        report: SignalsReport {
            source: Some(format!("store {}", dir.display())),
            ..SignalsReport::default()
        },
        signals,
    })
}

/// The `--risk` policy, or the permissive default.
pub(super) fn risk_policy(path: Option<&Path>) -> Result<RiskPolicy, String> {
    let Some(path) = path else {
        return Ok(RiskPolicy::default());
    };
    let bytes = storage::read_operator_file(path, 1 << 20).map_err(|e| e.to_string())?;
    let text = String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8", path.display()))?;
    RiskPolicy::from_toml(&text).map_err(|e| {
        let lines: Vec<String> = e.0.iter().map(|l| format!("  {l}")).collect();
        format!(
            "{}: invalid risk policy:\n{}",
            path.display(),
            lines.join("\n")
        )
    })
}

/// Which Nautilus engine a run goes through.
#[derive(Debug, Clone, Copy)]
pub enum Engine {
    /// A `BacktestEngine`, as fast as it goes (`stratbox backtest`).
    Backtest,
    /// A `LiveNode` with the replay feed and the sandbox venue (`stratbox live`).
    Live(crate::nautilus::live::LiveOptions),
}

/// `stratbox backtest`.
pub fn run(args: &Args) -> u8 {
    if args.server.is_some() {
        return super::remote::backtest_job(args);
    }
    run_on(args, Engine::Backtest)
}

/// Loads everything `args` name and runs it on `engine_kind`; prints the summary (or JSON)
/// and writes the report folder.
pub(super) fn run_on(args: &Args, engine_kind: Engine) -> u8 {
    if args.server.is_some() {
        return fail("--server runs backtests as service jobs: use `stratbox backtest --server`");
    }
    if let Some(which) = &args.replay_of {
        if matches!(engine_kind, Engine::Live(_)) {
            return fail(
                "--replay-of replays a recording as a backtest: use `stratbox backtest --replay-of`",
            );
        }
        return replay_of(args, which);
    }
    let policy = match risk_policy(args.risk.as_deref()) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let mut notifiers = Notifiers::log();
    if let Some(url) = &args.webhook {
        match WebhookNotifier::new(url, std::time::Duration::from_secs(10)) {
            Ok(w) => notifiers = notifiers.with(Arc::new(w)),
            Err(e) => return fail(format!("--webhook: {e}")),
        }
    }
    let defs =
        match super::instrument_defs_for(args.instruments.as_deref(), args.instrument.as_deref()) {
            Ok(d) => d,
            Err(e) => return fail(e),
        };
    let loaded = match &args.catalog {
        Some(root) => data::load_catalog(
            root,
            args.instrument.as_deref().unwrap_or_default(),
            args.kind,
            args.bar_type.as_deref(),
            args.from,
            args.to,
            &defs,
        ),
        None => data::load(
            &args.data,
            args.format,
            args.instrument.as_deref(),
            args.bar_type.as_deref(),
            &defs,
        ),
    };
    let loaded = match loaded {
        Ok(l) => l,
        Err(e) => return fail(e),
    };
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    let instrument_id = loaded.instrument.id().to_string();
    let engine = match SandboxEngine::new(EngineOptions::default()) {
        Ok(e) => e,
        Err(e) => return fail(e),
    };
    let audit = AuditLog::memory();
    let paths: Result<Vec<PathBuf>, String> = args.plugins.iter().map(|a| plugin_path(a)).collect();
    let paths = match paths {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let components = match plugins::load(&engine, paths, &audit) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let bar_type = loaded.data.iter().find_map(|d| match d {
        nautilus_model::data::Data::Bar(b) => Some(b.bar_type.to_string()),
        _ => None,
    });
    // The run's instrument and bar type fill the conventional parameters unless given.
    let mut implied = vec![("instrument_id", instrument_id.clone())];
    implied.extend(bar_type.map(|b| ("bar_type", b)));
    let params = match plugins::resolve_params(&components, &args.params, &implied) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let strategies: Vec<StrategySpec<'_>> = components
        .iter()
        .zip(params)
        .map(|((_, component), params)| StrategySpec::Component { component, params })
        .collect();
    let settlement = crate::backtest::settlement_currency(&loaded.instrument);
    let balance = match balance(args.balance.as_deref(), settlement.as_str()) {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    let report_dir = match report_folder(args) {
        Ok(d) => d,
        Err(e) => return fail(e),
    };

    let span = {
        use nautilus_model::data::HasTsInit;
        let ts = |d: Option<&nautilus_model::data::Data>| d.map_or(0, |d| d.ts_init().as_u64());
        (ts(loaded.data.first()), ts(loaded.data.last()))
    };
    let signals = match load_signals(args, &instrument_id, span) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let total = loaded.data.len() + signals.signals.len();
    let bar = if args.json {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(total as u64)
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} events  {per_sec}  eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let risk = RiskHub::new(policy, audit.clone(), notifiers);
    // Trading states set with `stratbox halt/resume` on the state folder: applied before
    // the first event and re-read between chunks.
    let state_dir = match &args.state_dir {
        Some(path) => match storage::create_dir(path) {
            Ok(dir) => Some(dir),
            Err(e) => return fail(e),
        },
        None => None,
    };
    let mut last_read = StoredStates::default();
    let mut follow = |control: &TradingControl| -> Result<(), String> {
        if let Some(dir) = &state_dir {
            let stored = StoredStates::load(dir).map_err(|e| e.to_string())?;
            control.follow(&last_read, &stored);
            last_read = stored;
        }
        Ok(())
    };
    if let Err(e) = follow(&risk.control) {
        return fail(e);
    }
    let control = risk.control.clone();
    let spec = BacktestSpec {
        instruments: vec![loaded.instrument.clone()],
        table: Arc::new(defs.table()),
        data: loaded.data,
        balances: vec![balance],
        strategies,
        chunk: DEFAULT_CHUNK,
        timing: true,
        risk,
        signals,
        purge_account_events: true,
    };
    let started = Instant::now();
    let mut on_progress = |done: usize, _total: usize| {
        bar.set_position(done as u64);
        if let Err(e) = follow(&control) {
            tracing::error!("cannot re-read the trading states: {e}");
        }
    };
    let outcome = match engine_kind {
        Engine::Backtest => backtest::run(spec, &engine, &audit, &mut on_progress),
        Engine::Live(options) => {
            bar.set_length(spec.data.len() as u64);
            crate::nautilus::live::run(spec, options, &engine, &audit, &mut on_progress)
        }
    };
    bar.finish_and_clear();
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => return fail(e),
    };
    let seconds = started.elapsed().as_secs_f64();
    for s in &outcome.report.strategies {
        if let Some(p) = &s.plugin
            && p.fault.is_none()
            && p.callbacks <= 2
        {
            eprintln!(
                "warning: {} received no market data; the data holds {} — check its subscriptions and --format",
                s.strategy_id,
                loaded.kinds.join(", ")
            );
        }
    }
    let label = match engine_kind {
        Engine::Backtest => "backtest".to_string(),
        Engine::Live(o) => match o.speed {
            crate::nautilus::paper::Speed::Max => {
                "live (replay feed at full speed, sandbox venue)".to_string()
            }
            crate::nautilus::paper::Speed::Factor(f) => {
                format!("live (replay feed at {f}x, sandbox venue)")
            }
        },
    };
    let names: Vec<&str> = components
        .iter()
        .map(|(_, c)| c.manifest().name.as_str())
        .collect();
    let kind = match engine_kind {
        Engine::Backtest => "backtest",
        Engine::Live(_) => "live",
    };
    present(
        args,
        &outcome,
        report_dir.as_ref(),
        &Presented {
            kind,
            label: &label,
            plugins: &names,
            instrument_id: &instrument_id,
            seconds,
        },
    )
}

/// How a finished run is described.
pub(super) struct Presented<'a> {
    /// `backtest` or `live` (the report page's title).
    pub kind: &'a str,
    /// The summary's first line.
    pub label: &'a str,
    pub plugins: &'a [&'a str],
    pub instrument_id: &'a str,
    pub seconds: f64,
}

/// The report folder of `--report`, created before the run (a folder that cannot be made
/// fails the command before anything runs).
pub(super) fn report_folder(args: &Args) -> Result<Option<cap_std::fs::Dir>, String> {
    args.report
        .as_ref()
        .map(|p| storage::create_dir(p).map_err(|e| e.to_string()))
        .transpose()
}

/// Writes `report.json` and `report.html` (the self-contained viewer) into `report_dir` and prints the summary (or
/// the JSON with `--json`); the exit status.
pub(super) fn present(
    args: &Args,
    outcome: &backtest::Outcome,
    report_dir: Option<&cap_std::fs::Dir>,
    what: &Presented<'_>,
) -> u8 {
    let report = &outcome.report;
    let json = match backtest::report_html::json(report) {
        Ok(j) => j,
        Err(e) => return fail(e),
    };
    if let Some(dir) = report_dir {
        let (kind, plugins) = (what.kind, what.plugins.join(", "));
        let title = format!("stratbox {kind}: {plugins} on {}", what.instrument_id);
        if let Err(e) = backtest::report_html::write(dir, &json, &title) {
            return fail(e);
        }
    }
    if args.json {
        print!("{json}");
    } else {
        print_summary(report, &outcome.guest_nanos, what.seconds, what.label);
        if let Some(p) = &args.report {
            println!(
                "report: {} (open in a browser: {})",
                p.join("report.json").display(),
                p.join("report.html").display()
            );
        }
    }
    0
}
