//! What every engine run shares, whichever Nautilus engine drives it (a `BacktestEngine`, or
//! a `LiveNode` in [`crate::nautilus::live`]): putting the run's strategies into the engine,
//! merging signals into the market data, and reading the report back from Nautilus's cache.
//! Both paths go through these functions, so a live run's report has the backtest's layout
//! field for field.

use std::{cell::RefCell, collections::BTreeMap, fmt::Debug, rc::Rc, sync::Arc};

use nautilus_analysis::analyzer::PortfolioAnalyzer;
use nautilus_backtest::engine::BacktestEngine;
use nautilus_common::{cache::Cache, component::Component};
use nautilus_live::node::LiveNode;
use nautilus_model::{
    accounts::{Account, AccountAny},
    data::{Data, HasTsInit},
    identifiers::{StrategyId, Venue},
    instruments::{Instrument, InstrumentAny},
    position::Position,
};
use nautilus_trading::{
    examples::strategies::{EmaCross, EmaCrossConfig},
    strategy::Strategy,
};
use stratbox_manifest::ParamValue;

use super::{
    BacktestError, Outcome, SignalInput, StrategySpec,
    history::AccountHistory,
    native, param_text,
    report::{self, BacktestReport, PluginFigures},
    strategy_id,
};
use crate::{
    audit::AuditLog,
    capabilities::{self, PluginEnv, risk_gate::RiskHub},
    catalog::InstrumentTable,
    nautilus::{
        adapter::{ComponentStrategy, SharedInstance, SharedTally},
        router::NautilusRouter,
    },
    sandbox::{PluginComponent, SandboxEngine},
};

/// An engine strategies can be added to before it runs.
pub trait StrategyHost {
    /// Adds `strategy` to the engine's trader.
    ///
    /// # Errors
    /// Nautilus refused it (a duplicate id, or the engine is already running).
    fn add<T: Strategy + Component + Debug + 'static>(&mut self, strategy: T)
    -> anyhow::Result<()>;
}

impl StrategyHost for BacktestEngine {
    fn add<T: Strategy + Component + Debug + 'static>(
        &mut self,
        strategy: T,
    ) -> anyhow::Result<()> {
        self.add_strategy(strategy)
    }
}

impl StrategyHost for LiveNode {
    fn add<T: Strategy + Component + Debug + 'static>(
        &mut self,
        strategy: T,
    ) -> anyhow::Result<()> {
        self.add_strategy(strategy)
    }
}

/// A component in the run: what it is, its parameters, its instance.
type PluginEntry<'a> = (
    &'a PluginComponent,
    Vec<(String, ParamValue)>,
    SharedInstance,
    SharedTally,
);

/// One strategy of a run, as the report needs it afterwards.
pub struct Entry<'a> {
    pub strategy_id: StrategyId,
    plugin: Option<PluginEntry<'a>>,
}

impl Debug for Entry<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("strategy_id", &self.strategy_id)
            .field("component", &self.plugin.is_some())
            .finish()
    }
}

/// Instantiates each component (own sandbox, own router, the run's risk hub) and adds it
/// and the native strategies to `host`, in order: strategy `i` gets id `<NAME>-00i`.
pub fn add_strategies<'a, H: StrategyHost>(
    host: &mut H,
    strategies: Vec<StrategySpec<'a>>,
    table: &Arc<InstrumentTable>,
    risk: &Arc<RiskHub>,
    timing: bool,
    sandbox: &SandboxEngine,
    audit: &AuditLog,
) -> Result<Vec<Entry<'a>>, BacktestError> {
    let nerr = BacktestError::Nautilus;
    let mut entries = Vec::new();
    for (index, s) in strategies.into_iter().enumerate() {
        match s {
            StrategySpec::Component { component, params } => {
                let name = &component.manifest().name;
                let sid = strategy_id(name, index);
                let (router, queue) = NautilusRouter::new(sid.as_str());
                let env = PluginEnv {
                    market: Arc::clone(table) as _,
                    router: Box::new(router),
                    risk: Arc::clone(risk),
                };
                let mut instance = capabilities::instantiate(
                    sandbox, component, env, &params, audit,
                )
                .map_err(|source| BacktestError::Instantiate {
                    plugin: name.clone(),
                    source,
                })?;
                instance.set_timing(timing);
                let shared: SharedInstance = Rc::new(RefCell::new(instance));
                let tally = SharedTally::default();
                let strategy = ComponentStrategy::new(
                    sid,
                    Rc::clone(&shared),
                    queue,
                    Arc::clone(table),
                    Rc::clone(&tally),
                );
                host.add(strategy).map_err(nerr)?;
                entries.push(Entry {
                    strategy_id: sid,
                    plugin: Some((component, params, shared, tally)),
                });
            }
            StrategySpec::NativeEmaCross {
                instrument_id,
                trade_size,
                fast_period,
                slow_period,
            } => {
                let sid = strategy_id("ema-cross-native", index);
                let config =
                    EmaCrossConfig::new(instrument_id, trade_size, fast_period, slow_period)
                        .with_strategy_id(sid)
                        .with_order_id_tag(sid.get_tag().to_string());
                host.add(EmaCross::from_config(config)).map_err(nerr)?;
                entries.push(Entry {
                    strategy_id: sid,
                    plugin: None,
                });
            }
            StrategySpec::NativeLight {
                instrument_id,
                trade_size,
                config,
            } => {
                let sid = strategy_id("ema-atr-filter-native", index);
                let strategy = native::NativeLight::new(sid, instrument_id, trade_size, config)
                    .map_err(|e| BacktestError::Nautilus(anyhow::anyhow!(e)))?;
                host.add(strategy).map_err(nerr)?;
                entries.push(Entry {
                    strategy_id: sid,
                    plugin: None,
                });
            }
        }
    }
    Ok(entries)
}

