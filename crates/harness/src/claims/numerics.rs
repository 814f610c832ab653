//! Claims about what softmax and sigmoid compute: C01 (a distribution), C02
//! (independent sigmoids), C03 (two-class softmax against sigmoid), C09 and C10
//! (the folklore examples). Each claim measures into rows of numbers and a pure
//! `decide_*` function turns those rows into the verdict and its evidence.

use super::*;

// ---------------------------------------------------------------------------------
// C01: the distribution claim.

/// C01, one variant at one dtype and scale.
#[derive(Clone, Debug)]
pub(super) struct C01Row {
    pub variant: String,
    /// A framework's variant (candle): judged apart from ours.
    pub framework: bool,
    pub dtype: DType,
    pub scale: f64,
    /// Largest |Σ − 1| of a row.
    pub dev: f64,
    /// The same in ulps of 1 of the dtype.
    pub dev_ulps: f64,
    /// Fraction of rows whose sum is not exactly 1.
    pub not_one: f64,
    /// Fraction of outputs exactly 0 / exactly 1.
    pub zeros: f64,
    pub ones: f64,
    /// Outputs outside [0, 1] or not finite.
    pub out: usize,
}

/// The verdict of one side (ours or the frameworks') of C01.
fn c01_side(rows: &[&C01Row]) -> Verdict {
    let out: usize = rows.iter().map(|r| r.out).sum();
    if out > 0 || worst(rows.iter().map(|r| r.dev)) > MAX_SUM_DEVIATION {
        Verdict::DoesNotHold
    } else if rows
        .iter()
        .all(|r| r.dev == 0.0 && r.zeros == 0.0 && r.ones == 0.0)
    {
        Verdict::Holds
    } else {
        Verdict::HoldsWithCaveats
    }
}

/// C01's rule: our implementations decide (a sum off by more than
/// [`MAX_SUM_DEVIATION`] or an output outside [0, 1] fails it; rounding, exact
/// zeros or ones are caveats); a framework failing the same test makes it "holds
/// with caveats" at best, and has its own clause in the evidence.
pub(super) fn decide_c01(rows: &[C01Row]) -> Result<(Verdict, String), HarnessError> {
    let (own, fw): (Vec<&C01Row>, Vec<&C01Row>) = rows.iter().partition(|r| !r.framework);
    let w = own
        .iter()
        .max_by(|a, b| a.dev_ulps.total_cmp(&b.dev_ulps))
        .ok_or_else(|| unreachable_empty("c01"))?;
    let own_v = c01_side(&own);
    let fw_v = (!fw.is_empty()).then(|| c01_side(&fw));
    let verdict = match (own_v, fw_v) {
        (Verdict::DoesNotHold, _) => Verdict::DoesNotHold,
        (Verdict::Holds, None | Some(Verdict::Holds)) => Verdict::Holds,
        _ => Verdict::HoldsWithCaveats,
    };
    let out: usize = own.iter().map(|r| r.out).sum();
    let stable32 = own
        .iter()
        .find(|r| r.variant == "stable" && r.dtype == DType::F32 && r.scale == 1.0)
        .map(|r| format!("; stable f32 rows with Σ ≠ 1 exactly: {}", pct(r.not_one)))
        .unwrap_or_default();
    let zero_dtypes = |scale: f64| -> Vec<DType> {
        DType::ALL
            .into_iter()
            .filter(|&d| {
                own.iter()
                    .any(|r| r.dtype == d && r.scale == scale && r.zeros > 0.0)
            })
            .collect()
    };
    let scales: Vec<f64> = own.iter().fold(Vec::new(), |mut v, r| {
        if !v.contains(&r.scale) {
            v.push(r.scale);
        }
        v
    });
    let zeros: Vec<String> = scales
        .iter()
        .map(|&s| format!("scale {s}: {}", dtype_list(&zero_dtypes(s))))
        .collect();
    let zmax = own
        .iter()
        .max_by(|a, b| a.zeros.total_cmp(&b.zeros))
        .ok_or_else(|| unreachable_empty("c01"))?;
    let fw_clause = match (fw_v, fw.iter().max_by(|a, b| a.dev.total_cmp(&b.dev))) {
        (Some(v), Some(r)) => format!(
            "; frameworks: {v} — {} is off by up to {} ({}, scale {}; threshold {}), {} outputs outside [0,1]",
            r.variant,
            sig(r.dev, 3),
            r.dtype,
            r.scale,
            sig(MAX_SUM_DEVIATION, 2),
            fw.iter().map(|r| r.out).sum::<usize>(),
        ),
        _ => String::new(),
    };
    let evidence = format!(
        "our implementations: {own_v} — max |Σ−1| = {} ulps of 1 ({} {} at scale {}, {} absolute; threshold {}){stable32}; exact zeros from underflow ({}; up to {} of outputs, {} {}); outputs outside [0,1] or non-finite: {out}{fw_clause}",
        sig(w.dev_ulps, 3),
        w.variant,
        w.dtype,
        w.scale,
        sig(w.dev, 2),
        sig(MAX_SUM_DEVIATION, 2),
        zeros.join(", "),
        pct(zmax.zeros),
        zmax.variant,
        zmax.dtype,
    );
    Ok((verdict, evidence))
}

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
            ("framework", ColumnType::Bool),
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
                let r = C01Row {
                    variant: v.id().into(),
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
                        txt(&r.variant),
                        Value::Bool(r.framework),
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
    let (verdict, evidence) = decide_c01(&recs)?;
    Ok(Finding {
        verdict,
        tested: "all: range, exact zeros and sum to one per variant and dtype, normal logits at scales 1, 10, 100; our implementations decide, a framework (candle) failing the sum makes it holds with caveats at best".into(),
        evidence,
        figure: cx.csv("c01"),
        tables: vec![t],
    })
}

