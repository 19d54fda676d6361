//! Per-instance risk-gate state: open orders, positions (from fills, reconciled with the
//! venue), rate windows, PnL marks and the cached trading state.

use std::{
    collections::{BTreeSet, VecDeque},
    sync::Arc,
};

use serde::Serialize;

use super::{
    CancelCounts, OrderRouter, Positions,
    checks::{self, OpenOrder, SECOND_NS},
    control::{Scope, TradingState},
    hub::{PluginFigures, RiskHub},
    policy::{Amount, PluginLimits},
};
use crate::{
    audit::AuditAction,
    bindings::types::{OrderEvent, OrderSide},
    capabilities::market_data::MarketDataSource,
    notify::Alert,
};

/// How many intents were decided, by outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DecisionCounts {
    pub accepted: u64,
    /// Refusals by reject code (kebab-case names).
    pub rejected: std::collections::BTreeMap<String, u64>,
}

/// PnL marks behind the daily-loss and drawdown limits (policy currency, raw).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct PnlMarks {
    pub pnl: i128,
    pub peak: i128,
    pub day: Option<u64>,
    pub day_start: i128,
}

impl PnlMarks {
    /// Records `pnl` at `ts`; returns (loss since the UTC day began, fall from the peak).
    pub fn update(&mut self, pnl: i128, ts: u64) -> (i128, i128) {
        let day = ts / (86_400 * SECOND_NS);
        if self.day != Some(day) {
            self.day = Some(day);
            self.day_start = self.pnl;
        }
        self.pnl = pnl;
        self.peak = self.peak.max(pnl);
        (self.day_start - pnl, self.peak - pnl)
    }
}

/// Risk-gate state of one instance.
pub struct RiskGateState {
    pub(super) granted: bool,
    pub(super) instruments: Option<BTreeSet<String>>,
    pub(super) market: Arc<dyn MarketDataSource>,
    pub(super) router: Box<dyn OrderRouter>,
    pub(super) max_orders_per_callback: u64,
    pub(super) orders_this_callback: u64,
    pub(super) event_ts: Option<u64>,
    pub(super) open: Vec<OpenOrder>,
    pub(super) positions: Positions,
    pub(super) counts: DecisionCounts,
    pub(super) hub: Arc<RiskHub>,
    pub(super) limits: PluginLimits,
    /// `name@sha256`, the audit subject.
    pub(super) subject: String,
    pub(super) plugin: String,
    /// This plugin's entry in the (possibly shared) host-wide book.
    pub(super) book_key: String,
    pub(super) seen_generation: Option<u64>,
    pub(super) state: TradingState,
    pub(super) state_reason: String,
    /// Set on a transition into `HALTED`, taken by the driver.
    pub(super) halt_pending: bool,
    /// Operator flattens seen ([`super::TradingControl::flatten_count`]).
    pub(super) seen_flattens: u64,
    /// Set with `halt_pending` by an operator flatten: close positions whatever the policy.
    pub(super) flatten_pending: bool,
    pub(super) recent: VecDeque<u64>,
    pub(super) marks: PnlMarks,
    /// Whether any money limit applies (marks are computed only then).
    pub(super) uses_money: bool,
    /// Refusals of this callback.
    pub(super) refused_this_callback: u64,
    /// Refusals without a record of their own, by reason code, not yet summarised.
    pub(super) suppressed: std::collections::BTreeMap<&'static str, u64>,
    /// Open (buy, sell) raw quantity per instrument, kept with `open`.
    pub(super) pending: std::collections::BTreeMap<String, (u64, u64)>,
    /// Open orders whose cancel went to the router and the venue has not answered yet: a
    /// repeated cancel is answered from here, never queued again.
    pub(super) cancelling: BTreeSet<String>,
    /// Cancels sent to the router in this callback (capped at `max_orders_per_callback`).
    pub(super) cancels_this_callback: u64,
    /// Cancel requests by outcome.
    pub(super) cancel_counts: CancelCounts,
    /// Cancels refused over the per-callback cap not yet in the audit trail.
    pub(super) cancels_suppressed: u64,
}

