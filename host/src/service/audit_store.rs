//! The audit trail in the service database: one chain, any number of writers.
//!
//! The chain's head lives in the table, not in a process: every append runs in one
//! transaction that takes the chain's lock (an update of the one row of `audit_lock`: a
//! row lock in PostgreSQL, the write lock in SQLite), reads the last record, inserts the
//! next one and, every [`CHECKPOINT_EVERY`] records, the host's signed checkpoint. So the
//! service, a second service on the same database and `stratbox tokens create` all extend
//! one valid chain, and an API change can write its row and its record in one transaction
//! ([`append_in`]).
//!
//! Sessions append synchronously from their own threads; [`DbAuditStore`] hands each
//! record to one writer thread with its own small runtime and connection, and waits for
//! the commit. At start the whole stored trail is read and verified, checkpoints included:
//! a trail that does not verify is never extended (the service refuses to start).

use std::sync::{Arc, mpsc};

use serde_json::value::RawValue;
use sqlx::{AnyConnection, AnyPool, Row};

use super::db::{DbError, err};
use crate::audit::{
    self, AuditAction, AuditLog, AuditRecord, AuditStore, CHECKPOINT_EVERY, Checkpoint, Entry,
    Head, Signer, TrailError,
};

/// Takes the chain's lock for the rest of the transaction.
async fn lock(conn: &mut AnyConnection) -> Result<(), DbError> {
    sqlx::query("UPDATE audit_lock SET appends = appends + 1 WHERE id = 1")
        .execute(&mut *conn)
        .await
        .map_err(err("locking the audit chain"))?;
    Ok(())
}

