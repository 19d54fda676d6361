//! Hostile fixture: subscribes to regime signals and panics on the second one, so every
//! later signal it is entitled to must become a dead letter (never silently lost) while
//! its neighbours carry on.

use stratbox_sdk::prelude::*;

#[derive(Debug)]
pub struct SignalPanicker {
    instrument_id: InstrumentId,
    signals: u32,
}

impl Strategy for SignalPanicker {
    fn init(params: &Params) -> Result<Self, String> {
        Ok(Self {
            instrument_id: params.instrument_id("instrument_id")?,
            signals: 0,
        })
    }

    fn on_start(&mut self, ctx: &mut Context) {
        ctx.subscribe_signals(SignalType::RegimePrediction, Some(&self.instrument_id))
            .expect("subscribe");
    }

    fn on_signal(&mut self, _ctx: &mut Context, signal: &AiSignal) {
        self.signals += 1;
        if self.signals == 2 {
            panic!("hostile panic on signal {}", signal.signal_id);
        }
    }
}

export_strategy!(SignalPanicker);
