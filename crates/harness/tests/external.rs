//! External variants in scenarios: declared in a file the scenario names, scored
//! like built-in ones; a failing one is recorded and left out while the others
//! run, and the scenario's files are written once, whole.

use std::path::{Path, PathBuf};

use softmax_lab_core::Family;
use softmax_lab_harness::results::Results;
use softmax_lab_harness::scenario::load;
use softmax_lab_harness::{run_scenario, RunOptions};

fn registry() -> softmax_lab_core::Registry {
    softmax_lab_variants::registry()
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("softmax-lab-ext-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
    d
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// A declaration file: the C example's softmax (good), its flaky softmax (fails
/// on rows longer than 2, after passing the first small call), a missing symbol
/// and a program whose package is "not installed".
fn declarations(dir: &Path) {
    let lib = softmax_lab_external::EXAMPLE_LIBRARY;
    write(
        &dir.join("ext/decl.toml"),
        &format!(
            r#"[[external]]
id = "c_softmax"
function = "softmax"
dtypes = ["f32", "f64"]
backward = true
temperature = true
kind = "library"
library = '{lib}'

[[external]]
id = "c_flaky"
function = "softmax"
dtypes = ["f32", "f64"]
kind = "library"
library = '{lib}'
prefix = "sl_flaky_softmax"

[[external]]
id = "c_missing"
function = "softmax"
dtypes = ["f32"]
kind = "library"
library = '{lib}'
prefix = "sl_entmax"

[[external]]
id = "sh_unavailable"
function = "softmax"
dtypes = ["f32"]
kind = "command"
command = ["sh", "-c", "read l; echo '{{\"ok\":false,\"unavailable\":true,\"error\":\"shpkg is not installed\"}}'"]
"#
        ),
    );
}

const SCENARIO: &str = r#"name = "ext"
kind = "accuracy"
external = ["ext/decl.toml"]
variants = ["stable"]
families = ["external"]
dtypes = ["f32"]
seed = 1
n = [8]
rows = 4

[[generators]]
dist = "normal"
"#;

#[test]
fn a_failing_external_variant_is_recorded_and_the_others_run() {
    let d = temp_dir("fail");
    std::fs::create_dir_all(d.join("ext")).unwrap_or_else(|e| panic!("{e}"));
    declarations(&d);
    write(&d.join("ext.toml"), SCENARIO);
    let file = load(&d.join("ext.toml"), &registry()).unwrap_or_else(|e| panic!("{e}"));
    let s = file.pick(false);
    assert_eq!(
        s.variants,
        [
            "stable",
            "c_softmax",
            "c_flaky",
            "c_missing",
            "sh_unavailable"
        ]
    );
    let opts = RunOptions {
        quick: false,
        out_dir: d.join("out"),
        progress: false,
        threads: 1,
    };
    let outcome = run_scenario(s, &registry(), &opts).unwrap_or_else(|e| panic!("{e}"));
    let failed: Vec<(&str, &str)> = outcome
        .failures
        .iter()
        .map(|f| (f.variant.as_str(), f.status.as_str()))
        .collect();
    // The probe finds the missing symbol and the missing package; the flaky one
    // fails during the measurement (rows of 8).
    assert_eq!(
        failed,
        [
            ("c_missing", "failed"),
            ("sh_unavailable", "unavailable"),
            ("c_flaky", "failed")
        ]
    );
    assert!(outcome.failures[0]
        .message
        .contains("lacks symbol `sl_entmax_f32`"));
    assert!(outcome.failures[2]
        .message
        .contains("`sl_flaky_softmax_f32` returned error code 7"));
    assert_eq!(outcome.failures[2].dtype, "f32");
    // The results: written whole, the answering variants' rows present.
    let text =
        std::fs::read_to_string(d.join("out/results/ext.json")).unwrap_or_else(|e| panic!("{e}"));
    let r = Results::from_json(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.verify_files(&d.join("out/results")), Ok(()));
    let t = r
        .table("accuracy")
        .unwrap_or_else(|| panic!("no accuracy table"));
    let c = t.column("variant").unwrap_or_default();
    let mut ids: Vec<String> = t.rows.iter().map(|row| row[c].to_csv()).collect();
    ids.dedup();
    assert_eq!(ids, ["stable", "c_softmax"]);
    assert_eq!(r.failures, outcome.failures);
    // Facts for every external variant, answered or not, with their source.
    let src = |id: &str| {
        r.variant(id)
            .and_then(|v| {
                assert_eq!(v.family, Family::External);
                v.source.clone()
            })
            .unwrap_or_else(|| panic!("no source for {id}"))
    };
    assert_eq!(src("c_softmax").status, "ok");
    assert_eq!(src("c_softmax").name, "sl_example 1.0");
    assert_eq!(src("c_flaky").status, "failed");
    assert_eq!(src("sh_unavailable").status, "unavailable");
    assert_eq!(src("sh_unavailable").message, "shpkg is not installed");
    assert_eq!(src("c_missing").kind, "library");
    assert!(r.variant("stable").is_some_and(|v| v.source.is_none()));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_declaration_error_points_into_the_declaration_file() {
    let d = temp_dir("decl");
    std::fs::create_dir_all(d.join("ext")).unwrap_or_else(|e| panic!("{e}"));
    declarations(&d);
    // An id that clashes with a built-in one.
    let text = std::fs::read_to_string(d.join("ext/decl.toml")).unwrap_or_default();
    write(
        &d.join("ext/decl.toml"),
        &text.replacen("id = \"c_softmax\"", "id = \"stable\"", 1),
    );
    write(&d.join("ext.toml"), SCENARIO);
    let e = load(&d.join("ext.toml"), &registry())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        e.contains("ext/decl.toml:2:6: id 'stable' is a built-in variant's"),
        "{e}"
    );
    // A missing declaration file.
    write(
        &d.join("ext.toml"),
        &SCENARIO.replace("ext/decl.toml", "ext/none.toml"),
    );
    let e = load(&d.join("ext.toml"), &registry())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        e.contains("ext/none.toml:1:1: cannot read the declaration file"),
        "{e}"
    );
    // `external` in a kind that runs no variants.
    write(
        &d.join("c.toml"),
        "kind = \"claims\"\nseed = 1\nexternal = [\"ext/decl.toml\"]\n",
    );
    let e = load(&d.join("c.toml"), &registry())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("c.toml:3:12") && e.contains("runs none"), "{e}");
    let _ = std::fs::remove_dir_all(&d);
}
