//! Sparsity and temperature: C13 (exact zeros), C14 (temperature), C15 (sparsemax
//! and Gumbel-softmax).

use super::*;

// ---------------------------------------------------------------------------------
// C13: exact zeros of softmax against sparsemax.

/// C13, measured: one dtype × scale of N(0,1)·scale rows.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct C13Row {
    pub dtype: DType,
    pub scale: f64,
    /// Fraction of the stable softmax's outputs that are exactly 0.
    pub softmax_zero: f64,
    /// Fraction of the exact values that round to 0 in the dtype.
    pub rounded_zero: f64,
    /// Fraction of sparsemax's outputs that are exactly 0.
    pub sparsemax_zero: f64,
}

/// C13: "never exactly zero" fails when softmax has exact zeros at scale 1 (where
/// no exact value is near underflow); zeros at larger scales only are underflow,
/// a caveat; none anywhere: holds.
pub(super) fn decide_c13(rows: &[C13Row]) -> (Verdict, String) {
    let at_one: Vec<&C13Row> = rows.iter().filter(|r| r.scale == 1.0).collect();
    let zero_at_one = at_one.iter().any(|r| r.softmax_zero > 0.0);
    let any_zero = rows.iter().any(|r| r.softmax_zero > 0.0);
    let verdict = if zero_at_one {
        Verdict::DoesNotHold
    } else if any_zero {
        Verdict::HoldsWithCaveats
    } else {
        Verdict::Holds
    };
    let sparse_at_one = at_one.iter().map(|r| r.sparsemax_zero).fold(0.0, f64::max);
    let zeros_at_one = worst(at_one.iter().map(|r| r.softmax_zero));
    let mut dtypes: Vec<DType> = Vec::new();
    for r in rows {
        if !dtypes.contains(&r.dtype) {
            dtypes.push(r.dtype);
        }
    }
    let first: Vec<String> = dtypes
        .iter()
        .map(
            |&d| match rows.iter().find(|r| r.dtype == d && r.softmax_zero > 0.0) {
                Some(r) => format!(
                    "{d} from scale {} ({} of outputs; exact values rounding to 0 in {d}: {})",
                    sig(r.scale, 3),
                    pct(r.softmax_zero),
                    pct(r.rounded_zero)
                ),
                None => format!("{d} never"),
            },
        )
        .collect();
    let evidence = format!(
        "stable softmax of N(0,1)·scale rows of 100: exactly 0 in up to {} of outputs at scale 1 (every dtype), while sparsemax zeroes up to {} there; softmax's exact zeros: {}",
        pct(zeros_at_one),
        pct(sparse_at_one),
        first.join(", "),
    );
    (verdict, evidence)
}

pub(super) fn c13(cx: &Ctx) -> Result<Finding, HarnessError> {
    let stable = need!(cx, "stable");
    let sparsemax = need!(cx, "sparsemax");
    let n = 100;
    let rows = cx.q(4, 16);
    let scales = [1.0, 10.0, 100.0, 1000.0];
    let mut t = cx.table(
        "c13",
        &[
            ("dtype", ColumnType::Text),
            ("n", ColumnType::Int),
            ("rows", ColumnType::Int),
            ("scale", ColumnType::Float),
            ("softmax_exact_zero_fraction", ColumnType::Float),
            ("softmax_zero_when_rounded_fraction", ColumnType::Float),
            ("sparsemax_exact_zero_fraction", ColumnType::Float),
        ],
    );
    let mut measured = Vec::new();
    for dtype in DType::ALL {
        for &scale in &scales {
            let x = cx.normal(13, dtype, n, rows, scale)?;
            let y = cx.fwd(stable.as_ref(), dtype, &x, n, 1.0)?;
            let ys = cx.fwd(sparsemax.as_ref(), dtype, &x, n, 1.0)?;
            let exact = reference_rows(softmax_lab_core::Function::Softmax, &x, n);
            let r = C13Row {
                dtype,
                scale,
                softmax_zero: fraction(y.iter().filter(|&&v| v == 0.0).count(), y.len()),
                rounded_zero: fraction(
                    exact
                        .iter()
                        .filter(|e| e.round_to(dtype.format()) == 0.0)
                        .count(),
                    exact.len(),
                ),
                sparsemax_zero: fraction(ys.iter().filter(|&&v| v == 0.0).count(), ys.len()),
            };
            cx.push(
                &mut t,
                vec![
                    txt(dtype.name()),
                    int(n),
                    int(rows),
                    flt(scale),
                    flt(r.softmax_zero),
                    flt(r.rounded_zero),
                    flt(r.sparsemax_zero),
                ],
            );
            measured.push(r);
        }
    }
    let (verdict, evidence) = decide_c13(&measured);
    Ok(Finding {
        verdict,
        tested: "all: exact zeros of the stable softmax per dtype and scale, against sparsemax on the same rows".into(),
        evidence,
        figure: cx.csv("c13"),
        tables: vec![t],
    })
}

