//! End-to-end tests of `softmax-lab run` and `validate`: exit codes, one-line
//! errors, nothing written for invalid files, results where `--out` says.

use std::path::{Path, PathBuf};
use std::process::Command;

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
