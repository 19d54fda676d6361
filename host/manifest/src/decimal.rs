//! Exact fixed-point decimals (raw i64 scaled by 10^9, like Nautilus standard precision).

use std::{cmp::Ordering, fmt, str::FromStr};

use serde::{Serialize, Serializer};

/// Decimals carried by the raw value (Nautilus `FIXED_PRECISION` in 64-bit mode).
pub const FIXED_PRECISION: u8 = 9;
const SCALE: i64 = 1_000_000_000;

/// A decimal number held exactly: value = raw / 10^9, `precision` significant decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decimal {
    /// Value × 10^9.
    pub raw: i64,
    /// Number of decimals written (0..=9).
    pub precision: u8,
}

/// Why a string is not a decimal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    #[error("`{0}` is not a decimal number (expected digits with an optional sign and point)")]
    Syntax(String),
    #[error("`{0}` has more than {FIXED_PRECISION} decimals")]
    TooPrecise(String),
    #[error("`{0}` is out of range (at most ±9223372036)")]
    OutOfRange(String),
}

impl Decimal {
    /// Builds a decimal from its raw parts; `None` if the precision is above 9 or the raw
    /// value has digits beyond that precision.
    #[must_use]
    pub fn from_raw(raw: i64, precision: u8) -> Option<Self> {
        if precision > FIXED_PRECISION {
            return None;
        }
        let unit = 10_i64.pow(u32::from(FIXED_PRECISION - precision));
        (raw % unit == 0).then_some(Self { raw, precision })
    }

    /// An integer as a decimal of precision 0.
    #[must_use]
    pub fn from_int(v: i64) -> Option<Self> {
        v.checked_mul(SCALE).map(|raw| Self { raw, precision: 0 })
    }
}

impl FromStr for Decimal {
    type Err = DecimalError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let syntax = || DecimalError::Syntax(s.to_string());
        let t = s.trim().replace('_', "");
        let (negative, digits) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t.strip_prefix('+').unwrap_or(&t)),
        };
        let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if (int_part.is_empty() && frac_part.is_empty())
            || !all_digits(int_part)
            || !all_digits(frac_part)
            || (digits.contains('.') && frac_part.is_empty() && int_part.is_empty())
        {
            return Err(syntax());
        }
        if frac_part.len() > usize::from(FIXED_PRECISION) {
            return Err(DecimalError::TooPrecise(s.to_string()));
        }
        let out_of_range = || DecimalError::OutOfRange(s.to_string());
        let int_value: i64 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| out_of_range())?
        };
        let precision = u8::try_from(frac_part.len()).map_err(|_| syntax())?;
        let mut frac_value: i64 = if frac_part.is_empty() {
            0
        } else {
            frac_part.parse().map_err(|_| syntax())?
        };
        frac_value *= 10_i64.pow(u32::from(FIXED_PRECISION - precision));
        let magnitude = int_value
            .checked_mul(SCALE)
            .and_then(|v| v.checked_add(frac_value))
            .ok_or_else(out_of_range)?;
        let raw = if negative { -magnitude } else { magnitude };
        Ok(Self { raw, precision })
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.raw < 0 { "-" } else { "" };
        let abs = self.raw.unsigned_abs();
        let int = abs / SCALE.unsigned_abs();
        let frac = abs % SCALE.unsigned_abs();
        if self.precision == 0 {
            return write!(f, "{sign}{int}");
        }
        let frac = frac / 10_u64.pow(u32::from(FIXED_PRECISION - self.precision));
        write!(
            f,
            "{sign}{int}.{frac:0width$}",
            width = usize::from(self.precision)
        )
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        self.raw.cmp(&other.raw)
    }
}

impl Serialize for Decimal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn parses_exactly() {
        let d: Decimal = "1.30712".parse().unwrap();
        assert_eq!((d.raw, d.precision), (1_307_120_000, 5));
        let d: Decimal = "-0.5".parse().unwrap();
        assert_eq!((d.raw, d.precision), (-500_000_000, 1));
        let d: Decimal = "100_000".parse().unwrap();
        assert_eq!((d.raw, d.precision), (100_000_000_000_000, 0));
        assert_eq!(".25".parse::<Decimal>().unwrap().to_string(), "0.25");
    }

    #[test]
    fn refuses_bad_input() {
        for bad in [
            "", "-", ".", "1.2.3", "abc", "1e5", "NaN", "inf", "1,5", "--1",
        ] {
            assert!(
                matches!(bad.parse::<Decimal>(), Err(DecimalError::Syntax(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            "0.0000000001".parse::<Decimal>(),
            Err(DecimalError::TooPrecise(_))
        ));
        assert!(matches!(
            "9223372037".parse::<Decimal>(),
            Err(DecimalError::OutOfRange(_))
        ));
        assert!(matches!(
            "99999999999999999999".parse::<Decimal>(),
            Err(DecimalError::OutOfRange(_))
        ));
    }

    #[test]
    fn from_raw_checks_precision() {
        assert!(Decimal::from_raw(1_500_000_000, 1).is_some());
        assert!(Decimal::from_raw(1_500_000_001, 1).is_none());
        assert!(Decimal::from_raw(1, 10).is_none());
    }

    proptest! {
        #[test]
        fn display_round_trips(raw in -9_223_372_036_000_000_000_i64..9_223_372_036_000_000_000, precision in 0u8..=9) {
            let unit = 10_i64.pow(u32::from(9 - precision));
            let d = Decimal::from_raw(raw - raw % unit, precision).unwrap();
            prop_assert_eq!(d.to_string().parse::<Decimal>().unwrap(), d);
        }
    }
}
