//! FXCM bid/ask minute bars (`timestamp,open,high,low,close`), as in `data/fxcm/`.
//!
//! The files carry no volume: every bar gets [`QUOTE_SIZE`](super::QUOTE_SIZE) (1,000,000,
//! the `default_volume` of Nautilus's `BarDataWrangler`), so Nautilus's matching engine,
//! which splits a bar's volume over the four quotes it makes from a bid bar and an ask bar,
//! has liquidity to fill against. A bid file and an ask file align row by row; each minute
//! becomes a bid bar (`<id>-1-MINUTE-BID-EXTERNAL`), an ask bar (`...-ASK-EXTERNAL`) and a
//! quote (bid close / ask close, [`QUOTE_SIZE`](super::QUOTE_SIZE) each side), all stamped
//! with the row's timestamp. Prices are exact at the instrument's price precision.

use nautilus_model::{
    data::{Bar, BarSpecification, BarType, QuoteTick},
    enums::{AggregationSource, BarAggregation, PriceType},
    identifiers::InstrumentId,
    types::{Price, Quantity},
};

use super::{
    DataError, Instrument, bar,
    csv_rows::{self, Checks, Header, Layout, Rows, Source, TimeOrder, field},
    fields, quote, quote_size,
    series::Parsed,
};

const LAYOUT: Layout = Layout {
    header: Header::Exactly(&["timestamp", "open", "high", "low", "close"]),
    fields: 5..=5,
    hint: "timestamp,open,high,low,close",
    order: TimeOrder::Increasing,
};

#[derive(Debug, Clone, Copy)]
struct Row {
    ts: u64,
    /// Open, high, low, close.
    ohlc: [Price; 4],
}

fn rows(source: &Source<'_>, price_precision: u8, checks: Checks) -> Result<Rows<Row>, DataError> {
    csv_rows::read(source, &LAYOUT, checks, |r| {
        let ts = fields::iso_ts(field(r, 0))?;
        let ohlc = csv_rows::ohlc(r, 1, price_precision, checks)?;
        Ok((Row { ts, ohlc }, ts))
    })
}

/// The bid bar type of an instrument's FXCM minute bars.
#[must_use]
pub fn bid_bar_type(instrument_id: InstrumentId) -> BarType {
    minute_bars(instrument_id, PriceType::Bid)
}

/// The ask bar type of an instrument's FXCM minute bars.
#[must_use]
pub fn ask_bar_type(instrument_id: InstrumentId) -> BarType {
    minute_bars(instrument_id, PriceType::Ask)
}

fn minute_bars(instrument_id: InstrumentId, side: PriceType) -> BarType {
    BarType::new(
        instrument_id,
        BarSpecification::new(1, BarAggregation::Minute, side),
        AggregationSource::External,
    )
}

/// The volume of every FXCM bar (the files have none): [`QUOTE_SIZE`](super::QUOTE_SIZE).
fn volume(instrument: &Instrument) -> Quantity {
    quote_size(instrument.size_precision)
}

/// One side's file as bars of `bar_type` (volume: [`QUOTE_SIZE`](super::QUOTE_SIZE)).
///
/// # Errors
/// An unreadable or malformed file, named with its line.
pub fn bars(
    source: &Source<'_>,
    instrument: &Instrument,
    bar_type: BarType,
    checks: Checks,
) -> Result<Parsed, DataError> {
    let rows = rows(source, instrument.price_precision, checks)?;
    let volume = volume(instrument);
    let bars = Rows {
        values: rows
            .values
            .iter()
            .map(|r| bar(bar_type, r.ohlc, volume, r.ts))
            .collect(),
        lines: rows.lines,
    };
    Ok(bars.into_bars(bar_type))
}

