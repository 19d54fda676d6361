//! The adapter's side of a hot-swap (see [`crate::nautilus::hotswap`]): taking a posted
//! swap between two events, probation bookkeeping, commit and rollback.

use super::ComponentStrategy;
use crate::{
    capabilities::Instance,
    nautilus::{
        hotswap::{AdapterEvent, Probation, SwapReply, SwapRequest},
        router::Pending,
    },
    sandbox::CallError,
};

impl ComponentStrategy {
    pub(super) fn emit_fault(&self, record: &crate::sandbox::FaultRecord) {
        if let Some(point) = &self.swap {
            point.emit(AdapterEvent::Fault {
                plugin: record.plugin.clone(),
                sha256: record.sha256.clone(),
                fault: record.fault.to_string(),
                callback: record.callback.to_string(),
                event_ts: record.event_ts,
            });
        }
    }

    pub(super) fn on_probation(&self) -> bool {
        self.swap.as_ref().is_some_and(|s| s.probation.is_some())
    }

    /// Takes a posted swap, if any, and tries it between this event and the previous one.
    pub(super) fn poll_swap(&mut self) {
        let Some(point) = self.swap.as_mut() else {
            return;
        };
        let Some(request) = point.slot.take() else {
            return;
        };
        let SwapRequest {
            mut new,
            probation_events,
            actor,
            reply,
        } = request;
        let to_sha256 = new.sha256().to_string();
        if let Some(p) = &point.probation {
            let reason = format!(
                "the previous swap is still on probation ({} events to go)",
                p.remaining
            );
            let _ = reply.send(SwapReply::Refused { reason });
            return;
        }
        let started = std::time::Instant::now();
        let outcome = {
            let mut current = self.instance.borrow_mut();
            swap_in(&mut current, &mut new)
        };
        let pause = started.elapsed();
        // After a successful swap `new` holds the previous instance.
        let from_sha256 = if outcome.is_ok() {
            new.sha256().to_string()
        } else {
            self.instance.borrow().sha256().to_string()
        };
        let event_ts = Some(self.core.clock().timestamp_ns().as_u64());
        let point = self.swap.as_mut().expect("checked above");
        match outcome {
            Ok(state) => {
                let details = serde_json::json!({
                    "from_sha256": from_sha256,
                    "to_sha256": to_sha256,
                    "pause_ns": pause.as_nanos() as u64,
                    "state_bytes": state.len(),
                    "probation_events": probation_events,
                    "event_ts": event_ts,
                });
                audit_or_warn(
                    &point.audit,
                    &actor,
                    crate::audit::AuditAction::PluginSwapped,
                    &point.subject,
                    details,
                );
                point.emit(AdapterEvent::Swapped {
                    from_sha256,
                    to_sha256: to_sha256.clone(),
                    pause_ns: pause.as_nanos() as u64,
                    state_bytes: state.len(),
                    probation_events,
                    event_ts,
                });
                let _ = reply.send(SwapReply::Swapped {
                    pause,
                    state_bytes: state.len(),
                    probation_events,
                });
                point.probation = Some(Probation {
                    old: new,
                    remaining: probation_events,
                    handled: 0,
                    last_good: state,
                    actor,
                });
                if probation_events == 0 {
                    self.commit();
                }
            }
            Err(reason) => {
                let details = serde_json::json!({
                    "phase": "take-over",
                    "from_sha256": from_sha256,
                    "to_sha256": to_sha256,
                    "reason": reason,
                });
                audit_or_warn(
                    &point.audit,
                    &actor,
                    crate::audit::AuditAction::SwapRolledBack,
                    &point.subject,
                    details,
                );
                point.emit(AdapterEvent::SwapRefused {
                    to_sha256,
                    reason: reason.clone(),
                });
                let _ = reply.send(SwapReply::Refused { reason });
            }
        }
    }

    /// The new version handled an event: remember its state; commit when probation ends.
    pub(super) fn probation_passed_event(&mut self) {
        let Some(p) = self.swap.as_mut().and_then(|s| s.probation.as_mut()) else {
            return;
        };
        p.handled += 1;
        p.remaining = p.remaining.saturating_sub(1);
        let done = p.remaining == 0;
        let snap = self.instance.borrow_mut().snapshot();
        match snap {
            Ok(state) => {
                if let Some(p) = self.swap.as_mut().and_then(|s| s.probation.as_mut()) {
                    p.last_good = state;
                }
                if done {
                    self.commit();
                }
            }
            Err(CallError::Faulted(record)) => {
                // Its snapshot faulted (it is quarantined): back to the previous version
                // from the last state it had before this event.
                self.roll_back(&record.to_string(), record.event_ts);
            }
            Err(CallError::Quarantined { .. }) => {}
        }
    }

