//! `kind = "accuracy"`: errors of every variant against the exact reference at
//! every point ([`crate::measure_accuracy`]). Takes the point fields and
//! `flush_subnormals`.

use softmax_lab_core::Registry;

use super::points::measure_points;
use super::{main_records, per_variant, short, worst, Field, MeasurementKind};
use crate::limits::Term;
use crate::measure_accuracy::{self, AccuracyRecord};
use crate::results::{ColumnType, Record, Table};
use crate::run::RunOptions;
use crate::scenario::{Kind, Scenario, ScenarioError, Section};
use crate::HarnessError;

/// The accuracy kind.
pub struct Accuracy;

/// The fields of accuracy and overflow: the point fields and `flush_subnormals`.
pub(crate) const SCORED_FIELDS: &[Field] = &[
    Field::Variants,
    Field::Families,
    Field::Dtypes,
    Field::N,
    Field::Generators,
    Field::Rows,
    Field::Sweep,
    Field::Quick,
    Field::QuickRows,
    Field::FlushSubnormals,
];

/// `flush_subnormals` (default false), into both forms.
pub(crate) fn parse_flush_subnormals(
    section: &Section,
    full: &mut Scenario,
    quick: &mut Scenario,
) -> Result<(), ScenarioError> {
    let flush = match &section.raw.flush_subnormals {
        None => false,
        Some(s) if *s.get_ref() && !softmax_lab_core::fpenv::FlushGuard::supported() => {
            return Err(section.cx.err(
                s.span(),
                "`flush_subnormals = true` needs x86_64 (flush-to-zero and \
                 denormals-are-zero are set through its MXCSR register)",
            ))
        }
        Some(s) => *s.get_ref(),
    };
    full.flush_subnormals = flush;
    quick.flush_subnormals = flush;
    Ok(())
}

impl MeasurementKind for Accuracy {
    fn kind(&self) -> Kind {
        Kind::Accuracy
    }

    fn fields(&self) -> &'static [Field] {
        SCORED_FIELDS
    }

    fn parse(
        &self,
        section: &Section,
        full: &mut Scenario,
        quick: &mut Scenario,
    ) -> Result<(), ScenarioError> {
        parse_flush_subnormals(section, full, quick)
    }

    fn memory_terms(&self, s: &Scenario, _llc_bytes: u64, consider: &mut dyn FnMut(u64, Term)) {
        crate::limits::rows_terms(s, crate::limits::ROW_BYTES_PER_ELEM, consider);
    }

    fn main_columns(&self) -> Vec<(&'static str, ColumnType)> {
        AccuracyRecord::columns()
    }

    fn measure(
        &self,
        s: &Scenario,
        registry: &Registry,
        opts: &RunOptions,
    ) -> Result<Vec<Table>, HarnessError> {
        let main = measure_points(
            s,
            registry,
            opts,
            &self.main_columns(),
            |_| (),
            |variants, input, ()| {
                Ok(measure_accuracy::measure(variants, input)?
                    .iter()
                    .map(Record::cells)
                    .collect())
            },
        )?;
        Ok(vec![main])
    }

    /// Per variant: the worst ULP and normwise errors, next to the bound.
    fn summarize(&self, s: &Scenario, tables: &[Table]) -> Vec<String> {
        let records: Vec<AccuracyRecord> = main_records(tables);
        per_variant(
            s,
            &records,
            |r| &r.key.variant,
            |id, rows| {
                format!(
                    "{id:<24} worst max_ulp {:>9}  worst normwise {:>9}  (bound {:>9})",
                    short(worst(rows.iter().map(|r| r.max_ulp))),
                    short(worst(rows.iter().map(|r| r.normwise))),
                    short(worst(rows.iter().map(|r| r.bound)))
                )
            },
        )
    }
}
