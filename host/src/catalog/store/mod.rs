//! The catalog on disk: Nautilus's layout (`data/<kind>/<identifier>/<start>_<end>.parquet`,
//! what `ParquetDataCatalog` reads), plus stratbox's own folder `.stratbox/` for lineage,
//! quality reports, staging and the merge journal. Nautilus lists only `data/`, so nothing
//! of ours is ever mistaken for data.
//!
//! Every file the host touches is reached through the catalog root's `cap-std` handle; the
//! one exception is the staging folder handed to `ParquetDataCatalog` (it writes through
//! `object_store` with a path), which is a fresh folder under `.stratbox/staging/` whose
//! name we choose.

pub mod lineage;
pub mod parquet_writer;
pub mod read;
pub mod verify;
pub mod write;

use std::path::{Path, PathBuf};

use cap_std::fs::Dir;
use nautilus_persistence::backend::catalog::{parse_filename_timestamps, urisafe_instrument_id};

use super::series::Kind;
use crate::storage;

/// Our folder inside a catalog.
pub const META: &str = ".stratbox";

/// The catalog could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{0}")]
    Io(String),
    #[error("{0}")]
    Refused(String),
    #[error("{summary}")]
    Quality {
        summary: String,
        report: Box<super::quality::QualityReport>,
    },
}

pub(crate) fn io(what: impl std::fmt::Display, e: impl std::fmt::Display) -> CatalogError {
    CatalogError::Io(format!("{what}: {e}"))
}

/// A catalog folder.
#[derive(Debug)]
pub struct Catalog {
    root: PathBuf,
    dir: Dir,
}

/// One data file of a dataset.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DataFile {
    /// Path relative to the catalog root.
    pub path: String,
    pub name: String,
    pub start: u64,
    pub end: u64,
    pub bytes: u64,
}

/// One folder of data: a kind and an identifier (instrument id, or bar type for bars).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Dataset {
    pub kind: Kind,
    /// The folder name (Nautilus's URI-safe identifier).
    pub identifier: String,
    pub files: Vec<DataFile>,
    /// Files whose names are not `<start>_<end>.parquet` (left alone, reported by verify).
    pub stray: Vec<String>,
}

impl Dataset {
    /// The relative folder of this dataset.
    #[must_use]
    pub fn folder(&self) -> String {
        format!("data/{}/{}", self.kind.dir(), self.identifier)
    }
}

/// The folder name of a dataset: the bar type for bars, else the instrument id, made
/// URI-safe the way Nautilus does; refused if it could name anything but one folder.
///
/// # Errors
/// An identifier with a path separator or dot-only name after Nautilus's mapping.
pub fn folder_name(identifier: &str) -> Result<String, CatalogError> {
    let safe = urisafe_instrument_id(identifier);
    if safe.is_empty() || safe == "." || safe == ".." || safe.contains(['\\', '\0']) {
        return Err(CatalogError::Refused(format!(
            "`{identifier}` cannot name a catalog folder"
        )));
    }
    Ok(safe)
}

impl Catalog {
    /// Opens the catalog at `root`, creating it when `create`.
    ///
    /// # Errors
    /// A missing folder (when not creating) or an I/O error.
    pub fn open(root: &Path, create: bool) -> Result<Self, CatalogError> {
        let dir = if create {
            storage::create_dir(root)
        } else {
            storage::open_dir(root)
        }
        .map_err(|e| CatalogError::Io(format!("catalog {e}")))?;
        // Absolute without touching the file system (the handle above is what is used).
        let root = std::path::absolute(root).map_err(|e| io(root.display(), e))?;
        Ok(Self { root, dir })
    }

    /// Opens the catalog folder `name` inside `parent` through `parent`'s handle (a name
    /// that leaves `parent` is refused). `parent_path` is where `parent` was opened: the
    /// catalog's path is needed only by Nautilus's query engine, which takes a URI.
    ///
    /// # Errors
    /// A missing folder or an I/O error.
    pub fn open_in(parent: &Dir, parent_path: &Path, name: &str) -> Result<Self, CatalogError> {
        let dir = parent
            .open_dir(name)
            .map_err(|e| io(format!("catalog `{name}`"), e))?;
        let root = std::path::absolute(parent_path.join(name)).map_err(|e| io(name, e))?;
        Ok(Self { root, dir })
    }

