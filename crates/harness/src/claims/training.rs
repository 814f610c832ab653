//! Claims decided by the training study's runs: C11, C12, C19.
//!
//! Measure: the per-seed records of the `training` table (every run, every epoch)
//! are paired over seeds — same split, first layer and batch order — into
//! comparisons of two arms (two heads, or standardised against raw inputs), one
//! per data set × model × setting × metric. A seed pair in which neither arm
//! learned (final test accuracy within [`NOT_LEARNED_MARGIN`] of the majority-class
//! rate) is left out and counted. Each comparison gets its effect with a 95%
//! interval, a test of no difference and, where the metric has a margin, the two
//! one-sided tests of equivalence within it.
//!
//! Decide ([`decide`]): a comparison counts for the claim when its test is
//! significant at α/m (Bonferroni over the m comparisons) on the claim's side,
//! against it when significant on the other side, equivalent when the TOST
//! p-value is below α/m. A null result is not a refutation: with nothing
//! significant, the verdict is "does not hold" only where equivalence was shown,
//! else "inconclusive".

use std::collections::BTreeMap;

use super::*;
use crate::results::records::TrainingRecord;
use crate::stats::{paired_diff, pitman_morgan, sd_ci95, sign_test, wilson_ci95};

// ---------------------------------------------------------------------------------
// Measure.

/// One run of the training study as the claims read it.
#[derive(Clone, Debug, Default)]
struct Run {
    /// (epoch, test accuracy, training loss), in epoch order.
    epochs: Vec<(usize, f64, f64)>,
    /// Final-epoch log-loss.
    log_loss: f64,
    /// Final-epoch fraction of rows whose probabilities sum above 1.
    above_one: f64,
    /// The run's majority-class accuracy (NaN when the table predates it).
    majority: f64,
}

impl Run {
    fn final_accuracy(&self) -> f64 {
        self.epochs.last().map_or(f64::NAN, |e| e.1)
    }
    fn learned(&self) -> bool {
        // Not learned only when both numbers are known and the accuracy is at the
        // majority rate: a NaN majority (not recorded) or a NaN accuracy (a run
        // that diverged, which is instability, not "nothing learned") counts as
        // learned, so nothing is left out for it.
        !matches!(
            self.final_accuracy()
                .partial_cmp(&(self.majority + NOT_LEARNED_MARGIN)),
            Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)
        )
    }
    fn accuracy_at(&self, epoch: usize) -> f64 {
        self.epochs
            .iter()
            .find(|e| e.0 == epoch)
            .map_or(f64::NAN, |e| e.1)
    }
    fn mean_accuracy_over_epochs(&self) -> f64 {
        let trained: Vec<f64> = self
            .epochs
            .iter()
            .filter(|e| e.0 > 0)
            .map(|e| e.1)
            .collect();
        trained.iter().sum::<f64>() / trained.len().max(1) as f64
    }
    fn loss_rises(&self) -> f64 {
        self.epochs
            .windows(2)
            .filter(|w| w[1].2 > w[0].2 || !w[1].2.is_finite())
            .count() as f64
    }
    /// The first epoch whose accuracy reached `target`; None: censored (never
    /// within the epochs trained).
    fn epochs_to(&self, target: f64) -> Option<usize> {
        self.epochs.iter().find(|e| e.1 >= target).map(|e| e.0)
    }
}

/// An arm: (head, standardised).
type Arm = (String, bool);

/// The runs of a training table, by (data set, model, head, standardised) and seed.
struct Runs {
    by_config: BTreeMap<(String, String, String, bool), BTreeMap<usize, Run>>,
    /// Whether the table records the majority-class rate.
    majority_known: bool,
}

impl Runs {
    fn from_records(recs: Vec<TrainingRecord>) -> Runs {
        let mut by_config: BTreeMap<_, BTreeMap<usize, Run>> = BTreeMap::new();
        let mut majority_known = !recs.is_empty();
        for r in recs {
            majority_known &= !r.majority_accuracy.is_nan();
            let run = by_config
                .entry((r.dataset, r.model, r.head, r.standardised))
                .or_default()
                .entry(r.seed)
                .or_default();
            run.epochs.push((r.epoch, r.accuracy, r.train_loss));
            run.majority = r.majority_accuracy;
            run.log_loss = r.log_loss;
            run.above_one = r.prob_sum_above_one_fraction;
        }
        for seeds in by_config.values_mut() {
            for run in seeds.values_mut() {
                run.epochs.sort_by_key(|e| e.0);
            }
        }
        Runs {
            by_config,
            majority_known,
        }
    }

