//! Donchian-channel breakout on bars, always in the market after the first breakout.
//!
//! The channel is the highest high and lowest low of the previous `period` bars, kept in
//! exact fixed point. (Nautilus 0.57's `DonchianChannel` keeps up to 1,024 bars whatever its
//! period — see docs/decisions/0009 — so it is not used here.)

use std::collections::VecDeque;

use stratbox_sdk::prelude::*;

/// Highest high / lowest low of the last `period` bars.
#[derive(Debug, Clone)]
pub struct Channel {
    period: usize,
    bars: VecDeque<(Price, Price)>,
}

impl Channel {
    #[must_use]
    pub fn new(period: usize) -> Self {
        Self {
            period,
            bars: VecDeque::with_capacity(period + 1),
        }
    }

    /// Adds a bar's high and low, forgetting the oldest beyond `period`.
    pub fn update(&mut self, high: Price, low: Price) {
        self.bars.push_back((high, low));
        if self.bars.len() > self.period {
            self.bars.pop_front();
        }
    }

    /// `(upper, lower)` once `period` bars have been seen.
    #[must_use]
    pub fn bounds(&self) -> Option<(Price, Price)> {
        if self.bars.len() < self.period {
            return None;
        }
        let upper = self.bars.iter().map(|b| b.0).max()?;
        let lower = self.bars.iter().map(|b| b.1).min()?;
        Some((upper, lower))
    }
}

#[derive(Debug)]
pub struct DonchianBreakout {
    bar_type: BarType,
    trade_size: Quantity,
    channel: Channel,
}

impl DonchianBreakout {
    fn target(&mut self, ctx: &mut Context, long: bool) {
        let id = self.bar_type.instrument_id();
        let size = i128::from(self.trade_size.raw);
        ctx.move_to(
            id,
            if long { size } else { -size },
            self.trade_size.precision,
        );
    }
}

impl Strategy for DonchianBreakout {
    fn init(params: &Params) -> Result<Self, String> {
        let bar_type = params.bar_type("bar_type")?;
        Ok(Self {
            bar_type,
            trade_size: params.quantity("trade_size")?,
            channel: Channel::new(params.usize("period")?),
        })
    }

    fn on_start(&mut self, ctx: &mut Context) {
        if let Err(e) = ctx.subscribe_bars(&self.bar_type) {
            ctx.error(&format!("cannot subscribe to {}: {e:?}", self.bar_type));
        }
    }

    fn on_bar(&mut self, ctx: &mut Context, bar: &Bar) {
        // The channel before this bar: a bar never breaks its own range.
        let bounds = self.channel.bounds();
        self.channel.update(bar.high, bar.low);
        let Some((upper, lower)) = bounds else { return };
        if !ctx.open_orders().is_empty() {
            return;
        }
        if bar.close > upper {
            self.target(ctx, true);
        } else if bar.close < lower {
            self.target(ctx, false);
        }
    }
}

export_strategy!(DonchianBreakout);

#[cfg(test)]
mod tests {
    use super::*;

    fn p(v: i64) -> Price {
        Price::from_raw(v * 100_000_000, 1)
    }

    #[test]
    fn channel_covers_exactly_the_last_period_bars() {
        let mut c = Channel::new(3);
        c.update(p(10), p(5));
        c.update(p(12), p(6));
        assert_eq!(c.bounds(), None);
        c.update(p(11), p(4));
        assert_eq!(c.bounds(), Some((p(12), p(4))));
        c.update(p(9), p(7));
        c.update(p(8), p(7));
        assert_eq!(
            c.bounds(),
            Some((p(11), p(4))),
            "the 12 high has left the window"
        );
        c.update(p(8), p(8));
        assert_eq!(c.bounds(), Some((p(9), p(7))));
    }
}
