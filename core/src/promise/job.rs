//! [`Job`]: a promise microtask in three words, so that handing a batch of reactions to the loop
//! costs no allocation (the reaction nodes and the promise's `Arc` are already on the heap).
//!
//! # Ground rules
//!
//! - A job is a pair of pointers and a static table of two functions: `run` (consumes both
//!   pointers) and `discard` (frees them unrun). Exactly one of the two is called, once: `run`
//!   by [`Job::run`], `discard` by `Drop`.
//! - Two kinds are built here: a boxed closure ([`Job::new`]) and a reaction batch
//!   ([`Job::reactions`]: the source promise's `Arc`, turned into a raw pointer, and the head of
//!   the reaction list taken from its cell). The batch's table is monomorphized per promise
//!   type, so the pointers are always turned back into the types they came from.

use alloc::boxed::Box;
use core::fmt;
use core::marker::PhantomData;
use core::ptr;

/// The two operations of one kind of job.
struct JobVtable {
    /// Runs the job; takes over both pointers.
    run: unsafe fn(*mut (), *mut ()),
    /// Frees the job's resources without running it; takes over both pointers.
    discard: unsafe fn(*mut (), *mut ()),
}

/// A microtask the promise layer asks its scheduler to run (a batch of reactions, an adoption
/// step). It contains its own panics where they must reject a promise; anything else it lets
/// escape is the scheduler's to contain, like any microtask's. Dropping it unrun frees what it
/// holds (reactions are dropped unrun, which rejects their derived promises as abandoned).
pub struct Job {
    data: *mut (),
    extra: *mut (),
    vtable: &'static JobVtable,
    /// A job may hold any `Send` closure: it is `Send`, not `Sync`.
    _not_sync: PhantomData<core::cell::Cell<()>>,
}

// SAFETY: every constructor takes only `Send` contents (a `Send` closure; an `Arc` of a `Sync +
// Send` promise state and reaction nodes whose closures are `Send`), so moving the job to
// another thread moves only `Send` data.
unsafe impl Send for Job {}

/// The vtable of boxed closures of type `F`.
struct Boxed<F>(PhantomData<F>);

impl<F: FnOnce() + Send + 'static> Boxed<F> {
    const VTABLE: JobVtable = JobVtable {
        run: Self::run,
        discard: Self::discard,
    };

    /// # Safety
    /// `data` comes from `Box::into_raw(Box<F>)` in [`Job::new`] and is given up here.
    unsafe fn run(data: *mut (), _: *mut ()) {
        // SAFETY: see the function's contract.
        let closure = unsafe { Box::from_raw(data.cast::<F>()) };
        closure();
    }

    /// # Safety
    /// As `run`.
    unsafe fn discard(data: *mut (), _: *mut ()) {
        // SAFETY: see the function's contract.
        drop(unsafe { Box::from_raw(data.cast::<F>()) });
    }
}

impl Job {
    /// A job that runs `closure` (one allocation).
    pub fn new<F: FnOnce() + Send + 'static>(closure: F) -> Self {
        Self {
            data: Box::into_raw(Box::new(closure)).cast::<()>(),
            extra: ptr::null_mut(),
            vtable: &Boxed::<F>::VTABLE,
            _not_sync: PhantomData,
        }
    }

    /// A job from two raw pointers and the table of functions that take them over.
    ///
    /// # Safety
    /// `vtable`'s `run` and `discard` must each be sound to call once with `(data, extra)`,
    /// from any thread, and must take over (consume or free) whatever the pointers own, which
    /// must be `Send`.
    pub(super) unsafe fn from_raw(
        data: *mut (),
        extra: *mut (),
        vtable: &'static JobVtableRef,
    ) -> Self {
        Self {
            data,
            extra,
            vtable: &vtable.0,
            _not_sync: PhantomData,
        }
    }

    /// Runs the job (consuming it).
    pub fn run(self) {
        let (data, extra, run) = (self.data, self.extra, self.vtable.run);
        core::mem::forget(self);
        // SAFETY: the constructor's contract: `run` takes over both pointers, once (`self` is
        // forgotten, so `Drop` will not call `discard` too).
        unsafe { run(data, extra) }
    }
}

/// A job vtable built by the promise layer (see [`Job::from_raw`]).
pub(super) struct JobVtableRef(JobVtable);

impl JobVtableRef {
    pub(super) const fn new(
        run: unsafe fn(*mut (), *mut ()),
        discard: unsafe fn(*mut (), *mut ()),
    ) -> Self {
        Self(JobVtable { run, discard })
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        // SAFETY: an unrun job still owns its pointers; `discard` takes them over, once.
        unsafe { (self.vtable.discard)(self.data, self.extra) }
    }
}

impl fmt::Debug for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Job(..)")
    }
}
