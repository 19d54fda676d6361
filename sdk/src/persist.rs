//! Exact save/restore of indicator state, for `Strategy::snapshot` / `Strategy::restore`
//! (hot-swap state transfer), plus the encoding helpers strategies use for their own state.
//!
//! Only indicators whose state can be rebuilt bit for bit are offered here. Nautilus keeps
//! running sums in floating point for SMA-based indicators (SMA, Bollinger, RSI, ATR), so
//! replaying a window would not reproduce the same bits; strategies using those either carry
//! their own inputs or refuse `restore` (the host then rolls a swap back).

use nautilus_indicators::{
    average::ema::ExponentialMovingAverage,
    indicator::{Indicator, MovingAverage},
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// Encodes a strategy's state (postcard: compact, deterministic).
pub fn encode<T: Serialize>(state: &T) -> Result<Vec<u8>, String> {
    postcard::to_allocvec(state).map_err(|e| format!("cannot encode strategy state: {e}"))
}

/// Decodes what [`encode`] produced.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    postcard::from_bytes(bytes).map_err(|e| format!("cannot decode strategy state: {e}"))
}

/// The complete state of a Nautilus [`ExponentialMovingAverage`] (its period and price type
/// come from the strategy's parameters).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EmaState {
    pub value: f64,
    pub count: usize,
    pub initialized: bool,
}

impl EmaState {
    /// Captures `ema`.
    #[must_use]
    pub fn of(ema: &ExponentialMovingAverage) -> Self {
        Self {
            value: ema.value,
            count: ema.count,
            initialized: ema.initialized,
        }
    }

    /// Puts this state into `ema` (same period), after which it behaves exactly like the
    /// indicator that was captured.
    pub fn apply(&self, ema: &mut ExponentialMovingAverage) {
        ema.reset();
        if self.count == 0 {
            return;
        }
        // The first update marks the indicator as having inputs (a private flag); the
        // public fields are then set to the captured values.
        ema.update_raw(self.value);
        ema.value = self.value;
        ema.count = self.count;
        ema.initialized = self.initialized;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ema_restores_bit_for_bit() {
        let inputs: Vec<f64> = (0..400)
            .map(|i| 1.3 + f64::from(i % 37) * 1e-4 - f64::from(i % 11) * 3e-5)
            .collect();
        let mut original = ExponentialMovingAverage::new(20, None);
        for v in &inputs[..150] {
            original.update_raw(*v);
        }
        let saved = decode::<EmaState>(&encode(&EmaState::of(&original)).unwrap()).unwrap();
        let mut restored = ExponentialMovingAverage::new(20, None);
        saved.apply(&mut restored);
        for v in &inputs[150..] {
            original.update_raw(*v);
            restored.update_raw(*v);
            assert_eq!(original.value.to_bits(), restored.value.to_bits());
            assert_eq!(original.initialized, restored.initialized);
            assert_eq!(original.count, restored.count);
        }
    }

    #[test]
    fn empty_state_resets() {
        let mut ema = ExponentialMovingAverage::new(3, None);
        ema.update_raw(1.0);
        EmaState {
            value: 0.0,
            count: 0,
            initialized: false,
        }
        .apply(&mut ema);
        assert!(!ema.has_inputs());
        assert_eq!(ema.count, 0);
    }
}
