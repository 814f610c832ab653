//! The training study (work in progress).
