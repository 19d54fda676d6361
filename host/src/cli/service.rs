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
    },
}

pub fn tokens(which: Tokens) -> u8 {
    match which {
        Tokens::Create {
            name,
            role,
            database_url,
        } => {
            let Some(role) = Role::parse(&role) else {
                return fail(format!(
                    "--role `{role}` is not one of author, operator, auditor, admin"
                ));
            };
            match service::create_token(&database_url, &name, role) {
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
    /// Checks the whole hash chain of the service's audit trail: exit 0 if it verifies,
    /// 1 naming the first record that was edited, inserted or deleted.
    Verify {
        #[arg(long, env = "DATABASE_URL", default_value = "sqlite://stratbox.db")]
        database_url: String,
    },
}

pub fn audit(which: Audit) -> u8 {
    match which {
        Audit::Verify { database_url } => match service::verify_audit(&database_url) {
            Ok(Ok(n)) => {
                println!("audit trail OK: {n} records, every hash links to the previous one");
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
        },
    }
}
