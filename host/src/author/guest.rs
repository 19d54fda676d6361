//! A plugin crate as cargo sees it, wherever it lives: the files that pin its build to
//! stratbox's, writing it, the guest target, and building it into a core module.
//!
//! `stratbox new`, `stratbox build` and `stratbox translate` all go through here, so an
//! author's crate and a generated one are built the same way (decision 0026).

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use cap_std::fs::Dir;

/// The Rust target of every component.
pub const GUEST_TARGET: &str = "wasm32-unknown-unknown";

/// The largest core module a plugin crate may produce (a strategy is 0.1-2 MiB).
const MAX_CORE_MODULE_BYTES: u64 = 64 << 20;

/// Lines of cargo's output quoted when a build fails.
const FAILURE_TAIL_LINES: usize = 40;

/// The stratbox plugin profile, as a standalone crate's `Cargo.toml` spells it (the
/// workspace's `[profile.plugin]`): small, fast, deterministic.
pub const RELEASE_PROFILE: &str = r#"# The stratbox plugin profile: small, fast, deterministic.
[profile.release]
opt-level = 3
lto = true
codegen-units = 1
panic = "abort"
debug = false
strip = "debuginfo"
"#;

/// Preparing or building a plugin crate failed.
#[derive(Debug, thiserror::Error)]
pub enum GuestError {
    /// A file of the stratbox source tree could not be read.
    #[error("{path}: {message}")]
    Source { path: PathBuf, message: String },
    /// cargo could not be run, failed, or produced no module.
    #[error("{0}")]
    Build(String),
}

/// The stratbox source tree this binary was built from: its `sdk/`, `Cargo.lock`,
/// `.cargo/config.toml` and `data/`.
#[must_use]
pub fn default_source_root() -> PathBuf {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    root.canonicalize().unwrap_or(root)
}

/// The files that make a standalone crate build like stratbox's own plugins, as
/// (relative path, contents): a copy of stratbox's `Cargo.lock` (every dependency at the
/// version the host was built and tested with, so the build needs nothing new from the
/// network) and its `.cargo/config.toml` (the guest target's flags).
pub fn pinning_files(source_root: &Path) -> Result<Vec<(String, Vec<u8>)>, GuestError> {
    let hint = "(the stratbox source tree is needed to build; pass --source-root)";
    let root = crate::storage::open_dir(source_root).map_err(|e| GuestError::Source {
        path: source_root.to_path_buf(),
        message: format!("{e} {hint}"),
    })?;
    ["Cargo.lock", ".cargo/config.toml"]
        .into_iter()
        .map(|name| {
            root.read(name)
                .map(|bytes| (name.to_string(), bytes))
                .map_err(|e| GuestError::Source {
                    path: source_root.join(name),
                    message: format!("{e} {hint}"),
                })
        })
        .collect()
}

/// A path as a TOML string (quoted and escaped).
#[must_use]
pub fn toml_path(p: &Path) -> String {
    toml::Value::String(p.display().to_string()).to_string()
}

/// Writes `files` into the new directory `name` under `dir` (which must not exist, or be
/// empty), every file synced.
pub fn write_crate(dir: &Dir, name: &str, files: &[(String, Vec<u8>)]) -> std::io::Result<()> {
    use std::io::Write;
    dir.create_dir(name)?;
    let root = dir.open_dir(name)?;
    for (path, bytes) in files {
        if let Some(parent) = Path::new(path).parent()
            && !parent.as_os_str().is_empty()
        {
            root.create_dir_all(parent)?;
        }
        let mut f = root.create(path)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    Ok(())
}

/// Whether rustup lists the guest target as installed for the toolchain `crate_dir`
/// builds with; `None` when rustup cannot be run (a toolchain not managed by rustup).
#[must_use]
pub fn target_installed(crate_dir: &Path) -> Option<bool> {
    let out = Command::new("rustup")
        .current_dir(crate_dir)
        .args(["target", "list", "--installed"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| l.trim() == GUEST_TARGET),
    )
}

/// `rustup target add wasm32-unknown-unknown` for the toolchain `crate_dir` builds with.
pub fn install_target(crate_dir: &Path) -> Result<(), GuestError> {
    let status = Command::new("rustup")
        .current_dir(crate_dir)
        .args(["target", "add", GUEST_TARGET])
        .status()
        .map_err(|e| GuestError::Build(format!("cannot run rustup: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(GuestError::Build(format!(
            "`rustup target add {GUEST_TARGET}` failed ({status}); install the target and build again"
        )))
    }
}

