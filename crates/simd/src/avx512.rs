//! The AVX-512 path (x86_64 only; F, BW, DQ and VL): [`Avx512`], 16 f32 lanes
//! whose methods are single intrinsics or short fixed sequences, and [`run`],
//! the `#[target_feature]` entry points the kernels are inlined into.
//!
//! Every method computes per lane exactly what the AVX2 path computes (the same
//! IEEE operations, `vmaxps`/`vminps` with the same NaN rule, `vcvtps2ph` with
//! the same rounding), so exp and sigmoid's backward are bit for bit the AVX2
//! ones; sigmoid's forward chooses its formula per block of four vectors (64
//! entries instead of 32), so it may differ by an ulp; sums differ only in their
//! order (16 lanes per vector instead of 8).
//! Masks stay f32 vectors of all-ones lanes (the `Simd` trait's convention); a
//! comparison's `k` mask is widened with `vpmovm2d`, which costs one µop on the
//! few paths (block checks, NaN checks) that use them.
//!
//! bf16: with AVX512_BF16, `vcvtneps2bf16` rounds to nearest even and quiets NaN
//! exactly as `half` does, but it treats subnormal inputs as zero (measured over
//! every 37th f32 pattern: 0 NaN and 0 normal mismatches, every nonzero
//! subnormal flushed). So a vector with a subnormal lane takes the integer
//! shift-and-round of the AVX2 path instead; vectors without one take the single
//! instruction. `stable_simd` rows whose every output is known to be a normal
//! f32 (`kernels::normal_outputs`: a range below ln n − 85) skip the check
//! (`store_bf16_normal`), and bf16 entries that only enter arithmetic (the max
//! and exp passes) are widened without quieting NaN (`load_bf16_arith`: two
//! instructions instead of five; the first operation quiets a signalling NaN).
//!
//! Soundness rests on one fact: a value of [`Avx512`] exists only inside the
//! `run_*` functions, which `run` calls only after detecting their features.

use std::arch::x86_64::*;

use half::{bf16, f16};

use crate::avx2::Avx2;
use crate::dispatch::WithSimd;
use crate::simd::{Portable, Simd};

/// The AVX-512 F/BW/DQ/VL instruction set (with AVX512_BF16's conversion when
/// `BF16`); holding a value proves it is available.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Avx512<const BF16: bool> {
    _private: (),
}

/// True when this CPU has AVX-512 F, BW, DQ and VL, and the AVX2, FMA and F16C
/// that the f64 lanes (`crate::simd64`, through the AVX2 token) and the f16
/// conversions use (cached by the standard library).
pub(crate) fn detected() -> bool {
    is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512bw")
        && is_x86_feature_detected!("avx512dq")
        && is_x86_feature_detected!("avx512vl")
        && crate::avx2::detected()
}

/// True when this CPU also has AVX512_BF16.
pub(crate) fn bf16_detected() -> bool {
    detected() && is_x86_feature_detected!("avx512bf16")
}

