//! `stratbox translate`: strategy definitions → plugin crates → validated components.

use std::{
    path::PathBuf,
    sync::{Arc, atomic::AtomicBool},
    time::Duration,
};

use super::{EXIT_REFUSED, fail};
use crate::translate::{self, Options, TranslateError, watch};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Definition files (`stratbox.definition/v1` JSON).
    #[arg(required_unless_present_any = ["schema", "watch"])]
    pub definitions: Vec<PathBuf>,
    /// Output folder: generated crates, components, mapping records, provenance log.
    #[arg(long, default_value = "translated")]
    pub out: PathBuf,
    /// Build the component and validate it (the default; kept for scripts that say so).
    #[arg(long, conflicts_with = "no_build")]
    pub build: bool,
    /// Generate the crate only: no build, no validation, no component.
    #[arg(long)]
    pub no_build: bool,
    /// Check the definitions and print what they would become; write nothing.
    #[arg(long, conflicts_with = "no_build")]
    pub check: bool,
    /// Skip the smoke backtest on bundled data (for markets without bundled data).
    #[arg(long)]
    pub no_smoke: bool,
    /// Events replayed by the smoke backtest.
    #[arg(long, default_value_t = 20_000)]
    pub smoke_events: usize,
    /// The stratbox source tree (its sdk/, Cargo.lock, .cargo/config.toml and data/).
    /// Default: the tree this binary was built from.
    #[arg(long, env = "STRATBOX_SOURCE_ROOT")]
    pub source_root: Option<PathBuf>,
    /// Cargo target folder for generated crates (default: <out>/.target).
    #[arg(long)]
    pub target_dir: Option<PathBuf>,
    /// Print the JSON Schema of the definition format and exit.
    #[arg(long)]
    pub schema: bool,
    /// Follow a folder or an HTTP registry (URL) of definitions; re-translate what changes.
    #[arg(long, value_name = "DIR|URL")]
    pub watch: Option<String>,
    /// Seconds between polls of --watch.
    #[arg(long, default_value_t = 5)]
    pub interval: u64,
    /// With --watch: poll once and exit (exit 1 if anything failed).
    #[arg(long, requires = "watch")]
    pub once: bool,
    /// With --watch: host service to upload to and hot-swap running deployments on.
    #[arg(long, env = "STRATBOX_SERVER", requires = "watch")]
    pub server: Option<String>,
    /// API token for --server that lists and swaps deployments (operator or admin).
    #[arg(long, env = "STRATBOX_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// API token that uploads components (author or admin; default: --token).
    #[arg(long, env = "STRATBOX_UPLOAD_TOKEN", hide_env_values = true)]
    pub upload_token: Option<String>,
    /// Print JSON records instead of text.
    #[arg(long)]
    pub json: bool,
}

fn options(args: &Args) -> Options {
    let mut o = Options::new(&args.out);
    if let Some(root) = &args.source_root {
        o.source_root.clone_from(root);
        o.smoke_data = Some(root.join("data"));
    }
    if let Some(t) = &args.target_dir {
        o.target_dir.clone_from(t);
    }
    if args.no_smoke {
        o.smoke_data = None;
    }
    o.build = !args.no_build;
    o.smoke_events = args.smoke_events;
    o
}

pub fn run(args: &Args) -> u8 {
    if args.schema {
        let schema = stratbox_rules::definition::schema();
        println!(
            "{}",
            serde_json::to_string_pretty(&schema).unwrap_or_default()
        );
        return 0;
    }
    let opts = options(args);
    if let Some(source) = &args.watch {
        return run_watch(args, &opts, source);
    }
    let mut failed = false;
    for path in &args.definitions {
        let result = if args.check {
            check(path)
        } else {
            translate::translate_file(path, &opts).map(|o| print_outcome(&o, args.json))
        };
        if let Err(e) = result {
            eprintln!("error: {e}");
            failed = true;
        }
    }
    if failed { EXIT_REFUSED } else { 0 }
}

