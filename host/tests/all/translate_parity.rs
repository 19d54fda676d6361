//! Translated definitions trade exactly like the hand-written plugins of their family.
//!
//! The bundled definitions (`plugins/definitions/`) are translated once with
//! `stratbox translate` (built into components, inspected, smoke-tested); each component
//! then runs through `stratbox backtest` beside the hand-written plugin on the same real
//! data and parameters, and the two reports must hold the same orders and fills.

use std::{
    path::{Path, PathBuf},
    sync::OnceLock,
};

use crate::fixtures::{DATA, ROOT, gbpusd, guest_target, stratbox};
use serde_json::Value as Json;
use stratbox_artifacts as artifacts;

const BTC: &str = "btc-perp/btc-perp-20211231-20220201_1m.csv";
const SIGNALS: &str = "signals/btc-perp-regimes-2022-01.jsonl";
const GBPUSD_BARS: &str = "GBP/USD.FXCM-1-MINUTE-BID-EXTERNAL";
const BTC_BARS: &str = "BTCUSDT-PERP.BINANCE-1-MINUTE-LAST-EXTERNAL";

/// The bar-family definitions that are also translated for the BTC perpetual's bars.
const BAR_FAMILIES: [&str; 3] = ["meanrev-bollinger", "breakout-donchian", "momentum-rsi"];

/// A bundled definition moved to the BTC perpetual's LAST minute bars (id `<id>-btc`): a
/// translated component may only touch its definition's instrument.
fn on_btc(id: &str) -> String {
    let mut def: Json =
        serde_json::from_slice(&std::fs::read(definition_path(id)).unwrap()).unwrap();
    def["id"] = format!("{id}-btc").into();
    def["market"] = serde_json::json!({
        "instrument": "BTCUSDT-PERP.BINANCE", "input": "bars", "bar": "1-MINUTE-LAST-EXTERNAL"
    });
    for p in def["parameters"].as_array_mut().unwrap() {
        if p["name"] == "trade_size" {
            p["default"] = "0.1".into();
        }
    }
    def["risk"]["max_position"] = "1".into();
    serde_json::to_string_pretty(&def).unwrap()
}

fn definition_path(id: &str) -> PathBuf {
    match id.strip_suffix("-btc") {
        Some(_) => translations().join("defs").join(format!("{id}.json")),
        None => PathBuf::from(format!("{ROOT}/plugins/definitions/{id}.json")),
    }
}

/// The output folder holding the translations, made once: every bundled definition and
/// the BTC variants of the bar families.
fn translations() -> &'static Path {
    static OUT: OnceLock<tempfile::TempDir> = OnceLock::new();
    OUT.get_or_init(|| {
        let out = tempfile::tempdir().unwrap();
        let mut defs: Vec<String> = [
            "trend-ema-cross",
            "meanrev-bollinger",
            "breakout-donchian",
            "momentum-rsi",
            "signal-regime",
        ]
        .iter()
        .map(|d| format!("{ROOT}/plugins/definitions/{d}.json"))
        .collect();
        let variants = out.path().join("defs");
        std::fs::create_dir(&variants).unwrap();
        for id in BAR_FAMILIES {
            let path = variants.join(format!("{id}-btc.json"));
            std::fs::write(&path, on_btc(id)).unwrap();
            defs.push(path.display().to_string());
        }
        let target = guest_target();
        let mut args = vec![
            "translate",
            "--build",
            "--out",
            out.path().to_str().unwrap(),
            "--target-dir",
            target.to_str().unwrap(),
            "--json",
        ];
        args.extend(defs.iter().map(String::as_str));
        let (code, stdout, stderr) = stratbox(&args);
        assert_eq!(code, 0, "stratbox translate failed:\n{stdout}\n{stderr}");
        assert_eq!(
            stdout.lines().count(),
            defs.len(),
            "one record per definition:\n{stdout}"
        );
        out
    })
    .path()
}

fn translated_component(id: &str) -> String {
    translations()
        .join(format!("{id}-1.0.0.wasm"))
        .display()
        .to_string()
}