// ---------------------------------------------------------------------------------
// C14: temperature.

pub(super) fn entropy(p: &[f64]) -> f64 {
    p.iter().filter(|&&v| v > 0.0).map(|&v| -v * v.ln()).sum()
}

/// C14, measured.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct C14Measure {
    /// The lowest and highest temperature.
    pub t_low: f64,
    pub t_high: f64,
    /// Exact softmax of the untied row at `t_low`: its largest probability.
    pub max_low: f64,
    /// The smallest and largest of that in the dtypes (stable softmax).
    pub max_low_dtypes: (f64, f64),
    /// Entropy over ln n at `t_low` and `t_high` (exact).
    pub entropy_low: f64,
    pub entropy_high: f64,
    /// Whether the exact entropy rises with T at every step.
    pub monotone: bool,
    /// The largest probability at T = 1 (exact) and n.
    pub max_at_one: f64,
    pub n: usize,
    /// The row with two tied maxima at `t_low`: its largest probability (exact)
    /// and the range in the dtypes.
    pub tie_max_low: f64,
    pub tie_max_low_dtypes: (f64, f64),
    /// Pairs of positive logits x_i > x_j > 0 (T = 1), and how many of them have
    /// p_i/p_j > x_i/x_j: the ratio of probabilities amplifies the ratio of logits.
    pub pairs: usize,
    pub amplified: usize,
    /// Per scale of the logits: (scale, pairs, amplified).
    pub by_scale: Vec<(f64, usize, usize)>,
}

/// C14: one-hot as T → 0 (untied row, exact and every dtype), uniform as T → ∞
/// and entropy rising with T must all hold, and some pair must be amplified;
/// "holds" needs also one-hot with tied maxima and every pair amplified, else
/// caveats.
pub(super) fn decide_c14(m: &C14Measure) -> (Verdict, String) {
    let one_hot = m.max_low >= ONE_HOT_MIN && m.max_low_dtypes.0 >= ONE_HOT_MIN;
    let uniform = m.entropy_high >= UNIFORM_ENTROPY_MIN;
    let tie_one_hot = m.tie_max_low >= ONE_HOT_MIN && m.tie_max_low_dtypes.0 >= ONE_HOT_MIN;
    let verdict = if !(one_hot && uniform && m.monotone) || m.amplified == 0 {
        Verdict::DoesNotHold
    } else if tie_one_hot && m.amplified == m.pairs {
        Verdict::Holds
    } else {
        Verdict::HoldsWithCaveats
    };
    let scales: Vec<String> = m
        .by_scale
        .iter()
        .map(|(s, p, a)| format!("{a} of {p} at scale {}", sig(*s, 2)))
        .collect();
    let evidence = format!(
        "{n} evenly spaced logits in [−2, 2]: at T = {} the largest probability is {} exact ({} to {} in the dtypes; one-hot at ≥ {}: {}) and entropy {} of ln {n}; at T = 1 the largest is {} (uniform: {}); at T = {} entropy is {} of ln {n} (uniform at ≥ {}: {}); entropy rises with T at every step: {}; with the two largest logits tied, the largest probability at T = {} is {} exact ({} to {} in the dtypes); p_i/p_j exceeds x_i/x_j for {} of {} pairs of positive N(0,1)·scale logits ({})",
        sig(m.t_low, 2),
        sig(m.max_low, 6),
        sig(m.max_low_dtypes.0, 6),
        sig(m.max_low_dtypes.1, 6),
        ONE_HOT_MIN,
        if one_hot { "yes" } else { "no" },
        pct(m.entropy_low),
        sig(m.max_at_one, 3),
        sig(1.0 / m.n as f64, 3),
        sig(m.t_high, 3),
        pct(m.entropy_high),
        pct(UNIFORM_ENTROPY_MIN),
        if uniform { "yes" } else { "no" },
        if m.monotone { "yes" } else { "no" },
        sig(m.t_low, 2),
        sig(m.tie_max_low, 6),
        sig(m.tie_max_low_dtypes.0, 6),
        sig(m.tie_max_low_dtypes.1, 6),
        m.amplified,
        m.pairs,
        scales.join(", "),
        n = m.n,
    );
    (verdict, evidence)
}

