//! The event loop driver: the ring and the state machine composed into a loop you can embed.
//!
//! # Ground rules
//!
//! - The [`EventLoop`] is owned by the thread that runs it (it is neither `Send` nor `Sync`, so
//!   loop-local work may capture `!Send` data). Other threads use [`Handle`]s.
//! - Callbacks receive a [`Cx`]: the loop-thread view through which they queue microtasks,
//!   submit more tasks, and reach the handle. Local queues are `RefCell`s that are never
//!   borrowed across a callback.
//! - **Tick order** (the JS one). A tick begins with the timer pass (`timers` module): the
//!   timers due at the tick time, in deadline order with ties in scheduling order, each followed
//!   by a full microtask checkpoint; a timer set during the pass waits for a later pass. Then:
//!   take one macrotask, run it, run a full microtask checkpoint
//!   (microtasks queued by microtasks run in the same checkpoint), then the next macrotask. The
//!   microtask queue is also drained after a macrotask is taken and before it runs, so a
//!   microtask queued outside any callback (before `run`, or from another thread) never runs
//!   after a macrotask that was queued after it: taking a remote task synchronizes with
//!   everything its producer published before it, that producer's microtasks included. At
//!   most [`Config::max_tasks_per_tick`] macrotasks run per tick; then the loop refreshes its
//!   tick time and starts a new tick (where due timers go first: nothing waits behind an
//!   unbounded queue). Loop-local and remote macrotasks alternate, each FIFO.
//! - **Sleep** (the loop side of proofs/wake.md, W2): when a tick ran nothing and nothing is
//!   ready, spin briefly ([`Config::spin_before_sleep`]), then clear the wake token
//!   (`wake_pending`), CAS Running → Sleeping, SeqCst fence, re-check every queue (the ring of
//!   timer requests from other threads included), and park only while the token is still unset,
//!   and never past the earliest timer deadline. After waking, CAS Sleeping → Running (a loss
//!   means Terminating) and refresh the tick time.
//! - **Timers** can be set and cleared from the loop thread ([`Cx::set_timeout`], …) and from
//!   any thread ([`Handle::set_timeout`], [`Handle::clear_timer`]); see the `timers` module docs
//!   and proofs/timer.md.
//! - **Termination** runs on the loop thread only: graceful shutdown drains everything that was
//!   admitted, microtasks queued during the drain included; `close` drops it and counts it.
//!   Pending timers are cancelled either way, their callbacks dropped and counted.
//!   Either way the loop ends with the single Terminating → Terminated transition, after which
//!   every promise of the loop still pending is rejected with `Failure::Terminated` (the
//!   registry's reject-all; `promises` module, proofs/registry.md).
//! - **Panics** in callbacks are caught, counted, and reported to the panic hook; the loop goes on.

mod config;
mod handle;
mod promises;
mod timers;

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use core::cell::{Cell, RefCell};
use core::fmt;
use core::time::Duration;
use std::panic::{AssertUnwindSafe, catch_unwind};

pub use crate::promise::WaitOnLoopThread;
use config::PanicHook;
pub use config::{
    Builder, CallbackKind, Config, PanicReport, RejectionEvent, RejectionKind, RunError,
};
use handle::Remote;
use handle::{Counters, Shared};
pub use handle::{Handle, LoopStats, Rejected, SendTask};
use timers::TimerCallback;
pub use timers::{ClearOutcome, ClearTicket, IntervalTask, SendIntervalTask};

use crate::promise::Job;
use crate::ring::{Consumer, PopError};
use crate::state::{LoopState, Transition};
use crate::sync::atomic::{Ordering::SeqCst, fence};
use crate::sync::{Arc, hint};
use crate::timer::{TimerError, TimerId, TimerPool};

/// A task queued on the loop thread; it may capture `!Send` data.
pub type LocalTask = Box<dyn for<'a> FnOnce(&Cx<'a>) + 'static>;

/// What `drive` does when nothing is ready.
#[derive(Clone, Copy)]
enum Idle {
    /// Sleep until woken (`run`).
    Park,
    /// Publish an idle Sleeping and return (`run_until_idle`).
    Return,
}