impl std::fmt::Debug for RiskGateState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RiskGateState")
            .field("plugin", &self.plugin)
            .field("granted", &self.granted)
            .field("state", &self.state)
            .field("open", &self.open)
            .field("counts", &self.counts)
            .finish_non_exhaustive()
    }
}

/// Who a gate belongs to and what it answers to.
#[derive(Debug, Clone)]
pub struct GateIdentity {
    pub plugin: String,
    pub sha256: String,
    pub hub: Arc<RiskHub>,
}

impl RiskGateState {
    #[must_use]
    pub fn new(
        granted: bool,
        instruments: Option<BTreeSet<String>>,
        market: Arc<dyn MarketDataSource>,
        router: Box<dyn OrderRouter>,
        max_orders_per_callback: u64,
        identity: GateIdentity,
    ) -> Self {
        let limits = identity.hub.policy.limits_for(&identity.plugin);
        let per_callback = limits
            .max_orders_per_callback
            .map_or(max_orders_per_callback, |p| {
                max_orders_per_callback.min(u64::from(p))
            });
        let uses_money = identity.hub.policy.uses_money(&limits);
        // Flattens asked for before this gate existed are not its to act on.
        let seen_flattens = identity.hub.control.flatten_count(&identity.plugin);
        Self {
            granted,
            instruments,
            market,
            router,
            max_orders_per_callback: per_callback,
            orders_this_callback: 0,
            event_ts: None,
            open: Vec::new(),
            positions: Positions::default(),
            counts: DecisionCounts::default(),
            subject: format!("{}@{}", identity.plugin, identity.sha256),
            book_key: identity.hub.book_key(&identity.plugin),
            plugin: identity.plugin,
            hub: identity.hub,
            limits,
            seen_generation: None,
            state: TradingState::Active,
            state_reason: String::new(),
            halt_pending: false,
            seen_flattens,
            flatten_pending: false,
            recent: VecDeque::new(),
            marks: PnlMarks::default(),
            uses_money,
            refused_this_callback: 0,
            suppressed: std::collections::BTreeMap::new(),
            pending: std::collections::BTreeMap::new(),
            cancelling: BTreeSet::new(),
            cancels_this_callback: 0,
            cancel_counts: CancelCounts::default(),
            cancels_suppressed: 0,
        }
    }

    /// Decisions so far.
    #[must_use]
    pub fn counts(&self) -> &DecisionCounts {
        &self.counts
    }

    /// Ids of open orders, oldest first.
    #[must_use]
    pub fn open_order_ids(&self) -> Vec<String> {
        self.open.iter().map(|o| o.id.clone()).collect()
    }

    /// Open orders, oldest first.
    #[must_use]
    pub fn open_orders(&self) -> &[OpenOrder] {
        &self.open
    }

    /// The gate's positions (from fills).
    #[must_use]
    pub fn positions(&self) -> &Positions {
        &self.positions
    }

    /// The router (e.g. to read what a recording router captured).
    #[must_use]
    pub fn router(&self) -> &dyn OrderRouter {
        self.router.as_ref()
    }

    /// The shared hub (policy, trading states, audit).
    #[must_use]
    pub fn hub(&self) -> &Arc<RiskHub> {
        &self.hub
    }

    /// The trading state that applies now, re-read when the control changed.
    pub fn trading_state(&mut self) -> TradingState {
        self.refresh_state();
        self.state
    }

    /// Re-reads the trading state if it changed; a move into `HALTED` sets the pending
    /// halt the driver acts on.
    pub(super) fn refresh_state(&mut self) {
        let generation = self.hub.control.generation();
        if self.seen_generation == Some(generation) {
            return;
        }
        self.seen_generation = Some(generation);
        let (state, reason) = self.hub.control.effective(&self.plugin);
        if state == TradingState::Halted && self.state != TradingState::Halted {
            self.halt_pending = true;
        }
        let flattens = self.hub.control.flatten_count(&self.plugin);
        if flattens != self.seen_flattens {
            self.seen_flattens = flattens;
            self.halt_pending = true;
            self.flatten_pending = true;
        }
        self.state = state;
        self.state_reason = reason;
    }

