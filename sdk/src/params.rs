//! Typed access to the parameters the host passes to `init`.
//!
//! The host has already checked every parameter against the plugin manifest (`stratbox.toml`):
//! names, types and ranges, with defaults filled in. The accessors here still return errors
//! rather than panicking, so a plugin run by an older host fails `init` with a clear message.

use std::fmt;

use nautilus_model::types::{Price, Quantity};

use crate::{
    convert,
    data::{BarType, InstrumentId},
    wit,
};

/// A parameter that is missing or has the wrong type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError {
    /// The parameter's name.
    pub name: String,
    /// What was wrong.
    pub problem: String,
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "parameter `{}`: {}", self.name, self.problem)
    }
}

impl std::error::Error for ParamError {}

impl From<ParamError> for String {
    fn from(e: ParamError) -> Self {
        e.to_string()
    }
}

/// The resolved parameters of one plugin instance.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    items: Vec<wit::Param>,
}

fn kind(v: &wit::ParamValue) -> &'static str {
    match v {
        wit::ParamValue::Int(_) => "int",
        wit::ParamValue::Float(_) => "float",
        wit::ParamValue::Boolean(_) => "bool",
        wit::ParamValue::Text(_) => "string",
        wit::ParamValue::Decimal(_) => "decimal",
    }
}

impl Params {
    /// Wraps the list received by `init`.
    #[must_use]
    pub fn new(items: Vec<wit::Param>) -> Self {
        Self { items }
    }

    /// The raw value of `name`, if present.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&wit::ParamValue> {
        self.items.iter().find(|p| p.name == name).map(|p| &p.value)
    }

    /// Iterates over all parameters in the order the host sent them (sorted by name).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &wit::ParamValue)> {
        self.items.iter().map(|p| (p.name.as_str(), &p.value))
    }

    fn err(name: &str, problem: impl Into<String>) -> ParamError {
        ParamError {
            name: name.to_string(),
            problem: problem.into(),
        }
    }

    fn require(&self, name: &str) -> Result<&wit::ParamValue, ParamError> {
        self.get(name).ok_or_else(|| Self::err(name, "missing"))
    }

    fn wrong(name: &str, expected: &str, got: &wit::ParamValue) -> ParamError {
        Self::err(name, format!("expected {expected}, got {}", kind(got)))
    }

    /// An `int` parameter.
    pub fn int(&self, name: &str) -> Result<i64, ParamError> {
        match self.require(name)? {
            wit::ParamValue::Int(v) => Ok(*v),
            other => Err(Self::wrong(name, "int", other)),
        }
    }

    /// A non-negative `int` parameter as `usize` (periods, counts).
    pub fn usize(&self, name: &str) -> Result<usize, ParamError> {
        let v = self.int(name)?;
        usize::try_from(v)
            .map_err(|_| Self::err(name, format!("expected a non-negative int, got {v}")))
    }

    /// A `float` parameter (never used for money; see `decimal`). `int` values are accepted.
    pub fn float(&self, name: &str) -> Result<f64, ParamError> {
        match self.require(name)? {
            wit::ParamValue::Float(v) => Ok(*v),
            #[allow(clippy::cast_precision_loss)]
            wit::ParamValue::Int(v) => Ok(*v as f64),
            other => Err(Self::wrong(name, "float", other)),
        }
    }

    /// A `bool` parameter.
    pub fn bool(&self, name: &str) -> Result<bool, ParamError> {
        match self.require(name)? {
            wit::ParamValue::Boolean(v) => Ok(*v),
            other => Err(Self::wrong(name, "bool", other)),
        }
    }

    /// A `string` parameter.
    pub fn text(&self, name: &str) -> Result<&str, ParamError> {
        match self.require(name)? {
            wit::ParamValue::Text(v) => Ok(v),
            other => Err(Self::wrong(name, "string", other)),
        }
    }

    /// A `decimal` parameter as a Nautilus price (exact fixed point).
    pub fn price(&self, name: &str) -> Result<Price, ParamError> {
        match self.require(name)? {
            wit::ParamValue::Decimal(v) => convert::price(*v).map_err(|e| Self::err(name, e)),
            other => Err(Self::wrong(name, "decimal", other)),
        }
    }

    /// A non-negative `decimal` parameter as a Nautilus quantity (exact fixed point).
    pub fn quantity(&self, name: &str) -> Result<Quantity, ParamError> {
        let p = self.price(name)?;
        let raw = u64::try_from(p.raw)
            .map_err(|_| Self::err(name, format!("expected a non-negative decimal, got {p}")))?;
        Quantity::from_raw_checked(raw, p.precision).map_err(|e| Self::err(name, e.to_string()))
    }

    /// A `string` parameter holding an instrument id (`SYMBOL.VENUE`).
    pub fn instrument_id(&self, name: &str) -> Result<InstrumentId, ParamError> {
        self.text(name)?.parse().map_err(|e| Self::err(name, e))
    }

    /// A `string` parameter holding a bar type (`GBP/USD.FXCM-1-MINUTE-BID-EXTERNAL`).
    pub fn bar_type(&self, name: &str) -> Result<BarType, ParamError> {
        self.text(name)?.parse().map_err(|e| Self::err(name, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Params {
        Params::new(vec![
            wit::Param {
                name: "fast".into(),
                value: wit::ParamValue::Int(10),
            },
            wit::Param {
                name: "neg".into(),
                value: wit::ParamValue::Int(-1),
            },
            wit::Param {
                name: "size".into(),
                value: wit::ParamValue::Decimal(wit::Price {
                    raw: 100_000_000_000_000,
                    precision: 0,
                }),
            },
            wit::Param {
                name: "inst".into(),
                value: wit::ParamValue::Text("GBP/USD.FXCM".into()),
            },
        ])
    }

    #[test]
    fn typed_access() {
        let p = params();
        assert_eq!(p.usize("fast").unwrap(), 10);
        assert_eq!(p.float("fast").unwrap(), 10.0);
        assert_eq!(p.quantity("size").unwrap(), Quantity::from(100_000));
        assert_eq!(p.instrument_id("inst").unwrap().to_string(), "GBP/USD.FXCM");
        let err = p.bar_type("inst").unwrap_err().to_string();
        assert!(
            err.starts_with("parameter `inst`: bar type `GBP/USD.FXCM`"),
            "{err}"
        );
    }

    #[test]
    fn errors_name_the_parameter() {
        let p = params();
        assert_eq!(
            p.int("nope").unwrap_err().to_string(),
            "parameter `nope`: missing"
        );
        assert_eq!(
            p.text("fast").unwrap_err().to_string(),
            "parameter `fast`: expected string, got int"
        );
        assert!(
            p.usize("neg")
                .unwrap_err()
                .to_string()
                .contains("non-negative")
        );
    }
}
