//! The fast path of `stable_wide` for f16, bf16 and f32 rows: the same formula
//! as `shifted_softmax_row::<T, f64>` (max; e_i = exp((x_i − max)/T) summed in f64;
//! e_i / sum rounded once to the row's dtype), with a vectorised f64 exponential
//! instead of the platform's scalar `exp`, and the exponentials kept in an f64
//! scratch row (one per thread, grown to the longest row seen) instead of
//! recomputed. About 9 times the scalar path's speed and 2.5 to 3 times candle's
//! f32 `softmax_last_dim` on one thread (`examples/wide_speed.rs`).
//!
//! # Passes
//!
//! 1. The row's max and min in f32 lanes (exact for all three dtypes), with a sum
//!    that turns NaN if anything is not finite. A row that is not all finite, or
//!    has one entry, goes through `core::special`'s `classify`/`fill` exactly as
//!    the scalar path does.
//! 2. e_i into the scratch row and into 16 interleaved f64 partial sums. The
//!    arguments are rounded as in the scalar path (x_i − max, then / T with a true
//!    division). When (min − max)/T >= −707, every argument is, and the narrow
//!    form of `exp` runs (no clamp; 2^k added to the exponent bits).
//! 3. y_i = e_i·(1/sum) rounded to the dtype (e_i / sum below 16 entries).
//!
//! # The f64 exponential
//!
//! For d <= 0 (below −745.2 the argument is clamped there, and e^−745.2 rounds
//! to 0; −inf gives 0, NaN gives NaN):
//!
//! * d = k·ln2 + r, k = round(d·log2 e) read from the low bits of
//!   d·log2 e + 1.5·2^52; Cody–Waite with two constants: r_hi = d − k·LN2_HI is
//!   exact (32-bit LN2_HI), r = r_hi − k·LN2_LO rounds once (<= 2^−55);
//! * e^r = 1 + r + r²·u(r), u of degree 10 (SLEEF's `xexp` coefficients, a
//!   minimax fit on |r| <= ln2/2) by Estrin's scheme;
//! * 1 + r split exactly into hi + lo (Fast2Sum) and hi + (lo + r²·u) rounded
//!   once, so the one rounding of size 1/2 ulp is the last;
//! * 2^k applied as 2^(k+600)·2^−600 (the wide form) so that a subnormal result
//!   is rounded once, or added to the exponent bits (the narrow form, results
//!   normal); both give the same bits where both apply.
//!
//! 28 vector operations per 4 lanes in the narrow form, no table, no branch.
//! Error bound from the steps above: 0.5 (last rounding) + 0.18 (r) + about 0.1
//! (r²u) + 0.03 ulp; subnormal results add their own rounding, 0.5 + half of
//! that. Measured maximum against the double-double reference (`tests` below, 2·10^6
//! sampled arguments in [−745.2, 0] weighted to the subnormal range and to |d| < 1,
//! plus the edges): 0.76 ulp (normal results) and 0.80 ulp (subnormal) on the
//! AVX2 + FMA path, 0.78 and 0.80 ulp on the portable path. The project's bounds
//! assume 1 ulp (`bounds::C_EXP = 2`).
//!
//! # Paths
//!
//! The vector code runs on the simd crate's instruction-set layer
//! (`softmax_lab_simd::isa`): [`Isa::active`] picks AVX2 + FMA (+ F16C) when the
//! CPU has it (detected once), else the portable path; `SOFTMAX_LAB_SIMD=portable`
//! forces the portable one, for this kernel and the simd crate's alike. Both run
//! the same `#[inline(always)]` body, the f64 exponential on the layer's 4-lane
//! f64 vectors (`SimdF64`) and the range pass on its 8-lane f32 vectors (`Simd`):
//! on AVX2 it is compiled inside the layer's `#[target_feature]` entry point with
//! `__m256d` lanes and fused multiply-adds; the portable body uses `[f64; 4]` and
//! separate multiplies and adds (a software `fma` call would be far slower), so
//! the two paths may differ in the last bit of an exponential, not in accuracy.
//!
//! # Rounding compared with the scalar formula
//!
//! The sum's tree (16 partial sums of about n/16 terms, then 4 levels) rounds at
//! most n/16 + 5 times on any path from a term to the total, where the scalar
//! loop rounds up to n − 1 times; for n >= 16 that saves more than the second
//! rounding of e_i·(1/sum), and the exponential is within 0.8 ulp where the bound
//! allows 1. So `bounds::normwise` and `bounds::sum_to_one` for
//! `Accumulation::Wide` (u = 2^−53, one rounding to storage) hold as derived.
//! Outputs equal the scalar path's except where an f64 value falls within a few
//! f64 ulps of a rounding boundary of the dtype: none of the 1.8·10^6 f32, f16
//! and bf16 outputs compared in the tests differ.

