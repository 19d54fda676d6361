//! Per-instance market-data state: the grant scope and the subscription table.

use std::{collections::BTreeSet, sync::Arc};

use serde::Serialize;

use super::MarketDataSource;
use crate::bindings::types::{BarType, InstrumentId, StreamId};

/// One subscription of a plugin.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
}

/// Market-data state of one instance.
pub struct MarketDataState {
    pub(super) granted: bool,
    pub(super) instruments: Option<BTreeSet<String>>,
    pub(super) source: Arc<dyn MarketDataSource>,
    pub(super) subscriptions: Vec<Subscription>,
    pub(super) next_stream: StreamId,
    pub(super) max_subscriptions: usize,
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
        }
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
    /// Takes over `from`'s subscriptions (a hot-swap): this state belongs to the new
    /// instance and keeps its own grant and scope, which every subscription must fit.
    /// Nothing moves unless all fit.
    pub(super) fn take_over_session(&mut self, from: &mut Self) -> Result<(), String> {
        if from.subscriptions.is_empty() {
            return Ok(());
        }
        if !self.granted {
            return Err(
                "the new version holds no market-data grant but the running one is subscribed"
                    .into(),
            );
        }
        if from.subscriptions.len() > self.max_subscriptions {
            return Err(format!(
                "{} market-data subscriptions exceed the new version's limit of {}",
                from.subscriptions.len(),
                self.max_subscriptions
            ));
        }
        for sub in &from.subscriptions {
            let id = match sub {
                Subscription::Bars { bar_type, .. } => &bar_type.instrument_id,
                Subscription::Quotes { instrument_id, .. }
                | Subscription::Trades { instrument_id, .. } => instrument_id,
            };
            if !crate::capabilities::contract::in_scope(self.instruments.as_ref(), id) {
                return Err(format!(
                    "the running version is subscribed to `{id}`, outside the new version's market-data grant"
                ));
            }
        }
        self.subscriptions = std::mem::take(&mut from.subscriptions);
        self.next_stream = from.next_stream;
        Ok(())
    }
}
