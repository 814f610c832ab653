//! Cost claims read from the throughput results: C16 (hierarchical softmax), C17
//! (sharding), C18 (sigmoid, hard sigmoid and relu).

use super::*;
use crate::results::records::{HsoftmaxRecord, ShardedRecord, ThroughputRecord};
use softmax_lab_core::Direction;

// ---------------------------------------------------------------------------------
// C16: hierarchical softmax cost.

/// C16, measured: the operation counts at the largest vocabulary counted here and
/// the timing read from the throughput results.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct C16Measure {
    pub vocab: usize,
    pub dim: usize,
    /// Dot products per target: full head and balanced tree.
    pub full_per_target: f64,
    pub tree_per_target: f64,
    /// Whether the tree's cost per target stays within ⌈log2 V⌉ at every V.
    pub log_ok: bool,
    /// Dot products of the whole distribution: tree and full head.
    pub tree_distribution: f64,
    pub full_distribution: f64,
    /// Whether the tree's whole distribution costs at least
    /// [`NO_SAVING_FRACTION`] of the full head's at every V.
    pub no_saving: bool,
    /// (V, speed-up of the balanced tree over the full head) at the largest timed V.
    pub timing: Option<(i64, f64)>,
}

/// C16: the per-target cost must be logarithmic and, where timed, faster than the
/// full head; a whole distribution that costs as much, or no timing, is a caveat.
pub(super) fn decide_c16(m: &C16Measure) -> (Verdict, String) {
    let time_ok = m.timing.is_none_or(|(_, s)| s > 1.0);
    let verdict = if !m.log_ok || !time_ok {
        Verdict::DoesNotHold
    } else if m.no_saving || m.timing.is_none() {
        Verdict::HoldsWithCaveats
    } else {
        Verdict::Holds
    };
    let evidence = format!(
        "at V = {} (d = {}) one target's log-probability costs {} dot products with the full softmax and {} with a balanced tree (≤ ⌈log2 V⌉ at every V: {}); {}; the whole distribution costs {} dot products with the tree against {} with the full head ({} of it; at least {} at every V: {})",
        m.vocab,
        m.dim,
        sig(m.full_per_target, 6),
        sig(m.tree_per_target, 3),
        if m.log_ok { "yes" } else { "no" },
        match m.timing {
            Some((tv, s)) => format!(
                "timed (throughput.json): balanced tree {}× the full head's speed at V = {tv}",
                sig(s, 3)
            ),
            None => "time per target not measured (throughput.json or its hsoftmax table missing)".into(),
        },
        m.tree_distribution,
        m.full_distribution,
        pct(m.tree_distribution / m.full_distribution),
        pct(NO_SAVING_FRACTION),
        if m.no_saving { "yes" } else { "no" },
    );
    (verdict, evidence)
}

