//! The one lifecycle every capability unit goes through (the shape of Spin's factors):
//!
//! 1. **scope**: when a component is loaded under a grant, what it may reach is the
//!    manifest's request ∩ the grant ([`CapabilityUnit::scope`]), refused when nothing is
//!    left;
//! 2. **link**: the unit's WIT interface goes into the linker only when granted
//!    ([`CapabilityUnit::link`]);
//! 3. **prepare**: each instance gets the unit's state, built from the component's scope,
//!    limits and the host's environment ([`CapabilityUnit::prepare`]);
//! 4. **take over** on a hot-swap: the new instance's state takes the running one's
//!    session, within its own scope ([`CapabilityUnit::take_over`]);
//! 5. **revoke**: the next call of the interface traps ([`CapabilityUnit::revoke`]).
//!
//! A unit is a folder under `capabilities/` implementing this trait, plus one line in the
//! `units!` registration in `capabilities/mod.rs`.

use std::sync::Arc;

use stratbox_manifest::{Capability, CapabilityRequest};
use wasmtime::component::Linker;

use super::{market_data::MarketDataSource, risk_gate::OrderRouter, risk_gate::RiskHub};
use crate::sandbox::{Limits, PluginComponent};

/// What a unit may use to build one instance's state.
pub struct Prepare<'a> {
    /// The component being instantiated (manifest, effective grant, scopes, limits).
    pub component: &'a PluginComponent,
    /// Instruments and last values.
    pub market: &'a Arc<dyn MarketDataSource>,
    /// Where accepted orders go; the risk gate takes it.
    pub router: Option<Box<dyn OrderRouter>>,
    /// Policy, trading states and audit trail of the risk gate.
    pub risk: &'a Arc<RiskHub>,
}

impl std::fmt::Debug for Prepare<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepare")
            .field("plugin", &self.component.manifest().name)
            .finish_non_exhaustive()
    }
}

impl Prepare<'_> {
    /// Whether the component holds `capability`.
    #[must_use]
    pub fn granted(&self, capability: Capability) -> bool {
        self.component.granted().contains(&capability)
    }

    /// The component's (already narrowed) request for `capability`.
    #[must_use]
    pub fn request(&self, capability: Capability) -> Option<&CapabilityRequest> {
        self.component.manifest().capabilities.get(&capability)
    }

    /// The component's effective limits.
    #[must_use]
    pub fn limits(&self) -> Limits {
        self.component.limits()
    }
}

/// One capability unit (see the module docs for the lifecycle).
pub trait CapabilityUnit: Sized {
    /// The manifest capability that grants this unit; `None` for a unit without authority
    /// (diagnostics), which every instance gets.
    const CAPABILITY: Option<Capability>;

    /// Adds the unit's interface to `linker`; `get` finds the unit's state in the store.
    fn link<T: 'static>(
        linker: &mut Linker<T>,
        get: fn(&mut T) -> &mut Self,
    ) -> wasmtime::Result<()>;

    /// What a component may reach: its `requested` scope narrowed by the `granted` one.
    /// Each list (instruments, signal types, source models) is intersected; an empty list on
    /// either side does not restrict, and an intersection that leaves nothing is refused.
    fn scope(
        requested: &CapabilityRequest,
        granted: &CapabilityRequest,
    ) -> Result<CapabilityRequest, ScopeError> {
        Ok(CapabilityRequest {
            instruments: intersect("instruments", &requested.instruments, &granted.instruments)?,
            signal_types: intersect(
                "signal-types",
                &requested.signal_types,
                &granted.signal_types,
            )?,
            source_models: intersect(
                "source-models",
                &requested.source_models,
                &granted.source_models,
            )?,
        })
    }

    /// The state of one new instance.
    fn prepare(cx: &mut Prepare<'_>) -> Self;

    /// Called before each callback with its event time.
    fn begin_callback(&mut self, _callback: crate::sandbox::Callback, _event_ts: Option<u64>) {}

    /// Takes over `from`'s session (a hot-swap); nothing moves on an error.
    fn take_over(&mut self, _from: &mut Self) -> Result<(), String> {
        Ok(())
    }

    /// Revokes the capability: the next call of the interface traps.
    fn revoke(&mut self) {}
}

/// A grant's scope and a manifest's request have nothing in common.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the grant's {what} ({granted}) and the manifest's ({requested}) have nothing in common")]
pub struct ScopeError {
    /// `instruments`, `signal-types` or `source-models`.
    pub what: &'static str,
    pub granted: String,
    pub requested: String,
}

/// `requested ∩ granted`, where an empty list does not restrict.
pub fn intersect(
    what: &'static str,
    requested: &[String],
    granted: &[String],
) -> Result<Vec<String>, ScopeError> {
    match (requested.is_empty(), granted.is_empty()) {
        (_, true) => Ok(requested.to_vec()),
        (true, false) => Ok(granted.to_vec()),
        (false, false) => {
            let keep: Vec<String> = requested
                .iter()
                .filter(|r| granted.contains(r))
                .cloned()
                .collect();
            if keep.is_empty() {
                Err(ScopeError {
                    what,
                    granted: granted.join(", "),
                    requested: requested.join(", "),
                })
            } else {
                Ok(keep)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::intersect;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_string()).collect()
    }

    #[test]
    fn intersection_narrows_and_refuses_an_empty_result() {
        assert_eq!(
            intersect("instruments", &[], &v(&["A"])).unwrap(),
            v(&["A"])
        );
        assert_eq!(
            intersect("instruments", &v(&["A"]), &[]).unwrap(),
            v(&["A"])
        );
        assert_eq!(
            intersect("instruments", &v(&["A", "B"]), &v(&["B", "C"])).unwrap(),
            v(&["B"])
        );
        let e = intersect("instruments", &v(&["A"]), &v(&["B"])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the grant's instruments (B) and the manifest's (A) have nothing in common"
        );
    }
}
