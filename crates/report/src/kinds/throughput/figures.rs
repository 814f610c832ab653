//! The throughput figures a reader can take in at a glance: one figure per
//! function group (f32 forward large, the other dtypes and the backward as small
//! multiples on shared axes, at most [`MAX_SERIES`] series), and heat maps of the
//! ratios to candle and to the memory copy (variant × dtype, one thread and all
//! cores, values printed in the cells).

use softmax_lab_core::{DType, Direction, Function};
use softmax_lab_results::records::ThroughputRecord;

use crate::data::{dtype_order, fmt};
use crate::plot::{
    Axis, Content, Figure, Heat, HeatScale, Layout, Panel, Series, Style, REFERENCE,
};
use plotters::style::RGBColor;

/// The most series a throughput panel draws; the other variants are in the tables
/// and the heat maps.
pub const MAX_SERIES: usize = 8;

/// The function of the relu reference (drawn with the sigmoids).
pub const RELU: &str = "relu";

/// The name of the memory-copy line (the faster of `memcpy` and `copy_loop`).
pub const COPY_LINE: &str = "memory copy";

/// The figure a function is drawn in: softmax with Gumbel-softmax, sigmoid with
/// hard sigmoid, sparsemax with 1.5-entmax ("sparse maps"); others alone.
pub fn group_of(function: &str) -> &str {
    let is = |f: Function| f.name() == function;
    if is(Function::Softmax) || is(Function::GumbelSoftmax) {
        Function::Softmax.name()
    } else if is(Function::Sigmoid) || is(Function::HardSigmoid) {
        Function::Sigmoid.name()
    } else if is(Function::Sparsemax) || is(Function::Entmax15) {
        "sparse maps"
    } else {
        function
    }
}

/// A record of the references (copies, relu), which no function figure owns.
pub fn is_reference(r: &ThroughputRecord) -> bool {
    r.family == "reference"
}

/// A record of the candle baseline.
pub fn is_candle(r: &ThroughputRecord) -> bool {
    r.family == "candle"
}

/// The rows a line over n is drawn from: the in-cache timing where a row length was
/// also timed streaming from memory (the out-of-cache rows stay in the tables).
pub fn line_rows(rows: &[ThroughputRecord]) -> Vec<&ThroughputRecord> {
    rows.iter()
        .filter(|r| {
            r.in_cache
                || !rows.iter().any(|o| {
                    o.in_cache
                        && o.variant == r.variant
                        && o.dtype == r.dtype
                        && o.n == r.n
                        && o.threads == r.threads
                        && o.direction == r.direction
                })
        })
        .collect()
}

/// The fewest threads of the table (one thread, normally).
pub fn fewest_threads(rows: &[ThroughputRecord]) -> Option<usize> {
    rows.iter().map(|r| r.threads).min()
}

/// The row length the summaries and heat maps compare at: the largest timed with
/// in-cache buffers for this dtype, forward, at these threads (the largest timed at
/// all where none was in cache).
pub fn reference_n(rows: &[ThroughputRecord], dtype: DType, threads: usize) -> Option<usize> {
    let of = |cache: bool| {
        rows.iter()
            .filter(|r| {
                r.dtype == dtype
                    && r.threads == threads
                    && r.direction == Direction::Forward
                    && (r.in_cache || !cache)
            })
            .map(|r| r.n)
            .max()
    };
    of(true).or_else(|| of(false))
}

fn geo_mean(v: impl Iterator<Item = f64>) -> f64 {
    let (mut sum, mut k) = (0.0, 0usize);
    for x in v.filter(|x| x.is_finite() && *x > 0.0) {
        sum += x.ln();
        k += 1;
    }
    if k == 0 {
        f64::NAN
    } else {
        (sum / k as f64).exp()
    }
}

