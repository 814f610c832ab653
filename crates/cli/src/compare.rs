//! `softmax-lab compare BASE NEW`: what got slower, what got less accurate, which
//! verdict moved, between two runs (see `softmax_lab_report::compare`).

use std::io::Write;
use std::path::PathBuf;

use softmax_lab_report::compare::{run, Status};

/// The arguments of `softmax-lab compare`.
#[derive(Debug, Clone, clap::Args)]
pub struct CompareArgs {
    /// The earlier run: a results folder, or a report folder holding results/
    #[arg(value_name = "BASE")]
    pub base: PathBuf,
    /// The later run, the same way
    #[arg(value_name = "NEW")]
    pub new: PathBuf,
    /// Folder for compare.md, compare.csv and plots/compare_*.svg|png
    #[arg(long, value_name = "DIR", default_value = "compare")]
    pub out: PathBuf,
    /// Exit 1 when anything regressed
    #[arg(long)]
    pub fail_on_regression: bool,
    /// With --fail-on-regression: throughput regressions are reported but do not
    /// fail (timings on shared machines are noisy)
    #[arg(long)]
    pub throughput_informational: bool,
    /// The slowdown (fraction) beyond which a timing with intervals apart counts
    /// as a regression; also the threshold for the ratios across machines
    #[arg(long, value_name = "FRACTION", default_value_t = 0.10)]
    pub threshold: f64,
}

/// Something regressed and `--fail-on-regression` was given: exit 1.
#[derive(Debug)]
pub struct Regressed(pub usize);

impl std::fmt::Display for Regressed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} regressions (see compare.md)", self.0)
    }
}

impl std::error::Error for Regressed {}

/// Run the comparison; `Err(Regressed)` when the run should exit 1.
pub fn compare(args: &CompareArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    if !(args.threshold.is_finite() && args.threshold > 0.0 && args.threshold < 1.0) {
        anyhow::bail!(
            "--threshold {}: expected a fraction between 0 and 1 (e.g. 0.10 for 10%)",
            args.threshold
        );
    }
    let w = run(&args.base, &args.new, &args.out, args.threshold)?;
    let c = &w.comparison;
    let count = |st: Status, timed: bool| {
        c.rows
            .iter()
            .filter(|r| r.status == st && (r.kind == "throughput") == timed)
            .count()
    };
    if c.machines_differ {
        writeln!(
            out,
            "compare: the machines differ; throughput judged on ratio_to_memcpy and ratio_to_candle"
        )?;
    }
    writeln!(
        out,
        "compare: {} values; regressions: {} accuracy/overflow/gradients, {} throughput; \
         {} improvements; {} verdicts changed; {} rows and {} scenarios in one run only",
        c.rows.len(),
        count(Status::Regressed, false),
        count(Status::Regressed, true),
        count(Status::Improved, false) + count(Status::Improved, true),
        c.verdicts.len(),
        c.only_in.len(),
        c.scenarios_only_in.len()
    )?;
    for r in c.regressions(true).iter().take(10) {
        writeln!(
            out,
            "  regressed: {} {} {}: {} -> {}",
            r.scenario,
            r.key,
            r.metric,
            softmax_lab_report::data::fmt(r.base),
            softmax_lab_report::data::fmt(r.new)
        )?;
    }
    writeln!(out, "  wrote {}", w.markdown.display())?;
    writeln!(out, "  wrote {}", w.csv.display())?;
    out.flush()?;
    let failing = c.regressions(!args.throughput_informational).len();
    if args.fail_on_regression && failing > 0 {
        return Err(Regressed(failing).into());
    }
    Ok(())
}
