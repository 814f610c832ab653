//! Both kinds on the shipped fixtures: the C example library (built by build.rs)
//! and the fake peer (`sl-fake-peer`), answering correctly and failing in each way
//! the contract names.

use std::path::Path;

use softmax_lab_core::measure::ulp_error;
use softmax_lab_core::reference;
use softmax_lab_core::{
    Buffer, DType, Direction, Function, Options, SourceStatus, Variant, VariantError,
};
use softmax_lab_external::{parse, variant, DeclError, Declaration};

const LIB: &str = env!("SL_EXAMPLE_LIB");
const PEER: &str = env!("CARGO_BIN_EXE_sl-fake-peer");

fn none(_: &str) -> Option<String> {
    None
}

fn decls(text: &str) -> Vec<Declaration> {
    parse(Path::new("decl.toml"), text, &none).unwrap_or_else(|e| panic!("{e}"))
}

fn library(id: &str, function: &str, prefix: Option<&str>, library: &str) -> Declaration {
    let prefix = prefix.map_or(String::new(), |p| format!("prefix = '{p}'\n"));
    let temperature = function != "sigmoid";
    decls(&format!(
        "[[external]]\nid = '{id}'\nfunction = '{function}'\ndtypes = ['f16', 'bf16', 'f32', \
         'f64']\nbackward = true\ntemperature = {temperature}\nkind = 'library'\nlibrary = \
         '{library}'\n{prefix}"
    ))
    .remove(0)
}

fn command(id: &str, mode: &str, timeout_s: f64) -> Declaration {
    decls(&format!(
        "[[external]]\nid = '{id}'\nfunction = 'softmax'\ndtypes = ['f16', 'bf16', 'f32', \
         'f64']\nbackward = true\ntemperature = true\nkind = 'command'\ncommand = ['{PEER}', \
         '{mode}']\ntimeout_s = {timeout_s}\n"
    ))
    .remove(0)
}

/// Rows of 8 over a spread of values (fixed, no randomness needed).
fn rows() -> (Vec<f64>, usize) {
    let x: Vec<f64> = (0..32)
        .map(|i| ((i * 37 % 23) as f64 - 11.0) * 0.7)
        .collect();
    (x, 8)
}

/// The largest error in ulps of `v`'s forward against the reference, in `dtype`.
fn max_forward_ulps(v: &dyn Variant, dtype: DType, t: f64) -> f64 {
    let (x, n) = rows();
    let xb = Buffer::from_f64(dtype, &x);
    let xr = xb.to_f64();
    let mut out = Buffer::zeros(dtype, x.len());
    v.forward(xb.rows(), n, &Options { temperature: t }, out.rows_mut())
        .unwrap_or_else(|e| panic!("{e}"));
    let y = out.to_f64();
    let mut worst: f64 = 0.0;
    for (xr, yr) in xr.chunks(n).zip(y.chunks(n)) {
        let exact = reference::forward(v.info().function, xr, t);
        for (c, e) in yr.iter().zip(exact) {
            worst = worst.max(ulp_error(dtype, *c, e));
        }
    }
    worst
}

/// The largest relative error of `v`'s backward against the reference VJP, in f64.
fn max_backward_rel(v: &dyn Variant, t: f64) -> f64 {
    let (x, n) = rows();
    let dy: Vec<f64> = (0..x.len())
        .map(|i| ((i % 5) as f64 - 2.0) * 0.25)
        .collect();
    let opts = Options { temperature: t };
    let (_, dx) = softmax_lab_core::variant::forward_backward_f64(v, DType::F64, &x, &dy, n, &opts)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut worst: f64 = 0.0;
    for ((xr, gr), dr) in x.chunks(n).zip(dy.chunks(n)).zip(dx.chunks(n)) {
        let exact = reference::vjp(v.info().function, xr, t, gr);
        let scale = exact.iter().map(|e| e.to_f64().abs()).fold(0.0, f64::max);
        for (c, e) in dr.iter().zip(exact) {
            worst = worst.max((c - e.to_f64()).abs() / scale);
        }
    }
    worst
}

fn backend_message(e: VariantError, id: &str) -> String {
    match e {
        VariantError::Backend { variant, message } => {
            assert_eq!(variant, id);
            message
        }
        other => panic!("expected a backend error of '{id}', got {other:?}"),
    }
}

