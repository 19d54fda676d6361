//! RSI momentum on bars: long while the RSI of the close is above `upper`, short while it
//! is below `lower`, unchanged in between. One order at a time.
//!
//! Nautilus's `RelativeStrengthIndex` keeps its value in [0, 1]; the levels are written on
//! the usual 0–100 scale, so the value is multiplied by 100 before it is compared. The RSI
//! is registered with the host on the bars (Nautilus updates it before `on_bar`).

use stratbox_sdk::prelude::*;

#[derive(Debug)]
pub struct RsiMomentum {
    bar_type: BarType,
    trade_size: Quantity,
    period: usize,
    rsi: Option<Registered>,
    upper: f64,
    lower: f64,
}

impl Strategy for RsiMomentum {
    fn init(params: &Params) -> Result<Self, String> {
        let (upper, lower) = (params.float("upper")?, params.float("lower")?);
        if lower >= upper {
            return Err(format!("lower ({lower}) must be below upper ({upper})"));
        }
        Ok(Self {
            bar_type: params.bar_type("bar_type")?,
            trade_size: params.quantity("trade_size")?,
            period: params.usize("period")?,
            rsi: None,
            upper,
            lower,
        })
    }

    fn on_start(&mut self, ctx: &mut Context) {
        match ctx.register_rsi(Stream::Bars(self.bar_type), self.period) {
            Ok(rsi) => self.rsi = Some(rsi),
            Err(e) => ctx.error(&format!("cannot follow {}: {e:?}", self.bar_type)),
        }
    }

    fn on_bar(&mut self, ctx: &mut Context, _bar: &Bar) {
        let Some(rsi) = self.rsi.map(|r| ctx.indicator(r)) else {
            return;
        };
        if !rsi.initialized || !ctx.open_orders().is_empty() {
            return;
        }
        let value = rsi.value * 100.0;
        let size = i128::from(self.trade_size.raw);
        let target = if value > self.upper {
            size
        } else if value < self.lower {
            -size
        } else {
            return;
        };
        ctx.move_to(
            self.bar_type.instrument_id(),
            target,
            self.trade_size.precision,
        );
    }
}

export_strategy!(RsiMomentum);
