//! The claims ledger: each claim C01–C20 of the study's claims list gets a verdict
//! — holds, holds with caveats, does not hold, not tested here — computed from
//! measurements, never typed in. Most claims are measured here, directly: the
//! registry's variants in f16, bf16, f32 and f64 against the double-double
//! reference (`softmax_lab_core::reference`), with the error measures of
//! `softmax_lab_core::measure`. Timing claims (C16–C18) read the run's
//! `throughput.json` and training claims (C11, C12, C19) its `training.json`;
//! when such a file is missing the claim (or the part of it) is "not tested here"
//! and the evidence says which file was missing.
//!
//! Tables: the main table `claims` ([`COLUMNS`]), then the evidence tables, each
//! starting with the `scenario` column: `c01` … `c20` (one per claim that has
//! evidence; C15 adds `c15_gumbel` and `c15_relaxed`). The `figure` column links a
//! verdict to its evidence, relative to the report folder:
//! `results/<scenario>_cNN.csv`, or a plot of the training scenario.
//!
//! Every threshold a verdict uses is a named constant with the reason for its
//! value. Statistical verdicts use the training study's paired tests (the
//! `comparisons` table, see `softmax_lab_training::Comparison`): a comparison
//! counts when p < 0.05 / m (Bonferroni over the m comparisons the claim looks at)
//! and its sign is the one the claim predicts.
//!
//! Not here: the training itself, timing (read from the throughput results), plots.

use std::path::Path;
use std::sync::Arc;

use rand::Rng;
use softmax_lab_core::bounds::{self, Rounding};
use softmax_lab_core::dtype::pow2;
use softmax_lab_core::measure::{normwise_error, sum_deviation, ulp_distance, ulp_error};
use softmax_lab_core::variant::{forward_backward_f64, forward_f64};
use softmax_lab_core::{
    reference, Accumulation, DType, Formula, Options, Registry, Variant, VariantError, Xd,
};
use softmax_lab_hsoftmax::{Cost, FullSoftmaxHead, HierarchicalSoftmax, OutputHead, Tree};
use softmax_lab_logsumexp::sharded::bytes_exchanged;
use statrs::distribution::{ChiSquared, ContinuousCDF};

use crate::generate::{generate, stream};
use crate::results::{ColumnType, Results, Table, Value};
use crate::scenario::{Dist, Scenario};
use crate::stats::{fraction, median, summarize};
use crate::HarnessError;

/// The columns of the main table (named "claims"): claim, statement, verdict,
/// tested, evidence, figure.
pub const COLUMNS: [(&str, ColumnType); 6] = [
    ("claim", ColumnType::Text),
    ("statement", ColumnType::Text),
    ("verdict", ColumnType::Text),
    ("tested", ColumnType::Text),
    ("evidence", ColumnType::Text),
    ("figure", ColumnType::Text),
];

/// The claims put to the test: id and statement, as the study's claims list
/// restates them.
pub const CLAIMS: [(&str, &str); 20] = [
    ("C01", "Softmax outputs form a distribution: each in (0,1) and they sum to exactly 1."),
    ("C02", "Sigmoid outputs are independent; their sum over classes is not 1."),
    ("C03", "For two classes, softmax([a,b])[0] equals sigmoid(a−b)."),
    ("C04", "Sigmoid's derivative is at most 0.25 (at 0) and vanishes for large abs(x); beyond about ±5 it saturates."),
    ("C05", "Softmax has healthy gradients in every region (unlike sigmoid)."),
    ("C06", "Softmax + cross-entropy has gradient p − y, cleaner than either part alone."),
    ("C07", "exp of large logits overflows (e.g. [1000,1001,1002]); subtracting the max leaves the result unchanged and prevents it."),
    ("C08", "log(softmax(x)) loses precision; compute log-probabilities from logits directly (log-sum-exp)."),
    ("C09", "softmax([2.0, 1.0, 0.1]) ≈ [0.7, 0.24, 0.06]."),
    ("C10", "softmax([-20, 10, 30]) = [1.9287e-22, 2.0612e-09, 1.0]."),
    ("C11", "Independent sigmoids on mutually exclusive classes can give probabilities that sum above 1 (e.g. 0.9, 0.9, 0.9)."),
    ("C12", "For binary tasks, a 2-output softmax trains more stably than a 1-output sigmoid."),
    ("C13", "Softmax's tiny probabilities are never exactly zero; it is never sparse."),
    ("C14", "Softmax amplifies differences and suppresses non-maximal classes; temperature T→0 gives one-hot, T→∞ uniform."),
    ("C15", "Sparsemax gives exact zeros; Gumbel-softmax gives a differentiable near-one-hot sample."),
    ("C16", "Hierarchical softmax makes huge output vocabularies cheap (log V instead of V)."),
    ("C17", "Softmax needs a global synchronisation across shards; sigmoid can be computed independently."),
    ("C18", "Sigmoid is more expensive than ReLU (about 4 operations vs 1); hard sigmoid is a cheaper approximation."),
    ("C19", "Scaling inputs to about [-2, 2] keeps sigmoid in its non-saturated region and speeds training."),
    ("C20", "The textbook \"interview\" softmax that subtracts the max in place is safe to use."),
];

// ---------------------------------------------------------------------------------
// Thresholds of the verdicts.

/// C01: a row whose mass is off by more than 1% is no longer usable as a
/// distribution; below that, a nonzero |Σ − 1| is rounding (a caveat, not a failure).
const MAX_SUM_DEVIATION: f64 = 1e-2;
/// C02: sums of independent sigmoids equal 1 only by coincidence; "not 1" holds
/// when at least 99% of rows miss 1.
const NOT_ONE_MIN_FRACTION: f64 = 0.99;
/// C03: two results each within an ulp of the exact value can sit two ulps apart;
/// more than that is a difference the rounding of one evaluation does not explain.
const AGREE_ULPS: f64 = 2.0;
/// C04, C05: a derivative below a millionth of its peak has vanished (an update
/// scaled by it is lost next to the rounding of an f32 weight of size 1, 2^-24 ≈ 6e-8,
/// within two more decades).
const VANISHED_RATIO: f64 = 1e-6;
/// C04: "saturated" when σ'(x) has fallen below 5% of its peak (σ within 0.007 of 0 or 1).
const SATURATED_RATIO: f64 = 0.05;
/// C06: the fused gradient counts as accurate when its largest absolute error is
/// at most 16 unit roundoffs of the dtype (its entries lie in [−1, 1]: a handful
/// of roundings, with room for n = 10).
const GRAD_TOL_U: f64 = 16.0;
/// C06: step of the central differences (absolute: softmax varies on the unit scale
/// of the logits whatever their size); the truncation error is about h² ≈ 1e-12.
const FD_STEP: f64 = 1e-6;
/// C06: finite differences agree with p − y when the largest absolute difference is
/// below this (a million times the truncation error: anything larger is a wrong formula).
const FD_TOL: f64 = 1e-6;
/// C08: log_of_softmax "loses precision" when its worst error is at least ten
/// times log_softmax's (one ulp or more) at some scale, or it turns finite exact
/// values into −inf.
const LOSS_FACTOR: f64 = 10.0;
/// C14: one-hot reached when the largest probability is at least 0.99; uniform
/// when the entropy is at least 99% of ln n.
const ONE_HOT_MIN: f64 = 0.99;
/// C14: see [`ONE_HOT_MIN`].
const UNIFORM_ENTROPY_MIN: f64 = 0.99;
/// C15: the Gumbel-max samples match the categorical distribution unless a
/// chi-square goodness-of-fit test rejects at 1%.
const GOF_ALPHA: f64 = 0.01;
/// C15: a relaxed sample is "near one-hot" when its largest entry averages 0.9 or more.
const NEAR_ONE_HOT: f64 = 0.9;
/// C16: the hierarchical head's full distribution counts as "no saving" when it
/// needs at least half of the full head's dot products.
const NO_SAVING_FRACTION: f64 = 0.5;
/// C17: a shard's softmax computed without the exchange is "wrong" when some
/// probability is off by more than 0.01 absolutely.
const NEEDS_SYNC_ERROR: f64 = 1e-2;
/// C18: hard sigmoid is a coarse approximation when it is off by more than 0.01
/// (two decimals) somewhere.
const COARSE_APPROXIMATION: f64 = 1e-2;
/// C11, C12, C19: the family-wise significance level, split over the comparisons
/// a claim examines (Bonferroni).
const ALPHA: f64 = 0.05;

// ---------------------------------------------------------------------------------
// Verdicts and findings.

pub use softmax_lab_results::Verdict;

/// What one claim's measurement found: a row of the main table and its evidence.
#[derive(Clone, Debug)]
pub struct Finding {
    /// The verdict.
    pub verdict: Verdict,
    /// Which part of the claim was tested.
    pub tested: String,
    /// One sentence with the deciding numbers.
    pub evidence: String,
    /// A link to the evidence, relative to the report folder.
    pub figure: String,
    /// The evidence tables.
    pub tables: Vec<Table>,
}

impl Finding {
    fn not_tested(evidence: String) -> Finding {
        Finding {
            verdict: Verdict::NotTested,
            tested: "nothing".into(),
            evidence,
            figure: String::new(),
            tables: Vec::new(),
        }
    }
}

/// Measure every claim; `results_dir` is the run's results folder, where the other
/// scenarios of this run have already written their JSON (throughput.json,
/// training.json, ...). Returns the main table "claims" first, then the evidence
/// tables ("c01".."c20" and a few more).
pub fn measure(
    s: &Scenario,
    registry: &Registry,
    results_dir: &Path,
) -> Result<Vec<Table>, HarnessError> {
    let cx = Ctx {
        s,
        registry,
        results_dir,
    };
    let mut main = Table::new("claims", &COLUMNS);
    let mut evidence = Vec::new();
    for (&(id, statement), f) in CLAIMS.iter().zip(CLAIM_FNS) {
        let finding = f(&cx)?;
        main.push(vec![
            Value::Text(id.into()),
            Value::Text(statement.into()),
            Value::Text(finding.verdict.name().into()),
            Value::Text(finding.tested),
            Value::Text(finding.evidence),
            Value::Text(finding.figure),
        ]);
        evidence.extend(finding.tables);
    }
    Ok(std::iter::once(main).chain(evidence).collect())
}

type ClaimFn = fn(&Ctx) -> Result<Finding, HarnessError>;

const CLAIM_FNS: [ClaimFn; 20] = [
    c01, c02, c03, c04, c05, c06, c07, c08, c09, c10, c11, c12, c13, c14, c15, c16, c17, c18, c19,
    c20,
];

// ---------------------------------------------------------------------------------
// The context every claim measures in.

struct Ctx<'a> {
    s: &'a Scenario,
    registry: &'a Registry,
    results_dir: &'a Path,
}

/// Return a "not tested" finding from the claim when a variant is not registered.
macro_rules! need {
    ($cx:expr, $id:expr) => {
        match $cx.registry.get($id) {
            Ok(v) => v,
            Err(_) => {
                return Ok(Finding::not_tested(format!(
                    "variant '{}' is not in the registry",
                    $id
                )))
            }
        }
    };
}

impl Ctx<'_> {
    /// The registered variants among `ids`, in that order.
    fn present(&self, ids: &[&str]) -> Vec<Arc<dyn Variant>> {
        ids.iter()
            .filter_map(|id| self.registry.get(id).ok())
            .collect()
    }

    fn verr(&self, variant: &str, dtype: DType, e: VariantError) -> HarnessError {
        HarnessError::Variant {
            scenario: self.s.name.clone(),
            variant: variant.to_string(),
            dtype: dtype.name().into(),
            source: Box::new(e),
        }
    }

    fn fwd(
        &self,
        v: &dyn Variant,
        dtype: DType,
        x: &[f64],
        n: usize,
        t: f64,
    ) -> Result<Vec<f64>, HarnessError> {
        forward_f64(v, dtype, x, n, &Options { temperature: t })
            .map_err(|e| self.verr(v.id(), dtype, e))
    }

    #[allow(clippy::too_many_arguments)]
    fn fwd_bwd(
        &self,
        v: &dyn Variant,
        dtype: DType,
        x: &[f64],
        dy: &[f64],
        n: usize,
        t: f64,
    ) -> Result<(Vec<f64>, Vec<f64>), HarnessError> {
        forward_backward_f64(v, dtype, x, dy, n, &Options { temperature: t })
            .map_err(|e| self.verr(v.id(), dtype, e))
    }

    /// Seeded values of `dist` for a claim: the stream depends on the scenario's
    /// seed, the claim and the row length only, so every dtype and scale sees the
    /// same draws (as in the other scenarios).
    #[allow(clippy::too_many_arguments)]
    fn draw(
        &self,
        claim: u64,
        dist: &Dist,
        dtype: DType,
        n: usize,
        rows: usize,
        scale: f64,
    ) -> Result<Vec<f64>, HarnessError> {
        let mut rng = stream(self.s.seed, &[0xc1a1, claim, n as u64]);
        generate(dist, dtype, n, rows, scale, &mut rng).map_err(|e| HarnessError::Variant {
            scenario: self.s.name.clone(),
            variant: String::new(),
            dtype: dtype.name().into(),
            source: Box::new(VariantError::Backend {
                variant: dist.name().into(),
                message: e.to_string(),
            }),
        })
    }

    /// Standard normal logits times `scale`, rounded to `dtype`.
    fn normal(
        &self,
        claim: u64,
        dtype: DType,
        n: usize,
        rows: usize,
        scale: f64,
    ) -> Result<Vec<f64>, HarnessError> {
        let d = Dist::Normal {
            mean: 0.0,
            std: 1.0,
        };
        self.draw(claim, &d, dtype, n, rows, scale)
    }

    /// An evidence table: `scenario` and then `cols`.
    fn table(&self, name: &str, cols: &[(&str, ColumnType)]) -> Table {
        let mut all = vec![("scenario", ColumnType::Text)];
        all.extend_from_slice(cols);
        Table::new(name, &all)
    }

    fn push(&self, t: &mut Table, cells: Vec<Value>) {
        let mut row = vec![Value::Text(self.s.name.clone())];
        row.extend(cells);
        t.push(row);
    }

    /// The link to an evidence table's CSV, relative to the report folder.
    fn csv(&self, table: &str) -> String {
        format!("results/{}_{table}.csv", self.s.name)
    }

    /// Pick by the form of the run.
    fn q<T>(&self, quick: T, full: T) -> T {
        if self.s.quick {
            quick
        } else {
            full
        }
    }

    /// An earlier scenario's results, or None when its file is missing.
    fn load(&self, file: &str) -> Result<Option<Results>, HarnessError> {
        let path = self.results_dir.join(file);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(HarnessError::Results {
                    path,
                    message: e.to_string(),
                })
            }
        };
        let results = Results::from_json(&text).map_err(|e| HarnessError::Results {
            path: path.clone(),
            message: e.to_string(),
        })?;
        results
            .verify_files(self.results_dir)
            .map_err(|message| HarnessError::Results { path, message })?;
        Ok(Some(results))
    }
}

// ---------------------------------------------------------------------------------
// Small helpers.

fn txt(s: impl Into<String>) -> Value {
    Value::Text(s.into())
}
fn flt(v: f64) -> Value {
    Value::Float(v)
}
fn int(v: usize) -> Value {
    Value::Int(v as i64)
}

