//! Prometheus metrics: one recorder per process (installed on first use), rendered at
//! `/metrics`. Per deployment and plugin: callbacks, fuel, faults, gate refusals, signal
//! deliveries, fills, swaps, rollbacks and the swap pause.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::nautilus::hotswap::AdapterEvent;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process's recorder handle (`None` if another recorder was installed first).
pub fn handle() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    metrics_exporter_prometheus::Matcher::Suffix("_seconds".into()),
                    &[
                        1e-6, 5e-6, 1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 0.1, 0.5, 1.0,
                    ],
                )
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            Some(handle)
        })
        .clone()
}

/// The `method` label of an HTTP request: one of the standard methods, or `other`. A
/// client chooses the method, so using its text would let it create label values (and
/// time series) without bound.
#[must_use]
pub fn method_label(method: &axum::http::Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        "CONNECT" => "CONNECT",
        "TRACE" => "TRACE",
        _ => "other",
    }
}

/// Cumulative figures last seen in a progress event (to turn them into increments).
#[derive(Debug, Default, Clone, Copy)]
pub struct Totals {
    callbacks: u64,
    fuel: u64,
    refused: u64,
    signals: u64,
}

/// An increment from a cumulative figure that restarts at 0 when the instance changes.
fn delta(now: u64, last: u64) -> u64 {
    if now >= last { now - last } else { now }
}

/// Updates the metrics for one session event.
pub fn observe(labels: &[(&'static str, String); 2], event: &AdapterEvent, last: &mut Totals) {
    let l = labels.to_vec();
    match event {
        AdapterEvent::Progress {
            callbacks,
            fuel_total,
            orders_refused,
            signals_received,
            ..
        } => {
            metrics::counter!("stratbox_plugin_callbacks_total", &l)
                .increment(delta(*callbacks, last.callbacks));
            metrics::counter!("stratbox_plugin_fuel_total", &l)
                .increment(delta(*fuel_total, last.fuel));
            metrics::counter!("stratbox_risk_refusals_total", &l)
                .increment(delta(*orders_refused, last.refused));
            metrics::counter!("stratbox_signal_deliveries_total", &l)
                .increment(delta(*signals_received, last.signals));
            *last = Totals {
                callbacks: *callbacks,
                fuel: *fuel_total,
                refused: *orders_refused,
                signals: *signals_received,
            };
        }
        AdapterEvent::Fill { .. } => metrics::counter!("stratbox_fills_total", &l).increment(1),
        AdapterEvent::Fault { .. } => {
            metrics::counter!("stratbox_plugin_faults_total", &l).increment(1);
        }
        AdapterEvent::Swapped { pause_ns, .. } => {
            metrics::counter!("stratbox_swaps_total", &l).increment(1);
            metrics::histogram!("stratbox_swap_pause_seconds", &l).record(*pause_ns as f64 / 1e9);
        }
        AdapterEvent::RolledBack { .. } | AdapterEvent::SwapRefused { .. } => {
            metrics::counter!("stratbox_swap_rollbacks_total", &l).increment(1);
        }
        AdapterEvent::SignalDelivery {
            delivered: false, ..
        } => metrics::counter!("stratbox_signal_dead_letters_total", &l).increment(1),
        AdapterEvent::Committed { .. } | AdapterEvent::SignalDelivery { .. } => {}
    }
}