    /// The (data set, model) pairs, in table order.
    fn cells(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for (d, m, _, _) in self.by_config.keys() {
            if !out.iter().any(|(a, b)| a == d && b == m) {
                out.push((d.clone(), m.clone()));
            }
        }
        out
    }

    /// The seed pairs of two arms of one cell (seeds present in both), and how many
    /// were left out because neither arm learned.
    fn pairs(&self, dataset: &str, model: &str, a: &Arm, b: &Arm) -> (Vec<(&Run, &Run)>, usize) {
        let key = |arm: &Arm| (dataset.to_string(), model.to_string(), arm.0.clone(), arm.1);
        let (Some(ra), Some(rb)) = (self.by_config.get(&key(a)), self.by_config.get(&key(b)))
        else {
            return (Vec::new(), 0);
        };
        let mut kept = Vec::new();
        let mut excluded = 0;
        for (seed, x) in ra {
            if let Some(y) = rb.get(seed) {
                if x.learned() || y.learned() {
                    kept.push((x, y));
                } else {
                    excluded += 1;
                }
            }
        }
        (kept, excluded)
    }
}

/// A per-seed metric, the side the claim predicts and its equivalence margin.
#[derive(Clone, Copy, Debug)]
enum Metric {
    /// A per-seed value compared with the paired t test and TOST; `better` is +1
    /// when the claim predicts a larger value for arm a, −1 a smaller.
    Paired {
        name: &'static str,
        value: fn(&Run, usize) -> f64,
        better: f64,
        margin: f64,
    },
    /// The spread of the final log-loss over seeds (Pitman–Morgan; arm a should
    /// vary less); no equivalence margin.
    LogLossSpread,
    /// Epochs to reach [`softmax_lab_training::TARGET_FRACTION`] of the better
    /// final accuracy of the pair, censored when never reached; the sign test of
    /// which arm got there first (arm a should).
    EpochsToTarget,
}

impl Metric {
    fn name(&self) -> &'static str {
        match self {
            Metric::Paired { name, .. } => name,
            Metric::LogLossSpread => "final_log_loss_std",
            Metric::EpochsToTarget => "epochs_to_target_accuracy",
        }
    }
}

const FINAL_ACCURACY: Metric = Metric::Paired {
    name: "final_accuracy",
    value: |r, _| r.final_accuracy(),
    better: 1.0,
    margin: ACCURACY_MARGIN,
};
const MEAN_ACCURACY: Metric = Metric::Paired {
    name: "mean_accuracy_over_epochs",
    value: |r, _| r.mean_accuracy_over_epochs(),
    better: 1.0,
    margin: ACCURACY_MARGIN,
};
const EARLY_ACCURACY: Metric = Metric::Paired {
    name: "early_accuracy",
    value: |r, early| r.accuracy_at(early),
    better: 1.0,
    margin: ACCURACY_MARGIN,
};
const LOSS_RISES: Metric = Metric::Paired {
    name: "train_loss_rises",
    value: |r, _| r.loss_rises(),
    better: -1.0,
    margin: LOSS_RISES_MARGIN,
};
const ABOVE_ONE: Metric = Metric::Paired {
    name: "final_prob_sum_above_one_fraction",
    value: |r, _| r.above_one,
    better: 1.0,
    margin: ABOVE_ONE_MARGIN,
};

