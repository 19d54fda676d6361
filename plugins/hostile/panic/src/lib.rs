//! Hostile fixture: panics on the third bar. Earlier bars are handled normally.

use stratbox_sdk::prelude::*;

#[derive(Debug)]
pub struct Panicker {
    bar_type: BarType,
    bars: u32,
}

impl Strategy for Panicker {
    fn init(params: &Params) -> Result<Self, String> {
        let bar_type = params.bar_type("bar_type")?;
        Ok(Self { bar_type, bars: 0 })
    }

    fn on_start(&mut self, ctx: &mut Context) {
        ctx.subscribe_bars(&self.bar_type).expect("subscribe");
    }

    fn on_bar(&mut self, _ctx: &mut Context, bar: &Bar) {
        self.bars += 1;
        if self.bars == 3 {
            panic!("hostile panic on bar {} at {}", self.bars, bar.ts_event);
        }
    }
}

export_strategy!(Panicker);
