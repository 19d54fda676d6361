//! Discover, build and componentize plugins.

use std::{
    collections::BTreeMap,
    fs,
    io::{BufReader, Write},
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use anyhow::{Context, Result, bail};
use cargo_metadata::Message;
use stratbox_manifest::Manifest;

/// The Rust target every plugin is compiled for.
pub const GUEST_TARGET: &str = "wasm32-unknown-unknown";
/// Cargo profile used for plugins (see the workspace Cargo.toml).
pub const GUEST_PROFILE: &str = "plugin";

/// A plugin crate found under `plugins/`.
#[derive(Debug, Clone)]
pub struct PluginSource {
    /// Cargo package name.
    pub package: String,
    /// The crate's folder.
    pub dir: PathBuf,
    /// Validated manifest.
    pub manifest: Manifest,
    /// The manifest exactly as written; this text is embedded in the component.
    pub manifest_text: String,
    /// Lives under `plugins/hostile/`: an adversarial test fixture, not a strategy.
    pub hostile: bool,
}

/// A component written by [`build`].
#[derive(Debug, Clone)]
pub struct Built {
    /// Cargo package name (also the file name and the artifact constant).
    pub name: String,
    /// Manifest name; two versions of one plugin share it.
    pub manifest_name: String,
    pub hostile: bool,
    pub path: PathBuf,
}

fn package_name(cargo_toml: &Path) -> Result<String> {
    let text = fs::read_to_string(cargo_toml)
        .with_context(|| format!("reading {}", cargo_toml.display()))?;
    let mut in_package = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package && let Some(rest) = line.strip_prefix("name") {
            let value = rest.trim_start().strip_prefix('=').map(str::trim);
            if let Some(v) = value
                .and_then(|v| v.strip_prefix('"'))
                .and_then(|v| v.strip_suffix('"'))
            {
                return Ok(v.to_string());
            }
        }
    }
    bail!("{}: no `[package] name = \"...\"`", cargo_toml.display())
}

/// Finds every plugin crate: `plugins/*/` and `plugins/hostile/*/` with a `stratbox.toml`.
/// Manifests are validated here so a bad one fails the build with every problem listed.
pub fn discover(workspace_root: &Path) -> Result<Vec<PluginSource>> {
    let mut found = Vec::new();
    for (dir, hostile) in [
        (workspace_root.join("plugins"), false),
        (workspace_root.join("plugins/hostile"), true),
    ] {
        let mut entries: Vec<PathBuf> = fs::read_dir(&dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .map(|e| e.map(|e| e.path()))
            .collect::<std::io::Result<_>>()?;
        entries.sort();
        for path in entries {
            let manifest_path = path.join("stratbox.toml");
            if !manifest_path.is_file() {
                continue;
            }
            let manifest_text = fs::read_to_string(&manifest_path)
                .with_context(|| format!("reading {}", manifest_path.display()))?;
            let manifest = Manifest::parse(&manifest_text).map_err(|problems| {
                anyhow::anyhow!("{} is invalid:\n{problems}", manifest_path.display())
            })?;
            found.push(PluginSource {
                package: package_name(&path.join("Cargo.toml"))?,
                dir: path,
                manifest,
                manifest_text,
                hostile,
            });
        }
    }
    // Two versions of one plugin may share a manifest name (a hot-swap upgrade); one name
    // and version must be one crate.
    let mut names = BTreeMap::new();
    for p in &found {
        let key = (p.manifest.name.clone(), p.manifest.version.clone());
        if let Some(other) = names.insert(key, p.dir.clone()) {
            bail!(
                "plugin `{} {}` is built by both {} and {}",
                p.manifest.name,
                p.manifest.version,
                other.display(),
                p.dir.display()
            );
        }
    }
    Ok(found)
}

/// Builds `plugins` into components under `<target_dir>/plugins/`.
///
/// The guest build uses its own cargo target directory (`<target_dir>/guest`) so that it
/// can run from a build script while the outer cargo holds the lock on `<target_dir>`.
pub fn build(
    workspace_root: &Path,
    target_dir: &Path,
    plugins: &[PluginSource],
) -> Result<Vec<Built>> {
    if plugins.is_empty() {
        return Ok(Vec::new());
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace_root)
        .args([
            "build",
            "--locked",
            "--message-format=json-render-diagnostics",
        ])
        .args(["--target", GUEST_TARGET, "--profile", GUEST_PROFILE])
        .env("CARGO_TARGET_DIR", target_dir.join("guest"))
        // Host-side flags must not leak into the guest build; the guest's own flags live
        // in .cargo/config.toml under [target.wasm32-unknown-unknown].
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for p in plugins {
        cmd.args(["--package", &p.package]);
    }
    let mut child = cmd.spawn().context("running cargo to build plugins")?;
    let stdout = child.stdout.take().context("cargo stdout")?;
    // Core modules by the Cargo.toml of the crate that produced them.
    let mut wasm_by_manifest: BTreeMap<PathBuf, PathBuf> = BTreeMap::new();
    for message in Message::parse_stream(BufReader::new(stdout)) {
        if let Message::CompilerArtifact(a) = message.context("reading cargo output")?
            && a.target.kind.iter().any(|k| k.to_string() == "cdylib")
            && let Some(wasm) = a.filenames.iter().find(|f| f.extension() == Some("wasm"))
        {
            let manifest = a.manifest_path.into_std_path_buf();
            wasm_by_manifest.insert(
                manifest.canonicalize().unwrap_or(manifest),
                wasm.clone().into_std_path_buf(),
            );
        }
    }
    let status = child.wait().context("waiting for cargo")?;
    if !status.success() {
        bail!(
            "building plugins for {GUEST_TARGET} failed ({status}); if the target is missing run `cargo xtask setup` (rustup target add {GUEST_TARGET})"
        );
    }
    let out_dir = target_dir.join("plugins");
    fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let mut built = Vec::new();
    for p in plugins {
        let core_path = wasm_by_manifest
            .get(
                &p.dir
                    .join("Cargo.toml")
                    .canonicalize()
                    .unwrap_or_else(|_| p.dir.join("Cargo.toml")),
            )
            .with_context(|| {
                format!(
                    "cargo produced no .wasm for package `{}` (is it a cdylib?)",
                    p.package
                )
            })?;
        let core =
            fs::read(core_path).with_context(|| format!("reading {}", core_path.display()))?;
        let component = componentize(&core, &p.manifest_text)
            .with_context(|| format!("turning `{}` into a component", p.package))?;
        let path = out_dir.join(format!("{}.wasm", p.package));
        write_if_changed(&path, &component)?;
        built.push(Built {
            name: p.package.clone(),
            manifest_name: p.manifest.name.clone(),
            hostile: p.hostile,
            path,
        });
    }
    Ok(built)
}

/// Core module -> component, with the manifest embedded (see
/// [`stratbox_manifest::componentize`]).
pub fn componentize(core: &[u8], manifest_text: &str) -> Result<Vec<u8>> {
    stratbox_manifest::componentize(core, manifest_text).map_err(anyhow::Error::msg)
}

/// Writes `bytes` to `path` through a temp file + fsync + rename, and leaves an identical
/// file untouched (so its mtime does not trigger rebuilds).
fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<()> {
    if fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    let tmp = path.with_extension("wasm.tmp");
    let mut f = fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    fs::rename(&tmp, path).with_context(|| format!("renaming {} into place", tmp.display()))?;
    Ok(())
}
