//! The `stratbox` command line: argument parsing and printing only; every command calls
//! the library.
//!
//! Exit codes: 0 success (inspect: accepted), 2 usage or I/O error, 3 refused component.

mod author;
mod backtest;
mod bench;
pub(crate) mod catalog;
mod inspect;
mod live;
mod live_venue;
mod named;
mod plugins;
mod remote;
mod replay;
mod service;
mod signals;
mod sweep;
pub mod trading;
mod translate;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::capabilities::risk_gate::TradingState;

/// Exit code for usage and I/O errors.
pub const EXIT_USAGE: u8 = 2;
/// Exit code when a component is refused.
pub const EXIT_REFUSED: u8 = 3;

#[derive(Debug, Parser)]
#[command(
    name = "stratbox",
    version,
    about = "Run trading strategies as sandboxed WebAssembly components inside Nautilus Trader.",
    after_help = "Exit codes: 0 success, 2 usage or I/O error, 3 component refused."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what a component is, what it imports, and whether the host would run it.
    Inspect(inspect::Args),
    /// Backtest components inside Nautilus on recorded data: fills, PnL, report.
    Backtest(backtest::Args),
    /// Run components on a Nautilus live node: a replay feed at a chosen speed, the sandbox
    /// venue (paper), the risk gate; same summary and report as `backtest`.
    Live(live::Args),
    /// Backtest one component over a grid of parameters in parallel; ranked CSV + JSON.
    Sweep(sweep::Args),
    /// Run plugins over recorded data in the sandbox (no Nautilus; orders recorded, not filled).
    Replay(replay::Args),
    /// Halt a plugin or every plugin: orders refused, open orders cancelled (kill switch).
    Halt(trading::Args),
    /// Return a plugin or every plugin to ACTIVE.
    Resume(trading::Args),
    /// AI signals: ingest into the persisted buffer, list dead letters, replay.
    Signals {
        #[command(subcommand)]
        which: signals::Which,
    },
    /// Data catalog: import CSV / Parquet / Postgres into Nautilus Parquet; ls, query,
    /// stats, verify, lineage.
    Catalog {
        #[command(subcommand)]
        which: catalog::Which,
    },
    /// Upload a component to the service's registry.
    Upload(remote::UploadArgs),
    /// Create a deployment on the service from a JSON request file.
    Deploy(remote::DeployArgs),
    /// Hot-swap the running version of a deployment.
    Swap(remote::SwapArgs),
    /// Capability grants on the service: ls, request, approve, reject.
    Grants {
        #[command(subcommand)]
        which: remote::Grants,
    },
    /// Run the host service: registry, grants, deployments, hot-swap, audit (HTTP API).
    Serve(service::ServeArgs),
    /// API tokens of the service.
    Tokens {
        #[command(subcommand)]
        which: service::Tokens,
    },
    /// The service's hash-chained audit trail.
    Audit {
        #[command(subcommand)]
        which: service::Audit,
    },
    /// Translate strategy definitions into validated components (or --watch a registry).
    Translate(translate::Args),
    /// Write a new strategy: a standalone plugin crate from a template.
    New(author::NewArgs),
    /// Build a plugin crate into a checked component (wherever the crate lives).
    Build(author::BuildArgs),
    /// Benchmarks.
    Bench {
        #[command(subcommand)]
        which: bench::Which,
    },
}

/// Runs the parsed command; returns the process exit code.
/// Parses the process's arguments and runs the command; returns the exit code (a usage
/// error prints clap's message and returns [`EXIT_USAGE`]; `--help` and `--version` 0).
#[must_use]
pub fn main() -> u8 {
    match Cli::try_parse() {
        Ok(cli) => run(cli),
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            code
        }
    }
}

pub fn run(cli: Cli) -> u8 {
    match cli.command {
        Command::Inspect(args) => inspect::run(&args),
        Command::Backtest(args) => backtest::run(&args),
        Command::Live(args) => live::run(&args),
        Command::Sweep(args) => sweep::run(&args),
        Command::Replay(args) => replay::run(&args),
        Command::Halt(args) => trading::run(&args, TradingState::Halted),
        Command::Resume(args) => trading::run(&args, TradingState::Active),
        Command::Signals { which } => signals::run(which),
        Command::Catalog { which } => catalog::run(which),
        Command::Upload(args) => remote::upload(&args),
        Command::Deploy(args) => remote::deploy(&args),
        Command::Swap(args) => remote::swap(&args),
        Command::Grants { which } => remote::grants(which),
        Command::Serve(args) => service::serve(&args),
        Command::Tokens { which } => service::tokens(which),
        Command::Audit { which } => service::audit(which),
        Command::Translate(args) => translate::run(&args),
        Command::New(args) => author::new(&args),
        Command::Build(args) => author::build(&args),
        Command::Bench { which } => bench::run(which),
    }
}

/// Parses `name=value`.
pub(crate) fn key_value(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not name=value"))?;
    if k.is_empty() {
        return Err(format!("`{s}` has an empty name"));
    }
    Ok((k.to_string(), v.to_string()))
}

/// Where `cargo xtask plugins` puts components: `$CARGO_TARGET_DIR/plugins` or `target/plugins`.
pub(crate) fn default_plugin_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| PathBuf::from("target"), PathBuf::from)
        .join("plugins")
}

/// The `--instruments` definitions (TOML), or the bundled ones.
pub(crate) fn instrument_defs(
    path: Option<&std::path::Path>,
) -> Result<crate::catalog::instrument_defs::Instruments, String> {
    use crate::catalog::instrument_defs::Instruments;
    let Some(path) = path else {
        return Ok(Instruments::bundled());
    };
    let bytes = crate::storage::read_operator_file(path, 1 << 20).map_err(|e| e.to_string())?;
    let text = String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8", path.display()))?;
    Instruments::parse(&text, &path.display().to_string()).map_err(|e| e.to_string())
}

/// [`instrument_defs`], plus the standard currency pair `instrument` gets when it is an
/// undefined `XXX/YYY.VENUE` of ISO codes (announced on stderr).
pub(crate) fn instrument_defs_for(
    path: Option<&std::path::Path>,
    instrument: Option<&str>,
) -> Result<crate::catalog::instrument_defs::Instruments, String> {
    let mut defs = instrument_defs(path)?;
    if let Some(id) = instrument
        && let Some(note) = defs.add_standard_fx(id)
    {
        eprintln!("note: {note}");
    }
    Ok(defs)
}

/// Prints an error in the house style and returns the usage exit code.
pub(crate) fn fail(message: impl std::fmt::Display) -> u8 {
    eprintln!("error: {message}");
    EXIT_USAGE
}
