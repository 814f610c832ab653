//! Property tests (proptest, fixed seed) of the invariants every variant must keep:
//! outputs in [0, 1]; rows summing to one within the derived bound; shift
//! invariance (bit for bit) for the shifted variants; permutation equivariance;
//! VJPs equal to finite differences (f64) and to candle's autograd; and
//! softmax([a, b])[0] = sigmoid(a − b) within a stated ULP bound.

mod common;

use common::{run, run_vjp};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use softmax_lab_core::bounds::{normwise, sum_to_one, Rounding};
use softmax_lab_core::measure::{normwise_error, sum_deviation, ulp_distance};
use softmax_lab_core::{DType, Function, Variant, Xd};
use std::sync::Arc;

fn config() -> Config {
    // A fixed seed and no regression files: every run checks the same cases.
    Config {
        cases: 64,
        rng_seed: RngSeed::Fixed(0x050f_73a8),
        failure_persistence: None,
        ..Config::default()
    }
}

fn variant(id: &str) -> Arc<dyn Variant> {
    softmax_lab_variants::registry()
        .get(id)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn any_dtype() -> impl Strategy<Value = DType> {
    prop::sample::select(DType::ALL.to_vec())
}

fn temperature() -> impl Strategy<Value = f64> {
    prop::sample::select(vec![1.0, 0.5, 2.0, 3.0])
}

/// Rows of `len` logits in [-lim, lim].
fn row(len: std::ops::Range<usize>, lim: f64) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(-lim..lim, len)
}

/// Rows on a dyadic grid k/8 (k in [-800, 800]): exact in f32/f64 even after
/// adding an integer shift of up to ±1000.
fn dyadic_row() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec((-800i32..800).prop_map(|k| k as f64 / 8.0), 1..40)
}

const SOFTMAX_FAMILY: [&str; 11] = [
    "naive",
    "stable",
    "stable_wide",
    "online",
    "candle_softmax_last_dim",
    "candle_softmax",
    "sigmoid",
    "stable_simd",
    "online_simd",
    "two_pass",
    "sigmoid_simd",
];

