//! Order builders: turn Nautilus-typed values into an [`OrderIntent`] for the risk gate.

use nautilus_model::types::{Price, Quantity};

use crate::{
    convert::{wit_price, wit_quantity},
    data::InstrumentId,
    wit::{OrderIntent, OrderKind, OrderSide, StopLimitPrices, TimeInForce},
};

/// Builds one order intent. Defaults: time in force GTC, not reduce-only, no tag.
///
/// ```
/// use stratbox_sdk::prelude::*;
/// let id: InstrumentId = "GBP/USD.FXCM".parse().unwrap();
/// let intent = Order::limit(id, OrderSide::Buy, Quantity::from(100_000), Price::from("1.30500"))
///     .time_in_force(TimeInForce::Day)
///     .tag("entry")
///     .into_intent();
/// assert_eq!(intent.tag.as_deref(), Some("entry"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    intent: OrderIntent,
}

impl Order {
    fn new(
        instrument_id: InstrumentId,
        side: OrderSide,
        quantity: Quantity,
        kind: OrderKind,
    ) -> Self {
        Self {
            intent: OrderIntent {
                instrument_id: instrument_id.to_string(),
                side,
                kind,
                quantity: wit_quantity(quantity),
                time_in_force: TimeInForce::Gtc,
                reduce_only: false,
                tag: None,
            },
        }
    }

    /// A market order.
    #[must_use]
    pub fn market(instrument_id: InstrumentId, side: OrderSide, quantity: Quantity) -> Self {
        Self::new(instrument_id, side, quantity, OrderKind::Market)
    }

    /// A limit order at `price`.
    #[must_use]
    pub fn limit(
        instrument_id: InstrumentId,
        side: OrderSide,
        quantity: Quantity,
        price: Price,
    ) -> Self {
        Self::new(
            instrument_id,
            side,
            quantity,
            OrderKind::Limit(wit_price(price)),
        )
    }

    /// A stop-market order triggered at `trigger`.
    #[must_use]
    pub fn stop_market(
        instrument_id: InstrumentId,
        side: OrderSide,
        quantity: Quantity,
        trigger: Price,
    ) -> Self {
        Self::new(
            instrument_id,
            side,
            quantity,
            OrderKind::StopMarket(wit_price(trigger)),
        )
    }

    /// A stop-limit order: triggered at `trigger`, then resting at `limit`.
    #[must_use]
    pub fn stop_limit(
        instrument_id: InstrumentId,
        side: OrderSide,
        quantity: Quantity,
        trigger: Price,
        limit: Price,
    ) -> Self {
        let prices = StopLimitPrices {
            trigger: wit_price(trigger),
            limit: wit_price(limit),
        };
        Self::new(instrument_id, side, quantity, OrderKind::StopLimit(prices))
    }

    /// Sets the time in force.
    #[must_use]
    pub fn time_in_force(mut self, tif: TimeInForce) -> Self {
        self.intent.time_in_force = tif;
        self
    }

    /// Marks the order reduce-only: it may only shrink an open position.
    #[must_use]
    pub fn reduce_only(mut self) -> Self {
        self.intent.reduce_only = true;
        self
    }

    /// Attaches a free label (at most 64 bytes; the gate refuses longer tags).
    #[must_use]
    pub fn tag(mut self, tag: &str) -> Self {
        self.intent.tag = Some(tag.to_string());
        self
    }

    /// The finished intent.
    #[must_use]
    pub fn into_intent(self) -> OrderIntent {
        self.intent
    }
}

impl From<Order> for OrderIntent {
    fn from(o: Order) -> Self {
        o.intent
    }
}
