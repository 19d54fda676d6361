//! Diagnostics: no authority. Log lines into the host's log (truncated, rate-limited per
//! callback) and the panic message the SDK reports before aborting. Always linked.

mod host;
mod state;

pub use state::{DiagnosticsState, LogLine, MAX_LINE_BYTES, RECENT_LINES};
