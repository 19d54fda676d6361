//! Build helpers shared by `cargo xtask` and the `stratbox-artifacts` build script.
//!
//! The one way a plugin becomes a component: discover plugin crates under `plugins/` (any
//! folder with a `stratbox.toml`), validate each manifest, build them all for
//! `wasm32-unknown-unknown` with the `plugin` profile in one cargo invocation, turn each core
//! module into a component with `wit-component` (no WASI adapter: strategies import nothing
//! but the stratbox world), embed the manifest as a custom section, and write
//! `<target>/plugins/<name>.wasm` atomically.

pub mod console;
pub mod fuzz;
pub mod layers;
pub mod plugins;
pub mod self_contained;
pub mod web;

pub use plugins::{Built, PluginSource, build, discover};

/// `CLIPPY_ARGS` for `args` (what follows `--` in `cargo clippy -- <args>`), as
/// `cargo clippy` passes them to `clippy-driver`: each argument followed by
/// `__CLIPPY_HACKERY__`.
#[must_use]
pub fn clippy_args(args: &[&str]) -> String {
    args.iter()
        .map(|a| format!("{a}__CLIPPY_HACKERY__"))
        .collect()
}

#[cfg(test)]
mod clippy_args_tests {
    #[test]
    fn arguments_are_joined_as_cargo_clippy_joins_them() {
        assert_eq!(
            super::clippy_args(&["-D", "warnings"]),
            "-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
        );
    }
}
