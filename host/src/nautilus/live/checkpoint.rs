//! Checkpoints of a live deployment, and the journal of the signals it was handed, so that a
//! service killed while the deployment trades resumes it where it stood (decision 0031).
//!
//! `<state_dir>/checkpoints/<deployment>.json` holds the last checkpoint, replaced whole
//! (temp file, fsync, rename) at most once a second and after every fill, and only at a
//! quiet point: every event the feed delivered has been handled, no order is open, every
//! signal handed to the node has reached the strategy. Its first line is the sha256 of the
//! rest, so a torn or edited file is refused rather than trusted.
//!
//! `<state_dir>/checkpoints/<deployment>.signals` has one line per signal the service
//! acknowledged for the deployment, appended and synced before the acknowledgement. A
//! checkpoint counts how many of them the strategy had; the rest are delivered again when
//! the deployment resumes, so no acknowledged signal is lost.

use std::{
    collections::BTreeMap,
    io::{BufRead, Write},
    path::{Path, PathBuf},
};

use base64::Engine as _;
use cap_std::fs::Dir;
use serde::{Deserialize, Serialize};

use crate::{
    backtest::report::{FillRow, OrderRow, PositionRow, StrategyReport},
    capabilities::{
        market_data::MarketSession,
        risk_gate::{checkpoint::GateCheckpoint, persist::StoredStates},
    },
    signals::Signal,
    storage,
};

/// Bump when the checkpoint's layout changes.
pub const CHECKPOINT_FORMAT: u32 = 1;
/// The folder under the state directory.
pub const CHECKPOINTS_DIR: &str = "checkpoints";
/// Prefix of the client order ids a resumed session uses to restore its position in
/// Nautilus (never a strategy's own: those are `O-<strategy id>-<n>`).
pub const SEED_ORDER_PREFIX: &str = "RESUME-";

/// A position the venue held (Nautilus's netting position of the strategy).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenuePosition {
    pub instrument_id: String,
    /// `LONG` or `SHORT`.
    pub side: String,
    pub quantity: String,
    /// Nautilus's average open price.
    pub avg_px_open: f64,
}

/// The sandbox venue's account and positions: for the sandbox venue the checkpoint is the
/// venue's only record, so it is restored from here and then checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenueState {
    /// Total balances, `"<amount> <currency>"`.
    pub balances: Vec<String>,
    pub positions: Vec<VenuePosition>,
}

/// What the strategy decided up to the checkpoint (the report's rows).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decisions {
    pub orders: Vec<OrderRow>,
    pub fills: Vec<FillRow>,
    pub positions: Vec<PositionRow>,
    pub realized_pnl: BTreeMap<String, String>,
    pub venue_rejected_by_reason: BTreeMap<String, u64>,
    pub denied_by_reason: BTreeMap<String, u64>,
}

/// One checkpoint of a live deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub format: u32,
    pub deployment: String,
    /// Numbered from 1 within a deployment (a resumed session continues the count).
    pub seq: u64,
    pub written_ns: u64,
    /// The running version and every version that ran, in order.
    pub digest: String,
    pub versions: Vec<String>,
    /// The plugin's `snapshot()`, base64.
    pub snapshot: String,
    /// The instance's subscriptions and registered indicators with their ids, which the
    /// snapshot refers to (absent in checkpoints written before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub market: Option<MarketSession>,
    /// Market events the node had handled: the feed resumes after them.
    pub events: u64,
    /// Event time of the last of them.
    pub sim_ts: u64,
    /// Signals delivered so far, as stamped (the recording's `signals.json`).
    pub signals: Vec<Signal>,
    /// The last signal sequence number used.
    pub signal_seq: i64,
    /// Lines of the signal journal the strategy had.
    pub journal: u64,
    /// The number of the next client order id.
    pub next_order: u64,
    pub gate: GateCheckpoint,
    /// The deployment's own trading states that outlive a restart (halts).
    pub trading: StoredStates,
    pub venue: VenueState,
    pub decisions: Decisions,
    /// The audit chain's head when the checkpoint was taken: `(seq, hash)`.
    pub audit_head: Option<(u64, String)>,
}

