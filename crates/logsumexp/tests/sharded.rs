//! The sharded softmax against the reference and against the unsharded kernels, on
//! adversarial rows (the generator of the workspace tests, copied: huge equal
//! logits, a spike among tiny ones, near-ties, masked entries, subnormal outputs,
//! random rows at scales 1..10^4 and two temperatures), for k in {1, 2, 3, 4, 7, 64}
//! with row lengths that k does not divide.
//!
//! Pinned: normwise error <= `sharded::normwise_bound` (derived in the module docs)
//! <= `bounds::normwise(OnlineSoftmax)`; sharded vs `stable`/`log_softmax` within
//! the sum of their bounds; special rows exactly as `core::special` defines them.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use softmax_lab_core::bounds::{normwise, Rounding};
use softmax_lab_core::measure::{normwise_error, ulp_error};
use softmax_lab_core::variant::{forward_backward_f64, forward_f64};
use softmax_lab_core::{reference, DType, Formula, Function, Options, Variant, Xd};
use softmax_lab_logsumexp::sharded::{
    merge, normwise_bound, shard_stats, ShardStats, ShardedLogSoftmax, ShardedSoftmax,
};
use softmax_lab_logsumexp::LogSoftmax;
use softmax_lab_stable::Stable;

const SHARDS: [usize; 6] = [1, 2, 3, 4, 7, 64];

struct Case {
    name: String,
    x: Vec<f64>,
    t: f64,
}

