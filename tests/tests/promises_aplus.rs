//! The Promises/A+ specification (<https://promisesaplus.com/>, version 1.1), clause by clause,
//! on the loop's [`Promise`]: one test (or a few) per clause of section 2.1 (promise states),
//! 2.2 (the `then` method) and 2.3 (the promise resolution procedure), named after the clause.
//!
//! How the JS vocabulary maps:
//!
//! - `promise.then(onFulfilled, onRejected)` is [`Promise::then_or_else`]; `then(onFulfilled)`
//!   is [`Promise::then`] (no `onRejected`: a rejection passes through), `catch(onRejected)` is
//!   `then(undefined, onRejected)`; `finally` and the general `react` follow the same rules.
//! - A callback "returns a value `x`" when it returns `Ok(x)`, "returns a promise" when it
//!   returns a [`Promise`] (or `Resolution::Adopt`), and "throws `e`" when it panics (the panic
//!   is caught and rejects the derived promise with `Failure::Panicked(message)`) or returns
//!   `Err(e)` (a rejection, like `return Promise.reject(e)` but without the extra jobs).
//! - "The execution context stack contains only platform code" (2.2.4, note 3.1) means: never
//!   inside `then`, `resolve` or `reject`, and never before the job that is running returns;
//!   reactions run as microtasks of the loop, later, in FIFO order with `queue_microtask`.
//! - The `TypeError` of 2.3.1 is `Failure::Cycle`.
//!
//! Clauses with no Rust analog are doc comments where their test would be (2.2.1 non-function
//! arguments, 2.2.5 `this`, most of 2.3.3 thenables): the type system rules them out, and a
//! test without an assertion would prove nothing. The JS job counts (how many microtasks an
//! adoption costs) are ECMAScript's, not A+'s; they are pinned here where A+ names the step,
//! and against Node in `tests/conformance/` (scenarios 50 and up).
#![cfg(not(loom))]

use std::panic::resume_unwind;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::thread;

use eventloop_core::EventLoop;
use eventloop_core::driver::RejectionKind;
use eventloop_core::promise::{Failure, IntoPromise, Promise, Resolution, Resolver, SettleCell};

/// A rejection reason: a user's, or one the promise layer produced.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Why {
    User(&'static str),
    Failed(Failure),
}

impl From<Failure> for Why {
    fn from(failure: Failure) -> Self {
        Self::Failed(failure)
    }
}

type P<T = u32> = Promise<T, Why>;
type Log = Arc<Mutex<Vec<String>>>;

fn new_log() -> Log {
    Arc::default()
}

fn push(log: &Log, entry: impl Into<String>) {
    log.lock().unwrap().push(entry.into());
}

fn entries(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}

fn pending(el: &EventLoop) -> (P, Resolver<u32, Why>) {
    el.promise()
}

fn fulfilled(el: &EventLoop, value: u32) -> P {
    Promise::fulfilled(el.handle().scheduler(), value)
}

/// A rejected promise that is handled (so the default rejection hook stays quiet).
fn rejected(el: &EventLoop, reason: &'static str) -> P {
    let p = Promise::rejected(el.handle().scheduler(), Why::User(reason));
    let _ = p.catch(|_| Ok(0));
    p
}

/// A loop whose unhandled-rejection reports are counted instead of printed.
fn quiet_loop() -> (EventLoop, Arc<AtomicUsize>) {
    let reports = Arc::new(AtomicUsize::new(0));
    let r = Arc::clone(&reports);
    let el = EventLoop::builder()
        .rejection_hook(move |event| {
            if event.kind == RejectionKind::Unhandled {
                r.fetch_add(1, SeqCst);
            }
        })
        .build();
    (el, reports)
}

/// A deliberate "throw" that skips the std panic hook (no noise on stderr); the message is
/// kept (`Failure::Panicked(Some(..))`).
fn throw(message: &'static str) -> ! {
    resume_unwind(Box::new(message))
}

fn panicked(message: &str) -> Why {
    Why::Failed(Failure::Panicked(Some(message.to_string())))
}

// =============================================================================================
// 2.1 Promise States

/// 2.1.1.1: a pending promise may transition to the fulfilled state.
#[test]
fn clause_2_1_1_1_a_pending_promise_may_become_fulfilled() {
    let mut el = EventLoop::new();
    let (p, resolver) = pending(&el);
    assert!(p.is_pending());
    el.run_until_idle().unwrap();
    assert!(p.is_pending(), "nothing settles a promise but its resolver");
    resolver.resolve(7).unwrap();
    assert_eq!(p.outcome(), Some(&Ok(7)));
}

/// 2.1.1.1: a pending promise may transition to the rejected state.
#[test]
fn clause_2_1_1_1_a_pending_promise_may_become_rejected() {
    let mut el = EventLoop::new();
    let (p, resolver) = pending(&el);
    let _ = p.catch(|_| Ok(0));
    el.run_until_idle().unwrap();
    assert!(p.is_pending());
    resolver.reject(Why::User("no")).unwrap();
    assert_eq!(p.outcome(), Some(&Err(Why::User("no"))));
}

/// 2.1.2.1: a fulfilled promise must not transition to any other state. The `Resolver` is
/// consumed by settling, so a second `resolve`/`reject` on it does not compile; the settlement
/// cell under it refuses every later settler, also when settlers race on several threads, and
/// hands each loser its outcome back.
#[test]
fn clause_2_1_2_1_a_fulfilled_promise_never_transitions() {
    let cell: SettleCell<Result<u32, Why>> = SettleCell::new();
    assert_eq!(cell.settle(Ok(1), |_| {}), Ok(()));
    assert_eq!(
        cell.settle(Err(Why::User("late")), |_| {}),
        Err(Err(Why::User("late")))
    );
    assert_eq!(cell.settle(Ok(2), |_| {}), Err(Ok(2)));
    assert_eq!(cell.outcome(), Some(&Ok(1)));

    for _ in 0..50 {
        let cell: Arc<SettleCell<Result<u32, Why>>> = Arc::new(SettleCell::new());
        let winners: Vec<_> = (0..4u32)
            .map(|n| {
                let cell = Arc::clone(&cell);
                thread::spawn(move || {
                    let outcome = if n % 2 == 0 {
                        Ok(n)
                    } else {
                        Err(Why::User("odd"))
                    };
                    cell.settle(outcome.clone(), |_| {})
                        .is_ok()
                        .then_some(outcome)
                })
            })
            .filter_map(|t| t.join().unwrap())
            .collect();
        assert_eq!(winners.len(), 1, "exactly one settler wins");
        assert_eq!(cell.outcome(), Some(&winners[0]));
    }

    // On a loop: after fulfilment, nothing the loop runs changes the state, including a
    // rejection of the promise's derived promises.
    let mut el = EventLoop::new();
    let (p, resolver) = pending(&el);
    let _ = p
        .then(|_| -> Result<u32, Why> { Err(Why::User("derived only")) })
        .catch(|_| Ok(0));
    resolver.resolve(5).unwrap();
    el.run_until_idle().unwrap();
    assert_eq!(p.outcome(), Some(&Ok(5)));
}

