//! Ranking the rows, and the tables: `sweep.csv` and `sweep.json`.
//!
//! Ranking is a function of the rows' deterministic figures and their grid index only, so
//! the tables are identical whatever `--jobs` is, except for the wall-clock fields: each
//! row's `wall_ms` (the CSV's last column) and the JSON's `timing` object.

use std::collections::BTreeMap;

use serde::Serialize;
use stratbox_manifest::ParamValue;

use super::{
    grid::Axis,
    row::{COLUMNS, Row, Status},
};

/// Bump when the layout of `sweep.json` / `sweep.csv` changes.
pub const TABLE_FORMAT: u32 = 1;

/// Which way a ranking value is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    /// Larger values rank first (PnL, Sharpe, win rate, ...).
    Higher,
    /// Smaller values rank first (volatility).
    Lower,
    /// Drawdowns: the smaller loss ranks first, whatever the sign convention (the report's
    /// `max_drawdown_pct` and Nautilus's `Max Drawdown` are <= 0).
    SmallerLoss,
}

impl std::fmt::Display for Better {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Higher => "higher first",
            Self::Lower => "lower first",
            Self::SmallerLoss => "smaller loss first",
        })
    }
}

/// What a sweep is ranked by: a named column ([`COLUMNS`]) or a statistic of Nautilus by
/// its name (`Sharpe Ratio (252 days)`, or a case-insensitive prefix of it: `sharpe ratio`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RankBy {
    pub key: String,
    pub better: Better,
}

impl RankBy {
    /// Parses `--rank-by`. Names containing `drawdown` rank the smaller loss first, names
    /// containing `volatility` the smaller value first, everything else the larger value.
    pub fn parse(text: &str) -> Result<Self, String> {
        let key = text.trim();
        if key.is_empty() {
            return Err(format!(
                "--rank-by: empty; give a column ({}) or the name of a Nautilus statistic",
                COLUMNS.join(", ")
            ));
        }
        let lower = key.to_lowercase();
        let better = if lower.contains("drawdown") {
            Better::SmallerLoss
        } else if lower.contains("volatility") {
            Better::Lower
        } else {
            Better::Higher
        };
        Ok(Self {
            key: key.to_string(),
            better,
        })
    }

    /// Whether the key is one of the named columns (statistics are only known after a run).
    #[must_use]
    pub fn is_column(&self) -> bool {
        COLUMNS.contains(&self.key.as_str()) || self.key == "max_drawdown_pct"
    }

    /// The row's value: the named column, else the statistic of that exact name, else the
    /// first (in name order) whose name starts with the key, ignoring case.
    #[must_use]
    pub fn value(&self, row: &Row) -> Option<f64> {
        if self.is_column() {
            return row.column(&self.key);
        }
        if let Some(v) = row.stats.get(&self.key) {
            return Some(*v);
        }
        let lower = self.key.to_lowercase();
        row.stats
            .iter()
            .find(|(k, _)| k.to_lowercase().starts_with(&lower))
            .map(|(_, v)| *v)
    }

    /// The value turned so that larger is better.
    fn score(&self, v: f64) -> f64 {
        match self.better {
            Better::Higher => v,
            Better::Lower => -v,
            Better::SmallerLoss => -v.abs(),
        }
    }
}

/// Sets every row's `rank_value` and `rank` and sorts the rows: first the `ok` runs with a
/// value, best first; then `ok` runs without one; then `faulted` runs (best first), then
/// `error`, then `refused`. Ties, and rows without a value, go by grid index.
pub fn rank(rows: &mut [Row], by: &RankBy) {
    for row in rows.iter_mut() {
        row.rank_value = match row.status {
            Status::Ok | Status::Faulted => by.value(row).filter(|v| v.is_finite()),
            Status::Error | Status::Refused => None,
        };
    }
    rows.sort_by(|a, b| {
        let key = |r: &Row| (r.status, r.rank_value.is_none());
        key(a).cmp(&key(b)).then_with(|| {
            let score = |r: &Row| r.rank_value.map(|v| by.score(v));
            match (score(a), score(b)) {
                (Some(x), Some(y)) => y.total_cmp(&x),
                _ => std::cmp::Ordering::Equal,
            }
            .then(a.index.cmp(&b.index))
        })
    });
    for (i, row) in rows.iter_mut().enumerate() {
        row.rank = i + 1;
    }
}