pub(super) fn c16(cx: &Ctx) -> Result<Finding, HarnessError> {
    let dim = 16;
    let vocabs: Vec<usize> = cx.q(vec![16, 256, 4096], vec![16, 256, 4096, 65536]);
    let targets = cx.q(50, 200);
    let mut t = cx.table(
        "c16",
        &[
            ("source", ColumnType::Text),
            ("tree", ColumnType::Text),
            ("vocab", ColumnType::Int),
            ("dim", ColumnType::Int),
            ("dot_products_per_target", ColumnType::Float),
            ("distribution_dot_products", ColumnType::Float),
            ("ns_per_target", ColumnType::Float),
            ("speedup_vs_full", ColumnType::Float),
        ],
    );
    let mut log_ok = true;
    let mut no_saving = true;
    let mut last = (0usize, 0.0, 0.0, 0.0);
    let mut full_dist_last = 0.0;
    for &v in &vocabs {
        // Zipf frequencies: the Huffman tree gives frequent classes short paths.
        let freqs: Vec<f64> = (0..v).map(|k| 1.0 / (k + 1) as f64).collect();
        let total: f64 = freqs.iter().sum();
        let mut rng = stream(cx.s.seed, &[0xc1a1, 16, v as u64]);
        let sample: Vec<usize> = (0..targets)
            .map(|_| {
                let u = rng.gen::<f64>() * total;
                let mut acc = 0.0;
                freqs
                    .iter()
                    .position(|&f| {
                        acc += f;
                        acc >= u
                    })
                    .unwrap_or(v - 1)
            })
            .collect();
        let h = vec![0.0f32; dim];
        let per_target = |head: &dyn OutputHead<f32>, k: usize| -> f64 {
            let mut cost = Cost::default();
            for &c in &sample[..k] {
                head.log_prob(&h, c, &mut cost);
            }
            cost.dot_products as f64 / k as f64
        };
        let dist_cost = |head: &dyn OutputHead<f32>| -> f64 {
            let mut cost = Cost::default();
            head.distribution(&h, &mut cost);
            cost.dot_products as f64
        };
        let full = FullSoftmaxHead::new(v, dim, vec![0.0f32; v * dim]);
        // The full head costs V dot products whatever the target: a few suffice.
        let full_pt = per_target(&full, 3.min(targets));
        let full_dist = dist_cost(&full);
        let mut rows = vec![("full", full_pt, full_dist)];
        for (name, tree) in [
            ("balanced", Tree::balanced(v)),
            ("huffman", Tree::huffman(&freqs)),
        ] {
            let depth = tree.depth();
            let inner = tree.inner_nodes();
            let head = HierarchicalSoftmax::new(tree, dim, vec![0.0f32; inner * dim]);
            let pt = per_target(&head, targets);
            let dc = dist_cost(&head);
            if name == "balanced" {
                log_ok &= pt <= depth as f64 && depth <= (v as f64).log2().ceil() as usize;
                no_saving &= dc >= NO_SAVING_FRACTION * full_dist;
                last = (v, full_pt, pt, dc);
                full_dist_last = full_dist;
            }
            rows.push((name, pt, dc));
        }
        for (name, pt, dc) in rows {
            cx.push(
                &mut t,
                vec![
                    txt("counted here"),
                    txt(name),
                    int(v),
                    int(dim),
                    flt(pt),
                    flt(dc),
                    flt(f64::NAN),
                    flt(f64::NAN),
                ],
            );
        }
    }
    // Timing, when the throughput scenario ran.
    let mut timing = None;
    if let Some(r) = cx.load("throughput.json")? {
        if let Some(h) = r.tables.iter().find(|t| t.name == "hsoftmax") {
            let mut best: Option<(i64, f64)> = None;
            for rec in cx.records::<HsoftmaxRecord>(h, "throughput.json")? {
                let vocab = rec.vocab as i64;
                let speed = rec.speedup_vs_full;
                cx.push(
                    &mut t,
                    vec![
                        txt("throughput.json"),
                        txt(&rec.tree),
                        Value::Int(vocab),
                        Value::Int(rec.dim as i64),
                        flt(rec.dot_products_per_target),
                        flt(f64::NAN),
                        flt(rec.ns_per_target),
                        flt(speed),
                    ],
                );
                if rec.tree == "balanced" && best.is_none_or(|b| vocab > b.0) {
                    best = Some((vocab, speed));
                }
            }
            timing = best;
        }
    }
    let (vocab, full_per_target, tree_per_target, tree_distribution) = last;
    let m = C16Measure {
        vocab,
        dim,
        full_per_target,
        tree_per_target,
        log_ok,
        tree_distribution,
        full_distribution: full_dist_last,
        no_saving,
        timing,
    };
    let (verdict, evidence) = decide_c16(&m);
    Ok(Finding {
        verdict,
        tested: if timing.is_some() {
            "operations and time per target against V; cost of the full distribution".into()
        } else {
            "operations per target against V and the cost of the full distribution (not the time)"
                .into()
        },
        evidence,
        figure: cx.csv("c16"),
        tables: vec![t],
    })
}

// ---------------------------------------------------------------------------------
// C17: sharding.

