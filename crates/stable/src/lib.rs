//! Max-shifted softmax: the three-pass `stable`, its accurate `stable_wide` twin,
//! and the two-pass `online` normaliser of Milakov & Gimelshein (2018).
//!
//! All three follow `softmax_lab_core::special` for rows with NaN or infinities
//! and accept a temperature T (softmax(x / T)). They are plain loops meant to be
//! read and measured; the vectorised kernels live elsewhere — except [`wide`], a
//! vectorised f64 exponential and the three passes around it, which make
//! `stable_wide` on f16/bf16/f32 rows about 9 times faster than the scalar loop
//! (2.5 to 3 times candle's f32 `softmax_last_dim` instead of a third of it)
//! with the same outputs and bound: the accurate variant should not be the one
//! nobody can afford. Its docs give the method and the measured error.
//! [`gumbel`] adds `gumbel_softmax` and `gumbel_softmax_hard`: seeded samples,
//! scored by their statistics rather than per output.
//!
//! Not for: log-probabilities (see the `logsumexp` crate).

pub mod gumbel;
pub mod wide;

use softmax_lab_core::f32_for_half_kernel;
use softmax_lab_core::special::{classify, fill, fill_backward, RowClass};
use softmax_lab_core::{
    Accumulation, DType, Dd, Element, Family, Formula, Function, Registry, RowKernel, VariantInfo,
    Xd,
};

