//! `cargo xtask <command>`: the developer entry points named in README.md and CONTRIBUTING.md.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "stratbox developer tasks")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Install what the build needs that cargo cannot: the wasm32-unknown-unknown target.
    Setup,
    /// Build every plugin under plugins/ into target/plugins/<name>.wasm.
    Plugins,
    /// The main job: build everything and run the demo on bundled data.
    Demo,
    /// Everything CI checks: formatting, clippy, plugins, all tests, API fuzzing, a short
    /// run of each fuzz target.
    Test {
        /// Skip `cargo fmt --check` and clippy (tests only).
        #[arg(long)]
        no_lint: bool,
        /// Skip the fuzz smoke runs (building the fuzz targets takes minutes).
        #[arg(long)]
        no_fuzz: bool,
    },
    /// Run fuzz targets on their committed corpus (docs/fuzzing.md); new inputs go to
    /// fuzz/target/corpus/<target>.
    Fuzz {
        /// Seconds per target.
        #[arg(long, default_value_t = 600)]
        seconds: u64,
        /// Keep the scratch corpus of an earlier run (grow it) instead of starting afresh.
        #[arg(long)]
        keep: bool,
        /// Build and run as `cargo xtask test` does: the `smoke` profile, targets run in
        /// parallel (give `--seconds 30` for exactly CI's step).
        #[arg(long)]
        smoke: bool,
        /// Targets to run (default: all, one after the other).
        targets: Vec<String>,
    },
    /// Release-mode benchmarks (`stratbox bench callback`).
    Bench,
    /// Build the web console (`web/`: npm ci when needed, npm run build); `demo`, `test`
    /// and `console` do it first, since the binary embeds the console.
    Web,
    /// Run the console's browser tests (Playwright in Debian's Chromium) against the debug
    /// binary `cargo xtask test` builds (build it first).
    E2e,
    /// Start `stratbox serve` on 127.0.0.1:8080 with a demo deployment (ema-cross paper
    /// trading the bundled GBP/USD minutes) and print the console's URL and a sign-in
    /// token; runs until Ctrl-C. State in `<target>/console-demo`.
    Console {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
    },
    /// The architecture checks `test` runs first: the core's dependency tree, the host
    /// crate's layering (docs/architecture.md) and that no file points outside the
    /// repository.
    Layers,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let root = workspace_root()?;
    match cli.command {
        Cmd::Setup => setup(),
        Cmd::Plugins => plugins(&root).map(|_| ()),
        Cmd::Demo => demo(&root),
        Cmd::Test { no_lint, no_fuzz } => test(&root, no_lint, no_fuzz),
        Cmd::Fuzz {
            seconds,
            keep,
            smoke,
            targets,
        } => {
            let profile = if smoke {
                xtask::fuzz::Profile::Smoke
            } else {
                xtask::fuzz::Profile::Release
            };
            fuzz(&root, profile, seconds, keep, &targets)
        }
        Cmd::Bench => bench(&root),
        Cmd::Web => xtask::web::build(&root, &run),
        Cmd::E2e => e2e(&root),
        Cmd::Console { listen } => xtask::console::run(&root, &listen, &build_for_demo),
        Cmd::Layers => core_dependencies(&root)
            .and_then(|()| layers(&root))
            .and_then(|()| self_contained(&root)),
    }
}

fn workspace_root() -> Result<PathBuf> {
    // `cargo run` (the `cargo xtask` alias) sets CARGO_MANIFEST_DIR for the process: the
    // checkout being worked on. The compile-time value is only a fallback: with a target
    // folder shared between checkouts, cargo reuses one xtask binary for identical sources,
    // and its baked-in path would be another checkout's.
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    let root = dir
        .parent()
        .context("xtask lives in a subfolder of the workspace")?;
    Ok(root.canonicalize()?)
}

fn target_dir(root: &Path) -> Result<PathBuf> {
    let meta = cargo_metadata::MetadataCommand::new()
        .current_dir(root)
        .no_deps()
        .exec()
        .context("cargo metadata")?;
    Ok(meta.target_directory.into_std_path_buf())
}

