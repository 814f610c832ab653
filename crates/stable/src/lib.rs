//! Max-shifted softmax: the three-pass `stable`, its accurate `stable_wide` twin,
//! and the two-pass `online` normaliser of Milakov & Gimelshein (2018).
//!
//! All three follow `softmax_lab_core::special` for rows with NaN or infinities
//! and accept a temperature T (softmax(x / T)). They are plain loops meant to be
//! read and measured; the vectorised kernels live elsewhere — except [`wide`], a
//! vectorised f64 exponential and the three passes around it (written on the
//! simd crate's instruction-set layer, `softmax_lab_simd::isa`), which make
//! `stable_wide` on f16/bf16/f32 rows about 9 times faster than the scalar loop
//! (2.5 to 3 times candle's f32 `softmax_last_dim` instead of a third of it)
//! with the same outputs and bound: the accurate variant should not be the one
//! nobody can afford. Its docs give the method and the measured error.
//! [`gumbel`] adds `gumbel_softmax` and `gumbel_softmax_hard`: seeded samples,
//! scored by their statistics rather than per output.
//!
//! The summation order of the normaliser is a study axis of its own: `stable`
//! sums recursively (error growing like n·u), `stable_pairwise` by halving (log2 n
//! · u), `stable_blocked` in 32 running sums combined by a tree at the end (what
//! the vectorised kernels do: 4 × 8 f32 lanes; n/32 + 5 terms of u), and
//! `stable_compensated` with Neumaier's compensated sum (Kahan–Babuška: 2u + O(n
//! u²), flat in n). Everything else is `stable`'s three passes ([`SumOrder`]).
//!
//! The row kernels other families compute with too (the shifted softmax, its VJP,
//! the compensated sum) live in `softmax_lab_core::kernels` and are re-exported
//! here.
//!
//! Not for: log-probabilities (see the `logsumexp` crate).

pub mod gumbel;
pub mod wide;

use softmax_lab_core::f32_for_half_kernel;
use softmax_lab_core::kernels::shifted_exp;
/// The shifted softmax row kernel, its VJP and the compensated sum live in
/// `softmax_lab_core::kernels` (other families compute with them too).
pub use softmax_lab_core::kernels::{compensated_sum, shifted_softmax_row, softmax_vjp_row};
use softmax_lab_core::special::{classify, fill, fill_backward, RowClass};
use softmax_lab_core::{
    Accumulation, DType, Dd, Element, Family, Formula, Function, Registry, RowKernel, VariantInfo,
    Xd,
};

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

/// How the normaliser Σ exp((x − max)/T) is summed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SumOrder {
    /// Left to right, one running sum: error up to (n − 1)·u.
    Recursive,
    /// Pairs, then pairs of pairs: error up to ⌈log2 n⌉·u (Higham 2002, §4.2).
    Pairwise,
    /// 32 running sums (entry i into sum i mod 32), combined pairwise at the end,
    /// as the vectorised kernels do with 4 × 8 f32 lanes: (⌈n/32⌉ − 1 + 5)·u.
    Blocked,
    /// Neumaier's compensated summation (Kahan–Babuška): 2u + O(n u²)
    /// (Neumaier 1974; Higham 2002, §4.3).
    Compensated,
}

/// The running sums of [`SumOrder::Blocked`].
pub const BLOCKED_SUMS: usize = 32;

/// Σ v in A in the given order, for terms v_i ≥ 0 (v is used as scratch).
pub fn sum_in_order<A: Element>(order: SumOrder, v: &mut [A]) -> A {
    match order {
        SumOrder::Recursive => v.iter().fold(A::ZERO, |acc, &e| acc + e),
        SumOrder::Pairwise => pairwise_in_place(v),
        SumOrder::Blocked => {
            let mut acc = [A::ZERO; BLOCKED_SUMS];
            for (i, &e) in v.iter().enumerate() {
                acc[i % BLOCKED_SUMS] = acc[i % BLOCKED_SUMS] + e;
            }
            pairwise_in_place(&mut acc)
        }
        SumOrder::Compensated => compensated_sum(v.iter().copied()),
    }
}

/// Pairwise sum by levels: v[i] = v[2i] + v[2i + 1] until one value is left.
fn pairwise_in_place<A: Element>(v: &mut [A]) -> A {
    let mut len = v.len();
    if len == 0 {
        return A::ZERO;
    }
    while len > 1 {
        let half = len / 2;
        for i in 0..half {
            v[i] = v[2 * i] + v[2 * i + 1];
        }
        if len % 2 == 1 {
            v[half] = v[len - 1];
            len = half + 1;
        } else {
            len = half;
        }
    }
    v[0]
}

/// The shifted softmax with the normaliser summed in `order`, arithmetic in A:
/// the exponentials are kept in A (one allocation per row), summed, and divided.
/// With `SumOrder::Recursive` it gives `shifted_softmax_row`'s bits.
pub fn ordered_softmax_row<T: Element, A: Element>(
    order: SumOrder,
    x: &[T],
    t: f64,
    out: &mut [T],
) {
    let class = classify(x);
    if fill(class, false, out) {
        return;
    }
    let RowClass::Finite(max) = class else { return };
    let (m, ta) = (A::from_f64(max), A::from_f64(t));
    let e: Vec<A> = x
        .iter()
        .map(|v| shifted_exp(v.to_f64(), m, t, ta))
        .collect();
    let mut scratch = e.clone();
    let sum = sum_in_order(order, &mut scratch);
    for (o, &ei) in out.iter_mut().zip(&e) {
        *o = T::from_f64((ei / sum).to_f64());
    }
}

