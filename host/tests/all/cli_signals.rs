//! `stratbox signals ...` and `backtest --signals`, end to end through the binary: ingest
//! (JSONL, CSV, Parquet), dead letters, idempotent re-ingest, replay, the regime-signal
//! backtest, and `kill -9` in the middle of an ingest.

use std::{
    io::{BufRead, BufReader, Write},
    path::Path,
    process::{Command, Stdio},
    sync::Arc,
};

use crate::fixtures::{DATA, SIGNALS, stratbox};
use proptest::prelude::*;
use serde_json::Value as Json;
use stratbox::signals::store::{Durability, SignalStore};
use stratbox_artifacts as artifacts;

fn json_lines(stdout: &str) -> Vec<Json> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn summary(stdout: &str) -> Json {
    json_lines(stdout).pop().unwrap()
}

#[test]
fn ingest_of_the_bundled_signals_is_idempotent() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let args = [
        "signals",
        "ingest",
        SIGNALS,
        "--store",
        store.to_str().unwrap(),
        "--json",
    ];
    let (code, out, err) = stratbox(&args);
    assert_eq!(code, 0, "{err}");
    let s = summary(&out);
    assert_eq!(s["records"], 726);
    assert_eq!(s["stored"], 726);
    assert_eq!(s["dead_lettered"], 0);
    let (code, out, err) = stratbox(&args);
    assert_eq!(code, 0, "{err}");
    let s = summary(&out);
    assert_eq!(
        (s["stored"].as_u64(), s["duplicates"].as_u64()),
        (Some(0), Some(726))
    );
    assert_eq!(s["store_total"], 726);
    let (code, out, _) = stratbox(&[
        "signals",
        "dead-letters",
        "--store",
        store.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    assert_eq!(out.trim(), "no dead letters");
}

#[test]
fn csv_records_are_validated_and_refusals_listed_as_dead_letters() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("s.csv");
    std::fs::write(
        &csv,
        "signal_id,signal_type,instrument_id,timestamp,confidence,value,source_model,metadata\n\
         a,SENTIMENT,GBP/USD.FXCM,1641081600000000000,0.7,0.25,news/2,\"{\"\"lang\"\":\"\"en\"\"}\"\n\
         b,REGIME_PREDICTION,BTCUSDT-PERP.BINANCE,1641081600000000000,0.9,\"{\"\"bull\"\":0.8,\"\"bear\"\":0.2}\",hmm/1,\n\
         c,SENTIMENT,GBP/USD.FXCM,1641081600000000000,1.7,0.25,news/2,\n\
         d,SENTIMENT,NOPE.X,1641081600,0.5,x,news/2,\n\
         e,SENTIMENT,GBP/USD.FXCM,1641081600000000000,NaN,0.25,news/2,\n",
    )
    .unwrap();
    let store = tmp.path().join("store");
    let (code, out, err) = stratbox(&[
        "signals",
        "ingest",
        csv.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let s = summary(&out);
    assert_eq!(
        (s["stored"].as_u64(), s["dead_lettered"].as_u64()),
        (Some(2), Some(3))
    );
    let (code, out, err) = stratbox(&[
        "signals",
        "dead-letters",
        "--store",
        store.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let dead = json_lines(&out);
    assert_eq!(dead.len(), 3);
    assert_eq!(dead[2]["source"], "s.csv:6");
    assert_eq!(
        dead[2]["reason"],
        "confidence: `NaN` is not a finite number"
    );
    assert_eq!(dead[0]["source"], "s.csv:4");
    assert!(
        dead[0]["reason"]
            .as_str()
            .unwrap()
            .contains("confidence: 1.7 is outside [0, 1]")
    );
    assert_eq!(dead[1]["source"], "s.csv:5");
    let reason = dead[1]["reason"].as_str().unwrap();
    assert!(
        reason.contains("unknown instrument `NOPE.X`")
            && reason.contains("seconds or milliseconds"),
        "{reason}"
    );
    // Human listing names the stage, the source and the reason.
    let (_, out, _) = stratbox(&[
        "signals",
        "dead-letters",
        "--store",
        store.to_str().unwrap(),
        "--stage",
        "validation",
    ]);
    assert!(out.contains("validation s.csv:4 signal `c`"), "{out}");
    let (code, _, err) = stratbox(&[
        "signals",
        "dead-letters",
        "--store",
        store.to_str().unwrap(),
        "--stage",
        "bogus",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--stage `bogus`"), "{err}");
}

#[test]
fn parquet_signals_are_ingested() {
    use arrow_array::{Float64Array, Int64Array, RecordBatch, StringArray};
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("s.parquet");
    let text = |v: Vec<&str>| Arc::new(StringArray::from(v)) as Arc<dyn arrow_array::Array>;
    let batch = RecordBatch::try_from_iter(vec![
        ("signal_id", text(vec!["p1", "p2", "p3"])),
        (
            "signal_type",
            text(vec![
                "VOLATILITY_FORECAST",
                "CORRELATION_SHIFT",
                "SENTIMENT",
            ]),
        ),
        (
            "instrument_id",
            text(vec!["BTCUSDT-PERP.BINANCE", "GBP/USD.FXCM", "GBP/USD.FXCM"]),
        ),
        (
            "timestamp",
            Arc::new(Int64Array::from(vec![
                1_641_081_600_000_000_000,
                1_641_081_660_000_000_000,
                1_641_081_720_000_000_000,
            ])) as _,
        ),
        (
            "confidence",
            Arc::new(Float64Array::from(vec![0.5, 0.25, f64::NAN])) as _,
        ),
        (
            "value",
            text(vec!["0.031", "{\"EUR/USD.FXCM\": -0.4}", "up"]),
        ),
        ("source_model", text(vec!["garch/1", "corr/3", "news/2"])),
        ("metadata", text(vec!["", "{\"window\":\"30d\"}", ""])),
    ])
    .unwrap();
    let file = std::fs::File::create(&path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let store = tmp.path().join("store");
    let (code, out, err) = stratbox(&[
        "signals",
        "ingest",
        path.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let s = summary(&out);
    assert_eq!(
        (s["stored"].as_u64(), s["dead_lettered"].as_u64()),
        (Some(2), Some(1)),
        "{out}"
    );
    let (_, out, _) = stratbox(&[
        "signals",
        "dead-letters",
        "--store",
        store.to_str().unwrap(),
        "--json",
    ]);
    let dead = json_lines(&out);
    assert_eq!(dead[0]["source"], "s.parquet:row 3");
    assert_eq!(
        dead[0]["reason"], "confidence: NaN is not a finite number",
        "{dead:?}"
    );
}

#[test]
fn unreadable_files_fail_with_the_reason_and_store_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let bad = tmp.path().join("s.csv");
    std::fs::write(&bad, "signal_id,when\nx,1\n").unwrap();
    let (code, _, err) = stratbox(&[
        "signals",
        "ingest",
        bad.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("s.csv") && err.contains("header lacks signal_type"),
        "{err}"
    );
    let (code, _, err) = stratbox(&[
        "signals",
        "ingest",
        "nope.txt",
        "--store",
        store.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--format jsonl|csv|parquet"), "{err}");
    let (code, _, err) = stratbox(&[
        "signals",
        "replay",
        "--store",
        store.to_str().unwrap(),
        "--from",
        "2022-01-05",
        "--to",
        "2022-01-01",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("is not before"), "{err}");
}

#[test]
fn replay_repeats_the_sequence_and_delivers_to_granted_plugins() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let s = store.to_str().unwrap();
    let (code, _, err) = stratbox(&["signals", "ingest", SIGNALS, "--store", s]);
    assert_eq!(code, 0, "{err}");
    let replay = || {
        let (code, out, err) = stratbox(&[
            "signals",
            "replay",
            "--store",
            s,
            "--from",
            "2022-01-05",
            "--to",
            "2022-01-07",
            "--plugin",
            artifacts::REGIME_SIGNAL,
            "--plugin",
            artifacts::EMA_CROSS,
            "--param",
            "bar_type=BTCUSDT-PERP.BINANCE-1-MINUTE-LAST-EXTERNAL",
            "--param",
            "instrument_id=BTCUSDT-PERP.BINANCE",
            "--json",
        ]);
        assert_eq!(code, 0, "{err}");
        out
    };
    let first = replay();
    assert_eq!(first, replay(), "replay must repeat itself exactly");
    let lines = json_lines(&first);
    let (rows, last) = lines.split_at(lines.len() - 1);
    assert_eq!(rows.len(), 48, "two days of hourly signals");
    assert_eq!(last[0]["replayed"], 48);
    let mut prev = 0;
    for r in rows {
        let seq = r["seq"].as_i64().unwrap();
        assert!(seq > prev, "acknowledgement order");
        prev = seq;
        // regime-signal is granted and subscribed; ema-cross has no signals grant.
        assert_eq!(r["delivered_to"], serde_json::json!(["regime-signal"]));
        assert!(r["correlation_id"].as_str().unwrap().starts_with("ingest-"));
    }
}

#[test]
fn regime_signal_backtest_trades_on_the_signals() {
    let tmp = tempfile::tempdir().unwrap();
    let report = tmp.path().join("r");
    let run = || {
        let (code, out, err) = stratbox(&[
            "backtest",
            "--plugin",
            artifacts::REGIME_SIGNAL,
            "--data",
            &format!("{DATA}/btc-perp/btc-perp-20211231-20220201_1m.csv"),
            "--format",
            "ohlcv-bars",
            "--signals",
            SIGNALS,
            "--param",
            "trade_size=0.1",
            "--param",
            "trend_period=60",
            "--param",
            "min_confidence=0.3",
            "--report",
            report.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{err}");
        (out, std::fs::read(report.join("report.json")).unwrap())
    };
    let (summary, first) = run();
    let v: Json = serde_json::from_slice(&first).unwrap();
    let sig = &v["signals"];
    assert_eq!(sig["source"], "btc-perp-regimes-2022-01.jsonl");
    assert_eq!(sig["loaded"], 726);
    assert_eq!(sig["by_type"]["REGIME_PREDICTION"], 726);
    assert_eq!(sig["refused"].as_array().unwrap().len(), 0);
    assert_eq!(sig["delivered"], 726);
    let p = &v["strategies"][0];
    assert_eq!(p["plugin"]["signals_received"], 726);
    let orders = p["orders"].as_array().unwrap();
    let fills = p["fills"].as_array().unwrap();
    assert!(
        orders.len() >= 10 && !fills.is_empty(),
        "{} orders",
        orders.len()
    );
    // Orders come only at signal times (the plugin trades in on-signal, never on bars).
    let signal_ts: std::collections::BTreeSet<u64> = std::fs::read_to_string(SIGNALS)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Json>(l).unwrap()["timestamp"]
                .as_u64()
                .unwrap()
        })
        .collect();
    for o in orders {
        assert!(
            signal_ts.contains(&o["ts_init"].as_u64().unwrap()),
            "order at a non-signal time: {o}"
        );
    }
    assert!(
        summary.contains("signals (btc-perp-regimes-2022-01.jsonl): 726 loaded"),
        "{summary}"
    );
    assert!(summary.contains("signals: 726 received"), "{summary}");
    let (_, second) = run();
    assert_eq!(first, second, "report.json must be identical on a rerun");
}

#[test]
fn backtest_refuses_bad_signal_records_and_reports_them() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("s.jsonl");
    let mut text = std::fs::read_to_string(SIGNALS)
        .unwrap()
        .lines()
        .take(30)
        .collect::<Vec<_>>()
        .join("\n");
    text.push_str("\n{\"signal_id\":\"zz\",\"signal_type\":\"REGIME_PREDICTION\"}\n");
    std::fs::write(&file, text).unwrap();
    let (code, out, err) = stratbox(&[
        "backtest",
        "--plugin",
        artifacts::REGIME_SIGNAL,
        "--data",
        &format!("{DATA}/btc-perp/btc-perp-20211231-20220201_1m.csv"),
        "--format",
        "ohlcv-bars",
        "--signals",
        file.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("1 of the records") && err.contains("s.jsonl:31"),
        "{err}"
    );
    let v: Json = serde_json::from_str(&out).unwrap();
    let refused = &v["signals"]["refused"][0];
    assert_eq!(refused["source"], "s.jsonl:31");
    assert!(
        refused["reason"]
            .as_str()
            .unwrap()
            .contains("instrument_id: required")
    );
    assert_eq!(v["signals"]["loaded"], 30);
}

#[test]
fn deliveries_to_a_faulting_plugin_become_dead_letters_with_the_fault() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let s = store.to_str().unwrap();
    let (code, _, err) = stratbox(&["signals", "ingest", SIGNALS, "--store", s]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = stratbox(&[
        "signals",
        "replay",
        "--store",
        s,
        "--from",
        "2022-01-05",
        "--to",
        "2022-01-07",
        "--plugin",
        artifacts::HOSTILE_SIGNAL_PANIC,
        "--plugin",
        artifacts::REGIME_SIGNAL,
        "--param",
        "bar_type=BTCUSDT-PERP.BINANCE-1-MINUTE-LAST-EXTERNAL",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let rows = json_lines(&out);
    assert_eq!(
        rows[0]["delivered_to"],
        serde_json::json!(["hostile-signal-panic", "regime-signal"])
    );
    for r in &rows[1..48] {
        assert_eq!(
            r["delivered_to"],
            serde_json::json!(["regime-signal"]),
            "{r}"
        );
    }
    let (code, out, err) = stratbox(&[
        "signals",
        "dead-letters",
        "--store",
        s,
        "--stage",
        "delivery",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let dead = json_lines(&out);
    assert_eq!(dead.len(), 47, "every signal after the fault, none lost");
    assert!(dead.iter().all(|d| d["consumer"] == "hostile-signal-panic"));
    let first = dead[0]["reason"].as_str().unwrap();
    assert!(
        first.starts_with("fault: ") && first.contains("hostile panic on signal"),
        "{first}"
    );
    assert_eq!(dead[0]["signal_id"], rows[1]["signal_id"]);
    assert_eq!(dead[0]["correlation_id"], rows[1]["correlation_id"]);
    assert!(
        dead[1]["reason"]
            .as_str()
            .unwrap()
            .starts_with("quarantined: "),
        "{dead:?}"
    );

    // In a backtest: the hostile plugin's lost signals are listed in its report, and the
    // neighbour trades exactly as it does alone.
    let backtest = |plugins: &[&str]| -> Json {
        let mut args = vec!["backtest"];
        for p in plugins {
            args.extend(["--plugin", p]);
        }
        let data = format!("{DATA}/btc-perp/btc-perp-20211231-20220201_1m.csv");
        args.extend([
            "--data",
            &data,
            "--format",
            "ohlcv-bars",
            "--signals",
            SIGNALS,
            "--param",
            "trade_size=0.1",
            "--json",
        ]);
        let (code, out, err) = stratbox(&args);
        assert_eq!(code, 0, "{err}");
        serde_json::from_str(&out).unwrap()
    };
    let alone = backtest(&[artifacts::REGIME_SIGNAL]);
    let beside = backtest(&[artifacts::HOSTILE_SIGNAL_PANIC, artifacts::REGIME_SIGNAL]);
    let h = &beside["strategies"][0]["plugin"];
    assert_eq!(h["signals_received"], 1);
    assert_eq!(h["signal_dead_letters"].as_array().unwrap().len(), 725);
    assert!(h["fault"].to_string().contains("hostile panic"), "{h}");
    assert_eq!(beside["signals"]["dead_lettered"], 725);
    let (a, b) = (&alone["strategies"][0], &beside["strategies"][1]);
    assert_eq!(
        a["orders"].as_array().unwrap().len(),
        b["orders"].as_array().unwrap().len()
    );
    // Same fills (client order ids differ only by the strategy number).
    let fills = |s: &Json| -> Vec<Json> {
        s["fills"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                serde_json::json!([
                    f["ts_event"],
                    f["side"],
                    f["last_qty"],
                    f["last_px"],
                    f["commission"]
                ])
            })
            .collect()
    };
    assert_eq!(fills(a), fills(b));
    assert!(!fills(a).is_empty());
    assert_eq!(
        a["plugin"]["signals_received"],
        b["plugin"]["signals_received"]
    );
    assert_eq!(a["plugin"]["fuel_total"], b["plugin"]["fuel_total"]);
}

#[test]
fn a_backtest_from_the_signal_store_trades_exactly_as_from_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let data = format!("{DATA}/btc-perp/btc-perp-20211231-20220201_1m.csv");
    let run = |source: &[&str]| -> Json {
        let mut args = vec![
            "backtest",
            "--plugin",
            artifacts::REGIME_SIGNAL,
            "--data",
            &data,
            "--format",
            "ohlcv-bars",
            "--param",
            "trade_size=0.1",
            "--json",
        ];
        args.extend_from_slice(source);
        let (code, out, err) = stratbox(&args);
        assert_eq!(code, 0, "{err}");
        serde_json::from_str(&out).unwrap()
    };
    let (code, _, err) = stratbox(&[
        "backtest",
        "--plugin",
        artifacts::REGIME_SIGNAL,
        "--data",
        &data,
        "--format",
        "ohlcv-bars",
        "--signal-store",
        store.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("no signals.db there"), "{err}");
    let (code, _, err) = stratbox(&[
        "signals",
        "ingest",
        SIGNALS,
        "--store",
        store.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let from_file = run(&["--signals", SIGNALS]);
    let from_store = run(&["--signal-store", store.to_str().unwrap()]);
    assert_eq!(from_store["signals"]["delivered"], 726);
    assert_eq!(from_file["strategies"], from_store["strategies"]);
}

/// Writes `n` valid signals (ids `k<case>-<i>`) as JSONL.
fn signal_file(dir: &Path, case: u32, n: usize) -> std::path::PathBuf {
    let path = dir.join(format!("s{case}.jsonl"));
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    for i in 0..n {
        writeln!(
            f,
            r#"{{"signal_id":"k{case}-{i}","signal_type":"SENTIMENT","instrument_id":"GBP/USD.FXCM","timestamp":{},"confidence":0.5,"value":{i},"metadata":{{"i":"{i}"}},"source_model":"m/1"}}"#,
            1_641_081_600_000_000_000u64 + i as u64
        )
        .unwrap();
    }
    f.flush().unwrap();
    path
}

fn stored_ids(store: &Path) -> Vec<String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let s = SignalStore::open(store, Durability::ProcessCrash)
            .await
            .unwrap();
        let mut out = Vec::new();
        let mut after = 0;
        loop {
            let page = s.read_after(after, 10_000).await.unwrap();
            let Some(last) = page.last() else { break };
            after = last.seq;
            out.extend(page.into_iter().map(|r| r.signal.signal_id));
        }
        s.close().await;
        out
    })
}

/// `kill -9` after any number of acknowledgements (100 cases): every acknowledged signal
/// is in the store afterwards, and re-running the ingest completes it with nothing twice.
/// Most kills must land mid-ingest, or the test proves nothing: that is checked too.
#[test]
fn kill_9_mid_ingest_loses_no_acknowledged_signal() {
    use proptest::test_runner::{Config, TestRunner};
    let interrupted = std::cell::Cell::new(0u32);
    let case = std::cell::Cell::new(0u32);
    let mut runner = TestRunner::new(Config {
        cases: 100,
        ..Config::default()
    });
    let result = runner.run(
        &(300usize..3_000, 10usize..200, 1usize..6),
        |(n, batch, acks_before_kill)| {
            case.set(case.get() + 1);
            let case = case.get();
            let tmp = tempfile::tempdir().unwrap();
            let file = signal_file(tmp.path(), case, n);
            let store = tmp.path().join("store");
            let mut child = Command::new(env!("CARGO_BIN_EXE_stratbox"))
                .args([
                    "signals",
                    "ingest",
                    file.to_str().unwrap(),
                    "--store",
                    store.to_str().unwrap(),
                    "--json",
                    "--batch",
                    &batch.to_string(),
                    "--durability",
                    "process-crash",
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let mut acked = 0u64;
            let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
            let mut seen = 0;
            while seen < acks_before_kill {
                let Some(Ok(line)) = lines.next() else { break };
                let v: Json = serde_json::from_str(&line).unwrap();
                if let Some(a) = v["acked"].as_u64() {
                    acked = a;
                    seen += 1;
                }
            }
            child.kill().unwrap(); // SIGKILL
            let _ = child.wait();
            let ids = stored_ids(&store);
            if ids.len() < n {
                interrupted.set(interrupted.get() + 1);
            }
            // Acknowledgements cover the file in order: lines 1..=acked are all stored.
            prop_assert!(
                ids.len() as u64 >= acked,
                "{} acknowledged, {} stored",
                acked,
                ids.len()
            );
            for (i, id) in ids.iter().enumerate() {
                prop_assert_eq!(id, &format!("k{case}-{i}"), "stored out of order or lost");
            }
            // Re-running completes the ingest: everything once, in file order.
            let (code, out, err) = stratbox(&[
                "signals",
                "ingest",
                file.to_str().unwrap(),
                "--store",
                store.to_str().unwrap(),
                "--json",
                "--durability",
                "process-crash",
            ]);
            prop_assert_eq!(code, 0, "{}", err);
            prop_assert_eq!(summary(&out)["store_total"].as_u64(), Some(n as u64));
            let ids = stored_ids(&store);
            let want: Vec<String> = (0..n).map(|i| format!("k{case}-{i}")).collect();
            prop_assert_eq!(ids, want);
            Ok(())
        },
    );
    if let Err(e) = result {
        panic!("{e}");
    }
    eprintln!("{} of 100 kills landed mid-ingest", interrupted.get());
    assert!(
        interrupted.get() >= 50,
        "only {} of 100 kills landed mid-ingest",
        interrupted.get()
    );
}