/// A bid file and an ask file read as minutes: per row, the bid bar, the ask bar and the
/// quote of the two closes.
#[derive(Debug)]
pub struct Minutes {
    pub bars: Vec<Bar>,
    pub ask_bars: Vec<Bar>,
    pub quotes: Vec<QuoteTick>,
    /// The line of each minute in the bid file.
    pub lines: Vec<u64>,
    pub bar_type: BarType,
}

impl Minutes {
    /// The quotes, each with its bid file line.
    #[must_use]
    pub fn into_quotes(self) -> Parsed {
        Rows {
            values: self.quotes,
            lines: self.lines,
        }
        .into_quotes()
    }

    /// The bid bars, each with its bid file line.
    #[must_use]
    pub fn into_bars(self) -> Parsed {
        Rows {
            values: self.bars,
            lines: self.lines,
        }
        .into_bars(self.bar_type)
    }

    /// Per minute the bid bar, then the ask bar (same timestamp): what Nautilus's simulated
    /// venue needs to fill orders from bars (it makes quotes of a bid and an ask bar).
    #[must_use]
    pub fn into_bid_ask_bars(self) -> Vec<nautilus_model::data::Data> {
        use nautilus_model::data::Data;
        let mut out = Vec::with_capacity(self.bars.len() * 2);
        for (b, a) in self.bars.into_iter().zip(self.ask_bars) {
            out.push(Data::Bar(b));
            out.push(Data::Bar(a));
        }
        out
    }
}

/// Reads a bid file and an ask file, aligned row by row, into minutes of `instrument`
/// (bid bars of `bar_type`).
///
/// # Errors
/// An unreadable or malformed file, or files that do not align.
pub fn minutes(
    bid: &Source<'_>,
    ask: &Source<'_>,
    instrument: &Instrument,
    bar_type: BarType,
    checks: Checks,
) -> Result<Minutes, DataError> {
    let (bids, asks) = matched(bid, ask, instrument.price_precision, checks)?;
    let size = quote_size(instrument.size_precision);
    let volume = volume(instrument);
    let ask_type = minute_bars(bar_type.instrument_id(), PriceType::Ask);
    let n = bids.values.len();
    let (mut bars, mut ask_bars, mut quotes) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for (b, a) in bids.values.iter().zip(&asks.values) {
        bars.push(bar(bar_type, b.ohlc, volume, b.ts));
        ask_bars.push(bar(ask_type, a.ohlc, volume, b.ts));
        quotes.push(quote(instrument, b.ohlc[3], a.ohlc[3], size, size, b.ts));
    }
    Ok(Minutes {
        bars,
        ask_bars,
        quotes,
        lines: bids.lines,
        bar_type,
    })
}

/// Seconds between the four quotes made from one minute.
pub const OHLC_QUOTE_STEP_NS: u64 = 15_000_000_000;

/// Reads a bid file and an ask file into four quotes per minute, as Nautilus's
/// `QuoteTickDataWrangler` makes from bid and ask bars: (bid, ask) open, high, low and
/// close, 15 s apart, the close at the row's timestamp (the convention of [`minutes`]).
///
/// # Errors
/// An unreadable or malformed file, or files that do not align.
pub fn ohlc_quotes(
    bid: &Source<'_>,
    ask: &Source<'_>,
    instrument: &Instrument,
    checks: Checks,
) -> Result<Parsed, DataError> {
    let (bids, asks) = matched(bid, ask, instrument.price_precision, checks)?;
    let size = quote_size(instrument.size_precision);
    let mut quotes = Vec::with_capacity(bids.values.len() * 4);
    let mut origin = Vec::with_capacity(bids.values.len() * 4);
    let mut last_ts = 0;
    for ((b, a), line) in bids.values.iter().zip(&asks.values).zip(&bids.lines) {
        for (i, back) in (0..4).zip((0..4).rev()) {
            // Rows closer than a minute apart keep their order (never stamped earlier than
            // the quote before).
            let ts = b.ts.saturating_sub(back * OHLC_QUOTE_STEP_NS).max(last_ts);
            last_ts = ts;
            quotes.push(quote(instrument, b.ohlc[i], a.ohlc[i], size, size, ts));
            origin.push(*line);
        }
    }
    Ok(Rows {
        values: quotes,
        lines: origin,
    }
    .into_quotes())
}

