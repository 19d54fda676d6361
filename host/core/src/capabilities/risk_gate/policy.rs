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
use stratbox_manifest::{Problems, join_path};

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

/// How one kind of limit is read from TOML and checked.
trait Limit {
    /// What the TOML file holds.
    type Raw: serde::de::DeserializeOwned + fmt::Debug + Clone;
    /// The checked value.
    type Value;
    /// Whether the limit is an amount of money (needs a rate for other currencies).
    const MONEY: bool = false;
    /// The checked value, or `None` with a problem at `at`.
    fn check(raw: &Self::Raw, at: &str, problems: &mut Problems) -> Option<Self::Value>;
}

/// An amount of money or of instrument units, greater than 0.
enum Positive {}

/// A positive amount of the policy currency.
enum Money {}

/// A whole number in `1..=MAX`.
enum Count<const MAX: i64> {}

/// Instrument ids like `GBP/USD.FXCM`.
enum InstrumentIds {}

/// A non-empty list of order types.
enum OrderTypes {}

impl Limit for Positive {
    type Raw = AmountText;
    type Value = Amount;

    fn check(raw: &AmountText, at: &str, problems: &mut Problems) -> Option<Amount> {
        match Amount::parse(&raw.text()) {
            Ok(a) if a.0 > 0 => Some(a),
            Ok(_) => {
                problems.push(at, "must be greater than 0");
                None
            }
            Err(e) => {
                problems.push(at, e);
                None
            }
        }
    }
}

impl Limit for Money {
    type Raw = AmountText;
    type Value = Amount;
    const MONEY: bool = true;

    fn check(raw: &AmountText, at: &str, problems: &mut Problems) -> Option<Amount> {
        Positive::check(raw, at, problems)
    }
}

impl<const MAX: i64> Limit for Count<MAX> {
    type Raw = i64;
    type Value = u32;

    fn check(raw: &i64, at: &str, problems: &mut Problems) -> Option<u32> {
        let v = *raw;
        if (1..=MAX).contains(&v) {
            u32::try_from(v).ok()
        } else {
            problems.push(at, format!("{v} is outside 1..={MAX}"));
            None
        }
    }
}

impl Limit for InstrumentIds {
    type Raw = Vec<String>;
    type Value = Vec<String>;

    fn check(raw: &Vec<String>, at: &str, problems: &mut Problems) -> Option<Vec<String>> {
        let before = problems.len();
        for id in raw {
            if id.is_empty() || !id.contains('.') {
                problems.push(
                    at,
                    format!("`{id}` is not an instrument id like `GBP/USD.FXCM`"),
                );
            }
        }
        (problems.len() == before).then(|| raw.clone())
    }
}

impl Limit for OrderTypes {
    type Raw = Vec<OrderType>;
    type Value = Vec<OrderType>;

    fn check(raw: &Vec<OrderType>, at: &str, problems: &mut Problems) -> Option<Vec<OrderType>> {
        if raw.is_empty() {
            problems.push(
                at,
                "empty (no order could ever pass); remove the key to allow every type",
            );
            return None;
        }
        Some(raw.clone())
    }
}

