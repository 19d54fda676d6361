//! A job's request, checked and prepared when it is posted ([`prepare`]), and its run on a
//! blocking thread ([`execute`]): the backtest or the sweep, its progress, its files.

use std::{
    collections::BTreeMap,
    sync::{Arc, atomic::Ordering},
    time::Instant,
};

use nautilus_model::{
    data::Data,
    instruments::{Instrument, InstrumentAny},
    types::Money,
};
use serde::{Deserialize, Serialize};
use stratbox_manifest::ParamValue;

use super::{Job, JobKind, JobStatus, PROGRESS_EVERY};
use crate::{
    audit::AuditLog,
    backtest::{self, BacktestError, BacktestSpec, SignalInput, StrategySpec, data::DataFormat},
    capabilities::risk_gate::{RiskHub, RiskPolicy},
    catalog::instrument_defs::Instruments,
    notify::Notifiers,
    sandbox::PluginComponent,
    service::{
        AppState,
        error::{ApiError, ErrorCode},
        launch::{self, DataSource},
        ops::resolve_params,
    },
    sweep::{Grid, RankBy, Row, Status, Sweep, grid::Axis, table},
};

/// Events per chunk of a job's backtest: its progress and cancel granularity (results do
/// not depend on it).
const JOB_CHUNK: usize = 2_048;

/// A parameter value: text, or a JSON number or boolean (taken as its text).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamText {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl std::fmt::Display for ParamText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Text(s) => f.write_str(s),
            Self::Int(i) => write!(f, "{i}"),
            Self::Float(x) => write!(f, "{x}"),
            Self::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// A swept parameter's values: a list, or `stratbox sweep`'s `lo..hi:step` / `a,b,c` text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum GridValues {
    List(Vec<ParamText>),
    Spec(String),
}

/// `POST /v1/backtests` and `POST /v1/sweeps`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobRequest {
    /// sha256 digest of a registered component.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub plugin: String,
    /// Parameter values by name (text, numbers or booleans); missing ones take the
    /// manifest's defaults (`instrument_id` and `bar_type`: the data's).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub params: BTreeMap<String, ParamText>,
    /// A data file under the server's data folder (e.g. `fxcm/gbpusd-m1-bid-2012.csv`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Its format (as `stratbox backtest --format`): `auto` by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<DataFormat>,
    /// Or a catalog folder under the data folder (needs `instrument`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog: Option<String>,
    /// Catalog dataset kind: `quotes`, `bars` or `trades` (default: the first present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<crate::catalog::series::Kind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instrument: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bar_type: Option<String>,
    /// With `catalog`: first time (UNIX ns, `YYYY-MM-DD` or ISO, UTC; inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// With `catalog`: last time (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// A risk policy (TOML, as `stratbox backtest --risk`); default: the contract's checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_policy: Option<String>,
    /// Starting balance, `"<amount> <currency>"` (default 1,000,000 of the settlement
    /// currency).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance: Option<String>,
    /// Sweeps only: each swept parameter's values, a list (`[5, 10, 20]`) or
    /// `"lo..hi:step"` / `"a,b,c"` as `stratbox sweep --param`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub grid: Option<BTreeMap<String, GridValues>>,
    /// Sweeps only: what the rows are ranked by (as `stratbox sweep --rank-by`; default
    /// `pnl_total`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank_by: Option<String>,
}

/// What a job runs on, prepared when it was posted.
pub(super) struct Inputs {
    component: Arc<PluginComponent>,
    instrument: InstrumentAny,
    defs: Instruments,
    data: Vec<Data>,
    balance: Money,
    policy: RiskPolicy,
    settlement: String,
    plan: Plan,
}

enum Plan {
    Backtest {
        params: Vec<(String, ParamValue)>,
    },
    Sweep {
        points: Vec<Vec<(String, ParamValue)>>,
        axes: Vec<Axis>,
        rank_by: RankBy,
    },
}

