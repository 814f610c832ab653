//! `compare` on hand-made runs: a known slowdown, a known accuracy regression, a
//! changed verdict, rows in one run only, a different machine, and bad input —
//! each decision both ways (a slowdown inside the threshold, or with overlapping
//! intervals, is not a regression).

use std::path::{Path, PathBuf};

use softmax_lab_report::compare::{run, CompareError, Status};
use softmax_lab_results::fixtures::{machine, push};
use softmax_lab_results::records::AccuracyRecord;
use softmax_lab_results::{ColumnType, Machine, Results, Table, Value};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("softmax-lab-compare-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
    d
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

fn write(dir: &Path, name: &str, kind: &str, cpu: &str, tables: Vec<Table>) {
    write_on(dir, name, kind, machine(cpu), tables);
}

fn write_on(dir: &Path, name: &str, kind: &str, machine: Machine, tables: Vec<Table>) {
    let mut r = Results {
        schema_version: softmax_lab_results::SCHEMA_VERSION,
        scenario: serde_json::json!({"name": name, "kind": kind}),
        machine,
        elapsed_s: 1.0,
        variants: Vec::new(),
        failures: Vec::new(),
        tables,
        generation: String::new(),
        files: Vec::new(),
    };
    r.write(dir).unwrap_or_else(|e| panic!("{e}"));
}

/// Accuracy rows (scale, max_ulp).
fn accuracy(points: &[(f64, f64)]) -> Table {
    let mut t = Table::of::<AccuracyRecord>("accuracy");
    for &(scale, max) in points {
        push(
            &mut t,
            &[
                ("scenario", text("acc")),
                ("kind", text("accuracy")),
                ("variant", text("stable")),
                ("dtype", text("f32")),
                ("generator", text("normal")),
                ("temperature", Value::Float(1.0)),
                ("scale", Value::Float(scale)),
                ("max_ulp", Value::Float(max)),
                ("median_ulp", Value::Float(0.25)),
            ],
        );
    }
    t
}

/// Throughput rows (variant, elems/s, ci low, ci high, ratio_to_memcpy).
fn throughput(rows: &[(&str, f64, f64, f64, f64)]) -> Table {
    let cols: Vec<(&str, ColumnType)> = [
        ("scenario", ColumnType::Text),
        ("variant", ColumnType::Text),
        ("dtype", ColumnType::Text),
        ("n", ColumnType::Int),
        ("rows", ColumnType::Int),
        ("threads", ColumnType::Int),
        ("direction", ColumnType::Text),
        ("in_cache", ColumnType::Bool),
        ("elems_per_s", ColumnType::Float),
        ("elems_per_s_ci95_low", ColumnType::Float),
        ("elems_per_s_ci95_high", ColumnType::Float),
        ("ratio_to_memcpy", ColumnType::Float),
        ("ratio_to_candle", ColumnType::Float),
    ]
    .to_vec();
    let mut t = Table::new("throughput", &cols);
    for &(v, e, lo, hi, rm) in rows {
        push(
            &mut t,
            &[
                ("scenario", text("thr")),
                ("variant", text(v)),
                ("dtype", text("f32")),
                ("threads", Value::Int(1)),
                ("direction", text("forward")),
                ("elems_per_s", Value::Float(e)),
                ("elems_per_s_ci95_low", Value::Float(lo)),
                ("elems_per_s_ci95_high", Value::Float(hi)),
                ("ratio_to_memcpy", Value::Float(rm)),
                ("ratio_to_candle", Value::Float(6.0)),
            ],
        );
    }
    t
}

fn claims(verdicts: &[(&str, &str, &str)]) -> Table {
    let cols = [
        ("claim", ColumnType::Text),
        ("statement", ColumnType::Text),
        ("verdict", ColumnType::Text),
        ("tested", ColumnType::Text),
        ("evidence", ColumnType::Text),
        ("figure", ColumnType::Text),
    ];
    let mut t = Table::new("claims", &cols);
    for &(c, v, e) in verdicts {
        push(
            &mut t,
            &[
                ("claim", text(c)),
                ("verdict", text(v)),
                ("evidence", text(e)),
            ],
        );
    }
    t
}

/// BASE and NEW folders; NEW on `cpu`.
fn runs(name: &str, cpu: &str) -> (PathBuf, PathBuf, PathBuf) {
    let d = tmp(name);
    let (base, new) = (d.join("base/results"), d.join("new"));
    for p in [&base, &new] {
        std::fs::create_dir_all(p).unwrap_or_else(|e| panic!("{e}"));
    }
    write(
        &base,
        "acc",
        "accuracy",
        "cpu a",
        vec![accuracy(&[(1.0, 0.5), (10.0, 0.7), (100.0, 2.0)])],
    );
    // Scale 10 worse, scale 100 better, scale 1 gone, scale 1000 new.
    write(
        &new,
        "acc",
        "accuracy",
        cpu,
        vec![accuracy(&[(10.0, 0.9), (100.0, 1.5), (1000.0, 3.0)])],
    );
    write(
        &base,
        "thr",
        "throughput",
        "cpu a",
        vec![throughput(&[
            ("stable_simd", 3.0e9, 2.9e9, 3.1e9, 0.5),
            ("online_simd", 2.0e9, 1.9e9, 2.1e9, 0.4),
            ("two_pass", 1.0e9, 0.9e9, 1.1e9, 0.3),
        ])],
    );
    write(
        &new,
        "thr",
        "throughput",
        cpu,
        vec![throughput(&[
            // 33% slower, intervals apart: a regression on one machine.
            ("stable_simd", 2.0e9, 1.95e9, 2.05e9, 0.3),
            // 5% slower, intervals apart: inside the threshold.
            ("online_simd", 1.9e9, 1.88e9, 1.92e9, 0.4),
            // 20% slower but the intervals overlap: noise.
            ("two_pass", 0.8e9, 0.6e9, 0.95e9, 0.3),
        ])],
    );
    write(
        &base,
        "claims",
        "claims",
        "cpu a",
        vec![claims(&[
            ("C01", "holds", "sums within 1 ulp"),
            ("C02", "holds", "e1"),
        ])],
    );
    write(
        &new,
        "claims",
        "claims",
        cpu,
        vec![claims(&[
            ("C01", "does not hold", "sums 3 ulps off"),
            ("C02", "holds", "e1"),
        ])],
    );
    (d.join("base"), new, d.join("out"))
}

fn status(c: &softmax_lab_report::compare::Comparison, key_part: &str, metric: &str) -> Status {
    let rows: Vec<_> = c
        .rows
        .iter()
        .filter(|r| {
            (r.key.ends_with(key_part) || r.key.contains(&format!("{key_part},")))
                && r.metric == metric
        })
        .collect();
    assert_eq!(rows.len(), 1, "{key_part} {metric}: {rows:?}");
    rows[0].status
}

#[test]
fn same_machine_finds_the_slowdown_the_regression_the_verdict_and_the_missing_rows() {
    let (base, new, out) = runs("same", "cpu a");
    let w = run(&base, &new, &out, 0.10).unwrap_or_else(|e| panic!("{e}"));
    let c = &w.comparison;
    assert!(!c.machines_differ);
    // Accuracy: any increase is a regression; a decrease an improvement.
    assert_eq!(status(c, "scale=10", "max_ulp"), Status::Regressed);
    assert_eq!(status(c, "scale=100", "max_ulp"), Status::Improved);
    assert_eq!(status(c, "scale=10", "median_ulp"), Status::Same);
    // Throughput: the threshold and the intervals both decide.
    assert_eq!(status(c, "stable_simd", "elems_per_s"), Status::Regressed);
    assert_eq!(status(c, "online_simd", "elems_per_s"), Status::Changed);
    assert_eq!(status(c, "two_pass", "elems_per_s"), Status::Changed);
    let r = c
        .rows
        .iter()
        .find(|r| r.key.contains("stable_simd") && r.metric == "elems_per_s")
        .unwrap();
    assert!((r.ratio - 2.0 / 3.0).abs() < 1e-12);
    assert!(
        (r.ratio_interval.0 - 1.95 / 3.1).abs() < 1e-12
            && (r.ratio_interval.1 - 2.05 / 2.9).abs() < 1e-12
    );
    // On one machine the ratio columns are listed, not judged.
    assert_eq!(status(c, "stable_simd", "ratio_to_memcpy"), Status::Changed);
    assert_eq!(c.regressions(false).len(), 1, "{:?}", c.regressions(false));
    assert_eq!(c.regressions(true).len(), 2);
    // The verdict that moved, with both evidence texts; the one that did not is absent.
    assert_eq!(c.verdicts.len(), 1);
    assert_eq!(c.verdicts[0].claim, "C01");
    assert_eq!(c.verdicts[0].base.1, "sums within 1 ulp");
    assert_eq!(c.verdicts[0].new.0, "does not hold");
    // Rows in one run only are listed.
    let only: Vec<_> = c
        .only_in
        .iter()
        .map(|o| (o.2.ends_with("scale=1"), o.2.ends_with("scale=1000"), o.3))
        .collect();
    assert!(only.contains(&(true, false, "base")), "{only:?}");
    assert!(only.contains(&(false, true, "new")), "{only:?}");
    // The files: the page names them, the CSV has every compared value.
    let md = std::fs::read_to_string(&w.markdown).unwrap();
    for want in [
        "Same machine",
        "Regressions: accuracy",
        "C01",
        "sums 3 ulps off",
        "BASE only",
        "NEW only",
        "plots/compare_accuracy.svg",
    ] {
        assert!(md.contains(want), "{want} not in:\n{md}");
    }
    assert!(
        !md.contains(&std::env::temp_dir().display().to_string()),
        "absolute path in:\n{md}"
    );
    let csv = std::fs::read_to_string(&w.csv).unwrap();
    assert_eq!(csv.lines().count(), 1 + c.rows.len());
    assert!(out.join("plots/compare_throughput.png").is_file());
}

#[test]
fn another_machine_judges_throughput_by_the_ratios() {
    let (base, new, out) = runs("other", "cpu b");
    let c = run(&base, &new, &out, 0.10)
        .unwrap_or_else(|e| panic!("{e}"))
        .comparison;
    assert!(c.machines_differ);
    // Absolute speed: not comparable across machines.
    assert_eq!(status(&c, "stable_simd", "elems_per_s"), Status::Changed);
    // ratio_to_memcpy 0.5 -> 0.3 is 40% down: a regression; 0.4 -> 0.4 the same.
    assert_eq!(
        status(&c, "stable_simd", "ratio_to_memcpy"),
        Status::Regressed
    );
    assert_eq!(status(&c, "online_simd", "ratio_to_memcpy"), Status::Same);
    let md = std::fs::read_to_string(out.join("compare.md")).unwrap();
    assert!(
        md.contains("The machines differ") && md.contains("cpu a") && md.contains("cpu b"),
        "{md}"
    );
}

#[test]
fn identical_runs_have_nothing_to_report() {
    let (base, _, out) = runs("identical", "cpu a");
    let c = run(&base, &base, &out, 0.10)
        .unwrap_or_else(|e| panic!("{e}"))
        .comparison;
    assert!(
        c.rows.iter().all(|r| r.status == Status::Same),
        "{:?}",
        c.rows
    );
    assert!(c.verdicts.is_empty() && c.only_in.is_empty());
}

#[test]
fn bad_input_names_the_folder_and_what_was_expected() {
    let (base, new, out) = runs("bad", "cpu a");
    let missing = base.join("nope");
    let e = run(&missing, &new, &out, 0.1).unwrap_err();
    assert!(
        matches!(e, CompareError::Input { which: "BASE", .. }),
        "{e}"
    );
    assert!(e.to_string().contains("expected a results folder"), "{e}");
    // Another schema version.
    let old = base.join("results/acc.json");
    let text = std::fs::read_to_string(&old).unwrap();
    std::fs::write(
        &old,
        text.replace("\"schema_version\": 2", "\"schema_version\": 1"),
    )
    .unwrap();
    let e = run(&base, &new, &out, 0.1).unwrap_err().to_string();
    assert!(e.contains("acc.json") && e.contains("schema"), "{e}");
    // An unreadable (not JSON) file in NEW.
    std::fs::write(new.join("acc.json"), "not json").unwrap();
    let e = run(&new, &new, &out, 0.1).unwrap_err();
    assert!(
        matches!(e, CompareError::Input { which: "BASE", .. }),
        "{e}"
    );
}

#[test]
fn another_simd_path_lists_vector_kernels_changes_without_failing_them() {
    let d = tmp("isa");
    let (base, new, out) = (d.join("base"), d.join("new"), d.join("out"));
    for p in [&base, &new] {
        std::fs::create_dir_all(p).unwrap_or_else(|e| panic!("{e}"));
    }
    let rows = |stable: f64, wide: f64| {
        let mut t = accuracy(&[(1.0, stable)]);
        let mut w = accuracy(&[(1.0, wide)]);
        let i = w.column("variant").unwrap();
        w.rows[0][i] = text("stable_wide");
        t.rows.push(w.rows.remove(0));
        t
    };
    write(&base, "acc", "accuracy", "cpu a", vec![rows(0.5, 0.5)]);
    let mut m = machine("cpu a");
    m.simd_isa = "portable".into();
    write_on(&new, "acc", "accuracy", m, vec![rows(0.75, 0.75)]);
    let c = run(&base, &new, &out, 0.1)
        .unwrap_or_else(|e| panic!("{e}"))
        .comparison;
    assert!(c.isa_differs);
    assert_eq!(status(&c, "variant=stable", "max_ulp"), Status::Regressed);
    assert_eq!(
        status(&c, "variant=stable_wide", "max_ulp"),
        Status::Changed
    );
    // On the same path the vector kernel's change is a regression like any other.
    write(&new, "acc", "accuracy", "cpu a", vec![rows(0.75, 0.75)]);
    let c = run(&base, &new, &out, 0.1)
        .unwrap_or_else(|e| panic!("{e}"))
        .comparison;
    assert_eq!(
        status(&c, "variant=stable_wide", "max_ulp"),
        Status::Regressed
    );
}
