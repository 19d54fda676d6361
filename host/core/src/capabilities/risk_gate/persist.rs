//! Trading states kept in a state folder (`trading-state.json`), so that `stratbox halt`
//! and `stratbox resume` reach processes started before or after them.
//!
//! The CLI changes the file (write to temp, fsync, rename) and appends the change to the
//! folder's audit trail. A running host reads the file when it starts and again between
//! chunks of events ([`TradingControl::follow`]); inside one process the library call
//! ([`TradingControl::halt`]) takes effect before the next event.

use std::collections::BTreeMap;

use cap_std::fs::Dir;
use serde::{Deserialize, Serialize};

use super::control::{Scope, TradingControl, TradingState};

/// File name inside the state folder.
pub const STATE_FILE: &str = "trading-state.json";
const FORMAT: u32 = 1;

/// One scope's stored state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredEntry {
    pub state: TradingState,
    pub reason: String,
    pub actor: String,
}

/// What the file holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredStates {
    pub format: u32,
    pub all: Option<StoredEntry>,
    #[serde(default)]
    pub plugins: BTreeMap<String, StoredEntry>,
}

impl Default for StoredStates {
    fn default() -> Self {
        Self {
            format: FORMAT,
            all: None,
            plugins: BTreeMap::new(),
        }
    }
}

/// The file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error("cannot read {STATE_FILE}: {0}")]
    Read(std::io::Error),
    #[error("{STATE_FILE} is not a trading-state file ({0}); fix or remove it")]
    Parse(String),
    #[error("{STATE_FILE} has format {0}; this stratbox reads format {FORMAT}")]
    Format(u32),
    #[error(transparent)]
    Write(#[from] crate::storage::StorageError),
}

impl StoredStates {
    /// Reads the file in `dir` (none yet: everything ACTIVE).
    pub fn load(dir: &Dir) -> Result<Self, PersistError> {
        let text = match dir.read_to_string(STATE_FILE) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(PersistError::Read(e)),
        };
        let stored: Self =
            serde_json::from_str(&text).map_err(|e| PersistError::Parse(e.to_string()))?;
        if stored.format != FORMAT {
            return Err(PersistError::Format(stored.format));
        }
        Ok(stored)
    }

    /// Writes the file atomically.
    pub fn save(&self, dir: &Dir) -> Result<(), PersistError> {
        let mut json =
            serde_json::to_vec_pretty(self).map_err(|e| PersistError::Parse(e.to_string()))?;
        json.push(b'\n');
        crate::storage::write_atomic(dir, STATE_FILE, &json)?;
        Ok(())
    }

    /// The stored state of `scope`.
    #[must_use]
    pub fn get(&self, scope: &Scope) -> Option<&StoredEntry> {
        match scope {
            Scope::All => self.all.as_ref(),
            Scope::Plugin(name) => self.plugins.get(name),
        }
    }

    /// Sets the stored state of `scope`.
    pub fn set(&mut self, scope: &Scope, entry: StoredEntry) {
        match scope {
            Scope::All => self.all = Some(entry),
            Scope::Plugin(name) => {
                self.plugins.insert(name.clone(), entry);
            }
        }
    }

    fn scopes(&self) -> Vec<(Scope, &StoredEntry)> {
        self.all
            .iter()
            .map(|e| (Scope::All, e))
            .chain(
                self.plugins
                    .iter()
                    .map(|(n, e)| (Scope::Plugin(n.clone()), e)),
            )
            .collect()
    }
}

impl TradingControl {
    /// Starts from the stored states without auditing them again (they were audited when
    /// they were set): for the CLI, which records the next change from the real state.
    pub fn restore(&self, stored: &StoredStates) {
        for (scope, entry) in stored.scopes() {
            self.restore_one(&scope, entry.state, &entry.reason);
        }
    }

    /// Applies what changed in the file between two reads (`before` is the previous read,
    /// or the default before the first): each scope whose stored entry changed is set
    /// (audited here too, as the file's actor). Scopes the file did not change keep their
    /// state, so a halt this process made itself (drawdown, mismatch) is not undone by an
    /// older `ACTIVE` in the file. Returns how many states changed.
    pub fn follow(&self, before: &StoredStates, now: &StoredStates) -> usize {
        let mut changed = 0;
        for (scope, entry) in now.scopes() {
            if before.get(&scope) == Some(entry) {
                continue;
            }
            let reason = format!("{} (from {STATE_FILE})", entry.reason);
            match self.set(&scope, entry.state, &reason, &entry.actor, None) {
                Ok(Some(_)) => changed += 1,
                Ok(None) => {}
                Err(e) => tracing::error!(scope = %scope, "cannot follow {STATE_FILE}: {e}"),
            }
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{audit::AuditLog, notify::Notifiers};

    #[test]
    fn round_trips_and_is_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = Dir::open_ambient_dir(tmp.path(), cap_std::ambient_authority()).unwrap();
        assert_eq!(StoredStates::load(&dir).unwrap(), StoredStates::default());
        let mut s = StoredStates::default();
        s.set(
            &Scope::Plugin("ema".into()),
            StoredEntry {
                state: TradingState::Halted,
                reason: "desk".into(),
                actor: "alice".into(),
            },
        );
        s.save(&dir).unwrap();
        let loaded = StoredStates::load(&dir).unwrap();
        assert_eq!(loaded, s);
        let control = TradingControl::new(AuditLog::memory(), Notifiers::default());
        let none = StoredStates::default();
        assert_eq!(control.follow(&none, &loaded), 1);
        assert_eq!(control.effective("ema").0, TradingState::Halted);
        assert_eq!(
            control.follow(&loaded, &loaded),
            0,
            "nothing new in the file"
        );
        // A state this process set itself is kept while the file does not change.
        control
            .resume(&Scope::Plugin("ema".into()), "local", "host", None)
            .unwrap();
        assert_eq!(control.follow(&loaded, &loaded), 0);
        assert_eq!(control.effective("ema").0, TradingState::Active);

        dir.write(STATE_FILE, "{ not json").unwrap();
        assert!(matches!(
            StoredStates::load(&dir),
            Err(PersistError::Parse(_))
        ));
    }
}
