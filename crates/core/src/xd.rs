//! Double-double arithmetic with an unbounded binary exponent: the number type of
//! the high-precision reference.
//!
//! Why not f64: scoring an f64 output in ULPs needs a reference whose own error is
//! far below half an f64 ulp; f64 arithmetic cannot give that. Why not an
//! arbitrary-precision crate at run time: the reference has to score rows of 10^6
//! entries inside tests that take seconds, and a double-double `exp` is about a
//! hundred times faster than a 128-bit software float. The double-double carries
//! about 104 significant bits (relative error of each operation below 2^-100, of
//! `exp` and `ln` below 2^-95), which leaves more than 40 guard bits over f64 — enough to
//! round correctly to any of the four dtypes except when the exact value lies within
//! 2^-95 (relative) of a rounding boundary. The exponent is an `i64` next to the
//! pair, so `exp(-800)` or a softmax output of 1e-330 keeps its full precision
//! instead of becoming an f64 subnormal. The module is tested against astro-float
//! at 256 bits (see `tests/reference_vs_astro.rs`).

use std::cmp::Ordering;
use std::sync::OnceLock;

use crate::dtype::{exponent_of, pow2, Format};

/// An unevaluated sum hi + lo of two f64 with |lo| <= ulp(hi)/2.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dd {
    /// The leading part: the value rounded to f64.
    pub hi: f64,
    /// The trailing part.
    pub lo: f64,
}

/// x * 2^e for |e| <= 2100, in two steps so that no factor overflows on its own
/// (exact unless the result itself is subnormal or out of range).
fn ldexp(x: f64, e: i32) -> f64 {
    let a = e / 2;
    x * pow2(a.clamp(-1022, 1023)) * pow2((e - a).clamp(-1022, 1023))
}

/// Exact sum: a + b = s + e.
#[inline]
fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    let e = (a - (s - bb)) + (b - bb);
    (s, e)
}

/// Exact sum when |a| >= |b| (or a == 0).
#[inline]
fn quick_two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    (s, b - (s - a))
}

/// Exact product: a * b = p + e (needs a fused multiply-add).
#[inline]
fn two_prod(a: f64, b: f64) -> (f64, f64) {
    let p = a * b;
    (p, a.mul_add(b, -p))
}

// Named methods rather than operator traits: every call is a rounding step of
// double-double arithmetic, and the names keep that visible in the reference.
#[allow(clippy::should_implement_trait)]
impl Dd {
    /// Zero.
    pub const ZERO: Dd = Dd { hi: 0.0, lo: 0.0 };
    /// One.
    pub const ONE: Dd = Dd { hi: 1.0, lo: 0.0 };

    /// The exact value of an f64.
    pub fn from_f64(x: f64) -> Dd {
        Dd { hi: x, lo: 0.0 }
    }

    fn renorm(hi: f64, lo: f64) -> Dd {
        if !hi.is_finite() {
            return Dd { hi, lo: 0.0 };
        }
        let (h, l) = quick_two_sum(hi, lo);
        Dd { hi: h, lo: l }
    }

    /// The exact difference of two f64 as a double-double.
    pub fn diff(a: f64, b: f64) -> Dd {
        let (s, e) = two_sum(a, -b);
        if s.is_finite() {
            Dd { hi: s, lo: e }
        } else {
            Dd { hi: s, lo: 0.0 }
        }
    }

    /// Sum.
    pub fn add(self, b: Dd) -> Dd {
        let (s, e) = two_sum(self.hi, b.hi);
        if !s.is_finite() {
            return Dd { hi: s, lo: 0.0 };
        }
        let (t, f) = two_sum(self.lo, b.lo);
        let (s, e) = quick_two_sum(s, e + t);
        Dd::renorm(s, e + f)
    }

    /// Negation.
    pub fn neg(self) -> Dd {
        Dd {
            hi: -self.hi,
            lo: -self.lo,
        }
    }

    /// Difference.
    pub fn sub(self, b: Dd) -> Dd {
        self.add(b.neg())
    }

