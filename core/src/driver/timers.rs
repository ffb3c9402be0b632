//! Timers in the loop: `setTimeout`, `setInterval` and `clearTimeout` on the loop thread
//! ([`Cx`]) and from any thread ([`Handle`]), over the [`TimerPool`](crate::timer::TimerPool).
//!
//! # Ground rules
//!
//! - **Who owns what.** The pool lives in the loop (`Local::timers`) and only the loop thread
//!   touches it. Other threads reach it with requests that travel in the loop's remote
//!   microtask ring (`Remote::Timer`, with the wake protocol of every push): a set or a clear
//!   from a [`Handle`] is applied by the loop at its next microtask checkpoint — in order with
//!   the sender's microtasks, before any task the sender submitted afterwards, and at the latest
//!   at the checkpoint that opens the next timer pass — or during its final drain.
//! - **IDs** come from one counter shared by every thread (`TimerIds`), so a set from another
//!   thread returns its ID at once, before the loop has seen the request. IDs are `1..=limit`
//!   ([`Config::timer_id_limit`], 2^53 − 1 by default), never reused; when they run out the set
//!   fails with [`TimerError::IdsExhausted`] before any side effect.
//! - **Deadlines** are read from the loop's clock when the timer is set, on whichever thread
//!   sets it: `clock.now() + delay`, with the delay first clamped by the nesting policy
//!   ([`Config::timer_nesting`](super::Config::timer_nesting)). Never from the cached tick time, which can be older than the
//!   call (a long callback, a sleep), and would make the timer fire early.
//! - **A timer pass** (first thing in every tick) runs a checkpoint (which applies pending
//!   requests), then fires, in
//!   `(deadline, scheduling order)`, every timer due at the tick time that was armed before the
//!   pass began (`TimerPool::pass_mark`): a timer set by a callback of this pass — even with a
//!   zero delay — or an interval's re-arm waits for a later pass. Each callback is followed by a
//!   full microtask checkpoint, like a macrotask.
//! - **Intervals** re-arm after their callback with the same ID, due `period` (nesting-clamped)
//!   after the time *the callback started*. They can clear themselves from their callback, and
//!   keep running after a panicking callback (the panic is reported like any other).
//! - **Clear.** On the loop thread [`Cx::clear_timer`] decides at once. From another thread,
//!   [`Handle::clear_timer`] sends a request and returns a [`ClearTicket`] whose outcome the loop
//!   decides when it applies the request — at a checkpoint, between callbacks, never during one. So "the callback
//!   ran" and "the clear cancelled it" exclude each other by construction: the loop thread does
//!   both, one after the other (proofs/timer.md, T4).
//! - **Termination** cancels every pending timer and drops its callback on the loop thread
//!   (counted in [`LoopStats::timers_dropped`]); sets that arrive during the final drain are
//!   dropped the same way, and clears answer [`ClearOutcome::Terminated`].
//!
//! Callbacks of timers, like every callback and every destructor of user code, run on the loop
//! thread under the panic guard.

use alloc::boxed::Box;
use core::fmt;
use core::time::Duration;

use super::handle::{Counters, Remote, Shared};
use super::{CallbackKind, Cx, Handle, LocalTask, SendTask};
use crate::promise::WaitOnLoopThread;
use crate::state::LoopState;
use crate::sync::atomic::{AtomicU64, Ordering::Relaxed};
use crate::sync::{Arc, Condvar, Mutex};
use crate::timer::{Cancel, Due, MAX_TIMER_ID, Rearm, TimerError, TimerId, TimerKind};

/// The callback of an interval set on the loop thread (it may capture `!Send` data).
pub type IntervalTask = Box<dyn for<'a> FnMut(&Cx<'a>) + 'static>;

/// The callback of an interval set from any thread.
pub type SendIntervalTask = Box<dyn for<'a> FnMut(&Cx<'a>) + Send + 'static>;

