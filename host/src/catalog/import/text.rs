//! CSV importers: FXCM bid/ask minute bars, OHLCV bars, Binance klines, the EUR/USD quote
//! file. Only syntax is checked here (field counts, numbers, timestamps, precision);
//! order, duplicates and price sanity are the quality checks' job, so a policy can decide.

use std::ops::RangeInclusive;

use csv::ByteRecord;
use nautilus_core::UnixNanos;
use nautilus_model::{
    data::{Bar, BarType, QuoteTick},
    types::Quantity,
};

use super::{ImportError, Instrument, fields};
use crate::catalog::series::{Parsed, Series, Unit};

/// Size of each side of a quote built from a file without sizes (FXCM, EUR/USD CSV).
pub const QUOTE_SIZE: u64 = 1_000_000;

enum Header {
    /// This exact first line.
    Exactly(&'static [&'static str]),
    /// No header line.
    Absent,
    /// A header line when the first field of the first line is not a number.
    Optional,
}

struct Shape {
    header: Header,
    fields: RangeInclusive<usize>,
    hint: &'static str,
}

/// Every record of `bytes` through `parse`, with its line; the first error names the line.
fn rows<T>(
    bytes: &[u8],
    name: &str,
    shape: &Shape,
    mut parse: impl FnMut(&ByteRecord) -> Result<T, String>,
) -> Result<(Vec<T>, Vec<u64>), ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let at = |line: u64, message: String| ImportError::at(name, format!("line {line}"), message);
    let mut record = ByteRecord::new();
    let mut values = Vec::with_capacity(bytes.len() / 48);
    let mut lines = Vec::with_capacity(bytes.len() / 48);
    let mut first = true;
    loop {
        let more = reader
            .read_byte_record(&mut record)
            .map_err(|e| at(e.position().map_or(0, csv::Position::line), e.to_string()))?;
        if !more {
            break;
        }
        let line = record.position().map_or(0, csv::Position::line);
        if std::mem::take(&mut first) {
            match &shape.header {
                Header::Exactly(expected) => {
                    if record.iter().ne(expected.iter().map(|s| s.as_bytes())) {
                        let got: Vec<String> = record
                            .iter()
                            .map(|f| String::from_utf8_lossy(f).into_owned())
                            .collect();
                        return Err(at(
                            line,
                            format!(
                                "header is `{}`, expected `{}`",
                                got.join(","),
                                expected.join(",")
                            ),
                        ));
                    }
                    continue;
                }
                Header::Optional
                    if record
                        .get(0)
                        .is_some_and(|f| !f.first().is_some_and(u8::is_ascii_digit)) =>
                {
                    continue;
                }
                _ => {}
            }
        }
        if record.len() == 1 && record.get(0).is_some_and(<[u8]>::is_empty) {
            continue; // a blank line
        }
        if !shape.fields.contains(&record.len()) {
            return Err(at(
                line,
                format!("{} fields, expected `{}`", record.len(), shape.hint),
            ));
        }
        values.push(parse(&record).map_err(|m| at(line, m))?);
        lines.push(line);
    }
    if values.is_empty() {
        return Err(ImportError::at(
            name,
            "line 1".into(),
            "the file has no data rows".into(),
        ));
    }
    Ok((values, lines))
}

fn field(r: &ByteRecord, i: usize) -> &[u8] {
    r.get(i).unwrap_or_default()
}

struct Ohlc {
    ts: u64,
    bar: [nautilus_model::types::Price; 4],
}

fn ohlc(r: &ByteRecord, pp: u8, first: usize) -> Result<[nautilus_model::types::Price; 4], String> {
    Ok([
        fields::price(field(r, first), "open", pp)?,
        fields::price(field(r, first + 1), "high", pp)?,
        fields::price(field(r, first + 2), "low", pp)?,
        fields::price(field(r, first + 3), "close", pp)?,
    ])
}

