//! `stratbox replay`: run plugins over recorded data in the sandbox, without Nautilus.
//!
//! A dry run for authors and operators: does the component load with its grant, subscribe,
//! decide, stay within its limits? Orders the risk gate accepts are recorded, not filled;
//! use `stratbox backtest` for fills and PnL.

use std::{path::PathBuf, sync::Arc, time::Instant};

use serde::Serialize;

use super::{fail, key_value, plugins};
use crate::{
    audit::AuditLog,
    catalog::InstrumentTable,
    replay::{self, ReplayPlugin},
    sandbox::{EngineOptions, FaultRecord, Profile, SandboxEngine},
    storage,
};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Component(s) to run; each gets its own sandbox.
    #[arg(long = "plugin", required = true)]
    pub plugins: Vec<PathBuf>,
    /// Folder with FXCM bid/ask minute files.
    #[arg(long, default_value = "data/fxcm")]
    pub data: PathBuf,
    /// Bid file inside --data.
    #[arg(long, default_value = "gbpusd-m1-bid-2012.csv")]
    pub bid_file: String,
    /// Ask file inside --data.
    #[arg(long, default_value = "gbpusd-m1-ask-2012.csv")]
    pub ask_file: String,
    /// Instrument the data is for.
    #[arg(long, default_value = "GBP/USD.FXCM")]
    pub instrument: String,
    /// Parameter override for every plugin, name=value (repeatable).
    #[arg(long = "param", value_parser = key_value)]
    pub params: Vec<(String, String)>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct PluginSummary {
    name: String,
    sha256: String,
    deliveries: usize,
    orders_accepted: u64,
    orders_refused: std::collections::BTreeMap<String, u64>,
    log_lines_dropped: u64,
    profile: Profile,
    fault: Option<FaultRecord>,
}

#[derive(Debug, Serialize)]
struct Summary {
    events: usize,
    seconds: f64,
    plugins: Vec<PluginSummary>,
}

pub fn run(args: &Args) -> u8 {
    let engine = match SandboxEngine::new(EngineOptions::default()) {
        Ok(e) => e,
        Err(e) => return fail(e),
    };
    let events = match storage::open_dir(&args.data)
        .map_err(|e| e.to_string())
        .and_then(|dir| {
            replay::fxcm_events(&dir, &args.bid_file, &args.ask_file, &args.instrument)
                .map_err(|e| e.to_string())
        }) {
        Ok(e) => e,
        Err(e) => return fail(e),
    };
    let market = Arc::new(InstrumentTable::bundled());
    let audit = AuditLog::memory();
    let components = match plugins::load(&engine, args.plugins.iter().cloned(), &audit) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let params = match plugins::resolve_params(&components, &args.params, &[]) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let mut running = Vec::new();
    for ((path, component), params) in components.iter().zip(params) {
        match ReplayPlugin::new(&engine, component, Arc::clone(&market), &params, &audit) {
            Ok(mut p) => {
                p.instance.set_timing(true);
                running.push(p);
            }
            Err(e) => return fail(format!("{path}: {e}")),
        }
    }
    let started = Instant::now();
    replay::run(&mut running, &market, &events);
    let summary = Summary {
        events: events.len(),
        seconds: started.elapsed().as_secs_f64(),
        plugins: running
            .iter()
            .map(|p| {
                let gate = p.instance.host().risk_gate.counts();
                PluginSummary {
                    name: p.instance.name().to_string(),
                    sha256: p.instance.sha256().to_string(),
                    deliveries: p.deliveries.len(),
                    orders_accepted: gate.accepted,
                    orders_refused: gate.rejected.clone(),
                    log_lines_dropped: p.instance.host().diagnostics.dropped(),
                    profile: p.instance.profile(),
                    fault: p.instance.fault().cloned(),
                }
            })
            .collect(),
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).unwrap_or_default()
        );
    } else {
        println!(
            "replayed {} events in {:.2} s (orders are recorded, not filled)",
            summary.events, summary.seconds
        );
        for p in &summary.plugins {
            let pr = &p.profile;
            #[allow(clippy::cast_precision_loss)]
            let ns = pr.guest_nanos as f64 / pr.callbacks.max(1) as f64;
            println!("  {} ({}…)", p.name, &p.sha256[..12]);
            println!(
                "    callbacks       {} ({} events delivered), {ns:.0} ns each in the guest",
                pr.callbacks, p.deliveries
            );
            println!(
                "    fuel            {} total, {} max per callback",
                pr.fuel_total, pr.fuel_max
            );
            println!("    memory          {} bytes peak", pr.peak_memory_bytes);
            println!(
                "    orders          {} accepted, refused: {:?}",
                p.orders_accepted, p.orders_refused
            );
            match &p.fault {
                Some(f) => println!("    fault           {f}"),
                None => println!("    fault           none"),
            }
        }
    }
    0
}
