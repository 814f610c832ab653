//! Resource limits of a run: the peak-memory estimate of a scenario (printed by
//! `validate` and checked against the memory a run may use), the memory available
//! on this machine, and the cap on thread counts.
//!
//! The estimate is deliberately simple and errs high: a fixed base for the
//! process plus, for the largest batch the scenario builds, its element count
//! times a per-element cost measured for each kind (see the constants). Its purpose
//! is to refuse a scenario that cannot fit before it allocates, not to predict a
//! run's resident size to the megabyte.

use softmax_lab_core::{Accumulation, DType, VariantInfo};

use crate::scenario::Scenario;

/// The largest thread count a throughput scenario may list: beyond it a run spends
/// its time creating threads (issue 18: `threads = [100000]` hung for minutes).
pub const MAX_THREADS: usize = 256;

/// Bytes the process holds before any batch (binary, registry, candle, buffers of
/// the reports): 11 MiB resident measured for an 8-element accuracy run (with the
/// report), taken with a wide margin.
pub const BASE_BYTES: u64 = 64 << 20;

/// Bytes per element of one accuracy or overflow batch: the generated f64 values,
/// the double-double reference, every variant's output in the dtype and as f64,
/// and the per-element errors (measured: 73 B per element, maximum resident size
/// of a 16 × 65536 f32 `stable` run; twice that for variants held side by side).
pub const ROW_BYTES_PER_ELEM: u64 = 160;

/// Bytes per element of one gradients batch: the forward's, plus the upstream
/// gradient, each variant's dx, the reference VJP and the finite differences
/// (measured: 183 B per element on the same run as gradients).
pub const GRAD_BYTES_PER_ELEM: u64 = 320;

/// Bytes per element of one throughput case: input, output, upstream gradient and
/// dx in the dtype, the generated f64 values, candle's tensors.
pub const THROUGHPUT_BYTES_PER_ELEM: u64 = 64;

/// What a scenario's peak memory is dominated by (so that an error can point at
/// the field to change).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Term {
    /// The process base: nothing the scenario chose.
    Base,
    /// A row length `n` (its value).
    N(usize),
    /// The `rows` of a point (with the largest `n`).
    Rows,
    /// `throughput.bytes_per_case`.
    BytesPerCase,
    /// A `throughput.hsoftmax_vocab` value.
    HsoftmaxVocab(usize),
    /// `throughput.hsoftmax_dim`.
    HsoftmaxDim,
}

/// A scenario's estimated peak memory and what dominates it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Estimate {
    /// Estimated peak bytes (saturating: a huge input gives `u64::MAX`, never a wrap).
    pub bytes: u64,
    /// The term that dominates.
    pub term: Term,
}

/// a × b, saturating.
pub(crate) fn mul(a: u64, b: u64) -> u64 {
    a.saturating_mul(b)
}

/// The terms of a kind that measures batches of `rows` rows of each `n`, at
/// `per_elem` bytes per element: for each n, the batch's bytes, blamed on `n`
/// when one row alone makes up most of it, else on `rows`.
pub fn rows_terms(s: &Scenario, per_elem: u64, consider: &mut dyn FnMut(u64, Term)) {
    for &n in &s.n {
        let one_row = mul(n as u64, per_elem);
        let batch = mul(one_row, s.rows as u64);
        // A row that alone is too large is the fault of `n`; otherwise of `rows`.
        let term = if one_row.saturating_mul(2) >= batch {
            Term::N(n)
        } else {
            Term::Rows
        };
        consider(batch, term);
    }
}

/// The peak memory of running `s`, estimated from its sizes (see the module doc).
/// `llc_bytes` is the last-level cache size (out-of-cache throughput cases rotate
/// through buffers spanning twice it).
pub fn estimate(s: &Scenario, llc_bytes: u64) -> Estimate {
    let mut best = Estimate {
        bytes: 0,
        term: Term::Base,
    };
    let mut consider = |bytes: u64, term: Term| {
        if bytes > best.bytes {
            best = Estimate { bytes, term };
        }
    };
    crate::kinds::of(s.kind).memory_terms(s, llc_bytes, &mut consider);
    Estimate {
        bytes: best.bytes.saturating_add(BASE_BYTES),
        term: best.term,
    }
}

/// The dtype a variant's arithmetic runs in for storage dtype `dtype`, by its
/// accumulation policy (the temperature is applied in it).
pub fn compute_dtype(accumulation: Accumulation, dtype: DType) -> DType {
    match accumulation {
        Accumulation::Storage | Accumulation::Framework => dtype,
        Accumulation::F32ForHalf => match dtype {
            DType::F16 | DType::BF16 => DType::F32,
            other => other,
        },
        Accumulation::Wide | Accumulation::F64 => DType::F64,
    }
}

