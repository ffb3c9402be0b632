//! The shared half of the loop: admission, the producer side of the wake protocol, termination.
//!
//! # Ground rules
//!
//! - [`Shared`] is reached from any thread through [`Handle`]s and from the loop thread through
//!   the `EventLoop`. It holds only producer halves of the rings: popping is the loop's.
//! - **Wake protocol, producer side** (proofs/wake.md, W1): publish the work (a ring push), then a
//!   SeqCst fence, then read the state; if it is Sleeping, the first producer to flip
//!   `wake_pending` from false to true unparks the loop thread. The loop side (in `mod.rs`)
//!   publishes Sleeping (SeqCst CAS), issues a SeqCst fence, then re-checks every queue. Of the
//!   two fences, whichever comes first in the SC order makes the other side see its write: the
//!   loop sees the work, or the producer sees Sleeping. So no wake-up is lost.
//! - **Admission.** Work is admitted iff its ring push succeeds. Termination closes both rings
//!   before anything else, so after `shutdown`/`close` returns, every submission is refused and
//!   handed back; everything admitted before is run (shutdown) or dropped and counted (close).
//! - **Termination.** `shutdown` and `close` race through `StateCell::begin_termination`:
//!   exactly one wins; `close` additionally sets `discard`, which the loop reads during its final
//!   drain (a `close` during a graceful drain turns the rest of it into a discard). Only the loop
//!   thread performs cleanup and the Terminating → Terminated transition.

use alloc::boxed::Box;
use core::fmt;
use core::time::Duration;

use super::Cx;
use super::timers::{TimerIds, TimerRequest};
use crate::clock::Clock;
use crate::registry::Inbox;
use crate::ring::{self, Producer};
use crate::state::{BeginTermination, LoopState, StateCell};
use crate::sync::atomic::{
    AtomicBool, AtomicUsize,
    Ordering::{Relaxed, SeqCst},
    fence,
};
use crate::sync::{Arc, Condvar, Mutex, Parker};
use crate::timer::NestingPolicy;

/// A task that may be submitted from any thread.
pub type SendTask = Box<dyn for<'a> FnOnce(&Cx<'a>) + Send + 'static>;

/// What other threads send through the loop's microtask ring: microtasks, and timer requests,
/// which travel with them (the loop then has no extra queue to watch before it sleeps, and a
/// timer request is applied at the loop's next microtask checkpoint, in order with the sender's
/// microtasks and before any task the sender submitted after it).
pub(super) enum Remote {
    Microtask(SendTask),
    Timer(Box<TimerRequest>),
    /// A promise job (reactions, adoption steps) scheduled from another thread.
    Job(crate::promise::Job),
}

/// Work refused because the loop no longer accepts it (it is terminating or terminated). The
/// task is handed back untouched: it was not run and will not be.
pub struct Rejected<T>(pub T);

impl<T> Rejected<T> {
    /// The task that was refused.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for Rejected<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Rejected(..)")
    }
}

impl<T> fmt::Display for Rejected<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the event loop no longer accepts work; the task is handed back")
    }
}

impl<T> core::error::Error for Rejected<T> {}

/// Counters of what the loop has done, read with [`Handle::stats`]. Each is a snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoopStats {
    /// Macrotasks run to completion or to a caught panic.
    pub tasks_run: usize,
    /// Microtasks run to completion or to a caught panic.
    pub microtasks_run: usize,
    /// Callbacks that panicked (each was reported to the panic hook).
    pub panics: usize,
    /// Accepted tasks and microtasks dropped unrun because of `close`. After `close` the loop
    /// finishes at most the callback it is running; everything else is dropped and counted.
    pub discarded: usize,
    /// Sleeps the loop began (after its bounded spin found nothing): each clears the wake token
    /// and then publishes Sleeping, unless termination wins that race.
    pub sleeps: usize,
    /// Times the loop actually parked (a re-check after publishing Sleeping can avoid it).
    pub parks: usize,
    /// Unparks issued by producers: at most one per sleep (de-duplicated). The one-time unpark
    /// of a termination that finds the loop asleep is not counted here.
    pub unparks: usize,
    /// Timer callbacks run (each firing of an interval counts), to completion or to a caught
    /// panic.
    pub timers_fired: usize,
    /// Timers cancelled by a clear (from any thread) before they fired (an interval: before it
    /// fired again).
    pub timers_cancelled: usize,
    /// Timers cancelled by termination, and timer sets from other threads that arrived during
    /// it (or, in theory, found the pool full: 2^32 − 1 live timers): their callbacks were
    /// dropped unrun.
    pub timers_dropped: usize,
    /// Promise rejections reported unhandled to the rejection hook.
    pub rejections_unhandled: usize,
    /// Reactions registered on promises after their rejection was reported unhandled.
    pub rejections_handled_later: usize,
    /// Promises of this loop (`promise`, `promisify`) that termination rejected with
    /// [`Failure::Terminated`](crate::promise::Failure::Terminated): still pending when the
    /// loop finished its drain, or created after that (rejected at once).
    pub promises_terminated: usize,
}

