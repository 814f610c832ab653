//! Claims about what softmax and sigmoid compute: C01 (a distribution), C02
//! (independent sigmoids), C03 (two-class softmax against sigmoid), C09 and C10
//! (the folklore examples).

use super::*;

// ---------------------------------------------------------------------------------
// C01: the distribution claim.

pub(super) fn c01(cx: &Ctx) -> Result<Finding, HarnessError> {
    let ids = [
        "stable",
        "stable_wide",
        "online",
        "sharded_softmax",
        "candle_softmax_last_dim",
        "candle_softmax",
    ];
    let vs = cx.present(&ids);
    if vs.is_empty() {
        return Ok(Finding::not_tested("no softmax variant registered".into()));
    }
    let (n, rows) = cx.q((64, 8), (256, 32));
    let scales = [1.0, 10.0, 100.0];
    let mut t = cx.table(
        "c01",
        &[
            ("variant", ColumnType::Text),
            ("dtype", ColumnType::Text),
            ("n", ColumnType::Int),
            ("rows", ColumnType::Int),
            ("scale", ColumnType::Float),
            ("max_sum_deviation", ColumnType::Float),
            ("max_sum_deviation_ulps_of_one", ColumnType::Float),
            ("rows_sum_not_one_fraction", ColumnType::Float),
            ("exact_zero_fraction", ColumnType::Float),
            ("exact_one_fraction", ColumnType::Float),
            ("min_output", ColumnType::Float),
            ("max_output", ColumnType::Float),
            ("out_of_range_count", ColumnType::Int),
        ],
    );
    struct Rec {
        variant: &'static str,
        framework: bool,
        dtype: DType,
        scale: f64,
        dev: f64,
        dev_ulps: f64,
        not_one: f64,
        zeros: f64,
        ones: f64,
        out: usize,
    }
    let mut recs = Vec::new();
    for dtype in DType::ALL {
        for &scale in &scales {
            let x = cx.normal(1, dtype, n, rows, scale)?;
            for v in &vs {
                let y = cx.fwd(v.as_ref(), dtype, &x, n, 1.0)?;
                let devs: Vec<f64> = y.chunks_exact(n).map(sum_deviation).collect();
                let dev = worst(devs.iter().copied());
                let not_one = devs.iter().filter(|&&d| d != 0.0).count();
                let zeros = y.iter().filter(|&&v| v == 0.0).count();
                let ones = y.iter().filter(|&&v| v == 1.0).count();
                let out = y.iter().filter(|&&v| !(0.0..=1.0).contains(&v)).count();
                let finite = y.iter().copied().filter(|v| v.is_finite());
                let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                    (a.min(v), b.max(v))
                });
                let r = Rec {
                    variant: v.id(),
                    framework: v.info().accumulation == Accumulation::Framework,
                    dtype,
                    scale,
                    dev,
                    dev_ulps: dev / ulp_of_one(dtype),
                    not_one: fraction(not_one, rows),
                    zeros: fraction(zeros, y.len()),
                    ones: fraction(ones, y.len()),
                    out,
                };
                cx.push(
                    &mut t,
                    vec![
                        txt(r.variant),
                        txt(dtype.name()),
                        int(n),
                        int(rows),
                        flt(scale),
                        flt(r.dev),
                        flt(r.dev_ulps),
                        flt(r.not_one),
                        flt(r.zeros),
                        flt(r.ones),
                        flt(lo),
                        flt(hi),
                        int(out),
                    ],
                );
                recs.push(r);
            }
        }
    }
    // The verdict is the function's, so it rests on the variants that implement it
    // as the literature does; a framework's narrow-type sums are reported beside it.
    let (own, framework): (Vec<&Rec>, Vec<&Rec>) = recs.iter().partition(|r| !r.framework);
    let out: usize = own.iter().map(|r| r.out).sum();
    let max_dev = worst(own.iter().map(|r| r.dev));
    let exact = own
        .iter()
        .all(|r| r.dev == 0.0 && r.zeros == 0.0 && r.ones == 0.0);
    let verdict = if out > 0 || max_dev > MAX_SUM_DEVIATION {
        Verdict::DoesNotHold
    } else if exact {
        Verdict::Holds
    } else {
        Verdict::HoldsWithCaveats
    };
    let w = own
        .iter()
        .max_by(|a, b| a.dev_ulps.total_cmp(&b.dev_ulps))
        .ok_or_else(|| unreachable_empty("c01"))?;
    let fw = framework
        .iter()
        .max_by(|a, b| a.dev.total_cmp(&b.dev))
        .map(|r| {
            format!(
                "; {} (the framework's narrow-type sums) is off by up to {} ({}, scale {})",
                r.variant,
                sig(r.dev, 3),
                r.dtype,
                r.scale
            )
        })
        .unwrap_or_default();
    let stable32 = recs
        .iter()
        .find(|r| r.variant == vs[0].id() && r.dtype == DType::F32 && r.scale == 1.0);
    let zero_dtypes = |scale: f64| -> Vec<DType> {
        DType::ALL
            .into_iter()
            .filter(|&d| {
                recs.iter()
                    .any(|r| r.dtype == d && r.scale == scale && r.zeros > 0.0)
            })
            .collect()
    };
    let zmax = own
        .iter()
        .max_by(|a, b| a.zeros.total_cmp(&b.zeros))
        .ok_or_else(|| unreachable_empty("c01"))?;
    let evidence = format!(
        "max |Σ−1| = {} ulps of 1 ({} {} at scale {}, {} absolute){}{fw}; exact zeros from underflow at scale 10 in {} and at scale 100 in {} (up to {} of outputs, {} {}); outputs outside [0,1] or non-finite: {out}",
        sig(w.dev_ulps, 3),
        w.variant,
        w.dtype,
        w.scale,
        sig(w.dev, 2),
        stable32
            .map(|r| format!("; {} f32 rows with Σ ≠ 1 exactly: {}", r.variant, pct(r.not_one)))
            .unwrap_or_default(),
        dtype_list(&zero_dtypes(10.0)),
        dtype_list(&zero_dtypes(100.0)),
        pct(zmax.zeros),
        zmax.variant,
        zmax.dtype,
    );
    Ok(Finding {
        verdict,
        tested: "all: range, exact zeros and sum to one per variant and dtype, normal logits at scales 1, 10, 100 (verdict from our implementations; candle reported)".into(),
        evidence,
        figure: cx.csv("c01"),
        tables: vec![t],
    })
}

