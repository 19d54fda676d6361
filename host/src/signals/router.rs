//! Routing: each stored signal goes to exactly the consumers that may and want to receive
//! it (signals granted, signal inside the grant's scope, a matching subscription), in
//! consumer order, once.
//!
//! A delivery that fails is never dropped: it comes back in [`RouteOutcome::failed`] for the
//! caller to dead-letter with its reason. Transient failures are retried with exponential
//! backoff; every failure counts towards the consumer's circuit breaker, and while the
//! breaker is open the consumer's signals go straight to dead letters (no call).

use std::time::Duration;

use serde::Serialize;

use super::{schema::Signal, store::Stored};
use crate::{capabilities::Instance, sandbox::CallError};

/// Why a delivery failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryError {
    /// Worth retrying (the consumer is busy, a remote end timed out).
    Transient(String),
    /// Retrying cannot help (the plugin faulted or is quarantined).
    Permanent(String),
}

/// Something signals are delivered to.
pub trait Consumer {
    fn name(&self) -> &str;
    /// Granted, in scope and subscribed.
    fn wants(&self, signal: &Signal) -> bool;
    fn deliver(&mut self, signal: &Signal) -> Result<(), DeliveryError>;
}

impl Consumer for Instance {
    fn name(&self) -> &str {
        Instance::name(self)
    }

    fn wants(&self, signal: &Signal) -> bool {
        self.host().signals.wants_parts(
            signal.signal_type.wit(),
            &signal.instrument_id,
            &signal.source_model,
        )
    }

    fn deliver(&mut self, signal: &Signal) -> Result<(), DeliveryError> {
        if let Some(fault) = self.fault() {
            return Err(DeliveryError::Permanent(format!("quarantined: {fault}")));
        }
        match self.on_signal(&signal.to_wit()) {
            Ok(()) => Ok(()),
            Err(CallError::Faulted(record)) => {
                Err(DeliveryError::Permanent(format!("fault: {record}")))
            }
            Err(e @ CallError::Quarantined { .. }) => Err(DeliveryError::Permanent(e.to_string())),
        }
    }
}

/// When a consumer's breaker opens and how long it stays open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BreakerConfig {
    /// Consecutive failed deliveries that open the breaker.
    pub failures_to_open: u32,
    /// How long it stays open before one trial delivery (half-open).
    pub open_for: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failures_to_open: 5,
            open_for: Duration::from_secs(30),
        }
    }
}

/// Retries of transient failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RetryPolicy {
    /// Attempts in all (1: no retry).
    pub attempts: u32,
    pub first_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 3,
            first_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(500),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `n` (n ≥ 1: the first retry).
    #[must_use]
    pub fn backoff(&self, n: u32) -> Duration {
        let factor = 1u32.checked_shl(n.saturating_sub(1)).unwrap_or(u32::MAX);
        self.first_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// A consumer's breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Breaker {
    Closed {
        failures: u32,
    },
    Open {
        until_ns: u64,
    },
    /// One trial delivery is allowed; success closes, failure re-opens.
    HalfOpen,
}

/// What routing one signal did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteOutcome {
    /// Consumers (by index) that received it.
    pub delivered: Vec<usize>,
    /// Consumers (by index) it could not be delivered to, with the reason.
    pub failed: Vec<(usize, String)>,
    /// Breakers that changed state: (consumer index, new state).
    pub breaker_changes: Vec<(usize, Breaker)>,
}

/// Per-consumer counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConsumerStats {
    pub delivered: u64,
    pub failed: u64,
    pub retries: u64,
    pub skipped_open: u64,
}

struct Slot<C> {
    consumer: C,
    breaker: Breaker,
    stats: ConsumerStats,
}

/// Routes signals to a fixed set of consumers.
pub struct SignalRouter<C> {
    slots: Vec<Slot<C>>,
    retry: RetryPolicy,
    breaker: BreakerConfig,
    sleep: Box<dyn FnMut(Duration)>,
    clock: Box<dyn FnMut() -> u64>,
}

impl<C> std::fmt::Debug for SignalRouter<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignalRouter")
            .field("consumers", &self.slots.len())
            .field("retry", &self.retry)
            .field("breaker", &self.breaker)
            .finish_non_exhaustive()
    }
}

impl<C: Consumer> SignalRouter<C> {
    /// A router with real sleeping and the wall clock.
    #[must_use]
    pub fn new(retry: RetryPolicy, breaker: BreakerConfig) -> Self {
        Self::with_time(
            retry,
            breaker,
            Box::new(std::thread::sleep),
            Box::new(crate::time::wall_clock_ns),
        )
    }

