//! The vector abstraction every kernel is written against once: [`Simd`], a
//! token type whose methods are the few vector operations the kernels need, and
//! [`Portable`], the plain fixed-width implementation (arrays of 8 lanes that the
//! compiler turns into SSE2 on x86_64 and into NEON or scalar code elsewhere).
//!
//! An instruction-set path is one more type implementing [`Simd`] (see `avx2.rs`)
//! plus one arm in `dispatch.rs`; the kernels do not change.
//!
//! Every method is `#[inline(always)]`: the kernels are generic over `S: Simd` and
//! must be inlined into the `#[target_feature]` entry point of their path, or the
//! intrinsics would be compiled as calls without the feature.

use half::{bf16, f16};

/// The largest lane count of any path (room for an AVX-512 path of 16 lanes).
pub(crate) const MAX_LANES: usize = 16;

/// A vector instruction set, as a zero-sized token: holding a value of the type is
/// the proof that its instructions may run on this machine.
///
/// `F` is a vector of `LANES` f32, `I` the same width of i32. Masks are `F`
/// values whose lanes are all ones (true) or all zeros (false).
pub trait Simd: Copy + Send + Sync + 'static {
    /// f32 lanes per vector.
    const LANES: usize;
    /// A vector of f32.
    type F: Copy;
    /// A vector of i32.
    type I: Copy;
    /// The f64 lanes of the same path (`crate::simd64`).
    type D: crate::simd64::SimdF64;

    /// The f64 lanes of this path (the same proof that its instructions run).
    fn f64x4(self) -> Self::D;

    /// Every lane set to `v`.
    fn splat(self, v: f32) -> Self::F;
    /// The first `LANES` values of `s` (panics if shorter).
    fn load(self, s: &[f32]) -> Self::F;
    /// Write the lanes to the first `LANES` slots of `d` (panics if shorter).
    fn store(self, d: &mut [f32], v: Self::F);
    /// The first `LANES` f16 values of `s`, widened exactly.
    fn load_f16(self, s: &[f16]) -> Self::F;
    /// Round to f16 (nearest, ties to even; NaN stays NaN) into `d`.
    fn store_f16(self, d: &mut [f16], v: Self::F);
    /// The first `LANES` bf16 values of `s`, widened exactly (NaN quieted as `half` does).
    fn load_bf16(self, s: &[bf16]) -> Self::F;
    /// Round to bf16 (nearest, ties to even; NaN quieted as `half` does) into `d`.
    fn store_bf16(self, d: &mut [bf16], v: Self::F);
    /// `load_bf16` for values that only enter arithmetic: a signalling NaN may
    /// stay signalling (the first arithmetic operation quiets it), so a path
    /// may skip the quieting. Never for values stored or compared bit for bit.
    #[inline(always)]
    fn load_bf16_arith(self, s: &[bf16]) -> Self::F {
        self.load_bf16(s)
    }
    /// `store_bf16` for vectors known to hold no subnormal f32 lane (zero,
    /// normal, infinite and NaN lanes only): the same bits, and a path whose
    /// fast conversion flushes subnormals may skip its check.
    #[inline(always)]
    fn store_bf16_normal(self, d: &mut [bf16], v: Self::F) {
        self.store_bf16(d, v)
    }

    /// a + b.
    fn add(self, a: Self::F, b: Self::F) -> Self::F;
    /// a − b.
    fn sub(self, a: Self::F, b: Self::F) -> Self::F;
    /// a · b.
    fn mul(self, a: Self::F, b: Self::F) -> Self::F;
    /// a / b.
    fn div(self, a: Self::F, b: Self::F) -> Self::F;
    /// a · b + c: fused where `FUSED`, else two roundings.
    fn mul_add(self, a: Self::F, b: Self::F, c: Self::F) -> Self::F;
    /// One step of a sum over the entries below the maximum: `(acc + e,
    /// others + 1)` in the lanes where x != m (NaN included), `(acc, others)`
    /// where x == m.
    #[inline(always)]
    fn add_unless_eq(
        self,
        acc: Self::F,
        others: Self::F,
        x: Self::F,
        m: Self::F,
        e: Self::F,
    ) -> (Self::F, Self::F) {
        let eq = self.eq(x, m);
        (
            self.add(acc, self.and_not(eq, e)),
            self.add(others, self.and_not(eq, self.splat(1.0))),
        )
    }
    /// `if a > b { a } else { b }` per lane: b when either is NaN (x86 `maxps`).
    fn max(self, a: Self::F, b: Self::F) -> Self::F;
    /// `if a < b { a } else { b }` per lane: b when either is NaN (x86 `minps`).
    fn min(self, a: Self::F, b: Self::F) -> Self::F;
    /// |a| (clears the sign bit).
    fn abs(self, a: Self::F) -> Self::F;
    /// Mask a == b (false for NaN).
    fn eq(self, a: Self::F, b: Self::F) -> Self::F;
    /// Mask a <= b (false for NaN).
    fn le(self, a: Self::F, b: Self::F) -> Self::F;
    /// Mask a > b (false for NaN).
    fn gt(self, a: Self::F, b: Self::F) -> Self::F;
    /// Mask a is NaN.
    fn is_nan(self, a: Self::F) -> Self::F;
    /// a where the sign bit of `x` is set, else b, per lane (one `blendvps` on
    /// AVX2, which reads only the sign bit: no comparison needed).
    fn select_sign(self, x: Self::F, a: Self::F, b: Self::F) -> Self::F;
    /// Bitwise a | b (for masks).
    fn or(self, a: Self::F, b: Self::F) -> Self::F;
    /// Bitwise !m & a: a with the lanes of mask m cleared to +0.
    fn and_not(self, m: Self::F, a: Self::F) -> Self::F;
    /// True when any lane of the mask is set.
    fn any(self, m: Self::F) -> bool;
    /// True when the sign bit of any lane is set (NaN lanes included when theirs is).
    fn any_sign(self, a: Self::F) -> bool;
    /// The lowest lane whose mask is set.
    fn first_set(self, m: Self::F) -> Option<usize>;
    /// Sum of the lanes (a fixed pairwise tree).
    fn reduce_add(self, a: Self::F) -> f32;
    /// Largest lane (`max` semantics).
    fn reduce_max(self, a: Self::F) -> f32;

    /// The bits of each lane.
    fn to_bits(self, a: Self::F) -> Self::I;
    /// Lanes from bits.
    fn bits_as_f(self, a: Self::I) -> Self::F;
    /// Every lane set to `v`.
    fn isplat(self, v: i32) -> Self::I;
    /// a + b (wrapping).
    fn iadd(self, a: Self::I, b: Self::I) -> Self::I;
    /// a − b (wrapping).
    fn isub(self, a: Self::I, b: Self::I) -> Self::I;
    /// a >> 1, arithmetic (rounds toward −inf).
    fn ishr1(self, a: Self::I) -> Self::I;
    /// a << 23: an exponent field from a biased exponent.
    fn ishl23(self, a: Self::I) -> Self::I;
}