    /// Product.
    pub fn mul(self, b: Dd) -> Dd {
        let (p, e) = two_prod(self.hi, b.hi);
        if !p.is_finite() {
            return Dd { hi: p, lo: 0.0 };
        }
        Dd::renorm(p, e + (self.hi * b.lo + self.lo * b.hi))
    }

    /// Product with an f64.
    pub fn mul_f64(self, b: f64) -> Dd {
        self.mul(Dd::from_f64(b))
    }

    /// Quotient (three correction steps of long division).
    pub fn div(self, b: Dd) -> Dd {
        let q1 = self.hi / b.hi;
        if !q1.is_finite() || q1 == 0.0 {
            return Dd { hi: q1, lo: 0.0 };
        }
        let r = self.sub(b.mul_f64(q1));
        let q2 = r.hi / b.hi;
        let r = r.sub(b.mul_f64(q2));
        let q3 = r.hi / b.hi;
        let (h, l) = quick_two_sum(q1, q2);
        Dd { hi: h, lo: l }.add(Dd::from_f64(q3))
    }

    /// The value rounded to f64.
    pub fn to_f64(self) -> f64 {
        self.hi + self.lo
    }

    /// Natural logarithm of a positive finite double-double.
    pub fn ln(self) -> Dd {
        Xd::from_dd(self).ln()
    }
}

/// A double-double times a power of two: value = (hi + lo) * 2^exp with hi in
/// [1, 2) in magnitude (or hi zero, infinite or NaN, then exp is 0).
#[derive(Clone, Copy, Debug)]
pub struct Xd {
    m: Dd,
    exp: i64,
}

/// Beyond this exponent an `Xd` is treated as overflowed; far outside every dtype.
const EXP_LIMIT: i64 = 1 << 40;

fn ln2() -> Dd {
    Dd {
        hi: f64::from_bits(0x3FE62E42FEFA39EF),
        lo: f64::from_bits(0x3C7ABC9E3B39803F),
    }
}
/// The third word of ln 2 (ln2 = LN2.hi + LN2.lo + LN2_LO2 to ~2^-160).
fn ln2_lo2() -> f64 {
    f64::from_bits(0x3907B57A079A1934)
}

/// 1/k! for k = 0..=TAYLOR_TERMS as double-doubles.
const TAYLOR_TERMS: usize = 13;
fn inv_factorials() -> &'static [Dd; TAYLOR_TERMS + 1] {
    static T: OnceLock<[Dd; TAYLOR_TERMS + 1]> = OnceLock::new();
    T.get_or_init(|| {
        let mut out = [Dd::ONE; TAYLOR_TERMS + 1];
        let mut fact = 1.0f64;
        for (k, slot) in out.iter_mut().enumerate().skip(1) {
            fact *= k as f64; // exact: 13! < 2^53
            *slot = Dd::ONE.div(Dd::from_f64(fact));
        }
        out
    })
}

#[allow(clippy::should_implement_trait)]
impl Xd {
    /// Zero.
    pub const ZERO: Xd = Xd {
        m: Dd::ZERO,
        exp: 0,
    };
    /// One.
    pub const ONE: Xd = Xd { m: Dd::ONE, exp: 0 };
    /// NaN.
    pub const NAN: Xd = Xd {
        m: Dd {
            hi: f64::NAN,
            lo: 0.0,
        },
        exp: 0,
    };
    /// Positive infinity.
    pub const INFINITY: Xd = Xd {
        m: Dd {
            hi: f64::INFINITY,
            lo: 0.0,
        },
        exp: 0,
    };

