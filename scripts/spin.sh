#!/usr/bin/env bash
# SPIN models of the concurrent protocols (proofs/spin/*.pml; proofs/spin/README.md).
#
#   scripts/spin.sh [model...]      all models (default), or only the ones named
#
# For every run below: `spin -a` generates pan.c, `cc` compiles it, `./pan` searches the whole
# state space (exhaustive: no bitstate, no hash compaction; -DCOLLAPSE is lossless compression).
# Safety runs are compiled with -DSAFETY (assertions and invalid end states, i.e. deadlocks);
# liveness runs check one LTL claim under weak fairness (`pan -a -f`).
#
# pan exits 0 even when it finds a violation, so the outcome is read from its output: a run
# passes only if pan printed "errors: 0", left no *.trail file, and did not report an
# incomplete search (depth limit, memory limit, timeout). A seeded defect (-DDEFECT_...) must do
# the opposite: errors > 0 or a trail ("caught"); one that passes fails this script. A "finding"
# run is a claim the current code is known to break (a finding for the maintainers, see the
# model's header): it must still fail ("reproduced"); if it passes, the code changed and the
# model's default must be updated.
#
# Prints one line per run and appends machine-readable lines to target/verify/spin.log:
#   spin <model> <claim> states=<n> transitions=<n> depth=<n> errors=<n> seconds=<s> result=<r>
# Exits non-zero if any run did not give its expected result.
#
# Environment: SPIN_TIMEOUT (seconds per pan run, default 600), SPIN_MEMLIM (MiB per pan run,
# default 4096), SPIN_DEPTH (pan -m, default 1000000), CC (default cc).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$root/target/spin
log=$root/target/verify/spin.log
timeout_s=${SPIN_TIMEOUT:-600}
memlim=${SPIN_MEMLIM:-4096}
depth=${SPIN_DEPTH:-1000000}
cc=${CC:-cc}

# Each run: model | claim (a name, or the ltl claim for kind=ltl) | kind | spin -D flags | expect
#           [| what the first violation must mention]
#   kind:   safety (-DSAFETY; assertions + invalid end states) or ltl (pan -a -f -N claim)
#   expect: pass | caught (a seeded defect) | reproduced (a known finding). A defect or finding
#           must be reported by the check named last (a fixed string of pan's first error line),
#           not by some other assertion, or the run fails ("caught by another check").
runs=(
    "ring_spill|safety|safety|-DWEAK_CAS|pass"
    "ring_spill|drained|ltl|-DLIVE|pass"
    "ring_spill|DEFECT_READ_BEFORE_PUBLISH|safety|-DWEAK_CAS -DDEFECT_READ_BEFORE_PUBLISH|caught|assertion violated (x!=0)"
    "ring_spill|DEFECT_RELEASE_BEFORE_TAKE|safety|-DWEAK_CAS -DDEFECT_RELEASE_BEFORE_TAKE|caught|assertion violated (val["
    "ring_spill|DEFECT_BYPASS_OVERFLOW|safety|-DWEAK_CAS -DDEFECT_BYPASS_OVERFLOW|caught|nextk"
    "ring_spill|DEFECT_NO_RECHECK_UNDER_LOCK|safety|-DWEAK_CAS -DDEFECT_NO_RECHECK_UNDER_LOCK|caught|nextk"
    "ring_spill|DEFECT_RING_BEFORE_STASH|safety|-DWEAK_CAS -DDEFECT_RING_BEFORE_STASH|caught|nextk"
    "wake|safety|safety||pass"
    "wake|terminates|ltl|-DLIVE|pass"
    "wake|tasks_run|ltl|-DLIVE|pass"
    "wake|DEFECT_NO_RECHECK|safety|-DDEFECT_NO_RECHECK|caught|invalid end state"
    "wake|DEFECT_NO_DEDUP|safety|-DDEFECT_NO_DEDUP|caught|(unparks<=sleeps)"
    "wake|DEFECT_PLAIN_STORE_SLEEPING|safety|-DDEFECT_PLAIN_STORE_SLEEPING|caught|invalid end state"
    "wake|DEFECT_TERMINATE_NO_WAKE|safety|-DDEFECT_TERMINATE_NO_WAKE|caught|invalid end state"
    "wake|DEFECT_CLEAR_AFTER_PUBLISH|safety|-DDEFECT_CLEAR_AFTER_PUBLISH|caught|invalid end state"
    "promise_settle|safety|safety|-DWEAK_CAS|pass"
    "promise_settle|settles|ltl|-DLIVE|pass"
    "promise_settle|DEFECT_PLAIN_SETTLE|safety|-DWEAK_CAS -DDEFECT_PLAIN_SETTLE|caught|(handed[n]==1)"
    "promise_settle|DEFECT_TWO_SETTLERS|safety|-DWEAK_CAS -DDEFECT_TWO_SETTLERS|caught|(outcome==0)"
    "promise_settle|DEFECT_PUBLISH_BEFORE_WRITE|safety|-DWEAK_CAS -DDEFECT_PUBLISH_BEFORE_WRITE|caught|(outcome==winner)"
    "timer_clear|safety|safety||pass"
    "timer_clear|answered|ltl|-DLIVE|pass"
    "timer_clear|safety-interval|safety|-DINTERVAL|pass"
    "timer_clear|answered-interval|ltl|-DLIVE -DINTERVAL -N answered|pass"
    "timer_clear|DEFECT_ANSWER_EARLY|safety|-DDEFECT_ANSWER_EARLY|caught|(ran==0)"
    "timer_clear|DEFECT_CANCEL_UNCHECKED|safety|-DDEFECT_CANCEL_UNCHECKED|caught|(ran==0)"
    "timer_clear|DEFECT_PASS_IGNORES_TERMINATION|safety|-DDEFECT_PASS_IGNORES_TERMINATION|caught|!(term_seen)"
    "timer_clear|DEFECT_PASS_IGNORES_CLOSED|safety|-DDEFECT_PASS_IGNORES_CLOSED|caught|!(term_seen)"
)

