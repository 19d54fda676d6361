//! Audit before effect, in one transaction: an API change writes its row and its audit
//! record in the same database transaction ([`audit_store::append_in`]), so the change
//! exists only with its record, and a record that cannot be written undoes the change.

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
