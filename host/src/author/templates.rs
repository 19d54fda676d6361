//! The templates of `stratbox new`, embedded in the binary: each a small strategy that
//! builds, passes `stratbox inspect` and trades the bundled data as written
//! (`host/tests/all/authoring.rs` checks all three). `{{name}}` stands for the crate's
//! name.

/// The crate's README; `{{about}}`, `{{template}}`, `{{backtest}}`, `{{files}}` and
/// `{{sdk}}` are filled in by [`super::new`].
pub const README: &str = include_str!("templates/README.md");

/// `src/lib.rs` of a crate whose strategy is a checked rules program (`program.json`, made
/// from `definition.json`), run by the SDK's rules runtime. Shared with the crates
/// `stratbox translate` generates.
pub const RULES_PROGRAM_EXPORT: &str = r#"struct Program;

impl stratbox_rules::runtime::ProgramSource for Program {
    const PROGRAM: &'static str = include_str!("../program.json");
}

stratbox_sdk::export_strategy!(stratbox_rules::runtime::Translated<Program>);
"#;

/// The `ema-cross` template: an EMA cross of the quote mid price, in Rust.
pub mod ema_cross {
    pub const LIB_RS: &str = include_str!("templates/ema-cross/lib.rs");
    pub const MANIFEST: &str = include_str!("templates/ema-cross/stratbox.toml");
    /// The README's notes on the crate's own files.
    pub const FILES: &str = include_str!("templates/ema-cross/files.md");
}

/// The `signals` template: AI regime signals with a time stop, in Rust.
pub mod signals {
    pub const LIB_RS: &str = include_str!("templates/signals/lib.rs");
    pub const MANIFEST: &str = include_str!("templates/signals/stratbox.toml");
    pub const FILES: &str = include_str!("templates/signals/files.md");
}

/// The `rules` template: a strategy definition of the `rules` family.
pub mod rules {
    pub const DEFINITION: &str = include_str!("templates/rules/definition.json");
    /// The doc comment above [`super::RULES_PROGRAM_EXPORT`] in `src/lib.rs`.
    pub const LIB_RS_HEADER: &str = "//! {{name}}: the rules of `definition.json`, checked and lowered to `program.json` by\n//! `stratbox build`, run by the SDK's rules runtime. Edit `definition.json`, not this file.\n\n";
    pub const FILES: &str = include_str!("templates/rules/files.md");
}
