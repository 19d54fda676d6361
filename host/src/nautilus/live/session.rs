//! A deployment's live session: one component on its own thread and its own `LiveNode`
//! (replay feed, sandbox venue), with the paper session's handle, commands, progress
//! events and end. Hot-swap, halt, resume and the event stream therefore work the same for
//! both kinds: they go through the adapter's swap slot, the risk hub's trading control and
//! the event sink, none of which depends on the engine.

use std::{
    cell::RefCell,
    rc::Rc,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
        mpsc,
    },
    time::{Duration, Instant},
};

use nautilus_common::{live::runner::get_data_event_sender, messages::DataEvent};

use super::{LiveOptions, node::PaperNode, node_runtime};
use crate::{
    backtest::{self, BacktestError, report},
    nautilus::{
        adapter::{ComponentStrategy, SharedInstance, SharedTally},
        hotswap::{SwapPoint, SwapSlot},
        paper::{
            self, Command, FinalState, PROGRESS_EVERY, Progress, SessionEnd, SessionHandle,
            SessionSpec, TICK, final_state, progress_event, stamped,
        },
    },
};

/// Starts the session thread of a live deployment.
pub fn start(spec: SessionSpec, stale_after: Duration) -> std::io::Result<SessionHandle> {
    paper::spawn(spec, move |spec, slot, progress, commands| {
        drive(spec, stale_after, slot, progress, commands)
    })
}

fn drive(
    spec: SessionSpec,
    stale_after: Duration,
    slot: &SwapSlot,
    progress: &Progress,
    commands: &mpsc::Receiver<Command>,
) -> Result<SessionEnd, BacktestError> {
    let nerr = BacktestError::Nautilus;
    let runtime = node_runtime()?;
    let _entered = runtime.enter();
    let options = LiveOptions {
        speed: spec.speed,
        stale_after,
        record_arrivals: false,
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
                    let data = stamped(*s, signal_seq, now);
                    if get_data_event_sender().send(DataEvent::Data(data)).is_err() {
                        tracing::error!(deployment = %spec.id, "the node's data channel is closed; signal dropped");
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
    Ok(SessionEnd {
        events: watchdog.processed() as u64,
        delivered: delivered.get(),
        snapshot_bytes: snapshot.as_ref().map(Vec::len),
        snapshot,
        sha256,
        quarantined,
        stopped: stopped.load(Ordering::Relaxed) && !node.ended.get(),
        report: Some(report),
        error: None,
    })
}
