//! A deployment's live session: one component on its own thread and its own `LiveNode`
//! (replay feed and sandbox venue, or a real venue's clients), with the paper session's handle, commands, progress
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
    durable::{Checkpointer, Durable, Moment},
    node::{Source, TradingNode},
    node_runtime,
    recording::{Plan, Seen},
    seed,
    venue::ResolvedVenue,
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

/// How a live deployment's session runs besides its spec.
#[derive(Debug)]
pub struct LiveSession {
    /// Wall-clock silence after which the feed counts as stale.
    pub stale_after: Duration,
    /// Where its recording goes when it ends ([`super::recording`]).
    pub recording: Option<Plan>,
    /// Where its checkpoints go, and what it resumes from ([`super::durable`]).
    pub durable: Option<(Durable, std::path::PathBuf)>,
    /// The real venue it trades on (`mode = "live"`); none: the replay feed and the
    /// sandbox venue.
    pub venue: Option<ResolvedVenue>,
}

/// Starts the session thread of a live deployment.
pub fn start(spec: SessionSpec, live: LiveSession) -> std::io::Result<SessionHandle> {
    paper::spawn(spec, move |spec, slot, progress, commands| {
        drive(spec, live, slot, progress, commands)
    })
}

#[allow(clippy::too_many_lines)]
fn drive(
    mut spec: SessionSpec,
    live: LiveSession,
    slot: &SwapSlot,
    progress: &Progress,
    commands: &mpsc::Receiver<Command>,
) -> Result<SessionEnd, BacktestError> {
    let LiveSession {
        stale_after,
        recording,
        durable,
        venue,
    } = live;
    let resume = durable.as_ref().and_then(|(d, _)| d.resume.as_ref());
    let mut checkpointer = durable
        .as_ref()
        .map(|(d, root)| Checkpointer::new(d, root.clone(), &spec.id))
        .transpose()
        .map_err(|e| BacktestError::Nautilus(anyhow::anyhow!("checkpoints of {}: {e}", spec.id)))?;
    let prior_events = resume.map_or(0, |r| r.checkpoint.events);
    progress.total.fetch_add(prior_events, Ordering::Relaxed);
    // Every version that runs, in order: the first, then each swap's or rollback's target.
    let versions = Arc::new(Mutex::new(resume.map_or_else(
        || vec![spec.instance.sha256().to_string()],
        |r| r.checkpoint.versions.clone(),
    )));
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
    let source = match venue {
        Some(venue) => Source::Venue(Box::new(venue)),
        None => Source::Replay {
            balances: match resume {
                Some(r) => {
                    seed::balances(&r.checkpoint.venue).map_err(|e| nerr(anyhow::anyhow!(e)))?
                }
                None => spec.balances.clone(),
            },
            data: spec.data,
        },
    };
    let mut node = TradingNode::build_from(
        &spec.instruments,
        source,
        options,
        spec.risk.control.clone(),
    )
    .map_err(nerr)?;
    let sid = backtest::strategy_id(&spec.strategy_name, 0);
    let queue = spec.queue.clone();
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
    .with_swap(point)
    .with_seeded_orders(
        (1..=resume.map_or(0, |r| r.checkpoint.venue.positions.len()))
            .map(|i| seed::order_id(i, sid)),
    )
    .with_warm_up(resume.map(|r| r.prefix.clone()).unwrap_or_default());
    let delivered = strategy.delivered_counter();
    let signals_seen = strategy.signals_seen_counter();
    node.node.add_strategy(strategy).map_err(nerr)?;
    if let Some(r) = resume {
        restore_venue(&mut node, r, &spec.id, sid, &shared, &spec.risk.control);
    }

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
    let mut signal_seq = resume.map_or(0, |r| r.checkpoint.signal_seq);
    // Signals delivered (as stamped), counting those before a resume.
    let mut signals_sent: Vec<crate::signals::Signal> =
        resume.map_or_else(Vec::new, |r| r.checkpoint.signals.clone());
    // Signals sent to the node by this session: every one is a journal line, after the
    // lines the checkpoint had.
    let journal_before = resume.map_or(0, |r| r.checkpoint.journal);
    let mut sent_here = 0_u64;
    let mut pending: std::collections::VecDeque<crate::signals::Signal> =
        resume.map_or_else(Default::default, |r| r.pending.iter().cloned().collect());
    let resume_ts = resume.map_or(0, |r| r.checkpoint.sim_ts);
    let keep_signals = recording.is_some() || checkpointer.is_some();
    let mut last_progress = Instant::now();
    let cache = Rc::clone(&node.node.kernel().cache);
    let (watchdog, feed, marks) = (
        Rc::clone(&node.watchdog),
        Arc::clone(&node.feed),
        Rc::clone(&node.marks),
    );
    let venues = node.venues.clone();
    let result = runtime.block_on(node.drive(TICK, |handle| {
        let started = feed.go.load(Ordering::Acquire);
        let mut send = |s: crate::signals::Signal| {
            signal_seq += 1;
            let now = feed.sim_ts.load(Ordering::Relaxed).max(resume_ts);
            let data = stamped(s.clone(), signal_seq, now);
            if get_data_event_sender().send(DataEvent::Data(data)).is_err() {
                tracing::error!(deployment = %spec.id, "the node's data channel is closed; signal dropped");
                return;
            }
            sent_here += 1;
            if keep_signals {
                let mut sent = s;
                sent.timestamp = now;
                signals_sent.push(sent);
            }
        };
        // Signals acknowledged after the checkpoint go first, once the venue is restored.
        while started && let Some(s) = pending.pop_front() {
            send(s);
        }
        loop {
            if !pending.is_empty() {
                break;
            }
            match commands.try_recv() {
                Ok(Command::Signal(s)) => send(*s),
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
            .store(prior_events + watchdog.processed() as u64, Ordering::Relaxed);
        progress
            .sim_ts
            .store(feed.sim_ts.load(Ordering::Relaxed), Ordering::Relaxed);
        if let Some(c) = checkpointer.as_mut()
            && started
            && !stopped.load(Ordering::Relaxed)
        {
            let cache = cache.borrow();
            let marks = marks.borrow();
            c.tick(&Moment {
                cache: &cache,
                venues: &venues,
                strategy: sid,
                shared: &shared,
                queue: &queue,
                marks: &marks,
                events: prior_events + watchdog.processed() as u64,
                sim_ts: feed.sim_ts.load(Ordering::Relaxed).max(resume_ts),
                signals: &signals_sent,
                signal_seq,
                journal: journal_before + sent_here,
                signals_settled: signals_seen.get() == sent_here,
                versions: &versions,
                audit: &spec.audit,
                control: &spec.risk.control,
            });
        }
        if last_progress.elapsed() >= PROGRESS_EVERY {
            last_progress = Instant::now();
            let cache = cache.borrow();
            let marks = marks.borrow();
            (spec.sink)(progress_event(&cache, sid, &marks, &shared, &tally, progress));
        }
    }));
    result.map_err(nerr)?;
    progress.fed.store(
        prior_events + watchdog.processed() as u64,
        Ordering::Relaxed,
    );
    let cache = cache.borrow();
    let marks = marks.borrow();
    (spec.sink)(progress_event(
        &cache, sid, &marks, &shared, &tally, progress,
    ));
    let (snapshot, quarantined, sha256) = kept
        .borrow_mut()
        .take()
        .unwrap_or_else(|| final_state(&shared));
    let mut report = report::strategy_report(&cache, &sid, &marks, None);
    if let Some(before) = checkpointer.as_ref().and_then(Checkpointer::before)
        && let Err(e) = before.before(&mut report)
    {
        tracing::error!(deployment = %spec.id, "merging the decisions from before the resume: {e}");
    }
    let stopped = stopped.load(Ordering::Relaxed) && !node.ended.get();
    let recording = recording.map(|plan| {
        let versions = versions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let delivered = node.delivered.borrow();
        let all: Vec<_>;
        let delivered: &[_] = match resume {
            Some(r) => {
                all = r.prefix.iter().chain(delivered.iter()).cloned().collect();
                &all
            }
            None => &delivered,
        };
        let written = plan.write(&Seen {
            delivered,
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
        events: prior_events + watchdog.processed() as u64,
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

/// Restores the checkpointed venue into the node once it has started, before its feed
/// plays: the position through reconciliation orders ([`seed::seed`]; the balances were the
/// sandbox's starting balances). Then checks the node against the checkpoint, and the
/// gate's book against Nautilus's. Any difference is audited and halts the deployment: it
/// does not trade on a book it cannot trust.
fn restore_venue(
    node: &mut TradingNode,
    resume: &super::durable::Resume,
    deployment: &str,
    sid: nautilus_model::identifiers::StrategyId,
    shared: &SharedInstance,
    control: &crate::capabilities::risk_gate::TradingControl,
) {
    let cache = Rc::clone(&node.node.kernel().cache);
    let exec = Rc::clone(&node.node.kernel().exec_engine);
    let venues = node.venues.clone();
    let expected = resume.checkpoint.venue.clone();
    let ts = resume.checkpoint.sim_ts;
    let (shared, control, deployment) =
        (Rc::clone(shared), control.clone(), deployment.to_string());
    node.before_feed(move || {
        let mut problems = Vec::new();
        if let Err(e) = seed::seed(&cache, &exec, sid, &expected.positions, ts) {
            problems.push(e);
        }
        let now = seed::capture(&cache.borrow(), &venues, sid);
        problems.extend(seed::compare(&expected, &now));
        {
            let mut instance = shared.borrow_mut();
            let gate = &mut instance.host_mut().risk_gate;
            let mut instruments: Vec<String> = gate
                .positions()
                .iter()
                .filter(|(_, qty, ..)| *qty != 0)
                .map(|(id, ..)| id.to_string())
                .chain(expected.positions.iter().map(|p| p.instrument_id.clone()))
                .collect();
            instruments.sort();
            instruments.dedup();
            for id in instruments {
                let net = std::str::FromStr::from_str(&id)
                    .map(|i| crate::nautilus::adapter::venue_net(&cache.borrow(), sid, i));
                match net {
                    // A difference is audited and halts the plugin (the gate's own check).
                    Ok(net) => problems.extend(gate.reconcile(&id, net)),
                    Err(e) => problems.push(format!("instrument `{id}`: {e}")),
                }
            }
        }
        let details = serde_json::json!({
            "deployment": deployment,
            "venue": now,
            "problems": problems,
        });
        if problems.is_empty() {
            tracing::info!(deployment = %deployment, "venue restored from the checkpoint: {}", details["venue"]);
            return;
        }
        let reason = format!(
            "resumed from a checkpoint that does not match the venue: {}",
            problems.join("; ")
        );
        if let Err(e) = control.audit().append(
            "recovery",
            crate::audit::AuditAction::PositionMismatch,
            &format!("deployment {deployment}"),
            details,
        ) {
            tracing::error!(deployment = %deployment, "mismatch not audited: {e}");
        }
        if let Err(e) = control.halt(
            &crate::capabilities::risk_gate::Scope::All,
            &reason,
            "recovery",
            Some(ts),
        ) {
            tracing::error!(deployment = %deployment, "cannot halt after a mismatch: {e}");
        }
        tracing::error!(deployment = %deployment, "{reason}; trading is HALTED");
    });
}
