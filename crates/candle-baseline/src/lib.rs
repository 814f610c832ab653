//! The candle baseline: four ops of candle-nn 0.11 wrapped as softmax-lab
//! [`Variant`](softmax_lab_core::Variant)s, so the study can score the framework a Rust user would reach for
//! with the same yardsticks as our own variants.
//!
//! What this crate is for: calling candle exactly as a candle user would (a `[rows, n]`
//! tensor on `Device::Cpu` in the input's dtype, the op over the last dimension,
//! autograd for the backward) and reporting what comes out, faults included. What
//! it is not for: fixing candle. Nothing here widens candle's accumulation, guards
//! its special cases or fakes a missing gradient.
//!
//! The facts about candle-nn 0.11.1 / candle-core 0.11.1 on the CPU that the study
//! relies on (the tests below pin the observable ones):
//!
//! - `ops::softmax_last_dim` is a custom op: per row, a fused 3-pass loop (max,
//!   `exp(x - max)` with the scalar libm `exp` of `num_traits::Float`, sum, divide),
//!   rows spread over rayon. It is applied with `apply_op1_no_bwd`: it has no
//!   backward, and candle's autograd silently returns no gradient through it. The
//!   `candle_softmax_last_dim` variant reports `NoBackward` rather than fake one.
//! - `ops::softmax` and `ops::log_softmax` are composites of tensor ops (max, sub,
//!   exp, sum, div; log-softmax: `(x - max) - log Σ exp(x - max)`), each a separate
//!   pass that allocates a tensor; their backward comes from candle's autograd.
//! - `ops::sigmoid` is a single-threaded elementwise custom op `1 / (1 + e^-x)`; its
//!   backward is `y (1 - y)` from the rounded output, which is exactly 0 once `y`
//!   rounds to 1 (f32 at x = 20, where the true derivative is about 2.06e-9).
//! - For f16 and bf16 every operation, sums included, is done in the narrow type:
//!   a constant bf16 row of 512 sums to 256 (256 + 1 rounds back to 256), so every
//!   entry is 1/256 and the outputs sum to 2.
//! - A row containing +inf, or a row of all -inf, gives all-NaN (`inf - inf`).
//! - `loss::binary_cross_entropy_with_logit` goes through `sigmoid` then `log`, so
//!   it is NaN for large logits (`0 * log(1 - 1)`); it is not wrapped here.
//!
//! The temperature is applied as a candle user would, `(x / T)?`, which candle
//! implements as `affine(1 / T, 0)`: a multiply by the rounded reciprocal of T, in
//! the tensor's dtype.

#![warn(missing_docs)]

use candle_core::{Device, Tensor, Var, WithDType, D};
use softmax_lab_core::variant::check_call;
use softmax_lab_core::{
    Accumulation, DType, Direction, Element, Family, Formula, Function, Options, Registry, Rows,
    TimedCall, TypedKernel, VariantError, VariantInfo,
};

/// Every dtype the candle variants run in.
const DTYPES: &[DType] = &[DType::F16, DType::BF16, DType::F32, DType::F64];

/// A candle op over the last dimension of a `[rows, n]` tensor.
type Op = fn(&Tensor) -> candle_core::Result<Tensor>;

/// `candle_nn::ops::softmax_last_dim`: fused CPU loop, no backward.
#[derive(Clone, Copy, Debug, Default)]
pub struct CandleSoftmaxLastDim;

/// `candle_nn::ops::softmax(x, D::Minus1)`: composite ops, autograd backward.
#[derive(Clone, Copy, Debug, Default)]
pub struct CandleSoftmax;

/// `candle_nn::ops::log_softmax(x, D::Minus1)`: composite ops, autograd backward.
#[derive(Clone, Copy, Debug, Default)]
pub struct CandleLogSoftmax;

/// `candle_nn::ops::sigmoid`: elementwise custom op, backward y(1 - y).
#[derive(Clone, Copy, Debug, Default)]
pub struct CandleSigmoid;

