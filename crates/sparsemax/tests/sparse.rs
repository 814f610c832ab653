//! The sparse maps against hand-derived values, the core reference, each other
//! and finite differences; fixed seeds throughout.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use softmax_lab_core::measure::{sum_deviation, ulp_distance, ulp_error};
use softmax_lab_core::reference;
use softmax_lab_core::variant::{forward_backward_f64, forward_f64};
use softmax_lab_core::{DType, Function, Options, Variant, Xd};
use softmax_lab_sparsemax::{Entmax15, Sparsemax, SparsemaxLinear};

const INF: f64 = f64::INFINITY;

fn run(v: &dyn Variant, dtype: DType, x: &[f64], t: f64) -> Vec<f64> {
    forward_f64(v, dtype, x, x.len(), &Options { temperature: t })
        .unwrap_or_else(|e| panic!("{} {dtype}: {e}", v.id()))
}

fn run_vjp(v: &dyn Variant, dtype: DType, x: &[f64], g: &[f64], t: f64) -> Vec<f64> {
    forward_backward_f64(v, dtype, x, g, x.len(), &Options { temperature: t })
        .unwrap_or_else(|e| panic!("{} {dtype}: {e}", v.id()))
        .1
}

fn rounded(dtype: DType, x: &[f64]) -> Vec<f64> {
    x.iter().map(|&v| dtype.format().round_f64(v)).collect()
}

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// A standard normal sample (Box–Muller).
fn normal(r: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = r.gen_range(f64::MIN_POSITIVE..1.0);
    let u2: f64 = r.gen();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Fixed-seed random rows for one dtype: normal logits at scales 0.1..100, lengths
/// 1..1000, temperatures 1, 0.5, 2, 3 — rounded to the dtype.
fn random_rows(dtype: DType, seed: u64, count: usize) -> Vec<(Vec<f64>, f64)> {
    let mut r = rng(seed);
    (0..count)
        .map(|i| {
            let n = [1, 2, 3, 7, 30, 100, 1000][i % 7];
            let scale = [0.1, 1.0, 3.0, 10.0, 100.0][i % 5];
            let t = [1.0, 0.5, 2.0, 3.0][i % 4];
            let x: Vec<f64> = (0..n).map(|_| scale * normal(&mut r)).collect();
            (rounded(dtype, &x), t)
        })
        .collect()
}

fn exact(function: Function, x: &[f64], t: f64) -> Vec<Xd> {
    reference::forward(function, x, t)
}

/// The largest per-entry ULP error of a variant against the reference.
fn max_ulp(v: &dyn Variant, dtype: DType, x: &[f64], t: f64) -> f64 {
    let y = run(v, dtype, x, t);
    let want = exact(v.info().function, x, t);
    y.iter()
        .zip(&want)
        .map(|(&c, &e)| ulp_error(dtype, c, e))
        .fold(0.0, f64::max)
}

fn variants() -> [(&'static dyn Variant, Function); 3] {
    [
        (&Sparsemax, Function::Sparsemax),
        (&SparsemaxLinear, Function::Sparsemax),
        (&Entmax15, Function::Entmax15),
    ]
}

/// Unit roundoff of the arithmetic type the variants use for `dtype` (f32 for
/// f16/bf16/f32, f64 for f64).
fn u_arith(dtype: DType) -> f64 {
    if dtype == DType::F64 {
        DType::F64.unit_roundoff()
    } else {
        DType::F32.unit_roundoff()
    }
}

/// The bound on |Σp̂ − 1|: each output is its pair value rounded once to the
/// dtype (relative error ≤ u_T, or ≤ η_T/2 absolute in the subnormal range, η_T the
/// smallest subnormal); the pair values sum to one up to n times the threshold's
/// pair error, at most 2n·u_A² (k ≤ n compensated additions of terms bounded by 1,
/// each off by ≤ 2u_A² of a partial sum ≤ n, divided by k). So
/// |Σp̂ − 1| ≤ u_T + n·η_T/2 + 2n²·u_A².
fn sum_bound(dtype: DType, n: usize) -> f64 {
    let n = n as f64;
    let ua = u_arith(dtype);
    dtype.unit_roundoff() + n * dtype.format().min_subnormal() / 2.0 + 2.0 * n * n * ua * ua
}

/// Adversarial rows for one dtype: ties, n = 1, masked entries, logits near ±1000
/// on the dtype's grid, huge logits, a long row (n = 10^5) with a wide support,
/// and a row whose support is everything.
fn adversarial_rows(dtype: DType) -> Vec<(String, Vec<f64>, f64)> {
    let f = dtype.format();
    let mut r = rng(0xad5e ^ f.precision as u64);
    let mut out: Vec<(String, Vec<f64>, f64)> = Vec::new();
    let mut push =
        |name: &str, x: Vec<f64>, t: f64| out.push((name.to_string(), rounded(dtype, &x), t));
    push("single", vec![3.5], 1.0);
    push("equal_3", vec![1.0; 3], 1.0);
    push("equal_1000", vec![-7.0; 1000], 1.0);
    let ties: Vec<f64> = (0..200).map(|i| [2.0, 2.0, 1.5, 0.0][i % 4]).collect();
    push("ties", ties, 1.0);
    let masked: Vec<f64> = (0..500)
        .map(|_| {
            if r.gen_bool(0.4) {
                -INF
            } else {
                normal(&mut r)
            }
        })
        .collect();
    push("masked", masked, 0.5);
    for c in [1000.0, -1000.0] {
        let step = f.round_f64(c * (1.0 + 2.0 * f.unit_roundoff())) - c;
        let near: Vec<f64> = (0..64)
            .map(|_| c + step * r.gen_range(-4..=4) as f64)
            .collect();
        push(&format!("near_{c}"), near, 1.0);
        let spread: Vec<f64> = (0..64).map(|_| c + normal(&mut r)).collect();
        push(&format!("spread_{c}"), spread, 1.0);
    }
    let big = 0.9 * f.max_finite();
    push("huge_mixed", vec![big, -big, big * 0.5, big, 0.0], 1.0);
    push(
        "all_in_support",
        (0..50).map(|i| i as f64 * 1e-3).collect(),
        1.0,
    );
    let long: Vec<f64> = (0..100_000).map(|_| 0.01 * normal(&mut r)).collect();
    push("long_1e5", long, 1.0);
    out
}

/// τ recovered from a reference output: z_i − p_i (sparsemax) or z_i/2 − √p_i
/// (1.5-entmax) at a support entry, with z = (x − max)/T in f64.
fn threshold(function: Function, x: &[f64], t: f64, p: &[f64]) -> f64 {
    let max = x.iter().cloned().fold(-INF, f64::max);
    let i = (0..x.len()).find(|&i| p[i] > 0.0).unwrap_or(0);
    let z = (x[i] - max) / t;
    match function {
        Function::Entmax15 => z / 2.0 - p[i].sqrt(),
        _ => z - p[i],
    }
}

/// The smallest distance of any score to the threshold: a row is safe for
/// finite differences with step h when this exceeds h by a wide margin.
fn margin(function: Function, x: &[f64], t: f64) -> f64 {
    let p: Vec<f64> = exact(function, x, t).iter().map(|v| v.to_f64()).collect();
    let tau = threshold(function, x, t, &p);
    let max = x.iter().cloned().fold(-INF, f64::max);
    let half = if function == Function::Entmax15 {
        0.5
    } else {
        1.0
    };
    x.iter()
        .map(|&v| ((v - max) / t * half - tau).abs())
        .fold(INF, f64::min)
}

#[test]
fn worked_examples_by_hand() {
    // sparsemax([0.5, 0]): k = 2 since 1 + 2·0 > 0.5, τ = (0.5 − 1)/2 = −0.25.
    // sparsemax([1, 0]): k = 2 fails (1 + 0 > 1 is false), τ = 0: one-hot.
    // sparsemax([1, 1, 1]): τ = (3 − 1)/3 = 2/3, all 1/3.
    // sparsemax([1.5, 1.25, 0.25, −1]): k = 2 (1 + 2.5 > 2.75), k = 3 fails
    // (1 + 0.75 > 3), τ = (2.75 − 1)/2 = 0.875 → [0.625, 0.375, 0, 0].
    // The same row at T = 2 is sparsemax([0.75, 0.625, 0.125, −0.5]): k = 3
    // (1 + 3·0.125 = 1.375 > 1.5 fails, so k = 2), τ = (1.375 − 1)/2 = 0.1875
    // → [0.5625, 0.4375, 0, 0].
    let cases: [(&[f64], f64, &[f64]); 5] = [
        (&[0.5, 0.0], 1.0, &[0.75, 0.25]),
        (&[1.0, 0.0], 1.0, &[1.0, 0.0]),
        (&[1.0, 1.0, 1.0], 1.0, &[1.0 / 3.0; 3]),
        (&[1.5, 1.25, 0.25, -1.0], 1.0, &[0.625, 0.375, 0.0, 0.0]),
        (&[1.5, 1.25, 0.25, -1.0], 2.0, &[0.5625, 0.4375, 0.0, 0.0]),
    ];
    for dtype in DType::ALL {
        for (x, t, want) in cases {
            let want = rounded(dtype, want);
            for v in [&Sparsemax as &dyn Variant, &SparsemaxLinear] {
                assert_eq!(run(v, dtype, x, t), want, "{} {dtype} {x:?}", v.id());
            }
            let r: Vec<f64> = reference::sparsemax(x, t)
                .iter()
                .map(|v| v.round_to(dtype.format()))
                .collect();
            assert_eq!(r, want, "reference {dtype} {x:?}");
        }
    }
    // 1.5-entmax, p = [z/2 − τ]²: [0, 0] gives 2τ² = 1, p = [1/2, 1/2].
    // One entry is alone in the support iff the next score is ≤ −1 below it after
    // halving, i.e. a logit gap ≥ 2: for [2, 0], τ_2 = −1/2 − √((1 − 1/2)/2) = −1
    // = y_(2), so k = 1 and the output is exactly [1, 0].
    // [0.4, 0]: y = (0, −0.2); with e = (0.8, 0.6), Σe² = 1 and e1 − e2 = 0.2, so
    // τ = −0.8 and p = [0.64, 0.36]; at T = 2 the row [0.8, 0] is the same.
    for dtype in DType::ALL {
        assert_eq!(
            run(&Entmax15, dtype, &[0.0, 0.0], 1.0),
            [0.5, 0.5],
            "{dtype}"
        );
        assert_eq!(
            run(&Entmax15, dtype, &[2.0, 0.0], 1.0),
            [1.0, 0.0],
            "{dtype}"
        );
        assert_eq!(
            run(&Entmax15, dtype, &[5.0, 3.0, -9.0], 1.0),
            [1.0, 0.0, 0.0],
            "{dtype}"
        );
        for (x, t) in [([0.4, 0.0], 1.0), ([0.8, 0.0], 2.0)] {
            let x = rounded(dtype, &x);
            let y = run(&Entmax15, dtype, &x, t);
            // x = 0.4 is itself rounded: p moves by e·Δx/2 ≤ 0.4·u_T, under 1 ulp of p.
            for (got, want) in y.iter().zip([0.64, 0.36]) {
                let d = ulp_distance(dtype, *got, dtype.format().round_f64(want));
                assert!(d <= 1.0, "{dtype} {x:?} T={t}: {got} vs {want}");
            }
        }
    }
    // Just under the gap of 2 the second entry enters the support.
    let y = run(&Entmax15, DType::F64, &[1.9, 0.0], 1.0);
    assert!(y[1] > 0.0 && y[1] < 0.01, "{y:?}");
    let ex: Vec<f64> = reference::entmax15(&[0.0, 0.0], 1.0)
        .iter()
        .map(|v| v.to_f64())
        .collect();
    assert_eq!(ex, [0.5, 0.5]);
}

#[test]
fn outputs_lie_on_the_simplex_within_the_bound() {
    for dtype in DType::ALL {
        let rows = random_rows(dtype, 11, 140)
            .into_iter()
            .map(|(x, t)| ("random".to_string(), x, t))
            .chain(adversarial_rows(dtype));
        for (name, x, t) in rows {
            for (v, _) in variants() {
                let y = run(v, dtype, &x, t);
                assert!(
                    y.iter()
                        .all(|&p| (0.0..=1.0).contains(&p) && p.is_sign_positive()),
                    "{} {dtype} {name}",
                    v.id()
                );
                let dev = sum_deviation(&y);
                let bound = sum_bound(dtype, x.len());
                assert!(
                    dev <= bound,
                    "{} {dtype} {name} n={}: |sum − 1| = {dev:e} > {bound:e}",
                    v.id(),
                    x.len()
                );
            }
        }
    }
}

#[test]
fn zeros_outside_the_support_are_exact() {
    // Every entry whose exact value is 0 (score ≤ τ) is computed as +0.0, and every
    // entry in the exact support is positive: the supports agree exactly. Random
    // rows keep scores far (relative to u_A²) from τ.
    for dtype in [DType::F32, DType::F64] {
        for (x, t) in random_rows(dtype, 13, 140) {
            for (v, f) in variants() {
                let y = run(v, dtype, &x, t);
                for (i, e) in exact(f, &x, t).iter().enumerate() {
                    if e.is_zero() {
                        assert_eq!(
                            y[i].to_bits(),
                            0.0f64.to_bits(),
                            "{} {dtype} at {i}",
                            v.id()
                        );
                    } else {
                        assert!(
                            y[i] > 0.0 || e.round_to(dtype.format()) == 0.0,
                            "{} {dtype} at {i}",
                            v.id()
                        );
                    }
                }
            }
        }
    }
    // Something to be exact about: at least a third of a wide random row is zero.
    let mut r = rng(5);
    let x: Vec<f64> = (0..300).map(|_| normal(&mut r)).collect();
    let zeros = run(&Sparsemax, DType::F32, &x, 1.0)
        .iter()
        .filter(|&&p| p == 0.0)
        .count();
    assert!(zeros > 100, "{zeros}");
}

#[test]
fn sort_based_and_linear_time_agree() {
    // Same support; values within 4 ULP (they differ only in the order of the
    // compensated sum behind τ, an error of order n·u_A², and in the support search).
    for dtype in DType::ALL {
        let rows = random_rows(dtype, 17, 140)
            .into_iter()
            .map(|(x, t)| ("random".to_string(), x, t))
            .chain(adversarial_rows(dtype));
        for (name, x, t) in rows {
            let a = run(&Sparsemax, dtype, &x, t);
            let b = run(&SparsemaxLinear, dtype, &x, t);
            for (i, (p, q)) in a.iter().zip(&b).enumerate() {
                assert_eq!(
                    *p == 0.0,
                    *q == 0.0,
                    "{dtype} {name} support differs at {i}: {p} vs {q}"
                );
                let d = ulp_distance(dtype, *p, *q);
                assert!(d <= 4.0, "{dtype} {name} at {i}: {p} vs {q} ({d} ulp)");
            }
        }
    }
}

fn bf16_third() -> f64 {
    DType::BF16.format().round_f64(1.0 / 3.0)
}

#[test]
fn accuracy_against_the_reference() {
    // Each output is a pair value rounded once to the dtype. The pair's error
    // comes from τ, |Δτ| ≤ 2k·u_A² (k compensated additions of terms ≤ 1 in
    // magnitude, each off by 2u_A² of a partial sum ≤ k, then divided by k; for
    // entmax the Newton residual is summed the same way and divided by 2Σe ≥ 2).
    // So |p̂ − p| ≤ u_T·p + η_T/2 + (2e + Δτ)·Δτ with e = p_i − 0 margin: 1 for
    // sparsemax (p = e), 2√p for entmax (p = e²) — pinned on every row. In ULPs
    // that is unbounded for p → 0 (cancellation near τ is inherent to a fixed
    // precision); measured on rows of n ≤ 1000 it is ≤ 0.5 ULP (correctly
    // rounded), so those are pinned at 1 ULP.
    for dtype in DType::ALL {
        let ua = u_arith(dtype);
        let rows = random_rows(dtype, 19, 140)
            .into_iter()
            .map(|(x, t)| ("random".to_string(), x, t))
            .chain(adversarial_rows(dtype));
        for (name, x, t) in rows {
            for (v, f) in variants() {
                let y = run(v, dtype, &x, t);
                let want = exact(f, &x, t);
                let k = want.iter().filter(|e| !e.is_zero()).count() as f64;
                let dtau = 2.0 * k * ua * ua;
                for (c, e) in y.iter().zip(&want) {
                    let p = e.to_f64();
                    let slope = if f == Function::Entmax15 {
                        2.0 * p.sqrt()
                    } else {
                        1.0
                    };
                    let bound = dtype.unit_roundoff() * p
                        + dtype.format().min_subnormal() / 2.0
                        + (slope + dtau) * dtau;
                    assert!(
                        (c - p).abs() <= bound,
                        "{} {dtype} {name}: {c} vs {p}",
                        v.id()
                    );
                }
                if x.len() <= 1000 {
                    let err = max_ulp(v, dtype, &x, t);
                    assert!(err <= 1.0, "{} {dtype} {name}: {err} ulp", v.id());
                }
            }
        }
    }
}

#[test]
fn logits_near_a_thousand_in_half_precision() {
    // The reference Python entmax squares the unshifted logits: 1000² overflows f16
    // and its output is NaN. Ours shift first (exactly) and compute in f32.
    for dtype in [DType::F16, DType::BF16] {
        for x in [
            vec![1000.0, 1000.5, 999.5, 998.0],
            vec![-1000.0, -1001.0, -1000.5, -999.0],
            vec![1000.0, -1000.0, 1000.0, 999.0],
        ] {
            let x = rounded(dtype, &x);
            for (v, f) in variants() {
                let y = run(v, dtype, &x, 1.0);
                let want = exact(f, &x, 1.0);
                assert!(
                    y.iter().all(|p| p.is_finite() && *p >= 0.0),
                    "{} {dtype} {y:?}",
                    v.id()
                );
                assert!(
                    sum_deviation(&y) <= sum_bound(dtype, x.len()),
                    "{} {dtype} {y:?}",
                    v.id()
                );
                for (c, e) in y.iter().zip(&want) {
                    assert!(
                        ulp_error(dtype, *c, *e) <= 1.0,
                        "{} {dtype} {x:?}: {y:?}",
                        v.id()
                    );
                }
            }
        }
    }
    // Worked: f16 [1000, 1000.5, 999.5] (exact in f16, spacing 0.5 there) is
    // sparsemax of [0.5, 1, 0] shifted: k = 2, τ = (1.5 − 1)/2 = 0.25 → [0.25, 0.75, 0].
    // In bf16 (spacing 4 at 1000) the same row is [1000, 1000, 1000] → thirds.
    let y = run(&Sparsemax, DType::F16, &[1000.0, 1000.5, 999.5], 1.0);
    assert_eq!(y, [0.25, 0.75, 0.0]);
    let y = run(&SparsemaxLinear, DType::BF16, &[1000.0, 1000.5, 999.5], 1.0);
    assert_eq!(y, [bf16_third(); 3]);
}

#[test]
fn special_rows_follow_the_shared_rule() {
    // NaN → all NaN; one +inf → one-hot; two +inf or all −inf → all NaN (no
    // unique limit: sparsemax([c, c + d]) depends on d for every c); −inf → 0;
    // n = 1 → [1].
    let nan = f64::NAN;
    let cases: [(&[f64], &[f64]); 7] = [
        (&[1.0, nan, 2.0], &[nan, nan, nan]),
        (&[1.0, INF, 2.0], &[0.0, 1.0, 0.0]),
        (&[INF, 0.0, INF], &[nan, nan, nan]),
        (&[-INF, -INF], &[nan, nan]),
        (&[-INF, 0.5, -INF, 0.0], &[0.0, 0.75, 0.0, 0.25]),
        (&[-INF], &[1.0]),
        (&[INF], &[1.0]),
    ];
    for dtype in DType::ALL {
        for (x, want) in cases {
            for (v, f) in variants() {
                let y = run(v, dtype, x, 1.0);
                let r: Vec<f64> = exact(f, x, 1.0).iter().map(|e| e.to_f64()).collect();
                for (got, w) in [(&y, "variant"), (&r, "reference")] {
                    let same = got
                        .iter()
                        .zip(want)
                        .all(|(a, b)| a == b || (a.is_nan() && b.is_nan()));
                    // The finite masked row: entmax has its own values; check only the zeros.
                    let check = f == Function::Sparsemax
                        || want.iter().all(|b| b.is_nan() || *b == 0.0 || *b == 1.0);
                    assert!(!check || same, "{} {w} {dtype} {x:?}: {got:?}", v.id());
                }
                if f == Function::Entmax15 {
                    assert!(
                        y.iter().zip(want).all(|(a, b)| (*b != 0.0) || *a == 0.0),
                        "{dtype} {x:?}: {y:?}"
                    );
                }
                let dx = run_vjp(v, dtype, x, &vec![1.0; x.len()], 1.0);
                let nan_row = want.iter().any(|b| b.is_nan());
                if nan_row {
                    assert!(dx.iter().all(|d| d.is_nan()), "{} {dtype} {x:?}", v.id());
                } else if want.contains(&1.0) {
                    assert!(dx.iter().all(|&d| d == 0.0), "{} {dtype} {x:?}", v.id());
                }
            }
        }
    }
}

#[test]
fn vjps_match_the_reference_and_finite_differences() {
    let mut r = rng(23);
    let mut checked = 0;
    for trial in 0..300 {
        let n = 1 + trial % 12;
        let t = [1.0, 0.5, 2.0, 3.0][trial % 4];
        let x: Vec<f64> = (0..n).map(|_| 2.0 * normal(&mut r)).collect();
        let g: Vec<f64> = (0..n).map(|_| normal(&mut r)).collect();
        for (v, f) in variants() {
            // Keep at least 1e-4 between every score and τ: no support change
            // within the finite-difference step.
            if n > 1 && margin(f, &x, t) < 1e-4 {
                continue;
            }
            checked += 1;
            let want: Vec<f64> = reference::vjp(f, &x, t, &g)
                .iter()
                .map(|e| e.to_f64())
                .collect();
            let scale = want.iter().fold(1.0f64, |m, d| m.max(d.abs()));
            let dx = run_vjp(v, DType::F64, &x, &g, t);
            for i in 0..n {
                assert!(
                    (dx[i] - want[i]).abs() <= 1e-13 * scale,
                    "{} n={n} at {i}: {} vs {}",
                    v.id(),
                    dx[i],
                    want[i]
                );
            }
            // Central differences of ⟨g, f(x)⟩, of the reference and of the variant.
            let h = 1e-7;
            let loss_ref = |z: &[f64]| -> f64 {
                exact(f, z, t)
                    .iter()
                    .zip(&g)
                    .map(|(p, gi)| p.to_f64() * gi)
                    .sum()
            };
            let loss_var = |z: &[f64]| -> f64 {
                run(v, DType::F64, z, t)
                    .iter()
                    .zip(&g)
                    .map(|(p, gi)| p * gi)
                    .sum()
            };
            for i in 0..n {
                let (mut up, mut down) = (x.clone(), x.clone());
                up[i] += h;
                down[i] -= h;
                let fd_ref = (loss_ref(&up) - loss_ref(&down)) / (up[i] - down[i]);
                let fd_var = (loss_var(&up) - loss_var(&down)) / (up[i] - down[i]);
                // Truncation is zero for sparsemax (linear pieces) and O(h²) for
                // entmax; rounding is about 1e-16/h.
                let tol = 1e-7 * scale;
                assert!(
                    (fd_ref - want[i]).abs() <= tol,
                    "{} ref n={n} at {i}: {fd_ref} vs {}",
                    v.id(),
                    want[i]
                );
                assert!(
                    (fd_var - dx[i]).abs() <= tol,
                    "{} n={n} at {i}: {fd_var} vs {}",
                    v.id(),
                    dx[i]
                );
            }
        }
    }
    assert!(checked > 600, "{checked}");
}

#[test]
fn vjps_in_every_dtype_stay_close() {
    // f32 arithmetic for f16/bf16/f32 on a rounded y: the VJP's error is a few u_T
    // of the scale max|g|/T (sparsemax: one sum over the support; entmax: √y loses
    // half of y's relative error, plus ⟨e, g⟩/Σe).
    let mut r = rng(29);
    for dtype in [DType::F16, DType::BF16, DType::F32] {
        for trial in 0..100 {
            let n = 2 + trial % 30;
            let x = rounded(dtype, &(0..n).map(|_| normal(&mut r)).collect::<Vec<_>>());
            let g = rounded(dtype, &(0..n).map(|_| normal(&mut r)).collect::<Vec<_>>());
            for (v, f) in variants() {
                let want: Vec<f64> = reference::vjp(f, &x, 1.0, &g)
                    .iter()
                    .map(|e| e.to_f64())
                    .collect();
                let dx = run_vjp(v, dtype, &x, &g, 1.0);
                let gmax = g.iter().fold(0.0f64, |m, a| m.max(a.abs()));
                let tol = 8.0 * n as f64 * dtype.unit_roundoff() * gmax;
                for i in 0..n {
                    assert!(
                        (dx[i] - want[i]).abs() <= tol,
                        "{} {dtype} at {i}: {} vs {}",
                        v.id(),
                        dx[i],
                        want[i]
                    );
                }
            }
        }
    }
}
