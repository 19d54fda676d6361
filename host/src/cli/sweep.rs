//! `stratbox sweep`: one component backtested over a grid of parameters, in parallel,
//! ranked into `sweep.csv` and `sweep.json`.

use std::{collections::BTreeMap, io::IsTerminal, path::PathBuf, time::Instant};

use nautilus_model::{data::HasTsInit, instruments::Instrument};

use super::{EXIT_USAGE, backtest::plugin_path, fail, key_value, named::named, plugins};
use crate::{
    audit::AuditLog,
    backtest::{
        data::{self, DataFormat},
        param_text,
    },
    sandbox::{EngineOptions, SandboxEngine, sha256_hex},
    storage,
    sweep::{
        Grid, RankBy, Row, Status, Sweep,
        table::{self, DataInfo, Document, GridInfo, PluginInfo, Timing},
    },
};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Component file, or the name of a built one (`ema-cross` = target/plugins/ema-cross.wasm).
    #[arg(long)]
    pub plugin: String,
    /// Swept parameter: `name=lo..hi:step` (inclusive; ints may omit `:1`; floats and
    /// decimals in exact decimal steps) or `name=a,b,c`. Repeatable: the grid is the
    /// cartesian product, the last --param varying fastest.
    #[arg(long = "param", value_name = "NAME=VALUES", required = true)]
    pub params: Vec<String>,
    /// Parameter fixed for every run, name=value (repeatable).
    #[arg(long = "set", value_parser = key_value)]
    pub set: Vec<(String, String)>,
    /// Market data: a file, or a folder of FXCM bid/ask files.
    #[arg(long, default_value = "data/fxcm/gbpusd-m1-bid-2012.csv")]
    pub data: PathBuf,
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
    /// Starting balance of each run's account (default: 1000000 in the settlement currency).
    #[arg(long)]
    pub balance: Option<String>,
    /// Risk policy (TOML; see docs/risk.md) every run's gate applies. Default: the
    /// contract's checks only.
    #[arg(long)]
    pub risk: Option<PathBuf>,
    /// Runs at a time, each on its own thread with its own Nautilus engine (default: the
    /// machine's available parallelism).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Folder for sweep.csv and sweep.json (created if missing; files replaced atomically).
    #[arg(long, default_value = "sweep-out")]
    pub out: PathBuf,
    /// Rank by a column (pnl_total, realized_pnl, sharpe, sortino, profit_factor,
    /// win_rate, expectancy, max_drawdown, orders, fills, positions, fuel_total) or a
    /// Nautilus statistic's name or name prefix ("Calmar Ratio"). Larger is better, except
    /// names with "drawdown" (smaller loss first) or "volatility" (smaller first).
    #[arg(long, default_value = "pnl_total")]
    pub rank_by: String,
    /// Runs shown in the summary (the tables hold every run).
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Print sweep.json to stdout instead of the summary.
    #[arg(long)]
    pub json: bool,
}

fn fail_all(problems: &[String]) -> u8 {
    for p in problems {
        eprintln!("error: {p}");
    }
    EXIT_USAGE
}

/// The `--risk` policy, or the permissive default.
fn jobs(arg: Option<usize>) -> Result<usize, String> {
    match arg {
        Some(0) => Err("--jobs 0: give at least 1 (default: the available parallelism)".into()),
        Some(n) => Ok(n),
        None => Ok(std::thread::available_parallelism().map_or(1, std::num::NonZero::get)),
    }
}

fn fmt(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{v:.4}"))
}

/// One line per finished run when stderr is not a terminal.
fn progress_line(row: &Row, done: usize, total: usize) -> String {
    let params: Vec<String> = row
        .params
        .iter()
        .map(|(k, v)| format!("{k}={}", param_text(v)))
        .collect();
    let what = match row.status {
        Status::Ok => format!(
            "ok, {} orders, pnl_total {}",
            row.orders,
            row.pnl_total
                .map_or_else(|| "-".into(), |v| format!("{v:.2}"))
        ),
        s => {
            let message = row.message.as_deref().unwrap_or_default();
            format!(
                "{}: {}",
                s.as_str(),
                message.lines().next().unwrap_or_default()
            )
        }
    };
    format!(
        "sweep: [{done}/{total}] #{} {}: {what} ({:.0} ms)",
        row.index,
        params.join(" "),
        row.wall_ms
    )
}

