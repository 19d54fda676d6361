//! Building and driving a `LiveNode`: paper (the replay feed as its data client, one
//! `nautilus-sandbox` venue per instrument venue) or on a real venue (its data and execution
//! clients, [`super::venue`]), with the feed watchdog and the end marker on its bus.
//! [`super::run`] (`stratbox live`) and [`super::session`] (deployments) both use it; each
//! adds its strategies between [`TradingNode::build`] and [`TradingNode::drive`].

use std::{
    cell::{Cell, RefCell},
    rc::Rc,
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use nautilus_common::{
    cache::Cache,
    enums::Environment,
    msgbus::{self, ShareableMessageHandler, TypedHandler},
};
use nautilus_live::{
    builder::LiveNodeBuilder,
    config::{LiveExecEngineConfig, LiveNodeConfig},
    node::{LiveNode, LiveNodeHandle},
};
use nautilus_model::{
    data::{Bar, CustomData, Data, QuoteTick, TradeTick},
    enums::{AccountType, BookType, OmsType},
    identifiers::{TraderId, Venue},
    instruments::{Instrument, InstrumentAny},
    types::Money,
};
use nautilus_sandbox::{SandboxExecutionClientConfig, SandboxExecutionClientFactory};

use super::{
    LiveOptions, TRADER_ID, account_id,
    feed::{self, FeedState, ReplayFeedConfig, ReplayFeedFactory},
    venue::{self, ResolvedVenue},
    watchdog::Watchdog,
};
use crate::{backtest::report, capabilities::risk_gate::TradingControl};

/// Bus priority of the watchdog's market-data handlers: above the strategies' (0) and the
/// sandbox venue's (10), so a feed that was stale is ACTIVE again before anyone trades on
/// its first event.
const WATCHDOG_PRIORITY: u32 = 100;

/// Where a node's market data comes from and where its orders go.
#[derive(Debug)]
pub enum Source {
    /// The replay feed of `data` (sorted by `ts_init`), and a sandbox venue per venue,
    /// each account starting with `balances`: paper trading.
    Replay {
        data: Vec<Data>,
        balances: Vec<Money>,
    },
    /// A real venue's data and execution clients: its feed, its account, real orders.
    Venue(Box<ResolvedVenue>),
}

/// A built node, before its strategies are added.
pub struct TradingNode {
    pub node: LiveNode,
    pub venues: Vec<Venue>,
    pub feed: Arc<FeedState>,
    pub watchdog: Rc<Watchdog>,
    /// The last bid and ask of each instrument, as the node processed them.
    pub marks: Rc<RefCell<report::Marks>>,
    /// Set once the end marker went through the node.
    pub ended: Rc<Cell<bool>>,
    /// Wall-clock ns at which each market event reached the node's bus (with
    /// `record_arrivals`; empty otherwise).
    pub arrivals: Rc<RefCell<Vec<u64>>>,
    /// Every market event the node delivered, in order (with `record_feed`; empty
    /// otherwise).
    pub delivered: Rc<RefCell<Vec<Data>>>,
    /// Runs once the trader runs, before the feed plays its first event ([`Self::before_feed`]).
    before_feed: Option<Box<dyn FnOnce()>>,
    /// Whether the accounts are the sandbox's (whose balances Nautilus must compute).
    sandbox: bool,
}

impl std::fmt::Debug for TradingNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TradingNode")
            .field("venues", &self.venues)
            .finish_non_exhaustive()
    }
}

impl TradingNode {
    /// Builds a paper node on the calling thread (inside a tokio runtime context): replay
    /// feed of `data` (sorted by `ts_init`) at `options.speed`, a sandbox venue per venue
    /// with `balances`, and the watchdog reporting to `control`.
    ///
    /// # Errors
    /// Nautilus refused the configuration.
    pub fn build(
        instruments: &[InstrumentAny],
        balances: &[Money],
        data: Vec<Data>,
        options: LiveOptions,
        control: TradingControl,
    ) -> anyhow::Result<Self> {
        Self::build_from(
            instruments,
            Source::Replay {
                data,
                balances: balances.to_vec(),
            },
            options,
            control,
        )
    }

