//! Plugin faults: typed, classified from wasmtime's typed errors (never from message text).

use std::fmt;

use serde::Serialize;
use wasmtime::Trap;

/// A deliberate trap raised by host code, carried inside the wasmtime error so it can be
/// classified by type. Capability units return these from trappable imports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostTrap {
    /// The guest broke the contract (e.g. a string over the size cap).
    #[error("contract violation: {0}")]
    ContractViolation(String),
    /// The guest called a capability it is not (or no longer) granted.
    #[error("capability `{capability}` is not granted (called {function})")]
    CapabilityDenied {
        capability: String,
        function: String,
    },
    /// The guest tried to grow its memory past its cap.
    #[error(
        "memory limit: wanted {requested_bytes} bytes in all linear memories together, cap is {limit_bytes}"
    )]
    MemoryLimit {
        limit_bytes: u64,
        requested_bytes: u64,
    },
    /// The guest tried to grow a table past its cap.
    #[error("table limit: wanted {requested} elements in all tables together, cap is {limit}")]
    TableLimit { limit: u64, requested: u64 },
}

/// A wasm trap other than the ones with their own [`PluginFault`] variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TrapKind {
    Unreachable,
    MemoryOutOfBounds,
    TableOutOfBounds,
    IndirectCallToNull,
    BadSignature,
    IntegerOverflow,
    IntegerDivisionByZero,
    BadConversionToInteger,
    /// A string, list or variant the guest handed over was malformed (out of bounds,
    /// misaligned, invalid discriminant or char).
    InvalidValue,
    /// Anything else wasmtime classifies as a trap.
    Other,
}

impl TrapKind {
    fn of(trap: Trap) -> Self {
        match trap {
            Trap::UnreachableCodeReached => Self::Unreachable,
            Trap::MemoryOutOfBounds | Trap::HeapMisaligned => Self::MemoryOutOfBounds,
            Trap::TableOutOfBounds => Self::TableOutOfBounds,
            Trap::IndirectCallToNull => Self::IndirectCallToNull,
            Trap::BadSignature => Self::BadSignature,
            Trap::IntegerOverflow => Self::IntegerOverflow,
            Trap::IntegerDivisionByZero => Self::IntegerDivisionByZero,
            Trap::BadConversionToInteger => Self::BadConversionToInteger,
            Trap::StringOutOfBounds
            | Trap::ListOutOfBounds
            | Trap::InvalidDiscriminant
            | Trap::UnalignedPointer
            | Trap::InvalidChar => Self::InvalidValue,
            _ => Self::Other,
        }
    }
}

/// Why an instance was quarantined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum PluginFault {
    /// The callback used its whole fuel budget.
    OutOfFuel { budget: u64 },
    /// The callback ran past its wall-clock deadline (epoch interruption).
    Deadline { deadline_ms: u64 },
    /// The guest tried to grow its memory past the cap.
    MemoryLimit {
        limit_bytes: u64,
        requested_bytes: u64,
    },
    /// The guest tried to grow a table past the cap.
    TableLimit { limit: u64, requested: u64 },
    /// The wasm call stack was exhausted.
    StackOverflow,
    /// The guest panicked (its SDK reported the message before aborting).
    Panic { message: String },
    /// Any other wasm trap.
    Trap { trap: TrapKind, detail: String },
    /// The guest broke the contract (e.g. a 10 MB string where 64 KiB is the cap).
    ContractViolation { detail: String },
    /// The guest called a capability it is not (or no longer) granted.
    CapabilityDenied {
        capability: String,
        function: String,
    },
    /// A host-side failure during the call (not attributable to a trap); the instance is
    /// quarantined because its state can no longer be trusted.
    Host { detail: String },
}

