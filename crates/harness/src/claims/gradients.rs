//! Gradient claims: C04 (sigmoid's derivative), C05 (the softmax Jacobian), C06
//! (cross-entropy through softmax is p − y).

use super::*;

// ---------------------------------------------------------------------------------
// C04: sigmoid's derivative.

pub(super) fn c04(cx: &Ctx) -> Result<Finding, HarnessError> {
    let sigmoid = need!(cx, "sigmoid");
    let mut vs = vec![sigmoid.clone()];
    vs.extend(cx.present(&["sigmoid_naive", "candle_sigmoid"]));
    let step = cx.q(1.0 / 16.0, 1.0 / 64.0);
    let steps = (100.0 / step) as usize;
    let grid: Vec<f64> = (0..=steps).map(|k| -50.0 + k as f64 * step).collect();
    let points = [
        -40.0, -20.0, -10.0, -5.0, -2.5, 0.0, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0,
    ];
    let mut t = cx.table(
        "c04",
        &[
            ("variant", ColumnType::Text),
            ("dtype", ColumnType::Text),
            ("point", ColumnType::Text),
            ("x", ColumnType::Float),
            ("derivative", ColumnType::Float),
            ("reference", ColumnType::Float),
            ("ratio_to_peak", ColumnType::Float),
            ("ulp_error", ColumnType::Float),
            ("exact_zero", ColumnType::Bool),
        ],
    );
    let peak = 0.25;
    let (mut peak_ok, mut sat_ok, mut van_ok) = (true, true, true);
    let mut sat_ratio: f64 = 0.0;
    let mut zero_at_40 = Vec::new();
    for v in &vs {
        for dtype in DType::ALL {
            let f = dtype.format();
            let ones = vec![1.0; grid.len()];
            let (_, dx) = cx.fwd_bwd(v.as_ref(), dtype, &grid, &ones, grid.len(), 1.0)?;
            let (mut best, mut at) = (f64::NEG_INFINITY, 0.0f64);
            // The largest value; among ties (0.25 is reached next to 0 in the
            // narrow dtypes by rounding), the x nearest 0.
            for (&g, &d) in grid.iter().zip(&dx) {
                let xr = f.round_f64(g);
                if d > best || (d == best && xr.abs() < at.abs()) {
                    (best, at) = (d, xr);
                }
            }
            let ones = vec![1.0; points.len()];
            let (_, dp) = cx.fwd_bwd(v.as_ref(), dtype, &points, &ones, points.len(), 1.0)?;
            let mut row = |point: &str, x: f64, d: f64| {
                let exact = reference::sigmoid_derivative(x);
                cx.push(
                    &mut t,
                    vec![
                        txt(v.id()),
                        txt(dtype.name()),
                        txt(point),
                        flt(x),
                        flt(d),
                        flt(exact.to_f64()),
                        flt(d / peak),
                        flt(ulp_error(dtype, d, exact)),
                        Value::Bool(d == 0.0),
                    ],
                );
            };
            row("max over grid", at, best);
            for (&x, &d) in points.iter().zip(&dp) {
                row("fixed", x, d);
            }
            if v.id() == sigmoid.id() {
                // At most 0.25 everywhere, and 0.25 at 0.
                peak_ok &= best == peak && at == 0.0;
                for (&x, &d) in points.iter().zip(&dp) {
                    if x.abs() == 5.0 {
                        sat_ratio = sat_ratio.max(d / peak);
                        sat_ok &= d / peak < SATURATED_RATIO;
                    }
                    if x.abs() == 20.0 {
                        van_ok &= d / peak < VANISHED_RATIO;
                    }
                    if x == 40.0 && d == 0.0 {
                        zero_at_40.push(dtype);
                    }
                }
            }
        }
    }
    let at = |x: f64| reference::sigmoid_derivative(x).to_f64();
    let verdict = match (peak_ok && van_ok, sat_ok) {
        (true, true) => Verdict::Holds,
        (true, false) => Verdict::HoldsWithCaveats,
        _ => Verdict::DoesNotHold,
    };
    let evidence = format!(
        "the largest σ' over x in [−50, 50] is {} at x = 0 in every dtype: {}; σ'(±2.5) = {}, σ'(±5) = {} ({} of the peak, at most {} computed), σ'(±10) = {}, σ'(±20) = {}, σ'(±40) = {} (exactly 0 in {} with the stable sigmoid)",
        sig(peak, 2),
        if peak_ok { "yes" } else { "no" },
        sig(at(2.5), 3),
        sig(at(5.0), 3),
        pct(at(5.0) / peak),
        pct(sat_ratio),
        sig(at(10.0), 3),
        sig(at(20.0), 3),
        sig(at(40.0), 3),
        dtype_list(&zero_at_40),
    );
    Ok(Finding {
        verdict,
        tested: format!(
            "all: σ' from the variants' backward on a grid (step {step}) and at fixed points; 'saturates' read as σ' < {} of its peak",
            pct(SATURATED_RATIO)
        ),
        evidence,
        figure: cx.csv("c04"),
        tables: vec![t],
    })
}

