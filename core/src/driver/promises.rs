//! Promises on the loop: the loop as a promise [`Scheduler`], unhandled-rejection reporting at
//! the end of each microtask checkpoint, `promise`/`promisify` on [`Handle`], [`Cx`] and
//! [`EventLoop`], and the combinators (`all`, `race`, `all_settled`, `any`) on [`Handle`] and
//! [`Cx`], with this loop as the result's scheduler.
//!
//! # Ground rules
//!
//! - **Where a job goes.** While a thread drives a loop (`run`, `run_until_idle`), a
//!   thread-local pointer names that loop and its loop-local state ([`Driving`]). A job
//!   scheduled on that thread for that loop is pushed on the loop-local microtask queue, exactly
//!   where `queueMicrotask` would put it, so reaction order is the JS order. From any other
//!   thread (or the loop's thread while it is not driving it) a job travels through the remote
//!   microtask ring like any remote microtask (same admission, same wake protocol); it runs in
//!   FIFO order with the sender's other microtasks. The checkpoint moves every ready item of
//!   the ring behind its local queue at once, so a job that such a job schedules runs after the
//!   rest of that batch (JS order for `p.then(a); p.then(b)` registered before `run`, `a`
//!   registering `c`: `a b c`). One order this does not give: between runs, on the owning
//!   thread, `EventLoop::queue_microtask` goes to the local queue while a promise job goes to
//!   the ring, so such a microtask runs before a promise job scheduled before it. A terminated
//!   loop refuses jobs: the promise layer drops them, and their reactions' derived promises
//!   reject as abandoned.
//! - **Ordered jobs** (`Scheduler::schedule_ordered`: a reaction registered on a settled
//!   promise). On the driving thread, every remote microtask published before the call is first
//!   moved to the local queue (waiting out a producer's claimed, unpublished head slot), so the
//!   job runs after the jobs of the reactions registered before it even when the settler sent
//!   them through the ring (proofs/promise.md, P3).
//! - **Unhandled rejections.** A notice (tracked rejection, or "handled later") is queued on
//!   the loop-local list, directly on the driving thread or as a remote microtask from others.
//!   At the end of every checkpoint the loop takes the list: a tracked rejection whose
//!   `try_report` succeeds (no reaction was registered meanwhile) is reported once as
//!   [`RejectionKind::Unhandled`]; "handled later" notices are reported as they are, before
//!   the unhandled ones of the same round (Node's order). The hook runs guarded; microtasks it
//!   queues run in the same checkpoint, and the notices they cause in a round after them.
//! - The thread-local pointer is set only for the duration of `drive` (which holds the loop
//!   borrowed, so it does not move) and restored when `drive` returns, also by unwinding.
//! - **The loop's promises** (`crate::registry`, proofs/registry.md). Every promise created
//!   through the loop's API (`promise` on [`EventLoop`], [`Cx`] and [`Handle`], `promisify`,
//!   and the results of the combinator methods `all`, `race`, `all_settled`, `any`) is
//!   registered, weakly: on the loop thread (driving it, or through the
//!   `EventLoop`) by a push onto the loop-local registry; anywhere else through `Shared::inbox`
//!   (a short lock), whose entries the loop moves into its registry at the end of every tick.
//!   At the end of every tick the loop also scavenges a batch of the registry (settled and dead
//!   entries go; memory comes back when few are live). When the loop terminates, `finish`
//!   — after the drain and after the Terminated transition — closes the inbox and the
//!   registry and rejects every promise still pending with [`Failure::Terminated`]: the
//!   scheduler refuses their reactions' jobs (dropped: derived promises reject as abandoned,
//!   waiters wake). A promise created after that is rejected at once; `promisify` then runs
//!   nothing. Promises derived with `then`/`catch`/`finally` are not registered: they settle
//!   through their source (or reject as abandoned when its reactions are dropped).
//! - While the registry is borrowed (a probe or a rejection ran a destructor that creates a
//!   promise), the loop thread registers through the inbox instead; after termination both
//!   refuse, and the promise is rejected at once.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::cell::Cell;
use core::ptr;
use std::panic::{AssertUnwindSafe, catch_unwind};

use super::config::{RejectionEvent, RejectionKind};
use super::handle::{Counters, Remote, Shared};
use super::{CallbackKind, Cx, EventLoop, Handle, Local, Microtask};
use crate::promise::{
    self, AggregateError, Failure, Job, Promise, Reason, Resolver, Scheduler, TrackedRejection,
    Value,
};
use crate::registry::SCAVENGE_BATCH;
use crate::state::LoopState;
use crate::sync::{Arc, DynArc, spawn_worker, thread_local};