/// One comparison, measured: the numbers [`decide`] reads and the evidence table
/// prints.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Compared {
    pub dataset: String,
    pub model: String,
    pub head_a: String,
    pub head_b: String,
    pub standardised_a: bool,
    pub standardised_b: bool,
    pub metric: String,
    /// The test that gave `p_value`.
    pub test: &'static str,
    /// Seed pairs compared.
    pub seeds: usize,
    /// Seed pairs left out: neither arm learned.
    pub excluded: usize,
    /// Arm a's value (mean over seeds; the standard deviation for the spread;
    /// the fraction of runs reaching the target for epochs to target).
    pub value_a: f64,
    /// Arm b's value.
    pub value_b: f64,
    /// What `effect` is.
    pub effect_name: &'static str,
    /// The effect with its 95% interval.
    pub effect: f64,
    pub effect_low: f64,
    pub effect_high: f64,
    /// Whether the point estimate lies on the side the claim predicts.
    pub claim_side: bool,
    /// The two-sided p-value of no difference.
    pub p_value: f64,
    /// The equivalence margin of the effect (NaN: no equivalence test).
    pub margin: f64,
    /// The TOST p-value (NaN: no equivalence test).
    pub p_equivalence: f64,
}

/// Runs reaching the target (C19's censored metric), pooled over comparisons.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(super) struct Reach {
    /// Arm a's runs that reached the target, and its runs.
    pub reached_a: usize,
    pub runs_a: usize,
    /// The same for arm b.
    pub reached_b: usize,
    pub runs_b: usize,
}

/// What a training claim measured: its comparisons and, for C19, the reach.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct TrainingMeasure {
    pub compared: Vec<Compared>,
    /// Whether the runs record their majority-class rate (else nothing is left out).
    pub majority_known: bool,
    pub reach: Option<Reach>,
}

fn compare(
    runs: &Runs,
    cell: (&str, &str),
    a: &Arm,
    b: &Arm,
    metric: Metric,
    early: usize,
    reach: &mut Reach,
) -> Option<Compared> {
    let (pairs, excluded) = runs.pairs(cell.0, cell.1, a, b);
    if pairs.is_empty() && excluded == 0 {
        return None;
    }
    let mut c = Compared {
        dataset: cell.0.into(),
        model: cell.1.into(),
        head_a: a.0.clone(),
        head_b: b.0.clone(),
        standardised_a: a.1,
        standardised_b: b.1,
        metric: metric.name().into(),
        test: softmax_lab_training::PAIRED_T,
        seeds: pairs.len(),
        excluded,
        value_a: f64::NAN,
        value_b: f64::NAN,
        effect_name: "",
        effect: f64::NAN,
        effect_low: f64::NAN,
        effect_high: f64::NAN,
        claim_side: false,
        p_value: f64::NAN,
        margin: f64::NAN,
        p_equivalence: f64::NAN,
    };
    match metric {
        Metric::Paired {
            value,
            better,
            margin,
            ..
        } => {
            let va: Vec<f64> = pairs.iter().map(|(x, _)| value(x, early)).collect();
            let vb: Vec<f64> = pairs.iter().map(|(_, y)| value(y, early)).collect();
            let d = paired_diff(&va, &vb, margin);
            c.value_a = va.iter().sum::<f64>() / va.len().max(1) as f64;
            c.value_b = vb.iter().sum::<f64>() / vb.len().max(1) as f64;
            c.effect_name = "mean a − b";
            (c.effect, c.effect_low, c.effect_high) =
                (d.diff.value, d.diff.ci95_low, d.diff.ci95_high);
            c.claim_side = better * d.diff.value > 0.0;
            c.p_value = d.test.p;
            c.margin = margin;
            c.p_equivalence = d.p_equivalence;
        }
        Metric::LogLossSpread => {
            let va: Vec<f64> = pairs.iter().map(|(x, _)| x.log_loss).collect();
            let vb: Vec<f64> = pairs.iter().map(|(_, y)| y.log_loss).collect();
            let (sa, sb) = (sd_ci95(&va), sd_ci95(&vb));
            let t = pitman_morgan(&va, &vb);
            c.test = softmax_lab_training::PITMAN_MORGAN;
            (c.value_a, c.value_b) = (sa.value, sb.value);
            c.effect_name = "sd a / sd b";
            (c.effect, c.effect_low, c.effect_high) = sd_ratio_ci95(&va, &vb);
            c.claim_side = sa.value < sb.value;
            c.p_value = t.p;
        }
        Metric::EpochsToTarget => {
            let (mut wins, mut losses) = (0, 0);
            let before = (reach.reached_a, reach.reached_b);
            for (x, y) in &pairs {
                let target = softmax_lab_training::TARGET_FRACTION
                    * x.final_accuracy().max(y.final_accuracy());
                let (ta, tb) = (x.epochs_to(target), y.epochs_to(target));
                reach.runs_a += 1;
                reach.runs_b += 1;
                reach.reached_a += usize::from(ta.is_some());
                reach.reached_b += usize::from(tb.is_some());
                // Censored at the last epoch: a run that never got there is slower
                // than one that did; two that never did are tied.
                match (ta, tb) {
                    (Some(p), Some(q)) if p < q => wins += 1,
                    (Some(p), Some(q)) if p > q => losses += 1,
                    (Some(_), None) => wins += 1,
                    (None, Some(_)) => losses += 1,
                    _ => {}
                }
            }
            let n = pairs.len().max(1) as f64;
            c.value_a = (reach.reached_a - before.0) as f64 / n;
            c.value_b = (reach.reached_b - before.1) as f64 / n;
            c.test = "sign test (censored pairs)";
            let w = wilson_ci95(wins, wins + losses);
            c.effect_name = "fraction of decided pairs where a reached the target first";
            (c.effect, c.effect_low, c.effect_high) = (w.value, w.ci95_low, w.ci95_high);
            c.claim_side = wins > losses;
            c.p_value = sign_test(wins, losses);
        }
    }
    Some(c)
}

