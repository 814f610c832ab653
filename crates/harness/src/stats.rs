//! The one statistics module: every median, quantile, mean and confidence interval
//! in the results comes from here, built on statrs.
//!
//! Quantiles follow statrs's `OrderStatistics::quantile` (Hyndman & Fan type 8,
//! approximately median-unbiased), computed on a sorted copy so that infinite
//! values (an overflowed output is infinitely many ULPs off) interpolate to
//! themselves instead of to `inf − inf = NaN`. NaN values are not ordered: they are
//! left out and counted.

use statrs::distribution::{ContinuousCDF, StudentsT};
use statrs::statistics::Statistics;

/// A summary of a sample; every field carries the sample it was computed from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// Values summarised (NaN values excluded).
    pub count: usize,
    /// NaN values left out.
    pub nan_count: usize,
    /// Smallest value (NaN for an empty sample).
    pub min: f64,
    /// Largest value (NaN for an empty sample).
    pub max: f64,
    /// Median (type-8 quantile at 0.5).
    pub median: f64,
    /// 99th percentile (type 8).
    pub p99: f64,
    /// Arithmetic mean.
    pub mean: f64,
    /// Lower end of the 95% Student-t confidence interval of the mean (NaN when
    /// fewer than two values or any value is infinite).
    pub ci95_low: f64,
    /// Upper end of that interval.
    pub ci95_high: f64,
}

/// The type-8 quantile of sorted, NaN-free data at `tau` in [0, 1].
pub fn quantile_sorted(sorted: &[f64], tau: f64) -> f64 {
    let len = sorted.len();
    if len == 0 || !(0.0..=1.0).contains(&tau) {
        return f64::NAN;
    }
    let h = (len as f64 + 1.0 / 3.0) * tau + 1.0 / 3.0;
    let hf = h.floor();
    if hf < 1.0 {
        return sorted[0];
    }
    if hf >= len as f64 {
        return sorted[len - 1];
    }
    let (a, b) = (sorted[hf as usize - 1], sorted[hf as usize]);
    if a == b {
        a
    } else {
        a + (h - hf) * (b - a)
    }
}

/// The median of a sample, NaN values left out (NaN when none is left).
pub fn median(values: &[f64]) -> f64 {
    summarize(values).median
}

/// The fraction `count / total` (NaN when total is 0).
pub fn fraction(count: usize, total: usize) -> f64 {
    if total == 0 {
        f64::NAN
    } else {
        count as f64 / total as f64
    }
}

/// Summarise a sample.
pub fn summarize(values: &[f64]) -> Summary {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    let nan_count = values.len() - sorted.len();
    sorted.sort_by(f64::total_cmp);
    let count = sorted.len();
    if count == 0 {
        return Summary {
            count,
            nan_count,
            min: f64::NAN,
            max: f64::NAN,
            median: f64::NAN,
            p99: f64::NAN,
            mean: f64::NAN,
            ci95_low: f64::NAN,
            ci95_high: f64::NAN,
        };
    }
    // statrs's running mean turns two infinities into inf − inf = NaN; an infinite
    // sample of one sign has that infinity as its mean.
    let (lo, hi) = (sorted[0], sorted[count - 1]);
    let mean = if hi == f64::INFINITY && lo == f64::NEG_INFINITY {
        f64::NAN
    } else if hi == f64::INFINITY {
        hi
    } else if lo == f64::NEG_INFINITY {
        lo
    } else {
        sorted.iter().mean()
    };
    let (ci95_low, ci95_high) = mean_ci95(&sorted, mean);
    Summary {
        count,
        nan_count,
        min: sorted[0],
        max: sorted[count - 1],
        median: quantile_sorted(&sorted, 0.5),
        p99: quantile_sorted(&sorted, 0.99),
        mean,
        ci95_low,
        ci95_high,
    }
}

/// A distribution-free confidence interval of the median at 95% or more: the order
/// statistics x_(j) ≤ median ≤ x_(k) with j the largest rank such that
/// P(Binomial(n, 1/2) < j) ≤ 2.5% and k = n + 1 − j (exact binomial, no normal
/// approximation, so it holds for timing samples of any shape). NaN values are
/// left out; for fewer than 6 values no such interval exists below 100% and the
/// sample's range (min, max) is returned.
pub fn median_ci95(values: &[f64]) -> (f64, f64) {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    // j − 1 is the largest i with P(B ≤ i) ≤ 2.5% (j = 1 when there is none); the
    // binomial terms are accumulated in f64, exact enough for n ≤ 10^4.
    let mut j = 1;
    // Terms in log space: 2^-n underflows for n > 1074.
    let (mut i, mut ln_p) = (0usize, -(n as f64) * std::f64::consts::LN_2);
    let mut cdf = ln_p.exp();
    while cdf <= 0.025 && i + 1 < n {
        j = i + 1;
        i += 1;
        ln_p += ((n - i + 1) as f64 / i as f64).ln();
        cdf += ln_p.exp();
    }
    (sorted[j - 1], sorted[n - j])
}