/// The portable path: 8 lanes as plain arrays, loops the compiler vectorises with
/// whatever the target has (SSE2 on any x86_64). `mul_add` is not fused: a fused
/// multiply-add without hardware support is a slow library call.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Portable;

/// Lanes of the portable path.
const PL: usize = 8;

#[inline(always)]
fn map<const N: usize>(a: [f32; N], f: impl Fn(f32) -> f32) -> [f32; N] {
    let mut r = [0.0; N];
    for i in 0..N {
        r[i] = f(a[i]);
    }
    r
}

#[inline(always)]
fn zip<const N: usize>(a: [f32; N], b: [f32; N], f: impl Fn(f32, f32) -> f32) -> [f32; N] {
    let mut r = [0.0; N];
    for i in 0..N {
        r[i] = f(a[i], b[i]);
    }
    r
}

#[inline(always)]
fn izip<const N: usize>(a: [i32; N], b: [i32; N], f: impl Fn(i32, i32) -> i32) -> [i32; N] {
    let mut r = [0; N];
    for i in 0..N {
        r[i] = f(a[i], b[i]);
    }
    r
}

#[inline(always)]
fn mask(b: bool) -> f32 {
    f32::from_bits(if b { u32::MAX } else { 0 })
}

#[inline(always)]
fn is_set(m: f32) -> bool {
    m.to_bits() != 0
}

/// f32 → bf16 bits, nearest with ties to even; NaN keeps its upper bits and is
/// quieted (exactly `half::bf16::from_f32`).
#[inline(always)]
pub(crate) fn bf16_bits_from_f32(x: f32) -> u16 {
    let b = x.to_bits();
    if b & 0x7fff_ffff > 0x7f80_0000 {
        ((b >> 16) | 0x0040) as u16
    } else {
        (b.wrapping_add(0x7fff + ((b >> 16) & 1)) >> 16) as u16
    }
}

