//! The one place host bindings are generated from `wit/` (the wasmtime-wasi pattern: one bindgen site, trappable imports).
//!
//! Every import is *trappable*: a host function returns `wasmtime::Result<T>`, and an `Err`
//! becomes a trap in the guest. Host code traps only with a typed [`crate::sandbox::HostTrap`]
//! (contract violation, revoked capability), so faults are classified by type.

#![allow(unsafe_code, missing_docs, clippy::all)]

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "stratbox:strategy/strategy-plugin",
    imports: { default: trappable },
    // WIT error results through one Rust type each: a host function returns
    // `Result<T, HostError<E>>`, and `?` carries both a WIT error (the guest gets it) and a
    // trap (`From<wasmtime::Error>`), as wasmtime-wasi's `TrappableError` does.
    trappable_error_type: {
        "stratbox:strategy/market-data.data-error" => crate::capabilities::contract::DataTrap,
        "stratbox:strategy/signals.signal-error" => crate::capabilities::contract::SignalTrap,
        "stratbox:strategy/types.rejection" => crate::capabilities::contract::RejectTrap,
    },
    additional_derives: [PartialEq, serde::Serialize, serde::Deserialize],
});

pub use self::exports::stratbox::strategy::strategy as guest;
pub use self::stratbox::strategy::{diagnostics, market_data, risk_gate, signals, types};
