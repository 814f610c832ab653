//! The data sets (all offline), the seeded train/test splits and input
//! standardisation.
//!
//! - `digits`: smartcore's copy of the UCI handwritten digits, 1797 × 64 pixel
//!   counts in 0..=16, ten mutually exclusive classes.
//! - `iris`: linfa-datasets' iris, 150 × 4 measurements in cm, three classes.
//! - `breast_cancer`: smartcore's Wisconsin diagnostic set, 569 × 30 features whose
//!   scales run from 1e-3 to 4e3 (which is what makes standardisation matter), binary.
//! - `multilabel`: generated from a known logistic model (see [`multilabel`]), so the
//!   true probability of every label of every row is known.
//! - `digits_odd_even`: the digits with the binary target "the digit is odd"
//!   (class 1: 1, 3, 5, 7, 9; 906 of 1797 rows), a second binary task beside
//!   breast_cancer, on pixel counts in 0..=16 instead of features spread over
//!   decades.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use statrs::distribution::Normal;

use crate::spec::MultilabelSpec;
use crate::TrainingError;

/// A data set the study knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DatasetId {
    /// sklearn's digits (smartcore): 1797 × 64, 10 exclusive classes.
    Digits,
    /// Iris (linfa-datasets): 150 × 4, 3 exclusive classes.
    Iris,
    /// Breast cancer Wisconsin (smartcore): 569 × 30, binary.
    BreastCancer,
    /// Generated multi-label set with known label probabilities.
    Multilabel,
    /// The digits as a binary task: odd (1) against even (0).
    DigitsOddEven,
}

impl DatasetId {
    /// Every data set, in documentation order.
    pub const ALL: [DatasetId; 5] = [
        DatasetId::Digits,
        DatasetId::Iris,
        DatasetId::BreastCancer,
        DatasetId::Multilabel,
        DatasetId::DigitsOddEven,
    ];

    /// The name in scenario files and results.
    pub fn name(self) -> &'static str {
        match self {
            DatasetId::Digits => "digits",
            DatasetId::Iris => "iris",
            DatasetId::BreastCancer => "breast_cancer",
            DatasetId::Multilabel => "multilabel",
            DatasetId::DigitsOddEven => "digits_odd_even",
        }
    }

    /// Two exclusive classes.
    pub fn is_binary(self) -> bool {
        matches!(self, DatasetId::BreastCancer | DatasetId::DigitsOddEven)
    }

    /// Several labels per row, not exclusive.
    pub fn is_multilabel(self) -> bool {
        self == DatasetId::Multilabel
    }
}

/// The targets of a data set.
#[derive(Clone, Debug, PartialEq)]
pub enum Labels {
    /// One class per row, in `0..classes`.
    Classes {
        /// Number of classes.
        classes: usize,
        /// The class of each row.
        y: Vec<usize>,
    },
    /// Any subset of `labels` labels per row, with the probabilities they were drawn from.
    Multi {
        /// Number of labels.
        labels: usize,
        /// Row-major rows × labels, 0 or 1.
        y: Vec<u8>,
        /// Row-major rows × labels: the true P(label | x) of the generating model.
        p_true: Vec<f64>,
    },
}

impl Labels {
    /// Classes or labels: the width of a full head.
    pub fn width(&self) -> usize {
        match self {
            Labels::Classes { classes, .. } => *classes,
            Labels::Multi { labels, .. } => *labels,
        }
    }

    /// The same targets for the rows `idx`.
    pub fn select(&self, idx: &[usize]) -> Labels {
        match self {
            Labels::Classes { classes, y } => Labels::Classes {
                classes: *classes,
                y: idx.iter().map(|&i| y[i]).collect(),
            },
            Labels::Multi { labels, y, p_true } => {
                let l = *labels;
                Labels::Multi {
                    labels: l,
                    y: idx
                        .iter()
                        .flat_map(|&i| y[i * l..(i + 1) * l].to_vec())
                        .collect(),
                    p_true: idx
                        .iter()
                        .flat_map(|&i| p_true[i * l..(i + 1) * l].to_vec())
                        .collect(),
                }
            }
        }
    }
}

/// A data set in memory: row-major inputs and targets.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Which one.
    pub id: DatasetId,
    /// Row-major rows × features.
    pub x: Vec<f32>,
    /// Rows.
    pub rows: usize,
    /// Features.
    pub features: usize,
    /// Targets.
    pub labels: Labels,
}

