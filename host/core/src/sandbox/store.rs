//! What a plugin's wasmtime `Store` holds: the memory/table limiter and the host state `S`
//! provided by the capability layer.

use wasmtime::ResourceLimiter;

use super::fault::HostTrap;

/// The export being called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Callback {
    Init,
    OnStart,
    OnBar,
    OnQuote,
    OnTrade,
    OnSignal,
    OnOrderEvent,
    OnStop,
    Snapshot,
    Restore,
}

impl Callback {
    /// The WIT name of the export.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Init => "init",
            Self::OnStart => "on-start",
            Self::OnBar => "on-bar",
            Self::OnQuote => "on-quote",
            Self::OnTrade => "on-trade",
            Self::OnSignal => "on-signal",
            Self::OnOrderEvent => "on-order-event",
            Self::OnStop => "on-stop",
            Self::Snapshot => "snapshot",
            Self::Restore => "restore",
        }
    }
}

/// Per-instance host state, supplied by the capability layer. The sandbox only needs these
/// hooks; it knows nothing of what the capabilities do.
pub trait HostState: Send + 'static {
    /// Called before every callback: reset per-callback counters, note the event time.
    fn begin_callback(&mut self, callback: Callback, event_ts: Option<u64>);
    /// The panic message the guest reported during the current callback, if any.
    fn take_panic_message(&mut self) -> Option<String>;
}

/// Enforces the memory and table caps. Growth past a cap traps with a typed
/// [`HostTrap`], so the fault is classified precisely and the memory never exceeds the cap.
#[derive(Debug, Clone)]
pub struct Limiter {
    max_memory_bytes: usize,
    max_table_elements: usize,
    peak_memory_bytes: usize,
}

impl Limiter {
    #[must_use]
    pub fn new(max_memory_bytes: u64, max_table_elements: u64) -> Self {
        Self {
            max_memory_bytes: usize::try_from(max_memory_bytes).unwrap_or(usize::MAX),
            max_table_elements: usize::try_from(max_table_elements).unwrap_or(usize::MAX),
            peak_memory_bytes: 0,
        }
    }

    /// The largest linear memory size ever granted to this instance.
    #[must_use]
    pub fn peak_memory_bytes(&self) -> usize {
        self.peak_memory_bytes
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory_bytes {
            return Err(wasmtime::Error::new(HostTrap::MemoryLimit {
                limit_bytes: self.max_memory_bytes as u64,
                requested_bytes: desired as u64,
            }));
        }
        self.peak_memory_bytes = self.peak_memory_bytes.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_table_elements {
            return Err(wasmtime::Error::new(HostTrap::TableLimit {
                limit: self.max_table_elements as u64,
                requested: desired as u64,
            }));
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        // A strategy component holds a handful of core instances (module, shims, adapters).
        32
    }

    fn memories(&self) -> usize {
        4
    }

    fn tables(&self) -> usize {
        8
    }
}

/// The data of a plugin's `Store`.
#[derive(Debug)]
pub struct StoreData<S> {
    pub(crate) limiter: Limiter,
    /// When the running callback started (the engine's [`super::engine::TickClock`], up
    /// to one tick early), and the thread's audit-blocked time then (see the epoch
    /// deadline callback in `instance.rs`).
    pub(crate) call_start: Option<(u64, u64)>,
    /// The capability layer's per-instance state.
    pub host: S,
}
