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
use std::{borrow::Cow, collections::BTreeMap};

use serde::Serialize;
use serde_json::value::RawValue;

use crate::{
    audit::{self, AuditAction},
    bindings::types::{
        OrderIntent, OrderKind, OrderSide, RejectCode, Rejection, RiskDecision, TimeInForce,
    },
    capabilities::contract::in_scope,
};

/// An intent as its decision record shows it; fields in sorted order, so the record is
/// canonical JSON without an intermediate `Value` (the hashed bytes are the same as those
/// of the `Value` this replaced). Plugin-controlled strings are bounded
/// ([`audit::record::bounded`]).
#[derive(Serialize)]
struct IntentDetails<'a> {
    instrument_id: Cow<'a, str>,
    kind: &'static str,
    price: Option<String>,
    quantity: String,
    reduce_only: bool,
    side: &'static str,
    tag: Option<Cow<'a, str>>,
    trigger: Option<String>,
}

impl<'a> IntentDetails<'a> {
    fn of(intent: &'a OrderIntent) -> Self {
        let px =
            |p: crate::bindings::types::Price| super::policy::Amount(i128::from(p.raw)).to_string();
        let (kind, price, trigger) = match intent.kind {
            OrderKind::Market => ("market", None, None),
            OrderKind::Limit(p) => ("limit", Some(px(p)), None),
            OrderKind::StopMarket(p) => ("stop-market", None, Some(px(p))),
            OrderKind::StopLimit(s) => ("stop-limit", Some(px(s.limit)), Some(px(s.trigger))),
        };
        Self {
            instrument_id: audit::record::bounded(&intent.instrument_id),
            kind,
            price,
            quantity: super::policy::Amount(i128::from(intent.quantity.raw)).to_string(),
            reduce_only: intent.reduce_only,
            side: match intent.side {
                OrderSide::Buy => "buy",
                OrderSide::Sell => "sell",
            },
            tag: audit::record::bounded_opt(intent.tag.as_deref()),
            trigger,
        }
    }
}

/// The details of a decision record (sorted fields; see [`IntentDetails`]).
#[derive(Serialize)]
struct DecisionDetails<'a> {
    code: Option<&'static str>,
    decision: &'static str,
    event_ts: Option<u64>,
    intent: IntentDetails<'a>,
    message: Option<Cow<'a, str>>,
    order_id: Option<&'a str>,
    policy_sha256: &'a str,
    policy_version: &'a str,
    state: super::TradingState,
}

/// The details of the summary of refusals that had no record of their own.
#[derive(Serialize)]
struct SummaryDetails<'a> {
    codes: &'a BTreeMap<&'static str, u64>,
    count: u64,
    decision: &'static str,
    event_ts: Option<u64>,
    message: &'static str,
    policy_sha256: &'a str,
    policy_version: &'a str,
    state: super::TradingState,
}

/// Refusals in one callback that get a record each; the rest are counted by reason code in
/// one summary record (so a plugin cannot make the trail do work per intent it spams).
pub const REFUSALS_RECORDED_PER_CALLBACK: u64 = 8;

fn raw(details: &impl Serialize) -> Option<Box<RawValue>> {
    let raw = serde_json::value::to_raw_value(details).ok()?;
    Some(if raw.get().len() > audit::record::DETAILS_MAX {
        audit::record::raw_within_bound(raw.get().to_string())
    } else {
        raw
    })
}

