//! Overflow sections: the map of non-finite outputs over scale × variant per dtype,
//! and the onset table (first scale with non-finite outputs, with flushed zeros).

use softmax_lab_results::records::{OnsetRecord, OverflowRecord};

use super::{and_list, code, plain, Loaded, Rendered};
use crate::data::{dtype_order, fmt, max_nan};
use crate::doc::{t, Block};
use crate::plot::{Axis, Content, Figure, Heat, Panel};

/// The onset of one variant in one dtype (minimum over generators and row lengths).
#[derive(Clone, Debug, PartialEq)]
pub struct Onset {
    /// Variant id.
    pub variant: String,
    /// Dtype.
    pub dtype: String,
    /// First scale with non-finite outputs (NaN: none in the sweep).
    pub nonfinite: f64,
    /// First scale with outputs flushed to zero (NaN: none).
    pub flushed: f64,
    /// The largest scale swept.
    pub max_scale: f64,
    /// Entries per point.
    pub samples: f64,
    /// The largest x whose exp is finite in the dtype.
    pub threshold: f64,
}

fn min_nan(a: f64, b: f64) -> f64 {
    if a.is_nan() {
        b
    } else if b.is_nan() {
        a
    } else {
        a.min(b)
    }
}

/// Per variant × dtype onsets from the onset records (minimum over the other keys).
pub fn onsets(records: &[OnsetRecord]) -> Vec<Onset> {
    let mut out: Vec<Onset> = Vec::new();
    for r in records {
        let dtype = r.dtype.name();
        let o = match out
            .iter_mut()
            .find(|o| o.variant == r.variant && o.dtype == dtype)
        {
            Some(o) => o,
            None => {
                out.push(Onset {
                    variant: r.variant.clone(),
                    dtype: dtype.to_string(),
                    nonfinite: f64::NAN,
                    flushed: f64::NAN,
                    max_scale: f64::NAN,
                    samples: f64::NAN,
                    threshold: r.exp_overflow_threshold,
                });
                let last = out.len() - 1;
                &mut out[last]
            }
        };
        o.nonfinite = min_nan(o.nonfinite, r.first_nonfinite_scale);
        o.flushed = min_nan(o.flushed, r.first_flushed_zero_scale);
        o.max_scale = max_nan(o.max_scale, r.max_scale);
        o.samples = min_nan(o.samples, r.samples as f64);
    }
    out
}

/// The findings paragraph from the onsets.
pub fn findings(onsets: &[Onset]) -> String {
    let dtypes = dtype_order(distinct_text_of(onsets.iter().map(|o| o.dtype.clone())));
    let variants = distinct_text_of(onsets.iter().map(|o| o.variant.clone()));
    let max_scale = onsets.iter().fold(f64::NAN, |a, o| max_nan(a, o.max_scale));
    let mut overflow = Vec::new();
    let mut never = Vec::new();
    for v in &variants {
        let at: Vec<String> = dtypes
            .iter()
            .filter_map(|d| {
                let o = onsets.iter().find(|o| &o.variant == v && &o.dtype == d)?;
                (!o.nonfinite.is_nan()).then(|| format!("{d} from {}", fmt(o.nonfinite)))
            })
            .collect();
        if at.is_empty() {
            never.push(v.clone());
        } else {
            overflow.push(format!("{v} ({})", at.join(", ")));
        }
    }
    let mut s = format!("Sweeping the logit scale up to {}: ", fmt(max_scale));
    if overflow.is_empty() {
        s += "no variant produces a non-finite output where the exact value is finite.";
    } else {
        s += &format!(
            "non-finite outputs where the exact value is finite appear for {}. ",
            and_list(&overflow)
        );
        s += &format!(
            "{} of {} variants never produce one in any dtype.",
            never.len(),
            variants.len()
        );
    }
    // The earliest flush to zero per dtype.
    let mut flush = Vec::new();
    for d in &dtypes {
        let first = onsets
            .iter()
            .filter(|o| &o.dtype == d && !o.flushed.is_nan())
            .min_by(|a, b| a.flushed.total_cmp(&b.flushed));
        if let Some(o) = first {
            let count = onsets
                .iter()
                .filter(|x| &x.dtype == d && !x.flushed.is_nan())
                .count();
            flush.push(format!(
                "{d}: first {} at scale {} ({count} variants flush at some scale)",
                o.variant,
                fmt(o.flushed)
            ));
        }
    }
    if !flush.is_empty() {
        s += &format!(
            " Outputs flushed to zero although the exact value rounds to a non-zero number: {}.",
            flush.join("; ")
        );
    }
    let thresholds: Vec<String> = dtypes
        .iter()
        .filter_map(|d| {
            let o = onsets.iter().find(|o| &o.dtype == d)?;
            o.threshold
                .is_finite()
                .then(|| format!("{d} {}", fmt(o.threshold)))
        })
        .collect();
    if !thresholds.is_empty() {
        s += &format!(
            " For reference, exp(x) overflows above x = {}.",
            thresholds.join(", ")
        );
    }
    s
}

