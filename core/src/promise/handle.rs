//! [`Promise`] handles and their [`Resolver`]: reactions (`then`, `catch`, `finally`) run as
//! microtasks through the promise's [`Scheduler`], adoption with the JS microtask hops, and the
//! bookkeeping for unhandled-rejection tracking.
//!
//! # Ground rules
//!
//! - A promise is an `Arc` of shared state: its [`SettleCell`], its scheduler, and a tracking
//!   word. Handles are cheap to clone and usable from any thread; so is the resolver (which is
//!   not `Clone`: settling consumes it, and dropping it unused rejects the promise with
//!   [`Failure::Abandoned`], so no reaction waits forever on a resolver that is gone).
//! - User code (reaction callbacks) runs only inside jobs the scheduler runs. Settling and
//!   registering run none: the settler schedules one job per batch of reactions it takes from
//!   the cell (they were consecutive in registration order, so one job running them in order is
//!   the JS job queue exactly: nothing can be queued between them), and a registration on a
//!   settled promise schedules one job for its reaction.
//! - A job the scheduler refuses (its loop terminated) is dropped after the settlement returns,
//!   never inside the cell's protocol, and without recursion (`discard_refused`): its drop
//!   drops reactions, whose resolvers settle their derived promises, whose jobs are refused in
//!   turn — a cascade as deep as the promise chain, which runs as a loop instead.
//! - **Tracking word** (`tracking`): `HANDLED` is set (once, by an RMW) by the first reaction
//!   registered, `REPORTED` by the scheduler's `try_report` (a CAS from 0). Both are RMWs on one
//!   word, so they are totally ordered: either the handler came first (no report), or the report
//!   did and the handler's RMW sees it and sends "handled later". A rejection of a promise whose
//!   word shows no handler is sent to the scheduler for tracking.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;
use core::marker::PhantomData;

use super::cell::{Reaction, Reactions, SettleCell};
use super::job::JobVtableRef;
use super::outcome::{Failure, IntoPromise, Resolution};
use super::scheduler::{Job, RejectionEntry, Scheduler, TrackedRejection, discard_refused};
use crate::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use crate::sync::{Arc, DynArc};

/// What a promise value must be: shared by every reaction (each gets `&T`; passing it on to a
/// derived promise clones it) and movable to the loop thread.
pub trait Value: Clone + Send + Sync + 'static {}
impl<T: Clone + Send + Sync + 'static> Value for T {}

/// What a promise rejection reason must be: a [`Value`] that can also carry the promise layer's
/// own [`Failure`]s, and that the unhandled-rejection hook can print.
pub trait Reason: Value + From<Failure> + fmt::Debug {}
impl<E: Value + From<Failure> + fmt::Debug> Reason for E {}

/// `tracking` bit: a reaction was registered.
const HANDLED: usize = 0b01;
/// `tracking` bit: the rejection was reported unhandled.
const REPORTED: usize = 0b10;

/// The shared state of one promise.
pub(super) struct Inner<T, E> {
    pub(super) cell: SettleCell<Result<T, E>>,
    pub(super) scheduler: DynArc<dyn Scheduler>,
    tracking: AtomicUsize,
}

/// A promise of a `Result<T, E>`, settled once by its [`Resolver`] from any thread; see the
/// module docs of [`promise`](super).
pub struct Promise<T, E> {
    pub(super) inner: Arc<Inner<T, E>>,
}

/// The settling half of a [`Promise`]: `Send`, consumed by settling; dropped unused, it rejects
/// the promise with [`Failure::Abandoned`].
pub struct Resolver<T: Value, E: Reason> {
    pub(super) inner: Option<Arc<Inner<T, E>>>,
}

impl<T, E> Clone for Promise<T, E> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T, E> Inner<T, E> {
    fn new(scheduler: DynArc<dyn Scheduler>, cell: SettleCell<Result<T, E>>) -> Self {
        Self {
            cell,
            scheduler,
            tracking: AtomicUsize::new(0),
        }
    }
}

