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

use cap_std::fs::Dir;
use nautilus_model::{
    data::{BarType, Data},
    instruments::{Instrument as _, InstrumentAny},
};

use crate::{
    catalog::{
        self, Checks, DataError, Instrument, Source, fxcm,
        instrument_defs::Instruments,
        nautilus_parquet::{self, ParquetKind},
        ohlcv, quote_csv,
        series::{Kind, Series},
        store::{Catalog, CatalogError, read, write},
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
        FxcmBars = "fxcm-bars":
            "FXCM bid and ask minute bars → `<id>-1-MINUTE-BID-EXTERNAL` and `...-ASK-EXTERNAL` \
             bars (Nautilus's venue fills from the pair; a bid file alone loads, but no order \
             can fill on it).",
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
    /// What the user should know about the data before the run (printed as warnings).
    pub warnings: Vec<String>,
}

/// Loading failed: what, where, what to do.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LoadDataError(pub String);

fn fail<T>(message: impl Into<String>) -> Result<T, LoadDataError> {
    Err(LoadDataError(message.into()))
}

/// Instruments the bundled files are for, by file-name fragment.
const KNOWN_FILES: &[(&str, &str)] = &[
    ("gbpusd", "GBP/USD.FXCM"),
    ("btc-perp", "BTCUSDT-PERP.BINANCE"),
    ("quote_tick_data", "EUR/USD.SIM"),
    ("ADABTC", "ADABTC.BINANCE"),
];

/// What to load: `name` (a file, or a folder of FXCM files; `/`-separated parts allowed)
/// in `dir`, shown as `shown` in messages, whose reader errors are prefixed with `folder`.
struct Target<'a> {
    dir: &'a Dir,
    name: &'a str,
    shown: &'a str,
    folder: Option<&'a str>,
}

impl Target<'_> {
    /// A reader's error with the folder it was read in.
    fn data_err(&self, e: &DataError) -> LoadDataError {
        match self.folder {
            Some(folder) => LoadDataError(format!("{folder}: {e}")),
            None => LoadDataError(e.to_string()),
        }
    }

    fn is_dir(&self) -> bool {
        self.dir.metadata(self.name).is_ok_and(|m| m.is_dir())
    }

    /// The file part of the name.
    fn file_name(&self) -> &str {
        self.name.rsplit('/').next().unwrap_or(self.name)
    }

    fn source(&self) -> Source<'_> {
        Source::file(self.dir, self.name)
    }
}

/// `parent/file` (just `file` when `parent` is empty).
fn join(parent: &str, file: &str) -> String {
    if parent.is_empty() {
        file.to_string()
    } else {
        format!("{parent}/{file}")
    }
}

/// For FXCM: the bid file, named directly or the only `*-bid-*.csv` in a folder, and its
/// `-ask-` twin next to it (both relative to the target's directory).
fn fxcm_files(t: &Target<'_>) -> Result<(String, String), LoadDataError> {
    let (parent, bid) = if t.is_dir() {
        let sub = t
            .dir
            .open_dir(t.name)
            .map_err(|e| LoadDataError(format!("cannot open `{}`: {e}", t.shown)))?;
        let mut bids: Vec<String> = sub
            .entries()
            .map_err(|e| LoadDataError(format!("cannot list `{}`: {e}", t.shown)))?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.contains("-bid-") && n.ends_with(".csv"))
            .collect();
        bids.sort();
        match bids.as_slice() {
            [one] => (t.name.to_string(), one.clone()),
            [] => return fail(format!("`{}` has no FXCM `*-bid-*.csv` file", t.shown)),
            _ => {
                return fail(format!(
                    "`{}` has several FXCM bid files ({}); name one with --data",
                    t.shown,
                    bids.join(", ")
                ));
            }
        }
    } else {
        let parent = t.name.rsplit_once('/').map_or("", |(p, _)| p);
        (parent.to_string(), t.file_name().to_string())
    };
    if !bid.contains("-bid-") {
        return fail(format!(
            "FXCM data is a pair of files; `{bid}` is not the `-bid-` one (its `-ask-` twin is found next to it)"
        ));
    }
    let ask = bid.replacen("-bid-", "-ask-", 1);
    Ok((join(&parent, &bid), join(&parent, &ask)))
}

fn first_line(t: &Target<'_>) -> Result<String, LoadDataError> {
    let file = t
        .dir
        .open(t.name)
        .map_err(|e| LoadDataError(format!("cannot open `{}`: {e}", t.shown)))?;
    let mut line = String::new();
    BufReader::new(file)
        .take(4096)
        .read_line(&mut line)
        .map_err(|e| LoadDataError(format!("cannot read `{}`: {e}", t.shown)))?;
    Ok(line)
}

