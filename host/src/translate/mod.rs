//! `stratbox translate`: strategy definitions → generated plugin crates → validated
//! components, with a mapping record and a provenance log (docs/translate.md, decision 0015).
//!
//! One translation: load and check the definition (`stratbox-rules`); generate the crate
//! in a staging folder; build it; inspect the component (it must be accepted and request
//! exactly the capabilities the definition needs); run the smoke backtest; then, and only
//! then, move the crate into place, write the component and its mapping record, and
//! append the provenance record. A failure at any step leaves the output folder as it was.

pub mod build;
pub mod smoke;
pub mod watch;

use std::path::{Path, PathBuf};

use cap_std::fs::Dir;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use stratbox_manifest::{Problems, Source};
use stratbox_rules::{
    definition::{self, InputKind, Loaded},
    lower::{self, ParamMapping, Translation},
};

use crate::{
    author::guest::{self, GuestError},
    sandbox::{LoadPolicy, SandboxEngine},
    storage,
};

/// Largest definition file read.
const MAX_DEFINITION_FILE: u64 = definition::MAX_DEFINITION_BYTES as u64;
/// The provenance log in the output folder: one JSON record per accepted translation.
pub const PROVENANCE_LOG: &str = "translations.jsonl";

/// A translation failed: at which step, and why.
#[derive(Debug, thiserror::Error)]
pub enum TranslateError {
    #[error("{0}")]
    Definition(String),
    #[error("{origin} does not translate:\n{problems}")]
    Invalid { origin: String, problems: Problems },
    #[error("{path}: {message}")]
    Source { path: PathBuf, message: String },
    #[error("building the generated crate: {0}")]
    Build(String),
    #[error("the built component is refused: {0}")]
    Refused(String),
    #[error("smoke backtest: {0}")]
    Smoke(String),
    #[error(transparent)]
    Storage(#[from] storage::StorageError),
    #[error("writing the output folder: {0}")]
    Io(#[from] std::io::Error),
}

impl From<GuestError> for TranslateError {
    fn from(e: GuestError) -> Self {
        match e {
            GuestError::Source { path, message } => Self::Source { path, message },
            GuestError::Build(message) => Self::Build(message),
        }
    }
}

/// How to translate.
#[derive(Debug, Clone)]
pub struct Options {
    /// Output folder: generated crates, components, mapping records, provenance log.
    pub out: PathBuf,
    /// Build the component (and validate it); without, only the crate is generated.
    pub build: bool,
    /// The stratbox source tree: its `sdk/`, `Cargo.lock` and `.cargo/config.toml`.
    pub source_root: PathBuf,
    /// Cargo target folder for the generated crates (shared, so dependencies build once).
    pub target_dir: PathBuf,
    /// Bundled data for the smoke backtest; `None` skips it.
    pub smoke_data: Option<PathBuf>,
    /// Events replayed by the smoke backtest.
    pub smoke_events: usize,
}

impl Options {
    /// Defaults for an output folder: the source tree this binary was built from, the
    /// target folder `<out>/.target`, smoke data from the source tree's `data/`.
    #[must_use]
    pub fn new(out: &Path) -> Self {
        let source_root = guest::default_source_root();
        Self {
            out: out.to_path_buf(),
            build: true,
            target_dir: out.join(".target"),
            smoke_data: Some(source_root.join("data")),
            source_root,
            smoke_events: 20_000,
        }
    }
}

/// The mapping record of one translation (the design's StrategyMapping).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MappingRecord {
    pub definition_id: String,
    pub definition_version: String,
    pub definition_sha256: String,
    pub family: String,
    /// Plugin name and version (the definition's id and version).
    pub plugin: String,
    pub plugin_version: String,
    /// SHA-256 of the component; `None` when not built.
    pub component_sha256: Option<String>,
    pub component_file: Option<String>,
    pub crate_dir: String,
    pub parameters: Vec<ParamMapping>,
    pub signal_subscriptions: Vec<String>,
    pub risk_constraints: serde_json::Value,
    pub capabilities: Vec<String>,
    pub translator: String,
    pub smoke: Option<smoke::SmokeReport>,
}

/// What a translation produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub record: MappingRecord,
    /// The component's bytes when built.
    pub component: Option<Vec<u8>>,
    /// The crate folder, under the output folder.
    pub crate_dir: PathBuf,
    /// The component file, when built.
    pub component_path: Option<PathBuf>,
}

