//! The `risk-gate` interface as seen by the guest. Every call is charged fuel for itself and
//! for the bytes it copies (decision 0021).

use super::state::RiskGateState;
use crate::{
    bindings::{
        risk_gate::Host,
        types::{InstrumentId, OrderId, OrderIntent, PositionView, Rejection, RiskDecision},
    },
    capabilities::contract::{RejectTrap, check_granted, check_str},
    sandbox::charge_host_call,
};

fn intent_bytes(intent: &OrderIntent) -> usize {
    intent.instrument_id.len() + intent.tag.as_ref().map_or(0, String::len)
}

fn decision_bytes(decision: &RiskDecision) -> usize {
    match decision {
        RiskDecision::Accepted(id) => id.len(),
        RiskDecision::Rejected(r) => r.message.len(),
    }
}

impl Host for RiskGateState {
    fn submit_order(&mut self, intent: OrderIntent) -> wasmtime::Result<RiskDecision> {
        let bytes_in = intent_bytes(&intent);
        let decision = (|| {
            check_granted(self.granted, "risk-gate", "submit-order")?;
            check_str(
                &intent.instrument_id,
                "risk-gate.submit-order: instrument id",
            )?;
            if let Some(tag) = &intent.tag {
                check_str(tag, "risk-gate.submit-order: tag")?;
            }
            Ok(self.decide(intent))
        })();
        charge_host_call(bytes_in + decision.as_ref().map_or(0, decision_bytes));
        decision
    }

    fn cancel_order(&mut self, order_id: OrderId) -> Result<(), RejectTrap> {
        let result = (|| -> Result<(), RejectTrap> {
            check_granted(self.granted, "risk-gate", "cancel-order")?;
            check_str(&order_id, "risk-gate.cancel-order: order id")?;
            Ok(self.request_cancel(&order_id)?)
        })();
        let bytes_out = match &result {
            Err(RejectTrap::Wit(r)) => r.message.len(),
            _ => 0,
        };
        charge_host_call(order_id.len() + bytes_out);
        result
    }

    fn position(&mut self, instrument_id: InstrumentId) -> wasmtime::Result<PositionView> {
        charge_host_call(2 * instrument_id.len());
        check_granted(self.granted, "risk-gate", "position")?;
        check_str(&instrument_id, "risk-gate.position: instrument id")?;
        Ok(self.positions.view(&instrument_id))
    }

    fn open_orders(&mut self) -> wasmtime::Result<Vec<OrderId>> {
        check_granted(self.granted, "risk-gate", "open-orders")?;
        let ids = self.open_order_ids();
        // Each id's bytes plus its (pointer, length) pair in the list.
        charge_host_call(ids.iter().map(|id| id.len() + 8).sum());
        Ok(ids)
    }
}

/// `cancel-order`'s refusal travels as a trappable error type defined in `types`; the
/// generated linker needs its conversion on the gate's own state.
impl crate::bindings::types::Host for RiskGateState {
    fn convert_rejection(&mut self, err: RejectTrap) -> wasmtime::Result<Rejection> {
        err.into_wit()
    }
}
