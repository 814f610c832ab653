//! The harness end to end: scenario errors point at file, line and column and list
//! the allowed values; runs are deterministic, atomic and round-trip through JSON
//! and CSV; each kind measures what it claims on inputs where the answer is known.

use std::path::{Path, PathBuf};

use softmax_lab_core::Family;
use softmax_lab_harness::results::{Results, Table, Value, SCHEMA_VERSION};
use softmax_lab_harness::run::{measure_scenario, resolve_paths};
use softmax_lab_harness::scenario::parse;
use softmax_lab_harness::{load_all, run_scenario, Kind, RunOptions, Scenario, ScenarioError};

fn registry() -> softmax_lab_core::Registry {
    softmax_lab_variants::registry()
}

/// A fresh, empty directory for one test.
fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("softmax-lab-harness-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
    d
}

fn parse_err(text: &str) -> ScenarioError {
    match parse(Path::new("scenarios/t.toml"), text, &registry()) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e,
    }
}

fn scenario(text: &str, quick: bool) -> Scenario {
    parse(Path::new("t.toml"), text, &registry())
        .unwrap_or_else(|e| panic!("{e}"))
        .pick(quick)
        .clone()
}

const VALID: &str = r#"name = "t"
kind = "accuracy"
variants = ["stable"]
dtypes = ["f32"]
seed = 1
n = [8]
rows = 2

[[generators]]
dist = "normal"
"#;

