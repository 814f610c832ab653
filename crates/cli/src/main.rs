//! `softmax-lab`: the command-line entry point. Parses arguments and calls into
//! the library; every error is printed as one line `error: ...` (one per invalid
//! scenario file) with exit code 2; `compare --fail-on-regression` exits 1 when
//! something regressed.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use softmax_lab_cli::compare::{self, CompareArgs, Regressed};
use softmax_lab_cli::demo;
use softmax_lab_cli::eval::{self, EvalArgs};
use softmax_lab_cli::list::{self, ListArgs};
use softmax_lab_cli::report::{self, ReportArgs};
use softmax_lab_cli::run::{self as scenarios, Invalid, RunArgs, ValidateArgs};
use softmax_lab_variants::registry;

/// Accuracy and speed of softmax and sigmoid variants.
#[derive(Debug, Parser)]
#[command(name = "softmax-lab", version, about)]
struct Cli {
    /// With no subcommand, `run` runs the default suite (scenarios/*.toml).
    #[command(subcommand)]
    command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Run scenario files and write results under OUT/results/ (the default).
    Run(RunArgs),
    /// Check scenario files without running anything.
    Validate(ValidateArgs),
    /// Regenerate plots, index.md and index.html from saved results (runs nothing).
    Report(ReportArgs),
    /// Compare two runs' results: what got slower, less accurate, which verdict moved.
    Compare(CompareArgs),
    /// The folklore examples, every softmax variant and dtype, scored in ULPs.
    Demo,
    /// Run one variant on rows from a JSON file and print the output as JSON.
    Eval(EvalArgs),
    /// List every registered variant.
    List(ListArgs),
}

/// Run a subcommand, writing its output to stdout.
fn run(cli: &Cli) -> anyhow::Result<()> {
    let registry = registry();
    let default = Command::Run(RunArgs::default());
    let text = match cli.command.as_ref().unwrap_or(&default) {
        Command::Run(args) => {
            let mut out = std::io::stdout().lock();
            return scenarios::run(&registry, args, &mut out);
        }
        Command::Validate(args) => scenarios::validate(&registry, args)?,
        Command::Report(args) => {
            let mut out = std::io::stdout().lock();
            return report::report(args, &mut out);
        }
        Command::Compare(args) => {
            let mut out = std::io::stdout().lock();
            return compare::compare(args, &mut out);
        }
        Command::Demo => demo::demo(&registry)?,
        Command::Eval(args) => eval::eval(&registry, args)? + "\n",
        Command::List(args) => {
            list::list(&registry, args).context("formatting the list as JSON")?
        }
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context("writing to stdout")
}

/// The error and its causes joined by ": ", each cause left out when the text so
/// far already says it (our errors print their source, e.g. `cannot read: {source}`,
/// so anyhow's `{:#}` would print an OS error twice).
fn chain(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.is_empty() {
            line = text;
        } else if !line.contains(&text) {
            line = format!("{line}: {text}");
        }
    }
    line
}

fn main() -> ExitCode {
    // candle sizes its matmul thread count from num_cpus::get_physical() on every
    // call, re-reading /proc/cpuinfo each time, unless RAYON_NUM_THREADS is set
    // (measured: the training study 3x slower). Setting it to the core count here,
    // before any thread exists, changes no pool size and no result.
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        let n = std::thread::available_parallelism().map_or(1, |n| n.get());
        std::env::set_var("RAYON_NUM_THREADS", n.to_string());
    }
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e)
            if e.downcast_ref::<softmax_lab_cli::run::VariantsFailed>()
                .is_some() =>
        {
            // External variants failed: everything else ran and was written.
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
        Err(e) if e.downcast_ref::<Regressed>().is_some() => {
            // `compare --fail-on-regression`: the regressions are on stdout and in
            // compare.md; exit 1 distinguishes them from bad input (2).
            eprintln!("{e}");
            ExitCode::from(1)
        }
        Err(e) => {
            let lines = match e.downcast_ref::<Invalid>() {
                Some(Invalid(lines)) => lines.clone(),
                None => vec![chain(&e)],
            };
            for line in lines {
                // One line per error, whatever the messages inside contain.
                eprintln!("error: {}", line.replace(['\n', '\r'], " "));
            }
            ExitCode::from(2)
        }
    }
}
