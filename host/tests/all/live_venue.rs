//! A live run on a real venue adapter: Nautilus's Binance spot data and execution clients
//! (nautilus-binance 0.57), configured by a `VenueConfig` whose keys come from
//! environment-like injection, pointed through the URL overrides at a loopback server that
//! speaks Binance's documented REST, SBE stream and WebSocket API messages (decision 0030).
//!
//! The bundled ema-cross component trades BTCUSDT: the venue's instruments load, its quotes
//! reach the component, its order passes the risk gate and Nautilus's risk engine, reaches
//! the venue as a signed `order.place` (the signature checked with the account's public key),
//! and the venue's fill comes back as a filled order, a fill and new balances in Nautilus's
//! cache and in the run's report.

pub(crate) mod loopback;

use std::{cell::Cell, rc::Rc, sync::Arc, time::Duration};

use nautilus_binance::common::encoder::decode_broker_id;
use nautilus_common::msgbus::{self, TypedHandler};
use nautilus_model::{
    accounts::Account,
    enums::OrderStatus,
    events::OrderEventAny,
    identifiers::{AccountId, InstrumentId},
    instruments::Instrument,
    orders::Order,
    types::Currency,
};
use ring::signature::{Ed25519KeyPair, KeyPair};
use stratbox::{
    audit::AuditLog,
    backtest::StrategySpec,
    capabilities::{
        market_data::MarketDataSource,
        risk_gate::{RiskHub, RiskPolicy},
    },
    nautilus::live::venue::{
        VenueConfig,
        keys::ed25519_pkcs8_base64,
        node::{VenueSpec, build_node, fetch_instruments, instrument_table},
    },
    notify::Notifiers,
};
use stratbox_artifacts as artifacts;

use self::loopback::{Loopback, Quote, Script, SymbolDef};
use crate::fixtures::{engine, load, params};

pub(crate) const API_KEY: &str = "loopback-api-key-0001";
pub(crate) const SEED: [u8; 32] = [0x5a; 32];
const KEY_VAR: &str = "LOOPBACK_BINANCE_API_KEY";
const SECRET_VAR: &str = "LOOPBACK_BINANCE_API_SECRET";
/// Every wait is bounded by this.
const LIMIT: Duration = Duration::from_secs(30);

/// The venue's public key for `seed`.
fn public_key(seed: &[u8; 32]) -> [u8; 32] {
    let pair = Ed25519KeyPair::from_seed_unchecked(seed).unwrap();
    pair.public_key().as_ref().try_into().unwrap()
}

/// BTCUSDT and ETHUSDT (prices to 0.01, quantities to 0.00001), 10,000 USDT and 0.5 BTC,
/// and BTCUSDT quotes whose mid falls then rises: ema-cross(2, 3) buys once, on the cross up.
pub(crate) fn script() -> Script {
    let symbol = |name, base| SymbolDef {
        name,
        base,
        quote: "USDT",
        price_exp: -2,
        tick: 1,
        qty_exp: -5,
        step: 1,
        min_qty: 1,
    };
    // Mid prices in whole USDT; the venue's prices are cents (exponent -2).
    let mids = [
        30_000, 29_990, 29_980, 29_970, 29_990, 30_020, 30_050, 30_080,
    ]
    .map(|m| m * 100);
    Script {
        api_key: API_KEY.into(),
        public_key: public_key(&SEED),
        symbols: vec![symbol("BTCUSDT", "BTC"), symbol("ETHUSDT", "ETH")],
        balances: vec![
            ("USDT".into(), 10_000 * 100_000_000),
            ("BTC".into(), 50_000_000),
        ],
        quotes: mids
            .iter()
            .map(|m| {
                let q = Quote {
                    bid: m - 50,
                    bid_qty: 150_000,
                    ask: m + 50,
                    ask_qty: 120_000,
                };
                ("BTCUSDT", q)
            })
            .collect(),
        fill_price: 3_008_050, // 30080.50
        commission_ppm: 1_000,
    }
}

/// The venue configuration a deployment would hold, pointed at `server`.
fn config(server: &Loopback) -> VenueConfig {
    VenueConfig::from_toml(&config_toml(server, "testnet")).unwrap()
}

/// [`config`] as written in a file, on `environment`.
fn config_toml(server: &Loopback, environment: &str) -> String {
    format!(
        r#"
venue = "binance-spot"
environment = "{environment}"
account_id = "BINANCE-001"
keys = {{ env = {{ api_key = "{KEY_VAR}", api_secret = "{SECRET_VAR}" }} }}
[urls]
http = "{}"
ws_stream = "{}"
ws_api = "{}"
"#,
        server.http(),
        server.ws_stream(),
        server.ws_api()
    )
}

