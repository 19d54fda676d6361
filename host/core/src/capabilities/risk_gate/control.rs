//! Trading states and the kill switch.
//!
//! Each plugin has a state and so does the host as a whole; the stricter of the two applies
//! (`ACTIVE` < `REDUCING` < `HALTED`). A change is audited, then applied, then sent to the
//! operator's notifiers, and bumps a generation counter that drivers read (one atomic load)
//! before every event: a halt takes effect before the next event is processed, and the
//! driver then cancels the plugin's open orders (and closes its positions when the policy
//! says `halt.flatten`).
//!
//! A control can have a parent (the service's control, [`TradingControl::child`]): the
//! parent's host-wide state then applies to every child too, so one service-wide halt stops
//! every deployment, including deployments started after it.
//!
//! A halt is applied even when its audit record cannot be written (refusing to stop is
//! worse than stopping unaudited; the error is returned and logged). Any other change
//! (resume, reducing) takes effect only once audited.

use std::{
    collections::BTreeMap,
    fmt,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
};

use serde::{Deserialize, Serialize};

use crate::{
    audit::{AuditAction, AuditError, AuditLog},
    notify::{Alert, Notifier, Notifiers},
};

/// What a plugin may do.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TradingState {
    /// Orders within the policy are accepted.
    #[default]
    Active,
    /// Only orders that reduce an open position are accepted.
    Reducing,
    /// Every order is refused; open orders are cancelled.
    Halted,
}

impl TradingState {
    /// `ACTIVE`, `REDUCING`, `HALTED`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Reducing => "REDUCING",
            Self::Halted => "HALTED",
        }
    }
}

impl fmt::Display for TradingState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a state change applies to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// Every plugin of the host.
    All,
    /// One plugin, by name.
    Plugin(String),
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::All => f.write_str("all"),
            Self::Plugin(name) => f.write_str(name),
        }
    }
}

/// One applied change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StateChange {
    pub scope: Scope,
    pub from: TradingState,
    pub to: TradingState,
    pub reason: String,
    pub actor: String,
    /// Event time of the run when it happened (none for an operator outside a run).
    pub event_ts: Option<u64>,
}

/// A state change could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("a reason is required (what happened, who asked)")]
    NoReason,
    /// The change was not applied (or, for a halt, applied but not audited).
    #[error("{0}")]
    Audit(#[from] AuditError),
}

#[derive(Debug, Clone, Default)]
struct Entry {
    state: TradingState,
    reason: String,
    /// Operator flattens requested for this scope so far ([`TradingControl::flatten`]).
    flattens: u64,
}

#[derive(Debug, Default)]
struct States {
    global: Entry,
    plugins: BTreeMap<String, Entry>,
    history: Vec<StateChange>,
}

impl States {
    /// The entry of `scope` (a plugin's is made on first use).
    fn entry(&mut self, scope: &Scope) -> &mut Entry {
        match scope {
            Scope::All => &mut self.global,
            Scope::Plugin(name) => self.plugins.entry(name.clone()).or_default(),
        }
    }
}

/// A change's reason, trimmed; an empty one is refused.
fn required(reason: &str) -> Result<&str, ControlError> {
    let reason = reason.trim();
    if reason.is_empty() {
        Err(ControlError::NoReason)
    } else {
        Ok(reason)
    }
}

struct Inner {
    generation: AtomicU64,
    /// The service-wide control whose host-wide state applies here too.
    parent: Option<TradingControl>,
    states: Mutex<States>,
    audit: AuditLog,
    notifier: Notifiers,
}

/// The host's trading states; cheap to clone, shared by every gate, driver and the API.
#[derive(Clone)]
pub struct TradingControl {
    inner: Arc<Inner>,
}

impl fmt::Debug for TradingControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TradingControl")
            .field("generation", &self.generation())
            .finish_non_exhaustive()
    }
}

impl TradingControl {
    /// Everything `ACTIVE`; changes are audited to `audit` and sent to `notifier`.
    #[must_use]
    pub fn new(audit: AuditLog, notifier: Notifiers) -> Self {
        Self {
            inner: Arc::new(Inner {
                generation: AtomicU64::new(0),
                parent: None,
                states: Mutex::new(States::default()),
                audit,
                notifier,
            }),
        }
    }

