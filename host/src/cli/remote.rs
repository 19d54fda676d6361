//! CLI commands that mirror the service API: `upload`, `deploy`, `swap`, `grants`, and
//! `halt`/`resume --deployment`. Each sends one request and prints the JSON answer; an
//! error answer prints its message and exits 2.

use std::path::PathBuf;

use clap::{Args as ClapArgs, Subcommand};
use serde_json::{Value, json};

use super::fail;

/// Where the service is and who is asking.
#[derive(Debug, Clone, ClapArgs)]
pub struct Conn {
    /// Base URL of `stratbox serve`.
    #[arg(long, env = "STRATBOX_SERVER", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// API token (see `stratbox tokens create`).
    #[arg(long, env = "STRATBOX_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

impl Conn {
    fn send(&self, method: &str, path: &str, body: Option<Body>) -> Result<Value, String> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let url = format!("{}{path}", self.server.trim_end_matches('/'));
        let token = self
            .token
            .as_deref()
            .ok_or("--token (or STRATBOX_TOKEN) is required")?;
        let auth = format!("Bearer {token}");
        let result = match (method, body) {
            ("GET", _) => agent.get(&url).header("Authorization", &auth).call(),
            (m, Some(Body::Json(v))) => {
                let r = if m == "PUT" {
                    agent.put(&url)
                } else {
                    agent.post(&url)
                };
                r.header("Authorization", &auth).send_json(v)
            }
            (_, Some(Body::Wasm(bytes))) => agent
                .post(&url)
                .header("Authorization", &auth)
                .header("Content-Type", "application/wasm")
                .send(&bytes[..]),
            (_, None) => agent
                .post(&url)
                .header("Authorization", &auth)
                .send_json(json!({})),
        };
        let mut resp = result.map_err(|e| format!("{url}: {e}"))?;
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .read_to_string()
            .map_err(|e| format!("{url}: {e}"))?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if status >= 400 {
            let message = value["message"]
                .as_str()
                .map_or_else(|| value.to_string(), str::to_string);
            return Err(format!(
                "{status} {}: {message}",
                value["error"].as_str().unwrap_or("error")
            ));
        }
        Ok(value)
    }
}

enum Body {
    Json(Value),
    Wasm(Vec<u8>),
}

fn print(result: Result<Value, String>) -> u8 {
    match result {
        Ok(v) => {
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            0
        }
        Err(e) => fail(e),
    }
}

fn read_json(path: &std::path::Path) -> Result<Value, String> {
    let bytes = crate::storage::read_operator_file(path, 1 << 20).map_err(|e| e.to_string())?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{}: not JSON: {e}", path.display()))
}

/// `stratbox upload <component>`.
#[derive(Debug, ClapArgs)]
pub struct UploadArgs {
    #[command(flatten)]
    pub conn: Conn,
    /// The component file.
    pub component: PathBuf,
}

