//! The record types of the measurement tables, each declared once with
//! [`record!`]: its columns (in order), its cells and its typed reading.
//! The harness fills them; the report, the claims ledger and `compare` read them.
//!
//! A field declared `= default` is a column added after tables were first
//! written: older tables without it read as the default (NaN for a number that
//! was not measured); the others are required.

use crate::record;
#[allow(unused_imports)]
use crate::Key;

record! {
    /// One variant at one point of an `accuracy` table.
    pub struct AccuracyRecord {
        /// Where the record sits.
        pub key: Key,
        /// Output entries scored (rows × n); the sample of every ULP figure.
        pub samples: usize,
        /// Largest ULP error of any entry.
        pub max_ulp: f64,
        /// Median ULP error.
        pub median_ulp: f64,
        /// 99th-percentile ULP error.
        pub p99_ulp: f64,
        /// Mean ULP error.
        pub mean_ulp: f64,
        /// Lower end of the 95% confidence interval of the mean ULP error (NaN if
        /// any error is infinite).
        pub mean_ulp_ci95_low: f64,
        /// Upper end of that interval.
        pub mean_ulp_ci95_high: f64,
        /// log2(1 + max_ulp).
        pub max_bits_of_error: f64,
        /// log2(1 + median_ulp).
        pub median_bits_of_error: f64,
        /// Largest normwise error of a row (`rows` samples).
        pub normwise: f64 = f64::NAN,
        /// Median normwise error of a row.
        pub median_normwise: f64,
        /// The normwise bound of the variant's formula (NaN: no formula claimed).
        pub bound: f64 = f64::NAN,
        /// Largest |Σ y − 1| of a row (softmax only; NaN otherwise).
        pub max_sum_deviation: f64 = f64::NAN,
        /// Median |Σ y − 1| of a row.
        pub median_sum_deviation: f64,
        /// Rows whose argmax (first on ties) is the reference's, over `rows`.
        pub argmax_agreement_fraction: f64 = f64::NAN,
        /// Output entries exactly zero.
        pub exact_zeros: usize,
        /// Entries whose exact value is zero (masked entries).
        pub reference_zeros: usize,
        /// exact_zeros / samples.
        pub exact_zero_fraction: f64 = f64::NAN,
        /// Largest componentwise condition number κ_i of any entry (NaN: none defined
        /// for the function, or no entry has one).
        pub kappa_max: f64 = f64::NAN,
        /// Largest err_i / (max(κ_i, 1)·u) of any entry, u the dtype's unit roundoff
        /// (NaN where κ is not defined for the function).
        pub max_err_over_kappa_u: f64 = f64::NAN,
    }
}

record! {
    /// One variant at one point of an `overflow` table.
    pub struct OverflowRecord {
        /// Where the record sits.
        pub key: Key,
        /// Output entries (rows × n): the denominator of every fraction.
        pub samples: usize,
        /// Outputs NaN or ±inf whose correctly rounded exact value is finite.
        pub nonfinite_fraction: f64,
        /// Outputs exactly 0 whose correctly rounded exact value is not 0.
        pub flushed_zero_fraction: f64,
        /// Outputs exactly 0, whatever the exact value.
        pub exact_zero_fraction: f64,
        /// The largest x of the dtype whose exp is finite (the dtype's fact, for reading).
        pub exp_overflow_threshold: f64,
    }
}

record! {
    /// One variant at one point of a `gradients` table.
    pub struct GradientRecord {
        /// Where the record sits.
        pub key: Key,
        /// Gradient entries (rows × n).
        pub samples: usize,
        /// Whether the variant has a backward.
        pub has_backward: bool,
        /// Median over rows of ‖dx‖₂.
        pub vjp_norm_median: f64,
        /// Median over rows of the exact VJP's ‖dx‖₂.
        pub vjp_norm_ref_median: f64,
        /// Largest normwise error of a row's dx against the exact VJP.
        pub vjp_normwise: f64,
        /// Median of that error.
        pub vjp_normwise_median: f64,
        /// Largest normwise difference of a row's dx from finite differences.
        pub fd_normwise: f64 = f64::NAN,
        /// Entries compared with finite differences.
        pub fd_samples: usize = 0,
        /// The candle variant compared with ("" for none).
        pub candle_variant: String = String::new(),
        /// Largest normwise difference of a row's dx from candle's.
        pub candle_normwise: f64 = f64::NAN,
        /// Entries compared with candle.
        pub candle_samples: usize,
        /// The threshold, relative to max |dy| of the row.
        pub tiny_grad_threshold: f64,
        /// Entries of dx at or below the threshold.
        pub tiny_grad_fraction: f64 = f64::NAN,
        /// Entries of the exact VJP at or below the threshold.
        pub ref_tiny_grad_fraction: f64,
        /// Entries of dx exactly zero.
        pub zero_grad_fraction: f64,
    }
}

