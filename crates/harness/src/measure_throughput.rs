//! Throughput: elements and bytes per second of every variant, against a memory
//! copy of the same buffers (the bandwidth limit) and against candle, measured in
//! one run with the references interleaved so that machine drift cancels.
//!
//! Method, per case (variant × dtype × row length n × threads × direction):
//! - Rows: `max(1, bytes_per_case / (n × element size))`, so every timed call moves
//!   about the same amount of data whatever n is.
//! - Cache regime: the working set of a call is its input plus its output. When it
//!   fits in half the last-level cache the case is `in_cache` and every call reuses
//!   one set of buffers (warm after the warm-up). Otherwise calls rotate through
//!   `max(2, ⌈2 × LLC / working set⌉)` sets of buffers, so each call streams from
//!   memory. Row lengths listed in `out_of_cache_n` are measured in both regimes:
//!   a batch of short rows that fits in cache is also timed rotating through
//!   2 × LLC of buffers, as a model's output layer sees it.
//! - Buffers are allocated and written before timing (a fresh output otherwise
//!   costs page faults as large as the softmax itself); the warm-up calls every
//!   participant twice (once when that call lasts [`SLOW_CALL_S`] or more: it is
//!   then its own calibration).
//! - Samples ([`crate::timing`], the runner every timed table here uses): each
//!   sample times `k` consecutive calls, `k` chosen in the warm-up so that a
//!   sample lasts at least [`MIN_SAMPLE_S`]; the samples of all participants of a
//!   group (dtype, n, threads, direction) are interleaved: sample 1 of every
//!   participant, then sample 2 of every participant, and so on. A group whose
//!   slowest participant would exceed `max_seconds_per_case` takes fewer samples
//!   (never fewer than [`MIN_SAMPLES`]); the `samples` column says how many.
//! - Threads: each group runs inside a rayon pool of that many threads, candle's
//!   rayon work included; variants that do not split rows across threads run on one
//!   whatever the pool (their figures say so, and that is the finding).
//! - Figures: the median over samples of elements per second, with a
//!   distribution-free 95% interval of the median (`stats::median_ci95`); bytes per
//!   second count every element read once and written once, as Dukhan & Ablavatski
//!   (2020) count (forward: 2 × element size per element; backward: 3 × element
//!   size, reading y or x and dy and writing dx).
//! - References, always measured in every group: `memcpy` (the C library's copy of
//!   the input into the output buffers, split over the pool's threads),
//!   `copy_loop` (the same copy as a 32-byte vector load/store loop,
//!   `softmax_lab_simd::copy`) and, forward only, `relu`
//!   (max(x, 0), the cheapest elementwise op, for claim C18); and candle:
//!   `candle_softmax_last_dim` (forward of every softmax-like function, the fused
//!   kernel) or `candle_sigmoid` (sigmoid and hard sigmoid). Backward: candle has no
//!   backward for `softmax_last_dim`, so the reference is candle's autograd through
//!   `candle_softmax` (`candle_log_softmax` for log-softmax, `candle_sigmoid` for
//!   sigmoids), which includes the forward it needs. Candle is timed on tensors
//!   built once ([`Variant::timed_call`]), allocating its output per call as it
//!   does for every user.
//! - `memcpy_elems_per_s` and `ratio_to_memcpy` use the faster of the two copies
//!   in that group: glibc's copy takes a `rep movsb` path for mid-sized buffers
//!   that on some AMD machines (the EPYC VM this was built on: 0.35–0.7 G f32/s in
//!   cache, against 8–15 G/s for the loop) is slower than a softmax, and a
//!   bandwidth reference has to be the machine's limit, not a library's weak spot.
//!   Both rows are in the table, so the difference stays visible.
//!
//! Also measured, by the same runner: hierarchical against full softmax heads
//! (time and operations per target as V grows, targets drawn from a Zipf
//! distribution) and sharded against unsharded softmax (data exchanged per row,
//! speed, and one shard's work and the merge of the shards' summaries timed apart).
//!
//! The rows are [`ThroughputRecord`], [`HsoftmaxRecord`] and [`ShardedRecord`]
//! (declared in `softmax-lab-results`).

use std::sync::{Arc, LazyLock};

use indicatif::{ProgressBar, ProgressStyle};
use rand::Rng;
use rayon::prelude::*;
use softmax_lab_core::maxtail::MaxTail;
use softmax_lab_core::{
    Buffer, DType, Direction, Element, Function, Options, Registry, Rows, RowsMut, TimedCall,
    Variant, VariantError,
};
use softmax_lab_hsoftmax::{Cost, FullSoftmaxHead, HierarchicalSoftmax, OutputHead, Tree};
use softmax_lab_logsumexp::sharded::{
    bytes_exchanged, merge, shard_len, shard_stats, shards_used, ShardedSoftmax,
};

use crate::generate;
use crate::results::records::{HsoftmaxRecord, ShardedRecord, ThroughputRecord};
use crate::results::{ColumnType, Record, Table};
use crate::scenario::{Scenario, ThroughputSpec};
use crate::timing::{self, Estimate, Participant, Plan};
pub use crate::timing::{MIN_SAMPLES, MIN_SAMPLE_S, SLOW_CALL_S};
use crate::HarnessError;

