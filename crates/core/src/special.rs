//! What softmax and log-softmax return for rows that are not all finite — one
//! definition, shared by the protected variants and by the reference.
//!
//! The rule: where softmax has a unique limit, return it; where the limit depends
//! on how the infinities are approached, or a NaN is present, return NaN.
//!
//! | row | softmax | log-softmax | why |
//! |---|---|---|---|
//! | any NaN | all NaN | all NaN | the normaliser depends on every entry |
//! | some −inf, at least one finite | 0 at −inf | −inf at −inf | e^−inf = 0: those entries carry no mass (masking) |
//! | exactly one +inf | one-hot at it | 0 at it, −inf elsewhere | the limit as that entry → ∞, whatever the others |
//! | two or more +inf | all NaN | all NaN | the limit depends on the rates (∞ − ∞) |
//! | all −inf, n ≥ 2 | all NaN | all NaN | no entry carries mass (0/0); the limit depends on the rates |
//! | n = 1 (any non-NaN value) | [1] | [0] | softmax of one entry is 1 for every value |
//!
//! candle returns all-NaN for every row with a +inf or with all −inf (its shift
//! computes ∞ − ∞); we return NaN only where no unique limit exists, so a single
//! saturated logit gives the distribution it tends to rather than poisoning the
//! row. The naive variants follow IEEE arithmetic instead — that is what they
//! are for. Backward at such rows: the Jacobian's limit is 0 on entries with
//! y = 0 or y = 1, so dL/dx is 0 for softmax and dL/dy − y·Σ dL/dy for
//! log-softmax, NaN where y is NaN.

use crate::dtype::Element;

/// How a row must be treated.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RowClass {
    /// All entries are finite or −inf with at least one finite: the normal path,
    /// with this maximum (a finite value).
    Finite(f64),
    /// The output is all NaN.
    Nan,
    /// The output is one-hot at this index.
    OneHot(usize),
}

/// Classify a row in one pass (the pass that finds the maximum anyway).
pub fn classify<T: Element>(x: &[T]) -> RowClass {
    let mut max = f64::NEG_INFINITY;
    let mut arg = 0;
    let mut pos_inf = 0usize;
    for (i, v) in x.iter().enumerate() {
        let v = v.to_f64();
        if v.is_nan() {
            return RowClass::Nan;
        }
        if v == f64::INFINITY {
            pos_inf += 1;
        }
        if v > max {
            max = v;
            arg = i;
        }
    }
    if x.len() == 1 {
        return RowClass::OneHot(0);
    }
    match pos_inf {
        0 if max == f64::NEG_INFINITY => RowClass::Nan,
        0 => RowClass::Finite(max),
        1 => RowClass::OneHot(arg),
        _ => RowClass::Nan,
    }
}

/// Write the output of a special row (`Nan` or `OneHot`); `log` selects log-softmax.
/// Returns false for `Finite`, which the caller computes.
pub fn fill<T: Element>(class: RowClass, log: bool, out: &mut [T]) -> bool {
    match class {
        RowClass::Finite(_) => false,
        RowClass::Nan => {
            out.fill(T::NAN);
            true
        }
        RowClass::OneHot(k) => {
            let (on, off) = if log {
                (T::ZERO, T::NEG_INFINITY)
            } else {
                (T::ONE, T::ZERO)
            };
            out.fill(off);
            out[k] = on;
            true
        }
    }
}

/// Backward at a special row: softmax's VJP is 0 (NaN for a NaN row);
/// log-softmax's is (dy − y·Σdy) / T with y one-hot (NaN for a NaN row).
pub fn fill_backward<T: Element>(
    class: RowClass,
    log: bool,
    t: f64,
    dy: &[T],
    dx: &mut [T],
) -> bool {
    match class {
        RowClass::Finite(_) => false,
        RowClass::Nan => {
            dx.fill(T::NAN);
            true
        }
        RowClass::OneHot(k) => {
            if log {
                let total: f64 = dy.iter().map(|g| g.to_f64()).sum();
                for (d, g) in dx.iter_mut().zip(dy) {
                    *d = T::from_f64(g.to_f64() / t);
                }
                dx[k] = T::from_f64((dy[k].to_f64() - total) / t);
            } else {
                dx.fill(T::ZERO);
            }
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INF: f64 = f64::INFINITY;

    #[test]
    fn classification_follows_the_table() {
        assert_eq!(classify(&[1.0, f64::NAN, INF]), RowClass::Nan);
        assert_eq!(classify(&[1.0, -INF, 3.0]), RowClass::Finite(3.0));
        assert_eq!(classify(&[1.0, INF, 3.0]), RowClass::OneHot(1));
        assert_eq!(classify(&[INF, -INF, INF]), RowClass::Nan);
        assert_eq!(classify(&[-INF, -INF]), RowClass::Nan);
        assert_eq!(classify(&[-INF]), RowClass::OneHot(0));
        assert_eq!(classify(&[INF]), RowClass::OneHot(0));
        assert_eq!(classify(&[f64::NAN]), RowClass::Nan);
        assert_eq!(classify(&[-1e300, 2.5]), RowClass::Finite(2.5));
    }

    #[test]
    fn fill_writes_one_hot_and_log_one_hot() {
        let mut out = [9.0f32; 3];
        assert!(fill(RowClass::OneHot(2), false, &mut out));
        assert_eq!(out, [0.0, 0.0, 1.0]);
        assert!(fill(RowClass::OneHot(0), true, &mut out));
        assert_eq!(out, [0.0, f32::NEG_INFINITY, f32::NEG_INFINITY]);
        assert!(!fill(RowClass::Finite(1.0), true, &mut out));
        let mut dx = [0.0f64; 3];
        assert!(fill_backward(
            RowClass::OneHot(1),
            true,
            1.0,
            &[1.0, 2.0, 4.0],
            &mut dx
        ));
        assert_eq!(dx, [1.0, -5.0, 4.0]);
    }
}