    fn normalize(m: Dd, exp: i64) -> Xd {
        if m.hi == 0.0 || !m.hi.is_finite() {
            return Xd {
                m: Dd { hi: m.hi, lo: 0.0 },
                exp: 0,
            };
        }
        let e = exponent_of(m.hi);
        let exp = exp + e as i64;
        if exp > EXP_LIMIT {
            return Xd {
                m: Dd {
                    hi: f64::INFINITY.copysign(m.hi),
                    lo: 0.0,
                },
                exp: 0,
            };
        }
        if exp < -EXP_LIMIT {
            return Xd {
                m: Dd {
                    hi: 0.0f64.copysign(m.hi),
                    lo: 0.0,
                },
                exp: 0,
            };
        }
        Xd {
            m: Dd {
                hi: ldexp(m.hi, -e),
                lo: ldexp(m.lo, -e),
            },
            exp,
        }
    }

    /// The exact value of an f64.
    pub fn from_f64(x: f64) -> Xd {
        Xd::normalize(Dd::from_f64(x), 0)
    }

    /// The value of a double-double.
    pub fn from_dd(x: Dd) -> Xd {
        Xd::normalize(x, 0)
    }

    /// The value as a double-double (may overflow to inf or underflow, with lo lost).
    pub fn to_dd(self) -> Dd {
        if self.exp > 2000 {
            return Dd::from_f64(f64::INFINITY.copysign(self.m.hi));
        }
        if self.exp < -2000 {
            return Dd::from_f64(0.0f64.copysign(self.m.hi));
        }
        let e = self.exp as i32;
        Dd {
            hi: ldexp(self.m.hi, e),
            lo: ldexp(self.m.lo, e),
        }
    }

    /// The value rounded to f64 (with overflow to inf and gradual underflow).
    pub fn to_f64(self) -> f64 {
        self.round_to(crate::DType::F64.format())
    }

    /// True for NaN.
    pub fn is_nan(self) -> bool {
        self.m.hi.is_nan()
    }
    /// True for ±inf.
    pub fn is_infinite(self) -> bool {
        self.m.hi.is_infinite()
    }
    /// True for zero (of either sign).
    pub fn is_zero(self) -> bool {
        self.m.hi == 0.0
    }
    /// True for a negative value (or -0).
    pub fn is_sign_negative(self) -> bool {
        self.m.hi.is_sign_negative()
    }
    /// The binary exponent floor(log2 |x|) of a finite nonzero value.
    pub fn exponent(self) -> i64 {
        self.exp
    }

    /// Absolute value.
    pub fn abs(self) -> Xd {
        if self.m.hi < 0.0 {
            self.neg()
        } else {
            self
        }
    }

    /// Negation.
    pub fn neg(self) -> Xd {
        Xd {
            m: self.m.neg(),
            exp: self.exp,
        }
    }

    /// Sum.
    pub fn add(self, b: Xd) -> Xd {
        if self.m.hi == 0.0 || !b.m.hi.is_finite() {
            return if self.m.hi.is_nan() {
                self
            } else {
                b.plus_special(self)
            };
        }
        if b.m.hi == 0.0 || !self.m.hi.is_finite() {
            return self;
        }
        let (big, small) = if self.exp >= b.exp {
            (self, b)
        } else {
            (b, self)
        };
        let d = big.exp - small.exp;
        if d > 220 {
            // small is below 2^-218 of big: far under the 2^-104 the pair can hold.
            return big;
        }
        let s = pow2(-(d as i32));
        let sm = Dd {
            hi: small.m.hi * s,
            lo: small.m.lo * s,
        };
        Xd::normalize(big.m.add(sm), big.exp)
    }

    // b + other when b is infinite/NaN or other is zero.
    fn plus_special(self, other: Xd) -> Xd {
        if self.m.hi.is_infinite() && other.m.hi.is_infinite() && self.m.hi != other.m.hi {
            return Xd::NAN;
        }
        if self.m.hi == 0.0 && other.m.hi == 0.0 {
            // -0 + -0 = -0, otherwise +0.
            let z = if self.m.hi.is_sign_negative() && other.m.hi.is_sign_negative() {
                -0.0
            } else {
                0.0
            };
            return Xd::from_f64(z);
        }
        self
    }

    /// Difference.
    pub fn sub(self, b: Xd) -> Xd {
        self.add(b.neg())
    }

