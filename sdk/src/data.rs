//! Market data as strategies see it: Nautilus-shaped (`Bar`, `QuoteTick`, `TradeTick`, with
//! Nautilus `Price` / `Quantity` values and enums) but with light identifiers.
//!
//! Nautilus interns identifiers in a global string cache (`ustr`) whose first use allocates
//! about 8 MiB and burns millions of fuel; inside a sandbox that would dominate every
//! instance's memory and start-up. [`InstrumentId`] here is a small `Copy` inline string
//! instead. Prices and quantities are Nautilus's own types, converted exactly, so Nautilus
//! indicators compute bit for bit what they compute natively (see [`crate::feed`]).

use std::{fmt, str::FromStr};

use nautilus_model::{
    enums::{AggregationSource, AggressorSide, BarAggregation, PriceType},
    types::{Price, Quantity, fixed::FIXED_PRECISION},
};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest instrument id accepted.
pub const MAX_INSTRUMENT_ID_BYTES: usize = 64;

/// A Nautilus instrument id, `SYMBOL.VENUE` (e.g. `GBP/USD.FXCM`), held inline.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstrumentId {
    len: u8,
    bytes: [u8; MAX_INSTRUMENT_ID_BYTES],
}

impl InstrumentId {
    /// The id as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // Only ever built from a validated `&str`, so the bytes are UTF-8.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }

    /// The part before the last `.`.
    #[must_use]
    pub fn symbol(&self) -> &str {
        self.as_str().rsplit_once('.').map_or("", |(s, _)| s)
    }

    /// The part after the last `.`.
    #[must_use]
    pub fn venue(&self) -> &str {
        self.as_str().rsplit_once('.').map_or("", |(_, v)| v)
    }
}

impl FromStr for InstrumentId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() > MAX_INSTRUMENT_ID_BYTES {
            return Err(format!(
                "instrument id `{s}` is longer than {MAX_INSTRUMENT_ID_BYTES} bytes"
            ));
        }
        let valid = s
            .rsplit_once('.')
            .is_some_and(|(sym, venue)| !sym.is_empty() && !venue.is_empty())
            && s.chars().all(|c| c.is_ascii_graphic());
        if !valid {
            return Err(format!(
                "instrument id `{s}` is not SYMBOL.VENUE (printable ASCII, no spaces)"
            ));
        }
        let mut bytes = [0; MAX_INSTRUMENT_ID_BYTES];
        bytes[..s.len()].copy_from_slice(s.as_bytes());
        Ok(Self {
            len: u8::try_from(s.len()).map_err(|e| e.to_string())?,
            bytes,
        })
    }
}

impl fmt::Display for InstrumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for InstrumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InstrumentId({:?})", self.as_str())
    }
}

impl Serialize for InstrumentId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for InstrumentId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A Nautilus standard bar type, e.g. `GBP/USD.FXCM-1-MINUTE-BID-EXTERNAL`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct BarType {
    pub instrument_id: InstrumentId,
    pub step: u32,
    pub aggregation: BarAggregation,
    pub price_type: PriceType,
    pub source: AggregationSource,
}

impl BarType {
    /// The instrument the bars are of.
    #[must_use]
    pub fn instrument_id(&self) -> InstrumentId {
        self.instrument_id
    }
}

impl FromStr for BarType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| {
            format!("bar type `{s}` {why} (expected e.g. GBP/USD.FXCM-1-MINUTE-BID-EXTERNAL)")
        };
        let mut parts = s.rsplitn(5, '-');
        let (Some(source), Some(price), Some(agg), Some(step), Some(instrument)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(bad("has too few parts"));
        };
        let step: u32 = step
            .parse()
            .map_err(|_| bad("has a step that is not a positive integer"))?;
        if step == 0 {
            return Err(bad("has step 0"));
        }
        Ok(Self {
            instrument_id: instrument.parse()?,
            step,
            aggregation: agg.parse().map_err(|_| bad("has an unknown aggregation"))?,
            price_type: price
                .parse()
                .map_err(|_| bad("has an unknown price type"))?,
            source: source
                .parse()
                .map_err(|_| bad("has an unknown aggregation source"))?,
        })
    }
}

impl fmt::Display for BarType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}-{}-{}-{}",
            self.instrument_id, self.step, self.aggregation, self.price_type, self.source
        )
    }
}