const SOFTMAX_LAST_DIM_INFO: VariantInfo = VariantInfo {
    id: "candle_softmax_last_dim",
    family: Family::Candle,
    function: Function::Softmax,
    description: "candle-nn 0.11 ops::softmax_last_dim on the CPU: fused 3-pass loop, \
                  scalar exp, rayon over rows; no backward",
    dtypes: DTYPES,
    accumulation: Accumulation::Framework,
    formula: Some(Formula::ShiftedSoftmax),
    has_backward: false,
    temperature: true,
};

const SOFTMAX_INFO: VariantInfo = VariantInfo {
    id: "candle_softmax",
    family: Family::Candle,
    function: Function::Softmax,
    description: "candle-nn 0.11 ops::softmax(x, -1) on the CPU: composite max, sub, exp, \
                  sum, div tensor ops; backward by candle autograd",
    dtypes: DTYPES,
    accumulation: Accumulation::Framework,
    formula: Some(Formula::ShiftedSoftmax),
    has_backward: true,
    temperature: true,
};

const LOG_SOFTMAX_INFO: VariantInfo = VariantInfo {
    id: "candle_log_softmax",
    family: Family::Candle,
    function: Function::LogSoftmax,
    description: "candle-nn 0.11 ops::log_softmax(x, -1) on the CPU: composite \
                  (x - max) - log sum exp(x - max); backward by candle autograd",
    dtypes: DTYPES,
    accumulation: Accumulation::Framework,
    formula: Some(Formula::ShiftedLogSoftmax),
    has_backward: true,
    temperature: true,
};

const SIGMOID_INFO: VariantInfo = VariantInfo {
    id: "candle_sigmoid",
    family: Family::Candle,
    function: Function::Sigmoid,
    description: "candle-nn 0.11 ops::sigmoid on the CPU: single-threaded 1/(1+e^-x); \
                  backward y(1-y) by candle autograd",
    dtypes: DTYPES,
    accumulation: Accumulation::Framework,
    formula: None,
    has_backward: true,
    temperature: false,
};

fn softmax_last_dim(x: &Tensor) -> candle_core::Result<Tensor> {
    candle_nn::ops::softmax_last_dim(x)
}

fn softmax(x: &Tensor) -> candle_core::Result<Tensor> {
    candle_nn::ops::softmax(x, D::Minus1)
}

fn log_softmax(x: &Tensor) -> candle_core::Result<Tensor> {
    candle_nn::ops::log_softmax(x, D::Minus1)
}

fn sigmoid(x: &Tensor) -> candle_core::Result<Tensor> {
    candle_nn::ops::sigmoid(x)
}

/// A candle error as the variant's `Backend` error.
fn backend(info: &VariantInfo, e: candle_core::Error) -> VariantError {
    VariantError::Backend {
        variant: info.id.to_string(),
        message: e.to_string(),
    }
}

/// The element types candle and softmax-lab both know: f16, bf16, f32, f64.
trait CandleElement: Element + WithDType {}
impl<T: Element + WithDType> CandleElement for T {}

/// `x / T` the way a candle user writes it; candle implements `Tensor / f64` as
/// `affine(1 / T, 0)`, i.e. a multiply by the reciprocal rounded to the dtype.
fn scaled(x: &Tensor, t: f64) -> candle_core::Result<Tensor> {
    if t == 1.0 {
        Ok(x.clone())
    } else {
        x / t
    }
}

/// Copy a `[rows, n]` tensor of dtype T into the caller's buffer.
fn copy_out<T: CandleElement>(
    info: &VariantInfo,
    what: &'static str,
    t: &Tensor,
    out: &mut [T],
) -> Result<(), VariantError> {
    let v = t
        .flatten_all()
        .and_then(|f| f.to_vec1::<T>())
        .map_err(|e| backend(info, e))?;
    if v.len() != out.len() {
        return Err(VariantError::Backend {
            variant: info.id.to_string(),
            message: format!(
                "candle returned {} elements for {what}, expected {}",
                v.len(),
                out.len()
            ),
        });
    }
    out.copy_from_slice(&v);
    Ok(())
}

