//! One training run: a model with a head on one split of one data set, trained with
//! candle (f32, CPU, autograd, candle-nn's optimisers), evaluated after every epoch.

use candle_core::backprop::GradStore;
use candle_core::{DType, Device, Tensor, Var};
use candle_nn::Optimizer;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::data::{self, Dataset, Labels};
use crate::loss::{self, Targets};
use crate::metrics::{self, Decision, Metrics};
use crate::spec::{Activation, Head, ModelKind, OptimizerKind, Spec};
use crate::TrainingError;

/// What distinguishes one run from another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RunKey {
    /// Data set.
    pub dataset: crate::DatasetId,
    /// Model.
    pub model: ModelKind,
    /// Head.
    pub head: Head,
    /// Whether inputs were standardised.
    pub standardised: bool,
    /// Seed index (0-based).
    pub seed: usize,
}

/// The seeds one run draws from: the split, the initial weights and the batch
/// order. They depend on the data set, the model and the seed index only, so every
/// head and both standardisation settings share them (paired comparisons).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunSeeds {
    /// The train/test split.
    pub split: u64,
    /// The initial weights.
    pub init: u64,
    /// The minibatch order.
    pub order: u64,
}

/// SplitMix64's finaliser: a well-mixed 64-bit value from any input.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Hash a sequence of values into one seed.
pub fn derive(parts: &[u64]) -> u64 {
    parts.iter().fold(0x5eed_u64, |h, &p| mix(h ^ mix(p)))
}

impl RunSeeds {
    /// The seeds of seed index `seed` of `dataset` × `model` under `scenario_seed`.
    pub fn new(scenario_seed: u64, key: &RunKey) -> RunSeeds {
        let d = key.dataset as u64;
        let m = key.model as u64;
        let s = key.seed as u64;
        RunSeeds {
            split: derive(&[scenario_seed, 1, d, s]),
            init: derive(&[scenario_seed, 2, d, m, s]),
            order: derive(&[scenario_seed, 3, d, m, s]),
        }
    }
}

/// The state of one epoch (epoch 0 is before any step).
#[derive(Clone, Debug, PartialEq)]
pub struct EpochState {
    /// Epoch number.
    pub epoch: usize,
    /// The head's training loss on the whole training split after the epoch.
    pub train_loss: f64,
    /// Test-split metrics after the epoch.
    pub metrics: Metrics,
    /// Mean over the epoch's steps of ‖∂L/∂(W, b)‖₂ of the output layer (NaN at epoch 0).
    pub grad_norm_output: f64,
    /// The same for the first layer (the output layer itself for logreg).
    pub grad_norm_first: f64,
}

/// One run's history. Only the final epoch keeps its per-row decisions and sums.
#[derive(Clone, Debug, PartialEq)]
pub struct RunResult {
    /// The run.
    pub key: RunKey,
    /// Epochs 0..=epochs.
    pub epochs: Vec<EpochState>,
    /// Fraction of test rows (or labels) that are positive, per label (multi-label only).
    pub label_prevalence: Vec<f64>,
    /// The test accuracy of predicting the training split's majority class
    /// ([`data::majority_accuracy`]): a run at this accuracy learned nothing.
    pub majority_accuracy: f64,
}

impl RunResult {
    /// The last epoch's state.
    pub fn last(&self) -> &EpochState {
        &self.epochs[self.epochs.len() - 1]
    }
}

/// Below gemm's default threading threshold (48 · 48 · 256 multiply-adds).
const GEMM_SINGLE_THREAD_WORK: usize = 48 * 48 * 200;

/// A candle-nn linear layer and the variables it reads (kept for gradients).
struct Layer {
    linear: candle_nn::Linear,
    w: Var,
    b: Var,
}

/// A model: candle-nn linear layers with the hidden activation between them.
pub struct Model {
    layers: Vec<Layer>,
    activation: Activation,
}

fn uniform_var(shape: &[usize], bound: f64, rng: &mut ChaCha8Rng) -> Result<Var, TrainingError> {
    let n = shape.iter().product();
    let v: Vec<f32> = (0..n)
        .map(|_| rng.gen_range(-bound..bound) as f32)
        .collect();
    let c = TrainingError::candle("initial weights");
    let t = Tensor::from_vec(v, shape, &Device::Cpu).map_err(&c)?;
    Var::from_tensor(&t).map_err(&c)
}

