//! Hierarchical softmax: a model, not a function of one logit row. The V classes
//! are the leaves of a binary tree; inner node k holds a parameter vector w_k of
//! size d; at node k a hidden vector h goes right with probability σ(w_k·h) and
//! left with σ(−w_k·h), so P(class | h) is the product of the decisions on the
//! class's path and the leaves' probabilities sum to one by construction.
//! Trees: [`Tree::balanced`] (depth ⌈log2 V⌉) and [`Tree::huffman`] from class
//! frequencies (the fastText construction: frequent classes get short paths).
//!
//! Its counterpart is [`FullSoftmaxHead`], V×d weights and the stable log-softmax,
//! behind the same [`OutputHead`] API: log-probability of one target, the full
//! distribution, and gradients of log P(target | h) with respect to h and to the
//! parameters. Every call adds its work to a [`Cost`] (dot products and
//! multiply–adds), so the O(d log V) against O(d V) claim is counted, not timed.
//!
//! Numerics: arithmetic in the element type T (f16, bf16, f32, f64), dot products
//! as a recursive sum; log σ(z) = −softplus(−z) with softplus(y) = max(y, 0) +
//! log1p(e^−|y|) (log1p evaluated in f64 and rounded once to T), never log of a
//! computed σ. Sum-to-one bound: [`sum_to_one_bound`].
//!
//! Not for: registration as a row `Variant` (there is no row of logits), training
//! loops, or sampling.

#![warn(missing_docs)]

use softmax_lab_core::bounds::C_EXP;
use softmax_lab_core::kernels::{log_softmax_row, shifted_softmax_row};
use softmax_lab_core::{f32_for_half, Element};

/// Work done, counted by the operations that dominate it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    /// Dot products of length d (w·h).
    pub dot_products: u64,
    /// Scalar multiply–adds, in dot products and in gradient updates (d each).
    pub mul_adds: u64,
}

/// A child of an inner node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Child {
    /// Inner node, by index (its parameter row).
    Inner(usize),
    /// Leaf, by class.
    Leaf(usize),
}

/// One decision on a class's path: the inner node and the direction taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    /// The inner node's index.
    pub node: usize,
    /// True for right (probability σ(w·h)), false for left (σ(−w·h)).
    pub right: bool,
}

/// A binary tree over V classes: V − 1 inner nodes (none for V = 1).
#[derive(Clone, Debug)]
pub struct Tree {
    classes: usize,
    /// Children of each inner node: [left, right].
    children: Vec<[Child; 2]>,
    /// The root: `Inner(k)`, or `Leaf(0)` when V = 1.
    root: Child,
    /// Each class's path from the root.
    paths: Vec<Vec<Step>>,
}

impl Tree {
    /// A balanced tree: each node splits its classes into ⌈m/2⌉ left and ⌊m/2⌋
    /// right, so every path has ⌊log2 V⌋ or ⌈log2 V⌉ steps. V >= 1.
    pub fn balanced(classes: usize) -> Tree {
        assert!(classes >= 1, "a tree needs at least one class");
        fn build(lo: usize, hi: usize, children: &mut Vec<[Child; 2]>) -> Child {
            if hi - lo == 1 {
                return Child::Leaf(lo);
            }
            let mid = lo + (hi - lo).div_ceil(2);
            let left = build(lo, mid, children);
            let right = build(mid, hi, children);
            children.push([left, right]);
            Child::Inner(children.len() - 1)
        }
        let mut children = Vec::with_capacity(classes - 1);
        let root = build(0, classes, &mut children);
        Tree::from_parts(classes, children, root)
    }

