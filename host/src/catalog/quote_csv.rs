//! Headerless quote CSV as in the bundled EUR/USD file: `20200101 170000065,bid,ask,0`
//! (date, time `HHMMSSmmm`, bid, ask, an unused column). Timestamps are taken as UTC.
//! The file has no sizes: each side gets [`QUOTE_SIZE`]. Prices must be exact at the
//! instrument's precision.

use cap_std::fs::Dir;
use nautilus_core::UnixNanos;
use nautilus_model::{data::QuoteTick, identifiers::InstrumentId, types::Quantity};

use super::{
    DataError,
    csv_rows::{self, Layout, TimeOrder},
    exact,
};

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
    let layout = Layout {
        header: None,
        fields: 3..=4,
        row_hint: "YYYYMMDD HHMMSSmmm,bid,ask[,x]",
        order: TimeOrder::NonDecreasing,
    };
    let size = Quantity::from_raw(QUOTE_SIZE * 1_000_000_000, size_precision);
    csv_rows::read(dir, name, &layout, |record| {
        let ts = parse_timestamp(&record[0])?;
        let bid = exact::price(&record[1], "bid", price_precision)?;
        let ask = exact::price(&record[2], "ask", price_precision)?;
        if ask < bid {
            return Err(format!("ask {ask} is below bid {bid}"));
        }
        let ts_ns = UnixNanos::from(ts);
        Ok((
            QuoteTick::new(instrument_id, bid, ask, size, size, ts_ns, ts_ns),
            ts,
        ))
    })
}