/// 2.1.2.2: a fulfilled promise has a value, which must not change: every reaction, registered
/// before the fulfilment, right after it or many loop turns later, sees the same value, and
/// `outcome()` returns the same place every time.
#[test]
fn clause_2_1_2_2_a_fulfilled_value_never_changes() {
    let mut el = EventLoop::new();
    let (p, resolver) = pending(&el);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = |p: &P, seen: &Arc<Mutex<Vec<u32>>>| {
        let seen = Arc::clone(seen);
        let _ = p.then(move |v| {
            seen.lock().unwrap().push(*v);
            Ok(0)
        });
    };
    record(&p, &seen);
    resolver.resolve(42).unwrap();
    let first = p.outcome().unwrap() as *const _;
    record(&p, &seen);
    el.run_until_idle().unwrap();
    for _ in 0..3 {
        el.submit(|_| {}).unwrap();
        el.run_until_idle().unwrap();
        record(&p, &seen);
    }
    el.run_until_idle().unwrap();
    assert_eq!(*seen.lock().unwrap(), [42; 5]);
    assert_eq!(p.outcome().unwrap() as *const _, first);
}

/// 2.1.3.1: a rejected promise must not transition to any other state.
#[test]
fn clause_2_1_3_1_a_rejected_promise_never_transitions() {
    let cell: SettleCell<Result<u32, Why>> = SettleCell::new();
    assert_eq!(cell.settle(Err(Why::User("first")), |_| {}), Ok(()));
    assert_eq!(cell.settle(Ok(1), |_| {}), Err(Ok(1)));
    assert_eq!(
        cell.settle(Err(Why::User("second")), |_| {}),
        Err(Err(Why::User("second")))
    );
    assert_eq!(cell.outcome(), Some(&Err(Why::User("first"))));

    let mut el = EventLoop::new();
    let (p, resolver) = pending(&el);
    // A callback that recovers fulfils the derived promise, never the source.
    let recovered = p.catch(|_| Ok(9));
    resolver.reject(Why::User("no")).unwrap();
    el.run_until_idle().unwrap();
    assert_eq!(recovered.outcome(), Some(&Ok(9)));
    assert_eq!(p.outcome(), Some(&Err(Why::User("no"))));
}

/// 2.1.3.2: a rejected promise has a reason, which must not change.
#[test]
fn clause_2_1_3_2_a_rejection_reason_never_changes() {
    let mut el = EventLoop::new();
    let (p, resolver) = pending(&el);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = |p: &P, seen: &Arc<Mutex<Vec<Why>>>| {
        let seen = Arc::clone(seen);
        let _ = p.catch(move |e| {
            seen.lock().unwrap().push(e.clone());
            Ok(0)
        });
    };
    record(&p, &seen);
    resolver.reject(Why::User("why")).unwrap();
    record(&p, &seen);
    el.run_until_idle().unwrap();
    record(&p, &seen);
    el.run_until_idle().unwrap();
    assert_eq!(*seen.lock().unwrap(), vec![Why::User("why"); 3]);
    assert_eq!(p.outcome(), Some(&Err(Why::User("why"))));
}

// =============================================================================================
// 2.2 The `then` Method

// 2.2.1: "Both onFulfilled and onRejected are optional arguments: if onFulfilled (onRejected) is
// not a function, it must be ignored." In Rust the optional argument is a choice of method:
// `then(f)` has no `onRejected`, `catch(g)` no `onFulfilled`, `then_or_else(f, g)` both. An
// argument that is not a function cannot be passed at all: the parameters are
// `F: FnOnce(&T) -> R` and `G: FnOnce(&E) -> S`, so `p.then(5)` or `p.catch("x")` is a compile
// error, not a value to ignore at run time. What A+ requires of the missing callback (the
// outcome passes through, 2.2.7.3 and 2.2.7.4) is tested below.

/// 2.2.1.1: without `onFulfilled` (`catch`), a fulfilment is ignored by the callback.
#[test]
fn clause_2_2_1_1_catch_has_no_on_fulfilled_and_ignores_a_fulfilment() {
    let mut el = EventLoop::new();
    let called = new_log();
    let c = Arc::clone(&called);
    let derived = fulfilled(&el, 3).catch(move |_| {
        push(&c, "onRejected");
        Ok(0)
    });
    el.run_until_idle().unwrap();
    assert!(entries(&called).is_empty());
    assert_eq!(derived.outcome(), Some(&Ok(3)));
}

/// 2.2.1.2: without `onRejected` (`then(f)`), a rejection is ignored by the callback.
#[test]
fn clause_2_2_1_2_then_has_no_on_rejected_and_ignores_a_rejection() {
    let mut el = EventLoop::new();
    let called = new_log();
    let c = Arc::clone(&called);
    let derived = rejected(&el, "r").then(move |v| {
        push(&c, "onFulfilled");
        Ok(*v)
    });
    let _ = derived.catch(|_| Ok(0));
    el.run_until_idle().unwrap();
    assert!(entries(&called).is_empty());
    assert_eq!(derived.outcome(), Some(&Err(Why::User("r"))));
}

/// 2.2.2.1: `onFulfilled` must be called after the promise is fulfilled, with its value as its
/// first argument.
#[test]
fn clause_2_2_2_1_on_fulfilled_gets_the_value_after_fulfilment() {
    let mut el = EventLoop::new();
    let (p, resolver) = pending(&el);
    let log = new_log();
    let (l, watcher) = (Arc::clone(&log), p.clone());
    let _ = p.then(move |v| {
        push(
            &l,
            format!("value {v}, source fulfilled: {:?}", watcher.outcome()),
        );
        Ok(0)
    });
    el.submit(move |_| resolver.resolve(11).unwrap()).unwrap();
    el.run_until_idle().unwrap();
    assert_eq!(entries(&log), ["value 11, source fulfilled: Some(Ok(11))"]);
}

/// 2.2.2.2: `onFulfilled` must not be called before the promise is fulfilled: not across loop
/// turns, macrotasks and microtasks while it is pending, and not if it is rejected instead.
#[test]
fn clause_2_2_2_2_on_fulfilled_is_not_called_before_fulfilment() {
    let mut el = EventLoop::new();
    let (p, resolver) = pending(&el);
    let (q, rejecter) = pending(&el);
    let count = Arc::new(AtomicUsize::new(0));
    for promise in [&p, &q] {
        let c = Arc::clone(&count);
        let _ = promise
            .then(move |_| {
                c.fetch_add(1, SeqCst);
                Ok(0)
            })
            .catch(|_| Ok(0));
    }
    for _ in 0..5 {
        el.submit(|cx| cx.queue_microtask(|_| {}).unwrap()).unwrap();
        el.run_until_idle().unwrap();
        assert_eq!(count.load(SeqCst), 0);
    }
    rejecter.reject(Why::User("no")).unwrap();
    el.run_until_idle().unwrap();
    assert_eq!(
        count.load(SeqCst),
        0,
        "a rejection does not call onFulfilled"
    );
    resolver.resolve(1).unwrap();
    assert_eq!(count.load(SeqCst), 0, "not inside resolve (2.2.4)");
    el.run_until_idle().unwrap();
    assert_eq!(count.load(SeqCst), 1);
}

