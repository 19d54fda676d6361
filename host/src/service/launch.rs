//! Building and starting a deployment's session: for a new deployment ([`super::ops`]) and
//! for a live deployment resumed after a crash ([`super::recovery`]), which build it the
//! same way from the same request.

use std::sync::Arc;

use cap_std::fs::Dir;
use nautilus_model::{data::Data, instruments::InstrumentAny};
use stratbox_manifest::ParamValue;
use tokio::sync::{mpsc, watch};

use super::{
    AppState,
    deployments::{self, Current, DeployRequest, Deployment, SessionKind},
    error::{ApiError, ErrorCode},
    grants::{self, GrantSpec},
    ops::resolve_params,
};
use crate::{
    backtest::{
        self,
        data::{DataFormat, Loaded},
    },
    capabilities::{
        self, Instance, PluginEnv,
        risk_gate::{RiskHub, RiskPolicy},
    },
    catalog::{instrument_defs::Instruments, store::Catalog},
    nautilus::{
        hotswap::{AdapterEvent, EventSink},
        live::{
            checkpoint::{Checkpoint, SignalJournal},
            durable::{Durable, Resume},
            recording,
            session::LiveSession,
            venue::{
                ResolvedVenue, VenueEnvironment,
                node::{fetch_instruments, instrument_table},
            },
        },
        paper::{self, SessionEnd, SessionSpec, Speed},
        router::NautilusRouter,
    },
    notify::Notifiers,
    sandbox::PluginComponent,
};

/// What a session is built from.
pub(super) struct Plan<'a> {
    pub id: &'a str,
    /// The version to run.
    pub digest: &'a str,
    pub req: &'a DeployRequest,
    pub grant: &'a GrantSpec,
    pub kind: SessionKind,
    pub speed: Speed,
    pub policy: RiskPolicy,
    /// The checkpoint a resumed live session starts from.
    pub resume: Option<&'a Checkpoint>,
    /// The real venue a `mode = "live"` session trades on.
    pub venue: Option<&'a VenueTarget>,
    pub sink: EventSink,
}

/// A real venue a deployment trades on: its configuration with the keys read, and the
/// traded instrument as the venue defines it.
#[derive(Debug, Clone)]
pub(super) struct VenueTarget {
    /// The name requests and grants use (`BINANCE`).
    pub name: String,
    pub resolved: ResolvedVenue,
    pub instrument: InstrumentAny,
}

impl VenueTarget {
    /// What the deployment's audit record says about the venue (no secret).
    pub fn audit_details(&self) -> serde_json::Value {
        let v = &self.resolved;
        serde_json::json!({
            "name": self.name,
            "venue": v.config.venue,
            "environment": v.config.environment.as_str(),
            "real_money": v.config.environment == VenueEnvironment::Live,
            "account": v.account_id.to_string(),
            "endpoints": {
                "http": v.endpoints.http,
                "ws_stream": v.endpoints.ws_stream,
                "ws_api": v.endpoints.ws_api,
            },
        })
    }
}

/// Asks the venue for its instruments and picks `instrument` (REST; nothing trades yet).
///
/// # Errors
/// `venue-unavailable` when the venue cannot be reached or does not list the instrument.
pub(super) async fn venue_target(
    name: String,
    resolved: ResolvedVenue,
    instrument: Option<&str>,
) -> Result<VenueTarget, ApiError> {
    let wanted = instrument
        .ok_or_else(|| ApiError::bad_request("session.instrument is required with a venue"))?;
    let unavailable =
        |why: String| ApiError::new(ErrorCode::VenueUnavailable, format!("{name}: {why}"));
    let listed = fetch_instruments(&resolved)
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    let known = listed.len();
    let instrument = listed
        .into_iter()
        .find(|i| nautilus_model::instruments::Instrument::id(i).to_string() == wanted)
        .ok_or_else(|| {
            unavailable(format!(
                "session.instrument `{wanted}` is not among the {known} instruments the venue lists"
            ))
        })?;
    Ok(VenueTarget {
        name,
        resolved,
        instrument,
    })
}

