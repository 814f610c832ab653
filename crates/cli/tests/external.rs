//! `softmax-lab run` with external variants: an unavailable one is noted and the
//! run succeeds (exit 0); a failing one is printed, recorded, and the run exits 1
//! once everything is written.

use std::path::{Path, PathBuf};
use std::process::Command;

fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "softmax-lab-cli-external-{}-{test}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    dir
}

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

/// A program that says its package is missing, and one that exits at hello.
const DECL: &str = r#"[[external]]
id = "sh_unavailable"
function = "softmax"
dtypes = ["f32"]
kind = "command"
command = ["sh", "-c", "read l; echo '{\"ok\":false,\"unavailable\":true,\"error\":\"shpkg is not installed\"}'"]

[[external]]
id = "sh_exits"
function = "softmax"
dtypes = ["f32"]
kind = "command"
command = ["sh", "-c", "exit 3"]
"#;

fn scenario(variants: &str) -> String {
    format!(
        r#"kind = "overflow"
external = ["decl.toml"]
variants = [{variants}]
dtypes = ["f32"]
seed = 5
n = [4]
rows = 2

[[generators]]
dist = "linspace"

[sweep.scale]
values = [10.0, 100.0]
"#
    )
}

#[test]
fn an_unavailable_peer_is_noted_and_the_run_succeeds() {
    let dir = scratch("unavailable");
    std::fs::write(dir.join("decl.toml"), DECL).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.join("s.toml"),
        scenario(r#""stable", "sh_unavailable""#),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (code, stdout, stderr) = run_in(&dir, &["run", "s.toml", "--out", "out"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("variant 'sh_unavailable' unavailable in f32: shpkg is not installed"),
        "{stderr}"
    );
    assert!(
        stdout.contains("variant sh_unavailable unavailable"),
        "{stdout}"
    );
    let json = std::fs::read_to_string(dir.join("out/results/s.json")).unwrap_or_default();
    assert!(json.contains("\"status\": \"unavailable\""), "{json}");
    // The report lists it in the Peers section.
    let md = std::fs::read_to_string(dir.join("out/index.md")).unwrap_or_default();
    assert!(md.contains("Peers (external variants)") && md.contains("sh_unavailable"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_failing_peer_exits_1_after_everything_is_written() {
    let dir = scratch("failing");
    std::fs::write(dir.join("decl.toml"), DECL).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("s.toml"), scenario(r#""stable", "sh_exits""#))
        .unwrap_or_else(|e| panic!("{e}"));
    let (code, stdout, stderr) = run_in(&dir, &["run", "s.toml", "--out", "out"]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("variant 'sh_exits' failed in f32")
            && stderr.contains("exited (exit status: 3) before replying to `hello`"),
        "{stderr}"
    );
    assert!(stderr.contains("1 external variant(s) failed"), "{stderr}");
    // Written whole: the JSON, its CSVs and the report; stable's rows are there.
    let csv = std::fs::read_to_string(dir.join("out/results/s.csv")).unwrap_or_default();
    assert!(
        csv.contains(",stable,") && !csv.contains("sh_exits"),
        "{csv}"
    );
    assert!(dir.join("out/index.html").is_file());
    let _ = std::fs::remove_dir_all(&dir);
}
