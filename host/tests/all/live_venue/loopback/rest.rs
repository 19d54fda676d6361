//! The REST endpoints (`/api/v3/...`), SBE-encoded as requested by `Accept: application/sbe`
//! and `X-MBX-SBE: 3:4`.

use std::sync::Arc;

use axum::{
    extract::{RawQuery, State},
    http::{HeaderMap, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};

use super::{RestCall, Shared, messages, now_us, split_error};

/// The SBE schema the loopback speaks.
const SBE_HEADER: &str = "3:4";

fn sbe(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, "application/sbe")], body).into_response()
}

fn error(status: StatusCode, e: &str) -> Response {
    let (code, msg) = split_error(e);
    sbe(status, messages::error(code, msg))
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Records the call; checks the SBE negotiation and, for a signed endpoint, the API key,
/// signature and timestamp (Binance's payload for a GET is the query string as sent, up to
/// `&signature=`). The venue's refusal, if any.
fn check(
    shared: &Shared,
    path: &str,
    headers: &HeaderMap,
    query: Option<String>,
    signed: bool,
) -> Option<Response> {
    let query = query.unwrap_or_default();
    let api_key = header_text(headers, "x-mbx-apikey");
    let sbe_header = header_text(headers, "x-mbx-sbe");
    let accept = header_text(headers, "accept").unwrap_or_default();
    let verdict = signed.then(|| {
        if api_key.as_deref() != Some(shared.script.api_key.as_str()) {
            return Err("-2015 Invalid API-key, IP, or permissions for action.".to_string());
        }
        let (payload, signature) = query
            .rsplit_once("&signature=")
            .ok_or("-1102 Mandatory parameter 'signature' was not sent")?;
        let signature = percent_decode(signature);
        let timestamp = payload
            .split('&')
            .find_map(|kv| kv.strip_prefix("timestamp="))
            .and_then(|t| t.parse().ok());
        shared.verify(payload, &signature, timestamp)
    });
    shared.record(|r| {
        r.rest.push(RestCall {
            path: path.to_string(),
            api_key,
            sbe: sbe_header.clone(),
            signed: verdict.clone(),
        });
    });
    if !accept.contains("application/sbe") || sbe_header.as_deref() != Some(SBE_HEADER) {
        shared.refuse(format!(
            "{path}: Accept `{accept}`, X-MBX-SBE {sbe_header:?} (the loopback speaks SBE {SBE_HEADER})"
        ));
        return Some(error(
            StatusCode::BAD_REQUEST,
            "-1000 The loopback venue answers in SBE schema 3:4 only.",
        ));
    }
    let e = verdict?.err()?;
    let status = if e.starts_with("-2015") {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::BAD_REQUEST
    };
    Some(error(status, &e))
}

/// `%XX` escapes decoded (a base64 signature is sent percent-encoded).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub async fn exchange_info(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if let Some(r) = check(&shared, "/api/v3/exchangeInfo", &headers, query, false) {
        return r;
    }
    sbe(
        StatusCode::OK,
        messages::exchange_info(&shared.script.symbols),
    )
}

pub async fn account(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if let Some(r) = check(&shared, "/api/v3/account", &headers, query, true) {
        return r;
    }
    let held = shared.record(|r| r.balances.clone());
    sbe(
        StatusCode::OK,
        messages::account(&held, super::BALANCE_EXPONENT, now_us()),
    )
}

pub async fn open_orders(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if let Some(r) = check(&shared, "/api/v3/openOrders", &headers, query, true) {
        return r;
    }
    sbe(StatusCode::OK, messages::no_orders())
}

pub async fn fallback(State(shared): State<Arc<Shared>>, uri: Uri) -> Response {
    shared.refuse(format!("REST {uri}: not served by the loopback venue"));
    error(
        StatusCode::NOT_FOUND,
        "-1000 Not served by the loopback venue.",
    )
}
