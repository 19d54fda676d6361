//! The audit trail: an append-only, hash-chained log of every security-relevant decision
//! (grant, refusal, quarantine, revocation, every risk-gate decision, trading-state
//! changes and halts, hot-swap and rollback, tokens, service lifecycle).
//!
//! Each record carries the hash of the previous one, so editing, inserting or deleting a
//! record breaks the chain and [`verify`] reports where; signed checkpoints
//! ([`checkpoint`]) show a trail cut short or re-chained. Every record is bounded
//! ([`record::RECORD_MAX`] bytes). Records go to an [`AuditStore`], which gives each its
//! place in the chain: a bounded window in memory (tests, backtests, sweeps), a JSONL file
//! reached through a `cap-std` directory handle, or the service database (where the
//! sequence number and previous hash come from the table inside the insert's transaction,
//! so any number of processes append to one chain).

pub mod checkpoint;
pub mod record;
mod store;
mod verify;

use std::{
    collections::VecDeque,
    fmt,
    sync::{Arc, Mutex, PoisonError},
};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

pub use checkpoint::{Anchor, CHECKPOINT_EVERY, Checkpoint, KeyError, Signer};
pub use record::{AuditRecord, Entry, GENESIS_HASH, Head};
pub use store::{AuditStore, JsonlStore, OpenError, open_file, open_file_signed, read_file};
pub use verify::{ChainError, TrailError, Verified, verify, verify_trail};

/// Records a memory trail keeps (the newest); older ones are counted, not kept.
pub const MEMORY_WINDOW: usize = 4096;

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
    /// An operator asked for a flatten: halt, then close every position with reduce-only
    /// market orders (recorded before it takes effect).
    FlattenRequested,
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
    /// A live deployment interrupted by a crash was resumed from its checkpoint (or could
    /// not be, and why).
    DeploymentResumed,
    /// A console session was opened (sign-in with a token) or closed (sign-out).
    ConsoleSession,
    /// A backtest or sweep job was accepted and queued (its request in the details).
    JobStarted,
    /// An operator cancelled a queued or running job (recorded before the cancel).
    JobCancelled,
    /// A job left queued or running by a crash (or running at shutdown) was marked
    /// `interrupted`, with the reason.
    JobInterrupted,
    /// A job ended: finished, failed or cancelled, with its headline figures.
    JobEnded,
}

/// Appending failed: the decision must not take effect unaudited.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the audit record: {0}")]
pub struct AuditError(#[from] std::io::Error);

/// A store that only keeps the chain's head (the memory trail's window is kept by the log).
#[derive(Debug, Default)]
struct HeadOnly(Head);

impl AuditStore for HeadOnly {
    fn append(&mut self, entry: &Entry<'_>) -> std::io::Result<AuditRecord> {
        let record = self.0.seal(entry);
        self.0.advance(&record);
        Ok(record)
    }
}

struct Inner {
    store: Box<dyn AuditStore>,
    /// The newest records (memory trails), at most `window_cap`.
    window: VecDeque<AuditRecord>,
    window_cap: usize,
    appended: u64,
    /// Sequence number and hash of the newest record appended through this handle.
    head: Option<(u64, String)>,
}

/// Handle to the audit trail; cheap to clone, safe to share.
#[derive(Clone)]
pub struct AuditLog {
    inner: Arc<Mutex<Inner>>,
}

impl fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLog").finish_non_exhaustive()
    }
}

impl AuditLog {
    /// A trail in memory that keeps its newest [`MEMORY_WINDOW`] records
    /// ([`AuditLog::records`]) and the chain's head, never an unbounded list.
    #[must_use]
    pub fn memory() -> Self {
        Self::windowed(MEMORY_WINDOW)
    }

    /// A trail in memory keeping its newest `window` records (0: only the head).
    #[must_use]
    pub fn windowed(window: usize) -> Self {
        Self::build(Box::new(HeadOnly::default()), window)
    }

    /// A trail continuing in `store` (which knows where its chain stands).
    #[must_use]
    pub fn continuing(store: Box<dyn AuditStore>) -> Self {
        Self::build(store, 0)
    }

    fn build(store: Box<dyn AuditStore>, window_cap: usize) -> Self {
        let inner = Inner {
            store,
            window: VecDeque::new(),
            window_cap,
            appended: 0,
            head: None,
        };
        Self {
            inner: Arc::new(Mutex::new(inner)),
        }
    }

    /// Appends one record with generic details (bounded: [`record::details_of`]) and
    /// returns it.
    pub fn append(
        &self,
        actor: &str,
        action: AuditAction,
        subject: &str,
        details: serde_json::Value,
    ) -> Result<AuditRecord, AuditError> {
        let details = record::details_of(details);
        self.write(actor, action, subject, &details, AuditRecord::clone)
    }

    /// Appends one record whose details are already canonical, bounded JSON (keys sorted,
    /// compact, at most [`record::DETAILS_MAX`] bytes: see [`record`]) and returns its
    /// sequence number. The hot path of the risk gate: no intermediate `Value`, no copy
    /// of the record.
    pub fn append_raw(
        &self,
        actor: &str,
        action: AuditAction,
        subject: &str,
        details: &RawValue,
    ) -> Result<u64, AuditError> {
        self.write(actor, action, subject, details, |r| r.seq)
    }

