//! Importers: a source (CSV, pandas or Nautilus Parquet, a Postgres table) → one checked
//! series of Nautilus values with the line or row each came from, plus the sources' bytes,
//! sha256 and a description for lineage. A malformed source is refused with its name, the
//! line or row, and the reason; nothing is written.
//!
//! Text files go through the same readers as backtests (`catalog::{fxcm, ohlcv, klines,
//! quote_csv}`) with [`Checks::Syntax`]: order, duplicates and price sanity are the
//! quality checks' job, so a policy can decide.

pub mod columnar;
pub mod postgres;

use std::path::{Path, PathBuf};

use nautilus_model::{data::BarType, enums::PriceType, identifiers::InstrumentId};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{
    Checks, DataError, Source, fields, fxcm, klines, ohlcv, quote_csv,
    series::{Kind, Parsed},
};
pub use super::{Instrument, klines::BarStamp};
use crate::storage;

/// Largest source file read (bytes).
pub const MAX_SOURCE_BYTES: u64 = 8 << 30;

crate::named_enum! {
    /// What a source holds.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Format: "source format" {
        Auto = "auto": "From the file name and first line.",
        Fxcm = "fxcm": "FXCM bid/ask minute CSVs: `--kind quotes` needs both (`--ask`), bars one side.",
        Ohlcv = "ohlcv": "`timestamp,open,high,low,close,volume` bars.",
        BinanceKlines = "binance-klines": "Binance kline CSV (12 columns, times in ms).",
        QuoteCsv = "quote-csv": "Headerless `YYYYMMDD HHMMSSmmm,bid,ask[,x]` quotes.",
        Pandas = "pandas": "pandas Parquet (float or text columns and a timestamp column).",
        Nautilus = "nautilus": "Nautilus 64-bit catalog Parquet.",
        Postgres = "postgres": "A PostgreSQL table (`--source postgres://... --table ...`).",
    }
}

/// What to import and how.
#[derive(Debug, Clone)]
pub struct Request {
    /// A file path, or a `postgres://` URL.
    pub source: String,
    /// The FXCM ask file of a quote import.
    pub ask: Option<PathBuf>,
    pub format: Format,
    pub kind: Kind,
    pub instrument: Instrument,
    /// Bar type of a bar import (default: `<instrument>-1-MINUTE-LAST-EXTERNAL`, FXCM `BID`).
    pub bar_type: Option<BarType>,
    pub bar_stamp: BarStamp,
    /// Postgres table and column names (`ts=time,open=o,...`).
    pub table: Option<String>,
    pub columns: Vec<(String, String)>,
}

/// One source of an import, for lineage.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct SourceInfo {
    /// The path as given, or the database URL without its password, plus the table.
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
}

/// What an importer read.
#[derive(Debug)]
pub struct Read {
    pub parsed: Parsed,
    pub format: Format,
    pub sources: Vec<SourceInfo>,
}

/// A source could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{source_name}:{at}: {message}")]
    At {
        source_name: String,
        at: String,
        message: String,
    },
    #[error("{0}")]
    Other(String),
}

/// A reader's error: a row error keeps its source and line (`name:line 7: ...`).
impl From<DataError> for ImportError {
    fn from(e: DataError) -> Self {
        match e {
            DataError::Row {
                file,
                line,
                message,
            } => Self::At {
                source_name: file,
                at: format!("line {line}"),
                message,
            },
            other => Self::Other(other.to_string()),
        }
    }
}

impl ImportError {
    pub(crate) fn at(source_name: &str, at: String, message: String) -> Self {
        Self::At {
            source_name: source_name.to_string(),
            at,
            message,
        }
    }
}

/// A file's bytes and sha256, hashed on a second thread while `parse` runs on them.
fn with_file<T>(
    path: &Path,
    parse: impl FnOnce(&[u8], &str) -> Result<T, ImportError>,
) -> Result<(T, SourceInfo), ImportError> {
    let bytes = storage::read_operator_file(path, MAX_SOURCE_BYTES)
        .map_err(|e| ImportError::Other(e.to_string()))?;
    let name = path.display().to_string();
    let (hash, parsed) = std::thread::scope(|s| {
        let hasher = s.spawn(|| hex::encode(Sha256::digest(&bytes)));
        let parsed = parse(&bytes, &name);
        (hasher.join(), parsed)
    });
    let sha256 = hash.map_err(|_| ImportError::Other("hashing thread failed".into()))?;
    Ok((
        parsed?,
        SourceInfo {
            path: name,
            sha256,
            bytes: bytes.len() as u64,
        },
    ))
}