    /// Whether the plugin has just been halted and its driver must act: cancel open
    /// orders ([`Self::cancel_all`]) and, if `flatten`, close positions
    /// ([`Self::flatten`]). Returns `Some(flatten)` once per halt: `flatten` when the
    /// policy says `halt.flatten` or an operator asked for a flatten.
    pub fn take_halt(&mut self) -> Option<bool> {
        self.refresh_state();
        let flatten = std::mem::take(&mut self.flatten_pending) || self.hub.policy.halt.flatten;
        std::mem::take(&mut self.halt_pending).then_some(flatten)
    }

    /// The event time the driver is at (before it delivers the event).
    pub fn observe_time(&mut self, ts: u64) {
        self.event_ts = Some(ts);
    }

    /// A new callback begins (resets the per-callback order count); called by the sandbox.
    pub fn begin_callback(&mut self, event_ts: Option<u64>) {
        self.flush_suppressed();
        self.flush_cancel_refusals();
        self.orders_this_callback = 0;
        self.refused_this_callback = 0;
        self.cancels_this_callback = 0;
        if event_ts.is_some() {
            self.event_ts = event_ts;
        }
    }

    /// Updates open orders and positions from an order event, before the plugin sees it.
    pub fn on_order_event(&mut self, event: &OrderEvent) {
        match event {
            OrderEvent::Accepted(_) => {}
            OrderEvent::Rejected(e) => self.close_order(&e.order_id),
            OrderEvent::Cancelled(e) => self.close_order(&e.order_id),
            OrderEvent::Filled(f) => {
                let multiplier = self
                    .market
                    .instrument(&f.instrument_id)
                    .map_or(1_000_000_000, |i| i.multiplier.raw);
                self.positions.apply_fill(
                    &f.instrument_id,
                    f.side,
                    f.last_px,
                    f.last_qty,
                    multiplier,
                );
                if let Some(o) = self.open.iter_mut().find(|o| o.id == f.order_id) {
                    let filled = f.last_qty.raw.min(o.remaining);
                    o.remaining -= filled;
                    let (side, done) = (o.side, o.remaining == 0);
                    self.add_pending(&f.instrument_id, side, filled, false);
                    if done {
                        self.close_order(&f.order_id);
                    }
                }
                self.publish();
            }
        }
    }

    /// Marks an order closed so it no longer counts as open.
    pub fn order_closed(&mut self, order_id: &str) {
        self.close_order(order_id);
    }

    fn close_order(&mut self, order_id: &str) {
        self.cancelling.remove(order_id);
        if let Some(pos) = self.open.iter().position(|o| o.id == order_id) {
            let o = self.open.remove(pos);
            self.add_pending(&o.instrument_id, o.side, o.remaining, false);
            self.publish();
        }
    }

    /// Compares the gate's net position in `instrument_id` with the venue's (signed raw).
    /// A difference halts the plugin, is audited and alerts the operator; returns it.
    pub fn reconcile(&mut self, instrument_id: &str, venue_net_raw: i128) -> Option<String> {
        let own = self.positions.net_raw(instrument_id);
        if own == venue_net_raw {
            return None;
        }
        let message = format!(
            "position in {instrument_id}: gate {} but venue {}",
            Amount(own),
            Amount(venue_net_raw)
        );
        let details = serde_json::json!({
            "instrument_id": instrument_id,
            "gate": Amount(own).to_string(),
            "venue": Amount(venue_net_raw).to_string(),
            "event_ts": self.event_ts,
        });
        if let Err(e) = self.hub.audit.append(
            "risk-gate",
            AuditAction::PositionMismatch,
            &self.subject,
            details,
        ) {
            tracing::error!(plugin = %self.plugin, "position mismatch not audited: {e}");
        }
        self.hub.control.alert(&Alert {
            kind: "position-mismatch".to_string(),
            subject: self.plugin.clone(),
            message: message.clone(),
            actor: "risk-gate".to_string(),
            event_ts: self.event_ts,
        });
        self.auto_halt(&Scope::Plugin(self.plugin.clone()), &message);
        Some(message)
    }

