//! The policy checks of one intent, in a fixed order; the first failing one decides the
//! reject code. Pure: everything they read is in [`View`], so the no-bypass property test
//! can replay them.
//!
//! A limit that cannot be evaluated (no price yet to value an order, no FX rate for its
//! currency) refuses the order: an unknown is never a pass.

use super::{
    Positions,
    control::TradingState,
    hub::PluginFigures,
    policy::{Amount, GlobalLimits, OrderType, PluginLimits, RiskPolicy},
    positions::mul_scaled,
};
use crate::{
    bindings::types::{InstrumentInfo, OrderIntent, OrderKind, OrderSide, RejectCode, Rejection},
    capabilities::market_data::MarketDataSource,
};

/// An open order of the plugin, as far as the gate knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenOrder {
    pub id: String,
    pub instrument_id: String,
    pub side: OrderSide,
    /// Raw quantity not yet filled.
    pub remaining: u64,
}

/// Everything a decision reads.
pub(super) struct View<'a> {
    pub state: TradingState,
    pub state_reason: &'a str,
    pub policy: &'a RiskPolicy,
    pub limits: &'a PluginLimits,
    pub global: &'a GlobalLimits,
    pub positions: &'a Positions,
    /// Number of the plugin's open orders.
    pub open_count: usize,
    /// Raw quantity still open in buy orders and in sell orders of the intent's instrument.
    pub pending: (u64, u64),
    /// Orders this plugin had accepted in the last second of event time.
    pub recent: usize,
    /// Orders every plugin had accepted in the last second of event time.
    pub recent_global: usize,
    /// Host-wide figures of the other plugins.
    pub others: PluginFigures,
    pub market: &'a dyn MarketDataSource,
}

fn refuse(code: RejectCode, message: String) -> Result<(), Rejection> {
    Err(Rejection { code, message })
}

fn signed(side: OrderSide, raw: u64) -> i128 {
    match side {
        OrderSide::Buy => i128::from(raw),
        OrderSide::Sell => -i128::from(raw),
    }
}

fn amount(raw: i128) -> String {
    Amount(raw).to_string()
}

/// Mid price (raw) of the last quote, or the close of the latest bar.
pub(super) fn mid(market: &dyn MarketDataSource, instrument_id: &str) -> Option<i128> {
    market
        .mark(instrument_id)
        .map(|(bid, ask)| (i128::from(bid) + i128::from(ask)) / 2)
}

/// Value of `qty_raw` units at `px_raw` in the policy currency, if the rate is known.
pub(super) fn value(
    policy: &RiskPolicy,
    info: &InstrumentInfo,
    qty_raw: i128,
    px_raw: i128,
) -> Option<i128> {
    let rate = policy.rate(&info.quote_currency)?;
    let local = mul_scaled(
        mul_scaled(qty_raw.abs(), px_raw.abs()),
        i128::from(info.multiplier.raw.max(1)),
    );
    Some(mul_scaled(local, rate.0))
}

/// Why an amount in `info`'s quote currency cannot be valued.
fn missing_rate(policy: &RiskPolicy, info: &InstrumentInfo) -> String {
    format!(
        "no [fx] rate for {} (policy currency {})",
        info.quote_currency, policy.currency
    )
}

/// Gross exposure of `positions` (with `override_` replacing one instrument's net).
pub(super) fn gross_exposure(
    policy: &RiskPolicy,
    market: &dyn MarketDataSource,
    positions: &Positions,
    override_: Option<(&str, i128)>,
) -> Result<i128, String> {
    let mut total: i128 = 0;
    let mut seen_override = false;
    let mut add = |id: &str, qty: i128| -> Result<(), String> {
        if qty == 0 {
            return Ok(());
        }
        let info = market
            .instrument(id)
            .ok_or_else(|| format!("`{id}` is not a known instrument"))?;
        let px = mid(market, id).ok_or_else(|| format!("no quote or bar of {id} to value it"))?;
        let v = value(policy, &info, qty, px).ok_or_else(|| missing_rate(policy, &info))?;
        total = total.saturating_add(v);
        Ok(())
    };
    for (id, qty, ..) in positions.iter() {
        match override_ {
            Some((o, q)) if o == id => {
                seen_override = true;
                add(id, q)?;
            }
            _ => add(id, qty)?,
        }
    }
    if let Some((id, q)) = override_
        && !seen_override
    {
        add(id, q)?;
    }
    Ok(total)
}