fn normal(r: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = r.gen_range(f64::MIN_POSITIVE..1.0);
    let u2: f64 = r.gen();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// The adversarial rows of `tests/common`, with lengths chosen so that none of
/// the shard counts above divides them (except k = 1).
fn adversarial_rows(dtype: DType) -> Vec<Case> {
    let f = dtype.format();
    let mut r = ChaCha8Rng::seed_from_u64(0x5eed ^ (f.precision as u64) << 8);
    let mut out = Vec::new();
    let mut push = |name: String, x: Vec<f64>, t: f64| {
        let x = x.iter().map(|&v| f.round_f64(v)).collect();
        out.push(Case { name, x, t });
    };
    let big = 0.9 * f.max_finite();
    for n in [5, 517, 4099] {
        push(format!("huge_equal_n{n}"), vec![big; n], 1.0);
    }
    push(
        "huge_mixed_sign".into(),
        vec![big, -big, big * 0.5, 0.0, 1.0],
        1.0,
    );
    let mut spike: Vec<f64> = (0..4099).map(|_| 1e-3 * normal(&mut r)).collect();
    spike[1234] = 10.0;
    push("spike_among_tiny".into(), spike, 1.0);
    let c = if dtype == DType::F16 { 100.0 } else { 1000.0 };
    let ulp_c = f.round_f64(c * (1.0 + 2.0 * f.unit_roundoff())) - c;
    let ties: Vec<f64> = (0..257)
        .map(|_| c + ulp_c * r.gen_range(-3..=3) as f64)
        .collect();
    push("near_ties".into(), ties, 1.0);
    let masked: Vec<f64> = (0..1001)
        .map(|_| {
            if r.gen_bool(0.3) {
                f64::NEG_INFINITY
            } else {
                3.0 * normal(&mut r)
            }
        })
        .collect();
    push("masked".into(), masked, 1.0);
    // A whole leading shard masked out, for every k > 1.
    let mut first_masked: Vec<f64> = (0..1001).map(|_| normal(&mut r)).collect();
    first_masked[..600].fill(f64::NEG_INFINITY);
    push("leading_shards_masked".into(), first_masked, 1.0);
    let (lo, hi) = (
        -(f.min_normal().ln()) - 2.0,
        -(f.min_subnormal().ln()) + 1.0,
    );
    let sub: Vec<f64> = std::iter::once(0.0)
        .chain((0..64).map(|i| -(lo + (hi - lo) * i as f64 / 63.0)))
        .collect();
    push("subnormal_outputs".into(), sub, 1.0);
    for scale in [1.0, 10.0, 100.0, 1e3, 1e4] {
        let x: Vec<f64> = (0..1001).map(|_| scale * normal(&mut r)).collect();
        push(format!("normal_scale_{scale:e}"), x, 1.0);
    }
    let x: Vec<f64> = (0..301).map(|_| 10.0 * normal(&mut r)).collect();
    push("normal_scale_10_T3".into(), x.clone(), 3.0);
    push("normal_scale_10_T0.25".into(), x, 0.25);
    out
}

fn run(v: &dyn Variant, dtype: DType, x: &[f64], t: f64) -> Vec<f64> {
    forward_f64(v, dtype, x, x.len(), &Options { temperature: t })
        .unwrap_or_else(|e| panic!("{} {dtype}: {e}", v.id()))
}

/// Entries whose exact value rounds to ±inf in the dtype must be that ±inf; the
/// bound covers the rest (as in the workspace accuracy test).
fn finite_part(dtype: DType, y: &[f64], want: &[Xd], what: &str) -> (Vec<f64>, Vec<Xd>) {
    y.iter()
        .zip(want)
        .filter(|(&c, e)| {
            let r = e.round_to(dtype.format());
            let overflows = r.is_infinite() && !e.is_infinite();
            assert!(!overflows || c == r, "{what}: {c} vs {r}");
            !overflows
        })
        .map(|(&c, &e)| (c, e))
        .unzip()
}

#[test]
fn sharded_softmax_is_inside_its_bound_and_the_online_bound() {
    for dtype in DType::ALL {
        let rounding = Rounding::of(softmax_lab_core::Accumulation::F32ForHalf, dtype);
        let mut worst_own = 0.0f64;
        let mut worst_online = 0.0f64;
        for case in adversarial_rows(dtype) {
            let n = case.x.len();
            let want = reference::softmax(&case.x, case.t);
            for k in SHARDS {
                let y = run(&ShardedSoftmax { shards: k }, dtype, &case.x, case.t);
                let err = normwise_error(&y, &want);
                let own = normwise_bound(false, rounding, n, k, case.t);
                let online = normwise(Formula::OnlineSoftmax, rounding, n, case.t);
                let what = format!("{dtype} {} k={k}", case.name);
                assert!(err <= own, "{what}: {err:e} > own bound {own:e}");
                assert!(err <= online, "{what}: {err:e} > online bound {online:e}");
                worst_own = worst_own.max(err / own);
                worst_online = worst_online.max(err / online);
            }
        }
        eprintln!(
            "sharded_softmax {dtype:4}: worst normwise/own bound {worst_own:.3e}, /online bound {worst_online:.3e}"
        );
    }
}

#[test]
fn sharded_log_softmax_is_inside_its_bound() {
    for dtype in DType::ALL {
        let rounding = Rounding::of(softmax_lab_core::Accumulation::F32ForHalf, dtype);
        let mut worst = 0.0f64;
        for case in adversarial_rows(dtype) {
            let n = case.x.len();
            let want = reference::log_softmax(&case.x, case.t);
            for k in SHARDS {
                let y = run(&ShardedLogSoftmax { shards: k }, dtype, &case.x, case.t);
                let what = format!("{dtype} {} k={k}", case.name);
                let (y, want) = finite_part(dtype, &y, &want, &what);
                let err = normwise_error(&y, &want);
                let bound = normwise_bound(true, rounding, n, k, case.t);
                assert!(err <= bound, "{what}: {err:e} > {bound:e}");
                worst = worst.max(err / bound);
            }
        }
        eprintln!("sharded_log_softmax {dtype:4}: worst normwise/bound {worst:.3e}");
    }
}

/// Sharded and unsharded agree within the sum of their bounds (each is within its
/// own of the exact value; the divisor max|stable| is at least (1 − b) max|y|).
#[test]
fn sharded_equals_unsharded_within_the_bounds() {
    for dtype in DType::ALL {
        let rounding = Rounding::of(softmax_lab_core::Accumulation::F32ForHalf, dtype);
        for case in adversarial_rows(dtype) {
            let n = case.x.len();
            let base = run(&Stable, dtype, &case.x, case.t);
            let base_x: Vec<Xd> = base.iter().map(|&v| Xd::from_f64(v)).collect();
            let b_stable = normwise(Formula::ShiftedSoftmax, rounding, n, case.t);
            let log_base = run(&LogSoftmax, dtype, &case.x, case.t);
            let log_x: Vec<Xd> = log_base.iter().map(|&v| Xd::from_f64(v)).collect();
            let b_log = normwise(Formula::ShiftedLogSoftmax, rounding, n, case.t);
            for k in SHARDS {
                let what = format!("{dtype} {} k={k}", case.name);
                let y = run(&ShardedSoftmax { shards: k }, dtype, &case.x, case.t);
                let b = normwise(Formula::OnlineSoftmax, rounding, n, case.t);
                let err = normwise_error(&y, &base_x);
                let tol = (b + b_stable) / (1.0 - b_stable);
                assert!(err <= tol, "{what}: {err:e} > {tol:e}");
                let z = run(&ShardedLogSoftmax { shards: k }, dtype, &case.x, case.t);
                // Both sides overflow to −inf at the same entries (f16 log-probs).
                let (z, lx) = finite_part(dtype, &z, &log_x, &what);
                let err = normwise_error(&z, &lx);
                let b = normwise_bound(true, rounding, n, k, case.t);
                let tol = (b + b_log) / (1.0 - b_log);
                assert!(err <= tol, "log {what}: {err:e} > {tol:e}");
            }
        }
    }
}

#[test]
fn special_rows_match_the_unsharded_kernels() {
    const INF: f64 = f64::INFINITY;
    const NAN: f64 = f64::NAN;
    let same = |a: &[f64], b: &[f64]| {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| x == y || (x.is_nan() && y.is_nan()))
    };
    let rows: [&[f64]; 11] = [
        &[3.5],
        &[-INF],
        &[-INF, 0.0, -INF],
        &[-INF, -INF],
        &[-INF, -INF, -INF, -INF, 1.0, 2.0],
        &[1.0, INF, -INF],
        &[1.0, 2.0, 3.0, 4.0, INF],
        &[INF, 0.0, 0.0, INF],
        &[INF, INF, 0.0],
        &[1.0, NAN, 2.0],
        &[NAN, INF],
    ];
    for dtype in DType::ALL {
        for x in rows {
            let soft = run(&Stable, dtype, x, 1.0);
            let log = run(&LogSoftmax, dtype, x, 1.0);
            for k in SHARDS {
                let y = run(&ShardedSoftmax { shards: k }, dtype, x, 1.0);
                if !x.iter().all(|v| v.is_finite()) {
                    assert!(same(&y, &soft), "{dtype} k={k} {x:?}: {y:?} vs {soft:?}");
                }
                let z = run(&ShardedLogSoftmax { shards: k }, dtype, x, 1.0);
                if !x.iter().all(|v| v.is_finite()) {
                    assert!(same(&z, &log), "log {dtype} k={k} {x:?}: {z:?} vs {log:?}");
                }
            }
        }
    }
    // The one-hot lands in the right shard: entry 4 is in the last of 3 shards.
    let y = run(
        &ShardedSoftmax { shards: 3 },
        DType::F32,
        &[1.0, 2.0, 3.0, 4.0, INF],
        1.0,
    );
    assert_eq!(y, [0.0, 0.0, 0.0, 0.0, 1.0]);
}