/// The ratio of two paired standard deviations with its 95% interval (Pitman's:
/// for F = s_a²/s_b² and r the correlation of a and b, the variance ratio lies in
/// F·(K ± √(K² − 1)), K = 1 + 2(1 − r²) t²(0.975, n − 2)/(n − 2)); NaN where it
/// cannot be formed.
fn sd_ratio_ci95(a: &[f64], b: &[f64]) -> (f64, f64, f64) {
    let n = a.len().min(b.len());
    let (sa, sb) = (sd_ci95(a).value, sd_ci95(b).value);
    let ratio = sa / sb;
    if n < 3 || !ratio.is_finite() || a.iter().chain(b).any(|v| !v.is_finite()) {
        return (ratio, f64::NAN, f64::NAN);
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (ma, mb) = (mean(a), mean(b));
    let cov: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - ma) * (y - mb))
        .sum::<f64>();
    let r = (cov / ((n as f64 - 1.0) * sa * sb)).clamp(-1.0, 1.0);
    let df = n as f64 - 2.0;
    let t = statrs::distribution::StudentsT::new(0.0, 1.0, df)
        .map_or(f64::NAN, |d| d.inverse_cdf(0.975));
    let k = 1.0 + 2.0 * (1.0 - r * r) * t * t / df;
    let f = ratio * ratio;
    let root = (k * k - 1.0).max(0.0).sqrt();
    (ratio, (f * (k - root)).sqrt(), (f * (k + root)).sqrt())
}

/// Which comparisons a claim makes: for each (data set, model), the pairs of arms
/// (arm a is the one the claim favours) and the metrics.
type Plan = fn(&Runs, &str, &str) -> Vec<(Arm, Arm, Vec<Metric>)>;

fn has(runs: &Runs, d: &str, m: &str, arm: &Arm) -> bool {
    runs.by_config
        .contains_key(&(d.to_string(), m.to_string(), arm.0.clone(), arm.1))
}

fn plan_c11(runs: &Runs, d: &str, m: &str) -> Vec<(Arm, Arm, Vec<Metric>)> {
    if d == "multilabel" {
        return Vec::new();
    }
    [true, false]
        .into_iter()
        .map(|s| {
            (
                ("sigmoid_ovr_bce".to_string(), s),
                ("softmax_ce".to_string(), s),
            )
        })
        .filter(|(a, b)| has(runs, d, m, a) && has(runs, d, m, b))
        .map(|(a, b)| (a, b, vec![ABOVE_ONE]))
        .collect()
}

