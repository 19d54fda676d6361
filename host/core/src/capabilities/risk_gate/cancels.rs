//! The plugin's `cancel-order` requests: one router command per order until the venue
//! answers (a repeat is answered from state), at most `max_orders_per_callback` per
//! callback (the excess refused as `rate-limited`, the first refusal audited on its own and
//! the rest in one summary), and what became of them (decision 0021).

use serde::Serialize;

use super::state::RiskGateState;
use crate::{
    audit::AuditAction,
    bindings::types::{RejectCode, Rejection},
};

/// What became of the plugin's `cancel-order` requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CancelCounts {
    /// Sent to the router (one per order, until the venue answers).
    pub sent: u64,
    /// For an order whose cancel was already pending: answered from state, nothing queued.
    pub already_pending: u64,
    /// Refused: not an open order of the plugin.
    pub unknown: u64,
    /// Refused as `rate-limited`: over `max_orders_per_callback` cancels in one callback.
    pub over_limit: u64,
}

impl RiskGateState {
    /// What became of the plugin's cancel requests so far.
    #[must_use]
    pub fn cancel_counts(&self) -> CancelCounts {
        self.cancel_counts
    }

    /// Whether a cancel of `order_id` was sent and the venue has not answered yet.
    #[must_use]
    pub fn cancel_pending(&self, order_id: &str) -> bool {
        self.cancelling.contains(order_id)
    }

    /// The venue refused to cancel `order_id` (it stays open): the plugin may ask again.
    pub fn cancel_refused_by_venue(&mut self, order_id: &str) {
        self.cancelling.remove(order_id);
    }

    /// The plugin's `cancel-order`: an order already being cancelled is answered from
    /// state; otherwise at most `max_orders_per_callback` cancels per callback go to the
    /// router, and the excess is refused as `rate-limited`.
    pub(super) fn request_cancel(&mut self, order_id: &str) -> Result<(), Rejection> {
        if !self.open.iter().any(|o| o.id == order_id) {
            self.cancel_counts.unknown += 1;
            return Err(Rejection {
                code: RejectCode::UnknownOrder,
                message: format!("`{order_id}` is not an open order of this plugin"),
            });
        }
        if self.cancelling.contains(order_id) {
            self.cancel_counts.already_pending += 1;
            return Ok(());
        }
        if self.cancels_this_callback >= self.max_orders_per_callback {
            return Err(self.refuse_cancel_over_limit(order_id));
        }
        self.router.cancel(order_id).map_err(|message| Rejection {
            code: RejectCode::InternalError,
            message,
        })?;
        self.cancels_this_callback += 1;
        self.cancel_counts.sent += 1;
        self.cancelling.insert(order_id.to_string());
        Ok(())
    }

    /// A cancel over the per-callback cap: the first of a callback is audited on its own,
    /// the rest in one summary record when the next callback begins.
    fn refuse_cancel_over_limit(&mut self, order_id: &str) -> Rejection {
        self.cancel_counts.over_limit += 1;
        let rejection = Rejection {
            code: RejectCode::RateLimited,
            message: format!(
                "more than {} cancel requests in one callback (max_orders_per_callback); ask again in a later callback",
                self.max_orders_per_callback
            ),
        };
        if self.cancels_this_callback == self.max_orders_per_callback {
            self.cancels_this_callback += 1;
            self.audit_cancel_refusals(Some(order_id), &rejection.message, 1);
        } else {
            self.cancels_suppressed += 1;
        }
        rejection
    }

    fn audit_cancel_refusals(&self, order_id: Option<&str>, message: &str, count: u64) {
        let details = serde_json::json!({
            "decision": "refused",
            "request": "cancel",
            "order_id": order_id,
            "code": super::reject_code_name(RejectCode::RateLimited),
            "message": message,
            "count": count,
            "state": self.state,
            "policy_version": self.hub.policy.version,
            "policy_sha256": self.hub.policy.sha256,
            "event_ts": self.event_ts,
        });
        if let Err(e) = self.hub.audit.append(
            "risk-gate",
            AuditAction::OrderDecision,
            &self.subject,
            details,
        ) {
            tracing::error!(plugin = %self.plugin, "cancel refusal not audited: {e}");
        }
    }