    /// Builds a node fed and executed by `source` on the calling thread (inside a tokio
    /// runtime context), with the watchdog reporting to `control`. A venue node connects to
    /// nothing until it runs; then Nautilus reconciles its open orders with the venue.
    ///
    /// # Errors
    /// Nautilus refused the configuration or a client.
    pub fn build_from(
        instruments: &[InstrumentAny],
        source: Source,
        options: LiveOptions,
        control: TradingControl,
    ) -> anyhow::Result<Self> {
        let mut venues: Vec<Venue> = instruments.iter().map(|i| i.id().venue).collect();
        venues.sort();
        venues.dedup();
        let state = Arc::new(FeedState::default());
        let trader_id = TraderId::from(TRADER_ID);
        let sandbox = matches!(source, Source::Replay { .. });
        let builder = match source {
            Source::Replay { data, balances } => {
                let mut builder = LiveNodeBuilder::from_config(paper_config(trader_id))?
                    .with_name("stratbox-live")
                    .add_data_client(
                        Some("REPLAY".into()),
                        Box::new(ReplayFeedFactory),
                        Box::new(ReplayFeedConfig::new(
                            instruments.to_vec(),
                            data,
                            options.speed,
                            Arc::clone(&state),
                        )),
                    )?;
                for &venue in &venues {
                    let exec = SandboxExecutionClientConfig::builder()
                        .trader_id(trader_id)
                        .account_id(account_id(venue))
                        .venue(venue)
                        .starting_balances(balances.clone())
                        .oms_type(OmsType::Netting)
                        .account_type(AccountType::Margin)
                        .book_type(BookType::L1_MBP)
                        .build();
                    builder = builder.add_simulated_exec_client(
                        Some(venue.to_string()),
                        Box::new(SandboxExecutionClientFactory::new()),
                        Box::new(exec),
                    )?;
                }
                builder
            }
            Source::Venue(resolved) => {
                let builder = LiveNodeBuilder::from_config(venue::node::node_config(trader_id))?
                    .with_name(format!("stratbox-{}", String::from(resolved.config.venue)));
                venue::add_clients(builder, &resolved, trader_id).map_err(|e| match e {
                    venue::VenueError::Nautilus(e) => e,
                    other => anyhow::anyhow!(other),
                })?
            }
        };
        let node = {
            let _one_at_a_time = crate::backtest::kernel_build_lock();
            builder.build()?
        };
        let watchdog = Rc::new(Watchdog::new(control, options.stale_after));
        let marks = Rc::new(RefCell::new(report::Marks::new()));
        let arrivals = Rc::new(RefCell::new(Vec::new()));
        let delivered = Rc::new(RefCell::new(Vec::new()));
        watch_market_data(
            &watchdog,
            &marks,
            options.record_arrivals.then(|| Rc::clone(&arrivals)),
            options.record_feed.then(|| Rc::clone(&delivered)),
        );
        let ended = Rc::new(Cell::new(false));
        Ok(Self {
            node,
            venues,
            feed: state,
            watchdog,
            marks,
            ended,
            arrivals,
            delivered,
            before_feed: None,
            sandbox,
        })
    }

    /// Calls `f` once the execution clients are connected and the strategies started, before
    /// the feed plays its first event (a resumed session restores its position there).
    pub fn before_feed(&mut self, f: impl FnOnce() + 'static) {
        self.before_feed = Some(Box::new(f));
    }

    /// Calls `on_end` when the feed's end marker goes through the node (every earlier event
    /// and the orders it caused have been processed), then stops the node.
    pub fn on_replay_end(&self, on_end: impl Fn() + 'static) {
        let handle = self.node.handle();
        let ended = Rc::clone(&self.ended);
        let topic = msgbus::switchboard::get_custom_topic(&feed::end_data_type());
        msgbus::subscribe_any(
            topic.into(),
            ShareableMessageHandler::from_typed(move |_: &CustomData| {
                ended.set(true);
                on_end();
                handle.stop();
            }),
            None,
        );
    }

