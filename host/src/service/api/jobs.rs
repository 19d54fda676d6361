//! Backtest and sweep jobs (decision 0036): `POST /v1/backtests`, `POST /v1/sweeps`
//! (operator, admin), their lists, views and cancels, a finished backtest's `report.json`
//! and `report.html`, a finished sweep's ranked rows. The work is in
//! [`crate::service::jobs`].

use std::sync::Arc;

use axum::{
    Extension, Json,
    extract::{Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};

use super::ApiResult;
use crate::service::{
    AppState,
    auth::Principal,
    error::{ApiError, ApiJson},
    jobs::{self, JobKind, JobRequest, JobView},
};

type Accepted = (StatusCode, Json<JobView>);

#[utoipa::path(post, path = "/v1/backtests", request_body = JobRequest,
    responses((status = 202, body = JobView, description = "Checked, stored and queued (`status: queued`); follow it with GET /v1/backtests/{id} or /v1/stream?job={id}"),
        (status = 400, body = ApiError, description = "What is wrong with the request, where, and what to do"),
        (status = 404, body = ApiError, description = "No component with that digest"),
        (status = 422, body = ApiError, description = "`invalid-params` or `invalid-data`, as for deployments"),
        (status = 429, body = ApiError, description = "`job-queue-full`: `job_queue` jobs wait already")),
    security(("token" = [])))]
pub(super) async fn post_backtest(
    State(state): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    ApiJson(body): ApiJson<JobRequest>,
) -> ApiResult<Accepted> {
    let view = jobs::submit(&state, &p, JobKind::Backtest, body).await?;
    Ok((StatusCode::ACCEPTED, Json(view)))
}

#[utoipa::path(post, path = "/v1/sweeps", request_body = JobRequest,
    responses((status = 202, body = JobView, description = "Checked, stored and queued; `progress` counts grid points"),
        (status = 400, body = ApiError, description = "What is wrong with the request (e.g. `grid.fast_period: ...`), and what to do"),
        (status = 404, body = ApiError, description = "No component with that digest"),
        (status = 422, body = ApiError, description = "`invalid-params` or `invalid-data`, as for deployments"),
        (status = 429, body = ApiError, description = "`job-queue-full`: `job_queue` jobs wait already")),
    security(("token" = [])))]
pub(super) async fn post_sweep(
    State(state): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    ApiJson(body): ApiJson<JobRequest>,
) -> ApiResult<Accepted> {
    let view = jobs::submit(&state, &p, JobKind::Sweep, body).await?;
    Ok((StatusCode::ACCEPTED, Json(view)))
}

#[utoipa::path(get, path = "/v1/backtests", responses((status = 200, body = Vec<JobView>, description = "Every backtest job, newest first")), security(("token" = [])))]
pub(super) async fn list_backtests(
    State(state): State<Arc<AppState>>,
) -> ApiResult<Json<Vec<JobView>>> {
    Ok(Json(jobs::list(&state, JobKind::Backtest).await?))
}

#[utoipa::path(get, path = "/v1/sweeps", responses((status = 200, body = Vec<JobView>, description = "Every sweep job, newest first")), security(("token" = [])))]
pub(super) async fn list_sweeps(
    State(state): State<Arc<AppState>>,
) -> ApiResult<Json<Vec<JobView>>> {
    Ok(Json(jobs::list(&state, JobKind::Sweep).await?))
}

#[utoipa::path(get, path = "/v1/backtests/{id}", params(("id" = String, Path, description = "The job's id (`bt-` and 12 hex digits)")), responses((status = 200, body = JobView), (status = 404, body = ApiError)), security(("token" = [])))]
pub(super) async fn get_backtest(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Json<JobView>> {
    Ok(Json(jobs::view(&state, JobKind::Backtest, &id).await?))
}

#[utoipa::path(get, path = "/v1/sweeps/{id}", params(("id" = String, Path, description = "The job's id (`sw-` and 12 hex digits)")), responses((status = 200, body = JobView), (status = 404, body = ApiError)), security(("token" = [])))]
pub(super) async fn get_sweep(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Json<JobView>> {
    Ok(Json(jobs::view(&state, JobKind::Sweep, &id).await?))
}

#[utoipa::path(delete, path = "/v1/backtests/{id}", params(("id" = String, Path, description = "The job's id (`bt-` and 12 hex digits)")),
    responses((status = 200, body = JobView, description = "Cancelled (audited first): a queued job at once, a running one at its next chunk boundary (the answer waits for it)"),
        (status = 404, body = ApiError), (status = 409, body = ApiError, description = "`job-ended`: nothing to cancel")),
    security(("token" = [])))]
pub(super) async fn cancel_backtest(
    State(state): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> ApiResult<Json<JobView>> {
    Ok(Json(
        jobs::cancel(&state, &p, JobKind::Backtest, &id).await?,
    ))
}

#[utoipa::path(delete, path = "/v1/sweeps/{id}", params(("id" = String, Path, description = "The job's id (`sw-` and 12 hex digits)")),
    responses((status = 200, body = JobView, description = "Cancelled (audited first): no new grid point starts, running ones stop at their next chunk boundary; the rows done so far stay in the result"),
        (status = 404, body = ApiError), (status = 409, body = ApiError, description = "`job-ended`: nothing to cancel")),
    security(("token" = [])))]
pub(super) async fn cancel_sweep(
    State(state): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> ApiResult<Json<JobView>> {
    Ok(Json(jobs::cancel(&state, &p, JobKind::Sweep, &id).await?))
}

fn stored(bytes: Vec<u8>, content_type: &'static str, download: Option<String>) -> Response {
    let mut resp = ([(header::CONTENT_TYPE, content_type)], bytes).into_response();
    if let Some(v) = download.and_then(|d| header::HeaderValue::from_str(&d).ok()) {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

#[utoipa::path(get, path = "/v1/backtests/{id}/report", params(("id" = String, Path, description = "The job's id (`bt-` and 12 hex digits)")),
    responses((status = 200, description = "The run's report.json (BacktestReport, docs/backtest.md), with `prices`", content_type = "application/json"),
        (status = 404, body = ApiError), (status = 409, body = ApiError, description = "`job-not-finished`")),
    security(("token" = [])))]
pub(super) async fn backtest_report(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let bytes = jobs::file(&state, JobKind::Backtest, &id, "report.json").await?;
    Ok(stored(bytes, "application/json", None))
}

#[utoipa::path(get, path = "/v1/backtests/{id}/report.html", params(("id" = String, Path, description = "The job's id (`bt-` and 12 hex digits)")),
    responses((status = 200, description = "The run's self-contained HTML report (a download)", content_type = "text/html"),
        (status = 404, body = ApiError), (status = 409, body = ApiError, description = "`job-not-finished`")),
    security(("token" = [])))]
pub(super) async fn backtest_report_html(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let bytes = jobs::file(&state, JobKind::Backtest, &id, "report.html").await?;
    Ok(stored(
        bytes,
        "text/html; charset=utf-8",
        Some(format!("attachment; filename=\"{id}.html\"")),
    ))
}

#[utoipa::path(get, path = "/v1/sweeps/{id}/result", params(("id" = String, Path, description = "The job's id (`sw-` and 12 hex digits)")),
    responses((status = 200, body = jobs::SweepResult, description = "The ranked rows"),
        (status = 404, body = ApiError), (status = 409, body = ApiError, description = "`job-not-finished`")),
    security(("token" = [])))]
pub(super) async fn sweep_result(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let bytes = jobs::file(&state, JobKind::Sweep, &id, "result.json").await?;
    Ok(stored(bytes, "application/json", None))
}
