#!/usr/bin/env bash
# Benchmarks of the microtask ring against peer queues (crossbeam-queue ArrayQueue and
# SegQueue, std::sync::mpsc, concurrent-queue), of the event loop against peer executors
# (tokio current-thread runtime, std::sync::mpsc and crossbeam-channel with a thread), and of
# the timer pool against a BinaryHeap + lazy-cancel baseline and tokio-util's DelayQueue (a
# timer wheel), all measured in the same run:
#
#   1. criterion benchmarks of the ring (bench/benches/ring.rs) and of the timer rows
#      (bench/benches/timer.rs) with quick settings, for confidence intervals and run-to-run
#      comparison;
#   2. the comparison tables (bench/src/bin/report/), one run of `report`: for the ring, median
#      ns/item per row with ratios fastest-peer/ours, plus bytes/item and memory returned for
#      the burst row; for the event loop, remote submission throughput (ns/task) and ping-pong
#      latency (median, p99) with its CPU cost and the loop's sleep/park/unpark counters; and
#      the ring table again built from criterion's estimates; for the timers (a second run,
#      `report timers`), schedule / cancel / fire at 1k, 100k and 1M live timers, median ns/op
#      with ratios baseline/ours and wheel/ours, and heap bytes per timer at 1M;
#   3. callgrind instruction counts for the single-thread push+pop row and the burst row
#      (bench/src/bin/ring_single_thread.rs), (total(N) - total(0)) / N per queue; and for each
#      executor's submit and run paths on one thread (bench/src/bin/executor_single_thread.rs),
#      inclusive instructions per task of each phase; and for each timer row and size
#      (bench/src/bin/timer_ops.rs), inclusive instructions of the timed batch ÷ operations;
#   4. the promise rows (bench/benches/promise.rs criterion groups, and `promise report`):
#      eventloop-core promises on their loop against tokio's and futures' oneshot channels —
#      create + then + resolve + reaction run on one thread, settled from another thread, a
#      chain of 100, `all` of 100 — median ns per promise with ratios fastest-peer/ours and
#      allocations per promise; callgrind instructions per op of the one-thread rows
#      ((total(N) − total(0)) / N of `promise ops IMPL ROW N`).
#
# The combined summary goes to bench/RESULTS.md and to stdout. bench/ is its own workspace
# (target dir bench/target), so this never takes the root workspace's build lock.
#
# Knobs (environment): BENCH_WARM_UP and BENCH_MEASURE (criterion seconds, default 1 and 2),
# BENCH_REPS (report repetitions per row, executor rows included, default 15), CALLGRIND_N
# (push+pop pairs and executor tasks, default 100000), BENCH_SKIP_CRITERION=1 (tables and
# callgrind only); for the timers: BENCH_TIMER_REPS (repetitions per row and size, default 9),
# BENCH_TIMER_OPS (timed operations per window, default 20000; cancel windows are at least n),
# CALLGRIND_TIMER_OPS (the same under callgrind, default 20000); for the promises:
# BENCH_PROMISE_REPS (repetitions per row, default 11), BENCH_PROMISE_OPS (promises per
# repetition, default 100000; the remote row uses a tenth), CALLGRIND_PROMISE_N (default 20000).
# The timer part takes about 2.5 minutes of the default run (most of it criterion, about 100 s);
# the promise part about 30 s; the whole run about 5.5.
set -euo pipefail
shopt -s inherit_errexit

cd "$(dirname "$0")/.."
bench_dir=$PWD/bench
results=$bench_dir/RESULTS.md
warm_up=${BENCH_WARM_UP:-1}
measure=${BENCH_MEASURE:-2}
reps=${BENCH_REPS:-15}
callgrind_n=${CALLGRIND_N:-100000}
timer_reps=${BENCH_TIMER_REPS:-9}
timer_ops=${BENCH_TIMER_OPS:-20000}
callgrind_timer_ops=${CALLGRIND_TIMER_OPS:-20000}
promise_reps=${BENCH_PROMISE_REPS:-11}
promise_ops=${BENCH_PROMISE_OPS:-100000}
callgrind_promise_n=${CALLGRIND_PROMISE_N:-20000}
export CARGO_TERM_COLOR=never

