//! Every integration test of the `stratbox` crate, in one binary (as wasmtime does): one
//! module per area, shared fixtures in [`fixtures`]. One binary links wasmtime, Nautilus,
//! sqlx and axum once, and compiled components are shared across the process.
//!
//! Which module a test belongs to: the area it exercises, named for the user-facing surface
//! (`cli_*` run the binary as a user would, `service_*` the HTTP API, the others the library).
//! Run one area with `cargo test -p stratbox --test all <module>::`.

#![allow(clippy::unwrap_used)] // a failing unwrap is a failing test

mod fixtures;

mod audit_trail;
mod authoring;
mod backtest_parity;
mod backtest_perf;
mod backtest_risk;
mod bundled_data;
mod catalog;
mod cli_backtest;
mod cli_catalog;
mod cli_inspect;
mod cli_replay;
mod cli_risk;
mod cli_signals;
mod cli_sweep;
mod cli_translate;
mod fx;
mod hostile;
mod lifecycle;
mod live;
mod live_venue;
mod mutation;
mod risk_gate;
mod service_api;
mod service_e2e;
mod service_grants;
mod service_jobs;
mod service_kill_switch;
mod service_live;
mod service_load;
mod service_recovery;
mod service_signals;
mod service_venue;
mod signals;
mod translate_parity;
mod translate_watch;
