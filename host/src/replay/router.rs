//! An [`OrderRouter`] that records accepted orders instead of sending them anywhere.

use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;

use crate::{
    bindings::types::OrderIntent,
    capabilities::risk_gate::{OrderRouter, ValidatedOrder},
};

/// One order the gate accepted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordedOrder {
    pub order_id: String,
    pub event_ts: Option<u64>,
    pub intent: OrderIntent,
}

/// Shared view of what a [`RecordingRouter`] captured.
#[derive(Debug, Clone, Default)]
pub struct OrderLog {
    inner: Arc<Mutex<Vec<RecordedOrder>>>,
    cancels: Arc<Mutex<Vec<String>>>,
}

impl OrderLog {
    /// Accepted orders, in submission order.
    #[must_use]
    pub fn orders(&self) -> Vec<RecordedOrder> {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Cancel requests, in order.
    #[must_use]
    pub fn cancels(&self) -> Vec<String> {
        self.cancels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Assigns ids `<plugin>-<n>` and records every accepted order.
#[derive(Debug)]
pub struct RecordingRouter {
    plugin: String,
    log: OrderLog,
}

impl RecordingRouter {
    /// A router and the log it writes to.
    #[must_use]
    pub fn new(plugin: &str) -> (Self, OrderLog) {
        let log = OrderLog::default();
        (
            Self {
                plugin: plugin.to_string(),
                log: log.clone(),
            },
            log,
        )
    }
}

impl OrderRouter for RecordingRouter {
    fn submit(&mut self, order: &ValidatedOrder) -> Result<String, String> {
        let mut orders = self
            .log
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let order_id = format!("{}-{}", self.plugin, orders.len() + 1);
        orders.push(RecordedOrder {
            order_id: order_id.clone(),
            event_ts: order.event_ts(),
            intent: order.intent().clone(),
        });
        Ok(order_id)
    }

    fn cancel(&mut self, order_id: &str) -> Result<(), String> {
        self.log
            .cancels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(order_id.to_string());
        Ok(())
    }
}
