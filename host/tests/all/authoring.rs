//! Writing a strategy outside this repository, as an author does: `stratbox new` writes a
//! plugin crate into a temporary folder (outside the workspace), `stratbox build` turns it
//! into a component, and `stratbox backtest` trades it on bundled data, for each template.
//! Also the refusals: bad names, occupied folders, folders that are not plugin crates, a
//! crate that does not compile.
//!
//! The crates share one cargo target folder ([`guest_target`]) with the translations, so
//! the SDK is built for the guest once, not once per crate.

use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use crate::fixtures::{DATA, ROOT, SIGNALS, gbpusd, guest_target, stratbox};

const BTC: &str = "btc-perp/btc-perp-20211231-20220201_1m.csv";

/// `stratbox new <parent>/<name> --template <template>`; returns the crate's folder.
fn new_crate(parent: &Path, name: &str, template: &str) -> PathBuf {
    let dir = parent.join(name);
    let (code, stdout, stderr) = stratbox(&["new", dir.to_str().unwrap(), "--template", template]);
    assert_eq!(code, 0, "stratbox new failed:\n{stdout}\n{stderr}");
    assert!(
        !dir.canonicalize()
            .unwrap()
            .starts_with(Path::new(ROOT).canonicalize().unwrap()),
        "the crate must live outside the stratbox workspace"
    );
    for f in [
        "Cargo.toml",
        "Cargo.lock",
        ".cargo/config.toml",
        "stratbox.toml",
        "src/lib.rs",
        "README.md",
    ] {
        assert!(dir.join(f).is_file(), "{template}: {f} missing");
    }
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    for command in [
        "stratbox build",
        &format!("stratbox inspect target/stratbox/{name}.wasm"),
        &format!("stratbox backtest --plugin target/stratbox/{name}.wasm"),
    ] {
        assert!(
            readme.contains(command),
            "README lacks `{command}`:\n{readme}"
        );
    }
    assert!(!readme.contains("{{"), "a placeholder is left:\n{readme}");
    assert!(
        stdout.contains(&format!("created {name} ({template} template)")),
        "{stdout}"
    );
    dir
}

