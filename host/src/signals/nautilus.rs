//! Signals as Nautilus custom data, so a `BacktestEngine` orders them with market data by
//! `ts_init` and publishes them on one message-bus topic that every component adapter
//! subscribes to. The adapter then applies the plugin's grant and subscriptions.
//!
//! Ordering among events with equal timestamps is deterministic: Nautilus sorts by
//! `ts_init` with a stable sort, and the backtest puts market data before signals and
//! signals in [`super::Signal::order_key`] order, so a signal stamped at a bar's close is
//! delivered after that bar.

use std::{any::Any, sync::Arc};

use nautilus_core::UnixNanos;
use nautilus_model::data::{CustomData, CustomDataTrait, Data, DataType, HasTsInit};

use super::Signal;

/// The Nautilus data type name of stratbox signals (also the message-bus topic).
pub const TYPE_NAME: &str = "StratboxSignal";

/// One validated signal as Nautilus custom data.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalData {
    pub signal: Signal,
    /// Position in the run's signal sequence (for reports and dead letters).
    pub seq: i64,
}

impl HasTsInit for SignalData {
    fn ts_init(&self) -> UnixNanos {
        UnixNanos::from(self.signal.timestamp)
    }
}

impl CustomDataTrait for SignalData {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn ts_event(&self) -> UnixNanos {
        UnixNanos::from(self.signal.timestamp)
    }

    fn to_json(&self) -> anyhow::Result<String> {
        Ok(self.signal.canonical_json())
    }

    fn clone_arc(&self) -> Arc<dyn CustomDataTrait> {
        Arc::new(self.clone())
    }

    fn eq_arc(&self, other: &dyn CustomDataTrait) -> bool {
        other
            .as_any()
            .downcast_ref::<Self>()
            .is_some_and(|o| o == self)
    }
}

/// The data type every adapter subscribes to.
#[must_use]
pub fn data_type() -> DataType {
    DataType::new(TYPE_NAME, None, None)
}

/// `signal` as Nautilus data. The instrument id is the data type's identifier, so the
/// engine's batch validation (which looks at a batch's first element) finds the instrument.
#[must_use]
pub fn to_data(signal: Signal, seq: i64) -> Data {
    let identifier = Some(signal.instrument_id.clone());
    Data::Custom(CustomData::new(
        Arc::new(SignalData { signal, seq }),
        DataType::new(TYPE_NAME, None, identifier),
    ))
}
