//! Remote submission through a whole executor: the eventloop-core `EventLoop` against a tokio
//! current-thread runtime and plain channels with a dedicated thread.
//!
//! What is measured, always with one submitting thread (the caller) and one executor thread
//! that runs every task:
//!
//! - **Submission throughput** ([`submit_round`]): the caller submits [`SUBMIT_TASKS`] closures,
//!   each bumping a counter, as fast as it can, then waits (spinning, then yielding) until the
//!   counter shows that all of them ran. Time from the first submit to that moment, per task.
//! - **Ping-pong latency** ([`ping_pong_round`]): submit one task, spin until it has run (the task
//!   stores its sequence number into an atomic the caller spins on: the same signal for every
//!   executor), repeat. Each round trip is timed on its own. With `think` set, the caller sleeps
//!   that long between round trips, so the executor goes idle in between: that shows what a
//!   spin-before-sleep costs when requests are spaced out.
//!   Process CPU time (`getrusage`) is taken around the rounds, and so is the caller's own
//!   thread CPU time, so that "process − caller" is the executor side's CPU.
//!
//! The executors ([`Peer`]):
//!
//! - ours: `EventLoop` built (it is `!Send`) and run on a dedicated thread, which sends its
//!   `Handle` out; the caller uses `Handle::submit`. The bounded spin before the loop parks
//!   (`Config::spin_before_sleep`) is a parameter.
//! - tokio `Handle::spawn`: a current-thread runtime in `block_on` on a dedicated thread; each
//!   task is spawned from the caller as a small future (`async move { f() }`), join handle
//!   dropped. The idiomatic way to hand work to a runtime from outside it.
//! - tokio mpsc: the same runtime, whose `block_on` future receives boxed closures from an
//!   unbounded `tokio::sync::mpsc` channel and runs them inline (no `LocalSet` needed: the
//!   closures are `Send`, and running them in the receiving future avoids a spawn per task).
//! - std mpsc and crossbeam-channel: an unbounded channel of boxed closures and a thread that
//!   receives (blocking) and runs them.
//!
//! Every executor gets the same closure: it captures one word (so every boxed path really
//! allocates) and its body is identical.
//!
//! Rounds use module-level counters, so they never overlap: each round holds a process-wide
//! lock for its duration.

use std::hint::spin_loop;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, mpsc};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use eventloop_core::EventLoop;
use eventloop_core::driver::{Config, LoopStats};

/// Tasks per round of the submission-throughput row.
pub const SUBMIT_TASKS: usize = 200_000;

/// A boxed closure, as the channel-based peers carry it.
type Job = Box<dyn FnOnce() + Send>;

/// An executor under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// The eventloop-core `EventLoop`, with this `spin_before_sleep`.
    Ours {
        /// How long the loop polls its queues before parking.
        spin: Duration,
    },
    /// tokio current-thread runtime, tasks spawned from the caller with `Handle::spawn`.
    TokioSpawn,
    /// tokio current-thread runtime, boxed closures through `tokio::sync::mpsc`, run inline.
    TokioMpsc,
    /// `std::sync::mpsc` channel and a thread running what it receives.
    StdMpsc,
    /// `crossbeam_channel::unbounded` and a thread running what it receives.
    Crossbeam,
}

impl Peer {
    /// Whether this is the event loop under test.
    pub fn is_ours(self) -> bool {
        matches!(self, Peer::Ours { .. })
    }

    /// Name shown in tables.
    pub fn name(self) -> String {
        match self {
            Peer::Ours { spin } => format!("ours (spin {} µs)", spin.as_micros()),
            Peer::TokioSpawn => "tokio spawn".to_owned(),
            Peer::TokioMpsc => "tokio mpsc".to_owned(),
            Peer::StdMpsc => "std mpsc + thread".to_owned(),
            Peer::Crossbeam => "crossbeam-channel + thread".to_owned(),
        }
    }

    /// The peers (everything but ours), in table order.
    pub const PEERS: [Peer; 4] = [
        Peer::TokioSpawn,
        Peer::TokioMpsc,
        Peer::StdMpsc,
        Peer::Crossbeam,
    ];
}

