//! Running the `stratbox` binary from integration tests.

use std::process::Command;

/// Runs `stratbox args...`; returns (exit code, stdout, stderr).
pub fn stratbox(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_stratbox"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// The PostgreSQL URL for tests (`cargo xtask test` starts one); `None` only when
/// `STRATBOX_SKIP_POSTGRES=1` says to skip knowingly.
#[allow(dead_code)]
pub fn postgres_url() -> Option<String> {
    match std::env::var("STRATBOX_TEST_POSTGRES_URL") {
        Ok(url) => Some(url),
        Err(_) => {
            assert!(
                std::env::var("STRATBOX_SKIP_POSTGRES").is_ok_and(|v| v == "1"),
                "STRATBOX_TEST_POSTGRES_URL is not set: run the tests with `cargo xtask test` (it starts PostgreSQL via .ci/postgres.sh), or set STRATBOX_SKIP_POSTGRES=1 to skip this test knowingly"
            );
            None
        }
    }
}
