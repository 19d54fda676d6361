//! Every hostile fixture in `plugins/hostile/` against the sandbox: the exact fault (or
//! refusal), the host still serving, and a well-behaved plugin beside it receiving exactly
//! the callbacks and making exactly the decisions it makes alone.

use std::sync::Arc;

use crate::fixtures::*;
use stratbox::{
    audit::{AuditAction, AuditLog},
    capabilities,
    catalog::InstrumentTable,
    replay::{Delivery, RecordedOrder, ReplayPlugin},
    sandbox::{
        EngineOptions, ImportStatus, InstantiateError, Limits, LoadPolicy, PluginComponent,
        PluginFault, RefusalCode, SandboxEngine,
    },
};
use stratbox_artifacts as artifacts;

/// Every fixture must have a test function of the same name in this file.
macro_rules! assert_test_exists {
    ($name:ident) => {
        #[allow(unused_imports)]
        use self::$name as _;
    };
}
stratbox_artifacts::foreach_hostile!(assert_test_exists);

/// Events used by these tests: 3,000 minutes of GBP/USD (1,500 bars + 1,500 quotes).
const EVENTS: usize = 3_000;

/// What the well-behaved plugin did.
#[derive(Debug)]
struct Behaviour {
    deliveries: Vec<Delivery>,
    orders: Vec<RecordedOrder>,
    fuel_total: u64,
}

fn behaviour(p: &ReplayPlugin) -> Behaviour {
    Behaviour {
        deliveries: p.deliveries.clone(),
        orders: p.orders.orders(),
        fuel_total: p.instance.profile().fuel_total,
    }
}

impl Behaviour {
    /// Equality with a short explanation instead of two huge dumps.
    fn assert_same(&self, alone: &Self, beside: &str) {
        let first = self
            .deliveries
            .iter()
            .zip(&alone.deliveries)
            .position(|(a, b)| a != b);
        assert_eq!(
            self.deliveries.len(),
            alone.deliveries.len(),
            "deliveries beside {beside} (first difference {first:?})"
        );
        assert_eq!(first, None, "deliveries beside {beside}");
        let first = self
            .orders
            .iter()
            .zip(&alone.orders)
            .position(|(a, b)| a != b);
        assert_eq!(
            self.orders.len(),
            alone.orders.len(),
            "orders beside {beside} (first difference {first:?})"
        );
        assert_eq!(first, None, "orders beside {beside}");
        assert_eq!(self.fuel_total, alone.fuel_total, "fuel beside {beside}");
    }
}

/// ema-cross alone over the test events, on `engine`.
fn solo(engine: &SandboxEngine) -> Behaviour {
    let market = market();
    let mut plugins = vec![ema_cross(engine, &market)];
    assert!(run(&mut plugins, &market, events(EVENTS)).is_empty());
    let b = behaviour(&plugins[0]);
    assert!(
        b.orders.len() > 10,
        "the reference run should trade; it placed {} orders",
        b.orders.len()
    );
    b
}

/// Runs `hostile` (already instantiated) first and ema-cross second over the test events;
/// asserts the neighbour behaved exactly as alone and the host still serves; returns the
/// hostile plugin and its faults.
fn beside(
    engine: &SandboxEngine,
    market: &Arc<InstrumentTable>,
    hostile: ReplayPlugin,
) -> (ReplayPlugin, Vec<PluginFault>) {
    let mut plugins = vec![hostile, ema_cross(engine, market)];
    let faults = run(&mut plugins, market, events(EVENTS));
    let neighbour = plugins.pop().unwrap();
    let hostile = plugins.pop().unwrap();
    behaviour(&neighbour).assert_same(&solo(engine), hostile.instance.name());
    assert!(!neighbour.instance.is_quarantined());
    assert_host_alive(engine, market);
    (hostile, faults.into_iter().map(|f| f.fault).collect())
}

/// The host can still load, instantiate and run a plugin.
fn assert_host_alive(engine: &SandboxEngine, market: &Arc<InstrumentTable>) {
    let mut fresh = vec![ema_cross(engine, market)];
    assert!(run(&mut fresh, market, events(200)).is_empty());
    assert!(
        fresh[0].deliveries.len() == 100,
        "a fresh plugin got {} quotes",
        fresh[0].deliveries.len()
    );
}

