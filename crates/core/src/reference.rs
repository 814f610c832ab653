//! The high-precision reference: softmax, log-softmax, sigmoid, hard sigmoid and
//! their vector–Jacobian products, evaluated in `Xd` (double-double with an
//! unbounded exponent; see `xd` for why, and `tests/reference_vs_astro.rs` for the
//! check against a 256-bit arbitrary-precision computation).
//!
//! Inputs are the values a variant actually sees (already rounded to its dtype),
//! given exactly as f64; the temperature is taken exactly as given. Outputs are the
//! exact values to about 2^-95 relative (far below half an f64 ulp), so they can
//! be rounded to any dtype or used to score f64 outputs in ULPs. Non-finite rows
//! follow `special`, exactly as the protected variants do.

use crate::special::{classify, RowClass};
use crate::variant::Function;
use crate::xd::{Dd, Xd};

/// The special-row output in `Xd` (NaN or one-hot, log or not).
fn special_row(class: RowClass, n: usize, log: bool) -> Option<Vec<Xd>> {
    match class {
        RowClass::Finite(_) => None,
        RowClass::Nan => Some(vec![Xd::NAN; n]),
        RowClass::OneHot(k) => {
            let off = if log { Xd::INFINITY.neg() } else { Xd::ZERO };
            let on = if log { Xd::ZERO } else { Xd::ONE };
            let mut v = vec![off; n];
            v[k] = on;
            Some(v)
        }
    }
}

/// (x_i − max) / T for each entry, and log Σ exp of those (the shifted log-sum-exp).
fn shifted(x: &[f64], max: f64, t: f64) -> (Vec<Dd>, Vec<Xd>, Xd) {
    let td = Dd::from_f64(t);
    let z: Vec<Dd> = x.iter().map(|&v| Dd::diff(v, max).div(td)).collect();
    let e: Vec<Xd> = z.iter().map(|&zi| Xd::exp(zi)).collect();
    let s = e.iter().fold(Xd::ZERO, |acc, &ei| acc.add(ei));
    (z, e, s)
}

/// softmax(x / T) of one row.
pub fn softmax(x: &[f64], t: f64) -> Vec<Xd> {
    let class = classify(x);
    if let Some(v) = special_row(class, x.len(), false) {
        return v;
    }
    let RowClass::Finite(max) = class else {
        unreachable!("special rows returned above")
    };
    let (_, e, s) = shifted(x, max, t);
    e.into_iter().map(|ei| ei.div(s)).collect()
}

/// log softmax(x / T) of one row.
pub fn log_softmax(x: &[f64], t: f64) -> Vec<Xd> {
    let class = classify(x);
    if let Some(v) = special_row(class, x.len(), true) {
        return v;
    }
    let RowClass::Finite(max) = class else {
        unreachable!("special rows returned above")
    };
    // ln Σ exp(z_j) = ln1p(s'), s' the sum without the first maximum (z_k = 0
    // exactly): ln of the pair 1 + s' would drop s' below 2^-106, and with it the
    // dominant entry of a nearly one-hot row (exactly −ln1p(s') ≈ −s').
    let (z, e, _) = shifted(x, max, t);
    let k = z.iter().position(|zi| zi.hi == 0.0).unwrap_or(0);
    let tail = e
        .iter()
        .enumerate()
        .filter(|&(j, _)| j != k)
        .fold(Xd::ZERO, |acc, (_, &ej)| acc.add(ej));
    let ln_s = tail.ln_1p();
    z.into_iter().map(|zi| Xd::from_dd(zi).sub(ln_s)).collect()
}

/// The logistic function 1 / (1 + e^−x).
pub fn sigmoid(x: f64) -> Xd {
    if x.is_nan() {
        return Xd::NAN;
    }
    let e = Xd::exp(Dd::from_f64(-x.abs()));
    let denom = Xd::ONE.add(e);
    if x >= 0.0 {
        Xd::ONE.div(denom)
    } else {
        e.div(denom)
    }
}

/// The logistic function's derivative σ(x)σ(−x) = e^−|x| / (1 + e^−|x|)².
pub fn sigmoid_derivative(x: f64) -> Xd {
    if x.is_nan() {
        return Xd::NAN;
    }
    let e = Xd::exp(Dd::from_f64(-x.abs()));
    let denom = Xd::ONE.add(e);
    e.div(denom.mul(denom))
}

