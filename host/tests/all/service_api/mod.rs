//! The API's access matrix, walked exhaustively (every endpoint × every role, and no
//! token), and its handling of bad input: malformed JSON, unknown fields, oversized
//! bodies, wrong content types and unknown routes all get a 4xx with a JSON error.

use std::time::Duration;

use serde_json::{Value, json};
use stratbox::service::{
    Server, ServiceConfig,
    auth::{Access, ROUTES, Role},
};

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// Sends `method path` with an empty JSON object (or nothing for GET/DELETE).
fn send(
    agent: &ureq::Agent,
    base: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
) -> (u16, String) {
    let url = format!("{base}{path}");
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut resp = match method {
        "GET" | "DELETE" => {
            let mut r = if method == "GET" {
                agent.get(&url)
            } else {
                agent.delete(&url)
            };
            if let Some(a) = &auth {
                r = r.header("Authorization", a);
            }
            r.call().unwrap()
        }
        _ => {
            let mut r = match method {
                "POST" => agent.post(&url),
                "PUT" => agent.put(&url),
                m => panic!("{m}"),
            };
            if let Some(a) = &auth {
                r = r.header("Authorization", a);
            }
            r.header("Content-Type", "application/json")
                .send("{}")
                .unwrap()
        }
    };
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_to_string().unwrap_or_default())
}

fn concrete(template: &str) -> String {
    template
        .replace("{digest}", &"0".repeat(64))
        .replace("{id}", "does-not-exist")
        .replace("{name}", "nobody")
}

struct Fixture {
    tmp: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
    server: Option<Server>,
    base: String,
    tokens: Vec<(Role, String)>,
}

fn start(config: impl FnOnce(&mut ServiceConfig)) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", tmp.path().join("s.db").display());
    let tokens: Vec<(Role, String)> = Role::ALL
        .into_iter()
        .map(|r| {
            (
                r,
                stratbox::service::create_token(
                    &url,
                    &tmp.path().join("state/audit-signing.key"),
                    r.name(),
                    r,
                )
                .unwrap(),
            )
        })
        .collect();
    let mut c = ServiceConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: url,
        state_dir: tmp.path().join("state"),
        data_dir: tmp.path().to_path_buf(),
        ..ServiceConfig::default()
    };
    config(&mut c);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(Server::start(c)).unwrap();
    let base = format!("http://{}", server.addr);
    Fixture {
        tmp,
        rt,
        server: Some(server),
        base,
        tokens,
    }
}

impl Fixture {
    /// Audits the pending authentication-failure summaries now (the server does it every
    /// window and at shutdown).
    fn flush_auth_failures(&self) -> usize {
        let state = &self.server.as_ref().unwrap().state;
        self.rt.block_on(state.flush_auth_failures()).unwrap()
    }

    fn token(&self, role: Role) -> &str {
        &self.tokens.iter().find(|(r, _)| *r == role).unwrap().1
    }

    fn audit_trail(&self) -> Vec<Value> {
        let (status, body) = send(
            &agent(),
            &self.base,
            "GET",
            "/v1/audit?limit=10000",
            Some(self.token(Role::Auditor)),
        );
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            self.rt.block_on(s.shutdown());
        }
    }
}

fn assert_json_error(status: u16, body: &str, context: &str) {
    let v: Value =
        serde_json::from_str(body).unwrap_or_else(|_| panic!("{context}: not JSON: {body}"));
    assert!(
        v["error"].is_string() && v["message"].is_string(),
        "{context}: {body}"
    );
    assert!((400..500).contains(&status), "{context}: status {status}");
}