cd "$bench_dir"
logs=$bench_dir/target/bench-logs
callgrind_dir=$bench_dir/target/callgrind
mkdir -p "$logs" "$callgrind_dir"
start=$SECONDS
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg 2> /dev/null || echo unknown)
# Which eventloop-core was measured: the commit, and whether core/ had uncommitted changes.
core_rev=$(git -C "$bench_dir/.." log -1 --format='%h %s' 2> /dev/null | cut -c1-100 || true)
if [ -z "$core_rev" ]; then
    core_rev=unknown
elif [ -n "$(git -C "$bench_dir/.." status --porcelain -- core 2> /dev/null)" ]; then
    core_rev="$core_rev (plus uncommitted changes in core/)"
fi

echo "=== bench: build (release)"
cargo build --release --bins
if [ "${BENCH_SKIP_CRITERION:-0}" != 1 ]; then
    cargo bench --bench ring --no-run
    cargo bench --bench timer --no-run
    cargo bench --bench promise --no-run
fi

criterion_ran=0
if [ "${BENCH_SKIP_CRITERION:-0}" != 1 ]; then
    echo "=== bench: criterion (warm-up ${warm_up}s, measurement ${measure}s per benchmark)"
    cargo bench --bench ring -- --warm-up-time "$warm_up" --measurement-time "$measure" \
        | tee "$logs/criterion.log"
    cargo bench --bench timer -- --warm-up-time "$warm_up" --measurement-time "$measure" \
        | tee "$logs/criterion-timer.log"
    cargo bench --bench promise -- --warm-up-time "$warm_up" --measurement-time "$measure" \
        | tee "$logs/criterion-promise.log"
    criterion_ran=1
fi

echo "=== bench: comparison tables, ring and event loop ($reps repetitions per row)"
./target/release/report ring remote --reps "$reps" | tee "$logs/report.md"
echo "=== bench: timer tables ($timer_reps repetitions per row, $timer_ops operations per window)"
./target/release/report timers --reps "$timer_reps" --ops "$timer_ops" | tee "$logs/timers.md"
echo "=== bench: promise table ($promise_reps repetitions per row, $promise_ops promises)"
./target/release/promise report --reps "$promise_reps" --ops "$promise_ops" | tee "$logs/promise.md"
if [ "$criterion_ran" = 1 ]; then
    ./target/release/report criterion target/criterion > "$logs/criterion.md"
    ./target/release/report criterion-timers target/criterion > "$logs/criterion-timers.md"
fi

