//! `stratbox live`: the `backtest` command's strategies, data, risk policy and report, run
//! in the foreground on a Nautilus `LiveNode` with the replay feed and the sandbox venue,
//! or with `--venue` on a real venue ([`super::live_venue`]).

use super::{backtest, fail};
use crate::nautilus::{live::LiveOptions, paper::Speed};

#[derive(Debug, clap::Args)]
#[group(id = "live-options")]
pub struct Args {
    #[command(flatten)]
    pub run: backtest::Args,
    /// How fast the replay feed plays the recording: recorded seconds per wall-clock second
    /// (`1` is real time, `600` ten minutes a second), or `max` for as fast as the node
    /// takes it.
    #[arg(long, default_value = "1")]
    pub speed: String,
    /// Seconds without a market event (wall clock) after which the feed counts as stale:
    /// trading goes REDUCING (no new exposure; audited, alerted) until data flows again.
    #[arg(long, default_value_t = 60.0)]
    pub stale_after: f64,
    /// Trade on a real venue instead of the replay feed and the sandbox: a venue
    /// configuration (TOML; docs/live.md, "Venues"). Needs --instrument (the venue's id,
    /// e.g. BTCUSDT.BINANCE); runs until Ctrl-C or --duration.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["speed", "stale_after"])]
    pub venue: Option<std::path::PathBuf>,
    /// With --venue: stop after this many seconds.
    #[arg(long, requires = "venue")]
    pub duration: Option<f64>,
    /// With --venue: allow a configuration whose environment is `live` (real money). Such a
    /// run also needs --state-dir: the start goes to its audit trail first.
    #[arg(long, requires = "venue")]
    pub live_venues: bool,
}

/// Parses `--speed`.
pub fn parse_speed(text: &str) -> Result<Speed, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("max") {
        return Ok(Speed::Max);
    }
    match text.trim_end_matches(['x', 'X']).parse::<f64>() {
        Ok(f) if f.is_finite() && f > 0.0 => Ok(Speed::Factor(f)),
        _ => Err(format!(
            "--speed `{text}`: give a positive number of recorded seconds per second (e.g. 600) or `max`"
        )),
    }
}

pub fn run(args: &Args) -> u8 {
    if let Some(venue) = &args.venue {
        if let Some(d) = args.duration
            && !(d.is_finite() && d > 0.0)
        {
            return fail(format!("--duration {d}: give a positive number of seconds"));
        }
        return super::live_venue::run(args, venue);
    }
    let speed = match parse_speed(&args.speed) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    if !(args.stale_after.is_finite() && args.stale_after > 0.0) {
        return fail(format!(
            "--stale-after {}: give a positive number of seconds",
            args.stale_after
        ));
    }
    let options = LiveOptions {
        speed,
        stale_after: std::time::Duration::from_secs_f64(args.stale_after),
        record_arrivals: false,
        record_feed: false,
    };
    backtest::run_on(&args.run, backtest::Engine::Live(options))
}

#[cfg(test)]
mod tests {
    use super::{Speed, parse_speed};

    #[test]
    fn speeds_parse_and_bad_ones_say_what_to_give() {
        assert_eq!(parse_speed("max"), Ok(Speed::Max));
        assert_eq!(parse_speed("600"), Ok(Speed::Factor(600.0)));
        assert_eq!(parse_speed("2.5x"), Ok(Speed::Factor(2.5)));
        for bad in ["0", "-3", "fast", "inf", "NaN", ""] {
            let e = parse_speed(bad).unwrap_err();
            assert!(e.contains("positive number"), "{bad}: {e}");
        }
    }
}