/// Runs `stratbox backtest` and returns its report.
fn backtest(plugin: &str, data: &[&str], params: &[(&str, &str)]) -> Json {
    let tmp = tempfile::tempdir().unwrap();
    let report = tmp.path().join("r");
    let mut args: Vec<String> = vec!["backtest".into(), "--plugin".into(), plugin.into()];
    args.extend(data.iter().map(|s| (*s).to_string()));
    for (k, v) in params {
        args.push("--param".into());
        args.push(format!("{k}={v}"));
    }
    args.extend(["--report".into(), report.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, stdout, stderr) = stratbox(&args);
    assert_eq!(code, 0, "backtest of {plugin} failed:\n{stdout}\n{stderr}");
    serde_json::from_slice(&std::fs::read(report.join("report.json")).unwrap()).unwrap()
}

/// Orders as (time, side, quantity, status) and fills as (time, side, qty, price).
fn decisions(report: &Json) -> (Vec<[String; 4]>, Vec<[String; 4]>) {
    let s = &report["strategies"][0];
    assert!(
        s["plugin"]["fault"].is_null(),
        "fault: {}",
        s["plugin"]["fault"]
    );
    let rows = |key: &str, fields: [&str; 4]| -> Vec<[String; 4]> {
        s[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| fields.map(|f| r[f].to_string()))
            .collect()
    };
    (
        rows("orders", ["ts_init", "side", "quantity", "status"]),
        rows("fills", ["ts_event", "side", "last_qty", "last_px"]),
    )
}

/// The hand-written and the translated plugin, same data and parameters: same decisions.
fn same_trades(
    hand: &str,
    translated: &str,
    data: &[&str],
    params: &[(&str, &str)],
    min: usize,
    min_fills: usize,
) {
    let a = backtest(hand, data, params);
    let b = backtest(&translated_component(translated), data, params);
    let (ao, af) = decisions(&a);
    let (bo, bf) = decisions(&b);
    assert!(ao.len() >= min, "{hand}: only {} orders", ao.len());
    assert!(af.len() >= min_fills, "{hand}: only {} fills", af.len());
    if let Some(i) = (0..ao.len().max(bo.len())).find(|&i| ao.get(i) != bo.get(i)) {
        panic!(
            "{translated}: order {i} differs from {hand} ({} vs {} orders): {:?} vs {:?}",
            ao.len(),
            bo.len(),
            ao.get(i),
            bo.get(i)
        );
    }
    assert_eq!(af, bf, "{translated}: fills differ from {hand}");
    let fuel = |r: &Json| r["strategies"][0]["plugin"]["fuel_total"].as_u64().unwrap();
    eprintln!(
        "{translated} = {hand}: {} orders, {} fills identical; fuel {} (translated) vs {} (hand-written)",
        ao.len(),
        af.len(),
        fuel(&b),
        fuel(&a)
    );
    // The report attributes the translated run to its definition.
    let source = &b["strategies"][0]["plugin"]["source"];
    assert_eq!(source["definition"], translated, "{source}");
    assert_eq!(source["definition-version"], "1.0.0");
    let sha = source["definition-sha256"].as_str().unwrap();
    let text = std::fs::read(definition_path(translated)).unwrap();
    assert_eq!(sha, sha256_hex(&text));
    assert!(a["strategies"][0]["plugin"].get("source").is_none());
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[test]
fn trend_following_matches_ema_cross_on_gbpusd_2012() {
    let data = gbpusd();
    same_trades(
        artifacts::EMA_CROSS,
        "trend-ema-cross",
        &["--data", &data],
        &[
            ("instrument_id", "GBP/USD.FXCM"),
            ("trade_size", "100000"),
            ("fast_period", "10"),
            ("slow_period", "20"),
        ],
        500,
        500,
    );
}

/// On FXCM minutes (bid and ask bars: the strategy trades the bid bars, Nautilus's venue
/// fills from both) and on the BTC perpetual's LAST bars: the same orders and the same fills.
fn on_both_bar_sets(hand: &str, translated: &str, params: &[(&str, &str)]) {
    let data = gbpusd();
    let mut fx = vec![("bar_type", GBPUSD_BARS), ("trade_size", "100000")];
    fx.extend_from_slice(params);
    same_trades(
        hand,
        translated,
        &["--data", &data, "--format", "fxcm-bars"],
        &fx,
        100,
        100,
    );
    let data = format!("{DATA}/{BTC}");
    let mut btc = vec![("bar_type", BTC_BARS), ("trade_size", "0.1")];
    btc.extend_from_slice(params);
    let variant = format!("{translated}-btc");
    same_trades(
        hand,
        &variant,
        &["--data", &data, "--format", "ohlcv-bars"],
        &btc,
        100,
        100,
    );
}

#[test]
fn mean_reversion_matches_bollinger_reversion() {
    on_both_bar_sets(
        artifacts::BOLLINGER_REVERSION,
        "meanrev-bollinger",
        &[("period", "20"), ("k", "2.0")],
    );
}

#[test]
fn breakout_matches_donchian_breakout() {
    on_both_bar_sets(
        artifacts::DONCHIAN_BREAKOUT,
        "breakout-donchian",
        &[("period", "20")],
    );
}

#[test]
fn momentum_matches_rsi_momentum() {
    on_both_bar_sets(
        artifacts::RSI_MOMENTUM,
        "momentum-rsi",
        &[("period", "14"), ("upper", "60"), ("lower", "40")],
    );
}

#[test]
fn signal_driven_matches_regime_signal_on_btc_with_regime_signals() {
    let (data, signals) = (format!("{DATA}/{BTC}"), format!("{DATA}/{SIGNALS}"));
    same_trades(
        artifacts::REGIME_SIGNAL,
        "signal-regime",
        &[
            "--data",
            &data,
            "--format",
            "ohlcv-bars",
            "--signals",
            &signals,
        ],
        &[
            ("bar_type", BTC_BARS),
            ("trade_size", "0.1"),
            ("trend_period", "60"),
            ("min_confidence", "0.3"),
        ],
        10,
        10,
    );
}

#[test]
fn a_translated_plugin_is_refused_on_data_of_another_market() {
    let data = format!("{DATA}/{BTC}");
    let plugin = translated_component("breakout-donchian");
    let (code, _, stderr) = stratbox(&[
        "backtest",
        "--plugin",
        &plugin,
        "--data",
        &data,
        "--format",
        "ohlcv-bars",
    ]);
    assert_ne!(code, 0);
    assert!(
        stderr.contains("reads only GBP/USD.FXCM") && stderr.contains("BTCUSDT-PERP.BINANCE"),
        "{stderr}"
    );
}
