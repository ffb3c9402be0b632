#!/usr/bin/env bash
# ThreadSanitizer over the threaded tests: the driver stress tests, core's unit tests (promises
# settled and awaited across threads, foreign timer requests, the ring) and the model bodies on
# real threads. Nightly, with std rebuilt instrumented (-Zbuild-std), so std's own
# synchronization is visible to TSan and reports are not false alarms about uninstrumented code.
#
# TSan can report a race and still let the test binary exit 0 (and the summary say "ok"), so this
# script fails on the exit status *or* on any "WARNING: ThreadSanitizer" line in the output.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup component list --toolchain nightly --installed | grep -q '^rust-src' ||
    rustup component add rust-src --toolchain nightly
host=$(rustc +nightly -vV | sed -n 's/^host: //p')
export RUSTFLAGS="-Zsanitizer=thread"
export RUSTDOCFLAGS="-Zsanitizer=thread"
export CARGO_TARGET_DIR=target/tsan
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1"
export SHUTTLE_SILENCE_WARNINGS=1
log=target/tsan.log
mkdir -p target
: >"$log"
status=0
run() {
    echo "=== tsan: $*" | tee -a "$log"
    if ! cargo +nightly test -Zbuild-std --target "$host" "$@" 2>&1 | tee -a "$log"; then
        status=1
    fi
}
run -p eventloop-core --lib
run -p eventloop-tests --test driver_stress
run -p eventloop-models
# The canary: a deliberate race that TSan must report (proves the sanitizer and this check work).
canary=target/tsan-canary.log
cargo +nightly test -Zbuild-std --target "$host" -p eventloop-tests --test tsan_canary \
    -- --ignored >"$canary" 2>&1 || true
if grep -q "WARNING: ThreadSanitizer: data race" "$canary"; then
    echo "tsan: the canary's deliberate race was reported (the check works)"
else
    echo "tsan: the canary's deliberate race was NOT reported: TSan is not working (see $canary)"
    status=1
fi
if grep -q "WARNING: ThreadSanitizer" "$log"; then
    echo "tsan: ThreadSanitizer reported (see $log):"
    grep -A3 "WARNING: ThreadSanitizer" "$log" | head -40
    status=1
fi
[ "$status" -eq 0 ] && echo "tsan: no report, every test passed" || echo "tsan: FAILED"
exit "$status"
