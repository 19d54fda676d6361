//! One running plugin: its own `Store`, fuel refilled before each callback, an epoch deadline,
//! memory/table caps, and quarantine on the first fault.

use std::time::Instant;

use serde::Serialize;
use stratbox_manifest::ParamValue;
use wasmtime::{Store, component::Linker};

use super::{
    Callback, FaultRecord, HostState, PluginComponent, PluginFault, SandboxEngine,
    component::{RefusalCode, Refused},
    limits::Limits,
    store::{Limiter, StoreData},
};
use crate::{
    audit::{AuditAction, AuditLog},
    bindings::{
        IndicatorCallbacks, IndicatorCallbacksIndices, StrategyBase, StrategyBaseIndices, types,
    },
};

/// Name of the optional 0.1.1 export, without its version.
pub const INDICATOR_EVENTS: &str = "stratbox:strategy/indicator-events";

/// Counters of one instance, for reports and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Profile {
    /// Callbacks entered (including the one that faulted).
    pub callbacks: u64,
    /// Fuel consumed over all callbacks.
    pub fuel_total: u64,
    /// Most fuel consumed by one callback.
    pub fuel_max: u64,
    /// Wall time spent inside callbacks, when timing is on (see [`PluginInstance::set_timing`]).
    pub guest_nanos: u64,
    /// Largest linear memory granted, in bytes.
    pub peak_memory_bytes: u64,
}

/// A callback did not complete.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// This call faulted; the instance is now quarantined.
    #[error("{0}")]
    Faulted(Box<FaultRecord>),
    /// The instance was quarantined earlier; nothing was called.
    #[error("plugin '{plugin}' is quarantined; no callback is delivered")]
    Quarantined { plugin: String },
}

/// Instantiation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum InstantiateError {
    #[error(transparent)]
    Refused(#[from] Refused),
    #[error("{0}")]
    Faulted(Box<FaultRecord>),
    /// The plugin's `init` returned an error (e.g. inconsistent parameters).
    #[error("plugin '{plugin}' refused its parameters: {message}")]
    InitRejected { plugin: String, message: String },
}

/// Converts resolved manifest parameters to the contract's form.
#[must_use]
pub fn wit_params(params: &[(String, ParamValue)]) -> Vec<types::Param> {
    params
        .iter()
        .map(|(name, v)| types::Param {
            name: name.clone(),
            value: match v {
                ParamValue::Int(i) => types::ParamValue::Int(*i),
                ParamValue::Float(f) => types::ParamValue::Float(*f),
                ParamValue::Bool(b) => types::ParamValue::Boolean(*b),
                ParamValue::Text(s) => types::ParamValue::Text(s.clone()),
                ParamValue::Decimal(d) => types::ParamValue::Decimal(types::Price {
                    raw: d.raw,
                    precision: d.precision,
                }),
            },
        })
        .collect()
}

/// The component's exports.
pub(crate) struct Guest {
    base: StrategyBase,
    /// `indicator-events`, exported by 0.1.1 components.
    indicators: Option<IndicatorCallbacks>,
}

impl Guest {
    fn strategy(&self) -> &crate::bindings::guest::Guest {
        self.base.stratbox_strategy_strategy()
    }

    fn indicators(&self) -> wasmtime::Result<&crate::bindings::indicator_guest::Guest> {
        self.indicators
            .as_ref()
            .map(IndicatorCallbacks::stratbox_strategy_indicator_events)
            .ok_or_else(|| {
                wasmtime::Error::msg(
                    "indicator values for a component without indicator-events (host bug)",
                )
            })
    }
}

/// A sandboxed plugin instance.
pub struct PluginInstance<S: HostState> {
    store: Store<StoreData<S>>,
    guest: Guest,
    name: String,
    sha256: String,
    limits: Limits,
    fuel: bool,
    deadline_ticks: u64,
    clock: super::engine::TickClock,
    timing: bool,
    quarantine: Option<FaultRecord>,
    profile: Profile,
    audit: AuditLog,
}

impl<S: HostState> std::fmt::Debug for PluginInstance<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginInstance")
            .field("name", &self.name)
            .field("sha256", &self.sha256)
            .field("quarantined", &self.quarantine.is_some())
            .finish_non_exhaustive()
    }
}

