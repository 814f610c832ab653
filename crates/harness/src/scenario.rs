//! The scenario schema (`scenarios/*.toml`, documented in `scenarios/README.md`):
//! its common header, its parsing and its validation. The fields only one kind
//! takes (`[throughput]`, `[training]`, `tiny_grad_threshold`,
//! `flush_subnormals`) are parsed by that kind's module under [`crate::kinds`].
//!
//! Parsing happens in two steps: serde reads the TOML into `Raw*` structs that keep
//! the byte span of every value (`toml::Spanned`) and reject unknown fields; then
//! [`parse`] checks every value against the registry and the rules below and
//! resolves it into a [`Scenario`] (one for the full run, one for `--quick`): the
//! common header here, then the kind's own fields
//! ([`MeasurementKind::parse`](crate::kinds::MeasurementKind::parse)). Every
//! error is a [`ScenarioError`]: `file:line:column: message`, the message listing
//! the allowed values.
//!
//! Rules that are choices, not syntax:
//! - A variant that does not run in a listed dtype is skipped for that dtype.
//! - A variant whose function has no per-output reference (a random sample such as
//!   Gumbel-softmax) is an error when named by id and left out when its family is
//!   named, in the kinds that score outputs (all but throughput, which runs any
//!   variant: no reference is needed to time a call).
//! - Temperatures other than 1 apply only to variants that take a temperature (the
//!   softmax family); the others run at T = 1 only. A scenario whose sweep asks for
//!   a temperature other than 1 while none of its variants takes one is an error.
//! - `[quick]` replaces what it names; what it does not name is derived: `rows`
//!   divided by 8 (at least 1), every sweep thinned to its first, middle and last
//!   point, `n` kept (a kind derives the quick form of its own fields).
//! - Fields apply to the kinds that use them, and a field given to a kind that
//!   does not take it is an error naming the kinds that do (it would silently do
//!   nothing): each kind lists its fields
//!   ([`MeasurementKind::fields`](crate::kinds::MeasurementKind::fields)); a claims
//!   scenario takes its name, description, seed and the claim statements
//!   (`[[claims]]`, one table per claim the ledger decides).

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use softmax_lab_core::{DType, Family, Registry};
use toml::Spanned;

pub use softmax_lab_results::Kind;

use crate::kinds::{self, Field, MeasurementKind};
use crate::limits::{estimate, format_bytes, Estimate, Limits, Term};

mod generators;
mod sweep;

pub use crate::kinds::throughput::ThroughputSpec;
use generators::RawGenerator;
pub use generators::{Dist, Generator, DIST_NAMES};
pub use sweep::spaced;
use sweep::{sweep_axes, temperature_span, temperature_value_span, thinned, RawSweep};

/// A scenario resolved and validated: what a run does.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Scenario {
    /// The name (the `scenario` column and the results' file stem).
    pub name: String,
    /// The file it came from, as given.
    pub source: PathBuf,
    /// Free text.
    pub description: String,
    /// The measurement.
    pub kind: Kind,
    /// Variant ids, in registry order.
    pub variants: Vec<String>,
    /// Dtypes, narrowest first.
    #[serde(serialize_with = "dtype_names")]
    pub dtypes: Vec<DType>,
    /// The seed every generator and upstream gradient derives from.
    pub seed: u64,
    /// Row lengths.
    pub n: Vec<usize>,
    /// Rows per point.
    pub rows: usize,
    /// Input generators.
    pub generators: Vec<Generator>,
    /// Logit scales (each input is the generator's values times the scale).
    pub scale: Vec<f64>,
    /// Temperatures (softmax of x / T).
    pub temperature: Vec<f64>,
    /// Gradients: an entry counts as tiny when |dx_i| <= this × max_j |dy_j| of its row.
    pub tiny_grad_threshold: f64,
    /// Throughput: how cases are timed.
    pub throughput: Option<ThroughputSpec>,
    /// Training: the study to run.
    pub training: Option<softmax_lab_training::Spec>,
    /// Claims: the statements put to the test, in the ledger's order (empty for
    /// the other kinds).
    pub claims: Vec<crate::claims::ClaimStatement>,
    /// Whether this is the `--quick` form.
    pub quick: bool,
    /// Accuracy and overflow: each variant call runs with flush-to-zero and
    /// denormals-are-zero set (x86_64 MXCSR), restored after the call.
    pub flush_subnormals: bool,
    /// The declaration files of external variants, as written in the scenario
    /// (relative to the scenario file's folder). Left out of the results when
    /// empty, so scenarios without external variants serialise as before.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub external: Vec<String>,
    /// The external variants those files declare (their ids are in `variants`
    /// when the scenario names them); each run builds fresh variants from them
    /// ([`Scenario::registry`]).
    #[serde(skip)]
    pub declarations: Vec<softmax_lab_external::Declaration>,
}

