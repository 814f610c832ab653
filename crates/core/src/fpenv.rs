//! How this thread's floating-point unit treats subnormal numbers, and a guard that
//! sets flush-to-zero (FTZ: subnormal results become 0) and denormals-are-zero
//! (DAZ: subnormal inputs read as 0) for the span of one call, as code built with
//! `-ffast-math` or run on some accelerators does.
//!
//! On x86_64 both are bits of the MXCSR register (FTZ bit 15, DAZ bit 6), which
//! every SSE and AVX instruction (scalar f64/f32 arithmetic included) obeys; the
//! guard saves the register, sets the bits and writes the saved value back when it
//! is dropped, so nothing outside the call runs with them. The register is per
//! thread: a kernel that hands work to other threads runs those parts without the
//! bits. Elsewhere [`FlushGuard::supported`] is false and the guard does nothing.
//!
//! The compiler assumes the default environment: operations it folds at compile
//! time keep gradual underflow. That is why the guard wraps only a variant's call,
//! never the reference (double-double arithmetic on subnormal inputs would read
//! them as 0 under DAZ).

use std::hint::black_box;

#[cfg(target_arch = "x86_64")]
mod mxcsr {
    /// Flush-to-zero (bit 15).
    pub const FTZ: u32 = 1 << 15;
    /// Denormals-are-zero (bit 6).
    pub const DAZ: u32 = 1 << 6;

    pub fn get() -> u32 {
        let mut v: u32 = 0;
        // SAFETY: stmxcsr stores the 32-bit register to the valid, aligned `v`.
        unsafe {
            std::arch::asm!("stmxcsr [{}]", in(reg) &mut v, options(nostack, preserves_flags));
        }
        v
    }

    pub fn set(v: u32) {
        // SAFETY: ldmxcsr loads from the valid `v`; the values written are a saved
        // register or one with only FTZ/DAZ changed (no reserved bit set).
        unsafe {
            std::arch::asm!("ldmxcsr [{}]", in(reg) &v, options(nostack, preserves_flags));
        }
    }
}

/// FTZ and DAZ set for as long as the guard lives (when asked and supported), the
/// previous state restored on drop.
#[must_use = "the bits are cleared again when the guard is dropped"]
pub struct FlushGuard {
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    saved: Option<u32>,
}

impl FlushGuard {
    /// Whether this target can set FTZ/DAZ (x86_64).
    pub const fn supported() -> bool {
        cfg!(target_arch = "x86_64")
    }

    /// Set FTZ and DAZ on this thread when `flush` is true (and the target can);
    /// otherwise leave the environment as it is.
    pub fn new(flush: bool) -> FlushGuard {
        #[cfg(target_arch = "x86_64")]
        if flush {
            let saved = mxcsr::get();
            mxcsr::set(saved | mxcsr::FTZ | mxcsr::DAZ);
            return FlushGuard { saved: Some(saved) };
        }
        let _ = flush;
        FlushGuard { saved: None }
    }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        #[cfg(target_arch = "x86_64")]
        if let Some(v) = self.saved {
            mxcsr::set(v);
        }
    }
}

/// Whether arithmetic on this thread now flushes subnormal results to zero
/// (f64::MIN_POSITIVE / 2 computed at run time comes out 0).
pub fn flushes_results() -> bool {
    black_box(black_box(f64::MIN_POSITIVE) / 2.0) == 0.0
}

/// Whether arithmetic on this thread now reads subnormal inputs as zero (the
/// smallest subnormal times 2^60 comes out 0).
pub fn zeroes_inputs() -> bool {
    black_box(black_box(f64::from_bits(1)) * (1u64 << 60) as f64) == 0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guard_sets_both_and_restores_the_default() {
        assert!(
            !flushes_results() && !zeroes_inputs(),
            "default: gradual underflow"
        );
        {
            let _g = FlushGuard::new(false);
            assert!(!flushes_results() && !zeroes_inputs());
        }
        if FlushGuard::supported() {
            {
                let _g = FlushGuard::new(true);
                assert!(flushes_results(), "FTZ set");
                assert!(zeroes_inputs(), "DAZ set");
                // The f32 path obeys the same register.
                let tiny = black_box(f32::MIN_POSITIVE);
                assert_eq!(black_box(tiny / 4.0), 0.0);
            }
            assert!(!flushes_results() && !zeroes_inputs(), "restored on drop");
        } else {
            eprintln!("skipped: FTZ/DAZ cannot be set on this target");
        }
    }
}
