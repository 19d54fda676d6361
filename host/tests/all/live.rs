//! Live/backtest parity: the same component on the same recorded data, once through
//! `stratbox backtest` (Nautilus's `BacktestEngine`) and once through `stratbox live` (a
//! Nautilus `LiveNode` with the replay feed and the sandbox venue), makes the same
//! decisions. Compared, per strategy and in order: every order's id, side, type, quantity
//! and final status; every fill's order, side, quantity, price and commission; realized
//! PnL; and the account's final balances. Not compared: timestamps of orders and fills (the
//! live node stamps them with its wall clock) and statistics built on them (returns,
//! Sharpe). See decision 0029.

use std::path::Path;

use crate::fixtures::{DATA, SIGNALS, gbpusd, stratbox};
use stratbox_artifacts as artifacts;

type Json = serde_json::Value;

/// Runs `stratbox <command> <args> --report <dir>/<command>` and reads the report.
fn report(dir: &Path, command: &str, extra: &[&str], args: &[&str]) -> (Json, String) {
    let out = dir.join(command);
    let mut all = vec![command];
    all.extend_from_slice(extra);
    all.extend_from_slice(args);
    all.extend_from_slice(&["--report", out.to_str().unwrap()]);
    let (code, stdout, stderr) = stratbox(&all);
    assert_eq!(code, 0, "stratbox {all:?}: {stderr}");
    let bytes = std::fs::read(out.join("report.json")).unwrap();
    (serde_json::from_slice(&bytes).unwrap(), stdout)
}

/// What must match, per strategy: orders and fills without timestamps, realized PnL.
fn decisions(v: &Json) -> Vec<(Vec<Json>, Vec<Json>, Json)> {
    v["strategies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let orders = s["orders"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| {
                    serde_json::json!([
                        o["client_order_id"],
                        o["side"],
                        o["order_type"],
                        o["quantity"],
                        o["price"],
                        o["status"],
                        o["filled_qty"],
                        o["reason"]
                    ])
                })
                .collect();
            let fills = s["fills"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    serde_json::json!([
                        f["client_order_id"],
                        f["side"],
                        f["last_qty"],
                        f["last_px"],
                        f["commission"]
                    ])
                })
                .collect();
            (orders, fills, s["realized_pnl"].clone())
        })
        .collect()
}

/// Asserts parity and returns the number of fills compared.
fn assert_same_decisions(backtest: &Json, live: &Json, what: &str) -> usize {
    let (b, l) = (decisions(backtest), decisions(live));
    assert_eq!(b.len(), l.len(), "{what}: strategies");
    let mut fills = 0;
    for ((bo, bf, bp), (lo, lf, lp)) in b.iter().zip(&l) {
        assert_eq!(bo.len(), lo.len(), "{what}: order count");
        if let Some(i) = bo.iter().zip(lo).position(|(x, y)| x != y) {
            panic!(
                "{what}: order {i} differs:\n backtest {}\n live     {}",
                bo[i], lo[i]
            );
        }
        assert_eq!(bf.len(), lf.len(), "{what}: fill count");
        if let Some(i) = bf.iter().zip(lf).position(|(x, y)| x != y) {
            panic!(
                "{what}: fill {i} differs:\n backtest {}\n live     {}",
                bf[i], lf[i]
            );
        }
        assert_eq!(bp, lp, "{what}: realized PnL");
        fills += bf.len();
    }
    assert_eq!(
        backtest["portfolio"]["final_balances"], live["portfolio"]["final_balances"],
        "{what}: final balances"
    );
    assert_eq!(backtest["events"], live["events"], "{what}: events");
    assert_eq!(
        backtest["risk"]["orders_accepted"], live["risk"]["orders_accepted"],
        "{what}: risk gate"
    );
    fills
}