/// Forward in dtype T: build the tensor, apply the op, copy the result out.
fn forward_typed<T: CandleElement>(
    info: &VariantInfo,
    op: Op,
    x: &[T],
    n: usize,
    t: f64,
    out: &mut [T],
) -> Result<(), VariantError> {
    let xt = Tensor::from_slice(x, (x.len() / n, n), &Device::Cpu).map_err(|e| backend(info, e))?;
    let y = scaled(&xt, t)
        .and_then(|xs| op(&xs))
        .map_err(|e| backend(info, e))?;
    copy_out(info, "output", &y, out)
}

/// Backward in dtype T by candle autograd: dx = d(Σ op(x / T) ⊙ dy) / dx.
fn backward_typed<T: CandleElement>(
    info: &VariantInfo,
    op: Op,
    x: &[T],
    dy: &[T],
    n: usize,
    t: f64,
    dx: &mut [T],
) -> Result<(), VariantError> {
    let shape = (x.len() / n, n);
    let be = |e| backend(info, e);
    let xt = Tensor::from_slice(x, shape, &Device::Cpu).map_err(be)?;
    let gt = Tensor::from_slice(dy, shape, &Device::Cpu).map_err(be)?;
    let var = Var::from_tensor(&xt).map_err(be)?;
    let y = scaled(var.as_tensor(), t)
        .and_then(|xs| op(&xs))
        .map_err(be)?;
    let loss = (y * gt).and_then(|p| p.sum_all()).map_err(be)?;
    let grads = loss.backward().map_err(be)?;
    // No gradient means candle's graph does not reach x: say so, never write zeros.
    let g = grads
        .get(var.as_tensor())
        .ok_or_else(|| VariantError::NoBackward(info.id.to_string()))?;
    copy_out(info, "grad_input", g, dx)
}

/// One of the wrapped candle ops: its facts and the op.
trait CandleOp: Send + Sync {
    /// The variant's facts.
    fn facts(&self) -> &'static VariantInfo;
    /// The candle op.
    fn op(&self) -> Op;
}

/// Forward in dtype T, for the adapter.
fn forward_batch<T: CandleElement>(
    k: &impl CandleOp,
    x: &[T],
    n: usize,
    t: f64,
    out: &mut [T],
) -> Result<(), VariantError> {
    forward_typed(k.facts(), k.op(), x, n, t, out)
}

/// Backward by autograd in dtype T, for the adapter. y is checked but not read:
/// autograd recomputes the forward from x, as a candle training step does.
#[allow(clippy::too_many_arguments)]
fn backward_batch<T: CandleElement>(
    k: &impl CandleOp,
    x: &[T],
    _y: &[T],
    dy: &[T],
    n: usize,
    t: f64,
    dx: &mut [T],
) -> Result<(), VariantError> {
    backward_typed(k.facts(), k.op(), x, dy, n, t, dx)
}

macro_rules! candle_variant {
    ($ty:ty, $info:expr, $op:expr) => {
        impl CandleOp for $ty {
            fn facts(&self) -> &'static VariantInfo {
                &$info
            }
            fn op(&self) -> Op {
                $op
            }
        }

        impl TypedKernel for $ty {
            fn kernel_info(&self) -> &VariantInfo {
                &$info
            }

            softmax_lab_core::typed_kernel_methods!(forward_batch, backward_batch);

            fn typed_timed_call(
                &self,
                direction: Direction,
                x: Rows<'_>,
                dy: Rows<'_>,
                n: usize,
                opts: &Options,
            ) -> Option<Result<TimedCall, VariantError>> {
                Some(timed_call(&$info, $op, direction, x, dy, n, opts))
            }
        }
    };
}