    /// Appends through the store; `out` reads the record before the window keeps it. The
    /// time spent (waiting for the lock and the store's commit) is added to this thread's
    /// [`thread_blocked_nanos`].
    fn write<T>(
        &self,
        actor: &str,
        action: AuditAction,
        subject: &str,
        details: &RawValue,
        out: impl FnOnce(&AuditRecord) -> T,
    ) -> Result<T, AuditError> {
        let _blocked = BlockedTimer(std::time::Instant::now());
        let mut inner = self.lock();
        let entry = Entry {
            ts_ns: crate::time::wall_clock_ns(),
            actor,
            action,
            subject,
            details,
        };
        let record = inner.store.append(&entry)?;
        let result = out(&record);
        inner.keep(record);
        Ok(result)
    }

    /// Signs the chain's head now, if the store signs (the service and file trails do, on
    /// shutdown and after an operator's change). `None` for memory trails.
    pub fn checkpoint(&self) -> Result<Option<Checkpoint>, AuditError> {
        Ok(self.lock().store.checkpoint()?)
    }

    /// The newest records (memory trails only; empty otherwise), oldest first.
    #[must_use]
    pub fn records(&self) -> Vec<AuditRecord> {
        self.lock().window.iter().cloned().collect()
    }

    /// Sequence number and hash of the newest record appended through this handle (and its
    /// clones) since it was made: the chain's head as this process last extended it.
    #[must_use]
    pub fn head(&self) -> Option<(u64, String)> {
        self.lock().head.clone()
    }