/// The run's input as the engine consumes it: market data and signals in one `ts_init`
/// order, plus what the report says about it.
#[derive(Debug)]
pub struct Feed {
    /// Market data first, then signals in their order, stably sorted by `ts_init`: a signal
    /// stamped at a bar's close comes after the bar.
    pub data: Vec<Data>,
    /// Market events (signals not counted).
    pub events: usize,
    pub first_ts: Option<u64>,
    pub last_ts: Option<u64>,
    pub marks: report::Marks,
    pub signals: report::SignalsReport,
    /// The market data as price buckets (the report's `prices`).
    pub prices: Vec<report::PriceBucket>,
}

/// Merges `data` (sorted) and the run's signals.
#[must_use]
pub fn feed(data: Vec<Data>, signals: SignalInput) -> Feed {
    let mut marks = report::Marks::new();
    for d in &data {
        report::observe(&mut marks, d);
    }
    let events = data.len();
    let first_ts = data.first().map(|d| d.ts_init().as_u64());
    let last_ts = data.last().map(|d| d.ts_init().as_u64());
    let prices = match (first_ts, last_ts) {
        (Some(first), Some(last)) => report::price_buckets(&data, first, last),
        _ => Vec::new(),
    };
    let mut signals_report = signals.report;
    signals_report.loaded = signals.signals.len() as u64;
    for s in &signals.signals {
        *signals_report
            .by_type
            .entry(s.signal_type.name().to_string())
            .or_default() += 1;
    }
    let mut data = data;
    data.extend(
        signals
            .signals
            .into_iter()
            .zip(1..)
            .map(|(s, seq)| crate::signals::nautilus::to_data(s, seq)),
    );
    data.sort_by_key(HasTsInit::ts_init);
    Feed {
        data,
        events,
        first_ts,
        last_ts,
        marks,
        signals: signals_report,
        prices,
    }
}

/// Nautilus's account-wide performance statistics.
#[derive(Debug, Default)]
pub struct Stats {
    pub pnls: BTreeMap<String, BTreeMap<String, f64>>,
    pub returns: BTreeMap<String, f64>,
    pub general: BTreeMap<String, f64>,
}

impl Stats {
    /// The figures of a `BacktestEngine`'s result.
    #[must_use]
    pub fn of_result(result: &nautilus_backtest::result::BacktestResult) -> Self {
        Self {
            pnls: result
                .stats_pnls
                .iter()
                .map(|(k, v)| (k.clone(), v.iter().map(|(a, b)| (a.clone(), *b)).collect()))
                .collect(),
            returns: result
                .stats_returns
                .iter()
                .map(|(a, b)| (a.clone(), *b))
                .collect(),
            general: result
                .stats_general
                .iter()
                .map(|(a, b)| (a.clone(), *b))
                .collect(),
        }
    }

    /// The same figures computed from a cache, as `BacktestEngine::get_result` does: every
    /// venue account's starting and current balances, every position and its snapshots.
    #[must_use]
    pub fn of_cache(cache: &Cache, venues: &[Venue]) -> Self {
        let mut analyzer = PortfolioAnalyzer::default();
        for venue in venues {
            if let Some(account) = cache.account_for_venue(venue) {
                let account: &dyn Account = match &*account {
                    AccountAny::Margin(a) => a,
                    AccountAny::Cash(a) => a,
                    AccountAny::Betting(a) => a,
                };
                for (currency, money) in account.starting_balances() {
                    analyzer
                        .account_balances_starting
                        .entry(currency)
                        .and_modify(|m| *m = *m + money)
                        .or_insert(money);
                }
                for (currency, money) in account.balances_total() {
                    analyzer
                        .account_balances
                        .entry(currency)
                        .and_modify(|m| *m = *m + money)
                        .or_insert(money);
                }
            }
        }
        let positions: Vec<Position> = cache
            .positions(None, None, None, None, None)
            .into_iter()
            .map(|p| p.cloned())
            .collect();
        let mut snapshots = Vec::new();
        for p in &positions {
            snapshots.extend(cache.position_snapshots(Some(&p.id), None));
        }
        analyzer.add_positions(&positions);
        analyzer.add_positions(&snapshots);
        let mut pnls = BTreeMap::new();
        for currency in analyzer.currencies() {
            if let Ok(s) = analyzer.get_performance_stats_pnls(Some(currency), None) {
                pnls.insert(currency.code.to_string(), s.into_iter().collect());
            }
        }
        Self {
            pnls,
            returns: analyzer
                .get_performance_stats_returns()
                .into_iter()
                .collect(),
            general: analyzer
                .get_performance_stats_general()
                .into_iter()
                .collect(),
        }
    }
}

