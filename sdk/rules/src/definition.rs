//! The strategy definition format (`stratbox.definition/v1`): JSON, described by a published JSON Schema.
//!
//! A definition is what a strategy registry holds: an id and version, a family, typed
//! parameters with ranges, the market it reads, the signals it subscribes to, its risk
//! constraints and, for the `rules` family, entry/exit rules in the rule language
//! ([`crate::expr`]). Unknown fields are refused everywhere; [`schema`] publishes the
//! format as JSON Schema (`stratbox translate --schema`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `schema` value of this format.
pub const SCHEMA_ID: &str = "stratbox.definition/v1";
/// Largest definition accepted, in bytes.
pub const MAX_DEFINITION_BYTES: usize = 256 * 1024;

/// A strategy definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "stratbox strategy definition",
    description = "Input of `stratbox translate`."
)]
pub struct Definition {
    /// Always `stratbox.definition/v1`.
    pub schema: String,
    /// Becomes the plugin name: lowercase letters, digits and `-`, starting with a letter.
    pub id: String,
    /// Semantic version; becomes the plugin version.
    pub version: String,
    pub family: Family,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Typed parameters; every family needs a decimal `trade_size`.
    #[serde(default)]
    pub parameters: Vec<Parameter>,
    /// Expressions over parameters that must hold (e.g. `fast_period < slow_period`);
    /// checked on the defaults here and on the actual values when the component starts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<String>,
    pub market: Market,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signals: Vec<SignalSubscription>,
    #[serde(default)]
    pub risk: RiskConstraints,
    /// Entry/exit rules (family `rules` only; other families bring their own).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleDef>,
}

/// Strategy families. All but `rules` expand to built-in rules over required parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// EMA cross: `fast_period`, `slow_period` (ints).
    TrendFollowing,
    /// Bollinger bands on bars: `period` (int), `k` (float).
    MeanReversion,
    /// Donchian channel on bars: `period` (int).
    Breakout,
    /// RSI levels: `period` (int), `upper`, `lower` (floats, 0..100).
    Momentum,
    /// Regime signals with an EMA trend filter on bars: `trend_period` (int),
    /// `min_confidence` (float); subscribes to `regime-prediction`.
    SignalDriven,
    /// The definition's own `rules`.
    Rules,
}

impl Family {
    /// As written in definitions.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::TrendFollowing => "trend_following",
            Self::MeanReversion => "mean_reversion",
            Self::Breakout => "breakout",
            Self::Momentum => "momentum",
            Self::SignalDriven => "signal_driven",
            Self::Rules => "rules",
        }
    }
}

/// Parameter types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ParamKind {
    Int,
    Float,
    /// Exact decimal, written as a string (`"100000"`, `"0.5"`).
    Decimal,
    Bool,
    Text,
}

impl ParamKind {
    /// As written in definitions.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Int => "int",
            Self::Float => "float",
            Self::Decimal => "decimal",
            Self::Bool => "bool",
            Self::Text => "text",
        }
    }
}

/// A parameter value as written: a JSON number, string or boolean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Literal {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

/// An inclusive range.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Range {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<Literal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<Literal>,
}

/// One parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Parameter {
    /// Lowercase letters, digits and `_`, starting with a letter.
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ParamKind,
    /// Without a default the parameter must be given when the strategy is deployed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Literal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<Range>,
    /// Allowed values of a text parameter.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

/// What the strategy reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Market {
    /// Nautilus instrument id, e.g. `GBP/USD.FXCM`.
    pub instrument: String,
    pub input: InputKind,
    /// Bar specification for `bars`, e.g. `1-MINUTE-BID-EXTERNAL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bar: Option<String>,
}

/// Input kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InputKind {
    Quotes,
    Bars,
}

/// A signal subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SignalSubscription {
    /// `regime-prediction`, `correlation-shift`, `sentiment` or `volatility-forecast`.
    #[serde(rename = "type")]
    pub signal_type: String,
    /// Only signals of these models (empty: any the grant allows).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_models: Vec<String>,
}

/// Risk constraints: the component honours `one_order_at_a_time`; the rest become the
/// plugin's section of the risk policy the translation writes (`risk-policy.toml`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RiskConstraints {
    /// Do nothing while an order of the strategy is still open (default true).
    #[serde(default = "yes")]
    pub one_order_at_a_time: bool,
    /// Largest |position| (decimal, instrument units).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_position: Option<String>,
    /// Largest order quantity (decimal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_order_quantity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_open_orders: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_orders_per_second: Option<u32>,
    /// Loss (policy currency) since the start of the day that halts the strategy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_daily_loss: Option<String>,
    /// Fall from the PnL peak (policy currency) that halts the strategy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_drawdown: Option<String>,
}

const fn yes() -> bool {
    true
}

impl Default for RiskConstraints {
    fn default() -> Self {
        Self {
            one_order_at_a_time: true,
            max_position: None,
            max_order_quantity: None,
            max_open_orders: None,
            max_orders_per_second: None,
            max_daily_loss: None,
            max_drawdown: None,
        }
    }
}

/// One rule of the `rules` family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleDef {
    /// For logs and messages (default: `rule <n>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `input` (each bar or quote; the default) or `signal` (each delivered signal).
    #[serde(default = "on_input")]
    pub on: RuleTrigger,
    /// A condition in the rule language.
    pub when: String,
    pub then: RuleAction,
}

/// When a rule is evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RuleTrigger {
    Input,
    Signal,
}

const fn on_input() -> RuleTrigger {
    RuleTrigger::Input
}

/// What a rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RuleAction {
    /// Market order buying `trade_size`.
    Buy,
    /// Market order selling `trade_size`.
    Sell,
    /// Move the position to +`trade_size`.
    Long,
    /// Move the position to -`trade_size`.
    Short,
    /// Close the position.
    Flat,
}

/// A definition and the SHA-256 of the exact text it was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub definition: Definition,
    pub sha256: String,
    /// The text as read (kept so that the generated crate carries the source).
    pub text: String,
}

/// Reads a definition from JSON text. `origin` names it in messages (a file or URL).
pub fn load(origin: &str, text: &str) -> Result<Loaded, String> {
    if text.len() > MAX_DEFINITION_BYTES {
        return Err(format!(
            "{origin}: {} bytes is over the {MAX_DEFINITION_BYTES}-byte limit for a definition",
            text.len()
        ));
    }
    let definition: Definition = serde_json::from_str(text).map_err(|e| {
        format!(
            "{origin}:{}:{}: {} (see `stratbox translate --schema`)",
            e.line(),
            e.column(),
            strip_position(&e.to_string())
        )
    })?;
    if definition.schema != SCHEMA_ID {
        return Err(format!(
            "{origin}: schema `{}` is not supported (this stratbox reads `{SCHEMA_ID}`)",
            definition.schema
        ));
    }
    Ok(Loaded {
        definition,
        sha256: hex::encode(Sha256::digest(text.as_bytes())),
        text: text.to_string(),
    })
}

/// serde_json appends " at line L column C"; the message already leads with them.
fn strip_position(message: &str) -> &str {
    message
        .rfind(" at line ")
        .map_or(message, |i| &message[..i])
}

/// The JSON Schema of the definition format.
#[must_use]
pub fn schema() -> serde_json::Value {
    let mut s = serde_json::to_value(schemars::schema_for!(Definition)).unwrap_or_default();
    if let Some(obj) = s.as_object_mut() {
        obj.insert(
            "$id".into(),
            serde_json::Value::String(format!("https://stratbox.invalid/{SCHEMA_ID}.json")),
        );
    }
    s
}