ensure_spin() {
    command -v spin >/dev/null 2>&1 && return 0
    echo "spin: not installed; installing the Debian package 'spin'"
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get install -y spin >/dev/null 2>&1 ||
        { "${sudo[@]}" apt-get update >/dev/null 2>&1 && "${sudo[@]}" apt-get install -y spin >/dev/null 2>&1; }
    command -v spin >/dev/null 2>&1 || { echo "spin: could not install SPIN (apt-get install -y spin)" >&2; return 1; }
}

ensure_spin || exit 1
command -v "$cc" >/dev/null 2>&1 || { echo "spin: no C compiler ($cc)" >&2; exit 1; }
mkdir -p "$work" "$(dirname "$log")"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo '?')
echo "spin-run date=$(date -u +%Y-%m-%dT%H:%M:%SZ) commit=$commit version=$(spin -V | awk '{print $3}')" >>"$log"

selected=("$@")
wanted() { # model -> 0 if selected
    [ ${#selected[@]} -eq 0 ] && return 0
    local m
    for m in "${selected[@]}"; do [ "$m" = "$1" ] && return 0; done
    return 1
}

failed=0
printf '%-15s %-34s %12s %12s %6s %8s  %s\n' model claim states transitions errors seconds result
for run in "${runs[@]}"; do
    IFS='|' read -r model claim kind defines expect pattern <<<"$run"
    wanted "$model" || continue
    pml=$root/proofs/spin/$model.pml
    dir=$work/$model-$claim
    rm -rf "$dir" && mkdir -p "$dir"
    # The claim to check, for ltl runs (a -N in the defines names it when it differs).
    ltl=$claim
    if [[ $defines == *"-N "* ]]; then ltl=${defines##*-N }; defines=${defines%% -N *}; fi
    status=ok detail=""
    start=$(date +%s.%N)
    # shellcheck disable=SC2086 # the defines are words
    if ! (cd "$dir" && spin $defines -a "$pml" >spin.out 2>&1); then
        status=error detail="spin -a failed: $(head -3 "$dir/spin.out" | tr '\n' ' ')"
    else
        flags=(-O2 -w -DMEMLIM="$memlim" -DCOLLAPSE)
        pan_args=(-m"$depth")
        if [ "$kind" = safety ]; then
            flags+=(-DSAFETY)
        else
            flags+=(-DNFAIR=3)
            pan_args+=(-a -f -N "$ltl")
        fi
        if ! (cd "$dir" && "$cc" "${flags[@]}" -o pan pan.c >cc.out 2>&1); then
            status=error detail="cc failed: $(head -3 "$dir/cc.out" | tr '\n' ' ')"
        else
            rc=0
            (cd "$dir" && timeout "$timeout_s" ./pan "${pan_args[@]}" >pan.out 2>&1) || rc=$?
            [ "$rc" -eq 124 ] && { status=error; detail="timed out after ${timeout_s} s"; }
        fi
    fi
    seconds=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
    out=$dir/pan.out
    errors=$(grep -oE 'errors: [0-9]+' "$out" 2>/dev/null | tail -1 | awk '{print $2}')
    states=$(grep -oE '^ *[0-9.e+]+ states, stored' "$out" 2>/dev/null | awk '{print $1}')
    transitions=$(grep -oE '^ *[0-9.e+]+ transitions' "$out" 2>/dev/null | awk '{print $1}')
    reached=$(grep -oE 'depth reached [0-9]+' "$out" 2>/dev/null | awk '{print $3}')
    trails=$(find "$dir" -maxdepth 1 -name '*.trail' | wc -l)
    finding=$(grep -m1 -E '^pan:[0-9]+: |^pan: (error|out of memory)|max search depth too small' "$out" 2>/dev/null)
    if [ "$status" = ok ]; then
        if [ -z "$errors" ]; then
            status=error detail="no 'errors:' line in pan's output"
        elif grep -qE 'max search depth too small|out of memory|reached -DMEMLIM|Search not completed' "$out" &&
            [ "$errors" -eq 0 ] && [ "$trails" -eq 0 ]; then
            status=error detail="incomplete search: $(grep -m1 -E 'max search depth|out of memory|MEMLIM|not completed' "$out")"
        elif [ "$errors" -gt 0 ] || [ "$trails" -gt 0 ]; then
            status=violation detail=$finding
        fi
    fi
    if [ "$status" = violation ] && [ -n "${pattern:-}" ] && [[ $finding != *"$pattern"* ]]; then
        status=other detail="caught by another check than '$pattern': $finding"
    fi
    case $expect:$status in
        pass:ok) result=ok ;;
        caught:violation) result=caught ;;
        reproduced:violation) result=reproduced ;;
        caught:ok) result="NOT-CAUGHT" ;;
        reproduced:ok) result="NOT-REPRODUCED" ;;
        pass:violation) result=FAILED ;;
        caught:other | reproduced:other) result=WRONG-CHECK ;;
        *) result=ERROR ;;
    esac
    case $result in ok | caught | reproduced) ;; *) failed=$((failed + 1)) ;; esac
    printf '%-15s %-34s %12s %12s %6s %8s  %s\n' "$model" "$claim" "${states:--}" "${transitions:--}" \
        "${errors:--}" "$seconds" "$result${detail:+: $detail}"
    case $result in
        FAILED) echo "    counterexample: $dir/$(cd "$dir" && ls -- *.trail 2>/dev/null | head -1); replay: (cd $dir && spin -t -p -g $defines $pml)" ;;
        NOT-REPRODUCED) echo "    the finding no longer reproduces: update $model.pml's default and proofs/spin/README.md" ;;
    esac
    echo "spin $model $claim states=${states:-0} transitions=${transitions:-0} depth=${reached:-0} errors=${errors:--1} seconds=$seconds result=$result" >>"$log"
done

if [ "$failed" -gt 0 ]; then
    echo "spin: $failed run(s) did not give the expected result (logs under target/spin/)"
    exit 1
fi
echo "spin: every claim holds, every seeded defect caught, every known finding reproduced (log: ${log#"$root"/})"