impl Checkpoint {
    /// The plugin state.
    ///
    /// # Errors
    /// The snapshot is not base64.
    pub fn snapshot_bytes(&self) -> Result<Vec<u8>, String> {
        base64::engine::general_purpose::STANDARD
            .decode(&self.snapshot)
            .map_err(|e| format!("checkpoint of {}: snapshot: {e}", self.deployment))
    }

    /// Encodes `bytes` as [`Self::snapshot`].
    #[must_use]
    pub fn encode_snapshot(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }
}

impl Decisions {
    /// The rows of `report`.
    #[must_use]
    pub fn of(report: &StrategyReport) -> Self {
        Self {
            orders: report.orders.clone(),
            fills: report.fills.clone(),
            positions: report.positions.clone(),
            realized_pnl: report.realized_pnl.clone(),
            venue_rejected_by_reason: report.venue_rejected_by_reason.clone(),
            denied_by_reason: report.denied_by_reason.clone(),
        }
    }

    /// `report` (what a resumed session decided) preceded by these earlier decisions: the
    /// orders and fills of both, without the orders that restored the position; the closed
    /// positions before the resume and every position after it (a position open at the
    /// resume continues there); realized PnL and refusal counts summed. Unrealized PnL and
    /// the PnL statistics are the resumed session's.
    ///
    /// # Errors
    /// A PnL figure is not `"<amount> <currency>"`.
    pub fn before(&self, report: &mut StrategyReport) -> Result<(), String> {
        let seeded = |id: &str| id.starts_with(SEED_ORDER_PREFIX);
        report.orders.retain(|o| !seeded(&o.client_order_id));
        report.fills.retain(|f| !seeded(&f.client_order_id));
        report.orders.splice(0..0, self.orders.iter().cloned());
        report.fills.splice(0..0, self.fills.iter().cloned());
        report.positions.splice(
            0..0,
            self.positions
                .iter()
                .filter(|p| p.ts_closed.is_some())
                .cloned(),
        );
        for (currency, amount) in &self.realized_pnl {
            let sum = match report.realized_pnl.get(currency) {
                Some(after) => add_money(amount, after)?,
                None => amount.clone(),
            };
            report.realized_pnl.insert(currency.clone(), sum);
        }
        crate::backtest::report::add_reasons(
            &mut report.venue_rejected_by_reason,
            &self.venue_rejected_by_reason,
        );
        crate::backtest::report::add_reasons(&mut report.denied_by_reason, &self.denied_by_reason);
        Ok(())
    }
}

fn add_money(a: &str, b: &str) -> Result<String, String> {
    use std::str::FromStr as _;
    let parse =
        |s: &str| nautilus_model::types::Money::from_str(s).map_err(|e| format!("PnL `{s}`: {e}"));
    let (a, b) = (parse(a)?, parse(b)?);
    if a.currency != b.currency {
        return Err(format!("cannot add {a} and {b}"));
    }
    Ok((a + b).to_string())
}

/// A checkpoint could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path}: the checkpoint does not match its checksum (torn or edited); the deployment is not resumed from it"
    )]
    Checksum { path: PathBuf },
    #[error("{path}: not a checkpoint: {why}")]
    Parse { path: PathBuf, why: String },
}

fn file_name(deployment: &str) -> String {
    format!("{deployment}.json")
}

fn journal_name(deployment: &str) -> String {
    format!("{deployment}.signals")
}

/// Writes `checkpoint` into `dir` (the checkpoints folder), replacing the previous one.
///
/// # Errors
/// It could not be encoded or written (what, where).
pub fn write(dir: &Dir, checkpoint: &Checkpoint) -> Result<(), String> {
    let body = serde_json::to_vec(checkpoint)
        .map_err(|e| format!("checkpoint of {}: {e}", checkpoint.deployment))?;
    let mut bytes = crate::sandbox::sha256_hex(&body).into_bytes();
    bytes.push(b'\n');
    bytes.extend_from_slice(&body);
    bytes.push(b'\n');
    storage::write_atomic(dir, &file_name(&checkpoint.deployment), &bytes)
        .map_err(|e| format!("checkpoint of {}: {e}", checkpoint.deployment))
}

