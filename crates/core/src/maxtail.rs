//! The (max, tail) summary of a row's exponentials, defined once for every
//! kernel that splits a row (sharded softmax, long rows across threads) or needs
//! ln Σ exp accurately (log-softmax).
//!
//! For a row x with maximum m, attained first at index k, the summary is
//! (m, t) with t = Σ_{j≠k} exp(x_j − m), so that Σ_j exp(x_j − m) = 1 + t and
//! ln Σ_j exp(x_j) = m + ln1p(t). Keeping the 1 apart is what lets a log-softmax
//! be accurate on the dominant entry of a nearly one-hot row: ln(1 + t) rounded
//! from a rounded 1 + t loses every digit of t below u, while ln1p(t) keeps them
//! (Blanchard, D. J. Higham & N. J. Higham 2021, "Accurately computing the
//! log-sum-exp and softmax functions"). Ties need no special case: the other
//! maxima contribute exp(0) = 1 each to t.
//!
//! Two summaries merge exactly as their rows concatenate:
//! (m₁, t₁) ⊕ (m₂, t₂) with m₁ ≥ m₂ is (m₁, t₁ + (1 + t₂)·exp(m₂ − m₁)). The
//! empty row is (−∞, −1) (its sum is 0), the identity of the merge. Merging in a
//! fixed order gives the same bits whatever the number of threads.

use crate::Element;

/// A row's exponentials summarised by its maximum and the sum without one maximum.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MaxTail<A> {
    /// The largest entry (−∞ for an empty row).
    pub max: A,
    /// Σ_{j≠k} exp(x_j − max), k one index of the maximum (−1 for an empty row).
    pub tail: A,
}

impl<A: Element> MaxTail<A> {
    /// The summary of an empty row: the identity of [`MaxTail::merge`].
    pub fn empty() -> Self {
        MaxTail {
            max: A::NEG_INFINITY,
            tail: -A::ONE,
        }
    }

    /// The summary of shifted values d_j = (x_j − max)/T whose largest is exactly
    /// 0 (`max` is then the unshifted maximum to record): exp summed over every
    /// entry but the first zero, in the order given.
    pub fn of_shifted(max: A, shifted: impl IntoIterator<Item = A>) -> Self {
        // The tail summed with Neumaier's compensation: on a nearly one-hot row the
        // dominant log-probability is −ln1p(tail) ≈ −tail, so the tail's relative
        // error is that entry's (a recursive sum of 50 equal terms costs ~3 ulps).
        // Every term and partial sum is ≥ 0, so |s| ≥ |e| is s ≥ e.
        let mut skipped = false;
        let (mut tail, mut comp) = (A::ZERO, A::ZERO);
        for d in shifted {
            if !skipped && d == A::ZERO {
                skipped = true;
                continue;
            }
            let e = d.exp();
            let t = tail + e;
            comp = comp
                + if tail >= e {
                    (tail - t) + e
                } else {
                    (e - t) + tail
                };
            tail = t;
        }
        let tail = tail + comp;
        if !skipped {
            // No entry is the maximum: not a summary of a row with this max.
            return MaxTail {
                max,
                tail: tail - A::ONE,
            };
        }
        MaxTail { max, tail }
    }

    /// The summary of a finite row, computed in A.
    pub fn of_row(x: &[A]) -> Self {
        let Some(max) = x.iter().copied().reduce(|a, b| a.max(b)) else {
            return Self::empty();
        };
        Self::of_shifted(max, x.iter().map(|&v| v - max))
    }

    /// The summary of the concatenation of the two rows (self first).
    pub fn merge(self, other: Self) -> Self {
        self.merge_at(other, 1.0)
    }

