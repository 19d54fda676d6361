//! The bundled definitions translate; the broken ones are refused, each with its message.

#![allow(clippy::unwrap_used)] // a failing unwrap is a failing test

use std::{collections::BTreeMap, path::Path};

use stratbox_manifest::Manifest;
use stratbox_rules::{
    definition::{self, Loaded},
    lower::{self, Translation},
    program::Program,
};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn load(path: &Path) -> Result<Loaded, String> {
    let text = std::fs::read_to_string(path).unwrap();
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    definition::load(&name, &text)
}

fn translate(path: &Path) -> Result<Translation, String> {
    let loaded = load(path)?;
    lower::translate(&loaded).map_err(|p| p.to_string())
}

fn bundled() -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(Path::new(ROOT).join("plugins/definitions"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_bundled_definition_translates() {
    let paths = bundled();
    assert_eq!(paths.len(), 5, "{paths:?}");
    for path in paths {
        let t = translate(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let loaded = load(&path).unwrap();
        // The manifest carries the provenance and reads back as the translation's.
        let m = Manifest::parse(&t.manifest_text).unwrap();
        assert_eq!(m, t.manifest);
        let src = m.source.as_ref().unwrap();
        assert_eq!(src.definition, loaded.definition.id);
        assert_eq!(src.definition_version, loaded.definition.version);
        assert_eq!(src.definition_sha256, loaded.sha256);
        assert_eq!(t.program.source.sha256, loaded.sha256);
        // The embedded program decodes to what was checked.
        assert_eq!(Program::from_json(&t.program_json).unwrap(), t.program);
        // Every definition parameter is mapped to a component parameter of the same name.
        for p in &loaded.definition.parameters {
            assert!(
                t.params
                    .iter()
                    .any(|m| m.definition == p.name && m.component == p.name)
            );
            assert!(m.params.contains_key(&p.name), "{}", p.name);
        }
        assert!(!t.program.rules.is_empty());
        assert!(
            t.risk_policy
                .contains(&format!("[plugins.{}]", loaded.definition.id))
        );
    }
}

#[test]
fn a_translation_requests_exactly_what_it_uses() {
    use stratbox_manifest::Capability;
    let root = Path::new(ROOT).join("plugins/definitions");
    let ema = translate(&root.join("trend-ema-cross.json")).unwrap();
    let caps: Vec<Capability> = ema.manifest.capabilities.keys().copied().collect();
    assert_eq!(caps, [Capability::MarketData, Capability::RiskGate]);
    assert_eq!(
        ema.manifest.capabilities[&Capability::MarketData].instruments,
        ["GBP/USD.FXCM"]
    );
    let regime = translate(&root.join("signal-regime.json")).unwrap();
    let signals = &regime.manifest.capabilities[&Capability::Signals];
    assert_eq!(signals.signal_types, ["regime-prediction"]);
    assert_eq!(regime.program.signals, ["regime-prediction"]);
}

#[test]
fn every_broken_definition_is_refused_with_its_message() {
    let dir = Path::new(ROOT).join("tests/definitions/broken");
    let expected: BTreeMap<String, String> =
        toml::from_str(&std::fs::read_to_string(dir.join("expected.toml")).unwrap()).unwrap();
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".json"))
        .collect();
    files.sort();
    assert_eq!(
        files,
        expected.keys().cloned().collect::<Vec<_>>(),
        "every broken definition has an expected message, and every message a file"
    );
    assert!(files.len() >= 20);
    let mut wrong = Vec::new();
    for (file, want) in &expected {
        match translate(&dir.join(file)) {
            Ok(_) => wrong.push(format!("{file} was accepted")),
            Err(e) if !e.contains(want.as_str()) => {
                wrong.push(format!("{file}:\n  got:  {e}\n  want: {want}"));
            }
            Err(_) => {}
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_published_schema_is_current_and_strict() {
    let schema = definition::schema();
    let published = Path::new(ROOT).join("docs/strategy-definition.schema.json");
    let text = serde_json::to_string_pretty(&schema).unwrap() + "\n";
    if std::env::var_os("STRATBOX_BLESS").is_some() {
        std::fs::write(&published, &text).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&published).unwrap_or_default(),
        text,
        "docs/strategy-definition.schema.json is stale: run `stratbox translate --schema > docs/strategy-definition.schema.json` (or this test with STRATBOX_BLESS=1)"
    );
    assert_eq!(schema["additionalProperties"], serde_json::json!(false));
    assert!(
        schema["required"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("family"))
    );
}