impl Scenario {
    /// `base` with this scenario's external variants added, fresh (no process or
    /// library shared with another run), and handles on those variants.
    pub fn registry(&self, base: &Registry) -> (Registry, Vec<softmax_lab_external::Shared>) {
        let mut r = base.clone();
        let ext = softmax_lab_external::register(&mut r, &self.declarations);
        (r, ext)
    }
}

fn dtype_names<S: serde::Serializer>(d: &[DType], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(d.iter().map(|d| d.name()))
}

/// A parsed scenario file: its full and its quick form.
#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioFile {
    /// The full scenario.
    pub full: Scenario,
    /// The `--quick` scenario.
    pub quick: Scenario,
}

impl ScenarioFile {
    /// The form a run uses.
    pub fn pick(&self, quick: bool) -> &Scenario {
        if quick {
            &self.quick
        } else {
            &self.full
        }
    }
}

/// An invalid scenario file: `file:line:column: message` (line and column 1-based,
/// the column counted in characters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}:{column}: {message}", path.display())]
pub struct ScenarioError {
    /// The file.
    pub path: PathBuf,
    /// Line of the offending value.
    pub line: usize,
    /// Column of the offending value.
    pub column: usize,
    /// What is wrong and what is allowed.
    pub message: String,
}

/// The 1-based line and character column of a byte offset in `text`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    // A span may point inside a multi-byte character only by a bug; clamp to a boundary.
    let offset = (0..=offset)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = text[line_start..offset].chars().count() + 1;
    (line, column)
}

// ---------------------------------------------------------------------------------
// The raw schema: what serde reads, with spans.

/// A value with its byte span in the file.
pub(crate) type S<T> = Spanned<T>;

// One serde tree for the whole file (so that an unknown field anywhere is named
// with the fields allowed there); the sections of one kind are types of its module.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
/// A whole scenario file as serde reads it.
pub(crate) struct RawScenario {
    name: Option<S<String>>,
    description: Option<String>,
    pub(crate) kind: S<String>,
    variants: Option<S<Vec<S<String>>>>,
    families: Option<S<Vec<S<String>>>>,
    dtypes: Option<S<Vec<S<String>>>>,
    seed: u64,
    n: Option<S<Vec<S<i64>>>>,
    rows: Option<S<i64>>,
    generators: Option<S<Vec<S<RawGenerator>>>>,
    // Tables with dotted sub-tables ([sweep.scale], [quick.sweep.scale],
    // [training.quick]) cannot be `Spanned` in toml 0.8; errors about them point
    // at a spanned value inside, or at `kind`.
    sweep: Option<RawSweep>,
    pub(crate) tiny_grad_threshold: Option<S<f64>>,
    pub(crate) flush_subnormals: Option<S<bool>>,
    external: Option<S<Vec<S<String>>>>,
    pub(crate) throughput: Option<S<crate::kinds::throughput::RawThroughput>>,
    pub(crate) training: Option<softmax_lab_training::RawSpec>,
    pub(crate) claims: Option<S<Vec<S<crate::kinds::claims::RawClaim>>>>,
    pub(crate) quick: Option<RawQuick>,
}

