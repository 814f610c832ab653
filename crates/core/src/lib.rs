//! The contract every softmax-lab variant fills in, and the yardsticks they are
//! measured with.
//!
//! - [`dtype`]: f16, bf16, f32, f64 and the [`Element`] trait kernels are generic over.
//! - [`variant`]: [`Variant`] (forward into the caller's buffer, backward as a
//!   vector–Jacobian product, or an explicit "no backward") and [`VariantInfo`].
//! - [`adapter`]: the one variant adapter — argument checks and dtype dispatch
//!   from the erased buffers to a family's typed entry points ([`TypedKernel`],
//!   or [`RowKernel`] for variants written as one-row loops).
//! - [`kernels`]: the row kernels several families compute with (shifted
//!   softmax and its VJP, the accurate log-softmax and its VJP, the compensated
//!   sum), so that no family imports another's.
//! - [`special`]: what softmax returns for rows with NaN or infinities, defined once.
//! - [`xd`] and [`reference`]: the high-precision reference (double-double with an
//!   unbounded exponent, checked against 256-bit astro-float).
//! - [`measure`]: ULP distance and error, bits of error, relative and normwise error.
//! - [`maxtail`]: a row's Σ exp as (max, sum without one maximum): mergeable
//!   across shards and threads, and ln Σ exp through ln1p.
//! - [`conditioning`]: componentwise relative condition numbers κ_i of softmax,
//!   log-softmax, sigmoid and sparsemax, and the stability ratio error / (κ_i u).
//! - [`bounds`]: the rounding-error bounds of the shifted, online and log-softmax formulas.
//! - [`registry`]: every variant by id.
//! - [`text`]: numbers as text — exact parsing into a dtype, shortest round-trip printing.
//!
//! Not here: any variant (each family has its own crate), timing, scenarios, reports.
//! This crate depends on no other crate of the workspace.

#![warn(missing_docs)]

pub mod adapter;
pub mod bounds;
pub mod conditioning;
pub mod dtype;
pub mod fpenv;
pub mod kernels;
pub mod maxtail;
pub mod measure;
pub mod reference;
pub mod registry;
pub mod special;
pub mod text;
pub mod variant;
pub mod xd;

pub use dtype::{DType, Element, Format};
pub use registry::Registry;
pub use variant::{
    Accumulation, Buffer, Direction, Family, Formula, Function, Options, RowKernel, Rows, RowsMut,
    Source, SourceStatus, TimedCall, TypedKernel, Variant, VariantError, VariantInfo,
};
pub use xd::{Dd, Xd};