fn forward_err(v: &dyn Variant) -> VariantError {
    let x = Buffer::from_f64(DType::F32, &[0.0, 1.0, 2.0, 3.0]);
    let mut out = Buffer::zeros(DType::F32, 4);
    match v.forward(x.rows(), 4, &Options::default(), out.rows_mut()) {
        Err(e) => e,
        Ok(()) => panic!("{}: forward succeeded, expected an error", v.info().id),
    }
}

// ---- the library kind -------------------------------------------------------

#[test]
fn the_c_example_was_built() {
    // build.rs leaves the path empty when no C compiler could build the example.
    assert!(
        !LIB.is_empty(),
        "no C compiler built fixtures/sl_example.c: see the build warning"
    );
    assert!(Path::new(LIB).is_file(), "{LIB}");
}

#[test]
fn the_c_example_matches_the_reference_in_every_dtype() {
    // Textbook float kernels on rows of 8 with |x/T| up to 5: in f32/f64 a few
    // ulps from the sum (n·u) plus the rounded 1/T the row is multiplied by (an
    // error of |x/T|·u that exp carries into the output: measured up to 9.2 ulps
    // in f64); half types computed in float and rounded once: within 1 ulp.
    for (function, prefix) in [("softmax", None), ("log_softmax", None), ("sigmoid", None)] {
        let v = variant(&library("c_example", function, prefix, LIB));
        let t = if function == "sigmoid" { 1.0 } else { 1.5 };
        for (dtype, limit) in [
            (DType::F64, 16.0),
            (DType::F32, 16.0),
            (DType::F16, 1.0),
            (DType::BF16, 1.0),
        ] {
            let ulps = max_forward_ulps(&*v, dtype, t);
            assert!(
                ulps <= limit,
                "{function} {}: {ulps} ulps, expected <= {limit}",
                dtype.name()
            );
        }
        let rel = max_backward_rel(&*v, t);
        assert!(rel < 1e-13, "{function} backward: relative error {rel}");
    }
}

#[test]
fn a_library_of_another_function_is_far_from_the_reference() {
    // The comparison above can fail: sigmoid's symbols declared as softmax.
    let v = variant(&library("c_wrong", "softmax", Some("sl_sigmoid"), LIB));
    let ulps = max_forward_ulps(&*v, DType::F32, 1.0);
    assert!(ulps > 1e3, "{ulps} ulps");
}

#[test]
fn the_library_reports_its_version_once_loaded() {
    let v = variant(&library("c_example", "softmax", None, LIB));
    let s = v.source().unwrap_or_default();
    assert_eq!(
        (s.kind.as_str(), &s.status),
        ("library", &SourceStatus::NotStarted)
    );
    max_forward_ulps(&*v, DType::F32, 1.0);
    let s = v.source().unwrap_or_default();
    assert_eq!(s.status, SourceStatus::Ok);
    assert_eq!(s.name, "sl_example 1.0");
    assert_eq!(s.declared, LIB);
}

#[test]
fn a_missing_symbol_names_the_variant_the_library_and_the_symbol() {
    let v = variant(&library("c_missing", "softmax", Some("sl_entmax"), LIB));
    let m = backend_message(forward_err(&*v), "c_missing");
    assert!(m.contains("lacks symbol `sl_entmax_f16`"), "{m}");
    assert!(m.contains(LIB), "{m}");
    assert!(matches!(
        v.source().map(|s| s.status),
        Some(SourceStatus::Failed(_))
    ));
}

#[test]
fn a_missing_library_names_the_variant_and_the_path_as_declared() {
    let v = variant(&library(
        "c_nolib",
        "softmax",
        None,
        "no_such_dir/libnothing.so",
    ));
    let m = backend_message(forward_err(&*v), "c_nolib");
    assert!(
        m.contains("cannot load library 'no_such_dir/libnothing.so'"),
        "{m}"
    );
    // The error is recorded: the second call answers the same.
    assert_eq!(backend_message(forward_err(&*v), "c_nolib"), m);
}

// ---- the command kind -------------------------------------------------------