record! {
    /// Per variant × dtype × n × generator × temperature of an overflow table: the
    /// first swept scale with non-finite outputs and with flushed zeros.
    pub struct OnsetRecord {
        /// The scenario name.
        pub scenario: String,
        /// The kind (`overflow`).
        pub kind: crate::Kind,
        /// The variant id.
        pub variant: String,
        /// The dtype.
        pub dtype: softmax_lab_core::DType,
        /// Row length.
        pub n: usize,
        /// Rows.
        pub rows: usize,
        /// The generator label.
        pub generator: String,
        /// The temperature.
        pub temperature: f64,
        /// Scales swept.
        pub scale_points: usize,
        /// The largest scale swept.
        pub max_scale: f64,
        /// Output entries at each scale.
        pub samples: usize,
        /// The smallest swept scale with a non-finite output (NaN: none).
        pub first_nonfinite_scale: f64,
        /// The smallest swept scale with an output flushed to zero (NaN: none).
        pub first_flushed_zero_scale: f64,
        /// The largest x of the dtype whose exp is finite.
        pub exp_overflow_threshold: f64 = f64::NAN,
    }
}

record! {
    /// One data set × model × head × input setting × seed × epoch of the `training`
    /// table (see `softmax_lab_training::metrics` for the metrics); epoch 0 is the
    /// untrained model.
    pub struct TrainingRecord {
        /// The scenario name.
        pub scenario: String,
        /// The data set.
        pub dataset: String,
        /// The model.
        pub model: String,
        /// The output head.
        pub head: String,
        /// Whether the inputs were standardised.
        pub standardised: bool,
        /// The seed index (0-based).
        pub seed: usize,
        /// The epoch (0: untrained).
        pub epoch: usize,
        /// The split the metrics are computed on.
        pub split: String,
        /// The head's own loss on the whole training split.
        pub train_loss: f64,
        /// Fraction of examples classified correctly.
        pub accuracy: f64,
        /// Macro-averaged F1.
        pub macro_f1: f64 = f64::NAN,
        /// Exact-match accuracy (multi-label set only; NaN elsewhere).
        pub subset_accuracy: f64 = f64::NAN,
        /// Mean log loss.
        pub log_loss: f64 = f64::NAN,
        /// Expected calibration error.
        pub ece: f64,
        /// Mean per-example sum of the head's probabilities.
        pub prob_sum_mean: f64,
        /// Fraction of examples whose probabilities sum above 1.
        pub prob_sum_above_one_fraction: f64,
        /// Mean over the epoch's steps of ‖∂L/∂(W, b)‖₂ of the output layer (NaN at epoch 0).
        pub grad_norm_output: f64 = f64::NAN,
        /// The same for the first layer.
        pub grad_norm_first: f64 = f64::NAN,
        /// Mean absolute error of the probabilities against the true ones (multi-label set only).
        pub true_prob_mae: f64 = f64::NAN,
        /// The test accuracy of predicting the training split's majority class (per
        /// label on the multi-label set): the rate of a run that learned nothing
        /// (the same at every epoch of a run; NaN in tables written before it).
        pub majority_accuracy: f64 = f64::NAN,
    }
}

