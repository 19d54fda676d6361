//! Market data in: readers for the bundled formats and instrument definitions, and the
//! data catalog (importers, quality checks, the Nautilus Parquet store with lineage).
//!
//! Files are reached through `cap-std` directory handles; a reader takes the directory and
//! a file name ([`Source`]), so nothing a user names can reach outside the directory they
//! pointed at. There is one reader per format, used by backtests, sweeps, replay, the
//! service and the importer alike: [`Checks`] says whether it also checks what a backtest
//! needs (time order, price sanity) or leaves that to the quality checks (import).

mod csv_rows;
pub mod fields;
pub mod fxcm;
pub mod import;
pub mod instrument_defs;
pub mod instruments;
pub mod klines;
pub mod nautilus_parquet;
pub mod ohlcv;
pub mod quality;
pub mod quote_csv;
pub mod series;
pub mod store;

pub use csv_rows::{Checks, Source};
pub use instruments::InstrumentTable;

use crate::bindings::types::{Bar, BarType, InstrumentId, QuoteTick, TradeTick};

/// One market event in time order. `stream` fields inside are placeholders: the driver
/// sets each plugin's own stream id on delivery.
#[derive(Debug, Clone, PartialEq)]
pub enum MarketEvent {
    Bar {
        bar_type: BarType,
        bar: Bar,
    },
    Quote {
        instrument_id: InstrumentId,
        quote: QuoteTick,
    },
    Trade {
        instrument_id: InstrumentId,
        trade: TradeTick,
    },
}

impl MarketEvent {
    /// Event time (ns).
    #[must_use]
    pub fn ts_event(&self) -> u64 {
        match self {
            Self::Bar { bar, .. } => bar.ts_event,
            Self::Quote { quote, .. } => quote.ts_event,
            Self::Trade { trade, .. } => trade.ts_event,
        }
    }
}

/// A data file could not be read: which file, which line, what, and what to do.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("cannot open `{file}`: {source}")]
    Open {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}:{line}: {message}")]
    Row {
        file: String,
        line: u64,
        message: String,
    },
    #[error("unknown instrument `{id}`; defined: {defined}")]
    UnknownInstrument { id: String, defined: String },
    #[error("`{file}` and `{other}` do not line up at line {line}: {message}")]
    Mismatch {
        file: String,
        other: String,
        line: u64,
        message: String,
    },
}

/// Size of each side of a quote made from data without sizes (FXCM minute bars, the
/// EUR/USD quote file, bars turned into quotes), in units of the instrument.
pub const QUOTE_SIZE: u64 = 1_000_000;

/// [`QUOTE_SIZE`] at `size_precision`.
#[must_use]
pub fn quote_size(size_precision: u8) -> nautilus_model::types::Quantity {
    nautilus_model::types::Quantity::from_raw(QUOTE_SIZE * 1_000_000_000, size_precision)
}

/// The instrument a file is read for, with the precisions its values are read at.
#[derive(Debug, Clone, Copy)]
pub struct Instrument {
    pub id: nautilus_model::identifiers::InstrumentId,
    pub price_precision: u8,
    pub size_precision: u8,
}

impl Instrument {
    /// The id and precisions of a Nautilus instrument.
    #[must_use]
    pub fn of(instrument: &nautilus_model::instruments::InstrumentAny) -> Self {
        use nautilus_model::instruments::Instrument as _;
        Self {
            id: instrument.id(),
            price_precision: instrument.price_precision(),
            size_precision: instrument.size_precision(),
        }
    }
}

/// A quote without `QuoteTick::new`'s panics (the checks or the quality checks judge the
/// prices).
pub(crate) fn quote(
    instrument: &Instrument,
    bid: nautilus_model::types::Price,
    ask: nautilus_model::types::Price,
    bid_size: nautilus_model::types::Quantity,
    ask_size: nautilus_model::types::Quantity,
    ts: u64,
) -> nautilus_model::data::QuoteTick {
    let ts = nautilus_core::UnixNanos::from(ts);
    nautilus_model::data::QuoteTick {
        instrument_id: instrument.id,
        bid_price: bid,
        ask_price: ask,
        bid_size,
        ask_size,
        ts_event: ts,
        ts_init: ts,
    }
}

/// A bar without `Bar::new`'s panics on inconsistent OHLC (the checks or the quality
/// checks report them). `ohlc` is open, high, low, close.
pub(crate) fn bar(
    bar_type: nautilus_model::data::BarType,
    ohlc: [nautilus_model::types::Price; 4],
    volume: nautilus_model::types::Quantity,
    ts: u64,
) -> nautilus_model::data::Bar {
    let ts = nautilus_core::UnixNanos::from(ts);
    let [open, high, low, close] = ohlc;
    nautilus_model::data::Bar {
        bar_type,
        open,
        high,
        low,
        close,
        volume,
        ts_event: ts,
        ts_init: ts,
    }
}