/// The last-level cache size assumed when sysfs does not say (32 MiB).
pub const DEFAULT_LLC_BYTES: usize = 32 << 20;

/// The columns of the main table ("throughput"), one row per case: those of
/// [`ThroughputRecord`].
pub static COLUMNS: LazyLock<Vec<(&'static str, ColumnType)>> =
    LazyLock::new(ThroughputRecord::columns);

/// The last-level cache of CPU 0 in bytes, from sysfs (None when unknown).
pub fn llc_bytes() -> Option<usize> {
    let mut best: Option<(u32, usize)> = None;
    for i in 0..8 {
        let dir = format!("/sys/devices/system/cpu/cpu0/cache/index{i}");
        let (Ok(level), Ok(size)) = (
            std::fs::read_to_string(format!("{dir}/level")),
            std::fs::read_to_string(format!("{dir}/size")),
        ) else {
            continue;
        };
        let Ok(level) = level.trim().parse::<u32>() else {
            continue;
        };
        let size = size.trim();
        let bytes = if let Some(k) = size.strip_suffix('K') {
            k.parse::<usize>().ok().map(|v| v << 10)
        } else if let Some(m) = size.strip_suffix('M') {
            m.parse::<usize>().ok().map(|v| v << 20)
        } else {
            size.parse::<usize>().ok()
        };
        if let Some(b) = bytes {
            if best.is_none_or(|(l, _)| level > l) {
                best = Some((level, b));
            }
        }
    }
    best.map(|(_, b)| b)
}

/// The candle op a function is compared with, per direction.
pub fn candle_reference(function: Function, direction: Direction) -> &'static str {
    let sigmoid_like = matches!(function, Function::Sigmoid | Function::HardSigmoid);
    match (direction, sigmoid_like, function) {
        (_, true, _) => "candle_sigmoid",
        (Direction::Forward, false, _) => "candle_softmax_last_dim",
        (Direction::Backward, false, Function::LogSoftmax) => "candle_log_softmax",
        (Direction::Backward, false, _) => "candle_softmax",
    }
}

/// Bytes moved per element (read once, written once; see the module docs).
pub fn bytes_per_elem(dtype: DType, direction: Direction) -> usize {
    let streams = match direction {
        Direction::Forward => 2,
        Direction::Backward => 3,
    };
    streams * dtype.size_bytes()
}

/// One timed thing in a group.
enum Who {
    /// Copy the input into the output with the C library's `memcpy`.
    Memcpy,
    /// Copy the input into the output with a vector load/store loop.
    CopyLoop,
    /// max(x, 0) elementwise.
    Relu,
    /// A registered variant.
    Variant(Arc<dyn Variant>),
}

impl Who {
    fn id(&self) -> &'static str {
        match self {
            Who::Memcpy => "memcpy",
            Who::CopyLoop => "copy_loop",
            Who::Relu => "relu",
            Who::Variant(v) => v.info().id,
        }
    }
}

/// The buffers of one group: `sets` copies of each; the context every
/// participant of the group calls on.
struct Buffers {
    x: Vec<Buffer>,
    out: Vec<Buffer>,
    dy: Vec<Buffer>,
    /// y = f(x) per function, computed once per set by the first variant of that
    /// function (backward only).
    y: Vec<(Function, Vec<Buffer>)>,
}

fn variant_error(s: &Scenario, id: &str, dtype: DType, e: VariantError) -> HarnessError {
    HarnessError::Variant {
        scenario: s.name.clone(),
        variant: id.to_string(),
        dtype: dtype.name().into(),
        source: Box::new(e),
    }
}

/// Fill a buffer with a non-zero value so that its pages are mapped and written
/// before any timing.
fn touched(dtype: DType, len: usize) -> Buffer {
    let mut b = Buffer::zeros(dtype, len);
    match b.rows_mut() {
        RowsMut::F16(v) => v.fill(Element::from_f64(1.0)),
        RowsMut::BF16(v) => v.fill(Element::from_f64(1.0)),
        RowsMut::F32(v) => v.fill(1.0),
        RowsMut::F64(v) => v.fill(1.0),
    }
    b
}

/// `body(dst, src)` on the calling thread for small or one-thread cases, else on
/// one contiguous chunk per thread of the current pool (every reference op).
fn split_over_threads<T: Send + Sync>(
    src: &[T],
    dst: &mut [T],
    body: impl Fn(&mut [T], &[T]) + Sync,
) {
    let t = rayon::current_num_threads();
    if t == 1 || src.len() < (1 << 16) {
        body(dst, src);
    } else {
        let chunk = src.len().div_ceil(t);
        dst.par_chunks_mut(chunk)
            .zip(src.par_chunks(chunk))
            .for_each(|(o, i)| body(o, i));
    }
}

fn par_copy<T: Copy + Send + Sync>(src: &[T], dst: &mut [T]) {
    split_over_threads(src, dst, |o, i| o.copy_from_slice(i));
}

fn par_copy_loop<T: softmax_lab_simd::Plain + Send + Sync>(src: &[T], dst: &mut [T]) {
    // Equal lengths by construction (one group, one dtype, one shape).
    split_over_threads(src, dst, |o, i| {
        let _ = softmax_lab_simd::copy(i, o);
    });
}

