//! AI signal delivery: schema, validation, the persisted buffer, routing, replay and dead
//! letters (see `docs/decisions/0012-signals.md` and `docs/signals.md`).
//!
//! ```text
//! file / HTTP ──▶ ingest::read ──▶ Validator ──▶ SignalBuffer ──▶ SignalStore (SQLite)
//!                                      │ refused         (ack = commit)     │ seq order
//!                                      ▼                                    ▼
//!                                 dead letters ◀── failed deliveries ── SignalRouter ──▶ on-signal
//! ```
//!
//! In a backtest, signals do not go through the store: they are validated from a file and
//! enter Nautilus as custom data ([`nautilus::SignalData`]), so the engine orders them with
//! market data by timestamp; each plugin's adapter then delivers exactly what its grant and
//! subscriptions allow.

pub mod buffer;
pub mod delivery;
pub mod ingest;
pub mod nautilus;
pub mod router;
pub mod store;

// The schema, its validator and the strict JSON parser are pure parsing and live in the
// core (fuzzed without Nautilus, docs/decisions/0024-fuzzing.md); re-exported here so that
// `signals::validate::Validator` and friends keep their paths.
pub use stratbox_core::signal_input::{schema, strict_json, validate};

use std::{collections::BTreeMap, path::Path};

use serde::Serialize;

use self::ingest::{Format, IngestError};
pub use self::{
    schema::{Signal, SignalKind},
    validate::{Refusal, SignalLimits, TimeCheck, Validator},
};

/// One signal as text (an HTTP body, a message), judged for the buffer: the validated
/// signal, or its refusal with the text kept for the dead letter.
#[must_use]
pub fn judge_text(
    validator: &Validator,
    text: &str,
    source: &str,
    correlation_id: String,
) -> store::Incoming {
    match validator.parse_json(text) {
        Ok(signal) => store::Incoming::Valid {
            signal,
            source: source.to_string(),
            correlation_id,
        },
        Err(refusal) => store::Incoming::Refused {
            input: text.to_string(),
            signal_id: serde_json::from_str::<serde_json::Value>(text)
                .ok()
                .and_then(|v| ingest::signal_id_of(&v)),
            refusal,
            source: source.to_string(),
            correlation_id,
        },
    }
}

/// Every stored signal for `instrument_id` with `from <= timestamp <= to`, in backtest
/// delivery order ([`Signal::order_key`]). Stored signals were validated at ingest.
pub async fn stored_for_backtest(
    store: &store::SignalStore,
    instrument_id: &str,
    from_ns: u64,
    to_ns: u64,
) -> Result<Vec<Signal>, store::StoreError> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = store
            .read_range(from_ns, to_ns.saturating_add(1), after, delivery::PAGE)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        out.extend(
            page.into_iter()
                .map(|s| s.signal)
                .filter(|s| s.instrument_id == instrument_id),
        );
    }
    out.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
    Ok(out)
}

/// A refused record of a signal file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefusedRecord {
    pub source: String,
    pub signal_id: Option<String>,
    pub reason: String,
}

/// A signal file read for a backtest: the accepted signals in delivery order and what was
/// refused.
#[derive(Debug, Clone, Default)]
pub struct SignalFile {
    pub signals: Vec<Signal>,
    pub refused: Vec<RefusedRecord>,
    /// Records repeating an earlier signal exactly (dropped, idempotent).
    pub duplicates: u64,
}

/// Reads and validates a signal file (backtest mode: no wall-clock check). Signals are
/// returned sorted by [`Signal::order_key`]: timestamp, then type, instrument, id.
pub fn load_file(
    path: &Path,
    format: Format,
    validator: &Validator,
) -> Result<SignalFile, IngestError> {
    let mut out = SignalFile::default();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    ingest::read(path, format, &mut |record| {
        match ingest::judge(record, validator, String::new()) {
            store::Incoming::Valid { signal, source, .. } => {
                let body = signal.canonical_json();
                match seen.get(&signal.signal_id) {
                    Some(b) if *b == body => out.duplicates += 1,
                    Some(_) => out.refused.push(RefusedRecord {
                        source,
                        signal_id: Some(signal.signal_id.clone()),
                        reason: format!(
                            "signal_id: `{}` appeared earlier in the file with different content",
                            signal.signal_id
                        ),
                    }),
                    None => {
                        seen.insert(signal.signal_id.clone(), body);
                        out.signals.push(signal);
                    }
                }
            }
            store::Incoming::Refused {
                refusal,
                signal_id,
                source,
                ..
            } => out.refused.push(RefusedRecord {
                source,
                signal_id,
                reason: refusal.to_string(),
            }),
        }
        Ok(())
    })?;
    out.signals
        .sort_by(|a, b| a.order_key().cmp(&b.order_key()));
    Ok(out)
}
