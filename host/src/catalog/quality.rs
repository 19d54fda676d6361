//! Data quality of an import: every value is checked, problems are named with their source
//! line or row, and a policy decides what happens to them. Gaps are reported separately,
//! with expected market closures listed apart from unexpected holes.
//!
//! Checks: OHLC consistency, bid ≤ ask, positive prices and sizes (bar volume may be 0:
//! FX bars carry none), time order, duplicates (and, for bars, two different bars at one
//! time), outlier jumps of more than `max_jump` (relative) from the last clean value.

use std::collections::BTreeMap;

use nautilus_model::{
    data::{Bar, QuoteTick, TradeTick},
    types::Price,
};
use serde::Serialize;

use super::series::{Kind, Parsed, Series, Unit};

crate::named_enum! {
    /// What to do with a value that has a problem.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Policy: "bad-value policy" {
        Reject = "reject": "Refuse the whole import; nothing is written.",
        DropAndReport = "drop-and-report" | "drop": "Leave the value out and list it in the report.",
        KeepAndFlag = "keep-and-flag" | "flag":
            "Keep the value and list it in the report (out-of-order values are moved into place).",
    }
}

crate::named_enum! {
    /// Which gaps are expected market closures.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Calendar: "calendar" {
        Fx = "fx":
            "Foreign exchange: closed from Friday evening to Sunday evening (UTC), and over \
             25 December and 1 January.",
        Always = "24x7": "Crypto venues: always open, every gap is unexpected.",
    }
}

impl Calendar {
    /// The usual calendar of a venue: FX for FXCM and the simulated FX venue, 24x7 else.
    #[must_use]
    pub fn for_venue(venue: &str) -> Self {
        match venue {
            "FXCM" | "SIM" | "OANDA" | "IDEALPRO" => Self::Fx,
            _ => Self::Always,
        }
    }

    /// Why a gap from `from` to `to` (ns) is an expected closure, if it is one.
    fn closure(self, from: u64, to: u64) -> Option<&'static str> {
        use chrono::{Datelike, Timelike, Weekday};
        if self == Self::Always || to <= from {
            return None;
        }
        let at = |ns: u64| {
            i64::try_from(ns)
                .ok()
                .map(chrono::DateTime::from_timestamp_nanos)
        };
        let (a, b) = (at(from)?, at(to)?);
        let hours = (to - from) as f64 / 3.6e12;
        let weekend_start = matches!(a.weekday(), Weekday::Fri) && a.hour() >= 19
            || matches!(a.weekday(), Weekday::Sat);
        let weekend_end = matches!(b.weekday(), Weekday::Sun) && b.hour() >= 17
            || matches!(b.weekday(), Weekday::Mon) && b.hour() < 2;
        if weekend_start && weekend_end && hours < 80.0 {
            return Some("weekend");
        }
        let holiday = |d: chrono::DateTime<chrono::Utc>| {
            (d.month() == 12 && d.day() == 25) || (d.month() == 1 && d.day() == 1)
        };
        let mut day = a;
        while day <= b && hours < 100.0 {
            if holiday(day) {
                return Some("holiday (25 December or 1 January)");
            }
            day += chrono::Duration::hours(12);
        }
        if holiday(b) && hours < 100.0 {
            return Some("holiday (25 December or 1 January)");
        }
        None
    }
}

/// How an import is checked.
#[derive(Debug, Clone, Serialize)]
pub struct QualityConfig {
    pub policy: Policy,
    /// Largest relative move from the last clean value that is not an outlier (0.15 = 15%).
    pub max_jump: f64,
    pub calendar: Calendar,
    /// Longest quiet time between ticks before it is a gap (ns); bars use their interval.
    pub max_tick_gap_ns: u64,
    /// Bar interval (ns), from the bar type.
    pub bar_interval_ns: Option<u64>,
}

/// One problem with one value.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub code: &'static str,
    /// `line 7` or `row 7` of the source.
    pub at: String,
    pub ts: u64,
    pub message: String,
}

