//! Backtests and sweeps as server jobs (decision 0036).
//!
//! A request is checked and its inputs prepared when it is posted (component, data, risk
//! policy, parameters, grid): a bad request is refused then, never a job that fails later.
//! Accepted jobs are stored (`queued`), audited, and wait for one of `job_workers` slots;
//! at most `job_queue` wait, one more is refused (`job-queue-full`). A job runs on a
//! blocking thread: a backtest in its own Nautilus `BacktestEngine`, fed in chunks, a sweep
//! through [`crate::sweep::Sweep`] on `job_workers` threads. Progress (events or grid
//! points done) goes to the stream at most every 250 ms; the end is stored, audited and
//! streamed. A cancel is audited first, then a queued job ends at once and a running one at
//! its next chunk boundary (Nautilus's `run` cannot be interrupted within a chunk).
//! Jobs a crash left `queued` or `running` are marked `interrupted` at the next start.

mod run;
pub mod store;

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use cap_std::fs::Dir;
use serde::{Deserialize, Serialize};
use tokio::sync::{Semaphore, broadcast, watch};

pub use self::run::{GridValues, JobRequest, ParamText, SweepResult, SweepRow};
use super::{
    AppState,
    auth::Principal,
    deployments,
    error::{ApiError, ErrorCode},
    registry,
};
use crate::audit::AuditAction;

/// What a job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    /// One backtest of one component: `bt-…`, with a `report.json`.
    Backtest,
    /// A grid of backtests, ranked: `sw-…`, with a result table.
    Sweep,
}

impl JobKind {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Backtest => "backtest",
            Self::Sweep => "sweep",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Backtest, Self::Sweep]
            .into_iter()
            .find(|k| k.name() == s)
    }

    fn prefix(self) -> &'static str {
        match self {
            Self::Backtest => "bt",
            Self::Sweep => "sw",
        }
    }
}

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    /// Waiting for a worker.
    Queued,
    Running,
    /// Ran to its end (a plugin fault is recorded in the report, not a job failure).
    Finished,
    /// The engine or the host failed (`error` says how).
    Failed,
    /// An operator cancelled it.
    Cancelled,
    /// The service stopped while it was queued or running (`error` says how).
    Interrupted,
}

impl JobStatus {
    const ALL: [Self; 6] = [
        Self::Queued,
        Self::Running,
        Self::Finished,
        Self::Failed,
        Self::Cancelled,
        Self::Interrupted,
    ];

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Finished => "finished",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Interrupted => "interrupted",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == s)
    }

    /// Whether the job has ended.
    #[must_use]
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Queued | Self::Running)
    }
}

/// Events (backtest) or grid points (sweep) done, of all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct JobProgress {
    pub done: u64,
    pub total: u64,
}

/// A job, as the endpoints show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobView {
    /// `bt-` or `sw-` and 12 hex digits.
    pub id: String,
    pub kind: JobKind,
    pub status: JobStatus,
    pub progress: JobProgress,
    /// The request as posted.
    #[schema(value_type = Object)]
    pub request: serde_json::Value,
    pub created_by: String,
    /// UNIX ns.
    pub created_ns: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_ns: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_ns: Option<i64>,
    /// Why it failed or was interrupted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Headline figures once finished: a backtest's `pnl`, `currency`, `max_drawdown_pct`,
    /// `sharpe`, `orders`, `fills` (and `fault`); a sweep's `runs`, `ok` and `best`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub summary: Option<serde_json::Value>,
}

/// A job message on `/v1/stream`: `{"job", "seq", "event": {"kind": "job-progress", "done",
/// "total"} | {"kind": "job-ended", "status"}}`; `seq` is 1, 2, 3, … per job.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobMessage {
    pub job: String,
    pub seq: u64,
    #[schema(value_type = Object)]
    pub event: serde_json::Value,
}

/// Why a running job was asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Cancel,
    Shutdown,
}

