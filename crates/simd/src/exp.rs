//! The vectorised f32 exponential every kernel is built on.
//!
//! Method: x = k·ln2 + r with k = round(x·log2 e) (the 1.5·2^23 shifter trick, so
//! k also appears as an integer in the low bits), r by a Cody–Waite split of ln2
//! (k·C1 is exact: C1 has 9 significant bits; the second step rounds once), then
//! e^r by a degree-7 polynomial (coefficients of SLEEF's `expf_u10`, relative
//! approximation error 1.7e-9 = 0.03 u on |r| <= 0.36) evaluated as
//! 1 + (r + r²·q(r)) (q: Horner's outer steps, Estrin's inner ones), and the scale 2^k applied as two exact powers of two
//! (2^⌈k/2⌉ then 2^⌊k/2⌋) so that subnormal results are rounded once. The input is
//! first clamped to [−104, 89]: below −104 the result rounds to 0, above 89 the
//! second scaling overflows to +inf, and NaN passes through the clamp (the
//! `max`/`min` keep their second operand) and through the arithmetic. No
//! compare-and-blend is needed.
//!
//! [`exp_ext`] is the exponent-extended form for `two_pass`: it returns the
//! polynomial value p ∈ [0.7, 1.42] and k separately, for |x| <= 2^14, with a
//! three-constant split of ln2 whose first two products are exact for every k in
//! that range on both paths (fused or not).
//!
//! Measured maximum error over every f32 input (`examples/exp_exhaustive.rs`):
//! see the crate documentation.

use crate::dispatch::{run, Isa, WithSimd};
use crate::simd::{load_tail, store_tail, Simd};

/// log2(e), rounded to f32.
const LOG2E: f32 = std::f32::consts::LOG2_E;
/// 1.5·2^23: adding it rounds to an integer and leaves that integer in the low bits.
pub(crate) const SHIFTER: f32 = 12_582_912.0;
/// ln2 high part: 9 significant bits, so k·C1 is exact for |k| < 2^15.
/// Written out exactly (355/512).
#[allow(clippy::excessive_precision)]
const C1: f32 = 0.693_359_375;
/// ln2 − C1, rounded to f32.
const C2: f32 = -2.121_944_4e-4;
/// ln2 − C1 with 9 significant bits (−445·2^−21), so k·E2 is exact for |k| < 2^15.
const E2: f32 = -2.121_925_4e-4;
/// ln2 − C1 − E2, rounded to f32.
const E3: f32 = -1.904_654_2e-9;
/// Below this, e^x rounds to 0 in f32 (e^−103.97 is half the smallest subnormal).
const EXP_LO: f32 = -104.0;
/// Above this, e^x overflows f32 (the threshold is 88.72).
const EXP_HI: f32 = 89.0;
/// |x| up to which [`exp_ext`] reduces exactly: k <= 23637 < 2^15.
pub(crate) const EXT_LIMIT: f32 = 16_384.0;

/// The polynomial coefficients of e^r = 1 + r + r²·(P5 + r(P4 + ...)) (SLEEF).
const P0: f32 = 1.985_276_2e-4;
const P1: f32 = 1.393_043_6e-3;
const P2: f32 = 8.333_361e-3;
const P3: f32 = 4.166_648_5e-2;
const P4: f32 = 1.666_666_7e-1;
const P5: f32 = 0.5;

/// e^r for |r| <= 0.36.
#[inline(always)]
fn poly<S: Simd>(s: S, r: S::F) -> S::F {
    // q = P5 + r·(P4 + P3 r + r²(P2 + P1 r + P0 r²)): the last two steps are
    // Horner's (they set the rounding: max error 0.987 ulp, as plain Horner),
    // the inner part Estrin's (shorter latency). A full Estrin scheme measured
    // 1.005 ulp at x = −59.945.
    let r2 = s.mul(r, r);
    let a = s.mul_add(s.splat(P1), r, s.splat(P2));
    let b = s.mul_add(s.splat(P3), r, s.splat(P4));
    let v = s.mul_add(r2, s.mul_add(r2, s.splat(P0), a), b);
    let u = s.mul_add(v, r, s.splat(P5));
    s.add(s.splat(1.0), s.mul_add(r2, u, r))
}

