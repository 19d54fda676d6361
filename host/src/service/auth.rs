//! Who may call what: API tokens (stored as sha256 only), four roles, and the one explicit
//! matrix of endpoint × role ([`ROUTES`]) that a single middleware enforces. A route that
//! is not in the matrix is refused (fail closed); the tests walk the whole matrix.

use std::{net::SocketAddr, sync::Arc};

use axum::{
    extract::{ConnectInfo, MatchedPath, Request, State},
    http::{Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{AnyPool, Row};

use super::{
    AppState,
    auth_failures::Verdict,
    error::{ApiError, ErrorCode},
};

/// The wire name of an error code (`unauthorized`, `forbidden`).
fn code_name(code: ErrorCode) -> &'static str {
    use crate::names::Named;
    code.name()
}

/// A principal's role.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Uploads components, requests grants.
    Author,
    /// Deploys, swaps, halts and stops; feeds signals.
    Operator,
    /// Reads everything, including the audit trail; changes nothing.
    Auditor,
    /// Everything, including approving grants and issuing tokens.
    Admin,
}

impl Role {
    pub const ALL: [Self; 4] = [Self::Author, Self::Operator, Self::Auditor, Self::Admin];

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Author => "author",
            Self::Operator => "operator",
            Self::Auditor => "auditor",
            Self::Admin => "admin",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == s)
    }
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Principal {
    pub name: String,
    pub role: Role,
}