struct Local {
    tasks: RefCell<VecDeque<LocalTask>>,
    microtasks: RefCell<VecDeque<Microtask>>,
    remote_tasks: RefCell<Consumer<SendTask>>,
    remote_microtasks: RefCell<Consumer<Remote>>,
    /// The loop's timers (IDs from `Shared::timer_ids`, so `schedule_with_id` only).
    timers: RefCell<TimerPool<TimerCallback>>,
    /// The HTML timer nesting level of the running callback (0 outside timer callbacks).
    nesting: Cell<u32>,
    /// Whether the running timer callback is an interval's (for `Cx::clear_timer` on itself).
    firing_interval: Cell<bool>,
    /// Which source the next macrotask comes from when both have work (alternation).
    prefer_remote: Cell<bool>,
    /// Callbacks run since the counters were last published to `Shared` (once per tick: an
    /// atomic add per callback would cost more than some callbacks do).
    unflushed_tasks: Cell<usize>,
    unflushed_microtasks: Cell<usize>,
    /// The tick time: read from the clock at the start of every tick and after every sleep.
    now: Cell<Duration>,
    panic_hook: RefCell<Option<PanicHook>>,
    /// Unhandled-rejection notices received since the end of the last checkpoint.
    rejections: RefCell<alloc::vec::Vec<promises::Notice>>,
    rejection_hook: RefCell<Option<config::RejectionHook>>,
    /// The loop's promises (`promises` module docs): registered when created on this thread,
    /// moved in from `Shared::inbox` otherwise; scavenged at the end of every tick, rejected
    /// with `Failure::Terminated` by `finish`.
    registry: RefCell<crate::registry::Registry>,
    config: Config,
}

/// An event loop. Owned by the thread that runs it; see the module docs for its rules.
pub struct EventLoop {
    shared: Arc<Shared>,
    local: Local,
}

/// The loop-thread view given to every callback.
pub struct Cx<'a> {
    shared: &'a Arc<Shared>,
    local: &'a Local,
}

impl Cx<'_> {
    /// Queues a microtask on the loop thread (it may capture `!Send` data). It runs in the
    /// current checkpoint if one is running, otherwise at the next one.
    ///
    /// # Errors
    /// [`Rejected`] if the loop has terminated (never during the final drain: microtasks queued
    /// by drained work still run).
    pub fn queue_microtask<F>(&self, microtask: F) -> Result<(), Rejected<LocalTask>>
    where
        F: for<'b> FnOnce(&Cx<'b>) + 'static,
    {
        if self.shared.state.load() == LoopState::Terminated {
            return Err(Rejected(Box::new(microtask)));
        }
        self.local
            .microtasks
            .borrow_mut()
            .push_back(Microtask::Task(Box::new(microtask)));
        Ok(())
    }

    /// Submits a macrotask from the loop thread (it may capture `!Send` data).
    ///
    /// # Errors
    /// [`Rejected`] if the loop is terminating or terminated (admission is closed).
    pub fn submit<F>(&self, task: F) -> Result<(), Rejected<LocalTask>>
    where
        F: for<'b> FnOnce(&Cx<'b>) + 'static,
    {
        if !self.shared.state.load().accepts_work() {
            return Err(Rejected(Box::new(task)));
        }
        self.local.tasks.borrow_mut().push_back(Box::new(task));
        Ok(())
    }

    /// A handle to this loop, for other threads.
    pub fn handle(&self) -> Handle {
        Handle {
            shared: Arc::clone(self.shared),
        }
    }

    /// Graceful shutdown (see [`Handle::shutdown`]); safe from a callback.
    pub fn shutdown(&self) -> bool {
        self.shared.terminate(false)
    }

    /// Immediate close (see [`Handle::close`]); safe from a callback.
    pub fn close(&self) -> bool {
        self.shared.terminate(true)
    }

    /// The tick time: the clock as read at the start of this tick.
    pub fn now(&self) -> Duration {
        self.local.now.get()
    }
}

