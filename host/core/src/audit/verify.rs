//! Checking a trail: the hash chain from genesis, then the signed checkpoints and an
//! operator's anchor against it.

use super::{
    checkpoint::{Anchor, CHECKPOINT_EVERY, Checkpoint},
    record::{AuditRecord, GENESIS_HASH},
};

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

/// Why a trail does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrailError {
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error(
        "checkpoint at seq {seq} is not signed by the host's key {expected_key} (signed by {found_key}): a forged checkpoint, or verify was given the wrong public key"
    )]
    Signature {
        seq: u64,
        expected_key: String,
        found_key: String,
    },
    #[error(
        "the trail ends at seq {last} but a signed checkpoint covers seq {seq}: records were deleted from the end (truncated)"
    )]
    Truncated { seq: u64, last: String },
    #[error(
        "record seq {seq} does not have the hash its signed checkpoint holds: the trail was rewritten"
    )]
    Rewritten { seq: u64 },
    #[error(
        "{unsigned} records after the newest signed checkpoint ({newest}), but the host signs every {every}: checkpoints were deleted, or the trail was rewritten without the key"
    )]
    Unsigned {
        unsigned: u64,
        newest: String,
        every: u64,
    },
    #[error(
        "the trail does not contain the expected head {expected}: {found}. It was truncated or rewritten after the head was kept"
    )]
    Anchor { expected: Anchor, found: String },
}

/// What a verified trail holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub records: usize,
    /// The last record's `(seq, hash)`.
    pub head: Option<Anchor>,
    /// The newest signed checkpoint's sequence number.
    pub newest_checkpoint: Option<u64>,
}

/// Verifies the chain, every checkpoint (signed by `public_key`, matching the record it
/// names), that no more than [`CHECKPOINT_EVERY`] records follow the newest checkpoint,
/// and, if given, that the trail holds `anchor`.
pub fn verify_trail(
    records: &[AuditRecord],
    checkpoints: &[Checkpoint],
    public_key: &str,
    anchor: Option<&Anchor>,
) -> Result<Verified, TrailError> {
    verify(records)?;
    let last = records.last().map(|r| r.seq);
    let show_last = || last.map_or_else(|| "(empty trail)".to_string(), |s| s.to_string());
    let mut newest: Option<u64> = None;
    for cp in checkpoints {
        if !cp.is_signed_by(public_key) {
            return Err(TrailError::Signature {
                seq: cp.seq,
                expected_key: public_key.to_string(),
                found_key: cp.public_key.clone(),
            });
        }
        let Some(record) = usize::try_from(cp.seq).ok().and_then(|i| records.get(i)) else {
            return Err(TrailError::Truncated {
                seq: cp.seq,
                last: show_last(),
            });
        };
        if record.hash != cp.hash {
            return Err(TrailError::Rewritten { seq: cp.seq });
        }
        newest = Some(newest.map_or(cp.seq, |n| n.max(cp.seq)));
    }
    let covered = newest.map_or(0, |n| n + 1);
    let unsigned = records.len() as u64 - covered.min(records.len() as u64);
    if unsigned > CHECKPOINT_EVERY {
        return Err(TrailError::Unsigned {
            unsigned,
            newest: newest.map_or_else(|| "none".to_string(), |n| format!("seq {n}")),
            every: CHECKPOINT_EVERY,
        });
    }
    if let Some(a) = anchor {
        let found = usize::try_from(a.seq).ok().and_then(|i| records.get(i));
        match found {
            Some(r) if r.hash == a.hash => {}
            Some(r) => {
                return Err(TrailError::Anchor {
                    expected: a.clone(),
                    found: format!("seq {} has hash {}", r.seq, r.hash),
                });
            }
            None => {
                return Err(TrailError::Anchor {
                    expected: a.clone(),
                    found: format!("the trail ends at seq {}", show_last()),
                });
            }
        }
    }
    Ok(Verified {
        records: records.len(),
        head: records.last().map(|r| Anchor {
            seq: r.seq,
            hash: r.hash.clone(),
        }),
        newest_checkpoint: newest,
    })
}
