//! The audit trail: an append-only, hash-chained log of every security-relevant decision
//! (grant, refusal, quarantine, revocation, every risk-gate decision, trading-state
//! changes and halts; later hot-swap, rollback).
//!
//! Each record carries the hash of the previous one, so editing, inserting or deleting a
//! record breaks the chain and [`verify`] reports where. Records go to an [`AuditStore`]:
//! memory (tests, backtests) or a JSONL file reached through a `cap-std` directory handle.

use std::{
    fmt,
    io::Write,
    sync::{Arc, Mutex, PoisonError},
};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Hash that precedes the first record.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuditAction {
    /// A component was admitted with a set of capabilities.
    PluginGranted,
    /// A component was refused at load.
    PluginRefused,
    /// An instance faulted and was quarantined.
    PluginQuarantined,
    /// A capability was revoked from a running instance.
    CapabilityRevoked,
    /// The risk gate decided an order intent (accepted or refused, with the reason code).
    OrderDecision,
    /// A trading state changed (active / reducing / halted), by an operator or automatically.
    TradingStateChanged,
    /// The gate's positions disagreed with the venue's.
    PositionMismatch,
    /// A signal consumer's circuit breaker opened, went half-open or closed.
    SignalBreakerChanged,
    /// A component was stored in the registry.
    PluginUploaded,
    /// An author asked for a capability grant.
    GrantRequested,
    /// An admin approved a grant request (the diff is in the details).
    GrantApproved,
    /// An admin rejected a grant request.
    GrantRejected,
    /// A deployment was created and its paper session started.
    Deployed,
    /// A deployment was refused (grant, component, parameters, data).
    DeployRefused,
    /// A new version took over a running deployment between two events.
    PluginSwapped,
    /// A swap was refused at take-over, or a new version faulted on probation and the
    /// previous one runs again.
    SwapRolledBack,
    /// A new version passed its probation window.
    SwapCommitted,
    /// A deployment stopped (operator, end of data, or shutdown), with its state snapshot.
    DeploymentStopped,
    /// An API request had no valid token or a role without the right.
    AuthFailed,
    /// An API token was issued or revoked.
    TokenChanged,
    /// The service started or stopped.
    ServiceLifecycle,
}

/// One audit record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub seq: u64,
    /// Wall-clock time of the decision (UNIX ns).
    pub ts_ns: u64,
    /// Who decided: `host`, an operator, or a service principal.
    pub actor: String,
    pub action: AuditAction,
    /// What it concerns, e.g. `ema-cross@<sha256>`.
    pub subject: String,
    pub details: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditRecord {
    /// The hash of everything but `hash` itself.
    #[must_use]
    pub fn compute_hash(&self) -> String {
        /// The hashed body: keys in sorted order, exactly as a `serde_json` object of these
        /// fields prints (so the format is that of an object, without cloning `details`).
        #[derive(Serialize)]
        struct Body<'a> {
            action: AuditAction,
            actor: &'a str,
            details: &'a serde_json::Value,
            prev_hash: &'a str,
            seq: u64,
            subject: &'a str,
            ts_ns: u64,
        }
        let body = Body {
            action: self.action,
            actor: &self.actor,
            details: &self.details,
            prev_hash: &self.prev_hash,
            seq: self.seq,
            subject: &self.subject,
            ts_ns: self.ts_ns,
        };
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        hex::encode(Sha256::digest(&bytes))
    }
}

/// Where records are kept.
pub trait AuditStore: Send {
    fn append(&mut self, record: &AuditRecord) -> std::io::Result<()>;
}

/// The store of a memory trail: the chain's own list of kept records is the trail, so
/// nothing is stored twice (each record used to be cloned into both: docs/perf.md).
#[derive(Debug, Default)]
struct KeptOnly;

impl AuditStore for KeptOnly {
    fn append(&mut self, _record: &AuditRecord) -> std::io::Result<()> {
        Ok(())
    }
}

/// Records appended as JSON lines to a file inside a `cap-std` directory; each line is
/// flushed and synced before `append` returns.
#[derive(Debug)]
pub struct JsonlStore {
    file: cap_std::fs::File,
}

impl JsonlStore {
    /// Opens (creating if needed) `name` inside `dir` for appending.
    pub fn open(dir: &cap_std::fs::Dir, name: &str) -> std::io::Result<Self> {
        let mut opts = cap_std::fs::OpenOptions::new();
        opts.create(true).append(true);
        Ok(Self {
            file: dir.open_with(name, &opts)?,
        })
    }
}

