//! Recovery after kill -9 (decision 0031): `stratbox serve` runs two live paper deployments
//! of ema-cross on GBP/USD and is killed with SIGKILL while they trade; one signal was
//! acknowledged just before. Started again on the same database and state folder:
//! - the first deployment, killed while it held a position, resumes from its checkpoint
//!   (the position restored in Nautilus and reconciled with the gate), finishes, has every
//!   order once and its recording replays as a backtest with every decision matched; the
//!   signal was delivered exactly once;
//! - the second one's checkpoint was edited (a balance the venue never had, checksum
//!   recomputed): it resumes HALTED, with the mismatch audited, and sends no order;
//! - a paper (backtest-engine) deployment is marked `interrupted`, audited, not resumed;
//! - so is a deployment on a real venue (the loopback Binance), whose orders and balances
//!   at the venue are for an operator to check (decision 0034).

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
};

use serde_json::{Value, json};
use stratbox_artifacts as artifacts;

use crate::{
    live_venue::{POLICY as VENUE_POLICY, loopback::Loopback, script},
    service_e2e::{Api, POLICY, SERIAL, admin_token, session, wait_for},
    service_live::{gbpusd_grant, granted, live_session},
    service_venue::{approved, btc_grant, service_toml, venue_session, write_keys},
};

const BIN: &str = env!("CARGO_BIN_EXE_stratbox");

/// `stratbox serve` on a free loopback port.
struct Serve {
    child: Child,
    api: Api,
}

