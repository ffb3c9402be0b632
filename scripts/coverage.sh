#!/usr/bin/env bash
# `make coverage`: line and region coverage of core/src with cargo-llvm-cov, over
#   1. the README's test suite (`cargo test --workspace`: core's unit tests, the integration,
#      conformance, proptest and fuzz-corpus tests, and the model bodies on real threads), and
#   2. the models under shuttle (random and PCT schedules reach the race branches that real
#      threads rarely take: CAS retries, Pending slots, a settle racing a registration).
# loom is not run under coverage: its bounded runs take minutes even uninstrumented, and the
# shuttle runs of the same bodies reach the same branches (their misses would show in the table).
#
# Writes target/coverage/summary.txt (per-file table), target/coverage/html/ and
# target/coverage/lcov.info, and regenerates proofs/COVERAGE.md (scripts/coverage_report.py)
# so that an auditor can diff runs. Fails if any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup component list --installed | grep -q '^llvm-tools' || rustup component add llvm-tools-preview
command -v cargo-llvm-cov >/dev/null || cargo install --locked cargo-llvm-cov

export SHUTTLE_SILENCE_WARNINGS=1
export CARGO_TARGET_DIR=target/coverage-build
out=target/coverage
mkdir -p "$out"
# Only core's own code counts: not its tests, not the loom/shuttle facades (built only under the
# checkers), not the other crates.
ignore='(^|/)(tests|models|fuzz|bench)/|/[a-z_]*tests\.rs$|/sync/(loom_impl|shuttle_impl|checker_parker)\.rs$|/\.cargo/|/rustc/'

cargo llvm-cov clean --workspace
cargo llvm-cov --no-report --workspace
cargo llvm-cov --no-report -p eventloop-models --features shuttle -- --test-threads 1
cargo llvm-cov report --ignore-filename-regex "$ignore" --summary-only | tee "$out/summary.txt"
cargo llvm-cov report --ignore-filename-regex "$ignore" --lcov --output-path "$out/lcov.info"
cargo llvm-cov report --ignore-filename-regex "$ignore" --html --output-dir "$out/html"
python3 scripts/coverage_report.py --summary "$out/summary.txt" --lcov "$out/lcov.info" --out proofs/COVERAGE.md
echo "coverage: proofs/COVERAGE.md, per-line detail in $out/html/html/index.html"
