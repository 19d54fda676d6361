//! Structural validation of an intent against the contract and the instrument definition,
//! following the checks of Nautilus's own `RiskEngine` (precision, increments, bounds).

use crate::bindings::types::{
    InstrumentInfo, InstrumentKind, OrderIntent, OrderKind, Price, Quantity, RejectCode, Rejection,
};

/// Largest raw quantity Nautilus (standard precision) represents: 18,446,744,073 × 10^9.
pub const QUANTITY_RAW_MAX: u64 = 18_446_744_073_000_000_000;
/// Largest raw price magnitude: 9,223,372,036 × 10^9.
pub const PRICE_RAW_MAX: i64 = 9_223_372_036_000_000_000;
/// Longest order tag.
pub const MAX_TAG_BYTES: usize = 64;
const FIXED_PRECISION: u8 = 9;

fn reject(code: RejectCode, message: String) -> Rejection {
    Rejection { code, message }
}

/// 10^(9 - precision): the raw step of a value with `precision` decimals.
fn unit(precision: u8) -> u64 {
    10_u64.pow(u32::from(FIXED_PRECISION.saturating_sub(precision)))
}

fn check_quantity(q: Quantity, instrument: &InstrumentInfo) -> Result<(), Rejection> {
    let bad = |m: String| Err(reject(RejectCode::InvalidQuantity, m));
    if q.precision > FIXED_PRECISION {
        return bad(format!(
            "quantity precision {} is above {FIXED_PRECISION}",
            q.precision
        ));
    }
    if q.raw == 0 {
        return bad("quantity must be positive".to_string());
    }
    if q.raw > QUANTITY_RAW_MAX {
        return bad(format!(
            "quantity raw {} is above the maximum {QUANTITY_RAW_MAX}",
            q.raw
        ));
    }
    if !q.raw.is_multiple_of(unit(q.precision)) {
        return bad(format!(
            "quantity raw {} has digits beyond its precision {}",
            q.raw, q.precision
        ));
    }
    if q.precision > instrument.size_precision {
        return bad(format!(
            "quantity precision {} is finer than {}'s size precision {}",
            q.precision, instrument.id, instrument.size_precision
        ));
    }
    let increment = instrument.size_increment.raw;
    if increment > 0 && !q.raw.is_multiple_of(increment) {
        return bad(format!(
            "quantity is not a multiple of the size increment of {}",
            instrument.id
        ));
    }
    if let Some(min) = instrument.min_quantity
        && q.raw < min.raw
    {
        return bad(format!("quantity is below {}'s minimum", instrument.id));
    }
    if let Some(max) = instrument.max_quantity
        && q.raw > max.raw
    {
        return bad(format!("quantity is above {}'s maximum", instrument.id));
    }
    Ok(())
}

fn check_price(p: Price, what: &str, instrument: &InstrumentInfo) -> Result<(), Rejection> {
    let bad = |m: String| Err(reject(RejectCode::InvalidPrice, format!("{what}: {m}")));
    if p.precision > FIXED_PRECISION {
        return bad(format!(
            "precision {} is above {FIXED_PRECISION}",
            p.precision
        ));
    }
    if !(-PRICE_RAW_MAX..=PRICE_RAW_MAX).contains(&p.raw) {
        return bad(format!("raw {} is outside ±{PRICE_RAW_MAX}", p.raw));
    }
    if !p.raw.unsigned_abs().is_multiple_of(unit(p.precision)) {
        return bad(format!(
            "raw {} has digits beyond its precision {}",
            p.raw, p.precision
        ));
    }
    if p.precision > instrument.price_precision {
        return bad(format!(
            "precision {} is finer than {}'s price precision {}",
            p.precision, instrument.id, instrument.price_precision
        ));
    }
    let may_be_negative = matches!(
        instrument.kind,
        InstrumentKind::FuturesContract | InstrumentKind::OptionContract | InstrumentKind::Other
    );
    if p.raw <= 0 && !may_be_negative {
        return bad(format!("must be positive for {}", instrument.id));
    }
    let increment = instrument.price_increment.raw;
    if increment > 0 && p.raw % increment != 0 {
        return bad(format!(
            "not a multiple of the price increment of {}",
            instrument.id
        ));
    }
    Ok(())
}

