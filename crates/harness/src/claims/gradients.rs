//! Gradient claims: C04 (sigmoid's derivative), C05 (the softmax Jacobian), C06
//! (cross-entropy through softmax is p − y).

use super::*;

// ---------------------------------------------------------------------------------
// C04: sigmoid's derivative.

/// C04, one sigmoid variant in one dtype: the computed σ' (its backward with dy = 1).
#[derive(Clone, Debug)]
pub(super) struct C04Row {
    pub dtype: DType,
    /// The largest computed σ' over the grid and where (the x nearest 0 among ties).
    pub peak: f64,
    pub peak_at: f64,
    /// The computed σ' at the fixed points, (x, σ'(x)).
    pub points: Vec<(f64, f64)>,
}

impl C04Row {
    /// The largest computed σ'(x)/0.25 at |x| = `at`.
    fn ratio_at(&self, at: f64) -> f64 {
        worst(
            self.points
                .iter()
                .filter(|(x, _)| x.abs() == at)
                .map(|(_, d)| d / SIGMOID_PEAK),
        )
    }
}

/// σ'(0), the peak the claim states.
const SIGMOID_PEAK: f64 = 0.25;

/// C04's rule, on the sigmoid variant's computed derivative in every dtype: the
/// peak must be 0.25 at x = 0 and σ'(±20) below [`VANISHED_RATIO`] of it (else it
/// does not hold); σ'(±5) below [`SATURATED_RATIO`] of the peak holds, above it
/// is a caveat ("about ±5" is loose).
pub(super) fn decide_c04(rows: &[C04Row]) -> (Verdict, String) {
    let peak_ok = rows
        .iter()
        .all(|r| r.peak == SIGMOID_PEAK && r.peak_at == 0.0);
    let (r5, r20) = (
        worst(rows.iter().map(|r| r.ratio_at(5.0))),
        worst(rows.iter().map(|r| r.ratio_at(20.0))),
    );
    let verdict = match (peak_ok && r20 < VANISHED_RATIO, r5 < SATURATED_RATIO) {
        (true, true) => Verdict::Holds,
        (true, false) => Verdict::HoldsWithCaveats,
        _ => Verdict::DoesNotHold,
    };
    let peaks: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{} {} at x = {}",
                r.dtype,
                sig(r.peak, 4),
                sig(r.peak_at, 3)
            )
        })
        .collect();
    let zero_at_40: Vec<DType> = rows
        .iter()
        .filter(|r| r.points.iter().any(|&(x, d)| x == 40.0 && d == 0.0))
        .map(|r| r.dtype)
        .collect();
    let wide = rows.last();
    let at = |x: f64| {
        wide.and_then(|r| r.points.iter().find(|p| p.0 == x))
            .map_or("-".to_string(), |p| sig(p.1, 3))
    };
    let evidence = format!(
        "the largest computed σ' over x in [−50, 50] is {}; σ'(±5) is at most {} of the peak (saturated below {}), σ'(±20) at most {} (vanished below {}); computed in {}: σ'(2.5) = {}, σ'(5) = {}, σ'(10) = {}, σ'(20) = {}, σ'(40) = {}; exactly 0 at x = 40 in {}",
        peaks.join(", "),
        pct(r5),
        pct(SATURATED_RATIO),
        sig(r20, 3),
        sig(VANISHED_RATIO, 2),
        wide.map_or("-".into(), |r| r.dtype.name().to_string()),
        at(2.5),
        at(5.0),
        at(10.0),
        at(20.0),
        at(40.0),
        dtype_list(&zero_at_40),
    );
    (verdict, evidence)
}

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
    let mut rows = Vec::new();
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
                        flt(d / SIGMOID_PEAK),
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
                rows.push(C04Row {
                    dtype,
                    peak: best,
                    peak_at: at,
                    points: points.iter().copied().zip(dp.iter().copied()).collect(),
                });
            }
        }
    }
    let (verdict, evidence) = decide_c04(&rows);
    Ok(Finding {
        verdict,
        tested: format!(
            "all: σ' from the variants' backward on a grid (step {step}) and at fixed points (the sigmoid variant decides); 'saturates' read as σ' < {} of its peak",
            pct(SATURATED_RATIO)
        ),
        evidence,
        figure: cx.csv("c04"),
        tables: vec![t],
    })
}

