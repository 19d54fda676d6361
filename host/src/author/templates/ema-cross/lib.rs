//! {{name}}: an EMA cross of the quote mid price. Long `trade_size` while the fast EMA is
//! above the slow one, short while it is below; the position flips at each cross.
//!
//! Parameters are declared in `stratbox.toml` (type, default, range) and checked by the
//! host before `init` runs. Every order goes through the host's risk gate.
//!
//! The EMAs are registered with the host, as a Nautilus strategy registers its indicators:
//! the host keeps Nautilus's own `ExponentialMovingAverage`s, updates them before each quote
//! and hands their values with it (`ctx.indicator`). Computing an indicator in the strategy
//! instead also works (`stratbox_sdk::feed`), at the cost of doing the math in the sandbox.

use stratbox_sdk::{persist, prelude::*};

#[derive(Debug)]
pub struct EmaCross {
    instrument_id: InstrumentId,
    trade_size: Quantity,
    periods: (usize, usize),
    /// The registered EMAs (fast, slow), once `on_start` registered them.
    emas: Option<(Registered, Registered)>,
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
            periods: (fast, slow),
            emas: None,
            fast_above: None,
        })
    }

    fn on_start(&mut self, ctx: &mut Context) {
        // Registering on the quotes subscribes to them too.
        let quotes = Stream::Quotes(self.instrument_id);
        let emas = ctx
            .register_ema(quotes, self.periods.0, PriceType::Mid)
            .and_then(|fast| Ok((fast, ctx.register_ema(quotes, self.periods.1, PriceType::Mid)?)));
        match emas {
            Ok(emas) => self.emas = Some(emas),
            Err(e) => ctx.error(&format!("cannot follow {}: {e:?}", self.instrument_id)),
        }
    }

    fn on_quote(&mut self, ctx: &mut Context, _quote: &QuoteTick) {
        let Some((fast, slow)) = self.emas else {
            return;
        };
        // Already updated with this quote by the host.
        let (fast, slow) = (ctx.indicator(fast), ctx.indicator(slow));
        if !slow.initialized {
            return;
        }
        let above = fast.value > slow.value;
        if self.fast_above != Some(above) {
            // A signed raw quantity (scale 10^9): long positive, short negative.
            let size = i128::from(self.trade_size.raw);
            let target = if above { size } else { -size };
            ctx.move_to(self.instrument_id, target, self.trade_size.precision);
        }
        self.fast_above = Some(above);
    }

    /// Carried over to a new version on a hot-swap. The host moves the EMAs themselves,
    /// warm, to the new version; the handles and the last side say which is which.
    fn snapshot(&self) -> Vec<u8> {
        persist::encode(&(self.emas, self.fast_above)).unwrap_or_default()
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), String> {
        (self.emas, self.fast_above) = persist::decode(state)?;
        Ok(())
    }
}

export_strategy!(EmaCross);