/// Reads and translates a definition file.
pub fn translate_file(path: &Path, opts: &Options) -> Result<Outcome, TranslateError> {
    let bytes = storage::read_operator_file(path, MAX_DEFINITION_FILE)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| TranslateError::Definition(format!("{}: not UTF-8 text", path.display())))?;
    translate_text(&path.display().to_string(), &text, opts)
}

/// Checks a definition without generating anything.
pub fn check_text(origin: &str, text: &str) -> Result<(Loaded, Translation), TranslateError> {
    let loaded = definition::load(origin, text).map_err(TranslateError::Definition)?;
    let t = lower::translate(&loaded).map_err(|problems| TranslateError::Invalid {
        origin: origin.to_string(),
        problems,
    })?;
    Ok((loaded, t))
}

/// Translates definition text (`origin` names it in messages).
pub fn translate_text(origin: &str, text: &str, opts: &Options) -> Result<Outcome, TranslateError> {
    let (loaded, t) = check_text(origin, text)?;
    let def = &loaded.definition;
    let out = storage::create_dir(&opts.out)?;
    let name = format!("{}-{}", def.id, def.version);
    let files = build::files(&loaded, &t, &opts.source_root)?;

    // Stage the crate; nothing in the output folder changes until everything passed.
    out.create_dir_all(".staging")?;
    let staging_name = format!("{name}.{}", std::process::id());
    let staging = out.open_dir(".staging")?;
    let _ = staging.remove_dir_all(&staging_name);
    guest::write_crate(&staging, &staging_name, &files)?;
    let staged_path = opts.out.join(".staging").join(&staging_name);
    let result = (|| -> Result<(Option<Vec<u8>>, Option<smoke::SmokeReport>), TranslateError> {
        if !opts.build {
            return Ok((None, None));
        }
        let core = guest::cargo_build(
            &staged_path,
            &build::package_name(&def.id),
            &opts.target_dir,
            false,
        )?;
        let component = stratbox_manifest::componentize(&core, &t.manifest_text)
            .map_err(TranslateError::Build)?;
        let smoke = validate(&component, &loaded, &t, opts)?;
        Ok((Some(component), smoke))
    })();
    let (component, smoke) = match result {
        Ok(v) => v,
        Err(e) => {
            let _ = staging.remove_dir_all(&staging_name);
            return Err(e);
        }
    };

    // Commit: the crate folder, the component, the mapping record, the provenance log.
    let old = format!("{name}.old.{}", std::process::id());
    let replaced = out.rename(&name, &staging, &old).is_ok();
    staging.rename(&staging_name, &out, &name)?;
    if replaced {
        let _ = staging.remove_dir_all(&old);
    }
    let component_sha256 = component.as_ref().map(|c| hex::encode(Sha256::digest(c)));
    let component_file = component.as_ref().map(|_| format!("{name}.wasm"));
    if let (Some(c), Some(file)) = (&component, &component_file) {
        storage::write_atomic(&out, file, c)?;
    }
    let record = MappingRecord {
        definition_id: def.id.clone(),
        definition_version: def.version.clone(),
        definition_sha256: loaded.sha256.clone(),
        family: def.family.name().to_string(),
        plugin: t.manifest.name.clone(),
        plugin_version: t.manifest.version.clone(),
        component_sha256,
        component_file: component_file.clone(),
        crate_dir: name.clone(),
        parameters: t.params.clone(),
        signal_subscriptions: t.program.signals.clone(),
        risk_constraints: serde_json::to_value(&def.risk).unwrap_or_default(),
        capabilities: t
            .manifest
            .capabilities
            .keys()
            .map(ToString::to_string)
            .collect(),
        translator: lower::TRANSLATOR.to_string(),
        smoke,
    };
    let json =
        serde_json::to_vec_pretty(&record).map_err(|e| TranslateError::Build(e.to_string()))?;
    let crate_dir = out.open_dir(&name)?;
    storage::write_atomic(&crate_dir, "mapping.json", &json)?;
    if record.component_sha256.is_some() {
        append_provenance(&out, &record)?;
    }
    Ok(Outcome {
        component_path: component_file.map(|f| opts.out.join(f)),
        crate_dir: opts.out.join(&name),
        component,
        record,
    })
}