impl<T: Value, E: Reason> Inner<T, E> {
    /// Settles the cell (first settler wins), schedules the reactions it took, and tracks an
    /// unhandled rejection. Refused jobs are dropped only after the cell's protocol is done.
    pub(super) fn settle(this: &Arc<Self>, outcome: Result<T, E>) -> Result<(), Result<T, E>> {
        let rejected = outcome.is_err();
        let mut refused: Vec<Job> = Vec::new();
        this.cell.settle(outcome, |reactions| {
            if let Err(job) = this.scheduler.schedule(Self::batch_job(this, reactions)) {
                refused.push(job);
            }
        })?;
        // Relaxed: pairs with nothing; a hint only. A handler registered after this load is seen by
        // `try_report`'s RMW on the same word (module docs), so a stale `0` costs a tracked entry,
        // never a false report.
        if rejected && this.tracking.load(Relaxed) & HANDLED == 0 {
            this.scheduler.track_rejection(Self::tracked(this));
        }
        refused.into_iter().for_each(discard_refused);
        Ok(())
    }

    /// The job that runs one batch of reactions, in order, with the (published) outcome: the
    /// promise's `Arc` and the list, as raw pointers (no allocation).
    fn batch_job(this: &Arc<Self>, reactions: Reactions<Result<T, E>>) -> Job {
        let source = Arc::into_raw(Arc::clone(this)).cast_mut().cast::<()>();
        // SAFETY: `BatchJob::<T, E>::VTABLE` turns the pointers back into exactly these types
        // (an `Arc<Inner<T, E>>` and a `Reactions<Result<T, E>>`), once; both are `Send`.
        unsafe { Job::from_raw(source, reactions.into_raw(), &BatchJob::<T, E>::VTABLE) }
    }

    /// Registers `reaction`: the settler will schedule it, or, if the promise is settled, it is
    /// scheduled now as a job of its own. Marks the promise handled first.
    pub(super) fn subscribe(this: &Arc<Self>, reaction: Reaction<Result<T, E>>) {
        Self::mark_handled(this);
        if let Err(reaction) = this.cell.register(reaction) {
            let job = Self::batch_job(this, Reactions::single(reaction));
            // Ordered: the reactions registered before this one were handed to the settler,
            // which may have scheduled their job from another thread (P3). A refused job is
            // dropped here, without recursion: nothing of the cell's protocol is in progress.
            if let Err(job) = this.scheduler.schedule_ordered(job) {
                discard_refused(job);
            }
        }
    }

    fn mark_handled(this: &Arc<Self>) {
        // Relaxed fast path (pairs with nothing): once HANDLED is set, whoever set it dealt with
        // REPORTED.
        if this.tracking.load(Relaxed) & HANDLED != 0 {
            return;
        }
        // Was AcqRel; weakened after `make orderings` (proofs/orderings.md). What matters is
        // that this is an RMW, in the word's one modification order with `try_report`'s CAS.
        // Relaxed: pairs with nothing, nothing is published through the word (promise.md P4).
        let previous = this.tracking.fetch_or(HANDLED, Relaxed);
        if previous == REPORTED {
            this.scheduler.handled_later(Self::tracked(this));
        }
    }

    fn tracked(this: &Arc<Self>) -> TrackedRejection {
        TrackedRejection {
            entry: Box::new(Tracked(Arc::clone(this))),
        }
    }
}

/// The job table of a reaction batch of `Promise<T, E>` (see [`Inner::batch_job`]).
struct BatchJob<T, E>(PhantomData<(T, E)>);

impl<T: Value, E: Reason> BatchJob<T, E> {
    const VTABLE: JobVtableRef = JobVtableRef::new(Self::run, Self::discard);

