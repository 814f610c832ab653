//! The training study: output heads trained with candle on offline data sets
//! (digits, iris, breast cancer, a generated multi-label set with known
//! probabilities, and digits as the binary task odd against even), with and without input standardisation, over several seeds,
//! and compared with paired tests. The heads: softmax with cross-entropy,
//! one-vs-rest sigmoids with binary cross-entropy, a 2-way softmax against one
//! sigmoid on binary tasks, and the sparsemax loss. It puts claims C11, C12 and
//! C19 of the study to the test.
//!
//! - [`spec`]: the `[training]` section of a scenario file and its validation.
//! - [`data`]: data sets, seeded stratified splits, standardisation.
//! - [`loss`]: the heads' losses as candle expressions (autograd) and their
//!   probabilities in f64.
//! - [`metrics`]: accuracy, macro-F1, log-loss, calibration, probability sums.
//! - [`train`]: one run (model, optimiser, epochs).
//! - [`stats`]: intervals and tests over seeds.
//! - [`run`]: the whole study, in parallel and deterministic, summarised into an
//!   [`Output`] (see [`Comparison`] for how heads and settings are compared).
//!
//! Not here: result tables and files (the harness's `measure_training`), plots
//! (the report crate), verdicts (the claims ledger).

#![warn(missing_docs)]

pub mod data;
pub mod loss;
pub mod metrics;
pub mod spec;
pub use softmax_lab_results::stats;
pub mod train;

use rayon::prelude::*;

pub use data::DatasetId;
pub use spec::{Activation, Head, ModelKind, OptimizerKind, RawSpec, Spec, SpecError};
pub use train::{RunKey, RunResult};

use data::Dataset;
use metrics::{Decision, ReliabilityBin};

/// What a study can fail with.
#[derive(Debug, thiserror::Error)]
pub enum TrainingError {
    /// A candle operation failed (a shape or dtype bug, never expected).
    #[error("{context}: candle: {source}")]
    Candle {
        /// The run or step it happened in.
        context: String,
        /// candle's error.
        source: candle_core::Error,
    },
    /// A data set that is not what it should be.
    #[error("data: {0}")]
    Data(String),
    /// The worker threads could not be started.
    #[error("training workers: {0}")]
    Worker(String),
}

impl TrainingError {
    /// A `map_err` adapter that wraps a candle error with its context.
    pub fn candle(context: impl Into<String>) -> impl Fn(candle_core::Error) -> TrainingError {
        let context = context.into();
        move |source| TrainingError::Candle {
            context: context.clone(),
            source,
        }
    }
}

/// A configuration: everything but the seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Config {
    /// Data set.
    pub dataset: DatasetId,
    /// Model.
    pub model: ModelKind,
    /// Head.
    pub head: Head,
    /// Whether inputs were standardised.
    pub standardised: bool,
}

/// One row of the main table: one run after one epoch, on the test split.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochRecord {
    /// The configuration.
    pub config: Config,
    /// Seed index (0-based).
    pub seed: usize,
    /// Epoch (0 = before training).
    pub epoch: usize,
    /// The head's own loss on the whole training split.
    pub train_loss: f64,
    /// Accuracy (per-label for multi-label).
    pub accuracy: f64,
    /// Macro-F1 over classes or labels.
    pub macro_f1: f64,
    /// Multi-label subset accuracy (NaN otherwise).
    pub subset_accuracy: f64,
    /// Log-loss (see [`metrics`]).
    pub log_loss: f64,
    /// Expected calibration error.
    pub ece: f64,
    /// Mean per-row Σ p̂.
    pub prob_sum_mean: f64,
    /// Fraction of rows with Σ p̂ > 1.
    pub prob_sum_above_one_fraction: f64,
    /// Mean per-step gradient norm of the output layer (NaN at epoch 0).
    pub grad_norm_output: f64,
    /// The same for the first layer.
    pub grad_norm_first: f64,
    /// Multi-label: mean |p̂ − p_true| (NaN otherwise).
    pub true_prob_mae: f64,
    /// The run's majority-class accuracy on the test split (see
    /// [`RunResult::majority_accuracy`]), the same at every epoch.
    pub majority_accuracy: f64,
}

