//! The softmax-lab command line, as a library so that tests can reach the same
//! wiring: the registry of every variant, and the `run` (the default), `validate`,
//! `report`, `compare`, `demo`, `eval` and `list` commands.
//! Not for: numerics (they live in the variant crates and `core`).

pub mod compare;
pub mod demo;
pub mod eval;
pub mod list;
pub mod report;
pub mod run;

/// Every variant of every family (crate `softmax-lab-variants`).
pub use softmax_lab_variants::registry;
