//! Registered indicators: the Nautilus indicators a component registered on its streams
//! (`market-data.register-indicator`), kept here as Nautilus's own types and updated with
//! their own `handle_bar` / `handle_quote` / `handle_trade` before the event reaches the
//! guest, the way Nautilus updates the indicators a strategy registered. Their values go to
//! the guest with the event (`indicator-events`), so reading one costs the guest no call.
//!
//! The bank follows the capability's registrations by generation and keeps an indicator
//! (warm) as long as a registration with its id, stream and spec exists: a hot-swap moves
//! the registrations to the new version with their ids, so its indicators keep their state.

use nautilus_indicators::{
    average::{ema::ExponentialMovingAverage, sma::SimpleMovingAverage},
    indicator::{Indicator, MovingAverage},
    momentum::{bb::BollingerBands, rsi::RelativeStrengthIndex},
    volatility::{atr::AverageTrueRange, dc::DonchianChannel},
};
use nautilus_model::{
    data::{Bar, QuoteTick, TradeTick},
    enums::PriceType as NPriceType,
};

use crate::{
    bindings::types::{IndicatorId, IndicatorSpec, IndicatorValues, PriceType},
    capabilities::market_data::Registration,
};

/// One Nautilus indicator (the windowed ones boxed: Nautilus keeps their windows inline,
/// up to 16 KiB each).
#[derive(Debug)]
enum Kept {
    Sma(Box<SimpleMovingAverage>),
    Ema(ExponentialMovingAverage),
    Rsi(RelativeStrengthIndex),
    Atr(AverageTrueRange),
    Bands(Box<BollingerBands>),
    Donchian(Box<DonchianChannel>),
}

fn price_type(p: PriceType) -> NPriceType {
    match p {
        PriceType::Bid => NPriceType::Bid,
        PriceType::Ask => NPriceType::Ask,
        PriceType::Mid => NPriceType::Mid,
        PriceType::Last => NPriceType::Last,
    }
}

fn period(p: u32) -> usize {
    usize::try_from(p).unwrap_or(usize::MAX)
}

impl Kept {
    /// A cold indicator of `spec`. The capability checked the spec (periods within
    /// Nautilus's limits, a finite positive `k`), so Nautilus's constructors do not panic.
    fn new(spec: &IndicatorSpec) -> Self {
        match *spec {
            IndicatorSpec::Sma(a) => Self::Sma(Box::new(SimpleMovingAverage::new(
                period(a.period),
                Some(price_type(a.price_type)),
            ))),
            IndicatorSpec::Ema(a) => Self::Ema(ExponentialMovingAverage::new(
                period(a.period),
                Some(price_type(a.price_type)),
            )),
            IndicatorSpec::Rsi(p) => Self::Rsi(RelativeStrengthIndex::new(period(p), None)),
            IndicatorSpec::Atr(p) => Self::Atr(AverageTrueRange::new(period(p), None, None, None)),
            IndicatorSpec::Bollinger(b) => {
                Self::Bands(Box::new(BollingerBands::new(period(b.period), b.k, None)))
            }
            IndicatorSpec::Donchian(p) => Self::Donchian(Box::new(DonchianChannel::new(period(p)))),
        }
    }

    fn indicator(&mut self) -> &mut dyn Indicator {
        match self {
            Self::Sma(i) => i.as_mut(),
            Self::Ema(i) => i,
            Self::Rsi(i) => i,
            Self::Atr(i) => i,
            Self::Bands(i) => i.as_mut(),
            Self::Donchian(i) => i.as_mut(),
        }
    }

