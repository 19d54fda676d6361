//! `stratbox translate` as a user runs it, without building: the schema, checks, the
//! generated crate, and refusals that write nothing. (Building, validation and trading
//! parity are in translate_parity.rs; the watch in translate_watch.rs.)

use crate::fixtures::{ROOT, stratbox};

/// `EXIT_REFUSED` of the CLI.
const REFUSED: i32 = 3;

fn def(id: &str) -> String {
    format!("{ROOT}/plugins/definitions/{id}.json")
}

#[test]
fn the_schema_printed_is_the_published_one() {
    let (code, stdout, stderr) = stratbox(&["translate", "--schema"]);
    assert_eq!(code, 0, "{stderr}");
    let printed: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let published: serde_json::Value = serde_json::from_slice(
        &std::fs::read(format!("{ROOT}/docs/strategy-definition.schema.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(printed, published);
}

#[test]
fn check_accepts_the_bundled_definitions_and_refuses_broken_ones_with_their_reason() {
    let ids = [
        "trend-ema-cross",
        "meanrev-bollinger",
        "breakout-donchian",
        "momentum-rsi",
        "signal-regime",
    ];
    let paths: Vec<String> = ids.iter().map(|i| def(i)).collect();
    let mut args = vec!["translate", "--check"];
    args.extend(paths.iter().map(String::as_str));
    let (code, stdout, stderr) = stratbox(&args);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(stdout.matches(": ok — ").count(), 5, "{stdout}");
    assert!(
        stdout.contains("signal-regime 1.0.0 (signal_driven)")
            && stdout.contains("capabilities: market-data, signals, risk-gate"),
        "{stdout}"
    );

    // One good and two broken: each broken one named with its reason, exit 3.
    let broken = |n: &str| format!("{ROOT}/tests/definitions/broken/{n}");
    let (code, stdout, stderr) = stratbox(&[
        "translate",
        "--check",
        &def("momentum-rsi"),
        &broken("never-fires.json"),
        &broken("syntax-error.json"),
    ]);
    assert_eq!(code, REFUSED, "{stdout}\n{stderr}");
    assert!(stdout.contains("momentum-rsi.json: ok"), "{stdout}");
    assert!(
        stderr.contains("never-fires.json")
            && stderr.contains("can never be true")
            && stderr.contains("syntax-error.json")
            && stderr.contains("column 17: expected an operand"),
        "{stderr}"
    );
}

#[test]
fn no_build_writes_the_crate_and_its_mapping_and_a_refusal_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let (code, stdout, stderr) = stratbox(&[
        "translate",
        "--no-build",
        "--out",
        out.to_str().unwrap(),
        &def("signal-regime"),
    ]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("not built (--no-build)"), "{stdout}");
    let dir = out.join("signal-regime-1.0.0");
    for f in [
        "Cargo.toml",
        "Cargo.lock",
        ".cargo/config.toml",
        "stratbox.toml",
        "program.json",
        "definition.json",
        "risk-policy.toml",
        "src/lib.rs",
        "mapping.json",
    ] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    assert_eq!(
        std::fs::read(dir.join("definition.json")).unwrap(),
        std::fs::read(def("signal-regime")).unwrap(),
        "the definition is kept byte for byte"
    );
    let cargo = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    assert!(
        cargo.contains(r#"features = ["runtime", "signals"]"#),
        "{cargo}"
    );
    let manifest = std::fs::read_to_string(dir.join("stratbox.toml")).unwrap();
    assert!(manifest.contains("[source]") && manifest.contains("definition = \"signal-regime\""));
    let mapping: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("mapping.json")).unwrap()).unwrap();
    assert!(mapping["component_sha256"].is_null());
    assert_eq!(
        mapping["signal_subscriptions"],
        serde_json::json!(["regime-prediction"])
    );
    // Only built translations enter the provenance log.
    assert!(!out.join("translations.jsonl").exists());
    assert!(!out.join("signal-regime-1.0.0.wasm").exists());

    // A refused definition leaves the output folder exactly as it was.
    let before = listing(&out);
    let (code, _, stderr) = stratbox(&[
        "translate",
        "--no-build",
        "--out",
        out.to_str().unwrap(),
        &format!("{ROOT}/tests/definitions/broken/contradiction.json"),
    ]);
    assert_eq!(code, REFUSED);
    assert!(stderr.contains("cannot both hold"), "{stderr}");
    assert_eq!(listing(&out), before);
}

fn listing(dir: &std::path::Path) -> Vec<String> {
    let mut names = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            names.push(p.strip_prefix(dir).unwrap().display().to_string());
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
    names.sort();
    names
}

#[test]
fn a_missing_definition_file_is_named() {
    let (code, _, stderr) = stratbox(&["translate", "--check", "/nonexistent/def.json"]);
    assert_eq!(code, REFUSED);
    assert!(stderr.contains("/nonexistent"), "{stderr}");
}
