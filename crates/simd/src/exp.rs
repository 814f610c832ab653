//! The vectorised f32 exponential every kernel is built on.
//!
//! Method: x = k·ln2 + r with k = round(x·log2 e) (the 1.5·2^23 shifter trick, so
//! k also appears as an integer in the low bits), r by a Cody–Waite split of ln2
//! (k·C1 is exact: C1 has 9 significant bits; the second step rounds once), then
//! e^r by a degree-7 polynomial (coefficients of SLEEF's `expf_u10`, relative
//! approximation error 1.7e-9 = 0.03 u on |r| <= 0.36) evaluated as
//! 1 + (r + r²·q(r)), and the scale 2^k applied as two exact powers of two
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
    let u = s.mul_add(s.splat(P0), r, s.splat(P1));
    let u = s.mul_add(u, r, s.splat(P2));
    let u = s.mul_add(u, r, s.splat(P3));
    let u = s.mul_add(u, r, s.splat(P4));
    let u = s.mul_add(u, r, s.splat(P5));
    let r2 = s.mul(r, r);
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

/// Arguments at least this large (and <= 0) may use [`exp_fast`]: k >= −126, so
/// 2^k is a normal number and one scaling rounds once.
pub(crate) const FAST_LO: f32 = -87.0;

/// e^x per lane for x in [[`FAST_LO`], 0] only: no clamping, one scaling. Equal
/// bit for bit to [`exp`] there (both scale exactly and round once).
#[inline(always)]
pub(crate) fn exp_fast<S: Simd>(s: S, x: S::F) -> S::F {
    let sh = s.splat(SHIFTER);
    let z = s.mul_add(x, s.splat(LOG2E), sh);
    let k = s.sub(z, sh);
    let r = s.mul_add(k, s.splat(-C1), x);
    let r = s.mul_add(k, s.splat(-C2), r);
    // The low bits of z hold k (the shifter's own bits leave the word when
    // shifted by 23); adding the bits of 1.0 biases the exponent.
    let two_k = s.iadd(s.ishl23(s.to_bits(z)), s.isplat(0x3f80_0000));
    s.mul(poly(s, r), s.bits_as_f(two_k))
}

/// [`exp_fast`] when `FAST` (the caller has checked the range), else [`exp`].
#[inline(always)]
pub(crate) fn exp_in<S: Simd, const FAST: bool>(s: S, x: S::F) -> S::F {
    if FAST {
        exp_fast(s, x)
    } else {
        exp(s, x)
    }
}

/// e^x = p·2^k for |x| <= [`EXT_LIMIT`]: returns (p, k) with p in [0.7, 1.42] and
/// k an integer-valued f32.
#[inline(always)]
pub(crate) fn exp_ext<S: Simd>(s: S, x: S::F) -> (S::F, S::F) {
    let sh = s.splat(SHIFTER);
    let k = s.sub(s.mul_add(x, s.splat(LOG2E), sh), sh);
    let r = s.mul_add(k, s.splat(-C1), x);
    let r = s.mul_add(k, s.splat(-E2), r);
    let r = s.mul_add(k, s.splat(-E3), r);
    (poly(s, r), k)
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
        let mut xs = self.x.chunks_exact(l);
        let mut os = self.out.chunks_exact_mut(l);
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

    /// The fast form agrees with the general one bit for bit on its whole range.
    #[test]
    fn exp_fast_equals_exp_on_its_range() {
        use crate::simd::{Portable, Simd};
        fn check<S: Simd>(s: S) -> usize {
            let l = S::LANES;
            let mut b = (-0.0f32).to_bits();
            let end = FAST_LO.to_bits();
            let mut buf = vec![0.0f32; l];
            let (mut got, mut want) = (vec![0.0f32; l], vec![0.0f32; l]);
            let mut checked = 0;
            // Every 7th pattern from -0 down to FAST_LO.
            while b <= end {
                for v in buf.iter_mut() {
                    *v = f32::from_bits(b.min(end));
                    b += 7;
                }
                s.store(&mut got, exp_fast(s, s.load(&buf)));
                s.store(&mut want, exp(s, s.load(&buf)));
                for i in 0..l {
                    assert_eq!(got[i].to_bits(), want[i].to_bits(), "{}", buf[i]);
                }
                checked += l;
            }
            checked
        }
        assert!(check(Portable) > 1_000_000);
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
            if Isa::Avx2Fma.is_available() {
                assert!(run(Isa::Avx2Fma, Job) > 1_000_000);
            }
        }
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
        // Far outside f32's range of e^x, the reduction stays exact.
        let (p, k) = exp_ext(s, [16_000.0; 8]);
        let ln = (p[0] as f64).ln() + k[0] as f64 * std::f64::consts::LN_2;
        assert!((ln - 16_000.0).abs() < 1e-6, "{ln}");
    }
}