    pub(super) fn commit(&mut self) {
        let Some(point) = self.swap.as_mut() else {
            return;
        };
        let Some(p) = point.probation.take() else {
            return;
        };
        let sha256 = self.instance.borrow().sha256().to_string();
        let details = serde_json::json!({
            "sha256": sha256,
            "previous_sha256": p.old.sha256(),
            "events": p.handled,
        });
        audit_or_warn(
            &point.audit,
            &p.actor,
            crate::audit::AuditAction::SwapCommitted,
            &point.subject,
            details,
        );
        point.emit(AdapterEvent::Committed {
            sha256,
            events: p.handled,
        });
    }

    /// The new version faulted on probation: discard what it queued, hand the session
    /// back, restore the previous version and make it current. False if that failed (the
    /// deployment is then faulted like any quarantined plugin).
    pub(super) fn roll_back(&mut self, reason: &str, event_ts: Option<u64>) -> bool {
        let Some(mut p) = self.swap.as_mut().and_then(|s| s.probation.take()) else {
            return false;
        };
        let outcome = {
            let mut current = self.instance.borrow_mut();
            for pending in self.queue.drain() {
                if let Pending::Submit {
                    client_order_id, ..
                } = pending
                {
                    current.host_mut().risk_gate.order_closed(&client_order_id);
                }
            }
            swap_back(&mut current, &mut p.old, &p.last_good)
        };
        let point = self.swap.as_mut().expect("probation implies a swap point");
        let (from_sha256, to_sha256) = (
            p.old.sha256().to_string(),
            self.instance.borrow().sha256().to_string(),
        );
        match outcome {
            Ok(state) => {
                let details = serde_json::json!({
                    "phase": "probation",
                    "reason": reason,
                    "faulty_sha256": from_sha256,
                    "restored_sha256": to_sha256,
                    "events_on_new": p.handled,
                    "state": state,
                    "event_ts": event_ts,
                });
                audit_or_warn(
                    &point.audit,
                    "host",
                    crate::audit::AuditAction::SwapRolledBack,
                    &point.subject,
                    details,
                );
                point.emit(AdapterEvent::RolledBack {
                    from_sha256,
                    to_sha256,
                    reason: reason.to_string(),
                    events_on_new: p.handled,
                    state: state.to_string(),
                    event_ts,
                });
                true
            }
            Err(why) => {
                let details = serde_json::json!({
                    "phase": "probation",
                    "reason": reason,
                    "rollback_failed": why,
                    "faulty_sha256": self.instance.borrow().sha256(),
                });
                audit_or_warn(
                    &point.audit,
                    "host",
                    crate::audit::AuditAction::SwapRolledBack,
                    &point.subject,
                    details,
                );
                tracing::error!(subject = %point.subject, "rollback failed: {why}");
                false
            }
        }
    }
}

/// Moves `new` in place of `current`: the running state into `new`, the session handed
/// over, then the two exchanged (`new` then holds the previous instance). Returns the
/// state that moved.
fn swap_in(current: &mut Instance, new: &mut Instance) -> Result<Vec<u8>, String> {
    if current.is_quarantined() {
        return Err("the running version is quarantined; deploy again instead".into());
    }
    let state = current
        .snapshot()
        .map_err(|e| format!("the running version's snapshot() failed: {e}"))?;
    match new.restore(&state) {
        Ok(Ok(())) => {}
        Ok(Err(message)) => {
            return Err(format!(
                "the new version refused the running state: {message}"
            ));
        }
        Err(e) => return Err(format!("the new version faulted in restore(): {e}")),
    }
    crate::capabilities::hand_over(current, new)?;
    std::mem::swap(current, new);
    Ok(state)
}

/// Puts `old` back in place of the faulted `current`: the session handed back, `old`
/// restored from `last_good` (the faulted version's last good state) if it accepts it,
/// and the two exchanged. Returns which state `old` resumed from.
fn swap_back(
    current: &mut Instance,
    old: &mut Instance,
    last_good: &[u8],
) -> Result<&'static str, String> {
    crate::capabilities::hand_over(current, old)?;
    let state = match old.restore(last_good) {
        Ok(Ok(())) => "latest",
        // Refused: its own state from the swap is untouched (restore decodes first).
        Ok(Err(_)) => "at-swap",
        Err(e) => {
            // The previous version is quarantined now: the book goes back to the faulted
            // one, whose fault handling cancels the open orders.
            let back = crate::capabilities::hand_over(old, current);
            return Err(format!(
                "the previous version faulted in restore(): {e}{}",
                back.err()
                    .map(|b| format!("; handing the book back failed: {b}"))
                    .unwrap_or_default()
            ));
        }
    };
    std::mem::swap(current, old);
    Ok(state)
}

fn audit_or_warn(
    audit: &crate::audit::AuditLog,
    actor: &str,
    action: crate::audit::AuditAction,
    subject: &str,
    details: serde_json::Value,
) {
    if let Err(e) = audit.append(actor, action, subject, details) {
        tracing::error!(%subject, "{e}");
    }
}
