//! Exact conversions between the WIT contract types and the SDK / Nautilus types.
//!
//! Both sides use the same fixed-point representation (raw integer scaled by 10^9 plus a
//! precision), so every conversion here copies integers: no float round trip, no rounding.

use nautilus_model::{
    enums::{AggregationSource, AggressorSide, BarAggregation, PriceType},
    types::{Price, Quantity},
};

use crate::{data::BarType, wit};

/// Largest precision of a fixed-point value in Nautilus standard (64-bit) mode.
pub const MAX_PRECISION: u8 = 9;

/// WIT price -> Nautilus price. Fails if the precision is above 9.
pub fn price(p: wit::Price) -> Result<Price, String> {
    Price::from_raw_checked(p.raw, p.precision).map_err(|e| format!("invalid price {p:?}: {e}"))
}

/// WIT quantity -> Nautilus quantity. Fails if the precision is above 9.
pub fn quantity(q: wit::Quantity) -> Result<Quantity, String> {
    Quantity::from_raw_checked(q.raw, q.precision)
        .map_err(|e| format!("invalid quantity {q:?}: {e}"))
}

/// Nautilus price -> WIT price.
#[must_use]
pub fn wit_price(p: Price) -> wit::Price {
    wit::Price {
        raw: p.raw,
        precision: p.precision,
    }
}

/// Nautilus quantity -> WIT quantity.
#[must_use]
pub fn wit_quantity(q: Quantity) -> wit::Quantity {
    wit::Quantity {
        raw: q.raw,
        precision: q.precision,
    }
}

fn price_type(p: wit::PriceType) -> PriceType {
    match p {
        wit::PriceType::Bid => PriceType::Bid,
        wit::PriceType::Ask => PriceType::Ask,
        wit::PriceType::Mid => PriceType::Mid,
        wit::PriceType::Last => PriceType::Last,
    }
}

fn wit_price_type(p: PriceType) -> Result<wit::PriceType, String> {
    Ok(match p {
        PriceType::Bid => wit::PriceType::Bid,
        PriceType::Ask => wit::PriceType::Ask,
        PriceType::Mid => wit::PriceType::Mid,
        PriceType::Last => wit::PriceType::Last,
        other => {
            return Err(format!(
                "price type {other} is not part of the stratbox contract"
            ));
        }
    })
}

fn aggregation(a: wit::BarAggregation) -> BarAggregation {
    match a {
        wit::BarAggregation::Tick => BarAggregation::Tick,
        wit::BarAggregation::Volume => BarAggregation::Volume,
        wit::BarAggregation::Value => BarAggregation::Value,
        wit::BarAggregation::Millisecond => BarAggregation::Millisecond,
        wit::BarAggregation::Second => BarAggregation::Second,
        wit::BarAggregation::Minute => BarAggregation::Minute,
        wit::BarAggregation::Hour => BarAggregation::Hour,
        wit::BarAggregation::Day => BarAggregation::Day,
        wit::BarAggregation::Week => BarAggregation::Week,
        wit::BarAggregation::Month => BarAggregation::Month,
    }
}

fn wit_aggregation(a: BarAggregation) -> Result<wit::BarAggregation, String> {
    Ok(match a {
        BarAggregation::Tick => wit::BarAggregation::Tick,
        BarAggregation::Volume => wit::BarAggregation::Volume,
        BarAggregation::Value => wit::BarAggregation::Value,
        BarAggregation::Millisecond => wit::BarAggregation::Millisecond,
        BarAggregation::Second => wit::BarAggregation::Second,
        BarAggregation::Minute => wit::BarAggregation::Minute,
        BarAggregation::Hour => wit::BarAggregation::Hour,
        BarAggregation::Day => wit::BarAggregation::Day,
        BarAggregation::Week => wit::BarAggregation::Week,
        BarAggregation::Month => wit::BarAggregation::Month,
        other => {
            return Err(format!(
                "bar aggregation {other} is not part of the stratbox contract"
            ));
        }
    })
}

/// WIT bar type -> SDK bar type.
pub fn bar_type(b: &wit::BarType) -> Result<BarType, String> {
    if b.spec.step == 0 {
        return Err("bar step 0".to_string());
    }
    Ok(BarType {
        instrument_id: b.instrument_id.parse()?,
        step: b.spec.step,
        aggregation: aggregation(b.spec.aggregation),
        price_type: price_type(b.spec.price_type),
        source: match b.source {
            wit::AggregationSource::External => AggregationSource::External,
            wit::AggregationSource::Internal => AggregationSource::Internal,
        },
    })
}

/// SDK bar type -> WIT bar type (fails for aggregations and price types the contract lacks).
pub fn wit_bar_type(b: &BarType) -> Result<wit::BarType, String> {
    Ok(wit::BarType {
        instrument_id: b.instrument_id.to_string(),
        spec: wit::BarSpec {
            step: b.step,
            aggregation: wit_aggregation(b.aggregation)?,
            price_type: wit_price_type(b.price_type)?,
        },
        source: match b.source {
            AggregationSource::External => wit::AggregationSource::External,
            AggregationSource::Internal => wit::AggregationSource::Internal,
        },
    })
}

/// WIT aggressor side -> Nautilus aggressor side.
#[must_use]
pub fn aggressor(a: wit::AggressorSide) -> AggressorSide {
    match a {
        wit::AggressorSide::NoAggressor => AggressorSide::NoAggressor,
        wit::AggressorSide::Buyer => AggressorSide::Buyer,
        wit::AggressorSide::Seller => AggressorSide::Seller,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_cross_without_rounding() {
        let p = Price::from("1.30712");
        let w = wit_price(p);
        assert_eq!((w.raw, w.precision), (1_307_120_000, 5));
        assert_eq!(price(w).unwrap(), p);
    }

    #[test]
    fn precision_above_nine_is_refused() {
        let err = price(wit::Price {
            raw: 1,
            precision: 10,
        })
        .unwrap_err();
        assert!(err.contains("invalid price"), "{err}");
    }

    #[test]
    fn bar_types_round_trip() {
        let b: BarType = "GBP/USD.FXCM-1-MINUTE-BID-EXTERNAL".parse().unwrap();
        let w = wit_bar_type(&b).unwrap();
        assert_eq!(w.instrument_id, "GBP/USD.FXCM");
        assert_eq!(bar_type(&w).unwrap(), b);
        let mark = BarType {
            price_type: PriceType::Mark,
            ..b
        };
        assert!(wit_bar_type(&mark).is_err());
    }
}
