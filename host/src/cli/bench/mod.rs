//! `stratbox bench ...`.

use std::path::PathBuf;

use super::{default_plugin_dir, fail, key_value, named::named};
use crate::bench::callback;

mod figures;
use figures::{
    run_api, run_backtest, run_catalog, run_instructions, run_live, run_memory, run_only,
    run_order_path, run_peer, run_risk, run_scaling, run_signals, run_swap, run_sweep,
};

#[derive(Debug, clap::Subcommand)]
pub enum Which {
    /// Sandbox cost inside the same Nautilus backtest: each workload's component against
    /// its native twin and pure replay, interleaved; prints ns/event and `ratio=` per
    /// workload.
    Backtest {
        /// light: ema-atr-filter (indicators every quote, rare trades); heavy: ema-cross
        /// vs Nautilus's EMA-cross example (a fill per cross); both.
        #[arg(long, value_enum, default_value_t = WorkloadArg::Both)]
        workload: WorkloadArg,
        /// Folder with the components (default: target/plugins).
        #[arg(long)]
        plugin_dir: Option<PathBuf>,
        /// Market data (default: the bundled GBP/USD minutes, four quotes per minute).
        #[arg(long, default_value = "data/fxcm/gbpusd-m1-bid-2012.csv")]
        data: PathBuf,
        /// How to read --data.
        #[arg(long, value_parser = named::<crate::backtest::data::DataFormat>(), default_value_t = crate::backtest::data::DataFormat::FxcmQuotesOhlc)]
        format: crate::backtest::data::DataFormat,
        /// Runs of each side (at least 5; the median is reported).
        #[arg(long, default_value_t = 5)]
        reps: usize,
        /// Order size for both twins.
        #[arg(long, default_value = "100000")]
        trade_size: String,
        /// Fast/slow EMA periods of the heavy twins.
        #[arg(long, default_value_t = 10)]
        fast_period: usize,
        #[arg(long, default_value_t = 20)]
        slow_period: usize,
        /// Quotes the light twins wait between trades.
        #[arg(long, default_value_t = 2_000)]
        cooldown: u64,
        /// The light component computes its EMAs itself instead of registering them with
        /// the host (the same decisions; what the sandbox cost before registered
        /// indicators).
        #[arg(long)]
        guest_indicators: bool,
        /// Run one side alone (replay, native or component) and print its ns/event: run
        /// each side in its own process so that none shares a run with the others.
        #[arg(long, value_parser = named::<crate::bench::backtest::Side>(), conflicts_with = "instructions")]
        only: Option<crate::bench::backtest::Side>,
        /// Use only the first N events of --data (default: all; 20000 with
        /// --instructions).
        #[arg(long)]
        events: Option<usize>,
        /// N copies of the light twins in one engine, for each N of the list (N = 1 is
        /// always measured too): ns/event, ratio and RSS per component. With --only: the
        /// copies of that side.
        #[arg(long, value_delimiter = ',', conflicts_with = "instructions")]
        strategies: Vec<usize>,
        /// Instruction counts instead of time: each side once under `valgrind
        /// --tool=callgrind`, in its own process; instructions per event and the ratio
        /// component / native, which do not move with the machine's load.
        #[arg(long)]
        instructions: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The light component (ema-atr-filter) against Nautilus's own Python strategy of the
    /// same logic (nautilus_trader from PyPI, in a virtualenv the bench creates and
    /// caches), same quotes, runs interleaved; prints µs/quote of both and `ratio=`
    /// (component / Python; goal <= 0.35). Not part of `cargo xtask test`.
    Peer {
        /// Folder with the components (default: target/plugins).
        #[arg(long)]
        plugin_dir: Option<PathBuf>,
        /// Market data (quotes; default: the bundled GBP/USD minutes, four quotes per
        /// minute).
        #[arg(long, default_value = "data/fxcm/gbpusd-m1-bid-2012.csv")]
        data: PathBuf,
        #[arg(long, value_parser = named::<crate::backtest::data::DataFormat>(), default_value_t = crate::backtest::data::DataFormat::FxcmQuotesOhlc)]
        format: crate::backtest::data::DataFormat,
        /// Runs of each side (at least 5; the median is reported).
        #[arg(long, default_value_t = 5)]
        reps: usize,
        /// Use only the first N quotes of --data (default: all).
        #[arg(long)]
        events: Option<usize>,
        /// The virtualenv holding nautilus_trader, created and installed if absent or
        /// unfinished (default: $XDG_CACHE_HOME or ~/.cache, then
        /// stratbox/peer/nautilus_trader-VERSION).
        #[arg(long)]
        venv: Option<PathBuf>,
        /// The interpreter that creates the virtualenv.
        #[arg(long, default_value = "python3")]
        python: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Tick-to-order latency through a Nautilus LiveNode (replay feed at full speed, sandbox
    /// venue): the ema-cross component against Nautilus's EMA-cross strategy, same quotes;
    /// p50/p99 per side and `ratio_p99=` (component / native).
    Live {
        /// Folder with the components (default: target/plugins).
        #[arg(long)]
        plugin_dir: Option<PathBuf>,
        /// Market data (default: the bundled GBP/USD minutes, four quotes per minute).
        #[arg(long, default_value = "data/fxcm/gbpusd-m1-bid-2012.csv")]
        data: PathBuf,
        #[arg(long, value_parser = named::<crate::backtest::data::DataFormat>(), default_value_t = crate::backtest::data::DataFormat::FxcmQuotesOhlc)]
        format: crate::backtest::data::DataFormat,
        /// Runs of each side (alternating); percentiles pool every order of every run.
        #[arg(long, default_value_t = 3)]
        reps: usize,
        #[arg(long, default_value_t = 10)]
        fast_period: usize,
        #[arg(long, default_value_t = 20)]
        slow_period: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Nautilus's order path with the account-history purge off (untouched) and on, on a
    /// fill-heavy run: identical reports, speed-up.
    OrderPath {
        #[arg(long)]
        plugin_dir: Option<PathBuf>,
        #[arg(long, default_value = "data/fxcm/gbpusd-m1-bid-2012.csv")]
        data: PathBuf,
        #[arg(long, value_parser = named::<crate::backtest::data::DataFormat>(), default_value_t = crate::backtest::data::DataFormat::FxcmQuotesOhlc)]
        format: crate::backtest::data::DataFormat,
        #[arg(long, default_value_t = 3)]
        reps: usize,
        #[arg(long, default_value_t = 10)]
        fast_period: usize,
        #[arg(long, default_value_t = 20)]
        slow_period: usize,
        /// Also run the component twin both ways.
        #[arg(long)]
        component: bool,
        #[arg(long)]
        json: bool,
    },
    /// Resident memory per extra idle sandboxed instance.
    Memory {
        /// Component (default: target/plugins/ema-cross.wasm).
        #[arg(long)]
        plugin: Option<PathBuf>,
        /// Parameter override, name=value (repeatable).
        #[arg(long = "param", value_parser = key_value)]
        params: Vec<(String, String)>,
        /// Instances held at once.
        #[arg(long, default_value_t = 200)]
        instances: usize,
        /// Rounds (the median is reported).
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        #[arg(long)]
        json: bool,
    },
    /// Parameter sweep scaling: the same grid with 1 and 2 workers, alternating; prints
    /// runs/s of each, whether the ranked results were identical, and `speedup=` last.
    Sweep {
        /// Component to sweep (default: target/plugins/ema-cross.wasm).
        #[arg(long)]
        plugin: Option<PathBuf>,
        /// Market data (default: the bundled GBP/USD minutes as quotes).
        #[arg(long, default_value = "data/fxcm/gbpusd-m1-bid-2012.csv")]
        data: PathBuf,
        /// How to read --data.
        #[arg(long, value_parser = named::<crate::backtest::data::DataFormat>(), default_value_t = crate::backtest::data::DataFormat::Auto)]
        format: crate::backtest::data::DataFormat,
        /// Swept parameter as in `stratbox sweep` (repeatable; default: ema-cross
        /// fast_period=5..30:5 x slow_period=20..60:10, 30 runs).
        #[arg(long = "param")]
        params: Vec<String>,
        /// Sweeps of each worker count (alternating; the median is reported).
        #[arg(long, default_value_t = 3)]
        reps: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Cost of one risk-gate decision: every policy limit set vs the contract's checks only
    /// (same run, alternating samples).
    Risk {
        /// Timed samples per gate.
        #[arg(long, default_value_t = 31)]
        samples: usize,
        /// Decisions per sample.
        #[arg(long, default_value_t = 20_000)]
        decisions: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Signal routing throughput and ingest -> on-signal latency (in process and through
    /// the SQLite buffer), with real regime-signal components as consumers.
    Signals {
        /// Consumer component (default: target/plugins/regime-signal.wasm).
        #[arg(long)]
        plugin: Option<PathBuf>,
        /// Signals (JSONL) to use as input.
        #[arg(long, default_value = "data/signals/btc-perp-regimes-2022-01.jsonl")]
        signals: PathBuf,
        /// Folder for the temporary SQLite store (default: the system temp folder).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Consumers routed to.
        #[arg(long, default_value_t = 8)]
        consumers: usize,
        /// Routing decisions per sample.
        #[arg(long, default_value_t = 1_000_000)]
        routes: usize,
        /// Timed samples.
        #[arg(long, default_value_t = 11)]
        samples: usize,
        /// Signals per durable-latency measurement.
        #[arg(long, default_value_t = 2_000)]
        durable_signals: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Hot-swaps of a running paper session (ema-cross 0.1.0 <-> 0.2.0 on GBP/USD): swap
    /// pause p50/p99 against a bare snapshot+restore measured in the same run, and events
    /// dropped (must be 0).
    Swap {
        #[arg(long)]
        v1: Option<PathBuf>,
        #[arg(long)]
        v2: Option<PathBuf>,
        #[arg(long, default_value = "data/fxcm/gbpusd-m1-bid-2012.csv")]
        data: PathBuf,
        #[arg(long, default_value_t = 50)]
        swaps: usize,
        /// Wall time the data is replayed over.
        #[arg(long, default_value_t = 20.0)]
        seconds: f64,
        #[arg(long)]
        json: bool,
    },
    /// Bounded load test of the service on loopback: concurrent clients on an
    /// authenticated endpoint vs /healthz (same run); requests/s, latency, errors. Then,
    /// unless --no-flood, two paper deployments run while unauthenticated clients flood
    /// the service and an operator halts and resumes: halt p50/p99, the flood's answers,
    /// the audit chain verified afterwards.
    Api {
        #[arg(long, default_value_t = 8)]
        clients: usize,
        /// Requests per client and endpoint.
        #[arg(long, default_value_t = 500)]
        requests: usize,
        /// Database (default: SQLite in a temporary folder).
        #[arg(long)]
        database_url: Option<String>,
        /// Skip the flood-and-halt phase.
        #[arg(long)]
        no_flood: bool,
        /// The component deployed twice (default: target/plugins/ema-cross.wasm).
        #[arg(long)]
        plugin: Option<PathBuf>,
        /// The service's data folder.
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        /// The FXCM quotes the sessions replay (under --data-dir).
        #[arg(long, default_value = "fxcm/gbpusd-m1-bid-2012.csv")]
        data: String,
        /// Session replay speed (× real time).
        #[arg(long, default_value_t = 3600.0)]
        speed: f64,
        /// Operator halts and resumes under the flood.
        #[arg(long, default_value_t = 400)]
        halts: usize,
        /// Threads flooding with unauthenticated requests.
        #[arg(long, default_value_t = 4)]
        flood_clients: usize,
        #[arg(long)]
        json: bool,
    },
    /// Catalog import and query rows/s on real bars repeated to --rows, against a
    /// parse-only floor and Nautilus's own Parquet write (same run, alternating).
    Catalog {
        /// OHLCV CSV whose rows are repeated (default: the bundled BTC perpetual minutes).
        #[arg(
            long,
            default_value = "data/btc-perp/btc-perp-20211231-20220201_1m.csv"
        )]
        source: PathBuf,
        /// Rows imported per sample.
        #[arg(long, default_value_t = 2_000_000)]
        rows: usize,
        /// Samples (the median is reported).
        #[arg(long, default_value_t = 3)]
        samples: usize,
        /// Work folder (default: a new folder in the system temp folder; removed after).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WorkloadArg {
    Light,
    Heavy,
    Both,
}

pub fn run(which: Which) -> u8 {
    match which {
        Which::Sweep {
            plugin,
            data,
            format,
            params,
            reps,
            json,
        } => {
            let config = crate::bench::sweep::Config {
                plugin: plugin.unwrap_or_else(|| default_plugin_dir().join("ema-cross.wasm")),
                data,
                format,
                grid: if params.is_empty() {
                    crate::bench::sweep::DEFAULT_GRID
                        .iter()
                        .map(ToString::to_string)
                        .collect()
                } else {
                    params
                },
                reps,
            };
            run_sweep(&config, json)
        }
        Which::Swap {
            v1,
            v2,
            data,
            swaps,
            seconds,
            json,
        } => {
            let config = crate::bench::swap::Config {
                v1: v1.unwrap_or_else(|| default_plugin_dir().join("ema-cross.wasm")),
                v2: v2.unwrap_or_else(|| default_plugin_dir().join("ema-cross-v2.wasm")),
                data,
                swaps,
                seconds,
            };
            run_swap(&config, json)
        }
        Which::Api {
            clients,
            requests,
            database_url,
            no_flood,
            plugin,
            data_dir,
            data,
            speed,
            halts,
            flood_clients,
            json,
        } => run_api(
            &crate::bench::api::Config {
                clients,
                requests,
                database_url,
                flood: (!no_flood).then(|| crate::bench::api::FloodConfig {
                    plugin: plugin.unwrap_or_else(|| default_plugin_dir().join("ema-cross.wasm")),
                    data_dir,
                    data,
                    speed,
                    halts,
                    flood_clients,
                }),
            },
            json,
        ),
        Which::Catalog {
            source,
            rows,
            samples,
            dir,
            json,
        } => run_catalog(&source, rows, samples, dir, json),
        Which::Risk {
            samples,
            decisions,
            json,
        } => run_risk(samples, decisions, json),
        Which::Signals {
            plugin,
            signals,
            dir,
            consumers,
            routes,
            samples,
            durable_signals,
            json,
        } => {
            let config = crate::bench::signals::Config {
                plugin: plugin.unwrap_or_else(|| default_plugin_dir().join("regime-signal.wasm")),
                signals,
                dir: dir.unwrap_or_else(std::env::temp_dir),
                consumers,
                routes,
                samples,
                durable_signals,
            };
            run_signals(&config, json)
        }
        Which::Backtest {
            workload,
            plugin_dir,
            data,
            format,
            reps,
            trade_size,
            fast_period,
            slow_period,
            cooldown,
            guest_indicators,
            only,
            events,
            strategies,
            instructions,
            json,
        } => {
            use crate::bench::backtest::{Config, LightSettings, Workload};
            let workloads = match workload {
                WorkloadArg::Light => vec![Workload::Light],
                WorkloadArg::Heavy => vec![Workload::Heavy],
                WorkloadArg::Both => vec![Workload::Light, Workload::Heavy],
            };
            let config = Config {
                plugin_dir: plugin_dir.unwrap_or_else(default_plugin_dir),
                workloads,
                data,
                format,
                reps,
                trade_size,
                light: LightSettings {
                    cooldown,
                    host_indicators: !guest_indicators,
                    ..LightSettings::default()
                },
                heavy_periods: (fast_period, slow_period),
            };
            if instructions {
                run_instructions(&config, events.unwrap_or(20_000), json)
            } else if let Some(side) = only {
                let copies = match strategies[..] {
                    [] => 1,
                    [n] => n,
                    _ => return fail("--only takes one --strategies count"),
                };
                run_only(&config, side, events, copies, json)
            } else if !strategies.is_empty() {
                run_scaling(&config, &strategies, events, json)
            } else {
                run_backtest(&config, events, json)
            }
        }
        Which::Live {
            plugin_dir,
            data,
            format,
            reps,
            fast_period,
            slow_period,
            json,
        } => {
            use crate::bench::backtest::{Config, LightSettings, Workload};
            let config = crate::bench::live::Config {
                twins: Config {
                    plugin_dir: plugin_dir.unwrap_or_else(default_plugin_dir),
                    workloads: vec![Workload::Heavy],
                    data,
                    format,
                    reps,
                    trade_size: "100000".to_string(),
                    light: LightSettings::default(),
                    heavy_periods: (fast_period, slow_period),
                },
                reps,
            };
            run_live(&config, json)
        }
        Which::Peer {
            plugin_dir,
            data,
            format,
            reps,
            events,
            venv,
            python,
            json,
        } => {
            use crate::bench::backtest::{Config, LightSettings, Workload};
            let config = crate::bench::peer::Config {
                twins: Config {
                    plugin_dir: plugin_dir.unwrap_or_else(default_plugin_dir),
                    workloads: vec![Workload::Light],
                    data,
                    format,
                    reps,
                    trade_size: "100000".to_string(),
                    light: LightSettings::default(),
                    heavy_periods: (10, 20),
                },
                events,
                venv,
                python,
            };
            run_peer(&config, json)
        }
        Which::OrderPath {
            plugin_dir,
            data,
            format,
            reps,
            fast_period,
            slow_period,
            component,
            json,
        } => {
            let config = crate::bench::order_path::Config {
                plugin_dir: plugin_dir.unwrap_or_else(default_plugin_dir),
                data,
                format,
                reps,
                trade_size: "100000".to_string(),
                periods: (fast_period, slow_period),
                component,
            };
            run_order_path(&config, json)
        }
        Which::Memory {
            plugin,
            params,
            instances,
            rounds,
            json,
        } => {
            let config = crate::bench::memory::Config {
                plugin: plugin.unwrap_or_else(|| default_plugin_dir().join("ema-cross.wasm")),
                params: if params.is_empty() {
                    vec![("instrument_id".to_string(), "GBP/USD.FXCM".to_string())]
                } else {
                    params
                },
                instances,
                rounds,
            };
            run_memory(&config, json)
        }
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
