//! The fast end of softmax-lab: softmax, log-softmax and sigmoid kernels on a
//! vectorised f32 exp, with rows spread over threads — the variants a throughput
//! study needs so that "fast" means as fast as careful code gets, not as fast as
//! a scalar libm loop.
//!
//! | id | what | formula (bound) |
//! |---|---|---|
//! | `stable_simd` | three passes: max; exp stored and summed; scaled | shifted |
//! | `online_simd` | two passes: running max and rescaled sum per lane; write | online |
//! | `two_pass` | two passes, no max: Σe^x as (mantissa, exponent) pairs (Dukhan & Ablavatski 2020) | shifted (see below) |
//! | `log_softmax_simd` | (x − max)/T − ln1p(Σ_{j≠k} exp((x_j − max)/T)), k the first maximum | shifted log-softmax, accurate on the dominant entry |
//! | `sigmoid_simd` | 1/(1 + e^−x) with e^−x clamped at e^−87; blocks with an entry below −87: e = e^−\|x\|, 1/(1 + e) or e/(1 + e); backward e/(1 + e)² | — |
//!
//! Every variant runs forward and backward (vector–Jacobian product, vectorised
//! too) in f16, bf16, f32 and f64, and follows `softmax_lab_core::special` for rows
//! with NaN or infinities exactly as `stable` does. f16 and bf16 are widened to f32
//! in vector registers (F16C for f16; a 16-bit shift for bf16, rounded back to
//! nearest-even with `half`'s NaN rule), computed in f32 and rounded once
//! (`Accumulation::F32ForHalf`). f64 rows take scalar, careful loops with the f64
//! libm `exp` (module `scalar64`): correct, not fast.
//!
//! Temperature: `stable_simd`, `online_simd` and `log_softmax_simd` take one, as
//! (x − max)·fl(1/T) — three roundings like `stable`'s (x − max)/fl(T), so κ = 3 in
//! the bounds holds. `two_pass` and `sigmoid_simd` take none: without a max shift
//! the rounding of x/T is an error proportional to |x|/T rather than to
//! (max − x)/T, which no bound here covers.
//!
//! Accuracy. The exp ([`exp_f32`]): range reduction
//! x = k·ln2 + r (Cody–Waite, two constants), a degree-7 polynomial, 2^k applied as
//! two exact scalings so subnormal results round once, overflow to +inf, underflow
//! to 0, NaN passed through; rows whose (x − max)/T all lie in [−87, 0] (the usual
//! case, decided once per row or per block) use a form without clamps and with one
//! scaling, equal to it bit for bit there. Its maximum error, measured over every f32 input by
//! `cargo run --release -p softmax-lab-simd --example exp_exhaustive` (all 2^32
//! patterns, worst case re-measured against the double-double reference), is
//! 0.987 ulp on the AVX-512 and AVX2 + FMA paths (both at x = −59.944: the
//! AVX-512 path computes the AVX2 path's bits, tested, and measured equal over
//! all inputs) and 0.957 ulp on the portable path (at x = −59.903); about 0.4%
//! of all 2^32 results are not correctly rounded (17,211,395 on the two x86
//! paths). Per-path figures and machines: the crate's `README.md`. (q's evaluation order
//! matters at that level: a full Estrin scheme measured 1.005 ulp.) A sampled test (10^6 seeded
//! inputs) asserts <= 1 ulp on every path, so the
//! c_exp = 2 (1 ulp) of `softmax_lab_core::bounds` applies unchanged. The sums are
//! blocked (4 × 8 lanes, a fixed tree at the end), which rounds at most
//! ⌈n/32⌉ + 6 times along any path, fewer than the n − 1 of the recursive sum the
//! bounds assume; from n = 16 on, that margin pays for normalising by a multiply
//! with the rounded reciprocal (shorter rows divide). `two_pass` evaluates e^x
//! exactly reduced at the unshifted x, so its error is that of the shifted formula
//! without the κ terms: it names `Formula::ShiftedSoftmax`, whose bound contains
//! its own. Its fast path covers |x| <= 2^14 (the exact range of its reduction) and
//! finite or −inf entries; other rows take the `stable_simd` path.
//!
//! Speed. Each exponential is a chain of about twelve dependent operations
//! (~40 cycles); the kernels evaluate four vectors' chains step by step
//! together (`exp4`, `exp_fast4`: the same operations per lane, bit for bit the
//! one-vector results), because four chains emitted one after another left the
//! out-of-order window too few independent operations: on the Zen 3 VM this was
//! built on, interleaving took the exp pass from 11–14 to 6.6–7.5 cycles per
//! 8-lane vector. `exp_fast` scales by adding k to the exponent field (an integer
//! add, off the FMA ports). `sigmoid_simd` computes 1/(1 + e^−x) directly where no
//! entry of a block is below −87 (no |x|, no sign blend), and divides with
//! `vdivps` (a reciprocal estimate plus a Newton correction was not faster:
//! re-measured on AVX-512, `vrcp14ps` with two Newton steps and the fix that
//! makes it round as the division does took 8 operations against the
//! division's 3 and ran at 0.7× its speed). `log_softmax_simd`'s sum pass, on
//! f32 rows, also stores (x − max)/T in the output, so its last pass subtracts
//! ln1p(tail) in place from lines the sum pass brought in: storing into lines
//! not yet fetched cost a quarter of a row of 1,024 in `perf`. Its sum leaves
//! the entries equal to the max out with one masked add on AVX-512
//! (`Simd::add_unless_eq`) and takes ln1p through the f64 `ln`
//! (`kernels::ln_sum`).
//! `examples/profile.rs` runs one variant in a loop for `perf`.
//!
//! Why `two_pass` is the slowest softmax here (issue 16 item 4), counted from
//! the kernels: per vector, its first pass does the exponent-extended exp (a
//! three-constant reduction and the polynomial, ~15 operations), the range and
//! −inf checks (~8) and the rescale of each term to the block's exponent
//! (`pow2_of`: subtract, clamp, float→int, shift, add, then an FMA: ~7), ~30
//! operations; its second pass repeats the exp and scales by 2^(k − K) with two
//! exact multiplies (~30 more). `stable_simd` does a max (2 operations per
//! vector), an `exp_fast` with the sum (~15) and one multiply: ~18 operations for
//! three passes over the row. So `two_pass` does about 3× the vector arithmetic
//! to save one pass over memory. Dukhan & Ablavatski's gain (up to 28%) was
//! measured with many cores streaming from memory, where every variant waits on
//! bandwidth and the saved pass is what counts; on two cores whose vector units
//! outrun their share of memory bandwidth only when the row streams from DRAM
//! does the saved pass count, and the recomputed exp of the second pass costs
//! more than the per-block rescale. The throughput scenario's `two_pass` rows
//! (in and out of cache) give the end result on each machine.
//!
//! Dispatch ([`Isa`], checked once with `is_x86_feature_detected!`, cached): the
//! AVX-512 path (`avx512`: F, BW, DQ, VL, with AVX2, FMA and F16C; 16 lanes) when
//! the CPU has it, else the AVX2 + FMA + F16C path (`avx2_fma`, 8 lanes), else the
//! portable path (8-lane array loops that compile to SSE2 on x86_64 and to
//! whatever the target has elsewhere). `SOFTMAX_LAB_SIMD=avx2` (or `avx2_fma`) or
//! `=portable` forces a slower path; [`Isa::name`] is what results record. The
//! kernels are written once against a small vector trait; a path is one type
//! implementing it plus one `Isa` arm. The AVX-512 path computes per lane what the
//! AVX2 path computes (the same operations, the same x86 NaN rules of
//! `max`/`min`, the same f16 rounding), so element-wise results (exp, sigmoid's
//! backward) are bit for bit the AVX2 ones; sigmoid's forward chooses its formula
//! per block of four vectors (64 entries instead of 32), so it may differ by an
//! ulp, and softmax outputs differ only through the order of their sums (16
//! lanes per vector); the tests hold both. f16 converts with
//! `vcvtph2ps`/`vcvtps2ph`; bf16 rounds with AVX512_BF16's `vcvtneps2bf16` where
//! present — it equals `half`'s rounding except that it flushes subnormal inputs
//! to zero, so a vector holding a subnormal takes the integer shift-and-round
//! (the only rule used without AVX512_BF16). Only computations that store bf16
//! are compiled for both (`WithSimd::WRITES_BF16`). The measured exp error and
//! speed of each path, on the machines it was measured on, are in the crate's
//! `README.md`. The layer (paths, f32 and f64 vector tokens, the
//! `#[target_feature]` entry point) is public as [`isa`], so that `stable_wide`'s
//! f64 kernel (crate `stable`) runs on the same paths, chosen by the same
//! environment variable (on the AVX-512 path its f64 lanes are the AVX2 ones).
//!
//! Threads: rows are split across the current rayon pool (whole rows per task, at
//! least [`GRAIN`] elements per task) only when there are two tasks' worth of
//! work, so small inputs never pay for threads; `rayon::current_num_threads() == 1`
//! (the harness's one-thread cases) runs inline. Rows of at least [`LONG_ROW`]
//! entries (`stable_simd`, `log_softmax_simd`) are split into chunks of
//! [`CHUNK`]: each chunk is reduced to its (max, tail) summary
//! (`softmax_lab_core::maxtail::MaxTail`, the algebra `sharded_softmax` uses) in
//! parallel, the summaries merge in chunk order in f64, and the chunks are
//! written in parallel. Results do not depend on the thread count: the rows and
//! chunks are fixed by n alone, and the merge order with them (tested with pools
//! of 1, 2 and 3 threads).
//!
//! Not for: reading the algorithms (see `stable`, `logsumexp`, `sigmoid-heads`,
//! whose loops these kernels follow), or f64 speed.

