//! The risk gate on its own.
//!
//! No bypass, as a property: over random sequences of intents, prices, fills, cancels and
//! trading-state changes, every order that reaches the router was accepted by the gate
//! under the state of that moment: none while HALTED, only reducing ones while REDUCING,
//! and no policy limit or rate is ever exceeded.
//!
//! The test keeps its own book (positions from the fills it generates, open orders, times
//! of accepted orders) and checks each routed order against the policy with that book,
//! independently of the gate's code.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex, PoisonError},
};

use proptest::prelude::*;
use stratbox::{
    audit::{AuditAction, AuditLog},
    bindings::{
        risk_gate::Host,
        types::{
            OrderCancelled, OrderEvent, OrderFilled, OrderIntent, OrderKind, OrderSide, Price,
            Quantity, QuoteTick, RejectCode, RiskDecision, TimeInForce,
        },
    },
    capabilities::risk_gate::{
        GateIdentity, OrderRouter, RiskGateState, RiskHub, RiskPolicy, Scope, TradingState,
        ValidatedOrder,
    },
    catalog::InstrumentTable,
    notify::{MemoryNotifier, Notifiers},
    stubs::gbpusd_fxcm,
};

const UNIT: u64 = 1_000_000_000;
const ID: &str = "GBP/USD.FXCM";
const PLUGIN: &str = "prop";

const POLICY: &str = r#"
version = "prop-1"
currency = "USD"
[global]
max_open_orders = 6
[defaults]
max_order_quantity = "300000"
max_order_notional = "400000"
max_position = "500000"
max_open_orders = 3
max_orders_per_second = 4
max_orders_per_callback = 3
price_collar_bps = 50
allowed_order_types = ["market", "limit"]
"#;

/// What reached the router, with the test's view of the moment.
#[derive(Debug, Clone)]
struct Routed {
    intent: OrderIntent,
    id: String,
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Routed>>>);

struct TestRouter {
    capture: Capture,
    next: u64,
}

impl OrderRouter for TestRouter {
    fn submit(&mut self, order: &ValidatedOrder) -> Result<String, String> {
        self.next += 1;
        let id = format!("O-{}", self.next);
        self.capture
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Routed {
                intent: order.intent().clone(),
                id: id.clone(),
            });
        Ok(id)
    }

    fn cancel(&mut self, _order_id: &str) -> Result<(), String> {
        Ok(())
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// Time passes (ms) and a new quote arrives (mid in pips around 1.3, spread in pips).
    Quote {
        dt_ms: u64,
        mid_pips: i64,
        spread: i64,
    },
    /// A new callback starts.
    Callback,
    /// The plugin submits an order; `offset` in pips from the mid for a limit order.
    Submit {
        buy: bool,
        limit: Option<i64>,
        stop: bool,
        lots: u64,
    },
    /// The venue fills `pct` % of the k-th open order at the current side of the quote.
    Fill { k: usize, pct: u64 },
    /// The venue cancels the k-th open order.
    Cancel { k: usize },
    /// An operator changes a trading state.
    SetState { all: bool, state: TradingState },
}

fn op() -> impl Strategy<Value = Op> {
    let state = prop_oneof![
        3 => Just(TradingState::Active),
        1 => Just(TradingState::Reducing),
        1 => Just(TradingState::Halted),
    ];
    prop_oneof![
        4 => (0u64..1500, -300i64..300, 1i64..5)
            .prop_map(|(dt_ms, mid_pips, spread)| Op::Quote { dt_ms, mid_pips, spread }),
        2 => Just(Op::Callback),
        8 => (any::<bool>(), prop::option::of(-120i64..120), prop::bool::weighted(0.1), 1u64..40)
            .prop_map(|(buy, limit, stop, lots)| Op::Submit { buy, limit, stop, lots }),
        3 => (0usize..4, 1u64..=100).prop_map(|(k, pct)| Op::Fill { k, pct }),
        1 => (0usize..4).prop_map(|k| Op::Cancel { k }),
        1 => (any::<bool>(), state).prop_map(|(all, state)| Op::SetState { all, state }),
    ]
}

struct Model {
    net: i128,
    /// (id, side, remaining raw)
    open: Vec<(String, OrderSide, u64)>,
    accepted_at: VecDeque<u64>,
    plugin_state: TradingState,
    global_state: TradingState,
    bid: i64,
    ask: i64,
    quoted: bool,
    now: u64,
    in_callback: u64,
}

impl Model {
    fn effective(&self) -> TradingState {
        self.plugin_state.max(self.global_state)
    }
}

fn signed(side: OrderSide, raw: u64) -> i128 {
    if side == OrderSide::Buy {
        i128::from(raw)
    } else {
        -i128::from(raw)
    }
}

