//! One run of a sweep, summarised: a row of the table.
//!
//! A row keeps the figures of the run's report that a ranking needs (orders, fills, PnL,
//! drawdown, Nautilus's statistics, fuel) and drops the rest (orders and fills one by one,
//! the equity curve), so a grid of thousands of runs stays small in memory.

use std::collections::BTreeMap;

use serde::Serialize;
use stratbox_manifest::{Decimal, ParamValue};

use crate::backtest::report::BacktestReport;

/// What became of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The run finished with the plugin healthy.
    Ok,
    /// The plugin faulted (fuel, deadline, memory, trap) and was quarantined; the figures
    /// are those of the run up to and after the fault (it trades no more).
    Faulted,
    /// The host could not run it (Nautilus error, a panic): a bug or an environment
    /// problem, not a property of the parameters.
    Error,
    /// The plugin's `init` refused the combination (e.g. fast >= slow); nothing ran.
    Refused,
}

impl Status {
    /// The word in the tables.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Faulted => "faulted",
            Self::Error => "error",
            Self::Refused => "refused",
        }
    }
}

/// One run: its parameters, its status, its figures. Every field but `wall_ms` is a
/// function of the inputs only (identical whatever `--jobs` is).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// 1 = best, after ranking (0 before).
    pub rank: usize,
    /// Position in the grid (0-based; the last `--param` varies fastest).
    pub index: usize,
    /// The swept parameters' values.
    pub params: BTreeMap<String, ParamValue>,
    pub status: Status,
    /// Why it was refused, faulted or failed.
    pub message: Option<String>,
    /// The value it was ranked by (`None`: the run has no such figure; ranked after those
    /// that have one).
    pub rank_value: Option<f64>,
    pub orders: usize,
    pub fills: usize,
    /// Position cycles (a netting position that closes and reopens counts twice).
    pub positions: usize,
    /// Realized PnL in the settlement currency.
    pub realized_pnl: Option<f64>,
    /// Unrealized PnL of the open position at the last price, settlement currency.
    pub unrealized_pnl: Option<f64>,
    /// Realized + unrealized: what the run made, marked to market at its end.
    pub pnl_total: Option<f64>,
    /// Largest fall of the account balance from its running peak, percent (<= 0).
    pub max_drawdown_pct: Option<f64>,
    pub sharpe: Option<f64>,
    pub sortino: Option<f64>,
    pub profit_factor: Option<f64>,
    pub win_rate: Option<f64>,
    pub expectancy: Option<f64>,
    pub callbacks: u64,
    pub fuel_total: u64,
    /// Every statistic Nautilus computed for the run: the PnL statistics in the settlement
    /// currency, the returns statistics and the general ones (finite values only).
    pub stats: BTreeMap<String, f64>,
    /// Wall time of the run in milliseconds (measured, not deterministic; never ranked on).
    pub wall_ms: f64,
}

impl Row {
    /// A row for a run that produced no report.
    #[must_use]
    pub fn without_report(
        index: usize,
        params: BTreeMap<String, ParamValue>,
        status: Status,
        message: String,
    ) -> Self {
        Self {
            rank: 0,
            index,
            params,
            status,
            message: Some(message),
            rank_value: None,
            orders: 0,
            fills: 0,
            positions: 0,
            realized_pnl: None,
            unrealized_pnl: None,
            pnl_total: None,
            max_drawdown_pct: None,
            sharpe: None,
            sortino: None,
            profit_factor: None,
            win_rate: None,
            expectancy: None,
            callbacks: 0,
            fuel_total: 0,
            stats: BTreeMap::new(),
            wall_ms: 0.0,
        }
    }

