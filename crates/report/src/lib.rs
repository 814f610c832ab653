//! The report renderer: regenerates a written study from saved results, without
//! re-running anything.
//!
//! Input: a results folder (`<scenario>.json` per scenario, as the harness writes
//! them). Output, in a report folder (default `reports/`):
//!
//! - `results/`: the results (copied there when they were read from elsewhere);
//! - `plots/`: every figure as SVG and PNG (`<scenario>_<plot>.svg|png`);
//! - `index.md` (renders on GitHub, PNG images linking to the SVGs) and
//!   `index.html` (self-contained: CSS and compacted SVGs inline, links only to
//!   results/*.csv).
//!
//! The index opens with a summary computed from the results ([`summary`]: verdict
//! counts, the best variant per function and dtype, the three largest findings and
//! the headline figure). Then one section per scenario: what was measured and how
//! (from the scenario as run), a findings paragraph computed from the numbers,
//! summary tables (each number with its sample size or spread; long tables keep
//! only the rows that carry a finding, the CSVs have all) and plots; the claims
//! ledger comes first. Kinds
//! without a renderer, and renderers that miss a table or column, still get a
//! section that says what is missing and shows the raw table.
//!
//! When any results hold external variants (family `external`), a **Peers**
//! section ([`peers`]) lists each with how it was reached, the name and versions it
//! reported and its status, and their accuracy beside the built-in variants of the
//! same function and dtype. [`render`] also reads `<out>/peers/results/` when that
//! folder holds results (a peers run: `just peers`, i.e. `softmax-lab run
//! scenarios/peers --out reports/peers`); those scenarios add to the Peers section
//! only, not sections of their own.
//!
//! Same results in, byte-identical `index.md`, `index.html` and SVGs out. Plots are
//! written to a temporary folder that replaces `plots/` only once all are drawn, and
//! the index files are written atomically: a failed report leaves the previous one.
//!
//! Not here: measuring anything (the harness), the claims' verdicts (the claims
//! scenario), argument parsing (the CLI).

#![warn(missing_docs)]

pub mod compare;
pub mod data;
pub mod doc;
pub mod kinds;
pub mod peers;
pub mod plot;
pub mod summary;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use softmax_lab_results::{write_atomic, Results};

use crate::data::fmt;
use crate::doc::{link, t, Block, Document, Inline, Section, Span};
use crate::kinds::{code, plain, Ctx, Loaded};
use crate::plot::{Figure, PlotError};

/// The scenarios of the default suite, in the order the index shows them (the
/// claims ledger first); others follow in name order.
pub const DEFAULT_SCENARIOS: [&str; 12] = [
    "claims",
    "accuracy_softmax",
    "accuracy_temperature",
    "accuracy_log_softmax",
    "accuracy_sigmoid",
    "accuracy_sparsemax",
    "accuracy_vocab",
    "overflow",
    "overflow_ftz",
    "gradients",
    "throughput",
    "training",
];

/// Everything the report can fail with; each Display is one line naming the file.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file or folder that could not be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The path.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A results file that is not valid results JSON.
    #[error("{path}: malformed results file: {message}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A results folder without any results file.
    #[error("{0}: no results files (*.json); run `softmax-lab run` first")]
    NoResults(PathBuf),
    /// A figure that could not be drawn.
    #[error(transparent)]
    Plot(#[from] PlotError),
    /// A file or folder that could not be written.
    #[error("{path}: cannot write: {source}")]
    Write {
        /// The path.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// Where to read and write.
#[derive(Clone, Debug)]
pub struct Options {
    /// The results folder (`<scenario>.json` and CSVs).
    pub results_dir: PathBuf,
    /// The report folder.
    pub out_dir: PathBuf,
}

/// What a report wrote.
#[derive(Clone, Debug)]
pub struct Summary {
    /// `<out>/index.md`.
    pub index_md: PathBuf,
    /// `<out>/index.html`.
    pub index_html: PathBuf,
    /// Every plot file written (SVG and PNG), sorted.
    pub plots: Vec<PathBuf>,
    /// The scenarios rendered, in index order.
    pub scenarios: Vec<String>,
    /// Default scenarios absent from the results.
    pub missing: Vec<String>,
    /// Sections whose renderer failed, with the reason.
    pub failed: Vec<String>,
}

fn read_err(path: &Path) -> impl FnOnce(std::io::Error) -> ReportError + '_ {
    move |source| ReportError::Read {
        path: path.to_path_buf(),
        source,
    }
}

fn write_err(path: &Path) -> impl FnOnce(std::io::Error) -> ReportError + '_ {
    move |source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// Read every `*.json` of the folder (sorted by name) as results; the first
/// malformed file is an error naming it.
pub fn load(dir: &Path) -> Result<Vec<Loaded>, ReportError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(read_err(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json") && p.is_file())
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(ReportError::NoResults(dir.to_path_buf()));
    }
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(read_err(&f))?;
        let results = Results::from_json(&text).map_err(|e| ReportError::Malformed {
            path: f.clone(),
            message: e.0,
        })?;
        // A scenario's CSVs must be the ones its JSON vouches for: a mix of two
        // runs (an interrupted write, an edited file) is refused, not rendered.
        results
            .verify_files(dir)
            .map_err(|message| ReportError::Malformed {
                path: f.clone(),
                message,
            })?;
        // Names become parts of paths (plots/<name>_<plot>.svg) and links:
        // `Results::from_json` has checked every one against the name rule.
        out.push(Loaded {
            name: results.name().to_string(),
            kind: results.kind().to_string(),
            file: f,
            results,
        });
    }
    out.sort_by_key(|l| {
        let pos = DEFAULT_SCENARIOS
            .iter()
            .position(|d| *d == l.name)
            .unwrap_or(DEFAULT_SCENARIOS.len());
        // Claims of any name come first; others keep the default order, then by name.
        (l.kind != "claims", pos, l.name.clone())
    });
    Ok(out)
}

