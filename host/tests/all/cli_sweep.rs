//! `stratbox sweep` as a user runs it: the same ranked tables with 1 and 2 workers, CSV and
//! JSON agreeing, a row equal to a plain `stratbox backtest`, refused and faulted runs as
//! rows, and bad `--param`s refused with exit code 2 before anything is written.

use std::path::Path;

use crate::fixtures::{gbpusd, stratbox};
use serde_json::Value;
use stratbox_artifacts as artifacts;

/// Runs the small ema-cross grid (3 x 3, two refused: fast >= slow) with `jobs` workers.
fn sweep(out: &Path, jobs: &str) -> (String, String, String) {
    let (code, stdout, stderr) = stratbox(&[
        "sweep",
        "--plugin",
        artifacts::EMA_CROSS,
        "--data",
        &gbpusd(),
        "--param",
        "fast_period=5..15:5",
        "--param",
        "slow_period=10,20,30",
        "--jobs",
        jobs,
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    let json = std::fs::read_to_string(out.join("sweep.json")).unwrap();
    assert_eq!(stdout, json, "--json prints sweep.json");
    (csv, json, stderr)
}

/// The CSV without its last column (`wall_ms`, the only measured one).
fn csv_without_wall(csv: &str) -> String {
    csv.lines()
        .map(|l| l.rsplit_once(',').unwrap().0)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The JSON without `timing` and the rows' `wall_ms`.
fn json_without_wall(json: &str) -> Value {
    let mut v: Value = serde_json::from_str(json).unwrap();
    v.as_object_mut().unwrap().remove("timing").unwrap();
    for row in v["rows"].as_array_mut().unwrap() {
        row.as_object_mut().unwrap().remove("wall_ms").unwrap();
    }
    v
}

fn num(s: &str) -> Option<f64> {
    (!s.is_empty()).then(|| s.parse().unwrap())
}

#[test]
fn one_and_two_workers_give_the_same_ranked_tables_and_a_row_matches_a_backtest() {
    let tmp = tempfile::tempdir().unwrap();
    let (csv1, json1, stderr) = sweep(&tmp.path().join("one"), "1");
    assert_eq!(stderr.matches("sweep: [").count(), 9, "{stderr}");
    let (csv2, json2, _) = sweep(&tmp.path().join("two"), "2");
    assert_eq!(csv_without_wall(&csv1), csv_without_wall(&csv2));
    assert_eq!(
        serde_json::to_string_pretty(&json_without_wall(&json1)).unwrap(),
        serde_json::to_string_pretty(&json_without_wall(&json2)).unwrap()
    );

    let doc: Value = serde_json::from_str(&json2).unwrap();
    assert_eq!(doc["timing"]["jobs"], 2);
    assert_eq!(doc["plugin"]["name"], "ema-cross");
    assert_eq!(doc["plugin"]["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(doc["data"]["events"], 30_117);
    assert_eq!(doc["data"]["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(doc["grid"]["runs"], 9);
    assert_eq!(doc["grid"]["axes"][0]["spec"], "5..15:5");
    assert_eq!(doc["grid"]["fixed"]["instrument_id"], "GBP/USD.FXCM");
    assert_eq!(doc["rank_by"]["key"], "pnl_total");
    assert_eq!(doc["counts"]["ok"], 7);
    assert_eq!(doc["counts"]["refused"], 2);

    // Rows in rank order: ok runs by pnl_total descending (ties by grid index), the two
    // refused combinations last, each with the plugin's reason.
    let rows = doc["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 9);
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r["rank"], i + 1);
    }
    let ok: Vec<&Value> = rows.iter().filter(|r| r["status"] == "ok").collect();
    assert_eq!(ok.len(), 7);
    for pair in ok.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let (va, vb) = (
            a["rank_value"].as_f64().unwrap(),
            b["rank_value"].as_f64().unwrap(),
        );
        assert!(
            va > vb || (va == vb && a["index"].as_u64() < b["index"].as_u64()),
            "{a} before {b}"
        );
        assert_eq!(a["rank_value"], a["pnl_total"]);
    }
    for r in &rows[7..] {
        assert_eq!(r["status"], "refused");
        assert!(
            r["message"]
                .as_str()
                .unwrap()
                .contains("must be less than slow_period"),
            "{r}"
        );
        assert!(r["params"]["fast_period"].as_i64() >= r["params"]["slow_period"].as_i64());
    }

    // The CSV says the same as the JSON, row by row.
    let mut lines = csv2.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    // Messages may be quoted (commas inside); the ones here have none.
    let csv_rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(csv_rows.len(), rows.len());
    for (c, j) in csv_rows.iter().zip(rows) {
        assert_eq!(c[col("rank")], j["rank"].to_string());
        assert_eq!(c[col("index")], j["index"].to_string());
        assert_eq!(
            c[col("fast_period")],
            j["params"]["fast_period"].to_string()
        );
        assert_eq!(
            c[col("slow_period")],
            j["params"]["slow_period"].to_string()
        );
        assert_eq!(c[col("status")], j["status"].as_str().unwrap());
        assert_eq!(c[col("orders")], j["orders"].to_string());
        assert_eq!(c[col("fuel_total")], j["fuel_total"].to_string());
        for key in ["pnl_total", "realized_pnl", "max_drawdown_pct", "sharpe"] {
            assert_eq!(num(c[col(key)]), j[key].as_f64(), "{key}");
        }
    }

    // The best run, as a plain backtest: the same orders, fills, positions, PnL, drawdown,
    // statistics and fuel.
    let best = &rows[0];
    let (code, stdout, stderr) = stratbox(&[
        "backtest",
        "--plugin",
        artifacts::EMA_CROSS,
        "--data",
        &gbpusd(),
        "--param",
        &format!("fast_period={}", best["params"]["fast_period"]),
        "--param",
        &format!("slow_period={}", best["params"]["slow_period"]),
        "--json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let s = &report["strategies"][0];
    assert_eq!(best["orders"], s["orders"].as_array().unwrap().len());
    assert_eq!(best["fills"], s["fills"].as_array().unwrap().len());
    assert_eq!(best["positions"], s["positions"].as_array().unwrap().len());
    assert_eq!(best["fuel_total"], s["plugin"]["fuel_total"]);
    assert_eq!(best["callbacks"], s["plugin"]["callbacks"]);
    let money = |v: &Value| -> f64 {
        v.as_str().map_or(0.0, |t| {
            t.split_whitespace().next().unwrap().parse().unwrap()
        })
    };
    assert_eq!(
        best["realized_pnl"].as_f64().unwrap(),
        money(&s["realized_pnl"]["USD"])
    );
    assert_eq!(
        best["unrealized_pnl"].as_f64().unwrap(),
        money(&s["unrealized_pnl"]["USD"])
    );
    let p = &report["portfolio"];
    assert_eq!(best["max_drawdown_pct"], p["max_drawdown_pct"]);
    assert_eq!(
        best["stats"]["PnL (total)"],
        p["pnl_stats"]["USD"]["PnL (total)"]
    );
    assert_eq!(best["stats"]["Win Rate"], p["pnl_stats"]["USD"]["Win Rate"]);
    assert_eq!(best["win_rate"], p["pnl_stats"]["USD"]["Win Rate"]);
    let sharpe = p["returns_stats"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(k, _)| k.starts_with("Sharpe Ratio"))
        .unwrap()
        .1;
    assert_eq!(&best["sharpe"], sharpe);
}

#[test]
fn ranking_by_drawdown_and_by_a_statistic_name() {
    let tmp = tempfile::tempdir().unwrap();
    for (rank_by, key, smaller_loss) in [
        ("max_drawdown", "max_drawdown_pct", true),
        ("sharpe ratio", "sharpe", false),
    ] {
        let (code, stdout, stderr) = stratbox(&[
            "sweep",
            "--plugin",
            artifacts::EMA_CROSS,
            "--data",
            &gbpusd(),
            "--param",
            "fast_period=5,15",
            "--set",
            "slow_period=40",
            "--rank-by",
            rank_by,
            "--out",
            tmp.path().to_str().unwrap(),
            "--json",
        ]);
        assert_eq!(code, 0, "{stderr}");
        let doc: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(doc["grid"]["fixed"]["slow_period"], 40);
        let rows = doc["rows"].as_array().unwrap();
        let v: Vec<f64> = rows.iter().map(|r| r[key].as_f64().unwrap()).collect();
        assert_eq!(v.len(), 2);
        if smaller_loss {
            assert!(v[0].abs() <= v[1].abs(), "{v:?}");
        } else {
            assert!(v[0] >= v[1], "{v:?}");
        }
        assert_eq!(rows[0]["rank_value"], rows[0][key]);
    }
}

#[test]
fn a_plugin_fault_is_a_faulted_row() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = stratbox(&[
        "sweep",
        "--plugin",
        artifacts::HOSTILE_INFINITE_LOOP,
        "--data",
        &gbpusd(),
        "--format",
        "fxcm-bars",
        "--param",
        "bar_type=GBP/USD.FXCM-1-MINUTE-BID-EXTERNAL",
        "--out",
        tmp.path().to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    let row = &doc["rows"][0];
    assert_eq!(row["status"], "faulted");
    assert!(
        row["message"].as_str().unwrap().contains("fuel budget"),
        "{row}"
    );
    assert_eq!(doc["counts"]["faulted"], 1);
}

#[test]
fn bad_input_exits_2_names_the_problem_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["--param", "fsat=5..10:5"],
            &["--param fsat=5..10:5", "no parameter `fsat`", "fast_period"],
        ),
        (
            &["--param", "fast_period=5.5..10:1"],
            &["--param fast_period=5.5..10:1", "`5.5`", "int"],
        ),
        (
            &["--param", "fast_period=0..10:5"],
            &["--param fast_period=0..10:5", "below the minimum 1"],
        ),
        (
            &["--param", "fast_period=30..5:5"],
            &["--param fast_period=30..5:5", "empty range"],
        ),
        (
            &["--param", "fast_period=5..30:0"],
            &["--param fast_period=5..30:0", "step must be positive"],
        ),
        (
            &["--param", "fast_period=5..30:-5"],
            &["step must be positive"],
        ),
        (
            &["--param", "fast_period"],
            &["--param fast_period", "expected name=lo..hi:step"],
        ),
        (
            &["--param", "trade_size=1..2"],
            &["--param trade_size=1..2", "needs a step"],
        ),
        (
            &[
                "--param",
                "fast_period=1..200",
                "--param",
                "slow_period=2..100",
            ],
            &["19800 runs (200 x 99)", "at most 10000"],
        ),
        (&["--param", "fast_period=5,5"], &["listed twice"]),
        (
            &["--param", "fast_period=5,10", "--set", "fast_period=7"],
            &["--set fast_period", "also swept"],
        ),
        (
            &["--param", "fast_period=5,10", "--set", "slow_period=x"],
            &["slow_period", "not an int"],
        ),
        (
            &["--param", "fast_period=5,10", "--jobs", "0"],
            &["--jobs 0"],
        ),
        (
            &["--param", "fast_period=5,10", "--rank-by", " "],
            &["--rank-by"],
        ),
    ];
    let data = gbpusd();
    for (extra, needles) in cases {
        let mut args = vec![
            "sweep",
            "--plugin",
            artifacts::EMA_CROSS,
            "--data",
            &data,
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let (code, stdout, stderr) = stratbox(&args);
        assert_eq!(code, 2, "{extra:?}: {stdout}\n{stderr}");
        for needle in *needles {
            assert!(
                stderr.contains(needle),
                "{extra:?}: no `{needle}` in {stderr}"
            );
        }
        assert!(!out.exists(), "{extra:?} wrote {}", out.display());
    }
    // Every problem at once.
    let (code, _, stderr) = stratbox(&[
        "sweep",
        "--plugin",
        artifacts::EMA_CROSS,
        "--param",
        "fsat=1..2",
        "--param",
        "slow_period=0..1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert_eq!(stderr.matches("error: --param").count(), 2, "{stderr}");
    assert!(!out.exists());
}
