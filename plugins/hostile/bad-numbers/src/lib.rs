//! Hostile fixture: on each bar, submits intents whose numbers are invalid in every way the
//! fixed-point contract allows expressing. NaN and infinity cannot be encoded in fixed
//! point at all (the SDK refuses them when converting from floats, tested here too), so the
//! fixture forges raw values: zero, sentinel and out-of-range quantities and prices,
//! precisions above 9, raw values that do not match their precision, negative prices.

use stratbox_sdk::{prelude::*, wit};

#[derive(Debug)]
pub struct BadNumbers {
    bar_type: BarType,
}

fn intent(instrument: &str, kind: wit::OrderKind, quantity: wit::Quantity) -> wit::OrderIntent {
    wit::OrderIntent {
        instrument_id: instrument.to_string(),
        side: OrderSide::Buy,
        kind,
        quantity,
        time_in_force: TimeInForce::Gtc,
        reduce_only: false,
        tag: None,
    }
}

/// The forged intents, in submission order.
pub fn forged(instrument: &str) -> Vec<wit::OrderIntent> {
    let q = |raw, precision| wit::Quantity { raw, precision };
    let p = |raw, precision| wit::Price { raw, precision };
    let ok_qty = q(1_000_000_000_000, 0);
    vec![
        intent(instrument, wit::OrderKind::Market, q(0, 0)),
        intent(instrument, wit::OrderKind::Market, q(u64::MAX, 0)),
        intent(instrument, wit::OrderKind::Market, q(1_000, 200)),
        intent(instrument, wit::OrderKind::Market, q(1_500_000_000, 0)),
        intent(instrument, wit::OrderKind::Limit(p(i64::MIN, 5)), ok_qty),
        intent(instrument, wit::OrderKind::Limit(p(i64::MAX, 5)), ok_qty),
        intent(
            instrument,
            wit::OrderKind::Limit(p(-1_300_000_000, 5)),
            ok_qty,
        ),
        intent(
            instrument,
            wit::OrderKind::Limit(p(1_300_000_001, 5)),
            ok_qty,
        ),
        intent(
            instrument,
            wit::OrderKind::StopMarket(p(1_300_000_000, 99)),
            ok_qty,
        ),
        intent(
            instrument,
            wit::OrderKind::StopLimit(wit::StopLimitPrices {
                trigger: p(0, 5),
                limit: p(1_300_000_000, 5),
            }),
            ok_qty,
        ),
    ]
}

impl Strategy for BadNumbers {
    fn init(params: &Params) -> Result<Self, String> {
        // What an honest author gets when a float is not a number: an error, not an order.
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1.0] {
            if Quantity::new_checked(bad, 0).is_ok() {
                return Err(format!("the SDK accepted the quantity {bad}"));
            }
        }
        if Price::new_checked(f64::NAN, 5).is_ok() {
            return Err("the SDK accepted a NaN price".to_string());
        }
        let bar_type = params.bar_type("bar_type")?;
        Ok(Self { bar_type })
    }

    fn on_start(&mut self, ctx: &mut Context) {
        ctx.subscribe_bars(&self.bar_type).expect("subscribe");
    }

    fn on_bar(&mut self, ctx: &mut Context, bar: &Bar) {
        for intent in forged(&bar.bar_type.instrument_id().to_string()) {
            let _ = ctx.submit(intent);
        }
    }
}

export_strategy!(BadNumbers);
