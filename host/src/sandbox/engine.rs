//! The wasmtime engine every plugin runs on: one per host, configured once.
//!
//! Determinism and containment are engine settings: fuel metering (deterministic), epoch
//! interruption (wall-clock backstop), NaN canonicalisation, deterministic relaxed SIMD, no
//! threads, a bounded wasm stack. A background thread advances the epoch every `tick`.

use std::{
    sync::{Arc, mpsc},
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

struct Inner {
    engine: Engine,
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
        let engine = Engine::new(&config).map_err(|e| EngineError(format!("{e:#}")))?;

        let (stop, stopped) = mpsc::channel::<()>();
        let ticking = engine.clone();
        let tick = options.epoch_tick;
        let ticker = std::thread::Builder::new()
            .name("stratbox-epoch".into())
            .spawn(move || {
                // Ends when the sender is dropped (engine dropped).
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(tick) {
                    ticking.increment_epoch();
                }
            })
            .map_err(|e| EngineError(format!("cannot start the epoch thread: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                engine,
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