    /// The Huffman tree of class frequencies (fastText's construction: two queues,
    /// the leaves in increasing frequency and the merged nodes in creation order;
    /// ties go to the leaf, then to the smaller class). Frequencies must be finite
    /// and >= 0; at least one class.
    pub fn huffman(freqs: &[f64]) -> Tree {
        let v = freqs.len();
        assert!(v >= 1, "a tree needs at least one class");
        assert!(
            freqs.iter().all(|f| f.is_finite() && *f >= 0.0),
            "frequencies must be finite and >= 0"
        );
        let mut leaves: Vec<usize> = (0..v).collect();
        leaves.sort_by(|&a, &b| freqs[a].total_cmp(&freqs[b]).then(a.cmp(&b)));
        let mut children: Vec<[Child; 2]> = Vec::with_capacity(v.saturating_sub(1));
        let mut weight: Vec<f64> = Vec::with_capacity(v.saturating_sub(1));
        let (mut li, mut ni) = (0usize, 0usize);
        // The lighter of the two queue heads (the leaf on a tie).
        let take = |li: &mut usize, ni: &mut usize, weight: &[f64]| -> (Child, f64) {
            let leaf = leaves.get(*li).map(|&c| freqs[c]);
            match (leaf, weight.get(*ni).copied()) {
                (Some(fl), Some(fw)) if fl <= fw => {
                    *li += 1;
                    (Child::Leaf(leaves[*li - 1]), fl)
                }
                (Some(fl), None) => {
                    *li += 1;
                    (Child::Leaf(leaves[*li - 1]), fl)
                }
                (_, Some(fw)) => {
                    *ni += 1;
                    (Child::Inner(*ni - 1), fw)
                }
                (None, None) => unreachable!("v - 1 merges take 2v - 2 items"),
            }
        };
        for _ in 1..v {
            let (a, wa) = take(&mut li, &mut ni, &weight);
            let (b, wb) = take(&mut li, &mut ni, &weight);
            // The lighter child on the left.
            children.push([a, b]);
            weight.push(wa + wb);
        }
        let root = if v == 1 {
            Child::Leaf(0)
        } else {
            Child::Inner(v - 2)
        };
        Tree::from_parts(v, children, root)
    }

    fn from_parts(classes: usize, children: Vec<[Child; 2]>, root: Child) -> Tree {
        let mut paths = vec![Vec::new(); classes];
        let mut stack = vec![(root, Vec::new())];
        while let Some((c, path)) = stack.pop() {
            match c {
                Child::Leaf(k) => paths[k] = path,
                Child::Inner(k) => {
                    for (dir, &ch) in children[k].iter().enumerate() {
                        let mut p = path.clone();
                        p.push(Step {
                            node: k,
                            right: dir == 1,
                        });
                        stack.push((ch, p));
                    }
                }
            }
        }
        Tree {
            classes,
            children,
            root,
            paths,
        }
    }

    /// Number of classes V.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Number of inner nodes (V − 1).
    pub fn inner_nodes(&self) -> usize {
        self.children.len()
    }

    /// The path of a class from the root.
    pub fn path(&self, class: usize) -> &[Step] {
        &self.paths[class]
    }

    /// The longest path.
    pub fn depth(&self) -> usize {
        self.paths.iter().map(Vec::len).max().unwrap_or(0)
    }

    /// Σ_c f_c · |path(c)| / Σ_c f_c: the mean path length under frequencies f.
    pub fn mean_path_length(&self, freqs: &[f64]) -> f64 {
        let total: f64 = freqs.iter().sum();
        self.paths
            .iter()
            .zip(freqs)
            .map(|(p, f)| f * p.len() as f64)
            .sum::<f64>()
            / total
    }
}

/// w·h in T (recursive sum), counted.
fn dot<T: Element>(w: &[T], h: &[T], cost: &mut Cost) -> T {
    cost.dot_products += 1;
    cost.mul_adds += w.len() as u64;
    w.iter().zip(h).fold(T::ZERO, |acc, (&a, &b)| acc + a * b)
}

/// softplus(y) = max(y, 0) + log1p(e^−|y|), in T (log1p in f64, rounded once).
pub fn softplus<T: Element>(y: T) -> T {
    let a = if y < T::ZERO { -y } else { y };
    let e = (-a).exp();
    let l = T::from_f64(e.to_f64().ln_1p());
    let m = if y > T::ZERO { y } else { T::ZERO };
    m + l
}

/// log σ(z) = −softplus(−z): accurate in both tails (−z for z ≪ 0, −e^−z for z ≫ 0).
pub fn log_sigmoid<T: Element>(z: T) -> T {
    -softplus(-z)
}