/// relu6(x + 3) / 6.
pub fn hard_sigmoid(x: f64) -> Xd {
    if x.is_nan() {
        return Xd::NAN;
    }
    if x <= -3.0 {
        return Xd::ZERO;
    }
    if x >= 3.0 {
        return Xd::ONE;
    }
    Xd::from_dd(
        Dd::from_f64(x)
            .add(Dd::from_f64(3.0))
            .div(Dd::from_f64(6.0)),
    )
}

/// The derivative of hard sigmoid: 1/6 strictly inside (−3, 3), 0 outside.
pub fn hard_sigmoid_derivative(x: f64) -> Xd {
    if x.is_nan() {
        Xd::NAN
    } else if x > -3.0 && x < 3.0 {
        Xd::ONE.div(Xd::from_f64(6.0))
    } else {
        Xd::ZERO
    }
}

/// The index of the largest entry (the first, on ties).
fn argmax(y: &[Xd]) -> usize {
    let mut k = 0;
    for (i, v) in y.iter().enumerate() {
        if v.partial_cmp(y[k]) == Some(std::cmp::Ordering::Greater) {
            k = i;
        }
    }
    k
}

/// Σ_{j≠k} y_j, from the small terms (never as 1 − y_k, which cancels).
fn rest_of_mass(y: &[Xd], k: usize) -> Xd {
    y.iter()
        .enumerate()
        .filter(|&(j, _)| j != k)
        .fold(Xd::ZERO, |acc, (_, &v)| acc.add(v))
}

/// dL/dx of softmax(x / T) given dL/dy: y ⊙ (g − ⟨g, y⟩) / T, with g − ⟨g, y⟩
/// formed as (g_i − g_k) − Σ_{j≠k} y_j (g_j − g_k) around the largest entry k, so
/// that a nearly one-hot y (y_k = 1 − ε) does not cancel g_k − ⟨g, y⟩ down to the
/// rounding of ε.
pub fn softmax_vjp(x: &[f64], t: f64, g: &[f64]) -> Vec<Xd> {
    match classify(x) {
        RowClass::Nan => return vec![Xd::NAN; x.len()],
        RowClass::OneHot(_) => return vec![Xd::ZERO; x.len()],
        RowClass::Finite(_) => {}
    }
    let y = softmax(x, t);
    let k = argmax(&y);
    let gk = Xd::from_f64(g[k]);
    let centred = |gi: f64| Xd::from_f64(gi).sub(gk);
    let spread = y
        .iter()
        .zip(g)
        .enumerate()
        .filter(|&(j, _)| j != k)
        .fold(Xd::ZERO, |acc, (_, (&yj, &gj))| {
            acc.add(yj.mul(centred(gj)))
        });
    let td = Xd::from_f64(t);
    y.iter()
        .zip(g)
        .map(|(&yi, &gi)| yi.mul(centred(gi).sub(spread)).div(td))
        .collect()
}

/// dL/dx of log softmax(x / T) given dL/dy: (g − softmax(x/T) Σg) / T; at the
/// largest entry k as g_k Σ_{j≠k} y_j − y_k Σ_{j≠k} g_j, which does not cancel
/// when y is nearly one-hot.
pub fn log_softmax_vjp(x: &[f64], t: f64, g: &[f64]) -> Vec<Xd> {
    if classify(x) == RowClass::Nan {
        return vec![Xd::NAN; x.len()];
    }
    let y = softmax(x, t);
    let k = argmax(&y);
    let sum = |skip: Option<usize>| {
        g.iter()
            .enumerate()
            .filter(|&(j, _)| Some(j) != skip)
            .fold(Xd::ZERO, |acc, (_, &gj)| acc.add(Xd::from_f64(gj)))
    };
    let (total, others) = (sum(None), sum(Some(k)));
    let td = Xd::from_f64(t);
    let mut dx: Vec<Xd> = y
        .iter()
        .zip(g)
        .map(|(&yi, &gi)| Xd::from_f64(gi).sub(yi.mul(total)).div(td))
        .collect();
    let at_k = Xd::from_f64(g[k])
        .mul(rest_of_mass(&y, k))
        .sub(y[k].mul(others));
    dx[k] = at_k.div(td);
    dx
}

