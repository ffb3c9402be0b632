//! Threaded stress and soak tests of the event loop driver (`eventloop_core::driver`).
//!
//! Each test runs a real loop on its own thread (the `EventLoop` is `!Send`, so it is built on
//! the thread that runs it and its `Handle` comes back over a channel) or on the test thread,
//! feeds it from 4–8 producer threads, and stops it at a random point from yet another thread.
//! Every closure carries a [`Witness`] whose drops are counted in a [`Ledger`], so after the
//! loop is gone the tests can check, per closure:
//!
//! - it was dropped exactly once (nothing leaks, nothing is dropped twice);
//! - it ran at most once;
//! - accepted (its submit returned `Ok`) ⇒ it ran, or — after `close` — it was counted in
//!   `stats().discarded`: `ran + discarded == accepted`;
//! - refused (its submit returned `Err`) ⇒ it never ran and came back inside the error (dropping
//!   the error dropped it), and every later submit of the same kind (macrotask or microtask) by
//!   the same producer was refused too;
//! - panics in callbacks are contained: `stats().panics` equals the panicking closures that ran
//!   and the panic hook saw each of them, and the loop went on running the rest.
//!
//! Every test is bounded in count (a maximum number of rounds) and in time (no new round starts
//! after its budget); under Miri the sizes shrink to a token run. A seed is printed per test;
//! `STRESS_SEED=<n>` replays one.
#![cfg(not(loom))]

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex, Once, PoisonError, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use eventloop_core::Cx;
use eventloop_core::driver::{Config, EventLoop, Handle, LoopStats, RunError};
use eventloop_core::state::LoopState;

/// The message of deliberate panics; the process panic hook stays quiet for these.
const DELIBERATE: &str = "driver_stress: deliberate panic";

/// How long a test waits for its loop to terminate before it declares a hang (a lost wake-up
/// or a drain that never ends).
const HANG: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// Ledgers and witnesses.
// ---------------------------------------------------------------------------------------------

/// Per-closure counters, indexed by closure id.
struct Ledger {
    created: Box<[AtomicBool]>,
    accepted: Box<[AtomicBool]>,
    /// The closure panics when it runs.
    panicky: Box<[AtomicBool]>,
    ran: Box<[AtomicU32]>,
    dropped: Box<[AtomicU32]>,
}

/// What a ledger adds up to once every closure is gone.
#[derive(Debug, Default, PartialEq, Eq)]
struct Totals {
    created: usize,
    accepted: usize,
    ran: usize,
    panicked: usize,
}

fn flags(n: usize) -> Box<[AtomicBool]> {
    (0..n).map(|_| AtomicBool::new(false)).collect()
}

fn counters(n: usize) -> Box<[AtomicU32]> {
    (0..n).map(|_| AtomicU32::new(0)).collect()
}

impl Ledger {
    fn new(n: usize) -> Arc<Self> {
        Arc::new(Self {
            created: flags(n),
            accepted: flags(n),
            panicky: flags(n),
            ran: counters(n),
            dropped: counters(n),
        })
    }

    /// A witness for closure `id`, which must not exist yet.
    fn witness(self: &Arc<Self>, id: usize, panicky: bool) -> Witness {
        assert!(
            !self.created[id].swap(true, SeqCst),
            "closure {id} created twice"
        );
        self.panicky[id].store(panicky, SeqCst);
        Witness {
            ledger: Arc::clone(self),
            id,
        }
    }

    fn ran(&self, id: usize) -> u32 {
        self.ran[id].load(SeqCst)
    }

    fn dropped(&self, id: usize) -> u32 {
        self.dropped[id].load(SeqCst)
    }

    /// Records a submit result for closure `id`: accepted, or refused and handed back (checked
    /// by dropping the returned task and seeing the witness drop). Returns whether it was
    /// accepted.
    fn settle<T>(&self, id: usize, result: Result<(), T>) -> bool {
        match result {
            Ok(()) => {
                self.accepted[id].store(true, SeqCst);
                true
            }
            Err(back) => {
                assert_eq!(
                    (self.ran(id), self.dropped(id)),
                    (0, 0),
                    "refused closure {id} ran or was dropped before it was handed back"
                );
                drop(back);
                assert_eq!(
                    self.dropped(id),
                    1,
                    "refused closure {id} was not in the error"
                );
                false
            }
        }
    }