    /// A router with injected sleep and clock (tests, deterministic runs).
    #[must_use]
    pub fn with_time(
        retry: RetryPolicy,
        breaker: BreakerConfig,
        sleep: Box<dyn FnMut(Duration)>,
        clock: Box<dyn FnMut() -> u64>,
    ) -> Self {
        Self {
            slots: Vec::new(),
            retry,
            breaker,
            sleep,
            clock,
        }
    }

    /// Adds a consumer; returns its index.
    pub fn add(&mut self, consumer: C) -> usize {
        self.slots.push(Slot {
            consumer,
            breaker: Breaker::Closed { failures: 0 },
            stats: ConsumerStats::default(),
        });
        self.slots.len() - 1
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    #[must_use]
    pub fn consumer(&self, i: usize) -> Option<&C> {
        self.slots.get(i).map(|s| &s.consumer)
    }

    pub fn consumer_mut(&mut self, i: usize) -> Option<&mut C> {
        self.slots.get_mut(i).map(|s| &mut s.consumer)
    }

    #[must_use]
    pub fn stats(&self, i: usize) -> Option<&ConsumerStats> {
        self.slots.get(i).map(|s| &s.stats)
    }

    #[must_use]
    pub fn breaker(&self, i: usize) -> Option<Breaker> {
        self.slots.get(i).map(|s| s.breaker)
    }

    /// Indexes of the consumers that would receive `signal` (no delivery): the routing
    /// decision alone.
    pub fn recipients<'a>(&'a self, signal: &'a Signal) -> impl Iterator<Item = usize> + 'a {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.consumer.wants(signal))
            .map(|(i, _)| i)
    }

    /// Delivers `stored` to every consumer that wants it.
    pub fn route(&mut self, stored: &Stored) -> RouteOutcome {
        let span = tracing::debug_span!(
            "signal",
            correlation_id = %stored.correlation_id,
            signal_id = %stored.signal.signal_id,
            seq = stored.seq
        );
        let _entered = span.enter();
        let mut out = RouteOutcome::default();
        for i in 0..self.slots.len() {
            if !self.slots[i].consumer.wants(&stored.signal) {
                continue;
            }
            let now = (self.clock)();
            let slot = &mut self.slots[i];
            if let Breaker::Open { until_ns } = slot.breaker {
                if now < until_ns {
                    slot.stats.skipped_open += 1;
                    out.failed.push((
                        i,
                        format!(
                            "circuit open for `{}` after {} consecutive failed deliveries; not attempted",
                            slot.consumer.name(),
                            self.breaker.failures_to_open
                        ),
                    ));
                    continue;
                }
                slot.breaker = Breaker::HalfOpen;
                out.breaker_changes.push((i, Breaker::HalfOpen));
            }
            match self.attempt(i, stored) {
                Ok(()) => {
                    let slot = &mut self.slots[i];
                    slot.stats.delivered += 1;
                    if slot.breaker != (Breaker::Closed { failures: 0 }) {
                        let reopened = !matches!(slot.breaker, Breaker::Closed { .. });
                        slot.breaker = Breaker::Closed { failures: 0 };
                        if reopened {
                            out.breaker_changes.push((i, slot.breaker));
                        }
                    }
                    tracing::trace!(consumer = slot.consumer.name(), "delivered");
                    out.delivered.push(i);
                }
                Err(reason) => {
                    let now = (self.clock)();
                    let cfg = self.breaker;
                    let slot = &mut self.slots[i];
                    slot.stats.failed += 1;
                    let next = match slot.breaker {
                        Breaker::Closed { failures } if failures + 1 < cfg.failures_to_open => {
                            Breaker::Closed {
                                failures: failures + 1,
                            }
                        }
                        _ => Breaker::Open {
                            until_ns: now.saturating_add(
                                u64::try_from(cfg.open_for.as_nanos()).unwrap_or(u64::MAX),
                            ),
                        },
                    };
                    if matches!(next, Breaker::Open { .. }) {
                        tracing::warn!(consumer = slot.consumer.name(), "circuit opened: {reason}");
                        out.breaker_changes.push((i, next));
                    }
                    slot.breaker = next;
                    out.failed.push((i, reason));
                }
            }
        }
        out
    }

    fn attempt(&mut self, i: usize, stored: &Stored) -> Result<(), String> {
        let mut n = 0;
        loop {
            match self.slots[i].consumer.deliver(&stored.signal) {
                Ok(()) => return Ok(()),
                Err(DeliveryError::Permanent(reason)) => return Err(reason),
                Err(DeliveryError::Transient(reason)) => {
                    n += 1;
                    if n >= self.retry.attempts {
                        return Err(format!("{reason} (gave up after {n} attempts)"));
                    }
                    self.slots[i].stats.retries += 1;
                    (self.sleep)(self.retry.backoff(n));
                }
            }
        }
    }
}