/// Inspects the component like the host loads it, checks that it requests exactly what
/// the definition needs and carries its provenance, and runs the smoke backtest.
fn validate(
    component: &[u8],
    loaded: &Loaded,
    t: &Translation,
    opts: &Options,
) -> Result<Option<smoke::SmokeReport>, TranslateError> {
    let engine = SandboxEngine::new(crate::sandbox::EngineOptions::default())
        .map_err(|e| TranslateError::Refused(e.to_string()))?;
    let inspection = crate::inspect::inspect(&engine, component, &LoadPolicy::default());
    if !inspection.accepted {
        let reasons: Vec<String> = inspection
            .refusals
            .iter()
            .map(|r| r.message.clone())
            .collect();
        return Err(TranslateError::Refused(reasons.join("; ")));
    }
    let plugin = crate::capabilities::load(
        &engine,
        component,
        &LoadPolicy::default(),
        &crate::audit::AuditLog::memory(),
    )
    .map_err(|e| TranslateError::Refused(e.to_string()))?;
    let m = plugin.manifest();
    if m.capabilities != t.manifest.capabilities {
        return Err(TranslateError::Refused(format!(
            "it requests {:?}; the definition needs {:?}",
            m.capabilities.keys().collect::<Vec<_>>(),
            t.manifest.capabilities.keys().collect::<Vec<_>>()
        )));
    }
    let expected = Source {
        definition: loaded.definition.id.clone(),
        definition_version: loaded.definition.version.clone(),
        definition_sha256: loaded.sha256.clone(),
        family: loaded.definition.family.name().to_string(),
        translator: lower::TRANSLATOR.to_string(),
    };
    if m.source.as_ref() != Some(&expected) {
        return Err(TranslateError::Refused(
            "its manifest does not carry the definition's provenance".into(),
        ));
    }
    let Some(data_root) = &opts.smoke_data else {
        return Ok(None);
    };
    let bars = loaded.definition.market.input == InputKind::Bars;
    smoke::run(
        &engine,
        &plugin,
        &loaded.definition.market.instrument,
        bars,
        data_root,
        opts.smoke_events,
    )
    .map(Some)
}

/// Appends one record to the provenance log: the whole log rewritten atomically (it is
/// small: one line per accepted translation).
fn append_provenance(out: &Dir, record: &MappingRecord) -> Result<(), TranslateError> {
    let mut log = match out.read(PROVENANCE_LOG) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    if !log.is_empty() && !log.ends_with(b"\n") {
        log.push(b'\n');
    }
    let line = serde_json::to_string(record).map_err(|e| TranslateError::Build(e.to_string()))?;
    log.extend_from_slice(line.as_bytes());
    log.push(b'\n');
    storage::write_atomic(out, PROVENANCE_LOG, &log)?;
    Ok(())
}

/// Reads the provenance log of an output folder (empty when there is none).
pub fn provenance(out: &Path) -> Result<Vec<MappingRecord>, TranslateError> {
    let dir = storage::open_dir(out)?;
    let text = match dir.read_to_string(PROVENANCE_LOG) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| {
                TranslateError::Definition(format!(
                    "{}/{PROVENANCE_LOG}: line {}: {e}",
                    out.display(),
                    i + 1
                ))
            })
        })
        .collect()
}
