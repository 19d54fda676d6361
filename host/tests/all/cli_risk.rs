//! The risk gate from the command line: `--risk` policies, `halt` / `resume` on a state
//! folder that backtests follow, and bad input.

use crate::fixtures::{gbpusd, stratbox};
use stratbox_artifacts as artifacts;

fn backtest(extra: &[&str]) -> (i32, String, String) {
    let data = gbpusd();
    let mut args = vec![
        "backtest",
        "--plugin",
        artifacts::EMA_CROSS,
        "--data",
        &data,
    ];
    args.extend_from_slice(extra);
    stratbox(&args)
}

#[test]
fn a_tight_policy_shows_refusals_in_the_summary_and_the_report() {
    let tmp = tempfile::tempdir().unwrap();
    let policy = tmp.path().join("tight.toml");
    std::fs::write(
        &policy,
        "version = \"tight\"\n[defaults]\nmax_order_quantity = \"50000\"\n",
    )
    .unwrap();
    let report = tmp.path().join("r");
    let (code, stdout, stderr) = backtest(&[
        "--risk",
        policy.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("risk (policy tight): 0 orders accepted, refused: max-order-quantity"),
        "{stdout}"
    );
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report.join("report.json")).unwrap()).unwrap();
    assert!(
        v["risk"]["refused_by_reason"]["max-order-quantity"]
            .as_u64()
            .unwrap()
            > 500
    );
    assert_eq!(v["risk"]["policy_version"], "tight");
}

#[test]
fn an_invalid_policy_lists_every_problem_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let policy = tmp.path().join("bad.toml");
    std::fs::write(
        &policy,
        "[defaults]\nmax_position = \"-1\"\nprice_collar_bps = 0\n",
    )
    .unwrap();
    let report = tmp.path().join("r");
    let (code, _, stderr) = backtest(&[
        "--risk",
        policy.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("invalid risk policy"), "{stderr}");
    assert!(stderr.contains("defaults.max_position"), "{stderr}");
    assert!(stderr.contains("defaults.price_collar_bps"), "{stderr}");
    assert!(!report.exists(), "no partial report");
}

#[test]
fn halt_and_resume_on_a_state_folder_reach_backtests_and_are_audited() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let state = state.to_str().unwrap();
    let (code, stdout, stderr) = stratbox(&[
        "halt",
        "--plugin",
        "ema-cross",
        "--reason",
        "desk review",
        "--actor",
        "alice",
        "--state-dir",
        state,
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("ema-cross: ACTIVE -> HALTED by alice"),
        "{stdout}"
    );

    let (code, stdout, stderr) = backtest(&["--state-dir", state]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("0 orders accepted, refused: halted"),
        "halted before the first event:\n{stdout}"
    );

    let (code, stdout, _) = stratbox(&[
        "halt",
        "--plugin",
        "ema-cross",
        "--reason",
        "again",
        "--state-dir",
        state,
    ]);
    assert_eq!(code, 0);
    assert!(stdout.contains("already HALTED"), "{stdout}");

    let (code, stdout, stderr) = stratbox(&[
        "resume",
        "--plugin",
        "ema-cross",
        "--reason",
        "review done",
        "--actor",
        "bob",
        "--state-dir",
        state,
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("HALTED -> ACTIVE by bob"), "{stdout}");
    let (_, stdout, _) = backtest(&["--state-dir", state]);
    assert!(stdout.contains("refused: none"), "{stdout}");

    let trail = std::fs::read_to_string(format!("{state}/audit.jsonl")).unwrap();
    let records: Vec<stratbox::audit::AuditRecord> = trail
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].actor, "alice");
    assert_eq!(records[1].details()["from"], "HALTED");
    stratbox::audit::verify(&records).unwrap();

    // A tampered trail is refused, not extended.
    std::fs::write(
        format!("{state}/audit.jsonl"),
        trail.replace("alice", "mallory"),
    )
    .unwrap();
    let (code, _, stderr) = stratbox(&["halt", "--all", "--reason", "x", "--state-dir", state]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("does not verify") && stderr.contains("edited"),
        "{stderr}"
    );
}

