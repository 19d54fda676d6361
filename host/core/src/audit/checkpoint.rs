//! Signed checkpoints: the host's Ed25519 signature over a chain head `(seq, hash)`.
//!
//! A hash chain alone shows edits, insertions and deletions *inside* the trail, but not a
//! trail cut short at its end, nor one re-chained from scratch by someone who can write
//! the table. A checkpoint closes both: whoever lacks the host's private key cannot sign
//! a head, so deleting the newest records leaves a checkpoint that points past the end,
//! and re-chaining leaves checkpoints whose hashes no longer match. The host signs every
//! [`CHECKPOINT_EVERY`] records (in the same transaction as the record) and when it stops.
//! An operator who keeps a head printed by `stratbox audit head` elsewhere can also check
//! the trail against it (`--expect-head`), which catches a cut back to an older checkpoint.

use std::fmt;

use ring::{
    rand::SystemRandom,
    signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey},
};
use serde::{Deserialize, Serialize};

/// The host signs the head after every this many records.
pub const CHECKPOINT_EVERY: u64 = 64;

/// What a signature covers (versioned, so the format can change without ambiguity).
fn message(seq: u64, hash: &str, ts_ns: u64) -> Vec<u8> {
    format!("stratbox-audit-checkpoint/v1\n{seq}\n{hash}\n{ts_ns}").into_bytes()
}

/// A signed head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The last record covered.
    pub seq: u64,
    /// That record's hash.
    pub hash: String,
    /// When it was signed (UNIX ns).
    pub ts_ns: u64,
    /// The signer's Ed25519 public key (hex).
    pub public_key: String,
    /// Ed25519 signature over `(seq, hash, ts_ns)` (hex).
    pub signature: String,
}

impl Checkpoint {
    /// True if the signature is valid and made by `public_key` (hex).
    #[must_use]
    pub fn is_signed_by(&self, public_key: &str) -> bool {
        if !self.public_key.eq_ignore_ascii_case(public_key) {
            return false;
        }
        let (Ok(key), Ok(sig)) = (hex::decode(public_key), hex::decode(&self.signature)) else {
            return false;
        };
        UnparsedPublicKey::new(&ED25519, key)
            .verify(&message(self.seq, &self.hash, self.ts_ns), &sig)
            .is_ok()
    }
}

/// Why a signing key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "cannot read the audit signing key `{name}`: {source}; check `audit_key` in the configuration"
    )]
    Read {
        name: String,
        source: std::io::Error,
    },
    #[error(
        "`{name}` is not an Ed25519 key in PKCS#8 form (was it edited or replaced?): {reason}. Restore it from backup; a new key cannot sign for the old trail"
    )]
    Invalid { name: String, reason: String },
    #[error("cannot generate the audit signing key: {0}")]
    Generate(String),
    #[error("cannot write the audit signing key `{name}`: {source}")]
    Write {
        name: String,
        source: crate::storage::StorageError,
    },
}

/// The host's signing key.
pub struct Signer {
    pair: Ed25519KeyPair,
    public_hex: String,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("public_key", &self.public_hex)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A new random key (kept only in memory).
    pub fn generate() -> Result<Self, KeyError> {
        let pkcs8 = Self::new_pkcs8()?;
        Self::from_pkcs8("(generated)", &pkcs8)
    }

    fn new_pkcs8() -> Result<Vec<u8>, KeyError> {
        Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .map(|d| d.as_ref().to_vec())
            .map_err(|e| KeyError::Generate(e.to_string()))
    }