/// Open quantity on the intent's side, signed like the intent.
fn same_side_pending(intent: &OrderIntent, view: &View<'_>) -> i128 {
    match intent.side {
        OrderSide::Buy => i128::from(view.pending.0),
        OrderSide::Sell => -i128::from(view.pending.1),
    }
}

/// Whether the intent only reduces the plugin's position (also against its other open
/// orders on the same side).
fn reduces(intent: &OrderIntent, view: &View<'_>) -> bool {
    let net = view.positions.net_raw(&intent.instrument_id);
    let order = signed(intent.side, intent.quantity.raw);
    if net == 0 || net.signum() == order.signum() {
        return false;
    }
    (order + same_side_pending(intent, view)).abs() <= net.abs()
}

/// The price an order is valued at: its limit (or trigger) price, or the side of the last
/// quote it would take for a market order.
fn order_price(intent: &OrderIntent, market: &dyn MarketDataSource) -> Option<i128> {
    match intent.kind {
        OrderKind::Limit(p) | OrderKind::StopMarket(p) => Some(i128::from(p.raw)),
        OrderKind::StopLimit(s) => Some(i128::from(s.limit.raw)),
        OrderKind::Market => {
            market
                .mark(&intent.instrument_id)
                .map(|(bid, ask)| match intent.side {
                    OrderSide::Buy => i128::from(ask),
                    OrderSide::Sell => i128::from(bid),
                })
        }
    }
}

