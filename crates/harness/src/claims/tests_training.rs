//! Synthetic tests of the training claims' rules (C11, C12, C19): numbers that
//! make each rule hold, fail, and end inconclusive, and the measurement that
//! feeds them (pairing, exclusion of runs that learned nothing, censoring).

use super::training::fixtures::{measure_from, record};
use super::training::{classify, decide, Compared, Reach, TrainingMeasure};
use super::*;
use crate::results::records::TrainingRecord;

/// A measured comparison with the given p-values and side.
fn compared(metric: &str, claim_side: bool, p: f64, p_eq: f64) -> Compared {
    Compared {
        dataset: "breast_cancer".into(),
        model: "logreg".into(),
        head_a: "softmax2_ce".into(),
        head_b: "sigmoid1_bce".into(),
        standardised_a: true,
        standardised_b: true,
        metric: metric.into(),
        test: "paired t",
        seeds: 10,
        excluded: 0,
        value_a: 0.95,
        value_b: 0.93,
        effect_name: "mean a − b",
        effect: if claim_side { 0.02 } else { -0.02 },
        effect_low: 0.01,
        effect_high: 0.03,
        claim_side,
        p_value: p,
        margin: 0.01,
        p_equivalence: p_eq,
    }
}

fn measured(c: Vec<Compared>) -> TrainingMeasure {
    TrainingMeasure {
        compared: c,
        majority_known: true,
        reach: None,
    }
}

#[test]
fn every_verdict_of_the_training_rule_can_be_reached() {
    // Two comparisons: α/m = 0.025.
    let both_for = measured(vec![
        compared("final_accuracy", true, 1e-4, 0.9),
        compared("mean_accuracy_over_epochs", true, 0.01, 0.9),
    ]);
    assert_eq!(decide(&both_for).0, Verdict::Holds);
    let one_for = measured(vec![
        compared("final_accuracy", true, 1e-4, 0.9),
        compared("mean_accuracy_over_epochs", false, 0.5, 0.9),
    ]);
    assert_eq!(decide(&one_for).0, Verdict::HoldsWithCaveats);
    // Nothing significant, nothing equivalent: a null result, not a refutation.
    let null = measured(vec![
        compared("final_accuracy", true, 0.2, 0.3),
        compared("mean_accuracy_over_epochs", false, 0.5, 0.1),
    ]);
    let (v, e) = decide(&null);
    assert_eq!(v, Verdict::Inconclusive, "{e}");
    assert!(e.contains("0 equivalent") && e.contains("2 neither"), "{e}");
    // Equivalence shown (TOST p below α/m), nothing for the claim: does not hold,
    // and the margin is in the evidence.
    let equivalent = measured(vec![
        compared("final_accuracy", true, 0.2, 0.001),
        compared("mean_accuracy_over_epochs", false, 0.5, 0.1),
    ]);
    let (v, e) = decide(&equivalent);
    assert_eq!(v, Verdict::DoesNotHold, "{e}");
    assert!(e.contains("±0.010 final_accuracy"), "{e}");
    assert!(e.contains("1 equivalent"), "{e}");
    // Significant against the claim: does not hold.
    let against = measured(vec![compared("final_accuracy", false, 1e-5, 0.9)]);
    assert_eq!(decide(&against).0, Verdict::DoesNotHold);
    // One each way: inconclusive.
    let split = measured(vec![
        compared("final_accuracy", true, 1e-5, 0.9),
        compared("mean_accuracy_over_epochs", false, 1e-5, 0.9),
    ]);
    assert_eq!(decide(&split).0, Verdict::Inconclusive);
    // Nothing compared: not tested.
    assert_eq!(decide(&measured(Vec::new())).0, Verdict::NotTested);
    // Bonferroni: p = 0.03 is significant alone (α = 0.05) but not among two.
    let c = compared("final_accuracy", true, 0.03, 0.9);
    assert_eq!(classify(&c, 0.05), "claim");
    assert_eq!(classify(&c, 0.025), "neither");
}