use std::cell::RefCell;

use softmax_lab_core::special::{classify, fill, RowClass};
use softmax_lab_core::Element;
use softmax_lab_simd::isa::{run, Isa, Simd, SimdF64, WithSimd};

/// log2(e), rounded to f64.
const LOG2E: f64 = std::f64::consts::LOG2_E;
/// 1.5·2^52: adding it rounds to an integer and leaves that integer in the low bits.
const SHIFTER: f64 = 6_755_399_441_055_744.0;
/// ln2 with 32 significant bits, so k·LN2_HI is exact for |k| < 2^21 (fdlibm's
/// split, 6.93147180369123816490e-01).
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
/// ln2 − LN2_HI rounded to f64 (1.90821492927058770002e-10).
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
/// Arguments are clamped up to this: e^−745.2 < 2^−1075 (half the smallest
/// subnormal) rounds to 0, as does everything below, −inf included.
const EXP_LO: f64 = -745.2;
/// Rows whose every argument is at least this take the narrow form of `exp`: no
/// clamp, and 2^k added to the exponent bits (k >= −1020, a normal result).
const NARROW_LO: f64 = -707.0;
/// The wide form applies 2^k as 2^(k + SCALE_SPLIT) · 2^−SCALE_SPLIT: k + 600
/// stays a normal exponent for k in [−1075, 0], so only the second product can
/// round (once, when the result is subnormal).
const SCALE_SPLIT: i64 = 600;
/// Rows at least this long are normalised by ·(1/sum) rather than / sum.
const RECIP_MIN_N: usize = 16;

/// u(r) of e^r = 1 + r + r²·u(r) on |r| <= ln2/2: the coefficients of r^0..r^10
/// (SLEEF's `xexp`, a minimax fit).
#[allow(clippy::excessive_precision)]
const U: [f64; 11] = [
    0.5,
    0.166666666666666851703837,
    0.0416666666666665047591422,
    0.00833333333331652721664984,
    0.00138888888889774492207962,
    0.000198412698960509205564975,
    2.4801587159235472998791e-05,
    2.75572362911928827629423e-06,
    2.75573911234900471893338e-07,
    2.51112930892876518610661e-08,
    2.08860621107283687536341e-09,
];

/// The constants of `exp`, splatted once per row.
#[derive(Clone, Copy)]
struct Consts<V> {
    lo: V,
    log2e: V,
    shifter: V,
    neg_ln2_hi: V,
    neg_ln2_lo: V,
    one: V,
    down: V,
    u: [V; 11],
}

impl<V: Copy> Consts<V> {
    /// The splatted constants, passed through `black_box` so that LLVM keeps them
    /// as values: it then reads them as memory operands of the arithmetic instead
    /// of re-broadcasting each one before every use (a separate instruction each,
    /// about 14 per vector; 8% of the kernel's speed, measured).
    #[inline(always)]
    fn new<S: SimdF64<V = V>>(s: S) -> Consts<V> {
        std::hint::black_box(Consts {
            lo: s.splat(EXP_LO),
            log2e: s.splat(LOG2E),
            shifter: s.splat(SHIFTER),
            neg_ln2_hi: s.splat(-LN2_HI),
            neg_ln2_lo: s.splat(-LN2_LO),
            one: s.splat(1.0),
            down: s.splat(f64::from_bits(((1023 - SCALE_SPLIT) as u64) << 52)),
            u: U.map(|c| s.splat(c)),
        })
    }
}

