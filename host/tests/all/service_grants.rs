//! Grants are bound to one uploaded component (its digest), not to a manifest name: a new
//! upload under the same name needs its own approved grant. And the upgrade of a database
//! whose grants named a plugin only (docs/decisions/0022-grants-bound-to-digest.md), on
//! SQLite and PostgreSQL.

use serde_json::json;
use stratbox::service::{Server, db, grants};
use stratbox_artifacts as artifacts;

use crate::service_e2e::{Api, POLICY, config, runtime, session};

#[test]
fn a_grant_covers_one_upload_not_every_version_of_a_name() {
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", tmp.path().join("stratbox.db").display());
    let rt = runtime();
    let admin = crate::service_e2e::admin_token(tmp.path(), &url);
    let server = rt
        .block_on(Server::start(config(tmp.path(), url.clone())))
        .unwrap();
    let api = Api::new(server.addr);
    let (s, v1) = api.upload(&admin, artifacts::EMA_CROSS);
    assert_eq!(s, 201, "{v1}");
    let (s, v2) = api.upload(&admin, artifacts::EMA_CROSS_V2);
    assert_eq!(s, 201, "{v2}");
    let (d1, d2) = (
        v1["digest"].as_str().unwrap().to_string(),
        v2["digest"].as_str().unwrap().to_string(),
    );
    let spec = json!({ "capabilities": {
        "market-data": { "instruments": ["GBP/USD.FXCM"] },
        "risk-gate": { "instruments": ["GBP/USD.FXCM"] }
    } });
    let request =
        |body: serde_json::Value| api.call("POST", "/v1/grants", Some(&admin), Some(body));

    // A name alone no longer names what is granted.
    let (s, e) = request(json!({ "plugin": "ema-cross", "reason": "r", "grant": spec }));
    assert_eq!(s, 400, "{e}");
    assert!(e["message"].as_str().unwrap().contains("digest"), "{e}");
    let (s, e) = request(json!({ "digest": "0".repeat(64), "reason": "r", "grant": spec }));
    assert_eq!(s, 404, "{e}");
    let (s, e) = request(json!({ "digest": d2, "plugin": "other", "reason": "r", "grant": spec }));
    assert_eq!(s, 400, "{e}");
    // Name and version are resolved to the digest now, and stored as it.
    let (s, g) = request(
        json!({ "plugin": "ema-cross", "version": "0.1.0", "reason": "v1", "grant": spec }),
    );
    assert_eq!(s, 201, "{g}");
    assert_eq!(g["digest"].as_str(), Some(d1.as_str()), "{g}");
    let gid = g["id"].as_str().unwrap().to_string();
    let (s, g) = api.call(
        "POST",
        &format!("/v1/grants/{gid}/approve"),
        Some(&admin),
        Some(json!({})),
    );
    assert_eq!(s, 200, "{g}");

    // v2, uploaded under the same name, does not run under v1's grant.
    let (s, e) = api.call(
        "POST",
        "/v1/deployments",
        Some(&admin),
        Some(json!({ "plugin": d2, "grant": gid, "risk_policy": POLICY,
            "session": session(json!("max")) })),
    );
    assert_eq!(
        (s, e["error"].as_str()),
        (409, Some("grant-mismatch")),
        "{e}"
    );
    assert!(e["message"].as_str().unwrap().contains(&d1), "{e}");

    let (_, trail) = api.call("GET", "/v1/audit?limit=1000", Some(&admin), None);
    let requested = trail
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["action"] == "grant-requested")
        .unwrap();
    assert_eq!(requested["details"]["digest"].as_str(), Some(d1.as_str()));
    rt.block_on(server.shutdown());
}

/// A database as the previous stratbox left it (first migration only), with two uploads of
/// one name and name-bound grants; then the current migrations.
fn upgrade(url: &str) {
    let rt = runtime();
    rt.block_on(async {
        sqlx::any::install_default_drivers();
        let first = tempfile::tempdir().unwrap();
        std::fs::copy(
            concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/service/0001_service.sql"),
            first.path().join("0001_service.sql"),
        )
        .unwrap();
        let old = sqlx::migrate::Migrator::new(first.path()).await.unwrap();
        let connect = if db::is_sqlite(url) {
            format!("{url}?mode=rwc")
        } else {
            url.to_string()
        };
        let pool = sqlx::AnyPool::connect(&connect).await.unwrap();
        old.run(&pool).await.unwrap();
        for (digest, version, at) in [("d-old", "0.1.0", 1_i64), ("d-new", "0.2.0", 2)] {
            sqlx::query("INSERT INTO plugins (digest, name, version, size, inspection, uploaded_by, uploaded_ns) VALUES ($1, 'ema-cross', $2, 1, '{}', 'ada', $3)")
                .bind(digest)
                .bind(version)
                .bind(at)
                .execute(&pool)
                .await
                .unwrap();
        }
        for (id, plugin) in [("grant-a", "ema-cross"), ("grant-b", "never-uploaded")] {
            sqlx::query("INSERT INTO grants (id, plugin, spec, status, reason, diff, requested_by, requested_ns, decided_by, decided_ns) VALUES ($1, $2, '{\"capabilities\":{}}', 'approved', 'r', '[]', 'ada', 1, 'root', 2)")
                .bind(id)
                .bind(plugin)
                .execute(&pool)
                .await
                .unwrap();
        }
        pool.close().await;

        let pool = db::open(url, 1).await.unwrap();
        let a = grants::get(&pool, "grant-a").await.unwrap().unwrap();
        assert_eq!(a.digest.as_deref(), Some("d-new"), "bound to the latest upload");
        assert!(grants::usable(&a, "d-new").is_ok());
        assert!(grants::usable(&a, "d-old").is_err(), "not to the older one");
        let b = grants::get(&pool, "grant-b").await.unwrap().unwrap();
        assert_eq!(b.digest, None, "no upload of that name: bound to nothing");
        assert!(grants::usable(&b, "d-new").is_err());
        let latest = grants::approved_for(&pool, "d-new").await.unwrap().unwrap();
        assert_eq!(latest.id, "grant-a");
        pool.close().await;
    });
}

#[test]
fn name_bound_grants_are_bound_to_the_latest_upload_on_sqlite() {
    let tmp = tempfile::tempdir().unwrap();
    upgrade(&format!("sqlite://{}", tmp.path().join("old.db").display()));
}

#[test]
fn name_bound_grants_are_bound_to_the_latest_upload_on_postgres() {
    let Some(url) = crate::fixtures::postgres_url() else {
        return;
    };
    let name = format!("stratbox_grants_{}", std::process::id());
    let rt = runtime();
    rt.block_on(async {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        for sql in [
            format!("DROP DATABASE IF EXISTS {name}"),
            format!("CREATE DATABASE {name}"),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&pool)
                .await
                .unwrap();
        }
        pool.close().await;
    });
    let base = url.rsplit_once('/').unwrap().0;
    upgrade(&format!("{base}/{name}"));
}
