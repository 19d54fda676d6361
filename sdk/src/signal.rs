//! Reading AI signal values.

use crate::wit::{SignalScalar, SignalType, SignalValue};

/// The label a signal carries: its text, or the key of its largest finite numeric entry
/// (a regime model's probabilities, say). `None` for a bare number.
#[must_use]
pub fn label(value: &SignalValue) -> Option<&str> {
    match value {
        SignalValue::Text(t) => Some(t.as_str()),
        SignalValue::Map(entries) => entries
            .iter()
            .filter_map(|(k, v)| match v {
                SignalScalar::Float(x) if x.is_finite() => Some((k.as_str(), *x)),
                _ => None,
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(k, _)| k),
        SignalValue::Float(_) => None,
    }
}

/// The contract's name of a signal type (`regime-prediction`, ...).
#[must_use]
pub const fn type_name(t: SignalType) -> &'static str {
    match t {
        SignalType::RegimePrediction => "regime-prediction",
        SignalType::CorrelationShift => "correlation-shift",
        SignalType::Sentiment => "sentiment",
        SignalType::VolatilityForecast => "volatility-forecast",
    }
}

/// The signal type named `name` in the contract.
#[must_use]
pub fn type_named(name: &str) -> Option<SignalType> {
    [
        SignalType::RegimePrediction,
        SignalType::CorrelationShift,
        SignalType::Sentiment,
        SignalType::VolatilityForecast,
    ]
    .into_iter()
    .find(|t| type_name(*t) == name)
}
