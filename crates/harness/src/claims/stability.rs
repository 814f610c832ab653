//! Numerical-safety claims: C07 (overflow and the max shift), C08 (log of softmax
//! against log-softmax), C20 (the in-place interview softmax).

use super::*;

// ---------------------------------------------------------------------------------
// C07: overflow of the unshifted formula.

/// C07, one input in one dtype at one scale: naive against the max-shifted softmax,
/// both scored against the exact softmax of the input as rounded to the dtype.
#[derive(Clone, Debug)]
pub(super) struct C07Row {
    /// "[1000, 1001, 1002]" (the claim's example) or "normal".
    pub input: &'static str,
    pub dtype: DType,
    pub n: usize,
    pub scale: f64,
    /// The example as rounded to the dtype, and stable's output on it (empty for "normal").
    pub rounded: Vec<f64>,
    pub output: Vec<f64>,
    /// Fractions of non-finite outputs.
    pub naive_nonfinite: f64,
    pub stable_nonfinite: f64,
    /// Stable: the largest normwise error of a row and its proven bound.
    pub normwise: f64,
    pub bound: f64,
    /// Stable: the largest componentwise error, ulps, and the largest error over
    /// κ·u (κ the componentwise condition number, at least 1), and the largest κ.
    pub ulps: f64,
    pub err_over_kappa_u: f64,
    pub kappa: f64,
}

