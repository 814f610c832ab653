//! The four storage dtypes and the one trait that makes kernels generic over them.
//!
//! Every fact about a dtype (its name, precision, exponent range, unit roundoff,
//! overflow threshold of `exp`) is defined here once; everything else refers to it.

use std::fmt;
use std::ops::{Add, Div, Mul, Neg, Sub};
use std::str::FromStr;

use half::{bf16, f16};

use crate::variant::{Rows, RowsMut};

/// A floating-point storage format a variant can run in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    /// IEEE binary16.
    F16,
    /// bfloat16 (8-bit exponent, 8-bit significand).
    BF16,
    /// IEEE binary32.
    F32,
    /// IEEE binary64.
    F64,
}

/// The parameters of a binary floating-point format, enough to round to it exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Format {
    /// Significand bits, the hidden bit included (f32: 24).
    pub precision: u32,
    /// Exponent of the smallest normal number (f32: -126).
    pub emin: i32,
    /// Exponent of the largest finite number (f32: 127).
    pub emax: i32,
}

impl Format {
    /// Unit roundoff u = 2^-p: the largest relative error of one rounding to nearest.
    pub fn unit_roundoff(self) -> f64 {
        pow2(-(self.precision as i32))
    }

    /// The largest finite value, (2 - 2^(1-p)) * 2^emax.
    pub fn max_finite(self) -> f64 {
        (2.0 - pow2(1 - self.precision as i32)) * pow2(self.emax)
    }

    /// The smallest positive normal value, 2^emin.
    pub fn min_normal(self) -> f64 {
        pow2(self.emin)
    }

    /// The smallest positive subnormal value, 2^(emin - p + 1).
    pub fn min_subnormal(self) -> f64 {
        pow2(self.emin - self.precision as i32 + 1)
    }

    /// Exponent of the spacing of the format's values around a magnitude whose
    /// binary exponent is `e` (subnormals share the spacing of the smallest binade).
    pub fn quantum_exponent(self, e: i64) -> i64 {
        e.max(self.emin as i64) - (self.precision as i64 - 1)
    }

    /// Round an f64 to this format, to nearest with ties to even, with gradual
    /// underflow and overflow to ±inf. The result is exactly representable in the
    /// format (and in f64). One rounding: no double rounding through f32.
    pub fn round_f64(self, x: f64) -> f64 {
        if !x.is_finite() || x == 0.0 {
            return x;
        }
        let q = self.quantum_exponent(exponent_of(x) as i64) as i32;
        // x / 2^q and back are exact: q stays within [-1074, 1023] for every format,
        // and each scaling goes in two halves, since 2^-q alone leaves f64's range
        // for q < -1023 (f64 values below 2^-971).
        let scale = |v: f64, e: i32| v * pow2(e / 2) * pow2(e - e / 2);
        let r = scale(scale(x, -q).round_ties_even(), q);
        if r.abs() > self.max_finite() {
            f64::INFINITY.copysign(x)
        } else {
            r
        }
    }
}

impl DType {
    /// Every dtype, narrowest first.
    pub const ALL: [DType; 4] = [DType::F16, DType::BF16, DType::F32, DType::F64];

