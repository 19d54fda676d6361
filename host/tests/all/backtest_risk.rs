//! The risk gate inside a Nautilus backtest: the kill switch, automatic halts, flattening,
//! position reconciliation and the reason codes hostile plugins get.

use std::sync::Arc;

use crate::fixtures::{GBPUSD_FILE, engine, load, loaded, params};
use nautilus_model::{data::Data, instruments::Instrument};
use stratbox::{
    audit::{AuditAction, AuditLog},
    backtest::{
        self, BacktestReport, BacktestSpec, StrategySpec,
        data::{self, DataFormat},
    },
    capabilities::risk_gate::{RiskHub, RiskPolicy, Scope, TradingState},
    catalog::instrument_defs::Instruments,
    notify::{MemoryNotifier, Notifiers},
    sandbox::{PluginComponent, SandboxEngine},
};
use stratbox_artifacts as artifacts;

/// The first `first` items of the bundled GBP/USD minutes.
fn first(format: DataFormat, first: usize) -> data::Loaded {
    let mut loaded = loaded(GBPUSD_FILE, format);
    loaded.data.truncate(first);
    loaded
}

fn ema_params(c: &PluginComponent) -> Vec<(String, stratbox_manifest::ParamValue)> {
    params(
        c,
        &[
            ("instrument_id", "GBP/USD.FXCM"),
            ("fast_period", "10"),
            ("slow_period", "20"),
            ("trade_size", "100000"),
        ],
    )
}

fn run(
    engine: &SandboxEngine,
    loaded: &data::Loaded,
    strategies: Vec<StrategySpec<'_>>,
    risk: &Arc<RiskHub>,
    chunk: usize,
    progress: &mut dyn FnMut(usize, usize),
) -> BacktestReport {
    let spec = BacktestSpec {
        instruments: vec![loaded.instrument.clone()],
        table: Arc::new(Instruments::bundled().table()),
        data: loaded.data.clone(),
        balances: vec![nautilus_model::types::Money::new(
            1_000_000.0,
            loaded.instrument.settlement_currency(),
        )],
        strategies,
        chunk,
        timing: false,
        risk: Arc::clone(risk),
        signals: backtest::SignalInput::default(),
        purge_account_events: true,
    };
    backtest::run(spec, engine, &AuditLog::memory(), progress)
        .unwrap()
        .report
}

fn hub(policy: &str) -> (Arc<RiskHub>, Arc<MemoryNotifier>, AuditLog) {
    let audit = AuditLog::memory();
    let alerts = Arc::new(MemoryNotifier::default());
    let policy = RiskPolicy::from_toml(policy).unwrap();
    let hub = RiskHub::new(
        policy,
        audit.clone(),
        Notifiers::default().with(alerts.clone()),
    );
    (hub, alerts, audit)
}

fn ts_of(d: &Data) -> u64 {
    use nautilus_model::data::HasTsInit;
    d.ts_init().as_u64()
}

#[test]
fn kill_switch_stops_every_plugin_before_the_next_event() {
    let engine = engine();
    let ema = load(&engine, artifacts::EMA_CROSS);
    let loaded = first(DataFormat::FxcmQuotes, 12_000);
    let (hub, alerts, audit) = hub("version = \"k\"\n");
    // Halt from outside the strategies after the first chunk, as an operator would.
    let halt_after = ts_of(&loaded.data[4_999]);
    let control = hub.control.clone();
    let mut halted = false;
    let report = run(
        &engine,
        &loaded,
        vec![StrategySpec::Component {
            component: &ema,
            params: ema_params(&ema),
        }],
        &hub,
        5_000,
        &mut |done, _| {
            if done == 5_000 && !halted {
                control
                    .halt(&Scope::All, "operator kill switch", "alice", None)
                    .unwrap();
                halted = true;
            }
        },
    );
    let s = &report.strategies[0];
    assert!(!s.orders.is_empty(), "it traded before the halt");
    assert!(
        s.orders.iter().all(|o| o.ts_init <= halt_after),
        "no order after the halt"
    );
    let p = s.plugin.as_ref().unwrap();
    assert!(p.orders_refused_by_gate.get("halted").copied().unwrap_or(0) > 0);
    assert_eq!(report.risk.state_changes.len(), 1);
    assert_eq!(report.risk.state_changes[0].to, TradingState::Halted);
    assert_eq!(report.risk.state_changes[0].actor, "alice");
    assert!(
        audit
            .records()
            .iter()
            .any(|r| r.action == AuditAction::TradingStateChanged && r.actor == "alice")
    );
    assert_eq!(alerts.alerts()[0].kind, "halted");
}

