//! # stratbox-core: the sandbox core
//!
//! Everything a strategy component touches, and nothing else: this crate depends on
//! wasmtime, cap-std, serde and the manifest crate, and **never** on Nautilus, SQL, HTTP
//! servers, async runtimes or the CLI (`cargo xtask test` checks the dependency tree). The
//! `stratbox` crate builds backtests, live and paper sessions, the catalog and the service
//! on top of it.
//!
//! - [`bindings`]: the one `bindgen!` site for `wit/`; every import is trappable.
//! - [`sandbox`]: engine, limits, fuel + epoch deadline, typed faults, quarantine, instances.
//! - [`capabilities`]: market data, signals, the risk gate, diagnostics: the only things a
//!   plugin can ever reach, each linked only when granted. Only `risk_gate` builds orders.
//! - [`audit`]: the hash-chained audit trail and the trait its stores implement.
//! - [`storage`]: cap-std directory handles opened once from configured roots.
//! - [`notify`]: alert sinks (log, webhook) for risk and fault events.
//! - [`time`]: UNIX-nanosecond timestamps as the contract and Nautilus use them.
//! - [`inspect`]: what `stratbox inspect` reports about a component.
//! - [`signal_input`]: AI signals as they arrive: schema, validator, JSONL / CSV readers.
//! - [`stubs`]: well-known values (the bundled GBP/USD instrument) for tests and benches.
//!
//! Dependency direction inside the crate: `capabilities` → {`sandbox`, `audit`, `notify`,
//! `storage`} → {`bindings`, `time`}; `inspect` uses `sandbox` and `capabilities`;
//! `signal_input` uses `bindings` only.

pub mod audit;
pub mod bindings;
pub mod capabilities;
pub mod inspect;
pub mod notify;
pub mod sandbox;
pub mod signal_input;
pub mod storage;
pub mod stubs;
pub mod time;