/// √a of a non-negative double-double: the f64 root and one Newton step
/// (relative error about 2^-104); 0 for a ≤ 0.
fn dd_sqrt(a: Dd) -> Dd {
    if a.hi <= 0.0 {
        return Dd::ZERO;
    }
    let s = a.hi.sqrt();
    let sd = Dd::from_f64(s);
    let r = a.sub(sd.mul(sd));
    sd.add(Dd::from_f64(r.hi / (2.0 * s)))
}

/// The two sparse maps of the reference: sparsemax, and 1.5-entmax.
#[derive(Clone, Copy, PartialEq)]
enum Sparse {
    Sparsemax,
    Entmax15,
}

/// The solved threshold problem of a sparse map on a finite row: the scores
/// (z_i = (x_i − max)/T for sparsemax, z_i/2 for 1.5-entmax) in Dd, the threshold
/// τ, and the margins e_i = [score_i − τ]_+ (p_i = e_i for sparsemax, e_i² for
/// 1.5-entmax). Special rows (NaN, ±inf, n = 1) give their output instead, by the
/// rules of `special` (the sparse maps have the same unique limits as softmax:
/// one +inf is one-hot, −inf entries get 0, and two +inf or all −inf have none —
/// sparsemax([c, c + d]) → [(1 − d)/2, (1 + d)/2] as c → ∞ depends on d).
///
/// The support is found by sorting the exact f64 inputs; the sums are in Dd.
/// Sparsemax: τ = (Σ_{j≤k} z_(j) − 1)/k with k the largest index with
/// z_(k) > τ_k (Martins & Astudillo 2016, eq. 13). 1.5-entmax: for the top k
/// scores y, Σ (y_j − τ)² = 1 gives τ_k = mean − √((1 − Σ(y_j − mean)²)/k)
/// (Peters, Niculae & Martins 2019, Algorithm 2), k the largest with
/// y_(k) > τ_k; then three Newton steps on Σ(y_j − τ)² − 1 in Dd polish τ.
/// The margins are accurate to about 2^-100 absolutely (the scores are bounded
/// by 1 in magnitude on the support), which is far below half an f64 ulp except
/// for margins much smaller than 2^-45.
fn sparse_solve(kind: Sparse, x: &[f64], t: f64) -> Result<(Vec<Dd>, Dd, Vec<Dd>), Vec<Xd>> {
    let class = classify(x);
    if let Some(v) = special_row(class, x.len(), false) {
        return Err(v);
    }
    let RowClass::Finite(max) = class else {
        unreachable!("special rows returned above")
    };
    let td = Dd::from_f64(t);
    let scale = if kind == Sparse::Entmax15 { 0.5 } else { 1.0 };
    let z: Vec<Dd> = x
        .iter()
        .map(|&v| Dd::diff(v, max).div(td).mul_f64(scale))
        .collect();
    let mut order: Vec<usize> = (0..x.len()).filter(|&i| x[i] > f64::NEG_INFINITY).collect();
    order.sort_by(|&a, &b| x[b].total_cmp(&x[a]));
    let (mut s1, mut s2) = (Dd::ZERO, Dd::ZERO);
    let mut tau = Dd::ZERO;
    let mut support = 0;
    for (j, &i) in order.iter().enumerate() {
        let k = Dd::from_f64((j + 1) as f64);
        s1 = s1.add(z[i]);
        s2 = s2.add(z[i].mul(z[i]));
        let tau_k = match kind {
            Sparse::Sparsemax => s1.sub(Dd::ONE).div(k),
            Sparse::Entmax15 => {
                let mean = s1.div(k);
                let m2 = s2.sub(s1.mul(mean));
                let disc = Dd::ONE.sub(m2).div(k);
                if disc.hi.is_nan() || disc.hi < 0.0 {
                    break;
                }
                mean.sub(dd_sqrt(disc))
            }
        };
        // The condition holds for a prefix of the sorted scores (for entmax the
        // spread Σ(y − mean)² only grows along it): stop at the first failure,
        // before the sums reach scores that could overflow.
        let gap = z[i].sub(tau_k).hi;
        if gap.is_nan() || gap <= 0.0 {
            break;
        }
        tau = tau_k;
        support = j + 1;
    }
    if kind == Sparse::Entmax15 {
        for _ in 0..3 {
            let (mut f, mut fp) = (Dd::ONE.neg(), Dd::ZERO);
            for &i in &order[..support] {
                let e = z[i].sub(tau);
                f = f.add(e.mul(e));
                fp = fp.add(e.add(e));
            }
            tau = tau.add(f.div(fp));
        }
    }
    let margins = z
        .iter()
        .map(|&zi| {
            let e = zi.sub(tau);
            if e.hi > 0.0 {
                e
            } else {
                Dd::ZERO
            }
        })
        .collect();
    Ok((z, tau, margins))
}