    /// The catalog's folder handle.
    #[must_use]
    pub fn dir(&self) -> &Dir {
        &self.dir
    }

    /// The catalog's absolute path.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every dataset, sorted by kind and identifier.
    ///
    /// # Errors
    /// An unreadable folder.
    pub fn datasets(&self) -> Result<Vec<Dataset>, CatalogError> {
        let mut out = Vec::new();
        for kind in [Kind::Bars, Kind::Quotes, Kind::Trades] {
            let rel = format!("data/{}", kind.dir());
            let Ok(kind_dir) = self.dir.open_dir(&rel) else {
                continue;
            };
            let mut idents: Vec<String> = kind_dir
                .entries()
                .map_err(|e| io(&rel, e))?
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .filter_map(|e| e.file_name().into_string().ok())
                .collect();
            idents.sort();
            for identifier in idents {
                out.push(self.dataset(kind, &identifier)?);
            }
        }
        Ok(out)
    }

    /// One dataset (empty when its folder does not exist).
    ///
    /// # Errors
    /// An unreadable folder.
    pub fn dataset(&self, kind: Kind, identifier: &str) -> Result<Dataset, CatalogError> {
        let mut ds = Dataset {
            kind,
            identifier: identifier.to_string(),
            files: Vec::new(),
            stray: Vec::new(),
        };
        let rel = ds.folder();
        let Ok(d) = self.dir.open_dir(&rel) else {
            return Ok(ds);
        };
        for entry in d.entries().map_err(|e| io(&rel, e))? {
            let entry = entry.map_err(|e| io(&rel, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let bytes = entry.metadata().map(|m| m.len()).unwrap_or(0);
            match parse_filename_timestamps(&name) {
                Some((start, end)) if entry.file_type().is_ok_and(|t| t.is_file()) => {
                    ds.files.push(DataFile {
                        path: format!("{rel}/{name}"),
                        name,
                        start,
                        end,
                        bytes,
                    });
                }
                _ => ds.stray.push(name),
            }
        }
        ds.files.sort_by_key(|f| (f.start, f.end));
        ds.stray.sort();
        Ok(ds)
    }

    /// Datasets of `kind` for instrument `instrument` (bars: every bar type of it).
    ///
    /// # Errors
    /// An unreadable folder.
    pub fn datasets_of(&self, kind: Kind, instrument: &str) -> Result<Vec<Dataset>, CatalogError> {
        let safe = folder_name(instrument)?;
        Ok(self
            .datasets()?
            .into_iter()
            .filter(|d| d.kind == kind)
            .filter(|d| {
                d.identifier == safe
                    || (kind == Kind::Bars
                        && d.identifier.starts_with(&format!("{safe}-"))
                        && d.identifier[safe.len() + 1..]
                            .split('-')
                            .next()
                            .is_some_and(|s| s.chars().all(|c| c.is_ascii_digit())))
            })
            .collect())
    }

    /// True when a merge passed its commit point but did not finish (see `write::recover`).
    #[must_use]
    pub fn has_pending_merge(&self) -> bool {
        self.dir
            .read_dir(format!("{META}/journal"))
            .is_ok_and(|mut e| e.next().is_some())
    }

    /// Creates `rel` (and parents) under the root.
    pub(crate) fn mkdirs(&self, rel: &str) -> Result<(), CatalogError> {
        self.dir.create_dir_all(rel).map_err(|e| io(rel, e))
    }

    /// Flushes folder `rel`'s entries to disk (after a rename into it).
    pub(crate) fn sync_dir(&self, rel: &str) -> Result<(), CatalogError> {
        // A directory handle from `open_dir` may be O_PATH, which cannot be fsynced; a plain
        // read-only open of the folder can.
        let d = self.dir.open(rel).map_err(|e| io(rel, e))?;
        d.sync_all()
            .map_err(|e| io(format!("fsync of folder {rel}"), e))
    }
}
