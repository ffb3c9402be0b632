//! Criterion benchmarks of the promise rows (`eventloop_bench::promises`): eventloop-core
//! promises on their loop against `tokio::sync::oneshot` and `futures_channel::oneshot`, in the
//! same run.
//!
//! Groups: `promise_local` (create + `then` + resolve + reaction run on one thread; peers:
//! create + send + receive), `promise_remote` (resolved by a worker thread, reactions run on
//! the loop; peers: the worker sends, this thread receives), `promise_chain_100` (per hop) and
//! `promise_all_100` (per input), ours only. One iteration is one op; each sample runs a batch
//! of ops and the time is divided back.

mod common;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use eventloop_bench::promises::{Bench, CountingCalls, Impl, Row};

#[global_allocator]
static ALLOC: CountingCalls = CountingCalls;

fn promise_rows(c: &mut Criterion) {
    let mut bench = Bench::new();
    for row in Row::ALL {
        let mut group = c.benchmark_group(format!(
            "promise_{}",
            match row {
                Row::Chain => "chain_100",
                Row::All => "all_100",
                _ => row.name(),
            }
        ));
        group.throughput(Throughput::Elements(1));
        for imp in Impl::ALL.into_iter().filter(|imp| imp.has(row)) {
            group.bench_function(imp.name(), |b| {
                b.iter_custom(|iters| {
                    let ops = usize::try_from(iters).unwrap_or(usize::MAX).max(1);
                    let elapsed = bench.run(imp, row, ops);
                    // Ops are rounded up to whole batches: scale back to `iters`.
                    let batch = match row {
                        Row::Local => eventloop_bench::promises::LOCAL_BATCH,
                        Row::Chain => eventloop_bench::promises::CHAIN_DEPTH,
                        Row::All => eventloop_bench::promises::ALL_WIDTH,
                        Row::Remote => 1,
                    };
                    let ran = ops.div_ceil(batch) * batch;
                    elapsed.mul_f64(ops as f64 / ran as f64)
                });
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = common::quick();
    targets = promise_rows
}
criterion_main!(benches);