/// C17, measured: one shard count of the throughput results' sharded table.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct ShardTiming {
    pub dtype: DType,
    pub n: usize,
    pub shards: usize,
    pub bytes: usize,
    /// The unsharded softmax's and the serial sharded path's ns per row.
    pub unsharded_ns: f64,
    pub serial_ns: f64,
    /// One shard's work and the merge, ns per row (NaN: not timed).
    pub shard_work_ns: f64,
    pub merge_ns: f64,
}

/// C17, measured.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct C17Measure {
    pub n: usize,
    pub shards: usize,
    /// The smallest, over dtypes, of the largest error of a shard's softmax
    /// computed without the exchange.
    pub local_err: f64,
    /// The largest normwise error of the sharded softmax, and whether every dtype
    /// is within its proven bound.
    pub sharded_err: f64,
    pub within_bound: bool,
    /// Whether sigmoid per shard is bit-identical to the whole row in every dtype.
    pub sigmoid_same: bool,
    /// Bytes exchanged per row (f32 arithmetic) for one shard and for `shards`:
    /// forward, backward.
    pub bytes_one_shard: usize,
    pub bytes_forward: usize,
    pub bytes_backward: usize,
    pub row_bytes: usize,
    pub timing: Vec<ShardTiming>,
}

/// C17: a shard's softmax without the exchange must be wrong (off by more than
/// [`NEEDS_SYNC_ERROR`]) and sigmoid per shard identical to the whole row, else
/// the claim fails; "holds" needs also the sharded result within its bound and
/// no exchange for one shard. Timing is reported, not judged: the transfer
/// itself is not timed on one machine.
pub(super) fn decide_c17(m: &C17Measure) -> (Verdict, String) {
    let needs_sync = m.local_err > NEEDS_SYNC_ERROR;
    let verdict = if !(needs_sync && m.sigmoid_same) {
        Verdict::DoesNotHold
    } else if m.within_bound && m.bytes_one_shard == 0 {
        Verdict::Holds
    } else {
        Verdict::HoldsWithCaveats
    };
    let timing = if m.timing.is_empty() {
        "cost in time not measured (throughput.json or its sharded table missing)".to_string()
    } else {
        let parts: Vec<String> = m
            .timing
            .iter()
            .filter(|t| t.dtype == DType::F32 || m.timing.iter().all(|u| u.dtype != DType::F32))
            .map(|t| {
                format!(
                    "k = {}: {} B, serial {}× unsharded, one shard's work {} ns + merge {} ns per row",
                    t.shards,
                    t.bytes,
                    sig(t.unsharded_ns / t.serial_ns, 3),
                    sig(t.shard_work_ns, 3),
                    sig(t.merge_ns, 3)
                )
            })
            .collect();
        let t0 = &m.timing[0];
        format!(
            "timed ({} rows of {}, one thread; the unsharded softmax {} ns per row; the transfer between devices not timed): {}",
            t0.dtype,
            t0.n,
            sig(t0.unsharded_ns, 3),
            parts.join("; ")
        )
    };
    let evidence = format!(
        "a shard's softmax without the exchange is off by at least {} (some probability, in every dtype; wrong above {}: {}); exchanging (max, Σexp) per shard — {} bytes per row forward (summaries in and the merged one back) and {} backward (Σ y·dy reduced and sent back) for {} shards in f32 arithmetic, {} for one shard, against {} bytes of f32 row — gives a normwise error of at most {} (within the proven bound in every dtype: {}); sigmoid per shard is bit-identical to the whole row: {}; {timing}",
        sig(m.local_err, 3),
        NEEDS_SYNC_ERROR,
        if needs_sync { "yes" } else { "no" },
        m.bytes_forward,
        m.bytes_backward,
        m.shards,
        m.bytes_one_shard,
        m.row_bytes,
        sig(m.sharded_err, 3),
        if m.within_bound { "yes" } else { "no" },
        if m.sigmoid_same { "yes" } else { "no" },
    );
    (verdict, evidence)
}