/// A job of this process, until it ends.
pub(crate) struct Job {
    id: String,
    kind: JobKind,
    status: Mutex<JobStatus>,
    stop: Mutex<Option<Stop>>,
    /// Set to stop a running job at its next chunk boundary.
    cancel: AtomicBool,
    done: AtomicU64,
    total: AtomicU64,
    seq: AtomicU64,
    ended: watch::Sender<bool>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Job {
    fn status(&self) -> JobStatus {
        *self.status.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn progress(&self) -> JobProgress {
        JobProgress {
            done: self.done.load(Ordering::Relaxed),
            total: self.total.load(Ordering::Relaxed),
        }
    }

    /// Moves `queued` to `to` (running, cancelled, interrupted); false if it is not queued.
    fn leave_queue(&self, to: JobStatus) -> bool {
        let mut s = self.status.lock().unwrap_or_else(PoisonError::into_inner);
        if *s == JobStatus::Queued {
            *s = to;
            true
        } else {
            false
        }
    }

    fn message(&self, event: serde_json::Value) -> JobMessage {
        JobMessage {
            job: self.id.clone(),
            seq: self.seq.fetch_add(1, Ordering::Relaxed) + 1,
            event,
        }
    }
}

/// The job pool of a service.
pub struct Jobs {
    /// `<state_dir>/jobs`: one folder per job.
    dir: Dir,
    slots: Arc<Semaphore>,
    workers: usize,
    waiting: AtomicUsize,
    max_waiting: usize,
    active: Mutex<BTreeMap<String, Arc<Job>>>,
    /// Job progress and ends, for `/v1/stream`.
    pub stream: broadcast::Sender<JobMessage>,
}

impl std::fmt::Debug for Jobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jobs").finish_non_exhaustive()
    }
}

/// The jobs folder's name in the state folder.
pub const JOBS_DIR: &str = "jobs";

/// Progress messages per job, at most one per this interval (and the last one).
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

impl Jobs {
    #[must_use]
    pub fn new(dir: Dir, workers: usize, max_waiting: usize) -> Self {
        let (stream, _) = broadcast::channel(4096);
        Self {
            dir,
            slots: Arc::new(Semaphore::new(workers.max(1))),
            workers: workers.max(1),
            waiting: AtomicUsize::new(0),
            max_waiting,
            active: Mutex::default(),
            stream,
        }
    }

    fn active(&self, id: &str) -> Option<Arc<Job>> {
        self.active
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned()
    }

    fn all_active(&self) -> Vec<Arc<Job>> {
        self.active
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    /// A job's folder, created if missing.
    fn folder(&self, id: &str) -> Result<Dir, String> {
        self.dir
            .create_dir_all(id)
            .and_then(|()| self.dir.open_dir(id))
            .map_err(|e| format!("the job folder {JOBS_DIR}/{id}: {e}"))
    }

    /// A stored file of a finished job.
    fn read(&self, id: &str, name: &str) -> Result<Vec<u8>, ApiError> {
        self.dir
            .open_dir(id)
            .and_then(|d| d.read(name))
            .map_err(|e| ApiError::internal(format!("{JOBS_DIR}/{id}/{name}: {e}")))
    }
}

/// Refuses anything but a job id of `kind` (`bt-`/`sw-` and 12 lowercase hex digits): ids
/// name folders under the state directory.
///
/// # Errors
/// 404: no such job can exist.
pub fn check_id(kind: JobKind, id: &str) -> Result<(), ApiError> {
    let ok = id
        .strip_prefix(kind.prefix())
        .and_then(|r| r.strip_prefix('-'))
        .is_some_and(|h| {
            h.len() == 12
                && h.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        });
    if ok {
        Ok(())
    } else {
        Err(ApiError::not_found(format!(
            "`{id}` is not a {} id ({}- and 12 hex digits)",
            kind.name(),
            kind.prefix()
        )))
    }
}

/// Checks `req`, prepares its inputs, stores and audits the job and queues it.
///
/// # Errors
/// A bad request (400, or 422 for parameters and data as deployments), an unknown
/// component (404), a full queue (429 `job-queue-full`).
pub async fn submit(
    state: &Arc<AppState>,
    who: &Principal,
    kind: JobKind,
    req: JobRequest,
) -> Result<JobView, ApiError> {
    registry::check_digest(&req.plugin)
        .map_err(|e| ApiError::bad_request(format!("plugin: {}", e.message)))?;
    let record = registry::get(&state.pool, &req.plugin)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "plugin: no component with digest {}; upload it with POST /v1/plugins (or `stratbox upload`)",
                req.plugin
            ))
        })?;
    let inputs = {
        let (st, req) = (Arc::clone(state), req.clone());
        tokio::task::spawn_blocking(move || run::prepare(&st, kind, &req))
            .await
            .map_err(|e| ApiError::internal(format!("preparing the job: {e}")))??
    };
    let jobs = &state.jobs;
    if jobs
        .waiting
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
            // Jobs counted here but not running yet take the free slots first.
            (n < jobs.max_waiting + jobs.slots.available_permits()).then_some(n + 1)
        })
        .is_err()
    {
        return Err(ApiError::new(
            ErrorCode::JobQueueFull,
            format!(
                "{} jobs wait for a worker already (job_queue = {}, job_workers = {}): retry when one has ended, or cancel one (DELETE /v1/backtests/{{id}} or /v1/sweeps/{{id}})",
                jobs.waiting.load(Ordering::SeqCst),
                jobs.max_waiting,
                jobs.workers
            ),
        ));
    }
    let queued = queue(state, who, kind, req, &record, inputs).await;
    if queued.is_err() {
        jobs.waiting.fetch_sub(1, Ordering::SeqCst);
    }
    queued
}