fn plan_c12(runs: &Runs, d: &str, m: &str) -> Vec<(Arm, Arm, Vec<Metric>)> {
    [true, false]
        .into_iter()
        .map(|s| {
            (
                ("softmax2_ce".to_string(), s),
                ("sigmoid1_bce".to_string(), s),
            )
        })
        .filter(|(a, b)| has(runs, d, m, a) && has(runs, d, m, b))
        .map(|(a, b)| {
            (
                a,
                b,
                vec![
                    LOSS_RISES,
                    Metric::LogLossSpread,
                    FINAL_ACCURACY,
                    MEAN_ACCURACY,
                ],
            )
        })
        .collect()
}

fn plan_c19(runs: &Runs, d: &str, m: &str) -> Vec<(Arm, Arm, Vec<Metric>)> {
    ["sigmoid_ovr_bce", "sigmoid1_bce"]
        .into_iter()
        .map(|h| ((h.to_string(), true), (h.to_string(), false)))
        .filter(|(a, b)| has(runs, d, m, a) && has(runs, d, m, b))
        .map(|(a, b)| {
            (
                a,
                b,
                vec![EARLY_ACCURACY, Metric::EpochsToTarget, MEAN_ACCURACY],
            )
        })
        .collect()
}

fn measure_training(runs: &Runs, plan: Plan, early: Option<usize>) -> TrainingMeasure {
    let mut out = TrainingMeasure {
        majority_known: runs.majority_known,
        ..TrainingMeasure::default()
    };
    let mut reach = Reach::default();
    let mut censored = false;
    for (d, m) in runs.cells() {
        for (a, b, metrics) in plan(runs, &d, &m) {
            for metric in metrics {
                if metric.name() == "early_accuracy" && early.is_none() {
                    continue;
                }
                censored |= matches!(metric, Metric::EpochsToTarget);
                if let Some(c) = compare(
                    runs,
                    (&d, &m),
                    &a,
                    &b,
                    metric,
                    early.unwrap_or(0),
                    &mut reach,
                ) {
                    out.compared.push(c);
                }
            }
        }
    }
    if censored {
        out.reach = Some(reach);
    }
    out
}

// ---------------------------------------------------------------------------------
// Decide.

/// How one comparison reads at the per-comparison level `alpha`.
pub(super) fn classify(c: &Compared, alpha: f64) -> &'static str {
    if c.p_value < alpha {
        if c.claim_side {
            "claim"
        } else {
            "against"
        }
    } else if c.p_equivalence < alpha {
        "equivalent"
    } else {
        "neither"
    }
}

