//! Parity: SDK feed vs Nautilus `handle_*` on the bundled GBP/USD data, bit for bit.

use nautilus_indicators::{
    average::{ema::ExponentialMovingAverage, rma::WilderMovingAverage, sma::SimpleMovingAverage},
    indicator::{Indicator, MovingAverage},
    momentum::{bb::BollingerBands, rsi::RelativeStrengthIndex},
    volatility::{atr::AverageTrueRange, dc::DonchianChannel},
};
use nautilus_model::{
    data as nt,
    enums::PriceType,
    identifiers::InstrumentId as NtInstrumentId,
    types::{Price, Quantity},
};

use super::*;
use crate::data::BarType;

/// (bid bar, ask close) per minute from data/fxcm, as Nautilus and SDK types.
fn data() -> Vec<(nt::Bar, nt::QuoteTick, Bar, QuoteTick)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/fxcm/");
    let bid = std::fs::read_to_string(format!("{dir}gbpusd-m1-bid-2012.csv")).unwrap();
    let ask = std::fs::read_to_string(format!("{dir}gbpusd-m1-ask-2012.csv")).unwrap();
    let text = "GBP/USD.FXCM-1-MINUTE-BID-EXTERNAL";
    let (nt_bt, bt) = (nt::BarType::from(text), text.parse::<BarType>().unwrap());
    let nt_id = NtInstrumentId::from("GBP/USD.FXCM");
    let size = Quantity::from(1_000_000);
    bid.lines()
        .zip(ask.lines())
        .skip(1)
        .enumerate()
        .map(|(i, (b, a))| {
            let b: Vec<&str> = b.split(',').collect();
            let a: Vec<&str> = a.split(',').collect();
            let p = |s: &str| Price::from(s);
            let ts = i as u64 * 60_000_000_000;
            let nt_bar = nt::Bar::new(
                nt_bt,
                p(b[1]),
                p(b[2]),
                p(b[3]),
                p(b[4]),
                Quantity::from(0),
                ts.into(),
                ts.into(),
            );
            let nt_quote =
                nt::QuoteTick::new(nt_id, p(b[4]), p(a[4]), size, size, ts.into(), ts.into());
            let bar = Bar {
                bar_type: bt,
                open: nt_bar.open,
                high: nt_bar.high,
                low: nt_bar.low,
                close: nt_bar.close,
                volume: nt_bar.volume,
                ts_event: ts,
                ts_init: ts,
            };
            let quote = QuoteTick {
                instrument_id: bt.instrument_id,
                bid_price: nt_quote.bid_price,
                ask_price: nt_quote.ask_price,
                bid_size: size,
                ask_size: size,
                ts_event: ts,
                ts_init: ts,
            };
            (nt_bar, nt_quote, bar, quote)
        })
        .collect()
}

/// Feeds two copies of an indicator, one the Nautilus way and one the SDK way, and
/// compares `values` after every update.
fn same<I>(
    mut native: I,
    mut ours: I,
    nautilus: impl Fn(&mut I, &nt::Bar, &nt::QuoteTick),
    sdk: impl Fn(&mut I, &Bar, &QuoteTick),
    values: impl Fn(&I) -> Vec<f64>,
) {
    let rows = data();
    assert_eq!(rows.len(), 30_117);
    for (nb, nq, b, q) in &rows {
        nautilus(&mut native, nb, nq);
        sdk(&mut ours, b, q);
        let (x, y) = (values(&native), values(&ours));
        assert!(
            x.iter().zip(&y).all(|(a, b)| a.to_bits() == b.to_bits()),
            "{x:?} != {y:?} at {}",
            b.ts_event
        );
    }
}

#[test]
fn moving_averages_on_quotes_and_bars() {
    same(
        ExponentialMovingAverage::new(20, Some(PriceType::Mid)),
        ExponentialMovingAverage::new(20, Some(PriceType::Mid)),
        |i, b, q| {
            i.handle_quote(q);
            i.handle_bar(b);
        },
        |i, b, q| {
            i.feed_quote(q);
            i.feed_bar(b);
        },
        |i| vec![i.value()],
    );
    same(
        SimpleMovingAverage::new(30, Some(PriceType::Bid)),
        SimpleMovingAverage::new(30, Some(PriceType::Bid)),
        |i, b, q| {
            i.handle_quote(q);
            i.handle_bar(b);
        },
        |i, b, q| {
            i.feed_quote(q);
            i.feed_bar(b);
        },
        |i| vec![i.value()],
    );
    same(
        WilderMovingAverage::new(14, Some(PriceType::Ask)),
        WilderMovingAverage::new(14, Some(PriceType::Ask)),
        |i, b, q| {
            i.handle_quote(q);
            i.handle_bar(b);
        },
        |i, b, q| {
            i.feed_quote(q);
            i.feed_bar(b);
        },
        |i| vec![i.value()],
    );
}

#[test]
fn bands_channels_ranges_and_rsi() {
    same(
        BollingerBands::new(20, 2.0, None),
        BollingerBands::new(20, 2.0, None),
        |i, b, _| i.handle_bar(b),
        |i, b, _| i.feed_bar(b),
        |i| vec![i.upper, i.middle, i.lower],
    );
    same(
        BollingerBands::new(20, 2.0, None),
        BollingerBands::new(20, 2.0, None),
        |i, _, q| i.handle_quote(q),
        |i, _, q| i.feed_quote(q),
        |i| vec![i.upper, i.middle, i.lower],
    );
    same(
        DonchianChannel::new(20),
        DonchianChannel::new(20),
        |i, b, _| i.handle_bar(b),
        |i, b, _| i.feed_bar(b),
        |i| vec![i.upper, i.middle, i.lower],
    );
    same(
        AverageTrueRange::new(14, None, None, None),
        AverageTrueRange::new(14, None, None, None),
        |i, b, _| i.handle_bar(b),
        |i, b, _| i.feed_bar(b),
        |i| vec![i.value],
    );
    same(
        RelativeStrengthIndex::new(14, None),
        RelativeStrengthIndex::new(14, None),
        |i, b, q| {
            i.handle_bar(b);
            i.handle_quote(q);
        },
        |i, b, q| {
            i.feed_bar(b);
            i.feed_quote(q);
        },
        |i| vec![i.value],
    );
}
