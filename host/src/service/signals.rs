//! The service's view of signals (decision 0038): what was posted (the intake log), what
//! could not be delivered (dead letters) and each deployment's circuit breaker.
//!
//! `POST /v1/signals` validates each signal and hands it to every running deployment whose
//! breaker lets it through; the deployment's session decides (grant, subscription) and
//! reports each delivery it attempted as a `signal-delivery` event. Those outcomes drive the
//! breaker: [`BreakerConfig::failures_to_open`] consecutive dead letters open it, and while
//! it is open the deployment is not handed signals (each becomes a dead letter at stage
//! `breaker`). After [`BreakerConfig::open_for`] it is half-open: signals are handed again
//! and the first outcome closes it or opens it again. Every change is audited
//! (`signal-breaker-changed`) before it takes effect.
//!
//! Intake records and dead letters are rows of the database (migration 0006), so they
//! outlive the process; the newest [`INTAKE_KEPT`] intake records are kept. Breakers are
//! per running session and start closed.

use std::{
    collections::BTreeMap,
    sync::{
        Mutex, PoisonError,
        atomic::{AtomicI64, Ordering},
    },
};

use serde::Serialize;
use sqlx::{AnyPool, Row};

use super::db::{self, DbError};
use crate::signals::router::{Breaker, BreakerConfig};

/// Intake records kept (older ones are deleted as new ones arrive).
pub const INTAKE_KEPT: i64 = 100_000;

/// One posted signal and where it went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct IntakeRecord {
    pub seq: i64,
    pub received_ns: i64,
    /// Who posted it (`name (role)`).
    pub actor: String,
    /// `None` when the item was not a valid signal (see `reason`).
    pub signal_id: Option<String>,
    pub signal_type: Option<String>,
    pub instrument_id: Option<String>,
    pub source_model: Option<String>,
    pub accepted: bool,
    /// Why validation refused it.
    pub reason: Option<String>,
    /// Running deployments it was handed to.
    pub handed_to: Vec<String>,
    /// Running deployments it was not handed to, and why (breaker open, journal error).
    pub skipped: Vec<Skipped>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Skipped {
    pub deployment: String,
    pub reason: String,
}

/// A signal a deployment should have received and did not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DeadLetter {
    pub seq: i64,
    pub ts_ns: i64,
    pub deployment: String,
    pub plugin: String,
    pub signal_id: String,
    /// `delivery` (the plugin was quarantined or faulted on it), `breaker` (not handed:
    /// the deployment's breaker was open) or `handoff` (the deployment's journal refused it).
    pub stage: String,
    pub reason: String,
}

/// A deployment as a signal consumer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ConsumerView {
    pub deployment: String,
    pub plugin: String,
    /// The deployment's status (`running`, `stopped`, ...).
    pub status: String,
    #[schema(value_type = Object)]
    pub breaker: Breaker,
    pub delivered: u64,
    pub failed: u64,
    /// Signals not handed to it while its breaker was open.
    pub skipped_open: u64,
    pub last_failure: Option<String>,
    /// When the breaker last changed state.
    pub changed_ns: Option<u64>,
}

#[derive(Debug, Clone)]
struct Consumer {
    breaker: Breaker,
    delivered: u64,
    failed: u64,
    skipped_open: u64,
    last_failure: Option<String>,
    changed_ns: Option<u64>,
}

impl Default for Consumer {
    fn default() -> Self {
        Self {
            breaker: Breaker::Closed { failures: 0 },
            delivered: 0,
            failed: 0,
            skipped_open: 0,
            last_failure: None,
            changed_ns: None,
        }
    }
}

/// Whether to hand a signal to a deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admit {
    Hand,
    /// Hand it, after the breaker goes half-open (a change to audit first).
    HandHalfOpen,
    /// Do not: the breaker is open.
    Skip(String),
}

/// Breakers and sequence numbers of the service's signals.
#[derive(Debug)]
pub struct SignalBook {
    config: BreakerConfig,
    consumers: Mutex<BTreeMap<String, Consumer>>,
    next_intake: AtomicI64,
    next_dead: AtomicI64,
}