/// The loop-thread machinery every kind of callback shares.
impl Cx<'_> {
    /// Whether `close` has been called: from then on nothing more is run.
    #[inline]
    pub(super) fn discarding(&self) -> bool {
        // SeqCst: pairs with the store in `Shared::terminate` (a plain load on x86).
        self.shared.discard.load(SeqCst)
    }

    /// The microtask checkpoint: runs microtasks until both queues are empty (microtasks queued
    /// by microtasks run here too). A remote microtask still being written (`Pending`) is left
    /// for later: its producer wakes the loop after publishing it.
    ///
    /// When the local queue runs dry, every remote microtask that is ready moves to it at once
    /// ([`Cx::absorb_remote_microtasks`]), not one at a time: a microtask or promise job queued
    /// while one of them runs then goes behind the rest of that batch, which was queued before
    /// it (the JS job queue: `p.then(a); p.then(b)` from outside the loop, and `a` registering
    /// `c`, runs `a b c`, not `a c b`).
    pub(super) fn checkpoint(&self) -> usize {
        let mut ran = 0;
        loop {
            let next = self.local.microtasks.borrow_mut().pop_front();
            let next = next.or_else(|| {
                self.absorb_remote_microtasks();
                self.local.microtasks.borrow_mut().pop_front()
            });
            let Some(microtask) = next else {
                // The end of the checkpoint: unhandled-rejection notices. The hook may queue
                // microtasks; they run in this checkpoint (then the notices are checked again).
                if self.report_rejections() {
                    continue;
                }
                return ran;
            };
            if self.discarding() {
                // `close` stops the checkpoint: this and the rest are dropped and counted.
                self.discard(microtask);
                return ran;
            }
            self.guarded(CallbackKind::Microtask, || microtask.run(self));
            self.local
                .unflushed_microtasks
                .set(self.local.unflushed_microtasks.get() + 1);
            ran += 1;
        }
    }

    /// Moves every remote microtask that is ready to the back of the local queue (which keeps
    /// their order: the checkpoint runs local ones first, then remote ones). Timer sets among
    /// them are armed at once (arming runs no user code and has no visible effect but the timer
    /// itself); timer clears keep their place in the queue, as internal microtasks (counted in
    /// `microtasks_run`), so they are decided in order with the sender's microtasks. Returns how
    /// many sets it armed. For the checkpoint, when its local queue runs dry, and for
    /// `Cx::clear_timer`, which must find a timer that a `Handle` set before it; runs no user
    /// code but destructors.
    pub(super) fn absorb_remote_microtasks(&self) -> usize {
        let mut armed = 0;
        loop {
            let popped = self.local.remote_microtasks.borrow_mut().pop();
            match popped {
                Some(item) => armed += self.absorb_remote(item),
                None => return armed,
            }
        }
    }

    /// As [`absorb_remote_microtasks`](Self::absorb_remote_microtasks), but also waits
    /// (yielding) while a producer has claimed the ring's head slot and not yet published it
    /// (a wait-free window of that producer's `push`: no user code, no waiting), and goes on
    /// until the ring is empty. Afterwards every remote microtask whose push happens-before this
    /// call is in the local queue, in FIFO order, so a job queued locally next runs after all of
    /// them (`Scheduler::schedule_ordered`; proofs/promise.md, P3). It can run as long as
    /// remote producers keep the ring non-empty, as a checkpoint can.
    pub(super) fn absorb_remote_microtasks_in_order(&self) {
        loop {
            let popped = self.local.remote_microtasks.borrow_mut().try_pop();
            match popped {
                Ok(item) => {
                    self.absorb_remote(item);
                }
                Err(PopError::Pending) => hint::yield_now(),
                Err(PopError::Empty | PopError::Closed) => return,
            }
        }
    }

    /// Moves one remote item to the back of the local queue (a timer set is armed instead).
    /// Returns 1 for an armed timer set, else 0.
    fn absorb_remote(&self, item: Remote) -> usize {
        match item {
            Remote::Microtask(task) => {
                let task = Microtask::Task(to_local(task));
                self.local.microtasks.borrow_mut().push_back(task);
                0
            }
            Remote::Job(job) => {
                self.local
                    .microtasks
                    .borrow_mut()
                    .push_back(Microtask::Job(job));
                0
            }
            Remote::Timer(request) if request.is_set() => {
                self.apply_timer_request(*request);
                1
            }
            Remote::Timer(request) => {
                let clear: LocalTask = Box::new(move |cx| cx.apply_timer_request(*request));
                self.local
                    .microtasks
                    .borrow_mut()
                    .push_back(Microtask::Task(clear));
                0
            }
        }
    }

    /// Runs a callback, containing and reporting a panic.
    pub(super) fn guarded(&self, kind: CallbackKind, callback: impl FnOnce()) {
        if let Err(payload) = catch_unwind(AssertUnwindSafe(callback)) {
            Counters::add(&self.shared.counters.panics, 1);
            let report = PanicReport { kind, payload };
            // The hook is taken out while it runs, so a hook that panics (contained below) or
            // re-enters cannot hit a held borrow.
            let hook = self.local.panic_hook.borrow_mut().take();
            match hook {
                Some(mut hook) => {
                    let _ = catch_unwind(AssertUnwindSafe(|| hook(report)));
                    *self.local.panic_hook.borrow_mut() = Some(hook);
                }
                None => std::eprintln!(
                    "eventloop: a {kind:?} panicked: {}",
                    report.message().unwrap_or("(non-string payload)")
                ),
            }
        }
    }

    /// Drops a task that `close` leaves unrun, counting it. Its destructor is user code: a panic
    /// there is contained and reported like a callback's, so termination always completes.
    pub(super) fn discard<T>(&self, task: T) {
        Counters::add(&self.shared.counters.discarded, 1);
        self.guarded(CallbackKind::Destructor, move || drop(task));
    }
}

