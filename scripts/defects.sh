#!/usr/bin/env bash
# Seeded defects: apply each proofs/defects/*.patch to a scratch copy of the tree, build it, and
# run the evidence its header names ("Caught-by:" lines). A defect counts as caught only if the
# patched tree builds and every named check fails on it. Prints a table; exits non-zero if any
# defect is not caught (or a patch no longer applies or builds).
#
# Header lines (free text before the diff; git apply skips it):
#   Defect: what the patch breaks
#   Go-original: the item of DESIGN.md's list it reintroduces (or "-")
#   Caught-by: <loom|shuttle|test|miri> <package> <test target> <test name>
#   (test target "lib" means the package's unit tests)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# The scratch copy must live outside this repository: `git apply` run inside a subdirectory of
# a work tree silently skips paths outside that subdirectory.
scratch=${DEFECTS_SCRATCH:-${TMPDIR:-/tmp}/eventloop-defects-tree}
export CARGO_TARGET_DIR=$root/target/defects/build
export SHUTTLE_SILENCE_WARNINGS=1
filter=${1:-}
# A check that hangs on a defect (a deadlock the test has no watchdog for) is stopped after this
# many seconds and counts as failing, i.e. as catching the defect; the table says "timed out".
check_timeout=${DEFECT_CHECK_TIMEOUT:-600}

limited() { # command... -> its status; notes a timeout in the output
    local rc=0
    timeout "$check_timeout" "$@" || rc=$?
    [ "$rc" -eq 124 ] && echo "check timed out after ${check_timeout} s"
    return "$rc"
}

run_check() { # kind package target name -> exit status of the check (0 = passed = NOT caught)
    local kind=$1 pkg=$2 target=$3 name=$4
    local sel=(--test "$target")
    [ "$target" = lib ] && sel=(--lib)
    case $kind in
        loom) limited env RUSTFLAGS="--cfg loom" cargo test -q --profile models -p "$pkg" "${sel[@]}" "$name" -- --exact --test-threads 1 ;;
        shuttle) limited cargo test -q --profile models -p "$pkg" --features "$pkg/shuttle" "${sel[@]}" "$name" -- --exact --test-threads 1 ;;
        test) limited cargo test -q -p "$pkg" "${sel[@]}" "$name" -- --exact ;;
        miri) limited env MIRIFLAGS="-Zmiri-strict-provenance -Zmiri-many-seeds=0..16" cargo +nightly miri test -q -p "$pkg" "${sel[@]}" "$name" -- --exact ;;
        *) echo "unknown evidence kind '$kind'" >&2; return 2 ;;
    esac
}

build_check() {
    local kind=$1 pkg=$2 target=$3
    local sel=(--test "$target")
    [ "$target" = lib ] && sel=(--lib)
    case $kind in
        loom) RUSTFLAGS="--cfg loom" cargo test -q --no-run --profile models -p "$pkg" "${sel[@]}" ;;
        shuttle) cargo test -q --no-run --profile models -p "$pkg" --features "$pkg/shuttle" "${sel[@]}" ;;
        test) cargo test -q --no-run -p "$pkg" "${sel[@]}" ;;
        miri) cargo +nightly miri test -q --no-run -p "$pkg" "${sel[@]}" ;;
    esac
}

mkdir -p "$root/target/defects"
rows=()
missed=0
for patch in proofs/defects/*.patch; do
    name=$(basename "$patch" .patch)
    [ -n "$filter" ] && [[ "$name" != *"$filter"* ]] && continue
    scripts/scratch_tree.sh "$scratch"
    before=$(cat "$scratch"/core/src/*.rs "$scratch"/core/src/*/*.rs 2>/dev/null | md5sum)
    if ! (cd "$scratch" && git apply "$root/$patch") ||
        [ "$before" = "$(cat "$scratch"/core/src/*.rs "$scratch"/core/src/*/*.rs 2>/dev/null | md5sum)" ]; then
        rows+=("| $name | (patch does not apply) | NO | - |")
        missed=$((missed + 1))
        continue
    fi
    mapfile -t checks < <(sed -n 's/^Caught-by: *//p' "$patch")
    # CI's time budget: DEFECTS_FIRST_CHECK_ONLY=1 runs only the first named check of each
    # defect (every defect is still shown caught; `make defects` runs every check).
    if [ "${DEFECTS_FIRST_CHECK_ONLY:-0}" = 1 ] && [ ${#checks[@]} -gt 1 ]; then
        checks=("${checks[0]}")
    fi
    if [ ${#checks[@]} -eq 0 ]; then
        rows+=("| $name | (no Caught-by line) | NO | - |")
        missed=$((missed + 1))
        continue
    fi
    for check in "${checks[@]}"; do
        read -r kind pkg target test <<<"$check"
        t0=$SECONDS
        log=$root/target/defects/$name.$kind.$test.log
        if ! (cd "$scratch" && build_check "$kind" "$pkg" "$target") >"$log" 2>&1; then
            rows+=("| $name | $kind \`$test\` | NO (does not build: $log) | $((SECONDS - t0)) |")
            missed=$((missed + 1))
            continue
        fi
        if (cd "$scratch" && run_check "$kind" "$pkg" "$target" "$test") >>"$log" 2>&1; then
            rows+=("| $name | $kind \`$test\` | **NO** | $((SECONDS - t0)) |")
            missed=$((missed + 1))
        elif grep -q "^check timed out after" "$log"; then
            rows+=("| $name | $kind \`$test\` | yes (timed out after ${check_timeout} s) | $((SECONDS - t0)) |")
        elif grep -qE "running 1 test|test result|Undefined Behavior|panicked|Causality" "$log"; then
            why=$(grep -oE "Causality violation[^.]*|Data race detected|data race[^:]*|FIFO violated|lost or duplicated|dropped (twice|[0-9]+ times)|deadlock" "$log" | head -1 || true)
            [ -n "$why" ] || why=$(grep -oE "panicked at [^ ]+" "$log" | head -1 || true)
            rows+=("| $name | $kind \`$test\` | yes (${why:-test failed}) | $((SECONDS - t0)) |")
        else
            rows+=("| $name | $kind \`$test\` | NO (failed without running the test: $log) | $((SECONDS - t0)) |")
            missed=$((missed + 1))
        fi
    done
done

if [ ${#rows[@]} -eq 0 ]; then
    echo "defects: no patch in proofs/defects matches '${filter}'"
    exit 1
fi
echo
echo "| defect | catching evidence | caught | seconds |"
echo "|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
if [ "$missed" -ne 0 ]; then
    echo "defects: $missed check(s) did not catch their defect"
    exit 1
fi
echo "defects: every seeded defect was caught by every check named for it"
