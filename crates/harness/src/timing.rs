//! The one timing runner: it times prepared calls — a variant over its buffers, a
//! memory copy, relu, an output head's log-probability, a sharded softmax — and
//! returns their samples. Every timed table of the throughput kind (variant groups,
//! hierarchical heads, shards) prepares its participants and hands them here, so
//! the interleaving and the sample sizing are written once.
//!
//! Method:
//! - Warm-up and calibration, participant by participant: [`Plan::warm_up_calls`]
//!   calls whose results are not samples (code, caches, a first allocation), then
//!   [`Plan::calibration_calls`] timed calls give the time of one call; a sample
//!   then times `k` consecutive calls, `k` the smallest count that lasts
//!   [`Plan::min_sample_s`] (within 1 ..= [`Plan::max_calls_per_sample`]). A
//!   warm-up call that lasts at least [`Plan::slow_call_s`] (ten sample lengths)
//!   is its own calibration: `k` is 1 whatever a warmer call would take, and the
//!   sample count follows from its (cold, so if anything longer) time. Calls that
//!   slow are the large rows, where one more call per participant was a fifth
//!   of the time spent on them.
//! - Sample count: [`Plan::samples`], fewer where the slowest participant's
//!   samples would exceed [`Plan::max_seconds`] in all, never fewer than
//!   [`Plan::min_samples`] (nor more than asked).
//! - Interleaving: sample 1 of every participant in order, then sample 2 of every
//!   participant, and so on, so that drift of the machine falls on all of them.
//! - Each sample is the seconds per call of its `k` calls; [`Timing::rates`] turns
//!   them into work per second, and the statistics ([`Estimate::of`]: the median
//!   with its distribution-free 95% interval) come from [`crate::stats`].
//!
//! The participants of a group share one context `C` (the group's buffers): each
//! call gets it mutably, so participants can write the same output buffers in
//! turn.

use std::time::Instant;

use crate::stats;

/// A sample lasts at least this long (seconds): long enough that the clock's
/// resolution and the loop around the calls are noise.
pub const MIN_SAMPLE_S: f64 = 2e-3;

/// The fewest samples a case gets, however slow its calls.
pub const MIN_SAMPLES: usize = 3;

/// A warm-up call at least this long (seconds; ten sample lengths) stands in for
/// the calibration call.
pub const SLOW_CALL_S: f64 = 10.0 * MIN_SAMPLE_S;

/// How a group is timed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Plan {
    /// Samples asked for (per participant).
    pub samples: usize,
    /// The time budget of one participant's samples (seconds; `f64::INFINITY`:
    /// none): a group whose slowest participant would exceed it takes fewer.
    pub max_seconds: f64,
    /// The fewest samples the budget may leave.
    pub min_samples: usize,
    /// A sample lasts at least this long (seconds).
    pub min_sample_s: f64,
    /// Untimed calls before the calibration.
    pub warm_up_calls: usize,
    /// Calls timed together to estimate the time of one (more for calls near the
    /// clock's resolution).
    pub calibration_calls: usize,
    /// Most calls in one sample.
    pub max_calls_per_sample: usize,
    /// A warm-up call at least this long (seconds) is the calibration: no
    /// calibration call follows (`f64::INFINITY`: always calibrate).
    pub slow_call_s: f64,
}

impl Plan {
    /// `samples` samples within a budget of `max_seconds`, with the module's
    /// defaults: [`MIN_SAMPLES`], [`MIN_SAMPLE_S`], one warm-up call, one timed
    /// calibration call (none after a warm-up of [`SLOW_CALL_S`]), at most 2^20
    /// calls per sample.
    pub fn new(samples: usize, max_seconds: f64) -> Plan {
        Plan {
            samples,
            max_seconds,
            min_samples: MIN_SAMPLES,
            min_sample_s: MIN_SAMPLE_S,
            warm_up_calls: 1,
            calibration_calls: 1,
            max_calls_per_sample: 1 << 20,
            slow_call_s: SLOW_CALL_S,
        }
    }
}

/// One call of a participant: one unit of work on the data it captured and the
/// group's shared context `C`.
pub type Call<'a, C, E> = Box<dyn FnMut(&mut C) -> Result<(), E> + 'a>;

/// One timed thing: a name (for errors) and a call that does one unit of work on
/// the prepared data it captured and the group's shared context `C`.
pub struct Participant<'a, C, E> {
    /// Its name in the table (a variant id, `memcpy`, a tree, ...).
    pub name: String,
    call: Call<'a, C, E>,
}

impl<'a, C, E> Participant<'a, C, E> {
    /// A participant named `name` whose every call runs `call`.
    pub fn new(
        name: impl Into<String>,
        call: impl FnMut(&mut C) -> Result<(), E> + 'a,
    ) -> Participant<'a, C, E> {
        Participant {
            name: name.into(),
            call: Box::new(call),
        }
    }
}

/// A participant's samples.
#[derive(Clone, Debug, PartialEq)]
pub struct Timing {
    /// Its name.
    pub name: String,
    /// Calls per sample.
    pub calls_per_sample: usize,
    /// Seconds per call, one value per sample, in the order taken.
    pub seconds_per_call: Vec<f64>,
}

