//! The risk policy: typed, validated limits for the whole host (`[global]`, the aggregate of
//! every plugin) and for each plugin (`[defaults]`, overridden per plugin in
//! `[plugins.<name>]`).
//!
//! Quantities are in instrument units; money amounts are in the policy's `currency`. An
//! instrument quoted in another currency needs a rate in `[fx]` (units of the policy
//! currency per unit of that currency), otherwise its orders are refused: a limit that
//! cannot be evaluated is never treated as passed. Every amount is exact (decimal text or
//! an integer; a TOML float is read through its shortest decimal form).
//!
//! ```toml
//! version = "desk-a-2026-11"
//! currency = "USD"
//! [fx]
//! USDT = "1"
//! [global]
//! max_gross_exposure = "5000000"
//! max_daily_loss = "20000"
//! [defaults]
//! max_order_quantity = "200000"
//! max_position = "300000"
//! price_collar_bps = 200
//! allowed_order_types = ["market", "limit"]
//! [plugins.ema-cross]
//! max_position = "100000"
//! [halt]
//! flatten = true
//! ```

use std::{collections::BTreeMap, fmt};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::bindings::types::OrderKind;

/// Raw units per whole unit (Nautilus fixed point, 9 decimals).
pub const SCALE: i128 = 1_000_000_000;

/// An exact non-negative amount, raw at scale 10^9.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(into = "String")]
pub struct Amount(pub i128);

impl From<Amount> for String {
    fn from(a: Amount) -> Self {
        a.to_string()
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let (int, frac) = (abs / SCALE as u128, abs % SCALE as u128);
        if frac == 0 {
            write!(f, "{sign}{int}")
        } else {
            let digits = format!("{frac:09}");
            write!(f, "{sign}{int}.{}", digits.trim_end_matches('0'))
        }
    }
}

impl Amount {
    /// Parses decimal text (`"1000000"`, `"0.5"`), at most 9 decimals.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let (neg, digits) = t.strip_prefix('-').map_or((false, t), |d| (true, d));
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty() || !all_digits(int) || !all_digits(frac) {
            return Err(format!("`{text}` is not a decimal number"));
        }
        if frac.len() > 9 {
            return Err(format!("`{text}` has more than 9 decimals"));
        }
        let int: i128 = int.parse().map_err(|_| format!("`{text}` is too large"))?;
        let frac_raw: i128 = format!("{frac:0<9}").parse().unwrap_or(0);
        let raw = int
            .checked_mul(SCALE)
            .and_then(|v| v.checked_add(frac_raw))
            .filter(|v| *v < i128::from(u64::MAX) * SCALE)
            .ok_or_else(|| format!("`{text}` is too large"))?;
        Ok(Self(if neg { -raw } else { raw }))
    }
}

/// A TOML amount: decimal text, an integer or a float.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum AmountText {
    Text(String),
    Int(i64),
    Float(f64),
}

impl AmountText {
    fn text(&self) -> String {
        match self {
            Self::Text(s) => s.clone(),
            Self::Int(i) => i.to_string(),
            Self::Float(f) => f.to_string(),
        }
    }
}

/// Order types a policy can allow, by their WIT names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OrderType {
    Market,
    Limit,
    StopMarket,
    StopLimit,
}

impl OrderType {
    /// The type of an order kind.
    #[must_use]
    pub const fn of(kind: &OrderKind) -> Self {
        match kind {
            OrderKind::Market => Self::Market,
            OrderKind::Limit(_) => Self::Limit,
            OrderKind::StopMarket(_) => Self::StopMarket,
            OrderKind::StopLimit(_) => Self::StopLimit,
        }
    }

    /// The WIT name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Market => "market",
            Self::Limit => "limit",
            Self::StopMarket => "stop-market",
            Self::StopLimit => "stop-limit",
        }
    }
}

/// Limits of one plugin. `None` = no limit of that kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PluginLimits {
    /// Largest quantity of one order (instrument units).
    pub max_order_quantity: Option<Amount>,
    /// Largest notional of one order (policy currency).
    pub max_order_notional: Option<Amount>,
    /// Largest net position per instrument, either side (instrument units), counting the
    /// plugin's open orders that would add to it.
    pub max_position: Option<Amount>,
    /// Largest sum over instruments of |position| × mark (policy currency).
    pub max_gross_exposure: Option<Amount>,
    pub max_open_orders: Option<u32>,
    /// Accepted orders per second of event time (sliding window).
    pub max_orders_per_second: Option<u32>,
    /// Order intents per callback (the manifest's own limit applies too; the lower wins).
    pub max_orders_per_callback: Option<u32>,
    /// Limit and stop prices must be within this many basis points of the last quote's
    /// mid (or last bar close).
    pub price_collar_bps: Option<u32>,
    /// Loss since the start of the UTC day (event time), realized + unrealized, that halts
    /// the plugin.
    pub max_daily_loss: Option<Amount>,
    /// Fall of PnL (realized + unrealized) from its peak that halts the plugin.
    pub max_drawdown: Option<Amount>,
    /// Instruments the plugin may trade (on top of its capability grant).
    pub allowed_instruments: Option<Vec<String>>,
    pub allowed_order_types: Option<Vec<OrderType>>,
}

