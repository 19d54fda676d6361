//! Loading a plugin component: structural analysis (never panics on malformed bytes),
//! world / import / grant checks, the embedded manifest, limits, and compilation.
//!
//! Every reason to refuse is collected, so `stratbox inspect` and load errors list them all.

use std::collections::BTreeSet;

use serde::Serialize;
use sha2::{Digest, Sha256};
use stratbox_manifest::{Capability, Manifest, SECTION};
use wasmparser::{Encoding, Parser, Payload, Validator, WasmFeatures};
use wasmtime::component::Component;

use super::{SandboxEngine, limits::Limits};

/// The WIT package every plugin must target.
pub const WORLD_PACKAGE: &str = "stratbox:strategy";
/// The world plugins implement.
pub const WORLD_NAME: &str = "strategy-plugin";
/// The package version this host implements. Plugins built against any 0.1.x load (0.1.0
/// components, without `indicator-events`, unchanged); the typed check at instantiation
/// catches a function this host does not provide.
pub const WORLD_VERSION: &str = "0.1.1";
/// The interface a plugin must export.
pub const EXPORT_INTERFACE: &str = "strategy";
/// Interfaces that carry no authority: always linked, never need a grant.
pub const NO_AUTHORITY_INTERFACES: [&str; 2] = ["types", "diagnostics"];
/// Largest component accepted.
pub const MAX_COMPONENT_BYTES: usize = 64 * 1024 * 1024;

/// Why a component is refused (a fixed list; each refusal also has a message).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RefusalCode {
    /// Not a valid WebAssembly binary.
    Malformed,
    /// A core module, not a component.
    NotAComponent,
    TooLarge,
    /// No `stratbox:manifest` custom section.
    NoManifest,
    InvalidManifest,
    /// Imports something that is not part of the stratbox world (e.g. WASI).
    ImportOutsideWorld,
    /// Imports a stratbox capability that is not granted.
    ImportNotGranted,
    /// Targets a stratbox package version this host does not implement.
    IncompatibleVersion,
    /// Does not export the `strategy` interface.
    MissingExport,
    /// Asks for limits above the host ceilings.
    LimitsAboveCeiling,
    /// Valid wasm that wasmtime could not compile.
    CompileFailed,
    /// Exports or imports with the right names but the wrong types.
    TypeMismatch,
}

/// One reason to refuse a component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub code: RefusalCode,
    pub message: String,
}

/// What the host makes of one import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImportStatus {
    /// A granted capability.
    Granted,
    /// Part of the world but carries no authority (`types`, `diagnostics`).
    NoAuthority,
    /// A capability the plugin is not granted.
    NotGranted,
    /// Not part of the stratbox world.
    OutsideWorld,
    /// A stratbox interface of an unsupported version.
    IncompatibleVersion,
}

/// One top-level import of the component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportInfo {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capability: Option<Capability>,
    pub status: ImportStatus,
}

/// What the host grants, and the limits it allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadPolicy {
    /// Capabilities the operator grants; `None` grants whatever the manifest requests.
    /// The effective grant is always the intersection with the manifest's requests.
    pub grant: Option<BTreeSet<Capability>>,
    pub default_limits: Limits,
    pub ceiling: Limits,
}

impl Default for LoadPolicy {
    fn default() -> Self {
        Self {
            grant: None,
            default_limits: Limits::DEFAULT,
            ceiling: Limits::CEILING,
        }
    }
}

/// Everything the host knows about a component, and whether it would run it.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    pub sha256: String,
    pub size: usize,
    /// `stratbox:strategy/strategy-plugin@0.1.1` (or the 0.1.x the component was built against) when the component targets the world.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub world: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<Manifest>,
    pub imports: Vec<ImportInfo>,
    pub exports: Vec<String>,
    /// Capabilities the plugin would hold (requested ∩ granted).
    pub granted: BTreeSet<Capability>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limits: Option<Limits>,
    pub accepted: bool,
    pub refusals: Vec<Refusal>,
}

impl Inspection {
    fn refuse(&mut self, code: RefusalCode, message: impl Into<String>) {
        self.accepted = false;
        self.refusals.push(Refusal {
            code,
            message: message.into(),
        });
    }

