//! Shared helpers for the workspace-level tests: fixed-seed adversarial rows, and
//! running a registered variant on exact dtype values.
#![allow(dead_code)]

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use softmax_lab_core::variant::{forward_backward_f64, forward_f64};
use softmax_lab_core::{DType, Options, Variant};

/// Round every value to `dtype` (nearest, ties to even): the values a variant sees.
pub fn rounded(dtype: DType, x: &[f64]) -> Vec<f64> {
    x.iter().map(|&v| dtype.format().round_f64(v)).collect()
}

/// A fixed-seed generator.
pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// A standard normal sample (Box–Muller; enough for test inputs).
pub fn normal(r: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = r.gen_range(f64::MIN_POSITIVE..1.0);
    let u2: f64 = r.gen();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// One adversarial row: a name for failure messages, the values (already rounded
/// to the dtype), and the temperature to use.
pub struct Case {
    pub name: String,
    pub x: Vec<f64>,
    pub t: f64,
}

/// The adversarial rows of the foundation issue, for one dtype: huge equal logits,
/// one spike among thousands of tiny logits, near-ties, masked (−inf) entries,
/// outputs pushed into subnormals, and fixed-seed random rows at scales 1..10^4
/// (with two temperatures). `long` adds a row of 10^6 entries.
pub fn adversarial_rows(dtype: DType, long: bool) -> Vec<Case> {
    let f = dtype.format();
    let mut r = rng(0x5eed ^ dtype.size_bytes() as u64 ^ (f.precision as u64) << 8);
    let mut out = Vec::new();
    let mut push = |name: String, x: Vec<f64>, t: f64| {
        out.push(Case {
            name,
            x: rounded(dtype, &x),
            t,
        });
    };
    let big = 0.9 * f.max_finite();
    for n in [2, 512, 4096] {
        push(format!("huge_equal_n{n}"), vec![big; n], 1.0);
    }
    push(
        "huge_mixed_sign".into(),
        vec![big, -big, big * 0.5, 0.0],
        1.0,
    );
    let mut spike: Vec<f64> = (0..4096).map(|_| 1e-3 * normal(&mut r)).collect();
    spike[1234] = 10.0;
    push("spike_among_tiny".into(), spike, 1.0);
    let c = if dtype == DType::F16 { 100.0 } else { 1000.0 };
    let ulp_c = f.round_f64(c * (1.0 + 2.0 * f.unit_roundoff())) - c;
    let ties: Vec<f64> = (0..257)
        .map(|_| c + ulp_c * r.gen_range(-3..=3) as f64)
        .collect();
    push("near_ties".into(), ties, 1.0);
    let masked: Vec<f64> = (0..1000)
        .map(|_| {
            if r.gen_bool(0.3) {
                f64::NEG_INFINITY
            } else {
                3.0 * normal(&mut r)
            }
        })
        .collect();
    push("masked".into(), masked, 1.0);
    // Gaps that put exp(-gap) between a little above the smallest normal and just
    // below the smallest subnormal of the dtype.
    let (lo, hi) = (
        -(f.min_normal().ln()) - 2.0,
        -(f.min_subnormal().ln()) + 1.0,
    );
    let sub: Vec<f64> = std::iter::once(0.0)
        .chain((0..63).map(|i| -(lo + (hi - lo) * i as f64 / 62.0)))
        .collect();
    push("subnormal_outputs".into(), sub, 1.0);
    for scale in [1.0, 10.0, 100.0, 1e3, 1e4] {
        let x: Vec<f64> = (0..1000).map(|_| scale * normal(&mut r)).collect();
        push(format!("normal_scale_{scale:e}"), x, 1.0);
    }
    let x: Vec<f64> = (0..300).map(|_| 10.0 * normal(&mut r)).collect();
    push("normal_scale_10_T3".into(), x.clone(), 3.0);
    push("normal_scale_10_T0.25".into(), x, 0.25);
    if long {
        let x: Vec<f64> = (0..1_000_000).map(|_| 5.0 * normal(&mut r)).collect();
        push("long_n1e6".into(), x, 1.0);
    }
    out
}

/// Run a variant's forward on one row of exact dtype values.
pub fn run(v: &dyn Variant, dtype: DType, x: &[f64], t: f64) -> Vec<f64> {
    forward_f64(v, dtype, x, x.len(), &Options { temperature: t })
        .unwrap_or_else(|e| panic!("{} {dtype}: {e}", v.id()))
}

/// Run forward then backward on one row; returns dL/dx.
pub fn run_vjp(v: &dyn Variant, dtype: DType, x: &[f64], dy: &[f64], t: f64) -> Vec<f64> {
    forward_backward_f64(v, dtype, x, dy, x.len(), &Options { temperature: t })
        .unwrap_or_else(|e| panic!("{} {dtype}: {e}", v.id()))
        .1
}