// ---------------------------------------------------------------------------------
// C02: sigmoids are independent and do not sum to one.

pub(super) fn c02(cx: &Ctx) -> Result<Finding, HarnessError> {
    let vs = cx.present(&["sigmoid", "candle_sigmoid"]);
    if vs.is_empty() {
        return Ok(Finding::not_tested("no sigmoid variant registered".into()));
    }
    let classes = 10;
    let rows = cx.q(200, 2000);
    let mut t = cx.table(
        "c02",
        &[
            ("variant", ColumnType::Text),
            ("dtype", ColumnType::Text),
            ("classes", ColumnType::Int),
            ("rows", ColumnType::Int),
            ("scale", ColumnType::Float),
            ("sum_mean", ColumnType::Float),
            ("sum_ci95_low", ColumnType::Float),
            ("sum_ci95_high", ColumnType::Float),
            ("sum_min", ColumnType::Float),
            ("sum_max", ColumnType::Float),
            ("sum_not_one_fraction", ColumnType::Float),
            ("others_changed_fraction", ColumnType::Float),
        ],
    );
    let mut min_not_one = f64::INFINITY;
    let mut max_changed: f64 = 0.0;
    let mut f32_summary = None;
    for dtype in DType::ALL {
        for scale in [1.0, 4.0] {
            let x = cx.normal(2, dtype, classes, rows, scale)?;
            // One logit per row moved by +1: outputs at the other positions must not move.
            let mut x2 = x.clone();
            for r in 0..rows {
                x2[r * classes + r % classes] += 1.0;
            }
            for v in &vs {
                let y = cx.fwd(v.as_ref(), dtype, &x, classes, 1.0)?;
                let y2 = cx.fwd(v.as_ref(), dtype, &x2, classes, 1.0)?;
                let sums: Vec<f64> = y
                    .chunks_exact(classes)
                    .map(|r| {
                        r.iter()
                            .fold(Xd::ZERO, |a, &v| a.add(Xd::from_f64(v)))
                            .to_f64()
                    })
                    .collect();
                let not_one = y
                    .chunks_exact(classes)
                    .filter(|r| sum_deviation(r) != 0.0)
                    .count();
                let changed = (0..rows * classes)
                    .filter(|&k| k % classes != (k / classes) % classes)
                    .filter(|&k| y[k].to_bits() != y2[k].to_bits())
                    .count();
                let sm = summarize(&sums);
                let nf = fraction(not_one, rows);
                let cf = fraction(changed, rows * (classes - 1));
                min_not_one = min_not_one.min(nf);
                max_changed = max_changed.max(cf);
                if dtype == DType::F32 && scale == 1.0 && v.id() == vs[0].id() {
                    f32_summary = Some((sm, nf));
                }
                cx.push(
                    &mut t,
                    vec![
                        txt(v.id()),
                        txt(dtype.name()),
                        int(classes),
                        int(rows),
                        flt(scale),
                        flt(sm.mean),
                        flt(sm.ci95_low),
                        flt(sm.ci95_high),
                        flt(sm.min),
                        flt(sm.max),
                        flt(nf),
                        flt(cf),
                    ],
                );
            }
        }
    }
    let verdict = if max_changed > 0.0 {
        Verdict::DoesNotHold
    } else if min_not_one >= NOT_ONE_MIN_FRACTION {
        Verdict::Holds
    } else {
        Verdict::HoldsWithCaveats
    };
    let (sm, nf) = f32_summary.ok_or_else(|| unreachable_empty("c02"))?;
    let evidence = format!(
        "{classes} sigmoids of N(0,1) logits sum to {} on average (95% CI {}–{}, range {}–{}, f32), ≠ 1 in {} of rows (at least {} in every variant, dtype and scale); moving one logit changed {} of the other outputs",
        sig(sm.mean, 4),
        sig(sm.ci95_low, 4),
        sig(sm.ci95_high, 4),
        sig(sm.min, 3),
        sig(sm.max, 3),
        pct(nf),
        pct(min_not_one),
        pct(max_changed),
    );
    Ok(Finding {
        verdict,
        tested: "all (sums of 10 sigmoids, and independence: outputs unchanged when another logit moves)".into(),
        evidence,
        figure: cx.csv("c02"),
        tables: vec![t],
    })
}