/// A reliability-diagram bin of one configuration, pooled over seeds at the final
/// epoch on the test split.
#[derive(Clone, Debug, PartialEq)]
pub struct ReliabilityRow {
    /// The configuration.
    pub config: Config,
    /// Bin index.
    pub bin: usize,
    /// The bin.
    pub bin_stats: ReliabilityBin,
}

/// A bin of the histogram of per-row Σ p̂ of one configuration, pooled over seeds
/// at the final epoch on the test split. Bins are centred on multiples of the bin
/// width w (so a softmax's 1 ± 1e-16 falls in one bin): [max(0, (k − ½)w), (k + ½)w);
/// the last bin is open above.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbSumRow {
    /// The configuration.
    pub config: Config,
    /// Lower edge.
    pub lo: f64,
    /// Upper edge (inf for the last bin).
    pub hi: f64,
    /// Rows in the bin.
    pub count: usize,
}

/// The final-epoch F1 of one label of the multi-label set in one run.
#[derive(Clone, Debug, PartialEq)]
pub struct LabelF1Row {
    /// The configuration.
    pub config: Config,
    /// Seed index.
    pub seed: usize,
    /// Label index.
    pub label: usize,
    /// F1 (NaN when the label has no positive in truth or prediction).
    pub f1: f64,
    /// Fraction of test rows with the label.
    pub prevalence: f64,
}

/// What a comparison varies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Factor {
    /// Two heads, same data set, model and standardisation setting.
    Head,
    /// Standardised (arm a) against raw inputs (arm b), same head.
    Standardisation,
}

impl Factor {
    /// The name in results.
    pub fn name(self) -> &'static str {
        match self {
            Factor::Head => "head",
            Factor::Standardisation => "standardisation",
        }
    }
}

/// The test a comparison used.
pub const PAIRED_T: &str = "paired t";
/// The test of two paired standard deviations.
pub const PITMAN_MORGAN: &str = "Pitman-Morgan t (paired variances)";

/// Two arms compared over the same seeds (same splits, initial first layer, batch
/// order): arm a is (`head_a`, `standardised_a`), arm b (`head_b`, `standardised_b`).
///
/// For every metric but `final_log_loss_std`, each seed gives one value per arm:
/// `mean_*` and the intervals are the mean over seeds with its 95% Student-t
/// interval, `diff_mean` the mean of a − b, and the test the paired t test
/// (`t_statistic` > 0 when a is larger). For `final_log_loss_std`, `mean_*` is
/// the across-seed standard deviation of the final log-loss with its chi-square
/// interval, `diff_mean` = sd_a − sd_b, and the test Pitman–Morgan's (t > 0 when
/// a varies more).
///
/// Per-seed metrics: `final_<m>` for the final epoch's accuracy, macro_f1,
/// log_loss, ece, prob_sum_mean, prob_sum_above_one_fraction (and subset_accuracy,
/// true_prob_mae on the multi-label set); `train_loss_rises`, the epochs whose
/// training loss rose or was not finite; `early_accuracy`, the test accuracy at
/// the spec's `early_epoch`; `mean_accuracy_over_epochs` (epochs 1..=E, the area
/// under the accuracy curve); `mean_grad_norm_first` and `mean_grad_norm_output`
/// (epochs 1..=E); and, for standardisation only, `epochs_to_target_accuracy`,
/// the first epoch at which test accuracy reached 90% of the better final
/// accuracy of the two arms on that seed (E + 1 when never: censored).
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// What the arms differ in.
    pub factor: Factor,
    /// Data set.
    pub dataset: DatasetId,
    /// Model.
    pub model: ModelKind,
    /// Arm a's head.
    pub head_a: Head,
    /// Arm b's head.
    pub head_b: Head,
    /// Arm a's standardisation.
    pub standardised_a: bool,
    /// Arm b's standardisation.
    pub standardised_b: bool,
    /// The metric.
    pub metric: &'static str,
    /// Arm a's estimate (mean, or standard deviation for `final_log_loss_std`).
    pub a: stats::Estimate,
    /// Arm b's estimate.
    pub b: stats::Estimate,
    /// Mean of a − b (sd_a − sd_b for `final_log_loss_std`).
    pub diff_mean: f64,
    /// The test.
    pub test: stats::Test,
    /// Which test ([`PAIRED_T`] or [`PITMAN_MORGAN`]).
    pub test_name: &'static str,
    /// Seeds (pairs).
    pub seeds: usize,
}

