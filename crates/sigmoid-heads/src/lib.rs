//! Elementwise logistic heads: the stable `sigmoid`, the textbook `sigmoid_naive`
//! and the piecewise-linear `hard_sigmoid`.
//!
//! The stable sigmoid evaluates 1/(1 + e^−x) for x ≥ 0 and e^x/(1 + e^x) for
//! x < 0, so neither tail overflows or cancels, and its backward is σ(x)σ(−x) =
//! e^−|x|/(1 + e^−|x|)², which stays accurate where y(1 − y) from a rounded y is
//! wrong (in f32 from x ≈ 10, and exactly 0 from x ≈ 17).
//! Not for: normalised distributions over classes (softmax).

use softmax_lab_core::{
    Accumulation, DType, Element, Family, Function, Registry, RowKernel, VariantInfo,
};

/// σ(x) in f64 by the two-branch formula.
fn sigmoid_f64(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// σ'(x) = e^−|x| / (1 + e^−|x|)² in f64.
fn sigmoid_derivative_f64(x: f64) -> f64 {
    let e = (-x.abs()).exp();
    let d = 1.0 + e;
    e / (d * d)
}

/// Numerically stable logistic, correct in both tails; computed in f64 and rounded
/// once (f16/bf16/f32 land within half an ulp plus 2^-50 relative).
pub struct Sigmoid;

impl RowKernel for Sigmoid {
    const INFO: VariantInfo = VariantInfo {
        id: "sigmoid",
        family: Family::Sigmoid,
        function: Function::Sigmoid,
        description: "stable logistic (two branches, no overflow in either tail), backward sigma(x)sigma(-x); f64 inside",
        dtypes: &DType::ALL,
        accumulation: Accumulation::F64,
        formula: None,
        has_backward: true,
        temperature: false,
    };

    fn forward_row<T: Element>(&self, x: &[T], _t: f64, out: &mut [T]) {
        for (o, v) in out.iter_mut().zip(x) {
            *o = T::from_f64(sigmoid_f64(v.to_f64()));
        }
    }

    fn backward_row<T: Element>(
        &self,
        x: &[T],
        _y: &[T],
        dy: &[T],
        _t: f64,
        dx: &mut [T],
    ) -> Option<()> {
        for ((d, v), g) in dx.iter_mut().zip(x).zip(dy) {
            *d = T::from_f64(g.to_f64() * sigmoid_derivative_f64(v.to_f64()));
        }
        Some(())
    }
}

/// 1/(1 + exp(−x)) in the storage dtype, backward y(1 − y).
pub struct SigmoidNaive;

impl RowKernel for SigmoidNaive {
    const INFO: VariantInfo = VariantInfo {
        id: "sigmoid_naive",
        family: Family::Sigmoid,
        function: Function::Sigmoid,
        description: "1/(1+exp(-x)) in the storage dtype, backward y(1-y) from the rounded output",
        dtypes: &DType::ALL,
        accumulation: Accumulation::Storage,
        formula: None,
        has_backward: true,
        temperature: false,
    };

    fn forward_row<T: Element>(&self, x: &[T], _t: f64, out: &mut [T]) {
        for (o, &v) in out.iter_mut().zip(x) {
            *o = T::ONE / (T::ONE + (-v).exp());
        }
    }

    fn backward_row<T: Element>(
        &self,
        _x: &[T],
        y: &[T],
        dy: &[T],
        _t: f64,
        dx: &mut [T],
    ) -> Option<()> {
        for ((d, &yi), &g) in dx.iter_mut().zip(y).zip(dy) {
            *d = g * (yi * (T::ONE - yi));
        }
        Some(())
    }
}

/// relu6(x + 3) / 6 in the storage dtype: the cheap piecewise-linear stand-in.
pub struct HardSigmoid;

impl RowKernel for HardSigmoid {
    const INFO: VariantInfo = VariantInfo {
        id: "hard_sigmoid",
        family: Family::Sigmoid,
        function: Function::HardSigmoid,
        description: "relu6(x+3)/6 in the storage dtype; backward 1/6 inside (-3, 3), 0 outside",
        dtypes: &DType::ALL,
        accumulation: Accumulation::Storage,
        formula: None,
        has_backward: true,
        temperature: false,
    };

    fn forward_row<T: Element>(&self, x: &[T], _t: f64, out: &mut [T]) {
        let (three, six) = (T::from_f64(3.0), T::from_f64(6.0));
        for (o, &v) in out.iter_mut().zip(x) {
            // NaN propagates (clamping would turn it into 0).
            *o = if v.is_nan() {
                v
            } else {
                (v + three).max(T::ZERO).min(six) / six
            };
        }
    }

    fn backward_row<T: Element>(
        &self,
        x: &[T],
        _y: &[T],
        dy: &[T],
        _t: f64,
        dx: &mut [T],
    ) -> Option<()> {
        let (three, six) = (T::from_f64(3.0), T::from_f64(6.0));
        for ((d, &v), &g) in dx.iter_mut().zip(x).zip(dy) {
            *d = if v.is_nan() {
                v
            } else if v > -three && v < three {
                g / six
            } else {
                T::ZERO
            };
        }
        Some(())
    }
}

/// Register this family's variants.
pub fn register(r: &mut Registry) {
    r.register(Sigmoid);
    r.register(SigmoidNaive);
    r.register(HardSigmoid);
}
