//! The model runner: one body, three ways.
//!
//! Every model in `models/tests/` is a closure that spawns threads through [`thread`] and
//! asserts a property (conservation, FIFO, exactly-once). [`check`] runs it:
//!
//! | build | what `check` does |
//! |---|---|
//! | `RUSTFLAGS="--cfg loom"` | `loom::model::Builder::check` with the model's preemption bound (overridable with `LOOM_MAX_PREEMPTIONS`), then fails unless more than one interleaving was explored (loom can silently explore one: tokio-rs/loom#392) |
//! | `--features shuttle` | `shuttle::check_random` and `shuttle::check_pct` (depth 3), each with the model's iteration count |
//! | neither | the body on real threads, [`Model::threaded_runs`] times |
//!
//! Each run prints one line `MODEL tool=… name=… bound=… interleavings=… result=ok` (shown with
//! `--nocapture`) and appends it to the file named by `EVENTLOOP_MODEL_LOG`, which is how
//! `make verify` builds its table.
//!
//! With `EVENTLOOP_DEEP=1` (`make verify-deep`, the nightly-style run) every model uses its deep
//! budgets instead: the loom bound of [`Model::deep_preemption_bound`] (by default one more
//! preemption than the CI bound) and ten times the shuttle iterations.

use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

/// A model's name, the claim it checks and its budgets.
#[derive(Debug, Clone, Copy)]
pub struct Model {
    /// Test name, as listed in `proofs/README.md`.
    pub name: &'static str,
    /// loom preemption bound (bounded, so not exhaustive beyond it).
    pub preemption_bound: usize,
    /// loom preemption bound of the deep run (`EVENTLOOP_DEEP=1`); `None`: one more than
    /// `preemption_bound`.
    pub deep_preemption_bound: Option<usize>,
    /// shuttle iterations for each of `check_random` and `check_pct`.
    pub shuttle_iterations: usize,
    /// Runs of the body on real threads in a plain `cargo test`.
    pub threaded_runs: usize,
}

impl Model {
    /// A model with the project's default budgets: preemption bound 2, 1000 shuttle iterations
    /// per scheduler, 200 real-thread runs.
    pub const fn new(name: &'static str) -> Self {
        Self {
            name,
            preemption_bound: 2,
            deep_preemption_bound: None,
            shuttle_iterations: 1000,
            threaded_runs: 200,
        }
    }

    /// Sets the loom preemption bound.
    pub const fn preemption_bound(mut self, bound: usize) -> Self {
        self.preemption_bound = bound;
        self
    }

    /// Sets the loom preemption bound of the deep run (`EVENTLOOP_DEEP=1`).
    pub const fn deep_preemption_bound(mut self, bound: usize) -> Self {
        self.deep_preemption_bound = Some(bound);
        self
    }

    /// Whether this is the deep (nightly-style) run: `EVENTLOOP_DEEP=1`.
    pub fn deep() -> bool {
        std::env::var("EVENTLOOP_DEEP").is_ok_and(|v| v == "1")
    }

