//! The HTTP API: routes, handlers (parse, call [`super::ops`], answer) and the OpenAPI
//! document. Authorization is one middleware ([`super::auth::authorize`]) over the whole
//! router; every error is JSON ([`super::error`]).

use std::{sync::Arc, time::Duration};

use axum::{
    Extension, Json, Router,
    extract::{
        DefaultBodyLimit, Path, State,
        ws::{Message, WebSocket, WebSocketUpgrade},
    },
    http::StatusCode,
    middleware,
    response::{IntoResponse, Response},
    routing::{get, post, put},
};
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;

use super::{
    AppState,
    auth::{self, Principal, Role},
    deployments::{DeployRequest, DeploymentView, StreamEvent},
    error::{ApiBytes, ApiError, ApiJson, ApiQuery, ErrorCode},
    grants::{self, GrantRecord, GrantRequestBody, GrantSpec},
    openapi_doc::{BinaryUpload, CommonErrors, ErrorCodes, Security},
    ops::{self, DeploymentState, ReasonBody, ServiceTrading, SwapBody, SwapOutcome},
    registry::{self, PluginRecord},
};
use crate::audit::AuditAction;

type ApiResult<T> = Result<T, ApiError>;

mod jobs;
mod risk;
mod session;
mod signals;
mod tokens;
mod trading;
mod translations;

/// The whole API.
pub fn router(state: Arc<AppState>) -> Router {
    let upload_limit = state.config.max_upload_bytes;
    let json_limit = state.config.max_json_bytes;
    let uploads = Router::new()
        .route("/v1/plugins", post(upload_plugin).get(list_plugins))
        .layer(DefaultBodyLimit::max(upload_limit));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .route("/", get(super::console::index))
        .route("/assets/{*path}", get(super::console::asset))
        .route("/v1/whoami", get(whoami))
        .route(
            "/v1/session",
            post(session::sign_in)
                .get(session::current)
                .delete(session::sign_out),
        )
        .route("/v1/trading", get(trading::service_trading))
        .route("/v1/plugins/{digest}", get(get_plugin))
        .route("/v1/grants", post(request_grant).get(list_grants))
        .route("/v1/grants/{id}", get(get_grant))
        .route("/v1/grants/{id}/approve", post(approve_grant))
        .route("/v1/grants/{id}/reject", post(reject_grant))
        .route("/v1/deployments", post(deploy).get(list_deployments))
        .route(
            "/v1/deployments/{id}",
            get(get_deployment).delete(stop_deployment),
        )
        .route("/v1/deployments/{id}/plugin", put(swap_plugin))
        .route("/v1/deployments/{id}/halt", post(halt))
        .route("/v1/deployments/{id}/resume", post(resume))
        .route("/v1/deployments/{id}/flatten", post(flatten))
        .route("/v1/deployments/{id}/events", get(deployment_events))
        .route("/v1/deployments/{id}/risk", get(risk::deployment_risk))
        .route("/v1/deployments/{id}/replay", post(replay_deployment))
        .route("/v1/stream", get(stream))
        .route(
            "/v1/signals",
            post(signals::post_signals).get(signals::list_signals),
        )
        .route("/v1/signals/dead-letters", get(signals::list_dead_letters))
        .route("/v1/signals/breakers", get(signals::list_breakers))
        .route(
            "/v1/translations",
            get(translations::list_translations).put(translations::put_translation),
        )
        .route("/v1/audit", get(audit_list))
        .route("/v1/audit/verify", get(audit_verify))
        .route("/v1/tokens", post(tokens::create_token))
        .route("/v1/tokens/{name}/revoke", post(tokens::revoke_token))
        .route(
            "/v1/backtests",
            post(jobs::post_backtest).get(jobs::list_backtests),
        )
        .route(
            "/v1/backtests/{id}",
            get(jobs::get_backtest).delete(jobs::cancel_backtest),
        )
        .route("/v1/backtests/{id}/report", get(jobs::backtest_report))
        .route(
            "/v1/backtests/{id}/report.html",
            get(jobs::backtest_report_html),
        )
        .route("/v1/sweeps", post(jobs::post_sweep).get(jobs::list_sweeps))
        .route(
            "/v1/sweeps/{id}",
            get(jobs::get_sweep).delete(jobs::cancel_sweep),
        )
        .route("/v1/sweeps/{id}/result", get(jobs::sweep_result))
        .route("/v1/halt", post(trading::halt_service))
        .route("/v1/resume", post(trading::resume_service))
        .layer(DefaultBodyLimit::max(json_limit))
        .merge(uploads)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            auth::authorize,
        ))
        .layer(middleware::from_fn_with_state(Arc::clone(&state), intake))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            super::body::guard,
        ))
        .layer(middleware::from_fn(correlation))
        .layer(middleware::from_fn(super::console::security_headers))
        .with_state(state)
}

