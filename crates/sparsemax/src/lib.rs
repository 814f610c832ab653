//! Sparse maps onto the probability simplex: `sparsemax` (sort-based, Martins &
//! Astudillo 2016), `sparsemax_linear` (the same function by Condat's 2016
//! selection method, no sort) and `entmax15` (α = 1.5 entmax, the exact sort-based
//! algorithm of Peters, Niculae & Martins 2019). Unlike softmax these give exact
//! zeros: every entry at or below a threshold τ gets probability 0.
//!
//! All three accept a temperature T (the map of x / T), run in every dtype with
//! f32 arithmetic for f16/bf16 (`Accumulation::F32ForHalf`), and share one rule for
//! rows with NaN or infinities ([`special_rows`]). Their backward passes are the
//! closed-form vector–Jacobian products over the support.
//!
//! How they stay accurate in a narrow arithmetic type: the scores are taken
//! relative to the row maximum, x_i − max, exactly (as an unevaluated pair
//! hi + lo, TwoSum), so logits around ±1000 — where the reference Python entmax,
//! which squares unshifted f16 values, returns NaN — cost nothing; the threshold τ
//! is carried as a pair too (compensated sums for sparsemax, Newton steps on a
//! compensated residual for 1.5-entmax), and each output p_i = z_i − τ (or its
//! square) is formed from the pairs, so the cancellation near the threshold does not
//! eat the result. Outputs land within about one ulp of the dtype.
//!
//! Not for: softmax-like maps with full support (see `stable`), or batched
//! vectorised kernels.

use std::cmp::Ordering;

use softmax_lab_core::f32_for_half_kernel;
use softmax_lab_core::special::{classify, fill, fill_backward, RowClass};
use softmax_lab_core::{Accumulation, DType, Element, Family, Function, Registry, VariantInfo};

/// The arithmetic types (f32, f64): `Element` plus the fused multiply-add and the
/// square root the compensated arithmetic needs.
pub trait Arith: Element {
    /// a·b + c with one rounding.
    fn fma(self, b: Self, c: Self) -> Self;
    /// The correctly rounded square root.
    fn sqrt(self) -> Self;
}

impl Arith for f32 {
    fn fma(self, b: f32, c: f32) -> f32 {
        self.mul_add(b, c)
    }
    fn sqrt(self) -> f32 {
        f32::sqrt(self)
    }
}

impl Arith for f64 {
    fn fma(self, b: f64, c: f64) -> f64 {
        self.mul_add(b, c)
    }
    fn sqrt(self) -> f64 {
        f64::sqrt(self)
    }
}

/// An unevaluated sum hi + lo in the arithmetic type, |lo| ≤ ulp(hi)/2 (hi = 0
/// implies lo = 0). Non-finite values carry lo = 0.
#[derive(Clone, Copy, Debug)]
struct Pair<A> {
    hi: A,
    lo: A,
}

/// a + b exactly, as a pair (Knuth's TwoSum); overflow gives (±inf, 0).
fn two_sum<A: Element>(a: A, b: A) -> Pair<A> {
    let s = a + b;
    if !s.is_finite() {
        return Pair { hi: s, lo: A::ZERO };
    }
    let bb = s - a;
    Pair {
        hi: s,
        lo: (a - (s - bb)) + (b - bb),
    }
}

/// a + b exactly when |a| ≥ |b| or a = 0 (Dekker's FastTwoSum).
fn quick_two_sum<A: Element>(a: A, b: A) -> Pair<A> {
    let s = a + b;
    if !s.is_finite() {
        return Pair { hi: s, lo: A::ZERO };
    }
    Pair {
        hi: s,
        lo: b - (s - a),
    }
}

impl<A: Arith> Pair<A> {
    fn of(a: A) -> Pair<A> {
        Pair { hi: a, lo: A::ZERO }
    }

    /// Sum of two pairs (the accurate double-word addition: relative error about
    /// 2u² of the result).
    fn add(self, b: Pair<A>) -> Pair<A> {
        let s = two_sum(self.hi, b.hi);
        if !s.hi.is_finite() {
            return s;
        }
        let t = two_sum(self.lo, b.lo);
        let s = quick_two_sum(s.hi, s.lo + t.hi);
        quick_two_sum(s.hi, s.lo + t.lo)
    }

    fn sub(self, b: Pair<A>) -> Pair<A> {
        self.add(Pair {
            hi: -b.hi,
            lo: -b.lo,
        })
    }