/// A number with `digits` significant digits, for evidence sentences.
fn sig(v: f64, digits: usize) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let e = v.abs().log10().floor() as i32;
    if (-3..6).contains(&e) {
        let dec = (digits as i32 - 1 - e).max(0) as usize;
        format!("{v:.dec$}")
    } else {
        format!("{v:.prec$e}", prec = digits.saturating_sub(1))
    }
}

/// A fraction as a percentage.
fn pct(f: f64) -> String {
    format!("{}%", sig(100.0 * f, 3))
}

/// The spacing of `dtype`'s values just above 1, 2^(1−p): "one ulp of 1".
fn ulp_of_one(dtype: DType) -> f64 {
    pow2(1 - dtype.format().precision as i32)
}

/// max_i |computed_i − exact_i| (infinite where either is not finite).
fn max_abs_error(computed: &[f64], exact: &[Xd]) -> f64 {
    worst(
        computed
            .iter()
            .zip(exact)
            .map(|(&c, &e)| Xd::from_f64(c).sub(e).abs().to_f64()),
    )
}

/// Largest of some values, NaN counted as infinite (a NaN error is the worst one).
fn worst(values: impl IntoIterator<Item = f64>) -> f64 {
    values
        .into_iter()
        .map(|v| if v.is_nan() { f64::INFINITY } else { v })
        .fold(0.0, f64::max)
}

fn dtype_list(d: &[DType]) -> String {
    if d.is_empty() {
        "none".into()
    } else {
        d.iter().map(|d| d.name()).collect::<Vec<_>>().join(", ")
    }
}

fn reference_rows(function: softmax_lab_core::Function, x: &[f64], n: usize) -> Vec<Xd> {
    x.chunks_exact(n)
        .flat_map(|r| reference::forward(function, r, 1.0))
        .collect()
}

// ---------------------------------------------------------------------------------
// C01: the distribution claim.

fn c01(cx: &Ctx) -> Result<Finding, HarnessError> {
    let ids = [
        "stable",
        "stable_wide",
        "online",
        "sharded_softmax",
        "candle_softmax_last_dim",
        "candle_softmax",
    ];
    let vs = cx.present(&ids);
    if vs.is_empty() {
        return Ok(Finding::not_tested("no softmax variant registered".into()));
    }
    let (n, rows) = cx.q((64, 8), (256, 32));
    let scales = [1.0, 10.0, 100.0];
    let mut t = cx.table(
        "c01",
        &[
            ("variant", ColumnType::Text),
            ("dtype", ColumnType::Text),
            ("n", ColumnType::Int),
            ("rows", ColumnType::Int),
            ("scale", ColumnType::Float),
            ("max_sum_deviation", ColumnType::Float),
            ("max_sum_deviation_ulps_of_one", ColumnType::Float),
            ("rows_sum_not_one_fraction", ColumnType::Float),
            ("exact_zero_fraction", ColumnType::Float),
            ("exact_one_fraction", ColumnType::Float),
            ("min_output", ColumnType::Float),
            ("max_output", ColumnType::Float),
            ("out_of_range_count", ColumnType::Int),
        ],
    );
    struct Rec {
        variant: &'static str,
        framework: bool,
        dtype: DType,
        scale: f64,
        dev: f64,
        dev_ulps: f64,
        not_one: f64,
        zeros: f64,
        ones: f64,
        out: usize,
    }
    let mut recs = Vec::new();
    for dtype in DType::ALL {
        for &scale in &scales {
            let x = cx.normal(1, dtype, n, rows, scale)?;
            for v in &vs {
                let y = cx.fwd(v.as_ref(), dtype, &x, n, 1.0)?;
                let devs: Vec<f64> = y.chunks_exact(n).map(sum_deviation).collect();
                let dev = worst(devs.iter().copied());
                let not_one = devs.iter().filter(|&&d| d != 0.0).count();
                let zeros = y.iter().filter(|&&v| v == 0.0).count();
                let ones = y.iter().filter(|&&v| v == 1.0).count();
                let out = y.iter().filter(|&&v| !(0.0..=1.0).contains(&v)).count();
                let finite = y.iter().copied().filter(|v| v.is_finite());
                let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                    (a.min(v), b.max(v))
                });
                let r = Rec {
                    variant: v.id(),
                    framework: v.info().accumulation == Accumulation::Framework,
                    dtype,
                    scale,
                    dev,
                    dev_ulps: dev / ulp_of_one(dtype),
                    not_one: fraction(not_one, rows),
                    zeros: fraction(zeros, y.len()),
                    ones: fraction(ones, y.len()),
                    out,
                };
                cx.push(
                    &mut t,
                    vec![
                        txt(r.variant),
                        txt(dtype.name()),
                        int(n),
                        int(rows),
                        flt(scale),
                        flt(r.dev),
                        flt(r.dev_ulps),
                        flt(r.not_one),
                        flt(r.zeros),
                        flt(r.ones),
                        flt(lo),
                        flt(hi),
                        int(out),
                    ],
                );
                recs.push(r);
            }
        }
    }
    // The verdict is the function's, so it rests on the variants that implement it
    // as the literature does; a framework's narrow-type sums are reported beside it.
    let (own, framework): (Vec<&Rec>, Vec<&Rec>) = recs.iter().partition(|r| !r.framework);
    let out: usize = own.iter().map(|r| r.out).sum();
    let max_dev = worst(own.iter().map(|r| r.dev));
    let exact = own
        .iter()
        .all(|r| r.dev == 0.0 && r.zeros == 0.0 && r.ones == 0.0);
    let verdict = if out > 0 || max_dev > MAX_SUM_DEVIATION {
        Verdict::DoesNotHold
    } else if exact {
        Verdict::Holds
    } else {
        Verdict::HoldsWithCaveats
    };
    let w = own
        .iter()
        .max_by(|a, b| a.dev_ulps.total_cmp(&b.dev_ulps))
        .ok_or_else(|| unreachable_empty("c01"))?;
    let fw = framework
        .iter()
        .max_by(|a, b| a.dev.total_cmp(&b.dev))
        .map(|r| {
            format!(
                "; {} (the framework's narrow-type sums) is off by up to {} ({}, scale {})",
                r.variant,
                sig(r.dev, 3),
                r.dtype,
                r.scale
            )
        })
        .unwrap_or_default();
    let stable32 = recs
        .iter()
        .find(|r| r.variant == vs[0].id() && r.dtype == DType::F32 && r.scale == 1.0);
    let zero_dtypes = |scale: f64| -> Vec<DType> {
        DType::ALL
            .into_iter()
            .filter(|&d| {
                recs.iter()
                    .any(|r| r.dtype == d && r.scale == scale && r.zeros > 0.0)
            })
            .collect()
    };
    let zmax = own
        .iter()
        .max_by(|a, b| a.zeros.total_cmp(&b.zeros))
        .ok_or_else(|| unreachable_empty("c01"))?;
    let evidence = format!(
        "max |Σ−1| = {} ulps of 1 ({} {} at scale {}, {} absolute){}{fw}; exact zeros from underflow at scale 10 in {} and at scale 100 in {} (up to {} of outputs, {} {}); outputs outside [0,1] or non-finite: {out}",
        sig(w.dev_ulps, 3),
        w.variant,
        w.dtype,
        w.scale,
        sig(w.dev, 2),
        stable32
            .map(|r| format!("; {} f32 rows with Σ ≠ 1 exactly: {}", r.variant, pct(r.not_one)))
            .unwrap_or_default(),
        dtype_list(&zero_dtypes(10.0)),
        dtype_list(&zero_dtypes(100.0)),
        pct(zmax.zeros),
        zmax.variant,
        zmax.dtype,
    );
    Ok(Finding {
        verdict,
        tested: "all: range, exact zeros and sum to one per variant and dtype, normal logits at scales 1, 10, 100 (verdict from our implementations; candle reported)".into(),
        evidence,
        figure: cx.csv("c01"),
        tables: vec![t],
    })
}

/// An internal "no records" error: the loops above always produce records.
fn unreachable_empty(claim: &str) -> HarnessError {
    HarnessError::Training {
        scenario: "claims".into(),
        message: format!("{claim}: no measurements were made (a bug in the claims module)"),
    }
}

// ---------------------------------------------------------------------------------
// C02: sigmoids are independent and do not sum to one.

fn c02(cx: &Ctx) -> Result<Finding, HarnessError> {
    let vs = cx.present(&["sigmoid", "candle_sigmoid"]);
    if vs.is_empty() {
        return Ok(Finding::not_tested("no sigmoid variant registered".into()));
    }
    let classes = 10;
    let rows = cx.q(200, 2000);
    let mut t = cx.table(
        "c02",
        &[
            ("variant", ColumnType::Text),
            ("dtype", ColumnType::Text),
            ("classes", ColumnType::Int),
            ("rows", ColumnType::Int),
            ("scale", ColumnType::Float),
            ("sum_mean", ColumnType::Float),
            ("sum_ci95_low", ColumnType::Float),
            ("sum_ci95_high", ColumnType::Float),
            ("sum_min", ColumnType::Float),
            ("sum_max", ColumnType::Float),
            ("sum_not_one_fraction", ColumnType::Float),
            ("others_changed_fraction", ColumnType::Float),
        ],
    );
    let mut min_not_one = f64::INFINITY;
    let mut max_changed: f64 = 0.0;
    let mut f32_summary = None;
    for dtype in DType::ALL {
        for scale in [1.0, 4.0] {
            let x = cx.normal(2, dtype, classes, rows, scale)?;
            // One logit per row moved by +1: outputs at the other positions must not move.
            let mut x2 = x.clone();
            for r in 0..rows {
                x2[r * classes + r % classes] += 1.0;
            }
            for v in &vs {
                let y = cx.fwd(v.as_ref(), dtype, &x, classes, 1.0)?;
                let y2 = cx.fwd(v.as_ref(), dtype, &x2, classes, 1.0)?;
                let sums: Vec<f64> = y
                    .chunks_exact(classes)
                    .map(|r| {
                        r.iter()
                            .fold(Xd::ZERO, |a, &v| a.add(Xd::from_f64(v)))
                            .to_f64()
                    })
                    .collect();
                let not_one = y
                    .chunks_exact(classes)
                    .filter(|r| sum_deviation(r) != 0.0)
                    .count();
                let changed = (0..rows * classes)
                    .filter(|&k| k % classes != (k / classes) % classes)
                    .filter(|&k| y[k].to_bits() != y2[k].to_bits())
                    .count();
                let sm = summarize(&sums);
                let nf = fraction(not_one, rows);
                let cf = fraction(changed, rows * (classes - 1));
                min_not_one = min_not_one.min(nf);
                max_changed = max_changed.max(cf);
                if dtype == DType::F32 && scale == 1.0 && v.id() == vs[0].id() {
                    f32_summary = Some((sm, nf));
                }
                cx.push(
                    &mut t,
                    vec![
                        txt(v.id()),
                        txt(dtype.name()),
                        int(classes),
                        int(rows),
                        flt(scale),
                        flt(sm.mean),
                        flt(sm.ci95_low),
                        flt(sm.ci95_high),
                        flt(sm.min),
                        flt(sm.max),
                        flt(nf),
                        flt(cf),
                    ],
                );
            }
        }
    }
    let verdict = if max_changed > 0.0 {
        Verdict::DoesNotHold
    } else if min_not_one >= NOT_ONE_MIN_FRACTION {
        Verdict::Holds
    } else {
        Verdict::HoldsWithCaveats
    };
    let (sm, nf) = f32_summary.ok_or_else(|| unreachable_empty("c02"))?;
    let evidence = format!(
        "{classes} sigmoids of N(0,1) logits sum to {} on average (95% CI {}–{}, range {}–{}, f32), ≠ 1 in {} of rows (at least {} in every variant, dtype and scale); moving one logit changed {} of the other outputs",
        sig(sm.mean, 4),
        sig(sm.ci95_low, 4),
        sig(sm.ci95_high, 4),
        sig(sm.min, 3),
        sig(sm.max, 3),
        pct(nf),
        pct(min_not_one),
        pct(max_changed),
    );
    Ok(Finding {
        verdict,
        tested: "all (sums of 10 sigmoids, and independence: outputs unchanged when another logit moves)".into(),
        evidence,
        figure: cx.csv("c02"),
        tables: vec![t],
    })
}

// ---------------------------------------------------------------------------------
// C03: softmax of two logits against the sigmoid of their difference.

fn c03(cx: &Ctx) -> Result<Finding, HarnessError> {
    let stable = need!(cx, "stable");
    let sigmoid = need!(cx, "sigmoid");
    let per_scale = cx.q(100, 500);
    let mut t = cx.table(
        "c03",
        &[
            ("dtype", ColumnType::Text),
            ("points", ColumnType::Int),
            ("max_diff_ulps", ColumnType::Float),
            ("median_diff_ulps", ColumnType::Float),
            ("equal_fraction", ColumnType::Float),
            ("max_softmax_error_ulps", ColumnType::Float),
            ("max_sigmoid_error_ulps", ColumnType::Float),
            ("worst_a", ColumnType::Float),
            ("worst_b", ColumnType::Float),
        ],
    );
    struct Rec {
        dtype: DType,
        max: f64,
        median: f64,
        equal: f64,
        err_p: f64,
        err_q: f64,
        wa: f64,
        wb: f64,
    }
    let mut recs = Vec::new();
    for dtype in DType::ALL {
        let f = dtype.format();
        // a − b on a grid with b = 0, then random pairs at three scales.
        let mut pairs: Vec<(f64, f64)> = (0..=160)
            .map(|k| (f.round_f64(-40.0 + 0.5 * k as f64), 0.0))
            .collect();
        for (i, scale) in [1.0, 10.0, 100.0].into_iter().enumerate() {
            let x = cx.normal(30 + i as u64, dtype, 2, per_scale, scale)?;
            pairs.extend(x.chunks_exact(2).map(|p| (p[0], p[1])));
        }
        let x: Vec<f64> = pairs.iter().flat_map(|&(a, b)| [a, b]).collect();
        let p = cx.fwd(stable.as_ref(), dtype, &x, 2, 1.0)?;
        // What a user computes: the difference in the dtype, then the sigmoid.
        let d: Vec<f64> = pairs.iter().map(|&(a, b)| a - b).collect();
        let q = cx.fwd(sigmoid.as_ref(), dtype, &d, d.len(), 1.0)?;
        let mut diffs = Vec::with_capacity(pairs.len());
        let (mut err_p, mut err_q) = (0.0f64, 0.0f64);
        let (mut wmax, mut wa, mut wb) = (-1.0, 0.0, 0.0);
        for (k, &(a, b)) in pairs.iter().enumerate() {
            let exact = reference::softmax(&[a, b], 1.0)[0];
            let (pk, qk) = (p[2 * k], q[k]);
            let dd = ulp_distance(dtype, pk, qk);
            err_p = err_p.max(ulp_error(dtype, pk, exact));
            err_q = err_q.max(ulp_error(dtype, qk, exact));
            if dd > wmax {
                (wmax, wa, wb) = (dd, a, b);
            }
            diffs.push(dd);
        }
        let r = Rec {
            dtype,
            max: worst(diffs.iter().copied()),
            median: median(&diffs),
            equal: fraction(diffs.iter().filter(|&&d| d == 0.0).count(), diffs.len()),
            err_p,
            err_q,
            wa,
            wb,
        };
        cx.push(
            &mut t,
            vec![
                txt(dtype.name()),
                int(pairs.len()),
                flt(r.max),
                flt(r.median),
                flt(r.equal),
                flt(r.err_p),
                flt(r.err_q),
                flt(r.wa),
                flt(r.wb),
            ],
        );
        recs.push(r);
    }
    let verdict = if recs.iter().all(|r| r.max <= AGREE_ULPS) {
        Verdict::Holds
    } else if recs.iter().all(|r| r.median <= AGREE_ULPS) {
        Verdict::HoldsWithCaveats
    } else {
        Verdict::DoesNotHold
    };
    let parts: Vec<String> = recs
        .iter()
        .map(|r| {
            format!(
                "{} max {} ulps (equal in {}; softmax ≤ {}, sigmoid(fl(a−b)) ≤ {} ulps from exact; worst at a = {}, b = {})",
                r.dtype,
                sig(r.max, 3),
                pct(r.equal),
                sig(r.err_p, 2),
                sig(r.err_q, 2),
                sig(r.wa, 4),
                sig(r.wb, 4)
            )
        })
        .collect();
    Ok(Finding {
        verdict,
        tested: "all: stable softmax([a,b])[0] against the sigmoid variant on a − b rounded to the dtype, over a grid of a − b in [−40, 40] and random pairs at scales 1, 10, 100".into(),
        evidence: format!("difference between the two: {}", parts.join("; ")),
        figure: cx.csv("c03"),
        tables: vec![t],
    })
}

