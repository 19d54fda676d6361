//! Capability: AI signal delivery. A plugin subscribes by signal type (and optionally
//! instrument); the router (later issue) delivers a signal only where [`SignalsState::wants`]
//! says so: granted, in scope and subscribed.

mod host;
mod state;

pub use state::{SignalScope, SignalSubscription, SignalsState};

use crate::bindings::types::SignalType;

/// The WIT signal type named `name` (`regime-prediction`, ...).
#[must_use]
pub fn signal_type(name: &str) -> Option<SignalType> {
    Some(match name {
        "regime-prediction" => SignalType::RegimePrediction,
        "correlation-shift" => SignalType::CorrelationShift,
        "sentiment" => SignalType::Sentiment,
        "volatility-forecast" => SignalType::VolatilityForecast,
        _ => return None,
    })
}
