//! The claims ledger: each claim C01–C20 of the study's claims list (stated in
//! the claims scenario, `scenarios/claims.toml`) gets a verdict — holds, holds
//! with caveats, does not hold, inconclusive, not tested here — computed from
//! measurements, never typed in. Most claims are measured here, directly: the
//! registry's variants in f16, bf16, f32 and f64 against the double-double
//! reference (`softmax_lab_core::reference`), with the error measures of
//! `softmax_lab_core::measure`. Timing claims (C16–C18) read the run's
//! `throughput.json` and training claims (C11, C12, C19) its `training.json`;
//! when such a file is missing the claim (or the part of it) is "not tested here"
//! and the evidence says which file was missing.
//!
//! Tables: the main table `claims` (one [`ClaimRecord`] per claim), then the evidence tables, each
//! starting with the `scenario` column: `c01` … `c20` (one per claim that has
//! evidence; C15 adds `c15_gumbel` and `c15_relaxed`). The `figure` column links a
//! verdict to its evidence, relative to the report folder:
//! `results/<scenario>_cNN.csv`, or a plot of the training scenario.
//!
//! Every threshold a verdict uses is a named constant with the reason for its
//! value. Statistical verdicts (C11, C12, C19, `training.rs`) pair the
//! training runs over seeds: a comparison counts when p < 0.05 / m (Bonferroni
//! over the m comparisons the claim looks at) on the side the claim predicts;
//! without one, equivalence within a stated margin makes "does not hold", and
//! nothing either way "inconclusive".
//!
//! Layout: this file holds the claim list, the verdict thresholds, the context
//! every claim measures in ([`Finding`], the seeded draws, loading earlier results)
//! and the small helpers; each topic file holds its claims' measurements:
//! `numerics` (C01–C03, C09, C10), `stability` (C07, C08, C20), `gradients`
//! (C04–C06), `sparsity` (C13–C15: sparsity and temperature), `cost` (C16–C18, from
//! the throughput results) and `training` (C11, C12, C19, from the training
//! results). Each claim is measure → decide: its function measures into a small
//! struct of numbers, and a pure `decide` function of that struct returns the
//! verdict and the evidence sentence, so that tests can feed it synthetic numbers
//! for every verdict it can print. Adding a claim: its function in a topic file,
//! its line in `CLAIM_FNS`, its `[[claims]]` table (statement and deciding
//! measurement) in `scenarios/claims.toml`, and its synthetic tests.
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
pub use crate::results::records::ClaimRecord;
use crate::results::{ColumnType, Results, Table, Value};
use crate::scenario::{Dist, Scenario};
use crate::stats::{fraction, median, summarize};
use crate::HarnessError;

/// One claim put to the test, as the claims scenario states it (`[[claims]]` in
/// `scenarios/claims.toml`): the ledger's `statement` column comes from here.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ClaimStatement {
    /// The claim's id, `C01` … `C20`.
    pub id: String,
    /// The claim, as the study's claims list restates it.
    pub statement: String,
    /// The measurement that decides it (documentation, kept with the results).
    pub measurement: String,
}

