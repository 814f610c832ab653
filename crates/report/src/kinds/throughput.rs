//! Throughput sections: elements per second against the row length with the memory
//! copy and candle, accuracy against throughput, hierarchical against full softmax
//! cost per target, and sharded softmax against unsharded.

use softmax_lab_results::records::AccuracyRecord;
use softmax_lab_results::Table;

use super::{and_list, code, plain, Ctx, Loaded, Rendered};
use crate::data::{boolean, dtype_order, fmt, max_nan, num, text, Cols};
use crate::doc::{t, Block};
use crate::plot::{Axis, Content, Figure, Panel, Series, Style, REFERENCE};
use plotters::style::RGBColor;

/// One row of the main throughput table.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Variant id (`memcpy`, `copy_loop` and `relu` are the references).
    pub variant: String,
    /// Family (`reference` for the references).
    pub family: String,
    /// Function.
    pub function: String,
    /// Dtype.
    pub dtype: String,
    /// Row length.
    pub n: f64,
    /// Threads.
    pub threads: f64,
    /// forward or backward.
    pub direction: String,
    /// Elements per second (median).
    pub eps: f64,
    /// Its 95% CI.
    pub ci: (f64, f64),
    /// Bytes per second.
    pub bps: f64,
    /// Against the memory copy.
    pub ratio_memcpy: f64,
    /// Against candle.
    pub ratio_candle: f64,
    /// The candle variant compared with.
    pub candle_variant: String,
    /// Timed samples.
    pub samples: f64,
    /// Whether the working set fits in cache.
    pub in_cache: bool,
}