/// `[quick]`: the common overrides and the throughput kind's.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawQuick {
    n: Option<S<Vec<S<i64>>>>,
    rows: Option<S<i64>>,
    sweep: Option<RawSweep>,
    dtypes: Option<S<Vec<S<String>>>>,
    pub(crate) samples: Option<S<i64>>,
    pub(crate) max_seconds_per_case: Option<S<f64>>,
    pub(crate) bytes_per_case: Option<S<i64>>,
    pub(crate) hsoftmax_vocab: Option<S<Vec<S<i64>>>>,
    pub(crate) shards: Option<S<Vec<S<i64>>>>,
    pub(crate) out_of_cache_n: Option<S<Vec<S<i64>>>>,
}

// ---------------------------------------------------------------------------------
// Validation.

/// Builds errors that point into one file.
pub(crate) struct Ctx<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Ctx<'_> {
    /// The text of the file.
    pub(crate) fn text(&self) -> &str {
        self.text
    }

    /// An error at `span` of the file.
    pub(crate) fn err(&self, span: Range<usize>, message: impl Into<String>) -> ScenarioError {
        let (line, column) = line_column(self.text, span.start);
        ScenarioError {
            path: self.path.to_path_buf(),
            line,
            column,
            message: message.into(),
        }
    }
}

fn quoted(items: &[&str]) -> String {
    items.join(", ")
}

/// A whole number >= 1.
pub(crate) fn positive_count(cx: &Ctx, v: &S<i64>, what: &str) -> Result<usize, ScenarioError> {
    let n = *v.get_ref();
    if n < 1 {
        return Err(cx.err(
            v.span(),
            format!("`{what}` must be a whole number >= 1, got {n}"),
        ));
    }
    usize::try_from(n).map_err(|_| cx.err(v.span(), format!("`{what}` is too large: {n}")))
}

fn row_lengths(cx: &Ctx, v: &S<Vec<S<i64>>>, what: &str) -> Result<Vec<usize>, ScenarioError> {
    if v.get_ref().is_empty() {
        return Err(cx.err(
            v.span(),
            format!("`{what}` is empty: list at least one row length (a whole number >= 1)"),
        ));
    }
    let mut out = Vec::new();
    for x in v.get_ref() {
        let n = positive_count(cx, x, what)?;
        if !out.contains(&n) {
            out.push(n);
        }
    }
    Ok(out)
}

/// The scenario-name rule, for every name that becomes part of a file name or a
/// CSV cell: non-empty, only lowercase ASCII letters, digits, `_` and `-` (so no
/// path separator, no `..`, nothing a shell or a file system treats specially).
pub fn is_valid_name(v: &str) -> bool {
    !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// A name used in file names and CSV cells: see [`is_valid_name`].
fn label(cx: &Ctx, s: &S<String>, what: &str) -> Result<String, ScenarioError> {
    let v = s.get_ref();
    if is_valid_name(v) {
        Ok(v.clone())
    } else {
        Err(cx.err(
            s.span(),
            format!("invalid {what} '{v}': use lowercase letters, digits, '_' and '-' (non-empty)"),
        ))
    }
}

/// Whether the reference gives per-output exact values for `function`: it does
/// unless its output on a plain finite row is NaN (a random sample such as
/// Gumbel-softmax, scored by its statistics elsewhere).
pub fn has_reference(function: softmax_lab_core::Function) -> bool {
    softmax_lab_core::reference::forward(function, &[0.0, 1.0], 1.0)
        .iter()
        .all(|v| !v.is_nan())
}

/// Parse and validate the text of a scenario file into its full and quick forms,
/// checking its sizes against the memory this machine has available.
pub fn parse(path: &Path, text: &str, registry: &Registry) -> Result<ScenarioFile, ScenarioError> {
    parse_with_limits(path, text, registry, &Limits::machine())
}

/// What a kind's parser reads: the file's raw fields, the context of its errors
/// and the registry.
pub struct Section<'a> {
    /// Builds errors that point into the file.
    pub(crate) cx: Ctx<'a>,
    /// The fields as serde read them.
    pub(crate) raw: &'a RawScenario,
    /// The variants the file may name.
    pub(crate) registry: &'a Registry,
}

