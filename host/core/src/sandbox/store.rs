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
    /// Whether the component exports `indicator-events` (0.1.1), set once at
    /// instantiation, before `init`: indicators can only be registered if it does.
    fn set_indicator_events(&mut self, _exported: bool) {}
}

/// Enforces the memory and table caps on the whole instance: the cap on memory bounds the
/// sum of all its linear memories, the cap on tables the sum of all its tables' elements (a
/// component may hold several core instances, each with its own memory and tables). Growth
/// past a cap traps with a typed [`HostTrap`], so the fault is classified precisely and the
/// instance never holds more than the cap.
///
/// Wasmtime tells the limiter each growth as `(current, desired)` of one memory or table,
/// without saying which; the sum grows by `desired - current`. Wasm never shrinks a memory
/// or a table, so the sum only grows. A growth the limiter allowed but the memory itself
/// then could not make (the host out of address space) stays counted: the sum errs on the
/// side of the cap. A growth past the memory's or table's own declared maximum fails in
/// wasmtime after asking the limiter, so it is refused here (`Ok(false)`, the wasm
/// `memory.grow` answer -1) without being counted.
#[derive(Debug, Clone)]
pub struct Limiter {
    max_memory_bytes: usize,
    max_table_elements: usize,
    memory_bytes: usize,
    table_elements: usize,
    peak_memory_bytes: usize,
}

impl Limiter {
    #[must_use]
    pub fn new(max_memory_bytes: u64, max_table_elements: u64) -> Self {
        Self {
            max_memory_bytes: usize::try_from(max_memory_bytes).unwrap_or(usize::MAX),
            max_table_elements: usize::try_from(max_table_elements).unwrap_or(usize::MAX),
            memory_bytes: 0,
            table_elements: 0,
            peak_memory_bytes: 0,
        }
    }

    /// The most linear memory this instance ever held, all its memories together.
    #[must_use]
    pub fn peak_memory_bytes(&self) -> usize {
        self.peak_memory_bytes
    }

    /// Linear memory the instance holds now, all its memories together.
    #[must_use]
    pub fn memory_bytes(&self) -> usize {
        self.memory_bytes
    }

