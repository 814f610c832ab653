//! `softmax-lab compare BASE NEW`: two runs' results matched row by row on their
//! keys, with what got slower, what got less accurate and which verdict moved.
//!
//! What is compared, per table (the rest is named as not compared):
//! - accuracy, overflow, gradients and the overflow onsets: deterministic for a
//!   seed, so any change at all is listed, and a change for the worse in any of
//!   the metrics below is a regression;
//! - throughput: NEW/BASE of `elems_per_s` with an interval from both runs' 95%
//!   intervals ([new_low/base_high, new_high/base_low]); a regression is a
//!   slowdown beyond the threshold (default 10%) whose intervals do not overlap.
//!   When the machines differ, the machine-independent ratios (`ratio_to_memcpy`,
//!   `ratio_to_candle`) decide instead, beyond the same threshold (they carry no
//!   interval of their own);
//! - claims: every verdict that changed, with both evidence texts.
//!
//! When the two runs took different simd paths (`machine.simd_isa`), a change for
//! the worse in a deterministic row of a vector kernel (family simd, and
//! `stable_wide`) is listed as a change, not a regression: another path rounds
//! differently in the last bits.
//!
//! Rows present in one run only are listed, never dropped.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use softmax_lab_core::Family;
use softmax_lab_results::records::ClaimRecord;
use softmax_lab_results::{Machine, Table, Value};

use crate::plot::{Axis, Content, Figure, Panel, Series, Style};
use crate::{load, Loaded, ReportError};

/// Which way a metric improves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Better {
    /// Smaller is better (errors, fractions of bad outputs); NaN means "not defined".
    Lower,
    /// Larger is better (speed, ratios); NaN means "not measured".
    Higher,
    /// Larger is better and NaN means "never" (onset scales): the best value.
    LaterOrNever,
}

/// How one table is compared.
struct Spec {
    /// The columns that identify a row.
    key: &'static [&'static str],
    /// The compared metrics.
    metrics: &'static [(&'static str, Better)],
    /// Whether the table is a timing (intervals, threshold) or deterministic.
    timed: bool,
}

const POINT_KEY: &[&str] = &[
    "scenario",
    "kind",
    "variant",
    "dtype",
    "n",
    "rows",
    "generator",
    "temperature",
    "scale",
];

const ACCURACY: Spec = Spec {
    key: POINT_KEY,
    metrics: &[
        ("max_ulp", Better::Lower),
        ("median_ulp", Better::Lower),
        ("p99_ulp", Better::Lower),
        ("normwise", Better::Lower),
        ("max_sum_deviation", Better::Lower),
        ("max_err_over_kappa_u", Better::Lower),
    ],
    timed: false,
};

const OVERFLOW: Spec = Spec {
    key: POINT_KEY,
    metrics: &[
        ("nonfinite_fraction", Better::Lower),
        ("flushed_zero_fraction", Better::Lower),
    ],
    timed: false,
};

const ONSET: Spec = Spec {
    key: &[
        "scenario",
        "kind",
        "variant",
        "dtype",
        "n",
        "rows",
        "generator",
        "temperature",
    ],
    metrics: &[
        ("first_nonfinite_scale", Better::LaterOrNever),
        ("first_flushed_zero_scale", Better::LaterOrNever),
    ],
    timed: false,
};

const GRADIENTS: Spec = Spec {
    key: POINT_KEY,
    metrics: &[
        ("vjp_normwise", Better::Lower),
        ("vjp_normwise_median", Better::Lower),
        ("fd_normwise", Better::Lower),
    ],
    timed: false,
};

const THROUGHPUT: Spec = Spec {
    key: &[
        "scenario",
        "variant",
        "dtype",
        "n",
        "rows",
        "threads",
        "direction",
        "in_cache",
    ],
    metrics: &[
        ("elems_per_s", Better::Higher),
        ("ratio_to_memcpy", Better::Higher),
        ("ratio_to_candle", Better::Higher),
    ],
    timed: true,
};