/// Runs `cmd`, echoing it and, when it ends, how long it took (so a CI log shows where
/// the time of `cargo xtask test` goes).
fn run(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}").replace('"', "");
    eprintln!("$ {shown}");
    let started = std::time::Instant::now();
    let status = cmd.status().with_context(|| format!("starting {cmd:?}"))?;
    let took = started.elapsed().as_secs_f64();
    let short: String = shown.chars().take(100).collect();
    eprintln!("  [{took:.0} s] {short}");
    if !status.success() {
        bail!("{cmd:?} failed: {status}");
    }
    Ok(())
}

fn cargo(root: &Path) -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.current_dir(root);
    c
}

/// The `clippy-driver` of the toolchain cargo belongs to (beside it), else rustup's.
fn clippy_driver() -> Result<std::path::PathBuf> {
    let name = format!("clippy-driver{}", std::env::consts::EXE_SUFFIX);
    if let Some(dir) = std::env::var_os("CARGO")
        .map(std::path::PathBuf::from)
        .and_then(|c| c.parent().map(Path::to_path_buf))
        && dir.join(&name).is_file()
    {
        return Ok(dir.join(name));
    }
    let out = Command::new("rustup")
        .args(["which", "clippy-driver"])
        .output()
        .context("running rustup to find clippy-driver")?;
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || path.is_empty() {
        bail!(
            "clippy-driver not found beside cargo or through rustup: `rustup component add clippy` (or pass --no-lint)"
        );
    }
    Ok(path.into())
}

fn setup() -> Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("running rustup (stratbox needs a rustup-managed toolchain)")?;
    let list = String::from_utf8_lossy(&installed.stdout);
    if list
        .lines()
        .any(|l| l.trim() == xtask::plugins::GUEST_TARGET)
    {
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", xtask::plugins::GUEST_TARGET]))
}

fn plugins(root: &Path) -> Result<Vec<xtask::Built>> {
    setup()?;
    let sources = xtask::discover(root)?;
    let built = xtask::build(root, &target_dir(root)?, &sources)?;
    for b in &built {
        let size = std::fs::metadata(&b.path).map(|m| m.len()).unwrap_or(0);
        let kind = if b.hostile {
            "hostile fixture"
        } else {
            "strategy"
        };
        eprintln!(
            "  {:<28} {:>9} bytes  {kind}  {}",
            b.name,
            size,
            b.path.display()
        );
    }
    Ok(built)
}

/// Builds the release `stratbox` binary with cargo's progress shown (a fresh machine spends
/// most of the demo's time here) and returns its path.
fn build_stratbox(root: &Path) -> Result<PathBuf> {
    run(cargo(root).args([
        "build",
        "--release",
        "--locked",
        "--package",
        "stratbox",
        "--bin",
        "stratbox",
    ]))?;
    Ok(target_dir(root)?
        .join("release")
        .join(format!("stratbox{}", std::env::consts::EXE_SUFFIX)))
}

/// Builds the `stratbox` binary the way `cargo xtask test` does (the dev profile, with
/// dependencies optimised, and every test target), with cargo's progress shown, and returns
/// its path. One build serves the demo and the tests: on a fresh machine a release build
/// for the demo cost a whole second build of the dependency tree (decision 0027).
fn build_for_demo_and_tests(root: &Path) -> Result<PathBuf> {
    run(cargo(root).args(["test", "--workspace", "--locked", "--no-run"]))?;
    Ok(target_dir(root)?
        .join("debug")
        .join(format!("stratbox{}", std::env::consts::EXE_SUFFIX)))
}

/// The console, the plugins and the binary (which embeds the console): what the demo and
/// the console demo start from.
fn build_for_demo(root: &Path) -> Result<PathBuf> {
    xtask::web::build(root, &run)?;
    plugins(root)?;
    build_for_demo_and_tests(root)
}