impl<S: HostState> PluginInstance<S> {
    /// Instantiates `component` with `linker` (which must hold only the granted interfaces)
    /// and calls `init(params)`.
    pub fn instantiate(
        engine: &SandboxEngine,
        component: &PluginComponent,
        linker: &Linker<StoreData<S>>,
        host: S,
        params: &[(String, ParamValue)],
        audit: AuditLog,
    ) -> Result<Self, InstantiateError> {
        let limits = component.limits();
        let limiter = Limiter::new(limits.max_memory_bytes, limits.max_table_elements);
        let mut store = Store::new(
            engine.wasmtime(),
            StoreData {
                limiter,
                host,
                call_start: Some((
                    engine.clock().last_tick_ns(),
                    crate::audit::thread_blocked_nanos(),
                )),
            },
        );
        store.limiter(|d| &mut d.limiter);
        // The deadline is a backstop on the guest's own wall time: time the callback spent
        // blocked in the host's audit commits (a risk decision is audited before it takes
        // effect) is given back, so a slow disk cannot quarantine a well-behaved plugin.
        let deadline = std::time::Duration::from_millis(limits.epoch_deadline_ms);
        let tick = engine
            .options()
            .epoch_tick
            .max(std::time::Duration::from_millis(1));
        let clock = engine.clock().clone();
        store.epoch_deadline_callback(move |ctx| {
            let Some((t0, blocked0)) = ctx.data().call_start else {
                return Ok(wasmtime::UpdateDeadline::Interrupt);
            };
            let blocked = std::time::Duration::from_nanos(
                crate::audit::thread_blocked_nanos().saturating_sub(blocked0),
            );
            // `t0` is the last tick before the callback began: up to one tick early, so
            // one tick is given back: the deadline fires up to a tick late, and early only if
            // the ticker thread itself was starved for more than a tick (decision 0002).
            let since_tick = std::time::Duration::from_nanos(clock.now_ns().saturating_sub(t0));
            let guest = since_tick.saturating_sub(tick).saturating_sub(blocked);
            if guest >= deadline {
                return Ok(wasmtime::UpdateDeadline::Interrupt);
            }
            let left = (deadline - guest).as_nanos().div_ceil(tick.as_nanos());
            Ok(wasmtime::UpdateDeadline::Continue(
                u64::try_from(left).unwrap_or(u64::MAX).max(1),
            ))
        });
        let fuel = engine.options().fuel;
        if fuel {
            // Host calls cost fuel too (decision 0021).
            store.call_hook(super::host_fuel::call_hook);
        }
        let deadline_ticks = engine.deadline_ticks(limits.epoch_deadline_ms);

        let pre = linker.instantiate_pre(&component.component).map_err(|e| {
            component.refused(RefusalCode::TypeMismatch, format!("cannot link: {e:#}"))
        })?;
        let (base, indicators) = bind_exports(component, &pre)?;

        let name = component.manifest().name.clone();
        let sha256 = component.sha256().to_string();
        if fuel {
            store
                .set_fuel(limits.fuel_per_callback)
                .map_err(|e| host_fault(&name, &sha256, &e))?;
        }
        store.set_epoch_deadline(deadline_ticks);
        let loaded = pre.instantiate(&mut store).and_then(|instance| {
            let guest = base.load(&mut store, &instance)?;
            let indicator_guest = indicators
                .map(|i| i.load(&mut store, &instance))
                .transpose()?;
            Ok((guest, indicator_guest))
        });
        let (guest, indicator_guest) = match loaded {
            Ok(g) => g,
            Err(e) => {
                let site = FaultSite {
                    plugin: &name,
                    sha256: &sha256,
                    callback: "instantiate",
                    event_ts: None,
                    fuel_used: 0,
                };
                let record = record_fault(&mut store, limits, &site, &e, &audit);
                return Err(InstantiateError::Faulted(Box::new(record)));
            }
        };
        store
            .data_mut()
            .host
            .set_indicator_events(indicator_guest.is_some());
        let mut instance = Self {
            store,
            guest: Guest {
                base: guest,
                indicators: indicator_guest,
            },
            name,
            sha256,
            limits,
            fuel,
            deadline_ticks,
            clock: engine.clock().clone(),
            timing: false,
            quarantine: None,
            profile: Profile::default(),
            audit,
        };
        let wit = wit_params(params);
        match instance.call(Callback::Init, None, |g, s| g.strategy().call_init(s, &wit)) {
            Ok(Ok(())) => Ok(instance),
            Ok(Err(message)) => Err(InstantiateError::InitRejected {
                plugin: instance.name,
                message,
            }),
            Err(CallError::Faulted(record)) => Err(InstantiateError::Faulted(record)),
            // A fresh instance cannot be quarantined before its first call.
            Err(CallError::Quarantined { .. }) => {
                Err(InstantiateError::Faulted(Box::new(FaultRecord::host(
                    &instance.name,
                    &instance.sha256,
                    "init",
                    "instance quarantined before init".to_string(),
                ))))
            }
        }
    }

