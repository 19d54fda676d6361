//! The service-wide kill switch (issue 22): `POST /v1/halt` and `/v1/resume` for every
//! deployment (and those started later), and `GET /v1/trading`, the state now and the
//! changes that led to it.

use std::sync::Arc;

use axum::{Extension, Json, extract::State};
use serde::Serialize;

use super::ApiResult;
use crate::service::{
    AppState,
    auth::Principal,
    error::{ApiError, ApiJson},
    ops::{self, DeploymentState, ReasonBody, ServiceTrading},
};

/// The service-wide trading state now, and the changes that led to it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct ServiceTradingNow {
    /// `ACTIVE` or `HALTED`.
    trading_state: String,
    /// Service-wide halts and resumes since the start, oldest first (who, why).
    #[schema(value_type = Vec<Object>)]
    changes: Vec<crate::capabilities::risk_gate::control::StateChange>,
    /// The state each running deployment is in now.
    deployments: Vec<DeploymentState>,
}

#[utoipa::path(get, path = "/v1/trading", responses((status = 200, body = ServiceTradingNow)), security(("token" = [])))]
pub(super) async fn service_trading(State(state): State<Arc<AppState>>) -> Json<ServiceTradingNow> {
    use crate::capabilities::risk_gate::Scope;
    let control = &state.risk.control;
    let deployments = ops::deployment_states(&state);
    Json(ServiceTradingNow {
        trading_state: control.state_of(&Scope::All).to_string(),
        changes: control
            .history()
            .into_iter()
            .filter(|c| c.scope == Scope::All)
            .collect(),
        deployments,
    })
}

#[utoipa::path(post, path = "/v1/halt", request_body = ReasonBody, responses((status = 200, body = ServiceTrading, description = "Every deployment of the service refuses new orders (HALTED); audited before it takes effect"), (status = 400, body = ApiError)), security(("token" = [])))]
pub(super) async fn halt_service(
    State(state): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    ApiJson(body): ApiJson<ReasonBody>,
) -> ApiResult<Json<ServiceTrading>> {
    // The risk control audits the change synchronously: off the async workers.
    let outcome = tokio::task::spawn_blocking(move || {
        ops::set_service_trading(&state, &p, &body.reason, true)
    })
    .await
    .map_err(|e| ApiError::internal(format!("service halt task: {e}")))??;
    Ok(Json(outcome))
}

#[utoipa::path(post, path = "/v1/resume", request_body = ReasonBody, responses((status = 200, body = ServiceTrading, description = "The service-wide halt is lifted (a deployment halted on its own stays halted)"), (status = 400, body = ApiError)), security(("token" = [])))]
pub(super) async fn resume_service(
    State(state): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    ApiJson(body): ApiJson<ReasonBody>,
) -> ApiResult<Json<ServiceTrading>> {
    // The risk control audits the change synchronously: off the async workers.
    let outcome = tokio::task::spawn_blocking(move || {
        ops::set_service_trading(&state, &p, &body.reason, false)
    })
    .await
    .map_err(|e| ApiError::internal(format!("service resume task: {e}")))??;
    Ok(Json(outcome))
}