fn demo(root: &Path) -> Result<()> {
    let bin = build_for_demo(root)?;
    let stratbox = || {
        let mut c = Command::new(&bin);
        c.current_dir(root);
        c
    };
    let dir = target_dir(root)?.join("plugins");
    let ema = dir.join("ema-cross.wasm");
    run(stratbox().arg("inspect").arg(&ema))?;
    // The main job: ema-cross trading the bundled GBP/USD minutes inside Nautilus.
    let report = target_dir(root)?.join("demo-report");
    run(stratbox()
        .args(["backtest", "--plugin"])
        .arg(&ema)
        .args(["--data", "data/fxcm/gbpusd-m1-bid-2012.csv", "--report"])
        .arg(&report))?;
    // The second capability: regime-signal trading the bundled BTC regime signals.
    eprintln!("\nregime-signal on BTC perpetual minutes with the bundled AI regime signals:");
    run(stratbox()
        .args(["backtest", "--plugin"])
        .arg(dir.join("regime-signal.wasm"))
        .args([
            "--data",
            "data/btc-perp/btc-perp-20211231-20220201_1m.csv",
            "--format",
            "ohlcv-bars",
            "--signals",
            "data/signals/btc-perp-regimes-2022-01.jsonl",
            "--param",
            "trade_size=0.1",
            "--report",
        ])
        .arg(target_dir(root)?.join("demo-report-signals")))
}

fn test(root: &Path, no_lint: bool, no_fuzz: bool) -> Result<()> {
    setup()?;
    core_dependencies(root)?;
    layers(root)?;
    self_contained(root)?;
    if !no_lint {
        run(cargo(root).args(["fmt", "--all", "--", "--check"]))?;
    }
    // Before cargo: the binary embeds the built console and report viewer.
    xtask::web::build(root, &run)?;
    plugins(root)?;
    let mut test = cargo(root);
    test.args(["test", "--workspace", "--locked"]);
    if !no_lint {
        // Clippy lints every workspace crate while the test build compiles it (decision
        // 0032): `cargo clippy --workspace --all-targets -- -D warnings` in the same pass,
        // without a second, check-only build of every dependency.
        test.env("RUSTC_WORKSPACE_WRAPPER", clippy_driver()?)
            .env("CLIPPY_ARGS", xtask::clippy_args(&["-D", "warnings"]));
    }
    if std::env::var_os("STRATBOX_TEST_POSTGRES_URL").is_none() {
        test.env("STRATBOX_TEST_POSTGRES_URL", postgres(root)?);
    }
    run(&mut test)?;
    // The fuzz targets build (about 7 minutes on 2 cores) at low priority while the API and
    // browser tests run: those mostly wait on a server, so the build fills the idle cores.
    let fuzz_build = (!no_fuzz).then(|| background_fuzz_build(root));
    let checks = api_fuzz(root).and_then(|()| e2e(root));
    let Some(build) = fuzz_build else {
        return checks;
    };
    let built = build
        .join()
        .map_err(|_| anyhow::anyhow!("the fuzz build thread panicked"))?;
    checks?;
    let (bin_dir, secs) = built?;
    eprintln!("  fuzz: built (smoke profile) beside the API and browser tests in {secs:.0} s");
    let started = std::time::Instant::now();
    let targets: Vec<String> = xtask::fuzz::TARGETS.map(str::to_owned).to_vec();
    let parallel = std::thread::available_parallelism().map_or(1, |n| n.get());
    xtask::fuzz::run_targets(
        root,
        &bin_dir,
        &targets,
        xtask::fuzz::SMOKE_SECONDS,
        false,
        parallel,
    )?;
    eprintln!(
        "  fuzz: {} target(s) x {} s in {:.0} s",
        targets.len(),
        xtask::fuzz::SMOKE_SECONDS,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Builds the fuzz targets (smoke profile) on a thread, under `nice`, its output in
/// `fuzz/target/smoke-build.log` (printed if it fails). Returns the binaries' folder and
/// the build's seconds.
fn background_fuzz_build(root: &Path) -> std::thread::JoinHandle<Result<(PathBuf, f64)>> {
    let root = root.to_path_buf();
    std::thread::spawn(move || {
        let started = std::time::Instant::now();
        let log = root.join("fuzz").join("target").join("smoke-build.log");
        let bin_dir = xtask::fuzz::build(&root, xtask::fuzz::Profile::Smoke, &|cmd| {
            run_niced_to_log(cmd, &log)
        })?;
        Ok((bin_dir, started.elapsed().as_secs_f64()))
    })
}

/// Runs `cmd` at the lowest useful priority (`nice -n 15`, coreutils) with its output in
/// `log`; on failure the log's tail is printed.
fn run_niced_to_log(cmd: &mut Command, log: &Path) -> Result<()> {
    let mut niced = Command::new("nice");
    niced
        .args(["-n", "15"])
        .arg(cmd.get_program())
        .args(cmd.get_args());
    if let Some(dir) = cmd.get_current_dir() {
        niced.current_dir(dir);
    }
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => niced.env(k, v),
            None => niced.env_remove(k),
        };
    }
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let file = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    niced
        .stdout(file.try_clone().context("duplicating the log handle")?)
        .stderr(file);
    eprintln!(
        "$ {} (in the background; output in {})",
        format!("{cmd:?}").replace('"', ""),
        log.display()
    );
    let status = niced
        .status()
        .with_context(|| format!("starting {niced:?}"))?;
    if !status.success() {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        eprintln!("{}", lines[lines.len().saturating_sub(80)..].join("\n"));
        bail!(
            "{cmd:?} failed: {status} (whole output in {})",
            log.display()
        );
    }
    Ok(())
}

