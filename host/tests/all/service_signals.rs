//! What the console's Signals, Deployment and Strategies pages read: the service's signal
//! intake log, dead letters and per-deployment breakers; an operator's flatten; the
//! deployment's open orders; definitions reported by the translate watch.

use serde_json::{Value, json};
use stratbox::service::Server;
use stratbox_artifacts as artifacts;

use crate::service_e2e::{Api, POLICY, SERIAL, config, runtime, session, story, wait_for};
use crate::service_kill_switch::progress;

struct Service {
    api: Api,
    admin: String,
    author: String,
    operator: String,
    auditor: String,
}

fn start(tmp: &std::path::Path, rt: &tokio::runtime::Runtime) -> (Server, Service) {
    let url = format!("sqlite://{}", tmp.join("stratbox.db").display());
    let admin = crate::service_e2e::admin_token(tmp, &url);
    let server = rt.block_on(Server::start(config(tmp, url))).unwrap();
    let api = Api::new(server.addr);
    let token = |name: &str, role: &str| api.token(&admin, name, role);
    let (author, operator, auditor) = (
        token("ada", "author"),
        token("otto", "operator"),
        token("aude", "auditor"),
    );
    let service = Service {
        api,
        admin,
        author,
        operator,
        auditor,
    };
    (server, service)
}

impl Service {
    /// Uploads `component`, has `grant` approved, deploys it; returns the deployment id.
    fn deploy(&self, component: &str, grant: Value, params: Value, speed: f64) -> String {
        let api = &self.api;
        let (s, up) = api.upload(&self.author, component);
        assert_eq!(s, 201, "{up}");
        let (s, g) = api.call(
            "POST",
            "/v1/grants",
            Some(&self.author),
            Some(json!({ "digest": up["digest"], "reason": "signals test", "grant": grant })),
        );
        assert_eq!(s, 201, "{g}");
        let gid = g["id"].as_str().unwrap();
        let (s, g) = api.call(
            "POST",
            &format!("/v1/grants/{gid}/approve"),
            Some(&self.admin),
            Some(json!({})),
        );
        assert_eq!(s, 200, "{g}");
        let (s, d) = api.call(
            "POST",
            "/v1/deployments",
            Some(&self.operator),
            Some(
                json!({ "plugin": up["digest"], "grant": gid, "risk_policy": POLICY,
                "session": session(json!(speed)), "params": params }),
            ),
        );
        assert_eq!(s, 201, "{d}");
        d["id"].as_str().unwrap().to_string()
    }

    fn get(&self, path: &str) -> Value {
        let (s, v) = self.api.call("GET", path, Some(&self.auditor), None);
        assert_eq!(s, 200, "GET {path}: {v}");
        v
    }

    fn audit_actions(&self) -> Vec<Value> {
        let (s, v) = self
            .api
            .call("GET", "/v1/audit?limit=10000", Some(&self.admin), None);
        assert_eq!(s, 200, "{v}");
        v.as_array().unwrap().clone()
    }
}

/// Two text fields of each element of a JSON array.
fn pairs(v: &Value, a: &str, b: &str) -> Vec<(String, String)> {
    let text = |x: &Value, k: &str| {
        x[k].as_str()
            .unwrap_or_else(|| panic!("{k}: {x}"))
            .to_string()
    };
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|x| (text(x, a), text(x, b)))
        .collect()
}

fn regime(id: &str) -> Value {
    json!({
        "signal_id": id, "signal_type": "REGIME_PREDICTION",
        "instrument_id": "GBP/USD.FXCM", "timestamp": 1_328_054_400_000_000_000_u64,
        "confidence": 0.8, "value": "trending", "metadata": {}, "source_model": "desk",
    })
}