    fn from_pkcs8(name: &str, pkcs8: &[u8]) -> Result<Self, KeyError> {
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8).map_err(|e| KeyError::Invalid {
            name: name.to_string(),
            reason: e.to_string(),
        })?;
        let public_hex = hex::encode(pair.public_key().as_ref());
        Ok(Self { pair, public_hex })
    }

    /// Loads the key `name` from `dir`, or generates it on first start (written atomically,
    /// owner-only, with its public key beside it in `<name>.pub`).
    pub fn load_or_create(dir: &cap_std::fs::Dir, name: &str) -> Result<Self, KeyError> {
        match dir.read(name) {
            Ok(bytes) => Self::from_pkcs8(name, &bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let pkcs8 = Self::new_pkcs8()?;
                let signer = Self::from_pkcs8(name, &pkcs8)?;
                let failed = |n: &str| {
                    let n = n.to_string();
                    move |source| KeyError::Write { name: n, source }
                };
                crate::storage::write_atomic_private(dir, name, &pkcs8).map_err(failed(name))?;
                let public = format!("{name}.pub");
                crate::storage::write_atomic(
                    dir,
                    &public,
                    format!("{}\n", signer.public_hex).as_bytes(),
                )
                .map_err(failed(&public))?;
                Ok(signer)
            }
            Err(source) => Err(KeyError::Read {
                name: name.to_string(),
                source,
            }),
        }
    }

    /// The public key (hex) that verifies this signer's checkpoints.
    #[must_use]
    pub fn public_key(&self) -> &str {
        &self.public_hex
    }

    /// Signs the head `(seq, hash)`.
    #[must_use]
    pub fn sign(&self, seq: u64, hash: &str, ts_ns: u64) -> Checkpoint {
        let sig = self.pair.sign(&message(seq, hash, ts_ns));
        Checkpoint {
            seq,
            hash: hash.to_string(),
            ts_ns,
            public_key: self.public_hex.clone(),
            signature: hex::encode(sig.as_ref()),
        }
    }
}

/// `<seq>:<hash>`, a head an operator kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    pub seq: u64,
    pub hash: String,
}

impl std::str::FromStr for Anchor {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!(
                "`{s}` is not a head: expected <seq>:<64 hex digits>, as `stratbox audit head` prints"
            )
        };
        let (seq, hash) = s.trim().split_once(':').ok_or_else(bad)?;
        let seq = seq.parse().map_err(|_| bad())?;
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        Ok(Self {
            seq,
            hash: hash.to_ascii_lowercase(),
        })
    }
}

impl fmt::Display for Anchor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.seq, self.hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_verifies_with_its_key_only() {
        let a = Signer::generate().unwrap();
        let b = Signer::generate().unwrap();
        let cp = a.sign(7, &"ab".repeat(32), 1);
        assert!(cp.is_signed_by(a.public_key()));
        assert!(!cp.is_signed_by(b.public_key()));
        let mut moved = cp.clone();
        moved.seq = 6;
        assert!(!moved.is_signed_by(a.public_key()));
    }

    #[test]
    fn the_key_is_created_once_and_reloaded() {
        let tmp = tempfile::tempdir().unwrap();
        let dir =
            cap_std::fs::Dir::open_ambient_dir(tmp.path(), cap_std::ambient_authority()).unwrap();
        let first = Signer::load_or_create(&dir, "audit.key").unwrap();
        let again = Signer::load_or_create(&dir, "audit.key").unwrap();
        assert_eq!(first.public_key(), again.public_key());
        #[cfg(unix)]
        {
            use cap_std::fs::PermissionsExt;
            let mode = dir.metadata("audit.key").unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        }
        assert_eq!(
            dir.read_to_string("audit.key.pub").unwrap().trim(),
            first.public_key()
        );
        dir.write("audit.key", b"not a key").unwrap();
        let err = Signer::load_or_create(&dir, "audit.key").unwrap_err();
        assert!(err.to_string().contains("PKCS#8"), "{err}");
    }

    #[test]
    fn anchors_parse() {
        let h = "a".repeat(64);
        assert_eq!(
            format!("12:{h}").parse::<Anchor>().unwrap(),
            Anchor { seq: 12, hash: h }
        );
        assert!("12".parse::<Anchor>().is_err());
        assert!("x:abc".parse::<Anchor>().is_err());
    }
}
