//! `GET`/`PUT /v1/translations`: definitions and their translation status
//! ([`crate::service::translations`]).

use std::sync::Arc;

use axum::{Extension, Json, extract::State};

use super::{ApiResult, AppState};
use crate::service::{
    auth::Principal,
    error::{ApiError, ApiJson},
    translations::{self, TranslationReport, TranslationView},
};

#[utoipa::path(get, path = "/v1/translations", responses((status = 200, body = Vec<TranslationView>, description = "Each definition's newest translation outcome, most recently updated first")), security(("token" = [])))]
pub(super) async fn list_translations(
    State(state): State<Arc<AppState>>,
) -> ApiResult<Json<Vec<TranslationView>>> {
    Ok(Json(translations::list(&state.pool).await?))
}

#[utoipa::path(put, path = "/v1/translations", request_body = TranslationReport, responses((status = 200, body = TranslationView, description = "Stored as the newest outcome of its origin"), (status = 400, body = ApiError)), security(("token" = [])))]
pub(super) async fn put_translation(
    State(state): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    ApiJson(report): ApiJson<TranslationReport>,
) -> ApiResult<Json<TranslationView>> {
    report.check()?;
    let now = i64::try_from(crate::time::wall_clock_ns()).unwrap_or(i64::MAX);
    Ok(Json(
        translations::upsert(&state.pool, &report, &p.actor(), now).await?,
    ))
}