#[test]
fn a_failing_consumer_gets_dead_letters_then_an_open_breaker_and_all_of_it_is_listed() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let tmp = tempfile::tempdir().unwrap();
    let rt = runtime();
    let (server, svc) = start(tmp.path(), &rt);
    let api = &svc.api;
    // Panics on its second signal: every later one is a dead letter.
    let dep = svc.deploy(
        artifacts::HOSTILE_SIGNAL_PANIC,
        json!({ "capabilities": { "signals": {} } }),
        json!({ "instrument_id": "GBP/USD.FXCM" }),
        3_600.0,
    );
    let consumer = || {
        let all = svc.get("/v1/signals/breakers");
        all.as_array()
            .unwrap()
            .iter()
            .find(|c| c["deployment"] == dep.as_str())
            .cloned()
            .unwrap_or_else(|| panic!("{dep} is not listed: {all}"))
    };
    let c = consumer();
    assert_eq!(
        c["breaker"],
        json!({ "state": "closed", "failures": 0 }),
        "{c}"
    );
    assert_eq!(c["status"], "running");

    // An author may not post; an invalid item is refused and still logged.
    let (s, _) = api.call("POST", "/v1/signals", Some(&svc.author), Some(regime("x")));
    assert_eq!(s, 403);
    let mut bad = regime("bad-1");
    bad["confidence"] = json!(7.5);
    let (s, v) = api.call("POST", "/v1/signals", Some(&svc.operator), Some(bad));
    assert_eq!((s, v["accepted"].as_u64()), (200, Some(0)), "{v}");

    // s1 is delivered; s2 faults the plugin; s3..s6 find it quarantined. Five failures in a
    // row open the breaker, so s7 is not handed to it at all.
    for i in 1..=6_u64 {
        let (s, v) = api.call(
            "POST",
            "/v1/signals",
            Some(&svc.operator),
            Some(regime(&format!("s{i}"))),
        );
        assert_eq!((s, v["accepted"].as_u64()), (200, Some(1)), "{v}");
        wait_for(120, &format!("the outcome of signal s{i}"), || {
            let c = consumer();
            let seen = c["delivered"].as_u64().unwrap() + c["failed"].as_u64().unwrap();
            (seen == i).then_some(())
        });
    }
    let c = consumer();
    assert_eq!(
        (c["delivered"].as_u64(), c["failed"].as_u64()),
        (Some(1), Some(5)),
        "{c}"
    );
    assert_eq!(
        c["breaker"]["state"],
        "open",
        "{c}\n{}",
        story(api, &svc.admin, &dep)
    );
    assert!(
        c["last_failure"].as_str().unwrap().contains("quarantined"),
        "{c}"
    );
    let (s, v) = api.call(
        "POST",
        "/v1/signals",
        Some(&svc.operator),
        Some(regime("s7")),
    );
    assert_eq!(s, 200, "{v}");
    let c = consumer();
    assert_eq!(c["skipped_open"].as_u64(), Some(1), "{c}");

    // The intake log, newest first, paged with `before`.
    let recent = svc.get("/v1/signals?limit=2");
    let recent = recent.as_array().unwrap();
    assert_eq!(recent.len(), 2);
    assert_eq!(recent[0]["signal_id"], "s7");
    assert_eq!(recent[0]["handed_to"], json!([]), "{}", recent[0]);
    assert_eq!(recent[0]["skipped"][0]["deployment"], dep.as_str());
    assert!(
        recent[0]["skipped"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("circuit open")
    );
    assert_eq!(recent[1]["signal_id"], "s6");
    assert_eq!(recent[1]["handed_to"], json!([dep]));
    assert_eq!(recent[1]["actor"], "otto (operator)");
    let older = svc.get(&format!("/v1/signals?before={}", recent[1]["seq"]));
    let ids: Vec<&str> = older
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["signal_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["s5", "s4", "s3", "s2", "s1", "bad-1"]);
    let refused = older.as_array().unwrap().last().unwrap();
    assert_eq!(refused["accepted"], false);
    assert!(
        refused["reason"].as_str().unwrap().contains("confidence"),
        "{refused}"
    );
    let (s, e) = api.call("GET", "/v1/signals?limit=5000", Some(&svc.auditor), None);
    assert_eq!(s, 400, "{e}");

    // Dead letters: five from delivery, one from the open breaker, with reasons.
    let dead = pairs(&svc.get("/v1/signals/dead-letters"), "signal_id", "stage");
    let expected = [
        ("s7", "breaker"),
        ("s6", "delivery"),
        ("s5", "delivery"),
        ("s4", "delivery"),
        ("s3", "delivery"),
        ("s2", "delivery"),
    ];
    assert_eq!(dead, expected.map(|(a, b)| (a.to_string(), b.to_string())));
    let first = &svc.get("/v1/signals/dead-letters")[5];
    assert!(
        first["reason"].as_str().unwrap().contains("fault"),
        "{first}"
    );
    assert_eq!(first["plugin"], "hostile-signal-panic");

    // The breaker opened audited, and the session reported every delivery as an event.
    let opened: Vec<Value> = svc
        .audit_actions()
        .into_iter()
        .filter(|r| r["action"] == "signal-breaker-changed")
        .collect();
    assert_eq!(opened.len(), 1, "{opened:?}");
    assert_eq!(opened[0]["details"]["breaker"]["state"], "open");
    assert_eq!(opened[0]["subject"], format!("deployment {dep}"));
    let deliveries = crate::service_e2e::events(api, &svc.admin, &dep)
        .into_iter()
        .filter(|e| e["event"]["kind"] == "signal-delivery")
        .count();
    assert_eq!(deliveries, 6);

    // Dead letters outlive the process.
    let admin = svc.admin.clone();
    rt.block_on(server.shutdown());
    let (server, svc) = start_again(tmp.path(), &rt, admin);
    let dead = svc.get("/v1/signals/dead-letters");
    assert_eq!(dead.as_array().unwrap().len(), 6, "{dead}");
    let recent = svc.get("/v1/signals?limit=1");
    assert_eq!(recent[0]["signal_id"], "s7");
    rt.block_on(server.shutdown());
}

/// The service of `tmp` again, with the admin token of the first start.
fn start_again(
    tmp: &std::path::Path,
    rt: &tokio::runtime::Runtime,
    admin: String,
) -> (Server, Service) {
    let url = format!("sqlite://{}", tmp.join("stratbox.db").display());
    let server = rt.block_on(Server::start(config(tmp, url))).unwrap();
    let api = Api::new(server.addr);
    let svc = Service {
        api,
        author: admin.clone(),
        operator: admin.clone(),
        auditor: admin.clone(),
        admin,
    };
    (server, svc)
}

#[test]
fn a_flatten_halts_the_deployment_and_closes_its_position() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let tmp = tempfile::tempdir().unwrap();
    let rt = runtime();
    let (server, svc) = start(tmp.path(), &rt);
    let api = &svc.api;
    let dep = svc.deploy(
        artifacts::EMA_CROSS,
        json!({ "capabilities": {
            "market-data": { "instruments": ["GBP/USD.FXCM"] },
            "risk-gate": { "instruments": ["GBP/USD.FXCM"] }
        } }),
        json!({ "fast_period": "10", "slow_period": "20" }),
        40_000.0,
    );
    // The net position from the deployment's fills (what the console shows).
    let net = || -> f64 {
        crate::service_e2e::events(api, &svc.admin, &dep)
            .iter()
            .filter(|e| e["event"]["kind"] == "fill")
            .map(|e| {
                let q: f64 = e["event"]["quantity"].as_str().unwrap().parse().unwrap();
                if e["event"]["side"] == "BUY" { q } else { -q }
            })
            .sum()
    };
    wait_for(120, "a position", || (net() != 0.0).then_some(()));
    // Progress events carry the open orders (none or a few for this strategy).
    let p = wait_for(60, "a progress event", || {
        Some(progress(api, &svc.admin, &dep)).filter(|p| !p.is_null())
    });
    assert!(p["open_orders"].is_array(), "{p}");
    assert_eq!(
        p["open_orders"].as_array().unwrap().len() as u64,
        p["open_orders_total"].as_u64().unwrap().min(50),
        "{p}"
    );

    let path = format!("/v1/deployments/{dep}/flatten");
    let (s, _) = api.call(
        "POST",
        &path,
        Some(&svc.auditor),
        Some(json!({ "reason": "x" })),
    );
    assert_eq!(s, 403);
    let (s, e) = api.call(
        "POST",
        &path,
        Some(&svc.operator),
        Some(json!({ "reason": " " })),
    );
    assert_eq!(s, 400, "{e}");
    let (s, v) = api.call(
        "POST",
        &path,
        Some(&svc.operator),
        Some(json!({ "reason": "desk closes GBP exposure" })),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["changed"].as_bool(), v["trading_state"].as_str()),
        (Some(true), Some("HALTED")),
        "{v}"
    );
    wait_for(120, "the position closed", || (net() == 0.0).then_some(()));
    // And it stays closed: halted, the plugin's orders are refused.
    let fed = crate::service_e2e::fed(api, &svc.admin, &dep);
    wait_for(120, "more events after the flatten", || {
        (crate::service_e2e::fed(api, &svc.admin, &dep) > fed + 2_000).then_some(())
    });
    assert_eq!(net(), 0.0);
    let view = svc.get(&format!("/v1/deployments/{dep}"));
    assert_eq!(view["trading_state"], "HALTED");

    // The request is in the trail before the halt it causes.
    let records = svc.audit_actions();
    let at = |action: &str| {
        records
            .iter()
            .position(|r| r["action"] == action)
            .unwrap_or_else(|| panic!("no {action}"))
    };
    assert!(at("flatten-requested") < at("trading-state-changed"));
    let request = &records[at("flatten-requested")];
    assert_eq!(request["actor"], "otto (operator)");
    assert_eq!(request["details"]["reason"], "desk closes GBP exposure");
    rt.block_on(server.shutdown());
}

