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

#[cfg(test)]
mod tests {
    use super::*;
    use softmax_lab_core::{Family, Function};
    use softmax_lab_results::fixtures::{machine, push};
    use softmax_lab_results::{Results, Table, Value as V, VariantFacts};

    fn loaded(name: &str, kind: &str, facts: &[(&str, Family, Function)], t: Table) -> Loaded {
        Loaded {
            file: format!("{name}.json").into(),
            name: name.into(),
            kind: kind.into(),
            results: Results {
                schema_version: softmax_lab_results::SCHEMA_VERSION,
                scenario: serde_json::json!({"name": name, "kind": kind}),
                machine: machine("test cpu"),
                elapsed_s: 1.0,
                variants: facts
                    .iter()
                    .map(|(id, family, function)| VariantFacts {
                        id: id.to_string(),
                        family: *family,
                        function: *function,
                        source: None,
                    })
                    .collect(),
                failures: Vec::new(),
                tables: vec![t],
                generation: "test".into(),
                files: Vec::new(),
            },
        }
    }

    fn claims() -> Loaded {
        let mut t = Table::of::<ClaimRecord>("claims");
        for v in ["holds", "does not hold", "holds", "inconclusive", "maybe"] {
            push(&mut t, &[("verdict", V::Text(v.into()))]);
        }
        loaded("claims", "claims", &[], t)
    }

    /// Softmax accuracy: `wide` 0.5 ULP, `stable` 3 ULP (worst of 1 and 3), `naive`
    /// 4000 ULP at temperature 1 (the 1e9 at temperature 2 does not count), candle
    /// 0.25 ULP (the baseline, never "best"); f32 only.
    fn accuracy() -> Loaded {
        let mut t = Table::of::<AccuracyRecord>("accuracy");
        for (v, temp, ulp) in [
            ("wide", 1.0, 0.5),
            ("stable", 1.0, 1.0),
            ("stable", 1.0, 3.0),
            ("naive", 1.0, 4000.0),
            ("naive", 2.0, 1e9),
            ("candle_softmax", 1.0, 0.25),
        ] {
            push(
                &mut t,
                &[
                    ("scenario", V::Text("accuracy_softmax".into())),
                    ("kind", V::Text("accuracy".into())),
                    ("variant", V::Text(v.into())),
                    ("dtype", V::Text("f32".into())),
                    ("temperature", V::Float(temp)),
                    ("max_ulp", V::Float(ulp)),
                ],
            );
        }
        let facts = [
            ("wide", Family::Stable, Function::Softmax),
            ("stable", Family::Stable, Function::Softmax),
            ("naive", Family::Naive, Function::Softmax),
            ("candle_softmax", Family::Candle, Function::Softmax),
        ];
        loaded("accuracy_softmax", "accuracy", &facts, t)
    }

    /// f32 forward, one thread: `stable` 1e9, `naive` 4e9, `wide` 2e8 elements/s,
    /// candle 5e8, the copy 1e10; n = 4096 in cache (n = 65536 streams only).
    fn throughput() -> Loaded {
        let mut t = Table::of::<ThroughputRecord>("throughput");
        for (n, cache) in [(4096i64, true), (65536, false)] {
            for (v, fam, eps) in [
                ("memcpy", "reference", 1e10),
                ("candle_softmax", "candle", 5e8),
                ("stable", "stable", 1e9),
                ("naive", "naive", 4e9),
                ("wide", "stable", 2e8),
            ] {
                let fun = if fam == "reference" {
                    "copy"
                } else {
                    "softmax"
                };
                let candle = if fam == "reference" {
                    ""
                } else {
                    "candle_softmax"
                };
                push(
                    &mut t,
                    &[
                        ("variant", V::Text(v.into())),
                        ("family", V::Text(fam.into())),
                        ("function", V::Text(fun.into())),
                        ("dtype", V::Text("f32".into())),
                        ("n", V::Int(n)),
                        ("threads", V::Int(1)),
                        ("direction", V::Text("forward".into())),
                        ("in_cache", V::Bool(cache)),
                        ("elems_per_s", V::Float(eps)),
                        ("elems_per_s_ci95_low", V::Float(eps * 0.9)),
                        ("elems_per_s_ci95_high", V::Float(eps * 1.1)),
                        ("ratio_to_memcpy", V::Float(eps / 1e10)),
                        ("ratio_to_candle", V::Float(eps / 5e8)),
                        ("memcpy_elems_per_s", V::Float(1e10)),
                        ("candle_variant", V::Text(candle.into())),
                    ],
                );
            }
        }
        loaded("throughput", "throughput", &[], t)
    }

