//! `stratbox translate --watch`: a folder and an HTTP registry of definitions are followed;
//! a changed definition is translated again, a broken one is reported and the last good
//! translation stays, and with a host service the running deployment is hot-swapped.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use serde_json::{Value, json};
use stratbox::{
    service::{Server, ServiceConfig, auth::Role},
    translate::{
        self, Options,
        watch::{self, Event, Service, Source, State},
    },
};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn definition(id: &str) -> Value {
    let text = std::fs::read_to_string(format!("{ROOT}/plugins/definitions/{id}.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn options(out: &Path, build: bool) -> Options {
    let mut o = Options::new(out);
    o.build = build;
    o.target_dir = crate::fixtures::guest_target();
    o.smoke_events = 3_000;
    o
}

fn write(dir: &Path, name: &str, v: &Value) {
    std::fs::write(dir.join(name), serde_json::to_vec_pretty(v).unwrap()).unwrap();
}

fn translated(events: &[Event]) -> Vec<(String, Option<String>)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Translated {
                version,
                component_sha256,
                ..
            } => Some((version.clone(), component_sha256.clone())),
            _ => None,
        })
        .collect()
}

fn failures(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Failed { error, .. } => Some(error.clone()),
            _ => None,
        })
        .collect()
}

/// Files of the output folder other than the build folder.
fn listing(out: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != ".target")
        .collect();
    names.sort();
    names
}