/// 2.2.2.3: `onFulfilled` must not be called more than once. (It is an `FnOnce`, so the type
/// system already forbids a second call; this checks it is called, exactly once, whatever runs
/// afterwards, also when the promise is settled from another thread while the loop runs.)
#[test]
fn clause_2_2_2_3_on_fulfilled_is_called_at_most_once() {
    let mut el = EventLoop::new();
    let handle = el.handle();
    let (p, resolver) = pending(&el);
    let count = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&count);
    let _ = p.then(move |_| {
        c.fetch_add(1, SeqCst);
        Ok(0)
    });
    let settler = thread::spawn(move || {
        resolver.resolve(1).unwrap();
        handle.shutdown();
    });
    el.run().unwrap();
    settler.join().unwrap();
    assert_eq!(count.load(SeqCst), 1);
}

/// 2.2.3.1: `onRejected` must be called after the promise is rejected, with its reason as its
/// first argument.
#[test]
fn clause_2_2_3_1_on_rejected_gets_the_reason_after_rejection() {
    let mut el = EventLoop::new();
    let (p, resolver) = pending(&el);
    let log = new_log();
    let (l, watcher) = (Arc::clone(&log), p.clone());
    let _ = p.catch(move |e| {
        push(&l, format!("reason {e:?}, source: {:?}", watcher.outcome()));
        Ok(0)
    });
    el.submit(move |_| resolver.reject(Why::User("r")).unwrap())
        .unwrap();
    el.run_until_idle().unwrap();
    assert_eq!(
        entries(&log),
        [r#"reason User("r"), source: Some(Err(User("r")))"#]
    );
}

/// 2.2.3.2: `onRejected` must not be called before the promise is rejected (nor if it is
/// fulfilled instead).
#[test]
fn clause_2_2_3_2_on_rejected_is_not_called_before_rejection() {
    let mut el = EventLoop::new();
    let (p, resolver) = pending(&el);
    let (q, fulfiller) = pending(&el);
    let count = Arc::new(AtomicUsize::new(0));
    for promise in [&p, &q] {
        let c = Arc::clone(&count);
        let _ = promise.catch(move |_| {
            c.fetch_add(1, SeqCst);
            Ok(0)
        });
    }
    for _ in 0..5 {
        el.submit(|_| {}).unwrap();
        el.run_until_idle().unwrap();
    }
    fulfiller.resolve(1).unwrap();
    el.run_until_idle().unwrap();
    assert_eq!(count.load(SeqCst), 0);
    resolver.reject(Why::User("no")).unwrap();
    assert_eq!(count.load(SeqCst), 0, "not inside reject (2.2.4)");
    el.run_until_idle().unwrap();
    assert_eq!(count.load(SeqCst), 1);
}

/// 2.2.3.3: `onRejected` must not be called more than once.
#[test]
fn clause_2_2_3_3_on_rejected_is_called_at_most_once() {
    let mut el = EventLoop::new();
    let handle = el.handle();
    let (p, resolver) = pending(&el);
    let count = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&count);
    let _ = p.catch(move |_| {
        c.fetch_add(1, SeqCst);
        Ok(0)
    });
    let settler = thread::spawn(move || {
        resolver.reject(Why::User("no")).unwrap();
        handle.shutdown();
    });
    el.run().unwrap();
    settler.join().unwrap();
    assert_eq!(count.load(SeqCst), 1);
}

/// 2.2.2 and 2.2.3 together: `then(onFulfilled, onRejected)` calls exactly one of them, the
/// one that matches the outcome (A+ 2.2.2.3/2.2.3.3 in the 1.0 text: "must not be called if the
/// other has been called").
#[test]
fn clause_2_2_3_then_or_else_calls_exactly_one_callback() {
    let mut el = EventLoop::new();
    let log = new_log();
    for (name, p) in [
        ("fulfilled", fulfilled(&el, 1)),
        ("rejected", rejected(&el, "r")),
    ] {
        let (f, g) = (Arc::clone(&log), Arc::clone(&log));
        let _ = p.then_or_else(
            move |_| {
                push(&f, format!("{name}: onFulfilled"));
                Ok(0)
            },
            move |_| {
                push(&g, format!("{name}: onRejected"));
                Ok(0)
            },
        );
    }
    el.run_until_idle().unwrap();
    assert_eq!(
        entries(&log),
        ["fulfilled: onFulfilled", "rejected: onRejected"]
    );
}

/// 2.2.4: `onFulfilled` must not be called until the execution context stack contains only
/// platform code: `then` on a fulfilled promise returns first, the code after it in the same
/// task (and the microtasks queued before it) run first.
#[test]
fn clause_2_2_4_then_on_a_fulfilled_promise_returns_before_on_fulfilled_runs() {
    let mut el = EventLoop::new();
    let log = new_log();
    let p = fulfilled(&el, 1);
    let l = Arc::clone(&log);
    el.submit(move |cx| {
        let (a, b, c) = (Arc::clone(&l), Arc::clone(&l), Arc::clone(&l));
        cx.queue_microtask(move |_| push(&a, "microtask queued before then"))
            .unwrap();
        let _ = p.then(move |_| {
            push(&b, "onFulfilled");
            Ok(0)
        });
        push(&c, "then returned");
        push(&l, "task ends");
    })
    .unwrap();
    el.run_until_idle().unwrap();
    assert_eq!(
        entries(&log),
        [
            "then returned",
            "task ends",
            "microtask queued before then",
            "onFulfilled"
        ]
    );
}

/// 2.2.4 for `onRejected`, and for `catch`, `then_or_else` and `finally` on a settled promise.
#[test]
fn clause_2_2_4_then_on_a_rejected_promise_returns_before_on_rejected_runs() {
    let mut el = EventLoop::new();
    let log = new_log();
    let p = rejected(&el, "r");
    el.run_until_idle().unwrap();
    let l = Arc::clone(&log);
    el.submit(move |_| {
        let (a, b, c) = (Arc::clone(&l), Arc::clone(&l), Arc::clone(&l));
        let _ = p.catch(move |_| {
            push(&a, "catch");
            Ok(0)
        });
        let _ = p.then_or_else(
            |_| Ok(0),
            move |_| {
                push(&b, "then_or_else");
                Ok(0)
            },
        );
        let _ = p
            .finally(move || {
                push(&c, "finally");
                Ok::<_, Why>(0)
            })
            .catch(|_| Ok(0));
        push(&l, "registered all three");
    })
    .unwrap();
    el.run_until_idle().unwrap();
    assert_eq!(
        entries(&log),
        ["registered all three", "catch", "then_or_else", "finally"]
    );
}

