//! Definition parameters ↔ component parameters, both ways and without loss.
//!
//! A definition parameter becomes one `[params.<name>]` entry of the component's manifest
//! (int → int, float → float, decimal → decimal, bool → bool, text → string; range →
//! min/max; choices and description as they are), and [`from_spec`] reads it back. Values
//! convert the same way ([`to_value`] / [`to_literal`]). The property test in
//! `tests/bijection.rs` checks both round trips over generated definitions.

use std::collections::BTreeMap;

use stratbox_manifest::{Decimal, ParamSpec, ParamType, ParamValue};

use crate::{
    check::{Interval, ParamInfo, Ty},
    definition::{Literal, ParamKind, Parameter, Range},
    program::{BAR_TYPE_PARAM, INSTRUMENT_PARAM},
};

/// Names a definition may not use: the translation adds them itself.
pub const RESERVED: [&str; 2] = [INSTRUMENT_PARAM, BAR_TYPE_PARAM];

/// The manifest type of a definition type.
#[must_use]
pub const fn manifest_type(kind: ParamKind) -> ParamType {
    match kind {
        ParamKind::Int => ParamType::Int,
        ParamKind::Float => ParamType::Float,
        ParamKind::Decimal => ParamType::Decimal,
        ParamKind::Bool => ParamType::Bool,
        ParamKind::Text => ParamType::String,
    }
}

/// The definition type of a manifest type.
#[must_use]
pub const fn definition_type(kind: ParamType) -> ParamKind {
    match kind {
        ParamType::Int => ParamKind::Int,
        ParamType::Float => ParamKind::Float,
        ParamType::Decimal => ParamKind::Decimal,
        ParamType::Bool => ParamKind::Bool,
        ParamType::String => ParamKind::Text,
    }
}

/// A literal as a value of `kind`.
pub fn to_value(kind: ParamKind, v: &Literal) -> Result<ParamValue, String> {
    let wrong = || format!("expected {}, got {}", kind.name(), show(v));
    match (kind, v) {
        (ParamKind::Int, Literal::Int(i)) => Ok(ParamValue::Int(*i)),
        (ParamKind::Float, Literal::Float(x)) if x.is_finite() => Ok(ParamValue::Float(*x)),
        #[allow(clippy::cast_precision_loss)]
        (ParamKind::Float, Literal::Int(i)) if i.unsigned_abs() < (1 << 53) => {
            Ok(ParamValue::Float(*i as f64))
        }
        (ParamKind::Decimal, Literal::Text(s)) => s
            .parse::<Decimal>()
            .map(ParamValue::Decimal)
            .map_err(|e| e.to_string()),
        (ParamKind::Decimal, Literal::Int(i)) => Decimal::from_int(*i)
            .map(ParamValue::Decimal)
            .ok_or_else(|| format!("{i} is out of range for a decimal")),
        (ParamKind::Bool, Literal::Bool(b)) => Ok(ParamValue::Bool(*b)),
        (ParamKind::Text, Literal::Text(s)) => Ok(ParamValue::Text(s.clone())),
        _ => Err(wrong()),
    }
}

/// A value as the literal a definition writes for it (decimals as strings).
#[must_use]
pub fn to_literal(v: &ParamValue) -> Literal {
    match v {
        ParamValue::Int(i) => Literal::Int(*i),
        ParamValue::Float(x) => Literal::Float(*x),
        ParamValue::Bool(b) => Literal::Bool(*b),
        ParamValue::Text(s) => Literal::Text(s.clone()),
        ParamValue::Decimal(d) => Literal::Text(d.to_string()),
    }
}

fn show(v: &Literal) -> String {
    match v {
        Literal::Bool(b) => format!("the bool {b}"),
        Literal::Int(i) => format!("the integer {i}"),
        Literal::Float(x) => format!("the number {x}"),
        Literal::Text(s) => format!("the string {s:?}"),
    }
}

