//! Market data for a backtest: which reader, which instrument, as Nautilus data.
//!
//! `--format auto` recognises the bundled layouts: a folder or bid file of FXCM minute bars
//! (with the matching `-ask-` file), an OHLCV CSV (header `timestamp,...,volume`), the
//! headerless EUR/USD quote CSV, and Nautilus 64-bit Parquet. Bar-only sources can be
//! turned into quotes (`ohlcv-quotes`: one quote per bar at its close, bid = ask) for
//! strategies that trade on quotes.

use std::{
    io::{BufRead, BufReader, Read as _},
    path::{Path, PathBuf},
};

use nautilus_core::UnixNanos;
use nautilus_model::{
    data::{BarType, Data, QuoteTick},
    instruments::{Instrument, InstrumentAny},
    types::{Price, Quantity},
};

use crate::{
    bindings::types,
    catalog::{
        MarketEvent, fxcm,
        instrument_defs::Instruments,
        nautilus_parquet::{self, ParquetKind},
        ohlcv, quote_csv,
    },
    storage,
};

crate::named_enum! {
    /// How to read `--data`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum DataFormat: "data format" {
        Auto = "auto": "Recognise the layout from the path and the first line.",
        FxcmQuotes = "fxcm-quotes":
            "FXCM bid/ask minute bars → one quote per minute (bid close / ask close).",
        FxcmQuotesOhlc = "fxcm-quotes-ohlc":
            "FXCM bid/ask minute bars → four quotes per minute (open, high, low, close of both \
             sides, 15 s apart), as Nautilus's `QuoteTickDataWrangler` makes them.",
        FxcmBars = "fxcm-bars": "FXCM bid minute bars → `<id>-1-MINUTE-BID-EXTERNAL` bars.",
        OhlcvBars = "ohlcv-bars": "`timestamp,open,high,low,close,volume` → bars.",
        OhlcvQuotes = "ohlcv-quotes":
            "`timestamp,open,high,low,close,volume` → one quote per bar at its close (bid = ask).",
        QuoteCsv = "quote-csv": "Headerless `YYYYMMDD HHMMSSmmm,bid,ask[,x]` quotes.",
        Parquet = "parquet": "Nautilus catalog Parquet (64-bit fixed point): quotes, trades or bars.",
    }
}

/// Loaded data and the instrument it is for.
#[derive(Debug)]
pub struct Loaded {
    pub format: DataFormat,
    pub instrument: InstrumentAny,
    pub data: Vec<Data>,
    /// What the data holds, for warnings (`quotes`, `bars`, `trades`).
    pub kinds: Vec<&'static str>,
}

/// Loading failed: what, where, what to do.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LoadDataError(pub String);

fn fail<T>(message: impl Into<String>) -> Result<T, LoadDataError> {
    Err(LoadDataError(message.into()))
}

/// Size of each side of quotes made from bars, in instrument units.
pub const BAR_QUOTE_SIZE: u64 = 1_000_000;

/// Instruments the bundled files are for, by file-name fragment.
const KNOWN_FILES: &[(&str, &str)] = &[
    ("gbpusd", "GBP/USD.FXCM"),
    ("btc-perp", "BTCUSDT-PERP.BINANCE"),
    ("quote_tick_data", "EUR/USD.SIM"),
    ("ADABTC", "ADABTC.BINANCE"),
];

fn split(path: &Path) -> Result<(PathBuf, String), LoadDataError> {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return fail(format!("--data `{}` does not name a file", path.display()));
    };
    let parent = path
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    Ok((parent, name.to_string()))
}

/// For FXCM: the bid file, found directly or as the only `*-bid-*.csv` in a folder.
fn fxcm_files(path: &Path) -> Result<(PathBuf, String, String), LoadDataError> {
    let (dir_path, bid) = if path.is_dir() {
        let dir = storage::open_dir(path).map_err(|e| LoadDataError(e.to_string()))?;
        let mut bids: Vec<String> = dir
            .entries()
            .map_err(|e| LoadDataError(format!("cannot list `{}`: {e}", path.display())))?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.contains("-bid-") && n.ends_with(".csv"))
            .collect();
        bids.sort();
        match bids.as_slice() {
            [one] => (path.to_path_buf(), one.clone()),
            [] => {
                return fail(format!(
                    "`{}` has no FXCM `*-bid-*.csv` file",
                    path.display()
                ));
            }
            _ => {
                return fail(format!(
                    "`{}` has several FXCM bid files ({}); name one with --data",
                    path.display(),
                    bids.join(", ")
                ));
            }
        }
    } else {
        split(path)?
    };
    if !bid.contains("-bid-") {
        return fail(format!(
            "FXCM data is a pair of files; `{bid}` is not the `-bid-` one (its `-ask-` twin is found next to it)"
        ));
    }
    let ask = bid.replacen("-bid-", "-ask-", 1);
    Ok((dir_path, bid, ask))
}

