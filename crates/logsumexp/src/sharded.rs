//! Sharded softmax and log-softmax: a row split into k contiguous shards, each
//! reduced to its local (max, Σ exp((x − max)/T)) — the only data the shards
//! exchange — and merged into the unsharded normaliser. This is how
//! vocabulary-parallel softmax works across devices: every device holds a slice
//! of the vocabulary, all-reduces two numbers per row, and writes its own slice.
//!
//! Layout: shard j holds entries [j·c, min((j+1)·c, n)) with c = ⌈n/k⌉, so the last
//! shard is the short one (and there are fewer than k shards when (k − 1)·c ≥ n).
//!
//! Arithmetic follows `F32ForHalf`: the statistics, the merge and the outputs are
//! computed in A = f32 for f16/bf16/f32 rows and A = f64 for f64 rows. A row's
//! shards exchange `bytes_exchanged(k, dtype)` = 6(k − 1)·size_of(A) bytes over a
//! forward and a backward pass: the summaries gathered and the merged one sent
//! back (4(k − 1) values), and the backward pass's Σ y·dy reduced and sent back
//! (2(k − 1) values); one shard exchanges nothing.
//!
//! The merge: M = max_k m_k; S = Σ_k s_k · exp((m_k − M)/T) (the factor is skipped,
//! exactly 1, where m_k = M). Its cost is at most k − 1 exps, k − 1 multiplies and
//! k − 1 adds per row, whatever n is.
//!
//! Error bound (standard model, first order, notation of `softmax_lab_core::bounds`;
//! τ_i = (M − x_i)/T, n_max = ⌈n/k⌉ the longest shard, k' = min(k, n) the shards
//! holding entries): the exponential of entry i in the local sum has relative error
//! u(κ t_i + c_exp) with t_i = (m_k − x_i)/T, its shard's rescale adds
//! u(κ Δ_k + c_exp) with Δ_k = (M − m_k)/T, and t_i + Δ_k = τ_i; the local recursive
//! sum adds (n_k − 1)u, the product u, the sum over shards (k' − 1)u. Weighting by
//! each entry's share w_i = e^{−τ_i}/S of S (S >= 1, τ e^{−τ} <= 1/e, one τ_i = 0):
//!   relerr(S) <= u (κ (n − 1)/e + 2 c_exp + n_max + k').
//! The output exp((x_j − M)/T)/S adds u(κ τ_j + c_exp + 1), and y_j τ_j <= y_max/e, so
//!   normwise(softmax) <= γ(κ n/e + 3 c_exp + 1 + n_max + k') + u_s   ([`normwise_bound`]).
//! For log-softmax, z_j = (x_j − M)/T − ln S has absolute error at most
//! u(κ τ_j + relerr(S)/u + c_ln ln S + |z_j|); with τ_j, |z_j|, ln S <= max|z| and
//! max|z| >= ln n (n >= 2):
//!   normwise(log) <= γ(κ + 1 + c_ln + (κ (n − 1)/e + 2 c_exp + n_max + k')/ln n) + u_s.
//! The merge adds at most k − 1 rescales, each an online-softmax step, so for n >= 2
//! the softmax bound is below `bounds::normwise(Formula::OnlineSoftmax, ..)` (the
//! formula `sharded_softmax` names); the tests pin both.

use softmax_lab_core::bounds::{Rounding, C_EXP, C_LN};
use softmax_lab_core::f32_for_half;
use softmax_lab_core::kernels::{log_softmax_vjp_row, softmax_vjp_row};
use softmax_lab_core::maxtail::MaxTail;
use softmax_lab_core::{
    Accumulation, DType, Element, Family, Formula, Function, Registry, RowKernel, VariantInfo,
};

/// The most shards a row is split into; a larger `shards` is clamped to it (the
/// statistics of a row live in a fixed array, so no call allocates).
pub const MAX_SHARDS: usize = 256;

/// The shard count of the registered variants.
pub const REGISTERED_SHARDS: usize = 4;

