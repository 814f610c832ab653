//! The one statistics module: every median, quantile, mean and confidence interval
//! in the results, the report and the training study comes from here, built on
//! statrs — summaries of measurements (below) and the tests of head comparisons
//! (means with Student-t intervals, the paired t test over seeds, standard
//! deviations with chi-square intervals, the Pitman–Morgan test of two paired
//! variances, the two one-sided tests of equivalence within a margin, Wilson
//! intervals of proportions and the exact sign test).
//!
//! Quantiles follow statrs's `OrderStatistics::quantile` (Hyndman & Fan type 8,
//! approximately median-unbiased), computed on a sorted copy so that infinite
//! values (an overflowed output is infinitely many ULPs off) interpolate to
//! themselves instead of to `inf − inf = NaN`. NaN values are not ordered: they are
//! left out and counted.

use statrs::distribution::{ChiSquared, ContinuousCDF, StudentsT};
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

/// The median of the finite values, infinities left out as well as NaN (NaN when
/// none is left): what the report states of a set of measured figures.
pub fn median_finite(values: &[f64]) -> f64 {
    let finite: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    median(&finite)
}

/// The arithmetic mean (sum / count) of the values that are not NaN, infinities
/// kept (NaN when none): a macro average over classes some of which have no score.
pub fn mean_non_nan(values: &[f64]) -> f64 {
    let kept: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if kept.is_empty() {
        f64::NAN
    } else {
        mean(&kept)
    }
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
    let (ci95_low, ci95_high) = t_interval(&sorted, mean);
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
fn t_interval(values: &[f64], mean: f64) -> (f64, f64) {
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

// ---- Comparisons over seeds (the training study) ----

/// A sample's centre with its 95% interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    /// The estimate (a mean or a standard deviation).
    pub value: f64,
    /// Lower end of its 95% interval (NaN when it cannot be formed).
    pub ci95_low: f64,
    /// Upper end.
    pub ci95_high: f64,
}

/// The outcome of a two-sided test.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Test {
    /// The t statistic (positive when a is larger).
    pub t: f64,
    /// Degrees of freedom.
    pub df: f64,
    /// Two-sided p-value.
    pub p: f64,
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Sample standard deviation (n − 1).
fn sd(v: &[f64]) -> f64 {
    let m = mean(v);
    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() as f64 - 1.0)).sqrt()
}

fn t_quantile(df: f64, q: f64) -> f64 {
    StudentsT::new(0.0, 1.0, df).map_or(f64::NAN, |t| t.inverse_cdf(q))
}

fn two_sided(t: f64, df: f64) -> f64 {
    if t.is_nan() {
        return f64::NAN;
    }
    StudentsT::new(0.0, 1.0, df).map_or(f64::NAN, |d| 2.0 * d.sf(t.abs()))
}

/// The mean with mean ± t(0.975, n − 1) · s / √n (NaN values make everything NaN).
pub fn mean_ci95(v: &[f64]) -> Estimate {
    let n = v.len();
    if n == 0 || v.iter().any(|x| !x.is_finite()) {
        let m = if n == 0 { f64::NAN } else { mean(v) };
        return Estimate {
            value: m,
            ci95_low: f64::NAN,
            ci95_high: f64::NAN,
        };
    }
    let m = mean(v);
    if n < 2 {
        return Estimate {
            value: m,
            ci95_low: f64::NAN,
            ci95_high: f64::NAN,
        };
    }
    let half = t_quantile((n - 1) as f64, 0.975) * sd(v) / (n as f64).sqrt();
    Estimate {
        value: m,
        ci95_low: m - half,
        ci95_high: m + half,
    }
}

/// The sample standard deviation with its chi-square 95% interval
/// [s √((n−1)/χ²(0.975)), s √((n−1)/χ²(0.025))].
pub fn sd_ci95(v: &[f64]) -> Estimate {
    let n = v.len();
    if n < 2 || v.iter().any(|x| !x.is_finite()) {
        return Estimate {
            value: if n < 2 { f64::NAN } else { sd(v) },
            ci95_low: f64::NAN,
            ci95_high: f64::NAN,
        };
    }
    let s = sd(v);
    let df = (n - 1) as f64;
    let Ok(chi) = ChiSquared::new(df) else {
        return Estimate {
            value: s,
            ci95_low: f64::NAN,
            ci95_high: f64::NAN,
        };
    };
    Estimate {
        value: s,
        ci95_low: s * (df / chi.inverse_cdf(0.975)).sqrt(),
        ci95_high: s * (df / chi.inverse_cdf(0.025)).sqrt(),
    }
}

