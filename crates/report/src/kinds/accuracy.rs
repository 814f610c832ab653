//! Accuracy sections: errors in ULPs against the logit scale (and the temperature),
//! per variant and dtype, and the support size (non-zero outputs per row) of the
//! sparse maps next to softmax.

pub mod stability;

use softmax_lab_results::Table;

use super::{and_list, code, plain, Ctx, Loaded, Rendered};
use crate::data::{dtype_order, fmt, max_nan, median, num, pct, text, Cols};
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

/// One row of an accuracy table.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Variant id.
    pub variant: String,
    /// Dtype name.
    pub dtype: String,
    /// Row length.
    pub n: f64,
    /// Generator label.
    pub generator: String,
    /// Temperature.
    pub temperature: f64,
    /// Logit scale.
    pub scale: f64,
    /// Entries scored.
    pub samples: f64,
    /// Largest ULP error.
    pub max_ulp: f64,
    /// Median ULP error.
    pub median_ulp: f64,
    /// 99th percentile ULP error.
    pub p99_ulp: f64,
    /// Mean ULP error.
    pub mean_ulp: f64,
    /// Rows whose argmax agrees with the reference.
    pub argmax: f64,
    /// Output entries exactly zero.
    pub zero_fraction: f64,
    /// Largest normwise error of a row (NaN in older results).
    pub normwise: f64,
    /// The normwise bound of the variant's formula (NaN: none claimed).
    pub bound: f64,
    /// Largest |Σy − 1| of a row (NaN where not softmax).
    pub sum_deviation: f64,
    /// Largest componentwise condition number κ_i of the point (NaN: not defined).
    pub kappa_max: f64,
    /// Largest err_i / (max(κ_i, 1)·u) of the point (NaN: not defined).
    pub err_over_kappa_u: f64,
}

/// Parse an accuracy table.
pub fn parse(table: &Table) -> Result<Vec<Row>, String> {
    let c = Cols::new(table);
    let i = [
        c.idx("variant")?,
        c.idx("dtype")?,
        c.idx("n")?,
        c.idx("generator")?,
        c.idx("temperature")?,
        c.idx("scale")?,
        c.idx("samples")?,
        c.idx("max_ulp")?,
        c.idx("median_ulp")?,
        c.idx("p99_ulp")?,
        c.idx("mean_ulp")?,
    ];
    let argmax = c.opt("argmax_agreement_fraction");
    let zeros = c.opt("exact_zero_fraction");
    let opt = |name: &str| c.opt(name);
    let (normwise, bound, sum_dev) = (opt("normwise"), opt("bound"), opt("max_sum_deviation"));
    let (kappa, ratio) = (opt("kappa_max"), opt("max_err_over_kappa_u"));
    let get =
        |r: &[softmax_lab_results::Value], k: Option<usize>| k.map_or(f64::NAN, |k| num(r, k));
    Ok(table
        .rows
        .iter()
        .map(|r| Row {
            variant: text(r, i[0]),
            dtype: text(r, i[1]),
            n: num(r, i[2]),
            generator: text(r, i[3]),
            temperature: num(r, i[4]),
            scale: num(r, i[5]),
            samples: num(r, i[6]),
            max_ulp: num(r, i[7]),
            median_ulp: num(r, i[8]),
            p99_ulp: num(r, i[9]),
            mean_ulp: num(r, i[10]),
            argmax: argmax.map_or(f64::NAN, |k| num(r, k)),
            zero_fraction: zeros.map_or(f64::NAN, |k| num(r, k)),
            normwise: get(r, normwise),
            bound: get(r, bound),
            sum_deviation: get(r, sum_dev),
            kappa_max: get(r, kappa),
            err_over_kappa_u: get(r, ratio),
        })
        .collect())
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
pub fn worst<'a>(rows: &[&'a Row]) -> Option<&'a Row> {
    rows.iter()
        .copied()
        .filter(|r| !r.max_ulp.is_nan())
        .max_by(|a, b| a.max_ulp.total_cmp(&b.max_ulp))
}