/// Recognises the layout of `name` in `dir`.
///
/// # Errors
/// A missing file, or a layout it does not know.
pub fn detect_in(dir: &Dir, name: &str) -> Result<DataFormat, LoadDataError> {
    detect_target(&Target {
        dir,
        name,
        shown: name,
        folder: None,
    })
}

/// Recognises the layout of `path` (opens its folder: for the command line).
///
/// # Errors
/// A missing file, or a layout it does not know.
pub fn detect(path: &Path) -> Result<DataFormat, LoadDataError> {
    let (parent, name) = split(path)?;
    let dir = storage::open_dir(&parent).map_err(|e| LoadDataError(e.to_string()))?;
    detect_target(&Target {
        dir: &dir,
        name: &name,
        shown: &path.display().to_string(),
        folder: None,
    })
}

fn detect_target(t: &Target<'_>) -> Result<DataFormat, LoadDataError> {
    let meta = match t.dir.metadata(t.name) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return fail(format!("--data `{}` does not exist", t.shown));
        }
        Err(e) => return fail(format!("--data `{}`: {e}", t.shown)),
    };
    if meta.is_dir() {
        return Ok(DataFormat::FxcmQuotes);
    }
    let name = t.file_name();
    if name.ends_with(".parquet") {
        return Ok(DataFormat::Parquet);
    }
    if name.contains("-bid-") || name.contains("-ask-") {
        return Ok(DataFormat::FxcmQuotes);
    }
    let line = first_line(t)?;
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
        t.shown,
        line.chars().take(80).collect::<String>()
    ))
}

/// The instrument for the data shown as `shown`: `--instrument`, or the one a bundled file
/// is known to be for.
fn instrument_for(
    shown: &str,
    requested: Option<&str>,
    defs: &Instruments,
) -> Result<InstrumentAny, LoadDataError> {
    let id = match requested {
        Some(id) => id.to_string(),
        None => {
            let Some((_, id)) = KNOWN_FILES.iter().find(|(frag, _)| shown.contains(frag)) else {
                return fail(format!(
                    "cannot tell which instrument `{shown}` is for; pass --instrument (defined: {})",
                    defs.ids().collect::<Vec<_>>().join(", ")
                ));
            };
            (*id).to_string()
        }
    };
    defs.nautilus(&id).cloned().ok_or_else(|| {
        LoadDataError(format!(
            "unknown instrument `{id}`; defined: {} (add it to an instruments file and pass --instruments; a currency pair `XXX/YYY.VENUE` of ISO codes named with --instrument gets a standard definition)",
            defs.ids().collect::<Vec<_>>().join(", ")
        ))
    })
}

/// `path` as its folder and its last part (`.` for a folder without a name, e.g. `.`).
fn split(path: &Path) -> Result<(PathBuf, String), LoadDataError> {
    let Some(name) = path.file_name() else {
        if path.is_dir() {
            return Ok((path.to_path_buf(), ".".to_string()));
        }
        return fail(format!("--data `{}` does not name a file", path.display()));
    };
    let Some(name) = name.to_str() else {
        return fail(format!("--data `{}` is not valid UTF-8", path.display()));
    };
    let parent = path
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    Ok((parent, name.to_string()))
}

/// Loads `path` as `format` for `instrument` (or the instrument a bundled file is for).
/// The command line's entry: it opens the folder of `path`; see [`load_in`].
///
/// # Errors
/// Missing or malformed data, an unknown instrument: what, where, what to do.
pub fn load(
    path: &Path,
    format: DataFormat,
    instrument: Option<&str>,
    bar_type: Option<&str>,
    defs: &Instruments,
) -> Result<Loaded, LoadDataError> {
    if !path.exists() {
        return fail(format!("--data `{}` does not exist", path.display()));
    }
    let (parent, name) = split(path)?;
    let dir = storage::open_dir(&parent).map_err(|e| LoadDataError(e.to_string()))?;
    let folder = parent.display().to_string();
    let target = Target {
        dir: &dir,
        name: &name,
        shown: &path.display().to_string(),
        folder: Some(&folder),
    };
    load_target(&target, format, instrument, bar_type, defs)
}

/// Loads `name` in `dir` (a file, or a folder of FXCM files; `/`-separated parts stay
/// inside `dir`) as `format` for `instrument` (or the instrument a bundled file is for).
///
/// # Errors
/// Missing or malformed data, an unknown instrument: what, where, what to do.
pub fn load_in(
    dir: &Dir,
    name: &str,
    format: DataFormat,
    instrument: Option<&str>,
    bar_type: Option<&str>,
    defs: &Instruments,
) -> Result<Loaded, LoadDataError> {
    let target = Target {
        dir,
        name,
        shown: name,
        folder: None,
    };
    load_target(&target, format, instrument, bar_type, defs)
}