/// What one shard sends to the others: its (max, tail) summary
/// ([`MaxTail`], the algebra shared with the simd kernels' long rows) in the
/// arithmetic type A: the shard's largest entry m and Σ exp((x − m)/T) over every
/// entry but its first maximum.
///
/// Non-finite shards: all −inf (or empty) gives the empty summary (−inf, −1);
/// c > 0 entries +inf give (+inf, c − 1) (each further +inf contributes
/// exp(0) = 1, the limit as they grow together); any NaN gives (NaN, NaN).
pub type ShardStats<A> = MaxTail<A>;

/// The summary of a shard that holds NaN.
fn nan_stats<A: Element>() -> ShardStats<A> {
    MaxTail {
        max: A::NAN,
        tail: A::NAN,
    }
}

/// Whether a summary carries NaN (a NaN entry, or two +inf merged: no limit).
fn is_nan<A: Element>(s: &ShardStats<A>) -> bool {
    s.max.is_nan() || s.tail.is_nan()
}

/// (v − m)/T in A (no division when T = 1, as the other kernels).
#[inline]
fn scaled<A: Element>(d: A, t: f64, ta: A) -> A {
    if t == 1.0 {
        d
    } else {
        d / ta
    }
}

/// A shard's local summary: its max m and Σ_{j≠k} exp((x_j − m)/T), k its first
/// maximum; arithmetic in A.
pub fn shard_stats<T: Element, A: Element>(shard: &[T], t: f64) -> ShardStats<A> {
    let mut max = A::NEG_INFINITY;
    let mut pos_inf = 0usize;
    for v in shard {
        let v = A::from_f64(v.to_f64());
        if v.is_nan() {
            return nan_stats();
        }
        if v == A::INFINITY {
            pos_inf += 1;
        }
        if v > max {
            max = v;
        }
    }
    if pos_inf > 0 {
        return MaxTail {
            max: A::INFINITY,
            tail: A::from_f64(pos_inf as f64 - 1.0),
        };
    }
    if max == A::NEG_INFINITY {
        return MaxTail::empty();
    }
    let ta = A::from_f64(t);
    MaxTail::of_shifted(
        max,
        shard
            .iter()
            .map(|v| scaled(A::from_f64(v.to_f64()) - max, t, ta)),
    )
}

/// Merge shard summaries, in shard order, into the row's with
/// [`MaxTail::merge_at`]: M = max m_k, and each lower summary rescaled by
/// exp((m_k − M)/T). NaN anywhere gives NaN.
pub fn merge<A: Element>(stats: &[ShardStats<A>], t: f64) -> ShardStats<A> {
    if stats.iter().any(is_nan) {
        return nan_stats();
    }
    stats
        .iter()
        .fold(MaxTail::empty(), |acc, &s| acc.merge_at(s, t))
}

/// The size of one exchanged value: the arithmetic type (f32 for f16/bf16/f32
/// rows, f64 for f64 rows).
fn exchanged_value_bytes(dtype: DType) -> usize {
    if dtype == DType::F64 {
        DType::F64.size_bytes()
    } else {
        DType::F32.size_bytes()
    }
}

/// Bytes one row's shards exchange in the forward pass: the k − 1 shards other
/// than the one that merges send it their (max, tail) summary, and it sends the
/// merged (max, tail) back to each of them — 4(k − 1) values of the arithmetic
/// type; 0 for one shard, which exchanges nothing.
pub fn forward_bytes_exchanged(shards: usize, dtype: DType) -> usize {
    4 * shards.saturating_sub(1) * exchanged_value_bytes(dtype)
}

/// Bytes one row's shards exchange in the backward pass: softmax's
/// vector-Jacobian product y ⊙ (dy − Σ y·dy) needs the row's Σ y·dy, one partial
/// sum from each of the k − 1 other shards and the total sent back — 2(k − 1)
/// values; 0 for one shard.
pub fn backward_bytes_exchanged(shards: usize, dtype: DType) -> usize {
    2 * shards.saturating_sub(1) * exchanged_value_bytes(dtype)
}

