//! The row kernels more than one family computes with: the shifted softmax and
//! its vector–Jacobian product (`stable`, `logsumexp`, `gumbel_softmax`, the
//! sharded variants, the hierarchical heads' full-softmax counterpart), the
//! accurate log-softmax and its VJP (`logsumexp`, `sharded_log_softmax`,
//! `hsoftmax`), and the compensated sum. They live here, below every family, so
//! that no family imports another's kernels; each family re-exports the ones it
//! names in its own docs.
//!
//! Plain loops over one row, generic in the storage type T and the arithmetic
//! type A (A at least as wide as T); rows with NaN or infinities follow
//! [`crate::special`].

use crate::maxtail::MaxTail;
use crate::special::{classify, fill, fill_backward, RowClass};
use crate::Element;

/// exp((v − m) / T) in the arithmetic type A.
#[inline]
pub fn shifted_exp<A: Element>(v: f64, m: A, t: f64, ta: A) -> A {
    let d = A::from_f64(v) - m;
    let d = if t == 1.0 { d } else { d / ta };
    d.exp()
}

/// Three-pass shifted softmax of one row with arithmetic in A (A at least as wide
/// as T): max; exp and sum; scale. When A is T the exponentials are stored in
/// `out` between passes; when A is wider they are recomputed, so that the result
/// is rounded to T once.
pub fn shifted_softmax_row<T: Element, A: Element>(x: &[T], t: f64, out: &mut [T]) {
    let class = classify(x);
    if fill(class, false, out) {
        return;
    }
    let RowClass::Finite(max) = class else { return };
    let (m, ta) = (A::from_f64(max), A::from_f64(t));
    let store = T::DTYPE == A::DTYPE;
    let mut sum = A::ZERO;
    for (o, v) in out.iter_mut().zip(x) {
        let e = shifted_exp(v.to_f64(), m, t, ta);
        sum = sum + e;
        if store {
            *o = T::from_f64(e.to_f64());
        }
    }
    for (o, v) in out.iter_mut().zip(x) {
        let e = if store {
            A::from_f64(o.to_f64())
        } else {
            shifted_exp(v.to_f64(), m, t, ta)
        };
        *o = T::from_f64((e / sum).to_f64());
    }
}

/// y ⊙ (g − ⟨g, y⟩) / T with arithmetic in A, from the stored output y.
pub fn softmax_vjp_row<T: Element, A: Element>(x: &[T], y: &[T], dy: &[T], t: f64, dx: &mut [T]) {
    if fill_backward(classify(x), false, t, dy, dx) {
        return;
    }
    // g − ⟨g, y⟩ is formed around the largest entry k as (g_i − g_k) − Σ_{j≠k}
    // y_j (g_j − g_k): equal when Σy = 1, but free of the cancellation g_k − ⟨g, y⟩
    // suffers when y is nearly one-hot (there every dx_i is tiny, and the plain
    // form leaves only the rounding error of ⟨g, y⟩ — normwise errors above 1 in f32).
    let mut k = 0;
    for (i, yi) in y.iter().enumerate() {
        if *yi > y[k] {
            k = i;
        }
    }
    let a = |v: &T| A::from_f64(v.to_f64());
    let gk = a(&dy[k]);
    let mut spread = A::ZERO;
    for (j, (yj, gj)) in y.iter().zip(dy).enumerate() {
        if j != k {
            spread = spread + a(yj) * (a(gj) - gk);
        }
    }
    let ta = A::from_f64(t);
    for ((d, yi), gi) in dx.iter_mut().zip(y).zip(dy) {
        let v = a(yi) * ((a(gi) - gk) - spread);
        let v = if t == 1.0 { v } else { v / ta };
        *d = T::from_f64(v.to_f64());
    }
}

