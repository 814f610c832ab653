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
    let (z, _, s) = shifted(x, max, t);
    let ln_s = s.ln();
    z.into_iter().map(|zi| Xd::from_dd(zi.sub(ln_s))).collect()
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

/// The exact output of `function` on one row (elementwise functions ignore `t`,
/// which callers keep at 1).
pub fn forward(function: Function, x: &[f64], t: f64) -> Vec<Xd> {
    match function {
        Function::Softmax => softmax(x, t),
        Function::LogSoftmax => log_softmax(x, t),
        Function::Sigmoid => x.iter().map(|&v| sigmoid(v)).collect(),
        Function::HardSigmoid => x.iter().map(|&v| hard_sigmoid(v)).collect(),
    }
}

/// The exact vector–Jacobian product of `function` on one row.
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
