//! Everything that drives a strategy component inside Nautilus, whatever the engine:
//! a `BacktestEngine` for backtests and paper sessions, a `LiveNode` for live runs.
//!
//! - [`adapter`]: the Nautilus `Strategy` that hands events to the component and its orders,
//!   through the risk gate, back to Nautilus.
//! - [`convert`]: exact conversions between Nautilus types and the WIT contract's.
//! - [`indicators`]: the Nautilus indicators a component registered, updated before each
//!   event of their stream and handed to the guest with it.
//! - [`router`]: the risk gate's order router into Nautilus (the only way an order leaves).
//! - [`hotswap`]: the swap slot: replacing a running component between two events.
//! - [`paper`]: a paper session: one deployed component on its own thread and engine, fed
//!   recorded data at a pace.
//! - [`live`]: runs on a Nautilus `LiveNode`: a replay feed as its data client, the sandbox
//!   venue as its execution client.
//!
//! [`crate::backtest`] builds whole backtest runs and their reports on top of this module.

pub mod adapter;
pub mod convert;
pub mod hotswap;
pub mod indicators;
pub mod live;
pub mod paper;
pub mod router;
