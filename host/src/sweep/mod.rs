//! Parameter sweeps: one component backtested over a grid of parameter values, in
//! parallel, ranked.
//!
//! The component is compiled once and the data loaded once; both are shared by every
//! worker thread (`PluginComponent` and `SandboxEngine` are `Send + Sync`, the data is
//! plain values). Each worker takes the next grid index from a shared counter and runs it
//! through [`crate::backtest::run`] with its own Nautilus `BacktestEngine`, instance table,
//! risk hub and audit trail: Nautilus engines hold `Rc`/`RefCell` state and stay on the
//! thread that built them, and nothing one run changes is seen by another. So every row is
//! a function of its parameters only, and the ranked table is the same whatever the number
//! of workers (see `docs/decisions/0016-parameter-sweeps.md`).

pub mod grid;
pub mod row;
pub mod table;

use std::{
    collections::BTreeMap,
    panic::AssertUnwindSafe,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
        mpsc,
    },
    time::Instant,
};

use nautilus_model::{data::Data, instruments::InstrumentAny, types::Money};
use stratbox_manifest::ParamValue;

pub use self::{
    grid::{Grid, MAX_RUNS},
    row::{Row, Status},
    table::RankBy,
};
use crate::{
    audit::AuditLog,
    backtest::{self, BacktestError, BacktestSpec, DEFAULT_CHUNK, SignalInput, StrategySpec},
    capabilities::risk_gate::{RiskHub, RiskPolicy},
    catalog::instrument_defs::Instruments,
    notify::Notifiers,
    sandbox::{InstantiateError, PluginComponent, SandboxEngine},
};

/// Everything the runs of a sweep share.
#[derive(Debug)]
pub struct Sweep<'a> {
    pub engine: &'a SandboxEngine,
    pub component: &'a PluginComponent,
    pub instrument: InstrumentAny,
    /// Instrument definitions; each run builds its own table from them (the table holds
    /// the latest quote a plugin can read, which is per run).
    pub defs: &'a Instruments,
    /// Market data, sorted by `ts_init`; each run gets a copy.
    pub data: &'a [Data],
    pub balance: Money,
    /// The risk policy every run's gate applies (each run has its own hub and state).
    pub policy: RiskPolicy,
    /// The currency PnL is ranked in.
    pub settlement: String,
    /// Every run's full parameter list, by grid index.
    pub points: Vec<Vec<(String, ParamValue)>>,
    /// Names of the swept parameters (shown in each row).
    pub swept: Vec<String>,
}

impl Sweep<'_> {
    /// Runs grid index `index` on the calling thread.
    #[must_use]
    pub fn run_one(&self, index: usize) -> Row {
        self.run_one_until(index, &AtomicBool::new(false))
            .unwrap_or_else(|| {
                Row::without_report(
                    index,
                    BTreeMap::new(),
                    Status::Error,
                    "cancelled".to_string(),
                )
            })
    }

    /// As [`Self::run_one`]; `None` when `cancel` stopped the run before its end.
    #[must_use]
    pub fn run_one_until(&self, index: usize, cancel: &AtomicBool) -> Option<Row> {
        let started = Instant::now();
        let params = self.points.get(index).cloned().unwrap_or_default();
        let shown: BTreeMap<String, ParamValue> = params
            .iter()
            .filter(|(k, _)| self.swept.contains(k))
            .cloned()
            .collect();
        let run = || {
            let audit = AuditLog::memory();
            let spec = BacktestSpec {
                instruments: vec![self.instrument.clone()],
                table: Arc::new(self.defs.table()),
                data: self.data.to_vec(),
                balances: vec![self.balance],
                strategies: vec![StrategySpec::Component {
                    component: self.component,
                    params,
                }],
                chunk: DEFAULT_CHUNK,
                timing: false,
                risk: RiskHub::new(self.policy.clone(), audit.clone(), Notifiers::log()),
                signals: SignalInput::default(),
                purge_account_events: true,
            };
            backtest::run_until(spec, self.engine, &audit, &mut |_, _| {}, cancel)
        };
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(run));
        let mut row = match outcome {
            Ok(Ok(outcome)) => Row::from_report(index, shown, &outcome.report, &self.settlement),
            Ok(Err(BacktestError::Cancelled { .. })) => return None,
            Ok(Err(BacktestError::Instantiate {
                source: InstantiateError::InitRejected { message, .. },
                ..
            })) => Row::without_report(index, shown, Status::Refused, message),
            Ok(Err(BacktestError::Instantiate {
                source: InstantiateError::Faulted(fault),
                ..
            })) => Row::without_report(index, shown, Status::Faulted, fault.to_string()),
            Ok(Err(e)) => Row::without_report(index, shown, Status::Error, e.to_string()),
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(ToString::to_string)
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".to_string());
                Row::without_report(
                    index,
                    shown,
                    Status::Error,
                    format!("the run panicked: {what}"),
                )
            }
        };
        row.wall_ms = (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0;
        Some(row)
    }

    /// Runs every grid index on `jobs` worker threads; `finished(row, done)` is called on
    /// the calling thread as each run ends (in completion order). Returns the rows in grid
    /// order, unranked.
    pub fn run(&self, jobs: usize, finished: &mut dyn FnMut(&Row, usize)) -> Vec<Row> {
        self.run_until(jobs, &AtomicBool::new(false), finished)
            .into_iter()
            .enumerate()
            .map(|(index, row)| {
                row.unwrap_or_else(|| {
                    Row::without_report(
                        index,
                        BTreeMap::new(),
                        Status::Error,
                        "the worker running it stopped".to_string(),
                    )
                })
            })
            .collect()
    }

    /// As [`Self::run`], until `cancel` is set: then no new run starts and the running ones
    /// stop at their next chunk boundary. Rows in grid order; `None` for the runs that did
    /// not finish.
    pub fn run_until(
        &self,
        jobs: usize,
        cancel: &AtomicBool,
        finished: &mut dyn FnMut(&Row, usize),
    ) -> Vec<Option<Row>> {
        let total = self.points.len();
        let next = AtomicUsize::new(0);
        let mut rows: Vec<Option<Row>> = vec![None; total];
        let workers = jobs.clamp(1, total.max(1));
        std::thread::scope(|s| {
            let (tx, rx) = mpsc::channel::<Row>();
            let mut spawned = 0;
            for w in 0..workers {
                let tx = tx.clone();
                let next = &next;
                let work = move || {
                    loop {
                        if cancel.load(Ordering::Relaxed) {
                            break;
                        }
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        if index >= total {
                            break;
                        }
                        let Some(row) = self.run_one_until(index, cancel) else {
                            break;
                        };
                        if tx.send(row).is_err() {
                            break;
                        }
                    }
                };
                match std::thread::Builder::new()
                    .name(format!("sweep-{w}"))
                    .spawn_scoped(s, work)
                {
                    Ok(_) => spawned += 1,
                    Err(e) => tracing::warn!("cannot start sweep worker {w}: {e}"),
                }
            }
            drop(tx);
            if spawned == 0 {
                // No thread could start: run here, one after the other.
                for (index, slot) in rows.iter_mut().enumerate() {
                    if cancel.load(Ordering::Relaxed) {
                        break;
                    }
                    let Some(row) = self.run_one_until(index, cancel) else {
                        break;
                    };
                    finished(&row, index + 1);
                    *slot = Some(row);
                }
                return;
            }
            let mut done = 0;
            for row in rx {
                done += 1;
                finished(&row, done);
                let index = row.index;
                if let Some(slot) = rows.get_mut(index) {
                    *slot = Some(row);
                }
            }
        });
        rows
    }
}