    /// Checks every closure once all of them are gone: created ⇒ dropped exactly once, ran at
    /// most once, refused ⇒ never ran; never created ⇒ untouched.
    fn totals(&self) -> Totals {
        let mut t = Totals::default();
        for id in 0..self.created.len() {
            let (ran, dropped) = (self.ran(id), self.dropped(id));
            if !self.created[id].load(SeqCst) {
                assert_eq!((ran, dropped), (0, 0), "closure {id} was never created");
                continue;
            }
            t.created += 1;
            assert_eq!(dropped, 1, "closure {id} dropped {dropped} times");
            assert!(ran <= 1, "closure {id} ran {ran} times");
            if self.accepted[id].load(SeqCst) {
                t.accepted += 1;
            } else {
                assert_eq!(ran, 0, "closure {id} ran although its submit was refused");
            }
            t.ran += ran as usize;
            if ran == 1 && self.panicky[id].load(SeqCst) {
                t.panicked += 1;
            }
        }
        t
    }
}

/// Owned by one closure; counts the closure's run and its drop.
struct Witness {
    ledger: Arc<Ledger>,
    id: usize,
}

impl Witness {
    /// Marks the run, then panics if the closure is a panicking one. Consumes the witness, so
    /// it drops here (or while unwinding).
    fn run(self) {
        self.ledger.ran[self.id].fetch_add(1, SeqCst);
        if self.ledger.panicky[self.id].load(SeqCst) {
            panic!("{DELIBERATE}");
        }
    }
}

impl Drop for Witness {
    fn drop(&mut self) {
        self.ledger.dropped[self.id].fetch_add(1, SeqCst);
    }
}

// ---------------------------------------------------------------------------------------------
// Budgets, randomness, loop threads.
// ---------------------------------------------------------------------------------------------

/// A small xorshift generator: reproducible from a printed seed.
struct Rng(u64);

impl Rng {
    fn for_test(name: &str) -> Self {
        let seed = std::env::var("STRESS_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                if cfg!(miri) {
                    // Miri isolates the process from the wall clock: a fixed seed per test.
                    return 0x2545_f491_4f6c_dd1d ^ name.len() as u64;
                }
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as u64);
                nanos ^ (name.len() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
            });
        eprintln!("{name}: STRESS_SEED={seed}");
        Self(seed | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo + 1) as u64) as usize
    }

    /// True with probability `percent`/100.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.range(0, items.len() - 1)]
    }
}

/// Sizes by build: a token run under Miri.
const fn size(normal: usize, miri: usize) -> usize {
    if cfg!(miri) { miri } else { normal }
}

/// The rounds of one soak test, bounded by a count and by a time budget (a new round starts
/// only while time is left; the first always runs). Prints what it did when dropped.
struct Soak {
    name: &'static str,
    start: Instant,
    budget: Duration,
    max: usize,
    done: usize,
    closures: usize,
}

impl Soak {
    /// A soak of at most `max` rounds (1 under Miri) and `budget` of time, and its generator.
    fn new(name: &'static str, max: usize, budget: Duration) -> (Self, Rng) {
        let soak = Self {
            name,
            start: Instant::now(),
            budget,
            max: if cfg!(miri) { 1 } else { max },
            done: 0,
            closures: 0,
        };
        (soak, Rng::for_test(name))
    }

    fn next_round(&mut self) -> Option<usize> {
        let go = self.done < self.max && (self.done == 0 || self.start.elapsed() < self.budget);
        go.then(|| {
            self.done += 1;
            self.done - 1
        })
    }

    /// Counts closures created in this round.
    fn closures(&mut self, n: usize) {
        self.closures += n;
    }
}

impl Drop for Soak {
    fn drop(&mut self) {
        eprintln!(
            "{}: {} rounds, {} closures, {:?} (cross-kind accepts in this binary so far: {})",
            self.name,
            self.done,
            self.closures,
            self.start.elapsed(),
            CROSS_KIND_ACCEPTS.load(SeqCst)
        );
    }
}

/// A random loop configuration: tiny rings (so remote work spills into the overflow), spinning
/// or parking at once, a fairness bound of 1 or more.
fn random_config(rng: &mut Rng) -> Config {
    Config {
        ring_capacity: rng.pick(&[2, 16, 4096]),
        spin_before_sleep: rng.pick(&[Duration::ZERO, Duration::from_micros(50)]),
        max_tasks_per_tick: rng.pick(&[1, 7, 1024]),
        ..Config::default()
    }
}

/// Silences the process panic hook for deliberate panics (thousands of messages otherwise);
/// any other panic is reported as usual.
fn quiet_deliberate_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = info
                .payload()
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| info.payload().downcast_ref::<&str>().copied());
            if message != Some(DELIBERATE) {
                previous(info);
            }
        }));
    });
}

