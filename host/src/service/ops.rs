//! The operations behind the deployment endpoints: deploy, hot-swap, halt/resume, stop.
//! Handlers in [`super::api`] only parse and answer; everything is decided (and audited)
//! here.

use std::{sync::Arc, time::Duration};

use serde::{Deserialize, Serialize};
use stratbox_manifest::ParamValue;

use super::{
    AppState,
    auth::Principal,
    deployments::{self, Current, DeployRequest, Deployment, DeploymentView},
    error::{ApiError, ErrorCode},
    grants::{self, GrantRecord},
    launch, registry,
};
use crate::{
    audit::AuditAction,
    backtest,
    capabilities::{
        Instance,
        risk_gate::{RiskPolicy, Scope, control::ControlError},
    },
    nautilus::{
        hotswap::{SwapReply, SwapRequest},
        live::venue::ResolvedVenue,
        router::NautilusRouter,
    },
    sandbox::PluginComponent,
};

/// `PUT /v1/deployments/{id}/plugin`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SwapBody {
    /// Digest of the new version (same manifest name as the running one).
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub plugin: String,
    /// An approved grant to run it under; by default the deployment's current grant. A
    /// version that needs more than the current grant needs a new, approved one.
    pub grant: Option<String>,
    /// Events the new version must handle without a fault (default: the server's).
    pub probation_events: Option<u64>,
}

/// What a swap did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SwapOutcome {
    pub deployment: String,
    pub from: String,
    pub to: String,
    /// Time between the last event of the old version and the first of the new one.
    pub pause_ns: u64,
    pub state_bytes: usize,
    pub probation_events: u64,
}

/// `POST /v1/deployments/{id}/halt` and `/resume`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    pub reason: String,
}

async fn refused(state: &AppState, who: &Principal, subject: &str, e: ApiError) -> ApiError {
    let _ = state
        .audit(
            &who.actor(),
            AuditAction::DeployRefused,
            subject,
            serde_json::json!({ "error": e.error, "message": e.message }),
        )
        .await;
    e
}

