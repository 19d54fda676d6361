//! A deployment's live session: one component on its own thread and its own `LiveNode`
//! (replay feed, sandbox venue), with the paper session's handle, commands, progress
//! events and end. Hot-swap, halt, resume and the event stream therefore work the same for
//! both kinds: they go through the adapter's swap slot, the risk hub's trading control and
//! the event sink, none of which depends on the engine.

use std::{
    cell::RefCell,
    rc::Rc,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, Ordering},
        mpsc,
    },
    time::{Duration, Instant},
};

use nautilus_common::{live::runner::get_data_event_sender, messages::DataEvent};

use super::{
    LiveOptions,
    node::PaperNode,
    node_runtime,
    recording::{Plan, Seen},
};
use crate::{
    backtest::{self, BacktestError, report},
    nautilus::{
        adapter::{ComponentStrategy, SharedInstance, SharedTally},
        hotswap::{AdapterEvent, SwapPoint, SwapSlot},
        paper::{
            self, Command, FinalState, PROGRESS_EVERY, Progress, SessionEnd, SessionHandle,
            SessionSpec, TICK, final_state, progress_event, stamped,
        },
    },
};

/// Starts the session thread of a live deployment; with `recording`, what it receives and
/// decides is written there when it ends ([`super::recording`]).
pub fn start(
    spec: SessionSpec,
    stale_after: Duration,
    recording: Option<Plan>,
) -> std::io::Result<SessionHandle> {
    paper::spawn(spec, move |spec, slot, progress, commands| {
        drive(spec, stale_after, recording, slot, progress, commands)
    })
}

fn drive(
    mut spec: SessionSpec,
    stale_after: Duration,
    recording: Option<Plan>,
    slot: &SwapSlot,
    progress: &Progress,
    commands: &mpsc::Receiver<Command>,
) -> Result<SessionEnd, BacktestError> {
    // Every version that runs, in order: the first, then each swap's or rollback's target.
    let versions = Arc::new(Mutex::new(vec![spec.instance.sha256().to_string()]));
    let sink = Arc::clone(&spec.sink);
    spec.sink = Arc::new({
        let versions = Arc::clone(&versions);
        move |event| {
            if let AdapterEvent::Swapped { to_sha256, .. }
            | AdapterEvent::RolledBack { to_sha256, .. } = &event
            {
                versions
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(to_sha256.clone());
            }
            sink(event);
        }
    });
    let nerr = BacktestError::Nautilus;
    let runtime = node_runtime()?;
    let _entered = runtime.enter();
    let options = LiveOptions {
        speed: spec.speed,
        stale_after,
        record_arrivals: false,
        record_feed: recording.is_some(),
    };
    let mut node = PaperNode::build(
        &spec.instruments,
        &spec.balances,
        spec.data,
        options,
        spec.risk.control.clone(),
    )
    .map_err(nerr)?;
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
    node.node.add_strategy(strategy).map_err(nerr)?;

    // The plugin's state is kept when the data runs out or a stop is asked for, before the
    // node stops the strategy (its on-stop may change the state).
    let kept: Rc<RefCell<Option<FinalState>>> = Rc::default();
    {
        let (kept, shared) = (Rc::clone(&kept), Rc::clone(&shared));
        node.on_replay_end(move || {
            kept.borrow_mut()
                .get_or_insert_with(|| final_state(&shared));
        });
    }
    let stopped = AtomicBool::new(false);
    let mut signal_seq = 0_i64;
    let mut signals_sent = Vec::new();
    let mut last_progress = Instant::now();
    let cache = Rc::clone(&node.node.kernel().cache);
    let (watchdog, feed, marks) = (
        Rc::clone(&node.watchdog),
        Arc::clone(&node.feed),
        Rc::clone(&node.marks),
    );
    let result = runtime.block_on(node.drive(TICK, |handle| {
        loop {
            match commands.try_recv() {
                Ok(Command::Signal(s)) => {
                    signal_seq += 1;
                    let now = feed.sim_ts.load(Ordering::Relaxed);
                    let data = stamped((*s).clone(), signal_seq, now);
                    if get_data_event_sender().send(DataEvent::Data(data)).is_err() {
                        tracing::error!(deployment = %spec.id, "the node's data channel is closed; signal dropped");
                    } else if recording.is_some() {
                        let mut sent = *s;
                        sent.timestamp = now;
                        signals_sent.push(sent);
                    }
                }
                Ok(Command::Stop) | Err(mpsc::TryRecvError::Disconnected) => {
                    if !stopped.swap(true, Ordering::Relaxed) {
                        kept.borrow_mut().get_or_insert_with(|| final_state(&shared));
                        handle.stop();
                    }
                    break;
                }
                Err(mpsc::TryRecvError::Empty) => break,
            }
        }
        progress
            .fed
            .store(watchdog.processed() as u64, Ordering::Relaxed);
        progress
            .sim_ts
            .store(feed.sim_ts.load(Ordering::Relaxed), Ordering::Relaxed);
        if last_progress.elapsed() >= PROGRESS_EVERY {
            last_progress = Instant::now();
            let cache = cache.borrow();
            let marks = marks.borrow();
            (spec.sink)(progress_event(&cache, sid, &marks, &shared, &tally, progress));
        }
    }));
    result.map_err(nerr)?;
    progress
        .fed
        .store(watchdog.processed() as u64, Ordering::Relaxed);
    let cache = cache.borrow();
    let marks = marks.borrow();
    (spec.sink)(progress_event(
        &cache, sid, &marks, &shared, &tally, progress,
    ));
    let (snapshot, quarantined, sha256) = kept
        .borrow_mut()
        .take()
        .unwrap_or_else(|| final_state(&shared));
    let report = report::strategy_report(&cache, &sid, &marks, None);
    let stopped = stopped.load(Ordering::Relaxed) && !node.ended.get();
    let recording = recording.map(|plan| {
        let versions = versions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let written = plan.write(&Seen {
            delivered: &node.delivered.borrow(),
            signals: &signals_sent,
            report: &report,
            versions,
            stopped,
        });
        match &written {
            Ok(path) => {
                tracing::info!(deployment = %spec.id, "recording written to {}", path.display())
            }
            Err(e) => tracing::error!(deployment = %spec.id, "recording not written: {e}"),
        }
        written.map(|p| p.display().to_string())
    });
    let (recording, recording_error) = match recording {
        Some(Ok(path)) => (Some(path), None),
        Some(Err(e)) => (None, Some(e)),
        None => (None, None),
    };
    Ok(SessionEnd {
        events: watchdog.processed() as u64,
        delivered: delivered.get(),
        snapshot_bytes: snapshot.as_ref().map(Vec::len),
        snapshot,
        sha256,
        quarantined,
        stopped,
        report: Some(report),
        error: None,
        recording,
        recording_error,
    })
}
