//! Hostile fixture: subscribes to AI signals although its manifest requests only market data
//! and the risk gate. Calling the import makes the component import `signals`, which the host
//! must refuse at load, naming the import.

use stratbox_sdk::prelude::*;

#[derive(Debug)]
pub struct UngrantedSignals {
    bar_type: BarType,
}

impl Strategy for UngrantedSignals {
    fn init(params: &Params) -> Result<Self, String> {
        let bar_type = params.bar_type("bar_type")?;
        Ok(Self { bar_type })
    }

    fn on_start(&mut self, ctx: &mut Context) {
        ctx.subscribe_bars(&self.bar_type).expect("subscribe");
        let _ = ctx.subscribe_signals(SignalType::Sentiment, None);
    }
}

export_strategy!(UngrantedSignals);
