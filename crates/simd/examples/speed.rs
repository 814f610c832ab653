//! Development timings of the simd variants against candle, the scalar variants
//! and a memory copy (the official numbers come from the throughput scenario).
//!
//! ```sh
//! cargo run --release -p softmax-lab-simd --example speed [-- --quick]
//! ```
//!
//! Each case runs inside a rayon pool of 1 thread and of all threads (as the
//! harness does), outputs pre-touched, and reports the median of many timed
//! repetitions in G elements/s, then the ratios the issue sets targets for.

use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use softmax_lab_core::{Buffer, DType, Options, Variant};

fn variants() -> Vec<Box<dyn Variant>> {
    vec![
        Box::new(softmax_lab_candle_baseline::CandleSoftmaxLastDim),
        Box::new(softmax_lab_candle_baseline::CandleSigmoid),
        Box::new(softmax_lab_stable::Stable),
        Box::new(softmax_lab_stable::StableWide),
        Box::new(softmax_lab_simd::StableSimd),
        Box::new(softmax_lab_simd::OnlineSimd),
        Box::new(softmax_lab_simd::TwoPass),
        Box::new(softmax_lab_simd::LogSoftmaxSimd),
        Box::new(softmax_lab_simd::SigmoidSimd),
    ]
}

const SOFTMAXES: [&str; 3] = ["stable_simd", "online_simd", "two_pass"];

/// Median seconds of `f` over repetitions filling about `budget_s`.
fn median_secs(budget_s: f64, mut f: impl FnMut()) -> f64 {
    f();
    let start = Instant::now();
    f();
    let once = start.elapsed().as_secs_f64().max(1e-9);
    let reps = ((budget_s / once) as usize).clamp(5, 2000);
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

fn copy_rate(dtype: DType, x: &Buffer, out: &mut Buffer, budget: f64) -> f64 {
    let len = x.len();
    let secs = match (x, out) {
        (Buffer::F32(a), Buffer::F32(b)) => median_secs(budget, || par_copy(a, b)),
        (Buffer::F16(a), Buffer::F16(b)) => median_secs(budget, || par_copy(a, b)),
        (Buffer::BF16(a), Buffer::BF16(b)) => median_secs(budget, || par_copy(a, b)),
        _ => {
            eprintln!("no copy for {dtype}");
            f64::NAN
        }
    };
    len as f64 / secs / 1e9
}

fn par_copy<T: Copy + Send + Sync>(a: &[T], b: &mut [T]) {
    if rayon::current_num_threads() == 1 {
        b.copy_from_slice(a);
    } else {
        let chunk = a.len().div_ceil(rayon::current_num_threads()).max(1);
        b.par_chunks_mut(chunk)
            .zip(a.par_chunks(chunk))
            .for_each(|(d, s)| d.copy_from_slice(s));
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let budget = if quick { 0.05 } else { 0.3 };
    let all = std::thread::available_parallelism().map_or(2, |n| n.get());
    println!("simd path: {}", softmax_lab_simd::Isa::active());
    let in_cache: Vec<(usize, usize)> = [1024, 4096, 16384]
        .into_iter()
        .map(|n| (n, (65_536 / n).max(1)))
        .collect();
    let out_of_cache = [(4096usize, 4096usize), (1 << 20, 16)];
    let vs = variants();
    for dtype in [DType::F32, DType::F16, DType::BF16] {
        for (label, cases, threads_list) in [
            ("in cache", &in_cache[..], vec![1, all]),
            ("out of cache", &out_of_cache[..], vec![1, all]),
        ] {
            for &(n, rows) in cases {
                let mut r = ChaCha8Rng::seed_from_u64(n as u64);
                let vals: Vec<f64> = (0..n * rows)
                    .map(|_| 4.0 * (r.gen::<f64>() - 0.5))
                    .collect();
                let x = Buffer::from_f64(dtype, &vals);
                for &threads in &threads_list {
                    let pool = match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
                        Ok(p) => p,
                        Err(e) => {
                            eprintln!("{e}");
                            return;
                        }
                    };
                    let mut rates: Vec<(&str, f64)> = Vec::new();
                    pool.install(|| {
                        let mut out = Buffer::from_f64(dtype, &vals);
                        rates.push(("memcpy", copy_rate(dtype, &x, &mut out, budget)));
                        for v in &vs {
                            let opts = Options::default();
                            let ok = v.forward(x.rows(), n, &opts, out.rows_mut()).is_ok();
                            if !ok {
                                continue;
                            }
                            let secs = median_secs(budget, || {
                                let _ = v.forward(x.rows(), n, &opts, out.rows_mut());
                            });
                            rates.push((v.id(), (n * rows) as f64 / secs / 1e9));
                        }
                    });
                    let get = |id: &str| rates.iter().find(|r| r.0 == id).map_or(f64::NAN, |r| r.1);
                    let best = SOFTMAXES
                        .iter()
                        .map(|id| (get(id), *id))
                        .fold((0.0, ""), |a, b| if b.0 > a.0 { b } else { a });
                    let candle = get("candle_softmax_last_dim");
                    println!(
                        "{dtype:4} {label:12} n={n:<8} rows={rows:<5} threads={threads}: {}",
                        rates
                            .iter()
                            .map(|(id, g)| format!("{id} {g:.3}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                    println!(
                        "     ratios: best softmax ({}) / candle_softmax_last_dim = {:.1}x; \
                         sigmoid_simd / candle_sigmoid = {:.1}x; best softmax / memcpy = {:.2}x; \
                         stable_wide / candle = {:.2}x",
                        best.1,
                        best.0 / candle,
                        get("sigmoid_simd") / get("candle_sigmoid"),
                        best.0 / get("memcpy"),
                        get("stable_wide") / candle
                    );
                }
            }
        }
    }
}