/// Both files' rows, checked to align row by row.
fn matched(
    bid: &Source<'_>,
    ask: &Source<'_>,
    price_precision: u8,
    checks: Checks,
) -> Result<(Rows<Row>, Rows<Row>), DataError> {
    let bids = rows(bid, price_precision, checks)?;
    let asks = rows(ask, price_precision, checks)?;
    let mismatch = |line: u64, message: String| DataError::Mismatch {
        file: bid.name().to_string(),
        other: ask.name().to_string(),
        line,
        message,
    };
    let (n, m) = (bids.values.len(), asks.values.len());
    if n != m {
        let line = bids.lines.get(n.min(m)).map_or(n.min(m) as u64 + 2, |l| *l);
        return Err(mismatch(
            line,
            format!("{n} rows against {m}: FXCM bid and ask files must align row by row"),
        ));
    }
    for (i, (b, a)) in bids.values.iter().zip(&asks.values).enumerate() {
        if b.ts != a.ts {
            return Err(mismatch(
                bids.lines[i],
                format!(
                    "timestamps differ ({} against {} at line {} of the ask file)",
                    super::quality::iso(b.ts),
                    super::quality::iso(a.ts),
                    asks.lines[i]
                ),
            ));
        }
    }
    Ok((bids, asks))
}

#[cfg(test)]
mod tests {
    use cap_std::fs::Dir;

    use super::super::series::Series;

    use super::*;

