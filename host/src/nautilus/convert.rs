//! Exact translation between Nautilus values and the WIT contract's.
//!
//! Both sides are 64-bit fixed point at scale 10^9 (`PriceRaw`/`QuantityRaw` without the
//! `high-precision` feature), so every conversion copies the raw integer and its precision:
//! no float ever sits between a Nautilus price and what the plugin sees.

use nautilus_model::{
    data::{
        Bar as NBar, BarSpecification, BarType as NBarType, Data, QuoteTick as NQuote, TradeTick,
    },
    enums::{
        AggregationSource as NSource, AggressorSide, BarAggregation as NAgg, OrderSide as NSide,
        PriceType as NPriceType, TimeInForce as NTif,
    },
    identifiers::InstrumentId as NInstrumentId,
    types::{Price as NPrice, Quantity as NQuantity},
};

use crate::bindings::types::{
    AggregationSource, AggressorSide as WAggressor, Bar, BarAggregation, BarSpec, BarType,
    OrderSide, Price, PriceType, Quantity, QuoteTick, TimeInForce, TradeTick as WTrade,
};
use crate::catalog::MarketEvent;

/// A Nautilus price as the contract's fixed point.
#[must_use]
pub fn price(p: NPrice) -> Price {
    Price {
        raw: p.raw,
        precision: p.precision,
    }
}

/// A Nautilus quantity as the contract's fixed point.
#[must_use]
pub fn quantity(q: NQuantity) -> Quantity {
    Quantity {
        raw: q.raw,
        precision: q.precision,
    }
}

/// A contract price as a Nautilus price (the gate has checked precision and range).
#[must_use]
pub fn to_price(p: Price) -> NPrice {
    NPrice::from_raw(p.raw, p.precision)
}

/// A contract quantity as a Nautilus quantity (the gate has checked precision and range).
#[must_use]
pub fn to_quantity(q: Quantity) -> NQuantity {
    NQuantity::from_raw(q.raw, q.precision)
}

/// A contract quote as a Nautilus quote of `instrument_id` (exact: raw values copied).
#[must_use]
pub fn to_quote(instrument_id: NInstrumentId, q: &QuoteTick) -> NQuote {
    NQuote {
        instrument_id,
        bid_price: to_price(q.bid),
        ask_price: to_price(q.ask),
        bid_size: to_quantity(q.bid_size),
        ask_size: to_quantity(q.ask_size),
        ts_event: q.ts_event.into(),
        ts_init: q.ts_init.into(),
    }
}

/// A contract bar as a Nautilus bar of `bar_type` (exact).
#[must_use]
pub fn to_bar(bar_type: NBarType, b: &Bar) -> NBar {
    NBar {
        bar_type,
        open: to_price(b.open),
        high: to_price(b.high),
        low: to_price(b.low),
        close: to_price(b.close),
        volume: to_quantity(b.volume),
        ts_event: b.ts_event.into(),
        ts_init: b.ts_init.into(),
    }
}

/// A contract trade as a Nautilus trade of `instrument_id` (exact); `None` when its trade
/// id is not one Nautilus accepts.
#[must_use]
pub fn to_trade(instrument_id: NInstrumentId, t: &WTrade) -> Option<TradeTick> {
    Some(TradeTick {
        instrument_id,
        price: to_price(t.price),
        size: to_quantity(t.size),
        aggressor_side: match t.aggressor {
            WAggressor::Buyer => AggressorSide::Buyer,
            WAggressor::Seller => AggressorSide::Seller,
            WAggressor::NoAggressor => AggressorSide::NoAggressor,
        },
        trade_id: nautilus_model::identifiers::TradeId::new_checked(&t.trade_id).ok()?,
        ts_event: t.ts_event.into(),
        ts_init: t.ts_init.into(),
    })
}

/// A Nautilus quote on `stream`.
#[must_use]
pub fn quote(q: &NQuote, stream: u32) -> QuoteTick {
    QuoteTick {
        stream,
        bid: price(q.bid_price),
        ask: price(q.ask_price),
        bid_size: quantity(q.bid_size),
        ask_size: quantity(q.ask_size),
        ts_event: q.ts_event.as_u64(),
        ts_init: q.ts_init.as_u64(),
    }
}

/// A Nautilus bar on `stream`.
#[must_use]
pub fn bar(b: &NBar, stream: u32) -> Bar {
    Bar {
        stream,
        open: price(b.open),
        high: price(b.high),
        low: price(b.low),
        close: price(b.close),
        volume: quantity(b.volume),
        ts_event: b.ts_event.as_u64(),
        ts_init: b.ts_init.as_u64(),
    }
}

/// A Nautilus trade on `stream`.
#[must_use]
pub fn trade(t: &TradeTick, stream: u32) -> WTrade {
    WTrade {
        stream,
        price: price(t.price),
        size: quantity(t.size),
        aggressor: match t.aggressor_side {
            AggressorSide::Buyer => WAggressor::Buyer,
            AggressorSide::Seller => WAggressor::Seller,
            AggressorSide::NoAggressor => WAggressor::NoAggressor,
        },
        trade_id: t.trade_id.to_string(),
        ts_event: t.ts_event.as_u64(),
        ts_init: t.ts_init.as_u64(),
    }
}