    /// The refusals as lines, for error messages.
    #[must_use]
    pub fn refusal_text(&self) -> String {
        self.refusals
            .iter()
            .map(|r| format!("  - {}", r.message))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Hex sha256 of `bytes`.
#[must_use]
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `namespace:package/interface@version` split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
struct InterfaceName<'a> {
    package: &'a str,
    interface: &'a str,
    version: Option<&'a str>,
}

fn parse_interface_name(name: &str) -> Option<InterfaceName<'_>> {
    let (path, version) = match name.split_once('@') {
        Some((p, v)) => (p, Some(v)),
        None => (name, None),
    };
    let (package, interface) = path.split_once('/')?;
    package.contains(':').then_some(InterfaceName {
        package,
        interface,
        version,
    })
}

/// Whether `version` is one this host implements (0.1.x, i.e. semver-compatible with 0.1.0).
fn version_supported(version: &str) -> bool {
    match (
        semver::Version::parse(version),
        semver::Version::parse(WORLD_VERSION),
    ) {
        (Ok(v), Ok(ours)) => v.major == ours.major && v.minor == ours.minor && v.pre.is_empty(),
        _ => false,
    }
}

/// Structure read straight from the bytes.
struct Structure {
    imports: Vec<String>,
    exports: Vec<String>,
    manifest: Option<Result<String, String>>,
}

/// Reads top-level imports, exports and the manifest section. Errors are messages for a
/// `Malformed` / `NotAComponent` refusal.
fn read_structure(bytes: &[u8]) -> Result<Structure, (RefusalCode, String)> {
    let mut s = Structure {
        imports: Vec::new(),
        exports: Vec::new(),
        manifest: None,
    };
    if !bytes.starts_with(b"\0asm") {
        return Err((
            RefusalCode::Malformed,
            "not a WebAssembly file: it does not start with the `\\0asm` magic bytes".to_string(),
        ));
    }
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| {
            (
                RefusalCode::Malformed,
                format!(
                    "not valid WebAssembly: {} (at byte {:#x})",
                    e.message(),
                    e.offset()
                ),
            )
        })?;
        match payload {
            Payload::Version { encoding, .. } => {
                if depth == 0 && encoding == Encoding::Module {
                    return Err((
                        RefusalCode::NotAComponent,
                        "this is a core wasm module, not a component; build plugins with `cargo xtask plugins`"
                            .to_string(),
                    ));
                }
                depth += 1;
            }
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(reader) if depth == 1 => {
                for import in reader {
                    let import = import.map_err(|e| {
                        (RefusalCode::Malformed, format!("bad import section: {e}"))
                    })?;
                    s.imports.push(import.name.name.to_string());
                }
            }
            Payload::ComponentExportSection(reader) if depth == 1 => {
                for export in reader {
                    let export = export.map_err(|e| {
                        (RefusalCode::Malformed, format!("bad export section: {e}"))
                    })?;
                    s.exports.push(export.name.name.to_string());
                }
            }
            Payload::CustomSection(c) if depth == 1 && c.name() == SECTION => {
                if s.manifest.is_some() {
                    s.manifest = Some(Err(format!("more than one `{SECTION}` custom section")));
                } else {
                    s.manifest = Some(
                        String::from_utf8(c.data().to_vec())
                            .map_err(|_| format!("the `{SECTION}` section is not UTF-8")),
                    );
                }
            }
            _ => {}
        }
    }
    Ok(s)
}

fn features() -> WasmFeatures {
    // What the engine accepts: the stable wasm features plus the component model. No
    // threads, no GC, no exceptions, no async component model.
    let mut f = WasmFeatures::WASM2 | WasmFeatures::COMPONENT_MODEL;
    f.remove(WasmFeatures::THREADS);
    f
}

