//! Rounding-error bounds for the formulas the variants use, derived in the way
//! Blanchard, D. J. Higham & N. J. Higham (2021, "Accurately computing the
//! log-sum-exp and softmax functions", IMA J. Numer. Anal. 41(4)) analyse the
//! shifted formulas: the standard model fl(a op b) = (a op b)(1 + δ), |δ| <= u, an
//! `exp`/`ln` with relative error at most c·u, first-order terms collected, and the
//! result wrapped as γ(K) = K·u / (1 − K·u) to cover the higher-order terms.
//!
//! Notation: n the row length, u the unit roundoff of the type the arithmetic runs
//! in, u_s that of the storage type when it is narrower (one final rounding), t_i =
//! (max − x_i)/T ≥ 0, y the exact softmax, κ = 1 when T = 1 (one rounding in
//! x_i − max) and 3 when T ≠ 1 (the rounding of T and the division add two).
//! c_exp = c_ln = 2: glibc's `exp`, `expf`, `log`, `logf` are within 1 ulp = 2u.
//!
//! Shifted softmax (exp(x_j − a) / Σ exp(x_i − a), a = max): componentwise
//!   ŷ_j = y_j (1 + η_j), |η_j| <= u (κ t_j + κ Σ_i y_i t_i + 2 c_exp + n)
//! (κ t_j: argument error amplified by exp; 2 c_exp: numerator and sum; n − 1 for
//! the recursive sum and 1 for the division). Since y_j t_j = e^{−t_j} t_j / s <=
//! y_max / e and Σ_i y_i t_i <= (n − 1) y_max / e, the normwise error obeys
//!   max|ŷ − y| / max|y| <= γ(κ n / e + 2 c_exp + n) + u_s.
//!
//! Online softmax (Milakov & Gimelshein 2018: d_k = d_{k−1} e^{m_{k−1} − m_k} +
//! e^{x_k − m_k}): each step adds at most u (κ (ln n + 1 + 1/e) + 2 c_exp + 2) to the
//! relative error of d — the rescale's argument error Δ·u is weighted by the old
//! part's share of d_k, which is at most min(1, (k − 1) e^{−Δ}), so Δ·share <=
//! ln(k − 1) + 1. With the final pass as for the shifted formula:
//!   normwise <= γ((n − 1)(κ (ln n + 1 + 1/e) + 2 c_exp + 2) + κ / e + c_exp + 1) + u_s.
//!
//! Shifted log-softmax (z_j = (x_j − a)/T − ln Σ exp((x_i − a)/T)): the absolute
//! error is at most u (κ t_j + (n − 1)(1 + κ/e) + c_exp + c_ln ln s + |z_j|); with
//! t_j, |z_j|, ln s all <= max|z| and max|z| >= ln n,
//!   normwise <= γ(κ + 1 + c_ln + ((n − 1)(1 + κ/e) + c_exp) / ln n) + u_s   (n >= 2).
//!
//! Sum to one of the shifted softmax: |Σ ŷ_j − 1| <= Σ y_j |η_j| <=
//! γ(2 κ (n − 1)/e + 2 c_exp + n) + n·u_s (each stored entry rounds once more).

use crate::dtype::DType;
use crate::variant::{Accumulation, Formula};

/// Relative error of glibc's exp/expf in units of u (1 ulp = 2u).
pub const C_EXP: f64 = 2.0;
/// Relative error of glibc's log/logf in units of u (1 ulp = 2u).
pub const C_LN: f64 = 2.0;

/// The rounding parameters of one call: where the arithmetic runs and how it is stored.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rounding {
    /// Unit roundoff of the arithmetic.
    pub u: f64,
    /// Unit roundoff of the final rounding to storage (0 when the arithmetic is
    /// already in the storage type).
    pub u_store: f64,
}

impl Rounding {
    /// The rounding a variant with this accumulation policy does in `dtype`.
    pub fn of(acc: Accumulation, dtype: DType) -> Rounding {
        let us = dtype.unit_roundoff();
        let narrow = matches!(dtype, DType::F16 | DType::BF16);
        let (u, u_store) = match acc {
            Accumulation::Storage | Accumulation::Framework => (us, 0.0),
            Accumulation::F32ForHalf if narrow => (DType::F32.unit_roundoff(), us),
            Accumulation::F32ForHalf => (us, 0.0),
            Accumulation::Wide | Accumulation::F64 if dtype != DType::F64 => {
                (DType::F64.unit_roundoff(), us)
            }
            Accumulation::Wide => (crate::dtype::pow2(-104), DType::F64.unit_roundoff()),
            Accumulation::F64 => (DType::F64.unit_roundoff(), 0.0),
        };
        Rounding { u, u_store }
    }
}

