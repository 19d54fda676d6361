//! The one place host bindings are generated from `wit/` (the wasmtime-wasi pattern: one bindgen site, trappable imports).
//!
//! Every import is *trappable*: a host function returns `wasmtime::Result<T>`, and an `Err`
//! becomes a trap in the guest. Host code traps only with a typed [`crate::sandbox::HostTrap`]
//! (contract violation, revoked capability), so faults are classified by type.

#![allow(unsafe_code, missing_docs, clippy::all)]

wasmtime::component::bindgen!({
    path: "../../wit",
    // Every plugin has the 0.1.0 world; `indicator-events` (0.1.1) is optional, below.
    world: "stratbox:strategy/strategy-base",
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
pub use self::indicator_callbacks::{
    IndicatorCallbacks, IndicatorCallbacksIndices,
    exports::stratbox::strategy::indicator_events as indicator_guest,
};

/// The optional export of 0.1.1 components: events with the values of the indicators
/// registered on their stream. Generated apart so a component without it still binds
/// (`strategy-base`); its types are those above.
pub mod indicator_callbacks {
    #![allow(unsafe_code, missing_docs, clippy::all)]
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "stratbox:strategy/indicator-callbacks",
        with: {
            "stratbox:strategy/types": super::stratbox::strategy::types,
        },
    });
}
pub use self::stratbox::strategy::{diagnostics, market_data, risk_gate, signals, types};
