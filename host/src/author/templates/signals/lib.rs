//! {{name}}: trades AI regime signals. A `bull` regime of at least `min_confidence`
//! targets a long position of `trade_size`, a `bear` one a short; `neutral` or a weaker
//! signal goes flat, and so does a position no signal has renewed for `max_hold_bars` bars.
//!
//! Signals arrive validated by the host, in time order with the market data, and only of
//! the types `stratbox.toml` asks for (and an operator grants).

use stratbox_sdk::{prelude::*, signal::label};

#[derive(Debug)]
pub struct RegimeTrader {
    bar_type: BarType,
    trade_size: Quantity,
    min_confidence: f64,
    max_hold_bars: u64,
    /// Bars since a signal last set a long or short target; `None` when the target is flat.
    held_for: Option<u64>,
}

impl RegimeTrader {
    /// Moves the position to `target` (a signed raw quantity, scale 10^9) unless an order
    /// is still open; returns whether the target is now in hand or on its way.
    fn go_to(&self, ctx: &mut Context, target: i128) -> bool {
        if !ctx.open_orders().is_empty() {
            return false;
        }
        let id = self.bar_type.instrument_id();
        ctx.move_to(id, target, self.trade_size.precision);
        true
    }
}

impl Strategy for RegimeTrader {
    fn init(params: &Params) -> Result<Self, String> {
        Ok(Self {
            // Filled in by `stratbox backtest` from the data when not given.
            bar_type: params.bar_type("bar_type")?,
            trade_size: params.quantity("trade_size")?,
            min_confidence: params.float("min_confidence")?,
            max_hold_bars: u64::try_from(params.int("max_hold_bars")?)
                .map_err(|_| "max_hold_bars must not be negative".to_string())?,
            held_for: None,
        })
    }

    fn on_start(&mut self, ctx: &mut Context) {
        if let Err(e) = ctx.subscribe_bars(&self.bar_type) {
            ctx.error(&format!("cannot subscribe to {}: {e:?}", self.bar_type));
        }
        let id = self.bar_type.instrument_id();
        if let Err(e) = ctx.subscribe_signals(SignalType::RegimePrediction, Some(&id)) {
            ctx.error(&format!("cannot subscribe to regime signals of {id}: {e:?}"));
        }
    }

    fn on_bar(&mut self, ctx: &mut Context, _bar: &Bar) {
        let Some(held) = self.held_for else { return };
        if held + 1 < self.max_hold_bars {
            self.held_for = Some(held + 1);
        } else if self.go_to(ctx, 0) {
            self.held_for = None;
        }
    }

    fn on_signal(&mut self, ctx: &mut Context, signal: &AiSignal) {
        let size = i128::from(self.trade_size.raw);
        // A text label, or the largest entry of a map of probabilities.
        let target = match label(&signal.value) {
            _ if signal.confidence < self.min_confidence => 0,
            Some("bull") => size,
            Some("bear") => -size,
            _ => 0,
        };
        if self.go_to(ctx, target) {
            self.held_for = (target != 0).then_some(0);
        }
    }
}

export_strategy!(RegimeTrader);