/// The chain's head as stored.
async fn head(conn: &mut AnyConnection) -> Result<Head, DbError> {
    let row = sqlx::query("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await
        .map_err(err("reading the audit chain's head"))?;
    let Some(row) = row else {
        return Ok(Head::default());
    };
    let seq: i64 = row.try_get("seq").map_err(err("reading the audit head"))?;
    Ok(Head {
        next_seq: u64::try_from(seq).unwrap_or(0) + 1,
        last_hash: row.try_get("hash").map_err(err("reading the audit head"))?,
    })
}

/// Appends `entry` inside the caller's transaction (see the module docs). The record is
/// durable when the caller commits; if the caller rolls back, neither the record nor the
/// caller's change exists.
pub async fn append_in(
    conn: &mut AnyConnection,
    entry: &Entry<'_>,
    signer: &Signer,
) -> Result<AuditRecord, DbError> {
    lock(conn).await?;
    let record = head(conn).await?.seal(entry);
    insert(conn, &record).await?;
    if record.seq % CHECKPOINT_EVERY == CHECKPOINT_EVERY - 1 {
        let cp = signer.sign(record.seq, &record.hash, crate::time::wall_clock_ns());
        insert_checkpoint(conn, &cp).await?;
    }
    Ok(record)
}

/// Appends `entry` in a transaction of its own.
pub async fn append(
    pool: &AnyPool,
    entry: &Entry<'_>,
    signer: &Signer,
) -> Result<AuditRecord, DbError> {
    let mut tx = pool
        .begin()
        .await
        .map_err(err("starting an audit append"))?;
    let record = append_in(&mut tx, entry, signer).await?;
    tx.commit()
        .await
        .map_err(err(format!("committing audit record {}", record.seq)))?;
    Ok(record)
}

/// Signs the stored head, unless it is signed already.
pub async fn sign_head(pool: &AnyPool, signer: &Signer) -> Result<Option<Checkpoint>, DbError> {
    let mut tx = pool.begin().await.map_err(err("starting a checkpoint"))?;
    lock(&mut tx).await?;
    let head = head(&mut tx).await?;
    let Some(seq) = head.next_seq.checked_sub(1) else {
        // End the transaction now: a dropped one is rolled back only when its connection
        // is next used, and until then it holds the chain's lock against every writer.
        tx.rollback().await.map_err(err("ending a checkpoint"))?;
        return Ok(None);
    };
    let cp = signer.sign(seq, &head.last_hash, crate::time::wall_clock_ns());
    let inserted = insert_checkpoint(&mut tx, &cp).await?;
    tx.commit().await.map_err(err("committing a checkpoint"))?;
    Ok(inserted.then_some(cp))
}

async fn insert(conn: &mut AnyConnection, r: &AuditRecord) -> Result<(), DbError> {
    let action = serde_json::to_value(r.action)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    sqlx::query(
        "INSERT INTO audit (seq, ts_ns, actor, action, subject, details, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(i64::try_from(r.seq).unwrap_or(i64::MAX))
    .bind(i64::try_from(r.ts_ns).unwrap_or(i64::MAX))
    .bind(r.actor.clone())
    .bind(action)
    .bind(r.subject.clone())
    .bind(r.details.get().to_string())
    .bind(r.prev_hash.clone())
    .bind(r.hash.clone())
    .execute(&mut *conn)
    .await
    .map_err(err(format!("appending audit record {}", r.seq)))?;
    Ok(())
}

/// Inserts `cp`; false if that head was signed already.
async fn insert_checkpoint(conn: &mut AnyConnection, cp: &Checkpoint) -> Result<bool, DbError> {
    let done = sqlx::query(
        "INSERT INTO audit_checkpoints (seq, hash, ts_ns, public_key, signature) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (seq) DO NOTHING",
    )
    .bind(i64::try_from(cp.seq).unwrap_or(i64::MAX))
    .bind(cp.hash.clone())
    .bind(i64::try_from(cp.ts_ns).unwrap_or(i64::MAX))
    .bind(cp.public_key.clone())
    .bind(cp.signature.clone())
    .execute(&mut *conn)
    .await
    .map_err(err(format!("storing the checkpoint at seq {}", cp.seq)))?;
    Ok(done.rows_affected() > 0)
}

/// The whole trail to verify: its signed checkpoints, then its records. In that order: a
/// checkpoint is committed with or after the records it covers, so every checkpoint read
/// first covers records the second read sees. Read the other way round, a writer that
/// commits records and a checkpoint between the two reads makes the checkpoint cover
/// records the first read missed, and a sound trail looks truncated (seen with two services
/// and the CLI writing one SQLite trail).
pub async fn trail(pool: &AnyPool) -> Result<(Vec<AuditRecord>, Vec<Checkpoint>), DbError> {
    let checkpoints = checkpoints(pool).await?;
    let records = records(pool).await?;
    Ok((records, checkpoints))
}

/// Every audit record, in sequence order. A row that is not a record (an edited action
/// name or details that are not JSON) is an error naming its sequence number.
pub async fn records(pool: &AnyPool) -> Result<Vec<AuditRecord>, DbError> {
    let rows = sqlx::query(
        "SELECT seq, ts_ns, actor, action, subject, details, prev_hash, hash FROM audit ORDER BY seq",
    )
    .fetch_all(pool)
    .await
    .map_err(err("reading the audit trail"))?;
    rows.iter().map(record_row).collect()
}

/// Every checkpoint, in sequence order.
/// The hash of record `seq`, if the chain has it.
///
/// # Errors
/// The database cannot be read.
pub async fn hash_at(pool: &AnyPool, seq: u64) -> Result<Option<String>, DbError> {
    let row = sqlx::query("SELECT hash FROM audit WHERE seq = $1")
        .bind(i64::try_from(seq).unwrap_or(i64::MAX))
        .fetch_optional(pool)
        .await
        .map_err(err("reading the audit chain"))?;
    row.map(|r| r.try_get("hash"))
        .transpose()
        .map_err(err("reading the audit chain"))
}

pub async fn checkpoints(pool: &AnyPool) -> Result<Vec<Checkpoint>, DbError> {
    let rows = sqlx::query(
        "SELECT seq, hash, ts_ns, public_key, signature FROM audit_checkpoints ORDER BY seq",
    )
    .fetch_all(pool)
    .await
    .map_err(err("reading the audit checkpoints"))?;
    rows.iter()
        .map(|row| {
            let get = err("reading an audit checkpoint");
            let seq: i64 = row.try_get("seq").map_err(get)?;
            let ts_ns: i64 = row
                .try_get("ts_ns")
                .map_err(err("reading an audit checkpoint"))?;
            Ok(Checkpoint {
                seq: u64::try_from(seq).unwrap_or(u64::MAX),
                hash: row
                    .try_get("hash")
                    .map_err(err("reading an audit checkpoint"))?,
                ts_ns: u64::try_from(ts_ns).unwrap_or(0),
                public_key: row
                    .try_get("public_key")
                    .map_err(err("reading an audit checkpoint"))?,
                signature: row
                    .try_get("signature")
                    .map_err(err("reading an audit checkpoint"))?,
            })
        })
        .collect()
}

fn record_row(row: &sqlx::any::AnyRow) -> Result<AuditRecord, DbError> {
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
    let details: Box<RawValue> = serde_json::from_str(&details)
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

/// An entry that owns its parts, to cross to the writer thread.
struct OwnedEntry {
    ts_ns: u64,
    actor: String,
    action: AuditAction,
    subject: String,
    details: Box<RawValue>,
}

enum Job {
    Append(OwnedEntry, mpsc::Sender<std::io::Result<AuditRecord>>),
    Checkpoint(mpsc::Sender<std::io::Result<Option<Checkpoint>>>),
}

/// An [`AuditStore`] writing to the `audit` table through the writer thread.
#[derive(Debug)]
pub struct DbAuditStore {
    jobs: tokio::sync::mpsc::UnboundedSender<Job>,
}

fn stopped() -> std::io::Error {
    std::io::Error::other("the audit writer has stopped")
}

impl AuditStore for DbAuditStore {
    fn append(&mut self, entry: &Entry<'_>) -> std::io::Result<AuditRecord> {
        let (tx, rx) = mpsc::channel();
        let owned = OwnedEntry {
            ts_ns: entry.ts_ns,
            actor: entry.actor.to_string(),
            action: entry.action,
            subject: entry.subject.to_string(),
            details: entry.details.to_owned(),
        };
        self.jobs
            .send(Job::Append(owned, tx))
            .map_err(|_| stopped())?;
        rx.recv().map_err(|_| stopped())?
    }

    fn checkpoint(&mut self) -> std::io::Result<Option<Checkpoint>> {
        let (tx, rx) = mpsc::channel();
        self.jobs.send(Job::Checkpoint(tx)).map_err(|_| stopped())?;
        rx.recv().map_err(|_| stopped())?
    }
}

/// The stored trail does not verify, or cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum OpenAuditError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(
        "the audit trail in the database does not verify: {0}. Keep the database for investigation (`stratbox audit verify` shows the same); the service will not extend it"
    )]
    Broken(TrailError),
    #[error("cannot start the audit writer: {0}")]
    Thread(String),
}

