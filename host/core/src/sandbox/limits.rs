//! Resource limits of one plugin instance: typed, validated once, all errors reported.

use serde::Serialize;
use stratbox_manifest::{LimitRequest, Problems};

/// Effective limits of an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// Fuel per callback (refilled before each callback). Fuel is deterministic: the same
    /// callback on the same input always uses the same amount.
    pub fuel_per_callback: u64,
    /// Wall-clock backstop per callback, in ms (epoch interruption).
    pub epoch_deadline_ms: u64,
    /// Linear memory cap in bytes.
    pub max_memory_bytes: u64,
    /// Table elements cap.
    pub max_table_elements: u64,
    /// Order intents decided per callback; later ones are refused as rate-limited.
    pub max_orders_per_callback: u64,
    /// Open market-data + signal subscriptions.
    pub max_subscriptions: u64,
    /// Diagnostics lines kept per callback.
    pub max_log_lines_per_callback: u64,
}

impl Limits {
    /// What a plugin gets when its manifest asks for nothing.
    pub const DEFAULT: Self = Self {
        fuel_per_callback: 10_000_000,
        epoch_deadline_ms: 250,
        max_memory_bytes: 16 * 1024 * 1024,
        max_table_elements: 10_000,
        max_orders_per_callback: 64,
        max_subscriptions: 64,
        max_log_lines_per_callback: 64,
    };

    /// The most any plugin may ask for.
    pub const CEILING: Self = Self {
        fuel_per_callback: 2_000_000_000,
        epoch_deadline_ms: 10_000,
        max_memory_bytes: 256 * 1024 * 1024,
        max_table_elements: 100_000,
        max_orders_per_callback: 10_000,
        max_subscriptions: 1_024,
        max_log_lines_per_callback: 1_024,
    };

    /// Every limit with its manifest key, in declaration order (the order of
    /// [`LimitRequest::entries`]).
    fn fields_mut(&mut self) -> [(&'static str, &mut u64); 7] {
        [
            ("fuel_per_callback", &mut self.fuel_per_callback),
            ("epoch_deadline_ms", &mut self.epoch_deadline_ms),
            ("max_memory_bytes", &mut self.max_memory_bytes),
            ("max_table_elements", &mut self.max_table_elements),
            ("max_orders_per_callback", &mut self.max_orders_per_callback),
            ("max_subscriptions", &mut self.max_subscriptions),
            (
                "max_log_lines_per_callback",
                &mut self.max_log_lines_per_callback,
            ),
        ]
    }

    /// `defaults` overridden by `request`; every request above `ceiling` is a problem.
    pub fn resolve(
        request: &LimitRequest,
        defaults: &Self,
        ceiling: &Self,
    ) -> Result<Self, Problems> {
        let mut problems = Problems::default();
        let mut out = *defaults;
        let mut ceiling = *ceiling;
        let fields = out.fields_mut().into_iter().zip(ceiling.fields_mut());
        for ((requested_key, requested), ((key, slot), (_, max))) in
            request.entries().into_iter().zip(fields)
        {
            debug_assert_eq!(requested_key, key);
            let Some(v) = requested else { continue };
            if v == 0 {
                problems.push(format!("limits.{key}"), "must be greater than 0");
            } else if v > *max {
                problems.push(
                    format!("limits.{key}"),
                    format!("{v} is above the host ceiling {max}"),
                );
            }
            *slot = v;
        }
        problems.into_result().map(|()| out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_overrides_defaults() {
        let req = LimitRequest {
            fuel_per_callback: Some(5),
            max_memory_bytes: Some(1 << 20),
            ..Default::default()
        };
        let l = Limits::resolve(&req, &Limits::DEFAULT, &Limits::CEILING).unwrap();
        assert_eq!(l.fuel_per_callback, 5);
        assert_eq!(l.max_memory_bytes, 1 << 20);
        assert_eq!(l.epoch_deadline_ms, Limits::DEFAULT.epoch_deadline_ms);
    }

    #[test]
    fn every_excess_is_reported() {
        let req = LimitRequest {
            fuel_per_callback: Some(u64::MAX),
            max_memory_bytes: Some(1 << 40),
            max_subscriptions: Some(0),
            ..Default::default()
        };
        let err = Limits::resolve(&req, &Limits::DEFAULT, &Limits::CEILING).unwrap_err();
        let text = err.to_string();
        assert_eq!(err.0.len(), 3, "{text}");
        assert!(
            text.contains(
                "limits.max_memory_bytes: 1099511627776 is above the host ceiling 268435456"
            ),
            "{text}"
        );
        assert!(
            text.contains("limits.max_subscriptions: must be greater than 0"),
            "{text}"
        );
    }
}