/// Every request gets a correlation id (`x-request-id`, taken from the client or made
/// here), carried by its tracing span and returned in the response.
async fn correlation(mut req: axum::extract::Request, next: middleware::Next) -> Response {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .map(str::to_string)
        .or_else(|| super::deployments::new_id("req").ok())
        .unwrap_or_default();
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path());
    let method = super::metrics::method_label(req.method());
    let started = std::time::Instant::now();
    let header = axum::http::HeaderValue::from_str(&id).ok();
    if let Some(v) = &header {
        req.headers_mut().insert("x-request-id", v.clone());
    }
    let mut resp = tracing::Instrument::instrument(next.run(req), span).await;
    if let Some(v) = header {
        resp.headers_mut().insert("x-request-id", v);
    }
    let labels = [
        ("method", method.to_string()),
        ("status", resp.status().as_u16().to_string()),
    ];
    metrics::counter!("stratbox_http_requests_total", &labels).increment(1);
    metrics::histogram!("stratbox_http_request_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    resp
}

/// While shutting down, only health and reads of the trail answer; changes get 503.
async fn intake(
    State(state): State<Arc<AppState>>,
    req: axum::extract::Request,
    next: middleware::Next,
) -> Response {
    if !state.accepting.load(std::sync::atomic::Ordering::SeqCst)
        && req.method() != axum::http::Method::GET
    {
        return ApiError::new(
            ErrorCode::ShuttingDown,
            "the service is shutting down; retry against the next instance",
        )
        .into_response();
    }
    next.run(req).await
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint (see /openapi.json)")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "this endpoint does not take that method (see /openapi.json)",
    )
}

#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "The process serves requests")))]
async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

#[utoipa::path(get, path = "/readyz", responses((status = 200, description = "Database reachable and accepting work"), (status = 503, body = ApiError)))]
async fn readyz(State(state): State<Arc<AppState>>) -> ApiResult<Json<serde_json::Value>> {
    if !state.accepting.load(std::sync::atomic::Ordering::SeqCst) {
        return Err(ApiError::new(ErrorCode::ShuttingDown, "shutting down"));
    }
    sqlx::query("SELECT 1")
        .execute(&state.pool)
        .await
        .map_err(|e| {
            // The error text (host names, driver details) goes to the log, not to a public
            // endpoint: the answer only names the dependency.
            tracing::error!("readiness: the database does not answer: {e}");
            ApiError::new(
                ErrorCode::DatabaseUnavailable,
                "not ready: the database does not answer (the cause is in the service log)",
            )
            .with_details(serde_json::json!({ "failed": "database" }))
        })?;
    Ok(Json(serde_json::json!({ "status": "ready" })))
}

#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
async fn metrics() -> Response {
    let body = super::metrics::handle()
        .map(|h| h.render())
        .unwrap_or_default();
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        body,
    )
        .into_response()
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

#[utoipa::path(get, path = "/v1/whoami", responses((status = 200, body = Principal), (status = 401, body = ApiError)), security(("token" = [])))]
async fn whoami(Extension(p): Extension<Principal>) -> Json<Principal> {
    Json(p)
}

#[utoipa::path(post, path = "/v1/plugins", request_body(content = Vec<u8>, content_type = "application/wasm", description = "The component's bytes (see `BinaryUpload`)"),
    responses((status = 201, body = PluginRecord), (status = 200, body = PluginRecord, description = "Already stored"), (status = 409, body = ApiError), (status = 413, body = ApiError), (status = 422, body = ApiError, description = "Refused by the inspect rules")),
    security(("token" = [])))]
