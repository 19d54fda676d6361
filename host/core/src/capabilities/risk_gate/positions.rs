//! The gate's own view of each position, kept in exact fixed point from fills.
//!
//! Averaging follows Nautilus netting positions: adding to a position re-averages the open
//! price, reducing keeps it, flipping opens at the fill price.

use std::collections::BTreeMap;

use crate::bindings::types::{OrderSide, PositionSide, PositionView, Price, Quantity};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Net {
    /// Signed raw quantity (scale 10^9): long positive.
    pub qty: i128,
    /// Average open price, raw (scale 10^9).
    pub avg_px: i128,
    pub size_precision: u8,
    /// Realized PnL in the quote currency, raw (scale 10^9), linear instruments.
    pub realized: i128,
}

/// Positions by instrument id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Positions {
    by_instrument: BTreeMap<String, Net>,
}

/// `a * b / 10^9` (both raw at scale 10^9), saturating.
pub(super) fn mul_scaled(a: i128, b: i128) -> i128 {
    a.checked_mul(b).map_or(
        if (a < 0) == (b < 0) {
            i128::MAX
        } else {
            i128::MIN
        },
        |p| p / 1_000_000_000,
    )
}

/// `num / den` rounded half away from zero.
fn div_round(num: i128, den: i128) -> i128 {
    let q = num / den;
    let r = num % den;
    if 2 * r.abs() >= den.abs() {
        q + num.signum() * den.signum()
    } else {
        q
    }
}

impl Positions {
    /// Applies one fill; `multiplier_raw` is the instrument's contract multiplier (scale
    /// 10^9) used for realized PnL.
    pub fn apply_fill(
        &mut self,
        instrument_id: &str,
        side: OrderSide,
        px: Price,
        qty: Quantity,
        multiplier_raw: u64,
    ) {
        let net = self
            .by_instrument
            .entry(instrument_id.to_string())
            .or_default();
        net.size_precision = net.size_precision.max(qty.precision);
        let fill = i128::from(qty.raw) * if side == OrderSide::Buy { 1 } else { -1 };
        let px = i128::from(px.raw);
        let before = net.qty;
        let after = before + fill;
        if before != 0 && before.signum() != fill.signum() {
            // The part of the fill that closes: (exit - entry) x closed x side x multiplier.
            let closed = before.abs().min(fill.abs());
            let per_unit = (px - net.avg_px) * before.signum();
            net.realized += mul_scaled(mul_scaled(per_unit, closed), i128::from(multiplier_raw));
        }
        if before == 0 || (before > 0) != (after > 0) && after != 0 {
            // Opening, or flipping through zero: the remainder opens at the fill price.
            net.avg_px = px;
        } else if before.signum() == fill.signum() {
            net.avg_px = div_round(net.avg_px * before.abs() + px * fill.abs(), after.abs());
        }
        net.qty = after;
        if after == 0 {
            net.avg_px = 0;
        }
    }

    /// The position in `instrument_id` (flat when none).
    #[must_use]
    pub fn view(&self, instrument_id: &str) -> PositionView {
        let net = self
            .by_instrument
            .get(instrument_id)
            .copied()
            .unwrap_or_default();
        let side = match net.qty.signum() {
            1 => PositionSide::Long,
            -1 => PositionSide::Short,
            _ => PositionSide::Flat,
        };
        PositionView {
            instrument_id: instrument_id.to_string(),
            side,
            quantity: Quantity {
                raw: u64::try_from(net.qty.unsigned_abs()).unwrap_or(u64::MAX),
                precision: net.size_precision,
            },
            avg_px_open: (net.qty != 0).then(|| Price {
                raw: i64::try_from(net.avg_px).unwrap_or(i64::MAX),
                precision: 9,
            }),
        }
    }

    /// Signed raw net quantity in `instrument_id`.
    #[must_use]
    pub fn net_raw(&self, instrument_id: &str) -> i128 {
        self.by_instrument.get(instrument_id).map_or(0, |n| n.qty)
    }

    /// Every entry, as kept (checkpoints).
    pub(super) fn entries(&self) -> impl Iterator<Item = (&str, &Net)> {
        self.by_instrument.iter().map(|(id, n)| (id.as_str(), n))
    }

    /// Sets `instrument_id`'s entry (restoring a checkpoint).
    pub(super) fn insert(&mut self, instrument_id: &str, net: Net) {
        self.by_instrument.insert(instrument_id.to_string(), net);
    }

    /// Every instrument with a position or realized PnL: (id, signed raw qty, average
    /// open price raw, realized PnL raw).
    pub fn iter(&self) -> impl Iterator<Item = (&str, i128, i128, i128)> {
        self.by_instrument
            .iter()
            .map(|(id, n)| (id.as_str(), n.qty, n.avg_px, n.realized))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNIT: u64 = 1_000_000_000;

    fn px(v: i64) -> Price {
        Price {
            raw: v,
            precision: 5,
        }
    }

    fn qty(units: u64) -> Quantity {
        Quantity {
            raw: units * UNIT,
            precision: 0,
        }
    }

    #[test]
    fn adds_reduces_and_flips_like_a_netting_position() {
        let mut p = Positions::default();
        p.apply_fill("X", OrderSide::Buy, px(1_000_000_000), qty(1), UNIT);
        p.apply_fill("X", OrderSide::Buy, px(2_000_000_000), qty(3), UNIT);
        let v = p.view("X");
        assert_eq!(
            (v.side, v.quantity.raw, v.avg_px_open.unwrap().raw),
            (PositionSide::Long, 4 * UNIT, 1_750_000_000)
        );

        p.apply_fill("X", OrderSide::Sell, px(3_000_000_000), qty(1), UNIT);
        assert_eq!(
            p.view("X").avg_px_open.unwrap().raw,
            1_750_000_000,
            "reducing keeps the average"
        );

        p.apply_fill("X", OrderSide::Sell, px(1_500_000_000), qty(5), UNIT);
        let v = p.view("X");
        assert_eq!(
            (v.side, v.quantity.raw, v.avg_px_open.unwrap().raw),
            (PositionSide::Short, 2 * UNIT, 1_500_000_000)
        );

        p.apply_fill("X", OrderSide::Buy, px(1_400_000_000), qty(2), UNIT);
        let v = p.view("X");
        assert_eq!(
            (v.side, v.quantity.raw, v.avg_px_open),
            (PositionSide::Flat, 0, None)
        );
        assert_eq!(p.view("unknown").side, PositionSide::Flat);
        // Realized: sold 1 @3 against 1.75 (+1.25), sold 3 @1.5 against 1.75 (-0.75),
        // bought 2 @1.4 against a short at 1.5 (+0.2): 0.7 in all.
        let (_, _, _, realized) = p.iter().next().unwrap();
        assert_eq!(realized, 700_000_000);
    }
}