#[test]
fn every_endpoint_answers_every_role_as_the_matrix_says() {
    // A budget above this test's failures: every refusal here is a 401/403, not a 429.
    let f = start(|c| c.auth_failures_per_window = 10_000);
    let agent = agent();
    let mut checked = 0;
    for (method, template, access) in ROUTES {
        let path = concrete(template);
        let (status, body) = send(&agent, &f.base, method, &path, None);
        match access {
            Access::Public => assert!(
                status != 401 && status != 403,
                "{method} {template} is public: {status} {body}"
            ),
            Access::Roles(_) => {
                assert_eq!(status, 401, "{method} {template} without a token: {body}");
                assert_json_error(status, &body, &format!("{method} {template}"));
            }
        }
        for (role, token) in &f.tokens {
            let (status, body) = send(&agent, &f.base, method, &path, Some(token));
            let allowed = match access {
                Access::Public => true,
                Access::Roles(roles) => roles.contains(role),
            };
            if allowed {
                assert!(
                    status != 401 && status != 403,
                    "{method} {template} as {role:?}: {status} {body}"
                );
            } else {
                assert_eq!(status, 403, "{method} {template} as {role:?}: {body}");
                assert_json_error(status, &body, &format!("{method} {template} as {role:?}"));
                assert!(
                    body.contains(role.name()),
                    "the refusal names the role: {body}"
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, ROUTES.len() * 4);
    // A bad token is a 401, like none.
    let (status, body) = send(&agent, &f.base, "GET", "/v1/whoami", Some("sbx_forged"));
    assert_eq!(status, 401, "{body}");
    // Every refusal above is counted in the audit trail: one summary for this address.
    f.flush_auth_failures();
    let auditor = &f
        .tokens
        .iter()
        .find(|(r, _)| *r == Role::Auditor)
        .unwrap()
        .1;
    let (status, body) = send(
        &agent,
        &f.base,
        "GET",
        "/v1/audit?limit=10000",
        Some(auditor),
    );
    assert_eq!(status, 200);
    let trail: Vec<Value> = serde_json::from_str(&body).unwrap();
    let summaries: Vec<&Value> = trail
        .iter()
        .filter(|r| r["action"] == "auth-failed")
        .collect();
    assert_eq!(
        summaries.len(),
        1,
        "one summary per address and window: {summaries:?}"
    );
    let summary = &summaries[0]["details"];
    assert_eq!(summary["address"], "127.0.0.1", "{summary}");
    assert_eq!(summary["limited"], 0, "{summary}");
    let denied = summary["failures"].as_u64().unwrap() as usize;
    let expected_denials: usize = ROUTES
        .iter()
        .map(|(.., a)| match a {
            Access::Public => 0,
            Access::Roles(roles) => 1 + (4 - roles.len()),
        })
        .sum::<usize>()
        + 1;
    assert_eq!(denied, expected_denials, "every refused request is counted");
    let (status, metrics) = send(&agent, &f.base, "GET", "/metrics", None);
    assert_eq!(status, 200);
    assert!(
        metrics.contains("stratbox_http_requests_total{method=\"GET\",status=\"403\"}"),
        "{metrics}"
    );
}

#[test]
fn bad_input_gets_a_json_4xx() {
    let f = start(|c| {
        c.max_json_bytes = 4096;
        c.max_upload_bytes = 64 * 1024;
    });
    let agent = agent();
    let admin = &f.tokens.iter().find(|(r, _)| *r == Role::Admin).unwrap().1;
    let post = |path: &str, ctype: &str, body: Vec<u8>| {
        let mut resp = agent
            .post(format!("{}{path}", f.base))
            .header("Authorization", format!("Bearer {admin}"))
            .header("Content-Type", ctype)
            .send(&body[..])
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.body_mut().read_to_string().unwrap_or_default())
    };
    let cases: Vec<(&str, &str, &str, Vec<u8>, u16)> = vec![
        (
            "malformed JSON",
            "/v1/grants",
            "application/json",
            b"{\"plugin\": ".to_vec(),
            400,
        ),
        (
            "unknown field",
            "/v1/tokens",
            "application/json",
            br#"{"name":"x","role":"admin","superuser":true}"#.to_vec(),
            400,
        ),
        (
            "wrong type",
            "/v1/tokens",
            "application/json",
            br#"{"name":"x","role":"root"}"#.to_vec(),
            400,
        ),
        (
            "missing field",
            "/v1/deployments",
            "application/json",
            br#"{"plugin":"x"}"#.to_vec(),
            400,
        ),
        (
            "not JSON content type",
            "/v1/tokens",
            "text/plain",
            br#"{"name":"x","role":"admin"}"#.to_vec(),
            415,
        ),
        (
            "oversized JSON",
            "/v1/signals",
            "application/json",
            format!("[{}]", "1,".repeat(10_000) + "1").into_bytes(),
            413,
        ),
        (
            "oversized upload",
            "/v1/plugins",
            "application/wasm",
            vec![0_u8; 200 * 1024],
            413,
        ),
        (
            "garbage component",
            "/v1/plugins",
            "application/wasm",
            b"not a component".to_vec(),
            422,
        ),
        (
            "empty upload",
            "/v1/plugins",
            "application/wasm",
            Vec::new(),
            400,
        ),
        (
            "unknown grant capability",
            "/v1/grants",
            "application/json",
            br#"{"plugin":"p","reason":"r","grant":{"capabilities":{"network":{}}}}"#.to_vec(),
            400,
        ),
    ];
    for (what, path, ctype, body, want) in cases {
        let (status, text) = post(path, ctype, body);
        assert_eq!(status, want, "{what}: {text}");
        assert_json_error(status, &text, what);
    }
    let (status, text) = send(&agent, &f.base, "GET", "/v1/nothing-here", Some(admin));
    assert_eq!(status, 404);
    assert_json_error(status, &text, "unknown route");
    let (status, text) = send(&agent, &f.base, "PUT", "/v1/grants", Some(admin));
    assert_eq!(status, 405, "{text}");
    assert_json_error(status, &text, "wrong method");
    let (status, text) = send(
        &agent,
        &f.base,
        "GET",
        &format!("/v1/plugins/{}", "x".repeat(10)),
        Some(admin),
    );
    assert_eq!(
        status, 400,
        "a digest that is not hex is refused before the disk: {text}"
    );
    let _ = json!({});
}

/// A refused body is read before the answer goes out, so the client gets the JSON error
/// instead of a connection reset (the reset can destroy the answer in the client's buffer;
/// one CI run failed on it). Declared lengths over the limit, chunked bodies over the
/// limit and refusals before the handler (401) are all sent many times over one agent.
#[test]
fn refused_bodies_are_read_so_the_client_gets_the_answer() {
    let f = start(|c| {
        c.max_json_bytes = 4096;
        c.max_upload_bytes = 64 * 1024;
        // Every round has one refusal for the token: keep them all 401 (not 429).
        c.auth_failures_per_window = 1000;
    });
    let agent = agent();
    let admin = &f.tokens.iter().find(|(r, _)| *r == Role::Admin).unwrap().1;
    let big = vec![b' '; 1 << 20];
    for round in 0..20 {
        let post = |path: &str, token: Option<&str>, chunked: bool| {
            let mut req = agent
                .post(format!("{}{path}", f.base))
                .header("Content-Type", "application/json");
            if let Some(t) = token {
                req = req.header("Authorization", format!("Bearer {t}"));
            }
            let sent = if chunked {
                let mut reader = &big[..];
                req.send(ureq::SendBody::from_reader(&mut reader))
            } else {
                req.send(&big[..])
            };
            let mut resp = sent.unwrap_or_else(|e| {
                panic!("round {round}: POST {path} (chunked {chunked}): transport error {e}")
            });
            let status = resp.status().as_u16();
            (status, resp.body_mut().read_to_string().unwrap_or_default())
        };
        let (status, text) = post("/v1/plugins", Some(admin), false);
        assert_eq!(status, 413, "{text}");
        assert_json_error(status, &text, "declared upload over the limit");
        assert!(text.contains("max_upload_bytes"), "{text}");
        let (status, text) = post("/v1/signals", Some(admin), false);
        assert_eq!(status, 413, "{text}");
        assert!(text.contains("max_json_bytes"), "{text}");
        let (status, text) = post("/v1/signals", Some(admin), true);
        assert_eq!(status, 413, "chunked: {text}");
        assert_json_error(status, &text, "chunked JSON over the limit");
        let (status, text) = post("/v1/grants", None, false);
        assert_eq!(status, 413, "the limit is checked before the token: {text}");
        let (status, text) = post("/v1/grants", None, true);
        assert_eq!(status, 401, "chunked, no token: {text}");
        assert_json_error(status, &text, "no token");
    }
    // The connection is still good for an ordinary request afterwards.
    let (status, _) = send(&agent, &f.base, "GET", "/v1/whoami", Some(admin));
    assert_eq!(status, 200);
}

#[test]
fn a_revoked_token_stops_working() {
    let f = start(|_| {});
    let agent = agent();
    let (admin, author) = (
        &f.tokens.iter().find(|(r, _)| *r == Role::Admin).unwrap().1,
        &f.tokens.iter().find(|(r, _)| *r == Role::Author).unwrap().1,
    );
    assert_eq!(
        send(&agent, &f.base, "GET", "/v1/whoami", Some(author)).0,
        200
    );
    let (status, body) = send(
        &agent,
        &f.base,
        "POST",
        "/v1/tokens/author/revoke",
        Some(admin),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(&agent, &f.base, "GET", "/v1/whoami", Some(author));
    assert_eq!(status, 401, "{body}");
    let (status, body) = send(
        &agent,
        &f.base,
        "POST",
        "/v1/tokens/author/revoke",
        Some(admin),
    );
    assert_eq!(status, 404, "revoking twice: {body}");
}

#[test]
fn signals_are_validated_and_refusals_name_the_problem() {
    let f = start(|_| {});
    let agent = agent();
    let operator = &f
        .tokens
        .iter()
        .find(|(r, _)| *r == Role::Operator)
        .unwrap()
        .1;
    let line = std::fs::read_to_string(crate::fixtures::SIGNALS).unwrap();
    let good: Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
    let mut bad = good.clone();
    bad["confidence"] = json!(1.5);
    let mut resp = agent
        .post(format!("{}/v1/signals", f.base))
        .header("Authorization", format!("Bearer {operator}"))
        .send_json(json!([good, bad]))
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let v: Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(v["accepted"], 1, "{v}");
    assert_eq!(v["refused"][0]["index"], 1, "{v}");
    assert!(
        v["refused"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("confidence"),
        "{v}"
    );
}

#[test]
fn the_cli_mirrors_the_api() {
    let f = start(|_| {});
    let token = |role| f.tokens.iter().find(|(r, _)| *r == role).unwrap().1.clone();
    let run = |token: &str, args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_stratbox"))
            .args(args)
            .env("STRATBOX_SERVER", &f.base)
            .env("STRATBOX_TOKEN", token)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (code, out, err) = run(
        &token(Role::Author),
        &["upload", stratbox_artifacts::EMA_CROSS],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    let uploaded: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(uploaded["name"], "ema-cross");
    let tmp = tempfile::tempdir().unwrap();
    let grant = tmp.path().join("grant.json");
    std::fs::write(
        &grant,
        r#"{"capabilities": {"market-data": {}, "risk-gate": {}}}"#,
    )
    .unwrap();
    let (code, out, err) = run(
        &token(Role::Author),
        &[
            "grants",
            "request",
            "--plugin",
            "ema-cross",
            "--version",
            "0.1.0",
            "--file",
            grant.to_str().unwrap(),
            "--reason",
            "cli",
        ],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    let id = serde_json::from_str::<Value>(&out).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (code, _, err) = run(&token(Role::Author), &["grants", "approve", &id]);
    assert_eq!(code, Some(2), "an author cannot approve");
    assert!(
        err.contains("403 forbidden") && err.contains("admin"),
        "{err}"
    );
    let (code, out, err) = run(
        &token(Role::Admin),
        &["grants", "approve", &id, "--note", "ok"],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("\"approved\""), "{out}");
    let (code, out, _) = run(&token(Role::Auditor), &["grants", "ls"]);
    assert_eq!(code, Some(0));
    assert_eq!(
        serde_json::from_str::<Value>(&out)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (code, _, err) = run(
        &token(Role::Operator),
        &["halt", "--deployment", "dep-none", "--reason", "test"],
    );
    assert_eq!(code, Some(2));
    assert!(err.contains("404") && err.contains("dep-none"), "{err}");
    let (code, _, err) = run(
        &token(Role::Operator),
        &[
            "swap",
            "dep-none",
            "--plugin",
            uploaded["digest"].as_str().unwrap(),
        ],
    );
    assert_eq!(code, Some(2));
    assert!(err.contains("404"), "{err}");
}

#[test]
fn a_deployment_replays_a_catalog() {
    // data_dir is the fixture's folder: import the FXCM pair into `cat/` under it.
    let f = start(|_| {});
    let (code, _, stderr) = crate::fixtures::import_fxcm(&f.tmp.path().join("cat"), &[]);
    assert_eq!(code, 0, "{stderr}");
    let agent = agent();
    let token = |role| f.tokens.iter().find(|(r, _)| *r == role).unwrap().1.clone();
    let (admin, operator) = (token(Role::Admin), token(Role::Operator));
    let call = |token: &str, method: &str, path: &str, body: Value| {
        let url = format!("{}{path}", f.base);
        let auth = format!("Bearer {token}");
        let mut resp = match method {
            "GET" => agent.get(&url).header("Authorization", &auth).call(),
            _ => agent
                .post(&url)
                .header("Authorization", &auth)
                .send_json(body),
        }
        .unwrap();
        let status = resp.status().as_u16();
        let v: Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
        (status, v)
    };
    let bytes = std::fs::read(stratbox_artifacts::EMA_CROSS).unwrap();
    let mut resp = agent
        .post(format!("{}/v1/plugins", f.base))
        .header("Authorization", format!("Bearer {admin}"))
        .send(&bytes[..])
        .unwrap();
    let plugin: Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    let grant = json!({ "plugin": "ema-cross", "digest": plugin["digest"], "reason": "catalog", "grant": { "capabilities": { "market-data": {}, "risk-gate": {} } } });
    let (_, g) = call(&admin, "POST", "/v1/grants", grant);
    let gid = g["id"].as_str().unwrap().to_string();
    let (s, _) = call(
        &admin,
        "POST",
        &format!("/v1/grants/{gid}/approve"),
        json!({}),
    );
    assert_eq!(s, 200);
    let policy = "version = \"t\"\ncurrency = \"USD\"\n";
    let escape = json!({ "plugin": plugin["digest"], "grant": gid, "risk_policy": policy,
        "session": { "catalog": "../outside", "instrument": "GBP/USD.FXCM" } });
    let (s, e) = call(&operator, "POST", "/v1/deployments", escape);
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("invalid-request")),
        "{e}"
    );
    assert!(e["message"].as_str().unwrap().contains(".."), "{e}");
    let body = json!({ "plugin": plugin["digest"], "grant": gid, "risk_policy": policy,
        "session": { "catalog": "cat", "kind": "quotes", "instrument": "GBP/USD.FXCM", "speed": "max" } });
    let (s, d) = call(&operator, "POST", "/v1/deployments", body);
    assert_eq!(s, 201, "{d}");
    let id = d["id"].as_str().unwrap().to_string();
    let started = std::time::Instant::now();
    let view = loop {
        let (_, v) = call(
            &operator,
            "GET",
            &format!("/v1/deployments/{id}"),
            json!({}),
        );
        if v["status"] != "running" {
            break v;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "still running: {v}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(view["status"], "finished", "{view}");
    let (s, list) = call(&operator, "GET", "/v1/deployments", json!({}));
    assert_eq!(s, 200, "{list}");
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["plugin"], "ema-cross", "{list}");
    assert_eq!(view["events_fed"], 30_117, "{view}");
    assert_eq!(view["outcome"]["delivered"], 30_117, "{view}");
    assert!(
        view["outcome"]["report"]["fills"].as_array().unwrap().len() > 10,
        "{view}"
    );
}

/// Sends a request line with any method over a plain socket; returns the status code.
mod limits;
mod openapi;
mod operability;