    /// # Safety
    /// `source` and `reactions` come from `Inner::batch_job` for this `T, E`, and are given up.
    unsafe fn run(source: *mut (), reactions: *mut ()) {
        // SAFETY: see the function's contract.
        let source = unsafe { Arc::from_raw(source.cast_const().cast::<Inner<T, E>>()) };
        // SAFETY: as above.
        let reactions = unsafe { Reactions::<Result<T, E>>::from_raw(reactions) };
        let outcome = source
            .cell
            .outcome()
            .expect("reactions run after publication");
        reactions.run_all(outcome);
    }

    /// # Safety
    /// As `run`.
    unsafe fn discard(source: *mut (), reactions: *mut ()) {
        // SAFETY: see the function's contract. The reactions go first: they may refer to the
        // outcome only while running, never while dropped, but keep the source alive anyway.
        drop(unsafe { Reactions::<Result<T, E>>::from_raw(reactions) });
        // SAFETY: as above.
        drop(unsafe { Arc::from_raw(source.cast_const().cast::<Inner<T, E>>()) });
    }
}

/// A rejected promise as the tracking machinery sees it.
struct Tracked<T, E>(Arc<Inner<T, E>>);

impl<T: Value, E: Reason> RejectionEntry for Tracked<T, E> {
    fn id(&self) -> usize {
        Arc::as_ptr(&self.0).addr()
    }

    fn reason(&self) -> &dyn fmt::Debug {
        match self.0.cell.outcome() {
            Some(Err(reason)) => reason,
            _ => unreachable!("only rejected promises are tracked"),
        }
    }

    fn try_report(&self) -> bool {
        // Relaxed: an RMW in one modification order with `mark_handled`'s `fetch_or` (module
        // docs); coherence decides who came first, nothing is published (promise.md P4). Fails
        // if a handler came first or the rejection was reported already.
        self.0
            .tracking
            .compare_exchange(0, REPORTED, Relaxed, Relaxed) // pairs with nothing (above)
            .is_ok()
    }
}

impl<T: Value, E: Reason> Promise<T, E> {
    /// A pending promise and its resolver; reactions run through `scheduler`.
    pub fn new(scheduler: DynArc<dyn Scheduler>) -> (Self, Resolver<T, E>) {
        let inner = Arc::new(Inner::new(scheduler, SettleCell::new()));
        let resolver = Resolver {
            inner: Some(Arc::clone(&inner)),
        };
        (Self::from_inner(inner), resolver)
    }

    /// A promise fulfilled from the start (JS `Promise.resolve(value)`).
    pub fn fulfilled(scheduler: DynArc<dyn Scheduler>, value: T) -> Self {
        let inner = Arc::new(Inner::new(scheduler, SettleCell::settled(Ok(value))));
        Self::from_inner(inner)
    }

    /// A promise rejected from the start (JS `Promise.reject(reason)`): tracked like any
    /// rejection, so it is reported unhandled if no reaction is registered in this checkpoint.
    pub fn rejected(scheduler: DynArc<dyn Scheduler>, reason: E) -> Self {
        let inner = Arc::new(Inner::new(scheduler, SettleCell::settled(Err(reason))));
        inner.scheduler.track_rejection(Inner::tracked(&inner));
        Self::from_inner(inner)
    }

    /// A promise that never settles: no resolver exists for it (JS `Promise.race([])`).
    pub(super) fn never(scheduler: DynArc<dyn Scheduler>) -> Self {
        Self::from_inner(Arc::new(Inner::new(scheduler, SettleCell::new())))
    }

    fn from_inner(inner: Arc<Inner<T, E>>) -> Self {
        Self { inner }
    }

    /// The outcome, once settled.
    pub fn outcome(&self) -> Option<&Result<T, E>> {
        self.inner.cell.outcome()
    }

    /// Whether the promise is still pending (a racy snapshot unless settled).
    pub fn is_pending(&self) -> bool {
        self.outcome().is_none()
    }

    /// Whether two handles are the same promise.
    pub fn ptr_eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// An identifier of this promise, unique among live promises (its address): the one that
    /// the unhandled-rejection notices about it carry ([`TrackedRejection::id`], and the
    /// driver's `RejectionEvent::id`), so a host can tell which promise a report is about.
    pub fn id(&self) -> usize {
        Arc::as_ptr(&self.inner).addr()
    }