record! {
    /// One bin of the reliability diagram of a training configuration (the
    /// `reliability` table), decisions pooled over seeds at the final epoch.
    pub struct ReliabilityRecord {
        /// The scenario name.
        pub scenario: String,
        /// The data set.
        pub dataset: String,
        /// The model.
        pub model: String,
        /// The output head.
        pub head: String,
        /// Whether the inputs were standardised.
        pub standardised: bool,
        /// The bin index.
        pub bin: usize,
        /// Lower bound of the bin's confidence.
        pub bin_lo: f64,
        /// Upper bound of the bin's confidence.
        pub bin_hi: f64,
        /// Mean confidence in the bin (NaN: empty bin).
        pub confidence_mean: f64,
        /// Accuracy in the bin (NaN: empty bin).
        pub accuracy: f64,
        /// Decisions in the bin.
        pub count: usize,
    }
}

record! {
    /// One bin of the histogram of per-example probability sums of a training
    /// configuration (the `prob_sums` table), pooled over seeds at the final epoch.
    pub struct ProbSumRecord {
        /// The scenario name.
        pub scenario: String,
        /// The data set.
        pub dataset: String,
        /// The model.
        pub model: String,
        /// The output head.
        pub head: String,
        /// Whether the inputs were standardised.
        pub standardised: bool,
        /// Lower end of the bin.
        pub bin_lo: f64,
        /// Upper end of the bin (inf for the last, open bin).
        pub bin_hi: f64,
        /// Examples in the bin.
        pub count: usize,
    }
}

record! {
    /// Two arms of the training study compared over the same seeds (the
    /// `comparisons` table; see `softmax_lab_training::Comparison`).
    pub struct ComparisonRecord {
        /// The scenario name.
        pub scenario: String,
        /// What the arms differ in: `head` or `standardisation`.
        pub factor: String,
        /// The data set.
        pub dataset: String,
        /// The model.
        pub model: String,
        /// Whether arm a's inputs were standardised.
        pub standardised_a: bool,
        /// Whether arm b's inputs were standardised.
        pub standardised_b: bool,
        /// The metric compared (one value per seed and arm).
        pub metric: String,
        /// Arm a's head.
        pub head_a: String,
        /// Arm b's head.
        pub head_b: String,
        /// Arm a's mean (or standard deviation, for `final_log_loss_std`).
        pub mean_a: f64,
        /// Arm b's mean.
        pub mean_b: f64,
        /// Lower end of arm a's 95% interval.
        pub ci95_low_a: f64,
        /// Upper end of arm a's 95% interval.
        pub ci95_high_a: f64,
        /// Lower end of arm b's 95% interval.
        pub ci95_low_b: f64,
        /// Upper end of arm b's 95% interval.
        pub ci95_high_b: f64,
        /// mean(a − b) (sd_a − sd_b for `final_log_loss_std`).
        pub diff_mean: f64,
        /// The test statistic.
        pub t_statistic: f64,
        /// The two-sided p-value.
        pub p_value: f64,
        /// Seeds compared.
        pub seeds: usize,
        /// The test's name.
        pub test: String,
        /// The epoch of the `early_*` metrics.
        pub early_epoch: usize,
        /// Epochs trained.
        pub epochs: usize,
    }
}

record! {
    /// Per-label F1 of the multi-label set at the final epoch, per seed (the
    /// `label_f1` table).
    pub struct LabelF1Record {
        /// The scenario name.
        pub scenario: String,
        /// The data set.
        pub dataset: String,
        /// The model.
        pub model: String,
        /// The output head.
        pub head: String,
        /// Whether the inputs were standardised.
        pub standardised: bool,
        /// The seed index.
        pub seed: usize,
        /// The label.
        pub label: usize,
        /// Its F1.
        pub f1: f64,
        /// Its prevalence in the test split.
        pub prevalence: f64,
    }
}

record! {
    /// One claim of the claims ledger (the `claims` table).
    pub struct ClaimRecord {
        /// The claim id (`C01` …); its evidence table, if any, is named by the id
        /// in lowercase.
        pub claim: String,
        /// The claim as the study's claims list restates it.
        pub statement: String = String::new(),
        /// The verdict: a [`Verdict::name`](crate::Verdict::name).
        pub verdict: String,
        /// What was tested.
        pub tested: String = String::new(),
        /// The deciding numbers.
        pub evidence: String = String::new(),
        /// The figure or table that shows them, relative to the report folder.
        pub figure: String = String::new(),
    }
}

