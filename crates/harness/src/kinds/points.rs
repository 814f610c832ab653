//! The machinery shared by the kinds that measure variants at points (accuracy,
//! overflow, gradients): the points of a scenario are its n × generator × scale ×
//! dtype combinations; each is generated once and shared by every variant and
//! temperature. Points run on worker threads, but every point's inputs come from
//! its own seeded stream and every row lands in a fixed order, so results do not
//! depend on scheduling.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use indicatif::{ProgressBar, ProgressStyle};
use softmax_lab_core::{DType, Registry, Variant};

use crate::generate::{self, Input};
use crate::results::{ColumnType, Table, Value};
use crate::run::{applies, RunOptions};
use crate::scenario::Scenario;
use crate::HarnessError;

/// One point of a scenario, as a kind's per-point preparation sees it.
#[derive(Clone, Copy, Debug)]
pub struct Point {
    /// Index of the generator in the scenario's list.
    pub generator: usize,
    /// Row length.
    pub n: usize,
    /// The dtype.
    pub dtype: DType,
}

/// The rows of one point, each with its sort key (variant, dtype, n, generator,
/// temperature, scale — as indices into the scenario's lists).
type Keyed = Vec<([usize; 6], Vec<Value>)>;

/// Measure every point of `s` and return the main table (named after the kind,
/// with `columns`), its rows in variant, dtype, n, generator, temperature, scale
/// order. `prepare` runs once per point (what the kind needs besides the input,
/// such as an upstream gradient); `measure` runs once per point and temperature
/// with the variants that apply there, and returns one row per variant.
pub fn measure_points<T>(
    s: &Scenario,
    registry: &Registry,
    opts: &RunOptions,
    columns: &[(&'static str, ColumnType)],
    prepare: impl Fn(&Point) -> T + Sync,
    measure: impl Fn(&[Arc<dyn Variant>], &Input, &T) -> Result<Vec<Vec<Value>>, HarnessError> + Sync,
) -> Result<Table, HarnessError> {
    let variants: Vec<Arc<dyn Variant>> = s
        .variants
        .iter()
        .map(|id| registry.get(id))
        .collect::<Result<_, _>>()
        .map_err(|e| HarnessError::Variant {
            scenario: s.name.clone(),
            variant: String::new(),
            dtype: String::new(),
            source: Box::new(e),
        })?;

    let mut points = Vec::new();
    for ni in 0..s.n.len() {
        for gi in 0..s.generators.len() {
            for si in 0..s.scale.len() {
                for di in 0..s.dtypes.len() {
                    points.push([ni, gi, si, di]);
                }
            }
        }
    }

    let bar = if opts.progress {
        let b = ProgressBar::new(points.len() as u64);
        if let Ok(style) =
            ProgressStyle::with_template("{prefix:>24} [{bar:30}] {pos}/{len} points {elapsed}")
        {
            b.set_style(style.progress_chars("=> "));
        }
        b.set_prefix(s.name.clone());
        b
    } else {
        ProgressBar::hidden()
    };

    let run_point = |&[ni, gi, si, di]: &[usize; 4]| -> Result<Keyed, HarnessError> {
        let (n, gen, scale, dtype) = (s.n[ni], &s.generators[gi], s.scale[si], s.dtypes[di]);
        let mut rng = generate::stream(s.seed, &[gi as u64, n as u64, 0]);
        let x = generate::generate(&gen.dist, dtype, n, s.rows, scale, &mut rng).map_err(|e| {
            HarnessError::Variant {
                scenario: s.name.clone(),
                variant: String::new(),
                dtype: dtype.name().into(),
                source: Box::new(softmax_lab_core::VariantError::Backend {
                    variant: gen.name.clone(),
                    message: e.to_string(),
                }),
            }
        })?;
        if x.iter().any(|v| v.is_nan()) {
            return Err(HarnessError::GeneratorNaN {
                scenario: s.name.clone(),
                generator: gen.name.clone(),
            });
        }
        let prepared = prepare(&Point {
            generator: gi,
            n,
            dtype,
        });
        let mut out = Keyed::new();
        for (ti, &t) in s.temperature.iter().enumerate() {
            let run: Vec<(usize, Arc<dyn Variant>)> = variants
                .iter()
                .enumerate()
                .filter(|(_, v)| applies(v.as_ref(), dtype, t))
                .map(|(i, v)| (i, v.clone()))
                .collect();
            if run.is_empty() {
                continue;
            }
            let (idx, vs): (Vec<usize>, Vec<Arc<dyn Variant>>) = run.into_iter().unzip();
            let input = Input {
                scenario: s.name.clone(),
                kind: s.kind,
                dtype,
                n,
                rows: s.rows,
                generator: gen.name.clone(),
                scale,
                temperature: t,
                x: x.clone(),
                flush_subnormals: s.flush_subnormals,
            };
            let rows = measure(&vs, &input, &prepared)?;
            for (vi, row) in idx.into_iter().zip(rows) {
                out.push(([vi, di, ni, gi, ti, si], row));
            }
        }
        Ok(out)
    };

    let workers = if opts.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        opts.threads
    }
    .clamp(1, points.len().max(1));
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<Option<Result<Keyed, HarnessError>>>> =
        Mutex::new((0..points.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= points.len() || failed.load(Ordering::Relaxed) {
                    break;
                }
                let r = run_point(&points[i]);
                if r.is_err() {
                    failed.store(true, Ordering::Relaxed);
                }
                if let Ok(mut slots) = results.lock() {
                    slots[i] = Some(r);
                }
                bar.inc(1);
            });
        }
    });
    bar.finish_and_clear();

    let slots = results.into_inner().unwrap_or_default();
    let mut keyed = Keyed::new();
    for slot in slots.into_iter().flatten() {
        keyed.extend(slot?);
    }
    keyed.sort_by_key(|(k, _)| *k);
    let mut main = Table::new(s.kind.name(), columns);
    for (_, row) in keyed {
        main.push(row);
    }
    Ok(main)
}
