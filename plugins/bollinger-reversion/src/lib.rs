//! Bollinger-band mean reversion on bars.
//!
//! Flat: a close below the lower band buys `trade_size`, a close above the upper band sells
//! it. In a position: a close back across the middle band exits with a reduce-only order.
//! One order at a time: nothing new is sent while an order is open.

use stratbox_sdk::{indicators::momentum::bb::BollingerBands, prelude::*};

#[derive(Debug)]
pub struct BollingerReversion {
    bar_type: BarType,
    trade_size: Quantity,
    bands: BollingerBands,
}

impl Strategy for BollingerReversion {
    fn init(params: &Params) -> Result<Self, String> {
        let bar_type = params.bar_type("bar_type")?;
        Ok(Self {
            bar_type,
            trade_size: params.quantity("trade_size")?,
            bands: BollingerBands::new(params.usize("period")?, params.float("k")?, None),
        })
    }

    fn on_start(&mut self, ctx: &mut Context) {
        if let Err(e) = ctx.subscribe_bars(&self.bar_type) {
            ctx.error(&format!("cannot subscribe to {}: {e:?}", self.bar_type));
        }
    }

    fn on_bar(&mut self, ctx: &mut Context, bar: &Bar) {
        self.bands.feed_bar(bar);
        if !self.bands.initialized || !ctx.open_orders().is_empty() {
            return;
        }
        let close = bar.close.as_f64();
        let id = self.bar_type.instrument_id();
        let position = ctx.position(&id);
        let size = i128::from(self.trade_size.raw);
        // Enter from flat at a band; exit (reduce-only, whole position) at the middle.
        let target = match position.side {
            PositionSide::Flat if close < self.bands.lower => size,
            PositionSide::Flat if close > self.bands.upper => -size,
            PositionSide::Long if close >= self.bands.middle => 0,
            PositionSide::Short if close <= self.bands.middle => 0,
            _ => return,
        };
        // The position is already in hand: no second `position` call through `move_to`.
        if let Some(order) = Order::to_target(id, &position, target, self.trade_size.precision) {
            ctx.submit_or_warn(order);
        }
    }
}

export_strategy!(BollingerReversion);