    /// Product.
    pub fn mul(self, b: Xd) -> Xd {
        Xd::normalize(self.m.mul(b.m), self.exp + b.exp)
    }

    /// Quotient.
    pub fn div(self, b: Xd) -> Xd {
        if b.m.hi == 0.0 || !b.m.hi.is_finite() || !self.m.hi.is_finite() || self.m.hi == 0.0 {
            return Xd::from_f64(self.m.hi / b.m.hi);
        }
        Xd::normalize(self.m.div(b.m), self.exp - b.exp)
    }

    /// e^x for a double-double argument, to about 2^-95 relative.
    pub fn exp(x: Dd) -> Xd {
        if x.hi.is_nan() {
            return Xd::NAN;
        }
        if x.hi > 1e12 {
            return Xd::INFINITY;
        }
        if x.hi < -1e12 {
            return Xd::ZERO;
        }
        // x = k ln2 + r, |r| <= ln2/2. Subtract the words of k·ln2 (three words of
        // ln2) one at a time, starting from the exact x.hi − fl(k·ln2.hi), so each
        // rounding is relative to the reduced argument rather than to |x|.
        let k = (x.hi / std::f64::consts::LN_2).round();
        let l2 = ln2();
        let (p, pe) = two_prod(k, l2.hi);
        let (q, qe) = two_prod(k, l2.lo);
        let r = Dd::diff(x.hi, p)
            .add(Dd::from_f64(x.lo))
            .sub(Dd::from_f64(pe))
            .sub(Dd { hi: q, lo: qe })
            .sub(Dd::from_f64(k * ln2_lo2()));
        // exp(r) = (exp(r / 2^5))^(2^5); keep e^t - 1 through the squarings. With
        // |t| <= 0.0109 the Taylor tail past t^13/13! is below 2^-120, and the five
        // squarings amplify the double-double rounding (2^-104) by at most 2^5.
        const SQUARINGS: i32 = 5;
        let t = Dd {
            hi: r.hi * pow2(-SQUARINGS),
            lo: r.lo * pow2(-SQUARINGS),
        };
        let c = inv_factorials();
        let mut poly = c[TAYLOR_TERMS];
        for coeff in c[1..TAYLOR_TERMS].iter().rev() {
            poly = poly.mul(t).add(*coeff);
        }
        let mut em1 = poly.mul(t); // e^t - 1
        for _ in 0..SQUARINGS {
            em1 = em1.mul_f64(2.0).add(em1.mul(em1));
        }
        Xd::normalize(Dd::ONE.add(em1), k as i64)
    }

    /// e^x for an extended argument (used when x is itself an `Xd`).
    pub fn exp_xd(x: Xd) -> Xd {
        if x.exp > 60 {
            return if x.m.hi > 0.0 { Xd::INFINITY } else { Xd::ZERO };
        }
        Xd::exp(x.to_dd())
    }

    /// Natural logarithm (NaN for negative values, -inf for zero).
    pub fn ln(self) -> Dd {
        if self.m.hi.is_nan() || self.m.hi < 0.0 {
            return Dd::from_f64(f64::NAN);
        }
        if self.m.hi == 0.0 {
            return Dd::from_f64(f64::NEG_INFINITY);
        }
        if self.m.hi.is_infinite() {
            return Dd::from_f64(f64::INFINITY);
        }
        // ln(m * 2^e) = ln(m) + e ln2, m in [1, 2); Newton on exp for ln(m).
        let mut y = Dd::from_f64(self.m.hi.ln());
        for _ in 0..2 {
            let ey = Xd::exp(y.neg()).to_dd();
            y = y.add(self.m.mul(ey)).sub(Dd::ONE);
        }
        let l2 = ln2();
        let e = self.exp as f64;
        let (p, pe) = two_prod(e, l2.hi);
        let el = Dd { hi: p, lo: pe }.add(Dd::from_f64(e).mul_f64(l2.lo));
        y.add(el)
    }

