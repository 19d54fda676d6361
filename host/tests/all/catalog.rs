//! The data catalog through the library: Nautilus's 64-bit reference files read exactly
//! (checked against an independent Arrow decode), every bundled source imported, quality
//! policies, incremental writes, merges, no-op re-imports, and a round-trip property: random
//! bars, quotes and trades written by stratbox and read back by Nautilus's own catalog.

use std::path::{Path, PathBuf};

use arrow_array::{Array, FixedSizeBinaryArray, UInt64Array};
use nautilus_core::UnixNanos;
use nautilus_model::{
    data::{Bar, BarType, Data, QuoteTick, TradeTick},
    enums::AggressorSide,
    identifiers::{InstrumentId, TradeId},
    types::{Price, Quantity},
};
use nautilus_persistence::backend::catalog::ParquetDataCatalog;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use proptest::prelude::*;
use stratbox::catalog::{
    import::{self, BarStamp, Format, Instrument, Request},
    nautilus_parquet,
    quality::{self, Policy},
    series::{Kind, Parsed, Series, Unit},
    store::{Catalog, CatalogError, read, verify, write},
};

use crate::fixtures::{DATA, GBPUSD_FILE, NAUTILUS_64BIT};

/// Every raw fixed-point and u64 column of a Nautilus file, decoded with plain Arrow.
fn independent_columns(path: &Path) -> Vec<(String, Vec<i128>)> {
    let file = std::fs::File::open(path).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let mut cols: Vec<(String, Vec<i128>)> = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        for (i, field) in batch.schema().fields().iter().enumerate() {
            let values: Vec<i128> = if let Some(a) = batch
                .column(i)
                .as_any()
                .downcast_ref::<FixedSizeBinaryArray>()
            {
                assert_eq!(a.value_length(), 8, "{}: 64-bit layout", field.name());
                (0..a.len())
                    .map(|r| i128::from(i64::from_le_bytes(a.value(r).try_into().unwrap())))
                    .collect()
            } else if let Some(a) = batch.column(i).as_any().downcast_ref::<UInt64Array>() {
                (0..a.len()).map(|r| i128::from(a.value(r))).collect()
            } else {
                continue;
            };
            match cols.iter_mut().find(|(n, _)| n == field.name()) {
                Some((_, v)) => v.extend(values),
                None => cols.push((field.name().clone(), values)),
            }
        }
    }
    cols
}

fn columns_of(data: &[Data]) -> Vec<(String, Vec<i128>)> {
    let mut cols: Vec<(String, Vec<i128>)> = Vec::new();
    let mut push = |name: &str, v: i128| match cols.iter_mut().find(|(n, _)| n == name) {
        Some((_, c)) => c.push(v),
        None => cols.push((name.to_string(), vec![v])),
    };
    for d in data {
        match d {
            Data::Bar(b) => {
                for (n, p) in [
                    ("open", b.open),
                    ("high", b.high),
                    ("low", b.low),
                    ("close", b.close),
                ] {
                    push(n, i128::from(p.raw));
                }
                push("volume", i128::from(b.volume.raw));
                push("ts_event", i128::from(b.ts_event.as_u64()));
                push("ts_init", i128::from(b.ts_init.as_u64()));
            }
            Data::Quote(q) => {
                push("bid_price", i128::from(q.bid_price.raw));
                push("ask_price", i128::from(q.ask_price.raw));
                push("bid_size", i128::from(q.bid_size.raw));
                push("ask_size", i128::from(q.ask_size.raw));
                push("ts_event", i128::from(q.ts_event.as_u64()));
                push("ts_init", i128::from(q.ts_init.as_u64()));
            }
            Data::Trade(t) => {
                push("price", i128::from(t.price.raw));
                push("size", i128::from(t.size.raw));
                push("ts_event", i128::from(t.ts_event.as_u64()));
                push("ts_init", i128::from(t.ts_init.as_u64()));
            }
            _ => panic!("unexpected data"),
        }
    }
    cols
}