/// The verdict of a training claim from its measured comparisons, and the evidence
/// sentence built from them.
pub(super) fn decide(m: &TrainingMeasure) -> (Verdict, String) {
    let n = m.compared.len();
    if n == 0 {
        return (
            Verdict::NotTested,
            "the training results hold no pair of runs this claim compares".into(),
        );
    }
    let alpha = ALPHA / n as f64;
    let count = |k: &str| {
        m.compared
            .iter()
            .filter(|c| classify(c, alpha) == k)
            .count()
    };
    let (pro, con, eq) = (count("claim"), count("against"), count("equivalent"));
    let verdict = if pro == 0 && con == 0 {
        if eq > 0 {
            Verdict::DoesNotHold
        } else {
            Verdict::Inconclusive
        }
    } else if con > pro {
        Verdict::DoesNotHold
    } else if con == pro {
        Verdict::Inconclusive
    } else if con == 0 && pro == n {
        Verdict::Holds
    } else {
        Verdict::HoldsWithCaveats
    };
    let seeds: usize = m
        .compared
        .iter()
        .map(|c| c.seeds + c.excluded)
        .max()
        .unwrap_or(0);
    let excluded: usize = m.compared.iter().map(|c| c.excluded).max().unwrap_or(0);
    let excluded_total: usize = m
        .compared
        .iter()
        .filter(|c| c.excluded > 0)
        .map(|c| {
            (
                c.dataset.as_str(),
                c.model.as_str(),
                c.head_a.as_str(),
                c.standardised_a,
                c.excluded,
            )
        })
        .collect::<std::collections::BTreeSet<_>>()
        .iter()
        .map(|k| k.4)
        .sum();
    let mut margins: Vec<String> = Vec::new();
    for c in &m.compared {
        if !c.margin.is_nan() {
            let t = format!("±{} {}", sig(c.margin, 2), c.metric);
            if !margins.contains(&t) {
                margins.push(t);
            }
        }
    }
    let exclusion = if m.majority_known {
        format!(
            "seed pairs where neither arm learned (final accuracy within {} of the majority-class rate) left out: {excluded_total} in all, at most {excluded} of {seeds} in one comparison",
            sig(NOT_LEARNED_MARGIN, 2)
        )
    } else {
        "the majority-class rate is not in these results, so no seed pair was left out".into()
    };
    // The strongest comparison on each side, with its effect and interval.
    let show = |c: &Compared| {
        format!(
            "{} on {}/{} ({} {} vs {} {}: {} {} [{}, {}], p = {}{})",
            c.metric,
            c.dataset,
            c.model,
            arm_name(&c.head_a, c.standardised_a, c.head_a == c.head_b),
            sig(c.value_a, 3),
            arm_name(&c.head_b, c.standardised_b, c.head_a == c.head_b),
            sig(c.value_b, 3),
            c.effect_name,
            sig(c.effect, 3),
            sig(c.effect_low, 3),
            sig(c.effect_high, 3),
            sig(c.p_value, 2),
            if c.p_equivalence.is_nan() {
                String::new()
            } else {
                format!(", TOST p = {}", sig(c.p_equivalence, 2))
            }
        )
    };
    let strongest = |side: &str| {
        m.compared
            .iter()
            .filter(|c| classify(c, alpha) == side)
            .min_by(|a, b| a.p_value.total_cmp(&b.p_value))
            .map(|c| format!("; strongest {side}: {}", show(c)))
            .unwrap_or_default()
    };
    let reach = m
        .reach
        .map(|r| {
            let (a, b) = (
                wilson_ci95(r.reached_a, r.runs_a),
                wilson_ci95(r.reached_b, r.runs_b),
            );
            format!(
                "; runs reaching the target: arm a {} of {} ({} [{}, {}]), arm b {} of {} ({} [{}, {}]), runs that never did counted as censored",
                r.reached_a,
                r.runs_a,
                pct(a.value),
                pct(a.ci95_low),
                pct(a.ci95_high),
                r.reached_b,
                r.runs_b,
                pct(b.value),
                pct(b.ci95_low),
                pct(b.ci95_high)
            )
        })
        .unwrap_or_default();
    let evidence = format!(
        "{n} comparisons at α = 0.05/{n} = {}: {pro} significant for the claim, {con} against, {eq} equivalent within their margins ({}), {} neither; {exclusion}{}{}{}{reach}",
        sig(alpha, 2),
        if margins.is_empty() { "none".to_string() } else { margins.join(", ") },
        n - pro - con - eq,
        strongest("claim"),
        strongest("against"),
        strongest("equivalent"),
    );
    (verdict, evidence)
}

fn arm_name(head: &str, standardised: bool, same_head: bool) -> String {
    if same_head {
        if standardised {
            "standardised".into()
        } else {
            "raw".into()
        }
    } else {
        head.to_string()
    }
}

// ---------------------------------------------------------------------------------
// The claims.

