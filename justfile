# softmax-lab recipes. Install just with `cargo install just` (or `apt-get install just`).

# List the recipes.
default:
    @just --list

# Every test in the workspace (the README's test command).
test:
    cargo test --workspace

# Lints and formatting, as CI checks them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# The main job (for now: an eval of the folklore example).
run:
    cargo run --release

# What CI runs.
ci:
    bash .ci/run

# The exhaustive check of the sigmoid over every finite f32 input (minutes).
exhaustive:
    cargo test --release -p softmax-lab --test accuracy -- --ignored --nocapture
