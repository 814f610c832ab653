//! Training sections: loss, accuracy and gradient-norm curves over epochs with bands
//! over seeds, reliability diagrams, histograms of probability sums, and the head
//! comparisons.

use softmax_lab_results::records::{
    ComparisonRecord, ProbSumRecord, ReliabilityRecord, TrainingRecord,
};

use super::{and_list, plain, Loaded, Rendered};
use crate::data::{fmt, mean_sd};
use crate::doc::{t, Block};
use crate::plot::{Axis, Content, Figure, Panel, Series, Style, REFERENCE};

fn distinct(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut out = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

/// A record of the training study that names its configuration: what panels
/// (data set × model) and series (head, input setting) are drawn by.
trait Config {
    fn dataset(&self) -> &str;
    fn model(&self) -> &str;
    fn head(&self) -> &str;
    fn standardised(&self) -> bool;
}

macro_rules! config {
    ($($t:ty),*) => {$(
        impl Config for $t {
            fn dataset(&self) -> &str {
                &self.dataset
            }
            fn model(&self) -> &str {
                &self.model
            }
            fn head(&self) -> &str {
                &self.head
            }
            fn standardised(&self) -> bool {
                self.standardised
            }
        }
    )*};
}
config!(TrainingRecord, ReliabilityRecord, ProbSumRecord);

/// The panel and series keys of a training-study table.
struct Keys {
    /// Whether both standardised and raw inputs occur (then series say which).
    both: bool,
}

impl Keys {
    fn of<C: Config>(rows: &[C]) -> Keys {
        Keys {
            both: rows.iter().any(|r| r.standardised()) && rows.iter().any(|r| !r.standardised()),
        }
    }

    fn panel(&self, r: &impl Config) -> String {
        format!("{}, {}", r.dataset(), r.model())
    }

    fn series(&self, r: &impl Config) -> String {
        if self.both && !r.standardised() {
            format!("{} (raw inputs)", r.head())
        } else {
            r.head().to_string()
        }
    }
}

/// A metric of the main table.
pub type Metric = fn(&TrainingRecord) -> f64;

/// The rows of `split` (every row when `None`).
fn of_split<'a>(rows: &'a [TrainingRecord], split: Option<&str>) -> Vec<&'a TrainingRecord> {
    rows.iter()
        .filter(|r| split.is_none_or(|s| r.split == s))
        .collect()
}

/// The rows at the last epoch of `rows`, and that epoch.
fn final_epoch<'a>(rows: &[&'a TrainingRecord]) -> (f64, Vec<&'a TrainingRecord>) {
    let last = rows
        .iter()
        .map(|r| r.epoch as f64)
        .fold(f64::NEG_INFINITY, f64::max);
    let fin = rows
        .iter()
        .copied()
        .filter(|r| r.epoch as f64 == last)
        .collect();
    (last, fin)
}

/// A curve figure: `metric` against the epoch on rows of `split`, mean over seeds
/// with a min–max band, one panel per data set × model, one line per head.
pub fn curve_figure(
    name: &str,
    title: &str,
    table: &[TrainingRecord],
    metric: Metric,
    split: Option<&str>,
    y: Axis,
) -> Figure {
    let k = Keys::of(table);
    let rows = of_split(table, split);
    let seeds = distinct(rows.iter().map(|r| r.seed.to_string())).len();
    let mut panels = Vec::new();
    let mut skipped = 0;
    for p in distinct(rows.iter().map(|r| k.panel(*r))) {
        let in_panel: Vec<&TrainingRecord> =
            rows.iter().copied().filter(|r| k.panel(*r) == p).collect();
        let mut series = Vec::new();
        for s in distinct(in_panel.iter().map(|r| k.series(*r))) {
            let rs: Vec<&TrainingRecord> = in_panel
                .iter()
                .copied()
                .filter(|r| k.series(*r) == s)
                .collect();
            let mut epochs: Vec<f64> = rs.iter().map(|r| r.epoch as f64).collect();
            epochs.sort_by(f64::total_cmp);
            epochs.dedup();
            let mut pts = Vec::new();
            let mut band = Vec::new();
            for e in epochs {
                let vals: Vec<f64> = rs
                    .iter()
                    .filter(|r| r.epoch as f64 == e)
                    .map(|r| metric(r))
                    .collect();
                skipped += vals.iter().filter(|v| !v.is_finite()).count();
                let (mean, _) = mean_sd(&vals);
                let fin: Vec<f64> = vals.into_iter().filter(|v| v.is_finite()).collect();
                let lo = fin.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = fin.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                pts.push((e, mean));
                if fin.len() > 1 {
                    band.push((e, lo, hi));
                }
            }
            series.push(Series::line(&s, pts).with_band(band));
        }
        panels.push(Panel {
            title: p,
            x: Axis::linear("epoch"),
            y: y.clone(),
            content: Content::Lines(series),
        });
    }
    let mut notes = vec![format!(
        "Line: mean over {seeds} seed(s); band: min to max over seeds{}.",
        split.map_or(String::new(), |s| format!("; {s} split"))
    )];
    if skipped > 0 {
        notes.push(format!("Not drawn: {skipped} non-finite values."));
    }
    Figure {
        layout: crate::plot::Layout::Grid,
        name: name.to_string(),
        title: title.to_string(),
        columns: panels.len().clamp(1, 4),
        panels,
        notes,
    }
}

