//! End-to-end tests of the `softmax-lab` binary: exact stdout of `eval`, its error
//! lines and exit codes, and `list`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use serde_json::value::RawValue;
use softmax_lab_core::text::{format_value, parse_non_finite, parse_value};
use softmax_lab_core::variant::forward_f64;
use softmax_lab_core::{DType, Options};

/// A scratch directory unique to this process and test, removed on drop.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new(test: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "softmax-lab-cli-test-{}-{test}",
            std::process::id()
        ));
        // A leftover from an earlier run with the same pid is stale.
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch { dir }
    }

    /// Write `text` to `name` in the directory and return its path.
    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Exit code, stdout and stderr of one run.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_softmax-lab"))
        .args(args)
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn eval(variant: &str, dtype: &str, input: &Path, extra: &[&str]) -> Run {
    let mut args = vec![
        "eval",
        "--variant",
        variant,
        "--dtype",
        dtype,
        "--input",
        input.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(&args)
}

/// The parsed stdout of a successful `eval`, numbers kept as their text.
#[derive(Deserialize)]
struct EvalOut {
    variant: String,
    dtype: String,
    output: Vec<Vec<Box<RawValue>>>,
    grad: Option<Vec<Vec<Box<RawValue>>>>,
}

fn ok_eval(variant: &str, dtype: &str, input: &Path, extra: &[&str]) -> (String, EvalOut) {
    let r = eval(variant, dtype, input, extra);
    assert_eq!(r.code, 0, "stderr: {}", r.stderr);
    assert_eq!(r.stderr, "");
    assert!(r.stdout.ends_with('\n'), "{:?}", r.stdout);
    assert_eq!(r.stdout.lines().count(), 1, "{:?}", r.stdout);
    let line = r.stdout.trim_end_matches('\n').to_string();
    let parsed: EvalOut = serde_json::from_str(&line).unwrap();
    assert_eq!(parsed.variant, variant);
    assert_eq!(parsed.dtype, dtype);
    (line, parsed)
}

/// A printed value read back exactly in `dtype`.
fn value(dtype: DType, raw: &RawValue) -> f64 {
    let raw = raw.get();
    match raw.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(name) => parse_non_finite(name).unwrap(),
        None => parse_value(dtype, raw).unwrap(),
    }
}

fn values(dtype: DType, rows: &[Vec<Box<RawValue>>]) -> Vec<Vec<f64>> {
    rows.iter()
        .map(|r| r.iter().map(|v| value(dtype, v)).collect())
        .collect()
}

fn ulps_f64(a: f64, b: f64) -> u64 {
    assert!(a > 0.0 && b > 0.0);
    a.to_bits().abs_diff(b.to_bits())
}

fn ulps_f32(a: f64, b: f32) -> u32 {
    assert!(a > 0.0 && b > 0.0);
    (a as f32).to_bits().abs_diff(b.to_bits())
}

/// Assert a failed run: exit 2, nothing on stdout, one `error: ` line on stderr
/// containing every `needle`.
fn assert_error(r: &Run, needles: &[&str]) {
    assert_eq!(r.code, 2, "stdout {:?} stderr {:?}", r.stdout, r.stderr);
    assert_eq!(r.stdout, "", "stderr {:?}", r.stderr);
    assert!(r.stderr.starts_with("error: "), "{:?}", r.stderr);
    assert!(r.stderr.ends_with('\n'), "{:?}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{:?}", r.stderr);
    for n in needles {
        assert!(r.stderr.contains(n), "{n:?} not in {:?}", r.stderr);
    }
}

