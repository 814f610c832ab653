//! The row kernels of the f32 path (f16 and bf16 are widened to f32 on load and
//! rounded once on store), written once over [`Simd`].
//!
//! Every pass walks a row in blocks of four vectors (four independent chains for
//! the pipelines), and the last partial block is padded with a neutral value
//! (−inf for anything that goes through exp or max, 0 for sums of products).
//! Rows that are not all finite are detected (an infinite max from the first
//! pass, a NaN through the sum it poisons, n = 1) and handed to
//! `softmax_lab_core::special`, exactly as the scalar `stable` does.
//!
//! Normalisation multiplies by the rounded reciprocal of the sum for rows of at
//! least [`RECIP_MIN_N`] entries and divides below: the blocked sums round at most
//! ⌈n/32⌉ + 6 times along any path, so from n = 16 on the reciprocal's extra
//! rounding is paid for inside the n − 1 roundings the recursive-sum bound of
//! `softmax_lab_core::bounds` allows, and each variant stays inside the bound of
//! the formula it names.

use softmax_lab_core::maxtail::MaxTail;
use softmax_lab_core::special::{classify, fill, fill_backward};

use crate::exp::{
    exp, exp4, exp_ext4, exp_fast4, exp_in4, pow2_of, scale2, to_int, EXT_LIMIT, FAST_LO,
};
use crate::simd::{Elem, Simd, MAX_LANES};

/// Rows at least this long multiply by 1/sum; shorter ones divide (see module docs).
pub(crate) const RECIP_MIN_N: usize = 16;

/// The temperature as the kernels use it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Params {
    /// T itself (for the special-row rules, which work in f64).
    pub t: f64,
    /// 1/T rounded to f32: the kernels compute (x − max)·(1/T).
    pub scale: f32,
    /// T == 1: the multiply is skipped (it would be exact anyway).
    pub unit: bool,
}

impl Params {
    /// The parameters of temperature `t` (finite and > 0, checked by the caller).
    pub(crate) fn new(t: f64) -> Params {
        Params {
            t,
            scale: (1.0 / t) as f32,
            unit: t == 1.0,
        }
    }
}

/// Four vectors.
type V4<S> = [<S as Simd>::F; 4];

#[inline(always)]
fn load4<S: Simd, E: Elem>(s: S, c: &[E]) -> V4<S> {
    let l = S::LANES;
    [
        E::vload(s, &c[..l]),
        E::vload(s, &c[l..2 * l]),
        E::vload(s, &c[2 * l..3 * l]),
        E::vload(s, &c[3 * l..4 * l]),
    ]
}

/// `load4` for values that only enter arithmetic ([`Elem::vload_arith`]: a
/// bf16 signalling NaN may stay signalling until the first operation).
#[inline(always)]
fn load4_arith<S: Simd, E: Elem>(s: S, c: &[E]) -> V4<S> {
    let l = S::LANES;
    [
        E::vload_arith(s, &c[..l]),
        E::vload_arith(s, &c[l..2 * l]),
        E::vload_arith(s, &c[2 * l..3 * l]),
        E::vload_arith(s, &c[3 * l..4 * l]),
    ]
}

/// `store4` of vectors with no subnormal lane ([`Elem::vstore_normal`]).
#[inline(always)]
fn store4_normal<S: Simd, E: Elem>(s: S, c: &mut [E], v: V4<S>) {
    let l = S::LANES;
    E::vstore_normal(s, &mut c[..l], v[0]);
    E::vstore_normal(s, &mut c[l..2 * l], v[1]);
    E::vstore_normal(s, &mut c[2 * l..3 * l], v[2]);
    E::vstore_normal(s, &mut c[3 * l..4 * l], v[3]);
}

/// The last `c.len() < 4 LANES` values, padded with `fill`.
#[inline(always)]
fn load4_tail<S: Simd, E: Elem>(s: S, c: &[E], fill: f32) -> V4<S> {
    let mut buf = [fill; 4 * MAX_LANES];
    for (b, v) in buf.iter_mut().zip(c) {
        *b = v.widen();
    }
    let l = S::LANES;
    [
        s.load(&buf[..l]),
        s.load(&buf[l..2 * l]),
        s.load(&buf[2 * l..3 * l]),
        s.load(&buf[3 * l..4 * l]),
    ]
}

#[inline(always)]
fn store4<S: Simd, E: Elem>(s: S, c: &mut [E], v: V4<S>) {
    let l = S::LANES;
    E::vstore(s, &mut c[..l], v[0]);
    E::vstore(s, &mut c[l..2 * l], v[1]);
    E::vstore(s, &mut c[2 * l..3 * l], v[2]);
    E::vstore(s, &mut c[3 * l..4 * l], v[3]);
}

#[inline(always)]
fn store4_tail<S: Simd, E: Elem>(s: S, c: &mut [E], v: V4<S>) {
    let mut buf = [0.0f32; 4 * MAX_LANES];
    let l = S::LANES;
    for (i, vi) in v.into_iter().enumerate() {
        s.store(&mut buf[i * l..(i + 1) * l], vi);
    }
    for (o, b) in c.iter_mut().zip(buf) {
        *o = E::narrow(b);
    }
}

/// `[body(v[0]), ..., body(v[3])]`, expanded in place: closures are separate
/// functions that the compiler need not inline into the `#[target_feature]`
/// entry point, and outside it every intrinsic would be a call.
macro_rules! map4 {
    ($v:expr, |$x:ident| $body:expr) => {{
        let v = $v;
        [
            {
                let $x = v[0];
                $body
            },
            {
                let $x = v[1];
                $body
            },
            {
                let $x = v[2];
                $body
            },
            {
                let $x = v[3];
                $body
            },
        ]
    }};
}

