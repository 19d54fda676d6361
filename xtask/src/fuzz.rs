//! The fuzz targets (`fuzz/`, docs/fuzzing.md, decision 0024): installing the pinned
//! `cargo-fuzz`, building every target once, and running each on its committed corpus.
//!
//! `cargo xtask test` runs each target for [`SMOKE_SECONDS`]; `cargo xtask fuzz` runs
//! longer. The committed corpus (`fuzz/corpus/<target>`) is only read: what a run finds
//! goes to a scratch corpus under `fuzz/target/`, so CI never dirties the checkout. The
//! crashing inputs kept under `fuzz/regressions/<target>` are replayed first on every run.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, Result, bail};

/// The cargo-fuzz release the build flags below were chosen for (builds with rustc 1.95).
pub const CARGO_FUZZ_VERSION: &str = "0.13.1";

/// Every fuzz target, as named in `fuzz/Cargo.toml`.
pub const TARGETS: [&str; 5] = [
    "manifest",
    "inspect",
    "definition",
    "signals",
    "risk_policy",
];

/// How long `cargo xtask test` runs each target.
pub const SMOKE_SECONDS: u64 = 30;

/// Build flags shared by `build` and `run` (so `run` does not rebuild), chosen in decision
/// 0024: optimised with debug assertions and overflow checks, no sanitizer (safe Rust; ASan
/// would double the build and halve the rate), 16 codegen units (cargo-fuzz's default of 1
/// serialises wasmtime's and Cranelift's largest crates on a 2-core machine).
pub const BUILD_FLAGS: [&str; 6] = [
    "--release",
    "--debug-assertions",
    "--sanitizer",
    "none",
    "--codegen-units",
    "16",
];

/// libFuzzer flags for every run (one process: libFuzzer's default; `-jobs=1` would move
/// the output into a `fuzz-0.log` file that CI does not show): a per-input timeout well above the slowest legitimate
/// input (compiling a 250 KiB component), and room for wasmtime's engine. Input length is
/// libFuzzer's default: the largest input of the corpus, at least 4 KiB.
pub const LIBFUZZER_FLAGS: [&str; 2] = ["-timeout=60", "-rss_limit_mb=3072"];

/// `cargo fuzz`, with the nightly flags it passes allowed on the stable toolchain.
fn cargo_fuzz(root: &Path) -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    // The instrumented build always goes to `fuzz/target`, never to a CARGO_TARGET_DIR
    // set for the normal build (whose artifacts it could not share anyway).
    c.current_dir(root.join("fuzz"))
        .arg("fuzz")
        .env("RUSTC_BOOTSTRAP", "1")
        .env_remove("CARGO_TARGET_DIR");
    c
}

/// The installed cargo-fuzz version, if any (`cargo-fuzz 0.13.1`).
fn installed_version() -> Option<String> {
    let out = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["fuzz", "--version"])
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    out.status
        .success()
        .then(|| text.split_whitespace().nth(1).map(str::to_owned))
        .flatten()
}

/// Installs cargo-fuzz [`CARGO_FUZZ_VERSION`] from crates.io unless it is already there.
pub fn ensure_cargo_fuzz(run: &dyn Fn(&mut Command) -> Result<()>) -> Result<()> {
    if installed_version().as_deref() == Some(CARGO_FUZZ_VERSION) {
        return Ok(());
    }
    run(
        Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())).args([
            "install",
            "cargo-fuzz",
            "--locked",
            "--version",
            CARGO_FUZZ_VERSION,
        ]),
    )
}

/// Builds every target (one cargo invocation: dependencies compile once).
pub fn build(root: &Path, run: &dyn Fn(&mut Command) -> Result<()>) -> Result<()> {
    let mut cmd = cargo_fuzz(root);
    cmd.arg("build").args(BUILD_FLAGS);
    run(&mut cmd)
}

/// Runs `target` for `seconds` on its committed corpus and its regressions; new inputs go
/// to `scratch` (emptied first unless `keep` is set).
pub fn run_target(
    root: &Path,
    target: &str,
    seconds: u64,
    scratch: &Path,
    keep: bool,
    run: &dyn Fn(&mut Command) -> Result<()>,
) -> Result<()> {
    if !TARGETS.contains(&target) {
        bail!(
            "unknown fuzz target `{target}` (the targets are {})",
            TARGETS.join(", ")
        );
    }
    if !keep && scratch.exists() {
        std::fs::remove_dir_all(scratch)
            .with_context(|| format!("emptying {}", scratch.display()))?;
    }
    std::fs::create_dir_all(scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let fuzz = root.join("fuzz");
    let mut cmd = cargo_fuzz(root);
    cmd.args(["run", target])
        .args(BUILD_FLAGS)
        .arg(scratch)
        .arg(fuzz.join("corpus").join(target));
    let regressions = fuzz.join("regressions").join(target);
    if regressions.is_dir() {
        cmd.arg(regressions);
    }
    cmd.arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .arg("-print_final_stats=1")
        .args(LIBFUZZER_FLAGS);
    run(&mut cmd)
}

/// The scratch corpus of `target`: `fuzz/target/corpus/<target>` (git-ignored).
#[must_use]
pub fn scratch_corpus(root: &Path, target: &str) -> PathBuf {
    root.join("fuzz/target/corpus").join(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_has_a_source_and_a_committed_corpus() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let manifest = std::fs::read_to_string(root.join("fuzz/Cargo.toml")).unwrap();
        for t in TARGETS {
            assert!(
                manifest.contains(&format!("name = \"{t}\"")),
                "fuzz/Cargo.toml lacks the target {t}"
            );
            assert!(root.join(format!("fuzz/fuzz_targets/{t}.rs")).is_file());
            let seeds = std::fs::read_dir(root.join("fuzz/corpus").join(t))
                .map(|d| d.count())
                .unwrap_or(0);
            assert!(seeds > 0, "fuzz/corpus/{t} is empty");
        }
    }
}