/// [`parse`], checking sizes against `limits`: a field whose value makes the
/// estimated peak memory ([`crate::limits::estimate`]) exceed the limit is an error
/// at that field.
pub fn parse_with_limits(
    path: &Path,
    text: &str,
    registry: &Registry,
    limits: &Limits,
) -> Result<ScenarioFile, ScenarioError> {
    let cx = Ctx { path, text };
    let raw: RawScenario = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        let message = e.message().trim().replace('\n', " ");
        // toml gives no message for a value cut off by the end of the file (`rows = `).
        let message = if message.is_empty() {
            "expected a value (a number, string, array or table) here; the file may be cut off"
                .to_string()
        } else {
            message
        };
        cx.err(span, message)
    })?;

    let name = match &raw.name {
        Some(s) => label(&cx, s, "scenario name")?,
        None => {
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string();
            label(
                &cx,
                &Spanned::new(0..0, stem),
                "scenario name (from the file name)",
            )?
        }
    };

    let k = kinds::by_name(raw.kind.get_ref()).ok_or_else(|| {
        let names: Vec<&str> = kinds::KINDS.iter().map(|k| k.kind().name()).collect();
        cx.err(
            raw.kind.span(),
            format!(
                "unknown kind '{}': expected one of {}",
                raw.kind.get_ref(),
                quoted(&names)
            ),
        )
    })?;

    // Fields given to a kind that ignores them are errors.
    for field in Field::ALL {
        if let Some(span) = field_span(&raw, field).filter(|_| !k.fields().contains(&field)) {
            return Err(cx.err(span, field.misplaced(k)));
        }
    }

    // External variants: their declaration files, and a registry that holds them.
    let points = k.fields().contains(&Field::N);
    let mut declarations: Vec<softmax_lab_external::Declaration> = Vec::new();
    let mut external = Vec::new();
    if let Some(files) = &raw.external {
        if !points {
            return Err(cx.err(
                files.span(),
                format!(
                    "`external` declares variants, and kind = \"{}\" runs none: it applies to \
                     the kinds that take variants",
                    k.kind().name()
                ),
            ));
        }
        let folder = path.parent().unwrap_or(Path::new(""));
        for f in files.get_ref() {
            let file = folder.join(f.get_ref());
            let taken = |id: &str| {
                if registry.get(id).is_ok() {
                    Some(format!(
                        "id '{id}' is a built-in variant's: choose another id for the external one"
                    ))
                } else {
                    declarations.iter().find(|d| d.id == id).map(|d| {
                        format!(
                            "id '{id}' is already declared in {}",
                            d.declared_in.display()
                        )
                    })
                }
            };
            let more = softmax_lab_external::load(&file, &taken).map_err(|e| ScenarioError {
                path: e.path,
                line: e.line,
                column: e.column,
                message: e.message,
            })?;
            declarations.extend(more);
            external.push(f.get_ref().clone());
        }
    }
    let extended;
    let registry = if declarations.is_empty() {
        registry
    } else {
        let mut r = registry.clone();
        softmax_lab_external::register(&mut r, &declarations);
        extended = r;
        &extended
    };
    let section = Section {
        cx,
        raw: &raw,
        registry,
    };
    let empty = Scenario {
        name,
        source: path.to_path_buf(),
        description: raw.description.clone().unwrap_or_default(),
        kind: k.kind(),
        variants: Vec::new(),
        dtypes: Vec::new(),
        seed: raw.seed,
        n: Vec::new(),
        rows: 0,
        generators: Vec::new(),
        scale: Vec::new(),
        temperature: Vec::new(),
        tiny_grad_threshold: 0.0,
        throughput: None,
        training: None,
        claims: Vec::new(),
        quick: false,
        flush_subnormals: false,
        external,
        declarations,
    };
    let (mut full, mut quick) = if points {
        point_header(&section, k, empty)?
    } else {
        let quick = Scenario {
            quick: true,
            ..empty.clone()
        };
        (empty, quick)
    };
    k.parse(&section, &mut full, &mut quick)?;
    if points {
        check_memory(&section, k, &full, limits)?;
        check_memory(&section, k, &quick, limits)?;
    }
    Ok(ScenarioFile { full, quick })
}

