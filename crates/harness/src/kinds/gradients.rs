//! `kind = "gradients"`: every variant's VJP against the exact one, finite
//! differences and candle ([`crate::measure_gradients`]). Takes the point fields
//! and `tiny_grad_threshold`.

use std::sync::Arc;

use softmax_lab_core::{Family, Registry, Variant};

use super::points::{measure_points, Point};
use super::{main_records, per_variant, short, worst, Field, MeasurementKind};
use crate::generate;
use crate::limits::Term;
use crate::measure_gradients::{self, GradientRecord};
use crate::results::{ColumnType, Record, Table};
use crate::run::RunOptions;
use crate::scenario::{Dist, Kind, Scenario, ScenarioError, Section};
use crate::HarnessError;

/// The default of `tiny_grad_threshold` (kept in every point scenario's results).
pub const DEFAULT_TINY_GRAD_THRESHOLD: f64 = 1e-8;

/// The gradients kind.
pub struct Gradients;

impl MeasurementKind for Gradients {
    fn kind(&self) -> Kind {
        Kind::Gradients
    }

    fn fields(&self) -> &'static [Field] {
        &[
            Field::Variants,
            Field::Families,
            Field::Dtypes,
            Field::N,
            Field::Generators,
            Field::Rows,
            Field::Sweep,
            Field::Quick,
            Field::QuickRows,
            Field::TinyGradThreshold,
        ]
    }

    /// `tiny_grad_threshold`: finite and >= 0.
    fn parse(
        &self,
        section: &Section,
        full: &mut Scenario,
        quick: &mut Scenario,
    ) -> Result<(), ScenarioError> {
        if let Some(s) = &section.raw.tiny_grad_threshold {
            let t = *s.get_ref();
            if !(t.is_finite() && t >= 0.0) {
                return Err(section.cx.err(
                    s.span(),
                    format!("`tiny_grad_threshold` must be finite and >= 0, got {t}"),
                ));
            }
            full.tiny_grad_threshold = t;
            quick.tiny_grad_threshold = t;
        }
        Ok(())
    }

    fn memory_terms(&self, s: &Scenario, _llc_bytes: u64, consider: &mut dyn FnMut(u64, Term)) {
        crate::limits::rows_terms(s, crate::limits::GRAD_BYTES_PER_ELEM, consider);
    }

    fn main_columns(&self) -> Vec<(&'static str, ColumnType)> {
        GradientRecord::columns()
    }

    fn measure(
        &self,
        s: &Scenario,
        registry: &Registry,
        opts: &RunOptions,
    ) -> Result<Vec<Table>, HarnessError> {
        let candle: Vec<Arc<dyn Variant>> = registry
            .family(Family::Candle)
            .filter(|v| v.info().has_backward)
            .cloned()
            .collect();
        // The upstream gradient of a point: Normal(0, 1) from its own stream.
        let dy = |p: &Point| {
            let mut d = generate::stream(s.seed, &[p.generator as u64, p.n as u64, 1]);
            let normal = Dist::Normal {
                mean: 0.0,
                std: 1.0,
            };
            generate::generate(&normal, p.dtype, p.n, s.rows, 1.0, &mut d).unwrap_or_default()
        };
        let main =
            measure_points(
                s,
                registry,
                opts,
                &self.main_columns(),
                dy,
                |variants, input, dy| {
                    Ok(measure_gradients::measure(
                        variants,
                        &candle,
                        input,
                        dy,
                        s.tiny_grad_threshold,
                    )?
                    .iter()
                    .map(Record::cells)
                    .collect())
                },
            )?;
        Ok(vec![main])
    }

    /// Per variant: the median VJP norm at the smallest and the largest scale, and
    /// the worst normwise error against the exact VJP.
    fn summarize(&self, s: &Scenario, tables: &[Table]) -> Vec<String> {
        let records: Vec<GradientRecord> = main_records(tables);
        per_variant(
            s,
            &records,
            |r| &r.key.variant,
            |id, rows| {
                let by_scale = |pick: fn(&[f64]) -> f64| {
                    let scales: Vec<f64> = rows.iter().map(|r| r.key.scale).collect();
                    let target = pick(&scales);
                    let norms: Vec<f64> = rows
                        .iter()
                        .filter(|r| r.key.scale == target)
                        .map(|r| r.vjp_norm_median)
                        .collect();
                    (target, crate::stats::median(&norms))
                };
                let lo = by_scale(|v| v.iter().copied().fold(f64::INFINITY, f64::min));
                let hi = by_scale(|v| v.iter().copied().fold(f64::NEG_INFINITY, f64::max));
                if rows.iter().all(|r| !r.has_backward) {
                    format!("{id:<24} no backward")
                } else {
                    format!(
                        "{id:<24} median vjp norm {:>9} at scale {} -> {:>9} at scale {}; \
                         worst vs reference {}",
                        short(lo.1),
                        short(lo.0),
                        short(hi.1),
                        short(hi.0),
                        short(worst(rows.iter().map(|r| r.vjp_normwise)))
                    )
                }
            },
        )
    }
}
