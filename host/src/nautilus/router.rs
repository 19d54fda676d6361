//! The order router of a plugin running inside Nautilus.
//!
//! The risk gate calls [`OrderRouter::submit`] synchronously from inside a guest callback,
//! where the Nautilus strategy that owns the instance cannot be reached (it is borrowed for
//! the call, and Nautilus's types are not `Send`). So the router assigns the client order
//! id at once, queues the validated order, and the adapter submits the queue through
//! Nautilus's order factory and `Strategy::submit_order` as soon as the callback returns,
//! at the same simulated time. Nautilus's own `RiskEngine` then checks it again.

use std::sync::{
    Arc, Mutex, PoisonError,
    atomic::{AtomicU64, Ordering},
};

use crate::capabilities::risk_gate::{OrderRouter, ValidatedOrder};

/// A request the gate accepted, waiting to be handed to Nautilus.
#[derive(Debug, Clone)]
pub enum Pending {
    Submit {
        client_order_id: String,
        order: Box<ValidatedOrder>,
    },
    Cancel {
        client_order_id: String,
    },
}

/// The queue shared by a [`NautilusRouter`] and its adapter, with the number of the next
/// client order id (a live checkpoint keeps it, so a resumed session never reuses an id).
#[derive(Debug, Clone)]
pub struct PendingQueue(Arc<Mutex<Vec<Pending>>>, Arc<AtomicU64>);

impl Default for PendingQueue {
    fn default() -> Self {
        Self(Arc::default(), Arc::new(AtomicU64::new(1)))
    }
}

impl PendingQueue {
    /// The number the router's next client order id will carry.
    #[must_use]
    pub fn next_order_number(&self) -> u64 {
        self.1.load(Ordering::Acquire)
    }

    /// Takes everything queued, oldest first.
    pub fn drain(&self) -> Vec<Pending> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// True when nothing is queued (checked after every callback, so kept cheap).
    pub fn is_empty(&self) -> bool {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
    }

    /// Removes the queued submission of `client_order_id`; true if it was queued.
    fn withdraw(&self, client_order_id: &str) -> bool {
        let mut queue = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let before = queue.len();
        queue.retain(
            |p| !matches!(p, Pending::Submit { client_order_id: id, .. } if id == client_order_id),
        );
        queue.len() < before
    }

    fn push(&self, p: Pending) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(p);
    }
}

/// Assigns client order ids `O-<strategy id>-<n>` and queues accepted orders.
#[derive(Debug)]
pub struct NautilusRouter {
    strategy_id: String,
    queue: PendingQueue,
}

impl NautilusRouter {
    /// A router for the strategy `strategy_id` and the queue its adapter drains.
    #[must_use]
    pub fn new(strategy_id: &str) -> (Self, PendingQueue) {
        Self::numbered_from(strategy_id, 1)
    }

    /// As [`Self::new`], the first id numbered `next` (a session resumed from a
    /// checkpoint continues where it stopped).
    #[must_use]
    pub fn numbered_from(strategy_id: &str, next: u64) -> (Self, PendingQueue) {
        let queue = PendingQueue::default();
        queue.1.store(next.max(1), Ordering::Release);
        (
            Self {
                strategy_id: strategy_id.to_string(),
                queue: queue.clone(),
            },
            queue,
        )
    }
}

impl OrderRouter for NautilusRouter {
    fn submit(&mut self, order: &ValidatedOrder) -> Result<String, String> {
        let n = self.queue.1.fetch_add(1, Ordering::AcqRel);
        let client_order_id = format!("O-{}-{n}", self.strategy_id);
        self.queue.push(Pending::Submit {
            client_order_id: client_order_id.clone(),
            order: Box::new(order.clone()),
        });
        Ok(client_order_id)
    }

    fn cancel(&mut self, order_id: &str) -> Result<(), String> {
        self.queue.push(Pending::Cancel {
            client_order_id: order_id.to_string(),
        });
        Ok(())
    }

    fn withdraw(&mut self, order_id: &str) -> bool {
        self.queue.withdraw(order_id)
    }
}