    fn auto_halt(&mut self, scope: &Scope, reason: &str) {
        // A host-wide breach stops the whole host: in a service, every deployment.
        let control = match scope {
            Scope::All => self.hub.control.root(),
            Scope::Plugin(_) => &self.hub.control,
        };
        if let Err(e) = control.halt(scope, reason, "risk-gate", self.event_ts) {
            tracing::error!(plugin = %self.plugin, "automatic halt: {e}");
        }
        self.refresh_state();
    }

    /// Values the plugin's positions at the current marks, updates the host-wide book and
    /// halts on a daily-loss or drawdown breach (the plugin's, or the host's: then all).
    /// Call after each market event and fill; free when the policy has no money limits.
    pub fn mark_to_market(&mut self) {
        if !self.uses_money {
            return;
        }
        let Some(ts) = self.event_ts else { return };
        let pnl = self.pnl();
        let (daily, drawdown) = self.marks.update(pnl, ts);
        let breach = match (self.limits.max_daily_loss, self.limits.max_drawdown) {
            (Some(max), _) if daily > max.0 => Some(format!(
                "daily loss {} {} above max_daily_loss {max}",
                Amount(daily),
                self.hub.policy.currency
            )),
            (_, Some(max)) if drawdown > max.0 => Some(format!(
                "drawdown {} {} above max_drawdown {max}",
                Amount(drawdown),
                self.hub.policy.currency
            )),
            _ => None,
        };
        if let Some(reason) = breach
            && self.trading_state() != TradingState::Halted
        {
            self.auto_halt(&Scope::Plugin(self.plugin.clone()), &reason);
        }
        let host_breach = self.publish_marks(ts);
        if let Some(reason) = host_breach
            && self.hub.control.root().state_of(&Scope::All) != TradingState::Halted
        {
            self.auto_halt(&Scope::All, &reason);
        }
    }

    /// Realized + unrealized PnL in the policy currency (instruments without a mark or a
    /// rate count their realized part only).
    fn pnl(&self) -> i128 {
        let policy = &self.hub.policy;
        let mut total: i128 = 0;
        for (id, qty, avg, realized) in self.positions.iter() {
            let Some(info) = self.market.instrument(id) else {
                continue;
            };
            let Some(rate) = policy.rate(&info.quote_currency) else {
                continue;
            };
            let multiplier = i128::from(info.multiplier.raw.max(1));
            let mut local = realized;
            if qty != 0
                && let Some(mid) = checks::mid(self.market.as_ref(), id)
            {
                let per_unit = mid - avg;
                local += super::positions::mul_scaled(
                    super::positions::mul_scaled(per_unit, qty),
                    multiplier,
                );
            }
            total = total.saturating_add(super::positions::mul_scaled(local, rate.0));
        }
        total
    }

    /// The plugin's figures as the book sees them.
    fn figures(&self) -> PluginFigures {
        PluginFigures {
            gross_exposure: checks::gross_exposure(
                &self.hub.policy,
                self.market.as_ref(),
                &self.positions,
                None,
            )
            .unwrap_or(0),
            open_orders: u32::try_from(self.open.len()).unwrap_or(u32::MAX),
            pnl: self.marks.pnl,
        }
    }

    /// Writes this plugin's figures into the host-wide book.
    pub(super) fn publish(&self) {
        let figures = self.figures();
        self.hub
            .book()
            .plugins
            .insert(self.book_key.clone(), figures);
    }

