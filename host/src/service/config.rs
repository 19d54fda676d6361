//! Service configuration: defaults, then a TOML file (`--config`), then environment
//! variables and flags (clap reads both; a flag wins over its variable).

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

use serde::Deserialize;
use stratbox_manifest::Problems;

/// Everything `stratbox serve` needs.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceConfig {
    /// Address to listen on (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// `sqlite://stratbox.db` (created if missing) or `postgres://user:pass@host/db`.
    pub database_url: String,
    /// The service's own files: the component registry and state snapshots.
    pub state_dir: PathBuf,
    /// Market data that paper sessions may replay: every data path in a deployment is a
    /// name under this folder, reached through a `cap-std` handle.
    pub data_dir: PathBuf,
    /// Largest component upload, in bytes.
    pub max_upload_bytes: usize,
    /// Largest JSON request body, in bytes.
    pub max_json_bytes: usize,
    /// Events a new version must handle without a fault before a swap is final.
    pub probation_events: u64,
    /// How long a swap request waits for the session to take it.
    pub swap_timeout_ms: u64,
    /// Log as JSON lines instead of text.
    pub json_logs: bool,
    /// The Ed25519 key that signs the audit trail's checkpoints (PKCS#8, generated on
    /// first start; its public key is written beside it as `<file>.pub`). Default:
    /// `<state_dir>/audit-signing.key`.
    pub audit_key: Option<PathBuf>,
    /// Authentication failures one client address may cause per window before it gets
    /// 429 (they refill evenly over the window).
    pub auth_failures_per_window: u32,
    /// The window of [`Self::auth_failures_per_window`], in seconds; each address's
    /// failures in a window are audited as one summary record.
    pub auth_failure_window_s: u64,
    /// Whether deployments may trade on real venues (`session.mode = "live"`) at all. Off
    /// by default: with it off, every such deployment is refused (and audited) whatever
    /// its grant says.
    pub live_venues: bool,
    /// Seconds without a market event after which a live deployment's feed counts as stale
    /// and its trading goes REDUCING until data flows again.
    pub feed_stale_after_s: f64,
    /// The real venues deployments may trade on (`session.mode = "live"`), by the name
    /// requests and grants use, which is the venue's name in instrument ids (`BINANCE`):
    /// `[venues.BINANCE]` holds a venue configuration (docs/live.md, "Venues") naming
    /// where its keys are read from, never the keys themselves.
    pub venues: std::collections::BTreeMap<String, crate::nautilus::live::venue::VenueConfig>,
    /// How long a console sign-in lasts, in seconds (its cookie's `Max-Age`); revoking the
    /// token it was opened with ends it at once.
    pub console_session_s: u64,
    /// Mark the console's session cookie `Secure` (sent over HTTPS only). Set it whenever
    /// the service is reached over TLS (a terminating proxy in front of it).
    pub secure_cookies: bool,
    /// Backtest and sweep jobs run at a time (each on its own thread; a sweep runs its
    /// grid points on this many threads).
    pub job_workers: usize,
    /// Jobs that may wait for a worker; one more is refused with `job-queue-full` (429).
    pub job_queue: usize,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: "sqlite://stratbox.db".into(),
            state_dir: PathBuf::from("stratbox-state"),
            data_dir: PathBuf::from("data"),
            max_upload_bytes: crate::sandbox::MAX_COMPONENT_BYTES,
            max_json_bytes: 1 << 20,
            probation_events: 500,
            swap_timeout_ms: 30_000,
            json_logs: false,
            audit_key: None,
            auth_failures_per_window: 20,
            auth_failure_window_s: 60,
            live_venues: false,
            feed_stale_after_s: 60.0,
            venues: std::collections::BTreeMap::new(),
            console_session_s: 8 * 3600,
            secure_cookies: false,
            job_workers: 1,
            job_queue: 16,
        }
    }
}

/// The configuration file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Read(#[from] crate::storage::StorageError),
    /// Every problem of the file or the settings, one per line, each with its key.
    #[error("{0}")]
    Invalid(Problems),
}

/// The audit key's file name inside the state folder, unless `audit_key` says otherwise.
pub const AUDIT_KEY_FILE: &str = "audit-signing.key";

impl ServiceConfig {
    /// Where the audit signing key is.
    #[must_use]
    pub fn audit_key_path(&self) -> PathBuf {
        self.audit_key
            .clone()
            .unwrap_or_else(|| self.state_dir.join(AUDIT_KEY_FILE))
    }