/// A prepared candle call on tensors built once: the forward op (candle allocates
/// its output, as it does for every user), or forward plus autograd backward (candle
/// has no backward without the forward graph).
fn timed_call(
    info: &'static VariantInfo,
    op: Op,
    direction: Direction,
    x: Rows<'_>,
    dy: Rows<'_>,
    n: usize,
    opts: &Options,
) -> Result<TimedCall, VariantError> {
    if direction == Direction::Backward && !info.has_backward {
        return Err(VariantError::NoBackward(info.id.to_string()));
    }
    check_call(info, &x, &[("grad_output", dy.dtype(), dy.len())], n, opts)?;
    let be = move |e| backend(info, e);
    let shape = (x.len() / n, n);
    let tensor = |r: Rows<'_>| match r {
        Rows::F16(v) => Tensor::from_slice(v, shape, &Device::Cpu),
        Rows::BF16(v) => Tensor::from_slice(v, shape, &Device::Cpu),
        Rows::F32(v) => Tensor::from_slice(v, shape, &Device::Cpu),
        Rows::F64(v) => Tensor::from_slice(v, shape, &Device::Cpu),
    };
    let xt = tensor(x).map_err(be)?;
    let t = opts.temperature;
    Ok(match direction {
        Direction::Forward => Box::new(move || {
            let y = scaled(&xt, t).and_then(|xs| op(&xs)).map_err(be)?;
            drop(y);
            Ok(())
        }),
        Direction::Backward => {
            let gt = tensor(dy).map_err(be)?;
            let var = Var::from_tensor(&xt).map_err(be)?;
            Box::new(move || {
                let y = scaled(var.as_tensor(), t)
                    .and_then(|xs| op(&xs))
                    .map_err(be)?;
                let loss = (y * &gt).and_then(|p| p.sum_all()).map_err(be)?;
                let grads = loss.backward().map_err(be)?;
                grads
                    .get(var.as_tensor())
                    .ok_or_else(|| VariantError::NoBackward(info.id.to_string()))?;
                Ok(())
            })
        }
    })
}

candle_variant!(
    CandleSoftmaxLastDim,
    SOFTMAX_LAST_DIM_INFO,
    softmax_last_dim
);
candle_variant!(CandleSoftmax, SOFTMAX_INFO, softmax);
candle_variant!(CandleLogSoftmax, LOG_SOFTMAX_INFO, log_softmax);
candle_variant!(CandleSigmoid, SIGMOID_INFO, sigmoid);

/// Register the four candle variants: softmax_last_dim, softmax, log_softmax, sigmoid.
pub fn register(r: &mut Registry) {
    r.register(CandleSoftmaxLastDim);
    r.register(CandleSoftmax);
    r.register(CandleLogSoftmax);
    r.register(CandleSigmoid);
}

#[cfg(test)]
mod tests {
    use super::*;
    use half::bf16;
    use softmax_lab_core::measure::{normwise_error, ulp_error};
    use softmax_lab_core::reference;
    use softmax_lab_core::variant::{forward_backward_f64, forward_f64};
    use softmax_lab_core::Buffer;
    use softmax_lab_core::Variant;

    const ONE: Options = Options { temperature: 1.0 };

    fn max_ulps(dtype: DType, got: &[f64], exact: &[softmax_lab_core::Xd]) -> f64 {
        got.iter()
            .zip(exact)
            .map(|(&g, &e)| ulp_error(dtype, g, e))
            .fold(0.0, f64::max)
    }

    #[test]
    fn registers_four_in_order_with_their_facts() {
        let mut r = Registry::new();
        register(&mut r);
        let ids = r.ids();
        assert_eq!(
            ids,
            [
                "candle_softmax_last_dim",
                "candle_softmax",
                "candle_log_softmax",
                "candle_sigmoid"
            ]
        );
        for v in r.iter() {
            let i = v.info();
            assert_eq!(i.family, Family::Candle);
            assert_eq!(i.accumulation, Accumulation::Framework);
            assert_eq!(i.dtypes, DType::ALL);
        }
        assert!(!CandleSigmoid.info().temperature);
        assert_eq!(CandleSigmoid.info().formula, None);
        assert_eq!(
            CandleLogSoftmax.info().formula,
            Some(Formula::ShiftedLogSoftmax)
        );
    }

    #[test]
    fn f64_softmax_family_is_within_4_ulp_of_the_reference() {
        let x = [2.0, 1.0, 0.1];
        let sm = reference::softmax(&x, 1.0);
        let lsm = reference::log_softmax(&x, 1.0);
        for v in [&CandleSoftmaxLastDim as &dyn Variant, &CandleSoftmax] {
            let y = forward_f64(v, DType::F64, &x, 3, &ONE).unwrap();
            assert!(
                (y[0] - 0.6590011388859679).abs() < 1e-15,
                "{}: {y:?}",
                v.id()
            );
            let e = max_ulps(DType::F64, &y, &sm);
            assert!(e <= 4.0, "{}: {e} ulp", v.id());
        }
        let y = forward_f64(&CandleLogSoftmax, DType::F64, &x, 3, &ONE).unwrap();
        let e = max_ulps(DType::F64, &y, &lsm);
        assert!(e <= 4.0, "log_softmax: {e} ulp, {y:?}");
    }

