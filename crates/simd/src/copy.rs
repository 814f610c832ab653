//! A memory copy written as a vector loop, the bandwidth reference of the
//! throughput scenario next to the C library's `memcpy`.
//!
//! Why a second copy: on the machine this project was developed on (an AMD EPYC
//! VM with FSRM), glibc's `memcpy` takes its `rep movsb` path for sizes between a
//! few KiB and the non-temporal threshold, and that path moved 2.4 GB/s for
//! in-cache f32 buffers — slower than a softmax — while a 32-byte load/store loop
//! moves over 30 GB/s. A reference that is beaten by the code it judges says
//! nothing about the machine's limit, so the harness measures both and divides
//! by the faster. The loop below uses plain (temporal) stores, as the kernels do.
//!
//! The compiler is kept from turning the loop back into a `memcpy` call (LLVM's
//! loop-idiom pass recognises load/store loops) by a compiler fence per block: it
//! emits no instruction, but a loop with one is not an idiom.

use std::sync::atomic::{compiler_fence, Ordering};

use crate::dispatch::Isa;

/// Bytes per block of the loop: four 32-byte vectors.
const BLOCK: usize = 128;

/// The lengths of the two slices differ.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("copy: source has {src} bytes but destination has {dst}")]
pub struct CopyError {
    /// Source length in bytes.
    pub src: usize,
    /// Destination length in bytes.
    pub dst: usize,
}

/// Element types whose values are plain bytes (no padding, every bit pattern
/// copied is the value copied), so a byte copy of a slice copies its values.
pub trait Plain: Copy + private::Sealed {}

mod private {
    /// Only the types listed here are [`super::Plain`].
    pub trait Sealed {}
}

macro_rules! plain {
    ($($t:ty),*) => {$(
        impl private::Sealed for $t {}
        impl Plain for $t {}
    )*};
}
plain!(u8, half::f16, half::bf16, f32, f64);

/// Copy the values of `src` into `dst` with [`copy_bytes`]'s vector loop.
pub fn copy<T: Plain>(src: &[T], dst: &mut [T]) -> Result<(), CopyError> {
    // SAFETY: `Plain` types have no padding and no invalid bit patterns among
    // the values being copied (each byte written comes from a valid T at the same
    // offset), the views cover exactly the slices' memory, and `src` and `dst`
    // cannot overlap (one is borrowed mutably).
    let (s, d) = unsafe {
        (
            std::slice::from_raw_parts(src.as_ptr().cast::<u8>(), std::mem::size_of_val(src)),
            std::slice::from_raw_parts_mut(
                dst.as_mut_ptr().cast::<u8>(),
                std::mem::size_of_val(dst),
            ),
        )
    };
    copy_bytes(s, d)
}

/// Copy `src` into `dst` with a vector load/store loop (AVX2 when the active
/// path has it, 16-byte moves otherwise); never calls `memcpy` for the bulk.
pub fn copy_bytes(src: &[u8], dst: &mut [u8]) -> Result<(), CopyError> {
    if src.len() != dst.len() {
        return Err(CopyError {
            src: src.len(),
            dst: dst.len(),
        });
    }
    match Isa::active() {
        #[cfg(target_arch = "x86_64")]
        // The AVX-512 path copies with 32-byte moves too: a copy is bound by
        // memory, not by the width of a move.
        Isa::Avx512 | Isa::Avx2Fma => crate::avx2::copy_bytes(src, dst),
        _ => copy_portable(src, dst),
    }
    Ok(())
}

/// The portable loop: blocks of 128 bytes as arrays of u128 (16-byte moves).
fn copy_portable(src: &[u8], dst: &mut [u8]) {
    let mut s = src.chunks_exact(BLOCK);
    let mut d = dst.chunks_exact_mut(BLOCK);
    for (sc, dc) in (&mut s).zip(&mut d) {
        for (sw, dw) in sc.chunks_exact(16).zip(dc.chunks_exact_mut(16)) {
            let mut w = [0u8; 16];
            w.copy_from_slice(sw);
            dw.copy_from_slice(&u128::from_ne_bytes(w).to_ne_bytes());
        }
        compiler_fence(Ordering::SeqCst);
    }
    d.into_remainder().copy_from_slice(s.remainder());
}

/// The AVX2 loop's block size, for the AVX2 module.
pub(crate) const AVX2_BLOCK: usize = BLOCK;

/// A fence per block (see the module docs), for the AVX2 module.
#[inline(always)]
pub(crate) fn block_fence() {
    compiler_fence(Ordering::SeqCst);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_every_length_and_alignment_exactly() {
        let src: Vec<u8> = (0..1000u32).map(|i| (i * 37 % 251) as u8).collect();
        for off in [0, 1, 3, 16] {
            for len in [0, 1, 31, 127, 128, 129, 255, 256, 300, 900] {
                let s = &src[off..off + len];
                let mut d = vec![0xAAu8; len + 2];
                copy_bytes(s, &mut d[1..len + 1]).unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(&d[1..len + 1], s, "off {off} len {len}");
                assert_eq!((d[0], d[len + 1]), (0xAA, 0xAA), "wrote outside");
                let mut p = vec![0u8; len];
                copy_portable(s, &mut p);
                assert_eq!(&p[..], s);
            }
        }
        let f: Vec<f32> = (0..77).map(|i| i as f32 * 0.5 - 3.0).collect();
        let mut g = vec![f32::NAN; 77];
        copy(&f, &mut g).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f, g);
        assert_eq!(
            copy_bytes(&[1, 2], &mut [0]),
            Err(CopyError { src: 2, dst: 1 })
        );
    }
}
