//! The registry of every variant of every family, defined once: the CLI, the
//! harness's tests, the workspace tests and the benches all take it from here.
//! Adding a variant touches its family crate (and, for a new family, one line
//! here). Not for: measuring or anything else — this crate only wires families.

#![warn(missing_docs)]

use softmax_lab_core::Registry;

/// Every variant of every family.
pub fn registry() -> Registry {
    let mut r = Registry::new();
    softmax_lab_naive::register(&mut r);
    softmax_lab_stable::register(&mut r);
    softmax_lab_logsumexp::register(&mut r);
    softmax_lab_sigmoid_heads::register(&mut r);
    softmax_lab_candle_baseline::register(&mut r);
    softmax_lab_logsumexp::sharded::register(&mut r);
    softmax_lab_stable::gumbel::register(&mut r);
    softmax_lab_sparsemax::register(&mut r);
    softmax_lab_simd::register(&mut r);
    r
}
