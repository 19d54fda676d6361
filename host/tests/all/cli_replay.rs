//! `stratbox replay` as a user runs it.

use crate::fixtures::{data, stratbox};
use stratbox_artifacts as artifacts;

#[test]
fn ema_cross_and_a_panicking_neighbour() {
    let (code, stdout, stderr) = stratbox(&[
        "replay",
        "--plugin",
        artifacts::EMA_CROSS,
        "--plugin",
        artifacts::HOSTILE_PANIC,
        "--data",
        &data("fxcm"),
        "--param",
        "instrument_id=GBP/USD.FXCM",
        "--json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["events"], 2 * 30_117);
    let ema = &v["plugins"][0];
    assert_eq!(ema["name"], "ema-cross");
    assert_eq!(ema["deliveries"], 30_117);
    assert!(ema["orders_accepted"].as_u64().unwrap() > 100, "{ema}");
    assert!(ema["fault"].is_null());
    assert_eq!(
        ema["profile"]["callbacks"],
        30_117 + 3,
        "init, on-start, quotes, on-stop"
    );
    let hostile = &v["plugins"][1];
    assert_eq!(hostile["fault"]["fault"]["kind"], "panic");
    assert_eq!(hostile["deliveries"], 3);
}

#[test]
fn bad_input_is_refused_with_the_right_exit_code() {
    let (code, _, stderr) = stratbox(&[
        "replay",
        "--plugin",
        artifacts::EMA_CROSS,
        "--data",
        &data("fxcm"),
        "--param",
        "colour=red",
    ]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("--param colour: no plugin declares"),
        "{stderr}"
    );

    let (code, _, stderr) = stratbox(&[
        "replay",
        "--plugin",
        artifacts::EMA_CROSS,
        "--data",
        &data("fxcm"),
    ]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("param `instrument_id`: required"),
        "{stderr}"
    );

    let (code, _, stderr) = stratbox(&[
        "replay",
        "--plugin",
        artifacts::HOSTILE_WASI_FILESYSTEM,
        "--data",
        &data("fxcm"),
    ]);
    assert_eq!(code, 3);
    assert!(
        stderr.contains("wasi:filesystem/preopens@0.2.6"),
        "{stderr}"
    );

    let (code, _, stderr) = stratbox(&[
        "replay",
        "--plugin",
        artifacts::EMA_CROSS,
        "--data",
        "/nonexistent",
    ]);
    assert_eq!(code, 2);
    assert!(
        stderr.starts_with("error: cannot open directory `/nonexistent`"),
        "{stderr}"
    );
}
