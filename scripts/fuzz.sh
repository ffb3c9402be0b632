#!/usr/bin/env bash
# `make fuzz`: a short run of every cargo-fuzz target in fuzz/fuzz_targets/.
# Uses nightly with AddressSanitizer when the nightly toolchain is present, otherwise stable
# with `-s none` (libFuzzer coverage, no sanitizer). New corpus entries go to a scratch directory,
# so the committed corpus (fuzz/corpus/<target>, replayed by `cargo test`) stays as reviewed.
# Fails if any run exits non-zero or leaves a crash/timeout/leak artifact.
# One line per target goes to target/verify/fuzz.log (`fuzz <target> execs=N seconds=S
# result=ok|failed`), which the claims report of `make verify` reads (scripts/report.py).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
log=target/verify/fuzz.log
mkdir -p target/verify
: > "$log"

command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz || cargo install cargo-fuzz
if rustup toolchain list | grep -q '^nightly'; then
    run=(cargo +nightly fuzz run)
    mode="nightly, AddressSanitizer"
else
    run=(cargo fuzz run -s none)
    mode="stable, -s none"
fi

# Files in a directory that may not exist yet (a fresh clone has no fuzz/artifacts).
count_files() { if [ -d "$1" ]; then find "$1" -type f | wc -l; else echo 0; fi; }

status=0
for target_file in fuzz/fuzz_targets/*.rs; do
    target=$(basename "$target_file" .rs)
    scratch=$(mktemp -d)
    artifacts=fuzz/artifacts/$target
    before=$(count_files "$artifacts")
    output=$(mktemp)
    result=ok
    echo "--- fuzz $target for ${seconds}s ($mode)"
    if ! (cd fuzz && "${run[@]}" "$target" "$scratch" "corpus/$target" -- \
            -max_total_time="$seconds" -print_final_stats=1) >"$output" 2>&1; then
        echo "fuzz: $target FAILED (non-zero exit)"
        result=failed
    fi
    tail -n 25 "$output"
    after=$(count_files "$artifacts")
    if [ "$after" -ne "$before" ]; then
        echo "fuzz: $target left new artifacts in $artifacts:"; ls -la "$artifacts"
        result=failed
    fi
    # libFuzzer's final stats (-print_final_stats=1): executions and wall-clock seconds.
    execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$output" | tail -n 1)
    secs=$(sed -n 's/^stat::.*//; s/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\2/p' "$output" | tail -n 1)
    if [ -z "$execs" ]; then
        echo "fuzz: $target printed no final stats"
        result=failed
    fi
    [ "$result" = ok ] || status=1
    echo "fuzz $target execs=${execs:-0} seconds=${secs:-$seconds} result=$result" | tee -a "$log"
    rm -rf "$scratch" "$output"
done
exit $status
