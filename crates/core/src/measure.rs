//! Error measures, defined once: ULP distance and ULP error in a dtype, bits of
//! error, relative error, the normwise error of Blanchard, D. J. Higham & N. J.
//! Higham (2021), and the deviation of a row sum from one.

use crate::dtype::{exponent_of, DType};
use crate::xd::Xd;

/// The position of an exact value of `dtype` in the ordered list of its values:
/// ±0 → 0, the smallest subnormal → ±1, ..., ±inf one past the largest finite.
fn ordinal(dtype: DType, v: f64) -> f64 {
    let f = dtype.format();
    let per_binade = crate::dtype::pow2(f.precision as i32 - 1);
    let a = v.abs();
    let k = if a == f64::INFINITY {
        (f.emax - f.emin + 2) as f64 * per_binade
    } else if a < f.min_normal() {
        a / f.min_subnormal()
    } else {
        let e = exponent_of(a);
        let m = a / crate::dtype::pow2(e); // in [1, 2)
        (e - f.emin + 1) as f64 * per_binade + (m - 1.0) * per_binade
    };
    if v < 0.0 {
        -k
    } else {
        k
    }
}

/// The number of `dtype` values between a and b (both values of that dtype):
/// 0 for equal values and for +0 vs −0; +inf counts as one step past the largest
/// finite value; NaN against NaN is 0, NaN against a number is infinite.
pub fn ulp_distance(dtype: DType, a: f64, b: f64) -> f64 {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => 0.0,
        (true, false) | (false, true) => f64::INFINITY,
        _ => (ordinal(dtype, a) - ordinal(dtype, b)).abs(),
    }
}

/// The error of a computed `dtype` value against the exact value, in units of the
/// spacing of `dtype` at the exact value (fractional; 0.5 for a correctly rounded
/// value at worst). Where the exact value rounds to ±inf, or the computed value is
/// not finite, the integer `ulp_distance` to the correctly rounded value is used.
pub fn ulp_error(dtype: DType, computed: f64, exact: Xd) -> f64 {
    if computed.is_nan() || exact.is_nan() {
        return if computed.is_nan() && exact.is_nan() {
            0.0
        } else {
            f64::INFINITY
        };
    }
    let f = dtype.format();
    let rounded = exact.round_to(f);
    if !rounded.is_finite() || !computed.is_finite() {
        return ulp_distance(dtype, computed, rounded);
    }
    let diff = Xd::from_f64(computed).sub(exact).abs();
    diff.div(Xd::from_f64(exact.ulp_in(f))).to_f64()
}

/// Bits of error for an error of `ulps`: log2(1 + ulps).
pub fn bits_of_error(ulps: f64) -> f64 {
    (1.0 + ulps).log2()
}

/// |computed − exact| / |exact| (0 when both are zero, inf when only exact is).
pub fn relative_error(computed: f64, exact: Xd) -> f64 {
    if computed.is_nan() || exact.is_nan() {
        return if computed.is_nan() && exact.is_nan() {
            0.0
        } else {
            f64::INFINITY
        };
    }
    if exact.is_zero() {
        return if computed == 0.0 { 0.0 } else { f64::INFINITY };
    }
    if exact.is_infinite() || computed.is_infinite() {
        return if Xd::from_f64(computed).partial_cmp(exact) == Some(std::cmp::Ordering::Equal) {
            0.0
        } else {
            f64::INFINITY
        };
    }
    Xd::from_f64(computed)
        .sub(exact)
        .abs()
        .div(exact.abs())
        .to_f64()
}

/// The normwise error max_i |ĝ_i − g_i| / max_i |g_i| (Blanchard, D. J. Higham &
/// N. J. Higham 2021). Entries where both are NaN, or equal infinities, count as
/// exact; a NaN or infinity against a finite exact value makes the error infinite.
/// 0 when every entry is exact, infinite when the exact vector is all zero and the
/// computed one is not.
pub fn normwise_error(computed: &[f64], exact: &[Xd]) -> f64 {
    assert_eq!(
        computed.len(),
        exact.len(),
        "normwise_error: lengths differ"
    );
    let mut num = Xd::ZERO;
    let mut den = Xd::ZERO;
    for (&c, &e) in computed.iter().zip(exact) {
        if e.is_nan() || e.is_infinite() || c.is_nan() || c.is_infinite() {
            let same = (c.is_nan() && e.is_nan())
                || (Xd::from_f64(c).partial_cmp(e) == Some(std::cmp::Ordering::Equal));
            if !same {
                return f64::INFINITY;
            }
            continue;
        }
        let d = Xd::from_f64(c).sub(e).abs();
        if d.partial_cmp(num) == Some(std::cmp::Ordering::Greater) {
            num = d;
        }
        if e.abs().partial_cmp(den) == Some(std::cmp::Ordering::Greater) {
            den = e.abs();
        }
    }
    if num.is_zero() {
        0.0
    } else if den.is_zero() {
        f64::INFINITY
    } else {
        num.div(den).to_f64()
    }
}