#[test]
fn a_watched_folder_is_translated_again_on_change_and_a_broken_change_keeps_the_last_good() {
    let defs = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let opts = options(out.path(), true);
    let source = Source::Dir(defs.path().to_path_buf());
    let mut state = State::default();
    let mut def = definition("momentum-rsi");
    write(defs.path(), "momentum-rsi.json", &def);
    std::fs::write(defs.path().join("notes.txt"), "not a definition").unwrap();

    let first = watch::poll(&mut state, &source, &opts, None);
    let t = translated(&first);
    assert_eq!(t.len(), 1, "{first:?}");
    assert_eq!(t[0].0, "1.0.0");
    let c1 = t[0].1.clone().expect("built");
    assert!(failures(&first).is_empty(), "{first:?}");

    // Nothing changed: nothing happens.
    assert_eq!(watch::poll(&mut state, &source, &opts, None), vec![]);

    // A new version with a different parameter default: translated again.
    def["version"] = json!("1.1.0");
    def["parameters"][1]["default"] = json!(21);
    write(defs.path(), "momentum-rsi.json", &def);
    let second = watch::poll(&mut state, &source, &opts, None);
    let t = translated(&second);
    assert_eq!(t.len(), 1, "{second:?}");
    assert_eq!(t[0].0, "1.1.0");
    let c2 = t[0].1.clone().unwrap();
    assert_ne!(c1, c2, "a changed definition gives a different component");
    let good = listing(out.path());
    let wasm = std::fs::read(out.path().join("momentum-rsi-1.1.0.wasm")).unwrap();

    // A broken change: refused with its reason, the last good translation untouched.
    def["version"] = json!("1.2.0");
    def["parameters"][3]["default"] = json!(70.0); // lower above upper
    write(defs.path(), "momentum-rsi.json", &def);
    let third = watch::poll(&mut state, &source, &opts, None);
    assert!(translated(&third).is_empty(), "{third:?}");
    let f = failures(&third);
    assert_eq!(f.len(), 1, "{third:?}");
    assert!(f[0].contains("lower < upper"), "{}", f[0]);
    assert_eq!(
        listing(out.path()),
        good,
        "a refused translation wrote something"
    );
    assert_eq!(
        std::fs::read(out.path().join("momentum-rsi-1.1.0.wasm")).unwrap(),
        wasm
    );
    // Reported once, not on every poll.
    assert_eq!(watch::poll(&mut state, &source, &opts, None), vec![]);

    // Provenance: each accepted translation, definition hash → component hash.
    let log = translate::provenance(out.path()).unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(
        log.iter()
            .map(|r| (
                r.definition_version.as_str(),
                r.component_sha256.clone().unwrap()
            ))
            .collect::<Vec<_>>(),
        vec![("1.0.0", c1), ("1.1.0", c2)]
    );
    assert_ne!(log[0].definition_sha256, log[1].definition_sha256);
    let mapping: Value = serde_json::from_slice(
        &std::fs::read(out.path().join("momentum-rsi-1.1.0/mapping.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        mapping["definition_sha256"],
        json!(log[1].definition_sha256)
    );
    let period = mapping["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["definition"] == "period")
        .unwrap_or_else(|| panic!("no period mapping in {mapping}"))
        .clone();
    assert_eq!(period["default"], json!(21), "{period}");
}

/// A registry over HTTP: `GET /index.json` lists the definitions, each at its own link.
struct Registry {
    base: String,
    docs: Arc<Mutex<BTreeMap<String, String>>>,
    _rt: tokio::runtime::Runtime,
}

fn registry() -> Registry {
    use axum::{
        Router,
        extract::{Path as UrlPath, State as Shared},
        http::StatusCode,
        routing::get,
    };
    type Docs = Arc<Mutex<BTreeMap<String, String>>>;
    let docs: Docs = Arc::default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let app = Router::new()
        .route(
            "/index.json",
            get(|Shared(d): Shared<Docs>| async move {
                let links: Vec<String> = d
                    .lock()
                    .unwrap()
                    .keys()
                    .map(|k| format!("/defs/{k}"))
                    .collect();
                serde_json::to_string(&links).unwrap()
            }),
        )
        .route(
            "/defs/{name}",
            get(
                |Shared(d): Shared<Docs>, UrlPath(name): UrlPath<String>| async move {
                    d.lock()
                        .unwrap()
                        .get(&name)
                        .cloned()
                        .ok_or(StatusCode::NOT_FOUND)
                },
            ),
        )
        .with_state(Arc::clone(&docs));
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move { axum::serve(listener, app).await });
    Registry {
        base: format!("http://{addr}"),
        docs,
        _rt: rt,
    }
}

#[test]
fn an_http_registry_is_followed() {
    let reg = registry();
    let out = tempfile::tempdir().unwrap();
    // Crates only: building is covered by the folder test; this one is about the source.
    let opts = options(out.path(), false);
    let source = Source::parse(&format!("{}/index.json", reg.base));
    assert!(matches!(source, Source::Url(_)));
    let mut state = State::default();
    let mut ema = definition("trend-ema-cross");
    reg.docs
        .lock()
        .unwrap()
        .insert("ema.json".into(), ema.to_string());
    reg.docs.lock().unwrap().insert(
        "bb.json".into(),
        definition("meanrev-bollinger").to_string(),
    );

    let first = watch::poll(&mut state, &source, &opts, None);
    let mut t: Vec<String> = first
        .iter()
        .filter_map(|e| match e {
            Event::Translated { id, .. } => Some(id.clone()),
            _ => None,
        })
        .collect();
    t.sort();
    assert_eq!(t, ["meanrev-bollinger", "trend-ema-cross"], "{first:?}");
    assert_eq!(watch::poll(&mut state, &source, &opts, None), vec![]);

    // One changes on the registry: only it is translated again.
    ema["version"] = json!("1.0.1");
    ema["parameters"][2]["default"] = json!(60);
    reg.docs
        .lock()
        .unwrap()
        .insert("ema.json".into(), ema.to_string());
    let second = watch::poll(&mut state, &source, &opts, None);
    assert_eq!(
        translated(&second),
        vec![("1.0.1".to_string(), None)],
        "{second:?}"
    );
    assert!(
        out.path()
            .join("trend-ema-cross-1.0.1/program.json")
            .is_file()
    );

    // A definition that is not valid JSON: reported with the place of the error.
    reg.docs
        .lock()
        .unwrap()
        .insert("bad.json".into(), "{\"schema\": ".into());
    let third = watch::poll(&mut state, &source, &opts, None);
    let f = failures(&third);
    assert_eq!(f.len(), 1, "{third:?}");
    assert!(f[0].contains("bad.json:1:"), "{}", f[0]);

    // The registry itself gone: one source failure, nothing else.
    let gone = Source::parse(&format!("{}/missing-index.json", reg.base));
    let e = watch::poll(&mut State::default(), &gone, &opts, None);
    assert!(
        matches!(&e[..], [Event::SourceFailed { error }] if error.contains("HTTP 404")),
        "{e:?}"
    );
}

const POLICY: &str = r#"
version = "watch"
currency = "USD"

[defaults]
max_order_quantity = "1000000"
max_position = "1000000"
allowed_instruments = ["GBP/USD.FXCM"]
"#;

fn call(
    agent: &ureq::Agent,
    base: &str,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let url = format!("{base}{path}");
    let auth = format!("Bearer {token}");
    let resp = match method {
        "GET" => agent.get(&url).header("Authorization", &auth).call(),
        "POST" => agent
            .post(&url)
            .header("Authorization", &auth)
            .send_json(body.unwrap_or(json!({}))),
        other => panic!("method {other}"),
    };
    let mut resp = resp.unwrap();
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[test]
fn a_changed_definition_hot_swaps_the_running_deployment() {
    let tmp = tempfile::tempdir().unwrap();
    let defs = tmp.path().join("defs");
    std::fs::create_dir(&defs).unwrap();
    let out = tmp.path().join("out");
    let opts = options(&out, true);

    // v1, translated before the service knows it.
    let mut def = definition("trend-ema-cross");
    write(&defs, "ema.json", &def);
    let v1 = translate::translate_file(&defs.join("ema.json"), &opts).unwrap();
    let v1_path = v1.component_path.clone().unwrap();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let db = format!("sqlite://{}", tmp.path().join("stratbox.db").display());
    let admin = stratbox::service::create_token(
        &db,
        &tmp.path().join("state/audit-signing.key"),
        "root",
        Role::Admin,
    )
    .unwrap();
    let server = rt
        .block_on(Server::start(ServiceConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            database_url: db,
            state_dir: tmp.path().join("state"),
            data_dir: PathBuf::from(ROOT).join("data"),
            probation_events: 50,
            ..ServiceConfig::default()
        }))
        .unwrap();
    let base = format!("http://{}", server.addr);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into();
    let api = |method: &str, path: &str, body: Option<Value>| {
        call(&agent, &base, method, path, &admin, body)
    };

    // Upload v1, grant it market data and the risk gate on GBP/USD, deploy it paced.
    let mut resp = agent
        .post(format!("{base}/v1/plugins"))
        .header("Authorization", format!("Bearer {admin}"))
        .header("Content-Type", "application/wasm")
        .send(&std::fs::read(&v1_path).unwrap()[..])
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let up: Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    let d1 = up["digest"].as_str().unwrap().to_string();
    assert_eq!(Some(&d1), v1.record.component_sha256.as_ref());
    let (s, g) = api(
        "POST",
        "/v1/grants",
        Some(json!({ "digest": d1, "reason": "watch test",
            "grant": { "capabilities": {
                "market-data": { "instruments": ["GBP/USD.FXCM"] },
                "risk-gate": { "instruments": ["GBP/USD.FXCM"] } } } })),
    );
    assert_eq!(s, 201, "{g}");
    let gid = g["id"].as_str().unwrap().to_string();
    let (s, g) = api(
        "POST",
        &format!("/v1/grants/{gid}/approve"),
        Some(json!({})),
    );
    assert_eq!(s, 200, "{g}");
    let (s, dep) = api(
        "POST",
        "/v1/deployments",
        Some(json!({ "plugin": d1, "grant": gid, "risk_policy": POLICY,
            "session": { "data": "fxcm/gbpusd-m1-bid-2012.csv", "format": "fxcm-quotes",
                         "instrument": "GBP/USD.FXCM", "speed": 3000.0 } })),
    );
    assert_eq!(s, 201, "{dep}");
    let id = dep["id"].as_str().unwrap().to_string();

    // The watch first sees v1 as it is: translated again (same component), uploaded
    // (already there), nothing to swap.
    // Separation of duties: an author's token uploads, an operator's swaps.
    let token = |name: &str, role: &str| {
        let (s, v) = api(
            "POST",
            "/v1/tokens",
            Some(json!({ "name": name, "role": role })),
        );
        assert_eq!(s, 201, "{v}");
        v["token"].as_str().unwrap().to_string()
    };
    let service = Service {
        server: base.clone(),
        token: token("otto", "operator"),
        upload_token: Some(token("ada", "author")),
    };
    let source = Source::Dir(defs.clone());
    let mut state = State::default();
    let first = watch::poll(&mut state, &source, &opts, Some(&service));
    assert!(
        first.iter().all(|e| !matches!(
            e,
            Event::Swapped { .. } | Event::SwapFailed { .. } | Event::Failed { .. }
        )),
        "{first:?}"
    );

    // v1.1: the definition changes; the running deployment moves to the new component.
    def["version"] = json!("1.1.0");
    def["description"] = json!("EMA cross, second revision of the definition.");
    write(&defs, "ema.json", &def);
    let second = watch::poll(&mut state, &source, &opts, Some(&service));
    // A grant covers one upload: the watch asks for one with the running grant's scope,
    // and the swap waits for an admin's approval.
    let requested = match second
        .iter()
        .find(|e| matches!(e, Event::GrantRequested { .. }))
    {
        Some(Event::GrantRequested { grant, .. }) => grant.clone(),
        _ => panic!("no grant requested: {second:?}"),
    };
    assert!(
        !second.iter().any(|e| matches!(e, Event::Swapped { .. })),
        "{second:?}"
    );
    let waiting = watch::poll(&mut state, &source, &opts, Some(&service));
    assert!(waiting.is_empty(), "still waiting: {waiting:?}");
    let (s, g) = api(
        "POST",
        &format!("/v1/grants/{requested}/approve"),
        Some(json!({ "note": "same scope" })),
    );
    assert_eq!(s, 200, "{g}");
    assert_eq!(
        g["spec"]["capabilities"]["risk-gate"]["instruments"][0],
        "GBP/USD.FXCM"
    );
    let second = watch::poll(&mut state, &source, &opts, Some(&service));
    let d2 = match second.iter().find(|e| matches!(e, Event::Swapped { .. })) {
        Some(Event::Swapped {
            deployment,
            from,
            to,
        }) => {
            assert_eq!((deployment, from), (&id, &d1));
            to.clone()
        }
        _ => panic!("no swap: {second:?}"),
    };
    assert_ne!(d2, d1);
    let (_, now) = api("GET", &format!("/v1/deployments/{id}"), None);
    assert_eq!(
        (now["digest"].as_str(), now["status"].as_str()),
        (Some(d2.as_str()), Some("running")),
        "{now}"
    );
    // The watch told the service how each translation went (as the author).
    let reported = || {
        let (s, v) = api("GET", "/v1/translations", None);
        assert_eq!(s, 200, "{v}");
        let rows = v.as_array().unwrap().clone();
        assert_eq!(rows.len(), 1, "one definition: {v}");
        rows[0].clone()
    };
    let row = reported();
    assert_eq!(row["status"], "translated", "{row}");
    assert_eq!(row["version"], "1.1.0", "{row}");
    assert_eq!(row["component_sha256"].as_str(), Some(d2.as_str()), "{row}");
    assert!(
        row["origin"].as_str().unwrap().ends_with("ema.json"),
        "{row}"
    );
    assert_eq!(row["reported_by"], "ada (author)", "{row}");

    // A broken change: reported, the deployment keeps running v1.1.
    def["version"] = json!("1.2.0");
    def["parameters"][1]["default"] = json!(0); // fast period below its range
    write(&defs, "ema.json", &def);
    let third = watch::poll(&mut state, &source, &opts, Some(&service));
    let f = failures(&third);
    assert_eq!(f.len(), 1, "{third:?}");
    assert!(f[0].contains("fast_period"), "{}", f[0]);
    assert!(
        !third
            .iter()
            .any(|e| matches!(e, Event::Uploaded { .. } | Event::Swapped { .. }))
    );
    let (_, now) = api("GET", &format!("/v1/deployments/{id}"), None);
    assert_eq!(
        (now["digest"].as_str(), now["status"].as_str()),
        (Some(d2.as_str()), Some("running")),
        "{now}"
    );
    let row = reported();
    assert_eq!(row["status"], "failed", "{row}");
    assert!(
        row["error"].as_str().unwrap().contains("fast_period"),
        "{row}"
    );
    assert_eq!(row["component_sha256"], Value::Null, "{row}");

    // The audit trail holds the swap.
    let (s, audit) = api("GET", "/v1/audit?limit=1000", None);
    assert_eq!(s, 200, "{audit}");
    assert!(
        audit.to_string().contains(&d2),
        "the swap to {d2} is not audited"
    );
    rt.block_on(server.shutdown());
}
