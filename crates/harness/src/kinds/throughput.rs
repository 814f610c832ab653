//! `kind = "throughput"`: elements and bytes per second of every variant against
//! a memory copy and candle ([`crate::measure_throughput`]). Owns the
//! `[throughput]` section ([`ThroughputSpec`]) and the throughput overrides of
//! `[quick]`; takes `variants`, `families`, `dtypes`, `n` and `generators` but not
//! `rows` (a case's row count follows from `bytes_per_case`) nor `sweep`. Runs
//! any variant, random samples included (no reference is needed to time a call).
//!
//! Quick form: `samples` divided by 3 (at least 5), `max_seconds_per_case`
//! divided by 5, the rest kept unless `[quick]` names it.

use std::ops::Range;

use serde::{Deserialize, Serialize};
use softmax_lab_core::Registry;

use super::{main_records, short, Field, MeasurementKind};
use crate::limits::{mul, Term, MAX_THREADS, THROUGHPUT_BYTES_PER_ELEM};
use crate::results::records::ThroughputRecord;
use crate::results::{ColumnType, Record, Table};
use crate::run::RunOptions;
use crate::scenario::{
    positive_count, span_in_list, Ctx, Kind, RawQuick, Scenario, ScenarioError, Section, S,
};
use crate::HarnessError;
use softmax_lab_core::{DType, Direction};

/// The throughput kind.
pub struct Throughput;

impl MeasurementKind for Throughput {
    fn kind(&self) -> Kind {
        Kind::Throughput
    }