    /// Publishes and checks the host-wide daily loss and drawdown; returns a breach.
    fn publish_marks(&self, ts: u64) -> Option<String> {
        let figures = self.figures();
        let global = &self.hub.policy.global;
        let currency = &self.hub.policy.currency;
        let mut book = self.hub.book();
        book.plugins.insert(self.book_key.clone(), figures);
        let total = book.others("").pnl;
        let day = ts / (86_400 * SECOND_NS);
        if book.day != Some(day) {
            book.day = Some(day);
            book.day_start_pnl = total;
        }
        book.peak_pnl = book.peak_pnl.max(total);
        let daily = book.day_start_pnl - total;
        let drawdown = book.peak_pnl - total;
        match (global.max_daily_loss, global.max_drawdown) {
            (Some(max), _) if daily > max.0 => Some(format!(
                "host-wide daily loss {} {currency} above max_daily_loss {max}",
                Amount(daily)
            )),
            (_, Some(max)) if drawdown > max.0 => Some(format!(
                "host-wide drawdown {} {currency} above max_drawdown {max}",
                Amount(drawdown)
            )),
            _ => None,
        }
    }

    /// Event times of this plugin's accepted orders within the last second.
    pub(super) fn prune_recent(&mut self, now: u64) {
        while self
            .recent
            .front()
            .is_some_and(|t| t.saturating_add(SECOND_NS) <= now)
        {
            self.recent.pop_front();
        }
    }

    /// Raw quantity open in (buy, sell) orders of `instrument_id`.
    #[must_use]
    pub fn pending(&self, instrument_id: &str) -> (u64, u64) {
        self.pending.get(instrument_id).copied().unwrap_or_default()
    }

    pub(super) fn add_pending(
        &mut self,
        instrument_id: &str,
        side: OrderSide,
        raw: u64,
        add: bool,
    ) {
        let entry = if let Some(e) = self.pending.get_mut(instrument_id) {
            e
        } else {
            self.pending.entry(instrument_id.to_string()).or_default()
        };
        let slot = match side {
            OrderSide::Buy => &mut entry.0,
            OrderSide::Sell => &mut entry.1,
        };
        *slot = if add {
            slot.saturating_add(raw)
        } else {
            slot.saturating_sub(raw)
        };
    }
}

impl RiskGateState {
    /// Takes over `from`'s trading book (a hot-swap): the order router (so client order
    /// ids continue), open orders, positions, P&L marks, rate window, decision counts and
    /// trading state. This state keeps the new version's identity, grant and limits; every
    /// open order and position must fit its instrument grant. Nothing moves unless all fit.
    pub(super) fn take_over_session(&mut self, from: &mut Self) -> Result<(), String> {
        let instruments = from.open.iter().map(|o| o.instrument_id.as_str()).chain(
            from.positions
                .iter()
                .filter(|(_, qty, ..)| *qty != 0)
                .map(|(id, ..)| id),
        );
        for id in instruments {
            if !self.granted {
                return Err(format!(
                    "the running version has orders or a position in `{id}` but the new version holds no risk-gate grant"
                ));
            }
            if !crate::capabilities::contract::in_scope(self.instruments.as_ref(), id) {
                return Err(format!(
                    "the running version has orders or a position in `{id}`, outside the new version's risk-gate grant"
                ));
            }
        }
        std::mem::swap(&mut self.router, &mut from.router);
        self.open = std::mem::take(&mut from.open);
        self.positions = std::mem::take(&mut from.positions);
        self.counts = std::mem::take(&mut from.counts);
        self.pending = std::mem::take(&mut from.pending);
        self.marks = std::mem::take(&mut from.marks);
        self.recent = std::mem::take(&mut from.recent);
        self.state = from.state;
        self.state_reason = std::mem::take(&mut from.state_reason);
        self.seen_generation = from.seen_generation;
        self.halt_pending = std::mem::take(&mut from.halt_pending);
        self.seen_flattens = from.seen_flattens;
        self.flatten_pending = std::mem::take(&mut from.flatten_pending);
        self.suppressed = std::mem::take(&mut from.suppressed);
        self.cancelling = std::mem::take(&mut from.cancelling);
        self.cancel_counts = std::mem::take(&mut from.cancel_counts);
        self.cancels_suppressed = std::mem::take(&mut from.cancels_suppressed);
        self.event_ts = from.event_ts;
        Ok(())
    }
}