/// `[body(a[0], b[0]), ..., body(a[3], b[3])]`, expanded in place.
macro_rules! zip4 {
    ($a:expr, $b:expr, |$x:ident, $y:ident| $body:expr) => {{
        let (a, b) = ($a, $b);
        [
            {
                let ($x, $y) = (a[0], b[0]);
                $body
            },
            {
                let ($x, $y) = (a[1], b[1]);
                $body
            },
            {
                let ($x, $y) = (a[2], b[2]);
                $body
            },
            {
                let ($x, $y) = (a[3], b[3]);
                $body
            },
        ]
    }};
}

#[inline(always)]
fn sum4<S: Simd>(s: S, v: V4<S>) -> S::F {
    s.add(s.add(v[0], v[1]), s.add(v[2], v[3]))
}

#[inline(always)]
fn max4<S: Simd>(s: S, v: V4<S>) -> S::F {
    s.max(s.max(v[0], v[1]), s.max(v[2], v[3]))
}

/// (x − m)·(1/T) per lane.
#[inline(always)]
fn shifted<S: Simd>(s: S, v: S::F, m: S::F, p: &Params) -> S::F {
    let d = s.sub(v, m);
    if p.unit {
        d
    } else {
        s.mul(d, s.splat(p.scale))
    }
}

/// A mask of the lanes where any of the four vectors is NaN.
#[inline(always)]
fn any_nan<S: Simd>(s: S, v: V4<S>) -> S::F {
    s.or(
        s.or(s.is_nan(v[0]), s.is_nan(v[1])),
        s.or(s.is_nan(v[2]), s.is_nan(v[3])),
    )
}

/// The largest entry and whether any entry is NaN (pass 1 of every shifted kernel).
#[inline(always)]
pub(crate) fn max_and_nan<S: Simd, E: Elem>(s: S, x: &[E]) -> (f32, bool) {
    let l4 = 4 * S::LANES;
    let ninf = s.splat(f32::NEG_INFINITY);
    let mut m = [ninf; 4];
    let mut nan = s.splat(0.0);
    macro_rules! step {
        ($v:expr) => {{
            let v: V4<S> = $v;
            nan = s.or(nan, any_nan(s, v));
            for i in 0..4 {
                m[i] = s.max(m[i], v[i]);
            }
        }};
    }
    let mut chunks = x.chunks_exact(l4);
    for c in &mut chunks {
        step!(load4(s, c));
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        step!(load4_tail(s, tail, f32::NEG_INFINITY));
    }
    (s.reduce_max(max4(s, m)), s.any(nan))
}

/// The largest and smallest entries (NaN may be skipped: the callers detect it
/// through the sum it poisons). Pass 1 of the forward shifted kernels.
#[inline(always)]
fn max_min<S: Simd, E: Elem>(s: S, x: &[E]) -> (f32, f32) {
    let l4 = 4 * S::LANES;
    let mut hi = [s.splat(f32::NEG_INFINITY); 4];
    let mut lo = [s.splat(f32::INFINITY); 4];
    let mut chunks = x.chunks_exact(l4);
    for c in &mut chunks {
        let v = load4_arith::<S, E>(s, c);
        for i in 0..4 {
            hi[i] = s.max(hi[i], v[i]);
            lo[i] = s.min(lo[i], v[i]);
        }
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        let v = load4_tail::<S, E>(s, tail, f32::NEG_INFINITY);
        let w = load4_tail::<S, E>(s, tail, f32::INFINITY);
        for i in 0..4 {
            hi[i] = s.max(hi[i], v[i]);
            lo[i] = s.min(lo[i], w[i]);
        }
    }
    let lo = s.min(s.min(lo[0], lo[1]), s.min(lo[2], lo[3]));
    (
        s.reduce_max(max4(s, hi)),
        -s.reduce_max(s.sub(s.splat(0.0), lo)),
    )
}

/// Whether every (x − max)/T of a row lies in exp_fast's range.
#[inline(always)]
fn fast_range(max: f32, min: f32, p: &Params) -> bool {
    let d = min - max;
    (if p.unit { d } else { d * p.scale }) >= FAST_LO
}

/// True when every softmax output of a finite row is a normal f32: the
/// smallest, e^((min − max)/T)/Σ with Σ <= n (no term exceeds e^0 = 1), is at
/// least e^(ln n − 85)/n = e^−85 ≈ 1.2e−37, ten times the smallest normal
/// 2^−126 ≈ 1.18e−38, with room for exp's ulp and the roundings. False for
/// NaN and for −inf entries.
#[inline(always)]
pub(crate) fn normal_outputs(n: usize, max: f32, min: f32, p: &Params) -> bool {
    let d = min - max;
    (if p.unit { d } else { d * p.scale }) >= (n as f32).ln() - 85.0
}

/// True when the row must take the special-row rules (NaN, an infinite max, or
/// n = 1) instead of the finite path.
#[inline(always)]
fn is_special(n: usize, max: f32, nan: bool) -> bool {
    nan || !max.is_finite() || n == 1
}

