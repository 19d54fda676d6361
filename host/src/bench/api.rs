//! `stratbox bench api`: a bounded load test of the service on loopback. `clients`
//! threads (each with its own keep-alive connection) send `requests` requests each to an
//! authenticated endpoint (`GET /v1/whoami`: token hash lookup in the database, role
//! check) and, as the baseline in the same run, to `GET /healthz` (no auth, no database).
//!
//! With a plugin ([`Config::flood`]), it then deploys two paper sessions and, while they
//! run, floods the service with unauthenticated requests while an operator halts and
//! resumes trading: the halt latency under the flood, the flood's answers (401, then 429
//! once over the per-address rate), and the audit chain verified afterwards ([`flood`]).

mod flood;

use std::time::{Duration, Instant};

use serde::Serialize;

pub use self::flood::{Flood, FloodConfig, FloodFigures};
use crate::service::{Server, ServiceConfig, auth::Role};

/// What to run.
#[derive(Debug, Clone)]
pub struct Config {
    pub clients: usize,
    pub requests: usize,
    /// `sqlite://...` in a temporary folder by default, or a PostgreSQL URL.
    pub database_url: Option<String>,
    /// The flood-and-halt phase; skipped when None.
    pub flood: Option<FloodConfig>,
}

/// One endpoint's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Load {
    pub endpoint: String,
    pub requests: usize,
    pub errors: usize,
    pub seconds: f64,
    pub requests_per_s: f64,
    pub p50_us: f64,
    pub p99_us: f64,
}

/// Both endpoints and their ratio.
#[derive(Debug, Clone, Serialize)]
pub struct ApiBench {
    pub clients: usize,
    pub authenticated: Load,
    pub baseline: Load,
    /// authenticated requests/s ÷ baseline requests/s.
    pub ratio: f64,
    /// The flood-and-halt phase, when asked for.
    pub flood: Option<FloodFigures>,
}

pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted
        .get(((sorted.len() as f64 - 1.0) * p) as usize)
        .copied()
        .unwrap_or(0.0)
}

fn hammer(base: &str, path: &str, token: Option<&str>, clients: usize, requests: usize) -> Load {
    let started = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let url = format!("{base}{path}");
            let auth = token.map(|t| format!("Bearer {t}"));
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(Duration::from_secs(30)))
                    .build()
                    .into();
                let mut lat = Vec::with_capacity(requests);
                let mut errors = 0;
                for _ in 0..requests {
                    let t = Instant::now();
                    let mut r = agent.get(&url);
                    if let Some(a) = &auth {
                        r = r.header("Authorization", a);
                    }
                    match r.call() {
                        Ok(mut resp) if resp.status().is_success() => {
                            let _ = resp.body_mut().read_to_vec();
                        }
                        _ => errors += 1,
                    }
                    lat.push(t.elapsed().as_secs_f64() * 1e6);
                }
                (lat, errors)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut errors = 0;
    for t in threads {
        match t.join() {
            Ok((lat, e)) => {
                all.extend(lat);
                errors += e;
            }
            Err(_) => errors += requests,
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    let pick = |p: f64| percentile(&all, p);
    Load {
        endpoint: path.to_string(),
        requests: clients * requests,
        errors,
        seconds,
        requests_per_s: (clients * requests) as f64 / seconds,
        p50_us: pick(0.5),
        p99_us: pick(0.99),
    }
}

/// Runs the load test against a fresh in-process server on 127.0.0.1.
pub fn run(config: &Config) -> Result<ApiBench, String> {
    let (parent, name) = scratch_dir()?;
    let tmp = std::env::temp_dir().join(&name);
    let url = config
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", tmp.join("bench.db").display()));
    let key = tmp.join("state/audit-signing.key");
    let token = crate::service::create_token(&url, &key, "bench", Role::Operator)
        .map_err(|e| e.to_string())?;
    let admin = match &config.flood {
        Some(_) => Some(
            crate::service::create_token(&url, &key, "bench-admin", Role::Admin)
                .map_err(|e| e.to_string())?,
        ),
        None => None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let server = runtime
        .block_on(Server::start(ServiceConfig {
            listen: "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?,
            database_url: url.clone(),
            state_dir: tmp.join("state"),
            data_dir: config
                .flood
                .as_ref()
                .map_or_else(|| tmp.clone(), |f| f.data_dir.clone()),
            ..ServiceConfig::default()
        }))
        .map_err(|e| e.to_string())?;
    let base = format!("http://{}", server.addr);
    let clients = config.clients.max(1);
    // Warm-up, then baseline and authenticated, baseline again; the better baseline counts.
    let _ = hammer(&base, "/healthz", None, clients, 50);
    let b1 = hammer(&base, "/healthz", None, clients, config.requests);
    let authed = hammer(&base, "/v1/whoami", Some(&token), clients, config.requests);
    let b2 = hammer(&base, "/healthz", None, clients, config.requests);
    let baseline = if b1.requests_per_s >= b2.requests_per_s {
        b1
    } else {
        b2
    };
    let flood = match (&config.flood, &admin) {
        (Some(fc), Some(admin)) => {
            let run = Flood::new(&base, admin, &token, fc);
            let outcome = run.run();
            runtime.block_on(server.shutdown());
            let mut figures = outcome?;
            // The chain as stored, read back after the shutdown wrote the last summaries.
            (
                figures.audit_records,
                figures.audit_chain_valid,
                figures.auth_failed_records,
            ) = flood::audit_figures(&url)?;
            Some(figures)
        }
        _ => {
            runtime.block_on(server.shutdown());
            None
        }
    };
    let _ = parent.remove_dir_all(&name);
    let ratio = authed.requests_per_s / baseline.requests_per_s.max(f64::MIN_POSITIVE);
    Ok(ApiBench {
        clients,
        authenticated: authed,
        baseline,
        ratio,
        flood,
    })
}

/// A fresh folder in the system's temporary folder, created through its cap-std handle:
/// (the handle, the folder's name).
fn scratch_dir() -> Result<(cap_std::fs::Dir, String), String> {
    let mut b = [0_u8; 6];
    getrandom::fill(&mut b).map_err(|e| e.to_string())?;
    let name = format!("stratbox-bench-api-{}", hex::encode(b));
    let parent = crate::storage::open_dir(&std::env::temp_dir()).map_err(|e| e.to_string())?;
    parent
        .create_dir(&name)
        .map_err(|e| format!("{}: {e}", std::env::temp_dir().join(&name).display()))?;
    Ok((parent, name))
}
