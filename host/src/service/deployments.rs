//! Deployments: a component (by digest) + parameters + an approved grant + a risk policy +
//! a paper session replaying recorded data through the Nautilus adapter. Each deployment
//! has an event log (fills, PnL, risk, faults, swaps) fed by its session through a pump
//! task, which also keeps metrics and the stored running digest up to date.

use std::{
    collections::{BTreeMap, VecDeque},
    sync::{Arc, Mutex, PoisonError},
};

use serde::{Deserialize, Serialize};
use sqlx::{AnyPool, Row};
use tokio::sync::{mpsc, watch};

use super::{AppState, auth::Principal, db, error::ApiError, grants::GrantSpec};
use crate::{
    audit::AuditAction,
    capabilities::risk_gate::RiskHub,
    catalog::InstrumentTable,
    nautilus::{
        hotswap::{AdapterEvent, EventSink, SwapSlot},
        live::checkpoint::SignalJournal,
        paper::{Command, Progress, SessionEnd, SessionHandle},
    },
};

/// Events kept per deployment for `GET /v1/deployments/{id}/events`.
const EVENT_LOG_CAP: usize = 20_000;

/// `POST /v1/deployments`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeployRequest {
    /// sha256 digest of a registered component.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub plugin: String,
    /// An approved grant for the component's manifest name.
    pub grant: String,
    /// Parameter values by name, as text (`"fast_period": "10"`); missing ones take the
    /// manifest's defaults.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// The risk policy (TOML, see docs/risk.md) every order intent is decided under.
    pub risk_policy: String,
    pub session: SessionRequest,
}

/// Which engine a deployment's session runs on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SessionKind {
    /// A Nautilus `BacktestEngine` replaying the data at the chosen speed.
    #[default]
    Paper,
    /// A Nautilus `LiveNode`: the data arrives through a feed (the replay feed for a data
    /// file or catalog), orders go to an execution client (see `mode`).
    Live,
}

/// Where a live session's orders go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TradingMode {
    /// The sandbox venue: Nautilus's matching engine on the live feed, no real orders.
    #[default]
    Paper,
    /// A real venue's execution client: real orders. Needs the service's `live_venues`
    /// setting and a grant approved with the venue in its `live_venues`.
    Live,
}

/// A deployment's session: recorded data replayed at a chosen speed, in a backtest engine
/// (`kind = "paper"`) or through a live node (`kind = "live"`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionRequest {
    /// `paper` (default) or `live`. (Before live sessions, `kind` named a catalog
    /// dataset; `quotes`, `bars` and `trades` are still read as `dataset`.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<SessionKind>)]
    pub kind: Option<KindField>,
    /// With `kind = "live"`: `paper` (default, the sandbox venue) or `live` (a real venue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<TradingMode>,
    /// With `mode = "live"`: the venue to trade on (e.g. `BINANCE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub venue: Option<String>,
    /// A data file under the server's data folder (e.g. `fxcm/gbpusd-m1-bid-2012.csv`).
    pub data: Option<String>,
    /// Its format (as `stratbox backtest --format`): `auto` by default.
    pub format: Option<crate::backtest::data::DataFormat>,
    /// Or a catalog folder under the data folder.
    pub catalog: Option<String>,
    /// Catalog dataset kind: `quotes`, `bars` or `trades`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<crate::catalog::series::Kind>,
    pub instrument: Option<String>,
    pub bar_type: Option<String>,
    /// `"max"` or recorded seconds per wall-clock second (e.g. `3600`).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub speed: SpeedSpec,
    /// Starting balance, `"<amount> <currency>"` (default 1,000,000 of the settlement
    /// currency).
    pub balance: Option<String>,
}

/// `session.kind` as written: a session kind, or a catalog dataset kind from before live
/// sessions existed (now `session.dataset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum KindField {
    Session(SessionKind),
    Dataset(crate::catalog::series::Kind),
}

