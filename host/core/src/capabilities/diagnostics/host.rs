//! The `diagnostics` interface as seen by the guest. Every call is charged fuel for itself
//! and for the bytes it copies (decision 0021), dropped lines included.

use super::state::{
    DiagnosticsState, LogLine, MAX_LINE_BYTES, RECENT_LINES, escape_for_log, truncate,
};
use crate::{
    bindings::diagnostics::{Host, Level},
    capabilities::contract::check_str,
    sandbox::charge_host_call,
};

impl Host for DiagnosticsState {
    fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        charge_host_call(message.len());
        check_str(&message, "diagnostics.log: message")?;
        if self.lines_this_callback >= self.max_lines_per_callback {
            self.dropped += 1;
            return Ok(());
        }
        self.lines_this_callback += 1;
        let (cut, truncated) = truncate(&message, MAX_LINE_BYTES);
        // Escaped once here: the text logs and every later reader of the kept lines get it.
        let text = escape_for_log(cut);
        let plugin = self.plugin.as_str();
        let callback = self.callback.name();
        match level {
            Level::Trace => tracing::trace!(target: "stratbox::plugin", plugin, callback, "{text}"),
            Level::Debug => tracing::debug!(target: "stratbox::plugin", plugin, callback, "{text}"),
            Level::Info => tracing::info!(target: "stratbox::plugin", plugin, callback, "{text}"),
            Level::Warn => tracing::warn!(target: "stratbox::plugin", plugin, callback, "{text}"),
            Level::Error => tracing::error!(target: "stratbox::plugin", plugin, callback, "{text}"),
        }
        if self.recent.len() == RECENT_LINES {
            self.recent.pop_front();
        }
        self.recent.push_back(LogLine {
            level,
            callback: self.callback,
            event_ts: self.event_ts,
            message: text.to_string(),
            truncated,
        });
        Ok(())
    }

    fn panic_message(&mut self, message: String) -> wasmtime::Result<()> {
        charge_host_call(message.len());
        check_str(&message, "diagnostics.panic-message: message")?;
        self.panic_message =
            Some(escape_for_log(truncate(&message, MAX_LINE_BYTES).0).into_owned());
        Ok(())
    }
}
