//! External variants: implementations outside the workspace — a kernel author's C
//! or CUDA library, PyTorch, NumPy, ONNX Runtime — declared in a file of their own
//! and measured like any variant (family `external`).
//!
//! - [`decl`]: the declaration files (`[[external]]` tables: id, function, dtypes,
//!   backward, temperature, kind and how to reach it), parsed with located errors
//!   (`file:line:column: message`).
//! - [`library`]: the `library` kind, a shared library exporting the C ABI of
//!   `include/softmax_lab.h` (`<prefix>_<dtype>` and `<prefix>_vjp_<dtype>`,
//!   f16/bf16 as 16-bit patterns), loaded at the variant's first call and timed by
//!   the usual runner.
//! - [`command`]: the `command` kind, a program speaking the command protocol
//!   (`docs/external.md`: a JSON header line, then raw little-endian bytes) on
//!   stdin/stdout, one process per variant, started at its first call and reused;
//!   its throughput is timed by the program itself ([`Variant::self_timed`]).
//!
//! Every failure — a missing library or symbol, a program that cannot start,
//! exits, hangs past its timeout, writes a malformed, short or wrong-length reply,
//! or answers `ok:false` — is a [`VariantError::Backend`] naming the variant and
//! what was expected; a program that says its package is missing is
//! [`VariantError::Unavailable`]. The variant's [`Variant::source`] says how it is
//! reached, the name and versions it reported and its status, for the results.
//!
//! Not here: which variants a scenario runs, or what to do when one fails (the
//! harness decides both).

#![warn(missing_docs)]

pub mod command;
pub mod decl;
pub mod library;

use std::sync::Arc;

use softmax_lab_core::VariantError;
use softmax_lab_core::{Accumulation, Family, Variant, VariantInfo};

pub use command::CommandVariant;

/// The checks before a backward call of either kind: the declaration promised a
/// backward, and x, y, dy and dx fit `[rows, n]` in one dtype (as every variant
/// checks, `softmax_lab_core::variant::check_call`).
fn check_backward(
    info: &VariantInfo,
    x: &softmax_lab_core::Rows<'_>,
    y: &softmax_lab_core::Rows<'_>,
    dy: &softmax_lab_core::Rows<'_>,
    dx: &softmax_lab_core::RowsMut<'_>,
    n: usize,
    opts: &softmax_lab_core::Options,
) -> Result<(), VariantError> {
    if !info.has_backward {
        return Err(VariantError::NoBackward(info.id.to_string()));
    }
    softmax_lab_core::variant::check_call(
        info,
        x,
        &[
            ("y", y.dtype(), y.len()),
            ("dy", dy.dtype(), dy.len()),
            ("dx", dx.dtype(), dx.len()),
        ],
        n,
        opts,
    )
}
pub use decl::{load, parse, Access, DeclError, Declaration};
pub use library::LibraryVariant;

/// The facts of a declared variant. Ids, descriptions and dtype lists are leaked:
/// [`VariantInfo`] holds `&'static` data, and the declarations of a run are few
/// and live as long as it.
pub fn info(d: &Declaration) -> VariantInfo {
    let description = if d.description.is_empty() {
        format!(
            "external {} ({}: {})",
            d.function.name(),
            d.access.kind(),
            d.access.declared()
        )
    } else {
        d.description.clone()
    };
    VariantInfo {
        id: Box::leak(d.id.clone().into_boxed_str()),
        family: Family::External,
        function: d.function,
        description: Box::leak(description.into_boxed_str()),
        dtypes: Box::leak(d.dtypes.clone().into_boxed_slice()),
        accumulation: Accumulation::Framework,
        formula: None,
        has_backward: d.backward,
        temperature: d.temperature,
    }
}

/// The variant of a declaration (nothing is loaded or started until its first call).
pub fn variant(d: &Declaration) -> Arc<dyn Variant> {
    let info = info(d);
    match d.access {
        Access::Command { .. } => Arc::new(CommandVariant::new(d.clone(), info)),
        Access::Library { .. } => Arc::new(LibraryVariant::new(d.clone(), info)),
    }
}

/// A shared variant as a registrable one: [`softmax_lab_core::Registry::register`]
/// takes a value, and the harness keeps a handle on each external variant to read
/// its [`Variant::source`] after the run.
#[derive(Clone)]
pub struct Shared(pub Arc<dyn Variant>);

impl Variant for Shared {
    fn info(&self) -> &VariantInfo {
        self.0.info()
    }

    fn forward(
        &self,
        x: softmax_lab_core::Rows<'_>,
        n: usize,
        opts: &softmax_lab_core::Options,
        out: softmax_lab_core::RowsMut<'_>,
    ) -> Result<(), softmax_lab_core::VariantError> {
        self.0.forward(x, n, opts, out)
    }

    fn backward(
        &self,
        x: softmax_lab_core::Rows<'_>,
        y: softmax_lab_core::Rows<'_>,
        dy: softmax_lab_core::Rows<'_>,
        n: usize,
        opts: &softmax_lab_core::Options,
        dx: softmax_lab_core::RowsMut<'_>,
    ) -> Result<(), softmax_lab_core::VariantError> {
        self.0.backward(x, y, dy, n, opts, dx)
    }

    fn timed_call(
        &self,
        direction: softmax_lab_core::Direction,
        x: softmax_lab_core::Rows<'_>,
        dy: softmax_lab_core::Rows<'_>,
        n: usize,
        opts: &softmax_lab_core::Options,
    ) -> Option<Result<softmax_lab_core::TimedCall, softmax_lab_core::VariantError>> {
        self.0.timed_call(direction, x, dy, n, opts)
    }

    fn self_timed(
        &self,
        direction: softmax_lab_core::Direction,
        x: softmax_lab_core::Rows<'_>,
        dy: softmax_lab_core::Rows<'_>,
        n: usize,
        opts: &softmax_lab_core::Options,
        samples: usize,
        reps: usize,
    ) -> Option<Result<Vec<f64>, softmax_lab_core::VariantError>> {
        self.0.self_timed(direction, x, dy, n, opts, samples, reps)
    }

    fn source(&self) -> Option<softmax_lab_core::Source> {
        self.0.source()
    }
}

/// Register the variants of `decls` (fresh ones: no process or library shared
/// with another registry) and return them, in declaration order.
pub fn register(r: &mut softmax_lab_core::Registry, decls: &[Declaration]) -> Vec<Shared> {
    decls
        .iter()
        .map(|d| {
            let v = Shared(variant(d));
            r.register(v.clone());
            v
        })
        .collect()
}

/// The C example library (`fixtures/sl_example.c`) as build.rs compiled it, for
/// the tests of this crate and of the crates that run external variants (an
/// absolute path inside the build folder; never written into results by us).
pub const EXAMPLE_LIBRARY: &str = env!("SL_EXAMPLE_LIB");