/// σ(z) in the stable form: 1/(1 + e^−z) for z >= 0, e^z/(1 + e^z) otherwise.
pub fn sigmoid<T: Element>(z: T) -> T {
    if z >= T::ZERO {
        T::ONE / (T::ONE + (-z).exp())
    } else {
        let e = z.exp();
        e / (T::ONE + e)
    }
}

/// Gradients of log P(target | h).
#[derive(Clone, Debug, PartialEq)]
pub struct Grad<T> {
    /// log P(target | h).
    pub log_prob: T,
    /// ∂/∂h, length d.
    pub dh: Vec<T>,
    /// ∂/∂(parameter row r) for every row touched, as (r, gradient of length d);
    /// rows not listed have gradient 0.
    pub dw: Vec<(usize, Vec<T>)>,
}

/// What both heads offer: one target's log-probability, the whole distribution,
/// and gradients — each adding its work to `cost`.
pub trait OutputHead<T: Element> {
    /// Number of classes V.
    fn classes(&self) -> usize;
    /// Size d of the hidden vector.
    fn dim(&self) -> usize;
    /// log P(class | h).
    fn log_prob(&self, h: &[T], class: usize, cost: &mut Cost) -> T;
    /// P(c | h) for every class c.
    fn distribution(&self, h: &[T], cost: &mut Cost) -> Vec<T>;
    /// log P(class | h) and its gradients with respect to h and the parameters.
    fn grad(&self, h: &[T], class: usize, cost: &mut Cost) -> Grad<T>;
    /// The parameter rows (inner nodes, or classes), row-major with d columns.
    fn weights(&self) -> &[T];
    /// Mutable parameter rows (for finite differences and training).
    fn weights_mut(&mut self) -> &mut [T];
}

/// Hierarchical softmax over a [`Tree`]: (V − 1) × d node parameters.
#[derive(Clone, Debug)]
pub struct HierarchicalSoftmax<T> {
    tree: Tree,
    dim: usize,
    weights: Vec<T>,
}

impl<T: Element> HierarchicalSoftmax<T> {
    /// A head over `tree` with node vectors given row-major ((V − 1) × d values).
    pub fn new(tree: Tree, dim: usize, weights: Vec<T>) -> HierarchicalSoftmax<T> {
        assert_eq!(
            weights.len(),
            tree.inner_nodes() * dim,
            "(V - 1) x d weights"
        );
        HierarchicalSoftmax { tree, dim, weights }
    }

    /// The tree.
    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    fn row(&self, k: usize) -> &[T] {
        &self.weights[k * self.dim..(k + 1) * self.dim]
    }

    /// The signed score s·w·h of a step (s = +1 right, −1 left).
    fn signed(&self, s: Step, h: &[T], cost: &mut Cost) -> T {
        let z = dot(self.row(s.node), h, cost);
        if s.right {
            z
        } else {
            -z
        }
    }
}

impl<T: Element> OutputHead<T> for HierarchicalSoftmax<T> {
    fn classes(&self) -> usize {
        self.tree.classes
    }

    fn dim(&self) -> usize {
        self.dim
    }

    /// Σ over the path of log σ(±w·h): |path| dot products, O(d log V).
    fn log_prob(&self, h: &[T], class: usize, cost: &mut Cost) -> T {
        self.tree.paths[class].iter().fold(T::ZERO, |acc, &s| {
            acc + log_sigmoid(self.signed(s, h, cost))
        })
    }

    /// Top-down: each inner node's score once (V − 1 dot products), log-probability
    /// accumulated along the paths, exp at the leaves.
    fn distribution(&self, h: &[T], cost: &mut Cost) -> Vec<T> {
        let mut out = vec![T::ZERO; self.tree.classes];
        let mut stack = vec![(self.tree.root, T::ZERO)];
        while let Some((c, lp)) = stack.pop() {
            match c {
                Child::Leaf(k) => out[k] = lp.exp(),
                Child::Inner(k) => {
                    let z = dot(self.row(k), h, cost);
                    let [l, r] = self.tree.children[k];
                    stack.push((l, lp + log_sigmoid(-z)));
                    stack.push((r, lp + log_sigmoid(z)));
                }
            }
        }
        out
    }

