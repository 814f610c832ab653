//! Which instruction-set path runs, chosen once per process.
//!
//! [`Isa::active`] detects the CPU's features on first use and caches the choice;
//! the environment variable `SOFTMAX_LAB_SIMD` forces a slower path (`avx2` or
//! `avx2_fma`, `portable`) to measure or test it on a machine that has a faster
//! one; a name that is not a path here, or a path this CPU lacks, is ignored.
//! Adding a path (NEON) is one module implementing `Simd`, one `Isa` variant and
//! one arm in [`run`].

use std::sync::OnceLock;

use crate::simd::{Portable, Simd};

/// An instruction-set path of this crate's kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Isa {
    /// x86_64 with AVX-512 F, BW, DQ and VL: 16 f32 lanes, fused multiply-add,
    /// hardware f16 conversion, and AVX512_BF16's bf16 rounding where present.
    Avx512,
    /// x86_64 with AVX2, FMA and F16C: 8 f32 lanes, fused multiply-add, hardware
    /// f16 conversion.
    Avx2Fma,
    /// Fixed-width loops over 8 lanes that compile to SSE2 on x86_64 and to the
    /// target's own vectors (or scalar code) elsewhere; no fused multiply-add.
    Portable,
}

impl Isa {
    /// Every path, fastest first.
    pub const ALL: [Isa; 3] = [Isa::Avx512, Isa::Avx2Fma, Isa::Portable];

    /// The name used in reports and in `SOFTMAX_LAB_SIMD`.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Avx512 => "avx512",
            Isa::Avx2Fma => "avx2_fma",
            Isa::Portable => "portable",
        }
    }

    /// Whether this path can run on this CPU.
    pub fn is_available(self) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => crate::avx512::detected(),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => crate::avx2::detected(),
            #[cfg(not(target_arch = "x86_64"))]
            Isa::Avx512 | Isa::Avx2Fma => false,
            Isa::Portable => true,
        }
    }

    /// The path named `name` in `SOFTMAX_LAB_SIMD`: its [`Isa::name`], or `avx2`
    /// for [`Isa::Avx2Fma`].
    pub fn from_name(name: &str) -> Option<Isa> {
        match name {
            "avx2" => Some(Isa::Avx2Fma),
            _ => Isa::ALL.into_iter().find(|i| i.name() == name),
        }
    }

    /// The path chosen for an optional `SOFTMAX_LAB_SIMD` value: the named path
    /// when it is known and available here, else the fastest available one.
    pub fn choose(forced: Option<&str>) -> Isa {
        forced
            .and_then(Isa::from_name)
            .filter(|i| i.is_available())
            .or_else(|| Isa::ALL.into_iter().find(|i| i.is_available()))
            .unwrap_or(Isa::Portable)
    }

    /// The path the variants use: the fastest available one, unless
    /// `SOFTMAX_LAB_SIMD` names another; detected once, then cached.
    pub fn active() -> Isa {
        static ACTIVE: OnceLock<Isa> = OnceLock::new();
        *ACTIVE.get_or_init(|| Isa::choose(std::env::var("SOFTMAX_LAB_SIMD").ok().as_deref()))
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
    /// Whether it stores bf16 values: only such computations are compiled a
    /// second time for AVX512_BF16's rounding conversion (see `avx512::run`).
    const WRITES_BF16: bool = false;
    /// Run with the vector token `s`.
    fn with_simd<S: Simd>(self, s: S) -> Self::Output;
}

/// Run `w` on the path `isa` (the portable path when `isa` is not available here).
#[inline]
pub fn run<W: WithSimd>(isa: Isa, w: W) -> W::Output {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => crate::avx512::run(w),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => crate::avx2::run(w),
        _ => w.with_simd(Portable),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forced_names_pick_their_path_when_available_and_are_ignored_otherwise() {
        assert_eq!(Isa::from_name("avx2"), Some(Isa::Avx2Fma));
        assert_eq!(Isa::from_name("avx2_fma"), Some(Isa::Avx2Fma));
        assert_eq!(Isa::from_name("avx512"), Some(Isa::Avx512));
        assert_eq!(Isa::from_name("portable"), Some(Isa::Portable));
        assert_eq!(Isa::from_name("sse9"), None);
        let fastest = Isa::choose(None);
        assert_eq!(Isa::choose(Some("sse9")), fastest);
        assert_eq!(Isa::choose(Some("portable")), Isa::Portable);
        let avx2 = Isa::choose(Some("avx2"));
        if Isa::Avx2Fma.is_available() {
            assert_eq!(avx2, Isa::Avx2Fma);
        } else {
            assert_eq!(avx2, fastest);
        }
        assert_eq!(
            fastest,
            Isa::ALL
                .into_iter()
                .find(|i| i.is_available())
                .unwrap_or(Isa::Portable)
        );
    }
}
