//! A live session's recording, and its replay as a backtest.
//!
//! When a live deployment ends, it writes what it received and what it decided into
//! `<state_dir>/recordings/<deployment>/`:
//! - `feed/`: the market data as the node delivered it, in the catalog's layout (Nautilus
//!   Parquet, `data/<kind>/<identifier>/...`), readable by `stratbox catalog` and
//!   `backtest --catalog`;
//! - `signals.json`: the signals delivered, with the timestamps they were stamped with;
//! - `decisions.json`: the strategy's report (orders, fills, positions);
//! - `component.wasm` and `manifest.json`: the component, its parameters, the risk policy,
//!   the instrument and balance: everything a replay needs, so a recording stands alone.
//!
//! The folder is written under a temporary name and renamed into place: a recording is
//! there whole or not at all.
//!
//! [`replay`] backtests exactly that feed with the same component, parameters and policy,
//! and compares the decisions as the live/backtest parity test does (decision 0029): every
//! order's id, side, type, quantity, price, status, filled quantity and reason, every
//! fill's order, side, quantity, price and commission; never timestamps.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::Arc,
};

use nautilus_model::data::{Bar, Data};
use serde::{Deserialize, Serialize};

use crate::{
    audit::AuditLog,
    backtest::{self, BacktestSpec, SignalInput, StrategySpec, report::StrategyReport},
    capabilities::{
        self,
        risk_gate::{RiskHub, RiskPolicy},
    },
    catalog::{
        instrument_defs::Instruments,
        series::{Kind, Series},
        store::write::write_plain,
    },
    notify::Notifiers,
    sandbox::{EngineOptions, LoadPolicy, MAX_COMPONENT_BYTES, SandboxEngine},
    signals::Signal,
    storage,
};

/// Bump when the recording's layout changes.
pub const RECORDING_FORMAT: u32 = 1;

/// What a replay needs besides the feed and the decisions.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: u32,
    pub deployment: String,
    pub plugin: String,
    /// sha256 of `component.wasm`.
    pub digest: String,
    /// Every version that ran, in order (more than one after a hot-swap).
    pub versions: Vec<String>,
    /// Parameters as the deployment resolved them (text).
    pub params: BTreeMap<String, String>,
    pub instrument: String,
    /// The dataset kind of `feed/`.
    pub kind: Kind,
    pub bar_type: Option<String>,
    /// Starting balance, `"<amount> <currency>"`.
    pub balance: String,
    /// The risk policy (TOML) the gate decided under.
    pub risk_policy: String,
    /// Market events the node delivered, and signals.
    pub events: u64,
    pub signals: u64,
    /// Stopped by an operator before the data ran out.
    pub stopped: bool,
}

/// What the service knows when it starts a live deployment; the session adds the rest.
#[derive(Debug, Clone)]
pub struct Plan {
    /// `<state_dir>/recordings`.
    pub root: PathBuf,
    pub deployment: String,
    pub plugin: String,
    pub digest: String,
    pub component: Arc<Vec<u8>>,
    pub params: BTreeMap<String, String>,
    pub instrument: String,
    pub bar_type: Option<String>,
    pub balance: String,
    pub risk_policy: String,
}

/// What the session saw and did.
#[derive(Debug)]
pub struct Seen<'a> {
    pub delivered: &'a [Data],
    pub signals: &'a [Signal],
    pub report: &'a StrategyReport,
    pub versions: Vec<String>,
    pub stopped: bool,
}

impl Plan {
    /// Writes the recording; returns its folder.
    ///
    /// # Errors
    /// An I/O failure (what, where); nothing is left under the final name.
    pub fn write(&self, seen: &Seen<'_>) -> Result<PathBuf, String> {
        let root = storage::create_dir(&self.root).map_err(|e| e.to_string())?;
        let tmp_name = format!(".tmp-{}", self.deployment);
        if root.exists(&tmp_name) {
            root.remove_dir_all(&tmp_name)
                .map_err(|e| format!("{}: cannot clear {tmp_name}: {e}", self.root.display()))?;
        }
        root.create_dir(&tmp_name)
            .map_err(|e| format!("{}: cannot create {tmp_name}: {e}", self.root.display()))?;
        let tmp_path = self.root.join(&tmp_name);
        let tmp = root
            .open_dir(&tmp_name)
            .map_err(|e| format!("{}: {e}", tmp_path.display()))?;
        tmp.create_dir("feed")
            .map_err(|e| format!("{}: cannot create feed/: {e}", tmp_path.display()))?;
        let kind = write_feed(&tmp_path.join("feed"), seen.delivered)?;
        let manifest = Manifest {
            format: RECORDING_FORMAT,
            deployment: self.deployment.clone(),
            plugin: self.plugin.clone(),
            digest: self.digest.clone(),
            versions: seen.versions.clone(),
            params: self.params.clone(),
            instrument: self.instrument.clone(),
            kind,
            bar_type: self.bar_type.clone(),
            balance: self.balance.clone(),
            risk_policy: self.risk_policy.clone(),
            events: seen.delivered.len() as u64,
            signals: seen.signals.len() as u64,
            stopped: seen.stopped,
        };
        let json = |v: &dyn erased::Json| v.to_json();
        for (name, bytes) in [
            ("manifest.json", json(&manifest)?),
            ("signals.json", json(&seen.signals)?),
            ("decisions.json", json(seen.report)?),
            ("component.wasm", self.component.to_vec()),
        ] {
            storage::write_atomic(&tmp, name, &bytes)
                .map_err(|e| format!("{}: {e}", tmp_path.display()))?;
        }
        if root.exists(&self.deployment) {
            return Err(format!(
                "{}: a recording of {} already exists; it is kept",
                self.root.display(),
                self.deployment
            ));
        }
        root.rename(&tmp_name, &root, &self.deployment)
            .and_then(|()| root.open(".")?.sync_all())
            .map_err(|e| {
                format!(
                    "{}: cannot move the recording into place: {e}",
                    self.root.display()
                )
            })?;
        Ok(self.root.join(&self.deployment))
    }
}

