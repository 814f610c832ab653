//! The summary at the top of the index, computed from the results: the ledger's
//! verdict counts, the most accurate and the fastest variant per function and dtype
//! with their numbers (and the fastest's ratios to candle and to the memory copy),
//! the three largest findings, and the headline figure (accuracy against
//! throughput, f32, one thread). A part whose scenario is missing from the results
//! is left out, never filled in.
//!
//! The rules, stated once here and in the README:
//! - accuracy of a variant in a dtype: its worst max ULP over the points at
//!   temperature 1 of its function's accuracy scenario (the accuracy scenario that
//!   measures the most of the function's variants), so that the variants compared
//!   share one grid of inputs;
//! - speed: forward elements/s at the fewest threads at the largest row length
//!   timed in cache ([`figures::reference_n`]);
//! - "best" picks range over the project's variants (candle is the baseline);
//! - the three findings: the largest accuracy gap (worst finite over best error of
//!   one function in f32), the largest speed gap (fastest over slowest of one
//!   function) and the largest difference from candle (the fastest kernel's ratio,
//!   or its inverse), ordered by size.

use softmax_lab_core::{DType, Direction};
use softmax_lab_results::records::{AccuracyRecord, ClaimRecord, ThroughputRecord};
use softmax_lab_results::Verdict;

use crate::data::fmt;
use crate::doc::{link, t, Block, Inline, Span};
use crate::kinds::throughput::figures::{self, is_candle, is_reference};
use crate::kinds::{code, plain, Loaded};
use crate::plot::{palette, Axis, Content, Figure, Layout, Panel, Series, Style};

/// One variant's accuracy in one dtype, and where it was measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Accuracy {
    /// The variant id.
    pub variant: String,
    /// Its function.
    pub function: String,
    /// Whether it is the candle baseline.
    pub candle: bool,
    /// The dtype.
    pub dtype: DType,
    /// The worst max ULP over the scenario's points at temperature 1.
    pub worst_max_ulp: f64,
    /// The accuracy scenario (the section's anchor).
    pub scenario: String,
}

/// The accuracy of every variant per dtype (see the module docs for the rule).
pub fn accuracies(loaded: &[Loaded]) -> Vec<Accuracy> {
    // Per scenario: its records and the function of each variant.
    let mut per: Vec<(&Loaded, Vec<AccuracyRecord>)> = Vec::new();
    for l in loaded.iter().filter(|l| l.kind == "accuracy") {
        if let Some(Ok(recs)) = l.table("accuracy").map(|t| t.records::<AccuracyRecord>()) {
            per.push((l, recs));
        }
    }
    let function_of = |l: &Loaded, v: &str| {
        l.results
            .variant(v)
            .map(|f| (f.function.name().to_string(), f.family.name() == "candle"))
    };
    // The scenario that measures the most variants of each function.
    let mut home: Vec<(String, usize, usize)> = Vec::new(); // (function, scenario index, count)
    for (i, (l, recs)) in per.iter().enumerate() {
        let mut counts: Vec<(String, Vec<&str>)> = Vec::new();
        for r in recs.iter().filter(|r| r.key.temperature == 1.0) {
            let Some((f, _)) = function_of(l, &r.key.variant) else {
                continue;
            };
            match counts.iter_mut().find(|c| c.0 == f) {
                Some(c) if !c.1.contains(&r.key.variant.as_str()) => c.1.push(&r.key.variant),
                Some(_) => {}
                None => counts.push((f, vec![&r.key.variant])),
            }
        }
        for (f, vs) in counts {
            match home.iter_mut().find(|h| h.0 == f) {
                Some(h) if vs.len() > h.2 => *h = (f, i, vs.len()),
                Some(_) => {}
                None => home.push((f, i, vs.len())),
            }
        }
    }
    let mut out: Vec<Accuracy> = Vec::new();
    for (f, i, _) in &home {
        let (l, recs) = &per[*i];
        for r in recs.iter().filter(|r| r.key.temperature == 1.0) {
            let Some((rf, candle)) = function_of(l, &r.key.variant) else {
                continue;
            };
            if &rf != f {
                continue;
            }
            match out
                .iter_mut()
                .find(|a| a.variant == r.key.variant && a.dtype == r.key.dtype)
            {
                Some(a) => a.worst_max_ulp = crate::data::max_nan(a.worst_max_ulp, r.max_ulp),
                None => out.push(Accuracy {
                    variant: r.key.variant.clone(),
                    function: rf,
                    candle,
                    dtype: r.key.dtype,
                    worst_max_ulp: r.max_ulp,
                    scenario: l.name.clone(),
                }),
            }
        }
    }
    out
}