fn fxcm_rows(bytes: &[u8], name: &str, pp: u8) -> Result<(Vec<Ohlc>, Vec<u64>), ImportError> {
    let shape = Shape {
        header: Header::Exactly(&["timestamp", "open", "high", "low", "close"]),
        fields: 5..=5,
        hint: "timestamp,open,high,low,close",
    };
    rows(bytes, name, &shape, |r| {
        Ok(Ohlc {
            ts: fields::iso_ts(field(r, 0))?,
            bar: ohlc(r, pp, 1)?,
        })
    })
}

fn bar(bar_type: BarType, p: [nautilus_model::types::Price; 4], volume: Quantity, ts: u64) -> Bar {
    let ts = UnixNanos::from(ts);
    // A literal, not `Bar::new`, which panics on inconsistent OHLC: that is for the
    // quality checks to report.
    Bar {
        bar_type,
        open: p[0],
        high: p[1],
        low: p[2],
        close: p[3],
        volume,
        ts_event: ts,
        ts_init: ts,
    }
}

/// A quote without `QuoteTick::new`'s panics (the quality checks judge the prices).
pub(super) fn quote(
    instrument: &Instrument,
    bid: nautilus_model::types::Price,
    ask: nautilus_model::types::Price,
    bid_size: Quantity,
    ask_size: Quantity,
    ts: u64,
) -> QuoteTick {
    let ts = UnixNanos::from(ts);
    QuoteTick {
        instrument_id: instrument.id,
        bid_price: bid,
        ask_price: ask,
        bid_size,
        ask_size,
        ts_event: ts,
        ts_init: ts,
    }
}

/// FXCM minute bars of one side (`bid` or `ask` file) as bars without volume.
pub fn fxcm_bars(
    bytes: &[u8],
    name: &str,
    instrument: &Instrument,
    bar_type: BarType,
) -> Result<Parsed, ImportError> {
    let (rows, lines) = fxcm_rows(bytes, name, instrument.price_precision)?;
    let zero = Quantity::from_raw(0, instrument.size_precision);
    let bars = rows
        .into_iter()
        .map(|r| bar(bar_type, r.bar, zero, r.ts))
        .collect();
    Ok(Parsed {
        series: Series::Bars(bars),
        origin: lines,
        unit: Unit::Line,
        bar_type: Some(bar_type),
    })
}

/// FXCM bid and ask files, aligned row by row, as quotes of the minutes' closes.
pub fn fxcm_quotes(
    bid: (&[u8], &str),
    ask: (&[u8], &str),
    instrument: &Instrument,
) -> Result<Parsed, ImportError> {
    let (bids, lines) = fxcm_rows(bid.0, bid.1, instrument.price_precision)?;
    let (asks, ask_lines) = fxcm_rows(ask.0, ask.1, instrument.price_precision)?;
    if bids.len() != asks.len() {
        return Err(ImportError::Other(format!(
            "{} has {} rows and {} has {}: FXCM bid and ask files must align row by row",
            bid.1,
            bids.len(),
            ask.1,
            asks.len()
        )));
    }
    let size = Quantity::from_raw(QUOTE_SIZE * 1_000_000_000, instrument.size_precision);
    let mut quotes = Vec::with_capacity(bids.len());
    for (i, (b, a)) in bids.iter().zip(&asks).enumerate() {
        if b.ts != a.ts {
            return Err(ImportError::at(
                bid.1,
                format!("line {}", lines[i]),
                format!(
                    "time differs from {} line {} ({} against {})",
                    ask.1,
                    ask_lines[i],
                    crate::catalog::quality::iso(b.ts),
                    crate::catalog::quality::iso(a.ts)
                ),
            ));
        }
        quotes.push(quote(instrument, b.bar[3], a.bar[3], size, size, b.ts));
    }
    Ok(Parsed {
        series: Series::Quotes(quotes),
        origin: lines,
        unit: Unit::Line,
        bar_type: None,
    })
}

