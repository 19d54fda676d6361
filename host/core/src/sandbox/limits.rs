//! Resource limits of one plugin instance: typed, validated once, all errors reported.

use serde::Serialize;
use stratbox_manifest::{LimitRequest, Problems};

/// Builds [`Limits`] from the one table of sandbox limits ([`stratbox_manifest::sandbox_limits!`]).
macro_rules! effective_limits {
    ($( $(#[doc = $doc:expr])* $key:ident: $default:expr, $ceiling:expr; )*) => {
        /// Effective limits of an instance.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
        pub struct Limits {
            $(
                $(#[doc = $doc])*
                pub $key: u64,
            )*
        }

        impl Limits {
            /// What a plugin gets when its manifest asks for nothing.
            pub const DEFAULT: Self = Self { $($key: $default),* };

            /// The most any plugin may ask for.
            pub const CEILING: Self = Self { $($key: $ceiling),* };

            /// `defaults` overridden by `request`; every request of 0 or above `ceiling` is
            /// a problem, and all of them are reported.
            pub fn resolve(
                request: &LimitRequest,
                defaults: &Self,
                ceiling: &Self,
            ) -> Result<Self, Problems> {
                let mut problems = Problems::default();
                let mut out = *defaults;
                $(
                    if let Some(v) = request.$key {
                        check(&mut problems, stringify!($key), v, ceiling.$key);
                        out.$key = v;
                    }
                )*
                problems.into_result().map(|()| out)
            }
        }
    };
}

stratbox_manifest::sandbox_limits!(effective_limits);

fn check(problems: &mut Problems, key: &str, value: u64, max: u64) {
    if value == 0 {
        problems.push(format!("limits.{key}"), "must be greater than 0");
    } else if value > max {
        problems.push(
            format!("limits.{key}"),
            format!("{value} is above the host ceiling {max}"),
        );
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
