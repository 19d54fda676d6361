//! A deployment on a real venue (`session.mode = "live"`, decision 0034): the service holds
//! the venue's configuration (`[venues.BINANCE]`, keys read from a file), allows live venues,
//! and an admin approved a grant naming the venue. The component then trades Binance spot
//! through Nautilus's adapter against the loopback venue (the same one as `live_venue`):
//! its order is signed and placed on the venue, the venue's fill reaches the deployment's
//! progress and report, the start is audited with the venue's account and endpoints, and
//! every way the venue cannot be used is refused with a clear reason before anything trades.

use std::{os::unix::fs::PermissionsExt, path::Path};

use serde_json::{Value, json};
use stratbox::{
    nautilus::live::venue::keys::ed25519_pkcs8_base64,
    service::{Server, ServiceConfig},
};
use stratbox_artifacts as artifacts;

use crate::{
    live_venue::{API_KEY, POLICY, SEED, loopback::Loopback, script},
    service_e2e::{Api, admin_token, config, runtime, wait_for},
    service_kill_switch::figure,
    service_live::{granted, stopped},
};

/// Writes the loopback account's keys to `path`, readable by `mode`.
pub(crate) fn write_keys(path: &Path, mode: u32) {
    std::fs::write(
        path,
        format!(
            "api_key = \"{API_KEY}\"\napi_secret = \"{}\"\n",
            ed25519_pkcs8_base64(&SEED)
        ),
    )
    .unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A service configuration that allows live venues and holds `[venues.BINANCE]`, the
/// loopback `venue` with its keys in `keys`.
pub(crate) fn service_toml(venue: &Loopback, keys: &Path) -> String {
    format!(
        "live_venues = true\n[venues.BINANCE]\nvenue = \"binance-spot\"\nenvironment = \"testnet\"\nkeys = {{ file = \"{}\" }}\n[venues.BINANCE.urls]\nhttp = \"{}\"\nws_stream = \"{}\"\nws_api = \"{}\"\n",
        keys.display(),
        venue.http(),
        venue.ws_stream(),
        venue.ws_api()
    )
}

/// Requests `grant` for the uploaded `digest` and approves it; the grant's id.
pub(crate) fn approved(api: &Api, admin: &str, digest: &str, grant: &Value) -> String {
    let (s, g) = api.call(
        "POST",
        "/v1/grants",
        Some(admin),
        Some(json!({ "digest": digest, "reason": "live tests", "grant": grant })),
    );
    assert_eq!(s, 201, "{g}");
    let gid = g["id"].as_str().unwrap().to_string();
    let (s, g) = api.call(
        "POST",
        &format!("/v1/grants/{gid}/approve"),
        Some(admin),
        Some(json!({})),
    );
    assert_eq!(s, 200, "{g}");
    gid
}

pub(crate) fn btc_grant() -> Value {
    json!({
        "capabilities": {
            "market-data": { "instruments": ["BTCUSDT.BINANCE"] },
            "risk-gate": { "instruments": ["BTCUSDT.BINANCE"] }
        },
        "live_venues": ["BINANCE"]
    })
}

pub(crate) fn venue_session(extra: &Value) -> Value {
    let mut s = json!({
        "kind": "live", "mode": "live", "venue": "BINANCE", "instrument": "BTCUSDT.BINANCE"
    });
    for (k, v) in extra.as_object().unwrap() {
        s[k] = v.clone();
    }
    s
}

#[test]
fn a_deployment_trades_a_configured_venue_through_its_risk_gate() {
    let venue = Loopback::start(script());
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", tmp.path().join("stratbox.db").display());
    let rt = runtime();
    let admin = admin_token(tmp.path(), &url);
    // The keys in a file only its owner may read (written readable by all first, to check
    // that such a file is refused).
    let keys = tmp.path().join("binance-testnet.toml");
    write_keys(&keys, 0o644);
    // The configuration as an operator writes it, over the tests' defaults.
    let written: ServiceConfig = toml::from_str(&service_toml(&venue, &keys)).unwrap();
    written.check().unwrap();
    let service = ServiceConfig {
        live_venues: written.live_venues,
        venues: written.venues,
        ..config(tmp.path(), url)
    };
    let server = rt.block_on(Server::start(service)).unwrap();
    let api = Api::new(server.addr);
    let (digest, gid) = granted(&api, &admin, artifacts::EMA_CROSS, &btc_grant());
    let deploy = |session: Value| {
        api.call(
            "POST",
            "/v1/deployments",
            Some(&admin),
            Some(
                json!({ "plugin": digest, "grant": gid, "risk_policy": POLICY,
                "session": session,
                "params": { "trade_size": "0.001", "fast_period": "2", "slow_period": "3" } }),
            ),
        )
    };

    // Refused before anything trades: keys others can read, replay-only fields, an
    // instrument of another venue or one the venue does not list.
    let (s, e) = deploy(venue_session(&json!({})));
    assert_eq!(
        (s, e["error"].as_str()),
        (422, Some("venue-unavailable")),
        "{e}"
    );
    assert!(e["message"].as_str().unwrap().contains("chmod 600"), "{e}");
    std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (s, e) = deploy(venue_session(
        &json!({ "data": "fxcm/gbpusd-m1-bid-2012.csv" }),
    ));
    assert_eq!(s, 400, "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("session.data does not apply"),
        "{e}"
    );
    let (s, e) = deploy(venue_session(&json!({ "instrument": "GBP/USD.FXCM" })));
    assert_eq!(s, 400, "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("is not on BINANCE"),
        "{e}"
    );
    let (s, e) = deploy(venue_session(&json!({ "instrument": "DOGEUSDT.BINANCE" })));
    assert_eq!(
        (s, e["error"].as_str()),
        (422, Some("venue-unavailable")),
        "{e}"
    );
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("not among the 2 instruments"),
        "{e}"
    );
    assert!(
        venue.records().ws_api.is_empty(),
        "no refused deployment reached the venue's order API"
    );

    // Everything in place: ema-cross(2, 3) buys once on the venue's quotes.
    let (s, d) = deploy(venue_session(&json!({})));
    assert_eq!(s, 201, "{d}");
    let dep = d["id"].as_str().unwrap().to_string();
    wait_for(60, "the venue's fill", || {
        (figure(&api, &admin, &dep, "fills") > 0).then_some(())
    });
    let placed: Vec<_> = venue
        .records()
        .ws_api
        .into_iter()
        .filter(|c| c.method == "order.place")
        .collect();
    assert_eq!(placed.len(), 1, "{placed:?}");

    // The start was audited with the venue, the account and the endpoints (no secret).
    let (s, trail) = api.call("GET", "/v1/audit?limit=1000", Some(&admin), None);
    assert_eq!(s, 200, "{trail}");
    let deployed = trail
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["action"] == "deployed" && r["subject"] == format!("deployment {dep}"))
        .unwrap_or_else(|| panic!("no deployed record: {trail}"));
    let v = &deployed["details"]["venue"];
    assert_eq!(
        (
            v["name"].as_str(),
            v["account"].as_str(),
            v["environment"].as_str()
        ),
        (Some("BINANCE"), Some("BINANCE-001"), Some("testnet")),
        "{deployed}"
    );
    assert_eq!(v["real_money"], false, "{deployed}");
    assert_eq!(v["endpoints"]["http"], venue.http(), "{deployed}");
    assert!(!trail.to_string().contains(&ed25519_pkcs8_base64(&SEED)));

    // Stopped: the report holds the venue's fill.
    let outcome = stopped(&api, &admin, &dep);
    let fills = outcome["report"]["fills"].as_array().unwrap();
    assert_eq!(fills.len(), 1, "{outcome}");
    assert_eq!(
        (fills[0]["side"].as_str(), fills[0]["last_px"].as_str()),
        (Some("BUY"), Some("30080.50")),
        "{outcome}"
    );
    assert!(outcome["recording"].is_null(), "{outcome}");
    rt.block_on(server.shutdown());
}
