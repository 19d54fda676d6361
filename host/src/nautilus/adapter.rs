//! The Nautilus `Strategy` that drives one sandboxed component.
//!
//! Nautilus → plugin: quotes, bars and trades the plugin subscribed to (through its
//! market-data capability) are converted exactly (see [`super::convert`]) and delivered on
//! the plugin's own stream ids; order events of its own orders become `on-order-event`.
//! Plugin → Nautilus: the only way is the risk gate. Intents it accepts are queued by the
//! [`NautilusRouter`] and submitted here, through Nautilus's order factory and
//! `Strategy::submit_order`, right after the callback returns; Nautilus's `RiskEngine`
//! then applies its own checks. Position queries are answered from Nautilus's cache.
//!
//! A fault quarantines the instance (audited by the sandbox); the adapter then cancels the
//! plugin's open orders and delivers nothing more. Neighbours are unaffected.

use std::{cell::RefCell, fmt, rc::Rc};

use nautilus_common::actor::DataActor;
use nautilus_model::{
    data::{Bar as NBar, BarType as NBarType, Data, QuoteTick as NQuote, TradeTick as NTrade},
    enums::PositionSide as NPositionSide,
    events::{
        OrderAccepted, OrderCancelRejected, OrderCanceled, OrderDenied, OrderExpired, OrderFilled,
        OrderRejected,
    },
    identifiers::{ClientOrderId, InstrumentId as NInstrumentId, StrategyId},
    orders::Order,
};
use nautilus_trading::{
    nautilus_strategy,
    strategy::{StrategyConfig, StrategyCore},
};

mod orders;
mod swap;

use super::{
    convert,
    hotswap::{AdapterEvent, SwapPoint},
    indicators::IndicatorBank,
    router::PendingQueue,
};
use crate::{
    bindings::types::{
        OrderAccepted as WAccepted, OrderCancelled, OrderEvent, OrderFilled as WFilled,
        OrderRejected as WRejected,
    },
    capabilities::{Instance, market_data::Subscription},
    catalog::InstrumentTable,
    sandbox::CallError,
    signals::{
        nautilus::SignalData,
        router::{Consumer, DeliveryError},
    },
};

/// Signals one plugin received, and those it should have received but could not (its
/// dead letters: quarantined or faulting on delivery).
#[derive(Debug, Clone, Default)]
pub struct SignalTally {
    pub received: u64,
    pub dead_letters: Vec<DeadDelivery>,
}

/// A signal the plugin was entitled to but did not get.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeadDelivery {
    pub seq: i64,
    pub signal_id: String,
    pub reason: String,
}

/// A tally shared between an adapter and the runner.
pub type SharedTally = Rc<RefCell<SignalTally>>;

/// A component instance shared between its adapter (inside Nautilus) and the runner, which
/// reads its profile, gate counts and fault after the run.
pub type SharedInstance = Rc<RefCell<Instance>>;

/// Stream ids of the plugin's subscriptions, keyed by Nautilus identifiers so the hot path
/// needs no string work.
#[derive(Debug, Default)]
struct Streams {
    quotes: Vec<(NInstrumentId, u32, String)>,
    bars: Vec<(NBarType, u32, crate::bindings::types::BarType)>,
    trades: Vec<(NInstrumentId, u32)>,
    /// The subscriptions of the capability these reflect.
    synced: Vec<Subscription>,
}

/// Whether the plugin's subscriptions differ from those the streams reflect, as sets: an
/// unsubscribe and a subscribe in one callback leave the count alone but change the set
/// (and a new subscription always gets a new stream id). Stream ids are unique, so equal
/// sizes and one side inside the other mean equal sets.
fn subscriptions_changed(synced: &[Subscription], now: &[Subscription]) -> bool {
    synced.len() != now.len() || !now.iter().all(|s| synced.contains(s))
}

