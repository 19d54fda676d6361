//! # stratbox host
//!
//! Runs trading strategies as sandboxed WebAssembly components. Layers (see
//! `../shared/ARCHITECTURE.md` and `docs/decisions/`):
//!
//! - [`sandbox`]: wasmtime engine, limits, fuel + epoch, typed faults, quarantine.
//! - [`capabilities`]: market data, signals, the risk gate, diagnostics: the only things a
//!   plugin can ever reach, each linked only when granted.
//! - [`backtest`]: components trading inside Nautilus's `BacktestEngine` through the
//!   adapter strategy, with reports.
//! - [`cli`]: argument parsing and printing for the `stratbox` binary.

pub mod audit;
pub mod backtest;
pub mod bench;
pub mod bindings;
pub mod capabilities;
pub mod catalog;
pub mod cli;
pub mod inspect;
pub mod notify;
pub mod replay;
pub mod sandbox;
pub mod service;
pub mod signals;
pub mod storage;
pub mod sweep;
pub mod time;
pub mod translate;