/// An unhandled-rejection notice waiting for the end of the checkpoint.
pub(super) struct Notice {
    kind: RejectionKind,
    rejection: TrackedRejection,
}

/// What the thread-local names while a thread drives a loop: the loop's `Shared` (to compare
/// with), and the `EventLoop`'s own `Arc<Shared>` field and `Local` (to build a [`Cx`]).
type DrivingPtrs = (*const Shared, *const Arc<Shared>, *const Local);

const NOT_DRIVING: DrivingPtrs = (ptr::null(), ptr::null(), ptr::null());

#[cfg(not(any(loom, feature = "shuttle")))]
thread_local! {
    /// The loop this thread is driving, if any.
    static DRIVING: Cell<DrivingPtrs> = const { Cell::new(NOT_DRIVING) };
}

// The checkers' thread-locals take no `const` initializer.
#[cfg(any(loom, feature = "shuttle"))]
thread_local! {
    static DRIVING: Cell<DrivingPtrs> = Cell::new(NOT_DRIVING);
}

/// Marks the current thread as driving a loop until dropped (restoring what was there: a loop
/// may be driven from inside another loop's callback).
pub(super) struct Driving {
    previous: DrivingPtrs,
}

impl Driving {
    pub(super) fn enter(shared: &Arc<Shared>, local: &Local) -> Self {
        let current = (
            Arc::as_ptr(shared),
            ptr::from_ref(shared),
            ptr::from_ref(local),
        );
        Self {
            previous: DRIVING.with(|driving| driving.replace(current)),
        }
    }
}

impl Drop for Driving {
    fn drop(&mut self) {
        DRIVING.with(|driving| driving.set(self.previous));
    }
}

/// Whether this thread is marked as driving some loop (tests: the mark must not outlive `run`).
#[cfg(all(test, not(loom), not(feature = "shuttle")))]
pub(super) fn driving_any_loop() -> bool {
    DRIVING.with(Cell::get) != NOT_DRIVING
}

