//! The "Peers" section: the external variants of a run (family `external`:
//! libraries through the C ABI, programs through the command protocol — PyTorch,
//! NumPy, ONNX Runtime, a kernel author's own), each with how it was reached, the
//! name and versions it reported and its status (answered, unavailable because
//! its package is missing, or failed with the message), then their accuracy
//! beside the built-in variants of the same function and dtype, and their speed
//! beside the built-in variants timed in the same groups (a peer's figure is
//! self-timed: the program times its own calls, so it includes whatever a call
//! from its language costs; the `timing` column says which figures are).
//!
//! Read from the results the report renders and, when present, from the peers
//! run's results (`<out>/peers/results/`, written by `just peers`, i.e.
//! `softmax-lab run scenarios/peers --out reports/peers`): those scenarios get no
//! section of their own; the Peers section is drawn from them.

use std::collections::BTreeMap;

use softmax_lab_core::Family;
use softmax_lab_results::records::{AccuracyRecord, ThroughputRecord};
use softmax_lab_results::stats;

use crate::data::fmt;
use crate::doc::{t, Block, Inline, Section};
use crate::kinds::{code, plain, Loaded};

/// One external variant as the results describe it.
struct Peer {
    id: String,
    function: String,
    kind: String,
    name: String,
    versions: String,
    status: String,
}

fn peers(all: &[&Loaded]) -> Vec<Peer> {
    let mut out: Vec<Peer> = Vec::new();
    for l in all {
        for v in &l.results.variants {
            if v.family != Family::External {
                continue;
            }
            let src = v.source.clone().unwrap_or_default();
            let failure = l.results.failures.iter().find(|f| f.variant == v.id);
            let status = match failure {
                Some(f) if f.dtype.is_empty() => format!("{}: {}", f.status, f.message),
                Some(f) => format!("{} in {} ({}): {}", f.status, f.dtype, l.name, f.message),
                None if src.message.is_empty() => src.status.clone(),
                None => format!("{}: {}", src.status, src.message),
            };
            let versions = src
                .versions
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ");
            match out.iter_mut().find(|p| p.id == v.id) {
                // A failure in any scenario is what the reader must see.
                Some(p) if failure.is_some() && p.status == "ok" => p.status = status,
                Some(p) => {
                    if p.name.is_empty() {
                        p.name = src.name.clone();
                        p.versions = versions;
                    }
                }
                None => out.push(Peer {
                    id: v.id.clone(),
                    function: v.function.name().to_string(),
                    kind: src.kind.clone(),
                    name: src.name.clone(),
                    versions,
                    status,
                }),
            }
        }
    }
    out
}

/// Per (function, dtype) where an external variant was scored: each variant of
/// that function with its points, entries scored, median over points of the
/// median ulp error, and the largest ulp error.
fn accuracy_rows(all: &[&Loaded]) -> Vec<Vec<Inline>> {
    // (function, dtype, external first, variant) -> (points, entries, medians, max)
    type Acc = (usize, usize, Vec<f64>, f64);
    let mut by: BTreeMap<(String, String, bool, String), Acc> = BTreeMap::new();
    for l in all.iter().filter(|l| l.kind == "accuracy") {
        let Some(recs) = l
            .table("accuracy")
            .and_then(|t| t.records::<AccuracyRecord>().ok())
        else {
            continue;
        };
        let facts = |id: &str| l.results.variant(id);
        let functions_with_peers: Vec<(String, String)> = recs
            .iter()
            .filter(|r| facts(&r.key.variant).is_some_and(|f| f.family == Family::External))
            .filter_map(|r| {
                facts(&r.key.variant).map(|f| {
                    (
                        f.function.name().to_string(),
                        r.key.dtype.name().to_string(),
                    )
                })
            })
            .collect();
        for r in &recs {
            let Some(f) = facts(&r.key.variant) else {
                continue;
            };
            let key = (
                f.function.name().to_string(),
                r.key.dtype.name().to_string(),
            );
            if !functions_with_peers.contains(&key) {
                continue;
            }
            let e = by
                .entry((
                    key.0,
                    key.1,
                    f.family != Family::External,
                    r.key.variant.clone(),
                ))
                .or_insert((0, 0, Vec::new(), 0.0));
            e.0 += 1;
            e.1 += r.samples;
            e.2.push(r.median_ulp);
            e.3 = if r.max_ulp.is_nan() || e.3.is_nan() {
                f64::NAN
            } else {
                e.3.max(r.max_ulp)
            };
        }
    }
    by.into_iter()
        .map(
            |((function, dtype, builtin, variant), (points, entries, medians, max))| {
                vec![
                    t(function),
                    t(dtype),
                    vec![code(variant)],
                    t(if builtin { "built-in" } else { "external" }),
                    t(points.to_string()),
                    t(entries.to_string()),
                    t(fmt(stats::median(&medians))),
                    t(fmt(max)),
                ]
            },
        )
        .collect()
}