/// The paired t test of mean(a − b) = 0 over n pairs (df n − 1). Identical
/// differences give t = 0, p = 1 when they are all zero and t = ±inf, p = 0
/// otherwise; a non-finite value anywhere gives NaN.
pub fn paired_t(a: &[f64], b: &[f64]) -> Test {
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let n = d.len();
    let df = n as f64 - 1.0;
    if n < 2 || d.iter().any(|x| !x.is_finite()) {
        return Test {
            t: f64::NAN,
            df,
            p: f64::NAN,
        };
    }
    let (m, s) = (mean(&d), sd(&d));
    if s == 0.0 {
        return if m == 0.0 {
            Test { t: 0.0, df, p: 1.0 }
        } else {
            Test {
                t: m.signum() * f64::INFINITY,
                df,
                p: 0.0,
            }
        };
    }
    let t = m / (s / (n as f64).sqrt());
    Test {
        t,
        df,
        p: two_sided(t, df),
    }
}

/// The Pitman–Morgan test of var(a) = var(b) for paired samples: the correlation r
/// of (a + b) with (a − b) is zero exactly when the variances are equal (its sign
/// is the sign of var(a) − var(b)); t = r √(n − 2) / √(1 − r²) with n − 2 degrees
/// of freedom. Where a + b or a − b is constant the variances are equal: t = 0, p = 1.
pub fn pitman_morgan(a: &[f64], b: &[f64]) -> Test {
    let n = a.len().min(b.len());
    let df = n as f64 - 2.0;
    if n < 3 || a.iter().chain(b).any(|x| !x.is_finite()) {
        return Test {
            t: f64::NAN,
            df,
            p: f64::NAN,
        };
    }
    let s: Vec<f64> = a.iter().zip(b).map(|(x, y)| x + y).collect();
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let (ms, md) = (mean(&s), mean(&d));
    let cov: f64 = s.iter().zip(&d).map(|(x, y)| (x - ms) * (y - md)).sum();
    let vs: f64 = s.iter().map(|x| (x - ms).powi(2)).sum();
    let vd: f64 = d.iter().map(|y| (y - md).powi(2)).sum();
    // Relative to the spread of a and b: rounding leaves a "constant" sum or
    // difference with a variance of order ε² of theirs.
    let spread: f64 = a.iter().chain(b).map(|x| x * x).sum::<f64>() * 1e-24;
    if vs <= spread || vd <= spread {
        return Test { t: 0.0, df, p: 1.0 };
    }
    let r = (cov / (vs * vd).sqrt()).clamp(-1.0, 1.0);
    if r.abs() == 1.0 {
        return Test {
            t: r * f64::INFINITY,
            df,
            p: 0.0,
        };
    }
    let t = r * df.sqrt() / (1.0 - r * r).sqrt();
    Test {
        t,
        df,
        p: two_sided(t, df),
    }
}

/// A paired difference: mean(a − b) with its 95% Student-t interval, the paired
/// t test of zero difference, and the two one-sided tests (TOST) of equivalence
/// within ±`margin`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PairedDiff {
    /// mean(a − b) with its 95% interval.
    pub diff: Estimate,
    /// The paired t test of mean(a − b) = 0.
    pub test: Test,
    /// The equivalence margin δ.
    pub margin: f64,
    /// The TOST p-value: the larger of the one-sided p-values of
    /// H0: mean ≤ −δ and H0: mean ≥ +δ; below α, the difference is shown to lie in
    /// (−δ, δ) at level α (NaN when it cannot be formed).
    pub p_equivalence: f64,
}