/// Where `field` is written in the file, if it is (for errors; a table that
/// cannot be spanned points at a value inside it, or at `kind`).
fn field_span(raw: &RawScenario, field: Field) -> Option<Range<usize>> {
    let sweep_span = |sw: &RawSweep| {
        sw.scale
            .as_ref()
            .map(|g| g.span())
            .or_else(|| sw.temperature.as_ref().map(|g| g.span()))
            .unwrap_or(raw.kind.span())
    };
    let quick_span = |q: &RawQuick| {
        q.n.as_ref()
            .map(|v| v.span())
            .or_else(|| q.rows.as_ref().map(|v| v.span()))
            .or_else(|| q.dtypes.as_ref().map(|v| v.span()))
            .or_else(|| q.samples.as_ref().map(|v| v.span()))
            .or_else(|| q.max_seconds_per_case.as_ref().map(|v| v.span()))
            .or_else(|| q.bytes_per_case.as_ref().map(|v| v.span()))
            .or_else(|| q.hsoftmax_vocab.as_ref().map(|v| v.span()))
            .or_else(|| q.shards.as_ref().map(|v| v.span()))
            .or_else(|| q.out_of_cache_n.as_ref().map(|v| v.span()))
            .or_else(|| q.sweep.as_ref().map(sweep_span))
            .unwrap_or(raw.kind.span())
    };
    let q = raw.quick.as_ref();
    match field {
        Field::Variants => raw.variants.as_ref().map(|v| v.span()),
        Field::Families => raw.families.as_ref().map(|v| v.span()),
        Field::Dtypes => raw.dtypes.as_ref().map(|v| v.span()),
        Field::N => raw.n.as_ref().map(|v| v.span()),
        Field::Generators => raw.generators.as_ref().map(|v| v.span()),
        Field::Rows => raw.rows.as_ref().map(|v| v.span()),
        Field::Sweep => raw.sweep.as_ref().map(sweep_span),
        Field::Throughput => raw.throughput.as_ref().map(|v| v.span()),
        Field::Training => raw.training.as_ref().map(|_| raw.kind.span()),
        Field::Claims => raw.claims.as_ref().map(|v| v.span()),
        Field::Quick => q.map(quick_span),
        Field::QuickThroughput => q
            .filter(|q| {
                q.samples.is_some()
                    || q.max_seconds_per_case.is_some()
                    || q.bytes_per_case.is_some()
                    || q.hsoftmax_vocab.is_some()
                    || q.shards.is_some()
                    || q.out_of_cache_n.is_some()
                    || q.dtypes.is_some()
            })
            .map(quick_span),
        Field::QuickRows => q
            .filter(|q| q.rows.is_some() || q.sweep.is_some())
            .map(quick_span),
        Field::TinyGradThreshold => raw.tiny_grad_threshold.as_ref().map(|v| v.span()),
        Field::FlushSubnormals => raw.flush_subnormals.as_ref().map(|v| v.span()),
    }
}