/// "1 to 10000 (9 points)" for a swept list, or the values.
fn sweep(l: &Loaded, field: &str) -> Option<String> {
    let v: Vec<f64> = l
        .results
        .scenario
        .get(field)?
        .as_array()?
        .iter()
        .filter_map(|x| x.as_f64())
        .collect();
    match v.len() {
        0 => None,
        1..=3 => Some(v.iter().map(|x| fmt(*x)).collect::<Vec<_>>().join(", ")),
        k => Some(format!(
            "{} to {} ({k} points)",
            fmt(v.iter().copied().fold(f64::INFINITY, f64::min)),
            fmt(v.iter().copied().fold(f64::NEG_INFINITY, f64::max))
        )),
    }
}

fn setup(l: &Loaded) -> Inline {
    let mut parts: Vec<String> = Vec::new();
    let mut add = |label: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            parts.push(format!("{label}: {v}"));
        }
    };
    add("variants", l.setting("variants"));
    add("dtypes", l.setting("dtypes"));
    add("row lengths n", l.setting("n"));
    add("rows per point", l.setting("rows").filter(|r| r != "0"));
    add("generators", l.setting("generators"));
    add("logit scales", sweep(l, "scale"));
    add("temperatures", sweep(l, "temperature"));
    add("seed", l.setting("seed"));
    add(
        "each variant call with flush-to-zero and denormals-are-zero set",
        l.setting("flush_subnormals")
            .filter(|v| v == "true")
            .map(|_| "yes (the reference with gradual underflow)".into()),
    );
    let quick = l
        .results
        .scenario
        .get("quick")
        .and_then(|q| q.as_bool())
        .unwrap_or(false);
    let mut out = vec![Span::Strong("Setup.".into())];
    out.push(plain(format!(
        " {}{}. Scenario file ",
        parts.join("; "),
        if quick { " (quick form)" } else { "" }
    )));
    out.push(code(l.setting("source").unwrap_or_else(|| "?".into())));
    out.push(plain("."));
    out
}

fn machine(l: &Loaded) -> Inline {
    let m = &l.results.machine;
    let commit: String = m.git_commit.chars().take(12).collect();
    t(format!(
        "Run on {} ({} cores{}), {}, {}; commit {}{}; {}; took {} s.",
        m.cpu_model,
        m.cores,
        if m.simd_isa.is_empty() {
            String::new()
        } else {
            format!(", simd path {}", m.simd_isa)
        } + if m.flushes_subnormals {
            ", subnormals flushed to zero by default"
        } else {
            ", gradual underflow by default"
        },
        m.os,
        m.rustc,
        commit,
        if m.git_dirty {
            " (uncommitted changes)"
        } else {
            ""
        },
        m.date,
        fmt(l.results.elapsed_s)
    ))
}

