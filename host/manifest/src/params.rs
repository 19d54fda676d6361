//! Parameter schema (`[params.<name>]` in stratbox.toml) and resolution of user overrides.

use std::{collections::BTreeMap, fmt};

use serde::Serialize;

use crate::{Problems, decimal::Decimal};

/// The type of a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    Int,
    Float,
    Bool,
    String,
    Decimal,
}

impl ParamType {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "int" => Self::Int,
            "float" => Self::Float,
            "bool" => Self::Bool,
            "string" => Self::String,
            "decimal" => Self::Decimal,
            _ => return None,
        })
    }
}

impl fmt::Display for ParamType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Int => "int",
            Self::Float => "float",
            Self::Bool => "bool",
            Self::String => "string",
            Self::Decimal => "decimal",
        })
    }
}

/// A typed parameter value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ParamValue {
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
    Decimal(Decimal),
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Int(v) => write!(f, "{v}"),
            Self::Float(v) => write!(f, "{v}"),
            Self::Bool(v) => write!(f, "{v}"),
            Self::Text(v) => write!(f, "{v:?}"),
            Self::Decimal(v) => write!(f, "{v}"),
        }
    }
}

/// One declared parameter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParamSpec {
    #[serde(rename = "type")]
    pub kind: ParamType,
    /// `None` means the parameter is required.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<ParamValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<ParamValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<ParamValue>,
    /// Allowed values of a string parameter (empty: any).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
}

/// The raw TOML form of a parameter, before validation.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawParam {
    #[serde(rename = "type")]
    kind: String,
    default: Option<toml::Value>,
    min: Option<toml::Value>,
    max: Option<toml::Value>,
    #[serde(default)]
    choices: Vec<String>,
    #[serde(default)]
    description: String,
}

/// Converts a TOML value to a parameter value of `kind`.
fn from_toml(kind: ParamType, v: &toml::Value) -> Result<ParamValue, String> {
    let wrong = || format!("expected {kind}, got {} `{v}`", v.type_str());
    match (kind, v) {
        (ParamType::Int, toml::Value::Integer(i)) => Ok(ParamValue::Int(*i)),
        (ParamType::Float, toml::Value::Float(x)) if x.is_finite() => Ok(ParamValue::Float(*x)),
        #[allow(clippy::cast_precision_loss)]
        (ParamType::Float, toml::Value::Integer(i)) => Ok(ParamValue::Float(*i as f64)),
        (ParamType::Bool, toml::Value::Boolean(b)) => Ok(ParamValue::Bool(*b)),
        (ParamType::String, toml::Value::String(s)) => Ok(ParamValue::Text(s.clone())),
        (ParamType::Decimal, toml::Value::String(s)) => s
            .parse::<Decimal>()
            .map(ParamValue::Decimal)
            .map_err(|e| e.to_string()),
        (ParamType::Decimal, toml::Value::Integer(i)) => Decimal::from_int(*i)
            .map(ParamValue::Decimal)
            .ok_or_else(|| format!("{i} is out of range for a decimal")),
        (ParamType::Decimal, toml::Value::Float(x)) if x.is_finite() => {
            // Rust prints the shortest string that reads back as the same float, which is
            // the decimal the author wrote.
            x.to_string()
                .parse::<Decimal>()
                .map(ParamValue::Decimal)
                .map_err(|e| e.to_string())
        }
        _ => Err(wrong()),
    }
}

/// Parses a command-line value (`--param name=value`) as a parameter of `kind`.
pub fn parse_value(kind: ParamType, s: &str) -> Result<ParamValue, String> {
    match kind {
        ParamType::Int => s
            .trim()
            .replace('_', "")
            .parse()
            .map(ParamValue::Int)
            .map_err(|_| format!("`{s}` is not an int")),
        ParamType::Float => match s.trim().parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(ParamValue::Float(x)),
            _ => Err(format!("`{s}` is not a finite float")),
        },
        ParamType::Bool => match s.trim() {
            "true" => Ok(ParamValue::Bool(true)),
            "false" => Ok(ParamValue::Bool(false)),
            _ => Err(format!("`{s}` is not a bool (true or false)")),
        },
        ParamType::String => Ok(ParamValue::Text(s.to_string())),
        ParamType::Decimal => s
            .parse()
            .map(ParamValue::Decimal)
            .map_err(|e: crate::DecimalError| e.to_string()),
    }
}

