//! Sparsity and temperature: C13 (exact zeros), C14 (temperature), C15 (sparsemax
//! and Gumbel-softmax).

use super::*;

// ---------------------------------------------------------------------------------
// C13: exact zeros of softmax against sparsemax.

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
    let mut zero_at_one = false;
    let mut first_zero = Vec::new();
    let mut sparse_at_one: f64 = 0.0;
    let mut any_zero = false;
    for dtype in DType::ALL {
        let mut first = f64::NAN;
        for &scale in &scales {
            let x = cx.normal(13, dtype, n, rows, scale)?;
            let y = cx.fwd(stable.as_ref(), dtype, &x, n, 1.0)?;
            let ys = cx.fwd(sparsemax.as_ref(), dtype, &x, n, 1.0)?;
            let exact = reference_rows(softmax_lab_core::Function::Softmax, &x, n);
            let zf = fraction(y.iter().filter(|&&v| v == 0.0).count(), y.len());
            let rf = fraction(
                exact
                    .iter()
                    .filter(|e| e.round_to(dtype.format()) == 0.0)
                    .count(),
                exact.len(),
            );
            let sf = fraction(ys.iter().filter(|&&v| v == 0.0).count(), ys.len());
            if zf > 0.0 {
                any_zero = true;
                if first.is_nan() {
                    first = scale;
                }
                zero_at_one |= scale == 1.0;
            }
            if scale == 1.0 {
                sparse_at_one = sparse_at_one.max(sf);
            }
            cx.push(
                &mut t,
                vec![
                    txt(dtype.name()),
                    int(n),
                    int(rows),
                    flt(scale),
                    flt(zf),
                    flt(rf),
                    flt(sf),
                ],
            );
        }
        first_zero.push(if first.is_nan() {
            format!("{dtype} never")
        } else {
            format!("{dtype} from scale {first}")
        });
    }
    let verdict = if zero_at_one {
        Verdict::DoesNotHold
    } else if any_zero {
        Verdict::HoldsWithCaveats
    } else {
        Verdict::Holds
    };
    let evidence = format!(
        "softmax of N(0,1)·scale rows of 100 has no exact zero at scale 1 in any dtype{} while sparsemax zeroes {} there; underflow gives softmax exact zeros {} (the exact values round to 0 there too)",
        if zero_at_one { " — false: it has some" } else { "" },
        pct(sparse_at_one),
        first_zero.join(", "),
    );
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