    /// The scheduler this promise's reactions run on (derived promises share it).
    pub fn scheduler(&self) -> &DynArc<dyn Scheduler> {
        &self.inner.scheduler
    }

    /// The general reaction: `reaction` runs once, as a microtask, with the outcome, and
    /// settles (or makes adopt) the derived promise. A panic in it rejects the derived promise
    /// with [`Failure::Panicked`] (feature `std`; without `std` a panic is not caught).
    pub fn react<U, E2, F>(&self, reaction: F) -> Promise<U, E2>
    where
        U: Value,
        E2: Reason,
        F: FnOnce(&Result<T, E>) -> Resolution<U, E2> + Send + 'static,
    {
        let (derived, resolver) = Promise::new(DynArc::clone(&self.inner.scheduler));
        Inner::subscribe(
            &self.inner,
            Reaction::new(move |outcome: &Result<T, E>| {
                resolver.resolve_with(contain_panic(|| reaction(outcome)));
            }),
        );
        derived
    }

    /// JS `then(onFulfilled)`: `on_fulfilled` runs with the value; a rejection passes through.
    /// The callback returns a `Result` (settle) or a [`Promise`] (adopt).
    pub fn then<F, R>(&self, on_fulfilled: F) -> Promise<R::Output, E>
    where
        F: FnOnce(&T) -> R + Send + 'static,
        R: IntoPromise<E>,
        R::Output: Value,
    {
        self.react(move |outcome| match outcome {
            Ok(value) => on_fulfilled(value).into_resolution(),
            Err(reason) => Resolution::Settle(Err(reason.clone())),
        })
    }

    /// JS `then(onFulfilled, onRejected)`: exactly one of the callbacks runs.
    pub fn then_or_else<F, G, R, S>(&self, on_fulfilled: F, on_rejected: G) -> Promise<R::Output, E>
    where
        F: FnOnce(&T) -> R + Send + 'static,
        G: FnOnce(&E) -> S + Send + 'static,
        R: IntoPromise<E>,
        S: IntoPromise<E, Output = R::Output>,
        R::Output: Value,
    {
        self.react(move |outcome| match outcome {
            Ok(value) => on_fulfilled(value).into_resolution(),
            Err(reason) => on_rejected(reason).into_resolution(),
        })
    }

    /// JS `catch(onRejected)`: `on_rejected` runs with the reason; a value passes through.
    pub fn catch<G, S>(&self, on_rejected: G) -> Promise<T, E>
    where
        G: FnOnce(&E) -> S + Send + 'static,
        S: IntoPromise<E, Output = T>,
    {
        self.react(move |outcome| match outcome {
            Ok(value) => Resolution::Settle(Ok(value.clone())),
            Err(reason) => on_rejected(reason).into_resolution(),
        })
    }

    /// JS `finally(onFinally)`: the callback runs on either outcome; the derived promise takes
    /// the original outcome once the callback's result (a `Result`, or a promise it waits for)
    /// is fulfilled, or the callback's failure if it fails. The microtask hops are the
    /// specification's (`then(thenFinally, catchFinally)`, each returning
    /// `PromiseResolve(result).then(() => outcome)`).
    pub fn finally<F, R>(&self, on_finally: F) -> Promise<T, E>
    where
        F: FnOnce() -> R + Send + 'static,
        R: IntoPromise<E>,
        R::Output: Value,
    {
        let scheduler = DynArc::clone(&self.inner.scheduler);
        self.react(move |outcome| {
            let after = match on_finally().into_resolution() {
                // The callback "threw": the derived promise rejects with that, at once.
                Resolution::Settle(Err(reason)) => return Resolution::Settle(Err(reason)),
                Resolution::Settle(Ok(value)) => Promise::fulfilled(scheduler, value),
                Resolution::Adopt(promise) => promise,
            };
            let original = outcome.clone();
            Resolution::Adopt(after.react(move |after| match after {
                Ok(_) => Resolution::Settle(original),
                Err(reason) => Resolution::Settle(Err(reason.clone())),
            }))
        })
    }
}

