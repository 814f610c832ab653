//! `softmax-lab report`: regenerate the report folder (plots, index.md, index.html)
//! from saved results, without running anything.

use std::io::Write;
use std::path::PathBuf;

use softmax_lab_report::{Options, Summary};

use crate::run::DEFAULT_OUT;

/// The arguments of `softmax-lab report`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ReportArgs {
    /// Results folder to read [default: OUT/results]
    #[arg(long, value_name = "DIR")]
    pub results: Option<PathBuf>,
    /// Report folder to write (plots/, index.md, index.html) [default: reports]
    #[arg(long, value_name = "OUT")]
    pub out: Option<PathBuf>,
}

/// Render the report for `out_dir` from `results_dir` and print what was written.
pub fn render(
    results_dir: PathBuf,
    out_dir: PathBuf,
    out: &mut dyn Write,
) -> anyhow::Result<Summary> {
    let start = std::time::Instant::now();
    let summary = softmax_lab_report::render(&Options {
        results_dir,
        out_dir,
    })?;
    writeln!(
        out,
        "report: {} scenarios, {} plot files in {:.1} s",
        summary.scenarios.len(),
        summary.plots.len(),
        start.elapsed().as_secs_f64()
    )?;
    if !summary.missing.is_empty() {
        writeln!(out, "  not in the results: {}", summary.missing.join(", "))?;
    }
    for f in &summary.failed {
        writeln!(out, "  rendered in part: {f}")?;
    }
    writeln!(out, "  wrote {}", summary.index_md.display())?;
    writeln!(out, "  wrote {}", summary.index_html.display())?;
    out.flush()?;
    Ok(summary)
}

/// `softmax-lab report [--results DIR] [--out OUT]`.
pub fn report(args: &ReportArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_OUT));
    let results_dir = args
        .results
        .clone()
        .unwrap_or_else(|| out_dir.join("results"));
    // Bad results are refused before anything is created under OUT (the lock file
    // included); they are read again under the lock for the report itself.
    softmax_lab_report::load(&results_dir)?;
    let _lock = softmax_lab_results::OutLock::acquire(&out_dir)
        .map_err(|e| crate::run::Invalid(vec![e]))?;
    render(results_dir, out_dir, out).map(|_| ())
}