/// `VALID` with `line` (1-based) replaced.
fn with_line(line: usize, replacement: &str) -> String {
    VALID
        .lines()
        .enumerate()
        .map(|(i, l)| if i + 1 == line { replacement } else { l })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[test]
fn the_valid_example_parses_with_defaults() {
    let s = scenario(VALID, false);
    assert_eq!(s.variants, ["stable"]);
    assert_eq!(s.scale, [1.0]);
    assert_eq!(s.temperature, [1.0]);
    assert_eq!(s.tiny_grad_threshold, 1e-8);
    let q = scenario(VALID, true);
    assert!(q.quick);
    assert_eq!(q.rows, 1, "rows / 8, at least 1");
}

#[test]
fn malformed_toml_points_at_line_and_column() {
    let e = parse_err(&with_line(5, "seed = = 1"));
    assert_eq!(e.path, PathBuf::from("scenarios/t.toml"));
    assert_eq!((e.line, e.column), (5, 8), "{e}");
    assert!(e.to_string().starts_with("scenarios/t.toml:5:8: "), "{e}");
}

#[test]
fn unknown_field_names_it_and_lists_the_allowed_fields() {
    let e = parse_err(&with_line(6, "sead = 1"));
    assert_eq!((e.line, e.column), (6, 1), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("unknown field `sead`"), "{msg}");
    assert!(
        msg.contains("`seed`") && msg.contains("`generators`"),
        "{msg}"
    );
    // In a nested table too.
    let e = parse_err(&format!("{VALID}heigth = 3\n"));
    assert_eq!((e.line, e.column), (11, 1), "{e}");
    assert!(e.message.contains("`height`"), "{e}");
}

#[test]
fn unknown_variant_dtype_kind_and_family_list_the_allowed_values() {
    let e = parse_err(&with_line(3, r#"variants = ["stable", "stabel"]"#));
    assert_eq!((e.line, e.column), (3, 23), "{e}");
    assert!(e.message.contains("unknown variant 'stabel'"), "{e}");
    assert!(
        e.message.contains("stable_wide") && e.message.contains("candle_sigmoid"),
        "{e}"
    );

    let e = parse_err(&with_line(4, r#"dtypes = ["f32", "f8"]"#));
    assert_eq!((e.line, e.column), (4, 18), "{e}");
    assert!(e.message.contains("f16, bf16, f32, f64"), "{e}");

    let e = parse_err(&with_line(2, r#"kind = "speed""#));
    assert_eq!((e.line, e.column), (2, 8), "{e}");
    assert!(e.message.contains("accuracy, overflow, gradients"), "{e}");

    let e = parse_err(&with_line(3, r#"families = ["softmax"]"#));
    assert_eq!((e.line, e.column), (3, 13), "{e}");
    assert!(
        e.message
            .contains("naive, stable, logsumexp, sigmoid, candle"),
        "{e}"
    );

    let e = parse_err(&with_line(10, r#"dist = "gauss""#));
    assert_eq!((e.line, e.column), (10, 8), "{e}");
    assert!(e
        .message
        .contains("normal, uniform, cauchy, spike, near_ties, linspace, masked"));
}

#[test]
fn empty_sweeps_and_lists_are_errors() {
    let e = parse_err(&format!("{VALID}\n[sweep.scale]\nvalues = []\n"));
    assert_eq!((e.line, e.column), (13, 10), "{e}");
    assert!(e.message.contains("empty sweep"), "{e}");
    let e = parse_err(&format!(
        "{VALID}\n[sweep.scale]\nfrom = 1\nto = 2\npoints = 0\n"
    ));
    assert_eq!((e.line, e.column), (15, 10), "{e}");
    assert!(e.message.contains("empty sweep"), "{e}");
    let e = parse_err(&with_line(4, "dtypes = []"));
    assert_eq!((e.line, e.column), (4, 10), "{e}");
    assert!(e.message.contains("f16, bf16, f32, f64"), "{e}");
    let e = parse_err(&with_line(6, "n = []"));
    assert_eq!((e.line, e.column), (6, 5), "{e}");
}

#[test]
fn inverted_ranges_are_errors() {
    let e = parse_err(&format!(
        "{VALID}\n[sweep.scale]\nfrom = 100.0\nto = 1.0\npoints = 3\n"
    ));
    assert_eq!((e.line, e.column), (13, 8), "{e}");
    assert!(e.message.contains("inverted range"), "{e}");
    let e = parse_err(&format!(
        "{VALID}\n[[generators]]\ndist = \"uniform\"\nlow = 2.0\nhigh = 1.0\n"
    ));
    assert_eq!((e.line, e.column), (14, 7), "{e}");
    assert!(e.message.contains("inverted range"), "{e}");
}

#[test]
fn parameters_must_fit_their_dist_and_temperatures_their_variants() {
    let e = parse_err(&format!("{VALID}height = 3.0\n"));
    assert_eq!((e.line, e.column), (11, 10), "{e}");
    assert!(e.message.contains("it takes name, mean, std"), "{e}");
    let sig = with_line(3, r#"variants = ["sigmoid"]"#);
    let e = parse_err(&format!(
        "{sig}\n[sweep.temperature]\nvalues = [1.0, 2.0]\n"
    ));
    assert_eq!(e.line, 12, "{e}");
    assert!(e.message.contains("none of the scenario's variants"), "{e}");
    let e = parse_err(&format!("{VALID}\n[[generators]]\ndist = \"normal\"\n"));
    assert!(e.message.contains("labelled 'normal'"), "{e}");
}

#[test]
fn shipped_scenarios_validate_and_cover_every_kind_for_every_family() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let paths = resolve_paths(&[], &dir).unwrap_or_else(|e| panic!("{e}"));
    let files = load_all(&paths, &registry()).unwrap_or_else(|errors| {
        panic!(
            "{}",
            errors
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    });
    let reg = registry();
    for kind in Kind::ALL.into_iter().filter(|k| k.takes_rows()) {
        for family in Family::ALL {
            if reg.family(family).next().is_none() {
                continue;
            }
            let covered = files.iter().any(|f| {
                f.full.kind == kind
                    && f.full.variants.iter().any(|id| {
                        reg.get(id)
                            .map(|v| v.info().family == family)
                            .unwrap_or(false)
                    })
            });
            assert!(
                covered,
                "no {} scenario covers family {family}",
                kind.name()
            );
        }
    }
    for kind in [Kind::Training, Kind::Claims] {
        assert!(
            files.iter().any(|f| f.full.kind == kind),
            "no {} scenario is shipped",
            kind.name()
        );
    }
    for f in &files {
        let (q, full) = (&f.quick, &f.full);
        assert!(
            q.rows <= full.rows && q.scale.len() <= full.scale.len(),
            "{}",
            full.name
        );
    }
}

fn opts(out: &Path) -> RunOptions {
    RunOptions {
        quick: false,
        out_dir: out.to_path_buf(),
        progress: false,
        threads: 2,
    }
}

/// The rows where each (column, text) pair matches.
fn select<'a>(t: &'a Table, want: &[(&str, &str)]) -> Vec<&'a Vec<Value>> {
    t.rows
        .iter()
        .filter(|r| {
            want.iter().all(|(c, v)| {
                let i = t.column(c).unwrap_or_else(|| panic!("no column {c}"));
                matches!(&r[i], Value::Text(s) if s == v)
            })
        })
        .collect()
}

fn num(t: &Table, row: &[Value], name: &str) -> f64 {
    let i = t.column(name).unwrap_or_else(|| panic!("no column {name}"));
    row[i]
        .as_f64()
        .unwrap_or_else(|| panic!("{name} is not a number"))
}

fn assert_has_columns(t: &Table, names: &[&str]) {
    for n in names {
        assert!(t.column(n).is_some(), "table {} lacks column {n}", t.name);
    }
}

const KEYS: [&str; 7] = ["scenario", "kind", "variant", "dtype", "n", "rows", "scale"];

const ACCURACY: &str = r#"name = "acc"
kind = "accuracy"
variants = ["stable", "stable_wide", "naive", "candle_softmax"]
dtypes = ["f16", "f32"]
seed = 7
n = [8, 33]
rows = 6

[[generators]]
dist = "normal"

[[generators]]
dist = "masked"

[[generators]]
dist = "near_ties"

[sweep.scale]
from = 1.0
to = 100.0
points = 3
"#;

#[test]
fn accuracy_run_is_bit_identical_for_a_seed_and_round_trips() {
    let s = scenario(ACCURACY, false);
    let reg = registry();
    let (a, b) = (temp_dir("acc-a"), temp_dir("acc-b"));
    let out_a = run_scenario(&s, &reg, &opts(&a)).unwrap_or_else(|e| panic!("{e}"));
    // Another thread count must not change a bit.
    let mut single = opts(&b);
    single.threads = 1;
    run_scenario(&s, &reg, &single).unwrap_or_else(|e| panic!("{e}"));
    let csv_a = std::fs::read(a.join("results/acc.csv")).unwrap_or_default();
    let csv_b = std::fs::read(b.join("results/acc.csv")).unwrap_or_default();
    assert!(!csv_a.is_empty());
    assert_eq!(csv_a, csv_b, "same scenario and seed, different CSV bytes");
    assert_eq!(
        out_a.files,
        vec![a.join("results/acc.csv"), a.join("results/acc.json")]
    );

    // No temporary file survives.
    let leftovers: Vec<_> = std::fs::read_dir(a.join("results"))
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(
        leftovers
            .iter()
            .all(|p| !p.to_string_lossy().ends_with(".tmp")),
        "{leftovers:?}"
    );

    // The JSON reads back; its table equals the CSV read with the JSON's columns.
    let json = std::fs::read_to_string(a.join("results/acc.json")).unwrap_or_default();
    let results = Results::from_json(&json).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(results.schema_version, SCHEMA_VERSION);
    assert_eq!(results.scenario["name"], "acc");
    // The facts of each variant travel with the results; the CSV is vouched for.
    assert_eq!(
        results
            .variant("stable")
            .map(|v| (v.family.name(), v.function.name())),
        Some(("stable", "softmax"))
    );
    assert_eq!(results.verify_files(&a.join("results")), Ok(()));
    assert_eq!(
        results.scenario["variants"].as_array().map(Vec::len),
        Some(4)
    );
    assert!(!results.machine.cpu_model.is_empty() && !results.machine.date.is_empty());
    let table = &results.tables[0];
    let from_csv = Table::from_csv("accuracy", &table.columns, &String::from_utf8_lossy(&csv_a))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(from_csv.same(table), "CSV and JSON tables differ");

    assert_has_columns(table, &KEYS);
    assert_has_columns(
        table,
        &["max_ulp", "median_ulp", "normwise", "bound", "samples"],
    );
    // 4 variants × 2 dtypes × 2 n × 3 generators × 3 scales.
    assert_eq!(table.rows.len(), 4 * 2 * 2 * 3 * 3);
    for r in select(table, &[("variant", "stable_wide"), ("dtype", "f32")]) {
        assert!(num(table, r, "max_ulp") <= 1.0, "{r:?}");
    }
    for r in select(table, &[("variant", "stable")]) {
        assert!(
            num(table, r, "normwise") <= num(table, r, "bound"),
            "stable outside its bound: {r:?}"
        );
    }
    // naive has no formula, hence no bound; samples are rows × n.
    for r in select(table, &[("variant", "naive")]) {
        assert!(num(table, r, "bound").is_nan());
        assert_eq!(num(table, r, "samples"), num(table, r, "n") * 6.0);
    }
    // The masked entries are exact zeros of the reference, and of stable's output.
    for r in select(table, &[("variant", "stable"), ("generator", "masked")]) {
        assert!(num(table, r, "reference_zeros") > 0.0);
        assert!(num(table, r, "exact_zeros") >= num(table, r, "reference_zeros"));
    }
}

#[test]
fn results_json_keeps_nan_and_infinities() {
    use softmax_lab_harness::machine::Machine;
    use softmax_lab_harness::results::ColumnType;
    let mut t = Table::new(
        "accuracy",
        &[
            ("variant", ColumnType::Text),
            ("max_ulp", ColumnType::Float),
        ],
    );
    for v in [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -0.0,
        5e-324,
        0.1,
    ] {
        t.push(vec![Value::Text("nan".into()), Value::Float(v)]);
    }
    let r = Results {
        schema_version: SCHEMA_VERSION,
        scenario: serde_json::json!({"name": "x", "kind": "accuracy"}),
        machine: Machine::detect(),
        elapsed_s: 0.5,
        variants: Vec::new(),
        failures: Vec::new(),
        tables: vec![t.clone()],
        generation: "g".into(),
        files: Vec::new(),
    };
    let text = r.to_json();
    assert!(text.contains("\"inf\"") && text.contains("\"-inf\"") && text.contains("\"nan\""));
    let back = Results::from_json(&text).unwrap_or_else(|e| panic!("{e}"));
    assert!(back.tables[0].same(&t));
    assert_eq!(back.machine, r.machine);
    let csv = t.to_csv();
    assert!(csv.contains("nan,nan\n") && csv.contains(",inf\n") && csv.contains(",-inf\n"));
    let again = Table::from_csv("accuracy", &t.columns, &csv).unwrap_or_else(|e| panic!("{e}"));
    assert!(again.same(&t));
    // A future schema is refused, not misread.
    let future = text.replace(
        &format!("\"schema_version\": {SCHEMA_VERSION}"),
        &format!("\"schema_version\": {}", SCHEMA_VERSION + 1),
    );
    assert_ne!(future, text);
    assert!(Results::from_json(&future).is_err());
}

#[test]
fn overflow_finds_naive_overflow_past_the_exp_threshold() {
    let s = scenario(
        r#"name = "ovf"
kind = "overflow"
variants = ["naive", "stable", "candle_softmax"]
dtypes = ["f32", "f64"]
seed = 3
n = [16]
rows = 2

[[generators]]
dist = "linspace"

[sweep.scale]
values = [50.0, 200.0, 1000.0]
"#,
        false,
    );
    let tables = measure_scenario(&s, &registry(), &opts(Path::new("unused")))
        .unwrap_or_else(|e| panic!("{e}"));
    let (main, onset) = (&tables[0], &tables[1]);
    assert_has_columns(main, &KEYS);
    assert_has_columns(
        main,
        &["nonfinite_fraction", "flushed_zero_fraction", "samples"],
    );
    for r in select(main, &[("dtype", "f32")]) {
        let (scale, frac) = (num(main, r, "scale"), num(main, r, "nonfinite_fraction"));
        match (&r[2], scale > 88.72) {
            (Value::Text(v), true) if v == "naive" => assert!(frac > 0.0, "{r:?}"),
            _ => assert_eq!(frac, 0.0, "{r:?}"),
        }
    }
    // f64 overflows only past 709.78: at scale 1000 (linspace max 1000).
    let first = |variant: &str, dtype: &str| {
        let rows = select(onset, &[("variant", variant), ("dtype", dtype)]);
        assert_eq!(rows.len(), 1);
        num(onset, rows[0], "first_nonfinite_scale")
    };
    assert_eq!(first("naive", "f32"), 200.0);
    assert_eq!(first("naive", "f64"), 1000.0);
    assert!(first("stable", "f32").is_nan());
    // Stable flushes representable entries? exp(-2000) is not representable in
    // f32 either, so nothing is flushed that should not be.
    for r in select(main, &[("variant", "stable")]) {
        assert_eq!(num(main, r, "flushed_zero_fraction"), 0.0, "{r:?}");
    }
}

#[test]
fn gradients_show_naive_sigmoid_vanishing_and_agree_with_fd_and_candle() {
    let s = scenario(
        r#"name = "grad"
kind = "gradients"
variants = ["sigmoid", "sigmoid_naive", "stable", "naive", "candle_softmax", "candle_softmax_last_dim"]
dtypes = ["f32", "f64"]
seed = 11
n = [16]
rows = 8

[[generators]]
dist = "uniform"

[sweep.scale]
values = [1.0, 30.0]
"#,
        false,
    );
    let tables = measure_scenario(&s, &registry(), &opts(Path::new("unused")))
        .unwrap_or_else(|e| panic!("{e}"));
    let g = &tables[0];
    assert_has_columns(g, &KEYS);
    assert_has_columns(
        g,
        &[
            "has_backward",
            "vjp_norm_median",
            "fd_normwise",
            "candle_normwise",
            "zero_grad_fraction",
        ],
    );
    let at = |variant: &str, dtype: &str, scale: f64| {
        let rows: Vec<_> = select(g, &[("variant", variant), ("dtype", dtype)])
            .into_iter()
            .filter(|r| num(g, r, "scale") == scale)
            .collect();
        assert_eq!(rows.len(), 1, "{variant} {dtype} {scale}");
        rows[0].clone()
    };
    // |x| <= 30: σ'(x) >= 9e-14, representable in f32; y(1 − y) is 0 once y rounds to 1.
    let naive = at("sigmoid_naive", "f32", 30.0);
    assert!(num(g, &naive, "zero_grad_fraction") > 0.0, "{naive:?}");
    let good = at("sigmoid", "f32", 30.0);
    assert_eq!(num(g, &good, "zero_grad_fraction"), 0.0, "{good:?}");
    // Below 1e-8 × max|dy| is genuinely tiny there (σ'(30) = 9e-14): as the reference says.
    assert_eq!(
        num(g, &good, "tiny_grad_fraction"),
        num(g, &good, "ref_tiny_grad_fraction")
    );
    // The gradient norm vanishes with the scale (softmax too).
    for v in ["sigmoid", "stable"] {
        assert!(
            num(g, &at(v, "f64", 30.0), "vjp_norm_median")
                < num(g, &at(v, "f64", 1.0), "vjp_norm_median"),
            "{v}"
        );
    }
    // In f64, every backward agrees with finite differences and the reference.
    for v in ["sigmoid", "stable", "naive", "candle_softmax"] {
        let r = at(v, "f64", 1.0);
        assert!(num(g, &r, "fd_normwise") < 1e-6, "{v}: {r:?}");
        assert!(num(g, &r, "fd_samples") > 0.0);
        assert!(num(g, &r, "vjp_normwise") < 1e-12, "{v}: {r:?}");
    }
    // Narrow dtypes have no finite-difference check.
    assert!(num(g, &at("stable", "f32", 1.0), "fd_normwise").is_nan());
    // stable is compared with candle_softmax; they agree closely in f64.
    let r = at("stable", "f64", 1.0);
    assert!(
        matches!(&r[g.column("candle_variant").unwrap_or(0)], Value::Text(c) if c == "candle_softmax")
    );
    assert!(num(g, &r, "candle_normwise") < 1e-12, "{r:?}");
    // No backward: reported, not faked.
    let none = at("candle_softmax_last_dim", "f32", 1.0);
    assert_eq!(
        none[g.column("has_backward").unwrap_or(0)],
        Value::Bool(false)
    );
    assert!(num(g, &none, "vjp_norm_median").is_nan());
}

#[test]
fn load_all_reports_every_bad_file_and_duplicate_names() {
    let dir = temp_dir("load-all");
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap_or_else(|e| panic!("{e}"));
        p
    };
    let good = write("a.toml", VALID);
    let dup = write("b.toml", VALID);
    let bad = write("c.toml", &with_line(4, r#"dtypes = ["f7"]"#));
    let errors = match load_all(&[good, dup, bad], &registry()) {
        Ok(_) => panic!("expected errors"),
        Err(e) => e,
    };
    assert_eq!(errors.len(), 2);
    assert!(errors[0]
        .to_string()
        .contains("scenario name 't' is already used"));
    assert!(
        errors[1]
            .to_string()
            .contains("c.toml:4:11: unknown dtype 'f7'"),
        "{}",
        errors[1]
    );
    let missing = resolve_paths(&[dir.join("nope.toml")], &dir);
    assert!(missing.is_err());
    let empty = temp_dir("empty");
    let e = resolve_paths(&[], &empty)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("no scenario files"), "{e}");
}

const THROUGHPUT: &str = r#"name = "tp"
kind = "throughput"
variants = ["stable", "sigmoid", "candle_softmax_last_dim"]
dtypes = ["f32"]
seed = 11
n = [64, 300]

[[generators]]
dist = "normal"

[throughput]
threads = [1, 2]
bytes_per_case = 4096
samples = 3
max_seconds_per_case = 0.05
hsoftmax_vocab = [50]
hsoftmax_dim = 8
shards = [1, 4]
"#;

#[test]
fn throughput_fields_are_checked_against_the_kind() {
    let e = parse_err(&THROUGHPUT.replace("seed = 11", "seed = 11\nrows = 4"));
    assert_eq!((e.line, e.column), (6, 8), "{e}");
    assert!(
        e.message
            .contains("`rows` does not apply to kind = \"throughput\""),
        "{e}"
    );

    let e = parse_err(&format!("{VALID}\n[throughput]\nsamples = 3\n"));
    assert!(
        e.message
            .contains("`[throughput]` does not apply to kind = \"accuracy\""),
        "{e}"
    );

    let e = parse_err(
        &THROUGHPUT.replace("max_seconds_per_case = 0.05", "directions = [\"sideways\"]"),
    );
    assert!(
        e.message
            .contains("unknown direction 'sideways': expected one of forward, backward"),
        "{e}"
    );
    assert_eq!(e.line, 15, "{e}");

    let e = parse_err(&THROUGHPUT.replace("samples = 3", "samples = 2"));
    assert!(e.message.contains("from 3 to 10000"), "{e}");

    let e = parse_err("name = \"c\"\nkind = \"claims\"\nseed = 1\nn = [4]\n");
    assert_eq!((e.line, e.column), (4, 5), "{e}");
    assert!(
        e.message
            .contains("`n` does not apply to kind = \"claims\""),
        "{e}"
    );

    // Throughput runs random samples too; the scored kinds refuse them by id.
    let t = THROUGHPUT.replace("\"sigmoid\",", "\"sigmoid\", \"gumbel_softmax\",");
    assert!(scenario(&t, false)
        .variants
        .contains(&"gumbel_softmax".to_string()));

    let s = scenario(THROUGHPUT, true);
    let spec = s.throughput.as_ref().unwrap_or_else(|| panic!("no spec"));
    assert_eq!((spec.samples, spec.threads.clone()), (5, vec![1, 2]));
    assert_eq!(s.rows, 0);
    assert!(spec.out_of_cache_n.is_empty());

    // Row lengths measured out of cache must be row lengths measured at all.
    let cold = THROUGHPUT.replace(
        "shards = [1, 4]",
        "shards = [1, 4]\nout_of_cache_n = [300, 65]",
    );
    let e = parse_err(&cold);
    assert_eq!(e.line, 19, "{e}");
    assert!(
        e.message
            .contains("`out_of_cache_n` value 65 is not one of the row lengths n = [64, 300]"),
        "{e}"
    );
    let cold = cold.replace("[300, 65]", "[300]");
    assert_eq!(
        scenario(&cold, true).throughput.map(|t| t.out_of_cache_n),
        Some(vec![300])
    );
    let e = parse_err(&format!("{cold}\n[quick]\nn = [64]\n"));
    assert!(
        e.message
            .contains("is not one of the row lengths quick.n = [64]"),
        "{e}"
    );
}

#[test]
fn throughput_reports_every_case_with_its_references() {
    let s = scenario(THROUGHPUT, false);
    let tables = measure_scenario(&s, &registry(), &opts(Path::new("/nonexistent")))
        .unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["throughput", "hsoftmax", "sharded"]);
    let main = &tables[0];
    assert_has_columns(
        main,
        &[
            "scenario",
            "variant",
            "dtype",
            "n",
            "rows",
            "threads",
            "direction",
            "elems_per_s",
            "bytes_per_s",
            "ratio_to_memcpy",
            "ratio_to_candle",
            "samples",
        ],
    );
    // Per n × threads: forward memcpy, copy_loop, relu, stable, sigmoid,
    // candle_softmax_last_dim, candle_sigmoid (sigmoid's reference); backward memcpy,
    // copy_loop, stable, sigmoid and their candle references (candle_softmax,
    // candle_sigmoid).
    assert_eq!(main.rows.len(), 2 * 2 * (7 + 6));
    for r in &main.rows {
        let eps = num(main, r, "elems_per_s");
        assert!(eps.is_finite() && eps > 0.0, "{r:?}");
        let dtype_bytes = 4.0;
        let streams = if select_row_is(main, r, "direction", "forward") {
            2.0
        } else {
            3.0
        };
        assert_eq!(num(main, r, "bytes_per_s"), eps * dtype_bytes * streams);
        assert!(num(main, r, "samples") >= 3.0);
        let n = num(main, r, "n");
        // rows = max(1, 4096 / (n × 4)): 16 for n = 64, 3 for n = 300.
        assert_eq!(num(main, r, "rows"), if n == 64.0 { 16.0 } else { 3.0 });
    }
    // The bandwidth reference of a group is the faster of the two copies.
    let copies: Vec<&Vec<Value>> = main
        .rows
        .iter()
        .filter(|r| {
            select_row_is(main, r, "family", "reference")
                && select_row_is(main, r, "function", "copy")
        })
        .collect();
    assert_eq!(copies.len(), 2 * 2 * 2 * 2);
    for pair in copies.chunks(2) {
        let (a, b) = (pair[0], pair[1]);
        assert!(select_row_is(main, a, "variant", "memcpy"));
        assert!(select_row_is(main, b, "variant", "copy_loop"));
        let best = num(main, a, "elems_per_s").max(num(main, b, "elems_per_s"));
        assert_eq!(num(main, a, "memcpy_elems_per_s"), best);
        let ratios = [
            num(main, a, "ratio_to_memcpy"),
            num(main, b, "ratio_to_memcpy"),
        ];
        assert!(
            ratios.iter().all(|&q| q <= 1.0) && ratios.contains(&1.0),
            "{ratios:?}"
        );
    }
    for r in select(main, &[("variant", "candle_softmax_last_dim")]) {
        assert_eq!(num(main, r, "ratio_to_candle"), 1.0);
    }
    let stable_bwd = select(main, &[("variant", "stable"), ("direction", "backward")]);
    assert_eq!(stable_bwd.len(), 4);
    for r in stable_bwd {
        let i = main.column("candle_variant").unwrap_or(0);
        assert!(matches!(&r[i], Value::Text(c) if c == "candle_softmax"));
    }
    let threads: Vec<f64> = main.rows.iter().map(|r| num(main, r, "threads")).collect();
    assert!(threads.contains(&1.0) && threads.contains(&2.0));

    let h = &tables[1];
    assert_eq!(h.rows.len(), 3);
    let full = &h.rows[0];
    assert_eq!(num(h, full, "exp_per_target"), 50.0);
    assert_eq!(num(h, full, "dot_products_per_target"), 50.0);
    for r in &h.rows[1..] {
        // A tree over 50 classes: between 1 and 49 decisions per target, fewer than 50.
        let d = num(h, r, "dot_products_per_target");
        assert!((1.0..50.0).contains(&d), "{d}");
    }
    let sh = &tables[2];
    let exchanged: Vec<f64> = sh
        .rows
        .iter()
        .map(|r| num(sh, r, "bytes_exchanged_per_row"))
        .collect();
    // One shard exchanges nothing; four: 6 × 3 f32 values (summaries gathered and
    // sent back, the backward pass's Σ y·dy reduced and sent back).
    assert_eq!(exchanged, vec![0.0, 72.0]);
}

fn select_row_is(t: &Table, r: &[Value], col: &str, want: &str) -> bool {
    matches!(t.column(col).map(|i| &r[i]), Some(Value::Text(s)) if s == want)
}

#[test]
fn flush_subnormals_moves_the_underflow_onset_and_is_refused_where_it_does_not_apply() {
    // linspace on [-1, 1] at scale 48: stable's f32 outputs span e^-96 (2.0e-42)
    // to about 1; those below e^-87.3 (f32's smallest normal) are subnormal. With
    // gradual underflow they come out nonzero; with FTZ/DAZ they are 0.
    let text = |flush: &str| {
        format!(
            r#"name = "ftz"
kind = "overflow"
{flush}
variants = ["stable"]
dtypes = ["f32"]
seed = 3
n = [64]
rows = 1

[[generators]]
dist = "linspace"

[sweep.scale]
values = [48.0]
"#
        )
    };
    let flushed = |flush: &str| {
        let s = scenario(&text(flush), false);
        let tables = measure_scenario(&s, &registry(), &opts(Path::new("unused")))
            .unwrap_or_else(|e| panic!("{e}"));
        let rows = select(&tables[0], &[("variant", "stable")]);
        assert_eq!(rows.len(), 1);
        num(&tables[0], rows[0], "flushed_zero_fraction")
    };
    assert!(!scenario(&text(""), false).flush_subnormals);
    assert_eq!(
        flushed(""),
        0.0,
        "gradual underflow keeps the subnormal outputs"
    );
    if softmax_lab_core::fpenv::FlushGuard::supported() {
        let s = scenario(&text("flush_subnormals = true"), true);
        assert!(s.flush_subnormals, "the quick form inherits it");
        let f = flushed("flush_subnormals = true");
        assert!(f > 0.0, "FTZ/DAZ flush the subnormal outputs: {f}");
        // The guard is gone after the run: this thread underflows gradually again.
        assert!(!softmax_lab_core::fpenv::flushes_results());
    } else {
        eprintln!("skipped: FTZ/DAZ cannot be set on this target");
    }
    let e = parse_err(&with_line(
        2,
        "kind = \"gradients\"\nflush_subnormals = true",
    ))
    .to_string();
    assert!(
        e.contains("scenarios/t.toml:3:20") && e.contains("`flush_subnormals` applies only"),
        "{e}"
    );
}
