//! Audit appends from request handlers, before their effect.
//!
//! An API change writes its row and its audit record in the same database transaction
//! ([`AppState::audit_in`]), so the change exists only with its record, and a record that
//! cannot be written undoes the change. A decision with no row of its own (a halt, a
//! refused deployment, a summary of authentication failures) is appended in a transaction
//! of its own ([`AppState::audit`]) and awaited before it takes effect. Both are async
//! database calls on the pool: no handler holds a lock or blocks an async worker while the
//! record is written (the chain's lock is the `audit_lock` row, taken inside the
//! transaction).

use sqlx::{Any, AnyConnection, Transaction};

use super::{AppState, audit_store, db, error::ApiError};
use crate::audit::{AuditAction, AuditRecord, Entry, record};

impl AppState {
    /// Starts a transaction on the service database.
    pub async fn begin(&self) -> Result<Transaction<'static, Any>, ApiError> {
        Ok(self
            .pool
            .begin()
            .await
            .map_err(db::err("starting a transaction"))?)
    }

    /// Appends one record in a transaction of its own and waits for its commit.
    pub async fn audit(
        &self,
        actor: &str,
        action: AuditAction,
        subject: &str,
        details: serde_json::Value,
    ) -> Result<AuditRecord, ApiError> {
        let mut tx = self.begin().await?;
        let record = self
            .audit_in(&mut tx, actor, action, subject, details)
            .await?;
        commit(tx, &format!("audit record {}", record.seq)).await?;
        Ok(record)
    }

    /// Appends one record inside `conn`'s transaction (bounded like every record).
    pub async fn audit_in(
        &self,
        conn: &mut AnyConnection,
        actor: &str,
        action: AuditAction,
        subject: &str,
        details: serde_json::Value,
    ) -> Result<AuditRecord, ApiError> {
        let details = record::details_of(details);
        let entry = Entry {
            ts_ns: crate::time::wall_clock_ns(),
            actor,
            action,
            subject,
            details: &details,
        };
        Ok(audit_store::append_in(conn, &entry, &self.audit_signer).await?)
    }
}

/// Commits `tx`.
pub async fn commit(tx: Transaction<'static, Any>, what: &str) -> Result<(), ApiError> {
    Ok(tx
        .commit()
        .await
        .map_err(db::err(format!("committing {what}")))?)
}