#[test]
fn reads_every_nautilus_64bit_file_exactly() {
    let dir =
        cap_std::fs::Dir::open_ambient_dir(NAUTILUS_64BIT, cap_std::ambient_authority()).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(NAUTILUS_64BIT)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".parquet"))
        .collect();
    names.sort();
    assert_eq!(names, ["bars.parquet", "quotes.parquet", "trades.parquet"]);
    for (name, rows, instrument) in [
        ("bars.parquet", 10, "ADABTC.BINANCE"),
        ("quotes.parquet", 9_500, "EUR/USD.SIM"),
        ("trades.parquet", 100, "EUR/USD.SIM"),
    ] {
        let (_, id, data) = nautilus_parquet::read(&dir, name).unwrap();
        assert_eq!((data.len(), id.as_str()), (rows, instrument), "{name}");
        let mut ours = columns_of(&data);
        let mut theirs = independent_columns(&Path::new(NAUTILUS_64BIT).join(name));
        ours.sort();
        theirs.sort();
        assert_eq!(
            ours, theirs,
            "{name}: every value equals the file's raw value"
        );
    }
    // Pinned values: the first rows as the files hold them (raw, scale 10^9).
    let (_, _, bars) = nautilus_parquet::read(&dir, "bars.parquet").unwrap();
    let Data::Bar(b) = &bars[0] else { panic!() };
    assert_eq!(
        (
            b.open.raw,
            b.high.raw,
            b.low.raw,
            b.close.raw,
            b.volume.raw,
            b.ts_init.as_u64()
        ),
        (
            2_853_000,
            2_854_000,
            2_851_000,
            2_854_000,
            3_630_420_000_000_000,
            1_637_971_200_000_000_000
        )
    );
    assert_eq!(
        b.bar_type.to_string(),
        "ADABTC.BINANCE-1-MINUTE-LAST-EXTERNAL"
    );
    let (_, _, quotes) = nautilus_parquet::read(&dir, "quotes.parquet").unwrap();
    let Data::Quote(q) = &quotes[0] else { panic!() };
    assert_eq!(
        (
            q.bid_price.raw,
            q.ask_price.raw,
            q.bid_size.raw,
            q.ts_init.as_u64()
        ),
        (
            112_120_000_000,
            112_172_000_000,
            10_000_000_000_000_000,
            1_577_898_000_000_000_065
        )
    );
    let (_, _, trades) = nautilus_parquet::read(&dir, "trades.parquet").unwrap();
    let Data::Trade(t) = &trades[99] else {
        panic!()
    };
    assert_eq!(
        (
            t.price.raw,
            t.size.raw,
            t.aggressor_side,
            t.trade_id.to_string()
        ),
        (
            123_400_000_000,
            500_000_000_000,
            AggressorSide::Buyer,
            "123456".into()
        )
    );
}

fn instrument(id: &str, pp: u8, sp: u8) -> Instrument {
    Instrument {
        id: InstrumentId::from(id),
        price_precision: pp,
        size_precision: sp,
    }
}

fn request(source: &str, format: Format, kind: Kind, inst: Instrument) -> Request {
    Request {
        source: source.to_string(),
        ask: None,
        format,
        kind,
        instrument: inst,
        bar_type: None,
        bar_stamp: BarStamp::Close,
        table: None,
        columns: Vec::new(),
    }
}

fn config(req: &Request, read: &import::Read, policy: Policy) -> quality::QualityConfig {
    let interval = read
        .parsed
        .bar_type
        .as_ref()
        .and_then(quality::bar_interval_ns);
    let mut c = quality::default_config(req.kind, req.instrument.id.venue.as_str(), interval);
    c.policy = policy;
    c
}

fn import_into(
    cat: &Catalog,
    req: &Request,
    policy: Policy,
    merge: bool,
) -> Result<write::Outcome, CatalogError> {
    let read = import::read(req).map_err(|e| CatalogError::Refused(e.to_string()))?;
    let c = config(req, &read, policy);
    let opts = write::WriteOptions {
        merge,
        ..write::WriteOptions::default()
    };
    write::import(cat, read, req, &c, &opts)
}

fn nautilus_reads(cat: &Catalog, kind: Kind, id: &str) -> Series {
    let ds = read::pick(cat, kind, id, None).unwrap();
    read::query(cat, &ds, None, None).unwrap()
}