/// Write exp((x − m)/T) into `buf`, return its sum.
#[inline(always)]
fn exp_store_sum<S: Simd, E: Elem, const FAST: bool>(
    s: S,
    x: &[E],
    m: f32,
    p: &Params,
    buf: &mut [f32],
) -> f32 {
    let l4 = 4 * S::LANES;
    let mv = s.splat(m);
    let mut acc = [s.splat(0.0); 4];
    let mut xs = x.chunks_exact(l4);
    let mut bs = buf.chunks_exact_mut(l4);
    for (xc, bc) in (&mut xs).zip(&mut bs) {
        let e = exp_in4::<S, FAST>(s, map4!(load4_arith(s, xc), |v| shifted(s, v, mv, p)));
        for i in 0..4 {
            acc[i] = s.add(acc[i], e[i]);
        }
        store4(s, bc, e);
    }
    let (xt, bt) = (xs.remainder(), bs.into_remainder());
    if !xt.is_empty() {
        // The padding (−inf) is outside exp_fast's range: the general exp.
        let e = exp4(
            s,
            map4!(load4_tail(s, xt, f32::NEG_INFINITY), |v| shifted(
                s, v, mv, p
            )),
        );
        for i in 0..4 {
            acc[i] = s.add(acc[i], e[i]);
        }
        store4_tail(s, bt, e);
    }
    s.reduce_add(sum4(s, acc))
}

/// v ⊙ (1/sum) or v / sum (see [`RECIP_MIN_N`]).
#[derive(Clone, Copy)]
struct Normaliser {
    sum: f32,
    recip: bool,
}

impl Normaliser {
    fn new(sum: f32, n: usize) -> Normaliser {
        if n >= RECIP_MIN_N {
            Normaliser {
                sum: 1.0 / sum,
                recip: true,
            }
        } else {
            Normaliser { sum, recip: false }
        }
    }

    #[inline(always)]
    fn apply<S: Simd>(self, s: S, v: S::F) -> S::F {
        if self.recip {
            s.mul(v, s.splat(self.sum))
        } else {
            s.div(v, s.splat(self.sum))
        }
    }
}

/// Normalise `buf` in place (f32 rows).
#[inline(always)]
fn normalise_in_place<S: Simd>(s: S, buf: &mut [f32], norm: Normaliser) {
    let l4 = 4 * S::LANES;
    let mut bs = buf.chunks_exact_mut(l4);
    for bc in &mut bs {
        let v = map4!(load4(s, bc), |v| norm.apply(s, v));
        store4(s, bc, v);
    }
    let bt = bs.into_remainder();
    if !bt.is_empty() {
        let v = map4!(load4_tail(s, bt, 0.0), |v| norm.apply(s, v));
        store4_tail(s, bt, v);
    }
}

/// Normalise `buf` into `out`, rounding once to E (f16/bf16 rows). `NORMAL`:
/// every result is known to be a normal f32 ([`normal_outputs`]), so the
/// stores may skip their subnormal check.
#[inline(always)]
fn normalise_into<S: Simd, E: Elem, const NORMAL: bool>(
    s: S,
    buf: &[f32],
    norm: Normaliser,
    out: &mut [E],
) {
    let l4 = 4 * S::LANES;
    let mut bs = buf.chunks_exact(l4);
    let mut os = out.chunks_exact_mut(l4);
    for (bc, oc) in (&mut bs).zip(&mut os) {
        let v = map4!(load4(s, bc), |v| norm.apply(s, v));
        if NORMAL {
            store4_normal(s, oc, v);
        } else {
            store4(s, oc, v);
        }
    }
    let (bt, ot) = (bs.remainder(), os.into_remainder());
    if !bt.is_empty() {
        let v = map4!(load4_tail(s, bt, 0.0), |v| norm.apply(s, v));
        store4_tail(s, ot, v);
    }
}

/// `stable_simd`: max; exp stored and summed; scaled. f32 rows store the
/// exponentials in `out`, f16/bf16 rows in `scratch` (f32), so the result is
/// rounded to the storage type once.
#[inline(always)]
pub(crate) fn stable_row<S: Simd, E: Elem>(
    s: S,
    x: &[E],
    p: &Params,
    out: &mut [E],
    scratch: &mut Vec<f32>,
) {
    let n = x.len();
    let (m, lo) = max_min(s, x);
    if is_special(n, m, false) {
        fill(classify(x), false, out);
        return;
    }
    let fast = fast_range(m, lo, p);
    macro_rules! sum_into {
        ($buf:expr) => {
            if fast {
                exp_store_sum::<S, E, true>(s, x, m, p, $buf)
            } else {
                exp_store_sum::<S, E, false>(s, x, m, p, $buf)
            }
        };
    }
    match E::as_f32_mut(out) {
        Some(o) => {
            let sum = sum_into!(o);
            if sum.is_nan() {
                // A NaN entry (the max pass may skip it): the special-row rules.
                fill(classify(x), false, o);
                return;
            }
            normalise_in_place(s, o, Normaliser::new(sum, n));
        }
        None => {
            if scratch.len() < n {
                scratch.resize(n, 0.0);
            }
            let buf = &mut scratch[..n];
            let sum = sum_into!(buf);
            if sum.is_nan() {
                fill(classify(x), false, out);
                return;
            }
            let norm = Normaliser::new(sum, n);
            if normal_outputs(n, m, lo, p) {
                normalise_into::<S, E, true>(s, buf, norm, out);
            } else {
                normalise_into::<S, E, false>(s, buf, norm, out);
            }
        }
    }
}