fn print_summary(doc: &Document, top: usize, out: &std::path::Path) {
    let axes: Vec<String> = doc
        .grid
        .axes
        .iter()
        .map(|a| format!("{} {}", a.name, a.values.len()))
        .collect();
    println!(
        "sweep: {} {} ({}…) over {} events of {}: {} runs ({}) on {} workers in {:.2} s ({:.2} runs/s)",
        doc.plugin.name,
        doc.plugin.version,
        doc.plugin.sha256.get(..12).unwrap_or_default(),
        doc.data.events,
        doc.data.instrument,
        doc.grid.runs,
        axes.join(" x "),
        doc.timing.jobs,
        doc.timing.wall_seconds,
        doc.timing.runs_per_s
    );
    let counts: Vec<String> = [Status::Ok, Status::Faulted, Status::Error, Status::Refused]
        .iter()
        .map(|s| {
            let n = doc.counts.get(s.as_str()).copied().unwrap_or(0);
            format!("{n} {}", s.as_str())
        })
        .collect();
    println!(
        "  {}; ranked by {} ({})",
        counts.join(", "),
        doc.rank_by.key,
        doc.rank_by.better
    );
    let names: Vec<&str> = doc.grid.axes.iter().map(|a| a.name.as_str()).collect();
    let width = |n: &str| n.len().max(8);
    let mut head = format!("  {:>5} {:>6}", "rank", "index");
    for n in &names {
        head.push_str(&format!(" {:>w$}", n, w = width(n)));
    }
    head.push_str(&format!(
        " {:>8} {:>7} {:>14} {:>10} {:>9} {:>10}",
        "status", "orders", "pnl_total", "max_dd%", "sharpe", "rank_value"
    ));
    println!("{head}");
    for r in doc.rows.iter().take(top) {
        let mut line = format!("  {:>5} {:>6}", r.rank, r.index);
        for n in &names {
            let v = r.params.get(*n).map(param_text).unwrap_or_default();
            line.push_str(&format!(" {:>w$}", v, w = width(n)));
        }
        line.push_str(&format!(
            " {:>8} {:>7} {:>14} {:>10} {:>9} {:>10}",
            r.status.as_str(),
            r.orders,
            r.pnl_total
                .map_or_else(|| "-".into(), |v| format!("{v:.2}")),
            r.max_drawdown_pct
                .map_or_else(|| "-".into(), |v| format!("{v:.4}")),
            fmt(r.sharpe),
            fmt(r.rank_value)
        ));
        println!("{line}");
    }
    if doc.rows.len() > top {
        println!("  ... {} more in the tables", doc.rows.len() - top);
    }
    println!(
        "tables: {}, {}",
        out.join("sweep.csv").display(),
        out.join("sweep.json").display()
    );
}