/// A stretch without data.
#[derive(Debug, Clone, Serialize)]
pub struct Gap {
    pub from_ts: u64,
    pub to_ts: u64,
    pub from: String,
    pub to: String,
    pub seconds: f64,
    /// Bars missing in the gap (bars only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing_bars: Option<u64>,
    /// Why the gap is expected (a market closure), when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closure: Option<&'static str>,
}

/// Most gaps and problems listed in a report; counts are always complete.
pub const LIST_LIMIT: usize = 1000;

/// Gaps, split into expected closures and the rest.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Gaps {
    pub expected_count: u64,
    pub unexpected_count: u64,
    pub expected: Vec<Gap>,
    pub unexpected: Vec<Gap>,
}

/// The quality report of one import (written as JSON next to its lineage).
#[derive(Debug, Clone, Serialize)]
pub struct QualityReport {
    pub config: QualityConfig,
    pub rows_read: u64,
    pub rows_written: u64,
    pub rows_dropped: u64,
    pub rows_flagged: u64,
    /// True when out-of-order values were moved into time order (keep-and-flag).
    pub sorted: bool,
    pub problems_by_code: BTreeMap<&'static str, u64>,
    /// The first [`LIST_LIMIT`] problems in source order.
    pub problems: Vec<Problem>,
    pub gaps: Gaps,
}

impl QualityReport {
    /// Problems in all.
    #[must_use]
    pub fn problem_count(&self) -> u64 {
        self.problems_by_code.values().sum()
    }