fn first_line(path: &Path) -> Result<String, LoadDataError> {
    let (parent, name) = split(path)?;
    let dir = storage::open_dir(&parent).map_err(|e| LoadDataError(e.to_string()))?;
    let file = dir
        .open(&name)
        .map_err(|e| LoadDataError(format!("cannot open `{}`: {e}", path.display())))?;
    let mut line = String::new();
    BufReader::new(file)
        .take(4096)
        .read_line(&mut line)
        .map_err(|e| LoadDataError(format!("cannot read `{}`: {e}", path.display())))?;
    Ok(line)
}

/// Recognises the layout of `path`.
pub fn detect(path: &Path) -> Result<DataFormat, LoadDataError> {
    if !path.exists() {
        return fail(format!("--data `{}` does not exist", path.display()));
    }
    if path.is_dir() {
        return Ok(DataFormat::FxcmQuotes);
    }
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if name.ends_with(".parquet") {
        return Ok(DataFormat::Parquet);
    }
    if name.contains("-bid-") || name.contains("-ask-") {
        return Ok(DataFormat::FxcmQuotes);
    }
    let line = first_line(path)?;
    let line = line.trim_end();
    if line == "timestamp,open,high,low,close,volume" {
        return Ok(DataFormat::OhlcvBars);
    }
    let b = line.as_bytes();
    if b.len() > 18 && b[..8].iter().all(u8::is_ascii_digit) && b[8] == b' ' {
        return Ok(DataFormat::QuoteCsv);
    }
    fail(format!(
        "cannot tell the format of `{}` (first line `{}`); pass --format (see --help)",
        path.display(),
        line.chars().take(80).collect::<String>()
    ))
}

/// The instrument for `path`: `--instrument`, or the one a bundled file is known to be for.
fn instrument_for(
    path: &Path,
    requested: Option<&str>,
    defs: &Instruments,
) -> Result<InstrumentAny, LoadDataError> {
    let id = match requested {
        Some(id) => id.to_string(),
        None => {
            let text = path.to_string_lossy();
            let Some((_, id)) = KNOWN_FILES.iter().find(|(frag, _)| text.contains(frag)) else {
                return fail(format!(
                    "cannot tell which instrument `{}` is for; pass --instrument (defined: {})",
                    path.display(),
                    defs.ids().collect::<Vec<_>>().join(", ")
                ));
            };
            (*id).to_string()
        }
    };
    defs.nautilus(&id).cloned().ok_or_else(|| {
        LoadDataError(format!(
            "unknown instrument `{id}`; defined: {} (add it to an instruments file and pass --instruments)",
            defs.ids().collect::<Vec<_>>().join(", ")
        ))
    })
}

fn rescale(p: types::Price, precision: u8) -> Result<Price, String> {
    let unit = 10_i64.pow(u32::from(9 - precision.min(9)));
    if p.raw % unit != 0 {
        return Err(format!(
            "price {} has more decimals than the instrument's precision {precision}",
            p.raw
        ));
    }
    Ok(Price::from_raw(p.raw, precision))
}

