//! `softmax-lab demo`: the folklore examples, evaluated by every softmax variant
//! in every dtype and scored against the reference in ULPs — a one-screen look
//! before running the scenario suite.

use std::fmt::Write;

use softmax_lab_core::measure::ulp_error;
use softmax_lab_core::variant::forward_f64;
use softmax_lab_core::{reference, text, DType, Function, Options, Registry};

/// The rows the folklore quotes: softmax([2, 1, 0.1]) "≈ [0.7, 0.24, 0.06]",
/// [1000, 1001, 1002] "overflows unless you subtract the max", and
/// softmax([−20, 10, 30]) "= [1.9287e-22, 2.0612e-09, 1.0]".
pub const ROWS: [&[f64]; 3] = [
    &[2.0, 1.0, 0.1],
    &[1000.0, 1001.0, 1002.0],
    &[-20.0, 10.0, 30.0],
];

fn show(dtype: DType, v: f64) -> String {
    text::non_finite_name(v).map_or_else(|| text::format_value(dtype, v), str::to_string)
}

/// Evaluate every softmax-family variant on `ROWS` in every dtype it supports;
/// returns the table as text.
pub fn demo(registry: &Registry) -> Result<String, softmax_lab_core::VariantError> {
    let mut out = String::new();
    for row in ROWS {
        let _ = writeln!(out, "softmax({row:?})");
        let exact = reference::softmax(row, 1.0);
        let exact_f64: Vec<String> = exact.iter().map(|e| show(DType::F64, e.to_f64())).collect();
        let _ = writeln!(
            out,
            "  {:<26} {:<5} [{}]",
            "reference",
            "",
            exact_f64.join(", ")
        );
        for v in registry
            .iter()
            .filter(|v| v.info().function == Function::Softmax)
        {
            for &dtype in v.info().dtypes {
                let x: Vec<f64> = row.iter().map(|&a| dtype.format().round_f64(a)).collect();
                let y = forward_f64(v.as_ref(), dtype, &x, x.len(), &Options::default())?;
                let want = reference::softmax(&x, 1.0);
                let worst = y
                    .iter()
                    .zip(&want)
                    .map(|(&c, &e)| ulp_error(dtype, c, e))
                    .fold(0.0, f64::max);
                let shown: Vec<String> = y.iter().map(|&c| show(dtype, c)).collect();
                let _ = writeln!(
                    out,
                    "  {:<26} {:<5} [{}]  max error {} ulp",
                    v.id(),
                    dtype.name(),
                    shown.join(", "),
                    if worst.is_finite() {
                        format!("{worst:.2}")
                    } else {
                        "inf".into()
                    }
                );
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn demo_shows_the_overflow_and_the_true_values() {
        let text = super::demo(&crate::registry()).unwrap_or_default();
        // The reference's third entry of softmax([2, 1, 0.1]) is 0.0986, not 0.06.
        assert!(text.contains("0.09856589040931817"), "{text}");
        // naive overflows on [1000, 1001, 1002] in f32; stable does not.
        assert!(
            text.contains("naive                      f32   [nan, nan, nan]"),
            "{text}"
        );
        assert!(
            text.contains("stable_wide                f32   [0.09003057, 0.24472848, 0.66524094]"),
            "{text}"
        );
    }
}