#[test]
fn stable_f64_prints_the_exact_line() {
    let s = Scratch::new("stable_f64");
    let input = s.file("x.json", "[[2.0, 1.0, 0.1]]");
    let (line, out) = ok_eval("stable", "f64", &input, &[]);
    // The max-shifted f64 softmax is 1 ULP above the correctly rounded
    // 0.09856589040931817 in its last entry.
    assert_eq!(
        line,
        "{\"variant\":\"stable\",\"dtype\":\"f64\",\"output\":\
         [[0.6590011388859679,0.24243297070471392,0.09856589040931818]]}"
    );
    assert!(out.grad.is_none());
    let exact = [0.6590011388859679, 0.24243297070471392, 0.09856589040931817];
    let got = &values(DType::F64, &out.output)[0];
    for (g, e) in got.iter().zip(exact) {
        assert!(ulps_f64(*g, e) <= 1, "{g} vs {e}");
    }
    // stable_wide rounds once from double-double: correctly rounded.
    let (_, wide) = ok_eval("stable_wide", "f64", &input, &[]);
    assert_eq!(values(DType::F64, &wide.output)[0], exact.to_vec());
}

#[test]
fn f16_outputs_round_trip() {
    let s = Scratch::new("f16_round_trip");
    // exp(12) overflows f16: inf / inf.
    let big = s.file("big.json", "[[12.0, 0.0]]");
    let (line, _) = ok_eval("naive", "f16", &big, &[]);
    assert_eq!(
        line,
        "{\"variant\":\"naive\",\"dtype\":\"f16\",\"output\":[[\"nan\",0.0]]}"
    );

    let small = s.file("small.json", "[[0.1, 0.2]]");
    let (_, out) = ok_eval("stable", "f16", &small, &[]);
    let x = [
        parse_value(DType::F16, "0.1").unwrap(),
        parse_value(DType::F16, "0.2").unwrap(),
    ];
    let registry = softmax_lab_variants::registry();
    let variant = registry.get("stable").unwrap();
    let want = forward_f64(&*variant, DType::F16, &x, 2, &Options::default()).unwrap();
    assert_eq!(values(DType::F16, &out.output)[0], want);
    // Printed shortest: exactly format_value's text, and here 3 digits.
    let texts: Vec<&str> = out.output[0].iter().map(|v| v.get()).collect();
    let expected: Vec<String> = want.iter().map(|&v| format_value(DType::F16, v)).collect();
    assert_eq!(texts, expected);
    assert_eq!(texts, ["0.475", "0.525"]);
}

#[test]
fn sigmoid_grad_in_the_far_tail() {
    let s = Scratch::new("sigmoid_grad");
    let x = s.file("x.json", "[[20.0]]");
    let dy = s.file("dy.json", "[[1.0]]");
    let dy_arg = dy.to_str().unwrap();

    let (line, out) = ok_eval("sigmoid", "f32", &x, &["--grad-output", dy_arg]);
    assert_eq!(
        line,
        "{\"variant\":\"sigmoid\",\"dtype\":\"f32\",\"output\":[[1.0]],\"grad\":[[2.0611537e-9]]}"
    );
    let grad = values(DType::F32, out.grad.as_ref().unwrap())[0][0];
    // sigma(20) sigma(-20) = 2.0611536139418490e-09.
    // Rounded once from the decimal.
    let exact = parse_value(DType::F32, "2.0611536139418490e-09").unwrap() as f32;
    assert!(ulps_f32(grad, exact) <= 1, "{grad}");

    // y(1 - y) with y rounded to 1 in f32: exactly 0.
    let (line, out) = ok_eval("sigmoid_naive", "f32", &x, &["--grad-output", dy_arg]);
    assert!(line.ends_with(",\"grad\":[[0.0]]}"), "{line}");
    assert_eq!(values(DType::F32, out.grad.as_ref().unwrap())[0][0], 0.0);
}

