//! Instrument definitions from a small TOML file (`data/instruments.toml` is bundled),
//! turned into both Nautilus instruments and the contract's `instrument-info`.

use std::str::FromStr;

use nautilus_core::UnixNanos;
use nautilus_model::{
    identifiers::{InstrumentId, Symbol},
    instruments::{CryptoPerpetual, CurrencyPair, InstrumentAny},
    types::{Currency, Price, Quantity},
};
use rust_decimal::Decimal as RustDecimal;
use serde::Deserialize;
use stratbox_manifest::Decimal;

use super::InstrumentTable;
use crate::bindings::types::{self, InstrumentInfo, InstrumentKind};

/// The bundled definitions.
pub const BUNDLED: &str = include_str!("../../../data/instruments.toml");

/// What kind of instrument a definition describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    CurrencyPair,
    CryptoPerpetual,
}

/// One `[[instrument]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstrumentDef {
    pub id: String,
    pub kind: Kind,
    pub base: String,
    pub quote: String,
    /// Settlement currency (perpetuals); the quote currency when absent.
    pub settlement: Option<String>,
    #[serde(default)]
    pub is_inverse: bool,
    pub price_precision: u8,
    pub size_precision: u8,
    pub price_increment: String,
    pub size_increment: String,
    pub lot_size: Option<String>,
    pub min_quantity: Option<String>,
    pub max_quantity: Option<String>,
    pub margin_init: Option<String>,
    pub margin_maint: Option<String>,
    pub maker_fee: Option<String>,
    pub taker_fee: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    instrument: Vec<InstrumentDef>,
}

/// A definitions file could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct DefError {
    pub file: String,
    pub message: String,
}

/// A parsed, checked set of instrument definitions.
#[derive(Debug, Clone)]
pub struct Instruments {
    defs: Vec<(InstrumentDef, InstrumentAny, InstrumentInfo)>,
}

fn decimal(field: &str, s: &str) -> Result<Decimal, String> {
    s.parse::<Decimal>()
        .map_err(|e| format!("{field} `{s}`: {e}"))
}

fn currency(field: &str, code: &str) -> Result<Currency, String> {
    Currency::from_str(code).map_err(|_| format!("{field}: unknown currency `{code}`"))
}

fn price(field: &str, s: &str, precision: u8) -> Result<Price, String> {
    let d = decimal(field, s)?;
    if d.precision > precision {
        return Err(format!(
            "{field} `{s}` has more decimals than price_precision {precision}"
        ));
    }
    if d.raw <= 0 {
        return Err(format!("{field} must be positive"));
    }
    Ok(Price::from_raw(d.raw, precision))
}

fn quantity(field: &str, s: &str, precision: u8) -> Result<Quantity, String> {
    let d = decimal(field, s)?;
    if d.precision > precision {
        return Err(format!(
            "{field} `{s}` has more decimals than size_precision {precision}"
        ));
    }
    let raw = u64::try_from(d.raw).map_err(|_| format!("{field} `{s}` is negative"))?;
    if raw == 0 {
        return Err(format!("{field} must be positive"));
    }
    Ok(Quantity::from_raw(raw, precision))
}

fn opt<T>(
    v: Option<&String>,
    f: impl FnOnce(&str) -> Result<T, String>,
) -> Result<Option<T>, String> {
    v.map(|s| f(s)).transpose()
}

fn rate(field: &str, s: &str) -> Result<RustDecimal, String> {
    RustDecimal::from_str(s).map_err(|e| format!("{field} `{s}`: {e}"))
}

fn wit_price(p: Price) -> types::Price {
    types::Price {
        raw: p.raw,
        precision: p.precision,
    }
}

fn wit_qty(q: Quantity) -> types::Quantity {
    types::Quantity {
        raw: q.raw,
        precision: q.precision,
    }
}

