//! Cost claims read from the throughput results: C16 (hierarchical softmax), C17
//! (sharding), C18 (sigmoid, hard sigmoid and relu).

use super::*;
use crate::results::records::{HsoftmaxRecord, ShardedRecord, ThroughputRecord};
use softmax_lab_core::Direction;

// ---------------------------------------------------------------------------------
// C16: hierarchical softmax cost.

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
    let time_ok = timing.is_none_or(|(_, s)| s > 1.0);
    let verdict = if !log_ok || !time_ok {
        Verdict::DoesNotHold
    } else if no_saving || timing.is_none() {
        Verdict::HoldsWithCaveats
    } else {
        Verdict::Holds
    };
    let (v, fpt, bpt, bdc) = last;
    let evidence = format!(
        "at V = {v} (d = {dim}) one target's log-probability costs {} dot products with the full softmax and {} with a balanced tree (≤ ⌈log2 V⌉ at every V: {}); {}; the whole distribution still costs {} dot products with the tree (no saving)",
        sig(fpt, 6),
        sig(bpt, 3),
        if log_ok { "yes" } else { "no" },
        match timing {
            Some((tv, s)) => format!("timed (throughput.json): balanced tree {}× faster than full at V = {tv}", sig(s, 3)),
            None => "time per target not measured (throughput.json or its hsoftmax table missing)".into(),
        },
        sig(bdc, 6),
    );
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

pub(super) fn c17(cx: &Ctx) -> Result<Finding, HarnessError> {
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
        ],
    );
    let (mut local_err, mut sharded_err, mut sig_same): (f64, f64, bool) =
        (f64::INFINITY, 0.0, true);
    let mut within_bound = true;
    let c = n / shards;
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
        let shard_rows: Vec<f64> = x.clone();
        let local = cx.fwd(stable.as_ref(), dtype, &shard_rows, c, 1.0)?;
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
        within_bound &= nw <= bound;
        local_err = local_err.min(le);
        sharded_err = sharded_err.max(nw);
        sig_same &= same;
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
                flt(f64::NAN),
                flt(f64::NAN),
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
                flt(f64::NAN),
                flt(f64::NAN),
                Value::Bool(same),
                flt(f64::NAN),
                flt(f64::NAN),
            ],
        );
    }
    let mut timing = Vec::new();
    if let Some(r) = cx.load("throughput.json")? {
        if let Some(h) = r.tables.iter().find(|t| t.name == "sharded") {
            for rec in cx.records::<ShardedRecord>(h, "throughput.json")? {
                let ratio = rec.ratio_to_unsharded;
                timing.push(ratio);
                cx.push(
                    &mut t,
                    vec![
                        txt("throughput.json"),
                        txt(&rec.variant),
                        txt(rec.dtype.name()),
                        Value::Int(rec.n as i64),
                        Value::Int(rec.shards as i64),
                        Value::Int(rec.bytes_exchanged_per_row as i64),
                        Value::Int(0),
                        flt(f64::NAN),
                        flt(f64::NAN),
                        flt(f64::NAN),
                        Value::Bool(false),
                        flt(rec.elems_per_s),
                        flt(ratio),
                    ],
                );
            }
        }
    }
    let needs_sync = local_err > NEEDS_SYNC_ERROR;
    let verdict = if !(needs_sync && sig_same) {
        Verdict::DoesNotHold
    } else if within_bound {
        Verdict::Holds
    } else {
        Verdict::HoldsWithCaveats
    };
    let timing_text = if timing.is_empty() {
        "cost in time not measured (throughput.json or its sharded table missing)".to_string()
    } else {
        let s = summarize(&timing);
        format!(
            "sharded throughput {}–{}× the unsharded (throughput.json)",
            sig(s.min, 3),
            sig(s.max, 3)
        )
    };
    let evidence = format!(
        "a shard's softmax without the exchange is off by at least {} (some probability, in every dtype); exchanging (max, Σexp) per shard — {} bytes per row for {shards} shards in f32 arithmetic, against {} bytes of f32 row — gives a normwise error of at most {} (within the proven bound in every dtype: {}); sigmoid per shard is bit-identical to the whole row: {}, 0 bytes; {timing_text}",
        sig(local_err, 3),
        bytes_exchanged(shards, DType::F32),
        n * 4,
        sig(sharded_err, 3),
        if within_bound { "yes" } else { "no" },
        if sig_same { "yes" } else { "no" },
    );
    Ok(Finding {
        verdict,
        tested: if timing.is_empty() {
            "the synchronisation (what a shard gets wrong without it, what it exchanges) and sigmoid's independence; not its cost in time".into()
        } else {
            "all: the synchronisation, its bytes and its cost in time, and sigmoid's independence"
                .into()
        },
        evidence,
        figure: cx.csv("c17"),
        tables: vec![t],
    })
}

// ---------------------------------------------------------------------------------
// C18: sigmoid, hard sigmoid and relu throughput.

