//! Every error the API returns is JSON: `{"error": "<code>", "message": "...", "details": ...}`
//! with a 4xx/5xx status. Bodies are read through [`ApiJson`] and [`ApiBytes`], which turn
//! axum's rejections (bad JSON, unknown fields, wrong content type, too large) into that form.

use axum::{
    Json,
    extract::{FromRequest, Request, rejection::JsonRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::{Serialize, de::DeserializeOwned};

/// Declares every API error code once: its variant, its wire name (the `error` field), its
/// HTTP status and what it means. Generates [`ErrorCode`] (named, serialized and listed in
/// the OpenAPI document through [`crate::named_enum!`]), [`ErrorCode::ALL`] and
/// [`ErrorCode::status`].
macro_rules! error_codes {
    ($( $variant:ident = $text:literal, $status:ident: $help:literal, )+) => {
        crate::named_enum! {
            /// The machine-readable code of an API error (the `error` field of the body).
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
            pub enum ErrorCode: "machine-readable error code" {
                $( $variant = $text: $help ),+
            }
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &[Self] = &[$(Self::$variant),+];

            /// The HTTP status an error with this code is sent with.
            #[must_use]
            pub const fn status(self) -> StatusCode {
                match self {
                    $( Self::$variant => StatusCode::$status ),+
                }
            }
        }
    };
}

error_codes! {
    // The request itself.
    InvalidRequest = "invalid-request", BAD_REQUEST: "A field of the request is missing, empty or malformed; the message says which.",
    InvalidBody = "invalid-body", BAD_REQUEST: "The body is not the JSON the endpoint takes (syntax, unknown field, wrong type).",
    BodyTooLarge = "body-too-large", PAYLOAD_TOO_LARGE: "The body is over the service's size limit.",
    UnsupportedMediaType = "unsupported-media-type", UNSUPPORTED_MEDIA_TYPE: "The Content-Type is not the one the endpoint takes.",
    MethodNotAllowed = "method-not-allowed", METHOD_NOT_ALLOWED: "The route exists but not with this method.",
    NotFound = "not-found", NOT_FOUND: "No such route, component, grant, deployment or token.",
    // Who asks.
    Unauthorized = "unauthorized", UNAUTHORIZED: "No valid API token was sent.",
    Forbidden = "forbidden", FORBIDDEN: "The token's role may not call this route (or the route is not in the access matrix).",
    CsrfFailed = "csrf-failed", FORBIDDEN: "A console-session request lacked the session's `X-CSRF-Token`, or came from another origin.",
    RateLimited = "rate-limited", TOO_MANY_REQUESTS: "Too many authentication failures from this address; wait for the window to refill (`Retry-After`).",
    // Registry and grants.
    ComponentRefused = "component-refused", UNPROCESSABLE_ENTITY: "The uploaded component failed the inspect rules; `details` lists the refusals.",
    VersionExists = "version-exists", CONFLICT: "This plugin name and version is already registered with another digest.",
    AlreadyDecided = "already-decided", CONFLICT: "The grant was already approved or rejected.",
    GrantMismatch = "grant-mismatch", CONFLICT: "The grant is for another component: a grant covers one upload (digest).",
    GrantNotApproved = "grant-not-approved", CONFLICT: "The grant is not approved yet.",
    GrantInsufficient = "grant-insufficient", CONFLICT: "The grant does not cover what the component requests.",
    GrantRequired = "grant-required", CONFLICT: "A swap widens the grant: it needs an approved grant; `details` says what is needed.",
    // Deployments.
    InvalidParams = "invalid-params", UNPROCESSABLE_ENTITY: "The plugin parameters do not match its manifest.",
    InvalidData = "invalid-data", UNPROCESSABLE_ENTITY: "The session's market data cannot be loaded.",
    InvalidRiskPolicy = "invalid-risk-policy", UNPROCESSABLE_ENTITY: "The risk policy has problems; the message lists every one with its key.",
    InstantiateFailed = "instantiate-failed", UNPROCESSABLE_ENTITY: "The component could not be instantiated with its grant and parameters.",
    NotRunning = "not-running", CONFLICT: "The deployment is not running.",
    PluginMismatch = "plugin-mismatch", CONFLICT: "A swap names a different plugin than the deployment runs.",
    SwapInProgress = "swap-in-progress", CONFLICT: "Another swap of this deployment is waiting to be applied.",
    SwapRefused = "swap-refused", CONFLICT: "The session refused the swap (e.g. the new version failed to restore the state).",
    SwapTimeout = "swap-timeout", SERVICE_UNAVAILABLE: "The session did not reach an event boundary in time to take the swap.",
    StopTimeout = "stop-timeout", SERVICE_UNAVAILABLE: "The session did not stop in time.",
    LiveVenuesDisabled = "live-venues-disabled", FORBIDDEN: "A deployment asks for real orders (`session.mode = \"live\"`) and the service's `live_venues` setting is off.",
    VenueUnavailable = "venue-unavailable", UNPROCESSABLE_ENTITY: "The named venue cannot be traded: the service has no configuration for it, its keys cannot be read, it cannot be reached, or it does not list the instrument.",
    // Backtest and sweep jobs.
    JobQueueFull = "job-queue-full", TOO_MANY_REQUESTS: "The job queue is full (`job_queue` jobs wait already); retry when a job has ended.",
    JobEnded = "job-ended", CONFLICT: "The job has already ended: there is nothing to cancel.",
    JobNotFinished = "job-not-finished", CONFLICT: "The job has no result: it is queued or running, or it ended without finishing.",
    // The service.
    AuditChainBroken = "audit-chain-broken", CONFLICT: "The audit trail failed its hash-chain verification.",
    ShuttingDown = "shutting-down", SERVICE_UNAVAILABLE: "The service is shutting down; retry against the next instance.",
    DatabaseUnavailable = "database-unavailable", SERVICE_UNAVAILABLE: "The database does not answer.",
    Internal = "internal", INTERNAL_SERVER_ERROR: "A bug or an I/O failure in the service; it is logged.",
}

/// An API error response.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApiError {
    /// Machine-readable code; it decides the HTTP status.
    pub error: ErrorCode,
    /// What was wrong and what to do.
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub details: Option<serde_json::Value>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            error: code,
            message: message.into(),
            details: None,
        }
    }

    #[must_use]
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    /// The HTTP status of the response.
    #[must_use]
    pub const fn status(&self) -> StatusCode {
        self.error.status()
    }

    /// An [`ErrorCode::InvalidRequest`].
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message)
    }

    /// An [`ErrorCode::NotFound`].
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    /// An [`ErrorCode::Internal`]; the cause is logged.
    pub fn internal(message: impl std::fmt::Display) -> Self {
        tracing::error!("internal error: {message}");
        Self::new(ErrorCode::Internal, format!("internal error: {message}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status(), Json(self)).into_response()
    }
}

impl From<super::db::DbError> for ApiError {
    fn from(e: super::db::DbError) -> Self {
        Self::internal(e)
    }
}

impl From<crate::audit::AuditError> for ApiError {
    fn from(e: crate::audit::AuditError) -> Self {
        Self::internal(e)
    }
}

/// A JSON body; rejections become [`ApiError`]s.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Self(v)),
            Err(rejection) => Err(json_rejection(&rejection)),
        }
    }
}

