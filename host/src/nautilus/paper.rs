//! A paper session: one deployed component trading inside a Nautilus `BacktestEngine` on
//! its own thread, fed recorded data at a chosen speed, through the same adapter as a
//! backtest. The thread is the only one that touches the engine (Nautilus's types are not
//! `Send`); the world reaches it through a command channel, the adapter's [`SwapSlot`] and
//! the risk hub's trading control, and hears from it through an [`EventSink`].

use std::{
    cell::RefCell,
    collections::VecDeque,
    rc::Rc,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
        mpsc,
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use nautilus_core::UnixNanos;
use nautilus_model::{
    data::{Data, HasTsInit},
    instruments::InstrumentAny,
    types::Money,
};
use serde::Serialize;

use super::{
    adapter::{ComponentStrategy, SharedInstance, SharedTally},
    hotswap::{AdapterEvent, EventSink, SwapPoint, SwapReply, SwapSlot},
    router::PendingQueue,
};
use crate::{
    audit::AuditLog,
    backtest::{
        self, BacktestError,
        report::{self, StrategyReport},
    },
    capabilities::{Instance, risk_gate::RiskHub},
    catalog::InstrumentTable,
    signals::Signal,
};

/// How fast recorded time passes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// As fast as the engine goes.
    Max,
    /// Recorded seconds per wall-clock second (`60` plays a minute of data per second).
    Factor(f64),
}

/// Most events handed to the engine at once; commands wait at most one chunk.
const CHUNK: usize = 512;
/// Longest sleep between two looks at the command channel.
pub(crate) const TICK: Duration = Duration::from_millis(20);
/// How often a progress event (with PnL) is emitted.
pub(crate) const PROGRESS_EVERY: Duration = Duration::from_millis(500);

/// Everything a session needs.
pub struct SessionSpec {
    /// The deployment id (audit subject, thread name).
    pub id: String,
    pub instruments: Vec<InstrumentAny>,
    pub table: Arc<InstrumentTable>,
    /// Market data sorted by `ts_init`.
    pub data: Vec<Data>,
    pub balances: Vec<Money>,
    /// The component, instantiated and initialised, whose router feeds `queue`.
    pub instance: Instance,
    pub queue: PendingQueue,
    pub strategy_name: String,
    pub risk: Arc<RiskHub>,
    pub audit: AuditLog,
    pub speed: Speed,
    pub sink: EventSink,
}

impl std::fmt::Debug for SessionSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionSpec")
            .field("id", &self.id)
            .field("events", &self.data.len())
            .field("speed", &self.speed)
            .finish_non_exhaustive()
    }
}

/// What the session thread is asked to do.
#[derive(Debug)]
pub enum Command {
    /// Deliver a validated signal at the current simulated time.
    Signal(Box<Signal>),
    /// Stop: snapshot the plugin's state, end the engine.
    Stop,
}

/// Live figures of a session, readable from any thread.
#[derive(Debug, Default)]
pub struct Progress {
    pub total: AtomicU64,
    pub fed: AtomicU64,
    pub sim_ts: AtomicU64,
    pub finished: AtomicBool,
}

/// How a session ended.
#[derive(Debug, Clone, Serialize)]
pub struct SessionEnd {
    /// Market events the engine processed.
    pub events: u64,
    /// Market events the plugin handled (quotes, bars, trades it subscribed to).
    pub delivered: u64,
    /// The plugin's state at the end (`None` if it was quarantined).
    #[serde(skip)]
    pub snapshot: Option<Vec<u8>>,
    pub snapshot_bytes: Option<usize>,
    /// The running version at the end.
    pub sha256: String,
    pub quarantined: bool,
    /// True when stopped by a command before the data ran out.
    pub stopped: bool,
    pub report: Option<StrategyReport>,
    pub error: Option<String>,
    /// Where a live session's recording went (`backtest --replay-of` reads it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recording: Option<String>,
    /// Why a live session's recording could not be written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recording_error: Option<String>,
}

/// The running session.
#[derive(Debug)]
pub struct SessionHandle {
    pub slot: SwapSlot,
    pub progress: Arc<Progress>,
    commands: mpsc::Sender<Command>,
    thread: Option<JoinHandle<SessionEnd>>,
}

impl SessionHandle {
    /// Sends `command`; false if the session has ended.
    pub fn send(&self, command: Command) -> bool {
        self.commands.send(command).is_ok()
    }

    /// True once the thread has returned.
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// The thread, for a watcher that waits on it elsewhere.
    pub fn take_thread(&mut self) -> Option<JoinHandle<SessionEnd>> {
        self.thread.take()
    }

    /// Waits for the thread (after [`Command::Stop`] or the end of data).
    pub fn join(&mut self) -> Option<SessionEnd> {
        let thread = self.thread.take()?;
        Some(thread.join().unwrap_or_else(|_| SessionEnd {
            events: 0,
            delivered: 0,
            snapshot: None,
            snapshot_bytes: None,
            sha256: String::new(),
            quarantined: true,
            stopped: false,
            report: None,
            error: Some("the session thread panicked".into()),
            recording: None,
            recording_error: None,
        }))
    }
}