/// Builds the crate at `crate_dir` (`cargo build --release` for the guest target, into
/// `target_dir`) and returns its core module's bytes. `package` names it in messages.
/// With `echo`, cargo's messages (progress, warnings, errors) go on to this process's
/// stderr as they come; without, the last of them are in the error when the build fails.
pub fn cargo_build(
    crate_dir: &Path,
    package: &str,
    target_dir: &Path,
    echo: bool,
) -> Result<Vec<u8>, GuestError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut child = Command::new(cargo)
        .current_dir(crate_dir)
        .args([
            "build",
            "--release",
            "--message-format=json-render-diagnostics",
        ])
        .args(["--target", GUEST_TARGET])
        .env("CARGO_TARGET_DIR", target_dir)
        // Host-side flags must not leak into the guest build; the guest's own flags are
        // in the crate's .cargo/config.toml.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| GuestError::Build(format!("cannot run cargo: {e}")))?;
    let stderr = child.stderr.take();
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(s) = stderr {
            for line in BufReader::new(s).lines().map_while(Result::ok) {
                if echo {
                    eprintln!("{line}");
                }
                text.push_str(&line);
                text.push('\n');
            }
        }
        text
    });
    let manifest = crate_dir.join("Cargo.toml");
    let manifest = manifest.canonicalize().unwrap_or(manifest);
    let mut wasm: Option<PathBuf> = None;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(found) = cdylib_of(&line, &manifest) {
                wasm = Some(found);
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| GuestError::Build(format!("waiting for cargo: {e}")))?;
    let stderr = errors.join().unwrap_or_default();
    if !status.success() {
        let lines: Vec<&str> = stderr.lines().collect();
        let tail = if echo {
            "cargo's messages are above".to_string()
        } else {
            lines[lines.len().saturating_sub(FAILURE_TAIL_LINES)..].join("\n")
        };
        return Err(GuestError::Build(format!(
            "cargo build of `{package}` for {GUEST_TARGET} failed ({status}) in {}; if the target is missing run `rustup target add {GUEST_TARGET}`:\n{tail}",
            crate_dir.display(),
        )));
    }
    let wasm = wasm.ok_or_else(|| {
        GuestError::Build(format!(
            "cargo produced no .wasm for `{package}` ({}): its [lib] needs crate-type = [\"cdylib\"]",
            crate_dir.display()
        ))
    })?;
    crate::storage::read_operator_file(&wasm, MAX_CORE_MODULE_BYTES)
        .map_err(|e| GuestError::Build(format!("reading the built module: {e}")))
}

/// The `.wasm` of a cargo JSON message when it is the cdylib of the crate at `manifest`.
fn cdylib_of(line: &str, manifest: &Path) -> Option<PathBuf> {
    let msg: serde_json::Value = serde_json::from_str(line).ok()?;
    if msg["reason"] != "compiler-artifact" {
        return None;
    }
    let from = PathBuf::from(msg["manifest_path"].as_str()?);
    if from.canonicalize().unwrap_or(from) != manifest {
        return None;
    }
    let kinds = msg["target"]["kind"].as_array()?;
    if !kinds.iter().any(|k| k == "cdylib") {
        return None;
    }
    msg["filenames"]
        .as_array()?
        .iter()
        .filter_map(|f| f.as_str())
        .find(|f| f.ends_with(".wasm"))
        .map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cdylib_of_the_crate_is_found_and_nothing_else() {
        let tmp = tempfile::tempdir().unwrap();
        let manifest = tmp.path().join("Cargo.toml");
        std::fs::write(&manifest, "").unwrap();
        let manifest = manifest.canonicalize().unwrap();
        let msg = |path: &Path, kind: &str, file: &str| {
            serde_json::json!({
                "reason": "compiler-artifact",
                "manifest_path": path,
                "target": { "kind": [kind], "name": "x" },
                "filenames": [file],
            })
            .to_string()
        };
        assert_eq!(
            cdylib_of(&msg(&manifest, "cdylib", "/t/x.wasm"), &manifest),
            Some(PathBuf::from("/t/x.wasm"))
        );
        assert_eq!(
            cdylib_of(&msg(&manifest, "lib", "/t/libx.rlib"), &manifest),
            None
        );
        assert_eq!(
            cdylib_of(
                &msg(Path::new("/elsewhere/Cargo.toml"), "cdylib", "/t/y.wasm"),
                &manifest
            ),
            None
        );
        assert_eq!(cdylib_of("not json", &manifest), None);
    }
}
