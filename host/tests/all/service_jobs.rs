//! Backtests and sweeps as server jobs (decision 0036), on 127.0.0.1:0 with SQLite: an
//! operator backtests ema-cross on the bundled GBP/USD minutes and follows it on the
//! stream to its report (format 5, with prices); a 2×2 sweep ranks 4 rows; a cancel ends a
//! long job `cancelled`; bad requests get a 400 naming the field; an author gets 403; a
//! full queue gets `job-queue-full`; a job a crash left `running` is `interrupted` at the
//! next start; `stratbox backtest --server` runs a job from the command line.

use std::{
    path::Path,
    sync::{Arc, Mutex},
};

use serde_json::{Value, json};
use stratbox::service::{Server, ServiceConfig, auth::Role};
use stratbox_artifacts as artifacts;

use crate::{
    fixtures::GBPUSD_FILE,
    service_e2e::{Api, runtime, wait_for},
};

struct Fixture {
    tmp: tempfile::TempDir,
    url: String,
    rt: tokio::runtime::Runtime,
    server: Option<Server>,
    api: Api,
    tokens: Vec<(Role, String)>,
}

fn config(tmp: &Path, url: &str) -> ServiceConfig {
    ServiceConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: url.to_string(),
        state_dir: tmp.join("state"),
        data_dir: crate::fixtures::DATA.into(),
        ..ServiceConfig::default()
    }
}

fn start(tune: impl FnOnce(&mut ServiceConfig)) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", tmp.path().join("s.db").display());
    let tokens = Role::ALL
        .into_iter()
        .map(|r| {
            let key = tmp.path().join("state/audit-signing.key");
            let t = stratbox::service::create_token(&url, &key, r.name(), r).unwrap();
            (r, t)
        })
        .collect();
    let rt = runtime();
    let mut c = config(tmp.path(), &url);
    tune(&mut c);
    let server = rt.block_on(Server::start(c)).unwrap();
    let api = Api::new(server.addr);
    Fixture {
        tmp,
        url,
        rt,
        server: Some(server),
        api,
        tokens,
    }
}

impl Fixture {
    fn token(&self, role: Role) -> String {
        self.tokens
            .iter()
            .find(|(r, _)| *r == role)
            .unwrap()
            .1
            .clone()
    }

    fn ema_cross(&self) -> String {
        let (s, v) = self
            .api
            .upload(&self.token(Role::Admin), artifacts::EMA_CROSS);
        assert!(s == 201 || s == 200, "{v}");
        v["digest"].as_str().unwrap().to_string()
    }

    fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.api
            .call("POST", path, Some(&self.token(Role::Operator)), Some(body))
    }

    fn get(&self, path: &str) -> Value {
        let (s, v) = self
            .api
            .call("GET", path, Some(&self.token(Role::Auditor)), None);
        assert_eq!(s, 200, "GET {path}: {v}");
        v
    }

    /// Polls the job until it has ended.
    fn ended(&self, kind: &str, id: &str) -> Value {
        wait_for(600, &format!("{kind} {id} to end"), || {
            let v = self.get(&format!("/v1/{kind}/{id}"));
            (!matches!(v["status"].as_str(), Some("queued" | "running"))).then_some(v)
        })
    }

    fn audit(&self) -> Vec<Value> {
        self.get("/v1/audit?limit=10000")
            .as_array()
            .unwrap()
            .clone()
    }

    fn stop(&mut self) {
        if let Some(s) = self.server.take() {
            self.rt.block_on(s.shutdown());
        }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Collects every message of `/v1/stream` (as `token`) from now on.
fn watch(f: &Fixture, query: &str) -> Arc<Mutex<Vec<Value>>> {
    let url = format!("ws://{}/v1/stream{query}", f.server.as_ref().unwrap().addr);
    let token = f.token(Role::Operator);
    let ws = f.rt.block_on(async {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut req = url.as_str().into_client_request().unwrap();
        req.headers_mut()
            .insert("Authorization", format!("Bearer {token}").parse().unwrap());
        tokio_tungstenite::connect_async(req).await.unwrap().0
    });
    let seen = Arc::new(Mutex::new(Vec::new()));
    let out = Arc::clone(&seen);
    f.rt.spawn(async move {
        use futures_util::StreamExt;
        let mut ws = ws;
        while let Some(Ok(msg)) = ws.next().await {
            if let tokio_tungstenite::tungstenite::Message::Text(t) = msg {
                out.lock().unwrap().push(serde_json::from_str(&t).unwrap());
            }
        }
    });
    seen
}

fn backtest_body(digest: &str) -> Value {
    json!({ "plugin": digest, "data": GBPUSD_FILE,
        "params": { "fast_period": 10, "slow_period": "20" }, "balance": "100000 USD" })
}

#[test]
fn a_backtest_job_streams_its_progress_and_keeps_its_report() {
    let mut f = start(|_| {});
    let digest = f.ema_cross();
    let stream = watch(&f, "");
    let (s, job) = f.post("/v1/backtests", backtest_body(&digest));
    assert_eq!(s, 202, "{job}");
    let id = job["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("bt-"), "{job}");
    assert_eq!(job["kind"], "backtest");
    assert_eq!(job["request"]["data"], GBPUSD_FILE);
    let total = job["progress"]["total"].as_u64().unwrap();
    assert!(total > 0, "{job}");

    let end = f.ended("backtests", &id);
    assert_eq!(end["status"], "finished", "{end}");
    assert_eq!(end["progress"]["done"].as_u64(), Some(total), "{end}");
    assert!(
        end["started_ns"].as_i64() <= end["ended_ns"].as_i64(),
        "{end}"
    );
    let summary = &end["summary"];
    assert!(summary["orders"].as_u64().unwrap() > 0, "{end}");
    assert!(summary["pnl"].is_number(), "{end}");
    assert_eq!(summary["currency"], "USD");

    // The stream: progress going up to the total, then the end; seq 1, 2, 3, ... for the job.
    let messages: Vec<Value> = wait_for(60, "the job-ended message", || {
        let all: Vec<Value> = stream
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m["job"] == id.as_str())
            .cloned()
            .collect();
        all.iter()
            .any(|m| m["event"]["kind"] == "job-ended")
            .then_some(all)
    });
    let seqs: Vec<u64> = messages
        .iter()
        .map(|m| m["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    let done: Vec<u64> = messages
        .iter()
        .filter(|m| m["event"]["kind"] == "job-progress")
        .map(|m| m["event"]["done"].as_u64().unwrap())
        .collect();
    assert!(!done.is_empty(), "{messages:?}");
    assert!(done.windows(2).all(|w| w[0] <= w[1]), "{done:?}");
    assert_eq!(done.last().copied(), Some(total));
    let last = messages.last().unwrap();
    assert_eq!(
        last["event"],
        json!({ "kind": "job-ended", "status": "finished" })
    );

    // The report: format 5 with its price buckets; the chart as a download.
    let report = f.get(&format!("/v1/backtests/{id}/report"));
    assert_eq!(report["format"], 5);
    assert!(
        !report["strategies"][0]["orders"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let prices = report["prices"].as_array().unwrap();
    assert!(
        !prices.is_empty() && prices.len() <= 2000,
        "{}",
        prices.len()
    );
    assert!(prices.iter().all(|p| p["instrument_id"] == "GBP/USD.FXCM"));
    assert!(
        prices
            .windows(2)
            .all(|w| w[0]["ts"].as_u64() < w[1]["ts"].as_u64())
    );
    let p = &prices[0];
    assert!(p["low"].as_f64() <= p["open"].as_f64() && p["open"].as_f64() <= p["high"].as_f64());
    assert!(
        f.tmp
            .path()
            .join(format!("state/jobs/{id}/report.html"))
            .is_file()
    );
    let (s, e) = f.api.call(
        "DELETE",
        &format!("/v1/backtests/{id}"),
        Some(&f.token(Role::Operator)),
        None,
    );
    assert_eq!((s, e["error"].as_str()), (409, Some("job-ended")), "{e}");

    // Listed newest first; kept across a restart.
    let (s, second) = f.post("/v1/backtests", backtest_body(&digest));
    assert_eq!(s, 202, "{second}");
    let second = second["id"].as_str().unwrap().to_string();
    f.ended("backtests", &second);
    let ids: Vec<String> = f
        .get("/v1/backtests")
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, [second.clone(), id.clone()]);
    let trail = f.audit();
    let started = trail
        .iter()
        .filter(|r| r["action"] == "job-started")
        .count();
    assert_eq!(started, 2, "every job start is audited");
    f.stop();
    let server =
        f.rt.block_on(Server::start(config(f.tmp.path(), &f.url)))
            .unwrap();
    f.api = Api::new(server.addr);
    f.server = Some(server);
    assert_eq!(f.get(&format!("/v1/backtests/{id}"))["status"], "finished");
    assert_eq!(f.get("/v1/backtests").as_array().unwrap().len(), 2);
    assert_eq!(f.get(&format!("/v1/backtests/{id}/report"))["format"], 5);
}

#[test]
fn a_two_by_two_sweep_ranks_four_rows() {
    let f = start(|c| c.job_workers = 2);
    let digest = f.ema_cross();
    let (s, job) = f.post(
        "/v1/sweeps",
        json!({ "plugin": digest, "data": GBPUSD_FILE,
            "grid": { "fast_period": [5, 10], "slow_period": "20..30:10" } }),
    );
    assert_eq!(s, 202, "{job}");
    let id = job["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("sw-"), "{job}");
    assert_eq!(job["progress"]["total"], 4);
    let end = f.ended("sweeps", &id);
    assert_eq!(end["status"], "finished", "{end}");
    assert_eq!(end["progress"], json!({ "done": 4, "total": 4 }));
    let result = f.get(&format!("/v1/sweeps/{id}/result"));
    assert_eq!(result["params"], json!(["fast_period", "slow_period"]));
    let rows = result["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4, "{result}");
    let ranks: Vec<u64> = rows.iter().map(|r| r["rank"].as_u64().unwrap()).collect();
    assert_eq!(ranks, [1, 2, 3, 4]);
    let mut grid: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["params"]["fast_period"].as_str().unwrap().to_string(),
                r["params"]["slow_period"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    grid.sort();
    assert_eq!(
        grid,
        [("10", "20"), ("10", "30"), ("5", "20"), ("5", "30")]
            .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    let pnls: Vec<f64> = rows.iter().map(|r| r["pnl"].as_f64().unwrap()).collect();
    assert!(
        pnls.windows(2).all(|w| w[0] >= w[1]),
        "ranked by pnl: {pnls:?}"
    );
    assert_eq!(end["summary"]["best"]["pnl"].as_f64(), Some(pnls[0]));
    assert!(rows.iter().all(|r| r["orders"].as_u64().unwrap() > 0));
}

/// A sweep long enough to still run while the test acts on it (each grid point is a full
/// backtest; the test cancels it long before its end).
fn long_sweep(digest: &str) -> Value {
    json!({ "plugin": digest, "data": GBPUSD_FILE,
        "grid": { "fast_period": "2..40", "slow_period": "41..80" } })
}

#[test]
fn cancel_a_running_and_a_queued_job_and_a_full_queue() {
    let f = start(|c| {
        c.job_workers = 1;
        c.job_queue = 1;
    });
    let digest = f.ema_cross();
    let (s, long) = f.post("/v1/sweeps", long_sweep(&digest));
    assert_eq!(s, 202, "{long}");
    let long = long["id"].as_str().unwrap().to_string();
    wait_for(120, "the sweep to run", || {
        let v = f.get(&format!("/v1/sweeps/{long}"));
        (v["status"] == "running").then_some(())
    });
    // One job may wait; the next is refused.
    let (s, queued) = f.post("/v1/backtests", backtest_body(&digest));
    assert_eq!(s, 202, "{queued}");
    assert_eq!(queued["status"], "queued");
    let queued = queued["id"].as_str().unwrap().to_string();
    let (s, e) = f.post("/v1/backtests", backtest_body(&digest));
    assert_eq!(
        (s, e["error"].as_str()),
        (429, Some("job-queue-full")),
        "{e}"
    );
    assert!(
        e["message"].as_str().unwrap().contains("job_queue = 1"),
        "{e}"
    );

    // The queued job ends at once, the running sweep at its next chunk boundary.
    let operator = f.token(Role::Operator);
    let (s, v) = f.api.call(
        "DELETE",
        &format!("/v1/backtests/{queued}"),
        Some(&operator),
        None,
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "cancelled", "{v}");
    assert_eq!(v["progress"]["done"], 0, "{v}");
    let (s, v) = f.api.call(
        "DELETE",
        &format!("/v1/sweeps/{long}"),
        Some(&operator),
        None,
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "cancelled", "{v}");
    let total = v["progress"]["total"].as_u64().unwrap();
    assert!(v["progress"]["done"].as_u64().unwrap() < total, "{v}");
    // The rows it ran stay.
    let result = f.get(&format!("/v1/sweeps/{long}/result"));
    assert!(
        (result["rows"].as_array().unwrap().len() as u64) < total,
        "{result}"
    );
    let trail = f.audit();
    let cancels: Vec<&Value> = trail
        .iter()
        .filter(|r| r["action"] == "job-cancelled")
        .collect();
    assert_eq!(cancels.len(), 2, "{cancels:?}");
    assert_eq!(cancels[0]["subject"], format!("backtest {queued}"));
    assert_eq!(cancels[1]["details"]["status"], "running");
    // The queue has room again.
    let (s, again) = f.post("/v1/backtests", backtest_body(&digest));
    assert_eq!(s, 202, "{again}");
    let again = again["id"].as_str().unwrap().to_string();
    assert_eq!(f.ended("backtests", &again)["status"], "finished");
}

#[test]
fn bad_requests_are_refused_before_anything_runs() {
    let f = start(|_| {});
    let digest = f.ema_cross();
    let refused = |path: &str, body: Value| {
        let (s, e) = f.post(path, body);
        (
            s,
            e["error"].as_str().unwrap_or_default().to_string(),
            e["message"].as_str().unwrap_or_default().to_string(),
        )
    };
    let (s, code, m) = refused(
        "/v1/backtests",
        json!({ "plugin": digest, "data": "../etc/passwd" }),
    );
    assert_eq!((s, code.as_str()), (400, "invalid-request"));
    assert_eq!(
        m,
        "data `../etc/passwd`: must be a relative name under the server's data folder, without `..`"
    );
    let (s, _, m) = refused(
        "/v1/backtests",
        json!({ "plugin": digest, "data": "nope.csv" }),
    );
    assert_eq!(s, 400);
    assert!(
        m.starts_with("data `nope.csv`: not found under the data folder"),
        "{m}"
    );
    let (s, _, m) = refused("/v1/backtests", json!({ "plugin": digest }));
    assert_eq!(s, 400);
    assert!(m.contains("give exactly one of `data`"), "{m}");
    let (s, _, m) = refused(
        "/v1/backtests",
        json!({ "plugin": digest, "data": GBPUSD_FILE, "risk_policy": "version = 1\nmax_order = \"x\"" }),
    );
    assert_eq!(s, 400);
    assert!(m.starts_with("risk_policy: invalid risk policy"), "{m}");
    let (s, _, m) = refused(
        "/v1/sweeps",
        json!({ "plugin": digest, "data": GBPUSD_FILE, "grid": { "fast_period": "0..10:5", "fsat": [1] } }),
    );
    assert_eq!(s, 400);
    assert!(
        m.contains("grid.fast_period: 0 is below the minimum 1"),
        "{m}"
    );
    assert!(
        m.contains("grid.fsat: ema-cross has no parameter `fsat`"),
        "{m}"
    );
    let (s, _, m) = refused(
        "/v1/sweeps",
        json!({ "plugin": digest, "data": GBPUSD_FILE }),
    );
    assert_eq!(s, 400);
    assert!(m.starts_with("grid is required"), "{m}");
    let (s, _, m) = refused(
        "/v1/backtests",
        json!({ "plugin": digest, "data": GBPUSD_FILE, "grid": { "fast_period": [5] } }),
    );
    assert_eq!(s, 400);
    assert!(m.contains("POST them to /v1/sweeps"), "{m}");
    let (s, code, m) = refused(
        "/v1/backtests",
        json!({ "plugin": digest, "data": GBPUSD_FILE, "params": { "fast_periodd": 3 } }),
    );
    assert_eq!((s, code.as_str()), (422, "invalid-params"), "{m}");
    assert!(m.starts_with("params.fast_periodd:"), "{m}");
    let (s, code, _) = refused(
        "/v1/backtests",
        json!({ "plugin": "0".repeat(64), "data": GBPUSD_FILE }),
    );
    assert_eq!((s, code.as_str()), (404, "not-found"));
    let (s, code, m) = refused(
        "/v1/backtests",
        json!({ "plugin": "abc", "data": GBPUSD_FILE }),
    );
    assert_eq!((s, code.as_str()), (400, "invalid-request"));
    assert!(m.starts_with("plugin: `abc` is not a sha256 digest"), "{m}");
    let (s, code, _) = refused(
        "/v1/backtests",
        json!({ "plugin": digest, "data": GBPUSD_FILE, "speed": 1 }),
    );
    assert_eq!((s, code.as_str()), (400, "invalid-body"));
    // Nothing was stored.
    assert_eq!(f.get("/v1/backtests"), json!([]));
    assert_eq!(f.get("/v1/sweeps"), json!([]));
    // An author may not run jobs; reading needs operator, auditor or admin.
    let author = f.token(Role::Author);
    let (s, e) = f.api.call(
        "POST",
        "/v1/backtests",
        Some(&author),
        Some(backtest_body(&digest)),
    );
    assert_eq!((s, e["error"].as_str()), (403, Some("forbidden")), "{e}");
    let (s, _) = f.api.call("GET", "/v1/sweeps", Some(&author), None);
    assert_eq!(s, 403);
    let (s, e) = f.api.call(
        "GET",
        "/v1/backtests/bt-000000000000",
        Some(&f.token(Role::Auditor)),
        None,
    );
    assert_eq!((s, e["error"].as_str()), (404, Some("not-found")), "{e}");
    let (s, e) = f.api.call(
        "GET",
        "/v1/backtests/sw-000000000000",
        Some(&f.token(Role::Auditor)),
        None,
    );
    assert_eq!(s, 404, "{e}");
}

#[test]
fn a_job_a_crash_left_running_is_interrupted_at_the_next_start() {
    let mut f = start(|_| {});
    f.stop();
    // What a killed service leaves: a running and a queued row.
    f.rt.block_on(async {
        let pool = stratbox::service::db::open(&f.url, 1).await.unwrap();
        for (id, status) in [("bt-00000000000a", "running"), ("sw-00000000000b", "queued")] {
            let kind = if id.starts_with("bt") { "backtest" } else { "sweep" };
            sqlx::query("INSERT INTO jobs (id, kind, status, request, created_by, created_ns, started_ns, done, total) VALUES ($1, $2, $3, '{}', 'op (operator)', 1, 2, 5, 10)")
                .bind(id.to_string()).bind(kind.to_string()).bind(status.to_string())
                .execute(&pool).await.unwrap();
        }
        pool.close().await;
    });
    let server =
        f.rt.block_on(Server::start(config(f.tmp.path(), &f.url)))
            .unwrap();
    f.api = Api::new(server.addr);
    f.server = Some(server);
    let bt = f.get("/v1/backtests/bt-00000000000a");
    assert_eq!(bt["status"], "interrupted", "{bt}");
    assert!(
        bt["error"]
            .as_str()
            .unwrap()
            .contains("while the job was running"),
        "{bt}"
    );
    assert_eq!(bt["progress"], json!({ "done": 5, "total": 10 }));
    let sw = f.get("/v1/sweeps/sw-00000000000b");
    assert_eq!(sw["status"], "interrupted", "{sw}");
    let trail = f.audit();
    let interrupted: Vec<&str> = trail
        .iter()
        .filter(|r| r["action"] == "job-interrupted")
        .map(|r| r["subject"].as_str().unwrap())
        .collect();
    assert_eq!(
        interrupted,
        ["backtest bt-00000000000a", "sweep sw-00000000000b"]
    );
    let (s, e) = f.api.call(
        "GET",
        "/v1/backtests/bt-00000000000a/report",
        Some(&f.token(Role::Operator)),
        None,
    );
    assert_eq!(
        (s, e["error"].as_str()),
        (409, Some("job-not-finished")),
        "{e}"
    );
    let (s, v) = f.api.call(
        "GET",
        "/v1/audit/verify",
        Some(&f.token(Role::Auditor)),
        None,
    );
    assert_eq!(s, 200, "{v}");
}

#[test]
fn backtest_server_runs_a_job_from_the_command_line() {
    let f = start(|_| {});
    let server = format!("http://{}", f.server.as_ref().unwrap().addr);
    let out = f.tmp.path().join("out");
    let admin = f.token(Role::Admin);
    // A component file the service does not have yet is uploaded first.
    let run = |plugin: &str, extra: &[&str]| {
        let mut args = vec![
            "backtest",
            "--server",
            &server,
            "--token",
            &admin,
            "--plugin",
            plugin,
            "--data",
            "data/fxcm/gbpusd-m1-bid-2012.csv",
            "--param",
            "fast_period=10",
            "--param",
            "slow_period=20",
        ];
        args.extend_from_slice(extra);
        crate::fixtures::stratbox(&args)
    };
    let (code, stdout, stderr) = run(artifacts::EMA_CROSS, &["--report", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("uploaded "), "{stdout}");
    assert!(stdout.contains(" finished: "), "{stdout}");
    assert!(stdout.contains("/report (chart: "), "{stdout}");
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["format"], 5);
    // By digest; a job that cannot finish is a non-zero exit.
    let digest = f.get("/v1/plugins").as_array().unwrap()[0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let (code, stdout, stderr) = run(&digest, &["--param", "fast_period=0"]);
    assert_ne!(code, 0, "{stdout}");
    assert!(stderr.contains("fast_period"), "{stderr}");
}