#[test]
fn imports_every_bundled_source_and_nautilus_reads_it_back() {
    let tmp = tempfile::tempdir().unwrap();
    let cat = Catalog::open(&tmp.path().join("cat"), true).unwrap();
    let p = |rel: &str| format!("{DATA}/{rel}");
    // FXCM bid+ask → quotes.
    let mut fx = request(
        &p(GBPUSD_FILE),
        Format::Auto,
        Kind::Quotes,
        instrument("GBP/USD.FXCM", 5, 0),
    );
    fx.ask = Some(PathBuf::from(p("fxcm/gbpusd-m1-ask-2012.csv")));
    // The real FXCM minutes have 347 minutes whose bid close is above the ask close.
    let refused = import_into(&cat, &fx, Policy::Reject, false).unwrap_err();
    let CatalogError::Quality { report, .. } = refused else {
        panic!("{refused}")
    };
    assert_eq!(report.problems_by_code.get("crossed-quote"), Some(&347));
    assert_eq!(report.problems[0].at, "line 526");
    let out = import_into(&cat, &fx, Policy::KeepAndFlag, false).unwrap();
    let write::Outcome::Written { rows, report, .. } = out else {
        panic!("{out:?}")
    };
    assert_eq!((rows, report.rows_flagged), (30_117, 347));
    // Weekends are expected closures; the FXCM file also has unexpected missing minutes.
    assert_eq!(
        report.gaps.expected_count,
        4,
        "{:?}",
        report
            .gaps
            .expected
            .iter()
            .map(|g| &g.from)
            .collect::<Vec<_>>()
    );
    let Series::Quotes(q) = nautilus_reads(&cat, Kind::Quotes, "GBP/USD.FXCM") else {
        panic!()
    };
    assert_eq!(q.len(), 30_117);
    assert_eq!(
        (q[0].bid_price.raw, q[0].ask_price.raw),
        (1_575_760_000, 1_575_850_000)
    );
    // FXCM one side → bars.
    let fxb = request(
        &p(GBPUSD_FILE),
        Format::Fxcm,
        Kind::Bars,
        instrument("GBP/USD.FXCM", 5, 0),
    );
    import_into(&cat, &fxb, Policy::Reject, false).unwrap();
    // OHLCV bars.
    let btc = request(
        &p("btc-perp/btc-perp-20211231-20220201_1m.csv"),
        Format::Auto,
        Kind::Bars,
        instrument("BTCUSDT-PERP.BINANCE", 3, 3),
    );
    import_into(&cat, &btc, Policy::KeepAndFlag, false).unwrap();
    let Series::Bars(b) = nautilus_reads(&cat, Kind::Bars, "BTCUSDT-PERP.BINANCE") else {
        panic!()
    };
    assert_eq!(b.len(), 45_031);
    // Binance klines, stamped at the open as Nautilus's own test catalog is.
    let mut ada = request(
        &p("binance/ADABTC-1m-2021-11-27.csv"),
        Format::Auto,
        Kind::Bars,
        instrument("ADABTC.BINANCE", 8, 1),
    );
    ada.bar_stamp = BarStamp::Open;
    import_into(&cat, &ada, Policy::Reject, false).unwrap();
    let Series::Bars(a) = nautilus_reads(&cat, Kind::Bars, "ADABTC.BINANCE") else {
        panic!()
    };
    let dir =
        cap_std::fs::Dir::open_ambient_dir(NAUTILUS_64BIT, cap_std::ambient_authority()).unwrap();
    let (_, _, reference) = nautilus_parquet::read(&dir, "bars.parquet").unwrap();
    assert_eq!(a.len(), reference.len());
    for (ours, theirs) in a.iter().zip(&reference) {
        let Data::Bar(theirs) = theirs else { panic!() };
        assert_eq!(
            (ours.ts_event, ours.bar_type),
            (theirs.ts_event, theirs.bar_type)
        );
        // The reference file stores 100x the CSV's prices (its raw values are at 10^11).
        assert_eq!(ours.open.raw * 100, theirs.open.raw);
        assert_eq!(ours.close.raw * 100, theirs.close.raw);
    }
    // EUR/USD quote CSV.
    let eur = request(
        &p("eurusd/quote_tick_data.csv"),
        Format::Auto,
        Kind::Quotes,
        instrument("EUR/USD.SIM", 5, 0),
    );
    let out = import_into(&cat, &eur, Policy::DropAndReport, false).unwrap();
    let write::Outcome::Written { rows, .. } = out else {
        panic!()
    };
    assert_eq!(rows, 9_500);
    // pandas Parquet quotes and trades.
    let bq = request(
        &p("binance/btcusdt-quotes.parquet"),
        Format::Auto,
        Kind::Quotes,
        instrument("BTCUSDT.BINANCE", 2, 6),
    );
    import_into(&cat, &bq, Policy::KeepAndFlag, false).unwrap();
    let Series::Quotes(q) = nautilus_reads(&cat, Kind::Quotes, "BTCUSDT.BINANCE") else {
        panic!()
    };
    assert_eq!(q.len(), 451);
    assert_eq!(
        (q[0].bid_price.raw, q[0].bid_size.raw, q[0].ts_init.as_u64()),
        (39_432_990_000_000, 3_100_000, 1_610_064_001_076_000_000)
    );
    let bt = request(
        &p("binance/btcusdt-trades.parquet"),
        Format::Auto,
        Kind::Trades,
        instrument("BTCUSDT.BINANCE", 2, 6),
    );
    import_into(&cat, &bt, Policy::KeepAndFlag, false).unwrap();
    let Series::Trades(t) = nautilus_reads(&cat, Kind::Trades, "BTCUSDT.BINANCE") else {
        panic!()
    };
    assert_eq!(t.len(), 2_001);
    assert_eq!(
        (
            t[0].price.raw,
            t[0].size.raw,
            t[0].aggressor_side,
            t[0].trade_id.to_string()
        ),
        (
            39_432_480_000_000,
            263_000,
            AggressorSide::Seller,
            "553287559".into()
        )
    );
    // Nautilus's reference files import as they are.
    for (name, kind, id, pp, sp) in [
        ("quotes.parquet", Kind::Quotes, "EUR/USD.SIM", 5, 0),
        ("trades.parquet", Kind::Trades, "EUR/USD.SIM", 4, 4),
    ] {
        let other = Catalog::open(&tmp.path().join(name), true).unwrap();
        import_into(
            &other,
            &request(
                &format!("{NAUTILUS_64BIT}/{name}"),
                Format::Auto,
                kind,
                instrument(id, pp, sp),
            ),
            Policy::KeepAndFlag,
            false,
        )
        .unwrap();
        let back = nautilus_reads(&other, kind, id).into_data();
        let (_, _, direct) = nautilus_parquet::read(&dir, name).unwrap();
        assert_eq!(back, direct, "{name}");
    }
    let report = verify::verify(&cat).unwrap();
    assert!(report.ok(), "{:?}", report.problems);
    assert_eq!(report.files, 7);
    assert!(report.notes.is_empty(), "{:?}", report.notes);
}

