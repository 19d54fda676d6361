//! Request bodies are read to their end before a response goes out.
//!
//! HTTP/1.1 has no way to refuse a body before the client has sent it (short of
//! `Expect: 100-continue`, which most clients do not send). When a server answers early
//! — a 401 before the handler ran, a 413 on the declared length — and then closes the
//! connection with the client's bytes still unread, the kernel sends a TCP reset, and
//! the reset can destroy the answer in the client's receive buffer: the client sees
//! "connection reset" or "peer disconnected" instead of the JSON error that says what was
//! wrong. hyper drains only what it already buffered (decision 0014, addendum).
//!
//! [`guard`] therefore (1) refuses a declared length above the route's limit with a JSON
//! 413 after reading and discarding the body, and (2) after any response, discards what
//! the handler left unread. Both are bounded: at most [`DRAIN_CAP`] bytes and
//! [`DRAIN_WINDOW`] of time are spent on a body nobody will use; beyond that the
//! connection is closed as before (a client sending gigabytes to a refused route gets a
//! reset, not our bandwidth). Nothing is buffered: discarded bytes are never held.

use std::{
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    body::{Body, Bytes},
    extract::{MatchedPath, Request, State},
    http::header,
    middleware::Next,
    response::{IntoResponse, Response},
};
use http_body::{Body as _, Frame, SizeHint};
use http_body_util::BodyExt;

use super::AppState;

/// The most bytes read and thrown away from one refused or half-read body.
pub const DRAIN_CAP: u64 = 8 << 20;
/// The longest a refused body may take to arrive before the connection is closed.
pub const DRAIN_WINDOW: Duration = Duration::from_secs(5);

/// Which configured limit applies to `route` (a matched route, or none for the fallback).
fn limit_for(state: &AppState, route: Option<&str>) -> u64 {
    let bytes = match route {
        Some("/v1/plugins") => state.config.max_upload_bytes,
        _ => state.config.max_json_bytes,
    };
    u64::try_from(bytes).unwrap_or(u64::MAX)
}

/// Middleware: see the module documentation.
pub async fn guard(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let limit = limit_for(&state, route.as_deref());
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(declared) = declared.filter(|d| *d > limit) {
        let (parts, body) = req.into_parts();
        if declared <= DRAIN_CAP {
            discard(body).await;
        }
        let what = if route.as_deref() == Some("/v1/plugins") {
            "max_upload_bytes"
        } else {
            "max_json_bytes"
        };
        return super::error::ApiError::new(super::error::ErrorCode::BodyTooLarge,
            format!(
                "{} {}: the body is {declared} bytes; the limit is {limit} bytes ({what} in the service config)",
                parts.method,
                parts.uri.path()
            ),
        )
        .into_response();
    }
    let (parts, body) = req.into_parts();
    let shared = Arc::new(Mutex::new(Some(body)));
    let resp = next
        .run(Request::from_parts(
            parts,
            Body::new(Shared(Arc::clone(&shared))),
        ))
        .await;
    let leftover = shared.lock().unwrap_or_else(PoisonError::into_inner).take();
    if let Some(body) = leftover.filter(|b| !b.is_end_stream()) {
        discard(body).await;
    }
    resp
}

/// Reads `body` to its end, throwing the bytes away, within [`DRAIN_CAP`] and
/// [`DRAIN_WINDOW`].
async fn discard(mut body: Body) {
    let drain = async {
        let mut read = 0_u64;
        while read <= DRAIN_CAP {
            match body.frame().await {
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref() {
                        read = read.saturating_add(data.len() as u64);
                    }
                }
                Some(Err(_)) | None => break,
            }
        }
    };
    if tokio::time::timeout(DRAIN_WINDOW, drain).await.is_err() {
        tracing::debug!("a refused request body did not arrive within the drain window");
    }
}

/// The request body, shared between the handler (which may read some or all of it) and
/// [`guard`] (which discards what is left once the handler has answered).
struct Shared(Arc<Mutex<Option<Body>>>);

impl http_body::Body for Shared {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let mut slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match slot.as_mut() {
            Some(body) => Pin::new(body).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        let slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        slot.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        let slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        slot.as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
    }
}