/// Limits on the aggregate of every plugin of the host.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GlobalLimits {
    pub max_gross_exposure: Option<Amount>,
    pub max_open_orders: Option<u32>,
    pub max_orders_per_second: Option<u32>,
    /// Aggregate daily loss that halts every plugin.
    pub max_daily_loss: Option<Amount>,
    /// Aggregate drawdown that halts every plugin.
    pub max_drawdown: Option<Amount>,
}

/// What a halt does besides refusing new orders (open orders are always cancelled).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HaltConfig {
    /// Also close the halted plugin's positions with market orders (reduce-only).
    #[serde(default)]
    pub flatten: bool,
}

/// A validated risk policy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskPolicy {
    /// The operator's label for this policy version (`unversioned` if not given).
    pub version: String,
    /// SHA-256 of the policy text, recorded with every decision.
    pub sha256: String,
    pub currency: String,
    /// Units of `currency` per unit of another currency.
    pub fx: BTreeMap<String, Amount>,
    pub global: GlobalLimits,
    pub defaults: PluginLimits,
    pub plugins: BTreeMap<String, PluginLimits>,
    pub halt: HaltConfig,
}

impl Default for RiskPolicy {
    /// No limits beyond the contract's own checks (what runs without `--risk`).
    fn default() -> Self {
        Self {
            version: "none".to_string(),
            sha256: String::new(),
            currency: "USD".to_string(),
            fx: BTreeMap::new(),
            global: GlobalLimits::default(),
            defaults: PluginLimits::default(),
            plugins: BTreeMap::new(),
            halt: HaltConfig::default(),
        }
    }
}

/// Every problem of a policy file, one per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.join("\n"))]
pub struct PolicyErrors(pub Vec<String>);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    version: Option<String>,
    currency: Option<String>,
    #[serde(default)]
    fx: BTreeMap<String, AmountText>,
    #[serde(default)]
    global: RawGlobal,
    #[serde(default)]
    defaults: RawLimits,
    #[serde(default)]
    plugins: BTreeMap<String, RawLimits>,
    #[serde(default)]
    halt: HaltConfig,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGlobal {
    max_gross_exposure: Option<AmountText>,
    max_open_orders: Option<i64>,
    max_orders_per_second: Option<i64>,
    max_daily_loss: Option<AmountText>,
    max_drawdown: Option<AmountText>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    max_order_quantity: Option<AmountText>,
    max_order_notional: Option<AmountText>,
    max_position: Option<AmountText>,
    max_gross_exposure: Option<AmountText>,
    max_open_orders: Option<i64>,
    max_orders_per_second: Option<i64>,
    max_orders_per_callback: Option<i64>,
    price_collar_bps: Option<i64>,
    max_daily_loss: Option<AmountText>,
    max_drawdown: Option<AmountText>,
    allowed_instruments: Option<Vec<String>>,
    allowed_order_types: Option<Vec<OrderType>>,
}

/// Collects problems while converting raw values.
struct Check<'a> {
    errors: &'a mut Vec<String>,
    section: String,
}

impl Check<'_> {
    fn amount(&mut self, field: &str, v: Option<&AmountText>) -> Option<Amount> {
        let v = v?;
        match Amount::parse(&v.text()) {
            Ok(a) if a.0 > 0 => Some(a),
            Ok(_) => {
                self.errors
                    .push(format!("{}.{field}: must be greater than 0", self.section));
                None
            }
            Err(e) => {
                self.errors.push(format!("{}.{field}: {e}", self.section));
                None
            }
        }
    }

    fn count(&mut self, field: &str, v: Option<i64>, max: i64) -> Option<u32> {
        let v = v?;
        if (1..=max).contains(&v) {
            u32::try_from(v).ok()
        } else {
            self.errors.push(format!(
                "{}.{field}: {v} is outside 1..={max}",
                self.section
            ));
            None
        }
    }

    fn limits(&mut self, raw: &RawLimits) -> PluginLimits {
        if let Some(list) = &raw.allowed_instruments {
            for id in list {
                if id.is_empty() || !id.contains('.') {
                    self.errors.push(format!(
                        "{}.allowed_instruments: `{id}` is not an instrument id like `GBP/USD.FXCM`",
                        self.section
                    ));
                }
            }
        }
        if raw
            .allowed_order_types
            .as_ref()
            .is_some_and(std::vec::Vec::is_empty)
        {
            self.errors.push(format!(
                "{}.allowed_order_types: empty (no order could ever pass); remove the key to allow every type",
                self.section
            ));
        }
        PluginLimits {
            max_order_quantity: self.amount("max_order_quantity", raw.max_order_quantity.as_ref()),
            max_order_notional: self.amount("max_order_notional", raw.max_order_notional.as_ref()),
            max_position: self.amount("max_position", raw.max_position.as_ref()),
            max_gross_exposure: self.amount("max_gross_exposure", raw.max_gross_exposure.as_ref()),
            max_open_orders: self.count("max_open_orders", raw.max_open_orders, 1_000_000),
            max_orders_per_second: self.count(
                "max_orders_per_second",
                raw.max_orders_per_second,
                1_000_000,
            ),
            max_orders_per_callback: self.count(
                "max_orders_per_callback",
                raw.max_orders_per_callback,
                1_000_000,
            ),
            price_collar_bps: self.count("price_collar_bps", raw.price_collar_bps, 10_000),
            max_daily_loss: self.amount("max_daily_loss", raw.max_daily_loss.as_ref()),
            max_drawdown: self.amount("max_drawdown", raw.max_drawdown.as_ref()),
            allowed_instruments: raw.allowed_instruments.clone(),
            allowed_order_types: raw.allowed_order_types.clone(),
        }
    }
}