/// One plugin as a Nautilus strategy.
pub struct ComponentStrategy {
    core: StrategyCore,
    id: StrategyId,
    instance: SharedInstance,
    queue: PendingQueue,
    market: std::sync::Arc<InstrumentTable>,
    streams: Streams,
    /// The Nautilus indicators the plugin registered on its streams.
    indicators: IndicatorBank,
    /// A resumed session's market events from before the crash: fed to the registered
    /// indicators once the plugin has registered them again (`on_start`), so they resume
    /// exactly as warm as they were (the same inputs in the same order).
    warm_up: Vec<Data>,
    /// Subscriptions that named something Nautilus cannot represent.
    unusable: Vec<String>,
    signals: SharedTally,
    /// Hot-swap mailbox, probation and event sink (paper sessions; `None` in backtests).
    swap: Option<SwapPoint>,
    /// Market events (quotes, bars, trades) handed to a guest that handled them.
    delivered: std::rc::Rc<std::cell::Cell<u64>>,
    /// Signals that reached the adapter (delivered to the guest or not).
    signals_seen: std::rc::Rc<std::cell::Cell<u64>>,
    /// Orders a resumed live session made to put the checkpointed position back in
    /// Nautilus's cache: neither the gate (restored from the same checkpoint) nor the guest
    /// hears of them.
    seeded: std::collections::HashSet<ClientOrderId>,
}

impl fmt::Debug for ComponentStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ComponentStrategy")
            .field("strategy_id", &self.core.config.strategy_id)
            .field("streams", &self.streams)
            .finish_non_exhaustive()
    }
}

nautilus_strategy!(ComponentStrategy, {
    fn on_order_accepted(&mut self, e: OrderAccepted) {
        let event = OrderEvent::Accepted(WAccepted {
            order_id: e.client_order_id.to_string(),
            instrument_id: e.instrument_id.to_string(),
            ts_event: e.ts_event.as_u64(),
        });
        self.order_event(&event, false, None);
    }

    fn on_order_rejected(&mut self, e: OrderRejected) {
        let event = rejected(
            e.client_order_id,
            &e.instrument_id.to_string(),
            e.reason.as_str(),
            e.ts_event.as_u64(),
        );
        self.order_event(&event, true, None);
    }

    fn on_order_denied(&mut self, e: OrderDenied) {
        let reason = format!("denied by Nautilus RiskEngine: {}", e.reason);
        let event = rejected(
            e.client_order_id,
            &e.instrument_id.to_string(),
            &reason,
            e.ts_event.as_u64(),
        );
        self.order_event(&event, true, None);
    }

    fn on_order_cancel_rejected(&mut self, e: OrderCancelRejected) {
        // The order stays open: the gate forgets the pending cancel so the plugin may ask
        // again (a repeated cancel is otherwise answered from the gate's state).
        self.cancel_refused(e.client_order_id.as_str());
    }

    fn on_order_expired(&mut self, e: OrderExpired) {
        let event = OrderEvent::Cancelled(OrderCancelled {
            order_id: e.client_order_id.to_string(),
            instrument_id: e.instrument_id.to_string(),
            ts_event: e.ts_event.as_u64(),
        });
        self.order_event(&event, true, None);
    }
});

/// `strategy`'s net position in `instrument_id` in Nautilus's cache (signed raw, the gate's
/// scale).
pub(crate) fn venue_net(
    cache: &nautilus_common::cache::Cache,
    strategy: StrategyId,
    instrument_id: NInstrumentId,
) -> i128 {
    cache
        .positions_open(None, Some(&instrument_id), Some(&strategy), None, None)
        .iter()
        .map(|p| {
            let sign = match p.side {
                NPositionSide::Long => 1,
                NPositionSide::Short => -1,
                _ => 0,
            };
            sign * i128::from(p.quantity.raw)
        })
        .sum()
}

fn rejected(id: ClientOrderId, instrument: &str, reason: &str, ts: u64) -> OrderEvent {
    OrderEvent::Rejected(WRejected {
        order_id: id.to_string(),
        instrument_id: instrument.to_string(),
        reason: reason.to_string(),
        ts_event: ts,
    })
}

impl ComponentStrategy {
    /// A strategy with id `strategy_id` driving `instance`, whose router feeds `queue`.
    #[must_use]
    pub fn new(
        strategy_id: StrategyId,
        instance: SharedInstance,
        queue: PendingQueue,
        market: std::sync::Arc<InstrumentTable>,
        signals: SharedTally,
    ) -> Self {
        let tag = strategy_id.get_tag().to_string();
        let config = StrategyConfig {
            strategy_id: Some(strategy_id),
            order_id_tag: Some(tag),
            ..StrategyConfig::default()
        };
        Self {
            core: StrategyCore::new(config),
            id: strategy_id,
            instance,
            queue,
            market,
            streams: Streams::default(),
            indicators: IndicatorBank::default(),
            warm_up: Vec::new(),
            unusable: Vec::new(),
            signals,
            swap: None,
            delivered: std::rc::Rc::default(),
            signals_seen: std::rc::Rc::default(),
            seeded: std::collections::HashSet::new(),
        }
    }

