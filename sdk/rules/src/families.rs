//! Built-in families: each is a set of rules in the rule language over required
//! parameters, checked exactly like a `rules` definition. Each matches a hand-written
//! plugin decision for decision (`plugins/ema-cross`, `bollinger-reversion`,
//! `donchian-breakout`, `rsi-momentum`, `regime-signal`); the translation tests prove it.

use crate::definition::{Family, InputKind, ParamKind, RuleAction, RuleDef, RuleTrigger};

/// What a family brings.
#[derive(Debug)]
pub struct Template {
    /// Parameters the definition must declare, with their types.
    pub required: &'static [(&'static str, ParamKind)],
    /// Constraints added to the definition's own.
    pub constraints: &'static [&'static str],
    /// The input the family needs (`None`: either).
    pub input: Option<InputKind>,
    /// Signal types the family reads (the definition must subscribe to them).
    pub signals: &'static [&'static str],
    rules: &'static [(&'static str, RuleTrigger, &'static str, RuleAction)],
}

impl Template {
    /// The family's rules as definition rules.
    #[must_use]
    pub fn rules(&self) -> Vec<RuleDef> {
        self.rules
            .iter()
            .map(|(name, on, when, then)| RuleDef {
                name: Some((*name).to_string()),
                on: *on,
                when: (*when).to_string(),
                then: *then,
            })
            .collect()
    }
}

const TRADE: (&str, ParamKind) = ("trade_size", ParamKind::Decimal);

/// The template of `family`, `None` for `rules`.
#[must_use]
pub fn template(family: Family) -> Option<Template> {
    use RuleAction::{Buy, Flat, Long, Sell, Short};
    use RuleTrigger::{Input, Signal};
    Some(match family {
        Family::Rules => return None,
        Family::TrendFollowing => Template {
            required: &[
                ("fast_period", ParamKind::Int),
                ("slow_period", ParamKind::Int),
                TRADE,
            ],
            constraints: &["fast_period < slow_period"],
            input: None,
            signals: &[],
            rules: &[
                (
                    "fast EMA crosses above slow",
                    Input,
                    "ema(price, fast_period) crosses_above ema(price, slow_period)",
                    Buy,
                ),
                (
                    "fast EMA crosses below slow",
                    Input,
                    "ema(price, fast_period) crosses_below ema(price, slow_period)",
                    Sell,
                ),
            ],
        },
        Family::MeanReversion => Template {
            required: &[("period", ParamKind::Int), ("k", ParamKind::Float), TRADE],
            constraints: &[],
            input: Some(InputKind::Bars),
            signals: &[],
            rules: &[
                (
                    "close below the lower band",
                    Input,
                    "position == flat and close < bb_lower(period, k)",
                    Long,
                ),
                (
                    "close above the upper band",
                    Input,
                    "position == flat and close > bb_upper(period, k)",
                    Short,
                ),
                (
                    "long back at the middle band",
                    Input,
                    "position == long and close >= bb_middle(period, k)",
                    Flat,
                ),
                (
                    "short back at the middle band",
                    Input,
                    "position == short and close <= bb_middle(period, k)",
                    Flat,
                ),
            ],
        },
        Family::Breakout => Template {
            required: &[("period", ParamKind::Int), TRADE],
            constraints: &[],
            input: Some(InputKind::Bars),
            signals: &[],
            rules: &[
                (
                    "close above the channel",
                    Input,
                    "close > donchian_upper(period)",
                    Long,
                ),
                (
                    "close below the channel",
                    Input,
                    "close < donchian_lower(period)",
                    Short,
                ),
            ],
        },
        Family::Momentum => Template {
            required: &[
                ("period", ParamKind::Int),
                ("upper", ParamKind::Float),
                ("lower", ParamKind::Float),
                TRADE,
            ],
            constraints: &["lower < upper"],
            input: None,
            signals: &[],
            rules: &[
                ("RSI above upper", Input, "rsi(price, period) > upper", Long),
                (
                    "RSI below lower",
                    Input,
                    "rsi(price, period) < lower",
                    Short,
                ),
            ],
        },
        Family::SignalDriven => Template {
            required: &[
                ("trend_period", ParamKind::Int),
                ("min_confidence", ParamKind::Float),
                TRADE,
            ],
            constraints: &[],
            input: Some(InputKind::Bars),
            signals: &["regime-prediction"],
            rules: &[
                (
                    "low confidence",
                    Signal,
                    "signal(REGIME_PREDICTION).confidence < min_confidence",
                    Flat,
                ),
                (
                    "bull regime above the trend",
                    Signal,
                    "signal(REGIME_PREDICTION).label == 'bull' and close > ema(close, trend_period)",
                    Long,
                ),
                (
                    "bear regime below the trend",
                    Signal,
                    "signal(REGIME_PREDICTION).label == 'bear' and close < ema(close, trend_period)",
                    Short,
                ),
                ("any other regime", Signal, "true", Flat),
            ],
        },
    })
}
