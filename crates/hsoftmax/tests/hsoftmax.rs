//! Hierarchical softmax against its claims, with fixed seeds: leaves sum to one
//! within `sum_to_one_bound`; gradients equal central finite differences (f64);
//! Huffman mean path length within one bit of the entropy of the frequencies;
//! the work per target grows as log V (counted operations, not time), against
//! d·V for the full softmax head; and both heads agree with the reference.

use half::{bf16, f16};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use softmax_lab_core::{reference, DType, Element, Xd};
use softmax_lab_hsoftmax::{
    sum_to_one_bound, Cost, FullSoftmaxHead, HierarchicalSoftmax, OutputHead, Tree,
};

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

fn values<T: Element>(r: &mut ChaCha8Rng, len: usize, scale: f64) -> Vec<T> {
    (0..len)
        .map(|_| T::from_f64(scale * r.gen_range(-1.0..1.0)))
        .collect()
}

/// Zipf(1) frequencies over V classes, the shape of word counts.
fn zipf(v: usize) -> Vec<f64> {
    (1..=v).map(|k| 1e6 / k as f64).collect()
}

fn hs<T: Element>(tree: Tree, d: usize, seed: u64, scale: f64) -> HierarchicalSoftmax<T> {
    let w = values::<T>(&mut rng(seed), tree.inner_nodes() * d, scale);
    HierarchicalSoftmax::new(tree, d, w)
}

fn exact_sum<T: Element>(p: &[T]) -> f64 {
    p.iter()
        .fold(Xd::ZERO, |acc, &v| acc.add(Xd::from_f64(v.to_f64())))
        .to_f64()
}

fn sums_to_one<T: Element>() -> f64 {
    let u = T::DTYPE.unit_roundoff();
    let mut worst = 0.0f64;
    for v in [1usize, 2, 3, 10, 257, 1000] {
        for (name, tree) in [
            ("balanced", Tree::balanced(v)),
            ("huffman", Tree::huffman(&zipf(v))),
        ] {
            let bound = sum_to_one_bound(tree.depth(), v, u);
            let d = 16;
            for (seed, scale) in [(1u64, 0.1), (2, 1.0), (3, 4.0)] {
                let m = hs::<T>(tree.clone(), d, seed, scale);
                let h = values::<T>(&mut rng(seed + 100), d, 1.0);
                let p = m.distribution(&h, &mut Cost::default());
                let dev = (exact_sum(&p) - 1.0).abs();
                assert!(
                    dev <= bound,
                    "{} {name} V={v} scale {scale}: |sum - 1| = {dev:e} > {bound:e}",
                    T::DTYPE
                );
                worst = worst.max(dev / bound);
            }
        }
    }
    worst
}

#[test]
fn leaves_sum_to_one_within_the_bound() {
    let ratios = [
        (DType::F16, sums_to_one::<f16>()),
        (DType::BF16, sums_to_one::<bf16>()),
        (DType::F32, sums_to_one::<f32>()),
        (DType::F64, sums_to_one::<f64>()),
    ];
    for (dtype, r) in ratios {
        eprintln!("hsoftmax {dtype}: worst |sum - 1| / bound = {r:.3e}");
    }
}

/// ⟨ ∂ log p / ∂θ, e_i ⟩ against (log p(θ + h e_i) − log p(θ − h e_i)) / 2h, f64.
fn check_grads<H: OutputHead<f64>>(mut head: H, what: &str) {
    let d = head.dim();
    let h: Vec<f64> = values(&mut rng(77), d, 1.0);
    let lp = |m: &H, h: &[f64], c: usize| m.log_prob(h, c, &mut Cost::default());
    for class in [0, head.classes() / 2, head.classes() - 1] {
        let g = head.grad(&h, class, &mut Cost::default());
        assert!((g.log_prob - lp(&head, &h, class)).abs() < 1e-14, "{what}");
        let step = 1e-6;
        for i in 0..d {
            let (mut up, mut down) = (h.clone(), h.clone());
            up[i] += step;
            down[i] -= step;
            let fd = (lp(&head, &up, class) - lp(&head, &down, class)) / (2.0 * step);
            assert!(
                (fd - g.dh[i]).abs() < 1e-8,
                "{what} class {class} dh[{i}]: {} vs {fd}",
                g.dh[i]
            );
        }
        // Every parameter: listed rows against their differences, unlisted rows 0.
        let rows = head.weights().len() / d;
        for row in 0..rows {
            let listed = g.dw.iter().find(|(r, _)| *r == row).map(|(_, v)| v.clone());
            for i in 0..d {
                let k = row * d + i;
                let orig = head.weights()[k];
                head.weights_mut()[k] = orig + step;
                let a = lp(&head, &h, class);
                head.weights_mut()[k] = orig - step;
                let b = lp(&head, &h, class);
                head.weights_mut()[k] = orig;
                let fd = (a - b) / (2.0 * step);
                let an = listed.as_ref().map_or(0.0, |v| v[i]);
                assert!(
                    (fd - an).abs() < 1e-8,
                    "{what} class {class} dw[{row}][{i}]: {an} vs {fd}"
                );
            }
        }
    }
}

#[test]
fn gradients_match_finite_differences() {
    let d = 5;
    check_grads(hs::<f64>(Tree::balanced(13), d, 4, 1.0), "balanced");
    check_grads(hs::<f64>(Tree::huffman(&zipf(13)), d, 5, 1.0), "huffman");
    let w: Vec<f64> = values(&mut rng(6), 13 * d, 1.0);
    check_grads(FullSoftmaxHead::new(13, d, w), "full");
}

