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
//! [`Path::active`] picks AVX2 + FMA when the CPU has it (detected once), else the
//! portable path; `SOFTMAX_LAB_SIMD=portable` forces the portable one, as for the
//! simd crate. Both run the same `#[inline(always)]` body over 4-lane blocks: on
//! AVX2 it is compiled inside one `#[target_feature]` function with `__m256d`
//! lanes and fused multiply-adds; the portable body uses `[f64; 4]` and separate
//! multiplies and adds (a software `fma` call would be far slower), so the two
//! paths may differ in the last bit of an exponential, not in accuracy.
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
use std::sync::OnceLock;

use softmax_lab_core::special::{classify, fill, RowClass};
use softmax_lab_core::Element;

/// An instruction-set path of the wide kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Path {
    /// x86_64 with AVX2 and FMA: 4 f64 lanes per vector, fused multiply-add.
    Avx2Fma,
    /// `[f64; 4]` blocks that compile to SSE2 on x86_64 and to whatever the target
    /// has elsewhere; no fused multiply-add.
    Portable,
}

impl Path {
    /// Every path, fastest first.
    pub const ALL: [Path; 2] = [Path::Avx2Fma, Path::Portable];

    /// The name used in reports and in `SOFTMAX_LAB_SIMD`.
    pub fn name(self) -> &'static str {
        match self {
            Path::Avx2Fma => "avx2_fma",
            Path::Portable => "portable",
        }
    }

    /// Whether this path can run on this CPU.
    pub fn is_available(self) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            Path::Avx2Fma => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
            #[cfg(not(target_arch = "x86_64"))]
            Path::Avx2Fma => false,
            Path::Portable => true,
        }
    }

    /// The path `stable_wide` uses: the fastest available one, unless
    /// `SOFTMAX_LAB_SIMD=portable`; detected once, then cached.
    pub fn active() -> Path {
        static ACTIVE: OnceLock<Path> = OnceLock::new();
        *ACTIVE.get_or_init(|| {
            let forced = std::env::var("SOFTMAX_LAB_SIMD").ok();
            if forced.as_deref() == Some(Path::Portable.name()) {
                return Path::Portable;
            }
            Path::ALL
                .into_iter()
                .find(|p| p.is_available())
                .unwrap_or(Path::Portable)
        })
    }
}

