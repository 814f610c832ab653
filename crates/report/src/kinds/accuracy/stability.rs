//! The numerical analyst's reading of an accuracy table: each variant's error
//! beside the conditioning of the problem (`max_err_over_kappa_u`, see
//! `softmax_lab_core::conditioning`) and its normwise error as a fraction of its
//! first-order bound; and, where the row length is the swept axis, sum-to-one and
//! max ULP error against n with the n·u, log2(n)·u and u growth lines.

use softmax_lab_core::DType;
use softmax_lab_results::records::AccuracyRecord;

use super::{distinct, sorted_f64, ULP_FLOOR};
use crate::data::{dtype_order, fmt, max_nan};
use crate::doc::{t, Block};
use crate::kinds::{code, plain, Rendered};
use crate::plot::{Axis, Content, Figure, Panel, Series, Style};

/// A variant is called stable when its worst err / (κ u) over every point is at
/// most this many times the row length n of that point.
pub const STABLE_PER_N: f64 = 4.0;

/// The unit roundoff of a dtype by name (NaN for an unknown name).
fn unit_roundoff(dtype: &str) -> f64 {
    dtype
        .parse::<DType>()
        .map_or(f64::NAN, DType::unit_roundoff)
}

/// The stability verdict of one variant in one dtype.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// Variant id.
    pub variant: String,
    /// Dtype name.
    pub dtype: String,
    /// Largest err / (κ u) over the points.
    pub worst_ratio: f64,
    /// Largest err / (κ u) / n over the points (the stability criterion).
    pub worst_ratio_per_n: f64,
    /// Largest normwise error / bound over the points (NaN: no bound claimed).
    pub worst_fraction_of_bound: f64,
}

impl Verdict {
    /// Stable in the componentwise sense: err / (κ u) ≤ [`STABLE_PER_N`]·n everywhere.
    pub fn stable(&self) -> bool {
        self.worst_ratio_per_n <= STABLE_PER_N
    }
}

/// One verdict per variant × dtype that has the ratio column (empty for older results).
pub fn verdicts(rows: &[AccuracyRecord]) -> Vec<Verdict> {
    let variants = distinct(rows.iter().map(|r| r.key.variant.clone()));
    let dtypes = dtype_order(distinct(
        rows.iter().map(|r| r.key.dtype.name().to_string()),
    ));
    let mut out = Vec::new();
    for v in &variants {
        for d in &dtypes {
            let rs: Vec<&AccuracyRecord> = rows
                .iter()
                .filter(|r| {
                    &r.key.variant == v
                        && r.key.dtype.name() == *d
                        && !r.max_err_over_kappa_u.is_nan()
                })
                .collect();
            if rs.is_empty() {
                continue;
            }
            let fold = |f: &dyn Fn(&AccuracyRecord) -> f64| {
                rs.iter().fold(f64::NAN, |a, r| max_nan(a, f(r)))
            };
            out.push(Verdict {
                variant: v.clone(),
                dtype: d.clone(),
                worst_ratio: fold(&|r| r.max_err_over_kappa_u),
                worst_ratio_per_n: fold(&|r| r.max_err_over_kappa_u / (r.key.n as f64)),
                worst_fraction_of_bound: fold(&|r| r.normwise / r.bound),
            });
        }
    }
    out
}

/// The sentence naming the stable and the unstable variants (per dtype).
pub fn stability_sentence(verdicts: &[Verdict]) -> String {
    let name = |v: &Verdict| format!("{} {} ({})", v.variant, v.dtype, fmt(v.worst_ratio_per_n));
    let stable: Vec<String> = verdicts.iter().filter(|v| v.stable()).map(name).collect();
    let unstable: Vec<String> = verdicts.iter().filter(|v| !v.stable()).map(name).collect();
    let mut s = format!(
        "Componentwise stability (worst error / (κ·u) per unit of n, stable when ≤ {}): ",
        fmt(STABLE_PER_N)
    );
    s += &if stable.is_empty() {
        "no variant is stable in this sense".to_string()
    } else {
        format!("stable: {}", stable.join(", "))
    };
    s += &if unstable.is_empty() {
        "; none is unstable.".to_string()
    } else {
        format!("; not stable: {}.", unstable.join(", "))
    };
    s
}

/// The table of verdicts: ratio, ratio per n, fraction of the normwise bound.
pub fn table(verdicts: &[Verdict]) -> Block {
    Block::Table {
        headers: [
            "variant",
            "dtype",
            "worst err / (κ·u)",
            "worst err / (κ·u·n)",
            "stable",
            "worst normwise error / bound",
        ]
        .map(String::from)
        .to_vec(),
        rows: verdicts
            .iter()
            .map(|v| {
                vec![
                    vec![code(v.variant.clone())],
                    t(v.dtype.clone()),
                    t(fmt(v.worst_ratio)),
                    t(fmt(v.worst_ratio_per_n)),
                    t(if v.stable() { "yes" } else { "no" }),
                    t(fmt(v.worst_fraction_of_bound)),
                ]
            })
            .collect(),
    }
}