/// sparsemax(x / T) of one row: the Euclidean projection of x / T onto the
/// probability simplex, p_i = [z_i − τ]_+ (Martins & Astudillo 2016). See
/// `sparse_solve` for the algorithm and the special rows.
pub fn sparsemax(x: &[f64], t: f64) -> Vec<Xd> {
    match sparse_solve(Sparse::Sparsemax, x, t) {
        Err(special) => special,
        Ok((_, _, e)) => e.into_iter().map(Xd::from_dd).collect(),
    }
}

/// 1.5-entmax of x / T on one row: p_i = [z_i/2 − τ]_+² with Σp = 1 (Peters,
/// Niculae & Martins 2019, α = 1.5: p = [(α − 1)z − τ]_+^{1/(α−1)}).
pub fn entmax15(x: &[f64], t: f64) -> Vec<Xd> {
    match sparse_solve(Sparse::Entmax15, x, t) {
        Err(special) => special,
        Ok((_, _, e)) => e.into_iter().map(|ei| Xd::from_dd(ei.mul(ei))).collect(),
    }
}

/// The VJP at a special row of a sparse map: NaN for a NaN row, else 0 (the
/// Jacobian vanishes on a support of one entry).
fn sparse_special_vjp(special: &[Xd]) -> Vec<Xd> {
    let nan = special.iter().any(|v| v.is_nan());
    vec![if nan { Xd::NAN } else { Xd::ZERO }; special.len()]
}

/// dL/dx of sparsemax(x / T): the Jacobian is (diag(s) − s sᵀ/|S|)/T with s the
/// support indicator, so dx_i = s_i (g_i − mean_{j∈S} g_j) / T.
pub fn sparsemax_vjp(x: &[f64], t: f64, g: &[f64]) -> Vec<Xd> {
    let e = match sparse_solve(Sparse::Sparsemax, x, t) {
        Err(special) => return sparse_special_vjp(&special),
        Ok((_, _, e)) => e,
    };
    let on: Vec<bool> = e.iter().map(|ei| ei.hi > 0.0).collect();
    let (sum, count) = g
        .iter()
        .zip(&on)
        .filter(|(_, &s)| s)
        .fold((Xd::ZERO, 0usize), |(a, c), (&gi, _)| {
            (a.add(Xd::from_f64(gi)), c + 1)
        });
    let mean = sum.div(Xd::from_f64(count as f64));
    let td = Xd::from_f64(t);
    g.iter()
        .zip(&on)
        .map(|(&gi, &s)| {
            if s {
                Xd::from_f64(gi).sub(mean).div(td)
            } else {
                Xd::ZERO
            }
        })
        .collect()
}

/// dL/dx of 1.5-entmax(x / T). On the support S, p_i = e_i² with e_i = y_i − τ,
/// y = z/2, z = x/T, and Σ e_i² = 1. Differentiating: dp_i = 2e_i(dy_i − dτ) and
/// Σ 2e_i(dy_i − dτ) = 0 give dτ = Σ e_j dy_j / Σ e_j, so with dy = dz/2,
/// ∂p/∂z = diag(e) − e eᵀ/Σe — Peters, Niculae & Martins (2019), Prop. 3, with
/// s_i = p_i^{2−α} = √p_i = e_i. Hence dx_j = e_j (g_j − ⟨e, g⟩/Σe) / T (0 off S).
pub fn entmax15_vjp(x: &[f64], t: f64, g: &[f64]) -> Vec<Xd> {
    let e = match sparse_solve(Sparse::Entmax15, x, t) {
        Err(special) => return sparse_special_vjp(&special),
        Ok((_, _, e)) => e,
    };
    let e: Vec<Xd> = e.into_iter().map(Xd::from_dd).collect();
    let sum_e = e.iter().fold(Xd::ZERO, |a, &ei| a.add(ei));
    let dot = e
        .iter()
        .zip(g)
        .fold(Xd::ZERO, |a, (&ei, &gi)| a.add(ei.mul(Xd::from_f64(gi))));
    let centre = dot.div(sum_e);
    let td = Xd::from_f64(t);
    e.iter()
        .zip(g)
        .map(|(&ei, &gi)| ei.mul(Xd::from_f64(gi).sub(centre)).div(td))
        .collect()
}

