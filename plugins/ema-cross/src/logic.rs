//! The EMA-cross decision logic, shared (by `#[path]`) with the upgrade fixtures
//! `ema-cross-v2` and `hostile/faulty-upgrade`, so every version decides identically.
//!
//! Its EMAs are computed here, in the guest, and carried in its snapshot: ema-cross is the
//! plugin of the service's deployment, hot-swap and crash-recovery tests, whose exact
//! state handover they check. Strategies that register their EMAs with the host instead
//! (decision 0039): the `ema-cross` template of `stratbox new`, `ema-atr-filter`.

use serde::{Deserialize, Serialize};
use stratbox_sdk::{
    indicators::average::ema::ExponentialMovingAverage,
    persist::{self, EmaState},
    prelude::*,
};

#[derive(Debug)]
pub struct EmaCross {
    instrument_id: InstrumentId,
    trade_size: Quantity,
    ema_fast: ExponentialMovingAverage,
    ema_slow: ExponentialMovingAverage,
    prev_fast_above: Option<bool>,
}

/// What survives a hot-swap: both EMAs and the last cross direction.
#[derive(Serialize, Deserialize)]
struct Saved {
    fast: EmaState,
    slow: EmaState,
    prev_fast_above: Option<bool>,
}

impl EmaCross {
    fn enter(&mut self, ctx: &mut Context, side: OrderSide) {
        ctx.submit_or_warn(Order::market(self.instrument_id, side, self.trade_size));
    }
}

impl Strategy for EmaCross {
    fn init(params: &Params) -> Result<Self, String> {
        let fast_period = params.usize("fast_period")?;
        let slow_period = params.usize("slow_period")?;
        if fast_period >= slow_period {
            return Err(format!(
                "fast_period ({fast_period}) must be less than slow_period ({slow_period})"
            ));
        }
        Ok(Self {
            instrument_id: params.instrument_id("instrument_id")?,
            trade_size: params.quantity("trade_size")?,
            ema_fast: ExponentialMovingAverage::new(fast_period, Some(PriceType::Mid)),
            ema_slow: ExponentialMovingAverage::new(slow_period, Some(PriceType::Mid)),
            prev_fast_above: None,
        })
    }

    fn on_start(&mut self, ctx: &mut Context) {
        if let Err(e) = ctx.subscribe_quotes(&self.instrument_id) {
            ctx.error(&format!(
                "cannot subscribe to quotes of {}: {e:?}",
                self.instrument_id
            ));
        }
    }

    fn on_stop(&mut self, ctx: &mut Context) {
        let _ = ctx.unsubscribe_quotes(&self.instrument_id);
    }

    fn on_quote(&mut self, ctx: &mut Context, quote: &QuoteTick) {
        self.ema_fast.feed_quote(quote);
        self.ema_slow.feed_quote(quote);

        if !self.ema_fast.initialized() || !self.ema_slow.initialized() {
            return;
        }

        let fast_above = self.ema_fast.value() > self.ema_slow.value();
        if let Some(prev) = self.prev_fast_above {
            if fast_above && !prev {
                self.enter(ctx, OrderSide::Buy);
            } else if !fast_above && prev {
                self.enter(ctx, OrderSide::Sell);
            }
        }
        self.prev_fast_above = Some(fast_above);
    }

    fn snapshot(&self) -> Vec<u8> {
        let saved = Saved {
            fast: EmaState::of(&self.ema_fast),
            slow: EmaState::of(&self.ema_slow),
            prev_fast_above: self.prev_fast_above,
        };
        persist::encode(&saved).unwrap_or_default()
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), String> {
        let saved: Saved = persist::decode(state)?;
        saved.fast.apply(&mut self.ema_fast);
        saved.slow.apply(&mut self.ema_slow);
        self.prev_fast_above = saved.prev_fast_above;
        Ok(())
    }
}