/// Worst max ULP and worst err / (κ u) side by side against `key`, one row of
/// two panels per dtype.
pub fn side_by_side(
    name: &str,
    rows: &[AccuracyRecord],
    key: fn(&AccuracyRecord) -> f64,
    x: &str,
) -> Figure {
    let variants = distinct(rows.iter().map(|r| r.key.variant.clone()));
    let dtypes = dtype_order(distinct(
        rows.iter().map(|r| r.key.dtype.name().to_string()),
    ));
    let xs = sorted_f64(rows.iter().map(key));
    let mut panels = Vec::new();
    for d in &dtypes {
        for (label, stat) in [
            (
                "max error (ULP)",
                (|r: &AccuracyRecord| r.max_ulp) as fn(&AccuracyRecord) -> f64,
            ),
            ("max error / (κ·u)", |r: &AccuracyRecord| {
                r.max_err_over_kappa_u
            }),
        ] {
            let mut series = Vec::new();
            for v in &variants {
                let pts: Vec<(f64, f64)> = xs
                    .iter()
                    .filter_map(|&xv| {
                        let y = rows
                            .iter()
                            .filter(|r| {
                                &r.key.variant == v && r.key.dtype.name() == *d && key(r) == xv
                            })
                            .fold(f64::NAN, |a, r| max_nan(a, stat(r)));
                        y.is_finite().then_some((xv, y.max(ULP_FLOOR)))
                    })
                    .collect();
                if !pts.is_empty() {
                    series.push(Series::line(v, pts));
                }
            }
            panels.push(Panel {
                title: format!("{d}: {label}"),
                x: Axis::log(x),
                y: Axis::log(label),
                content: Content::Lines(series),
            });
        }
    }
    Figure {
        layout: crate::plot::Layout::Grid,
        name: name.to_string(),
        title: "Error in ULPs (left) and error over the conditioning κ·u (right)".into(),
        columns: 2,
        panels,
        notes: vec![format!(
            "worst over generators and row lengths at each point; non-finite errors are not \
             drawn and values below {ULP_FLOOR} are drawn at it. A flat right panel where the \
             left one climbs is the problem's conditioning, not the algorithm."
        )],
    }
}

/// Sum-to-one error (in units of u) and max ULP error against n, one row of two
/// panels per dtype, with the n·u, log2(n)·u and u growth lines.
pub fn growth_figure(name: &str, rows: &[AccuracyRecord]) -> Figure {
    let variants = distinct(rows.iter().map(|r| r.key.variant.clone()));
    let dtypes = dtype_order(distinct(
        rows.iter().map(|r| r.key.dtype.name().to_string()),
    ));
    let ns = sorted_f64(rows.iter().map(|r| r.key.n as f64));
    let mut panels = Vec::new();
    for d in &dtypes {
        let u = unit_roundoff(d);
        for (label, stat, in_u) in [
            (
                "max |Σy − 1| / u",
                (|r: &AccuracyRecord| r.max_sum_deviation) as fn(&AccuracyRecord) -> f64,
                true,
            ),
            ("max error (ULP)", |r: &AccuracyRecord| r.max_ulp, false),
        ] {
            let mut series = Vec::new();
            for v in &variants {
                let pts: Vec<(f64, f64)> = ns
                    .iter()
                    .filter_map(|&n| {
                        let y = rows
                            .iter()
                            .filter(|r| {
                                &r.key.variant == v
                                    && r.key.dtype.name() == *d
                                    && (r.key.n as f64) == n
                            })
                            .fold(f64::NAN, |a, r| max_nan(a, stat(r)));
                        let y = if in_u { y / u } else { y };
                        y.is_finite().then_some((n, y.max(ULP_FLOOR)))
                    })
                    .collect();
                if !pts.is_empty() {
                    series.push(Series::line(v, pts));
                }
            }
            if in_u && series.is_empty() {
                continue; // no softmax variant: no row sums
            }
            for (g, f) in [
                ("n·u", (|n: f64| n) as fn(f64) -> f64),
                ("log2(n)·u", |n: f64| n.log2()),
                ("u", |_| 1.0),
            ] {
                series.push(
                    Series::line(g, ns.iter().map(|&n| (n, f(n))).collect()).styled(Style::Dashed),
                );
            }
            panels.push(Panel {
                title: format!("{d}: {label}"),
                x: Axis::log("row length n"),
                y: Axis::log(label),
                content: Content::Lines(series),
            });
        }
    }
    Figure {
        layout: crate::plot::Layout::Grid,
        name: name.to_string(),
        title: "Sum to one and max error against the row length: the summation order of the \
                normaliser"
            .into(),
        columns: 2,
        panels,
        notes: vec![
            "Left: the largest |Σ y − 1| of a row in units of u of the dtype; right: the \
             largest error of an entry in ULPs. Dashed: the growth lines n·u, log2(n)·u and u \
             (in units of u, so n, log2 n and 1). The last element of every sum is stored \
             in the dtype, so even an exact normaliser leaves |Σy − 1| of order √n·u."
                .into(),
        ],
    }
}

