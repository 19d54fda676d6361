//! Stubs for tests and benchmarks (the Nautilus `stubs` pattern): well-known values built
//! once here instead of being copied into every test.

use crate::bindings::types::{InstrumentInfo, InstrumentKind, Price, Quantity};

/// One unit in the contract's fixed-point scale (1e9): prices and quantities are `raw / UNIT`.
pub const UNIT: u64 = 1_000_000_000;

/// GBP/USD on FXCM: 5-decimal prices, whole-unit sizes.
#[must_use]
pub fn gbpusd_fxcm() -> InstrumentInfo {
    InstrumentInfo {
        id: "GBP/USD.FXCM".into(),
        kind: InstrumentKind::CurrencyPair,
        base_currency: Some("GBP".into()),
        quote_currency: "USD".into(),
        settlement_currency: "USD".into(),
        is_inverse: false,
        price_precision: 5,
        size_precision: 0,
        price_increment: Price {
            raw: 10_000,
            precision: 5,
        },
        size_increment: Quantity {
            raw: UNIT,
            precision: 0,
        },
        multiplier: Quantity {
            raw: UNIT,
            precision: 0,
        },
        lot_size: Some(Quantity {
            raw: 1_000 * UNIT,
            precision: 0,
        }),
        min_quantity: Some(Quantity {
            raw: UNIT,
            precision: 0,
        }),
        max_quantity: Some(Quantity {
            raw: 50_000_000 * UNIT,
            precision: 0,
        }),
        min_price: None,
        max_price: None,
    }
}

/// A market-data source that knows a fixed set of instruments and has seen no quote or bar:
/// enough to exercise a capability unit's scope and grant checks without a component.
#[derive(Debug, Default)]
pub struct StaticMarket {
    instruments: std::collections::BTreeMap<String, InstrumentInfo>,
}

impl StaticMarket {
    /// Knows `instruments`.
    #[must_use]
    pub fn new(instruments: impl IntoIterator<Item = InstrumentInfo>) -> Self {
        Self {
            instruments: instruments.into_iter().map(|i| (i.id.clone(), i)).collect(),
        }
    }

    /// Knows GBP/USD.FXCM and a copy of it named `id` for each of `others`.
    #[must_use]
    pub fn gbpusd_and(others: &[&str]) -> Self {
        let copies = others.iter().map(|id| InstrumentInfo {
            id: (*id).to_string(),
            ..gbpusd_fxcm()
        });
        Self::new(std::iter::once(gbpusd_fxcm()).chain(copies))
    }
}

impl crate::capabilities::market_data::MarketDataSource for StaticMarket {
    fn instrument(&self, instrument_id: &str) -> Option<InstrumentInfo> {
        self.instruments.get(instrument_id).cloned()
    }

    fn last_quote(&self, _instrument_id: &str) -> Option<crate::bindings::types::QuoteTick> {
        None
    }

    fn last_bar(
        &self,
        _bar_type: &crate::bindings::types::BarType,
    ) -> Option<crate::bindings::types::Bar> {
        None
    }
}