// ---------------------------------------------------------------------------------
// C05: the softmax Jacobian vanishes once one logit dominates.

pub(super) fn c05(cx: &Ctx) -> Result<Finding, HarnessError> {
    let stable = need!(cx, "stable");
    let n = 10;
    let gaps = [0.0, 1.0, 2.0, 5.0, 10.0, 15.0, 20.0, 30.0, 50.0, 100.0];
    let mut t = cx.table(
        "c05",
        &[
            ("variant", ColumnType::Text),
            ("dtype", ColumnType::Text),
            ("input", ColumnType::Text),
            ("scale", ColumnType::Float),
            ("gap", ColumnType::Float),
            ("jacobian_frobenius", ColumnType::Float),
            ("reference_frobenius", ColumnType::Float),
            ("ratio_to_gap_zero", ColumnType::Float),
            ("sigmoid_derivative_at_gap", ColumnType::Float),
            ("exact_zero_fraction", ColumnType::Float),
        ],
    );
    // The identity, row by row: backward with dy = e_j gives column j of J (J = Jᵀ).
    let eye: Vec<f64> = (0..n * n)
        .map(|k| if k / n == k % n { 1.0 } else { 0.0 })
        .collect();
    let frob_ref = |x: &[f64]| -> f64 {
        (0..n)
            .map(|j| {
                reference::softmax_vjp(x, 1.0, &eye[j * n..(j + 1) * n])
                    .iter()
                    .map(|v| v.to_f64().powi(2))
                    .sum::<f64>()
            })
            .sum::<f64>()
            .sqrt()
    };
    let mut base = vec![0.0; n];
    let ref0 = frob_ref(&base);
    let mut at_largest = f64::NAN;
    let mut zero_dtypes = Vec::new();
    for dtype in DType::ALL {
        let mut inputs: Vec<(&str, f64, Vec<f64>)> = gaps
            .iter()
            .map(|&g| {
                base[0] = g;
                ("one logit ahead", 1.0, base.clone())
            })
            .collect();
        for (i, scale) in [0.1, 1.0, 10.0, 100.0].into_iter().enumerate() {
            inputs.push((
                "normal",
                scale,
                cx.normal(50 + i as u64, dtype, n, 1, scale)?,
            ));
        }
        let mut any_zero = false;
        for (input, scale, x) in inputs {
            let xr: Vec<f64> = x.iter().map(|&v| dtype.format().round_f64(v)).collect();
            let rep: Vec<f64> = (0..n).flat_map(|_| xr.iter().copied()).collect();
            let (_, jac) = cx.fwd_bwd(stable.as_ref(), dtype, &rep, &eye, n, 1.0)?;
            let frob = jac.iter().map(|v| v * v).sum::<f64>().sqrt();
            let zeros = fraction(jac.iter().filter(|&&v| v == 0.0).count(), jac.len());
            let rf = frob_ref(&xr);
            let mut sorted = xr.clone();
            sorted.sort_by(|a, b| b.total_cmp(a));
            let gap = sorted[0] - sorted[1];
            if input != "normal" && gap == 100.0 {
                at_largest = rf / ref0;
                any_zero |= frob == 0.0;
            }
            cx.push(
                &mut t,
                vec![
                    txt(stable.id()),
                    txt(dtype.name()),
                    txt(input),
                    flt(scale),
                    flt(gap),
                    flt(frob),
                    flt(rf),
                    flt(rf / ref0),
                    flt(reference::sigmoid_derivative(gap).to_f64()),
                    flt(zeros),
                ],
            );
        }
        if any_zero {
            zero_dtypes.push(dtype);
        }
    }
    let at_gap = |g: f64| {
        let mut x = vec![0.0; n];
        x[0] = g;
        frob_ref(&x)
    };
    let (r10, r20) = (at_gap(10.0) / ref0, at_gap(20.0) / ref0);
    let verdict = if at_largest < VANISHED_RATIO {
        Verdict::DoesNotHold
    } else {
        Verdict::Holds
    };
    let evidence = format!(
        "‖J‖_F (Frobenius) of softmax over 10 logits is {} at equal logits and falls to {} of that when one logit leads by 10, {} at 20 and {} at 100 (σ'(gap) falls alike: {} at 20); the computed Jacobian is exactly 0 at gap 100 in {}",
        sig(ref0, 3),
        sig(r10, 3),
        sig(r20, 3),
        sig(at_largest, 3),
        sig(reference::sigmoid_derivative(20.0).to_f64(), 3),
        dtype_list(&zero_dtypes),
    );
    Ok(Finding {
        verdict,
        tested: "Frobenius norm of the softmax Jacobian (from the stable variant's backward and the reference) against the lead of one logit and the logit scale".into(),
        evidence,
        figure: cx.csv("c05"),
        tables: vec![t],
    })
}

