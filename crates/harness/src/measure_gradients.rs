//! Gradients: per variant × dtype × point, the vector–Jacobian product dx for a
//! seeded random upstream gradient dy (entries Normal(0, 1) rounded to the dtype):
//!
//! - `vjp_norm_median`: the median over rows of ‖dx‖₂ — against the scale, the
//!   vanishing-gradient picture — next to the same for the exact VJP;
//! - `vjp_normwise`: agreement with the reference VJP (normwise error per row);
//! - `fd_normwise`: agreement with central finite differences of the variant's own
//!   forward in f64, step h_i = cbrt(ε · max(1, |x_i|)) (ε = 2^-52), on the first
//!   [`FD_ROWS`] rows of length at most [`FD_MAX_N`]; dtype f64 only (NaN for the
//!   others: a difference quotient of a narrow-dtype forward measures its rounding,
//!   not its derivative). Entries with a non-finite x_i are left out;
//! - `candle_normwise`: agreement with candle's autograd for the same function (the
//!   registered candle variant with a backward whose `Function` matches), NaN where
//!   there is none or it does not take the temperature;
//! - `tiny_grad_fraction`: entries with |dx_i| <= `tiny_grad_threshold` × max_j |dy_j|
//!   of their row (and the same for the exact VJP), and `zero_grad_fraction`: exact zeros.
//!
//! A variant without a backward gets a row with `has_backward = false` and NaN
//! figures: nothing is faked.

use std::collections::HashMap;
use std::sync::Arc;

use softmax_lab_core::measure::normwise_error;
use softmax_lab_core::variant::{forward_backward_f64, forward_f64};
use softmax_lab_core::{reference, DType, Function, Options, Variant, VariantError, Xd};

use crate::generate::Input;
use crate::stats::{self, fraction};
use crate::HarnessError;

pub use softmax_lab_results::records::GradientRecord;

/// Rows per point checked against finite differences.
pub const FD_ROWS: usize = 4;
/// The longest row checked against finite differences (the check costs n² per row).
pub const FD_MAX_N: usize = 256;

/// ‖v‖₂ without overflow or underflow of the squares.
pub fn l2_norm(v: &[f64]) -> f64 {
    if v.iter().any(|x| x.is_nan()) {
        return f64::NAN;
    }
    let m = v.iter().fold(0.0f64, |a, x| a.max(x.abs()));
    if m == 0.0 || m.is_infinite() {
        return m;
    }
    m * v.iter().map(|x| (x / m) * (x / m)).sum::<f64>().sqrt()
}

/// Count entries with |g_i| <= threshold × max_j |dy_j|, row by row.
fn tiny_count(g: &[f64], dy: &[f64], n: usize, threshold: f64) -> usize {
    g.chunks_exact(n)
        .zip(dy.chunks_exact(n))
        .map(|(gr, dr)| {
            let limit = threshold * dr.iter().fold(0.0f64, |a, d| a.max(d.abs()));
            gr.iter().filter(|d| d.abs() <= limit).count()
        })
        .sum()
}

/// a − b, with equal infinities giving 0 (an entry that stays −inf moves by nothing).
fn delta(a: f64, b: f64) -> f64 {
    if a == b {
        0.0
    } else {
        a - b
    }
}