/// Runs `f` with the loop-thread view of `shared`'s loop if this thread is driving it.
fn with_driving<R>(shared: &Shared, f: impl FnOnce(Option<Cx<'_>>) -> R) -> R {
    let (driving, arc, local) = DRIVING.with(Cell::get);
    if ptr::eq(driving, shared) {
        // Both pointers were set by `Driving::enter` from references into the `EventLoop`
        // that `drive` keeps borrowed (so alive and unmoved) until the guard restores the
        // previous value; the guard lives on this thread's stack, and the thread-local is per
        // thread, so the borrow is live now. Both are only used through shared references
        // (`Local` through its `RefCell`s and `Cell`s), as `drive` uses them.
        // SAFETY: the loop's `Arc<Shared>` field, alive and unmoved (above).
        let shared = unsafe { &*arc };
        // SAFETY: the loop's `Local`, alive and unmoved (above).
        let local = unsafe { &*local };
        let cx = Cx { shared, local };
        f(Some(cx))
    } else {
        f(None)
    }
}

impl Shared {
    /// Schedules `job` (module docs: local queue when driving on this thread, else the ring).
    /// `ordered`: on the driving thread, first move every remote microtask published before
    /// this call to the local queue (`Scheduler::schedule_ordered`).
    fn schedule(&self, job: Job, ordered: bool) -> Result<(), Job> {
        let mut job = Some(job);
        let local_result = with_driving(self, |cx| {
            let cx = cx?;
            let job = job.take().expect("taken once");
            if self.state.load() == LoopState::Terminated {
                return Some(Err(job));
            }
            if ordered {
                cx.absorb_remote_microtasks_in_order();
            }
            cx.local
                .microtasks
                .borrow_mut()
                .push_back(Microtask::Job(job));
            Some(Ok(()))
        });
        if let Some(result) = local_result {
            return result;
        }
        let job = job.expect("not taken off the loop thread");
        self.admit(&self.microtasks, Remote::Job(job))
            .map_err(|refused| match refused {
                Remote::Job(job) => job,
                Remote::Microtask(_) | Remote::Timer(_) => unreachable!("a job was refused"),
            })
    }

    /// Queues an unhandled-rejection notice for the end of a checkpoint (module docs). Dropped
    /// if the loop has terminated: nobody is left to report to.
    fn notify(&self, notice: Notice) {
        let mut notice = Some(notice);
        let queued = with_driving(self, |cx| {
            let cx = cx?;
            let notice = notice.take().expect("taken once");
            cx.local.rejections.borrow_mut().push(notice);
            Some(())
        });
        if queued.is_none() {
            let notice = notice.expect("not taken off the loop thread");
            let deliver: super::SendTask =
                Box::new(move |cx: &Cx<'_>| cx.local.rejections.borrow_mut().push(notice));
            drop(self.admit(&self.microtasks, Remote::Microtask(deliver)));
        }
    }
}

/// The loop as a promise scheduler. In production builds `Shared` lives in an `alloc` `Arc`,
/// which is the scheduler handle itself (no allocation per promise); under the checkers the
/// facade's `Arc` is theirs, and a small wrapper is allocated instead (see [`scheduler_of`]).
impl Scheduler for Shared {
    fn schedule(&self, job: Job) -> Result<(), Job> {
        Shared::schedule(self, job, false)
    }

    fn schedule_ordered(&self, job: Job) -> Result<(), Job> {
        Shared::schedule(self, job, true)
    }

    fn track_rejection(&self, rejection: TrackedRejection) {
        self.notify(Notice {
            kind: RejectionKind::Unhandled,
            rejection,
        });
    }

    fn handled_later(&self, rejection: TrackedRejection) {
        self.notify(Notice {
            kind: RejectionKind::HandledLater,
            rejection,
        });
    }

    /// The loop's own thread, until the loop has terminated (then a waiter needs only the
    /// resolver, which settles the promise directly).
    fn is_current_thread(&self) -> bool {
        self.parker.is_current() && self.state.load() != LoopState::Terminated
    }
}

/// The scheduler handle of a loop.
#[cfg(not(any(loom, feature = "shuttle")))]
fn scheduler_of(shared: &Arc<Shared>) -> DynArc<dyn Scheduler> {
    // The facade's `Arc` is `alloc`'s here: the handle is the loop's own `Arc`.
    let shared: Arc<Shared> = Arc::clone(shared);
    shared
}

/// Under loom or shuttle the loop's `Arc` is the checker's, which cannot be unsized: wrap it.
#[cfg(any(loom, feature = "shuttle"))]
fn scheduler_of(shared: &Arc<Shared>) -> DynArc<dyn Scheduler> {
    struct Checked(Arc<Shared>);
    impl Scheduler for Checked {
        fn schedule(&self, job: Job) -> Result<(), Job> {
            Shared::schedule(&self.0, job, false)
        }
        fn schedule_ordered(&self, job: Job) -> Result<(), Job> {
            Shared::schedule(&self.0, job, true)
        }
        fn track_rejection(&self, rejection: TrackedRejection) {
            self.0.track_rejection(rejection);
        }
        fn handled_later(&self, rejection: TrackedRejection) {
            self.0.handled_later(rejection);
        }
        fn is_current_thread(&self) -> bool {
            self.0.is_current_thread()
        }
    }
    DynArc::new(Checked(Arc::clone(shared)))
}

impl Cx<'_> {
    /// The end-of-checkpoint step: reports the notices received since the last one. Returns
    /// whether there were any (the hook may have queued microtasks).
    pub(super) fn report_rejections(&self) -> bool {
        let mut notices = core::mem::take(&mut *self.local.rejections.borrow_mut());
        if notices.is_empty() {
            return false;
        }
        // "Handled later" first, then the new unhandled ones, each in arrival order (a stable
        // sort): Node's order (`processPromiseRejections` emits every `rejectionHandled`
        // before any `unhandledRejection`; conformance scenario 62). A "handled later" notice
        // always answers a report of an earlier round, so no report moves behind its answer.
        notices.sort_by_key(|notice| notice.kind != RejectionKind::HandledLater);
        for Notice { kind, rejection } in notices {
            let report = match kind {
                RejectionKind::Unhandled => rejection.try_report(),
                RejectionKind::HandledLater => true,
            };
            if !report {
                continue;
            }
            let counter = match kind {
                RejectionKind::Unhandled => &self.shared.counters.rejections_unhandled,
                RejectionKind::HandledLater => &self.shared.counters.rejections_handled_later,
            };
            Counters::add(counter, 1);
            let event = RejectionEvent {
                kind,
                id: rejection.id(),
                reason: rejection.reason(),
            };
            // Taken out while it runs, like the panic hook (re-entry cannot hit a held borrow).
            let hook = self.local.rejection_hook.borrow_mut().take();
            match hook {
                Some(mut hook) => {
                    self.guarded(CallbackKind::RejectionHook, || hook(&event));
                    *self.local.rejection_hook.borrow_mut() = Some(hook);
                }
                None if kind == RejectionKind::Unhandled => {
                    std::eprintln!("eventloop: unhandled promise rejection: {:?}", event.reason);
                }
                None => {}
            }
        }
        true
    }

    /// A pending promise whose reactions run on this loop (see [`Handle::promise`]).
    pub fn promise<T: Value, E: Reason>(&self) -> (Promise<T, E>, Resolver<T, E>) {
        own(
            self.shared,
            Some(self.local),
            Promise::new(scheduler_of(self.shared)),
        )
    }
}

/// The combinators as methods of [`Handle`] and [`Cx`]: [`promise::all`] and the rest with the
/// loop as the result's scheduler; the loop owns the result (module docs: rejected with
/// [`Failure::Terminated`] if still pending when the loop terminates).
macro_rules! combinator_methods {
    () => {
        /// JS `Promise.all` on this loop: see [`promise::all`].
        pub fn all<T: Value, E: Reason>(
            &self,
            inputs: impl IntoIterator<Item = Promise<T, E>>,
        ) -> Promise<Vec<T>, E> {
            own_result(
                &self.shared,
                promise::all(scheduler_of(&self.shared), inputs),
            )
        }

        /// JS `Promise.race` on this loop: see [`promise::race`] (no inputs: never settles).
        pub fn race<T: Value, E: Reason>(
            &self,
            inputs: impl IntoIterator<Item = Promise<T, E>>,
        ) -> Promise<T, E> {
            own_result(
                &self.shared,
                promise::race(scheduler_of(&self.shared), inputs),
            )
        }

        /// JS `Promise.allSettled` on this loop: see [`promise::all_settled`].
        pub fn all_settled<T: Value, E: Reason>(
            &self,
            inputs: impl IntoIterator<Item = Promise<T, E>>,
        ) -> Promise<Vec<Result<T, E>>, E> {
            own_result(
                &self.shared,
                promise::all_settled(scheduler_of(&self.shared), inputs),
            )
        }

        /// JS `Promise.any` on this loop: see [`promise::any`].
        pub fn any<T: Value, E: Reason>(
            &self,
            inputs: impl IntoIterator<Item = Promise<T, E>>,
        ) -> Promise<T, AggregateError<E>> {
            own_result(
                &self.shared,
                promise::any(scheduler_of(&self.shared), inputs),
            )
        }
    };
}

impl Cx<'_> {
    combinator_methods!();
}

