//! The promise to authors: `ema-cross` as a sandboxed component makes exactly the decisions
//! of Nautilus's native Rust EMA-cross example, inside the same `BacktestEngine`, and a
//! hostile neighbour changes nothing for the others.

use std::sync::Arc;

use crate::fixtures::{GBPUSD, GBPUSD_BID_BARS, GBPUSD_FILE, engine, load, loaded, params};
use nautilus_model::{data::Data, instruments::Instrument, types::Quantity};
use stratbox::{
    audit::AuditLog,
    backtest::{
        self, BacktestReport, BacktestSpec, StrategySpec,
        data::{self, DataFormat},
        report::StrategyReport,
    },
    capabilities::risk_gate::RiskHub,
    catalog::instrument_defs::Instruments,
    sandbox::SandboxEngine,
};
use stratbox_artifacts as artifacts;

fn run(
    engine: &SandboxEngine,
    loaded: &data::Loaded,
    extra: Vec<Data>,
    strategies: Vec<StrategySpec<'_>>,
) -> BacktestReport {
    let defs = Instruments::bundled();
    let settlement = loaded.instrument.settlement_currency();
    let mut data = loaded.data.clone();
    data.extend(extra);
    let spec = BacktestSpec {
        instruments: vec![loaded.instrument.clone()],
        table: Arc::new(defs.table()),
        data,
        balances: vec![nautilus_model::types::Money::new(1_000_000.0, settlement)],
        strategies,
        chunk: 5_000,
        timing: false,
        risk: RiskHub::permissive(AuditLog::memory()),
        signals: backtest::SignalInput::default(),
        purge_account_events: true,
    };
    backtest::run(spec, engine, &AuditLog::memory(), &mut |_, _| {})
        .unwrap()
        .report
}

/// Orders as (ts, side, quantity, status), fills as (ts, side, qty, px, commission).
#[allow(clippy::type_complexity)]
fn decisions(
    s: &StrategyReport,
) -> (
    Vec<(u64, String, String, String)>,
    Vec<(u64, String, String, String, Option<String>)>,
) {
    (
        s.orders
            .iter()
            .map(|o| {
                (
                    o.ts_init,
                    o.side.clone(),
                    o.quantity.clone(),
                    o.status.clone(),
                )
            })
            .collect(),
        s.fills
            .iter()
            .map(|f| {
                (
                    f.ts_event,
                    f.side.clone(),
                    f.last_qty.clone(),
                    f.last_px.clone(),
                    f.commission.clone(),
                )
            })
            .collect(),
    )
}

fn parity(file: &str, format: DataFormat, trade_size: &str, min_orders: usize) {
    let engine = engine();
    let ema = load(&engine, artifacts::EMA_CROSS);
    let loaded = loaded(file, format);
    let id = loaded.instrument.id();
    let (fast, slow) = (10, 20);
    let native = run(
        &engine,
        &loaded,
        vec![],
        vec![StrategySpec::NativeEmaCross {
            instrument_id: id,
            trade_size: Quantity::from(trade_size),
            fast_period: fast,
            slow_period: slow,
        }],
    );
    let p = params(
        &ema,
        &[
            ("instrument_id", &id.to_string()),
            ("trade_size", trade_size),
            ("fast_period", &fast.to_string()),
            ("slow_period", &slow.to_string()),
        ],
    );
    let sandboxed = run(
        &engine,
        &loaded,
        vec![],
        vec![StrategySpec::Component {
            component: &ema,
            params: p,
        }],
    );
    let (n, c) = (&native.strategies[0], &sandboxed.strategies[0]);
    assert!(
        n.orders.len() >= min_orders,
        "native made only {} orders",
        n.orders.len()
    );
    let (n_orders, n_fills) = decisions(n);
    let (c_orders, c_fills) = decisions(c);
    assert_eq!(c_orders.len(), n_orders.len());
    assert_eq!(c_orders, n_orders, "order lists differ");
    assert_eq!(c_fills, n_fills, "fills differ");
    assert_eq!(c.realized_pnl, n.realized_pnl, "realized PnL differs");
    assert_eq!(c.unrealized_pnl, n.unrealized_pnl, "unrealized PnL differs");
    assert_eq!(
        sandboxed.portfolio.final_balances,
        native.portfolio.final_balances
    );
    let plugin = c.plugin.as_ref().unwrap();
    assert!(plugin.fault.is_none());
    assert_eq!(plugin.orders_accepted_by_gate as usize, c.orders.len());
}

#[test]
fn ema_cross_matches_native_nautilus_on_gbpusd_quotes() {
    parity(
        "fxcm/gbpusd-m1-bid-2012.csv",
        DataFormat::FxcmQuotes,
        "100000",
        500,
    );
}

