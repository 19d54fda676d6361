//! `stratbox serve`, `stratbox tokens create`, `stratbox audit verify`: the host service
//! and its offline tools.

use std::path::PathBuf;

use clap::{Args as ClapArgs, Subcommand};

use super::{EXIT_USAGE, fail};
use crate::service::{self, ServiceConfig, auth::Role};

/// `stratbox serve`: defaults < `--config` file < environment < flags.
#[derive(Debug, ClapArgs)]
pub struct ServeArgs {
    /// TOML configuration file (keys as in docs/service.md; unknown keys are refused).
    #[arg(long, env = "STRATBOX_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on, e.g. 0.0.0.0:8080.
    #[arg(long, env = "STRATBOX_LISTEN")]
    pub listen: Option<std::net::SocketAddr>,
    /// sqlite://stratbox.db (default) or postgres://user:pass@host/db.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// The service's own files (registry blobs, state snapshots).
    #[arg(long, env = "STRATBOX_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Market data that deployments may replay (names in requests are under it).
    #[arg(long, env = "STRATBOX_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Events a swapped-in version must handle without a fault before the swap is final.
    #[arg(long, env = "STRATBOX_PROBATION_EVENTS")]
    pub probation_events: Option<u64>,
    /// Log JSON lines instead of text.
    #[arg(long, env = "STRATBOX_JSON_LOGS")]
    pub json_logs: bool,
    /// The Ed25519 key that signs the audit trail's checkpoints (default:
    /// `<state dir>/audit-signing.key`, generated on first start).
    #[arg(long, env = "STRATBOX_AUDIT_KEY")]
    pub audit_key: Option<PathBuf>,
    /// Allow deployments with `session.mode = "live"` (real orders on a venue); each one
    /// also needs a grant that an admin approved with that venue in `live_venues`.
    #[arg(long, env = "STRATBOX_LIVE_VENUES")]
    pub live_venues: bool,
}

impl ServeArgs {
    /// The effective configuration.
    pub fn config(&self) -> Result<ServiceConfig, String> {
        let mut c = match &self.config {
            Some(p) => ServiceConfig::from_file(p).map_err(|e| e.to_string())?,
            None => ServiceConfig::default(),
        };
        if let Some(v) = self.listen {
            c.listen = v;
        }
        if let Some(v) = &self.database_url {
            c.database_url.clone_from(v);
        }
        if let Some(v) = &self.state_dir {
            c.state_dir.clone_from(v);
        }
        if let Some(v) = &self.data_dir {
            c.data_dir.clone_from(v);
        }
        if let Some(v) = self.probation_events {
            c.probation_events = v;
        }
        c.json_logs |= self.json_logs;
        c.live_venues |= self.live_venues;
        if let Some(v) = &self.audit_key {
            c.audit_key = Some(v.clone());
        }
        c.check().map_err(|e| e.to_string())?;
        Ok(c)
    }
}