/// Everything a study measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Output {
    /// One record per configuration × seed × epoch, in spec order (data set, model,
    /// head, standardisation, seed, epoch).
    pub epochs: Vec<EpochRecord>,
    /// Reliability diagrams, per configuration.
    pub reliability: Vec<ReliabilityRow>,
    /// Probability-sum histograms, per configuration.
    pub prob_sums: Vec<ProbSumRow>,
    /// Per-label F1 on the multi-label set.
    pub label_f1: Vec<LabelF1Row>,
    /// Head and standardisation comparisons.
    pub comparisons: Vec<Comparison>,
}

/// The configurations a spec trains, in output order.
pub fn configs(spec: &Spec) -> Vec<Config> {
    let mut out = Vec::new();
    for &dataset in &spec.datasets {
        for &model in &spec.models {
            for &head in spec.heads.iter().filter(|h| h.applies_to(dataset)) {
                for &standardised in &spec.standardise {
                    out.push(Config {
                        dataset,
                        model,
                        head,
                        standardised,
                    });
                }
            }
        }
    }
    out
}

/// Run the study (deterministic given the scenario seed, whatever `spec.threads`;
/// `threads` 0 = all cores).
pub fn run(spec: &Spec, seed: u64) -> Result<Output, TrainingError> {
    let datasets: Vec<Dataset> = spec
        .datasets
        .iter()
        .map(|&d| Dataset::load(d, &spec.multilabel, train::derive(&[seed, 0x6d6c])))
        .collect::<Result<_, _>>()?;
    let configs = configs(spec);
    let jobs: Vec<RunKey> = configs
        .iter()
        .flat_map(|c| {
            (0..spec.seeds).map(move |s| RunKey {
                dataset: c.dataset,
                model: c.model,
                head: c.head,
                standardised: c.standardised,
                seed: s,
            })
        })
        .collect();
    let threads = match spec.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
    .min(jobs.len().max(1));
    // One pool for the runs and for candle's own parallel kernels (its matmul runs
    // on the current rayon pool): as many threads as asked, no oversubscription of
    // the global pool; on these small matrices the runs, not the kernels, are
    // what is worth running in parallel.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("training-{i}"))
        .build()
        .map_err(|e| TrainingError::Worker(format!("cannot start {threads} threads: {e}")))?;
    let results: Vec<Result<RunResult, TrainingError>> = pool.install(|| {
        jobs.par_iter()
            .map(|key| {
                let data = datasets
                    .iter()
                    .find(|d| d.id == key.dataset)
                    .ok_or_else(|| {
                        TrainingError::Data(format!("{} not loaded", key.dataset.name()))
                    })?;
                train::train(data, spec, *key, train::RunSeeds::new(seed, key))
            })
            .collect()
    });
    let runs = results.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok(summarise(spec, &configs, &runs))
}

fn epoch_records(runs: &[RunResult]) -> Vec<EpochRecord> {
    let mut out = Vec::new();
    for r in runs {
        let k = r.key;
        for e in &r.epochs {
            let m = &e.metrics;
            out.push(EpochRecord {
                config: Config {
                    dataset: k.dataset,
                    model: k.model,
                    head: k.head,
                    standardised: k.standardised,
                },
                seed: k.seed,
                epoch: e.epoch,
                train_loss: e.train_loss,
                accuracy: m.accuracy,
                macro_f1: m.macro_f1,
                subset_accuracy: m.subset_accuracy,
                log_loss: m.log_loss,
                ece: m.ece,
                prob_sum_mean: m.prob_sum_mean,
                prob_sum_above_one_fraction: m.prob_sum_above_one_fraction,
                grad_norm_output: e.grad_norm_output,
                grad_norm_first: e.grad_norm_first,
                true_prob_mae: m.true_prob_mae,
                majority_accuracy: r.majority_accuracy,
            });
        }
    }
    out
}

fn runs_of<'a>(runs: &'a [RunResult], c: &Config) -> Vec<&'a RunResult> {
    runs.iter()
        .filter(|r| {
            r.key.dataset == c.dataset
                && r.key.model == c.model
                && r.key.head == c.head
                && r.key.standardised == c.standardised
        })
        .collect()
}

