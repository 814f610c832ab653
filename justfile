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

# The main job: the default scenario suite into reports/results/ (about 10 minutes on two cores).
run:
    cargo run --release

# Compare two runs (results folders or report folders holding results/):
# what got slower, what got less accurate, which verdict moved.
compare BASE NEW:
    cargo run --release -- compare {{BASE}} {{NEW}} --out compare

# Regenerate the quick baseline CI compares against (on purpose, when results
# change): the quick suite with the binary CI uses, into reports/baseline-quick
# (results only; training is left out: compare has no rule for it).
baseline-quick:
    rm -rf reports/baseline-quick
    cargo run -- run --quick --out reports/baseline-quick
    rm -rf reports/baseline-quick/plots reports/baseline-quick/index.md reports/baseline-quick/index.html reports/baseline-quick/.softmax-lab.lock reports/baseline-quick/results/training.*

# The default suite in quick mode (about 1.5 minutes on two cores).
run-quick:
    cargo run --release -- run --quick

# Check the shipped scenarios without running them.
validate:
    cargo run --release -- validate scenarios/*.toml

# What CI runs.
ci:
    bash .ci/run

# Benchmarks: the criterion benches (HTML in target/criterion/report/), the
# throughput scenario (ratios to a memory copy and to candle) and the report.
bench:
    cargo bench --bench bench_main
    cargo run --release -- run scenarios/throughput.toml
    cargo run --release -- report

# The same in a few minutes: criterion's quick mode, the quick throughput scenario.
bench-quick:
    cargo bench --bench bench_main -- --quick --warm-up-time 0.2 --measurement-time 0.5
    cargo run --release -- run --quick scenarios/throughput.toml
    cargo run --release -- report

# Regenerate reports/ (plots, index.md, index.html) from reports/results/ without running anything.
report:
    cargo run --release -- report

# Fuzz the scenario and eval parsers for ten minutes (mutated shipped scenarios
# and eval inputs; FUZZ_SEED picks the seed, FUZZ_SECONDS the duration).
fuzz:
    FUZZ_SECONDS="${FUZZ_SECONDS:-600}" cargo test --release -p softmax-lab-cli --test fuzz -- --ignored --nocapture

# The exhaustive check of the sigmoid over every finite f32 input (tens of minutes on two cores).
exhaustive:
    cargo test --release -p softmax-lab --test accuracy -- --ignored --nocapture

# Issue 19's peers. peers-venv installs numpy, then onnx and onnxruntime, then torch
# (CPU wheels from the PyTorch index, else PyPI's default wheel) into .venv-peers; a
# package that does not install is left out (its peers answer "unavailable").
# Create or update the Python peers' virtual environment (.venv-peers).
peers-venv:
    #!/usr/bin/env bash
    set -euo pipefail
    if [ ! -x .venv-peers/bin/python ]; then
        python3 -m venv .venv-peers || { echo "error: python3 -m venv failed (Debian/Ubuntu: apt-get install python3-venv)" >&2; exit 1; }
    fi
    pip=".venv-peers/bin/python -m pip"
    $pip install --upgrade pip
    $pip install numpy
    $pip install onnx onnxruntime || echo "warning: onnx/onnxruntime did not install: the ort_* peers will be unavailable" >&2
    $pip install torch --index-url https://download.pytorch.org/whl/cpu --retries 1 --timeout 30 \
        || $pip install torch \
        || echo "warning: torch did not install: the torch_* peers will be unavailable" >&2

# Every scenario in scenarios/peers/ into reports/peers/ (pip freeze in
# reports/peers/versions.txt), then the report, whose Peers section reads reports/peers/.
# The peers study: NumPy, PyTorch and ONNX Runtime beside the built-in variants.
peers: peers-venv
    #!/usr/bin/env bash
    set -uo pipefail
    mkdir -p reports/peers
    { echo "# python $(.venv-peers/bin/python -c 'import platform; print(platform.python_version())')"; .venv-peers/bin/python -m pip freeze; } > reports/peers/versions.txt
    PATH="$PWD/.venv-peers/bin:$PATH" cargo run --release -- run scenarios/peers --out reports/peers
    status=$?
    cargo run --release -- report || exit $?
    exit $status

# No cargo: each declared peer driven through the protocol, checked against float64.
# Self-test of the Python adapters in .venv-peers.
peers-check: peers-venv
    .venv-peers/bin/python adapters/python/selftest.py
