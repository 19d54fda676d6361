//! Runs one benchmark and prints its figures (a table, or JSON with `--json`); the exit
//! code says whether it ran and met its target.

use std::path::PathBuf;

use super::super::fail;

pub(super) fn run_signals(config: &crate::bench::signals::Config, json: bool) -> u8 {
    let r = match crate::bench::signals::run(config) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
        return 0;
    }
    let lat = |l: &crate::bench::signals::Latency| {
        format!(
            "p50 {:.1} us, p99 {:.1} us, max {:.1} us ({} signals)",
            l.p50_ns / 1e3,
            l.p99_ns / 1e3,
            l.max_ns / 1e3,
            l.samples
        )
    };
    println!(
        "stratbox bench signals: {} consumers ({}), {} distinct signals",
        r.consumers, r.plugin, r.distinct_signals
    );
    println!(
        "  routing: {:.0} signals/s ({:.1} ns/signal, {:.2} recipients/signal)  target >= 1,000,000",
        r.routing_signals_per_sec, r.routing_ns_per_signal, r.recipients_per_signal
    );
    println!(
        "  delivery to on-signal: direct {:.0} ns, routed {:.0} ns, ratio={:.3}",
        r.delivery_direct_ns, r.delivery_routed_ns, r.delivery_ratio
    );
    println!(
        "  latency JSON -> on-signal, in process: {}  target p99 <= 100 us",
        lat(&r.latency_in_process)
    );
    println!(
        "  latency through the SQLite buffer, process-crash durability: {}",
        lat(&r.latency_durable_process_crash)
    );
    println!(
        "  latency through the SQLite buffer, power-loss durability (fsync): {}",
        lat(&r.latency_durable_power_loss)
    );
    println!(
        "  batched ingest into SQLite: {:.0} signals/s",
        r.ingest_signals_per_sec
    );
    0
}

/// `--only`: one side alone.
pub(super) fn run_only(
    config: &crate::bench::backtest::Config,
    side: crate::bench::backtest::Side,
    events: Option<usize>,
    copies: usize,
    json: bool,
) -> u8 {
    let r = match crate::bench::stable::run_side(config, side, events, copies) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
        return 0;
    }
    for w in &r {
        println!(
            "{} {} alone ({} cop{}), {} events, {} run(s): {:.1} ns/event ({} orders, {} fills)",
            w.workload,
            w.side,
            w.strategies,
            if w.strategies == 1 { "y" } else { "ies" },
            w.events,
            w.reps,
            w.ns_per_event,
            w.orders,
            w.fills
        );
    }
    0
}

/// `--instructions`: callgrind counts per side.
pub(super) fn run_instructions(
    config: &crate::bench::backtest::Config,
    events: usize,
    json: bool,
) -> u8 {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return fail(format!("the path of this binary: {e}")),
    };
    let r = match crate::bench::stable::run_instructions(config, events, &exe) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
        return 0;
    }
    println!(
        "stratbox bench backtest --instructions ({} build), {} events, callgrind inside `{}`",
        r.build,
        r.events,
        crate::bench::stable::COLLECT
    );
    for w in &r.workloads {
        println!(
            "{}: replay {:.0}, native {:.0}, component {:.0} instructions/event; sandbox {:.0}",
            w.workload,
            w.replay_instructions_per_event,
            w.native_instructions_per_event,
            w.component_instructions_per_event,
            w.sandbox_instructions_per_event
        );
        println!("  ratio={:.3}", w.ratio);
    }
    println!("one side by hand: {}", r.recipe);
    0
}

/// `--strategies`: N copies of the light twins.
pub(super) fn run_scaling(
    config: &crate::bench::backtest::Config,
    counts: &[usize],
    events: Option<usize>,
    json: bool,
) -> u8 {
    let r = match crate::bench::scaling::run(config, counts, events) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let identical = r.rows.iter().all(|row| row.identical);
    if json {
        println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
        return u8::from(!identical);
    }
    println!(
        "stratbox bench backtest --strategies ({} build): {} x N in one engine vs N native twins, {} events, {} runs each",
        r.build, r.plugin, r.events, r.reps
    );
    for row in &r.rows {
        let rss = row
            .rss_per_component_bytes
            .map_or_else(|| "n/a".to_string(), |b| format!("{:.0} KiB", b / 1024.0));
        println!(
            "  N={:<4} replay {:>9.1}  native {:>9.1}  component {:>10.1} ns/event  ratio={:.3}  sandbox/copy {:>7.1} ns/event  RSS/component ~{rss}  identical: {}",
            row.strategies,
            row.replay_ns_per_event,
            row.native_ns_per_event,
            row.component_ns_per_event,
            row.ratio,
            row.sandbox_ns_per_event_per_copy,
            if row.identical { "yes" } else { "NO" }
        );
    }
    println!(
        "sandbox cost per copy, largest N / N=1: {:.3}",
        r.per_copy_growth
    );
    u8::from(!identical)
}

