//! EMA cross, line for line the decision logic of Nautilus Trader's Rust example strategy
//! (`nautilus_trading::examples::strategies::ema_cross`, 0.57): two Nautilus EMAs of the quote
//! mid price; once both are initialised, a market order of `trade_size` each time the fast
//! EMA crosses the slow one (buy on a cross up, sell on a cross down).

mod logic;

pub use logic::EmaCross;
use stratbox_sdk::export_strategy;

export_strategy!(EmaCross);
