//! `softmax-lab run` and `softmax-lab validate`: scenario files through the harness,
//! then the report (`softmax-lab report`) over the results folder.
//! Every file is validated before any is run, so an invalid file leaves nothing
//! half-written.

use std::io::Write;
use std::path::{Path, PathBuf};

use softmax_lab_core::Registry;
use softmax_lab_harness::limits::{format_bytes, Limits};
use softmax_lab_harness::run::load_all_with_limits;
use softmax_lab_harness::scenario::peak_memory;
use softmax_lab_harness::{resolve_paths, run_scenario, HarnessError, RunOptions};

/// Where `run` and `validate` look when given no files (relative to the current directory).
pub const DEFAULT_DIR: &str = "scenarios";
/// Where `run` writes when given no `--out` (results go to `<out>/results/`).
pub const DEFAULT_OUT: &str = "reports";

/// The arguments of `softmax-lab run`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RunArgs {
    /// Scenario files or directories of them (default: every *.toml in scenarios/).
    pub paths: Vec<PathBuf>,
    /// Fewer, smaller points: each scenario's [quick] form (the suite in under a minute).
    #[arg(long)]
    pub quick: bool,
    /// Output directory; results go to OUT/results/ [default: reports]
    #[arg(long, value_name = "OUT")]
    pub out: Option<PathBuf>,
    /// Most memory a scenario may need (estimated peak), e.g. 8G [default: the memory available now]
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_memory: Option<u64>,
}

/// The arguments of `softmax-lab validate`.
#[derive(Debug, Clone, clap::Args)]
pub struct ValidateArgs {
    /// Scenario files or directories of them (default: every *.toml in scenarios/).
    pub paths: Vec<PathBuf>,
    /// Most memory a scenario may need (estimated peak), e.g. 8G [default: the memory available now]
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_memory: Option<u64>,
}

/// `--max-memory`'s value: bytes with an optional K, M, G or T suffix.
fn parse_size(text: &str) -> Result<u64, String> {
    softmax_lab_harness::limits::parse_size(text)
}

/// One or more invalid scenario files: one self-contained line each.
#[derive(Debug)]
pub struct Invalid(pub Vec<String>);

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join("; "))
    }
}

impl std::error::Error for Invalid {}

fn paths(given: &[PathBuf]) -> Result<Vec<PathBuf>, Invalid> {
    resolve_paths(given, Path::new(DEFAULT_DIR)).map_err(|e| {
        let hint = if given.is_empty() {
            " (run from the repository root, or name scenario files: softmax-lab run FILES...)"
        } else {
            ""
        };
        Invalid(vec![format!("{e}{hint}")])
    })
}

fn load(
    given: &[PathBuf],
    registry: &Registry,
    max_memory: Option<u64>,
) -> Result<Vec<softmax_lab_harness::ScenarioFile>, Invalid> {
    let files = paths(given)?;
    load_all_with_limits(&files, registry, &Limits::with_max_memory(max_memory))
        .map_err(|errors| Invalid(errors.iter().map(|e| e.to_string()).collect()))
}

/// Check scenario files without running anything; returns the report for stdout.
pub fn validate(registry: &Registry, args: &ValidateArgs) -> Result<String, Invalid> {
    let files = load(&args.paths, registry, args.max_memory)?;
    let mut out = String::new();
    for f in &files {
        let s = &f.full;
        out += &format!(
            "ok {} ({}, {}): {} variants x {} dtypes, {} points ({} quick), \
             peak memory ~{} ({} quick)\n",
            s.source.display(),
            s.name,
            s.kind.name(),
            s.variants.len(),
            s.dtypes.len(),
            points(s),
            points(&f.quick),
            format_bytes(peak_memory(s).bytes),
            format_bytes(peak_memory(&f.quick).bytes)
        );
    }
    Ok(out)
}

/// Generated batches of a scenario: n × generators × scales × dtypes.
fn points(s: &softmax_lab_harness::Scenario) -> usize {
    s.n.len() * s.generators.len() * s.scale.len() * s.dtypes.len()
}

/// Validate every file, then run each scenario, writing a summary to `out` as each
/// one finishes.
pub fn run(registry: &Registry, args: &RunArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let files = load(&args.paths, registry, args.max_memory)?;
    let opts = RunOptions {
        quick: args.quick,
        out_dir: args
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_OUT)),
        progress: true,
        threads: 0,
    };
    let start = std::time::Instant::now();
    for f in &files {
        let s = f.pick(args.quick);
        let outcome =
            run_scenario(s, registry, &opts).map_err(|e: HarnessError| anyhow::anyhow!(e))?;
        writeln!(
            out,
            "{} ({}{}): {} rows in {:.1} s",
            outcome.name,
            outcome.kind.name(),
            if args.quick { ", quick" } else { "" },
            outcome.records,
            outcome.elapsed_s
        )?;
        for line in &outcome.summary {
            writeln!(out, "  {line}")?;
        }
        for p in &outcome.files {
            writeln!(out, "  wrote {}", p.display())?;
        }
        out.flush()?;
    }
    writeln!(
        out,
        "{} scenarios in {:.1} s; results in {}",
        files.len(),
        start.elapsed().as_secs_f64(),
        opts.out_dir.join("results").display()
    )?;
    // The report renders every result in the folder, including earlier runs' ones.
    crate::report::render(opts.out_dir.join("results"), opts.out_dir.clone(), out)?;
    Ok(())
}