    /// A control under this one (a deployment under its service): its own states start
    /// `ACTIVE`, and this control's host-wide state applies to it as well (the stricter
    /// wins). Changes are audited to the same trail.
    #[must_use]
    pub fn child(&self, notifier: Notifiers) -> Self {
        Self {
            inner: Arc::new(Inner {
                generation: AtomicU64::new(0),
                parent: Some(self.clone()),
                states: Mutex::new(States::default()),
                audit: self.inner.audit.clone(),
                notifier,
            }),
        }
    }

    /// The top control: the parent of a child, else this one. Host-wide breaches of the
    /// `[global]` limits halt it, so they stop every deployment of a service.
    #[must_use]
    pub fn root(&self) -> &Self {
        self.inner.parent.as_ref().map_or(self, Self::root)
    }

    /// Bumped by every change (here or in the parent): drivers compare it before each event.
    #[must_use]
    pub fn generation(&self) -> u64 {
        let own = self.inner.generation.load(Ordering::Acquire);
        self.inner
            .parent
            .as_ref()
            .map_or(own, |p| own.wrapping_add(p.generation()))
    }

    /// The state that applies to `plugin` (the strictest of its own, the host-wide one and
    /// the parent's host-wide one) and why.
    #[must_use]
    pub fn effective(&self, plugin: &str) -> (TradingState, String) {
        let (state, reason) = {
            let states = self.lock();
            let own = states.plugins.get(plugin).cloned().unwrap_or_default();
            if states.global.state >= own.state && states.global.state != TradingState::Active {
                (
                    states.global.state,
                    format!("host-wide: {}", states.global.reason),
                )
            } else {
                (own.state, own.reason)
            }
        };
        if let Some(parent) = &self.inner.parent {
            let (above, why) = parent.effective_global();
            if above >= state && above != TradingState::Active {
                return (above, format!("service-wide: {why}"));
            }
        }
        (state, reason)
    }

    /// The strictest host-wide state of this control and its parents, and why.
    fn effective_global(&self) -> (TradingState, String) {
        let own = {
            let states = self.lock();
            (states.global.state, states.global.reason.clone())
        };
        match &self.inner.parent {
            Some(parent) => {
                let above = parent.effective_global();
                if above.0 > own.0 { above } else { own }
            }
            None => own,
        }
    }

    /// The state of `scope` itself (not combined).
    #[must_use]
    pub fn state_of(&self, scope: &Scope) -> TradingState {
        let states = self.lock();
        match scope {
            Scope::All => states.global.state,
            Scope::Plugin(name) => states
                .plugins
                .get(name)
                .map_or_else(TradingState::default, |e| e.state),
        }
    }

    /// Every change so far, oldest first.
    #[must_use]
    pub fn history(&self) -> Vec<StateChange> {
        self.lock().history.clone()
    }

    /// Halts `scope`: every order refused, open orders cancelled before the next event.
    pub fn halt(
        &self,
        scope: &Scope,
        reason: &str,
        actor: &str,
        event_ts: Option<u64>,
    ) -> Result<Option<StateChange>, ControlError> {
        self.set(scope, TradingState::Halted, reason, actor, event_ts)
    }

    /// Halts `scope` and has its driver close every position with reduce-only market orders
    /// (whatever the policy's `halt.flatten` says), once per request. The request is audited
    /// first (`flatten-requested`), then the halt (`trading-state-changed`, unless already
    /// halted). Like a halt it takes effect even when it cannot be audited (the error is
    /// returned); drivers act on it before the next event.
    pub fn flatten(
        &self,
        scope: &Scope,
        reason: &str,
        actor: &str,
        event_ts: Option<u64>,
    ) -> Result<Option<StateChange>, ControlError> {
        let reason = required(reason)?;
        let audited = self.inner.audit.append(
            actor,
            AuditAction::FlattenRequested,
            &scope.to_string(),
            serde_json::json!({ "reason": reason, "event_ts": event_ts }),
        );
        if let Err(e) = &audited {
            tracing::error!(scope = %scope, "flatten applied but not audited: {e}");
        }
        let change = self.set(scope, TradingState::Halted, reason, actor, event_ts);
        self.lock().entry(scope).flattens += 1;
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
        audited?;
        change
    }

