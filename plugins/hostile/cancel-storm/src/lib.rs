//! Hostile fixture: keeps `open_target` far-away limit orders open (they never fill), and on
//! bar 3 and every `storm_every` bars after it calls `cancel-order` `cancels` times in one
//! callback, cycling over every open order: the same orders again and again, and more
//! distinct orders than `max_orders_per_callback`.

use stratbox_sdk::prelude::*;

#[derive(Debug)]
pub struct CancelStorm {
    bar_type: BarType,
    cancels: usize,
    open_target: usize,
    storm_every: u64,
    bars: u64,
}

impl Strategy for CancelStorm {
    fn init(params: &Params) -> Result<Self, String> {
        Ok(Self {
            bar_type: params.bar_type("bar_type")?,
            cancels: params.usize("cancels")?,
            open_target: params.usize("open_target")?,
            storm_every: params.int("storm_every")?.unsigned_abs(),
            bars: 0,
        })
    }

    fn on_start(&mut self, ctx: &mut Context) {
        ctx.subscribe_bars(&self.bar_type).expect("subscribe");
    }

    fn on_bar(&mut self, ctx: &mut Context, bar: &Bar) {
        self.bars += 1;
        let id = bar.bar_type.instrument_id();
        let open = ctx.open_orders().len();
        for _ in open..self.open_target {
            // Far below the market: it stays open.
            let order = Order::limit(
                id,
                OrderSide::Buy,
                Quantity::from(1_000),
                Price::new(0.5, 5),
            );
            if !matches!(ctx.submit(order), RiskDecision::Accepted(_)) {
                break;
            }
        }
        if self.bars % self.storm_every == 3 % self.storm_every {
            let ids = ctx.open_orders();
            if ids.is_empty() {
                return;
            }
            for i in 0..self.cancels {
                let _ = ctx.cancel(&ids[i % ids.len()]);
            }
        }
    }
}

export_strategy!(CancelStorm);