impl<T: Value, E: Reason> Resolver<T, E> {
    fn take(mut self) -> Arc<Inner<T, E>> {
        self.inner.take().expect("a resolver settles once")
    }

    /// Fulfils the promise. Returns the value back if the promise was already settled (only the
    /// loop's reject-all at shutdown can come first).
    pub fn resolve(self, value: T) -> Result<(), T> {
        self.settle(Ok(value)).map_err(|lost| match lost {
            Ok(value) => value,
            Err(_) => unreachable!("the outcome given back is ours"),
        })
    }

    /// Rejects the promise. Returns the reason back if it was already settled.
    pub fn reject(self, reason: E) -> Result<(), E> {
        self.settle(Err(reason)).map_err(|lost| match lost {
            Err(reason) => reason,
            Ok(_) => unreachable!("the outcome given back is ours"),
        })
    }

    /// Settles the promise with `outcome`. Returns it back if the promise was already settled.
    pub fn settle(self, outcome: Result<T, E>) -> Result<(), Result<T, E>> {
        Inner::settle(&self.take(), outcome)
    }

    /// Resolves the promise with another one (JS `resolve(thenable)`): it takes `other`'s
    /// outcome when that settles, two microtask hops later (a job that subscribes to `other`,
    /// then the reaction). Resolving a promise with itself rejects it with [`Failure::Cycle`].
    pub fn adopt(self, other: Promise<T, E>) {
        let inner = self.take();
        if Arc::ptr_eq(&inner, &other.inner) {
            let _ = Inner::settle(&inner, Err(E::from(Failure::Cycle)));
            return;
        }
        let scheduler = DynArc::clone(&inner.scheduler);
        // The resolver moves into the job (and then into the reaction): if either is dropped
        // unrun, its drop rejects the promise as abandoned.
        let resolver = Resolver { inner: Some(inner) };
        let job = Job::new(move || {
            Inner::subscribe(
                &other.inner,
                Reaction::new(move |outcome: &Result<T, E>| {
                    let _ = resolver.settle(outcome.clone());
                }),
            );
        });
        if let Err(job) = scheduler.schedule(job) {
            discard_refused(job);
        }
    }

    /// Settles or adopts, as a reaction's [`Resolution`] says.
    pub fn resolve_with(self, resolution: Resolution<T, E>) {
        match resolution {
            Resolution::Settle(outcome) => {
                let _ = self.settle(outcome);
            }
            Resolution::Adopt(other) => self.adopt(other),
        }
    }
}

impl<T: Value, E: Reason> Drop for Resolver<T, E> {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            let _ = Inner::settle(&inner, Err(E::from(Failure::Abandoned)));
        }
    }
}

/// Runs a reaction callback, turning a panic into a rejection (feature `std`).
#[cfg(feature = "std")]
fn contain_panic<U, E: From<Failure>>(
    callback: impl FnOnce() -> Resolution<U, E>,
) -> Resolution<U, E> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(callback)) {
        Ok(resolution) => resolution,
        Err(payload) => Resolution::Settle(Err(E::from(Failure::from_panic(&*payload)))),
    }
}

/// Without `std` a panic cannot be caught: it unwinds (or aborts) through the scheduler.
#[cfg(not(feature = "std"))]
fn contain_panic<U, E>(callback: impl FnOnce() -> Resolution<U, E>) -> Resolution<U, E> {
    callback()
}

impl<T, E> fmt::Debug for Promise<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.inner.cell.outcome() {
            None => "pending",
            Some(Ok(_)) => "fulfilled",
            Some(Err(_)) => "rejected",
        };
        f.debug_struct("Promise").field("state", &state).finish()
    }
}

impl<T: Value, E: Reason> fmt::Debug for Resolver<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolver").finish_non_exhaustive()
    }
}
