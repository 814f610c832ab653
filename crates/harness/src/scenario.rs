//! The scenario schema (`scenarios/*.toml`, documented in `scenarios/README.md`),
//! its parsing and its validation.
//!
//! Parsing happens in two steps: serde reads the TOML into `Raw*` structs that keep
//! the byte span of every value (`toml::Spanned`) and reject unknown fields; then
//! [`parse`] checks every value against the registry and the rules below and
//! resolves it into a [`Scenario`] (one for the full run, one for `--quick`). Every
//! error is a [`ScenarioError`]: `file:line:column: message`, the message listing
//! the allowed values.
//!
//! Rules that are choices, not syntax:
//! - A variant that does not run in a listed dtype is skipped for that dtype.
//! - A variant whose function has no per-output reference (a random sample such as
//!   Gumbel-softmax) is an error when named by id and left out when its family is named.
//! - Temperatures other than 1 apply only to variants that take a temperature (the
//!   softmax family); the others run at T = 1 only. A scenario whose sweep asks for
//!   a temperature other than 1 while none of its variants takes one is an error.
//! - `[quick]` replaces what it names; what it does not name is derived: `rows`
//!   divided by 8 (at least 1), every sweep thinned to its first, middle and last
//!   point, `n` kept.

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use softmax_lab_core::{DType, Family, Registry};
use toml::Spanned;

/// The measurement a scenario asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Errors in ULPs, bits, normwise, sum to one, argmax, exact zeros.
    Accuracy,
    /// Non-finite outputs and outputs flushed to zero against the scale.
    Overflow,
    /// VJP norm and agreement with the reference, finite differences and candle.
    Gradients,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 3] = [Kind::Accuracy, Kind::Overflow, Kind::Gradients];

    /// The name used in scenario files and results.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Accuracy => "accuracy",
            Kind::Overflow => "overflow",
            Kind::Gradients => "gradients",
        }
    }
}

/// One input generator, with its parameters resolved (defaults filled in).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "dist", rename_all = "snake_case")]
pub enum Dist {
    /// Normal(mean, std).
    Normal {
        /// Mean (default 0).
        mean: f64,
        /// Standard deviation (default 1, > 0).
        std: f64,
    },
    /// Uniform on [low, high).
    Uniform {
        /// Lower end (default −1).
        low: f64,
        /// Upper end (default 1, > low).
        high: f64,
    },
    /// Cauchy(location, width): heavy tails.
    Cauchy {
        /// Location (default 0).
        location: f64,
        /// Scale parameter (default 1, > 0).
        width: f64,
    },
    /// One entry at `height` at a random position, the rest Normal(0, std).
    Spike {
        /// The spike's value (default 10).
        height: f64,
        /// Standard deviation of the background (default 1e-3, > 0).
        std: f64,
    },
    /// Every entry within `ulps` steps of the dtype of `center` (ties and near-ties).
    NearTies {
        /// The common value before scaling (default 1).
        center: f64,
        /// Largest offset in steps of the dtype (default 3).
        ulps: u32,
    },
    /// Evenly spaced from low to high (no randomness).
    Linspace {
        /// First value (default −1).
        low: f64,
        /// Last value (default 1, > low).
        high: f64,
    },
    /// Normal(0, std) with each entry masked to −inf with probability `fraction`
    /// (at least one entry of a row stays finite).
    Masked {
        /// Probability of masking an entry (default 0.25, in [0, 1)).
        fraction: f64,
        /// Standard deviation of the unmasked entries (default 1, > 0).
        std: f64,
    },
}

/// The `dist` names, in the order the documentation lists them.
pub const DIST_NAMES: [&str; 7] = [
    "normal",
    "uniform",
    "cauchy",
    "spike",
    "near_ties",
    "linspace",
    "masked",
];

/// The parameters each `dist` takes (besides `dist` and `name`).
fn dist_params(dist: &str) -> &'static [&'static str] {
    match dist {
        "normal" => &["mean", "std"],
        "uniform" | "linspace" => &["low", "high"],
        "cauchy" => &["location", "width"],
        "spike" => &["height", "std"],
        "near_ties" => &["center", "ulps"],
        "masked" => &["fraction", "std"],
        _ => &[],
    }
}

impl Dist {
    /// The `dist` name.
    pub fn name(&self) -> &'static str {
        match self {
            Dist::Normal { .. } => "normal",
            Dist::Uniform { .. } => "uniform",
            Dist::Cauchy { .. } => "cauchy",
            Dist::Spike { .. } => "spike",
            Dist::NearTies { .. } => "near_ties",
            Dist::Linspace { .. } => "linspace",
            Dist::Masked { .. } => "masked",
        }
    }
}