/// The exact output of `function` on one row (elementwise functions ignore `t`,
/// which callers keep at 1).
///
/// `GumbelSoftmax` gives all NaN: its output depends on noise the reference cannot
/// see, so Gumbel variants are scored by their statistics (the distribution of
/// their argmax samples), not per output; harnesses skip them for accuracy.
pub fn forward(function: Function, x: &[f64], t: f64) -> Vec<Xd> {
    match function {
        Function::GumbelSoftmax => vec![Xd::NAN; x.len()],
        Function::Softmax => softmax(x, t),
        Function::LogSoftmax => log_softmax(x, t),
        Function::Sigmoid => x.iter().map(|&v| sigmoid(v)).collect(),
        Function::HardSigmoid => x.iter().map(|&v| hard_sigmoid(v)).collect(),
        Function::Sparsemax => sparsemax(x, t),
        Function::Entmax15 => entmax15(x, t),
    }
}

/// The exact vector–Jacobian product of `function` on one row (all NaN for
/// `GumbelSoftmax`, as in `forward`).
pub fn vjp(function: Function, x: &[f64], t: f64, g: &[f64]) -> Vec<Xd> {
    let elementwise = |d: fn(f64) -> Xd| -> Vec<Xd> {
        x.iter()
            .zip(g)
            .map(|(&v, &gi)| d(v).mul(Xd::from_f64(gi)))
            .collect()
    };
    match function {
        Function::Softmax => softmax_vjp(x, t, g),
        Function::LogSoftmax => log_softmax_vjp(x, t, g),
        Function::Sigmoid => elementwise(sigmoid_derivative),
        Function::HardSigmoid => elementwise(hard_sigmoid_derivative),
        Function::Sparsemax => sparsemax_vjp(x, t, g),
        Function::Entmax15 => entmax15_vjp(x, t, g),
        Function::GumbelSoftmax => vec![Xd::NAN; x.len()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(v: &[Xd]) -> Vec<f64> {
        v.iter().map(|x| x.to_f64()).collect()
    }

    #[test]
    fn softmax_of_the_folklore_example() {
        // softmax([2.0, 1.0, 0.1]) (mpmath, 400 bits, rounded to f64):
        // 0.65900113888596790655, 0.24243297070471392139, 0.098565890409318172055 —
        // the "0.06" often quoted for the third entry is wrong (it is 0.0986).
        let y = f(&softmax(&[2.0, 1.0, 0.1], 1.0));
        assert_eq!(
            y,
            [0.6590011388859679, 0.24243297070471392, 0.09856589040931817]
        );
    }

    #[test]
    fn softmax_with_extreme_gap_keeps_tiny_values() {
        // softmax([-20, 10, 30]) (mpmath, 400 bits, rounded to f64).
        let y = f(&softmax(&[-20.0, 10.0, 30.0], 1.0));
        assert_eq!(
            y,
            [
                1.928749843988468e-22,
                2.0611536181902037e-09,
                0.9999999979388464
            ]
        );
    }

    #[test]
    fn log_softmax_and_sigmoid_known_values() {
        let z = f(&log_softmax(&[1000.0, 1001.0, 1002.0], 1.0));
        assert_eq!(
            z,
            [-2.40760596444438, -1.4076059644443804, -0.4076059644443803]
        );
        assert_eq!(sigmoid(0.0).to_f64(), 0.5);
        assert_eq!(sigmoid(-40.0).to_f64(), 4.248354255291589e-18);
        assert_eq!(sigmoid_derivative(0.0).to_f64(), 0.25);
        // σ'(20) = e^-20 / (1 + e^-20)^2 (mpmath, rounded to f64).
        assert_eq!(sigmoid_derivative(20.0).to_f64(), 2.061153613941849e-09);
    }

    #[test]
    fn log_softmax_keeps_the_dominant_entry_of_nearly_one_hot_rows() {
        // −ln1p(e^-50 + e^-60 + e^-70) and −ln1p(e^-434) (mpmath, 60 digits, rounded
        // to f64): ln of the pair 1 + s' gave 0 for both.
        let z = f(&log_softmax(&[0.0, -50.0, -60.0, -70.0], 1.0));
        assert_eq!(z[0], -1.9288374170469944e-22);
        let z = f(&log_softmax(&[0.0, -434.0], 1.0));
        assert_eq!(z, [-3.282425319641051e-189, -434.0]);
        // A tie: the other maximum contributes 1, so both get −ln 2.
        let z = f(&log_softmax(&[3.0, 3.0], 1.0));
        assert_eq!(z, [-std::f64::consts::LN_2, -std::f64::consts::LN_2]);
        // The series and the direct branch of ln_1p meet at 2^-10 (mpmath).
        let below = Xd::from_f64(0.0009765625 * 0.999).ln_1p().to_f64();
        let above = Xd::from_f64(0.0009765625 * 1.001).ln_1p().to_f64();
        assert_eq!(below, 0.0009751103628234539);
        assert_eq!(above, 0.0009770615823356495);
    }

    #[test]
    fn temperature_divides_the_logits() {
        let a = f(&softmax(&[2.0, 4.0], 2.0));
        let b = f(&softmax(&[1.0, 2.0], 1.0));
        assert_eq!(a, b);
    }

    #[test]
    fn vjps_keep_precision_on_nearly_one_hot_rows() {
        // ±e^-200 / (1 + e^-200)^2 (mpmath): not 0 at the dominant entry.
        let dx = f(&softmax_vjp(&[0.0, -200.0], 1.0, &[1.0, 0.0]));
        assert_eq!(dx, [1.3838965267367376e-87, -1.3838965267367376e-87]);
        let dz = f(&log_softmax_vjp(&[0.0, -200.0], 1.0, &[1.0, 0.0]));
        assert_eq!(dz, [1.3838965267367376e-87, -1.3838965267367376e-87]);
    }

    #[test]
    fn sparse_maps_by_hand() {
        // sparsemax([0.5, 0]): τ = (0.5 − 1)/2 = −0.25. 1.5-entmax([0, 0]):
        // 2τ² = 1, p = 1/2 each; [2, 0] sits exactly at the one-hot gap of 2.
        assert_eq!(f(&sparsemax(&[0.5, 0.0], 1.0)), [0.75, 0.25]);
        assert_eq!(f(&entmax15(&[0.0, 0.0], 1.0)), [0.5, 0.5]);
        assert_eq!(f(&entmax15(&[2.0, 0.0], 1.0)), [1.0, 0.0]);
        // Sparsemax's VJP is g minus its mean over the support, over T.
        let dx = f(&sparsemax_vjp(&[0.5, 0.0, -3.0], 2.0, &[1.0, 3.0, 5.0]));
        assert_eq!(dx, [-0.5, 0.5, 0.0]);
        // 1.5-entmax's VJP is orthogonal to 1 (Σp stays 1) and vanishes off the support.
        let dz = entmax15_vjp(&[0.3, -0.2, 0.1, -5.0], 1.0, &[1.0, -2.0, 0.5, 7.0]);
        let s = dz.iter().fold(Xd::ZERO, |a, &b| a.add(b));
        assert!(s.to_f64().abs() < 1e-30);
        assert!(dz[3].is_zero());
    }

    #[test]
    fn vjp_of_softmax_sums_to_zero_and_matches_formula() {
        let x = [0.3, -1.2, 2.5, 0.0];
        let g = [1.0, -2.0, 0.5, 3.0];
        let dx = softmax_vjp(&x, 1.0, &g);
        let s = dx.iter().fold(Xd::ZERO, |a, &b| a.add(b));
        assert!(s.to_f64().abs() < 1e-30);
        let dz = log_softmax_vjp(&x, 1.0, &g);
        let total: f64 = g.iter().sum();
        let y = f(&softmax(&x, 1.0));
        for i in 0..4 {
            assert!((dz[i].to_f64() - (g[i] - y[i] * total)).abs() < 1e-15);
        }
    }
}