impl Serialize for BarType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for BarType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// A bar (fields as in Nautilus's `Bar`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Bar {
    pub bar_type: BarType,
    pub open: Price,
    pub high: Price,
    pub low: Price,
    pub close: Price,
    pub volume: Quantity,
    /// UNIX ns.
    pub ts_event: u64,
    pub ts_init: u64,
}

/// A top-of-book quote (fields as in Nautilus's `QuoteTick`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct QuoteTick {
    pub instrument_id: InstrumentId,
    pub bid_price: Price,
    pub ask_price: Price,
    pub bid_size: Quantity,
    pub ask_size: Quantity,
    pub ts_event: u64,
    pub ts_init: u64,
}

impl QuoteTick {
    /// The price for `price_type`, exactly as Nautilus's `QuoteTick::extract_price`: the mid
    /// is the midpoint of the raw values with one more decimal of precision.
    ///
    /// `Last` and `Mark` have no meaning for a quote; like Nautilus, they are not supported
    /// (this returns the mid for them rather than aborting the strategy).
    #[must_use]
    pub fn extract_price(&self, price_type: PriceType) -> Price {
        match price_type {
            PriceType::Bid => self.bid_price,
            PriceType::Ask => self.ask_price,
            _ => Price::from_raw(
                self.bid_price.raw.midpoint(self.ask_price.raw),
                (self.bid_price.precision + 1).min(FIXED_PRECISION),
            ),
        }
    }
}

/// A trade (fields as in Nautilus's `TradeTick`).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TradeTick {
    pub instrument_id: InstrumentId,
    pub price: Price,
    pub size: Quantity,
    pub aggressor_side: AggressorSide,
    pub trade_id: String,
    pub ts_event: u64,
    pub ts_init: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instrument_ids() {
        let id: InstrumentId = "BTCUSDT-PERP.BINANCE".parse().unwrap();
        assert_eq!(
            (id.symbol(), id.venue(), id.as_str()),
            ("BTCUSDT-PERP", "BINANCE", "BTCUSDT-PERP.BINANCE")
        );
        for bad in ["", "NOVENUE", ".X", "X.", "A B.C", &"X".repeat(70)] {
            assert!(bad.parse::<InstrumentId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn bar_types_parse_like_nautilus() {
        for text in [
            "GBP/USD.FXCM-1-MINUTE-BID-EXTERNAL",
            "BTCUSDT-PERP.BINANCE-15-SECOND-LAST-INTERNAL",
        ] {
            let ours: BarType = text.parse().unwrap();
            assert_eq!(ours.to_string(), text);
            let theirs = nautilus_model::data::BarType::from(text);
            assert_eq!(
                ours.instrument_id.as_str(),
                theirs.instrument_id().to_string()
            );
            assert_eq!(ours.aggregation, theirs.spec().aggregation);
            assert_eq!(ours.price_type, theirs.spec().price_type);
        }
        assert!(
            "GBP/USD.FXCM-0-MINUTE-BID-EXTERNAL"
                .parse::<BarType>()
                .is_err()
        );
        assert!(
            "GBP/USD.FXCM-1-FORTNIGHT-BID-EXTERNAL"
                .parse::<BarType>()
                .is_err()
        );
        assert!("GBP/USD.FXCM-1-MINUTE".parse::<BarType>().is_err());
    }

    #[test]
    fn mid_price_matches_nautilus() {
        let id = nautilus_model::identifiers::InstrumentId::from("GBP/USD.FXCM");
        let theirs = nautilus_model::data::QuoteTick::new(
            id,
            Price::from("1.57576"),
            Price::from("1.57585"),
            Quantity::from(1_000_000),
            Quantity::from(1_000_000),
            1.into(),
            1.into(),
        );
        let ours = QuoteTick {
            instrument_id: "GBP/USD.FXCM".parse().unwrap(),
            bid_price: theirs.bid_price,
            ask_price: theirs.ask_price,
            bid_size: theirs.bid_size,
            ask_size: theirs.ask_size,
            ts_event: 1,
            ts_init: 1,
        };
        for pt in [PriceType::Bid, PriceType::Ask, PriceType::Mid] {
            assert_eq!(ours.extract_price(pt), theirs.extract_price(pt));
        }
    }
}
