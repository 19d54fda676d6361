//! Resource limits a plugin asks for (`[limits]` in stratbox.toml). The host fills in its
//! defaults and refuses requests above its ceilings.

use serde::{Deserialize, Serialize};

/// Requested limits; `None` takes the host default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitRequest {
    /// Wasm fuel for one callback (refilled before each callback).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fuel_per_callback: Option<u64>,
    /// Wall-clock backstop for one callback, in milliseconds (epoch interruption).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epoch_deadline_ms: Option<u64>,
    /// Linear memory cap, in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_memory_bytes: Option<u64>,
    /// Table elements cap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_table_elements: Option<u64>,
    /// Order intents accepted for decision within one callback; more are refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_orders_per_callback: Option<u64>,
    /// Open market-data plus signal subscriptions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_subscriptions: Option<u64>,
    /// Diagnostics lines kept per callback.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_log_lines_per_callback: Option<u64>,
}

impl LimitRequest {
    /// Each limit with its TOML key, in declaration order.
    #[must_use]
    pub fn entries(&self) -> [(&'static str, Option<u64>); 7] {
        [
            ("fuel_per_callback", self.fuel_per_callback),
            ("epoch_deadline_ms", self.epoch_deadline_ms),
            ("max_memory_bytes", self.max_memory_bytes),
            ("max_table_elements", self.max_table_elements),
            ("max_orders_per_callback", self.max_orders_per_callback),
            ("max_subscriptions", self.max_subscriptions),
            (
                "max_log_lines_per_callback",
                self.max_log_lines_per_callback,
            ),
        ]
    }
}
