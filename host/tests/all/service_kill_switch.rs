//! The service-wide kill switch: `POST /v1/halt` and `/v1/resume` (and `stratbox halt --all
//! --server`) reach every deployment of a service, including one started while halted; the
//! halt is in the audit trail before any order is refused for it. And the `[global]`
//! limits of deployments of one service are checked against one shared book.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use stratbox::{
    audit::AuditLog,
    bindings::{
        risk_gate::Host,
        types::{
            OrderEvent, OrderFilled, OrderIntent, OrderKind, OrderSide, Price, Quantity, QuoteTick,
            RejectCode, RiskDecision, TimeInForce,
        },
    },
    capabilities::risk_gate::{
        GateIdentity, OrderRouter, RiskGateState, RiskHub, RiskPolicy, SharedRisk, ValidatedOrder,
    },
    catalog::InstrumentTable,
    notify::Notifiers,
    service::Server,
    stubs::gbpusd_fxcm,
};
use stratbox_artifacts as artifacts;

use crate::service_e2e::{Api, POLICY, SERIAL, config, runtime, session, story, wait_for};

/// The latest figures of a deployment's session (its last `progress` event).
pub(crate) fn progress(api: &Api, token: &str, dep: &str) -> Value {
    crate::service_e2e::events(api, token, dep)
        .into_iter()
        .rev()
        .find(|e| e["event"]["kind"] == "progress")
        .map(|e| e["event"].clone())
        .unwrap_or(Value::Null)
}

pub(crate) fn figure(api: &Api, token: &str, dep: &str, name: &str) -> u64 {
    progress(api, token, dep)[name].as_u64().unwrap_or(0)
}

fn trading_state(api: &Api, token: &str, dep: &str) -> String {
    let (s, v) = api.call("GET", &format!("/v1/deployments/{dep}"), Some(token), None);
    assert_eq!(s, 200, "{v}");
    v["trading_state"].as_str().unwrap().to_string()
}

