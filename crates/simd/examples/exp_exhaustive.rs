//! The SIMD exp checked on every f32 input (all 2^32 bit patterns), on every
//! instruction-set path this machine runs.
//!
//! ```sh
//! cargo run --release -p softmax-lab-simd --example exp_exhaustive
//! ```
//!
//! The error of each result is measured in ulps of f32 at the exact value, with
//! f64's `exp` as the exact value (its error, below 2^-29 f32 ulps, cannot move
//! the maximum by more than that); the worst input is then re-measured against
//! the double-double reference of `softmax_lab_core` (`measure::ulp_error`).
//! Outside the finite-result range every result must be exactly 0, +inf or NaN;
//! those count as whole ulp steps. Prints, per path: the maximum error and where,
//! how many results are not correctly rounded, and the time taken.

use std::time::Instant;

use softmax_lab_core::measure::ulp_error;
use softmax_lab_core::{DType, Dd, Xd};
use softmax_lab_simd::{exp_f32_on, Isa};

/// Error of y in f32 ulps against e^x computed in f64.
fn ulps(x: f32, y: f32) -> f64 {
    if x.is_nan() {
        return if y.is_nan() { 0.0 } else { f64::INFINITY };
    }
    let e = (x as f64).exp();
    let r = e as f32;
    if !r.is_finite() || !y.is_finite() || y == 0.0 || r == 0.0 {
        // Overflow, or a result at the bottom of the subnormals: whole steps.
        return (y.to_bits() as f64 - r.to_bits() as f64).abs();
    }
    let ulp = if e < f32::MIN_POSITIVE as f64 {
        f32::from_bits(1) as f64
    } else {
        2f64.powi(e.log2().floor() as i32 - 23)
    };
    (y as f64 - e).abs() / ulp
}

/// (max ulps, its input, results not correctly rounded) over the bit patterns
/// [start, end).
fn check_range(isa: Isa, start: u64, end: u64) -> (f64, f32, u64) {
    const CHUNK: u64 = 1 << 16;
    let mut x = vec![0.0f32; CHUNK as usize];
    let mut y = vec![0.0f32; CHUNK as usize];
    let mut worst = (0.0f64, 0.0f32);
    let mut misrounded = 0u64;
    let mut b = start;
    while b < end {
        let stop = (b + CHUNK).min(end);
        let len = (stop - b) as usize;
        for (i, xi) in x[..len].iter_mut().enumerate() {
            *xi = f32::from_bits((b + i as u64) as u32);
        }
        if let Err(e) = exp_f32_on(isa, &x[..len], &mut y[..len]) {
            eprintln!("{e}");
            std::process::exit(1);
        }
        for (&xi, &yi) in x[..len].iter().zip(&y[..len]) {
            let u = ulps(xi, yi);
            if u > 0.5 {
                misrounded += 1;
            }
            if u > worst.0 {
                worst = (u, xi);
            }
        }
        b = stop;
    }
    (worst.0, worst.1, misrounded)
}

fn main() {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
    for isa in Isa::ALL.into_iter().filter(|i| i.is_available()) {
        let started = Instant::now();
        let total = 1u64 << 32;
        let per = total.div_ceil(threads);
        let parts: Vec<(f64, f32, u64)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|k| s.spawn(move || check_range(isa, k * per, ((k + 1) * per).min(total))))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or((f64::INFINITY, f32::NAN, u64::MAX)))
                .collect()
        });
        let worst = parts.iter().fold(
            (0.0f64, 0.0f32),
            |w, p| if p.0 > w.0 { (p.0, p.1) } else { w },
        );
        let misrounded: u64 = parts.iter().map(|p| p.2).sum();
        let mut y = [0.0f32];
        let confirmed = match exp_f32_on(isa, &[worst.1], &mut y) {
            Ok(()) => ulp_error(
                DType::F32,
                y[0] as f64,
                Xd::exp(Dd::from_f64(worst.1 as f64)),
            ),
            Err(_) => f64::NAN,
        };
        println!(
            "exp {isa}: max error {:.6} ulp at x = {:e} ({:#010x}; double-double reference: {:.6} ulp); \
             {misrounded} of 2^32 results not correctly rounded; {:.1} s on {threads} threads",
            worst.0,
            worst.1,
            worst.1.to_bits(),
            confirmed,
            started.elapsed().as_secs_f64()
        );
    }
}