    #[test]
    fn several_rows_are_independent() {
        let x = [2.0, 1.0, 0.1, -5.0, 0.0, 30.0];
        for v in [
            &CandleSoftmaxLastDim as &dyn Variant,
            &CandleSoftmax,
            &CandleLogSoftmax,
        ] {
            let both = forward_f64(v, DType::F32, &x, 3, &ONE).unwrap();
            let a = forward_f64(v, DType::F32, &x[..3], 3, &ONE).unwrap();
            let b = forward_f64(v, DType::F32, &x[3..], 3, &ONE).unwrap();
            assert_eq!(both, [a, b].concat(), "{}", v.id());
        }
        // Row 2 of softmax: exp(-35), exp(-30), 1 over their sum.
        let y = forward_f64(&CandleSoftmax, DType::F64, &x, 3, &ONE).unwrap();
        let exact = reference::softmax(&x[3..], 1.0);
        assert!(max_ulps(DType::F64, &y[3..], &exact) <= 4.0, "{y:?}");
    }

    #[test]
    fn softmax_last_dim_has_no_backward_and_says_so() {
        assert!(!CandleSoftmaxLastDim.info().has_backward);
        let r = forward_backward_f64(
            &CandleSoftmaxLastDim,
            DType::F32,
            &[1.0, 2.0],
            &[1.0, 0.0],
            2,
            &ONE,
        );
        match r {
            Err(VariantError::NoBackward(id)) => assert_eq!(id, "candle_softmax_last_dim"),
            other => panic!("expected NoBackward, got {other:?}"),
        }
    }

    #[test]
    fn candle_autograd_gives_no_gradient_through_softmax_last_dim() {
        // The fact behind has_backward = false: run the autograd path on
        // softmax_last_dim anyway; candle's GradStore holds nothing for x, and we
        // report NoBackward instead of writing zeros.
        let mut dx = [7.0f32, 7.0];
        let r = backward_typed(
            &SOFTMAX_LAST_DIM_INFO,
            softmax_last_dim,
            &[1.0f32, 2.0],
            &[1.0, 0.0],
            2,
            1.0,
            &mut dx,
        );
        assert_eq!(
            r,
            Err(VariantError::NoBackward("candle_softmax_last_dim".into()))
        );
        assert_eq!(dx, [7.0, 7.0]);
    }

    #[test]
    fn autograd_vjps_match_the_reference_in_f64() {
        let x = [0.5, -1.25, 2.0, 0.0, 3.5];
        let g = [1.0, -0.5, 0.25, 2.0, -1.5];
        let (_, dx) = forward_backward_f64(&CandleSoftmax, DType::F64, &x, &g, 5, &ONE).unwrap();
        let exact = reference::softmax_vjp(&x, 1.0, &g);
        let e = normwise_error(&dx, &exact);
        assert!(e <= 1e-12, "softmax vjp: {e}, {dx:?}");
        assert!(dx.iter().any(|&d| d.abs() > 0.1), "{dx:?}");

        let (_, dx) = forward_backward_f64(&CandleLogSoftmax, DType::F64, &x, &g, 5, &ONE).unwrap();
        let exact = reference::log_softmax_vjp(&x, 1.0, &g);
        let e = normwise_error(&dx, &exact);
        assert!(e <= 1e-12, "log_softmax vjp: {e}, {dx:?}");

        let xs = [-3.0, 0.0, 2.0];
        let gs = [1.0, -2.0, 0.5];
        let (y, dx) = forward_backward_f64(&CandleSigmoid, DType::F64, &xs, &gs, 3, &ONE).unwrap();
        assert_eq!(y[1], 0.5);
        let exact = reference::vjp(Function::Sigmoid, &xs, 1.0, &gs);
        let e = normwise_error(&dx, &exact);
        assert!(e <= 1e-12, "sigmoid vjp: {e}, {dx:?}");
        assert_eq!(dx[1], -0.5); // σ'(0) = 1/4, times -2.
    }