pub(super) fn c14(cx: &Ctx) -> Result<Finding, HarnessError> {
    let stable = need!(cx, "stable");
    let n = 10;
    let lin = Dist::Linspace {
        low: -2.0,
        high: 2.0,
    };
    let x = cx.draw(14, &lin, DType::F64, n, 1, 1.0)?;
    // The same row with its two largest logits tied.
    let mut tied = x.clone();
    tied[n - 2] = tied[n - 1];
    let points = cx.q(9, 21);
    let temps: Vec<f64> = (0..points)
        .map(|k| 10f64.powf(-2.0 + 4.0 * k as f64 / (points - 1) as f64))
        .collect();
    let mut t = cx.table(
        "c14",
        &[
            ("logits", ColumnType::Text),
            ("variant", ColumnType::Text),
            ("dtype", ColumnType::Text),
            ("temperature", ColumnType::Float),
            ("entropy_nats", ColumnType::Float),
            ("entropy_ratio_to_uniform", ColumnType::Float),
            ("max_prob", ColumnType::Float),
            ("second_prob", ColumnType::Float),
        ],
    );
    let ln_n = (n as f64).ln();
    let row = |t: &mut Table, l: &str, v: &str, d: &str, temp: f64, p: &[f64]| -> (f64, f64) {
        let mut s = p.to_vec();
        s.sort_by(|a, b| b.total_cmp(a));
        let h = entropy(p);
        cx.push(
            t,
            vec![
                txt(l),
                txt(v),
                txt(d),
                flt(temp),
                flt(h),
                flt(h / ln_n),
                flt(s[0]),
                flt(s[1]),
            ],
        );
        (h, s[0])
    };
    let exact = |x: &[f64], temp: f64| -> Vec<f64> {
        reference::softmax(x, temp)
            .iter()
            .map(|v| v.to_f64())
            .collect()
    };
    let mut ref_curve = Vec::new();
    for &temp in &temps {
        ref_curve.push(row(
            &mut t,
            "linspace",
            "reference",
            "exact",
            temp,
            &exact(&x, temp),
        ));
    }
    let (_, tie_max_low) = row(
        &mut t,
        "tied",
        "reference",
        "exact",
        temps[0],
        &exact(&tied, temps[0]),
    );
    let (mut low_t, mut tie_low) = (Vec::new(), Vec::new());
    for dtype in DType::ALL {
        for &temp in &temps {
            let p = cx.fwd(stable.as_ref(), dtype, &x, n, temp)?;
            let (_, mx) = row(&mut t, "linspace", stable.id(), dtype.name(), temp, &p);
            if temp == temps[0] {
                low_t.push(mx);
            }
        }
        let p = cx.fwd(stable.as_ref(), dtype, &tied, n, temps[0])?;
        tie_low.push(row(&mut t, "tied", stable.id(), dtype.name(), temps[0], &p).1);
    }
    // Ratios: positive logit pairs of N(0,1)·scale rows at T = 1, exact softmax.
    let mut tr = cx.table(
        "c14_ratios",
        &[
            ("scale", ColumnType::Float),
            ("pairs", ColumnType::Int),
            ("amplified", ColumnType::Int),
            ("amplified_fraction", ColumnType::Float),
            ("median_logit_ratio", ColumnType::Float),
            ("median_prob_ratio", ColumnType::Float),
        ],
    );
    let rows = cx.q(8, 32);
    let mut by_scale = Vec::new();
    for scale in [0.1, 1.0, 10.0] {
        let xs = cx.normal(141, DType::F64, n, rows, scale)?;
        let (mut pairs, mut amplified) = (0, 0);
        let (mut lr, mut pr) = (Vec::new(), Vec::new());
        for r in xs.chunks_exact(n) {
            let p = exact(r, 1.0);
            for i in 0..n {
                for j in 0..n {
                    if r[i] > r[j] && r[j] > 0.0 {
                        pairs += 1;
                        let (lx, px) = (r[i] / r[j], p[i] / p[j]);
                        amplified += usize::from(px > lx);
                        lr.push(lx);
                        pr.push(px);
                    }
                }
            }
        }
        cx.push(
            &mut tr,
            vec![
                flt(scale),
                int(pairs),
                int(amplified),
                flt(fraction(amplified, pairs)),
                flt(median(&lr)),
                flt(median(&pr)),
            ],
        );
        by_scale.push((scale, pairs, amplified));
    }
    let range = |v: &[f64]| {
        (
            v.iter().copied().fold(f64::INFINITY, f64::min),
            v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        )
    };
    let at_one = ref_curve
        .iter()
        .zip(&temps)
        .min_by(|a, b| (a.1 - 1.0).abs().total_cmp(&(b.1 - 1.0).abs()))
        .map_or(f64::NAN, |(c, _)| c.1);
    let m = C14Measure {
        t_low: temps[0],
        t_high: temps[points - 1],
        max_low: ref_curve[0].1,
        max_low_dtypes: range(&low_t),
        entropy_low: ref_curve[0].0 / ln_n,
        entropy_high: ref_curve[points - 1].0 / ln_n,
        monotone: ref_curve.windows(2).all(|w| w[1].0 >= w[0].0),
        max_at_one: at_one,
        n,
        tie_max_low,
        tie_max_low_dtypes: range(&tie_low),
        pairs: by_scale.iter().map(|b| b.1).sum(),
        amplified: by_scale.iter().map(|b| b.2).sum(),
        by_scale,
    };
    let (verdict, evidence) = decide_c14(&m);
    Ok(Finding {
        verdict,
        tested: "temperature limits (T from 0.01 to 100, with and without tied maxima) and monotone entropy, exact and per dtype; 'amplifies differences' as the ratio of probabilities against the ratio of positive logits".into(),
        evidence,
        figure: cx.csv("c14"),
        tables: vec![t, tr],
    })
}

