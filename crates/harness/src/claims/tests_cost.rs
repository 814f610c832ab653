//! Synthetic tests of the cost claims' rules (C16–C18) and the helpers the
//! topic tests share (a scratch results folder, one claim run on it).

use super::cost::{
    decide_c16, decide_c17, decide_c18, C16Measure, C17Measure, C18Measure, ShardTiming, SizeSpeeds,
};
use super::*;
use crate::results::records::{ShardedRecord, ThroughputRecord};
use crate::results::Results;
use softmax_lab_core::Direction;

/// A scratch results folder of its own per test.
pub(super) fn scratch_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "softmax_lab_claims_b_{name}_{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d)
        .map_err(|e| e.to_string())
        .unwrap_or_default();
    d
}

/// One claim measured (quick form) against the results in `dir`.
pub(super) fn run_claim(f: ClaimFn, dir: &Path) -> Finding {
    let r = softmax_lab_variants::registry();
    let s = match crate::scenario::parse(
        Path::new("claims.toml"),
        &super::tests::scenario_text(),
        &r,
    ) {
        Ok(f) => f.pick(true).clone(),
        Err(e) => panic!("the claims scenario does not parse: {e}"),
    };
    let cx = Ctx {
        s: &s,
        registry: &r,
        results_dir: dir,
    };
    match f(&cx) {
        Ok(f) => f,
        Err(e) => panic!("{e}"),
    }
}

/// Write `tables` as the results file `file` of scenario `name` in `dir`.
pub(super) fn write_results_file(dir: &Path, file: &str, name: &str, tables: Vec<Table>) {
    let kind = tables.first().map_or(String::new(), |t| t.name.clone());
    let r = Results {
        schema_version: crate::results::SCHEMA_VERSION,
        scenario: serde_json::json!({ "name": name, "kind": kind, "training": { "early_epoch": 2 } }),
        machine: crate::machine::Machine::detect(),
        elapsed_s: 1.0,
        variants: Vec::new(),
        failures: Vec::new(),
        tables,
        generation: "test".into(),
        files: Vec::new(),
    };
    std::fs::write(dir.join(file), r.to_json()).unwrap_or_default();
}

// ---------------------------------------------------------------------------------
// C16.

fn c16_measure() -> C16Measure {
    C16Measure {
        vocab: 4096,
        dim: 16,
        full_per_target: 4096.0,
        tree_per_target: 12.0,
        log_ok: true,
        tree_distribution: 4095.0,
        full_distribution: 4096.0,
        no_saving: true,
        timing: Some((100_000, 500.0)),
    }
}

#[test]
fn c16_every_verdict() {
    let m = c16_measure();
    let (v, e) = decide_c16(&m);
    assert_eq!(v, Verdict::HoldsWithCaveats);
    // The cost of the whole distribution is printed, not summarised by a phrase.
    assert!(
        e.contains("4095 dot products with the tree against 4096"),
        "{e}"
    );
    assert!(e.contains("100.0% of it"), "{e}");
    assert!(!e.contains("no saving"), "{e}");
    let saving = C16Measure {
        tree_distribution: 100.0,
        no_saving: false,
        ..m.clone()
    };
    assert_eq!(decide_c16(&saving).0, Verdict::Holds);
    let untimed = C16Measure {
        timing: None,
        ..saving.clone()
    };
    assert_eq!(decide_c16(&untimed).0, Verdict::HoldsWithCaveats);
    let slower = C16Measure {
        timing: Some((1000, 0.8)),
        ..saving.clone()
    };
    assert_eq!(decide_c16(&slower).0, Verdict::DoesNotHold);
    let linear = C16Measure {
        log_ok: false,
        ..saving
    };
    assert_eq!(decide_c16(&linear).0, Verdict::DoesNotHold);
}

// ---------------------------------------------------------------------------------
// C17.

fn c17_measure() -> C17Measure {
    C17Measure {
        n: 1024,
        shards: 4,
        local_err: 0.6,
        sharded_err: 1e-6,
        within_bound: true,
        sigmoid_same: true,
        bytes_one_shard: 0,
        bytes_forward: 48,
        bytes_backward: 24,
        row_bytes: 4096,
        timing: Vec::new(),
    }
}

