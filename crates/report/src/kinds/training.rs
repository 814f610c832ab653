//! Training sections: loss, accuracy and gradient-norm curves over epochs with bands
//! over seeds, reliability diagrams, histograms of probability sums, and the head
//! comparisons.

use softmax_lab_results::{Table, Value};

use super::{and_list, plain, Loaded, Rendered};
use crate::data::{boolean, fmt, mean_sd, num, text, Cols};
use crate::doc::{t, Block};
use crate::plot::{Axis, Content, Figure, Panel, Series, Style, REFERENCE};

type R<'a> = &'a [Value];

fn distinct(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut out = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

/// Where the panel and series keys live in a training-study table.
struct Keys {
    dataset: usize,
    model: usize,
    head: usize,
    standardised: Option<usize>,
    /// Whether both standardised and raw inputs occur (then series say which).
    both: bool,
}

impl Keys {
    fn of(t: &Table) -> Result<Keys, String> {
        let c = Cols::new(t);
        let standardised = c.opt("standardised");
        let both = standardised.is_some_and(|k| {
            t.rows.iter().any(|r| boolean(r, k)) && t.rows.iter().any(|r| !boolean(r, k))
        });
        Ok(Keys {
            dataset: c.idx("dataset")?,
            model: c.idx("model")?,
            head: c.idx("head")?,
            standardised,
            both,
        })
    }

    fn panel(&self, r: R) -> String {
        format!("{}, {}", text(r, self.dataset), text(r, self.model))
    }

    fn series(&self, r: R) -> String {
        let head = text(r, self.head);
        match self.standardised {
            Some(k) if self.both && !boolean(r, k) => format!("{head} (raw inputs)"),
            _ => head,
        }
    }
}

/// A curve figure: `metric` against the epoch on rows of `split`, mean over seeds
/// with a min–max band, one panel per data set × model, one line per head.
pub fn curve_figure(
    name: &str,
    title: &str,
    table: &Table,
    metric: &str,
    split: Option<&str>,
    y: Axis,
) -> Result<Figure, String> {
    let k = Keys::of(table)?;
    let c = Cols::new(table);
    let (epoch, m) = (c.idx("epoch")?, c.idx(metric)?);
    let sp = c.opt("split");
    let rows: Vec<R> = table
        .rows
        .iter()
        .map(Vec::as_slice)
        .filter(|r| match (split, sp) {
            (Some(s), Some(i)) => text(r, i) == s,
            _ => true,
        })
        .collect();
    let seeds = c
        .opt("seed")
        .map_or(1, |s| distinct(rows.iter().map(|r| text(r, s))).len());
    let mut panels = Vec::new();
    let mut skipped = 0;
    for p in distinct(rows.iter().map(|r| k.panel(r))) {
        let in_panel: Vec<R> = rows.iter().copied().filter(|r| k.panel(r) == p).collect();
        let mut series = Vec::new();
        for s in distinct(in_panel.iter().map(|r| k.series(r))) {
            let rs: Vec<R> = in_panel
                .iter()
                .copied()
                .filter(|r| k.series(r) == s)
                .collect();
            let mut epochs: Vec<f64> = rs.iter().map(|r| num(r, epoch)).collect();
            epochs.sort_by(f64::total_cmp);
            epochs.dedup();
            let mut pts = Vec::new();
            let mut band = Vec::new();
            for e in epochs {
                let vals: Vec<f64> = rs
                    .iter()
                    .filter(|r| num(r, epoch) == e)
                    .map(|r| num(r, m))
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
    Ok(Figure {
        name: name.to_string(),
        title: title.to_string(),
        columns: panels.len().clamp(1, 4),
        panels,
        notes,
    })
}

/// Reliability diagrams: accuracy against mean confidence per bin, one panel per
/// data set × model, the diagonal dashed.
pub fn reliability_figure(name: &str, title: &str, table: &Table) -> Result<Figure, String> {
    let k = Keys::of(table)?;
    let c = Cols::new(table);
    let (conf, acc, count) = (
        c.idx("confidence_mean")?,
        c.idx("accuracy")?,
        c.idx("count")?,
    );
    let rows: Vec<R> = table.rows.iter().map(Vec::as_slice).collect();
    let mut panels = Vec::new();
    for p in distinct(rows.iter().map(|r| k.panel(r))) {
        let in_panel: Vec<R> = rows.iter().copied().filter(|r| k.panel(r) == p).collect();
        let mut series = Vec::new();
        for s in distinct(in_panel.iter().map(|r| k.series(r))) {
            let mut pts: Vec<(f64, f64)> = in_panel
                .iter()
                .filter(|r| k.series(r) == s && num(r, count) > 0.0)
                .map(|r| (num(r, conf), num(r, acc)))
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
    Ok(Figure {
        name: name.to_string(),
        title: title.to_string(),
        columns: panels.len().clamp(1, 4),
        panels,
        notes: vec!["Bins with no predictions are left out.".into()],
    })
}

/// Histograms of the per-example sum of predicted probabilities, one step line per
/// head, one panel per data set × model.
pub fn prob_sums_figure(name: &str, title: &str, table: &Table) -> Result<Figure, String> {
    let k = Keys::of(table)?;
    let c = Cols::new(table);
    let (lo, hi, count) = (c.idx("bin_lo")?, c.idx("bin_hi")?, c.idx("count")?);
    let rows: Vec<R> = table.rows.iter().map(Vec::as_slice).collect();
    let mut panels = Vec::new();
    for p in distinct(rows.iter().map(|r| k.panel(r))) {
        let in_panel: Vec<R> = rows.iter().copied().filter(|r| k.panel(r) == p).collect();
        let mut series = Vec::new();
        for s in distinct(in_panel.iter().map(|r| k.series(r))) {
            let mut bins: Vec<(f64, f64, f64)> = in_panel
                .iter()
                .filter(|r| k.series(r) == s)
                .map(|r| (num(r, lo), num(r, hi), num(r, count)))
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
    Ok(Figure {
        name: name.to_string(),
        title: title.to_string(),
        columns: panels.len().clamp(1, 4),
        panels,
        notes: vec![
            "Softmax heads sum to 1 by construction; independent sigmoids need not.".into(),
        ],
    })
}

/// The summary table at the final epoch: mean ± sd over seeds per head.
pub fn summary(table: &Table, split: Option<&str>) -> Result<Block, String> {
    let k = Keys::of(table)?;
    let c = Cols::new(table);
    let epoch = c.idx("epoch")?;
    let sp = c.opt("split");
    let rows: Vec<R> = table
        .rows
        .iter()
        .map(Vec::as_slice)
        .filter(|r| match (split, sp) {
            (Some(s), Some(i)) => text(r, i) == s,
            _ => true,
        })
        .collect();
    let metrics: Vec<(&str, usize)> = [
        "accuracy",
        "macro_f1",
        "log_loss",
        "ece",
        "prob_sum_mean",
        "prob_sum_above_one_fraction",
    ]
    .into_iter()
    .filter_map(|m| c.opt(m).map(|i| (m, i)))
    .collect();
    let mut out = Vec::new();
    for p in distinct(rows.iter().map(|r| k.panel(r))) {
        for s in distinct(rows.iter().filter(|r| k.panel(r) == p).map(|r| k.series(r))) {
            let rs: Vec<R> = rows
                .iter()
                .copied()
                .filter(|r| k.panel(r) == p && k.series(r) == s)
                .collect();
            let last = rs
                .iter()
                .map(|r| num(r, epoch))
                .fold(f64::NEG_INFINITY, f64::max);
            let fin: Vec<R> = rs
                .iter()
                .copied()
                .filter(|r| num(r, epoch) == last)
                .collect();
            let mut cells = vec![
                t(p.clone()),
                t(s.clone()),
                t(fmt(last)),
                t(fin.len().to_string()),
            ];
            for (_, i) in &metrics {
                let (m, sd) = mean_sd(&fin.iter().map(|r| num(r, *i)).collect::<Vec<_>>());
                cells.push(t(format!("{} ± {}", fmt(m), fmt(sd))));
            }
            out.push(cells);
        }
    }
    let mut headers: Vec<String> = ["data set, model", "head", "final epoch", "seeds"]
        .map(String::from)
        .to_vec();
    headers.extend(metrics.iter().map(|(m, _)| format!("{m} (mean ± sd)")));
    Ok(Block::Table { headers, rows: out })
}

/// The findings: the best head per data set × model at the final epoch, sigmoid
/// probability sums above one, and the significant comparisons.
pub fn findings(
    table: &Table,
    split: Option<&str>,
    comparisons: Option<&Table>,
) -> Result<String, String> {
    let k = Keys::of(table)?;
    let c = Cols::new(table);
    let (epoch, acc) = (c.idx("epoch")?, c.idx("accuracy")?);
    let sp = c.opt("split");
    let above = c.opt("prob_sum_above_one_fraction");
    let rows: Vec<R> = table
        .rows
        .iter()
        .map(Vec::as_slice)
        .filter(|r| match (split, sp) {
            (Some(s), Some(i)) => text(r, i) == s,
            _ => true,
        })
        .collect();
    let mut best = Vec::new();
    let mut sums = Vec::new();
    for p in distinct(rows.iter().map(|r| k.panel(r))) {
        let mut cands = Vec::new();
        for s in distinct(rows.iter().filter(|r| k.panel(r) == p).map(|r| k.series(r))) {
            let rs: Vec<R> = rows
                .iter()
                .copied()
                .filter(|r| k.panel(r) == p && k.series(r) == s)
                .collect();
            let last = rs
                .iter()
                .map(|r| num(r, epoch))
                .fold(f64::NEG_INFINITY, f64::max);
            let fin: Vec<R> = rs
                .iter()
                .copied()
                .filter(|r| num(r, epoch) == last)
                .collect();
            let (m, sd) = mean_sd(&fin.iter().map(|r| num(r, acc)).collect::<Vec<_>>());
            if let Some(a) = above {
                let (f, _) = mean_sd(&fin.iter().map(|r| num(r, a)).collect::<Vec<_>>());
                if f > 0.0 {
                    sums.push(format!("{s} on {p} ({})", crate::data::pct(f)));
                }
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
        let c = Cols::new(cmp);
        if let (Ok(metric), Ok(a), Ok(b), Ok(p), Ok(diff)) = (
            c.idx("metric"),
            c.idx("head_a"),
            c.idx("head_b"),
            c.idx("p_value"),
            c.idx("diff_mean"),
        ) {
            let ds = c.opt("dataset");
            let sig: Vec<String> = cmp
                .rows
                .iter()
                .filter(|r| num(r, p) < 0.05)
                .map(|r| {
                    format!(
                        "{}{} {} vs {}: difference {} (p = {})",
                        ds.map_or(String::new(), |d| format!("{}: ", text(r, d))),
                        text(r, metric),
                        text(r, a),
                        text(r, b),
                        fmt(num(r, diff)),
                        fmt(num(r, p))
                    )
                })
                .collect();
            s += &if sig.is_empty() {
                format!(
                    " None of the {} head comparisons differs at p < 0.05.",
                    cmp.rows.len()
                )
            } else {
                format!(
                    " Differences at p < 0.05 ({} of {} comparisons): {}.",
                    sig.len(),
                    cmp.rows.len(),
                    sig.join("; ")
                )
            };
        }
    }
    if s.is_empty() {
        s = "No training rows to summarise.".into();
    }
    Ok(s)
}

/// Render a training section.
pub fn render(l: &Loaded) -> Result<Rendered, String> {
    let main = l.need("training")?;
    let mut out = Rendered {
        method: vec![vec![plain(
            "Each output head is trained on each data set and model over several seeds; \
             every epoch records the training loss, the held-out accuracy, log loss and \
             expected calibration error, the per-example sum of predicted probabilities \
             and the gradient norms. Comparisons between heads are paired over seeds.",
        )]],
        ..Rendered::default()
    };
    if main.rows.is_empty() {
        out.findings = t("The training table is empty: nothing was measured.");
        return Ok(out);
    }
    let splits: Vec<String> = Cols::new(main)
        .opt("split")
        .map(|i| distinct(main.rows.iter().map(|r| text(r, i))))
        .unwrap_or_default();
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
    out.findings = t(findings(main, eval.as_deref(), comparisons)?);
    out.blocks.push(summary(main, eval.as_deref())?);
    if let Some(c) = comparisons {
        out.blocks.push(Block::Heading("Head comparisons".into()));
        out.blocks.push(super::raw_table(c, 200));
    }
    let n = &l.name;
    out.figures.push((
        curve_figure(
            &format!("{n}_loss_curves"),
            &format!("{n}: training loss per epoch"),
            main,
            "train_loss",
            train.as_deref(),
            Axis::log("training loss (nats)"),
        )?,
        "Training loss curves, mean over seeds with a min–max band.".into(),
    ));
    out.figures.push((
        curve_figure(
            &format!("{n}_accuracy_curves"),
            &format!("{n}: held-out accuracy per epoch"),
            main,
            "accuracy",
            eval.as_deref(),
            Axis::linear("accuracy (fraction correct)"),
        )?,
        "Accuracy curves on held-out data, mean over seeds with a min–max band.".into(),
    ));
    if let Some(r) = l.table("reliability").filter(|t| !t.rows.is_empty()) {
        out.figures.push((
            reliability_figure(
                &format!("{n}_reliability"),
                &format!("{n}: reliability diagrams"),
                r,
            )?,
            "Reliability diagrams: observed accuracy against predicted confidence.".into(),
        ));
    }
    if let Some(p) = l.table("prob_sums").filter(|t| !t.rows.is_empty()) {
        out.figures.push((
            prob_sums_figure(
                &format!("{n}_prob_sums"),
                &format!("{n}: histograms of probability sums"),
                p,
            )?,
            "Histograms of the per-example sum of predicted probabilities.".into(),
        ));
    }
    if Cols::new(main).opt("grad_norm_output").is_some() {
        out.figures.push((
            curve_figure(
                &format!("{n}_grad_norms"),
                &format!("{n}: gradient norm at the output layer per epoch"),
                main,
                "grad_norm_output",
                train.as_deref(),
                Axis::log("‖∂L/∂logits‖ (mean over batch)"),
            )?,
            "Gradient-norm curves at the output layer, mean over seeds with a min–max band.".into(),
        ));
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use softmax_lab_results::ColumnType as C;

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
        let t = table();
        let s = findings(&t, Some("test"), None).unwrap_or_default();
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
            "train_loss",
            Some("train"),
            Axis::log("l"),
        )
        .map_err(|e| e.to_string());
        let f = f.unwrap_or_else(|e| panic!("{e}"));
        match &f.panels[0].content {
            Content::Lines(s) => {
                assert_eq!(s.len(), 2);
                assert_eq!(s[0].points.len(), 5);
                assert_eq!(s[0].band.len(), 5);
            }
            Content::Heat(_) => panic!("lines expected"),
        }
    }
}
