//! Gradient sections: the VJP norm against the logit scale (vanishing gradients),
//! agreement with the exact VJP, finite differences and candle's autograd.

use softmax_lab_core::{Family, Function};
use softmax_lab_results::records::GradientRecord;
use softmax_lab_results::VariantFacts;

use super::{and_list, code, plain, Loaded, Rendered};
use crate::data::{dtype_order, fmt, max_nan};
use crate::doc::{t, Block};
use crate::plot::{Axis, Content, Figure, Panel, Series, Style, REFERENCE};

/// The facts of variant `id` among those a results file states.
fn facts<'a>(facts: &'a [VariantFacts], id: &str) -> Option<&'a VariantFacts> {
    facts.iter().find(|f| f.id == id)
}

/// The function of variant `id`, as its results file states it.
fn function(all: &[VariantFacts], id: &str) -> Option<Function> {
    facts(all, id).map(|f| f.function)
}

/// Whether a variant is its function's textbook implementation: one of the family
/// that owns the function (the stable softmax, the log-sum-exp log-softmax, the
/// sigmoid heads, the sparse maps), not a naive, SIMD or candle one.
fn textbook(f: &VariantFacts) -> bool {
    matches!(
        (f.function, f.family),
        (Function::Softmax, Family::Stable)
            | (Function::LogSoftmax, Family::LogSumExp)
            | (Function::Sigmoid, Family::Sigmoid)
            | (Function::Sparsemax | Function::Entmax15, Family::Sparse)
    )
}

/// The function group of a variant's function (panels of the norm figure); a
/// variant the results file has no facts for is "other".
pub fn group(function: Option<Function>) -> &'static str {
    match function {
        Some(Function::Sparsemax | Function::Entmax15) => "sparsemax and entmax",
        Some(Function::Sigmoid | Function::HardSigmoid) => "sigmoid",
        Some(Function::LogSoftmax) => "log-softmax",
        Some(Function::Softmax | Function::GumbelSoftmax) => "softmax",
        None => "other",
    }
}

