//! The flood-and-halt phase of `stratbox bench api`: two paper deployments run while
//! `flood_clients` threads send unauthenticated requests (no token, or a forged one) as
//! fast as the service answers them, and an operator halts and resumes trading. Bounded:
//! the flood stops after the operator's last call, and each flood thread after at most
//! [`MAX_FLOOD_PER_CLIENT`] requests.

use std::{
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use serde::Serialize;
use serde_json::{Value, json};

/// The most requests one flood thread sends.
pub const MAX_FLOOD_PER_CLIENT: usize = 200_000;

const POLICY: &str = r#"
version = "bench-api"
currency = "USD"

[defaults]
max_order_quantity = "200000"
max_position = "300000"
allowed_instruments = ["GBP/USD.FXCM"]

[halt]
flatten = false
"#;

/// What to run.
#[derive(Debug, Clone)]
pub struct FloodConfig {
    /// The component deployed twice (ema-cross).
    pub plugin: PathBuf,
    /// The service's data folder.
    pub data_dir: PathBuf,
    /// The FXCM quotes file under `data_dir` the sessions replay.
    pub data: String,
    /// Replay speed of the sessions (× real time).
    pub speed: f64,
    /// Operator calls: halts and resumes, alternating.
    pub halts: usize,
    /// Threads flooding with unauthenticated requests.
    pub flood_clients: usize,
}

/// The figures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FloodFigures {
    pub deployments: usize,
    pub flood_clients: usize,
    pub flood_requests: usize,
    pub flood_seconds: f64,
    pub flood_requests_per_s: f64,
    /// Answered 401 (under the per-address rate).
    pub flood_401: usize,
    /// Answered 429 (over it).
    pub flood_429: usize,
    /// Any other answer, or no answer.
    pub flood_errors: usize,
    /// The route the operator called.
    pub halt_endpoint: String,
    pub halts: usize,
    pub halt_errors: usize,
    pub halt_p50_ms: f64,
    pub halt_p99_ms: f64,
    pub halt_max_ms: f64,
    /// Records in the audit trail after the run, its chain verified.
    pub audit_records: usize,
    pub audit_chain_valid: bool,
    /// `auth-failed` records among them (summaries, not one per refused request).
    pub auth_failed_records: usize,
}

/// The route of the operator's halt (or resume): the service-wide kill switch
/// (`POST /v1/halt`, `/v1/resume`; body `{"reason": ...}`), which stops every deployment.
#[must_use]
pub fn halt_route(halt: bool) -> &'static str {
    if halt { "/v1/halt" } else { "/v1/resume" }
}

/// One run against a started server.
#[derive(Debug)]
pub struct Flood<'a> {
    base: &'a str,
    admin: &'a str,
    operator: &'a str,
    config: &'a FloodConfig,
    agent: ureq::Agent,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

impl<'a> Flood<'a> {
    #[must_use]
    pub fn new(base: &'a str, admin: &'a str, operator: &'a str, config: &'a FloodConfig) -> Self {
        Self {
            base,
            admin,
            operator,
            config,
            agent: agent(),
        }
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), String> {
        let url = format!("{}{path}", self.base);
        let auth = format!("Bearer {token}");
        let resp = match method {
            "GET" => self.agent.get(&url).header("Authorization", &auth).call(),
            "DELETE" => self
                .agent
                .delete(&url)
                .header("Authorization", &auth)
                .call(),
            _ => self
                .agent
                .post(&url)
                .header("Authorization", &auth)
                .send_json(body.unwrap_or_else(|| json!({}))),
        };
        let mut resp = resp.map_err(|e| format!("{method} {path}: {e}"))?;
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        Ok((
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        ))
    }

    fn expect(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
        want: u16,
    ) -> Result<Value, String> {
        let (status, v) = self.call(method, path, token, body)?;
        if status == want {
            Ok(v)
        } else {
            Err(format!("{method} {path}: {status} {v}"))
        }
    }

