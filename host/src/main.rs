//! The `stratbox` binary.

use std::process::ExitCode;

use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    // `finish` + `set_global_default` rather than `init`: `init` would also claim the
    // global `log` logger, which Nautilus's kernel must own (it refuses to start otherwise).
    // `serve --json-logs` (or STRATBOX_JSON_LOGS=true) logs JSON lines with span fields
    // (the request's correlation id); everything else logs text. `serve` logs at info.
    let json = std::env::var("STRATBOX_JSON_LOGS").is_ok_and(|v| v == "true" || v == "1")
        || std::env::args().any(|a| a == "--json-logs");
    let serving = std::env::args().nth(1).is_some_and(|a| a == "serve");
    let filter = EnvFilter::try_from_env("STRATBOX_LOG")
        .unwrap_or_else(|_| EnvFilter::new(if serving { "info" } else { "warn" }));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        tracing::subscriber::set_global_default(builder.json().finish())
    } else {
        tracing::subscriber::set_global_default(builder.finish())
    };
    ExitCode::from(stratbox::cli::main())
}