/// `--workload`.
pub(super) fn run_backtest(
    config: &crate::bench::backtest::Config,
    events: Option<usize>,
    json: bool,
) -> u8 {
    let r = match crate::bench::backtest::run_on(config, events) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
        return 0;
    }
    println!("stratbox bench backtest ({} build)", r.build);
    for w in &r.workloads {
        println!(
            "{:?}: {} ({}…) vs its native twin, {} events of {}, {} runs each, interleaved",
            w.workload,
            w.plugin,
            &w.sha256[..12],
            w.events,
            w.instrument,
            w.reps
        );
        println!(
            "  replay (no strategy) {:>10.1} ns/event",
            w.replay_ns_per_event
        );
        println!(
            "  native               {:>10.1} ns/event   ({} orders)",
            w.native_ns_per_event, w.orders_native
        );
        println!(
            "  component            {:>10.1} ns/event   ({} orders, {} fills; {:.1} ns/event inside the guest)",
            w.component_ns_per_event, w.orders_component, w.fills, w.guest_ns_per_event
        );
        println!(
            "  sandbox              {:>10.1} ns/event   identical decisions: {}",
            w.sandbox_ns_per_event,
            if w.identical { "yes" } else { "NO" }
        );
        println!("  ratio={:.3}", w.ratio);
    }
    if let Some(rss) = r.peak_rss_bytes {
        println!("peak RSS {:.1} MiB", rss as f64 / 1_048_576.0);
    }
    i32::from(r.workloads.iter().any(|w| !w.identical)) as u8
}

/// `bench peer`: the component against Nautilus's Python strategy. A difference in the
/// decisions is reported, not failed on (Cython's EMA rounds differently from Rust's).
pub(super) fn run_peer(config: &crate::bench::peer::Config, json: bool) -> u8 {
    let r = match crate::bench::peer::run(config) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
        return 0;
    }
    println!(
        "stratbox bench peer ({} build): {} ({}…) vs Nautilus's Python strategy (nautilus_trader {}, Python {}), {} quotes of {}, {} runs each, interleaved",
        r.build,
        r.plugin,
        r.sha256.get(..12).unwrap_or_default(),
        r.nautilus_trader,
        r.python,
        r.quotes,
        r.instrument,
        r.reps
    );
    println!(
        "  python     {:>9.3} µs/quote   ({} orders, {} fills; {:.0} ms to build its quotes, not timed)",
        r.python_us_per_quote, r.orders_python, r.fills_python, r.python_load_ms
    );
    println!(
        "  component  {:>9.3} µs/quote   ({} orders, {} fills)",
        r.component_us_per_quote, r.orders_component, r.fills_component
    );
    match &r.first_difference {
        None => println!("  identical decisions: yes"),
        Some(d) => println!("  identical decisions: NO, first difference: {d}"),
    }
    println!(
        "python_us_per_quote={:.3} component_us_per_quote={:.3} ratio={:.3} goal<={}",
        r.python_us_per_quote, r.component_us_per_quote, r.ratio, r.goal_ratio
    );
    0
}

pub(super) fn run_order_path(config: &crate::bench::order_path::Config, json: bool) -> u8 {
    let r = match crate::bench::order_path::run(config) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
    } else {
        println!(
            "stratbox bench order-path ({} build): {} events of {}, {} orders, {} fills, {} runs each",
            r.build, r.events, r.instrument, r.orders, r.fills, r.reps
        );
        for p in &r.pairs {
            println!(
                "  {:<9} untouched {:>9.1} ns/event, purged {:>9.1} ns/event, identical reports: {}, speedup={:.2}",
                p.strategy,
                p.untouched_ns_per_event,
                p.purged_ns_per_event,
                if p.identical_reports { "yes" } else { "NO" },
                p.speedup
            );
        }
    }
    i32::from(r.pairs.iter().any(|p| !p.identical_reports)) as u8
}