pub fn upload(a: &UploadArgs) -> u8 {
    let bytes = match crate::storage::read_operator_file(
        &a.component,
        crate::sandbox::MAX_COMPONENT_BYTES as u64,
    ) {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    print(a.conn.send("POST", "/v1/plugins", Some(Body::Wasm(bytes))))
}

/// `stratbox deploy <request.json>` (the body of POST /v1/deployments).
#[derive(Debug, ClapArgs)]
pub struct DeployArgs {
    #[command(flatten)]
    pub conn: Conn,
    pub request: PathBuf,
}

pub fn deploy(a: &DeployArgs) -> u8 {
    print(
        read_json(&a.request)
            .and_then(|v| a.conn.send("POST", "/v1/deployments", Some(Body::Json(v)))),
    )
}

/// `stratbox swap <deployment> --plugin <digest>`.
#[derive(Debug, ClapArgs)]
pub struct SwapArgs {
    #[command(flatten)]
    pub conn: Conn,
    pub deployment: String,
    /// Digest of the new version.
    #[arg(long)]
    pub plugin: String,
    /// An approved grant to run it under (needed when it asks for more).
    #[arg(long)]
    pub grant: Option<String>,
    #[arg(long)]
    pub probation_events: Option<u64>,
}

pub fn swap(a: &SwapArgs) -> u8 {
    let body =
        json!({ "plugin": a.plugin, "grant": a.grant, "probation_events": a.probation_events });
    print(a.conn.send(
        "PUT",
        &format!("/v1/deployments/{}/plugin", a.deployment),
        Some(Body::Json(body)),
    ))
}

#[derive(Debug, Subcommand)]
pub enum Grants {
    /// List every grant with its status and diff.
    Ls {
        #[command(flatten)]
        conn: Conn,
    },
    /// Request a grant for one uploaded component (`--digest`, or `--plugin` with
    /// `--version`): `--file grant.json` holds {"capabilities": {...}, "limits": {...}}.
    /// A new upload under the same name needs its own grant.
    Request {
        #[command(flatten)]
        conn: Conn,
        /// sha256 digest of the component (as `stratbox upload` printed it).
        #[arg(long, required_unless_present = "version")]
        digest: Option<String>,
        /// Manifest name (with --version instead of --digest).
        #[arg(long, requires = "version")]
        plugin: Option<String>,
        /// Manifest version, resolved to its digest when the grant is requested.
        #[arg(long, requires = "plugin", conflicts_with = "digest")]
        version: Option<String>,
        #[arg(long)]
        file: PathBuf,
        #[arg(long)]
        reason: String,
    },
    /// Approve a pending grant (admin).
    Approve {
        #[command(flatten)]
        conn: Conn,
        id: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Reject a pending grant (admin).
    Reject {
        #[command(flatten)]
        conn: Conn,
        id: String,
        #[arg(long, default_value = "")]
        note: String,
    },
}

pub fn grants(which: Grants) -> u8 {
    match which {
        Grants::Ls { conn } => print(conn.send("GET", "/v1/grants", None)),
        Grants::Request {
            conn,
            digest,
            plugin,
            version,
            file,
            reason,
        } => print(read_json(&file).and_then(|grant| {
            conn.send(
                "POST",
                "/v1/grants",
                Some(Body::Json(json!({
                    "digest": digest, "plugin": plugin, "version": version,
                    "grant": grant, "reason": reason,
                }))),
            )
        })),
        Grants::Approve { conn, id, note } => print(conn.send(
            "POST",
            &format!("/v1/grants/{id}/approve"),
            Some(Body::Json(json!({ "note": note }))),
        )),
        Grants::Reject { conn, id, note } => print(conn.send(
            "POST",
            &format!("/v1/grants/{id}/reject"),
            Some(Body::Json(json!({ "note": note }))),
        )),
    }
}

/// `halt`/`resume --deployment <id>`: through the service.
pub fn trading(conn: &Conn, deployment: &str, reason: &str, halt: bool) -> u8 {
    let verb = if halt { "halt" } else { "resume" };
    print(conn.send(
        "POST",
        &format!("/v1/deployments/{deployment}/{verb}"),
        Some(Body::Json(json!({ "reason": reason }))),
    ))
}

/// `halt`/`resume --all --server <url>`: every deployment of the service.
pub fn service_trading(conn: &Conn, reason: &str, halt: bool) -> u8 {
    let verb = if halt { "halt" } else { "resume" };
    print(conn.send(
        "POST",
        &format!("/v1/{verb}"),
        Some(Body::Json(json!({ "reason": reason }))),
    ))
}

/// `stratbox backtest --server <URL>`: the run as a service job. Uploads the component if
/// the service does not have it, posts the job, polls it every 500 ms (progress on
/// stdout), then prints its summary and where its report is (and saves `report.json`
/// into `--report` if given). Exit 0 only if the job finished.
pub(crate) fn backtest_job(args: &super::backtest::Args) -> u8 {
    match backtest_job_inner(args) {
        Ok(code) => code,
        Err(e) => fail(e),
    }
}

fn backtest_job_inner(args: &super::backtest::Args) -> Result<u8, String> {
    let conn = Conn {
        server: args.server.clone().unwrap_or_default(),
        token: args.token.clone(),
    };
    let [plugin] = args.plugins.as_slice() else {
        return Err("--server runs one --plugin per job".into());
    };
    let digest = remote_plugin(&conn, plugin)?;
    let under_data = |p: &std::path::Path| {
        let text = p.to_string_lossy().into_owned();
        text.strip_prefix("data/")
            .map_or(text.clone(), str::to_string)
    };
    let mut body = json!({
        "plugin": digest,
        "params": args.params.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
    });
    match &args.catalog {
        Some(c) => {
            body["catalog"] = json!(under_data(c));
            body["dataset"] = json!(args.kind.map(crate::names::Named::name));
            body["start"] = json!(args.from.map(|t| t.to_string()));
            body["end"] = json!(args.to.map(|t| t.to_string()));
        }
        None => {
            body["data"] = json!(under_data(&args.data));
            body["format"] = json!(crate::names::Named::name(args.format));
        }
    }
    body["instrument"] = json!(args.instrument);
    body["bar_type"] = json!(args.bar_type);
    body["balance"] = json!(args.balance);
    if let Some(path) = &args.risk {
        let bytes = crate::storage::read_operator_file(path, 1 << 20).map_err(|e| e.to_string())?;
        let text =
            String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8", path.display()))?;
        body["risk_policy"] = json!(text);
    }
    // Absent, not null: the service refuses fields it does not know, not empty ones.
    if let Some(o) = body.as_object_mut() {
        o.retain(|_, v| !v.is_null());
    }
    let job = conn.send("POST", "/v1/backtests", Some(Body::Json(body)))?;
    let id = job["id"]
        .as_str()
        .ok_or("the service answered without a job id")?
        .to_string();
    println!("job {id} queued on {}", conn.server);
    let mut last = (String::new(), u64::MAX);
    let view = loop {
        let v = conn.send("GET", &format!("/v1/backtests/{id}"), None)?;
        let status = v["status"].as_str().unwrap_or_default().to_string();
        let done = v["progress"]["done"].as_u64().unwrap_or_default();
        if (status.clone(), done) != last {
            println!(
                "job {id}: {status} {done}/{} events",
                v["progress"]["total"].as_u64().unwrap_or_default()
            );
            last = (status.clone(), done);
        }
        if !matches!(status.as_str(), "queued" | "running") {
            break v;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    };
    let status = view["status"].as_str().unwrap_or_default();
    if status != "finished" {
        let why = view["error"].as_str().unwrap_or("no reason given");
        eprintln!("error: job {id} {status}: {why}");
        return Ok(1);
    }
    let s = &view["summary"];
    let num = |v: &Value| {
        v.as_f64()
            .map_or_else(|| "n/a".to_string(), |x| format!("{x:.2}"))
    };
    println!(
        "backtest {id} finished: {} events, {} orders, {} fills, PnL {} {} (realized {}, unrealized {}), max drawdown {}%, Sharpe {}",
        s["events"],
        s["orders"],
        s["fills"],
        num(&s["pnl"]),
        s["currency"].as_str().unwrap_or_default(),
        num(&s["realized_pnl"]),
        num(&s["unrealized_pnl"]),
        num(&s["max_drawdown_pct"]),
        num(&s["sharpe"]),
    );
    if let Some(fault) = s["fault"].as_str() {
        println!("  the plugin faulted (quarantined): {fault}");
    }
    let base = conn.server.trim_end_matches('/');
    println!(
        "report: {base}/v1/backtests/{id}/report (chart: {base}/v1/backtests/{id}/report.html)"
    );
    if let Some(dir) = &args.report {
        let report = conn.send("GET", &format!("/v1/backtests/{id}/report"), None)?;
        let folder = crate::storage::create_dir(dir).map_err(|e| e.to_string())?;
        let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())? + "\n";
        crate::storage::write_atomic(&folder, "report.json", text.as_bytes())
            .map_err(|e| e.to_string())?;
        println!("saved: {}", dir.join("report.json").display());
    }
    Ok(0)
}

/// The digest of `--plugin` on the service: a digest as given, or a component file's
/// (uploaded first if the service does not have it).
fn remote_plugin(conn: &Conn, plugin: &str) -> Result<String, String> {
    let is_digest = plugin.len() == 64
        && plugin
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if is_digest {
        return Ok(plugin.to_string());
    }
    let path = super::backtest::plugin_path(plugin)?;
    let bytes =
        crate::storage::read_operator_file(&path, crate::sandbox::MAX_COMPONENT_BYTES as u64)
            .map_err(|e| e.to_string())?;
    let digest = crate::sandbox::sha256_hex(&bytes);
    match conn.send("GET", &format!("/v1/plugins/{digest}"), None) {
        Ok(_) => Ok(digest),
        Err(e) if e.starts_with("404 ") => {
            let stored = conn.send("POST", "/v1/plugins", Some(Body::Wasm(bytes)))?;
            println!(
                "uploaded {} ({} {})",
                path.display(),
                stored["name"].as_str().unwrap_or_default(),
                stored["version"].as_str().unwrap_or_default()
            );
            Ok(digest)
        }
        Err(e) => Err(e),
    }
}