/// Starts the session thread.
pub fn start(spec: SessionSpec) -> std::io::Result<SessionHandle> {
    spawn(spec, drive)
}

/// Starts a session thread that runs `driver` (a `BacktestEngine` here, a `LiveNode` in
/// [`super::live::session`]); the handle, commands, progress and end are the same.
pub(crate) fn spawn<F>(spec: SessionSpec, driver: F) -> std::io::Result<SessionHandle>
where
    F: FnOnce(
            SessionSpec,
            &SwapSlot,
            &Progress,
            &mpsc::Receiver<Command>,
        ) -> Result<SessionEnd, BacktestError>
        + Send
        + 'static,
{
    let slot = SwapSlot::default();
    let progress = Arc::new(Progress::default());
    progress
        .total
        .store(spec.data.len() as u64, Ordering::Relaxed);
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name(format!("session-{}", spec.id))
        .spawn({
            let slot = slot.clone();
            let progress = Arc::clone(&progress);
            move || run(spec, &slot, &progress, &rx, driver)
        })?;
    Ok(SessionHandle {
        slot,
        progress,
        commands: tx,
        thread: Some(thread),
    })
}

fn run<F>(
    spec: SessionSpec,
    slot: &SwapSlot,
    progress: &Progress,
    commands: &mpsc::Receiver<Command>,
    driver: F,
) -> SessionEnd
where
    F: FnOnce(
        SessionSpec,
        &SwapSlot,
        &Progress,
        &mpsc::Receiver<Command>,
    ) -> Result<SessionEnd, BacktestError>,
{
    let sha256 = spec.instance.sha256().to_string();
    let result = driver(spec, slot, progress, commands);
    progress.finished.store(true, Ordering::Release);
    // A swap that arrived after the last event will never be served.
    while let Some(request) = slot.cancel() {
        let _ = request.reply.send(SwapReply::Refused {
            reason: "the session has ended".into(),
        });
    }
    result.unwrap_or_else(|e| SessionEnd {
        events: progress.fed.load(Ordering::Relaxed),
        delivered: 0,
        snapshot: None,
        snapshot_bytes: None,
        sha256,
        quarantined: false,
        stopped: false,
        report: None,
        error: Some(e.to_string()),
        recording: None,
        recording_error: None,
    })
}

fn drive(
    spec: SessionSpec,
    slot: &SwapSlot,
    progress: &Progress,
    commands: &mpsc::Receiver<Command>,
) -> Result<SessionEnd, BacktestError> {
    let nerr = BacktestError::Nautilus;
    let (mut engine, _venues) = backtest::new_engine(&spec.instruments, &spec.balances)?;
    let sid = backtest::strategy_id(&spec.strategy_name, 0);
    let shared: SharedInstance = Rc::new(RefCell::new(spec.instance));
    let point = SwapPoint::new(
        slot.clone(),
        Some(Arc::clone(&spec.sink)),
        spec.audit.clone(),
        format!("deployment {}", spec.id),
    );
    let tally = SharedTally::default();
    let strategy = ComponentStrategy::new(
        sid,
        Rc::clone(&shared),
        spec.queue,
        Arc::clone(&spec.table),
        Rc::clone(&tally),
    )
    .with_swap(point);
    let delivered = strategy.delivered_counter();
    engine.add_strategy(strategy).map_err(nerr)?;

    let mut marks = report::Marks::new();
    let mut data: VecDeque<Data> = spec.data.into();
    let first_ts = data.front().map_or(0, |d| d.ts_init().as_u64());
    let started = Instant::now();
    let mut last_progress = Instant::now();
    let mut signal_seq = 0_i64;
    let mut stopped = false;
    let mut fed = 0_u64;
    let mut batch = 0_u64;
    while !data.is_empty() {
        let mut signals = Vec::new();
        loop {
            match commands.try_recv() {
                Ok(Command::Signal(s)) => signals.push(*s),
                Ok(Command::Stop) | Err(mpsc::TryRecvError::Disconnected) => {
                    stopped = true;
                    break;
                }
                Err(mpsc::TryRecvError::Empty) => break,
            }
        }
        if stopped {
            break;
        }
        let due = match spec.speed {
            Speed::Max => CHUNK.min(data.len()),
            Speed::Factor(f) => {
                let elapsed = started.elapsed().as_secs_f64() * f;
                let horizon = first_ts.saturating_add((elapsed * 1e9) as u64);
                data.iter()
                    .take(CHUNK)
                    .take_while(|d| d.ts_init().as_u64() <= horizon)
                    .count()
            }
        };
        if due == 0 && signals.is_empty() {
            std::thread::sleep(next_wait(spec.speed, &data, first_ts, started));
            continue;
        }
        let mut chunk: Vec<Data> = data.drain(..due).collect();
        for d in &chunk {
            report::observe(&mut marks, d);
        }
        let now = chunk
            .last()
            .map_or(progress.sim_ts.load(Ordering::Relaxed), |d| {
                d.ts_init().as_u64()
            });
        for s in signals {
            signal_seq += 1;
            chunk.push(stamped(s, signal_seq, now));
        }
        chunk.sort_by_key(HasTsInit::ts_init);
        fed += due as u64;
        batch += 1;
        // Everything logged while the engine runs this batch carries its correlation.
        let span = tracing::debug_span!("batch", deployment = %spec.id, batch, events = due);
        let _entered = span.enter();
        engine.add_data(chunk, None, true, true).map_err(nerr)?;
        engine.run(None, None, None, true).map_err(nerr)?;
        engine.clear_data();
        // Nothing in a session reads the account's state history, and Nautilus copies all
        // of it on every fill: drop it, keeping the latest state (decision 0017).
        engine
            .kernel()
            .cache
            .borrow_mut()
            .purge_account_events(UnixNanos::from(now), 0);
        progress.fed.store(fed, Ordering::Relaxed);
        progress.sim_ts.store(now, Ordering::Relaxed);
        if last_progress.elapsed() >= PROGRESS_EVERY || data.is_empty() {
            last_progress = Instant::now();
            let cache = engine.kernel().cache.borrow();
            (spec.sink)(progress_event(
                &cache, sid, &marks, &shared, &tally, progress,
            ));
        }
    }
    // The state is taken before the engine stops the strategy (on-stop may change it).
    let (snapshot, quarantined, sha256) = final_state(&shared);
    engine.end();
    let cache = engine.kernel().cache.borrow();
    let report = report::strategy_report(&cache, &sid, &marks, None);
    Ok(SessionEnd {
        events: fed,
        delivered: delivered.get(),
        snapshot_bytes: snapshot.as_ref().map(Vec::len),
        snapshot,
        sha256,
        quarantined,
        stopped,
        report: Some(report),
        error: None,
        recording: None,
        recording_error: None,
    })
}