fn read_fxcm(
    path: &Path,
    instrument: &InstrumentAny,
    bars: bool,
) -> Result<Vec<Data>, LoadDataError> {
    let (dir_path, bid, ask) = fxcm_files(path)?;
    let dir = storage::open_dir(&dir_path).map_err(|e| LoadDataError(e.to_string()))?;
    let id = instrument.id();
    let events = fxcm::read_pair(&dir, &bid, &ask, &id.to_string())
        .map_err(|e| LoadDataError(format!("{}: {e}", dir_path.display())))?;
    let (pp, sp) = (instrument.price_precision(), instrument.size_precision());
    let bar_type = BarType::new(
        id,
        nautilus_model::data::BarSpecification::new(
            1,
            nautilus_model::enums::BarAggregation::Minute,
            nautilus_model::enums::PriceType::Bid,
        ),
        nautilus_model::enums::AggregationSource::External,
    );
    let mut out = Vec::with_capacity(events.len() / 2);
    for (i, e) in events.iter().enumerate() {
        let line = i / 2 + 2;
        let at = |m: String| LoadDataError(format!("{}/{bid}:{line}: {m}", dir_path.display()));
        match e {
            MarketEvent::Quote { quote, .. } if !bars => {
                out.push(fxcm_quote(id, quote, pp, sp).map_err(at)?);
            }
            MarketEvent::Bar { bar, .. } if bars => {
                let ts = UnixNanos::from(bar.ts_event);
                out.push(Data::Bar(nautilus_model::data::Bar::new(
                    bar_type,
                    rescale(bar.open, pp).map_err(at)?,
                    rescale(bar.high, pp).map_err(at)?,
                    rescale(bar.low, pp).map_err(at)?,
                    rescale(bar.close, pp).map_err(at)?,
                    Quantity::from_raw(0, sp),
                    ts,
                    ts,
                )));
            }
            _ => {}
        }
    }
    Ok(out)
}

fn read_fxcm_ohlc(path: &Path, instrument: &InstrumentAny) -> Result<Vec<Data>, LoadDataError> {
    let (dir_path, bid, ask) = fxcm_files(path)?;
    let dir = storage::open_dir(&dir_path).map_err(|e| LoadDataError(e.to_string()))?;
    let quotes = fxcm::read_pair_ohlc_quotes(&dir, &bid, &ask)
        .map_err(|e| LoadDataError(format!("{}: {e}", dir_path.display())))?;
    let id = instrument.id();
    let (pp, sp) = (instrument.price_precision(), instrument.size_precision());
    quotes
        .iter()
        .enumerate()
        .map(|(i, q)| {
            fxcm_quote(id, q, pp, sp).map_err(|m| {
                LoadDataError(format!("{}/{bid}:{}: {m}", dir_path.display(), i / 4 + 2))
            })
        })
        .collect()
}

/// A quote made from FXCM rows, at the instrument's precisions, 1,000,000 each side.
fn fxcm_quote(
    id: nautilus_model::identifiers::InstrumentId,
    q: &types::QuoteTick,
    pp: u8,
    sp: u8,
) -> Result<Data, String> {
    let ts = UnixNanos::from(q.ts_event);
    let size = Quantity::from_raw(fxcm::QUOTE_SIZE.raw, sp);
    Ok(Data::Quote(QuoteTick::new(
        id,
        rescale(q.bid, pp)?,
        rescale(q.ask, pp)?,
        size,
        size,
        ts,
        ts,
    )))
}

