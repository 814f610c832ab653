//! Accuracy sections: errors in ULPs against the logit scale (and the temperature),
//! per variant and dtype, and the support size (non-zero outputs per row) of the
//! sparse maps next to softmax.

pub mod stability;

use softmax_lab_results::records::AccuracyRecord;

use super::{and_list, code, plain, Ctx, Loaded, Rendered};
use crate::data::{dtype_order, fmt, max_nan, median, pct};
use crate::doc::{t, Block, Inline};
use crate::plot::{Axis, Content, Figure, Panel, Series};

/// Errors below this many ULPs are drawn at it (log axes cannot show 0).
pub const ULP_FLOOR: f64 = 1e-3;

/// Whether a variant's function has exact zeros by design (sparsemax, entmax), as
/// the results file states the function.
pub fn is_sparse(facts: &softmax_lab_results::Results, variant: &str) -> bool {
    facts.variant(variant).is_some_and(|v| {
        matches!(
            v.function,
            softmax_lab_core::Function::Sparsemax | softmax_lab_core::Function::Entmax15
        )
    })
}

pub(crate) fn distinct<T: PartialEq + Clone>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut out = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

pub(crate) fn sorted_f64(items: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut v: Vec<f64> = items.filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    v.dedup();
    v
}

/// Worst (largest) max ULP of a variant in a dtype and the row where it occurs;
/// infinite errors count as worst.
pub fn worst<'a>(rows: &[&'a AccuracyRecord]) -> Option<&'a AccuracyRecord> {
    rows.iter()
        .copied()
        .filter(|r| !r.max_ulp.is_nan())
        .max_by(|a, b| a.max_ulp.total_cmp(&b.max_ulp))
}

/// The findings paragraph of an accuracy table: per dtype the most and least
/// accurate variant (by its worst max ULP over every point) with where the worst
/// occurs, where errors become infinite, argmax disagreement and exact zeros.
pub fn findings(rows: &[AccuracyRecord]) -> String {
    let variants = distinct(rows.iter().map(|r| r.key.variant.clone()));
    let dtypes = dtype_order(distinct(
        rows.iter().map(|r| r.key.dtype.name().to_string()),
    ));
    let mut parts = Vec::new();
    for d in &dtypes {
        let mut per: Vec<(&str, &AccuracyRecord)> = variants
            .iter()
            .filter_map(|v| {
                let rs: Vec<&AccuracyRecord> = rows
                    .iter()
                    .filter(|r| &r.key.variant == v && r.key.dtype.name() == *d)
                    .collect();
                worst(&rs).map(|w| (v.as_str(), w))
            })
            .collect();
        if per.is_empty() {
            continue;
        }
        per.sort_by(|a, b| a.1.max_ulp.total_cmp(&b.1.max_ulp));
        let (best, b) = per[0];
        let (bad, w) = per[per.len() - 1];
        if per.len() == 1 {
            parts.push(format!(
                "in {d}, {best} reaches a worst max error of {} ULP",
                fmt(b.max_ulp)
            ));
        } else {
            parts.push(format!(
                "in {d}, the most accurate is {best} (worst max error {} ULP) and the least \
                 accurate {bad} ({} ULP at scale {}{}, {} rows, n = {})",
                fmt(b.max_ulp),
                fmt(w.max_ulp),
                fmt(w.key.scale),
                if w.key.temperature == 1.0 {
                    String::new()
                } else {
                    format!(", T = {}", fmt(w.key.temperature))
                },
                w.key.generator,
                fmt(w.key.n as f64)
            ));
        }
    }
    let mut s = String::new();
    if !parts.is_empty() {
        s += &format!("Worst max error over every point: {}.", parts.join("; "));
    }
    // Where errors become infinite (a non-finite output or a lost non-zero).
    let mut inf = Vec::new();
    for v in &variants {
        let mut at = Vec::new();
        for d in &dtypes {
            let first = rows
                .iter()
                .filter(|r| {
                    &r.key.variant == v && r.key.dtype.name() == *d && r.max_ulp.is_infinite()
                })
                .map(|r| r.key.scale)
                .fold(f64::NAN, f64::min);
            if !first.is_nan() {
                at.push(format!("{d} from scale {}", fmt(first)));
            }
        }
        if !at.is_empty() {
            inf.push(format!("{v} ({})", at.join(", ")));
        }
    }
    if inf.is_empty() {
        s += " No variant has an infinite error anywhere in the sweep.";
    } else {
        s += &format!(
            " Infinite errors (a non-finite output, or zero where the exact value is not): {}.",
            and_list(&inf)
        );
    }
    let worst_argmax = rows
        .iter()
        .filter(|r| r.argmax_agreement_fraction.is_finite())
        .min_by(|a, b| {
            a.argmax_agreement_fraction
                .total_cmp(&b.argmax_agreement_fraction)
        });
    if let Some(r) = worst_argmax {
        if r.argmax_agreement_fraction < 1.0 {
            s += &format!(
                " The argmax agrees least with the exact one for {} in {} ({} of rows at scale {}, {} rows).",
                r.key.variant,
                r.key.dtype.name(),
                pct(r.argmax_agreement_fraction),
                fmt(r.key.scale),
                r.key.generator
            );
        } else {
            s += " Every variant picks the exact argmax on every row.";
        }
    }
    let zero = rows
        .iter()
        .filter(|r| r.exact_zero_fraction.is_finite() && r.exact_zero_fraction > 0.0)
        .max_by(|a, b| a.exact_zero_fraction.total_cmp(&b.exact_zero_fraction));
    if let Some(z) = zero {
        s += &format!(
            " The most exact zeros: {} in {} ({} of outputs at scale {}, {} rows, n = {}).",
            z.key.variant,
            z.key.dtype.name(),
            pct(z.exact_zero_fraction),
            fmt(z.key.scale),
            z.key.generator,
            fmt(z.key.n as f64)
        );
    }
    s
}