/// Reliability diagrams: accuracy against mean confidence per bin, one panel per
/// data set × model, the diagonal dashed.
pub fn reliability_figure(name: &str, title: &str, rows: &[ReliabilityRecord]) -> Figure {
    let k = Keys::of(rows);
    let mut panels = Vec::new();
    for p in distinct(rows.iter().map(|r| k.panel(r))) {
        let in_panel: Vec<&ReliabilityRecord> = rows.iter().filter(|r| k.panel(*r) == p).collect();
        let mut series = Vec::new();
        for s in distinct(in_panel.iter().map(|r| k.series(*r))) {
            let mut pts: Vec<(f64, f64)> = in_panel
                .iter()
                .filter(|r| k.series(**r) == s && r.count > 0)
                .map(|r| (r.confidence_mean, r.accuracy))
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            series.push(Series::line(&s, pts));
        }
        series.push(
            Series::line("perfect calibration", vec![(0.0, 0.0), (1.0, 1.0)])
                .styled(Style::Dashed)
                .colored(REFERENCE),
        );
        panels.push(Panel {
            title: p,
            x: Axis::linear("mean predicted probability in bin").with_range(0.0, 1.0),
            y: Axis::linear("observed accuracy in bin").with_range(0.0, 1.0),
            content: Content::Lines(series),
        });
    }
    Figure {
        layout: crate::plot::Layout::Grid,
        name: name.to_string(),
        title: title.to_string(),
        columns: panels.len().clamp(1, 4),
        panels,
        notes: vec!["Bins with no predictions are left out.".into()],
    }
}

/// Histograms of the per-example sum of predicted probabilities, one step line per
/// head, one panel per data set × model.
pub fn prob_sums_figure(name: &str, title: &str, rows: &[ProbSumRecord]) -> Figure {
    let k = Keys::of(rows);
    let mut panels = Vec::new();
    for p in distinct(rows.iter().map(|r| k.panel(r))) {
        let in_panel: Vec<&ProbSumRecord> = rows.iter().filter(|r| k.panel(*r) == p).collect();
        let mut series = Vec::new();
        for s in distinct(in_panel.iter().map(|r| k.series(*r))) {
            let mut bins: Vec<(f64, f64, f64)> = in_panel
                .iter()
                .filter(|r| k.series(**r) == s)
                .map(|r| (r.bin_lo, r.bin_hi, r.count as f64))
                .collect();
            bins.sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut pts = Vec::new();
            for (a, b, n) in bins {
                pts.push((a, n));
                pts.push((b, n));
            }
            series.push(Series::line(&s, pts).styled(Style::Plain));
        }
        panels.push(Panel {
            title: p,
            x: Axis::linear("sum of predicted class probabilities"),
            y: Axis::linear("examples"),
            content: Content::Lines(series),
        });
    }
    Figure {
        layout: crate::plot::Layout::Grid,
        name: name.to_string(),
        title: title.to_string(),
        columns: panels.len().clamp(1, 4),
        panels,
        notes: vec![
            "Softmax heads sum to 1 by construction; independent sigmoids need not.".into(),
        ],
    }
}

/// Whether any row has a value of `metric` (a column added after a table was
/// written reads as NaN in every row).
fn measured(rows: &[TrainingRecord], metric: Metric) -> bool {
    rows.iter().any(|r| !metric(r).is_nan())
}

