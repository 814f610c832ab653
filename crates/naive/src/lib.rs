//! The textbook softmax with no protection: exp(x_i / T) / Σ_j exp(x_j / T), every
//! operation rounded to the storage dtype, no max shift.
//!
//! It is here to be measured, not used: it overflows once a logit passes the
//! dtype's exp threshold (f16 11.09, bf16 88.5, f32 88.72, f64 709.78) and then
//! returns inf/inf = NaN, and it follows plain IEEE arithmetic for non-finite
//! inputs (no special-row handling; compare `softmax_lab_core::special`).
//! Not for: anything that needs a correct answer.

use softmax_lab_core::{
    Accumulation, DType, Element, Family, Function, Registry, RowKernel, VariantInfo,
};

/// exp(x/T) / Σ exp(x/T) without a shift, in the storage dtype.
pub struct Naive;

impl RowKernel for Naive {
    const INFO: VariantInfo = VariantInfo {
        id: "naive",
        family: Family::Naive,
        function: Function::Softmax,
        description: "exp(x/T) / sum exp(x/T) with no shift, every operation in the storage dtype: overflows by design",
        dtypes: &DType::ALL,
        accumulation: Accumulation::Storage,
        formula: None,
        has_backward: true,
        temperature: true,
    };

    fn forward_row<T: Element>(&self, x: &[T], t: f64, out: &mut [T]) {
        let tt = T::from_f64(t);
        let mut sum = T::ZERO;
        for (o, &v) in out.iter_mut().zip(x) {
            let arg = if t == 1.0 { v } else { v / tt };
            *o = arg.exp();
            sum = sum + *o;
        }
        for o in out.iter_mut() {
            *o = *o / sum;
        }
    }

    fn backward_row<T: Element>(
        &self,
        _x: &[T],
        y: &[T],
        dy: &[T],
        t: f64,
        dx: &mut [T],
    ) -> Option<()> {
        // y ⊙ (g − ⟨g, y⟩) / T, in the storage dtype.
        let tt = T::from_f64(t);
        let mut dot = T::ZERO;
        for (&yi, &gi) in y.iter().zip(dy) {
            dot = dot + yi * gi;
        }
        for ((d, &yi), &gi) in dx.iter_mut().zip(y).zip(dy) {
            let v = yi * (gi - dot);
            *d = if t == 1.0 { v } else { v / tt };
        }
        Some(())
    }
}

/// Register this family's variants.
pub fn register(r: &mut Registry) {
    r.register(Naive);
}

#[cfg(test)]
mod tests {
    use super::*;
    use softmax_lab_core::variant::forward_f64;
    use softmax_lab_core::Options;

    fn run(dtype: DType, x: &[f64]) -> Vec<f64> {
        forward_f64(&Naive, dtype, x, x.len(), &Options::default()).unwrap()
    }

    #[test]
    fn overflows_exactly_from_the_dtype_threshold_on() {
        for dtype in DType::ALL {
            let th = dtype.exp_overflow_threshold();
            let below = run(dtype, &[th, 0.0]);
            assert!(
                below.iter().all(|v| v.is_finite()),
                "{dtype} at {th}: {below:?}"
            );
            // The next value of the dtype above the threshold overflows exp: inf/inf.
            let f = dtype.format();
            let next = f.round_f64(th + th * f.unit_roundoff() * 2.0);
            assert!(next > th);
            let above = run(dtype, &[next, 0.0]);
            assert!(above[0].is_nan(), "{dtype} at {next}: {above:?}");
        }
    }

    #[test]
    fn matches_the_textbook_formula_in_f64() {
        let y = run(DType::F64, &[1.0, 2.0, 3.0]);
        let e: Vec<f64> = [1.0f64, 2.0, 3.0].iter().map(|v| v.exp()).collect();
        let s: f64 = e.iter().sum();
        assert_eq!(y, e.iter().map(|v| v / s).collect::<Vec<_>>());
    }

    #[test]
    fn follows_ieee_for_infinities() {
        let y = run(DType::F32, &[f64::INFINITY, 0.0]);
        assert!(y[0].is_nan());
        let y = run(DType::F32, &[f64::NEG_INFINITY, 0.0]);
        assert_eq!(y, [0.0, 1.0]);
    }
}
