//! Field parsers for every reader: exact decimals to Nautilus fixed point (scale 10^9),
//! timestamps to nanoseconds. Byte-level and allocation-free on the common path, because
//! an import reads millions of fields.

use nautilus_model::types::{Price, Quantity};
use rust_decimal::{Decimal as RustDecimal, RoundingStrategy};

const SCALE_DIGITS: usize = 9;

/// `[-+]?digits[.digits]` with at most 9 decimals → (value × 10^9, decimals written).
fn fixed(s: &[u8]) -> Option<(i64, u8)> {
    let (neg, s) = match s.first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (int, frac) = match s.iter().position(|&b| b == b'.') {
        Some(p) => (&s[..p], &s[p + 1..]),
        None => (s, &s[..0]),
    };
    if (int.is_empty() && frac.is_empty()) || frac.len() > SCALE_DIGITS || int.len() > 18 {
        return None;
    }
    // At most 18 digits: below 10^18, no overflow.
    let mut v: i64 = 0;
    for &b in int {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(b - b'0');
    }
    let mut f: i64 = 0;
    for &b in frac {
        if !b.is_ascii_digit() {
            return None;
        }
        f = f * 10 + i64::from(b - b'0');
    }
    f *= 10_i64.pow((SCALE_DIGITS - frac.len()) as u32);
    let raw = v.checked_mul(1_000_000_000)?.checked_add(f)?;
    Some((if neg { -raw } else { raw }, frac.len() as u8))
}

/// Field bytes as text, for messages.
pub(crate) fn text(s: &[u8]) -> String {
    String::from_utf8_lossy(s).into_owned()
}

/// A price exact at `precision`; the sign is left to the quality checks.
pub fn price(s: &[u8], what: &str, precision: u8) -> Result<Price, String> {
    let Some((raw, decimals)) = fixed(s) else {
        return Err(match RustDecimal::from_str_exact(&text(s)) {
            Ok(_) => format!(
                "{what} `{}` has more decimals than the instrument's price precision {precision}",
                text(s)
            ),
            Err(_) => format!("{what} `{}` is not a decimal number", text(s)),
        });
    };
    // As many decimals as the precision or fewer is exact; more is exact only when the
    // extra digits are zeros (`1.2300` at precision 2).
    if decimals > precision && raw % 10_i64.pow(u32::from(9 - precision.min(9))) != 0 {
        return Err(format!(
            "{what} `{}` has more decimals than the instrument's price precision {precision}",
            text(s)
        ));
    }
    Ok(Price::from_raw(raw, precision))
}

/// A size at `precision`, rounded half-even when the text has more decimals (recorded
/// floats carry noise such as `460784.50214999996`). Negative sizes are refused.
pub fn quantity(s: &[u8], what: &str, precision: u8) -> Result<Quantity, String> {
    let unit = 10_i64.pow(u32::from(9 - precision.min(9)));
    let raw = match fixed(s) {
        Some((raw, decimals)) if decimals <= precision || raw % unit == 0 => raw,
        Some((raw, _)) => {
            // Half-even rounding to `precision` decimals.
            let (q, r) = (raw / unit, raw % unit);
            let half = unit / 2;
            let q = if r > half || (r == half && q % 2 != 0) {
                q + 1
            } else {
                q
            };
            q * unit
        }
        None => {
            let d = RustDecimal::from_str_exact(&text(s))
                .map_err(|_| format!("{what} `{}` is not a decimal number", text(s)))?;
            let d = d.round_dp_with_strategy(
                u32::from(precision),
                RoundingStrategy::MidpointNearestEven,
            );
            (d * RustDecimal::from(1_000_000_000_i64))
                .trunc()
                .to_string()
                .parse::<i64>()
                .map_err(|_| format!("{what} `{}` is out of range", text(s)))?
        }
    };
    let raw = u64::try_from(raw).map_err(|_| format!("{what} `{}` is negative", text(s)))?;
    Ok(Quantity::from_raw(raw, precision))
}

/// A price from a float column: its shortest decimal text, then [`price`].
pub fn price_f64(v: f64, what: &str, precision: u8) -> Result<Price, String> {
    if !v.is_finite() {
        return Err(format!("{what} {v} is not a finite number"));
    }
    price(format!("{v}").as_bytes(), what, precision)
}