/// e^d per lane for d <= 0 (see the module docs); NaN stays NaN. `WIDE`: any
/// such d; otherwise only d >= [`NARROW_LO`] (the same bits, fewer operations).
#[inline(always)]
fn exp<S: SimdF64, const WIDE: bool>(s: S, k: &Consts<S::V>, d: S::V) -> S::V {
    // `max` returns its second operand for NaN, so NaN passes the clamp.
    let d = if WIDE { s.max(k.lo, d) } else { d };
    let z = s.mul_add(d, k.log2e, k.shifter);
    let kf = s.sub(z, k.shifter);
    // d = k·ln2 + r: k·LN2_HI is exact (32 significant bits times |k| <= 1075)
    // and so is d minus it (both multiples of 2^−54 when k ≠ 0, the difference
    // below 1/2); only the second step rounds, by at most 2^−55 (0.18 ulp of the
    // result). Keeping that rounding error as a correction term would bring the
    // worst case from 0.76 to 0.62 ulp at 7% of the kernel's speed (measured);
    // the bound needs 1 ulp.
    let r_hi = s.mul_add(kf, k.neg_ln2_hi, d);
    let r = s.mul_add(kf, k.neg_ln2_lo, r_hi);
    // u(r) by Estrin's scheme: one operation more than Horner's rule, a third of
    // its latency (Horner's rule in r², E(r²) + r·O(r²), measured 10% slower).
    let r2 = s.mul(r, r);
    let r4 = s.mul(r2, r2);
    let u = &k.u;
    let q0 = s.mul_add(pair(s, u, r, 2), r2, pair(s, u, r, 0));
    let q1 = s.mul_add(pair(s, u, r, 6), r2, pair(s, u, r, 4));
    let q2 = s.mul_add(u[10], r2, pair(s, u, r, 8));
    let u = s.mul_add(s.mul_add(q2, r4, q1), r4, q0);
    // 1 + r = hi + lo exactly (Fast2Sum, |r| < 1), so the only rounding at the
    // size of the result is the last one; rounding 1 + (r + r²u) instead would
    // add up to 1/4 ulp.
    let hi = s.add(k.one, r);
    let lo = s.add(s.sub(k.one, hi), r);
    let tail = s.mul_add(r2, u, lo);
    let p = s.add(hi, tail);
    if WIDE {
        let scaled = s.mul(p, s.pow2_bits(z, 1023 + SCALE_SPLIT));
        s.mul(scaled, k.down)
    } else {
        s.add_exponent(p, z)
    }
}

/// u[a + 1]·r + u[a]: a pair of Estrin's scheme (a function, not a closure: a
/// closure would be compiled without the path's target features).
#[inline(always)]
fn pair<S: SimdF64>(s: S, u: &[S::V; 11], r: S::V, a: usize) -> S::V {
    s.mul_add(u[a + 1], r, u[a])
}

/// e^x for every element of `x` into `out` (equal lengths), on `path`, by the
/// wide form (`WIDE`) or the narrow one. For x <= 0 and NaN only (the narrow
/// form: x >= [`NARROW_LO`]); the kernel inlines `exp`, this is its test entry.
#[cfg(test)]
pub(crate) fn exp_slice_on<const WIDE: bool>(isa: Isa, x: &[f64], out: &mut [f64]) {
    struct ExpJob<'a, const WIDE: bool> {
        x: &'a [f64],
        out: &'a mut [f64],
    }
    impl<const WIDE: bool> WithSimd for ExpJob<'_, WIDE> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: Simd>(self, s: S) {
            let s = s.f64x4();
            let mut xs = self.x.chunks_exact(4);
            let mut os = self.out.chunks_exact_mut(4);
            let k = Consts::new(s);
            for (xc, oc) in (&mut xs).zip(&mut os) {
                s.store(oc, exp::<S::D, WIDE>(s, &k, s.load(xc)));
            }
            let (xt, ot) = (xs.remainder(), os.into_remainder());
            let mut a = [0.0; 4];
            a[..xt.len()].copy_from_slice(xt);
            let e = s.unpack(exp::<S::D, WIDE>(s, &k, s.pack(a)));
            ot.copy_from_slice(&e[..ot.len()]);
        }
    }
    run(isa, ExpJob::<WIDE> { x, out })
}

