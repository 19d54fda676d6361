//! Signal delivery properties: provenance survives validation, storage and the contract
//! unchanged; replay repeats the live sequence exactly; no plugin outside its grant ever
//! receives a signal; every malformed variant is refused with a reason naming the field.

use std::{collections::BTreeMap, sync::Arc};

use proptest::prelude::*;
use serde_json::{Value as Json, json};
use stratbox::{
    bindings::{
        signals::Host as _,
        types::{SignalScalar, SignalType, SignalValue},
    },
    capabilities::signals::{SignalScope, SignalsState},
    catalog::instrument_defs::Instruments,
    signals::{
        Signal, SignalKind, SignalLimits, TimeCheck, Validator,
        buffer::SignalBuffer,
        router::{BreakerConfig, Consumer, DeliveryError, RetryPolicy, SignalRouter},
        store::{Ack, Incoming, SignalStore},
    },
};

const INSTRUMENTS: [&str; 2] = ["GBP/USD.FXCM", "BTCUSDT-PERP.BINANCE"];
const T0: u64 = 1_641_081_600_000_000_000;

fn validator() -> Validator {
    Validator::new(
        Instruments::bundled().ids(),
        SignalLimits::default(),
        TimeCheck::Backtest,
    )
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn kind_name() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "REGIME_PREDICTION",
        "CORRELATION_SHIFT",
        "SENTIMENT",
        "VOLATILITY_FORECAST",
    ])
}

fn text(max: usize) -> impl Strategy<Value = String> {
    // Printable text, including non-ASCII, no control characters.
    prop::collection::vec(prop::char::range(' ', '\u{2FFF}'), 1..max)
        .prop_map(|v| v.into_iter().collect::<String>())
        .prop_filter("no control characters", |s| {
            !s.chars().any(char::is_control)
        })
}

fn finite() -> impl Strategy<Value = f64> {
    prop::num::f64::NORMAL | prop::num::f64::ZERO | prop::num::f64::SUBNORMAL
}

fn value() -> impl Strategy<Value = Json> {
    prop_oneof![
        finite().prop_map(|x| json!(x)),
        text(40).prop_map(Json::String),
        prop::collection::btree_map(
            text(16),
            prop_oneof![
                finite().prop_map(|x| json!(x)),
                text(20).prop_map(Json::String)
            ],
            1..6
        )
        .prop_map(|m| Json::Object(m.into_iter().collect())),
    ]
}

/// A valid input signal object.
fn valid_object() -> impl Strategy<Value = Json> {
    (
        "[A-Za-z0-9._:/-]{1,40}",
        kind_name(),
        prop::sample::select(INSTRUMENTS.to_vec()),
        T0..T0 + 1_000_000_000_000_000,
        0.0f64..=1.0,
        value(),
        prop::collection::btree_map(text(16), text(40), 0..5),
        text(30),
    )
        .prop_map(
            |(id, kind, instrument, ts, confidence, value, metadata, model)| {
                json!({
                    "signal_id": id,
                    "signal_type": kind,
                    "instrument_id": instrument,
                    "timestamp": ts,
                    "confidence": confidence,
                    "value": value,
                    "metadata": metadata,
                    "source_model": model,
                })
            },
        )
}

