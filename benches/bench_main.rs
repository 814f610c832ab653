//! criterion benches: one module per variant family (`benches/benchmarks/`), each
//! timing forward and, where the variant has one, backward over a batch of rows in
//! f32 and bf16, with the throughput set in elements so criterion reports elem/s.
//!
//! `cargo bench` (or `just bench`) gives criterion's usual output and its HTML report
//! under `target/criterion/report/index.html` (rendered with plotters, no gnuplot).
//! The study's own throughput figures (ratios to a memory copy and to candle,
//! measured interleaved in one run) come from `scenarios/throughput.toml`; these
//! benches are for a kernel author iterating on one variant.

use criterion::{criterion_group, criterion_main};

mod benchmarks;

criterion_group!(
    benches,
    benchmarks::naive::bench,
    benchmarks::stable::bench,
    benchmarks::logsumexp::bench,
    benchmarks::sigmoid::bench,
    benchmarks::sparsemax::bench,
    benchmarks::candle::bench,
    benchmarks::simd::bench,
    benchmarks::hsoftmax::bench,
);
criterion_main!(benches);