/// Unknown fields and type errors are 422 in axum; they are the client's bad JSON: 400
/// (`invalid-body`).
fn json_rejection(r: &JsonRejection) -> ApiError {
    let code = match r.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::BodyTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
        _ => ErrorCode::InvalidBody,
    };
    ApiError::new(code, r.body_text())
}

/// A raw body (component uploads); a too-large body is a JSON 413.
#[derive(Debug)]
pub struct ApiBytes(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for ApiBytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::body::Bytes::from_request(req, state)
            .await
            .map(Self)
            .map_err(|r| {
                let code = if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ErrorCode::BodyTooLarge
                } else {
                    ErrorCode::InvalidBody
                };
                ApiError::new(code, r.body_text())
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::Named;

    #[test]
    fn every_code_has_its_status_and_wire_name() {
        let table: Vec<(&str, u16)> = ErrorCode::ALL
            .iter()
            .map(|c| (c.name(), c.status().as_u16()))
            .collect();
        assert_eq!(
            table,
            [
                ("invalid-request", 400),
                ("invalid-body", 400),
                ("body-too-large", 413),
                ("unsupported-media-type", 415),
                ("method-not-allowed", 405),
                ("not-found", 404),
                ("unauthorized", 401),
                ("forbidden", 403),
                ("csrf-failed", 403),
                ("rate-limited", 429),
                ("component-refused", 422),
                ("version-exists", 409),
                ("already-decided", 409),
                ("grant-mismatch", 409),
                ("grant-not-approved", 409),
                ("grant-insufficient", 409),
                ("grant-required", 409),
                ("invalid-params", 422),
                ("invalid-data", 422),
                ("invalid-risk-policy", 422),
                ("instantiate-failed", 422),
                ("not-running", 409),
                ("plugin-mismatch", 409),
                ("swap-in-progress", 409),
                ("swap-refused", 409),
                ("swap-timeout", 503),
                ("stop-timeout", 503),
                ("live-venues-disabled", 403),
                ("venue-unavailable", 422),
                ("job-queue-full", 429),
                ("job-ended", 409),
                ("job-not-finished", 409),
                ("audit-chain-broken", 409),
                ("shutting-down", 503),
                ("database-unavailable", 503),
                ("internal", 500),
            ]
        );
        assert_eq!(ErrorCode::ALL.len(), ErrorCode::VALUES.len());
        for code in ErrorCode::ALL {
            let json = serde_json::to_value(ApiError::new(*code, "m")).unwrap();
            assert_eq!(json["error"], code.name());
            assert_eq!(code.name().parse::<ErrorCode>(), Ok(*code));
        }
    }
}

/// Query parameters; rejections (unknown parameter, wrong type) become JSON 400s.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> axum::extract::FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| Self(v))
            .map_err(|r| ApiError::new(ErrorCode::InvalidRequest, r.body_text()))
    }
}