/// A size from a float column: its shortest decimal text, then [`quantity`].
pub fn quantity_f64(v: f64, what: &str, precision: u8) -> Result<Quantity, String> {
    if !v.is_finite() {
        return Err(format!("{what} {v} is not a finite number"));
    }
    quantity(format!("{v}").as_bytes(), what, precision)
}

fn digits(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 19 {
        return None;
    }
    let mut v: u64 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u64::from(b - b'0');
    }
    Some(v)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u64, d: u64) -> Option<i64> {
    if !(1..=12).contains(&m) || d == 0 || d > 31 {
        return None;
    }
    let dim = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][(m - 1) as usize]
        + u64::from(m == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)));
    if d > dim {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

fn ns_of(days: i64, h: u64, mi: u64, s: u64, frac_ns: u64, offset_s: i64) -> Option<u64> {
    if h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let secs = days * 86_400 + (h * 3600 + mi * 60 + s) as i64 - offset_s;
    u64::try_from(secs)
        .ok()?
        .checked_mul(1_000_000_000)?
        .checked_add(frac_ns)
}

/// `YYYY-MM-DD HH:MM:SS[.f…][Z|±HH:MM]` (a `T` may stand for the space; no zone = UTC).
pub fn iso_ts(s: &[u8]) -> Result<u64, String> {
    let bad = || {
        format!(
            "timestamp `{}` is not `YYYY-MM-DD HH:MM:SS[.fffffffff][+00:00]` (UTC)",
            text(s)
        )
    };
    if s.len() < 19 || s[4] != b'-' || s[7] != b'-' || !matches!(s[10], b' ' | b'T') {
        return Err(bad());
    }
    if s[13] != b':' || s[16] != b':' {
        return Err(bad());
    }
    let n = |a: usize, b: usize| digits(&s[a..b]).ok_or_else(bad);
    let (y, mo, d, h, mi, sec) = (
        n(0, 4)?,
        n(5, 7)?,
        n(8, 10)?,
        n(11, 13)?,
        n(14, 16)?,
        n(17, 19)?,
    );
    let mut rest = &s[19..];
    let mut frac_ns = 0;
    if rest.first() == Some(&b'.') {
        let end = rest[1..]
            .iter()
            .position(|b| !b.is_ascii_digit())
            .map_or(rest.len(), |p| p + 1);
        let f = &rest[1..end];
        if f.is_empty() || f.len() > 9 {
            return Err(bad());
        }
        frac_ns = digits(f).ok_or_else(bad)? * 10_u64.pow((9 - f.len()) as u32);
        rest = &rest[end..];
    }
    let offset_s: i64 = match rest {
        [] | [b'Z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let hh = digits(&[*h1, *h2]).ok_or_else(bad)?;
            let mm = digits(&[*m1, *m2]).ok_or_else(bad)?;
            let o = (hh * 3600 + mm * 60) as i64;
            if *sign == b'-' { -o } else { o }
        }
        _ => return Err(bad()),
    };
    let days = days_from_civil(y as i64, mo, d).ok_or_else(bad)?;
    ns_of(days, h, mi, sec, frac_ns, offset_s)
        .ok_or_else(|| format!("timestamp `{}` is before 1970 or out of range", text(s)))
}

/// `YYYYMMDD HHMMSSmmm` (UTC), as in the EUR/USD quote file.
pub fn compact_ts(s: &[u8]) -> Result<u64, String> {
    let bad = || format!("timestamp `{}` is not `YYYYMMDD HHMMSSmmm` (UTC)", text(s));
    if s.len() != 18 || s[8] != b' ' {
        return Err(bad());
    }
    let n = |a: usize, b: usize| digits(&s[a..b]).ok_or_else(bad);
    let days = days_from_civil(n(0, 4)? as i64, n(4, 6)?, n(6, 8)?).ok_or_else(bad)?;
    ns_of(
        days,
        n(9, 11)?,
        n(11, 13)?,
        n(13, 15)?,
        n(15, 18)? * 1_000_000,
        0,
    )
    .ok_or_else(bad)
}

/// Integer milliseconds since 1970 (Binance kline times).
pub fn millis(s: &[u8], what: &str) -> Result<u64, String> {
    digits(s)
        .and_then(|ms| ms.checked_mul(1_000_000))
        .ok_or_else(|| {
            format!(
                "{what} `{}` is not integer milliseconds since 1970",
                text(s)
            )
        })
}

/// `ns`, `YYYY-MM-DD` or an ISO timestamp (UTC) → ns (catalog ranges on the command line
/// and in the service's job requests).
pub fn parse_time(s: &str) -> Result<u64, String> {
    if let Ok(ns) = s.parse::<u64>() {
        return Ok(ns);
    }
    if s.len() == 10 {
        return iso_ts(format!("{s} 00:00:00").as_bytes());
    }
    iso_ts(s.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_exact_or_refused() {
        assert_eq!(price(b"1.121200", "bid", 5).unwrap().raw, 1_121_200_000);
        assert!(
            price(b"1.121201", "bid", 5)
                .unwrap_err()
                .contains("more decimals")
        );
        assert!(
            price(b"0.0000000001", "bid", 5)
                .unwrap_err()
                .contains("more decimals")
        );
        assert!(
            price(b"abc", "bid", 5)
                .unwrap_err()
                .contains("not a decimal")
        );
        assert!(price(b"", "bid", 5).is_err());
        assert!(price(b"1.2.3", "bid", 5).is_err());
        assert_eq!(price(b"-2", "bid", 0).unwrap().raw, -2_000_000_000);
        // Extra decimals that are zeros are exact; fewer decimals than the precision too.
        assert_eq!(price(b"1.2300", "p", 2).unwrap().raw, 1_230_000_000);
        assert_eq!(price(b"1.2", "p", 5).unwrap().raw, 1_200_000_000);
        assert!(price(b"1.2301", "p", 2).is_err());
        assert_eq!(
            price(b"123456789.123456789", "p", 9).unwrap().raw,
            123_456_789_123_456_789
        );
        assert!(price(b"99999999999.5", "p", 1).is_err(), "out of range");
        assert_eq!(quantity(b"2.500", "v", 1).unwrap().raw, 2_500_000_000);
        assert_eq!(
            quantity(b"460784.50214999996", "v", 3).unwrap().raw,
            460_784_502_000_000
        );
        assert_eq!(quantity(b"0.0005", "v", 3).unwrap().raw, 0); // half-even: 0.000
        assert_eq!(quantity(b"0.0015", "v", 3).unwrap().raw, 2_000_000); // 0.002
        assert_eq!(quantity(b"0.0025", "v", 3).unwrap().raw, 2_000_000); // 0.002
        assert!(quantity(b"-1", "v", 3).unwrap_err().contains("negative"));
        assert_eq!(price_f64(39432.99, "p", 2).unwrap().raw, 39_432_990_000_000);
        assert_eq!(quantity_f64(0.000263, "q", 6).unwrap().raw, 263_000);
        assert!(price_f64(f64::NAN, "p", 2).is_err());
    }

    #[test]
    fn timestamps() {
        assert_eq!(
            iso_ts(b"2012-02-01 00:00:00+00:00").unwrap(),
            1_328_054_400_000_000_000
        );
        assert_eq!(
            iso_ts(b"2021-12-31 23:01:00.000000").unwrap(),
            1_640_991_660_000_000_000
        );
        assert_eq!(
            iso_ts(b"2021-12-31T23:01:00.5Z").unwrap(),
            1_640_991_660_500_000_000
        );
        assert_eq!(
            iso_ts(b"2012-02-01 01:00:00+01:00").unwrap(),
            1_328_054_400_000_000_000
        );
        assert!(iso_ts(b"2012-02-30 00:00:00").is_err());
        assert!(iso_ts(b"2012-02-01 24:00:00").is_err());
        assert!(iso_ts(b"1969-12-31 23:59:59").is_err());
        assert!(iso_ts(b"2012-02-01").is_err());
        assert_eq!(
            compact_ts(b"20200101 170000065").unwrap(),
            1_577_898_000_065_000_000
        );
        assert!(compact_ts(b"20200101 1700000").is_err());
        assert_eq!(
            millis(b"1637971200000", "t").unwrap(),
            1_637_971_200_000_000_000
        );
        // Agrees with chrono over a range of dates.
        for days in (0..40_000).step_by(37) {
            let t = chrono::DateTime::from_timestamp(days * 86_400 + 3_723, 0).unwrap();
            let s = t.format("%Y-%m-%d %H:%M:%S").to_string();
            assert_eq!(
                iso_ts(s.as_bytes()).unwrap(),
                (days as u64 * 86_400 + 3_723) * 1_000_000_000,
                "{s}"
            );
        }
    }
}
