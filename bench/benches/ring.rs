//! Criterion benchmarks: the eventloop-core ring against crossbeam-queue `ArrayQueue` and
//! `SegQueue`, `std::sync::mpsc` and concurrent-queue, all in the same run.
//!
//! What each group measures (the workloads are in the library, shared with `report`):
//!
//! - `1_single_thread`: one push + one pop of a freshly boxed closure on one thread; one
//!   iteration is one push+pop. The cost floor of the fast path.
//! - `2_spsc_1p1c`, `3_mpsc_2p1c`, `4_mpsc_4p1c`: 1, 2 or 4 producer threads push 200 000
//!   tasks between them while the bench thread pops (spinning, then yielding, when empty); one
//!   iteration is one round of 200 000 items, timed from a start barrier to the last pop. The
//!   throughput line is items per second. On a 2-core machine the 2- and 4-producer rounds
//!   are oversubscribed: that is the point of those rows (producers get descheduled).
//! - `5_burst_100k`: push 100 000 tasks, then drain them, on one thread, into a long-lived
//!   queue (the ring overflows ~24× its slots). `ArrayQueue` gets capacity 100 000 here since
//!   it cannot overflow. Memory use of this row is measured by the `report` binary.
//!
//! Why criterion and `report` both exist: criterion gives confidence intervals and
//! regressions per benchmark; `report` prints one comparison table with ratios.
//! Quick settings (1 s warm-up, 2 s measurement) are set here; command-line flags override.

mod common;

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use eventloop_bench::counting::CountingAlloc;
use eventloop_bench::{
    BURST_ITEMS, PRODUCER_ROUND_ITEMS, Queue, QueueVisitor, RING_ROWS_CAPACITY, burst,
    for_each_queue, producers_round, single_thread,
};

// Same allocator as `report` (counting is off outside its windows: one relaxed load per call),
// so both programs time the same allocation path.
#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

struct SingleThread<'g, 'c>(&'g mut BenchmarkGroup<'c, WallTime>);

impl QueueVisitor for SingleThread<'_, '_> {
    fn visit<Q: Queue>(&mut self) {
        self.0.bench_function(Q::ID, |b| {
            let (tx, mut rx) = Q::make(RING_ROWS_CAPACITY);
            b.iter_custom(|iters| single_thread::<Q>(&tx, &mut rx, iters));
        });
    }
}

struct Producers<'g, 'c> {
    group: &'g mut BenchmarkGroup<'c, WallTime>,
    producers: usize,
}

impl QueueVisitor for Producers<'_, '_> {
    fn visit<Q: Queue>(&mut self) {
        let producers = self.producers;
        self.group.bench_function(Q::ID, |b| {
            b.iter_custom(|rounds| {
                (0..rounds)
                    .map(|_| {
                        producers_round::<Q>(producers, PRODUCER_ROUND_ITEMS, RING_ROWS_CAPACITY)
                    })
                    .sum()
            });
        });
    }
}

struct Burst<'g, 'c>(&'g mut BenchmarkGroup<'c, WallTime>);

impl QueueVisitor for Burst<'_, '_> {
    fn visit<Q: Queue>(&mut self) {
        self.0.bench_function(Q::ID, |b| {
            let (tx, mut rx) = Q::make(BURST_ITEMS);
            b.iter_custom(|bursts| {
                (0..bursts)
                    .map(|_| burst::<Q>(&tx, &mut rx, BURST_ITEMS))
                    .sum()
            });
        });
    }
}

fn single_thread_row(c: &mut Criterion) {
    let mut group = c.benchmark_group("1_single_thread");
    group.throughput(Throughput::Elements(1));
    for_each_queue(&mut SingleThread(&mut group));
    group.finish();
}

fn producer_rows(c: &mut Criterion) {
    for (name, producers) in [("2_spsc_1p1c", 1), ("3_mpsc_2p1c", 2), ("4_mpsc_4p1c", 4)] {
        let mut group = c.benchmark_group(name);
        group.sampling_mode(SamplingMode::Flat).sample_size(10);
        group.throughput(Throughput::Elements(PRODUCER_ROUND_ITEMS as u64));
        for_each_queue(&mut Producers {
            group: &mut group,
            producers,
        });
        group.finish();
    }
}

fn burst_row(c: &mut Criterion) {
    let mut group = c.benchmark_group("5_burst_100k");
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    group.throughput(Throughput::Elements(BURST_ITEMS as u64));
    for_each_queue(&mut Burst(&mut group));
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::quick();
    targets = single_thread_row, producer_rows, burst_row
}
criterion_main!(benches);
