//! End to end: a results folder built from small hand-made tables, rendered into a
//! report folder; checks the sections, the links, the PNGs, determinism, and that a
//! malformed results file fails with its name and leaves the previous report.

use std::path::{Path, PathBuf};

use softmax_lab_report::{render, Options, ReportError};
use softmax_lab_results::records::{onsets, AccuracyRecord, GradientRecord, OverflowRecord};
use softmax_lab_results::{ColumnType, Results, Table, Value};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("softmax-lab-report-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
    d
}

use softmax_lab_results::fixtures::push;

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

fn write_results(dir: &Path, name: &str, kind: &str, tables: Vec<Table>) {
    let results = Results {
        schema_version: softmax_lab_results::SCHEMA_VERSION,
        scenario: serde_json::json!({
            "name": name, "kind": kind, "description": format!("test {name}"),
            "dtypes": ["f16", "f32"], "scale": [1.0, 10.0, 100.0], "seed": 7,
            "source": format!("scenarios/{name}.toml"),
        }),
        machine: softmax_lab_results::fixtures::machine("test cpu"),
        elapsed_s: 1.5,
        variants: Vec::new(),
        failures: Vec::new(),
        tables,
        generation: "test".into(),
        files: Vec::new(),
    };
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, results.to_json()).unwrap_or_else(|e| panic!("{e}"));
    for t in &results.tables {
        let csv = if t.name == kind {
            format!("{name}.csv")
        } else {
            format!("{name}_{}.csv", t.name)
        };
        std::fs::write(dir.join(csv), t.to_csv()).unwrap_or_else(|e| panic!("{e}"));
    }
}

fn accuracy_table() -> Table {
    let mut t = Table::of::<AccuracyRecord>("accuracy");
    for (v, d, s, max) in [
        ("stable", "f16", 1.0, 0.9),
        ("stable", "f16", 10.0, 0.95),
        ("stable", "f16", 100.0, 0.97),
        ("naive", "f16", 1.0, 2.5),
        ("naive", "f16", 10.0, f64::INFINITY),
        ("naive", "f16", 100.0, f64::INFINITY),
        ("stable", "f32", 1.0, 0.8),
        ("stable", "f32", 10.0, 0.7),
        ("stable", "f32", 100.0, 0.0),
        ("naive", "f32", 1.0, 1.5),
        ("naive", "f32", 10.0, 1.8),
        ("naive", "f32", 100.0, 3.25),
    ] {
        push(
            &mut t,
            &[
                ("kind", text("accuracy")),
                ("variant", text(v)),
                ("dtype", text(d)),
                ("generator", text("normal")),
                ("n", Value::Int(16)),
                ("temperature", Value::Float(1.0)),
                ("scale", Value::Float(s)),
                ("samples", Value::Int(1024)),
                ("max_ulp", Value::Float(max)),
                ("median_ulp", Value::Float(max / 4.0)),
                ("argmax_agreement_fraction", Value::Float(1.0)),
                ("exact_zero_fraction", Value::Float(0.0)),
            ],
        );
    }
    t
}

fn overflow_tables() -> Vec<Table> {
    let mut t = Table::of::<OverflowRecord>("overflow");
    for v in ["naive", "stable"] {
        for d in ["f16", "f32"] {
            for s in [1.0, 10.0, 100.0] {
                let bad = v == "naive" && (s >= 100.0 || (d == "f16" && s >= 10.0));
                push(
                    &mut t,
                    &[
                        ("kind", text("overflow")),
                        ("variant", text(v)),
                        ("dtype", text(d)),
                        ("generator", text("normal")),
                        ("scale", Value::Float(s)),
                        ("samples", Value::Int(2048)),
                        (
                            "nonfinite_fraction",
                            Value::Float(if bad { 0.25 } else { 0.0 }),
                        ),
                        ("flushed_zero_fraction", Value::Float(0.0)),
                    ],
                );
            }
        }
    }
    let records = t
        .records::<OverflowRecord>()
        .unwrap_or_else(|e| panic!("{e}"));
    let onset = Table::from_records("onset", &onsets(&records));
    vec![t, onset]
}

