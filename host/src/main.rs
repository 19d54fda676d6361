//! The `stratbox` binary.

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    // `finish` + `set_global_default` rather than `init`: `init` would also claim the
    // global `log` logger, which Nautilus's kernel must own (it refuses to start otherwise).
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("STRATBOX_LOG").unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .finish();
    let _ = tracing::subscriber::set_global_default(subscriber);
    let cli = match stratbox::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                stratbox::cli::EXIT_USAGE
            } else {
                0
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    ExitCode::from(stratbox::cli::run(cli))
}