// ---------------------------------------------------------------------------------
// C04: sigmoid's derivative.

fn c04(cx: &Ctx) -> Result<Finding, HarnessError> {
    let sigmoid = need!(cx, "sigmoid");
    let mut vs = vec![sigmoid.clone()];
    vs.extend(cx.present(&["sigmoid_naive", "candle_sigmoid"]));
    let step = cx.q(1.0 / 16.0, 1.0 / 64.0);
    let steps = (100.0 / step) as usize;
    let grid: Vec<f64> = (0..=steps).map(|k| -50.0 + k as f64 * step).collect();
    let points = [
        -40.0, -20.0, -10.0, -5.0, -2.5, 0.0, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0,
    ];
    let mut t = cx.table(
        "c04",
        &[
            ("variant", ColumnType::Text),
            ("dtype", ColumnType::Text),
            ("point", ColumnType::Text),
            ("x", ColumnType::Float),
            ("derivative", ColumnType::Float),
            ("reference", ColumnType::Float),
            ("ratio_to_peak", ColumnType::Float),
            ("ulp_error", ColumnType::Float),
            ("exact_zero", ColumnType::Bool),
        ],
    );
    let peak = 0.25;
    let (mut peak_ok, mut sat_ok, mut van_ok) = (true, true, true);
    let mut sat_ratio: f64 = 0.0;
    let mut zero_at_40 = Vec::new();
    for v in &vs {
        for dtype in DType::ALL {
            let f = dtype.format();
            let ones = vec![1.0; grid.len()];
            let (_, dx) = cx.fwd_bwd(v.as_ref(), dtype, &grid, &ones, grid.len(), 1.0)?;
            let (mut best, mut at) = (f64::NEG_INFINITY, 0.0f64);
            // The largest value; among ties (0.25 is reached next to 0 in the
            // narrow dtypes by rounding), the x nearest 0.
            for (&g, &d) in grid.iter().zip(&dx) {
                let xr = f.round_f64(g);
                if d > best || (d == best && xr.abs() < at.abs()) {
                    (best, at) = (d, xr);
                }
            }
            let ones = vec![1.0; points.len()];
            let (_, dp) = cx.fwd_bwd(v.as_ref(), dtype, &points, &ones, points.len(), 1.0)?;
            let mut row = |point: &str, x: f64, d: f64| {
                let exact = reference::sigmoid_derivative(x);
                cx.push(
                    &mut t,
                    vec![
                        txt(v.id()),
                        txt(dtype.name()),
                        txt(point),
                        flt(x),
                        flt(d),
                        flt(exact.to_f64()),
                        flt(d / peak),
                        flt(ulp_error(dtype, d, exact)),
                        Value::Bool(d == 0.0),
                    ],
                );
            };
            row("max over grid", at, best);
            for (&x, &d) in points.iter().zip(&dp) {
                row("fixed", x, d);
            }
            if v.id() == sigmoid.id() {
                // At most 0.25 everywhere, and 0.25 at 0.
                peak_ok &= best == peak && at == 0.0;
                for (&x, &d) in points.iter().zip(&dp) {
                    if x.abs() == 5.0 {
                        sat_ratio = sat_ratio.max(d / peak);
                        sat_ok &= d / peak < SATURATED_RATIO;
                    }
                    if x.abs() == 20.0 {
                        van_ok &= d / peak < VANISHED_RATIO;
                    }
                    if x == 40.0 && d == 0.0 {
                        zero_at_40.push(dtype);
                    }
                }
            }
        }
    }
    let at = |x: f64| reference::sigmoid_derivative(x).to_f64();
    let verdict = match (peak_ok && van_ok, sat_ok) {
        (true, true) => Verdict::Holds,
        (true, false) => Verdict::HoldsWithCaveats,
        _ => Verdict::DoesNotHold,
    };
    let evidence = format!(
        "the largest σ' over x in [−50, 50] is {} at x = 0 in every dtype: {}; σ'(±2.5) = {}, σ'(±5) = {} ({} of the peak, at most {} computed), σ'(±10) = {}, σ'(±20) = {}, σ'(±40) = {} (exactly 0 in {} with the stable sigmoid)",
        sig(peak, 2),
        if peak_ok { "yes" } else { "no" },
        sig(at(2.5), 3),
        sig(at(5.0), 3),
        pct(at(5.0) / peak),
        pct(sat_ratio),
        sig(at(10.0), 3),
        sig(at(20.0), 3),
        sig(at(40.0), 3),
        dtype_list(&zero_at_40),
    );
    Ok(Finding {
        verdict,
        tested: format!(
            "all: σ' from the variants' backward on a grid (step {step}) and at fixed points; 'saturates' read as σ' < {} of its peak",
            pct(SATURATED_RATIO)
        ),
        evidence,
        figure: cx.csv("c04"),
        tables: vec![t],
    })
}

// ---------------------------------------------------------------------------------
// C05: the softmax Jacobian vanishes once one logit dominates.

fn c05(cx: &Ctx) -> Result<Finding, HarnessError> {
    let stable = need!(cx, "stable");
    let n = 10;
    let gaps = [0.0, 1.0, 2.0, 5.0, 10.0, 15.0, 20.0, 30.0, 50.0, 100.0];
    let mut t = cx.table(
        "c05",
        &[
            ("variant", ColumnType::Text),
            ("dtype", ColumnType::Text),
            ("input", ColumnType::Text),
            ("scale", ColumnType::Float),
            ("gap", ColumnType::Float),
            ("jacobian_frobenius", ColumnType::Float),
            ("reference_frobenius", ColumnType::Float),
            ("ratio_to_gap_zero", ColumnType::Float),
            ("sigmoid_derivative_at_gap", ColumnType::Float),
            ("exact_zero_fraction", ColumnType::Float),
        ],
    );
    // The identity, row by row: backward with dy = e_j gives column j of J (J = Jᵀ).
    let eye: Vec<f64> = (0..n * n)
        .map(|k| if k / n == k % n { 1.0 } else { 0.0 })
        .collect();
    let frob_ref = |x: &[f64]| -> f64 {
        (0..n)
            .map(|j| {
                reference::softmax_vjp(x, 1.0, &eye[j * n..(j + 1) * n])
                    .iter()
                    .map(|v| v.to_f64().powi(2))
                    .sum::<f64>()
            })
            .sum::<f64>()
            .sqrt()
    };
    let mut base = vec![0.0; n];
    let ref0 = frob_ref(&base);
    let mut at_largest = f64::NAN;
    let mut zero_dtypes = Vec::new();
    for dtype in DType::ALL {
        let mut inputs: Vec<(&str, f64, Vec<f64>)> = gaps
            .iter()
            .map(|&g| {
                base[0] = g;
                ("one logit ahead", 1.0, base.clone())
            })
            .collect();
        for (i, scale) in [0.1, 1.0, 10.0, 100.0].into_iter().enumerate() {
            inputs.push((
                "normal",
                scale,
                cx.normal(50 + i as u64, dtype, n, 1, scale)?,
            ));
        }
        let mut any_zero = false;
        for (input, scale, x) in inputs {
            let xr: Vec<f64> = x.iter().map(|&v| dtype.format().round_f64(v)).collect();
            let rep: Vec<f64> = (0..n).flat_map(|_| xr.iter().copied()).collect();
            let (_, jac) = cx.fwd_bwd(stable.as_ref(), dtype, &rep, &eye, n, 1.0)?;
            let frob = jac.iter().map(|v| v * v).sum::<f64>().sqrt();
            let zeros = fraction(jac.iter().filter(|&&v| v == 0.0).count(), jac.len());
            let rf = frob_ref(&xr);
            let mut sorted = xr.clone();
            sorted.sort_by(|a, b| b.total_cmp(a));
            let gap = sorted[0] - sorted[1];
            if input != "normal" && gap == 100.0 {
                at_largest = rf / ref0;
                any_zero |= frob == 0.0;
            }
            cx.push(
                &mut t,
                vec![
                    txt(stable.id()),
                    txt(dtype.name()),
                    txt(input),
                    flt(scale),
                    flt(gap),
                    flt(frob),
                    flt(rf),
                    flt(rf / ref0),
                    flt(reference::sigmoid_derivative(gap).to_f64()),
                    flt(zeros),
                ],
            );
        }
        if any_zero {
            zero_dtypes.push(dtype);
        }
    }
    let at_gap = |g: f64| {
        let mut x = vec![0.0; n];
        x[0] = g;
        frob_ref(&x)
    };
    let (r10, r20) = (at_gap(10.0) / ref0, at_gap(20.0) / ref0);
    let verdict = if at_largest < VANISHED_RATIO {
        Verdict::DoesNotHold
    } else {
        Verdict::Holds
    };
    let evidence = format!(
        "‖J‖_F (Frobenius) of softmax over 10 logits is {} at equal logits and falls to {} of that when one logit leads by 10, {} at 20 and {} at 100 (σ'(gap) falls alike: {} at 20); the computed Jacobian is exactly 0 at gap 100 in {}",
        sig(ref0, 3),
        sig(r10, 3),
        sig(r20, 3),
        sig(at_largest, 3),
        sig(reference::sigmoid_derivative(20.0).to_f64(), 3),
        dtype_list(&zero_dtypes),
    );
    Ok(Finding {
        verdict,
        tested: "Frobenius norm of the softmax Jacobian (from the stable variant's backward and the reference) against the lead of one logit and the logit scale".into(),
        evidence,
        figure: cx.csv("c05"),
        tables: vec![t],
    })
}

// ---------------------------------------------------------------------------------
// C06: the cross-entropy gradient through softmax is p − y.

fn c06(cx: &Ctx) -> Result<Finding, HarnessError> {
    let log_softmax = need!(cx, "log_softmax");
    let stable = need!(cx, "stable");
    let autograd = cx.registry.get("candle_log_softmax").ok();
    let n = 10;
    let rows = cx.q(5, 20);
    let scales = [1.0, 10.0, 100.0, 1000.0];
    let mut t = cx.table(
        "c06",
        &[
            ("dtype", ColumnType::Text),
            ("n", ColumnType::Int),
            ("rows", ColumnType::Int),
            ("scale", ColumnType::Float),
            ("fused_max_abs_error", ColumnType::Float),
            ("autograd_max_abs_error", ColumnType::Float),
            ("separate_max_abs_error", ColumnType::Float),
            ("separate_nonfinite_fraction", ColumnType::Float),
            ("finite_difference_max_abs_error", ColumnType::Float),
        ],
    );
    let (mut math_ok, mut fused_ok) = (true, true);
    let mut not_cleaner = Vec::new();
    let (mut fd_max, mut fused_worst, mut sep_worst): (f64, f64, f64) = (0.0, 0.0, 0.0);
    for dtype in DType::ALL {
        let (mut fused_dt, mut sep_dt): (f64, f64) = (0.0, 0.0);
        for (si, &scale) in scales.iter().enumerate() {
            let x = cx.normal(6, dtype, n, rows, scale)?;
            let mut rng = stream(cx.s.seed, &[0xc1a1, 6, 1, si as u64]);
            let targets: Vec<usize> = (0..rows).map(|_| rng.gen_range(0..n)).collect();
            let y: Vec<f64> = (0..rows * n)
                .map(|k| if targets[k / n] == k % n { 1.0 } else { 0.0 })
                .collect();
            let neg_y: Vec<f64> = y.iter().map(|v| -v).collect();
            let exact: Vec<Vec<Xd>> = x
                .chunks_exact(n)
                .zip(neg_y.chunks_exact(n))
                .map(|(xr, g)| reference::log_softmax_vjp(xr, 1.0, g))
                .collect();
            // Absolute error: the entries of p − y lie in [−1, 1], and where the
            // target dominates the whole gradient is tiny, so a relative measure
            // would score rounding noise against a value of 1e-400.
            let score = |dx: &[f64]| -> f64 {
                worst(
                    dx.chunks_exact(n)
                        .zip(&exact)
                        .map(|(d, e)| max_abs_error(d, e)),
                )
            };
            let (_, fused) = cx.fwd_bwd(log_softmax.as_ref(), dtype, &x, &neg_y, n, 1.0)?;
            let fused_e = score(&fused);
            let auto_e = match &autograd {
                Some(v) => score(&cx.fwd_bwd(v.as_ref(), dtype, &x, &neg_y, n, 1.0)?.1),
                None => f64::NAN,
            };
            // Separate parts: p from softmax, dL/dp = −y/p, then softmax's VJP.
            let p = cx.fwd(stable.as_ref(), dtype, &x, n, 1.0)?;
            let dp: Vec<f64> = y
                .iter()
                .zip(&p)
                .map(|(&yk, &pk)| if yk == 0.0 { 0.0 } else { -yk / pk })
                .collect();
            let (_, sep) = cx.fwd_bwd(stable.as_ref(), dtype, &x, &dp, n, 1.0)?;
            let sep_e = score(&sep);
            let sep_nf = fraction(sep.iter().filter(|v| !v.is_finite()).count(), sep.len());
            // Central differences of L(x) = −log softmax(x)[c], in the reference.
            let mut fd_e: f64 = 0.0;
            for (r, xr) in x.chunks_exact(n).enumerate() {
                let c = targets[r];
                let loss = |xs: &[f64]| reference::log_softmax(xs, 1.0)[c].neg();
                let fd: Vec<f64> = (0..n)
                    .map(|i| {
                        let (mut xp, mut xm) = (xr.to_vec(), xr.to_vec());
                        xp[i] += FD_STEP;
                        xm[i] -= FD_STEP;
                        let h = Xd::from_f64(xp[i]).sub(Xd::from_f64(xm[i]));
                        loss(&xp).sub(loss(&xm)).div(h).to_f64()
                    })
                    .collect();
                fd_e = fd_e.max(max_abs_error(&fd, &exact[r]));
            }
            math_ok &= fd_e <= FD_TOL;
            fused_ok &= fused_e <= GRAD_TOL_U * dtype.unit_roundoff();
            fd_max = fd_max.max(fd_e);
            fused_dt = fused_dt.max(fused_e);
            sep_dt = sep_dt.max(sep_e);
            cx.push(
                &mut t,
                vec![
                    txt(dtype.name()),
                    int(n),
                    int(rows),
                    flt(scale),
                    flt(fused_e),
                    flt(auto_e),
                    flt(sep_e),
                    flt(sep_nf),
                    flt(fd_e),
                ],
            );
        }
        if sep_dt < fused_dt {
            not_cleaner.push(dtype);
        }
        fused_worst = fused_worst.max(fused_dt / dtype.unit_roundoff());
        sep_worst = sep_worst.max(sep_dt);
    }
    let verdict = if !math_ok {
        Verdict::DoesNotHold
    } else if fused_ok && not_cleaner.is_empty() {
        Verdict::Holds
    } else {
        Verdict::HoldsWithCaveats
    };
    let evidence = format!(
        "finite differences agree with p − y to {} (max abs); the fused gradient (log_softmax backward with dy = −y) is within {} unit roundoffs of p − y at worst (tolerance {}); the separate parts (softmax, then −y/p through its VJP) reach an error of {} (non-finite once p_target underflows); separate parts as good as fused in: {}",
        sig(fd_max, 2),
        sig(fused_worst, 3),
        GRAD_TOL_U,
        sig(sep_worst, 3),
        dtype_list(&not_cleaner),
    );
    Ok(Finding {
        verdict,
        tested: "all: p − y against finite differences (math), the fused backward, candle's autograd and the two parts chained, per dtype at logit scales 1 to 1000".into(),
        evidence,
        figure: cx.csv("c06"),
        tables: vec![t],
    })
}