/// A timer's callback as the pool stores it.
pub(super) enum TimerCallback {
    /// A timeout's: consumed when it fires.
    Once(LocalTask),
    /// An interval's: called at every firing.
    Repeat(IntervalTask),
    /// What is left of a timeout after it fired.
    Spent,
}

/// A request from another thread, applied by the loop.
pub(super) enum TimerRequest {
    Set {
        id: TimerId,
        deadline: Duration,
        callback: SendTimerCallback,
    },
    Clear {
        id: TimerId,
        reply: ClearReply,
    },
}

impl TimerRequest {
    pub(super) fn is_set(&self) -> bool {
        matches!(self, TimerRequest::Set { .. })
    }
}

pub(super) enum SendTimerCallback {
    Once(SendTask),
    Repeat {
        task: SendIntervalTask,
        period: Duration,
    },
}

/// The ID counter shared by every thread that sets timers on one loop.
pub(super) struct TimerIds {
    /// IDs issued so far; the next is `issued + 1`.
    issued: AtomicU64,
    limit: u64,
}

impl TimerIds {
    pub(super) fn new(limit: u64) -> Self {
        Self {
            issued: AtomicU64::new(0),
            limit: limit.min(MAX_TIMER_ID),
        }
    }

    /// A fresh ID, or `None` once `limit` IDs have been issued (then nothing changes).
    pub(super) fn allocate(&self) -> Option<TimerId> {
        // Relaxed: pairs with nothing. An ID only has to be unique, which the RMW gives (each CAS
        // that succeeds reads the value the previous one wrote); nothing is published through the
        // counter.
        let mut issued = self.issued.load(Relaxed);
        loop {
            if issued >= self.limit {
                return None;
            }
            // Relaxed both ways: pairs with nothing (uniqueness comes from the RMW; see above).
            match self
                .issued
                .compare_exchange_weak(issued, issued + 1, Relaxed, Relaxed)
            {
                Ok(_) => return TimerId::new(issued + 1),
                Err(actual) => issued = actual,
            }
        }
    }
}

/// What a clear did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClearOutcome {
    /// The timer was pending and is now cancelled: a timeout's callback never ran and never
    /// will; an interval fires no more (this includes an interval clearing itself from its own
    /// callback). Its callback has been dropped, or is dropped when its current run returns.
    Cancelled,
    /// There was nothing to cancel: the timeout already fired (or is firing: a timeout clearing
    /// itself), the timer was cleared before, or the ID was never issued.
    NotPending,
    /// The loop terminated before it applied the clear. Termination cancels every pending
    /// timer, so the callback does not run after this; whether it ran before is not known.
    Terminated,
}

/// The answer slot of one clear from another thread.
struct ClearSlot {
    outcome: Mutex<Option<ClearOutcome>>,
    ready: Condvar,
}

impl ClearSlot {
    fn set(&self, outcome: ClearOutcome) {
        let mut slot = self.outcome.lock();
        if slot.is_none() {
            *slot = Some(outcome);
            self.ready.notify_all();
        }
    }
}

/// The loop's end of a clear: answered once, or [`ClearOutcome::Terminated`] when dropped
/// unanswered (the request was dropped by `close`, or refused by a closed ring).
pub(super) struct ClearReply(Arc<ClearSlot>);

impl ClearReply {
    fn send(self, outcome: ClearOutcome) {
        self.0.set(outcome);
    }
}

impl Drop for ClearReply {
    fn drop(&mut self) {
        self.0.set(ClearOutcome::Terminated);
    }
}

/// A clear requested from another thread through [`Handle::clear_timer`]. The clear happens
/// whether or not the ticket is kept; the ticket tells its outcome once the loop has decided.
pub struct ClearTicket {
    slot: Arc<ClearSlot>,
    shared: Arc<Shared>,
}

impl ClearTicket {
    /// The outcome, if the loop has decided it.
    pub fn try_outcome(&self) -> Option<ClearOutcome> {
        *self.slot.outcome.lock()
    }

