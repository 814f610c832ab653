//! Tests of the rules of C07, C08 and C20: synthetic numbers for every verdict
//! each rule can print, and the measured defects pinned.

use super::stability::*;
use super::tests::{column_f64, run_one, scratch};
use super::*;

fn example(dtype: DType, rounded: [f64; 3], output: [f64; 3], naive_nonfinite: f64) -> C07Row {
    C07Row {
        input: "[1000, 1001, 1002]",
        dtype,
        n: 3,
        scale: 1.0,
        rounded: rounded.to_vec(),
        output: output.to_vec(),
        naive_nonfinite,
        stable_nonfinite: 0.0,
        normwise: 1e-8,
        bound: 5e-7,
        ulps: 0.4,
        err_over_kappa_u: 0.3,
        kappa: 2.0,
    }
}

fn normal(dtype: DType, scale: f64, ulps: f64, err_over_kappa_u: f64) -> C07Row {
    C07Row {
        input: "normal",
        dtype,
        n: 100,
        scale,
        rounded: Vec::new(),
        output: Vec::new(),
        naive_nonfinite: if scale >= 100.0 { 0.2 } else { 0.0 },
        stable_nonfinite: 0.0,
        normwise: 3e-7,
        bound: 8e-6,
        ulps,
        err_over_kappa_u,
        kappa: 30.0 * scale,
    }
}

#[test]
fn c07_rule_every_verdict() {
    let ex32 = example(
        DType::F32,
        [1000.0, 1001.0, 1002.0],
        [0.09003057, 0.24472848, 0.66524094],
        1.0,
    );
    let ex_bf16 = example(
        DType::BF16,
        [1000.0, 1000.0, 1000.0],
        [0.333984375, 0.333984375, 0.333984375],
        1.0,
    );
    let (v, e) = decide_c07(&[
        ex32.clone(),
        ex_bf16.clone(),
        normal(DType::F32, 100.0, 1.1, 0.5),
    ]);
    assert_eq!(v, Verdict::Holds, "{e}");
    // Each dtype is shown on its own rounded input.
    assert!(
        e.contains("f32 [0.09003, 0.2447, 0.6652] on [1000, 1001, 1002] (0.40 ulps)"),
        "{e}"
    );
    assert!(
        e.contains("bf16 [0.3340, 0.3340, 0.3340] on [1000, 1000, 1000]"),
        "{e}"
    );
    assert!(
        e.contains("naive turns non-finite f32 from scale 100"),
        "{e}"
    );
    // Componentwise errors of tens of ulps, explained by the conditioning: a caveat.
    let (v, e) = decide_c07(&[ex32.clone(), normal(DType::F32, 10.0, 33.0, 1.2)]);
    assert_eq!(v, Verdict::HoldsWithCaveats, "{e}");
    assert!(
        e.contains("componentwise up to 33.0 ulps (normal f32, scale 10)"),
        "{e}"
    );
    // An example that does not overflow in some dtype: a caveat.
    let no_overflow = example(
        DType::F64,
        [1000.0, 1001.0, 1002.0],
        [0.09, 0.245, 0.665],
        0.0,
    );
    assert_eq!(
        decide_c07(&[ex32.clone(), no_overflow]).0,
        Verdict::HoldsWithCaveats
    );
    // More error than the conditioning explains (> 2n κu), or non-finite: does not hold.
    let (v, _) = decide_c07(&[ex32.clone(), normal(DType::F64, 100.0, 5000.0, 250.0)]);
    assert_eq!(v, Verdict::DoesNotHold);
    let mut nonfinite = ex32;
    nonfinite.stable_nonfinite = 1.0;
    let (v, e) = decide_c07(&[nonfinite]);
    assert_eq!(v, Verdict::DoesNotHold);
    assert!(e.contains("no: it has non-finite outputs"), "{e}");
}

#[test]
fn c07_measured_scores_each_dtype_on_its_rounded_input() {
    let f = run_one(c07, &scratch("c07_rounded"));
    // bf16 rounds the example to three equal logits: a third each, exactly what
    // the exact softmax of that input is.
    assert!(
        f.evidence
            .contains("bf16 [0.3340, 0.3340, 0.3340] on [1000, 1000, 1000]")
            || f.evidence
                .contains("bf16 [0.3333, 0.3333, 0.3333] on [1000, 1000, 1000]"),
        "{}",
        f.evidence
    );
    assert!(
        f.evidence
            .contains("f32 [0.09003, 0.2447, 0.6652] on [1000, 1001, 1002]"),
        "{}",
        f.evidence
    );
    let t = &f.tables[0];
    let k = column_f64(t, "stable_max_err_over_kappa_u");
    assert!(
        k.iter().all(|&v| v.is_finite() && v <= 2.0 * 100.0),
        "{k:?}"
    );
    // Tens of ulps componentwise somewhere: the verdict says so.
    let ulps = column_f64(t, "stable_max_ulp_error");
    assert!(ulps.iter().any(|&u| u > 4.0), "{ulps:?}");
    assert_eq!(f.verdict, Verdict::HoldsWithCaveats, "{}", f.evidence);
}

fn r08(
    variant: &str,
    dtype: DType,
    input: &'static str,
    max: f64,
    dominant: f64,
    nonfinite: f64,
) -> C08Row {
    C08Row {
        variant: variant.into(),
        dtype,
        input,
        scale: if input == "normal" { 10.0 } else { 1.0 },
        max_ulps: max,
        median_ulps: 0.25,
        dominant_ulps: dominant,
        nonfinite,
    }
}

