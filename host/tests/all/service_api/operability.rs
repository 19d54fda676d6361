//! What operators and monitoring see: metric labels from a closed set, `/readyz` naming the
//! failed dependency, the bootstrap token across restarts.

use super::*;

fn raw_status(base: &str, method: &str, path: &str) -> u16 {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap()
}

#[test]
fn request_metrics_label_methods_from_a_closed_set() {
    let f = start(|_| {});
    for i in 0..5 {
        let status = raw_status(&f.base, &format!("BREW{i}"), "/healthz");
        assert!((400..500).contains(&status), "{status}");
    }
    let (status, metrics) = send(&agent(), &f.base, "GET", "/metrics", None);
    assert_eq!(status, 200);
    assert!(!metrics.contains("BREW"), "{metrics}");
    assert!(
        metrics.contains("stratbox_http_requests_total{method=\"other\""),
        "{metrics}"
    );
}

#[test]
fn readyz_names_the_failed_dependency_without_its_error_text() {
    let f = start(|_| {});
    let (status, body) = send(&agent(), &f.base, "GET", "/readyz", None);
    assert_eq!(status, 200, "{body}");
    let pool = f.server.as_ref().unwrap().state.pool.clone();
    f.rt.block_on(pool.close());
    let (status, body) = send(&agent(), &f.base, "GET", "/readyz", None);
    assert_eq!(status, 503, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"], "database-unavailable", "{v}");
    assert_eq!(v["details"]["failed"], "database", "{v}");
    let message = v["message"].as_str().unwrap();
    assert!(
        !message.to_lowercase().contains("pool") && !message.contains("sqlite"),
        "the driver's error text leaked: {message}"
    );
}

#[test]
fn a_revoked_bootstrap_token_stays_revoked_and_does_not_stop_a_restart() {
    use stratbox::service::{Bootstrap, bootstrap_admin};
    let f = start(|_| {});
    let state = std::sync::Arc::clone(&f.server.as_ref().unwrap().state);
    let boot = "b".repeat(40);
    let first = f.rt.block_on(bootstrap_admin(&state, &boot)).unwrap();
    assert_eq!(first, Bootstrap::Stored);
    let (status, _) = send(&agent(), &f.base, "GET", "/v1/whoami", Some(&boot));
    assert_eq!(status, 200);
    let again = f.rt.block_on(bootstrap_admin(&state, &boot)).unwrap();
    assert_eq!(again, Bootstrap::Known);
    let admin = &f.tokens.iter().find(|(r, _)| *r == Role::Admin).unwrap().1;
    let (status, body) = send(
        &agent(),
        &f.base,
        "POST",
        "/v1/tokens/bootstrap/revoke",
        Some(admin),
    );
    assert_eq!(status, 200, "{body}");
    // The next start finds the revoked token in its environment: it starts, and the token
    // stays revoked.
    let restart = f.rt.block_on(bootstrap_admin(&state, &boot));
    assert_eq!(restart.unwrap(), Bootstrap::Revoked);
    let (status, _) = send(&agent(), &f.base, "GET", "/v1/whoami", Some(&boot));
    assert_eq!(status, 401);
}
