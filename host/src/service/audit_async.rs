//! Audit appends from async code. [`crate::audit::AuditLog::append`] takes the chain's
//! mutex and writes to the database synchronously; on a tokio worker that would stall
//! every other request served by that worker (an operator's halt among them) behind a
//! slow or contended write. [`AppState::audit`] runs the append on the blocking pool and
//! awaits it, so the record is stored before the caller goes on (audited before it takes
//! effect) without occupying an async worker.

use crate::audit::{AuditAction, AuditRecord};

use super::{AppState, error::ApiError};

impl AppState {
    /// Appends one record to the audit trail off the async workers and waits for it.
    pub async fn audit(
        &self,
        actor: &str,
        action: AuditAction,
        subject: &str,
        details: serde_json::Value,
    ) -> Result<AuditRecord, ApiError> {
        let log = self.audit.clone();
        let actor = actor.to_string();
        let subject = subject.to_string();
        tokio::task::spawn_blocking(move || log.append(&actor, action, &subject, details))
            .await
            .map_err(|e| ApiError::internal(format!("the audit writer task failed: {e}")))?
            .map_err(ApiError::from)
    }
}