#[test]
fn evidence_prints_the_effect_with_its_interval_and_the_exclusions() {
    let mut c = compared("final_accuracy", true, 1e-4, 0.9);
    c.excluded = 3;
    c.seeds = 7;
    let (_, e) = decide(&measured(vec![c]));
    assert!(e.contains("mean a − b 0.0200 [0.0100, 0.0300]"), "{e}");
    assert!(e.contains("3 in all, at most 3 of 10"), "{e}");
    let mut m = measured(vec![compared("final_accuracy", true, 1e-4, 0.9)]);
    m.majority_known = false;
    assert!(decide(&m).1.contains("not in these results"));
    m.reach = Some(Reach {
        reached_a: 9,
        runs_a: 10,
        reached_b: 4,
        runs_b: 10,
    });
    let e = decide(&m).1;
    assert!(
        e.contains("arm a 9 of 10") && e.contains("arm b 4 of 10"),
        "{e}"
    );
}

/// Runs of `epochs` epochs whose accuracy climbs linearly to `last` (per seed).
#[allow(clippy::too_many_arguments)]
fn curve(
    out: &mut Vec<TrainingRecord>,
    dataset: &str,
    head: &str,
    standardised: bool,
    seed: usize,
    epochs: usize,
    start: f64,
    last: f64,
    majority: f64,
) {
    for e in 0..=epochs {
        let acc = start + (last - start) * e as f64 / epochs as f64;
        out.push(record(
            dataset,
            "logreg",
            head,
            standardised,
            seed,
            e,
            acc,
            1.0 / (1.0 + e as f64),
            majority,
        ));
    }
}

#[test]
fn seed_pairs_where_neither_arm_learned_are_left_out_and_counted() {
    let mut recs = Vec::new();
    for seed in 0..8 {
        // Seeds 0–2: both heads stay at the majority rate 0.6; the others learn,
        // softmax a steady 0.02 ahead.
        let (a, b) = if seed < 3 {
            (0.6, 0.6)
        } else {
            (0.92 + 0.001 * seed as f64, 0.90 + 0.001 * seed as f64)
        };
        curve(
            &mut recs,
            "breast_cancer",
            "softmax2_ce",
            true,
            seed,
            4,
            0.5,
            a,
            0.6,
        );
        curve(
            &mut recs,
            "breast_cancer",
            "sigmoid1_bce",
            true,
            seed,
            4,
            0.5,
            b,
            0.6,
        );
    }
    let m = measure_from(recs, "C12", None);
    let fa = m
        .compared
        .iter()
        .find(|c| c.metric == "final_accuracy")
        .map(|c| (c.seeds, c.excluded, c.effect, c.p_value))
        .unwrap_or_default();
    assert_eq!((fa.0, fa.1), (5, 3));
    assert!((fa.2 - 0.02).abs() < 1e-9, "{fa:?}");
    assert!(fa.3 < 1e-6, "{fa:?}");
    // Four metrics, one setting: the spread, the rises, final and mean accuracy.
    assert_eq!(m.compared.len(), 4);
    let (v, e) = decide(&m);
    assert!(e.contains("3 in all"), "{e}");
    assert_ne!(v, Verdict::NotTested);
}

#[test]
fn c12_reads_every_binary_data_set() {
    let mut recs = Vec::new();
    for d in ["breast_cancer", "digits_odd_even"] {
        for seed in 0..5 {
            let x = 0.9 + 0.01 * seed as f64;
            curve(&mut recs, d, "softmax2_ce", false, seed, 3, 0.5, x, 0.55);
            curve(&mut recs, d, "sigmoid1_bce", false, seed, 3, 0.5, x, 0.55);
        }
    }
    let m = measure_from(recs, "C12", None);
    let sets: std::collections::BTreeSet<&str> =
        m.compared.iter().map(|c| c.dataset.as_str()).collect();
    assert_eq!(sets.len(), 2);
    // Identical heads: equal accuracies, equivalent within the margin; the
    // claim fails by equivalence, not by a null result.
    let fa = m
        .compared
        .iter()
        .find(|c| c.metric == "final_accuracy")
        .map(|c| c.p_equivalence)
        .unwrap_or(f64::NAN);
    assert_eq!(fa, 0.0);
    assert_eq!(decide(&m).0, Verdict::DoesNotHold);
}

