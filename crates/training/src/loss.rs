//! The heads' losses as candle tensor expressions (so autograd differentiates them),
//! and the heads' probabilities computed in f64 from the logits.
//!
//! Every loss is summed over a row's outputs and averaged over rows, so that each
//! head's gradient with respect to a logit has the same form p − y and one learning
//! rate means the same step for every head.

use candle_core::{DType, Tensor, D};

use crate::spec::Head;

/// Element-wise binary cross-entropy from logits in the stable form
/// max(z, 0) − z·y + ln(1 + e^−|z|): finite for any finite z (candle-nn's
/// `binary_cross_entropy_with_logit` takes ln σ(z), which is ln 0 = −inf once σ
/// rounds to 0 or 1, so it returns inf or NaN for |z| beyond about 17 in f32).
pub fn bce_with_logits_elementwise(z: &Tensor, y: &Tensor) -> candle_core::Result<Tensor> {
    // ln(1 + e^-|z|) with e^-|z| in (0, 1]: no overflow; at |z| large it is 0.
    let softplus_neg_abs = (z.abs()?.neg()?.exp()? + 1.0)?.log()?;
    z.relu()? - (z * y)? + softplus_neg_abs
}

/// Softmax cross-entropy per row, −Σ_j y_j ln softmax(z)_j, written around the
/// row's largest logit z_k (Blanchard, D. J. Higham & N. J. Higham 2021):
///
/// L = (Σ_j y_j)·ln1p(s') − Σ_{j≠k} y_j r_j,  r_j = z_j − z_k,  s' = Σ_{j≠k} e^{r_j},
///
/// which is −Σ y_j ((z_j − z_k) − ln1p(s')) since r_k = 0. The loss of a confidently
/// right row keeps its value s' instead of rounding to 0 (candle-nn's
/// `log_softmax` takes ln of the rounded 1 + s': on [10, 0, −1, −2] in f32 it is
/// 6.8305e−5 against the exact 6.8244e−5), and so does its gradient:
///
/// - z_k is gathered (its gradient goes to that one entry, even on ties), and the
///   k-th terms are masked out of both sums, so autograd forms the gradient at k as
///   Σ_{j≠k} y_j − (Σy)·s'/w, never as 1/w − 1 (w = 1 + s'), which would cancel;
/// - ln1p(s') = ln w − ((w − 1) − s')/w with w = fl(1 + s'): (w − 1) − s' is the
///   rounding error of w (exact for s' ≤ 1), the logarithm corrected to first
///   order, exact to O(u²), and s' itself where w rounds to 1.
pub fn softmax_cross_entropy_rows(z: &Tensor, y: &Tensor) -> candle_core::Result<Tensor> {
    let n = z.dim(D::Minus1)?;
    let top = z.argmax_keepdim(D::Minus1)?;
    let r = z.broadcast_sub(&z.gather(&top, D::Minus1)?)?;
    let index = Tensor::arange(0u32, n as u32, z.device())?;
    // 1 off the maximum, 0 at it: a constant (comparisons carry no gradient).
    let off = index
        .broadcast_eq(&top)?
        .to_dtype(z.dtype())?
        .affine(-1.0, 1.0)?;
    let tail = (r.exp()? * &off)?.sum_keepdim(D::Minus1)?;
    let w = (&tail + 1.0)?;
    let correction = (((&w - 1.0)? - &tail)? / &w)?;
    let ln1p = (w.log()? - correction)?;
    let mass = y.sum_keepdim(D::Minus1)?;
    let fit = ((y * &off)? * &r)?.sum_keepdim(D::Minus1)?;
    ((ln1p * mass)? - fit)?.squeeze(D::Minus1)
}

/// The sparsemax loss per row (Martins & Astudillo 2016, eq. 18) for one-hot `y`:
/// −z_y + ½ Σ_{j∈S} (z_j² − τ²) + ½, with S the support of sparsemax(z) and
/// τ = (Σ_{j∈S} z_j − 1) / |S|. `support` is the 0/1 mask of S, computed from the
/// logits outside the graph; τ is then built from z inside it, so autograd gives
/// the exact gradient sparsemax(z) − y (S is locally constant).
pub fn sparsemax_loss_rows(
    z: &Tensor,
    y: &Tensor,
    support: &Tensor,
) -> candle_core::Result<Tensor> {
    let size = support.sum_keepdim(D::Minus1)?;
    let tau = ((z * support)?.sum_keepdim(D::Minus1)? - 1.0)?.broadcast_div(&size)?;
    let zy = (z * y)?.sum(D::Minus1)?;
    let quad = (support * z.sqr()?.broadcast_sub(&tau.sqr()?)?)?.sum(D::Minus1)?;
    ((quad * 0.5)? - zy)? + 0.5
}