async fn queue(
    state: &Arc<AppState>,
    who: &Principal,
    kind: JobKind,
    req: JobRequest,
    record: &registry::PluginRecord,
    inputs: run::Inputs,
) -> Result<JobView, ApiError> {
    let id = deployments::new_id(kind.prefix())?;
    let request = serde_json::to_value(&req).unwrap_or_default();
    let view = JobView {
        id: id.clone(),
        kind,
        status: JobStatus::Queued,
        progress: JobProgress {
            done: 0,
            total: inputs.total(),
        },
        request: request.clone(),
        created_by: who.actor(),
        created_ns: crate::time::wall_clock_ns() as i64,
        started_ns: None,
        ended_ns: None,
        error: None,
        summary: None,
    };
    // The row and its audit record commit together: a job exists only once it is on record.
    let mut tx = state.begin().await?;
    store::insert(&mut *tx, &view).await?;
    let mut details = request;
    if let Some(o) = details.as_object_mut() {
        // The policy's text can be long: the record keeps its hash.
        if let Some(text) = o
            .remove("risk_policy")
            .and_then(|v| v.as_str().map(str::to_string))
        {
            o.insert(
                "risk_policy_sha256".into(),
                crate::sandbox::sha256_hex(text.as_bytes()).into(),
            );
        }
        o.insert("name".into(), record.name.clone().into());
        o.insert("version".into(), record.version.clone().into());
        o.insert("total".into(), view.progress.total.into());
    }
    state
        .audit_in(
            &mut tx,
            &who.actor(),
            AuditAction::JobStarted,
            &format!("{} {id}", kind.name()),
            details,
        )
        .await?;
    super::audit_tx::commit(tx, "a job").await?;
    let (ended, _) = watch::channel(false);
    let job = Arc::new(Job {
        id: id.clone(),
        kind,
        status: Mutex::new(JobStatus::Queued),
        stop: Mutex::new(None),
        cancel: AtomicBool::new(false),
        done: AtomicU64::new(0),
        total: AtomicU64::new(view.progress.total),
        seq: AtomicU64::new(0),
        ended,
    });
    state
        .jobs
        .active
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(id, Arc::clone(&job));
    metrics::counter!("stratbox_jobs_started_total", "kind" => kind.name()).increment(1);
    tokio::spawn(drive(Arc::clone(state), job, inputs));
    Ok(view)
}