    /// Measure wall time spent in callbacks (two clock reads per callback).
    pub fn set_timing(&mut self, on: bool) {
        self.timing = on;
    }

    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    #[must_use]
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    #[must_use]
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The fault that quarantined this instance, if any.
    #[must_use]
    pub fn fault(&self) -> Option<&FaultRecord> {
        self.quarantine.as_ref()
    }

    #[must_use]
    pub fn is_quarantined(&self) -> bool {
        self.quarantine.is_some()
    }

    #[must_use]
    pub fn profile(&self) -> Profile {
        let mut p = self.profile;
        p.peak_memory_bytes = self.store.data().limiter.peak_memory_bytes() as u64;
        p
    }

    /// The capability layer's state for this instance.
    #[must_use]
    pub fn host(&self) -> &S {
        &self.store.data().host
    }

    /// Mutable access to the capability layer's state (between callbacks).
    pub fn host_mut(&mut self) -> &mut S {
        &mut self.store.data_mut().host
    }

    /// Runs one export with a full fuel budget and a fresh deadline; a failure quarantines.
    fn call<R>(
        &mut self,
        callback: Callback,
        event_ts: Option<u64>,
        f: impl FnOnce(&Guest, &mut Store<StoreData<S>>) -> wasmtime::Result<R>,
    ) -> Result<R, CallError> {
        self.call_charged(callback, event_ts, 0, f)
    }