    /// Table elements the instance holds now, all its tables together.
    #[must_use]
    pub fn table_elements(&self) -> usize {
        self.table_elements
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if maximum.is_some_and(|max| desired > max) {
            return Ok(false);
        }
        let total = self
            .memory_bytes
            .saturating_add(desired.saturating_sub(current));
        if total > self.max_memory_bytes {
            return Err(wasmtime::Error::new(HostTrap::MemoryLimit {
                limit_bytes: self.max_memory_bytes as u64,
                requested_bytes: total as u64,
            }));
        }
        self.memory_bytes = total;
        self.peak_memory_bytes = self.peak_memory_bytes.max(total);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if maximum.is_some_and(|max| desired > max) {
            return Ok(false);
        }
        let total = self
            .table_elements
            .saturating_add(desired.saturating_sub(current));
        if total > self.max_table_elements {
            return Err(wasmtime::Error::new(HostTrap::TableLimit {
                limit: self.max_table_elements as u64,
                requested: total as u64,
            }));
        }
        self.table_elements = total;
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

#[cfg(test)]
mod tests {
    use wasmtime::{Engine, Instance, Module, Store};

    use super::{HostTrap, Limiter, ResourceLimiter};

    const MIB: usize = 1024 * 1024;

    #[test]
    fn the_memory_cap_bounds_the_sum_of_all_memories() {
        let mut l = Limiter::new(16 * MIB as u64, 100);
        assert!(l.memory_growing(0, 10 * MIB, None).unwrap(), "first memory");
        let err = l.memory_growing(0, 10 * MIB, None).unwrap_err();
        assert_eq!(
            err.downcast_ref::<HostTrap>(),
            Some(&HostTrap::MemoryLimit {
                limit_bytes: 16 * MIB as u64,
                requested_bytes: 20 * MIB as u64,
            })
        );
        assert!(l.memory_growing(0, 6 * MIB, None).unwrap(), "up to the cap");
        assert_eq!(
            (l.memory_bytes(), l.peak_memory_bytes()),
            (16 * MIB, 16 * MIB)
        );
        // Growing one memory counts only the growth.
        let mut l = Limiter::new(16 * MIB as u64, 100);
        assert!(l.memory_growing(0, 8 * MIB, None).unwrap());
        assert!(l.memory_growing(8 * MIB, 16 * MIB, None).unwrap());
        assert!(l.memory_growing(16 * MIB, 16 * MIB + 1, None).is_err());
        // Past the memory's own maximum: the wasm answer (-1), nothing counted.
        assert!(!l.memory_growing(0, 2 * MIB, Some(MIB)).unwrap());
        assert_eq!(l.memory_bytes(), 16 * MIB);
    }

    #[test]
    fn the_table_cap_bounds_the_sum_of_all_tables() {
        let mut l = Limiter::new(MIB as u64, 100);
        assert!(l.table_growing(0, 60, None).unwrap());
        let err = l.table_growing(0, 60, None).unwrap_err();
        assert_eq!(
            err.downcast_ref::<HostTrap>(),
            Some(&HostTrap::TableLimit {
                limit: 100,
                requested: 120
            })
        );
        assert!(l.table_growing(60, 100, None).unwrap());
        assert_eq!(l.table_elements(), 100);
    }

    fn store(engine: &Engine, memory: usize, tables: u64) -> Store<Limiter> {
        let mut store = Store::new(engine, Limiter::new(memory as u64, tables));
        store.limiter(|l| l);
        store
    }

    #[test]
    fn a_module_with_two_memories_is_held_to_one_cap() {
        // Two memories of 10 MiB (160 pages) each: either alone is under the 16 MiB cap.
        let engine = Engine::default();
        let two = Module::new(&engine, "(module (memory 160) (memory 160))").unwrap();
        let one = Module::new(&engine, "(module (memory 160))").unwrap();
        Instance::new(&mut store(&engine, 16 * MIB, 100), &one, &[]).unwrap();
        let err = Instance::new(&mut store(&engine, 16 * MIB, 100), &two, &[]).unwrap_err();
        assert!(
            matches!(
                err.downcast_ref::<HostTrap>(),
                Some(HostTrap::MemoryLimit { requested_bytes, .. }) if *requested_bytes == 20 * MIB as u64
            ),
            "{err:?}"
        );

        // Growth at run time: memory 1 grows while memory 0 already holds most of the cap.
        let grow = Module::new(
            &engine,
            r#"(module (memory 200) (memory $b 1)
                 (func (export "grow") (param i32) (result i32)
                   (memory.grow $b (local.get 0))))"#,
        )
        .unwrap();
        let mut s = store(&engine, 16 * MIB, 100);
        let i = Instance::new(&mut s, &grow, &[]).unwrap();
        let f = i.get_typed_func::<i32, i32>(&mut s, "grow").unwrap();
        assert_eq!(f.call(&mut s, 50).unwrap(), 1, "201 + 50 pages fit 256");
        let err = f.call(&mut s, 10).unwrap_err();
        assert!(
            matches!(
                err.downcast_ref::<HostTrap>(),
                Some(HostTrap::MemoryLimit { .. })
            ),
            "{err:?}"
        );
        assert_eq!(s.data().peak_memory_bytes(), 251 * 64 * 1024);
    }

    #[test]
    fn a_module_with_two_tables_is_held_to_one_cap() {
        let engine = Engine::default();
        let two = Module::new(&engine, "(module (table 60 funcref) (table 60 funcref))").unwrap();
        let err = Instance::new(&mut store(&engine, MIB, 100), &two, &[]).unwrap_err();
        assert!(
            matches!(
                err.downcast_ref::<HostTrap>(),
                Some(HostTrap::TableLimit {
                    requested: 120,
                    limit: 100
                })
            ),
            "{err:?}"
        );
    }
}
