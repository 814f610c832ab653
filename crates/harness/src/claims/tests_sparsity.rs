//! Synthetic tests of the sparsity and temperature rules (C13–C15), and the
//! measurements behind the defects they pin (ties at T → 0, amplification as a
//! ratio, attribution of a dense map to its variant).

use super::sparsity::{
    decide_c13, decide_c14, decide_c15, C13Row, C14Measure, C15Measure, RelaxedSample, SparseMap,
};
use super::tests_cost::{run_claim, scratch_dir};
use super::*;

fn c13_row(dtype: DType, scale: f64, zero: f64, rounded: f64) -> C13Row {
    C13Row {
        dtype,
        scale,
        softmax_zero: zero,
        rounded_zero: rounded,
        sparsemax_zero: 0.95,
    }
}

#[test]
fn c13_every_verdict() {
    let none = vec![
        c13_row(DType::F32, 1.0, 0.0, 0.0),
        c13_row(DType::F32, 100.0, 0.0, 0.0),
    ];
    assert_eq!(decide_c13(&none).0, Verdict::Holds);
    let underflow = vec![
        c13_row(DType::F32, 1.0, 0.0, 0.0),
        c13_row(DType::F32, 100.0, 0.4, 0.38),
    ];
    let (v, e) = decide_c13(&underflow);
    assert_eq!(v, Verdict::HoldsWithCaveats);
    // Both fractions are printed: the zeros and the exact values rounding to 0.
    assert!(
        e.contains(
            "f32 from scale 100 (40.0% of outputs; exact values rounding to 0 in f32: 38.0%)"
        ),
        "{e}"
    );
    assert!(!e.contains("round to 0 there too"), "{e}");
    let at_one = vec![c13_row(DType::F16, 1.0, 0.01, 0.0)];
    assert_eq!(decide_c13(&at_one).0, Verdict::DoesNotHold);
}

fn c14_measure() -> C14Measure {
    C14Measure {
        t_low: 0.01,
        t_high: 100.0,
        max_low: 1.0,
        max_low_dtypes: (1.0, 1.0),
        entropy_low: 1e-18,
        entropy_high: 0.9999,
        monotone: true,
        max_at_one: 0.363,
        n: 10,
        tie_max_low: 0.5,
        tie_max_low_dtypes: (0.5, 0.5),
        pairs: 100,
        amplified: 70,
        by_scale: vec![(0.1, 50, 20), (1.0, 50, 50)],
    }
}

#[test]
fn c14_every_verdict() {
    let m = c14_measure();
    let (v, e) = decide_c14(&m);
    // Tied maxima end at 1/2 each, and not every ratio is amplified: caveats.
    assert_eq!(v, Verdict::HoldsWithCaveats, "{e}");
    assert!(
        e.contains(
            "with the two largest logits tied, the largest probability at T = 0.010 is 0.500000"
        ),
        "{e}"
    );
    assert!(
        e.contains("70 of 100 pairs") && e.contains("20 of 50 at scale 0.10"),
        "{e}"
    );
    let ideal = C14Measure {
        tie_max_low: 1.0,
        tie_max_low_dtypes: (1.0, 1.0),
        amplified: 100,
        ..m.clone()
    };
    assert_eq!(decide_c14(&ideal).0, Verdict::Holds);
    let not_one_hot = C14Measure {
        max_low_dtypes: (0.5, 1.0),
        ..m.clone()
    };
    assert_eq!(decide_c14(&not_one_hot).0, Verdict::DoesNotHold);
    let not_uniform = C14Measure {
        entropy_high: 0.9,
        ..m.clone()
    };
    assert_eq!(decide_c14(&not_uniform).0, Verdict::DoesNotHold);
    let no_amplification = C14Measure { amplified: 0, ..m };
    assert_eq!(decide_c14(&no_amplification).0, Verdict::DoesNotHold);
}