/// The spec of a table of a scenario of `kind`, if it is compared.
fn spec(kind: &str, table: &str) -> Option<&'static Spec> {
    match (kind, table) {
        ("accuracy", "accuracy") => Some(&ACCURACY),
        ("overflow", "overflow") => Some(&OVERFLOW),
        ("overflow", "onset") => Some(&ONSET),
        ("gradients", "gradients") => Some(&GRADIENTS),
        ("throughput", "throughput") => Some(&THROUGHPUT),
        _ => None,
    }
}

/// What happened to one metric of one row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// The same value (bit for bit in a deterministic table; within the threshold
    /// or with overlapping intervals in a timing).
    Same,
    /// Better.
    Improved,
    /// Different, neither better nor worse (a NaN that appeared where the metric
    /// is not defined, a timing change inside the threshold's noise rule).
    Changed,
    /// Worse: a regression.
    Regressed,
}

impl Status {
    /// The word in the CSV.
    pub fn name(self) -> &'static str {
        match self {
            Status::Same => "same",
            Status::Improved => "improved",
            Status::Changed => "changed",
            Status::Regressed => "regressed",
        }
    }
}

/// One compared metric of one row present in both runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Compared {
    /// The scenario.
    pub scenario: String,
    /// The kind of the scenario.
    pub kind: String,
    /// The table.
    pub table: String,
    /// The key, `column=value` joined by `, `.
    pub key: String,
    /// The metric.
    pub metric: String,
    /// BASE's value.
    pub base: f64,
    /// NEW's value.
    pub new: f64,
    /// NEW/BASE.
    pub ratio: f64,
    /// The interval of NEW/BASE from both runs' intervals (timings; NaN otherwise).
    pub ratio_interval: (f64, f64),
    /// The outcome.
    pub status: Status,
}

/// A claim whose verdict differs.
#[derive(Clone, Debug, PartialEq)]
pub struct VerdictChange {
    /// The claim id.
    pub claim: String,
    /// BASE's verdict and evidence.
    pub base: (String, String),
    /// NEW's verdict and evidence.
    pub new: (String, String),
}