fn gradients_table() -> Table {
    let mut t = Table::of::<GradientRecord>("gradients");
    for v in ["stable", "sigmoid"] {
        for s in [0.1, 10.0, 1000.0] {
            push(
                &mut t,
                &[
                    ("kind", text("gradients")),
                    ("variant", text(v)),
                    ("dtype", text("f32")),
                    ("generator", text("normal")),
                    ("scale", Value::Float(s)),
                    ("vjp_norm_median", Value::Float(1.0 / s)),
                    ("vjp_norm_ref_median", Value::Float(1.0 / s)),
                    ("candle_variant", text("")),
                ],
            );
        }
    }
    t
}

fn claims_table() -> Table {
    let cols = [
        ("claim", ColumnType::Text),
        ("statement", ColumnType::Text),
        ("verdict", ColumnType::Text),
        ("tested", ColumnType::Text),
        ("evidence", ColumnType::Text),
        ("figure", ColumnType::Text),
    ];
    let mut t = Table::new("claims", &cols);
    push(
        &mut t,
        &[
            ("claim", text("C07")),
            ("verdict", text("holds")),
            ("figure", text("plots/overflow_nonfinite_map.svg")),
        ],
    );
    push(
        &mut t,
        &[
            ("claim", text("C16")),
            ("verdict", text("not tested here")),
            ("figure", text("plots/nowhere.svg")),
        ],
    );
    t
}

fn make_results(dir: &Path) {
    write_results(dir, "accuracy_softmax", "accuracy", vec![accuracy_table()]);
    write_results(dir, "overflow", "overflow", overflow_tables());
    write_results(dir, "gradients", "gradients", vec![gradients_table()]);
    write_results(dir, "claims", "claims", vec![claims_table()]);
    let mut odd = Table::new("mystery", &[("a", ColumnType::Float)]);
    odd.push(vec![Value::Float(1.25)]);
    write_results(dir, "zzz_mystery", "mystery", vec![odd]);
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// (width, height) of a PNG from its IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&bytes[16..20]), be(&bytes[20..24]))
}