/// γ(K) = K u / (1 − K u), infinite when K u >= 1 (no bound).
fn gamma(k: f64, u: f64) -> f64 {
    let ku = k * u;
    if ku >= 1.0 {
        f64::INFINITY
    } else {
        ku / (1.0 - ku)
    }
}

fn kappa(temperature: f64) -> f64 {
    if temperature == 1.0 {
        1.0
    } else {
        3.0
    }
}

/// The normwise error bound for `formula` on a row of length n (see module docs).
pub fn normwise(formula: Formula, r: Rounding, n: usize, temperature: f64) -> f64 {
    let nf = n as f64;
    let k = kappa(temperature);
    let e = std::f64::consts::E;
    let big_k = match formula {
        Formula::ShiftedSoftmax => k * nf / e + 2.0 * C_EXP + nf,
        Formula::OnlineSoftmax => {
            (nf - 1.0) * (k * (nf.ln() + 1.0 + 1.0 / e) + 2.0 * C_EXP + 2.0) + k / e + C_EXP + 1.0
        }
        Formula::ShiftedLogSoftmax => {
            if n < 2 {
                0.0
            } else {
                k + 1.0 + C_LN + ((nf - 1.0) * (1.0 + k / e) + C_EXP) / nf.ln()
            }
        }
    };
    gamma(big_k, r.u) + r.u_store
}

/// Bound on |Σ ŷ − 1| for a softmax formula (see module docs).
pub fn sum_to_one(formula: Formula, r: Rounding, n: usize, temperature: f64) -> f64 {
    let nf = n as f64;
    let k = kappa(temperature);
    let e = std::f64::consts::E;
    let big_k = match formula {
        Formula::ShiftedSoftmax => 2.0 * k * (nf - 1.0) / e + 2.0 * C_EXP + nf,
        // The online normaliser carries its larger relative error into every entry.
        Formula::OnlineSoftmax => {
            (nf - 1.0) * (k * (nf.ln() + 1.0 + 1.0 / e) + 2.0 * C_EXP + 2.0)
                + k * (nf - 1.0) / e
                + C_EXP
                + 1.0
        }
        Formula::ShiftedLogSoftmax => return f64::NAN,
    };
    gamma(big_k, r.u) + nf * r.u_store
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_grow_with_n_and_shrink_with_precision() {
        let r32 = Rounding::of(Accumulation::Storage, DType::F32);
        let r64 = Rounding::of(Accumulation::Storage, DType::F64);
        let b = |f, r, n| normwise(f, r, n, 1.0);
        assert!(b(Formula::ShiftedSoftmax, r32, 1000) > b(Formula::ShiftedSoftmax, r32, 10));
        assert!(b(Formula::ShiftedSoftmax, r64, 1000) < b(Formula::ShiftedSoftmax, r32, 1000));
        assert!(b(Formula::OnlineSoftmax, r32, 1000) > b(Formula::ShiftedSoftmax, r32, 1000));
        // n = 1000 in f32: K = 1000/e + 4 + 1000 = 1371.9, u = 2^-24.
        let want = 1371.8794411714423 * 2f64.powi(-24);
        assert!((b(Formula::ShiftedSoftmax, r32, 1000) / want - 1.0).abs() < 1e-4);
    }

    #[test]
    fn rounding_follows_the_accumulation_policy() {
        let r = Rounding::of(Accumulation::F32ForHalf, DType::F16);
        assert_eq!(
            r,
            Rounding {
                u: 2f64.powi(-24),
                u_store: 2f64.powi(-11)
            }
        );
        let r = Rounding::of(Accumulation::Wide, DType::F64);
        assert_eq!(
            r,
            Rounding {
                u: 2f64.powi(-104),
                u_store: 2f64.powi(-53)
            }
        );
        let r = Rounding::of(Accumulation::Storage, DType::BF16);
        assert_eq!(
            r,
            Rounding {
                u: 2f64.powi(-8),
                u_store: 0.0
            }
        );
        assert_eq!(gamma(2.0, 0.5), f64::INFINITY);
    }
}
