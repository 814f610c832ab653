//! The `[training]` section of a scenario file: what serde reads ([`RawSpec`], with
//! the byte span of every value that can be wrong) and what a run uses ([`Spec`]).
//!
//! Fields (required unless a default is given):
//!
//! | field | meaning |
//! |---|---|
//! | `datasets` | names among `digits`, `iris`, `breast_cancer`, `multilabel`, `digits_odd_even` |
//! | `models` | `logreg`, `mlp` |
//! | `heads` | `softmax_ce`, `sigmoid_ovr_bce`, `softmax2_ce`, `sigmoid1_bce`, `sparsemax_loss` |
//! | `seeds` | seeds per configuration, 5..=1000 |
//! | `epochs` | passes over the training split, >= 1 |
//! | `learning_rate` | step size, finite and > 0 |
//! | `batch_size` | rows per step, >= 1 |
//! | `early_epoch` | the epoch of `early_accuracy`, 1..=epochs (default max(1, epochs / 10)) |
//! | `hidden` | MLP hidden units (default 32) |
//! | `activation` | MLP hidden activation: `sigmoid` (default), `relu`, `tanh` |
//! | `optimizer` | `sgd` (default, no momentum) or `adamw` (weight decay 0) |
//! | `test_fraction` | held-out fraction, in (0, 0.5] (default 0.25) |
//! | `standardise` | `[true, false]` (default), `[true]` or `[false]` |
//! | `ece_bins` | calibration bins (default 15) |
//! | `prob_sum_bin_width` | probability-sum histogram bin width, in [0.001, 1] (default 0.05) |
//! | `multilabel` | `{ samples = 2000, features = 10, labels = 5 }` (the defaults) |
//! | `threads` | worker threads, 0 = every core (default); results do not depend on it |
//! | `[training.quick]` | overrides of `datasets`, `models`, `heads`, `seeds`, `epochs`, `early_epoch` |
//!
//! Rules that are choices, not syntax:
//! - `[training.quick]` replaces what it names (`datasets`, `models`, `heads`,
//!   `seeds`, `epochs`, `early_epoch`); everything else is the full study's.
//! - `early_epoch` (the epoch whose accuracy measures "how fast", claim C19)
//!   defaults to `max(1, epochs / 10)` in each form; given explicitly, it must not
//!   exceed that form's `epochs`.
//! - Every listed data set needs at least one listed head that applies to it
//!   ([`Head::applies_to`]); heads that do not apply to a data set are skipped there.

use std::ops::Range;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::data::DatasetId;

type S<T> = Spanned<T>;

/// The fewest seeds a configuration may have: means, intervals and paired tests
/// need a sample.
pub const MIN_SEEDS: usize = 5;

/// A model: what sits between the inputs and the head's logits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// One linear layer (multinomial / one-vs-rest logistic regression).
    Logreg,
    /// One hidden layer of `hidden` units with `activation`, then a linear layer.
    Mlp,
}

impl ModelKind {
    /// Every model, in documentation order.
    pub const ALL: [ModelKind; 2] = [ModelKind::Logreg, ModelKind::Mlp];

    /// The name in scenario files and results.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Logreg => "logreg",
            ModelKind::Mlp => "mlp",
        }
    }
}

/// An output head: how logits become probabilities and which loss trains them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Head {
    /// K logits, softmax, cross-entropy from logits (log-softmax).
    SoftmaxCe,
    /// K logits, one sigmoid each, binary cross-entropy from logits (stable form).
    SigmoidOvrBce,
    /// Binary tasks: 2 logits, softmax, cross-entropy.
    Softmax2Ce,
    /// Binary tasks: 1 logit, sigmoid, binary cross-entropy from logits.
    Sigmoid1Bce,
    /// K logits, sparsemax, the sparsemax loss (Martins & Astudillo 2016).
    SparsemaxLoss,
}

impl Head {
    /// Every head, in documentation order.
    pub const ALL: [Head; 5] = [
        Head::SoftmaxCe,
        Head::SigmoidOvrBce,
        Head::Softmax2Ce,
        Head::Sigmoid1Bce,
        Head::SparsemaxLoss,
    ];

