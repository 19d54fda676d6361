//! The WebSocket API (`/ws-api/v3`) in SBE mode: JSON requests in text frames, every
//! response an SBE `WebSocketResponse` envelope in a binary frame, and the user data stream
//! (after `userDataStream.subscribe`) as SBE events on the same connection.

use std::{collections::HashMap, sync::Arc};

use axum::{
    extract::{
        Query, State, WebSocketUpgrade,
        ws::{Message, WebSocket},
    },
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::{Map, Value};

use super::{
    BALANCE_EXPONENT, Fill, Shared, WsApiCall, mantissa, messages, now_us, rescale, split_error,
};

/// The query the venue requires: SBE responses in schema 3:4.
const SBE_QUERY: [(&str, &str); 3] = [
    ("responseFormat", "sbe"),
    ("sbeSchemaId", "3"),
    ("sbeSchemaVersion", "4"),
];

pub async fn upgrade(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
    ws: WebSocketUpgrade,
) -> Response {
    let mut pairs: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.sort();
    let query_text = pairs.join("&");
    shared.record(|r| r.ws_api_connects.push(query_text.clone()));
    if SBE_QUERY
        .iter()
        .any(|(k, v)| query.get(*k).map(String::as_str) != Some(*v))
    {
        shared.refuse(format!("ws-api: connect with `{query_text}`"));
        return (
            StatusCode::BAD_REQUEST,
            "the loopback WebSocket API answers in SBE schema 3:4 only",
        )
            .into_response();
    }
    ws.on_upgrade(move |socket| serve(shared, socket))
}

/// Per-connection session state.
#[derive(Default)]
struct Session {
    logged_on: bool,
    user_data: bool,
}

async fn serve(shared: Arc<Shared>, mut socket: WebSocket) {
    let mut session = Session::default();
    while let Some(Ok(msg)) = socket.recv().await {
        let text = match msg {
            Message::Text(t) => t.as_str().to_owned(),
            Message::Ping(p) => {
                let _ = socket.send(Message::Pong(p)).await;
                continue;
            }
            Message::Close(_) => break,
            _ => continue,
        };
        let frames = handle(&shared, &mut session, &text);
        for frame in frames {
            if socket.send(Message::Binary(frame.into())).await.is_err() {
                return;
            }
        }
    }
}

/// Binance's signature payload of a WebSocket API request: every parameter but
/// `signature`, sorted by name, as `name=value` joined by `&`.
fn payload(params: &Map<String, Value>) -> String {
    let mut pairs: Vec<(&String, String)> = params
        .iter()
        .filter(|(k, _)| k.as_str() != "signature")
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k, v)
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Checks a signed request's API key, signature and timestamp.
fn verify(shared: &Shared, params: &Map<String, Value>) -> Result<(), String> {
    if params.get("apiKey").and_then(Value::as_str) != Some(shared.script.api_key.as_str()) {
        return Err("-2015 Invalid API-key, IP, or permissions for action.".into());
    }
    let signature = params
        .get("signature")
        .and_then(Value::as_str)
        .ok_or("-1102 Mandatory parameter 'signature' was not sent")?;
    let timestamp = params.get("timestamp").and_then(Value::as_i64);
    shared.verify(&payload(params), signature, timestamp)
}

fn failure(id: &str, status: u16, e: &str) -> Vec<Vec<u8>> {
    let (code, msg) = split_error(e);
    vec![messages::ws_response(
        status,
        id,
        &messages::error(code, msg),
    )]
}

/// The frames answering one request.
fn handle(shared: &Shared, session: &mut Session, text: &str) -> Vec<Vec<u8>> {
    let Ok(req) = serde_json::from_str::<Value>(text) else {
        shared.refuse(format!("ws-api: not JSON: {text}"));
        return Vec::new();
    };
    let id = match req.get("id") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let method = req.get("method").and_then(Value::as_str).unwrap_or("");
    let params = req
        .get("params")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let signed = matches!(method, "session.logon" | "order.place").then(|| verify(shared, &params));
    shared.record(|r| {
        r.ws_api.push(WsApiCall {
            method: method.to_string(),
            params: params.clone(),
            signed: signed.clone(),
        });
    });
    if let Some(Err(e)) = &signed {
        return failure(&id, 400, e);
    }
    match method {
        "session.logon" => {
            session.logged_on = true;
            let result = messages::session_logon(&shared.script.api_key, now_us(), false);
            vec![messages::ws_response(200, &id, &result)]
        }
        "userDataStream.subscribe" if session.logged_on => {
            session.user_data = true;
            // The adapter reads only the status of this response, not its result.
            vec![messages::ws_response(200, &id, &[])]
        }
        "userDataStream.subscribe" => failure(
            &id,
            401,
            "-1002 You are not authorized to execute this request.",
        ),
        "order.place" => place(shared, session, &id, &params),
        other => {
            shared.refuse(format!("ws-api: method `{other}`"));
            failure(&id, 400, "-1020 This operation is not supported.")
        }
    }
}

/// `order.place`: a MARKET order fills at the scripted price; the response, then (with the
/// user data stream on) the NEW and TRADE execution reports and the new balances.
fn place(
    shared: &Shared,
    session: &Session,
    id: &str,
    params: &Map<String, Value>,
) -> Vec<Vec<u8>> {
    let text = |k: &str| params.get(k).and_then(Value::as_str).unwrap_or("");
    let Some(symbol) = shared.symbol(text("symbol")) else {
        return failure(id, 400, "-1121 Invalid symbol.");
    };
    let side = match text("side") {
        "BUY" => 0,
        "SELL" => 1,
        _ => return failure(id, 400, "-1117 Invalid side."),
    };
    if text("type") != "MARKET" {
        shared.refuse(format!("ws-api: order type `{}`", text("type")));
        return failure(id, 400, "-1020 This operation is not supported.");
    }
    let qty = match mantissa(text("quantity"), symbol.qty_exp) {
        Some(q) if q >= symbol.min_qty && q % symbol.step == 0 => q,
        _ => return failure(id, 400, "-1013 Filter failure: LOT_SIZE"),
    };
    let price = shared.script.fill_price;
    // Amounts at the balances' exponent: the base bought or sold, the quote paid or received.
    let base = rescale(qty, symbol.qty_exp, BALANCE_EXPONENT);
    let quote = rescale(
        price * qty,
        symbol.price_exp + symbol.qty_exp,
        BALANCE_EXPONENT,
    );
    let (received, asset) = if side == 0 {
        (base, symbol.base)
    } else {
        (quote, symbol.quote)
    };
    let commission = received * shared.script.commission_ppm / 1_000_000;
    let outcome = shared.record(|r| {
        let held = |r: &super::Records, a: &str| {
            r.balances
                .iter()
                .find(|(name, _)| name == a)
                .map_or(0, |(_, v)| *v)
        };
        let (pay_asset, pay) = if side == 0 {
            (symbol.quote, quote)
        } else {
            (symbol.base, base)
        };
        if held(r, pay_asset) < pay {
            return Err("-2010 Account has insufficient balance for requested action.");
        }
        let mut changed = Vec::new();
        for (name, delta) in [(pay_asset, -pay), (asset, received - commission)] {
            match r.balances.iter_mut().find(|(n, _)| n == name) {
                Some(b) => b.1 += delta,
                None => r.balances.push((name.to_string(), delta)),
            }
            changed.push((name.to_string(), held(r, name)));
        }
        let n = i64::try_from(r.fills.len()).unwrap_or(0);
        let fill = Fill {
            order_id: 4_000_001 + n,
            side,
            qty,
            price,
            commission,
            commission_asset: asset.to_string(),
            trade_id: 9_000_001 + n,
            client_order_id: text("newClientOrderId").to_string(),
        };
        r.fills.push(fill.clone());
        Ok((fill, changed))
    });
    let (fill, changed) = match outcome {
        Ok(o) => o,
        Err(e) => return failure(id, 400, e),
    };
    let now = now_us();
    let mut frames = vec![messages::ws_response(
        200,
        id,
        &messages::new_order_full(symbol, &fill, now),
    )];
    if session.user_data {
        frames.push(messages::execution_report(symbol, &fill, false, now));
        frames.push(messages::execution_report(symbol, &fill, true, now));
        frames.push(messages::account_position(&changed, BALANCE_EXPONENT, now));
        shared.record(|r| {
            r.user_events.extend(
                [
                    "executionReport NEW",
                    "executionReport TRADE",
                    "outboundAccountPosition",
                ]
                .map(String::from),
            );
        });
    }
    frames
}