/// Whether any ranked row has a value for the key (if none does, the key is probably
/// misspelt: see [`stat_names`]).
#[must_use]
pub fn any_value(rows: &[Row]) -> bool {
    rows.iter().any(|r| r.rank_value.is_some())
}

/// The statistic names seen in the rows.
#[must_use]
pub fn stat_names(rows: &[Row]) -> Vec<String> {
    let mut names: Vec<String> = rows.iter().flat_map(|r| r.stats.keys().cloned()).collect();
    names.sort();
    names.dedup();
    names
}

fn num(v: Option<f64>) -> String {
    v.map_or_else(String::new, |v| v.to_string())
}

/// `sweep.csv`: one line per run in rank order; a column per swept parameter; `wall_ms`
/// is the last column.
pub fn csv(rows: &[Row], axes: &[Axis]) -> Result<String, String> {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = vec!["rank".into(), "index".into()];
    header.extend(axes.iter().map(|a| a.name.clone()));
    header.extend(
        [
            "status",
            "rank_value",
            "orders",
            "fills",
            "positions",
            "realized_pnl",
            "unrealized_pnl",
            "pnl_total",
            "max_drawdown_pct",
            "sharpe",
            "sortino",
            "profit_factor",
            "win_rate",
            "expectancy",
            "callbacks",
            "fuel_total",
            "message",
            "wall_ms",
        ]
        .map(String::from),
    );
    let err = |e: ::csv::Error| format!("cannot write the CSV table: {e}");
    w.write_record(&header).map_err(err)?;
    for r in rows {
        let mut rec = vec![r.rank.to_string(), r.index.to_string()];
        rec.extend(axes.iter().map(|a| {
            r.params
                .get(&a.name)
                .map(crate::backtest::param_text)
                .unwrap_or_default()
        }));
        rec.extend([
            r.status.as_str().to_string(),
            num(r.rank_value),
            r.orders.to_string(),
            r.fills.to_string(),
            r.positions.to_string(),
            num(r.realized_pnl),
            num(r.unrealized_pnl),
            num(r.pnl_total),
            num(r.max_drawdown_pct),
            num(r.sharpe),
            num(r.sortino),
            num(r.profit_factor),
            num(r.win_rate),
            num(r.expectancy),
            r.callbacks.to_string(),
            r.fuel_total.to_string(),
            r.message.clone().unwrap_or_default(),
            r.wall_ms.to_string(),
        ]);
        w.write_record(&rec).map_err(err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| format!("cannot write the CSV table: {e}"))?;
    String::from_utf8(bytes).map_err(|e| format!("cannot write the CSV table: {e}"))
}

/// The component swept.
#[derive(Debug, Clone, Serialize)]
pub struct PluginInfo {
    pub name: String,
    pub version: String,
    pub sha256: String,
}

/// The data every run read.
#[derive(Debug, Clone, Serialize)]
pub struct DataInfo {
    /// `--data` as given.
    pub path: String,
    /// sha256 of the `--data` file (`None` for a folder).
    pub sha256: Option<String>,
    pub instrument: String,
    pub events: usize,
    pub first_ts: Option<u64>,
    pub last_ts: Option<u64>,
}

/// The grid: the swept axes and every other parameter's value (same in every run).
#[derive(Debug, Clone, Serialize)]
pub struct GridInfo {
    pub runs: usize,
    pub axes: Vec<Axis>,
    pub fixed: BTreeMap<String, ParamValue>,
}

/// Wall-clock figures of the sweep (the only part of the header that varies between runs).
#[derive(Debug, Clone, Serialize)]
pub struct Timing {
    pub jobs: usize,
    pub wall_seconds: f64,
    pub runs_per_s: f64,
}

/// `sweep.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Document {
    pub format: u32,
    pub plugin: PluginInfo,
    pub data: DataInfo,
    pub balance: String,
    pub settlement_currency: String,
    /// The `--risk` policy's version (`none`: the contract's checks only).
    pub risk_policy: String,
    pub grid: GridInfo,
    pub rank_by: RankBy,
    /// Runs by status.
    pub counts: BTreeMap<&'static str, usize>,
    pub timing: Timing,
    /// In rank order.
    pub rows: Vec<Row>,
}

