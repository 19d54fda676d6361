use super::*;

const EMA: &str = r#"
[plugin]
name = "ema-cross"
version = "0.1.0"
description = "EMA cross"

[params.instrument_id]
type = "string"

[params.fast_period]
type = "int"
default = 10
min = 1
max = 1000

[params.trade_size]
type = "decimal"
default = "100000"
min = "0.000000001"

[params.mode]
type = "string"
default = "netting"
choices = ["netting", "hedging"]

[capabilities]
market-data = {}
risk-gate = {}

[limits]
fuel_per_callback = 2_000_000
"#;

#[test]
fn parses_a_full_manifest() {
    let m = Manifest::parse(EMA).unwrap();
    assert_eq!(m.name, "ema-cross");
    assert!(m.requests(Capability::MarketData));
    assert!(!m.requests(Capability::Signals));
    assert_eq!(m.limits.fuel_per_callback, Some(2_000_000));
    assert_eq!(m.params["fast_period"].default, Some(ParamValue::Int(10)));
}

#[test]
fn resolves_defaults_and_overrides() {
    let m = Manifest::parse(EMA).unwrap();
    let got = m
        .resolve_params(&[
            ("instrument_id".into(), "GBP/USD.FXCM".into()),
            ("trade_size".into(), "0.5".into()),
        ])
        .unwrap();
    let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["fast_period", "instrument_id", "mode", "trade_size"]
    );
    assert_eq!(
        got[3].1,
        ParamValue::Decimal(Decimal {
            raw: 500_000_000,
            precision: 1
        })
    );
}

#[test]
fn reports_every_param_problem_at_once() {
    let m = Manifest::parse(EMA).unwrap();
    let err = m
        .resolve_params(&[
            ("fast_period".into(), "0".into()),
            ("slow".into(), "3".into()),
            ("mode".into(), "yolo".into()),
            ("trade_size".into(), "abc".into()),
        ])
        .unwrap_err();
    let text = err.to_string();
    assert_eq!(err.0.len(), 5, "{text}");
    assert!(
        text.contains("param `fast_period`: 0 is below the minimum 1"),
        "{text}"
    );
    assert!(text.contains("param `slow`: unknown parameter (this plugin has: fast_period, instrument_id, mode, trade_size)"), "{text}");
    assert!(
        text.contains("param `mode`: \"yolo\" is not one of"),
        "{text}"
    );
    assert!(
        text.contains("param `trade_size`: `abc` is not a decimal"),
        "{text}"
    );
    assert!(text.contains("param `instrument_id`: required"), "{text}");
}

#[test]
fn reports_every_manifest_problem_at_once() {
    let bad = r#"
[plugin]
name = "Bad Name"
version = "one"

[params.p]
type = "int"
default = "ten"

[params.q]
type = "matrix"

[params.r]
type = "int"
min = 5
max = 1
default = 3

[capabilities]
filesystem = {}
market-data = { signal-types = ["sentiment"] }
signals = { signal-types = ["astrology"] }

[limits]
fuel_per_callback = 0
"#;
    let err = Manifest::parse(bad).unwrap_err();
    let ats: Vec<&str> = err.0.iter().map(|p| p.at.as_str()).collect();
    assert_eq!(
        ats,
        [
            "plugin.name",
            "plugin.version",
            "params.p.default",
            "params.q.type",
            "params.r",
            "params.r.default",
            "capabilities.filesystem",
            "capabilities.market-data",
            "capabilities.signals",
            "limits.fuel_per_callback",
        ],
        "{err}"
    );
}

#[test]
fn unknown_fields_are_refused_with_a_line() {
    let err = Manifest::parse("[plugin]\nname = \"a\"\nversion = \"1.0.0\"\ncolour = \"red\"\n")
        .unwrap_err();
    assert_eq!(err.0.len(), 1);
    assert_eq!(err.0[0].at, "line 4, column 1");
    assert!(err.0[0].message.contains("unknown field `colour`"), "{err}");
}

#[test]
fn oversized_manifest_is_refused() {
    let text = "#".repeat(MAX_MANIFEST_BYTES + 1);
    assert!(
        Manifest::parse(&text)
            .unwrap_err()
            .to_string()
            .contains("over the")
    );
}