/// Whether every (v − m)/T of a block lies in exp_fast's range (m >= every v).
#[inline(always)]
fn block_is_fast<S: Simd>(s: S, v: V4<S>, m: S::F, p: &Params) -> bool {
    let lo = s.min(s.min(v[0], v[1]), s.min(v[2], v[3]));
    let d = shifted(s, lo, m, p);
    // A NaN lane may pass: exp_fast returns NaN for it, as exp does.
    !s.any(s.gt(s.splat(FAST_LO), d))
}

/// `online_simd`: one pass keeps a running max and a rescaled sum per lane (the
/// rescale happens once per block of four vectors, and only when a lane's max
/// grew), the lanes are merged, a second pass writes exp((x − M)/T)/D.
#[inline(always)]
pub(crate) fn online_row<S: Simd, E: Elem>(s: S, x: &[E], p: &Params, out: &mut [E]) {
    let n = x.len();
    let l4 = 4 * S::LANES;
    // −MAX rather than −inf: m − m_new is never inf − inf.
    let mut m = s.splat(f32::MIN);
    let mut d = s.splat(0.0);
    let mut nan = s.splat(0.0);
    macro_rules! step {
        ($v:expr) => {{
            let v: V4<S> = $v;
            nan = s.or(nan, any_nan(s, v));
            let mn = s.max(m, max4(s, v));
            if s.any(s.gt(mn, m)) {
                d = s.mul(d, exp(s, shifted(s, m, mn, p)));
                m = mn;
            }
            let d4 = map4!(v, |v| shifted(s, v, m, p));
            let e = if block_is_fast(s, v, m, p) {
                exp_fast4(s, d4)
            } else {
                exp4(s, d4)
            };
            d = s.add(d, sum4(s, e));
        }};
    }
    let mut xs = x.chunks_exact(l4);
    for xc in &mut xs {
        step!(load4(s, xc));
    }
    if !xs.remainder().is_empty() {
        step!(load4_tail(s, xs.remainder(), f32::NEG_INFINITY));
    }
    let big_m = s.reduce_max(m);
    if is_special(n, big_m, s.any(nan)) {
        fill(classify(x), false, out);
        return;
    }
    let mv = s.splat(big_m);
    let big_d = s.reduce_add(s.mul(d, exp(s, shifted(s, m, mv, p))));
    if big_d.is_nan() || big_d <= 0.0 {
        // Every entry −inf (no mass): the special-row rules decide.
        fill(classify(x), false, out);
        return;
    }
    let norm = Normaliser::new(big_d, n);
    let mut os = out.chunks_exact_mut(l4);
    let mut xs = x.chunks_exact(l4);
    for (xc, oc) in (&mut xs).zip(&mut os) {
        let v = load4::<S, E>(s, xc);
        let d4 = map4!(v, |v| shifted(s, v, mv, p));
        let e = if block_is_fast(s, v, mv, p) {
            exp_fast4(s, d4)
        } else {
            exp4(s, d4)
        };
        store4(s, oc, map4!(e, |e| norm.apply(s, e)));
    }
    let (xt, ot) = (xs.remainder(), os.into_remainder());
    if !xt.is_empty() {
        let e = exp4(
            s,
            map4!(load4_tail(s, xt, f32::NEG_INFINITY), |v| shifted(
                s, v, mv, p
            )),
        );
        store4_tail(s, ot, map4!(e, |e| norm.apply(s, e)));
    }
}

/// `two_pass` (Dukhan & Ablavatski 2020): pass 1 sums e^x as (mantissa, exponent)
/// pairs per lane — each term p·2^k and the running sum are brought to the larger
/// exponent by exact powers of two, so nothing overflows and no max is needed;
/// pass 2 writes (p/S)·2^(k − K). Rows with NaN, +inf or a finite |x| > 2^14 (the
/// reduction's exact range) take the `stable_simd` path. Temperature 1 only.
#[inline(always)]
pub(crate) fn two_pass_row<S: Simd, E: Elem>(
    s: S,
    x: &[E],
    p: &Params,
    out: &mut [E],
    scratch: &mut Vec<f32>,
) {
    let n = x.len();
    let l4 = 4 * S::LANES;
    let lim = s.splat(EXT_LIMIT);
    let ninf = s.splat(f32::NEG_INFINITY);
    let floor = s.splat(-127.0);
    let all = s.eq(s.splat(0.0), s.splat(0.0));
    let mut acc_p = s.splat(0.0);
    let mut acc_k = s.splat(-32_768.0);
    let mut bad = s.splat(0.0);
    macro_rules! step {
        ($v:expr) => {{
            let v: V4<S> = $v;
            for vi in v {
                let ok = s.or(s.le(s.abs(vi), lim), s.eq(vi, ninf));
                bad = s.or(bad, s.and_not(ok, all));
            }
            let (tp, tk) = ext_term4(s, v, lim, ninf);
            let kb = s.max(s.max(tk[0], tk[1]), s.max(tk[2], tk[3]));
            let kn = s.max(acc_k, kb);
            let mut sum = s.mul(acc_p, pow2_of(s, s.max(floor, s.sub(acc_k, kn))));
            for (pv, k) in tp.into_iter().zip(tk) {
                sum = s.mul_add(pv, pow2_of(s, s.max(floor, s.sub(k, kn))), sum);
            }
            acc_p = sum;
            acc_k = kn;
        }};
    }
    let mut xs = x.chunks_exact(l4);
    for xc in &mut xs {
        step!(load4(s, xc));
    }
    if !xs.remainder().is_empty() {
        step!(load4_tail(s, xs.remainder(), f32::NEG_INFINITY));
    }
    let big_k = s.reduce_max(acc_k);
    let kv = s.splat(big_k);
    let big_s = s.reduce_add(s.mul(acc_p, pow2_of(s, s.max(floor, s.sub(acc_k, kv)))));
    if s.any(bad) || n == 1 || big_s.is_nan() || big_s <= 0.0 {
        return stable_row(s, x, p, out, scratch);
    }
    let norm = Normaliser::new(big_s, n);
    let dfloor = s.splat(-252.0);
    macro_rules! y_of {
        ($v:expr) => {{
            let (tp, tk) = ext_term4(s, $v, lim, ninf);
            zip4!(tp, tk, |pv, k| scale2(
                s,
                norm.apply(s, pv),
                to_int(s, s.max(dfloor, s.sub(k, kv)))
            ))
        }};
    }
    let mut os = out.chunks_exact_mut(l4);
    let mut xs = x.chunks_exact(l4);
    for (xc, oc) in (&mut xs).zip(&mut os) {
        store4(s, oc, y_of!(load4(s, xc)));
    }
    let (xt, ot) = (xs.remainder(), os.into_remainder());
    if !xt.is_empty() {
        store4_tail(s, ot, y_of!(load4_tail(s, xt, f32::NEG_INFINITY)));
    }
}