impl SignalBook {
    /// The book, numbering on from the newest stored rows.
    pub async fn open(pool: &AnyPool, config: BreakerConfig) -> Result<Self, DbError> {
        let max = |table: &'static str, sql: &'static str| async move {
            let row = sqlx::query(sql)
                .fetch_one(pool)
                .await
                .map_err(db::err(format!("reading {table}")))?;
            let m: Option<i64> = row
                .try_get("m")
                .map_err(db::err(format!("reading {table}")))?;
            Ok::<i64, DbError>(m.unwrap_or(0))
        };
        Ok(Self {
            config,
            consumers: Mutex::default(),
            next_intake: AtomicI64::new(
                max("signal_intake", "SELECT MAX(seq) AS m FROM signal_intake").await? + 1,
            ),
            next_dead: AtomicI64::new(
                max(
                    "signal_dead_letters",
                    "SELECT MAX(seq) AS m FROM signal_dead_letters",
                )
                .await?
                    + 1,
            ),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Consumer>> {
        self.consumers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `deployment` gets the next signal at `now_ns` (counts a skip).
    pub fn admit(&self, deployment: &str, now_ns: u64) -> Admit {
        let mut consumers = self.lock();
        let c = consumers.entry(deployment.to_string()).or_default();
        match c.breaker {
            Breaker::Open { until_ns } if now_ns < until_ns => {
                c.skipped_open += 1;
                Admit::Skip(format!(
                    "circuit open for deployment `{deployment}` after {} consecutive failed deliveries, until {until_ns} ns; not handed",
                    self.config.failures_to_open
                ))
            }
            Breaker::Open { .. } => Admit::HandHalfOpen,
            _ => Admit::Hand,
        }
    }

    /// The breaker after a delivery outcome, and whether that is a change of state (to
    /// audit before [`Self::set_breaker`]). Counts the outcome.
    pub fn outcome(
        &self,
        deployment: &str,
        delivered: bool,
        reason: Option<&str>,
        now_ns: u64,
    ) -> (Breaker, bool) {
        let mut consumers = self.lock();
        let c = consumers.entry(deployment.to_string()).or_default();
        if delivered {
            c.delivered += 1;
            let next = Breaker::Closed { failures: 0 };
            let change = !matches!(c.breaker, Breaker::Closed { .. });
            if !change {
                c.breaker = next;
            }
            return (next, change);
        }
        c.failed += 1;
        c.last_failure = reason.map(str::to_string);
        let next = match c.breaker {
            Breaker::Closed { failures } if failures + 1 < self.config.failures_to_open => {
                Breaker::Closed {
                    failures: failures + 1,
                }
            }
            // Already open (outcomes of signals handed before it opened): stays as it is.
            b @ Breaker::Open { .. } => b,
            _ => Breaker::Open {
                until_ns: now_ns.saturating_add(
                    u64::try_from(self.config.open_for.as_nanos()).unwrap_or(u64::MAX),
                ),
            },
        };
        let change = matches!(next, Breaker::Open { .. }) && next != c.breaker;
        if !change {
            c.breaker = next;
        }
        (next, change)
    }

    /// Applies an audited breaker change.
    pub fn set_breaker(&self, deployment: &str, breaker: Breaker, now_ns: u64) {
        let mut consumers = self.lock();
        let c = consumers.entry(deployment.to_string()).or_default();
        c.breaker = breaker;
        c.changed_ns = Some(now_ns);
    }

    /// The consumers view of `deployments` (id, plugin, status).
    #[must_use]
    pub fn consumers(&self, deployments: &[(String, String, String)]) -> Vec<ConsumerView> {
        let consumers = self.lock();
        deployments
            .iter()
            .map(|(id, plugin, status)| {
                let c = consumers.get(id).cloned().unwrap_or_default();
                ConsumerView {
                    deployment: id.clone(),
                    plugin: plugin.clone(),
                    status: status.clone(),
                    breaker: c.breaker,
                    delivered: c.delivered,
                    failed: c.failed,
                    skipped_open: c.skipped_open,
                    last_failure: c.last_failure,
                    changed_ns: c.changed_ns,
                }
            })
            .collect()
    }

    /// The next intake sequence number.
    pub fn next_intake_seq(&self) -> i64 {
        self.next_intake.fetch_add(1, Ordering::Relaxed)
    }

    /// The next dead-letter sequence number.
    pub fn next_dead_seq(&self) -> i64 {
        self.next_dead.fetch_add(1, Ordering::Relaxed)
    }
}

/// Audits a breaker change of `deployment`, then applies it. A failure to audit is logged
/// and the change still applies: the breaker protects the deployment, and refusing it
/// would keep handing signals to a failing one.
pub(crate) async fn breaker_changed(
    state: &super::AppState,
    deployment: &str,
    breaker: Breaker,
    signal_id: &str,
    now_ns: u64,
) {
    if let Err(e) = state
        .audit(
            "host",
            crate::audit::AuditAction::SignalBreakerChanged,
            &format!("deployment {deployment}"),
            serde_json::json!({ "breaker": breaker, "signal_id": signal_id }),
        )
        .await
    {
        tracing::error!(deployment, "cannot audit a breaker change: {}", e.message);
    }
    state.signals.set_breaker(deployment, breaker, now_ns);
}

/// A `signal-delivery` event of a deployment's session: counts it, moves the breaker
/// (audited first) and stores a dead letter for a failed delivery.
pub(crate) async fn on_delivery(
    state: &super::AppState,
    deployment: &str,
    plugin: &str,
    signal_id: &str,
    delivered: bool,
    reason: Option<&str>,
) {
    let now = crate::time::wall_clock_ns();
    let (breaker, change) = state.signals.outcome(deployment, delivered, reason, now);
    if change {
        breaker_changed(state, deployment, breaker, signal_id, now).await;
    }
    if !delivered {
        let dead = DeadLetter {
            seq: state.signals.next_dead_seq(),
            ts_ns: i64::try_from(now).unwrap_or(i64::MAX),
            deployment: deployment.to_string(),
            plugin: plugin.to_string(),
            signal_id: signal_id.to_string(),
            stage: "delivery".to_string(),
            reason: reason.unwrap_or("not delivered").to_string(),
        };
        if let Err(e) = store_dead(&state.pool, &dead).await {
            tracing::error!(
                deployment,
                "dead letter of signal {signal_id} not stored: {e}"
            );
        }
    }
}

/// Stores intake records and dead letters in one transaction, and forgets intake records
/// older than the newest [`INTAKE_KEPT`].
pub async fn store(
    pool: &AnyPool,
    intake: &[IntakeRecord],
    dead: &[DeadLetter],
) -> Result<(), DbError> {
    let mut tx = pool.begin().await.map_err(db::err("storing signals"))?;
    for r in intake {
        sqlx::query(
            "INSERT INTO signal_intake (seq, received_ns, actor, signal_id, signal_type, instrument_id, source_model, outcome, reason, handed_to, skipped) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(r.seq)
        .bind(r.received_ns)
        .bind(r.actor.clone())
        .bind(r.signal_id.clone())
        .bind(r.signal_type.clone())
        .bind(r.instrument_id.clone())
        .bind(r.source_model.clone())
        .bind(if r.accepted { "accepted" } else { "refused" })
        .bind(r.reason.clone())
        .bind(serde_json::to_string(&r.handed_to).unwrap_or_default())
        .bind(serde_json::to_string(&r.skipped).unwrap_or_default())
        .execute(&mut *tx)
        .await
        .map_err(db::err("storing a signal intake record"))?;
    }
    for d in dead {
        insert_dead(&mut tx, d).await?;
    }
    if let Some(newest) = intake.iter().map(|r| r.seq).max() {
        sqlx::query("DELETE FROM signal_intake WHERE seq <= $1")
            .bind(newest - INTAKE_KEPT)
            .execute(&mut *tx)
            .await
            .map_err(db::err("forgetting old signal intake records"))?;
    }
    tx.commit().await.map_err(db::err("storing signals"))
}

async fn insert_dead(conn: &mut sqlx::AnyConnection, d: &DeadLetter) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO signal_dead_letters (seq, ts_ns, deployment, plugin, signal_id, stage, reason) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(d.seq)
    .bind(d.ts_ns)
    .bind(d.deployment.clone())
    .bind(d.plugin.clone())
    .bind(d.signal_id.clone())
    .bind(d.stage.clone())
    .bind(d.reason.clone())
    .execute(conn)
    .await
    .map_err(db::err("storing a signal dead letter"))?;
    Ok(())
}

/// Stores one dead letter.
pub async fn store_dead(pool: &AnyPool, d: &DeadLetter) -> Result<(), DbError> {
    let mut conn = pool
        .acquire()
        .await
        .map_err(db::err("storing a signal dead letter"))?;
    insert_dead(&mut conn, d).await
}

/// Intake records with `seq < before`, newest first.
pub async fn intake(pool: &AnyPool, before: i64, limit: i64) -> Result<Vec<IntakeRecord>, DbError> {
    let rows = sqlx::query(
        "SELECT seq, received_ns, actor, signal_id, signal_type, instrument_id, source_model, outcome, reason, handed_to, skipped FROM signal_intake WHERE seq < $1 ORDER BY seq DESC LIMIT $2",
    )
    .bind(before)
    .bind(limit)
    .fetch_all(pool)
    .await
    .map_err(db::err("reading signal intake records"))?;
    rows.iter()
        .map(|r| {
            let outcome: String = r.try_get("outcome")?;
            let handed: String = r.try_get("handed_to")?;
            let skipped: String = r.try_get("skipped")?;
            Ok(IntakeRecord {
                seq: r.try_get("seq")?,
                received_ns: r.try_get("received_ns")?,
                actor: r.try_get("actor")?,
                signal_id: r.try_get("signal_id")?,
                signal_type: r.try_get("signal_type")?,
                instrument_id: r.try_get("instrument_id")?,
                source_model: r.try_get("source_model")?,
                accepted: outcome == "accepted",
                reason: r.try_get("reason")?,
                handed_to: serde_json::from_str(&handed).unwrap_or_default(),
                skipped: serde_json::from_str(&skipped).unwrap_or_default(),
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(db::err("reading a signal intake record"))
}

/// Dead letters with `seq < before`, newest first.
pub async fn dead_letters(
    pool: &AnyPool,
    before: i64,
    limit: i64,
) -> Result<Vec<DeadLetter>, DbError> {
    let rows = sqlx::query(
        "SELECT seq, ts_ns, deployment, plugin, signal_id, stage, reason FROM signal_dead_letters WHERE seq < $1 ORDER BY seq DESC LIMIT $2",
    )
    .bind(before)
    .bind(limit)
    .fetch_all(pool)
    .await
    .map_err(db::err("reading signal dead letters"))?;
    rows.iter()
        .map(|r| {
            Ok(DeadLetter {
                seq: r.try_get("seq")?,
                ts_ns: r.try_get("ts_ns")?,
                deployment: r.try_get("deployment")?,
                plugin: r.try_get("plugin")?,
                signal_id: r.try_get("signal_id")?,
                stage: r.try_get("stage")?,
                reason: r.try_get("reason")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(db::err("reading a signal dead letter"))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn book() -> SignalBook {
        SignalBook {
            config: BreakerConfig {
                failures_to_open: 3,
                open_for: Duration::from_nanos(100),
            },
            consumers: Mutex::default(),
            next_intake: AtomicI64::new(1),
            next_dead: AtomicI64::new(1),
        }
    }

    #[test]
    fn consecutive_dead_letters_open_the_breaker_and_a_delivery_after_it_closes_it() {
        let b = book();
        assert_eq!(b.admit("d", 0), Admit::Hand);
        assert_eq!(
            b.outcome("d", false, Some("x"), 1),
            (Breaker::Closed { failures: 1 }, false)
        );
        // A delivery in between resets the count.
        assert_eq!(
            b.outcome("d", true, None, 2),
            (Breaker::Closed { failures: 0 }, false)
        );
        b.outcome("d", false, Some("x"), 3);
        b.outcome("d", false, Some("x"), 4);
        let (open, change) = b.outcome("d", false, Some("quarantined: trap"), 5);
        assert_eq!((open, change), (Breaker::Open { until_ns: 105 }, true));
        // Not applied until audited.
        assert_eq!(b.admit("d", 6), Admit::Hand);
        b.set_breaker("d", open, 5);
        assert!(matches!(b.admit("d", 6), Admit::Skip(r) if r.contains("circuit open")));
        assert!(matches!(b.admit("d", 104), Admit::Skip(_)));
        // A late outcome of a signal handed before it opened changes nothing.
        assert_eq!(b.outcome("d", false, Some("x"), 50), (open, false));
        assert_eq!(b.admit("d", 105), Admit::HandHalfOpen);
        b.set_breaker("d", Breaker::HalfOpen, 105);
        assert_eq!(b.admit("d", 106), Admit::Hand);
        assert_eq!(
            b.outcome("d", true, None, 107),
            (Breaker::Closed { failures: 0 }, true)
        );
        b.set_breaker("d", Breaker::Closed { failures: 0 }, 107);
        let v = &b.consumers(&[("d".into(), "p".into(), "running".into())])[0];
        assert_eq!((v.delivered, v.failed, v.skipped_open), (2, 5, 2));
        assert_eq!(v.last_failure.as_deref(), Some("x"));
        assert_eq!(v.changed_ns, Some(107));
    }

    #[test]
    fn a_half_open_breaker_opens_again_on_the_first_failure() {
        let b = book();
        b.set_breaker("d", Breaker::HalfOpen, 0);
        let (next, change) = b.outcome("d", false, Some("fault"), 10);
        assert_eq!((next, change), (Breaker::Open { until_ns: 110 }, true));
        // Consumers without outcomes read closed.
        let v = b.consumers(&[("e".into(), "p".into(), "running".into())]);
        assert_eq!(v[0].breaker, Breaker::Closed { failures: 0 });
    }
}
