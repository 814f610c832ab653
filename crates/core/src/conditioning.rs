//! Componentwise relative condition numbers: how much each output of softmax,
//! log-softmax, sigmoid and sparsemax can move, relative to itself, when every
//! input is perturbed by a relative amount ε — so that a measured error can be
//! read against what the problem itself allows.
//!
//! Definition (Blanchard, D. J. Higham & N. J. Higham 2021, "Accurately computing
//! the log-sum-exp and softmax functions", IMA J. Numer. Anal. 41(4), §2; the
//! componentwise form is that of N. J. Higham, *Accuracy and Stability of
//! Numerical Algorithms*, 2nd ed., SIAM 2002, §1.6): for an output f_i of x,
//!
//!   κ_i(x) = lim_{ε→0} sup { |f_i(x + Δx) − f_i(x)| / (ε |f_i(x)|) : |Δx_j| ≤ ε |x_j| }
//!          = Σ_j |∂f_i/∂x_j| |x_j| / |f_i(x)|.
//!
//! An algorithm that is componentwise backward stable (its output is the exact
//! f_i of inputs perturbed by c·n·u relative, then rounded) has relative error at
//! most (c·n·κ_i + 1)·u: the ratio error / (κ_i u) stays below a small multiple of
//! n. That is the yardstick of the `max_err_over_kappa_u` column.
//!
//! The temperature enters as x/T: a relative perturbation of x_j is the same
//! relative perturbation of x_j / T, so every formula below holds with x replaced
//! by w = x / T (T is taken as exact).
//!
//! Derivations, y the exact output, w = x/T:
//! - **softmax** y_i = e^{w_i} / Σ_j e^{w_j}: ∂y_i/∂w_j = y_i (δ_ij − y_j), so
//!   κ_i = Σ_j |δ_ij − y_j| |w_j| = |w_i| (1 − y_i) + Σ_{j≠i} |w_j| y_j.
//!   It does not depend on y_i's size: a tiny probability is as well conditioned
//!   as its logits are small.
//! - **log-softmax** z_i = w_i − ln Σ_j e^{w_j}: ∂z_i/∂w_j = δ_ij − y_j, the same
//!   numerator, divided by |z_i|: κ_i = (|w_i| (1 − y_i) + Σ_{j≠i} |w_j| y_j) / |z_i|.
//!   The dominant entry of a nearly one-hot row has z_i ≈ −s' tiny and a numerator
//!   of about |w_i| s' + Σ |w_j| y_j, so κ_i stays moderate: its exact value is
//!   well determined, which is why losing it (ln(1 + s') rounded) is the
//!   algorithm's fault, not the problem's.
//! - **sigmoid** σ(x): σ' = σ(1 − σ), so κ = |x| σ(x)(1 − σ(x)) / σ(x) = |x| σ(−x)
//!   (elementwise, no temperature).
//! - **sparsemax** y = [w − τ]_+ with τ = (Σ_{j∈S} w_j − 1)/|S| on the support S
//!   (Martins & Astudillo 2016): locally, for i ∈ S, ∂y_i/∂w_j = δ_ij − 1/|S|
//!   (j ∈ S) and 0 off S, so κ_i = (|w_i| (1 − 1/|S|) + Σ_{j∈S, j≠i} |w_j| / |S|) / y_i;
//!   off the support y_i = 0 is locally constant: κ_i = 0.
//!
//! Conventions: a −inf input (masked) carries no mass and contributes 0 (the limit
//! of |w| e^{w}), and its own output (0, or −inf for log-softmax) cannot move: κ = 0; an output whose exact value is 0 gets κ = 0 when its numerator is
//! 0 (n = 1, the entry of a one-hot limit) and is otherwise not scored; rows that
//! are NaN or have +inf (see `special`) get NaN, meaning "not defined". κ is
//! evaluated from the reference values in f64: a condition number needs few digits.

use crate::dtype::DType;
use crate::measure::relative_error;
use crate::reference;
use crate::special::{classify, RowClass};
use crate::variant::Function;
use crate::xd::Xd;

/// |w| · weight, with a −inf (masked) input contributing 0 whatever the weight.
fn weighted(w: f64, weight: f64) -> f64 {
    if w.is_infinite() || weight == 0.0 {
        0.0
    } else {
        w.abs() * weight
    }
}