/// The caller's side of a running executor.
enum Client {
    Ours(eventloop_core::Handle),
    TokioSpawn {
        handle: tokio::runtime::Handle,
        stop: Option<tokio::sync::oneshot::Sender<()>>,
    },
    TokioMpsc(Option<tokio::sync::mpsc::UnboundedSender<Job>>),
    StdMpsc(Option<mpsc::Sender<Job>>),
    Crossbeam(Option<crossbeam_channel::Sender<Job>>),
}

/// An executor running on its own thread, and the caller's way to submit to it.
pub struct Server {
    client: Client,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").finish_non_exhaustive()
    }
}

fn current_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio current-thread runtime")
}

impl Server {
    /// Starts `peer` on a new thread and returns once it can take work.
    pub fn start(peer: Peer) -> Self {
        let (ready_tx, ready_rx) = mpsc::channel::<Client>();
        let builder = thread::Builder::new().name(format!("server: {}", peer.name()));
        let thread = match peer {
            Peer::Ours { spin } => builder.spawn(move || {
                // Built here: an `EventLoop` is owned by the thread that runs it.
                let mut el = EventLoop::builder()
                    .config(Config {
                        spin_before_sleep: spin,
                        ..Config::default()
                    })
                    .build();
                let _ = ready_tx.send(Client::Ours(el.handle()));
                el.run().expect("a fresh loop runs");
            }),
            Peer::TokioSpawn => builder.spawn(move || {
                let runtime = current_thread_runtime();
                let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
                let _ = ready_tx.send(Client::TokioSpawn {
                    handle: runtime.handle().clone(),
                    stop: Some(stop_tx),
                });
                // Spawned tasks run while `block_on` waits for the stop signal.
                runtime.block_on(async move {
                    let _ = stop_rx.await;
                });
            }),
            Peer::TokioMpsc => builder.spawn(move || {
                let runtime = current_thread_runtime();
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Job>();
                let _ = ready_tx.send(Client::TokioMpsc(Some(tx)));
                runtime.block_on(async move {
                    while let Some(job) = rx.recv().await {
                        job();
                    }
                });
            }),
            Peer::StdMpsc => builder.spawn(move || {
                let (tx, rx) = mpsc::channel::<Job>();
                let _ = ready_tx.send(Client::StdMpsc(Some(tx)));
                for job in rx {
                    job();
                }
            }),
            Peer::Crossbeam => builder.spawn(move || {
                let (tx, rx) = crossbeam_channel::unbounded::<Job>();
                let _ = ready_tx.send(Client::Crossbeam(Some(tx)));
                for job in rx {
                    job();
                }
            }),
        }
        .expect("spawn the server thread");
        let client = ready_rx.recv().expect("the server thread starts");
        Self {
            client,
            thread: Some(thread),
        }
    }

