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

use std::{collections::BTreeSet, sync::Arc};

use stratbox_manifest::{Capability, CapabilityRequest, ParamValue};
use wasmtime::component::{HasSelf, Linker};

use self::{
    diagnostics::DiagnosticsState,
    market_data::{MarketDataSource, MarketDataState},
    risk_gate::{GateIdentity, OrderRouter, RiskGateState, RiskHub},
    signals::{SignalScope, SignalsState},
};
use crate::{
    audit::{AuditAction, AuditLog},
    bindings::{self, types},
    sandbox::{
        Callback, FaultRecord, HostState, InstantiateError, LoadPolicy, PluginComponent,
        PluginInstance, Refused, SandboxEngine, StoreData,
    },
};

/// The per-instance state of every capability.
#[derive(Debug)]
pub struct PluginState {
    pub market_data: MarketDataState,
    pub signals: SignalsState,
    pub risk_gate: RiskGateState,
    pub diagnostics: DiagnosticsState,
}

impl types::Host for PluginState {}

impl HostState for PluginState {
    fn begin_callback(&mut self, callback: Callback, event_ts: Option<u64>) {
        self.diagnostics.begin_callback(callback, event_ts);
        self.risk_gate.begin_callback(event_ts);
    }

    fn take_panic_message(&mut self) -> Option<String> {
        self.diagnostics.take_panic_message()
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

fn instruments(request: Option<&CapabilityRequest>) -> Option<BTreeSet<String>> {
    request
        .filter(|r| !r.instruments.is_empty())
        .map(|r| r.instruments.iter().cloned().collect())
}

fn signal_scope(request: Option<&CapabilityRequest>) -> SignalScope {
    let Some(r) = request else {
        return SignalScope::default();
    };
    SignalScope {
        types: (!r.signal_types.is_empty()).then(|| {
            r.signal_types
                .iter()
                .filter_map(|t| signals::signal_type(t))
                .collect()
        }),
        instruments: instruments(Some(r)),
        source_models: (!r.source_models.is_empty())
            .then(|| r.source_models.iter().cloned().collect()),
    }
}

impl PluginState {
    /// State for an instance of `component`, scoped by its manifest requests and grant.
    #[must_use]
    pub fn new(component: &PluginComponent, env: PluginEnv) -> Self {
        let granted = component.granted();
        let requests = &component.manifest().capabilities;
        let limits = component.limits();
        let market = env.market;
        Self {
            market_data: MarketDataState::new(
                granted.contains(&Capability::MarketData),
                instruments(requests.get(&Capability::MarketData)),
                Arc::clone(&market),
                limits.max_subscriptions,
            ),
            signals: SignalsState::new(
                granted.contains(&Capability::Signals),
                signal_scope(requests.get(&Capability::Signals)),
                Arc::clone(&market),
                limits.max_subscriptions,
            ),
            risk_gate: RiskGateState::new(
                granted.contains(&Capability::RiskGate),
                instruments(requests.get(&Capability::RiskGate)),
                market,
                env.router,
                limits.max_orders_per_callback,
                GateIdentity {
                    plugin: component.manifest().name.clone(),
                    sha256: component.sha256().to_string(),
                    hub: env.risk,
                },
            ),
            diagnostics: DiagnosticsState::new(
                &component.manifest().name,
                limits.max_log_lines_per_callback,
            ),
        }
    }
}

/// A linker holding `types` and `diagnostics` (no authority) plus exactly the granted
/// capabilities.
pub fn linker(
    engine: &SandboxEngine,
    granted: &BTreeSet<Capability>,
) -> wasmtime::Result<Linker<StoreData<PluginState>>> {
    type Data = StoreData<PluginState>;
    let mut linker = Linker::new(engine.wasmtime());
    bindings::types::add_to_linker::<Data, HasSelf<PluginState>>(&mut linker, |d| &mut d.host)?;
    bindings::diagnostics::add_to_linker::<Data, HasSelf<DiagnosticsState>>(&mut linker, |d| {
        &mut d.host.diagnostics
    })?;
    for cap in granted {
        match cap {
            Capability::MarketData => bindings::market_data::add_to_linker::<
                Data,
                HasSelf<MarketDataState>,
            >(&mut linker, |d| &mut d.host.market_data)?,
            Capability::Signals => {
                bindings::signals::add_to_linker::<Data, HasSelf<SignalsState>>(
                    &mut linker,
                    |d| &mut d.host.signals,
                )?;
            }
            Capability::RiskGate => bindings::risk_gate::add_to_linker::<
                Data,
                HasSelf<RiskGateState>,
            >(&mut linker, |d| &mut d.host.risk_gate)?,
        }
    }
    Ok(linker)
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
    let state = instance.host_mut();
    match capability {
        Capability::MarketData => state.market_data.granted = false,
        Capability::Signals => state.signals.granted = false,
        Capability::RiskGate => state.risk_gate.granted = false,
    }
    Ok(())
}

/// Hands the host-side session of a running instance to its replacement (a hot-swap):
/// market-data and signal subscriptions and the risk gate's book (router, open orders,
/// positions, marks, trading state). The guest's own state moves separately, through
/// `snapshot()` / `restore()`. `to` keeps its own identity, grant and limits, and every
/// subscription, order and position must fit them; on an error nothing has moved.
pub fn hand_over(from: &mut Instance, to: &mut Instance) -> Result<(), String> {
    let (src, dst) = (from.host_mut(), to.host_mut());
    dst.risk_gate.take_over(&mut src.risk_gate)?;
    if let Err(e) = dst.market_data.take_over(&mut src.market_data) {
        src.risk_gate
            .take_over(&mut dst.risk_gate)
            .map_err(|back| format!("{e}; and moving the book back failed: {back}"))?;
        return Err(e);
    }
    if let Err(e) = dst.signals.take_over(&mut src.signals) {
        let back = src
            .market_data
            .take_over(&mut dst.market_data)
            .and_then(|()| src.risk_gate.take_over(&mut dst.risk_gate));
        return Err(match back {
            Ok(()) => e,
            Err(back) => format!("{e}; and moving the session back failed: {back}"),
        });
    }
    Ok(())
}
