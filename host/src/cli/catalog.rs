//! `stratbox catalog import | ls | query | stats | verify | lineage`: the data catalog from
//! the command line. Parsing and printing only; the work is in `catalog::{import, store}`.

use std::{io::Write, path::PathBuf};

use nautilus_model::{identifiers::InstrumentId, instruments::Instrument as _};
use serde::Serialize;

use super::{fail, key_value, named::named};
use crate::catalog::{
    import::{self, BarStamp, Format, Instrument, Request},
    quality::{self, Calendar, Policy, QualityConfig, iso},
    series::{Kind, Series},
    store::{
        Catalog, CatalogError, lineage, read, verify,
        write::{
            self, Compression, DEFAULT_ROW_GROUP_ROWS, DEFAULT_ZSTD_LEVEL, Outcome, WriteOptions,
        },
    },
};

#[derive(Debug, clap::Subcommand)]
pub enum Which {
    /// Import a CSV, pandas/Nautilus Parquet file or Postgres table into the catalog:
    /// checked, written as Nautilus 64-bit Parquet with lineage and a quality report.
    Import(ImportArgs),
    /// List datasets and files.
    Ls(CatalogArg),
    /// Print a dataset's rows in a time range (read by Nautilus's own catalog).
    Query(QueryArgs),
    /// Rows, files, size on disk against the sources' size, compression.
    Stats(CatalogArg),
    /// Check every file: schema, time order, names, overlaps, checksums.
    Verify(VerifyArgs),
    /// Where a data file came from.
    Lineage(LineageArgs),
}