    /// The row of a finished run of one component (strategy 0 of `report`).
    #[must_use]
    pub fn from_report(
        index: usize,
        params: BTreeMap<String, ParamValue>,
        report: &BacktestReport,
        settlement: &str,
    ) -> Self {
        let mut row = Self::without_report(index, params, Status::Ok, String::new());
        row.message = None;
        let p = &report.portfolio;
        let mut stats = BTreeMap::new();
        // PnL statistics first, then returns, then general; the first of equal keys wins.
        let maps = p
            .pnl_stats
            .get(settlement)
            .into_iter()
            .chain([&p.returns_stats, &p.general_stats]);
        for map in maps {
            for (k, v) in map {
                if v.is_finite() {
                    stats.entry(k.clone()).or_insert(*v);
                }
            }
        }
        row.max_drawdown_pct = Some(p.max_drawdown_pct).filter(|v| v.is_finite());
        row.sharpe = stat(&stats, "Sharpe Ratio");
        row.sortino = stat(&stats, "Sortino Ratio");
        row.profit_factor = stat(&stats, "Profit Factor");
        row.win_rate = stat(&stats, "Win Rate");
        row.expectancy = stat(&stats, "Expectancy");
        row.stats = stats;
        if let Some(s) = report.strategies.first() {
            row.orders = s.orders.len();
            row.fills = s.fills.len();
            row.positions = s.positions.len();
            let realized = money(s.realized_pnl.get(settlement));
            let unrealized = money(s.unrealized_pnl.get(settlement));
            row.realized_pnl = Some(float(realized));
            row.unrealized_pnl = Some(float(unrealized));
            row.pnl_total = Some(float(add(realized, unrealized)));
            if let Some(plugin) = &s.plugin {
                row.callbacks = plugin.callbacks;
                row.fuel_total = plugin.fuel_total;
                if let Some(fault) = &plugin.fault {
                    row.status = Status::Faulted;
                    row.message = Some(fault.to_string());
                }
            }
        }
        row
    }

    /// The value of a named column or statistic (see [`super::table::RankBy`]).
    #[must_use]
    pub fn column(&self, name: &str) -> Option<f64> {
        #[allow(clippy::cast_precision_loss)]
        let count = |n: usize| Some(n as f64);
        #[allow(clippy::cast_precision_loss)]
        match name {
            "pnl_total" => self.pnl_total,
            "realized_pnl" => self.realized_pnl,
            "unrealized_pnl" => self.unrealized_pnl,
            "max_drawdown" | "max_drawdown_pct" => self.max_drawdown_pct,
            "sharpe" => self.sharpe,
            "sortino" => self.sortino,
            "profit_factor" => self.profit_factor,
            "win_rate" => self.win_rate,
            "expectancy" => self.expectancy,
            "orders" => count(self.orders),
            "fills" => count(self.fills),
            "positions" => count(self.positions),
            "fuel_total" => Some(self.fuel_total as f64),
            _ => None,
        }
    }
}

/// The named columns a sweep can be ranked by (besides any statistic's name).
pub const COLUMNS: &[&str] = &[
    "pnl_total",
    "realized_pnl",
    "unrealized_pnl",
    "max_drawdown",
    "sharpe",
    "sortino",
    "profit_factor",
    "win_rate",
    "expectancy",
    "orders",
    "fills",
    "positions",
    "fuel_total",
];

/// A statistic by name prefix (Nautilus names carry periods: `Sharpe Ratio (252 days)`).
fn stat(stats: &BTreeMap<String, f64>, prefix: &str) -> Option<f64> {
    stats
        .iter()
        .find(|(k, _)| k.starts_with(prefix))
        .map(|(_, v)| *v)
}

/// The amount of a report's money text (`-7261.17 USD`), exactly; 0 when absent.
fn money(text: Option<&String>) -> Decimal {
    text.and_then(|t| t.split_whitespace().next())
        .and_then(|a| a.parse::<Decimal>().ok())
        .unwrap_or(Decimal {
            raw: 0,
            precision: 0,
        })
}

/// Exact sum of two amounts.
fn add(a: Decimal, b: Decimal) -> Decimal {
    a.raw.checked_add(b.raw).map_or(a, |raw| Decimal {
        raw,
        precision: a.precision.max(b.precision),
    })
}

/// A decimal as the nearest f64 (through its text, so `-7251.17` stays `-7251.17`).
fn float(d: Decimal) -> f64 {
    d.to_string().parse().unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_texts_and_rounding() {
        let m = |t: &str| money(Some(&t.to_string()));
        assert_eq!(float(m("-7261.17 USD")), -7261.17);
        assert_eq!(float(money(None)), 0.0);
        assert_eq!(float(m("x USD")), 0.0);
        assert_eq!(float(add(m("-7261.17 USD"), m("10.00 USD"))), -7251.17);
        assert_eq!(float(add(m("0.1 USD"), m("0.2 USD"))), 0.3);
    }

    #[test]
    fn statuses_order_ok_first_refused_last() {
        let mut s = vec![Status::Refused, Status::Error, Status::Ok, Status::Faulted];
        s.sort();
        assert_eq!(
            s,
            [Status::Ok, Status::Faulted, Status::Error, Status::Refused]
        );
    }
}