// ---------------------------------------------------------------------------------
// C03: softmax of two logits against the sigmoid of their difference.

pub(super) fn c03(cx: &Ctx) -> Result<Finding, HarnessError> {
    let stable = need!(cx, "stable");
    let sigmoid = need!(cx, "sigmoid");
    let per_scale = cx.q(100, 500);
    let mut t = cx.table(
        "c03",
        &[
            ("dtype", ColumnType::Text),
            ("points", ColumnType::Int),
            ("max_diff_ulps", ColumnType::Float),
            ("median_diff_ulps", ColumnType::Float),
            ("equal_fraction", ColumnType::Float),
            ("max_softmax_error_ulps", ColumnType::Float),
            ("max_sigmoid_error_ulps", ColumnType::Float),
            ("worst_a", ColumnType::Float),
            ("worst_b", ColumnType::Float),
        ],
    );
    struct Rec {
        dtype: DType,
        max: f64,
        median: f64,
        equal: f64,
        err_p: f64,
        err_q: f64,
        wa: f64,
        wb: f64,
    }
    let mut recs = Vec::new();
    for dtype in DType::ALL {
        let f = dtype.format();
        // a − b on a grid with b = 0, then random pairs at three scales.
        let mut pairs: Vec<(f64, f64)> = (0..=160)
            .map(|k| (f.round_f64(-40.0 + 0.5 * k as f64), 0.0))
            .collect();
        for (i, scale) in [1.0, 10.0, 100.0].into_iter().enumerate() {
            let x = cx.normal(30 + i as u64, dtype, 2, per_scale, scale)?;
            pairs.extend(x.chunks_exact(2).map(|p| (p[0], p[1])));
        }
        let x: Vec<f64> = pairs.iter().flat_map(|&(a, b)| [a, b]).collect();
        let p = cx.fwd(stable.as_ref(), dtype, &x, 2, 1.0)?;
        // What a user computes: the difference in the dtype, then the sigmoid.
        let d: Vec<f64> = pairs.iter().map(|&(a, b)| a - b).collect();
        let q = cx.fwd(sigmoid.as_ref(), dtype, &d, d.len(), 1.0)?;
        let mut diffs = Vec::with_capacity(pairs.len());
        let (mut err_p, mut err_q) = (0.0f64, 0.0f64);
        let (mut wmax, mut wa, mut wb) = (-1.0, 0.0, 0.0);
        for (k, &(a, b)) in pairs.iter().enumerate() {
            let exact = reference::softmax(&[a, b], 1.0)[0];
            let (pk, qk) = (p[2 * k], q[k]);
            let dd = ulp_distance(dtype, pk, qk);
            err_p = err_p.max(ulp_error(dtype, pk, exact));
            err_q = err_q.max(ulp_error(dtype, qk, exact));
            if dd > wmax {
                (wmax, wa, wb) = (dd, a, b);
            }
            diffs.push(dd);
        }
        let r = Rec {
            dtype,
            max: worst(diffs.iter().copied()),
            median: median(&diffs),
            equal: fraction(diffs.iter().filter(|&&d| d == 0.0).count(), diffs.len()),
            err_p,
            err_q,
            wa,
            wb,
        };
        cx.push(
            &mut t,
            vec![
                txt(dtype.name()),
                int(pairs.len()),
                flt(r.max),
                flt(r.median),
                flt(r.equal),
                flt(r.err_p),
                flt(r.err_q),
                flt(r.wa),
                flt(r.wb),
            ],
        );
        recs.push(r);
    }
    let verdict = if recs.iter().all(|r| r.max <= AGREE_ULPS) {
        Verdict::Holds
    } else if recs.iter().all(|r| r.median <= AGREE_ULPS) {
        Verdict::HoldsWithCaveats
    } else {
        Verdict::DoesNotHold
    };
    let parts: Vec<String> = recs
        .iter()
        .map(|r| {
            format!(
                "{} max {} ulps (equal in {}; softmax ≤ {}, sigmoid(fl(a−b)) ≤ {} ulps from exact; worst at a = {}, b = {})",
                r.dtype,
                sig(r.max, 3),
                pct(r.equal),
                sig(r.err_p, 2),
                sig(r.err_q, 2),
                sig(r.wa, 4),
                sig(r.wb, 4)
            )
        })
        .collect();
    Ok(Finding {
        verdict,
        tested: "all: stable softmax([a,b])[0] against the sigmoid variant on a − b rounded to the dtype, over a grid of a − b in [−40, 40] and random pairs at scales 1, 10, 100".into(),
        evidence: format!("difference between the two: {}", parts.join("; ")),
        figure: cx.csv("c03"),
        tables: vec![t],
    })
}