/// The summary table: one row per variant and dtype.
pub fn summary(rows: &[AccuracyRecord]) -> Block {
    let variants = distinct(rows.iter().map(|r| r.key.variant.clone()));
    let dtypes = dtype_order(distinct(
        rows.iter().map(|r| r.key.dtype.name().to_string()),
    ));
    let mut out = Vec::new();
    for v in &variants {
        for d in &dtypes {
            let rs: Vec<&AccuracyRecord> = rows
                .iter()
                .filter(|r| &r.key.variant == v && r.key.dtype.name() == *d)
                .collect();
            let Some(w) = worst(&rs) else { continue };
            let samples = sorted_f64(rs.iter().map(|r| r.samples as f64));
            let samples = match (samples.first(), samples.last()) {
                (Some(a), Some(b)) if a != b => format!("{}–{}", fmt(*a), fmt(*b)),
                (Some(a), _) => fmt(*a),
                _ => "nan".into(),
            };
            let medians: Vec<f64> = rs.iter().map(|r| r.median_ulp).collect();
            let p99 = rs.iter().fold(f64::NAN, |a, r| max_nan(a, r.p99_ulp));
            let argmax = rs
                .iter()
                .map(|r| r.argmax_agreement_fraction)
                .filter(|a| a.is_finite())
                .fold(f64::NAN, |a, b| if a.is_nan() { b } else { a.min(b) });
            let nonfinite = rs.iter().filter(|r| r.max_ulp.is_infinite()).count();
            out.push(vec![
                vec![code(v)],
                t(d.clone()),
                t(rs.len().to_string()),
                t(samples),
                t(format!(
                    "{} (scale {}, {}, n = {})",
                    fmt(w.max_ulp),
                    fmt(w.key.scale),
                    w.key.generator,
                    fmt(w.key.n as f64)
                )),
                t(fmt(median(&medians))),
                t(fmt(p99)),
                t(format!("{nonfinite}/{}", rs.len())),
                t(pct(argmax)),
            ]);
        }
    }
    Block::Table {
        headers: [
            "variant",
            "dtype",
            "points",
            "entries scored per point",
            "worst max ULP (where)",
            "median ULP (median over points)",
            "worst p99 ULP",
            "points with infinite error",
            "lowest argmax agreement",
        ]
        .map(String::from)
        .to_vec(),
        rows: out,
    }
}

