//! Gumbel-softmax (Jang, Gu & Poole 2017; Maddison, Mnih & Teh 2017): a relaxed
//! sample y = softmax((x + g)/τ) with g_i independent standard Gumbel noise, and
//! its `hard` form, one-hot at argmax y with the straight-through gradient.
//!
//! The noise is counter-based, so a (seed, row, entry) triple always gives the same
//! value and nothing is stored between calls: for row r (its index within the
//! call's batch) and entry i of a row of n,
//!   c = r·n + i,   b = splitmix64(seed ⊕ (c · 0x9E3779B97F4A7C15)),
//!   u = (⌊b / 2^12⌋ + ½) · 2^−52 ∈ [2^−53, 1 − 2^−53] (the open interval (0, 1)),
//!   g = −ln(−ln u) ∈ [−3.59, 36.7].
//! u keeps 52 random bits, not 53: (m + ½)·2^−53 with m < 2^53 needs 54 bits and
//! rounds to 1 for the largest m (then g = +inf); with 52 bits it is exact.
//!
//! The perturbed logits x + g are formed in f64 and stored in the row's dtype, as
//! frameworks do (in f16 the noise is quantised to the dtype's spacing, and an x
//! within 37 of f16's largest value can overflow to +inf); the softmax of them is
//! `shifted_softmax_row` with `F32ForHalf` arithmetic, so NaN and ±inf follow
//! `softmax_lab_core::special`.
//!
//! Not comparable per output against `reference`: the reference cannot know the
//! noise, so `reference::forward(Function::GumbelSoftmax, ..)` is NaN and these
//! variants are scored by the statistics of their samples (argmax frequencies
//! against softmax(x)). Each call allocates one scratch row (two in backward).

use softmax_lab_core::f32_for_half;
use softmax_lab_core::kernels::{shifted_softmax_row, softmax_vjp_row};
use softmax_lab_core::{
    Accumulation, DType, Element, Family, Function, Registry, TypedKernel, VariantError,
    VariantInfo,
};

/// The 64-bit golden-ratio constant ⌊2^64/φ⌋ of splitmix64.
pub const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// One splitmix64 step from state `x` (Steele, Lea & Flood 2014): the output for
/// state x + golden, through the variant-13 finaliser.
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(GOLDEN);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The uniform u ∈ [2^−53, 1 − 2^−53] of counter `c` under `seed` (module docs).
pub fn uniform(seed: u64, c: u64) -> f64 {
    let b = splitmix64(seed ^ c.wrapping_mul(GOLDEN));
    ((b >> 12) as f64 + 0.5) * softmax_lab_core::dtype::pow2(-52)
}

/// The standard Gumbel sample −ln(−ln u) for entry i of row r of a row length n.
pub fn gumbel_noise(seed: u64, r: usize, n: usize, i: usize) -> f64 {
    let c = (r as u64).wrapping_mul(n as u64).wrapping_add(i as u64);
    -(-uniform(seed, c).ln()).ln()
}

/// Gumbel-softmax with a seed; `hard` gives the one-hot straight-through form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GumbelSoftmax {
    /// The noise seed: the same seed, batch shape and row index give the same sample.
    pub seed: u64,
    /// One-hot output at the argmax (first on ties), gradient of the soft sample.
    pub hard: bool,
}

const SOFT_INFO: VariantInfo = VariantInfo {
    id: "gumbel_softmax",
    family: Family::Stable,
    function: Function::GumbelSoftmax,
    description: "softmax((x + g)/T) with counter-based Gumbel noise g (seed 0); scored by its samples' statistics, not per output",
    dtypes: &DType::ALL,
    accumulation: Accumulation::F32ForHalf,
    formula: None,
    has_backward: true,
    temperature: true,
};

const HARD_INFO: VariantInfo = VariantInfo {
    id: "gumbel_softmax_hard",
    family: Family::Stable,
    function: Function::GumbelSoftmax,
    description: "one-hot at argmax of gumbel_softmax (seed 0); backward is the straight-through gradient of the soft sample",
    dtypes: &DType::ALL,
    accumulation: Accumulation::F32ForHalf,
    formula: None,
    has_backward: true,
    temperature: true,
};