impl Model {
    /// A model drawn from `seed` with PyTorch's default initialisation
    /// (W and b uniform in ±1/√fan_in). The first layer is drawn first, so models
    /// that differ only in their output width share it.
    pub fn new(
        kind: ModelKind,
        inputs: usize,
        hidden: usize,
        outputs: usize,
        activation: Activation,
        seed: u64,
    ) -> Result<Model, TrainingError> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let widths = match kind {
            ModelKind::Logreg => vec![inputs, outputs],
            ModelKind::Mlp => vec![inputs, hidden, outputs],
        };
        let mut layers = Vec::new();
        for pair in widths.windows(2) {
            let (fan_in, fan_out) = (pair[0], pair[1]);
            let bound = 1.0 / (fan_in as f64).sqrt();
            // candle-nn's Linear holds W as (out, in) and computes x Wᵀ + b.
            let w = uniform_var(&[fan_out, fan_in], bound, &mut rng)?;
            let b = uniform_var(&[fan_out], bound, &mut rng)?;
            // The layer shares the variables' storage, so steps on them move it.
            let linear = candle_nn::Linear::new(w.as_tensor().clone(), Some(b.as_tensor().clone()));
            layers.push(Layer { linear, w, b });
        }
        Ok(Model { layers, activation })
    }

    /// Logits for rows `x` (rows × inputs).
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        use candle_core::Module;
        let mut h = x.clone();
        for (i, l) in self.layers.iter().enumerate() {
            h = l.linear.forward(&h)?;
            if i + 1 < self.layers.len() {
                h = match self.activation {
                    Activation::Relu => h.relu()?,
                    Activation::Sigmoid => candle_nn::ops::sigmoid(&h)?,
                    Activation::Tanh => h.tanh()?,
                };
            }
        }
        Ok(h)
    }

    /// Logits for many rows, computed in row blocks small enough that candle's
    /// matmul stays single-threaded (gemm threads products above 48·48·256
    /// multiply-adds; threading these tiny products costs more in wake-ups and
    /// yields than it saves, and the runs themselves are already parallel).
    pub fn forward_blocked(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let rows = x.dim(0)?;
        let widest = self
            .layers
            .iter()
            .map(|l| l.w.as_tensor().elem_count())
            .max()
            .unwrap_or(1)
            .max(1);
        let block = (GEMM_SINGLE_THREAD_WORK / widest).max(1);
        if rows <= block {
            return self.forward(x);
        }
        let mut parts = Vec::new();
        let mut start = 0;
        while start < rows {
            let len = block.min(rows - start);
            parts.push(self.forward(&x.narrow(0, start, len)?)?);
            start += len;
        }
        Tensor::cat(&parts, 0)
    }

    /// Every trainable variable.
    pub fn vars(&self) -> Vec<Var> {
        self.layers
            .iter()
            .flat_map(|l| [l.w.clone(), l.b.clone()])
            .collect()
    }

    fn grad_norm(grads: &GradStore, layer: &Layer) -> candle_core::Result<f64> {
        let mut sq = 0f64;
        for v in [&layer.w, &layer.b] {
            if let Some(g) = grads.get(v.as_tensor()) {
                sq += g
                    .sqr()?
                    .sum_all()?
                    .to_dtype(DType::F64)?
                    .to_scalar::<f64>()?;
            }
        }
        Ok(sq.sqrt())
    }
}

enum Opt {
    Sgd(candle_nn::SGD),
    Adam(candle_nn::AdamW),
}

impl Opt {
    fn new(kind: OptimizerKind, vars: Vec<Var>, lr: f64) -> candle_core::Result<Opt> {
        Ok(match kind {
            OptimizerKind::Sgd => Opt::Sgd(candle_nn::SGD::new(vars, lr)?),
            OptimizerKind::Adamw => Opt::Adam(candle_nn::AdamW::new(
                vars,
                candle_nn::ParamsAdamW {
                    lr,
                    weight_decay: 0.0,
                    ..Default::default()
                },
            )?),
        })
    }

    fn step(&mut self, grads: &GradStore) -> candle_core::Result<()> {
        match self {
            Opt::Sgd(o) => o.step(grads),
            Opt::Adam(o) => o.step(grads),
        }
    }
}

/// A split as tensors for one head.
struct Split {
    x: Tensor,
    targets: Tensor,
    labels: Labels,
}

fn tensors(
    head: Head,
    x: Vec<f32>,
    features: usize,
    labels: Labels,
) -> Result<Split, TrainingError> {
    let rows = x.len() / features;
    let (t, width) = match &labels {
        Labels::Classes { classes, y } => loss::target_matrix(head, &Targets::Classes(y, *classes)),
        Labels::Multi { labels: l, y, .. } => loss::target_matrix(head, &Targets::Multi(y, *l)),
    };
    let c = TrainingError::candle("data tensors");
    Ok(Split {
        x: Tensor::from_vec(x, (rows, features), &Device::Cpu).map_err(&c)?,
        targets: Tensor::from_vec(t, (rows, width), &Device::Cpu).map_err(&c)?,
        labels,
    })
}