#![warn(missing_docs)]

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod copy;
mod dispatch;
mod exp;
mod kernels;
mod scalar64;
mod simd;
mod simd64;

use std::cell::Cell;
use std::marker::PhantomData;

use half::{bf16, f16};
use rayon::prelude::*;
use softmax_lab_core::maxtail::MaxTail;
use softmax_lab_core::{
    Accumulation, DType, Family, Formula, Function, Options, Registry, Rows, RowsMut, TypedKernel,
    Variant, VariantError, VariantInfo,
};

pub use copy::{copy, copy_bytes, CopyError, Plain};
pub use dispatch::Isa;
pub use exp::{exp_f32, exp_f32_on, ExpError};

/// The instruction-set layer, for kernels outside this crate (`stable_wide`):
/// the path ([`Isa`]), the vector tokens ([`Simd`](isa::Simd): 8 f32 lanes;
/// [`SimdF64`](isa::SimdF64): 4 f64 lanes) and [`run`](isa::run), which calls a
/// [`WithSimd`](isa::WithSimd) computation inside the path's `#[target_feature]`
/// entry point. Write the computation's `with_simd` and every function it calls
/// as `#[inline(always)]` generic functions (no closures that hold vector code:
/// a closure is compiled without the path's target features).
pub mod isa {
    pub use crate::dispatch::{run, Isa, WithSimd};
    pub use crate::simd::Simd;
    pub use crate::simd64::SimdF64;
}

