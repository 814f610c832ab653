//! The log1p log-softmax in the kernels beyond `log_softmax` (whose own tests live
//! in crates/logsumexp/tests/every_entry.rs): `log_softmax_simd` and
//! `sharded_log_softmax` scored on every entry against the reference, the dominant
//! entry of nearly one-hot rows included, on rows whose differences x_j − max are
//! exact in the dtype: ≤ 2 ulps in f32 and f64, ≤ 1 ulp in f16 and bf16 (f32
//! arithmetic); and the textbook form (`log_softmax_log`) off by far more on the
//! issue's rows, so the test can fail.

use softmax_lab_core::measure::ulp_error;
use softmax_lab_core::variant::forward_f64;
use softmax_lab_core::{reference, Buffer, DType, Options, Variant};
use softmax_lab_logsumexp::sharded::ShardedLogSoftmax;
use softmax_lab_logsumexp::LogSoftmaxLog;
use softmax_lab_simd::LogSoftmaxSimd;

const NEG_INF: f64 = f64::NEG_INFINITY;

fn rows() -> Vec<(&'static str, Vec<f64>)> {
    let mut long = vec![-30.0; 200];
    long[117] = 0.0;
    vec![
        ("0,-50,-60,-70", vec![0.0, -50.0, -60.0, -70.0]),
        ("10,0,-1,-2", vec![10.0, 0.0, -1.0, -2.0]),
        ("seed 2,1,0.1", vec![2.0, 1.0, 0.1]),
        ("seed 1000,1001,1002", vec![1000.0, 1001.0, 1002.0]),
        ("seed -20,10,30", vec![-20.0, 10.0, 30.0]),
        ("masked", vec![1.0, NEG_INF, -3.0, NEG_INF, 0.5]),
        ("tie at max", vec![5.0, -20.0, 5.0, -40.0]),
        ("one-hot 100", vec![-100.0, 0.0, -101.0, -120.0]),
        ("one-hot among 200 (vector blocks and a tail)", long),
    ]
}

fn worst(v: &dyn Variant, dtype: DType, x: &[f64], t: f64) -> (f64, usize) {
    let xr = Buffer::from_f64(dtype, x).to_f64();
    let y = forward_f64(v, dtype, &xr, xr.len(), &Options { temperature: t })
        .unwrap_or_else(|e| panic!("{e}"));
    let want = reference::log_softmax(&xr, t);
    y.iter()
        .zip(&want)
        .map(|(&c, &e)| ulp_error(dtype, c, e))
        .enumerate()
        .fold((0.0, 0), |a, (i, e)| if e > a.0 { (e, i) } else { a })
}

#[test]
fn simd_and_sharded_log_softmax_are_accurate_on_every_entry() {
    let sharded = ShardedLogSoftmax { shards: 4 };
    let variants: [(&str, &dyn Variant); 2] = [
        ("log_softmax_simd", &LogSoftmaxSimd),
        ("sharded_log_softmax", &sharded),
    ];
    for (id, v) in variants {
        for dtype in DType::ALL {
            let limit = match dtype {
                DType::F16 | DType::BF16 => 1.0,
                _ => 2.0,
            };
            for (name, x) in rows() {
                for t in [1.0, 2.0] {
                    let (err, at) = worst(v, dtype, &x, t);
                    assert!(
                        err <= limit,
                        "{id} {dtype} {name} T={t}: {err} ulps at entry {at}"
                    );
                }
            }
        }
    }
}

#[test]
fn the_textbook_form_loses_what_these_keep() {
    let (err, at) = worst(&LogSoftmaxLog, DType::F32, &[10.0, 0.0, -1.0, -2.0], 1.0);
    assert_eq!(at, 0);
    assert!(err > 1000.0, "{err}");
    let (err, _) = worst(&LogSoftmaxSimd, DType::F32, &[10.0, 0.0, -1.0, -2.0], 1.0);
    assert!(err <= 2.0, "{err}");
}
