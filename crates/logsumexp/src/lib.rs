//! Log-probabilities: `log_softmax` computed from the logits as
//! (x_i − max)/T − ln1p(s') with s' the sum of the exponentials without one
//! maximum ([`MaxTail`]), accurate on every entry including the dominant entry of
//! a nearly one-hot row (Blanchard, D. J. Higham & N. J. Higham 2021);
//! `log_softmax_log`, the textbook shifted form (x_i − max)/T − ln Σ exp, kept to
//! show what rounding 1 + s' before the log costs (all of s' below u: on
//! [0, −50, −60, −70] in f32 it returns 0 for an exact −1.93e−22); and
//! `log_of_softmax` — log applied to a computed softmax, the pitfall kept so that
//! its loss of accuracy (and its −inf once a probability underflows) can be
//! measured.
//!
//! [`sharded`] splits a row into k shards merged through their (max, sum of exp)
//! statistics (`sharded_softmax`, `sharded_log_softmax`), as vocabulary-parallel
//! softmax does across devices.
//!
//! Not for: probabilities themselves (see `stable`).

pub mod sharded;

use softmax_lab_core::kernels::shifted_row;
use softmax_lab_core::kernels::shifted_softmax_row;
/// The accurate log-softmax row kernel and its VJP live in
/// `softmax_lab_core::kernels` (the sharded variants and `hsoftmax` use them too).
pub use softmax_lab_core::kernels::{log_softmax_row, log_softmax_vjp_row};
use softmax_lab_core::special::{classify, fill, fill_backward, RowClass};
use softmax_lab_core::{f32_for_half, f32_for_half_kernel};
use softmax_lab_core::{
    Accumulation, DType, Element, Family, Formula, Function, Registry, RowKernel, VariantInfo,
};

/// z = (x − max)/T − ln Σ exp((x − max)/T), arithmetic in A: the sum rounded
/// (1 + s' included) before the log.
fn log_softmax_log_row<T: Element, A: Element>(x: &[T], t: f64, out: &mut [T]) {
    let class = classify(x);
    if fill(class, true, out) {
        return;
    }
    let RowClass::Finite(max) = class else { return };
    let sum = shifted_row::<T, A>(x, max, t).fold(A::ZERO, |acc, d| acc + d.exp());
    let ln_sum = sum.ln();
    for (o, d) in out.iter_mut().zip(shifted_row::<T, A>(x, max, t)) {
        *o = T::from_f64((d - ln_sum).to_f64());
    }
}

/// (g − exp(z) Σg) / T, the textbook backward of `log_softmax_log`.
fn log_softmax_log_vjp_row<T: Element, A: Element>(
    x: &[T],
    z: &[T],
    dy: &[T],
    t: f64,
    dx: &mut [T],
) {
    if fill_backward(classify(x), true, t, dy, dx) {
        return;
    }
    let ta = A::from_f64(t);
    let total = dy
        .iter()
        .fold(A::ZERO, |acc, g| acc + A::from_f64(g.to_f64()));
    for ((d, zi), gi) in dx.iter_mut().zip(z).zip(dy) {
        let v = A::from_f64(gi.to_f64()) - A::from_f64(zi.to_f64()).exp() * total;
        let v = if t == 1.0 { v } else { v / ta };
        *d = T::from_f64(v.to_f64());
    }
}

/// (x − max)/T − ln1p(Σ without one maximum): accurate on every entry; f16/bf16 accumulate in f32.
pub struct LogSoftmax;

f32_for_half_kernel!(
    LogSoftmax,
    VariantInfo {
        id: "log_softmax",
        family: Family::LogSumExp,
        function: Function::LogSoftmax,
        description: "(x - max)/T - ln1p(sum of exp without one max): every entry accurate, the dominant one of a nearly one-hot row included; f16/bf16 accumulate in f32",
        dtypes: &DType::ALL,
        accumulation: Accumulation::F32ForHalf,
        formula: Some(Formula::ShiftedLogSoftmax),
        has_backward: true,
        temperature: true,
    },
    log_softmax_row,
    log_softmax_vjp_row
);

/// x − logsumexp(x), shifted, with ln of the rounded sum (the textbook form).
pub struct LogSoftmaxLog;

f32_for_half_kernel!(
    LogSoftmaxLog,
    VariantInfo {
        id: "log_softmax_log",
        family: Family::LogSumExp,
        function: Function::LogSoftmax,
        description: "x/T - ln(sum exp(x/T)) with the max shift, the sum rounded before the log: loses the dominant entry of a nearly one-hot row; f16/bf16 accumulate in f32",
        dtypes: &DType::ALL,
        accumulation: Accumulation::F32ForHalf,
        formula: Some(Formula::ShiftedLogSoftmax),
        has_backward: true,
        temperature: true,
    },
    log_softmax_log_row,
    log_softmax_log_vjp_row
);

/// Backward of log(softmax(x)) as autograd composes it: h = g / p, then the
/// softmax VJP p ⊙ (h − ⟨h, p⟩) / T. Where p underflowed to 0, g / 0 = inf and
/// 0 · inf = NaN: the pitfall, reproduced rather than repaired.
fn log_of_softmax_vjp_row<T: Element, A: Element>(x: &[T], dy: &[T], t: f64, dx: &mut [T]) {
    // Recompute p as the forward stored it (rounded to T), reusing dx as scratch.
    shifted_softmax_row::<T, A>(x, t, dx);
    let ta = A::from_f64(t);
    let p = |v: &T| A::from_f64(v.to_f64());
    let h = |pi: A, g: &T| A::from_f64(g.to_f64()) / pi;
    let dot = dx
        .iter()
        .zip(dy)
        .fold(A::ZERO, |acc, (pi, g)| acc + h(p(pi), g) * p(pi));
    for (d, g) in dx.iter_mut().zip(dy) {
        let pi = p(d);
        let v = pi * (h(pi, g) - dot);
        let v = if t == 1.0 { v } else { v / ta };
        *d = T::from_f64(v.to_f64());
    }
}

/// log applied to the stable softmax's output (the pitfall, kept to measure it).
pub struct LogOfSoftmax;

impl RowKernel for LogOfSoftmax {
    const INFO: VariantInfo = VariantInfo {
        id: "log_of_softmax",
        family: Family::LogSumExp,
        function: Function::LogSoftmax,
        description: "log(stable softmax(x)): the pitfall, -inf once a probability underflows",
        dtypes: &DType::ALL,
        accumulation: Accumulation::F32ForHalf,
        formula: None,
        has_backward: true,
        temperature: true,
    };

    fn forward_row<T: Element>(&self, x: &[T], t: f64, out: &mut [T]) {
        f32_for_half!(shifted_softmax_row::<T>(x, t, out));
        for o in out.iter_mut() {
            *o = o.ln();
        }
    }

    fn backward_row<T: Element>(
        &self,
        x: &[T],
        _y: &[T],
        dy: &[T],
        t: f64,
        dx: &mut [T],
    ) -> Option<()> {
        f32_for_half!(log_of_softmax_vjp_row::<T>(x, dy, t, dx));
        Some(())
    }
}

/// Register this family's variants.
pub fn register(r: &mut Registry) {
    r.register(LogSoftmax);
    r.register(LogSoftmaxLog);
    r.register(LogOfSoftmax);
}