/// |Σ y_i − 1|, the sum taken exactly (NaN if any y_i is NaN).
pub fn sum_deviation(y: &[f64]) -> f64 {
    let s = y.iter().fold(Xd::ZERO, |acc, &v| acc.add(Xd::from_f64(v)));
    s.sub(Xd::ONE).abs().to_f64()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::pow2;
    use half::{bf16, f16};

    #[test]
    fn ulp_distance_counts_representable_values() {
        assert_eq!(ulp_distance(DType::F32, 1.0, 1.0 + pow2(-23)), 1.0);
        assert_eq!(ulp_distance(DType::F32, 1.0, 1.0 - pow2(-24)), 1.0);
        assert_eq!(ulp_distance(DType::F32, 0.0, -0.0), 0.0);
        // Smallest subnormals either side of zero are two steps apart.
        let s = f32::from_bits(1) as f64;
        assert_eq!(ulp_distance(DType::F32, s, -s), 2.0);
        assert_eq!(
            ulp_distance(DType::F32, f32::MAX as f64, f64::INFINITY),
            1.0
        );
        assert_eq!(ulp_distance(DType::F64, f64::NAN, f64::NAN), 0.0);
        assert_eq!(ulp_distance(DType::F64, f64::NAN, 1.0), f64::INFINITY);
        // Across a binade: 2 - ulp to 2 + ulp(2) is two steps.
        assert_eq!(
            ulp_distance(DType::F16, 2.0 - pow2(-10), 2.0 + pow2(-9)),
            2.0
        );
        // Agrees with bit-pattern distance on positive values.
        for (a, b) in [(0.1f32, 0.3f32), (1e-40, 3e-39), (7.0, 1e20)] {
            let d = (b.to_bits() as i64 - a.to_bits() as i64).unsigned_abs() as f64;
            assert_eq!(ulp_distance(DType::F32, a as f64, b as f64), d);
        }
        let (a, b) = (bf16::from_f32(0.1), bf16::from_f32(3.0));
        assert_eq!(
            ulp_distance(DType::BF16, a.to_f64(), b.to_f64()),
            (b.to_bits() - a.to_bits()) as f64
        );
        let (a, b) = (f16::from_f32(-0.1), f16::from_f32(-3.0));
        assert_eq!(
            ulp_distance(DType::F16, a.to_f64(), b.to_f64()),
            ((b.to_bits() & 0x7fff) - (a.to_bits() & 0x7fff)) as f64
        );
    }

    #[test]
    fn ulp_error_is_fractional_against_the_exact_value() {
        let third = Xd::ONE.div(Xd::from_f64(3.0));
        let r = third.round_to(DType::F32.format());
        let e = ulp_error(DType::F32, r, third);
        assert!(e > 0.3 && e <= 0.5, "{e}");
        let next = r + pow2(-25);
        assert!((ulp_error(DType::F32, next, third) - (e + 1.0)).abs() < 1e-9);
        assert_eq!(
            ulp_error(DType::F32, f64::INFINITY, Xd::from_f64(1e39)),
            0.0
        );
        assert_eq!(ulp_error(DType::F32, f64::NAN, Xd::ONE), f64::INFINITY);
        assert_eq!(bits_of_error(1.0), 1.0);
        assert_eq!(bits_of_error(0.0), 0.0);
    }

    #[test]
    fn normwise_error_is_the_max_over_the_max() {
        let exact = [Xd::from_f64(0.5), Xd::from_f64(0.25), Xd::from_f64(0.25)];
        assert_eq!(normwise_error(&[0.5, 0.25, 0.25], &exact), 0.0);
        assert_eq!(
            normwise_error(&[0.5, 0.26, 0.25], &exact),
            (0.26 - 0.25) / 0.5
        );
        assert_eq!(
            normwise_error(&[f64::NAN, 0.25, 0.25], &exact),
            f64::INFINITY
        );
        assert_eq!(normwise_error(&[f64::NAN], &[Xd::NAN]), 0.0);
        let masked = [Xd::INFINITY.neg(), Xd::from_f64(-0.5)];
        assert_eq!(normwise_error(&[f64::NEG_INFINITY, -0.5], &masked), 0.0);
        assert_eq!(normwise_error(&[-1e30, -0.5], &masked), f64::INFINITY);
        assert_eq!(
            normwise_error(&[0.0, 1e-30], &[Xd::ZERO, Xd::ZERO]),
            f64::INFINITY
        );
        assert_eq!(relative_error(1.5, Xd::ONE), 0.5);
        assert_eq!(sum_deviation(&[0.5, 0.25, 0.25 + pow2(-40)]), pow2(-40));
    }
}
