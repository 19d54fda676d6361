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
use stratbox_manifest::{Decimal, Problems};

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

/// A definitions file could not be used: every problem, one per line, each as
/// `file: instrument[i].key: message`.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DefError(pub Problems);

/// A parsed, checked set of instrument definitions.
#[derive(Debug, Clone)]
pub struct Instruments {
    defs: Vec<(InstrumentDef, InstrumentAny, InstrumentInfo)>,
}

fn decimal(s: &str) -> Result<Decimal, String> {
    s.parse::<Decimal>().map_err(|e| format!("`{s}`: {e}"))
}

fn currency(code: &str) -> Result<Currency, String> {
    Currency::from_str(code).map_err(|_| format!("unknown currency `{code}`"))
}

/// A price of `precision` (at most 9) decimals.
fn price(s: &str, precision: u8) -> Result<Price, String> {
    let d = decimal(s)?;
    if d.precision > precision {
        return Err(format!(
            "`{s}` has more decimals than price_precision {precision}"
        ));
    }
    if d.raw <= 0 {
        return Err("must be positive".to_string());
    }
    Ok(Price::from_raw(d.raw, precision))
}

/// A quantity of `precision` (at most 9) decimals.
fn quantity(s: &str, precision: u8) -> Result<Quantity, String> {
    let d = decimal(s)?;
    if d.precision > precision {
        return Err(format!(
            "`{s}` has more decimals than size_precision {precision}"
        ));
    }
    let raw = u64::try_from(d.raw).map_err(|_| format!("`{s}` is negative"))?;
    if raw == 0 {
        return Err("must be positive".to_string());
    }
    Ok(Quantity::from_raw(raw, precision))
}

fn rate(s: &str) -> Result<RustDecimal, String> {
    RustDecimal::from_str(s).map_err(|e| format!("`{s}`: {e}"))
}

/// The checked value, or `None` with a problem at `at`.
fn check<T>(problems: &mut Problems, at: &str, checked: Result<T, String>) -> Option<T> {
    checked.map_err(|e| problems.push(at, e)).ok()
}

/// An optional value: `Some(None)` when absent, `None` when present and wrong.
fn check_opt<T>(
    problems: &mut Problems,
    at: &str,
    v: Option<&String>,
    f: impl FnOnce(&str) -> Result<T, String>,
) -> Option<Option<T>> {
    match v {
        None => Some(None),
        Some(s) => check(problems, at, f(s)).map(Some),
    }
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
    /// The instrument, or `None` with every problem of the definition (paths relative to
    /// it: `price_precision`, `base`).
    fn build(&self, p: &mut Problems) -> Option<(InstrumentAny, InstrumentInfo)> {
        let id = check(
            p,
            "id",
            InstrumentId::from_str(&self.id)
                .map_err(|e| format!("`{}` is not SYMBOL.VENUE: {e}", self.id)),
        );
        let (pp, sp) = (self.price_precision, self.size_precision);
        for (key, v) in [("price_precision", pp), ("size_precision", sp)] {
            if v > 9 {
                p.push(key, format!("{v}: must be at most 9"));
            }
        }
        let base = check(p, "base", currency(&self.base));
        let quote = check(p, "quote", currency(&self.quote));
        let settlement = match &self.settlement {
            Some(code) => check(p, "settlement", currency(code)),
            None => quote,
        };
        let margin_init = check_opt(p, "margin_init", self.margin_init.as_ref(), rate);
        let margin_maint = check_opt(p, "margin_maint", self.margin_maint.as_ref(), rate);
        let maker_fee = check_opt(p, "maker_fee", self.maker_fee.as_ref(), rate);
        let taker_fee = check_opt(p, "taker_fee", self.taker_fee.as_ref(), rate);
        // Prices and sizes are read at their precision, which must be valid first.
        if pp > 9 || sp > 9 {
            return None;
        }
        let price_increment = check(p, "price_increment", price(&self.price_increment, pp));
        let size_increment = check(p, "size_increment", quantity(&self.size_increment, sp));
        let qty = |s: &str| quantity(s, sp);
        let lot_size = check_opt(p, "lot_size", self.lot_size.as_ref(), qty);
        let min_quantity = check_opt(p, "min_quantity", self.min_quantity.as_ref(), qty);
        let max_quantity = check_opt(p, "max_quantity", self.max_quantity.as_ref(), qty);
        let (
            Some(id),
            Some(base),
            Some(quote),
            Some(settlement),
            Some(price_increment),
            Some(size_increment),
            Some(lot_size),
            Some(min_quantity),
            Some(max_quantity),
            Some(margin_init),
            Some(margin_maint),
            Some(maker_fee),
            Some(taker_fee),
        ) = (
            id,
            base,
            quote,
            settlement,
            price_increment,
            size_increment,
            lot_size,
            min_quantity,
            max_quantity,
            margin_init,
            margin_maint,
            maker_fee,
            taker_fee,
        )
        else {
            return None;
        };
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
                    .map_err(|e| p.push("", e.to_string()))
                    .ok()?,
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
                    .map_err(|e| p.push("", e.to_string()))
                    .ok()?,
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
        Some((any, info))
    }
}

