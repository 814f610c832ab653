//! The AVX2 + FMA + F16C path (x86_64 only): [`Avx2`], whose methods are single
//! intrinsics, and [`run`], the `#[target_feature]` entry point the kernels are
//! inlined into.
//!
//! Soundness rests on one fact: a value of [`Avx2`] exists only inside
//! `run_with_features`, which `run` calls only after detecting all three features.
//! Every `unsafe` block below calls an intrinsic of those features, or reads or
//! writes through a pointer into a slice already checked to hold a full vector.

use std::arch::x86_64::*;

use half::{bf16, f16};

use crate::dispatch::WithSimd;
use crate::simd::{Portable, Simd};

/// The AVX2 + FMA + F16C instruction set; holding a value proves it is available.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Avx2 {
    _private: (),
}

/// True when this CPU has AVX2, FMA and F16C (cached by the standard library).
pub(crate) fn detected() -> bool {
    is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("fma")
        && is_x86_feature_detected!("f16c")
}

/// Run `w` on the AVX2 path if this CPU has it, else on the portable path.
#[inline]
pub(crate) fn run<W: WithSimd>(w: W) -> W::Output {
    if detected() {
        // SAFETY: the three features `run_with_features` enables were just detected.
        unsafe { run_with_features(w) }
    } else {
        w.with_simd(Portable)
    }
}