/// Central finite differences of ⟨dy, f(x)⟩ for one row, in f64, from the variant's
/// forward; NaN where x_i is not finite.
fn finite_differences(
    v: &dyn Variant,
    x: &[f64],
    dy: &[f64],
    opts: &Options,
) -> Result<Vec<f64>, VariantError> {
    let n = x.len();
    let step = |xi: f64| {
        if xi.is_finite() {
            (f64::EPSILON * xi.abs().max(1.0)).cbrt()
        } else {
            0.0
        }
    };
    if v.info().function.is_rowwise() {
        // 2n perturbed copies of the row, one forward call.
        let mut batch = Vec::with_capacity(2 * n * n);
        for i in 0..n {
            for sign in [1.0, -1.0] {
                let mut r = x.to_vec();
                r[i] += sign * step(x[i]);
                batch.extend(r);
            }
        }
        let y = forward_f64(v, DType::F64, &batch, n, opts)?;
        Ok((0..n)
            .map(|i| {
                if !x[i].is_finite() {
                    return f64::NAN;
                }
                let h = (x[i] + step(x[i])) - (x[i] - step(x[i]));
                let (p, m) = (
                    &y[2 * i * n..(2 * i + 1) * n],
                    &y[(2 * i + 1) * n..(2 * i + 2) * n],
                );
                p.iter()
                    .zip(m)
                    .zip(dy)
                    .map(|((&a, &b), &g)| g * delta(a, b))
                    .sum::<f64>()
                    / h
            })
            .collect())
    } else {
        let plus: Vec<f64> = x.iter().map(|&xi| xi + step(xi)).collect();
        let minus: Vec<f64> = x.iter().map(|&xi| xi - step(xi)).collect();
        let yp = forward_f64(v, DType::F64, &plus, n, opts)?;
        let ym = forward_f64(v, DType::F64, &minus, n, opts)?;
        Ok((0..n)
            .map(|i| {
                if x[i].is_finite() {
                    dy[i] * delta(yp[i], ym[i]) / (plus[i] - minus[i])
                } else {
                    f64::NAN
                }
            })
            .collect())
    }
}

/// Largest normwise difference, row by row, of `dx` from `other` (entries where
/// `other` is NaN because it was not computed are left out), and the entries compared.
fn max_normwise(dx: &[f64], other: &[f64], n: usize, skip_nan: bool) -> (f64, usize) {
    let mut worst = f64::NAN;
    let mut count = 0;
    for (a, b) in dx.chunks_exact(n).zip(other.chunks_exact(n)) {
        let (a, b): (Vec<f64>, Vec<Xd>) = a
            .iter()
            .zip(b)
            .filter(|(_, o)| !(skip_nan && o.is_nan()))
            .map(|(&x, &o)| (x, Xd::from_f64(o)))
            .unzip();
        if a.is_empty() {
            continue;
        }
        count += a.len();
        worst = worst.max(normwise_error(&a, &b));
    }
    (worst, count)
}