    /// [`Self::call`] with `charge` fuel already spent (host work done for the guest).
    fn call_charged<R>(
        &mut self,
        callback: Callback,
        event_ts: Option<u64>,
        charge: u64,
        f: impl FnOnce(&Guest, &mut Store<StoreData<S>>) -> wasmtime::Result<R>,
    ) -> Result<R, CallError> {
        if self.quarantine.is_some() {
            return Err(CallError::Quarantined {
                plugin: self.name.clone(),
            });
        }
        let budget = self.limits.fuel_per_callback;
        if self.fuel
            && let Err(e) = self.store.set_fuel(budget.saturating_sub(charge))
        {
            return Err(CallError::Faulted(Box::new(
                self.quarantine(callback, event_ts, 0, &e),
            )));
        }
        self.store.set_epoch_deadline(self.deadline_ticks);
        self.store.data_mut().call_start = Some((
            self.clock.last_tick_ns(),
            crate::audit::thread_blocked_nanos(),
        ));
        self.store
            .data_mut()
            .host
            .begin_callback(callback, event_ts);
        super::host_fuel::forget_owed();

        let started = self.timing.then(Instant::now);
        let result = f(&self.guest, &mut self.store);
        if let Some(t) = started {
            self.profile.guest_nanos += u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX);
        }
        let used = if self.fuel {
            budget.saturating_sub(self.store.get_fuel().unwrap_or(0))
        } else {
            0
        };
        self.profile.callbacks += 1;
        self.profile.fuel_total += used;
        self.profile.fuel_max = self.profile.fuel_max.max(used);
        result.map_err(|e| {
            CallError::Faulted(Box::new(self.quarantine(callback, event_ts, used, &e)))
        })
    }

    fn quarantine(
        &mut self,
        callback: Callback,
        event_ts: Option<u64>,
        fuel_used: u64,
        err: &wasmtime::Error,
    ) -> FaultRecord {
        let site = FaultSite {
            plugin: &self.name,
            sha256: &self.sha256,
            callback: callback.name(),
            event_ts,
            fuel_used,
        };
        let record = record_fault(&mut self.store, self.limits, &site, err, &self.audit);
        self.quarantine = Some(record.clone());
        record
    }

    pub fn on_start(&mut self) -> Result<(), CallError> {
        self.call(Callback::OnStart, None, |g, s| {
            g.strategy().call_on_start(s)
        })
    }

    pub fn on_bar(&mut self, bar: types::Bar) -> Result<(), CallError> {
        self.call(Callback::OnBar, Some(bar.ts_event), |g, s| {
            g.strategy().call_on_bar(s, bar)
        })
    }

    pub fn on_quote(&mut self, quote: types::QuoteTick) -> Result<(), CallError> {
        self.call(Callback::OnQuote, Some(quote.ts_event), |g, s| {
            g.strategy().call_on_quote(s, quote)
        })
    }

    pub fn on_trade(&mut self, trade: &types::TradeTick) -> Result<(), CallError> {
        self.call(Callback::OnTrade, Some(trade.ts_event), |g, s| {
            g.strategy().call_on_trade(s, trade)
        })
    }

    pub fn on_signal(&mut self, signal: &types::AiSignal) -> Result<(), CallError> {
        self.call(Callback::OnSignal, Some(signal.ts), |g, s| {
            g.strategy().call_on_signal(s, signal)
        })
    }

    pub fn on_order_event(&mut self, event: &types::OrderEvent) -> Result<(), CallError> {
        let ts = match event {
            types::OrderEvent::Accepted(e) => e.ts_event,
            types::OrderEvent::Rejected(e) => e.ts_event,
            types::OrderEvent::Filled(e) => e.ts_event,
            types::OrderEvent::Cancelled(e) => e.ts_event,
        };
        self.call(Callback::OnOrderEvent, Some(ts), |g, s| {
            g.strategy().call_on_order_event(s, event)
        })
    }

    /// Whether the component can take indicator values (`indicator-events`).
    #[must_use]
    pub fn takes_indicators(&self) -> bool {
        self.guest.indicators.is_some()
    }

    /// A bar with the values of its stream's indicators; `charge` is the fuel the host's
    /// indicator updates cost (taken from this callback's budget). Up to two values go as
    /// plain arguments (no allocation in the guest), more as a list.
    pub fn on_bar_with(
        &mut self,
        bar: types::Bar,
        values: &types::IndicatorValues,
        charge: u64,
    ) -> Result<(), CallError> {
        self.call_charged(Callback::OnBar, Some(bar.ts_event), charge, |g, s| {
            let i = g.indicators()?;
            match values.values[..] {
                [] => i.call_on_bar_with(s, bar, values.initialized, 0.0, 0.0),
                [a] => i.call_on_bar_with(s, bar, values.initialized, a, 0.0),
                [a, b] => i.call_on_bar_with(s, bar, values.initialized, a, b),
                _ => i.call_on_bar_with_list(s, bar, values),
            }
        })
    }

    /// A quote with the values of its stream's indicators (see [`Self::on_bar_with`]): up
    /// to four values as plain arguments, more as a list.
    pub fn on_quote_with(
        &mut self,
        quote: types::QuoteTick,
        values: &types::IndicatorValues,
        charge: u64,
    ) -> Result<(), CallError> {
        self.call_charged(Callback::OnQuote, Some(quote.ts_event), charge, |g, s| {
            let i = g.indicators()?;
            let n = values.initialized;
            match values.values[..] {
                [] => i.call_on_quote_with(s, quote, n, 0.0, 0.0, 0.0, 0.0),
                [a] => i.call_on_quote_with(s, quote, n, a, 0.0, 0.0, 0.0),
                [a, b] => i.call_on_quote_with(s, quote, n, a, b, 0.0, 0.0),
                [a, b, c] => i.call_on_quote_with(s, quote, n, a, b, c, 0.0),
                [a, b, c, d] => i.call_on_quote_with(s, quote, n, a, b, c, d),
                _ => i.call_on_quote_with_list(s, quote, values),
            }
        })
    }

    /// A trade with the values of its stream's indicators (see [`Self::on_bar_with`]).
    pub fn on_trade_with(
        &mut self,
        trade: &types::TradeTick,
        values: &types::IndicatorValues,
        charge: u64,
    ) -> Result<(), CallError> {
        self.call_charged(Callback::OnTrade, Some(trade.ts_event), charge, |g, s| {
            g.indicators()?.call_on_trade_with(s, trade, values)
        })
    }

    pub fn on_stop(&mut self) -> Result<(), CallError> {
        self.call(Callback::OnStop, None, |g, s| g.strategy().call_on_stop(s))
    }

    /// The plugin's state for a hot-swap.
    pub fn snapshot(&mut self) -> Result<Vec<u8>, CallError> {
        self.call(Callback::Snapshot, None, |g, s| {
            g.strategy().call_snapshot(s)
        })
    }

    /// Hands a snapshot to the plugin; `Ok(Err(_))` means the plugin refused it.
    pub fn restore(&mut self, state: &[u8]) -> Result<Result<(), String>, CallError> {
        self.call(Callback::Restore, None, |g, s| {
            g.strategy().call_restore(s, state)
        })
    }
}

