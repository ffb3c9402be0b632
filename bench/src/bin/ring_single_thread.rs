//! The single-thread row (push + pop of a boxed closure) as a plain program, for counting
//! instructions under callgrind rather than timing them.
//!
//! What it measures: `ring_single_thread QUEUE [N]` creates one queue and runs N push+pop pairs
//! through the library's `push_pop_loop` (the same code the timed benchmarks run), N = 100 000
//! by default. Running it with N and with N = 0 under
//! `valgrind --tool=callgrind` and taking (total(N) − total(0)) / N gives instructions per
//! push+pop with start-up and queue creation cancelled out. `QUEUE` is one of the queue ids
//! (`ours`, `crossbeam_ArrayQueue`, `crossbeam_SegQueue`, `std_mpsc`, `concurrent_queue`, or
//! the short forms `array`, `seg`, `mpsc`, `concurrent`), or `none`: allocate and run the task
//! with no queue (in burst mode: hold the tasks in a plain `Vec`), the share of the per-item
//! cost that every queue pays alike.
//!
//! With a third argument `burst` it runs the burst row instead: push N, then pop and run N, on
//! one queue (`ArrayQueue` then gets capacity N, as in the timed burst row; the ring spills
//! past its 4096 slots), so the per-item count covers the ring's overflow path.
//!
//! Why: instruction counts are deterministic, so they compare the fast paths without the
//! ±30 % wall-clock noise of a shared VM (they do not see cache misses or contention).

use std::hint::black_box;
use std::{env, process};

use eventloop_bench::{
    Queue, QueueVisitor, RING_ROWS_CAPACITY, burst, for_each_queue, make_task, push_pop_loop,
};

/// Runs the loop for the queue whose id matches.
struct Run<'a> {
    wanted: &'a str,
    n: u64,
    burst: bool,
    ran: bool,
}

impl QueueVisitor for Run<'_> {
    fn visit<Q: Queue>(&mut self) {
        if self.ran || self.wanted != Q::ID {
            return;
        }
        if self.burst {
            let n = usize::try_from(self.n).expect("N fits in usize");
            let (tx, mut rx) = Q::make(n.max(1));
            burst::<Q>(&tx, &mut rx, black_box(n));
        } else {
            let (tx, mut rx) = Q::make(RING_ROWS_CAPACITY);
            push_pop_loop::<Q>(&tx, &mut rx, black_box(self.n));
        }
        self.ran = true;
    }
}

#[inline(never)]
fn task_only(n: u64, burst: bool) {
    if burst {
        // Same allocation pattern as a burst: all tasks live at once, then run in order.
        let tasks: Vec<_> = (0..n).map(|i| black_box(make_task(i as usize))).collect();
        for task in tasks {
            task();
        }
    } else {
        for i in 0..n {
            let task = black_box(make_task(i as usize));
            task();
        }
    }
}

fn main() {
    let mut args = env::args().skip(1);
    let Some(queue) = args.next() else {
        eprintln!(
            "usage: ring_single_thread QUEUE [N [burst]]   (QUEUE: ours|array|seg|mpsc|concurrent|none)"
        );
        process::exit(2);
    };
    let n: u64 = match args.next() {
        None => 100_000,
        Some(text) => text.parse().unwrap_or_else(|_| {
            eprintln!("ring_single_thread: N must be a non-negative integer, got {text:?}");
            process::exit(2);
        }),
    };
    let burst = match args.next().as_deref() {
        None => false,
        Some("burst") => true,
        Some(other) => {
            eprintln!("ring_single_thread: third argument must be `burst`, got {other:?}");
            process::exit(2);
        }
    };
    let wanted = match queue.as_str() {
        "array" => "crossbeam_ArrayQueue",
        "seg" => "crossbeam_SegQueue",
        "mpsc" => "std_mpsc",
        "concurrent" => "concurrent_queue",
        other => other,
    };
    if wanted == "none" {
        task_only(black_box(n), burst);
        return;
    }
    let mut run = Run {
        wanted,
        n,
        burst,
        ran: false,
    };
    for_each_queue(&mut run);
    if !run.ran {
        eprintln!("ring_single_thread: unknown queue {queue:?}");
        process::exit(2);
    }
}
