//! Fuzz-style property tests of the two parsers that read user files: the scenario
//! parser (every shipped scenario, mutated) and the `eval` input parser (example
//! inputs, mutated). Every case must end in a value or in an error located at a
//! line and column inside the text with a non-empty message; a panic fails the
//! test and an abort kills it. Seeds are fixed, so a failure reproduces.
//!
//! `cargo test` runs a bounded number of cases; the long form runs for
//! `FUZZ_SECONDS` (default 600) seconds: `just fuzz`, or
//! `FUZZ_SECONDS=600 cargo test --release -p softmax-lab-cli --test fuzz -- --ignored --nocapture`.

use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use softmax_lab_cli::eval::parse_matrix_within;
use softmax_lab_core::{DType, Registry};
use softmax_lab_harness::limits::Limits;
use softmax_lab_harness::scenario::{decode, parse_with_limits};

/// Pieces of text a mutation may insert: the syntax of both formats, sizes and
/// numbers at the edges, bytes that are not UTF-8.
const TOKENS: [&[u8]; 40] = [
    b"=",
    b"[",
    b"]",
    b"{",
    b"}",
    b",",
    b"\"",
    b"'",
    b"\n",
    b" ",
    b"#",
    b".",
    b"-",
    b"[[generators]]\n",
    b"[quick]\n",
    b"[throughput]\n",
    b"[sweep.temperature]\n",
    b"values = [",
    b"n = [",
    b"rows = ",
    b"threads = [",
    b"dist = \"",
    b"kind = \"",
    b"0",
    b"1",
    b"-1",
    b"1e12",
    b"1e308",
    b"1e-320",
    b"9223372036854775807",
    b"nan",
    b"inf",
    b"\"inf\"",
    b"\"-inf\"",
    b"true",
    b"null",
    "\u{e9}".as_bytes(),
    b"\xFF",
    b"\xC3",
    b"\x00",
];

/// Apply 1 to 4 random mutations to `bytes`.
fn mutate(bytes: &[u8], rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut b = bytes.to_vec();
    for _ in 0..rng.gen_range(1..=4) {
        let at = rng.gen_range(0..=b.len());
        match rng.gen_range(0..6) {
            0 if !b.is_empty() => {
                let i = at.min(b.len() - 1);
                b[i] = rng.gen();
            }
            1 => {
                let t = TOKENS[rng.gen_range(0..TOKENS.len())];
                b.splice(at..at, t.iter().copied());
            }
            2 => {
                let end = (at + rng.gen_range(1..16)).min(b.len());
                b.drain(at..end);
            }
            3 => {
                let end = (at + rng.gen_range(1..64)).min(b.len());
                let piece: Vec<u8> = b[at..end].to_vec();
                let to = rng.gen_range(0..=b.len());
                b.splice(to..to, piece);
            }
            4 => b.truncate(at),
            _ => {
                // Replace a number's digits with another number.
                let t = [&b"1e12"[..], b"0", b"-5", b"100000", b"1e-320", b"2.5"];
                let t = t[rng.gen_range(0..t.len())];
                if let Some(p) = b[at..].iter().position(u8::is_ascii_digit) {
                    let s = at + p;
                    let e = b[s..]
                        .iter()
                        .position(|c| !c.is_ascii_digit())
                        .map_or(b.len(), |q| s + q);
                    b.splice(s..e, t.iter().copied());
                }
            }
        }
    }
    b
}

/// 1 + the number of line breaks: the last line a position may name.
fn lines(text: &str) -> usize {
    text.matches('\n').count() + 1
}

/// The shipped scenario files, as (path, bytes).
fn shipped() -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "{files:?}");
    files
        .into_iter()
        .map(|p| {
            let b = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, b)
        })
        .collect()
}

/// Example `eval` inputs (the README's and the shapes the tests use).
const EVAL_INPUTS: [&str; 5] = [
    "[[2.0, 1.0, 0.1]]",
    "[[1.0, 0.0, 0.0]]",
    "[[\"inf\", 0, 1],\n [\"-inf\", \"nan\", 2e0]]",
    "[[1000, 1001, 1002], [-1e-30, 5e-324, 65504], [0.1, 0.2, 0.3]]",
    " [\n  [1.00048828125, -3.5e38],\n  [7, 8]\n ]\n",
];

