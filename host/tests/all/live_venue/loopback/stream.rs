//! The SBE market data stream (`/ws`): the Ed25519 API key in `X-MBX-APIKEY` opens it,
//! `SUBSCRIBE`/`UNSUBSCRIBE` requests and their responses are JSON text frames, events are
//! SBE binary frames.

use std::sync::Arc;

use axum::{
    extract::{
        State, WebSocketUpgrade,
        ws::{Message, WebSocket},
    },
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{Shared, messages, now_us};

pub async fn upgrade(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let key = headers.get("x-mbx-apikey").and_then(|v| v.to_str().ok());
    if key != Some(shared.script.api_key.as_str()) {
        shared.refuse(format!("stream: X-MBX-APIKEY {key:?}"));
        return (StatusCode::UNAUTHORIZED, "an Ed25519 API key is required").into_response();
    }
    ws.on_upgrade(move |socket| serve(shared, socket))
}

async fn serve(shared: Arc<Shared>, mut socket: WebSocket) {
    let mut update_id = 1_000;
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
        let Ok(req) = serde_json::from_str::<Value>(&text) else {
            shared.refuse(format!("stream: not JSON: {text}"));
            continue;
        };
        let id = req.get("id").cloned().unwrap_or(Value::Null);
        let streams: Vec<String> = req
            .get("params")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        match req.get("method").and_then(Value::as_str) {
            Some("SUBSCRIBE") => {
                let unknown: Vec<&String> = streams
                    .iter()
                    .filter(|s| quotes_of(&shared, s).is_none())
                    .collect();
                if !unknown.is_empty() {
                    shared.refuse(format!("stream: SUBSCRIBE {unknown:?}"));
                    let reply =
                        json!({"code": 2, "msg": "Invalid request: unknown stream", "id": id});
                    let _ = socket.send(Message::Text(reply.to_string().into())).await;
                    continue;
                }
                shared.record(|r| r.subscriptions.extend(streams.iter().cloned()));
                let reply = json!({"result": null, "id": id});
                if socket
                    .send(Message::Text(reply.to_string().into()))
                    .await
                    .is_err()
                {
                    return;
                }
                for stream in &streams {
                    let Some((symbol, quotes)) = quotes_of(&shared, stream) else {
                        continue;
                    };
                    for q in quotes {
                        update_id += 1;
                        let frame = messages::best_bid_ask(symbol, &q, update_id, now_us());
                        if socket.send(Message::Binary(frame.into())).await.is_err() {
                            return;
                        }
                        shared.record(|r| r.quotes_sent += 1);
                    }
                }
            }
            Some("UNSUBSCRIBE") => {
                let reply = json!({"result": null, "id": id});
                let _ = socket.send(Message::Text(reply.to_string().into())).await;
            }
            _ => {
                shared.refuse(format!("stream: {text}"));
                let reply = json!({"code": 2, "msg": "Invalid request: unknown method", "id": id});
                let _ = socket.send(Message::Text(reply.to_string().into())).await;
            }
        }
    }
}

/// The symbol and scripted quotes of a `<symbol>@bestBidAsk` stream the venue knows.
fn quotes_of<'a>(
    shared: &'a Shared,
    stream: &str,
) -> Option<(&'a super::SymbolDef, Vec<super::Quote>)> {
    let (symbol, kind) = stream.split_once('@')?;
    if kind != "bestBidAsk" {
        return None;
    }
    let def = shared
        .script
        .symbols
        .iter()
        .find(|s| symbol == s.name.to_lowercase())?; // stream names are lowercase
    let quotes = shared
        .script
        .quotes
        .iter()
        .filter(|(name, _)| *name == def.name)
        .map(|(_, q)| *q)
        .collect();
    Some((def, quotes))
}