/// Bytes one row's shards exchange over a forward and a backward pass
/// ([`forward_bytes_exchanged`] + [`backward_bytes_exchanged`]): 6(k − 1) values.
pub fn bytes_exchanged(shards: usize, dtype: DType) -> usize {
    forward_bytes_exchanged(shards, dtype) + backward_bytes_exchanged(shards, dtype)
}

/// The entries per shard for a row of n split k ways: ⌈n/k⌉ (the last shard shorter).
pub fn shard_len(n: usize, shards: usize) -> usize {
    n.div_ceil(shards.clamp(1, MAX_SHARDS)).max(1)
}

/// The shards that hold entries: min(k, n) up to the ⌈n/k⌉ layout.
pub fn shards_used(n: usize, shards: usize) -> usize {
    n.div_ceil(shard_len(n, shards))
}

fn gamma(k: f64, u: f64) -> f64 {
    let ku = k * u;
    if ku >= 1.0 {
        f64::INFINITY
    } else {
        ku / (1.0 - ku)
    }
}

/// The relative-error bound of the merged sum S, in units of u (module docs).
fn sum_error_units(n: usize, shards: usize, temperature: f64) -> f64 {
    let kappa = if temperature == 1.0 { 1.0 } else { 3.0 };
    let e = std::f64::consts::E;
    let (nf, n_max, used) = (
        n as f64,
        shard_len(n, shards) as f64,
        shards_used(n, shards) as f64,
    );
    kappa * (nf - 1.0) / e + 2.0 * C_EXP + n_max + used
}

/// The normwise error bound of `sharded_softmax` (log = false) or
/// `sharded_log_softmax` (log = true) on a row of n split `shards` ways (module docs).
pub fn normwise_bound(log: bool, r: Rounding, n: usize, shards: usize, temperature: f64) -> f64 {
    let kappa = if temperature == 1.0 { 1.0 } else { 3.0 };
    let e = std::f64::consts::E;
    let s = sum_error_units(n, shards, temperature);
    let big_k = if !log {
        kappa / e + C_EXP + 1.0 + s
    } else if n < 2 {
        0.0
    } else {
        kappa + 1.0 + C_LN + s / (n as f64).ln()
    };
    gamma(big_k, r.u) + r.u_store
}

/// Write one shard's outputs from the merged statistics, arithmetic in A. `n` is
/// the whole row's length (n = 1 has its own rule in `special`).
fn write_shard<T: Element, A: Element>(
    shard: &[T],
    merged: ShardStats<A>,
    n: usize,
    t: f64,
    log: bool,
    out: &mut [T],
) {
    let (on, off) = if log {
        (T::ZERO, T::NEG_INFINITY)
    } else {
        (T::ONE, T::ZERO)
    };
    if is_nan(&merged) {
        out.fill(T::NAN);
    } else if n == 1 {
        out.fill(on);
    } else if merged.max == A::INFINITY {
        // One +inf in the whole row: one-hot at it. Two or more: no limit.
        if merged.tail == A::ZERO {
            for (o, v) in out.iter_mut().zip(shard) {
                *o = if v.to_f64() == f64::INFINITY { on } else { off };
            }
        } else {
            out.fill(T::NAN);
        }
    } else if merged.max == A::NEG_INFINITY {
        out.fill(T::NAN); // every entry −inf, n >= 2: 0/0
    } else {
        let ta = A::from_f64(t);
        // ln S = ln1p(tail): the dominant entry of a nearly one-hot row keeps the
        // tail a rounded 1 + tail would lose (Blanchard, Higham & Higham 2021).
        let ln_sum = if log {
            merged.ln_sum_shifted()
        } else {
            A::ZERO
        };
        let sum = merged.sum();
        for (o, v) in out.iter_mut().zip(shard) {
            let z = scaled(A::from_f64(v.to_f64()) - merged.max, t, ta);
            let y = if log { z - ln_sum } else { z.exp() / sum };
            *o = T::from_f64(y.to_f64());
        }
    }
}