/// Not hostile: the registered-indicator parity fixture (it lives with the fixtures). Every
/// indicator kind the host keeps, on quotes and on bars, against the same Nautilus
/// indicator fed in the guest: identical values bit for bit and identical `initialized`
/// flags on every one of 20,000 bundled events, or the fixture panics. Beside ema-cross
/// (which registers its EMAs too) the neighbour behaves exactly as alone.
#[test]
fn indicator_parity() {
    let engine = engine();
    let market = market();
    let component = load(&engine, artifacts::INDICATOR_PARITY);
    let events = events(20_000);
    // Every kind (values as a list), then two per stream (values as plain arguments).
    let mut plugins = vec![
        plugin(&engine, &component, &market, &[("min_events", "19000")]),
        plugin(
            &engine,
            &component,
            &market,
            &[("min_events", "19000"), ("few", "true")],
        ),
    ];
    let faults = run(&mut plugins, &market, events);
    assert!(faults.is_empty(), "{faults:#?}");
    assert_eq!(plugins[0].deliveries.len(), events.len());
    assert_eq!(plugins[1].deliveries.len(), events.len());
    // The host charged the guest's budget for its updates: 10 indicators, two of them
    // scanning windows, cost fuel the guest did not burn itself.
    assert!(plugins[0].instance.profile().fuel_max > 8 * 1_024);

    let (parity, faults) = beside(&engine, &market, plugin(&engine, &component, &market, &[]));
    assert!(faults.is_empty(), "{faults:?}");
    assert!(!parity.instance.is_quarantined());
}

fn hostile(engine: &SandboxEngine, market: &Arc<InstrumentTable>, path: &str) -> ReplayPlugin {
    let component = load(engine, path);
    plugin(engine, &component, market, &[])
}

#[test]
fn infinite_loop() {
    let engine = engine();
    let market = market();
    let p = hostile(&engine, &market, artifacts::HOSTILE_INFINITE_LOOP);
    let budget = p.instance.limits().fuel_per_callback;
    let (p, faults) = beside(&engine, &market, p);
    assert_eq!(faults, vec![PluginFault::OutOfFuel { budget }]);
    let record = p.instance.fault().unwrap();
    assert_eq!(
        (record.callback, record.event_ts),
        ("on-bar", Some(1_328_054_400_000_000_000))
    );
    assert_eq!(record.fuel_used, budget, "the loop used its whole budget");
    assert_eq!(
        p.deliveries.len(),
        1,
        "a quarantined plugin gets no further callbacks"
    );
}

#[test]
fn infinite_loop_without_fuel_hits_the_epoch_deadline() {
    // Fuel off: only the wall-clock backstop can stop the loop.
    let engine = SandboxEngine::new(EngineOptions {
        fuel: false,
        ..EngineOptions::default()
    })
    .unwrap();
    let market = market();
    let policy = LoadPolicy {
        default_limits: Limits {
            epoch_deadline_ms: 20,
            ..Limits::DEFAULT
        },
        ..LoadPolicy::default()
    };
    let component = load_with(&engine, artifacts::HOSTILE_INFINITE_LOOP, &policy);
    let p = plugin(&engine, &component, &market, &[]);
    let (_, faults) = beside(&engine, &market, p);
    assert_eq!(faults, vec![PluginFault::Deadline { deadline_ms: 20 }]);
}

#[test]
fn memory_bomb() {
    let engine = engine();
    let market = market();
    let p = hostile(&engine, &market, artifacts::HOSTILE_MEMORY_BOMB);
    let cap = p.instance.limits().max_memory_bytes;
    assert_eq!(
        cap,
        16 * 1024 * 1024,
        "the fixture's manifest asks for a 16 MiB cap"
    );
    let (p, faults) = beside(&engine, &market, p);
    let [
        PluginFault::MemoryLimit {
            limit_bytes,
            requested_bytes,
        },
    ] = faults[..]
    else {
        panic!("expected one memory-limit fault, got {faults:?}");
    };
    assert_eq!(limit_bytes, cap);
    assert!(requested_bytes > cap);
    let peak = p.instance.profile().peak_memory_bytes;
    assert!(
        peak <= cap,
        "memory reached {peak} bytes, over the {cap}-byte cap"
    );
    assert!(
        peak > cap / 2,
        "the bomb should have filled most of its memory first (peak {peak})"
    );
}