/// Runs by status, every status present (0 if none).
#[must_use]
pub fn counts(rows: &[Row]) -> BTreeMap<&'static str, usize> {
    let mut out: BTreeMap<&'static str, usize> =
        [Status::Ok, Status::Faulted, Status::Error, Status::Refused]
            .iter()
            .map(|s| (s.as_str(), 0))
            .collect();
    for r in rows {
        *out.entry(r.status.as_str()).or_default() += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn row(index: usize, status: Status, pnl: Option<f64>, dd: f64) -> Row {
        let mut r = Row::without_report(index, BTreeMap::new(), status, String::new());
        r.pnl_total = pnl;
        r.max_drawdown_pct = Some(dd);
        r.stats
            .insert("Sharpe Ratio (252 days)".into(), index as f64);
        r
    }

    fn order(rows: &[Row]) -> Vec<usize> {
        rows.iter().map(|r| r.index).collect()
    }

    #[test]
    fn ranks_best_first_then_missing_then_by_status_ties_by_index() {
        let mut rows = vec![
            row(0, Status::Refused, None, 0.0),
            row(1, Status::Ok, Some(5.0), -3.0),
            row(2, Status::Ok, None, -1.0),
            row(3, Status::Ok, Some(7.0), -2.0),
            row(4, Status::Faulted, Some(100.0), 0.0),
            row(5, Status::Ok, Some(5.0), -0.5),
            row(6, Status::Error, None, 0.0),
        ];
        rank(&mut rows, &RankBy::parse("pnl_total").unwrap());
        assert_eq!(order(&rows), [3, 1, 5, 2, 4, 6, 0]);
        assert_eq!(rows[0].rank, 1);
        assert_eq!(rows[0].rank_value, Some(7.0));

        let by = RankBy::parse("max_drawdown").unwrap();
        assert_eq!(by.better, Better::SmallerLoss);
        rank(&mut rows, &by);
        assert_eq!(order(&rows), [5, 2, 3, 1, 4, 6, 0]);

        let by = RankBy::parse("sharpe ratio").unwrap();
        assert!(!by.is_column());
        rank(&mut rows, &by);
        assert_eq!(order(&rows), [5, 3, 2, 1, 4, 6, 0]);

        assert_eq!(
            RankBy::parse("Returns Volatility").unwrap().better,
            Better::Lower
        );
        assert!(RankBy::parse(" ").is_err());
        rank(&mut rows, &RankBy::parse("nonesuch").unwrap());
        assert!(!any_value(&rows));
        assert_eq!(order(&rows), [1, 2, 3, 5, 4, 6, 0]);
    }

    #[test]
    fn csv_has_a_column_per_axis_and_wall_ms_last() {
        let mut r = row(0, Status::Refused, None, 0.0);
        r.params.insert("fast".into(), ParamValue::Int(5));
        r.message = Some("no, \"fast\" >= slow".into());
        let axes = vec![Axis {
            name: "fast".into(),
            spec: "5".into(),
            values: vec![ParamValue::Int(5)],
        }];
        let text = csv(&[r], &axes).unwrap();
        let mut lines = text.lines();
        let header = lines.next().unwrap();
        assert!(header.starts_with("rank,index,fast,status,"));
        assert!(header.ends_with(",message,wall_ms"));
        assert!(
            lines
                .next()
                .unwrap()
                .contains(",\"no, \"\"fast\"\" >= slow\",0")
        );
    }
}