/// The summary table at the final epoch: mean ± sd over seeds per head, for each
/// metric the table has.
pub fn summary(table: &[TrainingRecord], split: Option<&str>) -> Block {
    let k = Keys::of(table);
    let rows = of_split(table, split);
    let metrics: Vec<(&str, Metric)> = [
        ("accuracy", (|r: &TrainingRecord| r.accuracy) as Metric),
        ("macro_f1", |r| r.macro_f1),
        ("log_loss", |r| r.log_loss),
        ("ece", |r| r.ece),
        ("prob_sum_mean", |r| r.prob_sum_mean),
        ("prob_sum_above_one_fraction", |r| {
            r.prob_sum_above_one_fraction
        }),
    ]
    .into_iter()
    .filter(|(_, m)| measured(table, *m))
    .collect();
    let mut out = Vec::new();
    for p in distinct(rows.iter().map(|r| k.panel(*r))) {
        for s in distinct(
            rows.iter()
                .filter(|r| k.panel(**r) == p)
                .map(|r| k.series(*r)),
        ) {
            let rs: Vec<&TrainingRecord> = rows
                .iter()
                .copied()
                .filter(|r| k.panel(*r) == p && k.series(*r) == s)
                .collect();
            let (last, fin) = final_epoch(&rs);
            let mut cells = vec![
                t(p.clone()),
                t(s.clone()),
                t(fmt(last)),
                t(fin.len().to_string()),
            ];
            for (_, metric) in &metrics {
                let (m, sd) = mean_sd(&fin.iter().map(|r| metric(r)).collect::<Vec<_>>());
                cells.push(t(format!("{} ± {}", fmt(m), fmt(sd))));
            }
            out.push(cells);
        }
    }
    let mut headers: Vec<String> = ["data set, model", "head", "final epoch", "seeds"]
        .map(String::from)
        .to_vec();
    headers.extend(metrics.iter().map(|(m, _)| format!("{m} (mean ± sd)")));
    Block::Table { headers, rows: out }
}

/// How many significant head comparisons the findings cite and the index shows
/// (smallest p first); the CSV has all of them.
pub const CITED: usize = 12;

/// The findings: the best head per data set × model at the final epoch, sigmoid
/// probability sums above one, and the significant comparisons (the [`CITED`] with
/// the smallest p).
pub fn findings(
    table: &[TrainingRecord],
    split: Option<&str>,
    comparisons: Option<&[ComparisonRecord]>,
) -> String {
    let k = Keys::of(table);
    let rows = of_split(table, split);
    let mut best = Vec::new();
    let mut sums = Vec::new();
    for p in distinct(rows.iter().map(|r| k.panel(*r))) {
        let mut cands = Vec::new();
        for s in distinct(
            rows.iter()
                .filter(|r| k.panel(**r) == p)
                .map(|r| k.series(*r)),
        ) {
            let rs: Vec<&TrainingRecord> = rows
                .iter()
                .copied()
                .filter(|r| k.panel(*r) == p && k.series(*r) == s)
                .collect();
            let (_, fin) = final_epoch(&rs);
            let (m, sd) = mean_sd(&fin.iter().map(|r| r.accuracy).collect::<Vec<_>>());
            let (f, _) = mean_sd(
                &fin.iter()
                    .map(|r| r.prob_sum_above_one_fraction)
                    .collect::<Vec<_>>(),
            );
            if f > 0.0 {
                sums.push(format!("{s} on {p} ({})", crate::data::pct(f)));
            }
            cands.push((s, m, sd, fin.len()));
        }
        if let Some((s, m, sd, n)) = cands
            .into_iter()
            .filter(|c| c.1.is_finite())
            .max_by(|a, b| a.1.total_cmp(&b.1))
        {
            best.push(format!("{p}: {s} {} ± {} ({n} seeds)", fmt(m), fmt(sd)));
        }
    }
    let mut s = String::new();
    if !best.is_empty() {
        s += &format!(
            "Highest final {}accuracy (mean ± sd over seeds): {}.",
            split.map_or(String::new(), |x| format!("{x} ")),
            best.join("; ")
        );
    }
    if !sums.is_empty() {
        s += &format!(
            " Examples whose predicted probabilities sum above 1: {}.",
            and_list(&sums)
        );
    }
    if let Some(cmp) = comparisons {
        let mut sig: Vec<&ComparisonRecord> = cmp.iter().filter(|r| r.p_value < 0.05).collect();
        let significant = sig.len();
        sig.sort_by(|a, b| a.p_value.total_cmp(&b.p_value));
        let sig: Vec<String> = sig
            .into_iter()
            .take(CITED)
            .map(|r| {
                format!(
                    "{}: {} {} vs {}: difference {} (p = {})",
                    r.dataset,
                    r.metric,
                    r.head_a,
                    r.head_b,
                    fmt(r.diff_mean),
                    fmt(r.p_value)
                )
            })
            .collect();
        s += &if sig.is_empty() {
            format!(
                " None of the {} head comparisons differs at p < 0.05.",
                cmp.len()
            )
        } else {
            format!(
                " Differences at p < 0.05 ({} of {} comparisons){}: {}.",
                significant,
                cmp.len(),
                if significant > sig.len() {
                    format!("; the {} with the smallest p", sig.len())
                } else {
                    String::new()
                },
                sig.join("; ")
            )
        };
    }
    if s.is_empty() {
        s = "No training rows to summarise.".into();
    }
    s
}