impl Handle {
    combinator_methods!();
}

impl EventLoop {
    /// A pending promise whose reactions run on this loop (see [`Handle::promise`]).
    pub fn promise<T: Value, E: Reason>(&self) -> (Promise<T, E>, Resolver<T, E>) {
        own(
            &self.shared,
            Some(&self.local),
            Promise::new(scheduler_of(&self.shared)),
        )
    }

    /// The end of every tick: moves the inbox's registrations into the registry and scavenges
    /// a batch of it (module docs). Runs no user code, except a promise's destructor when a
    /// probe happens to drop its last reference: guarded like any destructor.
    pub(super) fn scavenge_registry(&self) {
        let incoming = self.shared.inbox.take();
        let cx = self.cx();
        cx.guarded(CallbackKind::Destructor, || {
            let mut registry = self.local.registry.borrow_mut();
            if !incoming.is_empty() {
                let refused = registry.absorb(incoming).err();
                drop(registry);
                // Closed only by `finish`, which no tick follows; handled all the same.
                if let Some(refused) = refused {
                    reject_at_once(&self.shared, refused.iter().map(|e| e.reject_terminated()));
                }
                registry = self.local.registry.borrow_mut();
            }
            registry.scavenge(SCAVENGE_BATCH);
        });
    }

    /// The registry's reject-all, run by `finish` after the Terminated transition (module docs):
    /// closes the inbox and the registry and rejects every promise still pending with
    /// [`Failure::Terminated`]. Each rejection runs destructors (refused reactions), guarded.
    pub(super) fn reject_registered(&self) {
        let mut entries = self.shared.inbox.close();
        entries.append(&mut self.local.registry.borrow_mut().close());
        let cx = self.cx();
        let mut rejected = 0;
        for entry in entries {
            cx.guarded(CallbackKind::Destructor, || {
                let entry = entry;
                if entry.reject_terminated() {
                    rejected += 1;
                }
            });
        }
        Counters::add(&self.shared.counters.promises_terminated, rejected);
    }
}