#[test]
fn c14_ties_are_not_one_hot_and_small_logits_are_not_amplified() {
    let f = run_claim(c14, &scratch_dir("c14"));
    assert_eq!(f.verdict, Verdict::HoldsWithCaveats, "{}", f.evidence);
    let t = &f.tables[0];
    let (l, d, mx, sec) = (
        t.column("logits").unwrap_or(usize::MAX),
        t.column("dtype").unwrap_or(usize::MAX),
        t.column("max_prob").unwrap_or(usize::MAX),
        t.column("second_prob").unwrap_or(usize::MAX),
    );
    let tied: Vec<(f64, f64)> = t
        .rows
        .iter()
        .filter(|r| r[l] == Value::Text("tied".into()))
        .map(|r| {
            (
                r[mx].as_f64().unwrap_or(0.0),
                r[sec].as_f64().unwrap_or(0.0),
            )
        })
        .collect();
    // The exact row and the four dtypes: two entries of 1/2 at T = 0.01.
    assert_eq!(tied.len(), 5);
    for (a, b) in &tied {
        assert!((a - 0.5).abs() < 1e-3 && (b - 0.5).abs() < 1e-3, "{a} {b}");
    }
    assert!(t
        .rows
        .iter()
        .any(|r| r[l] == Value::Text("tied".into()) && r[d] == Value::Text("exact".into())));
    // Ratios: at scale 0.1 most positive pairs have p_i/p_j < x_i/x_j (e^{x_i − x_j}
    // stays near 1 while the logits' ratio does not); at scale 10 every pair is
    // amplified (e^d > 1 + d ≥ x_i/x_j once x_j ≥ 1).
    let r = &f.tables[1];
    let frac = r.column("amplified_fraction").unwrap_or(usize::MAX);
    let fr: Vec<f64> = r
        .rows
        .iter()
        .map(|x| x[frac].as_f64().unwrap_or(f64::NAN))
        .collect();
    assert_eq!(fr.len(), 3);
    assert!(fr[0] < 0.5, "{fr:?}");
    assert!(fr[2] > 0.9, "{fr:?}");
}

fn map(id: &str, zeros: bool, dense: bool) -> SparseMap {
    SparseMap {
        id: id.into(),
        zeros_from_scale_one: zeros,
        support_at_one: 3.0,
        support_small: if dense { 100.0 } else { 80.0 },
        dense_small: dense,
    }
}

fn relaxed(t: f64, mean_max: f64) -> RelaxedSample {
    RelaxedSample {
        temperature: t,
        mean_max,
        grad_finite: 1.0,
        grad_norm: 0.3,
    }
}

fn c15_measure() -> C15Measure {
    C15Measure {
        n: 100,
        small_scale: 0.01,
        maps: vec![map("sparsemax", true, false), map("entmax15", true, true)],
        samples: 4000,
        classes: 6,
        chi2: 4.0,
        p_value: 0.55,
        max_dev: 0.01,
        relaxed: vec![relaxed(0.1, 0.96), relaxed(1.0, 0.95)],
    }
}

#[test]
fn c15_every_verdict_and_each_finding_names_its_variant() {
    let m = c15_measure();
    let (v, e) = decide_c15(&m);
    assert_eq!(v, Verdict::HoldsWithCaveats);
    assert!(e.contains("entmax15: exact zeros at every scale ≥ 1 in every dtype: yes, support 3.00 of 100 at scale 1, 100 at scale 0.010 (dense)"), "{e}");
    assert!(e.contains("sparsemax: exact zeros at every scale ≥ 1 in every dtype: yes, support 3.00 of 100 at scale 1, 80.0 at scale 0.010 (still sparse)"), "{e}");
    assert!(e.contains("finite gradients 100%"), "{e}");
    let ideal = C15Measure {
        maps: vec![map("sparsemax", true, false)],
        ..m.clone()
    };
    assert_eq!(decide_c15(&ideal).0, Verdict::Holds);
    let far = C15Measure {
        relaxed: vec![relaxed(0.1, 0.96), relaxed(1.0, 0.6)],
        ..ideal.clone()
    };
    assert_eq!(decide_c15(&far).0, Verdict::HoldsWithCaveats);
    let dense_map = C15Measure {
        maps: vec![map("sparsemax", false, true)],
        ..ideal.clone()
    };
    assert_eq!(decide_c15(&dense_map).0, Verdict::DoesNotHold);
    let biased = C15Measure {
        p_value: 1e-4,
        ..ideal.clone()
    };
    assert_eq!(decide_c15(&biased).0, Verdict::DoesNotHold);
    let mut no_grad = ideal;
    no_grad.relaxed[0].grad_finite = 0.5;
    assert_eq!(decide_c15(&no_grad).0, Verdict::DoesNotHold);
}

#[test]
fn c15_attributes_density_at_small_scale_to_its_variant() {
    let f = run_claim(c15, &scratch_dir("c15"));
    let t = &f.tables[0];
    let (v, s, z) = (
        t.column("variant").unwrap_or(usize::MAX),
        t.column("scale").unwrap_or(usize::MAX),
        t.column("exact_zero_fraction").unwrap_or(usize::MAX),
    );
    let dense_at_small = |id: &str| {
        t.rows.iter().any(|r| {
            r[v] == Value::Text(id.into())
                && r[s].as_f64() == Some(0.01)
                && r[z].as_f64() == Some(0.0)
        })
    };
    // entmax15 is dense at scale 0.01 (its support threshold falls below every
    // entry); sparsemax keeps exact zeros there.
    assert!(dense_at_small("entmax15"));
    assert!(!dense_at_small("sparsemax"));
    assert!(f.evidence.contains("entmax15: "), "{}", f.evidence);
    assert!(f.evidence.contains("(dense)"), "{}", f.evidence);
}