#[test]
fn live_node_at_full_speed_decides_as_the_backtest_on_gbpusd() {
    let tmp = tempfile::tempdir().unwrap();
    let data = gbpusd();
    let args = ["--plugin", artifacts::EMA_CROSS, "--data", &data];
    let (backtest, _) = report(tmp.path(), "backtest", &[], &args);
    let (live, summary) = report(tmp.path(), "live", &["--speed", "max"], &args);
    let fills = assert_same_decisions(&backtest, &live, "ema-cross on GBP/USD, max speed");
    assert!(fills > 1_000, "{fills} fills compared");
    assert!(
        summary.starts_with("live (replay feed at full speed, sandbox venue): 30117 events"),
        "{summary}"
    );
    // The same report layout as a backtest's: every top-level field is there.
    let keys = |v: &Json| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&backtest), keys(&live));
    // The live run's orders are stamped by the node's wall clock, not the recording's.
    let ts = |v: &Json| v["strategies"][0]["fills"][0]["ts_event"].as_u64().unwrap();
    assert!(ts(&live) > ts(&backtest));
}

#[test]
fn live_node_at_a_paced_speed_decides_as_the_backtest() {
    let tmp = tempfile::tempdir().unwrap();
    // The first 1,200 minutes of the bundled file at 24,000× take about three seconds.
    for side in ["bid", "ask"] {
        let name = format!("gbpusd-m1-{side}-2012.csv");
        let text = std::fs::read_to_string(crate::fixtures::data(&format!("fxcm/{name}"))).unwrap();
        let slice: String = text.lines().take(1_201).map(|l| format!("{l}\n")).collect();
        std::fs::write(tmp.path().join(name), slice).unwrap();
    }
    let file = tmp.path().join("gbpusd-m1-bid-2012.csv");
    let data = file.to_str().unwrap();
    let args = ["--plugin", artifacts::EMA_CROSS, "--data", data];
    let (backtest, _) = report(tmp.path(), "backtest", &[], &args);
    let started = std::time::Instant::now();
    let (live, summary) = report(tmp.path(), "live", &["--speed", "24000"], &args);
    let fills = assert_same_decisions(&backtest, &live, "ema-cross on GBP/USD, 24000x");
    assert!(fills > 10, "{fills} fills compared");
    assert!(summary.starts_with("live (replay feed at 24000x, sandbox venue): 1200 events"));
    // Paced, not flooded: 1,199 minutes of recording at 24,000× is 3 s of wall time.
    assert!(
        started.elapsed().as_secs_f64() >= 2.9,
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn live_node_delivers_signals_as_the_backtest_on_btc_perpetual_bars() {
    let tmp = tempfile::tempdir().unwrap();
    let data = format!("{DATA}/btc-perp/btc-perp-20211231-20220201_1m.csv");
    let args = [
        "--plugin",
        artifacts::REGIME_SIGNAL,
        "--data",
        &data,
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
    ];
    let (backtest, _) = report(tmp.path(), "backtest", &[], &args);
    let (live, _) = report(tmp.path(), "live", &["--speed", "max"], &args);
    let fills = assert_same_decisions(&backtest, &live, "regime-signal on BTC-PERP bars");
    assert!(fills > 10, "{fills} fills compared");
    assert_eq!(live["signals"]["loaded"], 726);
    assert_eq!(
        backtest["signals"]["delivered"],
        live["signals"]["delivered"]
    );
    assert!(live["signals"]["delivered"].as_u64().unwrap() > 0);
}

#[test]
fn live_refuses_a_bad_speed_with_what_to_give() {
    let (code, _, stderr) =
        stratbox(&["live", "--plugin", artifacts::EMA_CROSS, "--speed", "fast"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("--speed `fast`"), "{stderr}");
    assert!(stderr.contains("or `max`"), "{stderr}");
}

#[test]
fn a_stalled_feed_moves_trading_to_reducing_until_data_flows_again() {
    let tmp = tempfile::tempdir().unwrap();
    // Thursday 2012-02-02 ~22:00 to Monday 02:00: FXCM is silent from Friday 21:59 to Sunday
    // 22:01 (48 h). At 30,000× the weekend is 5.8 s of wall-clock silence, the minutes
    // around it 2 ms apart: a 2 s staleness limit sees exactly one stall, with a wide margin
    // for a loaded machine.
    for side in ["bid", "ask"] {
        let name = format!("gbpusd-m1-{side}-2012.csv");
        let text = std::fs::read_to_string(crate::fixtures::data(&format!("fxcm/{name}"))).unwrap();
        let mut lines = text.lines();
        let header = lines.next().unwrap();
        let rows: Vec<&str> = lines.skip(3_900).take(500).collect();
        assert!(rows[284].starts_with("2012-02-03 21:59"), "{}", rows[284]);
        assert!(rows[285].starts_with("2012-02-05 22:01"), "{}", rows[285]);
        let body: String = std::iter::once(header)
            .chain(rows)
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(tmp.path().join(name), body).unwrap();
    }
    let file = tmp.path().join("gbpusd-m1-bid-2012.csv");
    let args = [
        "--plugin",
        artifacts::EMA_CROSS,
        "--data",
        file.to_str().unwrap(),
    ];
    let (backtest, _) = report(tmp.path(), "backtest", &[], &args);
    let (live, _) = report(
        tmp.path(),
        "live",
        &["--speed", "30000", "--stale-after", "2"],
        &args,
    );
    let changes = live["risk"]["state_changes"].as_array().unwrap();
    assert_eq!(changes.len(), 2, "{changes:?}");
    let (stale, back) = (&changes[0], &changes[1]);
    assert_eq!(
        (stale["from"].as_str(), stale["to"].as_str()),
        (Some("ACTIVE"), Some("REDUCING"))
    );
    assert_eq!(stale["actor"], "feed-watchdog");
    assert!(
        stale["reason"].as_str().unwrap().contains("feed stale"),
        "{stale}"
    );
    // Stamped with the last event before the silence and the first after it.
    let ns = |t: &str| {
        chrono::DateTime::parse_from_rfc3339(t)
            .unwrap()
            .timestamp_nanos_opt()
            .unwrap() as u64
    };
    assert_eq!(stale["event_ts"].as_u64(), Some(ns("2012-02-03T21:59:00Z")));
    assert_eq!(
        (back["from"].as_str(), back["to"].as_str()),
        (Some("REDUCING"), Some("ACTIVE"))
    );
    assert_eq!(back["event_ts"].as_u64(), Some(ns("2012-02-05T22:01:00Z")));
    // Trading resumed before the strategy saw Monday's first minute: every decision is the
    // backtest's (which has no stall), and nothing was refused meanwhile.
    assert_same_decisions(&backtest, &live, "ema-cross across a weekend, 30000x");
    assert_eq!(live["risk"]["refused_by_reason"], serde_json::json!({}));
    assert_eq!(backtest["risk"]["state_changes"], serde_json::json!([]));
}

#[test]
fn bench_live_reports_tick_to_order_latency_of_both_sides() {
    let tmp = tempfile::tempdir().unwrap();
    for side in ["bid", "ask"] {
        let name = format!("gbpusd-m1-{side}-2012.csv");
        let text = std::fs::read_to_string(crate::fixtures::data(&format!("fxcm/{name}"))).unwrap();
        let slice: String = text.lines().take(3_001).map(|l| format!("{l}\n")).collect();
        std::fs::write(tmp.path().join(name), slice).unwrap();
    }
    let file = tmp.path().join("gbpusd-m1-bid-2012.csv");
    let plugins = std::path::Path::new(artifacts::EMA_CROSS).parent().unwrap();
    let (code, stdout, stderr) = stratbox(&[
        "bench",
        "live",
        "--data",
        file.to_str().unwrap(),
        "--plugin-dir",
        plugins.to_str().unwrap(),
        "--reps",
        "2",
        "--json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let r: Json = serde_json::from_str(&stdout).unwrap();
    // 3,000 minutes as four quotes each.
    assert_eq!(r["events"], 12_000);
    assert_eq!(r["identical"], true, "{r}");
    for side in ["component", "native"] {
        let s = &r[side];
        let orders = s["orders"].as_u64().unwrap();
        // Two runs, every order of both pooled; the twins trade alike.
        assert!(orders > 100 && orders.is_multiple_of(2), "{side}: {s}");
        let (p50, p99, max) = (
            s["p50_us"].as_f64().unwrap(),
            s["p99_us"].as_f64().unwrap(),
            s["max_us"].as_f64().unwrap(),
        );
        assert!(0.0 < p50 && p50 <= p99 && p99 <= max, "{side}: {s}");
        // The two parts of the path add up to at most the whole at each median.
        assert!(s["decision_p50_us"].as_f64().unwrap() <= p99, "{side}: {s}");
    }
    assert_eq!(r["component"]["orders"], r["native"]["orders"]);
    assert!(r["ratio_p99"].as_f64().unwrap() > 0.0, "{r}");
}
