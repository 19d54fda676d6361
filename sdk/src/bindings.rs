//! The one place guest bindings are generated from `wit/` (the wasmtime-wasi pattern: one bindgen site).
//!
//! Strategy authors never need this module: the [`crate::Strategy`] trait and
//! [`crate::export_strategy!`] wrap it. It is public only because the export macro that
//! `wit-bindgen` generates must be reachable from plugin crates.
#![allow(unsafe_code, missing_docs, clippy::all)]

wit_bindgen::generate!({
    path: "../wit",
    world: "stratbox:strategy/strategy-plugin",
    pub_export_macro: true,
    export_macro_name: "__export_strategy_plugin",
    default_bindings_module: "::stratbox_sdk::bindings",
    runtime_path: "::stratbox_sdk::__private::wit_bindgen::rt",
    additional_derives: [PartialEq, Clone],
});