    /// Blocks until the loop has applied the clear (at its next microtask checkpoint: at most
    /// the callback it is running, plus a wake-up, from now), and returns what the clear did.
    ///
    /// # Errors
    /// [`WaitOnLoopThread`] on the loop's own thread if the outcome is not known yet.
    pub fn wait(self) -> Result<ClearOutcome, WaitOnLoopThread> {
        let mut outcome = self.slot.outcome.lock();
        if outcome.is_none() && self.shared.parker.is_current() {
            return Err(WaitOnLoopThread);
        }
        loop {
            if let Some(outcome) = *outcome {
                return Ok(outcome);
            }
            outcome = self.slot.ready.wait(outcome);
        }
    }
}

impl fmt::Debug for ClearTicket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClearTicket")
            .field("outcome", &self.try_outcome())
            .finish()
    }
}

/// `now` plus `delay`, saturating (a far deadline means "never" in practice).
fn after_delay(now: Duration, delay: Duration) -> Duration {
    now.checked_add(delay).unwrap_or(Duration::MAX)
}

impl Cx<'_> {
    /// `setTimeout`: runs `callback` once, on the loop thread, `delay` from now (at the first
    /// timer pass at or after that time; nesting-clamped, see [`Config::timer_nesting`](super::Config::timer_nesting)). For a
    /// JavaScript delay argument use [`normalize_js_delay_ms`](crate::timer::normalize_js_delay_ms)
    /// first.
    ///
    /// # Errors
    /// The callback comes back in [`TimerError::Terminated`] if the loop is terminating or
    /// terminated, [`TimerError::IdsExhausted`] if every ID has been issued.
    pub fn set_timeout<F>(
        &self,
        delay: Duration,
        callback: F,
    ) -> Result<TimerId, TimerError<LocalTask>>
    where
        F: for<'b> FnOnce(&Cx<'b>) + 'static,
    {
        self.set_timer(
            delay,
            TimerCallback::Once(Box::new(callback)),
            TimerKind::Timeout,
        )
        .map_err(|e| e.map(TimerCallback::into_once))
    }

    /// `setInterval`: runs `callback` every `period` (nesting-clamped), the first time `period`
    /// from now, each next time `period` after the previous run *started*, until cleared.
    ///
    /// # Errors
    /// As [`Cx::set_timeout`].
    pub fn set_interval<F>(
        &self,
        period: Duration,
        callback: F,
    ) -> Result<TimerId, TimerError<IntervalTask>>
    where
        F: for<'b> FnMut(&Cx<'b>) + 'static,
    {
        self.set_timer(
            period,
            TimerCallback::Repeat(Box::new(callback)),
            TimerKind::Interval { period },
        )
        .map_err(|e| e.map(TimerCallback::into_repeat))
    }

    /// `clearTimeout`/`clearInterval`, decided at once. Clearing the timer whose callback is
    /// running (from the callback or from the microtasks of its checkpoint): an interval stops
    /// (`Cancelled`), a timeout has fired (`NotPending`). A timer set from another thread that
    /// the loop has not armed yet is armed first (its request applied), so a clear that the set
    /// happens-before finds it — unless another thread's push ahead of the set in the ring is
    /// still being written (its slot claimed, not yet published), which stops the loop from
    /// reading further for now. After termination began: `Terminated` (termination cancels
    /// every timer).
    pub fn clear_timer(&self, id: TimerId) -> ClearOutcome {
        if !self.shared.state.load().accepts_work() {
            return ClearOutcome::Terminated;
        }
        let cancel = self.local.timers.borrow_mut().cancel(id);
        if !matches!(cancel, Cancel::NotFound) {
            return self.cancelled(cancel);
        }
        // The set may still be in the remote microtask ring: take what is ready there (sets are
        // armed now; microtasks and clears move to the local queue, in order). Arming inside a
        // pass is safe for the pass: new arms get sequence numbers after its mark, so the pass
        // does not take them (proofs/timer.md, L3). A push still being written ahead of the set
        // stops the absorption (`Pending`): then the set is not found yet.
        if self.absorb_remote_microtasks() == 0 {
            return ClearOutcome::NotPending;
        }
        if !self.shared.state.load().accepts_work() {
            return ClearOutcome::Terminated; // a shutdown came meanwhile and dropped the timers
        }
        let cancel = self.local.timers.borrow_mut().cancel(id);
        self.cancelled(cancel)
    }

    /// A clear decided now, from the pool alone (a clear sent from another thread: everything
    /// its sender sent before it has been applied already, so there is nothing to absorb).
    fn clear_now(&self, id: TimerId) -> ClearOutcome {
        let cancel = self.local.timers.borrow_mut().cancel(id);
        self.cancelled(cancel)
    }

    /// The outcome of a pool cancel, with its side effects (count, drop the callback).
    fn cancelled(&self, cancel: Cancel<TimerCallback>) -> ClearOutcome {
        match cancel {
            Cancel::Cancelled(callback) => {
                Counters::add(&self.shared.counters.timers_cancelled, 1);
                self.drop_callback(callback);
                ClearOutcome::Cancelled
            }
            Cancel::Firing if self.local.firing_interval.get() => {
                Counters::add(&self.shared.counters.timers_cancelled, 1);
                ClearOutcome::Cancelled
            }
            Cancel::Firing | Cancel::NotFound => ClearOutcome::NotPending,
        }
    }

    /// The earliest deadline among pending timers (a time on the loop's clock).
    pub fn next_timer_deadline(&self) -> Option<Duration> {
        self.local.timers.borrow().next_deadline()
    }

    fn set_timer(
        &self,
        delay: Duration,
        callback: TimerCallback,
        kind: TimerKind,
    ) -> Result<TimerId, TimerError<TimerCallback>> {
        if !self.shared.state.load().accepts_work() {
            return Err(TimerError::Terminated(callback));
        }
        let Some(id) = self.shared.timer_ids.allocate() else {
            return Err(TimerError::IdsExhausted(callback));
        };
        let (delay, nesting) = self
            .local
            .config
            .timer_nesting
            .apply(self.local.nesting.get(), delay);
        let deadline = after_delay(self.shared.clock.now(), delay);
        self.local
            .timers
            .borrow_mut()
            .schedule_with_id(id, deadline, callback, kind, nesting)?;
        Ok(id)
    }

    /// Drops a timer callback on the loop thread, containing a panicking destructor.
    fn drop_callback(&self, callback: TimerCallback) {
        if !matches!(callback, TimerCallback::Spent) {
            self.guarded(CallbackKind::Destructor, move || drop(callback));
        }
    }

    /// Applies one request from another thread. After termination began, a set is dropped
    /// (counted in `timers_dropped`) and a clear answers `Terminated`.
    pub(super) fn apply_timer_request(&self, request: TimerRequest) {
        let accepting = self.shared.state.load().accepts_work();
        match request {
            TimerRequest::Set {
                id,
                deadline,
                callback,
            } => {
                let (callback, kind) = match callback {
                    SendTimerCallback::Once(task) => {
                        (TimerCallback::Once(task), TimerKind::Timeout)
                    }
                    SendTimerCallback::Repeat { task, period } => {
                        (TimerCallback::Repeat(task), TimerKind::Interval { period })
                    }
                };
                let refused = if accepting {
                    // Nesting level 1: set from outside any timer callback.
                    let scheduled = self
                        .local
                        .timers
                        .borrow_mut()
                        .schedule_with_id(id, deadline, callback, kind, 1);
                    scheduled.err().map(TimerError::into_callback)
                } else {
                    Some(callback)
                };
                if let Some(callback) = refused {
                    Counters::add(&self.shared.counters.timers_dropped, 1);
                    self.drop_callback(callback);
                }
            }
            TimerRequest::Clear { id, reply } => {
                if accepting {
                    reply.send(self.clear_now(id));
                } else {
                    reply.send(ClearOutcome::Terminated);
                }
            }
        }
    }

    /// The timer pass of a tick: requests first, then every timer due at the tick time and
    /// armed before the pass began, each followed by a checkpoint. Returns callbacks run (and
    /// requests applied). Stops early when termination begins.
    pub(super) fn run_timers(&self) -> usize {
        // Microtasks queued outside any callback (before `run`, or from another thread) run
        // first, before any timer is taken: a clear among them still finds its timer armed. The
        // timer requests from other threads travel with those microtasks, so this also arms (or
        // clears) what other threads sent before the pass.
        let mut ran = self.checkpoint();
        let now = self.local.now.get();
        let mark = self.local.timers.borrow().pass_mark();
        loop {
            // Nothing due: done, without touching an atomic (a loop without timers pays only a
            // heap peek per tick).
            let next = self.local.timers.borrow().next_deadline();
            if next.is_none_or(|deadline| deadline > now) {
                return ran;
            }
            // Termination stops the pass: pending timers are cancelled, not run. Termination
            // closes the remote rings (TR2) before its state CAS (TR3), and a clear refused by
            // the closed ring answers `Terminated` at once; so the pass also stops once the ring
            // is closed, or it could fire a timer after that answer (proofs/timer.md, finding
            // 19, found with SPIN). The closed bit is read Relaxed: a refused push read the bit,
            // and if its answer happens-before this load, coherence makes the load see it too.
            if self.shared.state.load() == LoopState::Terminating
                || self.discarding()
                || self.local.remote_microtasks.borrow().is_closed()
            {
                return ran;
            }
            let due = self.local.timers.borrow_mut().take_due_before(now, mark);
            let Some(due) = due else { return ran };
            ran += self.fire(due);
        }
    }

    /// Runs one due timer taken by the pass: its callback, then a full checkpoint, both at the
    /// timer's nesting level (the checkpoint belongs to the timer's task, as in HTML); then
    /// re-arms it (an interval) or drops it.
    fn fire(&self, due: Due<TimerCallback>) -> usize {
        let Due {
            callback,
            kind,
            nesting,
            token,
            ..
        } = due;
        let interval = matches!(kind, TimerKind::Interval { .. });
        let started = self.shared.clock.now();
        let outer_nesting = self.local.nesting.replace(nesting);
        let outer_interval = self.local.firing_interval.replace(interval);
        let callback = match callback {
            TimerCallback::Once(task) => {
                self.guarded(CallbackKind::Timer, || task(self));
                TimerCallback::Spent
            }
            TimerCallback::Repeat(mut task) => {
                self.guarded(CallbackKind::Timer, || task(self));
                TimerCallback::Repeat(task)
            }
            TimerCallback::Spent => unreachable!("an armed timer holds a callback"),
        };
        Counters::add(&self.shared.counters.timers_fired, 1);
        let after = self.checkpoint();
        // Restored also after a panic: `guarded` contained it.
        self.local.nesting.set(outer_nesting);
        self.local.firing_interval.set(outer_interval);
        let rearm = match kind {
            TimerKind::Interval { period } => {
                let (delay, nesting) = self.local.config.timer_nesting.apply(nesting, period);
                Some(Rearm {
                    deadline: after_delay(started, delay),
                    nesting,
                })
            }
            TimerKind::Timeout => None,
        };
        let finished = self
            .local
            .timers
            .borrow_mut()
            .finish(token, callback, rearm);
        if let Some(callback) = finished {
            self.drop_callback(callback);
        }
        1 + after
    }

    /// Termination: cancels every pending timer, dropping its callback (counted).
    pub(super) fn drop_all_timers(&self) {
        let callbacks = self.local.timers.borrow_mut().cancel_all();
        Counters::add(&self.shared.counters.timers_dropped, callbacks.len());
        for callback in callbacks {
            self.drop_callback(callback);
        }
    }
}

