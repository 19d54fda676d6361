//! What a backtest produced, read back from Nautilus's cache and portfolio analyzer.
//!
//! Everything here is a function of the data, the instruments and the strategies' decisions,
//! never of wall-clock time or random ids, so `report.json` is byte-identical on a rerun.
//! Maps are `BTreeMap`s (sorted keys); wall-clock figures (time in guest) are printed in
//! the summary but kept out of the file.

use std::collections::BTreeMap;

use nautilus_analysis::analyzer::PortfolioAnalyzer;
use nautilus_common::cache::Cache;
use nautilus_model::{
    enums::PositionSide,
    events::OrderEventAny,
    identifiers::{InstrumentId, StrategyId, Venue},
    orders::Order,
    position::Position,
    types::Price,
};
use serde::{Deserialize, Serialize};

use crate::sandbox::FaultRecord;

/// Bump when the layout of `report.json` changes.
pub const REPORT_FORMAT: u32 = 5;

/// One order a strategy submitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRow {
    pub client_order_id: String,
    pub instrument_id: String,
    pub ts_init: u64,
    pub side: String,
    pub order_type: String,
    pub quantity: String,
    pub price: Option<String>,
    pub trigger_price: Option<String>,
    pub status: String,
    pub filled_qty: String,
    /// Why the venue rejected it (`REJECTED`) or Nautilus's `RiskEngine` denied it
    /// (`DENIED`); `None` otherwise.
    pub reason: Option<String>,
}

/// One fill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FillRow {
    pub client_order_id: String,
    pub ts_event: u64,
    pub side: String,
    pub last_qty: String,
    pub last_px: String,
    pub commission: Option<String>,
}

/// One position cycle (netting positions that close and reopen give several).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PositionRow {
    /// `<instrument>-<strategy>` (Nautilus netting id, without the random suffix snapshots get).
    pub position_id: String,
    /// 1 for the first time the position opened, 2 after it closed and reopened, ...
    pub cycle: usize,
    pub instrument_id: String,
    pub entry: String,
    pub side: String,
    pub quantity: String,
    pub peak_qty: String,
    pub ts_opened: u64,
    pub ts_closed: Option<u64>,
    pub avg_px_open: f64,
    pub avg_px_close: Option<f64>,
    pub realized_pnl: Option<String>,
    pub unrealized_pnl: Option<String>,
}

/// The sandbox's view of a component during the run (deterministic figures only).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PluginFigures {
    pub name: String,
    pub version: String,
    pub sha256: String,
    /// The strategy definition it was translated from (`stratbox translate`), so results
    /// are attributed to the definition version and hash; absent for hand-written code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<stratbox_manifest::Source>,
    pub params: BTreeMap<String, String>,
    pub callbacks: u64,
    pub fuel_total: u64,
    pub fuel_max: u64,
    pub peak_memory_bytes: u64,
    pub orders_accepted_by_gate: u64,
    pub orders_refused_by_gate: BTreeMap<String, u64>,
    pub fault: Option<FaultRecord>,
    /// Signals delivered to its `on-signal`.
    pub signals_received: u64,
    /// Signals it was granted and subscribed to but could not receive (quarantined or
    /// faulting on delivery), each with its reason.
    pub signal_dead_letters: Vec<crate::nautilus::adapter::DeadDelivery>,
}

/// One strategy's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StrategyReport {
    pub strategy_id: String,
    /// `None` for a native Nautilus strategy (parity and benchmark baselines).
    pub plugin: Option<PluginFigures>,
    pub orders: Vec<OrderRow>,
    pub fills: Vec<FillRow>,
    pub positions: Vec<PositionRow>,
    /// Realized PnL by currency (sum over position cycles).
    pub realized_pnl: BTreeMap<String, String>,
    /// Unrealized PnL of open positions at the last price, by currency.
    pub unrealized_pnl: BTreeMap<String, String>,
    /// Nautilus's PnL statistics of this strategy's positions, by currency.
    pub pnl_stats: BTreeMap<String, BTreeMap<String, f64>>,
    /// Orders the venue rejected (`OrderRejected`), by reason.
    pub venue_rejected_by_reason: BTreeMap<String, u64>,
    /// Orders Nautilus's own `RiskEngine` denied (`OrderDenied`), by reason. The stratbox
    /// risk gate's refusals are the plugin's `orders_refused_by_gate`.
    pub denied_by_reason: BTreeMap<String, u64>,
}