    /// Runs the node until it stops (end of the replay, [`LiveNodeHandle::stop`], Ctrl-C).
    /// Every `tick` while it runs: starts the feed once the trader runs, lets the watchdog
    /// look at the feed, then calls `each_tick(handle)`.
    ///
    /// # Errors
    /// The node failed to start or run.
    pub async fn drive(
        &mut self,
        tick: Duration,
        mut each_tick: impl FnMut(&LiveNodeHandle),
    ) -> anyhow::Result<()> {
        let handle = self.node.handle();
        let cache = Rc::clone(&self.node.kernel().cache);
        let (venues, state, watchdog) = (&self.venues, &self.feed, &self.watchdog);
        let mut before_feed = self.before_feed.take();
        let sandbox = self.sandbox;
        let node = &mut self.node;
        let watch = async {
            loop {
                let going = state.go.load(Ordering::Acquire);
                if !going && handle.is_running() {
                    if sandbox {
                        track_balances(&cache, venues);
                    }
                    if let Some(f) = before_feed.take() {
                        f();
                    }
                    watchdog.arm();
                    state.go.store(true, Ordering::Release);
                }
                watchdog.check(going && !state.done.load(Ordering::Acquire));
                each_tick(&handle);
                tokio::time::sleep(tick).await;
            }
        };
        let result = tokio::select! {
            r = node.run() => r,
            () = watch => Ok(()),
        };
        self.feed.stop.store(true, Ordering::Release);
        result
    }
}

/// The configuration of a paper node: no reconciliation (a fresh sandbox account has
/// nothing to reconcile against), short timeouts (nothing is remote).
fn paper_config(trader_id: TraderId) -> LiveNodeConfig {
    LiveNodeConfig {
        environment: Environment::Sandbox,
        trader_id,
        logging: crate::backtest::quiet_logging(),
        exec_engine: LiveExecEngineConfig {
            reconciliation: false,
            ..Default::default()
        },
        timeout_connection: Duration::from_secs(10),
        delay_post_stop: Duration::from_millis(100),
        timeout_disconnection: Duration::from_secs(2),
        timeout_shutdown: Duration::from_secs(2),
        ..Default::default()
    }
}

/// Market data handlers ahead of everyone else's: the watchdog hears of each event, and the
/// marks follow the last bid and ask.
fn watch_market_data(
    watchdog: &Rc<Watchdog>,
    marks: &Rc<RefCell<report::Marks>>,
    arrivals: Option<Rc<RefCell<Vec<u64>>>>,
    delivered: Option<Rc<RefCell<Vec<Data>>>>,
) {
    let seen = || {
        let (w, m, a) = (Rc::clone(watchdog), Rc::clone(marks), arrivals.clone());
        let d = delivered.clone();
        move |data: Data, ts: u64| {
            if let Some(d) = &d {
                d.borrow_mut().push(data.clone());
            }
            if let Some(a) = &a {
                // The clock Nautilus's live components stamp events with.
                let now = nautilus_core::time::get_atomic_clock_realtime().get_time_ns();
                a.borrow_mut().push(now.as_u64());
            }
            report::observe(&mut m.borrow_mut(), &data);
            w.saw_event(ts);
        }
    };
    let (q, b, t) = (seen(), seen(), seen());
    msgbus::subscribe_quotes(
        "data.quotes.*".into(),
        TypedHandler::from(move |x: &QuoteTick| q(Data::Quote(*x), x.ts_event.as_u64())),
        Some(WATCHDOG_PRIORITY),
    );
    msgbus::subscribe_bars(
        "data.bars.*".into(),
        TypedHandler::from(move |x: &Bar| b(Data::Bar(*x), x.ts_event.as_u64())),
        Some(WATCHDOG_PRIORITY),
    );
    msgbus::subscribe_trades(
        "data.trades.*".into(),
        TypedHandler::from(move |x: &TradeTick| t(Data::Trade(*x), x.ts_event.as_u64())),
        Some(WATCHDOG_PRIORITY),
    );
}

/// Makes Nautilus compute each venue account's balance and margins from its fills, as the
/// backtest's simulated exchange does. `nautilus-sandbox` 0.57 leaves this off (the
/// account's `calculate_account_state`), so its balances would never move: the report's
/// final balance and equity curve would ignore every fill. Called once the exec clients
/// have connected (the accounts exist) and before the first event is played.
fn track_balances(cache: &RefCell<Cache>, venues: &[Venue]) {
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