    /// Writes the summary of the cancels refused without their own record.
    pub(super) fn flush_cancel_refusals(&mut self) {
        let count = std::mem::take(&mut self.cancels_suppressed);
        if count > 0 {
            self.audit_cancel_refusals(
                None,
                "further cancel requests beyond max_orders_per_callback in one callback",
                count,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use crate::capabilities::risk_gate::{GateIdentity, RiskGateState};
    use crate::{
        audit::{AuditAction, AuditLog},
        bindings::{
            risk_gate::Host,
            types::{OrderCancelled, OrderEvent, OrderSide, RejectCode},
        },
        capabilities::{
            contract::HostError,
            market_data::MarketDataSource,
            risk_gate::{OpenOrder, OrderRouter, RiskHub, ValidatedOrder},
        },
        stubs::StaticMarket,
    };

    /// Counts what reaches the venue side.
    #[derive(Debug, Clone, Default)]
    struct Commands(Arc<Mutex<Vec<String>>>);

    impl OrderRouter for Commands {
        fn submit(&mut self, _order: &ValidatedOrder) -> Result<String, String> {
            Err("not in this test".into())
        }
        fn cancel(&mut self, order_id: &str) -> Result<(), String> {
            self.0.lock().unwrap().push(order_id.to_string());
            Ok(())
        }
    }

    /// A gate with `open` open orders `O-1`.. and a cap of `per_callback`.
    fn gate(open: usize, per_callback: u64) -> (RiskGateState, Commands, AuditLog) {
        let market: Arc<dyn MarketDataSource> = Arc::new(StaticMarket::gbpusd_and(&[]));
        let commands = Commands::default();
        let audit = AuditLog::memory();
        let mut g = RiskGateState::new(
            true,
            None,
            market,
            Box::new(commands.clone()),
            per_callback,
            GateIdentity {
                plugin: "p".into(),
                sha256: "00".into(),
                hub: RiskHub::permissive(audit.clone()),
            },
        );
        for i in 1..=open {
            g.open.push(OpenOrder {
                id: format!("O-{i}"),
                instrument_id: "GBP/USD.FXCM".into(),
                side: OrderSide::Buy,
                remaining: 1,
            });
        }
        g.begin_callback(Some(1));
        (g, commands, audit)
    }

    fn code(r: Result<(), HostError<crate::bindings::types::Rejection>>) -> Option<RejectCode> {
        match r {
            Ok(()) => None,
            Err(HostError::Wit(r)) => Some(r.code),
            Err(HostError::Trap(t)) => panic!("trap: {t}"),
        }
    }

    #[test]
    fn a_repeated_cancel_is_answered_from_state_until_the_venue_answers() {
        let (mut g, commands, _) = gate(1, 64);
        for _ in 0..1_000 {
            assert_eq!(code(g.cancel_order("O-1".into())), None);
        }
        g.begin_callback(Some(2));
        assert_eq!(code(g.cancel_order("O-1".into())), None);
        assert_eq!(
            commands.0.lock().unwrap().len(),
            1,
            "one command for 1,001 cancels"
        );
        assert_eq!(g.cancel_counts().sent, 1);
        assert_eq!(g.cancel_counts().already_pending, 1_000);
        assert!(g.cancel_pending("O-1"));

        // The venue refuses that cancel: the plugin may ask again, once.
        g.cancel_refused_by_venue("O-1");
        assert_eq!(code(g.cancel_order("O-1".into())), None);
        assert_eq!(code(g.cancel_order("O-1".into())), None);
        assert_eq!(commands.0.lock().unwrap().len(), 2);

        // The venue cancels it: no longer open, no longer pending.
        g.on_order_event(&OrderEvent::Cancelled(OrderCancelled {
            order_id: "O-1".into(),
            instrument_id: "GBP/USD.FXCM".into(),
            ts_event: 3,
        }));
        assert!(!g.cancel_pending("O-1"));
        assert_eq!(
            code(g.cancel_order("O-1".into())),
            Some(RejectCode::UnknownOrder)
        );
        assert_eq!(commands.0.lock().unwrap().len(), 2);
    }

    #[test]
    fn cancels_over_the_per_callback_cap_are_refused_as_rate_limited_and_audited() {
        let (mut g, commands, audit) = gate(100, 8);
        let codes: Vec<_> = (1..=100)
            .map(|i| code(g.cancel_order(format!("O-{i}"))))
            .collect();
        assert!(codes[..8].iter().all(Option::is_none), "{codes:?}");
        assert!(
            codes[8..]
                .iter()
                .all(|c| *c == Some(RejectCode::RateLimited)),
            "{codes:?}"
        );
        assert_eq!(commands.0.lock().unwrap().len(), 8);
        // Already pending is answered from state even over the cap.
        assert_eq!(code(g.cancel_order("O-1".into())), None);
        let refusals = || {
            audit
                .records()
                .into_iter()
                .filter(|r| r.action == AuditAction::OrderDecision)
                .map(|r| r.details())
                .collect::<Vec<_>>()
        };
        let first = refusals();
        assert_eq!(first.len(), 1, "{first:?}");
        assert_eq!(first[0]["request"], "cancel");
        assert_eq!(first[0]["code"], "rate-limited");
        assert_eq!(first[0]["order_id"], "O-9");
        assert_eq!(first[0]["count"], 1);

        // The next callback: the rest in one summary, and 8 more cancels go out.
        g.begin_callback(Some(2));
        let all = refusals();
        assert_eq!(all.len(), 2, "{all:?}");
        assert_eq!(all[1]["count"], 91);
        for i in 9..=20 {
            let _ = g.cancel_order(format!("O-{i}"));
        }
        assert_eq!(commands.0.lock().unwrap().len(), 16);
        let c = g.cancel_counts();
        assert_eq!((c.sent, c.over_limit, c.already_pending), (16, 96, 1));
    }

    #[test]
    fn an_operator_flatten_is_taken_once_and_flattens_whatever_the_policy_says() {
        let (mut g, _, _) = gate(2, 64);
        assert!(
            !g.hub.policy.halt.flatten,
            "the permissive policy does not flatten"
        );
        assert_eq!(g.take_halt(), None);
        g.hub
            .control
            .flatten(
                &crate::capabilities::risk_gate::Scope::All,
                "close it all",
                "op",
                None,
            )
            .unwrap();
        assert_eq!(g.take_halt(), Some(true));
        assert_eq!(g.take_halt(), None, "once per request");
        // A plain halt after a resume does not flatten under this policy.
        let all = crate::capabilities::risk_gate::Scope::All;
        g.hub.control.resume(&all, "back", "op", None).unwrap();
        assert_eq!(g.take_halt(), None);
        g.hub.control.halt(&all, "stop", "op", None).unwrap();
        assert_eq!(g.take_halt(), Some(false));
    }
}