/// A generator as the scenario names it: a label (the `generator` column) and a
/// distribution.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Generator {
    /// The label in results (the `name` field, or the `dist` name).
    pub name: String,
    /// The distribution and its parameters.
    #[serde(flatten)]
    pub dist: Dist,
}

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
    /// Whether this is the `--quick` form.
    pub quick: bool,
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

type S<T> = Spanned<T>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: Option<S<String>>,
    description: Option<String>,
    kind: S<String>,
    variants: Option<S<Vec<S<String>>>>,
    families: Option<S<Vec<S<String>>>>,
    dtypes: S<Vec<S<String>>>,
    seed: u64,
    n: S<Vec<S<i64>>>,
    rows: S<i64>,
    generators: S<Vec<S<RawGenerator>>>,
    sweep: Option<RawSweep>,
    tiny_grad_threshold: Option<S<f64>>,
    quick: Option<RawQuick>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGenerator {
    dist: S<String>,
    name: Option<S<String>>,
    mean: Option<S<f64>>,
    std: Option<S<f64>>,
    low: Option<S<f64>>,
    high: Option<S<f64>>,
    location: Option<S<f64>>,
    width: Option<S<f64>>,
    height: Option<S<f64>>,
    center: Option<S<f64>>,
    ulps: Option<S<i64>>,
    fraction: Option<S<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSweep {
    scale: Option<S<RawGrid>>,
    temperature: Option<S<RawGrid>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGrid {
    values: Option<S<Vec<S<f64>>>>,
    from: Option<S<f64>>,
    to: Option<S<f64>>,
    points: Option<S<i64>>,
    spacing: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuick {
    n: Option<S<Vec<S<i64>>>>,
    rows: Option<S<i64>>,
    sweep: Option<RawSweep>,
}

// ---------------------------------------------------------------------------------
// Validation.

/// Builds errors that point into one file.
struct Ctx<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Ctx<'_> {
    fn err(&self, span: Range<usize>, message: impl Into<String>) -> ScenarioError {
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

fn positive_count(cx: &Ctx, v: &S<i64>, what: &str) -> Result<usize, ScenarioError> {
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

/// A sweep axis: its values, validated.
fn grid(cx: &Ctx, g: &S<RawGrid>, what: &str) -> Result<Vec<f64>, ScenarioError> {
    let raw = g.get_ref();
    let ranged = raw.from.is_some() || raw.to.is_some() || raw.points.is_some();
    let positive = |v: &S<f64>| -> Result<f64, ScenarioError> {
        let x = *v.get_ref();
        if x.is_finite() && x > 0.0 {
            Ok(x)
        } else {
            Err(cx.err(
                v.span(),
                format!("`{what}` values must be finite and > 0, got {x}"),
            ))
        }
    };
    match (&raw.values, ranged) {
        (Some(values), false) => {
            if let Some(s) = &raw.spacing {
                return Err(cx.err(
                    s.span(),
                    "`spacing` applies to `from`/`to`/`points`, not to `values`",
                ));
            }
            if values.get_ref().is_empty() {
                return Err(cx.err(
                    values.span(),
                    format!("empty sweep: `sweep.{what}.values` needs at least one value"),
                ));
            }
            values.get_ref().iter().map(positive).collect()
        }
        (Some(values), true) => Err(cx.err(
            values.span(),
            format!(
                "`sweep.{what}` takes either `values = [...]` or `from`, `to` and `points`, not both"
            ),
        )),
        (None, _) => {
            let missing = |field: &str| {
                cx.err(
                    g.span(),
                    format!(
                        "`sweep.{what}` needs `{field}`: give `values = [...]` or `from`, `to` \
                         and `points` (with `spacing` = \"log\" (default) or \"linear\")"
                    ),
                )
            };
            let from_s = raw.from.as_ref().ok_or_else(|| missing("from"))?;
            let to_s = raw.to.as_ref().ok_or_else(|| missing("to"))?;
            let points_s = raw.points.as_ref().ok_or_else(|| missing("points"))?;
            let (from, to) = (positive(from_s)?, positive(to_s)?);
            if from > to {
                return Err(cx.err(
                    from_s.span(),
                    format!(
                        "inverted range in `sweep.{what}`: from = {from} is above to = {to}; \
                         `from` must be <= `to`"
                    ),
                ));
            }
            let points = *points_s.get_ref();
            if points < 1 {
                return Err(cx.err(
                    points_s.span(),
                    format!("empty sweep: `sweep.{what}.points` must be >= 1, got {points}"),
                ));
            }
            if points > 10_000 {
                return Err(cx.err(
                    points_s.span(),
                    format!("`sweep.{what}.points` must be <= 10000, got {points}"),
                ));
            }
            let log = match raw.spacing.as_ref() {
                None => true,
                Some(s) => match s.get_ref().as_str() {
                    "log" => true,
                    "linear" => false,
                    other => {
                        return Err(cx.err(
                            s.span(),
                            format!("unknown spacing '{other}': expected one of log, linear"),
                        ))
                    }
                },
            };
            Ok(spaced(from, to, points as usize, log))
        }
    }
}

/// `points` values from `from` to `to` (both included), evenly spaced on a log or
/// linear scale; the end points are exactly `from` and `to`.
pub fn spaced(from: f64, to: f64, points: usize, log: bool) -> Vec<f64> {
    if points == 1 {
        return vec![from];
    }
    (0..points)
        .map(|i| {
            if i == 0 {
                from
            } else if i == points - 1 {
                to
            } else {
                let t = i as f64 / (points - 1) as f64;
                if log {
                    10f64.powf(from.log10() + t * (to.log10() - from.log10()))
                } else {
                    from + t * (to - from)
                }
            }
        })
        .collect()
}

/// At most three points of a sweep: its first, middle and last.
fn thinned(v: &[f64]) -> Vec<f64> {
    if v.len() <= 3 {
        v.to_vec()
    } else {
        vec![v[0], v[v.len() / 2], v[v.len() - 1]]
    }
}

fn generator(cx: &Ctx, g: &S<RawGenerator>) -> Result<Generator, ScenarioError> {
    let r = g.get_ref();
    let dist = r.dist.get_ref().as_str();
    if !DIST_NAMES.contains(&dist) {
        return Err(cx.err(
            r.dist.span(),
            format!(
                "unknown dist '{dist}': expected one of {}",
                quoted(&DIST_NAMES)
            ),
        ));
    }
    let allowed = dist_params(dist);
    let given: [(&str, Option<Range<usize>>); 10] = [
        ("mean", r.mean.as_ref().map(|s| s.span())),
        ("std", r.std.as_ref().map(|s| s.span())),
        ("low", r.low.as_ref().map(|s| s.span())),
        ("high", r.high.as_ref().map(|s| s.span())),
        ("location", r.location.as_ref().map(|s| s.span())),
        ("width", r.width.as_ref().map(|s| s.span())),
        ("height", r.height.as_ref().map(|s| s.span())),
        ("center", r.center.as_ref().map(|s| s.span())),
        ("ulps", r.ulps.as_ref().map(|s| s.span())),
        ("fraction", r.fraction.as_ref().map(|s| s.span())),
    ];
    for (field, span) in given {
        if let Some(span) = span {
            if !allowed.contains(&field) {
                return Err(cx.err(
                    span,
                    format!(
                        "`{field}` does not apply to dist = \"{dist}\": it takes name, {}",
                        quoted(allowed)
                    ),
                ));
            }
        }
    }
    let val = |v: &Option<S<f64>>, default: f64, field: &str| -> Result<f64, ScenarioError> {
        match v {
            None => Ok(default),
            Some(s) if s.get_ref().is_finite() => Ok(*s.get_ref()),
            Some(s) => Err(cx.err(
                s.span(),
                format!("`{field}` must be a finite number, got {}", s.get_ref()),
            )),
        }
    };
    let positive = |v: &Option<S<f64>>, default: f64, field: &str| -> Result<f64, ScenarioError> {
        let x = val(v, default, field)?;
        match v {
            Some(s) if x <= 0.0 => Err(cx.err(s.span(), format!("`{field}` must be > 0, got {x}"))),
            _ => Ok(x),
        }
    };
    let range = |lo: &Option<S<f64>>, hi: &Option<S<f64>>| -> Result<(f64, f64), ScenarioError> {
        let (l, h) = (val(lo, -1.0, "low")?, val(hi, 1.0, "high")?);
        if l >= h {
            let span = lo
                .as_ref()
                .or(hi.as_ref())
                .map_or(r.dist.span(), |s| s.span());
            return Err(cx.err(
                span,
                format!("inverted range: low = {l} must be below high = {h}"),
            ));
        }
        Ok((l, h))
    };
    let dist = match dist {
        "normal" => Dist::Normal {
            mean: val(&r.mean, 0.0, "mean")?,
            std: positive(&r.std, 1.0, "std")?,
        },
        "uniform" => {
            let (low, high) = range(&r.low, &r.high)?;
            Dist::Uniform { low, high }
        }
        "linspace" => {
            let (low, high) = range(&r.low, &r.high)?;
            Dist::Linspace { low, high }
        }
        "cauchy" => Dist::Cauchy {
            location: val(&r.location, 0.0, "location")?,
            width: positive(&r.width, 1.0, "width")?,
        },
        "spike" => Dist::Spike {
            height: val(&r.height, 10.0, "height")?,
            std: positive(&r.std, 1e-3, "std")?,
        },
        "near_ties" => {
            let ulps = match &r.ulps {
                None => 3,
                Some(s) => u32::try_from(*s.get_ref())
                    .ok()
                    .filter(|&u| u <= 1 << 20)
                    .ok_or_else(|| {
                        cx.err(
                            s.span(),
                            format!("`ulps` must be in 0..=1048576, got {}", s.get_ref()),
                        )
                    })?,
            };
            Dist::NearTies {
                center: val(&r.center, 1.0, "center")?,
                ulps,
            }
        }
        "masked" => {
            let fraction = val(&r.fraction, 0.25, "fraction")?;
            if !(0.0..1.0).contains(&fraction) {
                let span = r.fraction.as_ref().map_or(r.dist.span(), |s| s.span());
                return Err(cx.err(
                    span,
                    format!("`fraction` must be in [0, 1), got {fraction}"),
                ));
            }
            Dist::Masked {
                fraction,
                std: positive(&r.std, 1.0, "std")?,
            }
        }
        _ => unreachable!("dist names checked above"),
    };
    let name = match &r.name {
        None => dist.name().to_string(),
        Some(s) => label(cx, s, "generator name")?,
    };
    Ok(Generator { name, dist })
}

/// A name used in file names and CSV cells: lowercase letters, digits, `_`, `-`.
fn label(cx: &Ctx, s: &S<String>, what: &str) -> Result<String, ScenarioError> {
    let v = s.get_ref();
    let ok = !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if ok {
        Ok(v.clone())
    } else {
        Err(cx.err(
            s.span(),
            format!("invalid {what} '{v}': use lowercase letters, digits, '_' and '-' (non-empty)"),
        ))
    }
}

/// The sweep axes (scale, temperature), each defaulting to `default`.
fn sweep_axes(
    cx: &Ctx,
    sweep: Option<&RawSweep>,
    default: (Vec<f64>, Vec<f64>),
) -> Result<(Vec<f64>, Vec<f64>), ScenarioError> {
    let Some(s) = sweep else {
        return Ok(default);
    };
    let scale = match &s.scale {
        Some(g) => grid(cx, g, "scale")?,
        None => default.0,
    };
    let temperature = match &s.temperature {
        Some(g) => grid(cx, g, "temperature")?,
        None => default.1,
    };
    Ok((scale, temperature))
}

/// The span of the temperature sweep, if one is written (for errors).
fn temperature_span(sweep: Option<&RawSweep>) -> Option<Range<usize>> {
    sweep.and_then(|s| s.temperature.as_ref().map(|t| t.span()))
}

/// Whether the reference gives per-output exact values for `function`: it does
/// unless its output on a plain finite row is NaN (a random sample such as
/// Gumbel-softmax, scored by its statistics elsewhere).
pub fn has_reference(function: softmax_lab_core::Function) -> bool {
    softmax_lab_core::reference::forward(function, &[0.0, 1.0], 1.0)
        .iter()
        .all(|v| !v.is_nan())
}

/// Parse and validate the text of a scenario file into its full and quick forms.
pub fn parse(path: &Path, text: &str, registry: &Registry) -> Result<ScenarioFile, ScenarioError> {
    let cx = Ctx { path, text };
    let raw: RawScenario = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        cx.err(span, e.message().trim().replace('\n', " "))
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

    let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
    let kind = Kind::ALL
        .into_iter()
        .find(|k| k.name() == raw.kind.get_ref())
        .ok_or_else(|| {
            cx.err(
                raw.kind.span(),
                format!(
                    "unknown kind '{}': expected one of {}",
                    raw.kind.get_ref(),
                    quoted(&kinds)
                ),
            )
        })?;

    // Variants: ids and whole families, in registry order.
    let mut wanted: Vec<&str> = Vec::new();
    if let Some(ids) = &raw.variants {
        for id in ids.get_ref() {
            let v = registry
                .get(id.get_ref())
                .map_err(|e| cx.err(id.span(), e.to_string()))?;
            if !has_reference(v.info().function) {
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
                    .filter(|v| has_reference(v.info().function))
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

    if raw.dtypes.get_ref().is_empty() {
        return Err(cx.err(
            raw.dtypes.span(),
            "`dtypes` is empty: list at least one of f16, bf16, f32, f64",
        ));
    }
    let mut dtypes = Vec::new();
    for d in raw.dtypes.get_ref() {
        let dt: DType = d
            .get_ref()
            .parse()
            .map_err(|e: softmax_lab_core::dtype::UnknownDType| cx.err(d.span(), e.to_string()))?;
        if !dtypes.contains(&dt) {
            dtypes.push(dt);
        }
    }
    dtypes.sort();

    let n = row_lengths(&cx, &raw.n, "n")?;
    let rows = positive_count(&cx, &raw.rows, "rows")?;

    if raw.generators.get_ref().is_empty() {
        return Err(cx.err(
            raw.generators.span(),
            format!(
                "no generators: add at least one [[generators]] with dist = one of {}",
                quoted(&DIST_NAMES)
            ),
        ));
    }
    let mut generators: Vec<Generator> = Vec::new();
    for g in raw.generators.get_ref() {
        let gen = generator(&cx, g)?;
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

    let (scale, temperature) = sweep_axes(&cx, raw.sweep.as_ref(), (vec![1.0], vec![1.0]))?;
    let takes_temperature = variants
        .iter()
        .filter_map(|id| registry.get(id).ok())
        .any(|v| v.info().temperature);
    let check_temperature = |t: &[f64], sweep: Option<&RawSweep>| {
        if !takes_temperature && t.iter().any(|&t| t != 1.0) {
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
    check_temperature(&temperature, raw.sweep.as_ref())?;

    let tiny_grad_threshold = match &raw.tiny_grad_threshold {
        None => 1e-8,
        Some(s) if kind != Kind::Gradients => {
            return Err(cx.err(
                s.span(),
                format!(
                    "`tiny_grad_threshold` applies only to kind = \"gradients\", not \"{}\"",
                    kind.name()
                ),
            ))
        }
        Some(s) => {
            let t = *s.get_ref();
            if !(t.is_finite() && t >= 0.0) {
                return Err(cx.err(
                    s.span(),
                    format!("`tiny_grad_threshold` must be finite and >= 0, got {t}"),
                ));
            }
            t
        }
    };

    let full = Scenario {
        name,
        source: path.to_path_buf(),
        description: raw.description.clone().unwrap_or_default(),
        kind,
        variants,
        dtypes,
        seed: raw.seed,
        n,
        rows,
        generators,
        scale,
        temperature,
        tiny_grad_threshold,
        quick: false,
    };

    let q = raw.quick.as_ref();
    let quick_n = match q.and_then(|q| q.n.as_ref()) {
        Some(v) => row_lengths(&cx, v, "quick.n")?,
        None => full.n.clone(),
    };
    let quick_rows = match q.and_then(|q| q.rows.as_ref()) {
        Some(v) => positive_count(&cx, v, "quick.rows")?,
        None => (full.rows / 8).max(1),
    };
    let quick_sweep = q.and_then(|q| q.sweep.as_ref());
    let (quick_scale, quick_temperature) = sweep_axes(
        &cx,
        quick_sweep,
        (thinned(&full.scale), thinned(&full.temperature)),
    )?;
    check_temperature(&quick_temperature, quick_sweep)?;
    let quick = Scenario {
        n: quick_n,
        rows: quick_rows,
        scale: quick_scale,
        temperature: quick_temperature,
        quick: true,
        ..full.clone()
    };
    Ok(ScenarioFile { full, quick })
}

/// Read and parse one scenario file.
pub fn load(path: &Path, registry: &Registry) -> Result<ScenarioFile, crate::HarnessError> {
    let text = std::fs::read_to_string(path).map_err(|source| crate::HarnessError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(parse(path, &text, registry)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_lines_and_characters() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 4), (1, 5));
        assert_eq!(line_column(text, 6), (2, 1));
        // 'é' is two bytes but one column.
        assert_eq!(line_column(text, 9), (2, 3));
        assert_eq!(line_column(text, 10), (2, 4));
        assert_eq!(line_column(text, 1000), (3, 1));
    }

    #[test]
    fn log_grid_has_exact_end_points_and_even_ratios() {
        let g = spaced(1.0, 1e4, 5, true);
        assert_eq!(g[0], 1.0);
        assert_eq!(g[4], 1e4);
        assert!((g[2] - 100.0).abs() < 1e-12, "{g:?}");
        assert_eq!(spaced(2.0, 4.0, 3, false), vec![2.0, 3.0, 4.0]);
        assert_eq!(spaced(5.0, 5.0, 1, true), vec![5.0]);
        assert_eq!(thinned(&[1.0, 2.0, 3.0, 4.0, 5.0]), vec![1.0, 3.0, 5.0]);
    }
}