/// The per-seed metrics compared between heads (see [`Comparison`]).
pub const HEAD_METRICS: [&str; 10] = [
    "final_accuracy",
    "final_macro_f1",
    "final_log_loss",
    "final_ece",
    "final_prob_sum_mean",
    "final_prob_sum_above_one_fraction",
    "train_loss_rises",
    "early_accuracy",
    "mean_accuracy_over_epochs",
    "mean_grad_norm_first",
];

/// The extra per-seed metrics of the multi-label set.
pub const MULTILABEL_METRICS: [&str; 2] = ["final_subset_accuracy", "final_true_prob_mae"];

/// The per-seed metrics compared between standardised and raw inputs.
pub const STANDARDISATION_METRICS: [&str; 8] = [
    "early_accuracy",
    "epochs_to_target_accuracy",
    "mean_accuracy_over_epochs",
    "final_accuracy",
    "final_log_loss",
    "train_loss_rises",
    "mean_grad_norm_first",
    "mean_grad_norm_output",
];

/// The spread metric compared with Pitman–Morgan's test.
pub const STD_METRIC: &str = "final_log_loss_std";

/// Fraction of the better final accuracy that `epochs_to_target_accuracy` waits for.
pub const TARGET_FRACTION: f64 = 0.9;

/// One run's value of a per-seed metric.
pub fn run_metric(run: &RunResult, metric: &str, early_epoch: usize) -> f64 {
    let last = &run.last().metrics;
    let trained = &run.epochs[1..];
    let mean_over = |f: &dyn Fn(&train::EpochState) -> f64| {
        trained.iter().map(f).sum::<f64>() / trained.len().max(1) as f64
    };
    match metric {
        "final_accuracy" => last.accuracy,
        "final_macro_f1" => last.macro_f1,
        "final_log_loss" => last.log_loss,
        "final_ece" => last.ece,
        "final_prob_sum_mean" => last.prob_sum_mean,
        "final_prob_sum_above_one_fraction" => last.prob_sum_above_one_fraction,
        "final_subset_accuracy" => last.subset_accuracy,
        "final_true_prob_mae" => last.true_prob_mae,
        "train_loss_rises" => run
            .epochs
            .windows(2)
            .filter(|w| w[1].train_loss > w[0].train_loss || !w[1].train_loss.is_finite())
            .count() as f64,
        "early_accuracy" => run
            .epochs
            .get(early_epoch)
            .map_or(f64::NAN, |e| e.metrics.accuracy),
        "mean_accuracy_over_epochs" => mean_over(&|e| e.metrics.accuracy),
        "mean_grad_norm_first" => mean_over(&|e| e.grad_norm_first),
        "mean_grad_norm_output" => mean_over(&|e| e.grad_norm_output),
        _ => f64::NAN,
    }
}

/// The first epoch whose test accuracy reached `target` (`epochs + 1` when none did).
fn epochs_to(run: &RunResult, target: f64) -> f64 {
    run.epochs
        .iter()
        .find(|e| e.metrics.accuracy >= target)
        .map_or(run.epochs.len() as f64, |e| e.epoch as f64)
}

fn compare_values(
    base: (Factor, Config, Config),
    metric: &'static str,
    a: &[f64],
    b: &[f64],
) -> Comparison {
    let (factor, ca, cb) = base;
    Comparison {
        factor,
        dataset: ca.dataset,
        model: ca.model,
        head_a: ca.head,
        head_b: cb.head,
        standardised_a: ca.standardised,
        standardised_b: cb.standardised,
        metric,
        a: stats::mean_ci95(a),
        b: stats::mean_ci95(b),
        diff_mean: a.iter().zip(b).map(|(x, y)| x - y).sum::<f64>() / a.len().max(1) as f64,
        test: stats::paired_t(a, b),
        test_name: PAIRED_T,
        seeds: a.len().min(b.len()),
    }
}