    /// Records appended through this handle (and its clones) since it was made.
    #[must_use]
    pub fn appended(&self) -> u64 {
        self.lock().appended
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    fn keep(&mut self, record: AuditRecord) {
        self.appended += 1;
        self.head = Some((record.seq, record.hash.clone()));
        if self.window_cap == 0 {
            return;
        }
        if self.window.len() == self.window_cap {
            self.window.pop_front();
        }
        self.window.push_back(record);
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

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::*;

    fn trail() -> Vec<AuditRecord> {
        let log = AuditLog::memory();
        for i in 0..4 {
            log.append(
                "host",
                AuditAction::PluginGranted,
                &format!("p{i}"),
                serde_json::json!({"i": i, "b": {"z": 1, "a": [i]}}),
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
            "details": r.details(),
            "prev_hash": r.prev_hash,
        });
        assert_eq!(
            r.hash,
            hex::encode(Sha256::digest(object.to_string().as_bytes()))
        );
    }

    /// A trail written by stratbox before records were bounded and encoded without a
    /// `Value` (`stratbox halt`/`resume` at e66a25c, with quotes, a control character
    /// and non-ASCII text) still verifies, byte for byte.
    #[test]
    fn a_trail_from_before_still_verifies() {
        let text = include_str!("testdata/trail-e66a25c.jsonl");
        let records: Vec<AuditRecord> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(records.len(), 4);
        assert_eq!(verify(&records), Ok(()));
        assert_eq!(
            records[3].hash,
            "7142f55c6509cbe3de64251df31f449a521b28a3244783d5127812e5fc165a95"
        );
        // And the same record sealed today hashes the same.
        let r = &records[3];
        let head = Head {
            next_seq: r.seq,
            last_hash: r.prev_hash.clone(),
        };
        let resealed = head.seal(&Entry {
            ts_ns: r.ts_ns,
            actor: &r.actor,
            action: r.action,
            subject: &r.subject,
            details: &record::details_of(r.details()),
        });
        assert_eq!(resealed.hash, r.hash);
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
        rehashed[1].details = record::details_of(serde_json::json!({"i": 99}));
        rehashed[1].hash = rehashed[1].compute_hash();
        assert_eq!(
            verify(&rehashed),
            Err(ChainError::Link { index: 2, seq: 2 })
        );
    }

    #[test]
    fn a_memory_trail_keeps_a_bounded_window_and_its_chain() {
        let log = AuditLog::windowed(3);
        for i in 0..10 {
            log.append(
                "host",
                AuditAction::PluginGranted,
                "p",
                serde_json::json!({"i": i}),
            )
            .unwrap();
        }
        let kept = log.records();
        assert_eq!(kept.len(), 3);
        assert_eq!(kept[0].seq, 7);
        assert_eq!(kept[1].prev_hash, kept[0].hash);
        assert_eq!(log.appended(), 10);
    }

    #[test]
    fn a_record_with_hostile_strings_stays_within_its_bound() {
        let log = AuditLog::memory();
        let huge = "\u{1}".repeat(1 << 20);
        let r = log
            .append(
                &huge,
                AuditAction::OrderDecision,
                &huge,
                serde_json::json!({"instrument_id": huge, "tag": huge, "list": vec![huge.clone(); 200]}),
            )
            .unwrap();
        let size = serde_json::to_vec(&r).unwrap().len();
        assert!(
            size <= record::RECORD_MAX,
            "{size} > {}",
            record::RECORD_MAX
        );
        assert_eq!(verify(&[r]), Ok(()));
    }

    fn signed_file_trail(dir: &cap_std::fs::Dir, n: usize) {
        let log = open_file_signed(dir, "audit.jsonl", "audit.key").unwrap();
        for i in 0..n {
            log.append(
                "ops",
                AuditAction::TradingStateChanged,
                "all",
                serde_json::json!({"i": i}),
            )
            .unwrap();
        }
        log.checkpoint().unwrap();
    }

    fn tmpdir() -> (tempfile::TempDir, cap_std::fs::Dir) {
        let tmp = tempfile::tempdir().unwrap();
        let dir =
            cap_std::fs::Dir::open_ambient_dir(tmp.path(), cap_std::ambient_authority()).unwrap();
        (tmp, dir)
    }

    fn verify_dir(dir: &cap_std::fs::Dir) -> Result<Verified, TrailError> {
        let (records, cps) = read_file(dir, "audit.jsonl").unwrap();
        let key = dir.read_to_string("audit.key.pub").unwrap();
        verify_trail(&records, &cps.unwrap_or_default(), key.trim(), None)
    }

    #[test]
    fn deleting_the_newest_record_fails_verify() {
        let (_tmp, dir) = tmpdir();
        signed_file_trail(&dir, 5);
        assert_eq!(verify_dir(&dir).unwrap().records, 5);
        let text = dir.read_to_string("audit.jsonl").unwrap();
        let cut: Vec<&str> = text.lines().take(4).collect();
        dir.write("audit.jsonl", format!("{}\n", cut.join("\n")))
            .unwrap();
        assert!(
            matches!(verify_dir(&dir), Err(TrailError::Truncated { seq: 4, .. })),
            "{:?}",
            verify_dir(&dir)
        );
        assert!(open_file_signed(&dir, "audit.jsonl", "audit.key").is_err());
    }

    #[test]
    fn rechaining_without_the_key_fails_verify() {
        let (_tmp, dir) = tmpdir();
        signed_file_trail(&dir, 200);
        let (records, _) = read_file(&dir, "audit.jsonl").unwrap();
        // Rewrite record 10 and re-chain everything after it, as someone who can write
        // the file but does not hold the key would.
        let mut head = Head::after(records.get(9));
        let mut out = records[..10].to_vec();
        for r in &records[10..] {
            let details = if r.seq == 10 {
                record::details_of(serde_json::json!({"i": "forged"}))
            } else {
                r.details.clone()
            };
            let sealed = head.seal(&Entry {
                ts_ns: r.ts_ns,
                actor: &r.actor,
                action: r.action,
                subject: &r.subject,
                details: &details,
            });
            head.advance(&sealed);
            out.push(sealed);
        }
        assert_eq!(verify(&out), Ok(()), "the forged chain links");
        let text: String = out
            .iter()
            .map(|r| format!("{}\n", serde_json::to_string(r).unwrap()))
            .collect();
        dir.write("audit.jsonl", text).unwrap();
        assert!(matches!(
            verify_dir(&dir),
            Err(TrailError::Rewritten { seq: 63 })
        ));
        // Deleting the checkpoints as well leaves too many records unsigned.
        dir.remove_file("audit.jsonl.checkpoints").unwrap();
        assert!(matches!(verify_dir(&dir), Err(TrailError::Unsigned { .. })));
    }

    #[test]
    fn an_anchor_catches_a_cut_back_to_an_older_checkpoint() {
        let (_tmp, dir) = tmpdir();
        signed_file_trail(&dir, 130);
        let head = verify_dir(&dir).unwrap().head.unwrap();
        assert_eq!(head.seq, 129);
        let (records, cps) = read_file(&dir, "audit.jsonl").unwrap();
        let cps = cps.unwrap();
        let key = dir.read_to_string("audit.key.pub").unwrap();
        // Cut back to the checkpoint at seq 127, dropping the newer checkpoint too.
        let older: Vec<Checkpoint> = cps.iter().filter(|c| c.seq <= 127).cloned().collect();
        assert!(verify_trail(&records[..128], &older, key.trim(), None).is_ok());
        assert!(matches!(
            verify_trail(&records[..128], &older, key.trim(), Some(&head)),
            Err(TrailError::Anchor { .. })
        ));
    }

    #[test]
    fn jsonl_store_appends_lines() {
        let (_tmp, dir) = tmpdir();
        let log = open_file(&dir, "audit.jsonl").unwrap();
        for s in ["x", "y"] {
            log.append("host", AuditAction::PluginRefused, s, serde_json::json!({}))
                .unwrap();
        }
        let log = open_file(&dir, "audit.jsonl").unwrap();
        log.append(
            "host",
            AuditAction::PluginRefused,
            "z",
            serde_json::json!({}),
        )
        .unwrap();
        let (records, _) = read_file(&dir, "audit.jsonl").unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(verify(&records), Ok(()));
    }
}