/// Distinct reasons kept per strategy and map; the rest count under [`OTHER_REASONS`]
/// (venue messages may embed prices or amounts, making each one distinct).
pub const MAX_REASONS: usize = 32;

/// The key under which reasons past [`MAX_REASONS`] are counted.
pub const OTHER_REASONS: &str = "(other reasons)";

fn count_reason(map: &mut BTreeMap<String, u64>, reason: &str) {
    if let Some(n) = map.get_mut(reason) {
        *n += 1;
    } else if map.len() < MAX_REASONS {
        map.insert(reason.to_string(), 1);
    } else {
        *map.entry(OTHER_REASONS.to_string()).or_default() += 1;
    }
}

/// Adds `from`'s counts to `into` (bounded as [`count_reason`]).
pub fn add_reasons(into: &mut BTreeMap<String, u64>, from: &BTreeMap<String, u64>) {
    for (reason, n) in from {
        let key = if into.contains_key(reason) || into.len() < MAX_REASONS {
            reason.clone()
        } else {
            OTHER_REASONS.to_string()
        };
        *into.entry(key).or_default() += n;
    }
}

/// The account as a whole.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PortfolioReport {
    /// Largest fall of the account balance from its running peak, in percent (≤ 0).
    pub max_drawdown_pct: f64,
    pub starting_balances: BTreeMap<String, String>,
    pub final_balances: BTreeMap<String, String>,
    pub pnl_stats: BTreeMap<String, BTreeMap<String, f64>>,
    pub returns_stats: BTreeMap<String, f64>,
    pub general_stats: BTreeMap<String, f64>,
}

/// A point of the account balance curve (after each balance change).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EquityPoint {
    pub ts: u64,
    pub currency: String,
    pub balance: f64,
}

/// `report.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BacktestReport {
    pub format: u32,
    pub events: usize,
    pub first_ts: Option<u64>,
    pub last_ts: Option<u64>,
    pub instruments: Vec<String>,
    pub portfolio: PortfolioReport,
    pub strategies: Vec<StrategyReport>,
    pub risk: RiskReport,
    pub signals: SignalsReport,
    pub equity: Vec<EquityPoint>,
    /// The market the run was fed, per instrument, as at most [`MAX_PRICE_BUCKETS`] OHLC
    /// buckets (format 5): for price charts with the fills on them.
    pub prices: Vec<PriceBucket>,
}

/// Price buckets kept per instrument, at most.
pub const MAX_PRICE_BUCKETS: u64 = 2000;

/// One OHLC bucket of an instrument's prices: quotes count at their mid, bars with their
/// open, high, low and close, trades at their price. `ts` is the bucket's open (UNIX ns);
/// buckets are equally wide and span the run's first to last event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PriceBucket {
    pub instrument_id: String,
    pub ts: u64,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
}

