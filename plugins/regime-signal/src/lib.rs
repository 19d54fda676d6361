//! Regime signals with a trend filter: a `bull` regime above the trend EMA goes long, a
//! `bear` regime below it goes short, anything else (or low confidence) goes flat. The
//! trend EMA of the closes is registered with the host on the bars.

use stratbox_sdk::prelude::*;

#[derive(Debug)]
pub struct RegimeSignal {
    bar_type: BarType,
    trade_size: Quantity,
    min_confidence: f64,
    trend_period: usize,
    trend: Option<Registered>,
    /// The last close and the trend's reading with it.
    last: Option<(f64, Reading)>,
}

pub use stratbox_sdk::signal::label;

impl RegimeSignal {
    fn go_to(&mut self, ctx: &mut Context, target: i128) {
        if !ctx.open_orders().is_empty() {
            return;
        }
        ctx.move_to(
            self.bar_type.instrument_id(),
            target,
            self.trade_size.precision,
        );
    }
}

impl Strategy for RegimeSignal {
    fn init(params: &Params) -> Result<Self, String> {
        let bar_type = params.bar_type("bar_type")?;
        Ok(Self {
            bar_type,
            trade_size: params.quantity("trade_size")?,
            min_confidence: params.float("min_confidence")?,
            trend_period: params.usize("trend_period")?,
            trend: None,
            last: None,
        })
    }

    fn on_start(&mut self, ctx: &mut Context) {
        let bars = Stream::Bars(self.bar_type);
        match ctx.register_ema(bars, self.trend_period, PriceType::Last) {
            Ok(trend) => self.trend = Some(trend),
            Err(e) => ctx.error(&format!("cannot follow {}: {e:?}", self.bar_type)),
        }
        let id = self.bar_type.instrument_id();
        if let Err(e) = ctx.subscribe_signals(SignalType::RegimePrediction, Some(&id)) {
            ctx.error(&format!(
                "cannot subscribe to regime signals for {id}: {e:?}"
            ));
        }
    }

    fn on_bar(&mut self, ctx: &mut Context, bar: &Bar) {
        self.last = self.trend.map(|t| (bar.close.as_f64(), ctx.indicator(t)));
    }

    fn on_signal(&mut self, ctx: &mut Context, signal: &AiSignal) {
        let Some((close, trend)) = self.last.filter(|(_, t)| t.initialized) else {
            return;
        };
        let size = i128::from(self.trade_size.raw);
        let trend = trend.value;
        let target = match label(&signal.value) {
            _ if signal.confidence < self.min_confidence => 0,
            Some("bull") if close > trend => size,
            Some("bear") if close < trend => -size,
            _ => 0,
        };
        self.go_to(ctx, target);
    }
}

export_strategy!(RegimeSignal);
