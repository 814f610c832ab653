//! softmax-lab root package: holds the criterion benches under `benches/`.
