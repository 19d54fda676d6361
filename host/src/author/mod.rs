//! Writing strategies outside this repository (docs/authoring.md, decision 0026).
//!
//! - [`new`]: `stratbox new` writes a standalone plugin crate from a template (`ema-cross`,
//!   `rules`, `signals`): its own `Cargo.toml` depending on the SDK by path or git, its own
//!   cargo workspace pinned by a copy of stratbox's `Cargo.lock`, `stratbox.toml`,
//!   `src/lib.rs` and a README with the commands to build, inspect and backtest it.
//! - [`build`]: `stratbox build` turns any plugin crate, wherever it lives, into a
//!   component: guest target installed if missing, cargo build, componentize with the
//!   crate's `stratbox.toml`, the checks of `stratbox inspect`, written atomically.
//! - [`guest`]: what both share with `stratbox translate`: the pinning files, writing a
//!   crate, the guest target, building a crate into a core module.

pub mod build;
pub mod guest;
pub mod new;
pub mod templates;

use std::path::PathBuf;

pub use build::{BuildOptions, Built, Step};
pub use guest::GuestError;
pub use new::{Created, NewOptions, SdkSource, Template};

/// Writing or building a plugin crate failed: what, where, and what to do.
#[derive(Debug, thiserror::Error)]
pub enum AuthorError {
    /// A request that cannot be carried out as given (a bad name, a folder in the way).
    #[error("{0}")]
    Invalid(String),
    /// A file of the crate is missing or wrong.
    #[error("{path}: {message}")]
    Crate { path: PathBuf, message: String },
    #[error(transparent)]
    Guest(#[from] GuestError),
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
}

/// Names a cargo package cannot take although they are valid plugin names: Rust keywords
/// (the library's crate name would be one) and the crates of the standard distribution.
const RESERVED: &[&str] = &[
    "abstract",
    "alloc",
    "as",
    "async",
    "await",
    "become",
    "box",
    "break",
    "const",
    "continue",
    "core",
    "crate",
    "do",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "final",
    "fn",
    "for",
    "gen",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "macro",
    "match",
    "mod",
    "move",
    "mut",
    "override",
    "priv",
    "proc-macro",
    "pub",
    "ref",
    "return",
    "self",
    "static",
    "std",
    "struct",
    "super",
    "test",
    "trait",
    "true",
    "try",
    "type",
    "typeof",
    "unsafe",
    "unsized",
    "use",
    "virtual",
    "where",
    "while",
    "yield",
];

/// Checks a strategy's name: it is both the cargo package name and the plugin name.
pub fn check_name(name: &str) -> Result<(), AuthorError> {
    if !stratbox_manifest::valid_name(name) {
        return Err(AuthorError::Invalid(format!(
            "`{name}` is not a valid strategy name: use lowercase letters, digits and `-`, starting with a letter, at most 64 (e.g. `my-trend`)"
        )));
    }
    if RESERVED.contains(&name) {
        return Err(AuthorError::Invalid(format!(
            "`{name}` is reserved in Rust and cannot name a crate; choose another name (e.g. `{name}-strategy`)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_name;

    #[test]
    fn names_are_cargo_package_and_plugin_names() {
        for ok in ["my-trend", "ema2", "a", "x-1-y"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "My-Trend", "2fast", "-x", "my_trend", "a b", "fn", "test", "std",
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert!(check_name(&"a".repeat(65)).is_err());
    }
}