echo "=== bench: callgrind, ring push+pop and burst, executor submit/run (N = $callgrind_n)"
callgrind_md=$logs/callgrind.md
if command -v valgrind > /dev/null 2>&1; then
    # Total instructions of one run of ring_single_thread: QUEUE N [burst].
    ir_total() {
        local out=$callgrind_dir/callgrind.out.${1}.${2}${3:+.$3}
        valgrind --tool=callgrind --callgrind-out-file="$out" \
            ./target/release/ring_single_thread "$@" > /dev/null 2> "$out.log"
        awk '/^(summary|totals):/ { print $2; exit }' "$out"
    }
    # One markdown table: per queue, (total(N) - total(0)) / N, and that minus the `none` line.
    callgrind_table() {
        local mode=$1 base_per_op="" queue total_n total_0 per_op share label
        echo "| queue | Ir (N) | Ir (0) | Ir per item | queue share |"
        echo "|---|---:|---:|---:|---:|"
        for queue in none ours array seg mpsc concurrent; do
            total_n=$(ir_total "$queue" "$callgrind_n" ${mode:+"$mode"})
            total_0=$(ir_total "$queue" 0 ${mode:+"$mode"})
            per_op=$(awk -v a="$total_n" -v b="$total_0" -v n="$callgrind_n" \
                'BEGIN { printf "%.1f", (a - b) / n }')
            if [ "$queue" = none ]; then
                base_per_op=$per_op
                share="–"
                if [ -n "$mode" ]; then
                    label="none (tasks held in a plain Vec)"
                else
                    label="none (task alloc + run only)"
                fi
            else
                share=$(awk -v p="$per_op" -v b="$base_per_op" 'BEGIN { printf "%.1f", p - b }')
                case $queue in
                    ours) label="ours (ring)" ;;
                    array) label="ArrayQueue" ;;
                    seg) label="SegQueue" ;;
                    mpsc) label="std mpsc" ;;
                    concurrent) label="concurrent-queue" ;;
                esac
            fi
            echo "| $label | $total_n | $total_0 | $per_op | $share |"
        done
    }
    {
        echo "Instructions per item = (total(N = $callgrind_n) − total(N = 0)) / N, so start-up and"
        echo "queue creation cancel out; \"queue share\" subtracts the \`none\` line, which every queue"
        echo "pays alike. Deterministic, but blind to cache misses and contention. Output files:"
        echo "bench/target/callgrind/ (open with callgrind_annotate)."
        echo
        echo "Single-thread push+pop of a boxed closure (row 1; \`ArrayQueue\` capacity 4096, as the"
        echo "ring's slots):"
        echo
        callgrind_table ""
        echo
        echo "Burst: push N, then pop and run N (row 5; the ring spills past its 4096 slots, so this"
        echo "covers its overflow path; \`ArrayQueue\` capacity N):"
        echo
        callgrind_table burst
    } > "$callgrind_md"
    # Executors: inclusive Ir of the submit and run phases of executor_single_thread, per task.
    phase_ir() { # FILE PHASE: the largest inclusive count of a function named *PHASE_*
        callgrind_annotate --inclusive=yes --threshold=100 "$1" 2> /dev/null \
            | awk -v pat="executor_single_thread::$2_" 'index($0, pat) {
                  gsub(",", "", $1); if ($1 + 0 > best) best = $1 + 0 }
                  END { print best + 0 }'
    }
    {
        echo
        echo "Executors, one thread: N = $callgrind_n tasks submitted through each executor's remote-submit"
        echo "API, then all run by its own dispatch loop (bench/src/bin/executor_single_thread.rs);"
        echo "inclusive instructions of each phase ÷ N. Same closure as the timed executor rows. Ours"
        echo "gets a ring large enough for all N (the lock-free path, as when the loop keeps up)."
        echo "Every executor pays a box (or task cell) allocation on submit and its free on run:"
        echo "\"none\" (a plain \`Vec\` of boxed closures) is that floor. All allocations come before"
        echo "all frees here, so malloc never reuses a freed block (dearer than in the timed rows)."
        echo
        echo "| executor | submit Ir/task | run Ir/task | total Ir/task | total − none |"
        echo "|---|---:|---:|---:|---:|"
        base_total=""
        for executor in none ours tokio_spawn tokio_mpsc std_mpsc crossbeam; do
            out=$callgrind_dir/callgrind.out.exec.$executor
            valgrind --tool=callgrind --callgrind-out-file="$out" \
                ./target/release/executor_single_thread "$executor" "$callgrind_n" \
                > /dev/null 2> "$out.log"
            read -r submit run total < <(awk -v s="$(phase_ir "$out" phase_submit)" \
                -v r="$(phase_ir "$out" phase_run)" -v n="$callgrind_n" \
                'BEGIN { printf "%.1f %.1f %.1f\n", s / n, r / n, (s + r) / n }')
            if [ "$executor" = none ]; then
                base_total=$total
                extra="–"
            else
                extra=$(awk -v t="$total" -v b="$base_total" 'BEGIN { printf "%.1f", t - b }')
            fi
            case $executor in
                none) label="none (Vec of boxed closures)" ;;
                ours) label="ours (Handle::submit, run_until_idle)" ;;
                tokio_spawn) label="tokio spawn (Handle::spawn, block_on)" ;;
                tokio_mpsc) label="tokio mpsc (send, recv in block_on)" ;;
                std_mpsc) label="std mpsc (send, recv)" ;;
                crossbeam) label="crossbeam-channel (send, recv)" ;;
            esac
            echo "| $label | $submit | $run | $total | $extra |"
        done
    } >> "$callgrind_md"