use dispatch::{run, WithSimd};
use kernels::Params;
use simd::{Elem, Simd};

/// The fewest elements one thread's task gets: below two tasks' worth a call runs
/// on the calling thread. 32K elements are ~20 µs of work at ~1.5 G elements/s,
/// far above rayon's few-µs cost of a split; with `examples/speed.rs`, two threads
/// were never slower than one at the smallest split (64K elements).
pub const GRAIN: usize = 32 * 1024;

/// One fast variant: its facts and its kernels.
trait FastKernel: Sync + 'static {
    const INFO: VariantInfo;
    fn forward_f32<S: Simd, E: Elem>(
        s: S,
        x: &[E],
        p: &Params,
        out: &mut [E],
        scratch: &mut Vec<f32>,
    );
    fn backward_f32<S: Simd, E: Elem>(s: S, x: &[E], y: &[E], dy: &[E], p: &Params, dx: &mut [E]);
    fn forward_f64(x: &[f64], t: f64, out: &mut [f64]);
    fn backward_f64(x: &[f64], y: &[f64], dy: &[f64], t: f64, dx: &mut [f64]);
    /// How rows of at least [`LONG_ROW`] entries are finished when split across
    /// threads; None: they are not split.
    const LONG: Option<Long> = None;
}

const SOFTMAX_DTYPES: &[DType] = &DType::ALL;

