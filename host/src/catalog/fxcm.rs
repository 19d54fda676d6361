//! FXCM bid/ask minute bars (`timestamp,open,high,low,close`), as in `data/fxcm/`.
//!
//! The bid and ask files align row by row. Each minute becomes a bid bar
//! (`<id>-1-MINUTE-BID-EXTERNAL`) and a quote (bid close / ask close, 1,000,000 each side),
//! both stamped with the row's timestamp. Prices are parsed exactly from their decimal text.

use cap_std::fs::Dir;
use stratbox_manifest::Decimal;

use super::{
    DataError, MarketEvent,
    csv_rows::{self, Layout, TimeOrder, check_ohlc},
};
use crate::bindings::types::{
    AggregationSource, Bar, BarAggregation, BarSpec, BarType, Price, PriceType, Quantity, QuoteTick,
};

/// Size given to each side of a quote built from FXCM bars (they carry no volume).
pub const QUOTE_SIZE: Quantity = Quantity {
    raw: 1_000_000 * 1_000_000_000,
    precision: 0,
};

#[derive(Debug, Clone, Copy)]
struct Row {
    ts: u64,
    open: Price,
    high: Price,
    low: Price,
    close: Price,
}

fn parse_ts(s: &str) -> Result<u64, String> {
    let t = chrono::DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%:z")
        .map_err(|e| format!("timestamp `{s}` is not `YYYY-MM-DD HH:MM:SS+00:00` ({e})"))?;
    let ns = t
        .timestamp_nanos_opt()
        .ok_or_else(|| format!("timestamp `{s}` is out of range"))?;
    u64::try_from(ns).map_err(|_| format!("timestamp `{s}` is before 1970"))
}

fn parse_price(s: &str, column: &str) -> Result<Price, String> {
    let d: Decimal = s.parse().map_err(|e| format!("{column}: {e}"))?;
    if d.raw <= 0 {
        return Err(format!("{column}: price {s} is not positive"));
    }
    Ok(Price {
        raw: d.raw,
        precision: d.precision,
    })
}

fn read_rows(dir: &Dir, name: &str) -> Result<Vec<Row>, DataError> {
    let layout = Layout {
        header: Some(&["timestamp", "open", "high", "low", "close"]),
        fields: 5..=5,
        row_hint: "timestamp,open,high,low,close",
        order: TimeOrder::Increasing,
    };
    csv_rows::read(dir, name, &layout, |record| {
        let row = Row {
            ts: parse_ts(&record[0])?,
            open: parse_price(&record[1], "open")?,
            high: parse_price(&record[2], "high")?,
            low: parse_price(&record[3], "low")?,
            close: parse_price(&record[4], "close")?,
        };
        check_ohlc(&row.open.raw, &row.high.raw, &row.low.raw, &row.close.raw)?;
        Ok((row, row.ts))
    })
}

/// The bid bar type of an instrument's FXCM minute bars.
#[must_use]
pub fn bid_bar_type(instrument_id: &str) -> BarType {
    BarType {
        instrument_id: instrument_id.to_string(),
        spec: BarSpec {
            step: 1,
            aggregation: BarAggregation::Minute,
            price_type: PriceType::Bid,
        },
        source: AggregationSource::External,
    }
}

/// Reads a bid file and an ask file from `dir` into time-ordered events: per minute, the
/// bid bar then the quote.
pub fn read_pair(
    dir: &Dir,
    bid_file: &str,
    ask_file: &str,
    instrument_id: &str,
) -> Result<Vec<MarketEvent>, DataError> {
    let (bids, asks) = read_matched(dir, bid_file, ask_file)?;
    let bar_type = bid_bar_type(instrument_id);
    let mut events = Vec::with_capacity(bids.len() * 2);
    for (bid, ask) in bids.iter().zip(&asks) {
        let bar = Bar {
            stream: 0,
            open: bid.open,
            high: bid.high,
            low: bid.low,
            close: bid.close,
            volume: Quantity {
                raw: 0,
                precision: 0,
            },
            ts_event: bid.ts,
            ts_init: bid.ts,
        };
        events.push(MarketEvent::Bar {
            bar_type: bar_type.clone(),
            bar,
        });
        let quote = QuoteTick {
            stream: 0,
            bid: bid.close,
            ask: ask.close,
            bid_size: QUOTE_SIZE,
            ask_size: QUOTE_SIZE,
            ts_event: bid.ts,
            ts_init: bid.ts,
        };
        events.push(MarketEvent::Quote {
            instrument_id: instrument_id.to_string(),
            quote,
        });
    }
    Ok(events)
}

/// Seconds between the four quotes made from one minute.
pub const OHLC_QUOTE_STEP_NS: u64 = 15_000_000_000;

/// Reads a bid file and an ask file into four quotes per minute, as Nautilus's
/// `QuoteTickDataWrangler` makes from bid and ask bars: (bid, ask) open, high, low and
/// close, 15 s apart, the close at the row's timestamp (the convention of [`read_pair`]).
pub fn read_pair_ohlc_quotes(
    dir: &Dir,
    bid_file: &str,
    ask_file: &str,
) -> Result<Vec<QuoteTick>, DataError> {
    let (bids, asks) = read_matched(dir, bid_file, ask_file)?;
    let mut quotes = Vec::with_capacity(bids.len() * 4);
    let mut last_ts = 0;
    for (bid, ask) in bids.iter().zip(&asks) {
        let points = [
            (bid.open, ask.open),
            (bid.high, ask.high),
            (bid.low, ask.low),
            (bid.close, ask.close),
        ];
        for ((b, a), back) in points.into_iter().zip((0..4).rev()) {
            // Rows closer than a minute apart keep their order (never stamped earlier than
            // the quote before).
            let ts = bid
                .ts
                .saturating_sub(back * OHLC_QUOTE_STEP_NS)
                .max(last_ts);
            last_ts = ts;
            quotes.push(QuoteTick {
                stream: 0,
                bid: b,
                ask: a,
                bid_size: QUOTE_SIZE,
                ask_size: QUOTE_SIZE,
                ts_event: ts,
                ts_init: ts,
            });
        }
    }
    Ok(quotes)
}

