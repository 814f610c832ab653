//! `kind = "training"`: output heads trained on real data sets
//! ([`crate::measure_training`]). Owns the `[training]` section (parsed and
//! checked by `softmax-lab-training`, its quick overrides in `[training.quick]`);
//! takes none of the point fields.

use softmax_lab_core::Registry;

use super::{main_records, short, Field, MeasurementKind};
use crate::results::records::TrainingRecord;
use crate::results::{ColumnType, Record, Table};
use crate::run::RunOptions;
use crate::scenario::{Kind, Scenario, ScenarioError, Section};
use crate::HarnessError;

/// The training kind.
pub struct Training;

impl MeasurementKind for Training {
    fn kind(&self) -> Kind {
        Kind::Training
    }

    fn fields(&self) -> &'static [Field] {
        &[Field::Training]
    }

    fn quick_form(&self) -> &'static str {
        " (put quick overrides in `[training.quick]`)"
    }

    /// The `[training]` section (required), in its full and quick forms.
    fn parse(
        &self,
        section: &Section,
        full: &mut Scenario,
        quick: &mut Scenario,
    ) -> Result<(), ScenarioError> {
        let cx = &section.cx;
        let Some(t) = &section.raw.training else {
            return Err(cx.err(
                section.raw.kind.span(),
                "kind = \"training\" needs a `[training]` section (see scenarios/README.md)",
            ));
        };
        let spec = |quick: bool| t.validate(quick).map_err(|e| cx.err(e.span, e.message));
        full.training = Some(spec(false)?);
        quick.training = Some(spec(true)?);
        Ok(())
    }

    fn main_columns(&self) -> Vec<(&'static str, ColumnType)> {
        TrainingRecord::columns()
    }

    fn measure(
        &self,
        s: &Scenario,
        _registry: &Registry,
        _opts: &RunOptions,
    ) -> Result<Vec<Table>, HarnessError> {
        let Some(spec) = &s.training else {
            return Ok(vec![Table::new(s.kind.name(), &self.main_columns())]);
        };
        crate::measure_training::measure(&s.name, spec, s.seed)
    }

    /// Per dataset and head, the final-epoch accuracy and log-loss over every
    /// seed, model and standardisation.
    fn summarize(&self, _s: &Scenario, tables: &[Table]) -> Vec<String> {
        let records: Vec<TrainingRecord> = main_records(tables);
        let Some(last) = records.iter().map(|r| r.epoch).max() else {
            return Vec::new();
        };
        let mut keys: Vec<(&str, &str)> = Vec::new();
        for r in &records {
            let k = (r.dataset.as_str(), r.head.as_str());
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        keys.iter()
            .map(|&(d, h)| {
                let at_end: Vec<&TrainingRecord> = records
                    .iter()
                    .filter(|r| r.dataset == d && r.head == h && r.epoch == last)
                    .collect();
                let acc: Vec<f64> = at_end.iter().map(|r| r.accuracy).collect();
                let loss: Vec<f64> = at_end.iter().map(|r| r.log_loss).collect();
                format!(
                    "{:<14} {:<16} final accuracy {:>7} log-loss {:>7} ({} runs)",
                    d,
                    h,
                    short(crate::stats::median(&acc)),
                    short(crate::stats::median(&loss)),
                    at_end.len()
                )
            })
            .collect()
    }
}
