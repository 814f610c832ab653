//! Claims decided by the training study's comparisons: C11, C12, C19.

use super::*;
use crate::results::records::ComparisonRecord;

// ---------------------------------------------------------------------------------
// C11, C12, C19: the training study's comparisons.

/// One row of the training study's `comparisons` table.
#[derive(Clone, Debug)]
pub(super) struct Comparison {
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

pub(super) fn read_comparisons(t: &Table) -> Result<Vec<Comparison>, String> {
    Ok(t.records::<ComparisonRecord>()?
        .into_iter()
        .map(|r| Comparison {
            factor: r.factor,
            dataset: r.dataset,
            model: r.model,
            metric: r.metric,
            head_a: r.head_a,
            head_b: r.head_b,
            standardised_a: Some(r.standardised_a),
            mean_a: r.mean_a,
            mean_b: r.mean_b,
            p_value: r.p_value,
            seeds: r.seeds as i64,
        })
        .collect())
}

/// How a training claim reads a comparison: None when the claim does not look at
/// it, else the sign s such that the claim predicts s·(mean_a − mean_b) > 0.
pub(super) type Orient = fn(&Comparison) -> Option<f64>;

/// +1 when the larger value of `metric` is better, −1 when the smaller is.
pub(super) fn better(metric: &str) -> Option<f64> {
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

pub(super) fn orient_c11(c: &Comparison) -> Option<f64> {
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

pub(super) fn orient_c12(c: &Comparison) -> Option<f64> {
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

pub(super) fn orient_c19(c: &Comparison) -> Option<f64> {
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

pub(super) fn training_claim(
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

pub(super) fn c11(cx: &Ctx) -> Result<Finding, HarnessError> {
    training_claim(
        cx,
        "C11",
        orient_c11,
        "fraction of test rows whose sigmoid probabilities sum above 1, one-vs-rest sigmoids against softmax on single-label data sets",
        "prob_sums",
    )
}

pub(super) fn c12(cx: &Ctx) -> Result<Finding, HarnessError> {
    training_claim(
        cx,
        "C12",
        orient_c12,
        "2-way softmax against one sigmoid on binary data: training-loss rises, spread of the final loss over seeds, final and mean accuracy",
        "loss_curves",
    )
}

pub(super) fn c19(cx: &Ctx) -> Result<Finding, HarnessError> {
    training_claim(
        cx,
        "C19",
        orient_c19,
        "speed of training of sigmoid heads with and without input standardisation (early accuracy, epochs to target accuracy, mean accuracy over epochs); saturation itself not measured",
        "accuracy_curves",
    )
}
