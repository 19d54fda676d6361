//! Per-instance market-data state: the grant scope and the subscription table.

use std::{collections::BTreeSet, sync::Arc};

use serde::{Deserialize, Serialize};

use super::MarketDataSource;
use crate::bindings::types::{BarType, IndicatorId, IndicatorSpec, InstrumentId, StreamId};

/// Most indicators one instance may register.
pub const MAX_INDICATORS: usize = 32;
/// Longest period of an indicator that keeps a window (Nautilus's `MAX_PERIOD`).
pub const MAX_WINDOW_PERIOD: u32 = 1_024;
/// Longest period of an indicator that keeps no window (EMA, RSI).
pub const MAX_SMOOTHING_PERIOD: u32 = 100_000;

/// One indicator a plugin registered on one of its streams.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Registration {
    pub id: IndicatorId,
    pub stream: StreamId,
    pub spec: IndicatorSpec,
}

impl Registration {
    /// Fuel charged to the plugin's next callback of the stream for updating this
    /// indicator on the host, about what the guest would spend updating it itself: a flat
    /// 50, plus the window Bollinger bands scan for their deviation and the 2 × 1,024
    /// values Nautilus 0.57's Donchian channel scans (decision 0009).
    #[must_use]
    pub fn update_fuel(&self) -> u64 {
        match self.spec {
            IndicatorSpec::Bollinger(b) => 50 + 8 * u64::from(b.period),
            IndicatorSpec::Donchian(_) => 50 + 4 * u64::from(MAX_WINDOW_PERIOD),
            _ => 50,
        }
    }

    /// How many values this indicator hands with each event (1, or 3 for bands).
    #[must_use]
    pub fn outputs(&self) -> usize {
        match self.spec {
            IndicatorSpec::Bollinger(_) | IndicatorSpec::Donchian(_) => 3,
            _ => 1,
        }
    }
}

/// One subscription of a plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Subscription {
    Bars {
        stream: StreamId,
        bar_type: BarType,
    },
    Quotes {
        stream: StreamId,
        instrument_id: InstrumentId,
    },
    Trades {
        stream: StreamId,
        instrument_id: InstrumentId,
    },
}

impl Subscription {
    #[must_use]
    pub fn stream(&self) -> StreamId {
        match self {
            Self::Bars { stream, .. }
            | Self::Quotes { stream, .. }
            | Self::Trades { stream, .. } => *stream,
        }
    }

    /// The instrument the subscription is for.
    #[must_use]
    pub fn instrument_id(&self) -> &InstrumentId {
        match self {
            Self::Bars { bar_type, .. } => &bar_type.instrument_id,
            Self::Quotes { instrument_id, .. } | Self::Trades { instrument_id, .. } => {
                instrument_id
            }
        }
    }
}

/// An instance's subscriptions and registered indicators, with their stream and indicator
/// ids: what a live checkpoint keeps so that a resumed instance finds, on the host, the
/// streams and indicators its restored snapshot refers to (a hot-swap moves them instead,
/// [`MarketDataState::take_over_session`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketSession {
    pub subscriptions: Vec<Subscription>,
    pub next_stream: StreamId,
    pub indicators: Vec<Registration>,
    pub next_indicator: IndicatorId,
}

/// Market-data state of one instance.
pub struct MarketDataState {
    pub(super) granted: bool,
    pub(super) instruments: Option<BTreeSet<String>>,
    pub(super) source: Arc<dyn MarketDataSource>,
    pub(super) subscriptions: Vec<Subscription>,
    pub(super) next_stream: StreamId,
    pub(super) max_subscriptions: usize,
    pub(super) indicators: Vec<Registration>,
    pub(super) next_indicator: IndicatorId,
    /// Bumped by every change of `indicators`, so a driver resyncs only when needed.
    pub(super) indicator_generation: u64,
    /// The component exports `indicator-events`, so indicators can be registered.
    pub(super) indicator_events: bool,
}

