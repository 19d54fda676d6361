//! The `risk-gate` interface as seen by the guest.

use super::state::RiskGateState;
use crate::{
    bindings::{
        risk_gate::Host,
        types::{
            InstrumentId, OrderId, OrderIntent, PositionView, RejectCode, Rejection, RiskDecision,
        },
    },
    capabilities::contract::{RejectTrap, check_granted, check_str},
};

impl Host for RiskGateState {
    fn submit_order(&mut self, intent: OrderIntent) -> wasmtime::Result<RiskDecision> {
        check_granted(self.granted, "risk-gate", "submit-order")?;
        check_str(
            &intent.instrument_id,
            "risk-gate.submit-order: instrument id",
        )?;
        if let Some(tag) = &intent.tag {
            check_str(tag, "risk-gate.submit-order: tag")?;
        }
        Ok(self.decide(intent))
    }

    fn cancel_order(&mut self, order_id: OrderId) -> Result<(), RejectTrap> {
        check_granted(self.granted, "risk-gate", "cancel-order")?;
        check_str(&order_id, "risk-gate.cancel-order: order id")?;
        if !self.open.iter().any(|o| o.id == order_id) {
            return Err(Rejection {
                code: RejectCode::UnknownOrder,
                message: format!("`{order_id}` is not an open order of this plugin"),
            }
            .into());
        }
        Ok(self.router.cancel(&order_id).map_err(|message| Rejection {
            code: RejectCode::InternalError,
            message,
        })?)
    }

    fn position(&mut self, instrument_id: InstrumentId) -> wasmtime::Result<PositionView> {
        check_granted(self.granted, "risk-gate", "position")?;
        check_str(&instrument_id, "risk-gate.position: instrument id")?;
        Ok(self.positions.view(&instrument_id))
    }

    fn open_orders(&mut self) -> wasmtime::Result<Vec<OrderId>> {
        check_granted(self.granted, "risk-gate", "open-orders")?;
        Ok(self.open_order_ids())
    }
}

/// `cancel-order`'s refusal travels as a trappable error type defined in `types`; the
/// generated linker needs its conversion on the gate's own state.
impl crate::bindings::types::Host for RiskGateState {
    fn convert_rejection(&mut self, err: RejectTrap) -> wasmtime::Result<Rejection> {
        err.into_wit()
    }
}
