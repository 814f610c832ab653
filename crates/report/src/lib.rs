//! The report renderer (work in progress).
