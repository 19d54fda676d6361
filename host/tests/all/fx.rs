//! FX as a new user meets it, on the command line and through the service: bar strategies
//! on FXCM minute bars fill (bid and ask bars), a run whose orders the venue rejects says
//! how many and why, and a currency pair that is not in the instrument file gets the
//! standard definition.

use std::path::Path;

use crate::fixtures::{data, gbpusd, stratbox};
use stratbox_artifacts as artifacts;

const USDJPY_BID: &str = "fxcm/usdjpy-m1-bid-2013.csv";
const USDJPY_ASK: &str = "fxcm/usdjpy-m1-ask-2013.csv";

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn len(v: &serde_json::Value) -> usize {
    v.as_array().map_or(0, Vec::len)
}

fn bollinger_on(file: &str, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec![
        "backtest",
        "--plugin",
        artifacts::BOLLINGER_REVERSION,
        "--data",
        file,
        "--format",
        "fxcm-bars",
        "--param",
        "bar_type=GBP/USD.FXCM-1-MINUTE-BID-EXTERNAL",
    ];
    args.extend_from_slice(extra);
    stratbox(&args)
}

#[test]
fn bar_strategies_fill_on_fxcm_bid_and_ask_bars() {
    let (code, stdout, stderr) = bollinger_on(&gbpusd(), &["--json"]);
    assert_eq!(code, 0, "{stderr}");
    let v = json(&stdout);
    let s = &v["strategies"][0];
    let orders = len(&s["orders"]);
    assert!(orders > 100, "{orders} orders");
    // Market orders on bars fill (the old bid-bars-only data filled none: all "No market").
    assert!(len(&s["fills"]) >= orders / 2, "{} fills", len(&s["fills"]));
    assert_eq!(s["venue_rejected_by_reason"], serde_json::json!({}));
    assert_eq!(v["risk"]["venue_rejected_by_reason"], serde_json::json!({}));
    // Both sides reached Nautilus: 30,117 minutes × 2 bars.
    assert_eq!(v["events"], 60_234);
    assert!(!stderr.contains("warning"), "{stderr}");
}

#[test]
fn a_bid_file_alone_runs_and_the_summary_says_why_nothing_fills() {
    let tmp = tempfile::tempdir().unwrap();
    let bid = tmp.path().join("gbpusd-m1-bid-2012.csv");
    std::fs::copy(gbpusd(), &bid).unwrap();
    let report = tmp.path().join("report");
    let (code, stdout, stderr) = bollinger_on(
        bid.to_str().unwrap(),
        &["--report", report.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("warning:") && stderr.contains("gbpusd-m1-ask-2012.csv"),
        "no warning about the missing ask file:\n{stderr}"
    );
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report.join("report.json")).unwrap()).unwrap();
    let s = &v["strategies"][0];
    let orders = len(&s["orders"]);
    assert!(orders > 100, "{orders}");
    assert_eq!(len(&s["fills"]), 0);
    let reason = "No market for GBP/USD.FXCM";
    assert_eq!(s["venue_rejected_by_reason"][reason], orders);
    assert_eq!(v["risk"]["venue_rejected_by_reason"][reason], orders);
    for o in s["orders"].as_array().unwrap() {
        assert_eq!(o["status"], "REJECTED");
        assert_eq!(o["reason"], reason);
    }
    for needle in [
        format!("venue rejected {orders} orders: {reason} ×{orders}"),
        format!("past the gate: venue rejected {orders} orders"),
        "\"No market\"".to_string(),
    ] {
        assert!(
            stdout.contains(&needle),
            "summary lacks `{needle}`:\n{stdout}"
        );
    }
}

/// `stratbox backtest` of ema-cross on the bundled USD/JPY minutes, `--json`.
fn ema_cross_on_usdjpy(extra: &[&str]) -> (i32, String, String) {
    let file = data(USDJPY_BID);
    let mut args = vec![
        "backtest",
        "--plugin",
        artifacts::EMA_CROSS,
        "--data",
        &file,
        "--instrument",
        "USD/JPY.FXCM",
        "--json",
    ];
    args.extend_from_slice(extra);
    stratbox(&args)
}

