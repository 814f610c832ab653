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
//!   point, `n` kept; for throughput, `samples` divided by 3 (at least 5) and
//!   `bytes_per_case` kept.
//! - Fields apply to the kinds that use them, and a field given to a kind that
//!   ignores it is an error (it would silently do nothing): `rows`, `sweep` only for
//!   accuracy, overflow and gradients; `[throughput]` only for throughput (whose row
//!   count is derived from `bytes_per_case`); `[training]` only for training; a
//!   claims scenario takes nothing but its name, description and seed.
//! - Throughput runs any variant, random samples included (no reference is needed
//!   to time a call).

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use softmax_lab_core::{DType, Family, Registry};
use toml::Spanned;

pub use softmax_lab_results::Kind;

use crate::limits::{estimate, format_bytes, Estimate, Limits, Term, MAX_THREADS};

/// How a throughput scenario times its cases (the `[throughput]` section).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ThroughputSpec {
    /// Thread counts, each case run with each (0: every available core).
    pub threads: Vec<usize>,
    /// Input bytes per timed call: a case's row count is
    /// `max(1, bytes_per_case / (n × element size))`.
    pub bytes_per_case: usize,
    /// Timed samples per case (odd counts give a plain median).
    pub samples: usize,
    /// Time budget of one participant of a case, seconds: slow calls get fewer
    /// samples (at least 3).
    pub max_seconds_per_case: f64,
    /// Passes to time.
    #[serde(serialize_with = "direction_names")]
    pub directions: Vec<softmax_lab_core::Direction>,
    /// Vocabulary sizes V for hierarchical against full softmax (empty: not measured).
    pub hsoftmax_vocab: Vec<usize>,
    /// Hidden size d of those heads.
    pub hsoftmax_dim: usize,
    /// Shard counts for sharded against unsharded softmax (empty: not measured).
    pub shards: Vec<usize>,
    /// Row lengths (each also in `n`) measured a second time out of cache: calls
    /// rotate through buffer sets spanning 2 × LLC even though one call's working
    /// set would fit, so a batch of short rows streams from memory as it does in a
    /// model's output layer (empty: only the regime each n falls in by size).
    pub out_of_cache_n: Vec<usize>,
}

