//! `catalog verify`: read-only checks of every data file. A problem means the catalog is
//! not what Nautilus should load; a note is worth knowing but harmless.
//!
//! Per file: a `<start>_<end>.parquet` name; readable with Nautilus's decoders in the
//! 64-bit layout; of the folder's kind and identifier; at least one row; `ts_init`
//! never decreasing; first and last `ts_init` equal to the name's range; sha256 equal to
//! its lineage record (files without one are noted). Per folder: no overlapping ranges.

use nautilus_model::data::Data;
use serde::Serialize;

use super::{Catalog, CatalogError, META, folder_name, lineage};
use crate::catalog::{nautilus_parquet, quality::iso, series::Kind};

/// What verify found.
#[derive(Debug, Default, Serialize)]
pub struct VerifyReport {
    pub datasets: usize,
    pub files: usize,
    pub rows: u64,
    pub problems: Vec<String>,
    pub notes: Vec<String>,
}

impl VerifyReport {
    #[must_use]
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

fn kind_of(d: &Data) -> Option<Kind> {
    match d {
        Data::Bar(_) => Some(Kind::Bars),
        Data::Quote(_) => Some(Kind::Quotes),
        Data::Trade(_) => Some(Kind::Trades),
        _ => None,
    }
}

fn ts_init(d: &Data) -> u64 {
    match d {
        Data::Bar(b) => b.ts_init.as_u64(),
        Data::Quote(q) => q.ts_init.as_u64(),
        Data::Trade(t) => t.ts_init.as_u64(),
        _ => 0,
    }
}

/// Checks the whole catalog.
///
/// # Errors
/// Only when the catalog's folders cannot be listed; everything else is a finding.
pub fn verify(catalog: &Catalog) -> Result<VerifyReport, CatalogError> {
    let mut r = VerifyReport::default();
    let datasets = catalog.datasets()?;
    r.datasets = datasets.len();
    for ds in &datasets {
        let folder = ds.folder();
        for s in &ds.stray {
            r.problems.push(format!(
                "{folder}/{s}: not a `<start>_<end>.parquet` data file"
            ));
        }
        let dir = match catalog.dir().open_dir(&folder) {
            Ok(d) => d,
            Err(e) => {
                r.problems.push(format!("{folder}: cannot open: {e}"));
                continue;
            }
        };
        for w in ds.files.windows(2) {
            if w[1].start <= w[0].end {
                r.problems.push(format!(
                    "{folder}: {} and {} overlap ({} ≤ {})",
                    w[0].name,
                    w[1].name,
                    iso(w[1].start),
                    iso(w[0].end)
                ));
            }
        }
        for f in &ds.files {
            r.files += 1;
            let p = &f.path;
            let (_, instrument, data) = match nautilus_parquet::read(&dir, &f.name) {
                Ok(x) => x,
                Err(e) => {
                    r.problems.push(format!("{p}: {e}"));
                    continue;
                }
            };
            r.rows += data.len() as u64;
            if data.iter().any(|d| kind_of(d) != Some(ds.kind)) {
                r.problems
                    .push(format!("{p}: holds data other than {}", ds.kind));
                continue;
            }
            let identifier = match data.first() {
                Some(Data::Bar(b)) => b.bar_type.to_string(),
                _ => instrument,
            };
            if folder_name(&identifier).ok().as_deref() != Some(ds.identifier.as_str()) {
                r.problems.push(format!(
                    "{p}: holds {identifier}, not the folder's {}",
                    ds.identifier
                ));
            }
            if let Some(i) = data
                .windows(2)
                .position(|w| ts_init(&w[1]) < ts_init(&w[0]))
            {
                r.problems.push(format!(
                    "{p}: row {} goes back in time ({})",
                    i + 2,
                    iso(ts_init(&data[i + 1]))
                ));
            }
            let (first, last) = (ts_init(&data[0]), ts_init(&data[data.len() - 1]));
            if (first, last) != (f.start, f.end) {
                r.problems.push(format!(
                    "{p}: rows span {} to {}, but the name says {} to {}",
                    iso(first),
                    iso(last),
                    iso(f.start),
                    iso(f.end)
                ));
            }
            match lineage::read(catalog, p) {
                Ok(Some(l)) => {
                    let actual = catalog
                        .dir()
                        .read(p)
                        .map(|b| hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&b)));
                    match actual {
                        Ok(h) if h == l.sha256 => {}
                        Ok(h) => r.problems.push(format!(
                            "{p}: sha256 {h} differs from its lineage record's {} (the file changed after import)",
                            l.sha256
                        )),
                        Err(e) => r.problems.push(format!("{p}: cannot read: {e}")),
                    }
                    if l.rows != data.len() as u64 {
                        r.problems.push(format!(
                            "{p}: {} rows, lineage says {}",
                            data.len(),
                            l.rows
                        ));
                    }
                }
                Ok(None) => r
                    .notes
                    .push(format!("{p}: no lineage record (not written by stratbox)")),
                Err(e) => r.problems.push(format!("{p}: {e}")),
            }
        }
    }
    for (sub, what) in [
        (
            "staging",
            "left by an interrupted import; outside data/, never read; the next import or `catalog verify --repair` removes it",
        ),
        (
            "journal",
            "a merge was interrupted after its commit point; the next import or `catalog verify --repair` finishes it",
        ),
    ] {
        let rel = format!("{META}/{sub}");
        if let Ok(entries) = catalog.dir().read_dir(&rel) {
            for e in entries.flatten() {
                r.notes
                    .push(format!("{rel}/{}: {what}", e.file_name().to_string_lossy()));
            }
        }
    }
    Ok(r)
}