fn relu_slice<T: Element + Send + Sync>(src: &[T], dst: &mut [T]) {
    split_over_threads(src, dst, |o, i| {
        for (o, &v) in o.iter_mut().zip(i) {
            *o = if v > T::ZERO { v } else { T::ZERO };
        }
    });
}

fn copy_rows(x: Rows<'_>, out: RowsMut<'_>) {
    match (x, out) {
        (Rows::F16(a), RowsMut::F16(b)) => par_copy(a, b),
        (Rows::BF16(a), RowsMut::BF16(b)) => par_copy(a, b),
        (Rows::F32(a), RowsMut::F32(b)) => par_copy(a, b),
        (Rows::F64(a), RowsMut::F64(b)) => par_copy(a, b),
        // Every buffer of a group has the group's dtype.
        _ => {}
    }
}

fn copy_loop_rows(x: Rows<'_>, out: RowsMut<'_>) {
    match (x, out) {
        (Rows::F16(a), RowsMut::F16(b)) => par_copy_loop(a, b),
        (Rows::BF16(a), RowsMut::BF16(b)) => par_copy_loop(a, b),
        (Rows::F32(a), RowsMut::F32(b)) => par_copy_loop(a, b),
        (Rows::F64(a), RowsMut::F64(b)) => par_copy_loop(a, b),
        _ => {}
    }
}

fn relu_rows(x: Rows<'_>, out: RowsMut<'_>) {
    match (x, out) {
        (Rows::F16(a), RowsMut::F16(b)) => relu_slice(a, b),
        (Rows::BF16(a), RowsMut::BF16(b)) => relu_slice(a, b),
        (Rows::F32(a), RowsMut::F32(b)) => relu_slice(a, b),
        (Rows::F64(a), RowsMut::F64(b)) => relu_slice(a, b),
        _ => {}
    }
}

/// The timed participant of `who` in group `g`: each call runs on the next buffer
/// set (so out-of-cache groups stream from memory), through the variant's prepared
/// calls where it has them (one per set).
fn participant(
    who: &Who,
    g: &Group,
    mut prepared: Vec<TimedCall>,
) -> Participant<'static, Buffers, VariantError> {
    let (sets, n, direction) = (g.sets, g.n, g.direction);
    let mut next = 0usize;
    let mut rotate = move || {
        let k = next;
        next = (k + 1) % sets;
        k
    };
    match who {
        Who::Memcpy => Participant::new(who.id(), move |b: &mut Buffers| {
            let k = rotate();
            copy_rows(b.x[k].rows(), b.out[k].rows_mut());
            Ok(())
        }),
        Who::CopyLoop => Participant::new(who.id(), move |b: &mut Buffers| {
            let k = rotate();
            copy_loop_rows(b.x[k].rows(), b.out[k].rows_mut());
            Ok(())
        }),
        Who::Relu => Participant::new(who.id(), move |b: &mut Buffers| {
            let k = rotate();
            relu_rows(b.x[k].rows(), b.out[k].rows_mut());
            Ok(())
        }),
        Who::Variant(v) => {
            let v = v.clone();
            let opts = Options::default();
            Participant::new(who.id(), move |b: &mut Buffers| {
                let k = rotate();
                if let Some(c) = prepared.get_mut(k) {
                    return c();
                }
                match direction {
                    Direction::Forward => v.forward(b.x[k].rows(), n, &opts, b.out[k].rows_mut()),
                    Direction::Backward => {
                        let f = v.info().function;
                        let y =
                            b.y.iter()
                                .find(|(g, _)| *g == f)
                                .map(|(_, y)| &y[k])
                                .ok_or_else(|| VariantError::Backend {
                                    variant: v.info().id.to_string(),
                                    message: "no forward output prepared for the backward".into(),
                                })?;
                        v.backward(
                            b.x[k].rows(),
                            y.rows(),
                            b.dy[k].rows(),
                            n,
                            &opts,
                            b.out[k].rows_mut(),
                        )
                    }
                }
            })
        }
    }
}

/// What a group is.
#[derive(Clone, Copy, Debug)]
struct Group {
    dtype: DType,
    n: usize,
    rows: usize,
    threads: usize,
    direction: Direction,
    working_set: usize,
    in_cache: bool,
    sets: usize,
}

/// The participants of a group, references first.
fn participants(
    s: &Scenario,
    registry: &Registry,
    variants: &[Arc<dyn Variant>],
    g: &Group,
) -> Vec<Who> {
    let mut out = vec![Who::Memcpy, Who::CopyLoop];
    if g.direction == Direction::Forward {
        out.push(Who::Relu);
    }
    let runs = |v: &Arc<dyn Variant>| {
        let info = v.info();
        info.dtypes.contains(&g.dtype) && (g.direction == Direction::Forward || info.has_backward)
    };
    let mut ids: Vec<&'static str> = Vec::new();
    for v in variants.iter().filter(|v| runs(v)) {
        let r = candle_reference(v.info().function, g.direction);
        if !ids.contains(&r) && !s.variants.iter().any(|id| id == r) {
            if let Ok(c) = registry.get(r) {
                if runs(&c) {
                    ids.push(r);
                    out.push(Who::Variant(c));
                }
            }
        }
    }
    out.extend(
        variants
            .iter()
            .filter(|v| runs(v))
            .map(|v| Who::Variant(v.clone())),
    );
    out
}