/// The report as a document and its figures, from loaded results; `results_files`
/// are the file names present in the results folder (links to others are marked
/// missing). Returns the failed sections too.
pub fn build(
    loaded: &[Loaded],
    results_files: &BTreeSet<String>,
) -> (Document, Vec<Figure>, Vec<String>) {
    build_with_peers(loaded, &[], results_files)
}

/// [`build`], with the results of a peers run (`<out>/peers/results/`) whose
/// external variants join the Peers section ([`peers`]).
pub fn build_with_peers(
    loaded: &[Loaded],
    peers_run: &[Loaded],
    results_files: &BTreeSet<String>,
) -> (Document, Vec<Figure>, Vec<String>) {
    let ctx = Ctx { all: loaded };
    let mut sections = Vec::new();
    let mut figures = Vec::new();
    let mut failed = Vec::new();
    for l in loaded {
        let mut blocks = Vec::new();
        if let Some(d) = l.setting("description") {
            blocks.push(Block::Para(vec![
                Span::Strong("What.".into()),
                plain(format!(" {d}")),
            ]));
        }
        blocks.push(Block::Para(setup(l)));
        match kinds::render(l, &ctx) {
            Ok(r) => {
                for m in r.method {
                    blocks.push(Block::Para(
                        [vec![Span::Strong("How.".into()), plain(" ")], m].concat(),
                    ));
                }
                blocks.push(Block::Para(
                    [
                        vec![Span::Strong("Findings.".into()), plain(" ")],
                        r.findings,
                    ]
                    .concat(),
                ));
                blocks.extend(r.blocks);
                blocks.push(Block::Para(table_links(l)));
                for (f, caption) in r.figures {
                    blocks.push(Block::Figure {
                        name: f.name.clone(),
                        caption,
                    });
                    figures.push(f);
                }
            }
            Err(e) => {
                failed.push(format!("{}: {e}", l.name));
                blocks.push(Block::Para(t(format!(
                    "This section could not be rendered: {e}. The first rows of each table \
                     follow."
                ))));
                for table in &l.results.tables {
                    blocks.push(Block::Heading(format!("Table {}", table.name)));
                    blocks.push(kinds::raw_table(table, 20));
                }
                blocks.push(Block::Para(table_links(l)));
            }
        }
        blocks.push(Block::Para(machine(l)));
        sections.push(Section {
            id: l.name.clone(),
            title: if l.kind == "claims" {
                format!("Claims ledger ({})", l.name)
            } else {
                format!("{} ({})", l.name, l.kind)
            },
            blocks,
        });
    }
    if let Some(p) = peers::section(loaded, peers_run) {
        sections.push(p);
    }
    let mut intro = vec![Block::Para(vec![
        plain("Generated by "),
        code("softmax-lab report"),
        plain(
            " from the results in results/: every table, sentence and plot below is \
             computed from those files. Regenerate with ",
        ),
        code("softmax-lab report --results DIR --out DIR"),
        plain("."),
    ])];
    let (summary_blocks, headline) = summary::build(loaded);
    if !summary_blocks.is_empty() {
        intro.push(Block::Heading("Summary".into()));
        intro.extend(summary_blocks);
    }
    if let Some(f) = headline {
        figures.insert(0, f);
    }
    if let Some(first) = loaded.first() {
        intro.push(Block::Para(machine(first)));
    }
    intro.push(Block::Bullets(
        sections
            .iter()
            .map(|s| link(s.title.clone(), format!("#{}", s.id)))
            .collect(),
    ));
    let missing: Vec<String> = DEFAULT_SCENARIOS
        .iter()
        .filter(|d| !loaded.iter().any(|l| l.name == **d))
        .map(|d| d.to_string())
        .collect();
    if !missing.is_empty() {
        intro.push(Block::Para(t(format!(
            "Not in these results (no section): {}.",
            missing.join(", ")
        ))));
    }
    if !failed.is_empty() {
        intro.push(Block::Para(t(format!(
            "Sections rendered only in part: {}.",
            failed.join("; ")
        ))));
    }
    let mut doc = Document {
        title: "softmax-lab report".into(),
        intro,
        sections,
    };
    let names: BTreeSet<String> = figures.iter().map(|f| f.name.clone()).collect();
    check_links(&mut doc, &names, results_files);
    (doc, figures, failed)
}

fn table_links(l: &Loaded) -> Inline {
    let mut out = vec![plain("Full tables: ")];
    for (i, table) in l.results.tables.iter().enumerate() {
        if i > 0 {
            out.push(plain(", "));
        }
        let csv = l.csv_name(&table.name);
        out.extend(link(csv.clone(), format!("results/{csv}")));
        out.push(plain(format!(" ({} rows)", table.rows.len())));
    }
    let json = l
        .file
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    out.push(plain("; all of it with the scenario and machine: "));
    out.extend(link(json.clone(), format!("results/{json}")));
    out.push(plain("."));
    out
}

