//! Capabilities a plugin may request (`[capabilities]` in stratbox.toml).
//!
//! These are the only authorities that exist: market data, signal delivery and the risk
//! gate. Diagnostics (logging) carries no authority and needs no request.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// One grantable capability, named like its WIT interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    MarketData,
    Signals,
    RiskGate,
}

impl Capability {
    /// Every capability, in a fixed order.
    pub const ALL: [Self; 3] = [Self::MarketData, Self::Signals, Self::RiskGate];

    /// The WIT interface (within `stratbox:strategy`) that this capability links.
    #[must_use]
    pub const fn interface(self) -> &'static str {
        match self {
            Self::MarketData => "market-data",
            Self::Signals => "signals",
            Self::RiskGate => "risk-gate",
        }
    }

    /// The capability behind a WIT interface name, if any.
    #[must_use]
    pub fn from_interface(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.interface() == name)
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.interface())
    }
}

impl FromStr for Capability {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_interface(s).ok_or_else(|| {
            format!("unknown capability `{s}` (expected market-data, signals or risk-gate)")
        })
    }
}

/// The AI signal types of the contract, by their WIT names.
pub const SIGNAL_TYPES: [&str; 4] = [
    "regime-prediction",
    "correlation-shift",
    "sentiment",
    "volatility-forecast",
];

/// What a plugin asks for within one capability. Empty lists mean "whatever the deployment
/// grants"; a grant can only narrow a request, never widen it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CapabilityRequest {
    /// Instruments this capability is used for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instruments: Vec<String>,
    /// Signal types (signals only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signal_types: Vec<String>,
    /// Source models whose signals are wanted (signals only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_models: Vec<String>,
}
