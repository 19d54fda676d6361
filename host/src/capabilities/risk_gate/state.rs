//! Per-instance risk-gate state.

use std::{collections::BTreeSet, sync::Arc};

use serde::Serialize;

use super::{OrderRouter, Positions, ValidatedOrder, validate_intent};
use crate::{
    bindings::types::{OrderEvent, OrderIntent, RejectCode, Rejection, RiskDecision},
    capabilities::{contract::in_scope, market_data::MarketDataSource},
};

/// How many intents were decided, by outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DecisionCounts {
    pub accepted: u64,
    /// Refusals by reject code (kebab-case names).
    pub rejected: std::collections::BTreeMap<String, u64>,
}

/// Risk-gate state of one instance.
pub struct RiskGateState {
    pub(in crate::capabilities) granted: bool,
    pub(super) instruments: Option<BTreeSet<String>>,
    pub(super) market: Arc<dyn MarketDataSource>,
    pub(super) router: Box<dyn OrderRouter>,
    pub(super) max_orders_per_callback: u64,
    pub(super) orders_this_callback: u64,
    pub(super) event_ts: Option<u64>,
    pub(super) open_orders: Vec<String>,
    pub(super) positions: Positions,
    /// Positions are set by the venue (Nautilus cache) instead of derived from fills.
    pub(super) venue_positions: bool,
    pub(super) counts: DecisionCounts,
}

impl std::fmt::Debug for RiskGateState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RiskGateState")
            .field("granted", &self.granted)
            .field("open_orders", &self.open_orders)
            .field("counts", &self.counts)
            .finish_non_exhaustive()
    }
}

impl RiskGateState {
    #[must_use]
    pub fn new(
        granted: bool,
        instruments: Option<BTreeSet<String>>,
        market: Arc<dyn MarketDataSource>,
        router: Box<dyn OrderRouter>,
        max_orders_per_callback: u64,
    ) -> Self {
        Self {
            granted,
            instruments,
            market,
            router,
            max_orders_per_callback,
            orders_this_callback: 0,
            event_ts: None,
            open_orders: Vec::new(),
            positions: Positions::default(),
            venue_positions: false,
            counts: DecisionCounts::default(),
        }
    }

    /// Decisions so far.
    #[must_use]
    pub fn counts(&self) -> &DecisionCounts {
        &self.counts
    }

    /// Open orders, oldest first.
    #[must_use]
    pub fn open_orders(&self) -> &[String] {
        &self.open_orders
    }

    /// The gate's positions.
    #[must_use]
    pub fn positions(&self) -> &Positions {
        &self.positions
    }

    /// The router (e.g. to read what a recording router captured).
    #[must_use]
    pub fn router(&self) -> &dyn OrderRouter {
        self.router.as_ref()
    }

    pub(crate) fn begin_callback(&mut self, event_ts: Option<u64>) {
        self.orders_this_callback = 0;
        if event_ts.is_some() {
            self.event_ts = event_ts;
        }
    }

    /// Updates open orders and positions from an order event, before the plugin sees it.
    pub fn on_order_event(&mut self, event: &OrderEvent) {
        match event {
            OrderEvent::Accepted(_) => {}
            OrderEvent::Rejected(e) => self.open_orders.retain(|id| *id != e.order_id),
            OrderEvent::Cancelled(e) => self.open_orders.retain(|id| *id != e.order_id),
            OrderEvent::Filled(_) if self.venue_positions => {}
            OrderEvent::Filled(f) => {
                self.positions
                    .apply_fill(&f.instrument_id, f.side, f.last_px, f.last_qty);
            }
        }
    }

    /// From now on positions come from the venue through [`Self::set_position`].
    pub fn use_venue_positions(&mut self) {
        self.venue_positions = true;
    }

    /// Sets the net position in `instrument_id` as the venue reports it (signed raw
    /// quantity, average open price raw at scale 10^9); from then on fills no longer move
    /// the gate's positions, the venue does.
    pub fn set_position(
        &mut self,
        instrument_id: &str,
        qty_raw: i128,
        avg_px_raw: i128,
        size_precision: u8,
    ) {
        self.venue_positions = true;
        self.positions
            .set(instrument_id, qty_raw, avg_px_raw, size_precision);
    }

    /// Marks an order closed (fully filled) so it no longer counts as open.
    pub fn order_closed(&mut self, order_id: &str) {
        self.open_orders.retain(|id| id != order_id);
    }

    fn refuse(&mut self, rejection: Rejection) -> RiskDecision {
        *self
            .counts
            .rejected
            .entry(super::reject_code_name(rejection.code).to_string())
            .or_default() += 1;
        RiskDecision::Rejected(rejection)
    }

    /// Decides one intent: rate, instrument, scope, numbers; then routes it.
    pub(super) fn decide(&mut self, intent: OrderIntent) -> RiskDecision {
        self.orders_this_callback += 1;
        if self.orders_this_callback > self.max_orders_per_callback {
            let message = format!(
                "more than {} order intents in one callback (limits.max_orders_per_callback)",
                self.max_orders_per_callback
            );
            return self.refuse(Rejection {
                code: RejectCode::RateLimited,
                message,
            });
        }
        let Some(instrument) = self.market.instrument(&intent.instrument_id) else {
            let message = format!("unknown instrument `{}`", intent.instrument_id);
            return self.refuse(Rejection {
                code: RejectCode::UnknownInstrument,
                message,
            });
        };
        if !in_scope(self.instruments.as_ref(), &intent.instrument_id) {
            let message = format!(
                "instrument `{}` is outside this plugin's grant",
                intent.instrument_id
            );
            return self.refuse(Rejection {
                code: RejectCode::InstrumentNotAllowed,
                message,
            });
        }
        if let Err(rejection) = validate_intent(&intent, &instrument) {
            return self.refuse(rejection);
        }
        let order = ValidatedOrder {
            intent,
            instrument,
            event_ts: self.event_ts,
        };
        match self.router.submit(&order) {
            Ok(order_id) => {
                self.counts.accepted += 1;
                self.open_orders.push(order_id.clone());
                RiskDecision::Accepted(order_id)
            }
            Err(message) => self.refuse(Rejection {
                code: RejectCode::InternalError,
                message,
            }),
        }
    }
}
