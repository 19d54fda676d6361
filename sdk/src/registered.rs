//! Indicators the host keeps: registered once (usually in `on_start`), updated by the host
//! with Nautilus's own types before each event of their stream, read for free in the
//! callback. This is how Nautilus strategies use indicators
//! (`register_indicator_for_quote_ticks`, `register_indicator_for_bars`), and it keeps the
//! indicator math out of the sandbox: no float work in the guest, no software `fma`.
//!
//! ```
//! use stratbox_sdk::{prelude::*, registered::Indicator};
//!
//! #[derive(Debug)]
//! pub struct Cross { id: InstrumentId, fast: Option<Indicator>, slow: Option<Indicator> }
//!
//! impl Strategy for Cross {
//!     fn init(params: &Params) -> Result<Self, String> {
//!         Ok(Self { id: params.instrument_id("instrument_id")?, fast: None, slow: None })
//!     }
//!     fn on_start(&mut self, ctx: &mut Context) {
//!         // Subscribes to the quotes too if needed.
//!         self.fast = ctx.register_ema(Stream::Quotes(self.id), 10, PriceType::Mid).ok();
//!         self.slow = ctx.register_ema(Stream::Quotes(self.id), 20, PriceType::Mid).ok();
//!     }
//!     fn on_quote(&mut self, ctx: &mut Context, _quote: &QuoteTick) {
//!         let (Some(fast), Some(slow)) = (self.fast, self.slow) else { return };
//!         let (fast, slow) = (ctx.indicator(fast), ctx.indicator(slow));
//!         if fast.initialized && slow.initialized && fast.value > slow.value { /* ... */ }
//!     }
//! }
//! ```
//!
//! A guest can still compute indicators itself ([`crate::feed`]); both give the same values
//! bit for bit (the host's parity test checks it on the bundled data).

use serde::{Deserialize, Serialize};

use crate::{
    context::Stream,
    wit::{IndicatorId, StreamId},
};

/// Handle of an indicator this strategy registered; read it with
/// [`crate::Context::indicator`]. Handles are kept in snapshots, so a newer version that
/// restores the state keeps reading the same (warm) indicators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Indicator(pub(crate) u32);

/// An indicator's latest values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    /// Nautilus `initialized()`: the indicator has seen `period` inputs.
    pub initialized: bool,
    /// The value; for Bollinger bands and Donchian channels, the middle.
    pub value: f64,
    /// Upper band (bands); equal to `value` for single-value indicators.
    pub upper: f64,
    /// Lower band (bands); equal to `value` for single-value indicators.
    pub lower: f64,
}

/// One registered indicator as the SDK tracks it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct Slot {
    /// The host's id.
    pub id: IndicatorId,
    /// The stream it is updated from; `None` once that stream was unsubscribed.
    pub stream: Option<StreamId>,
    pub source: Stream,
    /// Values it contributes to each event (1, or 3 for bands).
    pub outputs: u8,
    pub reading: Reading,
}

/// The registered indicators of one instance.
#[derive(Debug, Default, Clone)]
pub(crate) struct Table {
    pub slots: Vec<Slot>,
}

impl Table {
    /// The handle of host indicator `id`, adding it if new (the host returns the same id
    /// for the same spec on the same stream).
    pub fn add(
        &mut self,
        id: IndicatorId,
        stream: StreamId,
        source: Stream,
        outputs: u8,
    ) -> Indicator {
        if let Some(i) = self
            .slots
            .iter()
            .position(|s| s.id == id && s.stream == Some(stream))
        {
            return Indicator(u32::try_from(i).unwrap_or(u32::MAX));
        }
        self.slots.push(Slot {
            id,
            stream: Some(stream),
            source,
            outputs,
            reading: Reading::default(),
        });
        Indicator(u32::try_from(self.slots.len() - 1).unwrap_or(u32::MAX))
    }

    /// The latest reading of `h` (default before the first event of its stream).
    pub fn reading(&self, h: Indicator) -> Reading {
        usize::try_from(h.0)
            .ok()
            .and_then(|i| self.slots.get(i))
            .map(|s| s.reading)
            .unwrap_or_default()
    }

    /// Takes the values the host sent with an event of `stream`: the stream's indicators
    /// in registration order, each with its outputs.
    pub fn take(&mut self, stream: StreamId, initialized: u64, values: &[f64]) {
        let mut at = 0usize;
        let slots = self.slots.iter_mut().filter(|s| s.stream == Some(stream));
        for (bit, slot) in (0u32..).zip(slots) {
            let n = usize::from(slot.outputs);
            let Some(v) = values.get(at..at + n) else {
                break;
            };
            let initialized = initialized.checked_shr(bit).is_some_and(|b| b & 1 == 1);
            slot.reading = match *v {
                [value] => Reading {
                    initialized,
                    value,
                    upper: value,
                    lower: value,
                },
                [upper, middle, lower] => Reading {
                    initialized,
                    value: middle,
                    upper,
                    lower,
                },
                _ => slot.reading,
            };
            at += n;
        }
    }

    /// The stream was unsubscribed: its indicators keep their last reading and stop.
    pub fn stop(&mut self, stream: StreamId) {
        for slot in self.slots.iter_mut().filter(|s| s.stream == Some(stream)) {
            slot.stream = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Indicator, Reading, Table};
    use crate::context::Stream;

    #[test]
    fn values_are_taken_in_registration_order_per_stream() {
        let id = "GBP/USD.FXCM".parse().unwrap();
        let mut t = Table::default();
        let a = t.add(7, 0, Stream::Quotes(id), 1);
        let b = t.add(8, 1, Stream::Trades(id), 3);
        let c = t.add(9, 0, Stream::Quotes(id), 3);
        assert_eq!(
            t.add(7, 0, Stream::Quotes(id), 1),
            a,
            "same host id, same handle"
        );
        t.take(0, 0b10, &[1.5, 3.0, 2.0, 1.0]);
        assert_eq!(
            t.reading(a),
            Reading {
                initialized: false,
                value: 1.5,
                upper: 1.5,
                lower: 1.5
            }
        );
        assert_eq!(
            t.reading(c),
            Reading {
                initialized: true,
                value: 2.0,
                upper: 3.0,
                lower: 1.0
            }
        );
        assert_eq!(
            t.reading(b),
            Reading::default(),
            "another stream's indicator is untouched"
        );
        // Too few values (a host bug) leave the readings as they were.
        t.take(0, 1, &[]);
        assert_eq!(t.reading(a).value, 1.5);
        t.stop(0);
        t.take(0, 1, &[9.0, 9.0, 9.0, 9.0]);
        assert_eq!(
            t.reading(a).value,
            1.5,
            "an unsubscribed stream's indicators stop"
        );
        assert_eq!(t.reading(Indicator(99)), Reading::default());
    }
}
