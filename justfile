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

# The main job: the default scenario suite into reports/results/.
run:
    cargo run --release

# The default suite in quick mode (under a minute on two cores).
run-quick:
    cargo run --release -- run --quick

# Check the shipped scenarios without running them.
validate:
    cargo run --release -- validate scenarios/*.toml

# What CI runs.
ci:
    bash .ci/run

# The exhaustive check of the sigmoid over every finite f32 input (tens of minutes on two cores).
exhaustive:
    cargo test --release -p softmax-lab --test accuracy -- --ignored --nocapture