/// C07's rule: stable must stay finite everywhere and its componentwise error must
/// be what the problem's conditioning allows (error ≤ [`KAPPA_FACTOR_PER_N`]·n·κ·u)
/// — else it does not hold. It holds when the naive formula overflows on the
/// example in every dtype and stable's result is "unchanged" both normwise
/// (within its proven bound) and componentwise (within [`UNCHANGED_ULPS`] of
/// the exact value); errors beyond those, explained by the conditioning, are a
/// caveat, as is an example that does not overflow in some dtype.
pub(super) fn decide_c07(rows: &[C07Row]) -> (Verdict, String) {
    let example: Vec<&C07Row> = rows.iter().filter(|r| r.input != "normal").collect();
    let normal: Vec<&C07Row> = rows.iter().filter(|r| r.input == "normal").collect();
    let finite = rows.iter().all(|r| r.stable_nonfinite == 0.0);
    let conditioned = rows
        .iter()
        .all(|r| r.err_over_kappa_u <= KAPPA_FACTOR_PER_N * r.n as f64);
    let overflow: Vec<DType> = example
        .iter()
        .filter(|r| r.naive_nonfinite > 0.0)
        .map(|r| r.dtype)
        .collect();
    let normwise_ok = rows.iter().all(|r| r.normwise <= r.bound);
    let componentwise_ok = rows.iter().all(|r| r.ulps <= UNCHANGED_ULPS);
    let verdict = if rows.is_empty() || !finite || !conditioned {
        Verdict::DoesNotHold
    } else if overflow.len() == example.len() && normwise_ok && componentwise_ok {
        Verdict::Holds
    } else {
        Verdict::HoldsWithCaveats
    };
    let list = |v: &[f64]| {
        let items: Vec<String> = v.iter().map(|&x| sig(x, 4)).collect();
        format!("[{}]", items.join(", "))
    };
    let per_example: Vec<String> = example
        .iter()
        .map(|r| {
            format!(
                "{} {} on {} ({} ulps)",
                r.dtype,
                list(&r.output),
                list(&r.rounded),
                sig(r.ulps, 2)
            )
        })
        .collect();
    let mut onsets = Vec::new();
    for d in DType::ALL {
        let first = normal
            .iter()
            .filter(|r| r.dtype == d && r.naive_nonfinite > 0.0)
            .map(|r| r.scale)
            .fold(f64::NAN, f64::min);
        if normal.iter().any(|r| r.dtype == d) {
            onsets.push(if first.is_nan() {
                format!("{d} never")
            } else {
                format!("{d} from scale {first}")
            });
        }
    }
    let ratio = worst(rows.iter().map(|r| r.normwise / r.bound));
    let wu = rows.iter().max_by(|a, b| a.ulps.total_cmp(&b.ulps));
    let wk = rows
        .iter()
        .max_by(|a, b| a.err_over_kappa_u.total_cmp(&b.err_over_kappa_u));
    let evidence = format!(
        "[1000, 1001, 1002]: naive gives non-finite outputs in {} (exp overflows past {}, {}, {}, {}); stable gives, against the exact softmax of the input as rounded to each dtype, {}; on N(0,1)·scale rows naive turns non-finite {}; stable stays finite{}; normwise its error is at most {} of its proven bound; componentwise up to {} ulps{} (unchanged below {} ulps), at most {} κu (κ up to {}; the conditioning explains errors up to {}·n κu)",
        dtype_list(&overflow),
        sig(DType::F16.exp_overflow_threshold(), 4),
        sig(DType::BF16.exp_overflow_threshold(), 4),
        sig(DType::F32.exp_overflow_threshold(), 4),
        sig(DType::F64.exp_overflow_threshold(), 4),
        per_example.join(", "),
        onsets.join(", "),
        if finite { "" } else { " — no: it has non-finite outputs" },
        pct(ratio),
        wu.map_or("-".into(), |r| sig(r.ulps, 3)),
        wu.map_or(String::new(), |r| format!(" ({} {}, scale {})", r.input, r.dtype, r.scale)),
        sig(UNCHANGED_ULPS, 2),
        wk.map_or("-".into(), |r| sig(r.err_over_kappa_u, 3)),
        sig(worst(rows.iter().map(|r| r.kappa)), 3),
        sig(KAPPA_FACTOR_PER_N, 2),
    );
    (verdict, evidence)
}

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
            ("stable_max_err_over_kappa_u", ColumnType::Float),
            ("kappa_max", ColumnType::Float),
            ("naive_vs_stable_max_ulp_distance", ColumnType::Float),
        ],
    );
    let acc = stable.info().accumulation;
    let example = [1000.0, 1001.0, 1002.0];
    let mut recs = Vec::new();
    for dtype in DType::ALL {
        let mut points: Vec<(&'static str, f64, usize, Vec<f64>)> =
            vec![("[1000, 1001, 1002]", 1.0, 3, example.to_vec())];
        for &scale in &scales {
            points.push(("normal", scale, n, cx.normal(7, dtype, n, rows, scale)?));
        }
        for (input, scale, len, x) in points {
            let xr: Vec<f64> = x.iter().map(|&v| dtype.format().round_f64(v)).collect();
            let yn = cx.fwd(naive.as_ref(), dtype, &xr, len, 1.0)?;
            let ys = cx.fwd(stable.as_ref(), dtype, &xr, len, 1.0)?;
            let exact = reference_rows(softmax_lab_core::Function::Softmax, &xr, len);
            let kappa: Vec<f64> = xr
                .chunks_exact(len)
                .flat_map(|r| softmax_lab_core::conditioning::softmax(r, 1.0))
                .collect();
            let nf = |y: &[f64]| fraction(y.iter().filter(|v| !v.is_finite()).count(), y.len());
            let r = C07Row {
                input,
                dtype,
                n: len,
                scale,
                rounded: if input == "normal" {
                    Vec::new()
                } else {
                    xr.clone()
                },
                output: if input == "normal" {
                    Vec::new()
                } else {
                    ys.clone()
                },
                naive_nonfinite: nf(&yn),
                stable_nonfinite: nf(&ys),
                normwise: worst(
                    ys.chunks_exact(len)
                        .zip(exact.chunks_exact(len))
                        .map(|(y, e)| normwise_error(y, e)),
                ),
                bound: bounds::normwise(
                    Formula::ShiftedSoftmax,
                    Rounding::of(acc, dtype),
                    len,
                    1.0,
                ),
                ulps: worst(ys.iter().zip(&exact).map(|(&y, &e)| ulp_error(dtype, y, e))),
                err_over_kappa_u: softmax_lab_core::conditioning::err_over_kappa_u(
                    dtype, &ys, &exact, &kappa,
                ),
                kappa: worst(kappa.iter().copied()),
            };
            let dist = worst(yn.iter().zip(&ys).map(|(&a, &b)| ulp_distance(dtype, a, b)));
            cx.push(
                &mut t,
                vec![
                    txt(input),
                    txt(dtype.name()),
                    int(len),
                    int(xr.len() / len),
                    flt(scale),
                    flt(r.naive_nonfinite),
                    flt(r.stable_nonfinite),
                    flt(r.normwise),
                    flt(r.bound),
                    flt(r.ulps),
                    flt(r.err_over_kappa_u),
                    flt(r.kappa),
                    flt(dist),
                ],
            );
            recs.push(r);
        }
    }
    let (verdict, evidence) = decide_c07(&recs);
    Ok(Finding {
        verdict,
        tested: "all: naive against max-shifted softmax on the example and on normal rows at scales 1 to 1000, per dtype, each scored against the exact softmax of its input as rounded to the dtype; 'unchanged' read normwise (the shifted formula's proven bound) and componentwise (ulps, against the conditioning κu)".into(),
        evidence,
        figure: cx.csv("c07"),
        tables: vec![t],
    })
}

