//! Tests of the rules of C04–C06: synthetic numbers for every verdict each rule
//! can print, and the measured defects pinned.

use super::gradients::*;
use super::tests::{run_one, scratch};
use super::*;

fn r04(dtype: DType, peak: f64, at5: f64, at20: f64) -> C04Row {
    C04Row {
        dtype,
        peak,
        peak_at: 0.0,
        points: vec![
            (-20.0, at20),
            (-5.0, at5),
            (0.0, peak),
            (2.5, 0.0701),
            (5.0, at5),
            (10.0, 4.54e-5),
            (20.0, at20),
            (40.0, 0.0),
        ],
    }
}

#[test]
fn c04_rule_every_verdict() {
    let good = r04(DType::F64, 0.25, 0.00665, 2.06e-9);
    let (v, e) = decide_c04(&[r04(DType::F16, 0.25, 0.0066, 0.0), good.clone()]);
    assert_eq!(v, Verdict::Holds, "{e}");
    assert!(
        e.contains("f16 0.2500 at x = 0, f64 0.2500 at x = 0"),
        "{e}"
    );
    assert!(e.contains("σ'(±5) is at most 2.66% of the peak"), "{e}");
    assert!(e.contains("σ'(20) = 2.06e-9"), "{e}");
    // Not yet saturated at ±5: a caveat.
    let (v, _) = decide_c04(&[r04(DType::F64, 0.25, 0.02, 2.06e-9)]);
    assert_eq!(v, Verdict::HoldsWithCaveats);
    // A peak above 0.25, or no vanishing at ±20: does not hold.
    assert_eq!(
        decide_c04(&[r04(DType::F64, 0.3, 0.0066, 2e-9)]).0,
        Verdict::DoesNotHold
    );
    assert_eq!(
        decide_c04(&[r04(DType::F64, 0.25, 0.0066, 1e-3)]).0,
        Verdict::DoesNotHold
    );
}

fn r05(variant: &str, dtype: DType, gap: f64, ratio: f64, sigmoid_ratio: f64) -> C05Row {
    C05Row {
        variant: variant.into(),
        dtype,
        input: "one logit ahead",
        scale: 1.0,
        gap,
        ratio,
        sigmoid_ratio,
    }
}

#[test]
fn c05_rule_every_verdict() {
    let healthy = |v: &str, d| vec![r05(v, d, 0.0, 1.0, 1.0), r05(v, d, 20.0, 0.5, 8.2e-9)];
    let vanishing = |v: &str, d| {
        vec![
            r05(v, d, 0.0, 1.0, 1.0),
            r05(v, d, 15.0, 1.06e-5, 1.2e-6),
            r05(v, d, 20.0, 7.1e-8, 8.2e-9),
        ]
    };
    // Every variant and dtype vanishes: does not hold, with the onset per pair.
    let rows: Vec<C05Row> = [
        vanishing("stable", DType::F32),
        vanishing("online", DType::F64),
    ]
    .concat();
    let (v, e) = decide_c05(&rows);
    assert_eq!(v, Verdict::DoesNotHold, "{e}");
    assert!(
        e.contains("in 2 of 2 variant–dtype pairs: stable f32 from gap 20 (never on"),
        "{e}"
    );
    assert!(e.contains("falls below 1.0e-6 of σ'(0) from x = 20"), "{e}");
    assert!(e.contains("at gap 20 (online f64) ‖J‖_F is 7.10e-8"), "{e}");
    // Some vanish: a caveat.
    let rows = [
        healthy("stable", DType::F32),
        vanishing("online", DType::F32),
    ]
    .concat();
    assert_eq!(decide_c05(&rows).0, Verdict::HoldsWithCaveats);
    // None vanishes and sigmoid's does: holds.
    let rows = healthy("stable", DType::F64);
    assert_eq!(decide_c05(&rows).0, Verdict::Holds);
    // None vanishes, but neither does sigmoid's: "unlike sigmoid" not shown.
    let rows = vec![
        r05("stable", DType::F64, 0.0, 1.0, 1.0),
        r05("stable", DType::F64, 2.0, 0.9, 0.4),
    ];
    assert_eq!(decide_c05(&rows).0, Verdict::HoldsWithCaveats);
}

