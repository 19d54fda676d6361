//! The checked program a translated component runs.
//!
//! `stratbox translate` parses and checks a definition, then lowers it to a [`Program`]:
//! every name resolved, every indicator instantiated once, every cross given its own state
//! slot. The program is embedded in the generated crate as JSON and evaluated by
//! [`crate::runtime`] inside the component; the host keeps the same JSON in the mapping
//! record, so what was reviewed is byte for byte what runs.

use serde::{Deserialize, Serialize};

/// Version of the program format; the runtime refuses any other.
pub const FORMAT: u32 = 1;
/// The component parameter holding the traded instrument of a quotes strategy.
pub const INSTRUMENT_PARAM: &str = "instrument_id";
/// The component parameter holding the bar type of a bars strategy.
pub const BAR_TYPE_PARAM: &str = "bar_type";
/// The component parameter holding the order quantity (a decimal).
pub const TRADE_SIZE_PARAM: &str = "trade_size";
/// Longest lookback `close[n]` may use.
pub const MAX_LAG: u32 = 10_000;

/// A checked strategy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Program {
    pub format: u32,
    /// Where it came from: definition id, version and the SHA-256 of its source text.
    pub source: SourceRef,
    pub input: Input,
    /// Indicator instances, fed in this order on every input event.
    pub indicators: Vec<Indicator>,
    /// Number of cross state slots ([`Expr::Cross::slot`]).
    pub crosses: usize,
    /// Longest `field[n]` lookback per field, as `(field, n)`.
    pub lags: Vec<(Field, u32)>,
    /// Signal types subscribed, by their WIT names.
    pub signals: Vec<String>,
    /// Checked on the actual parameters when the component starts (e.g. fast < slow).
    pub constraints: Vec<Constraint>,
    /// Evaluated in order; the first rule whose condition holds acts, the rest are skipped.
    pub rules: Vec<Rule>,
    /// Skip acting while an order of this strategy is still open.
    pub one_order_at_a_time: bool,
}

/// Provenance of a program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceRef {
    pub id: String,
    pub version: String,
    pub sha256: String,
}

/// The market data a strategy reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Input {
    Quotes,
    Bars,
}

/// A price or size of the current (or a past) input event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Open,
    High,
    Low,
    Close,
    Volume,
    Bid,
    Ask,
    Mid,
    BidSize,
    AskSize,
}

impl Field {
    /// Every field, for name lookup.
    pub const ALL: [Self; 10] = [
        Self::Open,
        Self::High,
        Self::Low,
        Self::Close,
        Self::Volume,
        Self::Bid,
        Self::Ask,
        Self::Mid,
        Self::BidSize,
        Self::AskSize,
    ];

    /// Its name in the rule language.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::High => "high",
            Self::Low => "low",
            Self::Close => "close",
            Self::Volume => "volume",
            Self::Bid => "bid",
            Self::Ask => "ask",
            Self::Mid => "mid",
            Self::BidSize => "bid_size",
            Self::AskSize => "ask_size",
        }
    }

    /// The input that carries this field.
    #[must_use]
    pub const fn input(self) -> Input {
        match self {
            Self::Open | Self::High | Self::Low | Self::Close | Self::Volume => Input::Bars,
            Self::Bid | Self::Ask | Self::Mid | Self::BidSize | Self::AskSize => Input::Quotes,
        }
    }
}

/// An integer argument: a literal or an int parameter (resolved when the component starts).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntArg {
    Literal(i64),
    Param(String),
}

/// A number argument: a literal or a numeric parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NumArg {
    Literal(f64),
    Param(String),
}

/// Indicator kinds (Nautilus indicators, except the Donchian channel: see decision 0009).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndicatorKind {
    Ema,
    Sma,
    /// Nautilus `RelativeStrengthIndex`, scaled to 0..=100.
    Rsi,
    /// Nautilus `BollingerBands` of bar high/low/close.
    Bollinger,
    /// Highest high / lowest low of the `period` bars before the current one.
    Donchian,
}

/// One indicator instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Indicator {
    pub kind: IndicatorKind,
    /// What it is fed (moving averages and RSI); bands and channels read the whole bar.
    pub source: Option<Field>,
    pub period: IntArg,
    /// Band width in standard deviations (Bollinger only).
    pub k: Option<NumArg>,
}

/// Which value of an indicator an expression reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Output {
    Value,
    Upper,
    Middle,
    Lower,
}

/// What a signal expression reads from the latest signal of a type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalField {
    /// Text value, or the key of the largest entry of a map value.
    Label,
    /// Float value.
    Value,
    Confidence,
}

/// A position side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Flat,
    Long,
    Short,
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BinOp {
    And,
    Or,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    Add,
    Sub,
    Mul,
    Div,
}

impl BinOp {
    /// As written in the rule language.
    #[must_use]
    pub const fn text(self) -> &'static str {
        match self {
            Self::And => "and",
            Self::Or => "or",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::Eq => "==",
            Self::Ne => "!=",
            Self::Add => "+",
            Self::Sub => "-",
            Self::Mul => "*",
            Self::Div => "/",
        }
    }
}

/// Built-in functions that are not indicators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Func {
    Abs,
    Min,
    Max,
}

/// A checked expression. A value can be *undefined* (an indicator still warming up, no
/// signal yet, no earlier bar): arithmetic and comparisons with an undefined operand are
/// undefined, `and`/`or` follow Kleene logic, and a rule acts only when its condition is
/// defined and true.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expr {
    Num(f64),
    Bool(bool),
    Text(String),
    Side(Side),
    /// A definition parameter, read when the component starts.
    Param(String),
    /// `field` of the input event `lag` events ago (0: the current one).
    Field {
        field: Field,
        lag: u32,
    },
    Indicator {
        index: usize,
        output: Output,
    },
    Signal {
        signal_type: String,
        field: SignalField,
    },
    /// The strategy's position in its instrument.
    Position,
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Binary {
        op: BinOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    /// `left crosses_above right`: `left > right` went from false to true since the last
    /// evaluation where both were defined; `crosses_below`: it went from true to false.
    Cross {
        slot: usize,
        above: bool,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    Call {
        func: Func,
        args: Vec<Expr>,
    },
}

/// When a rule is evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// Each bar or quote of the strategy's input.
    Input,
    /// Each delivered signal of a subscribed type.
    Signal,
}

/// What a rule does when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A market order buying `trade_size`.
    Buy,
    /// A market order selling `trade_size`.
    Sell,
    /// Move the position to +`trade_size`.
    Long,
    /// Move the position to -`trade_size`.
    Short,
    /// Close the position (reduce-only).
    Flat,
}

/// One rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Its name in the definition (for logs).
    pub name: String,
    pub on: Trigger,
    pub when: Expr,
    pub then: Action,
}

/// A parameter constraint, checked at start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Constraint {
    /// As written in the definition (quoted in the refusal).
    pub text: String,
    pub check: Expr,
}

impl Program {
    /// Decodes a program and checks its format version.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let p: Self =
            serde_json::from_str(text).map_err(|e| format!("the embedded program: {e}"))?;
        if p.format != FORMAT {
            return Err(format!(
                "program format {} (this runtime reads format {FORMAT})",
                p.format
            ));
        }
        Ok(p)
    }
}