/// The last checkpoint of `deployment` in `dir` (`root` names it in errors); `None` if it
/// never wrote one.
///
/// # Errors
/// Unreadable, torn, edited or malformed.
pub fn load(dir: &Dir, root: &Path, deployment: &str) -> Result<Option<Checkpoint>, LoadError> {
    let name = file_name(deployment);
    let path = root.join(&name);
    let bytes = match dir.read(&name) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(LoadError::Read { path, source }),
    };
    let split = bytes.iter().position(|&b| b == b'\n');
    let (sum, body) = match split {
        Some(i) => (&bytes[..i], bytes[i + 1..].trim_ascii_end()),
        None => return Err(LoadError::Checksum { path }),
    };
    if sum != crate::sandbox::sha256_hex(body).as_bytes() {
        return Err(LoadError::Checksum { path });
    }
    let checkpoint: Checkpoint = serde_json::from_slice(body).map_err(|e| LoadError::Parse {
        path: path.clone(),
        why: e.to_string(),
    })?;
    if checkpoint.format != CHECKPOINT_FORMAT {
        return Err(LoadError::Parse {
            path,
            why: format!(
                "format {}; this stratbox reads format {CHECKPOINT_FORMAT}",
                checkpoint.format
            ),
        });
    }
    if checkpoint.deployment != deployment {
        return Err(LoadError::Parse {
            path,
            why: format!("it belongs to deployment {}", checkpoint.deployment),
        });
    }
    Ok(Some(checkpoint))
}

/// The append-only journal of the signals handed to one deployment.
#[derive(Debug)]
pub struct SignalJournal {
    file: cap_std::fs::File,
    lines: u64,
    name: String,
}

impl SignalJournal {
    /// Opens (creating) `deployment`'s journal in `dir`, counting the lines already there.
    ///
    /// # Errors
    /// It cannot be opened or read.
    pub fn open(dir: &Dir, deployment: &str) -> Result<Self, String> {
        let name = journal_name(deployment);
        let lines = read_journal(dir, deployment)?.len() as u64;
        let mut opts = cap_std::fs::OpenOptions::new();
        opts.create(true).append(true);
        let file = dir
            .open_with(&name, &opts)
            .map_err(|e| format!("{CHECKPOINTS_DIR}/{name}: cannot open: {e}"))?;
        // A line cut short by a crash was never acknowledged: drop it, so the next signal
        // starts a line of its own.
        let bytes = dir
            .read(&name)
            .map_err(|e| format!("{CHECKPOINTS_DIR}/{name}: cannot read: {e}"))?;
        let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        if whole < bytes.len() {
            file.set_len(whole as u64)
                .and_then(|()| file.sync_all())
                .map_err(|e| format!("{CHECKPOINTS_DIR}/{name}: cannot drop a torn line: {e}"))?;
        }
        Ok(Self { file, lines, name })
    }

    /// Appends `signal` and syncs it; returns its line number (from 1).
    ///
    /// # Errors
    /// It could not be written or synced: the signal must not be acknowledged.
    pub fn append(&mut self, signal: &Signal) -> Result<u64, String> {
        let mut line = serde_json::to_vec(signal).map_err(|e| format!("{}: {e}", self.name))?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| format!("{CHECKPOINTS_DIR}/{}: cannot append: {e}", self.name))?;
        self.lines += 1;
        Ok(self.lines)
    }
}

/// Every signal in `deployment`'s journal, in order (none if there is no journal). A last
/// line cut short by a crash (never acknowledged) is left out.
///
/// # Errors
/// The journal cannot be read, or a complete line is not a signal.
pub fn read_journal(dir: &Dir, deployment: &str) -> Result<Vec<Signal>, String> {
    let name = journal_name(deployment);
    let file = match dir.open(&name) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{CHECKPOINTS_DIR}/{name}: cannot open: {e}")),
    };
    let mut out = Vec::new();
    let mut reader = std::io::BufReader::new(file.into_std());
    let mut line = String::new();
    let mut n = 0;
    loop {
        line.clear();
        let read = reader
            .read_line(&mut line)
            .map_err(|e| format!("{CHECKPOINTS_DIR}/{name}: cannot read: {e}"))?;
        if read == 0 || !line.ends_with('\n') {
            break;
        }
        n += 1;
        let signal = serde_json::from_str(line.trim_end())
            .map_err(|e| format!("{CHECKPOINTS_DIR}/{name}, line {n}: {e}"))?;
        out.push(signal);
    }
    Ok(out)
}