    /// d/dz log σ(s z) = s σ(−s z): ∂/∂h = Σ s σ(−s z) w, ∂/∂w = s σ(−s z) h on the path.
    fn grad(&self, h: &[T], class: usize, cost: &mut Cost) -> Grad<T> {
        let mut log_prob = T::ZERO;
        let mut dh = vec![T::ZERO; self.dim];
        let mut dw = Vec::with_capacity(self.tree.paths[class].len());
        for &s in &self.tree.paths[class] {
            let sz = self.signed(s, h, cost);
            log_prob = log_prob + log_sigmoid(sz);
            let g = sigmoid(-sz);
            let g = if s.right { g } else { -g };
            for (d, &w) in dh.iter_mut().zip(self.row(s.node)) {
                *d = *d + g * w;
            }
            dw.push((s.node, h.iter().map(|&hi| g * hi).collect()));
            cost.mul_adds += 2 * self.dim as u64;
        }
        Grad { log_prob, dh, dw }
    }

    fn weights(&self) -> &[T] {
        &self.weights
    }

    fn weights_mut(&mut self) -> &mut [T] {
        &mut self.weights
    }
}

/// The counterpart: V × d weights, logits z = W h, the stable (max-shifted)
/// log-softmax and softmax of the `log_softmax` and `stable` variants (their row
/// kernels in `softmax_lab_core::kernels`, f16/bf16 in f32).
#[derive(Clone, Debug)]
pub struct FullSoftmaxHead<T> {
    classes: usize,
    dim: usize,
    weights: Vec<T>,
}

impl<T: Element> FullSoftmaxHead<T> {
    /// A head with class vectors given row-major (V × d values).
    pub fn new(classes: usize, dim: usize, weights: Vec<T>) -> FullSoftmaxHead<T> {
        assert!(classes >= 1, "at least one class");
        assert_eq!(weights.len(), classes * dim, "V x d weights");
        FullSoftmaxHead {
            classes,
            dim,
            weights,
        }
    }

    fn logits(&self, h: &[T], cost: &mut Cost) -> Vec<T> {
        self.weights
            .chunks_exact(self.dim.max(1))
            .take(self.classes)
            .map(|w| dot(w, h, cost))
            .collect()
    }

    fn log_softmax(&self, h: &[T], cost: &mut Cost) -> Vec<T> {
        let z = self.logits(h, cost);
        let mut out = vec![T::ZERO; z.len()];
        f32_for_half!(log_softmax_row::<T>(&z, 1.0, &mut out));
        out
    }
}

impl<T: Element> OutputHead<T> for FullSoftmaxHead<T> {
    fn classes(&self) -> usize {
        self.classes
    }

    fn dim(&self) -> usize {
        self.dim
    }

    /// All V logits are needed for the normaliser: V dot products, O(d V).
    fn log_prob(&self, h: &[T], class: usize, cost: &mut Cost) -> T {
        self.log_softmax(h, cost)[class]
    }

    fn distribution(&self, h: &[T], cost: &mut Cost) -> Vec<T> {
        let z = self.logits(h, cost);
        let mut out = vec![T::ZERO; z.len()];
        f32_for_half!(shifted_softmax_row::<T>(&z, 1.0, &mut out));
        out
    }

    /// ∂ log p_c/∂z_j = [j = c] − p_j: ∂/∂h = Σ_j ([j = c] − p_j) w_j, ∂/∂w_j = ([j = c] − p_j) h.
    fn grad(&self, h: &[T], class: usize, cost: &mut Cost) -> Grad<T> {
        let z = self.log_softmax(h, cost);
        let mut dh = vec![T::ZERO; self.dim];
        let mut dw = Vec::with_capacity(self.classes);
        for (j, (w, &zj)) in self
            .weights
            .chunks_exact(self.dim.max(1))
            .zip(&z)
            .enumerate()
        {
            let p = zj.exp();
            let g = if j == class { T::ONE - p } else { -p };
            for (d, &wi) in dh.iter_mut().zip(w) {
                *d = *d + g * wi;
            }
            dw.push((j, h.iter().map(|&hi| g * hi).collect()));
            cost.mul_adds += 2 * self.dim as u64;
        }
        Grad {
            log_prob: z[class],
            dh,
            dw,
        }
    }

