//! The sweeps of a scenario (`[sweep.scale]`, `[sweep.temperature]`, and their
//! `[quick.sweep]` overrides): what serde reads and the grids they resolve to.

use std::ops::Range;

use serde::Deserialize;

use super::{Ctx, ScenarioError, S};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSweep {
    pub(super) scale: Option<S<RawGrid>>,
    pub(super) temperature: Option<S<RawGrid>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGrid {
    values: Option<S<Vec<S<f64>>>>,
    from: Option<S<f64>>,
    to: Option<S<f64>>,
    points: Option<S<i64>>,
    spacing: Option<S<String>>,
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
pub(super) fn thinned(v: &[f64]) -> Vec<f64> {
    if v.len() <= 3 {
        v.to_vec()
    } else {
        vec![v[0], v[v.len() / 2], v[v.len() - 1]]
    }
}

/// The sweep axes (scale, temperature), each defaulting to `default`.
pub(super) fn sweep_axes(
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
pub(super) fn temperature_span(sweep: Option<&RawSweep>) -> Option<Range<usize>> {
    sweep.and_then(|s| s.temperature.as_ref().map(|t| t.span()))
}

/// The span of the temperature value `t` of a sweep (its `values` entry, else its
/// `from`/`to`, else the whole axis), for errors about one temperature.
pub(super) fn temperature_value_span(sweep: Option<&RawSweep>, t: f64) -> Option<Range<usize>> {
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