// ---------------------------------------------------------------------------------
// C02: sigmoids are independent and do not sum to one.

/// C02, one variant at one dtype and scale.
#[derive(Clone, Debug)]
pub(super) struct C02Row {
    pub variant: String,
    pub dtype: DType,
    pub scale: f64,
    /// Rows of `classes` sigmoids: the mean of their sums with its 95% interval, the range.
    pub classes: usize,
    pub sum_mean: f64,
    pub sum_ci95: (f64, f64),
    pub sum_range: (f64, f64),
    /// Fraction of rows whose sum is not exactly 1.
    pub not_one: f64,
    /// Fraction of outputs that changed when another logit of the row moved.
    pub changed: f64,
}

/// C02's rule: any output that moves with another logit fails "independent";
/// sums ≠ 1 in at least [`NOT_ONE_MIN_FRACTION`] of the rows of every variant,
/// dtype and scale holds; fewer is a caveat.
pub(super) fn decide_c02(rows: &[C02Row]) -> Result<(Verdict, String), HarnessError> {
    let min_not_one = rows.iter().map(|r| r.not_one).fold(f64::INFINITY, f64::min);
    let max_changed = rows.iter().map(|r| r.changed).fold(0.0, f64::max);
    let verdict = if max_changed > 0.0 {
        Verdict::DoesNotHold
    } else if min_not_one >= NOT_ONE_MIN_FRACTION {
        Verdict::Holds
    } else {
        Verdict::HoldsWithCaveats
    };
    let r = rows
        .iter()
        .find(|r| r.dtype == DType::F32 && r.scale == 1.0)
        .or(rows.first())
        .ok_or_else(|| unreachable_empty("c02"))?;
    let evidence = format!(
        "{} sigmoids of N(0,1) logits sum to {} on average (95% CI {}–{}, range {}–{}, {} {}), ≠ 1 in {} of rows (at least {} in every variant, dtype and scale; threshold {}); moving one logit changed {} of the other outputs",
        r.classes,
        sig(r.sum_mean, 4),
        sig(r.sum_ci95.0, 4),
        sig(r.sum_ci95.1, 4),
        sig(r.sum_range.0, 3),
        sig(r.sum_range.1, 3),
        r.variant,
        r.dtype,
        pct(r.not_one),
        pct(min_not_one),
        pct(NOT_ONE_MIN_FRACTION),
        pct(max_changed),
    );
    Ok((verdict, evidence))
}

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
    let mut recs = Vec::new();
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
                let r = C02Row {
                    variant: v.id().into(),
                    dtype,
                    scale,
                    classes,
                    sum_mean: sm.mean,
                    sum_ci95: (sm.ci95_low, sm.ci95_high),
                    sum_range: (sm.min, sm.max),
                    not_one: fraction(not_one, rows),
                    changed: fraction(changed, rows * (classes - 1)),
                };
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
                        flt(r.not_one),
                        flt(r.changed),
                    ],
                );
                recs.push(r);
            }
        }
    }
    let (verdict, evidence) = decide_c02(&recs)?;
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

