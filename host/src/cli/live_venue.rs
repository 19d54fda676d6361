//! `stratbox live --venue <file>`: the run's components on a real venue (Binance spot through
//! `nautilus-binance`, docs/live.md "Venues"), in the foreground, until Ctrl-C or
//! `--duration`. The venue's own feed and account replace the replay feed and the sandbox;
//! every order still passes each component's risk gate, then Nautilus's `RiskEngine`.
//!
//! Real money (`environment = "live"`) takes `--live-venues`, the command line's counterpart
//! of the service's `live_venues` setting, and `--state-dir`: the start is written to that
//! folder's audit trail before anything connects, and its halts apply while it runs.

use std::{path::Path, sync::Arc, time::Instant};

use super::{
    backtest::{self, Presented},
    fail, live, plugins,
    trading::{AUDIT_FILE, AUDIT_KEY_FILE},
};
use crate::{
    audit::{self, AuditAction, AuditLog},
    backtest::StrategySpec,
    capabilities::risk_gate::{RiskHub, persist::StoredStates},
    nautilus::live::{
        node_runtime,
        venue::{
            VenueConfig, VenueEnvironment,
            node::{VenueSpec, build_node, fetch_instruments, instrument_table},
        },
    },
    notify::Notifiers,
    sandbox::{EngineOptions, SandboxEngine},
    storage,
};

/// Flags of `stratbox live` that pick the replay feed, the sandbox or a recording; a venue
/// run has its own feed and account.
fn replay_only(args: &backtest::Args) -> Option<&'static str> {
    [
        (args.catalog.is_some(), "--catalog"),
        (args.signals.is_some(), "--signals"),
        (args.signal_store.is_some(), "--signal-store"),
        (args.balance.is_some(), "--balance"),
        (args.bar_type.is_some(), "--bar-type"),
        (args.instruments.is_some(), "--instruments"),
    ]
    .into_iter()
    .find_map(|(given, flag)| given.then_some(flag))
}