// ---------------------------------------------------------------------------------
// C07: overflow of the unshifted formula.

fn c07(cx: &Ctx) -> Result<Finding, HarnessError> {
    let naive = need!(cx, "naive");
    let stable = need!(cx, "stable");
    let n = 100;
    let rows = cx.q(4, 16);
    let scales = [1.0, 10.0, 100.0, 1000.0];
    let mut t = cx.table(
        "c07",
        &[
            ("input", ColumnType::Text),
            ("dtype", ColumnType::Text),
            ("n", ColumnType::Int),
            ("rows", ColumnType::Int),
            ("scale", ColumnType::Float),
            ("naive_nonfinite_fraction", ColumnType::Float),
            ("stable_nonfinite_fraction", ColumnType::Float),
            ("stable_normwise_max", ColumnType::Float),
            ("stable_normwise_bound", ColumnType::Float),
            ("stable_max_ulp_error", ColumnType::Float),
            ("naive_vs_stable_max_ulp_distance", ColumnType::Float),
        ],
    );
    let acc = stable.info().accumulation;
    let mut example_overflow = Vec::new();
    let mut stable_finite = true;
    let mut within_bound = true;
    let mut example_ulps: f64 = 0.0;
    let mut onset: Vec<(DType, f64)> = Vec::new();
    let mut worst_ratio: f64 = 0.0;
    let example = [1000.0, 1001.0, 1002.0];
    for dtype in DType::ALL {
        let mut points: Vec<(&str, f64, usize, Vec<f64>)> =
            vec![("[1000, 1001, 1002]", 1.0, 3, example.to_vec())];
        for &scale in &scales {
            points.push(("normal", scale, n, cx.normal(7, dtype, n, rows, scale)?));
        }
        let mut first = f64::NAN;
        for (input, scale, len, x) in points {
            let xr: Vec<f64> = x.iter().map(|&v| dtype.format().round_f64(v)).collect();
            let yn = cx.fwd(naive.as_ref(), dtype, &xr, len, 1.0)?;
            let ys = cx.fwd(stable.as_ref(), dtype, &xr, len, 1.0)?;
            let exact = reference_rows(softmax_lab_core::Function::Softmax, &xr, len);
            let nf = |y: &[f64]| fraction(y.iter().filter(|v| !v.is_finite()).count(), y.len());
            let (nn, ns) = (nf(&yn), nf(&ys));
            let normwise = worst(
                ys.chunks_exact(len)
                    .zip(exact.chunks_exact(len))
                    .map(|(y, e)| normwise_error(y, e)),
            );
            let bound =
                bounds::normwise(Formula::ShiftedSoftmax, Rounding::of(acc, dtype), len, 1.0);
            let ulps = worst(ys.iter().zip(&exact).map(|(&y, &e)| ulp_error(dtype, y, e)));
            let dist = worst(yn.iter().zip(&ys).map(|(&a, &b)| ulp_distance(dtype, a, b)));
            stable_finite &= ns == 0.0;
            within_bound &= normwise <= bound;
            worst_ratio = worst_ratio.max(normwise / bound);
            if input == "normal" {
                if nn > 0.0 && first.is_nan() {
                    first = scale;
                }
            } else {
                if nn > 0.0 {
                    example_overflow.push(dtype);
                }
                example_ulps = example_ulps.max(ulps);
            }
            cx.push(
                &mut t,
                vec![
                    txt(input),
                    txt(dtype.name()),
                    int(len),
                    int(xr.len() / len),
                    flt(scale),
                    flt(nn),
                    flt(ns),
                    flt(normwise),
                    flt(bound),
                    flt(ulps),
                    flt(dist),
                ],
            );
        }
        onset.push((dtype, first));
    }
    let all_overflow = example_overflow.len() == DType::ALL.len();
    let verdict = if !stable_finite {
        Verdict::DoesNotHold
    } else if all_overflow && within_bound {
        Verdict::Holds
    } else {
        Verdict::HoldsWithCaveats
    };
    let exact = reference::softmax(&example, 1.0);
    let onsets: Vec<String> = onset
        .iter()
        .map(|(d, s)| {
            if s.is_nan() {
                format!("{d} never")
            } else {
                format!("{d} from scale {s}")
            }
        })
        .collect();
    let evidence = format!(
        "[1000, 1001, 1002]: naive gives non-finite outputs in {} (exp overflows past {}, {}, {}, {}); stable gives [{}, {}, {}] within {} ulps in every dtype; on N(0,1)·scale rows naive turns non-finite {}; stable stays finite with normwise error at most {} of its proven bound",
        dtype_list(&example_overflow),
        sig(DType::F16.exp_overflow_threshold(), 4),
        sig(DType::BF16.exp_overflow_threshold(), 4),
        sig(DType::F32.exp_overflow_threshold(), 4),
        sig(DType::F64.exp_overflow_threshold(), 4),
        sig(exact[0].to_f64(), 4),
        sig(exact[1].to_f64(), 4),
        sig(exact[2].to_f64(), 4),
        sig(example_ulps, 2),
        onsets.join(", "),
        pct(worst_ratio),
    );
    Ok(Finding {
        verdict,
        tested: "all: naive against max-shifted softmax on the example and on normal rows at scales 1 to 1000, per dtype; 'unchanged' read as within the shifted formula's rounding-error bound".into(),
        evidence,
        figure: cx.csv("c07"),
        tables: vec![t],
    })
}

// ---------------------------------------------------------------------------------
// C08: log of softmax against log-softmax.

fn c08(cx: &Ctx) -> Result<Finding, HarnessError> {
    let ls = need!(cx, "log_softmax");
    let los = need!(cx, "log_of_softmax");
    let n = 100;
    let rows = cx.q(4, 16);
    let scales = [1.0, 10.0, 100.0, 1000.0];
    let mut t = cx.table(
        "c08",
        &[
            ("variant", ColumnType::Text),
            ("dtype", ColumnType::Text),
            ("n", ColumnType::Int),
            ("rows", ColumnType::Int),
            ("scale", ColumnType::Float),
            ("max_ulp_error", ColumnType::Float),
            ("median_ulp_error", ColumnType::Float),
            ("nonfinite_fraction", ColumnType::Float),
        ],
    );
    let mut worse_in = Vec::new();
    let mut at_one = Vec::new();
    let mut first_worse = Vec::new();
    for dtype in DType::ALL {
        let mut worse_at = f64::NAN;
        for &scale in &scales {
            let x = cx.normal(8, dtype, n, rows, scale)?;
            let exact = reference_rows(softmax_lab_core::Function::LogSoftmax, &x, n);
            let mut stats = Vec::new();
            for v in [&ls, &los] {
                let y = cx.fwd(v.as_ref(), dtype, &x, n, 1.0)?;
                let errs: Vec<f64> = y
                    .iter()
                    .zip(&exact)
                    .map(|(&y, &e)| ulp_error(dtype, y, e))
                    .collect();
                let nonfinite = y
                    .iter()
                    .zip(&exact)
                    .filter(|(y, e)| !y.is_finite() && e.to_f64().is_finite())
                    .count();
                let (mx, md, nf) = (
                    worst(errs.iter().copied()),
                    median(&errs),
                    fraction(nonfinite, y.len()),
                );
                cx.push(
                    &mut t,
                    vec![
                        txt(v.id()),
                        txt(dtype.name()),
                        int(n),
                        int(rows),
                        flt(scale),
                        flt(mx),
                        flt(md),
                        flt(nf),
                    ],
                );
                stats.push((mx, nf));
            }
            let ((a_mx, a_nf), (b_mx, b_nf)) = (stats[0], stats[1]);
            if scale == 1.0 {
                at_one.push(format!("{dtype} {} vs {}", sig(b_mx, 3), sig(a_mx, 3)));
            }
            let worse = b_nf > a_nf || b_mx >= LOSS_FACTOR * a_mx.max(1.0);
            if worse && worse_at.is_nan() {
                worse_at = scale;
            }
        }
        if !worse_at.is_nan() {
            worse_in.push(dtype);
            first_worse.push(format!("{dtype} from scale {worse_at}"));
        }
    }
    let verdict = if worse_in.len() == DType::ALL.len() {
        Verdict::Holds
    } else if !worse_in.is_empty() {
        Verdict::HoldsWithCaveats
    } else {
        Verdict::DoesNotHold
    };
    let evidence = format!(
        "log_of_softmax is at least {LOSS_FACTOR}× worse than log_softmax (max ulp error, or −inf where the exact value is finite) in {}: {}; at scale 1 the max errors are (log_of_softmax vs log_softmax, ulps) {}",
        dtype_list(&worse_in),
        if first_worse.is_empty() { "nowhere".into() } else { first_worse.join(", ") },
        at_one.join("; "),
    );
    Ok(Finding {
        verdict,
        tested: "all: componentwise ulp error and −inf outputs of log(softmax) against log-softmax from the logits, normal rows at scales 1 to 1000, per dtype".into(),
        evidence,
        figure: cx.csv("c08"),
        tables: vec![t],
    })
}

// ---------------------------------------------------------------------------------
// C09: the folklore example.

/// Whether `claimed` (given with `decimals` decimals) is `exact` rounded, within
/// half a unit in its last place (a tiny slack for the decimal's binary value).
fn consistent(claimed: f64, decimals: i32, exact: f64) -> (f64, bool) {
    let half = 0.5 * 10f64.powi(-decimals);
    (half, (claimed - exact).abs() <= half * (1.0 + 1e-9))
}

fn c09(cx: &Ctx) -> Result<Finding, HarnessError> {
    let stable = need!(cx, "stable");
    let x = [2.0, 1.0, 0.1];
    let claimed = [(0.7, 1), (0.24, 2), (0.06, 2)];
    let exact = reference::softmax(&x, 1.0);
    let mut computed = Vec::new();
    for dtype in DType::ALL {
        computed.push(cx.fwd(stable.as_ref(), dtype, &x, 3, 1.0)?);
    }
    let mut t = cx.table(
        "c09",
        &[
            ("entry", ColumnType::Int),
            ("logit", ColumnType::Float),
            ("claimed", ColumnType::Float),
            ("claimed_half_unit", ColumnType::Float),
            ("exact", ColumnType::Float),
            ("abs_diff", ColumnType::Float),
            ("consistent", ColumnType::Bool),
            ("stable_f16", ColumnType::Float),
            ("stable_bf16", ColumnType::Float),
            ("stable_f32", ColumnType::Float),
            ("stable_f64", ColumnType::Float),
        ],
    );
    let mut wrong = Vec::new();
    for i in 0..3 {
        let (c, dec) = claimed[i];
        let e = exact[i].to_f64();
        let (half, ok) = consistent(c, dec, e);
        if !ok {
            wrong.push(format!(
                "{c} (exact {}, off by {} = {} relative)",
                sig(e, 4),
                sig((c - e).abs(), 3),
                pct((c - e).abs() / e)
            ));
        }
        let mut row = vec![
            int(i),
            flt(x[i]),
            flt(c),
            flt(half),
            flt(e),
            flt((c - e).abs()),
            Value::Bool(ok),
        ];
        row.extend(computed.iter().map(|y| flt(y[i])));
        cx.push(&mut t, row);
    }
    let verdict = if wrong.is_empty() {
        Verdict::Holds
    } else {
        Verdict::DoesNotHold
    };
    let evidence = format!(
        "exact softmax([2.0, 1.0, 0.1]) = [{}, {}, {}] (stable f32 gives [{}, {}, {}]); inconsistent with the claim at its stated precision: {}",
        sig(exact[0].to_f64(), 4),
        sig(exact[1].to_f64(), 4),
        sig(exact[2].to_f64(), 4),
        sig(computed[2][0], 4),
        sig(computed[2][1], 4),
        sig(computed[2][2], 4),
        if wrong.is_empty() { "none".into() } else { wrong.join("; ") },
    );
    Ok(Finding {
        verdict,
        tested: "all: the exact values (reference) and the stable variant in every dtype, each claimed number within half a unit of its last decimal".into(),
        evidence,
        figure: cx.csv("c09"),
        tables: vec![t],
    })
}

// ---------------------------------------------------------------------------------
// C10: the second folklore example, per dtype.

fn c10(cx: &Ctx) -> Result<Finding, HarnessError> {
    let stable = need!(cx, "stable");
    let x = [-20.0, 10.0, 30.0];
    // Claimed values with their half unit in the last stated digit.
    let claimed = [
        (1.9287e-22, 0.00005e-22),
        (2.0612e-09, 0.00005e-9),
        (1.0, 0.05),
    ];
    let exact = reference::softmax(&x, 1.0);
    let mut t = cx.table(
        "c10",
        &[
            ("variant", ColumnType::Text),
            ("dtype", ColumnType::Text),
            ("entry", ColumnType::Int),
            ("claimed", ColumnType::Float),
            ("exact", ColumnType::Float),
            ("computed", ColumnType::Float),
            ("ulp_error", ColumnType::Float),
            ("underflow_to_zero", ColumnType::Bool),
            ("matches_claim", ColumnType::Bool),
        ],
    );
    let exact_ok = (0..3).all(|i| (exact[i].to_f64() - claimed[i].0).abs() <= claimed[i].1);
    for i in 0..3 {
        cx.push(
            &mut t,
            vec![
                txt("reference"),
                txt("exact"),
                int(i),
                flt(claimed[i].0),
                flt(exact[i].to_f64()),
                flt(exact[i].to_f64()),
                flt(0.0),
                Value::Bool(false),
                Value::Bool((exact[i].to_f64() - claimed[i].0).abs() <= claimed[i].1),
            ],
        );
    }
    let mut zeros_in = Vec::new();
    let mut mismatch_in = Vec::new();
    let mut per_dtype = Vec::new();
    for dtype in DType::ALL {
        let y = cx.fwd(stable.as_ref(), dtype, &x, 3, 1.0)?;
        let f = dtype.format();
        let mut zero = false;
        let mut all_match = true;
        for i in 0..3 {
            let (c, half) = claimed[i];
            // The dtype cannot do better than its own rounding of the claimed value.
            let tol = half.max(exact[i].ulp_in(f));
            let z = y[i] == 0.0 && !exact[i].is_zero();
            let matches = !z && (y[i] - c).abs() <= tol;
            zero |= z;
            all_match &= matches;
            cx.push(
                &mut t,
                vec![
                    txt(stable.id()),
                    txt(dtype.name()),
                    int(i),
                    flt(c),
                    flt(exact[i].to_f64()),
                    flt(y[i]),
                    flt(ulp_error(dtype, y[i], exact[i])),
                    Value::Bool(z),
                    Value::Bool(matches),
                ],
            );
        }
        per_dtype.push(format!(
            "{dtype} [{}, {}, {}]",
            sig(y[0], 5),
            sig(y[1], 5),
            sig(y[2], 5)
        ));
        if zero {
            zeros_in.push(dtype);
        }
        if !all_match {
            mismatch_in.push(dtype);
        }
    }
    let verdict = if !exact_ok {
        Verdict::DoesNotHold
    } else if mismatch_in.is_empty() {
        Verdict::Holds
    } else {
        Verdict::HoldsWithCaveats
    };
    let evidence = format!(
        "exact: [{}, {}, {}] ({} the claim to its 5 digits); stable gives {}; entries flushed to 0 in {}; not matching the claim to the dtype's precision in {}",
        sig(exact[0].to_f64(), 5),
        sig(exact[1].to_f64(), 5),
        sig(exact[2].to_f64(), 5),
        if exact_ok { "matches" } else { "differs from" },
        per_dtype.join("; "),
        dtype_list(&zeros_in),
        dtype_list(&mismatch_in),
    );
    Ok(Finding {
        verdict,
        tested: "all: exact values, and the stable variant per dtype".into(),
        evidence,
        figure: cx.csv("c10"),
        tables: vec![t],
    })
}