/// `stable_simd`: three-pass max-shifted softmax on the SIMD exp.
#[derive(Clone, Copy, Debug, Default)]
pub struct StableSimd;

/// `online_simd`: two-pass online softmax on the SIMD exp.
#[derive(Clone, Copy, Debug, Default)]
pub struct OnlineSimd;

/// `two_pass`: Dukhan & Ablavatski's two-pass softmax, no max pass.
#[derive(Clone, Copy, Debug, Default)]
pub struct TwoPass;

/// `log_softmax_simd`: shifted log-softmax on the SIMD exp.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogSoftmaxSimd;

/// `sigmoid_simd`: the stable two-branch logistic on the SIMD exp.
#[derive(Clone, Copy, Debug, Default)]
pub struct SigmoidSimd;

impl FastKernel for StableSimd {
    const INFO: VariantInfo = VariantInfo {
        id: "stable_simd",
        family: Family::Simd,
        function: Function::Softmax,
        description:
            "max-shifted three-pass softmax on a vectorised exp (exp stored, then scaled); \
                      AVX-512/AVX2/portable, rows (and chunks of long rows) over threads; \
                      f16/bf16 in f32",
        dtypes: SOFTMAX_DTYPES,
        accumulation: Accumulation::F32ForHalf,
        formula: Some(Formula::ShiftedSoftmax),
        has_backward: true,
        temperature: true,
    };
    #[inline(always)]
    fn forward_f32<S: Simd, E: Elem>(
        s: S,
        x: &[E],
        p: &Params,
        out: &mut [E],
        scratch: &mut Vec<f32>,
    ) {
        kernels::stable_row(s, x, p, out, scratch)
    }
    const LONG: Option<Long> = Some(Long::Softmax);
    #[inline(always)]
    fn backward_f32<S: Simd, E: Elem>(s: S, x: &[E], y: &[E], dy: &[E], p: &Params, dx: &mut [E]) {
        kernels::softmax_vjp_row(s, x, y, dy, p, dx)
    }
    fn forward_f64(x: &[f64], t: f64, out: &mut [f64]) {
        scalar64::stable_row(x, t, out)
    }
    fn backward_f64(x: &[f64], y: &[f64], dy: &[f64], t: f64, dx: &mut [f64]) {
        scalar64::softmax_vjp_row(x, y, dy, t, dx)
    }
}

impl FastKernel for OnlineSimd {
    const INFO: VariantInfo = VariantInfo {
        id: "online_simd",
        family: Family::Simd,
        function: Function::Softmax,
        description: "two-pass online softmax (Milakov & Gimelshein 2018) on a vectorised exp: \
                      per-lane running max and sum, then one writing pass",
        dtypes: SOFTMAX_DTYPES,
        accumulation: Accumulation::F32ForHalf,
        formula: Some(Formula::OnlineSoftmax),
        has_backward: true,
        temperature: true,
    };
    #[inline(always)]
    fn forward_f32<S: Simd, E: Elem>(s: S, x: &[E], p: &Params, out: &mut [E], _: &mut Vec<f32>) {
        kernels::online_row(s, x, p, out)
    }
    #[inline(always)]
    fn backward_f32<S: Simd, E: Elem>(s: S, x: &[E], y: &[E], dy: &[E], p: &Params, dx: &mut [E]) {
        kernels::softmax_vjp_row(s, x, y, dy, p, dx)
    }
    fn forward_f64(x: &[f64], t: f64, out: &mut [f64]) {
        scalar64::online_row(x, t, out)
    }
    fn backward_f64(x: &[f64], y: &[f64], dy: &[f64], t: f64, dx: &mut [f64]) {
        scalar64::softmax_vjp_row(x, y, dy, t, dx)
    }
}