#[test]
fn halt_needs_a_scope_and_a_reason() {
    let (code, _, stderr) = stratbox(&["halt", "--reason", "x"]);
    assert_eq!(code, 2, "{stderr}");
    let (code, _, stderr) = stratbox(&["halt", "--all"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--reason"), "{stderr}");
    let tmp = tempfile::tempdir().unwrap();
    let (code, _, stderr) = stratbox(&[
        "halt",
        "--all",
        "--reason",
        "   ",
        "--state-dir",
        tmp.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("a reason is required"), "{stderr}");
}

#[test]
fn concurrent_halts_on_one_state_folder_all_land_and_the_trail_verifies() {
    use stratbox::{
        capabilities::risk_gate::{TradingState, persist::StoredStates},
        cli::trading::{Args, run},
    };
    const N: usize = 8;
    const ROUNDS: usize = 3;
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    for round in 0..ROUNDS {
        // Each thread opens the folder on its own, as separate `stratbox halt` processes do;
        // the barrier makes them read the state file and the trail's end at the same time.
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(N));
        let threads: Vec<_> = (0..N)
            .map(|i| {
                let barrier = std::sync::Arc::clone(&barrier);
                let args = Args {
                    plugin: Some(format!("p{round}-{i}")),
                    all: false,
                    deployment: None,
                    server: None,
                    token: None,
                    reason: format!("desk {round}/{i}"),
                    actor: Some(format!("op{i}")),
                    state_dir: state.clone(),
                    webhook: None,
                };
                std::thread::spawn(move || {
                    barrier.wait();
                    run(&args, TradingState::Halted)
                })
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().unwrap(), 0);
        }
    }
    let dir = cap_std::fs::Dir::open_ambient_dir(&state, cap_std::ambient_authority()).unwrap();
    let stored = StoredStates::load(&dir).unwrap();
    assert_eq!(
        stored.plugins.len(),
        N * ROUNDS,
        "a halt was lost: {stored:?}"
    );
    assert!(
        stored
            .plugins
            .values()
            .all(|e| e.state == TradingState::Halted)
    );
    let trail = std::fs::read_to_string(state.join("audit.jsonl")).unwrap();
    let records: Vec<stratbox::audit::AuditRecord> = trail
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), N * ROUNDS);
    stratbox::audit::verify(&records).unwrap();
    // And the binary agrees: the next halt extends the trail.
    let (code, _, stderr) = stratbox(&[
        "halt",
        "--all",
        "--reason",
        "end of day",
        "--state-dir",
        state.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
}

/// The CLI's file trail is signed: deleting its newest record (the last change) is
/// detected, and the next halt refuses to extend the cut trail.
#[test]
fn a_state_folder_trail_cut_short_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().to_str().unwrap();
    for (cmd, reason) in [("halt", "one"), ("resume", "two")] {
        let (code, _, stderr) = stratbox(&[cmd, "--all", "--reason", reason, "--state-dir", state]);
        assert_eq!(code, 0, "{stderr}");
    }
    let dir = cap_std::fs::Dir::open_ambient_dir(tmp.path(), cap_std::ambient_authority()).unwrap();
    let (records, checkpoints) = stratbox::audit::read_file(&dir, "audit.jsonl").unwrap();
    assert_eq!(records.len(), 2);
    let key = std::fs::read_to_string(tmp.path().join("audit-signing.key.pub")).unwrap();
    stratbox::audit::verify_trail(&records, &checkpoints.unwrap(), key.trim(), None).unwrap();

    let trail = std::fs::read_to_string(tmp.path().join("audit.jsonl")).unwrap();
    let first = trail.lines().next().unwrap();
    std::fs::write(tmp.path().join("audit.jsonl"), format!("{first}\n")).unwrap();
    let (code, _, stderr) = stratbox(&["halt", "--all", "--reason", "x", "--state-dir", state]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("truncated"), "{stderr}");
}