// ---------------------------------------------------------------------------------
// C11, C12, C19: the training study's comparisons.

/// One row of the training study's `comparisons` table.
#[derive(Clone, Debug)]
struct Comparison {
    factor: String,
    dataset: String,
    model: String,
    metric: String,
    head_a: String,
    head_b: String,
    standardised_a: Option<bool>,
    mean_a: f64,
    mean_b: f64,
    p_value: f64,
    seeds: i64,
}

fn read_comparisons(t: &Table) -> Result<Vec<Comparison>, String> {
    let col = |name: &str| t.column(name).ok_or(format!("no column '{name}'"));
    let (ds, md, me, ha, hb) = (
        col("dataset")?,
        col("model")?,
        col("metric")?,
        col("head_a")?,
        col("head_b")?,
    );
    let (ma, mb, p) = (col("mean_a")?, col("mean_b")?, col("p_value")?);
    let (fac, sa, st, se) = (
        t.column("factor"),
        t.column("standardised_a"),
        t.column("standardised"),
        t.column("seeds"),
    );
    let text = |r: &[Value], i: usize| match &r[i] {
        Value::Text(s) => s.clone(),
        v => v.to_csv(),
    };
    let num = |r: &[Value], i: usize| r[i].as_f64().unwrap_or(f64::NAN);
    let boolean = |r: &[Value], i: Option<usize>| {
        i.and_then(|i| match &r[i] {
            Value::Bool(b) => Some(*b),
            Value::Text(s) => s.parse().ok(),
            _ => None,
        })
    };
    Ok(t.rows
        .iter()
        .map(|r| {
            let (head_a, head_b) = (text(r, ha), text(r, hb));
            let factor = match fac {
                Some(i) => text(r, i),
                // Without a factor column: the same head on both arms compares settings.
                None if head_a == head_b => "standardisation".into(),
                None => "head".into(),
            };
            Comparison {
                factor,
                dataset: text(r, ds),
                model: text(r, md),
                metric: text(r, me),
                head_a,
                head_b,
                standardised_a: boolean(r, sa).or(boolean(r, st)),
                mean_a: num(r, ma),
                mean_b: num(r, mb),
                p_value: num(r, p),
                seeds: se.and_then(|i| r[i].as_f64()).map_or(0, |v| v as i64),
            }
        })
        .collect())
}

/// How a training claim reads a comparison: None when the claim does not look at
/// it, else the sign s such that the claim predicts s·(mean_a − mean_b) > 0.
type Orient = fn(&Comparison) -> Option<f64>;

/// +1 when the larger value of `metric` is better, −1 when the smaller is.
fn better(metric: &str) -> Option<f64> {
    match metric {
        "final_accuracy" | "early_accuracy" | "mean_accuracy_over_epochs" | "final_macro_f1" => {
            Some(1.0)
        }
        "train_loss_rises"
        | "final_log_loss_std"
        | "final_log_loss"
        | "epochs_to_target_accuracy" => Some(-1.0),
        _ => None,
    }
}

fn orient_c11(c: &Comparison) -> Option<f64> {
    if c.factor != "head"
        || c.metric != "final_prob_sum_above_one_fraction"
        || c.dataset == "multilabel"
    {
        return None;
    }
    match (c.head_a.as_str(), c.head_b.as_str()) {
        ("sigmoid_ovr_bce", "softmax_ce") => Some(1.0),
        ("softmax_ce", "sigmoid_ovr_bce") => Some(-1.0),
        _ => None,
    }
}

fn orient_c12(c: &Comparison) -> Option<f64> {
    // Stability: fewer rises of the training loss, less spread of the final loss
    // over seeds; and the accuracy it should buy.
    let stability = [
        "train_loss_rises",
        "final_log_loss_std",
        "final_accuracy",
        "mean_accuracy_over_epochs",
    ];
    if c.factor != "head" || !stability.contains(&c.metric.as_str()) {
        return None;
    }
    let side = match (c.head_a.as_str(), c.head_b.as_str()) {
        ("softmax2_ce", "sigmoid1_bce") => 1.0,
        ("sigmoid1_bce", "softmax2_ce") => -1.0,
        _ => return None,
    };
    better(&c.metric).map(|b| b * side)
}

fn orient_c19(c: &Comparison) -> Option<f64> {
    // Speed of training: accuracy early and over the epochs, epochs to the target.
    let speed = [
        "early_accuracy",
        "epochs_to_target_accuracy",
        "mean_accuracy_over_epochs",
    ];
    if c.factor != "standardisation"
        || !speed.contains(&c.metric.as_str())
        || !c.head_a.starts_with("sigmoid")
    {
        return None;
    }
    // Arm a is the standardised one unless the table says otherwise.
    let side = if c.standardised_a == Some(false) {
        -1.0
    } else {
        1.0
    };
    better(&c.metric).map(|b| b * side)
}

fn training_claim(
    cx: &Ctx,
    claim: &str,
    orient: Orient,
    tested: &str,
    plot: &str,
) -> Result<Finding, HarnessError> {
    let Some(results) = cx.load("training.json")? else {
        return Ok(Finding::not_tested(
            "training.json is missing from this run's results (the training scenario did not run)"
                .into(),
        ));
    };
    let tname = results
        .scenario
        .get("name")
        .and_then(|n| n.as_str())
        .unwrap_or("training")
        .to_string();
    let Some(table) = results.tables.iter().find(|t| t.name == "comparisons") else {
        return Ok(Finding::not_tested(
            "training.json has no 'comparisons' table".into(),
        ));
    };
    let rows = read_comparisons(table).map_err(|m| HarnessError::Results {
        path: cx.results_dir.join("training.json"),
        message: format!("table comparisons: {m}"),
    })?;
    let examined: Vec<(Comparison, f64)> = rows
        .into_iter()
        .filter_map(|c| orient(&c).map(|s| (c, s)))
        .collect();
    let m = examined.len();
    if m == 0 {
        return Ok(Finding::not_tested(format!(
            "training.json has no comparison this claim reads ({tested})"
        )));
    }
    let alpha = ALPHA / m as f64;
    let mut t = cx.table(
        &claim.to_lowercase(),
        &[
            ("factor", ColumnType::Text),
            ("dataset", ColumnType::Text),
            ("model", ColumnType::Text),
            ("metric", ColumnType::Text),
            ("head_a", ColumnType::Text),
            ("head_b", ColumnType::Text),
            ("mean_a", ColumnType::Float),
            ("mean_b", ColumnType::Float),
            ("p_value", ColumnType::Float),
            ("alpha", ColumnType::Float),
            ("favours", ColumnType::Text),
        ],
    );
    let (mut pro, mut con) = (0, 0);
    let mut best: Option<&(Comparison, f64)> = None;
    for e in &examined {
        let (c, s) = e;
        let effect = s * (c.mean_a - c.mean_b);
        let significant = c.p_value < alpha;
        let favours = if significant && effect > 0.0 {
            pro += 1;
            "claim"
        } else if significant && effect < 0.0 {
            con += 1;
            "against"
        } else {
            "neither"
        };
        if best.is_none_or(|b| c.p_value < b.0.p_value) {
            best = Some(e);
        }
        cx.push(
            &mut t,
            vec![
                txt(&c.factor),
                txt(&c.dataset),
                txt(&c.model),
                txt(&c.metric),
                txt(&c.head_a),
                txt(&c.head_b),
                flt(c.mean_a),
                flt(c.mean_b),
                flt(c.p_value),
                flt(alpha),
                txt(favours),
            ],
        );
    }
    let verdict = if pro == 0 || con >= pro {
        Verdict::DoesNotHold
    } else if con == 0 && pro == m {
        Verdict::Holds
    } else {
        Verdict::HoldsWithCaveats
    };
    let seeds = examined.iter().map(|(c, _)| c.seeds).max().unwrap_or(0);
    let strongest = best
        .map(|(c, _)| {
            format!(
                "; strongest: {} on {}/{} ({} {} vs {} {}, p = {})",
                c.metric,
                c.dataset,
                c.model,
                c.head_a,
                sig(c.mean_a, 3),
                c.head_b,
                sig(c.mean_b, 3),
                sig(c.p_value, 2)
            )
        })
        .unwrap_or_default();
    let evidence = format!(
        "{pro} of {m} paired comparisons significant in the claim's direction, {con} against (α = 0.05/{m} = {}, {seeds} seeds){strongest}",
        sig(alpha, 2)
    );
    Ok(Finding {
        verdict,
        tested: tested.into(),
        evidence,
        figure: format!("plots/{tname}_{plot}.svg"),
        tables: vec![t],
    })
}

fn c11(cx: &Ctx) -> Result<Finding, HarnessError> {
    training_claim(
        cx,
        "C11",
        orient_c11,
        "fraction of test rows whose sigmoid probabilities sum above 1, one-vs-rest sigmoids against softmax on single-label data sets",
        "prob_sums",
    )
}

fn c12(cx: &Ctx) -> Result<Finding, HarnessError> {
    training_claim(
        cx,
        "C12",
        orient_c12,
        "2-way softmax against one sigmoid on binary data: training-loss rises, spread of the final loss over seeds, final and mean accuracy",
        "loss_curves",
    )
}

fn c19(cx: &Ctx) -> Result<Finding, HarnessError> {
    training_claim(
        cx,
        "C19",
        orient_c19,
        "speed of training of sigmoid heads with and without input standardisation (early accuracy, epochs to target accuracy, mean accuracy over epochs); saturation itself not measured",
        "accuracy_curves",
    )
}

// ---------------------------------------------------------------------------------
// C13: exact zeros of softmax against sparsemax.

fn c13(cx: &Ctx) -> Result<Finding, HarnessError> {
    let stable = need!(cx, "stable");
    let sparsemax = need!(cx, "sparsemax");
    let n = 100;
    let rows = cx.q(4, 16);
    let scales = [1.0, 10.0, 100.0, 1000.0];
    let mut t = cx.table(
        "c13",
        &[
            ("dtype", ColumnType::Text),
            ("n", ColumnType::Int),
            ("rows", ColumnType::Int),
            ("scale", ColumnType::Float),
            ("softmax_exact_zero_fraction", ColumnType::Float),
            ("softmax_zero_when_rounded_fraction", ColumnType::Float),
            ("sparsemax_exact_zero_fraction", ColumnType::Float),
        ],
    );
    let mut zero_at_one = false;
    let mut first_zero = Vec::new();
    let mut sparse_at_one: f64 = 0.0;
    let mut any_zero = false;
    for dtype in DType::ALL {
        let mut first = f64::NAN;
        for &scale in &scales {
            let x = cx.normal(13, dtype, n, rows, scale)?;
            let y = cx.fwd(stable.as_ref(), dtype, &x, n, 1.0)?;
            let ys = cx.fwd(sparsemax.as_ref(), dtype, &x, n, 1.0)?;
            let exact = reference_rows(softmax_lab_core::Function::Softmax, &x, n);
            let zf = fraction(y.iter().filter(|&&v| v == 0.0).count(), y.len());
            let rf = fraction(
                exact
                    .iter()
                    .filter(|e| e.round_to(dtype.format()) == 0.0)
                    .count(),
                exact.len(),
            );
            let sf = fraction(ys.iter().filter(|&&v| v == 0.0).count(), ys.len());
            if zf > 0.0 {
                any_zero = true;
                if first.is_nan() {
                    first = scale;
                }
                zero_at_one |= scale == 1.0;
            }
            if scale == 1.0 {
                sparse_at_one = sparse_at_one.max(sf);
            }
            cx.push(
                &mut t,
                vec![
                    txt(dtype.name()),
                    int(n),
                    int(rows),
                    flt(scale),
                    flt(zf),
                    flt(rf),
                    flt(sf),
                ],
            );
        }
        first_zero.push(if first.is_nan() {
            format!("{dtype} never")
        } else {
            format!("{dtype} from scale {first}")
        });
    }
    let verdict = if zero_at_one {
        Verdict::DoesNotHold
    } else if any_zero {
        Verdict::HoldsWithCaveats
    } else {
        Verdict::Holds
    };
    let evidence = format!(
        "softmax of N(0,1)·scale rows of 100 has no exact zero at scale 1 in any dtype{} while sparsemax zeroes {} there; underflow gives softmax exact zeros {} (the exact values round to 0 there too)",
        if zero_at_one { " — false: it has some" } else { "" },
        pct(sparse_at_one),
        first_zero.join(", "),
    );
    Ok(Finding {
        verdict,
        tested: "all: exact zeros of the stable softmax per dtype and scale, against sparsemax on the same rows".into(),
        evidence,
        figure: cx.csv("c13"),
        tables: vec![t],
    })
}

// ---------------------------------------------------------------------------------
// C14: temperature.

fn entropy(p: &[f64]) -> f64 {
    p.iter().filter(|&&v| v > 0.0).map(|&v| -v * v.ln()).sum()
}