    /// Flattens requested so far for `plugin` (its own and the host-wide ones of this
    /// control): a gate that sees the count grow closes its positions.
    #[must_use]
    pub fn flatten_count(&self, plugin: &str) -> u64 {
        let states = self.lock();
        let own = states.plugins.get(plugin).map_or(0, |e| e.flattens);
        states.global.flattens.wrapping_add(own)
    }

    /// Returns `scope` to `ACTIVE`.
    pub fn resume(
        &self,
        scope: &Scope,
        reason: &str,
        actor: &str,
        event_ts: Option<u64>,
    ) -> Result<Option<StateChange>, ControlError> {
        self.set(scope, TradingState::Active, reason, actor, event_ts)
    }

    /// Sets `scope` to `to`. Returns the change, or `None` when it was already in `to`.
    pub fn set(
        &self,
        scope: &Scope,
        to: TradingState,
        reason: &str,
        actor: &str,
        event_ts: Option<u64>,
    ) -> Result<Option<StateChange>, ControlError> {
        let reason = required(reason)?;
        let mut states = self.lock();
        let entry = states.entry(scope);
        let from = entry.state;
        if from == to {
            return Ok(None);
        }
        let change = StateChange {
            scope: scope.clone(),
            from,
            to,
            reason: reason.to_string(),
            actor: actor.to_string(),
            event_ts,
        };
        let audited = self.inner.audit.append(
            actor,
            AuditAction::TradingStateChanged,
            &scope.to_string(),
            serde_json::json!({
                "from": from, "to": to, "reason": reason, "event_ts": event_ts,
            }),
        );
        let audited = match audited {
            Err(e) if to != TradingState::Halted => return Err(ControlError::Audit(e)),
            other => other,
        };
        entry.state = to;
        entry.reason = reason.to_string();
        states.history.push(change.clone());
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
        drop(states);
        self.inner.notifier.notify(&Alert {
            kind: match to {
                TradingState::Active => "resumed",
                TradingState::Reducing => "reducing",
                TradingState::Halted => "halted",
            }
            .to_string(),
            subject: scope.to_string(),
            message: format!("{scope}: {from} -> {to}: {reason}"),
            actor: actor.to_string(),
            event_ts,
        });
        match audited {
            Ok(_) => Ok(Some(change)),
            Err(e) => {
                tracing::error!(scope = %scope, "halt applied but not audited: {e}");
                Err(ControlError::Audit(e))
            }
        }
    }