/// An opened trail: the synchronous handle for sessions, and what async callers need to
/// append in their own transactions.
#[derive(Debug)]
pub struct OpenedTrail {
    pub log: AuditLog,
    pub signer: Arc<Signer>,
    /// Records in the trail when it was opened.
    pub records: u64,
}

/// Opens the trail in the database at `url`: reads and verifies every record and every
/// checkpoint against `signer`'s key, then continues the chain through a writer thread.
/// A trail without checkpoints is signed at its verified head the first time it is opened
/// with a newly made key (`new_key`), so trails from before checkpoints carry on.
pub fn open(url: &str, signer: Arc<Signer>, new_key: bool) -> Result<OpenedTrail, OpenAuditError> {
    let (ready_tx, ready_rx) = mpsc::channel::<Result<u64, OpenAuditError>>();
    // A tokio channel, awaited: between jobs the writer's runtime runs what sqlx spawned
    // (a dropped transaction's connection goes back to its pool only in such a task, and
    // until then holds the chain's lock). A blocking receive would starve those tasks.
    let (jobs_tx, mut jobs_rx) = tokio::sync::mpsc::unbounded_channel::<Job>();
    let url = url.to_string();
    let key = Arc::clone(&signer);
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
                let pool = match prepare(&url, &key, new_key).await {
                    Ok((pool, n)) => {
                        let _ = ready_tx.send(Ok(n));
                        pool
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                while let Some(job) = jobs_rx.recv().await {
                    match job {
                        Job::Append(e, done) => {
                            let entry = Entry {
                                ts_ns: e.ts_ns,
                                actor: &e.actor,
                                action: e.action,
                                subject: &e.subject,
                                details: &e.details,
                            };
                            let result = append(&pool, &entry, &key)
                                .await
                                .map_err(std::io::Error::other);
                            let _ = done.send(result);
                        }
                        Job::Checkpoint(done) => {
                            let result =
                                sign_head(&pool, &key).await.map_err(std::io::Error::other);
                            let _ = done.send(result);
                        }
                    }
                }
                pool.close().await;
            });
        })
        .map_err(|e| OpenAuditError::Thread(e.to_string()))?;
    let records = ready_rx
        .recv()
        .map_err(|_| OpenAuditError::Thread("the audit writer died at start".into()))??;
    let store = DbAuditStore { jobs: jobs_tx };
    Ok(OpenedTrail {
        log: AuditLog::continuing(Box::new(store)),
        signer,
        records,
    })
}

async fn prepare(
    url: &str,
    signer: &Signer,
    new_key: bool,
) -> Result<(AnyPool, u64), OpenAuditError> {
    let pool = super::db::open(url, 1).await?;
    let (records, checkpoints) = trail(&pool).await?;
    if new_key && checkpoints.is_empty() {
        audit::verify(&records).map_err(|e| OpenAuditError::Broken(e.into()))?;
        sign_head(&pool, signer).await?;
    } else {
        audit::verify_trail(&records, &checkpoints, signer.public_key(), None)
            .map_err(OpenAuditError::Broken)?;
    }
    Ok((pool, records.len() as u64))
}

/// Loads the service's signing key from `path` (generated on first start); true if it was
/// made now.
pub fn load_key(path: &std::path::Path) -> Result<(Arc<Signer>, bool), super::StartError> {
    let (dir, name) = key_location(path)?;
    let new = !dir.exists(&name);
    let signer = Signer::load_or_create(&dir, &name)
        .map_err(|e| super::StartError::Other(format!("{}: {e}", path.display())))?;
    Ok((Arc::new(signer), new))
}

/// The directory handle and file name of a key path.
pub fn key_location(
    path: &std::path::Path,
) -> Result<(cap_std::fs::Dir, String), super::StartError> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| {
            super::StartError::Other(format!(
                "audit_key `{}` does not name a file",
                path.display()
            ))
        })?
        .to_string();
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    let dir = crate::storage::create_dir(parent)?;
    Ok((dir, name))
}
