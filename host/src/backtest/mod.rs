//! Backtests: strategy components (and, as baselines, native Nautilus strategies) trading
//! inside Nautilus's own `BacktestEngine` on a simulated venue.
//!
//! Each component gets its own sandbox and its own Nautilus strategy id; its orders go
//! through its risk gate, then Nautilus's `RiskEngine` (bypass off), then the simulated
//! exchange. Data is fed in chunks through Nautilus's streaming mode so progress can be
//! reported; decisions do not depend on the chunk size.

pub mod data;
pub mod entries;
pub mod history;
pub mod native;
pub mod report;
pub mod report_html;

use std::sync::Arc;

use nautilus_backtest::{
    config::{BacktestEngineConfig, SimulatedVenueConfig},
    engine::BacktestEngine,
};
use nautilus_model::{
    data::{Data, HasTsInit},
    enums::{AccountType, BookType, OmsType},
    identifiers::{InstrumentId, StrategyId},
    instruments::{Instrument, InstrumentAny},
    types::{Money, Quantity},
};
use stratbox_manifest::ParamValue;

pub use self::report::BacktestReport;
use crate::{
    audit::AuditLog,
    capabilities::risk_gate::RiskHub,
    catalog::InstrumentTable,
    sandbox::{InstantiateError, PluginComponent, SandboxEngine},
};

/// Events per streaming chunk (progress granularity), at most. With the account-history
/// purge on, the runner shrinks chunks while many fills arrive (see [`next_chunk`]).
pub const DEFAULT_CHUNK: usize = 8_192;

/// The smallest chunk the runner shrinks to.
pub const MIN_CHUNK: usize = 512;

/// The size of the next chunk, given how many account states the last one recorded.
///
/// A fill copies the account's history back to the last purge, so a chunk with many fills
/// is quadratic in its length; but each chunk also costs `BacktestEngine::run` a fixed
/// ~0.2 ms. Measured on GBP/USD (docs/perf.md): with 6,795 fills over 120,468 quotes,
/// 8,192-event chunks run at 6.4 µs/event, 2,048 at 4.2, 512 at 4.4, 128 at 5.5; with 59
/// fills, 2,048-event chunks cost 0.1 µs/event more than 8,192. So: halve while a chunk
/// records more than 128 states, double (up to `max`) while it records fewer than 32.
/// Results do not depend on chunk sizes (`backtest_parity` checks it).
#[must_use]
pub fn next_chunk(current: usize, states_recorded: usize, max: usize) -> usize {
    if states_recorded > 128 {
        (current / 2).max(MIN_CHUNK.min(max))
    } else if states_recorded < 32 {
        current.saturating_mul(2).min(max)
    } else {
        current
    }
}

/// A strategy to put in the backtest.
#[derive(Debug)]
pub enum StrategySpec<'a> {
    /// A sandboxed component with its resolved parameters.
    Component {
        component: &'a PluginComponent,
        params: Vec<(String, ParamValue)>,
    },
    /// Nautilus's native Rust EMA-cross example (the parity and speed baseline).
    NativeEmaCross {
        instrument_id: InstrumentId,
        trade_size: Quantity,
        fast_period: usize,
        slow_period: usize,
    },
    /// The native twin of the `ema-atr-filter` component (same decision core).
    NativeLight {
        instrument_id: InstrumentId,
        trade_size: Quantity,
        config: native::light_core::LightConfig,
    },
}

/// Everything a run needs.
#[derive(Debug)]
pub struct BacktestSpec<'a> {
    pub instruments: Vec<InstrumentAny>,
    /// The same instruments as the contract sees them.
    pub table: Arc<InstrumentTable>,
    /// Market data, sorted by `ts_init` (stable).
    pub data: Vec<Data>,
    /// Starting balances per venue account.
    pub balances: Vec<Money>,
    pub strategies: Vec<StrategySpec<'a>>,
    pub chunk: usize,
    /// Measure wall time spent in each guest (costs two clock reads per callback).
    pub timing: bool,
    /// Risk policy, trading states and audit trail every component's gate answers to.
    pub risk: Arc<RiskHub>,
    /// Validated signals, fed to Nautilus as custom data; plugins receive those their grant
    /// and subscriptions allow.
    pub signals: SignalInput,
    /// Move the account's state history out of Nautilus's cache after each chunk (see
    /// [`history::AccountHistory`]): same report, without Nautilus 0.57's per-fill copy of
    /// the whole history. `false` only to measure the difference.
    pub purge_account_events: bool,
}

