//! Promise rows: an eventloop-core `Promise` settled and reacted to on its loop, against
//! `tokio::sync::oneshot` and `futures_channel::oneshot` (send + receive) where a peer does the
//! same work.
//!
//! Rows (one "op" is one promise, or one channel):
//!
//! - [`Row::Local`]: on the loop thread, inside a task: create a promise, register one `then`
//!   reaction, resolve it; the batch's reactions run in the checkpoint that follows the task
//!   (`run_until_idle`). Ours counts the derived promise `then` returns (JS semantics: every
//!   `then` makes one). Peers: create a oneshot, send, `try_recv` on the same thread (they queue
//!   no reaction: the design's "does less" baseline).
//! - [`Row::Remote`]: the promises (with their reaction) are created on the loop's thread and a
//!   worker thread resolves them while the loop runs the reactions (`run_until_idle` until all
//!   ran). Peers: the channels are created here, a worker sends, this thread receives each with
//!   `try_recv` (spinning) in creation order.
//! - [`Row::Chain`]: a chain of [`CHAIN_DEPTH`] `then`s on one promise, resolved, run to the end;
//!   per hop. No peer.
//! - [`Row::All`]: `all` of [`ALL_WIDTH`] promises, each resolved, run until the combined promise
//!   settled; per input promise. No peer.
//!
//! Allocations per op are counted by [`CountingCalls`] (install it as the global allocator of
//! the binary and wrap the measured code in [`count_allocations`]).

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use eventloop_core::EventLoop;
use eventloop_core::promise::{Failure, Resolver, all};

/// Depth of the chain row.
pub const CHAIN_DEPTH: usize = 100;
/// Width of the `all` row.
pub const ALL_WIDTH: usize = 100;
/// Promises per task in the local row (one task, one checkpoint, per batch).
pub const LOCAL_BATCH: usize = 64;

/// The promise rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Row {
    /// Create, `then`, resolve, reaction run; one thread.
    Local,
    /// Created here, resolved by another thread, reactions run here.
    Remote,
    /// A chain of `then`s (per hop).
    Chain,
    /// `all` of many promises (per input).
    All,
}

impl Row {
    /// Every row, in table order.
    pub const ALL: [Row; 4] = [Row::Local, Row::Remote, Row::Chain, Row::All];

    /// Short name (command line, criterion group).
    pub fn name(self) -> &'static str {
        match self {
            Row::Local => "local",
            Row::Remote => "remote",
            Row::Chain => "chain",
            Row::All => "all",
        }
    }

    /// Table label.
    pub fn label(self) -> String {
        match self {
            Row::Local => "create + then + resolve + reaction run, one thread".to_owned(),
            Row::Remote => "settled from another thread, reaction run on the loop".to_owned(),
            Row::Chain => format!("chain of {CHAIN_DEPTH} thens (per hop)"),
            Row::All => format!("all of {ALL_WIDTH} (per input)"),
        }
    }

    /// What an op is.
    pub fn unit(self) -> &'static str {
        match self {
            Row::Local | Row::Remote => "promise",
            Row::Chain => "hop",
            Row::All => "input",
        }
    }
}

/// Who runs a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Impl {
    /// eventloop-core promises on an `EventLoop`.
    Ours,
    /// `tokio::sync::oneshot`.
    Tokio,
    /// `futures_channel::oneshot`.
    Futures,
}

impl Impl {
    /// Every implementation, ours first.
    pub const ALL: [Impl; 3] = [Impl::Ours, Impl::Tokio, Impl::Futures];

    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            Impl::Ours => "ours",
            Impl::Tokio => "tokio_oneshot",
            Impl::Futures => "futures_oneshot",
        }
    }

    /// Whether this implementation has the row (peers only for the comparable ones).
    pub fn has(self, row: Row) -> bool {
        self == Impl::Ours || matches!(row, Row::Local | Row::Remote)
    }

    /// Parses a short name (`ours`, `tokio`, `futures`, or the full names).
    pub fn parse(name: &str) -> Option<Impl> {
        match name {
            "ours" => Some(Impl::Ours),
            "tokio" | "tokio_oneshot" => Some(Impl::Tokio),
            "futures" | "futures_oneshot" => Some(Impl::Futures),
            _ => None,
        }
    }
}

/// A worker thread that runs closures sent to it (the "other thread" of the remote row).
pub struct Worker {
    jobs: Option<mpsc::Sender<Box<dyn FnOnce() + Send>>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Worker {
    /// Starts the thread.
    pub fn new() -> Self {
        let (jobs, rx) = mpsc::channel::<Box<dyn FnOnce() + Send>>();
        let thread = thread::spawn(move || {
            for job in rx {
                job();
            }
        });
        Self {
            jobs: Some(jobs),
            thread: Some(thread),
        }
    }

    /// Runs `job` on the worker.
    pub fn run(&self, job: impl FnOnce() + Send + 'static) {
        self.jobs
            .as_ref()
            .expect("running")
            .send(Box::new(job))
            .expect("worker alive");
    }
}

impl Default for Worker {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Worker")
    }
}