fn csv_catalog(text: &str) -> (tempfile::TempDir, Catalog, Request) {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("q.csv"), text).unwrap();
    let cat = Catalog::open(&tmp.path().join("cat"), true).unwrap();
    let req = request(
        &tmp.path().join("q.csv").to_string_lossy(),
        Format::QuoteCsv,
        Kind::Quotes,
        instrument("EUR/USD.SIM", 5, 0),
    );
    (tmp, cat, req)
}

const DIRTY: &str = "20200101 170000065,1.12120,1.12172,0
20200101 170001000,1.12130,1.12120,0
20200101 170002000,1.12130,1.12140,0
20200101 170002000,1.12130,1.12140,0
20200101 170001500,1.12130,1.12140,0
20200101 170003000,1.52130,1.52140,0
20200101 170004000,1.12131,1.12141,0
";

#[test]
fn quality_policies_reject_drop_or_flag_with_lines() {
    let (_t, cat, req) = csv_catalog(DIRTY);
    let err = import_into(&cat, &req, Policy::Reject, false).unwrap_err();
    let CatalogError::Quality { summary, report } = err else {
        panic!("{err}")
    };
    assert_eq!(report.problem_count(), 4, "{summary}");
    for want in [
        "line 2: crossed-quote",
        "line 4: duplicate",
        "line 5: out-of-order",
        "line 6: outlier-jump",
    ] {
        assert!(summary.contains(want), "{want} in {summary}");
    }
    assert!(
        cat.datasets().unwrap().is_empty(),
        "a refused import writes nothing"
    );
    let out = import_into(&cat, &req, Policy::DropAndReport, false).unwrap();
    let write::Outcome::Written {
        rows, report, file, ..
    } = out
    else {
        panic!()
    };
    assert_eq!((rows, report.rows_dropped), (3, 4));
    let written = nautilus_reads(&cat, Kind::Quotes, "EUR/USD.SIM");
    let Series::Quotes(q) = written else { panic!() };
    assert_eq!(
        q.iter().map(|q| q.bid_price.raw).collect::<Vec<_>>(),
        [1_121_200_000, 1_121_300_000, 1_121_310_000]
    );
    let lineage = stratbox::catalog::store::lineage::read(&cat, &file)
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            lineage.rows_read,
            lineage.rows_written,
            lineage.rows_rejected
        ),
        (7, 3, 4)
    );
    // Keep-and-flag keeps all 7, moved into time order.
    let (_t2, cat2, req2) = csv_catalog(DIRTY);
    let out = import_into(&cat2, &req2, Policy::KeepAndFlag, false).unwrap();
    let write::Outcome::Written { rows, report, .. } = out else {
        panic!()
    };
    assert_eq!((rows, report.rows_flagged, report.sorted), (7, 4, true));
    assert!(verify::verify(&cat2).unwrap().ok());
}

