//! Which instruction-set path runs, chosen once per process.
//!
//! [`Isa::active`] detects the CPU's features on first use and caches the choice;
//! the environment variable `SOFTMAX_LAB_SIMD=portable` forces the portable path
//! (to test it on a machine that has AVX2). Adding a path (AVX-512, NEON) is one
//! module implementing `Simd`, one `Isa` variant and one arm in [`run`].

use std::sync::OnceLock;

use crate::simd::{Portable, Simd};

/// An instruction-set path of this crate's kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Isa {
    /// x86_64 with AVX2, FMA and F16C: 8 f32 lanes, fused multiply-add, hardware
    /// f16 conversion.
    Avx2Fma,
    /// Fixed-width loops over 8 lanes that compile to SSE2 on x86_64 and to the
    /// target's own vectors (or scalar code) elsewhere; no fused multiply-add.
    Portable,
}

impl Isa {
    /// Every path, fastest first.
    pub const ALL: [Isa; 2] = [Isa::Avx2Fma, Isa::Portable];

    /// The name used in reports and in `SOFTMAX_LAB_SIMD`.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Avx2Fma => "avx2_fma",
            Isa::Portable => "portable",
        }
    }

    /// Whether this path can run on this CPU.
    pub fn is_available(self) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => crate::avx2::detected(),
            #[cfg(not(target_arch = "x86_64"))]
            Isa::Avx2Fma => false,
            Isa::Portable => true,
        }
    }

    /// The path the variants use: the fastest available one, unless
    /// `SOFTMAX_LAB_SIMD=portable`; detected once, then cached.
    pub fn active() -> Isa {
        static ACTIVE: OnceLock<Isa> = OnceLock::new();
        *ACTIVE.get_or_init(|| {
            let forced = std::env::var("SOFTMAX_LAB_SIMD").ok();
            if forced.as_deref() == Some(Isa::Portable.name()) {
                return Isa::Portable;
            }
            Isa::ALL
                .into_iter()
                .find(|i| i.is_available())
                .unwrap_or(Isa::Portable)
        })
    }
}

impl std::fmt::Display for Isa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A computation written once for every path: `with_simd` is called with the
/// token of the chosen path. Implementations mark `with_simd` `#[inline(always)]`
/// so that the whole kernel is compiled inside the path's `#[target_feature]`
/// entry point.
pub trait WithSimd {
    /// What the computation returns.
    type Output;
    /// Run with the vector token `s`.
    fn with_simd<S: Simd>(self, s: S) -> Self::Output;
}

/// Run `w` on the path `isa` (the portable path when `isa` is not available here).
#[inline]
pub fn run<W: WithSimd>(isa: Isa, w: W) -> W::Output {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => crate::avx2::run(w),
        _ => w.with_simd(Portable),
    }
}