/// The throughput rows the summary compares: forward, fewest threads, each dtype at
/// its reference row length, the line (in-cache) timing; references excluded.
pub fn speeds(rows: &[ThroughputRecord]) -> Vec<&ThroughputRecord> {
    let Some(threads) = figures::fewest_threads(rows) else {
        return Vec::new();
    };
    figures::line_rows(rows)
        .into_iter()
        .filter(|r| {
            r.threads == threads
                && r.direction == Direction::Forward
                && !is_reference(r)
                && Some(r.n) == figures::reference_n(rows, r.dtype, threads)
        })
        .collect()
}

/// The verdict counts in the order of [`Verdict::ALL`], every verdict named (zeros
/// included), and the count of other texts.
pub fn verdict_counts(claims: &[ClaimRecord]) -> (Vec<(Verdict, usize)>, usize) {
    let counts = Verdict::ALL
        .iter()
        .map(|v| (*v, claims.iter().filter(|c| c.verdict == v.name()).count()))
        .collect();
    let other = claims
        .iter()
        .filter(|c| Verdict::from_name(&c.verdict).is_none())
        .count();
    (counts, other)
}

/// A finding of the summary: its size (a factor ≥ 1, for ranking) and its sentence.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    /// The factor it reports (≥ 1).
    pub factor: f64,
    /// The sentence, with a link to its section.
    pub text: Inline,
}

fn finite_pos(v: f64) -> bool {
    v.is_finite() && v > 0.0
}

/// The three findings (see the module docs), largest first; fewer when the results
/// lack what one needs.
pub fn findings(acc: &[Accuracy], speed: &[&ThroughputRecord], tp_anchor: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    // The largest accuracy gap in f32 (the main dtype; else the first measured).
    let dt = if acc.iter().any(|a| a.dtype == DType::F32) {
        Some(DType::F32)
    } else {
        acc.first().map(|a| a.dtype)
    };
    let mut best_gap: Option<(f64, &Accuracy, &Accuracy)> = None;
    for a in acc.iter().filter(|a| Some(a.dtype) == dt) {
        let peers: Vec<&Accuracy> = acc
            .iter()
            .filter(|b| b.dtype == a.dtype && b.function == a.function && !b.candle)
            .filter(|b| finite_pos(b.worst_max_ulp))
            .collect();
        let lo = peers
            .iter()
            .copied()
            .min_by(|x, y| x.worst_max_ulp.total_cmp(&y.worst_max_ulp));
        let hi = peers
            .iter()
            .copied()
            .max_by(|x, y| x.worst_max_ulp.total_cmp(&y.worst_max_ulp));
        if let (Some(lo), Some(hi)) = (lo, hi) {
            let f = hi.worst_max_ulp / lo.worst_max_ulp;
            if f > 1.0 && best_gap.is_none_or(|b| f > b.0) {
                best_gap = Some((f, hi, lo));
            }
        }
    }
    if let Some((f, hi, lo)) = best_gap {
        out.push(Finding {
            factor: f,
            text: [
                vec![
                    plain(format!(
                        "Accuracy gap: in {} {}, ",
                        lo.dtype.name(),
                        hi.function
                    )),
                    code(&hi.variant),
                    plain(format!(
                        "'s worst error is {} ULP, {}× that of ",
                        fmt(hi.worst_max_ulp),
                        fmt(f)
                    )),
                    code(&lo.variant),
                    plain(format!(" ({} ULP) (", fmt(lo.worst_max_ulp))),
                ],
                link(lo.scenario.clone(), format!("#{}", lo.scenario)),
                t(")."),
            ]
            .concat(),
        });
    }
    // Speed gaps and differences from candle, per function in the lead dtype.
    let sdt = if speed.iter().any(|r| r.dtype == DType::F32) {
        Some(DType::F32)
    } else {
        speed.first().map(|r| r.dtype)
    };
    let ours: Vec<&&ThroughputRecord> = speed
        .iter()
        .filter(|r| Some(r.dtype) == sdt && !is_candle(r) && finite_pos(r.elems_per_s))
        .collect();
    let mut gap: Option<(f64, &ThroughputRecord, &ThroughputRecord)> = None;
    let mut candle: Option<(f64, &ThroughputRecord)> = None;
    for r in &ours {
        let peers = ours.iter().filter(|o| o.function == r.function);
        let fastest = peers
            .clone()
            .max_by(|a, b| a.elems_per_s.total_cmp(&b.elems_per_s));
        let slowest = peers.min_by(|a, b| a.elems_per_s.total_cmp(&b.elems_per_s));
        let (Some(fa), Some(sl)) = (fastest, slowest) else {
            continue;
        };
        let f = fa.elems_per_s / sl.elems_per_s;
        if f > 1.0 && gap.is_none_or(|g| f > g.0) {
            gap = Some((f, fa, sl));
        }
        if finite_pos(fa.ratio_to_candle) && !fa.candle_variant.is_empty() {
            let c = fa.ratio_to_candle.max(1.0 / fa.ratio_to_candle);
            if candle.is_none_or(|x| c > x.0) {
                candle = Some((c, fa));
            }
        }
    }
    let at = |r: &ThroughputRecord| {
        format!(
            "{}, forward, n = {}, {} thread(s)",
            r.dtype.name(),
            fmt(r.n as f64),
            r.threads
        )
    };
    if let Some((f, fa, sl)) = gap {
        out.push(Finding {
            factor: f,
            text: [
                vec![
                    plain(format!("Speed gap: for {}, ", fa.function)),
                    code(&fa.variant),
                    plain(format!(
                        " runs at {} elements/s, {}× ",
                        fmt(fa.elems_per_s),
                        fmt(f)
                    )),
                    code(&sl.variant),
                    plain(format!(" ({}) (", at(fa))),
                ],
                link("throughput", format!("#{tp_anchor}")),
                t(")."),
            ]
            .concat(),
        });
    }
    if let Some((f, fa)) = candle {
        let (how, factor) = if fa.ratio_to_candle >= 1.0 {
            ("faster than", fa.ratio_to_candle)
        } else {
            ("slower than", 1.0 / fa.ratio_to_candle)
        };
        out.push(Finding {
            factor: f,
            text: [
                vec![
                    plain(format!(
                        "Against candle: the fastest {} kernel, ",
                        fa.function
                    )),
                    code(&fa.variant),
                    plain(format!(" is {}× {how} ", fmt(factor))),
                    code(&fa.candle_variant),
                    plain(format!(" ({}) (", at(fa))),
                ],
                link("throughput", format!("#{tp_anchor}")),
                t(")."),
            ]
            .concat(),
        });
    }
    out.sort_by(|a, b| b.factor.total_cmp(&a.factor));
    out
}