/// One row through the sharded path: local statistics, merge, local writes.
pub fn sharded_row<T: Element, A: Element>(
    x: &[T],
    shards: usize,
    t: f64,
    log: bool,
    out: &mut [T],
) {
    let n = x.len();
    let c = shard_len(n, shards);
    let mut stats = [MaxTail::<A>::empty(); MAX_SHARDS];
    let used = n.div_ceil(c);
    for (s, shard) in stats.iter_mut().zip(x.chunks(c)) {
        *s = shard_stats::<T, A>(shard, t);
    }
    let merged = merge(&stats[..used], t);
    for (shard, o) in x.chunks(c).zip(out.chunks_mut(c)) {
        write_shard(shard, merged, n, t, log, o);
    }
}

/// Softmax over k contiguous shards merged through their (max, sum) statistics;
/// f16/bf16 accumulate in f32.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardedSoftmax {
    /// The number of shards k (clamped to 1..=`MAX_SHARDS`).
    pub shards: usize,
}

/// Log-softmax over k contiguous shards: (x − M)/T − ln S from the merged statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardedLogSoftmax {
    /// The number of shards k (clamped to 1..=`MAX_SHARDS`).
    pub shards: usize,
}

impl RowKernel for ShardedSoftmax {
    const INFO: VariantInfo = VariantInfo {
        id: "sharded_softmax",
        family: Family::LogSumExp,
        function: Function::Softmax,
        description: "softmax over 4 contiguous shards merged from per-shard (max, sum of exp), as vocabulary-parallel softmax; f16/bf16 accumulate in f32",
        dtypes: &DType::ALL,
        accumulation: Accumulation::F32ForHalf,
        // Its own bound (`normwise_bound`) is tighter; the online bound covers it.
        formula: Some(Formula::OnlineSoftmax),
        has_backward: true,
        temperature: true,
    };

    fn forward_row<T: Element>(&self, x: &[T], t: f64, out: &mut [T]) {
        f32_for_half!(sharded_row::<T>(x, self.shards, t, false, out))
    }

    fn backward_row<T: Element>(
        &self,
        x: &[T],
        y: &[T],
        dy: &[T],
        t: f64,
        dx: &mut [T],
    ) -> Option<()> {
        f32_for_half!(softmax_vjp_row::<T>(x, y, dy, t, dx));
        Some(())
    }
}

impl RowKernel for ShardedLogSoftmax {
    const INFO: VariantInfo = VariantInfo {
        id: "sharded_log_softmax",
        family: Family::LogSumExp,
        function: Function::LogSoftmax,
        description: "log-softmax over 4 contiguous shards merged from per-shard (max, sum of exp); f16/bf16 accumulate in f32",
        dtypes: &DType::ALL,
        accumulation: Accumulation::F32ForHalf,
        // No core formula covers it; its bound is `normwise_bound(true, ..)`.
        formula: None,
        has_backward: true,
        temperature: true,
    };

    fn forward_row<T: Element>(&self, x: &[T], t: f64, out: &mut [T]) {
        f32_for_half!(sharded_row::<T>(x, self.shards, t, true, out))
    }

    fn backward_row<T: Element>(
        &self,
        x: &[T],
        y: &[T],
        dy: &[T],
        t: f64,
        dx: &mut [T],
    ) -> Option<()> {
        f32_for_half!(log_softmax_vjp_row::<T>(x, y, dy, t, dx));
        Some(())
    }
}