/// The approved grant `id` for the component `digest`, or why not.
pub(super) async fn approved_grant(
    state: &AppState,
    id: &str,
    digest: &str,
) -> Result<GrantRecord, ApiError> {
    let g = grants::get(&state.pool, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no grant `{id}`")))?;
    grants::usable(&g, digest)?;
    Ok(g)
}

pub(super) fn resolve_params(
    component: &PluginComponent,
    given: &std::collections::BTreeMap<String, String>,
    instrument: Option<&str>,
) -> Result<Vec<(String, ParamValue)>, ApiError> {
    let declared = &component.manifest().params;
    if let Some(k) = given.keys().find(|k| !declared.contains_key(*k)) {
        return Err(ApiError::new(
            ErrorCode::InvalidParams,
            format!(
                "params.{k}: {} {} declares no parameter `{k}`",
                component.manifest().name,
                component.manifest().version
            ),
        ));
    }
    let mut pairs: Vec<(String, String)> =
        given.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    if let Some(i) = instrument
        && declared.contains_key("instrument_id")
        && !given.contains_key("instrument_id")
    {
        pairs.push(("instrument_id".into(), i.to_string()));
    }
    component
        .manifest()
        .resolve_params(&pairs)
        .map_err(|problems| {
            ApiError::new(
                ErrorCode::InvalidParams,
                format!("invalid parameters:\n{problems}"),
            )
        })
}

/// Which engine the session runs on, after the live-trading checks: `mode`/`venue` only
/// with `kind = "live"`; real orders (`mode = "live"`) only when the service allows live
/// venues *and* the approved grant lists the venue *and* the service holds a configuration
/// for it whose keys can be read; then the venue is returned too. A refusal is audited by
/// the caller ([`refused`]) before anything runs.
fn session_kind(
    state: &AppState,
    s: &deployments::SessionRequest,
    grant: &GrantRecord,
) -> Result<(deployments::SessionKind, Option<(String, ResolvedVenue)>), ApiError> {
    use deployments::{SessionKind, TradingMode};
    if s.session_kind() == SessionKind::Paper {
        if s.mode.is_some() || s.venue.is_some() {
            return Err(ApiError::bad_request(
                "session.mode and session.venue apply to live sessions only: add \"kind\": \"live\"",
            ));
        }
        return Ok((SessionKind::Paper, None));
    }
    if s.mode.unwrap_or_default() == TradingMode::Paper {
        if s.venue.is_some() {
            return Err(ApiError::bad_request(
                "session.venue names a venue for real orders: it needs \"mode\": \"live\" (paper live sessions use the sandbox venue)",
            ));
        }
        return Ok((SessionKind::Live, None));
    }
    if !state.config.live_venues {
        return Err(ApiError::new(
            ErrorCode::LiveVenuesDisabled,
            "this service does not allow real orders: an operator sets `live_venues = true` in its configuration (or --live-venues) to allow them; until then deploy with \"mode\": \"paper\"",
        ));
    }
    let venue = s
        .venue
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request(
                "session.venue is required with \"mode\": \"live\" (e.g. \"BINANCE\")",
            )
        })?;
    if !grant.spec.live_venues.iter().any(|v| v == venue) {
        return Err(ApiError::new(
            ErrorCode::GrantInsufficient,
            format!(
                "grant {} does not approve real orders on {venue}: request a grant with \"live_venues\": [\"{venue}\"] and have an admin approve it",
                grant.id
            ),
        ));
    }
    let Some(config) = state.config.venues.get(venue) else {
        let configured: Vec<&str> = state.config.venues.keys().map(String::as_str).collect();
        return Err(ApiError::new(
            ErrorCode::VenueUnavailable,
            format!(
                "{venue}: the service has no configuration for this venue (it has {}): an operator adds `[venues.{venue}]` to the service configuration (docs/live.md, \"Venues\"); deploy with \"mode\": \"paper\" meanwhile",
                if configured.is_empty() {
                    "none".to_string()
                } else {
                    configured.join(", ")
                }
            ),
        ));
    };
    // The venue supplies the data, the instrument's definition and the account.
    for (given, field) in [
        (s.data.is_some(), "data"),
        (s.catalog.is_some(), "catalog"),
        (s.dataset.is_some(), "dataset"),
        (s.format.is_some(), "format"),
        (s.bar_type.is_some(), "bar_type"),
        (s.balance.is_some(), "balance"),
    ] {
        if given {
            return Err(ApiError::bad_request(format!(
                "session.{field} does not apply with \"mode\": \"live\": the venue supplies the market data, the instruments and the account"
            )));
        }
    }
    let instrument = s.instrument.as_deref().ok_or_else(|| {
        ApiError::bad_request(format!(
            "session.instrument is required with \"mode\": \"live\": the venue's instrument to trade (e.g. BTCUSDT.{venue})"
        ))
    })?;
    if instrument.rsplit_once('.').map(|(_, v)| v) != Some(venue) {
        return Err(ApiError::bad_request(format!(
            "session.instrument `{instrument}` is not on {venue}: ids are SYMBOL.VENUE (e.g. BTCUSDT.{venue})"
        )));
    }
    let resolved = config
        .resolve()
        .map_err(|e| ApiError::new(ErrorCode::VenueUnavailable, format!("{venue}: {e}")))?;
    Ok((SessionKind::Live, Some((venue.to_string(), resolved))))
}

/// Creates a deployment and starts its session.
pub async fn deploy(
    state: &Arc<AppState>,
    who: &Principal,
    req: DeployRequest,
) -> Result<DeploymentView, ApiError> {
    let subject = format!("plugin {}", req.plugin);
    let result = deploy_inner(state, who, req).await;
    match result {
        Ok(view) => Ok(view),
        Err(e) => Err(refused(state, who, &subject, e).await),
    }
}

