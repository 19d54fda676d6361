//! A loopback Binance spot venue: the REST endpoints, the SBE market data stream and the
//! WebSocket API that nautilus-binance 0.57's spot clients use, answering Binance's
//! documented messages (SBE schema 3:4, stream schema 1:0) for a scripted account, on
//! 127.0.0.1. It checks what a real venue checks (API key, Ed25519 signatures over the
//! documented payloads, timestamps within the receive window, lot sizes) and records every
//! request, so a test can assert on exactly what reached "the venue".
//!
//! Served:
//! - `GET /api/v3/exchangeInfo` → `ExchangeInfoResponse` (the scripted symbols);
//! - `GET /api/v3/account` (signed) → `AccountResponse` (the scripted balances);
//! - `GET /api/v3/openOrders` (signed) → `OrdersResponse` (none: a fresh account);
//! - `GET /ws` (SBE market data stream; `SUBSCRIBE` in JSON) → `BestBidAskStreamEvent`s of
//!   `<symbol>@bestBidAsk`, the scripted quotes, played once on subscription;
//! - `GET /ws-api/v3?responseFormat=sbe&sbeSchemaId=3&sbeSchemaVersion=4` (WebSocket API):
//!   `session.logon` (signed) → `WebSocketSessionLogonResponse`; `userDataStream.subscribe`;
//!   `order.place` (signed, MARKET) → `NewOrderFullResponse` filled at the scripted price,
//!   then on the user data stream `ExecutionReportEvent` NEW and TRADE and an
//!   `OutboundAccountPositionEvent` with the changed balances.
//!
//! Anything else is refused with Binance's error shape and recorded in `refused`.

mod messages;
mod rest;
mod sbe;
mod stream;
mod ws_api;

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
    thread::JoinHandle,
    time::{SystemTime, UNIX_EPOCH},
};

use base64::Engine as _;
use ring::signature::{ED25519, UnparsedPublicKey};

/// Balances are kept (and reported) with 8 decimals, as Binance does.
pub const BALANCE_EXPONENT: i8 = -8;
/// The venue's receive window (Binance's default `recvWindow`), in milliseconds.
const RECV_WINDOW_MS: i64 = 5_000;

/// A symbol of the venue: prices are mantissas at `price_exp`, quantities at `qty_exp`.
#[derive(Debug, Clone)]
pub struct SymbolDef {
    pub name: &'static str,
    pub base: &'static str,
    pub quote: &'static str,
    pub price_exp: i8,
    pub tick: i64,
    pub qty_exp: i8,
    pub step: i64,
    pub min_qty: i64,
}

/// A best bid/ask, mantissas at the symbol's exponents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quote {
    pub bid: i64,
    pub bid_qty: i64,
    pub ask: i64,
    pub ask_qty: i64,
}

