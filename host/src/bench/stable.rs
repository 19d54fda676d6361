//! The stable modes of `stratbox bench backtest`: one side alone in its own process
//! (`--only`), and instruction counts under callgrind (`--instructions`).
//!
//! Wall-clock ratios on a shared machine swing between invocations: the other tenants' load
//! lands on whichever side happens to run. Instruction counts do not move with the load.
//! `--instructions` runs each side of each workload once under
//! `valgrind --tool=callgrind`, collecting only inside [`super::backtest::run_observed`] (the
//! timed backtest itself: not the data loading, not the component's compilation), and
//! reports instructions per event and the ratio component ÷ native.

use std::path::Path;

use serde::Serialize;

use super::{
    backtest::{self, Config, Side, Twins, Workload},
    median,
};
use crate::sandbox::{EngineOptions, SandboxEngine};

/// One side of one workload, run alone.
#[derive(Debug, Clone, Serialize)]
pub struct SideReport {
    pub workload: Workload,
    pub side: Side,
    pub events: usize,
    pub reps: usize,
    /// Copies of the strategy in the engine.
    pub strategies: usize,
    /// Median over the reps.
    pub ns_per_event: f64,
    pub orders: usize,
    pub fills: usize,
}

/// Runs `side` of every workload of `config` alone, `config.reps` times (at least once).
pub fn run_side(
    config: &Config,
    side: Side,
    events: Option<usize>,
    strategies: usize,
) -> Result<Vec<SideReport>, String> {
    let loaded = backtest::load(config, events)?;
    let engine = SandboxEngine::new(EngineOptions::default()).map_err(|e| e.to_string())?;
    let n = loaded.data.len();
    let mut out = Vec::new();
    for &workload in &config.workloads {
        let twins = Twins::new(&engine, config, workload, instrument(&loaded))?;
        let mut times = Vec::new();
        let mut last = None;
        for _ in 0..config.reps.max(1) {
            let (took, outcome) = backtest::run_once(
                &engine,
                &loaded,
                side.strategies(&twins, strategies),
                false,
                true,
            )?;
            #[allow(clippy::cast_precision_loss)]
            times.push(took.as_nanos() as f64 / n as f64);
            last = Some(outcome);
        }
        let reports = last.map(|o| o.report.strategies).unwrap_or_default();
        if let Some(fault) = reports
            .iter()
            .find_map(|r| r.plugin.as_ref().and_then(|p| p.fault.clone()))
        {
            return Err(format!("the component faulted: {fault}"));
        }
        out.push(SideReport {
            workload,
            side,
            events: n,
            reps: times.len(),
            strategies: if side == Side::Replay { 0 } else { strategies },
            ns_per_event: median(&mut times),
            orders: reports.iter().map(|r| r.orders.len()).sum(),
            fills: reports.iter().map(|r| r.fills.len()).sum(),
        });
    }
    Ok(out)
}

fn instrument(loaded: &crate::backtest::data::Loaded) -> nautilus_model::identifiers::InstrumentId {
    use nautilus_model::instruments::Instrument;
    loaded.instrument.id()
}

/// Instruction counts of one workload.
#[derive(Debug, Clone, Serialize)]
pub struct InstructionWorkload {
    pub workload: Workload,
    pub replay_instructions_per_event: f64,
    pub native_instructions_per_event: f64,
    pub component_instructions_per_event: f64,
    /// component − native.
    pub sandbox_instructions_per_event: f64,
    /// component ÷ native.
    pub ratio: f64,
}

/// What `--instructions` measured.
#[derive(Debug, Clone, Serialize)]
pub struct InstructionReport {
    pub build: &'static str,
    pub events: usize,
    pub workloads: Vec<InstructionWorkload>,
    /// The valgrind command of one side, for reproducing a figure by hand.
    pub recipe: String,
}

/// The function callgrind collects in (`--toggle-collect`).
pub const COLLECT: &str = "*run_observed*";