    /// ln(1 + x) for x ≥ 0, to about 2^-95 relative however small x is (ln of the
    /// pair 1 + x would keep only the part of x above 2^-106). Below 2^-10 the
    /// series x − x²/2 + x³/3 − …, summed until a term falls 2^-110 below the sum
    /// (at most a dozen terms); above, ln(1 + x) with 1 + x held to 2^-106
    /// absolutely, which is 2^-96 of x. NaN for negative or NaN x.
    pub fn ln_1p(self) -> Xd {
        if self.m.hi.is_nan() || self.m.hi < 0.0 {
            return Xd::NAN;
        }
        if self.m.hi == 0.0 || self.m.hi.is_infinite() {
            return self;
        }
        if self.exp >= -10 {
            return Xd::from_dd(Xd::ONE.add(self).ln());
        }
        let mut sum = self;
        let mut power = self;
        for k in 2..64 {
            power = power.mul(self).neg();
            let term = power.div(Xd::from_f64(k as f64));
            sum = sum.add(term);
            if term.exp < sum.exp - 110 {
                break;
            }
        }
        sum
    }

    /// Compare magnitudes-with-sign; None when either is NaN.
    pub fn partial_cmp(self, b: Xd) -> Option<Ordering> {
        if self.is_nan() || b.is_nan() {
            return None;
        }
        if self.is_infinite() || b.is_infinite() {
            // A finite value's hi is in ±[1, 2), so comparing the leading words orders
            // an infinity against anything (and equal infinities as equal).
            return self.m.hi.partial_cmp(&b.m.hi);
        }
        let d = self.sub(b);
        if d.is_zero() {
            Some(Ordering::Equal)
        } else if d.m.hi > 0.0 {
            Some(Ordering::Greater)
        } else {
            Some(Ordering::Less)
        }
    }

    /// Round to a binary format, to nearest with ties to even, with gradual
    /// underflow and overflow to ±inf: the correctly rounded value, as an f64.
    pub fn round_to(self, f: Format) -> f64 {
        let Xd { m, exp } = self;
        if m.hi == 0.0 || !m.hi.is_finite() {
            return m.hi;
        }
        if exp > f.emax as i64 + 1 {
            return f64::INFINITY.copysign(m.hi);
        }
        let q = f.quantum_exponent(exp);
        let shift = exp - q; // the value in units of the quantum is m * 2^shift
        if shift < -2 {
            // Below a quarter of the smallest quantum: rounds to zero.
            return 0.0f64.copysign(m.hi);
        }
        let s = pow2(shift as i32);
        let a = m.hi * s; // exact: shift <= 52 and no underflow
        let b = m.lo * s;
        let mut n = a.round_ties_even();
        let frac = a - n; // exact
        if frac.abs() == 0.5 {
            // a sits exactly on a midpoint; the low word decides.
            if b > 0.0 {
                n = a.ceil();
            } else if b < 0.0 {
                n = a.floor();
            }
        }
        // Otherwise |frac| < 1/2 is a multiple of ulp(a) and |b| <= ulp(a)/2, so b
        // cannot move the value across a midpoint.
        let r = n * pow2(q as i32);
        if r.abs() > f.max_finite() {
            f64::INFINITY.copysign(m.hi)
        } else if r == 0.0 {
            0.0f64.copysign(m.hi)
        } else {
            r
        }
    }