/// The onset rows of an overflow table: per variant × dtype × n × generator ×
/// temperature (first-seen order), the smallest swept scale with non-finite
/// outputs and with flushed zeros (NaN: none within the sweep), next to the
/// number of scales swept, the largest, and the samples at each scale.
pub fn onsets(overflow: &[OverflowRecord]) -> Vec<OnsetRecord> {
    let mut groups: Vec<(&crate::Key, Vec<&OverflowRecord>)> = Vec::new();
    for r in overflow {
        let same = |k: &crate::Key| {
            let a = &r.key;
            (
                &a.scenario,
                a.kind,
                &a.variant,
                a.dtype,
                a.n,
                a.rows,
                &a.generator,
            ) == (
                &k.scenario,
                k.kind,
                &k.variant,
                k.dtype,
                k.n,
                k.rows,
                &k.generator,
            ) && a.temperature.to_bits() == k.temperature.to_bits()
        };
        match groups.iter_mut().find(|(k, _)| same(k)) {
            Some((_, rows)) => rows.push(r),
            None => groups.push((&r.key, vec![r])),
        }
    }
    groups
        .into_iter()
        .map(|(k, rows)| {
            let first = |f: fn(&OverflowRecord) -> f64| {
                rows.iter()
                    .filter(|r| f(r) > 0.0)
                    .map(|r| r.key.scale)
                    .fold(f64::NAN, f64::min)
            };
            OnsetRecord {
                scenario: k.scenario.clone(),
                kind: k.kind,
                variant: k.variant.clone(),
                dtype: k.dtype,
                n: k.n,
                rows: k.rows,
                generator: k.generator.clone(),
                temperature: k.temperature,
                scale_points: rows.len(),
                max_scale: rows.iter().map(|r| r.key.scale).fold(f64::NAN, f64::max),
                samples: rows.first().map_or(0, |r| r.samples),
                first_nonfinite_scale: first(|r| r.nonfinite_fraction),
                first_flushed_zero_scale: first(|r| r.flushed_zero_fraction),
                exp_overflow_threshold: k.dtype.exp_overflow_threshold(),
            }
        })
        .collect()
}

// ---- The throughput tables: `throughput`, `hsoftmax`, `sharded` ----
// (written by the harness's throughput kind; read by the report, compare and the
// claims ledger).

use softmax_lab_core::Direction;

impl crate::Cell for Direction {
    const TYPE: crate::ColumnType = crate::ColumnType::Text;
    fn to_value(&self) -> crate::Value {
        crate::Value::Text(self.name().into())
    }
    fn from_value(v: &crate::Value) -> Option<Self> {
        match v {
            crate::Value::Text(x) => Direction::ALL.into_iter().find(|d| d.name() == x),
            _ => None,
        }
    }
}

record! {
    /// One case of a `throughput` table: one participant (a variant or a reference:
    /// `memcpy`, `copy_loop`, `relu`) of one group (dtype × n × threads × direction
    /// × cache regime).
    pub struct ThroughputRecord {
        /// The scenario name.
        pub scenario: String,
        /// The variant id, or the reference's name.
        pub variant: String,
        /// The variant's family (`reference` for the references).
        pub family: String,
        /// The variant's function (`copy` or `relu` for the references).
        pub function: String,
        /// The dtype.
        pub dtype: softmax_lab_core::DType,
        /// Row length.
        pub n: usize,
        /// Rows per call.
        pub rows: usize,
        /// Threads of the pool the group ran in.
        pub threads: usize,
        /// Forward or backward.
        pub direction: Direction,
        /// Bytes of input plus output of one call.
        pub working_set_bytes: usize,
        /// Whether one set of buffers is reused (the working set fits in half the
        /// last-level cache) rather than rotating through 2 × LLC of buffers.
        pub in_cache: bool,
        /// Median over samples of elements per second.
        pub elems_per_s: f64,
        /// Lower end of the distribution-free 95% interval of that median.
        pub elems_per_s_ci95_low: f64,
        /// Upper end of that interval.
        pub elems_per_s_ci95_high: f64,
        /// elems_per_s × bytes moved per element (each element read and written once).
        pub bytes_per_s: f64,
        /// elems_per_s / memcpy_elems_per_s.
        pub ratio_to_memcpy: f64,
        /// elems_per_s / candle_elems_per_s (NaN for the copies).
        pub ratio_to_candle: f64,
        /// The group's bandwidth reference: the faster of `memcpy` and `copy_loop`.
        pub memcpy_elems_per_s: f64,
        /// The candle op compared with ("" for the copies).
        pub candle_variant: String,
        /// That candle op's elements per second in the group (NaN: none).
        pub candle_elems_per_s: f64,
        /// 1e9 / elems_per_s.
        pub ns_per_elem: f64,
        /// Timed samples.
        pub samples: usize,
        /// The last-level cache size the cache regime was decided with.
        pub llc_bytes: usize,
        /// The instruction-set path (`baseline` where no simd dispatch applies).
        pub isa: String = String::new(),
        /// Who timed the calls: `runner` (this harness's interleaved samples) or
        /// `self` (an external command variant timing itself, the protocol's
        /// `time` op); `runner` in tables written before the column existed.
        pub timing: String = "runner".to_string(),
    }
}

