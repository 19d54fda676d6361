//! The EMA-cross decision logic, shared (by `#[path]`) with the upgrade fixtures
//! `ema-cross-v2` and `hostile/faulty-upgrade`, so every version decides identically.
//!
//! The two EMAs are registered with the host on the quote stream, as Nautilus's example
//! strategy's indicators are updated by Nautilus before `on_quote`: the host updates them
//! natively and hands their values with each quote.

use serde::{Deserialize, Serialize};
use stratbox_sdk::{persist, prelude::*};

#[derive(Debug)]
pub struct EmaCross {
    instrument_id: InstrumentId,
    trade_size: Quantity,
    fast_period: usize,
    slow_period: usize,
    /// The registered EMAs (fast, slow), once `on_start` registered them.
    emas: Option<(Registered, Registered)>,
    prev_fast_above: Option<bool>,
}

/// What survives a hot-swap: the handles of both EMAs (the host keeps the EMAs themselves,
/// warm, across the swap) and the last cross direction.
#[derive(Serialize, Deserialize)]
struct Saved {
    emas: Option<(Registered, Registered)>,
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
            fast_period,
            slow_period,
            emas: None,
            prev_fast_above: None,
        })
    }

    fn on_start(&mut self, ctx: &mut Context) {
        let quotes = Stream::Quotes(self.instrument_id);
        let emas = ctx
            .register_ema(quotes, self.fast_period, PriceType::Mid)
            .and_then(|fast| {
                Ok((
                    fast,
                    ctx.register_ema(quotes, self.slow_period, PriceType::Mid)?,
                ))
            });
        match emas {
            Ok(emas) => self.emas = Some(emas),
            Err(e) => ctx.error(&format!(
                "cannot follow the quotes of {}: {e:?}",
                self.instrument_id
            )),
        }
    }

    fn on_stop(&mut self, ctx: &mut Context) {
        let _ = ctx.unsubscribe_quotes(&self.instrument_id);
    }

    fn on_quote(&mut self, ctx: &mut Context, _quote: &QuoteTick) {
        let Some((fast, slow)) = self.emas else {
            return;
        };
        let (fast, slow) = (ctx.indicator(fast), ctx.indicator(slow));
        if !fast.initialized || !slow.initialized {
            return;
        }

        let fast_above = fast.value > slow.value;
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
            emas: self.emas,
            prev_fast_above: self.prev_fast_above,
        };
        persist::encode(&saved).unwrap_or_default()
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), String> {
        let saved: Saved = persist::decode(state)?;
        self.emas = saved.emas;
        self.prev_fast_above = saved.prev_fast_above;
        Ok(())
    }
}
