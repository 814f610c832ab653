//! `softmax-lab`: the command-line entry point. Parses arguments and calls into
//! the library; every error is printed as one line `error: ...` with exit code 2.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use softmax_lab_cli::demo;
use softmax_lab_cli::eval::{self, EvalArgs};
use softmax_lab_cli::list::{self, ListArgs};
use softmax_lab_cli::registry;

/// Accuracy and speed of softmax and sigmoid variants.
#[derive(Debug, Parser)]
#[command(name = "softmax-lab", version, about)]
struct Cli {
    /// With no subcommand, `demo` runs.
    #[command(subcommand)]
    command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// The folklore examples, every softmax variant and dtype, scored in ULPs (the default).
    Demo,
    /// Run one variant on rows from a JSON file and print the output as JSON.
    Eval(EvalArgs),
    /// List every registered variant.
    List(ListArgs),
}

/// Run a subcommand and return the text for stdout.
fn run(cli: &Cli) -> anyhow::Result<String> {
    let registry = registry();
    match cli.command.as_ref().unwrap_or(&Command::Demo) {
        Command::Demo => Ok(demo::demo(&registry)?),
        Command::Eval(args) => Ok(eval::eval(&registry, args)? + "\n"),
        Command::List(args) => list::list(&registry, args).context("formatting the list as JSON"),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = run(&cli).and_then(|text| {
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .context("writing to stdout")
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line, whatever the messages inside contain.
            let msg = format!("{e:#}").replace(['\n', '\r'], " ");
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
    }
}