    /// Appends this indicator's outputs; returns `initialized()`.
    fn push(&self, out: &mut Vec<f64>) -> bool {
        match self {
            Self::Sma(i) => out.push(i.value()),
            Self::Ema(i) => out.push(i.value()),
            Self::Rsi(i) => out.push(i.value),
            Self::Atr(i) => out.push(i.value),
            Self::Bands(i) => out.extend([i.upper, i.middle, i.lower]),
            Self::Donchian(i) => out.extend([i.upper, i.middle, i.lower]),
        }
        match self {
            Self::Sma(i) => i.initialized(),
            Self::Ema(i) => i.initialized(),
            Self::Rsi(i) => i.initialized(),
            Self::Atr(i) => i.initialized(),
            Self::Bands(i) => i.initialized(),
            Self::Donchian(i) => i.initialized(),
        }
    }
}

/// One registered indicator and what it was registered as.
#[derive(Debug)]
struct Entry {
    id: IndicatorId,
    spec: IndicatorSpec,
    kept: Kept,
}

/// The indicators of one stream, in registration order.
#[derive(Debug)]
struct StreamIndicators {
    stream: u32,
    entries: Vec<Entry>,
    /// Fuel the updates cost the guest's callback.
    charge: u64,
    /// The buffer handed out with each event and given back after it.
    values: IndicatorValues,
}

/// The registered indicators of one instance.
#[derive(Debug, Default)]
pub struct IndicatorBank {
    generation: Option<u64>,
    streams: Vec<StreamIndicators>,
}

/// The values that go with one event, and the fuel their updates cost.
#[derive(Debug)]
pub struct EventValues {
    stream: u32,
    pub values: IndicatorValues,
    pub charge: u64,
}

impl IndicatorBank {
    /// Whether `generation` of the registrations is the one this bank reflects.
    #[must_use]
    pub fn is_current(&self, generation: u64) -> bool {
        self.generation == Some(generation)
    }

    /// Follows `registrations` (of `generation`): keeps every indicator whose id, stream
    /// and spec are still registered, creates the new ones cold, drops the rest.
    pub fn sync(&mut self, registrations: &[Registration], generation: u64) {
        let mut old: Vec<(u32, Entry)> = self
            .streams
            .drain(..)
            .flat_map(|s| s.entries.into_iter().map(move |e| (s.stream, e)))
            .collect();
        for r in registrations {
            let kept = old
                .iter()
                .position(|(stream, e)| *stream == r.stream && e.id == r.id && e.spec == r.spec)
                .map_or_else(|| Kept::new(&r.spec), |i| old.swap_remove(i).1.kept);
            let entry = Entry {
                id: r.id,
                spec: r.spec,
                kept,
            };
            match self.streams.iter_mut().find(|s| s.stream == r.stream) {
                Some(s) => {
                    s.charge += r.update_fuel();
                    s.entries.push(entry);
                }
                None => self.streams.push(StreamIndicators {
                    stream: r.stream,
                    entries: vec![entry],
                    charge: r.update_fuel(),
                    values: IndicatorValues {
                        initialized: 0,
                        values: Vec::new(),
                    },
                }),
            }
        }
        self.generation = Some(generation);
    }

    /// Whether `stream` has registered indicators (so converting its event for them is
    /// worth doing).
    #[must_use]
    pub fn has(&self, stream: u32) -> bool {
        self.streams.iter().any(|s| s.stream == stream)
    }

    /// Updates the indicators of `stream` with `update` and collects their values; `None`
    /// when the stream has none (the event then goes through the plain callback).
    fn update(&mut self, stream: u32, update: impl Fn(&mut dyn Indicator)) -> Option<EventValues> {
        let s = self.streams.iter_mut().find(|s| s.stream == stream)?;
        let mut values = std::mem::replace(
            &mut s.values,
            IndicatorValues {
                initialized: 0,
                values: Vec::new(),
            },
        );
        values.values.clear();
        values.initialized = 0;
        for (bit, e) in s.entries.iter_mut().enumerate() {
            update(e.kept.indicator());
            if e.kept.push(&mut values.values) {
                values.initialized |= 1 << bit;
            }
        }
        Some(EventValues {
            stream,
            values,
            charge: s.charge,
        })
    }

    /// The quote's stream's indicators, updated with Nautilus's `handle_quote`.
    pub fn on_quote(&mut self, stream: u32, quote: &QuoteTick) -> Option<EventValues> {
        self.update(stream, |i| i.handle_quote(quote))
    }

