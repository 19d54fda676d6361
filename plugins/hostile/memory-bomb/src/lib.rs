//! Hostile fixture: keeps allocating 1 MiB blocks (touching every page) in `on-bar` until the
//! host refuses to grow its memory.

use stratbox_sdk::prelude::*;

#[derive(Debug)]
pub struct MemoryBomb {
    bar_type: BarType,
    hoard: Vec<Vec<u8>>,
}

impl Strategy for MemoryBomb {
    fn init(params: &Params) -> Result<Self, String> {
        let bar_type = params.bar_type("bar_type")?;
        Ok(Self {
            bar_type,
            hoard: Vec::new(),
        })
    }

    fn on_start(&mut self, ctx: &mut Context) {
        ctx.subscribe_bars(&self.bar_type).expect("subscribe");
    }

    fn on_bar(&mut self, _ctx: &mut Context, _bar: &Bar) {
        loop {
            self.hoard.push(vec![0xA5; 1 << 20]);
        }
    }
}

export_strategy!(MemoryBomb);
