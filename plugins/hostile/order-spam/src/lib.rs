//! Hostile fixture: submits 1,000 market-order intents on every bar.

use stratbox_sdk::prelude::*;

#[derive(Debug)]
pub struct OrderSpam {
    bar_type: BarType,
}

impl Strategy for OrderSpam {
    fn init(params: &Params) -> Result<Self, String> {
        let bar_type = params.bar_type("bar_type")?;
        Ok(Self { bar_type })
    }

    fn on_start(&mut self, ctx: &mut Context) {
        ctx.subscribe_bars(&self.bar_type).expect("subscribe");
    }

    fn on_bar(&mut self, ctx: &mut Context, bar: &Bar) {
        let id = bar.bar_type.instrument_id();
        for i in 0..1_000 {
            let side = if i % 2 == 0 {
                OrderSide::Buy
            } else {
                OrderSide::Sell
            };
            let _ = ctx.submit(Order::market(id, side, Quantity::from(1_000)));
        }
    }
}

export_strategy!(OrderSpam);