// ---------------------------------------------------------------------------------
// C08: log of softmax against log-softmax.

/// C08, one variant in one dtype on one input.
#[derive(Clone, Debug)]
pub(super) struct C08Row {
    /// `log_softmax` (the ln1p form), `log_softmax_log` (the plain log-sum-exp form)
    /// or `log_of_softmax`.
    pub variant: String,
    pub dtype: DType,
    /// "normal" (N(0,1)·scale rows) or "one logit ahead" (nearly one-hot rows).
    pub input: &'static str,
    pub scale: f64,
    /// The largest and the median componentwise error, ulps.
    pub max_ulps: f64,
    pub median_ulps: f64,
    /// The largest error on each row's dominant entry (its largest output), ulps.
    pub dominant_ulps: f64,
    /// Fraction of outputs not finite where the exact value is finite.
    pub nonfinite: f64,
}

/// Per variant in one dtype: (max ulps, dominant-entry ulps, non-finite), the
/// worst over the inputs.
fn c08_worst(rows: &[C08Row], variant: &str, d: DType) -> Option<(f64, f64, f64)> {
    let rs: Vec<&C08Row> = rows
        .iter()
        .filter(|r| r.variant == variant && r.dtype == d)
        .collect();
    (!rs.is_empty()).then(|| {
        (
            worst(rs.iter().map(|r| r.max_ulps)),
            worst(rs.iter().map(|r| r.dominant_ulps)),
            worst(rs.iter().map(|r| r.nonfinite)),
        )
    })
}

/// Whether `a` is worse than `b`: more non-finite outputs, or a max error at
/// least [`LOSS_FACTOR`] times `b`'s (one ulp or more).
fn loses(a: (f64, f64, f64), b: (f64, f64, f64)) -> bool {
    a.2 > b.2 || a.0 >= LOSS_FACTOR * b.0.max(1.0)
}

