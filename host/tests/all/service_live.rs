//! Deployments on a Nautilus `LiveNode` (`session.kind = "live"`): a paper live deployment
//! trades the replay feed on the sandbox venue, streams its events, hot-swaps to v2,
//! obeys the service-wide kill switch (no order leaves after the halt is acknowledged) and
//! resumes; a deployment asking for real orders (`mode = "live"`) is refused, and audited,
//! unless the service allows live venues *and* an admin approved a grant naming the venue.

use serde_json::{Value, json};
use stratbox::service::{Server, ServiceConfig};
use stratbox_artifacts as artifacts;

use crate::{
    service_e2e::{Api, POLICY, SERIAL, admin_token, config, runtime, session, wait_for},
    service_kill_switch::figure,
};

fn kinds(api: &Api, token: &str, dep: &str) -> Vec<String> {
    crate::service_e2e::events(api, token, dep)
        .iter()
        .map(|e| e["event"]["kind"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Uploads `artifact`, requests `grant` for it and approves it; (digest, grant id).
pub(crate) fn granted(api: &Api, admin: &str, artifact: &str, grant: &Value) -> (String, String) {
    let (s, up) = api.upload(admin, artifact);
    assert_eq!(s, 201, "{up}");
    let digest = up["digest"].as_str().unwrap().to_string();
    let gid = crate::service_venue::approved(api, admin, &digest, grant);
    (digest, gid)
}

pub(crate) fn gbpusd_grant() -> Value {
    json!({ "capabilities": {
        "market-data": { "instruments": ["GBP/USD.FXCM"] },
        "risk-gate": { "instruments": ["GBP/USD.FXCM"] }
    } })
}

pub(crate) fn live_session(speed: Value, extra: &Value) -> Value {
    let mut s = session(speed);
    s["kind"] = json!("live");
    for (k, v) in extra.as_object().unwrap() {
        s[k] = v.clone();
    }
    s
}

#[test]
fn a_live_paper_deployment_trades_swaps_and_obeys_the_kill_switch() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", tmp.path().join("stratbox.db").display());
    let rt = runtime();
    let admin = admin_token(tmp.path(), &url);
    let server = rt.block_on(Server::start(config(tmp.path(), url))).unwrap();
    let api = Api::new(server.addr);
    let (v1, gid) = granted(&api, &admin, artifacts::EMA_CROSS, &gbpusd_grant());
    let (v2, _) = granted(&api, &admin, artifacts::EMA_CROSS_V2, &gbpusd_grant());
    let (s, d) = api.call(
        "POST",
        "/v1/deployments",
        Some(&admin),
        Some(json!({ "plugin": v1, "grant": gid, "risk_policy": POLICY,
            "session": live_session(json!(40000.0), &json!({})),
            "params": { "fast_period": "10", "slow_period": "20" } })),
    );
    assert_eq!(s, 201, "{d}");
    let dep = d["id"].as_str().unwrap().to_string();
    wait_for(120, "a fill on the live node", || {
        (figure(&api, &admin, &dep, "fills") > 0).then_some(())
    });

    // Hot-swap to v2 between two events of the live node.
    let (s, sw) = api.call(
        "PUT",
        &format!("/v1/deployments/{dep}/plugin"),
        Some(&admin),
        Some(json!({ "plugin": v2 })),
    );
    assert_eq!(s, 200, "{sw}");
    wait_for(60, "the swapped event", || {
        kinds(&api, &admin, &dep)
            .iter()
            .any(|k| k == "swapped")
            .then_some(())
    });
    let fills_at_swap = figure(&api, &admin, &dep, "fills");
    wait_for(120, "a fill by v2", || {
        (figure(&api, &admin, &dep, "fills") > fills_at_swap).then_some(())
    });

    // The service-wide kill switch: once the halt is acknowledged, no order leaves.
    let (s, h) = api.call(
        "POST",
        "/v1/halt",
        Some(&admin),
        Some(json!({ "reason": "live kill switch test" })),
    );
    assert_eq!(s, 200, "{h}");
    assert_eq!(h["trading_state"], "HALTED", "{h}");
    // The next progress event after the acknowledgement is the baseline: an order the gate
    // accepted before the halt may still have been filling when it arrived.
    let seq_at_halt = crate::service_e2e::events(&api, &admin, &dep)
        .last()
        .map_or(0, |e| e["seq"].as_u64().unwrap());
    let baseline = wait_for(30, "a progress event after the halt", || {
        crate::service_e2e::events(&api, &admin, &dep)
            .into_iter()
            .find(|e| e["seq"].as_u64() > Some(seq_at_halt) && e["event"]["kind"] == "progress")
            .map(|e| e["event"]["fills"].as_u64().unwrap())
    });
    let refused = figure(&api, &admin, &dep, "orders_refused");
    wait_for(120, "a refusal while halted", || {
        (figure(&api, &admin, &dep, "orders_refused") > refused).then_some(())
    });
    assert_eq!(
        figure(&api, &admin, &dep, "fills"),
        baseline,
        "an order was filled after the halt was acknowledged"
    );
    let (s, r) = api.call(
        "POST",
        "/v1/resume",
        Some(&admin),
        Some(json!({ "reason": "test over" })),
    );
    assert_eq!(s, 200, "{r}");
    wait_for(120, "a fill after the resume", || {
        (figure(&api, &admin, &dep, "fills") > baseline).then_some(())
    });

    // Stop: the session ends with its state and report, like a paper session.
    let outcome = stopped(&api, &admin, &dep);
    assert_eq!(outcome["quarantined"], false, "{outcome}");
    assert_eq!(outcome["stopped"], true, "{outcome}");
    assert!(outcome["snapshot_bytes"].as_u64().unwrap() > 0, "{outcome}");
    assert_eq!(outcome["sha256"], v2, "{outcome}");
    // Its recording cannot be replayed one for one: two versions decided.
    let folder = outcome["recording"].as_str().unwrap().to_string();
    let (code, _, stderr) = crate::fixtures::stratbox(&["backtest", "--replay-of", &folder]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("ran 2 versions (hot-swapped)"), "{stderr}");
    rt.block_on(server.shutdown());
}

/// Stops `dep` (`DELETE`) and waits (bounded) for its outcome.
pub(crate) fn stopped(api: &Api, token: &str, dep: &str) -> Value {
    let (s, out) = api.call(
        "DELETE",
        &format!("/v1/deployments/{dep}"),
        Some(token),
        None,
    );
    assert_eq!(s, 200, "{out}");
    wait_for(60, "the outcome", || {
        let (_, v) = api.call("GET", &format!("/v1/deployments/{dep}"), Some(token), None);
        (!v["outcome"].is_null()).then(|| v["outcome"].clone())
    })
}

/// Deploys with `session` and returns the status and body.
fn try_deploy(api: &Api, token: &str, digest: &str, grant: &str, session: Value) -> (u16, Value) {
    api.call(
        "POST",
        "/v1/deployments",
        Some(token),
        Some(
            json!({ "plugin": digest, "grant": grant, "risk_policy": POLICY,
            "session": session }),
        ),
    )
}

#[test]
fn real_orders_need_the_service_setting_and_an_approved_venue_grant() {
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", tmp.path().join("stratbox.db").display());
    let rt = runtime();
    let admin = admin_token(tmp.path(), &url);
    let live = json!({ "mode": "live", "venue": "BINANCE" });

    // 1. The service does not allow live venues (the default).
    let server = rt
        .block_on(Server::start(config(tmp.path(), url.clone())))
        .unwrap();
    let api = Api::new(server.addr);
    let mut venue_grant = gbpusd_grant();
    venue_grant["live_venues"] = json!(["BINANCE"]);
    let (digest, venue_gid) = granted(&api, &admin, artifacts::EMA_CROSS, &venue_grant);
    let (s, e) = try_deploy(
        &api,
        &admin,
        &digest,
        &venue_gid,
        live_session(json!("max"), &live),
    );
    assert_eq!(
        (s, e["error"].as_str()),
        (403, Some("live-venues-disabled")),
        "{e}"
    );
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("live_venues = true"),
        "{e}"
    );
    // mode and venue belong to live sessions only.
    let mut paper = session(json!("max"));
    paper["mode"] = json!("live");
    let (s, e) = try_deploy(&api, &admin, &digest, &venue_gid, paper);
    assert_eq!(s, 400, "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("\"kind\": \"live\""),
        "{e}"
    );
    rt.block_on(server.shutdown());

    // 2. Live venues allowed, but the grant approves paper only.
    let server = rt
        .block_on(Server::start(ServiceConfig {
            live_venues: true,
            ..config(tmp.path(), url.clone())
        }))
        .unwrap();
    let api = Api::new(server.addr);
    let (s, g) = api.call(
        "POST",
        "/v1/grants",
        Some(&admin),
        Some(json!({ "digest": digest, "reason": "paper only", "grant": gbpusd_grant() })),
    );
    assert_eq!(s, 201, "{g}");
    let paper_gid = g["id"].as_str().unwrap().to_string();
    let (s, a) = api.call(
        "POST",
        &format!("/v1/grants/{paper_gid}/approve"),
        Some(&admin),
        Some(json!({})),
    );
    assert_eq!(s, 200, "{a}");
    let (s, e) = try_deploy(
        &api,
        &admin,
        &digest,
        &paper_gid,
        live_session(json!("max"), &live),
    );
    assert_eq!(
        (s, e["error"].as_str()),
        (409, Some("grant-insufficient")),
        "{e}"
    );
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("\"live_venues\": [\"BINANCE\"]"),
        "{e}"
    );
    // A venue must be named.
    let (s, e) = try_deploy(
        &api,
        &admin,
        &digest,
        &venue_gid,
        live_session(json!("max"), &json!({ "mode": "live" })),
    );
    assert_eq!(s, 400, "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("session.venue"),
        "{e}"
    );

    // 3. Setting and grant in place: the service holds no configuration for the venue.
    let (s, e) = try_deploy(
        &api,
        &admin,
        &digest,
        &venue_gid,
        live_session(json!("max"), &live),
    );
    assert_eq!(
        (s, e["error"].as_str()),
        (422, Some("venue-unavailable")),
        "{e}"
    );

    // Paper live sessions need neither.
    let (s, d) = try_deploy(
        &api,
        &admin,
        &digest,
        &paper_gid,
        live_session(json!("max"), &json!({})),
    );
    assert_eq!(s, 201, "{d}");

    // Every refusal is in the audit trail, with its reason, before anything ran.
    let (s, trail) = api.call("GET", "/v1/audit?limit=1000", Some(&admin), None);
    assert_eq!(s, 200, "{trail}");
    let refusals: Vec<String> = trail
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "deploy-refused")
        .map(|r| {
            r["details"]["error"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    for code in [
        "live-venues-disabled",
        "grant-insufficient",
        "venue-unavailable",
    ] {
        assert!(
            refusals.iter().any(|r| r == code),
            "{code} not audited: {refusals:?}"
        );
    }
    rt.block_on(server.shutdown());
}

#[test]
fn a_finished_live_session_replays_as_a_backtest_with_every_decision_matched() {
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", tmp.path().join("stratbox.db").display());
    let rt = runtime();
    let admin = admin_token(tmp.path(), &url);
    let server = rt.block_on(Server::start(config(tmp.path(), url))).unwrap();
    let api = Api::new(server.addr);
    let (v1, gid) = granted(&api, &admin, artifacts::EMA_CROSS, &gbpusd_grant());
    let (s, d) = api.call(
        "POST",
        "/v1/deployments",
        Some(&admin),
        Some(json!({ "plugin": v1, "grant": gid, "risk_policy": POLICY,
            "session": live_session(json!("max"), &json!({})),
            "params": { "fast_period": "10", "slow_period": "20" } })),
    );
    assert_eq!(s, 201, "{d}");
    let dep = d["id"].as_str().unwrap().to_string();
    let outcome = wait_for(180, "the live session to end", || {
        let (_, v) = api.call("GET", &format!("/v1/deployments/{dep}"), Some(&admin), None);
        (!v["outcome"].is_null()).then(|| v["outcome"].clone())
    });
    assert!(
        outcome["recording_error"].is_null(),
        "{}",
        outcome["recording_error"]
    );
    let folder = std::path::PathBuf::from(outcome["recording"].as_str().unwrap());
    assert_eq!(folder, tmp.path().join("state/recordings").join(&dep));
    // Through the API.
    let (s, v) = api.call(
        "POST",
        &format!("/v1/deployments/{dep}/replay"),
        Some(&admin),
        Some(json!({})),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["matched"].as_bool(), v["events"].as_u64()),
        (Some(true), Some(30_117)),
        "{v}"
    );
    let (s, e) = api.call(
        "POST",
        "/v1/deployments/dep-000000000000/replay",
        Some(&admin),
        Some(json!({})),
    );
    assert_eq!((s, e["error"].as_str()), (404, Some("not-found")), "{e}");
    rt.block_on(server.shutdown());

    // By deployment id, from the service's recordings folder.
    let recordings = tmp.path().join("state/recordings");
    let (code, stdout, stderr) = crate::fixtures::stratbox(&[
        "backtest",
        "--replay-of",
        &dep,
        "--recordings",
        recordings.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 0, "{stderr}\n{stdout}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["matched"], true, "{v}");
    assert_eq!(v["events"], 30_117, "{v}");
    assert!(v["fills"].as_u64().unwrap() > 1_000, "{v}");
    assert_eq!(
        v["fills"],
        outcome["report"]["fills"].as_array().unwrap().len()
    );

    // The recorded feed is a catalog like any other.
    let (code, out, err) = crate::fixtures::stratbox(&[
        "catalog",
        "verify",
        "--catalog",
        folder.join("feed").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}\n{out}");

    // A recording whose decisions were altered shows the first divergence and exits 1.
    let decisions = folder.join("decisions.json");
    let mut report: Value = serde_json::from_slice(&std::fs::read(&decisions).unwrap()).unwrap();
    report["fills"][7]["last_px"] = json!("9.99999");
    std::fs::write(&decisions, serde_json::to_vec(&report).unwrap()).unwrap();
    let (code, stdout, stderr) =
        crate::fixtures::stratbox(&["backtest", "--replay-of", folder.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}\n{stdout}");
    assert!(stdout.contains("decisions diverge at fill 7"), "{stdout}");
    assert!(stdout.contains("9.99999"), "{stdout}");
    // Not a recording: a clear error.
    let (code, _, stderr) = crate::fixtures::stratbox(&[
        "backtest",
        "--replay-of",
        "dep-none",
        "--recordings",
        recordings.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no recording in"), "{stderr}");
    // A folder that is not a recording.
    let (code, _, stderr) = crate::fixtures::stratbox(&[
        "backtest",
        "--replay-of",
        folder.join("feed").to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("is this a recording folder?"), "{stderr}");
}