/// A loop running on its own thread.
struct LoopThread {
    handle: Handle,
    /// Panic-hook reports, and reports whose message was not the deliberate one.
    hook_reports: Arc<(AtomicUsize, AtomicUsize)>,
    join: thread::JoinHandle<LoopStats>,
}

impl LoopThread {
    /// Builds the loop on a new thread, which runs it until it terminates and then drops it.
    fn spawn(config: Config) -> Self {
        quiet_deliberate_panics();
        let hook_reports = Arc::new((AtomicUsize::new(0), AtomicUsize::new(0)));
        let reports = Arc::clone(&hook_reports);
        let (tx, rx) = mpsc::channel();
        let join = thread::Builder::new()
            .name("event-loop".into())
            .spawn(move || {
                let mut el = EventLoop::builder()
                    .config(config)
                    .panic_hook(move |report| {
                        reports.0.fetch_add(1, SeqCst);
                        if report.message() != Some(DELIBERATE) {
                            reports.1.fetch_add(1, SeqCst);
                        }
                    })
                    .build();
                tx.send(el.handle()).expect("test thread gone");
                el.run().expect("a fresh loop runs");
                assert_eq!(el.state(), LoopState::Terminated);
                assert_eq!(el.run(), Err(RunError::Terminated));
                let stats = el.stats();
                drop(el);
                stats
            })
            .expect("spawn the loop thread");
        let handle = rx.recv().expect("the loop thread sends its handle");
        Self {
            handle,
            hook_reports,
            join,
        }
    }

    /// Waits (bounded) for termination, joins the loop thread (the loop is dropped by then) and
    /// checks the panic hook saw exactly the panics counted, all of them deliberate.
    fn join(self) -> LoopStats {
        assert!(
            self.handle.wait_terminated(Some(HANG)),
            "the loop did not terminate within {HANG:?} (lost wake-up or endless drain?): {:?}",
            self.handle.stats()
        );
        let stats = self
            .join
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        assert_eq!(
            stats,
            self.handle.stats(),
            "stats changed after termination"
        );
        assert_eq!(
            self.hook_reports.0.load(SeqCst),
            stats.panics,
            "panic hook reports vs stats().panics"
        );
        assert_eq!(
            self.hook_reports.1.load(SeqCst),
            0,
            "the hook saw panics that were not deliberate"
        );
        // At most one unpark per sleep (a sleep counts from its token clear, also when a
        // termination makes the loop abandon it).
        assert!(
            stats.unparks <= stats.sleeps,
            "more than one unpark per sleep: {stats:?}"
        );
        stats
    }
}

// ---------------------------------------------------------------------------------------------
// Producers.
// ---------------------------------------------------------------------------------------------

/// What one producer submits.
#[derive(Clone, Copy)]
struct Plan {
    /// First closure id of this producer; it uses `first..first + count`.
    first: usize,
    count: usize,
    /// Percent of closures submitted as microtasks rather than macrotasks.
    microtask_percent: u64,
    /// Percent of closures that panic when they run.
    panic_percent: u64,
    seed: u64,
}

/// What one producer saw.
#[derive(Debug, Default)]
struct Submitted {
    accepted: usize,
    /// Refusals so far, macrotasks and microtasks.
    refused: [usize; 2],
}

/// Submits accepted right after the *other* kind was refused to the same producer (a window in
/// which one ring is closed and the other not yet). Reported, not failed; see
/// [`Submitted::record`].
static CROSS_KIND_ACCEPTS: AtomicUsize = AtomicUsize::new(0);

impl Submitted {
    /// Records one submit of closure `id`. Within one kind, once a submit is refused every
    /// later one is refused too (a ring's close is permanent). Across kinds it is not: the two
    /// rings close one after the other, so while a `shutdown`/`close` is in progress a submit of
    /// one kind may still be accepted after one of the other kind was refused.
    fn record(&mut self, id: usize, microtask: bool, accepted: bool) {
        let (same, other) = (usize::from(microtask), usize::from(!microtask));
        if accepted {
            assert_eq!(
                self.refused[same], 0,
                "closure {id} (microtask: {microtask}) accepted after its kind was refused"
            );
            if self.refused[other] > 0 {
                CROSS_KIND_ACCEPTS.fetch_add(1, SeqCst);
            }
            self.accepted += 1;
        } else {
            self.refused[same] += 1;
        }
    }
}

