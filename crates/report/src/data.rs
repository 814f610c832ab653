//! Reading cells of result tables by column name, grouping rows, and formatting
//! numbers for prose and tables (one place, so the index reads alike everywhere).

use softmax_lab_results::{Table, Value};

/// Column indices of a table, looked up by name once; a missing column is an error
/// that names the table and the column.
pub struct Cols<'a> {
    table: &'a Table,
}

impl<'a> Cols<'a> {
    /// Wrap a table.
    pub fn new(table: &'a Table) -> Cols<'a> {
        Cols { table }
    }

    /// The index of a column, or an error naming it.
    pub fn idx(&self, name: &str) -> Result<usize, String> {
        self.table
            .column(name)
            .ok_or_else(|| format!("table '{}' has no column '{name}'", self.table.name))
    }

    /// The index of a column, if the table has it.
    pub fn opt(&self, name: &str) -> Option<usize> {
        self.table.column(name)
    }
}

/// A cell as f64 (Int and Float; NaN otherwise).
pub fn num(row: &[Value], i: usize) -> f64 {
    row.get(i).and_then(Value::as_f64).unwrap_or(f64::NAN)
}

/// A cell as text (Text cells as they are; other cells as CSV text).
pub fn text(row: &[Value], i: usize) -> String {
    match row.get(i) {
        Some(Value::Text(s)) => s.clone(),
        Some(v) => v.to_csv(),
        None => String::new(),
    }
}

/// A Bool cell (false otherwise).
pub fn boolean(row: &[Value], i: usize) -> bool {
    matches!(row.get(i), Some(Value::Bool(true)))
}

/// The distinct texts of a column, in order of first appearance.
pub fn distinct_text(rows: &[&[Value]], i: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in rows {
        let t = text(r, i);
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

/// The distinct finite numbers of a column, ascending.
pub fn distinct_num(rows: &[&[Value]], i: usize) -> Vec<f64> {
    let mut out: Vec<f64> = rows
        .iter()
        .map(|r| num(r, i))
        .filter(|v| v.is_finite())
        .collect();
    out.sort_by(f64::total_cmp);
    out.dedup_by(|a, b| a.to_bits() == b.to_bits());
    out
}

/// All rows of a table as slices.
pub fn rows(t: &Table) -> Vec<&[Value]> {
    t.rows.iter().map(Vec::as_slice).collect()
}

/// The dtypes in their natural order (narrow to wide), then any others.
pub fn dtype_order(mut dtypes: Vec<String>) -> Vec<String> {
    const ORDER: [&str; 4] = ["f16", "bf16", "f32", "f64"];
    dtypes.sort_by_key(|d| ORDER.iter().position(|o| o == d).unwrap_or(ORDER.len()));
    dtypes
}

/// A number for prose and tables: three significant digits, `inf`, `nan`.
pub fn fmt(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.into();
    }
    // Whole numbers (row lengths, vocabularies, counts) in full up to ten million.
    if v.fract() == 0.0 && v.abs() < 1e7 {
        return format!("{v:.0}");
    }
    crate::plot::fmt_tick(v)
}

/// A fraction as a percentage with up to three significant digits.
pub fn pct(v: f64) -> String {
    if v.is_finite() {
        format!("{}%", crate::plot::fmt_tick(v * 100.0))
    } else {
        fmt(v)
    }
}

/// The larger of two numbers where NaN loses but +inf wins.
pub fn max_nan(a: f64, b: f64) -> f64 {
    if a.is_nan() {
        b
    } else if b.is_nan() {
        a
    } else {
        a.max(b)
    }
}

/// The median of the finite values (NaN when none) and the mean ± sd of the finite
/// values: what the report states of a set of measured figures, computed by the one
/// statistics module.
pub use softmax_lab_results::stats::{mean_sd, median_finite as median};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_format_short() {
        assert_eq!(fmt(0.99123), "0.991");
        assert_eq!(fmt(11.0859375), "11.1");
        assert_eq!(fmt(f64::INFINITY), "inf");
        assert_eq!(pct(0.25), "25%");
        assert_eq!(median(&[3.0, f64::NAN, 1.0, 2.0]), 2.0);
        let (m, s) = mean_sd(&[1.0, 3.0]);
        assert_eq!((m, s), (2.0, 2f64.sqrt()));
        assert_eq!(
            dtype_order(vec!["f64".into(), "f16".into(), "x".into(), "bf16".into()]),
            vec!["f16", "bf16", "f64", "x"]
        );
    }
}
