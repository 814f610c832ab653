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
use softmax_lab_results::file::{clean_leftovers, plain_io, precheck_dir, OutLock};

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

/// The expected duration of a run: for each scenario, the wall time of the last
/// run of exactly the same scenario (same settings, same mode) in the results
/// folder; scenarios without one are counted, not guessed.
pub fn expected_duration(
    scenarios: &[&softmax_lab_harness::Scenario],
    results_dir: &Path,
) -> String {
    let mut known = 0.0;
    let mut unknown = Vec::new();
    for s in scenarios {
        let last = std::fs::read_to_string(results_dir.join(format!("{}.json", s.name)))
            .ok()
            .and_then(|text| softmax_lab_results::Results::from_json(&text).ok())
            .filter(|r| serde_json::to_value(s).ok().as_ref() == Some(&r.scenario))
            .map(|r| r.elapsed_s)
            .filter(|t| t.is_finite());
        match last {
            Some(t) => known += t,
            None => unknown.push(s.name.as_str()),
        }
    }
    let n = scenarios.len();
    match (unknown.len(), n) {
        (0, _) => format!(
            "expected duration: about {:.0} s ({n} scenarios, from their last runs in {})",
            known,
            results_dir.display()
        ),
        (u, _) if u == n => format!(
            "expected duration: unknown ({n} scenarios, none run before in {})",
            results_dir.display()
        ),
        (_, _) => format!(
            "expected duration: about {:.0} s for the {} scenarios run before in {}, plus {} never run there ({})",
            known,
            n - unknown.len(),
            results_dir.display(),
            unknown.len(),
            unknown.join(", ")
        ),
    }
}

/// External variants failed during a run (their failures are in the results and
/// were printed); the run finished and wrote everything else. Exit code 1.
#[derive(Debug)]
pub struct VariantsFailed(pub Vec<String>);

impl std::fmt::Display for VariantsFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} external variant(s) failed (recorded in the results): {}",
            self.0.len(),
            self.0.join(", ")
        )
    }
}

impl std::error::Error for VariantsFailed {}

/// Validate every file, then run each scenario, writing a summary to `out` as each
/// one finishes. External variants that fail do not stop the run: it ends with
/// [`VariantsFailed`] (exit 1) once everything is written; unavailable ones (their
/// package is missing) are noted and the run succeeds.
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
    // Before measuring anything: one run per folder, a writable folder, no results
    // of another schema version beside ours, no leftovers of an interrupted write.
    let results_dir = opts.out_dir.join("results");
    let _lock = OutLock::acquire(&opts.out_dir).map_err(|e| Invalid(vec![e]))?;
    precheck_dir(&results_dir).map_err(|e| Invalid(vec![e]))?;
    clean_leftovers(&results_dir).map_err(|e| {
        Invalid(vec![format!(
            "{}: cannot remove leftovers: {}",
            results_dir.display(),
            plain_io(&e)
        )])
    })?;
    let scenarios: Vec<&softmax_lab_harness::Scenario> =
        files.iter().map(|f| f.pick(args.quick)).collect();
    writeln!(out, "{}", expected_duration(&scenarios, &results_dir))?;
    out.flush()?;
    let start = std::time::Instant::now();
    let mut failed: Vec<String> = Vec::new();
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
        for x in &outcome.failures {
            writeln!(out, "  variant {} {}: {}", x.variant, x.status, x.message)?;
            if x.status != "unavailable" && !failed.contains(&x.variant) {
                failed.push(x.variant.clone());
            }
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
    if failed.is_empty() {
        Ok(())
    } else {
        Err(VariantsFailed(failed).into())
    }
}