// ---------------------------------------------------------------------------------
// C15: sparsemax zeros; Gumbel-softmax samples.

/// C15, measured: one sparse map over dtypes and scales.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct SparseMap {
    pub id: String,
    /// Whether it has exact zeros at every scale ≥ 1 in every dtype.
    pub zeros_from_scale_one: bool,
    /// Its smallest mean support (of n) at scale 1 over the dtypes.
    pub support_at_one: f64,
    /// Its largest mean support at the smallest scale, and whether it had no zero
    /// there in some dtype (dense).
    pub support_small: f64,
    pub dense_small: bool,
}

/// C15, measured: the relaxed Gumbel-softmax at one temperature.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct RelaxedSample {
    pub temperature: f64,
    pub mean_max: f64,
    pub grad_finite: f64,
    pub grad_norm: f64,
}

/// C15, measured.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct C15Measure {
    pub n: usize,
    pub small_scale: f64,
    pub maps: Vec<SparseMap>,
    pub samples: usize,
    pub classes: usize,
    pub chi2: f64,
    pub p_value: f64,
    pub max_dev: f64,
    /// In increasing temperature; the first is the one judged "near one-hot".
    pub relaxed: Vec<RelaxedSample>,
}

/// C15: sparse maps must have exact zeros at every scale ≥ 1, the Gumbel-max
/// frequencies must pass the goodness-of-fit test, the relaxed sample at the
/// lowest τ must be near one-hot with finite nonzero gradients at every τ; a map
/// dense at the smallest scale, or relaxed samples far from one-hot at larger τ,
/// are caveats (attributed to their variant and τ).
pub(super) fn decide_c15(m: &C15Measure) -> (Verdict, String) {
    let sparse_ok = m.maps.iter().all(|v| v.zeros_from_scale_one);
    let gumbel_ok = m.p_value >= GOF_ALPHA
        && m.relaxed
            .first()
            .is_some_and(|r| r.mean_max >= NEAR_ONE_HOT)
        && m.relaxed
            .iter()
            .all(|r| r.grad_finite == 1.0 && r.grad_norm > 0.0);
    let dense: Vec<&SparseMap> = m.maps.iter().filter(|v| v.dense_small).collect();
    let far: Vec<&RelaxedSample> = m
        .relaxed
        .iter()
        .filter(|r| r.mean_max < NEAR_ONE_HOT)
        .collect();
    let verdict = if !(sparse_ok && gumbel_ok) {
        Verdict::DoesNotHold
    } else if !dense.is_empty() || !far.is_empty() {
        Verdict::HoldsWithCaveats
    } else {
        Verdict::Holds
    };
    let maps: Vec<String> = m
        .maps
        .iter()
        .map(|v| {
            format!(
                "{}: exact zeros at every scale ≥ 1 in every dtype: {}, support {} of {} at scale 1, {} at scale {} ({})",
                v.id,
                if v.zeros_from_scale_one { "yes" } else { "no" },
                sig(v.support_at_one, 3),
                m.n,
                sig(v.support_small, 3),
                sig(m.small_scale, 2),
                if v.dense_small { "dense" } else { "still sparse" },
            )
        })
        .collect();
    let relaxed: Vec<String> = m
        .relaxed
        .iter()
        .map(|r| {
            format!(
                "{} at τ = {} (finite gradients {}, mean norm {})",
                sig(r.mean_max, 3),
                sig(r.temperature, 2),
                pct(r.grad_finite),
                sig(r.grad_norm, 3)
            )
        })
        .collect();
    let evidence = format!(
        "{}; Gumbel-max argmax frequencies over {} samples against softmax: χ² = {}, {} dof, p = {} (rejected below {}: {}), max |freq − p| = {}; relaxed samples average a largest entry of {} (near one-hot at ≥ {})",
        maps.join("; "),
        m.samples,
        sig(m.chi2, 3),
        m.classes.saturating_sub(1),
        sig(m.p_value, 2),
        GOF_ALPHA,
        if m.p_value < GOF_ALPHA { "yes" } else { "no" },
        sig(m.max_dev, 2),
        relaxed.join(", "),
        NEAR_ONE_HOT,
    );
    (verdict, evidence)
}