// ---------------------------------------------------------------------------------
// C09: the folklore example.

/// Whether `claimed` (given with `decimals` decimals) is `exact` rounded, within
/// half a unit in its last place (a tiny slack for the decimal's binary value).
pub(super) fn consistent(claimed: f64, decimals: i32, exact: f64) -> (f64, bool) {
    let half = 0.5 * 10f64.powi(-decimals);
    (half, (claimed - exact).abs() <= half * (1.0 + 1e-9))
}

pub(super) fn c09(cx: &Ctx) -> Result<Finding, HarnessError> {
    let stable = need!(cx, "stable");
    let x = [2.0, 1.0, 0.1];
    let claimed = [(0.7, 1), (0.24, 2), (0.06, 2)];
    let exact = reference::softmax(&x, 1.0);
    let mut computed = Vec::new();
    for dtype in DType::ALL {
        computed.push(cx.fwd(stable.as_ref(), dtype, &x, 3, 1.0)?);
    }
    let mut t = cx.table(
        "c09",
        &[
            ("entry", ColumnType::Int),
            ("logit", ColumnType::Float),
            ("claimed", ColumnType::Float),
            ("claimed_half_unit", ColumnType::Float),
            ("exact", ColumnType::Float),
            ("abs_diff", ColumnType::Float),
            ("consistent", ColumnType::Bool),
            ("stable_f16", ColumnType::Float),
            ("stable_bf16", ColumnType::Float),
            ("stable_f32", ColumnType::Float),
            ("stable_f64", ColumnType::Float),
        ],
    );
    let mut wrong = Vec::new();
    for i in 0..3 {
        let (c, dec) = claimed[i];
        let e = exact[i].to_f64();
        let (half, ok) = consistent(c, dec, e);
        if !ok {
            wrong.push(format!(
                "{c} (exact {}, off by {} = {} relative)",
                sig(e, 4),
                sig((c - e).abs(), 3),
                pct((c - e).abs() / e)
            ));
        }
        let mut row = vec![
            int(i),
            flt(x[i]),
            flt(c),
            flt(half),
            flt(e),
            flt((c - e).abs()),
            Value::Bool(ok),
        ];
        row.extend(computed.iter().map(|y| flt(y[i])));
        cx.push(&mut t, row);
    }
    let verdict = if wrong.is_empty() {
        Verdict::Holds
    } else {
        Verdict::DoesNotHold
    };
    let evidence = format!(
        "exact softmax([2.0, 1.0, 0.1]) = [{}, {}, {}] (stable f32 gives [{}, {}, {}]); inconsistent with the claim at its stated precision: {}",
        sig(exact[0].to_f64(), 4),
        sig(exact[1].to_f64(), 4),
        sig(exact[2].to_f64(), 4),
        sig(computed[2][0], 4),
        sig(computed[2][1], 4),
        sig(computed[2][2], 4),
        if wrong.is_empty() { "none".into() } else { wrong.join("; ") },
    );
    Ok(Finding {
        verdict,
        tested: "all: the exact values (reference) and the stable variant in every dtype, each claimed number within half a unit of its last decimal".into(),
        evidence,
        figure: cx.csv("c09"),
        tables: vec![t],
    })
}