/// The standard currency pair's settings: those of Nautilus's `default_fx_ccy`
/// (`nautilus_model::instruments::stubs`), which Nautilus's own tests and examples use.
pub mod standard_fx {
    /// Price decimals when the quote currency is JPY.
    pub const JPY_PRICE_PRECISION: u8 = 3;
    /// Price decimals for every other quote currency.
    pub const PRICE_PRECISION: u8 = 5;
    pub const LOT_SIZE: &str = "1000";
    pub const MIN_QUANTITY: &str = "100";
    pub const MAX_QUANTITY: &str = "1000000";
    pub const MARGIN: &str = "0.03";
    pub const FEE: &str = "0.00002";
}

impl InstrumentDef {
    /// The standard definition of the currency pair `id` (`BASE/QUOTE.VENUE`, two
    /// different ISO 4217 codes Nautilus knows as fiat or commodity-backed currencies), or
    /// why `id` is not one.
    ///
    /// # Errors
    /// `id` is not `XXX/YYY.VENUE` of such codes.
    pub fn standard_fx(id: &str) -> Result<Self, String> {
        use nautilus_model::enums::CurrencyType;
        let (symbol, venue) = id
            .rsplit_once('.')
            .ok_or_else(|| format!("`{id}` is not SYMBOL.VENUE"))?;
        let (base, quote) = symbol
            .split_once('/')
            .ok_or_else(|| format!("`{symbol}` is not BASE/QUOTE"))?;
        if venue.is_empty() {
            return Err(format!("`{id}` has no venue"));
        }
        for code in [base, quote] {
            if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(format!("`{code}` is not a three-letter ISO 4217 code"));
            }
            let c = currency(code)?;
            if !matches!(
                c.currency_type,
                CurrencyType::Fiat | CurrencyType::CommodityBacked
            ) {
                return Err(format!("`{code}` is not a fiat currency"));
            }
        }
        if base == quote {
            return Err(format!("`{symbol}` names one currency twice"));
        }
        let precision = if quote == "JPY" {
            standard_fx::JPY_PRICE_PRECISION
        } else {
            standard_fx::PRICE_PRECISION
        };
        Ok(Self {
            id: id.to_string(),
            kind: Kind::CurrencyPair,
            base: base.to_string(),
            quote: quote.to_string(),
            settlement: None,
            is_inverse: false,
            price_precision: precision,
            size_precision: 0,
            price_increment: format!("0.{}1", "0".repeat(usize::from(precision) - 1)),
            size_increment: "1".to_string(),
            lot_size: Some(standard_fx::LOT_SIZE.to_string()),
            min_quantity: Some(standard_fx::MIN_QUANTITY.to_string()),
            max_quantity: Some(standard_fx::MAX_QUANTITY.to_string()),
            margin_init: Some(standard_fx::MARGIN.to_string()),
            margin_maint: Some(standard_fx::MARGIN.to_string()),
            maker_fee: Some(standard_fx::FEE.to_string()),
            taker_fee: Some(standard_fx::FEE.to_string()),
        })
    }
}

impl Instruments {
    /// Adds the standard currency-pair definition ([`InstrumentDef::standard_fx`]) of `id`
    /// when `id` is not defined but is such a pair; returns the announcement to show when
    /// it did. An id that is defined, or not a currency pair, is left to the caller's
    /// "unknown instrument" error.
    pub fn add_standard_fx(&mut self, id: &str) -> Option<String> {
        if self.nautilus(id).is_some() {
            return None;
        }
        let def = InstrumentDef::standard_fx(id).ok()?;
        let mut problems = Problems::new();
        let (any, info) = def.build(&mut problems)?;
        if !problems.is_empty() {
            return None;
        }
        let text = format!(
            "{id} is not in the instrument definitions: using the standard currency pair \
             (Nautilus's `default_fx_ccy`: price precision {}, increment {}; size precision 0, \
             lot {}, min {}, max {}; margin {}, maker/taker fee {}); define it in a file and \
             pass --instruments to change it",
            def.price_precision,
            def.price_increment,
            standard_fx::LOT_SIZE,
            standard_fx::MIN_QUANTITY,
            standard_fx::MAX_QUANTITY,
            standard_fx::MARGIN,
            standard_fx::FEE,
        );
        self.defs.push((def, any, info));
        Some(text)
    }