impl std::fmt::Debug for MarketDataState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MarketDataState")
            .field("granted", &self.granted)
            .field("subscriptions", &self.subscriptions)
            .finish_non_exhaustive()
    }
}

impl MarketDataState {
    /// State for an instance; `granted` is false when the plugin lacks the capability (the
    /// interface is then not linked at all, and this state stays empty).
    #[must_use]
    pub fn new(
        granted: bool,
        instruments: Option<BTreeSet<String>>,
        source: Arc<dyn MarketDataSource>,
        max_subscriptions: u64,
    ) -> Self {
        Self {
            granted,
            instruments,
            source,
            subscriptions: Vec::new(),
            next_stream: 0,
            max_subscriptions: usize::try_from(max_subscriptions).unwrap_or(usize::MAX),
            indicators: Vec::new(),
            next_indicator: 0,
            indicator_generation: 0,
            indicator_events: false,
        }
    }

    /// Whether the component exports `indicator-events` (see `HostState`).
    pub fn set_indicator_events(&mut self, exported: bool) {
        self.indicator_events = exported;
    }

    /// Registered indicators, in the order they were registered.
    #[must_use]
    pub fn indicators(&self) -> &[Registration] {
        &self.indicators
    }

    /// Changes whenever [`Self::indicators`] does.
    #[must_use]
    pub fn indicator_generation(&self) -> u64 {
        self.indicator_generation
    }

    /// Current subscriptions, in the order they were made.
    #[must_use]
    pub fn subscriptions(&self) -> &[Subscription] {
        &self.subscriptions
    }

    /// The stream on which bars of `bar_type` go to this plugin, if subscribed.
    #[must_use]
    pub fn bar_stream(&self, bar_type: &BarType) -> Option<StreamId> {
        self.subscriptions.iter().find_map(|s| match s {
            Subscription::Bars {
                stream,
                bar_type: b,
            } if b == bar_type => Some(*stream),
            _ => None,
        })
    }

    /// The stream on which quotes of `instrument_id` go to this plugin, if subscribed.
    #[must_use]
    pub fn quote_stream(&self, instrument_id: &str) -> Option<StreamId> {
        self.subscriptions.iter().find_map(|s| match s {
            Subscription::Quotes {
                stream,
                instrument_id: i,
            } if i == instrument_id => Some(*stream),
            _ => None,
        })
    }

    /// The stream on which trades of `instrument_id` go to this plugin, if subscribed.
    #[must_use]
    pub fn trade_stream(&self, instrument_id: &str) -> Option<StreamId> {
        self.subscriptions.iter().find_map(|s| match s {
            Subscription::Trades {
                stream,
                instrument_id: i,
            } if i == instrument_id => Some(*stream),
            _ => None,
        })
    }
}

impl MarketDataState {
    /// Whether subscriptions and registrations (`who` names where they come from) fit this
    /// instance: its grant, scope and limits, and its export of `indicator-events`.
    fn admits(
        &self,
        subscriptions: &[Subscription],
        indicators: &[Registration],
        who: &str,
    ) -> Result<(), String> {
        if subscriptions.is_empty() && indicators.is_empty() {
            return Ok(());
        }
        if !self.granted {
            return Err(format!(
                "this version holds no market-data grant but {who} is subscribed"
            ));
        }
        if subscriptions.len() > self.max_subscriptions {
            return Err(format!(
                "{} market-data subscriptions of {who} exceed this version's limit of {}",
                subscriptions.len(),
                self.max_subscriptions
            ));
        }
        if !indicators.is_empty() && !self.indicator_events {
            return Err(format!(
                "{who} has {} registered indicators but this version does not export indicator-events (built against contract 0.1.0)",
                indicators.len()
            ));
        }
        for sub in subscriptions {
            let id = sub.instrument_id();
            if !crate::capabilities::contract::in_scope(self.instruments.as_ref(), id) {
                return Err(format!(
                    "{who} is subscribed to `{id}`, outside this version's market-data grant"
                ));
            }
        }
        Ok(())
    }

