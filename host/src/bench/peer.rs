//! `stratbox bench peer`: the light component twin (`ema-atr-filter`) against Nautilus's
//! own **Python** strategy of the same logic (`peer/light.py`), on the same quotes.
//!
//! The Python side runs `nautilus_trader` [`NAUTILUS_TRADER_VERSION`] from PyPI in a
//! virtualenv the bench creates and caches itself. The Rust side loads the benchmark's
//! quotes once ([`super::backtest::load`]) and writes exactly those quotes to a scratch
//! CSV (exact decimal strings); the script builds `QuoteTick`s from it and the same
//! currency pair from the instrument's definition, then runs one whole backtest per line
//! it reads on stdin. The component's runs and Python's are interleaved (the order
//! alternates every rep); each run is timed whole on both sides (engine setup, data,
//! strategy, run, teardown), the figures are medians per quote and
//! `ratio` = component / Python.

mod python;
mod venv;

use std::path::PathBuf;

use nautilus_model::instruments::Instrument;
use serde::{Deserialize, Serialize};

pub use self::{
    python::quotes_csv,
    venv::{default_venv, ensure_venv, venv_ready},
};
use super::{
    backtest::{self, Side, Twins, Workload},
    median,
};
use crate::{
    backtest::report::StrategyReport,
    sandbox::{EngineOptions, SandboxEngine},
};

/// The `nautilus_trader` release the Python side runs: the newest on PyPI with a wheel for
/// CPython 3.11 (later releases need a newer Python). One constant: the cached virtualenv
/// is named after it, so changing it installs the new release beside the old.
pub const NAUTILUS_TRADER_VERSION: &str = "1.221.0";

/// The target: the component takes at most this fraction of Python's time per quote.
pub const GOAL_RATIO: f64 = 0.35;

/// What to measure.
#[derive(Debug, Clone)]
pub struct Config {
    /// `plugin_dir`, data, format, reps, trade size and light settings; `workloads` is
    /// ignored (always light).
    pub twins: backtest::Config,
    /// Use only the first N quotes of the data.
    pub events: Option<usize>,
    /// The virtualenv (default: [`default_venv`]).
    pub venv: Option<PathBuf>,
    /// The interpreter that creates the virtualenv.
    pub python: PathBuf,
}

/// Figures of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub build: &'static str,
    pub plugin: String,
    pub sha256: String,
    /// The Python side: `nautilus_trader` and interpreter versions, virtualenv.
    pub nautilus_trader: String,
    pub python: String,
    pub venv: String,
    pub instrument: String,
    pub quotes: usize,
    pub reps: usize,
    pub python_us_per_quote: f64,
    pub component_us_per_quote: f64,
    /// component / Python.
    pub ratio: f64,
    pub goal_ratio: f64,
    /// Python building its `QuoteTick`s from the file, once (not in the figures).
    pub python_load_ms: f64,
    pub orders_python: usize,
    pub orders_component: usize,
    pub fills_python: usize,
    pub fills_component: usize,
    /// Same orders (time, side) and fills (time, side, quantity, price) on both sides.
    pub identical: bool,
    pub first_difference: Option<String>,
}

/// What the two sides decided: orders as (ts_init, side), fills as (ts_event, side,
/// quantity, price).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Decisions {
    pub orders: Vec<(u64, String)>,
    pub fills: Vec<(u64, String, String, String)>,
}

impl Decisions {
    fn of(s: &StrategyReport) -> Self {
        Self {
            orders: s
                .orders
                .iter()
                .map(|o| (o.ts_init, o.side.clone()))
                .collect(),
            fills: s
                .fills
                .iter()
                .map(|f| {
                    (
                        f.ts_event,
                        f.side.clone(),
                        f.last_qty.clone(),
                        f.last_px.clone(),
                    )
                })
                .collect(),
        }
    }

    /// The first order or fill where `self` (Python) and `other` (the component) differ.
    #[must_use]
    pub fn first_difference(&self, other: &Self) -> Option<String> {
        fn first<T: std::fmt::Debug + PartialEq>(what: &str, py: &[T], c: &[T]) -> Option<String> {
            let at = py.iter().zip(c).position(|(a, b)| a != b);
            match at {
                Some(i) => Some(format!(
                    "{what} {i}: python {:?}, component {:?}",
                    py[i], c[i]
                )),
                None if py.len() != c.len() => Some(format!(
                    "{what}s: python {}, component {} (the first {} agree)",
                    py.len(),
                    c.len(),
                    py.len().min(c.len())
                )),
                None => None,
            }
        }
        first("order", &self.orders, &other.orders)
            .or_else(|| first("fill", &self.fills, &other.fills))
    }
}