/// Parse the main throughput table.
pub fn parse(table: &Table) -> Result<Vec<Row>, String> {
    let c = Cols::new(table);
    let i = [
        c.idx("variant")?,
        c.idx("dtype")?,
        c.idx("n")?,
        c.idx("elems_per_s")?,
    ];
    let o = |name| c.opt(name);
    let (fam, fun, thr, dir, lo, hi, bps, rm, rc, cv, sa, ic) = (
        o("family"),
        o("function"),
        o("threads"),
        o("direction"),
        o("elems_per_s_ci95_low"),
        o("elems_per_s_ci95_high"),
        o("bytes_per_s"),
        o("ratio_to_memcpy"),
        o("ratio_to_candle"),
        o("candle_variant"),
        o("samples"),
        o("in_cache"),
    );
    let f = |r: &[_], k: Option<usize>| k.map_or(f64::NAN, |k| num(r, k));
    let s = |r: &[_], k: Option<usize>, d: &str| k.map_or(d.to_string(), |k| text(r, k));
    Ok(table
        .rows
        .iter()
        .map(|r| Row {
            variant: text(r, i[0]),
            family: s(r, fam, ""),
            function: s(r, fun, ""),
            dtype: text(r, i[1]),
            n: num(r, i[2]),
            threads: thr.map_or(1.0, |k| num(r, k)),
            direction: s(r, dir, "forward"),
            eps: num(r, i[3]),
            ci: (f(r, lo), f(r, hi)),
            bps: f(r, bps),
            ratio_memcpy: f(r, rm),
            ratio_candle: f(r, rc),
            candle_variant: s(r, cv, ""),
            samples: f(r, sa),
            in_cache: ic.is_some_and(|k| boolean(r, k)),
        })
        .collect())
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

fn is_reference(r: &Row) -> bool {
    r.family == "reference" || ["memcpy", "copy_loop", "relu"].contains(&r.variant.as_str())
}

fn min_threads(rows: &[Row]) -> f64 {
    rows.iter().map(|r| r.threads).fold(f64::INFINITY, f64::min)
}

fn main_dtype(rows: &[Row]) -> String {
    if rows.iter().any(|r| r.dtype == "f32") {
        "f32".into()
    } else {
        rows.first().map(|r| r.dtype.clone()).unwrap_or_default()
    }
}

/// Elements per second against the row length: one row of panels per function
/// (softmax, log-softmax, sigmoid, ...), one column per dtype and direction, at the
/// fewest threads measured; the memory copy and relu (dashed) in every panel.
pub fn throughput_figure(name: &str, rows: &[Row]) -> Figure {
    let dtypes = dtype_order(distinct(rows.iter().map(|r| r.dtype.clone())));
    let dirs = distinct(rows.iter().map(|r| r.direction.clone()));
    let functions = distinct(
        rows.iter()
            .filter(|r| !is_reference(r))
            .map(|r| r.function.clone()),
    );
    let threads = min_threads(rows);
    let mut panels = Vec::new();
    let mut skipped = 0;
    let mut columns = 0;
    for f in &functions {
        columns = 0;
        for dir in &dirs {
            for d in &dtypes {
                let mut series = Vec::new();
                for v in distinct(rows.iter().map(|r| r.variant.clone())) {
                    let mut pts: Vec<&Row> = rows
                        .iter()
                        .filter(|r| {
                            r.variant == v
                                && &r.dtype == d
                                && &r.direction == dir
                                && r.threads == threads
                                && (is_reference(r) || &r.function == f)
                        })
                        .collect();
                    if pts.is_empty() {
                        continue;
                    }
                    pts.sort_by(|a, b| a.n.total_cmp(&b.n));
                    skipped += pts
                        .iter()
                        .filter(|r| !(r.eps.is_finite() && r.eps > 0.0))
                        .count();
                    let line = Series::line(&v, pts.iter().map(|r| (r.n, r.eps)).collect());
                    let s = if v == "memcpy" {
                        line.styled(Style::Dashed).colored(REFERENCE)
                    } else if v == "copy_loop" {
                        line.styled(Style::Dashed).colored(RGBColor(90, 90, 200))
                    } else if v == "relu" {
                        line.styled(Style::Dashed).colored(RGBColor(150, 150, 150))
                    } else {
                        line.with_band(pts.iter().map(|r| (r.n, r.ci.0, r.ci.1)).collect())
                    };
                    series.push(s);
                }
                // References first, so that the variants are drawn over them.
                series.sort_by_key(|s| s.style != Style::Dashed);
                columns += 1;
                panels.push(Panel {
                    title: format!("{f}, {d}, {dir}"),
                    x: Axis::log("row length n (elements)"),
                    y: Axis::log("throughput (elements/s)"),
                    content: Content::Lines(series),
                });
            }
        }
    }
    let mut notes = vec![format!(
        "{} thread(s); median of timed samples, band: 95% CI; memcpy (dashed black: the C \
         library's copy; dashed blue: a vector copy loop) reads and writes each element once; \
         ratios to memcpy divide by the faster of the two; relu (dashed grey) is the cheapest activation.",
        fmt(threads)
    )];
    if skipped > 0 {
        notes.push(format!(
            "Not drawn: {skipped} points with no positive finite throughput."
        ));
    }
    Figure {
        name: name.to_string(),
        title: format!(
            "{}: throughput against row length",
            name.trim_end_matches("_throughput_vs_n")
        ),
        columns: columns.max(1),
        panels,
        notes,
    }
}

/// Accuracy (worst max ULP at the smallest scale, temperature 1, from the accuracy
/// scenarios) against throughput at the largest row length, per dtype.
pub fn accuracy_vs_throughput(name: &str, rows: &[Row], acc: &[AccuracyRecord]) -> Option<Figure> {
    let threads = min_threads(rows);
    let dtypes = dtype_order(distinct(rows.iter().map(|r| r.dtype.clone())));
    let mut panels = Vec::new();
    let mut infinite = Vec::new();
    for d in &dtypes {
        let fwd: Vec<&Row> = rows
            .iter()
            .filter(|r| {
                &r.dtype == d
                    && r.direction == "forward"
                    && r.threads == threads
                    && !is_reference(r)
            })
            .collect();
        let Some(n) = fwd.iter().map(|r| r.n).reduce(f64::max) else {
            continue;
        };
        let mut series = Vec::new();
        for v in distinct(fwd.iter().map(|r| r.variant.clone())) {
            let Some(speed) = fwd
                .iter()
                .find(|r| r.variant == v && r.n == n)
                .map(|r| r.eps)
            else {
                continue;
            };
            let pts: Vec<&AccuracyRecord> = acc
                .iter()
                .filter(|a| {
                    a.key.variant == v && a.key.dtype.name() == *d && a.key.temperature == 1.0
                })
                .collect();
            let Some(s0) = pts.iter().map(|a| a.key.scale).reduce(f64::min) else {
                continue;
            };
            let ulp = pts
                .iter()
                .filter(|a| a.key.scale == s0)
                .fold(f64::NAN, |m, a| max_nan(m, a.max_ulp));
            if !ulp.is_finite() {
                infinite.push(format!("{v} ({d})"));
                continue;
            }
            series.push(Series::line(&v, vec![(speed, ulp)]).styled(Style::Markers));
        }
        if !series.is_empty() {
            panels.push(Panel {
                title: format!("{d}, n = {}", fmt(n)),
                x: Axis::log("throughput (elements/s), higher is faster"),
                y: Axis::log("worst max error (ULP), lower is better"),
                content: Content::Lines(series),
            });
        }
    }
    if panels.is_empty() {
        return None;
    }
    let mut notes = vec![
        "y: worst max ULP over generators and row lengths at the smallest swept scale \
         (temperature 1) of the accuracy scenarios; x: forward throughput at the largest n."
            .to_string(),
    ];
    if !infinite.is_empty() {
        notes.push(format!(
            "Not drawn (infinite error): {}.",
            infinite.join(", ")
        ));
    }
    Some(Figure {
        name: name.to_string(),
        title: format!(
            "{}: accuracy against throughput",
            name.trim_end_matches("_accuracy_vs_throughput")
        ),
        columns: panels.len().min(2),
        panels,
        notes,
    })
}

/// Hierarchical against full softmax: time, exps per target and speedup against V.
pub fn hsoftmax_figure(name: &str, table: &Table) -> Result<Figure, String> {
    let c = Cols::new(table);
    let (tree, vocab, ns) = (c.idx("tree")?, c.idx("vocab")?, c.idx("ns_per_target")?);
    let (lo, hi, exps, speed) = (
        c.opt("ns_per_target_ci95_low"),
        c.opt("ns_per_target_ci95_high"),
        c.opt("exp_per_target"),
        c.opt("speedup_vs_full"),
    );
    let rows: Vec<&[softmax_lab_results::Value]> = table.rows.iter().map(Vec::as_slice).collect();
    let trees = distinct(rows.iter().map(|r| text(r, tree)));
    let mut time = Vec::new();
    let mut exp = Vec::new();
    let mut sp = Vec::new();
    for tr in &trees {
        let mut rs: Vec<&&[_]> = rows.iter().filter(|r| &text(r, tree) == tr).collect();
        rs.sort_by(|a, b| num(a, vocab).total_cmp(&num(b, vocab)));
        let pts = |k: usize| {
            rs.iter()
                .map(|r| (num(r, vocab), num(r, k)))
                .collect::<Vec<_>>()
        };
        let mut s = Series::line(tr, pts(ns));
        if let (Some(lo), Some(hi)) = (lo, hi) {
            s = s.with_band(
                rs.iter()
                    .map(|r| (num(r, vocab), num(r, lo), num(r, hi)))
                    .collect(),
            );
        }
        time.push(s);
        if let Some(e) = exps {
            exp.push(Series::line(tr, pts(e)));
        }
        if let Some(k) = speed {
            sp.push(Series::line(tr, pts(k)));
        }
    }
    let x = || Axis::log("vocabulary size V (classes)");
    let mut panels = vec![Panel {
        title: "time per target".into(),
        x: x(),
        y: Axis::log("time per target (ns)"),
        content: Content::Lines(time),
    }];
    if !exp.is_empty() {
        panels.push(Panel {
            title: "exponentials per target".into(),
            x: x(),
            y: Axis::log("exp evaluations per target"),
            content: Content::Lines(exp),
        });
    }
    if !sp.is_empty() {
        panels.push(Panel {
            title: "speedup".into(),
            x: x(),
            y: Axis::log("speedup over full softmax (×)"),
            content: Content::Lines(sp),
        });
    }
    Ok(Figure {
        name: name.to_string(),
        title: format!(
            "{}: hierarchical against full softmax, cost per target",
            name.trim_end_matches("_hsoftmax_cost")
        ),
        columns: panels.len(),
        panels,
        notes: vec!["Band: 95% CI of the time per target.".into()],
    })
}

/// Sharded softmax: throughput relative to unsharded against the number of shards.
pub fn sharded_figure(name: &str, table: &Table) -> Result<Figure, String> {
    let c = Cols::new(table);
    let (v, d, n, sh, ratio) = (
        c.idx("variant")?,
        c.idx("dtype")?,
        c.idx("n")?,
        c.idx("shards")?,
        c.idx("ratio_to_unsharded")?,
    );
    let rows: Vec<&[softmax_lab_results::Value]> = table.rows.iter().map(Vec::as_slice).collect();
    let dtypes = dtype_order(distinct(rows.iter().map(|r| text(r, d))));
    let mut panels = Vec::new();
    for dt in &dtypes {
        let mut series = Vec::new();
        let keys = distinct(
            rows.iter()
                .filter(|r| &text(r, d) == dt)
                .map(|r| format!("{} n={}", text(r, v), fmt(num(r, n)))),
        );
        for k in keys {
            let mut pts: Vec<(f64, f64)> = rows
                .iter()
                .filter(|r| {
                    &text(r, d) == dt && format!("{} n={}", text(r, v), fmt(num(r, n))) == k
                })
                .map(|r| (num(r, sh), num(r, ratio)))
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            series.push(Series::line(&k, pts));
        }
        panels.push(Panel {
            title: dt.clone(),
            x: Axis::log("shards"),
            y: Axis::linear("throughput relative to unsharded (×)"),
            content: Content::Lines(series),
        });
    }
    Ok(Figure {
        name: name.to_string(),
        title: format!("{}: sharded softmax", name.trim_end_matches("_sharded")),
        columns: panels.len().clamp(1, 4),
        panels,
        notes: vec![
            "Each shard reduces its slice to (max, sum of exp); the shards exchange those \
             and rescale."
                .into(),
        ],
    })
}

/// The findings paragraph (main table, hsoftmax and sharded tables when present).
pub fn findings(rows: &[Row], hs: Option<&Table>, sharded: Option<&Table>) -> String {
    let mut s = String::new();
    let d = main_dtype(rows);
    let threads = min_threads(rows);
    let fwd: Vec<&Row> = rows
        .iter()
        .filter(|r| r.dtype == d && r.direction == "forward" && r.threads == threads)
        .collect();
    if let Some(n) = fwd.iter().map(|r| r.n).reduce(f64::max) {
        let at: Vec<&&Row> = fwd.iter().filter(|r| r.n == n).collect();
        let best = at
            .iter()
            .filter(|r| !is_reference(r) && r.eps.is_finite())
            .max_by(|a, b| a.eps.total_cmp(&b.eps));
        if let Some(b) = best {
            s += &format!(
                "At n = {} ({d}, forward, {} thread(s)) the fastest variant is {} at {} \
                 elements/s (95% CI {}–{}, {} samples), {} of the memory copy's rate.",
                fmt(n),
                fmt(threads),
                b.variant,
                fmt(b.eps),
                fmt(b.ci.0),
                fmt(b.ci.1),
                fmt(b.samples),
                crate::data::pct(b.ratio_memcpy)
            );
        }
        let vs_candle: Vec<String> = at
            .iter()
            .filter(|r| {
                !is_reference(r)
                    && r.family != "candle"
                    && r.variant != r.candle_variant
                    && r.ratio_candle.is_finite()
                    && !r.candle_variant.is_empty()
            })
            .map(|r| {
                format!(
                    "{} {}× {}",
                    r.variant,
                    fmt(r.ratio_candle),
                    r.candle_variant
                )
            })
            .collect();
        if !vs_candle.is_empty() {
            s += &format!(" Against candle: {}.", and_list(&vs_candle));
        }
        let relu = at.iter().find(|r| r.variant == "relu").map(|r| r.eps);
        if let Some(relu) = relu.filter(|v| v.is_finite() && *v > 0.0) {
            let sig: Vec<String> = at
                .iter()
                .filter(|r| r.function == "sigmoid" || r.function == "hard_sigmoid")
                .filter(|r| r.eps.is_finite() && r.eps > 0.0)
                .map(|r| format!("{} {}×", r.variant, fmt(relu / r.eps)))
                .collect();
            if !sig.is_empty() {
                s += &format!(" Time per element relative to relu: {}.", and_list(&sig));
            }
        }
    }
    if let Some(h) = hs {
        let c = Cols::new(h);
        if let (Ok(tree), Ok(vocab), Ok(speed)) =
            (c.idx("tree"), c.idx("vocab"), c.idx("speedup_vs_full"))
        {
            let vmax = h.rows.iter().map(|r| num(r, vocab)).fold(f64::NAN, max_nan);
            let parts: Vec<String> = h
                .rows
                .iter()
                .filter(|r| num(r, vocab) == vmax && text(r, tree) != "full")
                .map(|r| format!("{} {}×", text(r, tree), fmt(num(r, speed))))
                .collect();
            if !parts.is_empty() {
                s += &format!(
                    " Hierarchical softmax at V = {}: speedup per target over the full softmax: {}.",
                    fmt(vmax),
                    and_list(&parts)
                );
            }
        }
    }
    if let Some(sh) = sharded {
        let c = Cols::new(sh);
        if let (Ok(ratio), Ok(bytes)) = (
            c.idx("ratio_to_unsharded"),
            c.idx("bytes_exchanged_per_row"),
        ) {
            let r: Vec<f64> = sh
                .rows
                .iter()
                .map(|r| num(r, ratio))
                .filter(|v| v.is_finite())
                .collect();
            let b: Vec<f64> = sh
                .rows
                .iter()
                .map(|r| num(r, bytes))
                .filter(|v| v.is_finite())
                .collect();
            if let (Some(lo), Some(hi)) = (
                r.iter().copied().reduce(f64::min),
                r.iter().copied().reduce(f64::max),
            ) {
                s += &format!(
                    " Sharded softmax runs at {}–{}× the unsharded rate, exchanging {}–{} bytes per row.",
                    fmt(lo),
                    fmt(hi),
                    fmt(b.iter().copied().fold(f64::INFINITY, f64::min)),
                    fmt(b.iter().copied().fold(f64::NEG_INFINITY, f64::max))
                );
            }
        }
    }
    if s.is_empty() {
        s = "No throughput rows to summarise.".into();
    }
    s
}

/// The summary table: every variant at the largest row length.
pub fn summary(rows: &[Row]) -> Block {
    let mut out = Vec::new();
    let nmax = rows.iter().map(|r| r.n).fold(f64::NAN, max_nan);
    let mut at: Vec<&Row> = rows.iter().filter(|r| r.n == nmax).collect();
    let dt = dtype_order(distinct(rows.iter().map(|r| r.dtype.clone())));
    at.sort_by(|a, b| {
        let pos = |d: &str| dt.iter().position(|x| x == d);
        pos(&a.dtype)
            .cmp(&pos(&b.dtype))
            .then(a.direction.cmp(&b.direction))
            .then(a.threads.total_cmp(&b.threads))
            .then(b.eps.total_cmp(&a.eps))
    });
    for r in at {
        out.push(vec![
            vec![code(&r.variant)],
            t(r.function.clone()),
            t(r.dtype.clone()),
            t(r.direction.clone()),
            t(fmt(r.threads)),
            t(format!("{} [{}, {}]", fmt(r.eps), fmt(r.ci.0), fmt(r.ci.1))),
            t(fmt(r.bps / 1e9)),
            t(fmt(r.ratio_memcpy)),
            t(if r.candle_variant.is_empty() {
                "—".into()
            } else {
                format!("{} ({})", fmt(r.ratio_candle), r.candle_variant)
            }),
            t(fmt(r.samples)),
        ]);
    }
    Block::Table {
        headers: [
            "variant",
            "function",
            "dtype",
            "direction",
            "threads",
            &format!("elements/s at n = {} [95% CI]", fmt(nmax)),
            "GB/s",
            "× memcpy",
            "× candle",
            "samples",
        ]
        .map(String::from)
        .to_vec(),
        rows: out,
    }
}

/// Render a throughput section.
pub fn render(l: &Loaded, ctx: &Ctx) -> Result<Rendered, String> {
    let rows = parse(l.need("throughput")?)?;
    let hs = l.table("hsoftmax").filter(|t| !t.rows.is_empty());
    let sharded = l.table("sharded").filter(|t| !t.rows.is_empty());
    let mut out = Rendered {
        method: vec![vec![plain(
            "Each variant runs on batches of rows in each dtype, in a rayon pool of the \
             stated size; the timer takes repeated samples, interleaved with the references \
             so that drift cancels, and the table keeps the median rate with its \
             distribution-free 95% confidence interval and the sample count. Rows per call \
             are chosen so every call moves the same input bytes; cases whose input and \
             output exceed half the last-level cache rotate through buffers spanning twice \
             it. Bytes count each element read once and written once, as Dukhan & \
             Ablavatski (2020) count (twice the element size forward; three times backward: \
             y or x and dy read, dx written). The memory copy and relu run on the same \
             buffers as references; candle is timed on tensors built once: \
             softmax_last_dim (forward) or its autograd through softmax/log_softmax \
             (backward, forward included), sigmoid for sigmoids.",
        )]],
        ..Rendered::default()
    };
    out.findings = t(findings(&rows, hs, sharded));
    if !rows.is_empty() {
        out.blocks.push(summary(&rows));
        out.figures.push((
            throughput_figure(&format!("{}_throughput_vs_n", l.name), &rows),
            "Throughput against row length, with the memory copy and candle.".into(),
        ));
        let acc: Vec<AccuracyRecord> = ctx
            .of_kind("accuracy")
            .filter_map(|a| {
                a.table("accuracy")
                    .and_then(|t| t.records::<AccuracyRecord>().ok())
            })
            .flatten()
            .collect();
        if let Some(f) =
            accuracy_vs_throughput(&format!("{}_accuracy_vs_throughput", l.name), &rows, &acc)
        {
            out.figures.push((
                f,
                "Accuracy against throughput: what each variant gives for its cost.".into(),
            ));
        }
    }
    if let Some(h) = hs {
        out.blocks
            .push(Block::Heading("Hierarchical softmax".into()));
        out.blocks.push(super::raw_table(h, 200));
        out.figures.push((
            hsoftmax_figure(&format!("{}_hsoftmax_cost", l.name), h)?,
            "Hierarchical against full softmax: cost per target as V grows.".into(),
        ));
    }
    if let Some(s) = sharded {
        out.blocks.push(Block::Heading("Sharded softmax".into()));
        out.blocks.push(super::raw_table(s, 200));
        out.figures.push((
            sharded_figure(&format!("{}_sharded", l.name), s)?,
            "Sharded softmax: throughput against the number of shards.".into(),
        ));
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use softmax_lab_results::{ColumnType as C, Value as V};

    /// A small synthetic throughput table in the promised layout.
    pub fn table() -> Table {
        let cols = [
            ("scenario", C::Text),
            ("variant", C::Text),
            ("family", C::Text),
            ("function", C::Text),
            ("dtype", C::Text),
            ("n", C::Int),
            ("rows", C::Int),
            ("threads", C::Int),
            ("direction", C::Text),
            ("working_set_bytes", C::Int),
            ("in_cache", C::Bool),
            ("elems_per_s", C::Float),
            ("elems_per_s_ci95_low", C::Float),
            ("elems_per_s_ci95_high", C::Float),
            ("bytes_per_s", C::Float),
            ("ratio_to_memcpy", C::Float),
            ("ratio_to_candle", C::Float),
            ("memcpy_elems_per_s", C::Float),
            ("candle_variant", C::Text),
            ("candle_elems_per_s", C::Float),
            ("ns_per_elem", C::Float),
            ("samples", C::Int),
        ];
        let mut t = Table::new("throughput", &cols);
        for n in [256i64, 4096, 65536] {
            for (v, fam, fun, eps, cv) in [
                ("memcpy", "reference", "copy", 8e9, ""),
                ("relu", "reference", "relu", 6e9, ""),
                ("stable", "stable", "softmax", 1e9, "candle_softmax"),
                ("online", "stable", "softmax", 1.5e9, "candle_softmax"),
                ("sigmoid", "sigmoid", "sigmoid", 2e9, "candle_sigmoid"),
                ("candle_softmax", "candle", "softmax", 5e8, ""),
            ] {
                let eps = eps * (n as f64 / 65536.0).powf(0.1);
                let candle = if cv.is_empty() { f64::NAN } else { 5e8 };
                t.push(vec![
                    V::Text("throughput".into()),
                    V::Text(v.into()),
                    V::Text(fam.into()),
                    V::Text(fun.into()),
                    V::Text("f32".into()),
                    V::Int(n),
                    V::Int(16),
                    V::Int(1),
                    V::Text("forward".into()),
                    V::Int(n * 8),
                    V::Bool(true),
                    V::Float(eps),
                    V::Float(eps * 0.95),
                    V::Float(eps * 1.05),
                    V::Float(eps * 8.0),
                    V::Float(eps / 8e9),
                    V::Float(eps / candle),
                    V::Float(8e9),
                    V::Text(cv.into()),
                    V::Float(candle),
                    V::Float(1e9 / eps),
                    V::Int(30),
                ]);
            }
        }
        t
    }

    #[test]
    fn findings_name_the_fastest_variant_and_the_references() {
        let rows = parse(&table()).unwrap_or_default();
        let s = findings(&rows, None, None);
        assert!(
            s.contains("At n = 65536 (f32, forward, 1 thread(s)) the fastest variant is sigmoid at 2e9 elements/s (95% CI 1.9e9–2.1e9, 30 samples), 25% of the memory copy's rate."),
            "{s}"
        );
        assert!(s.contains("online 3× candle_softmax"), "{s}");
        assert!(s.contains("relative to relu: sigmoid 3×"), "{s}");
        let f = throughput_figure("throughput_throughput_vs_n", &rows);
        // Softmax, then sigmoid; each with memcpy and relu.
        assert_eq!(f.panels.len(), 2);
        assert_eq!(f.panels[0].title, "softmax, f32, forward");
        match &f.panels[0].content {
            Content::Lines(s) => assert_eq!(s.len(), 5),
            Content::Heat(_) => panic!("lines expected"),
        }
    }
}
