//! Tick-order conformance: every JS scenario in `tests/conformance/scenarios/` written again
//! against `eventloop_core`, and its log compared line by line with what Node.js printed
//! (`NN_name.node.txt`), or with the HTML-rule override (`NN_name.expected.txt`) where Node
//! departs from HTML. See `tests/conformance/README.md`.
//!
//! The mapping from JS:
//!
//! - the script itself is the first macrotask (`EventLoop::submit` before the run);
//! - `setImmediate(f)` is `cx.submit(f)` (a macrotask, followed by a full checkpoint);
//! - `queueMicrotask(f)`, and `then(f)` on an already-resolved promise, are
//!   `cx.queue_microtask(f)` (one FIFO queue in JS);
//! - `throw new Error(m)` is a panic with message `m`; the loop's panic hook logs `error:<m>`
//!   like the scenarios' `uncaughtException` handler;
//! - `setTimeout(f, d)` is `cx.set_timeout(normalize_js_delay_ms(d), f)` and `setInterval(f, d)`
//!   is `cx.set_interval(normalize_js_delay_ms(d), f)` (Node's delay rule: outside
//!   `1..=2^31-1` → 1 ms, else truncated); `clearTimeout(id)` and `clearInterval(id)` are
//!   `cx.clear_timer(id)` (one ID namespace in both);
//! - `block(ms)`, a busy wait some timer scenarios use to make Node's timer passes
//!   deterministic, advances the loop's `ManualClock` by `ms`.
//!
//! Promises (scenarios 40 and up) are the loop's own [`Promise`]s of a `String` (JS
//! `undefined` is the empty string) rejected with a [`JsError`] (`new Error(m)`; the promise
//! layer's `Failure`s convert to it):
//!
//! - `Promise.resolve(v)` is `Promise::fulfilled(s, v)` and `Promise.reject(new Error(m))` is
//!   `Promise::rejected(s, error(m))`, where `s` is the loop's scheduler
//!   (`cx.handle().scheduler()`); `Promise.resolve(p)` of a promise `p` is `p` itself (a clone
//!   of the handle); the combinator scenarios (40–46) reject with plain strings
//!   (`Promise.reject('x')`), which are `error("x")` too: a reason is logged by its message,
//!   which is the string itself;
//! - `new Promise(r => resolve = r)` is `Promise::new(s)` (the handle and its `Resolver`);
//!   `resolve(v)`, `reject(e)` and `resolve(p)` are `Resolver::resolve`, `reject` and `adopt`;
//! - `then`, `catch`, `finally` and `then(f, g)` are `then`, `catch`, `finally` and
//!   `then_or_else`; a callback returns `Ok(v)` (a value), a promise (adopted), or throws
//!   (a panic with the message, which rejects the derived promise: no `error:` line);
//! - `queueMicrotask(f)` inside a promise callback (which gets no `Cx`, and must be `Send`) is
//!   `queue_job(s, f)`: `Promise::fulfilled(s, ()).then(f)`, one job in the same microtask queue;
//! - `process.on('unhandledRejection', (r, p) => log('unhandled:' + msg(r)))` and
//!   `process.on('rejectionHandled', p => log('handled:' + msg(reason of p)))` are the loop's
//!   `rejection_hook`, which logs `unhandled:<reason>` for `RejectionKind::Unhandled` and
//!   `handled:<reason>` for `RejectionKind::HandledLater`, then calls the scenario's listener
//!   if it set one (`on_rejection`). Scenarios 40–46 install no such listener: Node would
//!   fail them on an unhandled rejection (stderr, exit 1), so they have none, and a report
//!   logged here fails the comparison all the same;
//! - `Promise.all`/`race`/`allSettled`/`any` are `cx.all`/`race`/`all_settled`/`any` (an
//!   `allSettled` record is `Ok(value)` / `Err(reason)`, `any`'s `AggregateError::errors()` is
//!   JS's `.errors`); `Promise.race([])` never settles and is kept alive until the loop has
//!   terminated (`promise_race_empty`).
//!
//! Timers run in virtual time: after `run_until_idle` the clock jumps to
//! `next_timer_deadline()`, and again until no timer is left; callbacks take no time except
//! `block`. Node has no HTML timer nesting clamp, so the loop runs with
//! `NestingPolicy { clamp: false }` (Node's `setTimeout(f, 0)` chains never wait 4 ms).
//!
//! Each scenario runs twice, with the default `max_tasks_per_tick` and with 1 (a new tick
//! after every macrotask): tick boundaries must not change the order. Test `sNN_name` checks
//! scenario `NN_name`; `every_scenario_has_a_rust_test` keeps the directory and the list equal.
#![cfg(not(loom))]

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use eventloop_core::clock::ManualClock;
use eventloop_core::driver::{ClearOutcome, Config, LocalTask, RejectionEvent, RejectionKind};
use eventloop_core::promise::{self, AggregateError, Failure, Promise, Resolver, Scheduler};
use eventloop_core::state::LoopState;
use eventloop_core::timer::{NestingPolicy, TimerId, normalize_js_delay_ms};
use eventloop_core::{Cx, EventLoop};

/// How a scenario's loop is driven.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// `run_until_idle` in virtual time (the clock jumps to the next timer deadline until no
    /// timer is left), then a graceful shutdown that must find nothing left to run.
    Idle,
    /// `run`, which returns once the scenario calls `cx.shutdown()` and the drain is done.
    Shutdown,
}

/// One `#[test]` per scenario, named `s` + the scenario's file stem, running the script of the
/// same name in `scripts`; and `SCENARIOS`, the list `every_scenario_has_a_rust_test` checks.
macro_rules! scenarios {
    ($($name:ident: $mode:ident),* $(,)?) => {
        const SCENARIOS: &[&str] = &[$(stringify!($name)),*];
        $(
            #[test]
            fn $name() {
                check(stringify!($name), scripts::$name, Mode::$mode);
            }
        )*
    };
}

scenarios! {
    s01_script_microtasks_before_macrotasks: Idle,
    s02_checkpoint_after_each_macrotask: Idle,
    s03_nested_microtasks_fifo: Idle,
    s04_deep_microtask_chain: Idle,
    s05_macrotask_from_microtask: Idle,
    s06_macrotask_from_macrotask: Idle,
    s07_interleaved_macrotasks_and_microtasks: Idle,
    s08_then_and_queue_microtask_share_one_queue: Idle,
    s09_pending_promise_reactions_queue_on_resolve: Idle,
    s10_promise_chains_interleave: Idle,
    s11_then_returning_promise_costs_two_jobs: Idle,
    s12_async_await_steps: Idle,
    s13_exception_in_microtask: Idle,
    s14_exceptions_in_nested_microtasks: Idle,
    s15_exception_in_script: Idle,
    s16_exception_in_macrotask: Idle,
    s17_exceptions_in_consecutive_macrotasks: Idle,
    s18_exception_in_last_macrotask: Idle,
    s19_exit_drains_in_order: Shutdown,
    s20_timer_ties_fire_in_scheduling_order: Idle,
    s21_timers_fire_in_deadline_order: Idle,
    s22_checkpoint_after_each_timer: Idle,
    s23_clear_later_timer_in_same_pass: Idle,
    s24_zero_delay_timer_from_timer_waits_for_immediates: Idle,
    s25_out_of_range_delays_are_1ms: Idle,
    s26_interval_clears_itself: Idle,
    s27_interval_interleaves_with_timeouts: Idle,
    s28_clear_fired_and_unknown_timers: Idle,
    s29_exception_in_timer: Idle,
    s30_timers_set_from_microtasks: Idle,
    s31_timers_set_from_immediates: Idle,
    s32_exception_in_timer_with_more_due: Idle,
    s40_all_fulfils_after_last_input: Idle,
    s41_all_rejects_with_first_rejection: Idle,
    s42_race_first_settled_wins: Idle,
    s43_all_settled_keeps_input_order: Idle,
    s44_any_first_fulfilment_or_aggregate: Idle,
    s45_empty_inputs: Idle,
    s46_combinators_of_combinators: Idle,
    s50_promise_reactions_in_settle_order: Idle,
    s51_then_and_queue_microtask_interleave: Idle,
    s52_adoption_hops_from_then: Idle,
    s53_resolve_with_a_promise: Idle,
    s54_finally_hops: Idle,
    s55_catch_pass_through: Idle,
    s56_throw_in_then: Idle,
    s57_late_then_on_settled: Idle,
    s58_rejection_recovery_chains: Idle,
    s59_unhandled_rejection_timing: Idle,
    s60_handled_later_after_macrotasks: Idle,
    s61_rejection_hook_handles_in_place: Idle,
    s62_handled_reported_before_unhandled: Idle,
    s63_unhandled_rejection_in_throwing_macrotask: Idle,
    s64_chaining_cycle: Idle,
}

// ---------------------------------------------------------------------------------------------
// The JS vocabulary, on the loop thread.