    /// Orders whose events the adapter ignores: those a resumed session made to restore the
    /// checkpointed position (`super::live::seed`).
    #[must_use]
    pub fn with_seeded_orders(mut self, ids: impl IntoIterator<Item = ClientOrderId>) -> Self {
        self.seeded.extend(ids);
        self
    }

    /// The market events a resumed session delivered before its checkpoint: the registered
    /// indicators are rebuilt from them at start (the guest does not see them again).
    #[must_use]
    pub fn with_warm_up(mut self, events: Vec<Data>) -> Self {
        self.warm_up = events;
        self
    }

    /// Feeds the warm-up events to the registered indicators of the streams they belong to.
    fn warm_indicators(&mut self) {
        let events = std::mem::take(&mut self.warm_up);
        let mut fed = 0usize;
        for event in &events {
            let values = match event {
                Data::Quote(q) => self
                    .streams
                    .quotes
                    .iter()
                    .find(|(id, ..)| *id == q.instrument_id)
                    .and_then(|&(_, stream, _)| self.indicators.on_quote(stream, q)),
                Data::Bar(b) => self
                    .streams
                    .bars
                    .iter()
                    .find(|(t, ..)| *t == b.bar_type)
                    .and_then(|&(_, stream, _)| self.indicators.on_bar(stream, b)),
                Data::Trade(t) => self
                    .streams
                    .trades
                    .iter()
                    .find(|(id, _)| *id == t.instrument_id)
                    .and_then(|&(_, stream)| self.indicators.on_trade(stream, t)),
                _ => None,
            };
            if let Some(v) = values {
                self.indicators.give_back(v);
                fed += 1;
            }
        }
        if fed > 0 {
            tracing::info!(strategy = %self.strategy_id(), "registered indicators rebuilt from {fed} events before the checkpoint");
        }
    }

    /// A counter of signals that reached the adapter (shared, readable while it runs).
    #[must_use]
    pub fn signals_seen_counter(&self) -> std::rc::Rc<std::cell::Cell<u64>> {
        std::rc::Rc::clone(&self.signals_seen)
    }

    /// Equips the adapter for hot-swaps and event reporting.
    #[must_use]
    pub fn with_swap(mut self, point: SwapPoint) -> Self {
        self.swap = Some(point);
        self
    }

    /// A counter of market events the guest handled (shared, readable after the run).
    #[must_use]
    pub fn delivered_counter(&self) -> std::rc::Rc<std::cell::Cell<u64>> {
        std::rc::Rc::clone(&self.delivered)
    }

    fn strategy_id(&self) -> StrategyId {
        self.id
    }

    /// Calls the guest unless it is quarantined, then does the after-callback work. A halt
    /// (operator or automatic) is acted on first: the gate cancels the plugin's open orders
    /// and, if the policy says so, closes its positions, before the event is delivered.
    fn call(&mut self, f: impl Fn(&mut Instance) -> Result<(), CallError>) -> bool {
        self.poll_swap();
        self.act_on_halt();
        let result = {
            let mut instance = self.instance.borrow_mut();
            if instance.is_quarantined() {
                return false;
            }
            f(&mut instance)
        };
        let result = match result {
            Err(CallError::Faulted(record)) if self.on_probation() => {
                self.emit_fault(&record);
                if self.roll_back(&record.to_string(), record.event_ts) {
                    // The previous version takes the event the new one faulted on.
                    f(&mut self.instance.borrow_mut())
                } else {
                    Err(CallError::Faulted(record))
                }
            }
            Ok(()) => {
                self.probation_passed_event();
                Ok(())
            }
            other => other,
        };
        let ok = result.is_ok();
        self.after_callback(result);
        ok
    }

    /// The venue (or Nautilus) refused a cancel: the order is cancellable again.
    fn cancel_refused(&mut self, client_order_id: &str) {
        self.instance
            .borrow_mut()
            .host_mut()
            .risk_gate
            .cancel_refused_by_venue(client_order_id);
    }

    /// Values the plugin's positions at the new market (daily-loss / drawdown halts).
    fn mark(&mut self, ts: u64) {
        let mut instance = self.instance.borrow_mut();
        let gate = &mut instance.host_mut().risk_gate;
        gate.observe_time(ts);
        gate.mark_to_market();
    }

