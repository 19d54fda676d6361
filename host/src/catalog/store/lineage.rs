//! Lineage: for every data file, where it came from and how. One JSON record per file at
//! `.stratbox/lineage/<data path>.json`, written (atomically) before the data file is
//! renamed into place, so a data file written by stratbox never lacks its record.

use serde::{Deserialize, Serialize};

use super::{Catalog, CatalogError, META, io};
use crate::{catalog::import::SourceInfo, storage};

/// Version of the record layout.
pub const LINEAGE_FORMAT: u32 = 1;

/// How a file came to be.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Lineage {
    pub format: u32,
    /// The data file, relative to the catalog root.
    pub file: String,
    pub sha256: String,
    pub bytes: u64,
    pub rows: u64,
    pub first_ts: u64,
    pub last_ts: u64,
    pub sources: Vec<SourceInfo>,
    pub importer: Importer,
    /// Every setting that shaped the rows (format, kind, instrument, precisions, bar type,
    /// quality policy, compression, row-group size...).
    pub parameters: serde_json::Value,
    /// Identity of the import (sha256 of sources and parameters): the same again is a no-op.
    pub import_key: String,
    pub import_id: String,
    pub rows_read: u64,
    pub rows_written: u64,
    pub rows_rejected: u64,
    pub rows_flagged: u64,
    /// Rows that came from files this one replaced (a merge), and those files.
    pub rows_from_replaced: u64,
    pub replaced: Vec<Lineage>,
    /// The quality report, relative to the catalog root.
    pub quality_report: String,
    pub created_at: String,
}

/// Who wrote a file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Importer {
    pub name: String,
    pub version: String,
}

impl Importer {
    /// This build.
    #[must_use]
    pub fn this() -> Self {
        Self {
            name: "stratbox".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

/// Where the record of data file `file` (relative path) lives.
#[must_use]
pub fn record_path(file: &str) -> String {
    format!("{META}/lineage/{file}.json")
}

/// Writes `record` atomically (temporary file, fsync, rename).
///
/// # Errors
/// An I/O error.
pub fn write(catalog: &Catalog, record: &Lineage) -> Result<(), CatalogError> {
    let path = record_path(&record.file);
    let (parent, name) = path.rsplit_once('/').unwrap_or((".", &path));
    catalog.mkdirs(parent)?;
    let dir = catalog.dir().open_dir(parent).map_err(|e| io(parent, e))?;
    let json = serde_json::to_vec_pretty(record).map_err(|e| io(&path, e))?;
    storage::write_atomic(&dir, name, &json).map_err(|e| io(&path, e))
}

/// The record of data file `file`, if it has one.
///
/// # Errors
/// An unreadable or malformed record.
pub fn read(catalog: &Catalog, file: &str) -> Result<Option<Lineage>, CatalogError> {
    let path = record_path(file);
    match catalog.dir().read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| io(format!("lineage record {path}"), e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(&path, e)),
    }
}

/// Removes the record of `file` (after the file was replaced).
pub fn remove(catalog: &Catalog, file: &str) {
    let _ = catalog.dir().remove_file(record_path(file));
}

/// Every record of a data file that exists now.
///
/// # Errors
/// An unreadable folder or record.
pub fn all(catalog: &Catalog) -> Result<Vec<Lineage>, CatalogError> {
    let mut out = Vec::new();
    for ds in catalog.datasets()? {
        for f in &ds.files {
            if let Some(l) = read(catalog, &f.path)? {
                out.push(l);
            }
        }
    }
    Ok(out)
}