impl SessionRequest {
    /// The engine the session runs on.
    #[must_use]
    pub fn session_kind(&self) -> SessionKind {
        match self.kind {
            Some(KindField::Session(k)) => k,
            _ => SessionKind::Paper,
        }
    }

    /// The catalog dataset to read, however it was named.
    #[must_use]
    pub fn dataset(&self) -> Option<crate::catalog::series::Kind> {
        match (self.dataset, self.kind) {
            (Some(d), _) | (None, Some(KindField::Dataset(d))) => Some(d),
            _ => None,
        }
    }
}

/// `"max"` or a factor.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum SpeedSpec {
    Factor(f64),
    Named(String),
}

impl Default for SpeedSpec {
    fn default() -> Self {
        Self::Named("max".into())
    }
}

impl SpeedSpec {
    pub fn speed(&self) -> Result<crate::nautilus::paper::Speed, ApiError> {
        use crate::nautilus::paper::Speed;
        match self {
            Self::Named(s) if s == "max" => Ok(Speed::Max),
            Self::Factor(f) if f.is_finite() && *f > 0.0 => Ok(Speed::Factor(*f)),
            other => Err(ApiError::bad_request(format!(
                "session.speed {other:?} is neither \"max\" nor a positive number"
            ))),
        }
    }
}

/// One stored session event.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StreamEvent {
    pub deployment: String,
    pub seq: u64,
    #[schema(value_type = Object)]
    pub event: serde_json::Value,
}

/// A deployment in this process.
pub struct Deployment {
    pub id: String,
    pub plugin_name: String,
    pub params: BTreeMap<String, String>,
    pub created_by: String,
    pub risk: Arc<RiskHub>,
    pub table: Arc<InstrumentTable>,
    pub slot: SwapSlot,
    pub progress: Arc<Progress>,
    pub(super) current: Mutex<Current>,
    pub(super) session: Mutex<Option<SessionHandle>>,
    pub(super) events: Mutex<VecDeque<StreamEvent>>,
    pub(super) next_seq: Mutex<u64>,
    /// `None` while running; how it ended afterwards.
    pub ended: watch::Receiver<Option<serde_json::Value>>,
    /// A live deployment's signal journal: every signal handed to it is appended (and
    /// synced) first, so a resumed session gets the ones its checkpoint had not seen.
    pub(super) journal: Mutex<Option<SignalJournal>>,
    /// Which engine runs it, and the real venue if it trades on one.
    pub session_kind: SessionKind,
    pub venue: Option<String>,
    /// The newest `progress` event (PnL, fills, fuel, callbacks) and the wall-clock time
    /// of the newest event of any kind.
    figures: Mutex<Option<serde_json::Value>>,
    last_event_ns: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Deployment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deployment")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// What runs now.
#[derive(Debug, Clone)]
pub struct Current {
    pub digest: String,
    pub grant_id: String,
    pub grant: GrantSpec,
    pub status: String,
}

/// What `GET /v1/deployments/{id}` shows.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeploymentView {
    pub id: String,
    pub plugin: String,
    pub digest: String,
    pub grant: String,
    pub status: String,
    pub params: BTreeMap<String, String>,
    pub created_by: String,
    pub events_total: u64,
    pub events_fed: u64,
    pub sim_ts: u64,
    /// The trading state (`ACTIVE`, `REDUCING`, `HALTED`).
    pub trading_state: String,
    #[schema(value_type = Object)]
    pub outcome: Option<serde_json::Value>,
    /// `paper` or `live`; and the real venue a live deployment trades on (none: paper
    /// orders on the sandbox venue).
    pub session_kind: Option<SessionKind>,
    pub venue: Option<String>,
    /// The session's newest figures (the last `progress` event: fills, callbacks, fuel,
    /// gate refusals, realized and unrealized PnL per currency); none before the first.
    #[schema(value_type = Object)]
    pub figures: Option<serde_json::Value>,
    /// Sequence number of the newest event (0: none yet); `events?after=` pages from it.
    pub last_seq: u64,
    /// When the newest event arrived (UNIX ns, the service's clock); none before the first.
    pub last_event_ns: Option<u64>,
}

