//! Accuracy: per variant × dtype × point, ULP errors of every output entry
//! (max, median, 99th percentile, mean with its confidence interval), bits of
//! error, the normwise error of each row (Blanchard, D. J. Higham & N. J. Higham
//! 2021) next to the bound for the variant's formula, the deviation of each softmax
//! row sum from one, agreement of each row's argmax with the reference's, and exact
//! zeros — all against `softmax_lab_core::reference`; and, appended last, the
//! largest componentwise condition number κ_i of the point and the stability
//! ratio max_i err_i / (max(κ_i, 1)·u) (`softmax_lab_core::conditioning`, which
//! defines the entries it skips).

use std::collections::HashMap;
use std::sync::Arc;

use softmax_lab_core::bounds::{self, Rounding};
use softmax_lab_core::fpenv::FlushGuard;
use softmax_lab_core::measure::{bits_of_error, normwise_error, sum_deviation, ulp_error};
use softmax_lab_core::variant::forward_f64;
use softmax_lab_core::{conditioning, reference, Function, Variant, Xd};

use crate::generate::Input;
use crate::stats::{self, fraction};
use crate::HarnessError;

pub use softmax_lab_results::records::AccuracyRecord;

/// The index of the largest entry, first on ties; None when any entry is NaN.
pub fn argmax_f64(row: &[f64]) -> Option<usize> {
    if row.iter().any(|v| v.is_nan()) {
        return None;
    }
    let mut k = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[k] {
            k = i;
        }
    }
    Some(k)
}

/// The index of the largest exact entry, first on ties; None when any is NaN.
pub fn argmax_xd(row: &[Xd]) -> Option<usize> {
    if row.iter().any(|v| v.is_nan()) {
        return None;
    }
    let mut k = 0;
    for (i, v) in row.iter().enumerate() {
        if v.partial_cmp(row[k]) == Some(std::cmp::Ordering::Greater) {
            k = i;
        }
    }
    Some(k)
}

/// The exact outputs of `function` on every row of the input.
pub fn reference_rows(function: Function, input: &Input) -> Vec<Xd> {
    input
        .x
        .chunks_exact(input.n)
        .flat_map(|row| reference::forward(function, row, input.temperature))
        .collect()
}

/// κ_i of `function` on every row of the input (None: not defined for it).
pub fn kappa_rows(function: Function, input: &Input) -> Option<Vec<f64>> {
    let mut out = Vec::with_capacity(input.x.len());
    for row in input.x.chunks_exact(input.n) {
        out.extend(conditioning::kappa(function, row, input.temperature)?);
    }
    Some(out)
}

/// Score every variant on the input (callers pass only variants that run in the
/// input's dtype at its temperature).
pub fn measure(
    variants: &[Arc<dyn Variant>],
    input: &Input,
) -> Result<Vec<AccuracyRecord>, HarnessError> {
    let mut exact: HashMap<Function, Vec<Xd>> = HashMap::new();
    let mut kappas: HashMap<Function, Option<Vec<f64>>> = HashMap::new();
    let mut out = Vec::with_capacity(variants.len());
    let (n, dtype, t) = (input.n, input.dtype, input.temperature);
    for v in variants {
        let info = *v.info();
        let y = {
            let _flush = FlushGuard::new(input.flush_subnormals);
            forward_f64(v.as_ref(), dtype, &input.x, n, &input.options())
        }
        .map_err(|e| input.variant_error(info.id, e))?;
        let want = exact
            .entry(info.function)
            .or_insert_with(|| reference_rows(info.function, input));
        let ulps: Vec<f64> = y
            .iter()
            .zip(want.iter())
            .map(|(&c, &e)| ulp_error(dtype, c, e))
            .collect();
        let ulp = stats::summarize(&ulps);
        let mut normwise = Vec::with_capacity(input.rows);
        let mut sums = Vec::new();
        let mut agree = 0;
        for (yr, er) in y.chunks_exact(n).zip(want.chunks_exact(n)) {
            normwise.push(normwise_error(yr, er));
            if info.function == Function::Softmax {
                sums.push(sum_deviation(yr));
            }
            if argmax_f64(yr) == argmax_xd(er) {
                agree += 1;
            }
        }
        let nw = stats::summarize(&normwise);
        let sum = stats::summarize(&sums);
        let bound = info.formula.map_or(f64::NAN, |f| {
            bounds::normwise(f, Rounding::of(info.accumulation, dtype), n, t)
        });
        let exact_zeros = y.iter().filter(|&&c| c == 0.0).count();
        let kappa = kappas
            .entry(info.function)
            .or_insert_with(|| kappa_rows(info.function, input));
        let (kappa_max, max_err_over_kappa_u) = match kappa {
            None => (f64::NAN, f64::NAN),
            Some(k) => (
                k.iter()
                    .copied()
                    .filter(|v| !v.is_nan())
                    .fold(f64::NAN, f64::max),
                conditioning::err_over_kappa_u(dtype, &y, want, k),
            ),
        };
        out.push(AccuracyRecord {
            key: input.key(info.id),
            samples: y.len(),
            max_ulp: ulp.max,
            median_ulp: ulp.median,
            p99_ulp: ulp.p99,
            mean_ulp: ulp.mean,
            mean_ulp_ci95_low: ulp.ci95_low,
            mean_ulp_ci95_high: ulp.ci95_high,
            max_bits_of_error: bits_of_error(ulp.max),
            median_bits_of_error: bits_of_error(ulp.median),
            normwise: nw.max,
            median_normwise: nw.median,
            bound,
            max_sum_deviation: sum.max,
            median_sum_deviation: sum.median,
            argmax_agreement_fraction: fraction(agree, input.rows),
            exact_zeros,
            reference_zeros: want.iter().filter(|e| e.is_zero()).count(),
            exact_zero_fraction: fraction(exact_zeros, y.len()),
            kappa_max,
            max_err_over_kappa_u,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_is_first_on_ties_and_none_on_nan() {
        assert_eq!(argmax_f64(&[1.0, 3.0, 3.0]), Some(1));
        assert_eq!(argmax_f64(&[1.0, f64::NAN]), None);
        let x = [Xd::from_f64(0.5), Xd::from_f64(0.7), Xd::from_f64(0.7)];
        assert_eq!(argmax_xd(&x), Some(1));
    }
}
