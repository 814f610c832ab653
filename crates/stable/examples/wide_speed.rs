//! Development timing of `stable_wide` on f32 rows, one thread, in cache: the
//! vectorised path ([`softmax_lab_stable::wide`]) against the scalar formula it
//! replaced (`shifted_softmax_row::<f32, f64>`) and candle's `softmax_last_dim`.
//!
//! ```sh
//! cargo run --release -p softmax-lab-stable --example wide_speed [-- --quick]
//! ```
//!
//! Each case is 256 KiB of f32 per call (n = 1024 × 64 rows, n = 16384 × 4 rows),
//! logits uniform in [−2, 2); our kernels run on the main thread (no rayon), candle
//! inside a rayon pool of one thread (it splits rows with rayon), timed as the
//! throughput scenario times it (`Variant::timed_call`: tensor built once).
//!
//! The machine this was written on is shared and its speed drifts by a factor of
//! up to 1.6 within a minute, so the variants are timed in interleaved rounds:
//! each round takes the median of many calls of every variant in turn, and the
//! report gives, in G elements/s, the median over rounds and the best round, and
//! the ratios within each round (which drift far less than the rates).

use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use softmax_lab_core::{Buffer, Direction, Options, RowKernel, Variant};
use softmax_lab_simd::Isa;
use softmax_lab_stable::{shifted_softmax_row, StableWide};

/// Median seconds of `f` over repetitions filling about `budget_s`.
fn median_secs(budget_s: f64, f: &mut dyn FnMut()) -> f64 {
    f();
    let start = Instant::now();
    f();
    let once = start.elapsed().as_secs_f64().max(1e-9);
    let reps = ((budget_s / once) as usize).clamp(5, 5000);
    let mut times: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[reps / 2]
}

/// The median of a non-empty list.
fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (rounds, budget) = if quick { (5, 0.02) } else { (15, 0.05) };
    println!("stable_wide path: {}", Isa::active());
    let pool = match rayon::ThreadPoolBuilder::new().num_threads(1).build() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("no rayon pool: {e}");
            return;
        }
    };
    for (n, rows) in [(1024usize, 64usize), (16384, 4)] {
        let mut r = ChaCha8Rng::seed_from_u64(n as u64);
        let x: Vec<f32> = (0..n * rows)
            .map(|_| 4.0 * (r.gen::<f32>() - 0.5))
            .collect();
        let mut out = vec![0.0f32; n * rows];
        let xb = Buffer::F32(x.clone());
        let opts = Options::default();
        let candle = softmax_lab_candle_baseline::CandleSoftmaxLastDim;
        let mut candle_call =
            match candle.timed_call(Direction::Forward, xb.rows(), xb.rows(), n, &opts) {
                Some(Ok(c)) => c,
                Some(Err(e)) => {
                    eprintln!("candle: {e}");
                    return;
                }
                None => return,
            };
        let names = ["stable_wide", "stable_wide T=0.7", "old scalar", "candle"];
        // rates[variant][round], G elements/s.
        let mut rates = vec![Vec::new(); names.len()];
        let elems = (n * rows) as f64;
        for _ in 0..rounds {
            for (v, rate) in rates.iter_mut().enumerate() {
                let wide = |t: f64, x: &[f32], out: &mut [f32]| {
                    for (xr, or) in x.chunks_exact(n).zip(out.chunks_exact_mut(n)) {
                        StableWide.forward_row(xr, t, or);
                    }
                };
                let secs = match v {
                    0 => median_secs(budget, &mut || wide(1.0, &x, &mut out)),
                    1 => median_secs(budget, &mut || wide(0.7, &x, &mut out)),
                    2 => median_secs(budget, &mut || {
                        for (xr, or) in x.chunks_exact(n).zip(out.chunks_exact_mut(n)) {
                            shifted_softmax_row::<f32, f64>(xr, 1.0, or);
                        }
                    }),
                    _ => median_secs(budget, &mut || {
                        pool.install(|| {
                            let _ = candle_call();
                        })
                    }),
                };
                rate.push(elems / secs / 1e9);
            }
        }
        let best = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
        let per_round = |a: usize, b: usize| -> Vec<f64> {
            rates[a].iter().zip(&rates[b]).map(|(x, y)| x / y).collect()
        };
        println!("f32 n={n} rows={rows} ({rounds} rounds), G elem/s median (best):");
        for (name, r) in names.iter().zip(&rates) {
            println!("  {name:18} {:.3} ({:.3})", median(r), best(r));
        }
        println!(
            "  stable_wide / candle = {:.2}x, stable_wide / old scalar = {:.1}x (medians of per-round ratios)",
            median(&per_round(0, 3)),
            median(&per_round(0, 2))
        );
    }
}