/// The 95% confidence interval of the mean, mean ± t(0.975, n−1) · s / √n.
fn mean_ci95(values: &[f64], mean: f64) -> (f64, f64) {
    let n = values.len();
    if n < 2 || !mean.is_finite() || values.iter().any(|v| !v.is_finite()) {
        return (f64::NAN, f64::NAN);
    }
    let sd = values.iter().std_dev();
    let Ok(t) = StudentsT::new(0.0, 1.0, (n - 1) as f64) else {
        return (f64::NAN, f64::NAN);
    };
    let half = t.inverse_cdf(0.975) * sd / (n as f64).sqrt();
    (mean - half, mean + half)
}

#[cfg(test)]
mod tests {
    use super::*;
    use statrs::statistics::{Data, OrderStatistics};

    #[test]
    fn quantiles_match_statrs_on_finite_data() {
        let v: Vec<f64> = (0..37).map(|i| ((i * 7919) % 101) as f64 * 0.5).collect();
        let mut sorted = v.clone();
        sorted.sort_by(f64::total_cmp);
        for tau in [0.0, 0.1, 0.25, 0.5, 0.9, 0.99, 1.0] {
            let want = Data::new(v.clone()).quantile(tau);
            assert!(
                (quantile_sorted(&sorted, tau) - want).abs() < 1e-12,
                "{tau}"
            );
        }
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }

    #[test]
    fn infinities_and_nans_are_handled() {
        let s = summarize(&[1.0, f64::INFINITY, f64::INFINITY, f64::NAN]);
        assert_eq!(s.count, 3);
        assert_eq!(s.nan_count, 1);
        assert_eq!(s.median, f64::INFINITY);
        assert_eq!(s.max, f64::INFINITY);
        assert_eq!(s.mean, f64::INFINITY);
        assert!(s.ci95_low.is_nan());
        assert!(summarize(&[f64::NEG_INFINITY, f64::INFINITY]).mean.is_nan());
        let e = summarize(&[]);
        assert_eq!(e.count, 0);
        assert!(e.median.is_nan());
        assert!(fraction(1, 0).is_nan());
        assert_eq!(fraction(1, 4), 0.25);
    }

    #[test]
    fn median_interval_uses_binomial_order_statistics() {
        // n = 15: P(B <= 3) = 0.0176 <= 2.5% < P(B <= 4) = 0.0592, so ranks 4 and 12.
        let v: Vec<f64> = (1..=15).rev().map(f64::from).collect();
        assert_eq!(median_ci95(&v), (4.0, 12.0));
        // n = 5: no interval below 100%; the range.
        assert_eq!(median_ci95(&[5.0, 1.0, 3.0, 2.0, 4.0]), (1.0, 5.0));
        // n = 6: P(B = 0) = 1/64 = 1.6% <= 2.5%, so ranks 1 and 6 (the range again).
        assert_eq!(median_ci95(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]), (1.0, 6.0));
        // n = 9: P(B <= 1) = 10/512 = 1.95%, so ranks 2 and 8.
        let v: Vec<f64> = (1..=9).map(f64::from).collect();
        assert_eq!(median_ci95(&v), (2.0, 8.0));
        assert!(median_ci95(&[]).0.is_nan());
        // n = 2000 (2^-n underflows): the ranks sit about 1.96 √n / 2 = 43.8 from the middle.
        let v: Vec<f64> = (1..=2000).map(f64::from).collect();
        let (lo, hi) = median_ci95(&v);
        assert!(
            (956.0..=958.0).contains(&lo) && hi == 2001.0 - lo,
            "{lo} {hi}"
        );
    }

    #[test]
    fn confidence_interval_uses_students_t() {
        // n = 4, mean 2.5, s = 1.2910, t(0.975, 3) = 3.1824: half-width 2.0543.
        let s = summarize(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(s.mean, 2.5);
        assert!((s.ci95_high - 2.5 - 2.054_35).abs() < 1e-4, "{s:?}");
        assert!((2.5 - s.ci95_low - 2.054_35).abs() < 1e-4, "{s:?}");
    }
}
