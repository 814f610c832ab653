//! The f64 rows: scalar, careful loops with the platform's f64 `exp` and `ln`
//! (glibc: within 1 ulp), the same algorithms as the f32 kernels. f64 is not what
//! this crate is fast at; a vectorised f64 exp would be the next step if a study
//! needed it.

use softmax_lab_core::dtype::pow2;
use softmax_lab_core::special::{classify, fill, fill_backward, RowClass};

use crate::kernels::RECIP_MIN_N;

/// (x − max)/T.
#[inline]
fn shifted(v: f64, m: f64, t: f64) -> f64 {
    if t == 1.0 {
        v - m
    } else {
        (v - m) / t
    }
}

/// The normaliser: ·(1/sum) for long rows, /sum for short ones (as in f32).
#[inline]
fn normalise(v: f64, sum: f64, recip: f64, n: usize) -> f64 {
    if n >= RECIP_MIN_N {
        v * recip
    } else {
        v / sum
    }
}

/// `stable_simd` in f64: max; exp stored in `out` and summed; scaled.
pub(crate) fn stable_row(x: &[f64], t: f64, out: &mut [f64]) {
    let class = classify(x);
    if fill(class, false, out) {
        return;
    }
    let RowClass::Finite(m) = class else { return };
    let mut sum = 0.0;
    for (o, &v) in out.iter_mut().zip(x) {
        *o = shifted(v, m, t).exp();
        sum += *o;
    }
    let (n, recip) = (x.len(), 1.0 / sum);
    for o in out.iter_mut() {
        *o = normalise(*o, sum, recip, n);
    }
}

/// `online_simd` in f64: running max and rescaled sum, then one writing pass.
pub(crate) fn online_row(x: &[f64], t: f64, out: &mut [f64]) {
    let mut m = f64::MIN;
    let mut d = 0.0;
    let mut nan = false;
    for &v in x {
        nan |= v.is_nan();
        if v > m {
            d = d * shifted(m, v, t).exp() + 1.0;
            m = v;
        } else {
            d += shifted(v, m, t).exp();
        }
    }
    if nan || !m.is_finite() || x.len() == 1 || d.is_nan() || d <= 0.0 {
        fill(classify(x), false, out);
        return;
    }
    let (n, recip) = (x.len(), 1.0 / d);
    for (o, &v) in out.iter_mut().zip(x) {
        *o = normalise(shifted(v, m, t).exp(), d, recip, n);
    }
}

/// ln2 split for the exponent-extended exp: HI has 32 significant bits, so k·HI is
/// exact for |k| < 2^21 (fdlibm's constants,
/// 6.93147180369123816490e-01 and 1.90821492927058770002e-10).
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
/// |x| up to which the extended exp's reduction is exact: |k| < 2^21.
const EXT_LIMIT: f64 = 1_048_576.0;

/// e^x = p·2^k for |x| <= 2^20: p = e^r in [0.7, 1.42] by the f64 exp of the
/// reduced argument.
fn exp_ext(x: f64) -> (f64, i64) {
    let k = (x * std::f64::consts::LOG2_E).round_ties_even();
    let r = (x - k * LN2_HI) - k * LN2_LO;
    (r.exp(), k as i64)
}

/// p·2^d for d <= 0, one rounding even when the result is subnormal.
fn scale(p: f64, d: i64) -> f64 {
    if d >= -960 {
        p * pow2(d as i32)
    } else if d >= -2000 {
        p * pow2(-960) * pow2((d + 960) as i32)
    } else {
        0.0
    }
}

/// `two_pass` in f64: (mantissa, exponent) accumulation, then (p/S)·2^(k − K).
/// Rows with NaN, +inf or a finite |x| > 2^20 take the `stable_simd` path.
pub(crate) fn two_pass_row(x: &[f64], t: f64, out: &mut [f64]) {
    let ok = |v: f64| v.abs() <= EXT_LIMIT || v == f64::NEG_INFINITY;
    let mut acc_p = 0.0;
    let mut acc_k = i64::MIN / 2;
    for &v in x {
        if !ok(v) {
            return stable_row(x, t, out);
        }
        if v == f64::NEG_INFINITY {
            continue;
        }
        let (p, k) = exp_ext(v);
        if k > acc_k {
            acc_p = scale(acc_p, acc_k - k) + p;
            acc_k = k;
        } else {
            acc_p += scale(p, k - acc_k);
        }
    }
    if x.len() == 1 || acc_p.is_nan() || acc_p <= 0.0 {
        return stable_row(x, t, out);
    }
    let (n, recip) = (x.len(), 1.0 / acc_p);
    for (o, &v) in out.iter_mut().zip(x) {
        *o = if v == f64::NEG_INFINITY {
            0.0
        } else {
            let (p, k) = exp_ext(v);
            scale(normalise(p, acc_p, recip, n), k - acc_k)
        };
    }
}

