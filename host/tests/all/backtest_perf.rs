//! What `stratbox bench backtest` and `bench order-path` rely on, checked as tests (no
//! timing here): the light and heavy twins make identical decisions, and moving the
//! account history out of Nautilus's cache changes nothing in a report.

use std::{path::PathBuf, process::Command};

use crate::fixtures::{GBPUSD_FILE, engine, gbpusd, loaded};
use nautilus_model::instruments::Instrument;
use stratbox::{
    backtest::data::DataFormat,
    bench::backtest::{self as bt, Twins, Workload, decisions, run_once},
};
use stratbox_artifacts as artifacts;

fn config(format: DataFormat) -> bt::Config {
    bt::Config {
        plugin_dir: PathBuf::from(artifacts::EMA_CROSS)
            .parent()
            .unwrap()
            .to_path_buf(),
        workloads: vec![Workload::Light, Workload::Heavy],
        data: PathBuf::from(gbpusd()),
        format,
        reps: 5,
        trade_size: "100000".to_string(),
        light: bt::LightSettings::default(),
        heavy_periods: (10, 20),
    }
}

/// The light component with its EMAs registered with the host and with them computed in
/// the guest: the same orders and fills, at the same times, through Nautilus.
#[test]
fn registered_and_guest_computed_indicators_make_identical_decisions() {
    let engine = engine();
    // The first 40,000 quotes: about 20 trades, half the time of the whole file.
    let mut loaded = loaded(GBPUSD_FILE, DataFormat::FxcmQuotesOhlc);
    loaded.data.truncate(40_000);
    let run = |host_indicators: bool| {
        let mut cfg = config(DataFormat::FxcmQuotesOhlc);
        cfg.light.host_indicators = host_indicators;
        let twins = Twins::new(&engine, &cfg, Workload::Light, loaded.instrument.id()).unwrap();
        let (_, out) = run_once(&engine, &loaded, vec![twins.strategy(true)], false, true).unwrap();
        let report = out.report.strategies.into_iter().next().unwrap();
        assert!(report.plugin.as_ref().unwrap().fault.is_none());
        report
    };
    let (host, guest) = (run(true), run(false));
    assert!(host.orders.len() >= 10, "only {} orders", host.orders.len());
    assert_eq!(decisions(&host), decisions(&guest));
    // The guest-computed run burns the EMA math as fuel; the registered run is charged a
    // flat 50 per indicator instead.
    let fuel =
        |r: &stratbox::backtest::report::StrategyReport| r.plugin.as_ref().unwrap().fuel_total;
    assert_ne!(fuel(&host), fuel(&guest));
}

