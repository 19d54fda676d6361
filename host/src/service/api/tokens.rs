//! `POST /v1/tokens` and `POST /v1/tokens/{name}/revoke` (admin): a token and its audit
//! record commit in one transaction; the token is shown once and stored only as its hash.

use std::sync::Arc;

use axum::{
    Extension, Json,
    extract::{Path, State},
    http::StatusCode,
};
use serde::{Deserialize, Serialize};

use super::ApiResult;
use crate::{
    audit::AuditAction,
    service::{
        AppState, audit_tx,
        auth::{self, Principal, Role},
        error::{ApiError, ApiJson},
    },
};

/// `POST /v1/tokens`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct TokenBody {
    /// 1 to 100 characters, not only blanks.
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    name: String,
    role: Role,
}

/// A new token: shown once, stored only as its hash.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct TokenIssued {
    name: String,
    role: Role,
    token: String,
}

#[utoipa::path(post, path = "/v1/tokens", request_body = TokenBody, responses((status = 201, body = TokenIssued)), security(("token" = [])))]
pub(super) async fn create_token(
    State(state): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    ApiJson(body): ApiJson<TokenBody>,
) -> ApiResult<(StatusCode, Json<TokenIssued>)> {
    if body.name.trim().is_empty() || body.name.chars().count() > 100 {
        return Err(ApiError::bad_request("`name` must be 1 to 100 characters"));
    }
    let token = auth::new_token()?;
    let mut tx = state.begin().await?;
    auth::store_token(&mut *tx, &token, &body.name, body.role, &p.actor()).await?;
    state
        .audit_in(
            &mut tx,
            &p.actor(),
            AuditAction::TokenChanged,
            &format!("token {}", body.name),
            serde_json::json!({ "issued": body.name, "role": body.role.name() }),
        )
        .await?;
    audit_tx::commit(tx, "a new token").await?;
    Ok((
        StatusCode::CREATED,
        Json(TokenIssued {
            name: body.name,
            role: body.role,
            token,
        }),
    ))
}

#[utoipa::path(post, path = "/v1/tokens/{name}/revoke", params(("name" = String, Path, description = "The token's name")), responses((status = 200, description = "How many tokens were revoked"), (status = 404, body = ApiError)), security(("token" = [])))]
pub(super) async fn revoke_token(
    State(state): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    Path(name): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let mut tx = state.begin().await?;
    let n = auth::revoke(&mut *tx, &name).await?;
    if n == 0 {
        return Err(ApiError::not_found(format!("no live token named `{name}`")));
    }
    state
        .audit_in(
            &mut tx,
            &p.actor(),
            AuditAction::TokenChanged,
            &format!("token {name}"),
            serde_json::json!({ "revoked": name, "count": n }),
        )
        .await?;
    audit_tx::commit(tx, "a token revocation").await?;
    Ok(Json(serde_json::json!({ "revoked": name, "count": n })))
}
