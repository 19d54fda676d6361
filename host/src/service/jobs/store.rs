//! Job rows in the database (`jobs`, migration 0005): what the list and get endpoints read,
//! so jobs outlive the process that ran them.

use sqlx::{AnyPool, Row};

use super::{JobKind, JobProgress, JobStatus, JobView};
use crate::service::db::{self, DbError};

const COLUMNS: &str = "SELECT id, kind, status, request, created_by, created_ns, started_ns, ended_ns, done, total, error, summary FROM jobs";

fn view(r: &sqlx::any::AnyRow) -> Result<JobView, DbError> {
    let get = || -> Result<JobView, sqlx::Error> {
        let bad = |what: &str, v: &str| sqlx::Error::Protocol(format!("jobs.{what} `{v}`"));
        let kind: String = r.try_get("kind")?;
        let status: String = r.try_get("status")?;
        let request: String = r.try_get("request")?;
        let summary: Option<String> = r.try_get("summary")?;
        let count = |name: &str| -> Result<u64, sqlx::Error> {
            let v: i64 = r.try_get(name)?;
            Ok(u64::try_from(v).unwrap_or_default())
        };
        Ok(JobView {
            id: r.try_get("id")?,
            kind: JobKind::parse(&kind).ok_or_else(|| bad("kind", &kind))?,
            status: JobStatus::parse(&status).ok_or_else(|| bad("status", &status))?,
            progress: JobProgress {
                done: count("done")?,
                total: count("total")?,
            },
            request: serde_json::from_str(&request).unwrap_or(serde_json::Value::Null),
            created_by: r.try_get("created_by")?,
            created_ns: r.try_get("created_ns")?,
            started_ns: r.try_get("started_ns")?,
            ended_ns: r.try_get("ended_ns")?,
            error: r.try_get("error")?,
            summary: summary.and_then(|s| serde_json::from_str(&s).ok()),
        })
    };
    get().map_err(db::err("reading a job"))
}

/// Stores a new job (status `queued`).
pub(super) async fn insert(
    db: impl sqlx::Executor<'_, Database = sqlx::Any>,
    v: &JobView,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO jobs (id, kind, status, request, created_by, created_ns, done, total) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(v.id.clone())
    .bind(v.kind.name().to_string())
    .bind(v.status.name().to_string())
    .bind(v.request.to_string())
    .bind(v.created_by.clone())
    .bind(v.created_ns)
    .bind(i64::try_from(v.progress.done).unwrap_or(i64::MAX))
    .bind(i64::try_from(v.progress.total).unwrap_or(i64::MAX))
    .execute(db)
    .await
    .map_err(db::err("storing a job"))?;
    Ok(())
}

/// Marks a job `running` from `started_ns`.
pub(super) async fn set_running(pool: &AnyPool, id: &str, started_ns: i64) -> Result<(), DbError> {
    sqlx::query("UPDATE jobs SET status = 'running', started_ns = $1 WHERE id = $2")
        .bind(started_ns)
        .bind(id.to_string())
        .execute(pool)
        .await
        .map_err(db::err("starting a job"))?;
    Ok(())
}

/// How a job ended.
#[derive(Debug, Clone)]
pub(super) struct Ended {
    pub status: JobStatus,
    pub progress: JobProgress,
    pub error: Option<String>,
    pub summary: Option<serde_json::Value>,
    pub ended_ns: i64,
}

/// Stores how a job ended (only a job not ended yet: an end is never rewritten).
pub(super) async fn finish(pool: &AnyPool, id: &str, e: &Ended) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE jobs SET status = $1, done = $2, total = $3, error = $4, summary = $5, ended_ns = $6 WHERE id = $7 AND status IN ('queued', 'running')",
    )
    .bind(e.status.name().to_string())
    .bind(i64::try_from(e.progress.done).unwrap_or(i64::MAX))
    .bind(i64::try_from(e.progress.total).unwrap_or(i64::MAX))
    .bind(e.error.clone())
    .bind(e.summary.as_ref().map(ToString::to_string))
    .bind(e.ended_ns)
    .bind(id.to_string())
    .execute(pool)
    .await
    .map_err(db::err("ending a job"))?;
    Ok(())
}

/// One job.
pub(super) async fn get(pool: &AnyPool, id: &str) -> Result<Option<JobView>, DbError> {
    let q = format!("{COLUMNS} WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(id.to_string())
        .fetch_optional(pool)
        .await
        .map_err(db::err("reading a job"))?
        .as_ref()
        .map(view)
        .transpose()
}

/// Every job of `kind`, newest first.
pub(super) async fn list(pool: &AnyPool, kind: JobKind) -> Result<Vec<JobView>, DbError> {
    let q = format!("{COLUMNS} WHERE kind = $1 ORDER BY created_ns DESC, id DESC");
    sqlx::query(sqlx::AssertSqlSafe(q))
        .bind(kind.name().to_string())
        .fetch_all(pool)
        .await
        .map_err(db::err("listing jobs"))?
        .iter()
        .map(view)
        .collect()
}

/// Jobs a previous process left `queued` or `running`, oldest first.
pub(super) async fn left_over(pool: &AnyPool) -> Result<Vec<JobView>, DbError> {
    let q = format!("{COLUMNS} WHERE status IN ('queued', 'running') ORDER BY created_ns, id");
    sqlx::query(sqlx::AssertSqlSafe(q))
        .fetch_all(pool)
        .await
        .map_err(db::err("looking for interrupted jobs"))?
        .iter()
        .map(view)
        .collect()
}
