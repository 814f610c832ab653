//! `kind = "overflow"`: non-finite and flushed outputs against the scale
//! ([`crate::measure_overflow`]), then the onset table (the first scale at which
//! each appears). Takes the point fields and `flush_subnormals`.

use softmax_lab_core::Registry;

use super::accuracy::{parse_flush_subnormals, SCORED_FIELDS};
use super::points::measure_points;
use super::{main_records, per_variant, short, Field, MeasurementKind};
use crate::limits::Term;
use crate::measure_overflow::{self, onset_table, OnsetRecord, OverflowRecord};
use crate::results::{ColumnType, Record, Table};
use crate::run::RunOptions;
use crate::scenario::{Kind, Scenario, ScenarioError, Section};
use crate::HarnessError;

/// The overflow kind.
pub struct Overflow;

impl MeasurementKind for Overflow {
    fn kind(&self) -> Kind {
        Kind::Overflow
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
        OverflowRecord::columns()
    }

    /// The main table, then "onset".
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
                Ok(measure_overflow::measure(variants, input)?
                    .iter()
                    .map(Record::cells)
                    .collect())
            },
        )?;
        let onset = onset_table(&main);
        Ok(vec![main, onset])
    }

    /// Per variant and dtype: the smallest scale with a non-finite output.
    fn summarize(&self, s: &Scenario, tables: &[Table]) -> Vec<String> {
        let records: Vec<OverflowRecord> = main_records(tables);
        let onsets = tables
            .get(1)
            .map(|t| t.records::<OnsetRecord>().unwrap_or_default())
            .unwrap_or_default();
        per_variant(
            s,
            &records,
            |r| &r.key.variant,
            |id, _| {
                let firsts: Vec<String> = s
                    .dtypes
                    .iter()
                    .map(|&d| {
                        let first = onsets
                            .iter()
                            .filter(|r| r.variant == id && r.dtype == d)
                            .map(|r| r.first_nonfinite_scale)
                            .fold(f64::NAN, f64::min);
                        format!(
                            "{} {}",
                            d.name(),
                            if first.is_nan() {
                                "never".into()
                            } else {
                                short(first)
                            }
                        )
                    })
                    .collect();
                format!("{id:<24} first non-finite at scale: {}", firsts.join(", "))
            },
        )
    }
}
