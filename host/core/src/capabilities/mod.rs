//! Capabilities: market data, signals, the risk gate (the only authorities a plugin can
//! ever hold) and diagnostics (no authority). Each lives in its own folder with its grant
//! scope, state and host implementation.
//!
//! A plugin's linker contains only the interfaces it was granted: an ungranted import is
//! refused when the component loads (see `sandbox::inspect_static`), long before any call.
//! As a second line, every host function checks the grant again, so revoking a capability
//! from a running instance makes its next call trap with `CapabilityDenied`.

pub mod contract;
pub mod diagnostics;
pub mod market_data;
pub mod risk_gate;
pub mod signals;
mod unit;

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
};

use stratbox_manifest::{Capability, CapabilityRequest, ParamValue};
use wasmtime::component::{HasSelf, Linker};

pub use self::unit::{CapabilityUnit, Prepare, ScopeError, intersect};
use self::{
    diagnostics::DiagnosticsState,
    market_data::{MarketDataSource, MarketDataState},
    risk_gate::{OrderRouter, RiskGateState, RiskHub},
    signals::SignalsState,
};
use crate::{
    audit::{AuditAction, AuditLog},
    bindings::{self, types},
    sandbox::{
        Callback, FaultRecord, HostState, InstantiateError, LoadPolicy, PluginComponent,
        PluginInstance, Refused, SandboxEngine, StoreData,
    },
};

/// The registration of every capability unit: `field: State`. The order is the order of
/// hand-over on a hot-swap (the risk gate's book first) and of rollback (reversed).
macro_rules! units {
    ($($field:ident: $unit:ty),+ $(,)?) => {
        /// The per-instance state of every capability unit.
        #[derive(Debug)]
        pub struct PluginState {
            $(pub $field: $unit,)+
        }

        impl PluginState {
            /// State for an instance of `component`, each unit scoped by the component's
            /// (narrowed) requests and effective grant.
            #[must_use]
            pub fn new(component: &PluginComponent, env: PluginEnv) -> Self {
                let mut cx = Prepare {
                    component,
                    market: &env.market,
                    router: Some(env.router),
                    risk: &env.risk,
                };
                Self { $($field: <$unit as CapabilityUnit>::prepare(&mut cx),)+ }
            }

            fn begin_units(&mut self, callback: Callback, event_ts: Option<u64>) {
                $(CapabilityUnit::begin_callback(&mut self.$field, callback, event_ts);)+
            }

            fn revoke_unit(&mut self, capability: Capability) {
                $(if <$unit as CapabilityUnit>::CAPABILITY == Some(capability) {
                    CapabilityUnit::revoke(&mut self.$field);
                })+
            }
        }

        /// Links every unit that `granted` covers (and every unit without authority).
        fn link_units(
            linker: &mut Linker<StoreData<PluginState>>,
            granted: &BTreeSet<Capability>,
        ) -> wasmtime::Result<()> {
            $(if <$unit as CapabilityUnit>::CAPABILITY.is_none_or(|c| granted.contains(&c)) {
                <$unit as CapabilityUnit>::link(linker, |d: &mut StoreData<PluginState>| {
                    &mut d.host.$field
                })?;
            })+
            Ok(())
        }

        /// `requested ∩ granted` by the unit that provides `capability`.
        fn scope_unit(
            capability: Capability,
            requested: &CapabilityRequest,
            granted: &CapabilityRequest,
        ) -> Result<CapabilityRequest, ScopeError> {
            $(if <$unit as CapabilityUnit>::CAPABILITY == Some(capability) {
                return <$unit as CapabilityUnit>::scope(requested, granted);
            })+
            Ok(requested.clone())
        }

        /// Every unit's `take_over`, in registration order; on an error the units already
        /// moved are moved back (in reverse order) and nothing has changed.
        fn hand_over_units(src: &mut PluginState, dst: &mut PluginState) -> Result<(), String> {
            let mut moved: Vec<fn(&mut PluginState, &mut PluginState) -> Result<(), String>> =
                Vec::new();
            $(
                if let Err(e) = CapabilityUnit::take_over(&mut dst.$field, &mut src.$field) {
                    let mut back = Ok(());
                    for undo in moved.iter().rev() {
                        back = back.and_then(|()| undo(dst, src));
                    }
                    return Err(match back {
                        Ok(()) => e,
                        Err(b) => format!("{e}; and moving the session back failed: {b}"),
                    });
                }
                moved.push(|from, to| CapabilityUnit::take_over(&mut to.$field, &mut from.$field));
            )+
            Ok(())
        }
    };
}

units! {
    risk_gate: RiskGateState,
    market_data: MarketDataState,
    signals: SignalsState,
    diagnostics: DiagnosticsState,
}

impl types::Host for PluginState {
    fn convert_rejection(
        &mut self,
        err: contract::RejectTrap,
    ) -> wasmtime::Result<types::Rejection> {
        err.into_wit()
    }
}