/// The terms of four vectors of entries of `two_pass`: (p, k) with e^x = p·2^k,
/// and p = 0 for −inf (it carries no mass). x is clamped to the exact range
/// first; rows with entries outside it never use these terms.
#[inline(always)]
fn ext_term4<S: Simd>(s: S, v: V4<S>, lim: S::F, ninf: S::F) -> (V4<S>, V4<S>) {
    let neg_lim = s.sub(s.splat(0.0), lim);
    let (pv, k) = exp_ext4(s, map4!(v, |x| s.max(neg_lim, s.min(lim, x))));
    (zip4!(v, pv, |x, e| s.and_not(s.eq(x, ninf), e)), k)
}

/// The (max, tail) summary of a row or a chunk of one, in the shifted and
/// scaled domain: max is the largest entry, tail = Σ exp((x_j − max)/T) over every
/// entry but the first maximum (`softmax_lab_core::maxtail::MaxTail`). None
/// when the chunk holds NaN or +inf (the special-row rules decide those rows);
/// an empty or all −inf chunk is the empty summary.
#[inline(always)]
pub(crate) fn max_tail<S: Simd, E: Elem>(s: S, x: &[E], p: &Params) -> Option<MaxTail<f32>> {
    max_tail_into::<S, E, false>(s, x, p, &mut [])
}

/// [`max_tail`], and with `STORE` the shifted entries (x − max)/T written to
/// `d` (as many as `x`) on the way, when the summary is Some and the row
/// finite: log-softmax's writing pass then subtracts in place, on lines the
/// sum pass already brought in, instead of storing to lines it must fetch.
#[inline(always)]
fn max_tail_into<S: Simd, E: Elem, const STORE: bool>(
    s: S,
    x: &[E],
    p: &Params,
    d: &mut [f32],
) -> Option<MaxTail<f32>> {
    let (m, lo) = max_min(s, x);
    if m.is_nan() || m == f32::INFINITY {
        return None;
    }
    if m == f32::NEG_INFINITY || x.is_empty() {
        // Every entry −inf, unless a NaN hid from the max: then it is not empty.
        return x
            .iter()
            .all(|v| v.widen() == f32::NEG_INFINITY)
            .then(MaxTail::empty);
    }
    let (below, equal) = if fast_range(m, lo, p) {
        exp_sum_below::<S, E, true, STORE>(s, x, m, p, d)
    } else {
        exp_sum_below::<S, E, false, STORE>(s, x, m, p, d)
    };
    // Every entry equal to the max contributes exactly e^0 = 1; the first is
    // the one left out.
    if below.is_nan() || equal < 1.0 {
        return None;
    }
    Some(MaxTail {
        max: m,
        tail: below + (equal - 1.0),
    })
}

/// (Σ exp((x − m)/T) over the entries below m, how many entries equal m), in
/// one pass over whole blocks: the lanes equal to m are masked out of the sum
/// and counted instead, so the row is not split at its first maximum (two
/// ragged halves, each with its own tail block, and a pass to find the
/// position cost short rows more than the sum itself). NaN entries poison the
/// sum, as they should. With `STORE`, (x − m)/T is written to `d` (f32 rows of
/// log-softmax; `d` as long as `x`).
#[inline(always)]
fn exp_sum_below<S: Simd, E: Elem, const FAST: bool, const STORE: bool>(
    s: S,
    x: &[E],
    m: f32,
    p: &Params,
    d: &mut [f32],
) -> (f32, f32) {
    let l4 = 4 * S::LANES;
    let mv = s.splat(m);
    let mut acc = [s.splat(0.0); 4];
    let mut other = [s.splat(0.0); 4];
    let mut lanes = 0usize;
    macro_rules! step {
        ($v:expr, $e:expr) => {{
            let (v, e): (V4<S>, V4<S>) = ($v, $e);
            for i in 0..4 {
                (acc[i], other[i]) = s.add_unless_eq(acc[i], other[i], v[i], mv, e[i]);
            }
            lanes += l4;
        }};
    }
    let mut xs = x.chunks_exact(l4);
    for xc in &mut xs {
        let v = load4_arith(s, xc);
        let dv = map4!(v, |v| shifted(s, v, mv, p));
        if STORE {
            store4(s, &mut d[lanes..lanes + l4], dv);
        }
        step!(v, exp_in4::<S, FAST>(s, dv));
    }
    let xt = xs.remainder();
    if !xt.is_empty() {
        // The padding (−inf) is outside exp_fast's range: the general exp. It
        // is never equal to m (finite), so it counts among the others.
        let v = load4_tail(s, xt, f32::NEG_INFINITY);
        let dv = map4!(v, |v| shifted(s, v, mv, p));
        if STORE {
            store4_tail(s, &mut d[lanes..], dv);
        }
        step!(v, exp4(s, dv));
    }
    // Lane counts are integers below 2^24 (rows that reach here finite are
    // shorter than `LONG_ROW`, or chunks of a longer one): the sums are exact.
    let others = s.reduce_add(sum4(s, other));
    (s.reduce_add(sum4(s, acc)), lanes as f32 - others)
}

