//! Test-split metrics from the heads' probabilities (f64, computed from the logits).
//!
//! Definitions (the same for every head, so heads compare):
//! - single-label sets: the prediction is the argmax of the head's probabilities;
//!   `accuracy`; `macro_f1`, the mean over classes (those present in the truth or the
//!   predictions) of per-class F1; `log_loss`, −ln q_y with q the probabilities
//!   divided by their sum (a proper multi-class score needs a distribution: for
//!   sigmoid heads this renormalises, as one-vs-rest logistic regression does in
//!   scikit-learn) and clipped below at [`LOG_LOSS_FLOOR`] (sparsemax gives exact zeros);
//!   `ece`, the top-label expected calibration error of the raw probabilities
//!   (confidence = the largest probability as the head gives it, correct = argmax
//!   is the class);
//! - multi-label sets: label k is predicted when p_k >= 0.5; `accuracy` is the
//!   per-label (Hamming) accuracy, `subset_accuracy` the fraction of rows with every
//!   label right, `macro_f1` the mean of per-label F1 (labels with no positive in
//!   truth or prediction left out), `log_loss` the mean per-label binary log-loss,
//!   `ece` the calibration error of the per-label decisions (confidence
//!   max(p_k, 1 − p_k)), `true_prob_mae` the mean |p_k − p_true,k|;
//! - `prob_sum`: Σ_k p_k per row as the head gives it (the class distribution
//!   (1 − σ, σ) for a single sigmoid); "above one" means above 1 + [`SUM_TOLERANCE`].
//!
//! Non-finite probabilities (a diverged run) count as wrong predictions and make
//! the averages that touch them NaN: nothing is hidden.

/// Probabilities are clipped below at this in log-loss.
pub const LOG_LOSS_FLOOR: f64 = 1e-12;

/// A probability sum counts as above one beyond 1 + this (f64 rounding of a softmax
/// sum is below 1e-15).
pub const SUM_TOLERANCE: f64 = 1e-9;

/// One prediction for the reliability diagram: the confidence and whether it was right.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Decision {
    /// The probability the head gives its decision.
    pub confidence: f64,
    /// Whether the decision was right.
    pub correct: bool,
}

/// The metrics of one model on the test split.
#[derive(Clone, Debug, PartialEq)]
pub struct Metrics {
    /// Accuracy (per-label for multi-label sets).
    pub accuracy: f64,
    /// Macro-averaged F1 over classes or labels.
    pub macro_f1: f64,
    /// Multi-label: fraction of rows with every label right (NaN otherwise).
    pub subset_accuracy: f64,
    /// Log-loss (see the module doc).
    pub log_loss: f64,
    /// Expected calibration error.
    pub ece: f64,
    /// Mean over rows of Σ_k p_k.
    pub prob_sum_mean: f64,
    /// Fraction of rows with Σ_k p_k > 1 + [`SUM_TOLERANCE`].
    pub prob_sum_above_one_fraction: f64,
    /// Multi-label: mean |p − p_true| (NaN otherwise).
    pub true_prob_mae: f64,
    /// Multi-label: F1 of each label (NaN where it has no positive); empty otherwise.
    pub label_f1: Vec<f64>,
    /// The decisions behind `ece`.
    pub decisions: Vec<Decision>,
    /// Σ_k p_k per row.
    pub prob_sums: Vec<f64>,
}

/// The argmax, the first one on ties; `None` when any entry is NaN.
fn argmax(p: &[f64]) -> Option<usize> {
    if p.iter().any(|v| v.is_nan()) {
        return None;
    }
    let mut best = 0;
    for (i, &v) in p.iter().enumerate() {
        if v > p[best] {
            best = i;
        }
    }
    Some(best)
}

/// F1 from counts; NaN when there is no positive in truth or prediction.
pub fn f1(tp: usize, fp: usize, fn_: usize) -> f64 {
    if tp + fp + fn_ == 0 {
        f64::NAN
    } else {
        2.0 * tp as f64 / (2 * tp + fp + fn_) as f64
    }
}

/// Macro-F1 of single-label predictions (`None` = no prediction, counted wrong).
pub fn macro_f1(y: &[usize], pred: &[Option<usize>], classes: usize) -> f64 {
    let per_class: Vec<f64> = (0..classes)
        .map(|c| {
            let (mut tp, mut fp, mut fn_) = (0, 0, 0);
            for (&t, &p) in y.iter().zip(pred) {
                match (t == c, p == Some(c)) {
                    (true, true) => tp += 1,
                    (false, true) => fp += 1,
                    (true, false) => fn_ += 1,
                    (false, false) => {}
                }
            }
            f1(tp, fp, fn_)
        })
        .collect();
    crate::stats::mean_non_nan(&per_class)
}