#[test]
fn the_fake_peer_matches_the_reference_and_reports_itself() {
    let v = variant(&command("fake_softmax", "ok", 30.0));
    // The peer computes in f64 and rounds once: within 1 ulp in the narrower
    // dtypes; in f64 itself the textbook formula's few ulps (measured 3.5).
    for dtype in DType::ALL {
        let limit = if dtype == DType::F64 { 8.0 } else { 1.0 };
        let ulps = max_forward_ulps(&*v, dtype, 2.0);
        assert!(ulps <= limit, "{}: {ulps} ulps", dtype.name());
    }
    let rel = max_backward_rel(&*v, 2.0);
    assert!(rel < 1e-13, "backward: relative error {rel}");
    let s = v.source().unwrap_or_default();
    assert_eq!(s.kind, "command");
    assert_eq!(s.name, "fake peer");
    assert_eq!(s.versions, vec![("fake".to_string(), "0.1".to_string())]);
    assert_eq!(s.status, SourceStatus::Ok);
}

#[test]
fn the_fake_peer_times_itself() {
    let v = variant(&command("fake_softmax", "ok", 30.0));
    let x = Buffer::from_f64(DType::F32, &rows().0);
    for direction in Direction::ALL {
        let s = v
            .self_timed(direction, x.rows(), x.rows(), 8, &Options::default(), 5, 3)
            .unwrap_or_else(|| panic!("a command variant times itself"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.len(), 5);
        assert!(s.iter().all(|&t| t.is_finite() && t >= 0.0), "{s:?}");
    }
    // A library variant leaves timing to the runner.
    let lib = variant(&library("c_example", "softmax", None, LIB));
    assert!(lib
        .self_timed(
            Direction::Forward,
            x.rows(),
            x.rows(),
            8,
            &Options::default(),
            5,
            3
        )
        .is_none());
}

/// Each failure mode: the error names the variant and what was expected, and
/// every later call answers the same error (no restart).
fn assert_fails(mode: &str, expected: &str) {
    let id = format!("fake_{}", mode.replace('-', "_"));
    let v = variant(&command(&id, mode, 30.0));
    let m = backend_message(forward_err(&*v), &id);
    assert!(m.contains(expected), "{mode}: {m}");
    assert_eq!(
        backend_message(forward_err(&*v), &id),
        m,
        "{mode}: not recorded"
    );
    match v.source().map(|s| s.status) {
        Some(SourceStatus::Failed(f)) => assert_eq!(f, m),
        other => panic!("{mode}: status {other:?}"),
    }
}

#[test]
fn a_program_that_exits_at_hello_is_an_error() {
    assert_fails(
        "exit-at-hello",
        "exited (exit status: 3) before replying to `hello`",
    );
}

#[test]
fn a_program_that_exits_mid_call_is_an_error() {
    assert_fails(
        "exit-mid-call",
        "exited (exit status: 4) before replying to `forward`",
    );
}

#[test]
fn a_malformed_reply_is_an_error() {
    assert_fails("malformed", "is not a JSON object on one line");
}

#[test]
fn a_reply_without_bytes_is_an_error() {
    assert_fails("missing-bytes", "lacks `bytes`");
}

#[test]
fn a_short_reply_is_an_error() {
    assert_fails("short", "announced 16 bytes and sent 8");
}

#[test]
fn a_reply_of_the_wrong_length_is_an_error() {
    assert_fails("wrong-length", "has 20 bytes, expected 16");
}

#[test]
fn ok_false_is_an_error() {
    assert_fails("not-ok", "answered ok:false: fake failure");
}

#[test]
fn a_program_that_hangs_is_killed_at_its_timeout() {
    let v = variant(&command("fake_hang", "hang", 0.5));
    let m = backend_message(forward_err(&*v), "fake_hang");
    assert!(
        m.contains("no reply to `forward` within timeout_s = 0.5 s"),
        "{m}"
    );
    assert_eq!(backend_message(forward_err(&*v), "fake_hang"), m);
}

#[test]
fn a_program_that_cannot_start_is_an_error() {
    let mut d = command("fake_absent", "ok", 30.0);
    d.access = softmax_lab_external::Access::Command {
        command: vec!["no_such_dir/sl-no-such-program".into()],
        timeout_s: 30.0,
    };
    let v = variant(&d);
    let m = backend_message(forward_err(&*v), "fake_absent");
    assert!(
        m.contains("cannot start `no_such_dir/sl-no-such-program`"),
        "{m}"
    );
}

#[test]
fn an_unavailable_package_is_not_a_failure() {
    let v = variant(&command("fake_unavailable", "unavailable", 30.0));
    assert_eq!(
        forward_err(&*v),
        VariantError::Unavailable {
            variant: "fake_unavailable".into(),
            message: "fakepkg is not installed".into()
        }
    );
    assert_eq!(
        v.source().map(|s| s.status),
        Some(SourceStatus::Unavailable("fakepkg is not installed".into()))
    );
}

// ---- declarations -----------------------------------------------------------

fn decl_err(text: &str) -> DeclError {
    let taken = |id: &str| (id == "stable").then(|| format!("id '{id}' is a built-in variant"));
    match parse(Path::new("d.toml"), text, &taken) {
        Err(e) => e,
        Ok(d) => panic!("parsed: {d:?}"),
    }
}

const GOOD: &str = "[[external]]\nid = 'mine'\nfunction = 'softmax'\ndtypes = ['f64', 'f32']\n\
                    kind = 'library'\nlibrary = 'lib/libmine.so'\n";

#[test]
fn a_declaration_resolves_defaults_and_paths() {
    let d = parse(Path::new("scen/ext/d.toml"), GOOD, &none).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].function, Function::Softmax);
    assert_eq!(d[0].dtypes, vec![DType::F32, DType::F64]);
    assert!(!d[0].backward && !d[0].temperature);
    assert_eq!(
        d[0].access,
        softmax_lab_external::Access::Library {
            library: "lib/libmine.so".into(),
            prefix: "sl_softmax".into()
        }
    );
    assert_eq!(d[0].base_dir(), Path::new("scen/ext"));
    let c = decls(&GOOD.replace(
        "kind = 'library'\nlibrary = 'lib/libmine.so'",
        "kind = 'command'\ncommand = ['python3', 'p.py']",
    ));
    assert_eq!(
        c[0].access,
        softmax_lab_external::Access::Command {
            command: vec!["python3".into(), "p.py".into()],
            timeout_s: 60.0
        }
    );
}