#[test]
fn deep_recursion() {
    let engine = engine();
    let market = market();
    let p = hostile(&engine, &market, artifacts::HOSTILE_DEEP_RECURSION);
    let (_, faults) = beside(&engine, &market, p);
    assert_eq!(faults, vec![PluginFault::StackOverflow]);
}

#[test]
fn panic() {
    let engine = engine();
    let market = market();
    let p = hostile(&engine, &market, artifacts::HOSTILE_PANIC);
    let (p, faults) = beside(&engine, &market, p);
    let [PluginFault::Panic { message }] = &faults[..] else {
        panic!("expected one panic, got {faults:?}")
    };
    assert!(message.contains("hostile panic on bar 3"), "{message}");
    assert_eq!(
        p.deliveries.len(),
        3,
        "two bars handled, the third panicked, then nothing"
    );
}

#[test]
fn order_spam() {
    let engine = engine();
    let market = market();
    let p = hostile(&engine, &market, artifacts::HOSTILE_ORDER_SPAM);
    let per_callback = p.instance.limits().max_orders_per_callback;
    let (p, faults) = beside(&engine, &market, p);
    assert!(
        faults.is_empty(),
        "spam is refused, not a fault: {faults:?}"
    );
    let bars = p.deliveries.len() as u64;
    assert_eq!(bars, (EVENTS / 2) as u64);
    let counts = p.instance.host().risk_gate.counts();
    assert_eq!(counts.accepted, bars * per_callback);
    assert_eq!(
        counts.rejected.get("rate-limited").copied(),
        Some(bars * (1_000 - per_callback))
    );
    assert_eq!(counts.rejected.len(), 1, "{counts:?}");
    assert_eq!(p.orders.orders().len() as u64, bars * per_callback);
}

#[test]
fn bad_numbers() {
    let engine = engine();
    let market = market();
    let p = hostile(&engine, &market, artifacts::HOSTILE_BAD_NUMBERS);
    let (p, faults) = beside(&engine, &market, p);
    assert!(
        faults.is_empty(),
        "bad numbers are refused, not a fault: {faults:?}"
    );
    let bars = p.deliveries.len() as u64;
    let counts = p.instance.host().risk_gate.counts();
    assert_eq!(counts.accepted, 0, "no forged intent may become an order");
    assert_eq!(
        counts.rejected.get("invalid-quantity").copied(),
        Some(bars * 4),
        "{counts:?}"
    );
    assert_eq!(
        counts.rejected.get("invalid-price").copied(),
        Some(bars * 6),
        "{counts:?}"
    );
    assert!(p.orders.orders().is_empty());
}

#[test]
fn huge_strings() {
    let engine = engine();
    let market = market();
    let p = hostile(&engine, &market, artifacts::HOSTILE_HUGE_STRINGS);
    let (_, faults) = beside(&engine, &market, p);
    let [PluginFault::ContractViolation { detail }] = &faults[..] else {
        panic!("expected a contract violation, got {faults:?}")
    };
    assert!(
        detail.contains("diagnostics.log: message is 10485760 bytes"),
        "{detail}"
    );
}