proptest! {
    #![proptest_config(config())]

    /// Every probability is in [0, 1] (naive kept below its overflow threshold).
    #[test]
    fn outputs_lie_in_the_unit_interval(dtype in any_dtype(), x in row(1..64, 50.0), t in temperature()) {
        for id in SOFTMAX_FAMILY {
            let v = variant(id);
            let t = if v.info().temperature { t } else { 1.0 };
            let lim = if id == "naive" { 0.9 * dtype.exp_overflow_threshold() * t } else { f64::MAX };
            let x: Vec<f64> = common::rounded(dtype, &x).iter().map(|a| a.clamp(-lim, lim)).collect();
            let y = run(v.as_ref(), dtype, &x, t);
            prop_assert!(y.iter().all(|p| (0.0..=1.0).contains(p)), "{id} {dtype}: {y:?}");
        }
    }

    /// Σŷ − 1 stays within `bounds::sum_to_one` for the variants that name a formula.
    #[test]
    fn rows_sum_to_one_within_the_bound(dtype in any_dtype(), x in row(1..300, 30.0), t in temperature()) {
        let x = common::rounded(dtype, &x);
        for id in ["stable", "stable_wide", "online", "stable_simd", "online_simd", "two_pass"] {
            let v = variant(id);
            let info = v.info();
            let t = if info.temperature { t } else { 1.0 };
            let bound = sum_to_one(info.formula.unwrap_or_else(|| panic!("{id} names a formula")),
                Rounding::of(info.accumulation, dtype), x.len(), t);
            let dev = sum_deviation(&run(v.as_ref(), dtype, &x, t));
            prop_assert!(dev <= bound, "{id} {dtype} n={}: |sum - 1| = {dev:e} > {bound:e}", x.len());
        }
    }

    /// softmax(x + c) = softmax(x) bit for bit when x + c is exact: the shifted
    /// variants only ever see the differences x_i − max.
    #[test]
    fn shifted_variants_are_shift_invariant(x in dyadic_row(), c in -1000i32..1000, t in temperature()) {
        for dtype in [DType::F32, DType::F64] {
            let shifted: Vec<f64> = x.iter().map(|v| v + c as f64).collect();
            for id in ["stable", "stable_wide", "online", "log_softmax", "stable_simd", "online_simd", "log_softmax_simd"] {
                let v = variant(id);
                let a = run(v.as_ref(), dtype, &x, t);
                let b = run(v.as_ref(), dtype, &shifted, t);
                prop_assert_eq!(&a, &b, "{} {}", id, dtype);
            }
        }
    }

    /// Permuting the input permutes the output (up to summation order, so within
    /// twice the formula's normwise bound).
    #[test]
    fn outputs_follow_a_permutation(dtype in any_dtype(), x in row(2..100, 20.0), seed in any::<u64>()) {
        let x = common::rounded(dtype, &x);
        let mut perm: Vec<usize> = (0..x.len()).collect();
        let mut r = common::rng(seed);
        use rand::seq::SliceRandom;
        perm.shuffle(&mut r);
        let px: Vec<f64> = perm.iter().map(|&i| x[i]).collect();
        for id in ["stable", "stable_wide", "online", "log_softmax", "stable_simd", "online_simd", "two_pass", "log_softmax_simd"] {
            let v = variant(id);
            let info = v.info();
            let y = run(v.as_ref(), dtype, &x, 1.0);
            let py = run(v.as_ref(), dtype, &px, 1.0);
            let expect: Vec<Xd> = perm.iter().map(|&i| Xd::from_f64(y[i])).collect();
            let bound = normwise(info.formula.unwrap_or_else(|| panic!("{id}")),
                Rounding::of(info.accumulation, dtype), x.len(), 1.0);
            let err = normwise_error(&py, &expect);
            prop_assert!(err <= 2.0 * bound, "{id} {dtype}: {err:e} > 2 × {bound:e}");
        }
    }

    /// Every analytic backward equals central finite differences of ⟨dy, f(x)⟩ in f64.
    #[test]
    fn vjps_match_finite_differences(x in row(1..12, 5.0), dy in row(12..13, 1.0), t in temperature()) {
        let registry = softmax_lab_variants::registry();
        // The straight-through estimator is by design not the derivative of its
        // piecewise-constant (one-hot) forward; its own tests pin it.
        let surrogate = |id: &str| id == "gumbel_softmax_hard";
        for v in registry.iter().filter(|v| v.info().has_backward && !surrogate(v.id())) {
            let info = v.info();
            let t = if info.temperature { t } else { 1.0 };
            // Keep clear of hard sigmoid's kinks at ±3, where no derivative exists.
            let x: Vec<f64> = x.iter().map(|&a| if (a.abs() - 3.0).abs() < 1e-3 { a + 0.01 } else { a }).collect();
            let dy = &dy[..x.len()];
            let dx = run_vjp(v.as_ref(), DType::F64, &x, dy, t);
            let loss = |z: &[f64]| -> f64 {
                run(v.as_ref(), DType::F64, z, t).iter().zip(dy).map(|(a, b)| a * b).sum()
            };
            let scale = dx.iter().fold(1.0f64, |m, d| m.max(d.abs()));
            for i in 0..x.len() {
                let h = 1e-6 * x[i].abs().max(1.0);
                let (mut up, mut down) = (x.clone(), x.clone());
                up[i] += h;
                down[i] -= h;
                let fd = (loss(&up) - loss(&down)) / (up[i] - down[i]);
                prop_assert!((fd - dx[i]).abs() <= 1e-6 * scale,
                    "{} at {i}: analytic {} vs finite difference {fd}", info.id, dx[i]);
            }
        }
    }

    /// Our analytic VJPs agree with candle's autograd where candle has one (f64):
    /// dx = y ⊙ (dy − ⟨dy, y⟩)/T cancels, so both carry absolute errors of order
    /// n·u·max|dy|/T; they must agree within 64 times that.
    #[test]
    fn vjps_match_candle_autograd(x in row(1..30, 8.0), dy in row(30..31, 1.0), t in temperature()) {
        let dy = &dy[..x.len()];
        let gmax = dy.iter().fold(0.0f64, |m, g| m.max(g.abs()));
        for (ours, theirs, temp) in [
            ("stable", "candle_softmax", t),
            ("log_softmax", "candle_log_softmax", t),
            ("sigmoid", "candle_sigmoid", 1.0),
            ("stable_simd", "candle_softmax", t),
            ("log_softmax_simd", "candle_log_softmax", t),
            ("sigmoid_simd", "candle_sigmoid", 1.0),
        ] {
            let a = run_vjp(variant(ours).as_ref(), DType::F64, &x, dy, temp);
            let b = run_vjp(variant(theirs).as_ref(), DType::F64, &x, dy, temp);
            let tol = 64.0 * x.len() as f64 * DType::F64.unit_roundoff() * gmax / temp;
            let worst = a.iter().zip(&b).fold(0.0f64, |m, (p, q)| m.max((p - q).abs()));
            prop_assert!(worst <= tol, "{ours} vs {theirs}: max |difference| {worst:e} > {tol:e}");
        }
    }

    /// softmax([a, b])[0] = σ(a − b). With a − b exact, `stable` rounds in its two
    /// exps (≤ 1 ulp = 2u each, glibc), the sum and the division (u each): at most
    /// 6u relative; `sigmoid` computes in f64 and rounds once (u + 2^-50). So the two
    /// agree within 7u relative, i.e. at most 7 ulps, plus one for the integer
    /// distance: 8 ULP in f32 and f64.
    #[test]
    fn two_class_softmax_is_a_sigmoid_of_the_gap(b in -50_000i32..50_000, d in -30_000i32..30_000) {
        let (b, d) = (b as f64 / 1024.0, d as f64 / 1024.0);
        let a = b + d;
        for dtype in [DType::F32, DType::F64] {
            let p = run(variant("stable").as_ref(), dtype, &[a, b], 1.0)[0];
            let s = run(variant("sigmoid").as_ref(), dtype, &[d], 1.0)[0];
            let dist = ulp_distance(dtype, p, s);
            prop_assert!(dist <= 8.0, "{dtype} a={a} b={b}: softmax {p} vs sigmoid {s}: {dist} ulp");
        }
    }
}

/// The candle variant without a backward says so, for every dtype; the registry
/// lists it with `has_backward == false`.
#[test]
fn softmax_last_dim_reports_no_backward_everywhere() {
    let v = variant("candle_softmax_last_dim");
    assert!(!v.info().has_backward);
    for dtype in DType::ALL {
        let r = softmax_lab_core::variant::forward_backward_f64(
            v.as_ref(),
            dtype,
            &[1.0, 2.0],
            &[1.0, 0.0],
            2,
            &softmax_lab_core::Options::default(),
        );
        assert!(
            matches!(r, Err(softmax_lab_core::VariantError::NoBackward(_))),
            "{dtype}: {r:?}"
        );
    }
    assert_eq!(v.info().function, Function::Softmax);
}