pub(super) fn run_live(config: &crate::bench::live::Config, json: bool) -> u8 {
    let r = match crate::bench::live::run(config) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
    } else {
        println!(
            "stratbox bench live ({} build): {} events of {} through a LiveNode (replay feed at full speed, sandbox venue), {} runs each",
            r.build, r.events, r.instrument, r.reps
        );
        println!("  tick -> order submitted to the execution client, µs:");
        for s in [&r.component, &r.native] {
            println!(
                "  {:<22} {:>5} orders  p50 {:>8.1}  p90 {:>8.1}  p99 {:>8.1}  max {:>9.1}",
                s.strategy, s.orders, s.p50_us, s.p90_us, s.p99_us, s.max_us
            );
            println!(
                "  {:<22}        tick -> decision p50 {:.1} / p99 {:.1}; decision -> submitted p50 {:.1} / p99 {:.1}",
                "", s.decision_p50_us, s.decision_p99_us, s.order_path_p50_us, s.order_path_p99_us
            );
        }
        println!(
            "  same orders and fills on both sides: {}",
            if r.identical { "yes" } else { "NO" }
        );
        println!("ratio_p99={:.3}", r.ratio_p99);
    }
    u8::from(!r.identical)
}

pub(super) fn run_memory(config: &crate::bench::memory::Config, json: bool) -> u8 {
    let r = match crate::bench::memory::run(config) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
        return 0;
    }
    let mib = |b: f64| b / 1_048_576.0;
    println!(
        "stratbox bench memory: {} ({}…), {} idle instances held, {} rounds",
        r.plugin,
        &r.sha256[..12],
        r.instances,
        r.rounds
    );
    println!(
        "  RSS before           {:>8.1} MiB",
        mib(r.rss_before_bytes as f64)
    );
    println!(
        "  linear memory        {:>8.1} KiB per instance (cap {:.1} MiB)",
        r.linear_memory_per_instance_bytes as f64 / 1024.0,
        mib(r.memory_cap_bytes as f64)
    );
    println!(
        "  RSS per instance     {:>8.1} KiB   target <= 2048 KiB",
        r.rss_per_instance_bytes / 1024.0
    );
    if let Some(p) = r.peak_rss_bytes {
        println!("  peak RSS             {:>8.1} MiB", mib(p as f64));
    }
    0
}

pub(super) fn run_risk(samples: usize, decisions: usize, json: bool) -> u8 {
    let r = match crate::bench::risk::run(samples, decisions.max(1)) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
        return 0;
    }
    println!(
        "stratbox bench risk: {} samples x {} decisions per gate, alternating",
        r.samples, r.decisions_per_sample
    );
    println!(
        "  contract checks only {:>10.1} ns/decision",
        r.baseline_ns_per_decision
    );
    println!(
        "  every policy limit   {:>10.1} ns/decision",
        r.policy_ns_per_decision
    );
    println!("ratio={:.3}", r.ratio);
    0
}