/// Loads `path`, expecting a refusal that names `imports`; checks it was audited, and that
/// a well-behaved plugin then runs exactly as alone.
fn refused_at_load(path: &str, code: RefusalCode, imports: &[&str]) {
    let engine = engine();
    let audit = AuditLog::memory();
    let err =
        capabilities::load(&engine, &bytes(path), &LoadPolicy::default(), &audit).unwrap_err();
    let capabilities::LoadError::Refused(refused) = err else {
        panic!("expected a refusal, got {err}")
    };
    let inspection = &refused.0;
    assert!(!inspection.accepted);
    for import in imports {
        assert!(
            inspection
                .refusals
                .iter()
                .any(|r| r.code == code && r.message.contains(&format!("`{import}`"))),
            "no {code:?} refusal naming {import}: {:?}",
            inspection.refusals
        );
    }
    assert_eq!(
        inspection.refusals.len(),
        imports.len(),
        "{:?}",
        inspection.refusals
    );
    let message = refused.to_string();
    assert!(imports.iter().all(|i| message.contains(i)), "{message}");
    let records = audit.records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].action, AuditAction::PluginRefused);

    let market = market();
    let mut plugins = vec![ema_cross(&engine, &market)];
    assert!(run(&mut plugins, &market, events(EVENTS)).is_empty());
    behaviour(&plugins[0]).assert_same(&solo(&engine), "nothing (the hostile plugin was refused)");
}

#[test]
fn wasi_filesystem() {
    refused_at_load(
        artifacts::HOSTILE_WASI_FILESYSTEM,
        RefusalCode::ImportOutsideWorld,
        &[
            "wasi:filesystem/types@0.2.6",
            "wasi:filesystem/preopens@0.2.6",
        ],
    );
}

#[test]
fn ungranted_signals() {
    refused_at_load(
        artifacts::HOSTILE_UNGRANTED_SIGNALS,
        RefusalCode::ImportNotGranted,
        &["stratbox:strategy/signals@0.1.1"],
    );
}

#[test]
fn a_capability_the_operator_does_not_grant_is_refused_at_load() {
    // ema-cross requests market-data and risk-gate; an operator granting only market-data
    // gets a refusal naming the risk-gate import, not a plugin that fails at its first order.
    let engine = engine();
    let policy = LoadPolicy {
        grant: Some(
            [stratbox_manifest::Capability::MarketData]
                .into_iter()
                .collect(),
        ),
        ..LoadPolicy::default()
    };
    let refused =
        PluginComponent::load(&engine, &bytes(artifacts::EMA_CROSS), &policy).unwrap_err();
    let import = refused
        .0
        .imports
        .iter()
        .find(|i| i.name == "stratbox:strategy/risk-gate@0.1.1")
        .unwrap();
    assert_eq!(import.status, ImportStatus::NotGranted);
    assert_eq!(refused.0.refusals.len(), 1);
    assert!(
        refused.0.refusals[0]
            .message
            .contains("the operator's grant does not include it"),
        "{}",
        refused.0.refusals[0].message
    );
}

#[test]
fn every_hostile_fault_is_audited() {
    let engine = engine();
    let market = market();
    let audit = AuditLog::memory();
    let component = load(&engine, artifacts::HOSTILE_PANIC);
    let params = component.manifest().resolve_params(&[]).unwrap();
    let mut plugins =
        vec![ReplayPlugin::new(&engine, &component, Arc::clone(&market), &params, &audit).unwrap()];
    run(&mut plugins, &market, events(20));
    let records = audit.records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].action, AuditAction::PluginQuarantined);
    assert_eq!(
        records[0].subject,
        format!("hostile-panic@{}", component.sha256())
    );
    assert_eq!(records[0].details()["fault"]["kind"], "panic");
    assert_eq!(records[0].details()["callback"], "on-bar");
    assert_eq!(stratbox::audit::verify(&records), Ok(()));
}

/// The bundled regime signals, validated, as the store would hand them out.
fn regime_signals() -> Vec<stratbox::signals::store::Stored> {
    use stratbox::signals::{SignalLimits, TimeCheck, Validator};
    let v = Validator::new(
        stratbox::catalog::instrument_defs::Instruments::bundled().ids(),
        SignalLimits::default(),
        TimeCheck::Backtest,
    );
    let text = std::fs::read_to_string(SIGNALS).unwrap();
    text.lines()
        .zip(1..)
        .map(|(l, seq)| stratbox::signals::store::Stored {
            seq,
            signal: v.parse_json(l).unwrap(),
            source: format!("btc-perp-regimes-2022-01.jsonl:{seq}"),
            correlation_id: format!("test/{seq}"),
            received_ns: 0,
        })
        .collect()
}

