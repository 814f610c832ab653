//! `softmax-lab compare`: exit 0 with nothing regressed (or without
//! `--fail-on-regression`), 1 on a regression, 2 on bad input; throughput
//! regressions fail only without `--throughput-informational`.

use std::path::{Path, PathBuf};
use std::process::Command;

use softmax_lab_results::fixtures::{self, row};
use softmax_lab_results::records::AccuracyRecord;
use softmax_lab_results::{ColumnType, Results, Table, Value};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "softmax-lab-cli-compare-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
    d
}

fn write(dir: &Path, name: &str, kind: &str, table: Table) {
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{e}"));
    let mut r = Results {
        schema_version: softmax_lab_results::SCHEMA_VERSION,
        scenario: serde_json::json!({"name": name, "kind": kind}),
        machine: fixtures::machine("cpu"),
        elapsed_s: 1.0,
        variants: Vec::new(),
        failures: Vec::new(),
        tables: vec![table],
        generation: String::new(),
        files: Vec::new(),
    };
    r.write(dir).unwrap_or_else(|e| panic!("{e}"));
}

fn accuracy(max_ulp: f64) -> Table {
    let mut t = Table::of::<AccuracyRecord>("accuracy");
    let r = row(&t, &[("max_ulp", Value::Float(max_ulp))]);
    t.push(r);
    t
}

fn throughput(elems: f64) -> Table {
    let cols = [
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
    ];
    let mut t = Table::new("throughput", &cols);
    let r = row(
        &t,
        &[
            ("elems_per_s", Value::Float(elems)),
            ("elems_per_s_ci95_low", Value::Float(elems * 0.99)),
            ("elems_per_s_ci95_high", Value::Float(elems * 1.01)),
        ],
    );
    t.push(r);
    t
}

fn compare(base: &Path, new: &Path, out: &Path, flags: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_softmax-lab"))
        .arg("compare")
        .arg(base)
        .arg(new)
        .arg("--out")
        .arg(out)
        .args(flags)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn exit_codes_follow_regressions_and_bad_input() {
    let d = tmp("codes");
    let (base, same, worse, slower, out) = (
        d.join("base"),
        d.join("same"),
        d.join("worse"),
        d.join("slower"),
        d.join("out"),
    );
    for (dir, ulp, speed) in [
        (&base, 1.0, 3e9),
        (&same, 1.0, 3e9),
        (&worse, 1.5, 3e9),
        (&slower, 1.0, 2e9),
    ] {
        write(dir, "acc", "accuracy", accuracy(ulp));
        write(dir, "thr", "throughput", throughput(speed));
    }
    let fail = ["--fail-on-regression"];
    let (code, stdout, stderr) = compare(&base, &same, &out, &fail);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("regressions: 0 accuracy/overflow/gradients, 0 throughput"),
        "{stdout}"
    );
    assert!(out.join("compare.md").is_file() && out.join("compare.csv").is_file());

    let (code, stdout, _) = compare(&base, &worse, &out, &fail);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("regressed: acc") && stdout.contains("max_ulp"),
        "{stdout}"
    );
    // Without the flag a regression is reported, not failed.
    assert_eq!(compare(&base, &worse, &out, &[]).0, 0);

    // A slowdown fails unless throughput is informational.
    assert_eq!(compare(&base, &slower, &out, &fail).0, 1);
    let (code, stdout, _) = compare(
        &base,
        &slower,
        &out,
        &["--fail-on-regression", "--throughput-informational"],
    );
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("1 throughput"), "{stdout}");

    // Bad input: exit 2, one line naming the folder and what was expected.
    let (code, _, stderr) = compare(&d.join("missing"), &same, &out, &[]);
    assert_eq!(code, 2);
    assert!(
        stderr.starts_with("error: BASE ") && stderr.contains("expected a results folder"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let (code, _, stderr) = compare(&base, &same, &out, &["--threshold", "2"]);
    assert_eq!(code, 2, "{stderr}");
}