/// Submits the plan's closures through `handle`; once one is refused, every later one of its
/// kind must be refused too (admission never reopens; see [`Submitted::record`]). `attempts`
/// counts submits across all producers (the stopper waits on it to pick its moment).
fn produce(handle: &Handle, ledger: &Arc<Ledger>, plan: Plan, attempts: &AtomicUsize) -> Submitted {
    let mut rng = Rng(plan.seed | 1);
    let mut seen = Submitted::default();
    for id in plan.first..plan.first + plan.count {
        let witness = ledger.witness(id, rng.chance(plan.panic_percent));
        let task = move |_: &Cx<'_>| witness.run();
        let micro = rng.chance(plan.microtask_percent);
        let result = if micro {
            handle.queue_microtask(task)
        } else {
            handle.submit(task)
        };
        attempts.fetch_add(1, SeqCst);
        seen.record(id, micro, ledger.settle(id, result));
        if rng.chance(2) {
            thread::yield_now();
        }
    }
    seen
}

/// Spawns `plans.len()` producers; returns their join handles.
fn spawn_producers(
    handle: &Handle,
    ledger: &Arc<Ledger>,
    plans: Vec<Plan>,
    attempts: &Arc<AtomicUsize>,
) -> Vec<thread::JoinHandle<Submitted>> {
    plans
        .into_iter()
        .map(|plan| {
            let (handle, ledger, attempts) = (handle.clone(), Arc::clone(ledger), attempts.clone());
            thread::spawn(move || produce(&handle, &ledger, plan, &attempts))
        })
        .collect()
}

fn join_all<T>(handles: Vec<thread::JoinHandle<T>>) -> Vec<T> {
    handles
        .into_iter()
        .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
        .collect()
}

/// `producers` plans of `per_producer` closures each, with consecutive id ranges.
fn plans(
    rng: &mut Rng,
    producers: usize,
    per_producer: usize,
    microtask_percent: u64,
    panic_percent: u64,
) -> Vec<Plan> {
    (0..producers)
        .map(|p| Plan {
            first: p * per_producer,
            count: per_producer,
            microtask_percent,
            panic_percent,
            seed: rng.next(),
        })
        .collect()
}

/// How a stopper ends the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Shutdown,
    Close,
    /// A graceful shutdown, then a close at a second random point (a close during the drain).
    ShutdownThenClose,
}

/// What the stoppers saw.
#[derive(Debug)]
struct Stopped {
    /// Calls that returned `true` (exactly one must have won termination).
    wins: usize,
}

/// Yields until `attempts` reaches `target` (bounded by [`HANG`]).
fn wait_for(attempts: &AtomicUsize, target: usize) {
    let start = Instant::now();
    while attempts.load(SeqCst) < target && start.elapsed() < HANG {
        thread::yield_now();
    }
}

/// Spawns the stopper(s): each waits until `attempts` reaches its random target (or the
/// producers are done), then calls shutdown/close; after its call returns, a submit from it
/// must be refused. With `racers > 1` several threads race the same call.
fn spawn_stoppers(
    rng: &mut Rng,
    handle: &Handle,
    stop: Stop,
    total: usize,
    racers: usize,
    attempts: &Arc<AtomicUsize>,
    closed_after: &Arc<AtomicBool>,
) -> thread::JoinHandle<Stopped> {
    let targets: Vec<usize> = (0..racers).map(|_| rng.range(0, total)).collect();
    let close_target = rng.range(0, total);
    let (handle, attempts, closed_after) = (handle.clone(), attempts.clone(), closed_after.clone());
    thread::spawn(move || {
        let call = move |handle: &Handle, close: bool| {
            let won = if close {
                handle.close()
            } else {
                handle.shutdown()
            };
            if close {
                closed_after.store(true, SeqCst);
            }
            let refused = handle.submit(|_| unreachable!("a task accepted after termination ran"));
            assert!(
                refused.is_err(),
                "submit accepted after shutdown/close returned"
            );
            won
        };
        let first_is_close = stop == Stop::Close;
        let racers: Vec<_> = targets
            .into_iter()
            .map(|target| {
                let handle = handle.clone();
                let call = call.clone();
                let attempts = attempts.clone();
                thread::spawn(move || {
                    wait_for(&attempts, target);
                    call(&handle, first_is_close)
                })
            })
            .collect();
        let mut wins = join_all(racers).into_iter().filter(|&w| w).count();
        if stop == Stop::ShutdownThenClose {
            wait_for(&attempts, close_target);
            wins += usize::from(call(&handle, true));
        }
        Stopped { wins }
    })
}

// ---------------------------------------------------------------------------------------------
// Tests.
// ---------------------------------------------------------------------------------------------

