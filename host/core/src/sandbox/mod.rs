//! The sandbox: wasmtime engine, limits, typed faults, quarantine, instance lifecycle.
//!
//! It knows nothing of Nautilus, HTTP or SQL, nor of what capabilities do: the capability
//! layer hands it a linker holding only the granted interfaces and a [`HostState`].

mod component;
mod engine;
mod fault;
mod host_fuel;
mod instance;
mod limits;
mod store;

pub use component::{
    EXPORT_INTERFACE, ImportInfo, ImportStatus, Inspection, LoadPolicy, MAX_COMPONENT_BYTES,
    NO_AUTHORITY_INTERFACES, PluginComponent, Refusal, RefusalCode, Refused, WORLD_NAME,
    WORLD_PACKAGE, WORLD_VERSION, inspect_static, sha256_hex,
};
pub use engine::{EngineError, EngineOptions, SandboxEngine};
pub use fault::{FaultRecord, HostTrap, PluginFault, TrapKind};
pub use host_fuel::{HOST_BYTE_FUEL, HOST_CALL_FUEL, charge_host_call, host_call_cost};
pub(crate) use instance::bind_exports;
pub use instance::{
    CallError, INDICATOR_EVENTS, InstantiateError, PluginInstance, Profile, wit_params,
};
pub use limits::Limits;
pub use store::{Callback, HostState, Limiter, StoreData};