#[test]
fn c05_measured_from_the_implementations() {
    let f = run_one(c05, &scratch("c05_impl"));
    let t = &f.tables[0];
    let var = t.column("variant").unwrap_or(usize::MAX);
    let mut variants: Vec<String> = t.rows.iter().map(|r| r[var].to_csv()).collect();
    variants.dedup();
    assert!(variants.len() >= 3, "{variants:?}");
    // The computed ratio is the variant's own: exactly 0 where its backward
    // underflows (f16 at gap 20), where the reference's is 7e-8.
    let (g, d, c) = (
        t.column("gap").unwrap_or(0),
        t.column("dtype").unwrap_or(0),
        t.column("computed_ratio_to_gap_zero").unwrap_or(0),
    );
    let f16_20 = t
        .rows
        .iter()
        .find(|r| r[g].as_f64() == Some(20.0) && r[d] == Value::Text("f16".into()))
        .and_then(|r| r[c].as_f64());
    assert_eq!(f16_20, Some(0.0));
    assert!(
        f.evidence.contains("stable f64 from gap 20"),
        "{}",
        f.evidence
    );
}

fn r06(dtype: DType, scale: f64, fused: f64, chained: f64, fd: f64) -> C06Row {
    C06Row {
        dtype,
        scale,
        fused,
        autograd: f64::NAN,
        chained,
        chained_nonfinite: if chained.is_finite() { 0.0 } else { 0.8 },
        fd,
        fd_tol: 1e-6,
    }
}

#[test]
fn c06_rule_every_verdict() {
    let u = DType::F32.unit_roundoff();
    let per_scale = |chained_at_1000: f64, fd: f64| {
        vec![
            r06(DType::F32, 1.0, u, 1.5 * u, fd),
            r06(DType::F32, 10.0, u, 2.0 * u, fd),
            r06(DType::F32, 100.0, u, 3.0 * u, fd),
            r06(DType::F32, 1000.0, u, chained_at_1000, fd),
        ]
    };
    let (v, e) = decide_c06(&per_scale(f64::INFINITY, 1e-10));
    assert_eq!(v, Verdict::Holds, "{e}");
    assert!(
        e.contains("f32 within tolerance at scale 1, 10, 100 (chained 3.0 u at most, fused 1.0 u), fails from scale 1000 (error inf, 80.0% of entries non-finite"),
        "{e}"
    );
    // The chained parts never fail: "cleaner" not shown.
    let (v, e) = decide_c06(&per_scale(4.0 * u, 1e-10));
    assert_eq!(v, Verdict::HoldsWithCaveats);
    assert!(e.contains("never fails"), "{e}");
    // A fused gradient beyond tolerance: a caveat.
    let mut rows = per_scale(f64::INFINITY, 1e-10);
    rows[0].fused = 100.0 * u;
    assert_eq!(decide_c06(&rows).0, Verdict::HoldsWithCaveats);
    // Finite differences disagree with p − y: does not hold.
    assert_eq!(
        decide_c06(&per_scale(f64::INFINITY, 1e-3)).0,
        Verdict::DoesNotHold
    );
}

#[test]
fn c06_measured_per_scale_with_an_implementations_differences() {
    let f = run_one(c06, &scratch("c06"));
    let t = &f.tables[0];
    let (d, s, fails, fd, tol) = (
        t.column("dtype").unwrap_or(0),
        t.column("scale").unwrap_or(0),
        t.column("separate_fails").unwrap_or(0),
        t.column("finite_difference_max_abs_error").unwrap_or(0),
        t.column("finite_difference_tolerance").unwrap_or(0),
    );
    let f64_rows: Vec<&Vec<Value>> = t
        .rows
        .iter()
        .filter(|r| r[d] == Value::Text("f64".into()))
        .collect();
    // f64: the chained parts equal the fused gradient at scales 1-100 and fail at 1000.
    let failing: Vec<(f64, bool)> = f64_rows
        .iter()
        .map(|r| (r[s].as_f64().unwrap_or(0.0), r[fails] == Value::Bool(true)))
        .collect();
    assert_eq!(
        failing,
        vec![(1.0, false), (10.0, false), (100.0, false), (1000.0, true)]
    );
    // The differences are of the variant's loss: within their tolerance, and not
    // the exact values themselves (nonzero on the moderate rows).
    for r in &t.rows {
        let (e, tl) = (
            r[fd].as_f64().unwrap_or(f64::NAN),
            r[tol].as_f64().unwrap_or(0.0),
        );
        assert!(e <= tl, "{e} vs {tl}");
        if r[s].as_f64() == Some(1.0) {
            assert!(e > 0.0);
        }
    }
    assert!(
        f.evidence
            .contains("f64 within tolerance at scale 1, 10, 100 ("),
        "{}",
        f.evidence
    );
    assert_eq!(f.verdict, Verdict::Holds, "{}", f.evidence);
}