/// 6 producers × 2000 tasks and microtasks, no termination until every producer is done: each
/// closure runs exactly once; then a graceful shutdown ends the loop.
#[test]
fn stress_producers_every_task_runs_exactly_once() {
    let (mut soak, mut rng) = Soak::new(
        "stress_producers_every_task_runs_exactly_once",
        400,
        Duration::from_millis(1000),
    );
    while let Some(_round) = soak.next_round() {
        let producers = size(6, 2);
        let per_producer = size(2000, 10);
        let total = producers * per_producer;
        let ledger = Ledger::new(total);
        soak.closures(total);
        let lt = LoopThread::spawn(random_config(&mut rng));
        let attempts = Arc::new(AtomicUsize::new(0));
        let seen = join_all(spawn_producers(
            &lt.handle,
            &ledger,
            plans(&mut rng, producers, per_producer, 30, 0),
            &attempts,
        ));
        assert!(
            seen.iter().all(|s| s.refused == [0, 0]),
            "refused before any stop"
        );
        assert!(lt.handle.shutdown());
        assert!(!lt.handle.shutdown(), "a second shutdown won too");
        let stats = lt.join();
        let t = ledger.totals();
        assert_eq!((t.created, t.accepted, t.ran), (total, total, total));
        assert_eq!(stats.tasks_run + stats.microtasks_run, total, "{stats:?}");
        assert_eq!((stats.discarded, stats.panics), (0, 0), "{stats:?}");
    }
}

/// Conservation across a graceful shutdown at a random point, from another thread (sometimes
/// two racing shutdowns): exactly one wins; every accepted closure ran exactly once; every
/// refused one came back unrun; nothing discarded.
#[test]
fn stress_shutdown_at_random_point_conserves_every_task() {
    let (mut soak, mut rng) = Soak::new(
        "stress_shutdown_at_random_point_conserves_every_task",
        400,
        Duration::from_millis(1000),
    );
    while let Some(_round) = soak.next_round() {
        let producers = size(rng.range(4, 8), 2);
        let per_producer = size(rng.range(200, 1500), 10);
        let total = producers * per_producer;
        let ledger = Ledger::new(total);
        soak.closures(total);
        let lt = LoopThread::spawn(random_config(&mut rng));
        let attempts = Arc::new(AtomicUsize::new(0));
        let closed_after = Arc::new(AtomicBool::new(false));
        let racers = rng.range(1, 2);
        let stopper = spawn_stoppers(
            &mut rng,
            &lt.handle,
            Stop::Shutdown,
            total,
            racers,
            &attempts,
            &closed_after,
        );
        let producer_plans = plans(&mut rng, producers, per_producer, 25, 0);
        let seen = join_all(spawn_producers(
            &lt.handle,
            &ledger,
            producer_plans,
            &attempts,
        ));
        let stopped = stopper
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        assert_eq!(stopped.wins, 1, "exactly one shutdown wins");
        let stats = lt.join();
        let t = ledger.totals();
        let accepted: usize = seen.iter().map(|s| s.accepted).sum();
        assert_eq!(t.created, total);
        assert_eq!(t.accepted, accepted);
        assert_eq!(t.ran, accepted, "graceful shutdown ran every accepted task");
        assert_eq!(
            stats.tasks_run + stats.microtasks_run,
            accepted,
            "{stats:?}"
        );
        assert_eq!(stats.discarded, 0, "{stats:?}");
    }
}

