//! Builds every plugin (strategies and hostile fixtures) into a component and generates
//! constants with their paths, so tests never hand-type a path and never run stale
//! components (the wasmtime `test-programs/artifacts` pattern).

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
};

fn main() {
    if let Err(e) = run() {
        // Cargo shows build-script stderr on failure; make the cause the last thing printed.
        eprintln!("error: building plugin components failed: {e:#}");
        std::process::exit(1);
    }
}

fn const_name(name: &str) -> String {
    name.replace('-', "_").to_uppercase()
}

fn run() -> anyhow::Result<()> {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let root = manifest_dir.join("../..").canonicalize()?;
    let target_dir = target_dir(&root)?;

    for path in [
        "wit",
        "sdk",
        "plugins",
        "Cargo.lock",
        ".cargo/config.toml",
        "host/manifest/src",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(path).display());
    }

    let sources = xtask::discover(&root)?;
    let built = xtask::build(&root, &target_dir, &sources)?;

    let mut out = String::new();
    let mut strategies = String::new();
    let mut hostile = String::new();
    let mut foreach = String::new();
    for b in &built {
        let c = const_name(&b.name);
        writeln!(out, "/// Component built from the plugin `{}`.", b.name)?;
        writeln!(
            out,
            "pub const {c}: &str = {:?};",
            b.path.display().to_string()
        )?;
        let entry = format!("    ({:?}, {c}),\n", b.manifest_name);
        if b.hostile {
            hostile.push_str(&entry);
            let ident = b
                .name
                .strip_prefix("hostile-")
                .unwrap_or(&b.name)
                .replace('-', "_");
            writeln!(foreach, "        $mac!({ident});")?;
        } else {
            strategies.push_str(&entry);
        }
    }
    writeln!(
        out,
        "/// Every strategy plugin: (manifest name, component path)."
    )?;
    writeln!(
        out,
        "pub const STRATEGIES: &[(&str, &str)] = &[\n{strategies}];"
    )?;
    writeln!(
        out,
        "/// Every hostile fixture: (manifest name, component path)."
    )?;
    writeln!(out, "pub const HOSTILE: &[(&str, &str)] = &[\n{hostile}];")?;
    writeln!(
        out,
        "/// Calls `$mac!(fixture)` for each hostile fixture (name without `hostile-`), so a test \
         module can assert that every fixture has a test.\n#[macro_export]\nmacro_rules! foreach_hostile {{\n    ($mac:ident) => {{\n{foreach}    }};\n}}"
    )?;
    let out_path = PathBuf::from(std::env::var("OUT_DIR")?).join("artifacts.rs");
    std::fs::write(out_path, out)?;
    Ok(())
}

/// The workspace target directory: `CARGO_TARGET_DIR` if set, else the ancestor of OUT_DIR
/// (`<target>/<profile>/build/<pkg>-<hash>/out`).
fn target_dir(root: &Path) -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        let dir = PathBuf::from(dir);
        return Ok(if dir.is_absolute() {
            dir
        } else {
            root.join(dir)
        });
    }
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    out.ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "build"))
        .and_then(Path::parent)
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "cannot find the target directory from OUT_DIR {}",
                out.display()
            )
        })
}
