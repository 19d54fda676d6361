//! Replay: drive sandboxed plugins with a recorded event stream, without Nautilus.
//!
//! Each plugin gets only the events it subscribed to, in time order, on its own stream ids;
//! accepted orders go to a [`RecordingRouter`]. Used by the fault-isolation tests (a
//! well-behaved plugin must see exactly the same callbacks and make exactly the same
//! decisions beside a hostile one as alone) and by `stratbox bench callback`. Backtests
//! run through Nautilus instead.

mod router;

use std::sync::Arc;

use serde::Serialize;
use stratbox_manifest::ParamValue;

pub use router::{OrderLog, RecordedOrder, RecordingRouter};

use crate::{
    audit::AuditLog,
    bindings::types::{Bar, QuoteTick, TradeTick},
    capabilities::{self, Instance, PluginEnv, risk_gate::RiskHub},
    catalog::{
        Checks, DataError, Instrument, InstrumentTable, MarketEvent, Source, fxcm,
        instrument_defs::Instruments,
    },
    nautilus::{convert, indicators::IndicatorBank},
    sandbox::{CallError, Callback, FaultRecord, InstantiateError, PluginComponent, SandboxEngine},
};

/// One callback delivered to a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Delivery {
    pub callback: Callback,
    pub stream: u32,
    pub ts_event: u64,
}

/// A plugin under replay: its instance, what it was sent, what it ordered.
#[derive(Debug)]
pub struct ReplayPlugin {
    pub instance: Instance,
    pub orders: OrderLog,
    pub deliveries: Vec<Delivery>,
    /// The Nautilus indicators the plugin registered, updated before each event.
    indicators: IndicatorBank,
}

impl ReplayPlugin {
    /// Instantiates `component` against `market` with a recording router and a risk gate
    /// without policy limits (the contract's checks only).
    pub fn new(
        engine: &SandboxEngine,
        component: &PluginComponent,
        market: Arc<InstrumentTable>,
        params: &[(String, ParamValue)],
        audit: &AuditLog,
    ) -> Result<Self, InstantiateError> {
        let risk = RiskHub::permissive(audit.clone());
        Self::with_risk(engine, component, market, params, audit, risk)
    }

    /// As [`Self::new`], with the gate answering to `risk` (policy, trading states).
    pub fn with_risk(
        engine: &SandboxEngine,
        component: &PluginComponent,
        market: Arc<InstrumentTable>,
        params: &[(String, ParamValue)],
        audit: &AuditLog,
        risk: Arc<RiskHub>,
    ) -> Result<Self, InstantiateError> {
        let (router, orders) = RecordingRouter::new(&component.manifest().name);
        let env = PluginEnv {
            market,
            router: Box::new(router),
            risk,
        };
        let instance = capabilities::instantiate(engine, component, env, params, audit)?;
        Ok(Self {
            instance,
            orders,
            deliveries: Vec::new(),
            indicators: IndicatorBank::default(),
        })
    }

