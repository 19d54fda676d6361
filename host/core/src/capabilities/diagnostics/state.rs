//! Per-instance diagnostics state.

use std::collections::VecDeque;

use serde::Serialize;

use crate::{bindings::diagnostics::Level, sandbox::Callback};

/// A log line is cut to this many bytes.
pub const MAX_LINE_BYTES: usize = 1024;
/// How many recent lines an instance keeps for reports.
pub const RECENT_LINES: usize = 256;

/// One kept log line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogLine {
    pub level: Level,
    pub callback: Callback,
    pub event_ts: Option<u64>,
    pub message: String,
    pub truncated: bool,
}

/// Diagnostics state of one instance.
#[derive(Debug)]
pub struct DiagnosticsState {
    pub(super) plugin: String,
    pub(super) max_lines_per_callback: u64,
    pub(super) lines_this_callback: u64,
    pub(super) dropped: u64,
    pub(super) callback: Callback,
    pub(super) event_ts: Option<u64>,
    pub(super) panic_message: Option<String>,
    pub(super) recent: VecDeque<LogLine>,
}

impl DiagnosticsState {
    #[must_use]
    pub fn new(plugin: &str, max_lines_per_callback: u64) -> Self {
        Self {
            plugin: plugin.to_string(),
            max_lines_per_callback,
            lines_this_callback: 0,
            dropped: 0,
            callback: Callback::Init,
            event_ts: None,
            panic_message: None,
            recent: VecDeque::new(),
        }
    }

    /// Lines dropped because a callback exceeded its line budget.
    #[must_use]
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The most recent kept lines (at most [`RECENT_LINES`]).
    pub fn recent(&self) -> impl Iterator<Item = &LogLine> {
        self.recent.iter()
    }

    pub(crate) fn reset_for_callback(&mut self, callback: Callback, event_ts: Option<u64>) {
        self.callback = callback;
        self.event_ts = event_ts;
        self.lines_this_callback = 0;
        self.panic_message = None;
    }

    pub(crate) fn take_panic_message(&mut self) -> Option<String> {
        self.panic_message.take()
    }
}

/// Plugin text as the host writes it to its logs: control characters (newlines, escape
/// sequences, NUL...), Unicode line separators and bidirectional overrides are shown
/// escaped (`\n`, `\u{1b}`, `\u{202e}`), so a plugin cannot forge log lines, move the
/// cursor or reorder what an operator reads. A backslash is doubled so the escapes stay
/// unambiguous. Text without any of these is returned as it is.
#[must_use]
pub fn escape_for_log(s: &str) -> std::borrow::Cow<'_, str> {
    let special = |c: char| {
        c.is_control()
            || c == '\\'
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !s.chars().any(special) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if special(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// `s` cut to at most `max` bytes on a char boundary; whether it was cut.
#[must_use]
pub fn truncate(s: &str, max: usize) -> (&str, bool) {
    if s.len() <= max {
        return (s, false);
    }
    let mut cut = max;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    (&s[..cut], true)
}