pub(super) fn c15(cx: &Ctx) -> Result<Finding, HarnessError> {
    let sparse = cx.present(&["sparsemax", "sparsemax_linear", "entmax15"]);
    if sparse.is_empty() {
        return Ok(Finding::not_tested(
            "no sparsemax variant registered".into(),
        ));
    }
    let hard = need!(cx, "gumbel_softmax_hard");
    let soft = need!(cx, "gumbel_softmax");
    let n = 100;
    let rows = cx.q(4, 16);
    let scales = [0.01, 0.1, 1.0, 10.0, 100.0];
    let mut t = cx.table(
        "c15",
        &[
            ("variant", ColumnType::Text),
            ("dtype", ColumnType::Text),
            ("n", ColumnType::Int),
            ("rows", ColumnType::Int),
            ("scale", ColumnType::Float),
            ("mean_support", ColumnType::Float),
            ("exact_zero_fraction", ColumnType::Float),
        ],
    );
    let mut maps = Vec::new();
    for v in &sparse {
        let mut map = SparseMap {
            id: v.id().to_string(),
            zeros_from_scale_one: true,
            support_at_one: f64::INFINITY,
            support_small: 0.0,
            dense_small: false,
        };
        for dtype in DType::ALL {
            for &scale in &scales {
                let x = cx.normal(15, dtype, n, rows, scale)?;
                let y = cx.fwd(v.as_ref(), dtype, &x, n, 1.0)?;
                let zeros = y.iter().filter(|&&v| v == 0.0).count();
                let zf = fraction(zeros, y.len());
                let support = (y.len() - zeros) as f64 / rows as f64;
                if scale >= 1.0 {
                    map.zeros_from_scale_one &= zf > 0.0;
                }
                if scale == scales[0] {
                    map.dense_small |= zf == 0.0;
                    map.support_small = map.support_small.max(support);
                }
                if scale == 1.0 {
                    map.support_at_one = map.support_at_one.min(support);
                }
                cx.push(
                    &mut t,
                    vec![
                        txt(v.id()),
                        txt(dtype.name()),
                        int(n),
                        int(rows),
                        flt(scale),
                        flt(support),
                        flt(zf),
                    ],
                );
            }
        }
        maps.push(map);
    }
    // Gumbel-max: each row of the batch draws its own noise (the counter includes
    // the row), so R copies of one logit row are R independent samples.
    let classes = 6;
    let logits = cx.normal(151, DType::F64, classes, 1, 1.0)?;
    let samples = cx.q(4000, 20000);
    let rep: Vec<f64> = (0..samples).flat_map(|_| logits.iter().copied()).collect();
    let y = cx.fwd(hard.as_ref(), DType::F32, &rep, classes, 1.0)?;
    let mut counts = vec![0usize; classes];
    for r in y.chunks_exact(classes) {
        if let Some(k) = r.iter().position(|&v| v == 1.0) {
            counts[k] += 1;
        }
    }
    let p: Vec<f64> = reference::softmax(&logits, 1.0)
        .iter()
        .map(|v| v.to_f64())
        .collect();
    let total = samples as f64;
    let chi2: f64 = counts
        .iter()
        .zip(&p)
        .map(|(&o, &pk)| (o as f64 - total * pk).powi(2) / (total * pk))
        .sum();
    let dof = (classes - 1) as f64;
    let p_value = ChiSquared::new(dof).map_or(f64::NAN, |d| 1.0 - d.cdf(chi2));
    let mut tg = cx.table(
        "c15_gumbel",
        &[
            ("variant", ColumnType::Text),
            ("dtype", ColumnType::Text),
            ("samples", ColumnType::Int),
            ("class", ColumnType::Int),
            ("logit", ColumnType::Float),
            ("softmax_prob", ColumnType::Float),
            ("frequency", ColumnType::Float),
            ("abs_deviation", ColumnType::Float),
            ("chi_square", ColumnType::Float),
            ("p_value", ColumnType::Float),
        ],
    );
    let mut max_dev: f64 = 0.0;
    for k in 0..classes {
        let freq = counts[k] as f64 / total;
        max_dev = max_dev.max((freq - p[k]).abs());
        cx.push(
            &mut tg,
            vec![
                txt(hard.id()),
                txt("f32"),
                int(samples),
                int(k),
                flt(logits[k]),
                flt(p[k]),
                flt(freq),
                flt((freq - p[k]).abs()),
                flt(chi2),
                flt(p_value),
            ],
        );
    }
    // The relaxed sample: how close to one-hot, and whether its gradient exists.
    let relaxed_n = cx.q(500, 2000);
    let rep: Vec<f64> = (0..relaxed_n)
        .flat_map(|_| logits.iter().copied())
        .collect();
    let dy = cx.normal(152, DType::F32, classes, relaxed_n, 1.0)?;
    let mut tr = cx.table(
        "c15_relaxed",
        &[
            ("variant", ColumnType::Text),
            ("dtype", ColumnType::Text),
            ("temperature", ColumnType::Float),
            ("samples", ColumnType::Int),
            ("mean_max_prob", ColumnType::Float),
            ("grad_finite_fraction", ColumnType::Float),
            ("mean_grad_norm", ColumnType::Float),
        ],
    );
    let mut relaxed = Vec::new();
    for temp in [0.1, 0.5, 1.0] {
        let (y, dx) = cx.fwd_bwd(soft.as_ref(), DType::F32, &rep, &dy, classes, temp)?;
        let maxes: Vec<f64> = y
            .chunks_exact(classes)
            .map(|r| r.iter().copied().fold(f64::NEG_INFINITY, f64::max))
            .collect();
        let norms: Vec<f64> = dx
            .chunks_exact(classes)
            .map(|r| r.iter().map(|v| v * v).sum::<f64>().sqrt())
            .collect();
        let r = RelaxedSample {
            temperature: temp,
            mean_max: summarize(&maxes).mean,
            grad_finite: fraction(dx.iter().filter(|v| v.is_finite()).count(), dx.len()),
            grad_norm: summarize(&norms).mean,
        };
        cx.push(
            &mut tr,
            vec![
                txt(soft.id()),
                txt("f32"),
                flt(temp),
                int(relaxed_n),
                flt(r.mean_max),
                flt(r.grad_finite),
                flt(r.grad_norm),
            ],
        );
        relaxed.push(r);
    }
    let m = C15Measure {
        n,
        small_scale: scales[0],
        maps,
        samples,
        classes,
        chi2,
        p_value,
        max_dev,
        relaxed,
    };
    let (verdict, evidence) = decide_c15(&m);
    Ok(Finding {
        verdict,
        tested: "all: each sparse map's support against the scale per dtype; Gumbel-softmax argmax frequencies against the categorical (chi-square), closeness to one-hot and gradients against τ".into(),
        evidence,
        figure: cx.csv("c15"),
        tables: vec![t, tg, tr],
    })
}