impl GumbelSoftmax {
    /// A Gumbel-softmax with this seed, soft or hard.
    pub fn new(seed: u64, hard: bool) -> GumbelSoftmax {
        GumbelSoftmax { seed, hard }
    }

    /// x + g for row r, rounded once to T.
    fn perturb<T: Element>(&self, x: &[T], r: usize, z: &mut [T]) {
        let n = x.len();
        for (i, (zi, xi)) in z.iter_mut().zip(x).enumerate() {
            *zi = T::from_f64(xi.to_f64() + gumbel_noise(self.seed, r, n, i));
        }
    }

    fn forward_typed<T: Element>(&self, x: &[T], n: usize, t: f64, out: &mut [T]) {
        let mut z = vec![T::ZERO; n];
        for (r, (xr, or)) in x.chunks_exact(n).zip(out.chunks_exact_mut(n)).enumerate() {
            self.perturb(xr, r, &mut z);
            f32_for_half!(shifted_softmax_row::<T>(&z, t, or));
            if self.hard {
                one_hot_at_argmax(or);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn backward_typed<T: Element>(
        &self,
        x: &[T],
        y: &[T],
        dy: &[T],
        n: usize,
        t: f64,
        dx: &mut [T],
    ) {
        let mut z = vec![T::ZERO; n];
        let mut soft = vec![T::ZERO; if self.hard { n } else { 0 }];
        let rows = x
            .chunks_exact(n)
            .zip(y.chunks_exact(n))
            .zip(dy.chunks_exact(n))
            .zip(dx.chunks_exact_mut(n));
        for (r, (((xr, yr), gr), dr)) in rows.enumerate() {
            self.perturb(xr, r, &mut z);
            let y_soft: &[T] = if self.hard {
                // Straight-through: the VJP of the soft sample the one-hot came from.
                f32_for_half!(shifted_softmax_row::<T>(&z, t, &mut soft));
                &soft
            } else {
                yr
            };
            f32_for_half!(softmax_vjp_row::<T>(&z, y_soft, gr, t, dr));
        }
    }
}

/// Replace a probability row by one-hot at its largest entry (the first on ties);
/// a NaN row stays NaN.
fn one_hot_at_argmax<T: Element>(y: &mut [T]) {
    if y.iter().any(|v| v.is_nan()) {
        return;
    }
    let mut k = 0;
    for (i, v) in y.iter().enumerate() {
        if *v > y[k] {
            k = i;
        }
    }
    y.fill(T::ZERO);
    y[k] = T::ONE;
}

/// Forward over a batch (the row index within it feeds the noise).
fn forward_batch<T: Element>(
    g: &GumbelSoftmax,
    x: &[T],
    n: usize,
    t: f64,
    out: &mut [T],
) -> Result<(), VariantError> {
    g.forward_typed(x, n, t, out);
    Ok(())
}

/// Backward over a batch.
#[allow(clippy::too_many_arguments)]
fn backward_batch<T: Element>(
    g: &GumbelSoftmax,
    x: &[T],
    y: &[T],
    dy: &[T],
    n: usize,
    t: f64,
    dx: &mut [T],
) -> Result<(), VariantError> {
    g.backward_typed(x, y, dy, n, t, dx);
    Ok(())
}

impl TypedKernel for GumbelSoftmax {
    fn kernel_info(&self) -> &VariantInfo {
        if self.hard {
            &HARD_INFO
        } else {
            &SOFT_INFO
        }
    }

    softmax_lab_core::typed_kernel_methods!(forward_batch, backward_batch);
}

/// Register `gumbel_softmax` and `gumbel_softmax_hard`, seed 0.
pub fn register(r: &mut Registry) {
    r.register(GumbelSoftmax::new(0, false));
    r.register(GumbelSoftmax::new(0, true));
}

#[cfg(test)]
mod tests {
    use super::*;
    use softmax_lab_core::variant::{forward_backward_f64, forward_f64};
    use softmax_lab_core::Options;
    use statrs::distribution::{ChiSquared, ContinuousCDF};

    fn sample(v: &GumbelSoftmax, dtype: DType, x: &[f64], n: usize, t: f64) -> Vec<f64> {
        forward_f64(v, dtype, x, n, &Options { temperature: t }).expect("runs")
    }

    #[test]
    fn uniforms_stay_inside_the_open_interval() {
        let lo = softmax_lab_core::dtype::pow2(-53);
        assert_eq!(lo, 0.5 * softmax_lab_core::dtype::pow2(-52));
        // The extremes of b >> 12, mapped exactly.
        let top = ((u64::MAX >> 12) as f64 + 0.5) * softmax_lab_core::dtype::pow2(-52);
        assert_eq!(top, 1.0 - lo);
        assert!(-(-top.ln()).ln() < 37.0);
        let mut sum = 0.0;
        let (mut g_sum, mut g_sq) = (0.0, 0.0);
        let m = 200_000;
        for c in 0..m {
            let u = uniform(7, c);
            assert!(u > 0.0 && u < 1.0);
            sum += u;
            let g = gumbel_noise(7, 0, m as usize, c as usize);
            g_sum += g;
            g_sq += g * g;
        }
        let mf = m as f64;
        // Uniform mean 1/2 (sd 0.29/√m = 6.5e-4); Gumbel mean γ_E = 0.5772, variance
        // π²/6 = 1.645 (sd of the mean 2.9e-3): five standard errors each.
        assert!((sum / mf - 0.5).abs() < 5.0 * 0.2887 / mf.sqrt());
        let mean = g_sum / mf;
        let var = g_sq / mf - mean * mean;
        assert!(
            (mean - 0.577_215_664_9).abs() < 5.0 * (1.645f64 / mf).sqrt(),
            "{mean}"
        );
        assert!(
            (var - std::f64::consts::PI.powi(2) / 6.0).abs() < 0.05,
            "{var}"
        );
    }

    #[test]
    fn same_seed_same_samples_other_seed_other_samples() {
        let x: Vec<f64> = (0..64).map(|i| (i as f64 * 0.37).sin()).collect();
        for dtype in DType::ALL {
            let a = sample(&GumbelSoftmax::new(42, false), dtype, &x, 16, 1.0);
            let b = sample(&GumbelSoftmax::new(42, false), dtype, &x, 16, 1.0);
            let c = sample(&GumbelSoftmax::new(43, false), dtype, &x, 16, 1.0);
            assert_eq!(a, b, "{dtype}");
            let differ = a.iter().zip(&c).filter(|(p, q)| p != q).count();
            assert!(differ > 48, "{dtype}: only {differ} of 64 differ");
            // Rows of one batch get different noise too.
            assert_ne!(a[..16], a[16..32], "{dtype}");
            // Every dtype gives a distribution per row.
            for row in a.chunks(16) {
                let s: f64 = row.iter().sum();
                assert!((s - 1.0).abs() < 0.05, "{dtype}: {s}");
            }
        }
    }

    /// The Gumbel-max trick: argmax(x + g) is distributed as softmax(x), whatever
    /// τ. Pearson's χ² over 20 000 rows of x = [1, 0.5, 0, −1], 3 degrees of freedom.
    #[test]
    fn argmax_samples_follow_softmax() {
        let logits = [1.0, 0.5, 0.0, -1.0];
        let rows = 20_000;
        let x: Vec<f64> = logits.iter().cycle().take(4 * rows).copied().collect();
        let z: f64 = logits.iter().map(|v: &f64| v.exp()).sum();
        for (seed, t) in [(0u64, 1.0), (1234, 0.5)] {
            let y = sample(&GumbelSoftmax::new(seed, true), DType::F64, &x, 4, t);
            let mut counts = [0usize; 4];
            for row in y.chunks(4) {
                let k = row.iter().position(|&v| v == 1.0).expect("one-hot");
                counts[k] += 1;
            }
            let stat: f64 = logits
                .iter()
                .zip(counts)
                .map(|(v, o)| {
                    let e = rows as f64 * v.exp() / z;
                    (o as f64 - e).powi(2) / e
                })
                .sum();
            let p = 1.0 - ChiSquared::new(3.0).expect("df > 0").cdf(stat);
            eprintln!(
                "gumbel argmax seed {seed} T {t}: counts {counts:?}, chi2 {stat:.3}, p {p:.4}"
            );
            assert!(p > 0.001, "seed {seed}: chi2 {stat} p {p}");
        }
    }

    #[test]
    fn hard_is_one_hot_at_the_soft_argmax() {
        let x: Vec<f64> = (0..300)
            .map(|i| ((i * 7 % 13) as f64 - 6.0) * 0.3)
            .collect();
        for dtype in DType::ALL {
            let soft = sample(&GumbelSoftmax::new(5, false), dtype, &x, 10, 2.0);
            let hard = sample(&GumbelSoftmax::new(5, true), dtype, &x, 10, 2.0);
            for (s, h) in soft.chunks(10).zip(hard.chunks(10)) {
                assert_eq!(h.iter().filter(|&&v| v == 1.0).count(), 1, "{dtype}");
                assert_eq!(h.iter().filter(|&&v| v == 0.0).count(), 9, "{dtype}");
                let k = h.iter().position(|&v| v == 1.0).unwrap_or(usize::MAX);
                let first_max = s
                    .iter()
                    .position(|&v| v == s.iter().cloned().fold(f64::MIN, f64::max));
                assert_eq!(Some(k), first_max, "{dtype}");
            }
        }
    }

    #[test]
    fn straight_through_gradient_is_the_soft_gradient() {
        let x: Vec<f64> = (0..40).map(|i| (i as f64 * 0.91).cos() * 3.0).collect();
        let dy: Vec<f64> = (0..40).map(|i| (i as f64 * 1.3).sin()).collect();
        let opts = Options { temperature: 0.7 };
        for dtype in DType::ALL {
            let soft = GumbelSoftmax::new(9, false);
            let hard = GumbelSoftmax::new(9, true);
            let (_, ds) = forward_backward_f64(&soft, dtype, &x, &dy, 8, &opts).expect("soft");
            let (yh, dh) = forward_backward_f64(&hard, dtype, &x, &dy, 8, &opts).expect("hard");
            assert_eq!(ds, dh, "{dtype}");
            assert!(yh.iter().all(|&v| v == 0.0 || v == 1.0));
            assert!(ds.iter().any(|&v| v != 0.0), "{dtype}");
        }
    }

    /// The soft backward is the derivative of the soft forward (f64, central
    /// differences at the same seed and row).
    #[test]
    fn soft_backward_matches_finite_differences() {
        let v = GumbelSoftmax::new(3, false);
        let x = [0.4, -1.0, 2.0, 0.1, -0.3];
        let dy = [1.0, -0.5, 0.25, 2.0, -1.0];
        let opts = Options { temperature: 1.5 };
        let (_, dx) = forward_backward_f64(&v, DType::F64, &x, &dy, 5, &opts).expect("runs");
        let loss = |z: &[f64]| -> f64 {
            let y = forward_f64(&v, DType::F64, z, 5, &opts).expect("runs");
            y.iter().zip(&dy).map(|(a, b)| a * b).sum()
        };
        for i in 0..5 {
            let h = 1e-6;
            let (mut up, mut down) = (x, x);
            up[i] += h;
            down[i] -= h;
            let fd = (loss(&up) - loss(&down)) / (2.0 * h);
            assert!((fd - dx[i]).abs() < 1e-8, "{i}: {fd} vs {}", dx[i]);
        }
    }

    #[test]
    fn special_rows_follow_core_rules_through_the_noise() {
        let inf = f64::INFINITY;
        let v = GumbelSoftmax::new(0, false);
        let y = sample(&v, DType::F32, &[1.0, inf, -inf], 3, 1.0);
        assert_eq!(y, [0.0, 1.0, 0.0]);
        let y = sample(&v, DType::F32, &[1.0, f64::NAN], 2, 1.0);
        assert!(y.iter().all(|v| v.is_nan()));
        let h = sample(
            &GumbelSoftmax::new(0, true),
            DType::F32,
            &[1.0, f64::NAN],
            2,
            1.0,
        );
        assert!(h.iter().all(|v| v.is_nan()));
    }
}