/// `log_softmax_simd` in f64.
pub(crate) fn log_softmax_row(x: &[f64], t: f64, out: &mut [f64]) {
    let class = classify(x);
    if fill(class, true, out) {
        return;
    }
    let RowClass::Finite(m) = class else { return };
    // ln1p of the sum without the first maximum, as in f32. On a nearly one-hot
    // row the dominant entry is −ln1p(s') ≈ −s', so s' carries that entry's whole
    // relative error: summed with Neumaier's compensation (recursively, 199 equal
    // terms cost 14 ulps there).
    let k = x.iter().position(|&v| v == m).unwrap_or(0);
    let (mut tail, mut comp) = (0.0f64, 0.0f64);
    for (_, &v) in x.iter().enumerate().filter(|&(j, _)| j != k) {
        let e = shifted(v, m, t).exp();
        let s = tail + e;
        comp += if tail.abs() >= e.abs() {
            (tail - s) + e
        } else {
            (e - s) + tail
        };
        tail = s;
    }
    let ln_sum = (tail + comp).ln_1p();
    for (o, &v) in out.iter_mut().zip(x) {
        *o = shifted(v, m, t) - ln_sum;
    }
}

/// `sigmoid_simd` in f64: the two-branch formula through e^−|x|.
pub(crate) fn sigmoid_row(x: &[f64], out: &mut [f64]) {
    for (o, &v) in out.iter_mut().zip(x) {
        let e = (-v.abs()).exp();
        *o = if v < 0.0 { e } else { 1.0 } / (1.0 + e);
    }
}

/// σ'(x)·dy = dy·e/(1 + e)², e = e^−|x|.
pub(crate) fn sigmoid_vjp_row(x: &[f64], dy: &[f64], dx: &mut [f64]) {
    for ((d, &v), &g) in dx.iter_mut().zip(x).zip(dy) {
        let e = (-v.abs()).exp();
        let s = 1.0 + e;
        *d = g * (e / (s * s));
    }
}

/// Softmax VJP around the largest y_k (see `kernels::softmax_vjp_row`).
pub(crate) fn softmax_vjp_row(x: &[f64], y: &[f64], dy: &[f64], t: f64, dx: &mut [f64]) {
    if fill_backward(classify(x), false, t, dy, dx) {
        return;
    }
    let mut k = 0;
    for (i, &yi) in y.iter().enumerate() {
        if yi > y[k] {
            k = i;
        }
    }
    let gk = dy[k];
    let spread: f64 = y.iter().zip(dy).map(|(&yj, &gj)| yj * (gj - gk)).sum();
    for ((d, &yi), &gi) in dx.iter_mut().zip(y).zip(dy) {
        let v = yi * ((gi - gk) - spread);
        *d = if t == 1.0 { v } else { v / t };
    }
}

/// Log-softmax VJP (g − e^z Σg)/T.
pub(crate) fn log_softmax_vjp_row(x: &[f64], z: &[f64], dy: &[f64], t: f64, dx: &mut [f64]) {
    if fill_backward(classify(x), true, t, dy, dx) {
        return;
    }
    let total: f64 = dy.iter().sum();
    for ((d, &zi), &gi) in dx.iter_mut().zip(z).zip(dy) {
        let v = gi - zi.exp() * total;
        *d = if t == 1.0 { v } else { v / t };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_pass_f64_matches_stable_and_handles_the_extremes() {
        let x = [3.0, -2.0, 700.0, 705.5, -1e5, f64::NEG_INFINITY];
        let (mut a, mut b) = ([0.0; 6], [0.0; 6]);
        two_pass_row(&x, 1.0, &mut a);
        stable_row(&x, 1.0, &mut b);
        for (p, q) in a.iter().zip(&b) {
            assert!((p - q).abs() <= 1e-15 * q.max(1e-300), "{a:?} vs {b:?}");
        }
        assert_eq!(a[5], 0.0);
        // Outputs far in the subnormals keep their value.
        let x = [0.0, -740.0];
        two_pass_row(&x, 1.0, &mut a[..2]);
        assert!(a[1] > 0.0 && (a[1] / (-740f64).exp() - 1.0).abs() < 1e-2);
    }
}