    /// self / d for a finite d > 0: the remainder hi − q·d is exact by FMA.
    fn div(self, d: A) -> Pair<A> {
        let q = self.hi / d;
        if !q.is_finite() || q == A::ZERO {
            return Pair::of(q);
        }
        let r = (-q).fma(d, self.hi) + self.lo;
        quick_two_sum(q, r / d)
    }

    /// The square (TwoProduct by FMA plus the cross term).
    fn square(self) -> Pair<A> {
        let p = self.hi * self.hi;
        if !p.is_finite() {
            return Pair::of(p);
        }
        let e = self.hi.fma(self.hi, -p);
        let two = A::ONE + A::ONE;
        quick_two_sum(p, e + two * self.hi * self.lo)
    }

    /// Scale by 1/2 (exact unless it underflows).
    fn half(self) -> Pair<A> {
        let h = A::from_f64(0.5);
        Pair {
            hi: self.hi * h,
            lo: self.lo * h,
        }
    }

    fn is_positive(self) -> bool {
        self.hi > A::ZERO
    }

    /// hi + lo in f64: exact for f64's own pairs' leading part and for f32 pairs
    /// whose parts lie within 29 binades, so storing through it rounds once.
    fn to_f64(self) -> f64 {
        self.hi.to_f64() + self.lo.to_f64()
    }
}

/// The score of one entry as a pair: (v − max) / T, halved for 1.5-entmax.
/// v − max is exact (TwoSum); the division keeps its remainder, so for T = 1 the
/// score is exact and otherwise within about u_A² relative (plus the rounding of
/// T to A, exact for T = 0.5, 2, 3, ...).
#[inline]
fn score<T: Element, A: Arith>(v: T, m: A, t: A, halve: bool) -> Pair<A> {
    let d = two_sum(A::from_f64(v.to_f64()), -m);
    let z = if t == A::ONE { d } else { d.div(t) };
    if halve {
        z.half()
    } else {
        z
    }
}

/// The non-finite rows of the sparse maps, defined once for the three variants
/// (and mirrored by `softmax_lab_core::reference::sparsemax`/`entmax15`, which use
/// the same `special::classify`). Writes the output of a special row and returns
/// None, or returns the row maximum for the normal path.
///
/// The choice: exactly softmax's rule (`softmax_lab_core::special`). NaN anywhere
/// → all NaN; −inf entries → 0 (they never reach the support); one +inf →
/// one-hot (for x_k → ∞ the output is exactly one-hot once the gap to the
/// runner-up exceeds 1 for sparsemax, 2 for 1.5-entmax); n = 1 → [1]. Two or more
/// +inf → all NaN, and all −inf (n ≥ 2) → all NaN: although both maps are
/// piecewise polynomial and shift-invariant, their limit still depends on how the
/// infinities are approached — sparsemax([c, c + d]) = [(1 − d)/2, (1 + d)/2] for
/// every c and |d| < 1 — so "uniform over the +inf entries" would be one arbitrary
/// path among many.
pub fn special_rows<T: Element>(x: &[T], out: &mut [T]) -> Option<f64> {
    let class = classify(x);
    if fill(class, false, out) {
        return None;
    }
    match class {
        RowClass::Finite(max) => Some(max),
        _ => None,
    }
}

/// Backward at the special rows of [`special_rows`]: all NaN for a NaN row, 0 for
/// a one-hot row (the Jacobian vanishes on a support of one entry). Returns false
/// for a finite row, which the caller computes.
pub fn special_rows_backward<T: Element>(x: &[T], t: f64, dy: &[T], dx: &mut [T]) -> bool {
    fill_backward(classify(x), false, t, dy, dx)
}

/// Sort a copy of the row into `out`, largest first (the scratch space the
/// contract allows: no allocation per call). The row has no NaN here.
fn sort_descending<T: Element>(x: &[T], out: &mut [T]) {
    out.copy_from_slice(x);
    out.sort_unstable_by(|a, b| b.partial_cmp(a).unwrap_or(Ordering::Equal));
}

/// Write p_i = [z_i − τ]_+ (sparsemax) or [z_i/2 − τ]_+² (1.5-entmax), from the
/// pairs, rounding once to T. Entries at or below τ get exactly +0.
fn write_output<T: Element, A: Arith>(
    x: &[T],
    m: A,
    ta: A,
    tau: Pair<A>,
    square: bool,
    out: &mut [T],
) {
    for (o, v) in out.iter_mut().zip(x) {
        let e = score(*v, m, ta, square).sub(tau);
        *o = if !e.is_positive() {
            T::ZERO
        } else if square {
            T::from_f64(e.square().to_f64())
        } else {
            T::from_f64(e.to_f64())
        };
    }
}

