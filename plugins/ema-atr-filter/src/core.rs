//! The decision core of `ema-atr-filter`, free of the SDK and of Nautilus's runtime: only
//! Nautilus indicators and value types. The component (`lib.rs`) and its native twin in
//! the host (`host/src/backtest/native.rs`, which includes this file by path) both call
//! it, so the two make the same decisions by construction, and the benchmark between
//! them measures the sandbox, not two implementations.
//!
//! The two EMAs of the mid are what Nautilus updates for a strategy that registered them
//! on its quotes ([`Emas`]: the component registers them with the host, the native twin
//! updates Nautilus EMAs in `on_quote`, or the component computes them itself when asked
//! to); the core takes their readings. The ATR of ask/bid/mid is not something Nautilus
//! updates from quotes (its `AverageTrueRange` has no quote handler), so the core keeps it.

use nautilus_indicators::{
    average::ema::ExponentialMovingAverage,
    indicator::{Indicator, MovingAverage},
    volatility::atr::AverageTrueRange,
};
use nautilus_model::{
    enums::{OrderSide, PriceType},
    types::{Price, fixed::FIXED_PRECISION},
};

/// The strategy's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LightConfig {
    pub fast_period: usize,
    pub slow_period: usize,
    pub atr_period: usize,
    pub atr_mult: f64,
    pub cooldown: u64,
}

impl LightConfig {
    /// Checks the settings fit together.
    pub fn validate(&self) -> Result<(), String> {
        if self.fast_period == 0 || self.atr_period == 0 {
            return Err("fast_period and atr_period must be at least 1".to_string());
        }
        if self.fast_period >= self.slow_period {
            return Err(format!(
                "fast_period ({}) must be less than slow_period ({})",
                self.fast_period, self.slow_period
            ));
        }
        if !self.atr_mult.is_finite() || self.atr_mult < 0.0 {
            return Err(format!(
                "atr_mult ({}) must be a finite number ≥ 0",
                self.atr_mult
            ));
        }
        if self.cooldown == 0 {
            return Err("cooldown must be at least 1 quote".to_string());
        }
        Ok(())
    }
}

/// A moving average as the core reads it: Nautilus `initialized()` and `value()`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Average {
    pub initialized: bool,
    pub value: f64,
}

/// The fast and slow EMAs of the mid, updated from quotes exactly as Nautilus's
/// `ExponentialMovingAverage::handle_quote` with `PriceType::Mid` does: for the native
/// twin and for a component that computes them itself.
#[derive(Debug)]
pub struct Emas {
    fast: ExponentialMovingAverage,
    slow: ExponentialMovingAverage,
}

impl Emas {
    #[must_use]
    pub fn new(config: &LightConfig) -> Self {
        Self {
            fast: ExponentialMovingAverage::new(config.fast_period, Some(PriceType::Mid)),
            slow: ExponentialMovingAverage::new(config.slow_period, Some(PriceType::Mid)),
        }
    }

    /// Updates both with the mid of `bid` / `ask`; returns (fast, slow).
    pub fn update(&mut self, bid: Price, ask: Price) -> (Average, Average) {
        let m = mid(bid, ask);
        self.fast.update_raw(m);
        self.slow.update_raw(m);
        let read = |e: &ExponentialMovingAverage| Average {
            initialized: e.initialized(),
            value: e.value(),
        };
        (read(&self.fast), read(&self.slow))
    }
}

/// The mid exactly as Nautilus's `QuoteTick::extract_price(PriceType::Mid)`.
fn mid(bid: Price, ask: Price) -> f64 {
    Price::from_raw(
        bid.raw.midpoint(ask.raw),
        (bid.precision + 1).min(FIXED_PRECISION),
    )
    .as_f64()
}

/// The ATR and position state.
#[derive(Debug)]
pub struct LightCore {
    config: LightConfig,
    atr: AverageTrueRange,
    /// Quotes seen.
    seen: u64,
    /// `seen` at the last trade.
    last_trade: Option<u64>,
    /// Net position in trade sizes: -1, 0 or 1.
    net: i8,
}

impl LightCore {
    /// A core with cold indicators.
    pub fn new(config: LightConfig) -> Result<Self, String> {
        config.validate()?;
        Ok(Self {
            config,
            atr: AverageTrueRange::new(config.atr_period, None, None, None),
            seen: 0,
            last_trade: None,
            net: 0,
        })
    }

    /// Takes one quote and the EMAs just updated with it; returns the side of the market
    /// order to send, if any.
    pub fn on_quote(
        &mut self,
        bid: Price,
        ask: Price,
        fast: Average,
        slow: Average,
    ) -> Option<OrderSide> {
        self.seen += 1;
        self.atr
            .update_raw(ask.as_f64(), bid.as_f64(), mid(bid, ask));

        if !(fast.initialized && slow.initialized && self.atr.initialized()) {
            return None;
        }
        if let Some(last) = self.last_trade
            && self.seen - last < self.config.cooldown
        {
            return None;
        }
        let gap = fast.value - slow.value;
        let band = self.config.atr_mult * self.atr.value;
        let side = if gap > band && self.net < 1 {
            self.net += 1;
            OrderSide::Buy
        } else if gap < -band && self.net > -1 {
            self.net -= 1;
            OrderSide::Sell
        } else {
            return None;
        };
        self.last_trade = Some(self.seen);
        Some(side)
    }

    /// Net position in trade sizes (-1, 0, 1).
    #[must_use]
    pub fn net(&self) -> i8 {
        self.net
    }
}
