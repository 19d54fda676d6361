//! `stratbox build`: a plugin crate, wherever it lives, into a checked component.
//!
//! Read the crate (`Cargo.toml`: a package that is a cdylib; `stratbox.toml`: a valid
//! manifest); for a rules crate, check its definition and regenerate what comes from it;
//! install the guest target if rustup lacks it; `cargo build --release` for
//! `wasm32-unknown-unknown`; encode the module as a component with the manifest embedded;
//! inspect it as `stratbox inspect` does; write it (temp file, fsync, rename) only when the
//! host would accept it.

use std::path::{Path, PathBuf};

use stratbox_manifest::Manifest;
use stratbox_rules::{definition, lower};

use super::{
    AuthorError,
    guest::{self, GuestError},
};
use crate::{
    sandbox::{EngineOptions, Inspection, LoadPolicy, SandboxEngine},
    storage,
};

/// Largest `Cargo.toml` or `stratbox.toml` read.
const MAX_CRATE_FILE: u64 = 1 << 20;
/// The folder under the crate's `target/` that components are written to.
pub const OUT_FOLDER: &str = "stratbox";

/// What to build, and where to.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// The crate's folder.
    pub dir: PathBuf,
    /// Cargo's target folder (default: `<dir>/target`).
    pub target_dir: Option<PathBuf>,
    /// The component file (default: `<dir>/target/stratbox/<package>.wasm`).
    pub out: Option<PathBuf>,
    /// Show cargo's messages as they come (else the last of them are in a failure's error).
    pub echo: bool,
}

/// What a build is doing, for the command line to show.
#[derive(Debug, Clone, Copy)]
pub enum Step<'a> {
    /// rustup lacks the guest target: `rustup target add` runs.
    InstallingTarget,
    /// rustup cannot be run; the toolchain is assumed to have the guest target.
    NoRustup,
    /// These files of a rules crate changed with its definition and were rewritten.
    Regenerated(&'a [&'static str]),
    /// cargo builds the crate.
    Building {
        package: &'a str,
        target_dir: &'a Path,
    },
}

/// A built crate.
#[derive(Debug, Clone)]
pub struct Built {
    /// The cargo package.
    pub package: String,
    pub component: Vec<u8>,
    /// What `stratbox inspect` says of it.
    pub inspection: Inspection,
    /// The component file: written when the inspection accepted the component, left as it
    /// was otherwise.
    pub path: PathBuf,
}

/// The files of a rules crate that `stratbox build` generates from its definition.
pub const GENERATED: [&str; 3] = ["stratbox.toml", "program.json", "risk-policy.toml"];

