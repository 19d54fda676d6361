//! `stratbox halt` and `stratbox resume`: the kill switch from the command line.
//!
//! Both change `trading-state.json` in the state folder (atomically) and append the change
//! to the folder's hash-chained `audit.jsonl`; hosts started with `--state-dir` on that
//! folder follow the file (see `capabilities::risk_gate::persist`).

use std::{path::PathBuf, sync::Arc};

use super::fail;
use crate::{
    audit,
    capabilities::risk_gate::{
        Scope, TradingControl, TradingState,
        persist::{StoredEntry, StoredStates},
    },
    notify::{Notifiers, WebhookNotifier},
    storage,
};

/// Audit file inside the state folder.
pub const AUDIT_FILE: &str = "audit.jsonl";
/// The key that signs the folder's trail (generated on first use; `.pub` beside it); the
/// checkpoints go to `audit.jsonl.checkpoints`, so a trail cut short is refused.
pub const AUDIT_KEY_FILE: &str = "audit-signing.key";

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("scope").required(true).args(["plugin", "all", "deployment"])))]
pub struct Args {
    /// The plugin (by manifest name) to change.
    #[arg(long)]
    pub plugin: Option<String>,
    /// Every plugin of the host.
    #[arg(long)]
    pub all: bool,
    /// A deployment of `stratbox serve` (through its API; see --server, --token).
    #[arg(long)]
    pub deployment: Option<String>,
    /// Base URL of `stratbox serve`: with --all, halts (resumes) every deployment of that
    /// service (POST /v1/halt); with --deployment, that one (default $STRATBOX_SERVER, else
    /// http://127.0.0.1:8080). Without it, --all changes the state folder.
    #[arg(long)]
    pub server: Option<String>,
    /// API token of an operator or admin (see `stratbox tokens create`).
    #[arg(long, env = "STRATBOX_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Why (recorded in the audit trail and sent to the notifiers).
    #[arg(long)]
    pub reason: String,
    /// Who asks (default: $USER).
    #[arg(long)]
    pub actor: Option<String>,
    /// State folder shared with the hosts (`trading-state.json`, `audit.jsonl`).
    #[arg(long, env = "STRATBOX_STATE_DIR", default_value = "state")]
    pub state_dir: PathBuf,
    /// Also send the change to this webhook (JSON POST).
    #[arg(long)]
    pub webhook: Option<String>,
}

/// Sets the state of the scope in `args` to `to`; prints what changed.
pub fn run(args: &Args, to: TradingState) -> u8 {
    let halt = to == TradingState::Halted;
    if let Some(d) = &args.deployment {
        return super::remote::trading(&conn(args), d, &args.reason, halt);
    }
    if args.server.is_some() {
        if !args.all {
            return fail(
                "--server goes with --all (every deployment of the service) or --deployment <id>; --plugin changes a state folder",
            );
        }
        return super::remote::service_trading(&conn(args), &args.reason, halt);
    }
    match change(args, to) {
        Ok(message) => {
            println!("{message}");
            0
        }
        Err(e) => fail(e),
    }
}

/// The service connection: --server, else $STRATBOX_SERVER, else the local default.
fn conn(args: &Args) -> super::remote::Conn {
    super::remote::Conn {
        server: args
            .server
            .clone()
            .or_else(|| std::env::var("STRATBOX_SERVER").ok())
            .unwrap_or_else(|| "http://127.0.0.1:8080".to_string()),
        token: args.token.clone(),
    }
}

/// Lock file in the state folder: one `halt`/`resume` at a time reads the state file and
/// the trail's end, appends and rewrites, so concurrent ones all land and the chain holds.
pub const LOCK_FILE: &str = "trading-state.lock";

fn change(args: &Args, to: TradingState) -> Result<String, String> {
    let scope = match (&args.plugin, args.all) {
        (Some(p), false) => Scope::Plugin(p.clone()),
        (None, true) => Scope::All,
        _ => return Err("give exactly one of --plugin <name> or --all".to_string()),
    };
    let actor = args
        .actor
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "operator".to_string());
    let dir = storage::create_dir(&args.state_dir).map_err(|e| e.to_string())?;
    // Held until this function returns (closing the file releases it).
    let _lock = lock(&dir)
        .map_err(|e| format!("{}: cannot lock {LOCK_FILE}: {e}", args.state_dir.display()))?;
    let trail = audit::open_file_signed(&dir, AUDIT_FILE, AUDIT_KEY_FILE)
        .map_err(|e| format!("{}: {e}", args.state_dir.display()))?;
    let mut stored =
        StoredStates::load(&dir).map_err(|e| format!("{}: {e}", args.state_dir.display()))?;
    let mut notifiers = Notifiers::log();
    if let Some(url) = &args.webhook {
        let hook = WebhookNotifier::new(url, std::time::Duration::from_secs(10))
            .map_err(|e| format!("--webhook: {e}"))?;
        notifiers = notifiers.with(Arc::new(hook));
    }
    let control = TradingControl::new(trail.clone(), notifiers);
    control.restore(&stored);
    let from = control.state_of(&scope);
    if from == to {
        return Ok(format!("{scope} is already {to}; nothing changed"));
    }
    let change = control
        .set(&scope, to, &args.reason, &actor, None)
        .map_err(|e| e.to_string())?;
    // Sign the new head, so deleting this change from the trail is detected.
    trail
        .checkpoint()
        .map_err(|e| format!("{}: {e}", args.state_dir.display()))?;
    stored.set(
        &scope,
        StoredEntry {
            state: to,
            reason: args.reason.trim().to_string(),
            actor: actor.clone(),
        },
    );
    stored
        .save(&dir)
        .map_err(|e| format!("{}: {e}", args.state_dir.display()))?;
    Ok(change.map_or_else(
        || format!("{scope} is already {to}; nothing changed"),
        |c| {
            format!(
                "{scope}: {from} -> {} by {actor}: {} (recorded in {})",
                c.to,
                c.reason,
                args.state_dir.join(AUDIT_FILE).display()
            )
        },
    ))
}

/// Takes the state folder's exclusive lock (waits for another `halt`/`resume` to finish).
fn lock(dir: &cap_std::fs::Dir) -> std::io::Result<std::fs::File> {
    let mut opts = cap_std::fs::OpenOptions::new();
    opts.create(true).write(true);
    let file = dir.open_with(LOCK_FILE, &opts)?.into_std();
    file.lock()?;
    Ok(file)
}
