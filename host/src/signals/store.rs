//! The persisted signal buffer: SQLite through sqlx.
//!
//! A signal is *acknowledged* when the transaction that stored it commits; only then is it
//! reported to whoever sent it and handed to the router. So a crash (even `kill -9`) at any
//! moment loses nothing that was acknowledged: either the transaction committed (the
//! signal is there and is delivered on restart from each consumer's cursor) or it did not
//! (the sender was never told it was accepted and sends it again; duplicates are dropped
//! idempotently).
//!
//! The database file is `signals.db` inside the signal root the operator configured; no
//! user- or model-supplied name ever becomes part of a path.

use std::{collections::HashMap, path::Path, str::FromStr, time::Duration};

use serde::Serialize;
use sqlx::{
    QueryBuilder, Row,
    sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
    },
};

use super::{schema::Signal, validate::Refusal};

/// The database file inside the signal root.
pub const DB_FILE: &str = "signals.db";

/// Rows per multi-row INSERT (9 parameters each, far below SQLite's 32,766).
const ROWS_PER_INSERT: usize = 200;

/// At most this much of a refused input is kept in its dead letter.
pub const MAX_DEAD_INPUT_BYTES: usize = 64 * 1024;

/// What a commit survives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Durability {
    /// fsync on every commit (SQLite `synchronous=FULL`): survives power loss.
    #[default]
    PowerLoss,
    /// WAL without fsync per commit (`synchronous=NORMAL`): survives a crash or `kill -9`
    /// of the process, not the loss of the machine.
    ProcessCrash,
}

impl FromStr for Durability {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "power-loss" => Ok(Self::PowerLoss),
            "process-crash" => Ok(Self::ProcessCrash),
            _ => Err(format!(
                "unknown durability `{s}` (expected power-loss or process-crash)"
            )),
        }
    }
}

/// The store could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("signal store `{path}`: {source}")]
    Open { path: String, source: sqlx::Error },
    #[error("signal store migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("signal store: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("signal store holds a record that is not a valid signal (seq {seq}): {reason}")]
    Corrupt { seq: i64, reason: String },
    #[error("{what} {value} does not fit the store's 63-bit integers")]
    Range { what: &'static str, value: u64 },
}

/// One input on its way into the buffer: a validated signal or a refusal.
#[derive(Debug, Clone)]
pub enum Incoming {
    Valid {
        signal: Signal,
        source: String,
        correlation_id: String,
    },
    Refused {
        /// The input as received.
        input: String,
        refusal: Refusal,
        signal_id: Option<String>,
        source: String,
        correlation_id: String,
    },
}

/// What happened to each input of a batch, in input order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Ack {
    /// Stored with this sequence number.
    Stored { seq: i64 },
    /// The same signal (same id, same content) was already stored: nothing to do.
    Duplicate { seq: i64 },
    /// Refused, with its dead letter id.
    DeadLettered { id: i64, reason: String },
}

/// A stored signal.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub seq: i64,
    pub signal: Signal,
    pub source: String,
    pub correlation_id: String,
    pub received_ns: u64,
}

/// A dead letter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadLetter {
    pub id: i64,
    pub stage: String,
    pub signal_id: Option<String>,
    pub consumer: Option<String>,
    pub reason: String,
    pub input: String,
    pub source: String,
    pub correlation_id: String,
    pub recorded_ns: u64,
}

/// A delivery that failed, to record as a dead letter.
#[derive(Debug, Clone)]
pub struct FailedDelivery<'a> {
    pub stored: &'a Stored,
    pub consumer: &'a str,
    pub reason: String,
}

/// The SQLite-backed buffer (async; see [`super::buffer::BlockingStore`] for a sync facade).
#[derive(Debug, Clone)]
pub struct SignalStore {
    pool: SqlitePool,
}

fn i64_of(what: &'static str, value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Range { what, value })
}

