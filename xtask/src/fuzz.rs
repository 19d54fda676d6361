//! The fuzz targets (`fuzz/`, docs/fuzzing.md, decision 0024): building every target once
//! with libFuzzer's instrumentation, and running each on its committed corpus.
//!
//! The build is the one `cargo fuzz build` makes (the same `RUSTFLAGS`, see [`rustflags`]),
//! run by cargo directly: CI then does not compile cargo-fuzz first (about two minutes on
//! two cores), and a profile of our own ([`Profile::Smoke`]) can make the CI build cheaper.
//! `cargo xtask test` runs each target for [`SMOKE_SECONDS`]; `cargo xtask fuzz` runs
//! longer, fully optimised. The committed corpus (`fuzz/corpus/<target>`) is only read:
//! what a run finds goes to a scratch corpus under `fuzz/target/`, so CI never dirties the
//! checkout. The crashing inputs kept under `fuzz/regressions/<target>` are replayed first
//! on every run.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, Result, bail};

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

/// The cargo profile the targets are built with (`fuzz/Cargo.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// `cargo xtask fuzz`: everything optimised (cargo-fuzz's release build).
    Release,
    /// `cargo xtask test`: the fuzzed crates optimised as for long runs, their
    /// dependencies (wasmtime, Cranelift, serde ...) at opt-level 1 and no debug info.
    Smoke,
}

impl Profile {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Release => "release",
            Self::Smoke => "smoke",
        }
    }
}

/// The `RUSTFLAGS` of cargo-fuzz 0.13.1's `build --release --debug-assertions --sanitizer
/// none --codegen-units 16` on Linux (decision 0024): libFuzzer's coverage
/// instrumentation (inline 8-bit counters, PC table, compare tracing, stack depth), `cfg
/// fuzzing`, no branch folding, debug assertions (and so overflow checks), and 16 codegen
/// units (cargo-fuzz's default of 1 serialises wasmtime's and Cranelift's largest crates on
/// two cores). No sanitizer: the fuzzed code is safe Rust.
#[must_use]
pub fn rustflags() -> String {
    [
        "-Cpasses=sancov-module",
        "-Cllvm-args=-sanitizer-coverage-level=4",
        "-Cllvm-args=-sanitizer-coverage-inline-8bit-counters",
        "-Cllvm-args=-sanitizer-coverage-pc-table",
        "-Cllvm-args=-sanitizer-coverage-trace-compares",
        "--cfg",
        "fuzzing",
        "-Cllvm-args=-simplifycfg-branch-fold-threshold=0",
        "-Cllvm-args=-sanitizer-coverage-stack-depth",
        "-Cdebug-assertions",
        "-Ccodegen-units=16",
    ]
    .join(" ")
}

/// libFuzzer flags for every run (one process: libFuzzer's default): a per-input timeout
/// well above the slowest legitimate input (compiling a 250 KiB component), and room for
/// wasmtime's engine. Input length is libFuzzer's default: the largest input of the corpus,
/// at least 4 KiB.
pub const LIBFUZZER_FLAGS: [&str; 2] = ["-timeout=60", "-rss_limit_mb=3072"];

/// The host's target triple (`rustc -vV`): the targets are built for it explicitly, so
/// that `RUSTFLAGS` reach the fuzzed code but not build scripts and proc macros.
fn host_triple() -> Result<String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = Command::new(rustc)
        .arg("-vV")
        .output()
        .context("running `rustc -vV`")?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_owned)
        .context("`rustc -vV` names no host triple")
}

/// Where the instrumented build goes: always `fuzz/target`, never a `CARGO_TARGET_DIR` set
/// for the normal build (whose artifacts it could not share anyway).
fn target_dir(root: &Path) -> PathBuf {
    root.join("fuzz/target")
}

/// Builds every target with `profile` (one cargo invocation: dependencies compile once);
/// returns the folder holding the binaries.
pub fn build(
    root: &Path,
    profile: Profile,
    run: &dyn Fn(&mut Command) -> Result<()>,
) -> Result<PathBuf> {
    let triple = host_triple()?;
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(root.join("fuzz"))
        .args(["build", "--locked", "--bins", "--target", &triple])
        .args(["--profile", profile.name()])
        .env("CARGO_TARGET_DIR", target_dir(root))
        .env("RUSTFLAGS", rustflags())
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    run(&mut cmd)?;
    Ok(target_dir(root).join(triple).join(profile.name()))
}