/// bf16 bits → f32, exact; NaN quieted (exactly `half::bf16::to_f32`).
#[inline(always)]
pub(crate) fn f32_from_bf16_bits(h: u16) -> f32 {
    let h = h as u32;
    let q = if h & 0x7fff > 0x7f80 { 0x0040 } else { 0 };
    f32::from_bits((h | q) << 16)
}

impl Simd for Portable {
    const LANES: usize = PL;
    type F = [f32; PL];
    type I = [i32; PL];
    type D = Portable;

    #[inline(always)]
    fn f64x4(self) -> Portable {
        self
    }

    #[inline(always)]
    fn splat(self, v: f32) -> Self::F {
        [v; PL]
    }
    #[inline(always)]
    fn load(self, s: &[f32]) -> Self::F {
        let mut r = [0.0; PL];
        r.copy_from_slice(&s[..PL]);
        r
    }
    #[inline(always)]
    fn store(self, d: &mut [f32], v: Self::F) {
        d[..PL].copy_from_slice(&v);
    }
    #[inline(always)]
    fn load_f16(self, s: &[f16]) -> Self::F {
        let s = &s[..PL];
        let mut r = [0.0; PL];
        for i in 0..PL {
            r[i] = s[i].to_f32();
        }
        r
    }
    #[inline(always)]
    fn store_f16(self, d: &mut [f16], v: Self::F) {
        let d = &mut d[..PL];
        for i in 0..PL {
            d[i] = f16::from_f32(v[i]);
        }
    }
    #[inline(always)]
    fn load_bf16(self, s: &[bf16]) -> Self::F {
        let s = &s[..PL];
        let mut r = [0.0; PL];
        for i in 0..PL {
            r[i] = f32_from_bf16_bits(s[i].to_bits());
        }
        r
    }
    #[inline(always)]
    fn store_bf16(self, d: &mut [bf16], v: Self::F) {
        let d = &mut d[..PL];
        for i in 0..PL {
            d[i] = bf16::from_bits(bf16_bits_from_f32(v[i]));
        }
    }

    #[inline(always)]
    fn add(self, a: Self::F, b: Self::F) -> Self::F {
        zip(a, b, |x, y| x + y)
    }
    #[inline(always)]
    fn sub(self, a: Self::F, b: Self::F) -> Self::F {
        zip(a, b, |x, y| x - y)
    }
    #[inline(always)]
    fn mul(self, a: Self::F, b: Self::F) -> Self::F {
        zip(a, b, |x, y| x * y)
    }
    #[inline(always)]
    fn div(self, a: Self::F, b: Self::F) -> Self::F {
        zip(a, b, |x, y| x / y)
    }
    #[inline(always)]
    fn mul_add(self, a: Self::F, b: Self::F, c: Self::F) -> Self::F {
        let mut r = [0.0; PL];
        for i in 0..PL {
            r[i] = a[i] * b[i] + c[i];
        }
        r
    }
    #[inline(always)]
    fn max(self, a: Self::F, b: Self::F) -> Self::F {
        zip(a, b, |x, y| if x > y { x } else { y })
    }
    #[inline(always)]
    fn min(self, a: Self::F, b: Self::F) -> Self::F {
        zip(a, b, |x, y| if x < y { x } else { y })
    }
    #[inline(always)]
    fn abs(self, a: Self::F) -> Self::F {
        map(a, |x| f32::from_bits(x.to_bits() & 0x7fff_ffff))
    }
    #[inline(always)]
    fn eq(self, a: Self::F, b: Self::F) -> Self::F {
        zip(a, b, |x, y| mask(x == y))
    }
    #[inline(always)]
    fn le(self, a: Self::F, b: Self::F) -> Self::F {
        zip(a, b, |x, y| mask(x <= y))
    }
    #[inline(always)]
    fn gt(self, a: Self::F, b: Self::F) -> Self::F {
        zip(a, b, |x, y| mask(x > y))
    }
    #[inline(always)]
    fn is_nan(self, a: Self::F) -> Self::F {
        map(a, |x| mask(x.is_nan()))
    }
    #[inline(always)]
    fn select_sign(self, x: Self::F, a: Self::F, b: Self::F) -> Self::F {
        let mut r = [0.0; PL];
        for i in 0..PL {
            r[i] = if x[i].is_sign_negative() { a[i] } else { b[i] };
        }
        r
    }
    #[inline(always)]
    fn or(self, a: Self::F, b: Self::F) -> Self::F {
        zip(a, b, |x, y| f32::from_bits(x.to_bits() | y.to_bits()))
    }
    #[inline(always)]
    fn and_not(self, m: Self::F, a: Self::F) -> Self::F {
        zip(m, a, |x, y| f32::from_bits(!x.to_bits() & y.to_bits()))
    }
    #[inline(always)]
    fn any(self, m: Self::F) -> bool {
        m.iter().fold(0u32, |acc, v| acc | v.to_bits()) != 0
    }
    #[inline(always)]
    fn any_sign(self, a: Self::F) -> bool {
        a.iter().any(|v| v.is_sign_negative())
    }
    #[inline(always)]
    fn first_set(self, m: Self::F) -> Option<usize> {
        m.iter().position(|&v| is_set(v))
    }
    #[inline(always)]
    fn reduce_add(self, a: Self::F) -> f32 {
        // The same tree as the AVX2 path: halves, then quarters, then pairs.
        let h = [a[0] + a[4], a[1] + a[5], a[2] + a[6], a[3] + a[7]];
        let q = [h[0] + h[2], h[1] + h[3]];
        q[0] + q[1]
    }
    #[inline(always)]
    fn reduce_max(self, a: Self::F) -> f32 {
        let mx = |x: f32, y: f32| if x > y { x } else { y };
        let h = [
            mx(a[0], a[4]),
            mx(a[1], a[5]),
            mx(a[2], a[6]),
            mx(a[3], a[7]),
        ];
        let q = [mx(h[0], h[2]), mx(h[1], h[3])];
        mx(q[0], q[1])
    }