#[test]
fn softmax_grad_has_the_input_shape() {
    let s = Scratch::new("softmax_grad");
    let x = s.file("x.json", "[[2.0, 1.0, 0.1], [0, 0, 0]]");
    let dy = s.file("dy.json", "[[1, 0, 0], [1, 2, 3]]");
    let (_, out) = ok_eval(
        "stable_wide",
        "f64",
        &x,
        &["--grad-output", dy.to_str().unwrap()],
    );
    let y = values(DType::F64, &out.output);
    let g = values(DType::F64, out.grad.as_ref().unwrap());
    assert_eq!((g.len(), g[0].len()), (2, 3));
    // dx = y * (dy - <y, dy>).
    let want0 = [
        y[0][0] * (1.0 - y[0][0]),
        -y[0][0] * y[0][1],
        -y[0][0] * y[0][2],
    ];
    for (a, b) in g[0].iter().zip(want0) {
        assert!((a - b).abs() <= 1e-15, "{a} vs {b}");
    }
    // Uniform row, dy = [1, 2, 3]: dx = (1/3) (dy - 2) = [-1/3, 0, 1/3].
    let want1 = [-1.0 / 3.0, 0.0, 1.0 / 3.0];
    for (a, b) in g[1].iter().zip(want1) {
        assert!((a - b).abs() <= 1e-16, "{a} vs {b}");
    }
}

#[test]
fn no_backward_is_an_error() {
    let s = Scratch::new("no_backward");
    let x = s.file("x.json", "[[1.0, 2.0]]");
    let dy = s.file("dy.json", "[[1.0, 0.0]]");
    let r = eval(
        "candle_softmax_last_dim",
        "f32",
        &x,
        &["--grad-output", dy.to_str().unwrap()],
    );
    assert_error(&r, &["no backward", "candle_softmax_last_dim"]);
    // Without a gradient it runs.
    let (_, out) = ok_eval("candle_softmax_last_dim", "f32", &x, &[]);
    assert_eq!(out.output[0].len(), 2);
}

#[test]
fn errors_are_one_line_with_exit_code_2() {
    let s = Scratch::new("errors");
    let good = s.file("good.json", "[[1.0, 2.0]]");

    assert_error(
        &eval("nope", "f32", &good, &[]),
        &["unknown variant 'nope'", "stable", "candle_sigmoid"],
    );
    assert_error(
        &eval("stable", "f8", &good, &[]),
        &["unknown dtype 'f8'", "f16, bf16, f32, f64"],
    );

    let ragged = s.file("ragged.json", "[[1, 2], [3, 4], [5]]");
    assert_error(
        &eval("stable", "f32", &ragged, &[]),
        &["ragged.json", "row 2", "1 elements", "row 0 has 2"],
    );
    let empty_row = s.file("empty_row.json", "[[1], []]");
    assert_error(
        &eval("stable", "f32", &empty_row, &[]),
        &["empty_row.json", "row 1", "empty"],
    );
    let no_rows = s.file("no_rows.json", "[]");
    assert_error(
        &eval("stable", "f32", &no_rows, &[]),
        &["no_rows.json", "empty"],
    );
    let malformed = s.file("malformed.json", "[[1, 2],\n [3 4]]");
    assert_error(
        &eval("stable", "f32", &malformed, &[]),
        &["malformed.json:2:5: ", "expected"],
    );
    let truncated = s.file("truncated.json", "[[1, 2]");
    assert_error(
        &eval("stable", "f32", &truncated, &[]),
        &["truncated.json:1:"],
    );
    let boolean = s.file("bool.json", "[[1, true]]");
    assert_error(
        &eval("stable", "f32", &boolean, &[]),
        &["bool.json", "row 0, element 1 (0-based)", "true"],
    );
    let foo = s.file("foo.json", "[[1, 2], [3, \"foo\"]]");
    assert_error(
        &eval("stable", "f32", &foo, &[]),
        &["foo.json", "row 1, element 1 (0-based)", "\"foo\""],
    );
    let nested = s.file("nested.json", "[[1, [2,\n 3]]]");
    assert_error(
        &eval("stable", "f32", &nested, &[]),
        &["nested.json", "row 0, element 1 (0-based)", "array"],
    );
    let flat = s.file("flat.json", "[1, 2]");
    assert_error(
        &eval("stable", "f32", &flat, &[]),
        &["flat.json", "row 0 (0-based)", "expected an array"],
    );
    let missing = s.dir.join("missing.json");
    assert_error(
        &eval("stable", "f32", &missing, &[]),
        &["missing.json", "cannot read"],
    );

    let wrong_shape = s.file("dy_shape.json", "[[1.0, 2.0, 3.0]]");
    assert_error(
        &eval(
            "stable",
            "f32",
            &good,
            &["--grad-output", wrong_shape.to_str().unwrap()],
        ),
        &["dy_shape.json", "shape mismatch", "good.json"],
    );
    let bad_dy = s.file("dy_bad.json", "[[1.0, null]]");
    assert_error(
        &eval(
            "stable",
            "f32",
            &good,
            &["--grad-output", bad_dy.to_str().unwrap()],
        ),
        &["dy_bad.json", "row 0, element 1 (0-based)", "null"],
    );

    for t in ["0", "-1", "inf", "nan"] {
        assert_error(
            &eval("stable", "f32", &good, &["--temperature", t]),
            &["temperature must be finite and > 0"],
        );
    }
    assert_error(
        &eval("sigmoid", "f32", &good, &["--temperature", "2"]),
        &["sigmoid", "takes no temperature"],
    );
    // Temperature 1 is allowed everywhere.
    ok_eval("sigmoid", "f32", &good, &["--temperature", "1"]);

    // clap's own usage errors also exit 2 with nothing on stdout.
    let r = run(&["eval", "--variant", "stable"]);
    assert_eq!(r.code, 2);
    assert_eq!(r.stdout, "");
}

