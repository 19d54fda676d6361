//! The stratbox plugin manifest (`stratbox.toml`).
//!
//! A manifest names the plugin, declares its parameters (types, ranges, defaults), the
//! capabilities it requests and the limits it wants. The build embeds the manifest text in
//! the component as the custom section [`SECTION`], so the artifact carries it: the host,
//! `stratbox inspect` and the registry all read it from the component itself.
//!
//! Parsing refuses unknown fields and reports every problem at once, each with its path
//! (`params.fast_period.default: ...`).

mod capabilities;
#[cfg(feature = "component")]
mod component;
mod decimal;
mod limits;
mod params;
mod problems;

use std::collections::BTreeMap;

pub use capabilities::{Capability, CapabilityRequest, SIGNAL_TYPES};
#[cfg(feature = "component")]
pub use component::componentize;
pub use decimal::{Decimal, DecimalError, FIXED_PRECISION};
pub use limits::LimitRequest;
pub use params::{ParamSpec, ParamType, ParamValue, parse_value, resolve};
pub use problems::{Problem, Problems, join_path};
use serde::{Deserialize, Serialize};

/// Name of the component custom section that holds the manifest text (UTF-8 TOML).
pub const SECTION: &str = "stratbox:manifest";

/// Largest manifest accepted, in bytes.
pub const MAX_MANIFEST_BYTES: usize = 64 * 1024;

/// A validated manifest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Manifest {
    pub name: String,
    pub version: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub authors: Vec<String>,
    pub params: BTreeMap<String, ParamSpec>,
    pub capabilities: BTreeMap<Capability, CapabilityRequest>,
    pub limits: LimitRequest,
    /// Where a translated plugin came from (`[source]`, written by `stratbox translate`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
}

/// Provenance of a translated plugin: the strategy definition it was generated from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Source {
    /// Definition id.
    pub definition: String,
    pub definition_version: String,
    /// SHA-256 of the definition text that was translated.
    pub definition_sha256: String,
    pub family: String,
    /// The translator that generated the plugin.
    pub translator: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    plugin: RawPlugin,
    #[serde(default)]
    source: Option<Source>,
    #[serde(default)]
    params: BTreeMap<String, params::RawParam>,
    #[serde(default)]
    capabilities: BTreeMap<String, CapabilityRequest>,
    #[serde(default)]
    limits: LimitRequest,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlugin {
    name: String,
    version: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    authors: Vec<String>,
}

/// Whether `s` is a valid plugin name: lowercase letters, digits and `-`, starting with a
/// letter, at most 64 bytes.
#[must_use]
pub fn valid_name(s: &str) -> bool {
    let mut chars = s.chars();
    s.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

impl Manifest {
    /// Parses and validates manifest text; every problem is reported with where it is.
    pub fn parse(text: &str) -> Result<Self, Problems> {
        let mut problems = Problems::default();
        if text.len() > MAX_MANIFEST_BYTES {
            problems.push(
                "manifest",
                format!(
                    "{} bytes is over the {MAX_MANIFEST_BYTES}-byte limit",
                    text.len()
                ),
            );
            return Err(problems);
        }
        let raw: RawManifest = match toml::from_str(text) {
            Ok(raw) => raw,
            Err(e) => {
                problems.push_toml_error(&e, text);
                return Err(problems);
            }
        };
        if !valid_name(&raw.plugin.name) {
            problems.push(
                "plugin.name",
                format!(
                    "`{}` is not a valid name (lowercase letters, digits and `-`, starting with a letter, at most 64)",
                    raw.plugin.name
                ),
            );
        }
        if let Err(e) = semver::Version::parse(&raw.plugin.version) {
            problems.push(
                "plugin.version",
                format!("`{}` is not a semantic version: {e}", raw.plugin.version),
            );
        }
        let mut params = BTreeMap::new();
        for (name, p) in raw.params {
            if let Some(spec) = ParamSpec::from_raw(&name, p, &mut problems) {
                params.insert(name, spec);
            }
        }
        let mut capabilities = BTreeMap::new();
        for (name, request) in raw.capabilities {
            let at = format!("capabilities.{name}");
            match name.parse::<Capability>() {
                Ok(cap) => {
                    if cap != Capability::Signals
                        && !(request.signal_types.is_empty() && request.source_models.is_empty())
                    {
                        problems.push(&at, "signal-types and source-models only apply to signals");
                    }
                    for t in &request.signal_types {
                        if !SIGNAL_TYPES.contains(&t.as_str()) {
                            problems.push(
                                &at,
                                format!(
                                    "unknown signal type `{t}` (expected one of {SIGNAL_TYPES:?})"
                                ),
                            );
                        }
                    }
                    capabilities.insert(cap, request);
                }
                Err(e) => problems.push(at, e),
            }
        }
        if let Some(src) = &raw.source {
            let hex = src.definition_sha256.len() == 64
                && src.definition_sha256.bytes().all(|b| b.is_ascii_hexdigit());
            if !hex {
                problems.push(
                    "source.definition-sha256",
                    "must be 64 hexadecimal digits (the SHA-256 of the definition)",
                );
            }
        }
        for (key, value) in raw.limits.entries() {
            if value == Some(0) {
                problems.push(format!("limits.{key}"), "must be greater than 0");
            }
        }
        problems.into_result()?;
        Ok(Self {
            name: raw.plugin.name,
            version: raw.plugin.version,
            description: raw.plugin.description,
            authors: raw.plugin.authors,
            params,
            capabilities,
            limits: raw.limits,
            source: raw.source,
        })
    }

    /// Whether the manifest requests `cap`.
    #[must_use]
    pub fn requests(&self, cap: Capability) -> bool {
        self.capabilities.contains_key(&cap)
    }

    /// Resolves parameters: defaults overridden by `(name, text)` pairs.
    pub fn resolve_params(
        &self,
        overrides: &[(String, String)],
    ) -> Result<Vec<(String, ParamValue)>, Problems> {
        resolve(&self.params, overrides)
    }
}

#[cfg(test)]
mod tests;
