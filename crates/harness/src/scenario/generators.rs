//! The input generators of a scenario (`[[generators]]`): their resolved form
//! ([`Dist`], [`Generator`]), what serde reads, and the checks of each `dist`'s
//! parameters.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use super::{label, quoted, Ctx, ScenarioError, S};

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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGenerator {
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

pub(super) fn generator(cx: &Ctx, g: &S<RawGenerator>) -> Result<Generator, ScenarioError> {
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