/// The variants a group's figure draws, and those it leaves to the tables. The
/// rule: the `reference_lines` (the memory copy; relu too for sigmoids) and the
/// candle baselines always; then the group's other variants by the geometric mean
/// of their throughput over n in the lead panel (f32 forward, fewest threads;
/// fastest first) until [`MAX_SERIES`] series; variants absent from the lead panel
/// come last, by id.
pub fn select_series(
    rows: &[&ThroughputRecord],
    lead: (DType, Direction, usize),
    reference_lines: usize,
) -> (Vec<String>, Vec<String>) {
    let mut candle: Vec<String> = Vec::new();
    let mut others: Vec<(String, f64)> = Vec::new();
    for r in rows.iter().filter(|r| !is_reference(r)) {
        if is_candle(r) {
            if !candle.contains(&r.variant) {
                candle.push(r.variant.clone());
            }
        } else if !others.iter().any(|(v, _)| *v == r.variant) {
            let speed = geo_mean(
                rows.iter()
                    .filter(|o| o.variant == r.variant && (o.dtype, o.direction, o.threads) == lead)
                    .map(|o| o.elems_per_s),
            );
            others.push((r.variant.clone(), speed));
        }
    }
    others.sort_by(|a, b| match (a.1.is_nan(), b.1.is_nan()) {
        (false, false) => b.1.total_cmp(&a.1),
        (x, y) => x.cmp(&y).then(a.0.cmp(&b.0)),
    });
    let room = MAX_SERIES.saturating_sub(reference_lines + candle.len());
    let left: Vec<String> = others.iter().skip(room).map(|o| o.0.clone()).collect();
    let mut chosen: Vec<String> = others.into_iter().take(room).map(|o| o.0).collect();
    chosen.extend(candle);
    (chosen, left)
}

/// One figure per function group: elements per second against the row length at the
/// fewest threads; f32 forward is the large panel, the other dtypes and the
/// backward are small multiples on the same axes.
pub fn group_figures(scenario: &str, rows: &[ThroughputRecord]) -> Vec<(Figure, String)> {
    let Some(threads) = fewest_threads(rows) else {
        return Vec::new();
    };
    let lines: Vec<&ThroughputRecord> = line_rows(rows)
        .into_iter()
        .filter(|r| r.threads == threads)
        .collect();
    let mut groups: Vec<String> = Vec::new();
    for r in lines.iter().filter(|r| !is_reference(r)) {
        let g = group_of(&r.function).to_string();
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    let mut dtypes: Vec<String> = Vec::new();
    for r in &lines {
        if !dtypes.iter().any(|d| d == r.dtype.name()) {
            dtypes.push(r.dtype.name().to_string());
        }
    }
    let dtypes = dtype_order(dtypes);
    let mut out = Vec::new();
    for g in groups {
        let mine: Vec<&ThroughputRecord> = lines
            .iter()
            .copied()
            .filter(|r| !is_reference(r) && group_of(&r.function) == g)
            .collect();
        let lead_dtype = if mine.iter().any(|r| r.dtype == DType::F32) {
            DType::F32
        } else {
            mine.first().map_or(DType::F32, |r| r.dtype)
        };
        // Sigmoids are drawn with relu, the cheapest activation they are weighed against.
        let relu: Vec<&ThroughputRecord> = if g == Function::Sigmoid.name() {
            lines
                .iter()
                .copied()
                .filter(|r| is_reference(r) && r.function == RELU)
                .collect()
        } else {
            Vec::new()
        };
        let reserved = 1 + usize::from(!relu.is_empty());
        let (chosen, left) =
            select_series(&mine, (lead_dtype, Direction::Forward, threads), reserved);
        let mut panels = Vec::new();
        let mut order: Vec<(DType, Direction)> = vec![(lead_dtype, Direction::Forward)];
        for dir in Direction::ALL {
            for d in &dtypes {
                let Some(dt) = DType::ALL.into_iter().find(|x| x.name() == d) else {
                    continue;
                };
                if !order.contains(&(dt, dir)) {
                    order.push((dt, dir));
                }
            }
        }
        for (dt, dir) in order {
            let here: Vec<&ThroughputRecord> = mine
                .iter()
                .copied()
                .filter(|r| r.dtype == dt && r.direction == dir)
                .collect();
            if here.is_empty() {
                continue;
            }
            panels.push(Panel {
                title: format!("{}, {}", dt.name(), dir.name()),
                x: Axis::log("row length n (elements)"),
                y: Axis::log("throughput (elements/s)"),
                content: Content::Lines(panel_series(&here, &relu_at(&relu, dt, dir), &chosen)),
            });
        }
        let mut notes = vec![
            format!(
                "{threads} thread(s), buffers in cache; median of timed samples, band: 95% CI. \
                 Dashed: the memory copy (the faster of memcpy and a vector copy loop)."
            ),
            format!(
                "Drawn: the copy{}, candle and the fastest variants by geometric-mean \
                 throughput in the {} forward panel, {MAX_SERIES} series at most.",
                if relu.is_empty() {
                    ""
                } else {
                    ", relu (dashed grey)"
                },
                lead_dtype.name()
            ),
        ];
        if !left.is_empty() {
            notes.push(format!(
                "In the tables and heat maps only: {}.",
                left.join(", ")
            ));
        }
        let slug = g.replace(' ', "_");
        out.push((
            Figure {
                name: format!("{scenario}_throughput_{slug}"),
                title: format!("{g}: throughput against row length"),
                columns: 4,
                layout: Layout::Lead,
                panels,
                notes,
            },
            format!(
                "{g}: throughput against row length, {} forward large, the other dtypes and \
                 the backward below on the same axes.",
                lead_dtype.name()
            ),
        ));
    }
    out
}

/// The relu rows of one panel.
fn relu_at<'a>(
    relu: &[&'a ThroughputRecord],
    dt: DType,
    dir: Direction,
) -> Vec<&'a ThroughputRecord> {
    relu.iter()
        .copied()
        .filter(|r| r.dtype == dt && r.direction == dir)
        .collect()
}