/// The findings paragraph of an accuracy table: per dtype the most and least
/// accurate variant (by its worst max ULP over every point) with where the worst
/// occurs, where errors become infinite, argmax disagreement and exact zeros.
pub fn findings(rows: &[Row]) -> String {
    let variants = distinct(rows.iter().map(|r| r.variant.clone()));
    let dtypes = dtype_order(distinct(rows.iter().map(|r| r.dtype.clone())));
    let mut parts = Vec::new();
    for d in &dtypes {
        let mut per: Vec<(&str, &Row)> = variants
            .iter()
            .filter_map(|v| {
                let rs: Vec<&Row> = rows
                    .iter()
                    .filter(|r| &r.variant == v && &r.dtype == d)
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
                fmt(w.scale),
                if w.temperature == 1.0 {
                    String::new()
                } else {
                    format!(", T = {}", fmt(w.temperature))
                },
                w.generator,
                fmt(w.n)
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
                .filter(|r| &r.variant == v && &r.dtype == d && r.max_ulp.is_infinite())
                .map(|r| r.scale)
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
        .filter(|r| r.argmax.is_finite())
        .min_by(|a, b| a.argmax.total_cmp(&b.argmax));
    if let Some(r) = worst_argmax {
        if r.argmax < 1.0 {
            s += &format!(
                " The argmax agrees least with the exact one for {} in {} ({} of rows at scale {}, {} rows).",
                r.variant,
                r.dtype,
                pct(r.argmax),
                fmt(r.scale),
                r.generator
            );
        } else {
            s += " Every variant picks the exact argmax on every row.";
        }
    }
    let zero = rows
        .iter()
        .filter(|r| r.zero_fraction.is_finite() && r.zero_fraction > 0.0)
        .max_by(|a, b| a.zero_fraction.total_cmp(&b.zero_fraction));
    if let Some(z) = zero {
        s += &format!(
            " The most exact zeros: {} in {} ({} of outputs at scale {}, {} rows, n = {}).",
            z.variant,
            z.dtype,
            pct(z.zero_fraction),
            fmt(z.scale),
            z.generator,
            fmt(z.n)
        );
    }
    s
}

/// The summary table: one row per variant and dtype.
pub fn summary(rows: &[Row]) -> Block {
    let variants = distinct(rows.iter().map(|r| r.variant.clone()));
    let dtypes = dtype_order(distinct(rows.iter().map(|r| r.dtype.clone())));
    let mut out = Vec::new();
    for v in &variants {
        for d in &dtypes {
            let rs: Vec<&Row> = rows
                .iter()
                .filter(|r| &r.variant == v && &r.dtype == d)
                .collect();
            let Some(w) = worst(&rs) else { continue };
            let samples = sorted_f64(rs.iter().map(|r| r.samples));
            let samples = match (samples.first(), samples.last()) {
                (Some(a), Some(b)) if a != b => format!("{}–{}", fmt(*a), fmt(*b)),
                (Some(a), _) => fmt(*a),
                _ => "nan".into(),
            };
            let medians: Vec<f64> = rs.iter().map(|r| r.median_ulp).collect();
            let p99 = rs.iter().fold(f64::NAN, |a, r| max_nan(a, r.p99_ulp));
            let argmax = rs
                .iter()
                .map(|r| r.argmax)
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
                    fmt(w.scale),
                    w.generator,
                    fmt(w.n)
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
pub fn ulp_figure(name: &str, rows: &[Row], by_temperature: bool) -> Figure {
    let variants = distinct(rows.iter().map(|r| r.variant.clone()));
    let dtypes = dtype_order(distinct(rows.iter().map(|r| r.dtype.clone())));
    let key = |r: &Row| {
        if by_temperature {
            r.temperature
        } else {
            r.scale
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
                    let at: Vec<&Row> = rows
                        .iter()
                        .filter(|r| &r.variant == v && &r.dtype == d && key(r) == x)
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
fn support(r: &Row) -> f64 {
    r.n * (1.0 - r.zero_fraction)
}

/// Support size against the scale (or the temperature), one panel per dtype, one
/// line per variant at row length `n` and generator `generator`; `extra` adds
/// softmax rows from another scenario for comparison.
pub fn support_figure(
    name: &str,
    rows: &[Row],
    extra: &[(String, Vec<Row>)],
    n: f64,
    by_temperature: bool,
) -> Figure {
    let dtypes = dtype_order(distinct(rows.iter().map(|r| r.dtype.clone())));
    let key = |r: &Row| {
        if by_temperature {
            r.temperature
        } else {
            r.scale
        }
    };
    let generator = rows
        .iter()
        .find(|r| r.generator == "normal")
        .or(rows.first())
        .map(|r| r.generator.clone())
        .unwrap_or_default();
    let pick = |rs: &[Row], v: &str, d: &str| -> Vec<(f64, f64)> {
        let mut pts: Vec<(f64, f64)> = rs
            .iter()
            .filter(|r| r.variant == v && r.dtype == d && r.n == n && r.generator == generator)
            .map(|r| (key(r), support(r)))
            .collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        pts
    };
    let mut panels = Vec::new();
    for d in &dtypes {
        let mut series = Vec::new();
        for v in distinct(rows.iter().map(|r| r.variant.clone())) {
            let pts = pick(rows, &v, d);
            if !pts.is_empty() {
                series.push(Series::line(&v, pts));
            }
        }
        for (label, rs) in extra {
            for v in distinct(rs.iter().map(|r| r.variant.clone())) {
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
    let rows = parse(table)?;
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
    let scales = sorted_f64(rows.iter().map(|r| r.scale));
    let temps = sorted_f64(rows.iter().map(|r| r.temperature));
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
    let has_sparse = rows.iter().any(|r| is_sparse(&l.results, &r.variant));
    let ns = sorted_f64(rows.iter().map(|r| r.n));
    if has_sparse && scales.len() >= 2 {
        // Softmax for comparison: the stable variant of another accuracy scenario,
        // at the largest row length both measured.
        let softmax: Option<(String, Vec<Row>)> = ctx
            .of_kind("accuracy")
            .filter(|o| o.name != l.name)
            .filter_map(|o| {
                let rs = parse(o.table("accuracy")?).ok()?;
                let rs: Vec<Row> = rs
                    .into_iter()
                    .filter(|r| r.variant == "stable" && r.temperature == 1.0)
                    .collect();
                (!rs.is_empty()).then(|| (o.name.clone(), rs))
            })
            .next();
        let n = match &softmax {
            Some((_, rs)) => ns
                .iter()
                .rev()
                .find(|n| rs.iter().any(|r| r.n == **n))
                .or(ns.last()),
            None => ns.last(),
        }
        .copied()
        .unwrap_or(f64::NAN);
        let extra: Vec<(String, Vec<Row>)> = softmax.into_iter().collect();
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
pub fn findings_inline(rows: &[Row]) -> Inline {
    t(findings(rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(variant: &str, dtype: &str, scale: f64, max_ulp: f64) -> Row {
        Row {
            variant: variant.into(),
            dtype: dtype.into(),
            n: 16.0,
            generator: "normal".into(),
            temperature: 1.0,
            scale,
            samples: 1024.0,
            max_ulp,
            median_ulp: max_ulp / 4.0,
            p99_ulp: max_ulp / 2.0,
            mean_ulp: max_ulp / 3.0,
            argmax: 1.0,
            zero_fraction: 0.0,
            normwise: f64::NAN,
            bound: f64::NAN,
            sum_deviation: f64::NAN,
            kappa_max: f64::NAN,
            err_over_kappa_u: f64::NAN,
        }
    }

    #[test]
    fn findings_name_the_worst_variant_and_its_number() {
        let rows = vec![
            row("stable_wide", "f32", 1.0, 0.49),
            row("stable_wide", "f32", 100.0, 0.5),
            row("stable", "f32", 1.0, 0.99),
            row("stable", "f32", 100.0, 1.7),
            row("naive", "f16", 1.0, 2.8),
            row("naive", "f16", 31.6, f64::INFINITY),
            row("stable", "f16", 31.6, 0.9),
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
            row("naive", "f16", 1.0, 2.0),
            row("naive", "f16", 10.0, f64::INFINITY),
            row("stable", "f16", 1.0, 0.0),
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
