//! One audit record: its fields, the exact bytes its hash covers, and the bound on its size.
//!
//! The hashed body is the record without `hash`, as a JSON object with its keys in sorted
//! order and `details` exactly as stored. Trails written before the record was bounded
//! hash the same way (the details were a `serde_json::Value`, whose objects print their
//! keys sorted), so they still verify: a test pins one.
//!
//! Size: every string that a plugin or an API client controls is kept verbatim up to
//! [`FIELD_MAX`] bytes; a longer one keeps its first [`PREFIX_KEEP`] bytes, its length and
//! the SHA-256 of the whole ([`bounded`]). Generic details keep at most [`ITEMS_MAX`]
//! members per object or array, and details larger than [`DETAILS_MAX`] bytes are replaced
//! by their size and hash. So no record is larger than [`RECORD_MAX`] bytes of JSON.

use std::{borrow::Cow, fmt::Write as _};

use serde::{Deserialize, Serialize};
use serde_json::{Value, value::RawValue};
use sha2::{Digest, Sha256};

use super::AuditAction;

/// Hash that precedes the first record.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Bytes of a plugin- or client-controlled string kept verbatim in a record.
pub const FIELD_MAX: usize = 256;
/// Bytes of a longer string kept as its prefix (with its length and SHA-256).
pub const PREFIX_KEEP: usize = 128;
/// Members of one object or array kept in generic details; the rest are counted.
pub const ITEMS_MAX: usize = 64;
/// Largest `details` of a record, in bytes of JSON; larger details become size and hash.
pub const DETAILS_MAX: usize = 16 * 1024;
/// Largest record, in bytes of JSON: the details plus the bounded actor and subject (each
/// at most [`FIELD_MAX`] bytes, escaped at most 6× for control characters), two hashes,
/// two numbers, the action name and the keys.
pub const RECORD_MAX: usize = DETAILS_MAX + 2 * 6 * FIELD_MAX + 2 * 64 + 2 * 20 + 256;

/// One audit record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditRecord {
    pub seq: u64,
    /// Wall-clock time of the decision (UNIX ns).
    pub ts_ns: u64,
    /// Who decided: `host`, an operator, or a service principal.
    pub actor: String,
    pub action: AuditAction,
    /// What it concerns, e.g. `ema-cross@<sha256>`.
    pub subject: String,
    /// The decision's details, exactly the JSON bytes that were hashed.
    pub details: Box<RawValue>,
    pub prev_hash: String,
    pub hash: String,
}

impl PartialEq for AuditRecord {
    fn eq(&self, other: &Self) -> bool {
        self.seq == other.seq
            && self.ts_ns == other.ts_ns
            && self.actor == other.actor
            && self.action == other.action
            && self.subject == other.subject
            && self.details.get() == other.details.get()
            && self.prev_hash == other.prev_hash
            && self.hash == other.hash
    }
}

impl AuditRecord {
    /// The details as a JSON value (for reading; the stored bytes are [`Self::details`]).
    #[must_use]
    pub fn details(&self) -> Value {
        serde_json::from_str(self.details.get()).unwrap_or(Value::Null)
    }

    /// The hash of everything but `hash` itself.
    #[must_use]
    pub fn compute_hash(&self) -> String {
        body_hash(
            self.action,
            &self.actor,
            &self.details,
            &self.prev_hash,
            self.seq,
            &self.subject,
            self.ts_ns,
        )
    }
}

/// The hashed body: keys in sorted order, exactly as a `serde_json` object of these
/// fields prints.
#[derive(Serialize)]
struct Body<'a> {
    action: AuditAction,
    actor: &'a str,
    details: &'a RawValue,
    prev_hash: &'a str,
    seq: u64,
    subject: &'a str,
    ts_ns: u64,
}

fn body_hash(
    action: AuditAction,
    actor: &str,
    details: &RawValue,
    prev_hash: &str,
    seq: u64,
    subject: &str,
    ts_ns: u64,
) -> String {
    let body = Body {
        action,
        actor,
        details,
        prev_hash,
        seq,
        subject,
        ts_ns,
    };
    let mut bytes = Vec::with_capacity(256 + details.get().len());
    // Writing plain strings and numbers into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut bytes, &body);
    hex_lower(&Sha256::digest(&bytes))
}

/// Lower-case hex of `bytes`, with a table (the `hex` crate's iterator of chars cost ~6 %
/// of an audited decision: docs/perf.md).
#[must_use]
pub fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// What a caller hands the trail; the store gives it its place in the chain.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    pub ts_ns: u64,
    pub actor: &'a str,
    pub action: AuditAction,
    pub subject: &'a str,
    pub details: &'a RawValue,
}

/// Where a chain stands: the next sequence number and the last record's hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub next_seq: u64,
    pub last_hash: String,
}

impl Default for Head {
    fn default() -> Self {
        Self::GENESIS
    }
}

impl Head {
    /// The head of an empty chain.
    pub const GENESIS: Self = Self {
        next_seq: 0,
        last_hash: String::new(),
    };

    /// The head after `last` (or of an empty chain).
    #[must_use]
    pub fn after(last: Option<&AuditRecord>) -> Self {
        last.map_or_else(Self::default, |r| Self {
            next_seq: r.seq + 1,
            last_hash: r.hash.clone(),
        })
    }

    /// The previous hash the next record links to.
    #[must_use]
    pub fn prev_hash(&self) -> &str {
        if self.last_hash.is_empty() {
            GENESIS_HASH
        } else {
            &self.last_hash
        }
    }