impl Avx2 {
    /// The token without a check, for a path that implies this one (AVX-512's
    /// f64 lanes).
    ///
    /// # Safety
    /// AVX2, FMA and F16C must have been detected on this CPU.
    #[inline(always)]
    pub(crate) unsafe fn assume_detected() -> Avx2 {
        Avx2 { _private: () }
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
fn run_with_features<W: WithSimd>(w: W) -> W::Output {
    w.with_simd(Avx2 { _private: () })
}

impl Simd for Avx2 {
    const LANES: usize = 8;
    type F = __m256;
    type I = __m256i;
    type D = Avx2;

    #[inline(always)]
    fn f64x4(self) -> Avx2 {
        self
    }

    #[inline(always)]
    fn splat(self, v: f32) -> __m256 {
        // SAFETY (every block in this impl): `self` proves AVX2, FMA and F16C (see
        // the module docs); pointers come from slices of at least one vector.
        unsafe { _mm256_set1_ps(v) }
    }
    #[inline(always)]
    fn load(self, s: &[f32]) -> __m256 {
        let s = &s[..8];
        // SAFETY: see `splat`; `s` holds 8 f32.
        unsafe { _mm256_loadu_ps(s.as_ptr()) }
    }
    #[inline(always)]
    fn store(self, d: &mut [f32], v: __m256) {
        let d = &mut d[..8];
        // SAFETY: see `splat`; `d` holds 8 f32.
        unsafe { _mm256_storeu_ps(d.as_mut_ptr(), v) }
    }
    #[inline(always)]
    fn load_f16(self, s: &[f16]) -> __m256 {
        let s = &s[..8];
        // SAFETY: see `splat`; `s` holds 8 f16 = 16 bytes, read unaligned.
        unsafe { _mm256_cvtph_ps(_mm_loadu_si128(s.as_ptr().cast())) }
    }
    #[inline(always)]
    fn store_f16(self, d: &mut [f16], v: __m256) {
        let d = &mut d[..8];
        // SAFETY: see `splat`; `d` holds 8 f16 = 16 bytes, written unaligned.
        unsafe {
            let h = _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(v);
            _mm_storeu_si128(d.as_mut_ptr().cast(), h)
        }
    }
    #[inline(always)]
    fn load_bf16(self, s: &[bf16]) -> __m256 {
        let s = &s[..8];
        // SAFETY: see `splat`; `s` holds 8 bf16 = 16 bytes, read unaligned.
        unsafe {
            let h = _mm256_cvtepu16_epi32(_mm_loadu_si128(s.as_ptr().cast()));
            // NaN is quieted on the way in, as `half` does.
            let nan = _mm256_cmpgt_epi32(
                _mm256_and_si256(h, _mm256_set1_epi32(0x7fff)),
                _mm256_set1_epi32(0x7f80),
            );
            let h = _mm256_or_si256(h, _mm256_and_si256(nan, _mm256_set1_epi32(0x40)));
            _mm256_castsi256_ps(_mm256_slli_epi32::<16>(h))
        }
    }
    #[inline(always)]
    fn store_bf16(self, d: &mut [bf16], v: __m256) {
        let d = &mut d[..8];
        // SAFETY: see `splat`; `d` holds 8 bf16 = 16 bytes, written unaligned.
        unsafe {
            let b = _mm256_castps_si256(v);
            let hi = _mm256_srli_epi32::<16>(b);
            // Round to nearest, ties to even: add 0x7fff plus the kept lsb.
            let bias = _mm256_add_epi32(
                _mm256_set1_epi32(0x7fff),
                _mm256_and_si256(hi, _mm256_set1_epi32(1)),
            );
            let rounded = _mm256_srli_epi32::<16>(_mm256_add_epi32(b, bias));
            let nan = _mm256_cmpgt_epi32(
                _mm256_and_si256(b, _mm256_set1_epi32(0x7fff_ffff)),
                _mm256_set1_epi32(0x7f80_0000),
            );
            let quiet = _mm256_or_si256(hi, _mm256_set1_epi32(0x40));
            let r = _mm256_blendv_epi8(rounded, quiet, nan);
            // Every lane is <= 0xffff, so the saturating pack is exact.
            let packed =
                _mm_packus_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256::<1>(r));
            _mm_storeu_si128(d.as_mut_ptr().cast(), packed)
        }
    }

    #[inline(always)]
    fn add(self, a: __m256, b: __m256) -> __m256 {
        // SAFETY: see `splat`.
        unsafe { _mm256_add_ps(a, b) }
    }
    #[inline(always)]
    fn sub(self, a: __m256, b: __m256) -> __m256 {
        // SAFETY: see `splat`.
        unsafe { _mm256_sub_ps(a, b) }
    }
    #[inline(always)]
    fn mul(self, a: __m256, b: __m256) -> __m256 {
        // SAFETY: see `splat`.
        unsafe { _mm256_mul_ps(a, b) }
    }
    #[inline(always)]
    fn div(self, a: __m256, b: __m256) -> __m256 {
        // SAFETY: see `splat`.
        unsafe { _mm256_div_ps(a, b) }
    }
    #[inline(always)]
    fn mul_add(self, a: __m256, b: __m256, c: __m256) -> __m256 {
        // SAFETY: see `splat`.
        unsafe { _mm256_fmadd_ps(a, b, c) }
    }
    #[inline(always)]
    fn max(self, a: __m256, b: __m256) -> __m256 {
        // SAFETY: see `splat`.
        unsafe { _mm256_max_ps(a, b) }
    }
    #[inline(always)]
    fn min(self, a: __m256, b: __m256) -> __m256 {
        // SAFETY: see `splat`.
        unsafe { _mm256_min_ps(a, b) }
    }
    #[inline(always)]
    fn abs(self, a: __m256) -> __m256 {
        // SAFETY: see `splat`.
        unsafe { _mm256_and_ps(a, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fff_ffff))) }
    }
    #[inline(always)]
    fn eq(self, a: __m256, b: __m256) -> __m256 {
        // SAFETY: see `splat`.
        unsafe { _mm256_cmp_ps::<_CMP_EQ_OQ>(a, b) }
    }
    #[inline(always)]
    fn le(self, a: __m256, b: __m256) -> __m256 {
        // SAFETY: see `splat`.
        unsafe { _mm256_cmp_ps::<_CMP_LE_OQ>(a, b) }
    }
    #[inline(always)]
    fn gt(self, a: __m256, b: __m256) -> __m256 {
        // SAFETY: see `splat`.
        unsafe { _mm256_cmp_ps::<_CMP_GT_OQ>(a, b) }
    }
    #[inline(always)]
    fn is_nan(self, a: __m256) -> __m256 {
        // SAFETY: see `splat`.
        unsafe { _mm256_cmp_ps::<_CMP_UNORD_Q>(a, a) }
    }
    #[inline(always)]
    fn select_sign(self, x: __m256, a: __m256, b: __m256) -> __m256 {
        // SAFETY: see `splat`.
        unsafe { _mm256_blendv_ps(b, a, x) }
    }
    #[inline(always)]
    fn or(self, a: __m256, b: __m256) -> __m256 {
        // SAFETY: see `splat`.
        unsafe { _mm256_or_ps(a, b) }
    }
    #[inline(always)]
    fn and_not(self, m: __m256, a: __m256) -> __m256 {
        // SAFETY: see `splat`.
        unsafe { _mm256_andnot_ps(m, a) }
    }
    #[inline(always)]
    fn any(self, m: __m256) -> bool {
        // SAFETY: see `splat`.
        unsafe { _mm256_movemask_ps(m) != 0 }
    }
    #[inline(always)]
    fn any_sign(self, a: __m256) -> bool {
        // SAFETY: see `splat`.
        unsafe { _mm256_movemask_ps(a) != 0 }
    }
    #[inline(always)]
    fn first_set(self, m: __m256) -> Option<usize> {
        // SAFETY: see `splat`.
        let bits = unsafe { _mm256_movemask_ps(m) };
        (bits != 0).then(|| bits.trailing_zeros() as usize)
    }
    #[inline(always)]
    fn reduce_add(self, a: __m256) -> f32 {
        // SAFETY: see `splat`. The same tree as the portable path.
        unsafe {
            let h = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps::<1>(a));
            let q = _mm_add_ps(h, _mm_movehl_ps(h, h));
            _mm_cvtss_f32(_mm_add_ss(q, _mm_shuffle_ps::<1>(q, q)))
        }
    }
    #[inline(always)]
    fn reduce_max(self, a: __m256) -> f32 {
        // SAFETY: see `splat`. The same tree as the portable path.
        unsafe {
            let h = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps::<1>(a));
            let q = _mm_max_ps(h, _mm_movehl_ps(h, h));
            _mm_cvtss_f32(_mm_max_ss(q, _mm_shuffle_ps::<1>(q, q)))
        }
    }

    #[inline(always)]
    fn to_bits(self, a: __m256) -> __m256i {
        // SAFETY: see `splat`.
        unsafe { _mm256_castps_si256(a) }
    }
    #[inline(always)]
    fn bits_as_f(self, a: __m256i) -> __m256 {
        // SAFETY: see `splat`.
        unsafe { _mm256_castsi256_ps(a) }
    }
    #[inline(always)]
    fn isplat(self, v: i32) -> __m256i {
        // SAFETY: see `splat`.
        unsafe { _mm256_set1_epi32(v) }
    }
    #[inline(always)]
    fn iadd(self, a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: see `splat`.
        unsafe { _mm256_add_epi32(a, b) }
    }
    #[inline(always)]
    fn isub(self, a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: see `splat`.
        unsafe { _mm256_sub_epi32(a, b) }
    }
    #[inline(always)]
    fn ishr1(self, a: __m256i) -> __m256i {
        // SAFETY: see `splat`.
        unsafe { _mm256_srai_epi32::<1>(a) }
    }
    #[inline(always)]
    fn ishl23(self, a: __m256i) -> __m256i {
        // SAFETY: see `splat`.
        unsafe { _mm256_slli_epi32::<23>(a) }
    }
}