/// Render a training section.
pub fn render(l: &Loaded) -> Result<Rendered, String> {
    let main = l.need("training")?.records::<TrainingRecord>()?;
    let mut out = Rendered {
        method: vec![vec![plain(
            "Each output head is trained on each data set and model over several seeds; \
             every epoch records the training loss, the held-out accuracy, log loss and \
             expected calibration error, the per-example sum of predicted probabilities \
             and the gradient norms. Comparisons between heads are paired over seeds.",
        )]],
        ..Rendered::default()
    };
    if main.is_empty() {
        out.findings = t("The training table is empty: nothing was measured.");
        return Ok(out);
    }
    let splits: Vec<String> = distinct(main.iter().map(|r| r.split.clone()));
    let eval = ["test", "valid", "validation"]
        .iter()
        .find(|s| splits.iter().any(|x| x == *s))
        .map(|s| s.to_string())
        .or_else(|| splits.iter().find(|s| *s != "train").cloned())
        .or_else(|| splits.first().cloned());
    let train = if splits.iter().any(|s| s == "train") {
        Some("train".to_string())
    } else {
        eval.clone()
    };
    let comparisons = l.table("comparisons").filter(|t| !t.rows.is_empty());
    // A comparisons table this build cannot read gets no sentence (it is still shown).
    let compared = comparisons.and_then(|c| c.records::<ComparisonRecord>().ok());
    out.findings = t(findings(&main, eval.as_deref(), compared.as_deref()));
    out.blocks.push(summary(&main, eval.as_deref()));
    if let Some(c) = comparisons {
        out.blocks.push(Block::Heading("Head comparisons".into()));
        // Only the comparisons the findings cite (p < 0.05); all are in the CSV.
        let mut cited = c.clone();
        if let Some(p) = c.column("p_value") {
            cited.rows.retain(|r| crate::data::num(r, p) < 0.05);
            cited
                .rows
                .sort_by(|a, b| crate::data::num(a, p).total_cmp(&crate::data::num(b, p)));
            let significant = cited.rows.len();
            cited.rows.truncate(CITED);
            out.blocks.push(Block::Para(t(format!(
                "Shown: the {} comparisons the findings cite ({significant} of the {} differ \
                 at p < 0.05; those with the smallest p); every comparison is in {}.",
                cited.rows.len(),
                c.rows.len(),
                l.csv_name(&c.name)
            ))));
        }
        out.blocks.push(super::raw_table(&cited, 200));
    }
    let n = &l.name;
    out.figures.push((
        curve_figure(
            &format!("{n}_loss_curves"),
            &format!("{n}: training loss per epoch"),
            &main,
            |r| r.train_loss,
            train.as_deref(),
            Axis::log("training loss (nats)"),
        ),
        "Training loss curves, mean over seeds with a min–max band.".into(),
    ));
    out.figures.push((
        curve_figure(
            &format!("{n}_accuracy_curves"),
            &format!("{n}: held-out accuracy per epoch"),
            &main,
            |r| r.accuracy,
            eval.as_deref(),
            Axis::linear("accuracy (fraction correct)"),
        ),
        "Accuracy curves on held-out data, mean over seeds with a min–max band.".into(),
    ));
    if let Some(r) = l.table("reliability").filter(|t| !t.rows.is_empty()) {
        out.figures.push((
            reliability_figure(
                &format!("{n}_reliability"),
                &format!("{n}: reliability diagrams"),
                &r.records::<ReliabilityRecord>()?,
            ),
            "Reliability diagrams: observed accuracy against predicted confidence.".into(),
        ));
    }
    if let Some(p) = l.table("prob_sums").filter(|t| !t.rows.is_empty()) {
        out.figures.push((
            prob_sums_figure(
                &format!("{n}_prob_sums"),
                &format!("{n}: histograms of probability sums"),
                &p.records::<ProbSumRecord>()?,
            ),
            "Histograms of the per-example sum of predicted probabilities.".into(),
        ));
    }
    if measured(&main, |r| r.grad_norm_output) {
        out.figures.push((
            curve_figure(
                &format!("{n}_grad_norms"),
                &format!("{n}: gradient norm at the output layer per epoch"),
                &main,
                |r| r.grad_norm_output,
                train.as_deref(),
                Axis::log("‖∂L/∂logits‖ (mean over batch)"),
            ),
            "Gradient-norm curves at the output layer, mean over seeds with a min–max band.".into(),
        ));
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use softmax_lab_results::{ColumnType as C, Table, Value};

    /// A small synthetic training table in the promised layout.
    pub fn table() -> Table {
        let cols = [
            ("scenario", C::Text),
            ("dataset", C::Text),
            ("model", C::Text),
            ("head", C::Text),
            ("standardised", C::Bool),
            ("seed", C::Int),
            ("epoch", C::Int),
            ("split", C::Text),
            ("train_loss", C::Float),
            ("accuracy", C::Float),
            ("log_loss", C::Float),
            ("ece", C::Float),
            ("prob_sum_mean", C::Float),
            ("prob_sum_above_one_fraction", C::Float),
            ("grad_norm_output", C::Float),
        ];
        let mut t = Table::new("training", &cols);
        for head in ["softmax_ce", "sigmoid_ovr_bce"] {
            for seed in 0..3i64 {
                for epoch in 1..=5i64 {
                    for split in ["train", "test"] {
                        let base = if head == "softmax_ce" { 0.9 } else { 0.8 };
                        let acc = base - 0.1 / epoch as f64 + seed as f64 * 0.01;
                        t.push(vec![
                            Value::Text("training".into()),
                            Value::Text("iris".into()),
                            Value::Text("logreg".into()),
                            Value::Text(head.into()),
                            Value::Bool(true),
                            Value::Int(seed),
                            Value::Int(epoch),
                            Value::Text(split.into()),
                            Value::Float(1.0 / epoch as f64),
                            Value::Float(acc),
                            Value::Float(0.5),
                            Value::Float(0.05),
                            Value::Float(if head == "softmax_ce" { 1.0 } else { 1.2 }),
                            Value::Float(if head == "softmax_ce" { 0.0 } else { 0.25 }),
                            Value::Float(0.1 / epoch as f64),
                        ]);
                    }
                }
            }
        }
        t
    }

    #[test]
    fn findings_pick_the_best_head_with_its_spread() {
        // The table has no macro_f1, subset_accuracy, grad_norm_first or
        // true_prob_mae (a layout before those columns): they read as NaN.
        let t = table()
            .records::<TrainingRecord>()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(t.iter().all(|r| r.macro_f1.is_nan()));
        let s = findings(&t, Some("test"), None);
        // softmax_ce at epoch 5: 0.9 - 0.02 + {0, 0.01, 0.02} -> mean 0.89, sd 0.01.
        assert!(
            s.contains("iris, logreg: softmax_ce 0.89 ± 0.01 (3 seeds)"),
            "{s}"
        );
        assert!(s.contains("sigmoid_ovr_bce on iris, logreg (25%)"), "{s}");
        let f = curve_figure(
            "t_loss",
            "t",
            &t,
            |r| r.train_loss,
            Some("train"),
            Axis::log("l"),
        );
        match &f.panels[0].content {
            Content::Lines(s) => {
                assert_eq!(s.len(), 2);
                assert_eq!(s[0].points.len(), 5);
                assert_eq!(s[0].band.len(), 5);
            }
            Content::Heat(_) => panic!("lines expected"),
        }
        // The summary shows the metrics the table has, not the ones it lacks.
        let Block::Table { headers, .. } = summary(&t, Some("test")) else {
            panic!("a table expected")
        };
        assert!(
            headers.iter().any(|h| h.starts_with("log_loss")),
            "{headers:?}"
        );
        assert!(
            !headers.iter().any(|h| h.starts_with("macro_f1")),
            "{headers:?}"
        );
    }
}