/// Measure one group: buffers, warm-up, interleaved samples. Returns the rows.
fn measure_group(
    s: &Scenario,
    registry: &Registry,
    variants: &[Arc<dyn Variant>],
    spec: &ThroughputSpec,
    g: &Group,
    llc: usize,
) -> Result<Vec<ThroughputRecord>, HarnessError> {
    let len = g.rows * g.n;
    let gen = &s.generators[0];
    let mut bufs = Buffers {
        x: Vec::new(),
        out: Vec::new(),
        dy: Vec::new(),
        y: Vec::new(),
    };
    // One set of inputs is drawn; the other sets (out of cache: enough of them
    // to pass twice the last-level cache) are copies of it at other addresses.
    // Only the addresses matter for the cache; drawing every set afresh spent
    // more time than timing the group (hundreds of sets, millions of normal
    // draws each, on a 300 MiB cache).
    let mut rng = generate::stream(s.seed, &[g.n as u64, 0, 0]);
    let x = generate::generate(&gen.dist, g.dtype, g.n, g.rows, 1.0, &mut rng).map_err(|e| {
        HarnessError::Variant {
            scenario: s.name.clone(),
            variant: String::new(),
            dtype: g.dtype.name().into(),
            source: Box::new(VariantError::Backend {
                variant: gen.name.clone(),
                message: e.to_string(),
            }),
        }
    })?;
    let x = Buffer::from_f64(g.dtype, &x);
    let dy = (g.direction == Direction::Backward).then(|| {
        let mut rng = generate::stream(s.seed, &[g.n as u64, 0, 1]);
        let normal = crate::scenario::Dist::Normal {
            mean: 0.0,
            std: 1.0,
        };
        let dy = generate::generate(&normal, g.dtype, g.n, g.rows, 1.0, &mut rng)
            .unwrap_or_else(|_| vec![1.0; len]);
        Buffer::from_f64(g.dtype, &dy)
    });
    for _ in 0..g.sets {
        bufs.x.push(x.clone());
        bufs.out.push(touched(g.dtype, len));
        if let Some(dy) = &dy {
            bufs.dy.push(dy.clone());
        }
    }
    let mut whos = participants(s, registry, variants, g);
    // Variants that time themselves (external command variants) leave the
    // runner's participants; their figures are marked `timing = self`.
    let mut selfs: Vec<(Who, Estimate)> = Vec::new();
    let mut k = 0;
    while k < whos.len() {
        if let Who::Variant(v) = &whos[k] {
            let dy = bufs.dy.first().map_or(bufs.x[0].rows(), |d| d.rows());
            let secs =
                timing::self_timed(&**v, g.direction, bufs.x[0].rows(), dy, g.n, spec.samples);
            if let Some(secs) = secs {
                let secs = secs.map_err(|e| variant_error(s, v.info().id, g.dtype, e))?;
                let rates: Vec<f64> = secs.iter().map(|t| len as f64 / t).collect();
                selfs.push((whos.remove(k), Estimate::of(&rates)));
                continue;
            }
        }
        k += 1;
    }
    let opts = Options::default();
    // y = f(x) for the backward, per function, from its first variant.
    if g.direction == Direction::Backward {
        for who in &whos {
            let Who::Variant(v) = who else { continue };
            let f = v.info().function;
            if bufs.y.iter().any(|(h, _)| *h == f) {
                continue;
            }
            let mut y = touched(g.dtype, len);
            v.forward(bufs.x[0].rows(), g.n, &opts, y.rows_mut())
                .map_err(|e| variant_error(s, v.info().id, g.dtype, e))?;
            bufs.y.push((f, vec![y; g.sets]));
        }
    }
    let mut ps = Vec::with_capacity(whos.len());
    for who in &whos {
        let mut prepared = Vec::new();
        if let Who::Variant(v) = who {
            for k in 0..g.sets {
                let dy = if g.direction == Direction::Backward {
                    bufs.dy[k].rows()
                } else {
                    bufs.x[k].rows()
                };
                match v.timed_call(g.direction, bufs.x[k].rows(), dy, g.n, &opts) {
                    Some(Ok(c)) => prepared.push(c),
                    Some(Err(e)) => return Err(variant_error(s, v.info().id, g.dtype, e)),
                    None => break,
                }
            }
        }
        ps.push(participant(who, g, prepared));
    }
    // Warm-up and calibration: one call that is not a sample (code, caches,
    // candle's first allocation), then one timed call (none when the first took
    // SLOW_CALL_S) sets the calls per sample and, for calls slower than the case
    // budget allows, the number of samples (at least 3).
    let plan = Plan::new(spec.samples, spec.max_seconds_per_case);
    let timings = timing::run(&plan, &mut bufs, ps)
        .map_err(|(j, e)| variant_error(s, whos[j].id(), g.dtype, e))?;
    let est: Vec<Estimate> = timings
        .iter()
        .map(|t| Estimate::of(&t.rates(len as f64)))
        .collect();
    let median_of = |id: &str| {
        whos.iter()
            .position(|w| w.id() == id)
            .map_or(f64::NAN, |j| est[j].median)
    };
    // The bandwidth reference: the faster of the two copies (see the module docs).
    let memcpy = median_of("memcpy").max(median_of("copy_loop"));
    let mut rows = Vec::new();
    let runner = whos.len();
    let all = whos
        .iter()
        .zip(&est)
        .chain(selfs.iter().map(|(w, e)| (w, e)));
    for (j, (who, e)) in all.enumerate() {
        let (family, function) = match who {
            Who::Memcpy | Who::CopyLoop => ("reference".to_string(), "copy".to_string()),
            Who::Relu => ("reference".to_string(), "relu".to_string()),
            Who::Variant(v) => (
                v.info().family.name().to_string(),
                v.info().function.name().to_string(),
            ),
        };
        let (candle_id, candle) = match who {
            Who::Variant(v) => {
                let r = candle_reference(v.info().function, g.direction);
                (r.to_string(), median_of(r))
            }
            Who::Relu => {
                let r = candle_reference(Function::Sigmoid, g.direction);
                (r.to_string(), median_of(r))
            }
            Who::Memcpy | Who::CopyLoop => (String::new(), f64::NAN),
        };
        // The instruction-set path: the simd crate's dispatch for its kernels and
        // its copy loop; the compiler's baseline target for everything else.
        let isa = match who {
            Who::CopyLoop => softmax_lab_simd::Isa::active().name(),
            Who::Variant(v) if v.info().family == softmax_lab_core::Family::Simd => {
                softmax_lab_simd::Isa::active().name()
            }
            _ => "baseline",
        };
        let eps = e.median;
        rows.push(ThroughputRecord {
            scenario: s.name.clone(),
            variant: who.id().to_string(),
            family,
            function,
            dtype: g.dtype,
            n: g.n,
            rows: g.rows,
            threads: g.threads,
            direction: g.direction,
            working_set_bytes: g.working_set,
            in_cache: g.in_cache,
            elems_per_s: eps,
            elems_per_s_ci95_low: e.ci95_low,
            elems_per_s_ci95_high: e.ci95_high,
            bytes_per_s: eps * bytes_per_elem(g.dtype, g.direction) as f64,
            ratio_to_memcpy: eps / memcpy,
            ratio_to_candle: eps / candle,
            memcpy_elems_per_s: memcpy,
            candle_variant: candle_id,
            candle_elems_per_s: candle,
            ns_per_elem: 1e9 / eps,
            samples: e.samples,
            llc_bytes: llc,
            isa: isa.to_string(),
            timing: if j < runner { "runner" } else { "self" }.to_string(),
        });
    }
    Ok(rows)
}

