//! `ema-atr-filter`: a strategy that does a little indicator work on every quote and
//! trades rarely. It is the *light* workload of `stratbox bench backtest`, where nearly
//! all of a run is market data flowing through Nautilus and the strategy, so the cost
//! of the sandbox per event shows plainly.

pub mod core;

use stratbox_sdk::{export_strategy, prelude::*};

use crate::core::{LightConfig, LightCore};

#[derive(Debug)]
pub struct EmaAtrFilter {
    instrument_id: InstrumentId,
    trade_size: Quantity,
    core: LightCore,
}

impl Strategy for EmaAtrFilter {
    fn init(params: &Params) -> Result<Self, String> {
        let cooldown = params.int("cooldown")?;
        let config = LightConfig {
            fast_period: params.usize("fast_period")?,
            slow_period: params.usize("slow_period")?,
            atr_period: params.usize("atr_period")?,
            atr_mult: params.float("atr_mult")?,
            cooldown: u64::try_from(cooldown)
                .map_err(|_| format!("cooldown ({cooldown}) must be positive"))?,
        };
        Ok(Self {
            instrument_id: params.instrument_id("instrument_id")?,
            trade_size: params.quantity("trade_size")?,
            core: LightCore::new(config)?,
        })
    }

    fn on_start(&mut self, ctx: &mut Context) {
        if let Err(e) = ctx.subscribe_quotes(&self.instrument_id) {
            ctx.error(&format!(
                "cannot subscribe to quotes of {}: {e:?}",
                self.instrument_id
            ));
        }
    }

    fn on_quote(&mut self, ctx: &mut Context, quote: &QuoteTick) {
        if let Some(side) = self.core.on_quote(quote.bid_price, quote.ask_price) {
            let side = match side {
                stratbox_sdk::model::enums::OrderSide::Buy => OrderSide::Buy,
                _ => OrderSide::Sell,
            };
            ctx.submit_or_warn(Order::market(self.instrument_id, side, self.trade_size));
        }
    }
}

export_strategy!(EmaAtrFilter);
