//! Benchmarks behind `stratbox bench ...`. Figures are medians of many samples and are
//! reported as ratios against a baseline measured in the same run, never checked against
//! wall-clock thresholds in tests.

pub mod api;
pub mod backtest;
pub mod callback;
pub mod catalog;
pub mod floor;
pub mod live;
pub mod memory;
pub mod order_path;
pub mod peer;
pub mod risk;
pub mod scaling;
pub mod signals;
pub mod stable;
pub mod swap;
pub mod sweep;

/// Median of `values` (sorted in place); 0 for an empty slice.
#[must_use]
pub fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len().is_multiple_of(2) {
        f64::midpoint(values[mid - 1], values[mid])
    } else {
        values[mid]
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn median_of_odd_and_even() {
        assert_eq!(super::median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(super::median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(super::median(&mut []), 0.0);
    }
}
