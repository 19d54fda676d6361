//! Live runs: the same strategies, risk gates and report as a backtest, driven by a
//! Nautilus `LiveNode` instead of a `BacktestEngine` (decision 0029).
//!
//! - Market data arrives through a data client, as on a venue: here the [`feed`] replay
//!   client, which plays recorded data at wall-clock pace × a speed factor.
//! - Orders leave each component through its risk gate (the adapter is the backtest's), then
//!   Nautilus's live `RiskEngine` and `ExecutionEngine`, then an execution client: paper by
//!   default, `nautilus-sandbox`'s simulated venue (its matching engine is the backtest's,
//!   on the live feed) with one netting margin account per venue.
//! - One node per run, on the calling thread: Nautilus's message bus and its components are
//!   thread-local, so a node cannot be shared between threads, and one node per deployment
//!   means one deployment's fault, halt or restart cannot touch another's.
//!
//! The run ends when the feed's end marker has been processed (every earlier event and every
//! order command it caused has been, since the node handles commands before data), or on
//! Ctrl-C; either way the node stops its trader and the report is read from its cache.

pub mod checkpoint;
pub mod durable;
pub mod feed;
pub mod node;
pub mod recording;
pub mod seed;
pub mod session;
pub mod venue;
pub mod watchdog;

use std::time::Duration;

use nautilus_model::identifiers::{AccountId, Venue};

use self::node::TradingNode;
use super::paper::Speed;
use crate::{
    audit::AuditLog,
    backtest::{
        BacktestError, BacktestSpec, Outcome,
        entries::{self, Finished, Stats},
        history::AccountHistory,
    },
    sandbox::SandboxEngine,
};

/// The trader id of every stratbox node (one node per run or deployment).
pub const TRADER_ID: &str = "STRATBOX-001";

/// How often the caller's progress callback runs and the watchdog looks at the feed.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// How a live run is fed and watched.
#[derive(Debug, Clone, Copy)]
pub struct LiveOptions {
    /// Pace of the replay feed.
    pub speed: Speed,
    /// Wall-clock silence after which the feed counts as stale (trading goes REDUCING).
    pub stale_after: Duration,
    /// Record the wall-clock time (ns) at which the node delivered each market event, for
    /// latency measurements (`stratbox bench live`).
    pub record_arrivals: bool,
    /// Keep every market event the node delivered (a live deployment's recording).
    pub record_feed: bool,
}

/// The account id of the simulated venue account for `venue` (`SIM-001`, as the
/// backtest engine names it).
#[must_use]
pub fn account_id(venue: Venue) -> AccountId {
    AccountId::new(format!("{venue}-001"))
}

/// A tokio runtime for a node on the calling thread.
pub(crate) fn node_runtime() -> Result<tokio::runtime::Runtime, BacktestError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            BacktestError::Nautilus(anyhow::anyhow!("cannot start the node's runtime: {e}"))
        })
}

/// Runs `spec`'s strategies on a `LiveNode` fed by the replay feed at `options.speed`,
/// against the sandbox venue; `progress(done, total)` reports market events processed.
///
/// # Errors
/// No data, a component that does not instantiate, or Nautilus failing to build or run the
/// node.
pub fn run(
    spec: BacktestSpec<'_>,
    options: LiveOptions,
    sandbox: &SandboxEngine,
    audit: &AuditLog,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Outcome, BacktestError> {
    run_inspect(spec, options, sandbox, audit, progress, |_, _| ()).map(|(o, ())| o)
}

/// As [`run`], and hands `inspect` the node's cache and the arrival times (empty unless
/// `options.record_arrivals`) before the node is dropped.
///
/// # Errors
/// As [`run`].
pub fn run_inspect<T>(
    spec: BacktestSpec<'_>,
    options: LiveOptions,
    sandbox: &SandboxEngine,
    audit: &AuditLog,
    progress: &mut dyn FnMut(usize, usize),
    inspect: impl FnOnce(&nautilus_common::cache::Cache, &[u64]) -> T,
) -> Result<(Outcome, T), BacktestError> {
    if spec.data.is_empty() {
        return Err(BacktestError::NoData);
    }
    let nerr = BacktestError::Nautilus;
    let runtime = node_runtime()?;
    let _entered = runtime.enter();
    let mut feed = entries::feed(spec.data, spec.signals);
    let total = feed.events;
    let mut paper = TradingNode::build(
        &spec.instruments,
        &spec.balances,
        std::mem::take(&mut feed.data),
        options,
        spec.risk.control.clone(),
    )
    .map_err(nerr)?;
    let entries = entries::add_strategies(
        &mut paper.node,
        spec.strategies,
        &spec.table,
        &spec.risk,
        spec.timing,
        sandbox,
        audit,
    )?;
    paper.on_replay_end(|| {});
    let watchdog = std::rc::Rc::clone(&paper.watchdog);
    runtime
        .block_on(paper.drive(PROGRESS_EVERY, |_| progress(watchdog.processed(), total)))
        .map_err(nerr)?;
    progress(watchdog.processed(), total);

    let cache = paper.node.kernel().cache.borrow();
    let inspected = inspect(&cache, &paper.arrivals.borrow());
    let mut history = AccountHistory::default();
    let _ = history.collect(&cache, &paper.venues);
    let outcome = entries::outcome(
        &Finished {
            cache: &cache,
            venues: &paper.venues,
            stats: Stats::of_cache(&cache, &paper.venues),
            history: &history,
            entries: &entries,
            instruments: &spec.instruments,
            risk: &spec.risk,
            timing: spec.timing,
        },
        feed,
    );
    Ok((outcome, inspected))
}