impl FastKernel for TwoPass {
    const INFO: VariantInfo = VariantInfo {
        id: "two_pass",
        family: Family::Simd,
        function: Function::Softmax,
        description: "two-pass softmax without a max pass (Dukhan & Ablavatski 2020): \
                      exponent-extended sum of exp, then scale; vectorised; no temperature",
        dtypes: SOFTMAX_DTYPES,
        accumulation: Accumulation::F32ForHalf,
        formula: Some(Formula::ShiftedSoftmax),
        has_backward: true,
        temperature: false,
    };
    #[inline(always)]
    fn forward_f32<S: Simd, E: Elem>(
        s: S,
        x: &[E],
        p: &Params,
        out: &mut [E],
        scratch: &mut Vec<f32>,
    ) {
        kernels::two_pass_row(s, x, p, out, scratch)
    }
    #[inline(always)]
    fn backward_f32<S: Simd, E: Elem>(s: S, x: &[E], y: &[E], dy: &[E], p: &Params, dx: &mut [E]) {
        kernels::softmax_vjp_row(s, x, y, dy, p, dx)
    }
    fn forward_f64(x: &[f64], t: f64, out: &mut [f64]) {
        scalar64::two_pass_row(x, t, out)
    }
    fn backward_f64(x: &[f64], y: &[f64], dy: &[f64], t: f64, dx: &mut [f64]) {
        scalar64::softmax_vjp_row(x, y, dy, t, dx)
    }
}

impl FastKernel for LogSoftmaxSimd {
    const INFO: VariantInfo = VariantInfo {
        id: "log_softmax_simd",
        family: Family::Simd,
        function: Function::LogSoftmax,
        description: "(x - max)/T - ln1p(sum of exp without one max) on a vectorised exp: \
                      the dominant entry of a nearly one-hot row kept; f16/bf16 in f32",
        dtypes: SOFTMAX_DTYPES,
        accumulation: Accumulation::F32ForHalf,
        formula: Some(Formula::ShiftedLogSoftmax),
        has_backward: true,
        temperature: true,
    };
    #[inline(always)]
    fn forward_f32<S: Simd, E: Elem>(s: S, x: &[E], p: &Params, out: &mut [E], _: &mut Vec<f32>) {
        kernels::log_softmax_row(s, x, p, out)
    }
    const LONG: Option<Long> = Some(Long::LogSoftmax);
    #[inline(always)]
    fn backward_f32<S: Simd, E: Elem>(s: S, x: &[E], y: &[E], dy: &[E], p: &Params, dx: &mut [E]) {
        kernels::log_softmax_vjp_row(s, x, y, dy, p, dx)
    }
    fn forward_f64(x: &[f64], t: f64, out: &mut [f64]) {
        scalar64::log_softmax_row(x, t, out)
    }
    fn backward_f64(x: &[f64], y: &[f64], dy: &[f64], t: f64, dx: &mut [f64]) {
        scalar64::log_softmax_vjp_row(x, y, dy, t, dx)
    }
}

impl FastKernel for SigmoidSimd {
    const INFO: VariantInfo = VariantInfo {
        id: "sigmoid_simd",
        family: Family::Simd,
        function: Function::Sigmoid,
        description: "stable logistic on a vectorised exp (1/(1+exp(-x)) with the exponent \
                      clamped at 87; blocks with x < -87: e = exp(-|x|), 1/(1+e) or e/(1+e)), \
                      backward e/(1+e)^2; f16/bf16 in f32",
        dtypes: SOFTMAX_DTYPES,
        accumulation: Accumulation::F32ForHalf,
        formula: None,
        has_backward: true,
        temperature: false,
    };
    #[inline(always)]
    fn forward_f32<S: Simd, E: Elem>(s: S, x: &[E], _: &Params, out: &mut [E], _: &mut Vec<f32>) {
        kernels::sigmoid_row(s, x, out)
    }
    #[inline(always)]
    fn backward_f32<S: Simd, E: Elem>(s: S, x: &[E], _: &[E], dy: &[E], _: &Params, dx: &mut [E]) {
        kernels::sigmoid_vjp_row(s, x, dy, dx)
    }
    fn forward_f64(x: &[f64], _: f64, out: &mut [f64]) {
        scalar64::sigmoid_row(x, out)
    }
    fn backward_f64(x: &[f64], _: &[f64], dy: &[f64], _: f64, dx: &mut [f64]) {
        scalar64::sigmoid_vjp_row(x, dy, dx)
    }
}

thread_local! {
    /// Per-thread f32 scratch for f16/bf16 rows of `stable_simd` (grown, never
    /// shrunk: no allocation once a thread has seen its longest row).
    static SCRATCH: Cell<Vec<f32>> = const { Cell::new(Vec::new()) };
}