/// 2.2.4: settling runs no callback either: `resolve`/`reject` return first, and the reactions
/// they queue run after the microtasks queued before the settlement.
#[test]
fn clause_2_2_4_resolve_and_reject_return_before_any_reaction_runs() {
    let mut el = EventLoop::new();
    let log = new_log();
    let (p, resolver) = pending(&el);
    let (q, rejecter) = pending(&el);
    let (a, b) = (Arc::clone(&log), Arc::clone(&log));
    let _ = p.then(move |_| {
        push(&a, "onFulfilled");
        Ok(0)
    });
    let _ = q.catch(move |_| {
        push(&b, "onRejected");
        Ok(0)
    });
    let l = Arc::clone(&log);
    el.submit(move |cx| {
        let m = Arc::clone(&l);
        cx.queue_microtask(move |_| push(&m, "microtask queued before"))
            .unwrap();
        resolver.resolve(1).unwrap();
        push(&l, "resolve returned");
        rejecter.reject(Why::User("r")).unwrap();
        push(&l, "reject returned");
    })
    .unwrap();
    el.run_until_idle().unwrap();
    assert_eq!(
        entries(&log),
        [
            "resolve returned",
            "reject returned",
            "microtask queued before",
            "onFulfilled",
            "onRejected"
        ]
    );
}

/// 2.2.4 inside a reaction: a `then` registered by a running callback on a settled promise
/// runs after that callback returned, behind the jobs already queued.
#[test]
fn clause_2_2_4_then_inside_a_reaction_runs_after_that_reaction_returns() {
    let mut el = EventLoop::new();
    let log = new_log();
    let p = fulfilled(&el, 1);
    let (l, l2, inner) = (Arc::clone(&log), Arc::clone(&log), p.clone());
    let _ = p.then(move |_| {
        let l3 = Arc::clone(&l);
        let _ = inner.then(move |_| {
            push(&l3, "inner onFulfilled");
            Ok(0)
        });
        push(&l, "outer returns");
        Ok(0)
    });
    let _ = p.then(move |_| {
        push(&l2, "second outer");
        Ok(0)
    });
    el.run_until_idle().unwrap();
    assert_eq!(
        entries(&log),
        ["outer returns", "second outer", "inner onFulfilled"]
    );
}

/// 2.2.4 across threads: registering or settling on another thread runs no callback there;
/// every callback runs on the loop thread, only when the loop runs.
#[test]
fn clause_2_2_4_callbacks_never_run_on_the_settling_or_registering_thread() {
    let mut el = EventLoop::new();
    let loop_thread = thread::current().id();
    let (p, resolver) = pending(&el);
    let ran_on = Arc::new(Mutex::new(Vec::new()));
    let (r1, r2) = (Arc::clone(&ran_on), Arc::clone(&ran_on));
    let early = p.clone();
    thread::spawn(move || {
        let _ = early.then(move |_| {
            r1.lock().unwrap().push(thread::current().id());
            Ok(0)
        });
        resolver.resolve(1).unwrap();
        let _ = early.then(move |_| {
            r2.lock().unwrap().push(thread::current().id());
            Ok(0)
        });
    })
    .join()
    .unwrap();
    assert!(
        ran_on.lock().unwrap().is_empty(),
        "nothing ran before the loop did"
    );
    el.run_until_idle().unwrap();
    assert_eq!(*ran_on.lock().unwrap(), [loop_thread, loop_thread]);
}

// 2.2.5: "onFulfilled and onRejected must be called as functions (i.e. with no this value)."
// Rust closures have no `this`: a callback sees only what it captured and its argument
// (`&T` or `&E`). There is nothing to test.

/// 2.2.6.1: if/when the promise is fulfilled, all respective `onFulfilled` callbacks must
/// execute in the order of their originating calls to `then` (registered while pending).
#[test]
fn clause_2_2_6_1_on_fulfilled_callbacks_run_in_then_order() {
    let mut el = EventLoop::new();
    let (p, resolver) = pending(&el);
    let log = new_log();
    for n in 0..10 {
        let l = Arc::clone(&log);
        let _ = p.then(move |v| {
            push(&l, format!("{n}:{v}"));
            Ok(0)
        });
    }
    resolver.resolve(7).unwrap();
    el.run_until_idle().unwrap();
    let want: Vec<String> = (0..10).map(|n| format!("{n}:7")).collect();
    assert_eq!(entries(&log), want);
}

/// 2.2.6.1 with callbacks registered before and after the fulfilment, and in a later turn:
/// still the order of the `then` calls.
#[test]
fn clause_2_2_6_1_order_holds_for_callbacks_registered_after_fulfilment() {
    let mut el = EventLoop::new();
    let (p, resolver) = pending(&el);
    let log = new_log();
    let then = |n: u32| {
        let l = Arc::clone(&log);
        let _ = p.then(move |_| {
            push(&l, n.to_string());
            Ok(0)
        });
    };
    then(0);
    then(1);
    resolver.resolve(1).unwrap();
    then(2);
    then(3);
    el.run_until_idle().unwrap();
    then(4);
    then(5);
    el.run_until_idle().unwrap();
    assert_eq!(entries(&log), ["0", "1", "2", "3", "4", "5"]);
}

/// 2.2.6.1 when one callback throws and another returns a promise (the A+ suite's "multiple
/// fulfillment handlers, one of which throws"): all still run in order, and each derived
/// promise gets its own callback's result.
#[test]
fn clause_2_2_6_1_order_holds_when_a_callback_throws_or_returns_a_promise() {
    let mut el = EventLoop::new();
    let s = el.handle().scheduler();
    let (p, resolver) = pending(&el);
    let log = new_log();
    let (a, b, c) = (Arc::clone(&log), Arc::clone(&log), Arc::clone(&log));
    let d1 = p.then(move |v| {
        push(&a, "1");
        Ok(*v + 1)
    });
    let d2 = p.then(move |_| -> Result<u32, Why> {
        push(&b, "2");
        throw("two")
    });
    let d3 = p.then(move |v| {
        push(&c, "3");
        Promise::fulfilled(s, *v + 3)
    });
    let _ = d2.catch(|_| Ok(0));
    resolver.resolve(10).unwrap();
    el.run_until_idle().unwrap();
    assert_eq!(entries(&log), ["1", "2", "3"]);
    assert_eq!(d1.outcome(), Some(&Ok(11)));
    assert_eq!(d2.outcome(), Some(&Err(panicked("two"))));
    assert_eq!(d3.outcome(), Some(&Ok(13)));
}