/// The state a row keeps between batches: the loop (ours) and the worker (remote rows).
#[derive(Debug)]
pub struct Bench {
    event_loop: EventLoop,
    worker: Worker,
}

impl Default for Bench {
    fn default() -> Self {
        Self::new()
    }
}

impl Bench {
    /// A loop and a worker thread.
    pub fn new() -> Self {
        Self {
            event_loop: EventLoop::new(),
            worker: Worker::new(),
        }
    }

    /// Runs `ops` ops of `row` with `imp`; returns the time they took. Ops are rounded up to
    /// whole batches of the row (a chain, an `all`, a local batch).
    pub fn run(&mut self, imp: Impl, row: Row, ops: usize) -> Duration {
        match (imp, row) {
            (Impl::Ours, Row::Local) => self.ours_local(ops),
            (Impl::Ours, Row::Remote) => self.ours_remote(ops),
            (Impl::Ours, Row::Chain) => self.ours_chain(ops),
            (Impl::Ours, Row::All) => self.ours_all(ops),
            (Impl::Tokio, Row::Local) => tokio_local(ops),
            (Impl::Futures, Row::Local) => futures_local(ops),
            (Impl::Tokio, Row::Remote) => peer_remote::<TokioOneshot>(&self.worker, ops),
            (Impl::Futures, Row::Remote) => peer_remote::<FuturesOneshot>(&self.worker, ops),
            _ => panic!("{} has no {} row", imp.name(), row.name()),
        }
    }

    /// The local row: batches of [`LOCAL_BATCH`] promises, each batch in one task.
    #[inline(never)]
    pub fn ours_local(&mut self, ops: usize) -> Duration {
        let batches = ops.div_ceil(LOCAL_BATCH);
        let start = Instant::now();
        for _ in 0..batches {
            self.event_loop
                .submit(|cx| {
                    for i in 0..LOCAL_BATCH {
                        let (promise, resolver) = cx.promise::<u64, Failure>();
                        let _ = promise.then(|v| {
                            black_box(v);
                            Ok(())
                        });
                        let _ = resolver.resolve(i as u64);
                    }
                })
                .expect("loop open");
            self.event_loop.run_until_idle().expect("loop open");
        }
        start.elapsed()
    }

    /// The remote row: `ops` promises created here, resolved by the worker while this thread
    /// runs the loop until every reaction ran.
    #[inline(never)]
    pub fn ours_remote(&mut self, ops: usize) -> Duration {
        let ran = Arc::new(AtomicUsize::new(0));
        let start = Instant::now();
        let mut resolvers: Vec<Resolver<u64, Failure>> = Vec::with_capacity(ops);
        for _ in 0..ops {
            let (promise, resolver) = self.event_loop.promise::<u64, Failure>();
            let ran = Arc::clone(&ran);
            let _ = promise.then(move |v| {
                black_box(v);
                ran.fetch_add(1, Relaxed);
                Ok(())
            });
            resolvers.push(resolver);
        }
        self.worker.run(move || {
            for (i, resolver) in resolvers.into_iter().enumerate() {
                let _ = resolver.resolve(i as u64);
            }
        });
        while ran.load(Relaxed) < ops {
            self.event_loop.run_until_idle().expect("loop open");
        }
        start.elapsed()
    }

    /// The chain row: chains of [`CHAIN_DEPTH`] hops, each built and resolved in one task.
    #[inline(never)]
    pub fn ours_chain(&mut self, ops: usize) -> Duration {
        let chains = ops.div_ceil(CHAIN_DEPTH);
        let start = Instant::now();
        for _ in 0..chains {
            self.event_loop
                .submit(|cx| {
                    let (promise, resolver) = cx.promise::<u64, Failure>();
                    let mut last = promise;
                    for _ in 0..CHAIN_DEPTH {
                        last = last.then(|v| Ok(black_box(*v) + 1));
                    }
                    let _ = resolver.resolve(0);
                    black_box(last);
                })
                .expect("loop open");
            self.event_loop.run_until_idle().expect("loop open");
        }
        start.elapsed()
    }

    /// The `all` row: `all` of [`ALL_WIDTH`] promises, each resolved, in one task.
    #[inline(never)]
    pub fn ours_all(&mut self, ops: usize) -> Duration {
        let rounds = ops.div_ceil(ALL_WIDTH);
        let start = Instant::now();
        for _ in 0..rounds {
            self.event_loop
                .submit(|cx| {
                    let mut inputs = Vec::with_capacity(ALL_WIDTH);
                    let mut resolvers = Vec::with_capacity(ALL_WIDTH);
                    for _ in 0..ALL_WIDTH {
                        let (promise, resolver) = cx.promise::<u64, Failure>();
                        inputs.push(promise);
                        resolvers.push(resolver);
                    }
                    let combined = all(cx.handle().scheduler(), inputs);
                    let _ = combined.then(|values| {
                        black_box(values.len());
                        Ok(())
                    });
                    for (i, resolver) in resolvers.into_iter().enumerate() {
                        let _ = resolver.resolve(i as u64);
                    }
                })
                .expect("loop open");
            self.event_loop.run_until_idle().expect("loop open");
        }
        start.elapsed()
    }
}