/// The targets a head trains against, as a float tensor's row-major contents, and
/// its width: `y` is the class of each row (single-label) or the 0/1 labels.
pub enum Targets<'a> {
    /// One class per row.
    Classes(&'a [usize], usize),
    /// Row-major 0/1 labels, `labels` per row.
    Multi(&'a [u8], usize),
}

/// The target matrix for `head`: one-hot (softmax, sigmoid OvR, sparsemax), the
/// class itself (a single sigmoid), or for softmax on multi-label rows the labels
/// divided by their count (a distribution; rows without labels get zeros and so
/// no loss).
pub fn target_matrix(head: Head, t: &Targets) -> (Vec<f32>, usize) {
    match *t {
        Targets::Classes(y, k) => match head {
            Head::Sigmoid1Bce => (y.iter().map(|&c| c as f32).collect(), 1),
            _ => {
                let mut m = vec![0f32; y.len() * k];
                for (i, &c) in y.iter().enumerate() {
                    m[i * k + c] = 1.0;
                }
                (m, k)
            }
        },
        Targets::Multi(y, l) => {
            let mut m: Vec<f32> = y.iter().map(|&v| v as f32).collect();
            if head == Head::SoftmaxCe {
                for row in m.chunks_exact_mut(l) {
                    let s: f32 = row.iter().sum();
                    if s > 0.0 {
                        row.iter_mut().for_each(|v| *v /= s);
                    }
                }
            }
            (m, l)
        }
    }
}

/// The head's training loss: per-row losses (summed over outputs) averaged over rows.
/// `support` is needed by the sparsemax loss only (see [`support_mask`]).
pub fn head_loss(
    head: Head,
    z: &Tensor,
    y: &Tensor,
    support: Option<&Tensor>,
) -> candle_core::Result<Tensor> {
    let rows = match head {
        Head::SoftmaxCe | Head::Softmax2Ce => softmax_cross_entropy_rows(z, y)?,
        Head::SigmoidOvrBce | Head::Sigmoid1Bce => {
            bce_with_logits_elementwise(z, y)?.sum(D::Minus1)?
        }
        Head::SparsemaxLoss => {
            let support = match support {
                Some(s) => s.clone(),
                None => support_mask(z)?,
            };
            sparsemax_loss_rows(z, y, &support)?
        }
    };
    rows.mean_all()
}

/// The 0/1 mask of the support of sparsemax for each row of `z` (outside the graph).
pub fn support_mask(z: &Tensor) -> candle_core::Result<Tensor> {
    let (rows, k) = z.dims2()?;
    let zv: Vec<f64> = z.detach().to_dtype(DType::F64)?.flatten_all()?.to_vec1()?;
    let mut mask = vec![0f32; rows * k];
    for (r, row) in zv.chunks_exact(k).enumerate() {
        let tau = sparsemax_threshold(row);
        for (j, &v) in row.iter().enumerate() {
            mask[r * k + j] = if v > tau { 1.0 } else { 0.0 };
        }
    }
    Tensor::from_vec(mask, (rows, k), z.device())?.to_dtype(z.dtype())
}

/// The threshold τ of sparsemax: sparsemax(z)_j = max(z_j − τ, 0) sums to 1.
/// NaN in, NaN out.
pub fn sparsemax_threshold(z: &[f64]) -> f64 {
    if z.iter().any(|v| v.is_nan()) {
        return f64::NAN;
    }
    let mut s = z.to_vec();
    s.sort_by(|a, b| b.total_cmp(a));
    let (mut cum, mut tau) = (0.0, s[0] - 1.0);
    for (i, &v) in s.iter().enumerate() {
        cum += v;
        let t = (cum - 1.0) / (i + 1) as f64;
        if v > t {
            tau = t;
        } else {
            break;
        }
    }
    tau
}

/// The probabilities a head gives for one row of logits, in f64: softmax for the
/// softmax heads, one sigmoid per logit for `sigmoid_ovr_bce`, the two-class
/// distribution (1 − σ(z), σ(z)) for `sigmoid1_bce`, sparsemax for `sparsemax_loss`.
pub fn probabilities(head: Head, z: &[f64]) -> Vec<f64> {
    match head {
        Head::SoftmaxCe | Head::Softmax2Ce => {
            let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let e: Vec<f64> = z.iter().map(|v| (v - m).exp()).collect();
            let s: f64 = e.iter().sum();
            e.iter().map(|v| v / s).collect()
        }
        Head::SigmoidOvrBce => z.iter().map(|&v| sigmoid(v)).collect(),
        Head::Sigmoid1Bce => {
            let p = sigmoid(z[0]);
            // 1 − σ(z) = σ(−z), computed without cancellation.
            vec![sigmoid(-z[0]), p]
        }
        Head::SparsemaxLoss => {
            let tau = sparsemax_threshold(z);
            z.iter().map(|v| (v - tau).max(0.0)).collect()
        }
    }
}

/// σ(x) = 1 / (1 + e^−x), accurate in both tails.
pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn t(v: &[f64], shape: (usize, usize)) -> Tensor {
        Tensor::from_vec(v.to_vec(), shape, &Device::Cpu).unwrap()
    }

    #[test]
    fn stable_bce_is_finite_and_exact_at_huge_logits() {
        let z = t(&[1e4, -1e4, 1e4, -1e4, 0.0, 2.0], (1, 6));
        let y = t(&[1.0, 0.0, 0.0, 1.0, 1.0, 0.0], (1, 6));
        let got: Vec<f64> = bce_with_logits_elementwise(&z, &y)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        // Closed form: y = 1: ln(1 + e^-z); y = 0: ln(1 + e^z).
        let want = [0.0, 0.0, 1e4, 1e4, 2f64.ln(), (1.0 + 2f64.exp()).ln()];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= 1e-12 * w.max(1.0), "{got:?} vs {want:?}");
        }
        // candle-nn's own version is not finite there (why we write ours).
        let theirs = candle_nn::loss::binary_cross_entropy_with_logit(
            &t(&[1e4], (1, 1)),
            &t(&[0.0], (1, 1)),
        )
        .unwrap()
        .to_scalar::<f64>()
        .unwrap();
        assert!(!theirs.is_finite(), "{theirs}");
        // f32 too: the training dtype.
        let z32 = z.to_dtype(DType::F32).unwrap();
        let y32 = y.to_dtype(DType::F32).unwrap();
        let got32: Vec<f32> = bce_with_logits_elementwise(&z32, &y32)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        assert_eq!(&got32[..4], &[0.0, 0.0, 1e4, 1e4]);
    }

    /// Autograd's gradient of `loss(z)` against central differences in f64.
    fn check_gradient(loss: impl Fn(&Tensor) -> Tensor, z0: &[f64], shape: (usize, usize)) {
        let var = Var::from_tensor(&t(z0, shape)).unwrap();
        let l = loss(var.as_tensor());
        let grads = l.backward().unwrap();
        let g: Vec<f64> = grads
            .get(var.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let h = 1e-6;
        for i in 0..z0.len() {
            let (mut up, mut down) = (z0.to_vec(), z0.to_vec());
            up[i] += h;
            down[i] -= h;
            let f = |v: &[f64]| loss(&t(v, shape)).to_scalar::<f64>().unwrap();
            let fd = (f(&up) - f(&down)) / (2.0 * h);
            assert!(
                (fd - g[i]).abs() < 1e-6,
                "entry {i}: autograd {} vs fd {fd}",
                g[i]
            );
        }
    }

    #[test]
    fn loss_gradients_match_finite_differences_and_p_minus_y() {
        let z = [0.3, -1.2, 2.0, 0.5, 0.1, 0.2, -0.4, 1.5];
        let y = t(&[0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0], (2, 4));
        for head in [Head::SoftmaxCe, Head::SigmoidOvrBce, Head::SparsemaxLoss] {
            check_gradient(|z| head_loss(head, z, &y, None).unwrap(), &z, (2, 4));
            // The analytic gradient: (p − y) / rows.
            let var = Var::from_tensor(&t(&z, (2, 4))).unwrap();
            let g: Vec<f64> = head_loss(head, var.as_tensor(), &y, None)
                .unwrap()
                .backward()
                .unwrap()
                .get(var.as_tensor())
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            let yv: Vec<f64> = y.flatten_all().unwrap().to_vec1().unwrap();
            for r in 0..2 {
                let p = probabilities(head, &z[r * 4..r * 4 + 4]);
                for j in 0..4 {
                    let want = (p[j] - yv[r * 4 + j]) / 2.0;
                    assert!((g[r * 4 + j] - want).abs() < 1e-12, "{head:?} {r} {j}");
                }
            }
        }
    }

    #[test]
    fn sparsemax_loss_is_zero_with_a_margin_and_matches_the_definition() {
        // z_y ahead by more than 1: sparsemax is one-hot on y and the loss is 0.
        let y = t(&[1.0, 0.0, 0.0], (1, 3));
        let l = head_loss(Head::SparsemaxLoss, &t(&[3.0, 1.0, 0.0], (1, 3)), &y, None)
            .unwrap()
            .to_scalar::<f64>()
            .unwrap();
        assert!(l.abs() < 1e-15, "{l}");
        // z = (0, 0.5, 0) with y = 0: S = {0, 1, 2}? τ from the sorted cumulative sums:
        // 0.5 > (0.5 − 1)/1; 0 > (0.5 − 1)/2 = −0.25; 0 > (0.5 − 1)/3 = −1/6: S = all,
        // τ = −1/6; loss = −0 + ½(0.25 − 3/36) + ½ = 7/12 ≈ 0.58333.
        let l = head_loss(Head::SparsemaxLoss, &t(&[0.0, 0.5, 0.0], (1, 3)), &y, None)
            .unwrap()
            .to_scalar::<f64>()
            .unwrap();
        assert!((l - 7.0 / 12.0).abs() < 1e-12, "{l}");
        assert_eq!(
            probabilities(Head::SparsemaxLoss, &[3.0, 1.0, 0.0]),
            vec![1.0, 0.0, 0.0]
        );
    }

    #[test]
    fn probabilities_of_each_head() {
        let p = probabilities(Head::SoftmaxCe, &[2.0, 1.0, 0.1]);
        assert!((p[0] - 0.659_001_138_885_967_9).abs() < 1e-15, "{p:?}");
        let p = probabilities(Head::Sigmoid1Bce, &[-800.0]);
        assert_eq!(p, vec![1.0, 0.0]);
        let p = probabilities(Head::SigmoidOvrBce, &[0.0, 40.0]);
        assert_eq!(p, vec![0.5, 1.0]);
    }

    #[test]
    fn targets_per_head() {
        let (m, w) = target_matrix(Head::SoftmaxCe, &Targets::Classes(&[2, 0], 3));
        assert_eq!((m, w), (vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0], 3));
        let (m, w) = target_matrix(Head::Sigmoid1Bce, &Targets::Classes(&[1, 0], 2));
        assert_eq!((m, w), (vec![1.0, 0.0], 1));
        let (m, _) = target_matrix(Head::SoftmaxCe, &Targets::Multi(&[1, 1, 0, 0, 0, 0], 3));
        assert_eq!(m, vec![0.5, 0.5, 0.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn cross_entropy_keeps_the_tiny_loss_of_a_confident_row_and_its_gradient() {
        // Row [10, 0, -1, -2], class 0, in f32: the loss is ln1p(e^-10 + e^-11 + e^-12)
        // = 6.8244e-5; the ln of the rounded sum gives 6.8305e-5 (about 7,000 ulps).
        let z = Var::from_tensor(
            &Tensor::from_vec(vec![10f32, 0.0, -1.0, -2.0], (1, 4), &Device::Cpu).unwrap(),
        )
        .unwrap();
        let y = Tensor::from_vec(vec![1f32, 0.0, 0.0, 0.0], (1, 4), &Device::Cpu).unwrap();
        let loss = softmax_cross_entropy_rows(z.as_tensor(), &y).unwrap();
        let got: Vec<f32> = loss.to_vec1().unwrap();
        let s: f64 = [-10f64, -11.0, -12.0].iter().map(|v| v.exp()).sum();
        let want = s.ln_1p();
        assert!(
            ((got[0] as f64) - want).abs() <= 2.0 * f32::EPSILON as f64 * want,
            "{} vs {want}",
            got[0]
        );
        // The gradient is p − y: −s/(1+s) at the class, e^(z_j − 10)/(1+s) elsewhere.
        let grads = loss.sum_all().unwrap().backward().unwrap();
        let g: Vec<f32> = grads
            .get(&z)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let want_g = [
            -s / (1.0 + s),
            (-10f64).exp() / (1.0 + s),
            (-11f64).exp() / (1.0 + s),
            (-12f64).exp() / (1.0 + s),
        ];
        for (a, b) in g.iter().zip(want_g) {
            assert!(
                ((*a as f64) - b).abs() <= 1e-6 * b.abs(),
                "{g:?} vs {want_g:?}"
            );
        }
        // Ties: [3, 3] gives ln 2 and gradient [-1/2, 1/2] for class 0.
        let z2 =
            Var::from_tensor(&Tensor::from_vec(vec![3f32, 3.0], (1, 2), &Device::Cpu).unwrap())
                .unwrap();
        let y2 = Tensor::from_vec(vec![1f32, 0.0], (1, 2), &Device::Cpu).unwrap();
        let l2 = softmax_cross_entropy_rows(z2.as_tensor(), &y2).unwrap();
        assert!((l2.to_vec1::<f32>().unwrap()[0] - 2f32.ln()).abs() < 1e-7);
        let g2: Vec<f32> = l2
            .sum_all()
            .unwrap()
            .backward()
            .unwrap()
            .get(&z2)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        assert!(
            (g2[0] + 0.5).abs() < 1e-7 && (g2[1] - 0.5).abs() < 1e-7,
            "{g2:?}"
        );
    }
}