/// Checks one routed order against the policy with the model's book *before* it.
fn check_routed(r: &Routed, m: &Model) -> Result<(), TestCaseError> {
    let i = &r.intent;
    let state = m.effective();
    prop_assert_ne!(
        state,
        TradingState::Halted,
        "order {} routed while HALTED",
        r.id
    );
    let order = signed(i.side, i.quantity.raw);
    let same_side: i128 = m
        .open
        .iter()
        .map(|(_, s, q)| signed(*s, *q))
        .filter(|q| q.signum() == order.signum())
        .sum();
    if state == TradingState::Reducing {
        prop_assert!(
            m.net != 0
                && m.net.signum() != order.signum()
                && (order + same_side).abs() <= m.net.abs(),
            "order {} does not reduce {} while REDUCING",
            r.id,
            m.net
        );
    }
    prop_assert!(i.quantity.raw <= 300_000 * UNIT, "max_order_quantity");
    let worst = m.net + same_side + order;
    prop_assert!(
        worst.abs() <= 500_000 * i128::from(UNIT) || worst.abs() <= m.net.abs(),
        "max_position: worst case {worst}"
    );
    prop_assert!(m.open.len() < 3, "max_open_orders");
    prop_assert!(m.in_callback < 3, "max_orders_per_callback");
    let in_last_second = m.accepted_at.iter().filter(|t| **t + UNIT > m.now).count();
    prop_assert!(in_last_second < 4, "max_orders_per_second");
    prop_assert!(
        matches!(i.kind, OrderKind::Market | OrderKind::Limit(_)),
        "allowed_order_types"
    );
    prop_assert!(m.quoted, "valued without a quote");
    let mid = (i128::from(m.bid) + i128::from(m.ask)) / 2;
    let px = match i.kind {
        OrderKind::Limit(p) => {
            prop_assert!(
                (i128::from(p.raw) - mid).abs() * 10_000 <= mid * 50,
                "price collar"
            );
            i128::from(p.raw)
        }
        _ if i.side == OrderSide::Buy => i128::from(m.ask),
        _ => i128::from(m.bid),
    };
    let notional = i128::from(i.quantity.raw) * px / i128::from(UNIT);
    prop_assert!(notional <= 400_000 * i128::from(UNIT), "max_order_notional");
    Ok(())
}

struct Rig {
    gate: RiskGateState,
    hub: Arc<RiskHub>,
    audit: AuditLog,
    alerts: Arc<MemoryNotifier>,
    market: Arc<InstrumentTable>,
    capture: Capture,
}

fn rig(policy: &str) -> Rig {
    let audit = AuditLog::memory();
    let alerts = Arc::new(MemoryNotifier::default());
    let policy = RiskPolicy::from_toml(policy).expect("policy");
    let hub = RiskHub::new(
        policy,
        audit.clone(),
        Notifiers::default().with(alerts.clone()),
    );
    let mut table = InstrumentTable::new();
    table.insert(gbpusd_fxcm());
    let market = Arc::new(table);
    let capture = Capture::default();
    let gate = RiskGateState::new(
        true,
        None,
        market.clone(),
        Box::new(TestRouter {
            capture: capture.clone(),
            next: 0,
        }),
        10,
        GateIdentity {
            plugin: PLUGIN.to_string(),
            sha256: "0".repeat(64),
            hub: Arc::clone(&hub),
        },
    );
    Rig {
        gate,
        hub,
        audit,
        alerts,
        market,
        capture,
    }
}