#[test]
fn temperature_scales_the_logits() {
    let s = Scratch::new("temperature_scales");
    let x = s.file("x.json", "[[4.0, 2.0, 0.2]]");
    let scaled = s.file("scaled.json", "[[2.0, 1.0, 0.1]]");
    let (_, hot) = ok_eval("stable_wide", "f64", &x, &["--temperature", "2"]);
    let (_, plain) = ok_eval("stable_wide", "f64", &scaled, &[]);
    assert_eq!(
        values(DType::F64, &hot.output),
        values(DType::F64, &plain.output)
    );
}

#[test]
fn non_finite_inputs() {
    let s = Scratch::new("non_finite");
    let one_inf = s.file("one_inf.json", "[[\"inf\", 0, 1]]");
    let (_, out) = ok_eval("stable", "f32", &one_inf, &[]);
    assert_eq!(values(DType::F32, &out.output), vec![vec![1.0, 0.0, 0.0]]);

    let all_neg = s.file("all_neg.json", "[[\"-inf\", \"-inf\"]]");
    let (line, _) = ok_eval("stable", "f32", &all_neg, &[]);
    assert!(line.ends_with("\"output\":[[\"nan\",\"nan\"]]}"), "{line}");

    let masked = s.file("masked.json", "[[\"-inf\", 0]]");
    let (_, out) = ok_eval("stable", "f32", &masked, &[]);
    assert_eq!(values(DType::F32, &out.output), vec![vec![0.0, 1.0]]);

    let nan = s.file("nan.json", "[[\"nan\", 0], [1, 1]]");
    let (line, _) = ok_eval("stable", "bf16", &nan, &[]);
    assert!(
        line.ends_with("\"output\":[[\"nan\",\"nan\"],[0.5,0.5]]}"),
        "{line}"
    );

    // log-softmax of a masked entry is -inf.
    let (line, _) = ok_eval("log_softmax", "f64", &masked, &[]);
    assert!(line.ends_with("\"output\":[[\"-inf\",0.0]]}"), "{line}");
}

const ALL_IDS: [&str; 29] = [
    "naive",
    "stable",
    "stable_wide",
    "online",
    "stable_pairwise",
    "stable_blocked",
    "stable_compensated",
    "log_softmax",
    "log_softmax_log",
    "log_of_softmax",
    "sigmoid",
    "sigmoid_naive",
    "hard_sigmoid",
    "candle_softmax_last_dim",
    "candle_softmax",
    "candle_log_softmax",
    "candle_sigmoid",
    "sharded_softmax",
    "sharded_log_softmax",
    "gumbel_softmax",
    "gumbel_softmax_hard",
    "sparsemax",
    "sparsemax_linear",
    "entmax15",
    "stable_simd",
    "online_simd",
    "two_pass",
    "log_softmax_simd",
    "sigmoid_simd",
];

