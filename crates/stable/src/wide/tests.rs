//! Tests of `stable_wide`'s vector path: the exponential's accuracy and edges,
//! and rows against the scalar formula and the reference.

use super::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use softmax_lab_core::measure::ulp_error;
use softmax_lab_core::{DType, Dd, Xd};

fn paths() -> impl Iterator<Item = Isa> {
    Isa::ALL.into_iter().filter(|p| p.is_available())
}

/// The worst ulp error of the exponential on `x`, and where: over normal
/// results, and over subnormal ones (rounded twice: p to 53 bits, then p·2^k).
fn worst(path: Isa, x: &[f64]) -> [(f64, f64); 2] {
    let mut y = vec![0.0; x.len()];
    exp_slice_on::<true>(path, x, &mut y);
    let mut w = [(0.0, 0.0); 2];
    for (&xi, &yi) in x.iter().zip(&y) {
        let e = ulp_error(DType::F64, yi, Xd::exp(Dd::from_f64(xi)));
        let sub = usize::from(xi < -708.396_418_532_264);
        if e > w[sub].0 {
            w[sub] = (e, xi);
        }
    }
    w
}

#[test]
fn exp_is_within_one_ulp_on_sampled_arguments() {
    let mut r = ChaCha8Rng::seed_from_u64(0xe4_9f64);
    // Uniform over the whole range, plus the subnormal results and |x| < 1
    // (where r = x and the reduction does nothing) sampled densely.
    let mut x: Vec<f64> = (0..1_000_000).map(|_| r.gen_range(-745.2..=0.0)).collect();
    x.extend((0..500_000).map(|_| r.gen_range(-745.2..=-700.0)));
    x.extend((0..500_000).map(|_| -(r.gen::<f64>().powi(8))));
    for p in paths() {
        let [(normal, at), (sub, at_sub)] = worst(p, &x);
        eprintln!(
            "exp {p}: worst {normal:.4} ulp (normal results, at {at:e}), \
             {sub:.4} ulp (subnormal results, at {at_sub:e}) on {} arguments",
            x.len()
        );
        assert!(normal <= 1.0 && sub <= 1.0, "{p}: {normal} / {sub} ulp");
        // The design leaves room: a regression to a plain 1 + r·(…), or to a
        // scale that rounds twice, would show here.
        assert!(normal < 0.82, "{p}: {normal} ulp at {at:e}");
        assert!(sub < 0.92, "{p}: {sub} ulp at {at_sub:e}");
    }
}

#[test]
fn exp_edges_are_right() {
    let edges = [
        0.0,
        -0.0,
        -1e-300,
        -f64::MIN_POSITIVE,
        -1e-17,
        -0.34657359027997264, // −ln2/2
        -1.0,
        -708.396_418_532_264_1, // the smallest normal result
        -708.4,
        -709.0,
        -744.4400719213812, // the smallest subnormal, 2^-1074
        -745.1,
        -745.133_219_101_941_1, // ln 2^-1075 rounded up: 2^-1074
        -745.2,
        -745.3,
        -1e300,
        f64::MIN,
        f64::NEG_INFINITY,
    ];
    for p in paths() {
        let mut y = [0.0; 18];
        exp_slice_on::<true>(p, &edges, &mut y);
        for (&x, &v) in edges.iter().zip(&y) {
            let want = Xd::exp(Dd::from_f64(x)).round_to(DType::F64.format());
            let e = ulp_error(DType::F64, v, Xd::exp(Dd::from_f64(x)));
            assert!(e <= 0.6, "{p}: exp({x:e}) = {v:e}, want {want:e} ({e} ulp)");
        }
        assert_eq!(y[0], 1.0);
        assert_eq!(y[1], 1.0);
        assert_eq!(y[2], 1.0);
        // 2^−1074 at ln 2^−1074 and just above ln 2^−1075; 0 below it.
        for v in &y[10..13] {
            assert_eq!(*v, f64::from_bits(1), "{p}");
        }
        for v in &y[13..] {
            assert_eq!(*v, 0.0, "{p}");
        }
        let mut nan = [0.0];
        exp_slice_on::<true>(p, &[f64::NAN], &mut nan);
        assert!(nan[0].is_nan(), "{p}");
    }
}

/// The narrow form (no clamp, 2^k through the exponent bits) gives the wide
/// form's bits on its whole range.
#[test]
fn narrow_exp_equals_wide_exp_on_its_range() {
    let mut r = ChaCha8Rng::seed_from_u64(0x4a11);
    let mut x: Vec<f64> = (0..200_000).map(|_| r.gen_range(NARROW_LO..=0.0)).collect();
    x.extend([NARROW_LO, -706.999, -0.0, 0.0, -1e-310]);
    for p in paths() {
        let (mut a, mut b) = (vec![0.0; x.len()], vec![0.0; x.len()]);
        exp_slice_on::<true>(p, &x, &mut a);
        exp_slice_on::<false>(p, &x, &mut b);
        for i in 0..x.len() {
            assert_eq!(a[i].to_bits(), b[i].to_bits(), "{p}: exp({:e})", x[i]);
        }
    }
}

#[test]
fn exp_agrees_with_the_platform_exp() {
    // A plain cross-check of the reduction's k and scale on every integer and
    // half-integer argument: within an ulp of glibc's (itself within 1 ulp).
    for p in paths() {
        let x: Vec<f64> = (0..=1490).map(|i| -(i as f64) / 2.0).collect();
        let mut y = vec![0.0; x.len()];
        exp_slice_on::<true>(p, &x, &mut y);
        for (&xi, &yi) in x.iter().zip(&y) {
            let want = xi.exp();
            let d = (yi.to_bits() as i64 - want.to_bits() as i64).abs();
            assert!(d <= 1, "{p}: exp({xi}) = {yi:e} vs {want:e}");
        }
    }
}