    /// Delivers `event` if this plugin subscribed to it. Returns the fault if this call
    /// faulted; a quarantined plugin receives nothing.
    pub fn deliver(&mut self, event: &MarketEvent) -> Option<FaultRecord> {
        if self.instance.is_quarantined() {
            return None;
        }
        // Registrations made in a callback (`on_start` too, whoever called it) are followed
        // before the next event, so no event of their stream is missed.
        self.follow_indicators();
        let md = &self.instance.host().market_data;
        let bank = &mut self.indicators;
        let result = match event {
            MarketEvent::Bar { bar_type, bar } => {
                let stream = md.bar_stream(bar_type)?;
                self.deliveries.push(Delivery {
                    callback: Callback::OnBar,
                    stream,
                    ts_event: bar.ts_event,
                });
                let bar = Bar { stream, ..*bar };
                // Converted to Nautilus's types only for a stream with indicators.
                let values = bank
                    .has(stream)
                    .then(|| convert::to_bar_type(bar_type))
                    .flatten()
                    .and_then(|t| bank.on_bar(stream, &convert::to_bar(t, &bar)));
                match values {
                    None => self.instance.on_bar(bar),
                    Some(v) => {
                        let r = self.instance.on_bar_with(bar, &v.values, v.charge);
                        bank.give_back(v);
                        r
                    }
                }
            }
            MarketEvent::Quote {
                instrument_id,
                quote,
            } => {
                let stream = md.quote_stream(instrument_id)?;
                self.deliveries.push(Delivery {
                    callback: Callback::OnQuote,
                    stream,
                    ts_event: quote.ts_event,
                });
                let quote = QuoteTick { stream, ..*quote };
                let values = bank
                    .has(stream)
                    .then(|| instrument_id.parse().ok())
                    .flatten()
                    .and_then(|id| bank.on_quote(stream, &convert::to_quote(id, &quote)));
                match values {
                    None => self.instance.on_quote(quote),
                    Some(v) => {
                        let r = self.instance.on_quote_with(quote, &v.values, v.charge);
                        bank.give_back(v);
                        r
                    }
                }
            }
            MarketEvent::Trade {
                instrument_id,
                trade,
            } => {
                let stream = md.trade_stream(instrument_id)?;
                self.deliveries.push(Delivery {
                    callback: Callback::OnTrade,
                    stream,
                    ts_event: trade.ts_event,
                });
                let trade = TradeTick {
                    stream,
                    ..trade.clone()
                };
                let values = bank
                    .has(stream)
                    .then(|| instrument_id.parse().ok())
                    .flatten()
                    .and_then(|id| convert::to_trade(id, &trade))
                    .and_then(|t| bank.on_trade(stream, &t));
                match values {
                    None => self.instance.on_trade(&trade),
                    Some(v) => {
                        let r = self.instance.on_trade_with(&trade, &v.values, v.charge);
                        bank.give_back(v);
                        r
                    }
                }
            }
        };
        fault_of(result)
    }

    /// Brings the indicator bank in line with the plugin's registrations.
    fn follow_indicators(&mut self) {
        let md = &self.instance.host().market_data;
        if !self.indicators.is_current(md.indicator_generation()) {
            self.indicators
                .sync(md.indicators(), md.indicator_generation());
        }
    }

    /// Runs `on-start` (the indicators it registers are followed before the first event).
    pub fn start(&mut self) -> Option<FaultRecord> {
        fault_of(self.instance.on_start())
    }
}

fn fault_of(result: Result<(), CallError>) -> Option<FaultRecord> {
    match result {
        Err(CallError::Faulted(record)) => Some(*record),
        _ => None,
    }
}

/// Runs `on-start`, every event in order, then `on-stop`, for each plugin in turn per event.
/// Returns the faults that occurred, in order.
pub fn run(
    plugins: &mut [ReplayPlugin],
    market: &InstrumentTable,
    events: &[MarketEvent],
) -> Vec<FaultRecord> {
    let mut faults = Vec::new();
    for p in plugins.iter_mut() {
        faults.extend(p.start());
    }
    for event in events {
        market.observe(event);
        for p in plugins.iter_mut() {
            faults.extend(p.deliver(event));
        }
    }
    for p in plugins.iter_mut() {
        faults.extend(fault_of(p.instance.on_stop()));
    }
    faults
}

/// The FXCM bid/ask minute files `bid` and `ask` in `dir` as replay events for
/// `instrument_id`: per minute the bid bar (`<id>-1-MINUTE-BID-EXTERNAL`), then the quote of
/// the two closes. Values are at the precisions of the bundled instrument definitions
/// (replay's market is the bundled table).
///
/// # Errors
/// An instrument without a bundled definition, or an unreadable or malformed file.
pub fn fxcm_events(
    dir: &cap_std::fs::Dir,
    bid: &str,
    ask: &str,
    instrument_id: &str,
) -> Result<Vec<MarketEvent>, DataError> {
    let defs = Instruments::bundled();
    let instrument = defs
        .nautilus(instrument_id)
        .map(Instrument::of)
        .ok_or_else(|| DataError::UnknownInstrument {
            id: instrument_id.to_string(),
            defined: defs.ids().collect::<Vec<_>>().join(", "),
        })?;
    let minutes = fxcm::minutes(
        &Source::file(dir, bid),
        &Source::file(dir, ask),
        &instrument,
        fxcm::bid_bar_type(instrument.id),
        Checks::Strict,
    )?;
    let mut events = Vec::with_capacity(minutes.bars.len() * 2);
    for (bar, quote) in minutes.bars.into_iter().zip(minutes.quotes) {
        events.extend(convert::market_event(&nautilus_model::data::Data::Bar(bar)));
        events.extend(convert::market_event(&nautilus_model::data::Data::Quote(
            quote,
        )));
    }
    Ok(events)
}
