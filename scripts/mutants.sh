#!/usr/bin/env bash
# `make mutants`: mutation testing of core's code with cargo-mutants (.cargo/mutants.toml says
# what is mutated: core/src without its test modules and the loom/shuttle facades).
#
#   pass 1  every mutant against core's own unit and integration tests (a few seconds each);
#   pass 2  the mutants that survived pass 1 (missed or timed out) again, against the whole
#           workspace's tests (conformance, proptest, stress tests, model bodies on real threads).
#
# Then every mutant still missed must be explained in proofs/mutants.md: its table lists each one
# as `file: description` (cargo-mutants' name without line and column, so that edits elsewhere in
# the file do not invalidate it). The script fails on an unexplained survivor, and warns about
# explanations that no longer match a survivor (killed since, or renamed).
#
# Usage: scripts/mutants.sh [FILE...]   (default: every file .cargo/mutants.toml admits)
# Results: target/mutants/mutants.out/{caught,missed,timeout,unviable}.txt
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo-mutants >/dev/null || cargo install --locked cargo-mutants
out=target/mutants
files=()
for f in "$@"; do files+=(-f "$f"); done

# cargo-mutants exits 2 when mutants were missed and 3 on timeouts: that is what pass 2 and the
# explanation check are for. Anything else (1: usage, 4: the unmutated tree fails) is an error.
run() {
    local code=0
    # A mutant whose tests run 6 s (over ten times the unmutated suite) hangs: a mutated loop.
    # No `-p`: with it cargo-mutants tests only that package, even with --test-workspace.
    # .cargo/mutants.toml keeps the other crates' files out of the mutants.
    cargo mutants --no-shuffle --minimum-test-timeout "${MUTANTS_TIMEOUT:-6}" \
        -o "$out" "${files[@]}" "$@" || code=$?
    case $code in
        0|2|3) ;;
        *) echo "mutants: cargo mutants exited $code"; exit 1 ;;
    esac
}

rm -rf "$out"
mkdir -p "$out"
echo "=== mutants pass 1: core's tests (unit and integration; doc tests and examples are left to pass 2)"
run --cargo-test-arg=--lib --cargo-test-arg=--tests
echo "=== mutants pass 2: the survivors against the whole workspace's tests"
run --iterate --test-workspace true

python3 scripts/mutants_check.py --out "$out/mutants.out" --explained proofs/mutants.md
