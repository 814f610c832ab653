//! Training: the study of crate `softmax-lab-training` (heads trained with candle
//! on digits, iris, breast cancer and a generated multi-label set, with and
//! without input standardisation, over several seeds) turned into tables. All
//! figures are on the test split; probabilities are computed in f64 from the
//! f32 logits; definitions of every metric are in `softmax_lab_training::metrics`.
//!
//! Tables, in order (file `<scenario>.csv`, then `<scenario>_<table>.csv`):
//!
//! - `training` ([`COLUMNS`]): one row per data set × model × head × standardised ×
//!   seed × epoch; epoch 0 is the untrained model (its gradient norms are NaN).
//!   `train_loss` is the head's own loss on the whole training split;
//!   `grad_norm_output` / `grad_norm_first` the mean over the epoch's steps of
//!   ‖∂L/∂(W, b)‖₂ of the output and the first layer (the same layer for
//!   `logreg`); `subset_accuracy` and `true_prob_mae` only on the multi-label set
//!   (NaN elsewhere); `seed` is the seed index (0-based; the scenario seed derives
//!   the actual streams).
//! - `reliability` ([`RELIABILITY_COLUMNS`]): the reliability diagram per
//!   configuration, decisions pooled over seeds at the final epoch; `bin_lo`,
//!   `bin_hi` bound the confidence, `confidence_mean` and `accuracy` are NaN in an
//!   empty bin.
//! - `prob_sums` ([`PROB_SUMS_COLUMNS`]): the histogram of the per-row sum of the
//!   head's probabilities (the C11 picture), pooled over seeds at the final epoch;
//!   bins are centred on multiples of the bin width (softmax's sum 1 sits in the
//!   middle of one) and the last bin is open (`bin_hi` = inf).
//! - `comparisons` ([`COMPARISON_COLUMNS`]): two arms compared over the same seeds
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
//! - `label_f1` ([`LABEL_F1_COLUMNS`]): per-label F1 of the multi-label set at the
//!   final epoch, per seed, with the label's test prevalence.
//!
//! Where the claims are decided:
//! - C11 (sigmoids on exclusive classes sum above 1): `comparisons` rows with
//!   `factor` = head, `head_a` = sigmoid_ovr_bce, `head_b` = softmax_ce on digits
//!   and iris, metrics `final_prob_sum_above_one_fraction` and
//!   `final_prob_sum_mean`; the picture is `prob_sums`.
//! - C12 (2-way softmax more stable than one sigmoid): breast_cancer,
//!   `head_a` = softmax2_ce, `head_b` = sigmoid1_bce, metrics `final_log_loss_std`
//!   (t < 0 with a small p: softmax varies less) and `train_loss_rises`
//!   (t < 0: fewer epochs whose loss rose).
//! - C19 (standardisation speeds training): `factor` = standardisation, metrics
//!   `early_accuracy` (t > 0: standardised is ahead at `early_epoch`) and
//!   `epochs_to_target_accuracy` (t < 0: reaches 90% of the better final accuracy
//!   sooner; E + 1 when never reached); `mean_grad_norm_first` shows saturation of
//!   a sigmoid hidden layer on raw inputs. Both arms use the same learning rate.

use softmax_lab_training::{Comparison, Config, Spec};

use crate::results::{ColumnType, Table, Value};
use crate::HarnessError;

/// The columns of the main table (named "training").
pub const COLUMNS: [(&str, ColumnType); 19] = [
    ("scenario", ColumnType::Text),
    ("dataset", ColumnType::Text),
    ("model", ColumnType::Text),
    ("head", ColumnType::Text),
    ("standardised", ColumnType::Bool),
    ("seed", ColumnType::Int),
    ("epoch", ColumnType::Int),
    ("split", ColumnType::Text),
    ("train_loss", ColumnType::Float),
    ("accuracy", ColumnType::Float),
    ("macro_f1", ColumnType::Float),
    ("subset_accuracy", ColumnType::Float),
    ("log_loss", ColumnType::Float),
    ("ece", ColumnType::Float),
    ("prob_sum_mean", ColumnType::Float),
    ("prob_sum_above_one_fraction", ColumnType::Float),
    ("grad_norm_output", ColumnType::Float),
    ("grad_norm_first", ColumnType::Float),
    ("true_prob_mae", ColumnType::Float),
];

/// The columns of the "reliability" table.
pub const RELIABILITY_COLUMNS: [(&str, ColumnType); 11] = [
    ("scenario", ColumnType::Text),
    ("dataset", ColumnType::Text),
    ("model", ColumnType::Text),
    ("head", ColumnType::Text),
    ("standardised", ColumnType::Bool),
    ("bin", ColumnType::Int),
    ("bin_lo", ColumnType::Float),
    ("bin_hi", ColumnType::Float),
    ("confidence_mean", ColumnType::Float),
    ("accuracy", ColumnType::Float),
    ("count", ColumnType::Int),
];

/// The columns of the "prob_sums" table.
pub const PROB_SUMS_COLUMNS: [(&str, ColumnType); 8] = [
    ("scenario", ColumnType::Text),
    ("dataset", ColumnType::Text),
    ("model", ColumnType::Text),
    ("head", ColumnType::Text),
    ("standardised", ColumnType::Bool),
    ("bin_lo", ColumnType::Float),
    ("bin_hi", ColumnType::Float),
    ("count", ColumnType::Int),
];

