//! `stratbox bench risk`: what one risk-gate decision costs.
//!
//! Two gates in one process, fed the same intents in alternating samples: the baseline has
//! no policy (the contract's checks only), the other a policy with every limit set. Each
//! decision is followed by the venue's cancel of the order, so the book stays the same size
//! across the run; both gates pay that, and the audit record every decision writes (built,
//! encoded and chained with its SHA-256; only the chain's head is kept, so memory stays
//! flat).

use std::{sync::Arc, time::Instant};

use serde::Serialize;

use super::median;
use crate::{
    audit::AuditLog,
    bindings::{
        risk_gate::Host,
        types::{
            OrderCancelled, OrderEvent, OrderIntent, OrderKind, OrderSide, Price, Quantity,
            QuoteTick, RiskDecision, TimeInForce,
        },
    },
    capabilities::risk_gate::{
        GateIdentity, OrderRouter, RiskGateState, RiskHub, RiskPolicy, ValidatedOrder,
    },
    catalog::InstrumentTable,
    notify::Notifiers,
    stubs::gbpusd_fxcm,
};

/// The policy measured against the baseline: every kind of limit, none binding.
pub const FULL_POLICY: &str = r#"
version = "bench"
currency = "USD"
[global]
max_gross_exposure = "1000000000"
max_open_orders = 1000
max_orders_per_second = 1000000
max_daily_loss = "1000000000"
max_drawdown = "1000000000"
[defaults]
max_order_quantity = "1000000"
max_order_notional = "2000000"
max_position = "10000000"
max_gross_exposure = "1000000000"
max_open_orders = 100
max_orders_per_second = 1000000
price_collar_bps = 500
max_daily_loss = "1000000000"
max_drawdown = "1000000000"
allowed_instruments = ["GBP/USD.FXCM"]
allowed_order_types = ["market", "limit"]
"#;

const ID: &str = "GBP/USD.FXCM";
const UNIT: u64 = 1_000_000_000;

/// Measured figures.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub samples: usize,
    pub decisions_per_sample: usize,
    /// Contract checks only.
    pub baseline_ns_per_decision: f64,
    /// Every policy limit set.
    pub policy_ns_per_decision: f64,
    pub ratio: f64,
}

struct Sink(u64);

impl OrderRouter for Sink {
    fn submit(&mut self, _order: &ValidatedOrder) -> Result<String, String> {
        self.0 += 1;
        Ok(format!("O-{}", self.0))
    }

    fn cancel(&mut self, _order_id: &str) -> Result<(), String> {
        Ok(())
    }
}

fn gate(policy: RiskPolicy, market: &Arc<InstrumentTable>) -> RiskGateState {
    // Every record is built, encoded and chained (SHA-256), then only the head is kept.
    let audit = AuditLog::windowed(0);
    RiskGateState::new(
        true,
        None,
        Arc::clone(market) as _,
        Box::new(Sink(0)),
        u64::MAX,
        GateIdentity {
            plugin: "bench".to_string(),
            sha256: "0".repeat(64),
            hub: RiskHub::new(policy, audit, Notifiers::default()),
        },
    )
}

fn intents() -> Vec<OrderIntent> {
    (0..64_u64)
        .map(|i| OrderIntent {
            instrument_id: ID.to_string(),
            side: if i % 2 == 0 {
                OrderSide::Buy
            } else {
                OrderSide::Sell
            },
            kind: if i % 4 < 2 {
                OrderKind::Market
            } else {
                OrderKind::Limit(Price {
                    raw: 1_300_000_000 + i64::try_from(i).unwrap_or(0) * 10_000,
                    precision: 5,
                })
            },
            quantity: Quantity {
                raw: (1 + i) * 1_000 * UNIT,
                precision: 0,
            },
            time_in_force: TimeInForce::Gtc,
            reduce_only: false,
            tag: None,
        })
        .collect()
}

/// Decides `n` intents; returns ns per decision.
fn sample(
    gate: &mut RiskGateState,
    intents: &[OrderIntent],
    n: usize,
    ts: &mut u64,
) -> Result<f64, String> {
    let started = Instant::now();
    for k in 0..n {
        *ts += 1_000_000;
        gate.begin_callback(Some(*ts));
        let intent = intents[k % intents.len()].clone();
        match gate.submit_order(intent).map_err(|e| e.to_string())? {
            RiskDecision::Accepted(id) => {
                gate.on_order_event(&OrderEvent::Cancelled(OrderCancelled {
                    order_id: id,
                    instrument_id: ID.to_string(),
                    ts_event: *ts,
                }))
            }
            RiskDecision::Rejected(r) => {
                return Err(format!("the bench policy refused an intent: {}", r.message));
            }
        }
    }
    #[allow(clippy::cast_precision_loss)]
    Ok(started.elapsed().as_nanos() as f64 / n as f64)
}

/// Runs `samples` alternating samples of `n` decisions on each gate.
pub fn run(samples: usize, n: usize) -> Result<Report, String> {
    let mut table = InstrumentTable::new();
    table.insert(gbpusd_fxcm());
    let market = Arc::new(table);
    market.observe_quote(
        ID,
        QuoteTick {
            stream: 0,
            bid: Price {
                raw: 1_300_000_000,
                precision: 5,
            },
            ask: Price {
                raw: 1_300_100_000,
                precision: 5,
            },
            bid_size: Quantity {
                raw: UNIT,
                precision: 0,
            },
            ask_size: Quantity {
                raw: UNIT,
                precision: 0,
            },
            ts_event: 0,
            ts_init: 0,
        },
    );
    let full = RiskPolicy::from_toml(FULL_POLICY).map_err(|e| e.to_string())?;
    let mut baseline = gate(RiskPolicy::default(), &market);
    let mut policy = gate(full, &market);
    let intents = intents();
    let (mut ts_a, mut ts_b) = (1_600_000_000 * UNIT, 1_600_000_000 * UNIT);
    // Warm up both.
    sample(&mut baseline, &intents, n, &mut ts_a)?;
    sample(&mut policy, &intents, n, &mut ts_b)?;
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for i in 0..samples.max(1) {
        if i % 2 == 0 {
            a.push(sample(&mut baseline, &intents, n, &mut ts_a)?);
            b.push(sample(&mut policy, &intents, n, &mut ts_b)?);
        } else {
            b.push(sample(&mut policy, &intents, n, &mut ts_b)?);
            a.push(sample(&mut baseline, &intents, n, &mut ts_a)?);
        }
    }
    let base = median(&mut a);
    let with_policy = median(&mut b);
    Ok(Report {
        samples: samples.max(1),
        decisions_per_sample: n,
        baseline_ns_per_decision: base,
        policy_ns_per_decision: with_policy,
        ratio: with_policy / base,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_bench_policy_accepts_every_intent() {
        let r = super::run(2, 200).unwrap();
        assert_eq!(r.samples, 2);
        assert!(r.policy_ns_per_decision > 0.0 && r.baseline_ns_per_decision > 0.0);
    }
}