#[test]
fn huffman_mean_path_is_within_one_bit_of_the_entropy() {
    let mut r = rng(8);
    let random: Vec<f64> = (0..500).map(|_| r.gen_range(0.0..1.0f64).powi(4)).collect();
    for (name, f) in [
        ("zipf_1000", zipf(1000)),
        ("zipf_50000", zipf(50_000)),
        ("random_500", random),
        ("dyadic", vec![8.0, 4.0, 2.0, 1.0, 1.0]),
        ("uniform_1024", vec![1.0; 1024]),
    ] {
        let total: f64 = f.iter().sum();
        let entropy_bits: f64 = f
            .iter()
            .filter(|&&c| c > 0.0)
            .map(|&c| {
                let p = c / total;
                -p * p.log2()
            })
            .sum();
        let huff = Tree::huffman(&f).mean_path_length(&f);
        let bal = Tree::balanced(f.len()).mean_path_length(&f);
        eprintln!(
            "{name}: entropy {entropy_bits:.4} bits, Huffman mean path {huff:.4}, balanced {bal:.4}"
        );
        assert!(
            huff >= entropy_bits - 1e-9 && huff < entropy_bits + 1.0,
            "{name}: {huff} vs H = {entropy_bits}"
        );
        assert!(
            huff <= bal + 1e-9,
            "{name}: Huffman {huff} > balanced {bal}"
        );
    }
    // Dyadic frequencies: Huffman meets the entropy exactly (1.875 bits).
    let f = [8.0, 4.0, 2.0, 1.0, 1.0];
    assert_eq!(Tree::huffman(&f).mean_path_length(&f), 1.875);
}

#[test]
fn work_per_target_grows_as_log_v() {
    let d = 8;
    for k in 1..=14u32 {
        let v = 1usize << k;
        let m = hs::<f32>(Tree::balanced(v), d, 9, 0.5);
        let h: Vec<f32> = values(&mut rng(10), d, 1.0);
        let mut cost = Cost::default();
        let targets = [0, v / 3, v - 1];
        for c in targets {
            m.log_prob(&h, c, &mut cost);
        }
        let n = targets.len() as u64;
        // Exactly log2 V decisions of d multiply–adds each, per target.
        assert_eq!(cost.dot_products, n * k as u64, "V = {v}");
        assert_eq!(cost.mul_adds, n * (d as u64) * k as u64, "V = {v}");
        // The full head: V dot products per target, whatever the target.
        if k <= 10 {
            let w: Vec<f32> = values(&mut rng(11), v * d, 0.5);
            let full = FullSoftmaxHead::new(v, d, w);
            let mut fc = Cost::default();
            full.log_prob(&h, 0, &mut fc);
            assert_eq!(fc.mul_adds, (d * v) as u64);
        }
    }
    // Not a power of two: at most ⌈log2 V⌉ per target.
    let v = 1000;
    let m = hs::<f64>(Tree::balanced(v), d, 12, 0.5);
    let h: Vec<f64> = values(&mut rng(13), d, 1.0);
    for c in 0..v {
        let mut cost = Cost::default();
        m.log_prob(&h, c, &mut cost);
        assert!(cost.dot_products == 9 || cost.dot_products == 10);
    }
    // Huffman: mean work per target drawn from the frequencies = d · mean path.
    let f = zipf(v);
    let tree = Tree::huffman(&f);
    let mean_path = tree.mean_path_length(&f);
    let m = hs::<f64>(tree, d, 14, 0.5);
    let total: f64 = f.iter().sum();
    let weighted: f64 = (0..v)
        .map(|c| {
            let mut cost = Cost::default();
            m.log_prob(&h, c, &mut cost);
            f[c] / total * cost.mul_adds as f64
        })
        .sum();
    eprintln!(
        "V=1000 d={d}: balanced <= {} mul-adds/target, Huffman (Zipf) mean {weighted:.2} = d x {mean_path:.4}, full head {}",
        d * 10,
        d * v
    );
    assert!((weighted - d as f64 * mean_path).abs() < 1e-9);
}

/// log_prob agrees with the distribution it implies, and the full head with the
/// reference log-softmax of its logits (f64).
#[test]
fn heads_agree_with_their_definitions() {
    let (v, d) = (37, 6);
    let h: Vec<f64> = values(&mut rng(15), d, 1.0);
    let m = hs::<f64>(Tree::huffman(&zipf(v)), d, 16, 2.0);
    let p = m.distribution(&h, &mut Cost::default());
    for (c, &pc) in p.iter().enumerate() {
        let lp = m.log_prob(&h, c, &mut Cost::default());
        assert!((lp.exp() / pc - 1.0).abs() < 1e-13, "class {c}");
    }
    let w: Vec<f64> = values(&mut rng(17), v * d, 3.0);
    let full = FullSoftmaxHead::new(v, d, w.clone());
    let z: Vec<f64> = w
        .chunks(d)
        .map(|r| r.iter().zip(&h).map(|(a, b)| a * b).sum())
        .collect();
    let want = reference::log_softmax(&z, 1.0);
    let pw = reference::softmax(&z, 1.0);
    let p = full.distribution(&h, &mut Cost::default());
    for c in 0..v {
        let lp = full.log_prob(&h, c, &mut Cost::default());
        assert!((lp - want[c].to_f64()).abs() < 1e-13, "class {c}");
        assert!((p[c] / pw[c].to_f64() - 1.0).abs() < 1e-13, "class {c}");
    }
}