/// [`PairedDiff`] of the pairs (a_i, b_i). With identical differences the TOST
/// p-value is 0 when |mean| < δ and 1 otherwise.
pub fn paired_diff(a: &[f64], b: &[f64], margin: f64) -> PairedDiff {
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let diff = mean_ci95(&d);
    let test = paired_t(a, b);
    let n = d.len();
    let p_equivalence = if n < 2 || d.iter().any(|x| !x.is_finite()) || margin.is_nan() {
        f64::NAN
    } else {
        let (m, s) = (mean(&d), sd(&d));
        if s == 0.0 {
            if m.abs() < margin {
                0.0
            } else {
                1.0
            }
        } else {
            let se = s / (n as f64).sqrt();
            let df = n as f64 - 1.0;
            StudentsT::new(0.0, 1.0, df).map_or(f64::NAN, |t| {
                let p_low = t.sf((m + margin) / se);
                let p_high = t.cdf((m - margin) / se);
                p_low.max(p_high)
            })
        }
    };
    PairedDiff {
        diff,
        test,
        margin,
        p_equivalence,
    }
}

/// The Wilson score 95% interval of a proportion k/n: (estimate, low, high); NaN
/// when n = 0.
pub fn wilson_ci95(k: usize, n: usize) -> Estimate {
    if n == 0 {
        return Estimate {
            value: f64::NAN,
            ci95_low: f64::NAN,
            ci95_high: f64::NAN,
        };
    }
    let z = 1.959_963_984_540_054;
    let (kf, nf) = (k as f64, n as f64);
    let p = kf / nf;
    let denom = 1.0 + z * z / nf;
    let centre = (p + z * z / (2.0 * nf)) / denom;
    let half = z * (p * (1.0 - p) / nf + z * z / (4.0 * nf * nf)).sqrt() / denom;
    Estimate {
        value: p,
        ci95_low: (centre - half).max(0.0),
        ci95_high: (centre + half).min(1.0),
    }
}

/// The two-sided exact sign test of `wins` against `losses` (ties left out):
/// twice the smaller binomial(wins + losses, ½) tail, at most 1; 1 when there is
/// no decided pair.
pub fn sign_test(wins: usize, losses: usize) -> f64 {
    let n = wins + losses;
    if n == 0 {
        return 1.0;
    }
    let k = wins.min(losses);
    // Σ_{i ≤ k} C(n, i) / 2^n, in logs (n is a count of seeds: small).
    let ln_c = |i: usize| -> f64 {
        (1..=i)
            .map(|j| ((n - i + j) as f64).ln() - (j as f64).ln())
            .sum()
    };
    let tail: f64 = (0..=k)
        .map(|i| (ln_c(i) - n as f64 * std::f64::consts::LN_2).exp())
        .sum();
    (2.0 * tail).min(1.0)
}