#[test]
fn drawdown_halts_automatically_and_flattens() {
    let engine = engine();
    let ema = load(&engine, artifacts::EMA_CROSS);
    let loaded = first(DataFormat::FxcmQuotes, 30_117);
    let policy = "version = \"dd\"\n[defaults]\nmax_drawdown = \"3000\"\n[halt]\nflatten = true\n";
    let (hub, alerts, audit) = hub(policy);
    let report = run(
        &engine,
        &loaded,
        vec![StrategySpec::Component {
            component: &ema,
            params: ema_params(&ema),
        }],
        &hub,
        8_192,
        &mut |_, _| {},
    );
    let change = &report.risk.state_changes[0];
    assert_eq!(change.to, TradingState::Halted);
    assert_eq!(change.actor, "risk-gate");
    assert!(change.reason.starts_with("drawdown "), "{}", change.reason);
    let at = change.event_ts.unwrap();
    let s = &report.strategies[0];
    let after: Vec<_> = s.orders.iter().filter(|o| o.ts_init >= at).collect();
    assert_eq!(
        after.len(),
        1,
        "only the flattening order after the halt: {after:?}"
    );
    assert!(
        s.unrealized_pnl
            .values()
            .all(|v| v.parse::<f64>().unwrap() == 0.0),
        "flat at the end: {:?}",
        s.unrealized_pnl
    );
    assert!(
        audit
            .records()
            .iter()
            .any(|r| r.action == AuditAction::OrderDecision && r.actor == "risk-gate:flatten")
    );
    assert_eq!(alerts.alerts()[0].subject, "ema-cross");
}

#[test]
fn hostile_plugins_get_the_right_reason_codes() {
    let engine = engine();
    let spam = load(&engine, artifacts::HOSTILE_ORDER_SPAM);
    let bad = load(&engine, artifacts::HOSTILE_BAD_NUMBERS);
    // 40 minutes: a bid bar and an ask bar each.
    let loaded = first(DataFormat::FxcmBars, 80);
    let bar_type = "GBP/USD.FXCM-1-MINUTE-BID-EXTERNAL";
    let (hub, _, _) = hub("version = \"h\"\n");
    let report = run(
        &engine,
        &loaded,
        vec![
            StrategySpec::Component {
                component: &spam,
                params: params(&spam, &[("bar_type", bar_type)]),
            },
            StrategySpec::Component {
                component: &bad,
                params: params(&bad, &[("bar_type", bar_type)]),
            },
        ],
        &hub,
        8_192,
        &mut |_, _| {},
    );
    let refused = |i: usize| {
        report.strategies[i]
            .plugin
            .as_ref()
            .unwrap()
            .orders_refused_by_gate
            .clone()
    };
    let spam_refused = refused(0);
    assert!(spam_refused["rate-limited"] >= 40 * 900, "{spam_refused:?}");
    let bad_refused = refused(1);
    for code in ["invalid-quantity", "invalid-price"] {
        assert!(
            bad_refused.get(code).copied().unwrap_or(0) > 0,
            "{code}: {bad_refused:?}"
        );
    }
    assert!(report.risk.refused_by_reason["rate-limited"] >= 40 * 900);
    assert!(
        report.strategies[1]
            .plugin
            .as_ref()
            .unwrap()
            .fault
            .is_none()
    );
}
