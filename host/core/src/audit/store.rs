//! Where records are kept: the [`AuditStore`] trait and the JSON-lines file trail.

use std::io::Write;

use super::{
    AuditLog,
    checkpoint::{CHECKPOINT_EVERY, Checkpoint, KeyError, Signer},
    record::{AuditRecord, Entry, Head},
    verify::{TrailError, verify_trail},
};

/// Where records are kept. The store gives each entry its place in the chain (sequence
/// number and previous hash) and must not return before the record is durable.
pub trait AuditStore: Send {
    /// Seals `entry` after the store's current head, keeps it, and returns the record.
    fn append(&mut self, entry: &Entry<'_>) -> std::io::Result<AuditRecord>;

    /// Signs the current head, if this store signs and the head is not signed yet.
    fn checkpoint(&mut self) -> std::io::Result<Option<Checkpoint>> {
        Ok(None)
    }
}

/// Records appended as JSON lines to a file inside a `cap-std` directory; each line is
/// flushed and synced before `append` returns. With a signer, checkpoints go to
/// `<name>.checkpoints` beside it.
#[derive(Debug)]
pub struct JsonlStore {
    file: cap_std::fs::File,
    head: Head,
    signing: Option<(Signer, cap_std::fs::File)>,
    signed: Option<u64>,
}

fn append_line(file: &mut cap_std::fs::File, value: &impl serde::Serialize) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(value)?;
    line.push(b'\n');
    file.write_all(&line)?;
    file.sync_data()
}

fn open_append(dir: &cap_std::fs::Dir, name: &str) -> std::io::Result<cap_std::fs::File> {
    let mut opts = cap_std::fs::OpenOptions::new();
    opts.create(true).append(true);
    dir.open_with(name, &opts)
}

impl JsonlStore {
    /// Opens (creating if needed) `name` inside `dir` for appending after `head`.
    pub fn open(dir: &cap_std::fs::Dir, name: &str, head: Head) -> std::io::Result<Self> {
        Ok(Self {
            file: open_append(dir, name)?,
            head,
            signing: None,
            signed: None,
        })
    }

    fn sign_head(&mut self) -> std::io::Result<Option<Checkpoint>> {
        let Some((signer, file)) = self.signing.as_mut() else {
            return Ok(None);
        };
        let Some(seq) = self.head.next_seq.checked_sub(1) else {
            return Ok(None);
        };
        if self.signed == Some(seq) {
            return Ok(None);
        }
        let cp = signer.sign(seq, &self.head.last_hash, crate::time::wall_clock_ns());
        append_line(file, &cp)?;
        self.signed = Some(seq);
        Ok(Some(cp))
    }
}

impl AuditStore for JsonlStore {
    fn append(&mut self, entry: &Entry<'_>) -> std::io::Result<AuditRecord> {
        let record = self.head.seal(entry);
        append_line(&mut self.file, &record)?;
        self.head.advance(&record);
        if record.seq % CHECKPOINT_EVERY == CHECKPOINT_EVERY - 1 {
            self.sign_head()?;
        }
        Ok(record)
    }

    fn checkpoint(&mut self) -> std::io::Result<Option<Checkpoint>> {
        self.sign_head()
    }
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
    #[error("{file}: the trail does not verify: {source}")]
    Trail { file: String, source: TrailError },
    #[error(transparent)]
    Key(#[from] KeyError),
}

fn read_lines<T: serde::de::DeserializeOwned>(
    dir: &cap_std::fs::Dir,
    name: &str,
) -> Result<Option<Vec<T>>, OpenError> {
    let text = match dir.read_to_string(name) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(OpenError::Io {
                file: name.to_string(),
                source,
            });
        }
    };
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        out.push(serde_json::from_str(line).map_err(|e| OpenError::Parse {
            file: name.to_string(),
            line: i + 1,
            message: e.to_string(),
        })?);
    }
    Ok(Some(out))
}

/// The checkpoint file of the trail `name`.
#[must_use]
pub fn checkpoints_name(name: &str) -> String {
    format!("{name}.checkpoints")
}

/// The records and checkpoints of the JSON-lines trail `name` in `dir` (empty if missing).
pub fn read_file(
    dir: &cap_std::fs::Dir,
    name: &str,
) -> Result<(Vec<AuditRecord>, Option<Vec<Checkpoint>>), OpenError> {
    let records = read_lines(dir, name)?.unwrap_or_default();
    let checkpoints = read_lines(dir, &checkpoints_name(name))?;
    Ok((records, checkpoints))
}

/// Opens the JSON-lines trail `name` in `dir` (created if missing), checks its whole
/// chain, and continues it, unsigned. A trail that does not verify is never extended.
pub fn open_file(dir: &cap_std::fs::Dir, name: &str) -> Result<AuditLog, OpenError> {
    let (records, _) = read_file(dir, name)?;
    super::verify(&records).map_err(|e| OpenError::Trail {
        file: name.to_string(),
        source: e.into(),
    })?;
    let store = JsonlStore::open(dir, name, Head::after(records.last())).map_err(|source| {
        OpenError::Io {
            file: name.to_string(),
            source,
        }
    })?;
    Ok(AuditLog::continuing(Box::new(store)))
}

/// Opens the trail `name` in `dir` signed with the key `key` in the same directory
/// (generated on first use): the chain and every checkpoint in `<name>.checkpoints` are
/// verified first, so a trail cut short or re-chained is refused. A trail that had no
/// checkpoints when its key was made is signed at its verified head.
pub fn open_file_signed(
    dir: &cap_std::fs::Dir,
    name: &str,
    key: &str,
) -> Result<AuditLog, OpenError> {
    let new_key = !dir.exists(key);
    let signer = Signer::load_or_create(dir, key)?;
    let (records, checkpoints) = read_file(dir, name)?;
    let first_signing = checkpoints.is_none() && new_key;
    let checkpoints = checkpoints.unwrap_or_default();
    let trail = |source| OpenError::Trail {
        file: name.to_string(),
        source,
    };
    if first_signing {
        super::verify(&records).map_err(|e| trail(e.into()))?;
    } else {
        verify_trail(&records, &checkpoints, signer.public_key(), None).map_err(trail)?;
    }
    let io = |source| OpenError::Io {
        file: name.to_string(),
        source,
    };
    let mut store = JsonlStore::open(dir, name, Head::after(records.last())).map_err(io)?;
    store.signed = checkpoints.iter().map(|c| c.seq).max();
    store.signing = Some((
        signer,
        open_append(dir, &checkpoints_name(name)).map_err(io)?,
    ));
    if first_signing {
        store.sign_head().map_err(io)?;
    }
    Ok(AuditLog::continuing(Box::new(store)))
}