/// Replace links to files the report does not have with "label (missing)".
fn check_links(doc: &mut Document, figures: &BTreeSet<String>, results: &BTreeSet<String>) {
    let ok = |href: &str| -> bool {
        if href.starts_with('#') || href.contains("://") {
            return true;
        }
        if let Some(p) = href.strip_prefix("plots/") {
            return p
                .strip_suffix(".svg")
                .or_else(|| p.strip_suffix(".png"))
                .is_some_and(|stem| figures.contains(stem));
        }
        if let Some(r) = href.strip_prefix("results/") {
            return results.contains(r);
        }
        false
    };
    let fix = |i: &mut Inline| {
        for s in i.iter_mut() {
            if let Span::Link { label, href } = s {
                if !ok(href) {
                    *s = Span::Text(format!("{label} (missing)"));
                }
            }
        }
    };
    for b in doc
        .intro
        .iter_mut()
        .chain(doc.sections.iter_mut().flat_map(|s| s.blocks.iter_mut()))
    {
        match b {
            Block::Para(i) => fix(i),
            Block::Bullets(items) => items.iter_mut().for_each(fix),
            Block::Table { rows, .. } => rows.iter_mut().flatten().for_each(fix),
            Block::Figure { .. } | Block::Heading(_) => {}
        }
    }
}

fn file_names(dir: &Path) -> Result<BTreeSet<String>, ReportError> {
    Ok(std::fs::read_dir(dir)
        .map_err(read_err(dir))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".tmp"))
        .collect())
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Put the complete folder `new` in place of `live`. On Linux the two are exchanged
/// in one step (`renameat2(RENAME_EXCHANGE)`), then the old set (now at `new`) is
/// removed; elsewhere, or where the file system cannot exchange, `live` is renamed
/// to `old` first and [`recover`] undoes a swap interrupted between the two renames.
pub fn swap_in(new: &Path, live: &Path, old: &Path) -> std::io::Result<()> {
    if live.exists() {
        if exchange(new, live).is_ok() {
            return std::fs::remove_dir_all(new);
        }
        if old.exists() {
            std::fs::remove_dir_all(old)?;
        }
        std::fs::rename(live, old)?;
    }
    std::fs::rename(new, live)?;
    if old.exists() {
        std::fs::remove_dir_all(old)?;
    }
    Ok(())
}

/// Restore `live` from `old` when a swap was interrupted between its two renames
/// (there is an `old` and no `live`); otherwise drop a stale `old`.
pub fn recover(live: &Path, old: &Path) -> std::io::Result<()> {
    if !old.exists() {
        return Ok(());
    }
    if live.exists() {
        std::fs::remove_dir_all(old)
    } else {
        std::fs::rename(old, live)
    }
}

#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))
    };
    let (a, b) = (c(a)?, c(b)?);
    // SAFETY: both paths are valid NUL-terminated strings that outlive the call.
    let r = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

/// The folder of a peers run's results inside a report folder (`just peers`
/// writes there); the Peers section reads it when present.
pub const PEERS_RESULTS: &str = "peers/results";