/// The environment the keys are read from (not the process's).
fn env(name: &str) -> Result<String, std::env::VarError> {
    match name {
        KEY_VAR => Ok(API_KEY.into()),
        SECRET_VAR => Ok(ed25519_pkcs8_base64(&SEED)),
        _ => Err(std::env::VarError::NotPresent),
    }
}

/// A policy with real limits the one 0.001 BTC (about 30 USDT) order stays inside.
pub(crate) const POLICY: &str = r#"
version = "loopback-1"
currency = "USD"
[fx]
USDT = "1"
[defaults]
max_order_quantity = "0.002"
max_order_notional = "100"
max_position = "0.01"
allowed_instruments = ["BTCUSDT.BINANCE"]
allowed_order_types = ["market"]
"#;

/// Waits (bounded) for the venue's fill to reach the strategy, then for the balances the
/// venue reports after it to reach the cache.
async fn wait_for_fill_and_balances(
    filled: &Cell<bool>,
    wake: &tokio::sync::Notify,
    btc_total: &dyn Fn() -> Option<String>,
) -> Result<(), &'static str> {
    let fill = async {
        while !filled.get() {
            wake.notified().await;
        }
    };
    if tokio::time::timeout(LIMIT, fill).await.is_err() {
        return Err("no fill reached the strategy");
    }
    // Nautilus's portfolio writes a venue-reported account state to the cache without
    // publishing anything, so this one condition is polled (bounded).
    let deadline = tokio::time::Instant::now() + LIMIT;
    while btc_total().as_deref() != Some("0.50099900") {
        if tokio::time::Instant::now() > deadline {
            return Err("the venue's balances after the fill never reached the cache");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

#[test]
fn ema_cross_trades_binance_spot_through_the_adapter_against_a_loopback_venue() {
    let server = Loopback::start(script());
    let venue = config(&server).resolve_with(&env).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _entered = runtime.enter();

    // The venue's instruments, as the gates and the node will know them.
    let instruments = runtime.block_on(fetch_instruments(&venue)).unwrap();
    let btc = InstrumentId::from("BTCUSDT.BINANCE");
    let mut ids: Vec<String> = instruments.iter().map(|i| i.id().to_string()).collect();
    ids.sort();
    assert_eq!(ids, ["BTCUSDT.BINANCE", "ETHUSDT.BINANCE"]);
    let traded: Vec<_> = instruments.into_iter().filter(|i| i.id() == btc).collect();
    assert_eq!(
        (traded[0].price_precision(), traded[0].size_precision()),
        (2, 5)
    );
    let table = Arc::new(instrument_table(&traded));

    let sandbox = engine();
    let component = load(&sandbox, artifacts::EMA_CROSS);
    let audit = AuditLog::memory();
    let risk = RiskHub::new(
        RiskPolicy::from_toml(POLICY).unwrap(),
        audit.clone(),
        Notifiers::default(),
    );
    let spec = VenueSpec {
        instruments: traded,
        table: Arc::clone(&table),
        strategies: vec![StrategySpec::Component {
            component: &component,
            params: params(
                &component,
                &[
                    ("instrument_id", "BTCUSDT.BINANCE"),
                    ("trade_size", "0.001"),
                    ("fast_period", "2"),
                    ("slow_period", "3"),
                ],
            ),
        }],
        risk,
        timing: false,
    };
    let mut run = build_node(&venue, spec, &sandbox, &audit).unwrap();

    // The venue's fill reaching the strategy's order events is the event to wait for.
    let filled = Rc::new(Cell::new(false));
    let wake = Rc::new(tokio::sync::Notify::new());
    msgbus::subscribe_order_events(
        "events.order.*".into(),
        TypedHandler::from({
            let (filled, wake) = (Rc::clone(&filled), Rc::clone(&wake));
            move |e: &OrderEventAny| {
                if matches!(e, OrderEventAny::Filled(_)) {
                    filled.set(true);
                    wake.notify_one();
                }
            }
        }),
        None,
    );
    let handle = run.node.handle();
    let cache = Rc::clone(&run.node.kernel().cache);
    let account = AccountId::from("BINANCE-001");
    let btc_total = || {
        cache
            .borrow()
            .account(&account)
            .and_then(|a| a.balance_total(Some(Currency::get_or_create_crypto("BTC"))))
            .map(|m| m.as_decimal().to_string())
    };
    // A stop before the node runs is lost (nautilus-live 0.57), so a failed wait does not
    // wait for the node: it fails the test at once.
    let (ran, drove) = runtime.block_on(async {
        let drive = async {
            let done = wait_for_fill_and_balances(&filled, &wake, &btc_total).await;
            handle.stop();
            done
        };
        let node = tokio::time::timeout(LIMIT * 3, run.node.run());
        tokio::pin!(node);
        tokio::select! {
            ran = &mut node => (Some(ran), Err("the node stopped before the venue's fill")),
            drove = drive => match drove {
                Ok(()) => (Some(node.await), Ok(())),
                Err(e) => (None, Err(e)),
            },
        }
    });
    let records = server.records();
    drove.unwrap_or_else(|e| panic!("{e}\nvenue saw: {records:#?}"));
    assert!(
        matches!(ran, Some(Ok(Ok(())))),
        "node: {ran:?}\nvenue saw: {records:#?}"
    );

    // What reached the venue: signed REST calls, a logged-on WebSocket API session with the
    // SBE parameters, one market-data subscription, and nothing the venue does not serve.
    assert!(
        records.refused.is_empty(),
        "refused: {:#?}",
        records.refused
    );
    let paths: Vec<&str> = records.rest.iter().map(|c| c.path.as_str()).collect();
    assert!(paths.contains(&"/api/v3/exchangeInfo"), "{paths:?}");
    for path in ["/api/v3/account", "/api/v3/openOrders"] {
        let call = records.rest.iter().find(|c| c.path == path).unwrap();
        assert_eq!(call.signed, Some(Ok(())), "{path}: {call:?}");
        assert_eq!(call.api_key.as_deref(), Some(API_KEY));
        assert_eq!(call.sbe.as_deref(), Some("3:4"));
    }
    assert_eq!(
        records.ws_api_connects,
        ["responseFormat=sbe&sbeSchemaId=3&sbeSchemaVersion=4"]
    );
    let methods: Vec<&str> = records.ws_api.iter().map(|c| c.method.as_str()).collect();
    assert_eq!(
        methods,
        ["session.logon", "userDataStream.subscribe", "order.place"]
    );
    assert_eq!(records.ws_api[0].signed, Some(Ok(())));
    assert_eq!(records.subscriptions, ["btcusdt@bestBidAsk"]);
    assert_eq!(records.quotes_sent, 8);

    // The order, exactly as the venue received it, signed with the account's key.
    let place = &records.ws_api[2];
    assert_eq!(place.signed, Some(Ok(())), "{place:?}");
    let field = |k: &str| place.params.get(k).and_then(|v| v.as_str()).unwrap_or("");
    assert_eq!(field("symbol"), "BTCUSDT");
    assert_eq!(field("side"), "BUY");
    assert_eq!(field("type"), "MARKET");
    assert_eq!(field("quantity"), "0.00100");
    assert_eq!(field("newOrderRespType"), "FULL");
    assert_eq!(field("apiKey"), API_KEY);
    let mut keys: Vec<&str> = place.params.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "apiKey",
            "newClientOrderId",
            "newOrderRespType",
            "quantity",
            "side",
            "signature",
            "symbol",
            "timestamp",
            "type"
        ]
    );
    assert_eq!(
        records.user_events,
        [
            "executionReport NEW",
            "executionReport TRADE",
            "outboundAccountPosition"
        ]
    );

    // Nautilus's cache: the order the venue filled, under the id the venue was given.
    {
        let cache = run.node.kernel().cache.borrow();
        let orders = cache.orders(None, None, None, None, None);
        assert_eq!(orders.len(), 1, "{orders:?}");
        let order = &orders[0];
        assert_eq!(
            decode_broker_id(field("newClientOrderId"), "TD67BGP9"),
            order.client_order_id().as_str()
        );
        assert_eq!(order.status(), OrderStatus::Filled);
        assert_eq!(order.filled_qty().to_string(), "0.00100");
        assert_eq!(order.avg_px(), Some(30_080.5));
        assert_eq!(
            order.venue_order_id().map(|v| v.to_string()),
            Some(records.fills[0].order_id.to_string())
        );
        let account = cache.account(&account).unwrap();
        let usdt = account
            .balance_total(Some(Currency::get_or_create_crypto("USDT")))
            .unwrap();
        assert_eq!(usdt.as_decimal().to_string(), "9969.91950000");
    }
    // The last quote the component saw is the venue's last.
    let last = table.last_quote("BTCUSDT.BINANCE").unwrap();
    assert_eq!(
        (last.bid.raw, last.ask.raw),
        (30_079_500_000_000, 30_080_500_000_000)
    );

    // The run's report: one order accepted by the gate, filled by the venue.
    let report = run.outcome().report;
    let strategy = &report.strategies[0];
    let plugin = strategy.plugin.as_ref().unwrap();
    assert_eq!(plugin.orders_accepted_by_gate, 1);
    assert!(plugin.orders_refused_by_gate.is_empty());
    assert!(plugin.fault.is_none(), "{:?}", plugin.fault);
    let o = &strategy.orders[0];
    assert_eq!(
        (o.side.as_str(), o.order_type.as_str(), o.status.as_str()),
        ("BUY", "MARKET", "FILLED")
    );
    let f = &strategy.fills[0];
    assert_eq!(
        (f.last_qty.as_str(), f.last_px.as_str()),
        ("0.00100", "30080.50")
    );
    assert_eq!(f.commission.as_deref(), Some("0.00000100 BTC"));
}

