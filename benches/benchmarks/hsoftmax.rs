//! Hierarchical softmax against the full softmax head: one target's log-probability
//! as the vocabulary V grows (the O(d log V) against O(d V) claim, timed).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use softmax_lab_hsoftmax::{Cost, FullSoftmaxHead, HierarchicalSoftmax, OutputHead, Tree};

/// Hidden size of the heads.
const DIM: usize = 64;

fn weights(rows: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let scale = 1.0 / (DIM as f32).sqrt();
    (0..rows * DIM)
        .map(|_| (rng.gen::<f32>() * 2.0 - 1.0) * scale)
        .collect()
}

/// Bench log P(target | h) for V = 10^3, 10^4, 10^5.
pub fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("hsoftmax/log_prob_per_target");
    g.throughput(Throughput::Elements(1));
    for v in [1_000usize, 10_000, 100_000] {
        let mut rng = ChaCha8Rng::seed_from_u64(v as u64);
        let h: Vec<f32> = (0..DIM).map(|_| rng.gen::<f32>() - 0.5).collect();
        let full = FullSoftmaxHead::new(v, DIM, weights(v, &mut rng));
        let tree = HierarchicalSoftmax::new(Tree::balanced(v), DIM, weights(v - 1, &mut rng));
        let target = v / 3;
        g.bench_with_input(BenchmarkId::new("full", v), &v, |b, _| {
            b.iter(|| {
                let mut cost = Cost::default();
                black_box(full.log_prob(black_box(&h), target, &mut cost))
            })
        });
        g.bench_with_input(BenchmarkId::new("balanced", v), &v, |b, _| {
            b.iter(|| {
                let mut cost = Cost::default();
                black_box(tree.log_prob(black_box(&h), target, &mut cost))
            })
        });
    }
    g.finish();
}