    /// [`MaxTail::merge`] for summaries of (x − max)/T, temperature `t`: the lower
    /// summary is rescaled by exp((m₂ − m₁)/T) (no division at T = 1).
    /// Non-finite summaries follow from the arithmetic: a NaN max or tail gives a
    /// NaN tail; a +inf max absorbs finite ones, and two +inf maxima give a NaN
    /// tail (no limit); an empty summary changes nothing.
    pub fn merge_at(self, other: Self, t: f64) -> Self {
        let (hi, lo) = if other.max > self.max {
            (other, self)
        } else {
            (self, other)
        };
        let lo_sum = A::ONE + lo.tail;
        if lo_sum == A::ZERO {
            return hi;
        }
        let gap = lo.max - hi.max;
        let gap = if t == 1.0 { gap } else { gap / A::from_f64(t) };
        MaxTail {
            max: hi.max,
            tail: hi.tail + lo_sum * gap.exp(),
        }
    }

    /// Σ_j exp(x_j − max) = 1 + tail.
    pub fn sum(self) -> A {
        A::ONE + self.tail
    }

    /// ln Σ_j exp((x_j − max)) = ln1p(tail), accurate when tail is tiny.
    pub fn ln_sum_shifted(self) -> A {
        self.tail.ln_1p()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_excludes_one_maximum_and_keeps_ties() {
        let s = MaxTail::of_row(&[0.0f64, -1.0, 0.0]);
        assert_eq!(s.max, 0.0);
        assert!((s.tail - (1.0 + (-1.0f64).exp())).abs() < 1e-15);
        assert_eq!(MaxTail::of_row(&[3.0f64]).tail, 0.0);
    }

    #[test]
    fn merge_equals_the_concatenated_row_in_any_split() {
        let x: Vec<f64> = (0..37)
            .map(|i| ((i * 7919) % 101) as f64 / 9.0 - 5.0)
            .collect();
        let whole = MaxTail::of_row(&x);
        for cut in [0, 1, 5, 18, 36, 37] {
            let merged = MaxTail::of_row(&x[..cut]).merge(MaxTail::of_row(&x[cut..]));
            assert_eq!(merged.max, whole.max, "cut {cut}");
            assert!(
                (merged.sum() - whole.sum()).abs() <= 1e-13 * whole.sum(),
                "cut {cut}: {} vs {}",
                merged.sum(),
                whole.sum()
            );
        }
        assert_eq!(MaxTail::<f64>::empty().merge(whole), whole);
        assert_eq!(whole.merge(MaxTail::empty()), whole);
    }

    #[test]
    fn merge_at_a_temperature_rescales_by_the_scaled_gap() {
        let a = MaxTail {
            max: 2.0f64,
            tail: 0.5,
        };
        let b = MaxTail {
            max: 1.0f64,
            tail: 0.25,
        };
        let m = a.merge_at(b, 2.0);
        assert_eq!(m.max, 2.0);
        assert!((m.tail - (0.5 + 1.25 * (-0.5f64).exp())).abs() < 1e-15);
        assert_eq!(b.merge_at(a, 2.0), m);
        assert_eq!(a.merge_at(b, 1.0), a.merge(b));
        let inf = MaxTail {
            max: f64::INFINITY,
            tail: 0.0,
        };
        assert_eq!(inf.merge_at(a, 3.0), inf);
        assert!(inf.merge_at(inf, 1.0).tail.is_nan());
        let nan = MaxTail {
            max: 1.0,
            tail: f64::NAN,
        };
        assert!(a.merge_at(nan, 1.0).tail.is_nan());
    }

    #[test]
    fn ln_sum_keeps_a_tiny_tail_that_ln_of_the_sum_loses() {
        // [0, -50, -60, -70] in f32: ln(1 + t) rounds to 0, ln1p(t) does not.
        let s = MaxTail::of_row(&[0.0f32, -50.0, -60.0, -70.0]);
        assert_eq!(s.sum().ln(), 0.0);
        // ln(1 + e^-50 + e^-60 + e^-70), evaluated with 50 significant digits.
        let exact = 1.9288374170469945e-22;
        assert!((s.ln_sum_shifted() as f64 - exact).abs() < 1e-6 * exact);
    }
}