impl Inputs {
    /// Events (backtest) or grid points (sweep) to run.
    pub(super) fn total(&self) -> u64 {
        match &self.plan {
            Plan::Backtest { .. } => self.data.len() as u64,
            Plan::Sweep { points, .. } => points.len() as u64,
        }
    }
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_request(message)
}

/// Problems of a `stratbox sweep --param`/`--set` as the request's fields.
fn as_fields(problems: &stratbox_manifest::Problems) -> String {
    problems
        .iter()
        .map(|p| {
            let at =
                p.at.strip_prefix("--param ")
                    .and_then(|a| a.split_once('='))
                    .map(|(name, _)| format!("grid.{name}"))
                    .or_else(|| p.at.strip_prefix("--set ").map(|n| format!("params.{n}")))
                    .unwrap_or_else(|| p.at.clone());
            let message = p
                .message
                .replace("--param", "grid")
                .replace("--set", "params");
            if at.is_empty() {
                message
            } else {
                format!("{at}: {message}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn time(field: &str, text: Option<&str>) -> Result<Option<u64>, ApiError> {
    text.map(|t| {
        crate::catalog::fields::parse_time(t).map_err(|e| {
            bad(format!(
                "{field} `{t}`: {e}; write UNIX nanoseconds, YYYY-MM-DD or an ISO time (UTC)"
            ))
        })
    })
    .transpose()
}

/// Checks `req` and loads what the job needs (CPU and disk work: a blocking thread).
///
/// # Errors
/// What is wrong, where and what to do: 400 for the request's shape, names and risk
/// policy; `invalid-params` and `invalid-data` (422) as for deployments.
pub(super) fn prepare(st: &AppState, kind: JobKind, req: &JobRequest) -> Result<Inputs, ApiError> {
    match (kind, &req.grid, &req.rank_by) {
        (JobKind::Backtest, Some(_), _) | (JobKind::Backtest, _, Some(_)) => {
            return Err(bad(
                "grid and rank_by are for sweeps: POST them to /v1/sweeps (a backtest runs one set of params)",
            ));
        }
        (JobKind::Sweep, None, _) => {
            return Err(bad(
                "grid is required: the values of each swept parameter, e.g. {\"fast_period\": [5, 10], \"slow_period\": \"20..60:20\"}",
            ));
        }
        _ => {}
    }
    if req.data.is_some() && (req.start.is_some() || req.end.is_some()) {
        return Err(bad(
            "start and end select a time range of a catalog: with a data file leave them out (the whole file runs)",
        ));
    }
    let range = (
        time("start", req.start.as_deref())?,
        time("end", req.end.as_deref())?,
    );
    if let (Some(a), Some(b)) = range
        && a > b
    {
        return Err(bad(format!(
            "start ({a}) is after end ({b}): give start <= end"
        )));
    }
    let policy = match &req.risk_policy {
        None => RiskPolicy::default(),
        Some(text) => RiskPolicy::from_toml(text).map_err(|e| {
            let lines: Vec<String> = e.0.iter().map(|l| format!("  {l}")).collect();
            bad(format!(
                "risk_policy: invalid risk policy (docs/risk.md):\n{}",
                lines.join("\n")
            ))
        })?,
    };
    let rank_by = RankBy::parse(req.rank_by.as_deref().unwrap_or("pnl_total"))
        .map_err(|e| bad(e.replace("--rank-by", "rank_by")))?;
    let src = DataSource {
        prefix: "",
        data: req.data.as_deref(),
        format: req.format,
        catalog: req.catalog.as_deref(),
        dataset: req.dataset,
        instrument: req.instrument.as_deref(),
        bar_type: req.bar_type.as_deref(),
        range,
    };
    launch::check_source(st, &src)?;
    let component = st.registry.component(&req.plugin)?;
    let manifest = component.manifest();
    let grid = match &req.grid {
        None => None,
        Some(axes) => {
            let args: Vec<String> = axes
                .iter()
                .map(|(name, values)| match values {
                    GridValues::Spec(s) => format!("{name}={s}"),
                    GridValues::List(l) => format!(
                        "{name}={}",
                        l.iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(",")
                    ),
                })
                .collect();
            Some(Grid::parse(&args, manifest).map_err(|p| bad(as_fields(&p)))?)
        }
    };
    let (loaded, defs) = launch::load_data_of(st, &src)?;
    if loaded.data.is_empty() {
        return Err(ApiError::new(
            ErrorCode::InvalidData,
            "the data holds no market events: pick another file or time range",
        ));
    }
    let instrument_id = loaded.instrument.id().to_string();
    let settlement = backtest::settlement_currency(&loaded.instrument);
    let balance = backtest::parse_balance(req.balance.as_deref(), &settlement)
        .map_err(|e| bad(format!("balance {e}")))?;
    let mut given: BTreeMap<String, String> = req
        .params
        .iter()
        .map(|(k, v)| (k.clone(), v.to_string()))
        .collect();
    // The data's bar type fills `bar_type` unless given (as `stratbox backtest`).
    let bar_type = loaded.data.iter().find_map(|d| match d {
        Data::Bar(b) => Some(b.bar_type.to_string()),
        _ => None,
    });
    let swept_names: Vec<String> = grid
        .as_ref()
        .map(|g| g.axes.iter().map(|a| a.name.clone()).collect())
        .unwrap_or_default();
    let swept = |name: &str| swept_names.iter().any(|a| a == name);
    if let Some(b) = bar_type
        && manifest.params.contains_key("bar_type")
        && !given.contains_key("bar_type")
        && !swept("bar_type")
    {
        given.insert("bar_type".into(), b);
    }
    let plan = match grid {
        None => Plan::Backtest {
            params: resolve_params(&component, &given, Some(&instrument_id))?,
        },
        Some(grid) => {
            if let Some(k) = given.keys().find(|k| !manifest.params.contains_key(*k)) {
                return Err(ApiError::new(
                    ErrorCode::InvalidParams,
                    format!(
                        "params.{k}: {} {} declares no parameter `{k}`",
                        manifest.name, manifest.version
                    ),
                ));
            }
            if manifest.params.contains_key("instrument_id")
                && !given.contains_key("instrument_id")
                && !swept("instrument_id")
            {
                given.insert("instrument_id".into(), instrument_id.clone());
            }
            let fixed: Vec<(String, String)> = given.into_iter().collect();
            let points = grid.resolve(manifest, &fixed).map_err(|p| {
                ApiError::new(
                    ErrorCode::InvalidParams,
                    format!("invalid parameters:\n{}", as_fields(&p)),
                )
            })?;
            Plan::Sweep {
                points,
                axes: grid.axes,
                rank_by,
            }
        }
    };
    Ok(Inputs {
        component,
        instrument: loaded.instrument,
        defs,
        data: loaded.data,
        balance,
        policy,
        settlement,
        plan,
    })
}

/// How a run ended.
pub(super) struct End {
    pub status: JobStatus,
    pub error: Option<String>,
    pub summary: Option<serde_json::Value>,
}

impl End {
    pub(super) fn failed(error: String) -> Self {
        Self {
            status: JobStatus::Failed,
            error: Some(error),
            summary: None,
        }
    }
}

/// Progress to the job's counters, and to the stream at most every [`PROGRESS_EVERY`].
struct Reporter<'a> {
    st: &'a AppState,
    job: &'a Job,
    last: Option<Instant>,
}

impl Reporter<'_> {
    fn report(&mut self, done: u64, total: u64) {
        self.job.done.store(done, Ordering::Relaxed);
        self.job.total.store(total, Ordering::Relaxed);
        let due = self.last.is_none_or(|t| t.elapsed() >= PROGRESS_EVERY);
        if due || done == total {
            self.last = Some(Instant::now());
            let _ = self.st.jobs.stream.send(self.job.message(
                serde_json::json!({ "kind": "job-progress", "done": done, "total": total }),
            ));
        }
    }
}

/// Runs a prepared job on the calling (blocking) thread and writes its files.
pub(super) fn execute(st: &AppState, job: &Job, inputs: Inputs) -> End {
    let mut reporter = Reporter {
        st,
        job,
        last: None,
    };
    let folder = match st.jobs.folder(&job.id) {
        Ok(d) => d,
        Err(e) => return End::failed(e),
    };
    let Inputs {
        component,
        instrument,
        defs,
        data,
        balance,
        policy,
        settlement,
        plan,
    } = inputs;
    match plan {
        Plan::Backtest { params } => {
            let audit = AuditLog::memory();
            let title = format!(
                "stratbox backtest {}: {} on {}",
                job.id,
                component.manifest().name,
                instrument.id()
            );
            let spec = BacktestSpec {
                instruments: vec![instrument],
                table: Arc::new(defs.table()),
                data,
                balances: vec![balance],
                strategies: vec![StrategySpec::Component {
                    component: &component,
                    params,
                }],
                chunk: JOB_CHUNK,
                timing: false,
                risk: RiskHub::new(policy, audit.clone(), Notifiers::log()),
                signals: SignalInput::default(),
                purge_account_events: true,
            };
            let mut progress = |done: usize, total: usize| {
                reporter.report(done as u64, total as u64);
            };
            let outcome = backtest::run_until(
                spec,
                st.registry.engine(),
                &audit,
                &mut progress,
                &job.cancel,
            );
            match outcome {
                Ok(o) => backtest_end(&folder, &o.report, &settlement, &title),
                Err(BacktestError::Cancelled { .. }) => End {
                    status: JobStatus::Cancelled,
                    error: None,
                    summary: None,
                },
                Err(e) => End::failed(e.to_string()),
            }
        }
        Plan::Sweep {
            points,
            axes,
            rank_by,
        } => {
            let swept: Vec<String> = axes.iter().map(|a| a.name.clone()).collect();
            let sweep = Sweep {
                engine: st.registry.engine(),
                component: &component,
                instrument,
                defs: &defs,
                data: &data,
                balance,
                policy,
                settlement,
                points,
                swept: swept.clone(),
            };
            let total = sweep.points.len() as u64;
            reporter.report(0, total);
            let workers = st.jobs.workers.min(sweep.points.len().max(1));
            let rows = sweep.run_until(workers, &job.cancel, &mut |_, done| {
                reporter.report(done as u64, total);
            });
            let complete = rows.iter().all(Option::is_some);
            let mut rows: Vec<Row> = rows.into_iter().flatten().collect();
            table::rank(&mut rows, &rank_by);
            let result = sweep_result(&swept, &rank_by, total, &rows);
            if let Err(e) = write(&folder, "result.json", &result) {
                return End::failed(e);
            }
            let summary = sweep_summary(total, &rows);
            if complete {
                End {
                    status: JobStatus::Finished,
                    error: None,
                    summary: Some(summary),
                }
            } else {
                End {
                    status: JobStatus::Cancelled,
                    error: None,
                    summary: Some(summary),
                }
            }
        }
    }
}

fn write(folder: &cap_std::fs::Dir, name: &str, value: &impl Serialize) -> Result<(), String> {
    let json = serde_json::to_string_pretty(value)
        .map_err(|e| format!("cannot encode {name}: {e}"))?
        + "\n";
    crate::storage::write_atomic(folder, name, json.as_bytes()).map_err(|e| e.to_string())
}

fn backtest_end(
    folder: &cap_std::fs::Dir,
    report: &backtest::BacktestReport,
    settlement: &str,
    title: &str,
) -> End {
    // report.json and the console's own viewer, self-contained (decision 0037).
    if let Err(e) = backtest::report_html::json(report)
        .and_then(|json| backtest::report_html::write(folder, &json, title))
    {
        return End::failed(e);
    }
    let row = Row::from_report(0, BTreeMap::new(), report, settlement);
    let fault = report
        .strategies
        .first()
        .and_then(|s| s.plugin.as_ref())
        .and_then(|p| p.fault.as_ref())
        .map(ToString::to_string);
    End {
        status: JobStatus::Finished,
        error: None,
        summary: Some(serde_json::json!({
            "pnl": row.pnl_total,
            "realized_pnl": row.realized_pnl,
            "unrealized_pnl": row.unrealized_pnl,
            "currency": settlement,
            "max_drawdown_pct": row.max_drawdown_pct,
            "sharpe": row.sharpe,
            "orders": row.orders,
            "fills": row.fills,
            "events": report.events,
            "fault": fault,
        })),
    }
}

/// One ranked row of `GET /v1/sweeps/{id}/result`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SweepRow {
    /// 1 = best.
    pub rank: usize,
    /// Position in the grid (0-based; the last swept parameter varies fastest).
    pub index: usize,
    /// The swept parameters' values, as text.
    pub params: BTreeMap<String, String>,
    /// `ok`, `faulted` (the plugin faulted; figures up to the fault), `error` (the host
    /// could not run it) or `refused` (the plugin's `init` refused the values).
    pub status: String,
    /// Realized + unrealized PnL in the settlement currency.
    pub pnl: Option<f64>,
    pub realized_pnl: Option<f64>,
    pub unrealized_pnl: Option<f64>,
    pub max_drawdown_pct: Option<f64>,
    pub sharpe: Option<f64>,
    pub sortino: Option<f64>,
    pub profit_factor: Option<f64>,
    pub win_rate: Option<f64>,
    pub orders: usize,
    pub fills: usize,
    pub positions: usize,
    /// The value ranked by.
    pub rank_value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `GET /v1/sweeps/{id}/result`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SweepResult {
    /// The swept parameters, in grid order.
    pub params: Vec<String>,
    pub rank_by: String,
    /// Grid points; `rows` has fewer when the sweep was cancelled.
    pub runs: u64,
    pub rows: Vec<SweepRow>,
}

fn sweep_result(swept: &[String], rank_by: &RankBy, runs: u64, rows: &[Row]) -> SweepResult {
    SweepResult {
        params: swept.to_vec(),
        rank_by: rank_by.key.clone(),
        runs,
        rows: rows
            .iter()
            .map(|r| SweepRow {
                rank: r.rank,
                index: r.index,
                params: crate::sweep::grid::texts(
                    &r.params
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect::<Vec<_>>(),
                ),
                status: r.status.as_str().to_string(),
                pnl: r.pnl_total,
                realized_pnl: r.realized_pnl,
                unrealized_pnl: r.unrealized_pnl,
                max_drawdown_pct: r.max_drawdown_pct,
                sharpe: r.sharpe,
                sortino: r.sortino,
                profit_factor: r.profit_factor,
                win_rate: r.win_rate,
                orders: r.orders,
                fills: r.fills,
                positions: r.positions,
                rank_value: r.rank_value,
                error: r.message.clone(),
            })
            .collect(),
    }
}

fn sweep_summary(runs: u64, rows: &[Row]) -> serde_json::Value {
    let ok = rows.iter().filter(|r| r.status == Status::Ok).count();
    let best = rows.first().map(|r| {
        serde_json::json!({
            "params": r.params.iter().map(|(k, v)| (k.clone(), backtest::param_text(v))).collect::<BTreeMap<_, _>>(),
            "pnl": r.pnl_total,
            "max_drawdown_pct": r.max_drawdown_pct,
            "status": r.status.as_str(),
        })
    });
    serde_json::json!({ "runs": runs, "done": rows.len(), "ok": ok, "best": best })
}