/// The loopback's signature check can fail: a request signed with another key is refused
/// with Binance's error, so the test above proves the adapter signs with the configured key.
#[test]
fn the_loopback_venue_refuses_a_request_signed_with_another_key() {
    use nautilus_binance::spot::http::client::BinanceSpotHttpClient;
    use nautilus_core::time::get_atomic_clock_realtime;
    use nautilus_model::identifiers::AccountId;

    let server = Loopback::start(script());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = |seed: &[u8; 32]| {
        BinanceSpotHttpClient::new(
            nautilus_binance::common::enums::BinanceEnvironment::Testnet,
            get_atomic_clock_realtime(),
            Some(API_KEY.into()),
            Some(ed25519_pkcs8_base64(seed)),
            Some(server.http()),
            None,
            None,
            None,
        )
        .unwrap()
    };
    let account = AccountId::from("BINANCE-001");
    let wrong = runtime.block_on(client(&[0x11; 32]).request_account_state(account));
    let e = format!("{:#}", wrong.unwrap_err());
    assert!(e.contains("-1022"), "{e}");
    let right = runtime
        .block_on(client(&SEED).request_account_state(account))
        .unwrap();
    assert_eq!(right.balances.len(), 2);
    let calls = server.records().rest;
    assert_eq!(calls.len(), 2);
    assert!(matches!(&calls[0].signed, Some(Err(e)) if e.starts_with("-1022")));
    assert_eq!(calls[1].signed, Some(Ok(())));
}