fn u64_of(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn clip(s: &str) -> &str {
    if s.len() <= MAX_DEAD_INPUT_BYTES {
        return s;
    }
    let mut end = MAX_DEAD_INPUT_BYTES;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl SignalStore {
    /// Opens (creating and migrating if needed) `signals.db` in `root`.
    pub async fn open(root: &Path, durability: Durability) -> Result<Self, StoreError> {
        let path = root.join(DB_FILE);
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match durability {
                Durability::PowerLoss => SqliteSynchronous::Full,
                Durability::ProcessCrash => SqliteSynchronous::Normal,
            })
            .busy_timeout(Duration::from_secs(10));
        Self::connect(options, path.display().to_string()).await
    }

    /// A private in-memory store (tests and benchmarks).
    pub async fn in_memory() -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new().in_memory(true);
        Self::connect(options, ":memory:".into()).await
    }

    async fn connect(options: SqliteConnectOptions, path: String) -> Result<Self, StoreError> {
        // One writer connection: SQLite serialises writers anyway, and one connection keeps
        // an in-memory database alive and shared.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Open { path, source })?;
        sqlx::migrate!("./migrations/signals").run(&pool).await?;
        Ok(Self { pool })
    }

    /// Stores a batch in one transaction and says what happened to each input. Nothing is
    /// acknowledged unless the whole batch committed. Signals are inserted in input order
    /// (so `seq` follows it), many rows per statement.
    pub async fn append(&self, batch: &[Incoming], now_ns: u64) -> Result<Vec<Ack>, StoreError> {
        let now = i64_of("time", now_ns)?;
        let mut tx = self.pool.begin().await?;
        // Canonical bodies of the valid inputs, by input index.
        let bodies: Vec<Option<String>> = batch
            .iter()
            .map(|item| match item {
                Incoming::Valid { signal, .. } => Some(signal.canonical_json()),
                Incoming::Refused { .. } => None,
            })
            .collect();
        let valid: Vec<usize> = (0..batch.len()).filter(|&i| bodies[i].is_some()).collect();
        // id -> (seq, body) of every signal this batch inserted or found stored.
        let mut known: HashMap<String, (i64, String)> = HashMap::new();
        let mut inserted: HashMap<String, i64> = HashMap::new();
        for chunk in valid.chunks(ROWS_PER_INSERT) {
            let mut qb = QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT INTO signals (signal_id, ts, signal_type, instrument_id, source_model, body, source, correlation_id, received_ns) ",
            );
            let mut bad = None;
            qb.push_values(chunk, |mut b, &i| {
                let Incoming::Valid {
                    signal,
                    source,
                    correlation_id,
                } = &batch[i]
                else {
                    return;
                };
                let ts = i64_of("timestamp", signal.timestamp).unwrap_or_else(|e| {
                    bad = Some(e);
                    0
                });
                b.push_bind(signal.signal_id.clone())
                    .push_bind(ts)
                    .push_bind(signal.signal_type.name())
                    .push_bind(signal.instrument_id.clone())
                    .push_bind(signal.source_model.clone())
                    .push_bind(bodies[i].clone().unwrap_or_default())
                    .push_bind(source.clone())
                    .push_bind(correlation_id.clone())
                    .push_bind(now);
            });
            if let Some(e) = bad {
                return Err(e);
            }
            qb.push(" ON CONFLICT (signal_id) DO NOTHING RETURNING signal_id, seq");
            for row in qb.build().fetch_all(&mut *tx).await? {
                inserted.insert(row.get(0), row.get(1));
            }
        }
        // Ids that were not inserted: already stored (or repeated within this batch).
        let missing: Vec<String> = valid
            .iter()
            .filter_map(|&i| match &batch[i] {
                Incoming::Valid { signal, .. } if !inserted.contains_key(&signal.signal_id) => {
                    Some(signal.signal_id.clone())
                }
                _ => None,
            })
            .collect();
        for chunk in missing.chunks(ROWS_PER_INSERT * 9) {
            let mut qb = QueryBuilder::<sqlx::Sqlite>::new(
                "SELECT signal_id, seq, body FROM signals WHERE signal_id IN (",
            );
            let mut ids = qb.separated(", ");
            for id in chunk {
                ids.push_bind(id.clone());
            }
            ids.push_unseparated(")");
            for row in qb.build().fetch_all(&mut *tx).await? {
                known.insert(row.get(0), (row.get(1), row.get(2)));
            }
        }
        let mut acks = Vec::with_capacity(batch.len());
        for (i, item) in batch.iter().enumerate() {
            let ack = match item {
                Incoming::Valid {
                    signal,
                    source,
                    correlation_id,
                } => {
                    let body = bodies[i].as_deref().unwrap_or_default();
                    if let Some(seq) = inserted.remove(&signal.signal_id) {
                        // The first input with this id is the one that was inserted.
                        known.insert(signal.signal_id.clone(), (seq, body.to_string()));
                        Ack::Stored { seq }
                    } else if let Some((seq, stored)) = known.get(&signal.signal_id) {
                        if stored == body {
                            Ack::Duplicate { seq: *seq }
                        } else {
                            let reason = format!(
                                "signal_id: `{}` was already stored (seq {seq}) with different content; a signal id names one signal forever",
                                signal.signal_id
                            );
                            let id = insert_dead(
                                &mut tx,
                                "duplicate",
                                Some(&signal.signal_id),
                                None,
                                &reason,
                                body,
                                source,
                                correlation_id,
                                now,
                            )
                            .await?;
                            Ack::DeadLettered { id, reason }
                        }
                    } else {
                        return Err(StoreError::Corrupt {
                            seq: 0,
                            reason: format!(
                                "`{}` was neither inserted nor found",
                                signal.signal_id
                            ),
                        });
                    }
                }
                Incoming::Refused {
                    input,
                    refusal,
                    signal_id,
                    source,
                    correlation_id,
                } => {
                    let reason = refusal.to_string();
                    let id = insert_dead(
                        &mut tx,
                        "validation",
                        signal_id.as_deref(),
                        None,
                        &reason,
                        clip(input),
                        source,
                        correlation_id,
                        now,
                    )
                    .await?;
                    Ack::DeadLettered { id, reason }
                }
            };
            acks.push(ack);
        }
        tx.commit().await?;
        Ok(acks)
    }

    /// Records deliveries that failed (quarantined or faulting consumer, open breaker).
    pub async fn dead_letter_deliveries(
        &self,
        failed: &[FailedDelivery<'_>],
        now_ns: u64,
    ) -> Result<Vec<i64>, StoreError> {
        let now = i64_of("time", now_ns)?;
        let mut tx = self.pool.begin().await?;
        let mut ids = Vec::with_capacity(failed.len());
        for f in failed {
            ids.push(
                insert_dead(
                    &mut tx,
                    "delivery",
                    Some(&f.stored.signal.signal_id),
                    Some(f.consumer),
                    &f.reason,
                    &f.stored.signal.canonical_json(),
                    &f.stored.source,
                    &f.stored.correlation_id,
                    now,
                )
                .await?,
            );
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// Stored signals with `seq > after`, in `seq` order, at most `limit`.
    pub async fn read_after(&self, after: i64, limit: u32) -> Result<Vec<Stored>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, body, source, correlation_id, received_ns FROM signals WHERE seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(stored).collect()
    }

    /// Stored signals with `from <= timestamp < to` and `seq > after`, in `seq` order (the
    /// order they were acknowledged and delivered live), at most `limit`.
    pub async fn read_range(
        &self,
        from_ns: u64,
        to_ns: u64,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Stored>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, body, source, correlation_id, received_ns FROM signals
             WHERE ts >= ? AND ts < ? AND seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(i64_of("from", from_ns)?)
        .bind(i64::try_from(to_ns).unwrap_or(i64::MAX))
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(stored).collect()
    }

    /// Number of stored signals.
    pub async fn count(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM signals")
            .fetch_one(&self.pool)
            .await?;
        Ok(u64_of(n))
    }

    /// The newest `seq` (0 when empty).
    pub async fn last_seq(&self) -> Result<i64, StoreError> {
        let n: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM signals")
            .fetch_one(&self.pool)
            .await?;
        Ok(n.unwrap_or(0))
    }

    /// Dead letters with `id > after`, optionally of one stage, oldest first.
    pub async fn dead_letters(
        &self,
        stage: Option<&str>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<DeadLetter>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, stage, signal_id, consumer, reason, input, source, correlation_id, recorded_ns
             FROM dead_letters WHERE (? IS NULL OR stage = ?) AND id > ? ORDER BY id LIMIT ?",
        )
        .bind(stage)
        .bind(stage)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| DeadLetter {
                id: r.get(0),
                stage: r.get(1),
                signal_id: r.get(2),
                consumer: r.get(3),
                reason: r.get(4),
                input: r.get(5),
                source: r.get(6),
                correlation_id: r.get(7),
                recorded_ns: u64_of(r.get(8)),
            })
            .collect())
    }

    /// Where `consumer`'s live delivery stands (0: nothing delivered yet).
    pub async fn cursor(&self, consumer: &str) -> Result<i64, StoreError> {
        let n: Option<i64> =
            sqlx::query_scalar("SELECT seq FROM consumer_cursors WHERE consumer = ?")
                .bind(consumer)
                .fetch_optional(&self.pool)
                .await?;
        Ok(n.unwrap_or(0))
    }

    /// Records that `consumer` was delivered everything up to `seq`.
    pub async fn set_cursor(&self, consumer: &str, seq: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO consumer_cursors (consumer, seq) VALUES (?, ?)
             ON CONFLICT (consumer) DO UPDATE SET seq = excluded.seq",
        )
        .bind(consumer)
        .bind(seq)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Closes the pool (waits for the connection to finish).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn stored(r: &sqlx::sqlite::SqliteRow) -> Result<Stored, StoreError> {
    let seq: i64 = r.get(0);
    let body: String = r.get(1);
    let signal: Signal = serde_json::from_str(&body).map_err(|e| StoreError::Corrupt {
        seq,
        reason: e.to_string(),
    })?;
    Ok(Stored {
        seq,
        signal,
        source: r.get(2),
        correlation_id: r.get(3),
        received_ns: u64_of(r.get(4)),
    })
}

#[allow(clippy::too_many_arguments)]
async fn insert_dead(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    stage: &str,
    signal_id: Option<&str>,
    consumer: Option<&str>,
    reason: &str,
    input: &str,
    source: &str,
    correlation_id: &str,
    now: i64,
) -> Result<i64, StoreError> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO dead_letters (stage, signal_id, consumer, reason, input, source, correlation_id, recorded_ns)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(stage)
    .bind(signal_id)
    .bind(consumer)
    .bind(reason)
    .bind(input)
    .bind(source)
    .bind(correlation_id)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(id)
}