impl LoopStats {
    /// Combines two snapshots field by field (the one list of the counters: a new counter is
    /// added here and every combination follows).
    fn zip_with(self, other: Self, op: impl Fn(usize, usize) -> usize) -> Self {
        Self {
            tasks_run: op(self.tasks_run, other.tasks_run),
            microtasks_run: op(self.microtasks_run, other.microtasks_run),
            panics: op(self.panics, other.panics),
            discarded: op(self.discarded, other.discarded),
            sleeps: op(self.sleeps, other.sleeps),
            parks: op(self.parks, other.parks),
            unparks: op(self.unparks, other.unparks),
            timers_fired: op(self.timers_fired, other.timers_fired),
            timers_cancelled: op(self.timers_cancelled, other.timers_cancelled),
            timers_dropped: op(self.timers_dropped, other.timers_dropped),
            rejections_unhandled: op(self.rejections_unhandled, other.rejections_unhandled),
            rejections_handled_later: op(
                self.rejections_handled_later,
                other.rejections_handled_later,
            ),
            promises_terminated: op(self.promises_terminated, other.promises_terminated),
        }
    }
}

/// Field-by-field sum (saturating), e.g. to total the stats of several runs.
impl core::ops::Add for LoopStats {
    type Output = Self;
    fn add(self, other: Self) -> Self {
        self.zip_with(other, usize::saturating_add)
    }
}

/// Field-by-field difference (saturating): what happened between two snapshots, `later - earlier`.
impl core::ops::Sub for LoopStats {
    type Output = Self;
    fn sub(self, earlier: Self) -> Self {
        self.zip_with(earlier, usize::saturating_sub)
    }
}

#[derive(Default)]
pub(super) struct Counters {
    pub(super) tasks_run: AtomicUsize,
    pub(super) microtasks_run: AtomicUsize,
    pub(super) panics: AtomicUsize,
    pub(super) discarded: AtomicUsize,
    pub(super) sleeps: AtomicUsize,
    pub(super) parks: AtomicUsize,
    pub(super) unparks: AtomicUsize,
    pub(super) timers_fired: AtomicUsize,
    pub(super) timers_cancelled: AtomicUsize,
    pub(super) timers_dropped: AtomicUsize,
    pub(super) rejections_unhandled: AtomicUsize,
    pub(super) rejections_handled_later: AtomicUsize,
    pub(super) promises_terminated: AtomicUsize,
}

impl Counters {
    /// Relaxed: pairs with nothing; statistics, nothing is published through them.
    #[inline]
    pub(super) fn add(counter: &AtomicUsize, n: usize) {
        counter.fetch_add(n, Relaxed);
    }

    /// A statistics snapshot of one counter.
    #[inline]
    pub(super) fn read(counter: &AtomicUsize) -> usize {
        // Relaxed: pairs with nothing, like `add`; a snapshot, nothing is published through it.
        counter.load(Relaxed)
    }
}