    fn dir_with(files: &[(&str, &str)]) -> (tempfile::TempDir, Dir) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = Dir::open_ambient_dir(tmp.path(), cap_std::ambient_authority()).unwrap();
        for (name, text) in files {
            dir.write(name, text).unwrap();
        }
        (tmp, dir)
    }

    const HEADER: &str = "timestamp,open,high,low,close\n";

    fn gbpusd() -> Instrument {
        Instrument {
            id: InstrumentId::from("GBP/USD.FXCM"),
            price_precision: 5,
            size_precision: 0,
        }
    }

    fn read_pair(dir: &Dir, bid: &str, ask: &str) -> Result<Minutes, DataError> {
        let inst = gbpusd();
        minutes(
            &Source::file(dir, bid),
            &Source::file(dir, ask),
            &inst,
            bid_bar_type(inst.id),
            Checks::Strict,
        )
    }

    #[test]
    fn reads_the_bundled_files_exactly() {
        let data = Dir::open_ambient_dir(
            concat!(env!("CARGO_MANIFEST_DIR"), "/../data/fxcm"),
            cap_std::ambient_authority(),
        )
        .unwrap();
        let m = read_pair(&data, "gbpusd-m1-bid-2012.csv", "gbpusd-m1-ask-2012.csv").unwrap();
        assert_eq!((m.bars.len(), m.quotes.len()), (30_117, 30_117));
        let quote = &m.quotes[0];
        // 2012-02-01 00:00:00+00:00,1.57597,1.57606,1.57576,1.57576 (bid) / ...,1.57585 (ask)
        assert_eq!(quote.ts_event.as_u64(), 1_328_054_400_000_000_000);
        assert_eq!(
            (quote.bid_price.raw, quote.bid_price.precision),
            (1_575_760_000, 5)
        );
        assert_eq!(quote.ask_price.raw, 1_575_850_000);
        assert_eq!(quote.bid_size.raw, super::super::QUOTE_SIZE * 1_000_000_000);
        assert_eq!(m.lines[0], 2);
    }

    #[test]
    fn ohlc_quotes_are_four_per_minute_in_order_close_last() {
        let bid = format!(
            "{HEADER}2012-02-01 00:00:00+00:00,1.5,1.6,1.4,1.55\n2012-02-01 00:01:00+00:00,1.55,1.7,1.5,1.6\n"
        );
        let ask = format!(
            "{HEADER}2012-02-01 00:00:00+00:00,1.51,1.61,1.41,1.56\n2012-02-01 00:01:00+00:00,1.56,1.71,1.51,1.61\n"
        );
        let (_t, dir) = dir_with(&[("bid.csv", &bid), ("ask.csv", &ask)]);
        let read = |dir: &Dir| {
            ohlc_quotes(
                &Source::file(dir, "bid.csv"),
                &Source::file(dir, "ask.csv"),
                &gbpusd(),
                Checks::Strict,
            )
        };
        let Series::Quotes(q) = read(&dir).unwrap().series else {
            panic!("quotes")
        };
        assert_eq!(q.len(), 8);
        let t0 = 1_328_054_400_000_000_000;
        let ts: Vec<u64> = q.iter().map(|q| q.ts_event.as_u64()).collect();
        let step = OHLC_QUOTE_STEP_NS;
        assert_eq!(
            ts,
            [
                t0 - 3 * step,
                t0 - 2 * step,
                t0 - step,
                t0,
                t0 + 60_000_000_000 - 3 * step,
                t0 + 60_000_000_000 - 2 * step,
                t0 + 60_000_000_000 - step,
                t0 + 60_000_000_000,
            ]
        );
        let px: Vec<(i64, i64)> = q
            .iter()
            .map(|q| (q.bid_price.raw, q.ask_price.raw))
            .collect();
        let e9 = 1_000_000_000_i64;
        assert_eq!(px[0], (15 * e9 / 10, 151 * e9 / 100)); // open
        assert_eq!(px[1], (16 * e9 / 10, 161 * e9 / 100)); // high
        assert_eq!(px[2], (14 * e9 / 10, 141 * e9 / 100)); // low
        assert_eq!(px[3], (155 * e9 / 100, 156 * e9 / 100)); // close, as in `minutes`

        let short = format!("{HEADER}2012-02-01 00:00:00+00:00,1.5,1.6,1.4,1.55\n");
        let (_t, dir) = dir_with(&[("bid.csv", &bid), ("ask.csv", &short)]);
        let err = read(&dir).unwrap_err().to_string();
        assert!(err.contains("2 rows against 1"), "{err}");
    }

    #[test]
    fn bad_rows_name_file_and_line() {
        let bad = format!(
            "{HEADER}2012-02-01 00:00:00+00:00,1.5,1.6,1.4,1.5\n2012-02-01 00:01:00+00:00,1.5,abc,1.4,1.5\n"
        );
        let (_t, dir) = dir_with(&[("bid.csv", &bad), ("ask.csv", &bad)]);
        let err = read_pair(&dir, "bid.csv", "ask.csv")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("bid.csv:3: high"), "{err}");

        let unordered = format!(
            "{HEADER}2012-02-01 00:01:00+00:00,1.5,1.6,1.4,1.5\n2012-02-01 00:00:00+00:00,1.5,1.6,1.4,1.5\n"
        );
        let (_t, dir) = dir_with(&[("bid.csv", &unordered), ("ask.csv", &unordered)]);
        let err = read_pair(&dir, "bid.csv", "ask.csv")
            .unwrap_err()
            .to_string();
        assert_eq!(err, "bid.csv:3: timestamp is not after the previous row's");

        let (_t, dir) = dir_with(&[("bid.csv", "time,o\n")]);
        let err = read_pair(&dir, "bid.csv", "ask.csv")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("bid.csv:1: header is"), "{err}");

        let (_t, dir) = dir_with(&[]);
        let err = read_pair(&dir, "../etc/passwd", "ask.csv")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("cannot open `../etc/passwd`"), "{err}");
    }
}