/// `stratbox live --venue`: the same run from the command line, against the same loopback
/// venue, stopped by `--duration`; the venue's fill is in the printed report. Real money
/// without `--live-venues` is refused before anything connects.
#[test]
fn stratbox_live_trades_a_configured_venue_from_the_command_line() {
    let server = Loopback::start(script());
    let tmp = tempfile::tempdir().unwrap();
    let venue = tmp.path().join("venue.toml");
    std::fs::write(&venue, config_toml(&server, "testnet")).unwrap();
    let policy = tmp.path().join("policy.toml");
    std::fs::write(&policy, POLICY).unwrap();
    // `stratbox live --venue <venue> --plugin ema-cross --instrument BTCUSDT.BINANCE`, keys
    // in the child's environment.
    let live = |extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_stratbox"))
            .args(["live", "--venue"])
            .arg(&venue)
            .args(["--plugin", artifacts::EMA_CROSS])
            .args(["--instrument", "BTCUSDT.BINANCE"])
            .args(extra)
            .env(KEY_VAR, API_KEY)
            .env(SECRET_VAR, ed25519_pkcs8_base64(&SEED))
            .output()
            .unwrap()
    };
    let policy = policy.to_str().unwrap();
    let out = live(&[
        "--param",
        "trade_size=0.001",
        "--param",
        "fast_period=2",
        "--param",
        "slow_period=3",
        "--duration",
        "6",
        "--json",
        "--risk",
        policy,
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let strategy = &report["strategies"][0];
    let fills = strategy["fills"].as_array().unwrap();
    assert_eq!(fills.len(), 1, "{strategy:#}\n{stderr}");
    assert_eq!(
        (fills[0]["side"].as_str(), fills[0]["last_px"].as_str()),
        (Some("BUY"), Some("30080.50"))
    );
    assert_eq!(strategy["orders"][0]["status"], "FILLED");
    let methods: Vec<String> = server
        .records()
        .ws_api
        .iter()
        .map(|c| c.method.clone())
        .collect();
    assert!(methods.iter().any(|m| m == "order.place"), "{methods:?}");

    // environment = "live" is real money: refused without --live-venues, nothing contacted.
    let before = server.records().rest.len();
    std::fs::write(&venue, config_toml(&server, "live")).unwrap();
    let out = live(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("real money") && stderr.contains("--live-venues"),
        "{stderr}"
    );
    assert_eq!(
        server.records().rest.len(),
        before,
        "nothing reached the venue"
    );
}