async fn upload_plugin(
    State(state): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    ApiBytes(bytes): ApiBytes,
) -> ApiResult<(StatusCode, Json<PluginRecord>)> {
    if bytes.is_empty() {
        return Err(ApiError::bad_request(
            "the body is empty; send the component's bytes (Content-Type: application/wasm)",
        ));
    }
    let st = Arc::clone(&state);
    let body = bytes.clone();
    let checked = tokio::task::spawn_blocking(move || st.registry.check(&body))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let component = match checked {
        Ok(c) => c,
        Err(e) => {
            state
                .audit(
                    &p.actor(),
                    AuditAction::PluginRefused,
                    &format!("upload {}", crate::sandbox::sha256_hex(&bytes)),
                    serde_json::json!({ "message": e.message }),
                )
                .await?;
            return Err(e);
        }
    };
    let digest = component.sha256().to_string();
    if let Some(existing) = registry::get(&state.pool, &digest).await? {
        return Ok((StatusCode::OK, Json(existing)));
    }
    let m = component.manifest();
    if let Some(other) = registry::by_name_version(&state.pool, &m.name, &m.version).await? {
        return Err(ApiError::new(
            ErrorCode::VersionExists,
            format!(
                "{} {} is already registered with digest {}; registry entries are immutable: bump the version",
                m.name, m.version, other.digest
            ),
        ));
    }
    state.registry.store_blob(&digest, &bytes)?;
    let record = PluginRecord {
        digest: digest.clone(),
        name: m.name.clone(),
        version: m.version.clone(),
        size: bytes.len() as i64,
        inspection: serde_json::to_value(component.inspection()).unwrap_or_default(),
        uploaded_by: p.actor(),
        uploaded_ns: crate::time::wall_clock_ns() as i64,
    };
    // The registry row and its audit record commit together or not at all.
    let mut tx = state.begin().await?;
    registry::insert(&mut *tx, &record).await?;
    state
        .audit_in(
            &mut tx,
            &p.actor(),
            AuditAction::PluginUploaded,
            &format!("{}@{digest}", m.name),
            serde_json::json!({ "name": m.name, "version": m.version, "size": bytes.len(), "requests": m.capabilities, "imports": component.inspection().imports }),
        )
        .await?;
    super::audit_tx::commit(tx, "an upload").await?;
    Ok((StatusCode::CREATED, Json(record)))
}

#[utoipa::path(get, path = "/v1/plugins", responses((status = 200, body = Vec<PluginRecord>)), security(("token" = [])))]
async fn list_plugins(State(state): State<Arc<AppState>>) -> ApiResult<Json<Vec<PluginRecord>>> {
    Ok(Json(registry::list(&state.pool).await?))
}

#[utoipa::path(get, path = "/v1/plugins/{digest}", params(("digest" = String, Path, description = "sha256 of the component: 64 lowercase hex digits", pattern = "^[0-9a-f]{64}$")), responses((status = 200, body = PluginRecord), (status = 404, body = ApiError)), security(("token" = [])))]
async fn get_plugin(
    State(state): State<Arc<AppState>>,
    Path(digest): Path<String>,
) -> ApiResult<Json<PluginRecord>> {
    registry::check_digest(&digest)?;
    registry::get(&state.pool, &digest)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no component with digest {digest}")))
}

#[utoipa::path(post, path = "/v1/grants", request_body = GrantRequestBody, responses((status = 201, body = GrantRecord), (status = 400, body = ApiError), (status = 404, body = ApiError)), security(("token" = [])))]
async fn request_grant(
    State(state): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    ApiJson(body): ApiJson<GrantRequestBody>,
) -> ApiResult<(StatusCode, Json<GrantRecord>)> {
    let record = grants::request(&state, &p, body).await?;
    Ok((StatusCode::CREATED, Json(record)))
}

#[utoipa::path(get, path = "/v1/grants", responses((status = 200, body = Vec<GrantRecord>)), security(("token" = [])))]
async fn list_grants(State(state): State<Arc<AppState>>) -> ApiResult<Json<Vec<GrantRecord>>> {
    Ok(Json(grants::list(&state.pool).await?))
}

