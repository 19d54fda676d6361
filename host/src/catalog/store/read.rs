//! Reading the catalog back: queries go through Nautilus's own `ParquetDataCatalog`, so
//! what stratbox shows is what a Nautilus node would load; statistics read Parquet footers.

use nautilus_model::data::{Bar, QuoteTick, TradeTick};
use nautilus_persistence::backend::catalog::ParquetDataCatalog;
use parquet::file::reader::{FileReader, SerializedFileReader};
use serde::Serialize;

use super::{Catalog, CatalogError, Dataset, io, lineage};
use crate::catalog::series::{Kind, Series};

/// Chooses the one dataset of `kind` for `instrument` (bars: `bar_type` picks among
/// several bar types).
///
/// # Errors
/// None found, or several bar types and no `bar_type`.
pub fn pick(
    catalog: &Catalog,
    kind: Kind,
    instrument: &str,
    bar_type: Option<&str>,
) -> Result<Dataset, CatalogError> {
    let mut found = catalog.datasets_of(kind, instrument)?;
    if let Some(bt) = bar_type {
        let safe = super::folder_name(bt)?;
        found.retain(|d| d.identifier == safe);
    }
    found.retain(|d| !d.files.is_empty());
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(CatalogError::Refused(format!(
            "the catalog at {} has no {kind} of {instrument}{}; `stratbox catalog ls` shows what it has",
            catalog.root().display(),
            bar_type.map(|b| format!(" ({b})")).unwrap_or_default()
        ))),
        _ => Err(CatalogError::Refused(format!(
            "the catalog has several bar types of {instrument}: {}; choose one with --bar-type",
            found
                .iter()
                .map(|d| d.identifier.clone())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// The values of `dataset` with `ts_init` in `[from, to]`, read by Nautilus's catalog.
///
/// # Errors
/// Nautilus could not read the files.
pub fn query(
    catalog: &Catalog,
    dataset: &Dataset,
    from: Option<u64>,
    to: Option<u64>,
) -> Result<Series, CatalogError> {
    let mut cat =
        ParquetDataCatalog::from_uri(&catalog.root().to_string_lossy(), None, None, None, None)
            .map_err(|e| io("catalog", e))?;
    let ids = Some(vec![dataset.identifier.clone()]);
    let (start, end): (
        Option<nautilus_core::UnixNanos>,
        Option<nautilus_core::UnixNanos>,
    ) = (from.map(Into::into), to.map(Into::into));
    let err = |e: anyhow::Error| io(format!("querying {}", dataset.folder()), e);
    let series = match dataset.kind {
        Kind::Bars => Series::Bars(
            cat.query_typed_data::<Bar>(ids, start, end, None, None, true)
                .map_err(err)?,
        ),
        Kind::Quotes => Series::Quotes(
            cat.query_typed_data::<QuoteTick>(ids, start, end, None, None, true)
                .map_err(err)?,
        ),
        Kind::Trades => Series::Trades(
            cat.query_typed_data::<TradeTick>(ids, start, end, None, None, true)
                .map_err(err)?,
        ),
    };
    // Nautilus filters files by name; rows are filtered here too, so the bounds are exact.
    Ok(series.within(from, to))
}

/// Figures of one file, from its footer.
#[derive(Debug, Clone, Serialize)]
pub struct FileStats {
    pub path: String,
    pub rows: u64,
    pub bytes: u64,
    pub row_groups: usize,
    pub compression: String,
    /// Uncompressed size of the column data.
    pub uncompressed_bytes: u64,
}

/// Reads `path`'s footer.
///
/// # Errors
/// Not a readable Parquet file.
pub fn file_stats(catalog: &Catalog, path: &str) -> Result<FileStats, CatalogError> {
    let file = catalog
        .dir()
        .open(path)
        .map_err(|e| io(path, e))?
        .into_std();
    let bytes = file.metadata().map_err(|e| io(path, e))?.len();
    let reader = SerializedFileReader::new(file).map_err(|e| io(path, e))?;
    let meta = reader.metadata();
    let rows = meta.file_metadata().num_rows().max(0) as u64;
    let mut compression = String::from("-");
    let mut uncompressed = 0;
    for rg in meta.row_groups() {
        for c in rg.columns() {
            uncompressed += c.uncompressed_size().max(0) as u64;
            // The footer names the codec, not its level (that is in the lineage parameters).
            let codec = format!("{:?}", c.compression());
            compression = codec.split('(').next().unwrap_or_default().to_string();
        }
    }
    Ok(FileStats {
        path: path.to_string(),
        rows,
        bytes,
        row_groups: meta.num_row_groups(),
        compression,
        uncompressed_bytes: uncompressed,
    })
}

/// Figures of one dataset.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetStats {
    pub kind: Kind,
    pub identifier: String,
    pub files: usize,
    pub rows: u64,
    pub first_ts: Option<u64>,
    pub last_ts: Option<u64>,
    pub bytes: u64,
    pub uncompressed_bytes: u64,
    /// Bytes of the sources the files were imported from (when lineage knows them).
    pub source_bytes: Option<u64>,
    /// `bytes / source_bytes`.
    pub size_vs_source: Option<f64>,
    pub compression: Vec<String>,
    pub row_groups: usize,
}

/// Figures of every dataset.
///
/// # Errors
/// An unreadable file.
pub fn stats(catalog: &Catalog) -> Result<Vec<DatasetStats>, CatalogError> {
    let mut out = Vec::new();
    for ds in catalog.datasets()? {
        let mut s = DatasetStats {
            kind: ds.kind,
            identifier: ds.identifier.clone(),
            files: ds.files.len(),
            rows: 0,
            first_ts: ds.files.first().map(|f| f.start),
            last_ts: ds.files.last().map(|f| f.end),
            bytes: 0,
            uncompressed_bytes: 0,
            source_bytes: Some(0),
            size_vs_source: None,
            compression: Vec::new(),
            row_groups: 0,
        };
        for f in &ds.files {
            let fs = file_stats(catalog, &f.path)?;
            s.rows += fs.rows;
            s.bytes += fs.bytes;
            s.uncompressed_bytes += fs.uncompressed_bytes;
            s.row_groups += fs.row_groups;
            if !s.compression.contains(&fs.compression) {
                s.compression.push(fs.compression);
            }
            let source = lineage::read(catalog, &f.path)?.map(|l| {
                l.sources.iter().map(|x| x.bytes).sum::<u64>()
                    + l.replaced
                        .iter()
                        .flat_map(|r| &r.sources)
                        .map(|x| x.bytes)
                        .sum::<u64>()
            });
            s.source_bytes = match (s.source_bytes, source) {
                (Some(a), Some(b)) => Some(a + b),
                _ => None,
            };
        }
        s.size_vs_source = s
            .source_bytes
            .filter(|b| *b > 0)
            .map(|b| s.bytes as f64 / b as f64);
        out.push(s);
    }
    Ok(out)
}
