//! The host service end to end, on 127.0.0.1:0 with SQLite (and PostgreSQL when
//! `STRATBOX_TEST_POSTGRES_URL` is set): upload, grant review, deploy ema-cross on replayed
//! GBP/USD, hot-swap to v2 with its EMA state, swap to a faulty v3 and roll back
//! automatically, halt, stop; the fills equal an unswapped run; the audit trail verifies
//! and `stratbox audit verify` catches an edited record.

#[allow(dead_code)] // only the PostgreSQL helper is used here
use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use stratbox::service::{Server, ServiceConfig, auth::Role};
use stratbox_artifacts as artifacts;

pub(crate) const POLICY: &str = r#"
version = "e2e"
currency = "USD"

[defaults]
max_order_quantity = "200000"
max_position = "300000"
allowed_instruments = ["GBP/USD.FXCM"]

[halt]
flatten = false
"#;

pub(crate) struct Api {
    base: String,
    agent: ureq::Agent,
}

impl Api {
    pub(crate) fn new(addr: std::net::SocketAddr) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        Self {
            base: format!("http://{addr}"),
            agent,
        }
    }

    pub(crate) fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let auth = token.map(|t| format!("Bearer {t}"));
        let resp = match (method, body) {
            ("GET", _) => {
                let mut r = self.agent.get(&url);
                if let Some(a) = &auth {
                    r = r.header("Authorization", a);
                }
                r.call()
            }
            ("DELETE", _) => {
                let mut r = self.agent.delete(&url);
                if let Some(a) = &auth {
                    r = r.header("Authorization", a);
                }
                r.call()
            }
            (m, body) => {
                let mut r = match m {
                    "POST" => self.agent.post(&url),
                    "PUT" => self.agent.put(&url),
                    other => panic!("method {other}"),
                };
                if let Some(a) = &auth {
                    r = r.header("Authorization", a);
                }
                r.send_json(body.unwrap_or(json!({})))
            }
        };
        let mut resp = resp.unwrap();
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// A token for `name` with `role`, issued through the API by `admin`.
    pub(crate) fn token(&self, admin: &str, name: &str, role: &str) -> String {
        let (s, v) = self.call(
            "POST",
            "/v1/tokens",
            Some(admin),
            Some(json!({ "name": name, "role": role })),
        );
        assert_eq!(s, 201, "{v}");
        v["token"].as_str().unwrap().to_string()
    }

    pub(crate) fn upload(&self, token: &str, path: &str) -> (u16, Value) {
        let bytes = std::fs::read(path).unwrap();
        let mut resp = self
            .agent
            .post(format!("{}/v1/plugins", self.base))
            .header("Authorization", format!("Bearer {token}"))
            .header("Content-Type", "application/wasm")
            .send(&bytes[..])
            .unwrap();
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap();
        (status, serde_json::from_str(&text).unwrap())
    }
}

fn data_dir() -> PathBuf {
    PathBuf::from(crate::fixtures::DATA)
}

pub(crate) fn config(tmp: &std::path::Path, database_url: String) -> ServiceConfig {
    ServiceConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url,
        state_dir: tmp.join("state"),
        data_dir: data_dir(),
        probation_events: 200,
        ..ServiceConfig::default()
    }
}

/// An admin token issued from the CLI side into `database_url`, signed with the key of the
/// service that [`config`] configures in `tmp`.
pub(crate) fn admin_token(tmp: &std::path::Path, database_url: &str) -> String {
    stratbox::service::create_token(
        database_url,
        &tmp.join("state/audit-signing.key"),
        "root",
        Role::Admin,
    )
    .unwrap()
}

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap()
}

/// Waits until `f` returns Some, or fails after `secs`.
pub(crate) fn wait_for<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub(crate) fn events(api: &Api, token: &str, dep: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let (s, v) = api.call(
            "GET",
            &format!("/v1/deployments/{dep}/events?after={after}&limit=10000"),
            Some(token),
            None,
        );
        assert_eq!(s, 200, "{v}");
        let page = v.as_array().unwrap().clone();
        if page.is_empty() {
            return all;
        }
        after = page.last().unwrap()["seq"].as_u64().unwrap();
        all.extend(page);
    }
}

