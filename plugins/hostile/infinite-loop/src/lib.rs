//! Hostile fixture: never returns from `on-bar`. Fuel must stop it (or the epoch deadline
//! when fuel is set very high).

use stratbox_sdk::prelude::*;

#[derive(Debug)]
pub struct InfiniteLoop {
    bar_type: BarType,
    spins: u64,
}

impl Strategy for InfiniteLoop {
    fn init(params: &Params) -> Result<Self, String> {
        let bar_type = params.bar_type("bar_type")?;
        Ok(Self { bar_type, spins: 0 })
    }

    fn on_start(&mut self, ctx: &mut Context) {
        ctx.subscribe_bars(&self.bar_type).expect("subscribe");
    }

    fn on_bar(&mut self, _ctx: &mut Context, _bar: &Bar) {
        loop {
            self.spins = std::hint::black_box(self.spins.wrapping_add(1));
        }
    }
}

export_strategy!(InfiniteLoop);
