//! `stratbox bench catalog`: import and query throughput of the data catalog on real bars.
//!
//! The bundled BTC perpetual minutes (45,031 real rows) are repeated, each copy shifted
//! past the previous one, into an OHLCV CSV of `rows` rows. Measured in the same run,
//! alternating: the full import (read, hash, parse, check, write in Nautilus's Parquet
//! layout, lineage) and its read step alone, a parse-only floor (the CSV's records split into fields,
//! nothing converted), and Nautilus's own `write_to_parquet` of the already-built bars.
//! Query: every row read back through `ParquetDataCatalog`.

use std::{io::Write as _, path::Path, time::Instant};

use nautilus_model::identifiers::InstrumentId;
use serde::Serialize;

use super::median;
use crate::catalog::{
    import::{self, BarStamp, Format, Instrument, Request},
    quality::{self, Policy},
    series::{Kind, Series},
    store::{Catalog, read, write},
};

/// What the bench measured (rows per second, medians).
#[derive(Debug, Serialize)]
pub struct CatalogBench {
    pub rows: usize,
    pub source_bytes: u64,
    pub import_rows_per_sec: f64,
    /// The import's first step alone: read, hash and parse the source.
    pub read_rows_per_sec: f64,
    pub parse_floor_rows_per_sec: f64,
    pub nautilus_write_rows_per_sec: f64,
    pub query_rows_per_sec: f64,
    /// Import time / parse-floor time.
    pub import_vs_parse_floor: f64,
    /// Import time / Nautilus write time.
    pub import_vs_nautilus_write: f64,
    pub file_bytes: u64,
    /// File size / source size.
    pub size_vs_source: f64,
}

fn big_csv(src: &[u8], rows: usize) -> Result<Vec<u8>, String> {
    let text = std::str::from_utf8(src).map_err(|e| e.to_string())?;
    let mut lines = text.lines();
    let header = lines.next().ok_or("empty source")?;
    let body: Vec<(u64, &str)> = lines
        .map(|l| {
            let (ts, rest) = l.split_once(',').ok_or("a row without fields")?;
            Ok((crate::catalog::fields::iso_ts(ts.as_bytes())?, rest))
        })
        .collect::<Result<_, String>>()?;
    let (first, last) = (body[0].0, body[body.len() - 1].0);
    let span = last - first + 60_000_000_000;
    let mut out = Vec::with_capacity(rows * 72);
    writeln!(out, "{header}").map_err(|e| e.to_string())?;
    for i in 0..rows {
        let (ts, rest) = body[i % body.len()];
        let ts = ts + (i / body.len()) as u64 * span;
        let t = chrono::DateTime::from_timestamp_nanos(ts as i64);
        writeln!(out, "{},{rest}", t.format("%Y-%m-%d %H:%M:%S%.6f")).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

fn parse_floor(bytes: &[u8]) -> usize {
    let mut r = csv::ReaderBuilder::new().from_reader(bytes);
    let mut rec = csv::ByteRecord::new();
    let mut fields = 0;
    while r.read_byte_record(&mut rec).unwrap_or(false) {
        fields += rec.len();
    }
    fields
}

/// Runs the bench in `work` (a fresh folder it may fill).
///
/// # Errors
/// Any failure of the import or the query.
pub fn run(
    work: &Path,
    source: &[u8],
    rows: usize,
    samples: usize,
) -> Result<CatalogBench, String> {
    let csv = big_csv(source, rows)?;
    let dir = crate::storage::create_dir(work).map_err(|e| e.to_string())?;
    dir.write("bench.csv", &csv)
        .map_err(|e| format!("bench.csv: {e}"))?;
    let csv_path = work.join("bench.csv");
    let instrument = Instrument {
        id: InstrumentId::from("BTCUSDT-PERP.BINANCE"),
        price_precision: 3,
        size_precision: 3,
    };
    let request = Request {
        source: csv_path.to_string_lossy().into_owned(),
        ask: None,
        format: Format::Ohlcv,
        kind: Kind::Bars,
        instrument,
        bar_type: None,
        bar_stamp: BarStamp::Close,
        table: None,
        columns: Vec::new(),
    };
    let mut config = quality::default_config(Kind::Bars, "BINANCE", Some(60_000_000_000));
    config.policy = Policy::KeepAndFlag;
    let (mut imp, mut floor, mut nwrite, mut query) = (vec![], vec![], vec![], vec![]);
    let mut reads = vec![];
    let mut file_bytes = 0;
    for s in 0..samples.max(1) {
        let t = Instant::now();
        std::hint::black_box(parse_floor(&csv));
        floor.push(t.elapsed().as_secs_f64());

        let cat_path = work.join(format!("cat{s}"));
        let cat = Catalog::open(&cat_path, true).map_err(|e| e.to_string())?;
        let t = Instant::now();
        let read_in = import::read(&request).map_err(|e| e.to_string())?;
        reads.push(t.elapsed().as_secs_f64());
        let out = write::import(
            &cat,
            read_in,
            &request,
            &config,
            &write::WriteOptions::default(),
        )
        .map_err(|e| e.to_string())?;
        imp.push(t.elapsed().as_secs_f64());
        if let write::Outcome::Written { bytes, .. } = out {
            file_bytes = bytes;
        }

        let ds = read::pick(&cat, Kind::Bars, "BTCUSDT-PERP.BINANCE", None)
            .map_err(|e| e.to_string())?;
        let t = Instant::now();
        let back = read::query(&cat, &ds, None, None).map_err(|e| e.to_string())?;
        query.push(t.elapsed().as_secs_f64());
        if back.len() != rows {
            return Err(format!(
                "query returned {} rows, expected {rows}",
                back.len()
            ));
        }

        let Series::Bars(bars) = back else {
            return Err("query returned no bars".into());
        };
        dir.create_dir_all(format!("n{s}"))
            .map_err(|e| e.to_string())?;
        let nat = nautilus_persistence::backend::catalog::ParquetDataCatalog::from_uri(
            &work.join(format!("n{s}")).to_string_lossy(),
            None,
            Some(write::DEFAULT_ROW_GROUP_ROWS),
            Some(parquet::basic::Compression::ZSTD(
                parquet::basic::ZstdLevel::default(),
            )),
            Some(write::DEFAULT_ROW_GROUP_ROWS),
        )
        .map_err(|e| e.to_string())?;
        let t = Instant::now();
        nat.write_to_parquet(bars, None, None, Some(true))
            .map_err(|e| e.to_string())?;
        nwrite.push(t.elapsed().as_secs_f64());
        let _ = dir.remove_dir_all(format!("cat{s}"));
        let _ = dir.remove_dir_all(format!("n{s}"));
    }
    let _ = dir.remove_file("bench.csv");
    let read_secs = median(&mut reads);
    let (imp, floor, nwrite, query) = (
        median(&mut imp),
        median(&mut floor),
        median(&mut nwrite),
        median(&mut query),
    );
    let per = |secs: f64| rows as f64 / secs.max(1e-12);
    Ok(CatalogBench {
        rows,
        source_bytes: csv.len() as u64,
        import_rows_per_sec: per(imp),
        read_rows_per_sec: per(read_secs),
        parse_floor_rows_per_sec: per(floor),
        nautilus_write_rows_per_sec: per(nwrite),
        query_rows_per_sec: per(query),
        import_vs_parse_floor: imp / floor.max(1e-12),
        import_vs_nautilus_write: imp / nwrite.max(1e-12),
        file_bytes,
        size_vs_source: file_bytes as f64 / csv.len() as f64,
    })
}