impl HostState for PluginState {
    fn begin_callback(&mut self, callback: Callback, event_ts: Option<u64>) {
        self.begin_units(callback, event_ts);
    }

    fn take_panic_message(&mut self) -> Option<String> {
        self.diagnostics.take_panic_message()
    }

    fn set_indicator_events(&mut self, exported: bool) {
        self.market_data.set_indicator_events(exported);
    }
}

/// A running plugin with the standard capabilities.
pub type Instance = PluginInstance<PluginState>;

/// What the host provides to one instance.
pub struct PluginEnv {
    /// Market data (instruments, last values) for market-data, signals and the risk gate.
    pub market: Arc<dyn MarketDataSource>,
    /// Where this instance's accepted orders go.
    pub router: Box<dyn OrderRouter>,
    /// The policy, trading states and audit trail the risk gate answers to.
    pub risk: Arc<RiskHub>,
}

impl std::fmt::Debug for PluginEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginEnv").finish_non_exhaustive()
    }
}

/// A linker holding `types` and `diagnostics` (no authority) plus exactly the granted
/// capabilities.
pub fn linker(
    engine: &SandboxEngine,
    granted: &BTreeSet<Capability>,
) -> wasmtime::Result<Linker<StoreData<PluginState>>> {
    let mut linker = Linker::new(engine.wasmtime());
    bindings::types::add_to_linker::<StoreData<PluginState>, HasSelf<PluginState>>(
        &mut linker,
        |d| &mut d.host,
    )?;
    link_units(&mut linker, granted)?;
    Ok(linker)
}

/// What each capability the manifest requests is narrowed to under a grant of `granted`
/// scopes: `request ∩ grant`, unit by unit. Refused when the grant leaves out a requested
/// capability or an intersection leaves nothing.
pub fn scopes_under_grant(
    component: &PluginComponent,
    granted: &BTreeMap<Capability, CapabilityRequest>,
) -> Result<BTreeMap<Capability, CapabilityRequest>, String> {
    let manifest = component.manifest();
    let mut scopes = BTreeMap::new();
    for (cap, requested) in &manifest.capabilities {
        let Some(grant) = granted.get(cap) else {
            return Err(format!(
                "{} {} requests `{}`, which the grant does not include; request a grant that covers it",
                manifest.name,
                manifest.version,
                cap.interface()
            ));
        };
        let scope = scope_unit(*cap, requested, grant)
            .map_err(|e| format!("`{}`: {e}", cap.interface()))?;
        scopes.insert(*cap, scope);
    }
    Ok(scopes)
}

fn subject(name: &str, sha256: &str) -> String {
    format!("{name}@{sha256}")
}

/// Loads and checks a component, auditing the decision: granted (with its capabilities and
/// limits) or refused (with every reason).
pub fn load(
    engine: &SandboxEngine,
    bytes: &[u8],
    policy: &LoadPolicy,
    audit: &AuditLog,
) -> Result<PluginComponent, LoadError> {
    match PluginComponent::load(engine, bytes, policy) {
        Ok(component) => {
            let m = component.manifest();
            let details = serde_json::json!({
                "name": m.name,
                "version": m.version,
                "granted": component.granted(),
                "imports": component.inspection().imports,
                "limits": component.limits(),
            });
            audit.append(
                "host",
                AuditAction::PluginGranted,
                &subject(&m.name, component.sha256()),
                details,
            )?;
            Ok(component)
        }
        Err(refused) => {
            let i = &refused.0;
            let name = i.manifest.as_ref().map_or("(unnamed)", |m| m.name.as_str());
            let details = serde_json::json!({ "refusals": i.refusals, "imports": i.imports });
            audit.append(
                "host",
                AuditAction::PluginRefused,
                &subject(name, &i.sha256),
                details,
            )?;
            Err(LoadError::Refused(refused))
        }
    }
}

/// Loading failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Refused(#[from] Refused),
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
}

/// Instantiates `component` with exactly its granted capabilities and calls `init(params)`.
pub fn instantiate(
    engine: &SandboxEngine,
    component: &PluginComponent,
    env: PluginEnv,
    params: &[(String, ParamValue)],
    audit: &AuditLog,
) -> Result<Instance, InstantiateError> {
    let linker = linker(engine, component.granted()).map_err(|e| {
        InstantiateError::Faulted(Box::new(FaultRecord::host(
            &component.manifest().name,
            component.sha256(),
            "instantiate",
            format!("cannot build the linker: {e:#}"),
        )))
    })?;
    let state = PluginState::new(component, env);
    PluginInstance::instantiate(engine, component, &linker, state, params, audit.clone())
}