/// The signals of a run (empty by default).
#[derive(Debug, Clone, Default)]
pub struct SignalInput {
    pub signals: Vec<crate::signals::Signal>,
    /// What the report says about their source: file name, refusals, duplicates.
    pub report: report::SignalsReport,
}

/// A finished run: the deterministic report, and per strategy the wall time spent in the
/// guest (components with timing on; `None` otherwise).
#[derive(Debug)]
pub struct Outcome {
    pub report: BacktestReport,
    pub guest_nanos: Vec<Option<u64>>,
}

/// A run could not start or Nautilus failed.
#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    #[error("no market data to run on")]
    NoData,
    #[error("{plugin}: {source}")]
    Instantiate {
        plugin: String,
        source: InstantiateError,
    },
    #[error("nautilus: {0:#}")]
    Nautilus(anyhow::Error),
    /// [`run_until`]'s cancel flag was set: the run stopped at a chunk boundary.
    #[error("cancelled after {done} of {total} events")]
    Cancelled { done: usize, total: usize },
}

/// Nautilus strategy id for strategy number `index` named `name`: `EMA_CROSS-000`.
#[must_use]
pub fn strategy_id(name: &str, index: usize) -> StrategyId {
    let base: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    StrategyId::new(format!("{base}-{index:03}"))
}

/// Formats a parameter value for reports.
#[must_use]
pub fn param_text(v: &ParamValue) -> String {
    match v {
        ParamValue::Int(i) => i.to_string(),
        ParamValue::Float(f) => f.to_string(),
        ParamValue::Bool(b) => b.to_string(),
        ParamValue::Text(s) => s.clone(),
        ParamValue::Decimal(d) => d.to_string(),
    }
}

/// Runs a backtest; `progress(done, total)` is called after each chunk.
pub fn run(
    spec: BacktestSpec<'_>,
    sandbox: &SandboxEngine,
    audit: &AuditLog,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Outcome, BacktestError> {
    run_until(
        spec,
        sandbox,
        audit,
        progress,
        &std::sync::atomic::AtomicBool::new(false),
    )
}

/// As [`run`], stopping with [`BacktestError::Cancelled`] at the first chunk boundary after
/// `cancel` is set. Nautilus's `BacktestEngine::run` cannot be interrupted within a chunk,
/// so a cancel waits at most for one chunk (`spec.chunk` events).
pub fn run_until(
    spec: BacktestSpec<'_>,
    sandbox: &SandboxEngine,
    audit: &AuditLog,
    progress: &mut dyn FnMut(usize, usize),
    cancel: &std::sync::atomic::AtomicBool,
) -> Result<Outcome, BacktestError> {
    if spec.data.is_empty() {
        return Err(BacktestError::NoData);
    }
    let nerr = BacktestError::Nautilus;
    let (mut engine, venues) = new_engine(&spec.instruments, &spec.balances)?;
    let entries = entries::add_strategies(
        &mut engine,
        spec.strategies,
        &spec.table,
        &spec.risk,
        spec.timing,
        sandbox,
        audit,
    )?;
    let mut feed = entries::feed(spec.data, spec.signals);
    let max_chunk = spec.chunk.max(1);
    let mut chunk = max_chunk;
    let mut done = 0;
    let mut data = std::mem::take(&mut feed.data);
    let total = data.len();
    let mut history = history::AccountHistory::default();
    while !data.is_empty() {
        if cancel.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(BacktestError::Cancelled { done, total });
        }
        let rest = data.split_off(chunk.min(data.len()));
        let n = data.len();
        let chunk_end = data.last().map(HasTsInit::ts_init);
        engine.add_data(data, None, true, true).map_err(nerr)?;
        engine.run(None, None, None, true).map_err(nerr)?;
        engine.clear_data();
        if spec.purge_account_events
            && let Some(ts) = chunk_end
        {
            let recorded =
                history.collect_and_purge(&mut engine.kernel().cache.borrow_mut(), &venues, ts);
            chunk = next_chunk(chunk, recorded, max_chunk);
        }
        done += n;
        progress(done, total);
        data = rest;
    }
    engine.end();

    let stats = entries::Stats::of_result(&engine.get_result());
    let _ = history.collect(&engine.kernel().cache.borrow(), &venues);
    let cache = engine.kernel().cache.borrow();
    Ok(entries::outcome(
        &entries::Finished {
            cache: &cache,
            venues: &venues,
            stats,
            history: &history,
            entries: &entries,
            instruments: &spec.instruments,
            risk: &spec.risk,
            timing: spec.timing,
        },
        feed,
    ))
}