    /// The loom bound of this run: `LOOM_MAX_PREEMPTIONS` if set, else the deep or the CI bound.
    pub fn loom_bound(&self) -> usize {
        let configured = if Self::deep() {
            self.deep_preemption_bound
                .unwrap_or(self.preemption_bound + 1)
        } else {
            self.preemption_bound
        };
        std::env::var("LOOM_MAX_PREEMPTIONS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(configured)
    }

    /// The shuttle iterations per scheduler of this run (ten times more in the deep run).
    pub fn shuttle_budget(&self) -> usize {
        if Self::deep() {
            self.shuttle_iterations * 10
        } else {
            self.shuttle_iterations
        }
    }

    /// Sets the shuttle iterations per scheduler.
    pub const fn shuttle_iterations(mut self, iterations: usize) -> Self {
        self.shuttle_iterations = iterations;
        self
    }

    /// Sets the number of real-thread runs.
    pub const fn threaded_runs(mut self, runs: usize) -> Self {
        self.threaded_runs = runs;
        self
    }
}

/// Picks a model size by backend: small under loom (and under Miri, which interprets every
/// step), larger under shuttle and on real threads.
pub const fn scale(loom: usize, shuttle: usize, threads: usize) -> usize {
    if cfg!(any(loom, miri)) {
        loom
    } else if cfg!(feature = "shuttle") {
        shuttle
    } else {
        threads
    }
}

/// A loop for models of the driver: it parks at once (no spin) and has tiny rings, so the
/// overflow and the sleep/wake paths are part of every model.
pub fn model_loop() -> eventloop_core::EventLoop {
    model_loop_builder().build()
}

/// The builder of [`model_loop`], for models that add hooks (the promise models' rejection
/// hook).
pub fn model_loop_builder() -> eventloop_core::driver::Builder {
    eventloop_core::EventLoop::builder().config(eventloop_core::driver::Config {
        spin_before_sleep: std::time::Duration::ZERO,
        ring_capacity: 2,
        max_tasks_per_tick: 4,
        ..Default::default()
    })
}

/// A clock that never moves: models of timers use zero delays, so every timer is due as soon as
/// the loop sees it and no model needs time to pass (neither checker models time; a timed park
/// returns at once under both).
#[derive(Debug, Clone, Copy, Default)]
pub struct FrozenClock;

impl eventloop_core::clock::Clock for FrozenClock {
    fn now(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }
}

/// [`model_loop`] on a [`FrozenClock`], for models of timers.
pub fn timer_model_loop() -> eventloop_core::EventLoop {
    eventloop_core::EventLoop::builder()
        .clock(FrozenClock)
        .config(eventloop_core::driver::Config {
            spin_before_sleep: std::time::Duration::ZERO,
            ring_capacity: 2,
            max_tasks_per_tick: 4,
            ..Default::default()
        })
        .build()
}

/// A number in `0..=max` that varies between runs: drawn by shuttle's scheduler-controlled RNG
/// under shuttle, cycled through by a run counter on real threads, and fixed at `loom_value`
/// (capped at `max`) under loom, which replays the body and needs it deterministic (there the
/// interleavings do the varying).
pub fn pick(max: usize, loom_value: usize) -> usize {
    #[cfg(loom)]
    {
        loom_value.min(max)
    }
    #[cfg(all(feature = "shuttle", not(loom)))]
    {
        let _ = loom_value;
        use shuttle::rand::RngCore;
        (shuttle::rand::thread_rng().next_u64() % (max as u64 + 1)) as usize
    }
    #[cfg(not(any(loom, feature = "shuttle")))]
    {
        let _ = loom_value;
        static PICKS: AtomicUsize = AtomicUsize::new(0);
        // A multiplicative hash of the counter: successive runs land far apart.
        let run = PICKS.fetch_add(1, SeqCst) as u64;
        (run.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 17) as usize % (max + 1)
    }
}

/// Bookkeeping of one closure in a model: how often it ran and how often it was dropped. The
/// closure owns a [`Witness`](ledger::Witness), so its drop is the closure's drop; a model then
/// asserts "ran once, or was handed back and dropped unrun — never both, never neither".
pub mod ledger {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

    /// Runs and drops of one closure (plain std atomics: read after the threads are joined).
    #[derive(Debug, Default)]
    pub struct Ledger {
        /// Times the closure ran.
        pub ran: AtomicUsize,
        /// Times the closure was dropped.
        pub dropped: AtomicUsize,
    }

    impl Ledger {
        /// A fresh ledger, shared between the model and its closure's witness.
        pub fn new() -> Arc<Self> {
            Arc::new(Self::default())
        }
    }

    /// Owned by the closure whose ledger it writes: counts the run, and the drop.
    #[derive(Debug)]
    pub struct Witness(pub Arc<Ledger>);

    impl Witness {
        /// A witness writing to `ledger`.
        pub fn new(ledger: &Arc<Ledger>) -> Self {
            Self(Arc::clone(ledger))
        }

        /// Marks the run (the witness drops with the closure right after).
        pub fn ran(&self) {
            self.0.ran.fetch_add(1, SeqCst);
        }
    }

    impl Drop for Witness {
        fn drop(&mut self) {
            self.0.dropped.fetch_add(1, SeqCst);
        }
    }
}

/// The lock of the selected backend, for model bookkeeping that the checker must see (a queue
/// standing in for the loop's microtask queue, for example).
pub mod sync {
    #[cfg(loom)]
    pub use loom::sync::Mutex;
    #[cfg(all(feature = "shuttle", not(loom)))]
    pub use shuttle::sync::Mutex;
    #[cfg(not(any(loom, feature = "shuttle")))]
    pub use std::sync::Mutex;
}

/// Plain data the checker tracks: loom's `UnsafeCell` (every access is checked against the
/// happens-before order, so a missing synchronization is a reported race), or, under shuttle and
/// on real threads, a plain cell with the same closure API (no race detection there: shuttle
/// is sequentially consistent).
pub mod cell {
    #[cfg(loom)]
    pub use loom::cell::UnsafeCell;

    /// `core::cell::UnsafeCell` with loom's closure API.
    #[cfg(not(loom))]
    #[derive(Debug, Default)]
    pub struct UnsafeCell<T>(core::cell::UnsafeCell<T>);

    #[cfg(not(loom))]
    impl<T> UnsafeCell<T> {
        /// A cell holding `value`.
        pub const fn new(value: T) -> Self {
            Self(core::cell::UnsafeCell::new(value))
        }
        /// Runs `f` with a shared pointer to the contents.
        pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }
        /// Runs `f` with an exclusive pointer to the contents.
        pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}

/// The threads of the selected backend.
pub mod thread {
    #[cfg(loom)]
    pub use loom::thread::{JoinHandle, ThreadId, current, spawn, yield_now};
    #[cfg(all(feature = "shuttle", not(loom)))]
    pub use shuttle::thread::{JoinHandle, ThreadId, current, spawn, yield_now};
    #[cfg(not(any(loom, feature = "shuttle")))]
    pub use std::thread::{JoinHandle, ThreadId, current, spawn, yield_now};
}

/// Driving a future to completion on the current thread, with the selected backend's waker: a
/// wake-up that is lost leaves the thread blocked, which loom and shuttle report as a deadlock.
pub mod future {
    #[cfg(loom)]
    pub use loom::future::block_on;
    #[cfg(all(feature = "shuttle", not(loom)))]
    pub use shuttle::future::block_on;