    #[inline(always)]
    fn to_bits(self, a: Self::F) -> Self::I {
        let mut r = [0; PL];
        for i in 0..PL {
            r[i] = a[i].to_bits() as i32;
        }
        r
    }
    #[inline(always)]
    fn bits_as_f(self, a: Self::I) -> Self::F {
        let mut r = [0.0; PL];
        for i in 0..PL {
            r[i] = f32::from_bits(a[i] as u32);
        }
        r
    }
    #[inline(always)]
    fn isplat(self, v: i32) -> Self::I {
        [v; PL]
    }
    #[inline(always)]
    fn iadd(self, a: Self::I, b: Self::I) -> Self::I {
        izip(a, b, i32::wrapping_add)
    }
    #[inline(always)]
    fn isub(self, a: Self::I, b: Self::I) -> Self::I {
        izip(a, b, i32::wrapping_sub)
    }
    #[inline(always)]
    fn ishr1(self, a: Self::I) -> Self::I {
        izip(a, a, |x, _| x >> 1)
    }
    #[inline(always)]
    fn ishl23(self, a: Self::I) -> Self::I {
        izip(a, a, |x, _| ((x as u32) << 23) as i32)
    }
}

/// A storage element the f32 kernels read and write: f32 itself, or f16/bf16
/// converted in vector registers.
pub(crate) trait Elem: softmax_lab_core::Element {
    /// `S::LANES` values widened to f32.
    fn vload<S: Simd>(s: S, x: &[Self]) -> S::F;
    /// `S::LANES` values rounded from f32 into `out`.
    fn vstore<S: Simd>(s: S, out: &mut [Self], v: S::F);
    /// One value widened to f32, as `vload` does.
    fn widen(self) -> f32;
    /// One value rounded from f32, as `vstore` does.
    fn narrow(v: f32) -> Self;
    /// The slice as f32, when `Self` is f32 (the kernels then store in place).
    fn as_f32_mut(out: &mut [Self]) -> Option<&mut [f32]>;
    /// True for bf16 (its stores may use AVX512_BF16's conversion).
    const IS_BF16: bool = false;
    /// `vload` for values that only enter arithmetic (see
    /// [`Simd::load_bf16_arith`]).
    #[inline(always)]
    fn vload_arith<S: Simd>(s: S, x: &[Self]) -> S::F {
        Self::vload(s, x)
    }
    /// `vstore` of a vector with no subnormal f32 lane (see
    /// [`Simd::store_bf16_normal`]).
    #[inline(always)]
    fn vstore_normal<S: Simd>(s: S, out: &mut [Self], v: S::F) {
        Self::vstore(s, out, v)
    }
}

impl Elem for f32 {
    #[inline(always)]
    fn vload<S: Simd>(s: S, x: &[Self]) -> S::F {
        s.load(x)
    }
    #[inline(always)]
    fn vstore<S: Simd>(s: S, out: &mut [Self], v: S::F) {
        s.store(out, v)
    }
    #[inline(always)]
    fn widen(self) -> f32 {
        self
    }
    #[inline(always)]
    fn narrow(v: f32) -> Self {
        v
    }
    #[inline(always)]
    fn as_f32_mut(out: &mut [Self]) -> Option<&mut [f32]> {
        Some(out)
    }
}