/// The header of a kind that measures variants at points: variants, dtypes, row
/// lengths, rows (where the kind takes them), generators and sweeps, in both forms.
fn point_header(
    section: &Section,
    k: &dyn MeasurementKind,
    empty: Scenario,
) -> Result<(Scenario, Scenario), ScenarioError> {
    let (cx, raw, registry) = (&section.cx, section.raw, section.registry);
    let required = |field: &'static str| {
        cx.err(
            raw.kind.span(),
            format!("kind = \"{}\" needs `{field}`", k.kind().name()),
        )
    };

    // Variants: ids and whole families, in registry order.
    let scored = k.needs_reference();
    let mut wanted: Vec<&str> = Vec::new();
    if let Some(ids) = &raw.variants {
        for id in ids.get_ref() {
            let v = registry
                .get(id.get_ref())
                .map_err(|e| cx.err(id.span(), e.to_string()))?;
            if scored && !has_reference(v.info().function) {
                return Err(cx.err(
                    id.span(),
                    format!(
                        "variant '{}' computes {}, which has no per-output reference (its \
                         output is a random sample): it cannot be scored here",
                        v.info().id,
                        v.info().function.name()
                    ),
                ));
            }
            wanted.push(v.info().id);
        }
    }
    if let Some(families) = &raw.families {
        let names: Vec<&str> = Family::ALL.iter().map(|f| f.name()).collect();
        for f in families.get_ref() {
            let family = Family::ALL
                .into_iter()
                .find(|fam| fam.name() == f.get_ref())
                .ok_or_else(|| {
                    cx.err(
                        f.span(),
                        format!(
                            "unknown family '{}': expected one of {}",
                            f.get_ref(),
                            quoted(&names)
                        ),
                    )
                })?;
            wanted.extend(
                registry
                    .family(family)
                    .filter(|v| !scored || has_reference(v.info().function))
                    .map(|v| v.info().id),
            );
        }
    }
    let variants: Vec<String> = registry
        .iter()
        .map(|v| v.info().id)
        .filter(|id| wanted.contains(id))
        .map(str::to_string)
        .collect();
    if variants.is_empty() {
        let span = raw
            .variants
            .as_ref()
            .or(raw.families.as_ref())
            .map_or(raw.kind.span(), |s| s.span());
        return Err(cx.err(
            span,
            format!(
                "no variants: name some with `variants = [...]` (one of {}) or \
                 `families = [...]` (one of {})",
                registry.ids().join(", "),
                quoted(&Family::ALL.map(|f| f.name()))
            ),
        ));
    }

    let dtypes = dtype_list(
        cx,
        raw.dtypes.as_ref().ok_or_else(|| required("dtypes"))?,
        "dtypes",
    )?;

    let n = row_lengths(cx, raw.n.as_ref().ok_or_else(|| required("n"))?, "n")?;
    let takes_rows = k.fields().contains(&Field::Rows);
    let rows = match &raw.rows {
        _ if !takes_rows => 0,
        Some(r) => positive_count(cx, r, "rows")?,
        None => return Err(required("rows")),
    };

    let raw_generators = raw
        .generators
        .as_ref()
        .ok_or_else(|| required("generators"))?;
    if raw_generators.get_ref().is_empty() {
        return Err(cx.err(
            raw_generators.span(),
            format!(
                "no generators: add at least one [[generators]] with dist = one of {}",
                quoted(&DIST_NAMES)
            ),
        ));
    }
    let mut generators: Vec<Generator> = Vec::new();
    for g in raw_generators.get_ref() {
        let gen = generators::generator(cx, g)?;
        if generators.iter().any(|o| o.name == gen.name) {
            return Err(cx.err(
                g.span(),
                format!(
                    "two generators are labelled '{}': give each a distinct `name`",
                    gen.name
                ),
            ));
        }
        generators.push(gen);
    }

    let raw_sweep = raw.sweep.as_ref();
    let (scale, temperature) = sweep_axes(cx, raw_sweep, (vec![1.0], vec![1.0]))?;
    let tempered: Vec<softmax_lab_core::VariantInfo> = variants
        .iter()
        .filter_map(|id| registry.get(id).ok())
        .map(|v| *v.info())
        .filter(|info| info.temperature)
        .collect();
    let check_temperature = |t: &[f64], sweep: Option<&RawSweep>, dtypes: &[DType]| {
        // Each temperature must be usable in the arithmetic of every variant and dtype
        // it runs in (1/T finite there).
        for info in &tempered {
            for &d in dtypes.iter().filter(|d| info.dtypes.contains(d)) {
                for &t in t.iter().filter(|&&t| t != 1.0) {
                    if let Err(message) = crate::limits::check_temperature(t, info, d) {
                        let span = temperature_value_span(sweep, t).unwrap_or(0..0);
                        return Err(cx.err(span, message));
                    }
                }
            }
        }
        if tempered.is_empty() && t.iter().any(|&t| t != 1.0) {
            let span = temperature_span(sweep).unwrap_or(0..0);
            return Err(cx.err(
                span,
                "a temperature other than 1 is swept but none of the scenario's variants \
                 takes a temperature (only the softmax family does): sweep temperature \
                 values = [1.0] or add a softmax variant",
            ));
        }
        Ok(())
    };
    check_temperature(&temperature, raw_sweep, &dtypes)?;

    let full = Scenario {
        variants,
        dtypes,
        n,
        rows,
        generators,
        scale,
        temperature,
        tiny_grad_threshold: crate::kinds::gradients::DEFAULT_TINY_GRAD_THRESHOLD,
        ..empty
    };

    let q = raw.quick.as_ref();
    let quick_n = match q.and_then(|q| q.n.as_ref()) {
        Some(v) => row_lengths(cx, v, "quick.n")?,
        None => full.n.clone(),
    };
    let quick_rows = match q.and_then(|q| q.rows.as_ref()) {
        _ if !takes_rows => 0,
        Some(v) => positive_count(cx, v, "quick.rows")?,
        None => (full.rows / 8).max(1),
    };
    let quick_dtypes = match q.and_then(|q| q.dtypes.as_ref()) {
        Some(d) => dtype_list(cx, d, "quick.dtypes")?,
        None => full.dtypes.clone(),
    };
    let quick_sweep = q.and_then(|q| q.sweep.as_ref());
    let (quick_scale, quick_temperature) = sweep_axes(
        cx,
        quick_sweep,
        (thinned(&full.scale), thinned(&full.temperature)),
    )?;
    check_temperature(&quick_temperature, quick_sweep, &quick_dtypes)?;
    let quick = Scenario {
        n: quick_n,
        rows: quick_rows,
        dtypes: quick_dtypes,
        scale: quick_scale,
        temperature: quick_temperature,
        quick: true,
        ..full.clone()
    };
    Ok((full, quick))
}