async fn deploy_inner(
    state: &Arc<AppState>,
    who: &Principal,
    req: DeployRequest,
) -> Result<DeploymentView, ApiError> {
    registry::check_digest(&req.plugin)?;
    let record = registry::get(&state.pool, &req.plugin)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no component with digest {}", req.plugin)))?;
    let grant = approved_grant(state, &req.grant, &req.plugin).await?;
    let policy = RiskPolicy::from_toml(&req.risk_policy)
        .map_err(|e| ApiError::new(ErrorCode::InvalidRiskPolicy, format!("risk_policy: {e}")))?;
    same_currency(state, &policy)?;
    let speed = req.session.speed.speed()?;
    let (kind, venue) = session_kind(state, &req.session, &grant)?;
    let venue = match venue {
        Some((name, resolved)) => {
            Some(launch::venue_target(name, resolved, req.session.instrument.as_deref()).await?)
        }
        None => None,
    };
    let id = deployments::new_id("dep")?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let venue_details = venue.as_ref().map(launch::VenueTarget::audit_details);
    let prepared = {
        let (st, req, grant, id) = (Arc::clone(state), req.clone(), grant.clone(), id.clone());
        tokio::task::spawn_blocking(move || {
            launch::prepare(
                &st,
                &launch::Plan {
                    id: &id,
                    digest: &req.plugin,
                    req: &req,
                    grant: &grant.spec,
                    kind,
                    speed,
                    policy,
                    resume: None,
                    venue: venue.as_ref(),
                    sink: deployments::sink(tx),
                },
            )
        })
        .await
        .map_err(|e| ApiError::internal(format!("deploy task: {e}")))??
    };
    // Audited before anything runs: the session's own decisions follow this record.
    state.audit(
        &who.actor(),
        AuditAction::Deployed,
        &format!("deployment {id}"),
        serde_json::json!({
            "plugin": record.name,
            "version": record.version,
            "digest": req.plugin,
            "grant": grant.id,
            "params": prepared.params.iter().map(|(k, v)| (k.clone(), backtest::param_text(v))).collect::<std::collections::BTreeMap<_, _>>(),
            "session": req.session,
            "venue": venue_details,
            "risk_policy_sha256": crate::sandbox::sha256_hex(req.risk_policy.as_bytes()),
        }),
    ).await?;
    let current = Current {
        digest: req.plugin.clone(),
        grant_id: grant.id.clone(),
        grant: grant.spec.clone(),
        status: "running".into(),
    };
    let launched = launch::start(
        state,
        &id,
        &record.name,
        &who.actor(),
        current,
        kind,
        prepared,
        None,
    )?;
    if let Err(e) = deployments::insert(&state.pool, &launched.dep, &req).await {
        // Not recorded, so not run: stop the session that was just started.
        launched.dep.send(crate::nautilus::paper::Command::Stop);
        if let Some(thread) = launched.thread {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        return Err(e.into());
    }
    let view = launched.dep.view();
    launched.run(state, rx);
    Ok(view)
}

/// Hot-swaps the running version of a deployment.
pub async fn swap(
    state: &Arc<AppState>,
    who: &Principal,
    dep: Arc<Deployment>,
    body: SwapBody,
) -> Result<SwapOutcome, ApiError> {
    registry::check_digest(&body.plugin)?;
    let subject = format!("deployment {}", dep.id);
    let current = dep.current();
    if current.status != "running" {
        return Err(ApiError::new(
            ErrorCode::NotRunning,
            format!(
                "deployment {} is {}; only a running deployment can be swapped",
                dep.id, current.status
            ),
        ));
    }
    let record = registry::get(&state.pool, &body.plugin)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no component with digest {}", body.plugin)))?;
    if record.name != dep.plugin_name {
        return Err(ApiError::new(
            ErrorCode::PluginMismatch,
            format!(
                "deployment {} runs `{}`; `{}` is a different plugin (deploy it separately)",
                dep.id, dep.plugin_name, record.name
            ),
        ));
    }
    // A grant covers one upload: the new version runs under an approved grant for its own
    // digest (the one named, else its latest approved one), never under the running one's.
    let grant = match &body.grant {
        Some(id) => approved_grant(state, id, &body.plugin).await?,
        None => grants::approved_for(&state.pool, &body.plugin)
            .await?
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::GrantRequired,
                    format!(
                        "no approved grant for component {}: every upload needs its own (POST /v1/grants with \"digest\", approved by an admin), then swap again",
                        body.plugin
                    ),
                )
            })?,
    };
    let probation = body
        .probation_events
        .unwrap_or(state.config.probation_events);
    let st = Arc::clone(state);
    let dep2 = Arc::clone(&dep);
    let spec = grant.spec.clone();
    let digest = body.plugin.clone();
    let current_grant = current.grant.clone();
    let instance = tokio::task::spawn_blocking(move || -> Result<Instance, ApiError> {
        let component = st.registry.component(&digest)?;
        let component = grants::apply(&component, &spec).map_err(|e| {
            let needed = grants::diff(Some(&current_grant), &requested_grant(&component));
            ApiError::new(ErrorCode::GrantRequired,
                format!("{e}. A swap that widens the grant needs an approved grant first: POST /v1/grants, then swap with \"grant\": <id>"),
            )
            .with_details(serde_json::json!({ "needed": needed }))
        })?;
        let params = resolve_params(&component, &dep2.params, None)?;
        let (placeholder, _) = NautilusRouter::new("swap-candidate");
        launch::instantiate(&st, &component, &params, &dep2.table, &dep2.risk, placeholder)
    })
    .await
    .map_err(|e| ApiError::internal(format!("swap task: {e}")))?;
    let instance = match instance {
        Ok(i) => i,
        Err(e) => {
            state.audit(
                &who.actor(),
                AuditAction::SwapRolledBack,
                &subject,
                serde_json::json!({ "phase": "prepare", "to_sha256": body.plugin, "error": e.error, "message": e.message }),
            ).await?;
            return Err(e);
        }
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let request = SwapRequest {
        new: instance,
        probation_events: probation,
        actor: who.actor(),
        reply: tx,
    };
    if dep.slot.post(request).is_err() {
        return Err(ApiError::new(
            ErrorCode::SwapInProgress,
            "another swap of this deployment is waiting to be applied",
        ));
    }
    let timeout = Duration::from_millis(state.config.swap_timeout_ms);
    let reply = tokio::task::spawn_blocking(move || rx.recv_timeout(timeout))
        .await
        .map_err(|e| ApiError::internal(format!("swap wait: {e}")))?;
    match reply {
        Ok(SwapReply::Swapped {
            pause,
            state_bytes,
            probation_events,
        }) => {
            if grant.id != current.grant_id {
                deployments::set_grant(&state.pool, &dep.id, &grant.id).await?;
                dep.set_current(|c| {
                    c.grant_id.clone_from(&grant.id);
                    c.grant = grant.spec.clone();
                });
            }
            Ok(SwapOutcome {
                deployment: dep.id.clone(),
                from: current.digest,
                to: body.plugin,
                pause_ns: pause.as_nanos() as u64,
                state_bytes,
                probation_events,
            })
        }
        Ok(SwapReply::Refused { reason }) => Err(ApiError::new(ErrorCode::SwapRefused, reason)),
        Err(_) => {
            // Not taken in time: withdraw it so it cannot apply later unseen.
            dep.slot.cancel();
            Err(ApiError::new(
                ErrorCode::SwapTimeout,
                "the session did not reach an event boundary in time (is its data exhausted?)",
            ))
        }
    }
}