fn check(path: &std::path::Path) -> Result<(), TranslateError> {
    let bytes = crate::storage::read_operator_file(
        path,
        stratbox_rules::definition::MAX_DEFINITION_BYTES as u64,
    )?;
    let text = String::from_utf8(bytes)
        .map_err(|_| TranslateError::Definition(format!("{}: not UTF-8 text", path.display())))?;
    let (loaded, t) = translate::check_text(&path.display().to_string(), &text)?;
    println!(
        "{}: ok — {} {} ({}), {} rule(s), {} indicator(s), capabilities: {}",
        path.display(),
        loaded.definition.id,
        loaded.definition.version,
        loaded.definition.family.name(),
        t.program.rules.len(),
        t.program.indicators.len(),
        t.manifest
            .capabilities
            .keys()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}

fn print_outcome(o: &translate::Outcome, json: bool) {
    let r = &o.record;
    if json {
        println!("{}", serde_json::to_string(r).unwrap_or_default());
        return;
    }
    println!(
        "{} {} ({}) → {}",
        r.definition_id,
        r.definition_version,
        r.family,
        o.crate_dir.display()
    );
    println!("  definition sha256 {}", r.definition_sha256);
    match (&o.component_path, &r.component_sha256) {
        (Some(p), Some(sha)) => println!("  component {} (sha256 {sha})", p.display()),
        _ => println!("  not built (--no-build)"),
    }
    if let Some(s) = &r.smoke {
        println!(
            "  smoke backtest: {} events of {}, {} callbacks, {} orders, {} fills, {} signals, no fault",
            s.events, s.data, s.callbacks, s.orders, s.fills, s.signals_received
        );
    }
    println!("  capabilities: {}", r.capabilities.join(", "));
}

fn run_watch(args: &Args, opts: &Options, source: &str) -> u8 {
    let source = watch::Source::parse(source);
    let service = match (&args.server, &args.token) {
        (Some(server), Some(token)) => Some(watch::Service {
            server: server.clone(),
            token: token.clone(),
            upload_token: args.upload_token.clone(),
        }),
        (Some(_), None) => {
            return fail(
                "--server needs --token (an operator's, or STRATBOX_TOKEN) and, unless that is an admin's, --upload-token (an author's)",
            );
        }
        _ => None,
    };
    let json = args.json;
    let mut any_failed = false;
    let mut report = |e: &watch::Event| {
        any_failed |= matches!(
            e,
            watch::Event::Failed { .. }
                | watch::Event::SwapFailed { .. }
                | watch::Event::SourceFailed { .. }
                | watch::Event::ReportFailed { .. }
        );
        if json {
            println!("{}", serde_json::to_string(e).unwrap_or_default());
        } else {
            println!("{}", describe(e));
        }
    };
    if args.once {
        let mut state = watch::State::default();
        for e in watch::poll(&mut state, &source, opts, service.as_ref()) {
            report(&e);
        }
        return if any_failed { EXIT_REFUSED } else { 0 };
    }
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    if let Err(e) = ctrlc_handler(move || flag.store(true, std::sync::atomic::Ordering::SeqCst)) {
        return fail(e);
    }
    match watch::run(
        &source,
        opts,
        service.as_ref(),
        Duration::from_secs(args.interval.max(1)),
        &stop,
        &mut report,
    ) {
        Ok(()) => 0,
        Err(e) => fail(e),
    }
}

fn describe(e: &watch::Event) -> String {
    use watch::Event as E;
    match e {
        E::Translated {
            origin,
            id,
            version,
            component_sha256,
            ..
        } => format!(
            "translated {origin}: {id} {version}{}",
            component_sha256
                .as_ref()
                .map(|s| format!(" → component {s}"))
                .unwrap_or_default()
        ),
        E::Failed { origin, error } => {
            format!("FAILED {origin} (the last good translation stays):\n{error}")
        }
        E::Uploaded { plugin, digest } => format!("uploaded {plugin} {digest}"),
        E::Swapped {
            deployment,
            from,
            to,
        } => format!("hot-swapped deployment {deployment}: {from} → {to}"),
        E::SwapFailed {
            deployment,
            to,
            error,
        } => {
            format!("swap of {deployment} to {to} FAILED (the running version stays): {error}")
        }
        E::SourceFailed { error } => format!("cannot read the definitions: {error}"),
        E::ReportFailed { origin, error } => {
            format!("could not report the translation of {origin} to the service: {error}")
        }
        E::GrantRequested {
            deployment,
            digest,
            grant,
        } => format!(
            "deployment {deployment} moves to {digest} once an admin approves grant {grant} (stratbox grants approve {grant})"
        ),
    }
}

/// Stops the watch on Ctrl-C / SIGTERM (tokio's signal handling on a small runtime thread).
fn ctrlc_handler(f: impl Fn() + Send + 'static) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("signal handling: {e}"))?;
    std::thread::Builder::new()
        .name("translate-signals".into())
        .spawn(move || {
            rt.block_on(async {
                let _ = tokio::signal::ctrl_c().await;
            });
            f();
        })
        .map_err(|e| format!("signal handling: {e}"))?;
    Ok(())
}