    /// Polls `future` on this thread and parks between wake-ups (real threads).
    #[cfg(not(any(loom, feature = "shuttle")))]
    pub fn block_on<F: core::future::Future>(future: F) -> F::Output {
        use std::sync::Arc;
        use std::task::{Context, Poll, Wake};
        struct Unpark(std::thread::Thread);
        impl Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = Arc::new(Unpark(std::thread::current())).into();
        let mut cx = Context::from_waker(&waker);
        let mut future = std::pin::pin!(future);
        loop {
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                return output;
            }
            std::thread::park();
        }
    }
}

static RUNS: AtomicUsize = AtomicUsize::new(0);

fn counted<F: Fn()>(body: &F) {
    RUNS.fetch_add(1, SeqCst);
    body();
}

/// Runs `body` under the selected backend and reports how many interleavings it explored.
///
/// # Panics
/// If the body panics in any explored interleaving, or if loom explored only one.
pub fn check<F>(model: Model, body: F)
where
    F: Fn() + Send + Sync + 'static,
{
    // Tests in one binary may run in parallel: serialize the models so the run counter is theirs.
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    RUNS.store(0, SeqCst);
    let (tool, bound) = run(model, body);
    let interleavings = RUNS.load(SeqCst);
    if cfg!(loom) {
        assert!(
            interleavings > 1,
            "{}: loom explored only {interleavings} interleaving(s); the model cannot fail (tokio-rs/loom#392)",
            model.name
        );
    }
    report(&format!(
        "MODEL tool={tool} name={} bound={bound} interleavings={interleavings} result=ok",
        model.name
    ));
}

#[cfg(loom)]
fn run<F: Fn() + Send + Sync + 'static>(model: Model, body: F) -> (&'static str, String) {
    let mut builder = loom::model::Builder::new();
    let bound = model.loom_bound();
    builder.preemption_bound = Some(bound);
    if std::env::var_os("LOOM_LOG").is_none() {
        builder.check(move || counted(&body));
    } else {
        trace::check_with_failure_trace(model.name, builder, move || counted(&body));
    }
    ("loom", format!("preemptions<={bound}"))
}

/// With `LOOM_LOG` set: keep only the current iteration's loom trace in memory, and write the
/// trace of a failing iteration to `target/loom-failure-trace-<model>.txt`.
#[cfg(loom)]
mod trace {
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .extend_from_slice(data);
            Ok(data.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    pub(super) fn check_with_failure_trace<F: Fn() + Send + Sync + 'static>(
        name: &str,
        builder: loom::model::Builder,
        body: F,
    ) {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_env("LOOM_LOG"))
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .without_time()
            .finish();
        let per_iteration = buffer.clone();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            tracing::subscriber::with_default(subscriber, || {
                builder.check(move || {
                    per_iteration
                        .0
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .clear();
                    body();
                });
            });
        }));
        if let Err(panic) = result {
            let path = format!(
                "{}/../target/loom-failure-trace-{name}.txt",
                env!("CARGO_MANIFEST_DIR")
            );
            let trace = buffer
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone();
            let _ = std::fs::write(&path, trace);
            eprintln!("loom: the failing iteration's trace is in {path}");
            std::panic::resume_unwind(panic);
        }
    }
}

#[cfg(all(feature = "shuttle", not(loom)))]
fn run<F: Fn() + Send + Sync + 'static>(model: Model, body: F) -> (&'static str, String) {
    let body = std::sync::Arc::new(body);
    let iterations = model.shuttle_budget();
    let random = std::sync::Arc::clone(&body);
    shuttle::check_random(move || counted(&*random), iterations);
    let pct = std::sync::Arc::clone(&body);
    shuttle::check_pct(move || counted(&*pct), iterations, 3);
    ("shuttle", format!("random+pct(depth=3)x{iterations}"))
}

#[cfg(not(any(loom, feature = "shuttle")))]
fn run<F: Fn() + Send + Sync + 'static>(model: Model, body: F) -> (&'static str, String) {
    // Under Miri a few runs per seed; `make miri` runs several seeds.
    let runs = if cfg!(miri) { 3 } else { model.threaded_runs };
    for _ in 0..runs {
        counted(&body);
    }
    (
        if cfg!(miri) { "miri" } else { "threads" },
        format!("runs={runs}"),
    )
}

fn report(line: &str) {
    println!("{line}");
    if let Ok(path) = std::env::var("EVENTLOOP_MODEL_LOG") {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("cannot open EVENTLOOP_MODEL_LOG={path}: {e}"));
        writeln!(file, "{line}").expect("write model log");
    }
}