fn load_target(
    t: &Target<'_>,
    format: DataFormat,
    instrument: Option<&str>,
    bar_type: Option<&str>,
    defs: &Instruments,
) -> Result<Loaded, LoadDataError> {
    let format = if format == DataFormat::Auto {
        detect_target(t)?
    } else {
        format
    };
    if t.dir.metadata(t.name).is_err() {
        return fail(format!("--data `{}` does not exist", t.shown));
    }
    if format == DataFormat::Parquet {
        let (kind, file_instrument, data) =
            nautilus_parquet::read(t.dir, t.name).map_err(|e| t.data_err(&e))?;
        if let Some(requested) = instrument
            && requested != file_instrument
        {
            return fail(format!(
                "`{}` holds {file_instrument}, not {requested}",
                t.shown
            ));
        }
        let instrument = instrument_for(t.shown, Some(&file_instrument), defs)?;
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
            warnings: Vec::new(),
        });
    }
    let instrument = instrument_for(t.shown, instrument, defs)?;
    let inst = Instrument::of(&instrument);
    let id = inst.id;
    let strict = Checks::Strict;
    if format == DataFormat::FxcmBars {
        return fxcm_bars(t, instrument, &inst);
    }
    let (series, kinds) = match format {
        DataFormat::FxcmQuotes => {
            let (bid, ask) = fxcm_files(t)?;
            let minutes = fxcm::minutes(
                &Source::file(t.dir, &bid),
                &Source::file(t.dir, &ask),
                &inst,
                fxcm::bid_bar_type(id),
                strict,
            )
            .map_err(|e| t.data_err(&e))?;
            (minutes.into_quotes().series, vec!["quotes"])
        }
        DataFormat::FxcmQuotesOhlc => {
            let (bid, ask) = fxcm_files(t)?;
            let parsed = fxcm::ohlc_quotes(
                &Source::file(t.dir, &bid),
                &Source::file(t.dir, &ask),
                &inst,
                strict,
            )
            .map_err(|e| t.data_err(&e))?;
            (parsed.series, vec!["quotes"])
        }
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
            let parsed = ohlcv::bars(&t.source(), &inst, bt, strict).map_err(|e| t.data_err(&e))?;
            match parsed.series {
                Series::Bars(bars) if format == DataFormat::OhlcvQuotes => {
                    let size = catalog::quote_size(inst.size_precision);
                    let quotes = bars
                        .iter()
                        .map(|b| {
                            catalog::quote(&inst, b.close, b.close, size, size, b.ts_init.as_u64())
                        })
                        .collect();
                    (Series::Quotes(quotes), vec!["quotes"])
                }
                series => (series, vec!["bars"]),
            }
        }
        DataFormat::QuoteCsv => {
            let parsed =
                quote_csv::quotes(&t.source(), &inst, strict).map_err(|e| t.data_err(&e))?;
            (parsed.series, vec!["quotes"])
        }
        DataFormat::Auto | DataFormat::Parquet | DataFormat::FxcmBars => {
            return fail("internal error: the data format was not resolved");
        }
    };
    if series.is_empty() {
        return fail(format!("`{}` holds no data", t.shown));
    }
    Ok(Loaded {
        format,
        instrument,
        data: series.into_data(),
        kinds,
        warnings: Vec::new(),
    })
}

/// FXCM bars: the bid and the ask bars of each minute when the `-ask-` file is beside the
/// bid file; the bid bars alone (with a warning: nothing can fill) when it is not.
fn fxcm_bars(
    t: &Target<'_>,
    instrument: InstrumentAny,
    inst: &Instrument,
) -> Result<Loaded, LoadDataError> {
    let (bid, ask) = fxcm_files(t)?;
    let bid_source = Source::file(t.dir, &bid);
    let mut warnings = Vec::new();
    let data = if t.dir.metadata(&ask).is_ok_and(|m| m.is_file()) {
        fxcm::minutes(
            &bid_source,
            &Source::file(t.dir, &ask),
            inst,
            fxcm::bid_bar_type(inst.id),
            Checks::Strict,
        )
        .map_err(|e| t.data_err(&e))?
        .into_bid_ask_bars()
    } else {
        warnings.push(format!(
            "`{ask}` is not beside `{bid}`: the run gets bid bars only, from which Nautilus's \
             simulated venue cannot make a market, so every order will be rejected; put the \
             ask file beside the bid file (or trade quotes: --format fxcm-quotes)"
        ));
        fxcm::bars(
            &bid_source,
            inst,
            fxcm::bid_bar_type(inst.id),
            Checks::Strict,
        )
        .map_err(|e| t.data_err(&e))?
        .series
        .into_data()
    };
    if data.is_empty() {
        return fail(format!("`{}` holds no data", t.shown));
    }
    Ok(Loaded {
        format: DataFormat::FxcmBars,
        instrument,
        data,
        kinds: vec!["bars"],
        warnings,
    })
}

