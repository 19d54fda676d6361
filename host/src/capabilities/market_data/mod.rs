//! Capability: market data. Subscriptions to bars, quotes and trades of granted
//! instruments; instrument definitions; last values. The host's data source behind it is a
//! trait, implemented by the Nautilus adapter (cache) and by the replay driver.

mod host;
mod state;

pub use state::{MarketDataState, Subscription};

use crate::bindings::types::{Bar, BarType, InstrumentInfo, QuoteTick};

/// Where market data comes from. Values returned here are delivered as they are (the
/// `stream` field of bars and quotes is set by the capability).
pub trait MarketDataSource: Send + Sync {
    /// The definition of `instrument_id`, if the host knows it.
    fn instrument(&self, instrument_id: &str) -> Option<InstrumentInfo>;
    /// The latest quote at or before the current event.
    fn last_quote(&self, instrument_id: &str) -> Option<QuoteTick>;
    /// The latest bar of `bar_type` at or before the current event.
    fn last_bar(&self, bar_type: &BarType) -> Option<Bar>;
    /// Raw (bid, ask) to value positions and orders at: the last quote, or where a source
    /// knows no quote, its latest bar's close on both sides.
    fn mark(&self, instrument_id: &str) -> Option<(i64, i64)> {
        self.last_quote(instrument_id)
            .map(|q| (q.bid.raw, q.ask.raw))
    }
}
