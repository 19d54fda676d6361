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
        let bar_type = params
            .text("bar_type")?
            .parse()
            .map_err(|e| format!("parameter `bar_type`: {e}"))?;
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
        let order = match position.side {
            PositionSide::Flat if close < self.bands.lower => {
                Order::market(id, OrderSide::Buy, self.trade_size)
            }
            PositionSide::Flat if close > self.bands.upper => {
                Order::market(id, OrderSide::Sell, self.trade_size)
            }
            PositionSide::Long if close >= self.bands.middle => Order::market(
                id,
                OrderSide::Sell,
                Quantity::from_raw(position.quantity.raw, position.quantity.precision),
            )
            .reduce_only(),
            PositionSide::Short if close <= self.bands.middle => Order::market(
                id,
                OrderSide::Buy,
                Quantity::from_raw(position.quantity.raw, position.quantity.precision),
            )
            .reduce_only(),
            _ => return,
        };
        if let RiskDecision::Rejected(r) = ctx.submit(order) {
            ctx.warn(&format!("order refused: {:?} {}", r.code, r.message));
        }
    }
}

export_strategy!(BollingerReversion);