/// The price buckets of `data` (sorted by `ts_init`) between `first` and `last`
/// (inclusive): per instrument in id order, each in time order, empty buckets left out.
#[must_use]
pub fn price_buckets(
    data: &[nautilus_model::data::Data],
    first: u64,
    last: u64,
) -> Vec<PriceBucket> {
    use nautilus_model::data::{Data, HasTsInit};
    let width = (last.saturating_sub(first) / MAX_PRICE_BUCKETS).saturating_add(1);
    let mut by_instrument: BTreeMap<String, Vec<PriceBucket>> = BTreeMap::new();
    for d in data {
        let (id, open, high, low, close) = match d {
            Data::Quote(q) => {
                let mid = (q.bid_price.as_f64() + q.ask_price.as_f64()) / 2.0;
                (q.instrument_id, mid, mid, mid, mid)
            }
            Data::Bar(b) => (
                b.bar_type.instrument_id(),
                b.open.as_f64(),
                b.high.as_f64(),
                b.low.as_f64(),
                b.close.as_f64(),
            ),
            Data::Trade(t) => {
                let p = t.price.as_f64();
                (t.instrument_id, p, p, p, p)
            }
            _ => continue,
        };
        let t = d.ts_init().as_u64().clamp(first, last);
        let ts = first + (t - first) / width * width;
        let buckets = by_instrument.entry(id.to_string()).or_default();
        match buckets.last_mut() {
            Some(b) if b.ts == ts => {
                b.high = b.high.max(high);
                b.low = b.low.min(low);
                b.close = close;
            }
            _ => buckets.push(PriceBucket {
                instrument_id: id.to_string(),
                ts,
                open,
                high,
                low,
                close,
            }),
        }
    }
    by_instrument.into_values().flatten().collect()
}

/// The signals of the run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SignalsReport {
    /// Where they came from (a file name), if any were given.
    pub source: Option<String>,
    /// Valid signals fed to the engine.
    pub loaded: u64,
    /// Loaded signals by type.
    pub by_type: BTreeMap<String, u64>,
    /// Records of the source that were refused, with reasons (the run's dead letters).
    pub refused: Vec<crate::signals::RefusedRecord>,
    /// Records repeating an earlier signal exactly (dropped).
    pub duplicates: u64,
    /// Deliveries to plugins, all plugins together.
    pub delivered: u64,
    /// Deliveries that failed (see each plugin's `signal_dead_letters`).
    pub dead_lettered: u64,
}

/// What the risk gates decided over the run, all plugins together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RiskReport {
    pub policy_version: String,
    pub policy_sha256: String,
    pub orders_accepted: u64,
    /// Refusals by reject code, all plugins.
    pub refused_by_reason: BTreeMap<String, u64>,
    /// Orders the venue rejected, by reason, all strategies (past the gate).
    pub venue_rejected_by_reason: BTreeMap<String, u64>,
    /// Orders Nautilus's `RiskEngine` denied, by reason, all strategies (past the gate).
    pub denied_by_reason: BTreeMap<String, u64>,
    /// Trading-state changes (halts, resumes) in order, with their causes.
    pub state_changes: Vec<crate::capabilities::risk_gate::control::StateChange>,
}

fn sorted(m: impl IntoIterator<Item = (String, f64)>) -> BTreeMap<String, f64> {
    m.into_iter().collect()
}

/// The last bid and ask of each instrument, for marking open positions: longs at the bid,
/// shorts at the ask. A bid bar moves the bid, an ask bar the ask; other bars and trades
/// set both.
pub type Marks = BTreeMap<InstrumentId, (Price, Price)>;

/// Updates `marks` with the last (bid, ask) an event shows: a quote's sides, a bid or ask
/// bar's close on its side, another bar's or a trade's price on both.
pub fn observe(marks: &mut Marks, d: &nautilus_model::data::Data) {
    use nautilus_model::data::Data;
    match d {
        Data::Quote(q) => {
            marks.insert(q.instrument_id, (q.bid_price, q.ask_price));
        }
        Data::Bar(b) => {
            use nautilus_model::enums::PriceType;
            let id = b.bar_type.instrument_id();
            match (b.bar_type.spec().price_type, marks.get_mut(&id)) {
                (PriceType::Bid, Some((bid, _))) => *bid = b.close,
                (PriceType::Ask, Some((_, ask))) => *ask = b.close,
                _ => {
                    marks.insert(id, (b.close, b.close));
                }
            }
        }
        Data::Trade(t) => {
            marks.insert(t.instrument_id, (t.price, t.price));
        }
        _ => {}
    }
}

