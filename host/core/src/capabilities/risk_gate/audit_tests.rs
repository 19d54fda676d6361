//! The gate's audit records: bounded, summarised past a few refusals per callback, and
//! written before an accepted order can leave (fail closed).

use std::sync::{Arc, Mutex};

use super::{GateIdentity, OrderRouter, RiskGateState, RiskHub, ValidatedOrder};
use crate::{
    audit::{AuditLog, AuditStore, Entry, record::RECORD_MAX},
    bindings::{
        risk_gate::Host,
        types::{
            OrderIntent, OrderKind, OrderSide, Quantity, RejectCode, RiskDecision, TimeInForce,
        },
    },
    capabilities::market_data::MarketDataSource,
    stubs::StaticMarket,
};

#[derive(Default, Clone)]
struct Queue(Arc<Mutex<Vec<String>>>);

impl OrderRouter for Queue {
    fn submit(&mut self, _order: &ValidatedOrder) -> Result<String, String> {
        let mut q = self.0.lock().unwrap();
        let id = format!("O-{}", q.len() + 1);
        q.push(id.clone());
        Ok(id)
    }

    fn cancel(&mut self, _order_id: &str) -> Result<(), String> {
        Ok(())
    }

    fn withdraw(&mut self, order_id: &str) -> bool {
        let mut q = self.0.lock().unwrap();
        let before = q.len();
        q.retain(|id| id != order_id);
        q.len() < before
    }
}

fn gate(audit: AuditLog, router: Queue) -> RiskGateState {
    let market: Arc<dyn MarketDataSource> = Arc::new(StaticMarket::gbpusd_and(&[]));
    RiskGateState::new(
        true,
        None,
        market,
        Box::new(router),
        64,
        GateIdentity {
            plugin: "p".into(),
            sha256: "00".into(),
            hub: RiskHub::permissive(audit),
        },
    )
}

fn intent(instrument_id: String, tag: Option<String>) -> OrderIntent {
    OrderIntent {
        instrument_id,
        side: OrderSide::Buy,
        kind: OrderKind::Market,
        quantity: Quantity {
            raw: 1_000_000_000,
            precision: 0,
        },
        time_in_force: TimeInForce::Ioc,
        reduce_only: false,
        tag,
    }
}

/// Why 1 of the hardening issue: 64 refused intents per callback with 64 KiB instrument
/// ids and tags made ~12 MB of audit per event. Now each record is bounded and only the
/// first few refusals of a callback get one; the rest are counted in one summary.
#[test]
fn hostile_intents_make_a_few_bounded_records_per_callback() {
    let audit = AuditLog::memory();
    let mut g = gate(audit.clone(), Queue::default());
    let huge = "\u{1}".repeat(64 * 1024);
    for event in 0..3_u64 {
        g.begin_callback(Some(event));
        for _ in 0..64 {
            let d = g
                .submit_order(intent(huge.clone(), Some(huge.clone())))
                .unwrap();
            assert!(
                matches!(d, RiskDecision::Rejected(r) if r.code == RejectCode::UnknownInstrument)
            );
        }
    }
    drop(g);
    let records = audit.records();
    let per = super::REFUSALS_RECORDED_PER_CALLBACK as usize;
    assert_eq!(records.len(), 3 * (per + 1), "{} records", records.len());
    let total: usize = records
        .iter()
        .map(|r| serde_json::to_vec(r).unwrap().len())
        .sum();
    assert!(total < 3 * (per + 1) * 4096, "{total} bytes of audit");
    for r in &records {
        assert!(serde_json::to_vec(r).unwrap().len() <= RECORD_MAX);
    }
    let summaries: Vec<_> = records
        .iter()
        .filter(|r| r.details()["count"].is_u64())
        .collect();
    assert_eq!(summaries.len(), 3);
    for s in summaries {
        assert_eq!(s.details()["count"], 64 - per as u64);
        assert_eq!(
            s.details()["codes"][super::reject_code_name(RejectCode::UnknownInstrument)],
            64 - per as u64
        );
    }
    assert_eq!(crate::audit::verify(&records), Ok(()));
}

struct Failing;

impl AuditStore for Failing {
    fn append(&mut self, _entry: &Entry<'_>) -> std::io::Result<crate::audit::AuditRecord> {
        Err(std::io::Error::other("disk full"))
    }
}

/// Deliver 3: an order whose decision cannot be recorded does not leave.
#[test]
fn an_order_whose_decision_cannot_be_audited_is_withdrawn_and_refused() {
    let queue = Queue::default();
    let mut g = gate(AuditLog::continuing(Box::new(Failing)), queue.clone());
    g.begin_callback(Some(1));
    let d = g.submit_order(intent("GBP/USD.FXCM".into(), None)).unwrap();
    match d {
        RiskDecision::Rejected(r) => {
            assert_eq!(r.code, RejectCode::InternalError);
            assert!(r.message.contains("audit"), "{}", r.message);
        }
        RiskDecision::Accepted(id) => panic!("accepted unaudited: {id}"),
    }
    assert!(
        queue.0.lock().unwrap().is_empty(),
        "the order was withdrawn"
    );
    assert!(g.open_order_ids().is_empty());

    // With a trail that works, the same intent is accepted and stays queued.
    let queue = Queue::default();
    let mut g = gate(AuditLog::memory(), queue.clone());
    g.begin_callback(Some(1));
    let d = g.submit_order(intent("GBP/USD.FXCM".into(), None)).unwrap();
    assert!(matches!(d, RiskDecision::Accepted(_)), "{d:?}");
    assert_eq!(queue.0.lock().unwrap().len(), 1);
}