    /// The bar's stream's indicators, updated with Nautilus's `handle_bar`.
    pub fn on_bar(&mut self, stream: u32, bar: &Bar) -> Option<EventValues> {
        self.update(stream, |i| i.handle_bar(bar))
    }

    /// The trade's stream's indicators, updated with Nautilus's `handle_trade`.
    pub fn on_trade(&mut self, stream: u32, trade: &TradeTick) -> Option<EventValues> {
        self.update(stream, |i| i.handle_trade(trade))
    }

    /// Takes back the buffer of an event's values, so the next event allocates nothing.
    pub fn give_back(&mut self, values: EventValues) {
        if let Some(s) = self.streams.iter_mut().find(|s| s.stream == values.stream) {
            s.values = values.values;
        }
    }
}

#[cfg(test)]
mod tests {
    use nautilus_indicators::{
        average::ema::ExponentialMovingAverage,
        indicator::{Indicator, MovingAverage},
        momentum::bb::BollingerBands,
    };
    use nautilus_model::{data::QuoteTick, enums::PriceType as NPriceType};

    use super::IndicatorBank;
    use crate::{
        bindings::types::{AverageSpec, BandsSpec, IndicatorSpec, PriceType},
        capabilities::market_data::Registration,
    };

    fn quote(bid: &str, ask: &str, ts: u64) -> QuoteTick {
        QuoteTick::new(
            "GBP/USD.FXCM".into(),
            bid.into(),
            ask.into(),
            "1000000".into(),
            "1000000".into(),
            ts.into(),
            ts.into(),
        )
    }

    fn ema(id: u32, stream: u32, period: u32) -> Registration {
        Registration {
            id,
            stream,
            spec: IndicatorSpec::Ema(AverageSpec {
                period,
                price_type: PriceType::Mid,
            }),
        }
    }

    #[test]
    fn values_are_nautilus_s_own_and_stay_warm_across_a_resync() {
        let bands = Registration {
            id: 1,
            stream: 0,
            spec: IndicatorSpec::Bollinger(BandsSpec { period: 3, k: 2.0 }),
        };
        let regs = [ema(0, 0, 3), bands.clone()];
        let mut bank = IndicatorBank::default();
        bank.sync(&regs, 1);
        assert!(bank.is_current(1));
        let mut e = ExponentialMovingAverage::new(3, Some(NPriceType::Mid));
        let mut b = BollingerBands::new(3, 2.0, None);
        for (k, (bid, ask)) in [
            ("1.20000", "1.20010"),
            ("1.20020", "1.20040"),
            ("1.19990", "1.20000"),
            ("1.20100", "1.20120"),
        ]
        .into_iter()
        .enumerate()
        {
            let q = quote(bid, ask, k as u64);
            e.handle_quote(&q);
            b.handle_quote(&q);
            let got = bank.on_quote(0, &q).expect("stream 0 has indicators");
            assert_eq!(got.values.values, [e.value(), b.upper, b.middle, b.lower]);
            let init = u64::from(e.initialized()) | (u64::from(b.initialized()) << 1);
            assert_eq!(got.values.initialized, init);
            assert_eq!(got.charge, 50 + 50 + 8 * 3);
            bank.give_back(got);
            if k == 1 {
                // A new registration resyncs the bank: the existing ones stay warm.
                bank.sync(&[ema(0, 0, 3), bands.clone(), ema(2, 1, 5)], 2);
            }
        }
        assert!(
            bank.on_quote(7, &quote("1", "1", 9)).is_none(),
            "no indicators, no values"
        );
        // Dropped registrations go; a re-registration with a new id starts cold.
        bank.sync(&[ema(3, 0, 3)], 3);
        let got = bank.on_quote(0, &quote("1.20000", "1.20000", 10)).unwrap();
        assert_eq!(got.values.values, [1.2]);
        assert_eq!(got.values.initialized, 0);
    }
}
