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
    /// A hand-written core module (`module.wat`, no crate) instead of a Rust crate: for a
    /// hostile fixture Rust cannot express (e.g. a second linear memory). Every other
    /// `*.wat` beside it is a further core module the component instantiates, with no
    /// imports, beside the main one.
    pub wat: Option<PathBuf>,
}

/// The file a hand-written fixture keeps its main core module in (WebAssembly text).
pub const WAT_MODULE: &str = "module.wat";

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
            let wat = path.join(WAT_MODULE);
            let (package, wat) = if hostile && wat.is_file() && !path.join("Cargo.toml").exists() {
                (manifest.name.clone(), Some(wat))
            } else {
                (package_name(&path.join("Cargo.toml"))?, None)
            };
            found.push(PluginSource {
                package,
                dir: path,
                manifest,
                manifest_text,
                hostile,
                wat,
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
    let crates: Vec<&PluginSource> = plugins.iter().filter(|p| p.wat.is_none()).collect();
    let wasm_by_manifest = if crates.is_empty() {
        BTreeMap::new()
    } else {
        build_crates(workspace_root, target_dir, &crates)?
    };
    let out_dir = target_dir.join("plugins");
    fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let mut built = Vec::new();
    for p in plugins {
        let core = match &p.wat {
            Some(wat) => wat_module(workspace_root, wat)?,
            None => {
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
                fs::read(core_path).with_context(|| format!("reading {}", core_path.display()))?
            }
        };
        let mut component = componentize(&core, &p.manifest_text)
            .with_context(|| format!("turning `{}` into a component", p.package))?;
        if let Some(wat) = &p.wat {
            component = add_core_instances(component, &extra_modules(wat)?)
                .with_context(|| format!("adding the extra core modules of `{}`", p.package))?;
        }
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

/// A hand-written core module with the world's metadata embedded, ready to componentize.
fn wat_module(workspace_root: &Path, wat: &Path) -> Result<Vec<u8>> {
    let mut core = wat::parse_file(wat).with_context(|| format!("parsing {}", wat.display()))?;
    let mut resolve = wit_parser::Resolve::default();
    let wit = workspace_root.join("wit");
    let (package, _) = resolve
        .push_dir(&wit)
        .with_context(|| format!("reading the world from {}", wit.display()))?;
    // The base world (what every 0.1.x component has): a hand-written fixture exports
    // `strategy` only, not the optional `indicator-events`.
    let world = resolve.select_world(&[package], Some("strategy-base"))?;
    wit_component::embed_component_metadata(
        &mut core,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )
    .with_context(|| format!("embedding the world into {}", wat.display()))?;
    Ok(core)
}

/// The core modules beside a fixture's `module.wat` (every other `*.wat`), by file name.
fn extra_modules(main: &Path) -> Result<Vec<Vec<u8>>> {
    let dir = main.parent().context("a module.wat has a folder")?;
    let mut paths: Vec<PathBuf> = fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    paths.retain(|p| p.extension().is_some_and(|e| e == "wat") && p.as_path() != main);
    paths.sort();
    paths
        .iter()
        .map(|p| wat::parse_file(p).with_context(|| format!("parsing {}", p.display())))
        .collect()
}

/// Appends each of `modules` to `component` with a core instance of it (no imports), so
/// the component instantiates them beside its own core modules.
fn add_core_instances(mut component: Vec<u8>, modules: &[Vec<u8>]) -> Result<Vec<u8>> {
    use wasm_encoder::{ComponentSectionId, Encode, InstanceSection, RawSection};
    if modules.is_empty() {
        return Ok(component);
    }
    // Core modules already in the component's index space (top level only).
    let mut count = 0u32;
    let mut depth = 0usize;
    for payload in wasmparser::Parser::new(0).parse_all(&component) {
        match payload? {
            wasmparser::Payload::ModuleSection { .. } => {
                if depth == 0 {
                    count += 1;
                }
                depth += 1;
            }
            wasmparser::Payload::ComponentSection { .. } => depth += 1,
            wasmparser::Payload::End(_) => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    for module in modules {
        component.push(ComponentSectionId::CoreModule.into());
        RawSection {
            id: ComponentSectionId::CoreModule.into(),
            data: module,
        }
        .encode(&mut component);
        let mut instances = InstanceSection::new();
        instances.instantiate(count, Vec::<(&str, wasm_encoder::ModuleArg)>::new());
        component.push(ComponentSectionId::CoreInstance.into());
        instances.encode(&mut component);
        count += 1;
    }
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(&component)
        .context("the component with the extra core modules does not validate")?;
    Ok(component)
}

/// Builds the plugin crates for the guest target; returns each core module by the
/// Cargo.toml of its crate.
fn build_crates(
    workspace_root: &Path,
    target_dir: &Path,
    plugins: &[&PluginSource],
) -> Result<BTreeMap<PathBuf, PathBuf>> {
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
    Ok(wasm_by_manifest)
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