/// What a rules crate's definition becomes.
struct Lowered {
    /// The generated files, named as in [`GENERATED`].
    files: Vec<(&'static str, String)>,
    /// Whether it subscribes to signals.
    signals: bool,
}

/// Checks and lowers a definition (`origin` names it in messages).
fn lower(origin: &str, text: &str) -> Result<Lowered, AuthorError> {
    let loaded = definition::load(origin, text).map_err(AuthorError::Invalid)?;
    let t = lower::translate(&loaded).map_err(|problems| {
        AuthorError::Invalid(format!("{origin} does not translate:\n{problems}"))
    })?;
    Ok(Lowered {
        signals: !t.program.signals.is_empty(),
        files: GENERATED
            .into_iter()
            .zip([t.manifest_text, t.program_json, t.risk_policy])
            .collect(),
    })
}

/// [`lower`] for `stratbox new`: the generated files of a new rules crate.
pub(super) fn lower_definition(
    origin: &str,
    text: &str,
) -> Result<Vec<(&'static str, String)>, AuthorError> {
    lower(origin, text).map(|l| l.files)
}

fn crate_err(path: &Path, message: impl Into<String>) -> AuthorError {
    AuthorError::Crate {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Reads `name` in the crate folder `dir`; `missing` says what to do when it is absent.
fn read_text(dir: &Path, name: &str, limit: u64, missing: &str) -> Result<String, AuthorError> {
    let path = dir.join(name);
    let bytes = match storage::read_operator_file(&path, limit) {
        Ok(b) => b,
        Err(storage::StorageError::Read { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            return Err(crate_err(&path, format!("missing: {missing}")));
        }
        Err(e) => return Err(e.into()),
    };
    String::from_utf8(bytes).map_err(|_| crate_err(&path, "not UTF-8 text"))
}

/// What `stratbox build` needs of a crate's `Cargo.toml` (a package, a cdylib).
struct CrateToml {
    package: String,
    /// A rules crate's definition file (`[package.metadata.stratbox] definition`).
    definition: Option<String>,
    /// Whether its `stratbox-rules` dependency has the `signals` feature.
    rules_signals: bool,
}

fn read_cargo_toml(dir: &Path) -> Result<CrateToml, AuthorError> {
    let path = dir.join("Cargo.toml");
    let text = read_text(
        dir,
        "Cargo.toml",
        MAX_CRATE_FILE,
        "this folder is not a plugin crate; give the crate's folder (`stratbox build <dir>`) or create one with `stratbox new <name>`",
    )?;
    let toml: toml::Table =
        toml::from_str(&text).map_err(|e| crate_err(&path, format!("not valid TOML: {e}")))?;
    let package = toml
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(toml::Value::as_str)
        .ok_or_else(|| {
            crate_err(
                &path,
                "no `[package] name = \"...\"`: not a package (a workspace's root? give the plugin crate's folder)",
            )
        })?
        .to_string();
    let cdylib = toml
        .get("lib")
        .and_then(|l| l.get("crate-type"))
        .and_then(toml::Value::as_array)
        .is_some_and(|types| types.iter().any(|t| t.as_str() == Some("cdylib")));
    if !cdylib {
        return Err(crate_err(
            &path,
            "`[lib] crate-type` does not include \"cdylib\": a component is built from a cdylib; add\n  [lib]\n  crate-type = [\"cdylib\", \"rlib\"]",
        ));
    }
    let definition = toml
        .get("package")
        .and_then(|p| p.get("metadata"))
        .and_then(|m| m.get("stratbox"))
        .and_then(|s| s.get("definition"))
        .map(|d| {
            d.as_str().map(str::to_string).ok_or_else(|| {
                crate_err(
                    &path,
                    "`[package.metadata.stratbox] definition` must be a file name, e.g. \"definition.json\"",
                )
            })
        })
        .transpose()?;
    let rules_signals = toml
        .get("dependencies")
        .and_then(|d| d.get("stratbox-rules"))
        .and_then(|r| r.get("features"))
        .and_then(toml::Value::as_array)
        .is_some_and(|f| f.iter().any(|x| x.as_str() == Some("signals")));
    Ok(CrateToml {
        package,
        definition,
        rules_signals,
    })
}

/// Checks a rules crate's definition and rewrites the files generated from it that
/// changed; returns their names.
fn regenerate(dir: &Path, c: &CrateToml, def: &str) -> Result<Vec<&'static str>, AuthorError> {
    let def_path = dir.join(def);
    let text = read_text(
        dir,
        def,
        definition::MAX_DEFINITION_BYTES as u64,
        "the definition `[package.metadata.stratbox] definition` names in Cargo.toml",
    )?;
    let Lowered { files, signals } = lower(&def_path.display().to_string(), &text)?;
    let cargo = dir.join("Cargo.toml");
    if signals && !c.rules_signals {
        return Err(crate_err(
            &cargo,
            format!(
                "{def} subscribes to signals: add \"signals\" to the features of stratbox-rules (features = [\"runtime\", \"signals\"])"
            ),
        ));
    }
    if !signals && c.rules_signals {
        return Err(crate_err(
            &cargo,
            format!(
                "{def} subscribes to no signals: remove \"signals\" from the features of stratbox-rules (the component would import signals it has no capability for)"
            ),
        ));
    }
    let root = storage::open_dir(dir)?;
    let mut changed = Vec::new();
    for (name, contents) in files {
        if root.read(name).is_ok_and(|old| old == contents.as_bytes()) {
            continue;
        }
        storage::write_atomic(&root, name, contents.as_bytes())?;
        changed.push(name);
    }
    Ok(changed)
}

/// Builds the crate `opts.dir` into a component (see the module's documentation).
pub fn build(
    opts: &BuildOptions,
    progress: &mut dyn FnMut(Step<'_>),
) -> Result<Built, AuthorError> {
    let dir = if opts.dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        opts.dir.as_path()
    };
    if !dir.is_dir() {
        return Err(AuthorError::Invalid(format!(
            "{}: no such folder; give a plugin crate's folder",
            dir.display()
        )));
    }
    let c = read_cargo_toml(dir)?;
    if let Some(def) = &c.definition {
        let changed = regenerate(dir, &c, def)?;
        if !changed.is_empty() {
            progress(Step::Regenerated(&changed));
        }
    }
    let manifest_path = dir.join("stratbox.toml");
    let manifest_text = read_text(
        dir,
        "stratbox.toml",
        MAX_CRATE_FILE,
        "a plugin crate has a manifest beside Cargo.toml (name, version, parameters, capabilities, limits); `stratbox new` writes one",
    )?;
    Manifest::parse(&manifest_text)
        .map_err(|problems| crate_err(&manifest_path, format!("invalid:\n{problems}")))?;

    match guest::target_installed(dir) {
        Some(true) => {}
        Some(false) => {
            progress(Step::InstallingTarget);
            guest::install_target(dir)?;
        }
        None => progress(Step::NoRustup),
    }
    let target_dir = opts
        .target_dir
        .clone()
        .unwrap_or_else(|| dir.join("target"));
    progress(Step::Building {
        package: &c.package,
        target_dir: &target_dir,
    });
    let core = guest::cargo_build(dir, &c.package, &target_dir, opts.echo)?;
    let component = stratbox_manifest::componentize(&core, &manifest_text)
        .map_err(|e| GuestError::Build(format!("encoding `{}` as a component: {e}", c.package)))?;

    let engine = SandboxEngine::new(EngineOptions::default())
        .map_err(|e| AuthorError::Invalid(format!("starting the sandbox engine: {e}")))?;
    let inspection = crate::inspect::inspect(&engine, &component, &LoadPolicy::default());
    let path = opts.out.clone().unwrap_or_else(|| {
        dir.join("target")
            .join(OUT_FOLDER)
            .join(format!("{}.wasm", c.package))
    });
    if inspection.accepted {
        write_component(&path, &component)?;
    }
    Ok(Built {
        package: c.package,
        component,
        inspection,
        path,
    })
}

/// Writes `bytes` to `path` atomically, creating its folder.
fn write_component(path: &Path, bytes: &[u8]) -> Result<(), AuthorError> {
    let name = path.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
        AuthorError::Invalid(format!("--out {}: not a file name", path.display()))
    })?;
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let out = storage::create_dir(parent)?;
    storage::write_atomic(&out, name, bytes)?;
    Ok(())
}
