//! Hostile fixture: `ema-cross` 0.3.0, a broken upgrade. It decides like 0.1.0 (same
//! `logic.rs`, same state format, so a hot-swap restore succeeds) and then panics on the
//! third quote it receives: the host must quarantine it and roll back to the previous
//! version within the probation window, without losing an event.

#[path = "../../../ema-cross/src/logic.rs"]
mod logic;

use stratbox_sdk::{export_strategy, prelude::*};

/// The quote (counted from start or takeover) on which this version panics.
const FAULT_ON_QUOTE: u64 = 3;

#[derive(Debug)]
pub struct FaultyUpgrade {
    inner: logic::EmaCross,
    quotes: u64,
}

impl Strategy for FaultyUpgrade {
    fn init(params: &Params) -> Result<Self, String> {
        Ok(Self {
            inner: logic::EmaCross::init(params)?,
            quotes: 0,
        })
    }

    fn on_start(&mut self, ctx: &mut Context) {
        self.inner.on_start(ctx);
    }

    fn on_quote(&mut self, ctx: &mut Context, quote: &QuoteTick) {
        self.quotes += 1;
        assert!(
            self.quotes < FAULT_ON_QUOTE,
            "ema-cross 0.3.0 regression: quote {} hit an off-by-one",
            self.quotes
        );
        self.inner.on_quote(ctx, quote);
    }

    fn snapshot(&self) -> Vec<u8> {
        self.inner.snapshot()
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), String> {
        self.inner.restore(state)?;
        self.quotes = 0;
        Ok(())
    }
}

export_strategy!(FaultyUpgrade);