/// A component built against contract 0.1.0, before registered indicators (committed in
/// `tests/fixtures/contract-0.1.0`, see its README), loads and runs unchanged on this host
/// and decides exactly as the current build of the same strategy, which registers its EMAs.
#[test]
fn a_contract_0_1_0_component_runs_unchanged_and_decides_the_same() {
    let engine = engine();
    let old_dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/contract-0.1.0");
    let old = old_dir.join("ema-atr-filter.wasm");
    let (code, stdout, stderr) =
        crate::fixtures::stratbox(&["inspect", old.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["world"], "stratbox:strategy/strategy-plugin@0.1.0");
    assert_eq!(
        v["exports"],
        serde_json::json!(["stratbox:strategy/strategy@0.1.0"])
    );

    let mut loaded = loaded(GBPUSD_FILE, DataFormat::FxcmQuotesOhlc);
    loaded.data.truncate(40_000);
    let run = |dir: PathBuf| {
        let mut cfg = config(DataFormat::FxcmQuotesOhlc);
        cfg.plugin_dir = dir;
        let twins = Twins::new(&engine, &cfg, Workload::Light, loaded.instrument.id()).unwrap();
        let (_, out) = run_once(&engine, &loaded, vec![twins.strategy(true)], false, true).unwrap();
        let report = out.report.strategies.into_iter().next().unwrap();
        assert!(report.plugin.as_ref().unwrap().fault.is_none());
        report
    };
    let (old, new) = (
        run(old_dir),
        run(config(DataFormat::FxcmQuotesOhlc).plugin_dir),
    );
    assert!(old.orders.len() >= 20, "only {} orders", old.orders.len());
    assert_eq!(decisions(&old), decisions(&new));
}

#[test]
fn light_twins_make_identical_decisions_and_trade_rarely() {
    let engine = engine();
    let loaded = loaded(GBPUSD_FILE, DataFormat::FxcmQuotesOhlc);
    assert_eq!(loaded.data.len(), 4 * 30_117);
    let cfg = config(DataFormat::FxcmQuotesOhlc);
    let twins = Twins::new(&engine, &cfg, Workload::Light, loaded.instrument.id()).unwrap();
    let (_, native) = run_once(&engine, &loaded, vec![twins.strategy(false)], false, true).unwrap();
    let (_, comp) = run_once(&engine, &loaded, vec![twins.strategy(true)], false, true).unwrap();
    let (n, c) = (&native.report.strategies[0], &comp.report.strategies[0]);
    assert!(c.plugin.as_ref().unwrap().fault.is_none());
    assert_eq!(decisions(n), decisions(c));
    // Both EMAs and the ATR are updated on every quote, and trades are rare: at most one
    // per `cooldown` quotes.
    let cooldown = usize::try_from(cfg.light.cooldown).unwrap();
    assert!(c.orders.len() >= 20, "only {} orders", c.orders.len());
    assert!(c.orders.len() <= loaded.data.len() / cooldown + 1);
    assert_eq!(c.fills.len(), c.orders.len());
    let index_of = |ts: u64| {
        loaded
            .data
            .partition_point(|d| nautilus_model::data::HasTsInit::ts_init(d).as_u64() < ts)
    };
    let at: Vec<usize> = c.orders.iter().map(|o| index_of(o.ts_init)).collect();
    for w in at.windows(2) {
        assert!(
            w[1] - w[0] >= cooldown,
            "orders at quotes {} and {}",
            w[0],
            w[1]
        );
    }
    // Every quote reached the guest: init, on-start, each quote, on-stop, and an order
    // event or two per order.
    let callbacks = c.plugin.as_ref().unwrap().callbacks;
    let quotes = loaded.data.len() as u64;
    let orders = c.orders.len() as u64;
    assert!(
        (quotes + 3 + orders..=quotes + 3 + 2 * orders).contains(&callbacks),
        "{callbacks} callbacks"
    );
}

#[test]
fn heavy_twins_make_identical_decisions() {
    let engine = engine();
    let loaded = loaded(GBPUSD_FILE, DataFormat::FxcmQuotesOhlc);
    let cfg = config(DataFormat::FxcmQuotesOhlc);
    let twins = Twins::new(&engine, &cfg, Workload::Heavy, loaded.instrument.id()).unwrap();
    let (_, native) = run_once(&engine, &loaded, vec![twins.strategy(false)], false, true).unwrap();
    let (_, comp) = run_once(&engine, &loaded, vec![twins.strategy(true)], false, true).unwrap();
    let (n, c) = (&native.report.strategies[0], &comp.report.strategies[0]);
    assert_eq!(decisions(n), decisions(c));
    assert!(c.fills.len() > 5_000, "only {} fills", c.fills.len());
}

#[test]
fn purging_account_events_changes_nothing_in_the_report() {
    let engine = engine();
    let loaded = loaded(GBPUSD_FILE, DataFormat::FxcmQuotes);
    let cfg = config(DataFormat::FxcmQuotes);
    let twins = Twins::new(&engine, &cfg, Workload::Heavy, loaded.instrument.id()).unwrap();
    for sandboxed in [false, true] {
        let run = |purge| {
            let (_, o) = run_once(
                &engine,
                &loaded,
                vec![twins.strategy(sandboxed)],
                false,
                purge,
            )
            .unwrap();
            o.report
        };
        let (untouched, purged) = (run(false), run(true));
        assert_eq!(
            serde_json::to_value(&untouched).unwrap(),
            serde_json::to_value(&purged).unwrap(),
            "sandboxed: {sandboxed}"
        );
        // The balance curve is complete: a point per account state, one per fill and the
        // opening state at least.
        let fills = purged.strategies[0].fills.len();
        assert!(fills > 1_000);
        assert!(
            purged.equity.len() > fills,
            "{} points",
            purged.equity.len()
        );
    }
}

#[test]
fn bench_backtest_json_prints_both_ratios() {
    let json = bench_json(&["--workload", "both", "--reps", "5"]);
    let workloads = json["workloads"].as_array().unwrap();
    let names: Vec<&str> = workloads
        .iter()
        .map(|w| w["workload"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["light", "heavy"]);
    for w in workloads {
        assert!(w["ratio"].as_f64().unwrap() > 0.0, "{w}");
        assert_eq!(w["identical"], true, "{w}");
        assert_eq!(w["events"], 30_117);
        assert_eq!(w["reps"], 5);
        for key in [
            "replay_ns_per_event",
            "native_ns_per_event",
            "component_ns_per_event",
        ] {
            assert!(w[key].as_f64().unwrap() > 0.0, "{key}: {w}");
        }
    }
}

#[test]
fn bench_refuses_a_missing_component_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_stratbox"))
        .args(["bench", "backtest", "--workload", "light", "--plugin-dir"])
        .arg(dir.path())
        .args(["--data", &gbpusd()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ema-atr-filter.wasm"), "{stderr}");
    assert!(stderr.contains("cargo xtask plugins"), "{stderr}");
}

fn bench_json(args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_stratbox"))
        .args(["bench", "backtest", "--json"])
        .args(args)
        .args(["--data", &gbpusd(), "--format", "fxcm-quotes"])
        .arg("--plugin-dir")
        .arg(PathBuf::from(artifacts::EMA_CROSS).parent().unwrap())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?}: {stderr}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn one_side_runs_alone_on_the_first_events() {
    let sides = bench_json(&[
        "--workload",
        "heavy",
        "--only",
        "component",
        "--events",
        "3000",
        "--reps",
        "1",
    ]);
    let s = &sides[0];
    assert_eq!(
        (s["workload"].as_str(), s["side"].as_str()),
        (Some("heavy"), Some("component"))
    );
    assert_eq!(
        (s["events"].as_u64(), s["strategies"].as_u64()),
        (Some(3_000), Some(1))
    );
    assert!(s["ns_per_event"].as_f64().unwrap() > 0.0, "{s}");
    assert!(
        s["orders"].as_u64().unwrap() > 0,
        "ema-cross trades in 3,000 quotes: {s}"
    );
    let replay = bench_json(&[
        "--workload",
        "light",
        "--only",
        "replay",
        "--events",
        "1000",
        "--reps",
        "1",
    ]);
    assert_eq!(
        (
            replay[0]["orders"].as_u64(),
            replay[0]["strategies"].as_u64()
        ),
        (Some(0), Some(0))
    );
}

#[test]
fn copies_of_the_light_twins_decide_alike_and_report_their_cost_per_copy() {
    let r = bench_json(&["--strategies", "3", "--events", "4000", "--reps", "1"]);
    let rows = r["rows"].as_array().unwrap();
    let n: Vec<u64> = rows
        .iter()
        .map(|row| row["strategies"].as_u64().unwrap())
        .collect();
    assert_eq!(n, [1, 3], "N = 1 is always measured: {r}");
    for row in rows {
        assert_eq!(row["identical"], true, "{row}");
        for key in [
            "replay_ns_per_event",
            "native_ns_per_event",
            "component_ns_per_event",
            "ratio",
        ] {
            assert!(row[key].as_f64().unwrap() > 0.0, "{key}: {row}");
        }
        assert!(row["sandbox_ns_per_event_per_copy"].is_number(), "{row}");
    }
    assert!(r["per_copy_growth"].is_number(), "{r}");
    assert_eq!(r["events"], 4_000);
}