impl RiskGateState {
    /// Records one decision; false if it could not be written.
    fn audit_decision(&self, actor: &str, intent: &OrderIntent, decision: &RiskDecision) -> bool {
        let policy = &self.hub.policy;
        let (outcome, order_id, code, message) = match decision {
            RiskDecision::Accepted(id) => ("accepted", Some(id.as_str()), None, None),
            RiskDecision::Rejected(r) => (
                "refused",
                None,
                Some(reject_code_name(r.code)),
                Some(audit::record::bounded(&r.message)),
            ),
        };
        let details = DecisionDetails {
            code,
            decision: outcome,
            event_ts: self.event_ts,
            intent: IntentDetails::of(intent),
            message,
            order_id,
            policy_sha256: &policy.sha256,
            policy_version: &policy.version,
            state: self.state,
        };
        let Some(details) = raw(&details) else {
            tracing::error!(plugin = %self.plugin, "decision not audited: cannot encode it");
            return false;
        };
        match self
            .hub
            .audit
            .append_raw(actor, AuditAction::OrderDecision, &self.subject, &details)
        {
            Ok(_) => true,
            Err(e) => {
                tracing::error!(plugin = %self.plugin, "decision not audited: {e}");
                false
            }
        }
    }

    fn refuse(&mut self, intent: &OrderIntent, rejection: Rejection) -> RiskDecision {
        let code = reject_code_name(rejection.code);
        *self.counts.rejected.entry(code.to_string()).or_default() += 1;
        self.refused_this_callback += 1;
        let decision = RiskDecision::Rejected(rejection);
        if self.refused_this_callback <= REFUSALS_RECORDED_PER_CALLBACK {
            // A refusal takes effect whether or not its record is written.
            let _ = self.audit_decision("risk-gate", intent, &decision);
        } else {
            *self.suppressed.entry(code).or_default() += 1;
        }
        decision
    }

    /// Intents beyond the per-callback limit are refused and counted like any refusal.
    fn refuse_over_callback_limit(&mut self, intent: &OrderIntent) -> RiskDecision {
        let message = format!(
            "more than {} order intents in one callback (max_orders_per_callback)",
            self.max_orders_per_callback
        );
        self.refuse(
            intent,
            Rejection {
                code: RejectCode::RateLimited,
                message,
            },
        )
    }

    /// Writes the summary of the refusals that had no record of their own (called when
    /// the next callback begins and when the gate is dropped).
    pub(super) fn flush_suppressed(&mut self) {
        if self.suppressed.is_empty() {
            return;
        }
        let details = SummaryDetails {
            codes: &self.suppressed,
            count: self.suppressed.values().sum(),
            decision: "refused",
            event_ts: self.event_ts,
            message: "further refusals in one callback, counted by reason code",
            policy_sha256: &self.hub.policy.sha256,
            policy_version: &self.hub.policy.version,
            state: self.state,
        };
        let result = raw(&details).map(|details| {
            self.hub.audit.append_raw(
                "risk-gate",
                AuditAction::OrderDecision,
                &self.subject,
                &details,
            )
        });
        self.suppressed.clear();
        match result {
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                tracing::error!(plugin = %self.plugin, "decision summary not audited: {e}");
            }
            None => tracing::error!(plugin = %self.plugin, "decision summary not encoded"),
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
        // The router only queues the order; it leaves for the venue after the callback.
        // So the decision is recorded first and, if that fails, the order is withdrawn
        // from the queue and refused: no order goes out unaudited (fail closed).
        let order_id = match self.router.submit(&order) {
            Ok(id) => id,
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
        let decision = RiskDecision::Accepted(order_id.clone());
        if !self.audit_decision(actor, &order.intent, &decision) {
            if self.router.withdraw(&order_id) {
                return self.refuse(
                    &order.intent,
                    Rejection {
                        code: RejectCode::InternalError,
                        message: "the decision could not be written to the audit trail, so the order was not sent".to_string(),
                    },
                );
            }
            tracing::error!(plugin = %self.plugin, order = %order_id, "the router cannot withdraw an unaudited order; it stands");
        }
        self.counts.accepted += 1;
        self.open.push(OpenOrder {
            id: order_id,
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

/// The last callback's summary of unrecorded refusals is written when the gate goes away
/// (end of a run, a swap, a stop), not lost.
impl Drop for RiskGateState {
    fn drop(&mut self) {
        self.flush_suppressed();
        self.flush_cancel_refusals();
    }
}