/// The grant a component would need to run as its manifest requests.
fn requested_grant(component: &PluginComponent) -> grants::GrantSpec {
    grants::GrantSpec {
        capabilities: component.manifest().capabilities.clone(),
        limits: grants::GrantLimits::default(),
        // Real orders are never implied by a manifest: an admin grants a venue explicitly.
        live_venues: Vec::new(),
    }
}

/// Halts (or resumes) a deployment's trading through its risk gate. Audited by the
/// trading control.
pub fn set_trading(
    dep: &Deployment,
    who: &Principal,
    reason: &str,
    halt: bool,
) -> Result<serde_json::Value, ApiError> {
    let control = &dep.risk.control;
    let scope = Scope::All;
    let change = if halt {
        control.halt(&scope, reason, &who.actor(), None)
    } else {
        control.resume(&scope, reason, &who.actor(), None)
    }
    .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(serde_json::json!({
        "deployment": dep.id,
        "changed": change.is_some(),
        "trading_state": format!("{}", control.effective(&dep.plugin_name).0),
    }))
}

/// Halts a deployment and has its driver close every position (reduce-only market orders)
/// before the next event, whatever its policy's `halt.flatten` says. Audited by the
/// trading control before it takes effect; like a halt, it applies even if the audit
/// record cannot be written (the answer then says so).
pub fn flatten(
    dep: &Deployment,
    who: &Principal,
    reason: &str,
) -> Result<serde_json::Value, ApiError> {
    let control = &dep.risk.control;
    let (changed, audit_error) = match control.flatten(&Scope::All, reason, &who.actor(), None) {
        Ok(change) => (change.is_some(), None),
        Err(ControlError::NoReason) => {
            return Err(ApiError::bad_request(ControlError::NoReason.to_string()));
        }
        Err(e @ ControlError::Audit(_)) => (true, Some(e.to_string())),
    };
    Ok(serde_json::json!({
        "deployment": dep.id,
        "changed": changed,
        "flatten": true,
        "trading_state": format!("{}", control.effective(&dep.plugin_name).0),
        "audit_error": audit_error,
    }))
}