pub(super) fn c17(cx: &Ctx) -> Result<Finding, HarnessError> {
    use softmax_lab_logsumexp::sharded::{backward_bytes_exchanged, forward_bytes_exchanged};
    let sharded = need!(cx, "sharded_softmax");
    let stable = need!(cx, "stable");
    let sigmoid = need!(cx, "sigmoid");
    let n = cx.q(256, 1024);
    let shards = 4;
    let rows = cx.q(4, 8);
    let mut t = cx.table(
        "c17",
        &[
            ("source", ColumnType::Text),
            ("variant", ColumnType::Text),
            ("dtype", ColumnType::Text),
            ("n", ColumnType::Int),
            ("shards", ColumnType::Int),
            ("bytes_exchanged_per_row", ColumnType::Int),
            ("row_bytes", ColumnType::Int),
            ("local_only_max_abs_error", ColumnType::Float),
            ("normwise_error", ColumnType::Float),
            ("normwise_bound", ColumnType::Float),
            ("identical_to_unsharded", ColumnType::Bool),
            ("elems_per_s", ColumnType::Float),
            ("ratio_to_unsharded", ColumnType::Float),
            ("shard_work_ns_per_row", ColumnType::Float),
            ("merge_ns_per_row", ColumnType::Float),
        ],
    );
    let mut m = C17Measure {
        n,
        shards,
        local_err: f64::INFINITY,
        sharded_err: 0.0,
        within_bound: true,
        sigmoid_same: true,
        bytes_one_shard: bytes_exchanged(1, DType::F32),
        bytes_forward: forward_bytes_exchanged(shards, DType::F32),
        bytes_backward: backward_bytes_exchanged(shards, DType::F32),
        row_bytes: n * DType::F32.size_bytes(),
        timing: Vec::new(),
    };
    let c = n / shards;
    let nan = || flt(f64::NAN);
    for dtype in DType::ALL {
        let x = cx.normal(17, dtype, n, rows, 3.0)?;
        let exact = reference_rows(softmax_lab_core::Function::Softmax, &x, n);
        let ys = cx.fwd(sharded.as_ref(), dtype, &x, n, 1.0)?;
        let nw = worst(
            ys.chunks_exact(n)
                .zip(exact.chunks_exact(n))
                .map(|(y, e)| normwise_error(y, e)),
        );
        // Each shard on its own, no exchange: a softmax over its slice only.
        let local = cx.fwd(stable.as_ref(), dtype, &x, c, 1.0)?;
        let le = worst(
            local
                .iter()
                .zip(&exact)
                .map(|(&l, e)| (l - e.to_f64()).abs()),
        );
        // Sigmoid per shard against the whole row: bit for bit.
        let whole = cx.fwd(sigmoid.as_ref(), dtype, &x, n, 1.0)?;
        let parts = cx.fwd(sigmoid.as_ref(), dtype, &x, c, 1.0)?;
        let same = whole
            .iter()
            .zip(&parts)
            .all(|(a, b)| a.to_bits() == b.to_bits());
        let bound = softmax_lab_logsumexp::sharded::normwise_bound(
            false,
            Rounding::of(sharded.info().accumulation, dtype),
            n,
            shards,
            1.0,
        );
        m.within_bound &= nw <= bound;
        m.local_err = m.local_err.min(le);
        m.sharded_err = m.sharded_err.max(nw);
        m.sigmoid_same &= same;
        cx.push(
            &mut t,
            vec![
                txt("measured here"),
                txt(sharded.id()),
                txt(dtype.name()),
                int(n),
                int(shards),
                int(bytes_exchanged(shards, dtype)),
                int(n * dtype.size_bytes()),
                flt(le),
                flt(nw),
                flt(bound),
                Value::Bool(false),
                nan(),
                nan(),
                nan(),
                nan(),
            ],
        );
        cx.push(
            &mut t,
            vec![
                txt("measured here"),
                txt(sigmoid.id()),
                txt(dtype.name()),
                int(n),
                int(shards),
                int(0),
                int(n * dtype.size_bytes()),
                flt(0.0),
                nan(),
                nan(),
                Value::Bool(same),
                nan(),
                nan(),
                nan(),
                nan(),
            ],
        );
    }
    if let Some(r) = cx.load("throughput.json")? {
        if let Some(h) = r.tables.iter().find(|t| t.name == "sharded") {
            for rec in cx.records::<ShardedRecord>(h, "throughput.json")? {
                let ns = |eps: f64| 1e9 * rec.n as f64 / eps;
                m.timing.push(ShardTiming {
                    dtype: rec.dtype,
                    n: rec.n,
                    shards: rec.shards,
                    bytes: rec.bytes_exchanged_per_row,
                    unsharded_ns: ns(rec.elems_per_s / rec.ratio_to_unsharded),
                    serial_ns: ns(rec.elems_per_s),
                    shard_work_ns: rec.shard_work_ns_per_row,
                    merge_ns: rec.merge_ns_per_row,
                });
                cx.push(
                    &mut t,
                    vec![
                        txt("throughput.json"),
                        txt(&rec.variant),
                        txt(rec.dtype.name()),
                        int(rec.n),
                        int(rec.shards),
                        int(rec.bytes_exchanged_per_row),
                        int(rec.n * rec.dtype.size_bytes()),
                        nan(),
                        nan(),
                        nan(),
                        Value::Bool(false),
                        flt(rec.elems_per_s),
                        flt(rec.ratio_to_unsharded),
                        flt(rec.shard_work_ns_per_row),
                        flt(rec.merge_ns_per_row),
                    ],
                );
            }
        }
    }
    let timed = !m.timing.is_empty();
    let (verdict, evidence) = decide_c17(&m);
    Ok(Finding {
        verdict,
        tested: if timed {
            "all: the synchronisation (what a shard gets wrong without it, the bytes it exchanges forward and backward), sigmoid's independence, and the time of one shard's work and of the merge apart; not the transfer between devices".into()
        } else {
            "the synchronisation (what a shard gets wrong without it, what it exchanges) and sigmoid's independence; not its cost in time".into()
        },
        evidence,
        figure: cx.csv("c17"),
        tables: vec![t],
    })
}