/// A panel's series: the copy line (from the rows' own bandwidth reference), relu
/// where given (dashed grey), then the chosen variants in their chosen order.
fn panel_series(
    here: &[&ThroughputRecord],
    relu: &[&ThroughputRecord],
    chosen: &[String],
) -> Vec<Series> {
    let mut copy: Vec<(f64, f64)> = Vec::new();
    for r in here {
        if !copy.iter().any(|p| p.0 == r.n as f64) && r.memcpy_elems_per_s.is_finite() {
            copy.push((r.n as f64, r.memcpy_elems_per_s));
        }
    }
    copy.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut series = vec![Series::line(COPY_LINE, copy)
        .styled(Style::Dashed)
        .colored(REFERENCE)];
    if !relu.is_empty() {
        let mut pts: Vec<(f64, f64)> = relu.iter().map(|r| (r.n as f64, r.elems_per_s)).collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        series.push(
            Series::line(RELU, pts)
                .styled(Style::Dashed)
                .colored(RGBColor(150, 150, 150)),
        );
    }
    for v in chosen {
        let mut pts: Vec<&&ThroughputRecord> = here.iter().filter(|r| &r.variant == v).collect();
        if pts.is_empty() {
            continue;
        }
        pts.sort_by_key(|r| r.n);
        series.push(
            Series::line(v, pts.iter().map(|r| (r.n as f64, r.elems_per_s)).collect()).with_band(
                pts.iter()
                    .map(|r| (r.n as f64, r.elems_per_s_ci95_low, r.elems_per_s_ci95_high))
                    .collect(),
            ),
        );
    }
    series
}

/// Which ratio a heat map shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ratio {
    /// `ratio_to_candle`.
    Candle,
    /// `ratio_to_memcpy`.
    Memcpy,
}

impl Ratio {
    fn of(self, r: &ThroughputRecord) -> f64 {
        match self {
            Ratio::Candle => r.ratio_to_candle,
            Ratio::Memcpy => r.ratio_to_memcpy,
        }
    }

    fn column(self) -> &'static str {
        match self {
            Ratio::Candle => "ratio_to_candle",
            Ratio::Memcpy => "ratio_to_memcpy",
        }
    }
}