pub(super) fn run_catalog(
    source: &std::path::Path,
    rows: usize,
    samples: usize,
    dir: Option<PathBuf>,
    json: bool,
) -> u8 {
    let bytes = match crate::storage::read_operator_file(source, 1 << 30) {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    let parent = dir.unwrap_or_else(std::env::temp_dir);
    let name = format!("stratbox-bench-catalog-{}", std::process::id());
    let work = parent.join(&name);
    let r = crate::bench::catalog::run(&work, &bytes, rows.max(1), samples);
    if let Ok(d) = crate::storage::open_dir(&parent) {
        let _ = d.remove_dir_all(&name);
    }
    let r = match r {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
        return 0;
    }
    println!(
        "stratbox bench catalog: {} rows of OHLCV CSV ({} bytes), median of {samples}",
        r.rows, r.source_bytes
    );
    println!(
        "  import (read, hash, parse, check, write Nautilus Parquet, lineage): {:.0} rows/s  target >= 2,000,000",
        r.import_rows_per_sec
    );
    println!(
        "  of which reading (read, hash, parse) alone: {:.0} rows/s",
        r.read_rows_per_sec
    );
    println!(
        "  parse-only floor: {:.0} rows/s; Nautilus write_to_parquet of built bars: {:.0} rows/s",
        r.parse_floor_rows_per_sec, r.nautilus_write_rows_per_sec
    );
    println!(
        "  query through ParquetDataCatalog: {:.0} rows/s",
        r.query_rows_per_sec
    );
    println!(
        "  file {} bytes = {:.3} of the source",
        r.file_bytes, r.size_vs_source
    );
    println!(
        "ratio_import_vs_parse_floor={:.3} ratio_import_vs_nautilus_write={:.3}",
        r.import_vs_parse_floor, r.import_vs_nautilus_write
    );
    0
}

pub(super) fn run_sweep(config: &crate::bench::sweep::Config, json: bool) -> u8 {
    let r = match crate::bench::sweep::run(config) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
        return 0;
    }
    println!(
        "stratbox bench sweep: {} ({}…) over {} events of {}, grid {} = {} runs ({} refused by init), {} reps, {} build, {} cores",
        r.plugin,
        r.sha256.get(..12).unwrap_or_default(),
        r.events,
        r.instrument,
        r.grid.join(" x "),
        r.runs,
        r.refused,
        r.reps,
        r.build,
        r.available_parallelism
    );
    let samples = |s: &[f64]| {
        s.iter()
            .map(|v| format!("{v:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "  1 worker  {:>8.2} runs/s  (samples {})",
        r.runs_per_s_1,
        samples(&r.samples_runs_per_s_1)
    );
    println!(
        "  2 workers {:>8.2} runs/s  (samples {})",
        r.runs_per_s_2,
        samples(&r.samples_runs_per_s_2)
    );
    println!(
        "  results identical with 1 and 2 workers: {}",
        if r.identical { "yes" } else { "NO" }
    );
    println!(
        "runs_per_s_1={:.3} runs_per_s_2={:.3} identical={} speedup={:.3}",
        r.runs_per_s_1, r.runs_per_s_2, r.identical, r.speedup
    );
    u8::from(!r.identical)
}

pub(super) fn run_swap(config: &crate::bench::swap::Config, json: bool) -> u8 {
    let r = match crate::bench::swap::run(config) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
    } else {
        println!(
            "stratbox bench swap: {} swaps ({} refused) over {} events",
            r.swaps_done, r.swaps_refused, r.events
        );
        println!(
            "  pause p50 {} ns, p99 {} ns, max {} ns; baseline snapshot+restore {} ns",
            r.pause_p50_ns, r.pause_p99_ns, r.pause_max_ns, r.baseline_ns
        );
        println!(
            "  events delivered {} of {}, dropped {}",
            r.delivered, r.events, r.dropped
        );
        println!("ratio={:.3} dropped={}", r.ratio_p50, r.dropped);
    }
    u8::from(r.dropped != 0)
}

pub(super) fn run_api(config: &crate::bench::api::Config, json: bool) -> u8 {
    let r = match crate::bench::api::run(config) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
    } else {
        println!("stratbox bench api: {} clients on 127.0.0.1", r.clients);
        for l in [&r.baseline, &r.authenticated] {
            println!(
                "  {:<12} {:>7} requests, {:>9.0} req/s, p50 {:.0} us, p99 {:.0} us, errors {}",
                l.endpoint, l.requests, l.requests_per_s, l.p50_us, l.p99_us, l.errors
            );
        }
        println!(
            "ratio={:.3} errors={}",
            r.ratio,
            r.authenticated.errors + r.baseline.errors
        );
        if let Some(f) = &r.flood {
            println!(
                "  flood: {} deployments running, {} clients, {} unauthenticated requests in {:.1} s ({:.0} req/s): {} x 401, {} x 429, {} errors",
                f.deployments,
                f.flood_clients,
                f.flood_requests,
                f.flood_seconds,
                f.flood_requests_per_s,
                f.flood_401,
                f.flood_429,
                f.flood_errors
            );
            println!(
                "  halt under the flood ({}): {} calls, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, errors {}",
                f.halt_endpoint,
                f.halts,
                f.halt_p50_ms,
                f.halt_p99_ms,
                f.halt_max_ms,
                f.halt_errors
            );
            println!(
                "  audit: {} records, {} auth-failed summaries, chain {}",
                f.audit_records,
                f.auth_failed_records,
                if f.audit_chain_valid {
                    "valid"
                } else {
                    "BROKEN"
                }
            );
        }
    }
    let flood_bad = r
        .flood
        .as_ref()
        .is_some_and(|f| f.flood_errors + f.halt_errors != 0 || !f.audit_chain_valid);
    u8::from(r.authenticated.errors + r.baseline.errors != 0 || flood_bad)
}