/// JSON encoding for the few types written here.
mod erased {
    pub trait Json {
        fn to_json(&self) -> Result<Vec<u8>, String>;
    }
    impl<T: serde::Serialize + ?Sized> Json for T {
        fn to_json(&self) -> Result<Vec<u8>, String> {
            serde_json::to_vec_pretty(self).map_err(|e| format!("cannot encode the recording: {e}"))
        }
    }
}

/// Writes the delivered market data as a catalog under `root`; returns its kind (quotes
/// win over trades over bars when several are present; the others are written too).
fn write_feed(root: &Path, delivered: &[Data]) -> Result<Kind, String> {
    let (mut quotes, mut trades) = (Vec::new(), Vec::new());
    let mut bars: BTreeMap<String, Vec<Bar>> = BTreeMap::new();
    for d in delivered {
        match d {
            Data::Quote(q) => quotes.push(*q),
            Data::Trade(t) => trades.push(*t),
            Data::Bar(b) => bars.entry(b.bar_type.to_string()).or_default().push(*b),
            _ => {}
        }
    }
    let kind = if !quotes.is_empty() {
        Kind::Quotes
    } else if !trades.is_empty() {
        Kind::Trades
    } else {
        Kind::Bars
    };
    let err = |e: crate::catalog::store::CatalogError| format!("{}: {e}", root.display());
    if !quotes.is_empty() {
        write_plain(root, Series::Quotes(quotes)).map_err(err)?;
    }
    if !trades.is_empty() {
        write_plain(root, Series::Trades(trades)).map_err(err)?;
    }
    for (_, v) in bars {
        write_plain(root, Series::Bars(v)).map_err(err)?;
    }
    Ok(kind)
}

/// The first decision that differs.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Divergence {
    /// `order` or `fill`, and its position (0-based) in the session's sequence.
    pub what: String,
    pub index: usize,
    #[schema(value_type = Object)]
    pub live: Option<serde_json::Value>,
    #[schema(value_type = Object)]
    pub replay: Option<serde_json::Value>,
}

/// What a replay found.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Verdict {
    pub deployment: String,
    pub events: usize,
    pub orders: usize,
    pub fills: usize,
    pub matched: bool,
    pub first_divergence: Option<Divergence>,
}

fn order_key(o: &serde_json::Value) -> serde_json::Value {
    serde_json::json!([
        o["client_order_id"],
        o["side"],
        o["order_type"],
        o["quantity"],
        o["price"],
        o["status"],
        o["filled_qty"],
        o["reason"]
    ])
}

fn fill_key(f: &serde_json::Value) -> serde_json::Value {
    serde_json::json!([
        f["client_order_id"],
        f["side"],
        f["last_qty"],
        f["last_px"],
        f["commission"]
    ])
}

/// The first index where `live` and `replay` differ (a missing entry on either side too).
fn first_difference(
    what: &str,
    live: &[serde_json::Value],
    replay: &[serde_json::Value],
    key: fn(&serde_json::Value) -> serde_json::Value,
) -> Option<Divergence> {
    let n = live.len().max(replay.len());
    (0..n).find_map(|i| {
        let (l, r) = (live.get(i).map(key), replay.get(i).map(key));
        (l != r).then(|| Divergence {
            what: what.to_string(),
            index: i,
            live: l,
            replay: r,
        })
    })
}

fn list(v: &serde_json::Value, field: &str) -> Vec<serde_json::Value> {
    v[field].as_array().cloned().unwrap_or_default()
}