#[test]
fn c19_treats_runs_that_never_reach_the_target_as_censored() {
    let mut recs = Vec::new();
    for seed in 0..10 {
        // Standardised: climbs to 0.9 at epoch 6, reaching the target 0.9 × 0.9 =
        // 0.81 there. Raw: climbs to 0.6 only: never reaches it (censored).
        let last = 0.9 + 0.002 * seed as f64;
        curve(
            &mut recs,
            "iris",
            "sigmoid_ovr_bce",
            true,
            seed,
            6,
            0.3,
            last,
            0.33,
        );
        curve(
            &mut recs,
            "iris",
            "sigmoid_ovr_bce",
            false,
            seed,
            6,
            0.3,
            0.6,
            0.33,
        );
    }
    let m = measure_from(recs, "C19", Some(2));
    let r = m.reach.unwrap_or_default();
    assert_eq!(
        (r.reached_a, r.runs_a, r.reached_b, r.runs_b),
        (10, 10, 0, 10)
    );
    let t = m
        .compared
        .iter()
        .find(|c| c.metric == "epochs_to_target_accuracy")
        .cloned();
    let t = t.unwrap_or_else(|| panic!("no epochs-to-target comparison"));
    // Ten wins of ten: sign test p = 2/1024; the win fraction is 1 with its
    // Wilson interval; the censored arm's "epochs" never enter a mean.
    assert!((t.p_value - 2.0 / 1024.0).abs() < 1e-12);
    assert_eq!((t.effect, t.value_a, t.value_b), (1.0, 1.0, 0.0));
    assert!(
        t.effect_low > 0.7 && t.effect_low < 0.75,
        "{}",
        t.effect_low
    );
    let (v, e) = decide(&m);
    assert_eq!(v, Verdict::Holds, "{e}");
    assert!(e.contains("arm b 0 of 10"), "{e}");
    // The reverse: raw inputs ahead everywhere: does not hold.
    let mut recs = Vec::new();
    for seed in 0..10 {
        curve(
            &mut recs,
            "iris",
            "sigmoid_ovr_bce",
            true,
            seed,
            6,
            0.3,
            0.6,
            0.33,
        );
        curve(
            &mut recs,
            "iris",
            "sigmoid_ovr_bce",
            false,
            seed,
            6,
            0.3,
            0.9 + 0.002 * seed as f64,
            0.33,
        );
    }
    assert_eq!(
        decide(&measure_from(recs, "C19", Some(2))).0,
        Verdict::DoesNotHold
    );
}

#[test]
fn c11_compares_sigmoid_sums_on_single_label_sets_only() {
    let mut recs = Vec::new();
    for seed in 0..6 {
        for (d, above) in [("digits", 0.8), ("multilabel", 0.9)] {
            let mut s = record(d, "logreg", "sigmoid_ovr_bce", true, seed, 1, 0.9, 0.1, 0.1);
            s.prob_sum_above_one_fraction = above + 0.01 * seed as f64;
            let mut f = record(d, "logreg", "softmax_ce", true, seed, 1, 0.9, 0.1, 0.1);
            f.prob_sum_above_one_fraction = 0.0;
            recs.extend([s, f]);
        }
    }
    let m = measure_from(recs, "C11", None);
    assert_eq!(m.compared.len(), 1);
    assert_eq!(m.compared[0].dataset, "digits");
    assert_eq!(decide(&m).0, Verdict::Holds);
}

#[test]
fn training_claims_read_the_training_table() {
    let dir = super::tests_cost::scratch_dir("training_b");
    let f = super::tests_cost::run_claim(c12, &dir);
    assert_eq!(f.verdict, Verdict::NotTested);
    assert!(f.evidence.contains("training.json"), "{}", f.evidence);
    let mut recs = Vec::new();
    for seed in 0..6 {
        let x = 0.9 + 0.01 * seed as f64;
        curve(
            &mut recs,
            "breast_cancer",
            "softmax2_ce",
            true,
            seed,
            3,
            0.5,
            x + 0.03,
            0.6,
        );
        curve(
            &mut recs,
            "breast_cancer",
            "sigmoid1_bce",
            true,
            seed,
            3,
            0.5,
            x,
            0.6,
        );
    }
    let t = Table::from_records("training", &recs);
    super::tests_cost::write_results_file(&dir, "training.json", "training", vec![t]);
    let f = super::tests_cost::run_claim(c12, &dir);
    assert_eq!(f.figure, "plots/training_loss_curves.svg");
    let t = &f.tables[0];
    // The columns that tell rows apart are kept.
    for col in [
        "dataset",
        "model",
        "metric",
        "head_a",
        "standardised_a",
        "head_b",
        "standardised_b",
    ] {
        assert!(t.column(col).is_some(), "{col}");
    }
    assert_eq!(t.rows.len(), 4);
    // Softmax 0.03 ahead on every seed: accuracy metrics for the claim.
    assert_eq!(f.verdict, Verdict::HoldsWithCaveats, "{}", f.evidence);
}
