//! The AI signal schema (the design's `AISignal`): what a model sends, what the store keeps
//! and what a strategy receives through `on-signal`.
//!
//! A [`Signal`] only exists validated: it is built by [`super::validate::Validator`], and
//! its canonical JSON ([`Signal::canonical_json`]) is what the buffer persists, so a
//! signal read back is the signal that was accepted, field for field.

use std::{collections::BTreeMap, fmt};

use serde::{Deserialize, Serialize};

use crate::bindings::types::{AiSignal, SignalScalar, SignalType, SignalValue};

/// The kinds of signal, by their schema names (`REGIME_PREDICTION`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SignalKind {
    RegimePrediction,
    CorrelationShift,
    Sentiment,
    VolatilityForecast,
}

impl SignalKind {
    pub const ALL: [Self; 4] = [
        Self::RegimePrediction,
        Self::CorrelationShift,
        Self::Sentiment,
        Self::VolatilityForecast,
    ];

    /// The schema name, `REGIME_PREDICTION`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::RegimePrediction => "REGIME_PREDICTION",
            Self::CorrelationShift => "CORRELATION_SHIFT",
            Self::Sentiment => "SENTIMENT",
            Self::VolatilityForecast => "VOLATILITY_FORECAST",
        }
    }

    /// The kind named `name` (schema name, or the WIT / manifest name `regime-prediction`).
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == name || k.name().replace('_', "-").eq_ignore_ascii_case(name))
    }

    /// The contract's enum.
    #[must_use]
    pub fn wit(self) -> SignalType {
        match self {
            Self::RegimePrediction => SignalType::RegimePrediction,
            Self::CorrelationShift => SignalType::CorrelationShift,
            Self::Sentiment => SignalType::Sentiment,
            Self::VolatilityForecast => SignalType::VolatilityForecast,
        }
    }
}

impl fmt::Display for SignalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One entry of a map value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    Float(f64),
    Text(String),
}

/// A signal's payload: one number, one label, or a flat map of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Float(f64),
    Text(String),
    Map(BTreeMap<String, Scalar>),
}

/// A validated signal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    pub signal_id: String,
    pub signal_type: SignalKind,
    pub instrument_id: String,
    /// Event time, UNIX nanoseconds.
    pub timestamp: u64,
    pub confidence: f64,
    pub value: Value,
    pub metadata: BTreeMap<String, String>,
    pub source_model: String,
}

impl Signal {
    /// The stored form: JSON with fields in schema order and map keys sorted, so equal
    /// signals have equal bytes.
    #[must_use]
    pub fn canonical_json(&self) -> String {
        // Serialising plain strings, finite floats and sorted maps cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// What the strategy receives.
    #[must_use]
    pub fn to_wit(&self) -> AiSignal {
        let scalar = |s: &Scalar| match s {
            Scalar::Float(x) => SignalScalar::Float(*x),
            Scalar::Text(t) => SignalScalar::Text(t.clone()),
        };
        AiSignal {
            signal_id: self.signal_id.clone(),
            signal_type: self.signal_type.wit(),
            instrument_id: self.instrument_id.clone(),
            ts: self.timestamp,
            confidence: self.confidence,
            value: match &self.value {
                Value::Float(x) => SignalValue::Float(*x),
                Value::Text(t) => SignalValue::Text(t.clone()),
                Value::Map(m) => {
                    SignalValue::Map(m.iter().map(|(k, v)| (k.clone(), scalar(v))).collect())
                }
            },
            metadata: self
                .metadata
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            source_model: self.source_model.clone(),
        }
    }

    /// The deterministic delivery order among signals of equal timestamp: type, instrument,
    /// id. (Signals with distinct timestamps go by timestamp.)
    #[must_use]
    pub fn order_key(&self) -> (u64, SignalKind, &str, &str) {
        (
            self.timestamp,
            self.signal_type,
            self.instrument_id.as_str(),
            self.signal_id.as_str(),
        )
    }
}