    fn act_on_halt(&mut self) {
        let acted = {
            let mut instance = self.instance.borrow_mut();
            let gate = &mut instance.host_mut().risk_gate;
            gate.take_halt().map(|flatten| {
                gate.cancel_all();
                if flatten {
                    gate.flatten();
                }
            })
        };
        if acted.is_some() {
            self.submit_pending();
        }
    }

    /// After every callback: follow new subscriptions, submit what the gate accepted.
    fn after_callback(&mut self, result: Result<(), CallError>) {
        if let Err(CallError::Faulted(record)) = result {
            tracing::warn!(strategy = %self.strategy_id(), "{record}; cancelling its open orders");
            self.emit_fault(&record);
            self.on_fault();
            return;
        }
        let changed = {
            let instance = self.instance.borrow();
            let market = &instance.host().market_data;
            let generation = market.indicator_generation();
            if !self.indicators.is_current(generation) {
                self.indicators.sync(market.indicators(), generation);
            }
            subscriptions_changed(&self.streams.synced, market.subscriptions())
        };
        if changed {
            self.sync_subscriptions();
        }
        if !self.queue.is_empty() {
            self.submit_pending();
        }
    }

    /// The instance just faulted: nothing it queued is sent, its open orders are cancelled.
    fn on_fault(&mut self) {
        self.queue.drain();
        self.instance.borrow_mut().host_mut().risk_gate.cancel_all();
        self.submit_pending();
    }

    /// Delivers a signal the plugin is granted and subscribed to; one it cannot receive
    /// (quarantined, or faulting on it) becomes a dead letter of this plugin.
    fn deliver_signal(&mut self, data: &SignalData) {
        if !Consumer::wants(&*self.instance.borrow(), &data.signal) {
            return;
        }
        self.poll_swap();
        self.act_on_halt();
        let deliver = |this: &Self| {
            let mut instance = this.instance.borrow_mut();
            let before = instance.is_quarantined();
            let r = Consumer::deliver(&mut *instance, &data.signal);
            (r, !before && instance.is_quarantined())
        };
        let (mut result, mut faulted_now) = deliver(self);
        if faulted_now && self.on_probation() {
            let ts = Some(self.core.clock().timestamp_ns().as_u64());
            let reason = match &result {
                Err(DeliveryError::Permanent(r) | DeliveryError::Transient(r)) => r.clone(),
                Ok(()) => "fault on signal delivery".to_string(),
            };
            if self.roll_back(&reason, ts) {
                (result, faulted_now) = deliver(self);
            }
        } else if result.is_ok() {
            self.probation_passed_event();
        }
        if let Some(point) = &self.swap {
            point.emit(AdapterEvent::SignalDelivery {
                signal_id: data.signal.signal_id.clone(),
                seq: data.seq,
                delivered: result.is_ok(),
                reason: match &result {
                    Ok(()) => None,
                    Err(DeliveryError::Permanent(r) | DeliveryError::Transient(r)) => {
                        Some(r.clone())
                    }
                },
                event_ts: Some(self.core.clock().timestamp_ns().as_u64()),
            });
        }
        match result {
            Ok(()) => {
                self.signals.borrow_mut().received += 1;
                self.after_callback(Ok(()));
            }
            Err(DeliveryError::Permanent(reason) | DeliveryError::Transient(reason)) => {
                self.signals.borrow_mut().dead_letters.push(DeadDelivery {
                    seq: data.seq,
                    signal_id: data.signal.signal_id.clone(),
                    reason,
                });
                if faulted_now {
                    self.on_fault();
                }
            }
        }
    }

