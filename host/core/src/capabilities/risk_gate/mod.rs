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

mod cancels;
pub mod checkpoint;
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

pub use cancels::CancelCounts;
pub use checks::OpenOrder;
pub use control::{Scope, TradingControl, TradingState};
pub use decide::REFUSALS_RECORDED_PER_CALLBACK;
pub use hub::{RiskHub, SharedRisk};
pub use policy::RiskPolicy;
pub use positions::Positions;
pub use state::{DecisionCounts, GateIdentity, RiskGateState};
pub use validate::{MAX_TAG_BYTES, PRICE_RAW_MAX, QUANTITY_RAW_MAX, validate_intent};

use std::sync::Arc;

use stratbox_manifest::Capability;
use wasmtime::component::{HasSelf, Linker};

use super::{CapabilityUnit, Prepare, contract::requested_instruments};
pub use crate::bindings::types::RejectCode;
use crate::{
    bindings::{
        self,
        types::{InstrumentInfo, OrderIntent},
    },
    sandbox::Callback,
};

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
    /// Takes back an order submitted in this callback that has not left yet (its decision
    /// could not be audited). True if it will not reach the venue; routers that send at
    /// once cannot, and keep the default.
    fn withdraw(&mut self, _order_id: &str) -> bool {
        false
    }
}

/// The router of a gate whose environment's router was already taken: refuses every order
/// (the risk gate reports `internal-error`), so a wiring mistake cannot send orders anywhere.
#[derive(Debug)]
struct NoRouter;

impl OrderRouter for NoRouter {
    fn submit(&mut self, _order: &ValidatedOrder) -> Result<String, String> {
        Err("this instance has no order router".into())
    }

    fn cancel(&mut self, _order_id: &str) -> Result<(), String> {
        Err("this instance has no order router".into())
    }
}

impl CapabilityUnit for RiskGateState {
    const CAPABILITY: Option<Capability> = Some(Capability::RiskGate);

    fn link<T: 'static>(
        linker: &mut Linker<T>,
        get: fn(&mut T) -> &mut Self,
    ) -> wasmtime::Result<()> {
        bindings::risk_gate::add_to_linker::<T, HasSelf<Self>>(linker, get)
    }

    /// Takes the environment's router: an instance has exactly one gate.
    fn prepare(cx: &mut Prepare<'_>) -> Self {
        let router = cx
            .router
            .take()
            .unwrap_or_else(|| Box::new(NoRouter) as Box<dyn OrderRouter>);
        let manifest = cx.component.manifest();
        Self::new(
            cx.granted(Capability::RiskGate),
            requested_instruments(cx.request(Capability::RiskGate)),
            Arc::clone(cx.market),
            router,
            cx.limits().max_orders_per_callback,
            GateIdentity {
                plugin: manifest.name.clone(),
                sha256: cx.component.sha256().to_string(),
                hub: Arc::clone(cx.risk),
            },
        )
    }

    fn begin_callback(&mut self, _callback: Callback, event_ts: Option<u64>) {
        RiskGateState::begin_callback(self, event_ts);
    }

    fn take_over(&mut self, from: &mut Self) -> Result<(), String> {
        self.take_over_session(from)
    }

    fn revoke(&mut self) {
        self.granted = false;
    }
}

#[cfg(test)]
mod audit_tests;

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use stratbox_manifest::{Capability, CapabilityRequest};

    use super::{CapabilityUnit, GateIdentity, OrderRouter, RiskGateState, RiskHub};
    use crate::{
        audit::AuditLog,
        bindings::{risk_gate::Host, types::Host as _},
        capabilities::{contract::HostError, market_data::MarketDataSource},
        sandbox::HostTrap,
        stubs::StaticMarket,
    };

    fn gate(router: Box<dyn OrderRouter>) -> RiskGateState {
        let market: Arc<dyn MarketDataSource> = Arc::new(StaticMarket::gbpusd_and(&[]));
        RiskGateState::new(
            true,
            None,
            market,
            router,
            8,
            GateIdentity {
                plugin: "p".into(),
                sha256: "00".into(),
                hub: RiskHub::permissive(AuditLog::memory()),
            },
        )
    }

    #[test]
    fn unknown_cancels_are_wit_errors_and_a_revoked_gate_traps() {
        let mut g = gate(Box::new(super::NoRouter));
        assert_eq!(RiskGateState::CAPABILITY, Some(Capability::RiskGate));
        match g.cancel_order("O-1".into()) {
            Err(HostError::Wit(r)) => {
                assert_eq!(r.code, super::RejectCode::UnknownOrder);
                assert_eq!(g.convert_rejection(HostError::Wit(r.clone())).unwrap(), r);
            }
            other => panic!("{other:?}"),
        }
        CapabilityUnit::revoke(&mut g);
        let trap = Host::open_orders(&mut g).unwrap_err();
        assert!(matches!(
            trap.downcast_ref::<HostTrap>(),
            Some(HostTrap::CapabilityDenied { .. })
        ));
    }

    #[test]
    fn scope_is_the_requested_instruments_narrowed_by_the_grant() {
        let req = |i: &[&str]| CapabilityRequest {
            instruments: i.iter().map(|s| (*s).to_string()).collect(),
            ..CapabilityRequest::default()
        };
        let scope = RiskGateState::scope(&req(&["A", "B"]), &req(&["B"])).unwrap();
        assert_eq!(scope.instruments, ["B"]);
        assert!(RiskGateState::scope(&req(&["A"]), &req(&["B"])).is_err());
    }

    #[test]
    fn a_gate_without_a_router_refuses_to_route() {
        let mut r = super::NoRouter;
        assert!(r.cancel("O-1").is_err());
    }
}