/// Whether arithmetic in `compute` can use temperature `t`: `t` rounds to a
/// positive value there and its reciprocal is finite there (else x / T is ±inf or
/// NaN for every x, and the output all NaN or all zero).
pub fn temperature_usable(t: f64, compute: DType) -> bool {
    let tc = compute.format().round_f64(t);
    tc > 0.0 && compute.format().round_f64(1.0 / tc).is_finite()
}

/// The smallest temperature [`temperature_usable`] accepts in `compute` (about
/// 1 / the largest finite value), for messages.
pub fn min_temperature(compute: DType) -> f64 {
    let mut t = 1.0 / compute.format().max_finite();
    // Rounding of t and of 1/t may push the bound up by a few ulps.
    while !temperature_usable(t, compute) {
        t = f64::from_bits(t.to_bits() + (1 << 40));
    }
    t
}

/// An error message when variant `info` cannot use temperature `t` in `dtype`.
pub fn check_temperature(t: f64, info: &VariantInfo, dtype: DType) -> Result<(), String> {
    let compute = compute_dtype(info.accumulation, dtype);
    if temperature_usable(t, compute) {
        return Ok(());
    }
    Err(format!(
        "temperature {t:e} is too small for variant '{}' in {}: it computes in {}, where 1/T \
         overflows; the temperature must be >= {:.4e}",
        info.id,
        dtype.name(),
        compute.name(),
        min_temperature(compute)
    ))
}

/// What a run may use: `max_memory_bytes` (from `--max-memory`, else the memory
/// this machine has available now; `None`: unknown, nothing is checked).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The most memory a run may use, bytes.
    pub max_memory_bytes: Option<u64>,
}

impl Limits {
    /// The memory available on this machine now (Linux: `MemAvailable`).
    pub fn machine() -> Limits {
        Limits {
            max_memory_bytes: available_memory_bytes(),
        }
    }

    /// `--max-memory` when given, else [`Limits::machine`].
    pub fn with_max_memory(max_memory_bytes: Option<u64>) -> Limits {
        match max_memory_bytes {
            Some(b) => Limits {
                max_memory_bytes: Some(b),
            },
            None => Limits::machine(),
        }
    }
}

/// `MemAvailable` of /proc/meminfo in bytes (None where it cannot be read).
pub fn available_memory_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line
        .trim_start_matches("MemAvailable:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib.saturating_mul(1024))
}

/// A size as written on the command line: a whole number of bytes with an optional
/// suffix K, M, G, T (powers of 1024; `KiB`, `MB`... accepted alike), e.g. `8G`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, suffix) = t.split_at(digits);
    let bad = || {
        format!("invalid size '{text}': expected a whole number of bytes with an optional K, M, G or T suffix, e.g. 8G")
    };
    let number: u64 = number.parse().map_err(|_| bad())?;
    let shift = match suffix.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        "T" | "TB" | "TIB" => 40,
        _ => return Err(bad()),
    };
    number.checked_mul(1 << shift).ok_or_else(bad)
}

/// Bytes for people: `512 B`, `3.0 MiB`, `14.9 TiB`.
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_suffixes_and_reject_the_rest() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("8G"), Ok(8 << 30));
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("2k"), Ok(2048));
        for bad in ["", "G", "1.5G", "-1", "8X", "99999999999T"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn temperatures_must_have_a_finite_reciprocal_in_the_compute_dtype() {
        // The cases of issue 18: 1e-320 in f32 (1/T overflows even f64), 1e-40 in
        // f16 computed in f32.
        assert!(!temperature_usable(1e-320, DType::F64));
        assert!(!temperature_usable(1e-40, DType::F32));
        assert!(temperature_usable(1e-38, DType::F32));
        assert!(temperature_usable(1e-300, DType::F64));
        assert_eq!(
            compute_dtype(Accumulation::F32ForHalf, DType::F16),
            DType::F32
        );
        assert_eq!(compute_dtype(Accumulation::Storage, DType::F16), DType::F16);
        assert_eq!(compute_dtype(Accumulation::Wide, DType::F32), DType::F64);
        for d in DType::ALL {
            let m = min_temperature(d);
            assert!(temperature_usable(m, d), "{d:?}");
            assert!(!temperature_usable(m / 2.0, d), "{d:?}");
            // 1/max is subnormal in bf16 (spacing 2^-133, 3% there): allow two steps.
            let (lo, hi) = (
                0.99 / d.format().max_finite(),
                1.01 / d.format().max_finite() + 2.0 * d.format().min_subnormal(),
            );
            assert!(m > lo && m < hi, "{d:?} {m}");
        }
    }

    #[test]
    fn bytes_format_in_binary_units() {
        assert_eq!(format_bytes(512), "512 B");
        assert_eq!(format_bytes(3 << 20), "3.0 MiB");
        assert_eq!(format_bytes(1536), "1.5 KiB");
        assert_eq!(format_bytes(u64::MAX), "16.0 EiB");
    }
}