    fn sync_subscriptions(&mut self) {
        let subs = self
            .instance
            .borrow()
            .host()
            .market_data
            .subscriptions()
            .to_vec();
        let mut streams = Streams {
            synced: subs.clone(),
            ..Streams::default()
        };
        for sub in &subs {
            match sub {
                Subscription::Quotes {
                    stream,
                    instrument_id,
                } => match instrument_id.parse::<NInstrumentId>() {
                    Ok(id) => {
                        if !self.streams.quotes.iter().any(|(i, ..)| *i == id) {
                            self.subscribe_quotes(id, None, None);
                        }
                        streams.quotes.push((id, *stream, instrument_id.clone()));
                    }
                    Err(_) => self.unusable.push(format!("quotes of `{instrument_id}`")),
                },
                Subscription::Trades {
                    stream,
                    instrument_id,
                } => match instrument_id.parse::<NInstrumentId>() {
                    Ok(id) => {
                        if !self.streams.trades.iter().any(|(i, _)| *i == id) {
                            self.subscribe_trades(id, None, None);
                        }
                        streams.trades.push((id, *stream));
                    }
                    Err(_) => self.unusable.push(format!("trades of `{instrument_id}`")),
                },
                Subscription::Bars { stream, bar_type } => match convert::to_bar_type(bar_type) {
                    Some(bt) => {
                        if !self.streams.bars.iter().any(|(b, ..)| *b == bt) {
                            self.subscribe_bars(bt, None, None);
                        }
                        streams.bars.push((bt, *stream, bar_type.clone()));
                    }
                    None => self.unusable.push(format!("bars {bar_type:?}")),
                },
            }
        }
        self.streams = streams;
    }

    /// Updates the gate from `event`, then delivers it. `closes` marks a terminal event;
    /// `venue_net` is, after a fill, the venue's net position the gate must agree with.
    fn order_event(&mut self, event: &OrderEvent, closes: bool, venue_net: Option<i128>) {
        if !self.seeded.is_empty() && self.seeded.contains(&ClientOrderId::new(order_id(event))) {
            return;
        }
        self.poll_swap();
        {
            // The book is updated once, whichever version then hears of the event.
            let mut i = self.instance.borrow_mut();
            if !i.is_quarantined() {
                let gate = &mut i.host_mut().risk_gate;
                gate.on_order_event(event);
                if closes {
                    gate.order_closed(order_id(event));
                }
                if let (Some(net), OrderEvent::Filled(f)) = (venue_net, event) {
                    gate.reconcile(&f.instrument_id, net);
                    gate.mark_to_market();
                }
            }
        }
        self.call(|i| i.on_order_event(event));
    }

    /// The strategy's net position in `instrument_id` in Nautilus's cache (signed raw).
    fn venue_net(&self, instrument_id: NInstrumentId) -> i128 {
        venue_net(&self.cache(), self.strategy_id(), instrument_id)
    }

    fn deliver_quote(&mut self, q: &NQuote) {
        let Some((_, stream, name)) = self
            .streams
            .quotes
            .iter()
            .find(|(id, ..)| *id == q.instrument_id)
        else {
            return;
        };
        let wq = convert::quote(q, *stream);
        self.market.observe_quote(name, wq);
        self.mark(wq.ts_event);
        let delivered = match self.indicators.on_quote(wq.stream, q) {
            None => self.call(|i| i.on_quote(wq)),
            Some(v) => {
                let delivered = self.call(|i| i.on_quote_with(wq, &v.values, v.charge));
                self.indicators.give_back(v);
                delivered
            }
        };
        if delivered {
            self.delivered.set(self.delivered.get() + 1);
        }
    }
}

fn order_id(event: &OrderEvent) -> &str {
    match event {
        OrderEvent::Accepted(e) => &e.order_id,
        OrderEvent::Rejected(e) => &e.order_id,
        OrderEvent::Filled(e) => &e.order_id,
        OrderEvent::Cancelled(e) => &e.order_id,
    }
}

impl DataActor for ComponentStrategy {
    fn on_start(&mut self) -> anyhow::Result<()> {
        // Every adapter listens to the signal topic; what reaches the plugin is decided per
        // signal by its grant and subscriptions (`deliver_signal`).
        self.subscribe_data(crate::signals::nautilus::data_type(), None, None);
        let result = self.instance.borrow_mut().on_start();
        self.after_callback(result);
        if !self.warm_up.is_empty() {
            self.warm_indicators();
        }
        if !self.unusable.is_empty() {
            tracing::warn!(strategy = %self.strategy_id(), "unusable subscriptions: {}", self.unusable.join(", "));
        }
        Ok(())
    }

    fn on_stop(&mut self) -> anyhow::Result<()> {
        self.call(Instance::on_stop);
        Ok(())
    }

    fn on_quote(&mut self, quote: &NQuote) -> anyhow::Result<()> {
        self.deliver_quote(quote);
        Ok(())
    }