/// Forward over a block of whole rows on one path.
struct ForwardBlock<'a, K, E> {
    x: &'a [E],
    n: usize,
    p: Params,
    out: &'a mut [E],
    scratch: &'a mut Vec<f32>,
    kernel: PhantomData<fn() -> K>,
}

impl<K: FastKernel, E: Elem> WithSimd for ForwardBlock<'_, K, E> {
    type Output = ();
    const WRITES_BF16: bool = E::IS_BF16;
    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        let rows = self.x.chunks_exact(self.n);
        for (xr, or) in rows.zip(self.out.chunks_exact_mut(self.n)) {
            K::forward_f32(s, xr, &self.p, or, self.scratch);
        }
    }
}

/// Backward over a block of whole rows on one path.
struct BackwardBlock<'a, K, E> {
    x: &'a [E],
    y: &'a [E],
    dy: &'a [E],
    n: usize,
    p: Params,
    dx: &'a mut [E],
    kernel: PhantomData<fn() -> K>,
}

impl<K: FastKernel, E: Elem> WithSimd for BackwardBlock<'_, K, E> {
    type Output = ();
    const WRITES_BF16: bool = E::IS_BF16;
    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        let n = self.n;
        let rows = self
            .x
            .chunks_exact(n)
            .zip(self.y.chunks_exact(n))
            .zip(self.dy.chunks_exact(n));
        for (((xr, yr), gr), dr) in rows.zip(self.dx.chunks_exact_mut(n)) {
            K::backward_f32(s, xr, yr, gr, &self.p, dr);
        }
    }
}

/// Rows per task when `len` elements in rows of `n` are worth splitting across
/// the current rayon pool, or None to run on the calling thread.
fn split(len: usize, n: usize) -> Option<usize> {
    let rows_per_task = GRAIN.div_ceil(n).max(1);
    let rows = len / n;
    (rayon::current_num_threads() > 1 && rows >= 2 * rows_per_task).then_some(rows_per_task)
}

/// Apply `f` to blocks of whole rows of x and out, in parallel when worth it.
fn for_blocks<T: Send + Sync>(n: usize, x: &[T], out: &mut [T], f: impl Fn(&[T], &mut [T]) + Sync) {
    match split(x.len(), n) {
        None => f(x, out),
        Some(r) => x
            .par_chunks(r * n)
            .zip(out.par_chunks_mut(r * n))
            .for_each(|(xb, ob)| f(xb, ob)),
    }
}

/// Apply `f` to blocks of whole rows of x, y, dy and dx, in parallel when worth it.
fn for_blocks4<T: Send + Sync>(
    n: usize,
    x: &[T],
    y: &[T],
    dy: &[T],
    dx: &mut [T],
    f: impl Fn(&[T], &[T], &[T], &mut [T]) + Sync,
) {
    match split(x.len(), n) {
        None => f(x, y, dy, dx),
        Some(r) => x
            .par_chunks(r * n)
            .zip(y.par_chunks(r * n))
            .zip(dy.par_chunks(r * n))
            .zip(dx.par_chunks_mut(r * n))
            .for_each(|(((xb, yb), gb), db)| f(xb, yb, gb, db)),
    }
}

/// Rows at least this long are split into chunks of [`CHUNK`] entries (by
/// `stable_simd` and `log_softmax_simd`): each chunk is reduced to its
/// (max, tail) summary in parallel, the summaries merge in chunk order (in f64,
/// through `softmax_lab_core::maxtail::MaxTail::merge_at`), and the
/// chunks are written in parallel. The split does not depend on the thread
/// count, so neither do the outputs.
pub const LONG_ROW: usize = 2 * CHUNK;

/// The chunk length of a split long row: 32K entries (128 KiB of f32, inside
/// L2), so a row of 2^20 gives 32 chunks for the pool to balance.
pub const CHUNK: usize = 1 << 15;

/// How a split long row is finished once its chunks' summaries have merged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Long {
    /// y = exp(x − M)·fl(1/(1 + tail)).
    Softmax,
    /// z = (x − M) − ln1p(tail).
    LogSoftmax,
}

/// One chunk's (max, tail) summary on one path.
struct ChunkStats<'a, E> {
    x: &'a [E],
    p: Params,
}

