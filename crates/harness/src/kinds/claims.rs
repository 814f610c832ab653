//! `kind = "claims"`: a verdict on every claim of the study
//! ([`crate::claims`]), computed from measurements of its own and from the
//! results the other scenarios of the run wrote (so its scenarios run last). A
//! claims scenario takes nothing but its name, description and seed.

use softmax_lab_core::Registry;

use super::{main_records, Field, MeasurementKind};
use crate::claims::ClaimRecord;
use crate::results::{ColumnType, Table};
use crate::run::RunOptions;
use crate::scenario::{Kind, Scenario};
use crate::HarnessError;

/// The claims kind.
pub struct Claims;

impl MeasurementKind for Claims {
    fn kind(&self) -> Kind {
        Kind::Claims
    }

    fn fields(&self) -> &'static [Field] {
        &[]
    }

    fn main_columns(&self) -> Vec<(&'static str, ColumnType)> {
        <crate::claims::ClaimRecord as crate::results::Record>::columns()
    }

    /// Reads the results of the run's other scenarios from `<out_dir>/results/`.
    fn measure(
        &self,
        s: &Scenario,
        registry: &Registry,
        opts: &RunOptions,
    ) -> Result<Vec<Table>, HarnessError> {
        crate::claims::measure(s, registry, &opts.out_dir.join("results"))
    }

    /// One line per claim: its id, verdict and evidence.
    fn summarize(&self, _s: &Scenario, tables: &[Table]) -> Vec<String> {
        let records: Vec<ClaimRecord> = main_records(tables);
        records
            .iter()
            .map(|r| format!("{:<4} {:<20} {}", r.claim, r.verdict, r.evidence))
            .collect()
    }

    fn runs_last(&self) -> bool {
        true
    }
}