#[test]
fn appends_refuses_overlaps_merges_and_skips_repeats() {
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(format!("{DATA}/eurusd/quote_tick_data.csv")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let write_part = |name: &str, part: &[&str]| {
        let path = tmp.path().join(name);
        std::fs::write(&path, part.join("\n") + "\n").unwrap();
        path.to_string_lossy().into_owned()
    };
    let first = write_part("a.csv", &lines[..5000]);
    let second = write_part("b.csv", &lines[5000..]);
    let middle = write_part("c.csv", &lines[4000..6000]);
    let cat = Catalog::open(&tmp.path().join("cat"), true).unwrap();
    let eur = instrument("EUR/USD.SIM", 5, 0);
    let req = |s: &str| request(s, Format::QuoteCsv, Kind::Quotes, eur);
    import_into(&cat, &req(&first), Policy::Reject, false).unwrap();
    let before = std::fs::read(cat.root().join(&cat.datasets().unwrap()[0].files[0].path)).unwrap();
    import_into(&cat, &req(&second), Policy::Reject, false).unwrap();
    let ds = &cat.datasets().unwrap()[0];
    assert_eq!(ds.files.len(), 2, "a new range appends a file");
    assert_eq!(
        std::fs::read(cat.root().join(&ds.files[0].path)).unwrap(),
        before,
        "without rewriting the first"
    );
    // The same source again: a no-op recognised by content.
    let again = import_into(&cat, &req(&first), Policy::Reject, false).unwrap();
    assert!(
        matches!(again, write::Outcome::AlreadyImported { .. }),
        "{again:?}"
    );
    // An overlap is refused, naming the files; --merge merges and deduplicates.
    let err = import_into(&cat, &req(&middle), Policy::Reject, false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("overlaps files in the catalog") && err.contains("--merge"),
        "{err}"
    );
    let out = import_into(&cat, &req(&middle), Policy::Reject, true).unwrap();
    let write::Outcome::Written { rows, replaced, .. } = out else {
        panic!()
    };
    assert_eq!((rows, replaced.len()), (9_500, 2));
    let Series::Quotes(all) = nautilus_reads(&cat, Kind::Quotes, "EUR/USD.SIM") else {
        panic!()
    };
    assert_eq!(all.len(), 9_500);
    assert!(verify::verify(&cat).unwrap().ok());
    // Both earlier imports are now part of the merged file: repeats are still no-ops.
    assert!(matches!(
        import_into(&cat, &req(&second), Policy::Reject, false).unwrap(),
        write::Outcome::AlreadyImported { .. }
    ));
}

#[test]
fn malformed_sources_are_refused_with_line_or_row_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let cat = Catalog::open(&tmp.path().join("cat"), true).unwrap();
    let cases: Vec<(&str, &str, Format, Kind, Instrument, &str)> = vec![
        (
            "f.csv",
            "timestamp,open,high,low,close\n2012-02-01 00:00:00+00:00,1.5,1.6,1.4,1.5\n2012-02-01 00:01:00+00:00,1.5,abc,1.4,1.5\n",
            Format::Fxcm,
            Kind::Bars,
            instrument("GBP/USD.FXCM", 5, 0),
            "f.csv:line 3: high `abc` is not a decimal number",
        ),
        (
            "o.csv",
            "timestamp,open,high,low,close,volume\n2021-12-31 23:01:00.000000,1,2,1,1,5\n2021-13-31 23:02:00.000000,1,2,1,1,5\n",
            Format::Ohlcv,
            Kind::Bars,
            instrument("BTCUSDT-PERP.BINANCE", 3, 3),
            "o.csv:line 3: timestamp `2021-13-31 23:02:00.000000`",
        ),
        (
            "k.csv",
            "1637971200000,0.00002853,0.00002854,0.00002851,0.00002854,36304.2,1637971259999,1,79,1,1,0\n1637971260000,0.00002854\n",
            Format::BinanceKlines,
            Kind::Bars,
            instrument("ADABTC.BINANCE", 8, 1),
            "k.csv:line 2: 2 fields",
        ),
        (
            "q.csv",
            "20200101 170000065,1.121200,1.121720,0\n20200101 170010447,1.1212001,1.121920,0\n",
            Format::QuoteCsv,
            Kind::Quotes,
            instrument("EUR/USD.SIM", 5, 0),
            "q.csv:line 2: bid `1.1212001` has more decimals than the instrument's price precision 5",
        ),
        (
            "v.csv",
            "timestamp,open,high,low,close,volume\n2021-12-31 23:01:00.000000,1,2,1,1,-5\n",
            Format::Ohlcv,
            Kind::Bars,
            instrument("BTCUSDT-PERP.BINANCE", 3, 3),
            "v.csv:line 2: volume `-5` is negative",
        ),
    ];
    for (name, text, format, kind, inst, want) in cases {
        let path = tmp.path().join(name);
        std::fs::write(&path, text).unwrap();
        let err = import::read(&request(&path.to_string_lossy(), format, kind, inst))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&path.to_string_lossy().into_owned()),
            "{err}"
        );
        assert!(err.contains(want), "{want} in {err}");
    }
    // pandas: a NaN price is refused with its row.
    let pq_path = tmp.path().join("p.parquet");
    {
        use arrow_array::{Float64Array, RecordBatch, TimestampMillisecondArray};
        use std::sync::Arc;
        let batch = RecordBatch::try_from_iter(vec![
            (
                "timestamp",
                Arc::new(TimestampMillisecondArray::from(vec![1_000, 2_000]).with_timezone("UTC"))
                    as Arc<dyn Array>,
            ),
            (
                "bid",
                Arc::new(Float64Array::from(vec![1.0, f64::NAN])) as _,
            ),
            ("ask", Arc::new(Float64Array::from(vec![1.1, 1.2])) as _),
            (
                "bid_size",
                Arc::new(Float64Array::from(vec![1.0, 1.0])) as _,
            ),
            (
                "ask_size",
                Arc::new(Float64Array::from(vec![1.0, 1.0])) as _,
            ),
        ])
        .unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(
            std::fs::File::create(&pq_path).unwrap(),
            batch.schema(),
            None,
        )
        .unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }
    let err = import::read(&request(
        &pq_path.to_string_lossy(),
        Format::Auto,
        Kind::Quotes,
        instrument("BTCUSDT.BINANCE", 2, 6),
    ))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("p.parquet:row 2: column `bid`: NaN is not a finite number"),
        "{err}"
    );
    assert!(cat.datasets().unwrap().is_empty());
}