/// The headline figure: worst max ULP (log) against forward throughput per variant,
/// f32, fewest threads; None without both accuracy and throughput in f32.
pub fn headline_figure(acc: &[Accuracy], speed: &[&ThroughputRecord]) -> Option<Figure> {
    let mut series = Vec::new();
    let mut infinite = Vec::new();
    let mut n = None;
    let mut threads = None;
    let mut groups: Vec<String> = Vec::new();
    for r in speed.iter().filter(|r| r.dtype == DType::F32) {
        let Some(a) = acc
            .iter()
            .find(|a| a.variant == r.variant && a.dtype == DType::F32)
        else {
            continue;
        };
        n = Some(r.n);
        threads = Some(r.threads);
        if !finite_pos(a.worst_max_ulp) || !finite_pos(r.elems_per_s) {
            infinite.push(r.variant.clone());
            continue;
        }
        let group = figures::group_of(&r.function).to_string();
        if !groups.contains(&group) {
            groups.push(group.clone());
        }
        let color = palette(groups.iter().position(|g| *g == group).unwrap_or(0));
        series.push(
            Series::line(&r.variant, vec![(r.elems_per_s, a.worst_max_ulp)])
                .styled(Style::Labeled)
                .colored(color),
        );
    }
    // The legend names the colours: one (empty) entry per function group.
    for (i, g) in groups.iter().enumerate() {
        series.push(
            Series::line(g, Vec::new())
                .styled(Style::Markers)
                .colored(palette(i)),
        );
    }
    let (Some(n), Some(threads)) = (n, threads) else {
        return None;
    };
    let mut notes = vec![
        "y: worst max ULP over the function's accuracy scenario at temperature 1 (lower is \
         better); x: forward elements/s (higher is better)."
            .to_string(),
    ];
    if !infinite.is_empty() {
        notes.push(format!(
            "Not drawn (infinite or no error measure): {}.",
            infinite.join(", ")
        ));
    }
    Some(Figure {
        name: "summary_accuracy_vs_throughput".into(),
        title: format!(
            "Accuracy against throughput, f32, n = {}, {threads} thread(s)",
            fmt(n as f64)
        ),
        panels: vec![Panel {
            title: "each variant measured for both, coloured by function".into(),
            x: Axis::log("throughput (elements/s)"),
            y: Axis::log("worst max error (ULP)"),
            content: Content::Lines(series),
        }],
        columns: 4,
        layout: Layout::Lead,
        notes,
    })
}

