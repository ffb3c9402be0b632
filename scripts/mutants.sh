#!/usr/bin/env bash
# `make mutants`: mutation testing of core's code with cargo-mutants (.cargo/mutants.toml says
# what is mutated: core/src without its test modules and the loom/shuttle facades).
#
#   pass 1  every mutant against core's own unit and integration tests (a few seconds each);
#   pass 2  the mutants that pass 1 missed, again, against the whole workspace's tests
#           (conformance, proptest, stress tests, model bodies on real threads).
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
# Only the missed mutants: a timed-out one is not a survivor (the suite did not pass), and
# re-running it against the whole workspace would wait out a far longer timeout for nothing.
# `--iterate` keeps pass 1's caught mutants (previously_caught.txt); its timeouts are copied
# aside for the summary.
cp "$out/mutants.out/timeout.txt" "$out/pass1-timeout.txt"
mapfile -t survivors < <(python3 -c '
import re, sys
for line in open(sys.argv[1]):
    if line.strip():
        print("--re=^" + re.escape(line.strip()) + "$")
' "$out/mutants.out/missed.txt")
if [ ${#survivors[@]} -gt 0 ]; then
    # `--test-package` with every workspace member: cargo-mutants 27's `--test-workspace true`
    # still ran only core's tests here (its log shows `cargo test --package=eventloop-core`).
    # The whole workspace's tests take about 8 s, so the timeout is raised to match.
    packages=$(cargo metadata --no-deps --format-version 1 |
        python3 -c 'import json, sys; print(",".join(p["name"] for p in json.load(sys.stdin)["packages"]))')
    MUTANTS_TIMEOUT=${MUTANTS_WORKSPACE_TIMEOUT:-30} run --iterate --test-package "$packages" "${survivors[@]}"
fi

python3 scripts/mutants_check.py --out "$out/mutants.out" --explained proofs/mutants.md \
    --timeouts "$out/pass1-timeout.txt"
