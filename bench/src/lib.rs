//! Shared workloads for comparing the eventloop-core microtask ring with peer MPSC queues (and,
//! in [`timers`], its timer pool with peer timer structures).
//!
//! What is measured: the cost of moving an event-loop task — a boxed closure
//! ([`Task`] = `Box<dyn FnOnce() + Send>`, allocated in the measured loop and run on pop, as a
//! real event loop would) — through a queue, in five situations:
//!
//! 1. one thread pushes and pops in turn ([`push_pop_loop`], [`single_thread`]);
//! 2. to 4. one, two or four producer threads push a fixed total that the bench thread pops,
//!    spinning (then yielding) when the queue is empty ([`producers_round`]);
//! 5. a burst far larger than the ring is pushed, then drained ([`burst`]), with the heap it
//!    needs at its peak and what it still holds afterwards ([`burst_memory`], measured by the
//!    [`counting`] allocator).
//!
//! Why this shape: every queue goes through the same generic code ([`Queue`]), so the numbers
//! differ only by the queue. Peers: crossbeam-queue's `ArrayQueue` (bounded) and `SegQueue`,
//! `std::sync::mpsc` (unbounded `channel`), and concurrent-queue's unbounded queue. The ring
//! always has its default 4096 lock-free slots; `ArrayQueue` gets the capacity each workload
//! passes ([`RING_ROWS_CAPACITY`] in rows 1–4, the whole burst in row 5, since it cannot
//! overflow); the other peers are unbounded and ignore it.
//!
//! One level up, [`remote`] runs the whole event loop against peer executors (tokio's
//! current-thread runtime, channels with a thread): remote submission throughput and ping-pong
//! latency with its CPU cost.
//!
//! Beside them, [`timers`] measures the timer pool (`eventloop_core::timer::TimerPool`) against
//! a `BinaryHeap` + lazy-cancel baseline and tokio-util's `DelayQueue`: schedule, cancel and
//! fire at 1k, 100k and 1M live timers, and heap bytes per timer.
//!
//! [`promises`] measures eventloop-core promises on their loop against tokio's and futures'
//! oneshot channels: create + react + settle on one thread, settled from another thread, a
//! chain of 100, `all` of 100, with allocations per promise.
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

