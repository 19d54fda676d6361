//! Headerless quote CSV as in the bundled EUR/USD file: `20200101 170000065,bid,ask,0`
//! (date, time `HHMMSSmmm`, bid, ask, an unused column). Timestamps are taken as UTC.
//! The file has no sizes: each side gets [`QUOTE_SIZE`]. Prices must be exact at the
//! instrument's precision.

use std::io::BufReader;

use cap_std::fs::Dir;
use nautilus_core::UnixNanos;
use nautilus_model::{data::QuoteTick, identifiers::InstrumentId, types::Quantity};

use super::{DataError, exact};

/// Size given to each side (the file has none), in units of the instrument.
pub const QUOTE_SIZE: u64 = 1_000_000;

fn parse_timestamp(s: &str) -> Result<u64, String> {
    let t = chrono::NaiveDateTime::parse_from_str(s, "%Y%m%d %H%M%S%3f")
        .map_err(|e| format!("timestamp `{s}` is not `YYYYMMDD HHMMSSmmm` ({e})"))?;
    let ns = t
        .and_utc()
        .timestamp_nanos_opt()
        .ok_or_else(|| format!("timestamp `{s}` is out of range"))?;
    u64::try_from(ns).map_err(|_| format!("timestamp `{s}` is before 1970"))
}

/// Reads `name` in `dir` into quotes of `instrument_id`, checked and in time order
/// (equal timestamps are allowed: ticks can share a millisecond).
pub fn read(
    dir: &Dir,
    name: &str,
    instrument_id: InstrumentId,
    price_precision: u8,
    size_precision: u8,
) -> Result<Vec<QuoteTick>, DataError> {
    let file = dir.open(name).map_err(|source| DataError::Open {
        file: name.to_string(),
        source,
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(BufReader::new(file));
    let row_err = |line: u64, message: String| DataError::Row {
        file: name.to_string(),
        line,
        message,
    };
    let size = Quantity::from_raw(QUOTE_SIZE * 1_000_000_000, size_precision);
    let mut quotes: Vec<QuoteTick> = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i as u64 + 1;
        let record = record.map_err(|e| row_err(line, e.to_string()))?;
        if !(3..=4).contains(&record.len()) {
            return Err(row_err(
                line,
                format!(
                    "{} fields, expected `YYYYMMDD HHMMSSmmm,bid,ask[,x]`",
                    record.len()
                ),
            ));
        }
        let parsed = (|| -> Result<QuoteTick, String> {
            let ts = UnixNanos::from(parse_timestamp(&record[0])?);
            let bid = exact::price(&record[1], "bid", price_precision)?;
            let ask = exact::price(&record[2], "ask", price_precision)?;
            if ask < bid {
                return Err(format!("ask {ask} is below bid {bid}"));
            }
            Ok(QuoteTick::new(instrument_id, bid, ask, size, size, ts, ts))
        })();
        let quote = parsed.map_err(|m| row_err(line, m))?;
        if quotes.last().is_some_and(|q| quote.ts_event < q.ts_event) {
            return Err(row_err(
                line,
                "timestamp is before the previous row's".to_string(),
            ));
        }
        quotes.push(quote);
    }
    if quotes.is_empty() {
        return Err(row_err(1, "the file has no quotes".to_string()));
    }
    Ok(quotes)
}
