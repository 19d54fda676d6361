//! The sandbox venue's state into and out of a checkpoint (decision 0031).
//!
//! `nautilus-sandbox` keeps no record of its own: its account lives in the node's cache and
//! its positions are the execution engine's. A checkpoint therefore keeps them ([`capture`]),
//! and a resumed node gets them back: the balances as the sandbox account's starting
//! balances, each open position through one reconciliation order, filled at the position's
//! average open price without commission, as Nautilus's own reconciliation creates the
//! positions a venue reports ([`seed`]). [`compare`] then checks the node against the
//! checkpoint; any difference halts the deployment instead of trading on a wrong book.

use std::{cell::RefCell, str::FromStr as _};

use nautilus_common::cache::Cache;
use nautilus_core::{UUID4, UnixNanos};
use nautilus_execution::engine::ExecutionEngine;
use nautilus_model::{
    enums::{LiquiditySide, OrderSide, OrderType, PositionSide, TimeInForce},
    events::{OrderAccepted, OrderEventAny, OrderFilled, OrderInitialized},
    identifiers::{
        ClientOrderId, InstrumentId, StrategyId, TradeId, TraderId, Venue, VenueOrderId,
    },
    instruments::{Instrument, InstrumentAny},
    orders::OrderAny,
    types::{Money, Price, Quantity},
};

use super::{
    TRADER_ID, account_id,
    checkpoint::{SEED_ORDER_PREFIX, VenuePosition, VenueState},
};

/// True when `strategy` has no order open or in flight: its book is what the venue holds.
#[must_use]
pub fn quiet(cache: &Cache, strategy: StrategyId) -> bool {
    cache.orders_open_count(None, None, Some(&strategy), None, None) == 0
        && cache.orders_inflight_count(None, None, Some(&strategy), None, None) == 0
}

/// The venues' total balances and `strategy`'s open positions.
#[must_use]
pub fn capture(cache: &Cache, venues: &[Venue], strategy: StrategyId) -> VenueState {
    let mut balances = Vec::new();
    for venue in venues {
        if let Some(account) = cache.account_for_venue_owned(venue) {
            balances.extend(
                nautilus_model::accounts::Account::balances_total(&account)
                    .values()
                    .map(ToString::to_string),
            );
        }
    }
    let mut positions: Vec<VenuePosition> = cache
        .positions_open(None, None, Some(&strategy), None, None)
        .iter()
        .map(|p| VenuePosition {
            instrument_id: p.instrument_id.to_string(),
            side: match p.side {
                PositionSide::Long => "LONG",
                PositionSide::Short => "SHORT",
                _ => "FLAT",
            }
            .to_string(),
            quantity: p.quantity.to_string(),
            avg_px_open: p.avg_px_open,
        })
        .collect();
    positions.sort_by(|a, b| a.instrument_id.cmp(&b.instrument_id));
    VenueState {
        balances,
        positions,
    }
}

/// The starting balances of a resumed node.
///
/// # Errors
/// A balance is not `"<amount> <currency>"`.
pub fn balances(state: &VenueState) -> Result<Vec<Money>, String> {
    state
        .balances
        .iter()
        .map(|b| Money::from_str(b).map_err(|e| format!("checkpoint balance `{b}`: {e}")))
        .collect()
}

/// The client order id of the order that restores position `n` (from 1) of `strategy`.
#[must_use]
pub fn order_id(n: usize, strategy: StrategyId) -> ClientOrderId {
    ClientOrderId::new(format!("{SEED_ORDER_PREFIX}{n}-{strategy}"))
}