/// The summary's blocks and its figure (None where nothing could be computed).
pub fn build(loaded: &[Loaded]) -> (Vec<Block>, Option<Figure>) {
    let mut blocks = Vec::new();
    if let Some(l) = loaded.iter().find(|l| l.kind == "claims") {
        if let Some(Ok(claims)) = l.table("claims").map(|t| t.records::<ClaimRecord>()) {
            let (counts, other) = verdict_counts(&claims);
            let mut parts: Vec<String> = counts
                .iter()
                .map(|(v, k)| format!("{} {k}", v.name()))
                .collect();
            if other > 0 {
                parts.push(format!("other verdicts {other}"));
            }
            blocks.push(Block::Para(
                [
                    vec![Span::Strong("Claims.".into())],
                    t(format!(
                        " {} claims: {}; see the ",
                        claims.len(),
                        parts.join(", ")
                    )),
                    link("claims ledger", format!("#{}", l.name)),
                    t("."),
                ]
                .concat(),
            ));
        }
    }
    let acc = accuracies(loaded);
    let tp = loaded.iter().find(|l| l.kind == "throughput");
    let tp_rows: Vec<ThroughputRecord> = tp
        .and_then(|l| l.table("throughput"))
        .and_then(|t| t.records().ok())
        .unwrap_or_default();
    let speed = speeds(&tp_rows);
    let tp_name = tp.map_or("throughput".to_string(), |l| l.name.clone());
    if let Some(table) = best_table(&acc, &speed) {
        blocks.push(Block::Para(t(
            "Best per function and dtype among the project's variants: the most accurate \
             (worst max ULP over its function's accuracy scenario at temperature 1) and the \
             fastest (forward elements/s at one thread, at the largest row length timed in \
             cache), with the fastest's throughput relative to candle and to the memory copy.",
        )));
        blocks.push(table);
    }
    let found = findings(&acc, &speed, &tp_name);
    if !found.is_empty() {
        blocks.push(Block::Para(vec![Span::Strong(
            "Largest findings (the largest accuracy gap, speed gap and difference from \
             candle, by size):"
                .into(),
        )]));
        blocks.push(Block::Bullets(
            found.into_iter().take(3).map(|f| f.text).collect(),
        ));
    }
    let fig = headline_figure(&acc, &speed);
    if let Some(f) = &fig {
        blocks.push(Block::Figure {
            name: f.name.clone(),
            caption: "Accuracy against throughput per variant: the trade-off to pick from.".into(),
        });
    }
    (blocks, fig)
}

/// The best-per-function table; None when neither accuracy nor throughput is there.
fn best_table(acc: &[Accuracy], speed: &[&ThroughputRecord]) -> Option<Block> {
    let mut keys: Vec<(String, DType)> = Vec::new();
    for (f, d) in acc
        .iter()
        .map(|a| (a.function.clone(), a.dtype))
        .chain(speed.iter().map(|r| (r.function.clone(), r.dtype)))
    {
        if !keys.contains(&(f.clone(), d)) {
            keys.push((f, d));
        }
    }
    if keys.is_empty() {
        return None;
    }
    let dpos = |d: DType| DType::ALL.iter().position(|x| *x == d);
    let fpos = |f: &str| {
        softmax_lab_core::Function::ALL
            .iter()
            .position(|x| x.name() == f)
            .unwrap_or(usize::MAX)
    };
    keys.sort_by(|a, b| fpos(&a.0).cmp(&fpos(&b.0)).then(dpos(a.1).cmp(&dpos(b.1))));
    let mut rows = Vec::new();
    for (f, d) in keys {
        let best_acc = acc
            .iter()
            .filter(|a| a.function == f && a.dtype == d && !a.candle)
            .filter(|a| !a.worst_max_ulp.is_nan())
            .min_by(|a, b| a.worst_max_ulp.total_cmp(&b.worst_max_ulp));
        let fastest = speed
            .iter()
            .filter(|r| r.function == f && r.dtype == d && !is_candle(r))
            .filter(|r| r.elems_per_s.is_finite())
            .max_by(|a, b| a.elems_per_s.total_cmp(&b.elems_per_s));
        let dash = || t("—");
        rows.push(vec![
            t(f.clone()),
            t(d.name()),
            best_acc.map_or_else(dash, |a| {
                vec![
                    code(&a.variant),
                    plain(format!(" {} ULP", fmt(a.worst_max_ulp))),
                ]
            }),
            fastest.map_or_else(dash, |r| {
                vec![
                    code(&r.variant),
                    plain(format!(
                        " {} [{}, {}] (n = {})",
                        fmt(r.elems_per_s),
                        fmt(r.elems_per_s_ci95_low),
                        fmt(r.elems_per_s_ci95_high),
                        fmt(r.n as f64)
                    )),
                ]
            }),
            fastest.map_or_else(dash, |r| {
                if r.candle_variant.is_empty() {
                    dash()
                } else {
                    t(format!("{}× {}", fmt(r.ratio_to_candle), r.candle_variant))
                }
            }),
            fastest.map_or_else(dash, |r| t(format!("{}×", fmt(r.ratio_to_memcpy)))),
        ]);
    }
    Some(Block::Table {
        headers: [
            "function",
            "dtype",
            "most accurate (worst max ULP)",
            "fastest (elements/s [95% CI])",
            "fastest vs candle",
            "fastest vs memory copy",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    })
}