/// The command that runs the built `target` (in `bin_dir`) for `seconds` on its committed
/// corpus and its regressions; new inputs go to `scratch` (emptied first unless `keep` is
/// set), a crashing input to `fuzz/artifacts/<target>/`.
pub fn target_command(
    root: &Path,
    bin_dir: &Path,
    target: &str,
    seconds: u64,
    keep: bool,
) -> Result<Command> {
    if !TARGETS.contains(&target) {
        bail!(
            "unknown fuzz target `{target}` (the targets are {})",
            TARGETS.join(", ")
        );
    }
    let scratch = scratch_corpus(root, target);
    if !keep && scratch.exists() {
        std::fs::remove_dir_all(&scratch)
            .with_context(|| format!("emptying {}", scratch.display()))?;
    }
    std::fs::create_dir_all(&scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let fuzz = root.join("fuzz");
    let artifacts = fuzz.join("artifacts").join(target);
    std::fs::create_dir_all(&artifacts)
        .with_context(|| format!("creating {}", artifacts.display()))?;
    let mut cmd = Command::new(bin_dir.join(target));
    cmd.current_dir(&fuzz)
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .arg(format!("-max_total_time={seconds}"))
        .arg("-print_final_stats=1")
        .args(LIBFUZZER_FLAGS)
        // The first folder is where libFuzzer writes what it finds.
        .arg(&scratch)
        .arg(fuzz.join("corpus").join(target));
    let regressions = fuzz.join("regressions").join(target);
    if regressions.is_dir() {
        cmd.arg(regressions);
    }
    Ok(cmd)
}

/// Runs `targets`, up to `parallel` at a time (each one libFuzzer process on one core, for
/// `seconds` of wall time), each writing to `fuzz/target/logs/<target>.log`; prints each
/// log's final statistics, and the whole tail of a failed one. Fails if any target failed.
pub fn run_targets(
    root: &Path,
    bin_dir: &Path,
    targets: &[String],
    seconds: u64,
    keep: bool,
    parallel: usize,
) -> Result<()> {
    let logs = root.join("fuzz/target/logs");
    std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
    let mut failed = Vec::new();
    for batch in targets.chunks(parallel.max(1)) {
        let mut running = Vec::new();
        for t in batch {
            let log_path = logs.join(format!("{t}.log"));
            let log = std::fs::File::create(&log_path)
                .with_context(|| format!("creating {}", log_path.display()))?;
            let mut cmd = target_command(root, bin_dir, t, seconds, keep)?;
            cmd.stdout(log.try_clone()?).stderr(log);
            eprintln!("$ fuzz {t} ({seconds} s) > {}", log_path.display());
            let child = cmd
                .spawn()
                .with_context(|| format!("starting the fuzz target {t} (built?)"))?;
            running.push((t, log_path, child));
        }
        for (t, log_path, mut child) in running {
            let status = child.wait()?;
            let text = std::fs::read_to_string(&log_path).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            if status.success() {
                let stats: Vec<&str> = lines
                    .iter()
                    .copied()
                    .filter(|l| l.starts_with("stat::") || l.starts_with("Done "))
                    .collect();
                eprintln!("  fuzz {t}: ok; {}", stats.join("; "));
            } else {
                let tail = &lines[lines.len().saturating_sub(80)..];
                eprintln!("  fuzz {t}: FAILED ({status}):\n{}", tail.join("\n"));
                failed.push(t.as_str());
            }
        }
    }
    if !failed.is_empty() {
        bail!(
            "fuzz target(s) {} failed: the crashing input is under fuzz/artifacts/<target>/ (docs/fuzzing.md)",
            failed.join(", ")
        );
    }
    Ok(())
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
        for p in [Profile::Release, Profile::Smoke] {
            assert!(
                p == Profile::Release || manifest.contains(&format!("[profile.{}]", p.name())),
                "fuzz/Cargo.toml lacks the profile {}",
                p.name()
            );
        }
    }
}
