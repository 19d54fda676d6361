//! Signal validation: every field checked, every problem reported (not just the first), so
//! a dead letter says everything that was wrong with it.
//!
//! Input is a JSON object as a model sends it (JSONL lines are that directly; CSV and
//! Parquet rows are turned into one by [`super::records`] and the host). Checks: required fields and
//! their types, no unknown fields, a signal type of the schema, confidence in [0, 1],
//! finite numbers, a known instrument, size limits on every string / map, and in live mode
//! a timestamp near the host's clock. Duplicates are the buffer's business (it knows what
//! was stored): see the host's `signals::store`.

use std::{collections::BTreeMap, collections::BTreeSet, fmt};

use serde::Serialize;
use serde_json::{Map, Value as Json};
use stratbox_manifest::Problems;

use super::schema::{Scalar, Signal, SignalKind, Value};

/// Size limits. The defaults keep one signal well under 64 KiB however it is filled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignalLimits {
    pub max_id_bytes: usize,
    pub max_source_model_bytes: usize,
    pub max_instrument_bytes: usize,
    /// A text value, or one text entry of a map value.
    pub max_text_bytes: usize,
    pub max_map_entries: usize,
    pub max_metadata_entries: usize,
    /// A map or metadata key.
    pub max_key_bytes: usize,
    pub max_metadata_value_bytes: usize,
    /// The whole input object as JSON.
    pub max_signal_bytes: usize,
}

impl Default for SignalLimits {
    fn default() -> Self {
        Self {
            max_id_bytes: 128,
            max_source_model_bytes: 128,
            max_instrument_bytes: 64,
            max_text_bytes: 256,
            max_map_entries: 64,
            max_metadata_entries: 32,
            max_key_bytes: 64,
            max_metadata_value_bytes: 512,
            max_signal_bytes: 32 * 1024,
        }
    }
}

/// Backtests accept any timestamp after 1990; live ingestion also requires it near now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeCheck {
    Backtest,
    Live {
        now_ns: u64,
        /// How old a signal may be.
        max_age_ns: u64,
        /// How far ahead of the host clock (clock skew).
        max_ahead_ns: u64,
    },
}

/// 1990-01-01T00:00:00Z: anything earlier is a unit mistake (seconds or ms for ns).
pub const MIN_TIMESTAMP_NS: u64 = 631_152_000_000_000_000;

/// One thing wrong with an input signal: `at` is `confidence`, `metadata.source`,
/// `value.trend`, or `signal` for the whole object.
pub use stratbox_manifest::Problem;

/// Every problem of a refused signal, in field order; `Display` joins them with `; ` (a
/// dead letter's reason is one line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal(pub Vec<Problem>);

impl Refusal {
    /// A refusal for one problem.
    #[must_use]
    pub fn one(at: &str, message: impl Into<String>) -> Self {
        Self(vec![Problem {
            at: at.to_string(),
            message: message.into(),
        }])
    }
}