impl Serve {
    /// `stratbox serve --config <tmp>/service.toml ...`.
    fn start(url: &str, tmp: &Path) -> Self {
        let state = tmp.join("state");
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--database-url", url])
            .arg("--config")
            .arg(tmp.join("service.toml"))
            .arg("--state-dir")
            .arg(&state)
            .arg("--data-dir")
            .arg(crate::fixtures::DATA)
            .arg("--audit-key")
            .arg(state.join("audit-signing.key"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let addr = loop {
            let Some(Ok(line)) = lines.next() else {
                let status = child.wait().unwrap();
                panic!("serve exited ({status}) before listening");
            };
            if let Some(addr) = line.strip_prefix("stratbox service listening on http://") {
                break addr.trim().parse().unwrap();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Self {
            child,
            api: Api::new(addr),
        }
    }

    /// SIGKILL: no shutdown, no snapshot, no last audit record.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    fn term(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "serve exited with {status}");
    }
}

fn deploy(api: &Api, admin: &str, digest: &str, grant: &str, session: Value) -> String {
    let (s, d) = api.call(
        "POST",
        "/v1/deployments",
        Some(admin),
        Some(
            json!({ "plugin": digest, "grant": grant, "risk_policy": POLICY,
            "session": session,
            "params": { "fast_period": "10", "slow_period": "20" } }),
        ),
    );
    assert_eq!(s, 201, "{d}");
    d["id"].as_str().unwrap().to_string()
}

fn view(api: &Api, admin: &str, dep: &str) -> Value {
    let (s, v) = api.call("GET", &format!("/v1/deployments/{dep}"), Some(admin), None);
    assert_eq!(s, 200, "{v}");
    v
}

fn audit(api: &Api, admin: &str) -> Vec<Value> {
    let mut all: Vec<Value> = Vec::new();
    loop {
        let after = all.last().map_or(0, |r| r["seq"].as_u64().unwrap());
        let (s, v) = api.call(
            "GET",
            &format!("/v1/audit?limit=10000&after={after}"),
            Some(admin),
            None,
        );
        assert_eq!(s, 200, "{v}");
        let page = v.as_array().unwrap();
        if page.is_empty() {
            return all;
        }
        all.extend(page.iter().cloned());
    }
}

/// Rewrites `dep`'s checkpoint with `edit` applied and its checksum recomputed.
fn edit_checkpoint(state: &Path, dep: &str, edit: impl FnOnce(&mut Value)) {
    let path = state.join("checkpoints").join(format!("{dep}.json"));
    let text = std::fs::read_to_string(&path).unwrap();
    let (_, body) = text.split_once('\n').unwrap();
    let mut cp: Value = serde_json::from_str(body.trim_end()).unwrap();
    edit(&mut cp);
    let body = serde_json::to_vec(&cp).unwrap();
    let sum = stratbox::sandbox::sha256_hex(&body);
    std::fs::write(
        &path,
        format!("{sum}\n{}\n", String::from_utf8(body).unwrap()),
    )
    .unwrap();
}

#[test]
fn a_killed_service_resumes_its_live_deployments_from_their_checkpoints() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let tmp = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        tmp.path().join("stratbox.db").display()
    );
    let admin = admin_token(tmp.path(), &url);
    let state = tmp.path().join("state");
    let venue = Loopback::start(script());
    let keys = tmp.path().join("binance-keys.toml");
    write_keys(&keys, 0o600);
    std::fs::write(tmp.path().join("service.toml"), service_toml(&venue, &keys)).unwrap();

    let serve = Serve::start(&url, tmp.path());
    let api = &serve.api;
    let (digest, grant) = granted(api, &admin, artifacts::EMA_CROSS, &gbpusd_grant());
    let btc_grant = approved(api, &admin, &digest, &btc_grant());
    let (s, d) = api.call(
        "POST",
        "/v1/deployments",
        Some(&admin),
        Some(
            json!({ "plugin": digest, "grant": btc_grant, "risk_policy": VENUE_POLICY,
            "session": venue_session(&json!({})),
            "params": { "trade_size": "0.001", "fast_period": "2", "slow_period": "3" } }),
        ),
    );
    assert_eq!(s, 201, "{d}");
    let on_venue = d["id"].as_str().unwrap().to_string();
    // A month of minutes at 100,000x: about 25 s of trading.
    let speed = json!(100_000);
    let good = deploy(
        api,
        &admin,
        &digest,
        &grant,
        live_session(speed.clone(), &json!({})),
    );
    let edited = deploy(
        api,
        &admin,
        &digest,
        &grant,
        live_session(speed, &json!({})),
    );
    let paper = deploy(api, &admin, &digest, &grant, session(json!(1_000)));
    // Killed while the first one holds a position (its checkpoint says so), so that the
    // resume has one to restore.
    let checkpoint = |d: &str| -> Option<Value> {
        let text = std::fs::read_to_string(state.join(format!("checkpoints/{d}.json"))).ok()?;
        serde_json::from_str(text.split_once('\n')?.1.trim_end()).ok()
    };
    wait_for(120, "both live deployments to trade and checkpoint", || {
        let fed = |d: &str| view(api, &admin, d)["events_fed"].as_u64().unwrap_or(0);
        (fed(&good) >= 8_000
            && fed(&edited) >= 8_000
            && checkpoint(&good).is_some()
            && checkpoint(&edited).is_some())
        .then_some(())
    });
    let signal = json!({
        "signal_id": "recovery-1", "signal_type": "REGIME_PREDICTION",
        "instrument_id": "GBP/USD.FXCM", "timestamp": 1_328_054_400_000_000_000_u64,
        "confidence": 0.8, "value": "trending", "metadata": {}, "source_model": "desk",
    });
    let (s, v) = api.call("POST", "/v1/signals", Some(&admin), Some(signal));
    assert_eq!((s, v["accepted"].as_u64()), (200, Some(1)), "{v}");
    // Killed the moment the first one's checkpoint holds a position (it trades every few
    // ticks, so the kill usually lands before the next checkpoint replaces it).
    wait_for(60, "a checkpoint with a position", || {
        checkpoint(&good)
            .is_some_and(|c| {
                c["venue"]["positions"]
                    .as_array()
                    .is_some_and(|p| !p.is_empty())
            })
            .then_some(())
    });
    serve.kill();

    // The second deployment's checkpoint has the venue holding a position its gate never
    // had (the checksum recomputed, as a careful forger would).
    let mut orders_at_checkpoint = 0;
    // It also claims to predate the signal: the signal must come from the journal's tail.
    edit_checkpoint(&state, &edited, |cp| {
        cp["venue"]["positions"] = json!([{ "instrument_id": "GBP/USD.FXCM", "side": "LONG",
            "quantity": "300000", "avg_px_open": 1.5 }]);
        cp["signals"] = json!([]);
        cp["journal"] = json!(0);
        orders_at_checkpoint = cp["decisions"]["orders"].as_array().unwrap().len();
    });
    assert!(orders_at_checkpoint > 0, "it traded before the kill");

    let serve = Serve::start(&url, tmp.path());
    let api = &serve.api;
    let records = audit(api, &admin);
    let resumed: Vec<&Value> = records
        .iter()
        .filter(|r| r["action"] == "deployment-resumed")
        .collect();
    assert_eq!(resumed.len(), 2, "{resumed:#?}");
    let of = |dep: &str| {
        *resumed
            .iter()
            .find(|r| r["subject"] == format!("deployment {dep}"))
            .unwrap()
    };
    assert!(
        of(&good)["details"]["problems"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(of(&good)["details"]["events"].as_u64().unwrap() >= 8_000);
    // What the kill left for the resume to restore (the checkpoint is read after the kill).
    let restored = &of(&good)["details"]["venue"]["positions"];
    let interrupted = records
        .iter()
        .find(|r| {
            r["subject"] == format!("deployment {paper}") && r["details"]["status"] == "interrupted"
        })
        .unwrap_or_else(|| panic!("the paper deployment's interruption is audited"));
    assert!(
        interrupted["details"]["reason"]
            .as_str()
            .unwrap()
            .contains("not resumed"),
        "{interrupted}"
    );
    let (s, all) = api.call("GET", "/v1/deployments", Some(&admin), None);
    assert_eq!(s, 200, "{all}");
    let status = |dep: &str| {
        all.as_array()
            .unwrap()
            .iter()
            .find(|d| d["id"] == dep)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(status(&paper), "interrupted", "{all}");
    // The venue deployment is not resumed either: its reason names the venue.
    assert_eq!(status(&on_venue), "interrupted", "{all}");
    let venue_reason =
        records
            .iter()
            .find(|r| {
                r["subject"] == format!("deployment {on_venue}")
                    && r["details"]["status"] == "interrupted"
            })
            .unwrap_or_else(|| panic!("the venue deployment's interruption is audited"))["details"]
            ["reason"]
            .to_string();
    assert!(
        venue_reason.contains("real venue (BINANCE) is not resumed"),
        "{venue_reason}"
    );

    // The edited one is HALTED before it trades, with the mismatch audited.
    let mismatch = wait_for(60, "the mismatch to be audited", || {
        audit(api, &admin).into_iter().find(|r| {
            r["action"] == "position-mismatch" && r["subject"] == format!("deployment {edited}")
        })
    });
    let problems = mismatch["details"]["problems"].to_string();
    assert!(problems.contains("position in GBP/USD.FXCM"), "{mismatch}");
    let v = view(api, &admin, &edited);
    assert_eq!(v["trading_state"], "HALTED", "{v}");

    // The good one runs to the end; every decision matches a backtest of its feed.
    let outcome = wait_for(240, "the resumed deployment to finish", || {
        let v = view(api, &admin, &good);
        (!v["outcome"].is_null()).then(|| v["outcome"].clone())
    });
    assert_eq!(view(api, &admin, &good)["status"], "finished", "{outcome}");
    assert_eq!(outcome["events"], 30_117, "{outcome}");
    let orders = outcome["report"]["orders"].as_array().unwrap();
    let mut ids: Vec<&str> = orders
        .iter()
        .map(|o| o["client_order_id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), orders.len(), "every order once");
    assert!(
        ids.iter().all(|id| id.starts_with("O-")),
        "no restore order in the report"
    );
    let (s, r) = api.call(
        "POST",
        &format!("/v1/deployments/{good}/replay"),
        Some(&admin),
        Some(json!({})),
    );
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["matched"], true, "{r}");
    assert_eq!(r["orders"].as_u64(), Some(orders.len() as u64), "{r}");
    if std::env::var_os("RECOVERY_KEEP").is_some() {
        eprintln!("REALIZED {}", outcome["report"]["realized_pnl"]);
        eprintln!("KEPT {}", tmp.path().display());
        std::mem::forget(tmp);
        return;
    }
    eprintln!(
        "resumed at event {} with positions {restored}; {} orders, replay matched",
        of(&good)["details"]["events"],
        orders.len()
    );
    let delivered_once = |dep: &str| {
        let text =
            std::fs::read_to_string(state.join(format!("recordings/{dep}/signals.json"))).unwrap();
        let signals: Vec<Value> = serde_json::from_str(&text).unwrap();
        signals
            .iter()
            .filter(|s| s["signal_id"] == "recovery-1")
            .count()
    };
    assert_eq!(
        delivered_once(&good),
        1,
        "the acknowledged signal arrives exactly once"
    );
    assert!(
        !state.join(format!("checkpoints/{good}.json")).exists(),
        "a finished deployment leaves no checkpoint"
    );

    // The halted one plays its feed to the end and sends nothing after the resume.
    let outcome = wait_for(240, "the halted deployment to end", || {
        let v = view(api, &admin, &edited);
        (!v["outcome"].is_null()).then(|| v["outcome"].clone())
    });
    assert_eq!(outcome["events"], 30_117, "{outcome}");
    let orders = outcome["report"]["orders"].as_array().unwrap();
    assert_eq!(
        orders.len(),
        orders_at_checkpoint,
        "no order left after the resume: {outcome}"
    );
    assert_eq!(of(&edited)["details"]["signals_pending"], 1);
    assert_eq!(
        delivered_once(&edited),
        1,
        "redelivered from the journal, once"
    );
    serve.term();
}
