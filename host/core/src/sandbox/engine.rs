//! The wasmtime engine every plugin runs on: one per host, configured once.
//!
//! Determinism and containment are engine settings: fuel metering (deterministic), epoch
//! interruption (wall-clock backstop), NaN canonicalisation, deterministic relaxed SIMD, no
//! threads, a bounded wasm stack. A background thread advances the epoch every `tick`.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
        mpsc,
    },
    thread::JoinHandle,
    time::Duration,
};

use wasmtime::{Config, Engine, OptLevel};

/// Engine settings that are fixed for the life of the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineOptions {
    /// Meter fuel. Production always does; the callback benchmark turns it off to measure
    /// what metering costs.
    pub fuel: bool,
    /// Epoch tick period: the resolution of the wall-clock deadline.
    pub epoch_tick: Duration,
    /// Bytes of native stack wasm may use; deeper recursion traps with a stack overflow.
    pub max_wasm_stack: usize,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            fuel: true,
            epoch_tick: Duration::from_millis(5),
            max_wasm_stack: 512 * 1024,
        }
    }
}

/// Why the engine could not be created.
#[derive(Debug, thiserror::Error)]
#[error("cannot configure the WebAssembly engine: {0}")]
pub struct EngineError(String);

/// Wall time as the epoch ticker last saw it.
///
/// Each callback records when it started so the epoch deadline can measure the guest's
/// wall time. Reading `Instant::now` for that costs a `clock_gettime` per callback (about
/// 25 ns, a tenth of a whole quote callback: docs/perf.md); the ticker thread already
/// wakes every tick, so it stores the time instead and a callback reads one atomic.
/// The price is precision: a start read this way is up to one tick early, which the
/// deadline callback takes back (decision 0002).
#[derive(Debug, Clone)]
pub struct TickClock {
    origin: std::time::Instant,
    last_tick_ns: Arc<AtomicU64>,
}

impl TickClock {
    fn new() -> Self {
        Self {
            origin: std::time::Instant::now(),
            last_tick_ns: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Nanoseconds since the engine started, as of the last tick (never later than now).
    #[must_use]
    pub fn last_tick_ns(&self) -> u64 {
        self.last_tick_ns.load(Ordering::Relaxed)
    }

    /// Nanoseconds since the engine started, now.
    #[must_use]
    pub fn now_ns(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn tick(&self) {
        self.last_tick_ns.store(self.now_ns(), Ordering::Relaxed);
    }
}

struct Inner {
    engine: Engine,
    clock: TickClock,
    options: EngineOptions,
    stop: Option<mpsc::Sender<()>>,
    ticker: Option<JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
    }
}

/// A configured wasmtime engine plus its epoch ticker. Cheap to clone.
#[derive(Clone)]
pub struct SandboxEngine {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SandboxEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxEngine")
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

impl SandboxEngine {
    /// Creates the engine and starts its epoch ticker.
    pub fn new(options: EngineOptions) -> Result<Self, EngineError> {
        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .consume_fuel(options.fuel)
            .epoch_interruption(true)
            .cranelift_nan_canonicalization(true)
            .relaxed_simd_deterministic(true)
            .max_wasm_stack(options.max_wasm_stack)
            .cranelift_opt_level(OptLevel::Speed);
        // `STRATBOX_WASM_PERFMAP=1` writes /tmp/perf-<pid>.map so `perf report` can name the
        // guest's JIT-compiled functions (docs/perf.md). Off by default: it writes a file.
        if std::env::var_os("STRATBOX_WASM_PERFMAP").is_some_and(|v| v == "1") {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = Engine::new(&config).map_err(|e| EngineError(format!("{e:#}")))?;

        let (stop, stopped) = mpsc::channel::<()>();
        let ticking = engine.clone();
        let clock = TickClock::new();
        let ticking_clock = clock.clone();
        let tick = options.epoch_tick;
        let ticker = std::thread::Builder::new()
            .name("stratbox-epoch".into())
            .spawn(move || {
                // Ends when the sender is dropped (engine dropped).
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(tick) {
                    ticking_clock.tick();
                    ticking.increment_epoch();
                }
            })
            .map_err(|e| EngineError(format!("cannot start the epoch thread: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                engine,
                clock,
                options,
                stop: Some(stop),
                ticker: Some(ticker),
            }),
        })
    }

    /// The wasmtime engine.
    #[must_use]
    pub fn wasmtime(&self) -> &Engine {
        &self.inner.engine
    }

    /// The ticker's clock (callback start times).
    #[must_use]
    pub fn clock(&self) -> &TickClock {
        &self.inner.clock
    }

    /// The options the engine was built with.
    #[must_use]
    pub fn options(&self) -> EngineOptions {
        self.inner.options
    }

    /// Epoch ticks that cover `ms` milliseconds, rounded up, plus one for the tick already
    /// in progress when a callback starts.
    #[must_use]
    pub fn deadline_ticks(&self, ms: u64) -> u64 {
        let tick_ms = u64::try_from(self.inner.options.epoch_tick.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        ms.div_ceil(tick_ms).saturating_add(1)
    }
}
