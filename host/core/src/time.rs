//! Timestamps: UNIX nanoseconds (UTC) as used by Nautilus and the WIT contract.

use chrono::{DateTime, SecondsFormat, Utc};

/// Formats UNIX nanoseconds as RFC 3339 (`2012-02-01T00:20:00Z`, with fractional seconds
/// only when present).
#[must_use]
pub fn format_ns(ns: u64) -> String {
    let secs = i64::try_from(ns / 1_000_000_000).unwrap_or(i64::MAX);
    let nanos = u32::try_from(ns % 1_000_000_000).unwrap_or(0);
    match DateTime::<Utc>::from_timestamp(secs, nanos) {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        None => format!("{ns}ns"),
    }
}

/// Wall-clock now as UNIX nanoseconds (for audit records only; strategies never see it).
#[must_use]
pub fn wall_clock_ns() -> u64 {
    let now = Utc::now();
    u64::try_from(now.timestamp_nanos_opt().unwrap_or(0)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats() {
        assert_eq!(
            super::format_ns(1_328_055_600_000_000_000),
            "2012-02-01T00:20:00Z"
        );
        assert_eq!(
            super::format_ns(1_328_055_600_000_000_500),
            "2012-02-01T00:20:00.000000500Z"
        );
    }
}