/// The backward is the ordinary VJP of the value the forward gave: equal to the
/// unsharded kernels' backward, bit for bit, given the same y.
#[test]
fn backward_is_the_ordinary_vjp() {
    let x = [0.3, -1.2, 2.5, 0.0, 7.0, -3.0, 1.5];
    let dy = [1.0, -2.0, 0.5, 3.0, 0.25, -1.0, 2.0];
    let opts = Options { temperature: 2.0 };
    for dtype in DType::ALL {
        let (y, dx) = forward_backward_f64(&ShardedSoftmax { shards: 3 }, dtype, &x, &dy, 7, &opts)
            .expect("runs");
        let want: Vec<f64> = {
            use softmax_lab_core::Buffer;
            let (xb, yb, gb) = (
                Buffer::from_f64(dtype, &x),
                Buffer::from_f64(dtype, &y),
                Buffer::from_f64(dtype, &dy),
            );
            let mut d = Buffer::zeros(dtype, 7);
            Stable
                .backward(xb.rows(), yb.rows(), gb.rows(), 7, &opts, d.rows_mut())
                .expect("runs");
            d.to_f64()
        };
        assert_eq!(dx, want, "{dtype}");
        // And close to the exact VJP at these x (f64: tight).
        if dtype == DType::F64 {
            let exact = reference::softmax_vjp(&x, 2.0, &dy);
            assert!(normwise_error(&dx, &exact) < 1e-14);
            let (_, dz) =
                forward_backward_f64(&ShardedLogSoftmax { shards: 3 }, dtype, &x, &dy, 7, &opts)
                    .expect("runs");
            let exact = reference::log_softmax_vjp(&x, 2.0, &dy);
            assert!(normwise_error(&dz, &exact) < 1e-14);
        }
    }
}