impl AuditStore for JsonlStore {
    fn append(&mut self, record: &AuditRecord) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(record)?;
        line.push(b'\n');
        self.file.write_all(&line)?;
        self.file.sync_data()
    }
}

struct Chain {
    next_seq: u64,
    last_hash: String,
    store: Box<dyn AuditStore>,
    /// Copy of every record when the store is memory (for tests and reports).
    kept: Option<Vec<AuditRecord>>,
}

/// Handle to the audit trail; cheap to clone, safe to share.
#[derive(Clone)]
pub struct AuditLog {
    chain: Arc<Mutex<Chain>>,
}

impl fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLog").finish_non_exhaustive()
    }
}

/// Appending failed: the decision must not take effect unaudited.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the audit record: {0}")]
pub struct AuditError(#[from] std::io::Error);

impl AuditLog {
    /// An audit trail kept in memory; [`AuditLog::records`] returns it.
    #[must_use]
    pub fn memory() -> Self {
        Self::with_store(Box::new(KeptOnly), GENESIS_HASH.to_string(), 0, true)
    }

    /// An audit trail continuing after `last` (or from genesis) in `store`.
    #[must_use]
    pub fn continuing(store: Box<dyn AuditStore>, last: Option<&AuditRecord>) -> Self {
        let (hash, seq) = last.map_or((GENESIS_HASH.to_string(), 0), |r| {
            (r.hash.clone(), r.seq + 1)
        });
        Self::with_store(store, hash, seq, false)
    }

    fn with_store(
        store: Box<dyn AuditStore>,
        last_hash: String,
        next_seq: u64,
        keep: bool,
    ) -> Self {
        let chain = Chain {
            next_seq,
            last_hash,
            store,
            kept: keep.then(Vec::new),
        };
        Self {
            chain: Arc::new(Mutex::new(chain)),
        }
    }

    /// Appends one record and returns it. The time spent (waiting for the store's commit)
    /// is added to this thread's [`thread_blocked_nanos`].
    pub fn append(
        &self,
        actor: &str,
        action: AuditAction,
        subject: &str,
        details: serde_json::Value,
    ) -> Result<AuditRecord, AuditError> {
        let started = std::time::Instant::now();
        let _blocked = BlockedTimer(started);
        let mut chain = self.chain.lock().unwrap_or_else(PoisonError::into_inner);
        let mut record = AuditRecord {
            seq: chain.next_seq,
            ts_ns: crate::time::wall_clock_ns(),
            actor: actor.to_string(),
            action,
            subject: subject.to_string(),
            details,
            prev_hash: chain.last_hash.clone(),
            hash: String::new(),
        };
        record.hash = record.compute_hash();
        chain.store.append(&record)?;
        chain.next_seq += 1;
        chain.last_hash.clone_from(&record.hash);
        if let Some(kept) = chain.kept.as_mut() {
            kept.push(record.clone());
        }
        Ok(record)
    }

    /// Every record so far (memory trails only; empty otherwise).
    #[must_use]
    pub fn records(&self) -> Vec<AuditRecord> {
        let chain = self.chain.lock().unwrap_or_else(PoisonError::into_inner);
        chain.kept.clone().unwrap_or_default()
    }
}

thread_local! {
    static BLOCKED_NANOS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Nanoseconds this thread has spent inside [`AuditLog::append`] (waiting for the lock
/// and the store's commit). A sandboxed callback whose host call audits is blocked on
/// I/O for that long; the sandbox's wall-clock deadline does not count it against the
/// guest.
#[must_use]
pub fn thread_blocked_nanos() -> u64 {
    BLOCKED_NANOS.with(std::cell::Cell::get)
}

/// Adds the time since its start to [`thread_blocked_nanos`] when dropped.
struct BlockedTimer(std::time::Instant);

impl Drop for BlockedTimer {
    fn drop(&mut self) {
        let n = u64::try_from(self.0.elapsed().as_nanos()).unwrap_or(u64::MAX);
        BLOCKED_NANOS.with(|c| c.set(c.get().saturating_add(n)));
    }
}

/// Where a chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error(
        "record {index}: sequence {found}, expected {expected} (a record was inserted or deleted)"
    )]
    Sequence {
        index: usize,
        expected: u64,
        found: u64,
    },
    #[error(
        "record {index} (seq {seq}): does not follow the previous record's hash (a record was inserted, deleted or edited)"
    )]
    Link { index: usize, seq: u64 },
    #[error("record {index} (seq {seq}): content does not match its hash (the record was edited)")]
    Content { index: usize, seq: u64 },
}

