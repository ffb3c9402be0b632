//! Timer benchmarks: the eventloop-core [`TimerPool`] against a `BinaryHeap` + lazy-cancel
//! baseline and tokio-util's `DelayQueue` (a hierarchical timer wheel), all driven by the same
//! seeded workload.
//!
//! What is measured: the cost of one timer operation at a steady pool size of about n live
//! timers (n = 1k, 100k, 1M, [`SIZES`]), in three rows ([`Row`]):
//!
//! - **schedule**: k new timers are scheduled (timed), then k random live timers are cancelled
//!   (untimed), so the size moves n → n + k → n;
//! - **cancel**: k random live timers are cancelled (timed), then k new ones are scheduled
//!   (untimed): n → n − k → n;
//! - **fire**: the clock advances until about k timers are due, and every due timer is taken,
//!   its callback run and the timer finished (timed); then as many new timers are scheduled
//!   (untimed): n → n − m → n, with m ≈ k.
//!
//! k ([`batch_len`]) is n/10 capped at 1000, so every timed operation sees a pool within 10 % of
//! n, and one batch is long enough (≥ 100 operations) that reading the clock around it costs
//! under 1 %. A measurement is a *window* of batches with a target number of operations; ns/op
//! is the window's timed total ÷ its operations.
//!
//! Deadlines are whole milliseconds, `now + 1 + uniform[0, 60 s)` ([`HORIZON_MS`]) (the initial
//! fill uses the distribution those settle to: see `Harness::prepare_jobs`), drawn from one
//! seeded generator ([`Rng`]) per pool; the victims of cancels are drawn from the same
//! generator among the live timers. All three implementations see exactly the same sequence of
//! operations (same deadlines, same victims, same timers due at each step; the fire batches are
//! checked to agree), so their numbers differ only by the data structure.
//!
//! The callback is a [`Callback`] (`Box<dyn FnMut()>`) capturing one word, allocated *outside*
//! the timed batches and dropped outside them too: the timed part is the structure's own work
//! plus, in the fire row, one indirect call of the callback (a thread-local store).
//!
//! The implementations ([`Timers`]):
//!
//! - [`Ours`]: `TimerPool<Callback>` (indexed 4-ary heap + ID map + slot table).
//! - [`HeapBaseline`]: `std::collections::BinaryHeap<Reverse<(deadline_ns, seq, id)>>` and a
//!   `hashbrown::HashMap<id, Callback>` (the same map and hasher as ours). Cancel only removes
//!   the callback from the map (lazy); fire pops and skips entries whose ID is no longer in the
//!   map; when the heap holds more cancelled entries than live ones it is compacted
//!   (`BinaryHeap::retain`, O(heap) once per ≥ n cancels: amortised O(1) per cancel). Every
//!   window starts from a compacted heap ([`Timers::settle`], untimed), and the cancel window
//!   is at least n cancels long ([`cancel_window`]), so it contains exactly its share of
//!   compactions: the baseline's cancel row pays its deferred work, and its schedule and fire
//!   rows see a heap of live timers only — its best case (in a workload that also cancels, its
//!   fire would pop the cancelled entries that reach the top as well).
//! - [`Wheel`]: tokio-util's `DelayQueue<Callback>` in a current-thread tokio runtime with the
//!   clock paused (`start_paused`); before each fire batch the clock is advanced to `now`
//!   (`tokio::time::advance`, untimed), and the batch polls `poll_expired` with a no-op waker
//!   until it is pending. Its resolution is 1 ms, which the whole-millisecond deadlines match.
//!   `DelayQueue` keys are slab indices reused after removal, so a JS runtime on it would still
//!   need its own ID map for `clearTimeout` of a fired ID: its rows are a lower bound for that.

use std::cell::Cell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use eventloop_core::timer::{Cancel, TimerId, TimerKind, TimerPool};
use tokio_util::time::DelayQueue;
use tokio_util::time::delay_queue::Key as WheelKey;

use crate::counting;

/// The callback every implementation stores: a boxed closure capturing one word.
pub type Callback = Box<dyn FnMut()>;

/// Pool sizes of the rows.
pub const SIZES: [usize; 3] = [1_000, 100_000, 1_000_000];

/// Deadlines are `now + 1 ms + uniform[0, HORIZON_MS)`.
pub const HORIZON_MS: u64 = 60_000;