/// 2^k for integer lanes k in [−126, 127].
#[inline(always)]
fn pow2_int<S: Simd>(s: S, k: S::I) -> S::F {
    s.bits_as_f(s.ishl23(s.iadd(k, s.isplat(127))))
}

/// p·2^k for integer lanes k in [−252, 254], as two exact scalings: the larger
/// factor first, so that only the last product can be subnormal (one rounding).
#[inline(always)]
pub(crate) fn scale2<S: Simd>(s: S, p: S::F, k: S::I) -> S::F {
    let lo = s.ishr1(k);
    let hi = s.isub(k, lo);
    s.mul(s.mul(p, pow2_int(s, hi)), pow2_int(s, lo))
}

/// The integer lanes of an integer-valued f32 vector with |v| < 2^22.
#[inline(always)]
pub(crate) fn to_int<S: Simd>(s: S, v: S::F) -> S::I {
    let sh = s.splat(SHIFTER);
    s.isub(s.to_bits(s.add(v, sh)), s.to_bits(sh))
}

/// 2^d for integer-valued lanes d in [−127, 127]; d = −127 gives 0 (terms that
/// small are dropped from an exponent-extended sum).
#[inline(always)]
pub(crate) fn pow2_of<S: Simd>(s: S, d: S::F) -> S::F {
    pow2_int(s, to_int(s, d))
}

/// e^x per lane, for every f32 x (see the module docs).
#[inline(always)]
pub(crate) fn exp<S: Simd>(s: S, x: S::F) -> S::F {
    let x = s.min(s.splat(EXP_HI), s.max(s.splat(EXP_LO), x));
    let sh = s.splat(SHIFTER);
    let z = s.mul_add(x, s.splat(LOG2E), sh);
    let k = s.sub(z, sh);
    let r = s.mul_add(k, s.splat(-C1), x);
    let r = s.mul_add(k, s.splat(-C2), r);
    let p = poly(s, r);
    scale2(s, p, s.isub(s.to_bits(z), s.to_bits(sh)))
}

/// Arguments in [FAST_LO, −FAST_LO] may use [`exp_fast`]: |k| <= 126, so p·2^k
/// is a normal number and one scaling is exact.
pub(crate) const FAST_LO: f32 = -87.0;

/// e^x per lane for x in [[`FAST_LO`], −[`FAST_LO`]] only: no clamping, one
/// exact scaling. Equal bit for bit to [`exp`] there (both scale exactly and
/// round once). The kernels use its four-vector form [`exp_fast4`]; this one
/// defines it, and the tests hold both to it.
#[cfg_attr(not(test), allow(dead_code))]
#[inline(always)]
pub(crate) fn exp_fast<S: Simd>(s: S, x: S::F) -> S::F {
    let sh = s.splat(SHIFTER);
    let z = s.mul_add(x, s.splat(LOG2E), sh);
    let k = s.sub(z, sh);
    let r = s.mul_add(k, s.splat(-C1), x);
    let r = s.mul_add(k, s.splat(-C2), r);
    // The low bits of z hold k (the shifter's own bits leave the word when
    // shifted by 23). p·2^k is formed by adding k to p's exponent field — an
    // integer add instead of a multiply on the FMA ports, exact and equal to the
    // product because the result is normal: x >= FAST_LO gives k >= −126, and
    // k = −126 only when x·log2e > k, i.e. r > 0 and p > 1.
    let k_field = s.ishl23(s.to_bits(z));
    s.bits_as_f(s.iadd(s.to_bits(poly(s, r)), k_field))
}

