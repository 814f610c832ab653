//! Running scenarios: resolve the files, validate every one before running any,
//! measure each with its kind ([`crate::kinds`]), write the results.

use std::path::{Path, PathBuf};
use std::time::Instant;

use softmax_lab_core::{Buffer, DType, Family, Options, Registry, Variant, VariantError};

use crate::kinds;
use crate::machine::Machine;
use crate::results::{Failure, Results, SourceFacts, Table, Value, VariantFacts, SCHEMA_VERSION};
use crate::scenario::{self, Kind, Scenario, ScenarioFile};
use crate::HarnessError;

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
    /// External variants that failed or were unavailable (their rows are absent;
    /// the other variants ran). Also in the results file.
    pub failures: Vec<Failure>,
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
        files.sort_by_key(|f: &ScenarioFile| kinds::of(f.full.kind).runs_last());
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

/// The columns of a kind's main table.
pub fn main_columns(kind: Kind) -> Vec<(&'static str, crate::results::ColumnType)> {
    kinds::of(kind).main_columns()
}

/// Run the measurements of one scenario and return its tables (the main table
/// first). Nothing is written.
pub fn measure_scenario(
    s: &Scenario,
    registry: &Registry,
    opts: &RunOptions,
) -> Result<Vec<Table>, HarnessError> {
    kinds::of(s.kind).measure(s, registry, opts)
}

/// Run one scenario and write its results under `<out_dir>/results/`.
///
/// External variants run fresh for each call (their programs start at their
/// first call and are stopped when the run ends). Each answers one small call
/// before anything is measured; one that fails then or during a measurement
/// (a [`HarnessError::Variant`] naming it) is recorded as a [`Failure`], printed
/// on stderr and left out, and the scenario is measured again without it, so
/// the tables hold exactly the variants that answered every call and the files
/// are written once, whole. A built-in variant's error still ends the scenario.
pub fn run_scenario(
    s: &Scenario,
    registry: &Registry,
    opts: &RunOptions,
) -> Result<Outcome, HarnessError> {
    let start = Instant::now();
    let (registry, external) = s.registry(registry);
    let named = s.variants.clone();
    let mut s = s.clone();
    let mut failures: Vec<Failure> = Vec::new();
    for v in &external {
        let id = v.info().id;
        if s.variants.iter().any(|x| x == id) {
            if let Err((dtype, e)) = probe(v, &s.dtypes) {
                drop_failed(&mut s, &mut failures, id, dtype, &e);
            }
        }
    }
    let tables = loop {
        match measure_scenario(&s, &registry, opts) {
            Ok(t) => break t,
            Err(HarnessError::Variant {
                variant,
                dtype,
                source,
                ..
            }) if s.variants.contains(&variant)
                && registry
                    .get(&variant)
                    .is_ok_and(|v| v.info().family == Family::External) =>
            {
                drop_failed(&mut s, &mut failures, &variant, dtype, &source);
            }
            Err(e) => return Err(e),
        }
    };
    let elapsed_s = start.elapsed().as_secs_f64();
    let dir = opts.out_dir.join("results");
    std::fs::create_dir_all(&dir).map_err(|source| HarnessError::Write {
        path: dir.clone(),
        source,
    })?;
    let mut facts = variant_facts(&tables, &registry);
    // Every external variant the scenario named, answered or not (declared ones
    // it did not name are not part of its results).
    for v in &external {
        let info = v.info();
        if named.iter().any(|id| id == info.id) && !facts.iter().any(|f| f.id == info.id) {
            facts.push(VariantFacts {
                id: info.id.to_string(),
                family: info.family,
                function: info.function,
                source: v.source().map(source_facts),
            });
        }
    }
    facts.sort_by(|a, b| a.id.cmp(&b.id));
    let mut results = Results {
        schema_version: SCHEMA_VERSION,
        scenario: serde_json::to_value(&s).unwrap_or_default(),
        machine: Machine {
            simd_isa: softmax_lab_simd::Isa::active().name().into(),
            ..Machine::detect()
        },
        elapsed_s,
        variants: facts,
        failures: failures.clone(),
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
        summary: kinds::of(s.kind).summarize(&s, &tables),
        elapsed_s,
        failures,
    })
}

/// One small forward call (a row [0, 1] in the first of `dtypes` the variant runs
/// in): it starts a program or loads a library, so an unavailable or broken
/// external variant is found before anything is measured.
fn probe(v: &dyn Variant, dtypes: &[DType]) -> Result<(), (String, VariantError)> {
    let Some(&dtype) = dtypes.iter().find(|d| v.info().dtypes.contains(d)) else {
        return Ok(());
    };
    let x = Buffer::from_f64(dtype, &[0.0, 1.0]);
    let mut y = Buffer::zeros(dtype, 2);
    v.forward(x.rows(), 2, &Options::default(), y.rows_mut())
        .map_err(|e| (dtype.name().to_string(), e))
}

/// Record `id`'s failure, print it on stderr and take it out of the scenario.
fn drop_failed(
    s: &mut Scenario,
    failures: &mut Vec<Failure>,
    id: &str,
    dtype: String,
    e: &VariantError,
) {
    let (status, message) = match e {
        VariantError::Unavailable { message, .. } => ("unavailable", message.clone()),
        VariantError::Backend { message, .. } => ("failed", message.clone()),
        other => ("failed", other.to_string()),
    };
    eprintln!(
        "warning: scenario '{}': variant '{id}' {status}{}: {message}; the other variants run",
        s.name,
        if dtype.is_empty() {
            String::new()
        } else {
            format!(" in {dtype}")
        }
    );
    failures.push(Failure {
        variant: id.to_string(),
        dtype,
        status: status.to_string(),
        message,
    });
    s.variants.retain(|v| v != id);
}

fn source_facts(src: softmax_lab_core::Source) -> SourceFacts {
    SourceFacts {
        kind: src.kind,
        declared: src.declared,
        name: src.name,
        versions: src.versions,
        status: src.status.name().to_string(),
        message: src.status.message().to_string(),
    }
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
                source: v.source().map(source_facts),
            }
        })
        .collect()
}

/// Run every scenario (each already validated) in order, except that the kinds
/// that read the results of the others (claims) run last.
pub fn run_all(
    files: &[ScenarioFile],
    registry: &Registry,
    opts: &RunOptions,
) -> Result<Vec<Outcome>, HarnessError> {
    let mut order: Vec<&ScenarioFile> = files.iter().collect();
    order.sort_by_key(|f| kinds::of(f.full.kind).runs_last());
    order
        .into_iter()
        .map(|f| run_scenario(f.pick(opts.quick), registry, opts))
        .collect()
}
