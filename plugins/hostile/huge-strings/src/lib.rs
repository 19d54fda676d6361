//! Hostile fixture: sends a 10 MB log message to the host on the first bar.

use stratbox_sdk::prelude::*;

#[derive(Debug)]
pub struct HugeStrings {
    bar_type: BarType,
}

impl Strategy for HugeStrings {
    fn init(params: &Params) -> Result<Self, String> {
        let bar_type = params.bar_type("bar_type")?;
        Ok(Self { bar_type })
    }

    fn on_start(&mut self, ctx: &mut Context) {
        ctx.subscribe_bars(&self.bar_type).expect("subscribe");
    }

    fn on_bar(&mut self, ctx: &mut Context, _bar: &Bar) {
        let huge = "x".repeat(10 * 1024 * 1024);
        ctx.info(&huge);
    }
}

export_strategy!(HugeStrings);
