//! One variant, one f32 case, called in a loop for a few seconds: the target for
//! `perf record` when tuning a kernel (the official numbers come from the
//! throughput scenario).
//!
//! ```sh
//! cargo build --release -p softmax-lab-simd --example profile
//! RAYON_NUM_THREADS=1 perf record target/release/examples/profile stable_simd 16384 3
//! ```
//!
//! Arguments: variant id (default `stable_simd`), row length n (default 16384),
//! seconds (default 3), dtype (default `f32`; `f16`, `bf16`). Rows per call:
//! 64 Ki elements / n, as the throughput scenario's 256 KiB per call in f32.

use softmax_lab_core::{Buffer, DType, Options, Variant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let id = args.get(1).map_or("stable_simd", String::as_str);
    let n: usize = args
        .get(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(16384)
        .max(1);
    let secs: f64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let dtype = match args.get(4).map_or("f32", String::as_str) {
        "f32" => DType::F32,
        "f16" => DType::F16,
        "bf16" => DType::BF16,
        other => {
            eprintln!("unknown dtype '{other}': expected f32, f16 or bf16");
            std::process::exit(2);
        }
    };
    let rows = (65536 / n).max(1);
    let v: Box<dyn Variant> = match id {
        "stable_simd" => Box::new(softmax_lab_simd::StableSimd),
        "online_simd" => Box::new(softmax_lab_simd::OnlineSimd),
        "two_pass" => Box::new(softmax_lab_simd::TwoPass),
        "log_softmax_simd" => Box::new(softmax_lab_simd::LogSoftmaxSimd),
        "sigmoid_simd" => Box::new(softmax_lab_simd::SigmoidSimd),
        "stable_wide" => Box::new(softmax_lab_stable::StableWide),
        "candle_softmax_last_dim" => Box::new(softmax_lab_candle_baseline::CandleSoftmaxLastDim),
        "candle_sigmoid" => Box::new(softmax_lab_candle_baseline::CandleSigmoid),
        other => {
            eprintln!("unknown variant '{other}': expected one of stable_simd, online_simd, two_pass, log_softmax_simd, sigmoid_simd, stable_wide, candle_softmax_last_dim, candle_sigmoid");
            std::process::exit(2);
        }
    };
    // A fixed pattern in [−2, 2): no randomness needed to keep the branches honest.
    let vals: Vec<f64> = (0..n * rows)
        .map(|i| ((i * 7919) % 1000) as f64 / 250.0 - 2.0)
        .collect();
    let x = Buffer::from_f64(dtype, &vals);
    let mut out = Buffer::from_f64(dtype, &vals);
    let opts = Options::default();
    let start = std::time::Instant::now();
    let mut calls = 0u64;
    while start.elapsed().as_secs_f64() < secs {
        for _ in 0..100 {
            if let Err(e) = v.forward(x.rows(), n, &opts, out.rows_mut()) {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
        calls += 100;
    }
    let el = start.elapsed().as_secs_f64();
    println!(
        "{id} {dtype} n={n} rows={rows}: {:.3} G elements/s",
        calls as f64 * (n * rows) as f64 / el / 1e9
    );
}
