//! One module per family, and the shared routine that benches a family's variants.

pub mod candle;
pub mod hsoftmax;
pub mod logsumexp;
pub mod naive;
pub mod sigmoid;
pub mod simd;
pub mod sparsemax;
pub mod stable;

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use softmax_lab_core::{Buffer, DType, Family, Options, Variant};

/// Row lengths: in L1, in L2, past L2.
pub const SIZES: [usize; 3] = [1024, 16384, 262_144];

/// Input bytes per call (the rows of a call fill this much).
const BYTES_PER_CALL: usize = 1 << 20;

/// Dtypes benched: f32 and one half type.
pub const DTYPES: [DType; 2] = [DType::F32, DType::BF16];

/// Seeded normal-ish logits (sum of uniforms), rounded to `dtype`.
pub fn logits(dtype: DType, len: usize, seed: u64) -> Buffer {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x: Vec<f64> = (0..len)
        .map(|_| (0..4).map(|_| rng.gen::<f64>() - 0.5).sum::<f64>() * 3.0)
        .collect();
    Buffer::from_f64(dtype, &x)
}

/// Bench forward and backward of every variant of `family`.
pub fn bench_family(c: &mut Criterion, family: Family) {
    let registry = softmax_lab_variants::registry();
    let variants: Vec<_> = registry.family(family).cloned().collect();
    for v in variants {
        bench_variant(c, v.as_ref());
    }
}

/// Bench one variant: `<family>/<id>/<dtype>/<direction>` with n as the parameter.
pub fn bench_variant(c: &mut Criterion, v: &dyn Variant) {
    let info = v.info();
    let opts = Options::default();
    for dtype in DTYPES.into_iter().filter(|d| info.dtypes.contains(d)) {
        let mut fwd = c.benchmark_group(format!("{}/{}/{}/forward", info.family, info.id, dtype));
        for n in SIZES {
            let rows = (BYTES_PER_CALL / (n * dtype.size_bytes())).max(1);
            let x = logits(dtype, rows * n, n as u64);
            let mut out = logits(dtype, rows * n, 1);
            fwd.throughput(Throughput::Elements((rows * n) as u64));
            fwd.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
                b.iter(|| {
                    // A failing call is a bug in the variant: the bench stops loudly.
                    if let Err(e) = v.forward(black_box(x.rows()), n, &opts, out.rows_mut()) {
                        panic!("{}: {e}", info.id);
                    }
                })
            });
        }
        fwd.finish();
        if !info.has_backward {
            continue;
        }
        let mut bwd = c.benchmark_group(format!("{}/{}/{}/backward", info.family, info.id, dtype));
        for n in SIZES {
            let rows = (BYTES_PER_CALL / (n * dtype.size_bytes())).max(1);
            let x = logits(dtype, rows * n, n as u64);
            let dy = logits(dtype, rows * n, 2);
            let mut y = logits(dtype, rows * n, 1);
            if let Err(e) = v.forward(x.rows(), n, &opts, y.rows_mut()) {
                panic!("{}: {e}", info.id);
            }
            let mut dx = logits(dtype, rows * n, 3);
            bwd.throughput(Throughput::Elements((rows * n) as u64));
            bwd.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
                b.iter(|| {
                    if let Err(e) = v.backward(
                        black_box(x.rows()),
                        y.rows(),
                        dy.rows(),
                        n,
                        &opts,
                        dx.rows_mut(),
                    ) {
                        panic!("{}: {e}", info.id);
                    }
                })
            });
        }
        bwd.finish();
    }
}