#[test]
fn an_fx_pair_without_a_definition_gets_the_standard_one() {
    let (code, stdout, stderr) = ema_cross_on_usdjpy(&[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("note: USD/JPY.FXCM is not in the instrument definitions")
            && stderr.contains("price precision 3"),
        "{stderr}"
    );
    let v = json(&stdout);
    assert_eq!(v["instruments"][0], "USD/JPY.FXCM");
    let s = &v["strategies"][0];
    assert!(len(&s["orders"]) > 100);
    assert!(len(&s["fills"]) > 100);
    // JPY quotes: three decimals.
    let px = s["fills"][0]["last_px"].as_str().unwrap();
    assert_eq!(px.split('.').nth(1).map(str::len), Some(3), "{px}");
    // Without --instrument the file's pair cannot be guessed: a clear error.
    let (code, _, stderr) = stratbox(&[
        "backtest",
        "--plugin",
        artifacts::EMA_CROSS,
        "--data",
        &data(USDJPY_BID),
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("pass --instrument"), "{stderr}");
}

#[test]
fn an_instruments_file_overrides_the_standard_pair() {
    let tmp = tempfile::tempdir().unwrap();
    let defs = tmp.path().join("instruments.toml");
    std::fs::write(
        &defs,
        r#"[[instrument]]
id = "USD/JPY.FXCM"
kind = "currency-pair"
base = "USD"
quote = "JPY"
price_precision = 3
size_precision = 0
price_increment = "0.001"
size_increment = "1"
min_quantity = "1"
max_quantity = "50000000"
"#,
    )
    .unwrap();
    let (code, stdout, stderr) = ema_cross_on_usdjpy(&[
        "--instruments",
        defs.to_str().unwrap(),
        "--param",
        "trade_size=2000000",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("standard currency pair"), "{stderr}");
    // 2,000,000 is above the standard pair's maximum (1,000,000) but within this file's.
    let v = json(&stdout);
    assert!(len(&v["strategies"][0]["fills"]) > 100);
    assert_eq!(v["risk"]["denied_by_reason"], serde_json::json!({}));
}

fn import(cat: &Path, file: &str) {
    let (code, _, stderr) = stratbox(&[
        "catalog",
        "import",
        &data(file),
        "--catalog",
        cat.to_str().unwrap(),
        "--instrument",
        "USD/JPY.FXCM",
        "--kind",
        "bars",
        "--on-problem",
        "keep-and-flag",
    ]);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn catalog_bars_of_a_standard_pair_fill_with_both_sides_imported() {
    let tmp = tempfile::tempdir().unwrap();
    let cat = tmp.path().join("cat");
    import(&cat, USDJPY_BID);
    let run = || {
        stratbox(&[
            "backtest",
            "--plugin",
            artifacts::BOLLINGER_REVERSION,
            "--catalog",
            cat.to_str().unwrap(),
            "--instrument",
            "USD/JPY.FXCM",
            "--kind",
            "bars",
            "--bar-type",
            "USD/JPY.FXCM-1-MINUTE-BID-EXTERNAL",
            "--param",
            "trade_size=100000",
            "--json",
        ])
    };
    // Bid bars only: runs, warns, and every order is rejected with its reason.
    let (code, stdout, stderr) = run();
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("ASK"), "{stderr}");
    let v = json(&stdout);
    let orders = len(&v["strategies"][0]["orders"]);
    assert!(orders > 10);
    assert_eq!(
        v["risk"]["venue_rejected_by_reason"]["No market for USD/JPY.FXCM"],
        orders
    );
    // With the ask side imported too, the same run fills.
    import(&cat, USDJPY_ASK);
    let (code, stdout, stderr) = run();
    assert_eq!(code, 0, "{stderr}");
    let v = json(&stdout);
    assert!(len(&v["strategies"][0]["fills"]) > 10, "{stdout}");
    assert_eq!(v["risk"]["venue_rejected_by_reason"], serde_json::json!({}));
}

const USDJPY_POLICY: &str = r#"
version = "usdjpy"
currency = "USD"

[defaults]
max_order_quantity = "200000"
max_position = "300000"
allowed_instruments = ["USD/JPY.FXCM"]
"#;

#[test]
fn a_deployment_on_a_standard_pair_trades() {
    use crate::service_e2e::{Api, admin_token, config, fed, runtime, wait_for};
    use serde_json::json;
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", tmp.path().join("stratbox.db").display());
    let rt = runtime();
    let admin = admin_token(tmp.path(), &url);
    let server = rt
        .block_on(stratbox::service::Server::start(config(tmp.path(), url)))
        .unwrap();
    let api = Api::new(server.addr);
    let (s, up) = api.upload(&admin, artifacts::EMA_CROSS);
    assert_eq!(s, 201, "{up}");
    let spec = json!({ "capabilities": {
        "market-data": { "instruments": ["USD/JPY.FXCM"] },
        "risk-gate": { "instruments": ["USD/JPY.FXCM"] }
    } });
    let (s, g) = api.call(
        "POST",
        "/v1/grants",
        Some(&admin),
        Some(json!({ "digest": up["digest"], "reason": "USD/JPY paper", "grant": spec })),
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
    let (s, d) = api.call(
        "POST",
        "/v1/deployments",
        Some(&admin),
        Some(
            json!({ "plugin": up["digest"], "grant": gid, "risk_policy": USDJPY_POLICY,
            "session": { "data": USDJPY_BID, "format": "fxcm-quotes",
                         "instrument": "USD/JPY.FXCM", "speed": "max" },
            "params": { "fast_period": "10", "slow_period": "20" } }),
        ),
    );
    assert_eq!(s, 201, "{d}");
    let dep = d["id"].as_str().unwrap().to_string();
    let outcome = wait_for(180, "the USD/JPY session to end", || {
        let (_, v) = api.call("GET", &format!("/v1/deployments/{dep}"), Some(&admin), None);
        (!v["outcome"].is_null()).then(|| v["outcome"].clone())
    });
    assert_eq!(fed(&api, &admin, &dep), 28_761);
    assert_eq!(outcome["quarantined"], false, "{outcome}");
    // The session's report is its strategy's: fills at JPY's three decimals.
    let fills = &outcome["report"]["fills"];
    assert!(len(fills) > 100, "{outcome}");
    let px = fills[0]["last_px"].as_str().unwrap();
    assert_eq!(px.split('.').nth(1).map(str::len), Some(3), "{px}");
    rt.block_on(server.shutdown());
}