fn mark(marks: &Marks, p: &Position) -> Option<Price> {
    let (bid, ask) = marks.get(&p.instrument_id)?;
    Some(if p.side == PositionSide::Short {
        *ask
    } else {
        *bid
    })
}

/// Every cycle of every position of `strategy_id`, oldest first.
pub fn position_cycles(cache: &Cache, strategy_id: &StrategyId) -> Vec<Position> {
    let mut out = Vec::new();
    let mut current: Vec<Position> = cache
        .positions(None, None, Some(strategy_id), None, None)
        .into_iter()
        .map(|p| p.cloned())
        .collect();
    current.sort_by(|a, b| (a.ts_opened, a.id.as_str()).cmp(&(b.ts_opened, b.id.as_str())));
    for p in current {
        out.extend(cache.position_snapshots(Some(&p.id), None));
        out.push(p);
    }
    out
}

/// Orders, fills and positions of `strategy_id`.
pub fn strategy_report(
    cache: &Cache,
    strategy_id: &StrategyId,
    marks: &Marks,
    plugin: Option<PluginFigures>,
) -> StrategyReport {
    let mut orders: Vec<_> = cache
        .orders(None, None, Some(strategy_id), None, None)
        .into_iter()
        .map(|o| o.clone())
        .collect();
    orders.sort_by_key(|o| (o.ts_init(), o.client_order_id().to_string()));
    let mut fills = Vec::new();
    let mut venue_rejected_by_reason = BTreeMap::new();
    let mut denied_by_reason = BTreeMap::new();
    let order_rows = orders
        .iter()
        .map(|o| {
            let mut reason = None;
            for e in o.events() {
                match e {
                    OrderEventAny::Filled(f) => fills.push(FillRow {
                        client_order_id: f.client_order_id.to_string(),
                        ts_event: f.ts_event.as_u64(),
                        side: f.order_side.to_string(),
                        last_qty: f.last_qty.to_string(),
                        last_px: f.last_px.to_string(),
                        commission: f.commission.map(|c| c.to_string()),
                    }),
                    OrderEventAny::Rejected(r) => {
                        count_reason(&mut venue_rejected_by_reason, r.reason.as_str());
                        reason = Some(r.reason.to_string());
                    }
                    OrderEventAny::Denied(d) => {
                        count_reason(&mut denied_by_reason, d.reason.as_str());
                        reason = Some(d.reason.to_string());
                    }
                    _ => {}
                }
            }
            OrderRow {
                client_order_id: o.client_order_id().to_string(),
                instrument_id: o.instrument_id().to_string(),
                ts_init: o.ts_init().as_u64(),
                side: o.order_side().to_string(),
                order_type: o.order_type().to_string(),
                quantity: o.quantity().to_string(),
                price: o.price().map(|p| p.to_string()),
                trigger_price: o.trigger_price().map(|p| p.to_string()),
                status: o.status().to_string(),
                filled_qty: o.filled_qty().to_string(),
                reason,
            }
        })
        .collect();
    // Stable: fills of one order keep their order; trade ids are not used (the simulated
    // venue derives them from a random instance id).
    fills.sort_by_key(|f| f.ts_event);

    let cycles = position_cycles(cache, strategy_id);
    let mut realized_money = BTreeMap::new();
    let mut unrealized_money = BTreeMap::new();
    let positions = cycles
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if let Some(m) = p.realized_pnl {
                realized_money
                    .entry(m.currency.code.to_string())
                    .and_modify(|e| *e = *e + m)
                    .or_insert(m);
            }
            let open_pnl = (!p.is_closed())
                .then(|| mark(marks, p).map(|px| p.unrealized_pnl(px)))
                .flatten();
            if let Some(m) = open_pnl {
                unrealized_money
                    .entry(m.currency.code.to_string())
                    .and_modify(|e| *e = *e + m)
                    .or_insert(m);
            }
            PositionRow {
                position_id: format!("{}-{}", p.instrument_id, p.strategy_id),
                cycle: i + 1,
                instrument_id: p.instrument_id.to_string(),
                entry: p.entry.to_string(),
                side: p.side.to_string(),
                quantity: p.quantity.to_string(),
                peak_qty: p.peak_qty.to_string(),
                ts_opened: p.ts_opened.as_u64(),
                ts_closed: p.ts_closed.map(|t| t.as_u64()),
                avg_px_open: p.avg_px_open,
                avg_px_close: p.avg_px_close,
                realized_pnl: p.realized_pnl.map(|m| m.to_string()),
                unrealized_pnl: open_pnl.map(|m| m.to_string()),
            }
        })
        .collect();

    let mut analyzer = PortfolioAnalyzer::default();
    analyzer.add_positions(&cycles);
    let mut pnl_stats = BTreeMap::new();
    let mut currencies: Vec<_> = cycles
        .iter()
        .filter_map(|p| p.realized_pnl.map(|m| m.currency))
        .collect();
    currencies.sort_by_key(|c| c.code);
    currencies.dedup();
    for currency in &currencies {
        if let Ok(stats) = analyzer.get_performance_stats_pnls(Some(currency), None) {
            pnl_stats.insert(currency.code.to_string(), sorted(stats));
        }
    }
    StrategyReport {
        strategy_id: strategy_id.to_string(),
        plugin,
        orders: order_rows,
        fills,
        positions,
        realized_pnl: realized_money
            .into_iter()
            .map(|(k, v)| (k, v.to_string()))
            .collect(),
        unrealized_pnl: unrealized_money
            .into_iter()
            .map(|(k, v)| (k, v.to_string()))
            .collect(),
        pnl_stats,
        venue_rejected_by_reason,
        denied_by_reason,
    }
}