fn compare(a: &ParamValue, b: &ParamValue) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (ParamValue::Int(x), ParamValue::Int(y)) => Some(x.cmp(y)),
        (ParamValue::Float(x), ParamValue::Float(y)) => x.partial_cmp(y),
        (ParamValue::Decimal(x), ParamValue::Decimal(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

impl ParamSpec {
    /// Checks `value` against this spec's range and choices.
    pub fn check(&self, value: &ParamValue) -> Result<(), String> {
        if let Some(min) = &self.min
            && compare(value, min) == Some(std::cmp::Ordering::Less)
        {
            return Err(format!("{value} is below the minimum {min}"));
        }
        if let Some(max) = &self.max
            && compare(value, max) == Some(std::cmp::Ordering::Greater)
        {
            return Err(format!("{value} is above the maximum {max}"));
        }
        if let ParamValue::Text(s) = value
            && !self.choices.is_empty()
            && !self.choices.contains(s)
        {
            return Err(format!("{s:?} is not one of {:?}", self.choices));
        }
        Ok(())
    }

    pub(crate) fn from_raw(name: &str, raw: RawParam, problems: &mut Problems) -> Option<Self> {
        let at = format!("params.{name}");
        let Some(kind) = ParamType::parse(&raw.kind) else {
            problems.push(
                format!("{at}.type"),
                format!(
                    "unknown type `{}` (expected int, float, bool, string or decimal)",
                    raw.kind
                ),
            );
            return None;
        };
        let mut field = |key: &str, v: Option<toml::Value>| -> Option<ParamValue> {
            let v = v?;
            from_toml(kind, &v)
                .map_err(|e| problems.push(format!("{at}.{key}"), e))
                .ok()
        };
        let default = field("default", raw.default);
        let min = field("min", raw.min);
        let max = field("max", raw.max);
        let spec = Self {
            kind,
            default,
            min,
            max,
            choices: raw.choices,
            description: raw.description,
        };
        if (spec.min.is_some() || spec.max.is_some())
            && matches!(kind, ParamType::Bool | ParamType::String)
        {
            problems.push(
                at.clone(),
                format!("a {kind} parameter cannot have min or max"),
            );
        }
        if !spec.choices.is_empty() && kind != ParamType::String {
            problems.push(
                format!("{at}.choices"),
                "only string parameters can have choices",
            );
        }
        if let (Some(min), Some(max)) = (&spec.min, &spec.max)
            && compare(min, max) == Some(std::cmp::Ordering::Greater)
        {
            problems.push(at.clone(), format!("min {min} is above max {max}"));
        }
        if let Some(d) = &spec.default
            && let Err(e) = spec.check(d)
        {
            problems.push(format!("{at}.default"), e);
        }
        if !is_identifier(name) {
            problems.push(
                at,
                "parameter names use lowercase letters, digits and `_`, starting with a letter",
            );
        }
        Some(spec)
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Resolves the final parameter list: defaults, then `overrides` (name, text) parsed per the
/// declared type. Every problem is reported, not just the first. The result is sorted by name.
pub fn resolve(
    specs: &BTreeMap<String, ParamSpec>,
    overrides: &[(String, String)],
) -> Result<Vec<(String, ParamValue)>, Problems> {
    let mut problems = Problems::default();
    let mut values: BTreeMap<&str, ParamValue> = BTreeMap::new();
    for (name, spec) in specs {
        if let Some(d) = &spec.default {
            values.insert(name, d.clone());
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for (name, text) in overrides {
        let at = format!("param `{name}`");
        if !seen.insert(name.as_str()) {
            problems.push(at, "given more than once");
            continue;
        }
        let Some((key, spec)) = specs.get_key_value(name) else {
            let known: Vec<&str> = specs.keys().map(String::as_str).collect();
            problems.push(
                at,
                format!("unknown parameter (this plugin has: {})", known.join(", ")),
            );
            continue;
        };
        match parse_value(spec.kind, text).and_then(|v| spec.check(&v).map(|()| v)) {
            Ok(v) => {
                values.insert(key, v);
            }
            Err(e) => problems.push(at, e),
        }
    }
    for name in specs.keys() {
        if !values.contains_key(name.as_str()) {
            problems.push(
                format!("param `{name}`"),
                "required (it has no default); pass --param",
            );
        }
    }
    problems.into_result()?;
    Ok(values
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect())
}
