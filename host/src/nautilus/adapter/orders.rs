//! The adapter's order path: what the risk gate accepted during a callback becomes a
//! Nautilus order (through Nautilus's order factory) and is submitted right after the
//! callback; a cancel the gate accepted is sent the same way.

use nautilus_model::{
    identifiers::{ClientOrderId, InstrumentId as NInstrumentId},
    orders::OrderAny,
};
use nautilus_trading::strategy::Strategy;
use ustr::Ustr;

use super::{ComponentStrategy, rejected};
use crate::{
    bindings::types::OrderKind,
    nautilus::{convert, router::Pending},
};

impl ComponentStrategy {
    pub(super) fn submit_pending(&mut self) {
        for pending in self.queue.drain() {
            match pending {
                Pending::Submit {
                    client_order_id,
                    order,
                } => {
                    let id = ClientOrderId::new(&client_order_id);
                    let result = self.build_order(id, &order).and_then(|o| {
                        self.submit_order(o, None, None, None)
                            .map_err(|e| e.to_string())
                    });
                    if let Err(reason) = result {
                        let ts = self.core.clock().timestamp_ns().as_u64();
                        let event = rejected(id, &order.intent().instrument_id, &reason, ts);
                        self.order_event(&event, true, None);
                    }
                }
                Pending::Cancel { client_order_id } => {
                    let id = ClientOrderId::new(&client_order_id);
                    if let Err(e) = self.cancel_order(id, None, None) {
                        tracing::warn!(strategy = %self.strategy_id(), "cancel of {id} failed: {e}");
                        self.cancel_refused(&client_order_id);
                    }
                }
            }
        }
    }

    fn build_order(
        &mut self,
        id: ClientOrderId,
        order: &crate::capabilities::risk_gate::ValidatedOrder,
    ) -> Result<OrderAny, String> {
        let intent = order.intent();
        let instrument_id: NInstrumentId = intent
            .instrument_id
            .parse()
            .map_err(|e| format!("instrument id `{}`: {e}", intent.instrument_id))?;
        let side = convert::to_side(intent.side);
        // The gate refused anything finer than the instrument; coarser values are re-expressed
        // at the instrument's precisions (exact: same raw integer), as Nautilus requires.
        let info = order.instrument();
        let (pp, sp) = (info.price_precision, info.size_precision);
        let qty = convert::to_quantity(crate::bindings::types::Quantity {
            raw: intent.quantity.raw,
            precision: sp,
        });
        let px = |p: crate::bindings::types::Price| {
            convert::to_price(crate::bindings::types::Price {
                raw: p.raw,
                precision: pp,
            })
        };
        let tif = Some(convert::to_time_in_force(intent.time_in_force));
        let reduce_only = Some(intent.reduce_only);
        let tags = intent.tag.as_deref().map(|t| vec![Ustr::from(t)]);
        let f = self.core.order_factory();
        Ok(match intent.kind {
            OrderKind::Market => f.market(
                instrument_id,
                side,
                qty,
                tif,
                reduce_only,
                None,
                None,
                None,
                tags,
                Some(id),
            ),
            OrderKind::Limit(px_limit) => f.limit(
                instrument_id,
                side,
                qty,
                px(px_limit),
                tif,
                None,
                None,
                reduce_only,
                None,
                None,
                None,
                None,
                None,
                None,
                tags,
                Some(id),
            ),
            OrderKind::StopMarket(trigger) => f.stop_market(
                instrument_id,
                side,
                qty,
                px(trigger),
                None,
                tif,
                None,
                reduce_only,
                None,
                None,
                None,
                None,
                None,
                None,
                tags,
                Some(id),
            ),
            OrderKind::StopLimit(p) => f.stop_limit(
                instrument_id,
                side,
                qty,
                px(p.limit),
                px(p.trigger),
                None,
                tif,
                None,
                None,
                reduce_only,
                None,
                None,
                None,
                None,
                None,
                None,
                tags,
                Some(id),
            ),
        })
    }
}