/// Waits for a worker slot, runs the job on a blocking thread, stores its end.
async fn drive(state: Arc<AppState>, job: Arc<Job>, inputs: run::Inputs) {
    let mut ended = job.ended.subscribe();
    let slot = tokio::select! {
        slot = Arc::clone(&state.jobs.slots).acquire_owned() => slot.ok(),
        // Cancelled (or interrupted) while it waited: whoever ended it freed its place.
        _ = ended.wait_for(|e| *e) => return,
    };
    if !job.leave_queue(JobStatus::Running) {
        return;
    }
    state.jobs.waiting.fetch_sub(1, Ordering::SeqCst);
    let started = crate::time::wall_clock_ns() as i64;
    if let Err(e) = store::set_running(&state.pool, &job.id, started).await {
        tracing::error!(job = %job.id, "{e}");
    }
    let end = {
        let (st, job) = (Arc::clone(&state), Arc::clone(&job));
        tokio::task::spawn_blocking(move || run::execute(&st, &job, inputs))
            .await
            .unwrap_or_else(|e| run::End::failed(format!("the job's thread panicked: {e}")))
    };
    drop(slot);
    let stop = *job.stop.lock().unwrap_or_else(PoisonError::into_inner);
    let (status, error) = match (end.status, stop) {
        (JobStatus::Cancelled, Some(Stop::Shutdown)) => (
            JobStatus::Interrupted,
            Some("the service shut down while the job ran; submit it again".to_string()),
        ),
        (s, _) => (s, end.error),
    };
    let progress = job.progress();
    let details = serde_json::json!({ "status": status.name(), "progress": progress, "error": error, "summary": end.summary });
    let action = if status == JobStatus::Interrupted {
        AuditAction::JobInterrupted
    } else {
        AuditAction::JobEnded
    };
    let _ = state
        .audit(
            "host",
            action,
            &format!("{} {}", job.kind.name(), job.id),
            details,
        )
        .await;
    let stored = store::Ended {
        status,
        progress,
        error,
        summary: end.summary,
        ended_ns: crate::time::wall_clock_ns() as i64,
    };
    end_job(&state, &job, &stored).await;
}

/// Stores the end, then tells this process and the stream, and forgets the job.
async fn end_job(state: &AppState, job: &Job, e: &store::Ended) {
    if let Err(err) = store::finish(&state.pool, &job.id, e).await {
        tracing::error!(job = %job.id, "{err}");
    }
    *job.status.lock().unwrap_or_else(PoisonError::into_inner) = e.status;
    metrics::counter!("stratbox_jobs_ended_total", "kind" => job.kind.name(), "status" => e.status.name())
        .increment(1);
    let _ = state
        .jobs
        .stream
        .send(job.message(serde_json::json!({ "kind": "job-ended", "status": e.status.name() })));
    state
        .jobs
        .active
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(&job.id);
    job.ended.send_replace(true);
}

/// A job of `kind` as stored, with the live status and progress of a job of this process.
///
/// # Errors
/// 404 for no such job.
pub async fn view(state: &AppState, kind: JobKind, id: &str) -> Result<JobView, ApiError> {
    check_id(kind, id)?;
    let mut v = store::get(&state.pool, id)
        .await?
        .filter(|v| v.kind == kind)
        .ok_or_else(|| ApiError::not_found(format!("no {} `{id}`", kind.name())))?;
    overlay(state, &mut v);
    Ok(v)
}

fn overlay(state: &AppState, v: &mut JobView) {
    if let Some(job) = state.jobs.active(&v.id) {
        let status = job.status();
        if !status.is_final() {
            v.status = status;
            v.progress = job.progress();
        }
    }
}

/// Every job of `kind`, newest first.
///
/// # Errors
/// The database.
pub async fn list(state: &AppState, kind: JobKind) -> Result<Vec<JobView>, ApiError> {
    let mut all = store::list(&state.pool, kind).await?;
    for v in &mut all {
        overlay(state, v);
    }
    Ok(all)
}

/// Cancels a queued or running job (audited first) and waits for it to end.
///
/// # Errors
/// 404 for no such job; 409 `job-ended` when it has ended already.
pub async fn cancel(
    state: &AppState,
    who: &Principal,
    kind: JobKind,
    id: &str,
) -> Result<JobView, ApiError> {
    let before = view(state, kind, id).await?;
    let ended = || {
        ApiError::new(
            ErrorCode::JobEnded,
            format!(
                "{} {id} has ended already ({}): there is nothing to cancel",
                kind.name(),
                before.status.name()
            ),
        )
    };
    let job = state.jobs.active(id).ok_or_else(ended)?;
    if job.status().is_final() {
        return Err(ended());
    }
    state
        .audit(
            &who.actor(),
            AuditAction::JobCancelled,
            &format!("{} {id}", kind.name()),
            serde_json::json!({ "status": before.status.name(), "progress": job.progress() }),
        )
        .await?;
    stop(state, &job, Stop::Cancel).await;
    let mut ended = job.ended.subscribe();
    // A running job stops at its next chunk boundary.
    let _ = tokio::time::timeout(Duration::from_secs(60), ended.wait_for(|e| *e)).await;
    view(state, kind, id).await
}

