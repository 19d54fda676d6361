//! The service's audit trail with several writers, and what `stratbox audit verify`
//! catches: two `stratbox serve` processes and the CLI append to one database at the
//! same time; the chain verifies and no append fails. Then the newest record is deleted,
//! and the whole table re-chained without the key: both fail verify.

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    time::Duration,
};

const BIN: &str = env!("CARGO_BIN_EXE_stratbox");

struct Serve {
    child: Child,
    base: String,
}

impl Serve {
    /// Starts `stratbox serve` on a free loopback port and waits until it listens.
    fn start(url: &str, state: &Path, key: &Path, token: &str) -> Self {
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--database-url", url])
            .arg("--state-dir")
            .arg(state)
            .arg("--data-dir")
            .arg(state)
            .arg("--audit-key")
            .arg(key)
            .env("STRATBOX_ADMIN_TOKEN", token)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let base = loop {
            let Some(Ok(line)) = lines.next() else {
                let status = child.wait().unwrap();
                panic!("serve exited ({status}) before listening");
            };
            if let Some(addr) = line.strip_prefix("stratbox service listening on ") {
                break addr.trim().to_string();
            }
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Self { child, base }
    }

    /// SIGTERM: the service stops gracefully (and signs the trail's head).
    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "serve exited with {status}");
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

fn stratbox(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn execute(url: &str, sql: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    });
}

const PER_SERVICE: usize = 40;
const BY_CLI: usize = 8;

fn two_services_and_the_cli(url: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("keys/audit-signing.key");
    let public = tmp.path().join("keys/audit-signing.key.pub");
    let key_arg = key.to_str().unwrap().to_string();
    let token = "t".repeat(40);
    let a = Serve::start(url, &tmp.path().join("a"), &key, &token);
    let b = Serve::start(url, &tmp.path().join("b"), &key, &token);

    let clients: Vec<_> = [a.base.clone(), b.base.clone()]
        .into_iter()
        .enumerate()
        .map(|(n, base)| {
            let token = token.clone();
            std::thread::spawn(move || {
                let agent = agent();
                for i in 0..PER_SERVICE {
                    let resp = agent
                        .post(&format!("{base}/v1/tokens"))
                        .header("Authorization", &format!("Bearer {token}"))
                        .send_json(
                            serde_json::json!({"name": format!("s{n}-{i}"), "role": "auditor"}),
                        )
                        .unwrap();
                    assert_eq!(resp.status(), 201, "service {n}, token {i}");
                }
            })
        })
        .collect();
    let cli = {
        let url = url.to_string();
        std::thread::spawn(move || {
            for i in 0..BY_CLI {
                let name = format!("cli-{i}");
                let (code, text) = stratbox(&[
                    "tokens",
                    "create",
                    "--name",
                    &name,
                    "--role",
                    "operator",
                    "--database-url",
                    &url,
                    "--audit-key",
                    &key_arg,
                ]);
                assert_eq!(code, Some(0), "{text}");
            }
        })
    };
    for c in clients {
        c.join().unwrap();
    }
    cli.join().unwrap();
    a.stop();
    b.stop();

    let public_arg = public.to_str().unwrap();
    // `stratbox audit <verb>` on this trail with the services' public key, then `extra`.
    let audit = |verb: &str, extra: &[&str]| {
        let mut args = vec![
            "audit",
            verb,
            "--database-url",
            url,
            "--public-key",
            public_arg,
        ];
        args.extend_from_slice(extra);
        stratbox(&args)
    };
    let (code, text) = audit("verify", &[]);
    assert_eq!(code, Some(0), "{text}");
    // Each service: bootstrap token (the first only), started, stopped; each token one.
    let records: usize = text
        .split("OK: ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        records >= 2 * PER_SERVICE + BY_CLI + 4,
        "{records} records: {text}"
    );
    let (code, head) = audit("head", &[]);
    assert_eq!(code, Some(0), "{head}");
    let head = head.trim().to_string();
    let (code, text) = audit("verify", &["--expect-head", &head]);
    assert_eq!(code, Some(0), "{text}");

    // Truncation: the newest record (signed at shutdown) is deleted.
    execute(
        url,
        "DELETE FROM audit WHERE seq = (SELECT MAX(seq) FROM audit)",
    );
    let (code, text) = audit("verify", &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("truncated"), "{text}");

    // Rewrite: every checkpoint deleted as well, so the cut trail would link again: too
    // many records are unsigned, and the kept head is gone.
    execute(url, "DELETE FROM audit_checkpoints");
    let (code, text) = audit("verify", &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("checkpoints were deleted"), "{text}");
    let (code, text) = audit("verify", &["--expect-head", &head]);
    assert_eq!(code, Some(1), "{text}");
}

#[test]
fn two_services_and_the_cli_share_one_chain_on_sqlite() {
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", tmp.path().join("shared.db").display());
    two_services_and_the_cli(&url);
}

#[test]
fn two_services_and_the_cli_share_one_chain_on_postgres() {
    let Some(url) = crate::fixtures::postgres_url() else {
        return;
    };
    let name = format!("stratbox_audit_{}", std::process::id());
    execute(&url, &format!("DROP DATABASE IF EXISTS {name}"));
    execute(&url, &format!("CREATE DATABASE {name}"));
    let base = url.rsplit_once('/').unwrap().0;
    two_services_and_the_cli(&format!("{base}/{name}"));
}

/// Audit before effect (hardening issue, Why 5): an API change whose audit record cannot
/// be written does not happen. A trigger makes every audit insert fail; creating and
/// revoking a token then fail, and the tokens table is unchanged.
#[test]
fn an_api_change_whose_record_cannot_be_written_does_not_happen() {
    use crate::service_e2e::{Api, config, runtime};
    use stratbox::service::Server;
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", tmp.path().join("stratbox.db").display());
    let rt = runtime();
    let admin = crate::service_e2e::admin_token(tmp.path(), &url);
    let server = rt
        .block_on(Server::start(config(tmp.path(), url.clone())))
        .unwrap();
    let api = Api::new(server.addr);
    let (s, _) = api.call(
        "POST",
        "/v1/tokens",
        Some(&admin),
        Some(serde_json::json!({"name": "before", "role": "auditor"})),
    );
    assert_eq!(s, 201);
    execute(
        &url,
        "CREATE TRIGGER no_audit BEFORE INSERT ON audit BEGIN SELECT RAISE(FAIL, 'disk full'); END",
    );
    let (s, body) = api.call(
        "POST",
        "/v1/tokens",
        Some(&admin),
        Some(serde_json::json!({"name": "unaudited", "role": "admin"})),
    );
    assert!(s >= 500, "{s} {body}");
    let (s, body) = api.call("POST", "/v1/tokens/before/revoke", Some(&admin), None);
    assert!(s >= 500, "{s} {body}");
    let count = |sql: &str| {
        rt.block_on(async {
            let pool = sqlx::AnyPool::connect(&url).await.unwrap();
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
                .fetch_one(&pool)
                .await
                .unwrap();
            pool.close().await;
            n
        })
    };
    assert_eq!(
        count("SELECT COUNT(*) FROM tokens WHERE name = 'unaudited'"),
        0
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM tokens WHERE name = 'before' AND revoked_ns IS NULL"),
        1
    );
    execute(&url, "DROP TRIGGER no_audit");
    rt.block_on(server.shutdown());
}