#[derive(Debug, clap::Args)]
pub struct CatalogArg {
    /// Catalog folder (Nautilus layout: data/<kind>/<id>/...).
    #[arg(long, env = "STRATBOX_CATALOG", default_value = "catalog")]
    pub catalog: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The source file (or use --source for a database URL).
    #[arg(required_unless_present = "source_url", conflicts_with = "source_url")]
    pub source: Option<String>,
    /// A `postgres://user:password@host:port/db` source (with --table).
    #[arg(long = "source", value_name = "URL")]
    pub source_url: Option<String>,
    #[command(flatten)]
    pub catalog: CatalogArg,
    /// Instrument the data is for (defined in --instruments).
    #[arg(long)]
    pub instrument: String,
    #[arg(long, value_parser = named::<Kind>())]
    pub kind: Kind,
    #[arg(long, value_parser = named::<Format>(), default_value_t = Format::Auto)]
    pub format: Format,
    /// FXCM quotes: the ask file (the source is the bid file).
    #[arg(long)]
    pub ask: Option<PathBuf>,
    /// Bar type, e.g. `ADABTC.BINANCE-1-MINUTE-LAST-EXTERNAL` (default: 1-MINUTE, LAST; FXCM BID).
    #[arg(long)]
    pub bar_type: Option<String>,
    /// Binance klines: stamp bars at their close (no look-ahead) or open (as Nautilus's test data).
    #[arg(long, value_parser = named::<BarStamp>(), default_value_t = BarStamp::Close)]
    pub bar_timestamp: BarStamp,
    /// Postgres table (`schema.table` or `table`).
    #[arg(long)]
    pub table: Option<String>,
    /// Postgres column for a field, e.g. `ts=time` (fields: ts, open, high, low, close,
    /// volume / bid, ask, bid_size, ask_size / price, size, aggressor, trade_id).
    #[arg(long = "column", value_parser = key_value)]
    pub columns: Vec<(String, String)>,
    /// Instrument definitions (TOML; default: the bundled ones).
    #[arg(long)]
    pub instruments: Option<PathBuf>,
    /// What to do with rows that fail a quality check.
    #[arg(long, value_parser = named::<Policy>(), default_value_t = Policy::Reject)]
    pub on_problem: Policy,
    /// Largest relative move from the last clean value that is not an outlier.
    #[arg(long, default_value_t = 0.15)]
    pub max_jump: f64,
    /// Market calendar for gaps (default: fx for FXCM/SIM venues, else 24x7).
    #[arg(long, value_parser = named::<Calendar>())]
    pub calendar: Option<Calendar>,
    /// Quiet seconds between ticks before it counts as a gap.
    #[arg(long, default_value_t = 300)]
    pub max_tick_gap_secs: u64,
    /// Merge with existing files whose time range overlaps (exact repeats dropped).
    #[arg(long)]
    pub merge: bool,
    /// zstd[:level], snappy, lz4 or none.
    #[arg(long, default_value_t = Compression::Zstd(DEFAULT_ZSTD_LEVEL))]
    pub compression: Compression,
    #[arg(long, default_value_t = DEFAULT_ROW_GROUP_ROWS)]
    pub row_group_rows: usize,
    /// Also write the quality report here (written even when the import is refused).
    #[arg(long)]
    pub report: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct QueryArgs {
    #[command(flatten)]
    pub catalog: CatalogArg,
    #[arg(long)]
    pub instrument: String,
    #[arg(long, value_parser = named::<Kind>())]
    pub kind: Kind,
    /// Bar type, when the catalog holds several for the instrument.
    #[arg(long)]
    pub bar_type: Option<String>,
    /// From (inclusive): ns since 1970, `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS[.f]` (UTC).
    #[arg(long, value_parser = parse_time)]
    pub from: Option<u64>,
    /// To (inclusive), as --from.
    #[arg(long, value_parser = parse_time)]
    pub to: Option<u64>,
    /// Print CSV rows (default: a summary; --json prints JSON lines).
    #[arg(long, conflicts_with = "json")]
    pub csv: bool,
    /// Stop after this many rows.
    #[arg(long)]
    pub limit: Option<usize>,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub catalog: CatalogArg,
    /// First finish or undo what interrupted imports left (takes the write lock).
    #[arg(long)]
    pub repair: bool,
}

#[derive(Debug, clap::Args)]
pub struct LineageArgs {
    /// The data file (relative to the catalog, or a path inside it).
    pub file: PathBuf,
    #[arg(long, env = "STRATBOX_CATALOG", default_value = "catalog")]
    pub catalog: PathBuf,
}

pub(crate) use crate::catalog::fields::parse_time;

pub fn run(which: Which) -> u8 {
    let result = match which {
        Which::Import(a) => import_cmd(&a),
        Which::Ls(a) => ls(&a),
        Which::Query(a) => query(&a),
        Which::Stats(a) => stats(&a),
        Which::Verify(a) => verify_cmd(&a),
        Which::Lineage(a) => lineage_cmd(&a),
    };
    match result {
        Ok(code) => code,
        Err(e) => fail(e),
    }
}

fn print_json(v: &impl Serialize) -> Result<(), String> {
    let s = serde_json::to_string_pretty(v).map_err(|e| e.to_string())?;
    println!("{s}");
    Ok(())
}

fn write_report(path: &std::path::Path, report: &quality::QualityReport) -> Result<(), String> {
    let (parent, name) = (
        path.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new(".")),
        path.file_name()
            .and_then(|n| n.to_str())
            .ok_or("--report does not name a file")?,
    );
    let dir = crate::storage::create_dir(parent).map_err(|e| e.to_string())?;
    let json = serde_json::to_vec_pretty(report).map_err(|e| e.to_string())?;
    crate::storage::write_atomic(&dir, name, &json).map_err(|e| e.to_string())
}