/// `copy::copy_bytes` on AVX2: blocks of four 32-byte unaligned loads and stores.
/// The caller has checked that the lengths are equal and that this path is active.
pub(crate) fn copy_bytes(src: &[u8], dst: &mut [u8]) {
    if detected() {
        // SAFETY: AVX2 was just detected.
        unsafe { copy_bytes_avx2(src, dst) }
    } else {
        dst.copy_from_slice(src);
    }
}

#[target_feature(enable = "avx2")]
fn copy_bytes_avx2(src: &[u8], dst: &mut [u8]) {
    use crate::copy::{block_fence, AVX2_BLOCK};
    let mut s = src.chunks_exact(AVX2_BLOCK);
    let mut d = dst.chunks_exact_mut(AVX2_BLOCK);
    for (sc, dc) in (&mut s).zip(&mut d) {
        let (sp, dp) = (
            sc.as_ptr().cast::<__m256i>(),
            dc.as_mut_ptr().cast::<__m256i>(),
        );
        // SAFETY: AVX2 is enabled on this function; both chunks hold exactly
        // AVX2_BLOCK = 4 × 32 bytes, read and written unaligned.
        unsafe {
            let v0 = _mm256_loadu_si256(sp);
            let v1 = _mm256_loadu_si256(sp.add(1));
            let v2 = _mm256_loadu_si256(sp.add(2));
            let v3 = _mm256_loadu_si256(sp.add(3));
            _mm256_storeu_si256(dp, v0);
            _mm256_storeu_si256(dp.add(1), v1);
            _mm256_storeu_si256(dp.add(2), v2);
            _mm256_storeu_si256(dp.add(3), v3);
        }
        block_fence();
    }
    d.into_remainder().copy_from_slice(s.remainder());
}