impl InstrumentDef {
    fn build(&self) -> Result<(InstrumentAny, InstrumentInfo), String> {
        let id = InstrumentId::from_str(&self.id)
            .map_err(|e| format!("id `{}` is not SYMBOL.VENUE: {e}", self.id))?;
        let (pp, sp) = (self.price_precision, self.size_precision);
        if pp > 9 || sp > 9 {
            return Err("price_precision and size_precision must be at most 9".to_string());
        }
        let base = currency("base", &self.base)?;
        let quote = currency("quote", &self.quote)?;
        let settlement = currency(
            "settlement",
            self.settlement.as_deref().unwrap_or(&self.quote),
        )?;
        let price_increment = price("price_increment", &self.price_increment, pp)?;
        let size_increment = quantity("size_increment", &self.size_increment, sp)?;
        let lot_size = opt(self.lot_size.as_ref(), |s| quantity("lot_size", s, sp))?;
        let min_quantity = opt(self.min_quantity.as_ref(), |s| {
            quantity("min_quantity", s, sp)
        })?;
        let max_quantity = opt(self.max_quantity.as_ref(), |s| {
            quantity("max_quantity", s, sp)
        })?;
        let margin_init = opt(self.margin_init.as_ref(), |s| rate("margin_init", s))?;
        let margin_maint = opt(self.margin_maint.as_ref(), |s| rate("margin_maint", s))?;
        let maker_fee = opt(self.maker_fee.as_ref(), |s| rate("maker_fee", s))?;
        let taker_fee = opt(self.taker_fee.as_ref(), |s| rate("taker_fee", s))?;
        let ts = UnixNanos::default();
        let (any, kind) = match self.kind {
            Kind::CurrencyPair => (
                InstrumentAny::CurrencyPair(
                    CurrencyPair::new_checked(
                        id,
                        id.symbol,
                        base,
                        quote,
                        pp,
                        sp,
                        price_increment,
                        size_increment,
                        None,
                        lot_size,
                        max_quantity,
                        min_quantity,
                        None,
                        None,
                        None,
                        None,
                        margin_init,
                        margin_maint,
                        maker_fee,
                        taker_fee,
                        None,
                        ts,
                        ts,
                    )
                    .map_err(|e| e.to_string())?,
                ),
                InstrumentKind::CurrencyPair,
            ),
            Kind::CryptoPerpetual => (
                InstrumentAny::CryptoPerpetual(
                    CryptoPerpetual::new_checked(
                        id,
                        Symbol::new(id.symbol.as_str()),
                        base,
                        quote,
                        settlement,
                        self.is_inverse,
                        pp,
                        sp,
                        price_increment,
                        size_increment,
                        None,
                        lot_size,
                        max_quantity,
                        min_quantity,
                        None,
                        None,
                        None,
                        None,
                        margin_init,
                        margin_maint,
                        maker_fee,
                        taker_fee,
                        None,
                        ts,
                        ts,
                    )
                    .map_err(|e| e.to_string())?,
                ),
                InstrumentKind::CryptoPerpetual,
            ),
        };
        let unit = Quantity::from_raw(1_000_000_000, 0);
        let info = InstrumentInfo {
            id: self.id.clone(),
            kind,
            base_currency: Some(self.base.clone()),
            quote_currency: self.quote.clone(),
            settlement_currency: settlement.code.to_string(),
            is_inverse: self.is_inverse,
            price_precision: pp,
            size_precision: sp,
            price_increment: wit_price(price_increment),
            size_increment: wit_qty(size_increment),
            multiplier: wit_qty(unit),
            lot_size: lot_size.map(wit_qty),
            min_quantity: min_quantity.map(wit_qty),
            max_quantity: max_quantity.map(wit_qty),
            min_price: None,
            max_price: None,
        };
        Ok((any, info))
    }
}