#[test]
fn signal_panic() {
    use stratbox::signals::router::{BreakerConfig, RetryPolicy, SignalRouter};
    let engine = engine();
    let market = Arc::new(stratbox::catalog::instrument_defs::Instruments::bundled().table());
    let signals = regime_signals();
    let neighbour = || {
        let c = load(&engine, artifacts::REGIME_SIGNAL);
        let mut p = plugin(
            &engine,
            &c,
            &market,
            &[("bar_type", "BTCUSDT-PERP.BINANCE-1-MINUTE-LAST-EXTERNAL")],
        );
        p.instance.on_start().unwrap();
        p.instance
    };
    let route_all = |router: &mut SignalRouter<capabilities::Instance>| {
        signals.iter().map(|s| router.route(s)).collect::<Vec<_>>()
    };
    let mut alone = SignalRouter::new(RetryPolicy::default(), BreakerConfig::default());
    alone.add(neighbour());
    route_all(&mut alone);

    let hostile_component = load(&engine, artifacts::HOSTILE_SIGNAL_PANIC);
    let mut h = plugin(&engine, &hostile_component, &market, &[]);
    h.instance.on_start().unwrap();
    let mut router = SignalRouter::new(RetryPolicy::default(), BreakerConfig::default());
    router.add(h.instance);
    router.add(neighbour());
    let outcomes = route_all(&mut router);

    // The hostile plugin got the first signal, faulted on the second, and every later
    // signal it was entitled to is a failed delivery with its reason: none is lost.
    assert_eq!(outcomes[0].delivered, vec![0, 1]);
    let [(0, fault)] = &outcomes[1].failed[..] else {
        panic!("{:?}", outcomes[1])
    };
    assert!(
        fault.starts_with("fault: ") && fault.contains("hostile panic on signal rv-regime-"),
        "{fault}"
    );
    for o in &outcomes[2..] {
        assert_eq!(
            o.delivered,
            vec![1],
            "the neighbour still gets every signal"
        );
        let [(0, reason)] = &o.failed[..] else {
            panic!("{o:?}")
        };
        assert!(
            reason.starts_with("quarantined: ") || reason.starts_with("circuit open"),
            "{reason}"
        );
    }
    let failed: usize = outcomes.iter().map(|o| o.failed.len()).sum();
    assert_eq!(failed, signals.len() - 1);
    let hostile = router.consumer(0).unwrap();
    assert!(matches!(
        hostile.fault().map(|f| &f.fault),
        Some(PluginFault::Panic { .. })
    ));
    // The neighbour behaved exactly as alone: same deliveries, orders, fuel.
    let (a, b) = (alone.consumer(0).unwrap(), router.consumer(1).unwrap());
    assert_eq!(alone.stats(0), router.stats(1));
    assert_eq!(a.profile().fuel_total, b.profile().fuel_total);
    assert_eq!(a.profile().callbacks, b.profile().callbacks);
    assert_eq!(router.stats(1).unwrap().delivered, signals.len() as u64);
}

#[test]
fn faulty_upgrade() {
    // ema-cross 0.3.0 (the hot-swap rollback fixture): panics on its third quote.
    let engine = engine();
    let market = market();
    let component = load(&engine, artifacts::HOSTILE_FAULTY_UPGRADE);
    assert_eq!(
        (
            component.manifest().name.as_str(),
            component.manifest().version.as_str()
        ),
        ("ema-cross", "0.3.0")
    );
    let p = plugin(
        &engine,
        &component,
        &market,
        &[
            ("instrument_id", GBPUSD),
            ("fast_period", "5"),
            ("slow_period", "20"),
        ],
    );
    let (p, faults) = beside(&engine, &market, p);
    let [PluginFault::Panic { message }] = &faults[..] else {
        panic!("expected one panic, got {faults:?}")
    };
    assert!(message.contains("quote 3 hit an off-by-one"), "{message}");
    assert_eq!(
        p.deliveries.len(),
        3,
        "two quotes handled, the third panicked, then nothing"
    );
}