/// Measure every variant on the input with upstream gradient `dy` (values of the
/// dtype, the shape of the input). `candle` holds the candle variants that have a
/// backward; each variant is compared with the one computing its function.
pub fn measure(
    variants: &[Arc<dyn Variant>],
    candle: &[Arc<dyn Variant>],
    input: &Input,
    dy: &[f64],
    tiny_grad_threshold: f64,
) -> Result<Vec<GradientRecord>, HarnessError> {
    let (n, dtype, opts) = (input.n, input.dtype, input.options());
    let mut exact: HashMap<Function, Vec<f64>> = HashMap::new();
    let mut exact_norms: HashMap<Function, (f64, Vec<Xd>)> = HashMap::new();
    let mut candle_dx: HashMap<Function, Option<(String, Vec<f64>)>> = HashMap::new();
    let mut out = Vec::with_capacity(variants.len());
    for v in variants {
        let info = *v.info();
        let key = input.key(info.id);
        let samples = input.x.len();
        let none = |has_backward: bool| GradientRecord {
            key: key.clone(),
            samples,
            has_backward,
            vjp_norm_median: f64::NAN,
            vjp_norm_ref_median: f64::NAN,
            vjp_normwise: f64::NAN,
            vjp_normwise_median: f64::NAN,
            fd_normwise: f64::NAN,
            fd_samples: 0,
            candle_variant: String::new(),
            candle_normwise: f64::NAN,
            candle_samples: 0,
            tiny_grad_threshold,
            tiny_grad_fraction: f64::NAN,
            ref_tiny_grad_fraction: f64::NAN,
            zero_grad_fraction: f64::NAN,
        };
        if !info.has_backward {
            out.push(none(false));
            continue;
        }
        let dx = match forward_backward_f64(v.as_ref(), dtype, &input.x, dy, n, &opts) {
            Ok((_, dx)) => dx,
            Err(VariantError::NoBackward(_)) => {
                out.push(none(false));
                continue;
            }
            Err(e) => return Err(input.variant_error(info.id, e)),
        };

        let (ref_norm, ref_rows) = exact_norms
            .entry(info.function)
            .or_insert_with(|| {
                let rows: Vec<Xd> = input
                    .x
                    .chunks_exact(n)
                    .zip(dy.chunks_exact(n))
                    .flat_map(|(xr, gr)| reference::vjp(info.function, xr, input.temperature, gr))
                    .collect();
                let as_f64: Vec<f64> = rows.iter().map(|e| e.to_f64()).collect();
                let norms: Vec<f64> = as_f64.chunks_exact(n).map(l2_norm).collect();
                (stats::median(&norms), rows)
            })
            .clone();
        let ref_f64 = exact
            .entry(info.function)
            .or_insert_with(|| ref_rows.iter().map(|e| e.to_f64()).collect());

        let norms: Vec<f64> = dx.chunks_exact(n).map(l2_norm).collect();
        let errors: Vec<f64> = dx
            .chunks_exact(n)
            .zip(ref_rows.chunks_exact(n))
            .map(|(a, e)| normwise_error(a, e))
            .collect();
        let err = stats::summarize(&errors);

        let (fd_normwise, fd_samples) = if dtype == DType::F64 && n <= FD_MAX_N {
            let mut fd_rows = Vec::new();
            let mut dx_rows = Vec::new();
            let rows = input.rows.min(FD_ROWS);
            for r in 0..rows {
                let (xr, gr) = (&input.x[r * n..(r + 1) * n], &dy[r * n..(r + 1) * n]);
                let fd = finite_differences(v.as_ref(), xr, gr, &opts)
                    .map_err(|e| input.variant_error(info.id, e))?;
                fd_rows.extend(fd);
                dx_rows.extend_from_slice(&dx[r * n..(r + 1) * n]);
            }
            max_normwise(&dx_rows, &fd_rows, n, true)
        } else {
            (f64::NAN, 0)
        };

        if let std::collections::hash_map::Entry::Vacant(slot) = candle_dx.entry(info.function) {
            let found = candle.iter().find(|c| {
                let ci = c.info();
                ci.function == info.function
                    && ci.has_backward
                    && ci.dtypes.contains(&dtype)
                    && (input.temperature == 1.0 || ci.temperature)
            });
            let computed = match found {
                Some(c) => {
                    let (_, d) = forward_backward_f64(c.as_ref(), dtype, &input.x, dy, n, &opts)
                        .map_err(|e| input.variant_error(c.id(), e))?;
                    Some((c.id().to_string(), d))
                }
                None => None,
            };
            slot.insert(computed);
        }
        let counterpart = candle_dx.get(&info.function).and_then(Option::as_ref);
        let (candle_variant, candle_normwise, candle_samples) = match counterpart {
            Some((id, d)) => {
                let (w, c) = max_normwise(&dx, d, n, false);
                (id.clone(), w, c)
            }
            None => (String::new(), f64::NAN, 0),
        };

        out.push(GradientRecord {
            key,
            samples,
            has_backward: true,
            vjp_norm_median: stats::median(&norms),
            vjp_norm_ref_median: ref_norm,
            vjp_normwise: err.max,
            vjp_normwise_median: err.median,
            fd_normwise,
            fd_samples,
            candle_variant,
            candle_normwise,
            candle_samples,
            tiny_grad_threshold,
            tiny_grad_fraction: fraction(tiny_count(&dx, dy, n, tiny_grad_threshold), samples),
            ref_tiny_grad_fraction: fraction(
                tiny_count(ref_f64, dy, n, tiny_grad_threshold),
                samples,
            ),
            zero_grad_fraction: fraction(dx.iter().filter(|&&d| d == 0.0).count(), samples),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn l2_norm_survives_extreme_magnitudes() {
        assert_eq!(l2_norm(&[3.0, 4.0]), 5.0);
        let tiny = l2_norm(&[3e-300, 4e-300]);
        assert!((tiny / 5e-300 - 1.0).abs() < 1e-15);
        assert_eq!(l2_norm(&[0.0, 0.0]), 0.0);
        assert!(l2_norm(&[1.0, f64::NAN]).is_nan());
        assert_eq!(
            tiny_count(&[1e-9, 0.5, 0.0, 1.0], &[1.0, -2.0, 1.0, 1.0], 2, 1e-8),
            2
        );
    }
}