impl Elem for f16 {
    #[inline(always)]
    fn vload<S: Simd>(s: S, x: &[Self]) -> S::F {
        s.load_f16(x)
    }
    #[inline(always)]
    fn vstore<S: Simd>(s: S, out: &mut [Self], v: S::F) {
        s.store_f16(out, v)
    }
    #[inline(always)]
    fn widen(self) -> f32 {
        self.to_f32()
    }
    #[inline(always)]
    fn narrow(v: f32) -> Self {
        f16::from_f32(v)
    }
    #[inline(always)]
    fn as_f32_mut(_: &mut [Self]) -> Option<&mut [f32]> {
        None
    }
}

impl Elem for bf16 {
    const IS_BF16: bool = true;
    #[inline(always)]
    fn vload<S: Simd>(s: S, x: &[Self]) -> S::F {
        s.load_bf16(x)
    }
    #[inline(always)]
    fn vstore<S: Simd>(s: S, out: &mut [Self], v: S::F) {
        s.store_bf16(out, v)
    }
    #[inline(always)]
    fn vload_arith<S: Simd>(s: S, x: &[Self]) -> S::F {
        s.load_bf16_arith(x)
    }
    #[inline(always)]
    fn vstore_normal<S: Simd>(s: S, out: &mut [Self], v: S::F) {
        s.store_bf16_normal(out, v)
    }
    #[inline(always)]
    fn widen(self) -> f32 {
        f32_from_bf16_bits(self.to_bits())
    }
    #[inline(always)]
    fn narrow(v: f32) -> Self {
        bf16::from_bits(bf16_bits_from_f32(v))
    }
    #[inline(always)]
    fn as_f32_mut(_: &mut [Self]) -> Option<&mut [f32]> {
        None
    }
}

/// Load the last `x.len() < LANES` values, the missing lanes set to `fill`.
#[inline(always)]
pub(crate) fn load_tail<S: Simd, E: Elem>(s: S, x: &[E], fill: f32) -> S::F {
    let mut buf = [fill; MAX_LANES];
    for (b, v) in buf.iter_mut().zip(x) {
        *b = v.widen();
    }
    s.load(&buf)
}

/// Store the first `out.len() < LANES` lanes of `v`.
#[inline(always)]
pub(crate) fn store_tail<S: Simd, E: Elem>(s: S, out: &mut [E], v: S::F) {
    let mut buf = [0.0f32; MAX_LANES];
    s.store(&mut buf, v);
    for (o, b) in out.iter_mut().zip(buf) {
        *o = E::narrow(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Our bf16 rounding is `half`'s on every class of input: normal values at and
    /// around ties, subnormals, the overflow edge, infinities and NaNs.
    #[test]
    fn bf16_conversions_match_half_bit_for_bit() {
        // Every upper half (sign, exponent, kept mantissa) with the lower halves
        // that decide the rounding: below, at and above the tie, and the extremes.
        for hi in 0..=0xffffu32 {
            for lo in [0, 1, 0x4000, 0x7fff, 0x8000, 0x8001, 0xc000, 0xffff] {
                let x = f32::from_bits(hi << 16 | lo);
                assert_eq!(
                    bf16_bits_from_f32(x),
                    bf16::from_f32(x).to_bits(),
                    "{:#x}",
                    x.to_bits()
                );
            }
        }
        for h in 0..=u16::MAX {
            let want = bf16::from_bits(h).to_f32();
            let got = f32_from_bf16_bits(h);
            assert_eq!(got.to_bits(), want.to_bits(), "{h:#x}");
        }
    }

    #[test]
    fn portable_max_min_follow_x86_nan_rules() {
        let p = Portable;
        let a = [f32::NAN, 1.0, 2.0, -0.0, 0.0, 5.0, f32::NEG_INFINITY, 3.0];
        let b = [1.0, f32::NAN, 1.0, 0.0, -0.0, 6.0, 0.0, 3.0];
        let m = p.max(a, b);
        assert_eq!(m[0], 1.0);
        assert!(m[1].is_nan());
        assert_eq!(m[2], 2.0);
        assert_eq!(m[5], 6.0);
        let m = p.min(a, b);
        assert_eq!(m[0], 1.0);
        assert!(m[1].is_nan());
        assert_eq!(p.reduce_add([1.0; 8]), 8.0);
        assert_eq!(p.first_set(p.gt(a, b)), Some(2));
    }
}