/// Register the sharded variants (k = `REGISTERED_SHARDS`).
pub fn register(r: &mut Registry) {
    r.register(ShardedSoftmax {
        shards: REGISTERED_SHARDS,
    });
    r.register(ShardedLogSoftmax {
        shards: REGISTERED_SHARDS,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    const INF: f64 = f64::INFINITY;

    #[test]
    fn merge_of_one_shard_is_that_shard_and_empty_shards_vanish() {
        let s = shard_stats::<f64, f64>(&[1.0, 2.0, 0.5], 1.0);
        assert_eq!(s.max, 2.0);
        let want = (-1.0f64).exp() + 1.0 + (-1.5f64).exp();
        assert!((s.sum() - want).abs() <= 4.0 * f64::EPSILON);
        assert_eq!(s.tail, (-1.0f64).exp() + (-1.5f64).exp());
        assert_eq!(merge(&[s], 1.0), s);
        let empty = shard_stats::<f64, f64>(&[-INF, -INF], 1.0);
        assert_eq!(empty, MaxTail::empty());
        assert_eq!(merge(&[empty, s, empty], 1.0), s);
        // Two shards: M = 3, S = s_a e^{(2-3)} + s_b.
        let b = shard_stats::<f64, f64>(&[3.0], 1.0);
        let m = merge(&[s, b], 1.0);
        assert_eq!(m.max, 3.0);
        assert!((m.sum() - (s.sum() * (-1.0f64).exp() + 1.0)).abs() <= 4.0 * f64::EPSILON);
        // At T = 2 the lower shard is rescaled by e^{(2-3)/2}.
        let m2 = merge(&[s, b], 2.0);
        assert_eq!(m2.max, 3.0);
        assert!((m2.tail - s.sum() * (-0.5f64).exp()).abs() <= 4.0 * f64::EPSILON);
    }

    #[test]
    fn non_finite_shards_merge_as_special_defines() {
        let inf1 = shard_stats::<f32, f32>(&[1.0, f32::INFINITY], 1.0);
        assert_eq!((inf1.max, inf1.tail), (f32::INFINITY, 0.0));
        let nan = shard_stats::<f32, f32>(&[1.0, f32::NAN], 1.0);
        assert!(nan.max.is_nan());
        let fin = shard_stats::<f32, f32>(&[5.0, 4.0], 1.0);
        let one = merge(&[fin, inf1, MaxTail::empty()], 1.0);
        assert_eq!((one.max, one.tail), (f32::INFINITY, 0.0));
        // Two +inf: no limit, a NaN tail (the outputs are NaN).
        let two = merge(&[inf1, fin, inf1], 1.0);
        assert!(two.tail.is_nan());
        let inf2 = shard_stats::<f32, f32>(&[f32::INFINITY, 2.0, f32::INFINITY], 1.0);
        assert_eq!((inf2.max, inf2.tail), (f32::INFINITY, 1.0));
        assert!(merge(&[fin, nan], 1.0).max.is_nan());
        let none = merge(&[MaxTail::<f32>::empty(); 3], 1.0);
        assert_eq!(none, MaxTail::empty());
    }

    #[test]
    fn bytes_and_layout() {
        // One shard exchanges nothing; four shards: 3 summaries in, 3 out
        // (4 × 3 values) and 3 partial Σ y·dy in, 3 out (2 × 3 values).
        for dtype in DType::ALL {
            assert_eq!(bytes_exchanged(1, dtype), 0);
            assert_eq!(forward_bytes_exchanged(1, dtype), 0);
        }
        assert_eq!(forward_bytes_exchanged(4, DType::F16), 48);
        assert_eq!(backward_bytes_exchanged(4, DType::F32), 24);
        assert_eq!(bytes_exchanged(4, DType::F32), 72);
        assert_eq!(bytes_exchanged(4, DType::F64), 144);
        assert_eq!(shard_len(10, 4), 3); // 3, 3, 3, 1
        assert_eq!(shards_used(10, 4), 4);
        assert_eq!(shard_len(10, 7), 2); // 2 × 5: only five shards hold entries
        assert_eq!(shards_used(10, 7), 5);
        assert_eq!(shards_used(3, 64), 3);
        assert_eq!(shard_len(5, 0), 5);
    }

    #[test]
    fn own_bound_is_inside_the_online_bound() {
        use softmax_lab_core::bounds::normwise;
        for dtype in DType::ALL {
            let r = Rounding::of(Accumulation::F32ForHalf, dtype);
            for n in [2, 3, 10, 257, 4096, 1_000_000] {
                for k in [1, 2, 3, 4, 7, 64] {
                    for t in [1.0, 0.25] {
                        let ours = normwise_bound(false, r, n, k, t);
                        let online = normwise(Formula::OnlineSoftmax, r, n, t);
                        assert!(ours <= online, "{dtype} n={n} k={k}: {ours:e} > {online:e}");
                    }
                }
            }
        }
    }
}