    /// The record `entry` becomes at this head (the head does not move).
    #[must_use]
    pub fn seal(&self, entry: &Entry<'_>) -> AuditRecord {
        let actor = bounded(entry.actor).into_owned();
        let subject = bounded(entry.subject).into_owned();
        let prev_hash = self.prev_hash().to_string();
        let hash = body_hash(
            entry.action,
            &actor,
            entry.details,
            &prev_hash,
            self.next_seq,
            &subject,
            entry.ts_ns,
        );
        AuditRecord {
            seq: self.next_seq,
            ts_ns: entry.ts_ns,
            actor,
            action: entry.action,
            subject,
            details: entry.details.to_owned(),
            prev_hash,
            hash,
        }
    }

    /// Moves past `record`.
    pub fn advance(&mut self, record: &AuditRecord) {
        self.next_seq = record.seq + 1;
        self.last_hash.clone_from(&record.hash);
    }
}

/// `s` if it is at most [`FIELD_MAX`] bytes; otherwise its first [`PREFIX_KEEP`] bytes (cut
/// at a character boundary), its length and the SHA-256 of the whole, e.g.
/// `AAAA… [65536 bytes, sha256 9f86…]`.
#[must_use]
pub fn bounded(s: &str) -> Cow<'_, str> {
    if s.len() <= FIELD_MAX {
        return Cow::Borrowed(s);
    }
    let mut cut = PREFIX_KEEP;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut out = String::with_capacity(cut + 100);
    out.push_str(&s[..cut]);
    let _ = write!(
        out,
        "… [{} bytes, sha256 {}]",
        s.len(),
        hex::encode(Sha256::digest(s.as_bytes()))
    );
    Cow::Owned(out)
}

/// `bounded` for an optional string.
#[must_use]
pub fn bounded_opt(s: Option<&str>) -> Option<Cow<'_, str>> {
    s.map(bounded)
}

/// Bounds every string of `value` ([`bounded`]) and keeps at most [`ITEMS_MAX`] members of
/// each object and array (a member `"…": <n>` counts the rest).
#[must_use]
pub fn bound_value(value: Value) -> Value {
    match value {
        Value::String(s) if s.len() > FIELD_MAX => Value::String(bounded(&s).into_owned()),
        Value::Array(items) => {
            let n = items.len();
            let mut kept: Vec<Value> = items.into_iter().take(ITEMS_MAX).map(bound_value).collect();
            if n > ITEMS_MAX {
                kept.push(Value::String(format!("… {} more", n - ITEMS_MAX)));
            }
            Value::Array(kept)
        }
        Value::Object(map) => {
            let n = map.len();
            let mut kept: serde_json::Map<String, Value> = map
                .into_iter()
                .take(ITEMS_MAX)
                .map(|(k, v)| (bounded(&k).into_owned(), bound_value(v)))
                .collect();
            if n > ITEMS_MAX {
                kept.insert("…".to_string(), Value::from(n - ITEMS_MAX));
            }
            Value::Object(kept)
        }
        other => other,
    }
}

/// The stored form of generic details: bounded ([`bound_value`]), printed compactly with
/// sorted keys, and replaced by `{"oversized": {"bytes", "sha256"}}` beyond [`DETAILS_MAX`].
#[must_use]
pub fn details_of(value: Value) -> Box<RawValue> {
    match serde_json::value::to_raw_value(&bound_value(value)) {
        Ok(raw) if raw.get().len() <= DETAILS_MAX => raw,
        Ok(raw) => raw_within_bound(raw.get().to_string()),
        // A `Value` always prints.
        Err(_) => empty_object(),
    }
}

/// `text` (canonical JSON) as stored details, or its size and hash beyond [`DETAILS_MAX`].
#[must_use]
pub fn raw_within_bound(text: String) -> Box<RawValue> {
    let text = if text.len() > DETAILS_MAX {
        format!(
            r#"{{"oversized":{{"bytes":{},"sha256":"{}"}}}}"#,
            text.len(),
            hex::encode(Sha256::digest(text.as_bytes()))
        )
    } else {
        text
    };
    // Canonical JSON printed by serde_json, or the literal above.
    RawValue::from_string(text).unwrap_or_else(|_| empty_object())
}

/// `{}`.
#[must_use]
pub fn empty_object() -> Box<RawValue> {
    RawValue::from_string("{}".to_string()).expect("`{}` is JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_the_hex_crates() {
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(hex_lower(&bytes), hex::encode(&bytes));
    }

    #[test]
    fn short_strings_are_kept_and_long_ones_bounded() {
        assert_eq!(bounded("GBP/USD.FXCM"), "GBP/USD.FXCM");
        let long = "é".repeat(40_000);
        let b = bounded(&long);
        assert!(b.len() < FIELD_MAX + 100, "{}", b.len());
        assert!(b.contains("80000 bytes, sha256 "));
        assert!(b.starts_with("éé"));
    }

    #[test]
    fn generic_details_are_bounded() {
        let v = serde_json::json!({
            "long": "\u{1}".repeat(1 << 20),
            "many": (0..10_000).collect::<Vec<_>>(),
        });
        let raw = details_of(v);
        assert!(raw.get().len() < 4 * 1024, "{}", raw.get().len());
        let back: Value = serde_json::from_str(raw.get()).unwrap();
        assert_eq!(back["many"].as_array().unwrap().len(), ITEMS_MAX + 1);

        let wide: serde_json::Map<String, Value> = (0..64)
            .map(|i| (format!("k{i}"), Value::String("x".repeat(FIELD_MAX))))
            .collect();
        let raw = details_of(Value::Object(wide));
        assert!(raw.get().contains("oversized"), "{}", raw.get());
        assert!(raw.get().len() < 200);
    }

    #[test]
    fn generic_details_print_sorted() {
        let raw = details_of(serde_json::json!({"b": 1, "a": {"d": 2, "c": 3}}));
        assert_eq!(raw.get(), r#"{"a":{"c":3,"d":2},"b":1}"#);
    }
}
