//! Hostile fixture: on every bar, calls the cheapest host function there is (`open-orders`
//! with no order open) `calls` times. Its own instructions per call are a few dozen, so
//! without a fuel charge for host calls 20,000 calls fit a 10,000,000 budget many times
//! over; with the charge (decision 0021) they do not.

use stratbox_sdk::prelude::*;

#[derive(Debug)]
pub struct HostCallSpin {
    bar_type: BarType,
    calls: usize,
}

impl Strategy for HostCallSpin {
    fn init(params: &Params) -> Result<Self, String> {
        Ok(Self {
            bar_type: params.bar_type("bar_type")?,
            calls: params.usize("calls")?,
        })
    }

    fn on_start(&mut self, ctx: &mut Context) {
        ctx.subscribe_bars(&self.bar_type).expect("subscribe");
    }

    fn on_bar(&mut self, ctx: &mut Context, _bar: &Bar) {
        for _ in 0..self.calls {
            std::hint::black_box(ctx.open_orders());
        }
    }
}

export_strategy!(HostCallSpin);