    /// Parses and checks definitions; every problem is reported, each as
    /// `file: instrument[i].key: message`.
    pub fn parse(text: &str, file: &str) -> Result<Self, DefError> {
        let mut problems = Problems::new();
        let parsed: File = match toml::from_str(text) {
            Ok(parsed) => parsed,
            Err(e) => {
                problems.push_toml_error(&e, text);
                return Err(DefError(problems.in_file(file)));
            }
        };
        let mut defs = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        for (i, def) in parsed.instrument.iter().enumerate() {
            let at = format!("instrument[{i}]");
            let mut own = Problems::new();
            if let Some(first) = seen.iter().position(|id| *id == def.id) {
                own.push(
                    "id",
                    format!(
                        "instrument `{}` is defined twice (first as instrument[{first}])",
                        def.id
                    ),
                );
            }
            seen.push(&def.id);
            let built = def.build(&mut own);
            let ok = own.is_empty();
            problems.push_all(&at, own);
            if let (true, Some((any, info))) = (ok, built) {
                defs.push((def.clone(), any, info));
            }
        }
        problems
            .into_result()
            .map_err(|p| DefError(p.in_file(file)))?;
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
    fn an_undefined_currency_pair_gets_the_standard_definition() {
        let mut defs = Instruments::bundled();
        assert!(defs.add_standard_fx("GBP/USD.FXCM").is_none(), "defined");
        let note = defs
            .add_standard_fx("USD/JPY.FXCM")
            .expect("a standard pair");
        assert!(
            note.contains("USD/JPY.FXCM") && note.contains("--instruments"),
            "{note}"
        );
        let jpy = defs.nautilus("USD/JPY.FXCM").expect("added").clone();
        assert_eq!(jpy.price_precision(), 3);
        assert_eq!(jpy.price_increment().to_string(), "0.001");
        assert_eq!(jpy.size_precision(), 0);
        assert_eq!(
            defs.info("USD/JPY.FXCM").map(|i| i.price_precision),
            Some(3)
        );
        defs.add_standard_fx("EUR/GBP.SIM")
            .expect("a standard pair");
        let eur = defs.nautilus("EUR/GBP.SIM").expect("added");
        assert_eq!(eur.price_precision(), 5);
        assert_eq!(eur.price_increment().to_string(), "0.00001");
        // As Nautilus's own `default_fx_ccy` makes it.
        let nautilus = nautilus_model::instruments::stubs::default_fx_ccy(
            "USD/JPY".into(),
            Some("FXCM".into()),
        );
        assert_eq!(jpy.lot_size(), nautilus.lot_size());
        assert_eq!(jpy.min_quantity(), nautilus.min_quantity());
        assert_eq!(jpy.max_quantity(), nautilus.max_quantity());
        assert_eq!(jpy.margin_init(), nautilus.margin_init());
        assert_eq!(jpy.taker_fee(), nautilus.taker_fee());
        for not_fx in [
            "BTC/USDT.BINANCE",
            "USD/USD.SIM",
            "USDJPY.SIM",
            "usd/jpy.SIM",
            "USD/JPY",
            "XXQ/USD.SIM",
        ] {
            assert!(defs.add_standard_fx(not_fx).is_none(), "{not_fx}");
            assert!(InstrumentDef::standard_fx(not_fx).is_err(), "{not_fx}");
        }
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
        let e = Instruments::parse(&twice, "x").unwrap_err().to_string();
        assert!(e.starts_with("x: instrument[1].id: "), "{e}");
        assert!(
            Instruments::parse(&twice, "x")
                .unwrap_err()
                .to_string()
                .contains("twice")
        );
    }

    #[test]
    fn every_problem_of_every_definition_is_reported_with_its_path() {
        let base = BUNDLED.split("[[instrument]]").nth(1).expect("one entry");
        let bad = base
            .replace("price_precision = 5", "price_precision = 12")
            .replace("base = \"GBP\"", "base = \"XXQ\"");
        let worse = base
            .replace("GBP/USD.FXCM", "EUR/USD.X")
            .replace("\"0.00001\"", "\"0.000001\"")
            .replace("lot_size = \"1000\"", "lot_size = \"-3\"");
        let text = format!("[[instrument]]{base}[[instrument]]{bad}[[instrument]]{worse}");
        let e = Instruments::parse(&text, "x.toml").unwrap_err();
        let lines = e.0.lines();
        assert_eq!(
            lines,
            [
                "x.toml: instrument[1].id: instrument `GBP/USD.FXCM` is defined twice (first as instrument[0])",
                "x.toml: instrument[1].price_precision: 12: must be at most 9",
                "x.toml: instrument[1].base: unknown currency `XXQ`",
                "x.toml: instrument[2].price_increment: `0.000001` has more decimals than price_precision 5",
                "x.toml: instrument[2].lot_size: `-3` is negative",
            ],
            "{e}"
        );
    }
}
