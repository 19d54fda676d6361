//! Binance klines: open time (ms), open, high, low, close, volume, close time (ms), ...
//! (12 columns as downloaded; at least the first 7). An optional header line is skipped.

use nautilus_model::data::BarType;

use super::{
    DataError, Instrument, bar,
    csv_rows::{self, Checks, Header, Layout, Source, TimeOrder, field},
    fields,
    series::Parsed,
};

crate::named_enum! {
    /// Which kline time becomes the bar's timestamp.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum BarStamp: "bar timestamp" {
        Close = "close":
            "The close (open time + interval): what a strategy could know, no look-ahead.",
        Open = "open":
            "The open time, as in Nautilus's own test catalog (`nautilus-64bit/bars.parquet`).",
    }
}

/// Reads `source` into bars of `bar_type` (time-aggregated) stamped as `stamp` says.
///
/// # Errors
/// A bar type that is not time-aggregated, an unreadable or malformed file (named with its
/// line), or a kline whose length is not the bar type's.
pub fn bars(
    source: &Source<'_>,
    instrument: &Instrument,
    bar_type: BarType,
    stamp: BarStamp,
    checks: Checks,
) -> Result<Parsed, DataError> {
    let layout = Layout {
        header: Header::Optional,
        fields: 7..=12,
        hint: "open_time,open,high,low,close,volume,close_time[,quote_volume,trades,taker_base,taker_quote,ignore]",
        order: TimeOrder::Increasing,
    };
    let interval = super::quality::bar_interval_ns(&bar_type).ok_or_else(|| DataError::Row {
        file: source.name().to_string(),
        line: 1,
        message: format!("bar type {bar_type} is not time-aggregated; klines need one"),
    })?;
    let (pp, sp) = (instrument.price_precision, instrument.size_precision);
    let rows = csv_rows::read(source, &layout, checks, |r| {
        let open = fields::millis(field(r, 0), "open time")?;
        let close = fields::millis(field(r, 6), "close time")?;
        let end = open.checked_add(interval);
        if end.is_none() || close.checked_add(1_000_000) != end {
            return Err(format!(
                "close time is {} ms after the open time, but bar type {bar_type} is {} ms long: is --bar-type right?",
                (close.saturating_sub(open)) / 1_000_000 + 1,
                interval / 1_000_000
            ));
        }
        let p = csv_rows::ohlc(r, 1, pp, checks)?;
        let v = fields::quantity(field(r, 5), "volume", sp)?;
        let ts = match stamp {
            BarStamp::Close => end.unwrap_or(open),
            BarStamp::Open => open,
        };
        Ok((bar(bar_type, p, v, ts), ts))
    })?;
    Ok(rows.into_bars(bar_type))
}