/// A list of dtype names, narrowest first, without repeats.
fn dtype_list(cx: &Ctx, d: &S<Vec<S<String>>>, what: &str) -> Result<Vec<DType>, ScenarioError> {
    if d.get_ref().is_empty() {
        return Err(cx.err(
            d.span(),
            format!("`{what}` is empty: list at least one of f16, bf16, f32, f64"),
        ));
    }
    let mut dtypes = Vec::new();
    for d in d.get_ref() {
        let dt: DType = d
            .get_ref()
            .parse()
            .map_err(|e: softmax_lab_core::dtype::UnknownDType| cx.err(d.span(), e.to_string()))?;
        if !dtypes.contains(&dt) {
            dtypes.push(dt);
        }
    }
    dtypes.sort();
    Ok(dtypes)
}

/// The last-level cache size the estimate assumes (the machine's, else 64 MiB).
fn llc_for_estimate() -> u64 {
    static LLC: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *LLC.get_or_init(|| crate::measure_throughput::llc_bytes().map_or(64 << 20, |b| b as u64))
}

/// The estimated peak memory of a scenario form.
pub fn peak_memory(s: &Scenario) -> Estimate {
    estimate(s, llc_for_estimate())
}

/// The span of the entry `v` of a list of whole numbers, if it is there.
pub(crate) fn span_in_list(list: Option<&S<Vec<S<i64>>>>, v: usize) -> Option<Range<usize>> {
    list.and_then(|l| {
        l.get_ref()
            .iter()
            .find(|x| *x.get_ref() == v as i64)
            .map(|x| x.span())
    })
}

