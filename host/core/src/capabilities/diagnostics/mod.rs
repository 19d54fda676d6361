//! Diagnostics: no authority. Log lines into the host's log (truncated, rate-limited per
//! callback) and the panic message the SDK reports before aborting. Always linked.

mod host;
mod state;

pub use state::{DiagnosticsState, LogLine, MAX_LINE_BYTES, RECENT_LINES};

use stratbox_manifest::Capability;
use wasmtime::component::{HasSelf, Linker};

use super::{CapabilityUnit, Prepare};
use crate::{bindings, sandbox::Callback};

/// No authority: every instance has it, and revoking is not a thing.
impl CapabilityUnit for DiagnosticsState {
    const CAPABILITY: Option<Capability> = None;

    fn link<T: 'static>(
        linker: &mut Linker<T>,
        get: fn(&mut T) -> &mut Self,
    ) -> wasmtime::Result<()> {
        bindings::diagnostics::add_to_linker::<T, HasSelf<Self>>(linker, get)
    }

    fn prepare(cx: &mut Prepare<'_>) -> Self {
        Self::new(
            &cx.component.manifest().name,
            cx.limits().max_log_lines_per_callback,
        )
    }

    fn begin_callback(&mut self, callback: Callback, event_ts: Option<u64>) {
        self.reset_for_callback(callback, event_ts);
    }
}

#[cfg(test)]
mod tests {
    use super::{CapabilityUnit, DiagnosticsState};
    use crate::{
        bindings::diagnostics::{Host, Level},
        sandbox::Callback,
    };

    #[test]
    fn each_callback_gets_its_own_line_budget() {
        let mut d = DiagnosticsState::new("p", 1);
        CapabilityUnit::begin_callback(&mut d, Callback::OnQuote, Some(5));
        d.log(Level::Info, "one".into()).unwrap();
        d.log(Level::Info, "two".into()).unwrap();
        assert_eq!(d.dropped(), 1);
        CapabilityUnit::begin_callback(&mut d, Callback::OnQuote, Some(6));
        d.log(Level::Info, "three".into()).unwrap();
        let kept: Vec<(Option<u64>, &str)> = d
            .recent()
            .map(|l| (l.event_ts, l.message.as_str()))
            .collect();
        assert_eq!(kept, [(Some(5), "one"), (Some(6), "three")]);
        assert_eq!(
            DiagnosticsState::CAPABILITY,
            None,
            "no authority, always linked"
        );
    }

    #[test]
    fn control_characters_in_plugin_text_are_escaped() {
        let mut d = DiagnosticsState::new("p", 10);
        CapabilityUnit::begin_callback(&mut d, Callback::OnQuote, Some(5));
        d.log(
            Level::Info,
            "ok\n2026-12-02T00:00:00Z ERROR stratbox: forged\x1b[2K\r\u{202e}\\x".into(),
        )
        .unwrap();
        d.log(Level::Info, "plain text, unchanged".into()).unwrap();
        let kept: Vec<&str> = d.recent().map(|l| l.message.as_str()).collect();
        assert_eq!(
            kept,
            [
                "ok\\n2026-12-02T00:00:00Z ERROR stratbox: forged\\u{1b}[2K\\r\\u{202e}\\\\x",
                "plain text, unchanged"
            ]
        );
        assert!(kept.iter().all(|m| !m.chars().any(char::is_control)));
    }
}
