//! Instance lifecycle: determinism, snapshot/restore state transfer, capability revocation,
//! init errors, signal subscriptions.

use std::sync::Arc;

use crate::fixtures::*;
use stratbox::{
    audit::{AuditAction, AuditLog},
    bindings::types::{AiSignal, SignalType, SignalValue},
    capabilities,
    replay::ReplayPlugin,
    sandbox::{InstantiateError, PluginFault},
};
use stratbox_artifacts as artifacts;
use stratbox_manifest::Capability;

#[test]
fn two_runs_make_identical_decisions_with_identical_fuel() {
    let engine = engine();
    let market = market();
    let mut a = vec![ema_cross(&engine, &market)];
    let mut b = vec![ema_cross(&engine, &market)];
    run(&mut a, &market, events(6_000));
    run(&mut b, &market, events(6_000));
    assert_eq!(a[0].orders.orders(), b[0].orders.orders());
    assert!(!a[0].orders.orders().is_empty());
    assert_eq!(
        a[0].instance.profile().fuel_total,
        b[0].instance.profile().fuel_total
    );
}

#[test]
fn snapshot_then_restore_continues_exactly() {
    let engine = engine();
    let market = market();
    let all = events(8_000);
    let (first, second) = all.split_at(4_000);

    // Reference: one instance over everything.
    let mut reference = vec![ema_cross(&engine, &market)];
    run(&mut reference, &market, all);
    let expected: Vec<_> = reference[0]
        .orders
        .orders()
        .into_iter()
        .filter(|o| o.event_ts.unwrap() >= second[0].ts_event())
        .map(|o| o.intent)
        .collect();
    assert!(!expected.is_empty(), "the second half should trade");

    // Old instance over the first half, snapshot, new instance restored, second half.
    let mut old = vec![ema_cross(&engine, &market)];
    run(&mut old, &market, first);
    let state = old[0].instance.snapshot().unwrap();
    assert!(!state.is_empty());
    let mut new = ema_cross(&engine, &market);
    new.instance.restore(&state).unwrap().unwrap();
    // The host carries subscriptions over in a hot-swap; here the plugin re-subscribes.
    let mut new = vec![new];
    run(&mut new, &market, second);
    let got: Vec<_> = new[0]
        .orders
        .orders()
        .into_iter()
        .map(|o| o.intent)
        .collect();
    assert_eq!(
        got, expected,
        "the restored instance must decide exactly like the uninterrupted one"
    );
}

#[test]
fn restore_rejects_garbage_without_faulting() {
    let engine = engine();
    let market = market();
    let mut p = ema_cross(&engine, &market);
    let err = p
        .instance
        .restore(b"definitely not a snapshot")
        .unwrap()
        .unwrap_err();
    assert!(err.contains("not a stratbox-sdk snapshot"), "{err}");
    assert!(!p.instance.is_quarantined());
}

#[test]
fn a_revoked_capability_traps_at_its_next_use() {
    let engine = engine();
    let market = market();
    let audit = AuditLog::memory();
    let mut plugins = vec![ema_cross(&engine, &market)];
    run(&mut plugins, &market, events(400));
    let before = plugins[0].orders.orders().len();
    capabilities::revoke(
        &mut plugins[0].instance,
        Capability::RiskGate,
        "operator:alice",
        "suspicious fills",
        &audit,
    )
    .unwrap();
    let faults = run(&mut plugins, &market, events(6_000));
    let [fault] = &faults[..] else {
        panic!("expected one fault, got {faults:?}")
    };
    assert_eq!(
        fault.fault,
        PluginFault::CapabilityDenied {
            capability: "risk-gate".into(),
            function: "submit-order".into()
        }
    );
    assert_eq!(
        plugins[0].orders.orders().len(),
        before,
        "no order after the revocation"
    );
    let records = audit.records();
    assert_eq!(records[0].action, AuditAction::CapabilityRevoked);
    assert_eq!(records[0].actor, "operator:alice");
}

#[test]
fn init_errors_reach_the_operator() {
    let engine = engine();
    let market = market();
    let component = load(&engine, artifacts::EMA_CROSS);
    let overrides = vec![
        ("instrument_id".to_string(), GBPUSD.to_string()),
        ("fast_period".to_string(), "30".to_string()),
        ("slow_period".to_string(), "20".to_string()),
    ];
    let params = component.manifest().resolve_params(&overrides).unwrap();
    let err = ReplayPlugin::new(
        &engine,
        &component,
        Arc::clone(&market),
        &params,
        &AuditLog::memory(),
    )
    .unwrap_err();
    let InstantiateError::InitRejected { plugin, message } = err else {
        panic!("{err}")
    };
    assert_eq!(plugin, "ema-cross");
    assert_eq!(
        message,
        "fast_period (30) must be less than slow_period (20)"
    );
}

#[test]
fn signal_subscriptions_respect_the_grant() {
    let engine = engine();
    let market = market();
    let component = load(&engine, artifacts::REGIME_SIGNAL);
    let mut p = plugin(
        &engine,
        &component,
        &market,
        &[("bar_type", GBPUSD_BID_BARS)],
    );
    p.instance.on_start().unwrap();
    let signals = &p.instance.host().signals;
    assert_eq!(signals.subscriptions().len(), 1);
    let signal = |signal_type, instrument: &str| AiSignal {
        signal_id: "s1".into(),
        signal_type,
        instrument_id: instrument.into(),
        ts: 1,
        confidence: 0.9,
        value: SignalValue::Text("bull".into()),
        metadata: vec![],
        source_model: "vol-regimes".into(),
    };
    assert!(signals.wants(&signal(SignalType::RegimePrediction, GBPUSD)));
    assert!(
        !signals.wants(&signal(SignalType::Sentiment, GBPUSD)),
        "outside the manifest's signal types"
    );
    assert!(
        !signals.wants(&signal(SignalType::RegimePrediction, "EUR/USD.SIM")),
        "not subscribed"
    );
}

#[test]
fn subscriptions_route_only_what_was_asked_for() {
    let engine = engine();
    let market = market();
    let mut plugins = vec![ema_cross(&engine, &market)];
    run(&mut plugins, &market, events(1_000));
    let p = &plugins[0];
    assert_eq!(p.deliveries.len(), 500, "quotes only, no bars");
    assert!(
        p.deliveries
            .iter()
            .all(|d| d.callback == stratbox::sandbox::Callback::OnQuote)
    );
}