/// Conservation across `close` at a random point (or a shutdown followed by a close during the
/// drain): `ran + discarded == accepted`; at most one macrotask (one the loop had already taken
/// from its queue) starts after a `close` returned.
/// Microtasks that start after it are counted and printed: the checkpoint in progress runs to
/// its end (see `STRICT_CLOSE` in `tests/src/state_fuzz.rs`).
#[test]
fn stress_close_at_random_point_conserves_every_task() {
    let (mut soak, mut rng) = Soak::new(
        "stress_close_at_random_point_conserves_every_task",
        400,
        Duration::from_millis(1000),
    );
    let late_microtasks_total = Arc::new(AtomicUsize::new(0));
    while let Some(round) = soak.next_round() {
        let producers = size(rng.range(4, 8), 2);
        let per_producer = size(rng.range(200, 1500), 10);
        let total = producers * per_producer;
        let ledger = Ledger::new(total);
        soak.closures(total);
        let lt = LoopThread::spawn(random_config(&mut rng));
        let attempts = Arc::new(AtomicUsize::new(0));
        let closed_after = Arc::new(AtomicBool::new(false));
        let stop = if round % 2 == 0 {
            Stop::Close
        } else {
            Stop::ShutdownThenClose
        };
        let racers = rng.range(1, 2);
        let stopper = spawn_stoppers(
            &mut rng,
            &lt.handle,
            stop,
            total,
            racers,
            &attempts,
            &closed_after,
        );
        // Producers whose closures also note starting after a `close` returned.
        let late_tasks = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = plans(&mut rng, producers, per_producer, 30, 0)
            .into_iter()
            .map(|plan| {
                let (handle, ledger, attempts) =
                    (lt.handle.clone(), Arc::clone(&ledger), attempts.clone());
                let (closed_after, late_tasks, late_micro) = (
                    closed_after.clone(),
                    late_tasks.clone(),
                    late_microtasks_total.clone(),
                );
                thread::spawn(move || {
                    let mut rng = Rng(plan.seed | 1);
                    let mut seen = Submitted::default();
                    for id in plan.first..plan.first + plan.count {
                        let witness = ledger.witness(id, false);
                        let micro = rng.chance(plan.microtask_percent);
                        let (closed_after, late_tasks, late_micro) =
                            (closed_after.clone(), late_tasks.clone(), late_micro.clone());
                        let task = move |_: &Cx<'_>| {
                            if closed_after.load(SeqCst) {
                                let late = if micro { &late_micro } else { &late_tasks };
                                late.fetch_add(1, SeqCst);
                            }
                            witness.run();
                        };
                        let result = if micro {
                            handle.queue_microtask(task)
                        } else {
                            handle.submit(task)
                        };
                        attempts.fetch_add(1, SeqCst);
                        seen.record(id, micro, ledger.settle(id, result));
                    }
                    seen
                })
            })
            .collect();
        let seen = join_all(threads);
        let stopped = stopper
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        assert_eq!(
            stopped.wins, 1,
            "exactly one of the stop calls wins ({stop:?})"
        );
        let stats = lt.join();
        let t = ledger.totals();
        let accepted: usize = seen.iter().map(|s| s.accepted).sum();
        assert_eq!((t.created, t.accepted), (total, accepted));
        assert_eq!(
            t.ran + stats.discarded,
            accepted,
            "ran + discarded != accepted ({stop:?}): {t:?} {stats:?}"
        );
        assert_eq!(stats.tasks_run + stats.microtasks_run, t.ran, "{stats:?}");
        // The loop may have popped one macrotask just before the close and start it just after
        // `close()` returned; it checks for termination before popping another.
        let late = late_tasks.load(SeqCst);
        assert!(
            late <= 1,
            "{late} macrotasks started after close() returned ({stop:?})"
        );
    }
    eprintln!(
        "microtasks that started after close() returned (in-progress checkpoint): {}",
        late_microtasks_total.load(SeqCst)
    );
}

/// Panicking tasks and microtasks mixed in (about 10%), with a shutdown at a random point:
/// the loop keeps running the rest, `stats().panics` equals the panicking closures that ran,
/// and the panic hook saw each (checked in [`LoopThread::join`]).
#[test]
fn stress_panicking_tasks_are_contained_and_counted() {
    let (mut soak, mut rng) = Soak::new(
        "stress_panicking_tasks_are_contained_and_counted",
        400,
        Duration::from_millis(1000),
    );
    while let Some(round) = soak.next_round() {
        let producers = size(rng.range(4, 6), 2);
        let per_producer = size(rng.range(200, 800), 10);
        let total = producers * per_producer;
        let ledger = Ledger::new(total + 1);
        soak.closures(total + 1);
        let lt = LoopThread::spawn(random_config(&mut rng));
        let attempts = Arc::new(AtomicUsize::new(0));
        let closed_after = Arc::new(AtomicBool::new(false));
        // Even rounds stop only after everything was submitted (then one more task must run
        // after all the panics); odd rounds stop at a random point.
        let stopper = (round % 2 == 1).then(|| {
            spawn_stoppers(
                &mut rng,
                &lt.handle,
                Stop::Shutdown,
                total,
                1,
                &attempts,
                &closed_after,
            )
        });
        let seen = join_all(spawn_producers(
            &lt.handle,
            &ledger,
            plans(&mut rng, producers, per_producer, 30, 10),
            &attempts,
        ));
        let mut accepted: usize = seen.iter().map(|s| s.accepted).sum();
        match stopper {
            Some(stopper) => {
                let stopped = stopper
                    .join()
                    .unwrap_or_else(|e| std::panic::resume_unwind(e));
                assert_eq!(stopped.wins, 1);
            }
            None => {
                let (tx, rx) = mpsc::channel();
                let witness = ledger.witness(total, false);
                let probe = lt.handle.submit(move |_| {
                    witness.run();
                    tx.send(()).unwrap();
                });
                assert!(ledger.settle(total, probe));
                accepted += 1;
                rx.recv_timeout(HANG)
                    .expect("the loop stopped running tasks after panics");
                assert!(lt.handle.shutdown());
            }
        }
        let stats = lt.join();
        let t = ledger.totals();
        assert_eq!(t.ran, accepted, "graceful: every accepted closure ran");
        assert!(
            round % 2 == 1 || t.panicked > 0,
            "no deliberate panic ran: the test tests nothing"
        );
        assert_eq!(stats.panics, t.panicked, "{stats:?} {t:?}");
        assert_eq!(stats.tasks_run + stats.microtasks_run, t.ran, "{stats:?}");
    }
}