impl Timing {
    /// Work per second of each sample, given the work one call does (elements,
    /// targets, ...).
    pub fn rates(&self, work_per_call: f64) -> Vec<f64> {
        self.seconds_per_call
            .iter()
            .map(|s| work_per_call / s)
            .collect()
    }

    /// Nanoseconds per call of each sample.
    pub fn ns_per_call(&self) -> Vec<f64> {
        self.seconds_per_call.iter().map(|s| s * 1e9).collect()
    }

    /// Samples taken.
    pub fn samples(&self) -> usize {
        self.seconds_per_call.len()
    }
}

/// What a timed table states of a sample: its median with the distribution-free
/// 95% interval of the median ([`stats::median_ci95`]) and the sample size.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    /// The median.
    pub median: f64,
    /// Lower end of its 95% interval.
    pub ci95_low: f64,
    /// Upper end.
    pub ci95_high: f64,
    /// Values summarised.
    pub samples: usize,
}

impl Estimate {
    /// The estimate of these values.
    pub fn of(values: &[f64]) -> Estimate {
        let (ci95_low, ci95_high) = stats::median_ci95(values);
        Estimate {
            median: stats::median(values),
            ci95_low,
            ci95_high,
            samples: values.len(),
        }
    }
}

/// Time `participants` per `plan`, interleaved, on the shared context `shared`.
/// Returns one [`Timing`] per participant, in their order; the first failing call
/// stops the run with the participant's index and its error.
pub fn run<C, E>(
    plan: &Plan,
    shared: &mut C,
    participants: Vec<Participant<'_, C, E>>,
) -> Result<Vec<Timing>, (usize, E)> {
    let mut ps = participants;
    let mut calls = Vec::with_capacity(ps.len());
    let mut samples = plan.samples;
    for (j, p) in ps.iter_mut().enumerate() {
        let mut warm = 0.0f64;
        for _ in 0..plan.warm_up_calls {
            let t0 = Instant::now();
            (p.call)(shared).map_err(|e| (j, e))?;
            warm = t0.elapsed().as_secs_f64();
        }
        let one = if plan.warm_up_calls > 0 && warm >= plan.slow_call_s {
            warm
        } else {
            let timed = plan.calibration_calls.max(1);
            let t0 = Instant::now();
            for _ in 0..timed {
                (p.call)(shared).map_err(|e| (j, e))?;
            }
            t0.elapsed().as_secs_f64() / timed as f64
        }
        .max(1e-9);
        let k =
            ((plan.min_sample_s / one).ceil() as usize).clamp(1, plan.max_calls_per_sample.max(1));
        // Saturating: an infinite budget affords any number of samples.
        let affordable = (plan.max_seconds / (one * k as f64)) as usize;
        samples = samples.min(affordable.max(plan.min_samples));
        calls.push(k);
    }
    let mut out: Vec<Timing> = ps
        .iter()
        .zip(&calls)
        .map(|(p, &k)| Timing {
            name: p.name.clone(),
            calls_per_sample: k,
            seconds_per_call: Vec::with_capacity(samples),
        })
        .collect();
    for _ in 0..samples {
        for (j, p) in ps.iter_mut().enumerate() {
            let k = calls[j];
            let t0 = Instant::now();
            for _ in 0..k {
                (p.call)(shared).map_err(|e| (j, e))?;
            }
            let dt = t0.elapsed().as_secs_f64().max(1e-12);
            out[j].seconds_per_call.push(dt / k as f64);
        }
    }
    Ok(out)
}

