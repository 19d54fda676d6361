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

pub mod feed;
pub mod venue;
pub mod watchdog;

use std::{
    rc::Rc,
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use nautilus_common::{
    enums::Environment,
    logging::config::LoggerConfig,
    msgbus::{self, ShareableMessageHandler, TypedHandler},
};
use nautilus_live::{
    builder::LiveNodeBuilder,
    config::{LiveExecEngineConfig, LiveNodeConfig},
};
use nautilus_model::{
    data::{Bar, CustomData, QuoteTick, TradeTick},
    enums::{AccountType, BookType, OmsType},
    identifiers::{AccountId, TraderId, Venue},
    instruments::Instrument,
};
use nautilus_sandbox::{SandboxExecutionClientConfig, SandboxExecutionClientFactory};

use self::{
    feed::{FeedState, ReplayFeedConfig, ReplayFeedFactory},
    watchdog::Watchdog,
};
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

/// Bus priority of the watchdog's market-data handlers: above the strategies' (0) and the
/// sandbox venue's (10), so a feed that was stale is ACTIVE again before anyone trades on
/// its first event.
const WATCHDOG_PRIORITY: u32 = 100;

/// How a live run is fed and watched.
#[derive(Debug, Clone, Copy)]
pub struct LiveOptions {
    /// Pace of the replay feed.
    pub speed: Speed,
    /// Wall-clock silence after which the feed counts as stale (trading goes REDUCING).
    pub stale_after: Duration,
}

/// The account id of the simulated venue account for `venue` (`SIM-001`, as the
/// backtest engine names it).
#[must_use]
pub fn account_id(venue: Venue) -> AccountId {
    AccountId::new(format!("{venue}-001"))
}

/// Makes Nautilus compute each venue account's balance and margins from its fills, as the
/// backtest's simulated exchange does. `nautilus-sandbox` 0.57 leaves this off (the
/// account's `calculate_account_state`), so its balances would never move: the report's
/// final balance and equity curve would ignore every fill. Called once the exec clients
/// have connected (the accounts exist) and before the first event is played.
fn track_balances(cache: &std::cell::RefCell<nautilus_common::cache::Cache>, venues: &[Venue]) {
    for venue in venues {
        let account = cache.borrow().account_for_venue_owned(venue);
        match account {
            Some(mut account) => {
                account.set_calculate_account_state(true);
                if let Err(e) = cache.borrow_mut().update_account(&account) {
                    tracing::error!(%venue, "cannot update the sandbox account: {e}");
                }
            }
            None => tracing::error!(%venue, "the sandbox venue registered no account"),
        }
    }
}

/// Runs `spec`'s strategies on a `LiveNode` fed by the replay feed at `speed`, against the
/// sandbox venue; `progress(done, total)` reports market events processed.
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
    if spec.data.is_empty() {
        return Err(BacktestError::NoData);
    }
    let nerr = BacktestError::Nautilus;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| nerr(anyhow::anyhow!("cannot start the node's runtime: {e}")))?;
    let _entered = runtime.enter();

    let mut venues: Vec<Venue> = spec.instruments.iter().map(|i| i.id().venue).collect();
    venues.sort();
    venues.dedup();
    let mut feed = entries::feed(spec.data, spec.signals);
    let total = feed.events;
    let state = Arc::new(FeedState::default());

    let trader_id = TraderId::from(TRADER_ID);
    let config = LiveNodeConfig {
        environment: Environment::Sandbox,
        trader_id,
        // Nautilus's logger writes to stdout, which belongs to the summary / JSON.
        logging: LoggerConfig {
            stdout_level: log::LevelFilter::Off,
            fileout_level: log::LevelFilter::Off,
            bypass_logging: true,
            ..Default::default()
        },
        // A fresh sandbox account has nothing to reconcile; a restart's reconciliation is
        // the deployment's job (it checkpoints the account).
        exec_engine: LiveExecEngineConfig {
            reconciliation: false,
            ..Default::default()
        },
        timeout_connection: Duration::from_secs(10),
        delay_post_stop: Duration::from_millis(100),
        timeout_disconnection: Duration::from_secs(2),
        timeout_shutdown: Duration::from_secs(2),
        ..Default::default()
    };
    let mut builder = LiveNodeBuilder::from_config(config)
        .map_err(nerr)?
        .with_name("stratbox-live")
        .add_data_client(
            Some("REPLAY".into()),
            Box::new(ReplayFeedFactory),
            Box::new(ReplayFeedConfig::new(
                spec.instruments.clone(),
                std::mem::take(&mut feed.data),
                options.speed,
                Arc::clone(&state),
            )),
        )
        .map_err(nerr)?;
    for &venue in &venues {
        let exec = SandboxExecutionClientConfig::builder()
            .trader_id(trader_id)
            .account_id(account_id(venue))
            .venue(venue)
            .starting_balances(spec.balances.clone())
            .oms_type(OmsType::Netting)
            .account_type(AccountType::Margin)
            .book_type(BookType::L1_MBP)
            .build();
        builder = builder
            .add_simulated_exec_client(
                Some(venue.to_string()),
                Box::new(SandboxExecutionClientFactory::new()),
                Box::new(exec),
            )
            .map_err(nerr)?;
    }
    let mut node = builder.build().map_err(nerr)?;
    let entries = entries::add_strategies(
        &mut node,
        spec.strategies,
        &spec.table,
        &spec.risk,
        spec.timing,
        sandbox,
        audit,
    )?;

    // The node's bus tells the watchdog what it processed (market events, for progress and
    // staleness), and the end marker stops the node.
    let watchdog = Rc::new(Watchdog::new(
        spec.risk.control.clone(),
        options.stale_after,
    ));
    let seen = |w: &Rc<Watchdog>| {
        let w = Rc::clone(w);
        move |ts: u64| w.saw_event(ts)
    };
    let (q, b, t) = (seen(&watchdog), seen(&watchdog), seen(&watchdog));
    msgbus::subscribe_quotes(
        "data.quotes.*".into(),
        TypedHandler::from(move |x: &QuoteTick| q(x.ts_event.as_u64())),
        Some(WATCHDOG_PRIORITY),
    );
    msgbus::subscribe_bars(
        "data.bars.*".into(),
        TypedHandler::from(move |x: &Bar| b(x.ts_event.as_u64())),
        Some(WATCHDOG_PRIORITY),
    );
    msgbus::subscribe_trades(
        "data.trades.*".into(),
        TypedHandler::from(move |x: &TradeTick| t(x.ts_event.as_u64())),
        Some(WATCHDOG_PRIORITY),
    );
    let handle = node.handle();
    let end_topic = msgbus::switchboard::get_custom_topic(&feed::end_data_type());
    msgbus::subscribe_any(
        end_topic.into(),
        ShareableMessageHandler::from_typed({
            let handle = handle.clone();
            move |_: &CustomData| handle.stop()
        }),
        None,
    );

    let cache = std::rc::Rc::clone(&node.kernel().cache);
    let outcome = runtime.block_on(async {
        let watch = async {
            loop {
                let going = state.go.load(Ordering::Acquire);
                if !going && handle.is_running() {
                    track_balances(&cache, &venues);
                    watchdog.arm();
                    state.go.store(true, Ordering::Release);
                }
                watchdog.check(going && !state.done.load(Ordering::Acquire));
                progress(watchdog.processed(), total);
                tokio::time::sleep(PROGRESS_EVERY).await;
            }
        };
        tokio::select! {
            r = node.run() => r,
            () = watch => Ok(()),
        }
    });
    state.stop.store(true, Ordering::Release);
    outcome.map_err(nerr)?;
    progress(watchdog.processed(), total);

    let cache = node.kernel().cache.borrow();
    let mut history = AccountHistory::default();
    let _ = history.collect(&cache, &venues);
    Ok(entries::outcome(
        &Finished {
            cache: &cache,
            venues: &venues,
            stats: Stats::of_cache(&cache, &venues),
            history: &history,
            entries: &entries,
            instruments: &spec.instruments,
            risk: &spec.risk,
            timing: spec.timing,
        },
        feed,
    ))
}
