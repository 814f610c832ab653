//! Numerical-safety claims: C07 (overflow and the max shift), C08 (log of softmax
//! against log-softmax), C20 (the in-place interview softmax).

use super::*;

// ---------------------------------------------------------------------------------
// C07: overflow of the unshifted formula.

pub(super) fn c07(cx: &Ctx) -> Result<Finding, HarnessError> {
    let naive = need!(cx, "naive");
    let stable = need!(cx, "stable");
    let n = 100;
    let rows = cx.q(4, 16);
    let scales = [1.0, 10.0, 100.0, 1000.0];
    let mut t = cx.table(
        "c07",
        &[
            ("input", ColumnType::Text),
            ("dtype", ColumnType::Text),
            ("n", ColumnType::Int),
            ("rows", ColumnType::Int),
            ("scale", ColumnType::Float),
            ("naive_nonfinite_fraction", ColumnType::Float),
            ("stable_nonfinite_fraction", ColumnType::Float),
            ("stable_normwise_max", ColumnType::Float),
            ("stable_normwise_bound", ColumnType::Float),
            ("stable_max_ulp_error", ColumnType::Float),
            ("naive_vs_stable_max_ulp_distance", ColumnType::Float),
        ],
    );
    let acc = stable.info().accumulation;
    let mut example_overflow = Vec::new();
    let mut stable_finite = true;
    let mut within_bound = true;
    let mut example_ulps: f64 = 0.0;
    let mut onset: Vec<(DType, f64)> = Vec::new();
    let mut worst_ratio: f64 = 0.0;
    let example = [1000.0, 1001.0, 1002.0];
    for dtype in DType::ALL {
        let mut points: Vec<(&str, f64, usize, Vec<f64>)> =
            vec![("[1000, 1001, 1002]", 1.0, 3, example.to_vec())];
        for &scale in &scales {
            points.push(("normal", scale, n, cx.normal(7, dtype, n, rows, scale)?));
        }
        let mut first = f64::NAN;
        for (input, scale, len, x) in points {
            let xr: Vec<f64> = x.iter().map(|&v| dtype.format().round_f64(v)).collect();
            let yn = cx.fwd(naive.as_ref(), dtype, &xr, len, 1.0)?;
            let ys = cx.fwd(stable.as_ref(), dtype, &xr, len, 1.0)?;
            let exact = reference_rows(softmax_lab_core::Function::Softmax, &xr, len);
            let nf = |y: &[f64]| fraction(y.iter().filter(|v| !v.is_finite()).count(), y.len());
            let (nn, ns) = (nf(&yn), nf(&ys));
            let normwise = worst(
                ys.chunks_exact(len)
                    .zip(exact.chunks_exact(len))
                    .map(|(y, e)| normwise_error(y, e)),
            );
            let bound =
                bounds::normwise(Formula::ShiftedSoftmax, Rounding::of(acc, dtype), len, 1.0);
            let ulps = worst(ys.iter().zip(&exact).map(|(&y, &e)| ulp_error(dtype, y, e)));
            let dist = worst(yn.iter().zip(&ys).map(|(&a, &b)| ulp_distance(dtype, a, b)));
            stable_finite &= ns == 0.0;
            within_bound &= normwise <= bound;
            worst_ratio = worst_ratio.max(normwise / bound);
            if input == "normal" {
                if nn > 0.0 && first.is_nan() {
                    first = scale;
                }
            } else {
                if nn > 0.0 {
                    example_overflow.push(dtype);
                }
                example_ulps = example_ulps.max(ulps);
            }
            cx.push(
                &mut t,
                vec![
                    txt(input),
                    txt(dtype.name()),
                    int(len),
                    int(xr.len() / len),
                    flt(scale),
                    flt(nn),
                    flt(ns),
                    flt(normwise),
                    flt(bound),
                    flt(ulps),
                    flt(dist),
                ],
            );
        }
        onset.push((dtype, first));
    }
    let all_overflow = example_overflow.len() == DType::ALL.len();
    let verdict = if !stable_finite {
        Verdict::DoesNotHold
    } else if all_overflow && within_bound {
        Verdict::Holds
    } else {
        Verdict::HoldsWithCaveats
    };
    let exact = reference::softmax(&example, 1.0);
    let onsets: Vec<String> = onset
        .iter()
        .map(|(d, s)| {
            if s.is_nan() {
                format!("{d} never")
            } else {
                format!("{d} from scale {s}")
            }
        })
        .collect();
    let evidence = format!(
        "[1000, 1001, 1002]: naive gives non-finite outputs in {} (exp overflows past {}, {}, {}, {}); stable gives [{}, {}, {}] within {} ulps in every dtype; on N(0,1)·scale rows naive turns non-finite {}; stable stays finite with normwise error at most {} of its proven bound",
        dtype_list(&example_overflow),
        sig(DType::F16.exp_overflow_threshold(), 4),
        sig(DType::BF16.exp_overflow_threshold(), 4),
        sig(DType::F32.exp_overflow_threshold(), 4),
        sig(DType::F64.exp_overflow_threshold(), 4),
        sig(exact[0].to_f64(), 4),
        sig(exact[1].to_f64(), 4),
        sig(exact[2].to_f64(), 4),
        sig(example_ulps, 2),
        onsets.join(", "),
        pct(worst_ratio),
    );
    Ok(Finding {
        verdict,
        tested: "all: naive against max-shifted softmax on the example and on normal rows at scales 1 to 1000, per dtype; 'unchanged' read as within the shifted formula's rounding-error bound".into(),
        evidence,
        figure: cx.csv("c07"),
        tables: vec![t],
    })
}