    #[test]
    fn autograd_vjp_with_temperature_and_several_rows() {
        let x = [0.5, -1.25, 2.0, 4.0, 0.0, -3.0];
        let g = [1.0, -0.5, 0.25, 2.0, -1.5, 0.0];
        let opts = Options { temperature: 2.0 };
        for (v, f) in [
            (&CandleSoftmax as &dyn Variant, Function::Softmax),
            (&CandleLogSoftmax, Function::LogSoftmax),
        ] {
            let (_, dx) = forward_backward_f64(v, DType::F64, &x, &g, 3, &opts).unwrap();
            for r in 0..2 {
                let s = 3 * r..3 * r + 3;
                let exact = reference::vjp(f, &x[s.clone()], 2.0, &g[s.clone()]);
                let e = normwise_error(&dx[s], &exact);
                assert!(e <= 1e-12, "{} row {r}: {e}, {dx:?}", v.id());
            }
        }
    }

    #[test]
    fn rows_with_plus_inf_or_all_minus_inf_are_all_nan() {
        let inf = f64::INFINITY;
        for v in [&CandleSoftmaxLastDim as &dyn Variant, &CandleSoftmax] {
            for dtype in DType::ALL {
                let y = forward_f64(v, dtype, &[1.0, inf, 0.0], 3, &ONE).unwrap();
                assert!(
                    y.iter().all(|v| v.is_nan()),
                    "{} {dtype} +inf: {y:?}",
                    v.id()
                );
                let y = forward_f64(v, dtype, &[-inf, -inf, -inf], 3, &ONE).unwrap();
                assert!(
                    y.iter().all(|v| v.is_nan()),
                    "{} {dtype} -inf: {y:?}",
                    v.id()
                );
            }
        }
        // The reference, by contrast, is one-hot for the +inf row.
        let exact = reference::softmax(&[1.0, inf, 0.0], 1.0);
        assert_eq!(exact[1].to_f64(), 1.0);
    }

    #[test]
    fn bf16_constant_row_of_512_sums_in_bf16() {
        // Σ exp(0) over 512 entries in bf16 (8-bit significand) stalls at 256: from
        // 256 on, the spacing is 2 and 256 + 1 ties back to the even 256. So every
        // entry is 1/256 instead of 1/512, and the row sums to 2.
        let x = vec![0.75; 512];
        for v in [&CandleSoftmaxLastDim as &dyn Variant, &CandleSoftmax] {
            let y = forward_f64(v, DType::BF16, &x, 512, &ONE).unwrap();
            assert!(
                y.iter().all(|&e| e == 1.0 / 256.0),
                "{}: {:?}",
                v.id(),
                &y[..4]
            );
            assert_eq!(y.iter().sum::<f64>(), 2.0);
        }
        // f32 is exact here.
        let y = forward_f64(&CandleSoftmax, DType::F32, &x, 512, &ONE).unwrap();
        assert!(y.iter().all(|&e| e == 1.0 / 512.0));
        // log_softmax takes log(256) instead of log(512): -ln 256 rounded to bf16.
        let y = forward_f64(&CandleLogSoftmax, DType::BF16, &x, 512, &ONE).unwrap();
        let want = <bf16 as Element>::from_f64(-(256f64.ln())).to_f64();
        assert!(y.iter().all(|&e| e == want), "{want} vs {:?}", &y[..4]);
    }

    #[test]
    fn f32_sigmoid_gradient_vanishes_at_20() {
        let (y, dx) =
            forward_backward_f64(&CandleSigmoid, DType::F32, &[20.0], &[1.0], 1, &ONE).unwrap();
        assert_eq!(y, [1.0]);
        assert_eq!(dx, [0.0]);
        let exact = reference::sigmoid_derivative(20.0).to_f64();
        assert!((exact - 2.061153618e-9).abs() < 1e-17, "{exact}");
    }