/// Both files' rows, checked to align row by row.
fn read_matched(
    dir: &Dir,
    bid_file: &str,
    ask_file: &str,
) -> Result<(Vec<Row>, Vec<Row>), DataError> {
    let bids = read_rows(dir, bid_file)?;
    let asks = read_rows(dir, ask_file)?;
    if bids.len() != asks.len() {
        return Err(DataError::Mismatch {
            file: bid_file.to_string(),
            other: ask_file.to_string(),
            line: bids.len().min(asks.len()) as u64 + 2,
            message: format!("{} rows against {}", bids.len(), asks.len()),
        });
    }
    for (i, (bid, ask)) in bids.iter().zip(&asks).enumerate() {
        if bid.ts != ask.ts {
            return Err(DataError::Mismatch {
                file: bid_file.to_string(),
                other: ask_file.to_string(),
                line: i as u64 + 2,
                message: "timestamps differ".to_string(),
            });
        }
    }
    Ok((bids, asks))
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn reads_the_bundled_files_exactly() {
        let data = Dir::open_ambient_dir(
            concat!(env!("CARGO_MANIFEST_DIR"), "/../data/fxcm"),
            cap_std::ambient_authority(),
        )
        .unwrap();
        let events = read_pair(
            &data,
            "gbpusd-m1-bid-2012.csv",
            "gbpusd-m1-ask-2012.csv",
            "GBP/USD.FXCM",
        )
        .unwrap();
        assert_eq!(events.len(), 2 * 30_117);
        let MarketEvent::Quote { quote, .. } = &events[1] else {
            panic!("second event is a quote")
        };
        // 2012-02-01 00:00:00+00:00,1.57597,1.57606,1.57576,1.57576 (bid) / ...,1.57585 (ask)
        assert_eq!(quote.ts_event, 1_328_054_400_000_000_000);
        assert_eq!((quote.bid.raw, quote.bid.precision), (1_575_760_000, 5));
        assert_eq!(quote.ask.raw, 1_575_850_000);
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
        let q = read_pair_ohlc_quotes(&dir, "bid.csv", "ask.csv").unwrap();
        assert_eq!(q.len(), 8);
        let t0 = 1_328_054_400_000_000_000;
        let ts: Vec<u64> = q.iter().map(|q| q.ts_event).collect();
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
        let px: Vec<(i64, i64)> = q.iter().map(|q| (q.bid.raw, q.ask.raw)).collect();
        let e9 = 1_000_000_000_i64;
        assert_eq!(px[0], (15 * e9 / 10, 151 * e9 / 100)); // open
        assert_eq!(px[1], (16 * e9 / 10, 161 * e9 / 100)); // high
        assert_eq!(px[2], (14 * e9 / 10, 141 * e9 / 100)); // low
        assert_eq!(px[3], (155 * e9 / 100, 156 * e9 / 100)); // close, as read_pair's quote

        let short = format!("{HEADER}2012-02-01 00:00:00+00:00,1.5,1.6,1.4,1.55\n");
        let (_t, dir) = dir_with(&[("bid.csv", &bid), ("ask.csv", &short)]);
        let err = read_pair_ohlc_quotes(&dir, "bid.csv", "ask.csv")
            .unwrap_err()
            .to_string();
        assert!(err.contains("2 rows against 1"), "{err}");
    }

    #[test]
    fn bad_rows_name_file_and_line() {
        let bad = format!(
            "{HEADER}2012-02-01 00:00:00+00:00,1.5,1.6,1.4,1.5\n2012-02-01 00:01:00+00:00,1.5,abc,1.4,1.5\n"
        );
        let (_t, dir) = dir_with(&[("bid.csv", &bad), ("ask.csv", &bad)]);
        let err = read_pair(&dir, "bid.csv", "ask.csv", "X.Y")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("bid.csv:3: high:"), "{err}");

        let unordered = format!(
            "{HEADER}2012-02-01 00:01:00+00:00,1.5,1.6,1.4,1.5\n2012-02-01 00:00:00+00:00,1.5,1.6,1.4,1.5\n"
        );
        let (_t, dir) = dir_with(&[("bid.csv", &unordered), ("ask.csv", &unordered)]);
        let err = read_pair(&dir, "bid.csv", "ask.csv", "X.Y")
            .unwrap_err()
            .to_string();
        assert_eq!(err, "bid.csv:3: timestamp is not after the previous row's");

        let (_t, dir) = dir_with(&[("bid.csv", "time,o\n")]);
        let err = read_pair(&dir, "bid.csv", "ask.csv", "X.Y")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("bid.csv:1: header is"), "{err}");

        let (_t, dir) = dir_with(&[]);
        let err = read_pair(&dir, "../etc/passwd", "ask.csv", "X.Y")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("cannot open `../etc/passwd`"), "{err}");
    }
}