#[test]
fn list_table_and_json() {
    let r = run(&["list"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        header,
        [
            "id",
            "family",
            "function",
            "dtypes",
            "backward",
            "temperature",
            "accumulation",
            "description"
        ]
    );
    assert_eq!(lines.len(), ALL_IDS.len() + 1);
    for id in ALL_IDS {
        let row = lines[1..]
            .iter()
            .find(|l| l.split_whitespace().next() == Some(id))
            .unwrap_or_else(|| panic!("{id} not listed"));
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cells[3], "f16,bf16,f32,f64", "{row}");
        let backward = if id == "candle_softmax_last_dim" {
            "no"
        } else {
            "yes"
        };
        assert_eq!(cells[4], backward, "{row}");
    }
    let sigmoid = lines.iter().find(|l| l.starts_with("sigmoid ")).unwrap();
    assert_eq!(sigmoid.split_whitespace().nth(5), Some("no"));

    let r = run(&["list", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Keys in column order.
    assert!(
        r.stdout.starts_with(
            "[{\"id\":\"naive\",\"family\":\"naive\",\"function\":\"softmax\",\
             \"dtypes\":[\"f16\",\"bf16\",\"f32\",\"f64\"],\"backward\":true,\
             \"temperature\":true,\"accumulation\":\"storage dtype\",\"description\":"
        ),
        "{}",
        r.stdout
    );
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), ALL_IDS.len());
    let ids: Vec<&str> = arr.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ALL_IDS);
    let last_dim = arr
        .iter()
        .find(|e| e["id"] == "candle_softmax_last_dim")
        .unwrap();
    assert_eq!(last_dim["backward"], serde_json::Value::Bool(false));
    assert_eq!(last_dim["temperature"], serde_json::Value::Bool(true));
    assert_eq!(
        last_dim["dtypes"],
        serde_json::json!(["f16", "bf16", "f32", "f64"])
    );
    assert_eq!(last_dim["family"], "candle");
    assert_eq!(arr[0]["accumulation"], "storage dtype");
    let keys: Vec<&String> = last_dim.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 8);
}

#[test]
fn list_rows_from_the_library() {
    let rows = softmax_lab_cli::list::list_rows(&softmax_lab_variants::registry());
    let ids: Vec<&str> = rows.iter().map(|r| r.id).collect();
    assert_eq!(ids, ALL_IDS);
    let table = softmax_lab_cli::list::format_table(&rows);
    assert_eq!(table, run(&["list"]).stdout);
}

// ---------------------------------------------------------------------------------
// Issue 18: bad input is located, bounded and never aborts or escapes --out.