    /// Defaults overlaid with the TOML file at `path` (unknown keys are refused).
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let bytes = crate::storage::read_operator_file(path, 1 << 20)?;
        let file = path.display().to_string();
        let mut problems = Problems::new();
        let Ok(text) = String::from_utf8(bytes) else {
            problems.push("", "not UTF-8");
            return Err(ConfigError::Invalid(problems.in_file(&file)));
        };
        toml::from_str(&text).map_err(|e| {
            problems.push_toml_error(&e, &text);
            ConfigError::Invalid(problems.in_file(&file))
        })
    }

    /// Refuses settings that cannot work; reports every one, each at its key.
    pub fn check(&self) -> Result<(), ConfigError> {
        let mut problems = Problems::new();
        if !(self.database_url.starts_with("sqlite:")
            || self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://"))
        {
            problems.push(
                "database_url",
                format!(
                    "`{}` is neither sqlite://<file> nor postgres://...",
                    super::db::redact(&self.database_url)
                ),
            );
        }
        for (key, value) in [
            ("max_upload_bytes", self.max_upload_bytes),
            ("max_json_bytes", self.max_json_bytes),
            (
                "auth_failures_per_window",
                self.auth_failures_per_window as usize,
            ),
            ("auth_failure_window_s", self.auth_failure_window_s as usize),
            ("console_session_s", self.console_session_s as usize),
        ] {
            if value == 0 {
                problems.push(key, "must be positive");
            }
        }
        if !(1..=256).contains(&self.job_workers) {
            problems.push("job_workers", "must be 1 to 256");
        }
        if self.job_queue > 10_000 {
            problems.push("job_queue", "must be at most 10000 (0: no job waits)");
        }
        if self.auth_failure_window_s > 86_400 {
            problems.push("auth_failure_window_s", "must be at most 86400 (one day)");
        }
        if self.console_session_s > 7 * 86_400 {
            problems.push("console_session_s", "must be at most 604800 (seven days)");
        }
        if !(self.feed_stale_after_s.is_finite() && self.feed_stale_after_s > 0.0) {
            problems.push("feed_stale_after_s", "must be a positive number of seconds");
        }
        for (name, venue) in &self.venues {
            let key = format!("venues.{name}");
            let expected = venue.venue.nautilus_venue();
            if name != expected {
                problems.push(
                    &key,
                    format!(
                        "a {} configuration is named for the venue in its instrument ids and grants: `[venues.{expected}]`",
                        String::from(venue.venue)
                    ),
                );
            }
            if let Err(e) = venue.validate() {
                problems.push(&key, e.to_string());
            }
        }
        problems.into_result().map_err(ConfigError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_container_config_parses_and_checks() {
        let c: ServiceConfig =
            toml::from_str(include_str!("../../../deploy/service.toml")).unwrap();
        c.check().unwrap();
        assert_eq!(c.listen.port(), 8080);
        assert!(c.database_url.starts_with("sqlite:///var/lib/stratbox/"));
    }

    #[test]
    fn unknown_keys_and_bad_urls_are_refused() {
        assert!(toml::from_str::<ServiceConfig>("listn = \"0.0.0.0:1\"").is_err());
        let c = ServiceConfig {
            database_url: "mysql://x".into(),
            ..ServiceConfig::default()
        };
        assert!(
            c.check()
                .unwrap_err()
                .to_string()
                .contains("neither sqlite")
        );
    }

    #[test]
    fn job_settings_are_checked() {
        let c = ServiceConfig {
            job_workers: 0,
            job_queue: 10_001,
            ..ServiceConfig::default()
        };
        let e = c.check().unwrap_err().to_string();
        assert_eq!(
            e,
            "job_workers: must be 1 to 256\njob_queue: must be at most 10000 (0: no job waits)"
        );
        let c: ServiceConfig = toml::from_str("job_workers = 2\njob_queue = 0\n").unwrap();
        c.check().unwrap();
    }

    #[test]
    fn every_bad_setting_is_reported_with_its_key() {
        let c = ServiceConfig {
            database_url: "mysql://x".into(),
            max_upload_bytes: 0,
            max_json_bytes: 0,
            ..ServiceConfig::default()
        };
        let e = c.check().unwrap_err().to_string();
        assert_eq!(
            e,
            "database_url: `mysql://x` is neither sqlite://<file> nor postgres://...\n\
             max_upload_bytes: must be positive\n\
             max_json_bytes: must be positive"
        );
    }

    #[test]
    fn venues_are_named_as_in_instrument_ids_and_hold_no_secret() {
        let c: ServiceConfig = toml::from_str(
            "live_venues = true\n[venues.BINANCE]\nvenue = \"binance-spot\"\nkeys = { file = \"/etc/stratbox/binance.toml\" }\n",
        )
        .unwrap();
        c.check().unwrap();
        assert_eq!(c.venues["BINANCE"].account_id, "BINANCE-001");
        let c: ServiceConfig =
            toml::from_str("[venues.binance]\nvenue = \"binance-spot\"\napi_secret = \"s3cret\"\n")
                .unwrap();
        let e = c.check().unwrap_err().to_string();
        assert!(e.contains("venues.binance: a binance-spot configuration is named for the venue in its instrument ids and grants: `[venues.BINANCE]`"), "{e}");
        assert!(e.contains("venues.binance: venue configuration: the API key and secret never go in a configuration"), "{e}");
        assert!(!e.contains("s3cret"), "{e}");
    }

    #[test]
    fn file_errors_name_the_file_and_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("service.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:1\"\nlistn = 1\n").unwrap();
        let e = ServiceConfig::from_file(&path).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!(
                "{}: line 2, column 1: unknown field `listn`",
                path.display()
            )),
            "{e}"
        );
    }

    #[test]
    fn compose_passes_the_variables_serve_reads() {
        let compose = include_str!("../../../docker-compose.yml");
        for var in ["DATABASE_URL", "STRATBOX_ADMIN_TOKEN", "/readyz"] {
            assert!(compose.contains(var), "docker-compose.yml lacks {var}");
        }
        let dockerfile = include_str!("../../../Dockerfile");
        for needle in [
            "deploy/service.toml",
            "STRATBOX_CONFIG",
            "STOPSIGNAL SIGTERM",
        ] {
            assert!(dockerfile.contains(needle), "Dockerfile lacks {needle}");
        }
    }
}