#[utoipa::path(get, path = "/v1/grants/{id}", params(("id" = String, Path, description = "The grant's id (`grant-` and 12 hex digits)")), responses((status = 200, body = GrantRecord), (status = 404, body = ApiError)), security(("token" = [])))]
async fn get_grant(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Json<GrantRecord>> {
    grants::get(&state.pool, &id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no grant `{id}`")))
}

/// A reviewer's decision.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct DecisionBody {
    #[serde(default)]
    note: String,
}

async fn decide(
    state: &AppState,
    p: &Principal,
    id: &str,
    note: &str,
    approve: bool,
) -> ApiResult<Json<GrantRecord>> {
    let g = grants::get(&state.pool, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no grant `{id}`")))?;
    let status = if approve { "approved" } else { "rejected" };
    let mut tx = state.begin().await?;
    if !grants::decide(&mut *tx, id, status, &p.actor(), note).await? {
        return Err(ApiError::new(
            ErrorCode::AlreadyDecided,
            format!("grant {id} is already {}", g.status),
        ));
    }
    let action = if approve {
        AuditAction::GrantApproved
    } else {
        AuditAction::GrantRejected
    };
    state
        .audit_in(
            &mut tx,
            &p.actor(),
            action,
            &format!("grant {id}"),
            serde_json::json!({ "plugin": g.plugin, "digest": g.digest, "grant": g.spec, "diff": g.diff, "requested_by": g.requested_by, "note": note }),
        )
        .await?;
    super::audit_tx::commit(tx, "a grant decision").await?;
    grants::get(&state.pool, id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::internal("the grant vanished"))
}

#[utoipa::path(post, path = "/v1/grants/{id}/approve", params(("id" = String, Path, description = "The grant's id (`grant-` and 12 hex digits)")), request_body = DecisionBody, responses((status = 200, body = GrantRecord), (status = 409, body = ApiError)), security(("token" = [])))]
async fn approve_grant(
    State(state): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DecisionBody>,
) -> ApiResult<Json<GrantRecord>> {
    decide(&state, &p, &id, &body.note, true).await
}

#[utoipa::path(post, path = "/v1/grants/{id}/reject", params(("id" = String, Path, description = "The grant's id (`grant-` and 12 hex digits)")), request_body = DecisionBody, responses((status = 200, body = GrantRecord), (status = 409, body = ApiError)), security(("token" = [])))]
async fn reject_grant(
    State(state): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DecisionBody>,
) -> ApiResult<Json<GrantRecord>> {
    decide(&state, &p, &id, &body.note, false).await
}

#[utoipa::path(post, path = "/v1/deployments", request_body = DeployRequest, responses((status = 201, body = DeploymentView), (status = 403, body = ApiError, description = "Real orders (`session.mode = \"live\"`) while the service's `live_venues` setting is off"), (status = 404, body = ApiError, description = "No such component or grant"), (status = 409, body = ApiError), (status = 422, body = ApiError)), security(("token" = [])))]
async fn deploy(
    State(state): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    ApiJson(body): ApiJson<DeployRequest>,
) -> ApiResult<(StatusCode, Json<DeploymentView>)> {
    let view = ops::deploy(&state, &p, body).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(get, path = "/v1/deployments", responses((status = 200, body = Vec<DeploymentView>)), security(("token" = [])))]
async fn list_deployments(
    State(state): State<Arc<AppState>>,
) -> ApiResult<Json<Vec<DeploymentView>>> {
    let live = state.deployments();
    let mut out: Vec<DeploymentView> = live.iter().map(|d| d.view()).collect();
    for stored in super::deployments::stored(&state.pool).await? {
        if !out.iter().any(|d| d.id == stored.id) {
            out.push(stored);
        }
    }
    Ok(Json(out))
}

fn deployment(state: &AppState, id: &str) -> ApiResult<Arc<super::deployments::Deployment>> {
    state
        .deployment(id)
        .ok_or_else(|| ApiError::not_found(format!("no running deployment `{id}` in this service")))
}

#[utoipa::path(get, path = "/v1/deployments/{id}", params(("id" = String, Path, description = "The deployment's id (`dep-` and 12 hex digits)")), responses((status = 200, body = DeploymentView), (status = 404, body = ApiError)), security(("token" = [])))]
async fn get_deployment(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Json<DeploymentView>> {
    Ok(Json(deployment(&state, &id)?.view()))
}

#[utoipa::path(delete, path = "/v1/deployments/{id}", params(("id" = String, Path, description = "The deployment's id (`dep-` and 12 hex digits)")), responses((status = 200, description = "How the session ended"), (status = 404, body = ApiError)), security(("token" = [])))]
async fn stop_deployment(
    State(state): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let dep = deployment(&state, &id)?;
    tracing::info!(deployment = %id, by = %p.actor(), "stop requested");
    Ok(Json(ops::stop(&dep, Duration::from_secs(60)).await?))
}

#[utoipa::path(put, path = "/v1/deployments/{id}/plugin", params(("id" = String, Path, description = "The deployment's id (`dep-` and 12 hex digits)")), request_body = SwapBody, responses((status = 200, body = SwapOutcome), (status = 409, body = ApiError), (status = 422, body = ApiError)), security(("token" = [])))]
async fn swap_plugin(
    State(state): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SwapBody>,
) -> ApiResult<Json<SwapOutcome>> {
    let dep = deployment(&state, &id)?;
    Ok(Json(ops::swap(&state, &p, dep, body).await?))
}

#[utoipa::path(post, path = "/v1/deployments/{id}/halt", params(("id" = String, Path, description = "The deployment's id (`dep-` and 12 hex digits)")), request_body = ReasonBody, responses((status = 200), (status = 404, body = ApiError)), security(("token" = [])))]
async fn halt(
    State(state): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReasonBody>,
) -> ApiResult<Json<serde_json::Value>> {
    trading_change(&state, &id, "halt", move |dep| {
        ops::set_trading(dep, &p, &body.reason, true)
    })
    .await
}

#[utoipa::path(post, path = "/v1/deployments/{id}/resume", params(("id" = String, Path, description = "The deployment's id (`dep-` and 12 hex digits)")), request_body = ReasonBody, responses((status = 200), (status = 404, body = ApiError)), security(("token" = [])))]
async fn resume(
    State(state): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReasonBody>,
) -> ApiResult<Json<serde_json::Value>> {
    trading_change(&state, &id, "resume", move |dep| {
        ops::set_trading(dep, &p, &body.reason, false)
    })
    .await
}

#[utoipa::path(post, path = "/v1/deployments/{id}/flatten", params(("id" = String, Path, description = "The deployment's id (`dep-` and 12 hex digits)")), request_body = ReasonBody, responses((status = 200, description = "Halted; its open orders are cancelled and every position closed with reduce-only market orders before the next event"), (status = 404, body = ApiError)), security(("token" = [])))]
async fn flatten(
    State(state): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReasonBody>,
) -> ApiResult<Json<serde_json::Value>> {
    trading_change(&state, &id, "flatten", move |dep| {
        ops::flatten(dep, &p, &body.reason)
    })
    .await
}

/// Runs `change` on deployment `id` off the async workers: the risk control audits it
/// synchronously.
async fn trading_change(
    state: &AppState,
    id: &str,
    what: &'static str,
    change: impl FnOnce(&super::deployments::Deployment) -> ApiResult<serde_json::Value>
    + Send
    + 'static,
) -> ApiResult<Json<serde_json::Value>> {
    let dep = deployment(state, id)?;
    let outcome = tokio::task::spawn_blocking(move || change(&dep))
        .await
        .map_err(|e| ApiError::internal(format!("{what} task: {e}")))??;
    Ok(Json(outcome))
}

/// Paging of logs.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
struct Page {
    /// Only entries after this sequence number.
    #[param(minimum = 0)]
    after: Option<u64>,
    /// At most this many (default 1000, at most 10000).
    #[param(minimum = 0, maximum = 10_000)]
    limit: Option<usize>,
}

impl Page {
    /// The documented bounds, enforced: `limit` above 10000 is refused, not clamped.
    fn checked(&self) -> ApiResult<(u64, usize)> {
        let limit = self.limit.unwrap_or(1000);
        if limit > 10_000 {
            return Err(ApiError::bad_request(format!(
                "limit={limit}: at most 10000 entries per page; page on with `after`"
            )));
        }
        Ok((self.after.unwrap_or(0), limit))
    }
}

#[utoipa::path(get, path = "/v1/deployments/{id}/events", params(("id" = String, Path, description = "The deployment's id (`dep-` and 12 hex digits)"), Page), responses((status = 200, body = Vec<StreamEvent>)), security(("token" = [])))]
async fn deployment_events(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    ApiQuery(page): ApiQuery<Page>,
) -> ApiResult<Json<Vec<StreamEvent>>> {
    let (after, limit) = page.checked()?;
    let dep = deployment(&state, &id)?;
    Ok(Json(dep.events_after(after, limit)))
}

#[utoipa::path(post, path = "/v1/deployments/{id}/replay", params(("id" = String, Path, description = "The deployment's id (`dep-` and 12 hex digits)")), responses((status = 200, body = crate::nautilus::live::recording::Verdict, description = "The replay ran; `matched` says whether every decision matched the live session"), (status = 404, body = ApiError, description = "No recording of this deployment (live deployments write one when they end)"), (status = 422, body = ApiError, description = "The recording cannot be replayed (hot-swapped, damaged)")), security(("token" = [])))]
async fn replay_deployment(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Json<crate::nautilus::live::recording::Verdict>> {
    super::deployments::check_id(&id)?;
    let folder = state.config.state_dir.join("recordings").join(&id);
    if !state.state_dir.is_dir(format!("recordings/{id}")) {
        return Err(ApiError::not_found(format!(
            "no recording of deployment {id}: live deployments (session.kind = \"live\") write one when they end"
        )));
    }
    let verdict =
        tokio::task::spawn_blocking(move || crate::nautilus::live::recording::replay(&folder))
            .await
            .map_err(|e| ApiError::internal(format!("replay task: {e}")))?
            .map_err(|e| ApiError::new(ErrorCode::InvalidData, e))?;
    Ok(Json(verdict))
}

#[utoipa::path(get, path = "/v1/stream", params(StreamFilter), responses((status = 101, description = "WebSocket of StreamEvent JSON messages (fills, progress (PnL), faults, swaps, rollbacks, ends) and JobMessage JSON messages (job-progress, job-ended)")), security(("token" = [])))]
async fn stream(
    State(state): State<Arc<AppState>>,
    ApiQuery(filter): ApiQuery<StreamFilter>,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let ws = match ws {
        Ok(ws) => ws,
        Err(r) => {
            return ApiError::bad_request(format!(
                "{}: /v1/stream is a WebSocket; connect with a WebSocket client (ws://.../v1/stream)",
                r.body_text()
            ))
            .into_response();
        }
    };
    let rx = state.stream.subscribe();
    let jobs = state.jobs.stream.subscribe();
    ws.on_upgrade(move |socket| forward(socket, rx, jobs, filter))
}

/// `/v1/stream?deployment=<id>`: only that deployment's events; `?job=<id>`: only that
/// job's messages. Each filter applies to its own kind of message.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
struct StreamFilter {
    deployment: Option<String>,
    job: Option<String>,
}

/// The text of a received broadcast message (`None`: filtered out), a `lagged` notice, or
/// `Err` when the channel closed.
fn text_of<T: Serialize>(
    received: Result<T, tokio::sync::broadcast::error::RecvError>,
    keep: impl FnOnce(&T) -> bool,
) -> Result<Option<String>, ()> {
    use tokio::sync::broadcast::error::RecvError;
    match received {
        Ok(m) if !keep(&m) => Ok(None),
        Ok(m) => Ok(Some(serde_json::to_string(&m).unwrap_or_default())),
        Err(RecvError::Lagged(n)) => Ok(Some(
            serde_json::json!({ "kind": "lagged", "missed": n }).to_string(),
        )),
        Err(RecvError::Closed) => Err(()),
    }
}

async fn forward(
    mut socket: WebSocket,
    mut rx: tokio::sync::broadcast::Receiver<StreamEvent>,
    mut jobs: tokio::sync::broadcast::Receiver<super::jobs::JobMessage>,
    filter: StreamFilter,
) {
    loop {
        let text = tokio::select! {
            event = rx.recv() => text_of(event, |e| filter.deployment.as_ref().is_none_or(|d| *d == e.deployment)),
            message = jobs.recv() => text_of(message, |m| filter.job.as_ref().is_none_or(|j| *j == m.job)),
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => Ok(None),
            },
        };
        match text {
            Err(()) => return,
            Ok(None) => {}
            Ok(Some(text)) => {
                if socket.send(Message::Text(text.into())).await.is_err() {
                    return;
                }
            }
        }
    }
}

#[utoipa::path(get, path = "/v1/audit", params(Page), responses((status = 200, description = "Audit records in sequence order")), security(("token" = [])))]
async fn audit_list(
    State(state): State<Arc<AppState>>,
    ApiQuery(page): ApiQuery<Page>,
) -> ApiResult<Json<Vec<crate::audit::AuditRecord>>> {
    let (_, limit) = page.checked()?;
    let after = page.after;
    let records = super::audit_store::records(&state.pool).await?;
    Ok(Json(
        records
            .into_iter()
            .filter(|r| after.is_none_or(|a| r.seq > a))
            .take(limit)
            .collect(),
    ))
}

#[utoipa::path(get, path = "/v1/audit/verify", responses((status = 200, description = "The whole chain verifies"), (status = 409, body = ApiError, description = "Where the chain breaks")), security(("token" = [])))]
async fn audit_verify(State(state): State<Arc<AppState>>) -> ApiResult<Json<serde_json::Value>> {
    let (records, checkpoints) = super::audit_store::trail(&state.pool).await?;
    let verified = crate::audit::verify_trail(
        &records,
        &checkpoints,
        state.audit_signer.public_key(),
        None,
    )
    .map_err(|e| ApiError::new(ErrorCode::AuditChainBroken, e.to_string()))?;
    Ok(Json(serde_json::json!({
        "ok": true,
        "records": verified.records,
        "last_hash": records.last().map(|r| r.hash.clone()),
        "head": verified.head.map(|h| h.to_string()),
        "newest_checkpoint": verified.newest_checkpoint,
        "public_key": state.audit_signer.public_key(),
    })))
}

#[derive(OpenApi)]
#[openapi(
    info(title = "stratbox host API", description = "Registry, grants, deployments, hot-swap, audit. Every error is JSON: {error, message, details}."),
    paths(healthz, readyz, metrics, whoami, upload_plugin, list_plugins, get_plugin, request_grant, list_grants, get_grant,
        approve_grant, reject_grant, deploy, list_deployments, get_deployment, stop_deployment, swap_plugin, halt, resume,
        deployment_events, replay_deployment, stream, signals::post_signals, signals::list_signals, signals::list_dead_letters, signals::list_breakers,
        translations::list_translations, translations::put_translation, flatten, audit_list, audit_verify, tokens::create_token, tokens::revoke_token,
        trading::halt_service, trading::resume_service, trading::service_trading, risk::deployment_risk, session::sign_in, session::current, session::sign_out,
        jobs::post_backtest, jobs::list_backtests, jobs::get_backtest, jobs::cancel_backtest,
        jobs::backtest_report, jobs::backtest_report_html, jobs::post_sweep, jobs::list_sweeps, jobs::get_sweep, jobs::cancel_sweep,
        jobs::sweep_result),
    components(schemas(ApiError, ErrorCode, Principal, Role, PluginRecord, GrantRecord, GrantSpec, GrantRequestBody, DecisionBody,
        DeployRequest, DeploymentView, SwapBody, SwapOutcome, ReasonBody, StreamEvent, signals::SignalsOutcome, super::signals::IntakeRecord, super::signals::Skipped, super::signals::DeadLetter, super::signals::ConsumerView,
        super::translations::TranslationView, super::translations::TranslationReport, super::translations::TranslationStatus, tokens::TokenBody, tokens::TokenIssued,
        ServiceTrading, DeploymentState, trading::ServiceTradingNow, risk::RiskView, risk::Figures, session::SignIn, super::session::SessionView,
        super::jobs::JobRequest, super::jobs::JobView, super::jobs::JobKind, super::jobs::JobStatus,
        super::jobs::JobProgress, super::jobs::JobMessage, super::jobs::SweepResult, super::jobs::SweepRow)),
    modifiers(&Security, &ErrorCodes, &CommonErrors, &BinaryUpload)
)]
struct ApiDoc;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::Named;

    #[test]
    fn the_openapi_document_lists_every_error_code() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let schema = &doc["components"]["schemas"]["ErrorCode"];
        let listed: Vec<&str> = schema["enum"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        let all: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.name()).collect();
        assert_eq!(listed, all);
        let description = schema["description"].as_str().unwrap();
        assert!(
            description.contains("- `grant-required` (409): "),
            "{description}"
        );
        assert_eq!(
            doc["components"]["schemas"]["ApiError"]["properties"]["error"]["$ref"],
            "#/components/schemas/ErrorCode"
        );
    }
}