// ---------------------------------------------------------------------------------
// C06: the cross-entropy gradient through softmax is p − y.

pub(super) fn c06(cx: &Ctx) -> Result<Finding, HarnessError> {
    let log_softmax = need!(cx, "log_softmax");
    let stable = need!(cx, "stable");
    let autograd = cx.registry.get("candle_log_softmax").ok();
    let n = 10;
    let rows = cx.q(5, 20);
    let scales = [1.0, 10.0, 100.0, 1000.0];
    let mut t = cx.table(
        "c06",
        &[
            ("dtype", ColumnType::Text),
            ("n", ColumnType::Int),
            ("rows", ColumnType::Int),
            ("scale", ColumnType::Float),
            ("fused_max_abs_error", ColumnType::Float),
            ("autograd_max_abs_error", ColumnType::Float),
            ("separate_max_abs_error", ColumnType::Float),
            ("separate_nonfinite_fraction", ColumnType::Float),
            ("finite_difference_max_abs_error", ColumnType::Float),
        ],
    );
    let (mut math_ok, mut fused_ok) = (true, true);
    let mut not_cleaner = Vec::new();
    let (mut fd_max, mut fused_worst, mut sep_worst): (f64, f64, f64) = (0.0, 0.0, 0.0);
    for dtype in DType::ALL {
        let (mut fused_dt, mut sep_dt): (f64, f64) = (0.0, 0.0);
        for (si, &scale) in scales.iter().enumerate() {
            let x = cx.normal(6, dtype, n, rows, scale)?;
            let mut rng = stream(cx.s.seed, &[0xc1a1, 6, 1, si as u64]);
            let targets: Vec<usize> = (0..rows).map(|_| rng.gen_range(0..n)).collect();
            let y: Vec<f64> = (0..rows * n)
                .map(|k| if targets[k / n] == k % n { 1.0 } else { 0.0 })
                .collect();
            let neg_y: Vec<f64> = y.iter().map(|v| -v).collect();
            let exact: Vec<Vec<Xd>> = x
                .chunks_exact(n)
                .zip(neg_y.chunks_exact(n))
                .map(|(xr, g)| reference::log_softmax_vjp(xr, 1.0, g))
                .collect();
            // Absolute error: the entries of p − y lie in [−1, 1], and where the
            // target dominates the whole gradient is tiny, so a relative measure
            // would score rounding noise against a value of 1e-400.
            let score = |dx: &[f64]| -> f64 {
                worst(
                    dx.chunks_exact(n)
                        .zip(&exact)
                        .map(|(d, e)| max_abs_error(d, e)),
                )
            };
            let (_, fused) = cx.fwd_bwd(log_softmax.as_ref(), dtype, &x, &neg_y, n, 1.0)?;
            let fused_e = score(&fused);
            let auto_e = match &autograd {
                Some(v) => score(&cx.fwd_bwd(v.as_ref(), dtype, &x, &neg_y, n, 1.0)?.1),
                None => f64::NAN,
            };
            // Separate parts: p from softmax, dL/dp = −y/p, then softmax's VJP.
            let p = cx.fwd(stable.as_ref(), dtype, &x, n, 1.0)?;
            let dp: Vec<f64> = y
                .iter()
                .zip(&p)
                .map(|(&yk, &pk)| if yk == 0.0 { 0.0 } else { -yk / pk })
                .collect();
            let (_, sep) = cx.fwd_bwd(stable.as_ref(), dtype, &x, &dp, n, 1.0)?;
            let sep_e = score(&sep);
            let sep_nf = fraction(sep.iter().filter(|v| !v.is_finite()).count(), sep.len());
            // Central differences of L(x) = −log softmax(x)[c], in the reference.
            let mut fd_e: f64 = 0.0;
            for (r, xr) in x.chunks_exact(n).enumerate() {
                let c = targets[r];
                let loss = |xs: &[f64]| reference::log_softmax(xs, 1.0)[c].neg();
                let fd: Vec<f64> = (0..n)
                    .map(|i| {
                        let (mut xp, mut xm) = (xr.to_vec(), xr.to_vec());
                        xp[i] += FD_STEP;
                        xm[i] -= FD_STEP;
                        let h = Xd::from_f64(xp[i]).sub(Xd::from_f64(xm[i]));
                        loss(&xp).sub(loss(&xm)).div(h).to_f64()
                    })
                    .collect();
                fd_e = fd_e.max(max_abs_error(&fd, &exact[r]));
            }
            math_ok &= fd_e <= FD_TOL;
            fused_ok &= fused_e <= GRAD_TOL_U * dtype.unit_roundoff();
            fd_max = fd_max.max(fd_e);
            fused_dt = fused_dt.max(fused_e);
            sep_dt = sep_dt.max(sep_e);
            cx.push(
                &mut t,
                vec![
                    txt(dtype.name()),
                    int(n),
                    int(rows),
                    flt(scale),
                    flt(fused_e),
                    flt(auto_e),
                    flt(sep_e),
                    flt(sep_nf),
                    flt(fd_e),
                ],
            );
        }
        if sep_dt < fused_dt {
            not_cleaner.push(dtype);
        }
        fused_worst = fused_worst.max(fused_dt / dtype.unit_roundoff());
        sep_worst = sep_worst.max(sep_dt);
    }
    let verdict = if !math_ok {
        Verdict::DoesNotHold
    } else if fused_ok && not_cleaner.is_empty() {
        Verdict::Holds
    } else {
        Verdict::HoldsWithCaveats
    };
    let evidence = format!(
        "finite differences agree with p − y to {} (max abs); the fused gradient (log_softmax backward with dy = −y) is within {} unit roundoffs of p − y at worst (tolerance {}); the separate parts (softmax, then −y/p through its VJP) reach an error of {} (non-finite once p_target underflows); separate parts as good as fused in: {}",
        sig(fd_max, 2),
        sig(fused_worst, 3),
        GRAD_TOL_U,
        sig(sep_worst, 3),
        dtype_list(&not_cleaner),
    );
    Ok(Finding {
        verdict,
        tested: "all: p − y against finite differences (math), the fused backward, candle's autograd and the two parts chained, per dtype at logit scales 1 to 1000".into(),
        evidence,
        figure: cx.csv("c06"),
        tables: vec![t],
    })
}