/// C03, one sigmoid variant at one dtype, against the stable softmax there.
#[derive(Clone, Debug)]
pub(super) struct C03Row {
    pub dtype: DType,
    pub variant: String,
    pub framework: bool,
    /// Pairs compared, and those whose difference a − b is exact in the dtype.
    pub points: usize,
    pub exact_points: usize,
    /// The identity itself: softmax([a,b])[0] against sigmoid(a − b) where a − b
    /// is exact, in ulps (max and median).
    pub identity_max: f64,
    pub identity_median: f64,
    /// As a user computes it, sigmoid(fl(a − b)), on every pair (max, equal fraction).
    pub user_max: f64,
    pub equal: f64,
    /// How far rounding a − b alone moves the exact result, ulps (max over pairs).
    pub shift_max: f64,
    /// The user-form difference less that shift, ulps (max over pairs).
    pub unexplained_max: f64,
    /// The largest errors of the two computed values against the exact σ(a − b)
    /// (softmax) and σ(fl(a − b)) (sigmoid), ulps.
    pub err_softmax: f64,
    pub err_sigmoid: f64,
    /// The pair of the largest user-form difference.
    pub worst: (f64, f64),
    /// The largest exact difference at which the sigmoid returns 0 where the exact
    /// σ is nonzero in the dtype (NaN: none), and that σ.
    pub flush_at: f64,
    pub flush_sigma: f64,
}

/// C03's rule: on differences exact in the dtype the identity holds when the two
/// agree within [`AGREE_ULPS`] everywhere (ours), fails when their median
/// disagrees by more; a larger user-form difference (from rounding a − b) or a
/// framework's sigmoid that disagrees (flushing to 0) is a caveat.
pub(super) fn decide_c03(rows: &[C03Row]) -> (Verdict, String) {
    let (own, fw): (Vec<&C03Row>, Vec<&C03Row>) = rows.iter().partition(|r| !r.framework);
    let identity_ok = own.iter().all(|r| r.identity_max <= AGREE_ULPS);
    let identity_mostly = own.iter().all(|r| r.identity_median <= AGREE_ULPS);
    let user_ok = own.iter().all(|r| r.user_max <= AGREE_ULPS);
    let fw_ok = fw.iter().all(|r| r.identity_max <= AGREE_ULPS);
    let verdict = if own.is_empty() || !identity_mostly {
        Verdict::DoesNotHold
    } else if identity_ok && user_ok && fw_ok {
        Verdict::Holds
    } else {
        Verdict::HoldsWithCaveats
    };
    let per = |rs: &[&C03Row], f: &dyn Fn(&C03Row) -> String| -> String {
        rs.iter().map(|r| f(r)).collect::<Vec<_>>().join(", ")
    };
    let identity = per(&own, &|r| {
        format!(
            "{} {} (median {}, {} pairs)",
            r.dtype,
            sig(r.identity_max, 3),
            sig(r.identity_median, 2),
            r.exact_points
        )
    });
    let user = per(&own, &|r| {
        format!(
            "{} {} (equal in {}; worst at a = {}, b = {})",
            r.dtype,
            sig(r.user_max, 3),
            pct(r.equal),
            sig(r.worst.0, 4),
            sig(r.worst.1, 4)
        )
    });
    let shift = per(&own, &|r| {
        format!(
            "{} {} ({} unexplained)",
            r.dtype,
            sig(r.shift_max, 3),
            sig(r.unexplained_max, 2)
        )
    });
    let errors = per(&own, &|r| {
        format!(
            "{} {}/{}",
            r.dtype,
            sig(r.err_softmax, 2),
            sig(r.err_sigmoid, 2)
        )
    });
    let framework: Vec<String> = fw
        .iter()
        .map(|r| {
            let flush = if r.flush_at.is_nan() {
                "never returns 0 where σ is nonzero".to_string()
            } else {
                format!(
                    "returns 0 from a − b = {} down, where σ = {}",
                    sig(r.flush_at, 4),
                    sig(r.flush_sigma, 3)
                )
            };
            format!(
                "{} {} differs by up to {} ulps on exact differences, {flush}",
                r.variant,
                r.dtype,
                sig(r.identity_max, 3)
            )
        })
        .collect();
    let evidence = format!(
        "on differences a − b exact in the dtype, softmax([a,b])[0] and sigmoid(a − b) differ by at most (ulps) {identity}; as a user computes it, sigmoid(fl(a − b)) differs by up to {user}; rounding a − b alone moves the exact value by up to {shift}; errors against the exact value, softmax/sigmoid: {errors}{}",
        if framework.is_empty() {
            String::new()
        } else {
            format!("; frameworks: {}", framework.join("; "))
        }
    );
    (verdict, evidence)
}