#[allow(clippy::too_many_lines)]
pub fn run(args: &Args) -> u8 {
    // Everything that can be wrong with the arguments is found before anything runs or is
    // written.
    let rank_by = match RankBy::parse(&args.rank_by) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let jobs = match jobs(args.jobs) {
        Ok(j) => j,
        Err(e) => return fail(e),
    };
    let policy = match super::backtest::risk_policy(args.risk.as_deref()) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let defs =
        match super::instrument_defs_for(args.instruments.as_deref(), args.instrument.as_deref()) {
            Ok(d) => d,
            Err(e) => return fail(e),
        };
    let path = match plugin_path(&args.plugin) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let engine = match SandboxEngine::new(EngineOptions::default()) {
        Ok(e) => e,
        Err(e) => return fail(e),
    };
    // Compiled once; every run instantiates this same component.
    let component = match plugins::load(&engine, [path], &AuditLog::memory()) {
        Ok(mut c) if !c.is_empty() => c.swap_remove(0).1,
        Ok(_) => return fail("no component loaded"),
        Err(code) => return code,
    };
    let manifest = component.manifest();
    let grid = match Grid::parse(&args.params, manifest) {
        Ok(g) => g,
        Err(problems) => return fail_all(&problems.lines()),
    };
    let loaded = match data::load(
        &args.data,
        args.format,
        args.instrument.as_deref(),
        args.bar_type.as_deref(),
        &defs,
    ) {
        Ok(l) => l,
        Err(e) => return fail(e),
    };
    if loaded.data.is_empty() {
        return fail(format!("--data {}: no market data", args.data.display()));
    }
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    let instrument_id = loaded.instrument.id().to_string();
    let bar_type = loaded.data.iter().find_map(|d| match d {
        nautilus_model::data::Data::Bar(b) => Some(b.bar_type.to_string()),
        _ => None,
    });
    // The run's instrument and bar type fill the conventional parameters unless given.
    let mut fixed = args.set.clone();
    let mut implied = vec![("instrument_id", instrument_id.clone())];
    implied.extend(bar_type.map(|b| ("bar_type", b)));
    if let Err(e) = super::plugins::check_instrument(&args.plugin, &component, &implied) {
        return fail(e);
    }
    for (name, value) in implied {
        let given =
            fixed.iter().any(|(k, _)| k == name) || grid.axes.iter().any(|a| a.name == name);
        if manifest.params.contains_key(name) && !given {
            fixed.push((name.to_string(), value));
        }
    }
    let points = match grid.resolve(manifest, &fixed) {
        Ok(p) => p,
        Err(problems) => {
            let problems: Vec<String> = problems
                .iter()
                .map(|p| format!("invalid parameters: {p} (check --set)"))
                .collect();
            return fail_all(&problems);
        }
    };
    let settlement = crate::backtest::settlement_currency(&loaded.instrument);
    let balance = match crate::backtest::parse_balance(args.balance.as_deref(), &settlement) {
        Ok(b) => b,
        Err(e) => return fail(format!("--balance {e}")),
    };
    let out_dir = match storage::create_dir(&args.out) {
        Ok(d) => d,
        Err(e) => return fail(e),
    };

    let swept: Vec<String> = grid.axes.iter().map(|a| a.name.clone()).collect();
    let fixed_values: BTreeMap<_, _> = points
        .first()
        .map(|p| {
            p.iter()
                .filter(|(k, _)| !swept.contains(k))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let data_sha256 = args
        .data
        .is_file()
        .then(|| storage::read_operator_file(&args.data, 1 << 32).ok())
        .flatten()
        .map(|b| sha256_hex(&b));
    let events = loaded.data.len();
    let (first_ts, last_ts) = (
        loaded.data.first().map(|d| d.ts_init().as_u64()),
        loaded.data.last().map(|d| d.ts_init().as_u64()),
    );
    let sweep = Sweep {
        engine: &engine,
        component: &component,
        instrument: loaded.instrument.clone(),
        defs: &defs,
        data: &loaded.data,
        balance,
        policy: policy.clone(),
        settlement: settlement.clone(),
        points,
        swept,
    };
    let total = grid.len();
    let workers = jobs.min(total);
    let bar = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(total as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} runs  {per_sec}  eta {eta}  {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Some(bar)
    } else {
        None
    };
    let started = Instant::now();
    let mut rows = sweep.run(workers, &mut |row, done| match &bar {
        Some(bar) => {
            bar.set_position(done as u64);
            bar.set_message(format!("#{} {}", row.index, row.status.as_str()));
        }
        None => eprintln!("{}", progress_line(row, done, total)),
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let wall_seconds = started.elapsed().as_secs_f64();
    table::rank(&mut rows, &rank_by);
    if !rank_by.is_column() && !table::any_value(&rows) {
        eprintln!(
            "warning: no run has a statistic `{}`; rows are in grid order. Statistics seen: {}",
            rank_by.key,
            table::stat_names(&rows).join(", ")
        );
    }
    let failed = rows.iter().filter(|r| r.status == Status::Error).count();
    #[allow(clippy::cast_precision_loss)]
    let doc = Document {
        format: table::TABLE_FORMAT,
        plugin: PluginInfo {
            name: manifest.name.clone(),
            version: manifest.version.clone(),
            sha256: component.sha256().to_string(),
        },
        data: DataInfo {
            path: args.data.display().to_string(),
            sha256: data_sha256,
            instrument: instrument_id,
            events,
            first_ts,
            last_ts,
        },
        balance: balance.to_string(),
        settlement_currency: settlement,
        risk_policy: policy.version,
        grid: GridInfo {
            runs: total,
            axes: grid.axes.clone(),
            fixed: fixed_values,
        },
        rank_by,
        counts: table::counts(&rows),
        timing: Timing {
            jobs: workers,
            wall_seconds: (wall_seconds * 1000.0).round() / 1000.0,
            runs_per_s: (total as f64 / wall_seconds.max(1e-9) * 1000.0).round() / 1000.0,
        },
        rows,
    };
    let csv = match table::csv(&doc.rows, &doc.grid.axes) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let json = match serde_json::to_string_pretty(&doc) {
        Ok(j) => j + "\n",
        Err(e) => return fail(format!("cannot encode the table: {e}")),
    };
    if let Err(e) = storage::write_atomic(&out_dir, "sweep.csv", csv.as_bytes())
        .and_then(|()| storage::write_atomic(&out_dir, "sweep.json", json.as_bytes()))
    {
        return fail(e);
    }
    if args.json {
        print!("{json}");
    } else {
        print_summary(&doc, args.top, &args.out);
    }
    if failed > 0 {
        eprintln!(
            "error: {failed} of {total} runs failed in the host (status `error`; see their message)"
        );
        return 1;
    }
    0
}