impl fmt::Debug for Cx<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cx")
            .field("state", &self.shared.state.load())
            .field("now", &self.now())
            .finish()
    }
}

impl Default for EventLoop {
    fn default() -> Self {
        Self::new()
    }
}

impl EventLoop {
    /// A loop with the default configuration and the system clock.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A builder for a configured loop.
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// A handle for other threads.
    pub fn handle(&self) -> Handle {
        Handle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Submits a macrotask from the owning thread, before or between runs.
    ///
    /// # Errors
    /// [`Rejected`] if the loop is terminating or terminated.
    pub fn submit<F>(&self, task: F) -> Result<(), Rejected<LocalTask>>
    where
        F: for<'a> FnOnce(&Cx<'a>) + 'static,
    {
        self.cx().submit(task)
    }

    /// Queues a microtask from the owning thread, before or between runs.
    ///
    /// # Errors
    /// [`Rejected`] if the loop has terminated.
    pub fn queue_microtask<F>(&self, microtask: F) -> Result<(), Rejected<LocalTask>>
    where
        F: for<'a> FnOnce(&Cx<'a>) + 'static,
    {
        self.cx().queue_microtask(microtask)
    }

    /// `setTimeout` from the owning thread, before or between runs (see [`Cx::set_timeout`]).
    ///
    /// # Errors
    /// As [`Cx::set_timeout`].
    pub fn set_timeout<F>(
        &self,
        delay: Duration,
        callback: F,
    ) -> Result<TimerId, TimerError<LocalTask>>
    where
        F: for<'a> FnOnce(&Cx<'a>) + 'static,
    {
        self.cx().set_timeout(delay, callback)
    }

    /// `setInterval` from the owning thread, before or between runs (see [`Cx::set_interval`]).
    ///
    /// # Errors
    /// As [`Cx::set_timeout`].
    pub fn set_interval<F>(
        &self,
        period: Duration,
        callback: F,
    ) -> Result<TimerId, TimerError<IntervalTask>>
    where
        F: for<'a> FnMut(&Cx<'a>) + 'static,
    {
        self.cx().set_interval(period, callback)
    }

    /// Clears a timer from the owning thread (see [`Cx::clear_timer`]: a timer set through a
    /// [`Handle`] before this call is found even if the loop has not armed it yet).
    pub fn clear_timer(&self, id: TimerId) -> ClearOutcome {
        self.cx().clear_timer(id)
    }

    /// The earliest deadline among pending timers, on the loop's clock (for hosts that drive the
    /// loop with [`EventLoop::run_until_idle`] and their own sleep). Requests from other threads
    /// the loop has not applied yet are not included.
    pub fn next_timer_deadline(&self) -> Option<Duration> {
        self.cx().next_timer_deadline()
    }

    /// The loop's state.
    pub fn state(&self) -> LoopState {
        self.shared.state.load()
    }

    /// Counters of what the loop has done so far.
    pub fn stats(&self) -> LoopStats {
        self.flush_counters();
        self.shared.stats()
    }

    /// Publishes the run counts of the current tick to the shared counters.
    fn flush_counters(&self) {
        let tasks = self.local.unflushed_tasks.replace(0);
        let microtasks = self.local.unflushed_microtasks.replace(0);
        if tasks > 0 {
            Counters::add(&self.shared.counters.tasks_run, tasks);
        }
        if microtasks > 0 {
            Counters::add(&self.shared.counters.microtasks_run, microtasks);
        }
    }

    fn cx(&self) -> Cx<'_> {
        Cx {
            shared: &self.shared,
            local: &self.local,
        }
    }

    /// Runs the loop on this thread until it terminates (after [`Handle::shutdown`] or
    /// [`Handle::close`], from any thread or from a callback). Work accepted before `run` —
    /// including before a shutdown that came before `run` — is run (or, after `close`, dropped
    /// and counted).
    ///
    /// A second `run` while one is running, or a `run` from inside one of this loop's callbacks,
    /// cannot be written: `run` takes `&mut self`, and callbacks only receive a [`Cx`]. A `run`
    /// after termination is an error, never a hang.
    ///
    /// # Errors
    /// [`RunError::Terminated`] if the loop has already terminated.
    pub fn run(&mut self) -> Result<(), RunError> {
        self.drive(Idle::Park)
    }

    /// Runs everything that is ready — macrotasks, their checkpoints, and whatever they queue —
    /// without ever sleeping, then returns. For hosts that drive the loop themselves and for
    /// deterministic tests. Performs termination if it was requested.
    ///
    /// The loop is left idle in Sleeping (not parked). Like a real sleep, that idle period
    /// begins by clearing the wake token, so it gets at most one producer unpark, which only
    /// leaves a token for this thread's next park.
    ///
    /// # Errors
    /// [`RunError::Terminated`] if the loop has already terminated.
    pub fn run_until_idle(&mut self) -> Result<(), RunError> {
        self.drive(Idle::Return)
    }

    /// The loop of `run` and `run_until_idle`: tick until terminating (then finish) or, for
    /// `Idle::Return`, until nothing is ready.
    fn drive(&mut self, idle: Idle) -> Result<(), RunError> {
        self.enter()?;
        // From here on the loop is used through a shared reference only: promise jobs scheduled
        // on this thread reach its microtask queue through the same (thread-local) pointer.
        let this = &*self;
        let _driving = promises::Driving::enter(&this.shared, &this.local);
        this.drive_entered(idle)
    }

    fn drive_entered(&self, idle: Idle) -> Result<(), RunError> {
        loop {
            if self.shared.state.load() == LoopState::Terminating {
                self.finish();
                return Ok(());
            }
            if self.tick() > 0 || self.has_ready_work() {
                continue;
            }
            let deadline = self.local.timers.borrow().next_deadline();
            if deadline.is_some_and(|deadline| deadline <= self.shared.clock.now()) {
                // A timer is due: the next tick's pass fires it. Unless termination has begun
                // (the remote ring is closed: the pass no longer takes timers, finding 19) and
                // its state CAS is a few instructions away on another thread: give way to it
                // rather than spin (under loom, a spin without a yield never lets it run).
                if self.local.remote_microtasks.borrow().is_closed() {
                    hint::yield_now();
                }
                continue;
            }
            match idle {
                Idle::Park => self.sleep(deadline),
                // A lost publication means Terminating: the next round finishes.
                Idle::Return if self.begin_sleep() => return Ok(()),
                Idle::Return => {}
            }
        }
    }

    /// Moves the loop to Running for a run. A loop that was asked to terminate before it ran
    /// stays Terminating (its accepted work is then drained by `finish`).
    fn enter(&mut self) -> Result<(), RunError> {
        self.shared.parker.register_current();
        for from in [LoopState::Awake, LoopState::Sleeping] {
            match self.shared.state.transition(from, LoopState::Running) {
                Transition::Done => break,
                Transition::Lost {
                    actual: LoopState::Terminated,
                } => return Err(RunError::Terminated),
                Transition::Lost {
                    actual: LoopState::Terminating,
                } => return Ok(()),
                Transition::Lost { .. } | Transition::Forbidden => continue,
            }
        }
        self.local.now.set(self.shared.clock.now());
        Ok(())
    }

    /// One tick: refresh the tick time; the timer pass (requests from other threads, then the
    /// timers due now, each followed by a checkpoint; `timers` module); then up to
    /// `max_tasks_per_tick` macrotasks, each followed by a full checkpoint; then a checkpoint for
    /// microtasks that arrived on their own. Returns the number of callbacks run (and timer
    /// requests applied).
    fn tick(&self) -> usize {
        self.local.now.set(self.shared.clock.now());
        let cx = self.cx();
        // A termination begun in the pass is seen after the next task (or by `drive`): a
        // graceful shutdown would run the tasks anyway, and `close` makes `run_task` drop them.
        let mut ran = cx.run_timers();
        let mut tasks = 0;
        while tasks < self.local.config.max_tasks_per_tick {
            tasks += 1;
            let Some(task) = self.next_task() else { break };
            ran += self.run_task(&cx, task);
            if self.shared.state.load() == LoopState::Terminating {
                self.flush_counters();
                return ran.max(1);
            }
        }
        ran += cx.checkpoint();
        self.scavenge_registry();
        self.flush_counters();
        ran
    }

    /// Runs one macrotask that was just taken: first the microtasks that were queued before it
    /// (outside any callback), then the task, then a full checkpoint. Returns callbacks run.
    ///
    /// If one of those microtasks (or another thread) called `close`, the task is not run: it is
    /// dropped and counted as discarded, like everything else `close` finds unrun.
    fn run_task(&self, cx: &Cx<'_>, task: LocalTask) -> usize {
        let before = cx.checkpoint();
        if self.cx().discarding() {
            self.cx().discard(task);
            return before;
        }
        cx.guarded(CallbackKind::Task, || task(cx));
        self.local
            .unflushed_tasks
            .set(self.local.unflushed_tasks.get() + 1);
        before + 1 + cx.checkpoint()
    }

    /// The next macrotask, alternating between the loop-local queue and the remote ring.
    fn next_task(&self) -> Option<LocalTask> {
        let local_first = !self.local.prefer_remote.get();
        self.local.prefer_remote.set(local_first);
        let local = || self.local.tasks.borrow_mut().pop_front();
        let remote = || self.local.remote_tasks.borrow_mut().pop().map(to_local);
        if local_first {
            local().or_else(remote)
        } else {
            remote().or_else(local)
        }
    }

    /// Whether a queue holds work that a pop would return now (proofs/wake.md, W2).
    fn has_ready_work(&self) -> bool {
        !self.local.tasks.borrow().is_empty()
            || !self.local.microtasks.borrow().is_empty()
            || self.local.remote_tasks.borrow().is_ready()
            || self.local.remote_microtasks.borrow().is_ready()
    }

    /// Begins a sleep (W2.1–W2.2): clears the wake token, counts the sleep, and publishes
    /// Sleeping. Returns `false` if termination won the CAS (the state is then Terminating).
    fn begin_sleep(&self) -> bool {
        // Clear the wake token first, so that at most one false → true swap (one unpark) can
        // happen per sleep. A producer that saw an earlier Sleeping and swaps after this clear
        // takes this sleep's unpark and leaves the flag set, so we do not park.
        // SeqCst: one total order with producers' swaps (`Shared::unpark_once`). An RMW rather
        // than a plain store: the same instruction on x86 (a SeqCst store is an `xchg`), at
        // least as strong in C11, and loom 0.7 then orders it correctly against the producers'
        // swaps, which it does not for a plain store (tokio-rs/loom#254; proofs/wake.md §6).
        let _ = self.shared.wake_pending.swap(false, SeqCst);
        // The sleep is counted here, also if termination wins the CAS below, so a late
        // producer's unpark always falls within a counted sleep: unparks <= sleeps.
        Counters::add(&self.shared.counters.sleeps, 1);
        // Publish Sleeping: a SeqCst CAS (StateCell). It loses only to Terminating.
        match self
            .shared
            .state
            .transition(LoopState::Running, LoopState::Sleeping)
        {
            Transition::Done => true,
            Transition::Lost {
                actual: LoopState::Terminating,
            } => false,
            other => unreachable!("a running loop in an unexpected state: {other:?}"),
        }
    }

    /// The loop side of the wake protocol (W2). Returns when there may be work, the loop is
    /// terminating, or `deadline` (the earliest timer's, on the loop's clock) has come: the
    /// sleep never lasts past it.
    fn sleep(&self, deadline: Option<Duration>) {
        let clock = &*self.shared.clock;
        let reached = |deadline: Option<Duration>| deadline.is_some_and(|d| clock.now() >= d);
        // Bounded spin: poll the queues for up to `spin_before_sleep` before paying for a park.
        let spin = self.local.config.spin_before_sleep;
        if !spin.is_zero() {
            let start = clock.now();
            let mut rounds = 0u32;
            while clock.now().saturating_sub(start) < spin {
                if self.has_ready_work()
                    || self.shared.state.load() != LoopState::Running
                    || reached(deadline)
                {
                    return;
                }
                rounds += 1;
                if rounds % 64 == 0 {
                    hint::yield_now()
                } else {
                    hint::spin_loop()
                }
            }
        }
        if !self.begin_sleep() {
            return; // Terminating: the caller finishes
        }
        // SeqCst fence after publishing Sleeping: the re-check below cannot be ordered before the
        // publication (pairs with the producers' fence in `Shared::wake_after_publish`).
        fence(SeqCst);
        if !self.has_ready_work() {
            // Park until a producer or terminator has set `wake_pending` (and unparked us), or the
            // deadline passes. The flag, not the parker's token, decides: a parker may return
            // spuriously (thread park may), and we re-check.
            let mut parked = false;
            // SeqCst: pairs with the swap in `Shared::unpark_once`.
            while !self.shared.wake_pending.load(SeqCst) {
                // The time left is computed now, after the spin: never past the deadline.
                let timeout = match deadline {
                    None => None,
                    Some(deadline) => match deadline.checked_sub(clock.now()) {
                        Some(left) if !left.is_zero() => Some(left),
                        _ => break,
                    },
                };
                if !parked {
                    Counters::add(&self.shared.counters.parks, 1);
                    parked = true;
                }
                self.shared.parker.park(timeout);
                if timeout.is_some() {
                    break; // timed out, or woken: `drive` looks again either way
                }
            }
        }
        match self
            .shared
            .state
            .transition(LoopState::Sleeping, LoopState::Running)
        {
            Transition::Done
            | Transition::Lost {
                actual: LoopState::Terminating,
            } => {}
            other => unreachable!("sleeping loop in unexpected state: {other:?}"),
        }
        // The tick time is refreshed after every sleep.
        self.local.now.set(clock.now());
    }

    /// Termination, on the loop thread: drain (or, after `close`, discard) everything admitted,
    /// then the single Terminating → Terminated transition, then reject the loop's promises
    /// still pending (the registry's reject-all), then wake `wait_terminated` callers.
    fn finish(&self) {
        // Drained work sees a current tick time, also when termination came before `run`.
        self.local.now.set(self.shared.clock.now());
        let cx = self.cx();
        // Pending timers are cancelled: their callbacks are dropped (and counted), not run.
        cx.drop_all_timers();
        loop {
            if self.cx().discarding() {
                self.discard_all();
                break;
            }
            if let Some(task) = self.next_task() {
                self.run_task(&cx, task);
                continue;
            }
            if cx.checkpoint() > 0 {
                continue;
            }
            // Nothing ready. Done only once both rings report Closed (every admitted push has
            // been popped); `Pending` means a producer is between its claim and its publish.
            let tasks = self.local.remote_tasks.borrow_mut().try_pop();
            let micro = self.local.remote_microtasks.borrow_mut().try_pop();
            let closed = matches!(
                (&tasks, &micro),
                (Err(PopError::Closed), Err(PopError::Closed))
            );
            let mut progressed = false;
            if let Ok(task) = tasks {
                // The oldest remote task: it goes first.
                self.local.tasks.borrow_mut().push_front(to_local(task));
                progressed = true;
            }
            match micro {
                Ok(Remote::Microtask(micro)) => {
                    let micro = Microtask::Task(to_local(micro));
                    self.local.microtasks.borrow_mut().push_front(micro);
                    progressed = true;
                }
                Ok(Remote::Job(job)) => {
                    self.local
                        .microtasks
                        .borrow_mut()
                        .push_front(Microtask::Job(job));
                    progressed = true;
                }
                // Applied in termination mode: a set is dropped, a clear answers `Terminated`.
                Ok(Remote::Timer(request)) => {
                    cx.apply_timer_request(*request);
                    progressed = true;
                }
                Err(_) => {}
            }
            if closed
                && self.local.tasks.borrow().is_empty()
                && self.local.microtasks.borrow().is_empty()
            {
                break;
            }
            if !progressed {
                hint::yield_now();
            }
        }
        match self
            .shared
            .state
            .transition(LoopState::Terminating, LoopState::Terminated)
        {
            Transition::Done => {}
            other => unreachable!("termination cleanup ran twice or from a wrong state: {other:?}"),
        }
        // After the drain (promises settled by drained work keep their outcome) and after
        // Terminated (the reactions of what it rejects are refused, not queued for a loop that
        // will not run them), before `wait_terminated` callers wake.
        self.reject_registered();
        self.flush_counters();
        self.shared.mark_finished();
    }

    /// `close`: drop everything admitted and not yet run, counting it.
    fn discard_all(&self) {
        loop {
            let tasks: VecDeque<LocalTask> = core::mem::take(&mut *self.local.tasks.borrow_mut());
            let micro: VecDeque<Microtask> =
                core::mem::take(&mut *self.local.microtasks.borrow_mut());
            for task in tasks {
                self.cx().discard(task);
            }
            for microtask in micro {
                self.cx().discard(microtask);
            }
            let mut done = true;
            loop {
                let popped = self.local.remote_tasks.borrow_mut().try_pop();
                match popped {
                    Ok(task) => self.cx().discard(to_local(task)),
                    Err(PopError::Closed) => break,
                    Err(PopError::Empty | PopError::Pending) => {
                        done = false;
                        break;
                    }
                }
            }
            loop {
                let popped = self.local.remote_microtasks.borrow_mut().try_pop();
                match popped {
                    Ok(Remote::Microtask(task)) => self.cx().discard(task),
                    Ok(Remote::Job(job)) => self.cx().discard(job),
                    // Termination mode: a set is dropped and counted, a clear answers.
                    Ok(Remote::Timer(request)) => self.cx().apply_timer_request(*request),
                    Err(PopError::Closed) => break,
                    Err(PopError::Empty | PopError::Pending) => {
                        done = false;
                        break;
                    }
                }
            }
            // A destructor can queue work only through a promise (a dropped resolver rejects its
            // promise, whose reactions are scheduled here): the check below sees it and the
            // next round discards it too.
            if done
                && self.local.tasks.borrow().is_empty()
                && self.local.microtasks.borrow().is_empty()
            {
                break;
            }
            if !done {
                hint::yield_now();
            }
        }
    }
}

