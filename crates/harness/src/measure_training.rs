//! Training: the study of crate `softmax-lab-training` (heads trained with candle
//! on digits, iris, breast cancer and a generated multi-label set, with and
//! without input standardisation, over several seeds) turned into tables. All
//! figures are on the test split; probabilities are computed in f64 from the
//! f32 logits; definitions of every metric are in `softmax_lab_training::metrics`.
//!
//! Tables, in order (file `<scenario>.csv`, then `<scenario>_<table>.csv`):
//!
//! - `training` ([`TrainingRecord`]): one row per data set × model × head × standardised ×
//!   seed × epoch; epoch 0 is the untrained model (its gradient norms are NaN).
//!   `train_loss` is the head's own loss on the whole training split;
//!   `grad_norm_output` / `grad_norm_first` the mean over the epoch's steps of
//!   ‖∂L/∂(W, b)‖₂ of the output and the first layer (the same layer for
//!   `logreg`); `subset_accuracy` and `true_prob_mae` only on the multi-label set
//!   (NaN elsewhere); `seed` is the seed index (0-based; the scenario seed derives
//!   the actual streams); `majority_accuracy` is what predicting the training
//!   split's majority class scores on the test split (a run at that accuracy
//!   learned nothing; the claims ledger leaves such runs out and counts them).
//! - `reliability` ([`ReliabilityRecord`]): the reliability diagram per
//!   configuration, decisions pooled over seeds at the final epoch; `bin_lo`,
//!   `bin_hi` bound the confidence, `confidence_mean` and `accuracy` are NaN in an
//!   empty bin.
//! - `prob_sums` ([`ProbSumRecord`]): the histogram of the per-row sum of the
//!   head's probabilities (the C11 picture), pooled over seeds at the final epoch;
//!   bins are centred on multiples of the bin width (softmax's sum 1 sits in the
//!   middle of one) and the last bin is open (`bin_hi` = inf).
//! - `comparisons` ([`ComparisonRecord`]): two arms compared over the same seeds
//!   (same splits, initial first layer and batch order). `factor` says what the
//!   arms differ in: `head` (arm a = `head_a`, arm b = `head_b`, and
//!   `standardised_a` = `standardised_b`) or `standardisation` (arm a is
//!   standardised, arm b is not, `head_a` = `head_b`). For each `metric` (one value
//!   per seed and arm), `mean_*` with the 95% Student-t interval, `diff_mean` =
//!   mean(a − b), `t_statistic` and the two-sided `p_value` of the paired t test
//!   (`test` = "paired t"). For `final_log_loss_std` (C12: spread over seeds) the
//!   `mean_*` columns hold the across-seed standard deviation of the final
//!   log-loss with its chi-square interval, `diff_mean` = sd_a − sd_b, and the test
//!   is Pitman–Morgan's for paired variances (t > 0: a varies more). Metric names
//!   and definitions: `softmax_lab_training::Comparison`.
//! - `label_f1` ([`LabelF1Record`]): per-label F1 of the multi-label set at the
//!   final epoch, per seed, with the label's test prevalence.
//!
//! Where the claims are decided: the claims ledger (`claims/training.rs`) reads
//! the per-seed rows of `training`, pairs them over seeds itself — so that seed
//! pairs in which neither arm learned (final accuracy at the majority-class rate)
//! can be left out and counted, and runs that never reach a target can be
//! treated as censored — and tests each difference with its interval and an
//! equivalence test:
//! - C11 (sigmoids on exclusive classes sum above 1): sigmoid_ovr_bce against
//!   softmax_ce on the single-label sets, `prob_sum_above_one_fraction` at the
//!   final epoch; the picture is `prob_sums`.
//! - C12 (2-way softmax more stable than one sigmoid): softmax2_ce against
//!   sigmoid1_bce on every binary set (breast_cancer, digits_odd_even): training
//!   loss rises, spread of the final log-loss, final and mean accuracy.
//! - C19 (standardisation speeds training): standardised against raw inputs for
//!   the sigmoid heads: accuracy at `early_epoch`, mean accuracy over epochs, and
//!   epochs to 90% of the pair's better final accuracy (censored when never
//!   reached). Both arms use the same learning rate.
//!
//! The `comparisons` table stays the study's own summary (plots and reports).

use softmax_lab_training::{Comparison, Config, Spec};

use crate::results::records::{
    ComparisonRecord, LabelF1Record, ProbSumRecord, ReliabilityRecord, TrainingRecord,
};
use crate::results::Table;
use crate::HarnessError;

/// A record's configuration fields, in the order every table but `comparisons`
/// starts with them: scenario, data set, model, head, standardised.
fn config(scenario: &str, c: &Config) -> (String, String, String, String, bool) {
    (
        scenario.to_string(),
        c.dataset.name().to_string(),
        c.model.name().to_string(),
        c.head.name().to_string(),
        c.standardised,
    )
}

fn comparison(scenario: &str, spec: &Spec, c: &Comparison) -> ComparisonRecord {
    ComparisonRecord {
        scenario: scenario.to_string(),
        factor: c.factor.name().to_string(),
        dataset: c.dataset.name().to_string(),
        model: c.model.name().to_string(),
        standardised_a: c.standardised_a,
        standardised_b: c.standardised_b,
        metric: c.metric.to_string(),
        head_a: c.head_a.name().to_string(),
        head_b: c.head_b.name().to_string(),
        mean_a: c.a.value,
        mean_b: c.b.value,
        ci95_low_a: c.a.ci95_low,
        ci95_high_a: c.a.ci95_high,
        ci95_low_b: c.b.ci95_low,
        ci95_high_b: c.b.ci95_high,
        diff_mean: c.diff_mean,
        t_statistic: c.test.t,
        p_value: c.test.p,
        seeds: c.seeds,
        test: c.test_name.to_string(),
        early_epoch: spec.early_epoch,
        epochs: spec.epochs,
    }
}

