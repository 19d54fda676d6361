//! Capability: the risk gate, the only path from a plugin to the market.
//!
//! Every intent is decided synchronously: contract checks, the trading state
//! ([`control`]), then the policy ([`policy`]). An accepted intent becomes a
//! [`ValidatedOrder`] (constructible only here) and is handed to the instance's
//! [`OrderRouter`]; a refused one gets a [`RejectCode`] from the contract's fixed list and a
//! message. Every decision is audited with the policy version and the state it was made
//! under. The router is the
//! only thing that talks to an execution venue (Nautilus in backtests and live), and it only
//! accepts orders this gate validated.

mod checks;
pub mod control;
mod decide;
mod host;
pub mod hub;
pub mod persist;
pub mod policy;
mod positions;
mod state;
mod validate;

pub use checks::OpenOrder;
pub use control::{Scope, TradingControl, TradingState};
pub use hub::RiskHub;
pub use policy::RiskPolicy;
pub use positions::Positions;
pub use state::{DecisionCounts, GateIdentity, RiskGateState};
pub use validate::{MAX_TAG_BYTES, PRICE_RAW_MAX, QUANTITY_RAW_MAX, validate_intent};

pub use crate::bindings::types::RejectCode;
use crate::bindings::types::{InstrumentInfo, OrderIntent};

/// An order intent the gate accepted. Only the gate can construct one, so a router can
/// never be handed an order that did not pass the gate.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidatedOrder {
    intent: OrderIntent,
    instrument: InstrumentInfo,
    event_ts: Option<u64>,
}

impl ValidatedOrder {
    /// The accepted intent.
    #[must_use]
    pub fn intent(&self) -> &OrderIntent {
        &self.intent
    }

    /// The instrument's definition at decision time.
    #[must_use]
    pub fn instrument(&self) -> &InstrumentInfo {
        &self.instrument
    }

    /// Event time of the callback in which the plugin submitted it.
    #[must_use]
    pub fn event_ts(&self) -> Option<u64> {
        self.event_ts
    }
}

/// The WIT name of a reject code (`invalid-price`, ...), used in reports and counters.
#[must_use]
pub const fn reject_code_name(code: RejectCode) -> &'static str {
    match code {
        RejectCode::UnknownInstrument => "unknown-instrument",
        RejectCode::InstrumentNotAllowed => "instrument-not-allowed",
        RejectCode::OrderTypeNotAllowed => "order-type-not-allowed",
        RejectCode::InvalidQuantity => "invalid-quantity",
        RejectCode::InvalidPrice => "invalid-price",
        RejectCode::InvalidOrder => "invalid-order",
        RejectCode::MaxOrderQuantity => "max-order-quantity",
        RejectCode::MaxOrderNotional => "max-order-notional",
        RejectCode::MaxPosition => "max-position",
        RejectCode::MaxGrossExposure => "max-gross-exposure",
        RejectCode::MaxOpenOrders => "max-open-orders",
        RejectCode::RateLimited => "rate-limited",
        RejectCode::PriceCollar => "price-collar",
        RejectCode::ReducingOnly => "reducing-only",
        RejectCode::Halted => "halted",
        RejectCode::UnknownOrder => "unknown-order",
        RejectCode::InternalError => "internal-error",
    }
}

/// Where accepted orders go: a Nautilus execution path, or a recorder in replays.
pub trait OrderRouter: Send {
    /// Submits an accepted order; returns its client order id, or why the venue side could
    /// not take it (reported to the plugin as `internal-error`).
    fn submit(&mut self, order: &ValidatedOrder) -> Result<String, String>;
    /// Requests cancellation of one of this plugin's open orders.
    fn cancel(&mut self, order_id: &str) -> Result<(), String>;
}