/// exp((v − m) / T) in the arithmetic type A.
#[inline]
fn shifted_exp<A: Element>(v: f64, m: A, t: f64, ta: A) -> A {
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

/// Max-shifted three-pass softmax; f16/bf16 accumulate in f32.
pub struct Stable;

f32_for_half_kernel!(
    Stable,
    VariantInfo {
        id: "stable",
        family: Family::Stable,
        function: Function::Softmax,
        description:
            "max-shifted three-pass softmax (max; exp and sum; scale); f16/bf16 accumulate in f32",
        dtypes: &DType::ALL,
        accumulation: Accumulation::F32ForHalf,
        formula: Some(Formula::ShiftedSoftmax),
        has_backward: true,
        temperature: true,
    },
    shifted_softmax_row,
    softmax_vjp_row
);

/// exp((v − max) / T) in double-double (via `Xd`): the wide path for f64 rows. It
/// shares its arithmetic with the reference, so the f64 accuracy of `stable_wide`
/// is a consistency check, not an independent one.
fn wide_exp(v: f64, max: f64, td: Dd) -> Dd {
    Xd::exp(Dd::diff(v, max).div(td)).to_dd()
}

/// The accurate end of the trade-off: the shifted formula with f64 arithmetic for
/// f16/bf16/f32 and double-double for f64, rounded once.
pub struct StableWide;

impl RowKernel for StableWide {
    const INFO: VariantInfo = VariantInfo {
        id: "stable_wide",
        family: Family::Stable,
        function: Function::Softmax,
        description:
            "max-shifted softmax computed in f64 (double-double for f64 rows) and rounded once",
        dtypes: &DType::ALL,
        accumulation: Accumulation::Wide,
        formula: Some(Formula::ShiftedSoftmax),
        has_backward: true,
        temperature: true,
    };

    /// f16/bf16/f32 rows: [`wide`] (the vectorised twin of
    /// `shifted_softmax_row::<T, f64>`, which still serves a temperature that is
    /// not positive and finite); f64 rows: double-double.
    fn forward_row<T: Element>(&self, x: &[T], t: f64, out: &mut [T]) {
        if T::DTYPE != DType::F64 {
            if t > 0.0 && t.is_finite() {
                return wide::softmax_row(x, t, out);
            }
            return shifted_softmax_row::<T, f64>(x, t, out);
        }
        let class = classify(x);
        if fill(class, false, out) {
            return;
        }
        let RowClass::Finite(max) = class else { return };
        let td = Dd::from_f64(t);
        // Each exponential once (double-double exps dominate the cost).
        let e: Vec<Dd> = x.iter().map(|v| wide_exp(v.to_f64(), max, td)).collect();
        let sum = e.iter().fold(Dd::ZERO, |acc, ei| acc.add(*ei));
        for (o, ei) in out.iter_mut().zip(&e) {
            *o = T::from_f64(ei.div(sum).to_f64());
        }
    }

    /// Recomputes y from x rather than trusting the rounded y: f16/bf16/f32 rows in
    /// f64 (y from the vectorised forward, then the VJP formed around the largest
    /// entry, [`softmax_vjp_row`], whose differences g_i − g_k are exact in f64), f64
    /// rows in double-double with each exponential computed once.
    fn backward_row<T: Element>(
        &self,
        x: &[T],
        _y: &[T],
        dy: &[T],
        t: f64,
        dx: &mut [T],
    ) -> Option<()> {
        let class = classify(x);
        if fill_backward(class, false, t, dy, dx) {
            return Some(());
        }
        let RowClass::Finite(max) = class else {
            return Some(());
        };
        if T::DTYPE != DType::F64 && t > 0.0 && t.is_finite() {
            let x64: Vec<f64> = x.iter().map(|v| v.to_f64()).collect();
            let dy64: Vec<f64> = dy.iter().map(|v| v.to_f64()).collect();
            let mut y64 = vec![0.0; x.len()];
            wide::softmax_row(&x64, t, &mut y64);
            let mut dx64 = vec![0.0; x.len()];
            softmax_vjp_row::<f64, f64>(&x64, &y64, &dy64, t, &mut dx64);
            for (d, v) in dx.iter_mut().zip(&dx64) {
                *d = T::from_f64(*v);
            }
            return Some(());
        }
        let td = Dd::from_f64(t);
        let e: Vec<Dd> = x.iter().map(|v| wide_exp(v.to_f64(), max, td)).collect();
        let sum = e.iter().fold(Dd::ZERO, |acc, ei| acc.add(*ei));
        let y: Vec<Dd> = e.iter().map(|ei| ei.div(sum)).collect();
        let g = |v: &T| Dd::from_f64(v.to_f64());
        let dot = y
            .iter()
            .zip(dy)
            .fold(Dd::ZERO, |acc, (yi, gi)| acc.add(yi.mul(g(gi))));
        for ((d, yi), gi) in dx.iter_mut().zip(&y).zip(dy) {
            *d = T::from_f64(yi.mul(g(gi).sub(dot)).div(td).to_f64());
        }
        Some(())
    }
}

/// Two-pass online softmax with arithmetic in A: one pass keeps a running max m and
/// a sum d rescaled by exp(m_old − m_new) whenever the max grows; the second writes
/// exp((x − m)/T) / d.
pub fn online_softmax_row<T: Element, A: Element>(x: &[T], t: f64, out: &mut [T]) {
    let ta = A::from_f64(t);
    let scale = |d: A| if t == 1.0 { d } else { d / ta };
    let mut m = A::NEG_INFINITY;
    let mut d = A::ZERO;
    for v in x {
        let v = A::from_f64(v.to_f64());
        if v == A::NEG_INFINITY {
            continue; // carries no mass
        }
        if v > m {
            d = d * scale(m - v).exp() + A::ONE;
            m = v;
        } else {
            d = d + scale(v - m).exp();
        }
    }
    if !m.is_finite() || d.is_nan() {
        // NaN or +inf seen, or every entry -inf: the shared special-row rules.
        fill(classify(x), false, out);
        return;
    }
    for (o, v) in out.iter_mut().zip(x) {
        let e = scale(A::from_f64(v.to_f64()) - m).exp();
        *o = T::from_f64((e / d).to_f64());
    }
}

/// Two-pass online normaliser (Milakov & Gimelshein 2018); f16/bf16 accumulate in f32.
pub struct Online;

f32_for_half_kernel!(
    Online,
    VariantInfo {
    id: "online",
    family: Family::Stable,
    function: Function::Softmax,
    description: "two-pass online softmax (running max and rescaled sum in one pass, then write), Milakov & Gimelshein 2018",
    dtypes: &DType::ALL,
    accumulation: Accumulation::F32ForHalf,
    formula: Some(Formula::OnlineSoftmax),
    has_backward: true,
    temperature: true,
},
    online_softmax_row,
    softmax_vjp_row
);

/// Register this family's variants.
pub fn register(r: &mut Registry) {
    r.register(Stable);
    r.register(StableWide);
    r.register(Online);
}