/// Registration on one thread racing the settlement on another, many times: whichever way
/// each `then` falls (before, during or after the settlement), the callbacks run in the order
/// of the `then` calls (DESIGN.md: "also when registration races with settlement").
fn order_holds_when_then_races_settle(reject: bool) {
    const CALLBACKS: usize = 40;
    for round in 0..60 {
        let mut el = EventLoop::new();
        let (p, resolver) = pending(&el);
        let log = new_log();
        let registrar = {
            let (p, log) = (p.clone(), Arc::clone(&log));
            thread::spawn(move || {
                for n in 0..CALLBACKS {
                    let (f, g) = (Arc::clone(&log), Arc::clone(&log));
                    let _ = p.then_or_else(
                        move |_| {
                            push(&f, n.to_string());
                            Ok(0)
                        },
                        move |_| {
                            push(&g, n.to_string());
                            Ok(0)
                        },
                    );
                }
            })
        };
        let settler = thread::spawn(move || {
            if reject {
                resolver.reject(Why::User("r")).unwrap();
            } else {
                resolver.resolve(1).unwrap();
            }
        });
        registrar.join().unwrap();
        settler.join().unwrap();
        el.run_until_idle().unwrap();
        let want: Vec<String> = (0..CALLBACKS).map(|n| n.to_string()).collect();
        assert_eq!(entries(&log), want, "round {round}");
    }
}

/// 2.2.6.1 when `then` races the fulfilment on another thread.
#[test]
fn clause_2_2_6_1_order_holds_when_then_races_resolve_on_another_thread() {
    order_holds_when_then_races_settle(false);
}