#[test]
fn c17_every_verdict() {
    let m = c17_measure();
    let (v, e) = decide_c17(&m);
    assert_eq!(v, Verdict::Holds, "{e}");
    assert!(
        e.contains("48 bytes per row forward") && e.contains("24 backward"),
        "{e}"
    );
    assert!(e.contains("0 for one shard"), "{e}");
    assert!(e.contains("not measured"), "{e}");
    let loose = C17Measure {
        within_bound: false,
        ..m.clone()
    };
    assert_eq!(decide_c17(&loose).0, Verdict::HoldsWithCaveats);
    let one_shard_talks = C17Measure {
        bytes_one_shard: 8,
        ..m.clone()
    };
    assert_eq!(decide_c17(&one_shard_talks).0, Verdict::HoldsWithCaveats);
    // A shard alone already right: no synchronisation needed, the claim fails.
    let local_right = C17Measure {
        local_err: 1e-4,
        ..m.clone()
    };
    assert_eq!(decide_c17(&local_right).0, Verdict::DoesNotHold);
    let sigmoid_differs = C17Measure {
        sigmoid_same: false,
        ..m.clone()
    };
    assert_eq!(decide_c17(&sigmoid_differs).0, Verdict::DoesNotHold);
    // Timing: the phases apart, per shard count.
    let timed = C17Measure {
        timing: vec![ShardTiming {
            dtype: DType::F32,
            n: 65536,
            shards: 4,
            bytes: 72,
            unsharded_ns: 40000.0,
            serial_ns: 44000.0,
            shard_work_ns: 11000.0,
            merge_ns: 20.0,
        }],
        ..m
    };
    let (v, e) = decide_c17(&timed);
    assert_eq!(v, Verdict::Holds);
    assert!(
        e.contains("one shard's work 11000 ns + merge 20.0 ns"),
        "{e}"
    );
    assert!(e.contains("serial 0.909× unsharded"), "{e}");
}

#[test]
fn c17_reads_the_phases_from_the_sharded_table() {
    let dir = scratch_dir("c17");
    let recs: Vec<ShardedRecord> = [(1usize, 0.95, 40000.0, 15.0), (4, 0.9, 10500.0, 30.0)]
        .into_iter()
        .map(|(k, ratio, work, merge)| ShardedRecord {
            scenario: "throughput".into(),
            variant: "sharded_softmax".into(),
            dtype: DType::F32,
            n: 65536,
            shards: k,
            bytes_exchanged_per_row: softmax_lab_logsumexp::sharded::bytes_exchanged(k, DType::F32),
            elems_per_s: 1e9 * ratio,
            ratio_to_unsharded: ratio,
            samples: 5,
            shard_work_ns_per_row: work,
            merge_ns_per_row: merge,
        })
        .collect();
    let t = Table::from_records("sharded", &recs);
    write_results_file(&dir, "throughput.json", "throughput", vec![t]);
    let f = run_claim(c17, &dir);
    assert_eq!(f.verdict, Verdict::Holds, "{}", f.evidence);
    assert!(f.evidence.contains("k = 1: 0 B"), "{}", f.evidence);
    assert!(f.evidence.contains("k = 4: 72 B"), "{}", f.evidence);
    let work = f.tables[0].column("merge_ns_per_row").unwrap_or(usize::MAX);
    let merges: Vec<f64> = f.tables[0]
        .rows
        .iter()
        .filter_map(|r| r[work].as_f64())
        .filter(|v| v.is_finite())
        .collect();
    assert_eq!(merges, vec![15.0, 30.0]);
}

// ---------------------------------------------------------------------------------
// C18.

fn size(n: usize, sigmoid: f64, hard: f64, relu: f64) -> SizeSpeeds {
    let iv = |m: f64| (m, 0.95 * m, 1.05 * m);
    SizeSpeeds {
        n,
        in_cache: true,
        sigmoid: iv(sigmoid),
        hard: iv(hard),
        relu: iv(relu),
    }
}

fn c18_measure() -> C18Measure {
    C18Measure {
        sigmoid_id: "sigmoid_simd".into(),
        intrinsic: 0.0692,
        intrinsic_at: -1.27,
        implementation: vec![(DType::F32, 0.0692, 0.5), (DType::BF16, 0.071, 1.0)],
        sizes: vec![size(1024, 2e9, 3e9, 9e9), size(4096, 2e9, 3.2e9, 8e9)],
    }
}