    fn fields(&self) -> &'static [Field] {
        &[
            Field::Variants,
            Field::Families,
            Field::Dtypes,
            Field::N,
            Field::Generators,
            Field::Throughput,
            Field::Quick,
            Field::QuickThroughput,
        ]
    }

    fn needs_reference(&self) -> bool {
        false
    }

    /// The `[throughput]` section and the `[quick]` overrides of it; every
    /// `out_of_cache_n` value must be one of the form's row lengths.
    fn parse(
        &self,
        section: &Section,
        full: &mut Scenario,
        quick: &mut Scenario,
    ) -> Result<(), ScenarioError> {
        let cx = &section.cx;
        let raw_t = section.raw.throughput.as_ref().map(|t| t.get_ref());
        let spec = throughput_spec(cx, raw_t)?;
        if let Some(raw_t) = raw_t {
            check_out_of_cache_n(
                cx,
                &spec.out_of_cache_n,
                &full.n,
                raw_t.out_of_cache_n.as_ref(),
                "n",
            )?;
        }
        let q = section.raw.quick.as_ref();
        let quick_spec = quick_throughput_spec(cx, &spec, q)?;
        if let Some(qr) = q {
            let span = qr
                .out_of_cache_n
                .as_ref()
                .or(raw_t.and_then(|r| r.out_of_cache_n.as_ref()));
            check_out_of_cache_n(cx, &quick_spec.out_of_cache_n, &quick.n, span, "quick.n")?;
        }
        full.throughput = Some(spec);
        quick.throughput = Some(quick_spec);
        Ok(())
    }

    fn size_field(
        &self,
        section: &Section,
        quick: bool,
        term: Term,
    ) -> Option<(&'static str, Option<Range<usize>>)> {
        let t = section.raw.throughput.as_ref().map(|t| t.get_ref());
        let q = section.raw.quick.as_ref().filter(|_| quick);
        match term {
            Term::BytesPerCase => Some((
                "throughput.bytes_per_case",
                q.and_then(|q| q.bytes_per_case.as_ref())
                    .or(t.and_then(|t| t.bytes_per_case.as_ref()))
                    .map(|r| r.span()),
            )),
            Term::HsoftmaxVocab(v) => Some((
                "throughput.hsoftmax_vocab",
                span_in_list(
                    q.and_then(|q| q.hsoftmax_vocab.as_ref())
                        .or(t.and_then(|t| t.hsoftmax_vocab.as_ref())),
                    v,
                ),
            )),
            Term::HsoftmaxDim => Some((
                "throughput.hsoftmax_dim",
                t.and_then(|t| t.hsoftmax_dim.as_ref()).map(|r| r.span()),
            )),
            Term::Base | Term::N(_) | Term::Rows => None,
        }
    }

    fn memory_terms(&self, s: &Scenario, llc_bytes: u64, consider: &mut dyn FnMut(u64, Term)) {
        let Some(t) = &s.throughput else {
            return;
        };
        let sizes = s.dtypes.iter().map(|d| d.size_bytes() as u64);
        let widest = sizes.clone().max().unwrap_or(8);
        let narrowest = sizes.min().unwrap_or(2);
        for &n in &s.n {
            // Rows per case: max(1, bytes_per_case / (n × size)); the case holds
            // at least one row and about bytes_per_case / size elements.
            let per_case_elems = (t.bytes_per_case as u64 / narrowest).max(n as u64);
            let term = if (n as u64).saturating_mul(widest) > t.bytes_per_case as u64 {
                Term::N(n)
            } else {
                Term::BytesPerCase
            };
            consider(mul(per_case_elems, THROUGHPUT_BYTES_PER_ELEM), term);
        }
        // Out-of-cache cases: buffer sets spanning 2 × LLC, input and output.
        if !t.out_of_cache_n.is_empty() {
            consider(mul(llc_bytes, 4), Term::Base);
        }
        // Hierarchical and full heads: V × d f32 weights each, plus per-class
        // frequencies and draws.
        for &v in &t.hsoftmax_vocab {
            let weights = mul(mul(v as u64, t.hsoftmax_dim as u64), 8);
            let term = if (v as u64) >= t.hsoftmax_dim as u64 {
                Term::HsoftmaxVocab(v)
            } else {
                Term::HsoftmaxDim
            };
            consider(weights.saturating_add(mul(v as u64, 64)), term);
        }
    }

    fn main_columns(&self) -> Vec<(&'static str, ColumnType)> {
        ThroughputRecord::columns()
    }

    /// The main table, then "hsoftmax" and "sharded" when the spec asks for them.
    fn measure(
        &self,
        s: &Scenario,
        registry: &Registry,
        opts: &RunOptions,
    ) -> Result<Vec<Table>, HarnessError> {
        crate::measure_throughput::measure(s, registry, opts.progress)
    }

    /// Per variant: the best f32 forward speed in cache on one thread (and its
    /// ratio to candle), and its ratio to memcpy out of cache on every thread.
    fn summarize(&self, s: &Scenario, tables: &[Table]) -> Vec<String> {
        let records: Vec<ThroughputRecord> = main_records(tables);
        let mut lines = Vec::new();
        for id in &s.variants {
            let rows: Vec<&ThroughputRecord> =
                records.iter().filter(|r| &r.variant == id).collect();
            if rows.is_empty() {
                continue;
            }
            let best = |threads_one: bool, in_cache: bool, value: fn(&ThroughputRecord) -> f64| {
                rows.iter()
                    .filter(|r| {
                        r.direction == Direction::Forward
                            && r.dtype == DType::F32
                            && (r.threads == 1) == threads_one
                            && r.in_cache == in_cache
                    })
                    .map(|r| value(r))
                    .filter(|v| !v.is_nan())
                    .fold(f64::NAN, f64::max)
            };
            lines.push(format!(
                "{id:<24} f32 forward: in cache, 1 thread: best {:>9} elems/s ({:>6}x candle); \
                 out of cache, all threads: {:>6}x memcpy",
                short(best(true, true, |r| r.elems_per_s)),
                short(best(true, true, |r| r.ratio_to_candle)),
                short(best(false, false, |r| r.ratio_to_memcpy)),
            ));
        }
        lines
    }
}

// ---------------------------------------------------------------------------------
// The `[throughput]` section.

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

/// The `[throughput]` section as serde reads it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawThroughput {
    pub(crate) threads: Option<S<Vec<S<i64>>>>,
    pub(crate) bytes_per_case: Option<S<i64>>,
    pub(crate) samples: Option<S<i64>>,
    pub(crate) max_seconds_per_case: Option<S<f64>>,
    pub(crate) directions: Option<S<Vec<S<String>>>>,
    pub(crate) hsoftmax_vocab: Option<S<Vec<S<i64>>>>,
    pub(crate) hsoftmax_dim: Option<S<i64>>,
    pub(crate) shards: Option<S<Vec<S<i64>>>>,
    pub(crate) out_of_cache_n: Option<S<Vec<S<i64>>>>,
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