    /// Uploads the plugin, has a grant approved and starts two paper deployments.
    fn deploy_two(&self) -> Result<Vec<String>, String> {
        let bytes = crate::storage::read_operator_file(
            &self.config.plugin,
            crate::sandbox::MAX_COMPONENT_BYTES as u64,
        )
        .map_err(|e| e.to_string())?;
        let mut resp = self
            .agent
            .post(format!("{}/v1/plugins", self.base))
            .header("Authorization", format!("Bearer {}", self.admin))
            .header("Content-Type", "application/wasm")
            .send(&bytes[..])
            .map_err(|e| format!("uploading {}: {e}", self.config.plugin.display()))?;
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        if !resp.status().is_success() {
            return Err(format!(
                "uploading {}: {} {text}",
                self.config.plugin.display(),
                resp.status()
            ));
        }
        let record: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        let digest = record["digest"].as_str().unwrap_or_default().to_string();
        let grant = json!({
            "digest": digest,
            "reason": "bench api: paper sessions under load",
            "grant": { "capabilities": {
                "market-data": { "instruments": ["GBP/USD.FXCM"] },
                "risk-gate": { "instruments": ["GBP/USD.FXCM"] }
            } }
        });
        let g = self.expect("POST", "/v1/grants", self.admin, Some(grant), 201)?;
        let gid = g["id"].as_str().unwrap_or_default().to_string();
        self.expect(
            "POST",
            &format!("/v1/grants/{gid}/approve"),
            self.admin,
            Some(json!({ "note": "bench" })),
            200,
        )?;
        let mut ids = Vec::new();
        for _ in 0..2 {
            let body = json!({
                "plugin": digest, "grant": gid, "risk_policy": POLICY,
                "session": { "data": self.config.data, "format": "fxcm-quotes",
                             "instrument": "GBP/USD.FXCM", "speed": self.config.speed },
            });
            let d = self.expect("POST", "/v1/deployments", self.operator, Some(body), 201)?;
            ids.push(d["id"].as_str().unwrap_or_default().to_string());
        }
        for id in &ids {
            let v = self.expect(
                "GET",
                &format!("/v1/deployments/{id}"),
                self.operator,
                None,
                200,
            )?;
            if v["status"] != "running" {
                return Err(format!("deployment {id} is not running: {v}"));
            }
        }
        Ok(ids)
    }

    /// Deploys, floods while halting and resuming, stops the deployments.
    pub fn run(&self) -> Result<FloodFigures, String> {
        let ids = self.deploy_two()?;
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let flooders: Vec<_> = (0..self.config.flood_clients.max(1))
            .map(|c| {
                let stop = Arc::clone(&stop);
                let url = format!("{}/v1/whoami", self.base);
                std::thread::spawn(move || {
                    let agent = agent();
                    let (mut n401, mut n429, mut errors) = (0_usize, 0_usize, 0_usize);
                    for i in 0..MAX_FLOOD_PER_CLIENT {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let mut r = agent.get(&url);
                        if (i + c) % 2 == 0 {
                            r = r.header("Authorization", "Bearer sbx_forged");
                        }
                        match r.call() {
                            Ok(mut resp) => {
                                let _ = resp.body_mut().read_to_vec();
                                match resp.status().as_u16() {
                                    401 => n401 += 1,
                                    429 => n429 += 1,
                                    _ => errors += 1,
                                }
                            }
                            Err(_) => errors += 1,
                        }
                    }
                    (n401, n429, errors)
                })
            })
            .collect();
        // Let the flood reach its rate (the first failures are under the budget).
        std::thread::sleep(Duration::from_millis(500));
        let mut latencies = Vec::with_capacity(self.config.halts);
        let mut halt_errors = 0;
        for i in 0..self.config.halts {
            let route = halt_route(i % 2 == 0);
            let t = Instant::now();
            let answer = self.call(
                "POST",
                route,
                self.operator,
                Some(json!({ "reason": "bench api" })),
            );
            latencies.push(t.elapsed().as_secs_f64() * 1e3);
            if !matches!(answer, Ok((200, _))) {
                halt_errors += 1;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        stop.store(true, Ordering::Relaxed);
        let flood_seconds = started.elapsed().as_secs_f64();
        let mut f = FloodFigures {
            deployments: ids.len(),
            flood_clients: self.config.flood_clients.max(1),
            flood_seconds,
            halt_endpoint: halt_route(true).to_string(),
            halts: self.config.halts,
            halt_errors,
            ..FloodFigures::default()
        };
        for t in flooders {
            match t.join() {
                Ok((a, b, e)) => {
                    f.flood_401 += a;
                    f.flood_429 += b;
                    f.flood_errors += e;
                }
                Err(_) => f.flood_errors += 1,
            }
        }
        f.flood_requests = f.flood_401 + f.flood_429 + f.flood_errors;
        f.flood_requests_per_s = f.flood_requests as f64 / flood_seconds.max(f64::MIN_POSITIVE);
        latencies.sort_by(f64::total_cmp);
        f.halt_p50_ms = super::percentile(&latencies, 0.5);
        f.halt_p99_ms = super::percentile(&latencies, 0.99);
        f.halt_max_ms = latencies.last().copied().unwrap_or(0.0);
        for id in &ids {
            self.expect(
                "DELETE",
                &format!("/v1/deployments/{id}"),
                self.operator,
                None,
                200,
            )?;
        }
        Ok(f)
    }
}

/// (records, chain valid, `auth-failed` records) of the stored audit trail.
pub fn audit_figures(database_url: &str) -> Result<(usize, bool, usize), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let pool = crate::service::db::open(database_url, 1)
            .await
            .map_err(|e| e.to_string())?;
        let records = crate::service::audit_store::records(&pool)
            .await
            .map_err(|e| e.to_string())?;
        pool.close().await;
        let failed = records
            .iter()
            .filter(|r| r.action == crate::audit::AuditAction::AuthFailed)
            .count();
        Ok((
            records.len(),
            crate::audit::verify(&records).is_ok(),
            failed,
        ))
    })
}