thread_local! {
    /// The events of the scenario running on this thread (each test has its own thread).
    static LOG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    /// Set while a scenario runs: its panics are JS exceptions, not test failures, so the std
    /// panic hook stays quiet about them.
    static IN_SCENARIO: Cell<bool> = const { Cell::new(false) };
    /// The clock of the scenario running on this thread, for `block`.
    static CLOCK: RefCell<Option<ManualClock>> = const { RefCell::new(None) };
    /// The scenario's own rejection listener, called by the loop's rejection hook after it
    /// logged the event (a second `process.on('unhandledRejection', ...)` body).
    static REJECTION_LISTENER: RefCell<Option<RejectionListener>> = const { RefCell::new(None) };
    /// Promises that never settle, kept until the scenario's loop has terminated (see
    /// `promise_race_empty`).
    static KEEP_ALIVE: RefCell<Vec<JsPromise>> = const { RefCell::new(Vec::new()) };
}

type RejectionListener = Box<dyn FnMut(&RejectionEvent<'_>)>;

/// `console.log(event)`.
fn log(event: impl Into<String>) {
    LOG.with(|log| log.borrow_mut().push(event.into()));
}

/// `setImmediate(task)`: a macrotask.
fn set_immediate<F>(cx: &Cx<'_>, task: F)
where
    F: for<'b> FnOnce(&Cx<'b>) + 'static,
{
    cx.submit(task)
        .expect("a running loop accepts macrotasks (no shutdown yet)");
}

/// `queueMicrotask(microtask)`.
fn queue_microtask<F>(cx: &Cx<'_>, microtask: F)
where
    F: for<'b> FnOnce(&Cx<'b>) + 'static,
{
    cx.queue_microtask(microtask)
        .expect("a loop that has not terminated accepts microtasks");
}

/// `Promise.resolve().then(reaction)`, or `p.then(reaction)` on any fulfilled `p`: the reaction
/// job is queued at once, in the microtask queue.
fn then_resolved<F>(cx: &Cx<'_>, reaction: F)
where
    F: for<'b> FnOnce(&Cx<'b>) + 'static,
{
    queue_microtask(cx, reaction);
}

/// `Promise.resolve().then(() => log(l0)).then(() => log(l1))…`: each handler returns a
/// non-thenable, which fulfils its derived promise and queues the next reaction then.
fn then_chain(cx: &Cx<'_>, labels: &[&str]) {
    fn step(cx: &Cx<'_>, mut labels: Vec<String>) {
        if labels.is_empty() {
            return;
        }
        let first = labels.remove(0);
        then_resolved(cx, move |cx| {
            log(first);
            step(cx, labels);
        });
    }
    step(cx, labels.iter().map(|l| l.to_string()).collect());
}

/// `throw new Error(message)`.
fn throw(message: &str) -> ! {
    std::panic::panic_any(message.to_string())
}

/// `setTimeout(callback, delay_ms)`.
fn set_timeout<F>(cx: &Cx<'_>, delay_ms: f64, callback: F) -> TimerId
where
    F: for<'b> FnOnce(&Cx<'b>) + 'static,
{
    cx.set_timeout(normalize_js_delay_ms(delay_ms), callback)
        .expect("a running loop accepts timers")
}

/// `setInterval(callback, period_ms)`.
fn set_interval<F>(cx: &Cx<'_>, period_ms: f64, callback: F) -> TimerId
where
    F: for<'b> FnMut(&Cx<'b>) + 'static,
{
    cx.set_interval(normalize_js_delay_ms(period_ms), callback)
        .expect("a running loop accepts timers")
}

/// `clearTimeout(id)` or `clearInterval(id)`. JS returns nothing; the outcome lets the Rust
/// side assert what the clear did (a failed assertion shows up in the log as `error:...`).
fn clear_timer(cx: &Cx<'_>, id: TimerId) -> ClearOutcome {
    cx.clear_timer(id)
}

/// A `let id;` that callbacks read after the script assigned it (`id = setTimeout(...)`).
#[derive(Clone, Default)]
struct IdSlot(Rc<Cell<Option<TimerId>>>);

impl IdSlot {
    fn set(&self, id: TimerId) {
        self.0.set(Some(id));
    }

    fn get(&self) -> TimerId {
        self.0
            .get()
            .expect("the script assigned the ID before any callback ran")
    }
}

/// `block(ms)`: a callback that busy-waits `ms` of real time in Node; here the scenario's
/// clock moves on by `ms` (every other callback takes no time).
fn block(ms: u64) {
    CLOCK.with(|clock| {
        clock
            .borrow()
            .as_ref()
            .expect("a scenario is running")
            .advance(Duration::from_millis(ms));
    });
}

/// A pending promise (`new Promise(r => resolve = r)`): reactions registered before it is
/// resolved are queued, in registration order, when it is resolved; later ones at once.
#[derive(Clone)]
struct Pending(Rc<RefCell<Option<Vec<LocalTask>>>>);

impl Pending {
    fn new() -> Self {
        Self(Rc::new(RefCell::new(Some(Vec::new()))))
    }

    /// `p.then(reaction)`.
    fn then<F>(&self, cx: &Cx<'_>, reaction: F)
    where
        F: for<'b> FnOnce(&Cx<'b>) + 'static,
    {
        let mut state = self.0.borrow_mut();
        match state.as_mut() {
            Some(reactions) => reactions.push(Box::new(reaction)),
            None => then_resolved(cx, reaction),
        }
    }

    /// `resolve()`.
    fn resolve(&self, cx: &Cx<'_>) {
        let reactions = self.0.borrow_mut().take().unwrap_or_default();
        for reaction in reactions {
            queue_microtask(cx, reaction);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Promises (scenarios 40 and up): the loop's own `Promise`, with JS values and errors. Its
// reactions are loop microtasks (the same FIFO queue as `queue_microtask`).

/// A JS rejection reason: `new Error(message)` (or a `TypeError` the promise layer raised).
/// `Display` and `Debug` print the message, like the scenarios' `msg(e)`; a plain-string reason
/// (`Promise.reject('x')`, scenarios 40–46) is `error("x")`, whose message is the string, so it
/// logs exactly as Node prints the string.
#[derive(Clone, PartialEq, Eq)]
struct JsError {
    /// `e.constructor.name`.
    name: &'static str,
    /// `e.message`.
    message: String,
}

impl From<Failure> for JsError {
    fn from(failure: Failure) -> Self {
        match failure {
            // A `throw new Error(m)` in a callback: `throw` panics with `m`.
            Failure::Panicked(message) => error(&message.unwrap_or_default()),
            // V8's message for a promise resolved with itself.
            Failure::Cycle => JsError {
                name: "TypeError",
                message: "Chaining cycle detected for promise #<Promise>".to_string(),
            },
            other => error(&other.to_string()),
        }
    }
}

impl fmt::Display for JsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for JsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// `new Error(message)`.
fn error(message: &str) -> JsError {
    JsError {
        name: "Error",
        message: message.to_string(),
    }
}

/// A JS promise: a `String` value (`undefined` is `""`), a [`JsError`] reason.
type JsPromise = Promise<String, JsError>;
/// What a JS promise callback returns (or throws, by panicking).
type JsResult = Result<String, JsError>;
/// The loop's promise scheduler.
type Sched = Arc<dyn Scheduler>;

/// The loop's scheduler, for the promise constructors.
fn scheduler(cx: &Cx<'_>) -> Sched {
    cx.handle().scheduler()
}

/// `Promise.resolve(value)`.
fn promise_resolve(s: &Sched, value: &str) -> JsPromise {
    Promise::fulfilled(Arc::clone(s), value.to_string())
}

/// `Promise.reject(new Error(message))`.
fn promise_reject(s: &Sched, message: &str) -> JsPromise {
    Promise::rejected(Arc::clone(s), error(message))
}

/// `new Promise(r => resolve = r)`: the promise and its resolver.
fn new_promise(s: &Sched) -> (JsPromise, Resolver<String, JsError>) {
    Promise::new(Arc::clone(s))
}

/// A callback body `() => log(event)`: logs, returns `undefined`.
fn logged(event: impl Into<String>) -> JsResult {
    log(event);
    Ok(String::new())
}

/// `queueMicrotask(f)` from inside a promise callback: one job on the loop's microtask queue.
fn queue_job(s: &Sched, job: impl FnOnce() + Send + 'static) {
    let _ = Promise::<(), JsError>::fulfilled(Arc::clone(s), ()).then(move |_| {
        job();
        Ok(())
    });
}

/// No inputs: `[]` for a combinator.
fn no_promises() -> Vec<JsPromise> {
    Vec::new()
}

/// `Promise.race([])`: a promise that never settles. It is kept alive until the scenario's loop
/// has terminated: JS keeps a pending promise's reactions while the promise is reachable, while
/// here the last handle takes its reactions with it, and the promises derived from them would
/// reject as abandoned (`promise::race` docs).
fn promise_race_empty(s: &Sched) -> JsPromise {
    let never = promise::race(Arc::clone(s), no_promises());
    KEEP_ALIVE.with(|keep| keep.borrow_mut().push(never.clone()));
    never
}

/// `Promise.resolve().then(() => log(l0)).then(() => log(l1))…`, with real promises.
fn promise_chain(s: &Sched, labels: &[&str]) {
    let mut step = promise_resolve(s, "");
    for label in labels {
        let label = label.to_string();
        step = step.then(move |_| logged(label));
    }
}

/// `process.on('unhandledRejection' | 'rejectionHandled', ...)` with a body of the scenario's
/// own, after the logging every scenario does.
fn on_rejection(listener: impl FnMut(&RejectionEvent<'_>) + 'static) {
    REJECTION_LISTENER.with(|slot| *slot.borrow_mut() = Some(Box::new(listener)));
}

/// The loop's rejection hook: the scenarios' `unhandledRejection` and `rejectionHandled`
/// listeners.
fn report_rejection(event: &RejectionEvent<'_>) {
    match event.kind {
        RejectionKind::Unhandled => log(format!("unhandled:{:?}", event.reason)),
        RejectionKind::HandledLater => log(format!("handled:{:?}", event.reason)),
    }
    // Taken out while it runs: it may attach handlers, whose notices come in a later round.
    let listener = REJECTION_LISTENER.with(|slot| slot.borrow_mut().take());
    if let Some(mut listener) = listener {
        listener(event);
        REJECTION_LISTENER.with(|slot| {
            slot.borrow_mut().get_or_insert(listener);
        });
    }
}

// ---------------------------------------------------------------------------------------------
// The scenarios: each function is the scenario's JS script (the first macrotask).

mod scripts {
    use super::*;

    pub fn s01_script_microtasks_before_macrotasks(cx: &Cx<'_>) {
        log("script:start");
        set_immediate(cx, |_| log("A"));
        queue_microtask(cx, |_| log("m1"));
        then_resolved(cx, |_| log("m2"));
        set_immediate(cx, |_| log("B"));
        queue_microtask(cx, |_| log("m3"));
        log("script:end");
    }

    pub fn s02_checkpoint_after_each_macrotask(cx: &Cx<'_>) {
        for name in ["A", "B", "C"] {
            set_immediate(cx, move |cx| {
                log(name);
                queue_microtask(cx, move |_| log(format!("{name}.m1")));
                queue_microtask(cx, move |_| log(format!("{name}.m2")));
                log(format!("{name}:end"));
            });
        }
    }

    pub fn s03_nested_microtasks_fifo(cx: &Cx<'_>) {
        set_immediate(cx, |_| log("A"));
        queue_microtask(cx, |cx| {
            log("m1");
            queue_microtask(cx, |cx| {
                log("m1.1");
                queue_microtask(cx, |_| log("m1.1.1"));
            });
            queue_microtask(cx, |_| log("m1.2"));
        });
        queue_microtask(cx, |cx| {
            log("m2");
            queue_microtask(cx, |_| log("m2.1"));
        });
        queue_microtask(cx, |_| log("m3"));
    }

    pub fn s04_deep_microtask_chain(cx: &Cx<'_>) {
        const DEPTH: u32 = 10_000;
        fn step(cx: &Cx<'_>, depth: u32) {
            if depth % 2500 == 0 {
                log(format!("chain:{depth}"));
            }
            if depth == 5000 {
                set_immediate(cx, |_| log("B"));
            }
            if depth < DEPTH {
                queue_microtask(cx, move |cx| step(cx, depth + 1));
            } else {
                log("chain:end");
            }
        }
        set_immediate(cx, |_| log("A"));
        queue_microtask(cx, |cx| step(cx, 1));
        log("script:end");
    }

    pub fn s05_macrotask_from_microtask(cx: &Cx<'_>) {
        set_immediate(cx, |_| log("A"));
        queue_microtask(cx, |cx| {
            log("m1");
            set_immediate(cx, |cx| {
                log("C");
                queue_microtask(cx, |_| log("C.m1"));
            });
            queue_microtask(cx, |_| log("m1.1"));
        });
        set_immediate(cx, |cx| {
            log("B");
            queue_microtask(cx, |cx| {
                log("B.m1");
                set_immediate(cx, |_| log("D"));
            });
        });
    }

    pub fn s06_macrotask_from_macrotask(cx: &Cx<'_>) {
        set_immediate(cx, |cx| {
            log("A");
            set_immediate(cx, |cx| {
                log("A.1");
                set_immediate(cx, |_| log("A.1.1"));
            });
            queue_microtask(cx, |_| log("A.m1"));
            set_immediate(cx, |_| log("A.2"));
        });
        set_immediate(cx, |cx| {
            log("B");
            set_immediate(cx, |_| log("B.1"));
            queue_microtask(cx, |_| log("B.m1"));
        });
    }

    pub fn s07_interleaved_macrotasks_and_microtasks(cx: &Cx<'_>) {
        for name in ["A", "B", "C"] {
            set_immediate(cx, move |cx| {
                log(name);
                queue_microtask(cx, move |cx| {
                    log(format!("{name}.m1"));
                    set_immediate(cx, move |cx| {
                        log(format!("{name}.i"));
                        queue_microtask(cx, move |_| log(format!("{name}.i.m")));
                    });
                    queue_microtask(cx, move |_| log(format!("{name}.m1.m")));
                });
                then_resolved(cx, move |_| log(format!("{name}.p")));
                queue_microtask(cx, move |_| log(format!("{name}.m2")));
            });
        }
        queue_microtask(cx, |_| log("script.m"));
    }

    pub fn s08_then_and_queue_microtask_share_one_queue(cx: &Cx<'_>) {
        set_immediate(cx, |_| log("A"));
        // `resolved` is fulfilled: each `resolved.then(f)` is `then_resolved(f)`.
        then_resolved(cx, |_| log("p1"));
        queue_microtask(cx, |_| log("q1"));
        then_resolved(cx, |_| log("p2"));
        queue_microtask(cx, |cx| {
            log("q2");
            then_resolved(cx, |_| log("q2.p"));
            queue_microtask(cx, |_| log("q2.q"));
        });
        then_resolved(cx, |cx| {
            log("p3");
            queue_microtask(cx, |_| log("p3.q"));
            then_resolved(cx, |_| log("p3.p"));
        });
    }

    pub fn s09_pending_promise_reactions_queue_on_resolve(cx: &Cx<'_>) {
        let pending = Pending::new();
        pending.then(cx, |_| log("then1"));
        queue_microtask(cx, |_| log("q1"));
        pending.then(cx, |_| log("then2"));
        set_immediate(cx, move |cx| {
            log("A");
            queue_microtask(cx, |_| log("A.q1"));
            pending.resolve(cx);
            queue_microtask(cx, |_| log("A.q2"));
            pending.then(cx, |_| log("then3"));
            log("A:end");
        });
        set_immediate(cx, |_| log("B"));
    }

    pub fn s10_promise_chains_interleave(cx: &Cx<'_>) {
        set_immediate(cx, |_| log("A"));
        then_chain(cx, &["a1", "a2", "a3"]);
        then_chain(cx, &["b1", "b2"]);
        queue_microtask(cx, |_| log("q"));
    }

    pub fn s11_then_returning_promise_costs_two_jobs(cx: &Cx<'_>) {
        set_immediate(cx, |_| log("A"));
        then_resolved(cx, |cx| {
            log("a1");
            // The handler returned a promise (fulfilled with "x"): resolving the derived
            // promise with it queues NewPromiseResolveThenableJob ...
            queue_microtask(cx, |cx| {
                // ... which calls `inner.then(resolveDerived)`; `inner` is fulfilled, so that
                // reaction is queued at once ...
                then_resolved(cx, |cx| {
                    // ... and fulfils the derived promise with "x", queuing `.then(v => ..)`.
                    let value = "x";
                    then_resolved(cx, move |_| log(format!("a2:{value}")));
                });
            });
        });
        then_chain(cx, &["b1", "b2", "b3", "b4"]);
    }

    pub fn s12_async_await_steps(cx: &Cx<'_>) {
        // `async function f(name)`: runs to its first `await` now; `await v` on a non-promise
        // resumes the rest one microtask later, like a `then` on a fulfilled promise.
        fn f(cx: &Cx<'_>, name: &str) {
            log(format!("{name}1"));
            then_chain(cx, &[&format!("{name}2"), &format!("{name}3")]);
        }
        f(cx, "f");
        f(cx, "g");
        queue_microtask(cx, |_| log("q"));
        set_immediate(cx, |cx| {
            log("A");
            f(cx, "h");
            queue_microtask(cx, |_| log("A.q"));
            log("A:end");
        });
        log("script:end");
    }

    pub fn s13_exception_in_microtask(cx: &Cx<'_>) {
        set_immediate(cx, |cx| {
            log("A");
            queue_microtask(cx, |_| log("A.m1"));
            queue_microtask(cx, |cx| {
                log("A.m2");
                queue_microtask(cx, |_| log("A.m2.m"));
                set_immediate(cx, |_| log("C"));
                throw("A.m2");
            });
            queue_microtask(cx, |_| log("A.m3"));
            then_resolved(cx, |_| log("A.p4"));
        });
        set_immediate(cx, |_| log("B"));
    }

    pub fn s14_exceptions_in_nested_microtasks(cx: &Cx<'_>) {
        queue_microtask(cx, |cx| {
            log("m1");
            queue_microtask(cx, |_| {
                log("m1.1");
                throw("m1.1");
            });
            throw("m1");
        });
        queue_microtask(cx, |_| {
            log("m2");
            throw("m2");
        });
        queue_microtask(cx, |_| log("m3"));
        set_immediate(cx, |cx| {
            log("A");
            queue_microtask(cx, |_| {
                log("A.m1");
                throw("A.m1");
            });
            queue_microtask(cx, |_| log("A.m2"));
        });
        set_immediate(cx, |_| log("B"));
    }

    pub fn s15_exception_in_script(cx: &Cx<'_>) {
        log("script");
        queue_microtask(cx, |_| {
            log("s.m1");
            throw("s.m1");
        });
        queue_microtask(cx, |_| log("s.m2"));
        set_immediate(cx, |cx| {
            log("A");
            queue_microtask(cx, |_| log("A.m1"));
        });
        throw("script");
    }

    pub fn s16_exception_in_macrotask(cx: &Cx<'_>) {
        set_immediate(cx, |cx| {
            log("A");
            queue_microtask(cx, |_| log("A.m1"));
            then_resolved(cx, |_| log("A.p2"));
            throw("A");
        });
        set_immediate(cx, |cx| {
            log("B");
            queue_microtask(cx, |_| log("B.m1"));
        });
        set_immediate(cx, |_| log("C"));
    }

    pub fn s17_exceptions_in_consecutive_macrotasks(cx: &Cx<'_>) {
        for name in ["A", "B", "C"] {
            set_immediate(cx, move |cx| {
                log(name);
                queue_microtask(cx, move |_| log(format!("{name}.m1")));
                if name != "C" {
                    throw(name);
                }
            });
        }
        set_immediate(cx, |_| log("D"));
    }

    pub fn s18_exception_in_last_macrotask(cx: &Cx<'_>) {
        set_immediate(cx, |cx| {
            log("A");
            queue_microtask(cx, |cx| {
                log("A.m1");
                queue_microtask(cx, |_| log("A.m1.m"));
                set_immediate(cx, |_| log("B"));
            });
            throw("A");
        });
    }

    pub fn s19_exit_drains_in_order(cx: &Cx<'_>) {
        queue_microtask(cx, |_| log("script.m"));
        set_immediate(cx, |cx| {
            log("A");
            // Not in the JS: the Rust loop runs with `run()`, which returns only after a
            // shutdown. Admission closes here; B (already admitted) and every microtask,
            // including those queued during the drain, must still run in JS order.
            assert!(cx.shutdown(), "the first shutdown wins");
            queue_microtask(cx, |cx| {
                log("A.m1");
                queue_microtask(cx, |_| log("A.m1.m"));
            });
        });
        set_immediate(cx, |cx| {
            log("B");
            queue_microtask(cx, |_| log("B.m1"));
            throw("B");
        });
    }

    pub fn s20_timer_ties_fire_in_scheduling_order(cx: &Cx<'_>) {
        set_timeout(cx, 50.0, |_| log("a50"));
        set_timeout(cx, 10.0, |_| log("b10"));
        set_timeout(cx, 50.0, |_| log("c50"));
        set_timeout(cx, 10.0, |_| log("d10"));
        set_timeout(cx, 50.0, |cx| {
            log("e50");
            for name in ["x", "y", "z"] {
                set_timeout(cx, 20.0, move |_| log(format!("e50.{name}")));
            }
        });
    }

    pub fn s21_timers_fire_in_deadline_order(cx: &Cx<'_>) {
        set_timeout(cx, 90.0, |_| log("C90"));
        set_timeout(cx, 20.0, |cx| {
            log("A20");
            set_timeout(cx, 10.0, |_| log("A20.t10"));
        });
        set_timeout(cx, 60.0, |_| log("B60"));
        set_timeout(cx, 1.0, |_| log("D1"));
    }

    pub fn s22_checkpoint_after_each_timer(cx: &Cx<'_>) {
        for name in ["A", "B", "C"] {
            set_timeout(cx, 5.0, move |cx| {
                log(name);
                queue_microtask(cx, move |cx| {
                    log(format!("{name}.m1"));
                    queue_microtask(cx, move |_| log(format!("{name}.m1.m")));
                });
                then_chain(cx, &[&format!("{name}.p1"), &format!("{name}.p2")]);
                log(format!("{name}:end"));
            });
        }
        set_timeout(cx, 6.0, |cx| {
            log("D");
            queue_microtask(cx, |_| log("D.m1"));
        });
    }

    pub fn s23_clear_later_timer_in_same_pass(cx: &Cx<'_>) {
        let (b, d, e) = (IdSlot::default(), IdSlot::default(), IdSlot::default());
        set_timeout(cx, 5.0, {
            let (b, d) = (b.clone(), d.clone());
            move |cx| {
                log("A");
                assert_eq!(clear_timer(cx, b.get()), ClearOutcome::Cancelled);
                queue_microtask(cx, move |cx| {
                    log("A.m");
                    assert_eq!(clear_timer(cx, d.get()), ClearOutcome::Cancelled);
                });
            }
        });
        b.set(set_timeout(cx, 5.0, |_| log("B")));
        set_timeout(cx, 5.0, {
            let e = e.clone();
            move |cx| {
                log("C");
                assert_eq!(clear_timer(cx, e.get()), ClearOutcome::Cancelled);
            }
        });
        d.set(set_timeout(cx, 5.0, |_| log("D")));
        e.set(set_timeout(cx, 6.0, |_| log("E")));
        set_timeout(cx, 30.0, |_| log("F"));
    }

    pub fn s24_zero_delay_timer_from_timer_waits_for_immediates(cx: &Cx<'_>) {
        set_timeout(cx, 5.0, |cx| {
            log("A");
            set_timeout(cx, 0.0, |_| log("A.t0"));
            set_immediate(cx, |_| log("A.i"));
            queue_microtask(cx, |_| log("A.m"));
        });
        set_timeout(cx, 5.0, |cx| {
            log("B");
            set_timeout(cx, 0.0, |_| log("B.t0"));
            set_immediate(cx, |cx| {
                log("B.i");
                set_timeout(cx, 0.0, |_| log("B.i.t0"));
            });
        });
        block(10);
    }

    pub fn s25_out_of_range_delays_are_1ms(cx: &Cx<'_>) {
        // (The JS also silences Node's TimeoutOverflowWarning for 2^31: no loop analog.)
        for (name, delay) in [
            ("one1", 1.0),
            ("negative", -1.0),
            ("NaN", f64::NAN),
            ("Infinity", f64::INFINITY),
            ("zero", 0.0),
            ("half", 0.5),
            ("1.9", 1.9),
            ("2^31", 2f64.powi(31)),
            ("one2", 1.0),
            ("2.7", 2.7),
            ("two", 2.0),
        ] {
            set_timeout(cx, delay, move |_| log(name));
        }
    }

    pub fn s26_interval_clears_itself(cx: &Cx<'_>) {
        fn start_j(cx: &Cx<'_>) {
            let j = IdSlot::default();
            let mut j_runs = 0;
            j.set(set_interval(cx, 20.0, {
                let j = j.clone();
                move |cx| {
                    j_runs += 1;
                    let n = j_runs;
                    log(format!("J{n}"));
                    let j = j.clone();
                    queue_microtask(cx, move |cx| {
                        log(format!("J{n}.m"));
                        if n == 2 {
                            // Re-armed before this checkpoint: the clear cancels the next run.
                            assert_eq!(clear_timer(cx, j.get()), ClearOutcome::Cancelled);
                            set_timeout(cx, 50.0, |_| log("T"));
                        }
                    });
                }
            }));
        }
        let i = IdSlot::default();
        let mut i_runs = 0;
        i.set(set_interval(cx, 20.0, {
            let i = i.clone();
            move |cx| {
                i_runs += 1;
                let n = i_runs;
                log(format!("I{n}"));
                queue_microtask(cx, move |_| log(format!("I{n}.m")));
                if n == 3 {
                    // An interval clearing itself from its callback stops.
                    assert_eq!(clear_timer(cx, i.get()), ClearOutcome::Cancelled);
                    log(format!("I{n}:cleared"));
                    start_j(cx);
                }
            }
        }));
    }

    pub fn s27_interval_interleaves_with_timeouts(cx: &Cx<'_>) {
        let mut runs = 0;
        let interval = set_interval(cx, 200.0, move |cx| {
            runs += 1;
            let n = runs;
            log(format!("I{n}"));
            if n == 2 {
                set_timeout(cx, 150.0, |_| log("I2.t150"));
            }
        });
        set_timeout(cx, 300.0, |_| log("T300"));
        set_timeout(cx, 500.0, |_| log("T500"));
        set_timeout(cx, 700.0, move |cx| {
            log("T700");
            assert_eq!(clear_timer(cx, interval), ClearOutcome::Cancelled);
        });
    }

    pub fn s28_clear_fired_and_unknown_timers(cx: &Cx<'_>) {
        let never_issued =
            |value| TimerId::new(value).expect("a positive number is a valid TimerId");
        let a = IdSlot::default();
        a.set(set_timeout(cx, 10.0, {
            let a = a.clone();
            move |cx| {
                log("A");
                // A timeout clearing itself has already fired.
                assert_eq!(clear_timer(cx, a.get()), ClearOutcome::NotPending);
                queue_microtask(cx, |_| log("A.m"));
            }
        }));
        let interval = set_interval(cx, 20.0, |_| log("I"));
        set_timeout(cx, 30.0, move |cx| {
            log("B");
            assert_eq!(clear_timer(cx, a.get()), ClearOutcome::NotPending);
            assert_eq!(clear_timer(cx, a.get()), ClearOutcome::NotPending);
            assert_eq!(
                clear_timer(cx, never_issued(123_456_789)),
                ClearOutcome::NotPending
            );
            // clearTimeout on an interval's ID: one namespace.
            assert_eq!(clear_timer(cx, interval), ClearOutcome::Cancelled);
        });
        set_timeout(cx, 50.0, |_| log("C"));
        assert_eq!(
            clear_timer(cx, never_issued(987_654_321)),
            ClearOutcome::NotPending
        );
    }

    pub fn s29_exception_in_timer(cx: &Cx<'_>) {
        set_timeout(cx, 10.0, |cx| {
            log("A");
            queue_microtask(cx, |_| log("A.m1"));
            set_immediate(cx, |_| log("A.i"));
            throw("A");
        });
        let interval = IdSlot::default();
        let mut runs = 0;
        interval.set(set_interval(cx, 50.0, {
            let interval = interval.clone();
            move |cx| {
                runs += 1;
                let n = runs;
                log(format!("I{n}"));
                queue_microtask(cx, move |_| log(format!("I{n}.m1")));
                if n == 2 {
                    assert_eq!(clear_timer(cx, interval.get()), ClearOutcome::Cancelled);
                }
                throw(&format!("I{n}"));
            }
        }));
        set_timeout(cx, 160.0, |_| log("B"));
    }

    pub fn s30_timers_set_from_microtasks(cx: &Cx<'_>) {
        queue_microtask(cx, |cx| {
            log("script.m");
            set_timeout(cx, 5.0, |_| log("S.m.t5"));
            block(30);
        });
        set_timeout(cx, 5.0, |_| log("S.t5"));
        set_timeout(cx, 20.0, |cx| {
            log("A");
            queue_microtask(cx, |cx| {
                log("A.m");
                set_immediate(cx, |_| log("A.m.i"));
                set_timeout(cx, 0.0, |cx| {
                    log("A.m.t0");
                    then_resolved(cx, |cx| {
                        log("A.m.t0.p");
                        set_timeout(cx, 0.0, |_| log("A.m.t0.p.t0"));
                    });
                });
            });
        });
        set_timeout(cx, 20.0, |_| log("B"));
    }

    pub fn s31_timers_set_from_immediates(cx: &Cx<'_>) {
        set_immediate(cx, |cx| {
            log("I1");
            set_timeout(cx, 90.0, |_| log("I1.t90"));
            set_timeout(cx, 30.0, |_| log("I1.t30"));
            set_immediate(cx, |cx| {
                log("I2");
                set_timeout(cx, 90.0, |_| log("I2.t90"));
                set_timeout(cx, 30.0, |cx| {
                    log("I2.t30");
                    set_immediate(cx, |cx| {
                        log("J");
                        set_timeout(cx, 10.0, |_| log("J.t10"));
                    });
                });
            });
        });
        set_timeout(cx, 250.0, |_| log("S.t250"));
    }

    pub fn s32_exception_in_timer_with_more_due(cx: &Cx<'_>) {
        set_timeout(cx, 5.0, |cx| {
            log("A");
            queue_microtask(cx, |_| log("A.m1"));
            then_resolved(cx, |_| log("A.p2"));
            throw("A");
        });
        set_timeout(cx, 5.0, |cx| {
            log("B");
            queue_microtask(cx, |_| log("B.m1"));
        });
        set_timeout(cx, 5.0, |cx| {
            log("C");
            queue_microtask(cx, |_| log("C.m1"));
            throw("C");
        });
        set_timeout(cx, 5.0, |cx| {
            log("D");
            queue_microtask(cx, |_| log("D.m1"));
        });
        block(20);
    }

    pub fn s40_all_fulfils_after_last_input(cx: &Cx<'_>) {
        let s = &scheduler(cx);
        let a = promise_resolve(s, "a");
        let (b, resolve_b) = new_promise(s);
        let c = promise_resolve(s, "c");
        let (d, resolve_d) = new_promise(s);
        let _ = cx
            .all([a.clone(), b, c.clone(), d])
            .then(|vs| logged(format!("all:{}", vs.join(","))));
        let _ = cx
            .all([c, a])
            .then(|vs| logged(format!("all2:{}", vs.join(","))));
        promise_chain(s, &["t1", "t2", "t3"]);
        set_immediate(cx, move |cx| {
            log("A");
            resolve_d.resolve("d".into()).unwrap();
            queue_microtask(cx, |_| log("A.q1"));
            log("A:end");
        });
        let sb = Arc::clone(s);
        set_immediate(cx, move |_| {
            log("B");
            resolve_b.resolve("b".into()).unwrap();
            promise_chain(&sb, &["B.t1", "B.t2"]);
            log("B:end");
        });
    }

    pub fn s41_all_rejects_with_first_rejection(cx: &Cx<'_>) {
        let s = &scheduler(cx);
        let (p1, resolve1) = new_promise(s);
        let (p2, reject2) = new_promise(s);
        let (p3, reject3) = new_promise(s);
        let _ = cx.all([p1.clone(), p2, p3]).then_or_else(
            |vs| logged(format!("all:fulfilled:{}", vs.join(","))),
            |e| logged(format!("all:rejected:{e}")),
        );
        let inputs = [promise_resolve(s, "ok"), promise_reject(s, "early"), p1];
        let _ = cx.all(inputs).catch(|e| {
            log(format!("all2:rejected:{e}"));
            Ok(Vec::new())
        });
        queue_microtask(cx, |_| log("q1"));
        set_immediate(cx, move |cx| {
            log("A");
            reject3.reject(error("x3")).unwrap();
            queue_microtask(cx, |_| log("A.q1"));
            reject2.reject(error("x2")).unwrap();
            resolve1.resolve("v1".into()).unwrap();
            queue_microtask(cx, |_| log("A.q2"));
            log("A:end");
        });
        set_immediate(cx, |_| log("B"));
    }

    pub fn s42_race_first_settled_wins(cx: &Cx<'_>) {
        fn report(race: JsPromise, name: &'static str) {
            let _ = race.then_or_else(
                move |v| logged(format!("{name}:fulfilled:{v}")),
                move |e| logged(format!("{name}:rejected:{e}")),
            );
        }
        let s = &scheduler(cx);
        let (p1, resolve1) = new_promise(s);
        let (p2, reject2) = new_promise(s);
        report(cx.race([p1.clone(), p2]), "race1");
        let inputs = [p1.clone(), promise_reject(s, "r"), promise_resolve(s, "f")];
        report(cx.race(inputs), "race2");
        let inputs = [p1, promise_resolve(s, "f"), promise_reject(s, "r")];
        report(cx.race(inputs), "race3");
        let _ = promise_race_empty(s)
            .then_or_else(|_| logged("race4:fulfilled"), |_| logged("race4:rejected"));
        queue_microtask(cx, |_| log("q1"));
        set_immediate(cx, move |cx| {
            log("A");
            reject2.reject(error("x2")).unwrap();
            resolve1.resolve("v1".into()).unwrap();
            queue_microtask(cx, |_| log("A.q1"));
            log("A:end");
        });
        set_immediate(cx, |_| log("B"));
    }

    pub fn s43_all_settled_keeps_input_order(cx: &Cx<'_>) {
        fn show(outcomes: &[JsResult]) -> String {
            let records: Vec<String> = outcomes
                .iter()
                .map(|outcome| match outcome {
                    Ok(value) => format!("ok:{value}"),
                    Err(reason) => format!("err:{reason}"),
                })
                .collect();
            records.join(",")
        }
        let s = &scheduler(cx);
        let (p1, reject1) = new_promise(s);
        let (p3, resolve3) = new_promise(s);
        let inputs = [p1, promise_resolve(s, "v2"), p3, promise_reject(s, "x4")];
        let _ = cx
            .all_settled(inputs)
            .then(|rs| logged(format!("settled:{}", show(rs))));
        let inputs = [promise_reject(s, "y"), promise_resolve(s, "z")];
        let _ = cx
            .all_settled(inputs)
            .then(|rs| logged(format!("settled2:{}", show(rs))));
        promise_chain(s, &["t1", "t2", "t3"]);
        set_immediate(cx, move |cx| {
            log("A");
            resolve3.resolve("v3".into()).unwrap();
            queue_microtask(cx, |_| log("A.q1"));
            reject1.reject(error("x1")).unwrap();
            queue_microtask(cx, |_| log("A.q2"));
            log("A:end");
        });
    }

    pub fn s44_any_first_fulfilment_or_aggregate(cx: &Cx<'_>) {
        fn report(any: Promise<String, AggregateError<JsError>>, name: &'static str) {
            // `logged` returns a `JsResult`; these derived promises reject with an
            // `AggregateError`, so the callbacks return `Ok(())`.
            let _ = any.then_or_else(
                move |v| {
                    log(format!("{name}:fulfilled:{v}"));
                    Ok(())
                },
                move |e| {
                    let errors: Vec<String> = e.errors().iter().map(|e| e.to_string()).collect();
                    log(format!("{name}:rejected:{}", errors.join(",")));
                    Ok(())
                },
            );
        }
        let s = &scheduler(cx);
        let (p1, reject1) = new_promise(s);
        let (p2, resolve2) = new_promise(s);
        let (p3, reject3) = new_promise(s);
        let (p4, reject4) = new_promise(s);
        report(cx.any([p1, p2, promise_reject(s, "x0")]), "any1");
        report(cx.any([p3, promise_reject(s, "x5"), p4]), "any2");
        let inputs = [promise_reject(s, "y"), promise_resolve(s, "z")];
        report(cx.any(inputs), "any3");
        queue_microtask(cx, |_| log("q1"));
        set_immediate(cx, move |cx| {
            log("A");
            reject4.reject(error("x4")).unwrap();
            reject1.reject(error("x1")).unwrap();
            queue_microtask(cx, |_| log("A.q1"));
            resolve2.resolve("v2".into()).unwrap();
            reject3.reject(error("x3")).unwrap();
            queue_microtask(cx, |_| log("A.q2"));
            log("A:end");
        });
    }

    pub fn s45_empty_inputs(cx: &Cx<'_>) {
        let s = &scheduler(cx);
        queue_microtask(cx, |_| log("q1"));
        let _ = cx
            .all(no_promises())
            .then(|vs| logged(format!("all:{}", vs.len())));
        queue_microtask(cx, |_| log("q2"));
        let _ = cx
            .all_settled(no_promises())
            .then(|rs| logged(format!("allSettled:{}", rs.len())));
        let _ = cx.any(no_promises()).catch(|e| {
            log(format!("any:rejected:{}", e.errors().len()));
            Ok(String::new())
        });
        let _ = promise_race_empty(s)
            .then_or_else(|_| logged("race:fulfilled"), |_| logged("race:rejected"));
        queue_microtask(cx, |_| log("q3"));
        let sa = Arc::clone(s);
        set_immediate(cx, move |cx| {
            log("A");
            let _ = cx
                .all(no_promises())
                .then(|_| logged("A.all"))
                .then(|_| logged("A.all.2"));
            promise_chain(&sa, &["A.t1"]);
        });
    }

    pub fn s46_combinators_of_combinators(cx: &Cx<'_>) {
        let s = &scheduler(cx);
        let never = promise_race_empty(s);
        let race1 = cx.race([promise_resolve(s, "r")]);
        let l2 = promise_resolve(s, "l").then(|v| Ok(format!("{v}2")));
        let race2 = cx.race([l2, never]);
        let _ = cx
            .all([race1, race2])
            .then(|vs| logged(format!("all:{}", vs.join(","))));
        let race_x = cx.race([promise_reject(s, "x")]);
        let race_y = cx.race([promise_resolve(s, "y")]);
        let _ = cx.any([race_x, race_y]).then(|v| {
            log(format!("any:{v}"));
            Ok(())
        });
        let sa = Arc::clone(s);
        let (p, q) = (promise_resolve(s, "p"), promise_resolve(s, "q"));
        let _ = promise_resolve(s, "")
            .then(move |_| {
                log("a1");
                promise::all(sa, [p, q])
            })
            .then(|vs| logged(format!("a2:{}", vs.join(","))));
        promise_chain(s, &["t1", "t2", "t3", "t4", "t5"]);
    }

    pub fn s50_promise_reactions_in_settle_order(cx: &Cx<'_>) {
        let s = &scheduler(cx);
        let (a, resolve_a) = new_promise(s);
        let (b, resolve_b) = new_promise(s);
        let (c, reject_c) = new_promise(s);
        let _ = a.then(|v| logged(format!("a1:{v}")));
        let _ = b.then(|v| logged(format!("b1:{v}")));
        let _ = a.then(|v| logged(format!("a2:{v}")));
        let _ = c.catch(|e| logged(format!("c1:{e}")));
        let _ = b.then(|v| logged(format!("b2:{v}")));
        let _ = c
            .then(|_| logged("never"))
            .catch(|e| logged(format!("c2:{e}")));
        set_immediate(cx, move |_| {
            log("A");
            resolve_b.resolve("B".into()).unwrap();
            reject_c.reject(error("C")).unwrap();
            resolve_a.resolve("A".into()).unwrap();
            let _ = a.then(|v| logged(format!("a3:{v}")));
            log("A:end");
        });
        set_immediate(cx, |_| log("B"));
    }

    pub fn s51_then_and_queue_microtask_interleave(cx: &Cx<'_>) {
        let s = &scheduler(cx);
        let (p, resolve) = new_promise(s);
        let s1 = Arc::clone(s);
        let _ = p
            .then(move |_| {
                log("p1");
                queue_job(&s1, || log("p1.q"));
                Ok(String::new())
            })
            .then(|_| logged("p1.then"));
        queue_microtask(cx, move |cx| {
            log("q1");
            resolve.resolve("x".into()).unwrap();
            queue_microtask(cx, |_| log("q1.q"));
        });
        let _ = p.then(|v| logged(format!("p2:{v}")));
        let _ = promise_resolve(s, "")
            .then(|_| logged("r1"))
            .then(|_| logged("r2"))
            .then(|_| logged("r3"));
        queue_microtask(cx, |_| log("q2"));
        set_immediate(cx, |_| log("A"));
    }

    pub fn s52_adoption_hops_from_then(cx: &Cx<'_>) {
        let s = &scheduler(cx);
        let late: Arc<Mutex<Option<Resolver<String, JsError>>>> = Arc::default();
        let s1 = Arc::clone(s);
        let _ = promise_resolve(s, "")
            .then(move |_| {
                log("x1");
                promise_resolve(&s1, "X")
            })
            .then(|v| logged(format!("x2:{v}")));
        let (s2, late2) = (Arc::clone(s), Arc::clone(&late));
        let _ = promise_resolve(s, "")
            .then(move |_| {
                log("y1");
                let (pending, resolve) = new_promise(&s2);
                *late2.lock().unwrap() = Some(resolve);
                pending
            })
            .then(|v| logged(format!("y2:{v}")));
        let s3 = Arc::clone(s);
        let _ = promise_resolve(s, "")
            .then(move |_| {
                log("z1");
                promise_reject(&s3, "Z")
            })
            .catch(|e| logged(format!("z2:{e}")));
        let _ = promise_resolve(s, "")
            .then(|_| logged("b1"))
            .then(|_| logged("b2"))
            .then(move |_| {
                log("b3");
                let resolve = late.lock().unwrap().take().expect("y1 ran before b3");
                resolve.resolve("Y".into()).unwrap();
                Ok(String::new())
            })
            .then(|_| logged("b4"))
            .then(|_| logged("b5"))
            .then(|_| logged("b6"))
            .then(|_| logged("b7"));
    }

    pub fn s53_resolve_with_a_promise(cx: &Cx<'_>) {
        let s = &scheduler(cx);
        let f = promise_resolve(s, "F");
        let (outer1, resolve1) = new_promise(s);
        resolve1.adopt(f.clone());
        let _ = outer1.then(|v| logged(format!("o1:{v}")));
        let (pending, resolve_pending) = new_promise(s);
        let (outer2, resolve2) = new_promise(s);
        resolve2.adopt(pending);
        let _ = outer2.then(|v| logged(format!("o2:{v}")));
        let rejected = promise_reject(s, "R");
        let (outer3, resolve3) = new_promise(s);
        resolve3.adopt(rejected);
        let _ = outer3.catch(|e| logged(format!("o3:{e}")));
        // `Promise.resolve(f)` of a native promise is `f`.
        let same = f.clone();
        log(format!("same:{}", same.ptr_eq(&f)));
        let _ = same.then(|v| logged(format!("same:{v}")));
        let _ = promise_resolve(s, "")
            .then(|_| logged("c1"))
            .then(move |_| {
                log("c2");
                resolve_pending.resolve("P".into()).unwrap();
                Ok(String::new())
            })
            .then(|_| logged("c3"))
            .then(|_| logged("c4"))
            .then(|_| logged("c5"));
    }

    pub fn s54_finally_hops(cx: &Cx<'_>) {
        let s = &scheduler(cx);
        let (gate, open_gate) = new_promise(s);
        let _ = promise_resolve(s, "v1")
            .finally(|| logged("f1"))
            .then(|v| logged(format!("f1.then:{v}")));
        let _ = promise_reject(s, "e2")
            .finally(|| logged("f2"))
            .catch(|e| logged(format!("f2.catch:{e}")));
        let _ = promise_resolve(s, "v3")
            .finally(|| -> JsResult {
                log("f3");
                throw("f3")
            })
            .catch(|e| logged(format!("f3.catch:{e}")));
        let _ = promise_resolve(s, "v4")
            .finally(move || {
                log("f4");
                gate
            })
            .then(|v| logged(format!("f4.then:{v}")));
        let s5 = Arc::clone(s);
        let _ = promise_resolve(s, "v5")
            .finally(move || {
                log("f5");
                promise_reject(&s5, "f5")
            })
            .catch(|e| logged(format!("f5.catch:{e}")));
        let _ = promise_resolve(s, "")
            .then(|_| logged("c1"))
            .then(|_| logged("c2"))
            .then(|_| logged("c3"))
            .then(|_| logged("c4"))
            .then(|_| logged("c5"));
        set_immediate(cx, move |_| {
            log("A");
            open_gate.resolve("ignored".into()).unwrap();
        });
    }

    pub fn s55_catch_pass_through(cx: &Cx<'_>) {
        let s = &scheduler(cx);
        let _ = promise_resolve(s, "v")
            .catch(|_| logged("never"))
            .catch(|_| logged("never"))
            .then(|v| logged(format!("v:{v}")));
        let _ = promise_reject(s, "e")
            .then(|_| logged("never"))
            .then(|_| logged("never"))
            .catch(|e| logged(format!("e:{e}")));
        let _ = promise_reject(s, "e2")
            .then_or_else(|_| logged("never"), |e| logged(format!("onRejected:{e}")));
        let _ = promise_resolve(s, "v2")
            .then_or_else(|v| logged(format!("onFulfilled:{v}")), |_| logged("never"));
        let _ = promise_resolve(s, "")
            .then(|_| logged("c1"))
            .then(|_| logged("c2"))
            .then(|_| logged("c3"))
            .then(|_| logged("c4"));
    }

    pub fn s56_throw_in_then(cx: &Cx<'_>) {
        let s = &scheduler(cx);
        let _ = promise_resolve(s, "v")
            .then(|_| -> JsResult {
                log("t1");
                throw("boom1")
            })
            .then(|_| logged("never"))
            .catch(|e| logged(format!("caught:{e}")));
        let _ = promise_reject(s, "e")
            .catch(|e| -> JsResult {
                log(format!("c1:{e}"));
                throw("boom2")
            })
            .catch(|e| logged(format!("caught:{e}")));
        let _ = promise_resolve(s, "v").then(|_| -> JsResult {
            log("t3");
            throw("boom3")
        });
        set_immediate(cx, |_| log("A"));
        log("script:end");
    }

    pub fn s57_late_then_on_settled(cx: &Cx<'_>) {
        let s = &scheduler(cx);
        let f = promise_resolve(s, "F");
        let r = promise_reject(s, "R");
        let _ = r.catch(|_| logged("r.early"));
        let (f2, r2) = (f.clone(), r.clone());
        set_immediate(cx, move |cx| {
            log("A");
            let _ = f.then(|v| logged(format!("f.late:{v}")));
            queue_microtask(cx, |_| log("A.q"));
            let _ = r.then_or_else(|_| logged("never"), |e| logged(format!("r.late:{e}")));
            let _ = r
                .then(|_| logged("never"))
                .catch(|e| logged(format!("r.late2:{e}")));
            let _ = f
                .finally(|| logged("f.finally"))
                .then(|v| logged(format!("f.finally.then:{v}")));
            queue_microtask(cx, |_| log("A.q2"));
        });
        set_timeout(cx, 30.0, move |_| {
            log("T");
            let _ = r2.catch(|e| logged(format!("r.timer:{e}")));
            let _ = f2.then(|v| logged(format!("f.timer:{v}")));
        });
    }

    pub fn s58_rejection_recovery_chains(cx: &Cx<'_>) {
        let s = &scheduler(cx);
        let (s3, s4) = (Arc::clone(s), Arc::clone(s));
        let _ = promise_reject(s, "e1")
            .catch(|e| {
                log(format!("recover:{e}"));
                Ok("r1".to_string())
            })
            .then(|v| -> JsResult {
                log(format!("then:{v}"));
                throw("e2")
            })
            .then(|_| logged("never"))
            .catch(move |e| {
                log(format!("recover:{e}"));
                promise_reject(&s3, "e3")
            })
            .catch(move |e| {
                log(format!("recover:{e}"));
                promise_resolve(&s4, "r3")
            })
            .then(|v| logged(format!("end:{v}")));
        let _ = promise_reject(s, "x")
            .then_or_else(|v| Ok(v.clone()), |e| Ok(format!("fixed:{e}")))
            .then(|v| logged(v.clone()));
        let mut chain = promise_resolve(s, "");
        for n in 1..=10 {
            chain = chain.then(move |_| logged(format!("c{n}")));
        }
    }

    pub fn s59_unhandled_rejection_timing(cx: &Cx<'_>) {
        let s = &scheduler(cx);
        let _ = promise_reject(s, "script");
        let handled_soon = promise_reject(s, "soon");
        queue_microtask(cx, move |_| {
            let _ = handled_soon.catch(|e| logged(format!("caught:{e}")));
        });
        log("script:end");
        let sa = Arc::clone(s);
        set_immediate(cx, move |cx| {
            log("A");
            let _ = promise_resolve(&sa, "").then(move |_| {
                log("A.p");
                promise_reject(&sa, "A.derived")
            });
            queue_microtask(cx, |_| log("A.q"));
        });
        set_immediate(cx, |_| log("B"));
        let st = Arc::clone(s);
        set_timeout(cx, 30.0, move |cx| {
            log("T1");
            let _ = promise_reject(&st, "T1");
            queue_microtask(cx, |_| log("T1.q"));
        });
        set_timeout(cx, 30.0, |_| log("T2"));
    }

    pub fn s60_handled_later_after_macrotasks(cx: &Cx<'_>) {
        let s = &scheduler(cx);
        let p = promise_reject(s, "p");
        let q = promise_reject(s, "q");
        let p2 = p.clone();
        set_immediate(cx, move |cx| {
            log("A");
            let _ = p.catch(|e| logged(format!("caught:{e}")));
            queue_microtask(cx, |_| log("A.q"));
        });
        set_immediate(cx, move |_| {
            log("B");
            let _ = p2.catch(|e| logged(format!("caught again:{e}")));
        });
        set_timeout(cx, 30.0, move |_| {
            log("T");
            let _ = q
                .then(|_| logged("never"))
                .catch(|e| logged(format!("caught:{e}")));
        });
    }

    pub fn s61_rejection_hook_handles_in_place(cx: &Cx<'_>) {
        let s = &scheduler(cx);
        // The listener finds the promise a report is about by its id (Node passes the promise).
        let promises: Vec<JsPromise> = vec![promise_reject(s, "x"), promise_reject(s, "y")];
        let hook_scheduler = Arc::clone(s);
        on_rejection(move |event| {
            if event.kind != RejectionKind::Unhandled {
                return;
            }
            let reason = format!("{:?}", event.reason);
            queue_job(&hook_scheduler, move || log(format!("hook.q:{reason}")));
            let promise = promises
                .iter()
                .find(|p| p.id() == event.id)
                .expect("a report about one of the script's promises");
            let _ = promise.catch(|e| logged(format!("hook.caught:{e}")));
        });
        queue_microtask(cx, |_| log("q"));
        set_immediate(cx, |_| log("A"));
    }

    pub fn s62_handled_reported_before_unhandled(cx: &Cx<'_>) {
        let s = &scheduler(cx);
        let p = promise_reject(s, "p");
        let sa = Arc::clone(s);
        set_immediate(cx, move |cx| {
            log("A");
            let _ = promise_reject(&sa, "q");
            let _ = p.catch(|e| logged(format!("caught:{e}")));
            queue_microtask(cx, |_| log("A.q"));
        });
        set_immediate(cx, |_| log("B"));
    }

    pub fn s63_unhandled_rejection_in_throwing_macrotask(cx: &Cx<'_>) {
        let s = &scheduler(cx);
        let (sa, sb) = (Arc::clone(s), Arc::clone(s));
        set_immediate(cx, move |cx| {
            log("A");
            let _ = promise_reject(&sa, "a");
            queue_microtask(cx, |_| log("A.q"));
            throw("A");
        });
        set_immediate(cx, move |_| {
            log("B");
            let _ = promise_reject(&sb, "b");
        });
        set_immediate(cx, |_| log("C"));
    }

    pub fn s64_chaining_cycle(cx: &Cx<'_>) {
        let s = &scheduler(cx);
        let (p, resolve_self) = new_promise(s);
        resolve_self.adopt(p.clone());
        let _ = p.catch(|e| logged(format!("p:{}:{e}", e.name)));
        let slot: Arc<Mutex<Option<JsPromise>>> = Arc::default();
        let own = Arc::clone(&slot);
        let d = promise_resolve(s, "").then(move |_| {
            log("d.callback");
            own.lock()
                .unwrap()
                .take()
                .expect("d was stored before the callback ran")
        });
        *slot.lock().unwrap() = Some(d.clone());
        let _ = d.catch(|e| logged(format!("d:{}:{e}", e.name)));
        queue_microtask(cx, |_| log("q"));
    }
}

// ---------------------------------------------------------------------------------------------
// Running and checking.

fn scenario_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/scenarios")
}

/// The file stem of the scenario checked by the test named `name` (`sNN_x` checks `NN_x`).
fn stem(name: &str) -> &str {
    name.strip_prefix('s')
        .expect("scenario tests are named s<file stem>")
}

/// The expected log of a scenario: its `.expected.txt` (HTML override) without the `#` header
/// lines if there is one, else what Node printed.
fn expected(stem: &str) -> (PathBuf, Vec<String>) {
    let dir = scenario_dir();
    let html = dir.join(format!("{stem}.expected.txt"));
    let node = dir.join(format!("{stem}.node.txt"));
    let path = if html.exists() { html } else { node };
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run tests/conformance/record.sh)", path.display()));
    let lines = text
        .lines()
        .skip_while(|line| line.starts_with('#'))
        .map(str::to_string)
        .collect();
    (path, lines)
}

/// Installs (once per process) a std panic hook that stays silent for panics raised inside a
/// scenario (they are the scenarios' JS exceptions, reported through the loop's hook) and
/// prints every other panic (assertion failures) as usual.
fn quiet_scenario_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_SCENARIO.with(Cell::get) {
                default(info);
            }
        }));
    });
}

