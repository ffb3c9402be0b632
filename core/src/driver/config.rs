//! The loop's configuration, its builder, and what it reports: [`Config`], [`Builder`],
//! [`CallbackKind`], [`PanicReport`], [`RejectionEvent`], [`RunError`].

use alloc::boxed::Box;
use core::fmt;
use core::time::Duration;

use super::handle::Shared;
use super::{EventLoop, Local};
use crate::clock::Clock;
use crate::registry::Registry;
use crate::ring;
use crate::sync::Arc;
use crate::timer::{MAX_TIMER_ID, NestingPolicy, TimerPool};
use alloc::collections::VecDeque;
use core::cell::{Cell, RefCell};

/// Tuning of an [`EventLoop`].
#[derive(Debug, Clone)]
pub struct Config {
    /// Macrotasks run per tick before the loop starts a new tick (fairness toward timers and
    /// other sources). Default 1024.
    pub max_tasks_per_tick: usize,
    /// How long the loop polls its queues before parking when it runs out of work. A wake-up
    /// through the OS costs tens of microseconds on a VM; polling briefly first lets a quick
    /// request/response pair avoid it, at the cost of that much CPU per idle transition.
    /// Default 50 µs; `Duration::ZERO` parks at once.
    pub spin_before_sleep: Duration,
    /// Slots of each lock-free ring (remote macrotasks; remote microtasks and timer requests).
    /// Default 4096.
    pub ring_capacity: usize,
    /// The HTML timer nesting clamp (level > 5 ⇒ delay ≥ 4 ms); on by default.
    pub timer_nesting: NestingPolicy,
    /// The largest timer ID ([`MAX_TIMER_ID`] = 2^53 − 1 by default, capped there). A small
    /// limit is for tests of ID exhaustion.
    pub timer_id_limit: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_tasks_per_tick: 1024,
            spin_before_sleep: Duration::from_micros(50),
            ring_capacity: ring::DEFAULT_CAPACITY,
            timer_nesting: NestingPolicy::default(),
            timer_id_limit: MAX_TIMER_ID,
        }
    }
}

/// What a panicking callback was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackKind {
    /// A macrotask (submitted task).
    Task,
    /// A microtask.
    Microtask,
    /// A timer's callback.
    Timer,
    /// The destructor of a task or microtask that `close` dropped unrun, or of a timer's
    /// callback (dropped when the timer is done, cleared, or cancelled by termination).
    Destructor,
    /// The rejection hook ([`Builder::rejection_hook`]).
    RejectionHook,
}

/// What a [`RejectionEvent`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionKind {
    /// A promise was rejected and no reaction was registered on it by the end of the microtask
    /// checkpoint in which the loop learnt of the rejection. Reported once per promise.
    Unhandled,
    /// A reaction was registered on a promise that had been reported [`Unhandled`](Self::Unhandled).
    HandledLater,
}

/// An unhandled-rejection notification, given to the rejection hook at the end of a microtask
/// checkpoint.
pub struct RejectionEvent<'a> {
    /// Unhandled, or handled later.
    pub kind: RejectionKind,
    /// The promise's identifier (its address: unique among live promises; a `HandledLater`
    /// carries the id of the `Unhandled` report it answers).
    pub id: usize,
    /// The rejection reason.
    pub reason: &'a dyn fmt::Debug,
}

impl fmt::Debug for RejectionEvent<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RejectionEvent")
            .field("kind", &self.kind)
            .field("id", &self.id)
            .field("reason", self.reason)
            .finish()
    }
}

pub(super) type RejectionHook = Box<dyn FnMut(&RejectionEvent<'_>)>;

/// A caught panic, as given to the panic hook.
pub struct PanicReport {
    /// Which kind of callback panicked.
    pub kind: CallbackKind,
    /// The panic payload.
    pub payload: Box<dyn core::any::Any + Send>,
}

impl PanicReport {
    /// The panic message, when the payload is a string.
    pub fn message(&self) -> Option<&str> {
        crate::promise::panic_message(&*self.payload)
    }
}

impl fmt::Debug for PanicReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PanicReport")
            .field("kind", &self.kind)
            .field("message", &self.message())
            .finish()
    }
}

pub(super) type PanicHook = Box<dyn FnMut(PanicReport)>;

/// Why [`EventLoop::run`] could not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunError {
    /// The loop has already terminated: it cannot run again.
    Terminated,
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Terminated => {
                f.write_str("the event loop has terminated and cannot run again")
            }
        }
    }
}

impl core::error::Error for RunError {}

/// Builds an [`EventLoop`] with a clock, a configuration and a panic hook.
pub struct Builder {
    config: Config,
    clock: Box<dyn Clock>,
    panic_hook: Option<PanicHook>,
    rejection_hook: Option<RejectionHook>,
}

impl Builder {
    /// The defaults: [`Config::default`], the system clock, panics printed to stderr.
    pub(super) fn new() -> Self {
        Self {
            config: Config::default(),
            clock: Box::new(crate::clock::SystemClock::new()),
            panic_hook: None,
            rejection_hook: None,
        }
    }

    /// Sets the configuration.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Sets the clock (for example a [`ManualClock`](crate::clock::ManualClock) in tests).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Box::new(clock);
        self
    }

    /// Sets the hook that receives caught panics (default: print to stderr).
    pub fn panic_hook(mut self, hook: impl FnMut(PanicReport) + 'static) -> Self {
        self.panic_hook = Some(Box::new(hook));
        self
    }

    /// Sets the hook that receives unhandled-rejection events (default: print `Unhandled` ones
    /// to stderr). It runs on the loop thread at the end of a microtask checkpoint; a panic in
    /// it is contained and reported like a callback's ([`CallbackKind::RejectionHook`]).
    pub fn rejection_hook(mut self, hook: impl FnMut(&RejectionEvent<'_>) + 'static) -> Self {
        self.rejection_hook = Some(Box::new(hook));
        self
    }

    /// Builds the loop. It is Awake: it accepts work, which runs once [`EventLoop::run`] runs.
    ///
    /// # Panics
    /// If `config.ring_capacity` is not a power of two from 2 to [`ring::MAX_CAPACITY`].
    pub fn build(self) -> EventLoop {
        let capacity = self.config.ring_capacity;
        let (tasks_in, tasks_out) = ring::with_capacity(capacity).unwrap_or_else(|e| panic!("{e}"));
        let (micro_in, micro_out) = ring::with_capacity(capacity).unwrap_or_else(|e| panic!("{e}"));
        let now = self.clock.now();
        let shared = Shared::new(tasks_in, micro_in, self.clock, &self.config);
        // The loop is owned by this thread from now on (it is `!Send`): waits that would block
        // it (`Handle::wait_terminated`, `ClearTicket::wait`) recognise it even before `run`.
        shared.parker.register_current();
        EventLoop {
            shared: Arc::new(shared),
            local: Local {
                tasks: RefCell::new(VecDeque::new()),
                microtasks: RefCell::new(VecDeque::new()),
                remote_tasks: RefCell::new(tasks_out),
                remote_microtasks: RefCell::new(micro_out),
                timers: RefCell::new(TimerPool::new()),
                nesting: Cell::new(0),
                firing_interval: Cell::new(false),
                prefer_remote: Cell::new(false),
                unflushed_tasks: Cell::new(0),
                unflushed_microtasks: Cell::new(0),
                now: Cell::new(now),
                panic_hook: RefCell::new(self.panic_hook),
                rejections: RefCell::new(alloc::vec::Vec::new()),
                rejection_hook: RefCell::new(self.rejection_hook),
                registry: RefCell::new(Registry::new()),
                config: self.config,
            },
        }
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}