fn c14(cx: &Ctx) -> Result<Finding, HarnessError> {
    let stable = need!(cx, "stable");
    let n = 10;
    let lin = Dist::Linspace {
        low: -2.0,
        high: 2.0,
    };
    let x = cx.draw(14, &lin, DType::F64, n, 1, 1.0)?;
    let points = cx.q(9, 21);
    let temps: Vec<f64> = (0..points)
        .map(|k| 10f64.powf(-2.0 + 4.0 * k as f64 / (points - 1) as f64))
        .collect();
    let mut t = cx.table(
        "c14",
        &[
            ("variant", ColumnType::Text),
            ("dtype", ColumnType::Text),
            ("temperature", ColumnType::Float),
            ("entropy_nats", ColumnType::Float),
            ("entropy_ratio_to_uniform", ColumnType::Float),
            ("max_prob", ColumnType::Float),
            ("second_prob", ColumnType::Float),
        ],
    );
    let ln_n = (n as f64).ln();
    let mut ref_curve = Vec::new();
    let row = |t: &mut Table, v: &str, d: &str, temp: f64, p: &[f64]| -> (f64, f64) {
        let mut s = p.to_vec();
        s.sort_by(|a, b| b.total_cmp(a));
        let h = entropy(p);
        cx.push(
            t,
            vec![
                txt(v),
                txt(d),
                flt(temp),
                flt(h),
                flt(h / ln_n),
                flt(s[0]),
                flt(s[1]),
            ],
        );
        (h, s[0])
    };
    for &temp in &temps {
        let p: Vec<f64> = reference::softmax(&x, temp)
            .iter()
            .map(|v| v.to_f64())
            .collect();
        ref_curve.push(row(&mut t, "reference", "exact", temp, &p));
    }
    let mut low_t = Vec::new();
    for dtype in DType::ALL {
        for &temp in &temps {
            let p = cx.fwd(stable.as_ref(), dtype, &x, n, temp)?;
            let (_, mx) = row(&mut t, stable.id(), dtype.name(), temp, &p);
            if temp == temps[0] {
                low_t.push(mx);
            }
        }
    }
    let (h_lo, p_lo) = ref_curve[0];
    let (h_hi, _) = ref_curve[points - 1];
    let monotone = ref_curve.windows(2).all(|w| w[1].0 >= w[0].0);
    let one_hot = p_lo >= ONE_HOT_MIN && low_t.iter().all(|&m| m >= ONE_HOT_MIN);
    let uniform = h_hi / ln_n >= UNIFORM_ENTROPY_MIN;
    let (_, p_one) = ref_curve
        .iter()
        .zip(&temps)
        .min_by(|a, b| (a.1 - 1.0).abs().total_cmp(&(b.1 - 1.0).abs()))
        .map(|(c, _)| *c)
        .unwrap_or((f64::NAN, f64::NAN));
    let verdict = if one_hot && uniform && monotone {
        Verdict::Holds
    } else if monotone {
        Verdict::HoldsWithCaveats
    } else {
        Verdict::DoesNotHold
    };
    let evidence = format!(
        "10 evenly spaced logits in [−2, 2]: at T = {} the largest probability is {} (exact; {} to {} in the dtypes) and entropy {} of ln 10; at T = 1 the largest is {} (uniform: 0.1); at T = {} entropy is {} of ln 10; entropy rises monotonically with T: {}",
        sig(temps[0], 2),
        sig(p_lo, 6),
        sig(low_t.iter().copied().fold(f64::INFINITY, f64::min), 6),
        sig(low_t.iter().copied().fold(f64::NEG_INFINITY, f64::max), 6),
        pct(h_lo / ln_n),
        sig(p_one, 3),
        sig(temps[points - 1], 3),
        pct(h_hi / ln_n),
        if monotone { "yes" } else { "no" },
    );
    Ok(Finding {
        verdict,
        tested: "temperature limits (T from 0.01 to 100) and monotone entropy, exact and per dtype; 'amplifies differences' shown only through the largest probability".into(),
        evidence,
        figure: cx.csv("c14"),
        tables: vec![t],
    })
}

// ---------------------------------------------------------------------------------
// C15: sparsemax zeros; Gumbel-softmax samples.

fn c15(cx: &Ctx) -> Result<Finding, HarnessError> {
    let sparse = cx.present(&["sparsemax", "sparsemax_linear", "entmax15"]);
    if sparse.is_empty() {
        return Ok(Finding::not_tested(
            "no sparsemax variant registered".into(),
        ));
    }
    let hard = need!(cx, "gumbel_softmax_hard");
    let soft = need!(cx, "gumbel_softmax");
    let n = 100;
    let rows = cx.q(4, 16);
    let scales = [0.01, 0.1, 1.0, 10.0, 100.0];
    let mut t = cx.table(
        "c15",
        &[
            ("variant", ColumnType::Text),
            ("dtype", ColumnType::Text),
            ("n", ColumnType::Int),
            ("rows", ColumnType::Int),
            ("scale", ColumnType::Float),
            ("mean_support", ColumnType::Float),
            ("exact_zero_fraction", ColumnType::Float),
        ],
    );
    let (mut sparse_ok, mut dense_small) = (true, false);
    let (mut support_small, mut support_big) = (0.0f64, f64::INFINITY);
    for v in &sparse {
        for dtype in DType::ALL {
            for &scale in &scales {
                let x = cx.normal(15, dtype, n, rows, scale)?;
                let y = cx.fwd(v.as_ref(), dtype, &x, n, 1.0)?;
                let zf = fraction(y.iter().filter(|&&v| v == 0.0).count(), y.len());
                let support =
                    (y.len() - y.iter().filter(|&&v| v == 0.0).count()) as f64 / rows as f64;
                if scale >= 1.0 {
                    sparse_ok &= zf > 0.0;
                }
                if scale == scales[0] {
                    dense_small |= zf == 0.0;
                    support_small = support_small.max(support);
                }
                if scale == 1.0 && v.id() == sparse[0].id() {
                    support_big = support_big.min(support);
                }
                cx.push(
                    &mut t,
                    vec![
                        txt(v.id()),
                        txt(dtype.name()),
                        int(n),
                        int(rows),
                        flt(scale),
                        flt(support),
                        flt(zf),
                    ],
                );
            }
        }
    }
    // Gumbel-max: each row of the batch draws its own noise (the counter includes
    // the row), so R copies of one logit row are R independent samples.
    let classes = 6;
    let logits = cx.normal(151, DType::F64, classes, 1, 1.0)?;
    let samples = cx.q(4000, 20000);
    let rep: Vec<f64> = (0..samples).flat_map(|_| logits.iter().copied()).collect();
    let y = cx.fwd(hard.as_ref(), DType::F32, &rep, classes, 1.0)?;
    let mut counts = vec![0usize; classes];
    for r in y.chunks_exact(classes) {
        if let Some(k) = r.iter().position(|&v| v == 1.0) {
            counts[k] += 1;
        }
    }
    let p: Vec<f64> = reference::softmax(&logits, 1.0)
        .iter()
        .map(|v| v.to_f64())
        .collect();
    let total = samples as f64;
    let chi2: f64 = counts
        .iter()
        .zip(&p)
        .map(|(&o, &pk)| (o as f64 - total * pk).powi(2) / (total * pk))
        .sum();
    let dof = (classes - 1) as f64;
    let p_value = ChiSquared::new(dof).map_or(f64::NAN, |d| 1.0 - d.cdf(chi2));
    let mut tg = cx.table(
        "c15_gumbel",
        &[
            ("variant", ColumnType::Text),
            ("dtype", ColumnType::Text),
            ("samples", ColumnType::Int),
            ("class", ColumnType::Int),
            ("logit", ColumnType::Float),
            ("softmax_prob", ColumnType::Float),
            ("frequency", ColumnType::Float),
            ("abs_deviation", ColumnType::Float),
            ("chi_square", ColumnType::Float),
            ("p_value", ColumnType::Float),
        ],
    );
    let mut max_dev: f64 = 0.0;
    for k in 0..classes {
        let freq = counts[k] as f64 / total;
        max_dev = max_dev.max((freq - p[k]).abs());
        cx.push(
            &mut tg,
            vec![
                txt(hard.id()),
                txt("f32"),
                int(samples),
                int(k),
                flt(logits[k]),
                flt(p[k]),
                flt(freq),
                flt((freq - p[k]).abs()),
                flt(chi2),
                flt(p_value),
            ],
        );
    }
    // The relaxed sample: how close to one-hot, and whether its gradient exists.
    let relaxed_n = cx.q(500, 2000);
    let rep: Vec<f64> = (0..relaxed_n)
        .flat_map(|_| logits.iter().copied())
        .collect();
    let dy = cx.normal(152, DType::F32, classes, relaxed_n, 1.0)?;
    let mut tr = cx.table(
        "c15_relaxed",
        &[
            ("variant", ColumnType::Text),
            ("dtype", ColumnType::Text),
            ("temperature", ColumnType::Float),
            ("samples", ColumnType::Int),
            ("mean_max_prob", ColumnType::Float),
            ("grad_finite_fraction", ColumnType::Float),
            ("mean_grad_norm", ColumnType::Float),
        ],
    );
    let mut relaxed = Vec::new();
    for temp in [0.1, 0.5, 1.0] {
        let (y, dx) = cx.fwd_bwd(soft.as_ref(), DType::F32, &rep, &dy, classes, temp)?;
        let maxes: Vec<f64> = y
            .chunks_exact(classes)
            .map(|r| r.iter().copied().fold(f64::NEG_INFINITY, f64::max))
            .collect();
        let norms: Vec<f64> = dx
            .chunks_exact(classes)
            .map(|r| r.iter().map(|v| v * v).sum::<f64>().sqrt())
            .collect();
        let mm = summarize(&maxes).mean;
        let gf = fraction(dx.iter().filter(|v| v.is_finite()).count(), dx.len());
        let gn = summarize(&norms).mean;
        relaxed.push((temp, mm, gf, gn));
        cx.push(
            &mut tr,
            vec![
                txt(soft.id()),
                txt("f32"),
                flt(temp),
                int(relaxed_n),
                flt(mm),
                flt(gf),
                flt(gn),
            ],
        );
    }
    let gumbel_ok = p_value >= GOF_ALPHA
        && relaxed[0].1 >= NEAR_ONE_HOT
        && relaxed.iter().all(|r| r.2 == 1.0 && r.3 > 0.0);
    let one_hot_only_low = relaxed.iter().any(|r| r.1 < NEAR_ONE_HOT);
    let verdict = if !(sparse_ok && gumbel_ok) {
        Verdict::DoesNotHold
    } else if dense_small || one_hot_only_low {
        Verdict::HoldsWithCaveats
    } else {
        Verdict::Holds
    };
    let evidence = format!(
        "sparsemax-type maps have exact zeros at every scale ≥ 1 in every dtype: {} (support {} of 100 at scale 1 for {}), but are dense at scale 0.01 (support up to {}); Gumbel-max argmax frequencies over {samples} samples match softmax (χ² = {}, {} dof, p = {}, max |freq − p| = {}); relaxed samples average a largest entry of {} at τ = 0.1, {} at τ = 0.5, {} at τ = 1, with finite nonzero gradients",
        if sparse_ok { "yes" } else { "no" },
        sig(support_big, 3),
        sparse[0].id(),
        sig(support_small, 3),
        sig(chi2, 3),
        classes - 1,
        sig(p_value, 2),
        sig(max_dev, 2),
        sig(relaxed[0].1, 3),
        sig(relaxed[1].1, 3),
        sig(relaxed[2].1, 3),
    );
    Ok(Finding {
        verdict,
        tested: "all: sparse maps' support against the scale per dtype; Gumbel-softmax argmax frequencies against the categorical (chi-square), closeness to one-hot and gradients against τ".into(),
        evidence,
        figure: cx.csv("c15"),
        tables: vec![t, tg, tr],
    })
}

// ---------------------------------------------------------------------------------
// C16: hierarchical softmax cost.

fn c16(cx: &Ctx) -> Result<Finding, HarnessError> {
    let dim = 16;
    let vocabs: Vec<usize> = cx.q(vec![16, 256, 4096], vec![16, 256, 4096, 65536]);
    let targets = cx.q(50, 200);
    let mut t = cx.table(
        "c16",
        &[
            ("source", ColumnType::Text),
            ("tree", ColumnType::Text),
            ("vocab", ColumnType::Int),
            ("dim", ColumnType::Int),
            ("dot_products_per_target", ColumnType::Float),
            ("distribution_dot_products", ColumnType::Float),
            ("ns_per_target", ColumnType::Float),
            ("speedup_vs_full", ColumnType::Float),
        ],
    );
    let mut log_ok = true;
    let mut no_saving = true;
    let mut last = (0usize, 0.0, 0.0, 0.0);
    for &v in &vocabs {
        // Zipf frequencies: the Huffman tree gives frequent classes short paths.
        let freqs: Vec<f64> = (0..v).map(|k| 1.0 / (k + 1) as f64).collect();
        let total: f64 = freqs.iter().sum();
        let mut rng = stream(cx.s.seed, &[0xc1a1, 16, v as u64]);
        let sample: Vec<usize> = (0..targets)
            .map(|_| {
                let u = rng.gen::<f64>() * total;
                let mut acc = 0.0;
                freqs
                    .iter()
                    .position(|&f| {
                        acc += f;
                        acc >= u
                    })
                    .unwrap_or(v - 1)
            })
            .collect();
        let h = vec![0.0f32; dim];
        let per_target = |head: &dyn OutputHead<f32>, k: usize| -> f64 {
            let mut cost = Cost::default();
            for &c in &sample[..k] {
                head.log_prob(&h, c, &mut cost);
            }
            cost.dot_products as f64 / k as f64
        };
        let dist_cost = |head: &dyn OutputHead<f32>| -> f64 {
            let mut cost = Cost::default();
            head.distribution(&h, &mut cost);
            cost.dot_products as f64
        };
        let full = FullSoftmaxHead::new(v, dim, vec![0.0f32; v * dim]);
        // The full head costs V dot products whatever the target: a few suffice.
        let full_pt = per_target(&full, 3.min(targets));
        let full_dist = dist_cost(&full);
        let mut rows = vec![("full", full_pt, full_dist)];
        for (name, tree) in [
            ("balanced", Tree::balanced(v)),
            ("huffman", Tree::huffman(&freqs)),
        ] {
            let depth = tree.depth();
            let inner = tree.inner_nodes();
            let head = HierarchicalSoftmax::new(tree, dim, vec![0.0f32; inner * dim]);
            let pt = per_target(&head, targets);
            let dc = dist_cost(&head);
            if name == "balanced" {
                log_ok &= pt <= depth as f64 && depth <= (v as f64).log2().ceil() as usize;
                no_saving &= dc >= NO_SAVING_FRACTION * full_dist;
                last = (v, full_pt, pt, dc);
            }
            rows.push((name, pt, dc));
        }
        for (name, pt, dc) in rows {
            cx.push(
                &mut t,
                vec![
                    txt("counted here"),
                    txt(name),
                    int(v),
                    int(dim),
                    flt(pt),
                    flt(dc),
                    flt(f64::NAN),
                    flt(f64::NAN),
                ],
            );
        }
    }
    // Timing, when the throughput scenario ran.
    let mut timing = None;
    if let Some(r) = cx.load("throughput.json")? {
        if let Some(h) = r.tables.iter().find(|t| t.name == "hsoftmax") {
            let get = |row: &[Value], c: &str| h.column(c).map(|i| row[i].clone());
            let mut best: Option<(i64, f64)> = None;
            for row in &h.rows {
                let tree = match get(row, "tree") {
                    Some(Value::Text(s)) => s,
                    _ => continue,
                };
                let num = |c: &str| get(row, c).and_then(|v| v.as_f64()).unwrap_or(f64::NAN);
                let vocab = num("vocab") as i64;
                let speed = num("speedup_vs_full");
                cx.push(
                    &mut t,
                    vec![
                        txt("throughput.json"),
                        txt(&tree),
                        Value::Int(vocab),
                        Value::Int(num("dim") as i64),
                        flt(num("dot_products_per_target")),
                        flt(f64::NAN),
                        flt(num("ns_per_target")),
                        flt(speed),
                    ],
                );
                if tree == "balanced" && best.is_none_or(|b| vocab > b.0) {
                    best = Some((vocab, speed));
                }
            }
            timing = best;
        }
    }
    let time_ok = timing.is_none_or(|(_, s)| s > 1.0);
    let verdict = if !log_ok || !time_ok {
        Verdict::DoesNotHold
    } else if no_saving || timing.is_none() {
        Verdict::HoldsWithCaveats
    } else {
        Verdict::Holds
    };
    let (v, fpt, bpt, bdc) = last;
    let evidence = format!(
        "at V = {v} (d = {dim}) one target's log-probability costs {} dot products with the full softmax and {} with a balanced tree (≤ ⌈log2 V⌉ at every V: {}); {}; the whole distribution still costs {} dot products with the tree (no saving)",
        sig(fpt, 6),
        sig(bpt, 3),
        if log_ok { "yes" } else { "no" },
        match timing {
            Some((tv, s)) => format!("timed (throughput.json): balanced tree {}× faster than full at V = {tv}", sig(s, 3)),
            None => "time per target not measured (throughput.json or its hsoftmax table missing)".into(),
        },
        sig(bdc, 6),
    );
    Ok(Finding {
        verdict,
        tested: if timing.is_some() {
            "operations and time per target against V; cost of the full distribution".into()
        } else {
            "operations per target against V and the cost of the full distribution (not the time)"
                .into()
        },
        evidence,
        figure: cx.csv("c16"),
        tables: vec![t],
    })
}