/// Per-call seconds of each sample of a variant that times itself
/// ([`softmax_lab_core::Variant::self_timed`]: an external command variant), or
/// `None` for one the runner times. One call of one rep first sizes the samples
/// as the runner sizes its own (each lasting about [`MIN_SAMPLE_S`], at most
/// 10,000 reps); then `samples` (at least [`MIN_SAMPLES`]) samples.
pub fn self_timed(
    v: &dyn softmax_lab_core::Variant,
    direction: softmax_lab_core::Direction,
    x: softmax_lab_core::Rows<'_>,
    dy: softmax_lab_core::Rows<'_>,
    n: usize,
    samples: usize,
) -> Option<Result<Vec<f64>, softmax_lab_core::VariantError>> {
    let opts = softmax_lab_core::Options::default();
    let per_call = match v.self_timed(direction, x, dy, n, &opts, 1, 1)? {
        Ok(t) => t.first().copied().unwrap_or(0.0),
        Err(e) => return Some(Err(e)),
    };
    let reps = if per_call > 0.0 {
        (MIN_SAMPLE_S / per_call).ceil().clamp(1.0, 10_000.0) as usize
    } else {
        10_000
    };
    v.self_timed(direction, x, dy, n, &opts, samples.max(MIN_SAMPLES), reps)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plan whose sizing does not depend on the clock: no minimum sample length
    /// (so one call per sample) and no budget.
    fn plan(samples: usize) -> Plan {
        Plan {
            min_sample_s: 0.0,
            ..Plan::new(samples, f64::INFINITY)
        }
    }

    /// Participants that log their index into the shared context.
    fn loggers<'a>(count: usize) -> Vec<Participant<'a, Vec<usize>, String>> {
        (0..count)
            .map(|j| {
                Participant::new(format!("p{j}"), move |log: &mut Vec<usize>| {
                    log.push(j);
                    Ok(())
                })
            })
            .collect()
    }

    #[test]
    fn participants_alternate_within_each_round_after_their_warm_up() {
        let mut log = Vec::new();
        let out = run(&plan(4), &mut log, loggers(3)).unwrap_or_else(|e| panic!("{e:?}"));
        // Warm-up (one untimed, one timed call) participant by participant, then
        // four rounds of one call each, in order.
        let mut want = vec![0, 0, 1, 1, 2, 2];
        for _ in 0..4 {
            want.extend([0, 1, 2]);
        }
        assert_eq!(log, want);
        assert_eq!(out.len(), 3);
        for (j, t) in out.iter().enumerate() {
            assert_eq!(t.name, format!("p{j}"));
            assert_eq!((t.samples(), t.calls_per_sample), (4, 1));
            assert!(t.seconds_per_call.iter().all(|s| *s > 0.0));
        }
    }

    #[test]
    fn a_slow_warm_up_call_stands_in_for_the_calibration() {
        // Every warm-up counts as slow: no calibration call, then the rounds.
        let p = Plan {
            slow_call_s: 0.0,
            ..plan(2)
        };
        let mut log = Vec::new();
        let out = run(&p, &mut log, loggers(3)).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(log, [0, 1, 2, 0, 1, 2, 0, 1, 2]);
        assert!(out
            .iter()
            .all(|t| t.samples() == 2 && t.calls_per_sample == 1));
        // None counts as slow: the calibration call follows each warm-up.
        let p = Plan {
            slow_call_s: f64::INFINITY,
            ..plan(2)
        };
        let mut log = Vec::new();
        run(&p, &mut log, loggers(3)).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(log, [0, 0, 1, 1, 2, 2, 0, 1, 2, 0, 1, 2]);
        // No warm-up call at all: the calibration runs, whatever the threshold.
        let p = Plan {
            slow_call_s: 0.0,
            warm_up_calls: 0,
            ..plan(1)
        };
        let mut log = Vec::new();
        run(&p, &mut log, loggers(2)).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(log, [0, 1, 0, 1]);
    }

    #[test]
    fn calls_per_sample_and_calibration_follow_the_plan() {
        // A minimum sample length no call reaches: the cap decides (4 calls).
        let p = Plan {
            min_sample_s: 1e9,
            max_calls_per_sample: 4,
            warm_up_calls: 0,
            calibration_calls: 8,
            ..Plan::new(5, f64::INFINITY)
        };
        let mut count = 0usize;
        let out = run(
            &p,
            &mut count,
            vec![Participant::new("c", |n: &mut usize| {
                *n += 1;
                Ok::<(), ()>(())
            })],
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(out[0].calls_per_sample, 4);
        assert_eq!(out[0].samples(), 5);
        assert_eq!(count, 8 + 5 * 4);
    }

    #[test]
    fn a_budget_cuts_the_samples_but_never_below_the_minimum() {
        // No time is affordable: the minimum of 3 samples.
        let p = Plan {
            max_seconds: 0.0,
            ..plan(10)
        };
        let mut log = Vec::new();
        let out = run(&p, &mut log, loggers(2)).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(out.iter().all(|t| t.samples() == MIN_SAMPLES));
        assert_eq!(log.len(), 2 * 2 + 2 * MIN_SAMPLES);
        // Fewer asked than the minimum: as asked.
        let p = Plan {
            max_seconds: 0.0,
            ..plan(2)
        };
        let out = run(&p, &mut Vec::new(), loggers(2)).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(out.iter().all(|t| t.samples() == 2));
    }

    #[test]
    fn a_failing_call_names_its_participant() {
        let mut ps = loggers(2);
        let mut calls = 0;
        ps.push(Participant::new("bad", move |_: &mut Vec<usize>| {
            calls += 1;
            if calls > 3 {
                Err("refused".to_string())
            } else {
                Ok(())
            }
        }));
        let mut log = Vec::new();
        let e = run(&plan(5), &mut log, ps).err();
        assert_eq!(e, Some((2, "refused".to_string())));
        // Warm-up of all three, then round 1 ran whole and round 2 stopped at "bad".
        assert_eq!(log, [0, 0, 1, 1, 0, 1, 0, 1]);
    }

    #[test]
    fn rates_and_estimates_come_from_the_samples() {
        let t = Timing {
            name: "x".into(),
            calls_per_sample: 2,
            seconds_per_call: vec![0.5, 0.25, 1.0],
        };
        assert_eq!(t.rates(10.0), vec![20.0, 40.0, 10.0]);
        assert_eq!(t.ns_per_call(), vec![5e8, 2.5e8, 1e9]);
        let e = Estimate::of(&t.rates(10.0));
        assert_eq!(
            (e.median, e.ci95_low, e.ci95_high, e.samples),
            (20.0, 10.0, 40.0, 3)
        );
    }
}