#[test]
fn halt_and_resume_reach_every_deployment_of_the_service() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", tmp.path().join("stratbox.db").display());
    let rt = runtime();
    let admin = crate::service_e2e::admin_token(tmp.path(), &url);
    let server = rt
        .block_on(Server::start(config(tmp.path(), url.clone())))
        .unwrap();
    let api = Api::new(server.addr);
    let token = |name: &str, role: &str| api.token(&admin, name, role);
    let author = token("ada", "author");
    let operator = token("otto", "operator");

    let (s, v1) = api.upload(&author, artifacts::EMA_CROSS);
    assert_eq!(s, 201, "{v1}");
    let digest = v1["digest"].as_str().unwrap().to_string();
    let (s, g) = api.call(
        "POST",
        "/v1/grants",
        Some(&author),
        Some(json!({
            "digest": digest,
            "reason": "paper trading GBP/USD",
            "grant": { "capabilities": {
                "market-data": { "instruments": ["GBP/USD.FXCM"] },
                "risk-gate": { "instruments": ["GBP/USD.FXCM"] }
            } }
        })),
    );
    assert_eq!(s, 201, "{g}");
    let gid = g["id"].as_str().unwrap().to_string();
    let (s, g) = api.call(
        "POST",
        &format!("/v1/grants/{gid}/approve"),
        Some(&admin),
        Some(json!({})),
    );
    assert_eq!(s, 200, "{g}");
    let deploy = || {
        let (s, d) = api.call(
            "POST",
            "/v1/deployments",
            Some(&operator),
            Some(
                json!({ "plugin": digest, "grant": gid, "risk_policy": POLICY,
                "session": session(json!(40000.0)),
                "params": { "fast_period": "10", "slow_period": "20" } }),
            ),
        );
        assert_eq!(s, 201, "{d}");
        d["id"].as_str().unwrap().to_string()
    };
    let (a, b) = (deploy(), deploy());
    // Both trade before the halt.
    for dep in [&a, &b] {
        wait_for(120, "a fill in each deployment", || {
            (figure(&api, &operator, dep, "fills") > 0).then_some(())
        });
    }

    // A reason is required; an author may not pull the switch.
    let (s, e) = api.call("POST", "/v1/halt", Some(&operator), Some(json!({})));
    assert_eq!(s, 400, "{e}");
    let (s, e) = api.call(
        "POST",
        "/v1/halt",
        Some(&operator),
        Some(json!({ "reason": "  " })),
    );
    assert_eq!(s, 400, "{e}");
    assert!(e["message"].as_str().unwrap().contains("reason"), "{e}");
    let (s, e) = api.call(
        "POST",
        "/v1/halt",
        Some(&author),
        Some(json!({ "reason": "x" })),
    );
    assert_eq!(s, 403, "{e}");
    for dep in [&a, &b] {
        assert_eq!(trading_state(&api, &operator, dep), "ACTIVE");
    }

    // `--server` goes with --all or --deployment, not with a plugin of a state folder.
    let server_url = format!("http://{}", server.addr);
    let (code, _, stderr) = crate::fixtures::stratbox(&[
        "halt",
        "--plugin",
        "ema-cross",
        "--reason",
        "x",
        "--server",
        &server_url,
        "--token",
        &operator,
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--server goes with --all"), "{stderr}");

    // The kill switch, from the command line.
    let refused_before: Vec<u64> = [&a, &b]
        .iter()
        .map(|d| figure(&api, &operator, d, "orders_refused"))
        .collect();
    let (code, stdout, stderr) = crate::fixtures::stratbox(&[
        "halt",
        "--all",
        "--server",
        &server_url,
        "--token",
        &operator,
        "--reason",
        "desk kill switch",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let answer: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(answer["trading_state"], "HALTED", "{answer}");
    assert_eq!(answer["changed"], true, "{answer}");
    assert_eq!(answer["audited"], true, "{answer}");
    let listed: Vec<(&str, &str)> = answer["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["id"].as_str().unwrap(),
                d["trading_state"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(listed.contains(&(a.as_str(), "HALTED")), "{answer}");
    assert!(listed.contains(&(b.as_str(), "HALTED")), "{answer}");
    for dep in [&a, &b] {
        assert_eq!(trading_state(&api, &operator, dep), "HALTED");
    }
    // Both refuse the orders their plugin submits from now on.
    for (dep, before) in [&a, &b].into_iter().zip(&refused_before) {
        wait_for(120, "a refusal in each deployment", || {
            (figure(&api, &operator, dep, "orders_refused") > *before).then_some(())
        });
    }
    // A deployment started while halted starts halted.
    let c = deploy();
    assert_eq!(trading_state(&api, &operator, &c), "HALTED");
    let (s, out) = api.call(
        "DELETE",
        &format!("/v1/deployments/{c}"),
        Some(&operator),
        None,
    );
    assert_eq!(s, 200, "{out}");
    // Halting again changes nothing and records nothing.
    let (s, again) = api.call(
        "POST",
        "/v1/halt",
        Some(&operator),
        Some(json!({ "reason": "again" })),
    );
    assert_eq!((s, &again["changed"]), (200, &json!(false)), "{again}");
    // The service-wide halt is kept in the state folder, so a restart keeps it.
    let kept = std::fs::read_to_string(tmp.path().join("state/trading-state.json")).unwrap();
    assert!(
        kept.contains("HALTED") && kept.contains("desk kill switch"),
        "{kept}"
    );

    let (s, r) = api.call(
        "POST",
        "/v1/resume",
        Some(&operator),
        Some(json!({ "reason": "all clear" })),
    );
    assert_eq!(
        (s, r["trading_state"].as_str()),
        (200, Some("ACTIVE")),
        "{r}"
    );
    let fills_at_resume = figure(&api, &operator, &a, "fills");
    wait_for(120, "a fill after the resume", || {
        (figure(&api, &operator, &a, "fills") > fills_at_resume).then_some(())
    });
    assert_eq!(trading_state(&api, &operator, &b), "ACTIVE");

    // The trail: the halt is recorded before the first refusal it caused, and the chain
    // verifies. (A change is audited, then applied: an intent decided between the resume's
    // record and its effect is still refused, so refusals may follow the resume record.)
    let (_, trail) = api.call("GET", "/v1/audit?limit=10000", Some(&admin), None);
    let trail = trail.as_array().unwrap();
    let changes: Vec<&Value> = trail
        .iter()
        .filter(|r| r["action"] == "trading-state-changed" && r["subject"] == "all")
        .collect();
    assert_eq!(changes.len(), 2, "one halt, one resume: {changes:?}");
    assert_eq!(changes[0]["details"]["to"], "HALTED");
    assert_eq!(changes[0]["actor"], "otto (operator)");
    assert_eq!(changes[0]["details"]["reason"], "desk kill switch");
    assert_eq!(changes[1]["details"]["to"], "ACTIVE");
    let (halted_at, resumed_at) = (
        changes[0]["seq"].as_u64().unwrap(),
        changes[1]["seq"].as_u64().unwrap(),
    );
    let refusals: Vec<u64> = trail
        .iter()
        .filter(|r| r["action"] == "order-decision" && r["details"]["code"] == "halted")
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    assert!(refusals.len() >= 2, "{refusals:?}");
    assert!(
        refusals.iter().all(|s| *s > halted_at),
        "halt at {halted_at}, refusals {refusals:?}"
    );
    assert!(
        refusals.iter().filter(|s| **s < resumed_at).count() >= 2,
        "halt at {halted_at}, resume at {resumed_at}, refusals {refusals:?}"
    );
    let (s, v) = api.call("GET", "/v1/audit/verify", Some(&admin), None);
    assert_eq!(s, 200, "{v}");
    for dep in [&a, &b] {
        let (s, out) = api.call(
            "DELETE",
            &format!("/v1/deployments/{dep}"),
            Some(&operator),
            None,
        );
        assert_eq!(s, 200, "{out}\n{}", story(&api, &operator, dep));
    }
    let (s, h) = api.call(
        "POST",
        "/v1/halt",
        Some(&operator),
        Some(json!({ "reason": "overnight" })),
    );
    assert_eq!((s, &h["changed"]), (200, &json!(true)), "{h}");
    rt.block_on(server.shutdown());

    // A restart keeps a service-wide halt.
    let server = rt
        .block_on(Server::start(config(tmp.path(), url.clone())))
        .unwrap();
    let api = Api::new(server.addr);
    let (s, again) = api.call(
        "POST",
        "/v1/halt",
        Some(&operator),
        Some(json!({ "reason": "after restart" })),
    );
    assert_eq!((s, &again["changed"]), (200, &json!(false)), "{again}");
    rt.block_on(server.shutdown());
}

/// Records what reached it.
#[derive(Default)]
struct Router {
    next: u64,
    sent: Arc<Mutex<Vec<String>>>,
}

impl OrderRouter for Router {
    fn submit(&mut self, _order: &ValidatedOrder) -> Result<String, String> {
        self.next += 1;
        let id = format!("O-{}", self.next);
        self.sent.lock().unwrap().push(id.clone());
        Ok(id)
    }

    fn cancel(&mut self, _order_id: &str) -> Result<(), String> {
        Ok(())
    }
}

const UNIT: u64 = 1_000_000_000;
const ID: &str = "GBP/USD.FXCM";
const TS: u64 = 1_600_000_000 * UNIT;

fn gate(hub: &Arc<RiskHub>, market: &Arc<InstrumentTable>) -> RiskGateState {
    RiskGateState::new(
        true,
        None,
        Arc::clone(market) as _,
        Box::new(Router::default()),
        10,
        GateIdentity {
            // Every deployment runs the same plugin: the book must still tell them apart.
            plugin: "ema-cross".into(),
            sha256: "0".repeat(64),
            hub: Arc::clone(hub),
        },
    )
}

fn buy(thousands: u64) -> OrderIntent {
    OrderIntent {
        instrument_id: ID.to_string(),
        side: OrderSide::Buy,
        kind: OrderKind::Market,
        quantity: Quantity {
            raw: thousands * 1_000 * UNIT,
            precision: 0,
        },
        time_in_force: TimeInForce::Gtc,
        reduce_only: false,
        tag: None,
    }
}

/// Buys and fills `thousands` thousand at 1.30010: a long position.
fn go_long(gate: &mut RiskGateState, thousands: u64) -> RiskDecision {
    gate.begin_callback(Some(TS));
    let decision = gate.submit_order(buy(thousands)).unwrap();
    if let RiskDecision::Accepted(id) = &decision {
        gate.on_order_event(&OrderEvent::Filled(OrderFilled {
            order_id: id.clone(),
            instrument_id: ID.to_string(),
            side: OrderSide::Buy,
            last_px: Price {
                raw: 1_300_100_000,
                precision: 5,
            },
            last_qty: Quantity {
                raw: thousands * 1_000 * UNIT,
                precision: 0,
            },
            ts_event: TS,
        }));
    }
    decision
}

/// Host-wide gross exposure 200,000 USD: one deployment's 130,000 fits, the second's does
/// not once the first holds its position, though alone it would.
const GLOBAL: &str = r#"
version = "global"
currency = "USD"
[global]
max_gross_exposure = "200000"
"#;

#[test]
fn global_limits_hold_across_the_deployments_of_a_service() {
    let mut table = InstrumentTable::new();
    table.insert(gbpusd_fxcm());
    let market = Arc::new(table);
    market.observe_quote(
        ID,
        QuoteTick {
            stream: 0,
            bid: Price {
                raw: 1_300_000_000,
                precision: 5,
            },
            ask: Price {
                raw: 1_300_100_000,
                precision: 5,
            },
            bid_size: Quantity {
                raw: UNIT,
                precision: 0,
            },
            ask_size: Quantity {
                raw: UNIT,
                precision: 0,
            },
            ts_event: TS,
            ts_init: TS,
        },
    );
    let audit = AuditLog::memory();
    let shared = SharedRisk::new(audit.clone(), Notifiers::default());
    let policy = || RiskPolicy::from_toml(GLOBAL).unwrap();
    let hub_a = RiskHub::joined(policy(), &shared, "dep-a", Notifiers::default());
    let hub_b = RiskHub::joined(policy(), &shared, "dep-b", Notifiers::default());
    let (mut a, mut b) = (gate(&hub_a, &market), gate(&hub_b, &market));

    assert!(matches!(go_long(&mut a, 100), RiskDecision::Accepted(_)));
    let RiskDecision::Rejected(r) = go_long(&mut b, 100) else {
        panic!("the second deployment's order must be refused by the shared [global] limit")
    };
    assert_eq!(r.code, RejectCode::MaxGrossExposure);
    assert!(r.message.contains("host-wide"), "{}", r.message);
    // What is left under the host-wide limit is still open to it.
    assert!(matches!(go_long(&mut b, 50), RiskDecision::Accepted(_)));

    // A hub of its own (as each deployment had before) would not have seen the other's book.
    let alone = RiskHub::new(policy(), AuditLog::memory(), Notifiers::default());
    assert!(matches!(
        go_long(&mut gate(&alone, &market), 100),
        RiskDecision::Accepted(_)
    ));

    // One switch for both: the service-wide halt reaches each deployment's gate; a
    // deployment's own halt stays its own.
    use stratbox::capabilities::risk_gate::{Scope, TradingState};
    hub_a
        .control
        .halt(&Scope::All, "deployment a only", "otto", None)
        .unwrap();
    assert_eq!(a.trading_state(), TradingState::Halted);
    assert_eq!(b.trading_state(), TradingState::Active);
    shared
        .control
        .halt(&Scope::All, "kill switch", "otto", None)
        .unwrap();
    assert_eq!(b.trading_state(), TradingState::Halted);
    assert_eq!(
        b.take_halt(),
        Some(false),
        "the driver cancels b's open orders"
    );
    let RiskDecision::Rejected(r) = go_long(&mut b, 1) else {
        panic!("refused while halted")
    };
    assert_eq!(r.code, RejectCode::Halted);
    assert!(r.message.contains("kill switch"), "{}", r.message);
    shared
        .control
        .resume(&Scope::All, "all clear", "otto", None)
        .unwrap();
    assert_eq!(b.trading_state(), TradingState::Active);
    assert_eq!(
        a.trading_state(),
        TradingState::Halted,
        "a's own halt outlives the service-wide resume"
    );
    stratbox::audit::verify(&audit.records()).unwrap();
}

/// A trail whose disk is full.
struct FullDisk;

impl stratbox::audit::AuditStore for FullDisk {
    fn append(
        &mut self,
        _entry: &stratbox::audit::Entry<'_>,
    ) -> std::io::Result<stratbox::audit::AuditRecord> {
        Err(std::io::Error::other("no space left on device"))
    }
}

#[test]
fn a_service_wide_halt_takes_effect_even_when_it_cannot_be_audited() {
    use stratbox::capabilities::risk_gate::{Scope, TradingState, control::ControlError};
    let audit = AuditLog::continuing(Box::new(FullDisk));
    let shared = SharedRisk::new(audit, Notifiers::default());
    let policy = RiskPolicy::from_toml("version = \"v\"\n").unwrap();
    let hub = RiskHub::joined(policy, &shared, "dep-a", Notifiers::default());
    let halted = shared
        .control
        .halt(&Scope::All, "kill switch", "otto", None);
    assert!(matches!(halted, Err(ControlError::Audit(_))), "{halted:?}");
    assert_eq!(hub.control.effective("ema-cross").0, TradingState::Halted);
    // Any other change takes effect only once audited.
    let resumed = shared
        .control
        .resume(&Scope::All, "all clear", "otto", None);
    assert!(
        matches!(resumed, Err(ControlError::Audit(_))),
        "{resumed:?}"
    );
    assert_eq!(hub.control.effective("ema-cross").0, TradingState::Halted);
}
