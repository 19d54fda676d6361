//! The service database: SQLite by default, PostgreSQL when the URL says so; one set of
//! portable migrations (`host/migrations/service`), run at start.

use sqlx::{AnyPool, any::AnyPoolOptions};

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