/// Add the stability table, its sentence and figures to an accuracy section.
pub fn render(name: &str, rows: &[AccuracyRecord], out: &mut Rendered) {
    let verdicts = verdicts(rows);
    if verdicts.is_empty() {
        return; // results written before the columns existed
    }
    out.method.push(vec![
        plain(
            "Conditioning: for each entry the componentwise relative condition number κ_i \
             (Blanchard, D. J. Higham & N. J. Higham 2021; ",
        ),
        code("softmax_lab_core::conditioning"),
        plain(
            ") and the ratio of its relative error to max(κ_i, 1)·u, u the dtype's unit \
             roundoff; a variant whose ratio stays below a small multiple of n is stable in \
             the componentwise sense, whatever its error in ULPs.",
        ),
    ]);
    out.findings.push(crate::doc::Span::Text(format!(
        " {}",
        stability_sentence(&verdicts)
    )));
    out.blocks.push(table(&verdicts));
    let scales = sorted_f64(rows.iter().map(|r| r.key.scale));
    let ns = sorted_f64(rows.iter().map(|r| r.key.n as f64));
    let (key, x): (fn(&AccuracyRecord) -> f64, &str) = if scales.len() >= 2 || ns.len() < 2 {
        (|r: &AccuracyRecord| r.key.scale, "logit scale (×)")
    } else {
        (|r: &AccuracyRecord| r.key.n as f64, "row length n")
    };
    out.figures.push((
        side_by_side(&format!("{name}_err_over_kappa_u"), rows, key, x),
        "Error in ULPs beside error over κ·u, per variant and dtype (log–log).".into(),
    ));
    if ns.len() >= 3 {
        out.figures.push((
            growth_figure(&format!("{name}_growth_vs_n"), rows),
            "Sum-to-one error and max ULP error against the row length, with the n·u, \
             log2(n)·u and u growth lines."
                .into(),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(variant: &str, n: f64, ratio: f64, normwise: f64) -> AccuracyRecord {
        let mut r = crate::kinds::accuracy::tests::record(variant, "f32", 1.0, 1.0);
        r.key.n = n as usize;
        r.samples = n as usize;
        r.median_ulp = 0.5;
        r.p99_ulp = 1.0;
        r.mean_ulp = 0.5;
        r.normwise = normwise;
        r.bound = 1e-4;
        r.max_sum_deviation = 1e-7;
        r.kappa_max = 3.0;
        r.max_err_over_kappa_u = ratio;
        r
    }

    #[test]
    fn verdict_compares_the_ratio_with_a_multiple_of_n() {
        // log_softmax: 32 at n = 16 is 2 per n (stable); log_softmax_log: 1.6e7
        // at n = 4 (not); the bound fractions are the worst normwise / bound.
        let rows = vec![
            row("log_softmax", 16.0, 32.0, 1e-6),
            row("log_softmax", 4.0, 2.0, 2e-6),
            row("log_softmax_log", 4.0, 1.6e7, 5e-5),
        ];
        let v = verdicts(&rows);
        assert_eq!(v.len(), 2);
        assert!(v[0].stable() && !v[1].stable(), "{v:?}");
        assert_eq!(v[0].worst_ratio_per_n, 2.0);
        assert!((v[0].worst_fraction_of_bound - 0.02).abs() < 1e-12);
        assert!((v[1].worst_fraction_of_bound - 0.5).abs() < 1e-12);
        let s = stability_sentence(&v);
        assert!(s.contains("stable: log_softmax f32 (2)"), "{s}");
        assert!(
            s.contains("not stable: log_softmax_log f32 (4000000)"),
            "{s}"
        );
    }

    #[test]
    fn growth_figure_draws_the_three_growth_lines_in_units_of_u() {
        let rows = vec![
            row("stable", 256.0, 1.0, 1e-6),
            row("stable", 4096.0, 1.0, 1e-6),
            row("stable", 32768.0, 1.0, 1e-6),
        ];
        let f = growth_figure("v_growth_vs_n", &rows);
        assert_eq!(f.panels.len(), 2);
        let Content::Lines(s) = &f.panels[0].content else {
            panic!("lines expected")
        };
        let names: Vec<&str> = s.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["stable", "n·u", "log2(n)·u", "u"]);
        // 1e-7 / 2^-24 = 1.68 units of u; the n·u line at n = 4096 is 4096.
        assert!((s[0].points[0].1 - 1e-7 * 2f64.powi(24)).abs() < 1e-9);
        assert_eq!(s[1].points[1], (4096.0, 4096.0));
        assert_eq!(s[2].points[2], (32768.0, 15.0));
    }

    #[test]
    fn old_results_without_the_columns_get_no_verdict() {
        assert!(verdicts(&[row("stable", 16.0, f64::NAN, 1e-6)]).is_empty());
    }
}