impl Deployment {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        id: String,
        plugin_name: String,
        params: BTreeMap<String, String>,
        created_by: String,
        risk: Arc<RiskHub>,
        table: Arc<InstrumentTable>,
        current: Current,
        session: SessionHandle,
        ended: watch::Receiver<Option<serde_json::Value>>,
        (session_kind, venue): (SessionKind, Option<String>),
    ) -> Self {
        Self {
            session_kind,
            venue,
            figures: Mutex::default(),
            last_event_ns: std::sync::atomic::AtomicU64::new(0),
            id,
            plugin_name,
            params,
            created_by,
            risk,
            table,
            slot: session.slot.clone(),
            progress: Arc::clone(&session.progress),
            current: Mutex::new(current),
            session: Mutex::new(Some(session)),
            events: Mutex::default(),
            next_seq: Mutex::new(1),
            ended,
            journal: Mutex::new(None),
        }
    }

    /// Keeps `journal` as the deployment's signal journal ([`Self::hand_signal`]).
    pub(super) fn set_journal(&self, journal: SignalJournal) {
        *self.journal.lock().unwrap_or_else(PoisonError::into_inner) = Some(journal);
    }

    /// Hands `signal` to the session: journaled and synced first for a live deployment (the
    /// journal's order is the order the session receives them in).
    ///
    /// # Errors
    /// The journal could not be written: the signal was not handed over.
    pub fn hand_signal(&self, signal: &crate::signals::Signal) -> Result<(), String> {
        let mut journal = self.journal.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(j) = journal.as_mut() {
            j.append(signal)?;
        }
        self.send(Command::Signal(Box::new(signal.clone())));
        Ok(())
    }

    #[must_use]
    pub fn current(&self) -> Current {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(super) fn set_current(&self, f: impl FnOnce(&mut Current)) {
        f(&mut self.current.lock().unwrap_or_else(PoisonError::into_inner));
    }

    #[must_use]
    pub fn view(&self) -> DeploymentView {
        use std::sync::atomic::Ordering::Relaxed;
        let c = self.current();
        let (state, _) = self.risk.control.effective(&self.plugin_name);
        DeploymentView {
            id: self.id.clone(),
            plugin: self.plugin_name.clone(),
            digest: c.digest,
            grant: c.grant_id,
            status: c.status,
            params: self.params.clone(),
            created_by: self.created_by.clone(),
            events_total: self.progress.total.load(Relaxed),
            events_fed: self.progress.fed.load(Relaxed),
            sim_ts: self.progress.sim_ts.load(Relaxed),
            trading_state: format!("{state}"),
            outcome: self.ended.borrow().clone(),
            session_kind: Some(self.session_kind),
            venue: self.venue.clone(),
            figures: self
                .figures
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
            last_seq: self
                .next_seq
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .saturating_sub(1),
            last_event_ns: Some(self.last_event_ns.load(Relaxed)).filter(|t| *t > 0),
        }
    }

    /// Sends a command to the session; false if it has ended.
    pub fn send(&self, command: Command) -> bool {
        self.session
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .is_some_and(|s| s.send(command))
    }

    /// Appends an event to the log and returns it with its sequence number.
    pub(super) fn record(&self, event: serde_json::Value) -> StreamEvent {
        if event.get("kind").and_then(|k| k.as_str()) == Some("progress") {
            *self.figures.lock().unwrap_or_else(PoisonError::into_inner) = Some(event.clone());
        }
        self.last_event_ns.store(
            crate::time::wall_clock_ns(),
            std::sync::atomic::Ordering::Relaxed,
        );
        let seq = {
            let mut n = self.next_seq.lock().unwrap_or_else(PoisonError::into_inner);
            let s = *n;
            *n += 1;
            s
        };
        let e = StreamEvent {
            deployment: self.id.clone(),
            seq,
            event,
        };
        let mut log = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        if log.len() == EVENT_LOG_CAP {
            log.pop_front();
        }
        log.push_back(e.clone());
        e
    }

    /// Events with a sequence number above `after`.
    #[must_use]
    pub fn events_after(&self, after: u64, limit: usize) -> Vec<StreamEvent> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|e| e.seq > after)
            .take(limit)
            .cloned()
            .collect()
    }
}

