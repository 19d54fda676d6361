//! `stratbox bench ...`.

use std::path::PathBuf;

use super::{default_plugin_dir, fail, key_value};
use crate::bench::callback;

#[derive(Debug, clap::Subcommand)]
pub enum Which {
    /// Compile, instantiate and per-callback cost, fuel on vs fuel off (same run).
    Callback {
        /// Component to measure (default: target/plugins/regime-signal.wasm).
        #[arg(long)]
        plugin: Option<PathBuf>,
        /// Parameter override, name=value (repeatable).
        #[arg(long = "param", value_parser = key_value)]
        params: Vec<(String, String)>,
        /// Folder holding the FXCM GBP/USD minute files.
        #[arg(long, default_value = "data/fxcm")]
        data: PathBuf,
        /// Timed samples per engine.
        #[arg(long, default_value_t = 301)]
        samples: usize,
        /// Callbacks per sample.
        #[arg(long, default_value_t = 1_000)]
        batch: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(which: Which) -> u8 {
    match which {
        Which::Callback {
            plugin,
            params,
            data,
            samples,
            batch,
            json,
        } => {
            let mut config = callback::Config::bundled(default_plugin_dir(), data);
            if let Some(p) = plugin {
                config.plugin = p;
            }
            if !params.is_empty() {
                config.params = params;
            }
            config.samples = samples.max(1);
            config.batch = batch.max(1);
            let report = match callback::run(&config) {
                Ok(r) => r,
                Err(e) => return fail(e),
            };
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).unwrap_or_default()
                );
            } else {
                println!(
                    "stratbox bench callback: {} ({}…), {} real bars",
                    report.plugin,
                    &report.sha256[..12],
                    report.bars
                );
                println!(
                    "  compile              {:>10.2} ms   (median of {})",
                    report.compile_ms, config.compile_runs
                );
                println!(
                    "  instantiate + init   {:>10.1} µs   (median of {})",
                    report.instantiate_us, config.instantiate_runs
                );
                println!(
                    "  {} fuel on        {:>10.1} ns   (median of {} samples × {} callbacks; {:.0} fuel/callback)",
                    report.callback,
                    report.fuel_on_ns,
                    report.samples,
                    report.batch,
                    report.fuel_per_callback
                );
                println!(
                    "  {} fuel off       {:>10.1} ns   (same run, interleaved)",
                    report.callback, report.fuel_off_ns
                );
                println!(
                    "  floor: empty core call {:>7.1} ns, empty component export {:.1} ns (fuel on, same engine)",
                    report.floor_core_ns, report.floor_component_ns
                );
                println!("ratio={:.3}", report.ratio);
            }
            0
        }
    }
}