/// τ = (Σ_{j∈S} z_j − 1) / |S| for the support values in `support`, as a pair.
fn sparsemax_threshold<T: Element, A: Arith>(support: &[T], m: A, ta: A) -> Pair<A> {
    let sum = support
        .iter()
        .fold(Pair::of(A::ZERO), |s, v| s.add(score(*v, m, ta, false)));
    sum.sub(Pair::of(A::ONE))
        .div(A::from_f64(support.len() as f64))
}

/// Sort-based sparsemax of one row with arithmetic in A (Martins & Astudillo 2016,
/// Algorithm 1): sort z descending, k = max{k : 1 + k z_(k) > Σ_{j≤k} z_(j)}, τ =
/// (Σ_{j≤k} z_(j) − 1)/k, p = [z − τ]_+. The prefix sums and the test z_(k) > τ_k
/// are compensated (pairs), so k and τ are those of the exact scores up to
/// about u_A² per term.
pub fn sparsemax_row<T: Element, A: Arith>(x: &[T], t: f64, out: &mut [T]) {
    let Some(max) = special_rows(x, out) else {
        return;
    };
    let (m, ta) = (A::from_f64(max), A::from_f64(t));
    sort_descending(x, out);
    let mut sum = Pair::of(A::ZERO);
    // The top entry (z = 0) always qualifies, with τ_1 = −1.
    let mut tau = Pair::of(-A::ONE);
    for (j, v) in out.iter().enumerate() {
        let z = score(*v, m, ta, false);
        let s = sum.add(z);
        let tau_k = s.sub(Pair::of(A::ONE)).div(A::from_f64((j + 1) as f64));
        // The condition holds exactly for a prefix of the sorted scores.
        if !z.sub(tau_k).is_positive() {
            break;
        }
        sum = s;
        tau = tau_k;
    }
    write_output(x, m, ta, tau, false, out);
}

/// Sparsemax of one row in expected linear time, with arithmetic in A: Condat's
/// (2016) method, "Fast projection onto the simplex and the l1 ball", Algorithm
/// in §3. One pass keeps a candidate set v with running threshold ρ = (Σv − 1)/|v|
/// (entries that cannot be in the support are parked, or dropped for good); the
/// parked ones are re-admitted if above ρ; then entries ≤ ρ are removed from v
/// until a sweep removes none — the stopping rule, exact and dtype-independent
/// (no tolerance: the loop ends when |v| stops changing). Expected O(n) on
/// random rows (Condat's experiments; worst case O(n²)). v and the parked set
/// live at the front and the back of `out` (no allocation). With the support
/// found, τ is recomputed with compensated sums exactly as in `sparsemax_row`.
pub fn sparsemax_linear_row<T: Element, A: Arith>(x: &[T], t: f64, out: &mut [T]) {
    let Some(max) = special_rows(x, out) else {
        return;
    };
    let (m, ta) = (A::from_f64(max), A::from_f64(t));
    let n = x.len();
    let z = |v: T| score(v, m, ta, false).hi;
    // v = out[..nv]; parked = out[n - np..]. Every entry seen is in v, parked or
    // dropped, so nv + np ≤ entries seen before the current one < n.
    let (mut nv, mut np) = (0usize, 0usize);
    let mut rho = A::ZERO;
    for &v in x {
        let y = z(v);
        if !y.is_finite() {
            continue; // −inf carries no mass
        }
        if nv == 0 {
            out[0] = v;
            nv = 1;
            rho = y - A::ONE;
            continue;
        }
        if y > rho {
            rho = rho + (y - rho) / A::from_f64((nv + 1) as f64);
            if rho > y - A::ONE {
                out[nv] = v;
                nv += 1;
            } else {
                out.copy_within(0..nv, n - np - nv);
                np += nv;
                out[0] = v;
                nv = 1;
                rho = y - A::ONE;
            }
        }
    }
    for i in n - np..n {
        let v = out[i];
        let y = z(v);
        if y > rho {
            out[nv] = v;
            nv += 1;
            rho = rho + (y - rho) / A::from_f64(nv as f64);
        }
    }
    loop {
        let before = nv;
        let mut kept = 0;
        for i in 0..nv {
            let v = out[i];
            let y = z(v);
            if y > rho || kept + (nv - i) == 1 {
                out[kept] = v;
                kept += 1;
            } else {
                let left = (kept + nv - i - 1) as f64;
                rho = rho + (rho - y) / A::from_f64(left);
            }
        }
        nv = kept;
        if nv == before {
            break;
        }
    }
    let tau = sparsemax_threshold(&out[..nv], m, ta);
    write_output(x, m, ta, tau, false, out);
}