impl std::fmt::Display for Path {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Four f64 lanes and the operations the kernel needs; a value of an implementing
/// type is the proof that its instructions can run.
trait Lanes: Copy {
    /// One vector of 4 lanes.
    type V: Copy;
    fn splat(self, v: f64) -> Self::V;
    fn pack(self, a: [f64; 4]) -> Self::V;
    fn unpack(self, v: Self::V) -> [f64; 4];
    fn add(self, a: Self::V, b: Self::V) -> Self::V;
    fn sub(self, a: Self::V, b: Self::V) -> Self::V;
    fn mul(self, a: Self::V, b: Self::V) -> Self::V;
    fn div(self, a: Self::V, b: Self::V) -> Self::V;
    /// a·b + c: one rounding on AVX2 + FMA, two on the portable path.
    fn mul_add(self, a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// a > b ? a : b per lane (x86 `maxpd`): a NaN in b is returned.
    fn max(self, a: Self::V, b: Self::V) -> Self::V;
    /// The f64 whose bits are (bits(z) + bias) << 52, per lane.
    fn pow2_bits(self, z: Self::V, bias: i64) -> Self::V;
    /// The f64 whose bits are bits(p) + (bits(z) << 52): p·2^k when the low bits
    /// of z hold k and the result is normal.
    fn add_exponent(self, p: Self::V, z: Self::V) -> Self::V;

    /// Eight f32 lanes, for the pass that finds the row's range.
    type W: Copy;
    fn w_splat(self, v: f32) -> Self::W;
    fn w_pack(self, a: [f32; 8]) -> Self::W;
    fn w_unpack(self, v: Self::W) -> [f32; 8];
    fn w_add(self, a: Self::W, b: Self::W) -> Self::W;
    /// a > b ? a : b per lane (x86 `maxps`).
    fn w_max(self, a: Self::W, b: Self::W) -> Self::W;
    /// a < b ? a : b per lane (x86 `minps`).
    fn w_min(self, a: Self::W, b: Self::W) -> Self::W;

    /// Lanes 0..4 of `s` (at least 4 elements).
    #[cfg(test)]
    #[inline(always)]
    fn load(self, s: &[f64]) -> Self::V {
        self.pack([s[0], s[1], s[2], s[3]])
    }
    /// Write the lanes to `d[..4]`.
    #[inline(always)]
    fn store(self, d: &mut [f64], v: Self::V) {
        d[..4].copy_from_slice(&self.unpack(v));
    }
    /// The lanes' sum, in a fixed order.
    #[inline(always)]
    fn hsum(self, v: Self::V) -> f64 {
        let a = self.unpack(v);
        (a[0] + a[1]) + (a[2] + a[3])
    }
}

/// The portable lanes: plain arrays; LLVM keeps them in SSE2 registers on x86_64.
#[derive(Clone, Copy, Debug)]
struct Portable;

/// Apply `f` lane by lane.
#[inline(always)]
fn zip4(a: [f64; 4], b: [f64; 4], f: impl Fn(f64, f64) -> f64) -> [f64; 4] {
    [f(a[0], b[0]), f(a[1], b[1]), f(a[2], b[2]), f(a[3], b[3])]
}

impl Lanes for Portable {
    type V = [f64; 4];
    #[inline(always)]
    fn splat(self, v: f64) -> [f64; 4] {
        [v; 4]
    }
    #[inline(always)]
    fn pack(self, a: [f64; 4]) -> [f64; 4] {
        a
    }
    #[inline(always)]
    fn unpack(self, v: [f64; 4]) -> [f64; 4] {
        v
    }
    #[inline(always)]
    fn add(self, a: [f64; 4], b: [f64; 4]) -> [f64; 4] {
        zip4(a, b, |x, y| x + y)
    }
    #[inline(always)]
    fn sub(self, a: [f64; 4], b: [f64; 4]) -> [f64; 4] {
        zip4(a, b, |x, y| x - y)
    }
    #[inline(always)]
    fn mul(self, a: [f64; 4], b: [f64; 4]) -> [f64; 4] {
        zip4(a, b, |x, y| x * y)
    }
    #[inline(always)]
    fn div(self, a: [f64; 4], b: [f64; 4]) -> [f64; 4] {
        zip4(a, b, |x, y| x / y)
    }
    /// Not fused: a software `fma` call per operation would cost more than the
    /// whole kernel.
    #[inline(always)]
    fn mul_add(self, a: [f64; 4], b: [f64; 4], c: [f64; 4]) -> [f64; 4] {
        self.add(self.mul(a, b), c)
    }
    #[inline(always)]
    fn max(self, a: [f64; 4], b: [f64; 4]) -> [f64; 4] {
        zip4(a, b, |x, y| if x > y { x } else { y })
    }
    #[inline(always)]
    fn pow2_bits(self, z: [f64; 4], bias: i64) -> [f64; 4] {
        z.map(|v| f64::from_bits((v.to_bits().wrapping_add(bias as u64)) << 52))
    }
    #[inline(always)]
    fn add_exponent(self, p: [f64; 4], z: [f64; 4]) -> [f64; 4] {
        zip4(p, z, |p, z| {
            f64::from_bits(p.to_bits().wrapping_add(z.to_bits() << 52))
        })
    }