/// Old scalar path and new path on the same row, every path available here:
/// (elements compared, elements that differ); panics on a difference above
/// 1 ulp of T or on a NaN/non-NaN mismatch.
fn compare<T: Element>(x: &[T], t: f64) -> (usize, usize) {
    let mut want = vec![T::ZERO; x.len()];
    crate::shifted_softmax_row::<T, f64>(x, t, &mut want);
    let mut differ = 0;
    for p in paths() {
        let mut got = vec![T::ZERO; x.len()];
        softmax_row_on(p, x, t, &mut got);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            let (g, w) = (g.to_f64(), w.to_f64());
            if g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()) {
                continue;
            }
            let d = softmax_lab_core::measure::ulp_distance(T::DTYPE, g, w);
            assert!(
                d <= 1.0,
                "{p} {} n={} t={t}: y[{i}] = {g:e}, scalar {w:e} ({d} ulp)",
                T::DTYPE,
                x.len()
            );
            differ += 1;
        }
    }
    (x.len() * paths().count(), differ)
}

/// Random rows of many lengths (every tail of the 16-, 8- and 4-lane loops),
/// spreads from 1 to 4000 (the narrow form, and the wide one with zeros and
/// subnormal exponentials), three temperatures: the new path gives the scalar
/// path's outputs, up to a rare 1-ulp difference where an f64 value lies within
/// a few f64 ulps of a rounding boundary of T.
fn matches_the_scalar_path<T: Element>(seed: u64) {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    let mut lens: Vec<usize> = (1..=70).collect();
    lens.extend([255, 1000, 1024, 4099, 16384 + 13]);
    let (mut total, mut differ) = (0, 0);
    for &n in &lens {
        for scale in [1.0, 30.0, 300.0, 4000.0] {
            for t in [1.0, 0.7, 3.0] {
                let x: Vec<T> = (0..n)
                    .map(|_| T::from_f64(scale * (2.0 * r.gen::<f64>() - 1.0)))
                    .collect();
                let (a, b) = compare(&x, t);
                total += a;
                differ += b;
            }
        }
    }
    eprintln!(
        "{}: {differ} of {total} outputs differ from the scalar path",
        T::DTYPE
    );
    assert!(differ * 100_000 <= total, "{differ} of {total}");
}

#[test]
fn f32_rows_match_the_scalar_path() {
    matches_the_scalar_path::<f32>(0x5ca1a);
}

#[test]
fn half_rows_match_the_scalar_path() {
    matches_the_scalar_path::<half::f16>(0x5ca1b);
    matches_the_scalar_path::<half::bf16>(0x5ca1c);
}

/// Within 1 ulp of the correctly rounded softmax (the double-double
/// reference), as the scalar path is.
#[test]
fn f32_rows_are_within_one_ulp_of_the_reference() {
    use softmax_lab_core::{reference, Function};
    let mut r = ChaCha8Rng::seed_from_u64(0xacc);
    for (n, scale, t) in [
        (1000, 5.0, 1.0),
        (333, 100.0, 0.5),
        (4096, 800.0, 1.0),
        (77, 1.0, 7.0),
    ] {
        let x: Vec<f32> = (0..n)
            .map(|_| (scale * (2.0 * r.gen::<f64>() - 1.0)) as f32)
            .collect();
        let xf: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        let want = reference::forward(Function::Softmax, &xf, t);
        for p in paths() {
            let mut y = vec![0.0f32; n];
            softmax_row_on(p, &x, t, &mut y);
            for (&yi, wi) in y.iter().zip(&want) {
                let e = ulp_error(DType::F32, yi as f64, *wi);
                assert!(e <= 1.0, "{p} n={n} scale={scale}: {e} ulp");
            }
        }
    }
}

/// Rows that are not all finite, or that the fast range pass refuses (n = 1,
/// f32 overflow of its sum), give the scalar path's outputs bit for bit.
#[test]
fn special_rows_match_the_scalar_path() {
    const INF: f32 = f32::INFINITY;
    const NAN: f32 = f32::NAN;
    let mut rows: Vec<Vec<f32>> = vec![
        vec![],
        vec![3.5],
        vec![-INF],
        vec![NAN],
        vec![-INF, 0.0, -INF],
        vec![-INF, -INF],
        vec![1.0, INF, -INF],
        vec![INF, INF, 0.0],
        vec![1.0, NAN, 2.0],
        vec![NAN, INF],
        vec![f32::MAX, f32::MAX, -f32::MAX, 0.0],
        vec![f32::MAX; 40],
        vec![-f32::MAX, 0.0, f32::MIN_POSITIVE, -1e-45],
        vec![0.0, -0.0, -0.0, 0.0],
        vec![
            0.0, -744.0, -745.0, -745.2, -746.0, -800.0, -1e30, -INF, -708.5,
        ],
    ];
    // Long rows with the special entry in a vector lane and in the tail.
    for at in [0, 17, 37, 38] {
        for v in [NAN, INF, -INF] {
            let mut x: Vec<f32> = (0..39).map(|i| (i as f32 * 0.37).sin()).collect();
            x[at] = v;
            rows.push(x);
        }
    }
    for x in &rows {
        for t in [1.0, 0.25] {
            let (_, differ) = compare(x, t);
            assert_eq!(differ, 0, "{x:?} t={t}");
        }
    }
    let mut y = vec![0.0f32; 3];
    softmax_row(&[1.0f32, NAN, 2.0], 1.0, &mut y);
    assert!(y.iter().all(|v| v.is_nan()));
    softmax_row(&[-INF, 2.0, -INF], 1.0, &mut y);
    assert_eq!(y, [0.0, 1.0, 0.0]);
}
