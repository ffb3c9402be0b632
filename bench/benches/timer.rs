//! Criterion benchmarks of the timer rows: the eventloop-core `TimerPool` against a
//! `BinaryHeap` + lazy-cancel baseline and tokio-util's `DelayQueue`, all in the same run.
//!
//! Groups `timer_{schedule,cancel,fire}_{1k,100k,1M}`, one benchmark per implementation
//! (`ours`, `baseline`, `wheel`); one iteration is one operation at a steady pool size of about
//! n live timers. The workload (batches of k timed operations with untimed restores, seeded
//! deadlines, identical across implementations) is in `eventloop_bench::timers`, shared with
//! `report` and the callgrind program `timer_ops`. Each benchmark builds its own instance with
//! n timers before measuring (not timed).
//!
//! The cancel rows run at least n cancels per sample (criterion's iteration count is raised to
//! a whole compaction cycle of the baseline and the time scaled back), so the baseline pays its
//! deferred compaction in every sample. Sampling is flat with 10 samples: each sample is a long
//! run of operations over a pool that changes, not a repeatable micro-operation.

mod common;

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use eventloop_bench::counting::CountingAlloc;
use eventloop_bench::timers::{
    Row, SEED, SIZES, TimerBench, Timers, TimersVisitor, for_each_timers, size_label,
};

// Same allocator as `report` (counting is off outside its windows: one relaxed load per call).
#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

struct Bench<'g, 'c> {
    group: &'g mut BenchmarkGroup<'c, WallTime>,
    row: Row,
    n: usize,
}

impl TimersVisitor for Bench<'_, '_> {
    fn visit<T: Timers>(&mut self) {
        let (row, n) = (self.row, self.n);
        let mut bench = TimerBench::<T>::new(n, SEED);
        self.group.bench_function(T::ID, |b| {
            b.iter_custom(|iters| {
                let iters = usize::try_from(iters).unwrap_or(usize::MAX);
                let measured = bench.run(row, row.window(n, iters));
                measured
                    .elapsed
                    .mul_f64(iters as f64 / measured.ops.max(1) as f64)
            });
        });
    }
}

fn timer_rows(c: &mut Criterion) {
    for row in Row::ALL {
        for n in SIZES {
            let mut group = c.benchmark_group(format!("timer_{}_{}", row.name(), size_label(n)));
            group.sampling_mode(SamplingMode::Flat).sample_size(10);
            group.throughput(Throughput::Elements(1));
            for_each_timers(&mut Bench {
                group: &mut group,
                row,
                n,
            });
            group.finish();
        }
    }
}

criterion_group! {
    name = benches;
    config = common::quick();
    targets = timer_rows
}
criterion_main!(benches);