/// 2.2.6.2: if/when the promise is rejected, all respective `onRejected` callbacks must execute
/// in the order of their originating calls to `then`.
#[test]
fn clause_2_2_6_2_on_rejected_callbacks_run_in_then_order() {
    let mut el = EventLoop::new();
    let (p, resolver) = pending(&el);
    let log = new_log();
    for n in 0..10 {
        let l = Arc::clone(&log);
        let _ = p.catch(move |e| {
            push(&l, format!("{n}:{e:?}"));
            Ok(0)
        });
    }
    resolver.reject(Why::User("r")).unwrap();
    for n in 10..12 {
        let l = Arc::clone(&log);
        let _ = p.catch(move |e| {
            push(&l, format!("{n}:{e:?}"));
            Ok(0)
        });
    }
    el.run_until_idle().unwrap();
    let want: Vec<String> = (0..12).map(|n| format!(r#"{n}:User("r")"#)).collect();
    assert_eq!(entries(&log), want);
}

/// 2.2.6.2 with `catch`, `then_or_else`, `finally` and a pass-through `then` mixed: the
/// callbacks that run on the rejection run in registration order.
#[test]
fn clause_2_2_6_2_order_holds_for_mixed_catch_then_or_else_and_finally() {
    let mut el = EventLoop::new();
    let (p, resolver) = pending(&el);
    let log = new_log();
    let (a, b, c, d) = (
        Arc::clone(&log),
        Arc::clone(&log),
        Arc::clone(&log),
        Arc::clone(&log),
    );
    let _ = p.catch(move |_| {
        push(&a, "catch");
        Ok(0)
    });
    let passed = p.then(|v| Ok(*v)); // no onRejected: nothing of ours runs
    let _ = p.then_or_else(
        |_| Ok(0),
        move |_| {
            push(&b, "then_or_else");
            Ok(0)
        },
    );
    let _ = p
        .finally(move || {
            push(&c, "finally");
            Ok::<_, Why>(0)
        })
        .catch(|_| Ok(0));
    let _ = p.catch(move |_| {
        push(&d, "catch again");
        Ok(0)
    });
    let _ = passed.catch(|_| Ok(0));
    resolver.reject(Why::User("r")).unwrap();
    el.run_until_idle().unwrap();
    assert_eq!(
        entries(&log),
        ["catch", "then_or_else", "finally", "catch again"]
    );
}

/// 2.2.6.2 when `then` races the rejection on another thread.
#[test]
fn clause_2_2_6_2_order_holds_when_then_races_reject_on_another_thread() {
    order_holds_when_then_races_settle(true);
}

/// 2.2.7: `then` must return a promise: a new one (not the source), pending until its callback
/// ran, also when the source is already settled.
#[test]
fn clause_2_2_7_then_returns_a_new_pending_promise() {
    let mut el = EventLoop::new();
    let p = fulfilled(&el, 1);
    let r = rejected(&el, "r");
    let derived = [
        p.then(|v| Ok(*v)),
        p.catch(|_| Ok(0)),
        p.finally(|| Ok::<_, Why>(0)),
        p.then_or_else(|v| Ok(*v), |_| Ok(0)),
        r.then(|v| Ok(*v)),
        r.catch(|_| Ok(0)),
    ];
    for (n, d) in derived.iter().enumerate() {
        assert!(!d.ptr_eq(&p) && !d.ptr_eq(&r), "{n}: a new promise");
        assert!(d.is_pending(), "{n}: pending until its reaction ran");
        let _ = d.catch(|_| Ok(0));
    }
    assert!(!derived[0].ptr_eq(&derived[1]));
    el.run_until_idle().unwrap();
    assert!(derived.iter().all(|d| !d.is_pending()));
}

/// 2.2.7.1: if either callback returns a value `x`, run `[[Resolve]](promise2, x)`: a plain
/// value fulfils `promise2` (2.3.4).
#[test]
fn clause_2_2_7_1_a_returned_value_fulfils_promise2() {
    let mut el = EventLoop::new();
    let from_fulfilled = fulfilled(&el, 2).then(|v| Ok(v * 10));
    let from_rejected = rejected(&el, "r").catch(|_| Ok(30));
    let from_either = rejected(&el, "r").then_or_else(|_| Ok(0), |_| Ok(40));
    // The value may be of another type than the source's.
    let retyped: P<String> = fulfilled(&el, 5).then(|v| Ok(format!("five={v}")));
    el.run_until_idle().unwrap();
    assert_eq!(from_fulfilled.outcome(), Some(&Ok(20)));
    assert_eq!(from_rejected.outcome(), Some(&Ok(30)));
    assert_eq!(from_either.outcome(), Some(&Ok(40)));
    assert_eq!(retyped.outcome(), Some(&Ok("five=5".to_string())));
}

/// 2.2.7.1 with a returned promise: `[[Resolve]]` adopts it (2.3.2), from either callback.
#[test]
fn clause_2_2_7_1_a_returned_promise_runs_the_resolution_procedure() {
    let mut el = EventLoop::new();
    let (s1, s2) = (el.handle().scheduler(), el.handle().scheduler());
    let (later, resolver) = pending(&el);
    let adopted_value = fulfilled(&el, 1).then(move |_| Promise::fulfilled(s1, 100));
    let adopted_reason =
        fulfilled(&el, 1).then(move |_| Promise::<u32, Why>::rejected(s2, Why::User("inner")));
    let adopted_later = rejected(&el, "r").catch(move |_| later);
    let _ = adopted_reason.catch(|_| Ok(0));
    el.run_until_idle().unwrap();
    assert_eq!(adopted_value.outcome(), Some(&Ok(100)));
    assert_eq!(adopted_reason.outcome(), Some(&Err(Why::User("inner"))));
    assert!(adopted_later.is_pending());
    resolver.resolve(200).unwrap();
    el.run_until_idle().unwrap();
    assert_eq!(adopted_later.outcome(), Some(&Ok(200)));
}

/// 2.2.7.1 for `finally` (ECMAScript): a promise returned by `onFinally` is waited for (the
/// derived promise stays pending until it settles), then the original outcome passes through;
/// if it rejects, its reason replaces the outcome.
#[test]
fn clause_2_2_7_1_finally_waits_for_a_returned_promise() {
    let mut el = EventLoop::new();
    let (gate, open) = pending(&el);
    let (bad_gate, fail) = pending(&el);
    let waited = fulfilled(&el, 1).finally(move || gate);
    let replaced = fulfilled(&el, 1).finally(move || bad_gate);
    let _ = replaced.catch(|_| Ok(0));
    for _ in 0..3 {
        el.submit(|_| {}).unwrap();
        el.run_until_idle().unwrap();
        assert!(waited.is_pending() && replaced.is_pending());
    }
    open.resolve(99).unwrap();
    fail.reject(Why::User("gate")).unwrap();
    el.run_until_idle().unwrap();
    assert_eq!(
        waited.outcome(),
        Some(&Ok(1)),
        "the original value, not the gate's"
    );
    assert_eq!(replaced.outcome(), Some(&Err(Why::User("gate"))));
}

/// 2.2.7.2: if `onFulfilled` throws an exception `e`, `promise2` must be rejected with `e` as
/// the reason: a panic (with a `&str` or `String` message, or another payload) is caught and
/// rejects it with `Failure::Panicked`; the loop itself sees no panic.
#[test]
fn clause_2_2_7_2_a_panic_in_on_fulfilled_rejects_promise2_with_it() {
    let mut el = EventLoop::new();
    let p = fulfilled(&el, 1);
    let str_payload = p.then(|_| -> Result<u32, Why> { throw("boom") });
    let string_payload =
        p.then(|v| -> Result<u32, Why> { resume_unwind(Box::new(format!("boom {v}"))) });
    let other_payload = p.then(|_| -> Result<u32, Why> { resume_unwind(Box::new(7u8)) });
    let via_panic_macro = p.then(|v| -> Result<u32, Why> {
        if *v == 1 {
            panic!("the std panic path, message {v}");
        }
        Ok(0)
    });
    let caught = str_payload.catch(|e| match e {
        Why::Failed(Failure::Panicked(Some(m))) if m == "boom" => Ok(1),
        _ => Ok(0),
    });
    for d in [&string_payload, &other_payload, &via_panic_macro] {
        let _ = d.catch(|_| Ok(0));
    }
    el.run_until_idle().unwrap();
    assert_eq!(str_payload.outcome(), Some(&Err(panicked("boom"))));
    assert_eq!(string_payload.outcome(), Some(&Err(panicked("boom 1"))));
    assert_eq!(
        other_payload.outcome(),
        Some(&Err(Why::Failed(Failure::Panicked(None))))
    );
    assert_eq!(
        via_panic_macro.outcome(),
        Some(&Err(panicked("the std panic path, message 1")))
    );
    assert_eq!(caught.outcome(), Some(&Ok(1)));
    assert_eq!(
        el.stats().panics,
        0,
        "a callback's panic is a rejection, not a loop panic"
    );
}

/// 2.2.7.2 for `onRejected` (and returning `Err` from a callback, the non-panicking way to
/// throw).
#[test]
fn clause_2_2_7_2_a_panic_in_on_rejected_rejects_promise2_with_it() {
    let mut el = EventLoop::new();
    let r = rejected(&el, "r");
    let thrown = r.catch(|_| -> Result<u32, Why> { throw("in catch") });
    let thrown_else = r.then_or_else(|v| Ok(*v), |_| -> Result<u32, Why> { throw("in else") });
    let returned_err = r.catch(|_| Err(Why::User("rethrown")));
    for d in [&thrown, &thrown_else, &returned_err] {
        let _ = d.catch(|_| Ok(0));
    }
    el.run_until_idle().unwrap();
    assert_eq!(thrown.outcome(), Some(&Err(panicked("in catch"))));
    assert_eq!(thrown_else.outcome(), Some(&Err(panicked("in else"))));
    assert_eq!(returned_err.outcome(), Some(&Err(Why::User("rethrown"))));
    assert_eq!(el.stats().panics, 0);
}

/// 2.2.7.2 for `finally` (ECMAScript): a throwing `onFinally` rejects the derived promise with
/// its exception, replacing the original outcome, fulfilled or rejected.
#[test]
fn clause_2_2_7_2_a_panic_in_on_finally_rejects_the_derived_promise() {
    let mut el = EventLoop::new();
    let on_value = fulfilled(&el, 1).finally(|| -> Result<u32, Why> { throw("finally") });
    let on_reason = rejected(&el, "r").finally(|| -> Result<u32, Why> { throw("finally") });
    for d in [&on_value, &on_reason] {
        let _ = d.catch(|_| Ok(0));
    }
    el.run_until_idle().unwrap();
    assert_eq!(on_value.outcome(), Some(&Err(panicked("finally"))));
    assert_eq!(on_reason.outcome(), Some(&Err(panicked("finally"))));
}

/// 2.2.7.3: if `onFulfilled` is not a function (`catch`, `finally`) and `promise1` is
/// fulfilled, `promise2` must be fulfilled with the same value; also through a chain of them.
#[test]
fn clause_2_2_7_3_without_on_fulfilled_promise2_fulfils_with_the_same_value() {
    let mut el = EventLoop::new();
    let (p, resolver) = pending(&el);
    let caught = p.catch(|_| Ok(0));
    let finally = p.finally(|| Ok::<_, Why>(999));
    let chain = p
        .catch(|_| Ok(0))
        .finally(|| Ok::<_, Why>(0))
        .catch(|_| Ok(1));
    resolver.resolve(8).unwrap();
    el.run_until_idle().unwrap();
    assert_eq!(caught.outcome(), Some(&Ok(8)));
    assert_eq!(finally.outcome(), Some(&Ok(8)), "not the callback's value");
    assert_eq!(chain.outcome(), Some(&Ok(8)));
}

/// 2.2.7.4: if `onRejected` is not a function (`then(f)`, `finally`) and `promise1` is
/// rejected, `promise2` must be rejected with the same reason; also through a chain.
#[test]
fn clause_2_2_7_4_without_on_rejected_promise2_rejects_with_the_same_reason() {
    let mut el = EventLoop::new();
    let (p, resolver) = pending(&el);
    let then = p.then(|v| Ok(*v));
    let finally = p.finally(|| Ok::<_, Why>(0));
    let chain: P<String> = p
        .then(|v| Ok(*v))
        .finally(|| Ok::<_, Why>(0))
        .then(|v| Ok(v.to_string()));
    for d in [&then, &finally] {
        let _ = d.catch(|_| Ok(0));
    }
    let _ = chain.catch(|_| Ok(String::new()));
    resolver.reject(Why::User("same")).unwrap();
    el.run_until_idle().unwrap();
    assert_eq!(then.outcome(), Some(&Err(Why::User("same"))));
    assert_eq!(finally.outcome(), Some(&Err(Why::User("same"))));
    assert_eq!(chain.outcome(), Some(&Err(Why::User("same"))));
}

// =============================================================================================
// 2.3 The Promise Resolution Procedure

/// 2.3.1: if `promise` and `x` refer to the same object, reject `promise` with a `TypeError`
/// (here `Failure::Cycle`): at once, inside `adopt`, with no job.
#[test]
fn clause_2_3_1_resolving_a_promise_with_itself_rejects_with_a_cycle_error() {
    let mut el = EventLoop::new();
    let (p, resolver) = pending(&el);
    let _ = p.catch(|_| Ok(0));
    resolver.adopt(p.clone());
    assert_eq!(p.outcome(), Some(&Err(Why::Failed(Failure::Cycle))));
    el.run_until_idle().unwrap();
    assert_eq!(p.outcome(), Some(&Err(Why::Failed(Failure::Cycle))));

    // The same through `resolve_with`.
    let (q, resolver) = pending(&el);
    let _ = q.catch(|_| Ok(0));
    resolver.resolve_with(Resolution::Adopt(q.clone()));
    assert_eq!(q.outcome(), Some(&Err(Why::Failed(Failure::Cycle))));
}

/// 2.3.1 through a callback: `promise2 = p.then(() => promise2)` rejects `promise2` with the
/// cycle error when the callback returns.
#[test]
fn clause_2_3_1_returning_promise2_from_its_own_callback_rejects_with_a_cycle_error() {
    let mut el = EventLoop::new();
    let slot: Arc<Mutex<Option<P>>> = Arc::default();
    let own = Arc::clone(&slot);
    let promise2 = fulfilled(&el, 1).then(move |_| own.lock().unwrap().take().unwrap());
    *slot.lock().unwrap() = Some(promise2.clone());
    let seen = promise2.catch(|e| match e {
        Why::Failed(Failure::Cycle) => Ok(1),
        _ => Ok(0),
    });
    el.run_until_idle().unwrap();
    assert_eq!(promise2.outcome(), Some(&Err(Why::Failed(Failure::Cycle))));
    assert_eq!(seen.outcome(), Some(&Ok(1)));
}

/// 2.3.2.1: if `x` is a promise and pending, `promise` must remain pending until `x` is
/// fulfilled or rejected.
#[test]
fn clause_2_3_2_1_adopting_a_pending_promise_stays_pending_until_it_settles() {
    let mut el = EventLoop::new();
    let (x, x_resolver) = pending(&el);
    let (p, resolver) = pending(&el);
    resolver.adopt(x.clone());
    let (y, y_resolver) = pending(&el);
    let from_callback = fulfilled(&el, 0).then(move |_| y);
    let _ = from_callback.catch(|_| Ok(0));
    for _ in 0..5 {
        el.submit(|_| {}).unwrap();
        el.run_until_idle().unwrap();
        assert!(p.is_pending() && from_callback.is_pending());
    }
    x_resolver.resolve(3).unwrap();
    y_resolver.reject(Why::User("y")).unwrap();
    assert!(
        p.is_pending(),
        "adoption completes in jobs, not inside resolve"
    );
    el.run_until_idle().unwrap();
    assert_eq!(p.outcome(), Some(&Ok(3)));
    assert_eq!(from_callback.outcome(), Some(&Err(Why::User("y"))));
}

/// 2.3.2.2: if/when `x` is fulfilled, fulfil `promise` with the same value (`x` already
/// fulfilled, or fulfilled later, from the loop or another thread).
#[test]
fn clause_2_3_2_2_adopting_a_fulfilled_promise_fulfils_with_its_value() {
    let mut el = EventLoop::new();
    let (already, resolver) = pending(&el);
    resolver.adopt(fulfilled(&el, 1));
    let (x, x_resolver) = pending(&el);
    let (later, resolver) = pending(&el);
    resolver.adopt(x);
    el.run_until_idle().unwrap();
    assert_eq!(already.outcome(), Some(&Ok(1)));
    thread::spawn(move || x_resolver.resolve(2).unwrap())
        .join()
        .unwrap();
    el.run_until_idle().unwrap();
    assert_eq!(later.outcome(), Some(&Ok(2)));
}

/// 2.3.2.3: if/when `x` is rejected, reject `promise` with the same reason. Adopting `x` is a
/// reaction on it (ECMAScript's `then` in NewPromiseResolveThenableJob), so `x` counts as
/// handled: only `promise` can be reported unhandled.
#[test]
fn clause_2_3_2_3_adopting_a_rejected_promise_rejects_with_its_reason() {
    let (mut el, reports) = quiet_loop();
    let (already, resolver) = pending(&el);
    resolver.adopt(Promise::rejected(el.handle().scheduler(), Why::User("x")));
    let _ = already.catch(|_| Ok(0));
    let (x, x_resolver) = pending(&el);
    let (later, resolver) = pending(&el);
    resolver.adopt(x);
    el.run_until_idle().unwrap();
    assert_eq!(already.outcome(), Some(&Err(Why::User("x"))));
    x_resolver.reject(Why::User("later")).unwrap();
    el.run_until_idle().unwrap();
    assert_eq!(later.outcome(), Some(&Err(Why::User("later"))));
    assert_eq!(
        reports.load(SeqCst),
        1,
        "only `later` (no handler) is reported"
    );
}

/// 2.3.2 with ECMAScript's job count: adopting a settled promise takes two jobs
/// (NewPromiseResolveThenableJob, then the reaction), a pending one two jobs after it settles;
/// the adopting promise's own reactions come one job after that.
#[test]
fn clause_2_3_2_adoption_takes_the_two_ecmascript_jobs() {
    let mut el = EventLoop::new();
    let log = new_log();
    let l = Arc::clone(&log);
    el.submit(move |cx| {
        let s = cx.handle().scheduler();
        let (p, resolver) = cx.promise::<u32, Why>();
        resolver.adopt(Promise::fulfilled(s.clone(), 1));
        let a = Arc::clone(&l);
        let _ = p.then(move |_| {
            push(&a, "adopter's reaction");
            Ok(0)
        });
        // A counter: one entry per job round.
        let mut chain = Promise::<u32, Why>::fulfilled(s, 0);
        for n in 1..=4 {
            let c = Arc::clone(&l);
            chain = chain.then(move |_| {
                push(&c, format!("job {n}"));
                Ok(0)
            });
        }
    })
    .unwrap();
    el.run_until_idle().unwrap();
    // Round 1: the thenable job (and job 1); round 2: the reaction settles p (and job 2);
    // round 3: p's reaction (and job 3).
    assert_eq!(
        entries(&log),
        ["job 1", "job 2", "adopter's reaction", "job 3", "job 4"]
    );
}

/// 2.3.2 transitively: `a` adopts `b` adopts `c`; all take `c`'s outcome once it settles.
#[test]
fn clause_2_3_2_adoption_chains_through_several_promises() {
    let mut el = EventLoop::new();
    let (c, c_resolver) = pending(&el);
    let (b, b_resolver) = pending(&el);
    let (a, a_resolver) = pending(&el);
    a_resolver.adopt(b.clone());
    b_resolver.adopt(c.clone());
    el.run_until_idle().unwrap();
    assert!(a.is_pending() && b.is_pending());
    c_resolver.resolve(5).unwrap();
    el.run_until_idle().unwrap();
    assert_eq!(a.outcome(), Some(&Ok(5)));
    assert_eq!(b.outcome(), Some(&Ok(5)));
}

// 2.3.3: "Otherwise, if x is an object or function": thenables. JS must probe any object for a
// `then` property, because promises from different libraries interoperate through it. Rust has
// no untyped objects: what a callback may return is fixed by the trait `IntoPromise` — a
// `Result` (a value or a rejection: 2.3.4), a `Promise` of this crate (2.3.2), or a
// `Resolution`. Hence:
//
// - 2.3.3.1 and 2.3.3.2 (read `x.then` once; a throwing getter rejects) have no getter to read.
//   The analog is a user type implementing `IntoPromise`: its conversion runs once, inside the
//   reaction, and a panic in it rejects `promise2` (tested below).
// - 2.3.3.3 (call `then` with `resolvePromise`/`rejectPromise`): a foreign promise type
//   converts itself into a `Resolution` (settle now, or adopt one of ours).
// - 2.3.3.3.3 (only the first call of `resolvePromise`/`rejectPromise` counts) and 2.3.3.3.4.1
//   (a throw after one of them was called is ignored): a `Resolver` is consumed by settling, so
//   a second call does not compile, and a resolver dropped after settling does nothing.
// - 2.3.3.4 (`then` is not a function: fulfil with `x`): a type that is not `IntoPromise`
//   cannot be returned; wrap it in `Ok` (2.3.4).

/// A foreign "thenable": a type of the user's that converts into a resolution, counting its
/// conversions.
struct Foreign {
    value: Option<u32>,
    adopt: Option<P>,
    conversions: Arc<AtomicUsize>,
    panic: bool,
}

impl IntoPromise<Why> for Foreign {
    type Output = u32;
    fn into_resolution(self) -> Resolution<u32, Why> {
        self.conversions.fetch_add(1, SeqCst);
        if self.panic {
            throw("then getter");
        }
        match (self.value, self.adopt) {
            (_, Some(p)) => Resolution::Adopt(p),
            (Some(v), None) => Resolution::Settle(Ok(v)),
            (None, None) => Resolution::Settle(Err(Why::User("foreign rejection"))),
        }
    }
}

/// 2.3.3.3 analog: a foreign type returned by a callback is converted exactly once, in the
/// reaction, and its resolution is followed: a value, a rejection, or adoption of a promise.
#[test]
fn clause_2_3_3_3_a_foreign_into_promise_type_is_converted_exactly_once() {
    let mut el = EventLoop::new();
    let conversions = Arc::new(AtomicUsize::new(0));
    let foreign = |value, adopt| Foreign {
        value,
        adopt,
        conversions: Arc::clone(&conversions),
        panic: false,
    };
    let (f1, f2, f3) = (
        foreign(Some(4), None),
        foreign(None, None),
        foreign(None, Some(fulfilled(&el, 6))),
    );
    let value = fulfilled(&el, 0).then(move |_| f1);
    let reason = fulfilled(&el, 0).then(move |_| f2);
    let adopted = fulfilled(&el, 0).then(move |_| f3);
    let _ = reason.catch(|_| Ok(0));
    assert_eq!(
        conversions.load(SeqCst),
        0,
        "converted in the reaction, not in then"
    );
    el.run_until_idle().unwrap();
    assert_eq!(conversions.load(SeqCst), 3);
    assert_eq!(value.outcome(), Some(&Ok(4)));
    assert_eq!(reason.outcome(), Some(&Err(Why::User("foreign rejection"))));
    assert_eq!(adopted.outcome(), Some(&Ok(6)));
}

/// 2.3.3.2 analog: if converting the returned value panics (JS: retrieving `x.then` throws),
/// `promise2` is rejected with the panic.
#[test]
fn clause_2_3_3_2_a_panicking_conversion_rejects_promise2() {
    let mut el = EventLoop::new();
    let conversions = Arc::new(AtomicUsize::new(0));
    let bad = Foreign {
        value: Some(1),
        adopt: None,
        conversions: Arc::clone(&conversions),
        panic: true,
    };
    let promise2 = fulfilled(&el, 0).then(move |_| bad);
    let _ = promise2.catch(|_| Ok(0));
    el.run_until_idle().unwrap();
    assert_eq!(conversions.load(SeqCst), 1);
    assert_eq!(promise2.outcome(), Some(&Err(panicked("then getter"))));
}

/// 2.3.4: if `x` is not an object or function, fulfil `promise` with `x`. In Rust, anything in
/// `Ok` is a plain value — even a `Promise`, which is then the value, not adopted.
#[test]
fn clause_2_3_4_a_plain_value_fulfils_even_a_promise_inside_ok() {
    let mut el = EventLoop::new();
    let (inner, inner_resolver) = pending(&el);
    let plain = fulfilled(&el, 0).then(|_| Ok(17));
    let keep = inner.clone();
    let boxed: P<P> = fulfilled(&el, 0).then(move |_| Ok(keep));
    el.run_until_idle().unwrap();
    assert_eq!(plain.outcome(), Some(&Ok(17)));
    let value = boxed.outcome().unwrap().as_ref().unwrap();
    assert!(value.ptr_eq(&inner), "fulfilled with the promise itself");
    assert!(inner.is_pending(), "not adopted: still pending inside");
    inner_resolver.resolve(1).unwrap();
}
