//! The short run of `stratbox bench api` (the long one is the command itself): two paper
//! deployments run while unauthenticated clients flood the service and an operator halts
//! and resumes. No error, every halt answered, the flood refused (429 once over the
//! rate), a handful of audit summaries instead of one record per refused request, and the
//! chain valid afterwards. The latencies are figures for the note, not asserted here.

use std::path::PathBuf;

use stratbox::bench::api::{Config, FloodConfig, run};
use stratbox_artifacts as artifacts;

#[test]
fn the_api_load_test_runs_clean_under_an_unauthenticated_flood() {
    let r = run(&Config {
        clients: 2,
        requests: 50,
        database_url: None,
        flood: Some(FloodConfig {
            plugin: PathBuf::from(artifacts::EMA_CROSS),
            data_dir: PathBuf::from(crate::fixtures::DATA),
            data: "fxcm/gbpusd-m1-bid-2012.csv".into(),
            speed: 3600.0,
            halts: 40,
            flood_clients: 2,
        }),
    })
    .unwrap();
    assert_eq!(r.authenticated.errors + r.baseline.errors, 0, "{r:?}");
    let f = r.flood.expect("the flood phase ran");
    assert_eq!(f.deployments, 2, "{f:?}");
    assert_eq!((f.flood_errors, f.halt_errors), (0, 0), "{f:?}");
    assert!(f.flood_429 > 0, "the flood went over the rate: {f:?}");
    assert_eq!(f.flood_401 + f.flood_429, f.flood_requests, "{f:?}");
    assert!(f.audit_chain_valid, "{f:?}");
    // One summary per address and window (60 s): a short run writes one or two, never
    // one per refused request.
    assert!(
        (1..=3).contains(&f.auth_failed_records) && f.flood_requests > 100,
        "{f:?}"
    );
}