impl Dataset {
    /// Load (or generate, from `seed`) a data set.
    pub fn load(
        id: DatasetId,
        multilabel: &MultilabelSpec,
        seed: u64,
    ) -> Result<Dataset, TrainingError> {
        match id {
            DatasetId::Digits => {
                let d = smartcore::dataset::digits::load_dataset();
                let y = d.target.iter().map(|&t| t.round() as usize).collect();
                from_parts(id, d.data, d.num_samples, d.num_features, 10, y)
            }
            DatasetId::DigitsOddEven => {
                let d = smartcore::dataset::digits::load_dataset();
                let y = d.target.iter().map(|&t| t.round() as usize % 2).collect();
                from_parts(id, d.data, d.num_samples, d.num_features, 2, y)
            }
            DatasetId::BreastCancer => {
                let d = smartcore::dataset::breast_cancer::load_dataset();
                let y = d.target.iter().map(|&t| t as usize).collect();
                from_parts(id, d.data, d.num_samples, d.num_features, 2, y)
            }
            DatasetId::Iris => {
                let d = linfa_datasets::iris();
                let (rows, features) = (d.records.nrows(), d.records.ncols());
                // ndarray iterates in logical (row-major) order whatever the layout.
                let x = d.records.iter().map(|&v| v as f32).collect();
                let y = d.targets.iter().copied().collect();
                from_parts(id, x, rows, features, 3, y)
            }
            DatasetId::Multilabel => Ok(multilabel_set(multilabel, seed)),
        }
    }

    /// The inputs of the rows `idx`, row-major.
    pub fn select_x(&self, idx: &[usize]) -> Vec<f32> {
        let d = self.features;
        idx.iter()
            .flat_map(|&i| self.x[i * d..(i + 1) * d].iter().copied())
            .collect()
    }
}

fn from_parts(
    id: DatasetId,
    x: Vec<f32>,
    rows: usize,
    features: usize,
    classes: usize,
    y: Vec<usize>,
) -> Result<Dataset, TrainingError> {
    if x.len() != rows * features || y.len() != rows {
        return Err(TrainingError::Data(format!(
            "{}: {} inputs and {} targets do not fit {rows} rows × {features} features",
            id.name(),
            x.len(),
            y.len()
        )));
    }
    if let Some(bad) = y.iter().find(|&&c| c >= classes) {
        return Err(TrainingError::Data(format!(
            "{}: class {bad} outside 0..{classes}",
            id.name()
        )));
    }
    Ok(Dataset {
        id,
        x,
        rows,
        features,
        labels: Labels::Classes { classes, y },
    })
}

/// The generated multi-label set. A latent z ~ N(0, I) of `features` entries gives
/// each label k the true probability σ(w_k · z + b_k) (w entries N(0, 4/features), so
/// logits have standard deviation about 2; biases spread over [-1.5, 0.5] so the
/// labels differ in prevalence) and the label is drawn from it. The observed
/// inputs are x_j = s_j z_j + m_j with scales s_j log-uniform in [0.1, 30] and
/// offsets m_j = s_j · U(0, 3), like unscaled measurements: a linear model on x can
/// still represent the true model exactly, standardised or not.
pub fn multilabel_set(spec: &MultilabelSpec, seed: u64) -> Dataset {
    let (n, d, l) = (spec.samples, spec.features, spec.labels);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let normal = Normal::standard();
    let w_sd = 2.0 / (d as f64).sqrt();
    let w: Vec<f64> = (0..l * d).map(|_| w_sd * rng.sample(normal)).collect();
    let b: Vec<f64> = (0..l)
        .map(|k| -1.5 + 2.0 * k as f64 / (l.max(2) - 1) as f64)
        .collect();
    let scale: Vec<f64> = (0..d)
        .map(|_| (rng.gen_range(0.1f64.ln()..30f64.ln())).exp())
        .collect();
    let offset: Vec<f64> = scale.iter().map(|s| s * rng.gen_range(0.0..3.0)).collect();
    let mut x = Vec::with_capacity(n * d);
    let mut y = Vec::with_capacity(n * l);
    let mut p_true = Vec::with_capacity(n * l);
    for _ in 0..n {
        let z: Vec<f64> = (0..d).map(|_| rng.sample(normal)).collect();
        for j in 0..d {
            x.push((scale[j] * z[j] + offset[j]) as f32);
        }
        for k in 0..l {
            let logit: f64 = b[k] + (0..d).map(|j| w[k * d + j] * z[j]).sum::<f64>();
            let p = 1.0 / (1.0 + (-logit).exp());
            p_true.push(p);
            y.push(u8::from(rng.gen::<f64>() < p));
        }
    }
    Dataset {
        id: DatasetId::Multilabel,
        x,
        rows: n,
        features: d,
        labels: Labels::Multi {
            labels: l,
            y,
            p_true,
        },
    }
}

