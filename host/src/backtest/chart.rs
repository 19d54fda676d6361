//! The equity and drawdown chart of a report, as a standalone HTML page with inline SVG
//! drawn by `plotters` (no scripts, no network).

use plotters::prelude::*;

use super::report::{BacktestReport, EquityPoint};

const WIDTH: u32 = 1000;
const HEIGHT: u32 = 560;

fn ns_to_days(ts: u64, t0: u64) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let d = (ts - t0) as f64 / 86_400e9;
    d
}

/// The balance series of the account's main currency (the one with most points).
fn main_series(equity: &[EquityPoint]) -> (String, Vec<(u64, f64)>) {
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for p in equity {
        *counts.entry(&p.currency).or_default() += 1;
    }
    let currency = counts
        .iter()
        .max_by_key(|(c, n)| (**n, std::cmp::Reverse(**c)))
        .map(|(c, _)| (*c).to_string())
        .unwrap_or_default();
    let series = equity
        .iter()
        .filter(|p| p.currency == currency)
        .map(|p| (p.ts, p.balance))
        .collect();
    (currency, series)
}

/// Drawdown from the running peak, in percent (≤ 0).
#[must_use]
pub fn drawdown(series: &[(u64, f64)]) -> Vec<(u64, f64)> {
    let mut peak = f64::MIN;
    series
        .iter()
        .map(|&(t, v)| {
            peak = peak.max(v);
            let dd = if peak > 0.0 {
                (v - peak) / peak * 100.0
            } else {
                0.0
            };
            (t, dd)
        })
        .collect()
}

fn e<E: std::fmt::Display>(err: E) -> String {
    err.to_string()
}

fn draw(report: &BacktestReport, svg: &mut String) -> Result<(), String> {
    let (currency, mut series) = main_series(&report.equity);
    let t0 = report.first_ts.unwrap_or(0);
    let t1 = report.last_ts.unwrap_or(t0).max(t0 + 1);
    if let (Some(&(_, last)), true) = (series.last(), series.last().is_some_and(|p| p.0 < t1)) {
        series.push((t1, last));
    }
    if series.is_empty() {
        series.push((t0, 0.0));
        series.push((t1, 0.0));
    }
    let dd = drawdown(&series);
    let (lo, hi) = series
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), &(_, v)| {
            (lo.min(v), hi.max(v))
        });
    let pad = ((hi - lo) * 0.05).max(1.0);
    let dd_lo = dd.iter().fold(0.0_f64, |m, &(_, v)| m.min(v)).min(-0.01) * 1.1;
    let days = ns_to_days(t1, t0).max(1e-9);

    let root = SVGBackend::with_string(svg, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(e)?;
    let (top, bottom) = root.split_vertically(HEIGHT * 62 / 100);
    let mut chart = ChartBuilder::on(&top)
        .caption(format!("Account balance ({currency})"), ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(24)
        .y_label_area_size(90)
        .build_cartesian_2d(0.0..days, (lo - pad)..(hi + pad))
        .map_err(e)?;
    chart.configure_mesh().x_desc("days").draw().map_err(e)?;
    chart
        .draw_series(LineSeries::new(
            series.iter().map(|&(t, v)| (ns_to_days(t, t0), v)),
            &BLUE,
        ))
        .map_err(e)?;
    let mut chart = ChartBuilder::on(&bottom)
        .caption("Drawdown (%)", ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(24)
        .y_label_area_size(90)
        .build_cartesian_2d(0.0..days, dd_lo..0.0)
        .map_err(e)?;
    chart.configure_mesh().x_desc("days").draw().map_err(e)?;
    chart
        .draw_series(
            AreaSeries::new(
                dd.iter().map(|&(t, v)| (ns_to_days(t, t0), v)),
                0.0,
                RED.mix(0.3),
            )
            .border_style(RED),
        )
        .map_err(e)?;
    root.present().map_err(e)?;
    Ok(())
}

/// `equity.html`: the chart and a title line.
pub fn html(report: &BacktestReport, title: &str) -> Result<String, String> {
    let mut svg = String::new();
    draw(report, &mut svg)?;
    let escaped: String = title
        .chars()
        .map(|c| match c {
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '&' => "&amp;".to_string(),
            c => c.to_string(),
        })
        .collect();
    Ok(format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{escaped}</title></head>\n<body style=\"font-family:sans-serif\">\n<h1 style=\"font-size:18px\">{escaped}</h1>\n{svg}\n</body></html>\n"
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn drawdown_is_measured_from_the_running_peak() {
        let dd = super::drawdown(&[(0, 100.0), (1, 110.0), (2, 99.0), (3, 120.0)]);
        let v: Vec<f64> = dd.iter().map(|p| p.1).collect();
        assert_eq!(v[0], 0.0);
        assert_eq!(v[1], 0.0);
        assert!((v[2] + 10.0).abs() < 1e-9);
        assert_eq!(v[3], 0.0);
    }
}