/// C08's rule: log_of_softmax must lose precision against the ln1p log-softmax
/// (more −inf, or ≥ [`LOSS_FACTOR`]× its worst error) — nowhere: does not hold;
/// in every dtype, with the plain log-sum-exp form keeping the dominant entry as
/// well as the ln1p form: holds; otherwise (some dtypes only, or the plain form
/// losing the dominant entry too, so that "log-sum-exp" alone is not the cure):
/// holds with caveats.
pub(super) fn decide_c08(rows: &[C08Row]) -> (Verdict, String) {
    let mut dtypes: Vec<DType> = rows.iter().map(|r| r.dtype).collect();
    dtypes.sort();
    dtypes.dedup();
    let mut worse_in = Vec::new();
    let mut plain_loses = Vec::new();
    let mut parts = Vec::new();
    for &d in &dtypes {
        let (Some(ln1p), Some(los)) = (
            c08_worst(rows, "log_softmax", d),
            c08_worst(rows, "log_of_softmax", d),
        ) else {
            continue;
        };
        let plain = c08_worst(rows, "log_softmax_log", d);
        if loses(los, ln1p) {
            worse_in.push(d);
        }
        if plain.is_some_and(|p| p.1 >= LOSS_FACTOR * ln1p.1.max(1.0)) {
            plain_loses.push(d);
        }
        let onset = rows
            .iter()
            .filter(|r| r.dtype == d && r.input == "normal" && r.variant == "log_of_softmax")
            .filter(|r| {
                rows.iter()
                    .find(|o| {
                        o.dtype == d
                            && o.input == "normal"
                            && o.scale == r.scale
                            && o.variant == "log_softmax"
                    })
                    .is_some_and(|o| {
                        loses(
                            (r.max_ulps, r.dominant_ulps, r.nonfinite),
                            (o.max_ulps, o.dominant_ulps, o.nonfinite),
                        )
                    })
            })
            .map(|r| r.scale)
            .fold(f64::NAN, f64::min);
        parts.push(format!(
            "{d}: log_of_softmax {} ulps ({} −inf; dominant entry {}), ln1p form {} (dominant {}), plain form {} (dominant {}){}",
            sig(los.0, 3),
            pct(los.2),
            sig(los.1, 3),
            sig(ln1p.0, 3),
            sig(ln1p.1, 3),
            plain.map_or("-".into(), |p| sig(p.0, 3)),
            plain.map_or("-".into(), |p| sig(p.1, 3)),
            if onset.is_nan() {
                String::new()
            } else {
                format!(", ≥{LOSS_FACTOR}× worse from scale {onset}")
            }
        ));
    }
    let verdict = if worse_in.is_empty() {
        Verdict::DoesNotHold
    } else if worse_in.len() == dtypes.len() && plain_loses.is_empty() {
        Verdict::Holds
    } else {
        Verdict::HoldsWithCaveats
    };
    let evidence = format!(
        "log_of_softmax is at least {LOSS_FACTOR}× worse than the ln1p log-softmax (max ulp error, or −inf where the exact value is finite) in {}; the plain log-sum-exp form loses the dominant entry (≥{LOSS_FACTOR}× the ln1p form's error there) in {}; worst errors, ulps — {}",
        dtype_list(&worse_in),
        dtype_list(&plain_loses),
        parts.join("; "),
    );
    (verdict, evidence)
}