fn direction_names<S: serde::Serializer>(
    d: &[softmax_lab_core::Direction],
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_seq(d.iter().map(|d| d.name()))
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
    /// Throughput: how cases are timed.
    pub throughput: Option<ThroughputSpec>,
    /// Training: the study to run.
    pub training: Option<softmax_lab_training::Spec>,
    /// Whether this is the `--quick` form.
    pub quick: bool,
    /// Accuracy and overflow: each variant call runs with flush-to-zero and
    /// denormals-are-zero set (x86_64 MXCSR), restored after the call.
    pub flush_subnormals: bool,
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
    dtypes: Option<S<Vec<S<String>>>>,
    seed: u64,
    n: Option<S<Vec<S<i64>>>>,
    rows: Option<S<i64>>,
    generators: Option<S<Vec<S<RawGenerator>>>>,
    // Tables with dotted sub-tables ([sweep.scale], [quick.sweep.scale],
    // [training.quick]) cannot be `Spanned` in toml 0.8; errors about them point
    // at a spanned value inside, or at `kind`.
    sweep: Option<RawSweep>,
    tiny_grad_threshold: Option<S<f64>>,
    flush_subnormals: Option<S<bool>>,
    throughput: Option<S<RawThroughput>>,
    training: Option<softmax_lab_training::RawSpec>,
    quick: Option<RawQuick>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawThroughput {
    threads: Option<S<Vec<S<i64>>>>,
    bytes_per_case: Option<S<i64>>,
    samples: Option<S<i64>>,
    max_seconds_per_case: Option<S<f64>>,
    directions: Option<S<Vec<S<String>>>>,
    hsoftmax_vocab: Option<S<Vec<S<i64>>>>,
    hsoftmax_dim: Option<S<i64>>,
    shards: Option<S<Vec<S<i64>>>>,
    out_of_cache_n: Option<S<Vec<S<i64>>>>,
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
    dtypes: Option<S<Vec<S<String>>>>,
    samples: Option<S<i64>>,
    max_seconds_per_case: Option<S<f64>>,
    bytes_per_case: Option<S<i64>>,
    hsoftmax_vocab: Option<S<Vec<S<i64>>>>,
    shards: Option<S<Vec<S<i64>>>>,
    out_of_cache_n: Option<S<Vec<S<i64>>>>,
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

/// The span of the temperature value `t` of a sweep (its `values` entry, else its
/// `from`/`to`, else the whole axis), for errors about one temperature.
fn temperature_value_span(sweep: Option<&RawSweep>, t: f64) -> Option<Range<usize>> {
    let g = sweep?.temperature.as_ref()?;
    let r = g.get_ref();
    let listed = r
        .values
        .iter()
        .flat_map(|v| v.get_ref().iter())
        .chain(r.from.iter())
        .chain(r.to.iter());
    Some(
        listed
            .filter(|v| *v.get_ref() == t)
            .map(|v| v.span())
            .next()
            .unwrap_or(g.span()),
    )
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

    // Fields given to a kind that ignores them are errors.
    let misplaced = |span: Option<Range<usize>>, field: &str, applies: &str| match span {
        Some(span) => Err(cx.err(
            span,
            format!(
                "`{field}` does not apply to kind = \"{}\" (it applies to {applies})",
                kind.name()
            ),
        )),
        None => Ok(()),
    };
    let quick_raw = raw.quick.as_ref();
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
    if !kind.takes_rows() {
        let rows_kinds = "accuracy, overflow, gradients and throughput";
        misplaced(
            raw.variants.as_ref().map(|v| v.span()),
            "variants",
            rows_kinds,
        )?;
        misplaced(
            raw.families.as_ref().map(|v| v.span()),
            "families",
            rows_kinds,
        )?;
        misplaced(raw.dtypes.as_ref().map(|v| v.span()), "dtypes", rows_kinds)?;
        misplaced(raw.n.as_ref().map(|v| v.span()), "n", rows_kinds)?;
        misplaced(
            raw.generators.as_ref().map(|v| v.span()),
            "generators",
            rows_kinds,
        )?;
    }
    if !matches!(kind, Kind::Accuracy | Kind::Overflow | Kind::Gradients) {
        let applies = "accuracy, overflow and gradients";
        misplaced(raw.rows.as_ref().map(|v| v.span()), "rows", applies)?;
        misplaced(raw.sweep.as_ref().map(sweep_span), "sweep", applies)?;
    }
    if kind != Kind::Throughput {
        misplaced(
            raw.throughput.as_ref().map(|v| v.span()),
            "[throughput]",
            "throughput",
        )?;
    }
    if kind != Kind::Training {
        misplaced(
            raw.training.as_ref().map(|_| raw.kind.span()),
            "[training]",
            "training",
        )?;
    }
    if kind == Kind::Claims || kind == Kind::Training {
        if let Some(q) = &raw.quick {
            return Err(cx.err(
                quick_span(q),
                format!(
                    "`[quick]` does not apply to kind = \"{}\"{}",
                    kind.name(),
                    if kind == Kind::Training {
                        " (put quick overrides in `[training.quick]`)"
                    } else {
                        " (its quick form is built in)"
                    }
                ),
            ));
        }
    }
    if let (Some(q), true) = (quick_raw, kind != Kind::Throughput) {
        let span = Some(quick_span(q));
        if q.samples.is_some()
            || q.max_seconds_per_case.is_some()
            || q.bytes_per_case.is_some()
            || q.hsoftmax_vocab.is_some()
            || q.shards.is_some()
            || q.out_of_cache_n.is_some()
            || q.dtypes.is_some()
        {
            misplaced(
                span,
                "quick.samples/max_seconds_per_case/bytes_per_case/hsoftmax_vocab/shards/\
                 out_of_cache_n/dtypes",
                "throughput",
            )?;
        }
    }
    if let (Some(q), true) = (quick_raw, kind == Kind::Throughput) {
        let span = Some(quick_span(q));
        if q.rows.is_some() || q.sweep.is_some() {
            misplaced(
                span,
                "quick.rows/quick.sweep",
                "accuracy, overflow and gradients",
            )?;
        }
    }

    let description = raw.description.clone().unwrap_or_default();
    let empty = Scenario {
        name: name.clone(),
        source: path.to_path_buf(),
        description: description.clone(),
        kind,
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
        quick: false,
        flush_subnormals: false,
    };
    match kind {
        Kind::Claims => {
            let quick = Scenario {
                quick: true,
                ..empty.clone()
            };
            return Ok(ScenarioFile { full: empty, quick });
        }
        Kind::Training => {
            let Some(t) = &raw.training else {
                return Err(cx.err(
                    raw.kind.span(),
                    "kind = \"training\" needs a `[training]` section (see scenarios/README.md)",
                ));
            };
            let spec = |quick: bool| t.validate(quick).map_err(|e| cx.err(e.span, e.message));
            let full = Scenario {
                training: Some(spec(false)?),
                ..empty.clone()
            };
            let quick = Scenario {
                training: Some(spec(true)?),
                quick: true,
                ..empty
            };
            return Ok(ScenarioFile { full, quick });
        }
        _ => {}
    }
    let required = |field: &'static str| {
        cx.err(
            raw.kind.span(),
            format!("kind = \"{}\" needs `{field}`", kind.name()),
        )
    };

    // Variants: ids and whole families, in registry order.
    let scored = kind != Kind::Throughput;
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

    let dtype_list = |d: &S<Vec<S<String>>>, what: &str| -> Result<Vec<DType>, ScenarioError> {
        if d.get_ref().is_empty() {
            return Err(cx.err(
                d.span(),
                format!("`{what}` is empty: list at least one of f16, bf16, f32, f64"),
            ));
        }
        let mut dtypes = Vec::new();
        for d in d.get_ref() {
            let dt: DType =
                d.get_ref()
                    .parse()
                    .map_err(|e: softmax_lab_core::dtype::UnknownDType| {
                        cx.err(d.span(), e.to_string())
                    })?;
            if !dtypes.contains(&dt) {
                dtypes.push(dt);
            }
        }
        dtypes.sort();
        Ok(dtypes)
    };
    let dtypes = dtype_list(
        raw.dtypes.as_ref().ok_or_else(|| required("dtypes"))?,
        "dtypes",
    )?;

    let n = row_lengths(&cx, raw.n.as_ref().ok_or_else(|| required("n"))?, "n")?;
    let rows = match (&raw.rows, kind) {
        (_, Kind::Throughput) => 0,
        (Some(r), _) => positive_count(&cx, r, "rows")?,
        (None, _) => return Err(required("rows")),
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

    let raw_sweep = raw.sweep.as_ref();
    let (scale, temperature) = sweep_axes(&cx, raw_sweep, (vec![1.0], vec![1.0]))?;
    let takes_temperature = variants
        .iter()
        .filter_map(|id| registry.get(id).ok())
        .any(|v| v.info().temperature);
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
    check_temperature(&temperature, raw_sweep, &dtypes)?;

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

    let flush_subnormals = match &raw.flush_subnormals {
        None => false,
        Some(s) if !matches!(kind, Kind::Accuracy | Kind::Overflow) => {
            return Err(cx.err(
                s.span(),
                format!(
                    "`flush_subnormals` applies only to kind = \"accuracy\" or \"overflow\", not \"{}\"",
                    kind.name()
                ),
            ))
        }
        Some(s) if *s.get_ref() && !softmax_lab_core::fpenv::FlushGuard::supported() => {
            return Err(cx.err(
                s.span(),
                "`flush_subnormals = true` needs x86_64 (flush-to-zero and \
                 denormals-are-zero are set through its MXCSR register)",
            ))
        }
        Some(s) => *s.get_ref(),
    };

    let throughput = if kind == Kind::Throughput {
        Some(throughput_spec(
            &cx,
            raw.throughput.as_ref().map(|t| t.get_ref()),
        )?)
    } else {
        None
    };

    if let (Some(t), Some(raw_t)) = (&throughput, raw.throughput.as_ref()) {
        check_out_of_cache_n(
            &cx,
            &t.out_of_cache_n,
            &n,
            raw_t.get_ref().out_of_cache_n.as_ref(),
            "n",
        )?;
    }
    let full = Scenario {
        variants,
        dtypes,
        n,
        rows,
        generators,
        scale,
        temperature,
        tiny_grad_threshold,
        throughput,
        flush_subnormals,
        ..empty
    };

    let q = quick_raw;
    let quick_n = match q.and_then(|q| q.n.as_ref()) {
        Some(v) => row_lengths(&cx, v, "quick.n")?,
        None => full.n.clone(),
    };
    let quick_rows = match (q.and_then(|q| q.rows.as_ref()), kind) {
        (_, Kind::Throughput) => 0,
        (Some(v), _) => positive_count(&cx, v, "quick.rows")?,
        (None, _) => (full.rows / 8).max(1),
    };
    let quick_dtypes = match q.and_then(|q| q.dtypes.as_ref()) {
        Some(d) => dtype_list(d, "quick.dtypes")?,
        None => full.dtypes.clone(),
    };
    let quick_sweep = q.and_then(|q| q.sweep.as_ref());
    let (quick_scale, quick_temperature) = sweep_axes(
        &cx,
        quick_sweep,
        (thinned(&full.scale), thinned(&full.temperature)),
    )?;
    check_temperature(&quick_temperature, quick_sweep, &quick_dtypes)?;
    let quick_throughput = match (&full.throughput, q) {
        (Some(t), q) => Some(quick_throughput_spec(&cx, t, q)?),
        (None, _) => None,
    };
    if let (Some(t), Some(qr)) = (&quick_throughput, q) {
        let span = qr.out_of_cache_n.as_ref().or(raw
            .throughput
            .as_ref()
            .and_then(|r| r.get_ref().out_of_cache_n.as_ref()));
        check_out_of_cache_n(&cx, &t.out_of_cache_n, &quick_n, span, "quick.n")?;
    }
    let quick = Scenario {
        n: quick_n,
        rows: quick_rows,
        dtypes: quick_dtypes,
        scale: quick_scale,
        temperature: quick_temperature,
        throughput: quick_throughput,
        quick: true,
        ..full.clone()
    };
    let raw_t = raw.throughput.as_ref().map(|t| t.get_ref());
    let full_spans = SizeSpans {
        n: raw.n.as_ref(),
        rows: raw.rows.as_ref(),
        bytes_per_case: raw_t.and_then(|t| t.bytes_per_case.as_ref()),
        hsoftmax_vocab: raw_t.and_then(|t| t.hsoftmax_vocab.as_ref()),
        hsoftmax_dim: raw_t.and_then(|t| t.hsoftmax_dim.as_ref()),
        fallback: raw.kind.span(),
    };
    check_memory(&cx, &full, &full_spans, limits)?;
    let quick_spans = SizeSpans {
        n: q.and_then(|q| q.n.as_ref()).or(full_spans.n),
        rows: q.and_then(|q| q.rows.as_ref()).or(full_spans.rows),
        bytes_per_case: q
            .and_then(|q| q.bytes_per_case.as_ref())
            .or(full_spans.bytes_per_case),
        hsoftmax_vocab: q
            .and_then(|q| q.hsoftmax_vocab.as_ref())
            .or(full_spans.hsoftmax_vocab),
        ..full_spans
    };
    check_memory(&cx, &quick, &quick_spans, limits)?;
    Ok(ScenarioFile { full, quick })
}

/// Where the size fields of one form of a scenario are written (for errors).
struct SizeSpans<'a> {
    n: Option<&'a S<Vec<S<i64>>>>,
    rows: Option<&'a S<i64>>,
    bytes_per_case: Option<&'a S<i64>>,
    hsoftmax_vocab: Option<&'a S<Vec<S<i64>>>>,
    hsoftmax_dim: Option<&'a S<i64>>,
    fallback: Range<usize>,
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

/// An error at the field that makes `s` exceed `limits`, if it does.
fn check_memory(
    cx: &Ctx,
    s: &Scenario,
    spans: &SizeSpans,
    limits: &Limits,
) -> Result<(), ScenarioError> {
    let Some(max) = limits.max_memory_bytes else {
        return Ok(());
    };
    let e = peak_memory(s);
    if e.bytes <= max {
        return Ok(());
    }
    let in_list = |list: Option<&S<Vec<S<i64>>>>, v: usize| {
        list.and_then(|l| {
            l.get_ref()
                .iter()
                .find(|x| *x.get_ref() == v as i64)
                .map(|x| x.span())
        })
    };
    let (field, span) = match e.term {
        Term::N(n) => ("n", in_list(spans.n, n)),
        Term::Rows => ("rows", spans.rows.map(|r| r.span())),
        Term::BytesPerCase => (
            "throughput.bytes_per_case",
            spans.bytes_per_case.map(|r| r.span()),
        ),
        Term::HsoftmaxVocab(v) => (
            "throughput.hsoftmax_vocab",
            in_list(spans.hsoftmax_vocab, v),
        ),
        Term::HsoftmaxDim => (
            "throughput.hsoftmax_dim",
            spans.hsoftmax_dim.map(|r| r.span()),
        ),
        Term::Base => ("the scenario", None),
    };
    Err(cx.err(
        span.unwrap_or_else(|| spans.fallback.clone()),
        format!(
            "{}`{field}` makes the run need about {} of memory (estimated peak), more than the \
             {} it may use (the memory available now, or --max-memory): make it smaller",
            if s.quick { "in the --quick form, " } else { "" },
            format_bytes(e.bytes),
            format_bytes(max)
        ),
    ))
}

/// Default timed samples per throughput case.
const DEFAULT_SAMPLES: usize = 15;
/// Default time budget of one participant of a throughput case, seconds.
const DEFAULT_MAX_SECONDS_PER_CASE: f64 = 0.5;
/// Default input bytes per timed call: 256 KiB, so that input and output of the
/// small-row cases (512 KiB) stay inside a 1 MiB L2.
const DEFAULT_BYTES_PER_CASE: usize = 256 * 1024;

fn count_list(
    cx: &Ctx,
    v: &S<Vec<S<i64>>>,
    what: &str,
    min: i64,
) -> Result<Vec<usize>, ScenarioError> {
    let mut out = Vec::new();
    for x in v.get_ref() {
        let k = *x.get_ref();
        if k < min {
            return Err(cx.err(
                x.span(),
                format!("`{what}` values must be whole numbers >= {min}, got {k}"),
            ));
        }
        let k = k as usize;
        if !out.contains(&k) {
            out.push(k);
        }
    }
    Ok(out)
}

/// Every `out_of_cache_n` value must be one of the row lengths measured.
fn check_out_of_cache_n(
    cx: &Ctx,
    cold: &[usize],
    n: &[usize],
    span: Option<&S<Vec<S<i64>>>>,
    n_name: &str,
) -> Result<(), ScenarioError> {
    match cold.iter().find(|c| !n.contains(c)) {
        Some(c) => Err(cx.err(
            span.map_or(0..0, |v| v.span()),
            format!(
                "`out_of_cache_n` value {c} is not one of the row lengths {n_name} = {n:?}: \
                 list row lengths that are measured"
            ),
        )),
        None => Ok(()),
    }
}

/// The `[throughput]` section, defaults filled in.
fn throughput_spec(cx: &Ctx, raw: Option<&RawThroughput>) -> Result<ThroughputSpec, ScenarioError> {
    use softmax_lab_core::Direction;
    let threads =
        match raw.and_then(|r| r.threads.as_ref()) {
            Some(t) if t.get_ref().is_empty() => return Err(cx.err(
                t.span(),
                "`throughput.threads` is empty: list thread counts (0 = every core), e.g. [1, 0]",
            )),
            Some(t) => {
                let threads = count_list(cx, t, "throughput.threads", 0)?;
                if let Some(x) = t
                    .get_ref()
                    .iter()
                    .find(|x| *x.get_ref() > MAX_THREADS as i64)
                {
                    return Err(cx.err(
                        x.span(),
                        format!(
                            "`throughput.threads` values must be <= {MAX_THREADS} (0 = every \
                             core), got {}",
                            x.get_ref()
                        ),
                    ));
                }
                threads
            }
            None => vec![1, 0],
        };
    let bytes_per_case = match raw.and_then(|r| r.bytes_per_case.as_ref()) {
        Some(b) => {
            let v = positive_count(cx, b, "throughput.bytes_per_case")?;
            if v < 1024 {
                return Err(cx.err(
                    b.span(),
                    format!("`throughput.bytes_per_case` must be >= 1024, got {v}"),
                ));
            }
            v
        }
        None => DEFAULT_BYTES_PER_CASE,
    };
    let samples = match raw.and_then(|r| r.samples.as_ref()) {
        Some(v) => samples_count(cx, v, "throughput.samples")?,
        None => DEFAULT_SAMPLES,
    };
    let max_seconds_per_case = match raw.and_then(|r| r.max_seconds_per_case.as_ref()) {
        Some(v) => seconds(cx, v, "throughput.max_seconds_per_case")?,
        None => DEFAULT_MAX_SECONDS_PER_CASE,
    };
    let directions = match raw.and_then(|r| r.directions.as_ref()) {
        Some(d) => {
            if d.get_ref().is_empty() {
                return Err(cx.err(
                    d.span(),
                    "`throughput.directions` is empty: list forward and/or backward",
                ));
            }
            let mut out = Vec::new();
            for x in d.get_ref() {
                let dir = Direction::ALL
                    .into_iter()
                    .find(|dir| dir.name() == x.get_ref())
                    .ok_or_else(|| {
                        cx.err(
                            x.span(),
                            format!(
                                "unknown direction '{}': expected one of forward, backward",
                                x.get_ref()
                            ),
                        )
                    })?;
                if !out.contains(&dir) {
                    out.push(dir);
                }
            }
            out.sort();
            out
        }
        None => Direction::ALL.to_vec(),
    };
    let hsoftmax_vocab = match raw.and_then(|r| r.hsoftmax_vocab.as_ref()) {
        Some(v) => count_list(cx, v, "throughput.hsoftmax_vocab", 2)?,
        None => Vec::new(),
    };
    let hsoftmax_dim = match raw.and_then(|r| r.hsoftmax_dim.as_ref()) {
        Some(v) => positive_count(cx, v, "throughput.hsoftmax_dim")?,
        None => 64,
    };
    let shards = match raw.and_then(|r| r.shards.as_ref()) {
        Some(v) => count_list(cx, v, "throughput.shards", 1)?,
        None => Vec::new(),
    };
    if let Some(&k) = shards
        .iter()
        .find(|&&k| k > softmax_lab_logsumexp::sharded::MAX_SHARDS)
    {
        let span = raw
            .and_then(|r| r.shards.as_ref())
            .map_or(0..0, |s| s.span());
        return Err(cx.err(
            span,
            format!(
                "`throughput.shards` values must be <= {}, got {k}",
                softmax_lab_logsumexp::sharded::MAX_SHARDS
            ),
        ));
    }
    let out_of_cache_n = match raw.and_then(|r| r.out_of_cache_n.as_ref()) {
        Some(v) => count_list(cx, v, "throughput.out_of_cache_n", 1)?,
        None => Vec::new(),
    };
    Ok(ThroughputSpec {
        threads,
        bytes_per_case,
        samples,
        max_seconds_per_case,
        directions,
        hsoftmax_vocab,
        hsoftmax_dim,
        shards,
        out_of_cache_n,
    })
}

fn seconds(cx: &Ctx, v: &S<f64>, what: &str) -> Result<f64, ScenarioError> {
    let x = *v.get_ref();
    if !(x.is_finite() && x > 0.0) {
        return Err(cx.err(
            v.span(),
            format!("`{what}` must be a number of seconds > 0, got {x}"),
        ));
    }
    Ok(x)
}

fn samples_count(cx: &Ctx, v: &S<i64>, what: &str) -> Result<usize, ScenarioError> {
    let k = positive_count(cx, v, what)?;
    if !(3..=10_000).contains(&k) {
        return Err(cx.err(
            v.span(),
            format!("`{what}` must be from 3 to 10000 (a median needs a few samples), got {k}"),
        ));
    }
    Ok(k)
}

/// The quick form of a throughput spec: `[quick]` overrides, else fewer samples.
fn quick_throughput_spec(
    cx: &Ctx,
    full: &ThroughputSpec,
    q: Option<&RawQuick>,
) -> Result<ThroughputSpec, ScenarioError> {
    let samples = match q.and_then(|q| q.samples.as_ref()) {
        Some(v) => samples_count(cx, v, "quick.samples")?,
        None => (full.samples / 3).max(5),
    };
    let max_seconds_per_case = match q.and_then(|q| q.max_seconds_per_case.as_ref()) {
        Some(v) => seconds(cx, v, "quick.max_seconds_per_case")?,
        None => full.max_seconds_per_case / 5.0,
    };
    let bytes_per_case = match q.and_then(|q| q.bytes_per_case.as_ref()) {
        Some(b) => positive_count(cx, b, "quick.bytes_per_case")?.max(1024),
        None => full.bytes_per_case,
    };
    let hsoftmax_vocab = match q.and_then(|q| q.hsoftmax_vocab.as_ref()) {
        Some(v) => count_list(cx, v, "quick.hsoftmax_vocab", 2)?,
        None => full.hsoftmax_vocab.clone(),
    };
    let shards = match q.and_then(|q| q.shards.as_ref()) {
        Some(v) => count_list(cx, v, "quick.shards", 1)?,
        None => full.shards.clone(),
    };
    let out_of_cache_n = match q.and_then(|q| q.out_of_cache_n.as_ref()) {
        Some(v) => count_list(cx, v, "quick.out_of_cache_n", 1)?,
        None => full.out_of_cache_n.clone(),
    };
    Ok(ThroughputSpec {
        samples,
        max_seconds_per_case,
        bytes_per_case,
        hsoftmax_vocab,
        shards,
        out_of_cache_n,
        ..full.clone()
    })
}

/// The largest scenario file read, bytes: the shipped ones are under 4 KiB; a
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