impl<E: Elem> WithSimd for ChunkStats<'_, E> {
    type Output = Option<MaxTail<f32>>;
    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) -> Option<MaxTail<f32>> {
        kernels::max_tail(s, self.x, &self.p)
    }
}

/// One chunk's outputs from the merged summary on one path.
struct ChunkFinish<'a, E> {
    x: &'a [E],
    out: &'a mut [E],
    long: Long,
    max: f32,
    /// 1/(1 + tail) for softmax, ln1p(tail) for log-softmax.
    c: f32,
    p: Params,
}

impl<E: Elem> WithSimd for ChunkFinish<'_, E> {
    type Output = ();
    const WRITES_BF16: bool = E::IS_BF16;
    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        match self.long {
            Long::Softmax => {
                kernels::exp_scaled_into(s, self.x, self.max, &self.p, self.c, self.out)
            }
            Long::LogSoftmax => {
                kernels::shifted_minus_into(s, self.x, self.max, &self.p, self.c, self.out)
            }
        }
    }
}

/// One long row split into chunks across the current rayon pool (see
/// [`LONG_ROW`]). False, with nothing written, when a chunk holds NaN or +inf
/// or the row has no finite entry: the caller then runs the one-row kernel,
/// whose special-row rules decide.
fn long_row<E: Elem>(isa: Isa, long: Long, x: &[E], p: Params, out: &mut [E]) -> bool {
    let stats: Vec<Option<MaxTail<f32>>> = x
        .par_chunks(CHUNK)
        .map(|c| run(isa, ChunkStats { x: c, p }))
        .collect();
    let mut total = MaxTail::<f64>::empty();
    for st in stats {
        let Some(st) = st else { return false };
        let st = MaxTail {
            max: st.max as f64,
            tail: st.tail as f64,
        };
        total = total.merge_at(st, p.t);
    }
    if !total.max.is_finite() {
        return false;
    }
    let c = match long {
        Long::Softmax => (1.0 / total.sum()) as f32,
        Long::LogSoftmax => kernels::ln_sum(total.tail),
    };
    let max = total.max as f32;
    x.par_chunks(CHUNK)
        .zip(out.par_chunks_mut(CHUNK))
        .for_each(|(x, out)| {
            run(
                isa,
                ChunkFinish {
                    x,
                    out,
                    long,
                    max,
                    c,
                    p,
                },
            )
        });
    true
}

fn forward_narrow<K: FastKernel, E: Elem>(isa: Isa, x: &[E], n: usize, p: Params, out: &mut [E]) {
    if let Some(long) = K::LONG {
        if n >= LONG_ROW {
            for (xr, or) in x.chunks_exact(n).zip(out.chunks_exact_mut(n)) {
                if !long_row(isa, long, xr, p, or) {
                    forward_rows::<K, E>(isa, xr, n, p, or);
                }
            }
            return;
        }
    }
    forward_rows::<K, E>(isa, x, n, p, out);
}

/// Forward over whole rows, blocks of rows across the pool.
fn forward_rows<K: FastKernel, E: Elem>(isa: Isa, x: &[E], n: usize, p: Params, out: &mut [E]) {
    for_blocks(n, x, out, |x, out| {
        let mut scratch = SCRATCH.take();
        let job = ForwardBlock::<K, E> {
            x,
            n,
            p,
            out,
            scratch: &mut scratch,
            kernel: PhantomData,
        };
        run(isa, job);
        SCRATCH.set(scratch);
    });
}

fn backward_narrow<K: FastKernel, E: Elem>(
    isa: Isa,
    x: &[E],
    y: &[E],
    dy: &[E],
    n: usize,
    p: Params,
    dx: &mut [E],
) {
    for_blocks4(n, x, y, dy, dx, |x, y, dy, dx| {
        let job = BackwardBlock::<K, E> {
            x,
            y,
            dy,
            n,
            p,
            dx,
            kernel: PhantomData,
        };
        run(isa, job);
    });
}

/// f64 rows: the scalar kernels of `scalar64`, rows over threads.
fn forward_wide<K: FastKernel>(x: &[f64], n: usize, t: f64, out: &mut [f64]) {
    for_blocks(n, x, out, |x, o| {
        for (xr, or) in x.chunks_exact(n).zip(o.chunks_exact_mut(n)) {
            K::forward_f64(xr, t, or);
        }
    })
}