/// What the venue is: its account and market.
#[derive(Debug, Clone)]
pub struct Script {
    /// The account's API key, and the Ed25519 public key registered with it.
    pub api_key: String,
    pub public_key: [u8; 32],
    pub symbols: Vec<SymbolDef>,
    /// Free balances, mantissas at [`BALANCE_EXPONENT`].
    pub balances: Vec<(String, i64)>,
    /// Quotes played on `<symbol>@bestBidAsk` when it is subscribed.
    pub quotes: Vec<(&'static str, Quote)>,
    /// MARKET orders fill at this price (mantissa at the symbol's price exponent).
    pub fill_price: i64,
    /// The venue's commission, in parts per million of the received quantity.
    pub commission_ppm: i64,
}

/// A filled order, as the venue reports it.
#[derive(Debug, Clone)]
pub struct Fill {
    pub order_id: i64,
    /// 0 = BUY, 1 = SELL (the schema's `orderSide`).
    pub side: u8,
    pub qty: i64,
    pub price: i64,
    pub commission: i64,
    pub commission_asset: String,
    pub trade_id: i64,
    pub client_order_id: String,
}

/// A REST request that reached the venue.
#[derive(Debug, Clone)]
pub struct RestCall {
    pub path: String,
    pub api_key: Option<String>,
    /// The `X-MBX-SBE` header (schema id:version).
    pub sbe: Option<String>,
    /// For signed endpoints: whether the signature and timestamp were valid.
    pub signed: Option<Result<(), String>>,
}

/// A WebSocket API request that reached the venue.
#[derive(Debug, Clone)]
pub struct WsApiCall {
    pub method: String,
    pub params: serde_json::Map<String, serde_json::Value>,
    /// For signed methods: whether the signature and timestamp were valid.
    pub signed: Option<Result<(), String>>,
}

/// Everything the venue received and sent.
#[derive(Debug, Clone, Default)]
pub struct Records {
    pub rest: Vec<RestCall>,
    /// The WebSocket URL queries the WebSocket API was opened with.
    pub ws_api_connects: Vec<String>,
    pub ws_api: Vec<WsApiCall>,
    /// Streams subscribed on the market data stream.
    pub subscriptions: Vec<String>,
    pub quotes_sent: usize,
    pub fills: Vec<Fill>,
    /// Balances after the last fill, as reported.
    pub balances: Vec<(String, i64)>,
    /// User data events sent, in order (`executionReport NEW`, ...).
    pub user_events: Vec<String>,
    /// Requests the venue did not serve, and why.
    pub refused: Vec<String>,
}

/// State shared by the server's handlers.
#[derive(Debug)]
struct Shared {
    script: Script,
    records: Mutex<Records>,
}

impl Shared {
    fn record<T>(&self, f: impl FnOnce(&mut Records) -> T) -> T {
        f(&mut self.records.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn refuse(&self, what: String) {
        self.record(|r| r.refused.push(what));
    }

    fn symbol(&self, name: &str) -> Option<&SymbolDef> {
        self.script.symbols.iter().find(|s| s.name == name)
    }

    /// Checks an Ed25519 `signature` (base64) of `payload` and the request's `timestamp`
    /// (milliseconds) against the receive window, as the venue does; Binance's error on
    /// failure.
    fn verify(&self, payload: &str, signature: &str, timestamp: Option<i64>) -> Result<(), String> {
        let sig = base64::engine::general_purpose::STANDARD
            .decode(signature)
            .map_err(|_| {
                "-1022 Signature for this request is not valid. (not base64)".to_string()
            })?;
        UnparsedPublicKey::new(&ED25519, self.script.public_key)
            .verify(payload.as_bytes(), &sig)
            .map_err(|_| "-1022 Signature for this request is not valid.".to_string())?;
        let ts = timestamp.ok_or("-1102 Mandatory parameter 'timestamp' was not sent")?;
        if (now_ms() - ts).abs() > RECV_WINDOW_MS {
            return Err("-1021 Timestamp for this request is outside of the recvWindow.".into());
        }
        Ok(())
    }
}

fn now_ms() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis(),
    )
    .unwrap_or(i64::MAX)
}

fn now_us() -> i64 {
    now_ms() * 1_000
}

/// A Binance error string `"<code> <message>"` as its code and message.
fn split_error(e: &str) -> (i16, &str) {
    let (code, msg) = e.split_once(' ').unwrap_or(("-1000", e));
    (code.parse().unwrap_or(-1000), msg)
}

/// The running loopback venue; stops when dropped.
#[derive(Debug)]
pub struct Loopback {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Loopback {
    /// Serves `script` on 127.0.0.1 at a free port, on its own thread and runtime.
    pub fn start(script: Script) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            records: Mutex::new(Records {
                balances: script.balances.clone(),
                ..Records::default()
            }),
            script,
        });
        let router = axum::Router::new()
            .route(
                "/api/v3/exchangeInfo",
                axum::routing::get(rest::exchange_info),
            )
            .route("/api/v3/account", axum::routing::get(rest::account))
            .route("/api/v3/openOrders", axum::routing::get(rest::open_orders))
            .route("/ws", axum::routing::get(stream::upgrade))
            .route("/ws-api/v3", axum::routing::get(ws_api::upgrade))
            .fallback(rest::fallback)
            .with_state(Arc::clone(&shared));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("binance-loopback".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                    tokio::select! {
                        r = axum::serve(listener, router) => r.unwrap(),
                        _ = stopped => {}
                    }
                });
            })
            .unwrap();
        Self {
            addr,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The REST base URL.
    pub fn http(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The market data stream URL.
    pub fn ws_stream(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// The WebSocket API endpoint (without the SBE query the client adds).
    pub fn ws_api(&self) -> String {
        format!("ws://{}/ws-api/v3", self.addr)
    }

    /// A copy of what the venue has received and sent so far.
    pub fn records(&self) -> Records {
        self.shared
            .records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for Loopback {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `value` (a decimal string) as a mantissa at `exp`, if it has no more decimals than that.
fn mantissa(value: &str, exp: i8) -> Option<i64> {
    let decimals = usize::from(exp.unsigned_abs());
    let (int, frac) = value.split_once('.').unwrap_or((value, ""));
    let frac = frac.trim_end_matches('0');
    if frac.len() > decimals || int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = format!("{int}{frac:0<decimals$}");
    digits.parse().ok()
}

/// `m` at exponent `from` re-expressed at the finer exponent `to`.
fn rescale(m: i64, from: i8, to: i8) -> i64 {
    m * 10_i64.pow(u32::from(from.abs_diff(to)))
}