/// Per throughput group (dtype, n, threads, direction, cache regime) that timed
/// an external variant: every variant of a function some peer computes, and the
/// group's candle reference, fastest first, with the median rate, its 95%
/// interval, the ratio to candle and who timed it.
fn throughput_rows(all: &[&Loaded]) -> Vec<Vec<Inline>> {
    let mut out = Vec::new();
    for l in all.iter().filter(|l| l.kind == "throughput") {
        let Some(recs) = l
            .table("throughput")
            .and_then(|t| t.records::<ThroughputRecord>().ok())
        else {
            continue;
        };
        let group = |r: &ThroughputRecord| (r.dtype, r.n, r.threads, r.direction, r.in_cache);
        let external = |r: &ThroughputRecord| {
            l.results
                .variant(&r.variant)
                .is_some_and(|f| f.family == Family::External)
        };
        let mut groups: Vec<_> = recs.iter().filter(|r| external(r)).map(group).collect();
        groups.dedup();
        for g in groups {
            let in_group: Vec<&ThroughputRecord> = recs.iter().filter(|r| group(r) == g).collect();
            let functions: Vec<&str> = in_group
                .iter()
                .filter(|r| external(r))
                .map(|r| r.function.as_str())
                .collect();
            let references: Vec<&str> = in_group
                .iter()
                .filter(|r| external(r))
                .map(|r| r.candle_variant.as_str())
                .collect();
            let mut rows: Vec<&&ThroughputRecord> = in_group
                .iter()
                .filter(|r| {
                    functions.contains(&r.function.as_str())
                        || references.contains(&r.variant.as_str())
                })
                .collect();
            rows.sort_by(|a, b| b.elems_per_s.total_cmp(&a.elems_per_s));
            for r in rows {
                out.push(vec![
                    t(r.dtype.name()),
                    t(r.n.to_string()),
                    t(r.threads.to_string()),
                    t(r.direction.name()),
                    t(if r.in_cache { "yes" } else { "no" }),
                    vec![code(&r.variant)],
                    t(if external(r) { "external" } else { "built-in" }),
                    t(&r.timing),
                    t(fmt(r.elems_per_s / 1e9)),
                    t(format!(
                        "{}–{}",
                        fmt(r.elems_per_s_ci95_low / 1e9),
                        fmt(r.elems_per_s_ci95_high / 1e9)
                    )),
                    t(fmt(r.ratio_to_candle)),
                ]);
            }
        }
    }
    out
}