    fn markdown(blocks: &[Block]) -> String {
        crate::doc::Document {
            title: "t".into(),
            intro: blocks.to_vec(),
            sections: Vec::new(),
        }
        .to_markdown()
    }

    #[test]
    fn verdicts_are_counted_in_ledger_order_zeros_included() {
        let l = claims();
        let recs: Vec<ClaimRecord> = l
            .table("claims")
            .map(|t| t.records().unwrap_or_default())
            .unwrap_or_default();
        let (counts, other) = verdict_counts(&recs);
        let names: Vec<(&str, usize)> = counts.iter().map(|(v, k)| (v.name(), *k)).collect();
        assert_eq!(
            names,
            [
                ("holds", 2),
                ("holds with caveats", 0),
                ("does not hold", 1),
                ("inconclusive", 1),
                ("not tested here", 0)
            ]
        );
        assert_eq!(other, 1);
    }

    #[test]
    fn the_summary_is_computed_from_the_records() {
        let all = [claims(), accuracy(), throughput()];
        let (blocks, fig) = build(&all);
        let md = markdown(&blocks);
        assert!(
            md.contains(
                "**Claims.** 5 claims: holds 2, holds with caveats 0, does not hold 1, \
                 inconclusive 1, not tested here 0, other verdicts 1; see the \
                 [claims ledger](#claims)."
            ),
            "{md}"
        );
        // Most accurate among ours (candle's 0.25 is the baseline's); fastest at the
        // in-cache n with its ratios.
        assert!(
            md.contains(
                "| softmax | f32 | `wide` 0.5 ULP | `naive` 4e9 \\[3.6e9, 4.4e9\\] (n = 4096) \
                 | 8× candle_softmax | 0.4× |"
            ),
            "{md}"
        );
        // The three findings, largest factor first, each with its number and link.
        let found = findings(
            &accuracies(&all),
            &speeds(&throughput_rows(&all)),
            "throughput",
        );
        let texts: Vec<String> = found
            .iter()
            .map(|f| {
                let md = markdown(&[Block::Para(f.text.clone())]);
                md.trim_start_matches("# t").trim().to_string()
            })
            .collect();
        assert_eq!(
            found.iter().map(|f| f.factor).collect::<Vec<_>>(),
            [8000.0, 20.0, 8.0]
        );
        assert_eq!(
            texts[0],
            "Accuracy gap: in f32 softmax, `naive`'s worst error is 4000 ULP, 8000× that of \
             `wide` (0.5 ULP) ([accuracy_softmax](#accuracy_softmax))."
        );
        assert!(
            texts[1].contains("`naive` runs at 4e9 elements/s, 20× `wide`"),
            "{}",
            texts[1]
        );
        assert!(
            texts[2].contains("is 8× faster than `candle_softmax`"),
            "{}",
            texts[2]
        );
        assert!(md.contains("- Accuracy gap"), "{md}");
        // The headline figure: one labelled point per variant measured for both.
        let fig = fig.unwrap_or_else(|| panic!("no headline figure"));
        let Content::Lines(series) = &fig.panels[0].content else {
            panic!("lines expected")
        };
        let points: Vec<(&str, (f64, f64))> = series
            .iter()
            .filter(|s| s.style == Style::Labeled)
            .map(|s| (s.name.as_str(), s.points[0]))
            .collect();
        assert!(points.contains(&("naive", (4e9, 4000.0))), "{points:?}");
        assert!(
            points.contains(&("candle_softmax", (5e8, 0.25))),
            "{points:?}"
        );
        assert_eq!(points.len(), 4);
    }

    fn throughput_rows(all: &[Loaded]) -> Vec<ThroughputRecord> {
        all.iter()
            .filter_map(|l| l.table("throughput"))
            .flat_map(|t| t.records().unwrap_or_default())
            .collect()
    }

    #[test]
    fn missing_sections_are_skipped_not_faked() {
        // Claims only: the verdict sentence, no table, no findings, no figure.
        let (blocks, fig) = build(&[claims()]);
        assert_eq!(blocks.len(), 1);
        assert!(fig.is_none());
        // Throughput only: no claims sentence, no accuracy (a dash), no accuracy
        // gap, no headline figure.
        let (blocks, fig) = build(&[throughput()]);
        let md = markdown(&blocks);
        assert!(!md.contains("Claims."), "{md}");
        assert!(md.contains("| softmax | f32 | — | `naive` 4e9"), "{md}");
        assert!(!md.contains("Accuracy gap"), "{md}");
        assert!(md.contains("Speed gap"), "{md}");
        assert!(fig.is_none());
        // Nothing at all: nothing.
        let (blocks, fig) = build(&[]);
        assert!(blocks.is_empty() && fig.is_none());
    }
}
