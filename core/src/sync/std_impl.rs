//! Production primitives: `core`/`alloc`, and `std` when the feature is on.

pub(crate) mod atomic {
    #[cfg(target_has_atomic = "64")]
    pub(crate) use core::sync::atomic::AtomicU64;
    pub(crate) use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering, fence};
}

#[cfg(feature = "alloc")]
pub(crate) use alloc::sync::Arc;

/// The weak half of [`Arc`] (the promise registry's references; loom has no `Weak`, see
/// `loom_impl`).
#[cfg(feature = "alloc")]
pub(crate) use alloc::sync::Weak;

pub(crate) mod cell {
    /// `core::cell::UnsafeCell` with loom's closure API.
    #[repr(transparent)]
    pub(crate) struct UnsafeCell<T>(core::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        #[inline]
        pub(crate) const fn new(value: T) -> Self {
            Self(core::cell::UnsafeCell::new(value))
        }

        /// Runs `f` with a shared pointer to the contents. The caller's protocol must rule out
        /// a concurrent `with_mut`.
        #[inline(always)]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        /// Runs `f` with an exclusive pointer to the contents. The caller's protocol must rule
        /// out any concurrent access.
        #[inline(always)]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}

pub(crate) mod hint {
    /// One step of a bounded busy-wait.
    #[inline(always)]
    pub(crate) fn spin_loop() {
        core::hint::spin_loop();
    }

    /// Gives the processor (or, with `std`, the thread's time slice) to someone else.
    #[inline]
    pub(crate) fn yield_now() {
        #[cfg(feature = "std")]
        std::thread::yield_now();
        #[cfg(not(feature = "std"))]
        core::hint::spin_loop();
    }
}

#[cfg(feature = "std")]
mod mutex {
    /// `std::sync::Mutex` whose `lock` ignores poisoning: every critical section in this crate
    /// leaves its data consistent before anything that can panic (no user code runs under a lock).
    #[derive(Default)]
    pub(crate) struct Mutex<T>(std::sync::Mutex<T>);

    pub(crate) type MutexGuard<'a, T> = std::sync::MutexGuard<'a, T>;

    impl<T> Mutex<T> {
        pub(crate) const fn new(value: T) -> Self {
            Self(std::sync::Mutex::new(value))
        }

        #[inline]
        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        }
    }
}

#[cfg(not(feature = "std"))]
mod mutex {
    //! A test-and-test-and-set spin lock for `no_std` builds. Critical sections in this crate
    //! are short and run no user code, so spinning is bounded by another thread's short section
    //! (or, on a single core without preemption, cannot happen at all).
    use core::cell::UnsafeCell;
    use core::ops::{Deref, DerefMut};
    use core::sync::atomic::{AtomicBool, Ordering};

    #[derive(Default)]
    pub(crate) struct Mutex<T> {
        locked: AtomicBool,
        value: UnsafeCell<T>,
    }

    // SAFETY: the lock hands out `&mut T` to one holder at a time, so sharing the mutex across
    // threads moves `T` between threads (hence `T: Send`) but never shares it.
    unsafe impl<T: Send> Sync for Mutex<T> {}

    pub(crate) struct MutexGuard<'a, T>(&'a Mutex<T>);

    impl<T> Mutex<T> {
        pub(crate) const fn new(value: T) -> Self {
            Self {
                locked: AtomicBool::new(false),
                value: UnsafeCell::new(value),
            }
        }

        #[inline]
        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            loop {
                // Acquire pairs with the Release store in `MutexGuard::drop`: the previous
                // holder's writes to `value` happen-before ours.
                if !self.locked.swap(true, Ordering::Acquire) {
                    return MutexGuard(self);
                }
                // Relaxed: pairs with nothing; only a hint to retry the swap, which does the
                // synchronizing.
                while self.locked.load(Ordering::Relaxed) {
                    core::hint::spin_loop();
                }
            }
        }
    }

    impl<T> Deref for MutexGuard<'_, T> {
        type Target = T;
        fn deref(&self) -> &T {
            // SAFETY: the guard exists only while `locked` is held by this holder.
            unsafe { &*self.0.value.get() }
        }
    }

    impl<T> DerefMut for MutexGuard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            // SAFETY: the guard exists only while `locked` is held by this holder, and `&mut self`
            // makes this the only live reference derived from it.
            unsafe { &mut *self.0.value.get() }
        }
    }

    impl<T> Drop for MutexGuard<'_, T> {
        fn drop(&mut self) {
            // Release pairs with the Acquire swap in `lock`: publishes this holder's writes.
            self.0.locked.store(false, Ordering::Release);
        }
    }
}

pub(crate) use mutex::{Mutex, MutexGuard};

/// The loop thread's sleep primitive: the thread's own park/unpark, with a timeout.
///
/// `register_current` must run on the sleeping thread before any `unpark` can matter (the
/// driver calls it before the loop can first publish Sleeping). `park` may return early
/// (spuriously, or for a token left by an earlier `unpark`); callers re-check their condition.
#[cfg(feature = "std")]
#[derive(Default)]
pub(crate) struct Parker {
    thread: std::sync::OnceLock<std::thread::Thread>,
}

#[cfg(feature = "std")]
impl Parker {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn register_current(&self) {
        let _ = self.thread.set(std::thread::current());
        debug_assert_eq!(
            self.thread.get().map(|t| t.id()),
            Some(std::thread::current().id()),
            "one sleeping thread"
        );
    }

    #[inline]
    pub(crate) fn park(&self, timeout: Option<core::time::Duration>) {
        match timeout {
            Some(timeout) => std::thread::park_timeout(timeout),
            None => std::thread::park(),
        }
    }

    #[inline]
    pub(crate) fn unpark(&self) {
        if let Some(thread) = self.thread.get() {
            thread.unpark();
        }
    }

    /// Whether the calling thread is the registered sleeping thread.
    pub(crate) fn is_current(&self) -> bool {
        self.thread
            .get()
            .is_some_and(|t| t.id() == std::thread::current().id())
    }
}

/// `std::sync::Condvar` over the facade's `Mutex`, ignoring poisoning like the mutex does.
#[cfg(feature = "std")]
#[derive(Default)]
pub(crate) struct Condvar(std::sync::Condvar);

#[cfg(feature = "std")]
impl Condvar {
    pub(crate) const fn new() -> Self {
        Self(std::sync::Condvar::new())
    }

    pub(crate) fn wait_timeout<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: core::time::Duration,
    ) -> MutexGuard<'a, T> {
        match self.0.wait_timeout(guard, timeout) {
            Ok((guard, _)) => guard,
            Err(poisoned) => poisoned.into_inner().0,
        }
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

/// Thread-local storage (the driver's "which loop runs on this thread" pointer).
#[cfg(feature = "std")]
pub(crate) use std::thread_local;

/// Starts a detached worker thread (`Handle::promisify`). On failure the closure is dropped
/// unrun.
#[cfg(feature = "std")]
pub(crate) fn spawn_worker(work: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("eventloop-worker".into())
        .spawn(work)
        .map(drop)
}
