//! Overflow and underflow: per variant × dtype × point, the fraction of outputs
//! that are NaN or ±inf where the correctly rounded exact value is finite, and the
//! fraction flushed to zero where the correctly rounded exact value is not zero
//! (representable, yet lost); then, per variant × dtype, the first scale of the
//! sweep at which each appears ([`onset_table`]).

use std::sync::Arc;

use softmax_lab_core::fpenv::FlushGuard;
use softmax_lab_core::variant::forward_f64;
use softmax_lab_core::Variant;

use crate::generate::Input;
use crate::measure_accuracy::reference_rows;
use crate::results::Table;
use crate::stats::fraction;
use crate::HarnessError;

pub use softmax_lab_results::records::{onsets, OnsetRecord, OverflowRecord};

/// Measure every variant on the input.
pub fn measure(
    variants: &[Arc<dyn Variant>],
    input: &Input,
) -> Result<Vec<OverflowRecord>, HarnessError> {
    let f = input.dtype.format();
    let mut exact: Vec<(softmax_lab_core::Function, Vec<f64>)> = Vec::new();
    let mut out = Vec::with_capacity(variants.len());
    for v in variants {
        let info = *v.info();
        let y = {
            let _flush = FlushGuard::new(input.flush_subnormals);
            forward_f64(v.as_ref(), input.dtype, &input.x, input.n, &input.options())
        }
        .map_err(|e| input.variant_error(info.id, e))?;
        let pos = match exact.iter().position(|(g, _)| *g == info.function) {
            Some(p) => p,
            None => {
                let rounded = reference_rows(info.function, input)
                    .iter()
                    .map(|e| e.round_to(f))
                    .collect();
                exact.push((info.function, rounded));
                exact.len() - 1
            }
        };
        let want = &exact[pos].1;
        let nonfinite = y
            .iter()
            .zip(want)
            .filter(|(c, w)| !c.is_finite() && w.is_finite())
            .count();
        let flushed = y
            .iter()
            .zip(want)
            .filter(|(&c, &w)| c == 0.0 && w != 0.0 && !w.is_nan())
            .count();
        let zeros = y.iter().filter(|&&c| c == 0.0).count();
        out.push(OverflowRecord {
            key: input.key(info.id),
            samples: y.len(),
            nonfinite_fraction: fraction(nonfinite, y.len()),
            flushed_zero_fraction: fraction(flushed, y.len()),
            exact_zero_fraction: fraction(zeros, y.len()),
            exp_overflow_threshold: input.dtype.exp_overflow_threshold(),
        });
    }
    Ok(out)
}

/// The onset table of an overflow table ([`softmax_lab_results::records::onsets`]);
/// a table whose rows are not overflow records gives an empty onset table.
pub fn onset_table(overflow: &Table) -> Table {
    let records = overflow.records::<OverflowRecord>().unwrap_or_default();
    Table::from_records("onset", &onsets(&records))
}