/// f64 rows backward: the scalar kernels of `scalar64`, rows over threads.
fn backward_wide<K: FastKernel>(
    x: &[f64],
    y: &[f64],
    dy: &[f64],
    n: usize,
    t: f64,
    dx: &mut [f64],
) {
    for_blocks4(n, x, y, dy, dx, |x, y, g, d| {
        let rows = x
            .chunks_exact(n)
            .zip(y.chunks_exact(n))
            .zip(g.chunks_exact(n));
        for (((xr, yr), gr), dr) in rows.zip(d.chunks_exact_mut(n)) {
            K::backward_f64(xr, yr, gr, t, dr);
        }
    })
}

/// A fast kernel on one instruction-set path: the typed entry points that
/// `softmax_lab_core`'s adapter checks calls for and dispatches to. The
/// registered variants run on [`Isa::active`]; the tests pin each path.
struct OnPath<K> {
    isa: Isa,
    kernel: PhantomData<fn() -> K>,
}

impl<K> OnPath<K> {
    /// The kernel on `isa`.
    fn new(isa: Isa) -> OnPath<K> {
        OnPath {
            isa,
            kernel: PhantomData,
        }
    }
}

/// The typed forward and backward for one narrow dtype (f16, bf16, f32).
macro_rules! narrow_methods {
    ($f:ident, $b:ident, $t:ty) => {
        fn $f(&self, x: &[$t], n: usize, t: f64, out: &mut [$t]) -> Result<(), VariantError> {
            forward_narrow::<K, $t>(self.isa, x, n, Params::new(t), out);
            Ok(())
        }
        fn $b(
            &self,
            x: &[$t],
            y: &[$t],
            dy: &[$t],
            n: usize,
            t: f64,
            dx: &mut [$t],
        ) -> Result<(), VariantError> {
            backward_narrow::<K, $t>(self.isa, x, y, dy, n, Params::new(t), dx);
            Ok(())
        }
    };
}

impl<K: FastKernel> TypedKernel for OnPath<K> {
    fn kernel_info(&self) -> &VariantInfo {
        &K::INFO
    }

    narrow_methods!(forward_f16, backward_f16, f16);
    narrow_methods!(forward_bf16, backward_bf16, bf16);
    narrow_methods!(forward_f32, backward_f32, f32);

    fn forward_f64(
        &self,
        x: &[f64],
        n: usize,
        t: f64,
        out: &mut [f64],
    ) -> Result<(), VariantError> {
        forward_wide::<K>(x, n, t, out);
        Ok(())
    }

    fn backward_f64(
        &self,
        x: &[f64],
        y: &[f64],
        dy: &[f64],
        n: usize,
        t: f64,
        dx: &mut [f64],
    ) -> Result<(), VariantError> {
        backward_wide::<K>(x, y, dy, n, t, dx);
        Ok(())
    }
}

/// A registered fast variant: its kernel on the active path, through the core
/// adapter (no checks or dispatch here).
macro_rules! fast_variant {
    ($t:ty) => {
        impl Variant for $t {
            fn info(&self) -> &VariantInfo {
                &<$t as FastKernel>::INFO
            }

            fn forward(
                &self,
                x: Rows<'_>,
                n: usize,
                opts: &Options,
                out: RowsMut<'_>,
            ) -> Result<(), VariantError> {
                OnPath::<$t>::new(Isa::active()).forward(x, n, opts, out)
            }

            fn backward(
                &self,
                x: Rows<'_>,
                y: Rows<'_>,
                dy: Rows<'_>,
                n: usize,
                opts: &Options,
                dx: RowsMut<'_>,
            ) -> Result<(), VariantError> {
                OnPath::<$t>::new(Isa::active()).backward(x, y, dy, n, opts, dx)
            }
        }
    };
}

fast_variant!(StableSimd);
fast_variant!(OnlineSimd);
fast_variant!(TwoPass);
fast_variant!(LogSoftmaxSimd);
fast_variant!(SigmoidSimd);

/// Register this family's variants.
pub fn register(r: &mut Registry) {
    r.register(StableSimd);
    r.register(OnlineSimd);
    r.register(TwoPass);
    r.register(LogSoftmaxSimd);
    r.register(SigmoidSimd);
}

#[cfg(test)]
mod tests;