fn distinct_text_of(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut out = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

/// The onset table: one row per variant, one column per dtype.
pub fn summary(onsets: &[Onset]) -> Block {
    let dtypes = dtype_order(distinct_text_of(onsets.iter().map(|o| o.dtype.clone())));
    let variants = distinct_text_of(onsets.iter().map(|o| o.variant.clone()));
    let show = |v: f64| {
        if v.is_nan() {
            "—".to_string()
        } else {
            fmt(v)
        }
    };
    let rows = variants
        .iter()
        .map(|v| {
            let mut cells = vec![vec![code(v)]];
            for d in &dtypes {
                cells.push(t(
                    match onsets.iter().find(|o| &o.variant == v && &o.dtype == d) {
                        Some(o) => format!(
                            "{} / {} ({} entries)",
                            show(o.nonfinite),
                            show(o.flushed),
                            fmt(o.samples)
                        ),
                        None => "not run".into(),
                    },
                ));
            }
            cells
        })
        .collect();
    let mut headers = vec!["variant".to_string()];
    headers.extend(
        dtypes
            .iter()
            .map(|d| format!("{d}: first non-finite / first flushed-zero scale")),
    );
    Block::Table { headers, rows }
}

/// The non-finite map: one panel per dtype, variants down, scales across; each cell
/// the largest non-finite fraction over generators and row lengths.
pub fn map_figure(name: &str, records: &[OverflowRecord]) -> Figure {
    let variants = distinct_text_of(records.iter().map(|r| r.key.variant.clone()));
    let dtypes = dtype_order(distinct_text_of(
        records.iter().map(|r| r.key.dtype.name().to_string()),
    ));
    let mut scales: Vec<f64> = records
        .iter()
        .map(|r| r.key.scale)
        .filter(|v| v.is_finite())
        .collect();
    scales.sort_by(f64::total_cmp);
    scales.dedup_by(|a, b| a.to_bits() == b.to_bits());
    let mut panels = Vec::new();
    for dt in &dtypes {
        let mut values = vec![vec![f64::NAN; scales.len()]; variants.len()];
        for r in records {
            if r.key.dtype.name() != dt {
                continue;
            }
            let (Some(i), Some(j)) = (
                variants.iter().position(|x| *x == r.key.variant),
                scales.iter().position(|x| *x == r.key.scale),
            ) else {
                continue;
            };
            values[i][j] = max_nan(values[i][j], r.nonfinite_fraction);
        }
        panels.push(Panel {
            title: dt.clone(),
            x: Axis::log("logit scale (×)"),
            y: Axis::linear("variant"),
            content: Content::Heat(Heat {
                scale: crate::plot::HeatScale::Fraction,
                cell_values: false,
                columns: scales.iter().map(|x| fmt(*x)).collect(),
                rows: variants.clone(),
                values,
                value_label: "non-finite fraction".into(),
            }),
        });
    }
    Figure {
        layout: crate::plot::Layout::Grid,
        name: name.to_string(),
        title: format!(
            "{}: fraction of outputs non-finite where the exact value is finite",
            name.trim_end_matches("_nonfinite_map")
        ),
        columns: 2,
        panels,
        notes: vec![
            "Each cell: the largest fraction over generators and row lengths at that scale; \
             grey: the variant does not run in that dtype."
                .into(),
        ],
    }
}

/// Render an overflow section.
pub fn render(l: &Loaded) -> Result<Rendered, String> {
    let records = l.need("overflow")?.records::<OverflowRecord>()?;
    let mut out = Rendered {
        method: vec![vec![plain(
            "Each variant runs on seeded rows whose logits are multiplied by the scale; an \
             output counts as non-finite when it is NaN or ±inf while the exact value, \
             rounded to the dtype, is finite, and as flushed when it is exactly 0 while the \
             exact value rounds to a non-zero number. The onset table gives, per variant \
             and dtype, the first swept scale at which each appears.",
        )]],
        ..Rendered::default()
    };
    match l.table("onset") {
        Some(onset) => {
            let o = onsets(&onset.records::<OnsetRecord>()?);
            out.findings = t(findings(&o));
            out.blocks.push(Block::Para(vec![plain(
                "First scale with non-finite outputs / first scale with flushed zeros \
                 (minimum over generators and row lengths; — : none up to the largest \
                 scale swept), and the entries scored per point:",
            )]));
            out.blocks.push(summary(&o));
        }
        None => {
            out.findings = t(format!(
                "{}: no onset table; only the map is shown.",
                l.file.display()
            ));
        }
    }
    let f = map_figure(&format!("{}_nonfinite_map", l.name), &records);
    out.figures.push((
        f,
        "Overflow map: fraction of non-finite outputs over logit scale × variant, per dtype."
            .into(),
    ));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn onset(v: &str, d: &str, nf: f64, fl: f64) -> Onset {
        Onset {
            variant: v.into(),
            dtype: d.into(),
            nonfinite: nf,
            flushed: fl,
            max_scale: 1e4,
            samples: 2048.0,
            threshold: if d == "f16" { 11.0859375 } else { 88.72 },
        }
    }

    #[test]
    fn findings_give_first_nonfinite_scale_per_dtype() {
        let o = vec![
            onset("naive", "f16", 11.1, 5.62),
            onset("naive", "f32", 100.0, f64::NAN),
            onset("stable", "f16", f64::NAN, 31.6),
            onset("stable", "f32", f64::NAN, f64::NAN),
        ];
        let s = findings(&o);
        assert!(
            s.contains("appear for naive (f16 from 11.1, f32 from 100)"),
            "{s}"
        );
        assert!(s.contains("1 of 2 variants never produce one"), "{s}");
        assert!(
            s.contains("f16: first naive at scale 5.62 (2 variants flush"),
            "{s}"
        );
        assert!(
            s.contains("exp(x) overflows above x = f16 11.1, f32 88.7"),
            "{s}"
        );
    }
}
