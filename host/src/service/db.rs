//! The service database: SQLite by default, PostgreSQL when the URL says so; one set of
//! portable migrations (`host/migrations/service`), run at start.

use sqlx::{AnyPool, Row, any::AnyPoolOptions};

use crate::audit::{AuditAction, AuditRecord};

/// A database error, with what was being done.
#[derive(Debug, thiserror::Error)]
#[error("database ({what}): {source}")]
pub struct DbError {
    pub what: String,
    #[source]
    pub source: sqlx::Error,
}

/// Wraps a sqlx error with what was being done.
pub fn err(what: impl Into<String>) -> impl FnOnce(sqlx::Error) -> DbError {
    let what = what.into();
    move |source| DbError { what, source }
}

/// `url` without its password.
#[must_use]
pub fn redact(url: &str) -> String {
    crate::catalog::import::postgres::redact(url)
}

/// True for a SQLite URL.
#[must_use]
pub fn is_sqlite(url: &str) -> bool {
    url.starts_with("sqlite:")
}

/// Opens a pool and brings the schema up to date.
pub async fn open(url: &str, max_connections: u32) -> Result<AnyPool, DbError> {
    sqlx::any::install_default_drivers();
    let url = if is_sqlite(url) && !url.contains('?') && !url.contains(":memory:") {
        format!("{url}?mode=rwc")
    } else {
        url.to_string()
    };
    let shown = redact(&url);
    let pool = AnyPoolOptions::new()
        .max_connections(max_connections)
        .connect(&url)
        .await
        .map_err(err(format!("connecting to {shown}")))?;
    if is_sqlite(&url) {
        sqlx::query("PRAGMA journal_mode=WAL")
            .execute(&pool)
            .await
            .map_err(err("enabling WAL"))?;
    }
    sqlx::migrate!("./migrations/service")
        .run(&pool)
        .await
        .map_err(|e| DbError {
            what: format!("migrating {shown}"),
            source: e.into(),
        })?;
    Ok(pool)
}

/// Every audit record, in sequence order. A row that is not a record (an edited action
/// name or details that are not JSON) is an error naming its sequence number.
pub async fn audit_records(pool: &AnyPool) -> Result<Vec<AuditRecord>, DbError> {
    let rows = sqlx::query(
        "SELECT seq, ts_ns, actor, action, subject, details, prev_hash, hash FROM audit ORDER BY seq",
    )
    .fetch_all(pool)
    .await
    .map_err(err("reading the audit trail"))?;
    rows.iter().map(audit_row).collect()
}

fn audit_row(row: &sqlx::any::AnyRow) -> Result<AuditRecord, DbError> {
    let get = |e: sqlx::Error| DbError {
        what: "reading an audit row".into(),
        source: e,
    };
    let seq: i64 = row.try_get("seq").map_err(get)?;
    let bad = |m: String| DbError {
        what: format!("audit record seq {seq}"),
        source: sqlx::Error::Protocol(m),
    };
    let action: String = row.try_get("action").map_err(get)?;
    let action: AuditAction = serde_json::from_value(serde_json::Value::String(action.clone()))
        .map_err(|_| bad(format!("`{action}` is not an audit action (edited?)")))?;
    let details: String = row.try_get("details").map_err(get)?;
    let details = serde_json::from_str(&details)
        .map_err(|e| bad(format!("details are not JSON ({e}); edited?")))?;
    let ts_ns: i64 = row.try_get("ts_ns").map_err(get)?;
    Ok(AuditRecord {
        seq: u64::try_from(seq).map_err(|_| bad("negative sequence".into()))?,
        ts_ns: u64::try_from(ts_ns).map_err(|_| bad("negative time".into()))?,
        actor: row.try_get("actor").map_err(get)?,
        action,
        subject: row.try_get("subject").map_err(get)?,
        details,
        prev_hash: row.try_get("prev_hash").map_err(get)?,
        hash: row.try_get("hash").map_err(get)?,
    })
}

/// Appends one record (the caller holds the chain; see [`super::audit_store`]).
pub async fn insert_audit(pool: &AnyPool, r: &AuditRecord) -> Result<(), DbError> {
    let action = serde_json::to_value(r.action)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    sqlx::query(
        "INSERT INTO audit (seq, ts_ns, actor, action, subject, details, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(r.seq as i64)
    .bind(r.ts_ns as i64)
    .bind(r.actor.clone())
    .bind(action)
    .bind(r.subject.clone())
    .bind(r.details.to_string())
    .bind(r.prev_hash.clone())
    .bind(r.hash.clone())
    .execute(pool)
    .await
    .map_err(err(format!("appending audit record {}", r.seq)))?;
    Ok(())
}