impl Instruments {
    /// Parses and checks definitions; `file` names the source in errors.
    pub fn parse(text: &str, file: &str) -> Result<Self, DefError> {
        let err = |message: String| DefError {
            file: file.to_string(),
            message,
        };
        let parsed: File = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        let mut defs = Vec::new();
        for def in parsed.instrument {
            if defs
                .iter()
                .any(|(d, ..): &(InstrumentDef, _, _)| d.id == def.id)
            {
                return Err(err(format!("instrument `{}` is defined twice", def.id)));
            }
            let (any, info) = def
                .build()
                .map_err(|m| err(format!("instrument `{}`: {m}", def.id)))?;
            defs.push((def, any, info));
        }
        Ok(Self { defs })
    }

    /// The bundled definitions (`data/instruments.toml`).
    ///
    /// # Panics
    /// Never in a released build: the bundled file is checked by a unit test.
    #[must_use]
    pub fn bundled() -> Self {
        Self::parse(BUNDLED, "data/instruments.toml")
            .unwrap_or_else(|e| panic!("bundled instruments: {e}"))
    }

    /// The Nautilus instrument `id`, if defined.
    #[must_use]
    pub fn nautilus(&self, id: &str) -> Option<&InstrumentAny> {
        self.defs
            .iter()
            .find(|(d, ..)| d.id == id)
            .map(|(_, a, _)| a)
    }

    /// The contract's view of `id`, if defined.
    #[must_use]
    pub fn info(&self, id: &str) -> Option<&InstrumentInfo> {
        self.defs.iter().find(|(d, ..)| d.id == id).map(|(.., i)| i)
    }

    /// Every defined id, in file order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.defs.iter().map(|(d, ..)| d.id.as_str())
    }

    /// A table of all definitions for the market-data and risk-gate capabilities.
    #[must_use]
    pub fn table(&self) -> InstrumentTable {
        let mut t = InstrumentTable::new();
        for (.., info) in &self.defs {
            t.insert(info.clone());
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use nautilus_model::instruments::Instrument;

    use super::*;

    #[test]
    fn bundled_definitions_parse_and_agree_with_nautilus() {
        let defs = Instruments::bundled();
        for id in [
            "GBP/USD.FXCM",
            "EUR/USD.SIM",
            "BTCUSDT-PERP.BINANCE",
            "ADABTC.BINANCE",
        ] {
            let n = defs.nautilus(id).expect(id);
            let i = defs.info(id).expect(id);
            assert_eq!(n.id().to_string(), id);
            assert_eq!(n.price_precision(), i.price_precision);
            assert_eq!(n.size_precision(), i.size_precision);
            assert_eq!(n.price_increment().raw, i.price_increment.raw);
        }
        assert_eq!(
            defs.info("GBP/USD.FXCM"),
            Some(&crate::stubs::gbpusd_fxcm())
        );
    }

    #[test]
    fn bad_definitions_say_which_and_why() {
        let base = BUNDLED.split("[[instrument]]").nth(1).expect("one entry");
        let cases = [
            (base.replace("GBP/USD.FXCM", "GBPUSD"), "not SYMBOL.VENUE"),
            (base.replace("\"0.00001\"", "\"0.000001\""), "more decimals"),
            (
                base.replace("base = \"GBP\"", "base = \"XXQ\""),
                "unknown currency",
            ),
            (
                base.replace(
                    "size_precision = 0",
                    "size_precision = 0\nsize_precison = 1",
                ),
                "unknown field",
            ),
        ];
        for (body, needle) in cases {
            let text = format!("[[instrument]]{body}");
            let e = Instruments::parse(&text, "x.toml").expect_err(needle);
            assert!(e.to_string().contains(needle), "{e}");
            assert!(e.to_string().starts_with("x.toml: "), "{e}");
        }
        let twice = format!("[[instrument]]{base}[[instrument]]{base}");
        assert!(
            Instruments::parse(&twice, "x")
                .unwrap_err()
                .to_string()
                .contains("twice")
        );
    }
}
