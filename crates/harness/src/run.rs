//! Running scenarios: resolve the files, validate every one before running any,
//! measure each point (in parallel, deterministically), write the results.
//!
//! The points of a scenario are its n × generator × scale × dtype combinations;
//! each is generated once and shared by every variant and temperature. Points run
//! on worker threads, but every point's inputs come from its own seeded stream and
//! every row lands in a fixed order, so results do not depend on scheduling.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use softmax_lab_core::{DType, Family, Registry, Variant};

use crate::generate::{self, Input};
use crate::machine::Machine;
use crate::measure_overflow::onset_table;
use crate::results::{Record, Results, Table, Value, VariantFacts, SCHEMA_VERSION};
use crate::scenario::{self, Kind, Scenario, ScenarioFile};
use crate::{measure_accuracy, measure_gradients, measure_overflow, HarnessError};

/// How to run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Use each scenario's quick form.
    pub quick: bool,
    /// Results go to `<out_dir>/results/`.
    pub out_dir: PathBuf,
    /// Draw a progress bar on stderr (drawn only when stderr is a terminal).
    pub progress: bool,
    /// Worker threads (0: one per available core).
    pub threads: usize,
}

/// What running one scenario produced.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The scenario name.
    pub name: String,
    /// Its kind.
    pub kind: Kind,
    /// Rows of its main table.
    pub records: usize,
    /// The files written, JSON last.
    pub files: Vec<PathBuf>,
    /// A few lines that summarise the findings.
    pub summary: Vec<String>,
    /// Wall time, seconds.
    pub elapsed_s: f64,
}

/// The scenario files named by `args`: files as given, directories expanded to their
/// `*.toml` files (sorted). With no arguments, the `*.toml` files of `default_dir`.
pub fn resolve_paths(args: &[PathBuf], default_dir: &Path) -> Result<Vec<PathBuf>, HarnessError> {
    let args: Vec<PathBuf> = if args.is_empty() {
        vec![default_dir.to_path_buf()]
    } else {
        args.to_vec()
    };
    let mut out = Vec::new();
    for a in args {
        let meta = std::fs::metadata(&a).map_err(|source| HarnessError::Read {
            path: a.clone(),
            source,
        })?;
        if meta.is_dir() {
            let entries = std::fs::read_dir(&a).map_err(|source| HarnessError::Read {
                path: a.clone(),
                source,
            })?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
                .collect();
            if found.is_empty() {
                return Err(HarnessError::NoScenarios(a));
            }
            found.sort();
            out.extend(found);
        } else {
            out.push(a);
        }
    }
    Ok(out)
}

/// Parse and validate every file; all errors are returned, none is run. Scenario
/// names must be distinct (their results would overwrite each other). The files
/// come back in the order they run: as given, except that claims scenarios go last,
/// since they read what the others wrote.
pub fn load_all(
    paths: &[PathBuf],
    registry: &Registry,
) -> Result<Vec<ScenarioFile>, Vec<HarnessError>> {
    load_all_with_limits(paths, registry, &crate::limits::Limits::machine())
}

