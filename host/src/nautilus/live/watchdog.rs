//! The feed watchdog: a live feed that goes quiet for longer than the configured staleness
//! moves trading to REDUCING (no new exposure; audited and alerted by the trading control),
//! and the first event after the silence moves it back to ACTIVE, before any strategy sees
//! that event.
//!
//! The watchdog only undoes its own change: if an operator or the risk gate changed the
//! host-wide state in the meantime (a halt, say), it leaves that alone.

use std::{
    cell::Cell,
    time::{Duration, Instant},
};

use crate::capabilities::risk_gate::{Scope, TradingControl, TradingState};

/// Who the watchdog's changes are attributed to in the audit trail.
pub const ACTOR: &str = "feed-watchdog";

/// Lives on the node's thread: the bus handlers report events, the node's loop checks.
#[derive(Debug)]
pub struct Watchdog {
    control: TradingControl,
    stale_after: Duration,
    last_event: Cell<Instant>,
    last_ts: Cell<Option<u64>>,
    /// Set while the trading state is the watchdog's REDUCING.
    stale_since: Cell<Option<Instant>>,
    processed: Cell<usize>,
}

impl Watchdog {
    #[must_use]
    pub fn new(control: TradingControl, stale_after: Duration) -> Self {
        Self {
            control,
            stale_after,
            last_event: Cell::new(Instant::now()),
            last_ts: Cell::new(None),
            stale_since: Cell::new(None),
            processed: Cell::new(0),
        }
    }

    /// Market events processed so far.
    #[must_use]
    pub fn processed(&self) -> usize {
        self.processed.get()
    }

    /// True while the watchdog holds trading in REDUCING.
    #[must_use]
    pub fn is_stale(&self) -> bool {
        self.stale_since.get().is_some()
    }

    /// The node is about to deliver a market event stamped `ts` (called before strategies
    /// see it): a stale feed is live again.
    pub fn saw_event(&self, ts: u64) {
        self.processed.set(self.processed.get() + 1);
        self.last_event.set(Instant::now());
        self.last_ts.set(Some(ts));
        if let Some(since) = self.stale_since.take()
            && self.control.state_of(&Scope::All) == TradingState::Reducing
        {
            let reason = format!(
                "market data flows again after {:.1} s of silence",
                since.elapsed().as_secs_f64() + self.stale_after.as_secs_f64()
            );
            if let Err(e) =
                self.control
                    .set(&Scope::All, TradingState::Active, &reason, ACTOR, Some(ts))
            {
                tracing::error!("feed watchdog: cannot return to ACTIVE: {e}");
            }
        }
    }

    /// Checks the silence while the feed should be delivering (`expecting`): longer than the
    /// staleness moves an ACTIVE host to REDUCING.
    pub fn check(&self, expecting: bool) {
        if !expecting || self.is_stale() || self.last_event.get().elapsed() < self.stale_after {
            return;
        }
        if self.control.state_of(&Scope::All) != TradingState::Active {
            return;
        }
        let reason = format!(
            "market data feed stale: no event for {:.1} s (limit {:.1} s); no new exposure until it flows again",
            self.last_event.get().elapsed().as_secs_f64(),
            self.stale_after.as_secs_f64()
        );
        match self.control.set(
            &Scope::All,
            TradingState::Reducing,
            &reason,
            ACTOR,
            self.last_ts.get(),
        ) {
            Ok(_) => self.stale_since.set(Some(Instant::now())),
            Err(e) => tracing::error!("feed watchdog: cannot move to REDUCING: {e}"),
        }
    }

    /// Restarts the silence clock (the feed has just been told to start).
    pub fn arm(&self) {
        self.last_event.set(Instant::now());
    }
}