/// Render the report from `opts.results_dir` into `opts.out_dir`, with the Peers
/// section drawn also from `<out>/peers/results/` when that folder holds results.
pub fn render(opts: &Options) -> Result<Summary, ReportError> {
    let loaded = load(&opts.results_dir)?;
    let results_files = file_names(&opts.results_dir)?;
    let peers_dir = opts.out_dir.join(PEERS_RESULTS);
    let peers_run = if peers_dir.is_dir() && !same_dir(&peers_dir, &opts.results_dir) {
        match load(&peers_dir) {
            Ok(p) => p,
            Err(ReportError::NoResults(_)) => Vec::new(),
            Err(e) => return Err(e),
        }
    } else {
        Vec::new()
    };
    let (doc, figures, failed) = build_with_peers(&loaded, &peers_run, &results_files);
    // Draw everything before touching the report folder.
    let svgs: BTreeMap<String, String> = figures
        .iter()
        .map(|f| f.to_svg().map(|s| (f.name.clone(), s)))
        .collect::<Result<_, _>>()?;
    let out = &opts.out_dir;
    std::fs::create_dir_all(out).map_err(write_err(out))?;
    recover(&out.join("plots"), &out.join(".plots.old")).map_err(write_err(out))?;
    let tmp = out.join(".plots.tmp");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(write_err(&tmp))?;
    }
    std::fs::create_dir_all(&tmp).map_err(write_err(&tmp))?;
    let drawn = (|| -> Result<Vec<String>, ReportError> {
        let mut files = Vec::new();
        for f in &figures {
            let svg = tmp.join(format!("{}.svg", f.name));
            std::fs::write(&svg, svgs.get(&f.name).map_or("", |s| s.as_str()))
                .map_err(write_err(&svg))?;
            f.to_png(&tmp.join(format!("{}.png", f.name)))?;
            files.push(format!("{}.svg", f.name));
            files.push(format!("{}.png", f.name));
        }
        Ok(files)
    })();
    let drawn = match drawn {
        Ok(d) => d,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    // Results read from elsewhere are copied in, so that the folder stands alone.
    let results_out = out.join("results");
    if !same_dir(&opts.results_dir, &results_out) {
        std::fs::create_dir_all(&results_out).map_err(write_err(&results_out))?;
        for name in &results_files {
            if !(name.ends_with(".json") || name.ends_with(".csv")) {
                continue;
            }
            let src = opts.results_dir.join(name);
            let bytes = std::fs::read(&src).map_err(read_err(&src))?;
            let dst = results_out.join(name);
            write_atomic(&dst, &bytes).map_err(write_err(&dst))?;
        }
    }
    // Swap the plots folder so that a complete set exists at every moment.
    let plots = out.join("plots");
    swap_in(&tmp, &plots, &out.join(".plots.old")).map_err(write_err(&plots))?;
    let index_md = out.join("index.md");
    write_atomic(&index_md, doc.to_markdown().as_bytes()).map_err(write_err(&index_md))?;
    let index_html = out.join("index.html");
    write_atomic(&index_html, doc.to_html(&svgs).as_bytes()).map_err(write_err(&index_html))?;
    let mut plot_files: Vec<PathBuf> = drawn.iter().map(|f| plots.join(f)).collect();
    plot_files.sort();
    Ok(Summary {
        index_md,
        index_html,
        plots: plot_files,
        scenarios: loaded.iter().map(|l| l.name.clone()).collect(),
        missing: DEFAULT_SCENARIOS
            .iter()
            .filter(|d| !loaded.iter().any(|l| l.name == **d))
            .map(|d| d.to_string())
            .collect(),
        failed,
    })
}

#[cfg(test)]
mod swap_tests {
    use super::*;

    fn folder(dir: &Path, name: &str, files: &[&str]) -> PathBuf {
        let p = dir.join(name);
        std::fs::create_dir_all(&p).unwrap_or_else(|e| panic!("{e}"));
        for f in files {
            std::fs::write(p.join(f), f).unwrap_or_else(|e| panic!("{e}"));
        }
        p
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .map(|r| {
                r.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    fn scratch(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("softmax-lab-swap-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{e}"));
        d
    }

    #[test]
    fn swap_replaces_the_whole_set_and_leaves_no_side_folders() {
        let d = scratch("swap");
        let live = folder(&d, "plots", &["a.svg", "b.svg"]);
        let new = folder(&d, ".plots.tmp", &["c.svg"]);
        swap_in(&new, &live, &d.join(".plots.old")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(names(&live), vec!["c.svg"]);
        assert_eq!(names(&d), vec!["plots"]);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn recover_restores_a_swap_killed_between_its_renames() {
        // The state a kill leaves after `plots` was renamed away and before the new
        // set was renamed in: no `plots`, the complete old set in `.plots.old`.
        let d = scratch("recover");
        folder(&d, ".plots.old", &["a.svg", "b.svg"]);
        folder(&d, ".plots.tmp", &["half.svg"]);
        recover(&d.join("plots"), &d.join(".plots.old")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(names(&d.join("plots")), vec!["a.svg", "b.svg"]);
        assert!(!d.join(".plots.old").exists());
        // With a live set present, a stale old one is dropped, the live one kept.
        folder(&d, ".plots.old", &["x.svg"]);
        recover(&d.join("plots"), &d.join(".plots.old")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(names(&d.join("plots")), vec!["a.svg", "b.svg"]);
        assert!(!d.join(".plots.old").exists());
        let _ = std::fs::remove_dir_all(&d);
    }
}
