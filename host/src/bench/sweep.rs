//! `stratbox bench sweep`: how a parameter sweep scales from 1 to 2 workers.
//!
//! In one process, the same grid (by default ema-cross `fast_period=5..30:5` x
//! `slow_period=20..60:10` on the bundled GBP/USD minutes: 30 runs, 4 of them refused by
//! the plugin's `init` because fast >= slow) runs with 1 worker and with 2 workers
//! alternately (ABBA order), `reps` times each. Each sweep is timed whole (every run's
//! engine setup, data copy, strategy, report); data loading and compiling are done once,
//! before, as `stratbox sweep` does. The figure is the ratio of the median runs/s. The
//! ranked rows of every sweep (without their wall times) are compared with the first one.

use std::{path::PathBuf, time::Instant};

use nautilus_model::instruments::Instrument;
use serde::Serialize;

use super::median;
use crate::{
    audit::AuditLog,
    backtest::data,
    capabilities::{self, risk_gate::RiskPolicy},
    catalog::instrument_defs::Instruments,
    sandbox::{EngineOptions, LoadPolicy, MAX_COMPONENT_BYTES, SandboxEngine},
    storage,
    sweep::{Grid, RankBy, Row, Sweep, table},
};

/// The default grid.
pub const DEFAULT_GRID: &[&str] = &["fast_period=5..30:5", "slow_period=20..60:10"];

/// What to measure.
#[derive(Debug, Clone)]
pub struct Config {
    pub plugin: PathBuf,
    pub data: PathBuf,
    pub format: data::DataFormat,
    /// `--param` texts of the grid.
    pub grid: Vec<String>,
    pub reps: usize,
}

/// Measured figures.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub plugin: String,
    pub sha256: String,
    pub instrument: String,
    pub events: usize,
    pub grid: Vec<String>,
    pub runs: usize,
    /// Runs the plugin refused (no backtest; they cost an instantiation only).
    pub refused: usize,
    pub reps: usize,
    /// `debug` or `release`: the profile this binary was built with.
    pub build: &'static str,
    /// Cores the OS reports.
    pub available_parallelism: usize,
    pub samples_runs_per_s_1: Vec<f64>,
    pub samples_runs_per_s_2: Vec<f64>,
    pub runs_per_s_1: f64,
    pub runs_per_s_2: f64,
    /// Whether every sweep, with 1 or 2 workers, ranked the same rows with the same figures.
    pub identical: bool,
    pub speedup: f64,
}

/// The rows as text without their wall times, for comparison.
fn fingerprint(rows: &[Row]) -> Result<String, String> {
    let rows: Vec<Row> = rows
        .iter()
        .cloned()
        .map(|mut r| {
            r.wall_ms = 0.0;
            r
        })
        .collect();
    serde_json::to_string(&rows).map_err(|e| e.to_string())
}

/// Runs the benchmark.
pub fn run(config: &Config) -> Result<Report, String> {
    let defs = Instruments::bundled();
    let loaded =
        data::load(&config.data, config.format, None, None, &defs).map_err(|e| e.to_string())?;
    let engine = SandboxEngine::new(EngineOptions::default()).map_err(|e| e.to_string())?;
    let bytes = storage::read_operator_file(&config.plugin, MAX_COMPONENT_BYTES as u64)
        .map_err(|e| e.to_string())?;
    let component =
        capabilities::load(&engine, &bytes, &LoadPolicy::default(), &AuditLog::memory())
            .map_err(|e| e.to_string())?;
    let manifest = component.manifest();
    let grid = Grid::parse(&config.grid, manifest).map_err(|p| p.to_string())?;
    let id = loaded.instrument.id().to_string();
    let fixed = if manifest.params.contains_key("instrument_id") {
        vec![("instrument_id".to_string(), id.clone())]
    } else {
        Vec::new()
    };
    let points = grid.resolve(manifest, &fixed).map_err(|p| p.to_string())?;
    let settlement = crate::backtest::settlement_currency(&loaded.instrument);
    let balance = crate::backtest::parse_balance(None, &settlement)?;
    let sweep = Sweep {
        engine: &engine,
        component: &component,
        instrument: loaded.instrument.clone(),
        defs: &defs,
        data: &loaded.data,
        balance,
        policy: RiskPolicy::default(),
        settlement,
        points,
        swept: grid.axes.iter().map(|a| a.name.clone()).collect(),
    };
    let rank_by = RankBy::parse("pnl_total")?;
    let runs = grid.len();
    let (mut one, mut two) = (Vec::new(), Vec::new());
    let mut reference: Option<String> = None;
    let mut identical = true;
    let mut refused = 0;
    let reps = config.reps.max(1);
    // ABBA: later sweeps in a process may run slower (heap growth), so a fixed order would
    // bias whichever side runs second.
    for rep in 0..reps {
        let order = if rep % 2 == 0 { [1, 2] } else { [2, 1] };
        for jobs in order {
            let started = Instant::now();
            let mut rows = sweep.run(jobs, &mut |_, _| {});
            let seconds = started.elapsed().as_secs_f64();
            #[allow(clippy::cast_precision_loss)]
            let rate = runs as f64 / seconds.max(1e-9);
            if jobs == 1 {
                one.push(rate);
            } else {
                two.push(rate);
            }
            table::rank(&mut rows, &rank_by);
            refused = table::counts(&rows).get("refused").copied().unwrap_or(0);
            let print = fingerprint(&rows)?;
            match &reference {
                Some(r) => identical &= *r == print,
                None => reference = Some(print),
            }
        }
    }
    let (samples_1, samples_2) = (one.clone(), two.clone());
    let runs_per_s_1 = median(&mut one);
    let runs_per_s_2 = median(&mut two);
    Ok(Report {
        plugin: manifest.name.clone(),
        sha256: component.sha256().to_string(),
        instrument: id,
        events: loaded.data.len(),
        grid: config.grid.clone(),
        runs,
        refused,
        reps,
        build: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        available_parallelism: std::thread::available_parallelism()
            .map_or(1, std::num::NonZero::get),
        samples_runs_per_s_1: samples_1,
        samples_runs_per_s_2: samples_2,
        runs_per_s_1,
        runs_per_s_2,
        identical,
        speedup: runs_per_s_2 / runs_per_s_1.max(1e-12),
    })
}