/// Revokes `capability` from a running instance: its next call of that interface traps
/// with `CapabilityDenied` and quarantines it. Audited.
pub fn revoke(
    instance: &mut Instance,
    capability: Capability,
    actor: &str,
    reason: &str,
    audit: &AuditLog,
) -> Result<(), crate::audit::AuditError> {
    let subject = subject(instance.name(), instance.sha256());
    audit.append(
        actor,
        AuditAction::CapabilityRevoked,
        &subject,
        serde_json::json!({ "capability": capability, "reason": reason }),
    )?;
    instance.host_mut().revoke_unit(capability);
    Ok(())
}

/// Hands the host-side session of a running instance to its replacement (a hot-swap):
/// market-data and signal subscriptions and the risk gate's book (router, open orders,
/// positions, marks, trading state). The guest's own state moves separately, through
/// `snapshot()` / `restore()`. `to` keeps its own identity, grant and limits, and every
/// subscription, order and position must fit them; on an error nothing has moved.
pub fn hand_over(from: &mut Instance, to: &mut Instance) -> Result<(), String> {
    hand_over_units(from.host_mut(), to.host_mut())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{
        DiagnosticsState, MarketDataSource, MarketDataState, PluginState, RiskGateState,
        SignalsState, hand_over_units,
    };
    use crate::{
        audit::AuditLog,
        bindings::{
            market_data::Host as _,
            risk_gate::Host as _,
            signals::Host as _,
            types::{
                OrderIntent, OrderKind, OrderSide, Quantity, RiskDecision, SignalType, TimeInForce,
            },
        },
        capabilities::{
            risk_gate::{GateIdentity, OrderRouter, RiskHub, ValidatedOrder},
            signals::SignalScope,
        },
        stubs::StaticMarket,
    };

    #[derive(Debug)]
    struct NoVenue;

    impl OrderRouter for NoVenue {
        fn submit(&mut self, _order: &ValidatedOrder) -> Result<String, String> {
            Err("no venue in this test".into())
        }
        fn cancel(&mut self, _order_id: &str) -> Result<(), String> {
            Ok(())
        }
    }

    /// Units built by hand, as a host would prepare them, without a component.
    fn state(market_instruments: Option<&[&str]>) -> PluginState {
        let market: Arc<dyn MarketDataSource> =
            Arc::new(StaticMarket::gbpusd_and(&["EUR/USD.FXCM"]));
        PluginState {
            risk_gate: RiskGateState::new(
                true,
                None,
                Arc::clone(&market),
                Box::new(NoVenue),
                8,
                GateIdentity {
                    plugin: "p".into(),
                    sha256: "00".into(),
                    hub: RiskHub::permissive(AuditLog::memory()),
                },
            ),
            market_data: MarketDataState::new(
                true,
                market_instruments.map(|i| i.iter().map(|s| (*s).to_string()).collect()),
                Arc::clone(&market),
                8,
            ),
            signals: SignalsState::new(true, SignalScope::default(), market, 8),
            diagnostics: DiagnosticsState::new("p", 8),
        }
    }

    fn busy(s: &mut PluginState) {
        let refused = s
            .risk_gate
            .submit_order(OrderIntent {
                instrument_id: "GBP/USD.FXCM".into(),
                side: OrderSide::Buy,
                kind: OrderKind::Market,
                quantity: Quantity {
                    raw: 0,
                    precision: 0,
                },
                time_in_force: TimeInForce::Gtc,
                reduce_only: false,
                tag: None,
            })
            .unwrap();
        assert!(matches!(refused, RiskDecision::Rejected(_)), "{refused:?}");
        s.market_data
            .subscribe_quotes("EUR/USD.FXCM".into())
            .unwrap();
        s.signals.subscribe(SignalType::Sentiment, None).unwrap();
    }

    fn footprint(s: &PluginState) -> (u64, usize, usize) {
        (
            s.risk_gate.counts().rejected.values().sum(),
            s.market_data.subscriptions().len(),
            s.signals.subscriptions().len(),
        )
    }

    #[test]
    fn hand_over_moves_every_unit() {
        let (mut old, mut new) = (state(None), state(None));
        busy(&mut old);
        hand_over_units(&mut old, &mut new).unwrap();
        assert_eq!(footprint(&new), (1, 1, 1));
        assert_eq!(footprint(&old), (0, 0, 0));
    }

    #[test]
    fn a_unit_that_refuses_moves_the_earlier_ones_back() {
        // The new version's market-data grant does not cover EUR/USD: the risk gate's book
        // (first in the list) has moved by then and must come back; signals never move.
        let (mut old, mut new) = (state(None), state(Some(&["GBP/USD.FXCM"])));
        busy(&mut old);
        let e = hand_over_units(&mut old, &mut new).unwrap_err();
        assert!(e.contains("EUR/USD.FXCM"), "{e}");
        assert_eq!(footprint(&old), (1, 1, 1), "nothing moved");
        assert_eq!(footprint(&new), (0, 0, 0));
    }
}