    /// The subscriptions and registered indicators, for a checkpoint.
    #[must_use]
    pub fn session(&self) -> MarketSession {
        MarketSession {
            subscriptions: self.subscriptions.clone(),
            next_stream: self.next_stream,
            indicators: self.indicators.clone(),
            next_indicator: self.next_indicator,
        }
    }

    /// Restores what [`Self::session`] gave, into a fresh instance resumed from a checkpoint
    /// (before its snapshot is restored): the streams and indicators keep their ids, so the
    /// plugin's restored state refers to the same ones. Checked like a hot-swap, and as data
    /// read from disk: known instruments, distinct ids below the next ones, every indicator
    /// on one of the streams and within its limits. Nothing changes on an error.
    ///
    /// # Errors
    /// What does not fit, in words.
    pub fn resume_session(&mut self, session: MarketSession) -> Result<(), String> {
        let who = "the checkpoint";
        if !self.subscriptions.is_empty() || !self.indicators.is_empty() {
            return Err("the instance is already subscribed; resume into a fresh one".into());
        }
        self.admits(&session.subscriptions, &session.indicators, who)?;
        let mut streams = BTreeSet::new();
        for sub in &session.subscriptions {
            let id = sub.instrument_id();
            if self.source.instrument(id).is_none() {
                return Err(format!(
                    "{who} is subscribed to `{id}`, an unknown instrument"
                ));
            }
            if !streams.insert(sub.stream()) || sub.stream() >= session.next_stream {
                return Err(format!(
                    "{who} has stream {} twice or at or above its next stream {}",
                    sub.stream(),
                    session.next_stream
                ));
            }
        }
        if session.indicators.len() > MAX_INDICATORS {
            return Err(format!(
                "{who} has {} registered indicators, over the limit of {MAX_INDICATORS}",
                session.indicators.len()
            ));
        }
        let mut ids = BTreeSet::new();
        for r in &session.indicators {
            let Some(sub) = session
                .subscriptions
                .iter()
                .find(|s| s.stream() == r.stream)
            else {
                return Err(format!(
                    "{who} has indicator {} on stream {}, which it is not subscribed to",
                    r.id, r.stream
                ));
            };
            super::host::check_spec(sub, &r.spec)
                .map_err(|e| format!("{who}: indicator {}: {e}", r.id))?;
            if !ids.insert(r.id) || r.id >= session.next_indicator {
                return Err(format!(
                    "{who} has indicator {} twice or at or above its next id {}",
                    r.id, session.next_indicator
                ));
            }
        }
        self.subscriptions = session.subscriptions;
        self.next_stream = session.next_stream;
        self.indicators = session.indicators;
        self.next_indicator = session.next_indicator;
        self.indicator_generation = self.indicator_generation.wrapping_add(1);
        Ok(())
    }

    /// Takes over `from`'s subscriptions (a hot-swap): this state belongs to the new
    /// instance and keeps its own grant and scope, which every subscription must fit.
    /// Nothing moves unless all fit.
    pub(super) fn take_over_session(&mut self, from: &mut Self) -> Result<(), String> {
        if from.subscriptions.is_empty() {
            return Ok(());
        }
        self.admits(&from.subscriptions, &from.indicators, "the running version")?;
        self.subscriptions = std::mem::take(&mut from.subscriptions);
        self.next_stream = from.next_stream;
        // The indicators go with their streams, with their ids: a driver that keeps the
        // indicator values by id keeps them warm across the swap.
        self.indicators = std::mem::take(&mut from.indicators);
        self.next_indicator = from.next_indicator;
        self.indicator_generation = from.indicator_generation.wrapping_add(1);
        from.indicator_generation = from.indicator_generation.wrapping_add(1);
        Ok(())
    }
}