/// One mutated scenario: a value, or an error located inside the text.
fn scenario_case(path: &Path, bytes: &[u8], registry: &Registry, limits: &Limits) {
    let located = |line: usize, column: usize, message: &str, text_lines: usize| {
        assert!(
            line >= 1 && line <= text_lines && column >= 1 && !message.trim().is_empty(),
            "{}:{line}:{column}: {message:?} for input {:?}",
            path.display(),
            String::from_utf8_lossy(bytes)
        );
    };
    let text = match decode(path, bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = bytes.iter().filter(|&&b| b == b'\n').count() + 1;
            located(e.line, e.column, &e.message, valid);
            return;
        }
    };
    if let Err(e) = parse_with_limits(path, &text, registry, limits) {
        located(e.line, e.column, &e.message, lines(&text));
        let shown = e.to_string();
        let prefix = format!("{}:{}:{}: ", path.display(), e.line, e.column);
        assert!(shown.starts_with(&prefix), "{shown}");
    }
}

/// One mutated `eval` input: a matrix of the right size, or a located error.
fn eval_case(bytes: &[u8], dtype: DType) {
    let text = String::from_utf8_lossy(bytes);
    match parse_matrix_within(&text, dtype, Some(1 << 30)) {
        Ok(m) => assert_eq!(m.values.len(), m.rows * m.n, "{text:?}"),
        Err(e) => {
            let message = e.kind.to_string();
            assert!(
                e.line >= 1 && e.line <= lines(&text) && e.column >= 1 && !message.is_empty(),
                "{e:?} for {text:?}"
            );
            assert!(
                !e.to_string().contains('\n'),
                "a message is one line: {e} for {text:?}"
            );
        }
    }
}

/// Run `cases` mutated scenarios and eval inputs from `seed` (None: until
/// `seconds` have passed); returns the number of cases run.
fn fuzz(seed: u64, cases: Option<usize>, seconds: f64) -> usize {
    let registry = softmax_lab_cli::registry();
    // A fixed limit: the outcome must not depend on the machine's free memory.
    let limits = Limits {
        max_memory_bytes: Some(4 << 30),
    };
    let files = shipped();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let start = std::time::Instant::now();
    let mut done = 0;
    loop {
        match cases {
            Some(c) if done >= c => break,
            None if start.elapsed().as_secs_f64() >= seconds => break,
            _ => {}
        }
        let (path, bytes) = &files[rng.gen_range(0..files.len())];
        let m = mutate(bytes, &mut rng);
        scenario_case(path, &m, &registry, &limits);
        let input = EVAL_INPUTS[rng.gen_range(0..EVAL_INPUTS.len())].as_bytes();
        let m = mutate(input, &mut rng);
        eval_case(&m, DType::ALL[rng.gen_range(0..DType::ALL.len())]);
        done += 1;
    }
    done
}

#[test]
fn mutated_scenarios_and_eval_inputs_fail_cleanly() {
    assert_eq!(fuzz(18, Some(1500), 0.0), 1500);
}

#[test]
fn the_unmutated_seeds_parse() {
    let registry = softmax_lab_cli::registry();
    let limits = Limits {
        max_memory_bytes: Some(4 << 30),
    };
    for (path, bytes) in shipped() {
        let text = decode(&path, &bytes).unwrap_or_else(|e| panic!("{e}"));
        parse_with_limits(&path, &text, &registry, &limits).unwrap_or_else(|e| panic!("{e}"));
    }
    for input in EVAL_INPUTS {
        parse_matrix_within(input, DType::F32, Some(1 << 30)).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
#[ignore = "long: FUZZ_SECONDS (default 600) of fuzzing; run with `just fuzz`"]
fn fuzz_for_minutes() {
    let seconds: f64 = std::env::var("FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600.0);
    let seed: u64 = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let done = fuzz(seed, None, seconds);
    println!("fuzz: {done} scenario and {done} eval cases in {seconds} s (seed {seed})");
}