// ---------------------------------------------------------------------------------
// C08: log of softmax against log-softmax.

pub(super) fn c08(cx: &Ctx) -> Result<Finding, HarnessError> {
    let ls = need!(cx, "log_softmax");
    let los = need!(cx, "log_of_softmax");
    let n = 100;
    let rows = cx.q(4, 16);
    let scales = [1.0, 10.0, 100.0, 1000.0];
    let mut t = cx.table(
        "c08",
        &[
            ("variant", ColumnType::Text),
            ("dtype", ColumnType::Text),
            ("n", ColumnType::Int),
            ("rows", ColumnType::Int),
            ("scale", ColumnType::Float),
            ("max_ulp_error", ColumnType::Float),
            ("median_ulp_error", ColumnType::Float),
            ("nonfinite_fraction", ColumnType::Float),
        ],
    );
    let mut worse_in = Vec::new();
    let mut at_one = Vec::new();
    let mut first_worse = Vec::new();
    for dtype in DType::ALL {
        let mut worse_at = f64::NAN;
        for &scale in &scales {
            let x = cx.normal(8, dtype, n, rows, scale)?;
            let exact = reference_rows(softmax_lab_core::Function::LogSoftmax, &x, n);
            let mut stats = Vec::new();
            for v in [&ls, &los] {
                let y = cx.fwd(v.as_ref(), dtype, &x, n, 1.0)?;
                let errs: Vec<f64> = y
                    .iter()
                    .zip(&exact)
                    .map(|(&y, &e)| ulp_error(dtype, y, e))
                    .collect();
                let nonfinite = y
                    .iter()
                    .zip(&exact)
                    .filter(|(y, e)| !y.is_finite() && e.to_f64().is_finite())
                    .count();
                let (mx, md, nf) = (
                    worst(errs.iter().copied()),
                    median(&errs),
                    fraction(nonfinite, y.len()),
                );
                cx.push(
                    &mut t,
                    vec![
                        txt(v.id()),
                        txt(dtype.name()),
                        int(n),
                        int(rows),
                        flt(scale),
                        flt(mx),
                        flt(md),
                        flt(nf),
                    ],
                );
                stats.push((mx, nf));
            }
            let ((a_mx, a_nf), (b_mx, b_nf)) = (stats[0], stats[1]);
            if scale == 1.0 {
                at_one.push(format!("{dtype} {} vs {}", sig(b_mx, 3), sig(a_mx, 3)));
            }
            let worse = b_nf > a_nf || b_mx >= LOSS_FACTOR * a_mx.max(1.0);
            if worse && worse_at.is_nan() {
                worse_at = scale;
            }
        }
        if !worse_at.is_nan() {
            worse_in.push(dtype);
            first_worse.push(format!("{dtype} from scale {worse_at}"));
        }
    }
    let verdict = if worse_in.len() == DType::ALL.len() {
        Verdict::Holds
    } else if !worse_in.is_empty() {
        Verdict::HoldsWithCaveats
    } else {
        Verdict::DoesNotHold
    };
    let evidence = format!(
        "log_of_softmax is at least {LOSS_FACTOR}× worse than log_softmax (max ulp error, or −inf where the exact value is finite) in {}: {}; at scale 1 the max errors are (log_of_softmax vs log_softmax, ulps) {}",
        dtype_list(&worse_in),
        if first_worse.is_empty() { "nowhere".into() } else { first_worse.join(", ") },
        at_one.join("; "),
    );
    Ok(Finding {
        verdict,
        tested: "all: componentwise ulp error and −inf outputs of log(softmax) against log-softmax from the logits, normal rows at scales 1 to 1000, per dtype".into(),
        evidence,
        figure: cx.csv("c08"),
        tables: vec![t],
    })
}