pub(super) struct Shared {
    pub(super) state: StateCell,
    pub(super) tasks: Producer<SendTask>,
    /// Microtasks and timer requests from other threads.
    pub(super) microtasks: Producer<Remote>,
    /// The ID counter of every timer of this loop, whichever thread sets it.
    pub(super) timer_ids: TimerIds,
    /// The loop's clock: read by the loop, and by other threads to date the timers they set.
    pub(super) clock: Box<dyn Clock>,
    /// The nesting policy, for timers set from other threads (nesting level 0).
    pub(super) timer_nesting: NestingPolicy,
    /// The wake token and de-duplication flag: cleared by the loop when a sleep begins (before
    /// it publishes Sleeping); set by the first producer that sees Sleeping, which then unparks.
    /// One clear per sleep, so at most one producer unpark per sleep. A terminator that wins
    /// from Sleeping sets it and unparks unconditionally (once per loop lifetime). The loop
    /// parks only while it is false, so an unpark that arrives before the park (or a parker
    /// that loses tokens) cannot strand it.
    pub(super) wake_pending: AtomicBool,
    /// Set by `close`: the final drain drops work instead of running it.
    pub(super) discard: AtomicBool,
    /// The loop thread's sleep primitive (registered by `run` before the loop can first publish
    /// Sleeping).
    pub(super) parker: Parker,
    pub(super) counters: Counters,
    /// Set (under the lock) when the loop reaches Terminated; waited on by `Handle::wait`.
    pub(super) finished: Mutex<bool>,
    pub(super) finished_cv: Condvar,
    /// Promises of this loop created off the loop thread (or on it while it is not driving the
    /// loop), waiting to join the loop's registry (`registry` module; `promises` module docs).
    pub(super) inbox: Inbox,
}

impl Shared {
    pub(super) fn new(
        tasks: Producer<SendTask>,
        microtasks: Producer<Remote>,
        clock: Box<dyn Clock>,
        config: &super::Config,
    ) -> Self {
        Self {
            state: StateCell::new(),
            tasks,
            microtasks,
            timer_ids: TimerIds::new(config.timer_id_limit),
            clock,
            timer_nesting: config.timer_nesting,
            wake_pending: AtomicBool::new(false),
            discard: AtomicBool::new(false),
            parker: Parker::new(),
            counters: Counters::default(),
            finished: Mutex::new(false),
            finished_cv: Condvar::new(),
            inbox: Inbox::new(),
        }
    }

    /// Pushes into one of the loop's rings and wakes the loop if it sleeps. A refused item (the
    /// ring is closed: termination began) is handed back.
    #[inline]
    pub(super) fn admit<T>(&self, ring: &Producer<T>, item: T) -> Result<(), T> {
        ring.push(item).map_err(|ring::PushError(item)| item)?;
        self.wake_after_publish();
        Ok(())
    }

    /// The producer side of the wake protocol (W1): called after work is published.
    #[inline]
    pub(super) fn wake_after_publish(&self) {
        // SeqCst fence: orders the publish above before the state load below against the loop's
        // SeqCst CAS-to-Sleeping + fence + queue re-check (store-buffering shape; proofs/wake.md).
        fence(SeqCst);
        if self.state.load() == LoopState::Sleeping {
            self.unpark_once();
        }
    }

    /// Unparks the loop thread unless someone already did during this sleep.
    pub(super) fn unpark_once(&self) {
        // The swap is an RMW, so at most one swapper per clear (the loop clears the token when
        // a sleep begins) sees `false`. SeqCst keeps the token in the protocol's one total
        // order with the loop's clear and load (proofs/wake.md; Relaxed passes the models too).
        if !self.wake_pending.swap(true, SeqCst) {
            Counters::add(&self.counters.unparks, 1);
            self.parker.unpark();
        }
    }

    /// Starts termination (graceful unless `discard`). Returns `true` for the call that won.
    pub(super) fn terminate(&self, discard: bool) -> bool {
        if discard {
            // SeqCst: read by the loop in its drain after it has seen Terminating; ordering it
            // before the state change below makes a winning `close` always discard.
            self.discard.store(true, SeqCst);
        }
        // Stop admission first: after this returns, every push is refused (ring close).
        self.tasks.close();
        self.microtasks.close();
        match self.state.begin_termination() {
            BeginTermination::Won { from } => {
                if from == LoopState::Sleeping {
                    // Termination happens once, so its wake-up skips the de-duplication: set the
                    // token and unpark unconditionally. (Not counted in `unparks`, which counts
                    // producers' wake-ups.) SeqCst: pairs with the loop's load of the token.
                    self.wake_pending.store(true, SeqCst);
                    self.parker.unpark();
                }
                true
            }
            BeginTermination::AlreadyTerminal(_) => {
                // A `close` after a graceful shutdown began: the drain sees `discard` and stops
                // running work. The drain never parks, so no wake-up is needed.
                false
            }
        }
    }

    pub(super) fn mark_finished(&self) {
        *self.finished.lock() = true;
        self.finished_cv.notify_all();
    }