fn import_cmd(a: &ImportArgs) -> Result<u8, String> {
    let source = a
        .source
        .clone()
        .or_else(|| a.source_url.clone())
        .ok_or("give a source")?;
    let defs = super::instrument_defs_for(a.instruments.as_deref(), Some(&a.instrument))?;
    let nautilus = defs.nautilus(&a.instrument).ok_or_else(|| {
        format!(
            "unknown instrument `{}` (known: {}); define it in --instruments",
            a.instrument,
            defs.ids().collect::<Vec<_>>().join(", ")
        )
    })?;
    let id: InstrumentId = nautilus.id();
    let instrument = Instrument {
        id,
        price_precision: nautilus.price_precision(),
        size_precision: nautilus.size_precision(),
    };
    let bar_type = a
        .bar_type
        .as_deref()
        .map(|s| s.parse().map_err(|e| format!("--bar-type `{s}`: {e}")))
        .transpose()?;
    if !(a.max_jump > 0.0 && a.max_jump.is_finite()) {
        return Err(format!(
            "--max-jump {} must be a positive number",
            a.max_jump
        ));
    }
    if a.row_group_rows == 0 {
        return Err("--row-group-rows must be at least 1".into());
    }
    let request = Request {
        source: source.clone(),
        ask: a.ask.clone(),
        format: a.format,
        kind: a.kind,
        instrument,
        bar_type,
        bar_stamp: a.bar_timestamp,
        table: a.table.clone(),
        columns: a.columns.clone(),
    };
    let bar = indicatif::ProgressBar::new(3);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:20} {pos}/{len} {msg} ({elapsed})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message(format!("reading {}", import::postgres::redact(&source)));
    let started = std::time::Instant::now();
    let read = import::read(&request).map_err(|e| e.to_string())?;
    let rows_read = read.parsed.series.len();
    bar.inc(1);
    bar.set_message(format!("checking {rows_read} rows"));
    let interval = read
        .parsed
        .bar_type
        .as_ref()
        .and_then(quality::bar_interval_ns);
    let mut config: QualityConfig = quality::default_config(a.kind, id.venue.as_str(), interval);
    config.policy = a.on_problem;
    config.max_jump = a.max_jump;
    config.max_tick_gap_ns = a.max_tick_gap_secs.saturating_mul(1_000_000_000);
    if let Some(c) = a.calendar {
        config.calendar = c;
    }
    let opts = WriteOptions {
        merge: a.merge,
        compression: a.compression,
        row_group_rows: a.row_group_rows,
    };
    let catalog = Catalog::open(&a.catalog.catalog, true).map_err(|e| e.to_string())?;
    bar.inc(1);
    bar.set_message("writing");
    let outcome = write::import(&catalog, read, &request, &config, &opts);
    bar.finish_and_clear();
    let outcome = match outcome {
        Err(CatalogError::Quality { summary, report }) => {
            if let Some(p) = &a.report {
                write_report(p, &report)?;
            }
            return Err(format!("{summary}\nnothing was written"));
        }
        Err(e) => return Err(format!("{e}\nnothing was written")),
        Ok(o) => o,
    };
    let secs = started.elapsed().as_secs_f64();
    if let (Some(p), Outcome::Written { report, .. }) = (&a.report, &outcome) {
        write_report(p, report)?;
    }
    if a.catalog.json {
        print_json(&outcome)?;
        return Ok(0);
    }
    match &outcome {
        Outcome::AlreadyImported { files, .. } => {
            println!(
                "already imported (same source content and settings): {}",
                files.join(", ")
            );
        }
        Outcome::Written {
            file,
            rows,
            bytes,
            replaced,
            quality_report,
            report,
        } => {
            println!(
                "wrote {file}: {rows} rows, {bytes} bytes, {:.0} rows/s",
                rows_read as f64 / secs.max(1e-9)
            );
            if !replaced.is_empty() {
                println!("merged with and replaced {}", replaced.join(", "));
            }
            println!(
                "quality: {} problem(s) ({} dropped, {} flagged); gaps {} unexpected, {} expected closures; report {quality_report}",
                report.problem_count(),
                report.rows_dropped,
                report.rows_flagged,
                report.gaps.unexpected_count,
                report.gaps.expected_count
            );
        }
    }
    Ok(0)
}

