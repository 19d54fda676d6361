//! Hot-swap of the component behind a running adapter, between two events.
//!
//! The new version is compiled and instantiated (its `init` run) away from the engine
//! thread and posted to the adapter's [`SwapSlot`]. Before delivering its next event the
//! adapter takes it: `snapshot()` of the running instance, `restore()` into the new one,
//! the host-side session (subscriptions, risk-gate book) handed over
//! ([`crate::capabilities::hand_over`]), and the two exchanged. Events are delivered by the
//! engine thread only, so an event that arrives meanwhile simply waits: none is dropped.
//!
//! The old instance is kept for a probation window of N events. After each event the new
//! one handles, its state is snapshotted; if it faults within the window, the adapter rolls
//! back: whatever the faulting callback queued is discarded, the session is handed back,
//! the old instance is restored from the new one's last good state (or, if it refuses that
//! state, keeps its own state from the swap), and the event that faulted is delivered to
//! it. Every outcome is audited and reported on the session's event sink.

use std::{
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, Ordering},
        mpsc,
    },
    time::Duration,
};

use serde::Serialize;

use crate::{audit::AuditLog, capabilities::Instance};

/// Something a running session reports (fills, faults, swaps); see [`EventSink`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum AdapterEvent {
    /// A fill of one of the plugin's orders.
    Fill {
        order_id: String,
        instrument_id: String,
        side: String,
        price: String,
        quantity: String,
        ts_event: u64,
    },
    /// The instance faulted and was quarantined.
    Fault {
        plugin: String,
        sha256: String,
        fault: String,
        callback: String,
        event_ts: Option<u64>,
    },
    /// A new version took over between two events.
    Swapped {
        from_sha256: String,
        to_sha256: String,
        pause_ns: u64,
        state_bytes: usize,
        probation_events: u64,
        event_ts: Option<u64>,
    },
    /// A swap did not happen; the running version kept running.
    SwapRefused { to_sha256: String, reason: String },
    /// The new version faulted on probation; the previous one runs again.
    RolledBack {
        from_sha256: String,
        to_sha256: String,
        reason: String,
        /// Events the new version handled before it faulted.
        events_on_new: u64,
        /// `latest`: the old version took the new one's last good state; `at-swap`: it
        /// refused it and resumed from its own state at the swap.
        state: String,
        event_ts: Option<u64>,
    },
    /// The new version passed probation; the old instance is dropped.
    Committed { sha256: String, events: u64 },
    /// A signal the plugin was granted and subscribed to: delivered, or a dead letter with
    /// the reason (quarantined, or faulting on it).
    SignalDelivery {
        signal_id: String,
        /// The session's sequence number of the signal.
        seq: i64,
        delivered: bool,
        reason: Option<String>,
        event_ts: Option<u64>,
    },
    /// Periodic session figures (at most every 500 ms, and at the end of data).
    Progress {
        events: u64,
        total: u64,
        sim_ts: u64,
        fills: u64,
        /// Guest callbacks, fuel, gate refusals and signal deliveries so far (all
        /// versions of the plugin together).
        callbacks: u64,
        fuel_total: u64,
        orders_refused: u64,
        signals_received: u64,
        realized_pnl: std::collections::BTreeMap<String, String>,
        unrealized_pnl: std::collections::BTreeMap<String, String>,
        /// The plugin's open orders in Nautilus's cache, oldest first (at most
        /// [`OPEN_ORDERS_SHOWN`]; `open_orders_total` counts them all).
        open_orders: Vec<crate::backtest::report::OrderRow>,
        open_orders_total: u64,
    },
}

/// Open orders a progress event lists.
pub const OPEN_ORDERS_SHOWN: usize = 50;

/// Where an adapter reports [`AdapterEvent`]s (a session's broadcast, a benchmark's tally).
pub type EventSink = Arc<dyn Fn(AdapterEvent) + Send + Sync>;

/// What the adapter answers to a posted swap, as soon as it has tried it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SwapReply {
    /// The new version runs; it is on probation for `probation_events` events.
    Swapped {
        pause: Duration,
        state_bytes: usize,
        probation_events: u64,
    },
    /// Nothing changed; the running version keeps running.
    Refused { reason: String },
}

/// A new version, ready to take over.
#[derive(Debug)]
pub struct SwapRequest {
    /// Instantiated and initialised with the deployment's parameters.
    pub new: Instance,
    /// Events the new version must handle without a fault before the old one is dropped.
    pub probation_events: u64,
    /// Who asked (the audit actor).
    pub actor: String,
    pub reply: mpsc::Sender<SwapReply>,
}

/// The mailbox between whoever requests swaps and the adapter (engine thread).
#[derive(Debug, Clone, Default)]
pub struct SwapSlot {
    pending: Arc<AtomicBool>,
    request: Arc<Mutex<Option<SwapRequest>>>,
}

impl SwapSlot {
    /// Posts `request`; gives it back if another swap is already waiting.
    pub fn post(&self, request: SwapRequest) -> Result<(), Box<SwapRequest>> {
        let mut slot = self.request.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_some() {
            return Err(Box::new(request));
        }
        *slot = Some(request);
        self.pending.store(true, Ordering::Release);
        Ok(())
    }

    /// Takes the waiting request, if any (one atomic load when there is none).
    pub fn take(&self) -> Option<SwapRequest> {
        if !self.pending.load(Ordering::Acquire) {
            return None;
        }
        let mut slot = self.request.lock().unwrap_or_else(PoisonError::into_inner);
        self.pending.store(false, Ordering::Release);
        slot.take()
    }

    /// Takes back a request that will never be served (the session ended).
    pub fn cancel(&self) -> Option<SwapRequest> {
        self.pending.store(false, Ordering::Release);
        self.request
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

/// The adapter's hot-swap equipment.
pub struct SwapPoint {
    pub slot: SwapSlot,
    pub sink: Option<EventSink>,
    pub audit: AuditLog,
    /// The audit subject prefix, e.g. `deployment dep-1a2b`.
    pub subject: String,
    pub(super) probation: Option<Probation>,
}

impl std::fmt::Debug for SwapPoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SwapPoint")
            .field("subject", &self.subject)
            .field("on_probation", &self.probation.is_some())
            .finish_non_exhaustive()
    }
}

impl SwapPoint {
    #[must_use]
    pub fn new(slot: SwapSlot, sink: Option<EventSink>, audit: AuditLog, subject: String) -> Self {
        Self {
            slot,
            sink,
            audit,
            subject,
            probation: None,
        }
    }

    pub(super) fn emit(&self, event: AdapterEvent) {
        if let Some(sink) = &self.sink {
            sink(event);
        }
    }
}

/// A swapped-out instance kept until its successor proves itself.
pub(super) struct Probation {
    pub old: Instance,
    pub remaining: u64,
    pub handled: u64,
    /// The new instance's state after the last event it handled.
    pub last_good: Vec<u8>,
    pub actor: String,
}