/// Removes `deployment`'s checkpoint and journal (it ended: nothing to resume).
pub fn remove(dir: &Dir, deployment: &str) {
    for name in [file_name(deployment), journal_name(deployment)] {
        match dir.remove_file(&name) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(deployment, "cannot remove {CHECKPOINTS_DIR}/{name}: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> (tempfile::TempDir, Dir) {
        let tmp = tempfile::tempdir().unwrap();
        let d = Dir::open_ambient_dir(tmp.path(), cap_std::ambient_authority()).unwrap();
        (tmp, d)
    }

    fn sample() -> Checkpoint {
        Checkpoint {
            format: CHECKPOINT_FORMAT,
            deployment: "dep-1".into(),
            seq: 3,
            written_ns: 1,
            digest: "ab".into(),
            versions: vec!["ab".into()],
            snapshot: Checkpoint::encode_snapshot(b"state"),
            market: None,
            events: 42,
            sim_ts: 7,
            signals: Vec::new(),
            signal_seq: 0,
            journal: 0,
            next_order: 5,
            gate: GateCheckpoint {
                positions: Vec::new(),
                accepted: 4,
                rejected: BTreeMap::new(),
                pnl: "0".into(),
                peak: "0".into(),
                day: None,
                day_start: "0".into(),
                recent: Vec::new(),
                event_ts: None,
            },
            trading: StoredStates::default(),
            venue: VenueState {
                balances: vec!["1000000.00 USD".into()],
                positions: Vec::new(),
            },
            decisions: Decisions::default(),
            audit_head: Some((9, "h".into())),
        }
    }

    #[test]
    fn round_trips_and_refuses_edits() {
        let (tmp, d) = dir();
        assert!(load(&d, tmp.path(), "dep-1").unwrap().is_none());
        let cp = sample();
        write(&d, &cp).unwrap();
        let back = load(&d, tmp.path(), "dep-1").unwrap().unwrap();
        assert_eq!(back, cp);
        assert_eq!(back.snapshot_bytes().unwrap(), b"state");
        let text = d.read_to_string("dep-1.json").unwrap();
        d.write("dep-1.json", text.replace("\"events\":42", "\"events\":41"))
            .unwrap();
        let e = load(&d, tmp.path(), "dep-1").unwrap_err();
        assert!(matches!(e, LoadError::Checksum { .. }), "{e}");
        assert!(e.to_string().contains("dep-1.json"), "{e}");
        // Someone else's checkpoint under this name.
        write(
            &d,
            &Checkpoint {
                deployment: "dep-2".into(),
                ..cp
            },
        )
        .unwrap();
        d.rename("dep-2.json", &d, "dep-1.json").unwrap();
        let e = load(&d, tmp.path(), "dep-1").unwrap_err();
        assert!(e.to_string().contains("belongs to deployment dep-2"), "{e}");
    }

    #[test]
    fn the_journal_keeps_whole_lines_only() {
        let (_tmp, d) = dir();
        let signal: Signal = serde_json::from_value(serde_json::json!({
            "signal_id": "s1", "signal_type": "REGIME_PREDICTION",
            "instrument_id": "GBP/USD.SIM", "timestamp": 5, "confidence": 0.9,
            "value": 1.0, "metadata": {}, "source_model": "desk",
        }))
        .unwrap();
        let mut j = SignalJournal::open(&d, "dep-1").unwrap();
        assert_eq!(j.append(&signal).unwrap(), 1);
        assert_eq!(j.append(&signal).unwrap(), 2);
        // A crash in the middle of a third line.
        let mut f = d
            .open_with(
                "dep-1.signals",
                cap_std::fs::OpenOptions::new().append(true),
            )
            .unwrap();
        f.write_all(b"{\"signal_id\":").unwrap();
        assert_eq!(read_journal(&d, "dep-1").unwrap().len(), 2);
        drop(j);
        let mut j = SignalJournal::open(&d, "dep-1").unwrap();
        assert_eq!(j.append(&signal).unwrap(), 3, "the torn line was dropped");
        assert_eq!(read_journal(&d, "dep-1").unwrap().len(), 3);
        remove(&d, "dep-1");
        assert!(read_journal(&d, "dep-1").unwrap().is_empty());
    }
}