    pub(super) fn stats(&self) -> LoopStats {
        let c = &self.counters;
        LoopStats {
            tasks_run: Counters::read(&c.tasks_run),
            microtasks_run: Counters::read(&c.microtasks_run),
            panics: Counters::read(&c.panics),
            discarded: Counters::read(&c.discarded),
            sleeps: Counters::read(&c.sleeps),
            parks: Counters::read(&c.parks),
            unparks: Counters::read(&c.unparks),
            timers_fired: Counters::read(&c.timers_fired),
            timers_cancelled: Counters::read(&c.timers_cancelled),
            timers_dropped: Counters::read(&c.timers_dropped),
            rejections_unhandled: Counters::read(&c.rejections_unhandled),
            rejections_handled_later: Counters::read(&c.rejections_handled_later),
            promises_terminated: Counters::read(&c.promises_terminated),
        }
    }
}

/// A `Send + Sync` handle to an event loop, for submitting work and stopping it from any thread.
#[derive(Clone)]
pub struct Handle {
    pub(super) shared: Arc<Shared>,
}

impl Handle {
    /// Submits a macrotask. It runs on the loop thread, followed by a full microtask checkpoint.
    ///
    /// # Errors
    /// [`Rejected`] with the (boxed) task if the loop is terminating or terminated.
    pub fn submit<F>(&self, task: F) -> Result<(), Rejected<SendTask>>
    where
        F: for<'a> FnOnce(&Cx<'a>) + Send + 'static,
    {
        self.shared
            .admit(&self.shared.tasks, Box::new(task))
            .map_err(Rejected)
    }

    /// Queues a microtask: it runs at the loop's next microtask checkpoint.
    ///
    /// # Errors
    /// [`Rejected`] with the (boxed) microtask if the loop is terminating or terminated.
    pub fn queue_microtask<F>(&self, microtask: F) -> Result<(), Rejected<SendTask>>
    where
        F: for<'a> FnOnce(&Cx<'a>) + Send + 'static,
    {
        self.shared
            .admit(
                &self.shared.microtasks,
                Remote::Microtask(Box::new(microtask)),
            )
            .map_err(|refused| match refused {
                Remote::Microtask(task) => Rejected(task),
                Remote::Timer(_) | Remote::Job(_) => unreachable!("a microtask was refused"),
            })
    }

    /// Graceful shutdown: stops admission at once, then the loop runs everything already
    /// accepted (and the microtasks that work queues), and terminates. Idempotent; never blocks,
    /// so it is safe on the loop thread. Returns `true` for the call that started termination.
    pub fn shutdown(&self) -> bool {
        self.shared.terminate(false)
    }

    /// Immediate close: stops admission at once; the loop finishes at most the callback it is
    /// running, drops everything accepted but not yet run (counted in
    /// [`LoopStats::discarded`]) and terminates. Idempotent; never blocks. Returns `true` for
    /// the call that started termination.
    ///
    /// Admission closes queue by queue (macrotasks, then microtasks): while this call runs,
    /// another thread may see a `submit` refused and a `queue_microtask` still accepted (which is
    /// then counted as discarded). Once it returns, both refuse.
    pub fn close(&self) -> bool {
        self.shared.terminate(true)
    }

    /// The loop's state (a snapshot).
    pub fn state(&self) -> LoopState {
        self.shared.state.load()
    }

    /// Blocks until the loop has terminated, or `timeout` passed. Returns whether it terminated.
    ///
    /// On the loop's own thread it never blocks (the loop cannot terminate while this thread
    /// waits for it): it returns at once whether the loop has terminated.
    pub fn wait_terminated(&self, timeout: Option<Duration>) -> bool {
        if self.shared.parker.is_current() {
            return *self.shared.finished.lock();
        }
        let mut finished = self.shared.finished.lock();
        match timeout {
            None => {
                while !*finished {
                    finished = self.shared.finished_cv.wait(finished);
                }
                true
            }
            Some(timeout) => {
                let deadline = std::time::Instant::now() + timeout;
                while !*finished {
                    let left = deadline.saturating_duration_since(std::time::Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    finished = self.shared.finished_cv.wait_timeout(finished, left);
                }
                *finished
            }
        }
    }

    /// Counters of what the loop has done so far. The run counts (`tasks_run`,
    /// `microtasks_run`) are published once per tick, so from another thread they can lag by the
    /// tick in progress; they are exact once the loop has terminated.
    pub fn stats(&self) -> LoopStats {
        self.shared.stats()
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("state", &self.state())
            .finish()
    }
}
