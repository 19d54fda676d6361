//! `ema-atr-filter`: a strategy that does a little indicator work on every quote and
//! trades rarely. It is the *light* workload of `stratbox bench backtest`, where nearly
//! all of a run is market data flowing through Nautilus and the strategy, so the cost
//! of the sandbox per event shows plainly.
//!
//! Its two EMAs are registered with the host (`host_indicators = true`, the default): the
//! host updates them natively, Nautilus's way, and hands their values with each quote.
//! With `host_indicators = false` the component computes them itself; both make the same
//! decisions (the host's registered-indicator parity test runs both).

pub mod core;

use stratbox_sdk::{export_strategy, prelude::*};

use crate::core::{Average, Emas, LightConfig, LightCore};

/// Where the EMAs are computed.
#[derive(Debug)]
enum Averages {
    /// Registered with the host; `None` until `on_start` registered them.
    Host(Option<(Registered, Registered)>),
    /// Computed here.
    Guest(Emas),
}

#[derive(Debug)]
pub struct EmaAtrFilter {
    instrument_id: InstrumentId,
    trade_size: Quantity,
    config: LightConfig,
    averages: Averages,
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
        let core = LightCore::new(config)?;
        Ok(Self {
            instrument_id: params.instrument_id("instrument_id")?,
            trade_size: params.quantity("trade_size")?,
            averages: if params.bool("host_indicators")? {
                Averages::Host(None)
            } else {
                Averages::Guest(Emas::new(&config))
            },
            config,
            core,
        })
    }

    fn on_start(&mut self, ctx: &mut Context) {
        let quotes = Stream::Quotes(self.instrument_id);
        let registered = match self.averages {
            Averages::Host(_) => ctx
                .register_ema(quotes, self.config.fast_period, PriceType::Mid)
                .and_then(|fast| {
                    let slow = ctx.register_ema(quotes, self.config.slow_period, PriceType::Mid)?;
                    Ok(Averages::Host(Some((fast, slow))))
                }),
            Averages::Guest(_) => ctx
                .subscribe_quotes(&self.instrument_id)
                .map(|()| Averages::Guest(Emas::new(&self.config))),
        };
        match registered {
            Ok(averages) => self.averages = averages,
            Err(e) => ctx.error(&format!(
                "cannot follow the quotes of {}: {e:?}",
                self.instrument_id
            )),
        }
    }

    fn on_quote(&mut self, ctx: &mut Context, quote: &QuoteTick) {
        let (fast, slow) = match &mut self.averages {
            Averages::Host(Some((fast, slow))) => {
                let read = |r: Reading| Average {
                    initialized: r.initialized,
                    value: r.value,
                };
                (read(ctx.indicator(*fast)), read(ctx.indicator(*slow)))
            }
            Averages::Host(None) => return,
            Averages::Guest(emas) => emas.update(quote.bid_price, quote.ask_price),
        };
        if let Some(side) = self
            .core
            .on_quote(quote.bid_price, quote.ask_price, fast, slow)
        {
            let side = match side {
                stratbox_sdk::model::enums::OrderSide::Buy => OrderSide::Buy,
                _ => OrderSide::Sell,
            };
            ctx.submit_or_warn(Order::market(self.instrument_id, side, self.trade_size));
        }
    }
}

export_strategy!(EmaAtrFilter);