/// [`load_all`] with each scenario's sizes checked against `limits`.
pub fn load_all_with_limits(
    paths: &[PathBuf],
    registry: &Registry,
    limits: &crate::limits::Limits,
) -> Result<Vec<ScenarioFile>, Vec<HarnessError>> {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        match scenario::load_with_limits(p, registry, limits) {
            Ok(f) => {
                if let Some(first) = files
                    .iter()
                    .find(|o: &&ScenarioFile| o.full.name == f.full.name)
                {
                    errors.push(HarnessError::DuplicateName {
                        name: f.full.name.clone(),
                        first: first.full.source.clone(),
                        second: p.clone(),
                    });
                } else {
                    files.push(f);
                }
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        // A stable sort: the given order is kept within each group.
        files.sort_by_key(|f: &ScenarioFile| f.full.kind == Kind::Claims);
        Ok(files)
    } else {
        Err(errors)
    }
}

/// Whether a variant runs at this dtype and temperature (see `scenario`'s rules).
pub fn applies(v: &dyn Variant, dtype: DType, temperature: f64) -> bool {
    let info = v.info();
    info.dtypes.contains(&dtype) && (temperature == 1.0 || info.temperature)
}

/// The rows of one point, each with its sort key (variant, dtype, n, generator,
/// temperature, scale — as indices into the scenario's lists).
type Keyed = Vec<([usize; 6], Vec<Value>)>;

/// The columns of a kind's main table.
pub fn main_columns(kind: Kind) -> Vec<(&'static str, crate::results::ColumnType)> {
    match kind {
        Kind::Accuracy => measure_accuracy::AccuracyRecord::columns(),
        Kind::Overflow => measure_overflow::OverflowRecord::columns(),
        Kind::Gradients => measure_gradients::GradientRecord::columns(),
        Kind::Throughput => crate::measure_throughput::COLUMNS.to_vec(),
        Kind::Training => crate::results::records::TrainingRecord::columns(),
        Kind::Claims => crate::measure_claims::COLUMNS.to_vec(),
    }
}

/// Run the measurements of one scenario and return its tables (the main table
/// first). Nothing is written.
pub fn measure_scenario(
    s: &Scenario,
    registry: &Registry,
    opts: &RunOptions,
) -> Result<Vec<Table>, HarnessError> {
    match s.kind {
        Kind::Accuracy | Kind::Overflow | Kind::Gradients => {}
        Kind::Throughput => {
            return crate::measure_throughput::measure(s, registry, opts.progress);
        }
        Kind::Training => {
            let Some(spec) = &s.training else {
                return Ok(vec![Table::new(s.kind.name(), &main_columns(s.kind))]);
            };
            return crate::measure_training::measure(&s.name, spec, s.seed);
        }
        Kind::Claims => {
            return crate::measure_claims::measure(s, registry, &opts.out_dir.join("results"));
        }
    }
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
    let candle: Vec<Arc<dyn Variant>> = registry
        .family(Family::Candle)
        .filter(|v| v.info().has_backward)
        .cloned()
        .collect();

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
        let dy = if s.kind == Kind::Gradients {
            let d = generate::stream(s.seed, &[gi as u64, n as u64, 1]);
            let normal = crate::scenario::Dist::Normal {
                mean: 0.0,
                std: 1.0,
            };
            let mut d = d;
            generate::generate(&normal, dtype, n, s.rows, 1.0, &mut d).unwrap_or_default()
        } else {
            Vec::new()
        };
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
            let rows: Vec<Vec<Value>> = match s.kind {
                Kind::Accuracy => measure_accuracy::measure(&vs, &input)?
                    .iter()
                    .map(|r| r.cells())
                    .collect(),
                Kind::Overflow => measure_overflow::measure(&vs, &input)?
                    .iter()
                    .map(|r| r.cells())
                    .collect(),
                Kind::Gradients => {
                    measure_gradients::measure(&vs, &candle, &input, &dy, s.tiny_grad_threshold)?
                        .iter()
                        .map(|r| r.cells())
                        .collect()
                }
                // Measured above, not per point.
                Kind::Throughput | Kind::Training | Kind::Claims => Vec::new(),
            };
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
    let mut main = Table::new(s.kind.name(), &main_columns(s.kind));
    for (_, row) in keyed {
        main.push(row);
    }
    let mut tables = vec![main];
    if s.kind == Kind::Overflow {
        tables.push(onset_table(&tables[0]));
    }
    Ok(tables)
}

/// Run one scenario and write its results under `<out_dir>/results/`.
pub fn run_scenario(
    s: &Scenario,
    registry: &Registry,
    opts: &RunOptions,
) -> Result<Outcome, HarnessError> {
    let start = Instant::now();
    let tables = measure_scenario(s, registry, opts)?;
    let elapsed_s = start.elapsed().as_secs_f64();
    let dir = opts.out_dir.join("results");
    std::fs::create_dir_all(&dir).map_err(|source| HarnessError::Write {
        path: dir.clone(),
        source,
    })?;
    let mut results = Results {
        schema_version: SCHEMA_VERSION,
        scenario: serde_json::to_value(s).unwrap_or_default(),
        machine: Machine {
            simd_isa: softmax_lab_simd::Isa::active().name().into(),
            ..Machine::detect()
        },
        elapsed_s,
        variants: variant_facts(&tables, registry),
        tables: tables.clone(),
        generation: String::new(),
        files: Vec::new(),
    };
    let files = results.write(&dir).map_err(|e| HarnessError::Write {
        path: e.path,
        source: e.source,
    })?;
    Ok(Outcome {
        name: s.name.clone(),
        kind: s.kind,
        records: tables.first().map_or(0, |t| t.rows.len()),
        files,
        summary: summarize(s, &tables),
        elapsed_s,
    })
}

/// The family and function of every registered variant that a `variant` column
/// of the tables names (references such as `memcpy` are not variants).
fn variant_facts(tables: &[Table], registry: &Registry) -> Vec<VariantFacts> {
    let mut ids: Vec<&str> = Vec::new();
    for t in tables {
        let Some(c) = t.column("variant") else {
            continue;
        };
        for row in &t.rows {
            if let Value::Text(id) = &row[c] {
                if !ids.contains(&id.as_str()) {
                    ids.push(id);
                }
            }
        }
    }
    ids.sort_unstable();
    ids.into_iter()
        .filter_map(|id| registry.get(id).ok())
        .map(|v| {
            let info = v.info();
            VariantFacts {
                id: info.id.to_string(),
                family: info.family,
                function: info.function,
            }
        })
        .collect()
}

/// Run every scenario (each already validated) in order, except that claims
/// scenarios run last: they read the results the others wrote.
pub fn run_all(
    files: &[ScenarioFile],
    registry: &Registry,
    opts: &RunOptions,
) -> Result<Vec<Outcome>, HarnessError> {
    let mut order: Vec<&ScenarioFile> = files.iter().collect();
    order.sort_by_key(|f| f.full.kind == Kind::Claims);
    order
        .into_iter()
        .map(|f| run_scenario(f.pick(opts.quick), registry, opts))
        .collect()
}

/// The float in column `name` of `row`.
fn cell(t: &Table, row: &[Value], name: &str) -> f64 {
    t.column(name)
        .and_then(|i| row[i].as_f64())
        .unwrap_or(f64::NAN)
}

fn text<'a>(t: &Table, row: &'a [Value], name: &str) -> &'a str {
    match t.column(name).map(|i| &row[i]) {
        Some(Value::Text(s)) => s,
        _ => "",
    }
}