    /// The spacing of `f`'s values at this magnitude (2^quantum exponent).
    pub fn ulp_in(self, f: Format) -> f64 {
        let e = if self.m.hi == 0.0 || !self.m.hi.is_finite() {
            f.emin as i64
        } else {
            self.exp.min(f.emax as i64)
        };
        pow2(f.quantum_exponent(e) as i32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DType;

    fn close(a: Xd, b: f64, rel: f64) -> bool {
        let d = a.sub(Xd::from_f64(b)).abs().to_f64();
        d <= rel * b.abs()
    }

    #[test]
    fn exp_of_one_is_e_to_double_double_precision() {
        // e = 2.71828182845904523536028747135266249775724709369995...
        let e = Xd::exp(Dd::ONE).to_dd();
        assert_eq!(e.hi, std::f64::consts::E);
        // lo of e as a double-double: 1.4456468917292502e-16 (mpmath, 50 digits).
        assert!((e.lo - 1.4456468917292502e-16).abs() < 1e-31, "{:e}", e.lo);
    }

    #[test]
    fn exp_keeps_precision_far_below_f64_range() {
        // exp(-800) = 1.794979402128062 * 2^-1155 (mpmath, 300 bits): below every
        // f64, yet an Xd holds it to full precision.
        let v = Xd::exp(Dd::from_f64(-800.0));
        assert_eq!(v.to_f64(), 0.0);
        assert_eq!(v.exponent(), -1155);
        assert_eq!(v.m.hi, 1.794979402128062);
        // Within the module's stated 2^-95 relative accuracy.
        assert!(
            (v.m.lo - -7.59906269110934e-17).abs() < 1.8 * pow2(-95),
            "{:e}",
            v.m.lo
        );
    }

    #[test]
    fn ln_inverts_exp() {
        for x in [-700.5, -3.25, -1e-10, 0.0, 1e-20, 0.5, 2.0, 88.0, 700.0] {
            let y = Xd::exp(Dd::from_f64(x)).ln();
            assert!(
                (y.sub(Dd::from_f64(x))).hi.abs() <= 1e-29 * x.abs().max(1.0),
                "{x}: {y:?}"
            );
        }
        // ln 2 itself.
        let l = Xd::from_f64(2.0).ln();
        assert_eq!(l.hi, std::f64::consts::LN_2);
        assert!((l.lo - ln2().lo).abs() < 1e-32);
    }

    #[test]
    fn round_to_picks_the_correct_neighbour_from_the_low_word() {
        let f32f = DType::F32.format();
        // 1 + 2^-24 is the f32 midpoint; a tiny positive lo pushes it up.
        let mid = Xd::from_dd(Dd {
            hi: 1.0 + pow2(-24),
            lo: pow2(-80),
        });
        assert_eq!(mid.round_to(f32f), 1.0 + pow2(-23));
        let mid = Xd::from_dd(Dd {
            hi: 1.0 + pow2(-24),
            lo: -pow2(-80),
        });
        assert_eq!(mid.round_to(f32f), 1.0);
        let mid = Xd::from_f64(1.0 + pow2(-24));
        assert_eq!(mid.round_to(f32f), 1.0);
        // f64 subnormal from an extended value: 1.5 * 2^-1074 ties to 2 * 2^-1074.
        let tiny = Xd::from_f64(1.5)
            .mul(Xd::from_f64(pow2(-1000)))
            .mul(Xd::from_f64(pow2(-74)));
        assert_eq!(tiny.round_to(DType::F64.format()), pow2(-1073));
        assert!(close(Xd::from_f64(3.0), 3.0, 0.0));
    }

    #[test]
    fn add_handles_signed_zero_and_infinities() {
        let z = Xd::from_f64(-0.0).add(Xd::from_f64(-0.0));
        assert!(z.is_zero() && z.is_sign_negative());
        assert!(Xd::INFINITY.add(Xd::INFINITY.neg()).is_nan());
        assert!(Xd::ONE.add(Xd::INFINITY).is_infinite());
        let ninf = Xd::INFINITY.neg();
        assert_eq!(ninf.partial_cmp(ninf), Some(Ordering::Equal));
        assert_eq!(ninf.partial_cmp(Xd::from_f64(-1e300)), Some(Ordering::Less));
        assert_eq!(
            Xd::INFINITY.partial_cmp(Xd::from_f64(3.0)),
            Some(Ordering::Greater)
        );
        assert_eq!(Xd::ONE.add(Xd::ZERO).to_f64(), 1.0);
        assert_eq!(Xd::from_f64(3.0).sub(Xd::from_f64(3.0)).to_f64(), 0.0);
    }
}
