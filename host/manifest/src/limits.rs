//! Resource limits a plugin asks for (`[limits]` in stratbox.toml). The host fills in its
//! defaults and refuses requests above its ceilings.
//!
//! Every limit is declared once, in [`sandbox_limits!`]: its key, what it bounds, the host's
//! default and its ceiling. This crate builds [`LimitRequest`] from the table; the sandbox
//! core builds its effective `Limits` (with `DEFAULT` and `CEILING`) from the same table.

use serde::{Deserialize, Serialize};

/// The sandbox limits, each declared once: `key: default, ceiling;` with its doc comment.
/// Calls `$then!` with the table, so each crate shapes it into the type it needs.
#[macro_export]
macro_rules! sandbox_limits {
    ($then:ident) => {
        $then! {
            /// Wasm fuel for one callback, refilled before each callback. Fuel is
            /// deterministic: the same callback on the same input always uses the same amount.
            fuel_per_callback: 10_000_000, 2_000_000_000;
            /// Wall-clock backstop for one callback, in milliseconds (epoch interruption).
            epoch_deadline_ms: 250, 10_000;
            /// Linear memory cap, in bytes.
            max_memory_bytes: 16 * 1024 * 1024, 256 * 1024 * 1024;
            /// Table elements cap.
            max_table_elements: 10_000, 100_000;
            /// Order intents decided per callback; later ones are refused as rate-limited.
            max_orders_per_callback: 64, 10_000;
            /// Open market-data plus signal subscriptions.
            max_subscriptions: 64, 1_024;
            /// Diagnostics lines kept per callback.
            max_log_lines_per_callback: 64, 1_024;
        }
    };
}

macro_rules! limit_request {
    ($( $(#[doc = $doc:expr])* $key:ident: $default:expr, $ceiling:expr; )*) => {
        /// Requested limits; `None` takes the host default.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct LimitRequest {
            $(
                $(#[doc = $doc])*
                #[serde(skip_serializing_if = "Option::is_none")]
                pub $key: Option<u64>,
            )*
        }

        impl LimitRequest {
            /// Every limit's TOML key, in declaration order.
            pub const KEYS: &[&str] = &[$(stringify!($key)),*];

            /// Each limit with its TOML key, in declaration order.
            #[must_use]
            pub fn entries(&self) -> Vec<(&'static str, Option<u64>)> {
                vec![$((stringify!($key), self.$key)),*]
            }
        }
    };
}

sandbox_limits!(limit_request);

#[cfg(test)]
mod tests {
    use super::LimitRequest;

    #[test]
    fn entries_follow_the_table() {
        let r = LimitRequest {
            epoch_deadline_ms: Some(7),
            ..LimitRequest::default()
        };
        let entries = r.entries();
        let keys: Vec<&str> = entries.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, LimitRequest::KEYS);
        assert_eq!(keys.len(), 7);
        assert_eq!(entries[1], ("epoch_deadline_ms", Some(7)));
        assert!(entries.iter().filter(|(_, v)| v.is_some()).count() == 1);
    }
}
