//! End-to-end tests of `softmax-lab run` and `validate`: exit codes, one-line
//! errors, nothing written for invalid files, results where `--out` says.

use std::path::{Path, PathBuf};
use std::process::Command;

use softmax_lab_results::OutLock;

/// A scratch directory unique to this process and test.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "softmax-lab-cli-scenarios-{}-{test}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    dir
}

/// (exit code, stdout, stderr) of the binary run in `cwd`.
fn run_in(cwd: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_softmax-lab"))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const TINY: &str = r#"kind = "overflow"
variants = ["naive", "stable"]
dtypes = ["f32"]
seed = 5
n = [4]
rows = 2

[[generators]]
dist = "linspace"

[sweep.scale]
values = [10.0, 100.0]
"#;

#[test]
fn run_with_no_subcommand_runs_the_suite_in_scenarios() {
    let dir = scratch("default");
    std::fs::create_dir_all(dir.join("scenarios")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("scenarios/tiny.toml"), TINY).unwrap_or_else(|e| panic!("{e}"));
    let (code, stdout, stderr) = run_in(&dir, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("tiny (overflow): 4 rows"), "{stdout}");
    assert!(stdout.contains("naive"), "{stdout}");
    for f in ["tiny.csv", "tiny_onset.csv", "tiny.json"] {
        assert!(
            dir.join("reports/results").join(f).is_file(),
            "{f}\n{stdout}"
        );
    }
    let csv = std::fs::read_to_string(dir.join("reports/results/tiny.csv")).unwrap_or_default();
    assert!(csv.starts_with("scenario,kind,variant,dtype,n,rows,generator,temperature,scale,samples,nonfinite_fraction"), "{csv}");
    // `run --quick --out` writes elsewhere.
    let (code, _, stderr) = run_in(&dir, &["run", "--quick", "--out", "elsewhere", "scenarios"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(dir.join("elsewhere/results/tiny.json").is_file());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn invalid_files_exit_2_with_one_line_each_and_write_nothing() {
    let dir = scratch("invalid");
    std::fs::write(dir.join("good.toml"), TINY).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.join("bad.toml"),
        TINY.replace("\"stable\"", "\"stabel\""),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (code, stdout, stderr) = run_in(&dir, &["run", "good.toml", "bad.toml"]);
    assert_eq!(code, 2);
    assert_eq!(stdout, "");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].starts_with(
            "error: bad.toml:2:22: unknown variant 'stabel': expected one of naive, stable,"
        ),
        "{stderr}"
    );
    // The good file was not run either.
    assert!(!dir.join("reports").exists());
    let (code, _, stderr) = run_in(&dir, &["validate", "bad.toml"]);
    assert_eq!(code, 2);
    assert!(stderr.starts_with("error: bad.toml:2:22:"), "{stderr}");
    let (code, stdout, _) = run_in(&dir, &["validate", "good.toml"]);
    assert_eq!(code, 0);
    assert!(
        stdout.starts_with("ok good.toml (good, overflow)"),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn missing_default_directory_is_a_clear_error() {
    let dir = scratch("missing");
    let (code, _, stderr) = run_in(&dir, &["run", "--quick"]);
    assert_eq!(code, 2);
    assert!(
        stderr.starts_with("error: scenarios: cannot read:"),
        "{stderr}"
    );
    assert!(stderr.contains("run from the repository root"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_shipped_suite_validates() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (code, stdout, stderr) = run_in(&root, &["validate"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.lines().count() >= 5, "{stdout}");
}

// ---- The output folder under interruption and concurrency (`run`, `report`):
// the lock, the checks made before any measuring, a scenario's files replaced as
// one unit, leftovers of an interrupted write.

const TINY_NAMED: &str = r#"name = "tiny"
kind = "overflow"
variants = ["naive", "stable"]
dtypes = ["f32"]
seed = 5
n = [4]
rows = 2

[[generators]]
dist = "linspace"

[sweep.scale]
values = [10.0, 100.0]
"#;

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn a_second_run_on_a_locked_folder_exits_2_naming_the_holder() {
    let d = scratch("outdir-lock");
    std::fs::write(d.join("tiny.toml"), TINY_NAMED).unwrap_or_else(|e| panic!("{e}"));
    let lock = OutLock::acquire(&d.join("out")).unwrap_or_else(|e| panic!("{e}"));
    let (code, _, err) = run_in(&d, &["run", "tiny.toml", "--out", "out"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!("process {}", std::process::id())),
        "{err}"
    );
    assert!(
        !d.join("out/results").exists(),
        "nothing is measured or written"
    );
    let (code, _, err) = run_in(&d, &["report", "--out", "out"]);
    assert_eq!(code, 2, "{err}");
    drop(lock);
    let (code, _, err) = run_in(&d, &["run", "tiny.toml", "--out", "out"]);
    assert_eq!(code, 0, "{err}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn an_unwritable_out_or_an_old_schema_is_refused_before_measuring() {
    let d = scratch("outdir-precheck");
    std::fs::write(d.join("tiny.toml"), TINY_NAMED).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(d.join("blocker"), "").unwrap_or_else(|e| panic!("{e}"));
    let (code, out, err) = run_in(&d, &["run", "tiny.toml", "--out", "blocker/out"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("blocker/out") && err.lines().count() == 1,
        "{err}"
    );
    assert!(!out.contains("rows in"), "nothing was measured: {out}");
    std::fs::create_dir_all(d.join("out/results")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(d.join("out/results/old.json"), r#"{"schema_version": 1}"#)
        .unwrap_or_else(|e| panic!("{e}"));
    let (code, out, err) = run_in(&d, &["run", "tiny.toml", "--out", "out"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("old.json") && err.contains("schema_version 1"),
        "{err}"
    );
    assert!(!out.contains("rows in"), "{out}");
    assert_eq!(files(&d.join("out/results")), ["old.json"]);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_folder_mixing_two_runs_of_a_scenario_is_refused_and_leftovers_are_cleaned() {
    let d = scratch("outdir-mix");
    std::fs::write(d.join("tiny.toml"), TINY_NAMED).unwrap_or_else(|e| panic!("{e}"));
    let (code, out, err) = run_in(&d, &["run", "tiny.toml", "--out", "out"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("expected duration: unknown (1 scenarios"),
        "{out}"
    );
    let results = d.join("out/results");
    assert_eq!(files(&results), ["tiny.csv", "tiny.json", "tiny_onset.csv"]);
    // What a kill between the renames of a second run leaves: a new main CSV
    // beside the old JSON, and a truncated temporary JSON.
    let csv = std::fs::read_to_string(results.join("tiny.csv")).unwrap_or_default();
    let mut lines: Vec<&str> = csv.lines().collect();
    lines.pop();
    std::fs::write(results.join("tiny.csv"), lines.join("\n") + "\n")
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(results.join("tiny.json.tmp"), "{\"sche").unwrap_or_else(|e| panic!("{e}"));
    let (code, _, err) = run_in(&d, &["report", "--out", "out"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("tiny.csv") && err.contains("rerun"), "{err}");
    // The next run replaces the scenario whole and removes the leftover; it
    // expects the duration of the last run of the same scenario.
    let (code, out, err) = run_in(&d, &["run", "tiny.toml", "--out", "out"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("expected duration: about "), "{out}");
    assert_eq!(files(&results), ["tiny.csv", "tiny.json", "tiny_onset.csv"]);
    let (code, _, err) = run_in(&d, &["report", "--out", "out"]);
    assert_eq!(code, 0, "{err}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_bad_claim_statement_exits_2_naming_its_place() {
    let dir = scratch("claims");
    let shipped = include_str!("../../../scenarios/claims.toml");
    // A claim table without its `measurement`: serde names the field, located.
    let bad = shipped.replacen(
        "measurement = \"sum of per-class sigmoids on random logits\"\n",
        "",
        1,
    );
    std::fs::write(dir.join("claims.toml"), &bad).unwrap_or_else(|e| panic!("{e}"));
    let (code, stdout, stderr) = run_in(&dir, &["validate", "claims.toml"]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(stdout, "");
    let at = bad.find("id = \"C02\"").unwrap_or(0);
    let line = bad[..at].matches('\n').count();
    assert!(
        stderr.starts_with(&format!("error: claims.toml:{line}:")),
        "{stderr}"
    );
    assert!(stderr.contains("missing field `measurement`"), "{stderr}");
    // An unknown id: at the id, with the ids expected.
    let bad = shipped.replacen("id = \"C20\"", "id = \"C2O\"", 1);
    std::fs::write(dir.join("claims.toml"), &bad).unwrap_or_else(|e| panic!("{e}"));
    let (code, _, stderr) = run_in(&dir, &["run", "--quick", "claims.toml"]);
    assert_eq!(code, 2, "{stderr}");
    let line = bad[..bad.find("\"C2O\"").unwrap_or(0)]
        .matches('\n')
        .count()
        + 1;
    assert!(
        stderr.starts_with(&format!(
            "error: claims.toml:{line}:6: unknown claim id 'C2O': expected one of C01, C02,"
        )),
        "{stderr}"
    );
    assert!(!dir.join("reports").exists());
    let _ = std::fs::remove_dir_all(&dir);
}