    /// Sets a state without audit or notification (loading what was recorded before).
    pub(super) fn restore_one(&self, scope: &Scope, state: TradingState, reason: &str) {
        let mut states = self.lock();
        let entry = states.entry(scope);
        entry.state = state;
        entry.reason = reason.to_string();
        drop(states);
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// This control's own states that are not `ACTIVE` (not its parent's), each with the
    /// actor of the change that set it: what a deployment's checkpoint keeps, so that a halt
    /// outlives a restart. States set by `skip_actor` (the feed watchdog, whose REDUCING
    /// lasts only while the feed is silent) are left out.
    #[must_use]
    pub fn own_states(&self, skip_actor: &str) -> super::persist::StoredStates {
        let states = self.lock();
        let actor_of = |scope: &Scope| {
            states
                .history
                .iter()
                .rev()
                .find(|c| &c.scope == scope)
                .map_or_else(|| "host".to_string(), |c| c.actor.clone())
        };
        let mut out = super::persist::StoredStates::default();
        let entries = std::iter::once((Scope::All, &states.global)).chain(
            states
                .plugins
                .iter()
                .map(|(n, e)| (Scope::Plugin(n.clone()), e)),
        );
        for (scope, entry) in entries {
            let actor = actor_of(&scope);
            if entry.state == TradingState::Active || actor == skip_actor {
                continue;
            }
            out.set(
                &scope,
                super::persist::StoredEntry {
                    state: entry.state,
                    reason: entry.reason.clone(),
                    actor,
                },
            );
        }
        out
    }

    /// Sends an alert that is not a state change (e.g. a position mismatch).
    pub fn alert(&self, alert: &Alert) {
        self.inner.notifier.notify(alert);
    }

    /// The audit trail changes are written to.
    #[must_use]
    pub fn audit(&self) -> &AuditLog {
        &self.inner.audit
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, States> {
        self.inner
            .states
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::MemoryNotifier;

    fn control() -> (TradingControl, Arc<MemoryNotifier>, AuditLog) {
        let audit = AuditLog::memory();
        let memory = Arc::new(MemoryNotifier::default());
        let notifiers = Notifiers::default().with(memory.clone());
        (TradingControl::new(audit.clone(), notifiers), memory, audit)
    }

    #[test]
    fn the_stricter_state_applies_and_every_change_is_audited_and_notified() {
        let (c, alerts, audit) = control();
        let ema = Scope::Plugin("ema".into());
        assert_eq!(c.effective("ema").0, TradingState::Active);
        let g0 = c.generation();
        c.set(&ema, TradingState::Reducing, "desk asked", "alice", None)
            .unwrap();
        assert!(c.generation() > g0);
        assert_eq!(c.effective("ema").0, TradingState::Reducing);
        assert_eq!(c.effective("other").0, TradingState::Active);
        c.halt(&Scope::All, "kill switch", "bob", Some(5)).unwrap();
        let (state, why) = c.effective("other");
        assert_eq!(state, TradingState::Halted);
        assert!(why.contains("kill switch"), "{why}");
        assert_eq!(c.effective("ema").0, TradingState::Halted);
        c.resume(&Scope::All, "all clear", "bob", None).unwrap();
        assert_eq!(c.effective("ema").0, TradingState::Reducing);
        assert!(c.halt(&Scope::All, "  ", "bob", None).is_err());
        assert_eq!(
            c.resume(&Scope::All, "again", "bob", None).unwrap(),
            None,
            "no change, no record"
        );

        let records = audit.records();
        assert_eq!(records.len(), 3);
        assert!(
            records
                .iter()
                .all(|r| r.action == AuditAction::TradingStateChanged)
        );
        assert_eq!(records[1].actor, "bob");
        assert_eq!(records[1].details()["to"], "HALTED");
        crate::audit::verify(&records).unwrap();
        let kinds: Vec<String> = alerts.alerts().into_iter().map(|a| a.kind).collect();
        assert_eq!(kinds, ["reducing", "halted", "resumed"]);
        assert_eq!(c.history().len(), 3);
    }

    #[test]
    fn a_flatten_is_audited_first_halts_and_counts_once_per_request() {
        let (c, _, audit) = control();
        assert!(c.flatten(&Scope::All, " ", "bob", None).is_err());
        assert_eq!(c.flatten_count("ema"), 0);
        let g0 = c.generation();
        c.flatten(&Scope::All, "desk closes the book", "bob", None)
            .unwrap();
        assert_eq!(c.effective("ema").0, TradingState::Halted);
        assert_eq!(c.flatten_count("ema"), 1);
        assert!(c.generation() > g0);
        // Already halted: the second flatten is recorded and counted, no state change.
        let g1 = c.generation();
        assert_eq!(c.flatten(&Scope::All, "again", "bob", None).unwrap(), None);
        assert_eq!(c.flatten_count("ema"), 2);
        assert!(c.generation() > g1, "drivers must see the second request");
        c.flatten(&Scope::Plugin("ema".into()), "only ema", "bob", None)
            .unwrap();
        assert_eq!((c.flatten_count("ema"), c.flatten_count("rsi")), (3, 2));
        let actions: Vec<AuditAction> = audit.records().iter().map(|r| r.action).collect();
        assert_eq!(
            actions,
            [
                AuditAction::FlattenRequested,
                AuditAction::TradingStateChanged,
                AuditAction::FlattenRequested,
                AuditAction::FlattenRequested,
                AuditAction::TradingStateChanged,
            ]
        );
        assert_eq!(
            audit.records()[0].details()["reason"],
            "desk closes the book"
        );
        crate::audit::verify(&audit.records()).unwrap();
    }
}