/// The result of a comparison.
#[derive(Clone, Debug, Default)]
pub struct Comparison {
    /// BASE's and NEW's machines (of their first results file), and whether they
    /// differ (CPU model or core count).
    pub machines: Option<(Machine, Machine)>,
    /// Whether the machines differ.
    pub machines_differ: bool,
    /// Whether the simd paths differ (then changes in vector kernels' deterministic
    /// rows are listed as changes, not regressions: another path rounds differently).
    pub isa_differs: bool,
    /// Every compared metric of every row present in both runs.
    pub rows: Vec<Compared>,
    /// Rows in one run only: (scenario, table, key, "base" or "new").
    pub only_in: Vec<(String, String, String, &'static str)>,
    /// Scenarios in one run only: (name, "base" or "new").
    pub scenarios_only_in: Vec<(String, &'static str)>,
    /// Tables present in both runs but not compared: (scenario, table).
    pub not_compared: Vec<(String, String)>,
    /// Claims whose verdict changed.
    pub verdicts: Vec<VerdictChange>,
}

impl Comparison {
    /// The regressions; with `timings` false, only those of deterministic tables.
    pub fn regressions(&self, timings: bool) -> Vec<&Compared> {
        self.rows
            .iter()
            .filter(|r| r.status == Status::Regressed && (timings || r.kind != "throughput"))
            .collect()
    }
}

/// A results folder, or a report folder holding `results/`.
pub fn results_dir(dir: &Path) -> PathBuf {
    let has_json = |d: &Path| {
        std::fs::read_dir(d).is_ok_and(|entries| {
            entries
                .filter_map(|e| e.ok())
                .any(|e| e.path().extension().is_some_and(|x| x == "json"))
        })
    };
    let nested = dir.join("results");
    if !has_json(dir) && nested.is_dir() {
        nested
    } else {
        dir.to_path_buf()
    }
}

fn key_text(t: &Table, row: &[Value], key: &[usize]) -> String {
    key.iter()
        .map(|&i| format!("{}={}", t.columns[i].name, row[i].to_csv()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn float(row: &[Value], i: Option<usize>) -> f64 {
    i.and_then(|i| row[i].as_f64()).unwrap_or(f64::NAN)
}

/// A deterministic metric's outcome.
fn judge(better: Better, base: f64, new: f64) -> Status {
    if base.to_bits() == new.to_bits() || (base.is_nan() && new.is_nan()) {
        return Status::Same;
    }
    match better {
        Better::LaterOrNever => match (base.is_nan(), new.is_nan()) {
            (true, false) => Status::Regressed,
            (false, true) => Status::Improved,
            _ if new < base => Status::Regressed,
            _ if new > base => Status::Improved,
            _ => Status::Changed,
        },
        Better::Lower | Better::Higher => {
            if base.is_nan() || new.is_nan() {
                // A metric that became defined, or undefined: listed, not judged,
                // except a defined value lost (worse: nothing to read any more).
                return if new.is_nan() {
                    Status::Regressed
                } else {
                    Status::Changed
                };
            }
            let worse = if better == Better::Lower {
                new > base
            } else {
                new < base
            };
            if worse {
                Status::Regressed
            } else if new == base {
                Status::Changed // +0 and -0
            } else {
                Status::Improved
            }
        }
    }
}

/// A timing's outcome: beyond the threshold and with intervals apart.
fn judge_timing(
    base: (f64, f64, f64),
    new: (f64, f64, f64),
    threshold: f64,
) -> (Status, (f64, f64)) {
    let (b, b_lo, b_hi) = base;
    let (n, n_lo, n_hi) = new;
    let ratio = n / b;
    let interval = (n_lo / b_hi, n_hi / b_lo);
    if !(ratio.is_finite() && b > 0.0) {
        return (judge(Better::Higher, b, n), interval);
    }
    let apart_slower = n_hi < b_lo;
    let apart_faster = n_lo > b_hi;
    let status = if ratio < 1.0 - threshold && apart_slower {
        Status::Regressed
    } else if ratio > 1.0 + threshold && apart_faster {
        Status::Improved
    } else if ratio == 1.0 {
        Status::Same
    } else {
        Status::Changed
    };
    (status, interval)
}

/// A machine-independent ratio's outcome: beyond the threshold, no interval.
fn judge_ratio(base: f64, new: f64, threshold: f64) -> Status {
    if !(base.is_finite() && new.is_finite() && base > 0.0) {
        return judge(Better::Higher, base, new);
    }
    let r = new / base;
    if r < 1.0 - threshold {
        Status::Regressed
    } else if r > 1.0 + threshold {
        Status::Improved
    } else if r == 1.0 {
        Status::Same
    } else {
        Status::Changed
    }
}

fn index(t: &Table, key: &[usize]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for (i, row) in t.rows.iter().enumerate() {
        m.entry(key_text(t, row, key)).or_insert(i);
    }
    m
}

/// Where a row comes from and how it is judged.
struct Ctx<'a> {
    scenario: &'a str,
    kind: &'a str,
    threshold: f64,
    /// Whether a variant's last bits depend on the instruction-set path, which
    /// differs between the runs (None: the paths are the same).
    isa_sensitive: Option<&'a dyn Fn(&str) -> bool>,
}

fn compare_table(out: &mut Comparison, cx: &Ctx, spec: &Spec, base: &Table, new: &Table) {
    let (scenario, kind, threshold) = (cx.scenario, cx.kind, cx.threshold);
    let key_of =
        |t: &Table| -> Option<Vec<usize>> { spec.key.iter().map(|k| t.column(k)).collect() };
    let (Some(kb), Some(kn)) = (key_of(base), key_of(new)) else {
        out.not_compared
            .push((scenario.to_string(), base.name.clone()));
        return;
    };
    let (ib, inew) = (index(base, &kb), index(new, &kn));
    for (k, &rb) in &ib {
        let Some(&rn) = inew.get(k) else {
            out.only_in
                .push((scenario.into(), base.name.clone(), k.clone(), "base"));
            continue;
        };
        let (row_b, row_n) = (&base.rows[rb], &new.rows[rn]);
        for &(metric, better) in spec.metrics {
            let (cb, cn) = (base.column(metric), new.column(metric));
            if cb.is_none() && cn.is_none() {
                continue;
            }
            let (vb, vn) = (float(row_b, cb), float(row_n, cn));
            let mut interval = (f64::NAN, f64::NAN);
            let status = if !spec.timed {
                let variant = base.column("variant").map(|i| row_b[i].to_csv());
                match (judge(better, vb, vn), cx.isa_sensitive, variant) {
                    // Vector kernels on another path round differently: listed.
                    (Status::Regressed, Some(f), Some(v)) if f(&v) => Status::Changed,
                    (s, _, _) => s,
                }
            } else if metric == "elems_per_s" {
                let ci = |t: &Table, row: &[Value], v: f64| {
                    (
                        v,
                        float(row, t.column("elems_per_s_ci95_low")),
                        float(row, t.column("elems_per_s_ci95_high")),
                    )
                };
                let (s, iv) = judge_timing(ci(base, row_b, vb), ci(new, row_n, vn), threshold);
                interval = iv;
                if out.machines_differ && s == Status::Regressed {
                    // Another machine: absolute speed is not comparable; the
                    // ratios below decide.
                    Status::Changed
                } else {
                    s
                }
            } else if out.machines_differ {
                judge_ratio(vb, vn, threshold)
            } else {
                // Same machine: the ratios move with both timings; listed only.
                match judge_ratio(vb, vn, threshold) {
                    Status::Regressed | Status::Improved => Status::Changed,
                    s => s,
                }
            };
            out.rows.push(Compared {
                scenario: scenario.to_string(),
                kind: kind.to_string(),
                table: base.name.clone(),
                key: k.clone(),
                metric: metric.to_string(),
                base: vb,
                new: vn,
                ratio: vn / vb,
                ratio_interval: interval,
                status,
            });
        }
    }
    for k in inew.keys().filter(|k| !ib.contains_key(*k)) {
        out.only_in
            .push((scenario.into(), new.name.clone(), k.clone(), "new"));
    }
}

fn compare_claims(out: &mut Comparison, base: &Table, new: &Table) {
    let (Ok(base), Ok(new)) = (base.records::<ClaimRecord>(), new.records::<ClaimRecord>()) else {
        return;
    };
    let new_rows: BTreeMap<&str, &ClaimRecord> =
        new.iter().map(|r| (r.claim.as_str(), r)).collect();
    let mut seen = Vec::new();
    for r in &base {
        seen.push(r.claim.as_str());
        match new_rows.get(r.claim.as_str()) {
            None => out.only_in.push((
                "claims".into(),
                "claims".into(),
                format!("claim={}", r.claim),
                "base",
            )),
            Some(n) if n.verdict != r.verdict => out.verdicts.push(VerdictChange {
                claim: r.claim.clone(),
                base: (r.verdict.clone(), r.evidence.clone()),
                new: (n.verdict.clone(), n.evidence.clone()),
            }),
            Some(_) => {}
        }
    }
    for claim in new_rows.keys().filter(|c| !seen.contains(c)) {
        out.only_in.push((
            "claims".into(),
            "claims".into(),
            format!("claim={claim}"),
            "new",
        ));
    }
}

/// Compare two loaded runs.
pub fn compare(base: &[Loaded], new: &[Loaded], threshold: f64) -> Comparison {
    let mut out = Comparison::default();
    if let (Some(b), Some(n)) = (base.first(), new.first()) {
        let (mb, mn) = (&b.results.machine, &n.results.machine);
        out.machines_differ = mb.cpu_model != mn.cpu_model || mb.cores != mn.cores;
        out.machines = Some((mb.clone(), mn.clone()));
    }
    let isa_differs = match (base.first(), new.first()) {
        (Some(b), Some(n)) => b.results.machine.simd_isa != n.results.machine.simd_isa,
        _ => false,
    };
    out.isa_differs = isa_differs;
    let find = |set: &'_ [Loaded], name: &str| set.iter().position(|l| l.name == name);
    for b in base {
        let Some(ni) = find(new, &b.name) else {
            out.scenarios_only_in.push((b.name.clone(), "base"));
            continue;
        };
        let n = &new[ni];
        for tb in &b.results.tables {
            let Some(tn) = n.results.tables.iter().find(|t| t.name == tb.name) else {
                out.only_in.push((
                    b.name.clone(),
                    tb.name.clone(),
                    "(the whole table)".into(),
                    "base",
                ));
                continue;
            };
            if b.kind == "claims" && tb.name == "claims" {
                compare_claims(&mut out, tb, tn);
            } else if let Some(s) = spec(&b.kind, &tb.name) {
                let sensitive = |v: &str| {
                    v == "stable_wide"
                        || b.results
                            .variant(v)
                            .is_some_and(|f| f.family == Family::Simd)
                };
                let cx = Ctx {
                    scenario: &b.name,
                    kind: &b.kind,
                    threshold,
                    isa_sensitive: isa_differs.then_some(&sensitive as &dyn Fn(&str) -> bool),
                };
                compare_table(&mut out, &cx, s, tb, tn);
            } else {
                out.not_compared.push((b.name.clone(), tb.name.clone()));
            }
        }
    }
    for n in new {
        if find(base, &n.name).is_none() {
            out.scenarios_only_in.push((n.name.clone(), "new"));
        }
    }
    out
}

/// A path as it may appear in a committed file: relative paths as given, absolute
/// ones by their last two components.
fn shown(p: &Path) -> String {
    if p.is_absolute() {
        let parts: Vec<_> = p.components().rev().take(2).collect();
        let tail: PathBuf = parts.into_iter().rev().collect();
        format!("…/{}", tail.display())
    } else {
        p.display().to_string()
    }
}

fn num(v: f64) -> String {
    crate::data::fmt(v)
}

fn machine_line(m: &Machine) -> String {
    format!(
        "{} ({} cores{}), commit {}",
        m.cpu_model,
        m.cores,
        if m.simd_isa.is_empty() {
            String::new()
        } else {
            format!(", simd path {}", m.simd_isa)
        },
        m.git_commit.chars().take(12).collect::<String>()
    )
}

/// compare.md.
pub fn markdown(
    c: &Comparison,
    base: &Path,
    new: &Path,
    threshold: f64,
    figures: &[String],
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Comparison: {} → {}\n", shown(base), shown(new));
    if let Some((mb, mn)) = &c.machines {
        if c.machines_differ {
            let _ = writeln!(
                s,
                "**The machines differ**: absolute speeds are not compared; throughput is \
                 judged on `ratio_to_memcpy` and `ratio_to_candle` (beyond {}%).\n\n\
                 - BASE: {}\n- NEW: {}\n",
                num(threshold * 100.0),
                machine_line(mb),
                machine_line(mn)
            );
        } else {
            let _ = writeln!(
                s,
                "Same machine: {}.\n\n- BASE commit {}\n- NEW commit {}\n",
                mn.cpu_model,
                mb.git_commit.chars().take(12).collect::<String>(),
                mn.git_commit.chars().take(12).collect::<String>()
            );
        }
    }
    if c.isa_differs {
        if let Some((mb, mn)) = &c.machines {
            let _ = writeln!(
                s,
                "The simd paths differ ({} → {}): in the deterministic tables, changes of the \
                 vector kernels (family simd, stable_wide) are listed as changes, not regressions.\n",
                mb.simd_isa, mn.simd_isa
            );
        }
    }
    let count = |kind: Option<bool>, st: Status| {
        c.rows
            .iter()
            .filter(|r| r.status == st && kind.is_none_or(|t| (r.kind == "throughput") == t))
            .count()
    };
    let det_reg = count(Some(false), Status::Regressed);
    let time_reg = count(Some(true), Status::Regressed);
    let _ = writeln!(
        s,
        "{} compared values: {} regressions in accuracy, overflow and gradients tables, {} in \
         throughput (slower by more than {}% with intervals apart), {} improvements, {} other \
         changes, {} unchanged; {} verdicts changed; {} rows and {} scenarios in one run only.\n",
        c.rows.len(),
        det_reg,
        time_reg,
        num(threshold * 100.0),
        count(None, Status::Improved),
        count(None, Status::Changed),
        count(None, Status::Same),
        c.verdicts.len(),
        c.only_in.len(),
        c.scenarios_only_in.len()
    );
    let table = |s: &mut String, title: &str, rows: Vec<&Compared>| {
        if rows.is_empty() {
            return;
        }
        let _ = writeln!(s, "## {title} ({})\n", rows.len());
        let _ = writeln!(s, "| scenario | row | metric | BASE | NEW | NEW/BASE |");
        let _ = writeln!(s, "|---|---|---|---|---|---|");
        for r in rows.iter().take(200) {
            let iv = if r.ratio_interval.0.is_finite() {
                format!(
                    " [{}, {}]",
                    num(r.ratio_interval.0),
                    num(r.ratio_interval.1)
                )
            } else {
                String::new()
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {}{} |",
                r.scenario,
                r.key,
                r.metric,
                num(r.base),
                num(r.new),
                num(r.ratio),
                iv
            );
        }
        if rows.len() > 200 {
            let _ = writeln!(s, "\n{} more in compare.csv.", rows.len() - 200);
        }
        let _ = writeln!(s);
    };
    let pick = |st: Status, timed: bool| -> Vec<&Compared> {
        c.rows
            .iter()
            .filter(|r| r.status == st && (r.kind == "throughput") == timed)
            .collect()
    };
    table(
        &mut s,
        "Regressions: accuracy, overflow, gradients",
        pick(Status::Regressed, false),
    );
    table(
        &mut s,
        "Regressions: throughput",
        pick(Status::Regressed, true),
    );
    if !c.verdicts.is_empty() {
        let _ = writeln!(s, "## Verdicts that changed ({})\n", c.verdicts.len());
        for v in &c.verdicts {
            let _ = writeln!(
                s,
                "- **{}**: {} → {}\n  - BASE: {}\n  - NEW: {}",
                v.claim, v.base.0, v.new.0, v.base.1, v.new.1
            );
        }
        let _ = writeln!(s);
    }
    table(
        &mut s,
        "Improvements: accuracy, overflow, gradients",
        pick(Status::Improved, false),
    );
    table(
        &mut s,
        "Improvements: throughput",
        pick(Status::Improved, true),
    );
    table(
        &mut s,
        "Other changes: accuracy, overflow, gradients",
        pick(Status::Changed, false),
    );
    if !c.only_in.is_empty() || !c.scenarios_only_in.is_empty() {
        let _ = writeln!(s, "## In one run only\n");
        for (name, which) in &c.scenarios_only_in {
            let _ = writeln!(s, "- scenario `{name}`: {} only", which.to_uppercase());
        }
        for (sc, t, k, which) in c.only_in.iter().take(200) {
            let _ = writeln!(s, "- `{sc}` / {t}: {k} — {} only", which.to_uppercase());
        }
        let _ = writeln!(s);
    }
    if !c.not_compared.is_empty() {
        let names: Vec<String> = c
            .not_compared
            .iter()
            .map(|(sc, t)| format!("`{sc}`/{t}"))
            .collect();
        let _ = writeln!(
            s,
            "Not compared (no rule for these tables): {}.\n",
            names.join(", ")
        );
    }
    for f in figures {
        let _ = writeln!(s, "![{f}](plots/{f}.svg)\n");
    }
    s
}

/// compare.csv: every compared value.
pub fn csv(c: &Comparison) -> String {
    let mut s = String::from(
        "scenario,kind,table,key,metric,base,new,ratio,ratio_ci95_low,ratio_ci95_high,status\n",
    );
    let q = |t: &str| format!("\"{}\"", t.replace('"', "\"\""));
    let f = |v: f64| Value::Float(v).to_csv();
    for r in &c.rows {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{},{},{},{}",
            q(&r.scenario),
            q(&r.kind),
            q(&r.table),
            q(&r.key),
            q(&r.metric),
            f(r.base),
            f(r.new),
            f(r.ratio),
            f(r.ratio_interval.0),
            f(r.ratio_interval.1),
            r.status.name()
        );
    }
    s
}

/// NEW against BASE per kind, log–log with the diagonal: accuracy max_ulp,
/// overflow onsets, gradients vjp_normwise, throughput elems_per_s.
pub fn figures(c: &Comparison) -> Vec<Figure> {
    let mut out = Vec::new();
    for (kind, metric, label) in [
        ("accuracy", "max_ulp", "max error (ulps)"),
        (
            "overflow",
            "first_nonfinite_scale",
            "first non-finite scale",
        ),
        ("gradients", "vjp_normwise", "VJP normwise error"),
        ("throughput", "elems_per_s", "elements/s"),
    ] {
        let pts: Vec<(f64, f64, Status)> = c
            .rows
            .iter()
            .filter(|r| r.kind == kind && r.metric == metric)
            .filter(|r| r.base.is_finite() && r.new.is_finite() && r.base > 0.0 && r.new > 0.0)
            .map(|r| (r.base, r.new, r.status))
            .collect();
        if pts.is_empty() {
            continue;
        }
        let lo = pts
            .iter()
            .map(|p| p.0.min(p.1))
            .fold(f64::INFINITY, f64::min);
        let hi = pts.iter().map(|p| p.0.max(p.1)).fold(0.0, f64::max);
        let mut series =
            vec![Series::line("NEW = BASE", vec![(lo, lo), (hi, hi)]).styled(Style::Dashed)];
        for (name, st) in [
            ("same", Status::Same),
            ("improved", Status::Improved),
            ("changed", Status::Changed),
            ("regressed", Status::Regressed),
        ] {
            let p: Vec<(f64, f64)> = pts
                .iter()
                .filter(|p| p.2 == st)
                .map(|p| (p.0, p.1))
                .collect();
            if !p.is_empty() {
                series.push(Series::line(name, p).styled(Style::Markers));
            }
        }
        out.push(Figure {
            layout: crate::plot::Layout::Grid,
            name: format!("compare_{kind}"),
            title: format!("{kind}: NEW against BASE, {label}"),
            panels: vec![Panel {
                title: label.to_string(),
                x: Axis::log(&format!("BASE {label}")),
                y: Axis::log(&format!("NEW {label}")),
                content: Content::Lines(series),
            }],
            columns: 1,
            notes: Vec::new(),
        });
    }
    out
}

/// What `compare` wrote.
#[derive(Debug)]
pub struct Written {
    /// The comparison.
    pub comparison: Comparison,
    /// compare.md.
    pub markdown: PathBuf,
    /// compare.csv.
    pub csv: PathBuf,
}

/// An error of `compare`: bad input (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// A results folder that could not be read.
    #[error("{which} {path}: {source}; expected a results folder (*.json with their CSVs) or a report folder holding results/")]
    Input {
        /// "BASE" or "NEW".
        which: &'static str,
        /// The folder as given.
        path: PathBuf,
        /// Why.
        source: ReportError,
    },
    /// The output could not be written.
    #[error("{path}: cannot write: {message}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), CompareError> {
    softmax_lab_results::file::write_atomic(path, bytes).map_err(|e| CompareError::Write {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Load BASE and NEW, compare them and write `out/compare.md`, `out/compare.csv`
/// and `out/plots/compare_<kind>.svg|png`.
pub fn run(base: &Path, new: &Path, out: &Path, threshold: f64) -> Result<Written, CompareError> {
    let load_one = |which: &'static str, p: &Path| {
        load(&results_dir(p)).map_err(|source| CompareError::Input {
            which,
            path: p.to_path_buf(),
            source,
        })
    };
    let (b, n) = (load_one("BASE", base)?, load_one("NEW", new)?);
    let comparison = compare(&b, &n, threshold);
    let plots = out.join("plots");
    std::fs::create_dir_all(&plots).map_err(|e| CompareError::Write {
        path: plots.clone(),
        message: softmax_lab_results::file::plain_io(&e),
    })?;
    let mut names = Vec::new();
    for f in figures(&comparison) {
        let svg = f.to_svg().map_err(|e| CompareError::Write {
            path: plots.join(format!("{}.svg", f.name)),
            message: e.message.clone(),
        })?;
        write_file(&plots.join(format!("{}.svg", f.name)), svg.as_bytes())?;
        let png = plots.join(format!("{}.png", f.name));
        f.to_png(&png).map_err(|e| CompareError::Write {
            path: png.clone(),
            message: e.message.clone(),
        })?;
        names.push(f.name.clone());
    }
    let md = out.join("compare.md");
    let csv_path = out.join("compare.csv");
    write_file(&csv_path, csv(&comparison).as_bytes())?;
    write_file(
        &md,
        markdown(&comparison, base, new, threshold, &names).as_bytes(),
    )?;
    Ok(Written {
        comparison,
        markdown: md,
        csv: csv_path,
    })
}