/// Expected calibration error over `bins` equal-width confidence bins on [0, 1]
/// (a confidence of exactly 1 in the last bin): Σ_b n_b/N · |accuracy_b − confidence_b|.
/// NaN when any confidence is NaN or there is no decision.
pub fn ece(decisions: &[Decision], bins: usize) -> f64 {
    if decisions.is_empty() || decisions.iter().any(|d| d.confidence.is_nan()) {
        return f64::NAN;
    }
    let rel = reliability(decisions, bins);
    let n = decisions.len() as f64;
    rel.iter()
        .filter(|b| b.count > 0)
        .map(|b| b.count as f64 / n * (b.accuracy - b.confidence_mean).abs())
        .sum()
}

/// One bin of a reliability diagram.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReliabilityBin {
    /// Lower edge of the confidence bin.
    pub lo: f64,
    /// Upper edge.
    pub hi: f64,
    /// Mean confidence of its decisions (NaN when empty).
    pub confidence_mean: f64,
    /// Fraction of its decisions that were right (NaN when empty).
    pub accuracy: f64,
    /// Decisions in the bin.
    pub count: usize,
}

/// The reliability diagram of `decisions` (NaN confidences left out).
pub fn reliability(decisions: &[Decision], bins: usize) -> Vec<ReliabilityBin> {
    let mut conf = vec![0f64; bins];
    let mut right = vec![0usize; bins];
    let mut count = vec![0usize; bins];
    for d in decisions.iter().filter(|d| !d.confidence.is_nan()) {
        let b = ((d.confidence * bins as f64) as usize).min(bins - 1);
        conf[b] += d.confidence;
        right[b] += usize::from(d.correct);
        count[b] += 1;
    }
    (0..bins)
        .map(|b| {
            let n = count[b];
            let mean = |s: f64| if n == 0 { f64::NAN } else { s / n as f64 };
            ReliabilityBin {
                lo: b as f64 / bins as f64,
                hi: (b + 1) as f64 / bins as f64,
                confidence_mean: mean(conf[b]),
                accuracy: mean(right[b] as f64),
                count: n,
            }
        })
        .collect()
}

/// Single-label metrics from row-major probabilities (`rows × classes`).
pub fn single_label(p: &[f64], classes: usize, y: &[usize], ece_bins: usize) -> Metrics {
    let rows = y.len();
    let mut preds = Vec::with_capacity(rows);
    let mut decisions = Vec::with_capacity(rows);
    let mut prob_sums = Vec::with_capacity(rows);
    let (mut right, mut log_loss) = (0usize, 0f64);
    for (row, &t) in p.chunks_exact(classes).zip(y) {
        let pred = argmax(row);
        let sum: f64 = row.iter().sum();
        preds.push(pred);
        right += usize::from(pred == Some(t));
        prob_sums.push(sum);
        log_loss -= (row[t] / sum).max(LOG_LOSS_FLOOR).ln();
        decisions.push(Decision {
            confidence: pred.map_or(f64::NAN, |c| row[c]),
            correct: pred == Some(t),
        });
    }
    let above = prob_sums
        .iter()
        .filter(|&&s| s > 1.0 + SUM_TOLERANCE)
        .count();
    let any_nan = prob_sums.iter().any(|s| s.is_nan());
    Metrics {
        accuracy: right as f64 / rows as f64,
        macro_f1: macro_f1(y, &preds, classes),
        subset_accuracy: f64::NAN,
        log_loss: log_loss / rows as f64,
        ece: ece(&decisions, ece_bins),
        prob_sum_mean: prob_sums.iter().sum::<f64>() / rows as f64,
        prob_sum_above_one_fraction: if any_nan {
            f64::NAN
        } else {
            above as f64 / rows as f64
        },
        true_prob_mae: f64::NAN,
        label_f1: Vec::new(),
        decisions,
        prob_sums,
    }
}