#[test]
fn declaration_errors_are_located_and_say_what_was_expected() {
    let cases: [(&str, &str, usize, usize, &str); 9] = [
        (
            "unknown field",
            "library = 'lib/libmine.so'\n",
            7,
            1,
            "unknown field `colour`",
        ),
        (
            "function",
            "function = 'softmax'",
            3,
            12,
            "unknown function 'tanh': expected one of softmax, log_softmax, sigmoid",
        ),
        ("dtype", "'f64', 'f32'", 4, 18, "unknown dtype 'f8'"),
        (
            "kind",
            "kind = 'library'",
            5,
            8,
            "unknown kind 'dll': expected one of command, library",
        ),
        (
            "other kind",
            "library = 'lib/libmine.so'\n",
            7,
            13,
            "`timeout_s` is a field of kind = \"command\"",
        ),
        (
            "built-in",
            "id = 'mine'",
            2,
            6,
            "id 'stable' is a built-in variant",
        ),
        ("bad id", "id = 'mine'", 2, 6, "invalid id 'Mine'"),
        ("type", "dtypes = ['f64', 'f32']", 4, 10, "invalid type"),
        (
            "sigmoid temperature",
            "function = 'softmax'",
            3,
            1,
            "sigmoid takes none",
        ),
    ];
    for (what, from, line, column, expected) in cases {
        let to = match what {
            "unknown field" => "library = 'lib/libmine.so'\ncolour = 1\n",
            "function" => "function = 'tanh'",
            "dtype" => "'f64', 'f8'",
            "kind" => "kind = 'dll'",
            "other kind" => "library = 'lib/libmine.so'\ntimeout_s = 3\n",
            "built-in" => "id = 'stable'",
            "bad id" => "id = 'Mine'",
            "type" => "dtypes = 'f64'",
            _ => "function = 'sigmoid'\ntemperature = true",
        };
        let e = decl_err(&GOOD.replace(from, to));
        assert!(e.message.contains(expected), "{what}: {e}");
        if what != "sigmoid temperature" {
            assert_eq!((e.line, e.column), (line, column), "{what}: {e}");
        }
        assert!(e.to_string().starts_with("d.toml:"), "{what}: {e}");
    }
    let twice = format!("{GOOD}{GOOD}");
    let e = decl_err(&twice);
    assert_eq!(
        (e.line, e.message.as_str()),
        (8, "id 'mine' is declared twice in this file")
    );
    let e = decl_err(&GOOD.replace(
        "kind = 'library'\nlibrary = 'lib/libmine.so'",
        "kind = 'command'\ncommand = ['p']\ntimeout_s = 0",
    ));
    assert!(
        e.message
            .contains("`timeout_s` must be a number of seconds > 0"),
        "{e}"
    );
}
