//! What makes a live deployment survive a crash of its service (decision 0031): the
//! checkpoints its session writes while it trades ([`Checkpointer`]), and what a resumed
//! session starts from ([`Resume`]).

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use cap_std::fs::Dir;
use nautilus_common::cache::Cache;
use nautilus_model::{
    data::Data,
    identifiers::{StrategyId, Venue},
};

use super::{
    checkpoint::{self, CHECKPOINT_FORMAT, Checkpoint, Decisions},
    seed, watchdog,
};
use crate::{
    audit::AuditLog,
    backtest::report::{self, Marks},
    capabilities::risk_gate::TradingControl,
    nautilus::{adapter::SharedInstance, router::PendingQueue},
    signals::Signal,
};

/// Longest time between two checkpoints while the deployment trades (a fill brings the
/// next one forward to the next quiet tick).
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// Where a live deployment keeps its checkpoints, and what it resumes from.
#[derive(Debug)]
pub struct Durable {
    /// `<state_dir>/checkpoints`.
    pub dir: Dir,
    pub resume: Option<Resume>,
}

/// What a session resumed after a crash starts from. The service has already restored the
/// plugin's state, the gate's book and the deployment's trading states into the instance
/// and hub it hands over; the session restores the venue and continues the feed.
#[derive(Debug)]
pub struct Resume {
    pub checkpoint: Checkpoint,
    /// Signals acknowledged after the checkpoint (the journal's tail): delivered first.
    pub pending: Vec<Signal>,
    /// The market events delivered before the checkpoint, for the recording.
    pub prefix: Vec<Data>,
}

/// Where the session stands, as a checkpoint needs it.
pub(super) struct Moment<'a> {
    pub cache: &'a Cache,
    pub venues: &'a [Venue],
    pub strategy: StrategyId,
    pub shared: &'a SharedInstance,
    pub queue: &'a PendingQueue,
    pub marks: &'a Marks,
    /// Market events handled, counting those before a resume.
    pub events: u64,
    pub sim_ts: u64,
    /// Every signal delivered, counting those before a resume.
    pub signals: &'a [Signal],
    pub signal_seq: i64,
    /// Journal lines handed to the node, counting those before a resume.
    pub journal: u64,
    /// True when every signal handed to the node has reached the strategy.
    pub signals_settled: bool,
    /// Every version that ran (read only when a checkpoint is written).
    pub versions: &'a std::sync::Mutex<Vec<String>>,
    pub audit: &'a AuditLog,
    pub control: &'a TradingControl,
}

/// Writes a deployment's checkpoints.
pub(super) struct Checkpointer {
    dir: Dir,
    root: PathBuf,
    deployment: String,
    seq: u64,
    last: Option<Instant>,
    last_orders: usize,
    /// What was decided before a resume (merged into every later checkpoint).
    before: Option<Decisions>,
    /// The last failure, logged once until a write succeeds again.
    failing: Option<String>,
}

impl Checkpointer {
    pub fn new(durable: &Durable, root: PathBuf, deployment: &str) -> std::io::Result<Self> {
        let resumed = durable.resume.as_ref().map(|r| &r.checkpoint);
        Ok(Self {
            dir: durable.dir.try_clone()?,
            root,
            deployment: deployment.to_string(),
            seq: resumed.map_or(0, |c| c.seq),
            last: None,
            last_orders: 0,
            before: resumed.map(|c| c.decisions.clone()),
            failing: None,
        })
    }

    /// The decisions before the resume, if this session resumed.
    pub fn before(&self) -> Option<&Decisions> {
        self.before.as_ref()
    }

    /// Writes a checkpoint if one is due (a second since the last, or an order since) and
    /// the session is quiet. Failures are logged (once until one succeeds) and retried at
    /// the next tick: trading goes on, with an older checkpoint to resume from.
    pub fn tick(&mut self, m: &Moment<'_>) {
        let orders = m
            .cache
            .orders_total_count(None, None, Some(&m.strategy), None, None);
        let due =
            self.last.is_none_or(|t| t.elapsed() >= CHECKPOINT_EVERY) || orders != self.last_orders;
        if !due {
            return;
        }
        match self.take(m) {
            Ok(true) => {
                self.last = Some(Instant::now());
                self.last_orders = orders;
                if self.failing.take().is_some() {
                    tracing::info!(deployment = %self.deployment, "checkpoints are written again");
                }
            }
            Ok(false) => {}
            Err(e) => {
                if self.failing.as_deref() != Some(e.as_str()) {
                    tracing::error!(deployment = %self.deployment, "checkpoint not written: {e}");
                    self.failing = Some(e);
                }
            }
        }
    }

    /// Writes a checkpoint now if the session is quiet; false if it is not.
    fn take(&mut self, m: &Moment<'_>) -> Result<bool, String> {
        if !m.signals_settled || !m.queue.is_empty() || !seed::quiet(m.cache, m.strategy) {
            return Ok(false);
        }
        let (snapshot, digest, gate, market) = {
            let mut instance = m.shared.borrow_mut();
            if instance.is_quarantined() {
                // Its last good state is in the previous checkpoint.
                return Ok(false);
            }
            let Ok(gate) = instance.host().risk_gate.checkpoint() else {
                return Ok(false);
            };
            let snapshot = instance
                .snapshot()
                .map_err(|e| format!("the plugin's snapshot() failed: {e}"))?;
            let market = instance.host().market_data.session();
            (snapshot, instance.sha256().to_string(), gate, market)
        };
        let mut report = report::strategy_report(m.cache, &m.strategy, m.marks, None);
        if let Some(before) = &self.before {
            before.before(&mut report)?;
        }
        self.seq += 1;
        let cp = Checkpoint {
            format: CHECKPOINT_FORMAT,
            deployment: self.deployment.clone(),
            seq: self.seq,
            written_ns: crate::time::wall_clock_ns(),
            digest,
            versions: m
                .versions
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone(),
            snapshot: Checkpoint::encode_snapshot(&snapshot),
            market: Some(market),
            events: m.events,
            sim_ts: m.sim_ts,
            signals: m.signals.to_vec(),
            signal_seq: m.signal_seq,
            journal: m.journal,
            next_order: m.queue.next_order_number(),
            gate,
            trading: m.control.own_states(watchdog::ACTOR),
            venue: seed::capture(m.cache, m.venues, m.strategy),
            decisions: Decisions::of(&report),
            audit_head: m.audit.head(),
        };
        checkpoint::write(&self.dir, &cp).map_err(|e| format!("{}: {e}", self.root.display()))?;
        Ok(true)
    }
}
