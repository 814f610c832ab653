//! The measurement kinds, one module each behind [`MeasurementKind`]: a kind owns
//! the scenario fields only it takes (their parsing and located errors), its
//! measurement, its main table's columns and its terminal summary.
//!
//! [`KINDS`] is the registration list (one line per kind); everything that used to
//! branch on [`Kind`] asks [`of`] for the kind's implementation instead. [`Kind`]
//! itself stays in `softmax-lab-results`: it is the vocabulary of results files.
//!
//! The common header of a scenario file (name, description, kind, seed, variants,
//! dtypes, n, rows, generators, sweeps, `[quick]`) is parsed in
//! [`crate::scenario`]; a kind says which of those fields it takes
//! ([`MeasurementKind::fields`]), and a field given to a kind that does not take it
//! is an error naming the kinds that do (derived from this list).

use std::ops::Range;

use softmax_lab_core::Registry;

use crate::limits::Term;
use crate::results::{ColumnType, Table};
use crate::run::RunOptions;
use crate::scenario::{Kind, Scenario, ScenarioError, Section};
use crate::HarnessError;

pub mod accuracy;
pub mod claims;
pub mod gradients;
pub mod overflow;
pub mod points;
pub mod throughput;
pub mod training;

/// One measurement kind: what it reads from a scenario file, how it measures,
/// what its main table holds and how its findings are summed up.
pub trait MeasurementKind: Sync {
    /// The kind (its name in scenario files and results).
    fn kind(&self) -> Kind;

    /// The fields of the scenario file this kind takes (beyond name, description,
    /// kind and seed); any other field given is an error.
    fn fields(&self) -> &'static [Field];

    /// Whether every variant it runs needs a per-output reference (a variant
    /// computing a random sample is then an error by id and left out by family).
    fn needs_reference(&self) -> bool {
        true
    }

    /// For a kind that takes no `[quick]`: how its quick form is made, appended to
    /// the error for a `[quick]` table.
    fn quick_form(&self) -> &'static str {
        " (its quick form is built in)"
    }

    /// Parse the fields only this kind takes into both forms; `full` and `quick`
    /// hold the common header already resolved.
    fn parse(
        &self,
        _section: &Section,
        _full: &mut Scenario,
        _quick: &mut Scenario,
    ) -> Result<(), ScenarioError> {
        Ok(())
    }

    /// Where a size term of the memory estimate that belongs to this kind's own
    /// fields is written: the field's name and, where known, its span (for the
    /// error of a scenario that does not fit in memory).
    fn size_field(
        &self,
        _section: &Section,
        _quick: bool,
        _term: Term,
    ) -> Option<(&'static str, Option<Range<usize>>)> {
        None
    }

    /// The size terms of its peak-memory estimate
    /// ([`crate::limits::estimate`]): calls `consider(bytes, term)` for each
    /// allocation that may dominate; `llc_bytes` is the last-level cache size. A
    /// kind that allocates nothing in proportion to its fields adds none.
    fn memory_terms(&self, _s: &Scenario, _llc_bytes: u64, _consider: &mut dyn FnMut(u64, Term)) {}

    /// The columns of its main table.
    fn main_columns(&self) -> Vec<(&'static str, ColumnType)>;

    /// Run its measurements and return its tables, the main table first.
    fn measure(
        &self,
        s: &Scenario,
        registry: &Registry,
        opts: &RunOptions,
    ) -> Result<Vec<Table>, HarnessError>;

    /// A few lines that sum up the findings in `tables` (printed after the run).
    fn summarize(&self, s: &Scenario, tables: &[Table]) -> Vec<String>;

    /// Whether its scenarios run after all others of a run (it reads their results).
    fn runs_last(&self) -> bool {
        false
    }
}

/// Every kind, one line each, in the order of [`Kind::ALL`] (the order the
/// allowed values are listed in errors).
pub static KINDS: [&dyn MeasurementKind; 6] = [
    &accuracy::Accuracy,
    &overflow::Overflow,
    &gradients::Gradients,
    &throughput::Throughput,
    &training::Training,
    &claims::Claims,
];

/// The implementation of `kind`.
pub fn of(kind: Kind) -> &'static dyn MeasurementKind {
    match KINDS.iter().find(|k| k.kind() == kind) {
        Some(k) => *k,
        // Every kind is registered (checked by a test below).
        None => panic!("kind '{}' is not registered in kinds::KINDS", kind.name()),
    }
}

/// The kind named `name` in a scenario file.
pub fn by_name(name: &str) -> Option<&'static dyn MeasurementKind> {
    KINDS.iter().find(|k| k.kind().name() == name).copied()
}

/// A field of a scenario file that only some kinds take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// `variants`.
    Variants,
    /// `families`.
    Families,
    /// `dtypes`.
    Dtypes,
    /// `n`.
    N,
    /// `[[generators]]`.
    Generators,
    /// `rows`.
    Rows,
    /// `[sweep]`.
    Sweep,
    /// `[throughput]`.
    Throughput,
    /// `[training]`.
    Training,
    /// `[quick]` at all (with `quick.n`).
    Quick,
    /// The throughput overrides of `[quick]` (and `quick.dtypes`).
    QuickThroughput,
    /// `quick.rows` and `quick.sweep`.
    QuickRows,
    /// `tiny_grad_threshold`.
    TinyGradThreshold,
    /// `flush_subnormals`.
    FlushSubnormals,
    /// `[[claims]]`: the claim statements of a claims scenario.
    Claims,
}