/// tokio oneshot on one thread: create, send, receive.
#[inline(never)]
pub fn tokio_local(ops: usize) -> Duration {
    let start = Instant::now();
    for i in 0..ops {
        let (tx, mut rx) = tokio::sync::oneshot::channel::<u64>();
        let _ = tx.send(i as u64);
        black_box(rx.try_recv().expect("sent"));
    }
    start.elapsed()
}

/// futures oneshot on one thread: create, send, receive.
#[inline(never)]
pub fn futures_local(ops: usize) -> Duration {
    let start = Instant::now();
    for i in 0..ops {
        let (tx, mut rx) = futures_channel::oneshot::channel::<u64>();
        let _ = tx.send(i as u64);
        black_box(rx.try_recv().expect("alive").expect("sent"));
    }
    start.elapsed()
}

/// A peer oneshot channel, for the remote row.
trait Oneshot {
    type Tx: Send + 'static;
    type Rx;
    fn channel() -> (Self::Tx, Self::Rx);
    fn send(tx: Self::Tx, value: u64);
    /// `Some` once the value arrived.
    fn try_recv(rx: &mut Self::Rx) -> Option<u64>;
}

struct TokioOneshot;

impl Oneshot for TokioOneshot {
    type Tx = tokio::sync::oneshot::Sender<u64>;
    type Rx = tokio::sync::oneshot::Receiver<u64>;
    fn channel() -> (Self::Tx, Self::Rx) {
        tokio::sync::oneshot::channel()
    }
    fn send(tx: Self::Tx, value: u64) {
        let _ = tx.send(value);
    }
    fn try_recv(rx: &mut Self::Rx) -> Option<u64> {
        rx.try_recv().ok()
    }
}

struct FuturesOneshot;

impl Oneshot for FuturesOneshot {
    type Tx = futures_channel::oneshot::Sender<u64>;
    type Rx = futures_channel::oneshot::Receiver<u64>;
    fn channel() -> (Self::Tx, Self::Rx) {
        futures_channel::oneshot::channel()
    }
    fn send(tx: Self::Tx, value: u64) {
        let _ = tx.send(value);
    }
    fn try_recv(rx: &mut Self::Rx) -> Option<u64> {
        rx.try_recv().ok().flatten()
    }
}

/// The remote row for a peer: `ops` channels created here, the worker sends on each, this
/// thread receives each in creation order (spinning on `try_recv`).
#[inline(never)]
fn peer_remote<O: Oneshot>(worker: &Worker, ops: usize) -> Duration {
    let start = Instant::now();
    let mut senders = Vec::with_capacity(ops);
    let mut receivers = Vec::with_capacity(ops);
    for _ in 0..ops {
        let (tx, rx) = O::channel();
        senders.push(tx);
        receivers.push(rx);
    }
    worker.run(move || {
        for (i, tx) in senders.into_iter().enumerate() {
            O::send(tx, i as u64);
        }
    });
    for mut rx in receivers {
        loop {
            if let Some(value) = O::try_recv(&mut rx) {
                black_box(value);
                break;
            }
            std::hint::spin_loop();
        }
    }
    start.elapsed()
}

/// Whether [`CountingCalls`] counts.
static COUNTING: AtomicBool = AtomicBool::new(false);
/// Allocation calls (alloc, alloc_zeroed, realloc) while counting.
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

/// A global allocator that counts allocation calls while [`count_allocations`] runs: `System`
/// plus one relaxed load per call outside that window.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountingCalls;

#[inline]
fn note() {
    if COUNTING.load(Relaxed) {
        ALLOCATIONS.fetch_add(1, Relaxed);
    }
}

// SAFETY: every method forwards to `System` with its arguments unchanged and returns what
// `System` returned; the counter is bookkeeping only.
unsafe impl GlobalAlloc for CountingCalls {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: the caller meets `alloc`'s contract; forwarded unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: as `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller meets `dealloc`'s contract; forwarded unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: the caller meets `realloc`'s contract; forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Runs `f` with allocation counting on (the process-wide count: run it while no other thread
/// allocates, except the ones `f` uses) and returns the number of allocation calls.
pub fn count_allocations(f: impl FnOnce()) -> usize {
    ALLOCATIONS.store(0, Relaxed);
    COUNTING.store(true, Relaxed);
    f();
    COUNTING.store(false, Relaxed);
    ALLOCATIONS.load(Relaxed)
}

/// A promise row's result, for tables: ns per op and allocations per op.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    /// Median nanoseconds per op.
    pub ns: f64,
    /// Allocation calls per op.
    pub allocs: f64,
}