/// For each i, Σ_{j≠i} v_j of non-negative values: the total less v_i, except for
/// the largest v_i, whose sum of the others is formed directly — it can be nearly
/// the whole total (a nearly one-hot row), and the difference would cancel.
fn sums_of_others(v: &[f64]) -> Vec<f64> {
    let total: f64 = v.iter().sum();
    let big = (0..v.len())
        .max_by(|&a, &b| v[a].total_cmp(&v[b]))
        .unwrap_or(0);
    let others_of_big: f64 = v
        .iter()
        .enumerate()
        .filter(|&(j, _)| j != big)
        .map(|(_, x)| x)
        .sum();
    (0..v.len())
        .map(|i| {
            if i == big {
                others_of_big
            } else {
                (total - v[i]).max(0.0)
            }
        })
        .collect()
}

/// The softmax numerators |w_i| (1 − y_i) + Σ_{j≠i} |w_j| y_j for a row with
/// softmax y (f64), w = x / T; 1 − y_i is formed as Σ_{j≠i} y_j (no cancellation).
fn softmax_numerators(w: &[f64], y: &[f64]) -> Vec<f64> {
    let terms: Vec<f64> = w.iter().zip(y).map(|(&wj, &yj)| weighted(wj, yj)).collect();
    let others = sums_of_others(&terms);
    let one_minus_y = sums_of_others(y);
    w.iter()
        .enumerate()
        .map(|(i, &wi)| {
            if wi == f64::NEG_INFINITY {
                return 0.0; // a masked output is 0 whatever the perturbation
            }
            weighted(wi, one_minus_y[i]) + others[i]
        })
        .collect()
}

/// κ_i of softmax(x / T) for each entry of one row (NaN on special rows).
pub fn softmax(x: &[f64], t: f64) -> Vec<f64> {
    if !matches!(classify(x), RowClass::Finite(_)) {
        return vec![f64::NAN; x.len()];
    }
    let w: Vec<f64> = x.iter().map(|v| v / t).collect();
    let y: Vec<f64> = reference::softmax(x, t)
        .iter()
        .map(|v| v.to_f64())
        .collect();
    softmax_numerators(&w, &y)
}

/// κ_i of log softmax(x / T) for each entry of one row (NaN on special rows).
pub fn log_softmax(x: &[f64], t: f64) -> Vec<f64> {
    if !matches!(classify(x), RowClass::Finite(_)) {
        return vec![f64::NAN; x.len()];
    }
    let w: Vec<f64> = x.iter().map(|v| v / t).collect();
    let y: Vec<f64> = reference::softmax(x, t)
        .iter()
        .map(|v| v.to_f64())
        .collect();
    let z = reference::log_softmax(x, t);
    softmax_numerators(&w, &y)
        .into_iter()
        .zip(z)
        .map(|(num, zi)| ratio(num, zi))
        .collect()
}

/// num / |exact| with the conventions of the module docs: 0 for a zero
/// numerator, NaN where the exact value is 0 and the numerator is not, 0 where the
/// exact value is infinite (a masked entry: −inf whatever the perturbation).
fn ratio(num: f64, exact: Xd) -> f64 {
    if exact.is_infinite() || num == 0.0 {
        0.0
    } else if exact.is_zero() {
        f64::NAN
    } else {
        num / exact.abs().to_f64()
    }
}

/// κ of σ(x) = |x| σ(−x) (elementwise).
pub fn sigmoid(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x.is_infinite() {
        return 0.0;
    }
    weighted(x, reference::sigmoid(-x).to_f64())
}

/// κ_i of sparsemax(x / T) for each entry of one row (NaN on special rows).
pub fn sparsemax(x: &[f64], t: f64) -> Vec<f64> {
    if !matches!(classify(x), RowClass::Finite(_)) {
        return vec![f64::NAN; x.len()];
    }
    let w: Vec<f64> = x.iter().map(|v| v / t).collect();
    let y = reference::sparsemax(x, t);
    let support = y.iter().filter(|v| !v.is_zero()).count() as f64;
    let total: f64 = w
        .iter()
        .zip(&y)
        .filter(|(_, yi)| !yi.is_zero())
        .map(|(wi, _)| wi.abs())
        .sum();
    w.iter()
        .zip(&y)
        .map(|(&wi, &yi)| {
            if yi.is_zero() {
                return 0.0;
            }
            let num = wi.abs() * (1.0 - 1.0 / support) + (total - wi.abs()).max(0.0) / support;
            ratio(num, yi)
        })
        .collect()
}