/// An error at the field that makes `s` (a form of the file of `section`) exceed
/// `limits`, if it does.
fn check_memory(
    section: &Section,
    k: &dyn MeasurementKind,
    s: &Scenario,
    limits: &Limits,
) -> Result<(), ScenarioError> {
    let Some(max) = limits.max_memory_bytes else {
        return Ok(());
    };
    let e = peak_memory(s);
    if e.bytes <= max {
        return Ok(());
    }
    let raw = section.raw;
    let q = raw.quick.as_ref().filter(|_| s.quick);
    let (field, span) = match e.term {
        Term::N(n) => (
            "n",
            span_in_list(q.and_then(|q| q.n.as_ref()).or(raw.n.as_ref()), n),
        ),
        Term::Rows => (
            "rows",
            q.and_then(|q| q.rows.as_ref())
                .or(raw.rows.as_ref())
                .map(|r| r.span()),
        ),
        Term::Base => ("the scenario", None),
        term => k
            .size_field(section, s.quick, term)
            .unwrap_or(("the scenario", None)),
    };
    Err(section.cx.err(
        span.unwrap_or_else(|| raw.kind.span()),
        format!(
            "{}`{field}` makes the run need about {} of memory (estimated peak), more than the \
             {} it may use (the memory available now, or --max-memory): make it smaller",
            if s.quick { "in the --quick form, " } else { "" },
            format_bytes(e.bytes),
            format_bytes(max)
        ),
    ))
}

/// The largest scenario file read, bytes: the shipped ones are under 8 KiB; a
/// larger file is refused before it is read (parsing costs tens of times its size).
pub const MAX_SCENARIO_BYTES: u64 = 1 << 20;

/// The text of a scenario file's bytes, or an error at the first byte that is not
/// UTF-8 (its line and column counted in the valid text before it).
pub fn decode(path: &Path, bytes: &[u8]) -> Result<String, ScenarioError> {
    let at = |offset: usize, message: String| {
        let valid = std::str::from_utf8(&bytes[..offset]).unwrap_or_default();
        let cx = Ctx { path, text: valid };
        cx.err(offset..offset, message)
    };
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(at(
            0,
            "the file is UTF-16 (it starts with a UTF-16 byte order mark): save it as UTF-8"
                .to_string(),
        ));
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.to_string()),
        Err(e) => {
            let offset = e.valid_up_to();
            Err(at(
                offset,
                format!(
                    "byte 0x{:02X} (offset {offset}) is not UTF-8: a scenario file must be UTF-8 text",
                    bytes.get(offset).copied().unwrap_or(0)
                ),
            ))
        }
    }
}

/// Read and parse one scenario file (refused unread above [`MAX_SCENARIO_BYTES`]),
/// checking sizes against the memory this machine has available.
pub fn load(path: &Path, registry: &Registry) -> Result<ScenarioFile, crate::HarnessError> {
    load_with_limits(path, registry, &Limits::machine())
}

/// [`load`] with sizes checked against `limits`.
pub fn load_with_limits(
    path: &Path,
    registry: &Registry,
    limits: &Limits,
) -> Result<ScenarioFile, crate::HarnessError> {
    let read = |source| crate::HarnessError::Read {
        path: path.to_path_buf(),
        source,
    };
    let too_large = |len: u64| ScenarioError {
        path: path.to_path_buf(),
        line: 1,
        column: 1,
        message: format!(
            "the file is {len} bytes; a scenario file may have at most {MAX_SCENARIO_BYTES} \
             bytes (1 MiB)"
        ),
    };
    let len = std::fs::metadata(path).map_err(read)?.len();
    if len > MAX_SCENARIO_BYTES {
        return Err(too_large(len).into());
    }
    let mut bytes = Vec::new();
    // `take` bounds the read even if the file grows after the size check.
    let file = std::fs::File::open(path).map_err(read)?;
    std::io::Read::read_to_end(
        &mut std::io::Read::take(file, MAX_SCENARIO_BYTES + 1),
        &mut bytes,
    )
    .map_err(read)?;
    if bytes.len() as u64 > MAX_SCENARIO_BYTES {
        return Err(too_large(bytes.len() as u64).into());
    }
    let text = decode(path, &bytes)?;
    Ok(parse_with_limits(path, &text, registry, limits)?)
}

#[cfg(test)]
mod tests;