/// Loads `path` as `format` for `instrument` (or the instrument a bundled file is for).
pub fn load(
    path: &Path,
    format: DataFormat,
    instrument: Option<&str>,
    bar_type: Option<&str>,
    defs: &Instruments,
) -> Result<Loaded, LoadDataError> {
    let format = if format == DataFormat::Auto {
        detect(path)?
    } else {
        format
    };
    if !path.exists() {
        return fail(format!("--data `{}` does not exist", path.display()));
    }
    if format == DataFormat::Parquet {
        let (parent, name) = split(path)?;
        let dir = storage::open_dir(&parent).map_err(|e| LoadDataError(e.to_string()))?;
        let (kind, file_instrument, data) = nautilus_parquet::read(&dir, &name)
            .map_err(|e| LoadDataError(format!("{}: {e}", parent.display())))?;
        if let Some(requested) = instrument
            && requested != file_instrument
        {
            return fail(format!(
                "`{}` holds {file_instrument}, not {requested}",
                path.display()
            ));
        }
        let instrument = instrument_for(path, Some(&file_instrument), defs)?;
        let kinds = vec![match kind {
            ParquetKind::Quotes => "quotes",
            ParquetKind::Trades => "trades",
            ParquetKind::Bars => "bars",
        }];
        return Ok(Loaded {
            format,
            instrument,
            data,
            kinds,
        });
    }
    let instrument = instrument_for(path, instrument, defs)?;
    let id = instrument.id();
    let (pp, sp) = (instrument.price_precision(), instrument.size_precision());
    let (data, kinds) = match format {
        DataFormat::FxcmQuotes => (read_fxcm(path, &instrument, false)?, vec!["quotes"]),
        DataFormat::FxcmQuotesOhlc => (read_fxcm_ohlc(path, &instrument)?, vec!["quotes"]),
        DataFormat::FxcmBars => (read_fxcm(path, &instrument, true)?, vec!["bars"]),
        DataFormat::OhlcvBars | DataFormat::OhlcvQuotes => {
            let bt = match bar_type {
                Some(s) => s.parse::<BarType>().map_err(|e| {
                    LoadDataError(format!(
                        "--bar-type `{s}`: {e} (expected e.g. `{id}-1-MINUTE-LAST-EXTERNAL`)"
                    ))
                })?,
                None => format!("{id}-1-MINUTE-LAST-EXTERNAL")
                    .parse::<BarType>()
                    .map_err(|e| LoadDataError(format!("bar type for {id}: {e}")))?,
            };
            if bt.instrument_id() != id {
                return fail(format!("--bar-type `{bt}` is not for {id}"));
            }
            let (parent, name) = split(path)?;
            let dir = storage::open_dir(&parent).map_err(|e| LoadDataError(e.to_string()))?;
            let bars = ohlcv::read(&dir, &name, bt, pp, sp)
                .map_err(|e| LoadDataError(format!("{}: {e}", parent.display())))?;
            if format == DataFormat::OhlcvBars {
                (bars.into_iter().map(Data::Bar).collect(), vec!["bars"])
            } else {
                let size = Quantity::from_raw(BAR_QUOTE_SIZE * 1_000_000_000, sp);
                let quotes = bars
                    .into_iter()
                    .map(|b| {
                        Data::Quote(QuoteTick::new(
                            id, b.close, b.close, size, size, b.ts_event, b.ts_init,
                        ))
                    })
                    .collect();
                (quotes, vec!["quotes"])
            }
        }
        DataFormat::QuoteCsv => {
            let (parent, name) = split(path)?;
            let dir = storage::open_dir(&parent).map_err(|e| LoadDataError(e.to_string()))?;
            let quotes = quote_csv::read(&dir, &name, id, pp, sp)
                .map_err(|e| LoadDataError(format!("{}: {e}", parent.display())))?;
            (
                quotes.into_iter().map(Data::Quote).collect(),
                vec!["quotes"],
            )
        }
        DataFormat::Auto | DataFormat::Parquet => {
            return fail("internal error: the data format was not resolved");
        }
    };
    if data.is_empty() {
        return fail(format!("`{}` holds no data", path.display()));
    }
    Ok(Loaded {
        format,
        instrument,
        data,
        kinds,
    })
}

/// Loads `instrument`'s data from the catalog at `root` (`--catalog`): the dataset of
/// `kind` (default: quotes if the catalog has them, else bars, else trades), with
/// `ts_init` in `[from, to]`, read through Nautilus's own catalog.
pub fn load_catalog(
    root: &Path,
    instrument: &str,
    kind: Option<crate::catalog::series::Kind>,
    bar_type: Option<&str>,
    from: Option<u64>,
    to: Option<u64>,
    defs: &Instruments,
) -> Result<Loaded, LoadDataError> {
    use crate::catalog::{
        series::Kind,
        store::{Catalog, read, write},
    };
    let err = |e: crate::catalog::store::CatalogError| LoadDataError(format!("--catalog: {e}"));
    let catalog = Catalog::open(root, false).map_err(err)?;
    if catalog.has_pending_merge() {
        write::recover(&catalog).map_err(err)?;
    }
    let instrument = instrument_for(root, Some(instrument), defs)?;
    let id = instrument.id().to_string();
    let kind = match kind {
        Some(k) => k,
        None => [Kind::Quotes, Kind::Bars, Kind::Trades]
            .into_iter()
            .find(|k| {
                catalog
                    .datasets_of(*k, &id)
                    .is_ok_and(|d| d.iter().any(|d| !d.files.is_empty()))
            })
            .ok_or_else(|| {
                LoadDataError(format!(
                    "--catalog {}: no data for {id}; import some with `stratbox catalog import`",
                    root.display()
                ))
            })?,
    };
    let ds = read::pick(&catalog, kind, &id, bar_type).map_err(err)?;
    let series = read::query(&catalog, &ds, from, to).map_err(err)?;
    if series.is_empty() {
        return fail(format!(
            "--catalog {}: no {kind} of {id} between --from and --to",
            root.display()
        ));
    }
    Ok(Loaded {
        format: DataFormat::Parquet,
        instrument,
        data: series.into_data(),
        kinds: vec![kind.dir()],
    })
}
