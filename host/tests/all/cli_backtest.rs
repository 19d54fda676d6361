//! `stratbox backtest` as a user runs it: the summary, the report files, and bad input.

use crate::fixtures::{DATA, gbpusd, stratbox};
use stratbox_artifacts as artifacts;

#[test]
fn ema_cross_backtest_prints_a_summary_and_writes_identical_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for dir in [&a, &b] {
        let (code, stdout, stderr) = stratbox(&[
            "backtest",
            "--plugin",
            artifacts::EMA_CROSS,
            "--data",
            &gbpusd(),
            "--report",
            dir.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{stderr}");
        for needle in [
            "30117 events of GBP/USD.FXCM",
            "EMA_CROSS-000",
            "fills",
            "Sharpe",
            "win rate",
            "fuel",
            "in guest",
            "faults: none",
            "report.json",
        ] {
            assert!(
                stdout.contains(needle),
                "summary lacks `{needle}`:\n{stdout}"
            );
        }
    }
    let ra = std::fs::read(a.join("report.json")).unwrap();
    assert_eq!(
        ra,
        std::fs::read(b.join("report.json")).unwrap(),
        "report.json differs on rerun"
    );
    let v: serde_json::Value = serde_json::from_slice(&ra).unwrap();
    assert_eq!(v["events"], 30_117);
    assert!(v["strategies"][0]["orders"].as_array().unwrap().len() > 500);
    // The self-contained viewer with this run's report in it, titled for the run.
    let html = std::fs::read_to_string(a.join("report.html")).unwrap();
    assert!(
        html.contains("<title>stratbox backtest: ema-cross on GBP/USD.FXCM</title>"),
        "{}",
        &html[..html.len().min(600)]
    );
    assert!(html.contains(r#"<script type="application/json" id="report-data">{"#));
    assert!(html.contains(r#""events": 30117"#));
    assert!(!html.contains("/*STRATBOX_REPORT_JSON*/"));
}

#[test]
fn json_output_and_plugin_by_name_on_btc_bars_as_quotes() {
    let (code, stdout, stderr) = stratbox(&[
        "backtest",
        "--plugin",
        artifacts::EMA_CROSS,
        "--data",
        &format!("{DATA}/btc-perp/btc-perp-20211231-20220201_1m.csv"),
        "--format",
        "ohlcv-quotes",
        "--param",
        "trade_size=0.5",
        "--json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["instruments"][0], "BTCUSDT-PERP.BINANCE");
    assert_eq!(v["strategies"][0]["orders"][0]["quantity"], "0.500");
}

/// Runs a failing backtest; checks exit code, message and that no report was written.
fn fails(extra: &[&str], code: i32, needles: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let report = tmp.path().join("report");
    let mut args = vec!["backtest", "--report", report.to_str().unwrap()];
    args.extend_from_slice(extra);
    let (got, stdout, stderr) = stratbox(&args);
    assert_eq!(got, code, "{args:?}\nstdout: {stdout}\nstderr: {stderr}");
    for n in needles {
        assert!(
            stderr.contains(n),
            "{args:?}: stderr lacks `{n}`:\n{stderr}"
        );
    }
    assert!(
        !report.join("report.json").exists(),
        "a report was written for {args:?}"
    );
}

#[test]
fn bad_input_is_refused_clearly_and_writes_no_report() {
    let ema = artifacts::EMA_CROSS;
    let gbp = gbpusd();
    fails(
        &["--plugin", ema, "--data", "/no/such/file.csv"],
        2,
        &["/no/such/file.csv", "does not exist"],
    );
    fails(
        &["--plugin", "no-such-plugin", "--data", &gbp],
        2,
        &["no component `no-such-plugin`", "cargo xtask plugins"],
    );
    fails(
        &["--plugin", ema, "--data", &gbp, "--instrument", "FOO.BAR"],
        2,
        &["unknown instrument `FOO.BAR`", "GBP/USD.FXCM"],
    );
    fails(
        &["--plugin", ema, "--data", &gbp, "--param", "nope=1"],
        2,
        &["no plugin declares a parameter `nope`"],
    );
    fails(
        &[
            "--plugin",
            ema,
            "--data",
            &gbp,
            "--param",
            "fast_period=abc",
        ],
        2,
        &["fast_period"],
    );
    fails(
        &["--plugin", ema, "--data", &gbp, "--param", "fast_period=0"],
        2,
        &["fast_period"],
    );
    fails(
        &["--plugin", ema, "--data", &gbp, "--balance", "lots USD"],
        2,
        &["--balance"],
    );
    fails(
        &[
            "--plugin",
            artifacts::HOSTILE_WASI_FILESYSTEM,
            "--data",
            &gbp,
        ],
        3,
        &["refused", "wasi"],
    );

    // A malformed row: the message names the file and the line.
    let tmp = tempfile::tempdir().unwrap();
    let src = std::fs::read_to_string(format!("{DATA}/btc-perp/btc-perp-20211231-20220201_1m.csv"))
        .unwrap();
    let mut lines: Vec<&str> = src.lines().take(50).collect();
    lines[6] = "2021-12-31 23:07:00.000000,46400.0,oops,46300.0,46350.0,1.0";
    let bad = tmp.path().join("btc-perp-bad.csv");
    std::fs::write(&bad, lines.join("\n")).unwrap();
    fails(
        &[
            "--plugin",
            ema,
            "--data",
            bad.to_str().unwrap(),
            "--format",
            "ohlcv-quotes",
        ],
        2,
        &["btc-perp-bad.csv:7:", "high"],
    );
    // A price finer than the instrument allows is refused, not rounded.
    lines[6] = "2021-12-31 23:07:00.000000,46400.0,46500.12345,46300.0,46350.0,1.0";
    std::fs::write(&bad, lines.join("\n")).unwrap();
    fails(
        &["--plugin", ema, "--data", bad.to_str().unwrap()],
        2,
        &["btc-perp-bad.csv:7:", "more decimals"],
    );
}
