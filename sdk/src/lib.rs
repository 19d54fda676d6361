//! # stratbox SDK
//!
//! Write a trading strategy as one struct implementing [`Strategy`] and one call of
//! [`export_strategy!`]; `stratbox new` writes such a crate and `stratbox build` turns it
//! into a sandboxed component the stratbox host runs inside Nautilus Trader (inside the
//! stratbox repository, `cargo xtask plugins` builds the bundled ones).
//!
//! ```
//! use stratbox_sdk::{indicators::average::ema::ExponentialMovingAverage, prelude::*};
//!
//! #[derive(Debug)]
//! pub struct Trend { bar_type: BarType, size: Quantity, ema: ExponentialMovingAverage }
//!
//! impl Strategy for Trend {
//!     fn init(params: &Params) -> Result<Self, String> {
//!         Ok(Self {
//!             bar_type: params.bar_type("bar_type")?,
//!             size: params.quantity("trade_size")?,
//!             ema: ExponentialMovingAverage::new(params.usize("period")?, None),
//!         })
//!     }
//!     fn on_start(&mut self, ctx: &mut Context) {
//!         if let Err(e) = ctx.subscribe_bars(&self.bar_type) { ctx.error(&format!("{e:?}")); }
//!     }
//!     fn on_bar(&mut self, ctx: &mut Context, bar: &Bar) {
//!         self.ema.feed_bar(bar);                       // exactly Nautilus's handle_bar
//!         if self.ema.initialized() && bar.close.as_f64() > self.ema.value() {
//!             let id = self.bar_type.instrument_id();
//!             ctx.submit_or_warn(Order::market(id, OrderSide::Buy, self.size)); // refusals are logged
//!         }
//!     }
//! }
//!
//! export_strategy!(Trend);
//! ```
//!
//! Market data arrives Nautilus-shaped ([`data`]: `Bar`, `QuoteTick`, `TradeTick` with
//! Nautilus `Price` / `Quantity`), converted exactly from the contract's fixed-point values.
//! Indicators come two ways, bit-for-bit those of a native strategy either way:
//! - **registered** ([`registered`], `ctx.register_ema(..)` and friends): the host keeps
//!   Nautilus's own indicator and updates it before each event of its stream, as Nautilus
//!   updates a strategy's registered indicators; the values arrive with the event. No
//!   indicator math runs in the sandbox. Use this where Nautilus's handler fits.
//! - **computed here**: [`feed`] hands events to Nautilus indicators (re-exported as
//!   [`indicators`]) exactly as Nautilus does, for anything the host does not keep (as in
//!   the example above).

// Lets generated code name this crate by its public path, from inside and outside.
extern crate self as stratbox_sdk;

pub mod bindings;
pub mod channel;
mod context;
pub mod convert;
pub mod data;
#[cfg(any(target_arch = "wasm32", test))]
mod entropy;
pub mod feed;
mod order;
mod params;
pub mod persist;
pub mod registered;
mod runtime;
pub mod signal;

pub use context::{Context, Stream};
pub use nautilus_indicators as indicators;
pub use nautilus_model as model;
pub use order::{Order, signed_raw};
pub use params::{ParamError, Params};

/// The WIT contract's types as generated for the guest (names as in `wit/types.wit`).
pub mod wit {
    pub use crate::bindings::stratbox::strategy::{
        diagnostics::Level,
        market_data::DataError,
        signals::{SignalError, SubscriptionId},
        types::*,
    };
}

use data::{Bar, QuoteTick, TradeTick};

/// A trading strategy. Every hook has a no-op default; implement what you need.
///
/// The host calls one hook at a time with a fuel budget; a panic or trap quarantines the
/// instance. Nothing here can read a clock, a file or the network: time is the event time.
pub trait Strategy: Sized + Send + 'static {
    /// Builds the strategy from its parameters (already checked by the host against
    /// `stratbox.toml`). An error refuses the plugin with that message.
    fn init(params: &Params) -> Result<Self, String>;

    /// Subscribe to data and signals here.
    fn on_start(&mut self, _ctx: &mut Context) {}

    /// A bar of a subscribed bar type.
    fn on_bar(&mut self, _ctx: &mut Context, _bar: &Bar) {}

    /// A quote of a subscribed instrument.
    fn on_quote(&mut self, _ctx: &mut Context, _quote: &QuoteTick) {}

    /// A trade of a subscribed instrument.
    fn on_trade(&mut self, _ctx: &mut Context, _trade: &TradeTick) {}

    /// A validated AI signal of a subscribed type.
    fn on_signal(&mut self, _ctx: &mut Context, _signal: &wit::AiSignal) {}

    /// Accepted / rejected / filled / cancelled, for orders this strategy submitted.
    fn on_order_event(&mut self, _ctx: &mut Context, _event: &wit::OrderEvent) {}

    /// The strategy stops; no event follows.
    fn on_stop(&mut self, _ctx: &mut Context) {}

    /// State for a newer version of this strategy (hot-swap). Empty by default.
    fn snapshot(&self) -> Vec<u8> {
        Vec::new()
    }

    /// Adopts state produced by [`Strategy::snapshot`]. By default only an empty state is
    /// accepted, so a swap of a strategy that does not carry state over is rolled back
    /// rather than silently starting cold.
    fn restore(&mut self, state: &[u8]) -> Result<(), String> {
        if state.is_empty() {
            Ok(())
        } else {
            Err("this strategy does not implement `restore`".to_string())
        }
    }
}