/// Exact sort-based 1.5-entmax of one row with arithmetic in A (Peters, Niculae &
/// Martins 2019, Algorithm 2, in their parametrisation p = [(α − 1)z − τ]_+^{1/(α−1)}
/// = [z/2 − τ]_+² with z = x / T). With y = z/2 sorted descending, the support
/// size k is the largest with τ_k ≤ y_(k), where τ_k = mean_k − √((1 − ss_k)/k)
/// solves Σ_{j≤k}(y_(j) − τ)² = 1 (ss_k = Σ_{j≤k}(y_(j) − mean_k)²). Two
/// departures from the reference code, both for accuracy: mean and ss are updated
/// by Welford's recurrence (the paper's k·(mean(y²) − mean²) cancels, and with
/// unshifted f16 logits near 1000 overflows to NaN); and τ is then polished by
/// Newton steps on Σ_{j≤k}(y_(j) − τ)² − 1 with the residual summed in pairs,
/// stopping when a step is below u_A² or stops shrinking (at most 8).
pub fn entmax15_row<T: Element, A: Arith>(x: &[T], t: f64, out: &mut [T]) {
    let Some(max) = special_rows(x, out) else {
        return;
    };
    let (m, ta) = (A::from_f64(max), A::from_f64(t));
    sort_descending(x, out);
    let (mut mean, mut ss) = (A::ZERO, A::ZERO);
    let mut tau_a = -A::ONE;
    let mut k = 1;
    for (j, v) in out.iter().enumerate() {
        let y = score(*v, m, ta, true).hi;
        if !y.is_finite() {
            break;
        }
        let count = A::from_f64((j + 1) as f64);
        let delta = y - mean;
        mean = mean + delta / count;
        ss = ss + delta * (y - mean);
        let disc = (A::ONE - ss) / count;
        // ss only grows along the sorted prefix, so a negative discriminant ends it.
        if disc.is_nan() || disc < A::ZERO {
            break;
        }
        let tau_j = mean - disc.sqrt();
        if tau_j.is_nan() || y <= tau_j {
            break;
        }
        tau_a = tau_j;
        k = j + 1;
    }
    let mut tau = Pair::of(tau_a);
    let tiny = A::DTYPE.unit_roundoff().powi(2);
    let mut last_step = f64::INFINITY;
    for _ in 0..8 {
        let mut f = Pair::of(-A::ONE);
        let mut slope = A::ZERO;
        for v in &out[..k] {
            let e = score(*v, m, ta, true).sub(tau);
            f = f.add(e.square());
            slope = slope + e.hi;
        }
        // τ ← τ − f/f' with f' = −2 Σ e.
        let step = (f.hi + f.lo) / (slope + slope);
        tau = tau.add(Pair::of(step));
        let size = step.to_f64().abs();
        if size <= tiny || size >= last_step || size.is_nan() {
            break;
        }
        last_step = size;
    }
    write_output(x, m, ta, tau, true, out);
}

/// dL/dx of sparsemax(x / T) from the stored output: the Jacobian is
/// (diag(s) − s sᵀ/|S|)/T with s the support indicator (y > 0), so
/// dx_i = s_i (g_i − mean_{j∈S} g_j) / T (Martins & Astudillo 2016, eq. 14).
pub fn sparsemax_vjp_row<T: Element, A: Element>(x: &[T], y: &[T], dy: &[T], t: f64, dx: &mut [T]) {
    if special_rows_backward(x, t, dy, dx) {
        return;
    }
    let (mut sum, mut count) = (A::ZERO, 0usize);
    for (yi, gi) in y.iter().zip(dy) {
        if *yi > T::ZERO {
            sum = sum + A::from_f64(gi.to_f64());
            count += 1;
        }
    }
    let mean = sum / A::from_f64(count.max(1) as f64);
    let ta = A::from_f64(t);
    for ((d, yi), gi) in dx.iter_mut().zip(y).zip(dy) {
        *d = if *yi > T::ZERO {
            T::from_f64(((A::from_f64(gi.to_f64()) - mean) / ta).to_f64())
        } else {
            T::ZERO
        };
    }
}