#[test]
fn c08_rule_every_verdict() {
    let trio = |d: DType, los_max: f64, plain_dom: f64| {
        vec![
            r08("log_softmax", d, "normal", 1.0, 0.5, 0.0),
            r08("log_softmax_log", d, "normal", 1.0, 0.5, 0.0),
            r08(
                "log_of_softmax",
                d,
                "normal",
                los_max,
                0.5,
                if los_max > 1e3 { 0.5 } else { 0.0 },
            ),
            r08("log_softmax", d, "one logit ahead", 0.5, 0.5, 0.0),
            r08(
                "log_softmax_log",
                d,
                "one logit ahead",
                plain_dom,
                plain_dom,
                0.0,
            ),
            r08("log_of_softmax", d, "one logit ahead", 1.7e7, 1.7e7, 0.0),
        ]
    };
    // Worse than the ln1p form everywhere, the plain form keeping the dominant entry.
    let (v, e) =
        decide_c08(&[trio(DType::F32, 4295.0, 0.5), trio(DType::F64, 3.2e4, 0.5)].concat());
    assert_eq!(v, Verdict::Holds, "{e}");
    assert!(e.contains("f32: log_of_softmax 1.70e7 ulps (50.0% −inf; dominant entry 1.70e7), ln1p form 1.00 (dominant 0.500), plain form 1.00 (dominant 0.500), ≥10× worse from scale 10"), "{e}");
    // The plain log-sum-exp form loses the dominant entry as log_of_softmax does.
    let (v, e) = decide_c08(&trio(DType::F32, 4295.0, 1.7e7));
    assert_eq!(v, Verdict::HoldsWithCaveats, "{e}");
    assert!(e.contains("the plain log-sum-exp form loses the dominant entry (≥10× the ln1p form's error there) in f32"), "{e}");
    // log_of_softmax no worse anywhere: does not hold.
    let same = vec![
        r08("log_softmax", DType::F32, "normal", 1.0, 0.5, 0.0),
        r08("log_of_softmax", DType::F32, "normal", 1.5, 0.5, 0.0),
    ];
    assert_eq!(decide_c08(&same).0, Verdict::DoesNotHold);
    // Worse in one dtype of two: a caveat.
    let mixed = [trio(DType::F32, 4295.0, 0.5), same].concat();
    let mixed: Vec<C08Row> = mixed
        .into_iter()
        .map(|mut r| {
            if r.variant == "log_of_softmax" && r.max_ulps == 1.5 {
                r.dtype = DType::F16;
            }
            r
        })
        .collect();
    let mut mixed = mixed;
    mixed.push(r08("log_softmax", DType::F16, "normal", 1.0, 0.5, 0.0));
    assert_eq!(decide_c08(&mixed).0, Verdict::HoldsWithCaveats);
}

#[test]
fn c08_measured_shows_the_dominant_entry_of_both_forms() {
    let f = run_one(c08, &scratch("c08_dominant"));
    let t = &f.tables[0];
    let (var, d, inp) = (
        t.column("variant").unwrap_or(0),
        t.column("dtype").unwrap_or(0),
        t.column("input").unwrap_or(0),
    );
    let dom = column_f64(t, "dominant_max_ulp_error");
    let at = |variant: &str| {
        t.rows
            .iter()
            .position(|r| {
                r[var] == Value::Text(variant.into())
                    && r[d] == Value::Text("f32".into())
                    && r[inp] == Value::Text("one logit ahead".into())
            })
            .map_or(f64::NAN, |k| dom[k])
    };
    // f32, one logit 30 ahead: the exact dominant entry is about −9e-12; the plain
    // form and log_of_softmax round it to 0, millions of ulps off; ln1p keeps it.
    assert!(at("log_softmax") <= 2.0, "{}", at("log_softmax"));
    assert!(at("log_softmax_log") > 1e6, "{}", at("log_softmax_log"));
    assert!(at("log_of_softmax") > 1e6, "{}", at("log_of_softmax"));
    assert_eq!(f.verdict, Verdict::HoldsWithCaveats, "{}", f.evidence);
}

fn r20(scale: f64, normwise: f64, nonfinite: f64, changed: f64) -> C20Row {
    C20Row {
        n: 100,
        scale,
        ulps: 7.0,
        normwise,
        bound: 8.4e-6,
        nonfinite,
        stable_ulps: 7.0,
        changed,
        unrecoverable: changed * 0.64,
        stable_changed: 0.0,
    }
}

#[test]
fn c20_rule_every_verdict() {
    // Numerically safe, the caller's buffer overwritten: a caveat (the hazard apart).
    let (v, e) = decide_c20(&[r20(1.0, 3e-7, 0.0, 1.0), r20(1000.0, 8e-8, 0.0, 1.0)]);
    assert_eq!(v, Verdict::HoldsWithCaveats, "{e}");
    assert!(
        e.contains("at scales 1 and 1000 (f32, rows of 100) its output is within 7.00 ulps"),
        "{e}"
    );
    assert!(
        e.contains("it overwrites 100% of the caller's logits"),
        "{e}"
    );
    // Safe and the buffer left alone: holds.
    assert_eq!(decide_c20(&[r20(1.0, 3e-7, 0.0, 0.0)]).0, Verdict::Holds);
    // Beyond the proven bound, or non-finite: does not hold.
    assert_eq!(
        decide_c20(&[r20(1.0, 1e-4, 0.0, 1.0)]).0,
        Verdict::DoesNotHold
    );
    assert_eq!(
        decide_c20(&[r20(1000.0, 3e-7, 0.01, 0.0)]).0,
        Verdict::DoesNotHold
    );
}