/// A definition parameter as a manifest parameter, checked (range order, default in
/// range, choices only on text). Every problem is returned, each as `(field, message)`.
pub fn to_spec(p: &Parameter) -> Result<ParamSpec, Vec<(String, String)>> {
    let mut problems = Vec::new();
    let mut value = |field: &str, v: Option<&Literal>| {
        v.and_then(|v| {
            to_value(p.kind, v)
                .map_err(|e| problems.push((field.to_string(), e)))
                .ok()
        })
    };
    let default = value("default", p.default.as_ref());
    let range = p.range.clone().unwrap_or_default();
    let min = value("range.min", range.min.as_ref());
    let max = value("range.max", range.max.as_ref());
    if p.range.is_some() && matches!(p.kind, ParamKind::Bool | ParamKind::Text) {
        problems.push((
            "range".into(),
            format!("a {} parameter has no range", p.kind.name()),
        ));
    }
    if p.range
        .as_ref()
        .is_some_and(|r| r.min.is_none() && r.max.is_none())
    {
        problems.push(("range".into(), "give min, max or both (or no range)".into()));
    }
    if !p.choices.is_empty() && p.kind != ParamKind::Text {
        problems.push(("choices".into(), "only text parameters have choices".into()));
    }
    let spec = ParamSpec {
        kind: manifest_type(p.kind),
        default,
        min,
        max,
        choices: p.choices.clone(),
        description: p.description.clone(),
    };
    if let (Some(lo), Some(hi)) = (&spec.min, &spec.max)
        && above(lo, hi)
    {
        problems.push(("range".into(), format!("min {lo} is above max {hi}")));
    }
    if let Some(d) = &spec.default
        && let Err(e) = spec.check(d)
    {
        problems.push(("default".into(), e));
    }
    if problems.is_empty() {
        Ok(spec)
    } else {
        Err(problems)
    }
}

fn above(a: &ParamValue, b: &ParamValue) -> bool {
    match (a, b) {
        (ParamValue::Int(x), ParamValue::Int(y)) => x > y,
        (ParamValue::Float(x), ParamValue::Float(y)) => x > y,
        (ParamValue::Decimal(x), ParamValue::Decimal(y)) => x.raw > y.raw,
        _ => false,
    }
}

/// A manifest parameter back as a definition parameter.
#[must_use]
pub fn from_spec(name: &str, spec: &ParamSpec) -> Parameter {
    let range = (spec.min.is_some() || spec.max.is_some()).then(|| Range {
        min: spec.min.as_ref().map(to_literal),
        max: spec.max.as_ref().map(to_literal),
    });
    Parameter {
        name: name.to_string(),
        kind: definition_type(spec.kind),
        default: spec.default.as_ref().map(to_literal),
        range,
        choices: spec.choices.clone(),
        description: spec.description.clone(),
    }
}

/// A value as a number, for range analysis (decimals exactly as `f64` allows).
#[must_use]
pub fn as_f64(v: &ParamValue) -> Option<f64> {
    match v {
        #[allow(clippy::cast_precision_loss)]
        ParamValue::Int(i) => Some(*i as f64),
        ParamValue::Float(x) => Some(*x),
        #[allow(clippy::cast_precision_loss)]
        ParamValue::Decimal(d) => Some(d.raw as f64 / 1e9),
        ParamValue::Bool(_) | ParamValue::Text(_) => None,
    }
}

/// What the expression checker knows of each parameter.
#[must_use]
pub fn infos(specs: &BTreeMap<String, ParamSpec>) -> BTreeMap<String, ParamInfo> {
    specs
        .iter()
        .map(|(name, s)| {
            let ty = match s.kind {
                ParamType::Int | ParamType::Float | ParamType::Decimal => Ty::Num,
                ParamType::Bool => Ty::Bool,
                ParamType::String => Ty::Text,
            };
            let range = Interval {
                lo: s.min.as_ref().and_then(as_f64).unwrap_or(f64::NEG_INFINITY),
                hi: s.max.as_ref().and_then(as_f64).unwrap_or(f64::INFINITY),
            };
            (
                name.clone(),
                ParamInfo {
                    ty,
                    int: s.kind == ParamType::Int,
                    range,
                },
            )
        })
        .collect()
}

/// A value as TOML (decimals as strings, as the manifest reads them).
#[must_use]
pub fn to_toml(v: &ParamValue) -> toml::Value {
    match v {
        ParamValue::Int(i) => toml::Value::Integer(*i),
        ParamValue::Float(x) => toml::Value::Float(*x),
        ParamValue::Bool(b) => toml::Value::Boolean(*b),
        ParamValue::Text(s) => toml::Value::String(s.clone()),
        ParamValue::Decimal(d) => toml::Value::String(d.to_string()),
    }
}

/// The `[params.<name>]` table of one parameter.
#[must_use]
pub fn spec_table(spec: &ParamSpec) -> toml::Table {
    let mut t = toml::Table::new();
    t.insert("type".into(), toml::Value::String(spec.kind.to_string()));
    for (key, v) in [
        ("default", &spec.default),
        ("min", &spec.min),
        ("max", &spec.max),
    ] {
        if let Some(v) = v {
            t.insert(key.into(), to_toml(v));
        }
    }
    if !spec.choices.is_empty() {
        t.insert(
            "choices".into(),
            toml::Value::Array(
                spec.choices
                    .iter()
                    .cloned()
                    .map(toml::Value::String)
                    .collect(),
            ),
        );
    }
    if !spec.description.is_empty() {
        t.insert(
            "description".into(),
            toml::Value::String(spec.description.clone()),
        );
    }
    t
}
