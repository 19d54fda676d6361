//! Market data in: readers for the bundled formats and instrument definitions, and the
//! data catalog (importers, quality checks, the Nautilus Parquet store with lineage).
//!
//! Files are reached through `cap-std` directory handles; a reader takes the directory and
//! a file name, so nothing a user names can reach outside the directory they pointed at.

mod csv_rows;
mod exact;
pub mod fxcm;
pub mod import;
pub mod instrument_defs;
pub mod instruments;
pub mod nautilus_parquet;
pub mod ohlcv;
pub mod quality;
pub mod quote_csv;
pub mod series;
pub mod store;

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
    #[error("`{file}` and `{other}` do not line up at line {line}: {message}")]
    Mismatch {
        file: String,
        other: String,
        line: u64,
        message: String,
    },
}
