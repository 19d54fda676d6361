//! OHLCV minute bars: `timestamp,open,high,low,close,volume` with a header, as in the
//! bundled BTC perpetual file (`2021-12-31 23:01:00.000000`, UTC without a zone; a
//! `+00:00` style offset is accepted too).
//!
//! Prices must be exact at the instrument's price precision (a row with more decimals is
//! an error, never silently rounded). Volume is rounded half-even to the instrument's size
//! precision, because such files carry float noise there (`460784.50214999996`).
//! The timestamp is taken as the bar's close time (`ts_event = ts_init`).

use std::str::FromStr;

use cap_std::fs::Dir;
use nautilus_core::UnixNanos;
use nautilus_model::{
    data::{Bar, BarType},
    types::Quantity,
};
use rust_decimal::Decimal as RustDecimal;

use super::{
    DataError,
    csv_rows::{self, Layout, TimeOrder, check_ohlc},
    exact,
};

/// Parses `2021-12-31 23:01:00.000000` (UTC) or `2012-02-01 00:00:00+00:00`.
pub fn parse_timestamp(s: &str) -> Result<u64, String> {
    let ns = if let Ok(t) = chrono::DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%:z") {
        t.timestamp_nanos_opt()
    } else {
        chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
            .map_err(|e| {
                format!("timestamp `{s}` is not `YYYY-MM-DD HH:MM:SS[.ffffff][+00:00]` ({e})")
            })?
            .and_utc()
            .timestamp_nanos_opt()
    }
    .ok_or_else(|| format!("timestamp `{s}` is out of range"))?;
    u64::try_from(ns).map_err(|_| format!("timestamp `{s}` is before 1970"))
}

fn volume(s: &str, precision: u8) -> Result<Quantity, String> {
    let d = RustDecimal::from_str(s).map_err(|e| format!("volume `{s}`: {e}"))?;
    if d.is_sign_negative() {
        return Err(format!("volume `{s}` is negative"));
    }
    let rounded = d.round_dp_with_strategy(
        u32::from(precision),
        rust_decimal::RoundingStrategy::MidpointNearestEven,
    );
    Quantity::from_str(&rounded.to_string())
        .map(|q| Quantity::from_raw(q.raw, precision))
        .map_err(|e| format!("volume `{s}`: {e}"))
}

/// Reads `name` in `dir` into bars of `bar_type`, checked and in time order.
pub fn read(
    dir: &Dir,
    name: &str,
    bar_type: BarType,
    price_precision: u8,
    size_precision: u8,
) -> Result<Vec<Bar>, DataError> {
    let layout = Layout {
        header: Some(&["timestamp", "open", "high", "low", "close", "volume"]),
        fields: 6..=6,
        row_hint: "timestamp,open,high,low,close,volume",
        order: TimeOrder::Increasing,
    };
    csv_rows::read(dir, name, &layout, |record| {
        let ts = parse_timestamp(&record[0])?;
        let px = |col: usize, what: &str| exact::price(&record[col], what, price_precision);
        let (open, high, low, close) = (
            px(1, "open")?,
            px(2, "high")?,
            px(3, "low")?,
            px(4, "close")?,
        );
        check_ohlc(&open, &high, &low, &close)?;
        let volume = volume(&record[5], size_precision)?;
        let ts_ns = UnixNanos::from(ts);
        let bar = Bar::new(bar_type, open, high, low, close, volume, ts_ns, ts_ns);
        Ok((bar, ts))
    })
}
