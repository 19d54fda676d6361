//! Writing an import into the catalog, crash-safe:
//!
//! 1. take the catalog's write lock, finish or undo what an interrupted import left;
//! 2. a source already imported with the same settings (same import key) is a no-op;
//! 3. check quality; refuse an overlap with existing files unless merging;
//! 4. the file is written into a fresh staging folder under `.stratbox/staging/` in
//!    Nautilus's layout (`parquet_writer`: Nautilus's encoders, timestamps delta-encoded),
//!    hashed as it is written, then fsynced;
//! 5. the quality report and the lineage record are written (atomically);
//! 6. a merge records a journal entry (target + files it replaces);
//! 7. the staged file is renamed into `data/...` and the folder fsynced: the commit point;
//! 8. replaced files are removed, then the journal entry and the staging folder.
//!
//! A crash before 7 leaves the catalog as it was (leftovers only under `.stratbox/`);
//! after 7, [`recover`] finishes the merge from the journal.

use std::io::Write as _;

use nautilus_core::UnixNanos;
use nautilus_model::data::Data;
use nautilus_persistence::backend::catalog::timestamps_to_filename;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Catalog, CatalogError, META, folder_name, io, lineage, parquet_writer};
use crate::{
    catalog::{
        import::{Read, Request},
        nautilus_parquet,
        quality::{self, QualityConfig, QualityReport},
        series::{Kind, Series},
    },
    storage,
};

/// The zstd level of written files unless asked otherwise: 1, the level `parquet` and Arrow
/// default to (and the bench's Nautilus writer uses). Level 3 made files 2.8% smaller and
/// cost 0.1 s of CPU per 2 M bars (decision 0040).
pub const DEFAULT_ZSTD_LEVEL: i32 = 1;

/// Parquet compression of written files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Compression {
    Zstd(i32),
    Snappy,
    Lz4,
    Uncompressed,
}

impl std::str::FromStr for Compression {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (name, level) = s.split_once(':').map_or((s, None), |(n, l)| (n, Some(l)));
        match (name, level) {
            ("zstd", None) => Ok(Self::Zstd(DEFAULT_ZSTD_LEVEL)),
            ("zstd", Some(l)) => l
                .parse::<i32>()
                .ok()
                .filter(|l| (1..=22).contains(l))
                .map(Self::Zstd)
                .ok_or_else(|| format!("zstd level `{l}` is not 1..=22")),
            ("snappy", None) => Ok(Self::Snappy),
            ("lz4", None) => Ok(Self::Lz4),
            ("none", None) => Ok(Self::Uncompressed),
            _ => Err(format!("`{s}` is not zstd[:level], snappy, lz4 or none")),
        }
    }
}

/// The text [`FromStr`](std::str::FromStr) reads back: `zstd:<level>`, `snappy`, `lz4`, `none`.
impl std::fmt::Display for Compression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Zstd(level) => write!(f, "zstd:{level}"),
            Self::Snappy => f.write_str("snappy"),
            Self::Lz4 => f.write_str("lz4"),
            Self::Uncompressed => f.write_str("none"),
        }
    }
}

impl Compression {
    pub(super) fn parquet(self) -> parquet::basic::Compression {
        use parquet::basic::{Compression as C, ZstdLevel};
        match self {
            Self::Zstd(l) => C::ZSTD(ZstdLevel::try_new(l).unwrap_or_default()),
            Self::Snappy => C::SNAPPY,
            Self::Lz4 => C::LZ4_RAW,
            Self::Uncompressed => C::UNCOMPRESSED,
        }
    }
}

/// Rows per Parquet row group (see docs/decisions/0013-data-catalog.md).
pub const DEFAULT_ROW_GROUP_ROWS: usize = 65_536;

/// How files are written.
#[derive(Debug, Clone, Copy)]
pub struct WriteOptions {
    pub merge: bool,
    pub compression: Compression,
    pub row_group_rows: usize,
}