else
    echo "valgrind not found: callgrind instruction counts skipped (apt-get install valgrind)." \
        | tee "$callgrind_md"
fi
cat "$callgrind_md"

echo "=== bench: callgrind, timer rows ($callgrind_timer_ops operations per window)"
timers_callgrind_md=$logs/callgrind-timers.md
if command -v valgrind > /dev/null 2>&1; then
    # FILE ROW: the inclusive Ir of timers::batch_ROW (the largest matching line is the whole
    # function; the others are its inlined parts, already inside it).
    batch_ir() {
        callgrind_annotate --inclusive=yes --threshold=100 "$1" 2> /dev/null \
            | awk -v pat="timers::batch_$2" 'index($0, pat) {
                  gsub(",", "", $1); if ($1 + 0 > best) best = $1 + 0 }
                  END { print best + 0 }'
    }
    sizes=(1000 100000 1000000)
    impls=(ours baseline wheel)
    declare -A timer_ir
    for n in "${sizes[@]}"; do
        for impl in "${impls[@]}"; do
            out=$callgrind_dir/callgrind.out.timer.$impl.$n
            valgrind --tool=callgrind --callgrind-out-file="$out" \
                ./target/release/timer_ops "$impl" "$n" "$callgrind_timer_ops" \
                > "$out.ops" 2> "$out.log"
            while read -r row ops; do
                timer_ir[$row,$n,$impl]=$(awk -v t="$(batch_ir "$out" "$row")" -v o="$ops" \
                    'BEGIN { printf "%.1f", t / o }')
            done < "$out.ops"
        done
    done
    size_label() { case $1 in 1000) echo 1k ;; 100000) echo 100k ;; 1000000) echo 1M ;; *) echo "$1" ;; esac; }
    {
        echo "Instructions per operation = inclusive instructions of the timed batch function"
        echo "(\`batch_schedule\`, \`batch_cancel\`, \`batch_fire\` in bench/src/timers.rs) ÷ its operations,"
        echo "from one run of bench/src/bin/timer_ops.rs per implementation and size: the same"
        echo "harness and seed as the timed rows, $callgrind_timer_ops operations per window (cancel: at"
        echo "least n, so the baseline's compaction is inside). Filling, refills, victim choice and"
        echo "callback boxing run in other functions and are not counted. Deterministic, but blind"
        echo "to cache misses, which dominate the wall-clock rows at 100k and 1M."
        echo
        echo "| row | live timers | ours Ir/op | baseline Ir/op | wheel Ir/op | baseline/ours | wheel/ours |"
        echo "|---|---:|---:|---:|---:|---:|---:|"
        for row in schedule cancel fire; do
            for n in "${sizes[@]}"; do
                o=${timer_ir[$row,$n,ours]:-0}
                b=${timer_ir[$row,$n,baseline]:-0}
                w=${timer_ir[$row,$n,wheel]:-0}
                awk -v row="$row" -v n="$(size_label "$n")" -v o="$o" -v b="$b" -v w="$w" \
                    'BEGIN { printf "| %s | %s | %.1f | %.1f | %.1f | **%.2f×** | **%.2f×** |\n",
                             row, n, o, b, w, (o > 0 ? b / o : 0), (o > 0 ? w / o : 0) }'
            done
        done
        echo
        echo "Design targets (as measured in this run), instruction counts:"
        echo
        for row in schedule cancel fire; do
            awk -v row="$row" \
                -v o1="${timer_ir[$row,1000,ours]:-0}" -v o2="${timer_ir[$row,100000,ours]:-0}" \
                -v o3="${timer_ir[$row,1000000,ours]:-0}" \
                -v b1="${timer_ir[$row,1000,baseline]:-0}" -v b2="${timer_ir[$row,100000,baseline]:-0}" \
                -v b3="${timer_ir[$row,1000000,baseline]:-0}" \
                -v w1="${timer_ir[$row,1000,wheel]:-0}" -v w2="${timer_ir[$row,100000,wheel]:-0}" \
                -v w3="${timer_ir[$row,1000000,wheel]:-0}" '
                function verdict(ok) { return ok ? "met" : "**missed**" }
                BEGIN {
                    l2 = log(100000) / log(1000); l3 = log(1000000) / log(1000)
                    g2 = o2 / o1; g3 = o3 / o1
                    printf "- %s: instructions per op grow no faster than log n (1k → 100k ≤ %.2f×, 1k → 1M ≤ %.2f×) — %s (ours %.2f× / %.2f×; baseline %.2f× / %.2f×; wheel %.2f× / %.2f×)\n",
                        row, l2, l3, verdict(g2 <= l2 && g3 <= l3), g2, g3, b2 / b1, b3 / b1, w2 / w1, w3 / w1
                    printf "- %s: fewer instructions than the baseline at every size — %s (baseline/ours %.2f×, %.2f×, %.2f× at 1k, 100k, 1M)\n",
                        row, verdict(o1 < b1 && o2 < b2 && o3 < b3), b1 / o1, b2 / o2, b3 / o3
                }'
        done
    } > "$timers_callgrind_md"
