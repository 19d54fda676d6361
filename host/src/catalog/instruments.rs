//! Instrument definitions and the latest market values, as a [`MarketDataSource`].

use std::{
    collections::BTreeMap,
    sync::{PoisonError, RwLock},
};

use super::MarketEvent;
use crate::{
    bindings::types::{Bar, BarType, InstrumentInfo, QuoteTick},
    capabilities::market_data::MarketDataSource,
    stubs::gbpusd_fxcm,
};

#[derive(Debug, Default)]
struct Latest {
    quotes: BTreeMap<String, QuoteTick>,
    bars: Vec<(BarType, Bar)>,
}

/// Known instruments plus the last quote/bar seen of each, updated by the driver with
/// [`InstrumentTable::observe`] before an event is delivered.
#[derive(Debug, Default)]
pub struct InstrumentTable {
    instruments: BTreeMap<String, InstrumentInfo>,
    latest: RwLock<Latest>,
}

impl InstrumentTable {
    /// An empty table.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces an instrument.
    pub fn insert(&mut self, info: InstrumentInfo) {
        self.instruments.insert(info.id.clone(), info);
    }

    /// Definitions for the bundled data (see `data/README.md`).
    #[must_use]
    pub fn bundled() -> Self {
        let mut t = Self::new();
        t.insert(gbpusd_fxcm());
        t
    }

    /// Records `quote` as the latest of `instrument_id` (no allocation once it is known).
    pub fn observe_quote(&self, instrument_id: &str, quote: QuoteTick) {
        let mut latest = self.latest.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = latest.quotes.get_mut(instrument_id) {
            *slot = quote;
        } else {
            latest.quotes.insert(instrument_id.to_string(), quote);
        }
    }

    /// Records `bar` as the latest of `bar_type` (no allocation once it is known).
    pub fn observe_bar(&self, bar_type: &BarType, bar: Bar) {
        let mut latest = self.latest.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = latest.bars.iter_mut().find(|(b, _)| b == bar_type) {
            slot.1 = bar;
        } else {
            latest.bars.push((bar_type.clone(), bar));
        }
    }

    /// Records `event` as the latest value of its instrument / bar type.
    pub fn observe(&self, event: &MarketEvent) {
        let mut latest = self.latest.write().unwrap_or_else(PoisonError::into_inner);
        match event {
            MarketEvent::Quote {
                instrument_id,
                quote,
            } => {
                latest.quotes.insert(instrument_id.clone(), *quote);
            }
            MarketEvent::Bar { bar_type, bar } => {
                if let Some(slot) = latest.bars.iter_mut().find(|(b, _)| b == bar_type) {
                    slot.1 = *bar;
                } else {
                    latest.bars.push((bar_type.clone(), *bar));
                }
            }
            MarketEvent::Trade { .. } => {}
        }
    }
}

impl MarketDataSource for InstrumentTable {
    fn instrument(&self, instrument_id: &str) -> Option<InstrumentInfo> {
        self.instruments.get(instrument_id).cloned()
    }

    fn last_quote(&self, instrument_id: &str) -> Option<QuoteTick> {
        self.latest
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .quotes
            .get(instrument_id)
            .copied()
    }

    fn last_bar(&self, bar_type: &BarType) -> Option<Bar> {
        let latest = self.latest.read().unwrap_or_else(PoisonError::into_inner);
        latest
            .bars
            .iter()
            .find(|(b, _)| b == bar_type)
            .map(|(_, bar)| *bar)
    }

    fn mark(&self, instrument_id: &str) -> Option<(i64, i64)> {
        let latest = self.latest.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(q) = latest.quotes.get(instrument_id) {
            return Some((q.bid.raw, q.ask.raw));
        }
        latest
            .bars
            .iter()
            .filter(|(b, _)| b.instrument_id == instrument_id)
            .max_by_key(|(_, bar)| bar.ts_event)
            .map(|(_, bar)| (bar.close.raw, bar.close.raw))
    }
}
