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