// ---------------------------------------------------------------------------------
// C17: sharding.

fn c17(cx: &Ctx) -> Result<Finding, HarnessError> {
    let sharded = need!(cx, "sharded_softmax");
    let stable = need!(cx, "stable");
    let sigmoid = need!(cx, "sigmoid");
    let n = cx.q(256, 1024);
    let shards = 4;
    let rows = cx.q(4, 8);
    let mut t = cx.table(
        "c17",
        &[
            ("source", ColumnType::Text),
            ("variant", ColumnType::Text),
            ("dtype", ColumnType::Text),
            ("n", ColumnType::Int),
            ("shards", ColumnType::Int),
            ("bytes_exchanged_per_row", ColumnType::Int),
            ("row_bytes", ColumnType::Int),
            ("local_only_max_abs_error", ColumnType::Float),
            ("normwise_error", ColumnType::Float),
            ("normwise_bound", ColumnType::Float),
            ("identical_to_unsharded", ColumnType::Bool),
            ("elems_per_s", ColumnType::Float),
            ("ratio_to_unsharded", ColumnType::Float),
        ],
    );
    let (mut local_err, mut sharded_err, mut sig_same): (f64, f64, bool) =
        (f64::INFINITY, 0.0, true);
    let mut within_bound = true;
    let c = n / shards;
    for dtype in DType::ALL {
        let x = cx.normal(17, dtype, n, rows, 3.0)?;
        let exact = reference_rows(softmax_lab_core::Function::Softmax, &x, n);
        let ys = cx.fwd(sharded.as_ref(), dtype, &x, n, 1.0)?;
        let nw = worst(
            ys.chunks_exact(n)
                .zip(exact.chunks_exact(n))
                .map(|(y, e)| normwise_error(y, e)),
        );
        // Each shard on its own, no exchange: a softmax over its slice only.
        let shard_rows: Vec<f64> = x.clone();
        let local = cx.fwd(stable.as_ref(), dtype, &shard_rows, c, 1.0)?;
        let le = worst(
            local
                .iter()
                .zip(&exact)
                .map(|(&l, e)| (l - e.to_f64()).abs()),
        );
        // Sigmoid per shard against the whole row: bit for bit.
        let whole = cx.fwd(sigmoid.as_ref(), dtype, &x, n, 1.0)?;
        let parts = cx.fwd(sigmoid.as_ref(), dtype, &x, c, 1.0)?;
        let same = whole
            .iter()
            .zip(&parts)
            .all(|(a, b)| a.to_bits() == b.to_bits());
        let bound = softmax_lab_logsumexp::sharded::normwise_bound(
            false,
            Rounding::of(sharded.info().accumulation, dtype),
            n,
            shards,
            1.0,
        );
        within_bound &= nw <= bound;
        local_err = local_err.min(le);
        sharded_err = sharded_err.max(nw);
        sig_same &= same;
        cx.push(
            &mut t,
            vec![
                txt("measured here"),
                txt(sharded.id()),
                txt(dtype.name()),
                int(n),
                int(shards),
                int(bytes_exchanged(shards, dtype)),
                int(n * dtype.size_bytes()),
                flt(le),
                flt(nw),
                flt(bound),
                Value::Bool(false),
                flt(f64::NAN),
                flt(f64::NAN),
            ],
        );
        cx.push(
            &mut t,
            vec![
                txt("measured here"),
                txt(sigmoid.id()),
                txt(dtype.name()),
                int(n),
                int(shards),
                int(0),
                int(n * dtype.size_bytes()),
                flt(0.0),
                flt(f64::NAN),
                flt(f64::NAN),
                Value::Bool(same),
                flt(f64::NAN),
                flt(f64::NAN),
            ],
        );
    }
    let mut timing = Vec::new();
    if let Some(r) = cx.load("throughput.json")? {
        if let Some(h) = r.tables.iter().find(|t| t.name == "sharded") {
            for row in &h.rows {
                let get = |c: &str| h.column(c).map(|i| row[i].clone());
                let text = |c: &str| match get(c) {
                    Some(Value::Text(s)) => s,
                    _ => String::new(),
                };
                let num = |c: &str| get(c).and_then(|v| v.as_f64()).unwrap_or(f64::NAN);
                let ratio = num("ratio_to_unsharded");
                timing.push(ratio);
                cx.push(
                    &mut t,
                    vec![
                        txt("throughput.json"),
                        txt(text("variant")),
                        txt(text("dtype")),
                        Value::Int(num("n") as i64),
                        Value::Int(num("shards") as i64),
                        Value::Int(num("bytes_exchanged_per_row") as i64),
                        Value::Int(0),
                        flt(f64::NAN),
                        flt(f64::NAN),
                        flt(f64::NAN),
                        Value::Bool(false),
                        flt(num("elems_per_s")),
                        flt(ratio),
                    ],
                );
            }
        }
    }
    let needs_sync = local_err > NEEDS_SYNC_ERROR;
    let verdict = if !(needs_sync && sig_same) {
        Verdict::DoesNotHold
    } else if within_bound {
        Verdict::Holds
    } else {
        Verdict::HoldsWithCaveats
    };
    let timing_text = if timing.is_empty() {
        "cost in time not measured (throughput.json or its sharded table missing)".to_string()
    } else {
        let s = summarize(&timing);
        format!(
            "sharded throughput {}–{}× the unsharded (throughput.json)",
            sig(s.min, 3),
            sig(s.max, 3)
        )
    };
    let evidence = format!(
        "a shard's softmax without the exchange is off by at least {} (some probability, in every dtype); exchanging (max, Σexp) per shard — {} bytes per row for {shards} shards in f32 arithmetic, against {} bytes of f32 row — gives a normwise error of at most {} (within the proven bound in every dtype: {}); sigmoid per shard is bit-identical to the whole row: {}, 0 bytes; {timing_text}",
        sig(local_err, 3),
        bytes_exchanged(shards, DType::F32),
        n * 4,
        sig(sharded_err, 3),
        if within_bound { "yes" } else { "no" },
        if sig_same { "yes" } else { "no" },
    );
    Ok(Finding {
        verdict,
        tested: if timing.is_empty() {
            "the synchronisation (what a shard gets wrong without it, what it exchanges) and sigmoid's independence; not its cost in time".into()
        } else {
            "all: the synchronisation, its bytes and its cost in time, and sigmoid's independence"
                .into()
        },
        evidence,
        figure: cx.csv("c17"),
        tables: vec![t],
    })
}

// ---------------------------------------------------------------------------------
// C18: sigmoid, hard sigmoid and relu throughput.

fn c18(cx: &Ctx) -> Result<Finding, HarnessError> {
    let hard = need!(cx, "hard_sigmoid");
    let mut t = cx.table(
        "c18",
        &[
            ("source", ColumnType::Text),
            ("variant", ColumnType::Text),
            ("dtype", ColumnType::Text),
            ("n", ColumnType::Int),
            ("threads", ColumnType::Int),
            ("elems_per_s", ColumnType::Float),
            ("elems_per_s_ci95_low", ColumnType::Float),
            ("elems_per_s_ci95_high", ColumnType::Float),
            ("ratio_to_relu", ColumnType::Float),
            ("max_abs_error_vs_sigmoid", ColumnType::Float),
        ],
    );
    // Hard sigmoid's error against the exact logistic, on [−10, 10].
    let grid: Vec<f64> = (0..=5120).map(|k| -10.0 + k as f64 / 256.0).collect();
    let mut max_err: f64 = 0.0;
    let mut at: f64 = 0.0;
    for dtype in DType::ALL {
        let y = cx.fwd(hard.as_ref(), dtype, &grid, grid.len(), 1.0)?;
        let mut e_dt: f64 = 0.0;
        for (&x, &v) in grid.iter().zip(&y) {
            let xr = dtype.format().round_f64(x);
            let e = (v - reference::sigmoid(xr).to_f64()).abs();
            if e > e_dt {
                e_dt = e;
            }
            if e > max_err {
                (max_err, at) = (e, xr);
            }
        }
        cx.push(
            &mut t,
            vec![
                txt("measured here"),
                txt(hard.id()),
                txt(dtype.name()),
                int(grid.len()),
                int(1),
                flt(f64::NAN),
                flt(f64::NAN),
                flt(f64::NAN),
                flt(f64::NAN),
                flt(e_dt),
            ],
        );
    }
    let err_text = format!(
        "hard sigmoid is off the logistic by up to {} (at x = {})",
        sig(max_err, 3),
        sig(at, 3)
    );
    let Some(r) = cx.load("throughput.json")? else {
        let mut f = Finding::not_tested(format!(
            "throughput.json is missing from this run's results, so the cost was not measured; {err_text}"
        ));
        f.tested = "hard sigmoid's error only".into();
        f.figure = cx.csv("c18");
        f.tables = vec![t];
        return Ok(f);
    };
    let Some(tp) = r.tables.iter().find(|t| t.name == "throughput") else {
        return Ok(Finding::not_tested(format!(
            "throughput.json has no 'throughput' table; {err_text}"
        )));
    };
    // (n → (median, low, high)) per variant, f32, one thread, forward.
    type Speed = std::collections::BTreeMap<i64, (f64, f64, f64)>;
    let mut speeds: [Speed; 3] = Default::default();
    let names = ["sigmoid", "hard_sigmoid", "relu"];
    for row in &tp.rows {
        let get = |c: &str| tp.column(c).map(|i| &row[i]);
        let text = |c: &str| match get(c) {
            Some(Value::Text(s)) => s.as_str(),
            _ => "",
        };
        let num = |c: &str| get(c).and_then(|v| v.as_f64()).unwrap_or(f64::NAN);
        if text("dtype") != "f32" || num("threads") != 1.0 || text("direction") != "forward" {
            continue;
        }
        if let Some(k) = names.iter().position(|&v| v == text("variant")) {
            speeds[k].entry(num("n") as i64).or_insert((
                num("elems_per_s"),
                num("elems_per_s_ci95_low"),
                num("elems_per_s_ci95_high"),
            ));
        }
    }
    let common: Vec<i64> = speeds[0]
        .keys()
        .filter(|n| speeds[1].contains_key(n) && speeds[2].contains_key(n))
        .copied()
        .collect();
    if common.is_empty() {
        return Ok(Finding::not_tested(format!(
            "throughput.json has no f32 single-thread forward rows of sigmoid, hard_sigmoid and relu at a common n; {err_text}"
        )));
    }
    let (mut slower, mut cheaper) = (0, 0);
    let mut ratios = Vec::new();
    for &n in &common {
        let relu = speeds[2][&n];
        let s = speeds[0][&n];
        let h = speeds[1][&n];
        for (k, v) in speeds.iter().enumerate() {
            let (m, lo, hi) = v[&n];
            cx.push(
                &mut t,
                vec![
                    txt("throughput.json"),
                    txt(names[k]),
                    txt("f32"),
                    Value::Int(n),
                    int(1),
                    flt(m),
                    flt(lo),
                    flt(hi),
                    flt(m / relu.0),
                    flt(f64::NAN),
                ],
            );
        }
        // Slower / cheaper only when the 95% intervals do not overlap.
        if s.2 < relu.1 {
            slower += 1;
        }
        if s.2 < h.1 {
            cheaper += 1;
        }
        ratios.push(relu.0 / s.0);
    }
    let m = common.len();
    let verdict = if slower == 0 || cheaper == 0 {
        Verdict::DoesNotHold
    } else if slower == m && cheaper == m && max_err <= COARSE_APPROXIMATION {
        Verdict::Holds
    } else {
        Verdict::HoldsWithCaveats
    };
    let rs = summarize(&ratios);
    let evidence = format!(
        "f32, one thread: sigmoid is slower than relu (95% intervals apart) at {slower} of {m} sizes, relu {}–{}× faster; hard sigmoid faster than sigmoid at {cheaper} of {m}; {err_text}; the operation count (4 vs 1) was not measured",
        sig(rs.min, 3),
        sig(rs.max, 3),
    );
    Ok(Finding {
        verdict,
        tested: "throughput of sigmoid, hard sigmoid and relu (f32, one thread) and hard sigmoid's error; not the operation count".into(),
        evidence,
        figure: format!(
            "plots/{}_throughput_vs_n.svg",
            r.scenario
                .get("name")
                .and_then(|v| v.as_str())
                .unwrap_or("throughput")
        ),
        tables: vec![t],
    })
}

// ---------------------------------------------------------------------------------
// C20: the interview softmax.

/// The textbook "interview" softmax, as the claim describes it: subtract the max
/// in place (the caller's buffer), then exponentiate and normalise. Kept exactly
/// as written so that its side effect can be tested; never use it.
pub fn interview_softmax(x: &mut [f32]) -> Vec<f32> {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    for v in x.iter_mut() {
        *v -= max;
    }
    let sum: f32 = x.iter().map(|v| v.exp()).sum();
    x.iter().map(|v| v.exp() / sum).collect()
}