fn run_case(ops: &[Op]) -> Result<(), TestCaseError> {
    let Rig {
        mut gate,
        hub,
        audit,
        market,
        capture,
        ..
    } = rig(POLICY);
    let mut m = Model {
        net: 0,
        open: Vec::new(),
        accepted_at: VecDeque::new(),
        plugin_state: TradingState::Active,
        global_state: TradingState::Active,
        bid: 0,
        ask: 0,
        quoted: false,
        now: 1_600_000_000 * UNIT,
        in_callback: 0,
    };
    gate.begin_callback(Some(m.now));
    let mut decisions = 0_usize;
    for op in ops {
        match op {
            Op::Quote {
                dt_ms,
                mid_pips,
                spread,
            } => {
                m.now += dt_ms * 1_000_000;
                let mid = 1_300_000_000 + mid_pips * 10_000;
                m.bid = mid - spread * 5_000;
                m.ask = mid + spread * 5_000;
                m.quoted = true;
                quote(&market, m.bid, m.ask, m.now);
                gate.observe_time(m.now);
                gate.mark_to_market();
            }
            Op::Callback => {
                gate.begin_callback(Some(m.now));
                m.in_callback = 0;
            }
            Op::Submit {
                buy,
                limit,
                stop,
                lots,
            } => {
                let side = if *buy {
                    OrderSide::Buy
                } else {
                    OrderSide::Sell
                };
                let mid = (m.bid + m.ask) / 2;
                let price = |offset: i64| Price {
                    raw: (mid.max(1_000_000_000) + offset * 10_000) / 10_000 * 10_000,
                    precision: 5,
                };
                let kind = match (limit, stop) {
                    (Some(o), true) => OrderKind::StopMarket(price(*o)),
                    (Some(o), false) => OrderKind::Limit(price(*o)),
                    (None, _) => OrderKind::Market,
                };
                let intent = OrderIntent {
                    instrument_id: ID.to_string(),
                    side,
                    kind,
                    quantity: Quantity {
                        raw: lots * 10_000 * UNIT,
                        precision: 0,
                    },
                    time_in_force: TimeInForce::Gtc,
                    reduce_only: false,
                    tag: None,
                };
                let before = capture.0.lock().expect("capture").len();
                let decision = gate.submit_order(intent).expect("granted");
                decisions += 1;
                let routed = capture.0.lock().expect("capture")[before..].to_vec();
                match &decision {
                    RiskDecision::Accepted(id) => {
                        prop_assert_eq!(routed.len(), 1, "accepted but not routed once");
                        prop_assert_eq!(&routed[0].id, id);
                        check_routed(&routed[0], &m)?;
                        m.open
                            .push((id.clone(), side, routed[0].intent.quantity.raw));
                        m.accepted_at.push_back(m.now);
                    }
                    RiskDecision::Rejected(_) => {
                        prop_assert!(routed.is_empty(), "refused but routed");
                    }
                }
                m.in_callback += 1;
            }
            Op::Fill { k, pct } => {
                if m.open.is_empty() {
                    continue;
                }
                let idx = k % m.open.len();
                let (id, side, remaining) = m.open[idx].clone();
                let qty = (remaining / UNIT * pct / 100).max(1) * UNIT;
                let qty = qty.min(remaining);
                let px = if side == OrderSide::Buy { m.ask } else { m.bid };
                gate.on_order_event(&OrderEvent::Filled(OrderFilled {
                    order_id: id.clone(),
                    instrument_id: ID.to_string(),
                    side,
                    last_px: Price {
                        raw: px.max(1),
                        precision: 5,
                    },
                    last_qty: Quantity {
                        raw: qty,
                        precision: 0,
                    },
                    ts_event: m.now,
                }));
                m.net += signed(side, qty);
                if qty == remaining {
                    m.open.remove(idx);
                } else {
                    m.open[idx].2 -= qty;
                }
            }
            Op::Cancel { k } => {
                if m.open.is_empty() {
                    continue;
                }
                let idx = k % m.open.len();
                let (id, ..) = m.open.remove(idx);
                gate.on_order_event(&OrderEvent::Cancelled(OrderCancelled {
                    order_id: id,
                    instrument_id: ID.to_string(),
                    ts_event: m.now,
                }));
            }
            Op::SetState { all, state } => {
                let scope = if *all {
                    Scope::All
                } else {
                    Scope::Plugin(PLUGIN.to_string())
                };
                hub.control
                    .set(&scope, *state, "property test", "tester", Some(m.now))
                    .expect("audited");
                if *all {
                    m.global_state = *state;
                } else {
                    m.plugin_state = *state;
                }
                if gate.take_halt().is_some() {
                    // The driver cancels everything on a halt; the venue confirms.
                    let ids = gate.cancel_all();
                    for id in ids {
                        gate.on_order_event(&OrderEvent::Cancelled(OrderCancelled {
                            order_id: id.clone(),
                            instrument_id: ID.to_string(),
                            ts_event: m.now,
                        }));
                        m.open.retain(|(o, ..)| *o != id);
                    }
                }
            }
        }
        prop_assert_eq!(gate.open_orders().len(), m.open.len(), "open orders agree");
        prop_assert_eq!(gate.positions().net_raw(ID), m.net, "positions agree");
    }
    let routed = capture.0.lock().expect("capture").len();
    // Intents past the per-callback limit are summarised when the next callback begins.
    gate.begin_callback(Some(m.now));
    let audited: u64 = audit
        .records()
        .iter()
        .filter(|r| r.action == AuditAction::OrderDecision)
        .map(|r| r.details()["count"].as_u64().unwrap_or(1))
        .sum();
    let audited = usize::try_from(audited).expect("count");
    prop_assert_eq!(audited, decisions, "every decision audited");
    prop_assert_eq!(gate.counts().accepted as usize, routed);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, ..ProptestConfig::default() })]

    #[test]
    fn no_order_reaches_the_router_without_passing_the_gate(
        ops in prop::collection::vec(op(), 1..60)
    ) {
        run_case(&ops)?;
    }
}

