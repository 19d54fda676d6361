//! The decision on one intent: contract checks, then state and policy, then routing; every
//! decision audited. Also the two things the gate does on its own after a halt: cancel the
//! plugin's open orders and, when the policy says so, close its positions.

use super::{
    ValidatedOrder,
    checks::{self, OpenOrder, SECOND_NS, View},
    reject_code_name,
    state::RiskGateState,
    validate_intent,
};
use crate::{
    audit::AuditAction,
    bindings::types::{
        OrderIntent, OrderKind, OrderSide, RejectCode, Rejection, RiskDecision, TimeInForce,
    },
    capabilities::contract::in_scope,
};

fn intent_json(intent: &OrderIntent) -> serde_json::Value {
    let px =
        |p: crate::bindings::types::Price| super::policy::Amount(i128::from(p.raw)).to_string();
    let (kind, price, trigger) = match intent.kind {
        OrderKind::Market => ("market", None, None),
        OrderKind::Limit(p) => ("limit", Some(px(p)), None),
        OrderKind::StopMarket(p) => ("stop-market", None, Some(px(p))),
        OrderKind::StopLimit(s) => ("stop-limit", Some(px(s.limit)), Some(px(s.trigger))),
    };
    serde_json::json!({
        "instrument_id": intent.instrument_id,
        "side": match intent.side { OrderSide::Buy => "buy", OrderSide::Sell => "sell" },
        "kind": kind,
        "quantity": super::policy::Amount(i128::from(intent.quantity.raw)).to_string(),
        "price": price,
        "trigger": trigger,
        "reduce_only": intent.reduce_only,
        "tag": intent.tag,
    })
}

impl RiskGateState {
    fn audit_decision(&self, actor: &str, intent: &OrderIntent, decision: &RiskDecision) {
        let policy = &self.hub.policy;
        let (outcome, order_id, code, message) = match decision {
            RiskDecision::Accepted(id) => ("accepted", Some(id.as_str()), None, None),
            RiskDecision::Rejected(r) => (
                "refused",
                None,
                Some(reject_code_name(r.code)),
                Some(r.message.as_str()),
            ),
        };
        let details = serde_json::json!({
            "decision": outcome,
            "order_id": order_id,
            "code": code,
            "message": message,
            "intent": intent_json(intent),
            "state": self.state,
            "policy_version": policy.version,
            "policy_sha256": policy.sha256,
            "event_ts": self.event_ts,
        });
        if let Err(e) =
            self.hub
                .audit
                .append(actor, AuditAction::OrderDecision, &self.subject, details)
        {
            tracing::error!(plugin = %self.plugin, "decision not audited: {e}");
        }
    }

    fn refuse(&mut self, intent: &OrderIntent, rejection: Rejection) -> RiskDecision {
        *self
            .counts
            .rejected
            .entry(reject_code_name(rejection.code).to_string())
            .or_default() += 1;
        let decision = RiskDecision::Rejected(rejection);
        self.audit_decision("risk-gate", intent, &decision);
        decision
    }

    /// Intents beyond the per-callback limit are refused and counted; the first is recorded
    /// like any decision, the rest in one summary record when the next callback begins, so
    /// a plugin cannot make the audit trail do work for each intent it spams.
    fn refuse_over_callback_limit(&mut self, intent: &OrderIntent) -> RiskDecision {
        let message = format!(
            "more than {} order intents in one callback (max_orders_per_callback)",
            self.max_orders_per_callback
        );
        let rejection = Rejection {
            code: RejectCode::RateLimited,
            message,
        };
        if self.orders_this_callback == self.max_orders_per_callback + 1 {
            return self.refuse(intent, rejection);
        }
        *self
            .counts
            .rejected
            .entry(reject_code_name(rejection.code).to_string())
            .or_default() += 1;
        self.suppressed += 1;
        RiskDecision::Rejected(rejection)
    }

    /// Writes the summary of the intents refused without their own record.
    pub(super) fn flush_suppressed(&mut self) {
        if self.suppressed == 0 {
            return;
        }
        let details = serde_json::json!({
            "decision": "refused",
            "code": reject_code_name(RejectCode::RateLimited),
            "message": "further intents beyond max_orders_per_callback in one callback",
            "count": self.suppressed,
            "state": self.state,
            "policy_version": self.hub.policy.version,
            "policy_sha256": self.hub.policy.sha256,
            "event_ts": self.event_ts,
        });
        self.suppressed = 0;
        if let Err(e) = self.hub.audit.append(
            "risk-gate",
            AuditAction::OrderDecision,
            &self.subject,
            details,
        ) {
            tracing::error!(plugin = %self.plugin, "decision summary not audited: {e}");
        }
    }