    type W = [f32; 8];
    #[inline(always)]
    fn w_splat(self, v: f32) -> [f32; 8] {
        [v; 8]
    }
    #[inline(always)]
    fn w_pack(self, a: [f32; 8]) -> [f32; 8] {
        a
    }
    #[inline(always)]
    fn w_unpack(self, v: [f32; 8]) -> [f32; 8] {
        v
    }
    #[inline(always)]
    fn w_add(self, a: [f32; 8], b: [f32; 8]) -> [f32; 8] {
        std::array::from_fn(|i| a[i] + b[i])
    }
    #[inline(always)]
    fn w_max(self, a: [f32; 8], b: [f32; 8]) -> [f32; 8] {
        std::array::from_fn(|i| if a[i] > b[i] { a[i] } else { b[i] })
    }
    #[inline(always)]
    fn w_min(self, a: [f32; 8], b: [f32; 8]) -> [f32; 8] {
        std::array::from_fn(|i| if a[i] < b[i] { a[i] } else { b[i] })
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! The AVX2 + FMA lanes. Soundness rests on one fact: a value of [`Avx2`]
    //! exists only inside [`run`]'s `#[target_feature]` function, which is called
    //! only after both features were detected. Every `unsafe` block below calls an
    //! intrinsic of those features on registers or on a local array.

    use std::arch::x86_64::*;

    use super::{Job, Lanes};

    /// AVX2 + FMA; holding a value proves they are available.
    #[derive(Clone, Copy, Debug)]
    pub(super) struct Avx2 {
        _private: (),
    }

    /// Run `job` with the AVX2 token, compiled with AVX2 and FMA enabled (`call`
    /// is `#[inline(always)]`, so the whole kernel is compiled inside).
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA (`Path::Avx2Fma.is_available()`).
    #[inline]
    pub(super) unsafe fn run<J: Job>(job: J) -> J::Output {
        #[target_feature(enable = "avx2,fma")]
        fn with_features<J: Job>(job: J) -> J::Output {
            job.call(Avx2 { _private: () })
        }
        // SAFETY: the caller guarantees both features.
        unsafe { with_features(job) }
    }

    impl Lanes for Avx2 {
        type V = __m256d;
        // SAFETY (every block in this impl): `self` proves AVX2 and FMA (see the
        // module docs); loads and stores go through local arrays of 4 f64.
        #[inline(always)]
        fn splat(self, v: f64) -> __m256d {
            unsafe { _mm256_set1_pd(v) }
        }
        #[inline(always)]
        fn pack(self, a: [f64; 4]) -> __m256d {
            unsafe { _mm256_loadu_pd(a.as_ptr()) }
        }
        #[inline(always)]
        fn unpack(self, v: __m256d) -> [f64; 4] {
            let mut a = [0.0; 4];
            unsafe { _mm256_storeu_pd(a.as_mut_ptr(), v) };
            a
        }
        #[inline(always)]
        fn add(self, a: __m256d, b: __m256d) -> __m256d {
            unsafe { _mm256_add_pd(a, b) }
        }
        #[inline(always)]
        fn sub(self, a: __m256d, b: __m256d) -> __m256d {
            unsafe { _mm256_sub_pd(a, b) }
        }
        #[inline(always)]
        fn mul(self, a: __m256d, b: __m256d) -> __m256d {
            unsafe { _mm256_mul_pd(a, b) }
        }
        #[inline(always)]
        fn div(self, a: __m256d, b: __m256d) -> __m256d {
            unsafe { _mm256_div_pd(a, b) }
        }
        #[inline(always)]
        fn mul_add(self, a: __m256d, b: __m256d, c: __m256d) -> __m256d {
            unsafe { _mm256_fmadd_pd(a, b, c) }
        }
        #[inline(always)]
        fn max(self, a: __m256d, b: __m256d) -> __m256d {
            unsafe { _mm256_max_pd(a, b) }
        }
        #[inline(always)]
        fn pow2_bits(self, z: __m256d, bias: i64) -> __m256d {
            unsafe {
                let b = _mm256_add_epi64(_mm256_castpd_si256(z), _mm256_set1_epi64x(bias));
                _mm256_castsi256_pd(_mm256_slli_epi64::<52>(b))
            }
        }
        #[inline(always)]
        fn add_exponent(self, p: __m256d, z: __m256d) -> __m256d {
            unsafe {
                let k = _mm256_slli_epi64::<52>(_mm256_castpd_si256(z));
                _mm256_castsi256_pd(_mm256_add_epi64(_mm256_castpd_si256(p), k))
            }
        }

        type W = __m256;
        #[inline(always)]
        fn w_splat(self, v: f32) -> __m256 {
            unsafe { _mm256_set1_ps(v) }
        }
        #[inline(always)]
        fn w_pack(self, a: [f32; 8]) -> __m256 {
            unsafe { _mm256_loadu_ps(a.as_ptr()) }
        }
        #[inline(always)]
        fn w_unpack(self, v: __m256) -> [f32; 8] {
            let mut a = [0.0; 8];
            unsafe { _mm256_storeu_ps(a.as_mut_ptr(), v) };
            a
        }
        #[inline(always)]
        fn w_add(self, a: __m256, b: __m256) -> __m256 {
            unsafe { _mm256_add_ps(a, b) }
        }
        #[inline(always)]
        fn w_max(self, a: __m256, b: __m256) -> __m256 {
            unsafe { _mm256_max_ps(a, b) }
        }
        #[inline(always)]
        fn w_min(self, a: __m256, b: __m256) -> __m256 {
            unsafe { _mm256_min_ps(a, b) }
        }
    }
}

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
    fn new<S: Lanes<V = V>>(s: S) -> Consts<V> {
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
fn exp<S: Lanes, const WIDE: bool>(s: S, k: &Consts<S::V>, d: S::V) -> S::V {
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
    let f = |a: usize| s.mul_add(u[a + 1], r, u[a]);
    let q0 = s.mul_add(f(2), r2, f(0));
    let q1 = s.mul_add(f(6), r2, f(4));
    let q2 = s.mul_add(u[10], r2, f(8));
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

/// A computation written once for every path: `call` runs it with the lanes of
/// the chosen path. Implementations mark `call` `#[inline(always)]`, so that on
/// AVX2 the whole computation is compiled inside the `#[target_feature]` entry
/// point (a closure would be compiled on its own, without the features, and
/// then every intrinsic would be a call).
trait Job {
    /// What the computation returns.
    type Output;
    /// Run with the lanes `s`.
    fn call<S: Lanes>(self, s: S) -> Self::Output;
}

/// Run `job` on `path` (on the portable lanes when `path` cannot run here).
#[inline]
fn run<J: Job>(path: Path, job: J) -> J::Output {
    match path {
        #[cfg(target_arch = "x86_64")]
        Path::Avx2Fma if Path::Avx2Fma.is_available() => {
            // SAFETY: both features were just detected.
            unsafe { avx2::run(job) }
        }
        _ => job.call(Portable),
    }
}

/// e^x for every element of `x` into `out` (equal lengths), on `path`, by the
/// wide form (`WIDE`) or the narrow one. For x <= 0 and NaN only (the narrow
/// form: x >= [`NARROW_LO`]); the kernel inlines `exp`, this is its test entry.
#[cfg(test)]
pub(crate) fn exp_slice_on<const WIDE: bool>(path: Path, x: &[f64], out: &mut [f64]) {
    struct ExpJob<'a, const WIDE: bool> {
        x: &'a [f64],
        out: &'a mut [f64],
    }
    impl<const WIDE: bool> Job for ExpJob<'_, WIDE> {
        type Output = ();
        #[inline(always)]
        fn call<S: Lanes>(self, s: S) {
            let mut xs = self.x.chunks_exact(4);
            let mut os = self.out.chunks_exact_mut(4);
            let k = Consts::new(s);
            for (xc, oc) in (&mut xs).zip(&mut os) {
                s.store(oc, exp::<S, WIDE>(s, &k, s.load(xc)));
            }
            let (xt, ot) = (xs.remainder(), os.into_remainder());
            let mut a = [0.0; 4];
            a[..xt.len()].copy_from_slice(xt);
            let e = s.unpack(exp::<S, WIDE>(s, &k, s.pack(a)));
            ot.copy_from_slice(&e[..ot.len()]);
        }
    }
    run(path, ExpJob::<WIDE> { x, out })
}

/// (max, min) of a row whose entries are all finite, with n >= 2 (the rows that
/// `classify` calls `Finite(max)` and that hold no −inf); None for any other row,
/// which then goes through `classify` itself. Unlike `classify`, vectorised: in
/// f32 lanes (exact for f16, bf16 and f32), four independent sets of them.
#[inline(always)]
fn finite_row_range<S: Lanes, T: Element>(s: S, x: &[T]) -> Option<(f64, f64)> {
    let load = |c: &[T], pad: f32| {
        s.w_pack(std::array::from_fn(|i| {
            c.get(i).map_or(pad, |v| v.to_f32())
        }))
    };
    // `max`/`min` skip a NaN in their first operand, so NaN is caught by the sum
    // instead: NaN (or ±inf) anywhere makes it non-finite. So does an f32
    // overflow of a sum of huge values, which only sends the row to `classify`.
    let mut hi = [s.w_splat(f32::NEG_INFINITY); 4];
    let mut lo = [s.w_splat(f32::INFINITY); 4];
    let mut sum = [s.w_splat(0.0); 4];
    let mut chunks = x.chunks_exact(32);
    for c in &mut chunks {
        for j in 0..4 {
            let v = load(&c[8 * j..8 * j + 8], 0.0);
            hi[j] = s.w_max(v, hi[j]);
            lo[j] = s.w_min(v, lo[j]);
            sum[j] = s.w_add(sum[j], v);
        }
    }
    for c in chunks.remainder().chunks(8) {
        hi[0] = s.w_max(load(c, f32::NEG_INFINITY), hi[0]);
        lo[0] = s.w_min(load(c, f32::INFINITY), lo[0]);
        sum[0] = s.w_add(sum[0], load(c, 0.0));
    }
    let hi = s.w_max(s.w_max(hi[0], hi[1]), s.w_max(hi[2], hi[3]));
    let lo = s.w_min(s.w_min(lo[0], lo[1]), s.w_min(lo[2], lo[3]));
    let sum = s.w_add(s.w_add(sum[0], sum[1]), s.w_add(sum[2], sum[3]));
    let max = s.w_unpack(hi).into_iter().fold(f32::NEG_INFINITY, f32::max);
    let min = s.w_unpack(lo).into_iter().fold(f32::INFINITY, f32::min);
    let finite = s.w_unpack(sum).iter().all(|v| v.is_finite());
    (finite && max < f32::INFINITY && min > f32::NEG_INFINITY && x.len() >= 2)
        .then_some((max as f64, min as f64))
}

thread_local! {
    /// The exponentials of the row being normalised, reused between calls.
    static SCRATCH: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
}

/// `stable_wide` forward for an f16, bf16 or f32 row on the active path.
pub(crate) fn softmax_row<T: Element>(x: &[T], t: f64, out: &mut [T]) {
    softmax_row_on(Path::active(), x, t, out)
}

/// `stable_wide` forward for an f16, bf16 or f32 row on `path` (the portable one
/// when `path` cannot run here). `t` must be positive and finite.
pub(crate) fn softmax_row_on<T: Element>(path: Path, x: &[T], t: f64, out: &mut [T]) {
    let n = x.len();
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            if buf.len() < n {
                buf.resize(n, 0.0);
            }
            let e = &mut buf[..n];
            run(path, RowJob { x, t, out, e })
        }
        // Only reachable by re-entering from inside a row, which nothing does.
        Err(_) => run(
            path,
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

impl<T: Element> Job for RowJob<'_, T> {
    type Output = ();
    #[inline(always)]
    fn call<S: Lanes>(self, s: S) {
        row(s, self.x, self.t, self.out, self.e)
    }
}

/// The three passes over one row, `e` (n long) holding the exponentials.
#[inline(always)]
fn row<S: Lanes, T: Element>(s: S, x: &[T], t: f64, out: &mut [T], e: &mut [f64]) {
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
        (true, true) => exp_sum::<S, T, false, false>(s, x, max, t, e),
        (true, false) => exp_sum::<S, T, false, true>(s, x, max, t, e),
        (false, true) => exp_sum::<S, T, true, false>(s, x, max, t, e),
        (false, false) => exp_sum::<S, T, true, true>(s, x, max, t, e),
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
fn load_x<S: Lanes, T: Element>(s: S, x: &[T]) -> S::V {
    let mut a = [f64::NEG_INFINITY; 4];
    for (a, v) in a.iter_mut().zip(x) {
        *a = v.to_f64();
    }
    s.pack(a)
}

/// e_i = exp((x_i − max)/T) into `e`, and Σ e_i in 16 interleaved partial sums.
/// `SCALED`: T ≠ 1; `WIDE`: some argument may be below [`NARROW_LO`].
#[inline(always)]
fn exp_sum<S: Lanes, T: Element, const SCALED: bool, const WIDE: bool>(
    s: S,
    x: &[T],
    max: f64,
    t: f64,
    e: &mut [f64],
) -> f64 {
    let (m, tv) = (s.splat(max), s.splat(t));
    // The same two roundings as the scalar path: x − max, then / T.
    let arg = |v| {
        let d = s.sub(v, m);
        if SCALED {
            s.div(d, tv)
        } else {
            d
        }
    };
    let k = Consts::new(s);
    let mut acc = [s.splat(0.0); 4];
    // Four vectors per step: four independent chains of about 45 cycles each.
    let mut xs = x.chunks_exact(16);
    let mut es = e.chunks_exact_mut(16);
    for (xc, ec) in (&mut xs).zip(&mut es) {
        for j in 0..4 {
            let y = exp::<S, WIDE>(s, &k, arg(load_x(s, &xc[4 * j..4 * j + 4])));
            s.store(&mut ec[4 * j..4 * j + 4], y);
            acc[j] = s.add(acc[j], y);
        }
    }
    // The last 0..15: padded with −inf, which the wide form maps to 0; the narrow
    // form may not see −inf, so it gets the wide form here.
    let mut xs4 = xs.remainder().chunks(4);
    let es4 = es.into_remainder().chunks_mut(4);
    for (j, (xc, ec)) in (&mut xs4).zip(es4).enumerate() {
        let v = arg(load_x(s, xc));
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
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use softmax_lab_core::measure::ulp_error;
    use softmax_lab_core::{DType, Dd, Xd};

    fn paths() -> impl Iterator<Item = Path> {
        Path::ALL.into_iter().filter(|p| p.is_available())
    }

    /// The worst ulp error of the exponential on `x`, and where: over normal
    /// results, and over subnormal ones (rounded twice: p to 53 bits, then p·2^k).
    fn worst(path: Path, x: &[f64]) -> [(f64, f64); 2] {
        let mut y = vec![0.0; x.len()];
        exp_slice_on::<true>(path, x, &mut y);
        let mut w = [(0.0, 0.0); 2];
        for (&xi, &yi) in x.iter().zip(&y) {
            let e = ulp_error(DType::F64, yi, Xd::exp(Dd::from_f64(xi)));
            let sub = usize::from(xi < -708.396_418_532_264);
            if e > w[sub].0 {
                w[sub] = (e, xi);
            }
        }
        w
    }

    #[test]
    fn exp_is_within_one_ulp_on_sampled_arguments() {
        let mut r = ChaCha8Rng::seed_from_u64(0xe4_9f64);
        // Uniform over the whole range, plus the subnormal results and |x| < 1
        // (where r = x and the reduction does nothing) sampled densely.
        let mut x: Vec<f64> = (0..1_000_000).map(|_| r.gen_range(-745.2..=0.0)).collect();
        x.extend((0..500_000).map(|_| r.gen_range(-745.2..=-700.0)));
        x.extend((0..500_000).map(|_| -(r.gen::<f64>().powi(8))));
        for p in paths() {
            let [(normal, at), (sub, at_sub)] = worst(p, &x);
            eprintln!(
                "exp {p}: worst {normal:.4} ulp (normal results, at {at:e}), \
                 {sub:.4} ulp (subnormal results, at {at_sub:e}) on {} arguments",
                x.len()
            );
            assert!(normal <= 1.0 && sub <= 1.0, "{p}: {normal} / {sub} ulp");
            // The design leaves room: a regression to a plain 1 + r·(…), or to a
            // scale that rounds twice, would show here.
            assert!(normal < 0.82, "{p}: {normal} ulp at {at:e}");
            assert!(sub < 0.92, "{p}: {sub} ulp at {at_sub:e}");
        }
    }

    #[test]
    fn exp_edges_are_right() {
        let edges = [
            0.0,
            -0.0,
            -1e-300,
            -f64::MIN_POSITIVE,
            -1e-17,
            -0.34657359027997264, // −ln2/2
            -1.0,
            -708.396_418_532_264_1, // the smallest normal result
            -708.4,
            -709.0,
            -744.4400719213812, // the smallest subnormal, 2^-1074
            -745.1,
            -745.133_219_101_941_1, // ln 2^-1075 rounded up: 2^-1074
            -745.2,
            -745.3,
            -1e300,
            f64::MIN,
            f64::NEG_INFINITY,
        ];
        for p in paths() {
            let mut y = [0.0; 18];
            exp_slice_on::<true>(p, &edges, &mut y);
            for (&x, &v) in edges.iter().zip(&y) {
                let want = Xd::exp(Dd::from_f64(x)).round_to(DType::F64.format());
                let e = ulp_error(DType::F64, v, Xd::exp(Dd::from_f64(x)));
                assert!(e <= 0.6, "{p}: exp({x:e}) = {v:e}, want {want:e} ({e} ulp)");
            }
            assert_eq!(y[0], 1.0);
            assert_eq!(y[1], 1.0);
            assert_eq!(y[2], 1.0);
            // 2^−1074 at ln 2^−1074 and just above ln 2^−1075; 0 below it.
            for v in &y[10..13] {
                assert_eq!(*v, f64::from_bits(1), "{p}");
            }
            for v in &y[13..] {
                assert_eq!(*v, 0.0, "{p}");
            }
            let mut nan = [0.0];
            exp_slice_on::<true>(p, &[f64::NAN], &mut nan);
            assert!(nan[0].is_nan(), "{p}");
        }
    }

    /// The narrow form (no clamp, 2^k through the exponent bits) gives the wide
    /// form's bits on its whole range.
    #[test]
    fn narrow_exp_equals_wide_exp_on_its_range() {
        let mut r = ChaCha8Rng::seed_from_u64(0x4a11);
        let mut x: Vec<f64> = (0..200_000).map(|_| r.gen_range(NARROW_LO..=0.0)).collect();
        x.extend([NARROW_LO, -706.999, -0.0, 0.0, -1e-310]);
        for p in paths() {
            let (mut a, mut b) = (vec![0.0; x.len()], vec![0.0; x.len()]);
            exp_slice_on::<true>(p, &x, &mut a);
            exp_slice_on::<false>(p, &x, &mut b);
            for i in 0..x.len() {
                assert_eq!(a[i].to_bits(), b[i].to_bits(), "{p}: exp({:e})", x[i]);
            }
        }
    }

    #[test]
    fn exp_agrees_with_the_platform_exp() {
        // A plain cross-check of the reduction's k and scale on every integer and
        // half-integer argument: within an ulp of glibc's (itself within 1 ulp).
        for p in paths() {
            let x: Vec<f64> = (0..=1490).map(|i| -(i as f64) / 2.0).collect();
            let mut y = vec![0.0; x.len()];
            exp_slice_on::<true>(p, &x, &mut y);
            for (&xi, &yi) in x.iter().zip(&y) {
                let want = xi.exp();
                let d = (yi.to_bits() as i64 - want.to_bits() as i64).abs();
                assert!(d <= 1, "{p}: exp({xi}) = {yi:e} vs {want:e}");
            }
        }
    }

    /// Old scalar path and new path on the same row, every path available here:
    /// (elements compared, elements that differ); panics on a difference above
    /// 1 ulp of T or on a NaN/non-NaN mismatch.
    fn compare<T: Element>(x: &[T], t: f64) -> (usize, usize) {
        let mut want = vec![T::ZERO; x.len()];
        crate::shifted_softmax_row::<T, f64>(x, t, &mut want);
        let mut differ = 0;
        for p in paths() {
            let mut got = vec![T::ZERO; x.len()];
            softmax_row_on(p, x, t, &mut got);
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                let (g, w) = (g.to_f64(), w.to_f64());
                if g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()) {
                    continue;
                }
                let d = softmax_lab_core::measure::ulp_distance(T::DTYPE, g, w);
                assert!(
                    d <= 1.0,
                    "{p} {} n={} t={t}: y[{i}] = {g:e}, scalar {w:e} ({d} ulp)",
                    T::DTYPE,
                    x.len()
                );
                differ += 1;
            }
        }
        (x.len() * paths().count(), differ)
    }

    /// Random rows of many lengths (every tail of the 16-, 8- and 4-lane loops),
    /// spreads from 1 to 4000 (the narrow form, and the wide one with zeros and
    /// subnormal exponentials), three temperatures: the new path gives the scalar
    /// path's outputs, up to a rare 1-ulp difference where an f64 value lies within
    /// a few f64 ulps of a rounding boundary of T.
    fn matches_the_scalar_path<T: Element>(seed: u64) {
        let mut r = ChaCha8Rng::seed_from_u64(seed);
        let mut lens: Vec<usize> = (1..=70).collect();
        lens.extend([255, 1000, 1024, 4099, 16384 + 13]);
        let (mut total, mut differ) = (0, 0);
        for &n in &lens {
            for scale in [1.0, 30.0, 300.0, 4000.0] {
                for t in [1.0, 0.7, 3.0] {
                    let x: Vec<T> = (0..n)
                        .map(|_| T::from_f64(scale * (2.0 * r.gen::<f64>() - 1.0)))
                        .collect();
                    let (a, b) = compare(&x, t);
                    total += a;
                    differ += b;
                }
            }
        }
        eprintln!(
            "{}: {differ} of {total} outputs differ from the scalar path",
            T::DTYPE
        );
        assert!(differ * 100_000 <= total, "{differ} of {total}");
    }

    #[test]
    fn f32_rows_match_the_scalar_path() {
        matches_the_scalar_path::<f32>(0x5ca1a);
    }

    #[test]
    fn half_rows_match_the_scalar_path() {
        matches_the_scalar_path::<half::f16>(0x5ca1b);
        matches_the_scalar_path::<half::bf16>(0x5ca1c);
    }

    /// Within 1 ulp of the correctly rounded softmax (the double-double
    /// reference), as the scalar path is.
    #[test]
    fn f32_rows_are_within_one_ulp_of_the_reference() {
        use softmax_lab_core::{reference, Function};
        let mut r = ChaCha8Rng::seed_from_u64(0xacc);
        for (n, scale, t) in [
            (1000, 5.0, 1.0),
            (333, 100.0, 0.5),
            (4096, 800.0, 1.0),
            (77, 1.0, 7.0),
        ] {
            let x: Vec<f32> = (0..n)
                .map(|_| (scale * (2.0 * r.gen::<f64>() - 1.0)) as f32)
                .collect();
            let xf: Vec<f64> = x.iter().map(|&v| v as f64).collect();
            let want = reference::forward(Function::Softmax, &xf, t);
            for p in paths() {
                let mut y = vec![0.0f32; n];
                softmax_row_on(p, &x, t, &mut y);
                for (&yi, wi) in y.iter().zip(&want) {
                    let e = ulp_error(DType::F32, yi as f64, *wi);
                    assert!(e <= 1.0, "{p} n={n} scale={scale}: {e} ulp");
                }
            }
        }
    }

    /// Rows that are not all finite, or that the fast range pass refuses (n = 1,
    /// f32 overflow of its sum), give the scalar path's outputs bit for bit.
    #[test]
    fn special_rows_match_the_scalar_path() {
        const INF: f32 = f32::INFINITY;
        const NAN: f32 = f32::NAN;
        let mut rows: Vec<Vec<f32>> = vec![
            vec![],
            vec![3.5],
            vec![-INF],
            vec![NAN],
            vec![-INF, 0.0, -INF],
            vec![-INF, -INF],
            vec![1.0, INF, -INF],
            vec![INF, INF, 0.0],
            vec![1.0, NAN, 2.0],
            vec![NAN, INF],
            vec![f32::MAX, f32::MAX, -f32::MAX, 0.0],
            vec![f32::MAX; 40],
            vec![-f32::MAX, 0.0, f32::MIN_POSITIVE, -1e-45],
            vec![0.0, -0.0, -0.0, 0.0],
            vec![
                0.0, -744.0, -745.0, -745.2, -746.0, -800.0, -1e30, -INF, -708.5,
            ],
        ];
        // Long rows with the special entry in a vector lane and in the tail.
        for at in [0, 17, 37, 38] {
            for v in [NAN, INF, -INF] {
                let mut x: Vec<f32> = (0..39).map(|i| (i as f32 * 0.37).sin()).collect();
                x[at] = v;
                rows.push(x);
            }
        }
        for x in &rows {
            for t in [1.0, 0.25] {
                let (_, differ) = compare(x, t);
                assert_eq!(differ, 0, "{x:?} t={t}");
            }
        }
        let mut y = vec![0.0f32; 3];
        softmax_row(&[1.0f32, NAN, 2.0], 1.0, &mut y);
        assert!(y.iter().all(|v| v.is_nan()));
        softmax_row(&[-INF, 2.0, -INF], 1.0, &mut y);
        assert_eq!(y, [0.0, 1.0, 0.0]);
    }
}