    /// A few lines for a terminal: counts by code, then the first problems.
    #[must_use]
    pub fn summary(&self, source: &str, first: usize) -> String {
        let mut s = format!(
            "{} problem(s) in {source}: {}",
            self.problem_count(),
            self.problems_by_code
                .iter()
                .map(|(c, n)| format!("{c} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        for p in self.problems.iter().take(first) {
            s.push_str(&format!("\n  {source}:{}: {}: {}", p.at, p.code, p.message));
        }
        s
    }
}

/// A catalog value the checks understand.
trait Checked: Clone + PartialEq {
    fn ts(&self) -> u64;
    /// Problems visible in the value alone, described only when `describe` (a report lists
    /// the first [`LIST_LIMIT`] problems; formatting the rest would be wasted).
    fn intrinsic(&self, out: &mut Vec<(&'static str, String)>, describe: bool);
    /// The price outlier checks follow (close, mid, trade price), when positive.
    fn reference(&self) -> Option<f64>;
    /// Two values at one time are a conflict (bars: one bar per period).
    const ONE_PER_TIME: bool;
}

/// Formats the price only when it is a problem (formatting every row's prices cost more
/// than the rest of the checks together).
fn positive_price(out: &mut Vec<(&'static str, String)>, what: &str, price: Price, describe: bool) {
    if price.raw <= 0 {
        out.push((
            "non-positive-price",
            said(describe, || format!("{what} {price} is not positive")),
        ));
    }
}

/// `message()` when `describe`, else nothing.
fn said(describe: bool, message: impl FnOnce() -> String) -> String {
    if describe { message() } else { String::new() }
}

impl Checked for Bar {
    fn ts(&self) -> u64 {
        self.ts_init.as_u64()
    }
    fn intrinsic(&self, out: &mut Vec<(&'static str, String)>, describe: bool) {
        for (what, p) in [
            ("open", self.open),
            ("high", self.high),
            ("low", self.low),
            ("close", self.close),
        ] {
            positive_price(out, what, p, describe);
        }
        let within = |p| p >= self.low && p <= self.high;
        if self.high < self.low || !within(self.open) || !within(self.close) {
            out.push((
                "ohlc-inconsistent",
                said(describe, || {
                    format!(
                        "high {} / low {} do not bound open {} / close {}",
                        self.high, self.low, self.open, self.close
                    )
                }),
            ));
        }
    }
    fn reference(&self) -> Option<f64> {
        (self.close.raw > 0).then(|| self.close.as_f64())
    }
    const ONE_PER_TIME: bool = true;
}

impl Checked for QuoteTick {
    fn ts(&self) -> u64 {
        self.ts_init.as_u64()
    }
    fn intrinsic(&self, out: &mut Vec<(&'static str, String)>, describe: bool) {
        positive_price(out, "bid", self.bid_price, describe);
        positive_price(out, "ask", self.ask_price, describe);
        if self.bid_price > self.ask_price {
            out.push((
                "crossed-quote",
                said(describe, || {
                    format!("bid {} is above ask {}", self.bid_price, self.ask_price)
                }),
            ));
        }
        for (what, q) in [("bid size", self.bid_size), ("ask size", self.ask_size)] {
            if q.raw == 0 {
                out.push((
                    "non-positive-size",
                    said(describe, || format!("{what} is 0")),
                ));
            }
        }
    }
    fn reference(&self) -> Option<f64> {
        (self.bid_price.raw > 0 && self.ask_price.raw > 0)
            .then(|| (self.bid_price.as_f64() + self.ask_price.as_f64()) / 2.0)
    }
    const ONE_PER_TIME: bool = false;
}

impl Checked for TradeTick {
    fn ts(&self) -> u64 {
        self.ts_init.as_u64()
    }
    fn intrinsic(&self, out: &mut Vec<(&'static str, String)>, describe: bool) {
        positive_price(out, "price", self.price, describe);
        if self.size.raw == 0 {
            out.push((
                "non-positive-size",
                said(describe, || "size is 0".to_string()),
            ));
        }
    }
    fn reference(&self) -> Option<f64> {
        (self.price.raw > 0).then(|| self.price.as_f64())
    }
    const ONE_PER_TIME: bool = false;
}

/// ISO-8601 text of a nanosecond timestamp.
#[must_use]
pub fn iso(ns: u64) -> String {
    i64::try_from(ns).map_or_else(
        |_| ns.to_string(),
        |n| {
            chrono::DateTime::from_timestamp_nanos(n)
                .format("%Y-%m-%dT%H:%M:%S%.fZ")
                .to_string()
        },
    )
}

/// Checks `parsed` under `config`. Returns the values to write (in time order) with the
/// report, or the report alone when the policy is `reject` and something is wrong.
///
/// # Errors
/// `Err(report)` when the policy is [`Policy::Reject`] and a value has a problem.
pub fn check(
    parsed: Parsed,
    config: &QualityConfig,
) -> Result<(Parsed, QualityReport), Box<QualityReport>> {
    let Parsed {
        series,
        origin,
        unit,
        bar_type,
    } = parsed;
    let (series, origin, report) = match series {
        Series::Bars(v) => run(v, origin, unit, config).map(|(v, o, r)| (Series::Bars(v), o, r))?,
        Series::Quotes(v) => {
            run(v, origin, unit, config).map(|(v, o, r)| (Series::Quotes(v), o, r))?
        }
        Series::Trades(v) => {
            run(v, origin, unit, config).map(|(v, o, r)| (Series::Trades(v), o, r))?
        }
    };
    Ok((
        Parsed {
            series,
            origin,
            unit,
            bar_type,
        },
        report,
    ))
}

type Checked3<T> = (Vec<T>, Vec<u64>, QualityReport);

fn run<T: Checked>(
    values: Vec<T>,
    origin: Vec<u64>,
    unit: Unit,
    config: &QualityConfig,
) -> Result<Checked3<T>, Box<QualityReport>> {
    let at = |i: usize| match unit {
        Unit::Line => format!("line {}", origin[i]),
        Unit::Row => format!("row {}", origin[i]),
    };
    let mut bad = vec![false; values.len()];
    let mut problems: Vec<Problem> = Vec::new();
    let mut by_code: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut found = Vec::new();
    let mut last_in_order: Option<usize> = None;
    let mut last_clean_ref: Option<(f64, usize)> = None;
    let mut out_of_order = false;
    // The times alone, for the gap scan: a pass over them instead of over the values.
    let mut stamps: Vec<u64> = Vec::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        found.clear();
        // Only the first LIST_LIMIT problems are listed; the rest are counted.
        let describe = problems.len() < LIST_LIMIT;
        v.intrinsic(&mut found, describe);
        let ts = v.ts();
        stamps.push(ts);
        let mut in_order = true;
        if let Some(p) = last_in_order {
            let prev = &values[p];
            if ts < prev.ts() {
                in_order = false;
                out_of_order = true;
                found.push((
                    "out-of-order",
                    said(describe, || {
                        format!("time {} is before {} at {}", iso(ts), iso(prev.ts()), at(p))
                    }),
                ));
            } else if ts == prev.ts() && *v == *prev {
                found.push(("duplicate", said(describe, || format!("same as {}", at(p)))));
            } else if ts == prev.ts() && T::ONE_PER_TIME {
                found.push((
                    "conflicting-duplicate",
                    said(describe, || {
                        format!("{} has another bar at {}", at(p), iso(ts))
                    }),
                ));
            }
        }
        if found.is_empty()
            && let (Some(r), Some((last, li))) = (v.reference(), last_clean_ref)
        {
            let jump = (r - last).abs() / last;
            if jump > config.max_jump {
                found.push((
                    "outlier-jump",
                    said(describe, || {
                        format!(
                            "moves {:.2}% from {last} at {} (limit {:.2}%)",
                            jump * 100.0,
                            at(li),
                            config.max_jump * 100.0
                        )
                    }),
                ));
            }
        }
        if in_order {
            last_in_order = Some(i);
        }
        if found.is_empty() {
            if let Some(r) = v.reference() {
                last_clean_ref = Some((r, i));
            }
        } else {
            bad[i] = true;
            for (code, message) in found.drain(..) {
                *by_code.entry(code).or_default() += 1;
                if problems.len() < LIST_LIMIT {
                    problems.push(Problem {
                        code,
                        at: at(i),
                        ts,
                        message,
                    });
                }
            }
        }
    }
    let rows_read = values.len() as u64;
    let flagged = bad.iter().filter(|b| **b).count() as u64;
    let mut report = QualityReport {
        config: config.clone(),
        rows_read,
        rows_written: 0,
        rows_dropped: 0,
        rows_flagged: 0,
        sorted: false,
        problems_by_code: by_code,
        problems,
        gaps: Gaps::default(),
    };
    let (values, origin) = match config.policy {
        Policy::Reject if flagged > 0 => return Err(Box::new(report)),
        Policy::Reject => (values, origin),
        Policy::DropAndReport => {
            report.rows_dropped = flagged;
            let mut keep = bad.iter().map(|b| !b);
            let mut keep2 = keep.clone();
            let values: Vec<T> = values
                .into_iter()
                .filter(|_| keep.next().unwrap_or(false))
                .collect();
            let mut keep3 = keep2.clone();
            let origin: Vec<u64> = origin
                .into_iter()
                .filter(|_| keep2.next().unwrap_or(false))
                .collect();
            stamps.retain(|_| keep3.next().unwrap_or(false));
            (values, origin)
        }
        Policy::KeepAndFlag => {
            report.rows_flagged = flagged;
            if out_of_order {
                report.sorted = true;
                let mut pairs: Vec<(T, u64)> = values.into_iter().zip(origin).collect();
                pairs.sort_by_key(|(v, _)| v.ts());
                stamps.sort_unstable();
                pairs.into_iter().unzip()
            } else {
                (values, origin)
            }
        }
    };
    report.rows_written = values.len() as u64;
    report.gaps = gaps(&stamps, config);
    Ok((values, origin, report))
}

/// Gaps between consecutive times (`stamps` in time order).
fn gaps(stamps: &[u64], config: &QualityConfig) -> Gaps {
    let threshold = config
        .bar_interval_ns
        .unwrap_or(config.max_tick_gap_ns)
        .max(1);
    let mut gaps = Gaps::default();
    for w in stamps.windows(2) {
        let (a, b) = (w[0], w[1]);
        if b <= a || b - a <= threshold {
            continue;
        }
        let closure = config.calendar.closure(a, b);
        let gap = Gap {
            from_ts: a,
            to_ts: b,
            from: iso(a),
            to: iso(b),
            seconds: (b - a) as f64 / 1e9,
            missing_bars: config.bar_interval_ns.map(|i| (b - a) / i - 1),
            closure,
        };
        let (count, list) = if closure.is_some() {
            (&mut gaps.expected_count, &mut gaps.expected)
        } else {
            (&mut gaps.unexpected_count, &mut gaps.unexpected)
        };
        *count += 1;
        if list.len() < LIST_LIMIT {
            list.push(gap);
        }
    }
    gaps
}

/// The interval of a bar type in ns (time aggregations only).
#[must_use]
pub fn bar_interval_ns(bar_type: &nautilus_model::data::BarType) -> Option<u64> {
    use nautilus_model::enums::BarAggregation as A;
    let spec = bar_type.spec();
    let unit: u64 = match spec.aggregation {
        A::Millisecond => 1_000_000,
        A::Second => 1_000_000_000,
        A::Minute => 60_000_000_000,
        A::Hour => 3_600_000_000_000,
        A::Day => 86_400_000_000_000,
        A::Week => 7 * 86_400_000_000_000,
        _ => return None,
    };
    Some(unit * spec.step.get() as u64)
}

/// The default configuration for a dataset of `kind` on `venue`.
#[must_use]
pub fn default_config(kind: Kind, venue: &str, bar_interval_ns: Option<u64>) -> QualityConfig {
    QualityConfig {
        policy: Policy::Reject,
        max_jump: 0.15,
        calendar: Calendar::for_venue(venue),
        max_tick_gap_ns: 300_000_000_000,
        bar_interval_ns: if kind == Kind::Bars {
            bar_interval_ns
        } else {
            None
        },
    }
}

#[cfg(test)]
mod tests {
    use nautilus_model::{
        identifiers::InstrumentId,
        types::{Price, Quantity},
    };

    use super::*;

    fn quote(ts: u64, bid: i64, ask: i64) -> QuoteTick {
        QuoteTick::new(
            InstrumentId::from("EUR/USD.SIM"),
            Price::from_raw(bid, 5),
            Price::from_raw(ask, 5),
            Quantity::from_raw(1_000_000_000, 0),
            Quantity::from_raw(1_000_000_000, 0),
            ts.into(),
            ts.into(),
        )
    }

    #[test]
    fn counts_every_problem_and_describes_the_listed_ones() {
        // 2,500 crossed quotes; the row at the list limit is also out of order, so one row
        // straddles the limit with two problems.
        let n = 2_500_u64;
        let mut quotes: Vec<QuoteTick> = (0..n)
            .map(|i| quote(1_000 + i, 1_100_000_000, 1_000_000_000))
            .collect();
        quotes[LIST_LIMIT - 1] = quote(1, 1_100_000_000, 1_000_000_000);
        let mut config = default_config(Kind::Quotes, "SIM", None);
        config.policy = Policy::KeepAndFlag;
        let parsed = Parsed {
            series: Series::Quotes(quotes),
            origin: (2..n + 2).collect(),
            unit: Unit::Line,
            bar_type: None,
        };
        let (_, report) = check(parsed, &config).unwrap();
        assert_eq!(report.problems_by_code.get("crossed-quote"), Some(&n));
        assert_eq!(report.problems_by_code.get("out-of-order"), Some(&1));
        assert_eq!(report.rows_flagged, n);
        assert_eq!(report.problems.len(), LIST_LIMIT);
        for p in &report.problems {
            assert!(!p.message.is_empty(), "{p:?}");
        }
        let last = &report.problems[LIST_LIMIT - 1];
        assert_eq!(
            (last.code, last.at.as_str()),
            ("crossed-quote", "line 1001")
        );
        assert_eq!(last.message, "bid 1.10000 is above ask 1.00000");
    }
}