pub(super) fn c14(cx: &Ctx) -> Result<Finding, HarnessError> {
    let stable = need!(cx, "stable");
    let n = 10;
    let lin = Dist::Linspace {
        low: -2.0,
        high: 2.0,
    };
    let x = cx.draw(14, &lin, DType::F64, n, 1, 1.0)?;
    let points = cx.q(9, 21);
    let temps: Vec<f64> = (0..points)
        .map(|k| 10f64.powf(-2.0 + 4.0 * k as f64 / (points - 1) as f64))
        .collect();
    let mut t = cx.table(
        "c14",
        &[
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
    let mut ref_curve = Vec::new();
    let row = |t: &mut Table, v: &str, d: &str, temp: f64, p: &[f64]| -> (f64, f64) {
        let mut s = p.to_vec();
        s.sort_by(|a, b| b.total_cmp(a));
        let h = entropy(p);
        cx.push(
            t,
            vec![
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
    for &temp in &temps {
        let p: Vec<f64> = reference::softmax(&x, temp)
            .iter()
            .map(|v| v.to_f64())
            .collect();
        ref_curve.push(row(&mut t, "reference", "exact", temp, &p));
    }
    let mut low_t = Vec::new();
    for dtype in DType::ALL {
        for &temp in &temps {
            let p = cx.fwd(stable.as_ref(), dtype, &x, n, temp)?;
            let (_, mx) = row(&mut t, stable.id(), dtype.name(), temp, &p);
            if temp == temps[0] {
                low_t.push(mx);
            }
        }
    }
    let (h_lo, p_lo) = ref_curve[0];
    let (h_hi, _) = ref_curve[points - 1];
    let monotone = ref_curve.windows(2).all(|w| w[1].0 >= w[0].0);
    let one_hot = p_lo >= ONE_HOT_MIN && low_t.iter().all(|&m| m >= ONE_HOT_MIN);
    let uniform = h_hi / ln_n >= UNIFORM_ENTROPY_MIN;
    let (_, p_one) = ref_curve
        .iter()
        .zip(&temps)
        .min_by(|a, b| (a.1 - 1.0).abs().total_cmp(&(b.1 - 1.0).abs()))
        .map(|(c, _)| *c)
        .unwrap_or((f64::NAN, f64::NAN));
    let verdict = if one_hot && uniform && monotone {
        Verdict::Holds
    } else if monotone {
        Verdict::HoldsWithCaveats
    } else {
        Verdict::DoesNotHold
    };
    let evidence = format!(
        "10 evenly spaced logits in [−2, 2]: at T = {} the largest probability is {} (exact; {} to {} in the dtypes) and entropy {} of ln 10; at T = 1 the largest is {} (uniform: 0.1); at T = {} entropy is {} of ln 10; entropy rises monotonically with T: {}",
        sig(temps[0], 2),
        sig(p_lo, 6),
        sig(low_t.iter().copied().fold(f64::INFINITY, f64::min), 6),
        sig(low_t.iter().copied().fold(f64::NEG_INFINITY, f64::max), 6),
        pct(h_lo / ln_n),
        sig(p_one, 3),
        sig(temps[points - 1], 3),
        pct(h_hi / ln_n),
        if monotone { "yes" } else { "no" },
    );
    Ok(Finding {
        verdict,
        tested: "temperature limits (T from 0.01 to 100) and monotone entropy, exact and per dtype; 'amplifies differences' shown only through the largest probability".into(),
        evidence,
        figure: cx.csv("c14"),
        tables: vec![t],
    })
}

// ---------------------------------------------------------------------------------
// C15: sparsemax zeros; Gumbel-softmax samples.

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
    let (mut sparse_ok, mut dense_small) = (true, false);
    let (mut support_small, mut support_big) = (0.0f64, f64::INFINITY);
    for v in &sparse {
        for dtype in DType::ALL {
            for &scale in &scales {
                let x = cx.normal(15, dtype, n, rows, scale)?;
                let y = cx.fwd(v.as_ref(), dtype, &x, n, 1.0)?;
                let zf = fraction(y.iter().filter(|&&v| v == 0.0).count(), y.len());
                let support =
                    (y.len() - y.iter().filter(|&&v| v == 0.0).count()) as f64 / rows as f64;
                if scale >= 1.0 {
                    sparse_ok &= zf > 0.0;
                }
                if scale == scales[0] {
                    dense_small |= zf == 0.0;
                    support_small = support_small.max(support);
                }
                if scale == 1.0 && v.id() == sparse[0].id() {
                    support_big = support_big.min(support);
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
        let mm = summarize(&maxes).mean;
        let gf = fraction(dx.iter().filter(|v| v.is_finite()).count(), dx.len());
        let gn = summarize(&norms).mean;
        relaxed.push((temp, mm, gf, gn));
        cx.push(
            &mut tr,
            vec![
                txt(soft.id()),
                txt("f32"),
                flt(temp),
                int(relaxed_n),
                flt(mm),
                flt(gf),
                flt(gn),
            ],
        );
    }
    let gumbel_ok = p_value >= GOF_ALPHA
        && relaxed[0].1 >= NEAR_ONE_HOT
        && relaxed.iter().all(|r| r.2 == 1.0 && r.3 > 0.0);
    let one_hot_only_low = relaxed.iter().any(|r| r.1 < NEAR_ONE_HOT);
    let verdict = if !(sparse_ok && gumbel_ok) {
        Verdict::DoesNotHold
    } else if dense_small || one_hot_only_low {
        Verdict::HoldsWithCaveats
    } else {
        Verdict::Holds
    };
    let evidence = format!(
        "sparsemax-type maps have exact zeros at every scale ≥ 1 in every dtype: {} (support {} of 100 at scale 1 for {}), but are dense at scale 0.01 (support up to {}); Gumbel-max argmax frequencies over {samples} samples match softmax (χ² = {}, {} dof, p = {}, max |freq − p| = {}); relaxed samples average a largest entry of {} at τ = 0.1, {} at τ = 0.5, {} at τ = 1, with finite nonzero gradients",
        if sparse_ok { "yes" } else { "no" },
        sig(support_big, 3),
        sparse[0].id(),
        sig(support_small, 3),
        sig(chi2, 3),
        classes - 1,
        sig(p_value, 2),
        sig(max_dev, 2),
        sig(relaxed[0].1, 3),
        sig(relaxed[1].1, 3),
        sig(relaxed[2].1, 3),
    );
    Ok(Finding {
        verdict,
        tested: "all: sparse maps' support against the scale per dtype; Gumbel-softmax argmax frequencies against the categorical (chi-square), closeness to one-hot and gradients against τ".into(),
        evidence,
        figure: cx.csv("c15"),
        tables: vec![t, tg, tr],
    })
}
