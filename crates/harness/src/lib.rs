//! The harness that turns variants into evidence: scenarios described in TOML
//! (`scenarios/*.toml`), run against the variants of a [`Registry`], measured
//! against the core reference and written as versioned results (one JSON per
//! scenario, one CSV per table).
//!
//! - [`scenario`]: the common header of a scenario file (name, kind, seed,
//!   variants, dtypes, n, rows, generators, sweeps, `[quick]`), its parsing and
//!   validation (errors name file, line, column and the allowed values), reading
//!   and decoding files.
//! - [`kinds`]: one module per measurement kind behind one small trait,
//!   [`kinds::MeasurementKind`]: a kind owns the fields only it takes (their
//!   parsing and located errors), its measurement, its main table's columns and
//!   its terminal summary. [`kinds::KINDS`] registers them, one line each;
//!   [`kinds::points`] is the parallel, deterministic point runner of the kinds
//!   that measure variants at generated points.
//! - [`measure_accuracy`], [`measure_overflow`], [`measure_gradients`],
//!   [`measure_throughput`], [`measure_training`], [`claims`]: the
//!   measurements themselves; each takes variants (or a spec) and inputs and
//!   returns records or tables.
//! - [`generate`]: the seeded, deterministic input generators.
//! - [`results`], [`stats`], [`machine`]: re-exported from `softmax-lab-results`
//!   (the results model the report reads without building any measurement).
//! - [`timing`]: the one runner that times prepared calls (interleaved samples,
//!   sample sizing); the throughput kind's tables all use it.
//! - [`limits`]: a scenario's peak-memory estimate, the memory a run may use, the
//!   thread cap.
//! - [`run`]: resolving files, validating them all, running each with its kind,
//!   writing.
//!
//! Adding a measurement kind touches: its name in [`Kind`] (crate
//! `softmax-lab-results`, the vocabulary of results files, with its record type
//! in `records.rs`); its module under `kinds/` implementing
//! [`kinds::MeasurementKind`] (with a `measure_*` module if the measurement is
//! large); one line in [`kinds::KINDS`]; its report module
//! (`crates/report/src/kinds/`); and the docs (`scenarios/README.md`). A section
//! of its own in the scenario file is a type in its module, named by one field of
//! the raw schema in [`scenario`] (serde reads the file as one tree), and a
//! [`kinds::Field`] if other kinds must refuse it.
//!
//! Not here: any variant (the caller passes a [`Registry`]), the reference and the
//! error measures (they live in `softmax-lab-core`), argument parsing (the CLI).

#![warn(missing_docs)]

pub mod claims;
pub mod generate;
pub mod kinds;
pub mod limits;
pub mod measure_accuracy;
pub mod measure_gradients;
pub mod measure_overflow;
pub mod measure_throughput;
pub mod measure_training;
pub mod run;
pub mod scenario;
pub mod timing;

use std::path::PathBuf;

/// The results model, statistics and machine record (crate `softmax-lab-results`).
pub use softmax_lab_results::{self as results, machine, stats};

pub use run::{load_all, resolve_paths, run_all, run_scenario, Outcome, RunOptions};
pub use scenario::{Kind, Scenario, ScenarioError, ScenarioFile};
pub use softmax_lab_core::Registry;

/// Everything the harness can fail with; each Display is one self-contained line.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// An invalid scenario file (`file:line:column: message`).
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// A path that is neither a readable file nor a directory.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The path as given.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A directory without any `*.toml` file.
    #[error("{0}: no scenario files (*.toml) in this directory")]
    NoScenarios(PathBuf),
    /// Two files that define a scenario of one name (their results would collide).
    #[error("{second}: scenario name '{name}' is already used by {first}")]
    DuplicateName {
        /// The name.
        name: String,
        /// The file that used it first.
        first: PathBuf,
        /// The file that used it again.
        second: PathBuf,
    },
    /// A variant refused a call the harness made.
    #[error("scenario '{scenario}': variant '{variant}' in {dtype}: {source}")]
    Variant {
        /// The scenario name.
        scenario: String,
        /// The variant id.
        variant: String,
        /// The dtype name.
        dtype: String,
        /// What the variant said (boxed: errors stay small on the happy path).
        source: Box<softmax_lab_core::VariantError>,
    },
    /// A generator produced NaN: a bug in the generator, never silently scored.
    #[error(
        "scenario '{scenario}': generator '{generator}' produced NaN (a bug in the generator)"
    )]
    GeneratorNaN {
        /// The scenario name.
        scenario: String,
        /// The generator label.
        generator: String,
    },
    /// The training study failed (a dataset, a model or an optimiser step).
    #[error("scenario '{scenario}': training: {message}")]
    Training {
        /// The scenario name.
        scenario: String,
        /// What went wrong.
        message: String,
    },
    /// A results file of an earlier scenario that a measurement needs is unreadable.
    #[error("{path}: cannot read results: {message}")]
    Results {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A results file that could not be written.
    #[error("{path}: cannot write: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}