else
    echo "valgrind not found: callgrind instruction counts skipped (apt-get install valgrind)." \
        > "$timers_callgrind_md"
fi
cat "$timers_callgrind_md"

echo "=== bench: callgrind, promise rows (N = $callgrind_promise_n)"
promise_callgrind_md=$logs/callgrind-promise.md
if command -v valgrind > /dev/null 2>&1; then
    promise_ir() { # IMPL ROW N -> total instructions of one run of `promise ops`
        local out=$callgrind_dir/callgrind.out.promise.$1.$2.$3
        valgrind --tool=callgrind --callgrind-out-file="$out" \
            ./target/release/promise ops "$1" "$2" "$3" > /dev/null 2> "$out.log"
        awk '/^(summary|totals):/ { print $2; exit }' "$out"
    }
    {
        echo "Instructions per op = (total(N = $callgrind_promise_n) − total(N = 0)) / N of"
        echo "\`promise ops IMPL ROW N\` (bench/src/bin/promise.rs), so start-up, the loop's creation"
        echo "and a warm-up batch cancel out. One thread only (the remote row's spinning would count"
        echo "as work). Deterministic, but blind to cache misses and contention."
        echo
        echo "| row | impl | Ir/op |"
        echo "|---|---|---:|"
        for spec in "local ours" "local tokio" "local futures" "chain ours" "all ours"; do
            read -r row impl <<< "$spec"
            total_n=$(promise_ir "$impl" "$row" "$callgrind_promise_n")
            total_0=$(promise_ir "$impl" "$row" 0)
            awk -v r="$row" -v i="$impl" -v a="$total_n" -v b="$total_0" -v n="$callgrind_promise_n" \
                'BEGIN { printf "| %s | %s | %.1f |\n", r, i, (a - b) / n }'
        done
    } > "$promise_callgrind_md"
else
    echo "valgrind not found: callgrind instruction counts skipped (apt-get install valgrind)." \
        > "$promise_callgrind_md"