/// Run `w` on the AVX-512 path if this CPU has it, else on the portable path.
///
/// Only computations that store bf16 ([`WithSimd::WRITES_BF16`]) are compiled
/// twice (with and without AVX512_BF16's conversion): the condition is a
/// constant of `W`, so for every other computation only `run_plain` is
/// instantiated — a second copy of every kernel would double this path's share
/// of the crate's compile time for a conversion that only bf16 outputs use.
#[inline]
pub(crate) fn run<W: WithSimd>(w: W) -> W::Output {
    if !detected() {
        return w.with_simd(Portable);
    }
    // `W::WRITES_BF16` first: a constant false ends the condition before the
    // call to `run_bf16`, which is then never instantiated for `W`.
    if W::WRITES_BF16 && bf16_detected() {
        // SAFETY: every feature `run_bf16` enables was just detected.
        return unsafe { run_bf16(w) };
    }
    // SAFETY: every feature `run_plain` enables was just detected.
    unsafe { run_plain(w) }
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c")]
fn run_plain<W: WithSimd>(w: W) -> W::Output {
    w.with_simd(Avx512::<false> { _private: () })
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx512bf16,avx2,fma,f16c")]
fn run_bf16<W: WithSimd>(w: W) -> W::Output {
    w.with_simd(Avx512::<true> { _private: () })
}

/// A `k` mask as an f32 vector of all-ones / all-zeros lanes.
#[inline(always)]
fn widen(m: __mmask16) -> __m512 {
    // SAFETY: only reached from `Avx512` methods (see the module docs).
    unsafe { _mm512_castsi512_ps(_mm512_movm_epi32(m)) }
}

/// f32 lanes → bf16 bits by the integer shift-and-round (`half`'s rule on every
/// input, subnormals included), as 16 u16 lanes.
#[inline(always)]
fn bf16_shift_round(v: __m512) -> __m256i {
    // SAFETY: only reached from `Avx512` methods (see the module docs).
    unsafe {
        let b = _mm512_castps_si512(v);
        let hi = _mm512_srli_epi32::<16>(b);
        // Round to nearest, ties to even: add 0x7fff plus the kept lsb.
        let bias = _mm512_add_epi32(
            _mm512_set1_epi32(0x7fff),
            _mm512_and_si512(hi, _mm512_set1_epi32(1)),
        );
        let rounded = _mm512_srli_epi32::<16>(_mm512_add_epi32(b, bias));
        let nan = _mm512_cmpgt_epi32_mask(
            _mm512_and_si512(b, _mm512_set1_epi32(0x7fff_ffff)),
            _mm512_set1_epi32(0x7f80_0000),
        );
        let quiet = _mm512_or_si512(hi, _mm512_set1_epi32(0x40));
        let r = _mm512_mask_blend_epi32(nan, rounded, quiet);
        // Every lane is <= 0xffff: the truncating narrow is exact.
        _mm512_cvtepi32_epi16(r)
    }
}

impl<const BF16: bool> Simd for Avx512<BF16> {
    const LANES: usize = 16;
    type F = __m512;
    type I = __m512i;
    type D = Avx2;

    #[inline(always)]
    fn f64x4(self) -> Avx2 {
        // SAFETY: `self` proves AVX-512 and `detected` checked AVX2, FMA and F16C
        // before any `Avx512` value was made.
        unsafe { Avx2::assume_detected() }
    }

    #[inline(always)]
    fn splat(self, v: f32) -> __m512 {
        // SAFETY (every block in this impl): `self` proves AVX-512 F/BW/DQ/VL (and
        // BF16 when `BF16`; see the module docs); pointers come from slices of at
        // least one vector.
        unsafe { _mm512_set1_ps(v) }
    }
    #[inline(always)]
    fn load(self, s: &[f32]) -> __m512 {
        let s = &s[..16];
        // SAFETY: see `splat`; `s` holds 16 f32.
        unsafe { _mm512_loadu_ps(s.as_ptr()) }
    }
    #[inline(always)]
    fn store(self, d: &mut [f32], v: __m512) {
        let d = &mut d[..16];
        // SAFETY: see `splat`; `d` holds 16 f32.
        unsafe { _mm512_storeu_ps(d.as_mut_ptr(), v) }
    }
    #[inline(always)]
    fn load_f16(self, s: &[f16]) -> __m512 {
        let s = &s[..16];
        // SAFETY: see `splat`; `s` holds 16 f16 = 32 bytes, read unaligned.
        unsafe { _mm512_cvtph_ps(_mm256_loadu_si256(s.as_ptr().cast())) }
    }
    #[inline(always)]
    fn store_f16(self, d: &mut [f16], v: __m512) {
        let d = &mut d[..16];
        // SAFETY: see `splat`; `d` holds 16 f16 = 32 bytes, written unaligned.
        unsafe {
            let h = _mm512_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(v);
            _mm256_storeu_si256(d.as_mut_ptr().cast(), h)
        }
    }
    #[inline(always)]
    fn load_bf16(self, s: &[bf16]) -> __m512 {
        let s = &s[..16];
        // SAFETY: see `splat`; `s` holds 16 bf16 = 32 bytes, read unaligned.
        unsafe {
            let h = _mm512_cvtepu16_epi32(_mm256_loadu_si256(s.as_ptr().cast()));
            // NaN is quieted on the way in, as `half` does.
            let nan = _mm512_cmpgt_epi32_mask(
                _mm512_and_si512(h, _mm512_set1_epi32(0x7fff)),
                _mm512_set1_epi32(0x7f80),
            );
            let h = _mm512_mask_or_epi32(h, nan, h, _mm512_set1_epi32(0x40));
            _mm512_castsi512_ps(_mm512_slli_epi32::<16>(h))
        }
    }
    #[inline(always)]
    fn load_bf16_arith(self, s: &[bf16]) -> __m512 {
        let s = &s[..16];
        // SAFETY: see `splat`; `s` holds 16 bf16 = 32 bytes, read unaligned.
        // A signalling NaN stays signalling: the caller's arithmetic quiets it.
        unsafe {
            let h = _mm512_cvtepu16_epi32(_mm256_loadu_si256(s.as_ptr().cast()));
            _mm512_castsi512_ps(_mm512_slli_epi32::<16>(h))
        }
    }
    #[inline(always)]
    fn store_bf16_normal(self, d: &mut [bf16], v: __m512) {
        let d = &mut d[..16];
        // SAFETY: see `splat`; `d` holds 16 bf16 = 32 bytes, written unaligned.
        // With BF16, `self` proves AVX512_BF16; no lane is subnormal (the
        // caller's contract), the one case where the instruction differs.
        unsafe {
            let packed = if BF16 {
                std::mem::transmute::<__m256bh, __m256i>(_mm512_cvtneps_pbh(v))
            } else {
                bf16_shift_round(v)
            };
            _mm256_storeu_si256(d.as_mut_ptr().cast(), packed)
        }
    }
    #[inline(always)]
    fn store_bf16(self, d: &mut [bf16], v: __m512) {
        let d = &mut d[..16];
        // SAFETY: see `splat`; `d` holds 16 bf16 = 32 bytes, written unaligned.
        // With BF16, `self` proves AVX512_BF16.
        unsafe {
            let packed = if BF16 {
                // Subnormal lanes: 0 < |bits| < 0x0080_0000, i.e. |bits| − 1 <
                // 0x007f_ffff unsigned.
                let mag = _mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(0x7fff_ffff));
                let sub = _mm512_cmplt_epu32_mask(
                    _mm512_sub_epi32(mag, _mm512_set1_epi32(1)),
                    _mm512_set1_epi32(0x007f_ffff),
                );
                if sub == 0 {
                    // Same bits as `__m256bh`: 16 bf16 values.
                    std::mem::transmute::<__m256bh, __m256i>(_mm512_cvtneps_pbh(v))
                } else {
                    bf16_shift_round(v)
                }
            } else {
                bf16_shift_round(v)
            };
            _mm256_storeu_si256(d.as_mut_ptr().cast(), packed)
        }
    }

    #[inline(always)]
    fn add(self, a: __m512, b: __m512) -> __m512 {
        // SAFETY: see `splat`.
        unsafe { _mm512_add_ps(a, b) }
    }
    #[inline(always)]
    fn sub(self, a: __m512, b: __m512) -> __m512 {
        // SAFETY: see `splat`.
        unsafe { _mm512_sub_ps(a, b) }
    }
    #[inline(always)]
    fn mul(self, a: __m512, b: __m512) -> __m512 {
        // SAFETY: see `splat`.
        unsafe { _mm512_mul_ps(a, b) }
    }
    #[inline(always)]
    fn div(self, a: __m512, b: __m512) -> __m512 {
        // SAFETY: see `splat`.
        unsafe { _mm512_div_ps(a, b) }
    }
    #[inline(always)]
    fn mul_add(self, a: __m512, b: __m512, c: __m512) -> __m512 {
        // SAFETY: see `splat`.
        unsafe { _mm512_fmadd_ps(a, b, c) }
    }
    #[inline(always)]
    fn add_unless_eq(
        self,
        acc: __m512,
        others: __m512,
        x: __m512,
        m: __m512,
        e: __m512,
    ) -> (__m512, __m512) {
        // SAFETY: see `splat`. One comparison, two masked adds (NaN lanes
        // compare unequal and are added, as the default does).
        unsafe {
            let ne = _mm512_cmp_ps_mask::<_CMP_NEQ_UQ>(x, m);
            (
                _mm512_mask_add_ps(acc, ne, acc, e),
                _mm512_mask_add_ps(others, ne, others, _mm512_set1_ps(1.0)),
            )
        }
    }
    #[inline(always)]
    fn max(self, a: __m512, b: __m512) -> __m512 {
        // SAFETY: see `splat`.
        unsafe { _mm512_max_ps(a, b) }
    }
    #[inline(always)]
    fn min(self, a: __m512, b: __m512) -> __m512 {
        // SAFETY: see `splat`.
        unsafe { _mm512_min_ps(a, b) }
    }
    #[inline(always)]
    fn abs(self, a: __m512) -> __m512 {
        // SAFETY: see `splat`.
        unsafe { _mm512_abs_ps(a) }
    }
    #[inline(always)]
    fn eq(self, a: __m512, b: __m512) -> __m512 {
        // SAFETY: see `splat`.
        widen(unsafe { _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(a, b) })
    }
    #[inline(always)]
    fn le(self, a: __m512, b: __m512) -> __m512 {
        // SAFETY: see `splat`.
        widen(unsafe { _mm512_cmp_ps_mask::<_CMP_LE_OQ>(a, b) })
    }
    #[inline(always)]
    fn gt(self, a: __m512, b: __m512) -> __m512 {
        // SAFETY: see `splat`.
        widen(unsafe { _mm512_cmp_ps_mask::<_CMP_GT_OQ>(a, b) })
    }
    #[inline(always)]
    fn is_nan(self, a: __m512) -> __m512 {
        // SAFETY: see `splat`.
        widen(unsafe { _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(a, a) })
    }
    #[inline(always)]
    fn select_sign(self, x: __m512, a: __m512, b: __m512) -> __m512 {
        // SAFETY: see `splat`.
        unsafe {
            let m = _mm512_movepi32_mask(_mm512_castps_si512(x));
            _mm512_mask_blend_ps(m, b, a)
        }
    }
    #[inline(always)]
    fn or(self, a: __m512, b: __m512) -> __m512 {
        // SAFETY: see `splat`.
        unsafe { _mm512_or_ps(a, b) }
    }
    #[inline(always)]
    fn and_not(self, m: __m512, a: __m512) -> __m512 {
        // SAFETY: see `splat`.
        unsafe { _mm512_andnot_ps(m, a) }
    }
    #[inline(always)]
    fn any(self, m: __m512) -> bool {
        // SAFETY: see `splat`.
        unsafe { _mm512_movepi32_mask(_mm512_castps_si512(m)) != 0 }
    }
    #[inline(always)]
    fn any_sign(self, a: __m512) -> bool {
        // SAFETY: see `splat`.
        unsafe { _mm512_movepi32_mask(_mm512_castps_si512(a)) != 0 }
    }
    #[inline(always)]
    fn first_set(self, m: __m512) -> Option<usize> {
        // SAFETY: see `splat`.
        let bits = unsafe { _mm512_movepi32_mask(_mm512_castps_si512(m)) };
        (bits != 0).then(|| bits.trailing_zeros() as usize)
    }
    #[inline(always)]
    fn reduce_add(self, a: __m512) -> f32 {
        // SAFETY: see `splat`. Halves first, then the AVX2 path's tree.
        unsafe {
            let lo = _mm512_castps512_ps256(a);
            let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(a)));
            let o = _mm256_add_ps(lo, hi);
            let h = _mm_add_ps(_mm256_castps256_ps128(o), _mm256_extractf128_ps::<1>(o));
            let q = _mm_add_ps(h, _mm_movehl_ps(h, h));
            _mm_cvtss_f32(_mm_add_ss(q, _mm_shuffle_ps::<1>(q, q)))
        }
    }
    #[inline(always)]
    fn reduce_max(self, a: __m512) -> f32 {
        // SAFETY: see `splat`. Halves first, then the AVX2 path's tree.
        unsafe {
            let lo = _mm512_castps512_ps256(a);
            let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(a)));
            let o = _mm256_max_ps(lo, hi);
            let h = _mm_max_ps(_mm256_castps256_ps128(o), _mm256_extractf128_ps::<1>(o));
            let q = _mm_max_ps(h, _mm_movehl_ps(h, h));
            _mm_cvtss_f32(_mm_max_ss(q, _mm_shuffle_ps::<1>(q, q)))
        }
    }

    #[inline(always)]
    fn to_bits(self, a: __m512) -> __m512i {
        // SAFETY: see `splat`.
        unsafe { _mm512_castps_si512(a) }
    }
    #[inline(always)]
    fn bits_as_f(self, a: __m512i) -> __m512 {
        // SAFETY: see `splat`.
        unsafe { _mm512_castsi512_ps(a) }
    }
    #[inline(always)]
    fn isplat(self, v: i32) -> __m512i {
        // SAFETY: see `splat`.
        unsafe { _mm512_set1_epi32(v) }
    }
    #[inline(always)]
    fn iadd(self, a: __m512i, b: __m512i) -> __m512i {
        // SAFETY: see `splat`.
        unsafe { _mm512_add_epi32(a, b) }
    }
    #[inline(always)]
    fn isub(self, a: __m512i, b: __m512i) -> __m512i {
        // SAFETY: see `splat`.
        unsafe { _mm512_sub_epi32(a, b) }
    }
    #[inline(always)]
    fn ishr1(self, a: __m512i) -> __m512i {
        // SAFETY: see `splat`.
        unsafe { _mm512_srai_epi32::<1>(a) }
    }
    #[inline(always)]
    fn ishl23(self, a: __m512i) -> __m512i {
        // SAFETY: see `splat`.
        unsafe { _mm512_slli_epi32::<23>(a) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simd::bf16_bits_from_f32;

    struct Bf16Store<'a>(&'a [f32], &'a mut [bf16], bool);
    impl WithSimd for Bf16Store<'_> {
        type Output = ();
        const WRITES_BF16: bool = true;
        #[inline(always)]
        fn with_simd<S: Simd>(self, s: S) {
            for (x, o) in self
                .0
                .chunks_exact(S::LANES)
                .zip(self.1.chunks_exact_mut(S::LANES))
            {
                if self.2 {
                    s.store_bf16_normal(o, s.load(x));
                } else {
                    s.store_bf16(o, s.load(x));
                }
            }
        }
    }

    struct SumBelow<'a>(&'a [f32], f32, &'a mut Vec<f32>);
    impl WithSimd for SumBelow<'_> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: Simd>(self, s: S) {
            let m = s.splat(self.1);
            let (mut acc, mut others) = (s.splat(0.0), s.splat(0.0));
            for x in self.0.chunks_exact(16) {
                let v = s.load(x);
                let e = s.mul(v, s.splat(0.5));
                (acc, others) = s.add_unless_eq(acc, others, v, m, e);
            }
            let mut o = [0.0f32; 32];
            s.store(&mut o[..16], acc);
            s.store(&mut o[16..], others);
            self.2.extend_from_slice(&o);
        }
    }

    /// The masked `add_unless_eq` gives the bits of the trait's default (the
    /// AVX2 path's): lanes equal to m left out, NaN lanes added.
    #[test]
    fn add_unless_eq_matches_the_default() {
        if !detected() {
            eprintln!("skipped: this CPU has no AVX-512 F/BW/DQ/VL");
            return;
        }
        let mut x: Vec<f32> = (0..256).map(|i| ((i * 37) % 11) as f32 - 3.0).collect();
        x[17] = f32::NAN;
        for m in [7.0f32, 2.0, -3.0, 100.0] {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            // SAFETY: AVX-512 F/BW/DQ/VL was detected above.
            unsafe { run_plain(SumBelow(&x, m, &mut a)) };
            // The default, on the AVX2 lanes: two vectors per AVX-512 one.
            let lanes = |x: &[f32], m: f32, out: &mut Vec<f32>| {
                let mut acc = [0.0f32; 16];
                let mut others = [0.0f32; 16];
                for c in x.chunks_exact(16) {
                    for i in 0..16 {
                        if c[i] != m {
                            acc[i] += c[i] * 0.5;
                            others[i] += 1.0;
                        } else {
                            acc[i] += 0.0;
                        }
                    }
                }
                out.extend_from_slice(&acc);
                out.extend_from_slice(&others);
            };
            lanes(&x, m, &mut b);
            for (p, q) in a.iter().zip(&b) {
                assert!(p.to_bits() == q.to_bits() || (p.is_nan() && q.is_nan()));
            }
            // The lanes holding m counted out: the decision can go both ways.
            let counted: f32 = a[16..].iter().sum();
            let equal = x.iter().filter(|v| **v == m).count();
            assert_eq!(counted as usize, x.len() - equal, "m = {m}");
        }
    }

    struct Bf16Arith<'a>(&'a [bf16], &'a mut [f32]);
    impl WithSimd for Bf16Arith<'_> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: Simd>(self, s: S) {
            for (x, o) in self
                .0
                .chunks_exact(S::LANES)
                .zip(self.1.chunks_exact_mut(S::LANES))
            {
                s.store(o, s.load_bf16_arith(x));
            }
        }
    }

    /// `load_bf16_arith` widens every non-NaN bf16 exactly and keeps NaN a NaN.
    #[test]
    fn bf16_arith_load_widens_exactly() {
        if !detected() {
            eprintln!("skipped: this CPU has no AVX-512 F/BW/DQ/VL");
            return;
        }
        let x: Vec<bf16> = (0..=u16::MAX).map(bf16::from_bits).collect();
        let mut out = vec![0.0f32; x.len()];
        // SAFETY: AVX-512 F/BW/DQ/VL was detected above.
        unsafe { run_plain(Bf16Arith(&x, &mut out)) };
        for (v, o) in x.iter().zip(&out) {
            if v.is_nan() {
                assert!(o.is_nan());
            } else {
                assert_eq!(o.to_bits(), v.to_f32().to_bits());
            }
        }
    }

    /// Both bf16 stores of this path (the AVX512_BF16 instruction with its
    /// subnormal fallback, and the shift-and-round) give `half`'s bits on every
    /// class of input: normal values around ties, subnormals, infinities, NaNs.
    #[test]
    fn bf16_store_matches_half_on_this_path() {
        if !detected() {
            eprintln!("skipped: this CPU has no AVX-512 F/BW/DQ/VL");
            return;
        }
        let mut x = Vec::new();
        for hi in 0..=0xffffu32 {
            for lo in [0, 1, 0x7fff, 0x8000, 0x8001, 0xffff] {
                x.push(f32::from_bits(hi << 16 | lo));
            }
        }
        // Subnormal and normal lanes in one vector take the fallback together.
        x.extend([f32::from_bits(1), 1.0, f32::from_bits(0x7f_ffff), -3.5]);
        x.resize(x.len().next_multiple_of(16), 0.0);
        let want: Vec<u16> = x.iter().map(|&v| bf16_bits_from_f32(v)).collect();
        let mut out = vec![bf16::ZERO; x.len()];
        // SAFETY: AVX-512 F/BW/DQ/VL was detected above.
        unsafe { run_plain(Bf16Store(&x, &mut out, false)) };
        assert!(out.iter().zip(&want).all(|(o, w)| o.to_bits() == *w));
        if bf16_detected() {
            let mut out = vec![bf16::ZERO; x.len()];
            // SAFETY: AVX512_BF16 and the rest were detected.
            unsafe { run_bf16(Bf16Store(&x, &mut out, false)) };
            for (i, (o, w)) in out.iter().zip(&want).enumerate() {
                assert_eq!(o.to_bits(), *w, "{:#x}", x[i].to_bits());
            }
            // The store for vectors without subnormal lanes: the same bits on
            // every other input (a subnormal lane would be flushed, so the
            // kernels call it only when a row's outputs are known normal).
            let mut normal: Vec<f32> = x.iter().copied().filter(|v| !v.is_subnormal()).collect();
            normal.truncate(normal.len() / 16 * 16);
            let mut out = vec![bf16::ZERO; normal.len()];
            // SAFETY: as above.
            unsafe { run_bf16(Bf16Store(&normal, &mut out, true)) };
            for (v, o) in normal.iter().zip(&out) {
                assert_eq!(o.to_bits(), bf16_bits_from_f32(*v), "{:#x}", v.to_bits());
            }
            // And a subnormal lane is flushed by it: the check is needed.
            let mut sub = vec![1.0f32; 16];
            sub[3] = f32::from_bits(0x0040_0000);
            let mut out = vec![bf16::ZERO; 16];
            // SAFETY: as above.
            unsafe { run_bf16(Bf16Store(&sub, &mut out, true)) };
            assert_ne!(out[3].to_bits(), bf16_bits_from_f32(sub[3]));
        } else {
            eprintln!("skipped: this CPU has no AVX512_BF16");
        }
    }
}
