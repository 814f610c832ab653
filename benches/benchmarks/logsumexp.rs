//! The logsumexp family: forward and backward of each of its variants.

use criterion::Criterion;
use softmax_lab_core::Family;

/// Bench every variant of the family.
pub fn bench(c: &mut Criterion) {
    super::bench_family(c, Family::LogSumExp);
}