/// out = exp((x − m)/T)·factor (a chunk of a long row, m the row's max).
#[inline(always)]
pub(crate) fn exp_scaled_into<S: Simd, E: Elem>(
    s: S,
    x: &[E],
    m: f32,
    p: &Params,
    factor: f32,
    out: &mut [E],
) {
    let l4 = 4 * S::LANES;
    let (mv, fv) = (s.splat(m), s.splat(factor));
    let mut os = out.chunks_exact_mut(l4);
    let mut xs = x.chunks_exact(l4);
    for (xc, oc) in (&mut xs).zip(&mut os) {
        let v = load4::<S, E>(s, xc);
        let d4 = map4!(v, |v| shifted(s, v, mv, p));
        let e = if block_is_fast(s, v, mv, p) {
            exp_fast4(s, d4)
        } else {
            exp4(s, d4)
        };
        store4(s, oc, map4!(e, |e| s.mul(e, fv)));
    }
    let (xt, ot) = (xs.remainder(), os.into_remainder());
    if !xt.is_empty() {
        let v = load4_tail::<S, E>(s, xt, f32::NEG_INFINITY);
        let e = exp4(s, map4!(v, |v| shifted(s, v, mv, p)));
        store4_tail(s, ot, map4!(e, |e| s.mul(e, fv)));
    }
}

/// out = (x − m)/T − c (log-softmax's writing pass; c = ln1p(tail)).
#[inline(always)]
pub(crate) fn shifted_minus_into<S: Simd, E: Elem>(
    s: S,
    x: &[E],
    m: f32,
    p: &Params,
    c: f32,
    out: &mut [E],
) {
    let (mv, cv) = (s.splat(m), s.splat(c));
    let l4 = 4 * S::LANES;
    let mut xs = x.chunks_exact(l4);
    let mut os = out.chunks_exact_mut(l4);
    for (xc, oc) in (&mut xs).zip(&mut os) {
        let z = map4!(load4(s, xc), |v| s.sub(shifted(s, v, mv, p), cv));
        store4(s, oc, z);
    }
    let (xt, ot) = (xs.remainder(), os.into_remainder());
    if !xt.is_empty() {
        let z = map4!(load4_tail(s, xt, 0.0), |v| s.sub(shifted(s, v, mv, p), cv));
        store4_tail(s, ot, z);
    }
}

/// ln Σ exp((x − max)/T) = ln1p(tail) for tail >= 0, evaluated in f64 and
/// rounded once: ln(u)·tail/(u − 1) with u = 1 + tail rounded, within 5 f64
/// ulps of ln1p (Goldberg 1991, Theorem 4), so the f32 result is ln1p's
/// rounded except when ln1p lies within about 2^−50 of an f32 midpoint. The
/// f64 `ln` costs a fraction of `ln_1p` (libm's log1p was 6% of a row of 1,024
/// on this path).
#[inline(always)]
pub(crate) fn ln_sum(tail: f64) -> f32 {
    let u = 1.0 + tail;
    if u == 1.0 {
        // tail < 2^−53: ln1p(tail) = tail(1 − tail/2 + …) rounds to tail.
        tail as f32
    } else {
        (u.ln() * (tail / (u - 1.0))) as f32
    }
}

/// `log_softmax_simd`: z_i = (x_i − max)/T − ln1p(s') with s' = Σ_{j≠k}
/// exp((x_j − max)/T), k the first maximum (Blanchard, Higham & Higham 2021):
/// the dominant entry of a nearly one-hot row keeps s' instead of losing it in
/// a rounded 1 + s'.
///
/// f32 rows store (x − max)/T in `out` during the sum pass and subtract c in
/// place (the same two roundings, so the same bits as computing both in the
/// last pass); f16/bf16 rows compute both in the last pass, rounding once.
#[inline(always)]
pub(crate) fn log_softmax_row<S: Simd, E: Elem>(s: S, x: &[E], p: &Params, out: &mut [E]) {
    let n = x.len();
    if let Some(o) = E::as_f32_mut(out) {
        match max_tail_into::<S, E, true>(s, x, p, o) {
            Some(st) if n > 1 && st.max.is_finite() => minus_in_place(s, o, ln_sum(st.tail as f64)),
            _ => {
                fill(classify(x), true, o);
            }
        }
        return;
    }
    let stats = match max_tail(s, x, p) {
        Some(st) if n > 1 && st.max.is_finite() => st,
        _ => {
            fill(classify(x), true, out);
            return;
        }
    };
    shifted_minus_into(s, x, stats.max, p, ln_sum(stats.tail as f64), out);
}