fn read(dir: &cap_std::fs::Dir, folder: &Path, name: &str) -> Result<Vec<u8>, String> {
    dir.read(name).map_err(|e| {
        format!(
            "{}: cannot read {name}: {e} (is this a recording folder?)",
            folder.display()
        )
    })
}

/// Backtests the recording in `folder` and compares every decision with the live
/// session's.
///
/// # Errors
/// Not a recording (or another format), a recording of a hot-swapped deployment (several
/// versions ran; a replay runs one), or a backtest that fails.
pub fn replay(folder: &Path) -> Result<Verdict, String> {
    let dir = storage::open_dir(folder).map_err(|e| e.to_string())?;
    let manifest: Manifest = serde_json::from_slice(&read(&dir, folder, "manifest.json")?)
        .map_err(|e| format!("{}/manifest.json: {e}", folder.display()))?;
    if manifest.format != RECORDING_FORMAT {
        return Err(format!(
            "{}: recording format {} (this stratbox reads {RECORDING_FORMAT})",
            folder.display(),
            manifest.format
        ));
    }
    if manifest.versions.len() > 1 {
        return Err(format!(
            "{}: deployment {} ran {} versions (hot-swapped); a replay runs one component, so its decisions cannot be compared one for one",
            folder.display(),
            manifest.deployment,
            manifest.versions.len()
        ));
    }
    let bytes = read(&dir, folder, "component.wasm")?;
    if bytes.len() as u64 > MAX_COMPONENT_BYTES as u64 {
        return Err(format!("{}: component.wasm is too large", folder.display()));
    }
    if crate::sandbox::sha256_hex(&bytes) != manifest.digest {
        return Err(format!(
            "{}: component.wasm does not hash to the recorded digest {}",
            folder.display(),
            manifest.digest
        ));
    }
    let signals: Vec<Signal> = serde_json::from_slice(&read(&dir, folder, "signals.json")?)
        .map_err(|e| format!("{}/signals.json: {e}", folder.display()))?;
    let live: serde_json::Value = serde_json::from_slice(&read(&dir, folder, "decisions.json")?)
        .map_err(|e| format!("{}/decisions.json: {e}", folder.display()))?;

    let mut defs = Instruments::bundled();
    // A currency pair the bundled file lacks had the standard definition live too.
    let _ = defs.add_standard_fx(&manifest.instrument);
    let loaded = backtest::data::load_catalog(
        &folder.join("feed"),
        &manifest.instrument,
        Some(manifest.kind),
        manifest.bar_type.as_deref(),
        None,
        None,
        &defs,
    )
    .map_err(|e| format!("{}/feed: {e}", folder.display()))?;
    let engine = SandboxEngine::new(EngineOptions::default()).map_err(|e| e.to_string())?;
    let audit = AuditLog::memory();
    let component = capabilities::load(&engine, &bytes, &LoadPolicy::default(), &audit)
        .map_err(|e| format!("{}/component.wasm: {e}", folder.display()))?;
    let overrides: Vec<(String, String)> = manifest
        .params
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let params = component
        .manifest()
        .resolve_params(&overrides)
        .map_err(|p| format!("{}: recorded parameters: {p}", folder.display()))?;
    let policy = RiskPolicy::from_toml(&manifest.risk_policy)
        .map_err(|e| format!("{}: recorded risk policy: {e}", folder.display()))?;
    let balance = backtest::parse_balance(
        Some(&manifest.balance),
        &backtest::settlement_currency(&loaded.instrument),
    )?;
    let events = loaded.data.len();
    let spec = BacktestSpec {
        instruments: vec![loaded.instrument.clone()],
        table: Arc::new(defs.table()),
        data: loaded.data,
        balances: vec![balance],
        strategies: vec![StrategySpec::Component {
            component: &component,
            params,
        }],
        chunk: backtest::DEFAULT_CHUNK,
        timing: false,
        risk: RiskHub::new(policy, audit.clone(), Notifiers::log()),
        signals: SignalInput {
            signals,
            report: backtest::report::SignalsReport::default(),
        },
        purge_account_events: true,
    };
    let outcome =
        backtest::run(spec, &engine, &audit, &mut |_, _| {}).map_err(|e| e.to_string())?;
    let replayed = outcome
        .report
        .strategies
        .first()
        .map(|s| serde_json::to_value(s).unwrap_or_default())
        .unwrap_or_default();
    let (lo, ro) = (list(&live, "orders"), list(&replayed, "orders"));
    let (lf, rf) = (list(&live, "fills"), list(&replayed, "fills"));
    let first_divergence = first_difference("order", &lo, &ro, order_key)
        .or_else(|| first_difference("fill", &lf, &rf, fill_key));
    Ok(Verdict {
        deployment: manifest.deployment,
        events,
        orders: lo.len(),
        fills: lf.len(),
        matched: first_divergence.is_none(),
        first_divergence,
    })
}