/// Reads and checks the venue configuration at `path`: real money only with `--live-venues`.
pub(super) fn config(path: &Path, live_venues: bool) -> Result<VenueConfig, String> {
    let bytes = storage::read_operator_file(path, 1 << 20).map_err(|e| e.to_string())?;
    let text = String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8", path.display()))?;
    let config = VenueConfig::from_toml(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    if config.environment == VenueEnvironment::Live && !live_venues {
        return Err(format!(
            "{}: environment = \"live\" trades real money; pass --live-venues (with --state-dir, whose audit trail records the start) to allow it, or use environment = \"testnet\"",
            path.display()
        ));
    }
    Ok(config)
}

/// Runs `args` on the venue configured in `path`.
pub(super) fn run(args: &live::Args, path: &Path) -> u8 {
    let a = &args.run;
    if let Some(flag) = replay_only(a) {
        return fail(format!(
            "{flag} does not apply with --venue: the venue supplies the data, the instruments and the account"
        ));
    }
    let Some(instrument) = a.instrument.as_deref() else {
        return fail(
            "--venue needs --instrument, the venue's instrument to trade (e.g. BTCUSDT.BINANCE)",
        );
    };
    let config = match config(path, args.live_venues) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let real_money = config.environment == VenueEnvironment::Live;
    let venue = match config.resolve() {
        Ok(v) => v,
        Err(e) => return fail(format!("{}: {e}", path.display())),
    };
    let policy = match backtest::risk_policy(a.risk.as_deref()) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let state_dir = match &a.state_dir {
        Some(p) => match storage::create_dir(p) {
            Ok(d) => Some(d),
            Err(e) => return fail(e),
        },
        None if real_money => {
            return fail(
                "a real-money run needs --state-dir: its audit trail records the start, and `stratbox halt` reaches the run through it",
            );
        }
        None => None,
    };
    let audit = match &state_dir {
        Some(dir) => match audit::open_file_signed(dir, AUDIT_FILE, AUDIT_KEY_FILE) {
            Ok(t) => t,
            Err(e) => return fail(format!("--state-dir: {e}")),
        },
        None => AuditLog::memory(),
    };
    let report_dir = match backtest::report_folder(a) {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    let engine = match SandboxEngine::new(EngineOptions::default()) {
        Ok(e) => e,
        Err(e) => return fail(e),
    };
    let paths: Result<Vec<_>, String> =
        a.plugins.iter().map(|p| backtest::plugin_path(p)).collect();
    let components = match paths.map(|p| plugins::load(&engine, p, &audit)) {
        Ok(Ok(c)) => c,
        Ok(Err(code)) => return code,
        Err(e) => return fail(e),
    };
    let params = match plugins::resolve_params(
        &components,
        &a.params,
        &[("instrument_id", instrument.to_string())],
    ) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let names: Vec<&str> = components
        .iter()
        .map(|(_, c)| c.manifest().name.as_str())
        .collect();
    let env = config.environment.as_str();
    let label = format!(
        "live ({} {env}, account {})",
        venue.account_id.get_issuer(),
        venue.account_id
    );

    let runtime = match node_runtime() {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let _entered = runtime.enter();
    let instruments = match runtime.block_on(fetch_instruments(&venue)) {
        Ok(i) => i,
        Err(e) => return fail(format!("{}: {e}", path.display())),
    };
    let known = instruments.len();
    let traded: Vec<_> = instruments
        .into_iter()
        .filter(|i| nautilus_model::instruments::Instrument::id(i).to_string() == instrument)
        .collect();
    if traded.is_empty() {
        return fail(format!(
            "--instrument {instrument}: not among the {known} instruments the venue lists (ids are SYMBOL.VENUE, e.g. BTCUSDT.BINANCE)"
        ));
    }
    // Audited before anything connects to the venue or trades.
    if let Err(e) = audit.append(
        "cli",
        AuditAction::Deployed,
        &format!("live run on {}", venue.account_id),
        serde_json::json!({
            "venue": config.venue,
            "environment": env,
            "real_money": real_money,
            "account": venue.account_id.to_string(),
            "endpoints": { "http": venue.endpoints.http, "ws_stream": venue.endpoints.ws_stream, "ws_api": venue.endpoints.ws_api },
            "plugins": names,
            "instrument": instrument,
            "risk_policy": { "version": policy.version, "sha256": policy.sha256 },
        }),
    ) {
        return fail(format!("the start could not be audited, so the run does not start: {e}"));
    }
    let risk = RiskHub::new(policy, audit.clone(), Notifiers::log());
    let control = risk.control.clone();
    let mut last_read = StoredStates::default();
    let mut follow = || {
        if let Some(dir) = &state_dir {
            match StoredStates::load(dir) {
                Ok(stored) => {
                    control.follow(&last_read, &stored);
                    last_read = stored;
                }
                Err(e) => tracing::error!("cannot re-read the trading states: {e}"),
            }
        }
    };
    follow();
    let strategies: Vec<StrategySpec<'_>> = components
        .iter()
        .zip(params)
        .map(|((_, component), params)| StrategySpec::Component { component, params })
        .collect();
    let spec = VenueSpec {
        table: Arc::new(instrument_table(&traded)),
        instruments: traded,
        strategies,
        risk,
        timing: true,
    };
    let mut run = match build_node(&venue, spec, &engine, &audit) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let handle = run.node.handle();
    let duration = args.duration.map(std::time::Duration::from_secs_f64);
    let started = Instant::now();
    eprintln!(
        "trading {instrument} on {} {env}{}; Ctrl-C stops",
        venue.account_id.get_issuer(),
        duration.map_or(String::new(), |d| format!(" for {} s", d.as_secs_f64()))
    );
    let ran = runtime.block_on(async {
        let watch = async {
            loop {
                follow();
                if duration.is_some_and(|d| started.elapsed() >= d) && handle.is_running() {
                    handle.stop();
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        };
        tokio::select! {
            r = run.node.run() => r,
            () = watch => Ok(()),
        }
    });
    if let Err(e) = ran {
        return fail(format!("the node stopped with an error: {e:#}"));
    }
    let outcome = run.outcome();
    backtest::present(
        a,
        &outcome,
        report_dir.as_ref(),
        &Presented {
            kind: "live",
            label: &label,
            plugins: &names,
            instrument_id: instrument,
            seconds: started.elapsed().as_secs_f64(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::config;

    #[test]
    fn real_money_needs_the_flag() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("venue.toml");
        std::fs::write(&path, "venue = \"binance-spot\"\nenvironment = \"live\"\n").unwrap();
        let e = config(&path, false).unwrap_err();
        assert!(
            e.contains("real money") && e.contains("--live-venues"),
            "{e}"
        );
        assert!(config(&path, true).is_ok());
        std::fs::write(&path, "venue = \"binance-spot\"\napi_secret = \"x\"\n").unwrap();
        let e = config(&path, true).unwrap_err();
        assert!(e.contains("venue.toml"), "{e}");
    }
}