    /// The name in scenario files and results.
    pub fn name(self) -> &'static str {
        match self {
            Head::SoftmaxCe => "softmax_ce",
            Head::SigmoidOvrBce => "sigmoid_ovr_bce",
            Head::Softmax2Ce => "softmax2_ce",
            Head::Sigmoid1Bce => "sigmoid1_bce",
            Head::SparsemaxLoss => "sparsemax_loss",
        }
    }

    /// Whether the head is trained on a data set: `softmax2_ce` and `sigmoid1_bce`
    /// on binary ones only; `softmax_ce` and `sigmoid_ovr_bce` on multi-class and
    /// multi-label ones (on a binary set `softmax_ce` would be `softmax2_ce` again);
    /// `sparsemax_loss` on single-label ones (binary included).
    pub fn applies_to(self, dataset: DatasetId) -> bool {
        let (binary, multilabel) = (dataset.is_binary(), dataset.is_multilabel());
        match self {
            Head::Softmax2Ce | Head::Sigmoid1Bce => binary,
            Head::SoftmaxCe | Head::SigmoidOvrBce => !binary,
            Head::SparsemaxLoss => !multilabel,
        }
    }

    /// Whether the head's probabilities are sigmoids (independent, any sum).
    pub fn is_sigmoid(self) -> bool {
        matches!(self, Head::SigmoidOvrBce | Head::Sigmoid1Bce)
    }
}

/// The hidden activation of the MLP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// max(0, x).
    Relu,
    /// 1 / (1 + e^-x): saturates for large |x| (the setting of claim C19).
    Sigmoid,
    /// tanh(x).
    Tanh,
}

impl Activation {
    /// Every activation.
    pub const ALL: [Activation; 3] = [Activation::Relu, Activation::Sigmoid, Activation::Tanh];

    /// The name in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
        }
    }
}

/// The optimiser (candle-nn's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
    /// Plain SGD (candle-nn's has no momentum).
    Sgd,
    /// AdamW with weight decay 0 (so Adam).
    Adamw,
}

impl OptimizerKind {
    /// Every optimiser.
    pub const ALL: [OptimizerKind; 2] = [OptimizerKind::Sgd, OptimizerKind::Adamw];

    /// The name in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            OptimizerKind::Sgd => "sgd",
            OptimizerKind::Adamw => "adamw",
        }
    }
}

/// The generated multi-label data set: `samples` rows of `features` inputs and
/// `labels` labels drawn from a known logistic model.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct MultilabelSpec {
    /// Rows.
    pub samples: usize,
    /// Input features.
    pub features: usize,
    /// Labels.
    pub labels: usize,
}

impl Default for MultilabelSpec {
    fn default() -> Self {
        MultilabelSpec {
            samples: 2000,
            features: 10,
            labels: 5,
        }
    }
}

/// A validated study: what [`crate::run`] does.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Spec {
    /// Data sets, in the order given.
    pub datasets: Vec<DatasetId>,
    /// Models, in the order given.
    pub models: Vec<ModelKind>,
    /// Heads, in the order given (each trained where it applies).
    pub heads: Vec<Head>,
    /// Seeds per configuration (>= [`MIN_SEEDS`]); seed i draws split i, the
    /// initial weights and the batch order, shared by every head and both
    /// standardisation settings.
    pub seeds: usize,
    /// Epochs (passes over the training split).
    pub epochs: usize,
    /// The epoch whose test accuracy is `early_accuracy` (1..=epochs).
    pub early_epoch: usize,
    /// Step size.
    pub learning_rate: f64,
    /// Rows per minibatch.
    pub batch_size: usize,
    /// Hidden units of the MLP.
    pub hidden: usize,
    /// Hidden activation of the MLP.
    pub activation: Activation,
    /// The optimiser.
    pub optimizer: OptimizerKind,
    /// Fraction of each data set held out for testing (stratified by class).
    pub test_fraction: f64,
    /// Input standardisation settings to train with (z-scores from the training split).
    pub standardise: Vec<bool>,
    /// Equal-width confidence bins of the calibration error and reliability diagram.
    pub ece_bins: usize,
    /// Width of the bins of the probability-sum histogram.
    pub prob_sum_bin_width: f64,
    /// The generated multi-label set.
    pub multilabel: MultilabelSpec,
    /// Worker threads (0: every available core); results do not depend on it.
    pub threads: usize,
    /// Whether this is the `--quick` form.
    pub quick: bool,
}

/// An invalid value: the byte span in the scenario file and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// Byte range of the offending value in the scenario file.
    pub span: Range<usize>,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl std::fmt::Display for SpecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SpecError {}