fn scalar_eq(input: &Json, got: &SignalScalar) -> bool {
    match (input, got) {
        (Json::Number(n), SignalScalar::Float(x)) => n.as_f64().unwrap().to_bits() == x.to_bits(),
        (Json::String(s), SignalScalar::Text(t)) => s == t,
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Every field a model sent arrives at `on-signal` as sent, after validation, the
    /// SQLite store and the contract's types.
    #[test]
    fn provenance_arrives_unchanged(objects in prop::collection::vec(valid_object(), 1..8)) {
        let v = validator();
        let rt = rt();
        let store = rt.block_on(SignalStore::in_memory()).unwrap();
        // Unique ids within the batch (a repeated id would be a duplicate, tested elsewhere).
        let mut seen = std::collections::BTreeSet::new();
        let objects: Vec<Json> = objects.into_iter().filter(|o| seen.insert(o["signal_id"].as_str().unwrap().to_string())).collect();
        let batch: Vec<Incoming> = objects
            .iter()
            .map(|o| Incoming::Valid {
                signal: v.parse_json(&o.to_string()).unwrap(),
                source: "prop".into(),
                correlation_id: "c".into(),
            })
            .collect();
        let acks = rt.block_on(store.append(&batch, 1)).unwrap();
        prop_assert!(acks.iter().all(|a| matches!(a, Ack::Stored { .. })), "not all stored: {:?}", acks);
        let stored = rt.block_on(store.read_after(0, 100)).unwrap();
        prop_assert_eq!(stored.len(), objects.len());
        for (o, s) in objects.iter().zip(&stored) {
            let w = s.signal.to_wit();
            prop_assert_eq!(&w.signal_id, o["signal_id"].as_str().unwrap());
            prop_assert_eq!(&w.instrument_id, o["instrument_id"].as_str().unwrap());
            prop_assert_eq!(&w.source_model, o["source_model"].as_str().unwrap());
            prop_assert_eq!(w.ts, o["timestamp"].as_u64().unwrap());
            prop_assert_eq!(w.confidence.to_bits(), o["confidence"].as_f64().unwrap().to_bits());
            prop_assert_eq!(SignalKind::parse(o["signal_type"].as_str().unwrap()).unwrap().wit(), w.signal_type);
            let meta: BTreeMap<String, String> = w.metadata.iter().cloned().collect();
            let want: BTreeMap<String, String> = o["metadata"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())).collect();
            prop_assert_eq!(meta, want);
            match (&o["value"], &w.value) {
                (Json::Number(n), SignalValue::Float(x)) => prop_assert_eq!(n.as_f64().unwrap().to_bits(), x.to_bits()),
                (Json::String(t), SignalValue::Text(u)) => prop_assert_eq!(t, u),
                (Json::Object(m), SignalValue::Map(entries)) => {
                    prop_assert_eq!(m.len(), entries.len());
                    for (k, got) in entries {
                        prop_assert!(scalar_eq(&m[k], got), "value.{} changed", k);
                    }
                }
                (a, b) => prop_assert!(false, "value kind changed: {a} -> {b:?}"),
            }
        }
    }
}