fn ls(a: &CatalogArg) -> Result<u8, String> {
    let catalog = Catalog::open(&a.catalog, false).map_err(|e| e.to_string())?;
    let datasets = catalog.datasets().map_err(|e| e.to_string())?;
    if a.json {
        print_json(&datasets)?;
        return Ok(0);
    }
    if datasets.is_empty() {
        println!("{}: no data", catalog.root().display());
    }
    for ds in &datasets {
        println!("{} ({} file(s))", ds.folder(), ds.files.len());
        for f in &ds.files {
            let rows = read::file_stats(&catalog, &f.path)
                .map(|s| s.rows.to_string())
                .unwrap_or_else(|e| e.to_string());
            println!(
                "  {}  {} rows  {} to {}  {} bytes",
                f.name,
                rows,
                iso(f.start),
                iso(f.end),
                f.bytes
            );
        }
    }
    Ok(0)
}

fn query(a: &QueryArgs) -> Result<u8, String> {
    let catalog = Catalog::open(&a.catalog.catalog, false).map_err(|e| e.to_string())?;
    if catalog.has_pending_merge() {
        write::recover(&catalog).map_err(|e| e.to_string())?;
    }
    let ds = read::pick(&catalog, a.kind, &a.instrument, a.bar_type.as_deref())
        .map_err(|e| e.to_string())?;
    let started = std::time::Instant::now();
    let series = read::query(&catalog, &ds, a.from, a.to).map_err(|e| e.to_string())?;
    let secs = started.elapsed().as_secs_f64();
    let n = series.len().min(a.limit.unwrap_or(usize::MAX));
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let w = |e: std::io::Error| e.to_string();
    if a.csv || a.catalog.json {
        print_rows(&mut out, &series, n, a.csv).map_err(w)?;
    } else {
        writeln!(
            out,
            "{}: {} rows{} ({:.0} rows/s through nautilus-persistence)",
            ds.folder(),
            series.len(),
            series
                .range()
                .map(|(f, t)| format!(" from {} to {}", iso(f), iso(t)))
                .unwrap_or_default(),
            series.len() as f64 / secs.max(1e-9)
        )
        .map_err(w)?;
    }
    out.flush().map_err(w)?;
    Ok(0)
}

fn print_rows(out: &mut impl Write, s: &Series, n: usize, csv: bool) -> std::io::Result<()> {
    match s {
        Series::Bars(v) => {
            if csv {
                writeln!(out, "ts_init,time,open,high,low,close,volume")?;
            }
            for b in &v[..n] {
                let t = b.ts_init.as_u64();
                if csv {
                    writeln!(
                        out,
                        "{t},{},{},{},{},{},{}",
                        iso(t),
                        b.open,
                        b.high,
                        b.low,
                        b.close,
                        b.volume
                    )?;
                } else {
                    let j = serde_json::json!({"ts_init": t, "ts_event": b.ts_event.as_u64(), "open": b.open.to_string(),
                        "high": b.high.to_string(), "low": b.low.to_string(), "close": b.close.to_string(), "volume": b.volume.to_string()});
                    writeln!(out, "{j}")?;
                }
            }
        }
        Series::Quotes(v) => {
            if csv {
                writeln!(out, "ts_init,time,bid,ask,bid_size,ask_size")?;
            }
            for q in &v[..n] {
                let t = q.ts_init.as_u64();
                if csv {
                    writeln!(
                        out,
                        "{t},{},{},{},{},{}",
                        iso(t),
                        q.bid_price,
                        q.ask_price,
                        q.bid_size,
                        q.ask_size
                    )?;
                } else {
                    let j = serde_json::json!({"ts_init": t, "ts_event": q.ts_event.as_u64(), "bid": q.bid_price.to_string(),
                        "ask": q.ask_price.to_string(), "bid_size": q.bid_size.to_string(), "ask_size": q.ask_size.to_string()});
                    writeln!(out, "{j}")?;
                }
            }
        }
        Series::Trades(v) => {
            if csv {
                writeln!(out, "ts_init,time,price,size,aggressor,trade_id")?;
            }
            for t in &v[..n] {
                let ts = t.ts_init.as_u64();
                if csv {
                    writeln!(
                        out,
                        "{ts},{},{},{},{},{}",
                        iso(ts),
                        t.price,
                        t.size,
                        t.aggressor_side,
                        t.trade_id
                    )?;
                } else {
                    let j = serde_json::json!({"ts_init": ts, "ts_event": t.ts_event.as_u64(), "price": t.price.to_string(),
                        "size": t.size.to_string(), "aggressor": t.aggressor_side.to_string(), "trade_id": t.trade_id.to_string()});
                    writeln!(out, "{j}")?;
                }
            }
        }
    }
    Ok(())
}