fn distinct(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut out = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

/// The findings paragraph.
pub fn findings(rows: &[GradientRecord], all: &[VariantFacts]) -> String {
    let with: Vec<&GradientRecord> = rows.iter().filter(|r| r.has_backward).collect();
    let without = distinct(
        rows.iter()
            .filter(|r| !r.has_backward)
            .map(|r| r.key.variant.clone()),
    );
    let mut s = String::new();
    // The vanishing gradient: norm at the smallest and the largest scale, per group,
    // for the first variant of the group in the widest common dtype (f32 if present).
    let dtype = if rows.iter().any(|r| r.key.dtype.name() == "f32") {
        "f32".to_string()
    } else {
        rows.first()
            .map(|r| r.key.dtype.name().to_string())
            .unwrap_or_default()
    };
    let generator = rows
        .first()
        .map(|r| r.key.generator.clone())
        .unwrap_or_default();
    let mut parts = Vec::new();
    // The textbook variant of each group speaks for it when present.
    let mut order = distinct(with.iter().map(|r| r.key.variant.clone()));
    order.sort_by_key(|v| !facts(all, v).is_some_and(textbook));
    for v in order {
        let g = group(function(all, &v));
        if parts.iter().any(|(gg, _)| *gg == g) {
            continue;
        }
        let mut pts: Vec<&&GradientRecord> = with
            .iter()
            .filter(|r| {
                r.key.variant == v && r.key.dtype.name() == dtype && r.key.generator == generator
            })
            .collect();
        pts.sort_by(|a, b| a.key.scale.total_cmp(&b.key.scale));
        if let (Some(a), Some(b)) = (pts.first(), pts.last()) {
            if a.key.scale < b.key.scale {
                parts.push((
                    g,
                    format!(
                        "{v} {} at scale {} to {} at scale {} (exact {})",
                        fmt(a.vjp_norm_median),
                        fmt(a.key.scale),
                        fmt(b.vjp_norm_median),
                        fmt(b.key.scale),
                        fmt(b.vjp_norm_ref_median)
                    ),
                ));
            }
        }
    }
    if !parts.is_empty() {
        s += &format!(
            "Median ‖dx‖₂ for a standard-normal upstream gradient ({dtype}, {generator} rows) goes from {}.",
            and_list(&parts.into_iter().map(|p| p.1).collect::<Vec<_>>())
        );
    }
    let worst = with
        .iter()
        .filter(|r| !r.vjp_normwise.is_nan())
        .max_by(|a, b| a.vjp_normwise.total_cmp(&b.vjp_normwise));
    if let Some(w) = worst {
        s += &format!(
            " Largest normwise error against the exact VJP: {} in {} ({} at scale {}).",
            w.key.variant,
            w.key.dtype.name(),
            fmt(w.vjp_normwise),
            fmt(w.key.scale)
        );
    }
    let fd = with
        .iter()
        .filter(|r| r.fd_normwise.is_finite() && (r.fd_samples as f64) > 0.0)
        .max_by(|a, b| a.fd_normwise.total_cmp(&b.fd_normwise));
    if let Some(f) = fd {
        s += &format!(
            " The largest normwise difference from central finite differences (f64) is {} \
             ({} at scale {}).",
            fmt(f.fd_normwise),
            f.key.variant,
            fmt(f.key.scale)
        );
    }
    let candle = with
        .iter()
        .filter(|r| r.candle_normwise.is_finite() && !r.candle_variant.is_empty())
        .max_by(|a, b| a.candle_normwise.total_cmp(&b.candle_normwise));
    if let Some(c) = candle {
        s += &format!(
            " Against candle's autograd the largest difference is {} ({} vs {} in {}, scale {}).",
            fmt(c.candle_normwise),
            c.key.variant,
            c.candle_variant,
            c.key.dtype.name(),
            fmt(c.key.scale)
        );
    }
    if !without.is_empty() {
        s += &format!(" No backward: {}.", and_list(&without));
    }
    s
}

/// The summary table: per variant × dtype.
pub fn summary(rows: &[GradientRecord]) -> Block {
    let variants = distinct(rows.iter().map(|r| r.key.variant.clone()));
    let dtypes = dtype_order(distinct(
        rows.iter().map(|r| r.key.dtype.name().to_string()),
    ));
    let generator = rows
        .first()
        .map(|r| r.key.generator.clone())
        .unwrap_or_default();
    let mut out = Vec::new();
    for v in &variants {
        for d in &dtypes {
            let rs: Vec<&GradientRecord> = rows
                .iter()
                .filter(|r| &r.key.variant == v && r.key.dtype.name() == *d)
                .collect();
            if rs.is_empty() {
                continue;
            }
            if !rs[0].has_backward {
                let mut cells = vec![
                    vec![code(v)],
                    t(d.clone()),
                    t(rs.len().to_string()),
                    t(fmt(rs[0].samples as f64)),
                    t("no backward"),
                ];
                cells.resize(9, t(""));
                out.push(cells);
                continue;
            }
            let mut g: Vec<&&GradientRecord> =
                rs.iter().filter(|r| r.key.generator == generator).collect();
            g.sort_by(|a, b| a.key.scale.total_cmp(&b.key.scale));
            let norms = match (g.first(), g.last()) {
                (Some(a), Some(b)) => format!(
                    "{} → {} (exact {} → {})",
                    fmt(a.vjp_norm_median),
                    fmt(b.vjp_norm_median),
                    fmt(a.vjp_norm_ref_median),
                    fmt(b.vjp_norm_ref_median)
                ),
                _ => "nan".into(),
            };
            let worst =
                |f: fn(&GradientRecord) -> f64| rs.iter().fold(f64::NAN, |a, r| max_nan(a, f(r)));
            let fd_samples = rs.iter().map(|r| r.fd_samples as f64).fold(0.0, f64::max);
            let candle = rs
                .iter()
                .find(|r| !r.candle_variant.is_empty())
                .map(|r| r.candle_variant.clone());
            out.push(vec![
                vec![code(v)],
                t(d.clone()),
                t(rs.len().to_string()),
                t(fmt(rs[0].samples as f64)),
                t(norms),
                t(fmt(worst(|r| r.vjp_normwise))),
                t(if fd_samples > 0.0 {
                    format!(
                        "{} ({} entries)",
                        fmt(worst(|r| r.fd_normwise)),
                        fmt(fd_samples)
                    )
                } else {
                    "—".into()
                }),
                t(match candle {
                    Some(c) => format!("{} (vs {c})", fmt(worst(|r| r.candle_normwise))),
                    None => "—".into(),
                }),
                t(crate::data::pct(worst(|r| r.tiny_grad_fraction))),
            ]);
        }
    }
    Block::Table {
        headers: [
            "variant",
            "dtype",
            "points",
            "entries per point",
            &format!("median ‖dx‖₂, smallest → largest scale ({generator})"),
            "worst normwise error vs exact VJP",
            "worst vs finite differences",
            "worst vs candle autograd",
            "largest tiny-gradient fraction",
        ]
        .map(String::from)
        .to_vec(),
        rows: out,
    }
}

/// Median VJP norm against the scale: panels per function group (rows) and dtype
/// (columns: the narrowest and f32 where present), the exact norm dashed.
pub fn norm_figure(name: &str, rows: &[GradientRecord], all: &[VariantFacts]) -> Figure {
    let all_dtypes = dtype_order(distinct(
        rows.iter().map(|r| r.key.dtype.name().to_string()),
    ));
    let dtypes: Vec<String> = {
        let mut d: Vec<String> = all_dtypes
            .iter()
            .filter(|d| *d == "f16" || *d == "f32")
            .cloned()
            .collect();
        if d.is_empty() {
            d = all_dtypes.iter().take(2).cloned().collect();
        }
        d
    };
    let generator = rows
        .first()
        .map(|r| r.key.generator.clone())
        .unwrap_or_default();
    let groups = distinct(
        rows.iter()
            .map(|r| group(function(all, &r.key.variant)).to_string()),
    );
    let mut panels = Vec::new();
    let mut skipped = 0;
    for g in &groups {
        for d in &dtypes {
            let mut series = Vec::new();
            let mut exact: Option<Vec<(f64, f64)>> = None;
            for v in distinct(
                rows.iter()
                    .filter(|r| group(function(all, &r.key.variant)) == g && r.has_backward)
                    .map(|r| r.key.variant.clone()),
            ) {
                let mut pts: Vec<&GradientRecord> = rows
                    .iter()
                    .filter(|r| {
                        r.key.variant == v
                            && r.key.dtype.name() == *d
                            && r.key.generator == generator
                    })
                    .collect();
                pts.sort_by(|a, b| a.key.scale.total_cmp(&b.key.scale));
                skipped += pts
                    .iter()
                    .filter(|r| !(r.vjp_norm_median.is_finite() && r.vjp_norm_median > 0.0))
                    .count();
                if exact.is_none() && !pts.is_empty() {
                    exact = Some(
                        pts.iter()
                            .map(|r| (r.key.scale, r.vjp_norm_ref_median))
                            .collect(),
                    );
                }
                if !pts.is_empty() {
                    series.push(Series::line(
                        &v,
                        pts.iter()
                            .map(|r| (r.key.scale, r.vjp_norm_median))
                            .collect(),
                    ));
                }
            }
            if let Some(e) = exact {
                // First, so that the variants' lines are drawn over it.
                series.insert(
                    0,
                    Series::line("exact VJP (first variant of the panel)", e)
                        .styled(Style::Dashed)
                        .colored(REFERENCE),
                );
            }
            panels.push(Panel {
                title: format!("{g}, {d}"),
                x: Axis::log("logit scale (×)"),
                y: Axis::log("median ‖dx‖₂ over rows"),
                content: Content::Lines(series),
            });
        }
    }
    let mut notes = vec![format!(
        "{generator} rows; upstream gradient dy ~ Normal(0, 1) per entry; each point the \
         median over rows of the vector–Jacobian product's norm."
    )];
    if skipped > 0 {
        notes.push(format!(
            "Not drawn: {skipped} points with a zero or non-finite norm (no place on a log axis)."
        ));
    }
    Figure {
        layout: crate::plot::Layout::Grid,
        name: name.to_string(),
        title: format!(
            "{}: gradient norm against the logit scale",
            name.trim_end_matches("_grad_norm_vs_scale")
        ),
        columns: dtypes.len().max(1),
        panels,
        notes,
    }
}

/// Render a gradients section.
pub fn render(l: &Loaded) -> Result<Rendered, String> {
    let rows = l.need("gradients")?.records::<GradientRecord>()?;
    let all = &l.results.variants;
    let mut out = Rendered {
        method: vec![vec![plain(
            "For each point a seeded upstream gradient dy (entries Normal(0, 1), rounded to \
             the dtype) is pushed through each variant's backward; the table keeps the \
             median ‖dx‖₂ over rows next to the exact VJP's, the normwise error against the \
             exact VJP, the difference from central finite differences of the variant's \
             own forward (f64 only, the first rows), the difference from candle's autograd \
             for the same function, and the fraction of tiny gradient entries.",
        )]],
        ..Rendered::default()
    };
    if rows.is_empty() {
        out.findings = t("The table is empty: nothing was measured.");
        return Ok(out);
    }
    out.findings = t(findings(&rows, all));
    out.blocks.push(summary(&rows));
    out.figures.push((
        norm_figure(&format!("{}_grad_norm_vs_scale", l.name), &rows, all),
        "Gradient norm against the logit scale, per function group and dtype (log–log); \
         the dashed line is the exact VJP's norm."
            .into(),
    ));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use softmax_lab_core::DType;
    use softmax_lab_results::{Key, Kind};

    fn row(v: &str, scale: f64, norm: f64) -> GradientRecord {
        GradientRecord {
            key: Key {
                scenario: "gradients".into(),
                kind: Kind::Gradients,
                variant: v.into(),
                dtype: DType::F32,
                n: 32,
                rows: 32,
                generator: "normal".into(),
                temperature: 1.0,
                scale,
            },
            samples: 1024,
            has_backward: v != "candle_softmax_last_dim",
            vjp_norm_median: norm,
            vjp_norm_ref_median: norm,
            vjp_normwise: if v == "naive" { 0.02 } else { 1e-7 },
            vjp_normwise_median: 1e-7,
            fd_normwise: 1e-9,
            fd_samples: 128,
            candle_variant: "candle_softmax".into(),
            candle_normwise: 3e-7,
            candle_samples: 1024,
            tiny_grad_threshold: 1e-6,
            tiny_grad_fraction: 0.0,
            ref_tiny_grad_fraction: 0.0,
            zero_grad_fraction: 0.0,
        }
    }

    /// What a results file states of the test's variants.
    fn all() -> Vec<VariantFacts> {
        [
            ("stable", Family::Stable, Function::Softmax),
            ("naive", Family::Naive, Function::Softmax),
            ("sigmoid", Family::Sigmoid, Function::Sigmoid),
            ("candle_softmax_last_dim", Family::Candle, Function::Softmax),
        ]
        .map(|(id, family, function)| VariantFacts {
            id: id.into(),
            family,
            function,
            source: None,
        })
        .to_vec()
    }

    #[test]
    fn findings_report_the_norm_collapse_and_the_worst_vjp() {
        let rows = vec![
            row("stable", 0.1, 0.18),
            row("stable", 1000.0, 1e-30),
            row("naive", 0.1, 0.18),
            row("sigmoid", 0.1, 1.2),
            row("sigmoid", 1000.0, 0.01),
            row("candle_softmax_last_dim", 0.1, f64::NAN),
        ];
        let s = findings(&rows, &all());
        assert!(
            s.contains("stable 0.18 at scale 0.1 to 1e-30 at scale 1000 (exact 1e-30)"),
            "{s}"
        );
        assert!(
            s.contains("sigmoid 1.2 at scale 0.1 to 0.01 at scale 1000"),
            "{s}"
        );
        assert!(
            s.contains("exact VJP: naive in f32 (0.02 at scale 0.1)"),
            "{s}"
        );
        assert!(s.contains("No backward: candle_softmax_last_dim."), "{s}");
        assert_eq!(group(Some(Function::LogSoftmax)), "log-softmax");
        assert_eq!(group(Some(Function::Entmax15)), "sparsemax and entmax");
        assert_eq!(group(None), "other");
    }
}