pub(super) fn c03(cx: &Ctx) -> Result<Finding, HarnessError> {
    let stable = need!(cx, "stable");
    let sigmoids = cx.present(&["sigmoid", "candle_sigmoid"]);
    if sigmoids.is_empty() {
        return Ok(Finding::not_tested("no sigmoid variant registered".into()));
    }
    let per_scale = cx.q(100, 500);
    let mut t = cx.table(
        "c03",
        &[
            ("dtype", ColumnType::Text),
            ("sigmoid_variant", ColumnType::Text),
            ("points", ColumnType::Int),
            ("exact_difference_points", ColumnType::Int),
            ("identity_max_diff_ulps", ColumnType::Float),
            ("identity_median_diff_ulps", ColumnType::Float),
            ("max_diff_ulps", ColumnType::Float),
            ("equal_fraction", ColumnType::Float),
            ("rounding_shift_max_ulps", ColumnType::Float),
            ("unexplained_max_ulps", ColumnType::Float),
            ("max_softmax_error_ulps", ColumnType::Float),
            ("max_sigmoid_error_ulps", ColumnType::Float),
            ("worst_a", ColumnType::Float),
            ("worst_b", ColumnType::Float),
            ("flush_to_zero_from", ColumnType::Float),
        ],
    );
    let mut recs = Vec::new();
    for dtype in DType::ALL {
        let f = dtype.format();
        // a − b on a grid with b = 0 (wide enough for f32's subnormal tail), then
        // random pairs at three scales.
        let mut pairs: Vec<(f64, f64)> = (0..=480)
            .map(|k| (f.round_f64(-120.0 + 0.5 * k as f64), 0.0))
            .collect();
        for (i, scale) in [1.0, 10.0, 100.0].into_iter().enumerate() {
            let x = cx.normal(30 + i as u64, dtype, 2, per_scale, scale)?;
            pairs.extend(x.chunks_exact(2).map(|p| (p[0], p[1])));
        }
        let x: Vec<f64> = pairs.iter().flat_map(|&(a, b)| [a, b]).collect();
        let p = cx.fwd(stable.as_ref(), dtype, &x, 2, 1.0)?;
        // What a user computes: the difference rounded to the dtype (a − b is exact
        // in f64 for narrower inputs; in f64 the subtraction rounds once).
        let d: Vec<f64> = pairs.iter().map(|&(a, b)| f.round_f64(a - b)).collect();
        let exact_d: Vec<bool> = pairs
            .iter()
            .zip(&d)
            .map(|(&(a, b), &dr)| {
                Xd::from_f64(a)
                    .sub(Xd::from_f64(b))
                    .sub(Xd::from_f64(dr))
                    .is_zero()
            })
            .collect();
        for sg in &sigmoids {
            let q = cx.fwd(sg.as_ref(), dtype, &d, d.len(), 1.0)?;
            let (mut ident, mut user) = (Vec::new(), Vec::new());
            let (mut shift_max, mut unexplained): (f64, f64) = (0.0, 0.0);
            let (mut err_p, mut err_q): (f64, f64) = (0.0, 0.0);
            let (mut wmax, mut worst_pair) = (-1.0, (0.0, 0.0));
            let (mut flush_at, mut flush_sigma) = (f64::NAN, f64::NAN);
            for (k, &(a, b)) in pairs.iter().enumerate() {
                let exact = reference::softmax(&[a, b], 1.0)[0];
                let exact_user = reference::sigmoid(d[k]);
                let (pk, qk) = (p[2 * k], q[k]);
                let dd = ulp_distance(dtype, pk, qk);
                let shift = ulp_error(dtype, exact_user.round_to(f), exact);
                err_p = err_p.max(ulp_error(dtype, pk, exact));
                err_q = err_q.max(ulp_error(dtype, qk, exact_user));
                shift_max = shift_max.max(shift);
                unexplained = unexplained.max(dd - shift);
                if dd > wmax {
                    (wmax, worst_pair) = (dd, (a, b));
                }
                user.push(dd);
                if exact_d[k] {
                    ident.push(dd);
                    let s = exact_user.round_to(f);
                    if qk == 0.0 && s != 0.0 && (flush_at.is_nan() || d[k] > flush_at) {
                        (flush_at, flush_sigma) = (d[k], s);
                    }
                }
            }
            let r = C03Row {
                dtype,
                variant: sg.id().into(),
                framework: sg.info().accumulation == Accumulation::Framework,
                points: pairs.len(),
                exact_points: ident.len(),
                identity_max: worst(ident.iter().copied()),
                identity_median: median(&ident),
                user_max: worst(user.iter().copied()),
                equal: fraction(user.iter().filter(|&&d| d == 0.0).count(), user.len()),
                shift_max,
                unexplained_max: unexplained,
                err_softmax: err_p,
                err_sigmoid: err_q,
                worst: worst_pair,
                flush_at,
                flush_sigma,
            };
            cx.push(
                &mut t,
                vec![
                    txt(dtype.name()),
                    txt(&r.variant),
                    int(r.points),
                    int(r.exact_points),
                    flt(r.identity_max),
                    flt(r.identity_median),
                    flt(r.user_max),
                    flt(r.equal),
                    flt(r.shift_max),
                    flt(r.unexplained_max),
                    flt(r.err_softmax),
                    flt(r.err_sigmoid),
                    flt(r.worst.0),
                    flt(r.worst.1),
                    flt(r.flush_at),
                ],
            );
            recs.push(r);
        }
    }
    let (verdict, evidence) = decide_c03(&recs);
    Ok(Finding {
        verdict,
        tested: "all: stable softmax([a,b])[0] against each sigmoid variant (ours and candle's), on a grid of a − b in [−120, 120] and random pairs at scales 1, 10, 100; the identity on differences exact in the dtype, the rounding of a − b apart".into(),
        evidence,
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

/// C09's claimed values and their decimals.
const C09_CLAIMED: [(f64, i32); 3] = [(0.7, 1), (0.24, 2), (0.06, 2)];

/// C09's rule: the claim holds when the exact values and the stable variant's in
/// every dtype round to the claimed numbers at their stated precision; fails when
/// the exact values do not; a dtype that alone misses is a caveat.
/// `computed` holds (dtype, the three outputs).
pub(super) fn decide_c09(exact: [f64; 3], computed: &[(DType, [f64; 3])]) -> (Verdict, String) {
    let off = |y: &[f64; 3]| -> Vec<usize> {
        (0..3)
            .filter(|&i| !consistent(C09_CLAIMED[i].0, C09_CLAIMED[i].1, y[i]).1)
            .collect()
    };
    let exact_off = off(&exact);
    let dtypes_off: Vec<DType> = computed
        .iter()
        .filter(|(_, y)| !off(y).is_empty())
        .map(|(d, _)| *d)
        .collect();
    let verdict = if !exact_off.is_empty() {
        Verdict::DoesNotHold
    } else if dtypes_off.is_empty() {
        Verdict::Holds
    } else {
        Verdict::HoldsWithCaveats
    };
    let wrong: Vec<String> = exact_off
        .iter()
        .map(|&i| {
            let (c, e) = (C09_CLAIMED[i].0, exact[i]);
            format!(
                "{c} (exact {}, off by {} = {} relative)",
                sig(e, 4),
                sig((c - e).abs(), 3),
                pct((c - e).abs() / e)
            )
        })
        .collect();
    let shown: Vec<String> = computed
        .iter()
        .map(|(d, y)| format!("{d} [{}, {}, {}]", sig(y[0], 4), sig(y[1], 4), sig(y[2], 4)))
        .collect();
    let evidence = format!(
        "exact softmax([2.0, 1.0, 0.1]) = [{}, {}, {}]; stable gives {}; claimed values inconsistent with the exact ones at their stated precision: {}; dtypes whose outputs are inconsistent with the claim: {}",
        sig(exact[0], 4),
        sig(exact[1], 4),
        sig(exact[2], 4),
        shown.join(", "),
        if wrong.is_empty() { "none".into() } else { wrong.join("; ") },
        dtype_list(&dtypes_off),
    );
    (verdict, evidence)
}

pub(super) fn c09(cx: &Ctx) -> Result<Finding, HarnessError> {
    let stable = need!(cx, "stable");
    let x = [2.0, 1.0, 0.1];
    let exact = reference::softmax(&x, 1.0);
    let mut computed = Vec::new();
    for dtype in DType::ALL {
        let y = cx.fwd(stable.as_ref(), dtype, &x, 3, 1.0)?;
        computed.push((dtype, [y[0], y[1], y[2]]));
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
    for i in 0..3 {
        let (c, dec) = C09_CLAIMED[i];
        let e = exact[i].to_f64();
        let (half, ok) = consistent(c, dec, e);
        let mut row = vec![
            int(i),
            flt(x[i]),
            flt(c),
            flt(half),
            flt(e),
            flt((c - e).abs()),
            Value::Bool(ok),
        ];
        row.extend(computed.iter().map(|(_, y)| flt(y[i])));
        cx.push(&mut t, row);
    }
    let exact3 = [exact[0].to_f64(), exact[1].to_f64(), exact[2].to_f64()];
    let (verdict, evidence) = decide_c09(exact3, &computed);
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

/// C10's claimed values with their half unit in the last stated digit.
const C10_CLAIMED: [(f64, f64); 3] = [
    (1.9287e-22, 0.00005e-22),
    (2.0612e-09, 0.00005e-9),
    (1.0, 0.05),
];

/// C10, the stable variant in one dtype.
#[derive(Clone, Debug)]
pub(super) struct C10Row {
    pub dtype: DType,
    pub computed: [f64; 3],
    /// Some entry flushed to 0 where the exact value is not 0.
    pub flushed: bool,
    /// Every entry matches the claim to the dtype's precision.
    pub matches: bool,
}

/// C10's rule: the exact values must match the claim to its 5 digits (else it
/// does not hold); every dtype matching to its own precision holds; a dtype that
/// does not (underflow) is a caveat.
pub(super) fn decide_c10(exact: [f64; 3], rows: &[C10Row]) -> (Verdict, String) {
    let exact_ok = (0..3).all(|i| (exact[i] - C10_CLAIMED[i].0).abs() <= C10_CLAIMED[i].1);
    let zeros_in: Vec<DType> = rows.iter().filter(|r| r.flushed).map(|r| r.dtype).collect();
    let mismatch_in: Vec<DType> = rows
        .iter()
        .filter(|r| !r.matches)
        .map(|r| r.dtype)
        .collect();
    let verdict = if !exact_ok {
        Verdict::DoesNotHold
    } else if mismatch_in.is_empty() {
        Verdict::Holds
    } else {
        Verdict::HoldsWithCaveats
    };
    let per_dtype: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{} [{}, {}, {}]",
                r.dtype,
                sig(r.computed[0], 5),
                sig(r.computed[1], 5),
                sig(r.computed[2], 5)
            )
        })
        .collect();
    let evidence = format!(
        "exact: [{}, {}, {}] ({} the claim to its 5 digits); stable gives {}; entries flushed to 0 in {}; not matching the claim to the dtype's precision in {}",
        sig(exact[0], 5),
        sig(exact[1], 5),
        sig(exact[2], 5),
        if exact_ok { "matches" } else { "differs from" },
        per_dtype.join("; "),
        dtype_list(&zeros_in),
        dtype_list(&mismatch_in),
    );
    (verdict, evidence)
}

pub(super) fn c10(cx: &Ctx) -> Result<Finding, HarnessError> {
    let stable = need!(cx, "stable");
    let x = [-20.0, 10.0, 30.0];
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
    for i in 0..3 {
        let e = exact[i].to_f64();
        cx.push(
            &mut t,
            vec![
                txt("reference"),
                txt("exact"),
                int(i),
                flt(C10_CLAIMED[i].0),
                flt(e),
                flt(e),
                flt(0.0),
                Value::Bool(false),
                Value::Bool((e - C10_CLAIMED[i].0).abs() <= C10_CLAIMED[i].1),
            ],
        );
    }
    let mut rows = Vec::new();
    for dtype in DType::ALL {
        let y = cx.fwd(stable.as_ref(), dtype, &x, 3, 1.0)?;
        let f = dtype.format();
        let mut row = C10Row {
            dtype,
            computed: [y[0], y[1], y[2]],
            flushed: false,
            matches: true,
        };
        for i in 0..3 {
            let (c, half) = C10_CLAIMED[i];
            // The dtype cannot do better than its own rounding of the claimed value.
            let tol = half.max(exact[i].ulp_in(f));
            let z = y[i] == 0.0 && !exact[i].is_zero();
            let matches = !z && (y[i] - c).abs() <= tol;
            row.flushed |= z;
            row.matches &= matches;
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
        rows.push(row);
    }
    let exact3 = [exact[0].to_f64(), exact[1].to_f64(), exact[2].to_f64()];
    let (verdict, evidence) = decide_c10(exact3, &rows);
    Ok(Finding {
        verdict,
        tested: "all: exact values, and the stable variant per dtype".into(),
        evidence,
        figure: cx.csv("c10"),
        tables: vec![t],
    })
}
