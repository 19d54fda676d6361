//! The gate's book as a value: what a live deployment's checkpoint keeps of its risk gate,
//! so that a restarted service resumes with the positions, PnL marks and decision counts the
//! gate had (decision 0031).
//!
//! Only a quiet gate is checkpointed: with an order open, its fate at the venue is unknown
//! until the venue answers, and a book restored with it would be a guess.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::{
    positions::{Net, Positions},
    state::{DecisionCounts, PnlMarks, RiskGateState},
};

/// One instrument's position in the gate's book (raw values at scale 10^9, as text: JSON
/// numbers cannot hold every `i128`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PositionEntry {
    pub instrument_id: String,
    /// Signed quantity, long positive.
    pub qty: String,
    pub avg_px: String,
    pub realized: String,
    pub size_precision: u8,
}

/// What a checkpoint keeps of one gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateCheckpoint {
    pub positions: Vec<PositionEntry>,
    pub accepted: u64,
    pub rejected: BTreeMap<String, u64>,
    /// PnL marks behind the daily-loss and drawdown limits (raw, as text).
    pub pnl: String,
    pub peak: String,
    pub day: Option<u64>,
    pub day_start: String,
    /// Event times of the orders accepted in the last second (the rate limit's window).
    pub recent: Vec<u64>,
    pub event_ts: Option<u64>,
}

fn raw(field: &str, text: &str) -> Result<i128, String> {
    text.parse()
        .map_err(|e| format!("checkpoint gate field `{field}` = `{text}`: {e}"))
}

impl RiskGateState {
    /// The gate's book, if the gate is quiet (no open order, no cancel in flight).
    ///
    /// # Errors
    /// Orders are open: their outcome is not known yet.
    pub fn checkpoint(&self) -> Result<GateCheckpoint, String> {
        if !self.open.is_empty() || !self.cancelling.is_empty() {
            return Err(format!(
                "{} order(s) open at the venue",
                self.open.len().max(self.cancelling.len())
            ));
        }
        Ok(GateCheckpoint {
            positions: self
                .positions
                .entries()
                .map(|(id, n)| PositionEntry {
                    instrument_id: id.to_string(),
                    qty: n.qty.to_string(),
                    avg_px: n.avg_px.to_string(),
                    realized: n.realized.to_string(),
                    size_precision: n.size_precision,
                })
                .collect(),
            accepted: self.counts.accepted,
            rejected: self.counts.rejected.clone(),
            pnl: self.marks.pnl.to_string(),
            peak: self.marks.peak.to_string(),
            day: self.marks.day,
            day_start: self.marks.day_start.to_string(),
            recent: self.recent.iter().copied().collect(),
            event_ts: self.event_ts,
        })
    }

    /// Puts `checkpoint`'s book into a gate that has not traded yet, and publishes it to the
    /// host-wide book.
    ///
    /// # Errors
    /// The gate has already traded, or the checkpoint holds a value that is not a number.
    pub fn restore_checkpoint(&mut self, checkpoint: &GateCheckpoint) -> Result<(), String> {
        if !self.open.is_empty() || self.positions.entries().next().is_some() {
            return Err("the gate has already traded; a checkpoint restores a fresh gate".into());
        }
        let mut positions = Positions::default();
        for p in &checkpoint.positions {
            positions.insert(
                &p.instrument_id,
                Net {
                    qty: raw("qty", &p.qty)?,
                    avg_px: raw("avg_px", &p.avg_px)?,
                    size_precision: p.size_precision,
                    realized: raw("realized", &p.realized)?,
                },
            );
        }
        self.positions = positions;
        self.counts = DecisionCounts {
            accepted: checkpoint.accepted,
            rejected: checkpoint.rejected.clone(),
        };
        self.marks = PnlMarks {
            pnl: raw("pnl", &checkpoint.pnl)?,
            peak: raw("peak", &checkpoint.peak)?,
            day: checkpoint.day,
            day_start: raw("day_start", &checkpoint.day_start)?,
        };
        self.recent = checkpoint.recent.iter().copied().collect::<VecDeque<_>>();
        self.event_ts = checkpoint.event_ts;
        self.publish();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::GateCheckpoint;
    use crate::{
        audit::AuditLog,
        bindings::types::{OrderEvent, OrderFilled, OrderSide, Price, Quantity},
        capabilities::{
            market_data::MarketDataSource,
            risk_gate::{GateIdentity, NoRouter, OpenOrder, RiskGateState, RiskHub},
        },
        stubs::StaticMarket,
    };

    fn gate() -> RiskGateState {
        let market: Arc<dyn MarketDataSource> = Arc::new(StaticMarket::gbpusd_and(&[]));
        RiskGateState::new(
            true,
            None,
            market,
            Box::new(NoRouter),
            8,
            GateIdentity {
                plugin: "p".into(),
                sha256: "00".into(),
                hub: RiskHub::permissive(AuditLog::memory()),
            },
        )
    }

    fn fill(side: OrderSide, px: i64, qty: u64) -> OrderEvent {
        OrderEvent::Filled(OrderFilled {
            order_id: "O-1".into(),
            instrument_id: "GBP/USD.FXCM".into(),
            side,
            last_px: Price {
                raw: px,
                precision: 5,
            },
            last_qty: Quantity {
                raw: qty,
                precision: 0,
            },
            ts_event: 7,
        })
    }

    #[test]
    fn a_restored_gate_has_the_book_it_was_checkpointed_with() {
        let mut g = gate();
        g.on_order_event(&fill(OrderSide::Buy, 1_500_000_000, 200_000_000_000_000));
        g.on_order_event(&fill(OrderSide::Sell, 1_600_000_000, 50_000_000_000_000));
        g.counts.accepted = 2;
        g.counts.rejected.insert("max-position".into(), 3);
        let cp = g.checkpoint().unwrap();
        let json = serde_json::to_string(&cp).unwrap();
        let back: GateCheckpoint = serde_json::from_str(&json).unwrap();
        let mut fresh = gate();
        fresh.restore_checkpoint(&back).unwrap();
        assert_eq!(fresh.positions(), g.positions());
        assert_eq!(fresh.counts().accepted, 2);
        assert_eq!(fresh.counts().rejected["max-position"], 3);
        assert_eq!(fresh.checkpoint().unwrap(), cp);
        // Only a fresh gate takes a checkpoint.
        let e = fresh.restore_checkpoint(&back).unwrap_err();
        assert!(e.contains("already traded"), "{e}");
    }

    #[test]
    fn a_gate_with_an_open_order_is_not_checkpointed() {
        let mut g = gate();
        g.open.push(OpenOrder {
            id: "O-9".into(),
            instrument_id: "GBP/USD.FXCM".into(),
            side: OrderSide::Buy,
            remaining: 1,
        });
        let e = g.checkpoint().unwrap_err();
        assert!(e.contains("1 order(s) open"), "{e}");
    }

    #[test]
    fn malformed_numbers_are_named() {
        let mut cp = gate().checkpoint().unwrap();
        cp.pnl = "12x".into();
        let e = gate().restore_checkpoint(&cp).unwrap_err();
        assert!(e.contains("`pnl` = `12x`"), "{e}");
    }
}