// ---------------------------------------------------------------------------------
// C05: the softmax Jacobian vanishes once one logit dominates.

/// C05, one softmax variant in one dtype on one input: its computed Jacobian
/// against its own at equal logits, and the sigmoid variant's computed σ' at the
/// same gap against its own at 0.
#[derive(Clone, Debug)]
pub(super) struct C05Row {
    pub variant: String,
    pub dtype: DType,
    /// "one logit ahead" (a row of zeros with one logit at `gap`) or "normal".
    pub input: &'static str,
    pub scale: f64,
    /// The lead of the largest logit over the next.
    pub gap: f64,
    /// ‖J‖_F computed, over ‖J‖_F computed at equal logits.
    pub ratio: f64,
    /// σ'(gap) computed, over σ'(0) computed.
    pub sigmoid_ratio: f64,
}

/// Where the rows of one softmax variant and dtype first fall below
/// [`VANISHED_RATIO`]: the smallest gap of the "one logit ahead" rows and the
/// smallest scale of the "normal" rows (NaN: never).
fn c05_onsets(rows: &[&C05Row]) -> (f64, f64) {
    let first = |input: &str, key: fn(&C05Row) -> f64| {
        rows.iter()
            .filter(|r| r.input == input && r.ratio < VANISHED_RATIO)
            .map(|r| key(r))
            .fold(f64::NAN, f64::min)
    };
    (
        first("one logit ahead", |r| r.gap),
        first("normal", |r| r.scale),
    )
}

/// C05's rule, on the implementations' computed Jacobians: a variant "vanishes"
/// in a dtype when some gap or scale brings ‖J‖_F below [`VANISHED_RATIO`] of its
/// value at equal logits. Every (variant, dtype) vanishing: does not hold; some:
/// holds with caveats; none: holds when sigmoid's computed σ' vanishes on the
/// same axis ("unlike sigmoid"), else holds with caveats.
pub(super) fn decide_c05(rows: &[C05Row]) -> (Verdict, String) {
    let mut groups: Vec<(&str, DType)> = Vec::new();
    for r in rows {
        if !groups.contains(&(r.variant.as_str(), r.dtype)) {
            groups.push((r.variant.as_str(), r.dtype));
        }
    }
    let onsets: Vec<(&str, DType, (f64, f64))> = groups
        .iter()
        .map(|&(v, d)| {
            let rs: Vec<&C05Row> = rows
                .iter()
                .filter(|r| r.variant == v && r.dtype == d)
                .collect();
            (v, d, c05_onsets(&rs))
        })
        .collect();
    let vanished = |o: &(f64, f64)| !o.0.is_nan() || !o.1.is_nan();
    let n_vanished = onsets.iter().filter(|(_, _, o)| vanished(o)).count();
    let sigmoid_first = rows
        .iter()
        .filter(|r| r.input == "one logit ahead" && r.sigmoid_ratio < VANISHED_RATIO)
        .map(|r| r.gap)
        .fold(f64::NAN, f64::min);
    let verdict = if groups.is_empty() {
        Verdict::NotTested
    } else if n_vanished == groups.len() {
        Verdict::DoesNotHold
    } else if n_vanished > 0 || sigmoid_first.is_nan() {
        Verdict::HoldsWithCaveats
    } else {
        Verdict::Holds
    };
    let when = |v: f64, what: &str| {
        if v.is_nan() {
            "never".to_string()
        } else {
            format!("from {what} {v}")
        }
    };
    let per: Vec<String> = onsets
        .iter()
        .map(|(v, d, (g, s))| {
            format!(
                "{v} {d} {} ({} on N(0,1)·scale rows)",
                when(*g, "gap"),
                when(*s, "scale")
            )
        })
        .collect();
    // Side by side at one gap, in the widest dtype measured.
    let side = rows
        .iter()
        .filter(|r| r.input == "one logit ahead" && r.gap == 20.0)
        .max_by_key(|r| r.dtype)
        .map(|r| {
            format!(
                "; at gap 20 ({} {}) ‖J‖_F is {} of its value at equal logits and σ'(20)/σ'(0) = {}",
                r.variant,
                r.dtype,
                sig(r.ratio, 3),
                sig(r.sigmoid_ratio, 3)
            )
        })
        .unwrap_or_default();
    let evidence = format!(
        "the computed softmax Jacobian falls below {} of its value at equal logits (vanished) in {n_vanished} of {} variant–dtype pairs: {}; the computed sigmoid σ' falls below {} of σ'(0) {}{side}",
        sig(VANISHED_RATIO, 2),
        groups.len(),
        per.join(", "),
        sig(VANISHED_RATIO, 2),
        when(sigmoid_first, "x ="),
    );
    (verdict, evidence)
}