/// buf = buf − c.
#[inline(always)]
fn minus_in_place<S: Simd>(s: S, buf: &mut [f32], c: f32) {
    let cv = s.splat(c);
    let l4 = 4 * S::LANES;
    let mut bs = buf.chunks_exact_mut(l4);
    for bc in &mut bs {
        let z = map4!(load4(s, bc), |v| s.sub(v, cv));
        store4(s, bc, z);
    }
    let bt = bs.into_remainder();
    if !bt.is_empty() {
        let z = map4!(load4_tail(s, bt, 0.0), |v| s.sub(v, cv));
        store4_tail(s, bt, z);
    }
}

/// e^−|x| per lane of four vectors.
#[inline(always)]
fn exp_neg_abs4<S: Simd>(s: S, v: V4<S>) -> V4<S> {
    exp4(s, map4!(v, |v| s.sub(s.splat(0.0), s.abs(v))))
}

/// `sigmoid_simd`. Blocks with no entry below −87 (all but rare ones) take
/// 1/(1 + E), E = e^max(−x, −87): `exp_fast` is exact-scaled on [−87, 87], so
/// no branch on the sign, no |x| and no blend are needed; for x > 87 the clamp
/// gives E = e^−87 and 1/(1 + E) rounds to 1, as σ(x) does; for x < 0, E >= 1
/// and 1/(1 + E) loses nothing (E's relative error passes through once, as in
/// e/(1 + e)). Other blocks (an entry below −87, or −inf, where E would
/// overflow and σ is subnormal) take e = e^−|x|, then 1/(1 + e) for x >= 0 and
/// e/(1 + e) below: neither tail overflows or cancels.
#[inline(always)]
pub(crate) fn sigmoid_row<S: Simd, E: Elem>(s: S, x: &[E], out: &mut [E]) {
    let one = s.splat(1.0);
    let lo = s.splat(FAST_LO);
    let zero = s.splat(0.0);
    macro_rules! direct {
        ($v:expr) => {{
            let v: V4<S> = $v;
            // max keeps its second operand when either is NaN: NaN stays NaN.
            let e = exp_fast4(s, map4!(v, |v| s.max(lo, s.sub(zero, v))));
            map4!(e, |e| s.div(one, s.add(one, e)))
        }};
    }
    macro_rules! two_branch {
        ($v:expr) => {{
            let v: V4<S> = $v;
            let e = exp_neg_abs4(s, v);
            zip4!(v, e, |v, e| {
                // x < 0 (or −0, where e = 1 anyway): e/(1 + e).
                let num = s.select_sign(v, e, one);
                s.div(num, s.add(one, e))
            })
        }};
    }
    let l4 = 4 * S::LANES;
    let mut xs = x.chunks_exact(l4);
    let mut os = out.chunks_exact_mut(l4);
    for (xc, oc) in (&mut xs).zip(&mut os) {
        let v = load4::<S, E>(s, xc);
        // v − (−87) is negative exactly where v < −87 (−inf included); OR-ing
        // the bit patterns keeps every sign bit, whatever NaN lanes hold (a NaN
        // with its sign set only sends its block to the exact path).
        let d = map4!(v, |v| s.sub(v, lo));
        let y = if s.any_sign(s.or(s.or(d[0], d[1]), s.or(d[2], d[3]))) {
            two_branch!(v)
        } else {
            direct!(v)
        };
        store4(s, oc, y);
    }
    let (xt, ot) = (xs.remainder(), os.into_remainder());
    if !xt.is_empty() {
        store4_tail(s, ot, two_branch!(load4_tail(s, xt, 0.0)));
    }
}

/// σ'(x)·dy = dy·e/(1 + e)² with e = e^−|x| (never y(1 − y) from a rounded y).
#[inline(always)]
pub(crate) fn sigmoid_vjp_row<S: Simd, E: Elem>(s: S, x: &[E], dy: &[E], dx: &mut [E]) {
    let one = s.splat(1.0);
    macro_rules! f {
        ($v:expr, $g:expr) => {{
            let e = exp_neg_abs4(s, $v);
            zip4!(e, $g, |e, g| {
                let d = s.add(one, e);
                s.mul(g, s.div(e, s.mul(d, d)))
            })
        }};
    }
    let l4 = 4 * S::LANES;
    let mut xs = x.chunks_exact(l4);
    let mut gs = dy.chunks_exact(l4);
    let mut ds = dx.chunks_exact_mut(l4);
    for ((xc, gc), dc) in (&mut xs).zip(&mut gs).zip(&mut ds) {
        let (v, g) = (load4::<S, E>(s, xc), load4::<S, E>(s, gc));
        store4(s, dc, f!(v, g));
    }
    let (xt, gt, dt) = (xs.remainder(), gs.remainder(), ds.into_remainder());
    if !xt.is_empty() {
        let (v, g) = (
            load4_tail::<S, E>(s, xt, 0.0),
            load4_tail::<S, E>(s, gt, 0.0),
        );
        store4_tail(s, dt, f!(v, g));
    }
}