fn compare(
    factor: Factor,
    spec: &Spec,
    runs: &[RunResult],
    ca: Config,
    cb: Config,
) -> Vec<Comparison> {
    let (ra, rb) = (runs_of(runs, &ca), runs_of(runs, &cb));
    let base = (factor, ca, cb);
    let values = |rs: &[&RunResult], m: &str| -> Vec<f64> {
        rs.iter()
            .map(|r| run_metric(r, m, spec.early_epoch))
            .collect()
    };
    let mut out = Vec::new();
    let metrics: Vec<&'static str> = match factor {
        Factor::Head => {
            let mut m = HEAD_METRICS.to_vec();
            if ca.dataset.is_multilabel() {
                m.extend(MULTILABEL_METRICS);
            }
            m
        }
        Factor::Standardisation => STANDARDISATION_METRICS.to_vec(),
    };
    for metric in metrics {
        if metric == "epochs_to_target_accuracy" {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            for (x, y) in ra.iter().zip(&rb) {
                let target =
                    TARGET_FRACTION * x.last().metrics.accuracy.max(y.last().metrics.accuracy);
                a.push(epochs_to(x, target));
                b.push(epochs_to(y, target));
            }
            out.push(compare_values(base, metric, &a, &b));
        } else {
            out.push(compare_values(
                base,
                metric,
                &values(&ra, metric),
                &values(&rb, metric),
            ));
        }
    }
    if factor == Factor::Head {
        let (a, b) = (values(&ra, "final_log_loss"), values(&rb, "final_log_loss"));
        let (sa, sb) = (stats::sd_ci95(&a), stats::sd_ci95(&b));
        out.push(Comparison {
            factor,
            dataset: ca.dataset,
            model: ca.model,
            head_a: ca.head,
            head_b: cb.head,
            standardised_a: ca.standardised,
            standardised_b: cb.standardised,
            metric: STD_METRIC,
            a: sa,
            b: sb,
            diff_mean: sa.value - sb.value,
            test: stats::pitman_morgan(&a, &b),
            test_name: PITMAN_MORGAN,
            seeds: a.len().min(b.len()),
        });
    }
    out
}

fn prob_sum_histogram(config: Config, sums: &[f64], upper: f64, width: f64) -> Vec<ProbSumRow> {
    let regular = (upper / width).round() as usize + 1;
    let mut counts = vec![0usize; regular + 1];
    for &s in sums.iter().filter(|s| !s.is_nan()) {
        let k = ((s / width) + 0.5).floor().max(0.0) as usize;
        counts[k.min(regular)] += 1;
    }
    counts
        .iter()
        .enumerate()
        .map(|(k, &count)| ProbSumRow {
            config,
            lo: ((k as f64 - 0.5) * width).max(0.0),
            hi: if k == regular {
                f64::INFINITY
            } else {
                (k as f64 + 0.5) * width
            },
            count,
        })
        .collect()
}