/// The last `n` lines of a process's output.
fn tail(bytes: &[u8], n: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Runs the benchmark.
pub fn run(config: &Config) -> Result<Report, String> {
    // The data and the component first: a mistake there should not wait for an install.
    let loaded = backtest::load(&config.twins, config.events)?;
    let quotes = loaded.data.len();
    let engine = SandboxEngine::new(EngineOptions::default()).map_err(|e| e.to_string())?;
    let twins = Twins::new(
        &engine,
        &config.twins,
        Workload::Light,
        loaded.instrument.id(),
    )?;
    let venv = match &config.venv {
        Some(v) => v.clone(),
        None => default_venv()?,
    };
    let python = ensure_venv(&config.python, &venv)?;
    let mut peer = python::PythonSide::start(&python, &config.twins, &loaded)?;
    let header = peer.header.clone();
    let reps = config.twins.reps.max(5);
    #[allow(clippy::cast_precision_loss)]
    let per_quote_us = |ns: f64| ns / 1e3 / quotes as f64;
    let (mut py_us, mut comp_us) = (Vec::new(), Vec::new());
    let (mut py_last, mut comp_last) = (None, None);
    for rep in 0..reps {
        for python_side in [rep % 2 == 0, rep % 2 != 0] {
            if python_side {
                let r = peer.run()?;
                #[allow(clippy::cast_precision_loss)]
                py_us.push(per_quote_us(r.wall_ns as f64));
                py_last = Some(r.decisions);
            } else {
                let (took, outcome) = backtest::run_once(
                    &engine,
                    &loaded,
                    Side::Component.strategies(&twins, 1),
                    false,
                    true,
                )?;
                comp_us.push(per_quote_us(took.as_secs_f64() * 1e9));
                comp_last = outcome.report.strategies.into_iter().next();
            }
        }
    }
    drop(peer);
    let (Some(py), Some(comp)) = (py_last, comp_last) else {
        return Err("a run produced no decisions".to_string());
    };
    if let Some(fault) = comp.plugin.as_ref().and_then(|p| p.fault.as_ref()) {
        return Err(format!("the component faulted: {fault}"));
    }
    let comp_decisions = Decisions::of(&comp);
    let first_difference = py.first_difference(&comp_decisions);
    let (python_us, component_us) = (median(&mut py_us), median(&mut comp_us));
    let m = twins.component.manifest();
    Ok(Report {
        build: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        plugin: format!("{} {}", m.name, m.version),
        sha256: twins.component.sha256().to_string(),
        nautilus_trader: header.nautilus_trader,
        python: header.python,
        venv: venv.display().to_string(),
        instrument: loaded.instrument.id().to_string(),
        quotes,
        reps,
        python_us_per_quote: python_us,
        component_us_per_quote: component_us,
        ratio: component_us / python_us,
        goal_ratio: GOAL_RATIO,
        #[allow(clippy::cast_precision_loss)]
        python_load_ms: header.load_ns as f64 / 1e6,
        orders_python: py.orders.len(),
        orders_component: comp_decisions.orders.len(),
        fills_python: py.fills.len(),
        fills_component: comp_decisions.fills.len(),
        identical: first_difference.is_none(),
        first_difference,
    })
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_compare_to_their_first_difference() {
        let py = Decisions {
            orders: vec![(10, "BUY".to_string()), (20, "SELL".to_string())],
            fills: vec![(
                10,
                "BUY".to_string(),
                "100000".to_string(),
                "1.57623".to_string(),
            )],
        };
        let same = py.clone();
        assert_eq!(py.first_difference(&same), None);
        let mut other = same.clone();
        other.orders[1].0 = 21;
        let d = py.first_difference(&other).unwrap();
        assert!(
            d.starts_with("order 1: python (20, \"SELL\"), component (21, \"SELL\")"),
            "{d}"
        );
        other = same.clone();
        other.fills.clear();
        let d = py.first_difference(&other).unwrap();
        assert!(d.starts_with("fills: python 1, component 0"), "{d}");
    }
}