/// `over` where it sets a field, else `base`.
fn merge(base: &PluginLimits, over: &PluginLimits) -> PluginLimits {
    PluginLimits {
        max_order_quantity: over.max_order_quantity.or(base.max_order_quantity),
        max_order_notional: over.max_order_notional.or(base.max_order_notional),
        max_position: over.max_position.or(base.max_position),
        max_gross_exposure: over.max_gross_exposure.or(base.max_gross_exposure),
        max_open_orders: over.max_open_orders.or(base.max_open_orders),
        max_orders_per_second: over.max_orders_per_second.or(base.max_orders_per_second),
        max_orders_per_callback: over
            .max_orders_per_callback
            .or(base.max_orders_per_callback),
        price_collar_bps: over.price_collar_bps.or(base.price_collar_bps),
        max_daily_loss: over.max_daily_loss.or(base.max_daily_loss),
        max_drawdown: over.max_drawdown.or(base.max_drawdown),
        allowed_instruments: over
            .allowed_instruments
            .clone()
            .or_else(|| base.allowed_instruments.clone()),
        allowed_order_types: over
            .allowed_order_types
            .clone()
            .or_else(|| base.allowed_order_types.clone()),
    }
}

fn is_currency(code: &str) -> bool {
    (3..=8).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

impl RiskPolicy {
    /// Parses and validates a policy file; reports every problem at once.
    pub fn from_toml(text: &str) -> Result<Self, PolicyErrors> {
        let raw: RawPolicy = toml::from_str(text)
            .map_err(|e| PolicyErrors(vec![e.to_string().trim_end().replace('\n', "\n  ")]))?;
        let mut errors = Vec::new();
        let currency = raw.currency.unwrap_or_else(|| "USD".to_string());
        if !is_currency(&currency) {
            errors.push(format!(
                "currency: `{currency}` is not a currency code like `USD`"
            ));
        }
        let mut fx = BTreeMap::new();
        {
            let mut check = Check {
                errors: &mut errors,
                section: "fx".to_string(),
            };
            for (code, rate) in &raw.fx {
                if !is_currency(code) {
                    check.errors.push(format!("fx.{code}: not a currency code"));
                } else if let Some(r) = check.amount(code, Some(rate)) {
                    fx.insert(code.clone(), r);
                }
            }
        }
        let global = {
            let mut check = Check {
                errors: &mut errors,
                section: "global".to_string(),
            };
            let g = &raw.global;
            GlobalLimits {
                max_gross_exposure: check
                    .amount("max_gross_exposure", g.max_gross_exposure.as_ref()),
                max_open_orders: check.count("max_open_orders", g.max_open_orders, 10_000_000),
                max_orders_per_second: check.count(
                    "max_orders_per_second",
                    g.max_orders_per_second,
                    10_000_000,
                ),
                max_daily_loss: check.amount("max_daily_loss", g.max_daily_loss.as_ref()),
                max_drawdown: check.amount("max_drawdown", g.max_drawdown.as_ref()),
            }
        };
        let defaults = Check {
            errors: &mut errors,
            section: "defaults".to_string(),
        }
        .limits(&raw.defaults);
        let mut plugins = BTreeMap::new();
        for (name, limits) in &raw.plugins {
            let parsed = Check {
                errors: &mut errors,
                section: format!("plugins.{name}"),
            }
            .limits(limits);
            plugins.insert(name.clone(), parsed);
        }
        if !errors.is_empty() {
            return Err(PolicyErrors(errors));
        }
        Ok(Self {
            version: raw.version.unwrap_or_else(|| "unversioned".to_string()),
            sha256: hex::encode(Sha256::digest(text.as_bytes())),
            currency,
            fx,
            global,
            defaults,
            plugins,
            halt: raw.halt,
        })
    }

    /// The limits of plugin `name`: `[defaults]` overridden by `[plugins.<name>]`.
    #[must_use]
    pub fn limits_for(&self, name: &str) -> PluginLimits {
        self.plugins
            .get(name)
            .map_or_else(|| self.defaults.clone(), |o| merge(&self.defaults, o))
    }

    /// Units of the policy currency per unit of `currency`, if known.
    #[must_use]
    pub fn rate(&self, currency: &str) -> Option<Amount> {
        if currency == self.currency {
            Some(Amount(SCALE))
        } else {
            self.fx.get(currency).copied()
        }
    }

    /// Whether any money limit needs a conversion (if none, unknown rates do not matter).
    #[must_use]
    pub fn uses_money(&self, limits: &PluginLimits) -> bool {
        limits.max_order_notional.is_some()
            || limits.max_gross_exposure.is_some()
            || limits.max_daily_loss.is_some()
            || limits.max_drawdown.is_some()
            || self.global.max_gross_exposure.is_some()
            || self.global.max_daily_loss.is_some()
            || self.global.max_drawdown.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_exact() {
        assert_eq!(Amount::parse("1").unwrap().0, SCALE);
        assert_eq!(Amount::parse("0.000000001").unwrap().0, 1);
        assert_eq!(Amount::parse("-2.5").unwrap().0, -2_500_000_000);
        assert_eq!(Amount::parse("12.340").unwrap().to_string(), "12.34");
        assert!(Amount::parse("1.0000000001").is_err());
        assert!(Amount::parse("1e5").is_err());
        assert!(Amount::parse("").is_err());
        assert!(Amount::parse("99999999999999999999999").is_err());
    }

    #[test]
    fn parses_merges_and_hashes() {
        let text = r#"
            version = "v7"
            currency = "USD"
            [fx]
            USDT = "1"
            [global]
            max_daily_loss = 20000
            [defaults]
            max_order_quantity = "200000"
            max_position = 300000
            price_collar_bps = 200
            allowed_order_types = ["market", "limit"]
            [plugins.ema-cross]
            max_position = "100000.5"
            [halt]
            flatten = true
        "#;
        let p = RiskPolicy::from_toml(text).unwrap();
        assert_eq!(p.version, "v7");
        assert_eq!(p.sha256.len(), 64);
        assert!(p.halt.flatten);
        let ema = p.limits_for("ema-cross");
        assert_eq!(ema.max_position, Some(Amount(100_000_500_000_000)));
        assert_eq!(ema.max_order_quantity, Some(Amount(200_000 * SCALE)));
        assert_eq!(
            ema.allowed_order_types,
            Some(vec![OrderType::Market, OrderType::Limit])
        );
        assert_eq!(
            p.limits_for("other").max_position,
            Some(Amount(300_000 * SCALE))
        );
        assert_eq!(p.rate("USDT"), Some(Amount(SCALE)));
        assert_eq!(p.rate("EUR"), None);
    }

    #[test]
    fn reports_every_problem_at_once() {
        let text = r#"
            currency = "dollars"
            [global]
            max_open_orders = 0
            [defaults]
            max_order_quantity = "-5"
            price_collar_bps = 20000
            allowed_order_types = []
            [plugins.x]
            max_position = "lots"
            allowed_instruments = ["GBPUSD"]
        "#;
        let err = RiskPolicy::from_toml(text).unwrap_err();
        let lines = err.0;
        assert_eq!(lines.len(), 7, "{lines:#?}");
        for expected in [
            "currency:",
            "global.max_open_orders: 0 is outside",
            "defaults.max_order_quantity: must be greater than 0",
            "defaults.price_collar_bps: 20000 is outside 1..=10000",
            "defaults.allowed_order_types: empty",
            "plugins.x.max_position: `lots` is not a decimal number",
            "plugins.x.allowed_instruments: `GBPUSD`",
        ] {
            assert!(
                lines.iter().any(|l| l.starts_with(expected)),
                "{expected} in {lines:#?}"
            );
        }
    }

    #[test]
    fn unknown_keys_and_types_are_parse_errors_with_a_location() {
        let err = RiskPolicy::from_toml("[defaults]\nmax_order_qty = 5\n").unwrap_err();
        assert!(err.to_string().contains("max_order_qty"), "{err}");
        assert!(err.to_string().contains("line 2"), "{err}");
        let err =
            RiskPolicy::from_toml("[defaults]\nallowed_order_types = [\"iceberg\"]\n").unwrap_err();
        assert!(err.to_string().contains("iceberg"), "{err}");
    }
}