/// Error against the swept axis: one column of panels per dtype; the top row the
/// worst max ULP over generators and row lengths, the bottom row the median ULP.
pub fn ulp_figure(name: &str, rows: &[AccuracyRecord], by_temperature: bool) -> Figure {
    let variants = distinct(rows.iter().map(|r| r.key.variant.clone()));
    let dtypes = dtype_order(distinct(
        rows.iter().map(|r| r.key.dtype.name().to_string()),
    ));
    let key = |r: &AccuracyRecord| {
        if by_temperature {
            r.key.temperature
        } else {
            r.key.scale
        }
    };
    let xs = sorted_f64(rows.iter().map(key));
    let (mut nonfinite, mut zero) = (0usize, 0usize);
    let mut panels = Vec::new();
    for (stat, label) in [(0, "worst max"), (1, "median")] {
        for d in &dtypes {
            let mut series = Vec::new();
            for v in &variants {
                let mut pts = Vec::new();
                for &x in &xs {
                    let at: Vec<&AccuracyRecord> = rows
                        .iter()
                        .filter(|r| &r.key.variant == v && r.key.dtype.name() == *d && key(r) == x)
                        .collect();
                    if at.is_empty() {
                        continue;
                    }
                    let y = if stat == 0 {
                        at.iter().fold(f64::NAN, |a, r| max_nan(a, r.max_ulp))
                    } else {
                        median(&at.iter().map(|r| r.median_ulp).collect::<Vec<_>>())
                    };
                    if !y.is_finite() {
                        nonfinite += 1;
                    } else if y < ULP_FLOOR {
                        zero += 1;
                    }
                    // Errors far below an ULP are "exact" for every purpose; drawing
                    // them at the floor keeps the axis readable (and shows zeros).
                    pts.push((x, if y.is_finite() { y.max(ULP_FLOOR) } else { y }));
                }
                if !pts.is_empty() {
                    series.push(Series::line(v, pts));
                }
            }
            panels.push(Panel {
                title: format!("{d}: {label} error"),
                x: if by_temperature {
                    Axis::log("temperature T")
                } else {
                    Axis::log("logit scale (×)")
                },
                y: Axis::log(&format!("{label} error (ULP)")),
                content: Content::Lines(series),
            });
        }
    }
    let mut notes = vec![
        "worst max: largest error over every generator and row length at that point; median: \
         median over them of the per-point median."
            .to_string(),
    ];
    if nonfinite + zero > 0 {
        notes.push(format!(
            "Over all panels: {nonfinite} points with an infinite or NaN error not drawn \
             (see the overflow section); {zero} points below {ULP_FLOOR} ULP (exact 0 \
             included) drawn at {ULP_FLOOR}."
        ));
    }
    Figure {
        layout: crate::plot::Layout::Grid,
        name: name.to_string(),
        title: if by_temperature {
            format!("{}: error in ULPs against the temperature", base(name))
        } else {
            format!("{}: error in ULPs against the logit scale", base(name))
        },
        columns: dtypes.len().max(1),
        panels,
        notes,
    }
}

fn base(name: &str) -> &str {
    name.rsplit_once("_ulp")
        .or_else(|| name.rsplit_once("_support"))
        .map_or(name, |(a, _)| a)
}

/// Mean non-zero outputs per row: n × (1 − exact-zero fraction).
fn support(r: &AccuracyRecord) -> f64 {
    (r.key.n as f64) * (1.0 - r.exact_zero_fraction)
}