/// The format of `source` from its name and first bytes.
///
/// # Errors
/// When it cannot tell.
pub fn detect(source: &str) -> Result<Format, ImportError> {
    if source.starts_with("postgres://") || source.starts_with("postgresql://") {
        return Ok(Format::Postgres);
    }
    let path = Path::new(source);
    let lower = source.to_ascii_lowercase();
    let head = {
        use std::io::Read as _;
        let (parent, name) = split(path)?;
        let dir = storage::open_dir(&parent).map_err(|e| ImportError::Other(e.to_string()))?;
        let mut head = Vec::with_capacity(4096);
        dir.open(&name)
            .and_then(|f| f.take(4096).read_to_end(&mut head))
            .map_err(|e| ImportError::Other(format!("cannot read `{source}`: {e}")))?;
        head
    };
    if lower.ends_with(".parquet") || head.starts_with(b"PAR1") {
        let file = bytes::Bytes::from(
            storage::read_operator_file(path, MAX_SOURCE_BYTES)
                .map_err(|e| ImportError::Other(e.to_string()))?,
        );
        let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| {
                ImportError::Other(format!("{source}: not a readable Parquet file: {e}"))
            })?;
        let nautilus = builder
            .schema()
            .fields()
            .iter()
            .any(|f| matches!(f.data_type(), arrow_schema::DataType::FixedSizeBinary(_)));
        return Ok(if nautilus {
            Format::Nautilus
        } else {
            Format::Pandas
        });
    }
    let first = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let first = String::from_utf8_lossy(first);
    let first = first.trim_end();
    Ok(match first {
        "timestamp,open,high,low,close" => Format::Fxcm,
        "timestamp,open,high,low,close,volume" => Format::Ohlcv,
        f if f.split(',').count() >= 7 && f.split(',').all(|x| x.parse::<f64>().is_ok()) => {
            Format::BinanceKlines
        }
        f if f.len() > 18
            && f.as_bytes()[8] == b' '
            && fields::compact_ts(&f.as_bytes()[..18]).is_ok() =>
        {
            Format::QuoteCsv
        }
        _ => {
            return Err(ImportError::Other(format!(
                "{source}: cannot tell the format from its first line `{first}`; give --format"
            )));
        }
    })
}

fn default_bar_type(id: InstrumentId, price_type: PriceType) -> Result<BarType, ImportError> {
    let text = format!("{id}-1-MINUTE-{price_type}-EXTERNAL");
    text.parse()
        .map_err(|e| ImportError::Other(format!("bar type `{text}`: {e}; give --bar-type")))
}

fn need(kind: Kind, allowed: &[Kind], format: Format) -> Result<(), ImportError> {
    if allowed.contains(&kind) {
        return Ok(());
    }
    Err(ImportError::Other(format!(
        "format {format:?} gives {}, not {kind} (--kind)",
        allowed
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" or ")
    )))
}

