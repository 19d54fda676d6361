//! The audit trail in the service database.
//!
//! [`crate::audit::AuditLog`] appends synchronously, from API handlers and from session
//! threads alike, and must not return before the record is committed. So one writer
//! thread with its own small runtime and connection pool owns the inserts; `append` hands
//! it the record and waits for the commit. At start the whole stored chain is read and
//! verified: a trail that does not verify is never extended (the service refuses to start).

use std::sync::mpsc;

use sqlx::AnyPool;

use crate::audit::{self, AuditLog, AuditRecord, AuditStore};

type Job = (AuditRecord, mpsc::Sender<std::io::Result<()>>);

/// An [`AuditStore`] writing to the `audit` table.
#[derive(Debug)]
pub struct DbAuditStore {
    jobs: mpsc::Sender<Job>,
}

impl AuditStore for DbAuditStore {
    fn append(&mut self, record: &AuditRecord) -> std::io::Result<()> {
        let (tx, rx) = mpsc::channel();
        self.jobs
            .send((record.clone(), tx))
            .map_err(|_| std::io::Error::other("the audit writer has stopped"))?;
        rx.recv()
            .map_err(|_| std::io::Error::other("the audit writer stopped mid-write"))?
    }
}

/// The stored trail does not verify, or cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum OpenAuditError {
    #[error(transparent)]
    Db(#[from] super::db::DbError),
    #[error(
        "the audit trail in the database is broken: {0}. Keep the database for investigation (`stratbox audit verify` shows the same); the service will not extend a broken trail"
    )]
    Broken(audit::ChainError),
    #[error("cannot start the audit writer: {0}")]
    Thread(String),
}

/// Opens the trail in the database at `url`: reads and verifies every record, then
/// continues the chain through a writer thread.
pub fn open(url: &str) -> Result<(AuditLog, u64), OpenAuditError> {
    let (ready_tx, ready_rx) =
        mpsc::channel::<Result<(Option<AuditRecord>, u64), OpenAuditError>>();
    let (jobs_tx, jobs_rx) = mpsc::channel::<Job>();
    let url = url.to_string();
    std::thread::Builder::new()
        .name("audit-writer".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    let _ = ready_tx.send(Err(OpenAuditError::Thread(e.to_string())));
                    return;
                }
            };
            runtime.block_on(async move {
                let pool = match prepare(&url).await {
                    Ok((pool, last, n)) => {
                        let _ = ready_tx.send(Ok((last, n)));
                        pool
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                while let Ok((record, done)) = jobs_rx.recv() {
                    let result = super::db::insert_audit(&pool, &record)
                        .await
                        .map_err(std::io::Error::other);
                    let _ = done.send(result);
                }
                pool.close().await;
            });
        })
        .map_err(|e| OpenAuditError::Thread(e.to_string()))?;
    let (last, n) = ready_rx
        .recv()
        .map_err(|_| OpenAuditError::Thread("the audit writer died at start".into()))??;
    let store = DbAuditStore { jobs: jobs_tx };
    Ok((AuditLog::continuing(Box::new(store), last.as_ref()), n))
}

async fn prepare(url: &str) -> Result<(AnyPool, Option<AuditRecord>, u64), OpenAuditError> {
    let pool = super::db::open(url, 1).await?;
    let records = super::db::audit_records(&pool).await?;
    audit::verify(&records).map_err(OpenAuditError::Broken)?;
    let n = records.len() as u64;
    Ok((pool, records.into_iter().last(), n))
}
