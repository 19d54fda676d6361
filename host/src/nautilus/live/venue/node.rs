//! A whole `LiveNode` on a real venue: the venue's data and execution clients, and the run's
//! strategies added as in a backtest (each component behind its own risk gate, then
//! Nautilus's live `RiskEngine`), so the same report can be read back afterwards.
//!
//! Nothing here runs the node: the caller does, inside the tokio runtime it was built in
//! (as [`crate::nautilus::live::run`] does for the sandbox venue), and stops it through its
//! handle.

use std::{sync::Arc, time::Duration};

use nautilus_binance::spot::http::client::BinanceSpotHttpClient;
use nautilus_common::enums::Environment;
use nautilus_core::time::get_atomic_clock_realtime;
use nautilus_live::{
    builder::LiveNodeBuilder,
    config::{LiveExecEngineConfig, LiveNodeConfig},
    node::LiveNode,
};
use nautilus_model::{
    identifiers::{TraderId, Venue},
    instruments::{Instrument, InstrumentAny},
};

use super::{ResolvedVenue, VenueError, add_clients};
use crate::{
    audit::AuditLog,
    backtest::{
        BacktestError, Outcome, SignalInput, StrategySpec,
        entries::{self, Entry, Finished, Stats},
        history::AccountHistory,
    },
    bindings::types::{InstrumentInfo, InstrumentKind},
    capabilities::risk_gate::RiskHub,
    catalog::InstrumentTable,
    nautilus::{convert, live::TRADER_ID},
    sandbox::SandboxEngine,
};

/// How long the node waits for the venue's clients to connect.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// What a venue run trades.
#[derive(Debug)]
pub struct VenueSpec<'a> {
    /// The venue's instruments the strategies trade ([`fetch_instruments`]).
    pub instruments: Vec<InstrumentAny>,
    /// The same instruments as the contract sees them ([`instrument_table`]).
    pub table: Arc<InstrumentTable>,
    pub strategies: Vec<StrategySpec<'a>>,
    /// Risk policy, trading states and audit trail every component's gate answers to.
    pub risk: Arc<RiskHub>,
    /// Measure wall time spent in each guest.
    pub timing: bool,
}

/// A built venue node and what its report needs afterwards.
pub struct VenueRun<'a> {
    pub node: LiveNode,
    pub entries: Vec<Entry<'a>>,
    pub instruments: Vec<InstrumentAny>,
    pub risk: Arc<RiskHub>,
    pub timing: bool,
}

impl std::fmt::Debug for VenueRun<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VenueRun")
            .field("entries", &self.entries)
            .field("instruments", &self.instruments.len())
            .finish_non_exhaustive()
    }
}

impl VenueRun<'_> {
    /// The run's report, read from the node's cache: the backtest's layout, with the
    /// venue's orders, fills and account balances.
    #[must_use]
    pub fn outcome(&self) -> Outcome {
        let mut venues: Vec<Venue> = self.instruments.iter().map(|i| i.id().venue).collect();
        venues.sort();
        venues.dedup();
        let cache = self.node.kernel().cache.borrow();
        let mut history = AccountHistory::default();
        let _ = history.collect(&cache, &venues);
        entries::outcome(
            &Finished {
                cache: &cache,
                venues: &venues,
                stats: Stats::of_cache(&cache, &venues),
                history: &history,
                entries: &self.entries,
                instruments: &self.instruments,
                risk: &self.risk,
                timing: self.timing,
            },
            entries::feed(Vec::new(), SignalInput::default()),
        )
    }
}

/// Builds a `LiveNode` trading `spec`'s strategies on `venue`. Must be called inside the
/// tokio runtime the node will run in; connects to nothing until the node runs.
///
/// The node reconciles with the venue at start (open orders), as a restart must; the
/// account's balances are the venue's.
///
/// # Errors
/// A component does not instantiate, or Nautilus refuses a client or the node.
pub fn build_node<'a>(
    venue: &ResolvedVenue,
    spec: VenueSpec<'a>,
    sandbox: &SandboxEngine,
    audit: &AuditLog,
) -> Result<VenueRun<'a>, BacktestError> {
    let nerr = BacktestError::Nautilus;
    let trader_id = TraderId::from(TRADER_ID);
    let config = node_config(trader_id);
    let builder = LiveNodeBuilder::from_config(config)
        .map_err(nerr)?
        .with_name(format!("stratbox-{}", String::from(venue.config.venue)));
    let builder = add_clients(builder, venue, trader_id).map_err(|e| match e {
        VenueError::Nautilus(e) => nerr(e),
        other => nerr(anyhow::anyhow!(other)),
    })?;
    let mut node = {
        let _one_at_a_time = crate::backtest::kernel_build_lock();
        builder.build().map_err(nerr)?
    };
    let entries = entries::add_strategies(
        &mut node,
        spec.strategies,
        &spec.table,
        &spec.risk,
        spec.timing,
        sandbox,
        audit,
    )?;
    Ok(VenueRun {
        node,
        entries,
        instruments: spec.instruments,
        risk: spec.risk,
        timing: spec.timing,
    })
}