/// A session built and not started yet.
pub(super) struct Prepared {
    pub spec: SessionSpec,
    pub table: Arc<crate::catalog::InstrumentTable>,
    pub risk: Arc<RiskHub>,
    pub params: Vec<(String, ParamValue)>,
    /// The parameters as text, as the deployment resolved them.
    pub effective: std::collections::BTreeMap<String, String>,
    pub recording: Option<recording::Plan>,
    /// A resumed session's market events from before its checkpoint.
    pub prefix: Vec<Data>,
    /// The real venue it trades on.
    pub venue: Option<ResolvedVenue>,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("spec", &self.spec)
            .finish_non_exhaustive()
    }
}

/// Builds the session of `plan` (CPU work: call from a blocking thread). A resumed session
/// gets the checkpoint's plugin state, gate book and trading states, client order ids
/// numbered on from its counter, and the feed after the events it had handled.
///
/// # Errors
/// As a deployment request: the component, data, parameters, balance or instantiation;
/// for a resume, a checkpoint the component or the data do not fit.
pub(super) fn prepare(st: &AppState, plan: &Plan<'_>) -> Result<Prepared, ApiError> {
    let req = plan.req;
    let component = st.registry.component(plan.digest)?;
    let component = grants::apply(&component, plan.grant)
        .map_err(|e| ApiError::new(ErrorCode::GrantInsufficient, e))?;
    // A venue supplies the instrument and the feed; otherwise the data is loaded here.
    let (instrument, mut data, table) = match plan.venue {
        Some(v) => (
            v.instrument.clone(),
            Vec::new(),
            instrument_table(std::slice::from_ref(&v.instrument)),
        ),
        None => {
            let (loaded, defs) = load_data(st, &req.session)?;
            (loaded.instrument, loaded.data, defs.table())
        }
    };
    let instrument_id = nautilus_model::instruments::Instrument::id(&instrument).to_string();
    let params = resolve_params(&component, &req.params, Some(&instrument_id))?;
    // What the deployment runs with, as text (a swapped-in version resolves the same).
    let mut effective = req.params.clone();
    if component.manifest().params.contains_key("instrument_id") {
        effective
            .entry("instrument_id".to_string())
            .or_insert(instrument_id.clone());
    }
    let balance = backtest::parse_balance(
        req.session.balance.as_deref(),
        &backtest::settlement_currency(&instrument),
    )
    .map_err(|e| ApiError::bad_request(format!("session.balance {e}")))?;
    let table = Arc::new(table);
    // A venue session's feed and fills are the venue's: there is nothing to replay it against.
    let recording = (plan.kind == SessionKind::Live && plan.venue.is_none())
        .then(|| -> Result<_, ApiError> {
            Ok(recording::Plan {
                root: st.config.state_dir.join("recordings"),
                deployment: plan.id.to_string(),
                plugin: component.manifest().name.clone(),
                digest: req.plugin.clone(),
                component: Arc::new(st.registry.blob(&req.plugin)?),
                params: effective.clone(),
                instrument: instrument_id.clone(),
                bar_type: req.session.bar_type.clone(),
                balance: balance.to_string(),
                risk_policy: req.risk_policy.clone(),
            })
        })
        .transpose()?;
    // One host-wide book and one kill switch for every deployment of the service.
    let risk = RiskHub::joined(plan.policy.clone(), &st.risk, plan.id, Notifiers::log());
    let name = component.manifest().name.clone();
    let sid = backtest::strategy_id(&name, 0);
    let (router, queue) =
        NautilusRouter::numbered_from(sid.as_str(), plan.resume.map_or(1, |c| c.next_order));
    let mut instance = instantiate(st, &component, &params, &table, &risk, router)?;
    let mut prefix = Vec::new();
    if let Some(cp) = plan.resume {
        restore(&mut instance, &risk, cp)?;
        let events = usize::try_from(cp.events).unwrap_or(usize::MAX);
        if events > data.len() {
            return Err(ApiError::new(
                ErrorCode::InvalidData,
                format!(
                    "the checkpoint has handled {events} market events but the session's data has {}: it changed since the deployment started",
                    data.len()
                ),
            ));
        }
        let rest = data.split_off(events);
        prefix = std::mem::replace(&mut data, rest);
    }
    let spec = SessionSpec {
        id: plan.id.to_string(),
        instruments: vec![instrument],
        table: Arc::clone(&table),
        data,
        // A venue's account has the venue's balances.
        balances: if plan.venue.is_some() {
            Vec::new()
        } else {
            vec![balance]
        },
        instance,
        queue,
        strategy_name: name,
        risk: Arc::clone(&risk),
        audit: st.audit.clone(),
        speed: plan.speed,
        sink: Arc::clone(&plan.sink),
    };
    Ok(Prepared {
        spec,
        table,
        risk,
        params,
        effective,
        recording,
        prefix,
        venue: plan.venue.map(|v| v.resolved.clone()),
    })
}

