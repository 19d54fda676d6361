//! `stratbox inspect` as a user runs it.

use crate::fixtures::stratbox;
use sha2::{Digest, Sha256};
use stratbox_artifacts as artifacts;

#[test]
fn json_report_of_ema_cross() {
    let (code, stdout, stderr) = stratbox(&["inspect", artifacts::EMA_CROSS, "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let bytes = std::fs::read(artifacts::EMA_CROSS).unwrap();
    assert_eq!(v["sha256"], hex::encode(Sha256::digest(&bytes)));
    assert_eq!(v["size"], bytes.len());
    assert_eq!(v["accepted"], true);
    assert_eq!(v["world"], "stratbox:strategy/strategy-plugin@0.1.1");
    assert_eq!(v["manifest"]["name"], "ema-cross");
    let allowed = [
        "stratbox:strategy/types@0.1.1",
        "stratbox:strategy/market-data@0.1.1",
        "stratbox:strategy/signals@0.1.1",
        "stratbox:strategy/risk-gate@0.1.1",
        "stratbox:strategy/diagnostics@0.1.1",
    ];
    let imports: Vec<&str> = v["imports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert!(imports.iter().all(|i| allowed.contains(i)), "{imports:?}");
    assert!(imports.contains(&"stratbox:strategy/risk-gate@0.1.1"));
    let mut exports: Vec<&str> = v["exports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    exports.sort_unstable();
    assert_eq!(
        exports,
        [
            "stratbox:strategy/indicator-events@0.1.1",
            "stratbox:strategy/strategy@0.1.1"
        ]
    );
}

#[test]
fn every_strategy_is_accepted() {
    for (name, path) in artifacts::STRATEGIES {
        let (code, stdout, stderr) = stratbox(&["inspect", path]);
        assert_eq!(code, 0, "{name}: {stdout}{stderr}");
        let first = stdout.lines().next().unwrap_or_default();
        assert!(
            first.starts_with(&format!("{name} ")) && first.ends_with(": ACCEPTED"),
            "{stdout}"
        );
    }
}

#[test]
fn refused_components_exit_3_naming_the_import() {
    let (code, stdout, _) = stratbox(&["inspect", artifacts::HOSTILE_WASI_FILESYSTEM]);
    assert_eq!(code, 3);
    assert!(stdout.contains("REFUSED"), "{stdout}");
    assert!(
        stdout.contains("imports `wasi:filesystem/preopens@0.2.6`"),
        "{stdout}"
    );

    let (code, stdout, _) = stratbox(&[
        "inspect",
        artifacts::EMA_CROSS,
        "--grant",
        "market-data",
        "--json",
    ]);
    assert_eq!(code, 3);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["refusals"][0]["code"], "import-not-granted");
}

#[test]
fn malformed_and_truncated_bytes_exit_3_without_panicking() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(artifacts::EMA_CROSS).unwrap();
    let cases: [(&str, &[u8], &str); 4] = [
        ("empty.wasm", b"", "[malformed]"),
        ("text.wasm", b"not wasm at all", "[malformed]"),
        ("truncated.wasm", &bytes[..bytes.len() / 2], "[malformed]"),
        // A valid, empty component: nothing to run.
        ("header-only.wasm", &bytes[..8], "[no-manifest]"),
    ];
    for (name, content, reason) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        let (code, stdout, stderr) = stratbox(&["inspect", path.to_str().unwrap()]);
        assert_eq!(code, 3, "{name}: {stdout}{stderr}");
        assert!(
            stdout.contains("REFUSED") && stdout.contains(reason),
            "{name}: {stdout}"
        );
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    }
}

#[test]
fn usage_and_io_errors_exit_2() {
    let (code, _, stderr) = stratbox(&["inspect", "/definitely/not/here.wasm"]);
    assert_eq!(code, 2);
    assert!(stderr.starts_with("error: cannot "), "{stderr}");
    let (code, _, stderr) = stratbox(&["inspect"]);
    assert_eq!(code, 2, "{stderr}");
    let (code, _, _) = stratbox(&["inspect", artifacts::EMA_CROSS, "--grant", "filesystem"]);
    assert_eq!(code, 2);
}