// ---------------------------------------------------------------------------------
// C18: sigmoid, hard sigmoid and relu throughput.

/// Throughput of the three participants at one size: (median, low, high) of
/// elements per second.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct SizeSpeeds {
    pub n: usize,
    pub in_cache: bool,
    pub sigmoid: (f64, f64, f64),
    pub hard: (f64, f64, f64),
    pub relu: (f64, f64, f64),
}

/// C18, measured.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct C18Measure {
    /// The fast sigmoid timed (`sigmoid_simd`).
    pub sigmoid_id: String,
    /// max |relu6(x+3)/6 − σ(x)| in exact arithmetic on the grid, and where.
    pub intrinsic: f64,
    pub intrinsic_at: f64,
    /// Per dtype: the implementation's largest error against σ and against its
    /// own exact formula, in units of one ulp of 1 of the dtype.
    pub implementation: Vec<(DType, f64, f64)>,
    /// The timed sizes (f32, one thread, forward).
    pub sizes: Vec<SizeSpeeds>,
}

/// C18: the fast sigmoid must be slower than relu (95% intervals apart) and hard
/// sigmoid faster than it at some size, else the claim fails; "holds" needs both
/// at every size and hard sigmoid's implementation within
/// [`HARD_SIGMOID_ULPS`] of its exact formula in every dtype (its distance from
/// σ is then its intrinsic error, stated, not judged).
pub(super) fn decide_c18(m: &C18Measure) -> (Verdict, String) {
    let impl_ok = m.implementation.iter().all(|d| d.2 <= HARD_SIGMOID_ULPS);
    let worst_vs_sigma = m.implementation.iter().map(|d| d.1).fold(0.0, f64::max);
    let worst_ulps = m.implementation.iter().map(|d| d.2).fold(0.0, f64::max);
    let err_text = format!(
        "hard sigmoid relu6(x+3)/6 is off σ by up to {} in exact arithmetic (at x = {}); the implementation by up to {} (largest over dtypes), within {} ulps of 1 of its exact formula in every dtype: {} (worst {} ulps)",
        sig(m.intrinsic, 3),
        sig(m.intrinsic_at, 3),
        sig(worst_vs_sigma, 3),
        HARD_SIGMOID_ULPS,
        if impl_ok { "yes" } else { "no" },
        sig(worst_ulps, 3),
    );
    if m.sizes.is_empty() {
        return (
            Verdict::NotTested,
            format!(
                "throughput.json has no f32 single-thread forward rows of {}, hard_sigmoid and relu at a common size, so the cost was not measured; {err_text}",
                m.sigmoid_id
            ),
        );
    }
    let total = m.sizes.len();
    let slower = m.sizes.iter().filter(|s| s.sigmoid.2 < s.relu.1).count();
    let cheaper = m.sizes.iter().filter(|s| s.sigmoid.2 < s.hard.1).count();
    let verdict = if slower == 0 || cheaper == 0 {
        Verdict::DoesNotHold
    } else if slower == total && cheaper == total && impl_ok {
        Verdict::Holds
    } else {
        Verdict::HoldsWithCaveats
    };
    let ratios: Vec<f64> = m.sizes.iter().map(|s| s.relu.0 / s.sigmoid.0).collect();
    let hard: Vec<f64> = m.sizes.iter().map(|s| s.hard.0 / s.sigmoid.0).collect();
    let (rs, hs) = (summarize(&ratios), summarize(&hard));
    let not_cheaper: Vec<String> = m
        .sizes
        .iter()
        .filter(|s| s.sigmoid.2 >= s.hard.1)
        .map(|s| {
            format!(
                "n = {}{}",
                s.n,
                if s.in_cache { "" } else { " out of cache" }
            )
        })
        .collect();
    let evidence = format!(
        "f32, one thread, same groups: {} is slower than relu (95% intervals apart) at {slower} of {total} sizes, relu {}–{}× its speed; hard sigmoid faster than {} at {cheaper} of {total} ({}–{}× its speed{}); {err_text}; the operation count (4 vs 1) was not measured",
        m.sigmoid_id,
        sig(rs.min, 3),
        sig(rs.max, 3),
        m.sigmoid_id,
        sig(hs.min, 3),
        sig(hs.max, 3),
        if not_cheaper.is_empty() {
            String::new()
        } else {
            format!("; not faster at {}", not_cheaper.join(", "))
        },
    );
    (verdict, evidence)
}