/// What the engine left behind, read into the report.
#[allow(missing_debug_implementations)] // borrows Nautilus's cache, which is not `Debug`
pub struct Finished<'c, 'e> {
    pub cache: &'c Cache,
    pub venues: &'c [Venue],
    pub stats: Stats,
    pub history: &'c AccountHistory,
    pub entries: &'e [Entry<'e>],
    pub instruments: &'c [InstrumentAny],
    pub risk: &'c RiskHub,
    pub timing: bool,
}

/// The run's report (and each component's guest time when timing was on).
#[must_use]
pub fn outcome(done: &Finished<'_, '_>, feed: Feed) -> Outcome {
    let Feed {
        events,
        first_ts,
        last_ts,
        marks,
        signals: mut signals_report,
        prices,
        ..
    } = feed;
    let strategies: Vec<report::StrategyReport> = done
        .entries
        .iter()
        .map(|e| {
            let plugin = e.plugin.as_ref().map(|(component, params, shared, tally)| {
                let instance = shared.borrow();
                let tally = tally.borrow();
                let p = instance.profile();
                let gate = instance.host().risk_gate.counts();
                let m = component.manifest();
                PluginFigures {
                    name: m.name.clone(),
                    version: m.version.clone(),
                    sha256: component.sha256().to_string(),
                    source: m.source.clone(),
                    params: params
                        .iter()
                        .map(|(k, v)| (k.clone(), param_text(v)))
                        .collect::<BTreeMap<_, _>>(),
                    callbacks: p.callbacks,
                    fuel_total: p.fuel_total,
                    fuel_max: p.fuel_max,
                    peak_memory_bytes: p.peak_memory_bytes,
                    orders_accepted_by_gate: gate.accepted,
                    orders_refused_by_gate: gate.rejected.clone(),
                    fault: instance.fault().cloned(),
                    signals_received: tally.received,
                    signal_dead_letters: tally.dead_letters.clone(),
                }
            });
            report::strategy_report(done.cache, &e.strategy_id, &marks, plugin)
        })
        .collect();
    let (portfolio, equity) =
        report::portfolio_report(done.cache, done.venues, &done.stats, done.history);
    let mut risk = report::RiskReport {
        policy_version: done.risk.policy.version.clone(),
        policy_sha256: done.risk.policy.sha256.clone(),
        orders_accepted: 0,
        refused_by_reason: BTreeMap::new(),
        venue_rejected_by_reason: BTreeMap::new(),
        denied_by_reason: BTreeMap::new(),
        state_changes: done.risk.control.history(),
    };
    for s in &strategies {
        report::add_reasons(
            &mut risk.venue_rejected_by_reason,
            &s.venue_rejected_by_reason,
        );
        report::add_reasons(&mut risk.denied_by_reason, &s.denied_by_reason);
        if let Some(p) = &s.plugin {
            risk.orders_accepted += p.orders_accepted_by_gate;
            for (code, n) in &p.orders_refused_by_gate {
                *risk.refused_by_reason.entry(code.clone()).or_default() += n;
            }
            signals_report.delivered += p.signals_received;
            signals_report.dead_lettered += p.signal_dead_letters.len() as u64;
        }
    }
    let mut instruments: Vec<String> = done
        .instruments
        .iter()
        .map(|i| i.id().to_string())
        .collect();
    instruments.sort();
    let guest_nanos = done
        .entries
        .iter()
        .map(|e| {
            e.plugin
                .as_ref()
                .filter(|_| done.timing)
                .map(|(_, _, shared, _)| shared.borrow().profile().guest_nanos)
        })
        .collect();
    Outcome {
        report: BacktestReport {
            format: report::REPORT_FORMAT,
            events,
            first_ts,
            last_ts,
            instruments,
            portfolio,
            strategies,
            risk,
            signals: signals_report,
            equity,
            prices,
        },
        guest_nanos,
    }
}
