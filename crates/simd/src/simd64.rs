//! The f64 lanes of the instruction-set layer: [`SimdF64`], four f64 lanes and
//! the operations `stable_wide`'s f64 exponential needs (crate `stable`, module
//! `wide`), implemented by the same path tokens as [`Simd`](crate::simd::Simd)
//! and reached from one through [`Simd::f64x4`](crate::simd::Simd::f64x4). A
//! kernel written against it runs on the path that [`run`](crate::dispatch::run)
//! picks, inside that path's `#[target_feature]` entry point.
//!
//! Every method is `#[inline(always)]`, for the reason given in `simd.rs`. The
//! portable lanes use separate multiplies and adds (a software `fma` call per
//! operation would cost more than the whole kernel), so the two paths may differ
//! in the last bit of a result that uses `mul_add`.

use crate::simd::Portable;

/// Four f64 lanes and their operations; a value of an implementing type is the
/// proof that its instructions can run.
pub trait SimdF64: Copy {
    /// One vector of 4 lanes.
    type V: Copy;
    /// Every lane set to `v`.
    fn splat(self, v: f64) -> Self::V;
    /// The lanes from an array.
    fn pack(self, a: [f64; 4]) -> Self::V;
    /// The lanes as an array.
    fn unpack(self, v: Self::V) -> [f64; 4];
    /// a + b.
    fn add(self, a: Self::V, b: Self::V) -> Self::V;
    /// a − b.
    fn sub(self, a: Self::V, b: Self::V) -> Self::V;
    /// a · b.
    fn mul(self, a: Self::V, b: Self::V) -> Self::V;
    /// a / b.
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

    /// Lanes 0..4 of `s` (at least 4 elements).
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

/// Apply `f` lane by lane.
#[inline(always)]
fn zip4(a: [f64; 4], b: [f64; 4], f: impl Fn(f64, f64) -> f64) -> [f64; 4] {
    [f(a[0], b[0]), f(a[1], b[1]), f(a[2], b[2]), f(a[3], b[3])]
}

/// The portable lanes: plain arrays; LLVM keeps them in SSE2 registers on x86_64.
impl SimdF64 for Portable {
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
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! The AVX2 + FMA f64 lanes, on the token of `crate::avx2` (a value of
    //! [`Avx2`] exists only inside that module's `#[target_feature]` entry point,
    //! called only after the features were detected). Every `unsafe` block below
    //! calls an intrinsic of those features on registers or on a local array.

    use std::arch::x86_64::*;

    use super::SimdF64;
    use crate::avx2::Avx2;

    impl SimdF64 for Avx2 {
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
    }
}