#[test]
fn ema_cross_matches_native_nautilus_on_btc_perp_bars_as_quotes() {
    parity(
        "btc-perp/btc-perp-20211231-20220201_1m.csv",
        DataFormat::OhlcvQuotes,
        "1.000",
        500,
    );
}

fn without_ids(s: &StrategyReport) -> String {
    serde_json::to_string(s)
        .unwrap()
        .replace(s.strategy_id.as_str(), "SID")
}

#[test]
fn a_hostile_neighbour_is_quarantined_and_changes_nothing_for_the_others() {
    let engine = engine();
    let ema = load(&engine, artifacts::EMA_CROSS);
    let boll = load(&engine, artifacts::BOLLINGER_REVERSION);
    let quotes = loaded(GBPUSD_FILE, DataFormat::FxcmQuotes);
    let bars = loaded(GBPUSD_FILE, DataFormat::FxcmBars).data;
    let bar_type = GBPUSD_BID_BARS;
    let ema_p = || params(&ema, &[("instrument_id", GBPUSD)]);
    let boll_p = || params(&boll, &[("bar_type", bar_type)]);

    let solo_ema = run(
        &engine,
        &quotes,
        bars.clone(),
        vec![StrategySpec::Component {
            component: &ema,
            params: ema_p(),
        }],
    );
    let solo_boll = run(
        &engine,
        &quotes,
        bars.clone(),
        vec![StrategySpec::Component {
            component: &boll,
            params: boll_p(),
        }],
    );

    for hostile_path in [
        artifacts::HOSTILE_INFINITE_LOOP,
        artifacts::HOSTILE_PANIC,
        artifacts::HOSTILE_MEMORY_BOMB,
    ] {
        let hostile = load(&engine, hostile_path);
        let hostile_p = params(&hostile, &[]);
        let mixed = run(
            &engine,
            &quotes,
            bars.clone(),
            vec![
                StrategySpec::Component {
                    component: &ema,
                    params: ema_p(),
                },
                StrategySpec::Component {
                    component: &hostile,
                    params: hostile_p,
                },
                StrategySpec::Component {
                    component: &boll,
                    params: boll_p(),
                },
            ],
        );
        let h = mixed.strategies[1].plugin.as_ref().unwrap();
        assert!(h.fault.is_some(), "{hostile_path} was not quarantined");
        assert!(mixed.strategies[1].orders.is_empty());
        assert!(solo_ema.strategies[0].orders.len() > 100);
        assert!(!solo_boll.strategies[0].orders.is_empty());
        assert_eq!(
            without_ids(&mixed.strategies[0]),
            without_ids(&solo_ema.strategies[0]),
            "ema-cross changed beside {hostile_path}"
        );
        assert_eq!(
            without_ids(&mixed.strategies[2]),
            without_ids(&solo_boll.strategies[0]),
            "bollinger changed beside {hostile_path}"
        );
    }
}

#[test]
fn reports_are_identical_on_rerun_and_independent_of_chunking() {
    let engine = engine();
    let ema = load(&engine, artifacts::EMA_CROSS);
    let loaded = loaded(GBPUSD_FILE, DataFormat::FxcmQuotes);
    let p = || params(&ema, &[("instrument_id", GBPUSD)]);
    let a = run(
        &engine,
        &loaded,
        vec![],
        vec![StrategySpec::Component {
            component: &ema,
            params: p(),
        }],
    );
    let b = run(
        &engine,
        &loaded,
        vec![],
        vec![StrategySpec::Component {
            component: &ema,
            params: p(),
        }],
    );
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
    let defs = Instruments::bundled();
    let one_chunk = backtest::run(
        BacktestSpec {
            instruments: vec![loaded.instrument.clone()],
            table: Arc::new(defs.table()),
            data: loaded.data.clone(),
            balances: vec![nautilus_model::types::Money::new(
                1_000_000.0,
                loaded.instrument.quote_currency(),
            )],
            strategies: vec![StrategySpec::Component {
                component: &ema,
                params: p(),
            }],
            chunk: usize::MAX,
            timing: false,
            risk: RiskHub::permissive(AuditLog::memory()),
            signals: backtest::SignalInput::default(),
            purge_account_events: true,
        },
        &engine,
        &AuditLog::memory(),
        &mut |_, _| {},
    )
    .unwrap()
    .report;
    assert_eq!(
        serde_json::to_string(&a.strategies).unwrap(),
        serde_json::to_string(&one_chunk.strategies).unwrap()
    );
}
