//! Tests of the rules of C01–C03, C09 and C10: synthetic numbers for every
//! verdict each rule can print, and the measured defects pinned.

use super::numerics::*;
use super::tests::{run_one, scratch};
use super::*;

fn r01(variant: &str, framework: bool, dtype: DType, dev: f64, zeros: f64, out: usize) -> C01Row {
    C01Row {
        variant: variant.into(),
        framework,
        dtype,
        scale: 1.0,
        dev,
        dev_ulps: dev / ulp_of_one(dtype),
        not_one: if dev > 0.0 { 1.0 } else { 0.0 },
        zeros,
        ones: 0.0,
        out,
    }
}

fn decide01(rows: &[C01Row]) -> (Verdict, String) {
    decide_c01(rows).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn c01_rule_every_verdict() {
    let exact = r01("stable", false, DType::F32, 0.0, 0.0, 0);
    let fw_exact = r01("candle_softmax", true, DType::F32, 0.0, 0.0, 0);
    let (v, e) = decide01(&[exact.clone(), fw_exact.clone()]);
    assert_eq!(v, Verdict::Holds, "{e}");
    // Rounding: a caveat.
    let rounded = r01("stable", false, DType::F32, 3.0e-7, 0.0, 0);
    let (v, e) = decide01(&[rounded.clone(), fw_exact.clone()]);
    assert_eq!(v, Verdict::HoldsWithCaveats, "{e}");
    assert!(e.contains("max |Σ−1| = 2.52 ulps of 1"), "{e}");
    // Exact zeros from underflow: a caveat too.
    let zeros = r01("stable", false, DType::F16, 0.0, 0.25, 0);
    assert_eq!(decide01(&[zeros]).0, Verdict::HoldsWithCaveats);
    // Our sums exact, the framework's off by 7%: the framework enters the verdict.
    let fw_off = r01("candle_softmax", true, DType::BF16, 0.0716, 0.0, 0);
    let (v, e) = decide01(&[exact.clone(), fw_off]);
    assert_eq!(v, Verdict::HoldsWithCaveats, "{e}");
    assert!(
        e.contains("frameworks: does not hold — candle_softmax is off by up to 0.0716 (bf16"),
        "{e}"
    );
    assert!(e.starts_with("our implementations: holds"), "{e}");
    // Ours off by 2%, or an output outside [0, 1]: does not hold.
    let off = r01("online", false, DType::F32, 0.02, 0.0, 0);
    assert_eq!(decide01(&[off, fw_exact.clone()]).0, Verdict::DoesNotHold);
    let out = r01("stable", false, DType::F32, 0.0, 0.0, 1);
    let (v, e) = decide01(&[out]);
    assert_eq!(v, Verdict::DoesNotHold);
    assert!(e.contains("outputs outside [0,1] or non-finite: 1"), "{e}");
}

#[test]
fn c01_measured_framework_rows_are_judged() {
    let f = run_one(c01, &scratch("c01"));
    let t = &f.tables[0];
    let fw = t.column("framework").unwrap_or(usize::MAX);
    let var = t.column("variant").unwrap_or(usize::MAX);
    for r in &t.rows {
        let candle = matches!(&r[var], Value::Text(v) if v.starts_with("candle"));
        assert_eq!(r[fw], Value::Bool(candle));
    }
    assert!(f.evidence.contains("; frameworks: "), "{}", f.evidence);
    assert_eq!(f.verdict, Verdict::HoldsWithCaveats, "{}", f.evidence);
}

fn r02(not_one: f64, changed: f64) -> C02Row {
    C02Row {
        variant: "sigmoid".into(),
        dtype: DType::F32,
        scale: 1.0,
        classes: 10,
        sum_mean: 5.0,
        sum_ci95: (4.9, 5.1),
        sum_range: (3.0, 7.0),
        not_one,
        changed,
    }
}

#[test]
fn c02_rule_every_verdict() {
    let decide = |rows: &[C02Row]| decide_c02(rows).unwrap_or_else(|e| panic!("{e}"));
    let (v, e) = decide(&[r02(1.0, 0.0)]);
    assert_eq!(v, Verdict::Holds, "{e}");
    assert!(
        e.contains("sum to 5.000 on average (95% CI 4.900–5.100"),
        "{e}"
    );
    assert_eq!(
        decide(&[r02(1.0, 0.0), r02(0.5, 0.0)]).0,
        Verdict::HoldsWithCaveats
    );
    let (v, e) = decide(&[r02(1.0, 0.125)]);
    assert_eq!(v, Verdict::DoesNotHold);
    assert!(e.contains("changed 12.5% of the other outputs"), "{e}");
}

fn r03(dtype: DType, variant: &str, identity: (f64, f64), user: f64) -> C03Row {
    C03Row {
        dtype,
        variant: variant.into(),
        framework: variant.starts_with("candle"),
        points: 100,
        exact_points: 80,
        identity_max: identity.0,
        identity_median: identity.1,
        user_max: user,
        equal: 0.9,
        shift_max: (user - 1.0).max(0.0),
        unexplained_max: 1.0,
        err_softmax: 0.5,
        err_sigmoid: 0.5,
        worst: (-36.25, 50.5),
        flush_at: f64::NAN,
        flush_sigma: f64::NAN,
    }
}

#[test]
fn c03_rule_every_verdict() {
    let ours = r03(DType::F32, "sigmoid", (1.0, 0.0), 1.0);
    let (v, e) = decide_c03(std::slice::from_ref(&ours));
    assert_eq!(v, Verdict::Holds, "{e}");
    // The user's rounding of a − b: a caveat, with the shift it explains.
    let bf16 = r03(DType::BF16, "sigmoid", (1.0, 0.0), 51.0);
    let (v, e) = decide_c03(&[ours.clone(), bf16]);
    assert_eq!(v, Verdict::HoldsWithCaveats, "{e}");
    assert!(e.contains("bf16 51.0 (equal in 90.0%"), "{e}");
    assert!(e.contains("rounding a − b alone moves the exact value by up to f32 0 (1.0 unexplained), bf16 50.0"), "{e}");
    // The framework's sigmoid flushing to 0: a caveat named in the evidence.
    let mut candle = r03(DType::F32, "candle_sigmoid", (2.0e6, 0.0), 2.0e6);
    (candle.flush_at, candle.flush_sigma) = (-88.5, 3.6e-39);
    let (v, e) = decide_c03(&[ours.clone(), candle]);
    assert_eq!(v, Verdict::HoldsWithCaveats, "{e}");
    assert!(
        e.contains("candle_sigmoid f32 differs by up to 2.00e6 ulps on exact differences, returns 0 from a − b = -88.50 down, where σ = 3.60e-39"),
        "{e}"
    );
    // The identity itself failing in the bulk: does not hold.
    let broken = r03(DType::F64, "sigmoid", (40.0, 8.0), 40.0);
    assert_eq!(decide_c03(&[ours, broken]).0, Verdict::DoesNotHold);
}

#[test]
fn c03_measured_separates_the_rounding_and_tests_candle() {
    let f = run_one(c03, &scratch("c03"));
    let t = &f.tables[0];
    let (d, v) = (
        t.column("dtype").unwrap_or(0),
        t.column("sigmoid_variant").unwrap_or(0),
    );
    let at = |dtype: &str, variant: &str, col: &str| {
        let c = t.column(col).unwrap_or(usize::MAX);
        t.rows
            .iter()
            .find(|r| r[d] == Value::Text(dtype.into()) && r[v] == Value::Text(variant.into()))
            .and_then(|r| r[c].as_f64())
            .unwrap_or(f64::NAN)
    };
    for dtype in ["f16", "bf16", "f32", "f64"] {
        // The identity on exact differences: within two ulps for our sigmoid.
        assert!(
            at(dtype, "sigmoid", "identity_max_diff_ulps") <= 2.0,
            "{dtype}"
        );
    }
    // bf16: the user-form difference is the rounding of a − b.
    assert!(at("bf16", "sigmoid", "max_diff_ulps") > 2.0);
    assert!(at("bf16", "sigmoid", "rounding_shift_max_ulps") > 2.0);
    assert!(at("bf16", "sigmoid", "unexplained_max_ulps") <= 2.0);
    // candle's f32 sigmoid flushes to 0 below about −88.7, where σ is subnormal.
    let flush = at("f32", "candle_sigmoid", "flush_to_zero_from");
    assert!((-89.0..=-87.0).contains(&flush), "{flush}");
    assert!(at("f32", "sigmoid", "flush_to_zero_from").is_nan());
    assert_eq!(f.verdict, Verdict::HoldsWithCaveats, "{}", f.evidence);
}

#[test]
fn c09_rule_every_verdict() {
    let exact = [0.6590, 0.2424, 0.09857];
    let (v, e) = decide_c09(exact, &[(DType::F32, exact)]);
    assert_eq!(v, Verdict::DoesNotHold);
    assert!(e.contains("0.06 (exact 0.09857, off by 0.0386"), "{e}");
    let claimed = [0.7, 0.24, 0.06];
    let (v, e) = decide_c09(claimed, &[(DType::F32, claimed)]);
    assert_eq!(v, Verdict::Holds, "{e}");
    let (v, e) = decide_c09(
        claimed,
        &[(DType::F32, claimed), (DType::F16, [0.7, 0.25, 0.06])],
    );
    assert_eq!(v, Verdict::HoldsWithCaveats, "{e}");
    assert!(e.ends_with("inconsistent with the claim: f16"), "{e}");
}

#[test]
fn c10_rule_every_verdict() {
    let exact = [1.9287e-22, 2.0612e-9, 1.0];
    let row = |dtype, computed: [f64; 3], matches| C10Row {
        dtype,
        computed,
        flushed: computed[0] == 0.0,
        matches,
    };
    let (v, e) = decide_c10(exact, &[row(DType::F32, exact, true)]);
    assert_eq!(v, Verdict::Holds, "{e}");
    let (v, e) = decide_c10(
        exact,
        &[
            row(DType::F32, exact, true),
            row(DType::F16, [0.0, 0.0, 1.0], false),
        ],
    );
    assert_eq!(v, Verdict::HoldsWithCaveats);
    assert!(e.contains("entries flushed to 0 in f16"), "{e}");
    let (v, _) = decide_c10([1.9e-22, 2.0612e-9, 1.0], &[row(DType::F32, exact, true)]);
    assert_eq!(v, Verdict::DoesNotHold);
}