/// Nautilus's logging, off: its logger writes to stdout, which belongs to our summary and
/// JSON. Every kernel stratbox builds (backtest engines, live nodes) uses it.
pub(crate) fn quiet_logging() -> nautilus_common::logging::config::LoggerConfig {
    nautilus_common::logging::config::LoggerConfig {
        stdout_level: log::LevelFilter::Off,
        fileout_level: log::LevelFilter::Off,
        bypass_logging: true,
        ..Default::default()
    }
}

/// Held while a Nautilus kernel (a `BacktestEngine`'s or a `LiveNode`'s) is built. Building
/// one initialises Nautilus's process-wide logging: it registers the `log` crate's logger,
/// then publishes its channel. A kernel built on another thread between those two steps
/// (a sweep's workers, two deployments starting together) finds a logger registered and no
/// channel yet, and fails with "A non-Nautilus logger is already registered" (nautilus-system
/// 0.57, `initialize_logging`). Building kernels one at a time closes that window.
pub(crate) fn kernel_build_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A `BacktestEngine` with Nautilus's own logging off, one simulated netting margin venue
/// per venue of `instruments` (L1 book), and the instruments added.
pub(crate) fn new_engine(
    instruments: &[InstrumentAny],
    balances: &[Money],
) -> Result<(BacktestEngine, Vec<nautilus_model::identifiers::Venue>), BacktestError> {
    let nerr = BacktestError::Nautilus;
    let config = BacktestEngineConfig::builder()
        .logging(quiet_logging())
        .bypass_logging(true)
        .build();
    let mut engine = {
        let _one_at_a_time = kernel_build_lock();
        BacktestEngine::new(config).map_err(nerr)?
    };
    let mut venues: Vec<_> = instruments.iter().map(|i| i.id().venue).collect();
    venues.sort();
    venues.dedup();
    for &venue in &venues {
        engine
            .add_venue(
                SimulatedVenueConfig::builder()
                    .venue(venue)
                    .oms_type(OmsType::Netting)
                    .account_type(AccountType::Margin)
                    .book_type(BookType::L1_MBP)
                    .starting_balances(balances.to_vec())
                    .build(),
            )
            .map_err(nerr)?;
    }
    for i in instruments {
        engine.add_instrument(i).map_err(nerr)?;
    }
    Ok((engine, venues))
}

/// The currency an account trading `instrument` settles in.
#[must_use]
pub fn settlement_currency(instrument: &InstrumentAny) -> String {
    match instrument {
        InstrumentAny::CryptoPerpetual(p) => p.settlement_currency.code.to_string(),
        other => other.quote_currency().code.to_string(),
    }
}

/// A starting balance `"<amount> <currency>"` (`1000000 USD`), or 1,000,000 of
/// `default_currency` when none is given.
pub fn parse_balance(text: Option<&str>, default_currency: &str) -> Result<Money, String> {
    let text = text.map_or_else(|| format!("1000000 {default_currency}"), str::to_string);
    let (amount, currency) = text
        .trim()
        .split_once(' ')
        .ok_or_else(|| format!("`{text}` is not `<amount> <currency>`, e.g. \"1000000 USD\""))?;
    let amount: f64 = amount
        .replace('_', "")
        .parse()
        .map_err(|_| format!("`{text}`: `{amount}` is not a number"))?;
    if !amount.is_finite() || amount <= 0.0 {
        return Err(format!("`{text}`: the amount must be positive"));
    }
    let currency = currency
        .trim()
        .parse::<nautilus_model::types::Currency>()
        .map_err(|_| format!("`{text}`: unknown currency `{currency}`"))?;
    Money::new_checked(amount, currency).map_err(|e| format!("`{text}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::{MIN_CHUNK, next_chunk};

    #[test]
    fn chunks_shrink_under_many_fills_and_grow_back() {
        assert_eq!(next_chunk(8_192, 500, 8_192), 4_096);
        assert_eq!(next_chunk(MIN_CHUNK, 500, 8_192), MIN_CHUNK);
        assert_eq!(next_chunk(1_024, 64, 8_192), 1_024);
        assert_eq!(next_chunk(1_024, 3, 8_192), 2_048);
        assert_eq!(next_chunk(8_192, 0, 8_192), 8_192);
        // A caller's smaller maximum (tests, progress) is respected both ways.
        assert_eq!(next_chunk(100, 0, 100), 100);
        assert_eq!(next_chunk(100, 500, 100), 100);
    }
}