/// An entry of the loop-local microtask queue: a microtask, or a promise job.
enum Microtask {
    Task(LocalTask),
    Job(Job),
}

impl Microtask {
    fn run(self, cx: &Cx<'_>) {
        match self {
            Self::Task(task) => task(cx),
            Self::Job(job) => job.run(),
        }
    }
}

/// A remote task is a local task that happened to be `Send`.
fn to_local(task: SendTask) -> LocalTask {
    task
}

impl Drop for EventLoop {
    fn drop(&mut self) {
        // A loop dropped without terminating: close admission and count what is dropped unrun.
        if !matches!(self.shared.state.load(), LoopState::Terminated) {
            self.shared.terminate(true);
            self.finish();
        }
    }
}

impl fmt::Debug for EventLoop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventLoop")
            .field("state", &self.state())
            .field("now", &self.local.now.get())
            .finish()
    }
}

#[cfg(not(loom))]
mod assertions {
    use super::{EventLoop, Handle};
    static_assertions::assert_impl_all!(Handle: Send, Sync, Clone);
    static_assertions::assert_not_impl_any!(EventLoop: Send, Sync);
}

#[cfg(all(test, not(loom), not(feature = "shuttle")))]
mod tests;

#[cfg(all(test, not(loom), not(feature = "shuttle")))]
mod timer_tests;

#[cfg(all(test, not(loom), not(feature = "shuttle")))]
mod promise_tests;

#[cfg(all(test, not(loom), not(feature = "shuttle")))]
mod registry_tests;