/// Inspects `bytes` without compiling: sha256, structure, world, imports against the grant,
/// manifest, limits. `accepted` here means "passes every static check".
#[must_use]
pub fn inspect_static(bytes: &[u8], policy: &LoadPolicy) -> Inspection {
    let mut insp = Inspection {
        sha256: sha256_hex(bytes),
        size: bytes.len(),
        world: None,
        manifest: None,
        imports: Vec::new(),
        exports: Vec::new(),
        granted: BTreeSet::new(),
        limits: None,
        accepted: true,
        refusals: Vec::new(),
    };
    if bytes.len() > MAX_COMPONENT_BYTES {
        insp.refuse(
            RefusalCode::TooLarge,
            format!(
                "{} bytes is over the {MAX_COMPONENT_BYTES}-byte limit",
                bytes.len()
            ),
        );
        return insp;
    }
    let structure = match read_structure(bytes) {
        Ok(s) => s,
        Err((code, message)) => {
            insp.refuse(code, message);
            return insp;
        }
    };
    if let Err(e) = Validator::new_with_features(features()).validate_all(bytes) {
        insp.refuse(
            RefusalCode::Malformed,
            format!(
                "the component does not validate: {} (at byte {:#x})",
                e.message(),
                e.offset()
            ),
        );
    }
    insp.exports.clone_from(&structure.exports);

    // Manifest and limits.
    match structure.manifest {
        None => insp.refuse(
            RefusalCode::NoManifest,
            format!("no `{SECTION}` section: the component was not built by `cargo xtask plugins` from a folder with a stratbox.toml"),
        ),
        Some(Err(message)) => insp.refuse(RefusalCode::InvalidManifest, message),
        Some(Ok(text)) => match Manifest::parse(&text) {
            Ok(m) => {
                match Limits::resolve(&m.limits, &policy.default_limits, &policy.ceiling) {
                    Ok(l) => insp.limits = Some(l),
                    Err(problems) => {
                        for p in problems.0 {
                            insp.refuse(RefusalCode::LimitsAboveCeiling, format!("manifest {}: {}", p.at, p.message));
                        }
                    }
                }
                insp.manifest = Some(m);
            }
            Err(problems) => {
                for p in problems.0 {
                    insp.refuse(RefusalCode::InvalidManifest, format!("manifest {}: {}", p.at, p.message));
                }
            }
        },
    }

    // The effective grant: requested by the manifest and allowed by the operator.
    let requested: BTreeSet<Capability> = insp
        .manifest
        .as_ref()
        .map(|m| m.capabilities.keys().copied().collect())
        .unwrap_or_default();
    insp.granted = match &policy.grant {
        Some(g) => requested.intersection(g).copied().collect(),
        None => requested.clone(),
    };

    // Exports: the world's `strategy` interface.
    let export = structure.exports.iter().find_map(|e| {
        parse_interface_name(e)
            .filter(|n| n.package == WORLD_PACKAGE && n.interface == EXPORT_INTERFACE)
    });
    match export {
        Some(InterfaceName { version: Some(v), .. }) if version_supported(v) => {
            insp.world = Some(format!("{WORLD_PACKAGE}/{WORLD_NAME}@{v}"));
        }
        Some(n) => insp.refuse(
            RefusalCode::IncompatibleVersion,
            format!(
                "exports {WORLD_PACKAGE}/{EXPORT_INTERFACE}@{} but this host implements {WORLD_VERSION}; rebuild against this stratbox SDK",
                n.version.unwrap_or("(no version)")
            ),
        ),
        None => insp.refuse(
            RefusalCode::MissingExport,
            format!("does not export {WORLD_PACKAGE}/{EXPORT_INTERFACE}@{WORLD_VERSION}; is it built with the stratbox SDK (export_strategy!)?"),
        ),
    }

    // Imports: each one inside the world, of a supported version, and granted.
    for name in &structure.imports {
        let parsed = parse_interface_name(name);
        let (status, capability) = match parsed {
            Some(n) if n.package == WORLD_PACKAGE => {
                let cap = Capability::from_interface(n.interface);
                if !n.version.is_some_and(version_supported) {
                    (ImportStatus::IncompatibleVersion, cap)
                } else if NO_AUTHORITY_INTERFACES.contains(&n.interface) {
                    (ImportStatus::NoAuthority, None)
                } else if let Some(cap) = cap {
                    let status = if insp.granted.contains(&cap) {
                        ImportStatus::Granted
                    } else {
                        ImportStatus::NotGranted
                    };
                    (status, Some(cap))
                } else {
                    (ImportStatus::OutsideWorld, None)
                }
            }
            _ => (ImportStatus::OutsideWorld, None),
        };
        match status {
            ImportStatus::OutsideWorld => insp.refuse(
                RefusalCode::ImportOutsideWorld,
                format!(
                    "imports `{name}`, which is not part of the {WORLD_PACKAGE} world; the host links no WASI and nothing but market-data, signals, risk-gate and diagnostics"
                ),
            ),
            ImportStatus::IncompatibleVersion => insp.refuse(
                RefusalCode::IncompatibleVersion,
                format!("imports `{name}` but this host implements {WORLD_PACKAGE}@{WORLD_VERSION}"),
            ),
            ImportStatus::NotGranted => {
                let cap = capability.map(|c| c.to_string()).unwrap_or_default();
                let why = if capability.is_some_and(|c| requested.contains(&c)) {
                    "the operator's grant does not include it".to_string()
                } else {
                    format!("its manifest does not request it (add `{cap} = {{}}` under [capabilities] in stratbox.toml)")
                };
                insp.refuse(
                    RefusalCode::ImportNotGranted,
                    format!("imports `{name}` (capability {cap}) but {why}"),
                );
            }
            ImportStatus::Granted | ImportStatus::NoAuthority => {}
        }
        insp.imports.push(ImportInfo {
            name: name.clone(),
            capability,
            status,
        });
    }
    insp
}

