//! # stratbox-rules
//!
//! Strategy definitions as a registry holds them, translated into stratbox components.
//!
//! - [`definition`]: the `stratbox.definition/v1` format (JSON, unknown fields refused,
//!   published as JSON Schema).
//! - [`expr`]: the rule language and its parser; [`check`]: types, lookahead, conditions
//!   that can never hold; [`families`]: built-in families as rules.
//! - [`lower`]: a definition → a checked [`program::Program`], the component manifest,
//!   the parameter mapping ([`params`]: lossless both ways) and a risk-policy section.
//! - [`runtime`] (feature `runtime`, in the component): runs a program through the SDK.
//!
//! The host side (`compiler`, the default) and the guest side (`runtime`) share
//! [`program`] and [`eval`], so a program means the same thing to both.

pub mod eval;
pub mod program;

#[cfg(feature = "compiler")]
pub mod check;
#[cfg(feature = "compiler")]
pub mod definition;
#[cfg(feature = "compiler")]
pub mod expr;
#[cfg(feature = "compiler")]
pub mod families;
#[cfg(feature = "compiler")]
pub mod lower;
#[cfg(feature = "compiler")]
pub mod params;
#[cfg(feature = "runtime")]
pub mod runtime;