// ---------------------------------------------------------------------------------
// C10: the second folklore example, per dtype.

pub(super) fn c10(cx: &Ctx) -> Result<Finding, HarnessError> {
    let stable = need!(cx, "stable");
    let x = [-20.0, 10.0, 30.0];
    // Claimed values with their half unit in the last stated digit.
    let claimed = [
        (1.9287e-22, 0.00005e-22),
        (2.0612e-09, 0.00005e-9),
        (1.0, 0.05),
    ];
    let exact = reference::softmax(&x, 1.0);
    let mut t = cx.table(
        "c10",
        &[
            ("variant", ColumnType::Text),
            ("dtype", ColumnType::Text),
            ("entry", ColumnType::Int),
            ("claimed", ColumnType::Float),
            ("exact", ColumnType::Float),
            ("computed", ColumnType::Float),
            ("ulp_error", ColumnType::Float),
            ("underflow_to_zero", ColumnType::Bool),
            ("matches_claim", ColumnType::Bool),
        ],
    );
    let exact_ok = (0..3).all(|i| (exact[i].to_f64() - claimed[i].0).abs() <= claimed[i].1);
    for i in 0..3 {
        cx.push(
            &mut t,
            vec![
                txt("reference"),
                txt("exact"),
                int(i),
                flt(claimed[i].0),
                flt(exact[i].to_f64()),
                flt(exact[i].to_f64()),
                flt(0.0),
                Value::Bool(false),
                Value::Bool((exact[i].to_f64() - claimed[i].0).abs() <= claimed[i].1),
            ],
        );
    }
    let mut zeros_in = Vec::new();
    let mut mismatch_in = Vec::new();
    let mut per_dtype = Vec::new();
    for dtype in DType::ALL {
        let y = cx.fwd(stable.as_ref(), dtype, &x, 3, 1.0)?;
        let f = dtype.format();
        let mut zero = false;
        let mut all_match = true;
        for i in 0..3 {
            let (c, half) = claimed[i];
            // The dtype cannot do better than its own rounding of the claimed value.
            let tol = half.max(exact[i].ulp_in(f));
            let z = y[i] == 0.0 && !exact[i].is_zero();
            let matches = !z && (y[i] - c).abs() <= tol;
            zero |= z;
            all_match &= matches;
            cx.push(
                &mut t,
                vec![
                    txt(stable.id()),
                    txt(dtype.name()),
                    int(i),
                    flt(c),
                    flt(exact[i].to_f64()),
                    flt(y[i]),
                    flt(ulp_error(dtype, y[i], exact[i])),
                    Value::Bool(z),
                    Value::Bool(matches),
                ],
            );
        }
        per_dtype.push(format!(
            "{dtype} [{}, {}, {}]",
            sig(y[0], 5),
            sig(y[1], 5),
            sig(y[2], 5)
        ));
        if zero {
            zeros_in.push(dtype);
        }
        if !all_match {
            mismatch_in.push(dtype);
        }
    }
    let verdict = if !exact_ok {
        Verdict::DoesNotHold
    } else if mismatch_in.is_empty() {
        Verdict::Holds
    } else {
        Verdict::HoldsWithCaveats
    };
    let evidence = format!(
        "exact: [{}, {}, {}] ({} the claim to its 5 digits); stable gives {}; entries flushed to 0 in {}; not matching the claim to the dtype's precision in {}",
        sig(exact[0].to_f64(), 5),
        sig(exact[1].to_f64(), 5),
        sig(exact[2].to_f64(), 5),
        if exact_ok { "matches" } else { "differs from" },
        per_dtype.join("; "),
        dtype_list(&zeros_in),
        dtype_list(&mismatch_in),
    );
    Ok(Finding {
        verdict,
        tested: "all: exact values, and the stable variant per dtype".into(),
        evidence,
        figure: cx.csv("c10"),
        tables: vec![t],
    })
}