    fn weights(&self) -> &[T] {
        &self.weights
    }

    fn weights_mut(&mut self) -> &mut [T] {
        &mut self.weights
    }
}

/// Bound on |Σ_c p̂_c − 1| for [`HierarchicalSoftmax::distribution`] with the sum
/// taken exactly, for a tree of depth D over V classes in arithmetic of unit
/// roundoff u. The exact decisions σ(ẑ) + σ(−ẑ) = 1 for the computed score ẑ, so
/// errors in the dot products do not move the sum; what does: each softplus has
/// absolute error <= u (softplus + c_exp + 2) (exp, log1p rounded once, the add),
/// the running sum L_c = −log p_c adds u·L_c per step, the final exp c_exp·u
/// relative. So p̂_c = p_c (1 + η_c) with |η_c| <= u (D (c_exp + 2) + c_exp + (D + 1) L_c)
/// to first order, and Σ p_c L_c = H <= ln V:
///   |Σ p̂ − 1| <= γ(D (c_exp + 2) + c_exp + (D + 1) ln V).
pub fn sum_to_one_bound(depth: usize, classes: usize, u: f64) -> f64 {
    let d = depth as f64;
    let k = d * (C_EXP + 2.0) + C_EXP + (d + 1.0) * (classes as f64).ln();
    let ku = k * u;
    if ku >= 1.0 {
        f64::INFINITY
    } else {
        ku / (1.0 - ku)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_sigmoid_is_accurate_in_both_tails() {
        assert_eq!(log_sigmoid(0.0f64), -std::f64::consts::LN_2);
        // log σ(−800) = −800 − log1p(e^−800) = −800; log σ(40) = −e^−40 (to 1e-17 rel).
        assert_eq!(log_sigmoid(-800.0f64), -800.0);
        let want = -(-40.0f64).exp();
        assert!((log_sigmoid(40.0f64) / want - 1.0).abs() < 1e-15);
        assert!((log_sigmoid(40.0f32) as f64 / want - 1.0).abs() < 1e-6);
        assert_eq!(sigmoid(-800.0f64), 0.0);
        assert_eq!(sigmoid(0.0f32), 0.5);
    }

    #[test]
    fn trees_have_the_expected_shape() {
        let t = Tree::balanced(8);
        assert_eq!(t.inner_nodes(), 7);
        assert!((0..8).all(|c| t.path(c).len() == 3));
        let t = Tree::balanced(5);
        assert_eq!(t.depth(), 3);
        let t = Tree::balanced(1);
        assert_eq!((t.inner_nodes(), t.depth()), (0, 0));
        // Huffman on [1, 1, 2, 4]: code lengths 3, 3, 2, 1.
        let h = Tree::huffman(&[1.0, 1.0, 2.0, 4.0]);
        let lens: Vec<usize> = (0..4).map(|c| h.path(c).len()).collect();
        assert_eq!(lens, [3, 3, 2, 1]);
        assert_eq!(Tree::huffman(&[3.0]).depth(), 0);
    }

    #[test]
    fn two_classes_are_a_sigmoid() {
        let m = HierarchicalSoftmax::new(Tree::balanced(2), 2, vec![0.5f64, -1.0]);
        let h = [2.0, 0.25];
        let z: f64 = 0.5 * 2.0 - 0.25;
        let mut cost = Cost::default();
        let p = m.distribution(&h, &mut cost);
        assert!((p[1] - 1.0 / (1.0 + (-z).exp())).abs() < 1e-16);
        assert!((p[0] + p[1] - 1.0).abs() < 1e-16);
        assert_eq!(cost.dot_products, 1);
        let lp = m.log_prob(&h, 0, &mut cost);
        assert!((lp - p[0].ln()).abs() < 1e-15);
    }
}