/// Registers a new promise of `shared`'s loop (module docs): on the loop-local registry when
/// `local` is given and not borrowed, else through the inbox; rejected at once with
/// [`Failure::Terminated`] if the loop has closed its registry (it terminated).
fn own<T: Value, E: Reason>(
    shared: &Shared,
    local: Option<&Local>,
    pair: (Promise<T, E>, Resolver<T, E>),
) -> (Promise<T, E>, Resolver<T, E>) {
    register(shared, local, pair.1.downgrade());
    pair
}

/// A combinator's result on this loop: owned like a `promise()` (an empty `race`, or one over
/// promises nobody settles, would otherwise keep its waiters forever).
fn own_result<T: Value, E: Reason>(shared: &Shared, result: Promise<T, E>) -> Promise<T, E> {
    if result.is_pending() {
        with_driving(shared, |cx| {
            register(shared, cx.map(|cx| cx.local), result.registration());
        });
    }
    result
}

/// Registers `entry` on the loop-local registry when `local` is given and not borrowed, else
/// through the inbox; rejects it at once if the loop has closed them (it terminated).
fn register(shared: &Shared, local: Option<&Local>, entry: crate::promise::WeakPromise) {
    match local.and_then(|local| local.registry.try_borrow_mut().ok()) {
        Some(mut registry) => {
            let refused = registry.register(entry).err();
            drop(registry);
            if let Some(entry) = refused {
                reject_at_once(shared, [entry.reject_terminated()]);
            }
        }
        None => Counters::add(
            &shared.counters.promises_terminated,
            shared.inbox.register(entry),
        ),
    }
}

/// Counts the promises a closed registry made us reject at once.
fn reject_at_once(shared: &Shared, rejections: impl IntoIterator<Item = bool>) {
    let rejected = rejections.into_iter().filter(|won| *won).count();
    Counters::add(&shared.counters.promises_terminated, rejected);
}

impl Handle {
    /// This loop as a promise [`Scheduler`], for [`Promise`]'s constructors.
    pub fn scheduler(&self) -> DynArc<dyn Scheduler> {
        scheduler_of(&self.shared)
    }

    /// A pending promise whose reactions run as microtasks on this loop, and its resolver
    /// (settle it from any thread).
    ///
    /// The loop owns it (module docs): if it is still pending when the loop terminates (after
    /// the graceful drain), it is rejected with [`Failure::Terminated`], so nothing waits on it
    /// forever; created after that, it is rejected at once.
    pub fn promise<T: Value, E: Reason>(&self) -> (Promise<T, E>, Resolver<T, E>) {
        with_driving(&self.shared, |cx| {
            own(
                &self.shared,
                cx.map(|cx| cx.local),
                Promise::new(scheduler_of(&self.shared)),
            )
        })
    }

    /// Runs `work` on a new worker thread and returns a promise of its result, whose reactions
    /// run on this loop (the Go original's `Promisify`). The promise always settles: with the
    /// result, with [`Failure::Panicked`] if `work` panics, with [`Failure::Abandoned`] if no
    /// thread could be started, with [`Failure::Terminated`] if the loop terminates before
    /// `work` returns (the loop owns the promise, see [`Handle::promise`]; the worker's result
    /// is then dropped). After the loop has terminated, the promise is rejected with
    /// [`Failure::Terminated`] at once and `work` is dropped unrun.
    pub fn promisify<T, E, F>(&self, work: F) -> Promise<T, E>
    where
        T: Value,
        E: Reason,
        F: FnOnce() -> Result<T, E> + Send + 'static,
    {
        let (promise, resolver) = self.promise();
        if !promise.is_pending() {
            return promise; // rejected at once: the loop has terminated
        }
        // A failed spawn drops the closure, and with it the resolver: the promise rejects as
        // abandoned.
        let _ = spawn_worker(move || {
            let outcome = catch_unwind(AssertUnwindSafe(work))
                .unwrap_or_else(|payload| Err(E::from(Failure::from_panic(&*payload))));
            let _ = resolver.settle(outcome);
        });
        promise
    }
}