/// e^x = p·2^k for |x| <= [`EXT_LIMIT`]: returns (p, k) with p in [0.7, 1.42] and
/// k an integer-valued f32. Defines [`exp_ext4`], which the kernels use.
#[cfg_attr(not(test), allow(dead_code))]
#[inline(always)]
pub(crate) fn exp_ext<S: Simd>(s: S, x: S::F) -> (S::F, S::F) {
    let sh = s.splat(SHIFTER);
    let k = s.sub(s.mul_add(x, s.splat(LOG2E), sh), sh);
    let r = s.mul_add(k, s.splat(-C1), x);
    let r = s.mul_add(k, s.splat(-E2), r);
    let r = s.mul_add(k, s.splat(-E3), r);
    (poly(s, r), k)
}

/// `[e(0), e(1), e(2), e(3)]` with `$i` bound to each index: one step of a chain
/// written once for four independent vectors.
macro_rules! each4 {
    ($i:ident => $e:expr) => {
        [
            {
                let $i = 0;
                $e
            },
            {
                let $i = 1;
                $e
            },
            {
                let $i = 2;
                $e
            },
            {
                let $i = 3;
                $e
            },
        ]
    };
}

/// Four vectors.
pub(crate) type F4<S> = [<S as Simd>::F; 4];

// The four-vector forms below compute exactly what the one-vector forms compute
// per lane (the same operations in the same order per vector), but step by step
// across the four: each exponential is a chain of ~12 dependent operations
// (~40 cycles), and when one chain is emitted after another the out-of-order
// window holds too few independent operations to keep the FMA ports busy.
// Interleaved, a block of four took 6.6–7.5 cycles per vector on Zen 3 where
// four chains in sequence took 11–14 (`exp_fast`, in L1).

/// [`poly`] on four vectors, interleaved.
#[inline(always)]
fn poly4<S: Simd>(s: S, r: F4<S>) -> F4<S> {
    let r2 = each4!(i => s.mul(r[i], r[i]));
    let a = each4!(i => s.mul_add(s.splat(P1), r[i], s.splat(P2)));
    let b = each4!(i => s.mul_add(s.splat(P3), r[i], s.splat(P4)));
    let w = each4!(i => s.mul_add(r2[i], s.splat(P0), a[i]));
    let w = each4!(i => s.mul_add(r2[i], w[i], b[i]));
    let u = each4!(i => s.mul_add(w[i], r[i], s.splat(P5)));
    let v = each4!(i => s.mul_add(r2[i], u[i], r[i]));
    each4!(i => s.add(s.splat(1.0), v[i]))
}

/// The reduction shared by [`exp4`] and [`exp_fast4`]: z (k in its low bits) and r.
#[inline(always)]
fn reduce4<S: Simd>(s: S, x: F4<S>) -> (F4<S>, F4<S>) {
    let sh = s.splat(SHIFTER);
    let z = each4!(i => s.mul_add(x[i], s.splat(LOG2E), sh));
    let k = each4!(i => s.sub(z[i], sh));
    let r = each4!(i => s.mul_add(k[i], s.splat(-C1), x[i]));
    let r = each4!(i => s.mul_add(k[i], s.splat(-C2), r[i]));
    (z, r)
}

/// [`exp`] on four vectors, interleaved; bit for bit equal to it.
#[inline(always)]
pub(crate) fn exp4<S: Simd>(s: S, x: F4<S>) -> F4<S> {
    let x = each4!(i => s.min(s.splat(EXP_HI), s.max(s.splat(EXP_LO), x[i])));
    let (z, r) = reduce4(s, x);
    let p = poly4(s, r);
    let sh = s.to_bits(s.splat(SHIFTER));
    each4!(i => scale2(s, p[i], s.isub(s.to_bits(z[i]), sh)))
}

/// [`exp_fast`] on four vectors, interleaved; bit for bit equal to it.
#[inline(always)]
pub(crate) fn exp_fast4<S: Simd>(s: S, x: F4<S>) -> F4<S> {
    let (z, r) = reduce4(s, x);
    let p = poly4(s, r);
    each4!(i => s.bits_as_f(s.iadd(s.to_bits(p[i]), s.ishl23(s.to_bits(z[i])))))
}