/// A sink that forwards adapter events to the deployment's pump (never blocks).
#[must_use]
pub fn sink(tx: mpsc::UnboundedSender<AdapterEvent>) -> EventSink {
    Arc::new(move |e| {
        let _ = tx.send(e);
    })
}

/// The pump: logs and broadcasts each event, keeps metrics, and follows the running digest.
pub(super) async fn pump(
    state: Arc<AppState>,
    dep: Arc<Deployment>,
    mut rx: mpsc::UnboundedReceiver<AdapterEvent>,
) {
    let labels = [
        ("deployment", dep.id.clone()),
        ("plugin", dep.plugin_name.clone()),
    ];
    let mut last = super::metrics::Totals::default();
    while let Some(event) = rx.recv().await {
        super::metrics::observe(&labels, &event, &mut last);
        let running = match &event {
            AdapterEvent::Swapped { to_sha256, .. } => Some(to_sha256.clone()),
            AdapterEvent::RolledBack { to_sha256, .. } => Some(to_sha256.clone()),
            _ => None,
        };
        if let Some(digest) = running {
            dep.set_current(|c| c.digest.clone_from(&digest));
            if let Err(e) = set_digest(&state.pool, &dep.id, &digest).await {
                tracing::error!(deployment = %dep.id, "{e}");
            }
        }
        if let AdapterEvent::SignalDelivery {
            signal_id,
            delivered,
            reason,
            ..
        } = &event
        {
            super::signals::on_delivery(
                &state,
                &dep.id,
                &dep.plugin_name,
                signal_id,
                *delivered,
                reason.as_deref(),
            )
            .await;
        }
        let value = serde_json::to_value(&event).unwrap_or_default();
        let stored = dep.record(value);
        let _ = state.stream.send(stored);
    }
}

/// Waits for the session thread, then stores how it ended (state snapshot, status,
/// outcome), audits it and tells the stream.
pub(super) async fn watch_end(
    state: Arc<AppState>,
    dep: Arc<Deployment>,
    thread: std::thread::JoinHandle<SessionEnd>,
    ended: watch::Sender<Option<serde_json::Value>>,
) {
    let end = tokio::task::spawn_blocking(move || thread.join())
        .await
        .ok()
        .and_then(Result::ok);
    let (status, outcome) = match &end {
        Some(e) if e.error.is_some() => ("failed", serde_json::to_value(e).unwrap_or_default()),
        Some(e) if e.stopped => ("stopped", serde_json::to_value(e).unwrap_or_default()),
        Some(e) => ("finished", serde_json::to_value(e).unwrap_or_default()),
        None => (
            "failed",
            serde_json::json!({ "error": "the session thread panicked" }),
        ),
    };
    let mut outcome = outcome;
    if let Some(bytes) = end.as_ref().and_then(|e| e.snapshot.as_ref()) {
        let name = format!("{}.state", dep.id);
        match crate::storage::write_atomic(&state.snapshots, &name, bytes) {
            Ok(()) => {
                outcome["snapshot"] = serde_json::json!({
                    "file": format!("snapshots/{name}"),
                    "sha256": crate::sandbox::sha256_hex(bytes),
                    "bytes": bytes.len(),
                });
            }
            Err(e) => tracing::error!(deployment = %dep.id, "saving the state snapshot: {e}"),
        }
    }
    if let Some(o) = outcome.as_object_mut() {
        // The full report is in the outcome; the audit keeps the summary.
        let mut summary = o.clone();
        summary.remove("report");
        let _ = state
            .audit(
                "host",
                AuditAction::DeploymentStopped,
                &format!("deployment {}", dep.id),
                serde_json::json!({ "status": status, "outcome": summary }),
            )
            .await;
    }
    if let Err(e) = finish(&state.pool, &dep.id, status, &outcome).await {
        tracing::error!(deployment = %dep.id, "{e}");
    } else if status != "failed" {
        // Nothing left to resume. A failed session keeps its last checkpoint for
        // inspection (it is not resumed: only `running` deployments are).
        crate::nautilus::live::checkpoint::remove(&state.checkpoints, &dep.id);
    }
    // The outcome first, then the status: a reader that sees the status sees the outcome.
    let _ = ended.send(Some(outcome));
    dep.set_current(|c| c.status = status.to_string());
    let stored = dep.record(serde_json::json!({ "kind": "ended", "status": status }));
    let _ = state.stream.send(stored);
    dep.session
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
}

