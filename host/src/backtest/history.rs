//! The account's state history, kept outside Nautilus's cache.
//!
//! Nautilus 0.57 keeps every `AccountState` an account ever had inside the account, and on
//! each fill the portfolio and the simulated execution client take an owned copy of the
//! account (`Cache::account_owned`), history included. A run with `n` fills therefore
//! copies O(n²) states: on the 120k-quote EMA-cross case that is most of the run time (see
//! docs/perf.md). Nothing in a backtest reads that history except our own report (the
//! balance curve): the account's balances, margins and starting balances live apart from
//! it, and `purge_account_events` always keeps the latest state.
//!
//! So after each chunk of data the runner moves the states recorded since the last chunk
//! into an [`AccountHistory`] and purges them from the cache. The report reads the history
//! from here and is identical to an unpurged run (`host/tests/all/backtest_perf.rs` compares them
//! field by field).

use std::collections::BTreeMap;

use nautilus_common::cache::Cache;
use nautilus_core::UnixNanos;
use nautilus_model::{accounts::Account, events::AccountState, identifiers::Venue};

/// Every account state of every venue's account, in the order Nautilus recorded them.
#[derive(Debug, Default)]
pub struct AccountHistory {
    by_venue: BTreeMap<Venue, VenueHistory>,
}

#[derive(Debug, Default)]
struct VenueHistory {
    states: Vec<AccountState>,
    /// How many of the account's current events are already in `states` (those a purge
    /// kept behind).
    seen_in_cache: usize,
}

impl AccountHistory {
    /// Copies the states recorded since the last call; returns how many there were.
    pub fn collect(&mut self, cache: &Cache, venues: &[Venue]) -> usize {
        let mut recorded = 0;
        for venue in venues {
            let Some(account) = cache.account_for_venue(venue) else {
                continue;
            };
            let entry = self.by_venue.entry(*venue).or_default();
            let count = account.event_count();
            if count > entry.seen_in_cache {
                let events = account.events();
                entry
                    .states
                    .extend_from_slice(&events[entry.seen_in_cache..]);
                recorded += count - entry.seen_in_cache;
            }
            entry.seen_in_cache = count;
        }
        recorded
    }

    /// Copies the new states, then drops them from the cache except the latest (which
    /// Nautilus keeps and which is already copied). Returns how many states were new.
    pub fn collect_and_purge(
        &mut self,
        cache: &mut Cache,
        venues: &[Venue],
        ts_now: UnixNanos,
    ) -> usize {
        let recorded = self.collect(cache, venues);
        cache.purge_account_events(ts_now, 0);
        for venue in venues {
            if let (Some(account), Some(entry)) =
                (cache.account_for_venue(venue), self.by_venue.get_mut(venue))
            {
                // What is left is a tail of what was collected.
                entry.seen_in_cache = account.event_count();
            }
        }
        recorded
    }

    /// The states of `venue`'s account, oldest first.
    #[must_use]
    pub fn events(&self, venue: &Venue) -> &[AccountState] {
        self.by_venue.get(venue).map_or(&[], |h| &h.states)
    }
}