/// Checks `intent` (already structurally valid, instrument known and in scope) against the
/// trading state and the policy.
pub(super) fn check(
    intent: &OrderIntent,
    info: &InstrumentInfo,
    view: &View<'_>,
) -> Result<(), Rejection> {
    let id = &intent.instrument_id;
    let limits = view.limits;
    match view.state {
        TradingState::Halted => {
            return refuse(
                RejectCode::Halted,
                format!("trading is halted: {}", view.state_reason),
            );
        }
        TradingState::Reducing if !reduces(intent, view) => {
            return refuse(
                RejectCode::ReducingOnly,
                format!(
                    "only orders that reduce the position in {id} are accepted: {}",
                    view.state_reason
                ),
            );
        }
        _ => {}
    }
    if let Some(allowed) = &limits.allowed_instruments
        && !allowed.iter().any(|a| a == id)
    {
        return refuse(
            RejectCode::InstrumentNotAllowed,
            format!("{id} is not in the policy's allowed_instruments"),
        );
    }
    let order_type = OrderType::of(&intent.kind);
    if let Some(allowed) = &limits.allowed_order_types
        && !allowed.contains(&order_type)
    {
        return refuse(
            RejectCode::OrderTypeNotAllowed,
            format!(
                "{} orders are not in the policy's allowed_order_types",
                order_type.name()
            ),
        );
    }
    let qty = i128::from(intent.quantity.raw);
    if let Some(max) = limits.max_order_quantity
        && qty > max.0
    {
        return refuse(
            RejectCode::MaxOrderQuantity,
            format!("quantity {} is above max_order_quantity {max}", amount(qty)),
        );
    }
    if let Some(bps) = limits.price_collar_bps
        && order_type != OrderType::Market
    {
        let Some(reference) = mid(view.market, id) else {
            return refuse(
                RejectCode::PriceCollar,
                format!("no quote or bar of {id} yet to check the price collar against"),
            );
        };
        let prices: Vec<i128> = match intent.kind {
            OrderKind::Limit(p) | OrderKind::StopMarket(p) => vec![i128::from(p.raw)],
            OrderKind::StopLimit(s) => vec![i128::from(s.trigger.raw), i128::from(s.limit.raw)],
            OrderKind::Market => Vec::new(),
        };
        for p in prices {
            // |p - ref| / ref > bps / 10_000, in integers.
            if (p - reference).abs().saturating_mul(10_000)
                > reference.abs().saturating_mul(i128::from(bps))
            {
                return refuse(
                    RejectCode::PriceCollar,
                    format!(
                        "price {} is more than {bps} bps from the reference {}",
                        amount(p),
                        amount(reference)
                    ),
                );
            }
        }
    }
    if let Some(max) = limits.max_order_notional {
        let Some(px) = order_price(intent, view.market) else {
            return refuse(
                RejectCode::MaxOrderNotional,
                format!("no quote of {id} yet to value a market order"),
            );
        };
        let Some(notional) = value(view.policy, info, qty, px) else {
            return refuse(
                RejectCode::MaxOrderNotional,
                missing_rate(view.policy, info),
            );
        };
        if notional > max.0 {
            return refuse(
                RejectCode::MaxOrderNotional,
                format!(
                    "notional {} {} is above max_order_notional {max}",
                    amount(notional),
                    view.policy.currency
                ),
            );
        }
    }
    // Worst case once every open order on the same side fills too.
    let net = view.positions.net_raw(id);
    let order = signed(intent.side, intent.quantity.raw);
    let worst = net + same_side_pending(intent, view) + order;
    let reducing = worst.abs() <= net.abs();
    if let Some(max) = limits.max_position
        && worst.abs() > max.0
        && !reducing
    {
        return refuse(
            RejectCode::MaxPosition,
            format!(
                "position in {id} could reach {} (with open orders), above max_position {max}",
                amount(worst)
            ),
        );
    }
    let open = view.open_count as u64;
    if let Some(max) = limits.max_open_orders
        && open >= u64::from(max)
    {
        return refuse(
            RejectCode::MaxOpenOrders,
            format!("{open} open orders; max_open_orders is {max}"),
        );
    }
    if let Some(max) = view.global.max_open_orders
        && open + u64::from(view.others.open_orders) >= u64::from(max)
    {
        return refuse(
            RejectCode::MaxOpenOrders,
            format!("host-wide max_open_orders {max} reached"),
        );
    }
    if let Some(max) = limits.max_orders_per_second
        && view.recent >= max as usize
    {
        return refuse(
            RejectCode::RateLimited,
            format!(
                "{} orders in the last second; max_orders_per_second is {max}",
                view.recent
            ),
        );
    }
    if let Some(max) = view.global.max_orders_per_second
        && view.recent_global >= max as usize
    {
        return refuse(
            RejectCode::RateLimited,
            format!("host-wide max_orders_per_second {max} reached"),
        );
    }
    if (limits.max_gross_exposure.is_some() || view.global.max_gross_exposure.is_some())
        && !reducing
    {
        let gross = gross_exposure(view.policy, view.market, view.positions, Some((id, worst)))
            .map_err(|m| Rejection {
                code: RejectCode::MaxGrossExposure,
                message: format!("cannot value the exposure: {m}"),
            })?;
        if let Some(max) = limits.max_gross_exposure
            && gross > max.0
        {
            return refuse(
                RejectCode::MaxGrossExposure,
                format!(
                    "gross exposure could reach {} {}, above max_gross_exposure {max}",
                    amount(gross),
                    view.policy.currency
                ),
            );
        }
        if let Some(max) = view.global.max_gross_exposure {
            let host = gross.saturating_add(view.others.gross_exposure);
            if host > max.0 {
                return refuse(
                    RejectCode::MaxGrossExposure,
                    format!(
                        "host-wide gross exposure could reach {} {}, above {max}",
                        amount(host),
                        view.policy.currency
                    ),
                );
            }
        }
    }
    Ok(())
}

/// One second of event time, in ns.
pub(super) const SECOND_NS: u64 = 1_000_000_000;