/// `stratbox build <dir>` into the shared target folder; returns the component's path.
fn build(dir: &Path) -> PathBuf {
    let target = guest_target();
    let (code, stdout, stderr) = stratbox(&[
        "build",
        dir.to_str().unwrap(),
        "--target-dir",
        target.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "stratbox build failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains(": ACCEPTED"), "{stdout}");
    let name = dir.file_name().unwrap().to_str().unwrap();
    let component = dir.join(format!("target/stratbox/{name}.wasm"));
    assert!(
        stdout.contains(&format!("component: {}", component.display())),
        "{stdout}"
    );
    assert!(component.is_file());
    component
}

/// `stratbox backtest --plugin <component> <data...>`; returns report.json's strategy.
fn backtest(component: &Path, data: &[&str]) -> Json {
    let tmp = tempfile::tempdir().unwrap();
    let report = tmp.path().join("report");
    let mut args = vec!["backtest", "--plugin", component.to_str().unwrap()];
    args.extend_from_slice(data);
    args.extend(["--report", report.to_str().unwrap()]);
    let (code, stdout, stderr) = stratbox(&args);
    assert_eq!(code, 0, "backtest failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("faults: none"), "{stdout}");
    let v: Json =
        serde_json::from_slice(&std::fs::read(report.join("report.json")).unwrap()).unwrap();
    v["strategies"][0].clone()
}

fn orders(strategy: &Json) -> usize {
    strategy["orders"].as_array().unwrap().len()
}

#[test]
fn ema_cross_template_builds_and_trades_the_bundled_gbpusd_minutes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = new_crate(tmp.path(), "my-trend", "ema-cross");
    let component = build(&dir);
    // `stratbox inspect` accepts what `stratbox build` wrote.
    let (code, stdout, _) = stratbox(&["inspect", component.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.starts_with("my-trend 0.1.0: ACCEPTED"), "{stdout}");
    let s = backtest(&component, &["--data", &gbpusd()]);
    assert_eq!(s["plugin"]["name"], "my-trend");
    assert!(orders(&s) > 100, "{} orders", orders(&s));
    assert!(!s["fills"].as_array().unwrap().is_empty());
}

#[test]
fn signals_template_builds_and_trades_the_bundled_regime_signals() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = new_crate(tmp.path(), "regime-trader", "signals");
    let component = build(&dir);
    let s = backtest(
        &component,
        &[
            "--data",
            &format!("{DATA}/{BTC}"),
            "--format",
            "ohlcv-bars",
            "--signals",
            SIGNALS,
        ],
    );
    assert!(
        s["plugin"]["signals_received"].as_u64().unwrap() > 100,
        "{s}"
    );
    assert!(orders(&s) > 10, "{} orders", orders(&s));
}

#[test]
fn rules_template_builds_trades_and_rebuilds_from_its_edited_definition() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = new_crate(tmp.path(), "my-rules", "rules");
    for generated in ["definition.json", "program.json", "risk-policy.toml"] {
        assert!(dir.join(generated).is_file(), "{generated} missing");
    }
    let component = build(&dir);
    let s = backtest(&component, &["--data", &gbpusd()]);
    assert_eq!(s["plugin"]["source"]["definition"], "my-rules");
    let before = orders(&s);
    assert!(before > 20, "{before} orders");

    // The definition is the source: an edit reaches the manifest and the program at the
    // next build, and changes what the strategy does.
    let def_path = dir.join("definition.json");
    let def = std::fs::read_to_string(&def_path).unwrap();
    let edited = def.replace("\"default\": 0.0001", "\"default\": 0.0005");
    assert_ne!(def, edited, "the template's band default moved");
    std::fs::write(&def_path, edited).unwrap();
    let target = guest_target();
    let (code, stdout, stderr) = stratbox(&[
        "build",
        dir.to_str().unwrap(),
        "--target-dir",
        target.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("regenerated stratbox.toml, program.json"),
        "{stderr}"
    );
    let manifest = std::fs::read_to_string(dir.join("stratbox.toml")).unwrap();
    assert!(manifest.contains("0.0005"), "{manifest}");
    let after = orders(&backtest(&component, &["--data", &gbpusd()]));
    assert!(
        after < before,
        "a wider band trades less: {after} orders, {before} before"
    );

    // A definition that does not check is refused with its reason, before cargo runs.
    std::fs::write(
        &def_path,
        def.replace("sma(price, fast) >", "smaa(price, fast) >"),
    )
    .unwrap();
    let (code, _, stderr) = stratbox(&["build", dir.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("definition.json does not translate") && stderr.contains("smaa"),
        "{stderr}"
    );
    assert!(!stderr.contains("building my-rules"), "{stderr}");
}

#[test]
fn new_refuses_bad_names_and_occupied_folders_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let refused = |args: &[&str], needle: &str| {
        let (code, stdout, stderr) = stratbox(args);
        assert_eq!(code, 2, "{args:?}\n{stdout}\n{stderr}");
        assert!(
            stderr.contains(needle),
            "{args:?}: stderr lacks `{needle}`:\n{stderr}"
        );
    };
    let at = |name: &str| tmp.path().join(name).display().to_string();
    for bad in ["My_Strategy", "2fast", "-x"] {
        refused(&["new", &at(bad)], "is not a valid strategy name");
    }
    refused(&["new", &at("fn")], "is reserved in Rust");
    refused(
        &["new", &at("x"), "--template", "nope"],
        "invalid value 'nope'",
    );
    refused(&["new", &at("x"), "--sdk-rev", "abc"], "--sdk-git");

    // An occupied folder is left exactly as it was; an empty one is used.
    let occupied = tmp.path().join("taken");
    std::fs::create_dir(&occupied).unwrap();
    std::fs::write(occupied.join("notes.txt"), "mine").unwrap();
    refused(
        &["new", occupied.to_str().unwrap()],
        "already exists and is not empty",
    );
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    refused(
        &["new", file.to_str().unwrap()],
        "exists and is not a folder",
    );
    let mut left: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["a-file", "taken"], "nothing else was written");
    assert_eq!(
        std::fs::read_dir(&occupied).unwrap().count(),
        1,
        "the occupied folder is untouched"
    );

    let empty = tmp.path().join("empty-one");
    std::fs::create_dir(&empty).unwrap();
    let (code, _, stderr) = stratbox(&["new", empty.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(empty.join("src/lib.rs").is_file());
}

#[test]
fn new_with_sdk_git_writes_a_git_dependency() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("from-git");
    let (code, _, stderr) = stratbox(&[
        "new",
        dir.to_str().unwrap(),
        "--template",
        "rules",
        "--sdk-git",
        "https://example.invalid/stratbox.git",
        "--sdk-rev",
        "0123abc",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let cargo = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    assert!(
        cargo.contains(
            r#"stratbox-sdk = { git = "https://example.invalid/stratbox.git", rev = "0123abc" }"#
        ) && cargo.contains(
            r#"stratbox-rules = { git = "https://example.invalid/stratbox.git", rev = "0123abc", default-features = false, features = ["runtime"] }"#
        ),
        "{cargo}"
    );
    assert!(!cargo.contains("path ="), "{cargo}");
    let toml: toml::Table = toml::from_str(&cargo).unwrap();
    assert_eq!(toml["package"]["name"].as_str(), Some("from-git"));
}

#[test]
fn build_says_what_is_wrong_with_a_folder_that_is_not_a_plugin_crate() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let fails = |needles: &[&str]| {
        let (code, stdout, stderr) = stratbox(&["build", dir.to_str().unwrap()]);
        assert_eq!(code, 2, "{stdout}\n{stderr}");
        for n in needles {
            assert!(stderr.contains(n), "stderr lacks `{n}`:\n{stderr}");
        }
    };
    fails(&["Cargo.toml: missing", "stratbox new <name>"]);
    let (code, _, stderr) = stratbox(&["build", "/no/such/folder"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("/no/such/folder: no such folder"),
        "{stderr}"
    );

    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"plain\"\nversion = \"0.1.0\"\nedition = \"2024\"\n",
    )
    .unwrap();
    fails(&["Cargo.toml", "does not include \"cdylib\"", "crate-type"]);

    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"plain\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[lib]\ncrate-type = [\"cdylib\"]\n",
    )
    .unwrap();
    fails(&["stratbox.toml: missing", "a plugin crate has a manifest"]);

    std::fs::write(
        dir.join("stratbox.toml"),
        "[plugin]\nname = \"Plain\"\nversion = \"0.1.0\"\n",
    )
    .unwrap();
    fails(&["stratbox.toml: invalid", "`Plain` is not a valid name"]);
}

#[test]
fn build_of_a_crate_that_does_not_compile_shows_the_compiler_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = new_crate(tmp.path(), "broken", "ema-cross");
    let lib = dir.join("src/lib.rs");
    let text = std::fs::read_to_string(&lib).unwrap();
    assert!(
        text.contains("fast.value > slow.value"),
        "the template changed"
    );
    std::fs::write(
        &lib,
        text.replace("fast.value > slow.value", "fast.valeu > slow.value"),
    )
    .unwrap();
    let target = guest_target();
    let (code, stdout, stderr) = stratbox(&[
        "build",
        dir.to_str().unwrap(),
        "--target-dir",
        target.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("valeu")
            && stderr.contains("src/lib.rs")
            && stderr.contains("cargo build of `broken` for wasm32-unknown-unknown failed"),
        "{stderr}"
    );
    assert!(!dir.join("target/stratbox/broken.wasm").exists());
}