impl Field {
    /// Every field, in the order a file is checked.
    pub const ALL: [Field; 15] = [
        Field::Variants,
        Field::Families,
        Field::Dtypes,
        Field::N,
        Field::Generators,
        Field::Rows,
        Field::Sweep,
        Field::Throughput,
        Field::Training,
        Field::Quick,
        Field::QuickThroughput,
        Field::QuickRows,
        Field::TinyGradThreshold,
        Field::FlushSubnormals,
        Field::Claims,
    ];

    /// The field as errors name it.
    pub fn name(self) -> &'static str {
        match self {
            Field::Variants => "variants",
            Field::Families => "families",
            Field::Dtypes => "dtypes",
            Field::N => "n",
            Field::Generators => "generators",
            Field::Rows => "rows",
            Field::Sweep => "sweep",
            Field::Throughput => "[throughput]",
            Field::Training => "[training]",
            Field::Quick => "[quick]",
            Field::QuickThroughput => {
                "quick.samples/max_seconds_per_case/bytes_per_case/hsoftmax_vocab/shards/\
                 out_of_cache_n/dtypes"
            }
            Field::QuickRows => "quick.rows/quick.sweep",
            Field::TinyGradThreshold => "tiny_grad_threshold",
            Field::FlushSubnormals => "flush_subnormals",
            Field::Claims => "[[claims]]",
        }
    }

    /// The error for this field given to `kind`, which does not take it.
    pub fn misplaced(self, kind: &dyn MeasurementKind) -> String {
        let takers: Vec<&str> = KINDS
            .iter()
            .filter(|k| k.fields().contains(&self))
            .map(|k| k.kind().name())
            .collect();
        let name = kind.kind().name();
        match self {
            Field::Quick => format!(
                "`{}` does not apply to kind = \"{name}\"{}",
                self.name(),
                kind.quick_form()
            ),
            // Single scalar fields of one or two kinds.
            Field::TinyGradThreshold | Field::FlushSubnormals | Field::Claims => {
                let quoted: Vec<String> = takers.iter().map(|k| format!("\"{k}\"")).collect();
                format!(
                    "`{}` applies only to kind = {}, not \"{name}\"",
                    self.name(),
                    quoted.join(" or ")
                )
            }
            _ => format!(
                "`{}` does not apply to kind = \"{name}\" (it applies to {})",
                self.name(),
                and_list(&takers)
            ),
        }
    }
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The fields of the kinds that measure variants at points of generated rows.
pub const POINT_FIELDS: &[Field] = &[
    Field::Variants,
    Field::Families,
    Field::Dtypes,
    Field::N,
    Field::Generators,
    Field::Rows,
    Field::Sweep,
    Field::Quick,
    Field::QuickRows,
];

// ---------------------------------------------------------------------------------
// Helpers of the summaries.

/// The main table's rows as records of type `R`: none when there is no main table
/// or it does not read as `R` (a summary then prints nothing).
pub(crate) fn main_records<R: crate::results::Record>(tables: &[Table]) -> Vec<R> {
    tables
        .first()
        .and_then(|t| t.records().ok())
        .unwrap_or_default()
}

/// A figure for a summary line: 3 decimals in a readable range, else scientific.
pub(crate) fn short(v: f64) -> String {
    if v.is_nan() {
        "-".into()
    } else if v == 0.0 || v.is_infinite() {
        crate::results::format_float(v)
    } else if (1e-2..1e4).contains(&v.abs()) {
        format!("{v:.3}")
    } else {
        format!("{v:.2e}")
    }
}

/// The largest non-NaN value (NaN if none).
pub(crate) fn worst(values: impl Iterator<Item = f64>) -> f64 {
    values.filter(|v| !v.is_nan()).fold(f64::NAN, f64::max)
}

/// One summary line per variant of the scenario that has records, in the
/// scenario's order; `line` gets the variant id and its records.
pub(crate) fn per_variant<R>(
    s: &Scenario,
    records: &[R],
    variant: impl Fn(&R) -> &str,
    line: impl Fn(&str, &[&R]) -> String,
) -> Vec<String> {
    s.variants
        .iter()
        .filter_map(|id| {
            let rows: Vec<&R> = records.iter().filter(|r| variant(r) == id).collect();
            (!rows.is_empty()).then(|| line(id, &rows))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_registered_once_in_the_order_of_kind_all() {
        let registered: Vec<Kind> = KINDS.iter().map(|k| k.kind()).collect();
        assert_eq!(registered, Kind::ALL);
        for kind in Kind::ALL {
            assert_eq!(of(kind).kind(), kind);
            assert_eq!(by_name(kind.name()).map(|k| k.kind()), Some(kind));
        }
    }

    #[test]
    fn misplaced_fields_name_the_kinds_that_take_them() {
        assert_eq!(
            Field::N.misplaced(of(Kind::Claims)),
            "`n` does not apply to kind = \"claims\" (it applies to accuracy, overflow, \
             gradients and throughput)"
        );
        assert_eq!(
            Field::FlushSubnormals.misplaced(of(Kind::Gradients)),
            "`flush_subnormals` applies only to kind = \"accuracy\" or \"overflow\", not \
             \"gradients\""
        );
        assert_eq!(and_list(&["a", "b"]), "a and b");
    }
}