pub(super) fn c18(cx: &Ctx) -> Result<Finding, HarnessError> {
    let hard = need!(cx, "hard_sigmoid");
    let sigmoid_id = "sigmoid_simd";
    let mut t = cx.table(
        "c18",
        &[
            ("source", ColumnType::Text),
            ("variant", ColumnType::Text),
            ("dtype", ColumnType::Text),
            ("n", ColumnType::Int),
            ("in_cache", ColumnType::Bool),
            ("threads", ColumnType::Int),
            ("elems_per_s", ColumnType::Float),
            ("elems_per_s_ci95_low", ColumnType::Float),
            ("elems_per_s_ci95_high", ColumnType::Float),
            ("ratio_to_relu", ColumnType::Float),
            ("max_abs_error_vs_sigmoid", ColumnType::Float),
            ("max_error_vs_formula_ulps_of_one", ColumnType::Float),
        ],
    );
    // Hard sigmoid's error against the exact logistic on [−10, 10]: intrinsic
    // (its exact formula) and the implementation's, per dtype.
    let grid: Vec<f64> = (0..=5120).map(|k| -10.0 + k as f64 / 256.0).collect();
    let (mut intrinsic, mut intrinsic_at) = (0.0f64, 0.0f64);
    for &x in &grid {
        let e = reference::hard_sigmoid(x)
            .sub(reference::sigmoid(x))
            .abs()
            .to_f64();
        if e > intrinsic {
            (intrinsic, intrinsic_at) = (e, x);
        }
    }
    cx.push(
        &mut t,
        vec![
            txt("measured here"),
            txt("relu6(x+3)/6"),
            txt("exact"),
            int(grid.len()),
            Value::Bool(true),
            int(1),
            flt(f64::NAN),
            flt(f64::NAN),
            flt(f64::NAN),
            flt(f64::NAN),
            flt(intrinsic),
            flt(0.0),
        ],
    );
    let mut implementation = Vec::new();
    for dtype in DType::ALL {
        let y = cx.fwd(hard.as_ref(), dtype, &grid, grid.len(), 1.0)?;
        let (mut vs_sigma, mut vs_formula) = (0.0f64, 0.0f64);
        for (&x, &v) in grid.iter().zip(&y) {
            let xr = dtype.format().round_f64(x);
            vs_sigma = vs_sigma.max((v - reference::sigmoid(xr).to_f64()).abs());
            vs_formula = vs_formula.max(
                Xd::from_f64(v)
                    .sub(reference::hard_sigmoid(xr))
                    .abs()
                    .to_f64()
                    / ulp_of_one(dtype),
            );
        }
        implementation.push((dtype, vs_sigma, vs_formula));
        cx.push(
            &mut t,
            vec![
                txt("measured here"),
                txt(hard.id()),
                txt(dtype.name()),
                int(grid.len()),
                Value::Bool(true),
                int(1),
                flt(f64::NAN),
                flt(f64::NAN),
                flt(f64::NAN),
                flt(f64::NAN),
                flt(vs_sigma),
                flt(vs_formula),
            ],
        );
    }
    let mut m = C18Measure {
        sigmoid_id: sigmoid_id.into(),
        intrinsic,
        intrinsic_at,
        implementation,
        sizes: Vec::new(),
    };
    let results = cx.load("throughput.json")?;
    let figure = match &results {
        Some(r) => format!(
            "plots/{}_throughput_sigmoid.svg",
            r.scenario
                .get("name")
                .and_then(|v| v.as_str())
                .unwrap_or("throughput")
        ),
        None => cx.csv("c18"),
    };
    if let Some(tp) = results
        .as_ref()
        .and_then(|r| r.tables.iter().find(|t| t.name == "throughput"))
    {
        // ((n, in cache) → (median, low, high)) per participant, f32, one thread,
        // forward: each group times the three together.
        type Speed = std::collections::BTreeMap<(usize, bool), (f64, f64, f64)>;
        let mut speeds: [Speed; 3] = Default::default();
        let names = [sigmoid_id, "hard_sigmoid", "relu"];
        for rec in cx.records::<ThroughputRecord>(tp, "throughput.json")? {
            if rec.dtype != DType::F32 || rec.threads != 1 || rec.direction != Direction::Forward {
                continue;
            }
            if let Some(k) = names.iter().position(|&v| v == rec.variant) {
                speeds[k].entry((rec.n, rec.in_cache)).or_insert((
                    rec.elems_per_s,
                    rec.elems_per_s_ci95_low,
                    rec.elems_per_s_ci95_high,
                ));
            }
        }
        for (&key, &sigmoid) in &speeds[0] {
            let (Some(&hard), Some(&relu)) = (speeds[1].get(&key), speeds[2].get(&key)) else {
                continue;
            };
            m.sizes.push(SizeSpeeds {
                n: key.0,
                in_cache: key.1,
                sigmoid,
                hard,
                relu,
            });
            for (name, (e, lo, hi)) in names.iter().zip([sigmoid, hard, relu]) {
                cx.push(
                    &mut t,
                    vec![
                        txt("throughput.json"),
                        txt(*name),
                        txt("f32"),
                        int(key.0),
                        Value::Bool(key.1),
                        int(1),
                        flt(e),
                        flt(lo),
                        flt(hi),
                        flt(e / relu.0),
                        flt(f64::NAN),
                        flt(f64::NAN),
                    ],
                );
            }
        }
    }
    let (verdict, evidence) = decide_c18(&m);
    let mut f = Finding {
        verdict,
        tested: format!("throughput of {sigmoid_id}, hard sigmoid and relu (f32, one thread, timed in the same groups) and hard sigmoid's error, intrinsic and of the implementation; not the operation count"),
        evidence,
        figure,
        tables: vec![t],
    };
    if verdict == Verdict::NotTested {
        f.tested = "hard sigmoid's error only".into();
        f.figure = cx.csv("c18");
        if results.is_none() {
            f.evidence = format!(
                "throughput.json is missing from this run's results; {}",
                f.evidence
            );
        }
    }
    Ok(f)
}