/// The deployments of a service share one host-wide book, kept in one currency: a policy
/// in another currency than the running deployments' is refused.
pub(super) fn same_currency(state: &AppState, policy: &RiskPolicy) -> Result<(), ApiError> {
    let other = state
        .deployments()
        .into_iter()
        .find(|d| d.current().status == "running" && d.risk.policy.currency != policy.currency);
    match other {
        Some(d) => Err(ApiError::new(
            ErrorCode::InvalidRiskPolicy,
            format!(
                "risk_policy.currency `{}`: the deployments of this service share one host-wide book, kept in {} (deployment {}); use currency = \"{}\" and an [fx] rate for other quote currencies",
                policy.currency, d.risk.policy.currency, d.id, d.risk.policy.currency
            ),
        )),
        None => Ok(()),
    }
}

/// `POST /v1/halt` and `/v1/resume`: what the service-wide kill switch did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ServiceTrading {
    /// The service-wide state now (`ACTIVE` or `HALTED`).
    pub trading_state: String,
    /// False when it already was in that state (nothing recorded).
    pub changed: bool,
    /// False when a halt took effect but its audit record could not be written (a halt is
    /// never refused for that; see `audit_error`).
    pub audited: bool,
    pub audit_error: Option<String>,
    /// The state each running deployment is in now.
    pub deployments: Vec<DeploymentState>,
}

/// One deployment's trading state.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeploymentState {
    pub id: String,
    pub trading_state: String,
}

/// Halts (or resumes) every deployment of the service, and those started later, through
/// the service-wide control every deployment's control is a child of. The change is
/// audited first, then applied (a halt is applied even if the audit write fails: refusing
/// to stop is worse than stopping unaudited; the answer says so), then kept in the state
/// folder's `trading-state.json` so that a restart keeps it. A resume only lifts the
/// service-wide halt: a deployment halted on its own stays halted.
pub fn set_service_trading(
    state: &AppState,
    who: &Principal,
    reason: &str,
    halt: bool,
) -> Result<ServiceTrading, ApiError> {
    use crate::capabilities::risk_gate::{
        TradingState,
        control::ControlError,
        persist::{StoredEntry, StoredStates},
    };
    let control = &state.risk.control;
    let to = if halt {
        TradingState::Halted
    } else {
        TradingState::Active
    };
    let actor = who.actor();
    let (changed, audit_error) = match control.set(&Scope::All, to, reason, &actor, None) {
        Ok(change) => (change.is_some(), None),
        Err(ControlError::NoReason) => {
            return Err(ApiError::bad_request(
                "`reason` is empty: say what happened and who asked (it is recorded in the audit trail)",
            ));
        }
        // Only a halt is applied without its record; anything else did not happen.
        Err(ControlError::Audit(e)) if halt => (true, Some(e.to_string())),
        Err(ControlError::Audit(e)) => return Err(e.into()),
    };
    if changed {
        let mut stored = StoredStates::load(&state.state_dir).unwrap_or_else(|e| {
            tracing::error!("{e}; it is rewritten with the service-wide state");
            StoredStates::default()
        });
        stored.set(
            &Scope::All,
            StoredEntry {
                state: to,
                reason: reason.trim().to_string(),
                actor,
            },
        );
        if let Err(e) = stored.save(&state.state_dir) {
            // In effect now; only a restart would forget it.
            tracing::error!("the service-wide trading state was not saved: {e}");
        }
    }
    Ok(ServiceTrading {
        trading_state: control.state_of(&Scope::All).to_string(),
        changed,
        audited: audit_error.is_none(),
        audit_error,
        deployments: deployment_states(state),
    })
}

/// The trading state each running deployment is in now.
#[must_use]
pub fn deployment_states(state: &AppState) -> Vec<DeploymentState> {
    state
        .deployments()
        .into_iter()
        .filter(|d| d.current().status == "running")
        .map(|d| DeploymentState {
            trading_state: d.risk.control.effective(&d.plugin_name).0.to_string(),
            id: d.id.clone(),
        })
        .collect()
}

/// Stops a deployment's session and waits for its outcome.
pub async fn stop(dep: &Deployment, wait: Duration) -> Result<serde_json::Value, ApiError> {
    dep.send(crate::nautilus::paper::Command::Stop);
    let mut ended = dep.ended.clone();
    let waited = tokio::time::timeout(wait, ended.wait_for(Option::is_some)).await;
    match waited {
        Ok(Ok(v)) => Ok(v.clone().unwrap_or_default()),
        _ => Err(ApiError::new(
            ErrorCode::StopTimeout,
            format!(
                "deployment {} did not stop within {} s",
                dep.id,
                wait.as_secs()
            ),
        )),
    }
}
