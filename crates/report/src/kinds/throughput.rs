//! Throughput sections: elements per second against the row length with the memory
//! copy and candle, accuracy against throughput, hierarchical against full softmax
//! cost per target, and sharded softmax against unsharded.

use softmax_lab_core::{DType, Direction};
use softmax_lab_results::records::{
    AccuracyRecord, HsoftmaxRecord, ShardedRecord, ThroughputRecord,
};
use softmax_lab_results::Table;

use super::{and_list, code, plain, Ctx, Loaded, Rendered};
use crate::data::{dtype_order, fmt, max_nan};
use crate::doc::{t, Block};
use crate::plot::{Axis, Content, Figure, Panel, Series, Style};

pub mod figures;

/// Read the main throughput table (tables written before the `isa` column read it
/// as "", the default the record declares).
pub fn parse(table: &Table) -> Result<Vec<ThroughputRecord>, String> {
    table.records()
}

/// Read an hsoftmax table.
pub fn parse_hsoftmax(table: &Table) -> Result<Vec<HsoftmaxRecord>, String> {
    table.records()
}

/// Read a sharded table.
pub fn parse_sharded(table: &Table) -> Result<Vec<ShardedRecord>, String> {
    table.records()
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

fn is_reference(r: &ThroughputRecord) -> bool {
    r.family == "reference"
}

fn min_threads(rows: &[ThroughputRecord]) -> f64 {
    rows.iter()
        .map(|r| r.threads as f64)
        .fold(f64::INFINITY, f64::min)
}

/// The dtype's name (the report groups and titles by it).
fn dtype(r: &ThroughputRecord) -> String {
    r.dtype.name().to_string()
}

/// The direction's name.
fn direction(r: &ThroughputRecord) -> String {
    r.direction.name().to_string()
}

fn main_dtype(rows: &[ThroughputRecord]) -> String {
    if rows.iter().any(|r| r.dtype == DType::F32) {
        "f32".into()
    } else {
        rows.first().map(dtype).unwrap_or_default()
    }
}

/// Accuracy (worst max ULP at the smallest scale, temperature 1, from the accuracy
/// scenarios) against throughput at the largest row length, per dtype.
pub fn accuracy_vs_throughput(
    name: &str,
    rows: &[ThroughputRecord],
    acc: &[AccuracyRecord],
) -> Option<Figure> {
    let threads = min_threads(rows);
    let dtypes = dtype_order(distinct(rows.iter().map(dtype)));
    let mut panels = Vec::new();
    let mut infinite = Vec::new();
    for d in &dtypes {
        let fwd: Vec<&ThroughputRecord> = rows
            .iter()
            .filter(|r| {
                &dtype(r) == d
                    && r.direction == Direction::Forward
                    && r.threads as f64 == threads
                    && !is_reference(r)
            })
            .collect();
        let Some(n) = fwd.iter().map(|r| r.n).max() else {
            continue;
        };
        let mut series = Vec::new();
        for v in distinct(fwd.iter().map(|r| r.variant.clone())) {
            let Some(speed) = fwd
                .iter()
                .find(|r| r.variant == v && r.n == n)
                .map(|r| r.elems_per_s)
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
                title: format!("{d}, n = {}", fmt(n as f64)),
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
        layout: crate::plot::Layout::Grid,
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

/// Hierarchical against full softmax: time, exps per target and speedup against V
/// (a band, a panel, only where the table has its numbers).
pub fn hsoftmax_figure(name: &str, rows: &[HsoftmaxRecord]) -> Figure {
    let any = |f: fn(&HsoftmaxRecord) -> f64| rows.iter().any(|r| !f(r).is_nan());
    let (band, exps, speed) = (
        any(|r| r.ns_per_target_ci95_low) && any(|r| r.ns_per_target_ci95_high),
        any(|r| r.exp_per_target),
        any(|r| r.speedup_vs_full),
    );
    let trees = distinct(rows.iter().map(|r| r.tree.clone()));
    let mut time = Vec::new();
    let mut exp = Vec::new();
    let mut sp = Vec::new();
    for tr in &trees {
        let mut rs: Vec<&HsoftmaxRecord> = rows.iter().filter(|r| &r.tree == tr).collect();
        rs.sort_by_key(|r| r.vocab);
        let pts = |f: fn(&HsoftmaxRecord) -> f64| {
            rs.iter()
                .map(|r| (r.vocab as f64, f(r)))
                .collect::<Vec<_>>()
        };
        let mut s = Series::line(tr, pts(|r| r.ns_per_target));
        if band {
            s = s.with_band(
                rs.iter()
                    .map(|r| {
                        (
                            r.vocab as f64,
                            r.ns_per_target_ci95_low,
                            r.ns_per_target_ci95_high,
                        )
                    })
                    .collect(),
            );
        }
        time.push(s);
        if exps {
            exp.push(Series::line(tr, pts(|r| r.exp_per_target)));
        }
        if speed {
            sp.push(Series::line(tr, pts(|r| r.speedup_vs_full)));
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
    Figure {
        layout: crate::plot::Layout::Grid,
        name: name.to_string(),
        title: format!(
            "{}: hierarchical against full softmax, cost per target",
            name.trim_end_matches("_hsoftmax_cost")
        ),
        columns: panels.len(),
        panels,
        notes: vec!["Band: 95% CI of the time per target.".into()],
    }
}

/// Sharded softmax: throughput relative to unsharded against the number of shards.
pub fn sharded_figure(name: &str, rows: &[ShardedRecord]) -> Figure {
    let dtypes = dtype_order(distinct(rows.iter().map(|r| r.dtype.name().to_string())));
    let key = |r: &ShardedRecord| format!("{} n={}", r.variant, fmt(r.n as f64));
    let mut panels = Vec::new();
    for dt in &dtypes {
        let mut series = Vec::new();
        let in_panel: Vec<&ShardedRecord> = rows.iter().filter(|r| r.dtype.name() == dt).collect();
        for k in distinct(in_panel.iter().map(|r| key(r))) {
            let mut pts: Vec<(f64, f64)> = in_panel
                .iter()
                .filter(|r| key(r) == k)
                .map(|r| (r.shards as f64, r.ratio_to_unsharded))
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
    Figure {
        layout: crate::plot::Layout::Grid,
        name: name.to_string(),
        title: format!("{}: sharded softmax", name.trim_end_matches("_sharded")),
        columns: panels.len().clamp(1, 4),
        panels,
        notes: vec![
            "Each shard reduces its slice to (max, sum of exp); the shards exchange those \
             and rescale."
                .into(),
        ],
    }
}

/// The findings paragraph (main table, hsoftmax and sharded tables when present).
pub fn findings(
    rows: &[ThroughputRecord],
    hs: Option<&[HsoftmaxRecord]>,
    sharded: Option<&[ShardedRecord]>,
) -> String {
    let mut s = String::new();
    let d = main_dtype(rows);
    let threads = min_threads(rows);
    let fwd: Vec<&ThroughputRecord> = rows
        .iter()
        .filter(|r| {
            dtype(r) == d && r.direction == Direction::Forward && r.threads as f64 == threads
        })
        .collect();
    if let Some(n) = fwd.iter().map(|r| r.n).max() {
        let at: Vec<&&ThroughputRecord> = fwd.iter().filter(|r| r.n == n).collect();
        let best = at
            .iter()
            .filter(|r| !is_reference(r) && r.elems_per_s.is_finite())
            .max_by(|a, b| a.elems_per_s.total_cmp(&b.elems_per_s));
        if let Some(b) = best {
            s += &format!(
                "At n = {} ({d}, forward, {} thread(s)) the fastest variant is {} at {} \
                 elements/s (95% CI {}–{}, {} samples), {} of the memory copy's rate.",
                fmt(n as f64),
                fmt(threads),
                b.variant,
                fmt(b.elems_per_s),
                fmt(b.elems_per_s_ci95_low),
                fmt(b.elems_per_s_ci95_high),
                fmt(b.samples as f64),
                crate::data::pct(b.ratio_to_memcpy)
            );
        }
        let vs_candle: Vec<String> = at
            .iter()
            .filter(|r| {
                !is_reference(r)
                    && r.family != "candle"
                    && r.variant != r.candle_variant
                    && r.ratio_to_candle.is_finite()
                    && !r.candle_variant.is_empty()
            })
            .map(|r| {
                format!(
                    "{} {}× {}",
                    r.variant,
                    fmt(r.ratio_to_candle),
                    r.candle_variant
                )
            })
            .collect();
        if !vs_candle.is_empty() {
            s += &format!(" Against candle: {}.", and_list(&vs_candle));
        }
        let relu = at
            .iter()
            .find(|r| r.variant == "relu")
            .map(|r| r.elems_per_s);
        if let Some(relu) = relu.filter(|v| v.is_finite() && *v > 0.0) {
            let sig: Vec<String> = at
                .iter()
                .filter(|r| r.function == "sigmoid" || r.function == "hard_sigmoid")
                .filter(|r| r.elems_per_s.is_finite() && r.elems_per_s > 0.0)
                .map(|r| format!("{} {}×", r.variant, fmt(relu / r.elems_per_s)))
                .collect();
            if !sig.is_empty() {
                s += &format!(" Time per element relative to relu: {}.", and_list(&sig));
            }
        }
    }
    if let Some(h) = hs {
        let vmax = h.iter().map(|r| r.vocab).max();
        let parts: Vec<String> = h
            .iter()
            .filter(|r| Some(r.vocab) == vmax && r.tree != "full")
            .map(|r| format!("{} {}×", r.tree, fmt(r.speedup_vs_full)))
            .collect();
        if let (Some(vmax), false) = (vmax, parts.is_empty()) {
            s += &format!(
                " Hierarchical softmax at V = {}: speedup per target over the full softmax: {}.",
                fmt(vmax as f64),
                and_list(&parts)
            );
        }
    }
    if let Some(sh) = sharded {
        let r: Vec<f64> = sh
            .iter()
            .map(|r| r.ratio_to_unsharded)
            .filter(|v| v.is_finite())
            .collect();
        let b: Vec<f64> = sh
            .iter()
            .map(|r| r.bytes_exchanged_per_row as f64)
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
    if s.is_empty() {
        s = "No throughput rows to summarise.".into();
    }
    s
}

/// The rows of the summary table that carry a finding, at the largest row length
/// in the main dtype: per function, direction and threads the fastest of the
/// project's variants, the candle op it is compared with, and the memory copies.
pub fn finding_rows(rows: &[ThroughputRecord]) -> Vec<&ThroughputRecord> {
    let nmax = rows.iter().map(|r| r.n).max();
    let d = main_dtype(rows);
    let at: Vec<&ThroughputRecord> = rows
        .iter()
        .filter(|r| Some(r.n) == nmax && dtype(r) == d)
        .collect();
    let mut keep: Vec<&ThroughputRecord> = Vec::new();
    for r in &at {
        let peers = at.iter().filter(|o| {
            o.function == r.function
                && o.direction == r.direction
                && o.threads == r.threads
                && o.in_cache == r.in_cache
                && !is_reference(o)
                && o.family != "candle"
        });
        let fastest = peers.max_by(|a, b| a.elems_per_s.total_cmp(&b.elems_per_s));
        let carries = match fastest {
            _ if r.function == "copy" => true,
            Some(f) if std::ptr::eq(*f, *r) => true,
            Some(f) => r.family == "candle" && r.variant == f.candle_variant,
            None => false,
        };
        if carries {
            keep.push(r);
        }
    }
    keep
}

/// The summary table: the rows of [`finding_rows`], and how many of all there are.
pub fn summary(rows: &[ThroughputRecord]) -> Block {
    let mut out = Vec::new();
    let nmax = rows.iter().map(|r| r.n).max();
    let mut at = finding_rows(rows);
    let dt = dtype_order(distinct(rows.iter().map(dtype)));
    at.sort_by(|a, b| {
        let pos = |d: &str| dt.iter().position(|x| x == d);
        pos(&dtype(a))
            .cmp(&pos(&dtype(b)))
            .then(a.direction.name().cmp(b.direction.name()))
            .then(a.threads.cmp(&b.threads))
            .then(b.elems_per_s.total_cmp(&a.elems_per_s))
    });
    for r in at {
        // An external command variant timed itself (the protocol's `time` op).
        let mut variant = vec![code(&r.variant)];
        if r.timing == "self" {
            variant.push(plain(" (self-timed)"));
        }
        out.push(vec![
            variant,
            t(r.function.clone()),
            t(dtype(r)),
            t(direction(r)),
            t(fmt(r.threads as f64)),
            t(format!(
                "{} [{}, {}]",
                fmt(r.elems_per_s),
                fmt(r.elems_per_s_ci95_low),
                fmt(r.elems_per_s_ci95_high)
            )),
            t(fmt(r.bytes_per_s / 1e9)),
            t(fmt(r.ratio_to_memcpy)),
            t(if r.candle_variant.is_empty() {
                "—".into()
            } else {
                format!("{} ({})", fmt(r.ratio_to_candle), r.candle_variant)
            }),
            t(fmt(r.samples as f64)),
        ]);
    }
    Block::Table {
        headers: [
            "variant",
            "function",
            "dtype",
            "direction",
            "threads",
            &format!(
                "elements/s at n = {} [95% CI]",
                fmt(nmax.map_or(f64::NAN, |n| n as f64))
            ),
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
    let hs_rows = hs.map(parse_hsoftmax).transpose()?;
    let sharded_rows = sharded.map(parse_sharded).transpose()?;
    out.findings = t(findings(&rows, hs_rows.as_deref(), sharded_rows.as_deref()));
    if !rows.is_empty() {
        let shown = finding_rows(&rows).len();
        out.blocks.push(Block::Para(t(format!(
            "The table shows {shown} of the {} rows: at the largest row length in {}, per \
             function, direction and thread count the fastest variant, the candle op it is \
             compared with and the memory copies. Every row is in {}; the heat maps below \
             give every variant's ratios in every dtype.",
            rows.len(),
            main_dtype(&rows),
            l.csv_name("throughput")
        ))));
        out.blocks.push(summary(&rows));
        out.figures.extend(figures::group_figures(&l.name, &rows));
        for (ratio, caption) in [
            (
                figures::Ratio::Candle,
                "Throughput relative to candle per variant and dtype (values in the cells).",
            ),
            (
                figures::Ratio::Memcpy,
                "Throughput relative to the memory copy per variant and dtype (values in the \
                 cells).",
            ),
        ] {
            if let Some(f) = figures::ratio_heat(&l.name, &rows, ratio) {
                out.figures.push((f, caption.into()));
            }
        }
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
    if let (Some(h), Some(hr)) = (hs, &hs_rows) {
        out.blocks
            .push(Block::Heading("Hierarchical softmax".into()));
        out.blocks.push(super::raw_table(h, 200));
        out.figures.push((
            hsoftmax_figure(&format!("{}_hsoftmax_cost", l.name), hr),
            "Hierarchical against full softmax: cost per target as V grows.".into(),
        ));
    }
    if let (Some(s), Some(sr)) = (sharded, &sharded_rows) {
        out.blocks.push(Block::Heading("Sharded softmax".into()));
        out.blocks.push(super::raw_table(s, 200));
        out.figures.push((
            sharded_figure(&format!("{}_sharded", l.name), sr),
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
            ("llc_bytes", C::Int),
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
                    V::Int(0),
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
        let f = figures::group_figures("throughput", &rows);
        // Softmax, then sigmoid; each with the copy line (relu is in the tables).
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].0.panels[0].title, "f32, forward");
        match &f[0].0.panels[0].content {
            Content::Lines(s) => assert_eq!(s.len(), 4),
            Content::Heat(_) => panic!("lines expected"),
        }
        // Sigmoids are drawn with relu, the activation they are weighed against.
        assert_eq!(f[1].0.name, "throughput_throughput_sigmoid");
        match &f[1].0.panels[0].content {
            Content::Lines(s) => assert_eq!(
                s.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
                ["memory copy", "relu", "sigmoid"]
            ),
            Content::Heat(_) => panic!("lines expected"),
        }
    }

    #[test]
    fn hsoftmax_and_sharded_findings_read_their_records() {
        let mut h = Table::of::<HsoftmaxRecord>("hsoftmax");
        for (tree, vocab, speed) in [
            ("full", 100, 1.0),
            ("huffman", 100, 4.0),
            ("balanced", 10, 2.0),
        ] {
            softmax_lab_results::fixtures::push(
                &mut h,
                &[
                    ("tree", V::Text(tree.into())),
                    ("vocab", V::Int(vocab)),
                    ("speedup_vs_full", V::Float(speed)),
                ],
            );
        }
        let mut sh = Table::new(
            "sharded",
            &[
                ("scenario", C::Text),
                ("variant", C::Text),
                ("dtype", C::Text),
                ("n", C::Int),
                ("shards", C::Int),
                ("bytes_exchanged_per_row", C::Int),
                ("elems_per_s", C::Float),
                ("ratio_to_unsharded", C::Float),
                ("samples", C::Int),
            ],
        );
        for (k, ratio) in [(1i64, 0.9), (4, 0.5)] {
            sh.push(vec![
                V::Text(String::new()),
                V::Text("sharded_softmax".into()),
                V::Text("f32".into()),
                V::Int(4096),
                V::Int(k),
                V::Int(8 * k),
                V::Float(f64::NAN),
                V::Float(ratio),
                V::Int(0),
            ]);
        }
        let (hr, sr) = (
            parse_hsoftmax(&h).unwrap_or_else(|e| panic!("{e}")),
            parse_sharded(&sh).unwrap_or_else(|e| panic!("{e}")),
        );
        let s = findings(&[], Some(&hr), Some(&sr));
        assert_eq!(
            s,
            " Hierarchical softmax at V = 100: speedup per target over the full softmax: \
             huffman 4×. Sharded softmax runs at 0.5–0.9× the unsharded rate, exchanging \
             8–32 bytes per row."
        );
        let f = sharded_figure("tp_sharded", &sr);
        assert_eq!((f.panels.len(), f.panels[0].title.as_str()), (1, "f32"));
        assert_eq!(hsoftmax_figure("tp_hsoftmax_cost", &hr).panels.len(), 3);
    }
}
