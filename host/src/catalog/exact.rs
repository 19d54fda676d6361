//! Exact decimal text → Nautilus fixed point at an instrument's precision.

use nautilus_model::types::Price;
use stratbox_manifest::Decimal;

/// True when `raw` (scale 10^9) has no digits beyond `precision` decimals. Trailing zeros
/// in the text (`1.121200` at precision 5) are fine.
fn fits(raw: i64, precision: u8) -> bool {
    precision <= 9 && raw % 10_i64.pow(u32::from(9 - precision)) == 0
}

/// `s` as a positive price at `precision`; an error when it needs more decimals.
pub fn price(s: &str, what: &str, precision: u8) -> Result<Price, String> {
    let d: Decimal = s.parse().map_err(|e| format!("{what} `{s}`: {e}"))?;
    if d.raw <= 0 {
        return Err(format!("{what} `{s}` is not positive"));
    }
    if !fits(d.raw, precision) {
        return Err(format!(
            "{what} `{s}` has more decimals than the instrument's price precision {precision}"
        ));
    }
    Ok(Price::from_raw(d.raw, precision))
}

#[cfg(test)]
mod tests {
    #[test]
    fn exact_or_refused() {
        assert_eq!(
            super::price("1.121200", "bid", 5).unwrap().raw,
            1_121_200_000
        );
        assert!(
            super::price("1.121201", "bid", 5)
                .unwrap_err()
                .contains("more decimals")
        );
        assert!(
            super::price("-1", "bid", 5)
                .unwrap_err()
                .contains("not positive")
        );
        assert!(super::price("abc", "bid", 5).is_err());
    }
}
