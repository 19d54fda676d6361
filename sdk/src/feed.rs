//! Feeding SDK market data to Nautilus indicators, exactly as Nautilus feeds its own types.
//!
//! Each method body is the body of the indicator's `handle_bar` / `handle_quote` /
//! `handle_trade` in nautilus-indicators 0.57, applied to the SDK's data types (which carry
//! the same `Price` / `Quantity` values). The SDK's tests run both on the bundled GBP/USD
//! data and require bit-identical indicator values.

use nautilus_indicators::{
    average::{ema::ExponentialMovingAverage, rma::WilderMovingAverage, sma::SimpleMovingAverage},
    indicator::MovingAverage,
    momentum::{bb::BollingerBands, rsi::RelativeStrengthIndex},
    volatility::{atr::AverageTrueRange, dc::DonchianChannel},
};
use nautilus_model::enums::PriceType;

use crate::data::{Bar, QuoteTick, TradeTick};

/// Indicators updated from bars.
pub trait FeedBar {
    fn feed_bar(&mut self, bar: &Bar);
}

/// Indicators updated from quotes.
pub trait FeedQuote {
    fn feed_quote(&mut self, quote: &QuoteTick);
}

/// Indicators updated from trades.
pub trait FeedTrade {
    fn feed_trade(&mut self, trade: &TradeTick);
}

macro_rules! moving_average {
    ($t:ty) => {
        impl FeedBar for $t {
            fn feed_bar(&mut self, bar: &Bar) {
                self.update_raw(bar.close.as_f64());
            }
        }
        impl FeedQuote for $t {
            fn feed_quote(&mut self, quote: &QuoteTick) {
                self.update_raw(quote.extract_price(self.price_type).as_f64());
            }
        }
        impl FeedTrade for $t {
            fn feed_trade(&mut self, trade: &TradeTick) {
                self.update_raw(trade.price.as_f64());
            }
        }
    };
}

moving_average!(ExponentialMovingAverage);
moving_average!(SimpleMovingAverage);
moving_average!(WilderMovingAverage);

impl FeedBar for BollingerBands {
    fn feed_bar(&mut self, bar: &Bar) {
        self.update_raw(bar.high.as_f64(), bar.low.as_f64(), bar.close.as_f64());
    }
}

#[allow(clippy::cast_precision_loss)]
impl FeedQuote for BollingerBands {
    fn feed_quote(&mut self, quote: &QuoteTick) {
        // Nautilus feeds raw (unscaled) values here; kept as is for parity.
        let bid = quote.bid_price.raw as f64;
        let ask = quote.ask_price.raw as f64;
        self.update_raw(ask, bid, f64::midpoint(bid, ask));
    }
}

#[allow(clippy::cast_precision_loss)]
impl FeedTrade for BollingerBands {
    fn feed_trade(&mut self, trade: &TradeTick) {
        let price = trade.price.raw as f64;
        self.update_raw(price, price, price);
    }
}

impl FeedBar for DonchianChannel {
    fn feed_bar(&mut self, bar: &Bar) {
        self.update_raw(bar.high.as_f64(), bar.low.as_f64());
    }
}

impl FeedBar for AverageTrueRange {
    fn feed_bar(&mut self, bar: &Bar) {
        self.update_raw(bar.high.as_f64(), bar.low.as_f64(), bar.close.as_f64());
    }
}

impl FeedBar for RelativeStrengthIndex {
    fn feed_bar(&mut self, bar: &Bar) {
        self.update_raw(bar.close.as_f64());
    }
}

impl FeedQuote for RelativeStrengthIndex {
    fn feed_quote(&mut self, quote: &QuoteTick) {
        self.update_raw(quote.extract_price(PriceType::Mid).as_f64());
    }
}

impl FeedTrade for RelativeStrengthIndex {
    fn feed_trade(&mut self, trade: &TradeTick) {
        self.update_raw(trade.price.as_f64());
    }
}

#[cfg(test)]
mod tests;