/// Checks `intent` against the contract and `instrument`. The instrument is looked up and
/// scope-checked by the caller.
pub fn validate_intent(intent: &OrderIntent, instrument: &InstrumentInfo) -> Result<(), Rejection> {
    check_quantity(intent.quantity, instrument)?;
    match intent.kind {
        OrderKind::Market => {}
        OrderKind::Limit(p) => check_price(p, "limit price", instrument)?,
        OrderKind::StopMarket(p) => check_price(p, "trigger price", instrument)?,
        OrderKind::StopLimit(s) => {
            check_price(s.trigger, "trigger price", instrument)?;
            check_price(s.limit, "limit price", instrument)?;
        }
    }
    if let Some(tag) = &intent.tag
        && tag.len() > MAX_TAG_BYTES
    {
        return Err(reject(
            RejectCode::InvalidOrder,
            format!("tag is {} bytes; at most {MAX_TAG_BYTES}", tag.len()),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::types::{OrderSide, StopLimitPrices, TimeInForce};

    fn gbpusd() -> InstrumentInfo {
        crate::stubs::gbpusd_fxcm()
    }

    fn intent(kind: OrderKind, raw: u64, precision: u8) -> OrderIntent {
        OrderIntent {
            instrument_id: "GBP/USD.FXCM".into(),
            side: OrderSide::Buy,
            kind,
            quantity: Quantity { raw, precision },
            time_in_force: TimeInForce::Gtc,
            reduce_only: false,
            tag: None,
        }
    }

    fn code(r: Result<(), Rejection>) -> Option<RejectCode> {
        r.err().map(|r| r.code)
    }

    #[test]
    fn accepts_valid_orders() {
        let i = gbpusd();
        let p = |raw| Price { raw, precision: 5 };
        assert_eq!(
            code(validate_intent(
                &intent(OrderKind::Market, 100_000_000_000_000, 0),
                &i
            )),
            None
        );
        assert_eq!(
            code(validate_intent(
                &intent(OrderKind::Limit(p(1_307_120_000)), 1_000_000_000, 0),
                &i
            )),
            None
        );
        let sl = StopLimitPrices {
            trigger: p(1_307_120_000),
            limit: p(1_307_000_000),
        };
        assert_eq!(
            code(validate_intent(
                &intent(OrderKind::StopLimit(sl), 1_000_000_000, 0),
                &i
            )),
            None
        );
    }

    #[test]
    fn refuses_invalid_numbers_with_the_right_code() {
        let i = gbpusd();
        let q = RejectCode::InvalidQuantity;
        let p = RejectCode::InvalidPrice;
        let ok = 1_000_000_000;
        let price = |raw, precision| OrderKind::Limit(Price { raw, precision });
        let cases = [
            (intent(OrderKind::Market, 0, 0), q),
            (intent(OrderKind::Market, u64::MAX, 0), q),
            (intent(OrderKind::Market, 1_000, 200), q),
            (intent(OrderKind::Market, 1_500_000_000, 0), q),
            (intent(OrderKind::Market, 1_500_000_000, 1), q),
            (intent(price(i64::MIN, 5), ok, 0), p),
            (intent(price(i64::MAX, 5), ok, 0), p),
            (intent(price(-1_300_000_000, 5), ok, 0), p),
            (intent(price(0, 5), ok, 0), p),
            (intent(price(1_300_000_001, 5), ok, 0), p),
            (intent(price(1_300_000_000, 9), ok, 0), p),
            (
                intent(
                    OrderKind::StopMarket(Price {
                        raw: 1_300_000_000,
                        precision: 99,
                    }),
                    ok,
                    0,
                ),
                p,
            ),
        ];
        for (intent, expected) in cases {
            assert_eq!(
                code(validate_intent(&intent, &i)),
                Some(expected),
                "{intent:?}"
            );
        }
        let mut tagged = intent(OrderKind::Market, ok, 0);
        tagged.tag = Some("x".repeat(65));
        assert_eq!(
            code(validate_intent(&tagged, &i)),
            Some(RejectCode::InvalidOrder)
        );
    }
}