/// (width, height) from `<svg width="W" height="H"`.
fn svg_size(svg: &str) -> (u32, u32) {
    let attr = |name: &str| -> u32 {
        let key = format!("{name}=\"");
        let start = svg.find(&key).map(|i| i + key.len()).unwrap_or(0);
        svg[start..]
            .split('"')
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (attr("width"), attr("height"))
}

#[test]
fn report_has_a_section_per_scenario_valid_links_and_plots() {
    let base = tmp("full");
    let results = base.join("in");
    std::fs::create_dir_all(&results).unwrap_or_else(|e| panic!("{e}"));
    make_results(&results);
    let out = base.join("out");
    let summary = render(&Options {
        results_dir: results.clone(),
        out_dir: out.clone(),
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let md = String::from_utf8(read(&out.join("index.md"))).unwrap_or_default();
    // One section per scenario, the claims ledger first, the unknown kind last.
    let headings: Vec<&str> = md.lines().filter(|l| l.starts_with("## ")).collect();
    assert_eq!(
        headings,
        [
            "## Claims ledger (claims)",
            "## accuracy_softmax (accuracy)",
            "## overflow (overflow)",
            "## gradients (gradients)",
            "## zzz_mystery (mystery)",
        ]
    );
    assert!(md.contains("no renderer for kind 'mystery'"), "{md}");
    assert!(md.contains("Not in these results (no section): accuracy_temperature"));
    // The findings come from the numbers.
    assert!(
        md.contains("in f32, the most accurate is stable (worst max error 0.8 ULP) and the least accurate naive (3.25 ULP at scale 100"),
        "{md}"
    );
    assert!(md.contains("naive (f16 from 10, f32 from 100)"), "{md}");
    // The ledger links the existing figure and marks the missing one.
    assert!(
        md.contains("[plots/overflow_nonfinite_map.svg](plots/overflow_nonfinite_map.svg)"),
        "{md}"
    );
    assert!(md.contains("plots/nowhere.svg (missing)"), "{md}");
    // Every relative link of index.md points at a file that exists.
    let mut links = 0;
    for part in md.split("](").skip(1) {
        let href = part.split(')').next().unwrap_or("");
        if href.starts_with('#') {
            continue;
        }
        links += 1;
        assert!(out.join(href).is_file(), "broken link {href}");
    }
    assert!(links > 10, "{links} links");
    // The results were copied next to the report.
    assert!(out.join("results/overflow_onset.csv").is_file());
    // Every figure exists as SVG and PNG of the same size.
    let expected = [
        "accuracy_softmax_ulp_vs_scale",
        "accuracy_softmax_err_over_kappa_u",
        "overflow_nonfinite_map",
        "gradients_grad_norm_vs_scale",
    ];
    for name in expected {
        let svg =
            String::from_utf8(read(&out.join(format!("plots/{name}.svg")))).unwrap_or_default();
        let png = read(&out.join(format!("plots/{name}.png")));
        let (w, h) = png_size(&png);
        assert_eq!((w, h), svg_size(&svg), "{name}");
        assert!(w >= 400 && h >= 250, "{name}: {w}x{h}");
    }
    assert_eq!(
        summary.plots.len(),
        2 * expected.len(),
        "{:?}",
        summary.plots
    );
    // The HTML stands alone: SVGs inline, no external references.
    let html = String::from_utf8(read(&out.join("index.html"))).unwrap_or_default();
    assert_eq!(html.matches("<svg").count(), expected.len());
    assert!(!html.contains("src=\""), "no external images");
    for href in html
        .split("href=\"")
        .skip(1)
        .map(|p| p.split('"').next().unwrap_or(""))
    {
        assert!(
            href.starts_with('#') || (href.starts_with("results/") && out.join(href).is_file()),
            "html link {href}"
        );
    }
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn regenerating_is_byte_identical() {
    let base = tmp("determinism");
    let results = base.join("out/results");
    std::fs::create_dir_all(&results).unwrap_or_else(|e| panic!("{e}"));
    make_results(&results);
    let opts = Options {
        results_dir: results.clone(),
        out_dir: base.join("out"),
    };
    let files = [
        "index.md",
        "index.html",
        "plots/overflow_nonfinite_map.svg",
        "plots/accuracy_softmax_ulp_vs_scale.svg",
    ];
    render(&opts).unwrap_or_else(|e| panic!("{e}"));
    let first: Vec<Vec<u8>> = files
        .iter()
        .map(|f| read(&base.join("out").join(f)))
        .collect();
    render(&opts).unwrap_or_else(|e| panic!("{e}"));
    for (f, bytes) in files.iter().zip(&first) {
        assert!(read(&base.join("out").join(f)) == *bytes, "{f} changed");
    }
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn malformed_results_name_the_file_and_keep_the_previous_report() {
    let base = tmp("malformed");
    let results = base.join("out/results");
    std::fs::create_dir_all(&results).unwrap_or_else(|e| panic!("{e}"));
    make_results(&results);
    let opts = Options {
        results_dir: results.clone(),
        out_dir: base.join("out"),
    };
    render(&opts).unwrap_or_else(|e| panic!("{e}"));
    let before = read(&base.join("out/index.md"));
    std::fs::write(results.join("broken.json"), "{\"schema_version\": 1,")
        .unwrap_or_else(|e| panic!("{e}"));
    let err = render(&opts).err();
    match &err {
        Some(ReportError::Malformed { path, .. }) => assert!(path.ends_with("broken.json")),
        other => panic!("expected a malformed-file error, got {other:?}"),
    }
    let msg = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        msg.contains("broken.json") && msg.contains("malformed"),
        "{msg}"
    );
    assert_eq!(read(&base.join("out/index.md")), before);
    assert!(base.join("out/plots/overflow_nonfinite_map.png").is_file());
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn an_empty_results_folder_is_an_error() {
    let base = tmp("empty");
    let err = render(&Options {
        results_dir: base.clone(),
        out_dir: base.join("out"),
    })
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(err.contains("no results files"), "{err}");
    let _ = std::fs::remove_dir_all(&base);
}

fn throughput_tables() -> Vec<Table> {
    let cols: Vec<(&str, ColumnType)> = vec![
        ("scenario", ColumnType::Text),
        ("variant", ColumnType::Text),
        ("family", ColumnType::Text),
        ("function", ColumnType::Text),
        ("dtype", ColumnType::Text),
        ("n", ColumnType::Int),
        ("rows", ColumnType::Int),
        ("threads", ColumnType::Int),
        ("direction", ColumnType::Text),
        ("in_cache", ColumnType::Bool),
        ("elems_per_s", ColumnType::Float),
        ("elems_per_s_ci95_low", ColumnType::Float),
        ("elems_per_s_ci95_high", ColumnType::Float),
        ("bytes_per_s", ColumnType::Float),
        ("ratio_to_memcpy", ColumnType::Float),
        ("ratio_to_candle", ColumnType::Float),
        ("candle_variant", ColumnType::Text),
        ("samples", ColumnType::Int),
        ("working_set_bytes", ColumnType::Int),
        ("memcpy_elems_per_s", ColumnType::Float),
        ("candle_elems_per_s", ColumnType::Float),
        ("ns_per_elem", ColumnType::Float),
        ("llc_bytes", ColumnType::Int),
    ];
    let mut t = Table::new("throughput", &cols);
    for d in ["f16", "f32"] {
        for n in [64i64, 1024, 16384, 262144] {
            for (v, fam, fun, eps) in [
                ("memcpy", "reference", "copy", 8e9),
                ("relu", "reference", "relu", 6e9),
                ("naive", "naive", "softmax", 1.2e9),
                ("stable", "stable", "softmax", 1e9),
                ("candle_softmax", "candle", "softmax", 5e8),
            ] {
                let eps = eps * (n as f64).powf(0.15) / 6.0;
                let cv = if fam == "candle" || fam == "reference" {
                    ""
                } else {
                    "candle_softmax"
                };
                push(
                    &mut t,
                    &[
                        ("variant", text(v)),
                        ("family", text(fam)),
                        ("function", text(fun)),
                        ("dtype", text(d)),
                        ("n", Value::Int(n)),
                        ("threads", Value::Int(1)),
                        ("direction", text("forward")),
                        ("elems_per_s", Value::Float(eps)),
                        ("elems_per_s_ci95_low", Value::Float(eps * 0.9)),
                        ("elems_per_s_ci95_high", Value::Float(eps * 1.1)),
                        ("bytes_per_s", Value::Float(eps * 8.0)),
                        ("ratio_to_memcpy", Value::Float(eps / 8e9)),
                        (
                            "ratio_to_candle",
                            Value::Float(if cv.is_empty() { f64::NAN } else { eps / 5e8 }),
                        ),
                        ("candle_variant", text(cv)),
                        ("samples", Value::Int(25)),
                        ("working_set_bytes", Value::Int(0)),
                        ("memcpy_elems_per_s", Value::Float(f64::NAN)),
                        ("candle_elems_per_s", Value::Float(f64::NAN)),
                        ("ns_per_elem", Value::Float(f64::NAN)),
                        ("llc_bytes", Value::Int(0)),
                    ],
                );
            }
        }
    }
    let mut h = Table::new(
        "hsoftmax",
        &[
            ("scenario", ColumnType::Text),
            ("tree", ColumnType::Text),
            ("vocab", ColumnType::Int),
            ("dim", ColumnType::Int),
            ("ns_per_target", ColumnType::Float),
            ("ns_per_target_ci95_low", ColumnType::Float),
            ("ns_per_target_ci95_high", ColumnType::Float),
            ("exp_per_target", ColumnType::Float),
            ("dot_products_per_target", ColumnType::Float),
            ("speedup_vs_full", ColumnType::Float),
            ("samples", ColumnType::Int),
        ],
    );
    for v in [1000i64, 10000, 100000] {
        for tree in ["full", "balanced", "huffman"] {
            let vf = v as f64;
            let ns = if tree == "full" { vf } else { 30.0 * vf.log2() };
            push(
                &mut h,
                &[
                    ("tree", text(tree)),
                    ("vocab", Value::Int(v)),
                    ("ns_per_target", Value::Float(ns)),
                    ("ns_per_target_ci95_low", Value::Float(ns * 0.95)),
                    ("ns_per_target_ci95_high", Value::Float(ns * 1.05)),
                    (
                        "exp_per_target",
                        Value::Float(if tree == "full" { vf } else { vf.log2() }),
                    ),
                    ("speedup_vs_full", Value::Float(vf / ns)),
                ],
            );
        }
    }
    vec![t, h]
}

fn training_tables() -> Vec<Table> {
    let mut t = Table::new(
        "training",
        &[
            ("scenario", ColumnType::Text),
            ("dataset", ColumnType::Text),
            ("model", ColumnType::Text),
            ("head", ColumnType::Text),
            ("standardised", ColumnType::Bool),
            ("seed", ColumnType::Int),
            ("epoch", ColumnType::Int),
            ("split", ColumnType::Text),
            ("train_loss", ColumnType::Float),
            ("accuracy", ColumnType::Float),
            ("ece", ColumnType::Float),
            ("prob_sum_mean", ColumnType::Float),
            ("prob_sum_above_one_fraction", ColumnType::Float),
            ("grad_norm_output", ColumnType::Float),
        ],
    );
    let mut r = Table::new(
        "reliability",
        &[
            ("scenario", ColumnType::Text),
            ("dataset", ColumnType::Text),
            ("model", ColumnType::Text),
            ("head", ColumnType::Text),
            ("standardised", ColumnType::Bool),
            ("bin", ColumnType::Int),
            ("bin_lo", ColumnType::Float),
            ("bin_hi", ColumnType::Float),
            ("confidence_mean", ColumnType::Float),
            ("accuracy", ColumnType::Float),
            ("count", ColumnType::Int),
        ],
    );
    let mut p = Table::new(
        "prob_sums",
        &[
            ("scenario", ColumnType::Text),
            ("dataset", ColumnType::Text),
            ("model", ColumnType::Text),
            ("head", ColumnType::Text),
            ("standardised", ColumnType::Bool),
            ("bin_lo", ColumnType::Float),
            ("bin_hi", ColumnType::Float),
            ("count", ColumnType::Int),
        ],
    );
    for ds in ["iris", "digits"] {
        for (k, head) in ["softmax_ce", "sigmoid_ovr_bce"].iter().enumerate() {
            for seed in 0..3i64 {
                for epoch in 1..=10i64 {
                    for split in ["train", "test"] {
                        let e = epoch as f64;
                        let acc = 0.95 - 0.4 / e - 0.03 * k as f64 + 0.01 * seed as f64;
                        push(
                            &mut t,
                            &[
                                ("dataset", text(ds)),
                                ("model", text("logreg")),
                                ("head", text(head)),
                                ("seed", Value::Int(seed)),
                                ("epoch", Value::Int(epoch)),
                                ("split", text(split)),
                                ("train_loss", Value::Float((1.0 + 0.1 * seed as f64) / e)),
                                ("accuracy", Value::Float(acc)),
                                ("prob_sum_above_one_fraction", Value::Float(0.2 * k as f64)),
                                ("grad_norm_output", Value::Float(0.5 / e.sqrt())),
                            ],
                        );
                    }
                }
            }
            for b in 0..10i64 {
                let lo = b as f64 / 10.0;
                push(
                    &mut r,
                    &[
                        ("dataset", text(ds)),
                        ("model", text("logreg")),
                        ("head", text(head)),
                        ("bin", Value::Int(b)),
                        ("bin_lo", Value::Float(lo)),
                        ("bin_hi", Value::Float(lo + 0.1)),
                        ("confidence_mean", Value::Float(lo + 0.05)),
                        (
                            "accuracy",
                            Value::Float((lo + 0.05 - 0.03 * k as f64).max(0.0)),
                        ),
                        ("count", Value::Int(if b < 2 { 0 } else { 20 + b })),
                    ],
                );
            }
            for b in 0..20i64 {
                let lo = b as f64 * 0.1;
                let count = if k == 0 {
                    i64::from(b == 10) * 150
                } else {
                    (30 - (b - 11).abs() * 4).max(0)
                };
                push(
                    &mut p,
                    &[
                        ("dataset", text(ds)),
                        ("model", text("logreg")),
                        ("head", text(head)),
                        ("bin_lo", Value::Float(lo)),
                        ("bin_hi", Value::Float(lo + 0.1)),
                        ("count", Value::Int(count)),
                    ],
                );
            }
        }
    }
    vec![t, r, p]
}

/// Throughput and training sections from tables in the promised layouts; set
/// SOFTMAX_LAB_REPORT_KEEP=dir to keep the report for looking at the plots.
#[test]
fn throughput_and_training_sections_render_with_their_plots() {
    let base = match std::env::var("SOFTMAX_LAB_REPORT_KEEP") {
        Ok(d) => {
            let d = PathBuf::from(d);
            let _ = std::fs::remove_dir_all(&d);
            d
        }
        Err(_) => tmp("synthetic"),
    };
    let results = base.join("results");
    std::fs::create_dir_all(&results).unwrap_or_else(|e| panic!("{e}"));
    write_results(
        &results,
        "accuracy_softmax",
        "accuracy",
        vec![accuracy_table()],
    );
    write_results(&results, "throughput", "throughput", throughput_tables());
    write_results(&results, "training", "training", training_tables());
    let summary = render(&Options {
        results_dir: results.clone(),
        out_dir: base.clone(),
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(summary.failed.is_empty(), "{:?}", summary.failed);
    for name in [
        "throughput_throughput_softmax",
        "throughput_ratio_to_candle",
        "throughput_ratio_to_memcpy",
        "throughput_accuracy_vs_throughput",
        "throughput_hsoftmax_cost",
        "training_loss_curves",
        "training_accuracy_curves",
        "training_reliability",
        "training_prob_sums",
        "training_grad_norms",
    ] {
        let png = read(&base.join(format!("plots/{name}.png")));
        let (w, h) = png_size(&png);
        assert!(w >= 400 && h >= 250, "{name}: {w}x{h}");
    }
    let md = String::from_utf8(read(&base.join("index.md"))).unwrap_or_default();
    assert!(
        md.contains("Hierarchical softmax at V = 100000: speedup per target over the full softmax: balanced 201× and huffman 201×"),
        "{md}"
    );
    assert!(
        md.contains("iris, logreg: softmax_ce 0.92 ± 0.01 (3 seeds)"),
        "{md}"
    );
    if std::env::var("SOFTMAX_LAB_REPORT_KEEP").is_err() {
        let _ = std::fs::remove_dir_all(&base);
    }
}

/// Rewrite one field of a results file through its JSON text.
fn edit_json(path: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{e}"));
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    edit(&mut v);
    std::fs::write(path, v.to_string()).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn names_from_results_files_never_leave_the_report_folder() {
    // Scenario name: the case of issue 18 ("../../pwned" put plots two folders up).
    let base = tmp("bad-name");
    let results = base.join("a/b/results");
    std::fs::create_dir_all(&results).unwrap_or_else(|e| panic!("{e}"));
    write_results(&results, "evil", "overflow", overflow_tables());
    edit_json(&results.join("evil.json"), |v| {
        v["scenario"]["name"] = "../../pwned".into();
    });
    let opts = Options {
        results_dir: results.clone(),
        out_dir: base.join("a/b/out"),
    };
    let err = render(&opts).err();
    assert!(
        matches!(&err, Some(ReportError::Malformed { message, .. })
            if message.contains("scenario.name") && message.contains("../../pwned")),
        "{err:?}"
    );
    let msg = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        msg.contains("evil.json") && msg.contains("scenario.name"),
        "{msg}"
    );
    let escaped: Vec<_> = std::fs::read_dir(&base)
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("pwned"))
        .collect();
    assert!(escaped.is_empty(), "{escaped:?}");
    assert!(!base.join("a/b/out/plots").exists());

    // A table name is checked too; a good name passes.
    edit_json(&results.join("evil.json"), |v| {
        v["scenario"]["name"] = "evil".into();
        v["tables"][0]["name"] = "x/../../y".into();
    });
    let err = render(&opts).err();
    assert!(
        matches!(&err, Some(ReportError::Malformed { message, .. })
            if message.contains("table name") && message.contains("x/../../y")),
        "{err:?}"
    );
    edit_json(&results.join("evil.json"), |v| {
        v["tables"][0]["name"] = "overflow".into();
    });
    render(&opts).unwrap_or_else(|e| panic!("{e}"));
    assert!(base.join("a/b/out/plots/evil_nonfinite_map.svg").is_file());
    let _ = std::fs::remove_dir_all(&base);
}