/// The accuracy on `test` of the constant prediction of `train`'s majority
/// (per label for multi-label sets, averaged over labels as `accuracy` is): the
/// rate a model that learned nothing from the inputs reaches. Ties go to the
/// lower class (or to 0 for a label).
pub fn majority_accuracy(train: &Labels, test: &Labels) -> f64 {
    match (train, test) {
        (Labels::Classes { classes, y: ytr }, Labels::Classes { y: yte, .. }) => {
            let mut counts = vec![0usize; *classes];
            ytr.iter().for_each(|&c| counts[c] += 1);
            let best = (0..*classes)
                .max_by_key(|&c| (counts[c], std::cmp::Reverse(c)))
                .unwrap_or(0);
            yte.iter().filter(|&&c| c == best).count() as f64 / yte.len().max(1) as f64
        }
        (Labels::Multi { labels, y: ytr, .. }, Labels::Multi { y: yte, .. }) => {
            let l = *labels;
            let (rtr, rte) = (ytr.len() / l.max(1), yte.len() / l.max(1));
            let right: usize = (0..l)
                .map(|k| {
                    let ones = (0..rtr).filter(|&r| ytr[r * l + k] == 1).count();
                    let predict = u8::from(2 * ones > rtr);
                    (0..rte).filter(|&r| yte[r * l + k] == predict).count()
                })
                .sum();
            right as f64 / (rte * l).max(1) as f64
        }
        _ => f64::NAN,
    }
}

/// Row indices of a seeded split: `(train, test)`, stratified by class for
/// single-label sets (each class contributes round(count × fraction) test rows,
/// at least one when it has two or more rows), a plain random split for multi-label ones.
pub fn split(data: &Dataset, test_fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let groups: Vec<Vec<usize>> = match &data.labels {
        Labels::Classes { classes, y } => (0..*classes)
            .map(|c| (0..data.rows).filter(|&i| y[i] == c).collect())
            .collect(),
        Labels::Multi { .. } => vec![(0..data.rows).collect()],
    };
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for mut g in groups {
        g.shuffle(&mut rng);
        let mut k = (g.len() as f64 * test_fraction).round() as usize;
        if g.len() >= 2 {
            k = k.clamp(1, g.len() - 1);
        }
        test.extend_from_slice(&g[..k.min(g.len())]);
        train.extend_from_slice(&g[k.min(g.len())..]);
    }
    // Sorted so the row order is the data set's, whatever the class grouping.
    train.sort_unstable();
    test.sort_unstable();
    (train, test)
}