/// The configuration of a node on a venue: reconciliation with the venue at start (open
/// orders), as a restart must, and timeouts for a remote venue.
#[must_use]
pub fn node_config(trader_id: TraderId) -> LiveNodeConfig {
    LiveNodeConfig {
        environment: Environment::Live,
        trader_id,
        logging: crate::backtest::quiet_logging(),
        exec_engine: LiveExecEngineConfig {
            reconciliation: true,
            ..Default::default()
        },
        timeout_connection: CONNECT_TIMEOUT,
        timeout_reconciliation: Duration::from_secs(30),
        delay_post_stop: Duration::from_millis(500),
        timeout_disconnection: Duration::from_secs(5),
        timeout_shutdown: Duration::from_secs(5),
        ..Default::default()
    }
}

/// The venue's tradable instruments, from its exchange information (REST).
///
/// # Errors
/// The venue cannot be reached or answers with an error.
pub async fn fetch_instruments(venue: &ResolvedVenue) -> Result<Vec<InstrumentAny>, VenueError> {
    let client = BinanceSpotHttpClient::new(
        venue.config.environment.binance(),
        get_atomic_clock_realtime(),
        Some(venue.credentials.api_key().to_string()),
        Some(venue.credentials.api_secret().to_string()),
        Some(venue.endpoints.http.clone()),
        None,
        None,
        None,
    )
    .map_err(|e| VenueError::Venue(format!("cannot create the REST client: {e}")))?;
    client.request_instruments().await.map_err(|e| {
        VenueError::Venue(format!(
            "exchange information from {}: {e}",
            venue.endpoints.http
        ))
    })
}

/// `instruments` as the contract's instrument table.
#[must_use]
pub fn instrument_table(instruments: &[InstrumentAny]) -> InstrumentTable {
    let mut table = InstrumentTable::new();
    for i in instruments {
        table.insert(instrument_info(i));
    }
    table
}

/// What a strategy may know about `instrument`.
#[must_use]
pub fn instrument_info(instrument: &InstrumentAny) -> InstrumentInfo {
    let kind = match instrument {
        InstrumentAny::CurrencyPair(_) => InstrumentKind::CurrencyPair,
        InstrumentAny::CryptoPerpetual(_) => InstrumentKind::CryptoPerpetual,
        InstrumentAny::CryptoFuture(_) => InstrumentKind::CryptoFuture,
        InstrumentAny::Equity(_) => InstrumentKind::Equity,
        InstrumentAny::FuturesContract(_) => InstrumentKind::FuturesContract,
        InstrumentAny::OptionContract(_) => InstrumentKind::OptionContract,
        _ => InstrumentKind::Other,
    };
    InstrumentInfo {
        id: instrument.id().to_string(),
        kind,
        base_currency: instrument.base_currency().map(|c| c.code.to_string()),
        quote_currency: instrument.quote_currency().code.to_string(),
        settlement_currency: instrument.settlement_currency().code.to_string(),
        is_inverse: instrument.is_inverse(),
        price_precision: instrument.price_precision(),
        size_precision: instrument.size_precision(),
        price_increment: convert::price(instrument.price_increment()),
        size_increment: convert::quantity(instrument.size_increment()),
        multiplier: convert::quantity(instrument.multiplier()),
        lot_size: instrument.lot_size().map(convert::quantity),
        min_quantity: instrument.min_quantity().map(convert::quantity),
        max_quantity: instrument.max_quantity().map(convert::quantity),
        min_price: instrument.min_price().map(convert::price),
        max_price: instrument.max_price().map(convert::price),
    }
}