pub(super) fn c18(cx: &Ctx) -> Result<Finding, HarnessError> {
    let hard = need!(cx, "hard_sigmoid");
    let mut t = cx.table(
        "c18",
        &[
            ("source", ColumnType::Text),
            ("variant", ColumnType::Text),
            ("dtype", ColumnType::Text),
            ("n", ColumnType::Int),
            ("threads", ColumnType::Int),
            ("elems_per_s", ColumnType::Float),
            ("elems_per_s_ci95_low", ColumnType::Float),
            ("elems_per_s_ci95_high", ColumnType::Float),
            ("ratio_to_relu", ColumnType::Float),
            ("max_abs_error_vs_sigmoid", ColumnType::Float),
        ],
    );
    // Hard sigmoid's error against the exact logistic, on [−10, 10].
    let grid: Vec<f64> = (0..=5120).map(|k| -10.0 + k as f64 / 256.0).collect();
    let mut max_err: f64 = 0.0;
    let mut at: f64 = 0.0;
    for dtype in DType::ALL {
        let y = cx.fwd(hard.as_ref(), dtype, &grid, grid.len(), 1.0)?;
        let mut e_dt: f64 = 0.0;
        for (&x, &v) in grid.iter().zip(&y) {
            let xr = dtype.format().round_f64(x);
            let e = (v - reference::sigmoid(xr).to_f64()).abs();
            if e > e_dt {
                e_dt = e;
            }
            if e > max_err {
                (max_err, at) = (e, xr);
            }
        }
        cx.push(
            &mut t,
            vec![
                txt("measured here"),
                txt(hard.id()),
                txt(dtype.name()),
                int(grid.len()),
                int(1),
                flt(f64::NAN),
                flt(f64::NAN),
                flt(f64::NAN),
                flt(f64::NAN),
                flt(e_dt),
            ],
        );
    }
    let err_text = format!(
        "hard sigmoid is off the logistic by up to {} (at x = {})",
        sig(max_err, 3),
        sig(at, 3)
    );
    let Some(r) = cx.load("throughput.json")? else {
        let mut f = Finding::not_tested(format!(
            "throughput.json is missing from this run's results, so the cost was not measured; {err_text}"
        ));
        f.tested = "hard sigmoid's error only".into();
        f.figure = cx.csv("c18");
        f.tables = vec![t];
        return Ok(f);
    };
    let Some(tp) = r.tables.iter().find(|t| t.name == "throughput") else {
        return Ok(Finding::not_tested(format!(
            "throughput.json has no 'throughput' table; {err_text}"
        )));
    };
    // (n → (median, low, high)) per variant, f32, one thread, forward.
    type Speed = std::collections::BTreeMap<i64, (f64, f64, f64)>;
    let mut speeds: [Speed; 3] = Default::default();
    let names = ["sigmoid", "hard_sigmoid", "relu"];
    for rec in cx.records::<ThroughputRecord>(tp, "throughput.json")? {
        if rec.dtype != DType::F32 || rec.threads != 1 || rec.direction != Direction::Forward {
            continue;
        }
        if let Some(k) = names.iter().position(|&v| v == rec.variant) {
            speeds[k].entry(rec.n as i64).or_insert((
                rec.elems_per_s,
                rec.elems_per_s_ci95_low,
                rec.elems_per_s_ci95_high,
            ));
        }
    }
    let common: Vec<i64> = speeds[0]
        .keys()
        .filter(|n| speeds[1].contains_key(n) && speeds[2].contains_key(n))
        .copied()
        .collect();
    if common.is_empty() {
        return Ok(Finding::not_tested(format!(
            "throughput.json has no f32 single-thread forward rows of sigmoid, hard_sigmoid and relu at a common n; {err_text}"
        )));
    }
    let (mut slower, mut cheaper) = (0, 0);
    let mut ratios = Vec::new();
    for &n in &common {
        let relu = speeds[2][&n];
        let s = speeds[0][&n];
        let h = speeds[1][&n];
        for (k, v) in speeds.iter().enumerate() {
            let (m, lo, hi) = v[&n];
            cx.push(
                &mut t,
                vec![
                    txt("throughput.json"),
                    txt(names[k]),
                    txt("f32"),
                    Value::Int(n),
                    int(1),
                    flt(m),
                    flt(lo),
                    flt(hi),
                    flt(m / relu.0),
                    flt(f64::NAN),
                ],
            );
        }
        // Slower / cheaper only when the 95% intervals do not overlap.
        if s.2 < relu.1 {
            slower += 1;
        }
        if s.2 < h.1 {
            cheaper += 1;
        }
        ratios.push(relu.0 / s.0);
    }
    let m = common.len();
    let verdict = if slower == 0 || cheaper == 0 {
        Verdict::DoesNotHold
    } else if slower == m && cheaper == m && max_err <= COARSE_APPROXIMATION {
        Verdict::Holds
    } else {
        Verdict::HoldsWithCaveats
    };
    let rs = summarize(&ratios);
    let evidence = format!(
        "f32, one thread: sigmoid is slower than relu (95% intervals apart) at {slower} of {m} sizes, relu {}–{}× faster; hard sigmoid faster than sigmoid at {cheaper} of {m}; {err_text}; the operation count (4 vs 1) was not measured",
        sig(rs.min, 3),
        sig(rs.max, 3),
    );
    Ok(Finding {
        verdict,
        tested: "throughput of sigmoid, hard sigmoid and relu (f32, one thread) and hard sigmoid's error; not the operation count".into(),
        evidence,
        figure: format!(
            "plots/{}_throughput_sigmoid.svg",
            r.scenario
                .get("name")
                .and_then(|v| v.as_str())
                .unwrap_or("throughput")
        ),
        tables: vec![t],
    })
}