#[test]
fn host_call_spin() {
    use stratbox::sandbox::HOST_CALL_FUEL;
    let engine = engine();
    let market = market();
    let component = load(&engine, artifacts::HOSTILE_HOST_CALL_SPIN);
    // What one call costs, measured: 10 bars with 1,000 `open-orders` calls each, against
    // the same bars with none.
    let fuel_with = |calls: &str| {
        let mut p = vec![plugin(&engine, &component, &market, &[("calls", calls)])];
        assert!(run(&mut p, &market, events(20)).is_empty());
        assert_eq!(p[0].deliveries.len(), 10);
        p[0].instance.profile().fuel_total
    };
    let per_call = (fuel_with("1000") - fuel_with("0")) / 10_000;
    assert!(
        (HOST_CALL_FUEL..HOST_CALL_FUEL + 200).contains(&per_call),
        "one open-orders call cost {per_call} fuel; the host charges {HOST_CALL_FUEL}"
    );

    // 20,000 calls a bar: the guest's own instructions for them fit its budget many times
    // over, the host's charge does not.
    let p = plugin(&engine, &component, &market, &[]);
    let budget = p.instance.limits().fuel_per_callback;
    assert!(
        (per_call - HOST_CALL_FUEL) * 20_000 < budget / 2,
        "without the host charge the spin would fit"
    );
    let (p, faults) = beside(&engine, &market, p);
    assert_eq!(faults, vec![PluginFault::OutOfFuel { budget }]);
    let record = p.instance.fault().unwrap();
    assert_eq!(record.callback, "on-bar");
    assert_eq!(record.fuel_used, budget);
    assert_eq!(p.deliveries.len(), 1, "stopped on its first bar");
}

#[test]
fn cancel_storm() {
    // Three storms (bars 3, 503 and 1003) of 1,000,000 cancels each over the same 100 open
    // orders, against a cap of 64 cancels per callback.
    let engine = engine();
    let market = market();
    let audit = AuditLog::memory();
    let component = load(&engine, artifacts::HOSTILE_CANCEL_STORM);
    let p = ReplayPlugin::new(
        &engine,
        &component,
        Arc::clone(&market),
        &params(&component, &[]),
        &audit,
    )
    .unwrap();
    let per_callback = p.instance.limits().max_orders_per_callback;
    assert_eq!(per_callback, 64);
    let (p, faults) = beside(&engine, &market, p);
    assert!(
        faults.is_empty(),
        "a storm is answered, not a fault: {faults:?}"
    );

    // The venue side saw one cancel per order, not three million.
    let (orders, cancels) = (p.orders.orders(), p.orders.cancels());
    assert_eq!(orders.len(), 100);
    let mut distinct = cancels.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        (cancels.len(), distinct.len()),
        (100, 100),
        "cancels sent to the router (all, distinct)"
    );
    let gate = &p.instance.host().risk_gate;
    let c = gate.cancel_counts();
    assert_eq!(c.sent, 100);
    // Storm 1: 64 go out, the other 36 are refused on each of the 10,000 rounds.
    assert_eq!(c.over_limit, 36 * 10_000);
    assert_eq!(c.unknown, 0);
    assert_eq!(c.sent + c.already_pending + c.over_limit, 3_000_000);
    assert!(
        gate.open_order_ids()
            .iter()
            .all(|id| gate.cancel_pending(id))
    );

    // Host memory stays bounded by the orders, not the calls: 200 router commands, and an
    // audit trail of the 100 accepted intents, the one refused on bar 1 (its 65th, over
    // max_orders_per_callback), and one record and one summary for the refused cancels.
    let records = audit.records();
    let refusals: Vec<_> = records
        .iter()
        .filter(|r| r.details()["request"] == "cancel")
        .map(|r| r.details()["count"].as_u64().unwrap())
        .collect();
    assert_eq!(refusals, vec![1, 36 * 10_000 - 1]);
    assert_eq!(records.len(), 100 + 1 + 2);
    let audit_bytes: usize = records
        .iter()
        .map(|r| serde_json::to_string(&r.details).unwrap().len())
        .sum();
    assert!(
        audit_bytes < 128 * 1024,
        "audit trail of the storm is {audit_bytes} bytes"
    );
}