impl TimerCallback {
    fn into_once(self) -> LocalTask {
        match self {
            TimerCallback::Once(task) => task,
            _ => unreachable!("a timeout's callback"),
        }
    }

    fn into_repeat(self) -> IntervalTask {
        match self {
            TimerCallback::Repeat(task) => task,
            _ => unreachable!("an interval's callback"),
        }
    }
}

impl Handle {
    /// `setTimeout` from any thread: the ID is returned at once; the deadline is `delay` from
    /// now on the loop's clock (not from when the loop sees the request). The loop arms the
    /// timer at its next microtask checkpoint (a sleeping loop is woken for it).
    ///
    /// # Errors
    /// [`TimerError::Terminated`] if the loop no longer accepts work, [`TimerError::IdsExhausted`]
    /// if every ID has been issued; the callback comes back.
    pub fn set_timeout<F>(
        &self,
        delay: Duration,
        callback: F,
    ) -> Result<TimerId, TimerError<SendTask>>
    where
        F: for<'a> FnOnce(&Cx<'a>) + Send + 'static,
    {
        self.send_set(delay, SendTimerCallback::Once(Box::new(callback)))
            .map_err(|e| {
                e.map(|callback| match callback {
                    SendTimerCallback::Once(task) => task,
                    SendTimerCallback::Repeat { .. } => unreachable!("a timeout's callback"),
                })
            })
    }

    /// `setInterval` from any thread (see [`Handle::set_timeout`] and [`Cx::set_interval`]).
    ///
    /// # Errors
    /// As [`Handle::set_timeout`].
    pub fn set_interval<F>(
        &self,
        period: Duration,
        callback: F,
    ) -> Result<TimerId, TimerError<SendIntervalTask>>
    where
        F: for<'a> FnMut(&Cx<'a>) + Send + 'static,
    {
        self.send_set(
            period,
            SendTimerCallback::Repeat {
                task: Box::new(callback),
                period,
            },
        )
        .map_err(|e| {
            e.map(|callback| match callback {
                SendTimerCallback::Repeat { task, .. } => task,
                SendTimerCallback::Once(_) => unreachable!("an interval's callback"),
            })
        })
    }

    /// `clearTimeout` from any thread: the loop applies it at its next microtask checkpoint,
    /// between callbacks, and the returned ticket tells whether it cancelled the timer before it
    /// fired.
    /// Dropping the ticket does not undo the clear.
    pub fn clear_timer(&self, id: TimerId) -> ClearTicket {
        let slot = Arc::new(ClearSlot {
            outcome: Mutex::new(None),
            ready: Condvar::new(),
        });
        let request = TimerRequest::Clear {
            id,
            reply: ClearReply(Arc::clone(&slot)),
        };
        // A refused request is dropped here, and its reply answers `Terminated`.
        let _ = self
            .shared
            .admit(&self.shared.microtasks, Remote::Timer(Box::new(request)));
        ClearTicket {
            slot,
            shared: Arc::clone(&self.shared),
        }
    }

    fn send_set(
        &self,
        delay: Duration,
        callback: SendTimerCallback,
    ) -> Result<TimerId, TimerError<SendTimerCallback>> {
        // A set after termination began is refused without using an ID (the ring push below
        // decides for a set that races the termination).
        if !self.shared.state.load().accepts_work() {
            return Err(TimerError::Terminated(callback));
        }
        let Some(id) = self.shared.timer_ids.allocate() else {
            return Err(TimerError::IdsExhausted(callback));
        };
        // Set outside any timer callback: nesting level 0 (clamped only if the policy says so
        // for level 0, which HTML's never does).
        let delay = self.shared.timer_nesting.apply(0, delay).0;
        let deadline = after_delay(self.shared.clock.now(), delay);
        let request = TimerRequest::Set {
            id,
            deadline,
            callback,
        };
        match self
            .shared
            .admit(&self.shared.microtasks, Remote::Timer(Box::new(request)))
        {
            Ok(()) => Ok(id),
            Err(Remote::Timer(request)) => match *request {
                TimerRequest::Set { callback, .. } => Err(TimerError::Terminated(callback)),
                TimerRequest::Clear { .. } => unreachable!("a set was refused"),
            },
            Err(Remote::Microtask(_) | Remote::Job(_)) => unreachable!("a set was refused"),
        }
    }
}
