//! loom primitives: every interleaving within the model's preemption bound, under C11.

pub(crate) mod atomic {
    pub(crate) use loom::sync::atomic::AtomicU64;
    pub(crate) use loom::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering, fence};
}

pub(crate) use loom::sync::Arc;

// No `Weak`: loom 0.7's `Arc` has none. The promise registry (`promise::WeakPromise`) holds a
// strong loom `Arc` instead and counts an entry whose strong count is 1 (its own) as dead.

pub(crate) mod cell {
    pub(crate) use loom::cell::UnsafeCell;
}

pub(crate) mod hint {
    /// Under loom a busy-wait step must yield, or the model never lets the other thread run and
    /// fails with "exceeded maximum number of branches".
    #[inline]
    pub(crate) fn spin_loop() {
        loom::thread::yield_now();
    }

    #[inline]
    pub(crate) fn yield_now() {
        loom::thread::yield_now();
    }
}

/// loom's `Mutex` with a non-poisoning `lock`, matching the production arm.
#[derive(Default)]
pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

pub(crate) type MutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;

impl<T> Mutex<T> {
    pub(crate) fn new(value: T) -> Self {
        Self(loom::sync::Mutex::new(value))
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// loom's `Condvar` over the facade's `Mutex`.
#[derive(Default)]
pub(crate) struct Condvar(loom::sync::Condvar);

impl Condvar {
    pub(crate) fn new() -> Self {
        Self(loom::sync::Condvar::new())
    }

    pub(crate) fn wait_timeout<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        _timeout: core::time::Duration,
    ) -> MutexGuard<'a, T> {
        // loom does not model time: a timed wait is a plain wait (callers re-check in a loop).
        self.wait(guard)
    }

    pub(crate) fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.0
            .wait(guard)
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn notify_all(&self) {
        self.0.notify_all();
    }
}

/// Thread-local storage per loom thread.
pub(crate) use loom::thread_local;

/// Starts a detached worker thread (a loom thread: part of the model).
pub(crate) fn spawn_worker(work: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
    drop(loom::thread::spawn(work));
    Ok(())
}