#[test]
fn c18_every_verdict() {
    let m = c18_measure();
    let (v, e) = decide_c18(&m);
    assert_eq!(v, Verdict::Holds, "{e}");
    assert!(
        e.contains("off σ by up to 0.0692 in exact arithmetic"),
        "{e}"
    );
    assert!(e.contains("sigmoid_simd is slower than relu"), "{e}");
    // The implementation off its own formula: caveats, not a failure.
    let off = C18Measure {
        implementation: vec![(DType::F32, 0.09, 40.0)],
        ..m.clone()
    };
    assert_eq!(decide_c18(&off).0, Verdict::HoldsWithCaveats);
    // Hard sigmoid not faster at one size of two: caveats, and the size is named.
    let mixed = C18Measure {
        sizes: vec![
            size(1024, 2e9, 3e9, 9e9),
            size(4194304, 1.9e9, 1.1e9, 2.9e9),
        ],
        ..m.clone()
    };
    let (v, e) = decide_c18(&mixed);
    assert_eq!(v, Verdict::HoldsWithCaveats);
    assert!(e.contains("not faster at n = 4194304"), "{e}");
    // Sigmoid as fast as relu everywhere: does not hold.
    let fast = C18Measure {
        sizes: vec![size(1024, 9e9, 9.5e9, 9e9)],
        ..m.clone()
    };
    assert_eq!(decide_c18(&fast).0, Verdict::DoesNotHold);
    // Hard sigmoid never faster: does not hold.
    let slow_hard = C18Measure {
        sizes: vec![size(1024, 2e9, 1e9, 9e9)],
        ..m.clone()
    };
    assert_eq!(decide_c18(&slow_hard).0, Verdict::DoesNotHold);
    let untimed = C18Measure {
        sizes: Vec::new(),
        ..m
    };
    assert_eq!(decide_c18(&untimed).0, Verdict::NotTested);
}

fn throughput_record(variant: &str, n: usize, eps: f64) -> ThroughputRecord {
    ThroughputRecord {
        scenario: "throughput".into(),
        variant: variant.into(),
        family: "sigmoid-heads".into(),
        function: "sigmoid".into(),
        dtype: DType::F32,
        n,
        rows: 16,
        threads: 1,
        direction: Direction::Forward,
        working_set_bytes: n * 16 * 8,
        in_cache: true,
        elems_per_s: eps,
        elems_per_s_ci95_low: 0.9 * eps,
        elems_per_s_ci95_high: 1.1 * eps,
        bytes_per_s: 8.0 * eps,
        ratio_to_memcpy: f64::NAN,
        ratio_to_candle: f64::NAN,
        memcpy_elems_per_s: f64::NAN,
        candle_variant: String::new(),
        candle_elems_per_s: f64::NAN,
        ns_per_elem: 1e9 / eps,
        samples: 15,
        llc_bytes: 0,
        isa: "portable".into(),
        timing: "runner".into(),
    }
}

#[test]
fn c18_times_the_fast_sigmoid_and_states_hard_sigmoids_intrinsic_error() {
    let dir = scratch_dir("c18");
    let f = run_claim(c18, &dir);
    assert_eq!(f.verdict, Verdict::NotTested);
    assert!(f.evidence.contains("throughput.json"), "{}", f.evidence);
    // relu6(x+3)/6 against σ in exact arithmetic: 0.0692 at |x| ≈ 1.32 (the grid's
    // step is 1/256).
    let t = &f.tables[0];
    let e = t.column("max_abs_error_vs_sigmoid").unwrap_or(usize::MAX);
    let intrinsic = t.rows[0][e].as_f64().unwrap_or(f64::NAN);
    assert!((intrinsic - 0.0692).abs() < 5e-4, "{intrinsic}");
    // Its implementation is within two ulps of 1 of the formula in every dtype.
    let u = t
        .column("max_error_vs_formula_ulps_of_one")
        .unwrap_or(usize::MAX);
    for r in &t.rows[1..] {
        let ulps = r[u].as_f64().unwrap_or(f64::NAN);
        assert!(ulps <= 2.0, "{ulps}");
    }
    // The scalar sigmoid (f64 inside) is not what is timed: with only its rows the
    // cost is not tested; with sigmoid_simd's it is.
    let scalar = vec![
        throughput_record("sigmoid", 4096, 1e8),
        throughput_record("hard_sigmoid", 4096, 3e9),
        throughput_record("relu", 4096, 9e9),
    ];
    let t = Table::from_records("throughput", &scalar);
    write_results_file(&dir, "throughput.json", "throughput", vec![t]);
    assert_eq!(run_claim(c18, &dir).verdict, Verdict::NotTested);
    let mut fast = scalar;
    fast.push(throughput_record("sigmoid_simd", 4096, 2e9));
    let t = Table::from_records("throughput", &fast);
    write_results_file(&dir, "throughput.json", "throughput", vec![t]);
    let f = run_claim(c18, &dir);
    assert_eq!(f.verdict, Verdict::Holds, "{}", f.evidence);
    assert_eq!(f.figure, "plots/throughput_throughput_sigmoid.svg");
    assert!(
        f.evidence.contains("relu 4.50–4.50× its speed"),
        "{}",
        f.evidence
    );
}
