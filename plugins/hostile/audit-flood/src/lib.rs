//! Hostile fixture: on every bar (or its first `floods` bars), submits `intents` order
//! intents, the most one callback may have decided, whose instrument id and tag are each
//! 64 KiB (the contract's string cap) of control characters, quotes and backslashes, the
//! characters JSON escapes to six bytes. Every one is refused (unknown instrument), and
//! every refusal is audited: the flood aims at the audit trail.

use stratbox_sdk::{prelude::*, wit};

/// The contract's cap on any string a plugin hands over.
const MAX_STRING_BYTES: usize = 64 * 1024;

#[derive(Debug)]
pub struct AuditFlood {
    bar_type: BarType,
    floods: u64,
    intents: usize,
    bars: u64,
    junk: String,
}

/// 64 KiB of what escapes worst in JSON (`\u0001` is six bytes for one).
fn junk() -> String {
    let alphabet = [
        '\u{1}', '\u{7}', '\u{1b}', '\u{7f}', '"', '\\', '\n', '\u{0}',
    ];
    (0..MAX_STRING_BYTES)
        .map(|i| alphabet[i % alphabet.len()])
        .collect()
}

impl Strategy for AuditFlood {
    fn init(params: &Params) -> Result<Self, String> {
        Ok(Self {
            bar_type: params.bar_type("bar_type")?,
            floods: params.int("floods")?.unsigned_abs(),
            intents: params.usize("intents")?,
            bars: 0,
            junk: junk(),
        })
    }

    fn on_start(&mut self, ctx: &mut Context) {
        ctx.subscribe_bars(&self.bar_type).expect("subscribe");
    }

    fn on_bar(&mut self, ctx: &mut Context, _bar: &Bar) {
        self.bars += 1;
        if self.floods != 0 && self.bars > self.floods {
            return;
        }
        for _ in 0..self.intents {
            let intent = wit::OrderIntent {
                instrument_id: self.junk.clone(),
                side: OrderSide::Buy,
                kind: wit::OrderKind::Market,
                quantity: wit::Quantity {
                    raw: 1_000_000_000_000,
                    precision: 0,
                },
                time_in_force: TimeInForce::Gtc,
                reduce_only: false,
                tag: Some(self.junk.clone()),
            };
            let _ = ctx.submit(intent);
        }
    }
}

export_strategy!(AuditFlood);