/// The groups of a scenario, in the order they are measured and reported.
fn groups(s: &Scenario, spec: &ThroughputSpec, llc: usize, cores: usize) -> Vec<Group> {
    let mut out = Vec::new();
    for &t in &spec.threads {
        let threads = if t == 0 { cores } else { t };
        for &dtype in &s.dtypes {
            let size = dtype.size_bytes();
            for &n in &s.n {
                let rows = (spec.bytes_per_case / (n * size)).max(1);
                let working_set = 2 * rows * n * size;
                let fits = working_set <= llc / 2;
                let mut regimes = vec![fits];
                if fits && spec.out_of_cache_n.contains(&n) {
                    regimes.push(false);
                }
                for in_cache in regimes {
                    let sets = if in_cache {
                        1
                    } else {
                        (2 * llc).div_ceil(working_set).max(2)
                    };
                    for &direction in &spec.directions {
                        out.push(Group {
                            dtype,
                            n,
                            rows,
                            threads,
                            direction,
                            working_set,
                            in_cache,
                            sets,
                        });
                    }
                }
            }
        }
    }
    out
}

/// Run a throughput scenario: the main table, then "hsoftmax" and "sharded" when
/// the spec asks for them.
pub fn measure(
    s: &Scenario,
    registry: &Registry,
    progress: bool,
) -> Result<Vec<Table>, HarnessError> {
    let Some(spec) = &s.throughput else {
        return Ok(vec![Table::of::<ThroughputRecord>("throughput")]);
    };
    let variants: Vec<Arc<dyn Variant>> = s
        .variants
        .iter()
        .map(|id| registry.get(id))
        .collect::<Result<_, _>>()
        .map_err(|e| variant_error(s, "", DType::F32, e))?;
    let llc = llc_bytes().unwrap_or(DEFAULT_LLC_BYTES);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let groups = groups(s, spec, llc, cores);
    let bar = if progress {
        let b = ProgressBar::new(groups.len() as u64);
        if let Ok(style) =
            ProgressStyle::with_template("{prefix:>24} [{bar:30}] {pos}/{len} groups {elapsed}")
        {
            b.set_style(style.progress_chars("=> "));
        }
        b.set_prefix(s.name.clone());
        b
    } else {
        ProgressBar::hidden()
    };
    let mut main: Vec<ThroughputRecord> = Vec::new();
    let mut pools: Vec<(usize, rayon::ThreadPool)> = Vec::new();
    for g in &groups {
        if !pools.iter().any(|(t, _)| *t == g.threads) {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(g.threads)
                .build()
                .map_err(|e| HarnessError::Variant {
                    scenario: s.name.clone(),
                    variant: String::new(),
                    dtype: String::new(),
                    source: Box::new(VariantError::Backend {
                        variant: "rayon".into(),
                        message: e.to_string(),
                    }),
                })?;
            pools.push((g.threads, pool));
        }
        let pool = pools.iter().find(|(t, _)| *t == g.threads).map(|(_, p)| p);
        let rows = match pool {
            Some(p) => p.install(|| measure_group(s, registry, &variants, spec, g, llc))?,
            None => measure_group(s, registry, &variants, spec, g, llc)?,
        };
        main.extend(rows);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let mut tables = vec![Table::from_records("throughput", &main)];
    if !spec.hsoftmax_vocab.is_empty() {
        tables.push(hsoftmax_table(s, spec));
    }
    if !spec.shards.is_empty() {
        tables.push(sharded_table(s, registry, spec)?);
    }
    Ok(tables)
}

/// The dot products after which the operation count of an output head stops
/// (a prefix of the targets; see `hsoftmax_table`).
const COST_DOT_PRODUCTS: u64 = 1 << 24;

/// The operations of `head` over `targets` in order (target i with input
/// `input(i)`), stopping after the target that brings the dot products to `cap`:
/// the count and how many targets it covers.
fn count_cost<'a>(
    head: &dyn OutputHead<f32>,
    targets: &[usize],
    input: &dyn Fn(usize) -> &'a [f32],
    cap: u64,
) -> (Cost, usize) {
    let mut cost = Cost::default();
    let mut counted = 0usize;
    for (i, &c) in targets.iter().enumerate() {
        std::hint::black_box(head.log_prob(input(i), c, &mut cost));
        counted += 1;
        if cost.dot_products >= cap {
            break;
        }
    }
    (cost, counted)
}

