//! Overflow and underflow: per variant × dtype × point, the fraction of outputs
//! that are NaN or ±inf where the correctly rounded exact value is finite, and the
//! fraction flushed to zero where the correctly rounded exact value is not zero
//! (representable, yet lost); then, per variant × dtype, the first scale of the
//! sweep at which each appears ([`onset_table`]).

use std::sync::Arc;

use softmax_lab_core::variant::forward_f64;
use softmax_lab_core::{DType, Variant};

use crate::generate::Input;
use crate::measure_accuracy::reference_rows;
use crate::results::{columns_with_key, ColumnType, Key, Table, Value};
use crate::stats::fraction;
use crate::HarnessError;

/// The metric columns of the overflow table (after the key columns).
pub const METRICS: [(&str, ColumnType); 5] = [
    ("samples", ColumnType::Int),
    ("nonfinite_fraction", ColumnType::Float),
    ("flushed_zero_fraction", ColumnType::Float),
    ("exact_zero_fraction", ColumnType::Float),
    ("exp_overflow_threshold", ColumnType::Float),
];

/// One variant at one point.
#[derive(Clone, Debug, PartialEq)]
pub struct OverflowRecord {
    /// Where the record sits.
    pub key: Key,
    /// Output entries (rows × n): the denominator of every fraction.
    pub samples: usize,
    /// Outputs NaN or ±inf whose correctly rounded exact value is finite.
    pub nonfinite_fraction: f64,
    /// Outputs exactly 0 whose correctly rounded exact value is not 0.
    pub flushed_zero_fraction: f64,
    /// Outputs exactly 0, whatever the exact value.
    pub exact_zero_fraction: f64,
    /// The largest x of the dtype whose exp is finite (the dtype's fact, for reading).
    pub exp_overflow_threshold: f64,
}

impl OverflowRecord {
    /// The cells of the key and [`METRICS`] columns.
    pub fn cells(&self) -> Vec<Value> {
        let mut v = self.key.cells();
        v.extend([
            Value::Int(self.samples as i64),
            Value::Float(self.nonfinite_fraction),
            Value::Float(self.flushed_zero_fraction),
            Value::Float(self.exact_zero_fraction),
            Value::Float(self.exp_overflow_threshold),
        ]);
        v
    }
}

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
        let y = forward_f64(v.as_ref(), input.dtype, &input.x, input.n, &input.options())
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

/// The columns of the onset table.
pub fn onset_columns() -> Vec<(&'static str, ColumnType)> {
    let key: Vec<_> = columns_with_key(&[])
        .into_iter()
        .filter(|(name, _)| *name != "scale")
        .collect();
    key.into_iter()
        .chain([
            ("scale_points", ColumnType::Int),
            ("max_scale", ColumnType::Float),
            ("samples", ColumnType::Int),
            ("first_nonfinite_scale", ColumnType::Float),
            ("first_flushed_zero_scale", ColumnType::Float),
            ("exp_overflow_threshold", ColumnType::Float),
        ])
        .collect()
}

/// Per variant × dtype × n × generator × temperature of an overflow table: the
/// smallest swept scale with non-finite outputs, and with flushed zeros (NaN:
/// none within the sweep), next to the number of scales swept, the largest, and
/// the samples at each scale.
pub fn onset_table(overflow: &Table) -> Table {
    let cols = onset_columns();
    let mut out = Table::new("onset", &cols);
    let idx = |name: &str| overflow.column(name);
    let (Some(scale), Some(nonfinite), Some(flushed), Some(samples)) = (
        idx("scale"),
        idx("nonfinite_fraction"),
        idx("flushed_zero_fraction"),
        idx("samples"),
    ) else {
        return out;
    };
    let num = |row: &[Value], i: usize| row[i].as_f64().unwrap_or(f64::NAN);
    // Group rows by every key column but the scale, keeping first-seen order.
    let mut groups: Vec<(Vec<Value>, Vec<&Vec<Value>>)> = Vec::new();
    for row in &overflow.rows {
        let group: Vec<Value> = (0..scale).map(|i| row[i].clone()).collect();
        match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, rows)) => rows.push(row),
            None => groups.push((group, vec![row])),
        }
    }
    for (group, rows) in groups {
        let first = |col: usize| {
            rows.iter()
                .filter(|r| num(r, col) > 0.0)
                .map(|r| num(r, scale))
                .fold(f64::NAN, f64::min)
        };
        let dtype: Option<DType> = match &group[3] {
            Value::Text(d) => d.parse().ok(),
            _ => None,
        };
        let mut cells = group;
        cells.extend([
            Value::Int(rows.len() as i64),
            Value::Float(rows.iter().map(|r| num(r, scale)).fold(f64::NAN, f64::max)),
            Value::Int(rows.first().map_or(0, |r| num(r, samples) as i64)),
            Value::Float(first(nonfinite)),
            Value::Float(first(flushed)),
            Value::Float(dtype.map_or(f64::NAN, |d| d.exp_overflow_threshold())),
        ]);
        out.push(cells);
    }
    out
}