/// Puts a checkpoint's plugin state, gate book and trading states into a fresh instance
/// and hub.
fn restore(instance: &mut Instance, risk: &RiskHub, cp: &Checkpoint) -> Result<(), ApiError> {
    let bad = |why: String| {
        ApiError::new(
            ErrorCode::InstantiateFailed,
            format!(
                "resuming from checkpoint {} of {}: {why}",
                cp.seq, cp.deployment
            ),
        )
    };
    let snapshot = cp.snapshot_bytes().map_err(bad)?;
    // The streams and indicators the snapshot refers to, with their ids, before the
    // snapshot itself: the plugin's restored state expects the host to hold them.
    if let Some(market) = &cp.market {
        instance
            .host_mut()
            .market_data
            .resume_session(market.clone())
            .map_err(|e| bad(format!("market data: {e}")))?;
    }
    match instance.restore(&snapshot) {
        Ok(Ok(())) => {}
        Ok(Err(why)) => return Err(bad(format!("the plugin refused its state: {why}"))),
        Err(e) => return Err(bad(format!("the plugin faulted in restore(): {e}"))),
    }
    instance
        .host_mut()
        .risk_gate
        .restore_checkpoint(&cp.gate)
        .map_err(bad)?;
    // Audited when they were set; not again.
    risk.control.restore(&cp.trading);
    Ok(())
}

/// A started session and its deployment, before its event pump and end watcher run.
pub(super) struct Launched {
    pub dep: Arc<Deployment>,
    pub thread: Option<std::thread::JoinHandle<SessionEnd>>,
    ended: watch::Sender<Option<serde_json::Value>>,
}

impl Launched {
    /// Registers the deployment with the service and starts its pump and end watcher.
    pub fn run(self, state: &Arc<AppState>, rx: mpsc::UnboundedReceiver<AdapterEvent>) {
        state.insert_deployment(Arc::clone(&self.dep));
        tokio::spawn(deployments::pump(
            Arc::clone(state),
            Arc::clone(&self.dep),
            rx,
        ));
        if let Some(thread) = self.thread {
            tokio::spawn(deployments::watch_end(
                Arc::clone(state),
                Arc::clone(&self.dep),
                thread,
                self.ended,
            ));
        }
    }
}