/// Neumaier's compensated sum of terms ≥ 0 (Kahan–Babuška): |error| ≤ 2u|Σ| +
/// O(n u²) Σ, flat in n (Higham 2002, §4.3). Used by `stable_compensated` and by
/// `log_softmax` for the tail of its normaliser.
pub fn compensated_sum<A: Element>(terms: impl IntoIterator<Item = A>) -> A {
    let (mut s, mut c) = (A::ZERO, A::ZERO);
    // Every term and partial sum is ≥ 0 here, so |s| ≥ |e| is s ≥ e.
    for e in terms {
        let t = s + e;
        c = c + if s >= e { (s - t) + e } else { (e - t) + s };
        s = t;
    }
    s + c
}

/// (x_i − max)/T in A for each entry of a finite row with this maximum: exactly 0
/// at every maximum.
pub fn shifted_row<T: Element, A: Element>(
    x: &[T],
    max: f64,
    t: f64,
) -> impl Iterator<Item = A> + '_ {
    let (m, ta) = (A::from_f64(max), A::from_f64(t));
    x.iter().map(move |v| {
        let d = A::from_f64(v.to_f64()) - m;
        if t == 1.0 {
            d
        } else {
            d / ta
        }
    })
}

/// z_i = (x_i − max)/T − ln1p(s'), s' = Σ_{j≠k} exp((x_j − max)/T) with k the
/// first maximum (other maxima contribute 1 each; summed with compensation),
/// arithmetic in A.
///
/// Both terms are ≤ 0 and ≥ 0, so the subtraction adds magnitudes: with the
/// differences exact, z_i carries the error of ln1p(s') weighted by its share
/// of |z_i| plus one rounding — a few ulps on every entry, where ln(1 + s')
/// would lose all of s' below u on the dominant entry.
pub fn log_softmax_row<T: Element, A: Element>(x: &[T], t: f64, out: &mut [T]) {
    let class = classify(x);
    if fill(class, true, out) {
        return;
    }
    let RowClass::Finite(max) = class else { return };
    // The tail Σ_{j≠k} exp(d_j) summed with compensation: on a nearly one-hot
    // row the dominant entry is −ln1p(s') ≈ −s', so the relative error of s' is
    // that entry's error, and a recursive sum of 63 equal terms already costs
    // 5 ulps in f32.
    let mut skipped = false;
    let tail = compensated_sum(
        shifted_row::<T, A>(x, max, t)
            .filter(|&d| {
                let first_max = !skipped && d == A::ZERO;
                skipped |= first_max;
                !first_max
            })
            .map(|d| d.exp()),
    );
    let summary = MaxTail {
        max: A::from_f64(max),
        tail,
    };
    let ln_sum = summary.ln_sum_shifted();
    for (o, d) in out.iter_mut().zip(shifted_row::<T, A>(x, max, t)) {
        *o = T::from_f64((d - ln_sum).to_f64());
    }
}

/// (g − exp(z) Σg) / T from the stored log-probabilities z, arithmetic in A,
/// written (g_i − Σg) − expm1(z_i) Σg where p_i = exp(z_i) ≥ 1/2: on the dominant
/// entry of a nearly one-hot row exp(z_i) rounds to 1 and g_i − exp(z_i) Σg
/// cancels to 0, while expm1(z_i) keeps 1 − p_i = s'/(1 + s') to full relative
/// accuracy. Below 1/2 the direct form is the accurate one (expm1(z_i) + 1 would
/// cancel instead).
pub fn log_softmax_vjp_row<T: Element, A: Element>(
    x: &[T],
    z: &[T],
    dy: &[T],
    t: f64,
    dx: &mut [T],
) {
    if fill_backward(classify(x), true, t, dy, dx) {
        return;
    }
    let ta = A::from_f64(t);
    let total = dy
        .iter()
        .fold(A::ZERO, |acc, g| acc + A::from_f64(g.to_f64()));
    for ((d, zi), gi) in dx.iter_mut().zip(z).zip(dy) {
        let (zi, gi) = (A::from_f64(zi.to_f64()), A::from_f64(gi.to_f64()));
        let v = if zi >= A::from_f64(-std::f64::consts::LN_2) {
            (gi - total) - zi.exp_m1() * total
        } else {
            gi - zi.exp() * total
        };
        let v = if t == 1.0 { v } else { v / ta };
        *d = T::from_f64(v.to_f64());
    }
}