    #[test]
    fn temperature_divides_the_input() {
        let opts = Options { temperature: 2.0 };
        let y = forward_f64(&CandleSoftmax, DType::F64, &[2.0, 4.0], 2, &opts).unwrap();
        let exact = reference::softmax(&[1.0, 2.0], 1.0);
        assert!(max_ulps(DType::F64, &y, &exact) <= 2.0, "{y:?}");
        let y = forward_f64(&CandleSoftmaxLastDim, DType::F64, &[2.0, 4.0], 2, &opts).unwrap();
        assert!(max_ulps(DType::F64, &y, &exact) <= 2.0, "{y:?}");
        let y = forward_f64(&CandleLogSoftmax, DType::F64, &[2.0, 4.0], 2, &opts).unwrap();
        let exact = reference::log_softmax(&[1.0, 2.0], 1.0);
        assert!(max_ulps(DType::F64, &y, &exact) <= 2.0, "{y:?}");

        let r = forward_f64(&CandleSigmoid, DType::F32, &[1.0], 1, &opts);
        assert_eq!(
            r,
            Err(VariantError::TemperatureUnsupported(
                "candle_sigmoid".into()
            ))
        );
    }

    #[test]
    fn call_errors_surface() {
        assert_eq!(
            forward_f64(&CandleSoftmax, DType::F32, &[1.0], 0, &ONE),
            Err(VariantError::EmptyRow)
        );
        assert!(matches!(
            forward_f64(&CandleSoftmax, DType::F32, &[1.0, 2.0, 3.0], 2, &ONE),
            Err(VariantError::Shape { what: "input", .. })
        ));
        assert_eq!(
            forward_f64(
                &CandleSoftmax,
                DType::F32,
                &[1.0],
                1,
                &Options { temperature: 0.0 }
            ),
            Err(VariantError::InvalidTemperature(0.0))
        );

        let x = Buffer::from_f64(DType::F32, &[1.0, 2.0]);
        let mut wrong_dtype = Buffer::zeros(DType::F64, 2);
        let r = CandleSoftmax.forward(x.rows(), 2, &ONE, wrong_dtype.rows_mut());
        assert_eq!(
            r,
            Err(VariantError::DTypeMismatch {
                what: "output",
                got: DType::F64,
                expected: DType::F32
            })
        );
        let mut short = Buffer::zeros(DType::F32, 1);
        let r = CandleSigmoid.forward(x.rows(), 2, &ONE, short.rows_mut());
        assert!(
            matches!(
                r,
                Err(VariantError::Shape {
                    what: "output",
                    len: 1,
                    ..
                })
            ),
            "{r:?}"
        );

        let y = Buffer::zeros(DType::F32, 2);
        let dy = Buffer::from_f64(DType::F32, &[1.0]);
        let mut dx = Buffer::zeros(DType::F32, 2);
        let r = CandleLogSoftmax.backward(x.rows(), y.rows(), dy.rows(), 2, &ONE, dx.rows_mut());
        assert!(
            matches!(
                r,
                Err(VariantError::Shape {
                    what: "grad_output",
                    ..
                })
            ),
            "{r:?}"
        );
        // Nothing was written on error.
        assert_eq!(dx.to_f64(), [0.0, 0.0]);
    }

    #[test]
    fn narrow_dtypes_run_forward_and_backward() {
        let x = [0.5, -1.25, 2.0];
        let g = [1.0, -0.5, 0.25];
        for dtype in [DType::F16, DType::BF16] {
            for v in [
                &CandleSoftmax as &dyn Variant,
                &CandleLogSoftmax,
                &CandleSigmoid,
            ] {
                let (y, dx) = forward_backward_f64(v, dtype, &x, &g, 3, &ONE).unwrap();
                let exact = reference::forward(v.info().function, &x, 1.0);
                let ey = max_ulps(dtype, &y, &exact);
                assert!(ey <= 4.0, "{} {dtype} forward {ey} ulp", v.id());
                let exact = reference::vjp(v.info().function, &x, 1.0, &g);
                let ed = normwise_error(&dx, &exact);
                assert!(
                    ed <= 16.0 * dtype.unit_roundoff(),
                    "{} {dtype} vjp {ed}",
                    v.id()
                );
            }
        }
    }
}