/// κ_i of `function` on one row, or None where no condition number is defined
/// here (hard sigmoid, entmax, Gumbel softmax).
pub fn kappa(function: Function, x: &[f64], t: f64) -> Option<Vec<f64>> {
    match function {
        Function::Softmax => Some(softmax(x, t)),
        Function::LogSoftmax => Some(log_softmax(x, t)),
        Function::Sigmoid => Some(x.iter().map(|&v| sigmoid(v)).collect()),
        Function::Sparsemax => Some(sparsemax(x, t)),
        Function::HardSigmoid | Function::Entmax15 | Function::GumbelSoftmax => None,
    }
}

/// The stability ratio of one row: max_i relative error_i / (max(κ_i, 1) · u),
/// u the unit roundoff of `dtype`. κ_i is floored at 1 because storing the output
/// in the dtype costs up to u whatever the conditioning (κ_i = 0 would otherwise
/// divide by 0). Entries not scored: exact value 0 or ±inf (no relative error; the
/// ulp columns score them), exact value below the dtype's smallest normal number
/// (where the format itself cannot hold a relative accuracy of u: the standard
/// model of rounding assumes no underflow) or above its largest finite number
/// (no overflow either: a log-probability below −65504 is −inf in f16 however it
/// is computed; the overflow scenarios count those), and κ_i NaN (undefined). 0
/// when no entry is scored.
pub fn err_over_kappa_u(dtype: DType, computed: &[f64], exact: &[Xd], kappa: &[f64]) -> f64 {
    let u = dtype.unit_roundoff();
    let min_normal = Xd::from_f64(dtype.format().min_normal());
    let max_finite = Xd::from_f64(dtype.format().max_finite());
    let normal = |e: &Xd| {
        e.abs().partial_cmp(min_normal) != Some(std::cmp::Ordering::Less)
            && e.abs().partial_cmp(max_finite) != Some(std::cmp::Ordering::Greater)
    };
    computed
        .iter()
        .zip(exact)
        .zip(kappa)
        .filter(|((_, e), k)| normal(e) && !e.is_infinite() && !e.is_nan() && !k.is_nan())
        .map(|((&c, &e), &k)| relative_error(c, e) / (k.max(1.0) * u))
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1e-300)
    }

    #[test]
    fn entries_outside_the_dtype_range_are_not_scored() {
        // f16: an exact −70000 is −inf in f16 whatever the algorithm; its relative
        // error is no measure of stability. An entry in range still counts.
        let exact = [Xd::from_f64(-70000.0), Xd::from_f64(-2.0)];
        let kappa = [1.0, 1.0];
        assert_eq!(
            err_over_kappa_u(DType::F16, &[f64::NEG_INFINITY, -2.0], &exact, &kappa),
            0.0
        );
        let u = DType::F16.unit_roundoff();
        let r = err_over_kappa_u(
            DType::F16,
            &[f64::NEG_INFINITY, -2.0 * (1.0 + 2.0 * u)],
            &exact,
            &kappa,
        );
        assert!((r - 2.0).abs() < 1e-9, "{r}");
    }

    #[test]
    fn softmax_kappa_matches_the_hand_computed_two_entry_row() {
        // x = [1, 0]: y = [e/(e+1), 1/(e+1)]; κ_0 = 1·(1 − y_0) + 0 = y_1,
        // κ_1 = 0·(1 − y_1) + 1·y_0 = y_0.
        let e = std::f64::consts::E;
        let k = softmax(&[1.0, 0.0], 1.0);
        assert!(close(k[0], 1.0 / (e + 1.0)), "{k:?}");
        assert!(close(k[1], e / (e + 1.0)), "{k:?}");
        // Temperature 2: w = [0.5, 0], same form with e^0.5.
        let s = 0.5f64.exp();
        let k = softmax(&[1.0, 0.0], 2.0);
        assert!(close(k[0], 0.5 / (s + 1.0)), "{k:?}");
        assert!(close(k[1], 0.5 * s / (s + 1.0)), "{k:?}");
    }

    #[test]
    fn softmax_kappa_grows_with_the_logits_and_ignores_masked_entries() {
        // x = [10, -10, -inf]: y ≈ [1, e^-20, 0]; κ_0 = 10·e^-20/(1+e^-20) + 10·y_1 ≈ 20 e^-20,
        // κ_1 = 10·(1 − y_1) + 10·y_0 ≈ 20.
        let k = softmax(&[10.0, -10.0, f64::NEG_INFINITY], 1.0);
        let t = (-20.0f64).exp();
        assert!(close(k[0], 20.0 * t / (1.0 + t)), "{k:?}");
        assert!(close(k[1], 20.0 / (1.0 + t)), "{k:?}");
        assert_eq!(k[2], 0.0);
        assert!(softmax(&[f64::NAN, 1.0], 1.0)[0].is_nan());
    }

    #[test]
    fn log_softmax_kappa_divides_by_the_log_probability() {
        // x = [0, 0]: z = −ln 2 each; numerators 0: κ = 0 (inputs 0 cannot move).
        assert_eq!(log_softmax(&[0.0, 0.0], 1.0), vec![0.0, 0.0]);
        // x = [1, -1]: y_0 = 1/(1+e^-2), numerator of both 1·(1−y_0) + 1·y_0... per entry:
        // κ_0 = (1·y_1 + 1·y_1)/|z_0| = 2 y_1 / ln(1 + e^-2).
        let y1 = 1.0 / (1.0 + 2f64.exp());
        let k = log_softmax(&[1.0, -1.0], 1.0);
        assert!(close(k[0], 2.0 * y1 / (-2f64).exp().ln_1p()), "{k:?}");
        // κ_1 = (1·(1 − y_1) + 1·y_0)/|z_1| = 2 y_0 / (2 + ln(1 + e^-2)).
        let y0 = 1.0 - y1;
        assert!(
            close(k[1], 2.0 * y0 / (2.0 + (-2f64).exp().ln_1p())),
            "{k:?}"
        );
    }

    #[test]
    fn log_softmax_kappa_of_the_dominant_entry_stays_moderate() {
        // [0, -50, -60, -70]: z_0 ≈ −e^-50, numerator ≈ 50 e^-50 + ... : κ_0 ≈ 50.
        let k = log_softmax(&[0.0, -50.0, -60.0, -70.0], 1.0);
        assert!(k[0] > 49.9 && k[0] < 50.1, "{k:?}");
        assert!(close(k[1], 1.0), "{k:?}");
    }

    #[test]
    fn sigmoid_kappa_is_x_times_sigmoid_of_minus_x() {
        assert_eq!(sigmoid(0.0), 0.0);
        assert!(close(sigmoid(2.0), 2.0 / (1.0 + 2f64.exp())));
        assert!(close(sigmoid(-3.0), 3.0 / (1.0 + (-3f64).exp())));
        assert_eq!(sigmoid(f64::INFINITY), 0.0);
    }

    #[test]
    fn sparsemax_kappa_on_and_off_the_support() {
        // x = [1, 0.5, -2]: support {0, 1}, τ = (1.5 − 1)/2 = 0.25, y = [0.75, 0.25, 0].
        // κ_0 = (1·½ + 0.5·½)/0.75 = 1; κ_1 = (0.5·½ + 1·½)/0.25 = 3; κ_2 = 0.
        let k = sparsemax(&[1.0, 0.5, -2.0], 1.0);
        assert!(close(k[0], 1.0) && close(k[1], 3.0), "{k:?}");
        assert_eq!(k[2], 0.0);
    }

    #[test]
    fn ratio_floors_kappa_at_one_and_skips_exact_zeros() {
        let u = DType::F32.unit_roundoff();
        let exact = [Xd::from_f64(1.0), Xd::ZERO, Xd::from_f64(2.0)];
        // Entry 0: error 2u relative, κ = 0.5 → floored: ratio 2; entry 1 skipped
        // even though computed ≠ 0; entry 2: error u, κ = 4 → 0.25.
        let computed = [1.0 + 2.0 * u, 1.0, 2.0 + 2.0 * u];
        let r = err_over_kappa_u(DType::F32, &computed, &exact, &[0.5, 0.0, 4.0]);
        assert!(close(r, 2.0), "{r}");
        // With κ_0 = 8 instead the largest is max(2/8, 1/4) = 0.25.
        let r = err_over_kappa_u(DType::F32, &computed, &exact, &[8.0, 0.0, 4.0]);
        assert!(close(r, 0.25), "{r}");
        assert_eq!(err_over_kappa_u(DType::F32, &[], &[], &[]), 0.0);
        // An exact value below f16's smallest normal (2^-14) is not scored, one
        // just above it is.
        let tiny = [Xd::from_f64(1e-5), Xd::from_f64(1e-4)];
        let r = err_over_kappa_u(DType::F16, &[2e-5, 1e-4], &tiny, &[1.0, 1.0]);
        assert_eq!(r, 0.0);
        let r = err_over_kappa_u(DType::F16, &[1e-5, 2e-4], &tiny, &[1.0, 1.0]);
        assert!(close(r, 2048.0), "{r}");
    }
}
