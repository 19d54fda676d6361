//! OHLCV bars: `timestamp,open,high,low,close,volume` with a header, as in the bundled BTC
//! perpetual file (`2021-12-31 23:01:00.000000`, UTC without a zone; a `+00:00` style
//! offset is accepted too).
//!
//! Prices must be exact at the instrument's price precision (a row with more decimals is
//! an error, never silently rounded). Volume is rounded half-even to the instrument's size
//! precision, because such files carry float noise there (`460784.50214999996`).
//! The timestamp is taken as the bar's close time (`ts_event = ts_init`).

use nautilus_model::data::BarType;

use super::{
    DataError, Instrument, bar,
    csv_rows::{self, Checks, Header, Layout, Source, TimeOrder, field},
    fields,
    series::Parsed,
};

/// Reads `source` into bars of `bar_type` for `instrument`.
///
/// # Errors
/// An unreadable or malformed file, named with its line.
pub fn bars(
    source: &Source<'_>,
    instrument: &Instrument,
    bar_type: BarType,
    checks: Checks,
) -> Result<Parsed, DataError> {
    let layout = Layout {
        header: Header::Exactly(&["timestamp", "open", "high", "low", "close", "volume"]),
        fields: 6..=6,
        hint: "timestamp,open,high,low,close,volume",
        order: TimeOrder::Increasing,
    };
    let (pp, sp) = (instrument.price_precision, instrument.size_precision);
    let rows = csv_rows::read(source, &layout, checks, |r| {
        let ts = fields::iso_ts(field(r, 0))?;
        let p = csv_rows::ohlc(r, 1, pp, checks)?;
        let volume = fields::quantity(field(r, 5), "volume", sp)?;
        Ok((bar(bar_type, p, volume, ts), ts))
    })?;
    Ok(rows.into_bars(bar_type))
}