/// A compiled component that passed every static check.
#[derive(Clone)]
pub struct PluginComponent {
    pub(crate) component: Component,
    inspection: Inspection,
    manifest: Manifest,
    limits: Limits,
}

impl std::fmt::Debug for PluginComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginComponent")
            .field("name", &self.manifest.name)
            .field("sha256", &self.inspection.sha256)
            .finish_non_exhaustive()
    }
}

/// A component the host will not run, with every reason.
#[derive(Debug, Clone, thiserror::Error)]
#[error("component refused:\n{}", .0.refusal_text())]
pub struct Refused(pub Box<Inspection>);

impl PluginComponent {
    /// Checks and compiles `bytes`. Malformed input is an error, never a panic.
    pub fn load(
        engine: &SandboxEngine,
        bytes: &[u8],
        policy: &LoadPolicy,
    ) -> Result<Self, Refused> {
        let mut inspection = inspect_static(bytes, policy);
        if !inspection.accepted {
            return Err(Refused(Box::new(inspection)));
        }
        let component = match Component::new(engine.wasmtime(), bytes) {
            Ok(c) => c,
            Err(e) => {
                inspection.refuse(
                    RefusalCode::CompileFailed,
                    format!("wasmtime cannot compile it: {e:#}"),
                );
                return Err(Refused(Box::new(inspection)));
            }
        };
        let (Some(manifest), Some(limits)) = (inspection.manifest.clone(), inspection.limits)
        else {
            // inspect_static only accepts components with a manifest and limits.
            inspection.refuse(RefusalCode::NoManifest, "no usable manifest");
            return Err(Refused(Box::new(inspection)));
        };
        Ok(Self {
            component,
            inspection,
            manifest,
            limits,
        })
    }

    /// Records a refusal found after compilation (e.g. a type mismatch at link time).
    pub(crate) fn refused(&self, code: RefusalCode, message: String) -> Refused {
        let mut inspection = self.inspection.clone();
        inspection.refuse(code, message);
        Refused(Box::new(inspection))
    }

    #[must_use]
    pub fn inspection(&self) -> &Inspection {
        &self.inspection
    }

    #[must_use]
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    #[must_use]
    pub fn limits(&self) -> Limits {
        self.limits
    }

    #[must_use]
    pub fn sha256(&self) -> &str {
        &self.inspection.sha256
    }

    /// Capabilities the plugin holds (requested ∩ granted).
    #[must_use]
    pub fn granted(&self) -> &BTreeSet<Capability> {
        &self.inspection.granted
    }

    /// This component under a reviewed grant: it holds only the capabilities in `scopes`
    /// (each narrowed to that scope) and runs within `limits`. The caller has already
    /// intersected `scopes` with the manifest's requests and `limits` with its own.
    #[must_use]
    pub fn narrowed(
        &self,
        scopes: std::collections::BTreeMap<Capability, stratbox_manifest::CapabilityRequest>,
        limits: Limits,
    ) -> Self {
        let mut c = self.clone();
        c.inspection.granted = self
            .inspection
            .granted
            .iter()
            .copied()
            .filter(|cap| scopes.contains_key(cap))
            .collect();
        c.manifest.capabilities = scopes;
        c.limits = limits;
        c.inspection.limits = Some(limits);
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names() {
        let n = parse_interface_name("stratbox:strategy/market-data@0.1.0").unwrap();
        assert_eq!(
            (n.package, n.interface, n.version),
            ("stratbox:strategy", "market-data", Some("0.1.0"))
        );
        assert_eq!(parse_interface_name("on-bar"), None);
        assert!(version_supported("0.1.0") && version_supported("0.1.7"));
        assert!(
            !version_supported("0.2.0")
                && !version_supported("1.1.0")
                && !version_supported("0.1.0-rc1")
        );
    }

    #[test]
    fn garbage_is_refused_not_panicked_on() {
        for bytes in [
            &b""[..],
            b"\0asm",
            b"hello world",
            &[0, 97, 115, 109, 1, 0, 0, 0],
        ] {
            let i = inspect_static(bytes, &LoadPolicy::default());
            assert!(!i.accepted);
            assert!(
                matches!(
                    i.refusals[0].code,
                    RefusalCode::Malformed | RefusalCode::NotAComponent
                ),
                "{:?}",
                i.refusals
            );
        }
    }
}