/// Stats computed shard by shard and merged equal what the variant does, and the
/// merged sum equals Σ exp(x − M) over the whole row (f64, tight).
#[test]
fn merged_stats_are_the_rows_stats() {
    let mut r = ChaCha8Rng::seed_from_u64(17);
    let x: Vec<f64> = (0..1003).map(|_| 20.0 * normal(&mut r)).collect();
    let stats: Vec<ShardStats<f64>> = x
        .chunks(1003usize.div_ceil(7))
        .map(|s| shard_stats::<f64, f64>(s, 1.0))
        .collect();
    let m = merge(&stats, 1.0);
    let max = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(m.max, max);
    let want: f64 = x.iter().map(|v| (v - max).exp()).sum();
    assert!(
        (m.sum() / want - 1.0).abs() < 1e-13,
        "{} vs {want}",
        m.sum()
    );
}

/// `sharded_log_softmax` forms ln S as ln1p(tail) from the merged (max, tail)
/// summary: every entry, the dominant one of nearly one-hot rows included, within
/// 2 ulps of the reference in f32 and f64 and 1 ulp in f16/bf16 (f32 inside),
/// whichever shard holds the maximum.
#[test]
fn sharded_log_softmax_is_accurate_on_every_entry() {
    const NINF: f64 = f64::NEG_INFINITY;
    let rows: [&[f64]; 6] = [
        &[0.0, -50.0, -60.0, -70.0],
        &[10.0, 0.0, -1.0, -2.0],
        &[-2.0, -1.0, 0.0, 10.0],
        &[2.0, 1.0, 0.1],
        &[1000.0, 1001.0, 1002.0],
        &[NINF, 3.0, NINF, 2.5, NINF],
    ];
    for (dtype, tol) in [
        (DType::F32, 2.0),
        (DType::F64, 2.0),
        (DType::F16, 1.0),
        (DType::BF16, 1.0),
    ] {
        for x in rows {
            let x: Vec<f64> = x.iter().map(|&v| dtype.format().round_f64(v)).collect();
            let want = reference::forward(Function::LogSoftmax, &x, 1.0);
            for k in [1, 2, 3] {
                let v = ShardedLogSoftmax { shards: k };
                let z = forward_f64(&v, dtype, &x, x.len(), &Options::default()).expect("runs");
                for (i, (&zi, wi)) in z.iter().zip(&want).enumerate() {
                    let e = ulp_error(dtype, zi, *wi);
                    assert!(
                        e <= tol,
                        "{dtype} k={k} {x:?} entry {i}: {zi:e} is {e} ulps"
                    );
                }
            }
        }
    }
}