/// The ids of the claims the ledger decides, in its order (the ids a claims
/// scenario must state).
pub fn claim_ids() -> Vec<&'static str> {
    CLAIM_FNS.iter().map(|(id, _)| *id).collect()
}

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
/// below this (a million times the truncation error: anything larger is a wrong
/// formula), plus their rounding floor on the row (see `gradients::fd_tolerance`).
const FD_TOL: f64 = 1e-6;
/// C07: the max-shifted result is "unchanged" componentwise when every output is
/// within 4 ulps of the exact softmax of the (rounded) input: the roundings of
/// its subtract, exp, sum and divide.
const UNCHANGED_ULPS: f64 = 4.0;
/// C07: a componentwise backward-stable softmax has relative error at most
/// (c·n·κ + 1)·u (Blanchard, Higham & Higham 2021; see
/// `softmax_lab_core::conditioning`); error/(κu) above 2·n is more than the
/// problem's conditioning explains (the accuracy tables measure at most 0.2·n).
const KAPPA_FACTOR_PER_N: f64 = 2.0;
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
/// C18: hard sigmoid's implementation matches its own formula relu6(x+3)/6 when
/// it is within two ulps of 1 of the dtype of the exact value everywhere (an
/// add, a clamp and a division, each rounded once in the storage dtype: at most
/// about 1.5 ulps of 1 on [0, 1]).
const HARD_SIGMOID_ULPS: f64 = 2.0;
/// C11, C12, C19: the family-wise significance level, split over the comparisons
/// a claim examines (Bonferroni).
const ALPHA: f64 = 0.05;
/// C11, C12, C19: a run "learned nothing" when its final test accuracy is at most
/// this much above the majority-class rate (one test row in a hundred: below the
/// resolution of the smallest test split that matters, iris's 38 rows, and far
/// below what any model that learned reaches); seed pairs where neither arm
/// learned are left out and counted.
const NOT_LEARNED_MARGIN: f64 = 0.01;
/// C12, C19: two accuracies count as equivalent within one percentage point
/// (TOST margin): the smallest difference a reader of the study would act on.
const ACCURACY_MARGIN: f64 = 0.01;
/// C12: equivalence margin of the number of epochs whose training loss rose: one
/// epoch.
const LOSS_RISES_MARGIN: f64 = 1.0;
/// C11: equivalence margin of the fraction of rows whose probabilities sum above
/// 1: one row in a hundred.
const ABOVE_ONE_MARGIN: f64 = 0.01;

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
    let mut main = Vec::new();
    let mut evidence = Vec::new();
    for (id, f) in CLAIM_FNS {
        // The scenario's parser checked that every id is stated exactly once.
        let statement =
            s.claims
                .iter()
                .find(|c| c.id == id)
                .ok_or_else(|| HarnessError::Training {
                    scenario: s.name.clone(),
                    message: format!("the scenario states no claim {id} (no [[claims]] table)"),
                })?;
        let finding = f(&cx)?;
        main.push(ClaimRecord {
            claim: id.into(),
            statement: statement.statement.clone(),
            verdict: finding.verdict.name().into(),
            tested: finding.tested,
            evidence: finding.evidence,
            figure: finding.figure,
        });
        evidence.extend(finding.tables);
    }
    let main = Table::from_records("claims", &main);
    Ok(std::iter::once(main).chain(evidence).collect())
}

type ClaimFn = fn(&Ctx) -> Result<Finding, HarnessError>;

/// Each claim's id and the function that measures and decides it, in the
/// ledger's order.
const CLAIM_FNS: [(&str, ClaimFn); 20] = [
    ("C01", c01),
    ("C02", c02),
    ("C03", c03),
    ("C04", c04),
    ("C05", c05),
    ("C06", c06),
    ("C07", c07),
    ("C08", c08),
    ("C09", c09),
    ("C10", c10),
    ("C11", c11),
    ("C12", c12),
    ("C13", c13),
    ("C14", c14),
    ("C15", c15),
    ("C16", c16),
    ("C17", c17),
    ("C18", c18),
    ("C19", c19),
    ("C20", c20),
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

    /// The rows of an earlier scenario's table `t` (from `file`) as typed records.
    fn records<R: crate::results::Record>(
        &self,
        t: &Table,
        file: &str,
    ) -> Result<Vec<R>, HarnessError> {
        t.records::<R>().map_err(|message| HarnessError::Results {
            path: self.results_dir.join(file),
            message,
        })
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

/// An internal "no records" error: the loops above always produce records.
fn unreachable_empty(claim: &str) -> HarnessError {
    HarnessError::Training {
        scenario: "claims".into(),
        message: format!("{claim}: no measurements were made (a bug in the claims module)"),
    }
}

mod cost;
mod gradients;
mod numerics;
mod sparsity;
mod stability;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_cost;
#[cfg(test)]
mod tests_gradients;
#[cfg(test)]
mod tests_numerics;
#[cfg(test)]
mod tests_sparsity;
#[cfg(test)]
mod tests_stability;
#[cfg(test)]
mod tests_training;
mod training;

use cost::{c16, c17, c18};
use gradients::{c04, c05, c06};
use numerics::{c01, c02, c03, c09, c10};
use sparsity::{c13, c14, c15};
pub use stability::interview_softmax;
use stability::{c07, c08, c20};
use training::{c11, c12, c19};