/// Declares a set of limits once: each limit's TOML key (the field name), its checked type,
/// its kind (what the file holds, its bounds, whether it is money) and its documentation.
/// Generates the public struct (every limit optional: `None` = no limit of that kind, the
/// default), the raw TOML struct (unknown keys refused), the checks (every problem with its
/// path), the per-plugin override and the list of keys.
macro_rules! limits {
    (
        $(#[$meta:meta])*
        pub struct $name:ident from $raw:ident {
            $( $(#[doc = $doc:literal])* $field:ident: $value:ty as $kind:ty, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Serialize)]
        pub struct $name {
            $( $(#[doc = $doc])* pub $field: Option<$value>, )*
        }

        #[derive(Debug, Default, Clone, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct $raw {
            $( $field: Option<<$kind as Limit>::Raw>, )*
        }

        impl $name {
            /// The TOML key of every limit, in declaration order.
            pub const KEYS: &[&str] = &[$(stringify!($field)),*];

            /// Checks `raw`; problems are recorded under `section`.
            fn check(raw: &$raw, section: &str, problems: &mut Problems) -> Self {
                Self {
                    $( $field: raw.$field.as_ref().and_then(|v| {
                        <$kind as Limit>::check(v, &join_path(section, stringify!($field)), problems)
                    }), )*
                }
            }

            /// `self` where it sets a limit, else `base`.
            #[must_use]
            pub fn or(&self, base: &Self) -> Self {
                Self {
                    $( $field: self.$field.clone().or_else(|| base.$field.clone()), )*
                }
            }

            /// Whether any money limit is set.
            #[must_use]
            pub fn uses_money(&self) -> bool {
                false $( || (<$kind as Limit>::MONEY && self.$field.is_some()) )*
            }
        }
    };
}

limits! {
    /// Limits of one plugin. `None` = no limit of that kind.
    pub struct PluginLimits from RawLimits {
        /// Largest quantity of one order (instrument units).
        max_order_quantity: Amount as Positive,
        /// Largest notional of one order (policy currency).
        max_order_notional: Amount as Money,
        /// Largest net position per instrument, either side (instrument units), counting the
        /// plugin's open orders that would add to it.
        max_position: Amount as Positive,
        /// Largest sum over instruments of |position| × mark (policy currency).
        max_gross_exposure: Amount as Money,
        /// Open orders at once.
        max_open_orders: u32 as Count<1_000_000>,
        /// Accepted orders per second of event time (sliding window).
        max_orders_per_second: u32 as Count<1_000_000>,
        /// Order intents per callback (the manifest's own limit applies too; the lower wins).
        max_orders_per_callback: u32 as Count<1_000_000>,
        /// Limit and stop prices must be within this many basis points of the last quote's
        /// mid (or last bar close).
        price_collar_bps: u32 as Count<10_000>,
        /// Loss since the start of the UTC day (event time), realized + unrealized, that halts
        /// the plugin.
        max_daily_loss: Amount as Money,
        /// Fall of PnL (realized + unrealized) from its peak that halts the plugin.
        max_drawdown: Amount as Money,
        /// Instruments the plugin may trade (on top of its capability grant).
        allowed_instruments: Vec<String> as InstrumentIds,
        /// Order types the plugin may send.
        allowed_order_types: Vec<OrderType> as OrderTypes,
    }
}

limits! {
    /// Limits on the aggregate of every plugin of the host.
    pub struct GlobalLimits from RawGlobal {
        /// Largest sum over plugins and instruments of |position| × mark (policy currency).
        max_gross_exposure: Amount as Money,
        /// Open orders of every plugin together.
        max_open_orders: u32 as Count<10_000_000>,
        /// Accepted orders per second of every plugin together.
        max_orders_per_second: u32 as Count<10_000_000>,
        /// Aggregate daily loss that halts every plugin.
        max_daily_loss: Amount as Money,
        /// Aggregate drawdown that halts every plugin.
        max_drawdown: Amount as Money,
    }
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

fn is_currency(code: &str) -> bool {
    (3..=8).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

impl RiskPolicy {
    /// Parses and validates a policy file; reports every problem at once, each with its
    /// section and key (`defaults.price_collar_bps: ...`).
    pub fn from_toml(text: &str) -> Result<Self, Problems> {
        let mut problems = Problems::new();
        let raw: RawPolicy = match toml::from_str(text) {
            Ok(raw) => raw,
            Err(e) => {
                problems.push_toml_error(&e, text);
                return Err(problems);
            }
        };
        let currency = raw.currency.unwrap_or_else(|| "USD".to_string());
        if !is_currency(&currency) {
            problems.push(
                "currency",
                format!("`{currency}` is not a currency code like `USD`"),
            );
        }
        let mut fx = BTreeMap::new();
        for (code, rate) in &raw.fx {
            let at = format!("fx.{code}");
            if !is_currency(code) {
                problems.push(at, "not a currency code");
            } else if let Some(r) = Positive::check(rate, &at, &mut problems) {
                if *code == currency && r != Amount(SCALE) {
                    // `rate()` answers 1 for the policy currency; a different figure here
                    // would be silently ignored, so it is refused instead.
                    problems.push(
                        at,
                        format!(
                            "`{r}` for the policy currency itself: its rate is 1 by \
                             definition; remove this line or change `currency`"
                        ),
                    );
                } else {
                    fx.insert(code.clone(), r);
                }
            }
        }
        let global = GlobalLimits::check(&raw.global, "global", &mut problems);
        let defaults = PluginLimits::check(&raw.defaults, "defaults", &mut problems);
        let plugins = raw
            .plugins
            .iter()
            .map(|(name, limits)| {
                let section = format!("plugins.{name}");
                (
                    name.clone(),
                    PluginLimits::check(limits, &section, &mut problems),
                )
            })
            .collect();
        problems.into_result()?;
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
            .map_or_else(|| self.defaults.clone(), |o| o.or(&self.defaults))
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
        limits.uses_money() || self.global.uses_money()
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
        let lines = err.lines();
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
        assert!(
            err.to_string()
                .starts_with("line 2, column 1: unknown field"),
            "{err}"
        );
        let err =
            RiskPolicy::from_toml("[defaults]\nallowed_order_types = [\"iceberg\"]\n").unwrap_err();
        assert!(err.to_string().contains("iceberg"), "{err}");
    }

    #[test]
    fn every_limit_is_in_the_reference() {
        let doc = include_str!("../../../../../docs/risk.md");
        for key in PluginLimits::KEYS.iter().chain(GlobalLimits::KEYS) {
            assert!(
                doc.contains(&format!("\n{key} = ")),
                "docs/risk.md lacks {key}"
            );
        }
    }

    #[test]
    fn a_rate_for_the_policy_currency_itself_must_be_one() {
        // Found by the `risk_policy` fuzz target: `fx.USD = "2"` under `currency = "USD"`
        // was accepted and then ignored (`rate("USD")` is 1).
        let err = RiskPolicy::from_toml("[fx]\nUSD = \"2  \"\n[global]\n").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("fx.USD: `2` for the policy currency itself"),
            "{err}"
        );
        let p = RiskPolicy::from_toml("currency = \"EUR\"\n[fx]\nEUR = \"1.0\"\nUSD = \"0.9\"\n")
            .unwrap();
        assert_eq!(p.rate("EUR"), Some(Amount(SCALE)));
        assert_eq!(p.rate("USD"), Some(Amount(900_000_000)));
    }

    #[test]
    fn plugin_overrides_only_what_they_set() {
        let text = "[global]\nmax_drawdown = 9\n[defaults]\nmax_position = 3\nprice_collar_bps = 5\n[plugins.a]\nprice_collar_bps = 7\n";
        let p = RiskPolicy::from_toml(text).unwrap();
        let a = p.limits_for("a");
        assert_eq!(a.price_collar_bps, Some(7));
        assert_eq!(a.max_position, Some(Amount(3 * SCALE)));
        assert!(!a.uses_money());
        assert!(p.uses_money(&a), "the global drawdown is money");
    }
}