/// A heat map of one ratio: a row per variant (grouped by function, fastest f32
/// first), a column per dtype, one panel at the fewest threads and one at the most,
/// forward, at each dtype's [`reference_n`]; the value printed in each cell.
pub fn ratio_heat(scenario: &str, rows: &[ThroughputRecord], ratio: Ratio) -> Option<Figure> {
    let lo = fewest_threads(rows)?;
    let hi = rows.iter().map(|r| r.threads).max()?;
    let lines = line_rows(rows);
    let dtypes: Vec<DType> = dtype_order(rows.iter().map(|r| r.dtype.name().to_string()).fold(
        Vec::new(),
        |mut v, d| {
            if !v.contains(&d) {
                v.push(d);
            }
            v
        },
    ))
    .iter()
    .filter_map(|d| DType::ALL.into_iter().find(|x| x.name() == d))
    .collect();
    let value = |v: &str, dt: DType, threads: usize| -> f64 {
        let Some(n) = reference_n(rows, dt, threads) else {
            return f64::NAN;
        };
        lines
            .iter()
            .find(|r| {
                r.variant == v
                    && r.dtype == dt
                    && r.threads == threads
                    && r.n == n
                    && r.direction == Direction::Forward
            })
            .map_or(f64::NAN, |r| ratio.of(r))
    };
    let mut variants: Vec<(String, String)> = Vec::new();
    for r in rows.iter().filter(|r| !is_reference(r)) {
        if ratio == Ratio::Candle && is_candle(r) {
            continue;
        }
        if !variants.iter().any(|(v, _)| *v == r.variant) {
            variants.push((r.variant.clone(), group_of(&r.function).to_string()));
        }
    }
    if variants.is_empty() {
        return None;
    }
    let groups: Vec<String> = variants.iter().fold(Vec::new(), |mut g, (_, x)| {
        if !g.contains(x) {
            g.push(x.clone());
        }
        g
    });
    let key_dt = dtypes
        .iter()
        .copied()
        .find(|d| *d == DType::F32)
        .or(dtypes.first().copied())?;
    variants.sort_by(|a, b| {
        let pos = |g: &String| groups.iter().position(|x| x == g);
        pos(&a.1)
            .cmp(&pos(&b.1))
            .then(value(&b.0, key_dt, lo).total_cmp(&value(&a.0, key_dt, lo)))
    });
    let threads_list: Vec<usize> = if hi > lo { vec![lo, hi] } else { vec![lo] };
    let panels: Vec<Panel> = threads_list
        .iter()
        .map(|&th| Panel {
            title: format!("{th} thread(s)"),
            x: Axis::linear("dtype (forward)"),
            y: Axis::linear("variant"),
            content: Content::Heat(Heat {
                columns: dtypes.iter().map(|d| d.name().to_string()).collect(),
                rows: variants.iter().map(|v| v.0.clone()).collect(),
                values: variants
                    .iter()
                    .map(|v| dtypes.iter().map(|&d| value(&v.0, d, th)).collect())
                    .collect(),
                value_label: ratio.column().into(),
                scale: HeatScale::Ratio,
                cell_values: true,
            }),
        })
        .collect();
    let ns: Vec<String> = dtypes
        .iter()
        .filter_map(|&d| {
            reference_n(rows, d, lo).map(|n| format!("{} n = {}", d.name(), fmt(n as f64)))
        })
        .collect();
    let what = match ratio {
        Ratio::Candle => "elements/s over candle's in the same group (blue: faster than candle)",
        Ratio::Memcpy => {
            "elements/s over the memory copy's (the faster of memcpy and copy_loop; \
             1 = copy speed)"
        }
    };
    Some(Figure {
        name: format!("{scenario}_{}", ratio.column()),
        title: format!("{scenario}: {} per variant and dtype", ratio.column()),
        columns: 2,
        layout: Layout::Grid,
        panels,
        notes: vec![
            format!("{}: {what}.", ratio.column()),
            format!(
                "Forward, at the largest row length timed in cache: {}.",
                ns.join(", ")
            ),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use softmax_lab_results::fixtures;
    use softmax_lab_results::{Table, Value as V};

    /// A throughput table of `k` softmax variants (variant i at (i + 1) G/s), candle
    /// and memcpy, f32 and f16, forward, at three row lengths.
    pub fn rows(k: usize) -> Vec<ThroughputRecord> {
        let mut t = Table::of::<ThroughputRecord>("throughput");
        let mut add = |v: &str, fam: &str, fun: &str, dt: &str, n: i64, eps: f64| {
            fixtures::push(
                &mut t,
                &[
                    ("variant", V::Text(v.into())),
                    ("family", V::Text(fam.into())),
                    ("function", V::Text(fun.into())),
                    ("dtype", V::Text(dt.into())),
                    ("n", V::Int(n)),
                    ("threads", V::Int(1)),
                    ("direction", V::Text("forward".into())),
                    ("in_cache", V::Bool(true)),
                    ("elems_per_s", V::Float(eps)),
                    ("ratio_to_memcpy", V::Float(eps / 1e10)),
                    ("ratio_to_candle", V::Float(eps / 5e8)),
                    ("memcpy_elems_per_s", V::Float(1e10)),
                ],
            );
        };
        for dt in ["f32", "f16"] {
            for n in [64, 1024, 65536] {
                add("memcpy", "reference", "copy", dt, n, 1e10);
                add("candle_softmax", "candle", "softmax", dt, n, 5e8);
                for i in 0..k {
                    // f16 reverses the order, so that only f32 decides.
                    let speed = if dt == "f32" { i + 1 } else { k - i };
                    add(
                        &format!("v{i}"),
                        "stable",
                        "softmax",
                        dt,
                        n,
                        speed as f64 * 1e9,
                    );
                }
            }
        }
        t.records().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn at_most_eight_series_the_fastest_in_f32_plus_candle_and_the_copy() {
        let r = rows(10);
        let refs: Vec<&ThroughputRecord> = r.iter().collect();
        let (chosen, left) = select_series(&refs, (DType::F32, Direction::Forward, 1), 1);
        // 8 = the copy line + candle + the six fastest in f32 (v9 … v4).
        assert_eq!(
            chosen,
            ["v9", "v8", "v7", "v6", "v5", "v4", "candle_softmax"]
        );
        assert_eq!(left, ["v3", "v2", "v1", "v0"]);
        let figs = group_figures("tp", &r);
        assert_eq!(figs.len(), 1);
        let f = &figs[0].0;
        assert_eq!(f.panels[0].title, "f32, forward");
        for p in &f.panels {
            let Content::Lines(s) = &p.content else {
                panic!("lines expected")
            };
            assert_eq!(s.len(), MAX_SERIES);
            assert_eq!(s[0].name, COPY_LINE);
        }
    }

    #[test]
    fn every_variant_is_drawn_when_few() {
        let r = rows(3);
        let refs: Vec<&ThroughputRecord> = r.iter().collect();
        let (chosen, left) = select_series(&refs, (DType::F32, Direction::Forward, 1), 1);
        assert_eq!(chosen, ["v2", "v1", "v0", "candle_softmax"]);
        assert!(left.is_empty());
    }

    #[test]
    fn heat_maps_print_the_ratio_at_the_largest_in_cache_n() {
        let r = rows(2);
        let f = ratio_heat("tp", &r, Ratio::Candle).unwrap_or_else(|| panic!("no figure"));
        assert_eq!(f.panels.len(), 1);
        let Content::Heat(h) = &f.panels[0].content else {
            panic!("heat expected")
        };
        assert_eq!(h.columns, ["f16", "f32"]);
        // Fastest in f32 first; candle itself is not a row of its own ratio.
        assert_eq!(h.rows, ["v1", "v0"]);
        assert_eq!(h.values, vec![vec![2.0, 4.0], vec![4.0, 2.0]]);
        assert!(h.cell_values);
        let m = ratio_heat("tp", &r, Ratio::Memcpy).unwrap_or_else(|| panic!("no figure"));
        let Content::Heat(h) = &m.panels[0].content else {
            panic!("heat expected")
        };
        assert!(h.rows.contains(&"candle_softmax".to_string()));
        assert_eq!(group_of("entmax15"), "sparse maps");
        assert_eq!(group_of("hard_sigmoid"), "sigmoid");
    }
}