/// A valid accuracy scenario whose line `line` (1-based) is replaced.
fn scenario_with(line: usize, replacement: &str) -> String {
    const BASE: &str = "name = \"t\"\nkind = \"accuracy\"\nvariants = [\"stable\"]\n\
        dtypes = [\"f32\"]\nseed = 1\nn = [8]\nrows = 2\n\n[[generators]]\ndist = \"normal\"\n";
    BASE.lines()
        .enumerate()
        .map(|(i, l)| if i + 1 == line { replacement } else { l })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

const THROUGHPUT: &str = "name = \"tp\"\nkind = \"throughput\"\nvariants = [\"stable\"]\n\
    dtypes = [\"f32\"]\nseed = 1\nn = [64]\n\n[[generators]]\ndist = \"normal\"\n\n\
    [throughput]\nthreads = [1, 100000]\n";

#[test]
fn validate_prints_the_peak_memory_and_refuses_sizes_that_do_not_fit() {
    let s = Scratch::new("sizes");
    let ok = s.file("ok.toml", &scenario_with(0, ""));
    let r = run(&["validate", ok.to_str().unwrap_or_default()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("1 points (1 quick), peak memory ~64.0 MiB (64.0 MiB quick)"),
        "{}",
        r.stdout
    );
    // n = 1e12 (issue 18: validated, then SIGABRT in run): refused at the value.
    let big_n = s.file("big_n.toml", &scenario_with(6, "n = [8, 1000000000000]"));
    let big_n_arg = big_n.to_str().unwrap_or_default();
    let out = s.dir.join("out");
    for args in [
        vec!["validate", big_n_arg],
        vec!["run", big_n_arg, "--out", out.to_str().unwrap_or_default()],
    ] {
        assert_error(
            &run(&args),
            &["big_n.toml:6:9: ", "`n` makes the run need about", "TiB"],
        );
    }
    assert!(!out.exists(), "run wrote before failing");
    let big_rows = s.file("big_rows.toml", &scenario_with(7, "rows = 1000000000000"));
    assert_error(
        &run(&["validate", big_rows.to_str().unwrap_or_default()]),
        &["big_rows.toml:7:8: ", "`rows`"],
    );
    // --max-memory replaces the machine's figure, both ways.
    let ok_arg = ok.to_str().unwrap_or_default();
    assert_error(
        &run(&["validate", ok_arg, "--max-memory", "1M"]),
        &["ok.toml:", "more than the 1.0 MiB it may use"],
    );
    assert_eq!(run(&["validate", ok_arg, "--max-memory", "1G"]).code, 0);
    // An argument error is clap's (usage lines follow), still exit 2.
    let r = run(&["validate", ok_arg, "--max-memory", "lots"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("invalid size 'lots'"), "{}", r.stderr);
    // A thread count beyond the cap (issue 18: 100000 spawned ~6,600 threads).
    let threads = s.file("threads.toml", THROUGHPUT);
    assert_error(
        &run(&["validate", threads.to_str().unwrap_or_default()]),
        &["threads.toml:12:15: ", "must be <= 256", "100000"],
    );
    let fine = s.file("fine.toml", &THROUGHPUT.replace("100000", "256"));
    assert_eq!(
        run(&["validate", fine.to_str().unwrap_or_default()]).code,
        0
    );
}

#[test]
fn report_refuses_names_that_would_leave_out() {
    let s = Scratch::new("pwned");
    let results = s.dir.join("a/b/results");
    std::fs::create_dir_all(&results).unwrap_or_else(|e| panic!("{e}"));
    let json = r#"{"schema_version": 2, "scenario": {"name": "../../pwned", "kind": "overflow"},
        "machine": {"cpu_model": "x", "cores": 1, "os": "x", "rustc": "x", "git_commit": "x",
        "git_dirty": false, "date": "x"}, "elapsed_s": 1.0, "tables": [], "variants": [],
        "files": [], "generation": "g"}"#;
    std::fs::write(results.join("evil.json"), json).unwrap_or_else(|e| panic!("{e}"));
    let out = s.dir.join("a/b/out");
    let r = run(&[
        "report",
        "--results",
        results.to_str().unwrap_or_default(),
        "--out",
        out.to_str().unwrap_or_default(),
    ]);
    assert_error(&r, &["evil.json", "scenario.name", "../../pwned"]);
    assert!(!out.exists());
}

#[test]
fn temperatures_the_arithmetic_cannot_use_are_refused_with_the_limit() {
    let s = Scratch::new("temperature");
    let x = s.file("x.json", "[[1.0, 2.0, 3.0]]");
    // Issue 18: T = 1e-320 gave all NaN in f32; stable_simd in f16 at 1e-40 gave zeros.
    assert_error(
        &eval("stable", "f32", &x, &["--temperature", "1e-320"]),
        &["--temperature", "computes in f32", "must be >= 2.93"],
    );
    assert_error(
        &eval("stable_simd", "f16", &x, &["--temperature", "1e-40"]),
        &["computes in f32", "must be >= 2.93"],
    );
    assert_error(
        &eval("naive", "f16", &x, &["--temperature", "1e-5"]),
        &["computes in f16", "must be >= 1.5"],
    );
    assert_eq!(
        eval("stable", "f32", &x, &["--temperature", "1e-38"]).code,
        0
    );
    assert_eq!(eval("naive", "f16", &x, &["--temperature", "1e-4"]).code, 0);
    let toml = s.file(
        "t.toml",
        &(scenario_with(0, "") + "\n[sweep.temperature]\nvalues = [1.0, 1e-320]\n"),
    );
    assert_error(
        &run(&["validate", toml.to_str().unwrap_or_default()]),
        &["t.toml:13:16: ", "temperature 1e-320", "must be >="],
    );
}

#[test]
fn messages_are_located_single_and_bounded() {
    let s = Scratch::new("messages");
    // eval structural errors give line:column.
    let ragged = s.file("ragged.json", "[[1, 2],\n [3, 4],\n  [5]]");
    assert_error(
        &eval("stable", "f32", &ragged, &[]),
        &["ragged.json:3:3: ragged rows"],
    );
    let boolean = s.file("bool.json", "[[1,\n  true]]");
    assert_error(
        &eval("stable", "f32", &boolean, &[]),
        &["bool.json:2:3: row 0, element 1"],
    );
    // Non-UTF-8 and UTF-16 scenario files: the byte's line:column.
    let mut latin1 = b"# caf\xE9\n".to_vec();
    latin1.extend_from_slice(scenario_with(0, "").as_bytes());
    let latin1_path = s.dir.join("latin1.toml");
    std::fs::write(&latin1_path, &latin1).unwrap_or_else(|e| panic!("{e}"));
    assert_error(
        &run(&["validate", latin1_path.to_str().unwrap_or_default()]),
        &["latin1.toml:1:6: ", "byte 0xE9", "UTF-8"],
    );
    let mut utf16 = vec![0xFF, 0xFE];
    for u in "kind = \"accuracy\"\n".encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    let utf16_path = s.dir.join("utf16.toml");
    std::fs::write(&utf16_path, &utf16).unwrap_or_else(|e| panic!("{e}"));
    assert_error(
        &run(&["validate", utf16_path.to_str().unwrap_or_default()]),
        &["utf16.toml:1:1: ", "UTF-16", "save it as UTF-8"],
    );
    // `rows = ` at the end of the file: a message, not an empty one.
    let cut = s.file("cut.toml", "kind = \"accuracy\"\nrows = ");
    let r = run(&["validate", cut.to_str().unwrap_or_default()]);
    assert_error(&r, &["cut.toml:2:", "expected a value"]);
    assert!(!r.stderr.trim_end().ends_with(':'), "{}", r.stderr);
    // An OS error is printed once.
    let missing = s.dir.join("missing");
    let r = run(&["report", "--results", missing.to_str().unwrap_or_default()]);
    assert_error(&r, &["missing: cannot read: "]);
    assert_eq!(r.stderr.matches("os error").count(), 1, "{}", r.stderr);
    // Oversized files are refused before they are read (sparse files: no disk used).
    let huge = s.dir.join("huge.toml");
    let f = std::fs::File::create(&huge).unwrap_or_else(|e| panic!("{e}"));
    f.set_len(50 << 20).unwrap_or_else(|e| panic!("{e}"));
    assert_error(
        &run(&["validate", huge.to_str().unwrap_or_default()]),
        &["huge.toml:1:1: ", "52428800 bytes", "at most 1048576"],
    );
    let huge_json = s.dir.join("huge.json");
    let f = std::fs::File::create(&huge_json).unwrap_or_else(|e| panic!("{e}"));
    f.set_len(65 << 20).unwrap_or_else(|e| panic!("{e}"));
    assert_error(
        &eval("stable", "f32", &huge_json, &[]),
        &["huge.json: the file is 68157440 bytes", "at most 67108864"],
    );
}
