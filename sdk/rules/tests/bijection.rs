//! Definition parameters ↔ component parameters round-trip without loss: through the
//! generated manifest text and back (specs), and value by value.

#![allow(clippy::unwrap_used)] // a failing unwrap is a failing test

use proptest::prelude::*;
use stratbox_manifest::Decimal;
use stratbox_rules::{
    definition::{self, Definition, Literal, ParamKind, Parameter, Range},
    lower, params,
};

fn decimal() -> impl Strategy<Value = String> {
    (-1_000_000_000_i64..1_000_000_000, 0_u8..=9).prop_map(|(n, p)| {
        let unit = 10_i64.pow(u32::from(9 - p));
        Decimal::from_raw(n.saturating_mul(unit) / unit * unit, p)
            .unwrap()
            .to_string()
    })
}

fn finite() -> impl Strategy<Value = f64> + Clone {
    prop_oneof![
        -1e12..1e12_f64,
        any::<f64>().prop_filter("finite", |x| x.is_finite()),
        Just(0.5),
        Just(-0.0),
    ]
}

/// Orders a pair and picks a default inside it (or none).
fn ranged<T: Clone + PartialOrd + std::fmt::Debug + 'static>(
    values: impl Strategy<Value = T> + Clone + 'static,
    wrap: fn(T) -> Literal,
) -> impl Strategy<Value = (Option<Literal>, Option<Range>)> {
    (
        values.clone(),
        values.clone(),
        values,
        0_u8..4,
        any::<bool>(),
    )
        .prop_map(move |(a, b, c, shape, with_default)| {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            let d = if c < lo || c > hi { lo.clone() } else { c };
            let range = match shape {
                0 => None,
                1 => Some(Range {
                    min: Some(wrap(lo)),
                    max: None,
                }),
                2 => Some(Range {
                    min: None,
                    max: Some(wrap(hi)),
                }),
                _ => Some(Range {
                    min: Some(wrap(lo)),
                    max: Some(wrap(hi)),
                }),
            };
            let default = with_default.then(|| match &range {
                Some(Range {
                    min: Some(m),
                    max: None,
                }) => m.clone(),
                Some(Range {
                    min: None,
                    max: Some(m),
                }) => m.clone(),
                _ => wrap(d),
            });
            (default, range)
        })
}

fn dec_key(s: &str) -> i64 {
    s.parse::<Decimal>().unwrap().raw
}

fn parameter(name: String) -> impl Strategy<Value = Parameter> {
    let text = "\\PC{0,12}";
    let kinds = prop_oneof![
        ranged(any::<i64>(), Literal::Int).prop_map(|(d, r)| (ParamKind::Int, d, r, Vec::new())),
        ranged(finite(), Literal::Float).prop_map(|(d, r)| (ParamKind::Float, d, r, Vec::new())),
        (decimal(), decimal(), decimal(), 0_u8..4, any::<bool>()).prop_map(
            |(a, b, c, shape, with)| {
                let (lo, hi) = if dec_key(&a) <= dec_key(&b) {
                    (a, b)
                } else {
                    (b, a)
                };
                let d = if dec_key(&c) < dec_key(&lo) || dec_key(&c) > dec_key(&hi) {
                    lo.clone()
                } else {
                    c
                };
                let (range, d) = match shape {
                    0 => (None, d),
                    1 => (
                        Some(Range {
                            min: Some(Literal::Text(lo.clone())),
                            max: None,
                        }),
                        lo,
                    ),
                    2 => (
                        Some(Range {
                            min: None,
                            max: Some(Literal::Text(hi.clone())),
                        }),
                        hi,
                    ),
                    _ => (
                        Some(Range {
                            min: Some(Literal::Text(lo)),
                            max: Some(Literal::Text(hi)),
                        }),
                        d,
                    ),
                };
                (
                    ParamKind::Decimal,
                    with.then_some(Literal::Text(d)),
                    range,
                    Vec::new(),
                )
            }
        ),
        proptest::option::of(any::<bool>()).prop_map(|d| (
            ParamKind::Bool,
            d.map(Literal::Bool),
            None,
            Vec::new()
        )),
        (
            proptest::collection::vec(text, 0..4),
            any::<prop::sample::Index>(),
            any::<bool>()
        )
            .prop_map(|(mut choices, i, with)| {
                choices.sort();
                choices.dedup();
                let d = if choices.is_empty() {
                    "free text".to_string()
                } else {
                    i.get(&choices).clone()
                };
                (
                    ParamKind::Text,
                    with.then_some(Literal::Text(d)),
                    None,
                    choices,
                )
            }),
    ];
    (kinds, text).prop_map(
        move |((kind, default, range, choices), description)| Parameter {
            name: name.clone(),
            kind,
            default,
            range,
            choices,
            description,
        },
    )
}

fn definition() -> impl Strategy<Value = Definition> {
    proptest::collection::btree_set("[a-z][a-z0-9_]{0,10}", 0..6).prop_flat_map(|names| {
        let names: Vec<String> = names
            .into_iter()
            .filter(|n| !params::RESERVED.contains(&n.as_str()) && n != "trade_size")
            .collect();
        let params: Vec<_> = names.into_iter().map(parameter).collect();
        params.prop_map(|mut ps| {
            ps.insert(
                0,
                Parameter {
                    name: "trade_size".into(),
                    kind: ParamKind::Decimal,
                    default: Some(Literal::Text("1".into())),
                    range: Some(Range {
                        min: Some(Literal::Text("0.001".into())),
                        max: None,
                    }),
                    choices: Vec::new(),
                    description: String::new(),
                },
            );
            Definition {
                schema: definition::SCHEMA_ID.into(),
                id: "generated".into(),
                version: "1.0.0".into(),
                family: definition::Family::Rules,
                description: String::new(),
                parameters: ps,
                constraints: Vec::new(),
                market: definition::Market {
                    instrument: "GBP/USD.FXCM".into(),
                    input: definition::InputKind::Bars,
                    bar: Some("1-MINUTE-BID-EXTERNAL".into()),
                },
                signals: Vec::new(),
                risk: definition::RiskConstraints::default(),
                rules: vec![definition::RuleDef {
                    name: None,
                    on: definition::RuleTrigger::Input,
                    when: "close > close[1]".into(),
                    then: definition::RuleAction::Long,
                }],
            }
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Definition (as JSON text) → translation → manifest text → parsed manifest →
    /// definition parameters: equal to what was written, parameter by parameter.
    #[test]
    fn parameters_round_trip_through_the_component_manifest(def in definition()) {
        let text = serde_json::to_string_pretty(&def).unwrap();
        let loaded = definition::load("generated.json", &text).unwrap();
        prop_assert_eq!(&loaded.definition, &def, "the JSON form reads back");
        let t = lower::translate(&loaded).map_err(|p| TestCaseError::fail(p.to_string()))?;
        let manifest = stratbox_manifest::Manifest::parse(&t.manifest_text).unwrap();
        for p in &def.parameters {
            let back = params::from_spec(&p.name, &manifest.params[&p.name]);
            prop_assert_eq!(&back, p);
            // Values: definition literal → component value → literal.
            if let Some(d) = &p.default {
                let v = params::to_value(p.kind, d).unwrap();
                prop_assert_eq!(&params::to_literal(&v), d);
                prop_assert_eq!(manifest.params[&p.name].default.as_ref(), Some(&v));
            }
        }
        let extra: Vec<&String> = manifest
            .params
            .keys()
            .filter(|k| !def.parameters.iter().any(|p| &p.name == *k))
            .collect();
        prop_assert_eq!(extra, vec!["bar_type"], "only the market parameter is added");
    }
}
