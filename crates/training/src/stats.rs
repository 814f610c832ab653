//! The statistics of head comparisons (statrs): means with Student-t intervals, the
//! paired t test over seeds, standard deviations with chi-square intervals and the
//! Pitman–Morgan test of two paired variances.
//!
//! (The harness has its own summary module for its measurements; this crate sits
//! below the harness and cannot use it.)

use statrs::distribution::{ChiSquared, ContinuousCDF, StudentsT};

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

#[cfg(test)]
mod tests {
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