#[test]
fn definitions_reported_by_the_watch_are_listed_and_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let rt = runtime();
    let (server, svc) = start(tmp.path(), &rt);
    let api = &svc.api;
    assert_eq!(svc.get("/v1/translations"), json!([]));
    let report = json!({
        "origin": "defs/cross.json", "definition_id": "cross", "status": "failed",
        "definition_sha256": "ab".repeat(32), "version": null, "plugin": null,
        "component_sha256": null, "error": "rules[0].when: unknown indicator `foo`",
    });
    let (s, _) = api.call(
        "PUT",
        "/v1/translations",
        Some(&svc.operator),
        Some(report.clone()),
    );
    assert_eq!(s, 403, "authors (and admins) report translations");
    let (s, v) = api.call(
        "PUT",
        "/v1/translations",
        Some(&svc.author),
        Some(report.clone()),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["reported_by"], "ada (author)");
    let mut translated = report.clone();
    translated["status"] = json!("translated");
    let (s, e) = api.call(
        "PUT",
        "/v1/translations",
        Some(&svc.author),
        Some(translated.clone()),
    );
    assert_eq!(s, 400, "an error only with `failed`: {e}");
    assert!(e["message"].as_str().unwrap().contains("`error`"), "{e}");
    translated["error"] = Value::Null;
    translated["version"] = json!("1.0.0");
    translated["component_sha256"] = json!("cd".repeat(32));
    let (s, v) = api.call(
        "PUT",
        "/v1/translations",
        Some(&svc.author),
        Some(translated),
    );
    assert_eq!(s, 200, "{v}");
    let mut other = report;
    other["origin"] = json!("defs/other.json");
    other["definition_id"] = json!("other");
    let (s, v) = api.call("PUT", "/v1/translations", Some(&svc.admin), Some(other));
    assert_eq!(s, 200, "{v}");
    let (s, e) = api.call(
        "PUT",
        "/v1/translations",
        Some(&svc.author),
        Some(json!({ "origin": "x", "definition_id": "x", "status": "failed", "error": "e", "extra": 1 })),
    );
    assert_eq!(s, 400, "{e}");

    let rows = pairs(&svc.get("/v1/translations"), "definition_id", "status");
    // One row per origin, the newest report first.
    let expected = [("other", "failed"), ("cross", "translated")];
    assert_eq!(rows, expected.map(|(a, b)| (a.to_string(), b.to_string())));
    rt.block_on(server.shutdown());
}
