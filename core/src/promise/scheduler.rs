//! Where promise reactions run: the [`Scheduler`] a promise was created with, and the
//! unhandled-rejection notices it receives.
//!
//! # Ground rules
//!
//! - A promise never runs user code on the thread that settles it or registers a reaction: it
//!   hands a [`Job`] to its scheduler, which runs it later as a microtask, on the loop. Jobs from
//!   one thread must run in the order they were scheduled (FIFO), and a job scheduled from a job
//!   must run after every job already queued (the JS job queue).
//! - A job for a reaction registered on a settled promise goes through
//!   [`Scheduler::schedule_ordered`]: it must run after the jobs of the reactions registered
//!   before it, which the settler scheduled, possibly from another thread.
//! - A scheduler that cannot run a job any more (its loop terminated) hands it back; the promise
//!   layer then drops it. Dropping a job drops its reactions unrun, and a dropped reaction drops
//!   the resolver of its derived promise, which rejects that promise with
//!   [`Failure::Abandoned`](super::Failure::Abandoned): nothing waits forever on a reaction
//!   that will not run.
//! - Rejections are tracked for the unhandled-rejection hook: a promise rejected while it has no
//!   reaction is sent to [`Scheduler::track_rejection`]; the scheduler reports it (once) at the
//!   end of the checkpoint in which it received it, if no reaction was registered by then. A
//!   reaction registered after the report sends [`Scheduler::handled_later`].
//!
//! The driver's scheduler (feature `std`) queues jobs on the loop thread's own microtask queue
//! when the loop is running on the calling thread (so JS reaction order holds exactly), and
//! through the loop's remote microtask ring otherwise.

use alloc::boxed::Box;
use core::fmt;

pub use super::job::Job;

/// Runs promise jobs as microtasks and receives unhandled-rejection notices. The driver's
/// [`Handle`](crate::driver::Handle) provides one for its loop; a `no_std` host implements its
/// own. See the module docs for the contract.
pub trait Scheduler: Send + Sync + 'static {
    /// Queues `job` to run as a microtask, after every job already queued from this thread.
    ///
    /// # Errors
    /// The job back, unrun, if the scheduler will never run it (its loop terminated).
    fn schedule(&self, job: Job) -> Result<(), Job>;

    /// Queues `job` behind every job whose `schedule` (or `schedule_ordered`) call
    /// happens-before this call, from whichever thread it came, and behind every job already
    /// queued from this thread. The promise layer uses it for a reaction registered on a
    /// promise that is already settled: the reactions registered before it were handed to the
    /// settler, which may have scheduled their job from another thread (proofs/promise.md, P3).
    ///
    /// The default calls [`schedule`](Self::schedule), which is right for a scheduler with one
    /// FIFO queue whose order follows happens-before. A scheduler with a queue per thread of
    /// origin (the loop: its own queue and the remote ring) must override it.
    ///
    /// # Errors
    /// The job back, unrun, if the scheduler will never run it (its loop terminated).
    fn schedule_ordered(&self, job: Job) -> Result<(), Job> {
        self.schedule(job)
    }

    /// A promise was rejected with no reaction registered. The scheduler calls
    /// [`TrackedRejection::try_report`] at the end of the checkpoint in which this notice
    /// arrives, and reports the rejection if that returns `true`.
    fn track_rejection(&self, rejection: TrackedRejection);

    /// A reaction was registered on a promise whose rejection had been reported unhandled.
    fn handled_later(&self, rejection: TrackedRejection);

    /// Whether the calling thread is the one that runs this scheduler's jobs right now (a
    /// blocking wait there would wait for itself). The default says no.
    fn is_current_thread(&self) -> bool {
        false
    }
}

/// One rejected promise, as the unhandled-rejection machinery sees it (type-erased).
pub struct TrackedRejection {
    pub(super) entry: Box<dyn RejectionEntry>,
}

/// What a [`TrackedRejection`] needs of its promise (implemented by the promise's shared state).
pub(super) trait RejectionEntry: Send + Sync {
    fn id(&self) -> usize;
    fn reason(&self) -> &dyn fmt::Debug;
    fn try_report(&self) -> bool;
}

impl TrackedRejection {
    /// Marks the rejection reported, unless a reaction was registered since it was tracked (or
    /// it was reported already). Returns whether the caller should report it: `true` at most once
    /// per promise.
    pub fn try_report(&self) -> bool {
        self.entry.try_report()
    }

    /// An identifier of the promise, unique among live promises (its address): a "handled later"
    /// notice carries the same one as the report it answers.
    pub fn id(&self) -> usize {
        self.entry.id()
    }

    /// The rejection reason.
    pub fn reason(&self) -> &dyn fmt::Debug {
        self.entry.reason()
    }
}

impl fmt::Debug for TrackedRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrackedRejection")
            .field("id", &self.id())
            .field("reason", self.reason())
            .finish()
    }
}

/// Drops a job its scheduler refused, without recursion (with `std`).
///
/// A refused job's destructor drops its reactions; a dropped reaction drops the resolver of its
/// derived promise, which settles that promise ([`Failure::Abandoned`](super::Failure)), whose
/// own reactions' job is refused in turn: dropped in place, the cascade is as deep as the
/// promise chain (`p.then(..).then(..)…` a hundred thousand times overflows the stack when the
/// loop terminates under it). Here the outermost call on a thread drops jobs in a loop, and a
/// nested call (from inside one of those destructors) only queues its job for that loop.
/// Without `std` (no thread-locals) the job is dropped in place.
pub(super) fn discard_refused(job: Job) {
    #[cfg(feature = "std")]
    trampoline::discard(job);
    #[cfg(not(feature = "std"))]
    drop(job);
}

#[cfg(feature = "std")]
mod trampoline {
    use alloc::vec::Vec;
    use core::cell::RefCell;

    use super::Job;
    use crate::sync::thread_local;

    #[cfg(not(any(loom, feature = "shuttle")))]
    thread_local! {
        /// `Some` while this thread is inside the outermost `discard`: the jobs refused by
        /// destructors it runs wait here for its loop.
        static DEFERRED: RefCell<Option<Vec<Job>>> = const { RefCell::new(None) };
    }

    // The checkers' thread-locals take no `const` initializer.
    #[cfg(any(loom, feature = "shuttle"))]
    thread_local! {
        static DEFERRED: RefCell<Option<Vec<Job>>> = RefCell::new(None);
    }

    pub(super) fn discard(job: Job) {
        let outermost = DEFERRED.try_with(move |deferred| {
            let mut deferred = deferred.borrow_mut();
            match deferred.as_mut() {
                Some(queued) => {
                    queued.push(job); // the outer call drops it
                    None
                }
                None => {
                    *deferred = Some(Vec::new());
                    Some(job)
                }
            }
        });
        // `Err`: the thread-local is gone (thread exit); the closure, and the job in it, was
        // dropped in place.
        let Ok(Some(job)) = outermost else { return };
        let _leave = Leave;
        drop(job);
        while let Some(next) = DEFERRED.with(|deferred| deferred.borrow_mut().as_mut()?.pop()) {
            drop(next); // no borrow is held: its destructor may queue more
        }
    }

    /// Leaves the trampoline, also when a destructor panics: what is still queued is then
    /// dropped by this guard, after the thread-local is reset (so those drops start a fresh
    /// trampoline rather than hitting a held borrow).
    struct Leave;

    impl Drop for Leave {
        fn drop(&mut self) {
            let rest = DEFERRED.try_with(|deferred| deferred.borrow_mut().take());
            drop(rest);
        }
    }
}