fi
cat "$promise_callgrind_md"

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2> /dev/null || true)
load_at_end=$(cut -d' ' -f1-3 /proc/loadavg 2> /dev/null || echo unknown)
{
    echo "# Benchmark results: microtask ring vs peer queues, event loop vs peer executors, timer pool vs peers, promises vs oneshot channels"
    echo
    echo "Generated by \`scripts/bench.sh\` (\`make bench\`); regenerate rather than edit."
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "- rustc: $(rustc --version)"
    echo "- core measured: $core_rev"
    echo "- nproc: $(nproc)${cpu:+ ($cpu)}"
    echo "- peers: $(awk '/^name = "(crossbeam-queue|crossbeam-channel|concurrent-queue|criterion|tokio|tokio-util|hashbrown|futures-channel)"/ { n = $3; getline; printf "%s %s, ", n, $3 }' Cargo.lock | tr -d '"' | sed 's/, $//'), std::sync::mpsc"
    echo "- ring rows: the item is a \`Box<dyn FnOnce() + Send>\` capturing one word, allocated in the measured loop, run on pop"
    echo "- executor rows: one submitting thread and one executor thread; the task is a closure capturing one word"
    echo "- timer rows: one thread; the callback is a \`Box<dyn FnMut()>\` capturing one word, boxed and dropped outside the timed batches"
    echo "- load average (1, 5, 15 min) at start: $load_at_start; at end: $load_at_end"
    echo
    echo "**Noise:** this machine is a shared, noisy 2-core VM: treat wall-clock ratios as ±30 %."
    echo "The 2- and 4-producer rows run 3 and 5 threads on 2 cores (oversubscribed on purpose:"
    echo "producers get descheduled mid-push). The executor rows run 2 busy threads, one per core,"
    echo "so any other work on the machine lands on one of them; ping-pong latencies that involve"
    echo "a park also depend on how fast the hypervisor wakes an idle vCPU. Instruction counts"
    echo "(callgrind) are deterministic. A load average well above 0 at start means other work"
    echo "shared the cores during the run."
    echo
    cat "$logs/report.md"
    echo
    echo "## Ring vs peer queues (criterion estimates)"
    echo
    if [ "$criterion_ran" = 1 ]; then
        cat "$logs/criterion.md"
        echo
        echo "Settings: warm-up ${warm_up} s, measurement ${measure} s per benchmark; rows 2–5 use flat"
        echo "sampling, 10 samples, one iteration = one round (200 000 items) or one burst (100 000)."
        echo "Full output: bench/target/bench-logs/criterion.log; estimates: bench/target/criterion/."
    else
        echo "Skipped (BENCH_SKIP_CRITERION=1)."
    fi
    echo
    echo "## Instruction counts (callgrind)"
    echo
    cat "$callgrind_md"
    echo
    cat "$logs/timers.md"
    echo
    echo "## Timers vs a BinaryHeap baseline and a timer wheel (criterion estimates)"
    echo
    if [ "$criterion_ran" = 1 ]; then
        cat "$logs/criterion-timers.md"
        echo
        echo "Settings: warm-up ${warm_up} s, measurement ${measure} s per benchmark; flat sampling, 10"
        echo "samples; one iteration = one operation (cancel samples hold at least n operations)."
        echo "Each benchmark runs its implementation alone on a fresh instance, with longer windows"
        echo "than the table above, so its numbers differ from it; read both with the noise note."
        echo "Full output: bench/target/bench-logs/criterion-timer.log."
    else
        echo "Skipped (BENCH_SKIP_CRITERION=1)."
    fi
    echo
    echo "## Timers: instruction counts (callgrind)"
    echo
    cat "$timers_callgrind_md"
    echo
    cat "$logs/promise.md"
    echo
    echo "## Promises: instruction counts (callgrind)"
    echo
    cat "$promise_callgrind_md"
    echo
    if [ "$criterion_ran" = 1 ]; then
        echo "Criterion output of the promise groups: bench/target/bench-logs/criterion-promise.log."
        echo
    fi
    echo "Total run time of scripts/bench.sh: $((SECONDS - start)) s."
} > "$results"

echo
echo "=== bench: summary (also in bench/RESULTS.md)"
cat "$results"
