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