fn training_claim(
    cx: &Ctx,
    claim: &str,
    plan: Plan,
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
    let early = results
        .scenario
        .get("training")
        .and_then(|t| t.get("early_epoch"))
        .and_then(|e| e.as_u64())
        .map(|e| e as usize);
    let Some(table) = results.tables.iter().find(|t| t.name == "training") else {
        return Ok(Finding::not_tested(
            "training.json has no 'training' table".into(),
        ));
    };
    let runs = Runs::from_records(cx.records::<TrainingRecord>(table, "training.json")?);
    let m = measure_training(&runs, plan, early);
    let (verdict, evidence) = decide(&m);
    if verdict == Verdict::NotTested {
        return Ok(Finding::not_tested(format!("{evidence} ({tested})")));
    }
    let alpha = ALPHA / m.compared.len() as f64;
    let mut t = cx.table(
        &claim.to_lowercase(),
        &[
            ("dataset", ColumnType::Text),
            ("model", ColumnType::Text),
            ("metric", ColumnType::Text),
            ("head_a", ColumnType::Text),
            ("standardised_a", ColumnType::Bool),
            ("head_b", ColumnType::Text),
            ("standardised_b", ColumnType::Bool),
            ("seeds", ColumnType::Int),
            ("seeds_excluded", ColumnType::Int),
            ("value_a", ColumnType::Float),
            ("value_b", ColumnType::Float),
            ("effect", ColumnType::Text),
            ("effect_value", ColumnType::Float),
            ("effect_ci95_low", ColumnType::Float),
            ("effect_ci95_high", ColumnType::Float),
            ("test", ColumnType::Text),
            ("p_value", ColumnType::Float),
            ("equivalence_margin", ColumnType::Float),
            ("p_equivalence", ColumnType::Float),
            ("alpha", ColumnType::Float),
            ("favours", ColumnType::Text),
        ],
    );
    for c in &m.compared {
        cx.push(
            &mut t,
            vec![
                txt(&c.dataset),
                txt(&c.model),
                txt(&c.metric),
                txt(&c.head_a),
                Value::Bool(c.standardised_a),
                txt(&c.head_b),
                Value::Bool(c.standardised_b),
                int(c.seeds),
                int(c.excluded),
                flt(c.value_a),
                flt(c.value_b),
                txt(c.effect_name),
                flt(c.effect),
                flt(c.effect_low),
                flt(c.effect_high),
                txt(c.test),
                flt(c.p_value),
                flt(c.margin),
                flt(c.p_equivalence),
                flt(alpha),
                txt(classify(c, alpha)),
            ],
        );
    }
    Ok(Finding {
        verdict,
        tested: tested.into(),
        evidence,
        figure: format!("plots/{tname}_{plot}.svg"),
        tables: vec![t],
    })
}

pub(super) fn c11(cx: &Ctx) -> Result<Finding, HarnessError> {
    training_claim(
        cx,
        "C11",
        plan_c11,
        "fraction of test rows whose probabilities sum above 1, one-vs-rest sigmoids (arm a) against softmax (arm b) on single-label data sets",
        "prob_sums",
    )
}

pub(super) fn c12(cx: &Ctx) -> Result<Finding, HarnessError> {
    training_claim(
        cx,
        "C12",
        plan_c12,
        "2-way softmax (arm a) against one sigmoid (arm b) on every binary data set: training-loss rises, spread of the final log-loss over seeds, final and mean accuracy",
        "loss_curves",
    )
}

pub(super) fn c19(cx: &Ctx) -> Result<Finding, HarnessError> {
    training_claim(
        cx,
        "C19",
        plan_c19,
        "speed of training of sigmoid heads with standardised (arm a) against raw inputs (arm b): early accuracy, epochs to the target accuracy (censored), mean accuracy over epochs; saturation itself not measured",
        "accuracy_curves",
    )
}

#[cfg(test)]
pub(super) mod fixtures {
    //! Runs for the tests: a training table made from per-seed accuracy curves.
    use super::*;

    /// A training record of one epoch.
    #[allow(clippy::too_many_arguments)]
    pub fn record(
        dataset: &str,
        model: &str,
        head: &str,
        standardised: bool,
        seed: usize,
        epoch: usize,
        accuracy: f64,
        train_loss: f64,
        majority: f64,
    ) -> TrainingRecord {
        TrainingRecord {
            scenario: "training".into(),
            dataset: dataset.into(),
            model: model.into(),
            head: head.into(),
            standardised,
            seed,
            epoch,
            split: "test".into(),
            train_loss,
            accuracy,
            macro_f1: f64::NAN,
            subset_accuracy: f64::NAN,
            log_loss: 1.0 - accuracy,
            ece: f64::NAN,
            prob_sum_mean: 1.0,
            prob_sum_above_one_fraction: 0.0,
            grad_norm_output: f64::NAN,
            grad_norm_first: f64::NAN,
            true_prob_mae: f64::NAN,
            majority_accuracy: majority,
        }
    }

    pub(in crate::claims) fn measure_from(
        recs: Vec<TrainingRecord>,
        claim: &str,
        early: Option<usize>,
    ) -> TrainingMeasure {
        let plan: Plan = match claim {
            "C11" => plan_c11,
            "C12" => plan_c12,
            _ => plan_c19,
        };
        measure_training(&Runs::from_records(recs), plan, early)
    }
}
