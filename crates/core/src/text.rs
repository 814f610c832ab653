//! Numbers as text, exactly: a decimal literal rounded once to a dtype (nearest,
//! ties to even), and a value printed as the shortest decimal that reads back to
//! the same value of its dtype. Non-finite values are the strings "inf", "-inf"
//! and "nan" wherever numbers are written as JSON.

use std::cmp::Ordering;

use num_bigint::BigUint;

use crate::dtype::{exponent_of, pow2, DType};

/// A literal that is not a decimal number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a number: expected a decimal such as -1.5e3, or \"inf\", \"-inf\", \"nan\"")]
pub struct NotANumber(pub String);

/// The name of a non-finite value as written in JSON files, or None for finite values.
pub fn non_finite_name(v: f64) -> Option<&'static str> {
    if v.is_nan() {
        Some("nan")
    } else if v == f64::INFINITY {
        Some("inf")
    } else if v == f64::NEG_INFINITY {
        Some("-inf")
    } else {
        None
    }
}

/// The value of one of the names "inf", "-inf", "nan".
pub fn parse_non_finite(s: &str) -> Option<f64> {
    match s {
        "inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        "nan" => Some(f64::NAN),
        _ => None,
    }
}

/// The magnitude of a decimal literal: digits times a power of ten.
struct Decimal {
    digits: BigUint,
    exp10: i64,
}

fn parse_decimal(s: &str) -> Option<Decimal> {
    let rest = s.strip_prefix('-').unwrap_or(s);
    let (mantissa, exp) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], rest[i + 1..].parse::<i64>().ok()?),
        None => (rest, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let all: String = [int, frac].concat();
    let digits = BigUint::parse_bytes(all.as_bytes(), 10)?;
    Some(Decimal {
        digits,
        exp10: exp - frac.len() as i64,
    })
}

/// Compare |decimal| with |p| exactly (p finite and nonzero).
fn cmp_exact(d: &Decimal, p: f64) -> Ordering {
    let a = p.abs();
    let e = exponent_of(a);
    // a = m * 2^q with m an integer below 2^53.
    let q = e.max(-1022) - 52;
    let m = (a / pow2(q)) as u64;
    let ten = BigUint::from(10u32);
    let two = BigUint::from(2u32);
    let mut lhs = d.digits.clone();
    let mut rhs = BigUint::from(m);
    if d.exp10 >= 0 {
        lhs *= ten.pow(d.exp10 as u32);
    } else {
        rhs *= ten.pow((-d.exp10) as u32);
    }
    if q >= 0 {
        rhs *= two.pow(q as u32);
    } else {
        lhs *= two.pow((-q) as u32);
    }
    lhs.cmp(&rhs)
}

/// Round a decimal literal (JSON number syntax) to `dtype`, nearest with ties to
/// even, in one rounding; returns the exact value as f64.
pub fn parse_value(dtype: DType, s: &str) -> Result<f64, NotANumber> {
    let bad = || NotANumber(s.to_string());
    let dec = parse_decimal(s).ok_or_else(bad)?;
    match dtype {
        // Rust's parsers round correctly from the decimal.
        DType::F64 => s.parse::<f64>().map_err(|_| bad()),
        DType::F32 => s.parse::<f32>().map(f64::from).map_err(|_| bad()),
        DType::F16 | DType::BF16 => {
            let p = s.parse::<f64>().map_err(|_| bad())?;
            let f = dtype.format();
            let r = f.round_f64(p);
            if !p.is_finite() || p == 0.0 {
                return Ok(r);
            }
            // Rounding the f64 nearest the decimal can differ from rounding the
            // decimal only when that f64 is exactly a midpoint of the dtype.
            let q = f.quantum_exponent(exponent_of(p) as i64) as i32;
            let scaled = p / pow2(q);
            if (scaled - scaled.trunc()).abs() != 0.5 {
                return Ok(r);
            }
            let toward_zero = scaled.trunc() * pow2(q);
            let away = (scaled.trunc() + scaled.signum()) * pow2(q);
            let pick = match cmp_exact(&dec, p) {
                Ordering::Equal => return Ok(r),
                Ordering::Greater => away,
                Ordering::Less => toward_zero,
            };
            Ok(if pick.abs() > f.max_finite() {
                f64::INFINITY.copysign(p)
            } else {
                pick
            })
        }
    }
}