/// [`exp_fast4`] when `FAST`, else [`exp4`].
#[inline(always)]
pub(crate) fn exp_in4<S: Simd, const FAST: bool>(s: S, x: F4<S>) -> F4<S> {
    if FAST {
        exp_fast4(s, x)
    } else {
        exp4(s, x)
    }
}

/// [`exp_ext`] on four vectors, interleaved.
#[inline(always)]
pub(crate) fn exp_ext4<S: Simd>(s: S, x: F4<S>) -> (F4<S>, F4<S>) {
    let sh = s.splat(SHIFTER);
    let k = each4!(i => s.sub(s.mul_add(x[i], s.splat(LOG2E), sh), sh));
    let r = each4!(i => s.mul_add(k[i], s.splat(-C1), x[i]));
    let r = each4!(i => s.mul_add(k[i], s.splat(-E2), r[i]));
    let r = each4!(i => s.mul_add(k[i], s.splat(-E3), r[i]));
    (poly4(s, r), k)
}

/// The buffers given to [`exp_f32_on`] differ in length.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpError {
    /// Input and output lengths differ.
    #[error("exp: input has {input} elements but output has {output}")]
    Length {
        /// Input length.
        input: usize,
        /// Output length.
        output: usize,
    },
    /// The path asked for cannot run on this CPU.
    #[error("exp: the {0} path is not available on this CPU")]
    Unavailable(Isa),
}

struct ExpJob<'a> {
    x: &'a [f32],
    out: &'a mut [f32],
}

impl WithSimd for ExpJob<'_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        let l = S::LANES;
        let mut xs4 = self.x.chunks_exact(4 * l);
        let mut os4 = self.out.chunks_exact_mut(4 * l);
        for (xc, oc) in (&mut xs4).zip(&mut os4) {
            let v = [
                s.load(&xc[..l]),
                s.load(&xc[l..2 * l]),
                s.load(&xc[2 * l..3 * l]),
                s.load(&xc[3 * l..]),
            ];
            let e = exp4(s, v);
            s.store(&mut oc[..l], e[0]);
            s.store(&mut oc[l..2 * l], e[1]);
            s.store(&mut oc[2 * l..3 * l], e[2]);
            s.store(&mut oc[3 * l..], e[3]);
        }
        let mut xs = xs4.remainder().chunks_exact(l);
        let mut os = os4.into_remainder().chunks_exact_mut(l);
        for (xc, oc) in (&mut xs).zip(&mut os) {
            s.store(oc, exp(s, s.load(xc)));
        }
        let (xt, ot) = (xs.remainder(), os.into_remainder());
        if !xt.is_empty() {
            store_tail(s, ot, exp(s, load_tail(s, xt, 0.0)));
        }
    }
}

/// e^x for every element of `x` into `out`, on the active path ([`Isa::active`]).
pub fn exp_f32(x: &[f32], out: &mut [f32]) -> Result<(), ExpError> {
    exp_f32_on(Isa::active(), x, out)
}