impl Default for WriteOptions {
    fn default() -> Self {
        Self {
            merge: false,
            compression: Compression::Zstd(DEFAULT_ZSTD_LEVEL),
            row_group_rows: DEFAULT_ROW_GROUP_ROWS,
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Outcome {
    Written {
        file: String,
        rows: u64,
        bytes: u64,
        replaced: Vec<String>,
        quality_report: String,
        report: Box<QualityReport>,
    },
    /// The same sources with the same settings were imported before: nothing written.
    AlreadyImported {
        import_key: String,
        files: Vec<String>,
    },
}

#[derive(Debug, Serialize, Deserialize)]
struct Journal {
    target: String,
    replaces: Vec<String>,
}

/// Held while writing; released on drop.
struct WriteLock(std::fs::File);

fn lock(catalog: &Catalog) -> Result<WriteLock, CatalogError> {
    catalog.mkdirs(META)?;
    let path = format!("{META}/lock");
    let file = catalog
        .dir()
        .open_with(
            &path,
            cap_std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true),
        )
        .map_err(|e| io(&path, e))?
        .into_std();
    file.try_lock().map_err(|_| {
        CatalogError::Refused(format!(
            "another import is writing to {} (lock {path}); wait for it to finish",
            catalog.root().display()
        ))
    })?;
    Ok(WriteLock(file))
}

impl Drop for WriteLock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

/// Finishes or undoes what interrupted imports left: pending merges from the journal,
/// the staging folder, lineage records of files that never landed. Returns what it did.
///
/// # Errors
/// An I/O error, or another writer holding the lock.
pub fn recover(catalog: &Catalog) -> Result<Vec<String>, CatalogError> {
    let _lock = lock(catalog)?;
    recover_locked(catalog)
}

fn recover_locked(catalog: &Catalog) -> Result<Vec<String>, CatalogError> {
    let mut done = Vec::new();
    let dir = catalog.dir();
    let journal = format!("{META}/journal");
    if let Ok(entries) = dir.read_dir(&journal) {
        for e in entries.flatten() {
            let name = format!("{journal}/{}", e.file_name().to_string_lossy());
            let j: Option<Journal> = dir
                .read(&name)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok());
            if let Some(j) = j {
                if dir.is_file(&j.target) {
                    for old in &j.replaces {
                        if old != &j.target && dir.remove_file(old).is_ok() {
                            done.push(format!(
                                "finished a merge: removed {old}, replaced by {}",
                                j.target
                            ));
                        }
                        if old != &j.target {
                            lineage::remove(catalog, old);
                        }
                    }
                } else {
                    done.push(format!("undid an interrupted merge into {}", j.target));
                }
            }
            dir.remove_file(&name).map_err(|e| io(&name, e))?;
        }
    }
    let staging = format!("{META}/staging");
    if let Ok(entries) = dir.read_dir(&staging) {
        for e in entries.flatten() {
            let name = format!("{staging}/{}", e.file_name().to_string_lossy());
            dir.remove_dir_all(&name).map_err(|e| io(&name, e))?;
            done.push(format!(
                "removed {name} (an interrupted import; the catalog never saw it)"
            ));
        }
    }
    // Lineage records whose data file never landed.
    for kind in [Kind::Bars, Kind::Quotes, Kind::Trades] {
        let base = format!("{META}/lineage/data/{}", kind.dir());
        let Ok(idents) = dir.read_dir(&base) else {
            continue;
        };
        for ident in idents.flatten() {
            let folder = format!("{base}/{}", ident.file_name().to_string_lossy());
            let Ok(records) = dir.read_dir(&folder) else {
                continue;
            };
            for r in records.flatten() {
                let name = r.file_name().to_string_lossy().into_owned();
                let Some(data_name) = name.strip_suffix(".json") else {
                    continue;
                };
                let data = format!(
                    "data/{}/{}/{data_name}",
                    kind.dir(),
                    ident.file_name().to_string_lossy()
                );
                if !dir.is_file(&data) {
                    let _ = dir.remove_file(format!("{folder}/{name}"));
                    done.push(format!("removed the lineage of {data}, which never landed"));
                }
            }
        }
    }
    Ok(done)
}

/// Stops the process at a named step when `STRATBOX_CATALOG_CRASH_AT` names it: the crash
/// tests use it to prove each step leaves a catalog that verifies.
fn crash_point(step: &str) {
    if std::env::var("STRATBOX_CATALOG_CRASH_AT").is_ok_and(|s| s == step) {
        eprintln!("crash point {step}: aborting as asked by STRATBOX_CATALOG_CRASH_AT");
        std::process::abort();
    }
}

/// The key that makes a repeated import a no-op.
fn import_key(read: &Read, parameters: &serde_json::Value) -> String {
    let mut h = Sha256::new();
    for s in &read.sources {
        h.update(s.sha256.as_bytes());
        h.update(b"\n");
    }
    h.update(parameters.to_string().as_bytes());
    hex::encode(h.finalize())
}

fn parameters(
    request: &Request,
    read: &Read,
    quality: &QualityConfig,
    opts: &WriteOptions,
) -> serde_json::Value {
    serde_json::json!({
        "format": read.format,
        "kind": request.kind,
        "instrument_id": request.instrument.id.to_string(),
        "price_precision": request.instrument.price_precision,
        "size_precision": request.instrument.size_precision,
        "bar_type": read.parsed.bar_type.map(|b| b.to_string()),
        "bar_timestamp": if read.parsed.bar_type.is_some() { Some(request.bar_stamp) } else { None },
        "table": request.table,
        "columns": request.columns,
        "quality": quality,
        "merge": opts.merge,
    })
}

fn load_existing(
    catalog: &Catalog,
    folder: &str,
    name: &str,
    kind: Kind,
) -> Result<Series, CatalogError> {
    let dir = catalog.dir().open_dir(folder).map_err(|e| io(folder, e))?;
    let (_, _, data) =
        nautilus_parquet::read(&dir, name).map_err(|e| io(format!("{folder}/{name}"), e))?;
    let mut s = Series::empty(kind);
    for d in data {
        match (&mut s, d) {
            (Series::Bars(v), Data::Bar(b)) => v.push(b),
            (Series::Quotes(v), Data::Quote(q)) => v.push(q),
            (Series::Trades(v), Data::Trade(t)) => v.push(t),
            _ => {
                return Err(CatalogError::Refused(format!(
                    "{folder}/{name} holds another kind of data"
                )));
            }
        }
    }
    Ok(s)
}

/// Sorts `v` by time (stable: existing rows first) and drops exact repeats at one time;
/// for bars, two different bars at one time are a conflict.
fn merge_sorted<T: Clone + PartialEq>(
    mut v: Vec<(T, bool)>,
    ts: impl Fn(&T) -> u64,
    one_per_time: bool,
) -> Result<(Vec<T>, u64), String> {
    v.sort_by_key(|(x, _)| ts(x));
    let mut out: Vec<T> = Vec::with_capacity(v.len());
    let mut group_start = 0;
    let mut dropped = 0;
    for (x, _) in v {
        if out.last().is_none_or(|l| ts(l) != ts(&x)) {
            group_start = out.len();
        }
        if out[group_start..].contains(&x) {
            dropped += 1;
            continue;
        }
        if one_per_time && out.len() > group_start {
            return Err(format!(
                "two different bars at {}: the catalog's and the source's; fix the source or import without --merge into a new catalog",
                quality::iso(ts(&x))
            ));
        }
        out.push(x);
    }
    Ok((out, dropped))
}

fn merge(existing: Vec<Series>, new: Series) -> Result<(Series, u64), CatalogError> {
    fn tag<T>(v: Vec<T>, new: bool) -> impl Iterator<Item = (T, bool)> {
        v.into_iter().map(move |x| (x, new))
    }
    let kind = new.kind();
    let mut all = Series::empty(kind);
    for s in existing {
        all.extend(s).map_err(CatalogError::Refused)?;
    }
    let refuse = |m: String| CatalogError::Refused(format!("cannot merge: {m}"));
    Ok(match (all, new) {
        (Series::Bars(a), Series::Bars(b)) => {
            if let (Some(x), Some(y)) = (a.first(), b.first())
                && (x.open.precision, x.volume.precision) != (y.open.precision, y.volume.precision)
            {
                return Err(refuse(
                    "the catalog's bars and the source's have different precisions".into(),
                ));
            }
            let v = tag(a, false).chain(tag(b, true)).collect();
            let (v, d) = merge_sorted(v, |b| b.ts_init.as_u64(), true).map_err(refuse)?;
            (Series::Bars(v), d)
        }
        (Series::Quotes(a), Series::Quotes(b)) => {
            if let (Some(x), Some(y)) = (a.first(), b.first())
                && (x.bid_price.precision, x.bid_size.precision)
                    != (y.bid_price.precision, y.bid_size.precision)
            {
                return Err(refuse(
                    "the catalog's quotes and the source's have different precisions".into(),
                ));
            }
            let v = tag(a, false).chain(tag(b, true)).collect();
            let (v, d) = merge_sorted(v, |q| q.ts_init.as_u64(), false).map_err(refuse)?;
            (Series::Quotes(v), d)
        }
        (Series::Trades(a), Series::Trades(b)) => {
            if let (Some(x), Some(y)) = (a.first(), b.first())
                && (x.price.precision, x.size.precision) != (y.price.precision, y.size.precision)
            {
                return Err(refuse(
                    "the catalog's trades and the source's have different precisions".into(),
                ));
            }
            let v = tag(a, false).chain(tag(b, true)).collect();
            let (v, d) = merge_sorted(v, |t| t.ts_init.as_u64(), false).map_err(refuse)?;
            (Series::Trades(v), d)
        }
        _ => return Err(refuse("kinds differ".into())),
    })
}

/// The catalog folder of `series`: `data/<kind>/<bar type or instrument id>`.
fn series_folder(series: &Series) -> Result<String, CatalogError> {
    let identifier = match series {
        Series::Bars(v) => v.first().map(|b| b.bar_type.to_string()),
        Series::Quotes(v) => v.first().map(|q| q.instrument_id.to_string()),
        Series::Trades(v) => v.first().map(|t| t.instrument_id.to_string()),
    }
    .ok_or_else(|| CatalogError::Refused("nothing to write: no rows".into()))?;
    Ok(format!(
        "data/{}/{}",
        series.kind().dir(),
        folder_name(&identifier)?
    ))
}

/// Writes `series` as a Nautilus Parquet file into the catalog layout under `root`
/// (`data/<kind>/<identifier>/<start>_<end>.parquet`), without lineage or quality checks:
/// for data that was already checked on its way in (a live session's recorded feed).
/// The file appears whole or not at all (temp file, fsync, rename, fsync of the folder).
///
/// # Errors
/// An existing file of the same name, or an encoding or I/O error.
pub fn write_plain(root: &std::path::Path, series: Series) -> Result<(), CatalogError> {
    let folder = series_folder(&series)?;
    let (start, end) = series.range().unwrap_or_default();
    let name = timestamps_to_filename(UnixNanos::from(start), UnixNanos::from(end));
    let root = storage::create_dir(root).map_err(|e| io(root.display(), e))?;
    root.create_dir_all(&folder).map_err(|e| io(&folder, e))?;
    let dir = root.open_dir(&folder).map_err(|e| io(&folder, e))?;
    if dir.is_file(&name) {
        return Err(CatalogError::Refused(format!(
            "{folder}/{name} exists already; write into a new folder"
        )));
    }
    storage::write_atomic_by(&dir, &name, false, |file| {
        parquet_writer::write(&series, file, &WriteOptions::default())
            .map(drop)
            .map_err(std::io::Error::other)
    })
    .map_err(|e| io(&folder, e))
}

/// Writes `series` to `rel` (a new file in the staging folder) and fsyncs it; returns its
/// sha256 and size, hashed as it was written.
fn stage(
    catalog: &Catalog,
    rel: &str,
    series: &Series,
    opts: &WriteOptions,
) -> Result<(String, u64), CatalogError> {
    let file = catalog
        .dir()
        .open_with(
            rel,
            cap_std::fs::OpenOptions::new().write(true).create_new(true),
        )
        .map_err(|e| io(rel, e))?;
    let written = parquet_writer::write(series, file, opts).map_err(|e| io(rel, e))?;
    written.out.sync_all().map_err(|e| io(rel, e))?;
    Ok((written.sha256, written.bytes))
}

/// Imports what `read` holds into `catalog`.
///
/// # Errors
/// A quality refusal, an overlap without `merge`, or an I/O error; the catalog is
/// unchanged in each case.
pub fn import(
    catalog: &Catalog,
    read: Read,
    request: &Request,
    quality_config: &QualityConfig,
    opts: &WriteOptions,
) -> Result<Outcome, CatalogError> {
    let _lock = lock(catalog)?;
    recover_locked(catalog)?;
    let mut params = parameters(request, &read, quality_config, opts);
    let key = import_key(&read, &params);
    // How the file is encoded: recorded, but not part of the key (same rows, same data).
    params["compression"] = serde_json::json!(opts.compression);
    params["row_group_rows"] = serde_json::json!(opts.row_group_rows);
    let previous: Vec<String> = lineage::all(catalog)?
        .into_iter()
        .filter(|l| l.import_key == key || l.replaced.iter().any(|r| r.import_key == key))
        .map(|l| l.file)
        .collect();
    if !previous.is_empty() {
        return Ok(Outcome::AlreadyImported {
            import_key: key,
            files: previous,
        });
    }
    let sources = read.sources;
    let (parsed, report) = quality::check(read.parsed, quality_config).map_err(|report| {
        let names: Vec<&str> = sources.iter().map(|s| s.path.as_str()).collect();
        CatalogError::Quality {
            summary: format!(
                "refused (policy reject; use --on-problem drop-and-report or keep-and-flag to import anyway): {}",
                report.summary(&names.join(" + "), 20)
            ),
            report,
        }
    })?;
    if parsed.series.is_empty() {
        return Err(CatalogError::Refused(
            "no rows left to write after dropping problem rows".into(),
        ));
    }
    let identifier = match parsed.bar_type {
        Some(bt) if request.kind == Kind::Bars => bt.to_string(),
        _ => request.instrument.id.to_string(),
    };
    let folder = format!("data/{}/{}", request.kind.dir(), folder_name(&identifier)?);
    let (new_start, new_end) = parsed.series.range().unwrap_or_default();
    let dataset = catalog.dataset(request.kind, &folder_name(&identifier)?)?;
    let overlapping: Vec<_> = dataset
        .files
        .iter()
        .filter(|f| f.start <= new_end && new_start <= f.end)
        .cloned()
        .collect();
    if !overlapping.is_empty() && !opts.merge {
        return Err(CatalogError::Refused(format!(
            "{} to {} overlaps {} in the catalog: {}; import a range outside it, or add --merge to merge (exact repeats are dropped)",
            quality::iso(new_start),
            quality::iso(new_end),
            if overlapping.len() == 1 {
                "a file"
            } else {
                "files"
            },
            overlapping
                .iter()
                .map(|f| format!(
                    "{} ({} to {})",
                    f.path,
                    quality::iso(f.start),
                    quality::iso(f.end)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let new_rows = parsed.series.len() as u64;
    let (series, rows_from_replaced, replaced) = if overlapping.is_empty() {
        (parsed.series, 0, Vec::new())
    } else {
        let mut existing = Vec::new();
        let mut old = Vec::new();
        for f in &overlapping {
            existing.push(load_existing(catalog, &folder, &f.name, request.kind)?);
            old.push(lineage::read(catalog, &f.path)?);
        }
        let old_rows: u64 = existing.iter().map(|s| s.len() as u64).sum();
        let (merged, _dups) = merge(existing, parsed.series)?;
        let from_old = old_rows.min(merged.len() as u64);
        (merged, from_old, old)
    };
    let (start, end) = series.range().unwrap_or_default();
    let rows = series.len() as u64;
    let name = timestamps_to_filename(UnixNanos::from(start), UnixNanos::from(end));
    let target = format!("{folder}/{name}");
    let import_id = format!(
        "imp-{}-{}-{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ"),
        std::process::id(),
        &key[..8]
    );
    let staging_rel = format!("{META}/staging/{import_id}");
    catalog.mkdirs(&staging_rel)?;
    let staged = format!("{staging_rel}/{name}");
    let (sha256, bytes) = stage(catalog, &staged, &series, opts)?;
    catalog.sync_dir(&staging_rel)?;
    crash_point("after-stage");
    let report_rel = format!("{META}/reports/{import_id}.json");
    catalog.mkdirs(&format!("{META}/reports"))?;
    let reports = catalog
        .dir()
        .open_dir(format!("{META}/reports"))
        .map_err(|e| io("reports", e))?;
    let report_json = serde_json::to_vec_pretty(&report).map_err(|e| io(&report_rel, e))?;
    storage::write_atomic(&reports, &format!("{import_id}.json"), &report_json)
        .map_err(|e| io(&report_rel, e))?;
    let record = lineage::Lineage {
        format: lineage::LINEAGE_FORMAT,
        file: target.clone(),
        sha256,
        bytes,
        rows,
        first_ts: start,
        last_ts: end,
        sources,
        importer: lineage::Importer::this(),
        parameters: params,
        import_key: key,
        import_id: import_id.clone(),
        rows_read: report.rows_read,
        rows_written: new_rows,
        rows_rejected: report.rows_dropped,
        rows_flagged: report.rows_flagged,
        rows_from_replaced,
        replaced: replaced.into_iter().flatten().collect(),
        quality_report: report_rel.clone(),
        created_at: chrono::Utc::now().to_rfc3339(),
    };
    lineage::write(catalog, &record)?;
    let replaces: Vec<String> = overlapping.iter().map(|f| f.path.clone()).collect();
    let journal_rel = format!("{META}/journal/{import_id}.json");
    if !replaces.is_empty() {
        catalog.mkdirs(&format!("{META}/journal"))?;
        let jdir = catalog
            .dir()
            .open_dir(format!("{META}/journal"))
            .map_err(|e| io("journal", e))?;
        let j = serde_json::to_vec(&Journal {
            target: target.clone(),
            replaces: replaces.clone(),
        })
        .map_err(|e| io(&journal_rel, e))?;
        storage::write_atomic(&jdir, &format!("{import_id}.json"), &j)
            .map_err(|e| io(&journal_rel, e))?;
    }
    catalog.mkdirs(&folder)?;
    if catalog.dir().is_file(&target) && !replaces.contains(&target) {
        return Err(CatalogError::Refused(format!("{target} exists already")));
    }
    catalog
        .dir()
        .rename(&staged, catalog.dir(), &target)
        .map_err(|e| io(format!("renaming {staged} to {target}"), e))?;
    catalog.sync_dir(&folder)?;
    crash_point("after-rename");
    for old in &replaces {
        if old != &target {
            catalog.dir().remove_file(old).map_err(|e| io(old, e))?;
            lineage::remove(catalog, old);
        }
    }
    catalog.sync_dir(&folder)?;
    if !replaces.is_empty() {
        catalog
            .dir()
            .remove_file(&journal_rel)
            .map_err(|e| io(&journal_rel, e))?;
    }
    catalog
        .dir()
        .remove_dir_all(&staging_rel)
        .map_err(|e| io(&staging_rel, e))?;
    let _ = std::io::stderr().flush();
    Ok(Outcome::Written {
        file: target,
        rows,
        bytes,
        replaced: replaces,
        quality_report: report_rel,
        report: Box::new(report),
    })
}

#[cfg(test)]
mod compression_tests {
    use super::*;

    #[test]
    fn compression_text_reads_back() {
        for c in [
            Compression::Zstd(DEFAULT_ZSTD_LEVEL),
            Compression::Zstd(19),
            Compression::Snappy,
            Compression::Lz4,
            Compression::Uncompressed,
        ] {
            assert_eq!(c.to_string().parse::<Compression>(), Ok(c));
        }
        assert_eq!("zstd".parse(), Ok(Compression::Zstd(DEFAULT_ZSTD_LEVEL)));
        assert_eq!(Compression::Zstd(DEFAULT_ZSTD_LEVEL).to_string(), "zstd:1");
    }
}