/// `ordered_softmax_row` with the pairwise order (for the kernel macro).
fn pairwise_softmax_row<T: Element, A: Element>(x: &[T], t: f64, out: &mut [T]) {
    ordered_softmax_row::<T, A>(SumOrder::Pairwise, x, t, out)
}

/// `ordered_softmax_row` with the blocked order (for the kernel macro).
fn blocked_softmax_row<T: Element, A: Element>(x: &[T], t: f64, out: &mut [T]) {
    ordered_softmax_row::<T, A>(SumOrder::Blocked, x, t, out)
}

/// `ordered_softmax_row` with the compensated order (for the kernel macro).
fn compensated_softmax_row<T: Element, A: Element>(x: &[T], t: f64, out: &mut [T]) {
    ordered_softmax_row::<T, A>(SumOrder::Compensated, x, t, out)
}

/// The info of a `stable` twin that differs only in its summation order.
const fn ordered_info(id: &'static str, description: &'static str) -> VariantInfo {
    VariantInfo {
        id,
        family: Family::Stable,
        function: Function::Softmax,
        description,
        dtypes: &DType::ALL,
        accumulation: Accumulation::F32ForHalf,
        formula: Some(Formula::ShiftedSoftmax),
        has_backward: true,
        temperature: true,
    }
}

/// `stable` with the normaliser summed pairwise.
pub struct StablePairwise;

f32_for_half_kernel!(
    StablePairwise,
    ordered_info(
        "stable_pairwise",
        "stable with the normaliser summed pairwise (error ~ log2(n) u); f16/bf16 accumulate in f32"
    ),
    pairwise_softmax_row,
    softmax_vjp_row
);

/// `stable` with the normaliser in 32 running sums, as the vectorised kernels.
pub struct StableBlocked;

f32_for_half_kernel!(
    StableBlocked,
    ordered_info(
        "stable_blocked",
        "stable with the normaliser in 32 running sums and a tree at the end, as the simd kernels (error ~ n/32 u); f16/bf16 accumulate in f32"
    ),
    blocked_softmax_row,
    softmax_vjp_row
);

/// `stable` with the normaliser summed by Neumaier's compensated summation.
pub struct StableCompensated;

f32_for_half_kernel!(
    StableCompensated,
    ordered_info(
        "stable_compensated",
        "stable with the normaliser summed by Neumaier's compensated (Kahan-Babuska) summation (error ~ 2u, flat in n); f16/bf16 accumulate in f32"
    ),
    compensated_softmax_row,
    softmax_vjp_row
);

/// Register this family's variants.
pub fn register(r: &mut Registry) {
    r.register(Stable);
    r.register(StableWide);
    r.register(Online);
    r.register(StablePairwise);
    r.register(StableBlocked);
    r.register(StableCompensated);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_order_sums_small_exact_cases_exactly() {
        for order in [
            SumOrder::Recursive,
            SumOrder::Pairwise,
            SumOrder::Blocked,
            SumOrder::Compensated,
        ] {
            // 1..=37 (odd lengths exercise the carried last element): 703, exact.
            let mut v: Vec<f32> = (1..=37).map(|i| i as f32).collect();
            assert_eq!(sum_in_order(order, &mut v), 703.0, "{order:?}");
            assert_eq!(sum_in_order::<f32>(order, &mut []), 0.0, "{order:?}");
            assert_eq!(sum_in_order(order, &mut [2.5f32]), 2.5, "{order:?}");
        }
    }

    #[test]
    fn orders_differ_where_the_recursive_sum_loses_small_terms() {
        // 1 followed by 2^20 terms of 2^-24 (half an f32 ulp of 1): the recursive sum
        // rounds each addition back to 1; exact = 1 + 2^-4 = 1.0625.
        let n = 1 << 20;
        let mut v = vec![2f32.powi(-24); n + 1];
        v[0] = 1.0;
        assert_eq!(sum_in_order(SumOrder::Recursive, &mut v.clone()), 1.0);
        let s = sum_in_order(SumOrder::Pairwise, &mut v.clone());
        assert!((s - 1.0625).abs() <= 2f32.powi(-22), "pairwise: {s}");
        // Blocked: the 2^15 terms that share the 1's running sum are lost, the
        // other 31 sums are exact: 1 + 2^-4 − 2^-9.
        let s = sum_in_order(SumOrder::Blocked, &mut v.clone());
        assert_eq!(s, 1.0 + 2f32.powi(-4) - 2f32.powi(-9));
        assert_eq!(sum_in_order(SumOrder::Compensated, &mut v), 1.0625);
        // Compensation keeps what every other order loses: 1 + 3 × 2^-25.
        let mut w = vec![1f32, 2f32.powi(-25), 2f32.powi(-25), 2f32.powi(-25)];
        let exact = 1.0 + 3.0 * 2f64.powi(-25);
        assert_eq!(sum_in_order(SumOrder::Recursive, &mut w.clone()), 1.0);
        let c = sum_in_order(SumOrder::Compensated, &mut w) as f64;
        assert_eq!(c, (exact as f32) as f64);
    }

    #[test]
    fn recursive_order_gives_the_bits_of_stable() {
        let x: Vec<f32> = (0..100)
            .map(|i| ((i * 37) % 23) as f32 * 0.37 - 4.0)
            .collect();
        for t in [1.0, 0.7] {
            let (mut a, mut b) = (vec![0f32; 100], vec![0f32; 100]);
            shifted_softmax_row::<f32, f32>(&x, t, &mut a);
            ordered_softmax_row::<f32, f32>(SumOrder::Recursive, &x, t, &mut b);
            assert_eq!(a, b, "T = {t}");
        }
    }
}