// ---------------------------------------------------------------------------------
// C20: the interview softmax.

/// The textbook "interview" softmax, as the claim describes it: subtract the max
/// in place (the caller's buffer), then exponentiate and normalise. Kept exactly
/// as written so that its side effect can be tested; never use it.
pub fn interview_softmax(x: &mut [f32]) -> Vec<f32> {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    for v in x.iter_mut() {
        *v -= max;
    }
    let sum: f32 = x.iter().map(|v| v.exp()).sum();
    x.iter().map(|v| v.exp() / sum).collect()
}

pub(super) fn c20(cx: &Ctx) -> Result<Finding, HarnessError> {
    let stable = need!(cx, "stable");
    let n = 100;
    let rows = cx.q(4, 16);
    let mut t = cx.table(
        "c20",
        &[
            ("input", ColumnType::Text),
            ("n", ColumnType::Int),
            ("rows", ColumnType::Int),
            ("scale", ColumnType::Float),
            ("changed_fraction", ColumnType::Float),
            ("unrecoverable_fraction", ColumnType::Float),
            ("output_max_ulp_error", ColumnType::Float),
            ("stable_variant_changed_fraction", ColumnType::Float),
        ],
    );
    let (mut changed_all, mut unrec_all, mut err_all): (f64, f64, f64) = (0.0, 0.0, 0.0);
    let mut control_all: f64 = 0.0;
    for (i, scale) in [1.0, 1000.0].into_iter().enumerate() {
        let x = cx.normal(20 + i as u64, DType::F32, n, rows, scale)?;
        let mut buf: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let before = buf.clone();
        let exact = reference_rows(softmax_lab_core::Function::Softmax, &x, n);
        let mut err: f64 = 0.0;
        let (mut changed, mut unrec) = (0, 0);
        for (r, row) in buf.chunks_exact_mut(n).enumerate() {
            let orig = &before[r * n..(r + 1) * n];
            let max = orig.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let y = interview_softmax(row);
            for k in 0..n {
                err = err.max(ulp_error(DType::F32, y[k] as f64, exact[r * n + k]));
                if row[k].to_bits() != orig[k].to_bits() {
                    changed += 1;
                }
                // Adding the max back does not always give the logit back.
                if (row[k] + max).to_bits() != orig[k].to_bits() {
                    unrec += 1;
                }
            }
        }
        // The registry's softmax takes its input read-only: same buffer, unchanged.
        let xb = softmax_lab_core::Buffer::F32(before.clone());
        let mut out = softmax_lab_core::Buffer::zeros(DType::F32, before.len());
        stable
            .forward(xb.rows(), n, &Options::default(), out.rows_mut())
            .map_err(|e| cx.verr(stable.id(), DType::F32, e))?;
        let control = match &xb {
            softmax_lab_core::Buffer::F32(v) => v
                .iter()
                .zip(&before)
                .filter(|(a, b)| a.to_bits() != b.to_bits())
                .count(),
            _ => 0,
        };
        let (cf, uf, ctl) = (
            fraction(changed, buf.len()),
            fraction(unrec, buf.len()),
            fraction(control, buf.len()),
        );
        changed_all = changed_all.max(cf);
        unrec_all = unrec_all.max(uf);
        err_all = err_all.max(err);
        control_all = control_all.max(ctl);
        cx.push(
            &mut t,
            vec![
                txt("normal"),
                int(n),
                int(rows),
                flt(scale),
                flt(cf),
                flt(uf),
                flt(err),
                flt(ctl),
            ],
        );
    }
    let verdict = if changed_all > 0.0 {
        Verdict::DoesNotHold
    } else {
        Verdict::Holds
    };
    let evidence = format!(
        "its output is accurate (within {} ulps in f32) but it overwrites {} of the caller's logits with x − max, and adding the max back fails to restore {} of them; the registry's stable softmax leaves {} of its input changed",
        sig(err_all, 3),
        pct(changed_all),
        pct(unrec_all),
        pct(control_all),
    );
    Ok(Finding {
        verdict,
        tested: "all: the caller's buffer before and after one call (f32, normal logits at scales 1 and 1000), and the output's accuracy".into(),
        evidence,
        figure: cx.csv("c20"),
        tables: vec![t],
    })
}