/// Clears `IN_SCENARIO` when the run ends, however it ends.
struct InScenario;

impl InScenario {
    fn enter() -> Self {
        IN_SCENARIO.with(|flag| flag.set(true));
        Self
    }
}

impl Drop for InScenario {
    fn drop(&mut self) {
        IN_SCENARIO.with(|flag| flag.set(false));
    }
}

/// Runs `script` as the first macrotask of a fresh single-threaded loop and returns the log.
fn run(script: fn(&Cx<'_>), mode: Mode, max_tasks_per_tick: usize) -> Vec<String> {
    quiet_scenario_panics();
    LOG.with(|log| log.borrow_mut().clear());
    REJECTION_LISTENER.with(|slot| slot.borrow_mut().take());
    let clock = ManualClock::new();
    CLOCK.with(|c| *c.borrow_mut() = Some(clock.clone()));
    let mut el = EventLoop::builder()
        .clock(clock.clone())
        .config(Config {
            spin_before_sleep: Duration::ZERO,
            max_tasks_per_tick,
            // Node has no nesting clamp (HTML's 4 ms minimum from the sixth nested timer).
            timer_nesting: NestingPolicy { clamp: false },
            ..Config::default()
        })
        .panic_hook(|report| {
            log(format!(
                "error:{}",
                report.message().unwrap_or("(non-string panic payload)")
            ));
        })
        .rejection_hook(report_rejection)
        .build();
    el.submit(script).expect("a new loop accepts work");
    {
        let _running = InScenario::enter();
        match mode {
            Mode::Idle => {
                run_virtual(&mut el, &clock);
                // Idle means nothing is left: a graceful shutdown now must run nothing more.
                let before = el.stats();
                assert!(el.handle().shutdown(), "the scenario did not shut down");
                el.run().expect("the loop terminates once");
                let after = el.stats();
                assert_eq!(
                    (
                        after.tasks_run,
                        after.microtasks_run,
                        after.timers_fired,
                        after.timers_dropped
                    ),
                    (
                        before.tasks_run,
                        before.microtasks_run,
                        before.timers_fired,
                        before.timers_dropped
                    ),
                    "work was left after the last run_until_idle returned"
                );
            }
            Mode::Shutdown => el.run().expect("the loop terminates once"),
        }
    }
    assert_eq!(el.state(), LoopState::Terminated);
    // Nothing can run or be reported any more: dropping them now changes no log.
    KEEP_ALIVE.with(|keep| keep.borrow_mut().clear());
    LOG.with(|log| std::mem::take(&mut *log.borrow_mut()))
}

/// Virtual time: runs what is ready, then moves the clock to the earliest timer deadline, until
/// no timer is left (like Node, whose process ends once no timer or immediate is pending).
fn run_virtual(el: &mut EventLoop, clock: &ManualClock) {
    // Every scenario ends (its intervals clear themselves); this bound turns a bug into a
    // failure instead of a hang.
    const MAX_PASSES: usize = 10_000;
    for _ in 0..MAX_PASSES {
        el.run_until_idle().expect("the loop has not terminated");
        match el.next_timer_deadline() {
            Some(deadline) => clock.advance_to(deadline),
            None => return,
        }
    }
    panic!("timers still pending after {MAX_PASSES} timer passes (an interval never cleared?)");
}

fn check(name: &str, script: fn(&Cx<'_>), mode: Mode) {
    let stem = stem(name);
    let (path, want) = expected(stem);
    for max_tasks_per_tick in [Config::default().max_tasks_per_tick, 1] {
        let got = run(script, mode, max_tasks_per_tick);
        assert_eq!(
            got,
            want,
            "scenario {stem}: the loop's order (left) differs from {} (right), \
             with max_tasks_per_tick = {max_tasks_per_tick}",
            path.display()
        );
    }
}

/// Stems of the files in the scenario directory with this suffix.
fn stems_with(suffix: &str) -> BTreeSet<String> {
    std::fs::read_dir(scenario_dir())
        .expect("tests/conformance/scenarios")
        .map(|entry| entry.expect("a directory entry").file_name())
        .filter_map(|name| name.to_str()?.strip_suffix(suffix).map(str::to_string))
        .collect()
}

#[test]
fn every_scenario_has_a_rust_test() {
    let scripts = stems_with(".js");
    let tested: BTreeSet<String> = SCENARIOS.iter().map(|n| stem(n).to_string()).collect();
    assert!(scripts.len() >= 15, "the suite needs at least 15 scenarios");
    assert_eq!(
        scripts.difference(&tested).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "scenarios without a Rust test: add them to `scenarios!` in tests/tests/conformance.rs"
    );
    assert_eq!(
        tested.difference(&scripts).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "Rust tests without a scenario .js"
    );
    // Every scenario has Node's recording, and nothing is recorded for a missing scenario.
    assert_eq!(
        stems_with(".node.txt"),
        scripts,
        "run tests/conformance/record.sh"
    );
    // The README lists every scenario.
    let readme = std::fs::read_to_string(scenario_dir().join("../README.md")).expect("README");
    for stem in &scripts {
        assert!(
            readme.contains(stem.as_str()),
            "tests/conformance/README.md does not list {stem}"
        );
    }
}

#[test]
fn html_overrides_explain_themselves_and_differ_from_node() {
    for stem in stems_with(".expected.txt") {
        let dir = scenario_dir();
        let text =
            std::fs::read_to_string(dir.join(format!("{stem}.expected.txt"))).expect("override");
        assert!(
            text.starts_with("# rule: "),
            "{stem}.expected.txt must start with a `# rule: ...` line"
        );
        let (_, html) = expected(&stem);
        let node: Vec<String> = std::fs::read_to_string(dir.join(format!("{stem}.node.txt")))
            .expect("node recording")
            .lines()
            .map(str::to_string)
            .collect();
        assert_ne!(
            html, node,
            "{stem}: the override equals Node's output; delete {stem}.expected.txt"
        );
        let mut sorted = (html.clone(), node.clone());
        sorted.0.sort();
        sorted.1.sort();
        assert_eq!(
            sorted.0, sorted.1,
            "{stem}: an HTML override may reorder Node's events, not add or drop any"
        );
    }
}