fn arb_series(kind: Kind) -> impl Strategy<Value = Series> {
    let id = InstrumentId::from("EUR/USD.SIM");
    let bar_type = BarType::from("EUR/USD.SIM-1-MINUTE-LAST-EXTERNAL");
    let rows = prop::collection::vec(
        (
            1_i64..10_000_000,
            0_i64..1000,
            0_i64..1000,
            0_u64..10_000_000,
            any::<bool>(),
        ),
        1..300,
    );
    (rows, 1_600_000_000_u64..1_700_000_000, 1_u64..120).prop_map(move |(rows, start_s, step_s)| {
        let ts = |i: usize| {
            UnixNanos::from((start_s + i as u64 * step_s) * 1_000_000_000 + (i as u64 % 7))
        };
        let px = |raw: i64| Price::from_raw(raw * 10_000, 5);
        let qty = |raw: u64| Quantity::from_raw(raw * 1_000_000_000, 0);
        match kind {
            Kind::Bars => Series::Bars(
                rows.iter()
                    .enumerate()
                    .map(|(i, &(o, up, down, v, _))| Bar {
                        bar_type,
                        open: px(o),
                        high: px(o + up),
                        low: px((o - down).max(1)),
                        close: px(o + up / 2),
                        volume: qty(v),
                        ts_event: ts(i),
                        ts_init: ts(i),
                    })
                    .collect(),
            ),
            Kind::Quotes => Series::Quotes(
                rows.iter()
                    .enumerate()
                    .map(|(i, &(b, spread, _, s, _))| QuoteTick {
                        instrument_id: id,
                        bid_price: px(b),
                        ask_price: px(b + spread),
                        bid_size: qty(s + 1),
                        ask_size: qty(s / 2 + 1),
                        ts_event: ts(i),
                        ts_init: ts(i),
                    })
                    .collect(),
            ),
            Kind::Trades => Series::Trades(
                rows.iter()
                    .enumerate()
                    .map(|(i, &(p, _, _, s, buyer))| TradeTick {
                        instrument_id: id,
                        price: px(p),
                        size: qty(s + 1),
                        aggressor_side: if buyer {
                            AggressorSide::Buyer
                        } else {
                            AggressorSide::Seller
                        },
                        trade_id: TradeId::new(format!("T{i}-{p}")),
                        ts_event: ts(i),
                        ts_init: ts(i),
                    })
                    .collect(),
            ),
        }
    })
}

