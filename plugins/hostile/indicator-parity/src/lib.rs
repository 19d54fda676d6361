//! Indicator parity fixture: every indicator kind the host keeps, registered on quotes and
//! on bars, against the same Nautilus indicator fed in the guest by [`stratbox_sdk::feed`]
//! (Nautilus's own handler bodies). Any difference in a value (bit for bit) or in
//! `initialized()` panics, which quarantines the instance: the host test then fails with
//! the message. `on_stop` panics too if fewer than `min_events` events were compared with
//! every indicator initialized, so a run that compared nothing cannot pass.

use stratbox_sdk::{
    export_strategy,
    indicators::{
        average::{ema::ExponentialMovingAverage, sma::SimpleMovingAverage},
        momentum::{bb::BollingerBands, rsi::RelativeStrengthIndex},
        volatility::{atr::AverageTrueRange, dc::DonchianChannel},
    },
    prelude::*,
};

/// A guest-side Nautilus indicator (the windowed ones boxed: up to 16 KiB each).
#[derive(Debug)]
enum Local {
    Sma(Box<SimpleMovingAverage>),
    Ema(ExponentialMovingAverage),
    Rsi(RelativeStrengthIndex),
    Atr(AverageTrueRange),
    Bands(Box<BollingerBands>),
    Donchian(Box<DonchianChannel>),
}

impl Local {
    fn feed_quote(&mut self, q: &QuoteTick) {
        match self {
            Self::Sma(i) => i.feed_quote(q),
            Self::Ema(i) => i.feed_quote(q),
            Self::Rsi(i) => i.feed_quote(q),
            Self::Bands(i) => i.feed_quote(q),
            Self::Atr(_) | Self::Donchian(_) => {}
        }
    }

    fn feed_bar(&mut self, b: &Bar) {
        match self {
            Self::Sma(i) => i.feed_bar(b),
            Self::Ema(i) => i.feed_bar(b),
            Self::Rsi(i) => i.feed_bar(b),
            Self::Atr(i) => i.feed_bar(b),
            Self::Bands(i) => i.feed_bar(b),
            Self::Donchian(i) => i.feed_bar(b),
        }
    }

    /// (initialized, value, upper, lower) as a registered indicator reports them.
    fn reading(&self) -> Reading {
        let one = |initialized: bool, value: f64| Reading {
            initialized,
            value,
            upper: value,
            lower: value,
        };
        match self {
            Self::Sma(i) => one(i.initialized(), i.value()),
            Self::Ema(i) => one(i.initialized(), i.value()),
            Self::Rsi(i) => one(i.initialized(), i.value),
            Self::Atr(i) => one(i.initialized(), i.value),
            Self::Bands(i) => Reading {
                initialized: i.initialized(),
                value: i.middle,
                upper: i.upper,
                lower: i.lower,
            },
            Self::Donchian(i) => Reading {
                initialized: i.initialized(),
                value: i.middle,
                upper: i.upper,
                lower: i.lower,
            },
        }
    }
}

#[derive(Debug)]
struct Pair {
    name: &'static str,
    host: Registered,
    local: Local,
}

#[derive(Debug)]
pub struct IndicatorParity {
    instrument_id: InstrumentId,
    bar_type: BarType,
    min_events: u64,
    /// Two indicators per stream (their values travel as plain arguments) instead of every
    /// kind (a list).
    few: bool,
    on_quotes: Vec<Pair>,
    on_bars: Vec<Pair>,
    /// Events compared with every indicator of their stream initialized.
    compared: u64,
}

fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits()
}

fn check(pairs: &[Pair], ctx: &Context, ts: u64) -> bool {
    let mut all = true;
    for p in pairs {
        let (host, local) = (ctx.indicator(p.host), p.local.reading());
        let equal = host.initialized == local.initialized
            && same(host.value, local.value)
            && same(host.upper, local.upper)
            && same(host.lower, local.lower);
        assert!(
            equal,
            "{} differs at {ts}: host {host:?}, guest {local:?}",
            p.name
        );
        all &= host.initialized;
    }
    all
}

impl Strategy for IndicatorParity {
    fn init(params: &Params) -> Result<Self, String> {
        Ok(Self {
            instrument_id: params.instrument_id("instrument_id")?,
            bar_type: params.bar_type("bar_type")?,
            min_events: u64::try_from(params.int("min_events")?).map_err(|e| e.to_string())?,
            few: params.bool("few")?,
            on_quotes: Vec::new(),
            on_bars: Vec::new(),
            compared: 0,
        })
    }