/// `timestamp,open,high,low,close,volume` bars; the timestamp is the bar's close time.
pub fn ohlcv(
    bytes: &[u8],
    name: &str,
    instrument: &Instrument,
    bar_type: BarType,
) -> Result<Parsed, ImportError> {
    let shape = Shape {
        header: Header::Exactly(&["timestamp", "open", "high", "low", "close", "volume"]),
        fields: 6..=6,
        hint: "timestamp,open,high,low,close,volume",
    };
    let (pp, sp) = (instrument.price_precision, instrument.size_precision);
    let (bars, lines) = rows(bytes, name, &shape, |r| {
        let ts = fields::iso_ts(field(r, 0))?;
        let p = ohlc(r, pp, 1)?;
        let v = fields::quantity(field(r, 5), "volume", sp)?;
        Ok(bar(bar_type, p, v, ts))
    })?;
    Ok(Parsed {
        series: Series::Bars(bars),
        origin: lines,
        unit: Unit::Line,
        bar_type: Some(bar_type),
    })
}

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

/// Binance klines: open time (ms), open, high, low, close, volume, close time (ms), ...
/// (12 columns as downloaded; at least the first 7). An optional header line is skipped.
pub fn binance_klines(
    bytes: &[u8],
    name: &str,
    instrument: &Instrument,
    bar_type: BarType,
    stamp: BarStamp,
) -> Result<Parsed, ImportError> {
    let shape = Shape {
        header: Header::Optional,
        fields: 7..=12,
        hint: "open_time,open,high,low,close,volume,close_time[,quote_volume,trades,taker_base,taker_quote,ignore]",
    };
    let interval = crate::catalog::quality::bar_interval_ns(&bar_type).ok_or_else(|| {
        ImportError::Other(format!(
            "bar type {bar_type} is not time-aggregated; klines need one"
        ))
    })?;
    let (pp, sp) = (instrument.price_precision, instrument.size_precision);
    let (bars, lines) = rows(bytes, name, &shape, |r| {
        let open = fields::millis(field(r, 0), "open time")?;
        let close = fields::millis(field(r, 6), "close time")?;
        if close + 1_000_000 != open + interval {
            return Err(format!(
                "close time is {} ms after the open time, but bar type {bar_type} is {} ms long: is --bar-type right?",
                (close.saturating_sub(open)) / 1_000_000 + 1,
                interval / 1_000_000
            ));
        }
        let p = ohlc(r, pp, 1)?;
        let v = fields::quantity(field(r, 5), "volume", sp)?;
        let ts = match stamp {
            BarStamp::Close => open + interval,
            BarStamp::Open => open,
        };
        Ok(bar(bar_type, p, v, ts))
    })?;
    Ok(Parsed {
        series: Series::Bars(bars),
        origin: lines,
        unit: Unit::Line,
        bar_type: Some(bar_type),
    })
}

/// The EUR/USD quote file: `20200101 170000065,bid,ask[,x]`, no header, no sizes.
pub fn quote_csv(bytes: &[u8], name: &str, instrument: &Instrument) -> Result<Parsed, ImportError> {
    let shape = Shape {
        header: Header::Absent,
        fields: 3..=4,
        hint: "YYYYMMDD HHMMSSmmm,bid,ask[,x]",
    };
    let (pp, sp) = (instrument.price_precision, instrument.size_precision);
    let size = Quantity::from_raw(QUOTE_SIZE * 1_000_000_000, sp);
    let (quotes, lines) = rows(bytes, name, &shape, |r| {
        let ts = fields::compact_ts(field(r, 0))?;
        let bid = fields::price(field(r, 1), "bid", pp)?;
        let ask = fields::price(field(r, 2), "ask", pp)?;
        Ok(quote(instrument, bid, ask, size, size, ts))
    })?;
    Ok(Parsed {
        series: Series::Quotes(quotes),
        origin: lines,
        unit: Unit::Line,
        bar_type: None,
    })
}