fn summarise(spec: &Spec, configs: &[Config], runs: &[RunResult]) -> Output {
    let mut reliability = Vec::new();
    let mut prob_sums = Vec::new();
    let mut label_f1 = Vec::new();
    for c in configs {
        let rs = runs_of(runs, c);
        let decisions: Vec<Decision> = rs
            .iter()
            .flat_map(|r| r.last().metrics.decisions.iter().copied())
            .collect();
        for (bin, b) in metrics::reliability(&decisions, spec.ece_bins)
            .into_iter()
            .enumerate()
        {
            reliability.push(ReliabilityRow {
                config: *c,
                bin,
                bin_stats: b,
            });
        }
        let sums: Vec<f64> = rs
            .iter()
            .flat_map(|r| r.last().metrics.prob_sums.iter().copied())
            .collect();
        let upper = if c.dataset.is_multilabel() {
            spec.multilabel.labels as f64
        } else {
            2.0
        };
        prob_sums.extend(prob_sum_histogram(
            *c,
            &sums,
            upper,
            spec.prob_sum_bin_width,
        ));
        for r in &rs {
            for (label, (&f1, &prevalence)) in r
                .last()
                .metrics
                .label_f1
                .iter()
                .zip(&r.label_prevalence)
                .enumerate()
            {
                label_f1.push(LabelF1Row {
                    config: *c,
                    seed: r.key.seed,
                    label,
                    f1,
                    prevalence,
                });
            }
        }
    }
    let mut comparisons = Vec::new();
    for &dataset in &spec.datasets {
        let heads: Vec<Head> = spec
            .heads
            .iter()
            .copied()
            .filter(|h| h.applies_to(dataset))
            .collect();
        for &model in &spec.models {
            for &standardised in &spec.standardise {
                for (i, &ha) in heads.iter().enumerate() {
                    for &hb in &heads[i + 1..] {
                        let ca = Config {
                            dataset,
                            model,
                            head: ha,
                            standardised,
                        };
                        let cb = Config { head: hb, ..ca };
                        comparisons.extend(compare(Factor::Head, spec, runs, ca, cb));
                    }
                }
            }
            if spec.standardise.contains(&true) && spec.standardise.contains(&false) {
                for &head in &heads {
                    let ca = Config {
                        dataset,
                        model,
                        head,
                        standardised: true,
                    };
                    let cb = Config {
                        standardised: false,
                        ..ca
                    };
                    comparisons.extend(compare(Factor::Standardisation, spec, runs, ca, cb));
                }
            }
        }
    }
    Output {
        epochs: epoch_records(runs),
        reliability,
        prob_sums,
        label_f1,
        comparisons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(threads: usize) -> Spec {
        let text = format!(
            r#"
datasets = ["iris", "multilabel"]
models = ["logreg", "mlp"]
heads = ["softmax_ce", "sigmoid_ovr_bce"]
seeds = 5
epochs = 4
learning_rate = 0.1
batch_size = 16
hidden = 8
threads = {threads}
standardise = [true]
multilabel = {{ samples = 200, features = 4, labels = 3 }}
"#
        );
        let raw: RawSpec = toml::from_str(&text).unwrap();
        raw.validate(false).unwrap()
    }

    #[test]
    fn same_seed_same_numbers_whatever_the_threads_and_another_seed_differs() {
        let a = run(&spec(1), 42).unwrap();
        let b = run(&spec(2), 42).unwrap();
        // Debug prints every f64 as its shortest round-trip decimal: equal text is
        // equal bits, NaN included (which `==` would call unequal).
        let text = |o: &Output| format!("{o:?}");
        assert!(text(&a) == text(&b), "threads changed the numbers");
        let c = run(&spec(2), 43).unwrap();
        assert!(text(&a) != text(&c), "another seed gave the same numbers");
        // 2 data sets × 2 models × 2 heads × 1 setting × 5 seeds × 5 epochs.
        assert_eq!(a.epochs.len(), 2 * 2 * 2 * 5 * 5);
        // Training helps: standardised iris logreg with softmax beats chance well.
        let last: Vec<&EpochRecord> = a
            .epochs
            .iter()
            .filter(|r| {
                r.epoch == 4
                    && r.config.dataset == DatasetId::Iris
                    && r.config.model == ModelKind::Logreg
                    && r.config.head == Head::SoftmaxCe
            })
            .collect();
        let mean = last.iter().map(|r| r.accuracy).sum::<f64>() / last.len() as f64;
        assert!(mean > 0.7, "{mean}");
        // Multi-label only: subset accuracy and the true-probability error are set.
        for r in &a.epochs {
            assert_eq!(
                r.config.dataset.is_multilabel(),
                r.true_prob_mae.is_finite()
            );
        }
        assert_eq!(a.label_f1.len(), 2 * 2 * 5 * 3);
    }

    #[test]
    fn paired_runs_share_split_and_first_layer() {
        let key = |head, standardised| RunKey {
            dataset: DatasetId::Digits,
            model: ModelKind::Mlp,
            head,
            standardised,
            seed: 3,
        };
        let a = train::RunSeeds::new(9, &key(Head::SoftmaxCe, true));
        assert_eq!(a, train::RunSeeds::new(9, &key(Head::SigmoidOvrBce, false)));
        assert_ne!(
            a,
            train::RunSeeds::new(
                9,
                &RunKey {
                    seed: 4,
                    ..key(Head::SoftmaxCe, true)
                }
            )
        );
    }

    #[test]
    fn probability_sum_histogram_centres_bins_on_multiples_of_the_width() {
        let c = Config {
            dataset: DatasetId::Iris,
            model: ModelKind::Logreg,
            head: Head::SoftmaxCe,
            standardised: true,
        };
        let rows = prob_sum_histogram(c, &[1.0 - 1e-16, 1.0, 1.02, 2.7, f64::NAN], 2.0, 0.05);
        assert_eq!(rows.len(), 42);
        let at = |x: f64| rows.iter().position(|r| r.lo <= x && x < r.hi).unwrap();
        let one = &rows[at(1.0)];
        assert_eq!(one.count, 3);
        assert!((one.lo - 0.975).abs() < 1e-12 && (one.hi - 1.025).abs() < 1e-12);
        assert_eq!(rows[41].count, 1);
        assert_eq!(rows[41].hi, f64::INFINITY);
        assert_eq!(rows[0].lo, 0.0);
    }
}
