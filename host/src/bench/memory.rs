//! `stratbox bench memory`: resident memory per extra sandboxed instance, and the
//! process's resident memory while it holds them.
//!
//! Instantiates `instances` copies of a component (init and on-start run, then idle, as a
//! deployed strategy waiting for data), reads the process's resident set size before and
//! after, and divides. Repeated `rounds` times (instances dropped in between); the median
//! is reported. Resident size comes from `/proc/self/status` (Linux); elsewhere the figures
//! are absent.

use std::{path::PathBuf, sync::Arc};

use serde::Serialize;

use super::median;
use crate::{
    audit::AuditLog,
    catalog::instrument_defs::Instruments,
    replay::ReplayPlugin,
    sandbox::{EngineOptions, LoadPolicy, MAX_COMPONENT_BYTES, PluginComponent, SandboxEngine},
    storage,
};

/// What to measure.
#[derive(Debug, Clone)]
pub struct Config {
    pub plugin: PathBuf,
    pub params: Vec<(String, String)>,
    pub instances: usize,
    pub rounds: usize,
}

/// The figures.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub plugin: String,
    pub sha256: String,
    pub instances: usize,
    pub rounds: usize,
    /// Resident memory of the process before the first round.
    pub rss_before_bytes: u64,
    /// Median over rounds of (RSS with the instances − RSS without) / instances.
    pub rss_per_instance_bytes: f64,
    /// Linear memory each instance has been granted (pages the guest may touch; mapped
    /// lazily, so it is an upper bound on what it adds to RSS).
    pub linear_memory_per_instance_bytes: u64,
    /// The component's memory cap from its manifest.
    pub memory_cap_bytes: u64,
    pub peak_rss_bytes: Option<u64>,
}

/// A field of `/proc/self/status` in bytes (`VmRSS`, `VmHWM`), where there is one.
#[must_use]
pub fn proc_status_bytes(field: &str) -> Option<u64> {
    let dir =
        cap_std::fs::Dir::open_ambient_dir("/proc/self", cap_std::ambient_authority()).ok()?;
    let status = dir.read_to_string("status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())?;
    Some(kib * 1024)
}

/// Peak resident memory of this process so far.
#[must_use]
pub fn peak_rss_bytes() -> Option<u64> {
    proc_status_bytes("VmHWM:")
}

/// Current resident memory of this process.
#[must_use]
pub fn rss_bytes() -> Option<u64> {
    proc_status_bytes("VmRSS:")
}

/// Runs the benchmark.
pub fn run(config: &Config) -> Result<Report, String> {
    let engine = SandboxEngine::new(EngineOptions::default()).map_err(|e| e.to_string())?;
    let bytes = storage::read_operator_file(&config.plugin, MAX_COMPONENT_BYTES as u64)
        .map_err(|e| format!("{e} (build the bundled components with `cargo xtask plugins`)"))?;
    let audit = AuditLog::memory();
    let component = PluginComponent::load(&engine, &bytes, &LoadPolicy::default())
        .map_err(|e| format!("{}: {e}", config.plugin.display()))?;
    let params = component
        .manifest()
        .resolve_params(&config.params)
        .map_err(|e| e.to_string())?;
    let market = Arc::new(Instruments::bundled().table());
    let spawn = || -> Result<ReplayPlugin, String> {
        let mut p = ReplayPlugin::new(&engine, &component, Arc::clone(&market), &params, &audit)
            .map_err(|e| e.to_string())?;
        p.instance.on_start().map_err(|e| e.to_string())?;
        Ok(p)
    };
    // Warm up: the first instance pays for lazily initialised engine state.
    drop(spawn()?);
    let rss_before = rss_bytes().ok_or("resident memory is only measured on Linux (/proc)")?;
    let n = config.instances.max(1);
    let mut per_instance = Vec::new();
    let mut linear = 0;
    for _ in 0..config.rounds.max(1) {
        let base = rss_bytes().unwrap_or(0);
        let held: Vec<ReplayPlugin> = (0..n).map(|_| spawn()).collect::<Result<_, _>>()?;
        let with = rss_bytes().unwrap_or(0);
        linear = held
            .first()
            .map_or(0, |p| p.instance.profile().peak_memory_bytes);
        #[allow(clippy::cast_precision_loss)]
        per_instance.push(with.saturating_sub(base) as f64 / n as f64);
        drop(held);
    }
    Ok(Report {
        plugin: format!(
            "{} {}",
            component.manifest().name,
            component.manifest().version
        ),
        sha256: component.sha256().to_string(),
        instances: n,
        rounds: config.rounds.max(1),
        rss_before_bytes: rss_before,
        rss_per_instance_bytes: median(&mut per_instance),
        linear_memory_per_instance_bytes: linear,
        memory_cap_bytes: component.limits().max_memory_bytes,
        peak_rss_bytes: peak_rss_bytes(),
    })
}
