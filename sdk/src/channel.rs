//! The Donchian channel in exact fixed point.
//!
//! Nautilus 0.57's `DonchianChannel` keeps up to 1,024 bars whatever its period (see
//! docs/decisions/0009), so strategies use this one: the highest high and lowest low of
//! the last `period` bars, compared as Nautilus `Price`s.

use std::collections::VecDeque;

use nautilus_model::types::Price;

/// Highest high / lowest low of the last `period` bars.
#[derive(Debug, Clone, PartialEq)]
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

    /// Its period.
    #[must_use]
    pub const fn period(&self) -> usize {
        self.period
    }

    /// The bars held, oldest first, as `(high, low)` (for snapshots).
    pub fn bars(&self) -> impl Iterator<Item = (Price, Price)> + '_ {
        self.bars.iter().copied()
    }
}

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