/// Bars the audit-flood fixture floods on in these tests (each is 64 intents of 128 KiB).
const FLOODS: u64 = 4;

/// The audit-flood fixture flooding on its first [`FLOODS`] bars, with its audit trail.
fn flooder(engine: &SandboxEngine, market: &Arc<InstrumentTable>) -> (ReplayPlugin, AuditLog) {
    let audit = AuditLog::memory();
    let component = load(engine, artifacts::HOSTILE_AUDIT_FLOOD);
    let p = ReplayPlugin::new(
        engine,
        &component,
        Arc::clone(market),
        &params(&component, &[("floods", &FLOODS.to_string())]),
        &audit,
    )
    .unwrap();
    (p, audit)
}

#[test]
fn audit_flood() {
    let engine = engine();
    let market = market();
    let (p, _audit) = flooder(&engine, &market);
    let per_callback = p.instance.limits().max_orders_per_callback;
    let (p, faults) = beside(&engine, &market, p);
    assert!(faults.is_empty(), "refused, not a fault: {faults:?}");
    let counts = p.instance.host().risk_gate.counts();
    assert_eq!(counts.accepted, 0);
    assert_eq!(
        counts.rejected.get("unknown-instrument").copied(),
        Some(FLOODS * per_callback),
        "{counts:?}"
    );
}

/// The most audit JSON one event may add to the trail: the first refusals of a callback
/// one record each, one summary for the rest, each record bounded.
const AUDIT_BYTES_PER_EVENT: usize =
    (stratbox::capabilities::risk_gate::REFUSALS_RECORDED_PER_CALLBACK as usize + 1)
        * stratbox::audit::record::RECORD_MAX;

#[test]
fn audit_flood_adds_a_bounded_audit_trail_per_event() {
    let engine = engine();
    let market = market();
    let (p, audit) = flooder(&engine, &market);
    let mut plugins = vec![p];
    assert!(run(&mut plugins, &market, events(2 * FLOODS as usize)).is_empty());
    let bytes: usize = audit
        .records()
        .iter()
        .map(|r| serde_json::to_string(&r.details).unwrap().len())
        .sum();
    let per_event = bytes / FLOODS as usize;
    assert!(
        per_event <= AUDIT_BYTES_PER_EVENT,
        "{per_event} bytes of audit per flooding event, over {AUDIT_BYTES_PER_EVENT}"
    );
}

#[test]
fn two_memories() {
    // Two linear memories of 10 MiB each under a 16 MiB cap: either fits, both do not.
    const MIB: u64 = 1024 * 1024;
    let engine = engine();
    let market = market();
    let audit = AuditLog::memory();
    let component = load(&engine, artifacts::HOSTILE_TWO_MEMORIES);
    let cap = component.limits().max_memory_bytes;
    assert_eq!(
        cap,
        16 * MIB,
        "the fixture's manifest asks for a 16 MiB cap"
    );
    let Err(err) = ReplayPlugin::new(
        &engine,
        &component,
        Arc::clone(&market),
        &params(&component, &[]),
        &audit,
    ) else {
        panic!("two memories of 10 MiB were instantiated under a 16 MiB cap");
    };
    let InstantiateError::Faulted(record) = err else {
        panic!("expected a fault, got {err}")
    };
    assert_eq!(
        record.fault,
        PluginFault::MemoryLimit {
            limit_bytes: cap,
            requested_bytes: 20 * MIB,
        }
    );
    assert_eq!(record.callback, "instantiate");
    let records = audit.records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].action, AuditAction::PluginQuarantined);

    let mut plugins = vec![ema_cross(&engine, &market)];
    assert!(run(&mut plugins, &market, events(EVENTS)).is_empty());
    behaviour(&plugins[0]).assert_same(&solo(&engine), "a refused two-memory component");
    assert_host_alive(&engine, &market);
}