/// Binds the component's exports to the contract: `strategy` (every version) and
/// `indicator-events` when the component exports it (0.1.1), which must then have the
/// contract's types.
pub(crate) fn bind_exports<T>(
    component: &PluginComponent,
    pre: &wasmtime::component::InstancePre<T>,
) -> Result<(StrategyBaseIndices, Option<IndicatorCallbacksIndices>), Refused> {
    let base = StrategyBaseIndices::new(pre).map_err(|e| {
        component.refused(
            RefusalCode::TypeMismatch,
            format!("exports do not match the world: {e:#}"),
        )
    })?;
    let exports_indicators = component
        .inspection()
        .exports
        .iter()
        .any(|e| e.split('@').next() == Some(INDICATOR_EVENTS));
    let indicators = if exports_indicators {
        Some(IndicatorCallbacksIndices::new(pre).map_err(|e| {
            component.refused(
                RefusalCode::TypeMismatch,
                format!("`{INDICATOR_EVENTS}` does not match the contract: {e:#}"),
            )
        })?)
    } else {
        None
    };
    Ok((base, indicators))
}

fn host_fault(plugin: &str, sha256: &str, e: &wasmtime::Error) -> InstantiateError {
    InstantiateError::Faulted(Box::new(FaultRecord::host(
        plugin,
        sha256,
        "instantiate",
        format!("{e:#}"),
    )))
}

/// Where a fault happened.
struct FaultSite<'a> {
    plugin: &'a str,
    sha256: &'a str,
    callback: &'static str,
    event_ts: Option<u64>,
    fuel_used: u64,
}

/// Classifies `err`, logs it and audits the quarantine (the one place faults are recorded).
fn record_fault<S: HostState>(
    store: &mut Store<StoreData<S>>,
    limits: Limits,
    site: &FaultSite<'_>,
    err: &wasmtime::Error,
    audit: &AuditLog,
) -> FaultRecord {
    let panic = store.data_mut().host.take_panic_message();
    let fault = PluginFault::classify(
        err,
        limits.fuel_per_callback,
        limits.epoch_deadline_ms,
        panic,
    );
    let record = FaultRecord {
        plugin: site.plugin.to_string(),
        sha256: site.sha256.to_string(),
        callback: site.callback,
        event_ts: site.event_ts,
        fuel_used: site.fuel_used,
        fault,
    };
    tracing::error!(plugin = %site.plugin, fault = record.fault.kind(), detail = %format!("{err:#}"), "{record}");
    audit_quarantine(audit, &record);
    record
}

fn audit_quarantine(audit: &AuditLog, record: &FaultRecord) {
    let subject = format!("{}@{}", record.plugin, record.sha256);
    let details = serde_json::to_value(record).unwrap_or_default();
    if let Err(e) = audit.append("host", AuditAction::PluginQuarantined, &subject, details) {
        tracing::error!(plugin = %record.plugin, "quarantine of {subject} could not be audited: {e}");
    }
}
