//! The softmax-lab command line, as a library so that tests can reach the same
//! wiring: the registry of every variant, and the `run` (the default), `validate`,
//! `report`, `demo`, `eval` and `list` commands.
//! Not for: numerics (they live in the variant crates and `core`).

pub mod demo;
pub mod eval;
pub mod list;
pub mod report;
pub mod run;

use softmax_lab_core::Registry;

/// Every variant of every family, registered once here.
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
