//! Donchian-channel breakout on bars, always in the market after the first breakout.

use stratbox_sdk::{indicators::volatility::dc::DonchianChannel, prelude::*};

#[derive(Debug)]
pub struct DonchianBreakout {
    bar_type: BarType,
    trade_size: Quantity,
    channel: DonchianChannel,
}

impl DonchianBreakout {
    fn target(&mut self, ctx: &mut Context, long: bool) {
        let id = self.bar_type.instrument_id();
        let position = ctx.position(&id);
        let size = self.trade_size.raw;
        let held = position.quantity.raw;
        // Signed raw quantities: where we are and where we want to be.
        let now: i128 = match position.side {
            PositionSide::Long => i128::from(held),
            PositionSide::Short => -i128::from(held),
            PositionSide::Flat => 0,
        };
        let want: i128 = if long {
            i128::from(size)
        } else {
            -i128::from(size)
        };
        let delta = want - now;
        if delta == 0 {
            return;
        }
        let side = if delta > 0 {
            OrderSide::Buy
        } else {
            OrderSide::Sell
        };
        let Ok(raw) = u64::try_from(delta.unsigned_abs()) else {
            return;
        };
        let qty = Quantity::from_raw(raw, self.trade_size.precision);
        if let RiskDecision::Rejected(r) = ctx.submit(Order::market(id, side, qty)) {
            ctx.warn(&format!("order refused: {:?} {}", r.code, r.message));
        }
    }
}

impl Strategy for DonchianBreakout {
    fn init(params: &Params) -> Result<Self, String> {
        let bar_type = params
            .text("bar_type")?
            .parse()
            .map_err(|e| format!("parameter `bar_type`: {e}"))?;
        Ok(Self {
            bar_type,
            trade_size: params.quantity("trade_size")?,
            channel: DonchianChannel::new(params.usize("period")?),
        })
    }

    fn on_start(&mut self, ctx: &mut Context) {
        if let Err(e) = ctx.subscribe_bars(&self.bar_type) {
            ctx.error(&format!("cannot subscribe to {}: {e:?}", self.bar_type));
        }
    }

    fn on_bar(&mut self, ctx: &mut Context, bar: &Bar) {
        let ready = self.channel.initialized;
        let (upper, lower) = (self.channel.upper, self.channel.lower);
        self.channel.feed_bar(bar);
        if !ready || !ctx.open_orders().is_empty() {
            return;
        }
        let close = bar.close.as_f64();
        if close > upper {
            self.target(ctx, true);
        } else if close < lower {
            self.target(ctx, false);
        }
    }
}

export_strategy!(DonchianBreakout);
