//! Authentication failures: rate-limited per client address and audited as one summary
//! per address and window (issue 22).

use super::*;

/// Issue 22: an anonymous flood is answered 429 once over the per-address rate, costs the
/// audit trail one summary record instead of one record per request, and does not lock
/// out a caller with a valid token from the same address.
#[test]
fn an_unauthenticated_flood_is_rate_limited_and_audited_as_one_summary() {
    const FLOOD: usize = 200;
    let f = start(|c| {
        c.auth_failures_per_window = 5;
        c.auth_failure_window_s = 3600;
    });
    let agent = agent();
    let before = f.audit_trail().len();
    let mut statuses = Vec::with_capacity(FLOOD);
    for i in 0..FLOOD {
        let token = (i % 2 == 0).then_some("sbx_forged");
        let (status, body) = send(&agent, &f.base, "GET", "/v1/whoami", token);
        if status == 429 {
            assert_json_error(status, &body, "a rate-limited failure");
            assert!(body.contains("rate-limited"), "{body}");
        }
        statuses.push(status);
    }
    assert!(statuses[..5].iter().all(|s| *s == 401), "{statuses:?}");
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
    // The header says when to come back.
    let resp = agent.get(format!("{}/v1/whoami", f.base)).call().unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&retry), "{retry}");
    // A valid token from the same address still passes.
    let (status, body) = send(
        &agent,
        &f.base,
        "GET",
        "/v1/whoami",
        Some(f.token(Role::Operator)),
    );
    assert_eq!(status, 200, "{body}");
    // Nothing was appended per request ...
    let during = f.audit_trail();
    assert!(
        during[before..]
            .iter()
            .all(|r| r["action"] != "auth-failed"),
        "no per-request records: {:?}",
        &during[before..]
    );
    // ... and the window's summary is one record with the counts.
    assert_eq!(f.flush_auth_failures(), 1);
    let trail = f.audit_trail();
    let summaries: Vec<&Value> = trail
        .iter()
        .filter(|r| r["action"] == "auth-failed")
        .collect();
    assert_eq!(summaries.len(), 1, "{summaries:?}");
    let d = &summaries[0]["details"];
    assert_eq!(d["address"], "127.0.0.1", "{d}");
    assert_eq!(d["failures"], FLOOD as u64 + 1, "{d}");
    assert_eq!(d["limited"], FLOOD as u64 + 1 - 5, "{d}");
    assert_eq!(d["window_s"], 3600, "{d}");
    assert_eq!(d["first_reason"], "unauthorized", "{d}");
    assert_eq!(summaries[0]["actor"], "anonymous");
    // The chain is intact.
    let (status, body) = send(
        &agent,
        &f.base,
        "GET",
        "/v1/audit/verify",
        Some(f.token(Role::Auditor)),
    );
    assert_eq!(status, 200, "{body}");
}

/// The server writes the summaries by itself at the end of each window.
#[test]
fn failure_summaries_are_audited_every_window() {
    let f = start(|c| c.auth_failure_window_s = 1);
    let agent = agent();
    for _ in 0..3 {
        assert_eq!(send(&agent, &f.base, "GET", "/v1/whoami", None).0, 401);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let trail = f.audit_trail();
        let counted: u64 = trail
            .iter()
            .filter(|r| r["action"] == "auth-failed")
            .map(|r| r["details"]["failures"].as_u64().unwrap())
            .sum();
        if counted == 3 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no summary after 30 s: {trail:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