/// Default timed operations per window (schedule and fire rows; cancel: see [`cancel_window`]).
pub const DEFAULT_OPS: usize = 20_000;

/// Seed of every pool's generator.
pub const SEED: u64 = 0x5eed_7133_2024_0001;

/// Timers per batch at pool size `n`: n/10, at least 1, at most 1000.
pub fn batch_len(n: usize) -> usize {
    (n / 10).clamp(1, 1000)
}

/// Cancels per window at size `n`: at least `ops`, and at least `n` (a full compaction cycle
/// of the baseline), rounded up to whole batches.
pub fn cancel_window(n: usize, ops: usize) -> usize {
    let k = batch_len(n);
    ops.max(n).div_ceil(k) * k
}

/// Short label of a size: `1k`, `100k`, `1M`.
pub fn size_label(n: usize) -> String {
    if n >= 1_000_000 && n % 1_000_000 == 0 {
        format!("{}M", n / 1_000_000)
    } else if n >= 1000 && n % 1000 == 0 {
        format!("{}k", n / 1000)
    } else {
        n.to_string()
    }
}

thread_local! {
    /// The word captured by the callback that ran last (the harness learns which timer fired).
    static FIRED: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// A callback capturing `tag`; running it records `tag` as the last fired.
#[inline]
pub fn make_callback(tag: usize) -> Callback {
    Box::new(move || FIRED.with(|fired| fired.set(black_box(tag))))
}

fn last_fired() -> usize {
    FIRED.with(Cell::get)
}

/// A small seeded generator (xorshift64*), so every implementation sees the same numbers.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value; 0 is remapped).
    pub fn new(seed: u64) -> Self {
        Self(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..bound` (`bound > 0`; the bias of the multiply-shift is below 2^-32 here).
    pub fn below(&mut self, bound: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }
}

/// One timer implementation under test, reduced to what the workloads need.
pub trait Timers {
    /// Name shown in tables.
    const NAME: &'static str;
    /// Identifier for criterion ids and command lines.
    const ID: &'static str;
    /// What `schedule` returns and `cancel` takes.
    type Key: Copy;

    /// An empty instance.
    fn create() -> Self;

    /// Runs `f` inside whatever context the implementation needs (the wheel: its tokio
    /// runtime). The harness wraps every window in it, outside the timed parts.
    fn within<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> R
    where
        Self: Sized,
    {
        f(self)
    }

    /// Arms a one-shot timer due at `deadline` (since the clock origin).
    fn schedule(&mut self, deadline: Duration, callback: Callback) -> Self::Key;

    /// Cancels a live timer and hands back its callback (`None` if it was not live).
    fn cancel(&mut self, key: Self::Key) -> Option<Callback>;

    /// Untimed, at the start of every window: drops deferred work the structure may carry from
    /// earlier windows (the baseline: its cancelled entries), so each window starts from the
    /// same state. No-op by default.
    fn settle(&mut self) {}

    /// Makes `now` the current time (untimed; before each fire batch).
    fn advance(&mut self, now: Duration) {
        let _ = now;
    }

    /// Takes the earliest timer due at `now`, runs its callback, finishes the timer and hands
    /// the callback back to be dropped; `None` when no timer is due.
    fn fire_one(&mut self, now: Duration) -> Option<Callback>;
}

/// The pool under test: `eventloop_core::timer::TimerPool`.
#[derive(Debug, Default)]
pub struct Ours(TimerPool<Callback>);

impl Timers for Ours {
    const NAME: &'static str = "ours (TimerPool)";
    const ID: &'static str = "ours";
    type Key = TimerId;

    fn create() -> Self {
        Self(TimerPool::new())
    }

    #[inline]
    fn schedule(&mut self, deadline: Duration, callback: Callback) -> TimerId {
        match self.0.schedule(deadline, callback, TimerKind::Timeout, 0) {
            Ok(id) => id,
            Err(_) => unreachable!("a benchmark never exhausts IDs or slots"),
        }
    }

    #[inline]
    fn cancel(&mut self, key: TimerId) -> Option<Callback> {
        match self.0.cancel(key) {
            Cancel::Cancelled(callback) => Some(callback),
            Cancel::Firing | Cancel::NotFound => None,
        }
    }

    #[inline]
    fn fire_one(&mut self, now: Duration) -> Option<Callback> {
        let due = self.0.take_due(now)?;
        let mut callback = due.callback;
        callback();
        self.0.finish(due.token, callback, None)
    }
}

/// The baseline: `BinaryHeap<Reverse<(deadline_ns, seq, id)>>` + `HashMap<id, Callback>` with
/// lazy cancel and compaction when cancelled entries outnumber live ones.
pub struct HeapBaseline {
    heap: BinaryHeap<Reverse<(u64, u64, u64)>>,
    callbacks: hashbrown::HashMap<u64, Callback>,
    next_id: u64,
    seq: u64,
}

impl std::fmt::Debug for HeapBaseline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeapBaseline")
            .field("heap", &self.heap.len())
            .field("live", &self.callbacks.len())
            .finish_non_exhaustive()
    }
}

/// Heap entries beyond twice the live count that trigger no compaction yet (small pools).
const COMPACT_SLACK: usize = 16;

impl HeapBaseline {
    /// Drops every cancelled entry from the heap (O(heap): `retain` rebuilds in place).
    #[inline(never)]
    fn compact(&mut self) {
        let callbacks = &self.callbacks;
        self.heap
            .retain(|Reverse((_, _, id))| callbacks.contains_key(id));
    }

    /// Heap entries whose timer was cancelled (a diagnostic).
    pub fn stale(&self) -> usize {
        self.heap.len() - self.callbacks.len()
    }
}

fn nanos(deadline: Duration) -> u64 {
    u64::try_from(deadline.as_nanos()).unwrap_or(u64::MAX)
}

impl Timers for HeapBaseline {
    const NAME: &'static str = "BinaryHeap + lazy cancel";
    const ID: &'static str = "baseline";
    type Key = u64;

    fn create() -> Self {
        Self {
            heap: BinaryHeap::new(),
            callbacks: hashbrown::HashMap::new(),
            next_id: 1,
            seq: 0,
        }
    }

    #[inline]
    fn schedule(&mut self, deadline: Duration, callback: Callback) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let seq = self.seq;
        self.seq += 1;
        self.heap.push(Reverse((nanos(deadline), seq, id)));
        self.callbacks.insert(id, callback);
        id
    }

    fn settle(&mut self) {
        if self.stale() > 0 {
            self.compact();
        }
    }

    #[inline]
    fn cancel(&mut self, key: u64) -> Option<Callback> {
        let callback = self.callbacks.remove(&key)?;
        if self.heap.len() > 2 * self.callbacks.len() + COMPACT_SLACK {
            self.compact();
        }
        Some(callback)
    }

    #[inline]
    fn fire_one(&mut self, now: Duration) -> Option<Callback> {
        let now = nanos(now);
        while let Some(&Reverse((deadline, _, id))) = self.heap.peek() {
            if deadline > now {
                return None;
            }
            self.heap.pop();
            if let Some(mut callback) = self.callbacks.remove(&id) {
                callback();
                return Some(callback);
            }
        }
        None
    }
}

/// tokio-util's `DelayQueue` in a paused-clock current-thread runtime.
pub struct Wheel {
    queue: DelayQueue<Callback>,
    runtime: Rc<tokio::runtime::Runtime>,
    /// The tokio instant that is time zero of the workload (also the queue's own start).
    origin: tokio::time::Instant,
}

impl std::fmt::Debug for Wheel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wheel")
            .field("len", &self.queue.len())
            .finish_non_exhaustive()
    }
}

impl Timers for Wheel {
    const NAME: &'static str = "tokio-util DelayQueue";
    const ID: &'static str = "wheel";
    type Key = WheelKey;

    fn create() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("a paused-clock tokio runtime");
        let context = runtime.enter();
        // The clock is paused: both read the same instant.
        let queue = DelayQueue::new();
        let origin = tokio::time::Instant::now();
        drop(context);
        Self {
            queue,
            runtime: Rc::new(runtime),
            origin,
        }
    }

    fn within<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> R {
        let runtime = Rc::clone(&self.runtime);
        let _context = runtime.enter();
        f(self)
    }

    #[inline]
    fn schedule(&mut self, deadline: Duration, callback: Callback) -> WheelKey {
        self.queue.insert_at(callback, self.origin + deadline)
    }

    #[inline]
    fn cancel(&mut self, key: WheelKey) -> Option<Callback> {
        // The harness cancels live keys only (keys are reused, so `try_remove` could not tell a
        // stale key anyway): the plain `remove` is the cheaper call.
        Some(self.queue.remove(&key).into_inner())
    }

    fn advance(&mut self, now: Duration) {
        let target = self.origin + now;
        self.runtime.block_on(async move {
            let current = tokio::time::Instant::now();
            // `advance` also yields once, so the time driver fires the queue's sleep.
            tokio::time::advance(target.saturating_duration_since(current)).await;
        });
    }

    #[inline]
    fn fire_one(&mut self, _now: Duration) -> Option<Callback> {
        let mut cx = Context::from_waker(Waker::noop());
        match self.queue.poll_expired(&mut cx) {
            Poll::Ready(Some(expired)) => {
                let mut callback = expired.into_inner();
                callback();
                Some(callback)
            }
            Poll::Ready(None) | Poll::Pending => None,
        }
    }
}

/// Something to do once per implementation; see [`for_each_timers`].
pub trait TimersVisitor {
    /// Called once for each implementation, ours first.
    fn visit<T: Timers>(&mut self);
}

/// Calls `visitor` for ours, the baseline and the wheel, in table order.
pub fn for_each_timers(visitor: &mut impl TimersVisitor) {
    visitor.visit::<Ours>();
    visitor.visit::<HeapBaseline>();
    visitor.visit::<Wheel>();
}

/// A timed row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Row {
    /// Schedule one more timer.
    Schedule,
    /// Cancel a random live timer.
    Cancel,
    /// Take, run and finish the earliest due timer.
    Fire,
}

impl Row {
    /// All rows, in table order.
    pub const ALL: [Row; 3] = [Row::Schedule, Row::Cancel, Row::Fire];

    /// Lower-case name (tables, criterion groups, command lines).
    pub fn name(self) -> &'static str {
        match self {
            Row::Schedule => "schedule",
            Row::Cancel => "cancel",
            Row::Fire => "fire",
        }
    }

    /// Timed operations in one window at size `n` for a target of `ops`.
    pub fn window(self, n: usize, ops: usize) -> usize {
        match self {
            Row::Cancel => cancel_window(n, ops),
            Row::Schedule | Row::Fire => ops,
        }
    }
}

/// The timed part of one window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Measured {
    /// Sum of the timed batches.
    pub elapsed: Duration,
    /// Operations in them.
    pub ops: usize,
}

impl Measured {
    /// Nanoseconds per operation.
    pub fn ns_per_op(&self) -> f64 {
        self.elapsed.as_nanos() as f64 / self.ops.max(1) as f64
    }
}

/// The timed batch of the schedule row: schedule every job, collecting the keys.
#[inline(never)]
pub fn batch_schedule<T: Timers>(
    timers: &mut T,
    jobs: &mut Vec<(Duration, Callback)>,
    keys: &mut Vec<T::Key>,
) {
    for (deadline, callback) in jobs.drain(..) {
        keys.push(timers.schedule(deadline, callback));
    }
}

/// The timed batch of the cancel row: cancel every victim, collecting the callbacks.
#[inline(never)]
pub fn batch_cancel<T: Timers>(timers: &mut T, victims: &[T::Key], sink: &mut Vec<Callback>) {
    for &key in victims {
        match timers.cancel(key) {
            Some(callback) => sink.push(callback),
            None => panic!("{}: a live timer was not found", T::NAME),
        }
    }
}

/// The timed batch of the fire row: fire every timer due at `now`, collecting the callbacks
/// and which timers ran. Returns how many fired.
#[inline(never)]
pub fn batch_fire<T: Timers>(
    timers: &mut T,
    now: Duration,
    sink: &mut Vec<Callback>,
    fired: &mut Vec<usize>,
) -> usize {
    let before = sink.len();
    while let Some(callback) = timers.fire_one(now) {
        sink.push(callback);
        fired.push(last_fired());
    }
    sink.len() - before
}

fn ms(value: u64) -> Duration {
    Duration::from_millis(value)
}

/// The harness's side of a pool: which timers are live, the clock, the generator, and scratch
/// buffers reused by every batch (so batches allocate nothing but callbacks).
struct Harness<K> {
    n: usize,
    batch: usize,
    /// Live timers by tag (the word each callback captures); `None` = free tag.
    table: Vec<Option<K>>,
    free: Vec<usize>,
    live: usize,
    rng: Rng,
    now_ms: u64,
    /// Clock step of the fire row, adapted so that about `batch` timers fire per step.
    step_ms: u64,
    jobs: Vec<(Duration, Callback)>,
    tags: Vec<usize>,
    keys: Vec<K>,
    victims: Vec<K>,
    sink: Vec<Callback>,
    fired: Vec<usize>,
    /// Timers fired per fire batch, in order (to check that implementations agree).
    fire_log: Vec<u32>,
}

impl<K: Copy> Harness<K> {
    fn new(n: usize, seed: u64) -> Self {
        let batch = batch_len(n);
        Self {
            n,
            batch,
            table: Vec::with_capacity(n + batch),
            free: Vec::with_capacity(batch),
            live: 0,
            rng: Rng::new(seed),
            now_ms: 0,
            step_ms: (HORIZON_MS * batch as u64 / n as u64).max(1),
            jobs: Vec::with_capacity(batch),
            tags: Vec::with_capacity(batch),
            keys: Vec::with_capacity(batch),
            victims: Vec::with_capacity(batch),
            sink: Vec::with_capacity(batch),
            fired: Vec::with_capacity(2 * batch),
            fire_log: Vec::new(),
        }
    }

    /// Fills `jobs` (and `tags`) with `count` new timers: due `now + 1 ms + uniform[0, H)`, or
    /// for the initial fill (`initial`) with the density the live timers settle to.
    ///
    /// Why the fill differs: once the fire row has run for a while, the live timers are those
    /// scheduled during the last H with a uniform delay and not yet due, so the density of
    /// `deadline − now` over `[0, H)` falls linearly (∝ H − x): CDF 1 − (1 − x/H)², sampled as
    /// H·(1 − √(1 − u)). Filling with it makes every window see that steady state from the
    /// start, however many operations earlier windows ran.
    fn prepare_jobs(&mut self, count: usize, initial: bool) {
        self.jobs.clear();
        self.tags.clear();
        for _ in 0..count {
            let tag = match self.free.pop() {
                Some(tag) => tag,
                None => {
                    self.table.push(None);
                    self.table.len() - 1
                }
            };
            let delay = if initial {
                let u = (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
                ((HORIZON_MS as f64 * (1.0 - (1.0 - u).sqrt())) as u64).min(HORIZON_MS - 1)
            } else {
                self.rng.below(HORIZON_MS)
            };
            let deadline = self.now_ms + 1 + delay;
            self.jobs.push((ms(deadline), make_callback(tag)));
            self.tags.push(tag);
        }
    }

    /// Records the keys of the timers prepared by `prepare_jobs`.
    fn record_keys(&mut self) {
        debug_assert_eq!(self.keys.len(), self.tags.len());
        for (&tag, &key) in self.tags.iter().zip(&self.keys) {
            self.table[tag] = Some(key);
        }
        self.live += self.keys.len();
        self.keys.clear();
    }

    /// Fills `victims` with `count` distinct random live timers (taken out of the table).
    fn prepare_victims(&mut self, count: usize) {
        self.victims.clear();
        assert!(count <= self.live, "more victims than live timers");
        for _ in 0..count {
            loop {
                let tag = self.rng.below(self.table.len() as u64) as usize;
                if let Some(key) = self.table[tag].take() {
                    self.victims.push(key);
                    self.free.push(tag);
                    break;
                }
            }
        }
        self.live -= count;
    }

    /// Untimed scheduling (fill and refills). Written out here, not as a call of
    /// `batch_schedule` or a copy of it (identical functions get merged), so that instruction
    /// counts of the `batch_*` functions cover the timed parts only.
    fn refill<T: Timers<Key = K>>(&mut self, timers: &mut T, count: usize, initial: bool) {
        self.prepare_jobs(count, initial);
        for (&tag, (deadline, callback)) in self.tags.iter().zip(self.jobs.drain(..)) {
            self.table[tag] = Some(timers.schedule(deadline, callback));
        }
        self.live += count;
    }

    fn fill<T: Timers<Key = K>>(&mut self, timers: &mut T) {
        while self.live < self.n {
            let count = self.batch.min(self.n - self.live);
            self.refill(timers, count, true);
        }
    }

    fn run<T: Timers<Key = K>>(&mut self, timers: &mut T, row: Row, ops: usize) -> Measured {
        debug_assert_eq!(self.live, self.n);
        timers.settle();
        let mut measured = Measured::default();
        while measured.ops < ops {
            let k = self.batch;
            match row {
                Row::Schedule => {
                    self.prepare_jobs(k, false);
                    let start = Instant::now();
                    batch_schedule(timers, &mut self.jobs, &mut self.keys);
                    measured.elapsed += start.elapsed();
                    measured.ops += k;
                    self.record_keys();
                    self.prepare_victims(k);
                    // Untimed cancels, written out (see `refill`); callbacks dropped at once.
                    for &key in &self.victims {
                        if timers.cancel(key).is_none() {
                            panic!("{}: a live timer was not found", T::NAME);
                        }
                    }
                }
                Row::Cancel => {
                    self.prepare_victims(k);
                    let start = Instant::now();
                    batch_cancel(timers, &self.victims, &mut self.sink);
                    measured.elapsed += start.elapsed();
                    measured.ops += k;
                    self.sink.clear();
                    self.refill(timers, k, false);
                }
                Row::Fire => {
                    self.now_ms += self.step_ms;
                    timers.advance(ms(self.now_ms));
                    self.fired.clear();
                    let start = Instant::now();
                    let m = batch_fire(timers, ms(self.now_ms), &mut self.sink, &mut self.fired);
                    measured.elapsed += start.elapsed();
                    measured.ops += m;
                    self.sink.clear();
                    self.fire_log.push(m as u32);
                    // Free the fired tags in a fixed order (the wheel fires equal deadlines
                    // in its own order), so later tags, hence victims, agree across peers.
                    self.fired.sort_unstable();
                    for &tag in &self.fired {
                        assert!(
                            self.table[tag].take().is_some(),
                            "{}: fired a timer that was not live",
                            T::NAME
                        );
                        self.free.push(tag);
                    }
                    self.live -= m;
                    self.step_ms = if m == 0 {
                        self.step_ms * 2
                    } else {
                        self.step_ms * self.batch as u64 / m as u64
                    }
                    .clamp(1, HORIZON_MS / 4);
                    self.refill(timers, m, false);
                }
            }
        }
        measured
    }
}

/// One implementation holding about `n` live timers, with the harness that drives it.
pub struct TimerBench<T: Timers> {
    timers: T,
    harness: Harness<T::Key>,
}

impl<T: Timers> std::fmt::Debug for TimerBench<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimerBench")
            .field("impl", &T::NAME)
            .field("n", &self.harness.n)
            .field("live", &self.harness.live)
            .finish_non_exhaustive()
    }
}

impl<T: Timers> TimerBench<T> {
    /// A fresh instance filled with `n` timers due in `(0, HORIZON_MS]` ms.
    pub fn new(n: usize, seed: u64) -> Self {
        assert!(n > 0, "at least one timer");
        let mut timers = T::create();
        let mut harness = Harness::new(n, seed);
        timers.within(|timers| harness.fill(timers));
        Self { timers, harness }
    }

    /// Live timers between windows (always `n`).
    pub fn len(&self) -> usize {
        self.harness.live
    }

    /// Never true (a bench holds at least one timer).
    pub fn is_empty(&self) -> bool {
        self.harness.live == 0
    }

    /// Runs one window of `row` with at least `ops` timed operations.
    pub fn run(&mut self, row: Row, ops: usize) -> Measured {
        let Self { timers, harness } = self;
        timers.within(|timers| harness.run(timers, row, ops))
    }

    /// Timers fired by each fire batch so far (identical across implementations).
    pub fn fire_log(&self) -> &[u32] {
        &self.harness.fire_log
    }

    /// The implementation (for diagnostics such as the baseline's stale count).
    pub fn timers(&self) -> &T {
        &self.timers
    }
}

/// Heap bytes per timer of one implementation, counted by [`counting::CountingAlloc`].
#[derive(Debug, Clone, Copy)]
pub struct TimerMemory {
    /// Live timers.
    pub n: usize,
    /// Bytes of one callback's own box (not included below: allocated before counting).
    pub callback_bytes: usize,
    /// Bytes held right after scheduling `n` timers into a fresh instance.
    pub after_fill: isize,
    /// Peak while filling (growth reallocations included as the allocator reports them).
    pub fill_peak: usize,
    /// Bytes held after `n` more cancel + schedule pairs of random live timers.
    pub after_churn: isize,
    /// Peak during those pairs.
    pub churn_peak: usize,
}

impl TimerMemory {
    fn per_timer(&self, bytes: f64) -> f64 {
        bytes / self.n as f64
    }

    /// Bytes per timer after the fill.
    pub fn fill_per_timer(&self) -> f64 {
        self.per_timer(self.after_fill as f64)
    }

    /// Peak bytes per timer during the fill.
    pub fn fill_peak_per_timer(&self) -> f64 {
        self.per_timer(self.fill_peak as f64)
    }

    /// Bytes per timer after the churn.
    pub fn churn_per_timer(&self) -> f64 {
        self.per_timer(self.after_churn as f64)
    }

    /// Peak bytes per timer during the churn.
    pub fn churn_peak_per_timer(&self) -> f64 {
        self.per_timer(self.churn_peak as f64)
    }
}

/// Memory of `T` at `n` live timers: fill a fresh instance with `n` timers, then make `n`
/// cancel + schedule pairs (random live victims, new deadlines), counting heap bytes of the
/// structure only (callbacks are boxed before counting starts and dropped after it ends).
/// Returns `None` if the counting allocator is not installed. Run it with no other thread
/// allocating.
pub fn timer_memory<T: Timers>(n: usize, seed: u64) -> Option<TimerMemory> {
    let mut rng = Rng::new(seed);
    let callback_bytes = {
        let window = counting::Window::open()?;
        let callback = make_callback(0);
        let bytes = window.current();
        drop(callback);
        usize::try_from(bytes).unwrap_or(0)
    };
    let mut fill: Vec<(Duration, Callback)> = (0..n)
        .map(|tag| (ms(1 + rng.below(HORIZON_MS)), make_callback(tag)))
        .collect();
    let mut churn: Vec<(u64, Duration, Callback)> = (0..n)
        .map(|tag| {
            let victim = rng.below(n as u64);
            (victim, ms(1 + rng.below(HORIZON_MS)), make_callback(tag))
        })
        .collect();
    let mut keys: Vec<T::Key> = Vec::with_capacity(n);
    let mut sink: Vec<Callback> = Vec::with_capacity(n);

    let window = counting::Window::open()?;
    let mut timers = T::create();
    timers.within(|timers| {
        for (deadline, callback) in fill.drain(..) {
            keys.push(timers.schedule(deadline, callback));
        }
    });
    let after_fill = window.current();
    let (fill_peak, _) = window.peaks();
    let base = after_fill;
    let window = window.restart();
    timers.within(|timers| {
        for (victim, deadline, callback) in churn.drain(..) {
            let slot = &mut keys[victim as usize];
            match timers.cancel(*slot) {
                Some(callback) => sink.push(callback),
                None => panic!("{}: a live timer was not found", T::NAME),
            }
            *slot = timers.schedule(deadline, callback);
        }
    });
    let after_churn = base + window.current();
    let (churn_peak, _) = window.peaks();
    drop(window);
    drop(sink);
    drop(timers);
    Some(TimerMemory {
        n,
        callback_bytes,
        after_fill,
        fill_peak,
        after_churn,
        churn_peak: usize::try_from(base).unwrap_or(0) + churn_peak,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every implementation fires the same timers in the same batches, and the sizes hold.
    #[test]
    fn implementations_agree() {
        fn logs<T: Timers>(n: usize) -> Vec<u32> {
            let mut bench = TimerBench::<T>::new(n, SEED);
            for row in Row::ALL {
                let measured = bench.run(row, 3000);
                assert!(
                    measured.ops >= 3000,
                    "{}: {row:?} ran {}",
                    T::NAME,
                    measured.ops
                );
                assert_eq!(bench.len(), n);
            }
            bench.run(Row::Fire, 5000);
            bench.fire_log().to_vec()
        }
        for n in [10, 1000, 20_000] {
            let ours = logs::<Ours>(n);
            assert_eq!(ours, logs::<HeapBaseline>(n), "baseline, n = {n}");
            assert_eq!(ours, logs::<Wheel>(n), "wheel, n = {n}");
        }
    }

    #[test]
    fn baseline_compacts() {
        let mut heap = HeapBaseline::create();
        let keys: Vec<u64> = (0..1000)
            .map(|i| heap.schedule(ms(i), make_callback(0)))
            .collect();
        for &key in &keys[..900] {
            assert!(heap.cancel(key).is_some());
            assert!(heap.heap.len() <= 2 * heap.callbacks.len() + COMPACT_SLACK + 1);
        }
        assert!(heap.stale() < 900);
        let mut fired = 0;
        while heap.fire_one(ms(10_000)).is_some() {
            fired += 1;
        }
        assert_eq!(fired, 100);
    }
}
