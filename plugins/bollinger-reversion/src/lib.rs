//! Bollinger-band mean reversion on bars.
//!
//! Flat: a close below the lower band buys `trade_size`, a close above the upper band sells
//! it. In a position: a close back across the middle band exits with a reduce-only order.
//! One order at a time: nothing new is sent while an order is open.
//!
//! The bands are Nautilus's `BollingerBands`, registered with the host on the bars: the
//! host updates them with Nautilus's `handle_bar` before each bar reaches `on_bar`.

use stratbox_sdk::prelude::*;

#[derive(Debug)]
pub struct BollingerReversion {
    bar_type: BarType,
    trade_size: Quantity,
    period: usize,
    k: f64,
    bands: Option<Registered>,
}

impl Strategy for BollingerReversion {
    fn init(params: &Params) -> Result<Self, String> {
        let bar_type = params.bar_type("bar_type")?;
        let (period, k) = (params.usize("period")?, params.float("k")?);
        if !(1..=1024).contains(&period) {
            return Err(format!("period ({period}) must be within 1..=1024"));
        }
        if !(k.is_finite() && k > 0.0) {
            return Err(format!("k ({k}) must be finite and above 0"));
        }
        Ok(Self {
            bar_type,
            trade_size: params.quantity("trade_size")?,
            period,
            k,
            bands: None,
        })
    }

    fn on_start(&mut self, ctx: &mut Context) {
        match ctx.register_bollinger(Stream::Bars(self.bar_type), self.period, self.k) {
            Ok(bands) => self.bands = Some(bands),
            Err(e) => ctx.error(&format!("cannot follow {}: {e:?}", self.bar_type)),
        }
    }

    fn on_bar(&mut self, ctx: &mut Context, bar: &Bar) {
        let Some(bands) = self.bands.map(|b| ctx.indicator(b)) else {
            return;
        };
        if !bands.initialized || !ctx.open_orders().is_empty() {
            return;
        }
        let close = bar.close.as_f64();
        let id = self.bar_type.instrument_id();
        let position = ctx.position(&id);
        let size = i128::from(self.trade_size.raw);
        // Enter from flat at a band; exit (reduce-only, whole position) at the middle.
        let target = match position.side {
            PositionSide::Flat if close < bands.lower => size,
            PositionSide::Flat if close > bands.upper => -size,
            PositionSide::Long if close >= bands.value => 0,
            PositionSide::Short if close <= bands.value => 0,
            _ => return,
        };
        // The position is already in hand: no second `position` call through `move_to`.
        if let Some(order) = Order::to_target(id, &position, target, self.trade_size.precision) {
            ctx.submit_or_warn(order);
        }
    }
}

export_strategy!(BollingerReversion);