/// Reads `request`'s source(s).
///
/// # Errors
/// A source that cannot be read or is malformed, named with line or row.
pub fn read(request: &Request) -> Result<Read, ImportError> {
    let format = if request.format == Format::Auto {
        detect(&request.source)?
    } else {
        request.format
    };
    let inst = &request.instrument;
    let kind = request.kind;
    let bar_type = |price_type| {
        let bt = match request.bar_type {
            Some(bt) => bt,
            None => default_bar_type(inst.id, price_type)?,
        };
        if bt.instrument_id() == inst.id {
            Ok(bt)
        } else {
            Err(ImportError::Other(format!(
                "bar type {bt} is not for {}",
                inst.id
            )))
        }
    };
    let path = Path::new(&request.source);
    let (parsed, sources) = match format {
        Format::Fxcm if kind == Kind::Quotes => {
            let ask = request.ask.clone().ok_or_else(|| {
                ImportError::Other(
                    "FXCM quotes need both files: the bid file as <source> and --ask <file>".into(),
                )
            })?;
            let ask_bytes = storage::read_operator_file(&ask, MAX_SOURCE_BYTES)
                .map_err(|e| ImportError::Other(e.to_string()))?;
            let ask_name = ask.display().to_string();
            let ask_info = SourceInfo {
                path: ask_name.clone(),
                sha256: hex::encode(Sha256::digest(&ask_bytes)),
                bytes: ask_bytes.len() as u64,
            };
            let ask_source = Source::bytes(&ask_name, &ask_bytes);
            let (p, info) = with_file(path, |b, n| {
                let bar_type = fxcm::bid_bar_type(inst.id);
                let minutes = fxcm::minutes(
                    &Source::bytes(n, b),
                    &ask_source,
                    inst,
                    bar_type,
                    Checks::Syntax,
                )?;
                Ok(minutes.into_quotes())
            })?;
            (p, vec![info, ask_info])
        }
        Format::Fxcm => {
            need(kind, &[Kind::Bars, Kind::Quotes], format)?;
            // An `-ask-` file holds ask bars (import both sides to backtest on bars).
            let is_ask = path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().contains("-ask-"));
            let bt = bar_type(if is_ask {
                PriceType::Ask
            } else {
                PriceType::Bid
            })?;
            let (p, info) = with_file(path, |b, n| {
                Ok(fxcm::bars(&Source::bytes(n, b), inst, bt, Checks::Syntax)?)
            })?;
            (p, vec![info])
        }
        Format::Ohlcv => {
            need(kind, &[Kind::Bars], format)?;
            let bt = bar_type(PriceType::Last)?;
            let (p, info) = with_file(path, |b, n| {
                Ok(ohlcv::bars(&Source::bytes(n, b), inst, bt, Checks::Syntax)?)
            })?;
            (p, vec![info])
        }
        Format::BinanceKlines => {
            need(kind, &[Kind::Bars], format)?;
            let bt = bar_type(PriceType::Last)?;
            if super::quality::bar_interval_ns(&bt).is_none() {
                return Err(ImportError::Other(format!(
                    "bar type {bt} is not time-aggregated; klines need one"
                )));
            }
            let (p, info) = with_file(path, |b, n| {
                let source = Source::bytes(n, b);
                Ok(klines::bars(
                    &source,
                    inst,
                    bt,
                    request.bar_stamp,
                    Checks::Syntax,
                )?)
            })?;
            (p, vec![info])
        }
        Format::QuoteCsv => {
            need(kind, &[Kind::Quotes], format)?;
            let (p, info) = with_file(path, |b, n| {
                Ok(quote_csv::quotes(
                    &Source::bytes(n, b),
                    inst,
                    Checks::Syntax,
                )?)
            })?;
            (p, vec![info])
        }
        Format::Pandas => {
            need(kind, &[Kind::Quotes, Kind::Trades], format)?;
            let (p, info) = with_file(path, |b, n| {
                columnar::pandas(bytes::Bytes::copy_from_slice(b), n, kind, inst)
            })?;
            (p, vec![info])
        }
        Format::Nautilus => {
            let (parent, name) = split(path)?;
            let dir = storage::open_dir(&parent).map_err(|e| ImportError::Other(e.to_string()))?;
            let (p, info) = with_file(path, |_, _| columnar::nautilus(&dir, &name, kind, inst))?;
            (p, vec![info])
        }
        Format::Postgres => {
            let table = request.table.as_deref().ok_or_else(|| {
                ImportError::Other("a postgres:// source needs --table <name>".into())
            })?;
            let bt = (kind == Kind::Bars)
                .then(|| bar_type(PriceType::Last))
                .transpose()?;
            postgres::read(&request.source, table, &request.columns, kind, inst, bt)?
        }
        Format::Auto => {
            return Err(ImportError::Other(
                "the source's format was not resolved".into(),
            ));
        }
    };
    Ok(Read {
        parsed,
        format,
        sources,
    })
}

fn split(path: &Path) -> Result<(PathBuf, String), ImportError> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| ImportError::Other(format!("`{}` does not name a file", path.display())))?;
    Ok((
        path.parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
        name.to_string(),
    ))
}
