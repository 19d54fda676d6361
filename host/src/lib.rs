//! # stratbox host
//!
//! Runs trading strategies as sandboxed WebAssembly components inside Nautilus Trader.
//! This crate holds everything that knows Nautilus, SQL or HTTP; the sandbox itself is the
//! `stratbox-core` crate (`host/core`), re-exported here under the same module names.
//! The layers are drawn in `docs/architecture.md`; why they are so, in `docs/decisions/`.
//!
//! From the core (`stratbox-core`; never depends on Nautilus, sqlx, axum, tokio or clap):
//! - [`bindings`]: the one `bindgen!` site for `wit/`.
//! - [`sandbox`]: engine, limits, fuel + epoch deadline, typed faults, quarantine.
//! - [`capabilities`]: market data, signals, the risk gate, diagnostics: one unit each
//!   behind the `CapabilityUnit` trait; only the risk gate builds orders.
//! - [`audit`]: the hash-chained trail. [`storage`]: cap-std roots. [`notify`]: alerts.
//!   [`time`]: timestamps. [`inspect`]: what `stratbox inspect` reports. [`stubs`].
//!
//! This crate:
//! - [`names`]: enums with stable names (CLI, JSON, reports) without clap.
//! - [`catalog`]: data readers, instrument definitions, importers, quality, the Parquet store.
//! - [`signals`]: signal schema, validation, persisted buffer, router, replay, dead letters.
//! - [`nautilus`]: what drives a component inside Nautilus: adapter strategy, conversions,
//!   order router, swap slot, paper sessions (the live node goes here).
//! - [`backtest`]: backtest runs, reports, charts, account history, native twins.
//! - [`replay`]: drive plugins with recorded events without Nautilus (tests, dry runs).
//! - [`sweep`]: parameter grids backtested in parallel. [`translate`]: strategy
//!   definitions → components.
//! - [`author`]: `stratbox new` and `stratbox build`: plugin crates outside this
//!   repository, built into checked components (the guest build `translate` uses too).
//! - [`service`]: `stratbox serve`: registry, grants, deployments, hot-swap, API, audit.
//! - [`bench`]: `stratbox bench ...`. [`cli`]: argument parsing and printing only.
//!
//! Dependency direction (arrows point to what may be used):
//! `cli → service → {sweep, translate} → {backtest ⇄ nautilus, replay → nautilus} → {catalog, signals}
//! → core`; `translate → author → core`. Nothing imports `cli`; the core imports nothing from this crate.

pub mod author;
pub mod backtest;
pub mod bench;
pub mod catalog;
pub mod cli;
pub mod names;
pub mod nautilus;
pub mod replay;
pub mod service;
pub mod signals;
pub mod sweep;
pub mod translate;

// The sandbox core, re-exported under the paths the rest of the crate (and its users) name.
pub use stratbox_core::{
    audit, bindings, capabilities, inspect, notify, sandbox, storage, stubs, time,
};
