//! Build helpers shared by `cargo xtask` and the `stratbox-artifacts` build script.
//!
//! The one way a plugin becomes a component: discover plugin crates under `plugins/` (any
//! folder with a `stratbox.toml`), validate each manifest, build them all for
//! `wasm32-unknown-unknown` with the `plugin` profile in one cargo invocation, turn each core
//! module into a component with `wit-component` (no WASI adapter: strategies import nothing
//! but the stratbox world), embed the manifest as a custom section, and write
//! `<target>/plugins/<name>.wasm` atomically.

pub mod fuzz;
pub mod layers;
pub mod plugins;
pub mod self_contained;

pub use plugins::{Built, PluginSource, build, discover};