fn c20(cx: &Ctx) -> Result<Finding, HarnessError> {
    let stable = need!(cx, "stable");
    let n = 100;
    let rows = cx.q(4, 16);
    let mut t = cx.table(
        "c20",
        &[
            ("input", ColumnType::Text),
            ("n", ColumnType::Int),
            ("rows", ColumnType::Int),
            ("scale", ColumnType::Float),
            ("changed_fraction", ColumnType::Float),
            ("unrecoverable_fraction", ColumnType::Float),
            ("output_max_ulp_error", ColumnType::Float),
            ("stable_variant_changed_fraction", ColumnType::Float),
        ],
    );
    let (mut changed_all, mut unrec_all, mut err_all): (f64, f64, f64) = (0.0, 0.0, 0.0);
    let mut control_all: f64 = 0.0;
    for (i, scale) in [1.0, 1000.0].into_iter().enumerate() {
        let x = cx.normal(20 + i as u64, DType::F32, n, rows, scale)?;
        let mut buf: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let before = buf.clone();
        let exact = reference_rows(softmax_lab_core::Function::Softmax, &x, n);
        let mut err: f64 = 0.0;
        let (mut changed, mut unrec) = (0, 0);
        for (r, row) in buf.chunks_exact_mut(n).enumerate() {
            let orig = &before[r * n..(r + 1) * n];
            let max = orig.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let y = interview_softmax(row);
            for k in 0..n {
                err = err.max(ulp_error(DType::F32, y[k] as f64, exact[r * n + k]));
                if row[k].to_bits() != orig[k].to_bits() {
                    changed += 1;
                }
                // Adding the max back does not always give the logit back.
                if (row[k] + max).to_bits() != orig[k].to_bits() {
                    unrec += 1;
                }
            }
        }
        // The registry's softmax takes its input read-only: same buffer, unchanged.
        let xb = softmax_lab_core::Buffer::F32(before.clone());
        let mut out = softmax_lab_core::Buffer::zeros(DType::F32, before.len());
        stable
            .forward(xb.rows(), n, &Options::default(), out.rows_mut())
            .map_err(|e| cx.verr(stable.id(), DType::F32, e))?;
        let control = match &xb {
            softmax_lab_core::Buffer::F32(v) => v
                .iter()
                .zip(&before)
                .filter(|(a, b)| a.to_bits() != b.to_bits())
                .count(),
            _ => 0,
        };
        let (cf, uf, ctl) = (
            fraction(changed, buf.len()),
            fraction(unrec, buf.len()),
            fraction(control, buf.len()),
        );
        changed_all = changed_all.max(cf);
        unrec_all = unrec_all.max(uf);
        err_all = err_all.max(err);
        control_all = control_all.max(ctl);
        cx.push(
            &mut t,
            vec![
                txt("normal"),
                int(n),
                int(rows),
                flt(scale),
                flt(cf),
                flt(uf),
                flt(err),
                flt(ctl),
            ],
        );
    }
    let verdict = if changed_all > 0.0 {
        Verdict::DoesNotHold
    } else {
        Verdict::Holds
    };
    let evidence = format!(
        "its output is accurate (within {} ulps in f32) but it overwrites {} of the caller's logits with x − max, and adding the max back fails to restore {} of them; the registry's stable softmax leaves {} of its input changed",
        sig(err_all, 3),
        pct(changed_all),
        pct(unrec_all),
        pct(control_all),
    );
    Ok(Finding {
        verdict,
        tested: "all: the caller's buffer before and after one call (f32, normal logits at scales 1 and 1000), and the output's accuracy".into(),
        evidence,
        figure: cx.csv("c20"),
        tables: vec![t],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::Results;

    const SCENARIO: &str =
        "name = \"claims\"\ndescription = \"test\"\nkind = \"claims\"\nseed = 7\n";

    fn registry() -> Registry {
        softmax_lab_variants::registry()
    }

    fn scenario(quick: bool) -> Scenario {
        let file = crate::scenario::parse(Path::new("claims.toml"), SCENARIO, &registry());
        match file {
            Ok(f) => f.pick(quick).clone(),
            Err(e) => panic!("the claims scenario does not parse: {e}"),
        }
    }

    /// A scratch results folder of its own per test.
    fn scratch(name: &str) -> std::path::PathBuf {
        let d =
            std::env::temp_dir().join(format!("softmax_lab_claims_{name}_{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d)
            .map_err(|e| e.to_string())
            .unwrap_or_default();
        d
    }

    fn run_one(f: ClaimFn, dir: &Path) -> Finding {
        let (s, r) = (scenario(true), registry());
        let cx = Ctx {
            s: &s,
            registry: &r,
            results_dir: dir,
        };
        match f(&cx) {
            Ok(f) => f,
            Err(e) => panic!("{e}"),
        }
    }

    fn column_f64(t: &Table, name: &str) -> Vec<f64> {
        let i = t.column(name).unwrap_or(usize::MAX);
        t.rows
            .iter()
            .map(|r| r[i].as_f64().unwrap_or(f64::NAN))
            .collect()
    }

    #[test]
    fn c09_true_values_and_verdict() {
        let f = run_one(c09, &scratch("c09"));
        let exact = column_f64(&f.tables[0], "exact");
        for (got, want) in exact.iter().zip([0.6590, 0.2424, 0.0986]) {
            assert!((got - want).abs() < 5e-5, "{got} vs {want}");
        }
        let ok: Vec<bool> = f.tables[0]
            .rows
            .iter()
            .map(|r| r[7] == Value::Bool(true))
            .collect();
        // 0.7 and 0.24 are the exact values rounded; 0.06 is not (exact 0.0986).
        assert_eq!(ok, vec![true, true, false]);
        assert_eq!(f.verdict, Verdict::DoesNotHold);
    }

    #[test]
    fn c10_underflows_in_f16_only() {
        let f = run_one(c10, &scratch("c10"));
        let t = &f.tables[0];
        let (d, e, c) = (
            t.column("dtype").unwrap_or(0),
            t.column("entry").unwrap_or(0),
            t.column("computed").unwrap_or(0),
        );
        let get = |dtype: &str, entry: i64| {
            t.rows
                .iter()
                .find(|r| r[d] == Value::Text(dtype.into()) && r[e] == Value::Int(entry))
                .and_then(|r| r[c].as_f64())
                .unwrap_or(f64::NAN)
        };
        assert_eq!(get("f16", 0), 0.0);
        assert_eq!(get("f16", 1), 0.0);
        assert_eq!(get("f16", 2), 1.0);
        // bf16 has f32's exponent range: both tiny values survive.
        assert!((get("bf16", 0) / 1.9287e-22 - 1.0).abs() < 1e-2);
        assert!((get("bf16", 1) / 2.0612e-9 - 1.0).abs() < 1e-2);
        assert!((get("f64", 0) / 1.9287e-22 - 1.0).abs() < 1e-4);
        assert!((get("exact", 1) / 2.0612e-9 - 1.0).abs() < 1e-4);
        assert_eq!(f.verdict, Verdict::HoldsWithCaveats);
    }

    #[test]
    fn interview_softmax_mutates_its_input() {
        let mut x = [1.0f32, 2.0, 3.0];
        let y = interview_softmax(&mut x);
        assert_eq!(x, [-2.0, -1.0, 0.0]);
        assert!((y[2] - 0.665_240_9).abs() < 1e-6);
        // The small logit is lost for good: 1e-3 − 1e4 rounds in f32.
        let mut w = [1e-3f32, 1e4];
        interview_softmax(&mut w);
        assert_ne!(w[0] + 1e4, 1e-3);
        let f = run_one(c20, &scratch("c20"));
        assert_eq!(f.verdict, Verdict::DoesNotHold);
        let changed = column_f64(&f.tables[0], "changed_fraction");
        assert!(changed.iter().all(|&c| c > 0.9), "{changed:?}");
    }

    #[test]
    fn c05_softmax_gradients_vanish() {
        let f = run_one(c05, &scratch("c05"));
        assert_eq!(f.verdict, Verdict::DoesNotHold, "{}", f.evidence);
        let t = &f.tables[0];
        let gaps = column_f64(t, "gap");
        let ratio = column_f64(t, "ratio_to_gap_zero");
        let at = |g: f64| ratio[gaps.iter().position(|&x| x == g).unwrap_or(0)];
        assert_eq!(at(0.0), 1.0);
        // Equal logits: J = I/n − 11ᵀ/n², ‖J‖_F = √(n−1)/n = 0.3. One logit 20
        // ahead: every other p_j ≈ e^-20 and ‖J‖_F ≈ p_j √(9 + 18 + 81).
        let pj = (-20f64).exp() / (1.0 + 9.0 * (-20f64).exp());
        let want = pj * 108f64.sqrt() / 0.3;
        assert!(
            (at(20.0) / want - 1.0).abs() < 1e-3,
            "{} vs {want}",
            at(20.0)
        );
    }

    #[test]
    fn c04_sigmoid_derivative_peak_and_tails() {
        let f = run_one(c04, &scratch("c04"));
        assert_eq!(f.verdict, Verdict::Holds, "{}", f.evidence);
        let t = &f.tables[0];
        let (xs, d) = (column_f64(t, "x"), column_f64(t, "derivative"));
        let point = t.column("point").unwrap_or(0);
        // Every "max over grid" row of the stable sigmoid: 0.25 at x = 0.
        for (k, r) in t.rows.iter().enumerate().take(4 * 13) {
            if r[point] == Value::Text("max over grid".into())
                && r[1] == Value::Text("sigmoid".into())
            {
                assert_eq!((xs[k], d[k]), (0.0, 0.25));
            }
        }
    }

    #[test]
    fn c03_and_c07_verdicts() {
        let f = run_one(c07, &scratch("c07"));
        assert_eq!(f.verdict, Verdict::Holds, "{}", f.evidence);
        let t = &f.tables[0];
        let naive = column_f64(t, "naive_nonfinite_fraction");
        // The example overflows in every dtype: exp(1000) > f64::MAX.
        let input = t.column("input").unwrap_or(0);
        for (k, r) in t.rows.iter().enumerate() {
            if r[input] == Value::Text("[1000, 1001, 1002]".into()) {
                assert_eq!(naive[k], 1.0);
            }
        }
        let f = run_one(c03, &scratch("c03"));
        let max = column_f64(&f.tables[0], "max_diff_ulps");
        assert!(max.iter().all(|m| m.is_finite()), "{max:?}");
    }

    fn write_results(dir: &Path, file: &str, name: &str, tables: Vec<Table>) {
        let kind = tables.first().map_or(String::new(), |t| t.name.clone());
        let r = Results {
            schema_version: crate::results::SCHEMA_VERSION,
            scenario: serde_json::json!({ "name": name, "kind": kind }),
            machine: crate::machine::Machine::detect(),
            elapsed_s: 1.0,
            variants: Vec::new(),
            tables,
            generation: "test".into(),
            files: Vec::new(),
        };
        std::fs::write(dir.join(file), r.to_json()).unwrap_or_default();
    }

    fn comparisons(rows: &[(&str, &str, &str, f64, f64, f64)]) -> Table {
        let mut t = Table::new(
            "comparisons",
            &[
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
                ("p_value", ColumnType::Float),
                ("seeds", ColumnType::Int),
            ],
        );
        for &(metric, a, b, ma, mb, p) in rows {
            t.push(vec![
                txt("training"),
                txt("head"),
                txt("digits"),
                txt("logreg"),
                Value::Bool(true),
                Value::Bool(true),
                txt(metric),
                txt(a),
                txt(b),
                flt(ma),
                flt(mb),
                flt(p),
                Value::Int(10),
            ]);
        }
        t
    }

    #[test]
    fn training_claims_follow_the_tests() {
        let dir = scratch("training");
        let f = run_one(c11, &dir);
        assert_eq!(f.verdict, Verdict::NotTested);
        assert!(f.evidence.contains("training.json"), "{}", f.evidence);
        // Significant, in the claim's direction (arms in either order).
        let m = "final_prob_sum_above_one_fraction";
        let t = comparisons(&[(m, "sigmoid_ovr_bce", "softmax_ce", 0.31, 0.0, 1e-4)]);
        write_results(&dir, "training.json", "training", vec![t]);
        let f = run_one(c11, &dir);
        assert_eq!(f.verdict, Verdict::Holds, "{}", f.evidence);
        assert_eq!(f.figure, "plots/training_prob_sums.svg");
        let t = comparisons(&[(m, "softmax_ce", "sigmoid_ovr_bce", 0.0, 0.31, 1e-4)]);
        write_results(&dir, "training.json", "training", vec![t]);
        assert_eq!(run_one(c11, &dir).verdict, Verdict::Holds);
        // Not significant: does not hold; a wrong sign: does not hold.
        let t = comparisons(&[(m, "sigmoid_ovr_bce", "softmax_ce", 0.31, 0.0, 0.2)]);
        write_results(&dir, "training.json", "training", vec![t]);
        assert_eq!(run_one(c11, &dir).verdict, Verdict::DoesNotHold);
        // C12: softmax2 significantly steadier on one metric of two, the other null.
        let t = comparisons(&[
            (
                "train_loss_rises",
                "softmax2_ce",
                "sigmoid1_bce",
                0.5,
                2.0,
                1e-4,
            ),
            (
                "final_accuracy",
                "softmax2_ce",
                "sigmoid1_bce",
                0.95,
                0.95,
                0.9,
            ),
        ]);
        write_results(&dir, "training.json", "training", vec![t]);
        assert_eq!(run_one(c12, &dir).verdict, Verdict::HoldsWithCaveats);
        // No comparison the claim reads: not tested.
        assert_eq!(run_one(c19, &dir).verdict, Verdict::NotTested);
    }

    #[test]
    fn throughput_claims_without_and_with_timing() {
        let dir = scratch("throughput");
        let f = run_one(c18, &dir);
        assert_eq!(f.verdict, Verdict::NotTested);
        assert!(f.evidence.contains("throughput.json"), "{}", f.evidence);
        // Hard sigmoid's largest error against the logistic, about 0.07, near |x| = 1.6.
        let e = column_f64(&f.tables[0], "max_abs_error_vs_sigmoid");
        assert!(e.iter().all(|&v| v > 0.06 && v < 0.08), "{e:?}");
        let mut t = Table::new(
            "throughput",
            &[
                ("variant", ColumnType::Text),
                ("dtype", ColumnType::Text),
                ("n", ColumnType::Int),
                ("threads", ColumnType::Int),
                ("direction", ColumnType::Text),
                ("elems_per_s", ColumnType::Float),
                ("elems_per_s_ci95_low", ColumnType::Float),
                ("elems_per_s_ci95_high", ColumnType::Float),
            ],
        );
        for (v, eps) in [("sigmoid", 1e8), ("hard_sigmoid", 1e9), ("relu", 2e9)] {
            t.push(vec![
                txt(v),
                txt("f32"),
                Value::Int(4096),
                Value::Int(1),
                txt("forward"),
                flt(eps),
                flt(0.9 * eps),
                flt(1.1 * eps),
            ]);
        }
        write_results(&dir, "throughput.json", "throughput", vec![t]);
        let f = run_one(c18, &dir);
        // Slower than relu, hard sigmoid cheaper, but a coarse approximation.
        assert_eq!(f.verdict, Verdict::HoldsWithCaveats, "{}", f.evidence);
        assert_eq!(f.figure, "plots/throughput_throughput_vs_n.svg");
    }

    #[test]
    fn the_whole_ledger_in_quick_form() {
        let dir = scratch("all");
        let tables = match measure(&scenario(true), &registry(), &dir) {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        };
        let main = &tables[0];
        assert_eq!(main.name, "claims");
        assert_eq!(main.rows.len(), 20);
        let names: Vec<&str> = main.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, COLUMNS.map(|c| c.0));
        let verdict = |id: &str| {
            main.rows
                .iter()
                .find(|r| r[0] == Value::Text(id.into()))
                .map(|r| r[2].to_csv())
                .unwrap_or_default()
        };
        assert_eq!(verdict("C05"), "does not hold");
        assert_eq!(verdict("C09"), "does not hold");
        assert_eq!(verdict("C11"), "not tested here");
        assert_eq!(verdict("C20"), "does not hold");
        // Every linked evidence table is among the tables returned.
        for r in &main.rows {
            if let Value::Text(fig) = &r[5] {
                if let Some(stem) = fig
                    .strip_prefix("results/claims_")
                    .and_then(|f| f.strip_suffix(".csv"))
                {
                    assert!(tables.iter().any(|t| t.name == stem), "{fig}");
                }
            }
        }
    }
}