use std::hint::{black_box, spin_loop};
use std::sync::{Arc, Barrier, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use concurrent_queue::ConcurrentQueue;
use crossbeam_queue::{ArrayQueue, SegQueue};
use eventloop_core::ring;

pub mod counting;
pub mod promises;
pub mod remote;
pub mod timers;

/// The item every queue carries: a boxed closure, as an event loop's microtask would be.
pub type Task = Box<dyn FnOnce() + Send>;

/// Items per round in the producer/consumer rows (split across the producers).
pub const PRODUCER_ROUND_ITEMS: usize = 200_000;

/// Items pushed in one burst (row 5): about 24 times the ring's lock-free capacity.
pub const BURST_ITEMS: usize = 100_000;

/// Capacity given to `ArrayQueue` in rows 1–4: the same number of lock-free slots as the ring.
pub const RING_ROWS_CAPACITY: usize = ring::DEFAULT_CAPACITY;

/// Builds a task that captures one word (so the box really allocates) and, when run, passes it
/// to [`black_box`] (so running it is not optimised away).
#[inline]
pub fn make_task(value: usize) -> Task {
    Box::new(move || {
        black_box(value);
    })
}

/// A queue under test, reduced to what the workloads need.
pub trait Queue {
    /// Name shown in tables.
    const NAME: &'static str;
    /// Identifier used for criterion benchmark ids and on command lines.
    const ID: &'static str;
    /// The pushing handle, cloned once per producer thread.
    type Tx: Clone + Send + 'static;
    /// The popping handle (the bench thread's).
    type Rx;

    /// Creates an empty queue. `capacity` bounds only the queues that are bounded.
    fn make(capacity: usize) -> (Self::Tx, Self::Rx);
    /// Pushes, retrying (spin, then yield) while a bounded queue is full.
    fn push(tx: &Self::Tx, task: Task);
    /// Pops the oldest task, or `None` if nothing is ready.
    fn pop(rx: &mut Self::Rx) -> Option<Task>;
}

/// The ring under test: `eventloop_core::ring` with [`ring::DEFAULT_CAPACITY`] slots.
#[derive(Debug)]
pub struct Ours;

impl Queue for Ours {
    const NAME: &'static str = "ours (ring)";
    const ID: &'static str = "ours";
    type Tx = ring::Producer<Task>;
    type Rx = ring::Consumer<Task>;

    fn make(_capacity: usize) -> (Self::Tx, Self::Rx) {
        ring::new()
    }

    #[inline]
    fn push(tx: &Self::Tx, task: Task) {
        if tx.push(task).is_err() {
            unreachable!("the ring is never closed while a benchmark runs");
        }
    }

    #[inline]
    fn pop(rx: &mut Self::Rx) -> Option<Task> {
        rx.pop()
    }
}

/// crossbeam-queue's bounded `ArrayQueue`.
#[derive(Debug)]
pub struct CbArray;

impl Queue for CbArray {
    const NAME: &'static str = "ArrayQueue";
    const ID: &'static str = "crossbeam_ArrayQueue";
    type Tx = Arc<ArrayQueue<Task>>;
    type Rx = Arc<ArrayQueue<Task>>;

    fn make(capacity: usize) -> (Self::Tx, Self::Rx) {
        let queue = Arc::new(ArrayQueue::new(capacity));
        (Arc::clone(&queue), queue)
    }

    #[inline]
    fn push(tx: &Self::Tx, mut task: Task) {
        let mut backoff = Backoff::new();
        while let Err(rejected) = tx.push(task) {
            task = rejected;
            backoff.snooze();
        }
    }

    #[inline]
    fn pop(rx: &mut Self::Rx) -> Option<Task> {
        rx.pop()
    }
}

/// crossbeam-queue's unbounded `SegQueue`.
#[derive(Debug)]
pub struct CbSeg;

impl Queue for CbSeg {
    const NAME: &'static str = "SegQueue";
    const ID: &'static str = "crossbeam_SegQueue";
    type Tx = Arc<SegQueue<Task>>;
    type Rx = Arc<SegQueue<Task>>;

    fn make(_capacity: usize) -> (Self::Tx, Self::Rx) {
        let queue = Arc::new(SegQueue::new());
        (Arc::clone(&queue), queue)
    }

    #[inline]
    fn push(tx: &Self::Tx, task: Task) {
        tx.push(task);
    }

    #[inline]
    fn pop(rx: &mut Self::Rx) -> Option<Task> {
        rx.pop()
    }
}

/// `std::sync::mpsc::channel` (unbounded), popped with `try_recv`.
#[derive(Debug)]
pub struct StdMpsc;

impl Queue for StdMpsc {
    const NAME: &'static str = "std mpsc";
    const ID: &'static str = "std_mpsc";
    type Tx = mpsc::Sender<Task>;
    type Rx = mpsc::Receiver<Task>;

    fn make(_capacity: usize) -> (Self::Tx, Self::Rx) {
        mpsc::channel()
    }

    #[inline]
    fn push(tx: &Self::Tx, task: Task) {
        if tx.send(task).is_err() {
            unreachable!("the receiver lives until the benchmark ends");
        }
    }

    #[inline]
    fn pop(rx: &mut Self::Rx) -> Option<Task> {
        rx.try_recv().ok()
    }
}

/// concurrent-queue's `ConcurrentQueue::unbounded`.
#[derive(Debug)]
pub struct ConcQueue;

impl Queue for ConcQueue {
    const NAME: &'static str = "concurrent-queue";
    const ID: &'static str = "concurrent_queue";
    type Tx = Arc<ConcurrentQueue<Task>>;
    type Rx = Arc<ConcurrentQueue<Task>>;

    fn make(_capacity: usize) -> (Self::Tx, Self::Rx) {
        let queue = Arc::new(ConcurrentQueue::unbounded());
        (Arc::clone(&queue), queue)
    }

    #[inline]
    fn push(tx: &Self::Tx, task: Task) {
        if tx.push(task).is_err() {
            unreachable!("the queue is never closed while a benchmark runs");
        }
    }

    #[inline]
    fn pop(rx: &mut Self::Rx) -> Option<Task> {
        rx.pop().ok()
    }
}

/// Something to do once per queue type; see [`for_each_queue`].
pub trait QueueVisitor {
    /// Called once for each queue, ours first.
    fn visit<Q: Queue>(&mut self);
}

/// Calls `visitor` for ours, then for every peer, in table order.
pub fn for_each_queue(visitor: &mut impl QueueVisitor) {
    visitor.visit::<Ours>();
    visitor.visit::<CbArray>();
    visitor.visit::<CbSeg>();
    visitor.visit::<StdMpsc>();
    visitor.visit::<ConcQueue>();
}

/// Waiting on an empty (or full) queue: spin a little, then give the core away. The machine
/// may have fewer cores than threads, so yielding is what lets a descheduled peer run.
#[derive(Debug)]
pub struct Backoff {
    spins: u32,
}

impl Backoff {
    const SPIN_LIMIT: u32 = 64;

    /// A fresh backoff (spins first).
    pub fn new() -> Self {
        Self { spins: 0 }
    }

    /// Waits a little: `spin_loop` for the first few calls, `yield_now` after.
    #[inline]
    pub fn snooze(&mut self) {
        if self.spins < Self::SPIN_LIMIT {
            self.spins += 1;
            spin_loop();
        } else {
            thread::yield_now();
        }
    }

    /// Back to spinning, after progress was made.
    #[inline]
    pub fn reset(&mut self) {
        self.spins = 0;
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}

/// Row 1's work: `n` times, allocate a task, push it, pop it, run it — on one thread.
#[inline(never)]
pub fn push_pop_loop<Q: Queue>(tx: &Q::Tx, rx: &mut Q::Rx, n: u64) {
    for i in 0..n {
        Q::push(tx, make_task(i as usize));
        match Q::pop(rx) {
            Some(task) => task(),
            None => panic!("{}: a task pushed on this thread was not poppable", Q::NAME),
        }
    }
}

/// Row 1 timed: wall-clock time of [`push_pop_loop`] for `n` push+pop pairs.
pub fn single_thread<Q: Queue>(tx: &Q::Tx, rx: &mut Q::Rx, n: u64) -> Duration {
    let start = Instant::now();
    push_pop_loop::<Q>(tx, rx, n);
    start.elapsed()
}

/// Spawns `producers` threads that push `total` tasks between them into `tx` once the returned
/// barrier releases them (the caller's `wait` is the start signal, so thread start-up is not
/// counted). `tx` is consumed: the queue sees no producer but these threads.
pub fn spawn_producers<Q: Queue>(
    tx: Q::Tx,
    producers: usize,
    total: usize,
) -> (Arc<Barrier>, Vec<thread::JoinHandle<()>>) {
    assert!(producers > 0, "at least one producer");
    let start_line = Arc::new(Barrier::new(producers + 1));
    let handles = (0..producers)
        .map(|p| {
            let tx = tx.clone();
            let start_line = Arc::clone(&start_line);
            let count = total / producers + usize::from(p < total % producers);
            thread::spawn(move || {
                start_line.wait();
                for i in 0..count {
                    Q::push(&tx, make_task(i));
                }
            })
        })
        .collect();
    (start_line, handles)
}

/// Rows 2–4: `producers` threads push `total` tasks between them into a fresh queue while this
/// thread pops and runs them. Returns the time from the start signal (a barrier, so thread
/// start-up is not counted) until the last task was popped.
pub fn producers_round<Q: Queue>(producers: usize, total: usize, capacity: usize) -> Duration {
    let (tx, mut rx) = Q::make(capacity);
    let (start_line, handles) = spawn_producers::<Q>(tx, producers, total);
    start_line.wait();
    let start = Instant::now();
    let mut popped = 0;
    let mut backoff = Backoff::new();
    while popped < total {
        match Q::pop(&mut rx) {
            Some(task) => {
                task();
                popped += 1;
                backoff.reset();
            }
            None => backoff.snooze(),
        }
    }
    let elapsed = start.elapsed();
    for handle in handles {
        handle.join().expect("producer thread panicked");
    }
    elapsed
}

/// Row 5 timed: push `n` tasks, then pop and run all of them, on one thread, into an existing
/// queue (so repeated bursts measure the steady state, including any re-allocation the queue
/// does after it returned memory).
pub fn burst<Q: Queue>(tx: &Q::Tx, rx: &mut Q::Rx, n: usize) -> Duration {
    let start = Instant::now();
    for i in 0..n {
        Q::push(tx, make_task(i));
    }
    for popped in 0..n {
        match Q::pop(rx) {
            Some(task) => task(),
            None => panic!("{}: burst drained early, {popped} of {n}", Q::NAME),
        }
    }
    start.elapsed()
}

/// Heap use of one burst (row 5), in bytes, counted by [`counting::CountingAlloc`] from just
/// before the queue is created.
#[derive(Debug, Clone, Copy)]
pub struct BurstMemory {
    /// Items in the burst.
    pub items: usize,
    /// Heap bytes of one task itself (the closure's box), paid by every queue alike.
    pub task_bytes: usize,
    /// Peak bytes held (queue + tasks), counting a `realloc` as the allocator reports it: the
    /// old block's size is swapped for the new one's.
    pub peak: usize,
    /// Peak bytes held if every `realloc` copies: old and new block both live for a moment.
    pub peak_if_realloc_copies: usize,
    /// Bytes the queue still holds once the burst has drained (the queue is still alive).
    pub held_after_drain: isize,
}

impl BurstMemory {
    /// Peak bytes per item, tasks included.
    pub fn peak_per_item(&self) -> f64 {
        self.peak as f64 / self.items as f64
    }

    /// Peak bytes per item spent by the queue itself (tasks excluded).
    pub fn queue_peak_per_item(&self) -> f64 {
        self.peak_per_item() - self.task_bytes as f64
    }

    /// As [`queue_peak_per_item`](Self::queue_peak_per_item), if every `realloc` copies.
    pub fn queue_peak_per_item_if_copy(&self) -> f64 {
        self.peak_if_realloc_copies as f64 / self.items as f64 - self.task_bytes as f64
    }
}

/// Row 5's memory: one burst of `n` into a fresh queue, with the counting allocator on.
/// Returns `None` if [`counting::CountingAlloc`] is not the global allocator of this program.
/// Run it with no other thread allocating.
pub fn burst_memory<Q: Queue>(n: usize, capacity: usize) -> Option<BurstMemory> {
    let window = counting::Window::open()?;
    let task_bytes = {
        let before = counting::current();
        let task = make_task(0);
        let bytes = counting::current() - before;
        drop(task);
        usize::try_from(bytes).unwrap_or(0)
    };

    let window = window.restart();
    let (tx, mut rx) = Q::make(capacity);
    for i in 0..n {
        Q::push(&tx, make_task(i));
    }
    for popped in 0..n {
        match Q::pop(&mut rx) {
            Some(task) => task(),
            None => panic!("{}: burst drained early, {popped} of {n}", Q::NAME),
        }
    }
    let held_after_drain = window.current();
    let (peak, peak_if_realloc_copies) = window.peaks();
    drop((tx, rx));
    Some(BurstMemory {
        items: n,
        task_bytes,
        peak,
        peak_if_realloc_copies,
        held_after_drain,
    })
}

/// The median of `samples` (sorted in place). Panics on an empty slice.
pub fn median(samples: &mut [f64]) -> f64 {
    assert!(!samples.is_empty(), "median of nothing");
    samples.sort_by(f64::total_cmp);
    let mid = samples.len() / 2;
    if samples.len() % 2 == 1 {
        samples[mid]
    } else {
        (samples[mid - 1] + samples[mid]) / 2.0
    }
}
