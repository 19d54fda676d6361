//! Console sessions: a browser signs in with an API token once and then holds a random
//! session id in an HttpOnly, SameSite=Strict cookie (decision 0036). The database keeps
//! only the id's sha256, the token it stands for and the session's anti-forgery value:
//! every request that changes something must echo that value in `X-CSRF-Token`, and a
//! cookie-authenticated request that names another origin is refused.
//!
//! A session is exactly as strong as its token: it has the token's role, and revoking the
//! token ends every session opened with it.

use axum::http::{HeaderMap, HeaderValue, Method, header};
use serde::Serialize;
use sqlx::{AnyPool, Row};
use subtle::ConstantTimeEq;

use super::{
    auth::{Principal, Role, token_hash},
    db::{self, DbError},
    error::ApiError,
};

/// The cookie's name.
pub const COOKIE: &str = "stratbox_session";
/// The header a cookie-authenticated change must carry.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A signed-in browser.
#[derive(Debug, Clone)]
pub struct ConsoleSession {
    /// sha256 of the session id (the key of its row).
    pub hash: String,
    pub principal: Principal,
    pub csrf: String,
}

/// What `POST /v1/session` and `GET /v1/session` answer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SessionView {
    pub name: String,
    pub role: Role,
    /// Echo it in `X-CSRF-Token` on every request that changes something.
    pub csrf: String,
    /// When the session ends (UNIX ns), unless the token is revoked or it signs out first.
    pub expires_ns: i64,
}

fn random_hex() -> Result<String, ApiError> {
    let mut bytes = [0_u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::internal(format!("no randomness: {e}")))?;
    Ok(hex::encode(bytes))
}

/// Opens a session for the holder of `token` (already checked to be live); returns the
/// session id for the cookie and what the console is told.
pub async fn open(
    db: impl sqlx::Executor<'_, Database = sqlx::Any>,
    token: &str,
    principal: &Principal,
    lifetime_s: u64,
) -> Result<(String, SessionView), ApiError> {
    let id = random_hex()?;
    let csrf = random_hex()?;
    let now = crate::time::wall_clock_ns() as i64;
    let expires_ns = now.saturating_add((lifetime_s as i64).saturating_mul(1_000_000_000));
    sqlx::query(
        "INSERT INTO console_sessions (hash, token_hash, csrf, created_ns, expires_ns) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash(&id))
    .bind(token_hash(token))
    .bind(csrf.clone())
    .bind(now)
    .bind(expires_ns)
    .execute(db)
    .await
    .map_err(db::err("opening a console session"))?;
    Ok((
        id,
        SessionView {
            name: principal.name.clone(),
            role: principal.role,
            csrf,
            expires_ns,
        },
    ))
}

/// The live session a cookie's id names: not signed out, not expired, its token not
/// revoked.
pub async fn find(pool: &AnyPool, id: &str) -> Result<Option<(ConsoleSession, i64)>, DbError> {
    let row = sqlx::query(
        "SELECT s.hash, s.csrf, s.expires_ns, t.name, t.role FROM console_sessions s JOIN tokens t ON t.hash = s.token_hash \
         WHERE s.hash = $1 AND s.ended_ns IS NULL AND s.expires_ns > $2 AND t.revoked_ns IS NULL",
    )
    .bind(token_hash(id))
    .bind(crate::time::wall_clock_ns() as i64)
    .fetch_optional(pool)
    .await
    .map_err(db::err("looking up a console session"))?;
    Ok(row.and_then(|r| {
        let role: String = r.try_get("role").ok()?;
        Some((
            ConsoleSession {
                hash: r.try_get("hash").ok()?,
                csrf: r.try_get("csrf").ok()?,
                principal: Principal {
                    name: r.try_get("name").ok()?,
                    role: Role::parse(&role)?,
                },
            },
            r.try_get("expires_ns").ok()?,
        ))
    }))
}

/// Ends the session (sign-out); true if it was live.
pub async fn close(
    db: impl sqlx::Executor<'_, Database = sqlx::Any>,
    hash: &str,
) -> Result<bool, DbError> {
    let done = sqlx::query(
        "UPDATE console_sessions SET ended_ns = $1 WHERE hash = $2 AND ended_ns IS NULL",
    )
    .bind(crate::time::wall_clock_ns() as i64)
    .bind(hash.to_string())
    .execute(db)
    .await
    .map_err(db::err("closing a console session"))?;
    Ok(done.rows_affected() > 0)
}

/// The session id in the request's `Cookie` header, if any.
#[must_use]
pub fn cookie_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == COOKIE)
        .map(|c| c.value().to_string())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `Set-Cookie` for a new session (`Max-Age` = its lifetime).
