//! Headerless quote CSV as in the bundled EUR/USD file: `20200101 170000065,bid,ask,0`
//! (date, time `HHMMSSmmm`, bid, ask, an unused column). Timestamps are taken as UTC.
//! The file has no sizes: each side gets [`QUOTE_SIZE`](super::QUOTE_SIZE). Prices must be
//! exact at the instrument's precision.

use super::{
    DataError, Instrument,
    csv_rows::{self, Checks, Header, Layout, Source, TimeOrder, field},
    fields, quote, quote_size,
    series::Parsed,
};

/// Reads `source` into quotes of `instrument`. Under [`Checks::Strict`] they are in time
/// order (equal timestamps are allowed: ticks can share a millisecond) and the ask is not
/// below the bid.
///
/// # Errors
/// An unreadable or malformed file, named with its line.
pub fn quotes(
    source: &Source<'_>,
    instrument: &Instrument,
    checks: Checks,
) -> Result<Parsed, DataError> {
    let layout = Layout {
        header: Header::Absent,
        fields: 3..=4,
        hint: "YYYYMMDD HHMMSSmmm,bid,ask[,x]",
        order: TimeOrder::NonDecreasing,
    };
    let pp = instrument.price_precision;
    let size = quote_size(instrument.size_precision);
    let rows = csv_rows::read(source, &layout, checks, |r| {
        let ts = fields::compact_ts(field(r, 0))?;
        let bid = csv_rows::price(r, 1, "bid", pp, checks)?;
        let ask = csv_rows::price(r, 2, "ask", pp, checks)?;
        if checks == Checks::Strict && ask < bid {
            return Err(format!("ask {ask} is below bid {bid}"));
        }
        Ok((quote(instrument, bid, ask, size, size, ts), ts))
    })?;
    Ok(rows.into_quotes())
}