/// Mean and sample standard deviation of the finite values (NaN when none; the
/// standard deviation is NaN for one value).
pub fn mean_sd(values: &[f64]) -> (f64, f64) {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let m = mean(&v);
    if v.len() < 2 {
        return (m, f64::NAN);
    }
    (m, sd(&v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use statrs::statistics::{Data, OrderStatistics};

    #[test]
    fn equivalence_shown_only_when_the_interval_sits_inside_the_margin() {
        // Differences 0.001 ± small: inside ±0.01, equivalent; the t test is null.
        let a = [0.90, 0.91, 0.92, 0.905, 0.915, 0.90, 0.91, 0.92];
        let b: Vec<f64> = a
            .iter()
            .enumerate()
            .map(|(i, x)| x - 0.001 + 0.0005 * (i % 2) as f64)
            .collect();
        let d = paired_diff(&a, &b, 0.01);
        assert!(d.p_equivalence < 1e-6, "{d:?}");
        assert!(d.diff.ci95_low > -0.01 && d.diff.ci95_high < 0.01);
        // The same differences with a margin below them: not equivalent.
        assert!(paired_diff(&a, &b, 0.0005).p_equivalence > 0.5);
        // Noisy differences of mean 0: neither different nor equivalent.
        let c = [0.9, 0.7, 0.95, 0.6, 0.85];
        let e = [0.7, 0.9, 0.6, 0.95, 0.85];
        let n = paired_diff(&c, &e, 0.01);
        assert!(n.test.p > 0.5 && n.p_equivalence > 0.3, "{n:?}");
    }

    #[test]
    fn wilson_interval_and_sign_test() {
        let w = wilson_ci95(8, 10);
        assert_eq!(w.value, 0.8);
        // Wilson's 95% interval for 8/10: 0.490–0.943.
        assert!((w.ci95_low - 0.4902).abs() < 1e-3 && (w.ci95_high - 0.9433).abs() < 1e-3);
        assert_eq!(wilson_ci95(0, 5).ci95_low, 0.0);
        assert!(wilson_ci95(0, 0).value.is_nan());
        // 10 of 10: p = 2/1024; 5 of 10: 1.
        assert!((sign_test(10, 0) - 2.0 / 1024.0).abs() < 1e-12);
        assert_eq!(sign_test(5, 5), 1.0);
        // 8 vs 2: 2 × (1 + 10 + 45)/1024.
        assert!((sign_test(8, 2) - 112.0 / 1024.0).abs() < 1e-12);
        assert_eq!(sign_test(0, 0), 1.0);
    }

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
        assert_eq!(
            median_finite(&[3.0, f64::NAN, f64::INFINITY, 1.0, 2.0]),
            2.0
        );
        assert!(median_finite(&[f64::INFINITY]).is_nan());
        assert_eq!(mean_non_nan(&[1.0, f64::NAN, 2.0]), 1.5);
        assert_eq!(mean_non_nan(&[1.0, f64::INFINITY]), f64::INFINITY);
        assert!(mean_non_nan(&[f64::NAN]).is_nan());
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

#[cfg(test)]
mod comparison_tests {
    use super::*;

    #[test]
    fn paired_t_matches_a_hand_computation() {
        // d = (1, 2, 3, 4): mean 2.5, s 1.29099, t = 2.5 / (1.29099 / 2) = 3.87298;
        // two-sided p with 3 df = 0.030466 (scipy.stats.ttest_rel).
        let t = paired_t(&[2.0, 4.0, 6.0, 8.0], &[1.0, 2.0, 3.0, 4.0]);
        assert!((t.t - 3.872_983).abs() < 1e-6, "{t:?}");
        assert!((t.p - 0.030_466).abs() < 1e-5, "{t:?}");
        assert_eq!(paired_t(&[1.0, 2.0], &[1.0, 2.0]).p, 1.0);
        assert_eq!(paired_t(&[2.0, 3.0], &[1.0, 2.0]).p, 0.0);
    }

    #[test]
    fn intervals() {
        // n = 4, mean 2.5, s = 1.2910, t(0.975, 3) = 3.1824: half-width 2.0543.
        let e = mean_ci95(&[1.0, 2.0, 3.0, 4.0]);
        assert!((e.ci95_high - 2.5 - 2.054_35).abs() < 1e-4, "{e:?}");
        // s = 1.2910 with 3 df: chi2(0.975) = 9.3484, chi2(0.025) = 0.21580.
        let s = sd_ci95(&[1.0, 2.0, 3.0, 4.0]);
        assert!(
            (s.ci95_low - 1.290_994 * (3.0f64 / 9.348_404).sqrt()).abs() < 1e-5,
            "{s:?}"
        );
        assert!(
            (s.ci95_high - 1.290_994 * (3.0f64 / 0.215_795).sqrt()).abs() < 1e-4,
            "{s:?}"
        );
    }

    #[test]
    fn pitman_morgan_detects_unequal_variances() {
        // b twice as spread as a around the same pattern plus noise: r < 0, small p.
        let a = [0.1, -0.2, 0.15, 0.05, -0.1, 0.0, 0.2, -0.15, 0.1, -0.05];
        let b: Vec<f64> = a
            .iter()
            .enumerate()
            .map(|(i, x)| 3.0 * x + 0.01 * i as f64)
            .collect();
        let t = pitman_morgan(&a, &b);
        assert!(t.t < 0.0 && t.p < 1e-3, "{t:?}");
        // Equal variances by construction (b = a mirrored): t = 0 exactly? a + b const.
        let mirrored: Vec<f64> = a.iter().map(|x| 1.0 - x).collect();
        assert_eq!(pitman_morgan(&a, &mirrored).p, 1.0);
    }
}