/// A Nautilus data value as a replay event (stream ids are placeholders: the driver sets
/// each plugin's own); `None` for data the contract does not carry.
#[must_use]
pub fn market_event(d: &Data) -> Option<MarketEvent> {
    Some(match d {
        Data::Bar(b) => MarketEvent::Bar {
            bar_type: bar_type(&b.bar_type)?,
            bar: bar(b, 0),
        },
        Data::Quote(q) => MarketEvent::Quote {
            instrument_id: q.instrument_id.to_string(),
            quote: quote(q, 0),
        },
        Data::Trade(t) => MarketEvent::Trade {
            instrument_id: t.instrument_id.to_string(),
            trade: trade(t, 0),
        },
        _ => return None,
    })
}

/// The contract's order side as Nautilus's.
#[must_use]
pub const fn to_side(side: OrderSide) -> NSide {
    match side {
        OrderSide::Buy => NSide::Buy,
        OrderSide::Sell => NSide::Sell,
    }
}

/// Nautilus's order side as the contract's (`None` for `NoOrderSide`).
#[must_use]
pub const fn side(side: NSide) -> Option<OrderSide> {
    match side {
        NSide::Buy => Some(OrderSide::Buy),
        NSide::Sell => Some(OrderSide::Sell),
        NSide::NoOrderSide => None,
    }
}

/// The contract's time in force as Nautilus's.
#[must_use]
pub const fn to_time_in_force(tif: TimeInForce) -> NTif {
    match tif {
        TimeInForce::Gtc => NTif::Gtc,
        TimeInForce::Ioc => NTif::Ioc,
        TimeInForce::Fok => NTif::Fok,
        TimeInForce::Day => NTif::Day,
    }
}

const fn to_price_type(p: PriceType) -> NPriceType {
    match p {
        PriceType::Bid => NPriceType::Bid,
        PriceType::Ask => NPriceType::Ask,
        PriceType::Mid => NPriceType::Mid,
        PriceType::Last => NPriceType::Last,
    }
}

const fn price_type(p: NPriceType) -> Option<PriceType> {
    match p {
        NPriceType::Bid => Some(PriceType::Bid),
        NPriceType::Ask => Some(PriceType::Ask),
        NPriceType::Mid => Some(PriceType::Mid),
        NPriceType::Last => Some(PriceType::Last),
        _ => None,
    }
}

const fn to_aggregation(a: BarAggregation) -> NAgg {
    match a {
        BarAggregation::Tick => NAgg::Tick,
        BarAggregation::Volume => NAgg::Volume,
        BarAggregation::Value => NAgg::Value,
        BarAggregation::Millisecond => NAgg::Millisecond,
        BarAggregation::Second => NAgg::Second,
        BarAggregation::Minute => NAgg::Minute,
        BarAggregation::Hour => NAgg::Hour,
        BarAggregation::Day => NAgg::Day,
        BarAggregation::Week => NAgg::Week,
        BarAggregation::Month => NAgg::Month,
    }
}

const fn aggregation(a: NAgg) -> Option<BarAggregation> {
    Some(match a {
        NAgg::Tick => BarAggregation::Tick,
        NAgg::Volume => BarAggregation::Volume,
        NAgg::Value => BarAggregation::Value,
        NAgg::Millisecond => BarAggregation::Millisecond,
        NAgg::Second => BarAggregation::Second,
        NAgg::Minute => BarAggregation::Minute,
        NAgg::Hour => BarAggregation::Hour,
        NAgg::Day => BarAggregation::Day,
        NAgg::Week => BarAggregation::Week,
        NAgg::Month => BarAggregation::Month,
        _ => return None,
    })
}

/// The contract's bar type as Nautilus's; `None` when the instrument id or step is invalid.
#[must_use]
pub fn to_bar_type(b: &BarType) -> Option<NBarType> {
    let instrument_id: NInstrumentId = b.instrument_id.parse().ok()?;
    let step = std::num::NonZeroUsize::new(b.spec.step as usize)?;
    Some(NBarType::Standard {
        instrument_id,
        spec: BarSpecification {
            step,
            aggregation: to_aggregation(b.spec.aggregation),
            price_type: to_price_type(b.spec.price_type),
        },
        aggregation_source: match b.source {
            AggregationSource::External => NSource::External,
            AggregationSource::Internal => NSource::Internal,
        },
    })
}

/// Nautilus's bar type as the contract's; `None` for kinds the contract does not carry.
#[must_use]
pub fn bar_type(b: &NBarType) -> Option<BarType> {
    let spec = b.spec();
    Some(BarType {
        instrument_id: b.instrument_id().to_string(),
        spec: BarSpec {
            step: u32::try_from(spec.step.get()).ok()?,
            aggregation: aggregation(spec.aggregation)?,
            price_type: price_type(spec.price_type)?,
        },
        source: match b.aggregation_source() {
            NSource::External => AggregationSource::External,
            NSource::Internal => AggregationSource::Internal,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_and_quantities_round_trip_exactly() {
        for s in ["1.30712", "0.00001", "46319.125", "123456789.123456789"] {
            let p = NPrice::from(s);
            assert_eq!(to_price(price(p)), p);
            assert_eq!(to_price(price(p)).to_string(), s);
        }
        for s in ["100000", "0.001", "2300413.7295"] {
            let q = NQuantity::from(s);
            assert_eq!(to_quantity(quantity(q)), q);
        }
    }

    #[test]
    fn bar_types_round_trip() {
        let n = NBarType::from("GBP/USD.FXCM-1-MINUTE-BID-EXTERNAL");
        let w = bar_type(&n).expect("standard bar type");
        assert_eq!(w.instrument_id, "GBP/USD.FXCM");
        assert_eq!(to_bar_type(&w), Some(n));
        let mut bad = w;
        bad.instrument_id = "no venue".into();
        assert_eq!(to_bar_type(&bad), None);
    }
}