/// Runs every side of every workload of `config` once under callgrind, through `exe`
/// (this binary), on the first `events` events.
pub fn run_instructions(
    config: &Config,
    events: usize,
    exe: &Path,
) -> Result<InstructionReport, String> {
    let valgrind = which("valgrind").ok_or_else(|| {
        "valgrind is not installed: `apt-get install valgrind` (Debian), or time the sides with --only".to_string()
    })?;
    let scratch = tempfile::tempdir().map_err(|e| format!("a scratch folder: {e}"))?;
    let scratch_dir = crate::storage::open_dir(scratch.path()).map_err(|e| e.to_string())?;
    let mut workloads = Vec::new();
    let mut recipe = String::new();
    for &workload in &config.workloads {
        let mut per_event = [0.0_f64; 3];
        for (i, side) in [Side::Replay, Side::Native, Side::Component]
            .into_iter()
            .enumerate()
        {
            let name = format!("callgrind.{workload}.{side}");
            let out = scratch.path().join(&name);
            let mut cmd = std::process::Command::new(&valgrind);
            cmd.arg("--tool=callgrind")
                .arg(format!("--callgrind-out-file={}", out.display()))
                .arg(format!("--toggle-collect={COLLECT}"))
                .arg(exe)
                .args(side_args(config, workload, side, events));
            if recipe.is_empty() {
                recipe = format!("{cmd:?}").replace('"', "");
            }
            let done = cmd
                .output()
                .map_err(|e| format!("starting {}: {e}", valgrind.display()))?;
            if !done.status.success() {
                return Err(format!(
                    "{workload} {side} under callgrind failed ({}): {}",
                    done.status,
                    String::from_utf8_lossy(&done.stderr)
                        .lines()
                        .rev()
                        .take(20)
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect::<Vec<_>>()
                        .join("\n")
                ));
            }
            let text = scratch_dir
                .read_to_string(&name)
                .map_err(|e| format!("reading {}: {e}", out.display()))?;
            let total = callgrind_total(&text)
                .ok_or_else(|| format!("{}: no `totals:` line", out.display()))?;
            if total == 0 {
                return Err(format!(
                    "{workload} {side}: callgrind collected nothing inside `{COLLECT}` (was the function inlined or renamed?)"
                ));
            }
            #[allow(clippy::cast_precision_loss)]
            {
                per_event[i] = total as f64 / events as f64;
            }
        }
        let [replay, native, component] = per_event;
        workloads.push(InstructionWorkload {
            workload,
            replay_instructions_per_event: replay,
            native_instructions_per_event: native,
            component_instructions_per_event: component,
            sandbox_instructions_per_event: component - native,
            ratio: component / native,
        });
    }
    Ok(InstructionReport {
        build: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        events,
        workloads,
        recipe,
    })
}

/// The `bench backtest` arguments that run `side` of `workload` alone, once.
fn side_args(config: &Config, workload: Workload, side: Side, events: usize) -> Vec<String> {
    let l = config.light;
    let mut args: Vec<String> = [
        "bench",
        "backtest",
        "--workload",
        &workload.to_string(),
        "--only",
        &side.to_string(),
        "--events",
        &events.to_string(),
        "--reps",
        "1",
        "--plugin-dir",
        &config.plugin_dir.display().to_string(),
        "--data",
        &config.data.display().to_string(),
        "--format",
        &config.format.to_string(),
        "--trade-size",
        &config.trade_size,
        "--fast-period",
        &config.heavy_periods.0.to_string(),
        "--slow-period",
        &config.heavy_periods.1.to_string(),
        "--cooldown",
        &l.cooldown.to_string(),
        "--json",
    ]
    .into_iter()
    .map(str::to_string)
    .collect();
    if !l.host_indicators {
        args.push("--guest-indicators".to_string());
    }
    args
}

/// The event total of a callgrind output file (`totals:`, else `summary:`).
#[must_use]
pub fn callgrind_total(text: &str) -> Option<u64> {
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
    };
    field("totals:").or_else(|| field("summary:"))
}

/// `name` on `PATH`.
fn which(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

#[cfg(test)]
mod tests {
    use super::callgrind_total;

    #[test]
    fn the_total_is_read_from_totals_or_summary() {
        let text = "version: 1\ncreator: callgrind-3.19.0\nevents: Ir\nsummary: 123456\n\nfn=(1) x\n5 10\ntotals: 654321\n";
        assert_eq!(callgrind_total(text), Some(654_321));
        assert_eq!(callgrind_total("events: Ir\nsummary: 42\n"), Some(42));
        assert_eq!(callgrind_total("events: Ir\n"), None);
    }
}