/// Standardise `x` (row-major, `features` wide) in place with the mean and
/// (population) standard deviation of `reference`; constant features are centred only.
pub fn standardise(reference: &[f32], features: usize, xs: &mut [&mut Vec<f32>]) {
    let rows = reference.len() / features.max(1);
    let mut mean = vec![0f64; features];
    let mut sq = vec![0f64; features];
    for r in reference.chunks_exact(features) {
        for (j, &v) in r.iter().enumerate() {
            mean[j] += v as f64;
        }
    }
    mean.iter_mut().for_each(|m| *m /= rows.max(1) as f64);
    for r in reference.chunks_exact(features) {
        for (j, &v) in r.iter().enumerate() {
            sq[j] += (v as f64 - mean[j]).powi(2);
        }
    }
    let sd: Vec<f64> = sq
        .iter()
        .map(|s| {
            let sd = (s / rows.max(1) as f64).sqrt();
            if sd > 0.0 {
                sd
            } else {
                1.0
            }
        })
        .collect();
    for x in xs {
        for r in x.chunks_exact_mut(features) {
            for (j, v) in r.iter_mut().enumerate() {
                *v = ((*v as f64 - mean[j]) / sd[j]) as f32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_sets_have_their_documented_shapes() {
        let ml = MultilabelSpec::default();
        let d = Dataset::load(DatasetId::Digits, &ml, 1).unwrap();
        assert_eq!((d.rows, d.features, d.labels.width()), (1797, 64, 10));
        assert!(d.x.iter().all(|&v| (0.0..=16.0).contains(&v)));
        let i = Dataset::load(DatasetId::Iris, &ml, 1).unwrap();
        assert_eq!((i.rows, i.features, i.labels.width()), (150, 4, 3));
        // The first iris row is the classic 5.1, 3.5, 1.4, 0.2 (setosa).
        assert_eq!(&i.x[..4], &[5.1, 3.5, 1.4, 0.2]);
        let b = Dataset::load(DatasetId::BreastCancer, &ml, 1).unwrap();
        assert_eq!((b.rows, b.features, b.labels.width()), (569, 30, 2));
        let Labels::Classes { y, .. } = &b.labels else {
            panic!()
        };
        // 212 malignant, 357 benign.
        let ones = y.iter().filter(|&&c| c == 1).count();
        assert!(ones == 357 || ones == 212, "{ones}");
        let o = Dataset::load(DatasetId::DigitsOddEven, &ml, 1).unwrap();
        assert_eq!((o.rows, o.features, o.labels.width()), (1797, 64, 2));
        assert_eq!(o.x, d.x);
        let (Labels::Classes { y: odd, .. }, Labels::Classes { y: digit, .. }) =
            (&o.labels, &d.labels)
        else {
            panic!()
        };
        assert!(odd.iter().zip(digit).all(|(&b, &c)| b == c % 2));
        assert_eq!(odd.iter().filter(|&&c| c == 1).count(), 906);
        assert!(DatasetId::DigitsOddEven.is_binary() && !DatasetId::Digits.is_binary());
    }

    #[test]
    fn majority_accuracy_is_the_constant_predictor_on_the_test_split() {
        let tr = Labels::Classes {
            classes: 3,
            y: vec![0, 1, 1, 2, 1],
        };
        let te = Labels::Classes {
            classes: 3,
            y: vec![1, 0, 1, 2],
        };
        assert_eq!(majority_accuracy(&tr, &te), 0.5);
        // Multi-label: label 0 mostly on (predict 1), label 1 mostly off (predict 0).
        let mtr = Labels::Multi {
            labels: 2,
            y: vec![1, 0, 1, 0, 0, 1],
            p_true: vec![0.5; 6],
        };
        let mte = Labels::Multi {
            labels: 2,
            y: vec![1, 1, 0, 0],
            p_true: vec![0.5; 4],
        };
        // Label 0: 1 of 2 right; label 1: 1 of 2 right.
        assert_eq!(majority_accuracy(&mtr, &mte), 0.5);
    }

    #[test]
    fn splits_are_stratified_disjoint_and_seeded() {
        let d = Dataset::load(DatasetId::Iris, &MultilabelSpec::default(), 1).unwrap();
        let (tr, te) = split(&d, 0.2, 7);
        assert_eq!((tr.len(), te.len()), (120, 30));
        assert!(te.iter().all(|i| !tr.contains(i)));
        let Labels::Classes { y, .. } = &d.labels else {
            panic!()
        };
        for c in 0..3 {
            assert_eq!(te.iter().filter(|&&i| y[i] == c).count(), 10);
        }
        assert_eq!(split(&d, 0.2, 7), (tr.clone(), te.clone()));
        assert_ne!(split(&d, 0.2, 8).1, te);
    }

    #[test]
    fn standardised_training_columns_have_mean_zero_and_unit_sd() {
        let mut a = vec![1.0f32, 10.0, 3.0, 10.0, 5.0, 10.0];
        let reference = a.clone();
        let mut b = vec![3.0f32, 11.0];
        standardise(&reference, 2, &mut [&mut a, &mut b]);
        // Column 0: mean 3, sd sqrt(8/3); column 1 is constant: centred only.
        let sd = (8.0f64 / 3.0).sqrt();
        assert!((a[0] as f64 + 2.0 / sd).abs() < 1e-6);
        assert_eq!((a[1], b[0], b[1]), (0.0, 0.0, 1.0));
    }

    #[test]
    fn multilabel_probabilities_match_label_frequencies() {
        let spec = MultilabelSpec {
            samples: 4000,
            features: 6,
            labels: 3,
        };
        let d = multilabel_set(&spec, 11);
        let Labels::Multi { y, p_true, .. } = &d.labels else {
            panic!()
        };
        // Mean of y and mean of p agree within a few binomial standard errors.
        for k in 0..3 {
            let fy = (0..4000).map(|i| y[i * 3 + k] as f64).sum::<f64>() / 4000.0;
            let fp = (0..4000).map(|i| p_true[i * 3 + k]).sum::<f64>() / 4000.0;
            assert!((fy - fp).abs() < 0.03, "label {k}: {fy} vs {fp}");
        }
        assert_eq!(multilabel_set(&spec, 11), d);
    }
}
