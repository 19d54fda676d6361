//! Native Nautilus strategies used as baselines: each is the twin of a bundled component,
//! making the same decisions without a sandbox, so `stratbox bench backtest` can price
//! the sandbox alone.

use std::fmt;

use nautilus_common::actor::DataActor;
use nautilus_model::{
    data::QuoteTick,
    identifiers::{InstrumentId, StrategyId},
    types::Quantity,
};
use nautilus_trading::{
    nautilus_strategy,
    strategy::{Strategy, StrategyConfig, StrategyCore},
};

/// The decision core of the `ema-atr-filter` component, compiled here from the plugin's
/// own source file.
#[path = "../../../plugins/ema-atr-filter/src/core.rs"]
pub mod light_core;

use light_core::{Emas, LightConfig, LightCore};

/// The native twin of `plugins/ema-atr-filter`.
pub struct NativeLight {
    core: StrategyCore,
    instrument_id: InstrumentId,
    trade_size: Quantity,
    /// The EMAs, updated in `on_quote` before the decision, as Nautilus updates registered
    /// indicators before a strategy's handler.
    emas: Emas,
    logic: LightCore,
}

impl fmt::Debug for NativeLight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NativeLight")
            .field("instrument_id", &self.instrument_id)
            .field("logic", &self.logic)
            .finish_non_exhaustive()
    }
}

impl NativeLight {
    /// The twin with strategy id `strategy_id`.
    pub fn new(
        strategy_id: StrategyId,
        instrument_id: InstrumentId,
        trade_size: Quantity,
        config: LightConfig,
    ) -> Result<Self, String> {
        let base = StrategyConfig {
            strategy_id: Some(strategy_id),
            order_id_tag: Some(strategy_id.get_tag().to_string()),
            ..StrategyConfig::default()
        };
        Ok(Self {
            core: StrategyCore::new(base),
            instrument_id,
            trade_size,
            emas: Emas::new(&config),
            logic: LightCore::new(config)?,
        })
    }
}

nautilus_strategy!(NativeLight);

impl DataActor for NativeLight {
    fn on_start(&mut self) -> anyhow::Result<()> {
        self.subscribe_quotes(self.instrument_id, None, None);
        Ok(())
    }

    fn on_stop(&mut self) -> anyhow::Result<()> {
        self.unsubscribe_quotes(self.instrument_id, None, None);
        Ok(())
    }

    fn on_quote(&mut self, quote: &QuoteTick) -> anyhow::Result<()> {
        let (fast, slow) = self.emas.update(quote.bid_price, quote.ask_price);
        if let Some(side) = self
            .logic
            .on_quote(quote.bid_price, quote.ask_price, fast, slow)
        {
            let order = self.core.order_factory().market(
                self.instrument_id,
                side,
                self.trade_size,
                None,
                None,
                None,
                None,
                None,
                None,
                None,
            );
            self.submit_order(order, None, None, None)?;
        }
        Ok(())
    }
}