impl PluginFault {
    /// Stable short name (`out-of-fuel`, `panic`, ...), used in reports and metrics.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::OutOfFuel { .. } => "out-of-fuel",
            Self::Deadline { .. } => "deadline",
            Self::MemoryLimit { .. } => "memory-limit",
            Self::TableLimit { .. } => "table-limit",
            Self::StackOverflow => "stack-overflow",
            Self::Panic { .. } => "panic",
            Self::Trap { .. } => "trap",
            Self::ContractViolation { .. } => "contract-violation",
            Self::CapabilityDenied { .. } => "capability-denied",
            Self::Host { .. } => "host",
        }
    }

    /// Classifies the error a guest call returned. `budget` and `deadline_ms` are the limits
    /// in force; `panic_message` is what the guest reported through `panic-message` during
    /// this callback, if anything.
    #[must_use]
    pub fn classify(
        err: &wasmtime::Error,
        budget: u64,
        deadline_ms: u64,
        panic_message: Option<String>,
    ) -> Self {
        if let Some(host) = err.downcast_ref::<HostTrap>() {
            return match host.clone() {
                HostTrap::ContractViolation(detail) => Self::ContractViolation { detail },
                HostTrap::CapabilityDenied {
                    capability,
                    function,
                } => Self::CapabilityDenied {
                    capability,
                    function,
                },
                HostTrap::MemoryLimit {
                    limit_bytes,
                    requested_bytes,
                } => Self::MemoryLimit {
                    limit_bytes,
                    requested_bytes,
                },
                HostTrap::TableLimit { limit, requested } => Self::TableLimit { limit, requested },
            };
        }
        let Some(trap) = err.downcast_ref::<Trap>().copied() else {
            return Self::Host {
                detail: format!("{err:#}"),
            };
        };
        match trap {
            Trap::OutOfFuel => Self::OutOfFuel { budget },
            Trap::Interrupt => Self::Deadline { deadline_ms },
            Trap::StackOverflow => Self::StackOverflow,
            Trap::UnreachableCodeReached if panic_message.is_some() => Self::Panic {
                message: panic_message.unwrap_or_default(),
            },
            other => Self::Trap {
                trap: TrapKind::of(other),
                detail: other.to_string(),
            },
        }
    }
}

impl fmt::Display for PluginFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OutOfFuel { budget } => write!(
                f,
                "exceeded its fuel budget ({budget}); raise limits.fuel_per_callback in stratbox.toml or fix the loop"
            ),
            Self::Deadline { deadline_ms } => write!(
                f,
                "ran past its {deadline_ms} ms deadline; raise limits.epoch_deadline_ms or make the callback return sooner"
            ),
            Self::MemoryLimit {
                limit_bytes,
                requested_bytes,
            } => write!(
                f,
                "tried to grow its memory to {requested_bytes} bytes (all linear memories together), over its {limit_bytes}-byte cap; raise limits.max_memory_bytes or allocate less"
            ),
            Self::TableLimit { limit, requested } => {
                write!(
                    f,
                    "tried to grow its tables to {requested} elements (all tables together), over its cap of {limit}"
                )
            }
            Self::StackOverflow => write!(f, "overflowed the wasm stack (unbounded recursion?)"),
            Self::Panic { message } => write!(f, "panicked: {message}"),
            Self::Trap { trap, detail } => write!(f, "trapped ({trap:?}): {detail}"),
            Self::ContractViolation { detail } => write!(f, "broke the plugin contract: {detail}"),
            Self::CapabilityDenied {
                capability,
                function,
            } => {
                write!(
                    f,
                    "called {function} but capability `{capability}` is not granted"
                )
            }
            Self::Host { detail } => write!(f, "host error during the call: {detail}"),
        }
    }
}

/// A fault with everything needed to understand it later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FaultRecord {
    pub plugin: String,
    pub sha256: String,
    /// The export that faulted (`on-bar`, `init`, ...).
    pub callback: &'static str,
    /// Event time of the callback (ns), when it had one.
    pub event_ts: Option<u64>,
    /// Fuel consumed by the faulting callback.
    pub fuel_used: u64,
    pub fault: PluginFault,
}

impl FaultRecord {
    /// A host-side failure attributed to `plugin` (see [`PluginFault::Host`]).
    #[must_use]
    pub fn host(plugin: &str, sha256: &str, callback: &'static str, detail: String) -> Self {
        Self {
            plugin: plugin.to_string(),
            sha256: sha256.to_string(),
            callback,
            event_ts: None,
            fuel_used: 0,
            fault: PluginFault::Host { detail },
        }
    }
}

impl fmt::Display for FaultRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let short = self.sha256.get(..12).unwrap_or(&self.sha256);
        write!(
            f,
            "plugin '{}' (sha256 {short}…) {} in {}",
            self.plugin, self.fault, self.callback
        )?;
        if let Some(ts) = self.event_ts {
            write!(f, " at {}", crate::time::format_ns(ts))?;
        }
        write!(f, "; quarantined")
    }
}