/// Loads `instrument`'s data from the catalog at `root` (`--catalog`): the dataset of
/// `kind` (default: quotes if the catalog has them, else bars, else trades), with
/// `ts_init` in `[from, to]`, read through Nautilus's own catalog.
///
/// # Errors
/// A missing catalog, no matching data, an unknown instrument.
pub fn load_catalog(
    root: &Path,
    instrument: &str,
    kind: Option<Kind>,
    bar_type: Option<&str>,
    from: Option<u64>,
    to: Option<u64>,
    defs: &Instruments,
) -> Result<Loaded, LoadDataError> {
    let catalog = Catalog::open(root, false).map_err(catalog_err)?;
    let shown = root.display().to_string();
    query_catalog(
        &catalog,
        &shown,
        instrument,
        kind,
        bar_type,
        (from, to),
        defs,
    )
}

/// As [`load_catalog`] for a catalog already open (shown as `shown` in messages), over its
/// whole time range.
///
/// # Errors
/// No matching data, an unknown instrument.
pub fn load_catalog_of(
    catalog: &Catalog,
    shown: &str,
    instrument: &str,
    kind: Option<Kind>,
    bar_type: Option<&str>,
    defs: &Instruments,
) -> Result<Loaded, LoadDataError> {
    load_catalog_between(
        catalog,
        shown,
        instrument,
        kind,
        bar_type,
        (None, None),
        defs,
    )
}

/// As [`load_catalog_of`], between two times (UNIX ns, inclusive; `None`: open).
///
/// # Errors
/// No matching data, an unknown instrument.
pub fn load_catalog_between(
    catalog: &Catalog,
    shown: &str,
    instrument: &str,
    kind: Option<Kind>,
    bar_type: Option<&str>,
    range: (Option<u64>, Option<u64>),
    defs: &Instruments,
) -> Result<Loaded, LoadDataError> {
    query_catalog(catalog, shown, instrument, kind, bar_type, range, defs)
}

fn catalog_err(e: CatalogError) -> LoadDataError {
    LoadDataError(format!("--catalog: {e}"))
}

fn query_catalog(
    catalog: &Catalog,
    shown: &str,
    instrument: &str,
    kind: Option<Kind>,
    bar_type: Option<&str>,
    (from, to): (Option<u64>, Option<u64>),
    defs: &Instruments,
) -> Result<Loaded, LoadDataError> {
    if catalog.has_pending_merge() {
        write::recover(catalog).map_err(catalog_err)?;
    }
    let instrument = instrument_for(shown, Some(instrument), defs)?;
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
                    "--catalog {shown}: no data for {id}; import some with `stratbox catalog import`"
                ))
            })?,
    };
    let ds = read::pick(catalog, kind, &id, bar_type).map_err(catalog_err)?;
    let series = read::query(catalog, &ds, from, to).map_err(catalog_err)?;
    if series.is_empty() {
        return fail(format!(
            "--catalog {shown}: no {kind} of {id} between --from and --to"
        ));
    }
    let mut data = series.into_data();
    let mut warnings = Vec::new();
    // Bid bars need their ask bars (and the other way round) for Nautilus's venue to fill.
    if let Some(twin) = other_side(&ds.identifier) {
        let found = catalog.datasets_of(kind, &id).map_err(catalog_err)?;
        match found
            .iter()
            .find(|d| d.identifier == twin && !d.files.is_empty())
        {
            Some(other) => {
                let more = read::query(catalog, other, from, to).map_err(catalog_err)?;
                data.extend(more.into_data());
                // Stable: at equal times the picked side stays first.
                data.sort_by_key(nautilus_model::data::HasTsInit::ts_init);
            }
            None => warnings.push(format!(
                "--catalog {shown} has no `{twin}` bars beside `{}`: Nautilus's simulated venue \
                 makes a market only from bid and ask bars together, so every order will be \
                 rejected; import the other side too",
                ds.identifier
            )),
        }
    }
    Ok(Loaded {
        format: DataFormat::Parquet,
        instrument,
        data,
        kinds: vec![kind.dir()],
        warnings,
    })
}

/// The folder of the other side's bars of a `...-BID-...` or `...-ASK-...` bar dataset.
fn other_side(identifier: &str) -> Option<String> {
    if identifier.contains("-BID-") {
        Some(identifier.replacen("-BID-", "-ASK-", 1))
    } else if identifier.contains("-ASK-") {
        Some(identifier.replacen("-ASK-", "-BID-", 1))
    } else {
        None
    }
}