/// Starts the session of `prepared` on its thread (a live one with its checkpoints and
/// signal journal, resuming from `resume` if given) and makes its deployment.
///
/// # Errors
/// The thread, the checkpoints folder or the journal could not be opened.
#[allow(clippy::too_many_arguments)]
pub(super) fn start(
    state: &Arc<AppState>,
    id: &str,
    plugin_name: &str,
    created_by: &str,
    current: Current,
    kind: SessionKind,
    prepared: Prepared,
    resume: Option<(Checkpoint, Vec<crate::signals::Signal>)>,
) -> Result<Launched, ApiError> {
    let Prepared {
        spec,
        table,
        risk,
        effective,
        recording,
        prefix,
        venue,
        ..
    } = prepared;
    let io = |what: &str, e: &dyn std::fmt::Display| {
        ApiError::internal(format!("deployment {id}: {what}: {e}"))
    };
    let mut journal = None;
    let venue_name = venue
        .as_ref()
        .map(|v| v.config.venue.nautilus_venue().to_string());
    let started = match kind {
        SessionKind::Paper => paper::start(spec),
        SessionKind::Live => {
            // A venue session is not checkpointed: after a crash it is not resumed (decision
            // 0034), so it keeps no journal either.
            let durable = if venue.is_some() {
                None
            } else {
                let dir: Dir = state
                    .checkpoints
                    .try_clone()
                    .map_err(|e| io("the checkpoints folder", &e))?;
                journal =
                    Some(SignalJournal::open(&dir, id).map_err(|e| io("signal journal", &e))?);
                let resume = resume.map(|(checkpoint, pending)| Resume {
                    checkpoint,
                    pending,
                    prefix,
                });
                Some((
                    Durable { dir, resume },
                    state
                        .config
                        .state_dir
                        .join(crate::nautilus::live::checkpoint::CHECKPOINTS_DIR),
                ))
            };
            crate::nautilus::live::session::start(
                spec,
                LiveSession {
                    stale_after: std::time::Duration::from_secs_f64(
                        state.config.feed_stale_after_s,
                    ),
                    recording,
                    durable,
                    venue,
                },
            )
        }
    };
    let mut handle = started.map_err(|e| io("cannot start the session thread", &e))?;
    let thread = handle.take_thread();
    let (ended_tx, ended_rx) = watch::channel(None);
    let dep = Arc::new(Deployment::new(
        id.to_string(),
        plugin_name.to_string(),
        effective,
        created_by.to_string(),
        risk,
        table,
        current,
        handle,
        ended_rx,
        (kind, venue_name),
    ));
    if let Some(j) = journal {
        dep.set_journal(j);
    }
    Ok(Launched {
        dep,
        thread,
        ended: ended_tx,
    })
}

/// Where a request's market data is: a deployment's `session` fields or a backtest job's
/// (the same checks and messages; `prefix` names where the fields are: `session.` or ``).
#[derive(Debug, Clone, Copy)]
pub(super) struct DataSource<'a> {
    pub prefix: &'static str,
    pub data: Option<&'a str>,
    pub format: Option<DataFormat>,
    pub catalog: Option<&'a str>,
    pub dataset: Option<crate::catalog::series::Kind>,
    pub instrument: Option<&'a str>,
    pub bar_type: Option<&'a str>,
    /// A catalog's time range (UNIX ns, inclusive).
    pub range: (Option<u64>, Option<u64>),
}

impl<'a> DataSource<'a> {
    fn of_session(s: &'a deployments::SessionRequest) -> Self {
        Self {
            prefix: "session.",
            data: s.data.as_deref(),
            format: s.format,
            catalog: s.catalog.as_deref(),
            dataset: s.dataset(),
            instrument: s.instrument.as_deref(),
            bar_type: s.bar_type.as_deref(),
            range: (None, None),
        }
    }
}

/// A data name from a request, checked to stay under the data folder: absolute paths,
/// `..` and symlinks that leave the folder are refused (the name is looked up through the
/// folder's `cap-std` handle, which every later read goes through too).
fn data_name<'a>(
    state: &AppState,
    name: &'a str,
    prefix: &str,
    field: &str,
) -> Result<&'a str, ApiError> {
    let rel = std::path::Path::new(name);
    let bad = |why: &str| ApiError::bad_request(format!("{prefix}{field} `{name}`: {why}"));
    if name.is_empty()
        || rel.is_absolute()
        || rel
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(bad(
            "must be a relative name under the server's data folder, without `..`",
        ));
    }
    state
        .data_dir
        .metadata(rel)
        .map_err(|e| bad(&format!("not found under the data folder ({e})")))?;
    Ok(name)
}