/// Multi-label metrics from row-major probabilities (`rows × labels`).
pub fn multi_label(p: &[f64], labels: usize, y: &[u8], p_true: &[f64], ece_bins: usize) -> Metrics {
    let rows = y.len() / labels;
    let mut counts = vec![(0usize, 0usize, 0usize); labels];
    let mut decisions = Vec::with_capacity(rows * labels);
    let mut prob_sums = Vec::with_capacity(rows);
    let (mut right, mut rows_right, mut log_loss, mut mae) = (0usize, 0usize, 0f64, 0f64);
    for r in 0..rows {
        let mut all = true;
        let mut sum = 0.0;
        for k in 0..labels {
            let (pk, t) = (p[r * labels + k], y[r * labels + k] == 1);
            let pred = pk >= 0.5;
            let ok = pred == t && !pk.is_nan();
            all &= ok;
            right += usize::from(ok);
            let c = &mut counts[k];
            match (t, pred) {
                (true, true) => c.0 += 1,
                (false, true) => c.1 += 1,
                (true, false) => c.2 += 1,
                (false, false) => {}
            }
            let q = if t { pk } else { 1.0 - pk };
            log_loss -= q.max(LOG_LOSS_FLOOR).ln();
            mae += (pk - p_true[r * labels + k]).abs();
            decisions.push(Decision {
                confidence: pk.max(1.0 - pk),
                correct: ok,
            });
            sum += pk;
        }
        rows_right += usize::from(all);
        prob_sums.push(sum);
    }
    let label_f1: Vec<f64> = counts
        .iter()
        .map(|&(tp, fp, fn_)| f1(tp, fp, fn_))
        .collect();
    let above = prob_sums
        .iter()
        .filter(|&&s| s > 1.0 + SUM_TOLERANCE)
        .count();
    let cells = (rows * labels) as f64;
    Metrics {
        accuracy: right as f64 / cells,
        macro_f1: crate::stats::mean_non_nan(&label_f1),
        subset_accuracy: rows_right as f64 / rows as f64,
        log_loss: log_loss / cells,
        ece: ece(&decisions, ece_bins),
        prob_sum_mean: prob_sums.iter().sum::<f64>() / rows as f64,
        prob_sum_above_one_fraction: if prob_sums.iter().any(|s| s.is_nan()) {
            f64::NAN
        } else {
            above as f64 / rows as f64
        },
        true_prob_mae: mae / cells,
        label_f1,
        decisions,
        prob_sums,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn macro_f1_on_a_hand_checked_example() {
        // Truth 0 0 1 1 2, prediction 0 1 1 1 0:
        // class 0: tp 1, fp 1, fn 1 -> 0.5; class 1: tp 2, fp 1, fn 0 -> 0.8;
        // class 2: tp 0, fp 0, fn 1 -> 0. Mean 1.3 / 3.
        let y = [0, 0, 1, 1, 2];
        let pred = [Some(0), Some(1), Some(1), Some(1), Some(0)];
        assert!((macro_f1(&y, &pred, 3) - 1.3 / 3.0).abs() < 1e-15);
        // A class absent from truth and prediction is left out (as scikit-learn does).
        assert!((macro_f1(&y, &pred, 4) - 1.3 / 3.0).abs() < 1e-15);
    }

    #[test]
    fn ece_of_a_calibrated_predictor_is_near_zero_and_of_an_overconfident_one_is_not() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let calibrated: Vec<Decision> = (0..200_000)
            .map(|_| {
                let c: f64 = rng.gen_range(0.5..1.0);
                Decision {
                    confidence: c,
                    correct: rng.gen::<f64>() < c,
                }
            })
            .collect();
        let e = ece(&calibrated, 15);
        assert!(e < 0.005, "{e}");
        // Says 0.95, right 70% of the time: ECE 0.25.
        let over: Vec<Decision> = (0..10)
            .map(|i| Decision {
                confidence: 0.95,
                correct: i < 7,
            })
            .collect();
        assert!((ece(&over, 10) - 0.25).abs() < 1e-12);
    }

    #[test]
    fn single_label_metrics_by_hand() {
        // Two rows, three classes: row 0 right with 0.6, row 1 (sigmoid-like, sum 1.5)
        // wrong with 0.9.
        let p = [0.6, 0.3, 0.1, 0.9, 0.5, 0.1];
        let m = single_label(&p, 3, &[0, 1], 10);
        assert_eq!(m.accuracy, 0.5);
        assert!((m.prob_sums[0] - 1.0).abs() < 1e-15 && m.prob_sums[1] == 1.5);
        assert_eq!(m.prob_sum_above_one_fraction, 0.5);
        let want = -(0.6f64.ln() + (0.5f64 / 1.5).ln()) / 2.0;
        assert!((m.log_loss - want).abs() < 1e-12);
        // Bins [0.6,0.7): conf 0.6, acc 1; [0.9,1]: conf 0.9, acc 0.
        assert!((m.ece - (0.5 * 0.4 + 0.5 * 0.9)).abs() < 1e-12, "{}", m.ece);
    }

    #[test]
    fn multi_label_metrics_by_hand() {
        // Rows (labels 2): truth (1,0), (1,1); p (0.8, 0.4), (0.3, 0.9).
        let p = [0.8, 0.4, 0.3, 0.9];
        let m = multi_label(&p, 2, &[1, 0, 1, 1], &[0.8, 0.4, 0.5, 0.5], 10);
        assert_eq!(m.accuracy, 0.75);
        assert_eq!(m.subset_accuracy, 0.5);
        // Label 0: tp 1, fn 1 -> 2/3; label 1: tp 1 -> 1.
        assert!((m.macro_f1 - (2.0 / 3.0 + 1.0) / 2.0).abs() < 1e-12);
        assert!((m.true_prob_mae - 0.6 / 4.0).abs() < 1e-12);
        assert!((m.prob_sum_mean - 1.2).abs() < 1e-12);
    }
}