/// Ends a queued job now (`cancelled` or `interrupted`) or asks a running one to stop.
async fn stop(state: &AppState, job: &Job, why: Stop) {
    *job.stop.lock().unwrap_or_else(PoisonError::into_inner) = Some(why);
    let (status, error) = match why {
        Stop::Cancel => (JobStatus::Cancelled, None),
        Stop::Shutdown => (
            JobStatus::Interrupted,
            Some("the service shut down while the job was queued; submit it again".to_string()),
        ),
    };
    if job.leave_queue(status) {
        state.jobs.waiting.fetch_sub(1, Ordering::SeqCst);
        if why == Stop::Shutdown {
            let _ = state
                .audit(
                    "host",
                    AuditAction::JobInterrupted,
                    &format!("{} {}", job.kind.name(), job.id),
                    serde_json::json!({ "status": "queued", "reason": error }),
                )
                .await;
        }
        let e = store::Ended {
            status,
            progress: job.progress(),
            error,
            summary: None,
            ended_ns: crate::time::wall_clock_ns() as i64,
        };
        end_job(state, job, &e).await;
    } else {
        job.cancel.store(true, Ordering::SeqCst);
    }
}

/// At shutdown: queued jobs are interrupted now, running ones stop at their next chunk
/// boundary and are stored `interrupted` (waits up to `wait` for them).
pub(crate) async fn shut_down(state: &AppState, wait: Duration) {
    let jobs = state.jobs.all_active();
    for job in &jobs {
        stop(state, job, Stop::Shutdown).await;
    }
    for job in jobs {
        let mut ended = job.ended.subscribe();
        if tokio::time::timeout(wait, ended.wait_for(|e| *e))
            .await
            .is_err()
        {
            tracing::error!(job = %job.id, "did not stop in time; it will be marked interrupted at the next start");
        }
    }
}

/// At start: jobs a previous process left `queued` or `running` are marked `interrupted`
/// with the reason, each audited first. Never fails the start.
pub(crate) async fn interrupt_left_over(state: &AppState) {
    let left = match store::left_over(&state.pool).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!("cannot look for interrupted jobs: {e}");
            return;
        }
    };
    for v in left {
        let reason = format!(
            "the service stopped (a crash or a kill) while the job was {}; submit it again",
            v.status.name()
        );
        let audited = state
            .audit(
                "recovery",
                AuditAction::JobInterrupted,
                &format!("{} {}", v.kind.name(), v.id),
                serde_json::json!({ "status": v.status.name(), "progress": v.progress, "reason": reason }),
            )
            .await;
        if let Err(e) = audited {
            tracing::error!(job = %v.id, "not marked interrupted: {}", e.message);
            continue;
        }
        let e = store::Ended {
            status: JobStatus::Interrupted,
            progress: v.progress,
            error: Some(reason),
            summary: None,
            ended_ns: crate::time::wall_clock_ns() as i64,
        };
        if let Err(err) = store::finish(&state.pool, &v.id, &e).await {
            tracing::error!(job = %v.id, "{err}");
        }
    }
}

/// A finished backtest's `report.json` (or `report.html`), or a finished sweep's result.
///
/// # Errors
/// 404 for no such job, 409 `job-not-finished` while it has no result.
pub async fn file(
    state: &AppState,
    kind: JobKind,
    id: &str,
    name: &str,
) -> Result<Vec<u8>, ApiError> {
    let v = view(state, kind, id).await?;
    // A cancelled sweep keeps the rows it ran.
    let partial = kind == JobKind::Sweep && v.status == JobStatus::Cancelled;
    if partial && let Ok(bytes) = state.jobs.read(id, name) {
        return Ok(bytes);
    }
    if v.status != JobStatus::Finished {
        let what = match kind {
            JobKind::Backtest => "report",
            JobKind::Sweep => "result",
        };
        return Err(ApiError::new(
            ErrorCode::JobNotFinished,
            format!(
                "{} {id} is {}: its {what} is there once it has finished (follow it with GET /v1/{}s/{id} or /v1/stream?job={id})",
                kind.name(),
                v.status.name(),
                kind.name()
            ),
        ));
    }
    state.jobs.read(id, name)
}