/// The session's data and the instruments it runs with: the bundled definitions, plus the
/// standard currency pair when `session.instrument` is an undefined `XXX/YYY.VENUE`.
fn load_data(
    state: &AppState,
    s: &deployments::SessionRequest,
) -> Result<(Loaded, Instruments), ApiError> {
    load_data_of(state, &DataSource::of_session(s))
}

/// The data `src` names and the instruments it runs with (CPU and disk work: call from a
/// blocking thread).
///
/// # Errors
/// A name outside the data folder or not in it (400), data that cannot be loaded
/// (`invalid-data`).
pub(super) fn load_data_of(
    state: &AppState,
    src: &DataSource<'_>,
) -> Result<(Loaded, Instruments), ApiError> {
    let mut defs = Instruments::bundled();
    if let Some(id) = src.instrument
        && let Some(note) = defs.add_standard_fx(id)
    {
        tracing::info!("market data: {note}");
    }
    let loaded = load_source(state, src, &defs)?;
    Ok((loaded, defs))
}

/// Checks `src`'s names without loading anything.
///
/// # Errors
/// As [`load_data_of`]'s 400s.
pub(super) fn check_source(state: &AppState, src: &DataSource<'_>) -> Result<(), ApiError> {
    let p = src.prefix;
    match (src.data, src.catalog) {
        (Some(file), None) => data_name(state, file, p, "data").map(|_| ()),
        (None, Some(catalog)) => {
            data_name(state, catalog, p, "catalog")?;
            if src.instrument.is_none() {
                return Err(ApiError::bad_request(format!(
                    "{p}instrument is required with {p}catalog"
                )));
            }
            Ok(())
        }
        _ => {
            let what = "give exactly one of `data` (a file) or `catalog` (a folder)";
            Err(ApiError::bad_request(match p.strip_suffix('.') {
                Some(object) => format!("{object}: {what}"),
                None => format!("{what} under the server's data folder"),
            }))
        }
    }
}

fn load_source(
    state: &AppState,
    src: &DataSource<'_>,
    defs: &Instruments,
) -> Result<Loaded, ApiError> {
    let bad = |e: backtest::data::LoadDataError| ApiError::new(ErrorCode::InvalidData, e.0);
    check_source(state, src)?;
    match (src.data, src.catalog) {
        (Some(name), None) => {
            let format = src.format.unwrap_or(DataFormat::Auto);
            backtest::data::load_in(
                &state.data_dir,
                name,
                format,
                src.instrument,
                src.bar_type,
                defs,
            )
            .map_err(bad)
        }
        (None, Some(name)) => {
            let instrument = src.instrument.unwrap_or_default();
            let opened = Catalog::open_in(&state.data_dir, &state.config.data_dir, name)
                .map_err(|e| ApiError::new(ErrorCode::InvalidData, format!("--catalog: {e}")))?;
            backtest::data::load_catalog_between(
                &opened,
                name,
                instrument,
                src.dataset,
                src.bar_type,
                src.range,
                defs,
            )
            .map_err(bad)
        }
        _ => Err(ApiError::internal("checked above")),
    }
}

/// Instantiates `component` for a deployment (CPU work: call from a blocking thread).
pub(super) fn instantiate(
    state: &AppState,
    component: &PluginComponent,
    params: &[(String, ParamValue)],
    table: &Arc<crate::catalog::InstrumentTable>,
    risk: &Arc<RiskHub>,
    router: NautilusRouter,
) -> Result<Instance, ApiError> {
    let env = PluginEnv {
        market: Arc::clone(table) as _,
        router: Box::new(router),
        risk: Arc::clone(risk),
    };
    capabilities::instantiate(
        state.registry.engine(),
        component,
        env,
        params,
        &state.audit,
    )
    .map_err(|e| ApiError::new(ErrorCode::InstantiateFailed, e.to_string()))
}