/// (max, min) of a row whose entries are all finite, with n >= 2 (the rows that
/// `classify` calls `Finite(max)` and that hold no −inf); None for any other row,
/// which then goes through `classify` itself. Unlike `classify`, vectorised: in
/// f32 lanes (exact for f16, bf16 and f32), four independent sets of them.
#[inline(always)]
fn finite_row_range<S: Simd, T: Element>(s: S, x: &[T]) -> Option<(f64, f64)> {
    // `max`/`min` skip a NaN in their first operand, so NaN is caught by the sum
    // instead: NaN (or ±inf) anywhere makes it non-finite. So does an f32
    // overflow of a sum of huge values, which only sends the row to `classify`.
    let mut hi = [s.splat(f32::NEG_INFINITY); 4];
    let mut lo = [s.splat(f32::INFINITY); 4];
    let mut sum = [s.splat(0.0); 4];
    let l = S::LANES;
    let mut chunks = x.chunks_exact(4 * l);
    for c in &mut chunks {
        for j in 0..4 {
            let v = load_w(s, &c[l * j..l * j + l], 0.0);
            hi[j] = s.max(v, hi[j]);
            lo[j] = s.min(v, lo[j]);
            sum[j] = s.add(sum[j], v);
        }
    }
    for c in chunks.remainder().chunks(l) {
        hi[0] = s.max(load_w(s, c, f32::NEG_INFINITY), hi[0]);
        lo[0] = s.min(load_w(s, c, f32::INFINITY), lo[0]);
        sum[0] = s.add(sum[0], load_w(s, c, 0.0));
    }
    let hi = s.max(s.max(hi[0], hi[1]), s.max(hi[2], hi[3]));
    let lo = s.min(s.min(lo[0], lo[1]), s.min(lo[2], lo[3]));
    let sum = s.add(s.add(sum[0], sum[1]), s.add(sum[2], sum[3]));
    let (hi, lo, sum) = (unpack_w(s, hi), unpack_w(s, lo), unpack_w(s, sum));
    let max = hi[..l].iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
    let min = lo[..l].iter().fold(f32::INFINITY, |a, &b| a.min(b));
    let finite = sum[..l].iter().all(|v| v.is_finite());
    (finite && max < f32::INFINITY && min > f32::NEG_INFINITY && x.len() >= 2)
        .then_some((max as f64, min as f64))
}

/// The first `S::LANES` entries of `c` (at most that many) as f32 lanes, padded
/// with `pad` (8 lanes on AVX2 and portable, 16 on AVX-512).
#[inline(always)]
fn load_w<S: Simd, T: Element>(s: S, c: &[T], pad: f32) -> S::F {
    let mut a = [pad; 16];
    for (a, v) in a.iter_mut().zip(c) {
        *a = v.to_f32();
    }
    s.load(&a[..S::LANES])
}

/// The f32 lanes as an array (the first `S::LANES` entries).
#[inline(always)]
fn unpack_w<S: Simd>(s: S, v: S::F) -> [f32; 16] {
    let mut a = [0.0; 16];
    s.store(&mut a[..S::LANES], v);
    a
}

thread_local! {
    /// The exponentials of the row being normalised, reused between calls.
    static SCRATCH: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
}

/// `stable_wide` forward for an f16, bf16 or f32 row on the active path.
pub(crate) fn softmax_row<T: Element>(x: &[T], t: f64, out: &mut [T]) {
    softmax_row_on(Isa::active(), x, t, out)
}

/// `stable_wide` forward for an f16, bf16 or f32 row on `isa` (the portable path
/// when `isa` cannot run here). `t` must be positive and finite.
pub(crate) fn softmax_row_on<T: Element>(isa: Isa, x: &[T], t: f64, out: &mut [T]) {
    let n = x.len();
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            if buf.len() < n {
                buf.resize(n, 0.0);
            }
            let e = &mut buf[..n];
            run(isa, RowJob { x, t, out, e })
        }
        // Only reachable by re-entering from inside a row, which nothing does.
        Err(_) => run(
            isa,
            RowJob {
                x,
                t,
                out,
                e: &mut vec![0.0; n],
            },
        ),
    })
}

/// One row: input, temperature, output, and the scratch for the exponentials.
struct RowJob<'a, T> {
    x: &'a [T],
    t: f64,
    out: &'a mut [T],
    e: &'a mut [f64],
}

impl<T: Element> WithSimd for RowJob<'_, T> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        row(s, self.x, self.t, self.out, self.e)
    }
}

