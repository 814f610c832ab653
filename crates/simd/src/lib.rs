//! Fast kernels (work in progress).

use softmax_lab_core::Registry;

/// Register this family's variants.
pub fn register(_r: &mut Registry) {}
