//! EMA cross 0.2.0: the hot-swap upgrade of `ema-cross` 0.1.0.
//!
//! The decisions are those of 0.1.0 (the same `logic.rs`), and its state format is the
//! same, so a running 0.1.0 hands its EMAs to this version without a warm-up gap (and can
//! take them back on a rollback). The code differs: this version counts the quotes it has
//! seen since it started or took over, and reports a takeover in the diagnostics log.

#[path = "../../ema-cross/src/logic.rs"]
mod logic;

use stratbox_sdk::{export_strategy, prelude::*};

#[derive(Debug)]
pub struct EmaCrossV2 {
    inner: logic::EmaCross,
    /// Quotes seen by this instance (not carried over).
    quotes: u64,
    /// Set by `restore`, reported on the next quote.
    took_over: Option<usize>,
}

impl Strategy for EmaCrossV2 {
    fn init(params: &Params) -> Result<Self, String> {
        Ok(Self {
            inner: logic::EmaCross::init(params)?,
            quotes: 0,
            took_over: None,
        })
    }

    fn on_start(&mut self, ctx: &mut Context) {
        self.inner.on_start(ctx);
    }

    fn on_stop(&mut self, ctx: &mut Context) {
        ctx.info(&format!(
            "ema-cross 0.2.0 stopping after {} quotes",
            self.quotes
        ));
        self.inner.on_stop(ctx);
    }

    fn on_quote(&mut self, ctx: &mut Context, quote: &QuoteTick) {
        self.quotes += 1;
        if let Some(bytes) = self.took_over.take() {
            ctx.info(&format!(
                "ema-cross 0.2.0 took over a state of {bytes} bytes"
            ));
        }
        self.inner.on_quote(ctx, quote);
    }

    fn snapshot(&self) -> Vec<u8> {
        self.inner.snapshot()
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), String> {
        self.inner.restore(state)?;
        self.took_over = Some(state.len());
        Ok(())
    }
}

export_strategy!(EmaCrossV2);