/// The three passes over one row, `e` (n long) holding the exponentials.
#[inline(always)]
fn row<S: Simd, T: Element>(s: S, x: &[T], t: f64, out: &mut [T], e: &mut [f64]) {
    let (max, min) = match finite_row_range(s, x) {
        Some(r) => r,
        None => {
            let class = classify(x);
            if fill(class, false, out) {
                return;
            }
            let RowClass::Finite(max) = class else { return };
            (max, f64::NEG_INFINITY)
        }
    };
    // The smallest argument, rounded as every argument is: rounding is monotonic,
    // so every argument of the row is at least this.
    let d_min = if t == 1.0 { min - max } else { (min - max) / t };
    let sum = match (t == 1.0, d_min >= NARROW_LO) {
        (true, true) => exp_sum::<S::D, T, false, false>(s.f64x4(), x, max, t, e),
        (true, false) => exp_sum::<S::D, T, false, true>(s.f64x4(), x, max, t, e),
        (false, true) => exp_sum::<S::D, T, true, false>(s.f64x4(), x, max, t, e),
        (false, false) => exp_sum::<S::D, T, true, true>(s.f64x4(), x, max, t, e),
    };
    // ·(1/sum) rounds twice where / sum rounds once; from RECIP_MIN_N on, the
    // tree-shaped sum has saved more than that rounding (module docs), and a
    // vector division would cost a third of the kernel.
    if x.len() < RECIP_MIN_N {
        for (o, &v) in out.iter_mut().zip(e.iter()) {
            *o = T::from_f64(v / sum);
        }
    } else {
        let recip = 1.0 / sum;
        for (o, &v) in out.iter_mut().zip(e.iter()) {
            *o = T::from_f64(v * recip);
        }
    }
}

/// Lanes i..i+4 of x as f64; lanes past the end are −inf (they give e = 0).
#[inline(always)]
fn load_x<S: SimdF64, T: Element>(s: S, x: &[T]) -> S::V {
    let mut a = [f64::NEG_INFINITY; 4];
    for (a, v) in a.iter_mut().zip(x) {
        *a = v.to_f64();
    }
    s.pack(a)
}

/// The argument (v − max)/T with the same two roundings as the scalar path:
/// v − max, then / T (`SCALED`: T ≠ 1).
#[inline(always)]
fn arg<S: SimdF64, const SCALED: bool>(s: S, v: S::V, m: S::V, tv: S::V) -> S::V {
    let d = s.sub(v, m);
    if SCALED {
        s.div(d, tv)
    } else {
        d
    }
}

/// e_i = exp((x_i − max)/T) into `e`, and Σ e_i in 16 interleaved partial sums.
/// `SCALED`: T ≠ 1; `WIDE`: some argument may be below [`NARROW_LO`].
#[inline(always)]
fn exp_sum<S: SimdF64, T: Element, const SCALED: bool, const WIDE: bool>(
    s: S,
    x: &[T],
    max: f64,
    t: f64,
    e: &mut [f64],
) -> f64 {
    let (m, tv) = (s.splat(max), s.splat(t));
    let k = Consts::new(s);
    let mut acc = [s.splat(0.0); 4];
    // Four vectors per step: four independent chains of about 45 cycles each.
    let mut xs = x.chunks_exact(16);
    let mut es = e.chunks_exact_mut(16);
    for (xc, ec) in (&mut xs).zip(&mut es) {
        for j in 0..4 {
            let v = arg::<S, SCALED>(s, load_x(s, &xc[4 * j..4 * j + 4]), m, tv);
            let y = exp::<S, WIDE>(s, &k, v);
            s.store(&mut ec[4 * j..4 * j + 4], y);
            acc[j] = s.add(acc[j], y);
        }
    }
    // The last 0..15: padded with −inf, which the wide form maps to 0; the narrow
    // form may not see −inf, so it gets the wide form here.
    let mut xs4 = xs.remainder().chunks(4);
    let es4 = es.into_remainder().chunks_mut(4);
    for (j, (xc, ec)) in (&mut xs4).zip(es4).enumerate() {
        let v = arg::<S, SCALED>(s, load_x(s, xc), m, tv);
        let y = if xc.len() == 4 {
            exp::<S, WIDE>(s, &k, v)
        } else {
            exp::<S, true>(s, &k, v)
        };
        let y = s.unpack(y);
        ec.copy_from_slice(&y[..ec.len()]);
        acc[j] = s.add(acc[j], s.pack(y));
    }
    let total = s.add(s.add(acc[0], acc[1]), s.add(acc[2], acc[3]));
    s.hsum(total)
}

#[cfg(test)]
mod tests;