#[must_use]
pub fn set_cookie(id: &str, lifetime_s: u64, secure: bool) -> Option<HeaderValue> {
    let c = cookie::Cookie::build((COOKIE, id.to_string()))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(cookie::SameSite::Strict)
        .max_age(cookie::time::Duration::seconds(
            i64::try_from(lifetime_s).unwrap_or(i64::MAX),
        ))
        .build();
    HeaderValue::from_str(&c.to_string()).ok()
}

/// `Set-Cookie` that removes the session cookie.
#[must_use]
pub fn clear_cookie(secure: bool) -> Option<HeaderValue> {
    let c = cookie::Cookie::build((COOKIE, ""))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(cookie::SameSite::Strict)
        .max_age(cookie::time::Duration::ZERO)
        .build();
    HeaderValue::from_str(&c.to_string()).ok()
}

/// Why a cookie-authenticated request is refused before its role is even looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Forgery {
    /// A change without the session's `X-CSRF-Token` (or with another value).
    Csrf,
    /// `Origin` names another site than the one the request reached.
    Origin(String),
}

impl Forgery {
    #[must_use]
    pub fn message(&self, method: &Method, path: &str) -> String {
        match self {
            Self::Csrf => format!(
                "{method} {path} from a console session needs the session's `X-CSRF-Token` header (GET /v1/session returns it); sign in again if the console lost it"
            ),
            Self::Origin(origin) => format!(
                "{method} {path}: a console session's request came from the origin `{origin}`, not from this service; only the console this service serves may use its cookie"
            ),
        }
    }
}

/// The forgery checks of a cookie-authenticated request: the origin (when the browser
/// names one) must be this service's, and anything but GET/HEAD must carry the session's
/// anti-forgery value.
pub fn check_request(
    session: &ConsoleSession,
    method: &Method,
    headers: &HeaderMap,
) -> Result<(), Forgery> {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("(not text)");
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        let named = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"));
        if host.is_empty() || named != Some(host) {
            return Err(Forgery::Origin(origin.to_string()));
        }
    }
    if matches!(*method, Method::GET | Method::HEAD) {
        return Ok(());
    }
    let sent = headers
        .get(CSRF_HEADER)
        .map(HeaderValue::as_bytes)
        .unwrap_or_default();
    if sent.ct_eq(session.csrf.as_bytes()).into() {
        Ok(())
    } else {
        Err(Forgery::Csrf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> ConsoleSession {
        ConsoleSession {
            hash: "h".into(),
            principal: Principal {
                name: "ops".into(),
                role: Role::Operator,
            },
            csrf: "a".repeat(64),
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn changes_need_the_csrf_value_and_reads_do_not() {
        let s = session();
        let csrf = "a".repeat(64);
        assert_eq!(
            check_request(&s, &Method::GET, &headers(&[("host", "h:1")])),
            Ok(())
        );
        assert_eq!(
            check_request(&s, &Method::POST, &headers(&[("host", "h:1")])),
            Err(Forgery::Csrf)
        );
        assert_eq!(
            check_request(
                &s,
                &Method::POST,
                &headers(&[("host", "h:1"), ("x-csrf-token", &"b".repeat(64))])
            ),
            Err(Forgery::Csrf)
        );
        assert_eq!(
            check_request(
                &s,
                &Method::DELETE,
                &headers(&[("host", "h:1"), ("x-csrf-token", &csrf)])
            ),
            Ok(())
        );
    }

    #[test]
    fn another_origin_is_refused_even_for_reads() {
        let s = session();
        let csrf = "a".repeat(64);
        let from = |origin: &str| {
            check_request(
                &s,
                &Method::GET,
                &headers(&[
                    ("host", "127.0.0.1:8080"),
                    ("origin", origin),
                    ("x-csrf-token", &csrf),
                ]),
            )
        };
        assert_eq!(from("http://127.0.0.1:8080"), Ok(()));
        assert_eq!(from("https://127.0.0.1:8080"), Ok(()));
        assert!(matches!(
            from("http://evil.example"),
            Err(Forgery::Origin(_))
        ));
        assert!(matches!(
            from("http://127.0.0.1:8081"),
            Err(Forgery::Origin(_))
        ));
        assert!(matches!(from("null"), Err(Forgery::Origin(_))));
    }

    #[test]
    fn the_cookie_is_found_among_others_and_must_look_like_an_id() {
        let id = "0123456789abcdef".repeat(4);
        let h = headers(&[("cookie", &format!("a=1; {COOKIE}={id}; b=2"))]);
        assert_eq!(cookie_id(&h), Some(id));
        let h = headers(&[("cookie", &format!("{COOKIE}=short"))]);
        assert_eq!(cookie_id(&h), None);
        let set = set_cookie(&"f".repeat(64), 60, true).unwrap();
        let set = set.to_str().unwrap();
        for part in [
            "HttpOnly",
            "SameSite=Strict",
            "Secure",
            "Path=/",
            "Max-Age=60",
        ] {
            assert!(set.contains(part), "{set}");
        }
    }
}