/// Fan-out of every callback into 4 children, one per route (`Cx::submit`,
/// `Cx::queue_microtask`, `Handle::submit`, `Handle::queue_microtask`), two levels deep, from
/// 4 producers; first run to quiescence (every node of every tree runs once), then with a
/// graceful shutdown or a close at a random point (a child refused during the drain comes back
/// unrun; `ran + discarded == accepted`).
#[test]
fn stress_tasks_submitting_tasks_conserve() {
    /// Nodes per tree: a root, 4 children, 16 grandchildren (heap layout: children of node `k`
    /// are `4k + 1 ..= 4k + 4`).
    const TREE: usize = 21;
    /// Nodes with children.
    const INNER: usize = 5;

    struct Tree {
        ledger: Arc<Ledger>,
        /// Violations seen inside callbacks (an assert there would be caught by the loop).
        violations: Mutex<Vec<String>>,
        stop_requested: AtomicBool,
    }

    fn node(tree: Arc<Tree>, id: usize) -> impl for<'a> FnOnce(&Cx<'a>) + Send + 'static {
        let witness = tree.ledger.witness(id, false);
        move |cx: &Cx<'_>| {
            witness.run();
            let local = id % TREE;
            if local >= INNER {
                return;
            }
            let base = id - local;
            for route in 0..4 {
                let child = base + 4 * local + 1 + route;
                let task = node(Arc::clone(&tree), child);
                let accepted = match route {
                    0 => tree.ledger.settle(child, cx.submit(task)),
                    1 => tree.ledger.settle(child, cx.queue_microtask(task)),
                    2 => tree.ledger.settle(child, cx.handle().submit(task)),
                    _ => tree.ledger.settle(child, cx.handle().queue_microtask(task)),
                };
                // A loop-thread microtask is refused only once Terminated, never while a
                // callback runs; the other routes only after a stop was requested.
                if !accepted && (route == 1 || !tree.stop_requested.load(SeqCst)) {
                    tree.violations
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(format!("node {child} (route {route}) refused"));
                }
            }
        }
    }

    let (mut soak, mut rng) = Soak::new(
        "stress_tasks_submitting_tasks_conserve",
        400,
        Duration::from_millis(1000),
    );
    while let Some(round) = soak.next_round() {
        let producers = size(4, 2);
        let roots_per_producer = size(rng.range(50, 150), 2);
        let roots = producers * roots_per_producer;
        let stop = [None, Some(Stop::Shutdown), Some(Stop::Close)][round % 3];
        soak.closures(roots * TREE);
        let tree = Arc::new(Tree {
            ledger: Ledger::new(roots * TREE),
            violations: Mutex::new(Vec::new()),
            stop_requested: AtomicBool::new(false),
        });
        let lt = LoopThread::spawn(random_config(&mut rng));
        let attempts = Arc::new(AtomicUsize::new(0));
        let stopper = stop.map(|stop| {
            let (handle, attempts, tree) = (lt.handle.clone(), attempts.clone(), tree.clone());
            let target = rng.range(0, roots);
            thread::spawn(move || {
                wait_for(&attempts, target);
                tree.stop_requested.store(true, SeqCst);
                if stop == Stop::Close {
                    handle.close()
                } else {
                    handle.shutdown()
                }
            })
        });
        let producer_threads: Vec<_> = (0..producers)
            .map(|p| {
                let (handle, tree, attempts) = (lt.handle.clone(), tree.clone(), attempts.clone());
                thread::spawn(move || {
                    let mut accepted = 0;
                    for r in 0..roots_per_producer {
                        let id = (p * roots_per_producer + r) * TREE;
                        let result = handle.submit(node(Arc::clone(&tree), id));
                        attempts.fetch_add(1, SeqCst);
                        accepted += usize::from(tree.ledger.settle(id, result));
                    }
                    accepted
                })
            })
            .collect();
        let roots_accepted: usize = join_all(producer_threads).into_iter().sum();
        match stopper {
            Some(stopper) => {
                assert!(
                    stopper
                        .join()
                        .unwrap_or_else(|e| std::panic::resume_unwind(e))
                );
            }
            None => {
                assert_eq!(roots_accepted, roots);
                // Quiescence: every node of every tree runs (each node runs before its children
                // are created, so counting runs is enough).
                let start = Instant::now();
                while (0..roots * TREE)
                    .map(|id| tree.ledger.ran(id) as usize)
                    .sum::<usize>()
                    < roots * TREE
                {
                    assert!(start.elapsed() < HANG, "the trees did not finish");
                    thread::sleep(Duration::from_millis(1));
                }
                tree.stop_requested.store(true, SeqCst);
                assert!(lt.handle.shutdown());
            }
        }
        let stats = lt.join();
        let violations = std::mem::take(
            &mut *tree
                .violations
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        assert!(violations.is_empty(), "{stop:?}: {violations:?}");
        let t = tree.ledger.totals();
        if stop.is_none() {
            assert_eq!((t.created, t.ran), (roots * TREE, roots * TREE));
        }
        assert_eq!(
            t.ran + stats.discarded,
            t.accepted,
            "{stop:?}: {t:?} {stats:?}"
        );
        if stop != Some(Stop::Close) {
            assert_eq!(stats.discarded, 0);
        }
        assert_eq!(stats.tasks_run + stats.microtasks_run, t.ran, "{stats:?}");
        assert_eq!(stats.panics, 0, "{stats:?}");
        drop(tree); // the last reference: nothing else keeps a closure alive
    }
}