/// e^x for every element of `x` into `out`, on the path `isa` (for tests and the
/// exhaustive check, which measure every path).
pub fn exp_f32_on(isa: Isa, x: &[f32], out: &mut [f32]) -> Result<(), ExpError> {
    if x.len() != out.len() {
        return Err(ExpError::Length {
            input: x.len(),
            output: out.len(),
        });
    }
    if !isa.is_available() {
        return Err(ExpError::Unavailable(isa));
    }
    run(isa, ExpJob { x, out });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use softmax_lab_core::measure::ulp_error;
    use softmax_lab_core::{DType, Dd, Xd};

    fn check_sampled(isa: Isa) -> f64 {
        let mut r = ChaCha8Rng::seed_from_u64(0xe4_9f32);
        let mut x: Vec<f32> = (0..1_000_000)
            .map(|_| r.gen_range(-104.0f32..89.0))
            .collect();
        // The edges: overflow, the subnormal range, underflow to zero.
        x.extend([
            88.722_83, 88.722_84, 89.0, 100.0, -87.33, -87.34, -100.0, -103.9, -103.98, -104.0,
            -150.0, 0.0, -0.0, 1e-30, -1e-30,
        ]);
        let mut y = vec![0.0; x.len()];
        exp_f32_on(isa, &x, &mut y).unwrap_or_else(|e| panic!("{e}"));
        let mut worst = (0.0f64, 0.0f32);
        for (&xi, &yi) in x.iter().zip(&y) {
            let e = ulp_error(DType::F32, yi as f64, Xd::exp(Dd::from_f64(xi as f64)));
            if e > worst.0 {
                worst = (e, xi);
            }
        }
        worst.0
    }

    fn exp_one(isa: Isa, x: f32) -> f32 {
        let mut y = [0.0];
        exp_f32_on(isa, &[x], &mut y).unwrap_or_else(|e| panic!("{e}"));
        y[0]
    }

    /// A million seeded inputs over the whole range, on every path that runs here,
    /// against the double-double reference: within 1 ulp (the exhaustive check
    /// measures the exact maximum).
    #[test]
    fn exp_is_within_one_ulp_on_sampled_inputs() {
        for isa in Isa::ALL.into_iter().filter(|i| i.is_available()) {
            let worst = check_sampled(isa);
            eprintln!("exp {isa}: worst {worst:.4} ulp on 1M sampled inputs");
            assert!(worst <= 1.0, "{isa}: {worst} ulp");
        }
    }

    #[test]
    fn exp_special_values_are_exact() {
        for isa in Isa::ALL.into_iter().filter(|i| i.is_available()) {
            assert_eq!(exp_one(isa, 0.0), 1.0);
            assert_eq!(exp_one(isa, f32::NEG_INFINITY), 0.0);
            assert_eq!(exp_one(isa, -104.0), 0.0);
            assert_eq!(exp_one(isa, f32::MIN), 0.0);
            assert_eq!(exp_one(isa, f32::INFINITY), f32::INFINITY);
            assert_eq!(exp_one(isa, 89.0), f32::INFINITY);
            assert_eq!(exp_one(isa, f32::MAX), f32::INFINITY);
            assert!(exp_one(isa, f32::NAN).is_nan());
            // The largest finite result and the smallest subnormal one.
            let top = 88.722_83f32;
            assert_eq!(exp_one(isa, top), (top as f64).exp() as f32);
            assert!(exp_one(isa, top).is_finite());
            assert_eq!(exp_one(isa, -103.9), f32::from_bits(1));
            assert_eq!(exp_one(isa, 1.0), std::f32::consts::E);
        }
        assert!(matches!(
            exp_f32(&[1.0], &mut []),
            Err(ExpError::Length {
                input: 1,
                output: 0
            })
        ));
    }

    /// The fast form agrees with the general one bit for bit on its whole range
    /// (every 29th pattern of [−87, 87], 7.7·10^7 inputs per path), and the
    /// four-vector forms agree with the one-vector forms everywhere (those
    /// patterns plus the whole f32 range). The paths run on threads of their
    /// own. (Every 7th pattern, one path after the other, took three minutes,
    /// most of the workspace's test time; the exhaustive example measures every
    /// input anyway.)
    #[test]
    fn exp_fast_equals_exp_on_its_range() {
        use crate::simd::{Portable, Simd};
        fn check<S: Simd>(s: S) -> usize {
            let l = S::LANES;
            let mut buf = vec![0.0f32; 4 * l];
            let (mut fast, mut fast4) = (vec![0.0f32; 4 * l], vec![0.0f32; 4 * l]);
            let (mut gen, mut gen4) = (vec![0.0f32; 4 * l], vec![0.0f32; 4 * l]);
            let mut checked = 0;
            let mut run = |buf: &[f32], in_fast_range: bool| {
                let v: F4<S> = std::array::from_fn(|i| s.load(&buf[i * l..(i + 1) * l]));
                let (f4, g4) = (exp_fast4(s, v), exp4(s, v));
                for i in 0..4 {
                    let c = i * l..(i + 1) * l;
                    s.store(&mut fast[c.clone()], exp_fast(s, v[i]));
                    s.store(&mut fast4[c.clone()], f4[i]);
                    s.store(&mut gen[c.clone()], exp(s, v[i]));
                    s.store(&mut gen4[c], g4[i]);
                }
                for j in 0..4 * l {
                    let x = buf[j];
                    assert_eq!(gen[j].to_bits(), gen4[j].to_bits(), "exp4 at {x}");
                    if in_fast_range {
                        assert_eq!(fast[j].to_bits(), gen[j].to_bits(), "exp_fast at {x}");
                        assert_eq!(fast4[j].to_bits(), fast[j].to_bits(), "exp_fast4 at {x}");
                    }
                }
                4 * l
            };
            for (start, end) in [(-0.0f32, FAST_LO), (0.0, -FAST_LO)] {
                let (mut b, e) = (start.to_bits(), end.to_bits());
                while b <= e {
                    for v in buf.iter_mut() {
                        *v = f32::from_bits(b.min(e));
                        b += 29;
                    }
                    checked += run(&buf, true);
                }
            }
            // The general forms over every 4097th pattern (NaN, inf, subnormal).
            let mut b = 0u64;
            while b < 1 << 32 {
                for v in buf.iter_mut() {
                    *v = f32::from_bits(b.min(u32::MAX as u64) as u32);
                    b += 4097;
                }
                run(&buf, false);
            }
            checked
        }
        std::thread::scope(|scope| {
            let portable = scope.spawn(|| check(Portable));
            #[cfg(target_arch = "x86_64")]
            {
                struct Job;
                impl WithSimd for Job {
                    type Output = usize;
                    #[inline(always)]
                    fn with_simd<S: Simd>(self, s: S) -> usize {
                        check(s)
                    }
                }
                let paths: Vec<_> = [Isa::Avx512, Isa::Avx2Fma]
                    .into_iter()
                    .filter(|isa| {
                        let here = isa.is_available();
                        if !here {
                            eprintln!("skipped {isa}: not available on this CPU");
                        }
                        here
                    })
                    .map(|isa| (isa, scope.spawn(move || run(isa, Job))))
                    .collect();
                for (isa, h) in paths {
                    let checked = h.join().unwrap_or_else(|_| panic!("{isa} failed"));
                    assert!(checked > 2_000_000, "{isa}: {checked}");
                }
            }
            let checked = portable
                .join()
                .unwrap_or_else(|_| panic!("portable failed"));
            assert!(checked > 2_000_000, "portable: {checked}");
        });
    }

    #[test]
    fn exp_ext_matches_exp_where_both_apply() {
        use crate::simd::Portable;
        let s = Portable;
        let xs = [-80.0f32, -3.5, 0.0, 0.25, 10.0, 60.0, 88.0, -0.3];
        let (p, k) = exp_ext(s, xs);
        for i in 0..8 {
            let v = p[i] as f64 * 2f64.powi(k[i] as i32);
            let want = (xs[i] as f64).exp();
            assert!((v / want - 1.0).abs() < 3e-7, "{}: {v} vs {want}", xs[i]);
            assert!((0.7..1.42).contains(&p[i]));
        }
        let (p4, k4) = exp_ext4(s, [xs; 4]);
        for i in 0..4 {
            assert_eq!((p4[i], k4[i]), (p, k));
        }
        // Far outside f32's range of e^x, the reduction stays exact.
        let (p, k) = exp_ext(s, [16_000.0; 8]);
        let ln = (p[0] as f64).ln() + k[0] as f64 * std::f64::consts::LN_2;
        assert!((ln - 16_000.0).abs() < 1e-6, "{ln}");
    }
}