/// Why an audit file could not be continued.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot open `{file}`: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error(
        "{file}:{line}: not an audit record ({message}); the file was edited or a write was cut short: keep it for investigation and start a new trail elsewhere"
    )]
    Parse {
        file: String,
        line: usize,
        message: String,
    },
    #[error("{file}: the hash chain is broken: {source}")]
    Chain { file: String, source: ChainError },
}

/// Opens the JSON-lines trail `name` in `dir` (created if missing), checks its whole
/// chain, and continues it. A trail that does not verify is refused, never extended.
pub fn open_file(dir: &cap_std::fs::Dir, name: &str) -> Result<AuditLog, OpenError> {
    let io = |source| OpenError::Io {
        file: name.to_string(),
        source,
    };
    let text = match dir.read_to_string(name) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(io(e)),
    };
    let mut records = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let record: AuditRecord = serde_json::from_str(line).map_err(|e| OpenError::Parse {
            file: name.to_string(),
            line: i + 1,
            message: e.to_string(),
        })?;
        records.push(record);
    }
    verify(&records).map_err(|source| OpenError::Chain {
        file: name.to_string(),
        source,
    })?;
    let store = JsonlStore::open(dir, name).map_err(io)?;
    Ok(AuditLog::continuing(Box::new(store), records.last()))
}

/// Verifies a whole chain from genesis.
pub fn verify(records: &[AuditRecord]) -> Result<(), ChainError> {
    let mut prev = GENESIS_HASH.to_string();
    for (index, r) in records.iter().enumerate() {
        let expected = index as u64;
        if r.seq != expected {
            return Err(ChainError::Sequence {
                index,
                expected,
                found: r.seq,
            });
        }
        if r.prev_hash != prev {
            return Err(ChainError::Link { index, seq: r.seq });
        }
        if r.compute_hash() != r.hash {
            return Err(ChainError::Content { index, seq: r.seq });
        }
        prev.clone_from(&r.hash);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trail() -> Vec<AuditRecord> {
        let log = AuditLog::memory();
        for i in 0..4 {
            log.append(
                "host",
                AuditAction::PluginGranted,
                &format!("p{i}"),
                serde_json::json!({"i": i}),
            )
            .unwrap();
        }
        log.records()
    }

    #[test]
    fn the_hashed_body_is_the_sorted_json_object() {
        let r = &trail()[1];
        let object = serde_json::json!({
            "seq": r.seq,
            "ts_ns": r.ts_ns,
            "actor": r.actor,
            "action": r.action,
            "subject": r.subject,
            "details": r.details,
            "prev_hash": r.prev_hash,
        });
        assert_eq!(
            r.hash,
            hex::encode(Sha256::digest(object.to_string().as_bytes()))
        );
    }

    #[test]
    fn an_untouched_chain_verifies() {
        assert_eq!(verify(&trail()), Ok(()));
    }

    #[test]
    fn edits_inserts_and_deletions_are_detected() {
        let mut edited = trail();
        edited[2].subject = "someone-else".into();
        assert_eq!(
            verify(&edited),
            Err(ChainError::Content { index: 2, seq: 2 })
        );

        let mut deleted = trail();
        deleted.remove(1);
        assert!(matches!(
            verify(&deleted),
            Err(ChainError::Sequence { index: 1, .. })
        ));

        let mut rehashed = trail();
        rehashed[1].details = serde_json::json!({"i": 99});
        rehashed[1].hash = rehashed[1].compute_hash();
        assert_eq!(
            verify(&rehashed),
            Err(ChainError::Link { index: 2, seq: 2 })
        );
    }

    #[test]
    fn jsonl_store_appends_lines() {
        let tmp = tempfile::tempdir().unwrap();
        let dir =
            cap_std::fs::Dir::open_ambient_dir(tmp.path(), cap_std::ambient_authority()).unwrap();
        let log = AuditLog::continuing(
            Box::new(JsonlStore::open(&dir, "audit.jsonl").unwrap()),
            None,
        );
        log.append(
            "host",
            AuditAction::PluginRefused,
            "x",
            serde_json::json!({}),
        )
        .unwrap();
        log.append(
            "host",
            AuditAction::PluginRefused,
            "y",
            serde_json::json!({}),
        )
        .unwrap();
        let text = dir.read_to_string("audit.jsonl").unwrap();
        let records: Vec<AuditRecord> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(records.len(), 2);
        assert_eq!(verify(&records), Ok(()));
    }
}