pub(super) async fn insert(
    pool: &AnyPool,
    dep: &Deployment,
    spec: &DeployRequest,
) -> Result<(), db::DbError> {
    let c = dep.current();
    let now = crate::time::wall_clock_ns() as i64;
    sqlx::query(
        "INSERT INTO deployments (id, spec, digest, grant_id, status, created_by, created_ns, updated_ns) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(dep.id.clone())
    .bind(serde_json::to_string(spec).unwrap_or_default())
    .bind(c.digest)
    .bind(c.grant_id)
    .bind(c.status)
    .bind(dep.created_by.clone())
    .bind(now)
    .bind(now)
    .execute(pool)
    .await
    .map_err(db::err("storing a deployment"))?;
    Ok(())
}

pub(super) async fn set_digest(pool: &AnyPool, id: &str, digest: &str) -> Result<(), db::DbError> {
    set_column(
        pool,
        "UPDATE deployments SET digest = $1, updated_ns = $2 WHERE id = $3",
        id,
        digest,
    )
    .await
}

pub(super) async fn set_grant(pool: &AnyPool, id: &str, grant: &str) -> Result<(), db::DbError> {
    set_column(
        pool,
        "UPDATE deployments SET grant_id = $1, updated_ns = $2 WHERE id = $3",
        id,
        grant,
    )
    .await
}

/// Runs `sql` (`SET <column> = $1, updated_ns = $2 WHERE id = $3`) for deployment `id`.
async fn set_column(
    pool: &AnyPool,
    sql: &'static str,
    id: &str,
    value: &str,
) -> Result<(), db::DbError> {
    sqlx::query(sql)
        .bind(value.to_string())
        .bind(crate::time::wall_clock_ns() as i64)
        .bind(id.to_string())
        .execute(pool)
        .await
        .map_err(db::err("updating a deployment"))?;
    Ok(())
}

pub(super) async fn finish(
    pool: &AnyPool,
    id: &str,
    status: &str,
    outcome: &serde_json::Value,
) -> Result<(), db::DbError> {
    sqlx::query("UPDATE deployments SET status = $1, outcome = $2, updated_ns = $3 WHERE id = $4")
        .bind(status.to_string())
        .bind(outcome.to_string())
        .bind(crate::time::wall_clock_ns() as i64)
        .bind(id.to_string())
        .execute(pool)
        .await
        .map_err(db::err("finishing a deployment"))?;
    Ok(())
}

/// A deployment stored as `running` when the service started: its process ended without
/// stopping it (a crash or kill).
#[derive(Debug)]
pub(super) struct Interrupted {
    pub id: String,
    /// The request it was deployed with (or why it cannot be read).
    pub spec: Result<DeployRequest, String>,
    pub digest: String,
    pub grant_id: String,
    pub created_by: String,
    pub plugin: String,
}

/// Every deployment stored as `running`, oldest first.
pub(super) async fn interrupted(pool: &AnyPool) -> Result<Vec<Interrupted>, db::DbError> {
    let rows = sqlx::query(
        "SELECT d.id, d.spec, d.digest, d.grant_id, d.created_by, p.name FROM deployments d LEFT JOIN plugins p ON p.digest = d.digest WHERE d.status = 'running' ORDER BY d.created_ns",
    )
    .fetch_all(pool)
    .await
    .map_err(db::err("listing interrupted deployments"))?;
    rows.iter()
        .map(|r| -> Result<Interrupted, sqlx::Error> {
            let spec: String = r.try_get("spec")?;
            Ok(Interrupted {
                id: r.try_get("id")?,
                spec: serde_json::from_str(&spec).map_err(|e| format!("its stored request: {e}")),
                digest: r.try_get("digest")?,
                grant_id: r.try_get("grant_id")?,
                created_by: r.try_get("created_by")?,
                plugin: r.try_get::<Option<String>, _>("name")?.unwrap_or_default(),
            })
        })
        .collect::<Result<_, _>>()
        .map_err(db::err("reading an interrupted deployment"))
}

/// Deployments stored by earlier runs of the service (not running in this process).
pub(super) async fn stored(pool: &AnyPool) -> Result<Vec<DeploymentView>, db::DbError> {
    let rows = sqlx::query(
        "SELECT d.id, d.spec, d.digest, d.grant_id, d.status, d.created_by, d.outcome, p.name FROM deployments d LEFT JOIN plugins p ON p.digest = d.digest ORDER BY d.created_ns",
    )
    .fetch_all(pool)
    .await
    .map_err(db::err("listing deployments"))?;
    let mut out = Vec::new();
    for r in rows {
        let get = || -> Result<DeploymentView, sqlx::Error> {
            let spec: String = r.try_get("spec")?;
            let spec: Option<DeployRequest> = serde_json::from_str(&spec).ok();
            let outcome: Option<String> = r.try_get("outcome")?;
            let session_kind = spec.as_ref().map(|s| s.session.session_kind());
            let venue = spec.as_ref().and_then(|s| s.session.venue.clone());
            Ok(DeploymentView {
                id: r.try_get("id")?,
                plugin: r.try_get::<Option<String>, _>("name")?.unwrap_or_default(),
                digest: r.try_get("digest")?,
                grant: r.try_get("grant_id")?,
                status: r.try_get("status")?,
                session_kind,
                venue,
                figures: None,
                last_seq: 0,
                last_event_ns: None,
                params: spec.map(|s| s.params).unwrap_or_default(),
                created_by: r.try_get("created_by")?,
                events_total: 0,
                events_fed: 0,
                sim_ts: 0,
                trading_state: String::new(),
                outcome: outcome.and_then(|o| serde_json::from_str(&o).ok()),
            })
        };
        out.push(get().map_err(db::err("reading a deployment"))?);
    }
    Ok(out)
}

/// A random identifier with `prefix`: `dep-1f2e3d4c5b6a`.
pub fn new_id(prefix: &str) -> Result<String, ApiError> {
    let mut b = [0_u8; 6];
    getrandom::fill(&mut b).map_err(|e| ApiError::internal(format!("no randomness: {e}")))?;
    Ok(format!("{prefix}-{}", hex::encode(b)))
}

/// Refuses anything but a deployment id (`dep-` and 12 lowercase hex digits): ids name
/// folders under the state directory.
pub fn check_id(id: &str) -> Result<(), ApiError> {
    let ok = id.strip_prefix("dep-").is_some_and(|h| {
        h.len() == 12
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    });
    if ok {
        Ok(())
    } else {
        Err(ApiError::not_found(format!(
            "`{id}` is not a deployment id (dep- and 12 hex digits)"
        )))
    }
}

/// Who asked, as an audit actor.
#[must_use]
pub fn actor(p: &Principal) -> String {
    p.actor()
}

#[cfg(test)]
mod id_tests {
    #[test]
    fn only_deployment_ids_pass() {
        assert!(super::check_id("dep-0123456789ab").is_ok());
        for bad in [
            "dep-0123456789AB",
            "dep-../../etc",
            "dep-0123",
            "x-0123456789ab",
            "",
        ] {
            assert!(super::check_id(bad).is_err(), "{bad}");
        }
    }
}