pub(super) fn c08(cx: &Ctx) -> Result<Finding, HarnessError> {
    let ls = need!(cx, "log_softmax");
    let los = need!(cx, "log_of_softmax");
    let mut vs = vec![ls];
    vs.extend(cx.present(&["log_softmax_log"]));
    vs.push(los);
    let n = 100;
    let rows = cx.q(4, 16);
    let scales = [1.0, 10.0, 100.0, 1000.0];
    let gaps = [10.0, 20.0, 30.0, 50.0];
    let mut t = cx.table(
        "c08",
        &[
            ("variant", ColumnType::Text),
            ("dtype", ColumnType::Text),
            ("input", ColumnType::Text),
            ("n", ColumnType::Int),
            ("rows", ColumnType::Int),
            ("scale", ColumnType::Float),
            ("max_ulp_error", ColumnType::Float),
            ("median_ulp_error", ColumnType::Float),
            ("dominant_max_ulp_error", ColumnType::Float),
            ("nonfinite_fraction", ColumnType::Float),
        ],
    );
    let mut recs = Vec::new();
    for dtype in DType::ALL {
        let mut inputs: Vec<(&'static str, f64, Vec<f64>)> = Vec::new();
        for &scale in &scales {
            inputs.push(("normal", scale, cx.normal(8, dtype, n, rows, scale)?));
        }
        // Nearly one-hot rows: zeros with one logit ahead by each gap.
        let ahead: Vec<f64> = gaps
            .iter()
            .flat_map(|&g| (0..n).map(move |k| if k == 0 { g } else { 0.0 }))
            .collect();
        inputs.push(("one logit ahead", 1.0, ahead));
        for (input, scale, x) in inputs {
            let exact = reference_rows(softmax_lab_core::Function::LogSoftmax, &x, n);
            // The dominant entry of each row: its largest exact output.
            let dominant: Vec<usize> = exact
                .chunks_exact(n)
                .enumerate()
                .map(|(r, e)| {
                    let k = (0..n)
                        .max_by(|&a, &b| e[a].to_f64().total_cmp(&e[b].to_f64()))
                        .unwrap_or(0);
                    r * n + k
                })
                .collect();
            for v in &vs {
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
                let r = C08Row {
                    variant: v.id().into(),
                    dtype,
                    input,
                    scale,
                    max_ulps: worst(errs.iter().copied()),
                    median_ulps: median(&errs),
                    dominant_ulps: worst(dominant.iter().map(|&k| errs[k])),
                    nonfinite: fraction(nonfinite, y.len()),
                };
                cx.push(
                    &mut t,
                    vec![
                        txt(v.id()),
                        txt(dtype.name()),
                        txt(input),
                        int(n),
                        int(x.len() / n),
                        flt(scale),
                        flt(r.max_ulps),
                        flt(r.median_ulps),
                        flt(r.dominant_ulps),
                        flt(r.nonfinite),
                    ],
                );
                recs.push(r);
            }
        }
    }
    let (verdict, evidence) = decide_c08(&recs);
    Ok(Finding {
        verdict,
        tested: "all: componentwise ulp error (overall and on each row's dominant entry) and −inf outputs of log(softmax) against the ln1p log-softmax and the plain log-sum-exp form, normal rows at scales 1 to 1000 and nearly one-hot rows (one logit ahead by 10 to 50), per dtype".into(),
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

/// C20, the interview softmax (f32) on rows at one scale.
#[derive(Clone, Debug)]
pub(super) struct C20Row {
    pub n: usize,
    pub scale: f64,
    /// Its output against the exact softmax: the largest componentwise error
    /// (ulps), the largest normwise error of a row and the shifted formula's
    /// proven bound, and the fraction of non-finite outputs.
    pub ulps: f64,
    pub normwise: f64,
    pub bound: f64,
    pub nonfinite: f64,
    /// The registry's stable softmax on the same rows: its largest error (ulps).
    pub stable_ulps: f64,
    /// The aliasing hazard: the fraction of the caller's logits overwritten, and
    /// of those not restored by adding the max back.
    pub changed: f64,
    pub unrecoverable: f64,
    /// The fraction of its input the registry's stable softmax changed.
    pub stable_changed: f64,
}

/// C20's rule, on the question the articles ask ("numerically safe"): the
/// in-place softmax must give finite outputs within the shifted formula's proven
/// normwise bound (else it does not hold); it holds when the caller's buffer is
/// also left as it was, and holds with caveats when it is overwritten (the
/// aliasing hazard, a separate finding).
pub(super) fn decide_c20(rows: &[C20Row]) -> (Verdict, String) {
    let safe = !rows.is_empty()
        && rows
            .iter()
            .all(|r| r.nonfinite == 0.0 && r.normwise <= r.bound);
    let changed = worst(rows.iter().map(|r| r.changed));
    let verdict = if !safe {
        Verdict::DoesNotHold
    } else if changed == 0.0 {
        Verdict::Holds
    } else {
        Verdict::HoldsWithCaveats
    };
    let scales: Vec<String> = rows.iter().map(|r| r.scale.to_string()).collect();
    let evidence = format!(
        "numerically: at scales {} (f32, rows of {}) its output is within {} ulps of the exact softmax (the registry's stable softmax: {}), normwise at most {} of the shifted formula's proven bound, {} of outputs non-finite; aliasing, a separate finding: it overwrites {} of the caller's logits with x − max, and adding the max back fails to restore {} of them (the registry's stable softmax changes {} of its input)",
        scales.join(" and "),
        rows.first().map_or(0, |r| r.n),
        sig(worst(rows.iter().map(|r| r.ulps)), 3),
        sig(worst(rows.iter().map(|r| r.stable_ulps)), 3),
        pct(worst(rows.iter().map(|r| r.normwise / r.bound))),
        pct(worst(rows.iter().map(|r| r.nonfinite))),
        pct(changed),
        pct(worst(rows.iter().map(|r| r.unrecoverable))),
        pct(worst(rows.iter().map(|r| r.stable_changed))),
    );
    (verdict, evidence)
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
            ("output_normwise_max", ColumnType::Float),
            ("normwise_bound", ColumnType::Float),
            ("output_nonfinite_fraction", ColumnType::Float),
            ("stable_variant_max_ulp_error", ColumnType::Float),
            ("stable_variant_changed_fraction", ColumnType::Float),
        ],
    );
    let bound = bounds::normwise(
        Formula::ShiftedSoftmax,
        Rounding::of(stable.info().accumulation, DType::F32),
        n,
        1.0,
    );
    let mut recs = Vec::new();
    for (i, scale) in [1.0, 1000.0].into_iter().enumerate() {
        let x = cx.normal(20 + i as u64, DType::F32, n, rows, scale)?;
        let mut buf: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let before = buf.clone();
        let exact = reference_rows(softmax_lab_core::Function::Softmax, &x, n);
        let (mut err, mut normwise): (f64, f64) = (0.0, 0.0);
        let (mut changed, mut unrec, mut nonfinite) = (0, 0, 0);
        for (r, row) in buf.chunks_exact_mut(n).enumerate() {
            let orig = &before[r * n..(r + 1) * n];
            let max = orig.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let y = interview_softmax(row);
            let y64: Vec<f64> = y.iter().map(|&v| v as f64).collect();
            let e = &exact[r * n..(r + 1) * n];
            normwise = normwise.max(normwise_error(&y64, e));
            nonfinite += y64.iter().filter(|v| !v.is_finite()).count();
            for k in 0..n {
                err = err.max(ulp_error(DType::F32, y64[k], e[k]));
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
        let ys = cx.fwd(stable.as_ref(), DType::F32, &x, n, 1.0)?;
        let r = C20Row {
            n,
            scale,
            ulps: err,
            normwise,
            bound,
            nonfinite: fraction(nonfinite, buf.len()),
            stable_ulps: worst(
                ys.iter()
                    .zip(&exact)
                    .map(|(&y, &e)| ulp_error(DType::F32, y, e)),
            ),
            changed: fraction(changed, buf.len()),
            unrecoverable: fraction(unrec, buf.len()),
            stable_changed: fraction(control, buf.len()),
        };
        cx.push(
            &mut t,
            vec![
                txt("normal"),
                int(n),
                int(rows),
                flt(scale),
                flt(r.changed),
                flt(r.unrecoverable),
                flt(r.ulps),
                flt(r.normwise),
                flt(r.bound),
                flt(r.nonfinite),
                flt(r.stable_ulps),
                flt(r.stable_changed),
            ],
        );
        recs.push(r);
    }
    let (verdict, evidence) = decide_c20(&recs);
    Ok(Finding {
        verdict,
        tested: "all: 'safe' read as numerically safe — the in-place softmax's error against the exact softmax (f32, normal logits at scales 1 and 1000, where the unshifted formula overflows) — with the caller's buffer before and after one call as a separate finding".into(),
        evidence,
        figure: cx.csv("c20"),
        tables: vec![t],
    })
}