/// Class frequencies ∝ 1 / rank (Zipf with exponent 1), the shape of word counts.
fn zipf(vocab: usize) -> Vec<f64> {
    (1..=vocab).map(|r| 1.0 / r as f64).collect()
}

/// Draw `count` classes from frequencies by inverse CDF.
fn draw(freqs: &[f64], count: usize, rng: &mut impl Rng) -> Vec<usize> {
    let total: f64 = freqs.iter().sum();
    let mut cdf = Vec::with_capacity(freqs.len());
    let mut acc = 0.0;
    for f in freqs {
        acc += f / total;
        cdf.push(acc);
    }
    (0..count)
        .map(|_| {
            let u: f64 = rng.gen();
            cdf.partition_point(|&c| c < u).min(freqs.len() - 1)
        })
        .collect()
}

/// Hierarchical (balanced and Huffman trees) against the full softmax head: time
/// and operations per target log-probability, f32, one thread. A call is one
/// target's log-probability; each head walks the targets in turn.
fn hsoftmax_table(s: &Scenario, spec: &ThroughputSpec) -> Table {
    let mut records = Vec::new();
    let d = spec.hsoftmax_dim;
    for &v in &spec.hsoftmax_vocab {
        let mut rng = generate::stream(s.seed, &[v as u64, 7]);
        let scale = 1.0 / (d as f32).sqrt();
        let mut weights = |rows: usize| -> Vec<f32> {
            (0..rows * d)
                .map(|_| (rng.gen::<f32>() * 2.0 - 1.0) * scale)
                .collect()
        };
        let freqs = zipf(v);
        let heads: Vec<(&str, Box<dyn OutputHead<f32>>)> = vec![
            (
                "full",
                Box::new(FullSoftmaxHead::new(v, d, weights(v))) as Box<dyn OutputHead<f32>>,
            ),
            (
                "balanced",
                Box::new(HierarchicalSoftmax::new(
                    Tree::balanced(v),
                    d,
                    weights(v - 1),
                )),
            ),
            (
                "huffman",
                Box::new(HierarchicalSoftmax::new(
                    Tree::huffman(&freqs),
                    d,
                    weights(v - 1),
                )),
            ),
        ];
        let mut rng = generate::stream(s.seed, &[v as u64, 8]);
        let targets = draw(&freqs, 4096, &mut rng);
        let hidden: Vec<f32> = (0..64 * d).map(|_| rng.gen::<f32>() * 2.0 - 1.0).collect();
        let input = |i: usize| &hidden[(i % 64) * d..(i % 64 + 1) * d];
        // Operations per target (deterministic, untimed; it also warms every head
        // up), counted over the targets in order until COST_DOT_PRODUCTS dot
        // products: every target for the trees (tens of dot products each), a
        // few for the full head, whose cost is the vocabulary for every target
        // (counting it over all 4,096 targets at a vocabulary of 10^6 took three
        // minutes, most of the suite's time outside the timed calls).
        let costs: Vec<(Cost, usize)> = heads
            .iter()
            .map(|(_, h)| count_cost(h.as_ref(), &targets, &input, COST_DOT_PRODUCTS))
            .collect();
        let ps: Vec<Participant<'_, (), std::convert::Infallible>> = heads
            .iter()
            .map(|(name, h)| {
                let (targets, mut next, mut cost) = (&targets, 0usize, Cost::default());
                Participant::new(*name, move |_: &mut ()| {
                    let i = next;
                    next = (i + 1) % targets.len();
                    std::hint::black_box(h.log_prob(input(i), targets[i], &mut cost));
                    Ok(())
                })
            })
            .collect();
        // Calls of tens of nanoseconds: the calibration times eight; a sample never
        // repeats a target.
        let plan = Plan {
            calibration_calls: 8,
            max_calls_per_sample: targets.len(),
            ..Plan::new(spec.samples, f64::INFINITY)
        };
        let timings = match timing::run(&plan, &mut (), ps) {
            Ok(t) => t,
            Err((_, never)) => match never {},
        };
        let est: Vec<Estimate> = timings
            .iter()
            .map(|t| Estimate::of(&t.ns_per_call()))
            .collect();
        let full_ns = est[0].median;
        for (((name, _), e), (cost, counted)) in heads.iter().zip(&est).zip(&costs) {
            let dots = cost.dot_products as f64 / *counted as f64;
            // The full head exponentiates every class; a tree one sigmoid per step.
            let exps = if *name == "full" { v as f64 } else { dots };
            records.push(HsoftmaxRecord {
                scenario: s.name.clone(),
                tree: name.to_string(),
                vocab: v,
                dim: d,
                ns_per_target: e.median,
                ns_per_target_ci95_low: e.ci95_low,
                ns_per_target_ci95_high: e.ci95_high,
                exp_per_target: exps,
                dot_products_per_target: dots,
                speedup_vs_full: full_ns / e.median,
                samples: e.samples,
            });
        }
    }
    Table::from_records("hsoftmax", &records)
}

