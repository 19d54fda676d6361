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
    #[command(flatten)]
    pub conn: super::remote::Conn,
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
    if let Some(d) = &args.deployment {
        return super::remote::trading(&args.conn, d, &args.reason, to == TradingState::Halted);
    }
    match change(args, to) {
        Ok(message) => {
            println!("{message}");
            0
        }
        Err(e) => fail(e),
    }
}

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
    let trail = audit::open_file(&dir, AUDIT_FILE)
        .map_err(|e| format!("{}: {e}", args.state_dir.display()))?;
    let mut stored =
        StoredStates::load(&dir).map_err(|e| format!("{}: {e}", args.state_dir.display()))?;
    let mut notifiers = Notifiers::log();
    if let Some(url) = &args.webhook {
        let hook = WebhookNotifier::new(url, std::time::Duration::from_secs(10))
            .map_err(|e| format!("--webhook: {e}"))?;
        notifiers = notifiers.with(Arc::new(hook));
    }
    let control = TradingControl::new(trail, notifiers);
    control.restore(&stored);
    let from = control.state_of(&scope);
    if from == to {
        return Ok(format!("{scope} is already {to}; nothing changed"));
    }
    let change = control
        .set(&scope, to, &args.reason, &actor, None)
        .map_err(|e| e.to_string())?;
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