/// The `[training]` section of a scenario file as read (unknown fields rejected),
/// with spans on every value that validation can reject.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSpec {
    datasets: S<Vec<S<String>>>,
    models: S<Vec<S<String>>>,
    heads: S<Vec<S<String>>>,
    seeds: S<i64>,
    epochs: S<i64>,
    learning_rate: S<f64>,
    batch_size: S<i64>,
    early_epoch: Option<S<i64>>,
    hidden: Option<S<i64>>,
    activation: Option<S<String>>,
    optimizer: Option<S<String>>,
    test_fraction: Option<S<f64>>,
    standardise: Option<S<Vec<S<bool>>>>,
    ece_bins: Option<S<i64>>,
    prob_sum_bin_width: Option<S<f64>>,
    multilabel: Option<RawMultilabel>,
    threads: Option<S<i64>>,
    quick: Option<RawQuick>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMultilabel {
    samples: Option<S<i64>>,
    features: Option<S<i64>>,
    labels: Option<S<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuick {
    datasets: Option<S<Vec<S<String>>>>,
    models: Option<S<Vec<S<String>>>>,
    heads: Option<S<Vec<S<String>>>>,
    seeds: Option<S<i64>>,
    epochs: Option<S<i64>>,
    early_epoch: Option<S<i64>>,
}

fn err(span: Range<usize>, message: impl Into<String>) -> SpecError {
    SpecError {
        span,
        message: message.into(),
    }
}

/// A whole number in `min..=max`.
fn count(v: &S<i64>, what: &str, min: i64, max: i64) -> Result<usize, SpecError> {
    let n = *v.get_ref();
    if n < min || n > max {
        return Err(err(
            v.span(),
            format!("`{what}` must be a whole number in {min}..={max}, got {n}"),
        ));
    }
    usize::try_from(n).map_err(|_| err(v.span(), format!("`{what}` is too large: {n}")))
}

/// A list of names, each one of `all`, no duplicates, at least one.
fn names<T: Copy + PartialEq>(
    v: &S<Vec<S<String>>>,
    what: &str,
    all: &[T],
    name: fn(T) -> &'static str,
) -> Result<Vec<T>, SpecError> {
    let known: Vec<&str> = all.iter().map(|&t| name(t)).collect();
    if v.get_ref().is_empty() {
        return Err(err(
            v.span(),
            format!(
                "`{what}s` is empty: expected at least one of {}",
                known.join(", ")
            ),
        ));
    }
    let mut out = Vec::new();
    for s in v.get_ref() {
        let found = all
            .iter()
            .copied()
            .find(|&t| name(t) == s.get_ref().as_str());
        match found {
            None => {
                return Err(err(
                    s.span(),
                    format!(
                        "unknown {what} '{}': expected one of {}",
                        s.get_ref(),
                        known.join(", ")
                    ),
                ))
            }
            Some(t) if out.contains(&t) => {
                return Err(err(
                    s.span(),
                    format!("{what} '{}' is listed twice", s.get_ref()),
                ))
            }
            Some(t) => out.push(t),
        }
    }
    Ok(out)
}

fn one_name<T: Copy>(
    v: &Option<S<String>>,
    what: &str,
    all: &[T],
    name: fn(T) -> &'static str,
    default: T,
) -> Result<T, SpecError> {
    let Some(s) = v else { return Ok(default) };
    all.iter()
        .copied()
        .find(|&t| name(t) == s.get_ref().as_str())
        .ok_or_else(|| {
            let known: Vec<&str> = all.iter().map(|&t| name(t)).collect();
            err(
                s.span(),
                format!(
                    "unknown {what} '{}': expected one of {}",
                    s.get_ref(),
                    known.join(", ")
                ),
            )
        })
}

impl RawSpec {
    /// Check every value and resolve the full (`quick = false`) or the quick form.
    pub fn validate(&self, quick: bool) -> Result<Spec, SpecError> {
        let q = self.quick.as_ref().filter(|_| quick);
        let pick = |full: &S<Vec<S<String>>>, over: Option<&S<Vec<S<String>>>>| match over {
            Some(o) => o.clone(),
            None => full.clone(),
        };
        let datasets_raw = pick(&self.datasets, q.and_then(|q| q.datasets.as_ref()));
        let models_raw = pick(&self.models, q.and_then(|q| q.models.as_ref()));
        let heads_raw = pick(&self.heads, q.and_then(|q| q.heads.as_ref()));
        // Full-form values are checked even in the quick form, so an error in the
        // file never hides behind an override.
        names(&self.datasets, "dataset", &DatasetId::ALL, DatasetId::name)?;
        names(&self.models, "model", &ModelKind::ALL, ModelKind::name)?;
        names(&self.heads, "head", &Head::ALL, Head::name)?;
        let datasets = names(&datasets_raw, "dataset", &DatasetId::ALL, DatasetId::name)?;
        let models = names(&models_raw, "model", &ModelKind::ALL, ModelKind::name)?;
        let heads = names(&heads_raw, "head", &Head::ALL, Head::name)?;
        for d in &datasets {
            if !heads.iter().any(|h| h.applies_to(*d)) {
                let fits: Vec<&str> = Head::ALL
                    .iter()
                    .filter(|h| h.applies_to(*d))
                    .map(|h| h.name())
                    .collect();
                return Err(err(
                    heads_raw.span(),
                    format!(
                        "no listed head applies to dataset '{}': expected at least one of {}",
                        d.name(),
                        fits.join(", ")
                    ),
                ));
            }
        }

        let max_seeds = 1000;
        count(&self.seeds, "seeds", MIN_SEEDS as i64, max_seeds)?;
        let seeds_raw = q.and_then(|q| q.seeds.as_ref()).unwrap_or(&self.seeds);
        let seeds = count(seeds_raw, "seeds", MIN_SEEDS as i64, max_seeds)?;
        count(&self.epochs, "epochs", 1, 100_000)?;
        let epochs_raw = q.and_then(|q| q.epochs.as_ref()).unwrap_or(&self.epochs);
        let epochs = count(epochs_raw, "epochs", 1, 100_000)?;
        let early_raw = q
            .and_then(|q| q.early_epoch.as_ref())
            .or(self.early_epoch.as_ref());
        let early_epoch = match early_raw {
            None => (epochs / 10).max(1),
            Some(e) => {
                let v = count(e, "early_epoch", 1, 100_000)?;
                if v > epochs {
                    return Err(err(
                        e.span(),
                        format!(
                            "`early_epoch` = {v} exceeds {}epochs = {epochs}: expected 1..={epochs}",
                            if quick { "the quick form's " } else { "" }
                        ),
                    ));
                }
                v
            }
        };

        let lr = *self.learning_rate.get_ref();
        if !(lr.is_finite() && lr > 0.0) {
            return Err(err(
                self.learning_rate.span(),
                format!("`learning_rate` must be finite and > 0, got {lr}"),
            ));
        }
        let batch_size = count(&self.batch_size, "batch_size", 1, 1 << 20)?;
        let hidden = match &self.hidden {
            None => 32,
            Some(h) => count(h, "hidden", 1, 1 << 16)?,
        };
        let activation = one_name(
            &self.activation,
            "activation",
            &Activation::ALL,
            Activation::name,
            Activation::Sigmoid,
        )?;
        let optimizer = one_name(
            &self.optimizer,
            "optimizer",
            &OptimizerKind::ALL,
            OptimizerKind::name,
            OptimizerKind::Sgd,
        )?;
        let test_fraction = match &self.test_fraction {
            None => 0.25,
            Some(f) => {
                let v = *f.get_ref();
                if !(v > 0.0 && v <= 0.5) {
                    return Err(err(
                        f.span(),
                        format!("`test_fraction` must be in (0, 0.5], got {v}"),
                    ));
                }
                v
            }
        };
        let standardise = match &self.standardise {
            None => vec![true, false],
            Some(s) => {
                if s.get_ref().is_empty() {
                    return Err(err(
                        s.span(),
                        "`standardise` is empty: expected [true], [false] or [true, false]",
                    ));
                }
                let mut out = Vec::new();
                for b in s.get_ref() {
                    if out.contains(b.get_ref()) {
                        return Err(err(
                            b.span(),
                            format!("`standardise` lists {} twice", b.get_ref()),
                        ));
                    }
                    out.push(*b.get_ref());
                }
                out
            }
        };
        let ece_bins = match &self.ece_bins {
            None => 15,
            Some(b) => count(b, "ece_bins", 1, 1000)?,
        };
        let prob_sum_bin_width = match &self.prob_sum_bin_width {
            None => 0.05,
            Some(w) => {
                let v = *w.get_ref();
                if !(1e-3..=1.0).contains(&v) {
                    return Err(err(
                        w.span(),
                        format!("`prob_sum_bin_width` must be in [0.001, 1], got {v}"),
                    ));
                }
                v
            }
        };
        let mut multilabel = MultilabelSpec::default();
        if let Some(m) = &self.multilabel {
            if let Some(v) = &m.samples {
                multilabel.samples = count(v, "multilabel.samples", 20, 1_000_000)?;
            }
            if let Some(v) = &m.features {
                multilabel.features = count(v, "multilabel.features", 1, 10_000)?;
            }
            if let Some(v) = &m.labels {
                multilabel.labels = count(v, "multilabel.labels", 2, 1000)?;
            }
        }
        let threads = match &self.threads {
            None => 0,
            Some(t) => count(t, "threads", 0, 1024)?,
        };
        Ok(Spec {
            datasets,
            models,
            heads,
            seeds,
            epochs,
            early_epoch,
            learning_rate: lr,
            batch_size,
            hidden,
            activation,
            optimizer,
            test_fraction,
            standardise,
            ece_bins,
            prob_sum_bin_width,
            multilabel,
            threads,
            quick,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
datasets = ["digits", "breast_cancer"]
models = ["logreg"]
heads = ["softmax_ce", "sigmoid_ovr_bce", "softmax2_ce", "sigmoid1_bce"]
seeds = 5
epochs = 20
learning_rate = 0.1
batch_size = 32

[quick]
datasets = ["iris"]
epochs = 3
"#;

    fn parse(text: &str) -> RawSpec {
        match toml::from_str(text) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn valid_spec_resolves_defaults_and_quick_overrides() {
        let raw = parse(GOOD);
        let full = raw.validate(false).unwrap();
        assert_eq!(
            full.datasets,
            vec![DatasetId::Digits, DatasetId::BreastCancer]
        );
        assert_eq!(full.early_epoch, 2);
        assert_eq!(full.standardise, vec![true, false]);
        assert_eq!(full.activation, Activation::Sigmoid);
        let quick = raw.validate(true).unwrap();
        assert_eq!(quick.datasets, vec![DatasetId::Iris]);
        assert_eq!((quick.epochs, quick.early_epoch, quick.seeds), (3, 1, 5));
        assert!(quick.quick && !full.quick);
    }

    /// The error of `text`, checked to start where `needle` starts plus `skip` bytes.
    fn error_at(text: &str, quick: bool, needle: &str, skip: usize) -> SpecError {
        let e = parse(text).validate(quick).unwrap_err();
        let at = text.find(needle).unwrap() + skip;
        assert_eq!(
            e.span.start, at,
            "span {:?} of '{}' should start at '{needle}'",
            e.span, e.message
        );
        e
    }

    #[test]
    fn errors_point_at_the_value_and_name_what_was_expected() {
        let e = error_at(
            &GOOD.replace("\"digits\"", "\"mnist\""),
            false,
            "\"mnist\"",
            0,
        );
        assert_eq!(
            e.message,
            "unknown dataset 'mnist': expected one of digits, iris, breast_cancer, multilabel, digits_odd_even"
        );
        let e = error_at(
            &GOOD.replace("seeds = 5", "seeds = 3"),
            false,
            "seeds = 3",
            8,
        );
        assert!(
            e.message
                .contains("`seeds` must be a whole number in 5..=1000"),
            "{}",
            e.message
        );
        let e = error_at(
            &GOOD.replace("epochs = 3", "epochs = 0"),
            true,
            "epochs = 0",
            9,
        );
        assert!(e.message.contains("`epochs`"), "{}", e.message);
        let text = GOOD.replace(
            "heads = [\"softmax_ce\", \"sigmoid_ovr_bce\", \"softmax2_ce\", \"sigmoid1_bce\"]",
            "heads = [\"softmax_ce\", \"sigmoid_ovr_bce\"]",
        );
        let e = error_at(&text, false, "[\"softmax_ce\", \"sigmoid_ovr_bce\"]", 0);
        assert!(
            e.message.contains("dataset 'breast_cancer'"),
            "{}",
            e.message
        );
        let text = GOOD.replace("[quick]\n", "[quick]\nearly_epoch = 4\n");
        let e = error_at(&text, true, "early_epoch = 4", 14);
        assert!(e.message.contains("expected 1..=3"), "{}", e.message);
        let e = error_at(
            &GOOD.replace("batch_size = 32", "batch_size = 32\noptimizer = \"lbfgs\""),
            false,
            "\"lbfgs\"",
            0,
        );
        assert_eq!(
            e.message,
            "unknown optimizer 'lbfgs': expected one of sgd, adamw"
        );
    }

    #[test]
    fn unknown_fields_are_rejected_by_serde() {
        let text = GOOD.replace("epochs = 20", "epochs = 20\nepoch = 3");
        let e = toml::from_str::<RawSpec>(&text).unwrap_err();
        assert!(e.to_string().contains("unknown field `epoch`"), "{e}");
    }
}
