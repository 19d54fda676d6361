//! {{name}}: an EMA cross of the quote mid price. Long `trade_size` while the fast EMA is
//! above the slow one, short while it is below; the position flips at each cross.
//!
//! Parameters are declared in `stratbox.toml` (type, default, range) and checked by the
//! host before `init` runs. Every order goes through the host's risk gate.

use stratbox_sdk::{
    indicators::average::ema::ExponentialMovingAverage,
    persist::{self, EmaState},
    prelude::*,
};

#[derive(Debug)]
pub struct EmaCross {
    instrument_id: InstrumentId,
    trade_size: Quantity,
    fast: ExponentialMovingAverage,
    slow: ExponentialMovingAverage,
    /// Whether the fast EMA was above the slow one at the previous quote.
    fast_above: Option<bool>,
}

impl Strategy for EmaCross {
    fn init(params: &Params) -> Result<Self, String> {
        let fast = params.usize("fast_period")?;
        let slow = params.usize("slow_period")?;
        if fast >= slow {
            return Err(format!(
                "fast_period ({fast}) must be less than slow_period ({slow})"
            ));
        }
        Ok(Self {
            // Filled in by `stratbox backtest` from the data when not given.
            instrument_id: params.instrument_id("instrument_id")?,
            trade_size: params.quantity("trade_size")?,
            fast: ExponentialMovingAverage::new(fast, Some(PriceType::Mid)),
            slow: ExponentialMovingAverage::new(slow, Some(PriceType::Mid)),
            fast_above: None,
        })
    }

    fn on_start(&mut self, ctx: &mut Context) {
        if let Err(e) = ctx.subscribe_quotes(&self.instrument_id) {
            ctx.error(&format!("cannot subscribe to {}: {e:?}", self.instrument_id));
        }
    }

    fn on_quote(&mut self, ctx: &mut Context, quote: &QuoteTick) {
        // Exactly as a Nautilus strategy feeds its indicators.
        self.fast.feed_quote(quote);
        self.slow.feed_quote(quote);
        if !self.slow.initialized() {
            return;
        }
        let above = self.fast.value() > self.slow.value();
        if self.fast_above != Some(above) {
            // A signed raw quantity (scale 10^9): long positive, short negative.
            let size = i128::from(self.trade_size.raw);
            let target = if above { size } else { -size };
            ctx.move_to(self.instrument_id, target, self.trade_size.precision);
        }
        self.fast_above = Some(above);
    }

    /// Carried over to a new version on a hot-swap, so it does not start cold.
    fn snapshot(&self) -> Vec<u8> {
        let state = (
            EmaState::of(&self.fast),
            EmaState::of(&self.slow),
            self.fast_above,
        );
        persist::encode(&state).unwrap_or_default()
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), String> {
        let (fast, slow, fast_above): (EmaState, EmaState, Option<bool>) =
            persist::decode(state)?;
        fast.apply(&mut self.fast);
        slow.apply(&mut self.slow);
        self.fast_above = fast_above;
        Ok(())
    }
}

export_strategy!(EmaCross);