/// No closure outlives the loop: the loop runs on the test thread (`run_until_idle` a few
/// times) while producers submit closures that capture handles to the loop itself (a reference
/// cycle through the loop's own queues if anything kept them); then the loop is dropped without
/// terminating while producers are still submitting. Every closure is dropped exactly once,
/// `ran + discarded == accepted`, and the surviving handles see Terminated and are refused.
#[test]
fn stress_dropping_the_loop_drops_every_closure() {
    let (mut soak, mut rng) = Soak::new(
        "stress_dropping_the_loop_drops_every_closure",
        400,
        Duration::from_millis(1000),
    );
    while let Some(_round) = soak.next_round() {
        let producers = size(rng.range(4, 8), 2);
        let per_producer = size(rng.range(200, 1000), 10);
        let total = producers * per_producer;
        let ledger = Ledger::new(total);
        soak.closures(total);
        let mut el = EventLoop::builder().config(random_config(&mut rng)).build();
        let handle = el.handle();
        let attempts = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = plans(&mut rng, producers, per_producer, 30, 0)
            .into_iter()
            .map(|plan| {
                let (handle, ledger, attempts) =
                    (handle.clone(), Arc::clone(&ledger), attempts.clone());
                thread::spawn(move || {
                    let mut rng = Rng(plan.seed | 1);
                    let mut seen = Submitted::default();
                    for id in plan.first..plan.first + plan.count {
                        let witness = ledger.witness(id, false);
                        let captured = handle.clone();
                        let task = move |_: &Cx<'_>| {
                            let _keep = &captured;
                            witness.run();
                        };
                        let micro = rng.chance(plan.microtask_percent);
                        let result = if micro {
                            handle.queue_microtask(task)
                        } else {
                            handle.submit(task)
                        };
                        attempts.fetch_add(1, SeqCst);
                        seen.record(id, micro, ledger.settle(id, result));
                    }
                    seen
                })
            })
            .collect();
        let drop_at = rng.range(0, total);
        let start = Instant::now();
        for _ in 0..rng.range(0, 4) {
            el.run_until_idle().expect("the loop is live");
            thread::yield_now();
        }
        while attempts.load(SeqCst) < drop_at && start.elapsed() < HANG {
            el.run_until_idle().expect("the loop is live");
        }
        drop(el);
        assert_eq!(handle.state(), LoopState::Terminated);
        assert!(handle.wait_terminated(Some(Duration::ZERO)));
        let seen = join_all(threads);
        assert!(
            handle.submit(|_| ()).is_err(),
            "a dropped loop accepted work"
        );
        let stats = handle.stats();
        let t = ledger.totals();
        let accepted: usize = seen.iter().map(|s| s.accepted).sum();
        assert_eq!((t.created, t.accepted), (total, accepted));
        assert_eq!(
            t.ran + stats.discarded,
            accepted,
            "ran + discarded != accepted: {t:?} {stats:?}"
        );
        assert_eq!(stats.tasks_run + stats.microtasks_run, t.ran, "{stats:?}");
    }
}