/// Support size against the scale (or the temperature), one panel per dtype, one
/// line per variant at row length `n` and generator `generator`; `extra` adds
/// softmax rows from another scenario for comparison.
pub fn support_figure(
    name: &str,
    rows: &[AccuracyRecord],
    extra: &[(String, Vec<AccuracyRecord>)],
    n: f64,
    by_temperature: bool,
) -> Figure {
    let dtypes = dtype_order(distinct(
        rows.iter().map(|r| r.key.dtype.name().to_string()),
    ));
    let key = |r: &AccuracyRecord| {
        if by_temperature {
            r.key.temperature
        } else {
            r.key.scale
        }
    };
    let generator = rows
        .iter()
        .find(|r| r.key.generator == "normal")
        .or(rows.first())
        .map(|r| r.key.generator.clone())
        .unwrap_or_default();
    let pick = |rs: &[AccuracyRecord], v: &str, d: &str| -> Vec<(f64, f64)> {
        let mut pts: Vec<(f64, f64)> = rs
            .iter()
            .filter(|r| {
                r.key.variant == v
                    && r.key.dtype.name() == d
                    && (r.key.n as f64) == n
                    && r.key.generator == generator
            })
            .map(|r| (key(r), support(r)))
            .collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        pts
    };
    let mut panels = Vec::new();
    for d in &dtypes {
        let mut series = Vec::new();
        for v in distinct(rows.iter().map(|r| r.key.variant.clone())) {
            let pts = pick(rows, &v, d);
            if !pts.is_empty() {
                series.push(Series::line(&v, pts));
            }
        }
        for (label, rs) in extra {
            for v in distinct(rs.iter().map(|r| r.key.variant.clone())) {
                let pts = pick(rs, &v, d);
                if !pts.is_empty() {
                    series.push(Series::line(&format!("{v} ({label})"), pts));
                }
            }
        }
        panels.push(Panel {
            title: d.clone(),
            x: if by_temperature {
                Axis::log("temperature T")
            } else {
                Axis::log("logit scale (×)")
            },
            y: Axis::log("non-zero outputs per row (mean)"),
            content: Content::Lines(series),
        });
    }
    Figure {
        layout: crate::plot::Layout::Grid,
        name: name.to_string(),
        title: format!(
            "{}: support size against the {} (n = {}, {} rows)",
            base(name),
            if by_temperature {
                "temperature"
            } else {
                "logit scale"
            },
            fmt(n),
            generator
        ),
        columns: dtypes.len().clamp(1, 2),
        panels,
        notes: vec![
            "support size = n × (1 − fraction of outputs exactly zero), averaged over rows; \
             rows with no non-zero output are not drawn."
                .into(),
        ],
    }
}

/// Render an accuracy section.
pub fn render(l: &Loaded, ctx: &Ctx) -> Result<Rendered, String> {
    let table = l.need("accuracy").or_else(|_| {
        l.results
            .tables
            .first()
            .ok_or_else(|| format!("{}: no tables", l.file.display()))
    })?;
    let rows = table.records::<AccuracyRecord>()?;
    let mut out = Rendered {
        method: vec![vec![
            plain(
                "Each output entry of each variant is compared with the exact value of the \
                 function (the double-double reference of ",
            ),
            code("softmax-lab-core"),
            plain(
                ", good to about 2^-95) and scored in ULPs of the output dtype; per point \
                 (variant × dtype × row length × generator × temperature × scale) the table \
                 keeps the max, median, 99th percentile and mean (with its 95% CI) of those \
                 errors over rows × n entries, the normwise error of each row against the \
                 bound of the variant's formula, the deviation of row sums from 1, argmax \
                 agreement and exact zeros.",
            ),
        ]],
        ..Rendered::default()
    };
    if rows.is_empty() {
        out.findings = t("The table is empty: nothing was measured.");
        return Ok(out);
    }
    out.findings = t(findings(&rows));
    out.blocks.push(summary(&rows));
    let scales = sorted_f64(rows.iter().map(|r| r.key.scale));
    let temps = sorted_f64(rows.iter().map(|r| r.key.temperature));
    if scales.len() >= 2 || temps.len() < 2 {
        let f = ulp_figure(&format!("{}_ulp_vs_scale", l.name), &rows, false);
        out.figures.push((
            f,
            "Error in ULPs against the logit scale, per variant and dtype (log–log).".into(),
        ));
    }
    if temps.len() >= 2 {
        let f = ulp_figure(&format!("{}_ulp_vs_temperature", l.name), &rows, true);
        out.figures.push((
            f,
            "Error in ULPs against the temperature, per variant and dtype (log–log).".into(),
        ));
    }
    stability::render(&l.name, &rows, &mut out);
    let has_sparse = rows.iter().any(|r| is_sparse(&l.results, &r.key.variant));
    let ns = sorted_f64(rows.iter().map(|r| r.key.n as f64));
    if has_sparse && scales.len() >= 2 {
        // Softmax for comparison: the stable variant of another accuracy scenario,
        // at the largest row length both measured.
        let softmax: Option<(String, Vec<AccuracyRecord>)> = ctx
            .of_kind("accuracy")
            .filter(|o| o.name != l.name)
            .filter_map(|o| {
                let rs = o.table("accuracy")?.records::<AccuracyRecord>().ok()?;
                let rs: Vec<AccuracyRecord> = rs
                    .into_iter()
                    .filter(|r| r.key.variant == "stable" && r.key.temperature == 1.0)
                    .collect();
                (!rs.is_empty()).then(|| (o.name.clone(), rs))
            })
            .next();
        let n = match &softmax {
            Some((_, rs)) => ns
                .iter()
                .rev()
                .find(|n| rs.iter().any(|r| r.key.n as f64 == **n))
                .or(ns.last()),
            None => ns.last(),
        }
        .copied()
        .unwrap_or(f64::NAN);
        let extra: Vec<(String, Vec<AccuracyRecord>)> = softmax.into_iter().collect();
        let f = support_figure(
            &format!("{}_support_vs_scale", l.name),
            &rows,
            &extra,
            n,
            false,
        );
        out.figures.push((
            f,
            "Support size (non-zero outputs per row) against the logit scale: sparse maps \
             give exact zeros by design; softmax only by underflow."
                .into(),
        ));
    }
    if temps.len() >= 2 {
        let n = ns.last().copied().unwrap_or(f64::NAN);
        let f = support_figure(
            &format!("{}_support_vs_temperature", l.name),
            &rows,
            &[],
            n,
            true,
        );
        out.figures.push((
            f,
            "Support size (non-zero outputs per row) against the temperature.".into(),
        ));
    }
    Ok(out)
}