/// Opens each of `positions` for `strategy` in a started node: one filled reconciliation
/// order each, at the average open price, no commission, stamped `ts`.
///
/// # Errors
/// An instrument the node does not know, a quantity or price it cannot represent, or
/// Nautilus refusing the order (what, for which instrument).
pub fn seed(
    cache: &RefCell<Cache>,
    exec: &RefCell<ExecutionEngine>,
    strategy: StrategyId,
    positions: &[VenuePosition],
    ts: u64,
) -> Result<(), String> {
    let trader = TraderId::from(TRADER_ID);
    let ts = UnixNanos::from(ts);
    for (i, p) in positions.iter().enumerate() {
        let what = |why: String| format!("restoring the position in {}: {why}", p.instrument_id);
        let instrument_id =
            InstrumentId::from_str(&p.instrument_id).map_err(|e| what(e.to_string()))?;
        let instrument: InstrumentAny = cache
            .borrow()
            .instrument(&instrument_id)
            .cloned()
            .ok_or_else(|| what("the node does not know the instrument".into()))?;
        let side = match p.side.as_str() {
            "LONG" => OrderSide::Buy,
            "SHORT" => OrderSide::Sell,
            other => return Err(what(format!("side `{other}`"))),
        };
        let qty = Quantity::from_str(&p.quantity).map_err(|e| what(e.to_string()))?;
        let qty = Quantity::new_checked(qty.as_f64(), instrument.size_precision())
            .map_err(|e| what(e.to_string()))?;
        let px = Price::new_checked(p.avg_px_open, instrument.price_precision())
            .map_err(|e| what(e.to_string()))?;
        let id = order_id(i + 1, strategy);
        let init = OrderInitialized::new(
            trader,
            strategy,
            instrument_id,
            id,
            side,
            OrderType::Market,
            qty,
            TimeInForce::Gtc,
            false,
            false,
            false,
            true,
            UUID4::new(),
            ts,
            ts,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        );
        let order = OrderAny::from_events(vec![OrderEventAny::Initialized(init)])
            .map_err(|e| what(e.to_string()))?;
        cache
            .borrow_mut()
            .add_order(order, None, None, false)
            .map_err(|e| what(e.to_string()))?;
        let account = account_id(instrument_id.venue);
        let venue_order = VenueOrderId::new(id.as_str());
        let accepted = OrderAccepted::new(
            trader,
            strategy,
            instrument_id,
            id,
            venue_order,
            account,
            UUID4::new(),
            ts,
            ts,
            true,
        );
        let filled = OrderFilled::new(
            trader,
            strategy,
            instrument_id,
            id,
            venue_order,
            account,
            TradeId::new(id.as_str()),
            side,
            OrderType::Market,
            qty,
            px,
            instrument.quote_currency(),
            LiquiditySide::Taker,
            UUID4::new(),
            ts,
            ts,
            true,
            None,
            Some(Money::new(0.0, instrument.quote_currency())),
        );
        let mut exec = exec.borrow_mut();
        exec.process(&OrderEventAny::Accepted(accepted));
        exec.process(&OrderEventAny::Filled(filled));
    }
    Ok(())
}

/// Where the node's venue state differs from the checkpoint's (empty when it matches):
/// balances exactly, positions by side and quantity exactly and average price to the
/// instrument's precision.
#[must_use]
pub fn compare(expected: &VenueState, now: &VenueState) -> Vec<String> {
    let mut out = Vec::new();
    let (mut a, mut b) = (expected.balances.clone(), now.balances.clone());
    a.sort();
    b.sort();
    if a != b {
        out.push(format!(
            "balances: checkpoint {} but venue {}",
            a.join(", "),
            b.join(", ")
        ));
    }
    let key = |p: &VenuePosition| (p.instrument_id.clone(), p.side.clone(), p.quantity.clone());
    let (ka, kb): (Vec<_>, Vec<_>) = (
        expected.positions.iter().map(key).collect(),
        now.positions.iter().map(key).collect(),
    );
    if ka != kb {
        out.push(format!("positions: checkpoint {ka:?} but venue {kb:?}"));
    } else {
        for (x, y) in expected.positions.iter().zip(&now.positions) {
            // Nautilus keeps the average as f64; the seed rounds it to the price precision.
            if (x.avg_px_open - y.avg_px_open).abs() > 1e-9_f64.max(x.avg_px_open.abs() * 1e-12) {
                out.push(format!(
                    "{}: average open price checkpoint {} but venue {}",
                    x.instrument_id, x.avg_px_open, y.avg_px_open
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(balance: &str, qty: &str, px: f64) -> VenueState {
        VenueState {
            balances: vec![balance.into()],
            positions: vec![VenuePosition {
                instrument_id: "GBP/USD.SIM".into(),
                side: "LONG".into(),
                quantity: qty.into(),
                avg_px_open: px,
            }],
        }
    }

    #[test]
    fn differences_are_named() {
        let a = state("1000.00 USD", "100000", 1.5);
        assert!(compare(&a, &a).is_empty());
        let d = compare(&a, &state("999.00 USD", "100000", 1.5));
        assert_eq!(d.len(), 1);
        assert!(d[0].contains("balances"), "{d:?}");
        let d = compare(&a, &state("1000.00 USD", "200000", 1.5));
        assert!(d[0].contains("positions"), "{d:?}");
        let d = compare(&a, &state("1000.00 USD", "100000", 1.6));
        assert!(d[0].contains("average open price"), "{d:?}");
        assert_eq!(balances(&a).unwrap()[0].to_string(), "1000.00 USD");
        assert!(balances(&state("lots", "1", 1.0)).is_err());
    }
}
