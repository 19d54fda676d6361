//! Hostile fixture: unbounded recursion in `on-bar`. Each frame keeps its state in wasm
//! locals, so the wasm call stack (not the shadow stack in linear memory) runs out first.

use stratbox_sdk::prelude::*;

#[derive(Debug)]
pub struct DeepRecursion {
    bar_type: BarType,
}

#[inline(never)]
#[allow(unconditional_recursion)] // the point of this fixture
fn descend(depth: u64) -> u64 {
    // `black_box` keeps the optimiser from turning the recursion into a loop.
    let next = std::hint::black_box(depth).wrapping_add(1);
    std::hint::black_box(descend(next)).wrapping_add(depth)
}

impl Strategy for DeepRecursion {
    fn init(params: &Params) -> Result<Self, String> {
        let bar_type = params.bar_type("bar_type")?;
        Ok(Self { bar_type })
    }

    fn on_start(&mut self, ctx: &mut Context) {
        ctx.subscribe_bars(&self.bar_type).expect("subscribe");
    }

    fn on_bar(&mut self, ctx: &mut Context, _bar: &Bar) {
        let depth = descend(0);
        ctx.info(&format!("unreachable: returned from depth {depth}"));
    }
}

export_strategy!(DeepRecursion);