impl Principal {
    /// The audit actor: `alice (admin)`.
    #[must_use]
    pub fn actor(&self) -> String {
        format!("{} ({})", self.name, self.role.name())
    }
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No token needed (health, readiness, metrics, the OpenAPI document).
    Public,
    /// A token of one of these roles.
    Roles(&'static [Role]),
}

use Role::{Admin, Auditor, Author, Operator};

const ALL: &[Role] = &[Author, Operator, Auditor, Admin];
const AUTHORS: &[Role] = &[Author, Admin];
const OPERATORS: &[Role] = &[Operator, Admin];
const WATCHERS: &[Role] = &[Operator, Auditor, Admin];
const AUDITORS: &[Role] = &[Auditor, Admin];
const ADMINS: &[Role] = &[Admin];

/// The matrix: (method, route template, access). Every route of the router is here.
pub const ROUTES: &[(&str, &str, Access)] = &[
    ("GET", "/healthz", Access::Public),
    ("GET", "/readyz", Access::Public),
    ("GET", "/metrics", Access::Public),
    ("GET", "/openapi.json", Access::Public),
    ("GET", "/", Access::Public),
    ("GET", "/assets/{*path}", Access::Public),
    ("GET", "/v1/whoami", Access::Roles(ALL)),
    // Sign-in checks the token itself (its failures count like any other).
    ("POST", "/v1/session", Access::Public),
    ("GET", "/v1/session", Access::Roles(ALL)),
    ("DELETE", "/v1/session", Access::Roles(ALL)),
    ("GET", "/v1/trading", Access::Roles(ALL)),
    ("POST", "/v1/plugins", Access::Roles(AUTHORS)),
    ("GET", "/v1/plugins", Access::Roles(ALL)),
    ("GET", "/v1/plugins/{digest}", Access::Roles(ALL)),
    ("POST", "/v1/grants", Access::Roles(AUTHORS)),
    ("GET", "/v1/grants", Access::Roles(ALL)),
    ("GET", "/v1/grants/{id}", Access::Roles(ALL)),
    ("POST", "/v1/grants/{id}/approve", Access::Roles(ADMINS)),
    ("POST", "/v1/grants/{id}/reject", Access::Roles(ADMINS)),
    ("POST", "/v1/deployments", Access::Roles(OPERATORS)),
    ("GET", "/v1/deployments", Access::Roles(ALL)),
    ("GET", "/v1/deployments/{id}", Access::Roles(ALL)),
    ("GET", "/v1/deployments/{id}/risk", Access::Roles(ALL)),
    ("DELETE", "/v1/deployments/{id}", Access::Roles(OPERATORS)),
    (
        "PUT",
        "/v1/deployments/{id}/plugin",
        Access::Roles(OPERATORS),
    ),
    (
        "POST",
        "/v1/deployments/{id}/halt",
        Access::Roles(OPERATORS),
    ),
    (
        "POST",
        "/v1/deployments/{id}/resume",
        Access::Roles(OPERATORS),
    ),
    (
        "POST",
        "/v1/deployments/{id}/flatten",
        Access::Roles(OPERATORS),
    ),
    (
        "GET",
        "/v1/deployments/{id}/events",
        Access::Roles(WATCHERS),
    ),
    (
        "POST",
        "/v1/deployments/{id}/replay",
        Access::Roles(WATCHERS),
    ),
    ("GET", "/v1/stream", Access::Roles(WATCHERS)),
    ("POST", "/v1/signals", Access::Roles(OPERATORS)),
    ("GET", "/v1/signals", Access::Roles(ALL)),
    ("GET", "/v1/signals/dead-letters", Access::Roles(ALL)),
    ("GET", "/v1/signals/breakers", Access::Roles(ALL)),
    ("GET", "/v1/translations", Access::Roles(ALL)),
    ("PUT", "/v1/translations", Access::Roles(AUTHORS)),
    ("GET", "/v1/audit", Access::Roles(AUDITORS)),
    ("GET", "/v1/audit/verify", Access::Roles(AUDITORS)),
    ("POST", "/v1/tokens", Access::Roles(ADMINS)),
    ("POST", "/v1/tokens/{name}/revoke", Access::Roles(ADMINS)),
    ("POST", "/v1/backtests", Access::Roles(OPERATORS)),
    ("GET", "/v1/backtests", Access::Roles(WATCHERS)),
    ("GET", "/v1/backtests/{id}", Access::Roles(WATCHERS)),
    ("DELETE", "/v1/backtests/{id}", Access::Roles(OPERATORS)),
    ("GET", "/v1/backtests/{id}/report", Access::Roles(WATCHERS)),
    (
        "GET",
        "/v1/backtests/{id}/report.html",
        Access::Roles(WATCHERS),
    ),
    ("POST", "/v1/sweeps", Access::Roles(OPERATORS)),
    ("GET", "/v1/sweeps", Access::Roles(WATCHERS)),
    ("GET", "/v1/sweeps/{id}", Access::Roles(WATCHERS)),
    ("DELETE", "/v1/sweeps/{id}", Access::Roles(OPERATORS)),
    ("GET", "/v1/sweeps/{id}/result", Access::Roles(WATCHERS)),
    ("POST", "/v1/halt", Access::Roles(OPERATORS)),
    ("POST", "/v1/resume", Access::Roles(OPERATORS)),
];

/// The access rule of `method` on the route template `path`.
#[must_use]
pub fn access(method: &Method, path: &str) -> Option<Access> {
    ROUTES
        .iter()
        .find(|(m, p, _)| *m == method.as_str() && *p == path)
        .map(|(.., a)| *a)
}

/// sha256 of a token, as stored.
#[must_use]
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new random token: `sbx_` and 256 random bits in hex.
pub fn new_token() -> Result<String, ApiError> {
    let mut bytes = [0_u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::internal(format!("no randomness: {e}")))?;
    Ok(format!("sbx_{}", hex::encode(bytes)))
}

/// Stores a token's hash with its name and role.
pub async fn store_token(
    db: impl sqlx::Executor<'_, Database = sqlx::Any>,
    token: &str,
    name: &str,
    role: Role,
    created_by: &str,
) -> Result<(), super::db::DbError> {
    sqlx::query(
        "INSERT INTO tokens (hash, name, role, created_by, created_ns) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash(token))
    .bind(name.to_string())
    .bind(role.name().to_string())
    .bind(created_by.to_string())
    .bind(crate::time::wall_clock_ns() as i64)
    .execute(db)
    .await
    .map_err(super::db::err("storing a token"))?;
    Ok(())
}

/// Revokes every live token named `name`; returns how many.
pub async fn revoke(
    db: impl sqlx::Executor<'_, Database = sqlx::Any>,
    name: &str,
) -> Result<u64, super::db::DbError> {
    let done =
        sqlx::query("UPDATE tokens SET revoked_ns = $1 WHERE name = $2 AND revoked_ns IS NULL")
            .bind(crate::time::wall_clock_ns() as i64)
            .bind(name.to_string())
            .execute(db)
            .await
            .map_err(super::db::err("revoking a token"))?;
    Ok(done.rows_affected())
}

/// The principal a token belongs to, if it is known and not revoked.
pub async fn lookup(pool: &AnyPool, token: &str) -> Result<Option<Principal>, super::db::DbError> {
    let row = sqlx::query("SELECT name, role FROM tokens WHERE hash = $1 AND revoked_ns IS NULL")
        .bind(token_hash(token))
        .fetch_optional(pool)
        .await
        .map_err(super::db::err("looking up a token"))?;
    Ok(row.and_then(|r| {
        let name: String = r.try_get("name").ok()?;
        let role: String = r.try_get("role").ok()?;
        Some(Principal {
            name,
            role: Role::parse(&role)?,
        })
    }))
}

/// The middleware: finds the route's rule, checks the bearer token and the role, and
/// puts the [`Principal`] into the request. Failures are answered in JSON, counted per
/// client address and audited as one summary per window ([`super::auth_failures`]).
pub async fn authorize(
    State(state): State<Arc<AppState>>,
    matched: Option<MatchedPath>,
    mut req: Request,
    next: Next,
) -> Response {
    // Unmatched paths fall through to the JSON 404 / 405 fallbacks.
    let Some(matched) = matched else {
        return next.run(req).await;
    };
    let method = req.method().clone();
    let path = matched.as_str().to_string();
    // Fail closed: a method the matrix does not list for this route never reaches a
    // handler (405 if the route takes other methods, else 403).
    let Some(rule) = access(&method, &path) else {
        if ROUTES.iter().any(|(_, p, _)| *p == path) {
            return ApiError::new(
                ErrorCode::MethodNotAllowed,
                format!("{path} does not take {method} (see /openapi.json)"),
            )
            .into_response();
        }
        return ApiError::new(
            ErrorCode::Forbidden,
            format!("{method} {path} is not in the access matrix"),
        )
        .into_response();
    };
    if rule == Access::Public {
        return next.run(req).await;
    }
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .map(str::to_string);
    // A bearer token wins; without one, the console's session cookie.
    let mut session = None;
    let principal = match (token, super::session::cookie_id(req.headers())) {
        (Some(t), _) => match lookup(&state.pool, &t).await {
            Ok(p) => p,
            Err(e) => return ApiError::internal(e).into_response(),
        },
        (None, Some(id)) => match super::session::find(&state.pool, &id).await {
            Ok(found) => found.map(|(s, _)| {
                let p = s.principal.clone();
                session = Some(s);
                p
            }),
            Err(e) => return ApiError::internal(e).into_response(),
        },
        (None, None) => None,
    };
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let route = format!("{method} {path}");
    // Failures are counted per address and audited as one summary per window
    // (`auth_failures`); over the rate they get 429 instead of 401/403.
    let denied = |code: ErrorCode, message: String, who: &str| match state.auth_failures.record(
        peer,
        who,
        &route,
        code_name(code),
    ) {
        Verdict::Refuse => ApiError::new(code, message).into_response(),
        Verdict::Limited(wait) => {
            let secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
            let mut resp = ApiError::new(
                    ErrorCode::RateLimited,
                    format!("too many authentication failures from your address; retry in {secs} s with a valid token"),
                )
                .into_response();
            if let Ok(v) = header::HeaderValue::from_str(&secs.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            resp
        }
    };
    let Some(principal) = principal else {
        return denied(
            ErrorCode::Unauthorized,
            "a valid API token is required: send `Authorization: Bearer <token>` (an admin issues tokens with `stratbox tokens create` or POST /v1/tokens), or sign in to the console (POST /v1/session)".into(),
            "anonymous",
        );
    };
    // A cookie is sent by the browser on its own: a request it carries must prove it
    // comes from the console (same origin, and the anti-forgery value for changes).
    if let Some(s) = &session
        && let Err(forgery) = super::session::check_request(s, &method, req.headers())
    {
        return denied(
            ErrorCode::CsrfFailed,
            forgery.message(&method, &path),
            &principal.actor(),
        );
    }
    let Access::Roles(roles) = rule else {
        return next.run(req).await;
    };
    if !roles.contains(&principal.role) {
        let allowed: Vec<&str> = roles.iter().map(|r| r.name()).collect();
        let message = format!(
            "{method} {path} needs the role {}; your token `{}` has the role {}",
            allowed.join(" or "),
            principal.name,
            principal.role.name()
        );
        return denied(ErrorCode::Forbidden, message, &principal.actor());
    }
    req.extensions_mut().insert(principal);
    if let Some(s) = session {
        req.extensions_mut().insert(s);
    }
    next.run(req).await
}