fn arb_any() -> impl Strategy<Value = Series> {
    prop_oneof![
        arb_series(Kind::Bars),
        arb_series(Kind::Quotes),
        arb_series(Kind::Trades)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Random valid bars, quotes and trades written by stratbox are read back equal, by
    /// stratbox's reader and by Nautilus's own `ParquetDataCatalog`.
    #[test]
    fn written_values_read_back_equal(series in arb_any(), zstd in any::<bool>()) {
        let tmp = tempfile::tempdir().unwrap();
        let cat = Catalog::open(tmp.path(), true).unwrap();
        let kind = series.kind();
        let bar_type = match &series { Series::Bars(b) => Some(b[0].bar_type), _ => None };
        let parsed = Parsed { origin: (1..=series.len() as u64).collect(), series: series.clone(), unit: Unit::Row, bar_type };
        let req = request("generated", Format::Nautilus, kind, instrument("EUR/USD.SIM", 5, 0));
        let read_in = import::Read { parsed, format: Format::Nautilus, sources: vec![import::SourceInfo { path: "generated".into(), sha256: "0".repeat(64), bytes: 0 }] };
        let mut c = quality::default_config(kind, "SIM", Some(60_000_000_000));
        c.policy = Policy::KeepAndFlag;
        c.max_jump = f64::MAX;
        let opts = write::WriteOptions { compression: if zstd { write::Compression::Zstd(3) } else { write::Compression::Snappy }, ..write::WriteOptions::default() };
        let out = write::import(&cat, read_in, &req, &c, &opts).unwrap();
        let written = matches!(out, write::Outcome::Written { .. });
        prop_assert!(written, "not written: {:?}", out);
        // Through Nautilus's catalog API, directly.
        let mut nautilus = ParquetDataCatalog::from_uri(&tmp.path().to_string_lossy(), None, None, None, None).unwrap();
        let back = match kind {
            Kind::Bars => Series::Bars(nautilus.bars(None, None, None).unwrap()),
            Kind::Quotes => Series::Quotes(nautilus.quote_ticks(None, None, None).unwrap()),
            Kind::Trades => Series::Trades(nautilus.trade_ticks(None, None, None).unwrap()),
        };
        prop_assert_eq!(&back, &series);
        prop_assert!(verify::verify(&cat).unwrap().ok());
    }
}