pub fn serve(args: &ServeArgs) -> u8 {
    let config = match args.config() {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    match service::serve(config) {
        Ok(()) => 0,
        Err(e) => fail(e),
    }
}

#[derive(Debug, Subcommand)]
pub enum Tokens {
    /// Issues a token directly in the database and prints it once (store it now: only
    /// its hash is kept).
    Create {
        #[arg(long)]
        name: String,
        /// author | operator | auditor | admin
        #[arg(long)]
        role: String,
        #[arg(long, env = "DATABASE_URL", default_value = "sqlite://stratbox.db")]
        database_url: String,
        /// The service's audit signing key (the record is signed into the same chain).
        #[arg(long, env = "STRATBOX_AUDIT_KEY", default_value = DEFAULT_AUDIT_KEY)]
        audit_key: PathBuf,
    },
}

/// The service's default key: `audit-signing.key` in its default state folder.
const DEFAULT_AUDIT_KEY: &str = "stratbox-state/audit-signing.key";

pub fn tokens(which: Tokens) -> u8 {
    match which {
        Tokens::Create {
            name,
            role,
            database_url,
            audit_key,
        } => {
            let Some(role) = Role::parse(&role) else {
                return fail(format!(
                    "--role `{role}` is not one of author, operator, auditor, admin"
                ));
            };
            match service::create_token(&database_url, &audit_key, &name, role) {
                Ok(token) => {
                    println!("{token}");
                    0
                }
                Err(e) => fail(e),
            }
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Audit {
    /// Checks the service's audit trail: the hash chain from genesis, every signed
    /// checkpoint (a trail cut short or re-chained without the key fails), and the head
    /// you kept (`--expect-head`). Exit 0 if it verifies, 1 naming what is wrong.
    Verify {
        #[arg(long, env = "DATABASE_URL", default_value = "sqlite://stratbox.db")]
        database_url: String,
        /// The host's public key: hex, or a file holding it (the `.pub` beside the key).
        #[arg(long, env = "STRATBOX_AUDIT_PUBLIC_KEY", default_value = DEFAULT_PUBLIC_KEY)]
        public_key: String,
        /// A head printed earlier by `stratbox audit head` (`<seq>:<hash>`) and kept
        /// elsewhere: the trail must still hold it.
        #[arg(long)]
        expect_head: Option<crate::audit::Anchor>,
    },
    /// Prints the verified head as `<seq>:<hash>`: keep it outside the database (a
    /// ticket, a notebook) and pass it to `audit verify --expect-head` later.
    Head {
        #[arg(long, env = "DATABASE_URL", default_value = "sqlite://stratbox.db")]
        database_url: String,
        #[arg(long, env = "STRATBOX_AUDIT_PUBLIC_KEY", default_value = DEFAULT_PUBLIC_KEY)]
        public_key: String,
    },
}

const DEFAULT_PUBLIC_KEY: &str = "stratbox-state/audit-signing.key.pub";

/// `--public-key` as hex: the value itself, or the contents of the file it names.
fn public_key(arg: &str) -> Result<String, String> {
    let is_hex = arg.len() == 64 && arg.bytes().all(|b| b.is_ascii_hexdigit());
    if is_hex {
        return Ok(arg.to_ascii_lowercase());
    }
    let path = std::path::Path::new(arg);
    let bytes = crate::storage::read_operator_file(path, 4096).map_err(|e| {
        format!("--public-key: {e} (give the 64 hex digits, or the `.pub` file beside the service's audit_key)")
    })?;
    let text = String::from_utf8_lossy(&bytes).trim().to_ascii_lowercase();
    if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(text)
    } else {
        Err(format!(
            "--public-key: `{arg}` does not hold an Ed25519 public key (64 hex digits)"
        ))
    }
}

pub fn audit(which: Audit) -> u8 {
    let (database_url, key, anchor, head_only) = match which {
        Audit::Verify {
            database_url,
            public_key,
            expect_head,
        } => (database_url, public_key, expect_head, false),
        Audit::Head {
            database_url,
            public_key,
        } => (database_url, public_key, None, true),
    };
    let key = match public_key(&key) {
        Ok(k) => k,
        Err(e) => return fail(e),
    };
    match service::verify_audit(&database_url, &key, anchor.as_ref()) {
        Ok(Ok(v)) if head_only => match v.head {
            Some(head) => {
                println!("{head}");
                0
            }
            None => fail("the audit trail is empty: there is no head to keep yet"),
        },
        Ok(Ok(v)) => {
            println!(
                "audit trail OK: {} records, every hash links to the previous one; newest signed checkpoint: {}; head {}",
                v.records,
                v.newest_checkpoint
                    .map_or_else(|| "none".to_string(), |s| format!("seq {s}")),
                v.head
                    .map_or_else(|| "(empty)".to_string(), |h| h.to_string()),
            );
            0
        }
        Ok(Err(e)) => {
            println!("audit trail BROKEN: {e}");
            1
        }
        Err(e) => {
            eprintln!("error: {e}");
            // A row that is not a record (edited action, bad JSON) is a broken trail.
            if e.to_string().contains("audit record seq") {
                1
            } else {
                EXIT_USAGE
            }
        }
    }
}