fn quote(market: &InstrumentTable, bid: i64, ask: i64, ts: u64) {
    market.observe_quote(
        ID,
        QuoteTick {
            stream: 0,
            bid: Price {
                raw: bid,
                precision: 5,
            },
            ask: Price {
                raw: ask,
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
            ts_event: ts,
            ts_init: ts,
        },
    );
}

fn market_buy(lots: u64) -> OrderIntent {
    OrderIntent {
        instrument_id: ID.to_string(),
        side: OrderSide::Buy,
        kind: OrderKind::Market,
        quantity: Quantity {
            raw: lots * 1_000 * UNIT,
            precision: 0,
        },
        time_in_force: TimeInForce::Gtc,
        reduce_only: false,
        tag: None,
    }
}

/// Quotes GBP/USD, buys `lots` thousand at market and fills it: a long position.
fn open_long(gate: &mut RiskGateState, market: &InstrumentTable, lots: u64) {
    let ts = 1_600_000_000 * UNIT;
    quote(market, 1_300_000_000, 1_300_100_000, ts);
    gate.begin_callback(Some(ts));
    let RiskDecision::Accepted(id) = gate.submit_order(market_buy(lots)).expect("granted") else {
        panic!("accepted")
    };
    gate.on_order_event(&OrderEvent::Filled(OrderFilled {
        order_id: id,
        instrument_id: ID.to_string(),
        side: OrderSide::Buy,
        last_px: Price {
            raw: 1_300_100_000,
            precision: 5,
        },
        last_qty: Quantity {
            raw: lots * 1_000 * UNIT,
            precision: 0,
        },
        ts_event: ts,
    }));
}

#[test]
fn a_position_mismatch_halts_the_plugin_audits_and_alerts() {
    let Rig {
        mut gate,
        audit,
        alerts,
        market,
        ..
    } = rig("version = \"m\"\n");
    open_long(&mut gate, &market, 10);
    assert_eq!(
        gate.reconcile(ID, i128::from(10_000 * UNIT)),
        None,
        "agreeing: nothing"
    );
    // Inject a mismatch: the venue reports a different position.
    let message = gate
        .reconcile(ID, i128::from(9_000 * UNIT))
        .expect("mismatch");
    assert!(message.contains("gate 10000 but venue 9000"), "{message}");
    assert_eq!(gate.trading_state(), TradingState::Halted);
    assert_eq!(gate.take_halt(), Some(false));
    let RiskDecision::Rejected(r) = gate.submit_order(market_buy(1)).expect("granted") else {
        panic!("refused while halted")
    };
    assert_eq!(r.code, RejectCode::Halted);
    let records = audit.records();
    assert!(
        records
            .iter()
            .any(|r| r.action == AuditAction::PositionMismatch)
    );
    assert!(
        records
            .iter()
            .any(|r| r.action == AuditAction::TradingStateChanged && r.details()["to"] == "HALTED")
    );
    let kinds: Vec<String> = alerts.alerts().into_iter().map(|a| a.kind).collect();
    assert_eq!(kinds, ["position-mismatch", "halted"]);
    stratbox::audit::verify(&records).expect("chain intact");
}

#[test]
fn reducing_accepts_only_reductions_and_decisions_name_the_policy() {
    let Rig {
        mut gate,
        hub,
        audit,
        market,
        ..
    } = rig("version = \"r7\"\n");
    open_long(&mut gate, &market, 5);
    hub.control
        .set(
            &Scope::All,
            TradingState::Reducing,
            "end of day",
            "ops",
            None,
        )
        .expect("audited");
    let RiskDecision::Rejected(r) = gate.submit_order(market_buy(1)).expect("granted") else {
        panic!("adding is refused")
    };
    assert_eq!(r.code, RejectCode::ReducingOnly);
    let mut sell = market_buy(6);
    sell.side = OrderSide::Sell;
    let RiskDecision::Rejected(r) = gate.submit_order(sell.clone()).expect("granted") else {
        panic!("flipping is refused")
    };
    assert_eq!(r.code, RejectCode::ReducingOnly);
    sell.quantity.raw = 5_000 * UNIT;
    assert!(matches!(
        gate.submit_order(sell).expect("granted"),
        RiskDecision::Accepted(_)
    ));
    let last = audit
        .records()
        .into_iter()
        .rev()
        .find(|r| r.action == AuditAction::OrderDecision)
        .expect("a decision");
    assert_eq!(last.details()["decision"], "accepted");
    assert_eq!(last.details()["policy_version"], "r7");
    assert_eq!(last.details()["state"], "REDUCING");
    assert_eq!(last.subject, format!("{PLUGIN}@{}", "0".repeat(64)));
}