/// The Peers section, when `loaded` or `peers` hold external variants.
pub fn section(loaded: &[Loaded], peers_run: &[Loaded]) -> Option<Section> {
    let all: Vec<&Loaded> = loaded.iter().chain(peers_run).collect();
    let list = peers(&all);
    if list.is_empty() {
        return None;
    }
    let mut blocks = vec![Block::Para(vec![plain(format!(
        "{} external variant(s) declared in {} scenario(s){}: implementations outside this \
         workspace, reached through the C ABI (library) or the command protocol (a program \
         on stdin/stdout), scored against the same reference as every built-in variant. \
         Unavailable means the implementation's package is not installed where it ran; \
         failed means a call broke the protocol or the ABI, and its rows are absent.",
        list.len(),
        all.iter()
            .filter(|l| l
                .results
                .variants
                .iter()
                .any(|v| v.family == Family::External))
            .count(),
        if peers_run.is_empty() {
            String::new()
        } else {
            " (with the peers run in peers/results/)".to_string()
        }
    ))])];
    blocks.push(Block::Table {
        headers: ["variant", "function", "kind", "name", "versions", "status"]
            .map(String::from)
            .to_vec(),
        rows: list
            .iter()
            .map(|p| {
                vec![
                    vec![code(&p.id)],
                    t(&p.function),
                    t(&p.kind),
                    t(&p.name),
                    t(&p.versions),
                    t(&p.status),
                ]
            })
            .collect(),
    });
    let rows = accuracy_rows(&all);
    if !rows.is_empty() {
        blocks.push(Block::Heading(
            "Peers' accuracy beside the built-in variants".into(),
        ));
        blocks.push(Block::Para(t(
            "Per function and dtype where an external variant was scored, every variant of \
             the same accuracy scenario: points scored, output entries scored, the median \
             over points of the median ulp error, and the largest ulp error of any entry.",
        )));
        blocks.push(Block::Table {
            headers: [
                "function",
                "dtype",
                "variant",
                "source",
                "points",
                "entries",
                "median ulp",
                "max ulp",
            ]
            .map(String::from)
            .to_vec(),
            rows,
        });
    }
    let rows = throughput_rows(&all);
    if !rows.is_empty() {
        blocks.push(Block::Heading(
            "Peers' speed beside the built-in variants".into(),
        ));
        blocks.push(Block::Para(t(
            "Per throughput group that timed an external variant, every variant of the functions the peers compute and the group's candle reference, fastest first: median G elements/s with its 95% interval and the ratio to candle. Timing `self`: the program timed its own calls (a Python peer's figure includes the interpreter's cost per call); `runner`: the harness timed the call in process.",
        )));
        blocks.push(Block::Table {
            headers: [
                "dtype",
                "n",
                "threads",
                "direction",
                "in cache",
                "variant",
                "source",
                "timing",
                "G elem/s",
                "95% interval",
                "× candle",
            ]
            .map(String::from)
            .to_vec(),
            rows,
        });
    }
    Some(Section {
        id: "peers".into(),
        title: "Peers (external variants)".into(),
        blocks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use softmax_lab_core::Function;
    use softmax_lab_results::fixtures::{machine, push};
    use softmax_lab_results::records::{AccuracyRecord, ThroughputRecord};
    use softmax_lab_results::{Failure, Results, SourceFacts, Table, Value as V, VariantFacts};

    fn facts(id: &str, family: Family, status: &str) -> VariantFacts {
        VariantFacts {
            id: id.into(),
            family,
            function: Function::Softmax,
            source: (family == Family::External).then(|| SourceFacts {
                kind: "command".into(),
                declared: "python3 peer.py".into(),
                name: format!("{id} impl"),
                versions: vec![("pkg".into(), "1.2".into())],
                status: status.into(),
                message: if status == "ok" {
                    String::new()
                } else {
                    "pkg is not installed".into()
                },
            }),
        }
    }

    /// Accuracy of `stable` (1 and 3 ulp max), `torch_softmax` (2 and 40) in f32 and
    /// `naive` in f64 (no peer there: left out); `numpy_softmax` unavailable, and
    /// `onnx_softmax` failed in f32.
    fn run() -> Loaded {
        let mut t = Table::of::<AccuracyRecord>("accuracy");
        for (v, dtype, max, median) in [
            ("stable", "f32", 1.0, 0.25),
            ("stable", "f32", 3.0, 0.5),
            ("torch_softmax", "f32", 2.0, 0.5),
            ("torch_softmax", "f32", 40.0, 1.5),
            ("naive", "f64", 9.0, 1.0),
        ] {
            push(
                &mut t,
                &[
                    ("kind", V::Text("accuracy".into())),
                    ("variant", V::Text(v.into())),
                    ("dtype", V::Text(dtype.into())),
                    ("max_ulp", V::Float(max)),
                    ("median_ulp", V::Float(median)),
                    ("samples", V::Int(100)),
                ],
            );
        }
        Loaded {
            file: "peers.json".into(),
            name: "peers".into(),
            kind: "accuracy".into(),
            results: Results {
                schema_version: softmax_lab_results::SCHEMA_VERSION,
                scenario: serde_json::json!({"name": "peers", "kind": "accuracy"}),
                machine: machine("test cpu"),
                elapsed_s: 1.0,
                variants: vec![
                    facts("naive", Family::Naive, ""),
                    facts("numpy_softmax", Family::External, "unavailable"),
                    facts("onnx_softmax", Family::External, "failed"),
                    facts("stable", Family::Stable, ""),
                    facts("torch_softmax", Family::External, "ok"),
                ],
                failures: vec![Failure {
                    variant: "onnx_softmax".into(),
                    dtype: "f32".into(),
                    status: "failed".into(),
                    message: "no reply within 60 s".into(),
                }],
                tables: vec![t],
                generation: "g".into(),
                files: Vec::new(),
            },
        }
    }

    fn tables_of(s: &Section) -> Vec<&Block> {
        s.blocks
            .iter()
            .filter(|b| matches!(b, Block::Table { .. }))
            .collect()
    }

    fn cells(b: &Block) -> Vec<Vec<String>> {
        let Block::Table { rows, .. } = b else {
            panic!("not a table: {b:?}")
        };
        rows.iter()
            .map(|r| {
                r.iter()
                    .map(|c| {
                        c.iter()
                            .map(|s| match s {
                                crate::doc::Span::Text(x)
                                | crate::doc::Span::Code(x)
                                | crate::doc::Span::Strong(x) => x.clone(),
                                crate::doc::Span::Link { label, .. } => label.clone(),
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect()
    }

    /// A throughput run: in the f32 n = 1024 group `torch_softmax` (self-timed),
    /// `stable_simd`, `sigmoid_simd` (a function no peer computes: left out) and
    /// the candle reference; an f32 n = 64 group without a peer (left out).
    fn speed_run() -> Loaded {
        let mut t = Table::of::<ThroughputRecord>("throughput");
        for (v, family, function, n, rate, timing) in [
            (
                "candle_softmax_last_dim",
                "candle",
                "softmax",
                1024,
                0.25e9,
                "runner",
            ),
            ("torch_softmax", "external", "softmax", 1024, 1.0e9, "self"),
            ("stable_simd", "simd", "softmax", 1024, 3.0e9, "runner"),
            ("sigmoid_simd", "simd", "sigmoid", 1024, 2.5e9, "runner"),
            ("stable_simd", "simd", "softmax", 64, 1.5e9, "runner"),
        ] {
            push(
                &mut t,
                &[
                    ("kind", V::Text("throughput".into())),
                    ("variant", V::Text(v.into())),
                    ("family", V::Text(family.into())),
                    ("function", V::Text(function.into())),
                    ("dtype", V::Text("f32".into())),
                    ("n", V::Int(n)),
                    ("threads", V::Int(1)),
                    ("direction", V::Text("forward".into())),
                    ("in_cache", V::Bool(true)),
                    ("elems_per_s", V::Float(rate)),
                    ("elems_per_s_ci95_low", V::Float(rate * 0.9)),
                    ("elems_per_s_ci95_high", V::Float(rate * 1.1)),
                    ("ratio_to_candle", V::Float(rate / 0.25e9)),
                    ("candle_variant", V::Text("candle_softmax_last_dim".into())),
                    ("timing", V::Text(timing.into())),
                ],
            );
        }
        let mut l = run();
        l.kind = "throughput".into();
        l.name = "peers_throughput".into();
        l.results.tables = vec![t];
        l.results.failures.clear();
        l.results.variants = vec![
            facts("candle_softmax_last_dim", Family::Candle, ""),
            facts("sigmoid_simd", Family::Simd, ""),
            facts("stable_simd", Family::Simd, ""),
            facts("torch_softmax", Family::External, "ok"),
        ];
        l
    }

    #[test]
    fn the_peers_speed_is_shown_beside_the_built_ins_of_their_group() {
        let s = section(&[], &[speed_run()]).unwrap_or_else(|| panic!("no section"));
        let tables = tables_of(&s);
        // The peers list and the speed table (no accuracy scenario here).
        assert_eq!(tables.len(), 2);
        let speed = cells(tables[1]);
        let who: Vec<(&str, &str, &str)> = speed
            .iter()
            .map(|r| (r[5].as_str(), r[6].as_str(), r[7].as_str()))
            .collect();
        assert_eq!(
            who,
            [
                ("stable_simd", "built-in", "runner"),
                ("torch_softmax", "external", "self"),
                ("candle_softmax_last_dim", "built-in", "runner"),
            ]
        );
        assert_eq!(&speed[0][..5], ["f32", "1024", "1", "forward", "yes"]);
        assert_eq!(speed[1][8], "1");
        assert_eq!(speed[1][10], "4");
        // Without a peer in the throughput results, no speed table.
        let mut l = speed_run();
        l.results.variants.retain(|v| v.family != Family::External);
        l.results
            .variants
            .push(facts("numpy_softmax", Family::External, "unavailable"));
        let s = section(&[], &[l]).unwrap_or_else(|| panic!("no section"));
        assert_eq!(tables_of(&s).len(), 1);
    }

    #[test]
    fn no_external_variant_no_section() {
        let mut l = run();
        l.results.variants.retain(|v| v.family != Family::External);
        assert!(section(&[l], &[]).is_none());
    }

    #[test]
    fn the_peers_are_listed_with_status_and_scored_beside_the_built_ins() {
        // From the peers run alone (the main results hold no external variant).
        let s = section(&[], &[run()]).unwrap_or_else(|| panic!("no section"));
        let tables = tables_of(&s);
        assert_eq!(tables.len(), 2);
        let list = cells(tables[0]);
        assert_eq!(list.len(), 3);
        assert_eq!(
            list[0],
            [
                "numpy_softmax",
                "softmax",
                "command",
                "numpy_softmax impl",
                "pkg 1.2",
                "unavailable: pkg is not installed"
            ]
        );
        assert_eq!(list[1][5], "failed in f32 (peers): no reply within 60 s");
        assert_eq!(list[2][5], "ok");
        let acc = cells(tables[1]);
        // f32 only (f64 has no peer); the peer first, then the built-in.
        assert_eq!(
            acc,
            [
                [
                    "softmax",
                    "f32",
                    "torch_softmax",
                    "external",
                    "2",
                    "200",
                    "1",
                    "40"
                ],
                ["softmax", "f32", "stable", "built-in", "2", "200", "0.375", "3"],
            ]
        );
    }
}