/// The account-wide figures from Nautilus's performance statistics and the account's
/// balance history.
pub fn portfolio_report(
    cache: &Cache,
    venues: &[Venue],
    stats: &super::entries::Stats,
    history: &super::history::AccountHistory,
) -> (PortfolioReport, Vec<EquityPoint>) {
    let mut starting = BTreeMap::new();
    let mut last = BTreeMap::new();
    let mut equity = Vec::new();
    for venue in venues {
        use nautilus_model::accounts::Account;
        let Some(account) = cache.account_for_venue(venue) else {
            continue;
        };
        for (c, m) in account.starting_balances() {
            starting.insert(c.code.to_string(), m.to_string());
        }
        for (c, m) in account.balances_total() {
            last.insert(c.code.to_string(), m.to_string());
        }
        for state in history.events(venue) {
            for b in &state.balances {
                equity.push(EquityPoint {
                    ts: state.ts_event.as_u64(),
                    currency: b.currency.code.to_string(),
                    balance: b.total.as_f64(),
                });
            }
        }
    }
    equity.sort_by(|a, b| (a.ts, &a.currency).cmp(&(b.ts, &b.currency)));
    let pnl_stats = stats.pnls.clone();
    let mut peak = f64::MIN;
    let mut max_dd = 0.0_f64;
    let main = equity.first().map(|p| p.currency.clone());
    for p in equity.iter().filter(|p| Some(&p.currency) == main.as_ref()) {
        peak = peak.max(p.balance);
        if peak > 0.0 {
            max_dd = max_dd.min((p.balance - peak) / peak * 100.0);
        }
    }
    (
        PortfolioReport {
            max_drawdown_pct: max_dd,
            starting_balances: starting,
            final_balances: last,
            pnl_stats,
            returns_stats: stats.returns.clone(),
            general_stats: stats.general.clone(),
        },
        equity,
    )
}
