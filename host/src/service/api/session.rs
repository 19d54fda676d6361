//! `/v1/session`: the console's sign-in (a token exchanged for a session cookie), what the
//! console reads back after a reload, and sign-out. Logic in [`crate::service::session`].

use std::{net::SocketAddr, sync::Arc};

use axum::{
    Extension, Json,
    extract::{ConnectInfo, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use super::ApiResult;
use crate::{
    audit::AuditAction,
    service::{
        AppState,
        auth::{self, Principal},
        auth_failures::Verdict,
        error::{ApiError, ApiJson, ErrorCode},
        session::{self, ConsoleSession, SessionView},
    },
};

/// A sign-in.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SignIn {
    /// An API token (`sbx_…`), as `stratbox tokens create` or POST /v1/tokens issued it.
    token: String,
}

#[utoipa::path(post, path = "/v1/session", request_body = SignIn,
    responses((status = 200, body = SessionView, description = "Signed in: the `stratbox_session` cookie (HttpOnly, SameSite=Strict) is set; echo `csrf` in `X-CSRF-Token` on every change"),
        (status = 401, body = ApiError), (status = 429, body = ApiError)))]
pub(super) async fn sign_in(
    State(state): State<Arc<AppState>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    ApiJson(body): ApiJson<SignIn>,
) -> ApiResult<Response> {
    let token = body.token.trim();
    let principal = if token.is_empty() {
        None
    } else {
        auth::lookup(&state.pool, token).await?
    };
    let Some(principal) = principal else {
        // Counted and audited like every other authentication failure.
        let verdict = state.auth_failures.record(
            peer.map(|Extension(c)| c.0.ip()),
            "anonymous",
            "POST /v1/session",
            "unauthorized",
        );
        return Err(match verdict {
            Verdict::Refuse => ApiError::new(
                ErrorCode::Unauthorized,
                "that token is not known or was revoked: ask an admin for one (`stratbox tokens create`)",
            ),
            Verdict::Limited(wait) => ApiError::new(
                ErrorCode::RateLimited,
                format!(
                    "too many failed sign-ins from your address; retry in {} s",
                    wait.as_secs().max(1)
                ),
            ),
        });
    };
    let lifetime = state.config.console_session_s;
    // The session and its audit record commit together.
    let mut tx = state.begin().await?;
    let (id, view) = session::open(&mut *tx, token, &principal, lifetime).await?;
    state
        .audit_in(
            &mut tx,
            &principal.actor(),
            AuditAction::ConsoleSession,
            &format!("console session of {}", principal.name),
            serde_json::json!({ "event": "signed-in", "role": principal.role.name(), "expires_ns": view.expires_ns }),
        )
        .await?;
    crate::service::audit_tx::commit(tx, "a sign-in").await?;
    let mut resp = Json(view).into_response();
    if let Some(v) = session::set_cookie(&id, lifetime, state.config.secure_cookies) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

fn console_session(s: Option<Extension<ConsoleSession>>) -> ApiResult<ConsoleSession> {
    s.map(|Extension(s)| s).ok_or_else(|| {
        ApiError::not_found(
            "no console session: this request was authenticated with a bearer token (sign in with POST /v1/session)",
        )
    })
}

#[utoipa::path(get, path = "/v1/session", responses((status = 200, body = SessionView), (status = 401, body = ApiError), (status = 404, body = ApiError, description = "Called with a bearer token, not a session cookie")), security(("token" = [])))]
pub(super) async fn current(
    State(state): State<Arc<AppState>>,
    s: Option<Extension<ConsoleSession>>,
) -> ApiResult<Json<SessionView>> {
    let s = console_session(s)?;
    // The cookie's id is what finds the row; read it again for the expiry.
    let expires_ns =
        sqlx::query_scalar::<_, i64>("SELECT expires_ns FROM console_sessions WHERE hash = $1")
            .bind(s.hash.clone())
            .fetch_one(&state.pool)
            .await
            .map_err(crate::service::db::err("reading a console session"))?;
    Ok(Json(SessionView {
        name: s.principal.name,
        role: s.principal.role,
        csrf: s.csrf,
        expires_ns,
    }))
}

#[utoipa::path(delete, path = "/v1/session", responses((status = 204, description = "Signed out: the session ends and its cookie is cleared"), (status = 403, body = ApiError), (status = 404, body = ApiError, description = "Called with a bearer token, not a session cookie")), security(("token" = [])))]
pub(super) async fn sign_out(
    State(state): State<Arc<AppState>>,
    Extension(p): Extension<Principal>,
    s: Option<Extension<ConsoleSession>>,
) -> ApiResult<Response> {
    let s = console_session(s)?;
    let mut tx = state.begin().await?;
    if session::close(&mut *tx, &s.hash).await? {
        state
            .audit_in(
                &mut tx,
                &p.actor(),
                AuditAction::ConsoleSession,
                &format!("console session of {}", p.name),
                serde_json::json!({ "event": "signed-out" }),
            )
            .await?;
    }
    crate::service::audit_tx::commit(tx, "a sign-out").await?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    if let Some(v) = session::clear_cookie(state.config.secure_cookies) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}