fn short(v: f64) -> String {
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

/// Training: per dataset and head, the final-epoch accuracy and log-loss over
/// every seed, model and standardisation.
fn summarize_training(main: &Table) -> Vec<String> {
    let last = main
        .rows
        .iter()
        .map(|r| cell(main, r, "epoch"))
        .fold(f64::NAN, f64::max);
    let mut keys: Vec<(String, String)> = Vec::new();
    for r in &main.rows {
        let k = (
            text(main, r, "dataset").to_string(),
            text(main, r, "head").to_string(),
        );
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys.iter()
        .map(|(d, h)| {
            let at_end: Vec<&Vec<Value>> = main
                .rows
                .iter()
                .filter(|r| {
                    text(main, r, "dataset") == d
                        && text(main, r, "head") == h
                        && cell(main, r, "epoch") == last
                })
                .collect();
            let acc: Vec<f64> = at_end.iter().map(|r| cell(main, r, "accuracy")).collect();
            let loss: Vec<f64> = at_end.iter().map(|r| cell(main, r, "log_loss")).collect();
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

/// A few lines per scenario: per variant, the figure its kind is about.
fn summarize(s: &Scenario, tables: &[Table]) -> Vec<String> {
    let Some(main) = tables.first() else {
        return Vec::new();
    };
    match s.kind {
        Kind::Claims => {
            return main
                .rows
                .iter()
                .map(|r| {
                    format!(
                        "{:<4} {:<20} {}",
                        text(main, r, "claim"),
                        text(main, r, "verdict"),
                        text(main, r, "evidence")
                    )
                })
                .collect()
        }
        Kind::Training => return summarize_training(main),
        _ => {}
    }
    let mut lines = Vec::new();
    for id in &s.variants {
        let rows: Vec<&Vec<Value>> = main
            .rows
            .iter()
            .filter(|r| text(main, r, "variant") == id)
            .collect();
        if rows.is_empty() {
            continue;
        }
        let worst = |col: &str| {
            rows.iter()
                .map(|r| cell(main, r, col))
                .filter(|v| !v.is_nan())
                .fold(f64::NAN, f64::max)
        };
        let line = match s.kind {
            Kind::Throughput => {
                let best = |threads_one: bool, in_cache: bool, col: &str| {
                    rows.iter()
                        .filter(|r| {
                            text(main, r, "direction") == "forward"
                                && text(main, r, "dtype") == "f32"
                                && (cell(main, r, "threads") == 1.0) == threads_one
                                && matches!(
                                    main.column("in_cache").map(|i| &r[i]),
                                    Some(Value::Bool(b)) if *b == in_cache
                                )
                        })
                        .map(|r| cell(main, r, col))
                        .filter(|v| !v.is_nan())
                        .fold(f64::NAN, f64::max)
                };
                format!(
                    "{id:<24} f32 forward: in cache, 1 thread: best {:>9} elems/s ({:>6}x candle); \
                     out of cache, all threads: {:>6}x memcpy",
                    short(best(true, true, "elems_per_s")),
                    short(best(true, true, "ratio_to_candle")),
                    short(best(false, false, "ratio_to_memcpy")),
                )
            }
            Kind::Training | Kind::Claims => continue,
            Kind::Accuracy => format!(
                "{id:<24} worst max_ulp {:>9}  worst normwise {:>9}  (bound {:>9})",
                short(worst("max_ulp")),
                short(worst("normwise")),
                short(worst("bound"))
            ),
            Kind::Overflow => {
                let onset = tables.get(1);
                let firsts: Vec<String> = s
                    .dtypes
                    .iter()
                    .map(|d| {
                        let first = onset.map_or(f64::NAN, |t| {
                            t.rows
                                .iter()
                                .filter(|r| {
                                    text(t, r, "variant") == id && text(t, r, "dtype") == d.name()
                                })
                                .map(|r| cell(t, r, "first_nonfinite_scale"))
                                .fold(f64::NAN, f64::min)
                        });
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
            }
            Kind::Gradients => {
                let by_scale = |pick: fn(&[f64]) -> f64| {
                    let scales: Vec<f64> = rows.iter().map(|r| cell(main, r, "scale")).collect();
                    let target = pick(&scales);
                    let norms: Vec<f64> = rows
                        .iter()
                        .filter(|r| cell(main, r, "scale") == target)
                        .map(|r| cell(main, r, "vjp_norm_median"))
                        .collect();
                    (target, crate::stats::median(&norms))
                };
                let lo = by_scale(|v| v.iter().copied().fold(f64::INFINITY, f64::min));
                let hi = by_scale(|v| v.iter().copied().fold(f64::NEG_INFINITY, f64::max));
                if rows.iter().all(|r| {
                    matches!(
                        main.column("has_backward").map(|i| &r[i]),
                        Some(Value::Bool(false))
                    )
                }) {
                    format!("{id:<24} no backward")
                } else {
                    format!(
                        "{id:<24} median vjp norm {:>9} at scale {} -> {:>9} at scale {}; worst vs reference {}",
                        short(lo.1),
                        short(lo.0),
                        short(hi.1),
                        short(hi.0),
                        short(worst("vjp_normwise"))
                    )
                }
            }
        };
        lines.push(line);
    }
    lines
}