/// A timed call that merges the k shard summaries of every row of `x` (computed
/// once, beforehand) in the arithmetic type of `dtype` (f32 for f16/bf16/f32).
fn merge_call(
    dtype: DType,
    x: &[f64],
    n: usize,
    k: usize,
) -> impl FnMut(&mut (Buffer, Buffer)) -> Result<(), VariantError> {
    fn summaries<A: softmax_lab_core::Element>(x: &[f64], n: usize, k: usize) -> Vec<MaxTail<A>> {
        let c = shard_len(n, k);
        x.chunks_exact(n)
            .flat_map(|row| row.chunks(c).map(|sh| shard_stats::<f64, A>(sh, 1.0)))
            .collect()
    }
    let used = shards_used(n, k);
    let (s32, s64) = if dtype == DType::F64 {
        (Vec::new(), summaries::<f64>(x, n, k))
    } else {
        (summaries::<f32>(x, n, k), Vec::new())
    };
    move |_| {
        for r in s32.chunks_exact(used) {
            std::hint::black_box(merge(r, 1.0));
        }
        for r in s64.chunks_exact(used) {
            std::hint::black_box(merge(r, 1.0));
        }
        Ok(())
    }
}

/// Sharded softmax (k shards) against the unsharded `stable` softmax on the same
/// rows: speed, the bytes each row's shards exchange, and the two phases timed
/// apart — one shard's work on its entries and the merge of the k summaries —
/// interleaved with the rest. One thread; n is the largest row length of the
/// scenario up to 65536.
fn sharded_table(
    s: &Scenario,
    registry: &Registry,
    spec: &ThroughputSpec,
) -> Result<Table, HarnessError> {
    let mut records = Vec::new();
    let n =
        s.n.iter()
            .copied()
            .filter(|&n| n <= 65_536)
            .max()
            .unwrap_or(65_536);
    let unsharded = registry
        .get("stable")
        .map_err(|e| variant_error(s, "stable", DType::F32, e))?;
    for &dtype in &s.dtypes {
        let size = dtype.size_bytes();
        let rows = (spec.bytes_per_case / (n * size)).max(1);
        let mut rng = generate::stream(s.seed, &[n as u64, 9]);
        let x = generate::generate(&s.generators[0].dist, dtype, n, rows, 1.0, &mut rng)
            .unwrap_or_else(|_| vec![0.0; n * rows]);
        let mut bufs = (Buffer::from_f64(dtype, &x), touched(dtype, n * rows));
        let mut who: Vec<(usize, Arc<dyn Variant>)> = vec![(0, unsharded.clone())];
        for &k in &spec.shards {
            who.push((k, Arc::new(ShardedSoftmax { shards: k })));
        }
        let mut ps: Vec<Participant<'_, (Buffer, Buffer), VariantError>> = who
            .iter()
            .map(|(_, v)| {
                let (v, opts) = (v.clone(), Options::default());
                Participant::new(v.info().id, move |(x, out): &mut (Buffer, Buffer)| {
                    v.forward(x.rows(), n, &opts, out.rows_mut())
                })
            })
            .collect();
        // The phases apart, per k: one shard's work on its ⌈n/k⌉ entries (the same
        // buffers read as k times as many rows of n/k; only where k divides n), and
        // the merge of k precomputed summaries per row.
        let mut phases = Vec::new();
        for &k in &spec.shards {
            let c = shard_len(n, k);
            let work = if n % k == 0 {
                let one = ShardedSoftmax { shards: 1 };
                let opts = Options::default();
                ps.push(Participant::new(
                    format!("shard_work_{k}"),
                    move |(x, out): &mut (Buffer, Buffer)| {
                        one.forward(x.rows(), c, &opts, out.rows_mut())
                    },
                ));
                Some(ps.len() - 1)
            } else {
                None
            };
            ps.push(Participant::new(
                format!("merge_{k}"),
                merge_call(dtype, &x, n, k),
            ));
            phases.push((k, work, ps.len() - 1));
        }
        let plan = Plan {
            max_calls_per_sample: 1 << 16,
            ..Plan::new(spec.samples, f64::INFINITY)
        };
        let names: Vec<String> = ps.iter().map(|p| p.name.clone()).collect();
        let timings = timing::run(&plan, &mut bufs, ps)
            .map_err(|(j, e)| variant_error(s, &names[j], dtype, e))?;
        let est: Vec<Estimate> = timings
            .iter()
            .take(who.len())
            .map(|t| Estimate::of(&t.rates((n * rows) as f64)))
            .collect();
        // Median ns per row of participant j, with `per_row` timed units per row.
        let ns_per_row = |j: usize, per_row: usize| {
            1e9 / Estimate::of(&timings[j].rates((rows * per_row) as f64)).median
        };
        let base = est[0].median;
        for (((k, v), e), (_, work, merge)) in who.iter().zip(&est).skip(1).zip(&phases) {
            records.push(ShardedRecord {
                scenario: s.name.clone(),
                variant: v.info().id.to_string(),
                dtype,
                n,
                shards: *k,
                bytes_exchanged_per_row: bytes_exchanged(*k, dtype),
                elems_per_s: e.median,
                ratio_to_unsharded: e.median / base,
                samples: e.samples,
                shard_work_ns_per_row: work.map_or(f64::NAN, |j| ns_per_row(j, *k)),
                merge_ns_per_row: ns_per_row(*merge, 1),
            });
        }
    }
    Ok(Table::from_records("sharded", &records))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candle_references_follow_the_function_and_direction() {
        assert_eq!(
            candle_reference(Function::Softmax, Direction::Forward),
            "candle_softmax_last_dim"
        );
        assert_eq!(
            candle_reference(Function::LogSoftmax, Direction::Forward),
            "candle_softmax_last_dim"
        );
        assert_eq!(
            candle_reference(Function::LogSoftmax, Direction::Backward),
            "candle_log_softmax"
        );
        assert_eq!(
            candle_reference(Function::Sparsemax, Direction::Backward),
            "candle_softmax"
        );
        assert_eq!(
            candle_reference(Function::HardSigmoid, Direction::Forward),
            "candle_sigmoid"
        );
    }

    #[test]
    fn bytes_count_one_read_and_one_write_per_stream() {
        assert_eq!(bytes_per_elem(DType::F32, Direction::Forward), 8);
        assert_eq!(bytes_per_elem(DType::F16, Direction::Forward), 4);
        assert_eq!(bytes_per_elem(DType::F64, Direction::Backward), 24);
    }

    #[test]
    fn head_costs_stop_at_the_cap_and_keep_the_per_target_figure() {
        let (v, d) = (50, 4);
        let full = FullSoftmaxHead::new(v, d, vec![0.5f32; v * d]);
        let tree = HierarchicalSoftmax::new(Tree::balanced(v), d, vec![0.5f32; (v - 1) * d]);
        let targets: Vec<usize> = (0..40).map(|i| (i * 7) % v).collect();
        let h = vec![0.25f32; d];
        let input = |_: usize| h.as_slice();
        // A cap no count reaches: every target.
        let (c, k) = count_cost(&full, &targets, &input, u64::MAX);
        assert_eq!((c.dot_products, k), (50 * 40, 40));
        let (t_all, k_all) = count_cost(&tree, &targets, &input, u64::MAX);
        assert_eq!(k_all, 40);
        // A cap of 120 dot products: the full head stops after three targets
        // (150), with the same cost per target.
        let (c, k) = count_cost(&full, &targets, &input, 120);
        assert_eq!((c.dot_products, k), (150, 3));
        // The tree (about six decisions a target) stops later, at the first
        // target that reaches 120.
        let (t, k) = count_cost(&tree, &targets, &input, 120);
        assert!(t.dot_products >= 120 && k < 40, "{} {k}", t.dot_products);
        assert!(t.dot_products < t_all.dot_products);
    }

    #[test]
    fn zipf_draws_favour_the_first_classes() {
        let f = zipf(1000);
        let mut rng = generate::stream(1, &[2]);
        let d = draw(&f, 20_000, &mut rng);
        let first = d.iter().filter(|&&c| c == 0).count() as f64 / d.len() as f64;
        // P(class 0) = 1 / H_1000 = 1 / 7.4855 = 0.1336.
        assert!((first - 0.1336).abs() < 0.01, "{first}");
        assert!(d.iter().all(|&c| c < 1000));
    }

    #[test]
    fn relu_and_copy_write_what_they_should() {
        let x = Buffer::from_f64(DType::F32, &[-1.0, 0.5, 2.0, -0.0]);
        let mut out = touched(DType::F32, 4);
        relu_rows(x.rows(), out.rows_mut());
        assert_eq!(out.to_f64(), vec![0.0, 0.5, 2.0, 0.0]);
        copy_rows(x.rows(), out.rows_mut());
        assert_eq!(out.to_f64(), vec![-1.0, 0.5, 2.0, -0.0]);
    }
}