impl From<Problems> for Refusal {
    fn from(p: Problems) -> Self {
        Self(p.0)
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Refusal {}

/// The schema's required fields, in schema order.
pub const REQUIRED_FIELDS: [&str; 7] = [
    "signal_id",
    "signal_type",
    "instrument_id",
    "timestamp",
    "confidence",
    "value",
    "source_model",
];

/// The one optional field.
pub const OPTIONAL_FIELD: &str = "metadata";

/// Checks input signals against the schema, the known instruments and the limits.
#[derive(Debug, Clone)]
pub struct Validator {
    instruments: BTreeSet<String>,
    limits: SignalLimits,
    time: TimeCheck,
}

impl Validator {
    /// A validator accepting signals for `instruments`.
    #[must_use]
    pub fn new(
        instruments: impl IntoIterator<Item = impl Into<String>>,
        limits: SignalLimits,
        time: TimeCheck,
    ) -> Self {
        Self {
            instruments: instruments.into_iter().map(Into::into).collect(),
            limits,
            time,
        }
    }

    #[must_use]
    pub fn limits(&self) -> &SignalLimits {
        &self.limits
    }

    /// The live clock moved on.
    pub fn set_now(&mut self, now: u64) {
        if let TimeCheck::Live { now_ns, .. } = &mut self.time {
            *now_ns = now;
        }
    }

    /// Parses and validates one JSON text (a JSONL line).
    pub fn parse_json(&self, text: &str) -> Result<Signal, Refusal> {
        if text.len() > self.limits.max_signal_bytes {
            return Err(Refusal::one(
                "signal",
                format!(
                    "{} bytes, over the {}-byte limit",
                    text.len(),
                    self.limits.max_signal_bytes
                ),
            ));
        }
        match super::strict_json::parse(text) {
            // The text is within the limit, so the object is too.
            Ok(json) => self.check(&json, false),
            Err(e) => Err(Refusal::one("signal", format!("not valid JSON: {e}"))),
        }
    }

    /// Validates one input object.
    pub fn validate(&self, json: &Json) -> Result<Signal, Refusal> {
        self.check(json, true)
    }

    /// Validates one input object parsed from a text of `text_len` bytes (its size is then
    /// known without re-encoding it).
    pub fn validate_parsed(&self, json: &Json, text_len: usize) -> Result<Signal, Refusal> {
        if text_len > self.limits.max_signal_bytes {
            return self.check(json, true);
        }
        self.check(json, false)
    }

    fn check(&self, json: &Json, measure: bool) -> Result<Signal, Refusal> {
        let mut p = Problems::new();
        let Some(obj) = json.as_object() else {
            p.push(
                "signal",
                format!("expected a JSON object, found {}", kind(json)),
            );
            return Err(p.into());
        };
        let size = if measure { json.to_string().len() } else { 0 };
        if size > self.limits.max_signal_bytes {
            p.push(
                "signal",
                format!(
                    "{size} bytes, over the {}-byte limit",
                    self.limits.max_signal_bytes
                ),
            );
            return Err(p.into());
        }
        for key in obj.keys() {
            if !REQUIRED_FIELDS.contains(&key.as_str()) && key != OPTIONAL_FIELD {
                p.push(
                    short(key, 64),
                    format!(
                        "unknown field (the schema has {} and {OPTIONAL_FIELD})",
                        REQUIRED_FIELDS.join(", ")
                    ),
                );
            }
        }
        let l = &self.limits;
        let signal_id = self.text(obj, "signal_id", l.max_id_bytes, &mut p);
        let signal_type = match obj.get("signal_type") {
            None | Some(Json::Null) => {
                p.push("signal_type", "required");
                None
            }
            Some(Json::String(s)) => SignalKind::parse(s).or_else(|| {
                p.push(
                    "signal_type",
                    format!(
                        "unknown type `{}` (expected REGIME_PREDICTION, CORRELATION_SHIFT, SENTIMENT or VOLATILITY_FORECAST)",
                        short(s, 64)
                    ),
                );
                None
            }),
            Some(other) => {
                p.push("signal_type", format!("expected a string, found {}", kind(other)));
                None
            }
        };
        let instrument_id = self
            .text(obj, "instrument_id", l.max_instrument_bytes, &mut p)
            .filter(|id| {
                let known = self.instruments.contains(id);
                if !known {
                    p.push(
                        "instrument_id",
                        format!("unknown instrument `{id}` (not in the instrument definitions)"),
                    );
                }
                known
            });
        let timestamp = self.timestamp(obj.get("timestamp"), &mut p);
        let confidence = match number(obj.get("confidence"), "confidence", &mut p) {
            Some(c) if !(0.0..=1.0).contains(&c) => {
                p.push("confidence", format!("{c} is outside [0, 1]"));
                None
            }
            c => c,
        };
        let value = self.value(obj.get("value"), &mut p);
        let metadata = self.metadata(obj.get("metadata"), &mut p);
        let source_model = self.text(obj, "source_model", l.max_source_model_bytes, &mut p);
        match (
            signal_id,
            signal_type,
            instrument_id,
            timestamp,
            confidence,
            value,
            metadata,
            source_model,
        ) {
            (Some(a), Some(b), Some(c), Some(d), Some(e), Some(f), Some(g), Some(h))
                if p.is_empty() =>
            {
                Ok(Signal {
                    signal_id: a,
                    signal_type: b,
                    instrument_id: c,
                    timestamp: d,
                    confidence: e,
                    value: f,
                    metadata: g,
                    source_model: h,
                })
            }
            _ => Err(p.into()),
        }
    }

    fn text(
        &self,
        obj: &Map<String, Json>,
        field: &str,
        max: usize,
        p: &mut Problems,
    ) -> Option<String> {
        match obj.get(field) {
            None | Some(Json::Null) => {
                p.push(field, "required");
                None
            }
            Some(Json::String(s)) => check_text(s, max, false).map_err(|r| p.push(field, r)).ok(),
            Some(other) => {
                p.push(field, format!("expected a string, found {}", kind(other)));
                None
            }
        }
    }

    fn timestamp(&self, v: Option<&Json>, p: &mut Problems) -> Option<u64> {
        let ts = match v {
            None | Some(Json::Null) => {
                p.push("timestamp", "required");
                return None;
            }
            Some(Json::Number(n)) => match n.as_u64() {
                Some(ts) => ts,
                None => {
                    p.push(
                        "timestamp",
                        format!("`{n}` is not a whole number of UNIX nanoseconds"),
                    );
                    return None;
                }
            },
            Some(other) => {
                p.push(
                    "timestamp",
                    format!(
                        "expected UNIX nanoseconds (an integer), found {}",
                        kind(other)
                    ),
                );
                return None;
            }
        };
        if ts < MIN_TIMESTAMP_NS {
            p.push(
                "timestamp",
                format!(
                    "{ts} is before 1990: is it in seconds or milliseconds instead of nanoseconds?"
                ),
            );
            return None;
        }
        if let TimeCheck::Live {
            now_ns,
            max_age_ns,
            max_ahead_ns,
        } = self.time
        {
            if ts > now_ns.saturating_add(max_ahead_ns) {
                p.push(
                    "timestamp",
                    format!(
                        "{ts} is {} ms ahead of the host clock (at most {} ms allowed)",
                        (ts - now_ns) / 1_000_000,
                        max_ahead_ns / 1_000_000
                    ),
                );
                return None;
            }
            if ts < now_ns.saturating_sub(max_age_ns) {
                p.push(
                    "timestamp",
                    format!(
                        "{ts} is {} s old (at most {} s allowed)",
                        (now_ns - ts) / 1_000_000_000,
                        max_age_ns / 1_000_000_000
                    ),
                );
                return None;
            }
        }
        Some(ts)
    }

    fn value(&self, v: Option<&Json>, p: &mut Problems) -> Option<Value> {
        let l = &self.limits;
        match v {
            None | Some(Json::Null) => {
                p.push("value", "required");
                None
            }
            Some(Json::Number(_)) => number(v, "value", p).map(Value::Float),
            Some(Json::String(s)) => check_text(s, l.max_text_bytes, true)
                .map(Value::Text)
                .map_err(|r| p.push("value", r))
                .ok(),
            Some(Json::Object(m)) => {
                if m.is_empty() {
                    p.push("value", "an empty map");
                    return None;
                }
                let before = p.len();
                let mut out = BTreeMap::new();
                for (k, v, field) in entries(m, "value", l.max_map_entries, l.max_key_bytes, p)? {
                    let scalar = match v {
                        Json::Number(_) => number(Some(v), &field, p).map(Scalar::Float),
                        Json::String(s) => check_text(s, l.max_text_bytes, true)
                            .map(Scalar::Text)
                            .map_err(|r| p.push(&field, r))
                            .ok(),
                        other => {
                            p.push(
                                &field,
                                format!("expected a number or string, found {}", kind(other)),
                            );
                            None
                        }
                    };
                    if let Some(s) = scalar {
                        out.insert(k.clone(), s);
                    }
                }
                (p.len() == before).then_some(Value::Map(out))
            }
            Some(other) => {
                p.push(
                    "value",
                    format!(
                        "expected a number, string or flat map, found {}",
                        kind(other)
                    ),
                );
                None
            }
        }
    }

    fn metadata(&self, v: Option<&Json>, p: &mut Problems) -> Option<BTreeMap<String, String>> {
        let l = &self.limits;
        let m = match v {
            None | Some(Json::Null) => return Some(BTreeMap::new()),
            Some(Json::Object(m)) => m,
            Some(other) => {
                p.push(
                    "metadata",
                    format!("expected a map of strings, found {}", kind(other)),
                );
                return None;
            }
        };
        let before = p.len();
        let mut out = BTreeMap::new();
        for (k, v, field) in entries(m, "metadata", l.max_metadata_entries, l.max_key_bytes, p)? {
            match v {
                Json::String(s) => match check_text(s, l.max_metadata_value_bytes, true) {
                    Ok(s) => {
                        out.insert(k.clone(), s);
                    }
                    Err(r) => p.push(&field, r),
                },
                other => p.push(
                    &field,
                    format!(
                        "expected a string, found {} (metadata is kept verbatim: send numbers as text)",
                        kind(other)
                    ),
                ),
            }
        }
        (p.len() == before).then_some(out)
    }
}

/// The entries of map `m` whose keys pass the checks, each with its field name
/// (`value.trend`); `None` (with a problem) when the map has too many entries.
fn entries<'a>(
    m: &'a Map<String, Json>,
    name: &str,
    max_entries: usize,
    max_key_bytes: usize,
    p: &mut Problems,
) -> Option<Vec<(&'a String, &'a Json, String)>> {
    if m.len() > max_entries {
        p.push(
            name,
            format!("{} entries, over the limit of {max_entries}", m.len()),
        );
        return None;
    }
    let mut out = Vec::with_capacity(m.len());
    for (k, v) in m {
        let field = format!("{name}.{}", short(k, 64));
        match check_text(k, max_key_bytes, false) {
            Ok(_) => out.push((k, v, field)),
            Err(r) => p.push(&field, format!("key {r}")),
        }
    }
    Some(out)
}

fn number(v: Option<&Json>, field: &str, p: &mut Problems) -> Option<f64> {
    match v {
        None | Some(Json::Null) => {
            p.push(field, "required");
            None
        }
        Some(Json::Number(n)) => match n.as_f64() {
            Some(x) if x.is_finite() => Some(x),
            _ => {
                p.push(field, format!("`{n}` is not a finite number"));
                None
            }
        },
        Some(other) => {
            p.push(field, format!("expected a number, found {}", kind(other)));
            None
        }
    }
}

/// A string that is non-empty (unless `empty_ok`), within `max` bytes and free of control
/// characters.
fn check_text(s: &str, max: usize, empty_ok: bool) -> Result<String, String> {
    if s.is_empty() && !empty_ok {
        return Err("is empty".into());
    }
    if s.len() > max {
        return Err(format!("{} bytes, over the {max}-byte limit", s.len()));
    }
    if let Some(c) = s.chars().find(|c| c.is_control()) {
        return Err(format!("contains the control character {:?}", c));
    }
    Ok(s.to_string())
}

/// At most `max` bytes of `s` (on a char boundary), for quoting in messages.
fn short(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}