/// dL/dx of 1.5-entmax(x / T) from the stored output. On the support p_i = e_i²
/// with e_i = z_i/2 − τ and Σe_i² = 1; differentiating, dτ = Σe_j dz_j / (2Σe_j),
/// so ∂p/∂z = diag(e) − e eᵀ/Σe (Peters, Niculae & Martins 2019, Prop. 3 with
/// s_i = p_i^{2−α} = √p_i) and dx = e ⊙ (g − ⟨e, g⟩/Σe) / T, with e = √y.
pub fn entmax15_vjp_row<T: Element, A: Arith>(x: &[T], y: &[T], dy: &[T], t: f64, dx: &mut [T]) {
    if special_rows_backward(x, t, dy, dx) {
        return;
    }
    let e = |v: &T| A::from_f64(v.to_f64()).sqrt();
    let (mut sum, mut dot) = (A::ZERO, A::ZERO);
    for (yi, gi) in y.iter().zip(dy) {
        let ei = e(yi);
        sum = sum + ei;
        dot = dot + ei * A::from_f64(gi.to_f64());
    }
    let centre = dot / sum;
    let ta = A::from_f64(t);
    for ((d, yi), gi) in dx.iter_mut().zip(y).zip(dy) {
        let v = e(yi) * (A::from_f64(gi.to_f64()) - centre) / ta;
        *d = T::from_f64(v.to_f64());
    }
}

/// Sort-based sparsemax (Martins & Astudillo 2016).
pub struct Sparsemax;

/// Sparsemax in expected linear time (Condat 2016).
pub struct SparsemaxLinear;

/// Exact sort-based 1.5-entmax (Peters, Niculae & Martins 2019).
pub struct Entmax15;

f32_for_half_kernel!(
    Sparsemax,
    VariantInfo {
    id: "sparsemax",
    family: Family::Sparse,
    function: Function::Sparsemax,
    description: "sparsemax, sort-based (Martins & Astudillo 2016); compensated threshold, f16/bf16 in f32",
    dtypes: &DType::ALL,
    accumulation: Accumulation::F32ForHalf,
    formula: None,
    has_backward: true,
    temperature: true,
},
    sparsemax_row,
    sparsemax_vjp_row
);

f32_for_half_kernel!(
    SparsemaxLinear,
    VariantInfo {
    id: "sparsemax_linear",
    family: Family::Sparse,
    function: Function::Sparsemax,
    description: "sparsemax in expected linear time, no sort (Condat 2016); compensated threshold, f16/bf16 in f32",
    dtypes: &DType::ALL,
    accumulation: Accumulation::F32ForHalf,
    formula: None,
    has_backward: true,
    temperature: true,
},
    sparsemax_linear_row,
    sparsemax_vjp_row
);

f32_for_half_kernel!(
    Entmax15,
    VariantInfo {
    id: "entmax15",
    family: Family::Sparse,
    function: Function::Entmax15,
    description: "1.5-entmax, exact sort-based (Peters, Niculae & Martins 2019); Newton-polished threshold, f16/bf16 in f32",
    dtypes: &DType::ALL,
    accumulation: Accumulation::F32ForHalf,
    formula: None,
    has_backward: true,
    temperature: true,
},
    entmax15_row,
    entmax15_vjp_row
);

/// Register this family's variants.
pub fn register(r: &mut Registry) {
    r.register(Sparsemax);
    r.register(SparsemaxLinear);
    r.register(Entmax15);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_arithmetic_keeps_what_f32_drops() {
        // 1 + 2^-30 is not an f32, but the pair holds it exactly.
        let s = two_sum(1.0f32, 2f32.powi(-30));
        assert_eq!((s.hi, s.lo), (1.0, 2f32.powi(-30)));
        // 1/3 as a pair: the remainder makes it good to about 2^-48.
        let q = Pair::of(1.0f32).div(3.0);
        assert!((q.to_f64() - 1.0 / 3.0).abs() < 2f64.powi(-46));
        // (1 + 2^-20)² = 1 + 2^-19 + 2^-40: the last term survives in lo.
        let p = Pair::of(1.0f32 + 2f32.powi(-20)).square();
        assert_eq!(p.to_f64(), 1.0 + 2f64.powi(-19) + 2f64.powi(-40));
    }

    #[test]
    fn condat_parks_and_readmits_through_the_scratch_buffer() {
        // Ascending logits force every new entry to restart v and park the old
        // one (the overlapping copy_within path); the sorted variant agrees.
        let x: Vec<f64> = (0..40).map(|i| i as f64 * 0.75).collect();
        let (mut a, mut b) = (vec![0.0; 40], vec![0.0; 40]);
        sparsemax_linear_row::<f64, f64>(&x, 1.0, &mut a);
        sparsemax_row::<f64, f64>(&x, 1.0, &mut b);
        assert_eq!(a, b);
        let mut want = vec![0.0; 40];
        // Gap 0.75 < 1: the top two share the mass, τ = (29.25 + 28.5 − 1)/2.
        want[39] = 0.875;
        want[38] = 0.125;
        assert_eq!(a, want);
    }
}