    /// The name used on the command line, in scenarios and in results.
    pub fn name(self) -> &'static str {
        match self {
            DType::F16 => "f16",
            DType::BF16 => "bf16",
            DType::F32 => "f32",
            DType::F64 => "f64",
        }
    }

    /// The binary format behind the dtype.
    pub fn format(self) -> Format {
        match self {
            DType::F16 => Format {
                precision: 11,
                emin: -14,
                emax: 15,
            },
            DType::BF16 => Format {
                precision: 8,
                emin: -126,
                emax: 127,
            },
            DType::F32 => Format {
                precision: 24,
                emin: -126,
                emax: 127,
            },
            DType::F64 => Format {
                precision: 53,
                emin: -1022,
                emax: 1023,
            },
        }
    }

    /// Bytes one element occupies in memory.
    pub fn size_bytes(self) -> usize {
        match self {
            DType::F16 | DType::BF16 => 2,
            DType::F32 => 4,
            DType::F64 => 8,
        }
    }

    /// Unit roundoff of the dtype (f32: 2^-24).
    pub fn unit_roundoff(self) -> f64 {
        self.format().unit_roundoff()
    }

    /// The largest value x of this dtype whose exp, rounded to this dtype, is finite
    /// (f16 11.09, bf16 88.5, f32 88.72, f64 709.78).
    pub fn exp_overflow_threshold(self) -> f64 {
        match self {
            DType::F16 => largest_with_finite_exp::<f16>(),
            DType::BF16 => largest_with_finite_exp::<bf16>(),
            DType::F32 => largest_with_finite_exp::<f32>(),
            DType::F64 => largest_with_finite_exp::<f64>(),
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A dtype name that is not one of `f16`, `bf16`, `f32`, `f64`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown dtype '{0}': expected one of f16, bf16, f32, f64")]
pub struct UnknownDType(pub String);

impl FromStr for DType {
    type Err = UnknownDType;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DType::ALL
            .into_iter()
            .find(|d| d.name() == s)
            .ok_or_else(|| UnknownDType(s.to_string()))
    }
}

/// A storage element: f16, bf16, f32 or f64.
///
/// Arithmetic through the operator traits rounds to `Self` after every operation
/// (for f16/bf16 the `half` crate computes in f32 and rounds once, which is
/// correctly rounded for + - * / because f32 carries more than 2p+2 bits).
pub trait Element:
    Copy
    + Send
    + Sync
    + PartialOrd
    + PartialEq
    + fmt::Debug
    + Default
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    /// The dtype tag of this element type.
    const DTYPE: DType;
    /// Zero.
    const ZERO: Self;
    /// One.
    const ONE: Self;
    /// Positive infinity.
    const INFINITY: Self;
    /// Negative infinity.
    const NEG_INFINITY: Self;
    /// A quiet NaN.
    const NAN: Self;

    /// The exact value as f64 (every element of every dtype is an f64).
    fn to_f64(self) -> f64;
    /// Round an f64 to this dtype, to nearest, ties to even (one rounding).
    fn from_f64(x: f64) -> Self;
    /// The value as f32 (exact for f16, bf16 and f32; rounded for f64).
    fn to_f32(self) -> f32;
    /// Round an f32 to this dtype, to nearest, ties to even.
    fn from_f32(x: f32) -> Self;
    /// The raw bits, zero-extended.
    fn to_bits_u64(self) -> u64;
    /// exp rounded to this dtype (f16/bf16: from f32 `exp`, rounded once more).
    fn exp(self) -> Self;
    /// Natural logarithm rounded to this dtype (f16/bf16 as for `exp`).
    fn ln(self) -> Self;
    /// ln(1 + x) rounded to this dtype, accurate for tiny x (f16/bf16 as for `exp`).
    fn ln_1p(self) -> Self;
    /// exp(x) − 1 rounded to this dtype, accurate for tiny x (f16/bf16 as for `exp`).
    fn exp_m1(self) -> Self;

    /// The slice behind a `Rows` of this dtype (None for another dtype).
    fn view(rows: Rows<'_>) -> Option<&[Self]>;
    /// The slice behind a `RowsMut` of this dtype (None for another dtype).
    fn view_mut(rows: RowsMut<'_>) -> Option<&mut [Self]>;

    /// True for NaN.
    fn is_nan(self) -> bool {
        self.to_f64().is_nan()
    }
    /// True for neither NaN nor infinite.
    fn is_finite(self) -> bool {
        self.to_f64().is_finite()
    }
    /// The larger of two values, NaN-ignoring like `f64::max`.
    fn max(self, other: Self) -> Self {
        if other > self || self.is_nan() {
            other
        } else {
            self
        }
    }
    /// The smaller of two values, NaN-ignoring like `f64::min`.
    fn min(self, other: Self) -> Self {
        if other < self || self.is_nan() {
            other
        } else {
            self
        }
    }
}

impl Element for f64 {
    const DTYPE: DType = DType::F64;
    fn view(rows: Rows<'_>) -> Option<&[Self]> {
        match rows {
            Rows::F64(v) => Some(v),
            _ => None,
        }
    }
    fn view_mut(rows: RowsMut<'_>) -> Option<&mut [Self]> {
        match rows {
            RowsMut::F64(v) => Some(v),
            _ => None,
        }
    }
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const INFINITY: Self = f64::INFINITY;
    const NEG_INFINITY: Self = f64::NEG_INFINITY;
    const NAN: Self = f64::NAN;
    fn to_f64(self) -> f64 {
        self
    }
    fn from_f64(x: f64) -> Self {
        x
    }
    fn to_f32(self) -> f32 {
        self as f32
    }
    fn from_f32(x: f32) -> Self {
        x as f64
    }
    fn to_bits_u64(self) -> u64 {
        self.to_bits()
    }
    fn exp(self) -> Self {
        f64::exp(self)
    }
    fn ln(self) -> Self {
        f64::ln(self)
    }
    fn ln_1p(self) -> Self {
        f64::ln_1p(self)
    }
    fn exp_m1(self) -> Self {
        f64::exp_m1(self)
    }
}

impl Element for f32 {
    const DTYPE: DType = DType::F32;
    fn view(rows: Rows<'_>) -> Option<&[Self]> {
        match rows {
            Rows::F32(v) => Some(v),
            _ => None,
        }
    }
    fn view_mut(rows: RowsMut<'_>) -> Option<&mut [Self]> {
        match rows {
            RowsMut::F32(v) => Some(v),
            _ => None,
        }
    }
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const INFINITY: Self = f32::INFINITY;
    const NEG_INFINITY: Self = f32::NEG_INFINITY;
    const NAN: Self = f32::NAN;
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn from_f64(x: f64) -> Self {
        // `as` rounds to nearest, ties to even, directly from f64.
        x as f32
    }
    fn to_f32(self) -> f32 {
        self
    }
    fn from_f32(x: f32) -> Self {
        x
    }
    fn to_bits_u64(self) -> u64 {
        self.to_bits() as u64
    }
    fn exp(self) -> Self {
        f32::exp(self)
    }
    fn ln(self) -> Self {
        f32::ln(self)
    }
    fn ln_1p(self) -> Self {
        f32::ln_1p(self)
    }
    fn exp_m1(self) -> Self {
        f32::exp_m1(self)
    }
}

macro_rules! half_element {
    ($t:ty, $d:expr, $v:ident) => {
        impl Element for $t {
            const DTYPE: DType = $d;
            fn view(rows: Rows<'_>) -> Option<&[Self]> {
                match rows {
                    Rows::$v(v) => Some(v),
                    _ => None,
                }
            }
            fn view_mut(rows: RowsMut<'_>) -> Option<&mut [Self]> {
                match rows {
                    RowsMut::$v(v) => Some(v),
                    _ => None,
                }
            }
            const ZERO: Self = <$t>::ZERO;
            const ONE: Self = <$t>::ONE;
            const INFINITY: Self = <$t>::INFINITY;
            const NEG_INFINITY: Self = <$t>::NEG_INFINITY;
            const NAN: Self = <$t>::NAN;
            fn to_f64(self) -> f64 {
                <$t>::to_f64(self)
            }
            fn from_f64(x: f64) -> Self {
                // Round once with our own exact rounding, then convert exactly.
                <$t>::from_f64($d.format().round_f64(x))
            }
            fn to_f32(self) -> f32 {
                <$t>::to_f32(self)
            }
            fn from_f32(x: f32) -> Self {
                <Self as Element>::from_f64(x as f64)
            }
            fn to_bits_u64(self) -> u64 {
                self.to_bits() as u64
            }
            fn exp(self) -> Self {
                <Self as Element>::from_f32(<$t>::to_f32(self).exp())
            }
            fn ln(self) -> Self {
                <Self as Element>::from_f32(<$t>::to_f32(self).ln())
            }
            fn ln_1p(self) -> Self {
                <Self as Element>::from_f32(<$t>::to_f32(self).ln_1p())
            }
            fn exp_m1(self) -> Self {
                <Self as Element>::from_f32(<$t>::to_f32(self).exp_m1())
            }
        }
    };
}
half_element!(f16, DType::F16, F16);
half_element!(bf16, DType::BF16, BF16);

/// 2^e as an f64, exact for e in [-1074, 1023].
pub fn pow2(e: i32) -> f64 {
    if e >= -1022 {
        f64::from_bits(((e + 1023) as u64) << 52)
    } else {
        f64::from_bits(1u64 << (e + 1074))
    }
}

/// The binary exponent of a finite nonzero f64: floor(log2 |x|), subnormals included.
pub fn exponent_of(x: f64) -> i32 {
    let bits = x.abs().to_bits();
    let biased = (bits >> 52) as i32;
    if biased == 0 {
        // Subnormal: the position of the leading set bit.
        let mant = bits & ((1u64 << 52) - 1);
        -1022 - (mant.leading_zeros() as i32 - 11)
    } else {
        biased - 1023
    }
}

/// The largest x of type T with exp(x) finite in T: ln(max) rounded to T is within
/// a step or two of it (every threshold lies inside a binade), so walk from there.
fn largest_with_finite_exp<T: Element>() -> f64 {
    let f = T::DTYPE.format();
    let finite = |x: f64| T::from_f64(x.exp()).is_finite();
    let mut x = T::from_f64(f.max_finite().ln()).to_f64();
    let step = pow2(f.quantum_exponent(exponent_of(x) as i64) as i32);
    while !finite(x) {
        x -= step;
    }
    while finite(x + step) {
        x += step;
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_lists_allowed() {
        for d in DType::ALL {
            assert_eq!(d.name().parse::<DType>().unwrap(), d);
        }
        let err = "f8".parse::<DType>().unwrap_err().to_string();
        assert!(err.contains("f16, bf16, f32, f64"), "{err}");
    }

    #[test]
    fn format_constants_match_the_standard() {
        assert_eq!(DType::F16.format().max_finite(), 65504.0);
        assert_eq!(DType::F32.format().max_finite(), f32::MAX as f64);
        assert_eq!(DType::F64.format().max_finite(), f64::MAX);
        assert_eq!(DType::BF16.format().max_finite(), bf16::MAX.to_f64());
        assert_eq!(DType::F16.format().min_subnormal(), 2f64.powi(-24));
        assert_eq!(
            DType::F32.format().min_subnormal(),
            f32::from_bits(1) as f64
        );
        assert_eq!(DType::F64.format().min_subnormal(), f64::from_bits(1));
        assert_eq!(DType::F32.unit_roundoff(), f32::EPSILON as f64 / 2.0);
    }

    #[test]
    fn overflow_thresholds_are_the_known_ones() {
        // Facts: f16 11.09, bf16 88.5, f32 88.72, f64 709.78.
        assert_eq!(DType::F16.exp_overflow_threshold(), 11.0859375);
        assert_eq!(DType::BF16.exp_overflow_threshold(), 88.5);
        assert!((DType::F32.exp_overflow_threshold() - 88.72283).abs() < 1e-5);
        assert!((DType::F64.exp_overflow_threshold() - 709.782712893384).abs() < 1e-12);
    }

    #[test]
    fn round_f64_is_ties_to_even_with_gradual_underflow() {
        let f = DType::F16.format();
        // 1 + 2^-11 is the midpoint between 1 and 1 + 2^-10: ties to even gives 1.
        assert_eq!(f.round_f64(1.0 + pow2(-11)), 1.0);
        assert_eq!(f.round_f64(1.0 + 3.0 * pow2(-11)), 1.0 + 2.0 * pow2(-10));
        // Just above the midpoint rounds up.
        assert_eq!(f.round_f64(1.0 + pow2(-11) + pow2(-30)), 1.0 + pow2(-10));
        // Half the smallest subnormal ties to zero; a hair more rounds up.
        assert_eq!(f.round_f64(pow2(-25)), 0.0);
        assert_eq!(f.round_f64(pow2(-25) * 1.0001), pow2(-24));
        // Overflow: max + half an ulp rounds to inf, just below stays.
        assert_eq!(f.round_f64(65520.0), f64::INFINITY);
        // f64 is its own format at every magnitude, the smallest included (2^-q
        // left the range below 2^-971 and gave inf).
        let d = DType::F64.format();
        for x in [1e-300, -3e-310, 5e-324, f64::MIN_POSITIVE, 1e300, f64::MAX] {
            assert_eq!(d.round_f64(x), x, "{x:e}");
        }
        assert_eq!(f.round_f64(65519.99), 65504.0);
        assert_eq!(f.round_f64(-1e9), f64::NEG_INFINITY);
    }

    #[test]
    fn half_conversions_agree_with_exact_rounding() {
        // half's own conversion against ours on values that stress the rounding.
        let mut x = 1.0e-9f64;
        while x < 7.0e4 {
            for v in [x, -x, x * (1.0 + 1e-12)] {
                assert_eq!(
                    f16::from_f64(v).to_f64(),
                    DType::F16.format().round_f64(v),
                    "{v}"
                );
            }
            x *= 1.0137;
        }
        assert_eq!(<f32 as Element>::from_f64(1.0 + pow2(-24)), 1.0);
    }

    #[test]
    fn exponent_of_handles_subnormals() {
        assert_eq!(exponent_of(1.0), 0);
        assert_eq!(exponent_of(0.75), -1);
        assert_eq!(exponent_of(f64::from_bits(1)), -1074);
        assert_eq!(exponent_of(f64::MIN_POSITIVE), -1022);
    }
}