fn stats(a: &CatalogArg) -> Result<u8, String> {
    let catalog = Catalog::open(&a.catalog, false).map_err(|e| e.to_string())?;
    let stats = read::stats(&catalog).map_err(|e| e.to_string())?;
    if a.json {
        print_json(&stats)?;
        return Ok(0);
    }
    println!(
        "{:<8} {:<48} {:>5} {:>10} {:>12} {:>12} {:>8}  compression",
        "kind", "identifier", "files", "rows", "bytes", "source", "ratio"
    );
    for s in &stats {
        println!(
            "{:<8} {:<48} {:>5} {:>10} {:>12} {:>12} {:>8}  {} ({} row groups)",
            s.kind.dir(),
            s.identifier,
            s.files,
            s.rows,
            s.bytes,
            s.source_bytes.map_or_else(|| "?".into(), |b| b.to_string()),
            s.size_vs_source
                .map_or_else(|| "?".into(), |r| format!("{r:.3}")),
            s.compression.join(","),
            s.row_groups
        );
    }
    Ok(0)
}

fn verify_cmd(a: &VerifyArgs) -> Result<u8, String> {
    let catalog = Catalog::open(&a.catalog.catalog, false).map_err(|e| e.to_string())?;
    if a.repair {
        for done in write::recover(&catalog).map_err(|e| e.to_string())? {
            eprintln!("repaired: {done}");
        }
    }
    let r = verify::verify(&catalog).map_err(|e| e.to_string())?;
    if a.catalog.json {
        print_json(&r)?;
    } else {
        for n in &r.notes {
            println!("note: {n}");
        }
        for p in &r.problems {
            println!("problem: {p}");
        }
        println!(
            "{}: {} dataset(s), {} file(s), {} rows, {} problem(s)",
            if r.ok() { "ok" } else { "FAILED" },
            r.datasets,
            r.files,
            r.rows,
            r.problems.len()
        );
    }
    Ok(if r.ok() { 0 } else { 1 })
}

fn lineage_cmd(a: &LineageArgs) -> Result<u8, String> {
    let catalog = Catalog::open(&a.catalog, false).map_err(|e| e.to_string())?;
    // `data/...` is relative to the catalog; any other path must lie inside it.
    let rel = if a.file.starts_with("data") {
        a.file.to_string_lossy().into_owned()
    } else {
        let abs = std::path::absolute(&a.file).map_err(|e| format!("{}: {e}", a.file.display()))?;
        abs.strip_prefix(catalog.root())
            .map_err(|_| {
                format!(
                    "{} is not inside the catalog {}",
                    a.file.display(),
                    catalog.root().display()
                )
            })?
            .to_string_lossy()
            .into_owned()
    };
    match lineage::read(&catalog, &rel).map_err(|e| e.to_string())? {
        Some(l) => print_json(&l).map(|()| 0),
        None => Err(format!(
            "{rel}: no lineage record (not a data file stratbox wrote; `catalog ls` lists them)"
        )),
    }
}