    fn on_bar(&mut self, bar: &NBar) -> anyhow::Result<()> {
        let Some((_, stream, wit_type)) =
            self.streams.bars.iter().find(|(b, ..)| *b == bar.bar_type)
        else {
            return Ok(());
        };
        let wb = convert::bar(bar, *stream);
        self.market.observe_bar(wit_type, wb);
        self.mark(wb.ts_event);
        let delivered = match self.indicators.on_bar(wb.stream, bar) {
            None => self.call(|i| i.on_bar(wb)),
            Some(v) => {
                let delivered = self.call(|i| i.on_bar_with(wb, &v.values, v.charge));
                self.indicators.give_back(v);
                delivered
            }
        };
        if delivered {
            self.delivered.set(self.delivered.get() + 1);
        }
        Ok(())
    }

    fn on_trade(&mut self, trade: &NTrade) -> anyhow::Result<()> {
        let Some(&(_, stream)) = self
            .streams
            .trades
            .iter()
            .find(|(id, _)| *id == trade.instrument_id)
        else {
            return Ok(());
        };
        let wt = convert::trade(trade, stream);
        let delivered = match self.indicators.on_trade(stream, trade) {
            None => self.call(|i| i.on_trade(&wt)),
            Some(v) => {
                let delivered = self.call(|i| i.on_trade_with(&wt, &v.values, v.charge));
                self.indicators.give_back(v);
                delivered
            }
        };
        if delivered {
            self.delivered.set(self.delivered.get() + 1);
        }
        Ok(())
    }

    fn on_data(&mut self, data: &nautilus_model::data::CustomData) -> anyhow::Result<()> {
        if let Some(signal) = data.data.as_any().downcast_ref::<SignalData>() {
            self.signals_seen.set(self.signals_seen.get() + 1);
            self.deliver_signal(signal);
        }
        Ok(())
    }

    fn on_order_filled(&mut self, e: &OrderFilled) -> anyhow::Result<()> {
        if self.seeded.contains(&e.client_order_id) {
            return Ok(());
        }
        let name = e.instrument_id.to_string();
        let Some(side) = convert::side(e.order_side) else {
            return Ok(());
        };
        let venue_net = self.venue_net(e.instrument_id);
        let closed = self
            .cache()
            .order(&e.client_order_id)
            .is_some_and(|o| o.is_closed());
        if let Some(point) = &self.swap {
            point.emit(AdapterEvent::Fill {
                order_id: e.client_order_id.to_string(),
                instrument_id: name.clone(),
                side: format!("{:?}", e.order_side).to_uppercase(),
                price: e.last_px.to_string(),
                quantity: e.last_qty.to_string(),
                ts_event: e.ts_event.as_u64(),
            });
        }
        let event = OrderEvent::Filled(WFilled {
            order_id: e.client_order_id.to_string(),
            instrument_id: name,
            side,
            last_px: convert::price(e.last_px),
            last_qty: convert::quantity(e.last_qty),
            ts_event: e.ts_event.as_u64(),
        });
        self.order_event(&event, closed, Some(venue_net));
        Ok(())
    }

    fn on_order_canceled(&mut self, e: &OrderCanceled) -> anyhow::Result<()> {
        let event = OrderEvent::Cancelled(OrderCancelled {
            order_id: e.client_order_id.to_string(),
            instrument_id: e.instrument_id.to_string(),
            ts_event: e.ts_event.as_u64(),
        });
        self.order_event(&event, true, None);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{Subscription, subscriptions_changed};

    fn quotes(stream: u32, id: &str) -> Subscription {
        Subscription::Quotes {
            stream,
            instrument_id: id.to_string(),
        }
    }

    #[test]
    fn subscriptions_are_compared_as_sets_not_counted() {
        let before = [quotes(0, "GBP/USD.FXCM")];
        assert!(!subscriptions_changed(&before, &before));
        // Unsubscribed from one and subscribed to another in the same callback: same count.
        assert!(subscriptions_changed(&before, &[quotes(1, "EUR/USD.SIM")]));
        // The same instrument again, on a new stream.
        assert!(subscriptions_changed(&before, &[quotes(1, "GBP/USD.FXCM")]));
        assert!(subscriptions_changed(&before, &[]));
        let two = [quotes(0, "GBP/USD.FXCM"), quotes(1, "EUR/USD.SIM")];
        let swapped = [quotes(1, "EUR/USD.SIM"), quotes(0, "GBP/USD.FXCM")];
        assert!(
            !subscriptions_changed(&two, &swapped),
            "order does not matter"
        );
    }
}
