//! Order builders: turn Nautilus-typed values into an [`OrderIntent`] for the risk gate.

use nautilus_model::types::{Price, Quantity};

use crate::{
    convert::{wit_price, wit_quantity},
    data::InstrumentId,
    wit::{
        OrderIntent, OrderKind, OrderSide, PositionSide, PositionView, StopLimitPrices, TimeInForce,
    },
};

/// A position as a signed raw quantity (scale 10^9): long positive, short negative.
#[must_use]
pub fn signed_raw(position: &PositionView) -> i128 {
    let held = i128::from(position.quantity.raw);
    match position.side {
        PositionSide::Long => held,
        PositionSide::Short => -held,
        PositionSide::Flat => 0,
    }
}

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

    /// The market order that takes `position` to `target` (a signed raw quantity, as
    /// [`signed_raw`]), in quantities of `precision` decimals; `None` when already there.
    /// An order that only shrinks the position (without crossing zero) is reduce-only.
    #[must_use]
    pub fn to_target(
        instrument_id: InstrumentId,
        position: &PositionView,
        target: i128,
        precision: u8,
    ) -> Option<Self> {
        let now = signed_raw(position);
        let delta = target - now;
        let raw = u64::try_from(delta.unsigned_abs())
            .ok()
            .filter(|r| *r > 0)?;
        let side = if delta > 0 {
            OrderSide::Buy
        } else {
            OrderSide::Sell
        };
        let order = Self::market(instrument_id, side, Quantity::from_raw(raw, precision));
        let reduces = now != 0 && target.signum() != -now.signum() && target.abs() < now.abs();
        Some(if reduces { order.reduce_only() } else { order })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wit::Quantity as WitQuantity;

    fn position(side: PositionSide, raw: u64) -> PositionView {
        PositionView {
            instrument_id: "X.Y".into(),
            side,
            quantity: WitQuantity { raw, precision: 0 },
            avg_px_open: None,
        }
    }

    #[test]
    fn orders_to_a_target_position() {
        let id: InstrumentId = "X.Y".parse().unwrap();
        let unit = 1_000_000_000;
        let flat = position(PositionSide::Flat, 0);
        let long = position(PositionSide::Long, 2 * unit);
        assert!(Order::to_target(id, &flat, 0, 0).is_none());
        let buy = Order::to_target(id, &flat, i128::from(2 * unit), 0)
            .unwrap()
            .into_intent();
        assert_eq!(
            (buy.side, buy.quantity.raw, buy.reduce_only),
            (OrderSide::Buy, 2 * unit, false)
        );
        let flip = Order::to_target(id, &long, -i128::from(2 * unit), 0)
            .unwrap()
            .into_intent();
        assert_eq!(
            (flip.side, flip.quantity.raw, flip.reduce_only),
            (OrderSide::Sell, 4 * unit, false)
        );
        let close = Order::to_target(id, &long, 0, 0).unwrap().into_intent();
        assert_eq!(
            (close.side, close.quantity.raw, close.reduce_only),
            (OrderSide::Sell, 2 * unit, true)
        );
        let add = Order::to_target(id, &long, i128::from(3 * unit), 0)
            .unwrap()
            .into_intent();
        assert!(!add.reduce_only);
    }
}