pub(super) fn c05(cx: &Ctx) -> Result<Finding, HarnessError> {
    let sigmoid = need!(cx, "sigmoid");
    let vs: Vec<Arc<dyn Variant>> = cx
        .present(&["stable", "online", "stable_simd", "candle_softmax"])
        .into_iter()
        .filter(|v| v.info().has_backward)
        .collect();
    if vs.is_empty() {
        return Ok(Finding::not_tested(
            "no softmax variant with a backward is registered".into(),
        ));
    }
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
            ("computed_ratio_to_gap_zero", ColumnType::Float),
            ("sigmoid_derivative_at_gap", ColumnType::Float),
            ("sigmoid_ratio_to_zero", ColumnType::Float),
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
    let ref0 = frob_ref(&[0.0; 10][..n]);
    let mut rows = Vec::new();
    for dtype in DType::ALL {
        let f = dtype.format();
        let mut inputs: Vec<(&'static str, f64, Vec<f64>)> = gaps
            .iter()
            .map(|&g| {
                let mut x = vec![0.0; n];
                x[0] = g;
                ("one logit ahead", 1.0, x)
            })
            .collect();
        for (i, scale) in [0.1, 1.0, 10.0, 100.0].into_iter().enumerate() {
            inputs.push((
                "normal",
                scale,
                cx.normal(50 + i as u64, dtype, n, 1, scale)?,
            ));
        }
        let gaps_of: Vec<f64> = inputs
            .iter()
            .map(|(_, _, x)| {
                let mut sorted: Vec<f64> = x.iter().map(|&v| f.round_f64(v)).collect();
                sorted.sort_by(|a, b| b.total_cmp(a));
                sorted[0] - sorted[1]
            })
            .collect();
        // Sigmoid's computed derivative at 0 and at every gap, in this dtype.
        let at: Vec<f64> = std::iter::once(0.0)
            .chain(gaps_of.iter().copied())
            .collect();
        let ones = vec![1.0; at.len()];
        let (_, ds) = cx.fwd_bwd(sigmoid.as_ref(), dtype, &at, &ones, at.len(), 1.0)?;
        for v in &vs {
            let mut at_zero = f64::NAN;
            for (k, (input, scale, x)) in inputs.iter().enumerate() {
                let xr: Vec<f64> = x.iter().map(|&v| f.round_f64(v)).collect();
                let rep: Vec<f64> = (0..n).flat_map(|_| xr.iter().copied()).collect();
                let (_, jac) = cx.fwd_bwd(v.as_ref(), dtype, &rep, &eye, n, 1.0)?;
                let frob = jac.iter().map(|v| v * v).sum::<f64>().sqrt();
                if k == 0 {
                    at_zero = frob;
                }
                let r = C05Row {
                    variant: v.id().into(),
                    dtype,
                    input,
                    scale: *scale,
                    gap: gaps_of[k],
                    ratio: frob / at_zero,
                    sigmoid_ratio: ds[k + 1] / ds[0],
                };
                cx.push(
                    &mut t,
                    vec![
                        txt(v.id()),
                        txt(dtype.name()),
                        txt(*input),
                        flt(*scale),
                        flt(r.gap),
                        flt(frob),
                        flt(frob_ref(&xr)),
                        flt(frob_ref(&xr) / ref0),
                        flt(r.ratio),
                        flt(ds[k + 1]),
                        flt(r.sigmoid_ratio),
                        flt(fraction(
                            jac.iter().filter(|&&v| v == 0.0).count(),
                            jac.len(),
                        )),
                    ],
                );
                rows.push(r);
            }
        }
    }
    let (verdict, evidence) = decide_c05(&rows);
    Ok(Finding {
        verdict,
        tested: "Frobenius norm of the softmax Jacobian computed by each variant's backward (stable, online, stable_simd, candle_softmax), per dtype, against the lead of one logit and the logit scale, beside the sigmoid variant's computed σ' on the same axis".into(),
        evidence,
        figure: cx.csv("c05"),
        tables: vec![t],
    })
}

// ---------------------------------------------------------------------------------
// C06: the cross-entropy gradient through softmax is p − y.

/// C06, one dtype at one logit scale: the largest absolute errors against the
/// exact p − y.
#[derive(Clone, Debug)]
pub(super) struct C06Row {
    pub dtype: DType,
    pub scale: f64,
    /// log_softmax's backward with dy = −y (the fused gradient).
    pub fused: f64,
    /// candle's autograd through its log_softmax (NaN: not registered).
    pub autograd: f64,
    /// The two parts chained: softmax, then −y/p through softmax's VJP.
    pub chained: f64,
    /// Fraction of the chained gradient's entries that are not finite.
    pub chained_nonfinite: f64,
    /// Central differences of the log_softmax variant's own loss (f64) against p − y,
    /// and the tolerance they are held to on these rows.
    pub fd: f64,
    pub fd_tol: f64,
}

impl C06Row {
    /// The tolerance of a gradient in this dtype: [`GRAD_TOL_U`] unit roundoffs.
    fn tol(&self) -> f64 {
        GRAD_TOL_U * self.dtype.unit_roundoff()
    }

    /// Whether the chained parts fail here (beyond the tolerance, or not finite).
    fn chained_fails(&self) -> bool {
        self.chained_nonfinite > 0.0 || self.chained.is_nan() || self.chained > self.tol()
    }
}

/// C06's rule: the finite differences of the implemented loss must agree with
/// p − y (else it does not hold); the fused gradient within [`GRAD_TOL_U`] unit
/// roundoffs at every scale while the chained parts fail somewhere holds
/// ("cleaner" shown); a fused gradient beyond it, or chained parts as good
/// everywhere, is a caveat.
pub(super) fn decide_c06(rows: &[C06Row]) -> (Verdict, String) {
    let math_ok = rows.iter().all(|r| r.fd <= r.fd_tol);
    let fused_ok = rows.iter().all(|r| r.fused <= r.tol());
    let any_fail = rows.iter().any(C06Row::chained_fails);
    let verdict = if rows.is_empty() || !math_ok {
        Verdict::DoesNotHold
    } else if fused_ok && any_fail {
        Verdict::Holds
    } else {
        Verdict::HoldsWithCaveats
    };
    let mut dtypes: Vec<DType> = rows.iter().map(|r| r.dtype).collect();
    dtypes.dedup();
    let in_u = |v: f64, d: DType| sig(v / d.unit_roundoff(), 2);
    let per: Vec<String> = dtypes
        .iter()
        .map(|&d| {
            let rs: Vec<&C06Row> = rows.iter().filter(|r| r.dtype == d).collect();
            let ok: Vec<&&C06Row> = rs.iter().filter(|r| !r.chained_fails()).collect();
            let ok_part = if ok.is_empty() {
                "nowhere within tolerance".to_string()
            } else {
                let scales: Vec<String> = ok.iter().map(|r| r.scale.to_string()).collect();
                format!(
                    "within tolerance at scale {} (chained {} u at most, fused {} u)",
                    scales.join(", "),
                    in_u(worst(ok.iter().map(|r| r.chained)), d),
                    in_u(worst(ok.iter().map(|r| r.fused)), d),
                )
            };
            let fail_part = rs
                .iter()
                .find(|r| r.chained_fails())
                .map(|r| {
                    format!(
                        ", fails from scale {} (error {}, {} of entries non-finite; fused {} u)",
                        r.scale,
                        sig(r.chained, 2),
                        pct(r.chained_nonfinite),
                        in_u(r.fused, d)
                    )
                })
                .unwrap_or_else(|| ", never fails".into());
            format!("{d} {ok_part}{fail_part}")
        })
        .collect();
    let fd_worst = rows
        .iter()
        .max_by(|a, b| (a.fd / a.fd_tol).total_cmp(&(b.fd / b.fd_tol)));
    let fused_worst = worst(rows.iter().map(|r| r.fused / r.dtype.unit_roundoff()));
    let evidence = format!(
        "central differences of the log_softmax variant's loss (f64) agree with p − y to {} (max abs; tolerance {} there); the fused gradient (log_softmax backward with dy = −y) is within {} unit roundoffs u of p − y at worst (tolerance {}); the chained parts (softmax, then −y/p through its VJP): {}",
        fd_worst.map_or("-".into(), |r| sig(r.fd, 2)),
        fd_worst.map_or("-".into(), |r| sig(r.fd_tol, 2)),
        sig(fused_worst, 3),
        GRAD_TOL_U,
        per.join("; "),
    );
    (verdict, evidence)
}

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
            ("separate_fails", ColumnType::Bool),
            ("finite_difference_max_abs_error", ColumnType::Float),
            ("finite_difference_tolerance", ColumnType::Float),
        ],
    );
    let mut recs = Vec::new();
    for dtype in DType::ALL {
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
            // Central differences of the implemented loss L(x) = −log_softmax(x)[c],
            // the variant evaluated in f64 (the logits are exact there).
            let (mut fd_e, mut fd_tol): (f64, f64) = (0.0, 0.0);
            for (r, xr) in x.chunks_exact(n).enumerate() {
                let c = targets[r];
                let mut shifted = Vec::with_capacity(2 * n * n);
                for i in 0..n {
                    for h in [FD_STEP, -FD_STEP] {
                        let mut xs = xr.to_vec();
                        xs[i] += h;
                        shifted.extend(xs);
                    }
                }
                let z = cx.fwd(log_softmax.as_ref(), DType::F64, &shifted, n, 1.0)?;
                let fd: Vec<f64> = (0..n)
                    .map(|i| {
                        let (zp, zm) = (z[2 * i * n + c], z[(2 * i + 1) * n + c]);
                        let h = Xd::from_f64(xr[i] + FD_STEP).sub(Xd::from_f64(xr[i] - FD_STEP));
                        Xd::from_f64(zm).sub(Xd::from_f64(zp)).div(h).to_f64()
                    })
                    .collect();
                fd_e = fd_e.max(max_abs_error(&fd, &exact[r]));
                fd_tol = fd_tol.max(fd_tolerance(xr));
            }
            let r = C06Row {
                dtype,
                scale,
                fused: score(&fused),
                autograd: auto_e,
                chained: score(&sep),
                chained_nonfinite: fraction(
                    sep.iter().filter(|v| !v.is_finite()).count(),
                    sep.len(),
                ),
                fd: fd_e,
                fd_tol,
            };
            cx.push(
                &mut t,
                vec![
                    txt(dtype.name()),
                    int(n),
                    int(rows),
                    flt(scale),
                    flt(r.fused),
                    flt(r.autograd),
                    flt(r.chained),
                    flt(r.chained_nonfinite),
                    Value::Bool(r.chained_fails()),
                    flt(r.fd),
                    flt(r.fd_tol),
                ],
            );
            recs.push(r);
        }
    }
    let (verdict, evidence) = decide_c06(&recs);
    Ok(Finding {
        verdict,
        tested: "all: p − y against central differences of the log_softmax variant's own loss (f64), the fused backward, candle's autograd and the two parts chained, per dtype and per logit scale 1 to 1000".into(),
        evidence,
        figure: cx.csv("c06"),
        tables: vec![t],
    })
}

/// The tolerance of the central differences on a row: [`FD_TOL`] plus their
/// rounding floor — the loss, evaluated in f64 to a few ulps of the logits' size,
/// divided by the step 2h: 4·ε·max|x|/(2h).
fn fd_tolerance(x: &[f64]) -> f64 {
    let big = x.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    FD_TOL + 4.0 * f64::EPSILON * big / (2.0 * FD_STEP)
}