/// Train per the scenario's spec and return its tables, the main table
/// ("training") first, then "reliability", "prob_sums", "comparisons", "label_f1".
pub fn measure(scenario: &str, spec: &Spec, seed: u64) -> Result<Vec<Table>, HarnessError> {
    let out = softmax_lab_training::run(spec, seed).map_err(|e| HarnessError::Training {
        scenario: scenario.to_string(),
        message: e.to_string(),
    })?;

    let main: Vec<TrainingRecord> = out
        .epochs
        .iter()
        .map(|r| {
            let (scenario, dataset, model, head, standardised) = config(scenario, &r.config);
            TrainingRecord {
                scenario,
                dataset,
                model,
                head,
                standardised,
                seed: r.seed,
                epoch: r.epoch,
                split: "test".to_string(),
                train_loss: r.train_loss,
                accuracy: r.accuracy,
                macro_f1: r.macro_f1,
                subset_accuracy: r.subset_accuracy,
                log_loss: r.log_loss,
                ece: r.ece,
                prob_sum_mean: r.prob_sum_mean,
                prob_sum_above_one_fraction: r.prob_sum_above_one_fraction,
                grad_norm_output: r.grad_norm_output,
                grad_norm_first: r.grad_norm_first,
                true_prob_mae: r.true_prob_mae,
                majority_accuracy: r.majority_accuracy,
            }
        })
        .collect();

    let reliability: Vec<ReliabilityRecord> = out
        .reliability
        .iter()
        .map(|r| {
            let (scenario, dataset, model, head, standardised) = config(scenario, &r.config);
            let b = &r.bin_stats;
            ReliabilityRecord {
                scenario,
                dataset,
                model,
                head,
                standardised,
                bin: r.bin,
                bin_lo: b.lo,
                bin_hi: b.hi,
                confidence_mean: b.confidence_mean,
                accuracy: b.accuracy,
                count: b.count,
            }
        })
        .collect();

    let prob_sums: Vec<ProbSumRecord> = out
        .prob_sums
        .iter()
        .map(|r| {
            let (scenario, dataset, model, head, standardised) = config(scenario, &r.config);
            ProbSumRecord {
                scenario,
                dataset,
                model,
                head,
                standardised,
                bin_lo: r.lo,
                bin_hi: r.hi,
                count: r.count,
            }
        })
        .collect();

    let comparisons: Vec<ComparisonRecord> = out
        .comparisons
        .iter()
        .map(|c| comparison(scenario, spec, c))
        .collect();

    let label_f1: Vec<LabelF1Record> = out
        .label_f1
        .iter()
        .map(|r| {
            let (scenario, dataset, model, head, standardised) = config(scenario, &r.config);
            LabelF1Record {
                scenario,
                dataset,
                model,
                head,
                standardised,
                seed: r.seed,
                label: r.label,
                f1: r.f1,
                prevalence: r.prevalence,
            }
        })
        .collect();

    Ok(vec![
        Table::from_records("training", &main),
        Table::from_records("reliability", &reliability),
        Table::from_records("prob_sums", &prob_sums),
        Table::from_records("comparisons", &comparisons),
        Table::from_records("label_f1", &label_f1),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::Value;

    fn text(s: &str) -> Value {
        Value::Text(s.to_string())
    }

    const SPEC: &str = r#"
datasets = ["iris", "breast_cancer"]
models = ["logreg"]
heads = ["softmax_ce", "sigmoid_ovr_bce", "softmax2_ce", "sigmoid1_bce"]
seeds = 5
epochs = 3
learning_rate = 0.1
batch_size = 32
"#;

    #[test]
    fn tables_have_their_columns_and_one_row_per_run_and_epoch() {
        let raw: softmax_lab_training::RawSpec = toml::from_str(SPEC).unwrap();
        let spec = raw.validate(false).unwrap();
        let tables = measure("t", &spec, 1).unwrap();
        let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "training",
                "reliability",
                "prob_sums",
                "comparisons",
                "label_f1"
            ]
        );
        // 2 data sets × 1 model × 2 heads × 2 settings × 5 seeds × 4 epochs (0..=3).
        assert_eq!(tables[0].rows.len(), 2 * 2 * 2 * 5 * 4);
        let head = tables[0].column("head").unwrap();
        let sum = tables[0].column("prob_sum_mean").unwrap();
        let epoch = tables[0].column("epoch").unwrap();
        // Softmax rows sum to one; trained one-vs-rest sigmoid rows do not.
        for row in &tables[0].rows {
            let s = row[sum].as_f64().unwrap();
            match &row[head] {
                Value::Text(h) if h == "softmax_ce" => assert!((s - 1.0).abs() < 1e-12),
                Value::Text(h) if h == "sigmoid_ovr_bce" && row[epoch] == Value::Int(3) => {
                    assert!((s - 1.0).abs() > 1e-6, "{s}")
                }
                _ => {}
            }
        }
        assert!(tables[3]
            .rows
            .iter()
            .any(|r| r[1] == text("standardisation")));
        assert!(tables[4].rows.is_empty());
    }
}