    /// Decides one intent of the plugin. The order of checks is fixed: per-callback rate,
    /// instrument known, in scope, contract numbers, then state and policy
    /// ([`checks::check`]); only then is the order routed.
    pub(super) fn decide(&mut self, intent: OrderIntent) -> RiskDecision {
        self.orders_this_callback += 1;
        if self.orders_this_callback > self.max_orders_per_callback {
            return self.refuse_over_callback_limit(&intent);
        }
        self.refresh_state();
        let Some(instrument) = self.market.instrument(&intent.instrument_id) else {
            let message = format!("unknown instrument `{}`", intent.instrument_id);
            return self.refuse(
                &intent,
                Rejection {
                    code: RejectCode::UnknownInstrument,
                    message,
                },
            );
        };
        if !in_scope(self.instruments.as_ref(), &intent.instrument_id) {
            let message = format!(
                "instrument `{}` is outside this plugin's grant",
                intent.instrument_id
            );
            return self.refuse(
                &intent,
                Rejection {
                    code: RejectCode::InstrumentNotAllowed,
                    message,
                },
            );
        }
        if let Err(rejection) = validate_intent(&intent, &instrument) {
            return self.refuse(&intent, rejection);
        }
        let now = self.event_ts.unwrap_or(0);
        self.prune_recent(now);
        let verdict = {
            let mut book = self.hub.book();
            while book
                .recent
                .front()
                .is_some_and(|t| t.saturating_add(SECOND_NS) <= now)
            {
                book.recent.pop_front();
            }
            let view = View {
                state: self.state,
                state_reason: &self.state_reason,
                policy: &self.hub.policy,
                limits: &self.limits,
                global: &self.hub.policy.global,
                positions: &self.positions,
                open_count: self.open.len(),
                pending: self.pending(&intent.instrument_id),
                recent: self.recent.len(),
                recent_global: book.recent.len(),
                others: book.others(&self.book_key),
                market: self.market.as_ref(),
            };
            checks::check(&intent, &instrument, &view)
        };
        if let Err(rejection) = verdict {
            return self.refuse(&intent, rejection);
        }
        self.route(intent, instrument, "risk-gate")
    }

    fn route(
        &mut self,
        intent: OrderIntent,
        instrument: crate::bindings::types::InstrumentInfo,
        actor: &str,
    ) -> RiskDecision {
        let order = ValidatedOrder {
            intent,
            instrument,
            event_ts: self.event_ts,
        };
        let decision = match self.router.submit(&order) {
            Ok(order_id) => {
                self.counts.accepted += 1;
                self.open.push(OpenOrder {
                    id: order_id.clone(),
                    instrument_id: order.intent.instrument_id.clone(),
                    side: order.intent.side,
                    remaining: order.intent.quantity.raw,
                });
                self.add_pending(
                    &order.intent.instrument_id,
                    order.intent.side,
                    order.intent.quantity.raw,
                    true,
                );
                let now = self.event_ts.unwrap_or(0);
                self.recent.push_back(now);
                self.hub.book().recent.push_back(now);
                self.publish();
                RiskDecision::Accepted(order_id)
            }
            Err(message) => {
                return self.refuse(
                    &order.intent,
                    Rejection {
                        code: RejectCode::InternalError,
                        message,
                    },
                );
            }
        };
        self.audit_decision(actor, &order.intent, &decision);
        decision
    }

    /// Asks the venue to cancel every open order of the plugin (after a halt or a fault).
    /// Returns the ids asked for.
    pub fn cancel_all(&mut self) -> Vec<String> {
        let ids = self.open_order_ids();
        for id in &ids {
            if let Err(e) = self.router.cancel(id) {
                tracing::warn!(plugin = %self.plugin, "cancel of {id} failed: {e}");
            }
        }
        ids
    }

    /// Closes every position of the plugin with reduce-only market orders, decided and
    /// audited by the gate as the host's own (actor `risk-gate:flatten`). Used after a
    /// halt when the policy sets `halt.flatten`.
    pub fn flatten(&mut self) -> Vec<RiskDecision> {
        let positions: Vec<(String, i128, u8)> = self
            .positions
            .iter()
            .filter(|(_, qty, ..)| *qty != 0)
            .map(|(id, qty, ..)| {
                let precision = self.positions.view(id).quantity.precision;
                (id.to_string(), qty, precision)
            })
            .collect();
        let mut decisions = Vec::new();
        for (id, qty, precision) in positions {
            let intent = OrderIntent {
                instrument_id: id.clone(),
                side: if qty > 0 {
                    OrderSide::Sell
                } else {
                    OrderSide::Buy
                },
                kind: OrderKind::Market,
                quantity: crate::bindings::types::Quantity {
                    raw: u64::try_from(qty.unsigned_abs()).unwrap_or(u64::MAX),
                    precision,
                },
                time_in_force: TimeInForce::Ioc,
                reduce_only: true,
                tag: Some("flatten".to_string()),
            };
            let decision = match self.market.instrument(&id) {
                Some(instrument) => self.route(intent, instrument, "risk-gate:flatten"),
                None => self.refuse(
                    &intent,
                    Rejection {
                        code: RejectCode::UnknownInstrument,
                        message: format!("cannot flatten: `{id}` is no longer known"),
                    },
                ),
            };
            decisions.push(decision);
        }
        decisions
    }
}