    fn on_start(&mut self, ctx: &mut Context) {
        let q = Stream::Quotes(self.instrument_id);
        let b = Stream::Bars(self.bar_type);
        let bt = &self.bar_type;
        let few = self.few;
        let registered = (|| -> Result<(), stratbox_sdk::wit::DataError> {
            if few {
                // One value each: two per quote and two per bar, as plain arguments.
                self.on_quotes = vec![
                    Pair {
                        name: "ema(10, bid) on quotes",
                        host: ctx.register_ema(q, 10, PriceType::Bid)?,
                        local: Local::Ema(ExponentialMovingAverage::new(10, Some(PriceType::Bid))),
                    },
                    Pair {
                        name: "sma(10, mid) on quotes",
                        host: ctx.register_sma(q, 10, PriceType::Mid)?,
                        local: Local::Sma(Box::new(SimpleMovingAverage::new(
                            10,
                            Some(PriceType::Mid),
                        ))),
                    },
                ];
                self.on_bars = vec![
                    Pair {
                        name: "ema(20) on bars",
                        host: ctx.register_ema(b, 20, PriceType::Last)?,
                        local: Local::Ema(ExponentialMovingAverage::new(20, None)),
                    },
                    Pair {
                        name: "atr(14) on bars",
                        host: ctx.register_atr(bt, 14)?,
                        local: Local::Atr(AverageTrueRange::new(14, None, None, None)),
                    },
                ];
                return Ok(());
            }
            self.on_quotes = vec![
                Pair {
                    name: "sma(10, mid) on quotes",
                    host: ctx.register_sma(q, 10, PriceType::Mid)?,
                    local: Local::Sma(Box::new(SimpleMovingAverage::new(10, Some(PriceType::Mid)))),
                },
                Pair {
                    name: "ema(10, bid) on quotes",
                    host: ctx.register_ema(q, 10, PriceType::Bid)?,
                    local: Local::Ema(ExponentialMovingAverage::new(10, Some(PriceType::Bid))),
                },
                Pair {
                    name: "rsi(14) on quotes",
                    host: ctx.register_rsi(q, 14)?,
                    local: Local::Rsi(RelativeStrengthIndex::new(14, None)),
                },
                Pair {
                    name: "bollinger(20, 2) on quotes",
                    host: ctx.register_bollinger(q, 20, 2.0)?,
                    local: Local::Bands(Box::new(BollingerBands::new(20, 2.0, None))),
                },
            ];
            self.on_bars = vec![
                Pair {
                    name: "sma(10) on bars",
                    host: ctx.register_sma(b, 10, PriceType::Last)?,
                    local: Local::Sma(Box::new(SimpleMovingAverage::new(10, None))),
                },
                Pair {
                    name: "ema(20) on bars",
                    host: ctx.register_ema(b, 20, PriceType::Last)?,
                    local: Local::Ema(ExponentialMovingAverage::new(20, None)),
                },
                Pair {
                    name: "rsi(14) on bars",
                    host: ctx.register_rsi(b, 14)?,
                    local: Local::Rsi(RelativeStrengthIndex::new(14, None)),
                },
                Pair {
                    name: "atr(14) on bars",
                    host: ctx.register_atr(bt, 14)?,
                    local: Local::Atr(AverageTrueRange::new(14, None, None, None)),
                },
                Pair {
                    name: "bollinger(20, 1.5) on bars",
                    host: ctx.register_bollinger(b, 20, 1.5)?,
                    local: Local::Bands(Box::new(BollingerBands::new(20, 1.5, None))),
                },
                Pair {
                    name: "donchian(20) on bars",
                    host: ctx.register_donchian(bt, 20)?,
                    local: Local::Donchian(Box::new(DonchianChannel::new(20))),
                },
            ];
            Ok(())
        })();
        if let Err(e) = registered {
            panic!("registration failed: {e:?}");
        }
    }

    fn on_quote(&mut self, ctx: &mut Context, quote: &QuoteTick) {
        for p in &mut self.on_quotes {
            p.local.feed_quote(quote);
        }
        if check(&self.on_quotes, ctx, quote.ts_event) {
            self.compared += 1;
        }
    }

    fn on_bar(&mut self, ctx: &mut Context, bar: &Bar) {
        for p in &mut self.on_bars {
            p.local.feed_bar(bar);
        }
        if check(&self.on_bars, ctx, bar.ts_event) {
            self.compared += 1;
        }
    }

    fn on_stop(&mut self, ctx: &mut Context) {
        assert!(
            self.compared >= self.min_events,
            "only {} events were compared with every indicator initialized (at least {} expected)",
            self.compared,
            self.min_events
        );
        ctx.info(&format!(
            "indicator parity: {} events compared",
            self.compared
        ));
    }
}

export_strategy!(IndicatorParity);
