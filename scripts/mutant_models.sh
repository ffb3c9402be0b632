#!/usr/bin/env bash
# Runs loom models against one cargo-mutants mutant: for survivors that only a race can show
# (cargo-mutants runs the ordinary tests, never the models).
#
# Usage: scripts/mutant_models.sh MUTANT.diff TEST-TARGET NAME-FILTER
#   MUTANT.diff   a diff from mutants.out/diff/ (paths relative to the repository root)
#   TEST-TARGET   a test target of eventloop-models (driver, ring, promise, ...)
#   NAME-FILTER   which models of it to run (e.g. driver_)
# Prints "caught" and exits 0 if a model fails on the mutant; prints "survived" and exits 1 if
# every model passes. The scratch tree and its build are under target/mutant-models/.
set -euo pipefail
cd "$(dirname "$0")/.."
diff=$(realpath "$1")
target=$2
filter=$3
scratch=target/mutant-models/tree
# The working tree as cargo-mutants saw it (uncommitted changes included).
scripts/scratch_tree.sh "$scratch"
(cd "$scratch" && patch -p0 --quiet < "$diff")
if (cd "$scratch" && RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR="$PWD/../build" \
        cargo test --profile models -p eventloop-models --test "$target" "$filter" -- --test-threads 1 \
        >"../$(basename "$diff").log" 2>&1); then
    echo "survived: $(basename "$diff") ($target $filter all passed)"
    exit 1
fi
echo "caught: $(basename "$diff") ($(grep -m1 -o '^test [a-z0-9_]* \.\.\. FAILED' "target/mutant-models/$(basename "$diff").log" || echo "a model failed"))"