fn evaluate(
    head: Head,
    model: &Model,
    split: &Split,
    ece_bins: usize,
) -> candle_core::Result<Metrics> {
    let z: Vec<f32> = model.forward_blocked(&split.x)?.flatten_all()?.to_vec1()?;
    let width = split.targets.dim(1)?;
    let p: Vec<f64> = z
        .chunks_exact(width)
        .flat_map(|row| {
            let row: Vec<f64> = row.iter().map(|&v| v as f64).collect();
            loss::probabilities(head, &row)
        })
        .collect();
    Ok(match &split.labels {
        Labels::Classes { classes, y } => metrics::single_label(&p, *classes, y, ece_bins),
        Labels::Multi { labels, y, p_true } => {
            metrics::multi_label(&p, *labels, y, p_true, ece_bins)
        }
    })
}

/// The number of outputs a head has on a data set.
pub fn head_width(head: Head, labels: &Labels) -> usize {
    match head {
        Head::Sigmoid1Bce => 1,
        _ => labels.width(),
    }
}

/// Train one run and evaluate it after every epoch.
pub fn train(
    data: &Dataset,
    spec: &Spec,
    key: RunKey,
    seeds: RunSeeds,
) -> Result<RunResult, TrainingError> {
    let (train_idx, test_idx) = data::split(data, spec.test_fraction, seeds.split);
    let mut x_train = data.select_x(&train_idx);
    let mut x_test = data.select_x(&test_idx);
    if key.standardised {
        let reference = x_train.clone();
        data::standardise(&reference, data.features, &mut [&mut x_train, &mut x_test]);
    }
    let train = tensors(
        key.head,
        x_train,
        data.features,
        data.labels.select(&train_idx),
    )?;
    let test = tensors(
        key.head,
        x_test,
        data.features,
        data.labels.select(&test_idx),
    )?;
    let label_prevalence = match &test.labels {
        Labels::Multi { labels, y, .. } => (0..*labels)
            .map(|k| {
                let rows = y.len() / labels;
                (0..rows).filter(|&r| y[r * labels + k] == 1).count() as f64 / rows as f64
            })
            .collect(),
        Labels::Classes { .. } => Vec::new(),
    };
    let majority_accuracy = data::majority_accuracy(&train.labels, &test.labels);
    let outputs = head_width(key.head, &data.labels);
    let model = Model::new(
        key.model,
        data.features,
        spec.hidden,
        outputs,
        spec.activation,
        seeds.init,
    )?;
    let c = TrainingError::candle(format!(
        "{} / {} / {} / standardised {} / seed {}",
        key.dataset.name(),
        key.model.name(),
        key.head.name(),
        key.standardised,
        key.seed
    ));
    let mut opt = Opt::new(spec.optimizer, model.vars(), spec.learning_rate).map_err(&c)?;
    let train_loss = |m: &Model| -> candle_core::Result<f64> {
        let z = m.forward_blocked(&train.x)?;
        loss::head_loss(key.head, &z, &train.targets, None)?
            .to_dtype(DType::F64)?
            .to_scalar::<f64>()
    };
    let mut epochs = vec![EpochState {
        epoch: 0,
        train_loss: train_loss(&model).map_err(&c)?,
        metrics: evaluate(key.head, &model, &test, spec.ece_bins).map_err(&c)?,
        grad_norm_output: f64::NAN,
        grad_norm_first: f64::NAN,
    }];
    let rows = train_idx.len();
    let mut order: Vec<u32> = (0..rows as u32).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seeds.order);
    for epoch in 1..=spec.epochs {
        order.shuffle(&mut rng);
        let (mut norm_out, mut norm_first, mut steps) = (0f64, 0f64, 0usize);
        for batch in order.chunks(spec.batch_size) {
            let idx = Tensor::from_slice(batch, batch.len(), &Device::Cpu).map_err(&c)?;
            let mut step = || -> candle_core::Result<(f64, f64)> {
                let xb = train.x.index_select(&idx, 0)?;
                let yb = train.targets.index_select(&idx, 0)?;
                let z = model.forward(&xb)?;
                let l = loss::head_loss(key.head, &z, &yb, None)?;
                let grads = l.backward()?;
                let first = &model.layers[0];
                let out = &model.layers[model.layers.len() - 1];
                let norms = (
                    Model::grad_norm(&grads, out)?,
                    Model::grad_norm(&grads, first)?,
                );
                opt.step(&grads)?;
                Ok(norms)
            };
            let (o, f) = step().map_err(&c)?;
            norm_out += o;
            norm_first += f;
            steps += 1;
        }
        epochs.push(EpochState {
            epoch,
            train_loss: train_loss(&model).map_err(&c)?,
            metrics: evaluate(key.head, &model, &test, spec.ece_bins).map_err(&c)?,
            grad_norm_output: norm_out / steps as f64,
            grad_norm_first: norm_first / steps as f64,
        });
        // Only the final epoch's per-row data is reported; drop the rest early.
        let n = epochs.len();
        if n >= 2 {
            let prev = &mut epochs[n - 2].metrics;
            prev.decisions = Vec::<Decision>::new();
            prev.prob_sums = Vec::new();
        }
    }
    Ok(RunResult {
        key,
        epochs,
        label_prevalence,
        majority_accuracy,
    })
}