record! {
    /// One output head at one vocabulary size of an `hsoftmax` table
    /// (hierarchical against full softmax, f32, one thread).
    pub struct HsoftmaxRecord {
        /// The scenario name.
        pub scenario: String,
        /// The head: `full`, `balanced` or `huffman`.
        pub tree: String,
        /// Vocabulary size V.
        pub vocab: usize,
        /// Hidden dimension.
        pub dim: usize,
        /// Median over samples of the time per target log-probability (ns).
        pub ns_per_target: f64,
        /// Lower end of the distribution-free 95% interval of that median.
        pub ns_per_target_ci95_low: f64,
        /// Upper end of that interval.
        pub ns_per_target_ci95_high: f64,
        /// Exponentials per target (V for the full head; one sigmoid per tree step).
        pub exp_per_target: f64,
        /// Dot products per target.
        pub dot_products_per_target: f64,
        /// The full head's ns_per_target over this head's.
        pub speedup_vs_full: f64,
        /// Timed samples.
        pub samples: usize,
    }
}

record! {
    /// One shard count of a `sharded` table (sharded against unsharded softmax on
    /// the same rows, one thread).
    pub struct ShardedRecord {
        /// The scenario name.
        pub scenario: String,
        /// The sharded variant's id.
        pub variant: String,
        /// The dtype.
        pub dtype: softmax_lab_core::DType,
        /// Row length.
        pub n: usize,
        /// Shards per row.
        pub shards: usize,
        /// Bytes the shards of one row exchange over a forward and a backward pass
        /// (summaries gathered and the merged one sent back; the backward pass's
        /// Σ y·dy reduced and sent back): 0 for one shard.
        pub bytes_exchanged_per_row: usize,
        /// Median over samples of elements per second.
        pub elems_per_s: f64,
        /// elems_per_s over the unsharded `stable` softmax's.
        pub ratio_to_unsharded: f64,
        /// Timed samples.
        pub samples: usize,
        /// The work of one shard on its ⌈n/k⌉ entries of a row — local (max, sum)
        /// and its outputs, as a device holding the shard does it — timed on rows
        /// of that length (median ns per row).
        pub shard_work_ns_per_row: f64 = f64::NAN,
        /// Merging the k summaries of a row into the row's (max, sum), timed alone
        /// (median ns per row): the exchange's arithmetic; moving
        /// `bytes_exchanged_per_row` between devices is not timed here.
        pub merge_ns_per_row: f64 = f64::NAN,
    }
}

#[cfg(test)]
mod throughput_tests {
    use super::*;
    use crate::{ColumnType as C, Record, Table, Value};