/// Softmax VJP y ⊙ (g − ⟨g, y⟩)/T for every softmax variant, formed around the
/// largest y_k as y ⊙ ((g − g_k) − Σ_j y_j (g_j − g_k)) (the j = k term is exactly
/// 0), which stays accurate on nearly one-hot rows — the form `stable` uses.
#[inline(always)]
pub(crate) fn softmax_vjp_row<S: Simd, E: Elem>(
    s: S,
    x: &[E],
    y: &[E],
    dy: &[E],
    p: &Params,
    dx: &mut [E],
) {
    let n = x.len();
    let (m, nan) = max_and_nan(s, x);
    if is_special(n, m, nan) {
        fill_backward(classify(x), false, p.t, dy, dx);
        return;
    }
    let (ymax, _) = max_and_nan(s, y);
    let k = first_equal(s, y, ymax).unwrap_or(0);
    let gk = s.splat(dy[k].widen());
    let l4 = 4 * S::LANES;
    let mut acc = [s.splat(0.0); 4];
    let mut ys = y.chunks_exact(l4);
    let mut gs = dy.chunks_exact(l4);
    for (yc, gc) in (&mut ys).zip(&mut gs) {
        let (yv, gv) = (load4::<S, E>(s, yc), load4::<S, E>(s, gc));
        for i in 0..4 {
            acc[i] = s.mul_add(yv[i], s.sub(gv[i], gk), acc[i]);
        }
    }
    if !ys.remainder().is_empty() {
        let yv = load4_tail::<S, E>(s, ys.remainder(), 0.0);
        let gv = load4_tail::<S, E>(s, gs.remainder(), 0.0);
        for i in 0..4 {
            acc[i] = s.mul_add(yv[i], s.sub(gv[i], gk), acc[i]);
        }
    }
    let spread = s.splat(s.reduce_add(sum4(s, acc)));
    let sc = s.splat(p.scale);
    macro_rules! f {
        ($y:expr, $g:expr) => {{
            let v = s.mul($y, s.sub(s.sub($g, gk), spread));
            if p.unit {
                v
            } else {
                s.mul(v, sc)
            }
        }};
    }
    let mut ys = y.chunks_exact(l4);
    let mut gs = dy.chunks_exact(l4);
    let mut ds = dx.chunks_exact_mut(l4);
    for ((yc, gc), dc) in (&mut ys).zip(&mut gs).zip(&mut ds) {
        let (yv, gv) = (load4::<S, E>(s, yc), load4::<S, E>(s, gc));
        store4(s, dc, zip4!(yv, gv, |a, b| f!(a, b)));
    }
    let (yt, gt, dt) = (ys.remainder(), gs.remainder(), ds.into_remainder());
    if !yt.is_empty() {
        let (yv, gv) = (
            load4_tail::<S, E>(s, yt, 0.0),
            load4_tail::<S, E>(s, gt, 0.0),
        );
        store4_tail(s, dt, zip4!(yv, gv, |a, b| f!(a, b)));
    }
}

/// The first index whose value equals `v`.
#[inline(always)]
fn first_equal<S: Simd, E: Elem>(s: S, y: &[E], v: f32) -> Option<usize> {
    let l = S::LANES;
    let vv = s.splat(v);
    let mut cs = y.chunks_exact(l);
    for (i, c) in (&mut cs).enumerate() {
        if let Some(j) = s.first_set(s.eq(E::vload(s, c), vv)) {
            return Some(i * l + j);
        }
    }
    let base = y.len() - cs.remainder().len();
    cs.remainder()
        .iter()
        .position(|e| e.widen() == v)
        .map(|j| base + j)
}

/// Log-softmax VJP (g − e^z Σg)/T from the stored log-probabilities z.
#[inline(always)]
pub(crate) fn log_softmax_vjp_row<S: Simd, E: Elem>(
    s: S,
    x: &[E],
    z: &[E],
    dy: &[E],
    p: &Params,
    dx: &mut [E],
) {
    let n = x.len();
    let (m, nan) = max_and_nan(s, x);
    if is_special(n, m, nan) {
        fill_backward(classify(x), true, p.t, dy, dx);
        return;
    }
    let l4 = 4 * S::LANES;
    let mut acc = [s.splat(0.0); 4];
    let mut gs = dy.chunks_exact(l4);
    for gc in &mut gs {
        let gv = load4::<S, E>(s, gc);
        for i in 0..4 {
            acc[i] = s.add(acc[i], gv[i]);
        }
    }
    if !gs.remainder().is_empty() {
        let gv = load4_tail::<S, E>(s, gs.remainder(), 0.0);
        for i in 0..4 {
            acc[i] = s.add(acc[i], gv[i]);
        }
    }
    let neg_total = s.splat(-s.reduce_add(sum4(s, acc)));
    let sc = s.splat(p.scale);
    macro_rules! f {
        ($z:expr, $g:expr) => {{
            let e = exp4(s, $z);
            zip4!(e, $g, |e, g| {
                let v = s.mul_add(e, neg_total, g);
                if p.unit {
                    v
                } else {
                    s.mul(v, sc)
                }
            })
        }};
    }
    let mut zs = z.chunks_exact(l4);
    let mut gs = dy.chunks_exact(l4);
    let mut ds = dx.chunks_exact_mut(l4);
    for ((zc, gc), dc) in (&mut zs).zip(&mut gs).zip(&mut ds) {
        let (zv, gv) = (load4::<S, E>(s, zc), load4::<S, E>(s, gc));
        store4(s, dc, f!(zv, gv));
    }
    let (zt, gt, dt) = (zs.remainder(), gs.remainder(), ds.into_remainder());
    if !zt.is_empty() {
        let zv = load4_tail::<S, E>(s, zt, f32::NEG_INFINITY);
        let gv = load4_tail::<S, E>(s, gt, 0.0);
        store4_tail(s, dt, f!(zv, gv));
    }
}