/// Everything a strategy file usually needs.
pub mod prelude {
    pub use crate::{
        Context, Order, ParamError, Params, Strategy, Stream, export_strategy,
        wit::{
            AiSignal, InstrumentInfo, Level, OrderEvent, OrderSide, PositionSide, PositionView,
            RejectCode, Rejection, RiskDecision, SignalType, SignalValue, TimeInForce,
        },
    };
    pub use crate::{
        data::{Bar, BarType, InstrumentId, QuoteTick, TradeTick},
        feed::{FeedBar, FeedQuote, FeedTrade},
        registered::{Indicator as Registered, Reading},
    };
    pub use nautilus_indicators::indicator::{Indicator, MovingAverage};
    pub use nautilus_model::{
        enums::{AggregationSource, AggressorSide, BarAggregation, PriceType},
        types::{Price, Quantity},
    };
}

#[doc(hidden)]
pub mod __private {
    pub use crate::runtime::Runtime;
    pub use wit_bindgen;
}

/// Exports a [`Strategy`] as the plugin's implementation of the `strategy` interface.
/// Call it once per plugin crate.
#[macro_export]
macro_rules! export_strategy {
    ($strategy:ty) => {
        #[allow(unsafe_code)]
        const _: () = {
            use $crate::bindings::exports::stratbox::strategy::strategy::Guest;
            use $crate::bindings::exports::stratbox::strategy::indicator_events::Guest as IndicatorGuest;
            use $crate::bindings::stratbox::strategy::types as __wit;

            static RUNTIME: $crate::__private::Runtime<$strategy> = $crate::__private::Runtime::new();

            struct __StratboxPlugin;

            impl Guest for __StratboxPlugin {
                fn init(params: ::std::vec::Vec<__wit::Param>) -> ::std::result::Result<(), ::std::string::String> {
                    RUNTIME.init(params)
                }
                fn on_start() {
                    RUNTIME.on_start()
                }
                fn on_bar(bar: __wit::Bar) {
                    RUNTIME.on_bar(bar)
                }
                fn on_quote(quote: __wit::QuoteTick) {
                    RUNTIME.on_quote(quote)
                }
                fn on_trade(trade: __wit::TradeTick) {
                    RUNTIME.on_trade(trade)
                }
                fn on_signal(signal: __wit::AiSignal) {
                    RUNTIME.on_signal(signal)
                }
                fn on_order_event(event: __wit::OrderEvent) {
                    RUNTIME.on_order_event(event)
                }
                fn on_stop() {
                    RUNTIME.on_stop()
                }
                fn snapshot() -> ::std::vec::Vec<u8> {
                    RUNTIME.snapshot()
                }
                fn restore(state: ::std::vec::Vec<u8>) -> ::std::result::Result<(), ::std::string::String> {
                    RUNTIME.restore(state)
                }
            }

            impl IndicatorGuest for __StratboxPlugin {
                fn on_quote_with(quote: __wit::QuoteTick, initialized: u64, v0: f64, v1: f64, v2: f64, v3: f64) {
                    RUNTIME.on_quote_with(quote, initialized, &[v0, v1, v2, v3])
                }
                fn on_bar_with(bar: __wit::Bar, initialized: u64, v0: f64, v1: f64) {
                    RUNTIME.on_bar_with(bar, initialized, &[v0, v1])
                }
                fn on_quote_with_list(quote: __wit::QuoteTick, values: __wit::IndicatorValues) {
                    RUNTIME.on_quote_with(quote, values.initialized, &values.values)
                }
                fn on_bar_with_list(bar: __wit::Bar, values: __wit::IndicatorValues) {
                    RUNTIME.on_bar_with(bar, values.initialized, &values.values)
                }
                fn on_trade_with(trade: __wit::TradeTick, values: __wit::IndicatorValues) {
                    RUNTIME.on_trade_with(trade, values)
                }
            }

            // Exported only in the component build: native builds (tests, clippy) cannot
            // link symbol names like `stratbox:strategy/strategy@0.1.1#init`.
            #[cfg(target_arch = "wasm32")]
            $crate::bindings::__export_strategy_plugin!(__StratboxPlugin with_types_in $crate::bindings);
        };
    };
}