    #[test]
    fn throughput_columns_keep_the_promised_layout() {
        let names = |c: Vec<(&'static str, C)>| c.into_iter().map(|(n, _)| n).collect::<Vec<_>>();
        assert_eq!(
            names(ThroughputRecord::columns()),
            [
                "scenario",
                "variant",
                "family",
                "function",
                "dtype",
                "n",
                "rows",
                "threads",
                "direction",
                "working_set_bytes",
                "in_cache",
                "elems_per_s",
                "elems_per_s_ci95_low",
                "elems_per_s_ci95_high",
                "bytes_per_s",
                "ratio_to_memcpy",
                "ratio_to_candle",
                "memcpy_elems_per_s",
                "candle_variant",
                "candle_elems_per_s",
                "ns_per_elem",
                "samples",
                "llc_bytes",
                "isa",
                "timing",
            ]
        );
        let types: Vec<C> = ThroughputRecord::columns()
            .into_iter()
            .map(|c| c.1)
            .collect();
        assert_eq!(
            &types[4..11],
            [C::Text, C::Int, C::Int, C::Int, C::Text, C::Int, C::Bool]
        );
        assert_eq!(
            names(HsoftmaxRecord::columns()),
            [
                "scenario",
                "tree",
                "vocab",
                "dim",
                "ns_per_target",
                "ns_per_target_ci95_low",
                "ns_per_target_ci95_high",
                "exp_per_target",
                "dot_products_per_target",
                "speedup_vs_full",
                "samples",
            ]
        );
        assert_eq!(
            names(ShardedRecord::columns()),
            [
                "scenario",
                "variant",
                "dtype",
                "n",
                "shards",
                "bytes_exchanged_per_row",
                "elems_per_s",
                "ratio_to_unsharded",
                "samples",
                "shard_work_ns_per_row",
                "merge_ns_per_row",
            ]
        );
    }

    #[test]
    fn directions_round_trip_and_unknown_ones_are_refused() {
        let r = ShardedRecord {
            scenario: "tp".into(),
            variant: "sharded_softmax".into(),
            dtype: softmax_lab_core::DType::F32,
            n: 64,
            shards: 4,
            bytes_exchanged_per_row: 32,
            elems_per_s: f64::NAN,
            ratio_to_unsharded: 0.5,
            samples: 3,
            shard_work_ns_per_row: 10.0,
            merge_ns_per_row: f64::NAN,
        };
        let t = Table::from_records("sharded", [&r]);
        let back: Vec<ShardedRecord> = t.records().unwrap_or_else(|e| panic!("{e}"));
        assert!(back[0].elems_per_s.is_nan() && back[0].shards == 4);
        assert!(back[0].merge_ns_per_row.is_nan() && back[0].shard_work_ns_per_row == 10.0);
        use crate::Cell;
        for d in Direction::ALL {
            assert_eq!(Direction::from_value(&d.to_value()), Some(d));
        }
        assert_eq!(Direction::from_value(&Value::Text("sideways".into())), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ColumnType, Record, Table, Value};

    fn names<R: Record>() -> Vec<&'static str> {
        R::columns().into_iter().map(|c| c.0).collect()
    }

    #[test]
    fn training_and_claims_tables_keep_the_columns_the_harness_wrote() {
        assert_eq!(
            names::<TrainingRecord>(),
            [
                "scenario",
                "dataset",
                "model",
                "head",
                "standardised",
                "seed",
                "epoch",
                "split",
                "train_loss",
                "accuracy",
                "macro_f1",
                "subset_accuracy",
                "log_loss",
                "ece",
                "prob_sum_mean",
                "prob_sum_above_one_fraction",
                "grad_norm_output",
                "grad_norm_first",
                "true_prob_mae",
                "majority_accuracy",
            ]
        );
        assert_eq!(
            names::<ClaimRecord>(),
            [
                "claim",
                "statement",
                "verdict",
                "tested",
                "evidence",
                "figure"
            ]
        );
        assert_eq!(names::<ComparisonRecord>().len(), 22);
        assert_eq!(names::<ReliabilityRecord>().len(), 11);
        assert_eq!(names::<ProbSumRecord>().len(), 8);
        assert_eq!(names::<LabelF1Record>().len(), 9);
    }

    #[test]
    fn a_claims_table_without_the_optional_text_columns_reads_them_empty() {
        let mut t = Table::new(
            "claims",
            &[("claim", ColumnType::Text), ("verdict", ColumnType::Text)],
        );
        t.push(vec![Value::Text("C01".into()), Value::Text("holds".into())]);
        let r = t.records::<ClaimRecord>().unwrap_or_default();
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].verdict.as_str(), r[0].figure.as_str()), ("holds", ""));
        // A required column is still required.
        let t = Table::new("claims", &[("claim", ColumnType::Text)]);
        let e = t.records::<ClaimRecord>().unwrap_err();
        assert!(e.contains("no column 'verdict'"), "{e}");
    }
}
