//! The one place host bindings are generated from `wit/` (see ../shared/STYLE.md #2).
//!
//! Every import is *trappable*: a host function returns `wasmtime::Result<T>`, and an `Err`
//! becomes a trap in the guest. Host code traps only with a typed [`crate::sandbox::HostTrap`]
//! (contract violation, revoked capability), so faults are classified by type.

#![allow(unsafe_code, missing_docs, clippy::all)]

wasmtime::component::bindgen!({
    path: "../wit",
    world: "stratbox:strategy/strategy-plugin",
    imports: { default: trappable },
    additional_derives: [PartialEq, serde::Serialize, serde::Deserialize],
});

pub use self::exports::stratbox::strategy::strategy as guest;
pub use self::stratbox::strategy::{diagnostics, market_data, risk_gate, signals, types};