/// The columns of the "comparisons" table.
pub const COMPARISON_COLUMNS: [(&str, ColumnType); 22] = [
    ("scenario", ColumnType::Text),
    ("factor", ColumnType::Text),
    ("dataset", ColumnType::Text),
    ("model", ColumnType::Text),
    ("standardised_a", ColumnType::Bool),
    ("standardised_b", ColumnType::Bool),
    ("metric", ColumnType::Text),
    ("head_a", ColumnType::Text),
    ("head_b", ColumnType::Text),
    ("mean_a", ColumnType::Float),
    ("mean_b", ColumnType::Float),
    ("ci95_low_a", ColumnType::Float),
    ("ci95_high_a", ColumnType::Float),
    ("ci95_low_b", ColumnType::Float),
    ("ci95_high_b", ColumnType::Float),
    ("diff_mean", ColumnType::Float),
    ("t_statistic", ColumnType::Float),
    ("p_value", ColumnType::Float),
    ("seeds", ColumnType::Int),
    ("test", ColumnType::Text),
    ("early_epoch", ColumnType::Int),
    ("epochs", ColumnType::Int),
];

/// The columns of the "label_f1" table.
pub const LABEL_F1_COLUMNS: [(&str, ColumnType); 9] = [
    ("scenario", ColumnType::Text),
    ("dataset", ColumnType::Text),
    ("model", ColumnType::Text),
    ("head", ColumnType::Text),
    ("standardised", ColumnType::Bool),
    ("seed", ColumnType::Int),
    ("label", ColumnType::Int),
    ("f1", ColumnType::Float),
    ("prevalence", ColumnType::Float),
];

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

fn int(v: usize) -> Value {
    Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
}

/// The scenario and the configuration cells every table starts with.
fn config_cells(scenario: &str, c: &Config) -> Vec<Value> {
    vec![
        text(scenario),
        text(c.dataset.name()),
        text(c.model.name()),
        text(c.head.name()),
        Value::Bool(c.standardised),
    ]
}

fn comparison_row(scenario: &str, spec: &Spec, c: &Comparison) -> Vec<Value> {
    vec![
        text(scenario),
        text(c.factor.name()),
        text(c.dataset.name()),
        text(c.model.name()),
        Value::Bool(c.standardised_a),
        Value::Bool(c.standardised_b),
        text(c.metric),
        text(c.head_a.name()),
        text(c.head_b.name()),
        Value::Float(c.a.value),
        Value::Float(c.b.value),
        Value::Float(c.a.ci95_low),
        Value::Float(c.a.ci95_high),
        Value::Float(c.b.ci95_low),
        Value::Float(c.b.ci95_high),
        Value::Float(c.diff_mean),
        Value::Float(c.test.t),
        Value::Float(c.test.p),
        int(c.seeds),
        text(c.test_name),
        int(spec.early_epoch),
        int(spec.epochs),
    ]
}

/// Train per the scenario's spec and return its tables, the main table
/// ("training") first, then "reliability", "prob_sums", "comparisons", "label_f1".
pub fn measure(scenario: &str, spec: &Spec, seed: u64) -> Result<Vec<Table>, HarnessError> {
    let out = softmax_lab_training::run(spec, seed).map_err(|e| HarnessError::Training {
        scenario: scenario.to_string(),
        message: e.to_string(),
    })?;

    let mut main = Table::new("training", &COLUMNS);
    for r in &out.epochs {
        let mut row = config_cells(scenario, &r.config);
        row.extend([
            int(r.seed),
            int(r.epoch),
            text("test"),
            Value::Float(r.train_loss),
            Value::Float(r.accuracy),
            Value::Float(r.macro_f1),
            Value::Float(r.subset_accuracy),
            Value::Float(r.log_loss),
            Value::Float(r.ece),
            Value::Float(r.prob_sum_mean),
            Value::Float(r.prob_sum_above_one_fraction),
            Value::Float(r.grad_norm_output),
            Value::Float(r.grad_norm_first),
            Value::Float(r.true_prob_mae),
        ]);
        main.push(row);
    }

    let mut reliability = Table::new("reliability", &RELIABILITY_COLUMNS);
    for r in &out.reliability {
        let b = &r.bin_stats;
        let mut row = config_cells(scenario, &r.config);
        row.extend([
            int(r.bin),
            Value::Float(b.lo),
            Value::Float(b.hi),
            Value::Float(b.confidence_mean),
            Value::Float(b.accuracy),
            int(b.count),
        ]);
        reliability.push(row);
    }

    let mut prob_sums = Table::new("prob_sums", &PROB_SUMS_COLUMNS);
    for r in &out.prob_sums {
        let mut row = config_cells(scenario, &r.config);
        row.extend([Value::Float(r.lo), Value::Float(r.hi), int(r.count)]);
        prob_sums.push(row);
    }

    let mut comparisons = Table::new("comparisons", &COMPARISON_COLUMNS);
    for c in &out.comparisons {
        comparisons.push(comparison_row(scenario, spec, c));
    }

    let mut label_f1 = Table::new("label_f1", &LABEL_F1_COLUMNS);
    for r in &out.label_f1 {
        let mut row = config_cells(scenario, &r.config);
        row.extend([
            int(r.seed),
            int(r.label),
            Value::Float(r.f1),
            Value::Float(r.prevalence),
        ]);
        label_f1.push(row);
    }

    Ok(vec![main, reliability, prob_sums, comparisons, label_f1])
}

#[cfg(test)]
mod tests {
    use super::*;

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
