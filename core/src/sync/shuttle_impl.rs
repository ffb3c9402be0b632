//! shuttle primitives: randomized and PCT schedules of sequentially consistent executions.
//!
//! shuttle switches tasks only at its own operations and has no data-race detector, so the
//! `UnsafeCell` here adds both: every access begins and ends with an operation on a shuttle
//! atomic (a scheduling point), and an access that overlaps another task's access to the same
//! cell (a write with anything) panics with "data race".

pub(crate) mod atomic {
    pub(crate) use shuttle::sync::atomic::AtomicU64;
    pub(crate) use shuttle::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering, fence};
}

pub(crate) use shuttle::sync::Arc;

/// shuttle's `Arc` is std's, so its `Weak` is std's too (the promise registry's references).
pub(crate) use shuttle::sync::Weak;

pub(crate) mod cell {
    use shuttle::sync::atomic::{AtomicUsize, Ordering};

    /// Access word: 0 idle, `WRITER` while written, otherwise the number of readers.
    const WRITER: usize = usize::MAX;

    pub(crate) struct UnsafeCell<T> {
        access: AtomicUsize,
        value: core::cell::UnsafeCell<T>,
    }

    impl<T> UnsafeCell<T> {
        pub(crate) fn new(value: T) -> Self {
            Self {
                access: AtomicUsize::new(0),
                value: core::cell::UnsafeCell::new(value),
            }
        }

        #[track_caller]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            // SeqCst throughout: shuttle models only SeqCst, and these are test scaffolding.
            let prev = self.access.fetch_add(1, Ordering::SeqCst);
            assert_ne!(
                prev, WRITER,
                "data race: read overlaps a write of the same UnsafeCell"
            );
            let result = f(self.value.get());
            // Second scheduling point: lets another task start an access while this read is
            // still in progress (the window a publish-before-write bug needs).
            let now = self.access.fetch_sub(1, Ordering::SeqCst);
            assert!(
                now != WRITER && now > 0,
                "data race: a write began during a read"
            );
            result
        }

        #[track_caller]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            let prev = self.access.swap(WRITER, Ordering::SeqCst);
            assert_eq!(
                prev, 0,
                "data race: write overlaps another access of the same UnsafeCell"
            );
            let result = f(self.value.get());
            let now = self.access.swap(0, Ordering::SeqCst);
            assert_eq!(
                now, WRITER,
                "data race: another access began during a write"
            );
            result
        }
    }
}

pub(crate) mod hint {
    /// A busy-wait step yields to shuttle's scheduler, or random schedules could spin forever.
    #[inline]
    pub(crate) fn spin_loop() {
        shuttle::thread::yield_now();
    }

    #[inline]
    pub(crate) fn yield_now() {
        shuttle::thread::yield_now();
    }
}

/// shuttle's `Mutex` with a non-poisoning `lock`, matching the production arm.
#[derive(Default)]
pub(crate) struct Mutex<T>(shuttle::sync::Mutex<T>);

pub(crate) type MutexGuard<'a, T> = shuttle::sync::MutexGuard<'a, T>;

impl<T> Mutex<T> {
    pub(crate) fn new(value: T) -> Self {
        Self(shuttle::sync::Mutex::new(value))
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// shuttle's `Condvar` over the facade's `Mutex`.
#[derive(Default)]
pub(crate) struct Condvar(shuttle::sync::Condvar);

impl Condvar {
    pub(crate) fn new() -> Self {
        Self(shuttle::sync::Condvar::new())
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

/// Thread-local storage per shuttle task.
pub(crate) use shuttle::thread_local;

/// Starts a detached worker thread (a shuttle task: part of the test).
pub(crate) fn spawn_worker(work: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
    drop(shuttle::thread::spawn(work));
    Ok(())
}