/// The shortest decimal that `parse_value` reads back to exactly `v`, a finite
/// value of `dtype`, as a JSON number.
pub fn format_value(dtype: DType, v: f64) -> String {
    match dtype {
        DType::F64 => format!("{v:?}"),
        DType::F32 => format!("{:?}", v as f32),
        DType::F16 | DType::BF16 => {
            for digits in 1..=17 {
                let sci = format!("{:.*e}", digits - 1, v);
                // Re-print through f64 to get the plain form (0.5 rather than 5e-1).
                let candidate = match sci.parse::<f64>() {
                    Ok(f) => format!("{f:?}"),
                    Err(_) => continue,
                };
                if parse_value(dtype, &candidate) == Ok(v) {
                    return candidate;
                }
            }
            format!("{v:?}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use half::{bf16, f16};

    #[test]
    fn parse_rounds_once_to_the_dtype() {
        assert_eq!(parse_value(DType::F32, "0.1").unwrap(), 0.1f32 as f64);
        assert_eq!(
            parse_value(DType::F16, "0.1").unwrap(),
            f16::from_f64(0.1).to_f64()
        );
        assert_eq!(parse_value(DType::BF16, "1e39").unwrap(), f64::INFINITY);
        assert_eq!(
            parse_value(DType::F16, "-70000").unwrap(),
            f64::NEG_INFINITY
        );
        assert_eq!(
            parse_value(DType::F64, "-0").unwrap().to_bits(),
            (-0.0f64).to_bits()
        );
        assert!(parse_value(DType::F32, "1.2.3").is_err());
        assert!(parse_value(DType::F32, "inf").is_err());
        assert!(parse_value(DType::F32, "").is_err());
    }

    #[test]
    fn parse_breaks_midpoint_ties_by_the_exact_decimal() {
        // 1 + 2^-11 is the f16 midpoint between 1 and 1 + 2^-10; the decimal
        // 1.00048828125000000000000001 is above it but parses to it as an f64:
        // rounding the f64 would give 1 (ties to even), the decimal gives 1 + 2^-10.
        let above = "1.00048828125000000000000001";
        assert_eq!(above.parse::<f64>().unwrap(), 1.0 + pow2(-11));
        assert_eq!(parse_value(DType::F16, above).unwrap(), 1.0 + pow2(-10));
        let below = "1.00048828124999999999999999";
        assert_eq!(parse_value(DType::F16, below).unwrap(), 1.0);
        assert_eq!(parse_value(DType::F16, "1.00048828125").unwrap(), 1.0);
        // Between max and the overflow threshold: 65519.99999999999999999 stays finite.
        assert_eq!(
            parse_value(DType::F16, "65519.9999999999999999999").unwrap(),
            65504.0
        );
        assert_eq!(parse_value(DType::F16, "65520").unwrap(), f64::INFINITY);
        assert_eq!(
            parse_value(DType::F16, "-65519.9999999999999999999").unwrap(),
            -65504.0
        );
    }

    #[test]
    fn format_is_shortest_and_round_trips() {
        assert_eq!(format_value(DType::F16, f16::from_f64(0.1).to_f64()), "0.1");
        assert_eq!(format_value(DType::F32, 0.1f32 as f64), "0.1");
        assert_eq!(format_value(DType::F64, 0.1), "0.1");
        assert_eq!(format_value(DType::F64, 1e-300), "1e-300");
        for bits in (0..=0x7bffu16).step_by(7) {
            let v = f16::from_bits(bits).to_f64();
            assert_eq!(
                parse_value(DType::F16, &format_value(DType::F16, v)).unwrap(),
                v
            );
            let b = bf16::from_bits(bits << 1).to_f64();
            if b.is_finite() {
                assert_eq!(
                    parse_value(DType::BF16, &format_value(DType::BF16, b)).unwrap(),
                    b
                );
            }
        }
        assert_eq!(non_finite_name(f64::NEG_INFINITY), Some("-inf"));
        assert_eq!(parse_non_finite("nan").map(f64::is_nan), Some(true));
    }
}