/// The console's browser tests against the debug binary of `cargo test`.
fn e2e(root: &Path) -> Result<()> {
    let target = target_dir(root)?;
    let bin = target
        .join("debug")
        .join(format!("stratbox{}", std::env::consts::EXE_SUFFIX));
    if !bin.is_file() {
        bail!(
            "{} is missing: run `cargo xtask test` (or `cargo test --workspace --no-run`) first",
            bin.display()
        );
    }
    xtask::web::e2e(root, &bin, &target.join("plugins"), &run)
}

/// Builds every fuzz target with `profile`, runs `targets` (all if empty) for `seconds`
/// each (decision 0024).
fn fuzz(
    root: &Path,
    profile: xtask::fuzz::Profile,
    seconds: u64,
    keep: bool,
    targets: &[String],
) -> Result<()> {
    let started = std::time::Instant::now();
    let bin_dir = xtask::fuzz::build(root, profile, &run)?;
    let built = started.elapsed();
    let all: Vec<String> = xtask::fuzz::TARGETS.map(str::to_owned).to_vec();
    let targets = if targets.is_empty() { &all } else { targets };
    // The short CI runs use every core (one libFuzzer process each, so each target still
    // gets `seconds` of a whole core); long runs go one after the other.
    let parallel = match profile {
        xtask::fuzz::Profile::Smoke => std::thread::available_parallelism().map_or(1, |n| n.get()),
        xtask::fuzz::Profile::Release => 1,
    };
    xtask::fuzz::run_targets(root, &bin_dir, targets, seconds, keep, parallel)?;
    eprintln!(
        "  fuzz: built ({} profile) in {:.0} s, {} target(s) x {seconds} s, {:.0} s in all",
        profile.name(),
        built.as_secs_f64(),
        targets.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The short API fuzzing run: schemathesis against a `stratbox serve` on loopback
/// (`scripts/api-fuzz.sh`; no 5xx, every response as documented), after `cargo test`. The
/// script installs the pinned schemathesis into a virtual environment under the target
/// directory.
fn api_fuzz(root: &Path) -> Result<()> {
    // The binary `cargo test` just built for the integration tests. Not `cargo build
    // --bin stratbox`: without the dev-dependencies cargo resolves other features for
    // shared crates (serde_json among them) and would rebuild most of the tree.
    let bin = target_dir(root)?
        .join("debug")
        .join(format!("stratbox{}", std::env::consts::EXE_SUFFIX));
    run(Command::new("bash")
        .current_dir(root)
        .arg("scripts/api-fuzz.sh")
        .arg(bin)
        .env("API_FUZZ_EXAMPLES", "10"))
    .context(
        "API fuzzing failed: a 5xx or a response the OpenAPI document does not describe \
         (schemathesis's report above; reproduce with `bash scripts/api-fuzz.sh`)",
    )
}

/// Crates the sandbox core must never depend on, directly or transitively (its layering
/// rule: docs/decisions/0018-core-crate-and-nautilus-module.md).
const CORE_FORBIDDEN: &[&str] = &["nautilus-", "sqlx", "axum", "tokio", "clap"];

/// Fails if `stratbox-core`'s normal dependency tree contains a forbidden crate.
fn core_dependencies(root: &Path) -> Result<()> {
    let mut tree = cargo(root);
    tree.args([
        "tree",
        "--locked",
        "-p",
        "stratbox-core",
        "-e",
        "normal",
        "--prefix",
        "none",
        "--format",
        "{p}",
    ]);
    eprintln!("$ {}", format!("{tree:?}").replace('"', ""));
    let out = tree.output().context("running cargo tree")?;
    if !out.status.success() {
        bail!(
            "cargo tree -p stratbox-core failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8(out.stdout)?;
    let bad = forbidden_core_dependencies(&text);
    if !bad.is_empty() {
        bail!(
            "stratbox-core (host/core) must not depend on Nautilus, sqlx, axum, tokio or clap, but its tree has: {}.\n\
             Move the code that needs them into the `stratbox` crate (host/src), or see `cargo tree -p stratbox-core -i <crate>` for the path.",
            bad.join(", ")
        );
    }
    eprintln!(
        "  stratbox-core: {} crates in its tree, none forbidden",
        text.lines().count()
    );
    Ok(())
}

/// The forbidden crates named in `cargo tree --format {p}` output (one `name vX.Y.Z` a line).
fn forbidden_core_dependencies(tree: &str) -> Vec<String> {
    let mut bad: Vec<String> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| {
            CORE_FORBIDDEN.iter().any(|f| {
                if f.ends_with('-') {
                    name.starts_with(f)
                } else {
                    name == f || name.starts_with(&format!("{f}-"))
                }
            })
        })
        .map(str::to_owned)
        .collect();
    bad.sort();
    bad.dedup();
    bad
}

/// Fails if a tracked file names a path outside the repository.
fn self_contained(root: &Path) -> Result<()> {
    xtask::self_contained::require(root)?;
    eprintln!("  every tracked file stays inside the repository");
    Ok(())
}

/// Fails if a module of the host crate imports a layer above it (docs/architecture.md).
fn layers(root: &Path) -> Result<()> {
    let violations = xtask::layers::check(&root.join("host/src"))?;
    if violations.is_empty() {
        eprintln!("  host/src: every `use crate::` goes down the layers");
        return Ok(());
    }
    for v in &violations {
        eprintln!("error: {v}");
    }
    bail!(
        "{} import(s) break the host crate's layering (docs/architecture.md; the table is in xtask/src/layers.rs)",
        violations.len()
    )
}

/// Starts the loopback PostgreSQL the catalog's import test uses (`.ci/postgres.sh`,
/// which installs Debian's package when missing) and returns its URL.
fn postgres(root: &Path) -> Result<String> {
    let out = Command::new("bash")
        .current_dir(root)
        .args([
            "-c",
            "set -euo pipefail; source .ci/postgres.sh >&2; printf %s \"$STRATBOX_TEST_POSTGRES_URL\"",
        ])
        .stderr(std::process::Stdio::inherit())
        .output()?;
    if !out.status.success() {
        bail!("could not start PostgreSQL for the tests (.ci/postgres.sh); see above");
    }
    Ok(String::from_utf8(out.stdout)?)
}

fn bench(root: &Path) -> Result<()> {
    plugins(root)?;
    let bin = build_stratbox(root)?;
    run(Command::new(bin)
        .current_dir(root)
        .args(["bench", "callback"]))
}

#[cfg(test)]
mod tests {
    use super::forbidden_core_dependencies;

    #[test]
    fn finds_forbidden_crates_in_a_tree() {
        let tree = "stratbox-core v0.1.0 (/x/host/core)\nwasmtime v48.0.8\ntokio v1.47.0\n\
                    nautilus-model v0.57.0\nclap_lex v0.7.0\nsqlx-core v0.9.0\nserde v1.0.0\ntokio v1.47.0\n";
        assert_eq!(
            forbidden_core_dependencies(tree),
            ["nautilus-model", "sqlx-core", "tokio"]
        );
        assert!(forbidden_core_dependencies("wasmtime v48.0.8\ncap-std v4.0.3\n").is_empty());
    }
}