    /// Submits `f` to run on the executor thread.
    #[inline]
    pub fn submit<F: FnOnce() + Send + 'static>(&self, f: F) {
        let sent = match &self.client {
            Client::Ours(handle) => handle.submit(move |_cx| f()).is_ok(),
            Client::TokioSpawn { handle, .. } => {
                drop(handle.spawn(async move { f() }));
                true
            }
            Client::TokioMpsc(tx) => tx.as_ref().is_some_and(|tx| tx.send(Box::new(f)).is_ok()),
            Client::StdMpsc(tx) => tx.as_ref().is_some_and(|tx| tx.send(Box::new(f)).is_ok()),
            Client::Crossbeam(tx) => tx.as_ref().is_some_and(|tx| tx.send(Box::new(f)).is_ok()),
        };
        if !sent {
            unreachable!("the executor accepts work until the server is stopped");
        }
    }

    /// The loop's counters, for ours.
    pub fn stats(&self) -> Option<LoopStats> {
        match &self.client {
            Client::Ours(handle) => Some(handle.stats()),
            _ => None,
        }
    }

    /// Stops the executor (after it has run everything submitted) and joins its thread.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        match &mut self.client {
            Client::Ours(handle) => {
                handle.shutdown();
            }
            Client::TokioSpawn { stop, .. } => {
                if let Some(stop) = stop.take() {
                    let _ = stop.send(());
                }
            }
            Client::TokioMpsc(tx) => drop(tx.take()),
            Client::StdMpsc(tx) => drop(tx.take()),
            Client::Crossbeam(tx) => drop(tx.take()),
        }
        if let Some(thread) = self.thread.take() {
            thread.join().expect("the server thread panicked");
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// Tasks run in the current round (throughput).
static RAN: AtomicUsize = AtomicUsize::new(0);
/// Sequence number of the last ping-pong task that ran.
static PONG: AtomicU64 = AtomicU64::new(0);
/// Held for the duration of a round: the counters above are process-wide.
static ROUND: Mutex<()> = Mutex::new(());

fn round_lock() -> MutexGuard<'static, ()> {
    ROUND
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Polls between two yields of [`wait_until`]: about 1.5 µs of polling on the reference
/// machine, so a thread we wait for that shares our core waits at most that long for it.
pub const POLLS_PER_YIELD: u32 = 32;

/// Spins until `done()`, yielding the core every [`POLLS_PER_YIELD`] polls (the machine may have
/// fewer cores than runnable threads, and the thread we wait for may need ours). The same for
/// every peer.
#[inline]
fn wait_until(mut done: impl FnMut() -> bool) {
    let mut polls = 0u32;
    while !done() {
        polls = polls.wrapping_add(1);
        if polls % POLLS_PER_YIELD == 0 {
            thread::yield_now();
        } else {
            spin_loop();
        }
    }
}

/// Submits one task and waits for it: the executor is started and warm.
fn warm_up(server: &Server) {
    let before = RAN.load(Ordering::Relaxed);
    let ran = &RAN;
    server.submit(move || {
        ran.fetch_add(1, Ordering::Release);
    });
    wait_until(|| RAN.load(Ordering::Acquire) != before);
}

/// One throughput round's result.
#[derive(Debug, Clone, Copy)]
pub struct SubmitSample {
    /// Wall-clock time from the first submit until every task had run, per task (ns).
    pub ns_per_task: f64,
    /// Wall-clock time the caller took to submit them all, per task (ns). Close to
    /// `ns_per_task`: the caller was the bottleneck; well below: the executor was, and worked
    /// off a backlog after the last submit.
    pub submit_ns_per_task: f64,
    /// CPU time of the calling thread over the round, per task (ns), if known.
    pub caller_cpu_ns_per_task: Option<f64>,
    /// CPU time of the whole process over the round, per task (ns).
    pub process_cpu_ns_per_task: f64,
    /// Our loop's counters over the timed part of the round (ours only).
    pub stats: Option<LoopStats>,
}

/// Throughput round: a fresh `peer`, warmed up; then `n` tasks submitted back to back from this
/// thread, timed until the last one has run.
pub fn submit_round(peer: Peer, n: usize) -> SubmitSample {
    let _round = round_lock();
    let server = Server::start(peer);
    warm_up(&server);
    RAN.store(0, Ordering::Relaxed);
    let ran: &'static AtomicUsize = &RAN;
    let before = server.stats();
    let caller_before = cpu::thread();
    let process_before = cpu::process();
    let start = Instant::now();
    for _ in 0..n {
        server.submit(move || {
            // One thread runs every task, so a load and a store count correctly; Release so
            // that the caller's Acquire load sees the tasks' effects.
            ran.store(ran.load(Ordering::Relaxed) + 1, Ordering::Release);
        });
    }
    let submitted = start.elapsed();
    wait_until(|| RAN.load(Ordering::Acquire) >= n);
    let elapsed = start.elapsed();
    let process_cpu = cpu::process().saturating_sub(process_before);
    let caller_cpu = cpu::thread()
        .zip(caller_before)
        .map(|(after, before)| after.saturating_sub(before));
    let stats = server.stats().zip(before).map(|(a, b)| stats_delta(a, b));
    server.stop();
    let per_task = |d: Duration| d.as_nanos() as f64 / n as f64;
    SubmitSample {
        ns_per_task: per_task(elapsed),
        submit_ns_per_task: per_task(submitted),
        caller_cpu_ns_per_task: caller_cpu.map(per_task),
        process_cpu_ns_per_task: per_task(process_cpu),
        stats,
    }
}

/// `after - before`, field by field.
pub fn stats_delta(after: LoopStats, before: LoopStats) -> LoopStats {
    after - before
}

/// One ping-pong round's result.
#[derive(Debug, Clone)]
pub struct PingPongSample {
    /// Round trips timed.
    pub rounds: usize,
    /// Each round trip, submit to seeing the signal (ns).
    pub latencies_ns: Vec<f64>,
    /// Process CPU time (user + system, every thread) over the timed rounds.
    pub cpu_process: Duration,
    /// CPU time of the calling (submitting, spinning) thread over the timed rounds.
    pub cpu_caller: Option<Duration>,
    /// Our loop's counters over the timed rounds (ours only).
    pub stats: Option<LoopStats>,
}

/// Ping-pong round: a fresh `peer`, warmed up with `warm` untimed round trips; then `rounds`
/// timed round trips, each followed by a `thread::sleep(think)` when `think` is non-zero.
pub fn ping_pong_round(peer: Peer, rounds: usize, warm: usize, think: Duration) -> PingPongSample {
    let _round = round_lock();
    let server = Server::start(peer);
    warm_up(&server);
    PONG.store(0, Ordering::Relaxed);
    let pong: &'static AtomicU64 = &PONG;
    let mut seq = 0u64;
    let mut round_trip = |server: &Server| {
        seq += 1;
        let me = seq;
        let start = Instant::now();
        server.submit(move || pong.store(me, Ordering::Release));
        wait_until(|| PONG.load(Ordering::Acquire) == me);
        let elapsed = start.elapsed();
        if !think.is_zero() {
            thread::sleep(think);
        }
        elapsed
    };
    for _ in 0..warm {
        round_trip(&server);
    }
    let mut latencies_ns = Vec::with_capacity(rounds);
    let stats_before = server.stats();
    let caller_before = cpu::thread();
    let process_before = cpu::process();
    for _ in 0..rounds {
        latencies_ns.push(round_trip(&server).as_nanos() as f64);
    }
    let cpu_process = cpu::process().saturating_sub(process_before);
    let cpu_caller = cpu::thread()
        .zip(caller_before)
        .map(|(after, before)| after.saturating_sub(before));
    let stats = server
        .stats()
        .zip(stats_before)
        .map(|(a, b)| stats_delta(a, b));
    server.stop();
    PingPongSample {
        rounds,
        latencies_ns,
        cpu_process,
        cpu_caller,
        stats,
    }
}

/// The `q`-quantile (0..=1) of `sorted` (ascending), nearest rank. Panics on an empty slice.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    assert!(!sorted.is_empty(), "quantile of nothing");
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// CPU time consumed, from `getrusage` (user + system).
pub mod cpu {
    use std::time::Duration;

    fn rusage(who: libc::c_int) -> Option<Duration> {
        let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: `usage` points to writable memory of the size and alignment of a `rusage`,
        // which is all `getrusage` writes; `who` is one of the constants it accepts.
        let rc = unsafe { libc::getrusage(who, usage.as_mut_ptr()) };
        if rc != 0 {
            return None;
        }
        // SAFETY: `rusage` is plain integers, so the zeroed value is already initialised, and
        // `getrusage` succeeded and filled it in.
        let usage = unsafe { usage.assume_init() };
        let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
        Some(Duration::from_micros(
            micros(usage.ru_utime) + micros(usage.ru_stime),
        ))
    }

    /// CPU time of the whole process, every thread (zero if `getrusage` fails).
    pub fn process() -> Duration {
        rusage(libc::RUSAGE_SELF).unwrap_or_default()
    }

    /// CPU time of the calling thread (Linux's `RUSAGE_THREAD`; `None` elsewhere).
    pub fn thread() -> Option<Duration> {
        #[cfg(target_os = "linux")]
        {
            rusage(libc::RUSAGE_THREAD)
        }
        #[cfg(not(target_os = "linux"))]
        {
            None
        }
    }
}