/// A finding as an [`Inline`] (for tests that read sentences).
pub fn findings_inline(rows: &[AccuracyRecord]) -> Inline {
    t(findings(rows))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A record at n = 16 on normal rows with errors derived from `max_ulp`.
    pub(crate) fn record(variant: &str, dtype: &str, scale: f64, max_ulp: f64) -> AccuracyRecord {
        AccuracyRecord {
            key: softmax_lab_results::Key {
                scenario: "accuracy".into(),
                kind: softmax_lab_results::Kind::Accuracy,
                variant: variant.into(),
                dtype: dtype.parse().unwrap_or(softmax_lab_core::DType::F64),
                n: 16,
                rows: 64,
                generator: "normal".into(),
                temperature: 1.0,
                scale,
            },
            samples: 1024,
            max_ulp,
            median_ulp: max_ulp / 4.0,
            p99_ulp: max_ulp / 2.0,
            mean_ulp: max_ulp / 3.0,
            mean_ulp_ci95_low: f64::NAN,
            mean_ulp_ci95_high: f64::NAN,
            max_bits_of_error: f64::NAN,
            median_bits_of_error: f64::NAN,
            normwise: f64::NAN,
            median_normwise: f64::NAN,
            bound: f64::NAN,
            max_sum_deviation: f64::NAN,
            median_sum_deviation: f64::NAN,
            argmax_agreement_fraction: 1.0,
            exact_zeros: 0,
            reference_zeros: 0,
            exact_zero_fraction: 0.0,
            kappa_max: f64::NAN,
            max_err_over_kappa_u: f64::NAN,
        }
    }

    #[test]
    fn findings_name_the_worst_variant_and_its_number() {
        let rows = vec![
            record("stable_wide", "f32", 1.0, 0.49),
            record("stable_wide", "f32", 100.0, 0.5),
            record("stable", "f32", 1.0, 0.99),
            record("stable", "f32", 100.0, 1.7),
            record("naive", "f16", 1.0, 2.8),
            record("naive", "f16", 31.6, f64::INFINITY),
            record("stable", "f16", 31.6, 0.9),
        ];
        let s = findings(&rows);
        assert!(
            s.contains(
                "in f32, the most accurate is stable_wide (worst max error 0.5 ULP) and the \
                 least accurate stable (1.7 ULP at scale 100, normal rows, n = 16)"
            ),
            "{s}"
        );
        assert!(s.contains("naive (f16 from scale 31.6)"), "{s}");
        // f16 comes before f32.
        assert!(s.find("in f16").unwrap_or(usize::MAX) < s.find("in f32").unwrap_or(0));
    }

    #[test]
    fn figure_skips_and_counts_unplottable_points() {
        let rows = vec![
            record("naive", "f16", 1.0, 2.0),
            record("naive", "f16", 10.0, f64::INFINITY),
            record("stable", "f16", 1.0, 0.0),
        ];
        let f = ulp_figure("x_ulp_vs_scale", &rows, false);
        assert_eq!(f.panels.len(), 2);
        assert!(
            f.notes[1].contains("2 points with an infinite or NaN error"),
            "{:?}",
            f.notes
        );
        assert!(
            f.notes[1].contains("2 points below 0.001 ULP"),
            "{:?}",
            f.notes
        );
    }
}