fn fills(events: &[Value]) -> Vec<(String, String, String, u64)> {
    events
        .iter()
        .filter(|e| e["event"]["kind"] == "fill")
        .map(|e| {
            let f = &e["event"];
            (
                f["side"].as_str().unwrap().to_string(),
                f["price"].as_str().unwrap().to_string(),
                f["quantity"].as_str().unwrap().to_string(),
                f["ts_event"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn kind_seq(events: &[Value], kind: &str) -> Option<u64> {
    events
        .iter()
        .find(|e| e["event"]["kind"] == kind)
        .map(|e| e["seq"].as_u64().unwrap())
}

pub(crate) fn fed(api: &Api, token: &str, dep: &str) -> u64 {
    let (s, v) = api.call("GET", &format!("/v1/deployments/{dep}"), Some(token), None);
    assert_eq!(s, 200, "{v}");
    v["events_fed"].as_u64().unwrap()
}

pub(crate) fn session(speed: Value) -> Value {
    json!({
        "data": "fxcm/gbpusd-m1-bid-2012.csv",
        "format": "fxcm-quotes",
        "instrument": "GBP/USD.FXCM",
        "speed": speed,
    })
}

/// The two variants replay real time; run them one at a time so that neither starves the
/// other's sessions on a small machine.
pub(crate) static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A short account of a deployment's events, for failure messages.
pub(crate) fn story(api: &Api, token: &str, dep: &str) -> String {
    events(api, token, dep)
        .iter()
        .filter(|e| e["event"]["kind"] != "fill" && e["event"]["kind"] != "progress")
        .map(|e| e["event"].to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

fn end_to_end(database_url: String) {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let tmp = tempfile::tempdir().unwrap();
    let rt = runtime();
    let admin = admin_token(tmp.path(), &database_url);
    let server = rt
        .block_on(Server::start(config(tmp.path(), database_url.clone())))
        .unwrap();
    let api = Api::new(server.addr);

    // Tokens for every role, issued through the API.
    let token = |name: &str, role: &str| api.token(&admin, name, role);
    let author = token("ada", "author");
    let operator = token("otto", "operator");
    let auditor = token("aud", "auditor");

    // The live stream: an operator's WebSocket collects every session event; no token, no stream.
    let ws_url = format!("ws://{}/v1/stream", server.addr);
    let streamed = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Value>::new()));
    rt.block_on(async {
        let anonymous = tokio_tungstenite::connect_async(ws_url.as_str()).await;
        assert!(
            anonymous.is_err(),
            "a stream without a token must be refused"
        );
    });
    let ws = rt.block_on(async {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut req = ws_url.as_str().into_client_request().unwrap();
        req.headers_mut().insert(
            "Authorization",
            format!("Bearer {operator}").parse().unwrap(),
        );
        tokio_tungstenite::connect_async(req).await.unwrap().0
    });
    {
        let streamed = std::sync::Arc::clone(&streamed);
        rt.spawn(async move {
            use futures_util::StreamExt;
            let mut ws = ws;
            while let Some(Ok(msg)) = ws.next().await {
                if let tokio_tungstenite::tungstenite::Message::Text(t) = msg {
                    streamed
                        .lock()
                        .unwrap()
                        .push(serde_json::from_str(&t).unwrap());
                }
            }
        });
    }

    // A second watcher follows one deployment only (its id is known once it exists).
    let only_b = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Value>::new()));

    // Upload three versions of ema-cross.
    let (s, v1) = api.upload(&author, artifacts::EMA_CROSS);
    assert_eq!(s, 201, "{v1}");
    assert_eq!(
        (v1["name"].as_str(), v1["version"].as_str()),
        (Some("ema-cross"), Some("0.1.0"))
    );
    let (s, again) = api.upload(&author, artifacts::EMA_CROSS);
    assert_eq!(
        (s, &again["digest"]),
        (200, &v1["digest"]),
        "re-upload is idempotent"
    );
    let (s, v2) = api.upload(&author, artifacts::EMA_CROSS_V2);
    assert_eq!(s, 201, "{v2}");
    let (s, v3) = api.upload(&author, artifacts::HOSTILE_FAULTY_UPGRADE);
    assert_eq!(s, 201, "{v3}");
    let (s, refused) = api.upload(&author, artifacts::HOSTILE_WASI_FILESYSTEM);
    assert_eq!(s, 422, "{refused}");
    let digest = |v: &Value| v["digest"].as_str().unwrap().to_string();
    let (d1, d2, d3) = (digest(&v1), digest(&v2), digest(&v3));

    // Grant review: requested by the author, approved by the admin.
    let grant = json!({
        "digest": d1,
        "reason": "paper trading GBP/USD",
        "grant": { "capabilities": {
            "market-data": { "instruments": ["GBP/USD.FXCM"] },
            "risk-gate": { "instruments": ["GBP/USD.FXCM"] }
        } }
    });
    let (s, g) = api.call("POST", "/v1/grants", Some(&author), Some(grant));
    assert_eq!(s, 201, "{g}");
    assert_eq!(g["status"], "pending");
    assert!(
        g["diff"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["widens"] == true),
        "{g}"
    );
    let gid = g["id"].as_str().unwrap().to_string();
    let deploy = |speed: Value| {
        json!({ "plugin": d1, "grant": gid, "risk_policy": POLICY, "session": session(speed),
                "params": { "fast_period": "10", "slow_period": "20" } })
    };
    let (s, e) = api.call(
        "POST",
        "/v1/deployments",
        Some(&operator),
        Some(deploy(json!(40000.0))),
    );
    assert_eq!(
        (s, e["error"].as_str()),
        (409, Some("grant-not-approved")),
        "{e}"
    );
    let (s, e) = api.call(
        "POST",
        &format!("/v1/grants/{gid}/approve"),
        Some(&author),
        Some(json!({})),
    );
    assert_eq!(s, 403, "an author cannot approve: {e}");
    let (s, g) = api.call(
        "POST",
        &format!("/v1/grants/{gid}/approve"),
        Some(&admin),
        Some(json!({ "note": "ok" })),
    );
    assert_eq!((s, g["status"].as_str()), (200, Some("approved")), "{g}");

    // A: paced, swapped; B: the same version unswapped, as fast as possible.
    let (s, a) = api.call(
        "POST",
        "/v1/deployments",
        Some(&operator),
        Some(deploy(json!(40000.0))),
    );
    assert_eq!(s, 201, "{a}");
    let (s, b) = api.call(
        "POST",
        "/v1/deployments",
        Some(&operator),
        Some(deploy(json!("max"))),
    );
    assert_eq!(s, 201, "{b}");
    let (a, b) = (
        a["id"].as_str().unwrap().to_string(),
        b["id"].as_str().unwrap().to_string(),
    );
    {
        let only_b = std::sync::Arc::clone(&only_b);
        let url = format!("{ws_url}?deployment={b}");
        let token = operator.clone();
        let ws = rt.block_on(async move {
            use tokio_tungstenite::tungstenite::client::IntoClientRequest;
            let mut req = url.as_str().into_client_request().unwrap();
            req.headers_mut()
                .insert("Authorization", format!("Bearer {token}").parse().unwrap());
            tokio_tungstenite::connect_async(req).await.unwrap().0
        });
        rt.spawn(async move {
            use futures_util::StreamExt;
            let mut ws = ws;
            while let Some(Ok(msg)) = ws.next().await {
                if let tokio_tungstenite::tungstenite::Message::Text(t) = msg {
                    only_b
                        .lock()
                        .unwrap()
                        .push(serde_json::from_str(&t).unwrap());
                }
            }
        });
    }

    wait_for(120, "3000 events in A", || {
        (fed(&api, &operator, &a) >= 3000).then_some(())
    });
    // A swap under a wider grant waits for its approval.
    let wider = json!({
        "digest": d2,
        "reason": "v2 may also trade EUR/USD",
        "grant": { "capabilities": {
            "market-data": { "instruments": ["GBP/USD.FXCM", "EUR/USD.SIM"] },
            "risk-gate": { "instruments": ["GBP/USD.FXCM", "EUR/USD.SIM"] }
        } }
    });
    let (s, w) = api.call("POST", "/v1/grants", Some(&author), Some(wider));
    assert_eq!(s, 201, "{w}");
    assert!(
        w["diff"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["widens"] == true && c["what"] == "instruments"),
        "{w}"
    );
    let (s, e) = api.call(
        "PUT",
        &format!("/v1/deployments/{a}/plugin"),
        Some(&operator),
        Some(json!({ "plugin": d2, "grant": w["id"] })),
    );
    assert_eq!(
        (s, e["error"].as_str()),
        (409, Some("grant-not-approved")),
        "{e}"
    );
    assert!(
        e["details"]["diff"].is_array(),
        "the refusal shows the diff: {e}"
    );
    // A grant covers one upload: v2 does not run under v1's grant.
    let (s, e) = api.call(
        "PUT",
        &format!("/v1/deployments/{a}/plugin"),
        Some(&operator),
        Some(json!({ "plugin": d2 })),
    );
    assert_eq!(
        (s, e["error"].as_str()),
        (409, Some("grant-required")),
        "{e}"
    );
    let (s, e) = api.call(
        "PUT",
        &format!("/v1/deployments/{a}/plugin"),
        Some(&operator),
        Some(json!({ "plugin": d2, "grant": gid })),
    );
    assert_eq!(
        (s, e["error"].as_str()),
        (409, Some("grant-mismatch")),
        "{e}"
    );
    // The same scope as v1's, for v2 and for v3, reviewed and approved.
    let approved_for = |digest: &str, why: &str| {
        let (s, g) = api.call(
            "POST",
            "/v1/grants",
            Some(&author),
            Some(
                json!({ "digest": digest, "reason": why, "grant": { "capabilities": {
                "market-data": { "instruments": ["GBP/USD.FXCM"] },
                "risk-gate": { "instruments": ["GBP/USD.FXCM"] }
            } } }),
            ),
        );
        assert_eq!(s, 201, "{g}");
        assert_eq!(g["digest"].as_str(), Some(digest), "{g}");
        let (s, g) = api.call(
            "POST",
            &format!("/v1/grants/{}/approve", g["id"].as_str().unwrap()),
            Some(&admin),
            Some(json!({ "note": "same scope" })),
        );
        assert_eq!(s, 200, "{g}");
    };
    approved_for(&d2, "v2, same scope");
    approved_for(&d3, "v3, same scope");
    let (s, sw) = api.call(
        "PUT",
        &format!("/v1/deployments/{a}/plugin"),
        Some(&operator),
        Some(json!({ "plugin": d2 })),
    );
    assert_eq!(s, 200, "{sw}\n{}", story(&api, &operator, &a));
    assert!(sw["state_bytes"].as_u64().unwrap() > 0, "{sw}");
    assert_eq!(sw["from"].as_str(), Some(d1.as_str()));
    wait_for(120, "v2 to pass probation", || {
        kind_seq(&events(&api, &operator, &a), "committed")
    });
    let at = fed(&api, &operator, &a);
    wait_for(120, "2000 more events", || {
        (fed(&api, &operator, &a) >= at + 2000).then_some(())
    });

    let (s, sw) = api.call(
        "PUT",
        &format!("/v1/deployments/{a}/plugin"),
        Some(&operator),
        Some(json!({ "plugin": d3 })),
    );
    assert_eq!(
        s,
        200,
        "v3 restores fine, then faults on probation: {sw}\n{}",
        story(&api, &operator, &a)
    );
    let rolled = wait_for(60, "the rollback", || {
        events(&api, &operator, &a)
            .into_iter()
            .find(|e| e["event"]["kind"] == "rolled-back")
    });
    assert_eq!(
        rolled["event"]["to_sha256"].as_str(),
        Some(d2.as_str()),
        "{rolled}"
    );
    assert_eq!(rolled["event"]["state"], "latest", "{rolled}");
    let (_, view) = api.call("GET", &format!("/v1/deployments/{a}"), Some(&auditor), None);
    assert_eq!(view["digest"].as_str(), Some(d2.as_str()), "{view}");
    let at = fed(&api, &operator, &a);
    wait_for(120, "2000 events after the rollback", || {
        (fed(&api, &operator, &a) >= at + 2000).then_some(())
    });

    let (s, h) = api.call(
        "POST",
        &format!("/v1/deployments/{a}/halt"),
        Some(&operator),
        Some(json!({ "reason": "e2e" })),
    );
    assert_eq!(
        (s, h["trading_state"].as_str()),
        (200, Some("HALTED")),
        "{h}"
    );
    let (s, out) = api.call(
        "DELETE",
        &format!("/v1/deployments/{a}"),
        Some(&operator),
        None,
    );
    assert_eq!(s, 200, "{out}");
    assert!(out["snapshot"]["bytes"].as_u64().unwrap() > 0, "{out}");
    wait_for(300, "B to finish", || {
        let (_, v) = api.call(
            "GET",
            &format!("/v1/deployments/{b}"),
            Some(&operator),
            None,
        );
        (v["status"] == "finished").then_some(())
    });

    // Same decisions as the unswapped run: A's fills are B's up to the halt.
    let ea = events(&api, &operator, &a);
    let eb = events(&api, &operator, &b);
    let (fa, fb) = (fills(&ea), fills(&eb));
    assert!(
        fb.len() > fa.len() && fa.len() > 10,
        "A {} fills, B {}",
        fa.len(),
        fb.len()
    );
    assert_eq!(fa, fb[..fa.len()], "the swapped run decided differently");
    let swapped = kind_seq(&ea, "swapped").unwrap();
    let rolled = kind_seq(&ea, "rolled-back").unwrap();
    assert!(
        ea.iter()
            .any(|e| e["event"]["kind"] == "fill" && e["seq"].as_u64() > Some(swapped)),
        "no fill after the swap"
    );
    assert!(
        ea.iter()
            .any(|e| e["event"]["kind"] == "fill" && e["seq"].as_u64() > Some(rolled)),
        "no fill after the rollback"
    );

    // The stream saw A's session as it happened.
    let kinds: Vec<String> = streamed
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e["deployment"] == a.as_str())
        .map(|e| e["event"]["kind"].as_str().unwrap_or_default().to_string())
        .collect();
    for want in [
        "fill",
        "progress",
        "swapped",
        "committed",
        "fault",
        "rolled-back",
        "ended",
    ] {
        assert!(
            kinds.iter().any(|k| k == want),
            "no `{want}` on the stream: {kinds:?}"
        );
    }

    // The filtered watcher saw B's events and nothing of A's.
    {
        let seen = only_b.lock().unwrap();
        assert!(!seen.is_empty(), "B's stream is empty");
        assert!(
            seen.iter().all(|e| e["deployment"] == b.as_str()),
            "another deployment's event leaked"
        );
    }

    // Metrics and the audit trail.
    let (s, m) = api.call("GET", "/metrics", None, None);
    assert_eq!(s, 200);
    let m = m.as_str().unwrap().to_string();
    for name in [
        "stratbox_swap_pause_seconds",
        "stratbox_plugin_callbacks_total",
        "stratbox_fills_total",
        "stratbox_swap_rollbacks_total",
    ] {
        assert!(m.contains(name), "{name} missing from /metrics");
    }
    // Refused requests are audited as one summary per address and window: write it now.
    assert!(rt.block_on(server.state.flush_auth_failures()).unwrap() >= 1);
    let (s, v) = api.call("GET", "/v1/audit/verify", Some(&auditor), None);
    assert_eq!(s, 200, "{v}");
    let (_, trail) = api.call("GET", "/v1/audit?limit=10000", Some(&auditor), None);
    let actions: Vec<&str> = trail
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    for want in [
        "grant-requested",
        "grant-approved",
        "deployed",
        "deploy-refused",
        "plugin-swapped",
        "swap-committed",
        "plugin-quarantined",
        "swap-rolled-back",
        "trading-state-changed",
        "deployment-stopped",
        "auth-failed",
    ] {
        assert!(
            actions.contains(&want),
            "no `{want}` in the audit trail: {actions:?}"
        );
    }
    // Graceful shutdown with a session running: its state is snapshotted and audited.
    let (s, c) = api.call(
        "POST",
        "/v1/deployments",
        Some(&operator),
        Some(deploy(json!(40000.0))),
    );
    assert_eq!(s, 201, "{c}");
    let c = c["id"].as_str().unwrap().to_string();
    wait_for(120, "C to start", || {
        (fed(&api, &operator, &c) >= 500).then_some(())
    });
    rt.block_on(server.shutdown());
    let snapshot = tmp.path().join(format!("state/snapshots/{c}.state"));
    assert!(
        std::fs::metadata(&snapshot).unwrap().len() > 0,
        "no snapshot at {}",
        snapshot.display()
    );

    let public_key = tmp.path().join("state/audit-signing.key.pub");
    let verify = |url: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_stratbox"))
            .args(["audit", "verify", "--database-url", url, "--public-key"])
            .arg(&public_key)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (code, text) = verify(&database_url);
    assert_eq!(code, Some(0), "{text}");
    // Edit one record in the database: the chain no longer verifies.
    rt.block_on(async {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&database_url).await.unwrap();
        sqlx::query("UPDATE audit SET actor = 'mallory' WHERE seq = 3")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    });
    let (code, text) = verify(&database_url);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("seq 3") && text.contains("edited"), "{text}");
}

#[test]
fn end_to_end_on_sqlite() {
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", tmp.path().join("stratbox.db").display());
    end_to_end(url);
}

#[test]
fn end_to_end_on_postgres() {
    let Some(url) = crate::fixtures::postgres_url() else {
        return;
    };
    // A fresh database per run.
    let name = format!("stratbox_svc_{}", std::process::id());
    let rt = runtime();
    rt.block_on(async {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name}"
        )))
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    });
    let base = url.rsplit_once('/').unwrap().0;
    end_to_end(format!("{base}/{name}"));
}