/// One way to break a valid signal, and the field its refusal must name.
type Malformation = (&'static str, fn(&mut Json));

fn malform() -> impl Strategy<Value = Malformation> {
    let cases: Vec<Malformation> = vec![
        ("signal_id", |o| {
            o.as_object_mut().unwrap().remove("signal_id");
        }),
        ("signal_id", |o| o["signal_id"] = json!("")),
        ("signal_id", |o| o["signal_id"] = json!(42)),
        ("signal_id", |o| o["signal_id"] = json!("x".repeat(129))),
        ("signal_id", |o| o["signal_id"] = json!("bad\nid")),
        ("signal_type", |o| {
            o.as_object_mut().unwrap().remove("signal_type");
        }),
        ("signal_type", |o| o["signal_type"] = json!("ASTROLOGY")),
        ("signal_type", |o| o["signal_type"] = json!(["SENTIMENT"])),
        ("instrument_id", |o| {
            o["instrument_id"] = json!("NOPE.NOWHERE")
        }),
        ("instrument_id", |o| {
            o.as_object_mut().unwrap().remove("instrument_id");
        }),
        ("timestamp", |o| {
            o.as_object_mut().unwrap().remove("timestamp");
        }),
        ("timestamp", |o| o["timestamp"] = json!(1_641_081_600)),
        ("timestamp", |o| o["timestamp"] = json!(-5)),
        ("timestamp", |o| o["timestamp"] = json!(1.5e18)),
        ("timestamp", |o| o["timestamp"] = json!("2022-01-01")),
        ("confidence", |o| o["confidence"] = json!(1.0000001)),
        ("confidence", |o| o["confidence"] = json!(-0.1)),
        ("confidence", |o| o["confidence"] = json!("0.5")),
        ("confidence", |o| {
            o.as_object_mut().unwrap().remove("confidence");
        }),
        ("value", |o| {
            o.as_object_mut().unwrap().remove("value");
        }),
        ("value", |o| o["value"] = json!([1, 2])),
        ("value", |o| o["value"] = json!(true)),
        ("value", |o| o["value"] = json!({})),
        ("value", |o| o["value"] = json!("x".repeat(257))),
        ("value.a", |o| o["value"] = json!({"a": {"nested": 1}})),
        ("value.a", |o| o["value"] = json!({"a": null})),
        ("value", |o| {
            o["value"] = Json::Object((0..65).map(|i| (format!("k{i}"), json!(i))).collect())
        }),
        ("metadata", |o| o["metadata"] = json!("text")),
        ("metadata.n", |o| o["metadata"] = json!({"n": 1})),
        ("metadata", |o| {
            o["metadata"] = Json::Object((0..33).map(|i| (format!("k{i}"), json!("v"))).collect())
        }),
        ("metadata.k", |o| {
            o["metadata"] = json!({"k": "v".repeat(513)})
        }),
        ("source_model", |o| {
            o.as_object_mut().unwrap().remove("source_model");
        }),
        ("source_model", |o| o["source_model"] = json!("")),
        ("surprise", |o| o["surprise"] = json!(1)),
        ("signal", |o| *o = json!(["not", "an", "object"])),
        ("signal", |o| *o = json!({"metadata": "x".repeat(40_000)})),
    ];
    prop::sample::select(cases)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Every malformed variant is refused, and the refusal names the field that is wrong.
    #[test]
    fn every_malformed_variant_is_refused_with_a_reason(
        mut o in valid_object(),
        (field, break_it) in malform(),
    ) {
        break_it(&mut o);
        let refusal = validator().validate(&o).unwrap_err();
        prop_assert!(
            refusal.0.iter().any(|p| p.at == field && !p.message.is_empty()),
            "expected a problem with `{field}`, got: {refusal}"
        );
    }

    /// The same refusal through the text entry point (as JSONL lines and HTTP bodies arrive).
    #[test]
    fn malformed_text_is_refused(line in "\\PC{0,64}") {
        if let Err(r) = validator().parse_json(&line) {
            prop_assert!(!r.0.is_empty());
        }
    }
}

#[test]
fn not_json_and_non_finite_are_refused() {
    let v = validator();
    let e = v.parse_json("{\"signal_id\": ").unwrap_err();
    assert_eq!(e.0[0].at, "signal");
    assert!(e.0[0].message.contains("not valid JSON"), "{e}");
    let e = v.parse_json(r#"{"confidence": 1e999}"#).unwrap_err();
    assert!(e.to_string().contains("signal"), "{e}");
    // A repeated key would silently keep one of two values: refused, naming the key.
    let e = v
        .parse_json(r#"{"signal_id":"a","signal_type":"SENTIMENT","instrument_id":"GBP/USD.FXCM","timestamp":1641081600000000000,"confidence":0.1,"confidence":0.9,"value":1,"source_model":"m"}"#)
        .unwrap_err();
    assert!(
        e.to_string().contains("the key `confidence` appears twice"),
        "{e}"
    );
}

#[test]
fn live_mode_refuses_stale_and_future_timestamps() {
    let now = T0 + 3_600_000_000_000;
    let v = Validator::new(
        INSTRUMENTS,
        SignalLimits::default(),
        TimeCheck::Live {
            now_ns: now,
            max_age_ns: 60_000_000_000,
            max_ahead_ns: 1_000_000_000,
        },
    );
    let mut o = json!({"signal_id": "a", "signal_type": "SENTIMENT", "instrument_id": "GBP/USD.FXCM",
        "timestamp": now - 1_000, "confidence": 0.5, "value": 0.1, "source_model": "m"});
    assert!(v.validate(&o).is_ok());
    o["timestamp"] = json!(now - 61_000_000_000);
    assert!(v.validate(&o).unwrap_err().to_string().contains("old"));
    o["timestamp"] = json!(now + 2_000_000_000);
    assert!(v.validate(&o).unwrap_err().to_string().contains("ahead"));
}

/// A consumer that records what it got.
#[derive(Debug)]
struct Recorder {
    name: String,
    state: SignalsState,
    got: Vec<String>,
}

impl Consumer for Recorder {
    fn name(&self) -> &str {
        &self.name
    }
    fn wants(&self, s: &Signal) -> bool {
        self.state
            .wants_parts(s.signal_type.wit(), &s.instrument_id, &s.source_model)
    }
    fn deliver(&mut self, s: &Signal) -> Result<(), DeliveryError> {
        self.got.push(s.signal_id.clone());
        Ok(())
    }
}

fn wit_type(i: usize) -> SignalType {
    SignalKind::ALL[i % 4].wit()
}

/// A consumer's grant and subscriptions, as generated.
#[derive(Debug, Clone)]
struct GrantSpec {
    granted: bool,
    types: Option<Vec<usize>>,
    instruments: Option<Vec<usize>>,
    models: Option<Vec<usize>>,
    subs: Vec<(usize, Option<usize>)>,
}

fn grant_spec() -> impl Strategy<Value = GrantSpec> {
    (
        any::<bool>(),
        prop::option::of(prop::collection::vec(0..4usize, 0..3)),
        prop::option::of(prop::collection::vec(0..2usize, 1..2)),
        prop::option::of(prop::collection::vec(0..3usize, 1..3)),
        prop::collection::vec((0..4usize, prop::option::of(0..2usize)), 0..5),
    )
        .prop_map(|(granted, types, instruments, models, subs)| GrantSpec {
            granted,
            types,
            instruments,
            models,
            subs,
        })
}

const MODELS: [&str; 3] = ["m0", "m1", "m2"];

fn recorder(i: usize, g: &GrantSpec) -> Recorder {
    let market = Arc::new(Instruments::bundled().table());
    let scope = SignalScope {
        // As `capabilities::signal_scope` reads a manifest: an empty list does not narrow.
        types: g
            .types
            .as_ref()
            .filter(|t| !t.is_empty())
            .map(|t| t.iter().map(|&k| wit_type(k)).collect()),
        instruments: g
            .instruments
            .as_ref()
            .map(|v| v.iter().map(|&k| INSTRUMENTS[k].to_string()).collect()),
        source_models: g
            .models
            .as_ref()
            .map(|v| v.iter().map(|&k| MODELS[k].to_string()).collect()),
    };
    // Subscribe through the real host functions, granted so the plugin may; the grant flag
    // is applied after, as `capabilities::revoke` would.
    let mut state = SignalsState::new(true, scope, market, 64);
    for (t, inst) in &g.subs {
        let _ = state.subscribe(wit_type(*t), inst.map(|k| INSTRUMENTS[k].to_string()));
    }
    if !g.granted {
        state = {
            let mut s = SignalsState::new(
                false,
                SignalScope::default(),
                Arc::new(Instruments::bundled().table()),
                64,
            );
            // An ungranted plugin cannot subscribe at all.
            for (t, inst) in &g.subs {
                assert!(
                    s.subscribe(wit_type(*t), inst.map(|k| INSTRUMENTS[k].to_string()))
                        .is_err()
                );
            }
            s
        };
    }
    Recorder {
        name: format!("c{i}"),
        state,
        got: Vec::new(),
    }
}

fn entitled(g: &GrantSpec, s: &Signal) -> bool {
    let t = SignalKind::ALL
        .iter()
        .position(|k| *k == s.signal_type)
        .unwrap();
    let inst = INSTRUMENTS
        .iter()
        .position(|i| *i == s.instrument_id)
        .unwrap();
    let model = MODELS.iter().position(|m| *m == s.source_model).unwrap();
    g.granted
        && g.types
            .as_ref()
            .is_none_or(|v| v.is_empty() || v.contains(&t))
        && g.instruments.as_ref().is_none_or(|v| v.contains(&inst))
        && g.models.as_ref().is_none_or(|v| v.contains(&model))
        && g.subs
            .iter()
            .any(|(st, si)| *st == t && si.is_none_or(|k| k == inst))
}

fn signal(i: usize, t: usize, inst: usize, model: usize, ts: u64) -> Signal {
    validator()
        .validate(
            &json!({"signal_id": format!("s{i}"), "signal_type": SignalKind::ALL[t].name(),
            "instrument_id": INSTRUMENTS[inst], "timestamp": ts, "confidence": 0.5,
            "value": "x", "source_model": MODELS[model]}),
        )
        .unwrap()
}

fn stored(signal: Signal, seq: i64) -> stratbox::signals::store::Stored {
    stratbox::signals::store::Stored {
        seq,
        signal,
        source: "t".into(),
        correlation_id: "c".into(),
        received_ns: 0,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// A consumer receives a signal exactly when its grant, the grant's scope and one of its
    /// subscriptions all allow it; an ungranted consumer never receives anything.
    #[test]
    fn no_ungranted_plugin_ever_receives_a_signal(
        grants in prop::collection::vec(grant_spec(), 1..6),
        signals in prop::collection::vec((0..4usize, 0..2usize, 0..3usize), 1..40),
    ) {
        let mut router = SignalRouter::new(RetryPolicy::default(), BreakerConfig::default());
        for (i, g) in grants.iter().enumerate() {
            router.add(recorder(i, g));
        }
        let signals: Vec<Signal> = signals.iter().enumerate().map(|(i, &(t, inst, m))| signal(i, t, inst, m, T0 + i as u64)).collect();
        for (i, s) in signals.iter().enumerate() {
            let out = router.route(&stored(s.clone(), i as i64 + 1));
            prop_assert!(out.failed.is_empty());
        }
        for (i, g) in grants.iter().enumerate() {
            let want: Vec<String> = signals.iter().filter(|s| entitled(g, s)).map(|s| s.signal_id.clone()).collect();
            let got = &router.consumer(i).unwrap().got;
            prop_assert_eq!(got, &want, "consumer {} with {:?}", i, g);
            if !g.granted {
                prop_assert!(got.is_empty());
            }
        }
    }

    /// Live delivery (as batches commit) and any number of replays of a window give the
    /// identical sequence: the acknowledgement order, duplicates dropped.
    #[test]
    fn replay_gives_the_identical_sequence(
        items in prop::collection::vec((0..4usize, 0..2usize, 0..3usize, 0..50u64, 0..60usize), 1..80),
        cut in prop::collection::vec(1..10usize, 1..10),
        window in (0..50u64, 1..51u64),
    ) {
        let rt = rt();
        let store = rt.block_on(SignalStore::in_memory()).unwrap();
        let (from, to) = (T0 + window.0.min(window.1), T0 + window.0.max(window.1) + 1);
        // Ids repeat (idempotent duplicates) when `id` repeats with the same content.
        let signals: Vec<Signal> = items.iter().map(|&(t, inst, m, ts, id)| {
            let mut s = signal(id, t, inst, m, T0 + ts);
            s.signal_id = format!("s{id}-{t}-{inst}-{m}-{ts}");
            s
        }).collect();
        let grants = GrantSpec { granted: true, types: None, instruments: None, models: None,
            subs: (0..4).map(|t| (t, None)).collect() };
        let live = rt.block_on(async {
            let (buffer, writer) = SignalBuffer::start(store.clone(), 64, || 7);
            let mut router = SignalRouter::new(RetryPolicy::default(), BreakerConfig::default());
            router.add(recorder(0, &grants));
            let mut rest = &signals[..];
            let mut after = 0;
            let mut cuts = cut.iter().cycle();
            while !rest.is_empty() {
                let n = (*cuts.next().unwrap()).min(rest.len());
                let batch = rest[..n].iter().map(|s| Incoming::Valid { signal: s.clone(), source: "p".into(), correlation_id: "c".into() }).collect();
                rest = &rest[n..];
                buffer.submit(batch).await.unwrap();
                for s in store.read_after(after, 1_000).await.unwrap() {
                    after = s.seq;
                    if (from..to).contains(&s.signal.timestamp) {
                        router.route(&s);
                    }
                }
            }
            drop(buffer);
            writer.await.unwrap();
            router.consumer(0).unwrap().got.clone()
        });
        let replay = |page: u32| -> Vec<String> {
            let mut router = SignalRouter::new(RetryPolicy::default(), BreakerConfig::default());
            router.add(recorder(0, &grants));
            let mut after = 0;
            loop {
                let rows = rt.block_on(store.read_range(from, to, after, page)).unwrap();
                let Some(last) = rows.last() else { break };
                after = last.seq;
                for s in &rows { router.route(s); }
            }
            router.consumer(0).unwrap().got.clone()
        };
        let first = replay(1_000);
        prop_assert_eq!(&first, &live);
        prop_assert_eq!(&replay(3), &live);
        // Exactly once: the distinct signals in the window, in first-acknowledged order.
        let mut seen = std::collections::BTreeSet::new();
        let want: Vec<String> = signals.iter().filter(|s| (from..to).contains(&s.timestamp)).filter(|s| seen.insert(s.signal_id.clone())).map(|s| s.signal_id.clone()).collect();
        prop_assert_eq!(first, want);
    }
}

#[test]
fn duplicates_are_idempotent_and_conflicts_are_dead_lettered() {
    let rt = rt();
    let store = rt.block_on(SignalStore::in_memory()).unwrap();
    let s = signal(1, 0, 0, 0, T0);
    let mut changed = s.clone();
    changed.confidence = 0.9;
    let item = |s: &Signal| Incoming::Valid {
        signal: s.clone(),
        source: "f:1".into(),
        correlation_id: "c".into(),
    };
    let acks = rt
        .block_on(store.append(&[item(&s), item(&s), item(&changed)], 1))
        .unwrap();
    assert_eq!(acks[0], Ack::Stored { seq: 1 });
    assert_eq!(acks[1], Ack::Duplicate { seq: 1 });
    assert!(
        matches!(&acks[2], Ack::DeadLettered { reason, .. } if reason.contains("different content")),
        "{acks:?}"
    );
    assert_eq!(rt.block_on(store.count()).unwrap(), 1);
    let dead = rt
        .block_on(store.dead_letters(Some("duplicate"), 0, 10))
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].signal_id.as_deref(), Some("s1"));
}

/// A consumer failing as told.
#[derive(Debug)]
struct Flaky {
    fails: Vec<Option<DeliveryError>>,
    calls: usize,
}

impl Consumer for Flaky {
    fn name(&self) -> &str {
        "flaky"
    }
    fn wants(&self, _: &Signal) -> bool {
        true
    }
    fn deliver(&mut self, _: &Signal) -> Result<(), DeliveryError> {
        let r = self.fails.get(self.calls).cloned().flatten();
        self.calls += 1;
        r.map_or(Ok(()), Err)
    }
}

#[test]
fn transient_failures_are_retried_with_backoff_and_the_breaker_opens_and_recovers() {
    let sleeps = Arc::new(std::sync::Mutex::new(Vec::new()));
    let now = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let (s2, n2) = (Arc::clone(&sleeps), Arc::clone(&now));
    let t = || Some(DeliveryError::Transient("busy".into()));
    let p = || Some(DeliveryError::Permanent("fault".into()));
    let mut router = SignalRouter::with_time(
        RetryPolicy {
            attempts: 3,
            first_backoff: std::time::Duration::from_millis(10),
            max_backoff: std::time::Duration::from_millis(15),
        },
        BreakerConfig {
            failures_to_open: 2,
            open_for: std::time::Duration::from_nanos(100),
        },
        Box::new(move |d| s2.lock().unwrap().push(d)),
        Box::new(move || n2.load(std::sync::atomic::Ordering::SeqCst)),
    );
    // 1: transient twice then ok. 2: permanent. 3: permanent -> opens. 4: skipped (open).
    // 5 (after cooldown): half-open trial succeeds -> closed.
    router.add(Flaky {
        fails: vec![t(), t(), None, p(), p(), None],
        calls: 0,
    });
    let s = |i| stored(signal(i, 0, 0, 0, T0), i as i64);
    assert_eq!(router.route(&s(1)).delivered, vec![0]);
    assert_eq!(
        *sleeps.lock().unwrap(),
        vec![
            std::time::Duration::from_millis(10),
            std::time::Duration::from_millis(15)
        ]
    );
    assert_eq!(router.route(&s(2)).failed[0].1, "fault");
    let third = router.route(&s(3));
    assert!(matches!(
        third.breaker_changes[..],
        [(0, stratbox::signals::router::Breaker::Open { .. })]
    ));
    let fourth = router.route(&s(4));
    assert!(fourth.failed[0].1.contains("circuit open"), "{fourth:?}");
    assert_eq!(
        router.consumer(0).unwrap().calls,
        5,
        "an open breaker makes no call"
    );
    now.store(1_000, std::sync::atomic::Ordering::SeqCst);
    let fifth = router.route(&s(5));
    assert_eq!(fifth.delivered, vec![0]);
    assert_eq!(
        router.breaker(0),
        Some(stratbox::signals::router::Breaker::Closed { failures: 0 })
    );
    let stats = router.stats(0).unwrap();
    assert_eq!(
        (
            stats.delivered,
            stats.failed,
            stats.retries,
            stats.skipped_open
        ),
        (2, 2, 2, 1)
    );
}

#[test]
fn a_full_buffer_pushes_back_and_nothing_unacknowledged_is_reported_stored() {
    use stratbox::signals::buffer::BufferError;
    let rt = rt();
    let store = rt.block_on(SignalStore::in_memory()).unwrap();
    let v = validator();
    rt.block_on(async {
        let (buffer, writer) = SignalBuffer::start(store.clone(), 4, || 1);
        let body = |i: usize| {
            format!(
                r#"{{"signal_id":"b{i}","signal_type":"SENTIMENT","instrument_id":"GBP/USD.FXCM","timestamp":{T0},"confidence":0.5,"value":0.1,"source_model":"m"}}"#
            )
        };
        let items = |r: std::ops::Range<usize>| -> Vec<Incoming> {
            r.map(|i| stratbox::signals::judge_text(&v, &body(i), "http", format!("c{i}"))).collect()
        };
        // The writer has not run yet (single-threaded runtime, no await): room is taken.
        let first = buffer.try_submit(items(0..4)).unwrap();
        assert_eq!(buffer.room(), 0);
        assert_eq!(
            buffer.try_submit(items(4..5)).unwrap_err(),
            BufferError::Full { capacity: 4 }
        );
        assert!(matches!(
            buffer.try_submit(items(0..5)).unwrap_err(),
            BufferError::TooLarge { size: 5, capacity: 4 }
        ));
        let acks = first.acks().await.unwrap();
        assert_eq!(acks.len(), 4);
        assert_eq!(buffer.room(), 4, "room comes back once the batch is stored");
        // A refused body is acknowledged as a dead letter, with its reason.
        let acks = buffer
            .submit(vec![stratbox::signals::judge_text(&v, "{\"signal_id\":\"z\"}", "http", "cz".into())])
            .await
            .unwrap();
        assert!(matches!(&acks[0], Ack::DeadLettered { reason, .. } if reason.contains("signal_type: required")));
        assert_eq!(*buffer.committed().borrow(), 4);
        drop(buffer);
        writer.await.unwrap();
    });
    let dead = rt.block_on(store.dead_letters(None, 0, 10)).unwrap();
    assert_eq!(dead[0].signal_id.as_deref(), Some("z"));
    assert_eq!(dead[0].source, "http");
    assert_eq!(dead[0].correlation_id, "cz");
}

#[test]
fn live_delivery_resumes_from_the_cursor_after_a_restart() {
    use stratbox::signals::delivery::pump;
    let tmp = tempfile::tempdir().unwrap();
    let rt = rt();
    let audit = stratbox::audit::AuditLog::memory();
    let all = GrantSpec {
        granted: true,
        types: None,
        instruments: None,
        models: None,
        subs: vec![(2, None)],
    };
    let ingest = |range: std::ops::Range<usize>| {
        rt.block_on(async {
            let store =
                SignalStore::open(tmp.path(), stratbox::signals::store::Durability::PowerLoss)
                    .await
                    .unwrap();
            let batch: Vec<Incoming> = range
                .map(|i| Incoming::Valid {
                    signal: signal(i, 2, 0, 0, T0 + i as u64),
                    source: "t".into(),
                    correlation_id: format!("c{i}"),
                })
                .collect();
            store.append(&batch, 1).await.unwrap();
            store.close().await;
        });
    };
    // A host run: open, deliver what is pending, stop.
    let host_run = || -> Vec<String> {
        rt.block_on(async {
            let store =
                SignalStore::open(tmp.path(), stratbox::signals::store::Durability::PowerLoss)
                    .await
                    .unwrap();
            let mut router = SignalRouter::new(RetryPolicy::default(), BreakerConfig::default());
            router.add(recorder(0, &all));
            pump(&store, &mut router, "host", &audit).await.unwrap();
            store.close().await;
            router.consumer(0).unwrap().got.clone()
        })
    };
    ingest(0..1_500);
    let first = host_run();
    assert_eq!(first.len(), 1_500, "pages of 1,024 are followed to the end");
    assert!(host_run().is_empty(), "a restart delivers nothing twice");
    ingest(1_500..1_510);
    let names: Vec<String> = (1_500..1_510).map(|i| format!("s{i}")).collect();
    assert_eq!(host_run(), names, "and everything new, in order");
}