/// A progress event for the stream: where the session is, its fills, PnL and sandbox
/// figures.
pub(crate) fn progress_event(
    cache: &nautilus_common::cache::Cache,
    sid: nautilus_model::identifiers::StrategyId,
    marks: &report::Marks,
    shared: &SharedInstance,
    tally: &SharedTally,
    progress: &Progress,
) -> AdapterEvent {
    let r = report::strategy_report(cache, &sid, marks, None);
    let open: std::collections::HashSet<String> = cache
        .client_order_ids_open(None, None, Some(&sid), None)
        .iter()
        .map(ToString::to_string)
        .collect();
    let (p, refused) = {
        let i = shared.borrow();
        let counts = i.host().risk_gate.counts();
        (i.profile(), counts.rejected.values().sum::<u64>())
    };
    AdapterEvent::Progress {
        events: progress.fed.load(Ordering::Relaxed),
        total: progress.total.load(Ordering::Relaxed),
        sim_ts: progress.sim_ts.load(Ordering::Relaxed),
        fills: r.fills.len() as u64,
        callbacks: p.callbacks,
        fuel_total: p.fuel_total,
        orders_refused: refused,
        signals_received: tally.borrow().received,
        realized_pnl: r.realized_pnl,
        unrealized_pnl: r.unrealized_pnl,
        open_orders_total: open.len() as u64,
        open_orders: r
            .orders
            .into_iter()
            .filter(|o| open.contains(o.client_order_id.as_str()))
            .take(crate::nautilus::hotswap::OPEN_ORDERS_SHOWN)
            .collect(),
    }
}

/// The plugin's state to keep (`None` if quarantined), whether it is quarantined, and the
/// running version.
pub(crate) type FinalState = (Option<Vec<u8>>, bool, String);

/// The [`FinalState`] of the session's plugin: taken before the engine stops the strategy
/// (on-stop may change it).
pub(crate) fn final_state(shared: &SharedInstance) -> FinalState {
    let mut instance = shared.borrow_mut();
    let snap = if instance.is_quarantined() {
        None
    } else {
        instance.snapshot().ok()
    };
    (
        snap,
        instance.is_quarantined(),
        instance.sha256().to_string(),
    )
}

/// A live signal enters the replay at the current simulated time.
pub(crate) fn stamped(mut signal: Signal, seq: i64, now: u64) -> Data {
    signal.timestamp = now;
    crate::signals::nautilus::to_data(signal, seq)
}

/// How long to sleep before the next event is due (at most [`TICK`]).
fn next_wait(speed: Speed, data: &VecDeque<Data>, first_ts: u64, started: Instant) -> Duration {
    let (Speed::Factor(f), Some(next)) = (speed, data.front()) else {
        return Duration::ZERO;
    };
    let due_s = next.ts_init().as_u64().saturating_sub(first_ts) as f64 / 1e9 / f;
    let wait = due_s - started.elapsed().as_secs_f64();
    if wait <= 0.0 {
        Duration::ZERO
    } else {
        Duration::from_secs_f64(wait).min(TICK)
    }
}
