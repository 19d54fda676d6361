//! Donchian-channel breakout on bars, always in the market after the first breakout.
//!
//! The channel is the highest high and lowest low of the previous `period` bars, kept in
//! exact fixed point by the SDK's [`Channel`] (Nautilus 0.57's `DonchianChannel` keeps up to
//! 1,024 bars whatever its period — see docs/decisions/0009 — so it is not used here).

use stratbox_sdk::{channel::Channel, prelude::*};

#[derive(Debug)]
pub struct DonchianBreakout {
    bar_type: BarType,
    trade_size: Quantity,
    channel: Channel,
}

impl DonchianBreakout {
    fn target(&mut self, ctx: &mut Context, long: bool) {
        let id = self.bar_type.instrument_id();
        let size = i128::from(self.trade_size.raw);
        ctx.move_to(
            id,
            if long { size } else { -size },
            self.trade_size.precision,
        );
    }
}

impl Strategy for DonchianBreakout {
    fn init(params: &Params) -> Result<Self, String> {
        let bar_type = params.bar_type("bar_type")?;
        Ok(Self {
            bar_type,
            trade_size: params.quantity("trade_size")?,
            channel: Channel::new(params.usize("period")?),
        })
    }

    fn on_start(&mut self, ctx: &mut Context) {
        if let Err(e) = ctx.subscribe_bars(&self.bar_type) {
            ctx.error(&format!("cannot subscribe to {}: {e:?}", self.bar_type));
        }
    }

    fn on_bar(&mut self, ctx: &mut Context, bar: &Bar) {
        // The channel before this bar: a bar never breaks its own range.
        let bounds = self.channel.bounds();
        self.channel.update(bar.high, bar.low);
        let Some((upper, lower)) = bounds else { return };
        if !ctx.open_orders().is_empty() {
            return;
        }
        if bar.close > upper {
            self.target(ctx, true);
        } else if bar.close < lower {
            self.target(ctx, false);
        }
    }
}

export_strategy!(DonchianBreakout);
