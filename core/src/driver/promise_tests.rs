//! Promises on a real loop: reaction order (the JS job order), adoption hops, panics, `finally`,
//! unhandled-rejection reports, `Future`, `wait`, `promisify`. Races are in
//! `models/tests/promise.rs`; JS-recorded orders in `tests/`.

use super::{EventLoop, RejectionKind};
use crate::promise::{Failure, Promise};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::future::IntoFuture;
use std::sync::Mutex;

type Log = Arc<Mutex<Vec<String>>>;

fn log() -> Log {
    Arc::new(Mutex::new(Vec::new()))
}

fn push(log: &Log, entry: impl Into<String>) {
    log.lock().unwrap().push(entry.into());
}

fn entries(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}

/// `p.then(a); p.then(b); queueMicrotask(c); resolve(p)` inside a task: JS order is c, a, b?
/// No: reactions are queued at resolve, after c was queued: c, a, b.
#[test]
fn reactions_run_as_microtasks_in_js_order() {
    let mut el = EventLoop::new();
    let order = log();
    let o = Arc::clone(&order);
    el.submit(move |cx| {
        let (p, resolver) = cx.promise::<u32, Failure>();
        let (a, b) = (Arc::clone(&o), Arc::clone(&o));
        let _ = p.then(move |v| {
            push(&a, alloc::format!("a{v}"));
            Ok(())
        });
        let _ = p.then(move |v| {
            push(&b, alloc::format!("b{v}"));
            Ok(())
        });
        let c = Arc::clone(&o);
        cx.queue_microtask(move |_| push(&c, "c")).unwrap();
        resolver.resolve(1).unwrap();
        push(&o, "sync");
    })
    .unwrap();
    el.run_until_idle().unwrap();
    assert_eq!(entries(&order), ["sync", "c", "a1", "b1"]);
}

/// Chains interleave one hop at a time (JS: a1, b1, a2, b2).
#[test]
fn two_chains_interleave_by_hops() {
    let mut el = EventLoop::new();
    let order = log();
    let o = Arc::clone(&order);
    el.submit(move |cx| {
        for name in ["a", "b"] {
            let p = Promise::<u32, Failure>::fulfilled(cx.handle().scheduler(), 0);
            let (o1, o2) = (Arc::clone(&o), Arc::clone(&o));
            let _ = p
                .then(move |_| {
                    push(&o1, alloc::format!("{name}1"));
                    Ok(())
                })
                .then(move |_| {
                    push(&o2, alloc::format!("{name}2"));
                    Ok(())
                });
        }
    })
    .unwrap();
    el.run_until_idle().unwrap();
    assert_eq!(entries(&order), ["a1", "b1", "a2", "b2"]);
}

/// Returning a promise from `then` costs two extra hops (JS: a1 b1 b2 b3 a2 -> here with a
/// resolved promise returned: a's next step runs after b's third).
#[test]
fn adoption_takes_two_extra_hops() {
    let mut el = EventLoop::new();
    let order = log();
    let o = Arc::clone(&order);
    el.submit(move |cx| {
        let s = cx.handle().scheduler();
        let p = Promise::<u32, Failure>::fulfilled(s.clone(), 0);
        let (oa, oa2) = (Arc::clone(&o), Arc::clone(&o));
        let s2 = s.clone();
        let _ = p
            .then(move |_| {
                push(&oa, "a1");
                Promise::<u32, Failure>::fulfilled(s2, 5)
            })
            .then(move |v| {
                push(&oa2, alloc::format!("a2:{v}"));
                Ok(())
            });
        let mut q = Promise::<u32, Failure>::fulfilled(s, 0);
        for k in 1..=4 {
            let ob = Arc::clone(&o);
            q = q.then(move |_| {
                push(&ob, alloc::format!("b{k}"));
                Ok(0)
            });
        }
    })
    .unwrap();
    el.run_until_idle().unwrap();
    // a1 b1 | b2 (adopt job) | b3 (subscribe: reaction on settled) | a2 after b3 ... node:
    assert_eq!(entries(&order), ["a1", "b1", "b2", "b3", "a2:5", "b4"]);
}

#[test]
fn resolving_with_itself_rejects_with_a_cycle_error() {
    let mut el = EventLoop::new();
    let (p, resolver) = el.promise::<u32, Failure>();
    resolver.adopt(p.clone());
    let seen = log();
    let s = Arc::clone(&seen);
    let _ = p.catch(move |e| {
        push(&s, alloc::format!("{e:?}"));
        Ok(0)
    });
    let handle = el.handle();
    handle.submit(|_| {}).unwrap();
    el.run_until_idle().unwrap();
    assert_eq!(p.outcome(), Some(&Err(Failure::Cycle)));
    assert_eq!(entries(&seen).len(), 1);
}

#[test]
fn a_panicking_reaction_rejects_the_derived_promise() {
    let mut el = EventLoop::new();
    let p = Promise::<u32, Failure>::fulfilled(el.handle().scheduler(), 1);
    let derived = p.then(|_| -> Result<u32, Failure> { panic!("boom") });
    let caught = derived.catch(|e| match e {
        Failure::Panicked(Some(m)) if m == "boom" => Ok(7),
        other => Err(other.clone()),
    });
    el.run_until_idle().unwrap();
    assert_eq!(
        derived.outcome(),
        Some(&Err(Failure::Panicked(Some("boom".into()))))
    );
    assert_eq!(caught.outcome(), Some(&Ok(7)));
    assert_eq!(
        el.stats().panics,
        0,
        "a reaction panic is a rejection, not a loop panic"
    );
}

#[test]
fn finally_passes_the_outcome_through_or_its_own_failure() {
    let mut el = EventLoop::new();
    let s = el.handle().scheduler();
    let ran = log();
    let r = Arc::clone(&ran);
    let ok = Promise::<u32, Failure>::fulfilled(s.clone(), 3).finally(move || {
        push(&r, "finally");
        Ok::<_, Failure>(())
    });
    let failed = Promise::<u32, Failure>::fulfilled(s.clone(), 3)
        .finally(|| Err::<(), _>(Failure::Terminated));
    let rejected =
        Promise::<u32, Failure>::rejected(s, Failure::Cycle).finally(|| Ok::<_, Failure>(()));
    let _ = rejected.catch(|_| Ok(0));
    el.run_until_idle().unwrap();
    assert_eq!(entries(&ran), ["finally"]);
    assert_eq!(ok.outcome(), Some(&Ok(3)));
    assert_eq!(failed.outcome(), Some(&Err(Failure::Terminated)));
    assert_eq!(rejected.outcome(), Some(&Err(Failure::Cycle)));
}

#[test]
fn late_then_on_a_rejected_promise_receives_the_rejection() {
    let mut el = EventLoop::new();
    let p = Promise::<u32, Failure>::rejected(el.handle().scheduler(), Failure::Cycle);
    let _ = p.catch(|_| Ok(0)); // handled
    el.run_until_idle().unwrap();
    let late = p.then(|v| Ok(*v + 1));
    let _ = late.catch(|_| Ok(0));
    el.run_until_idle().unwrap();
    assert_eq!(late.outcome(), Some(&Err(Failure::Cycle)));
}

#[test]
fn unhandled_rejection_is_reported_once_then_handled_later() {
    let events = Arc::new(Mutex::new(Vec::new()));
    let e = Arc::clone(&events);
    let mut el = EventLoop::builder()
        .rejection_hook(move |event| e.lock().unwrap().push((event.kind, event.id)))
        .build();
    let (p, resolver) = el.promise::<u32, Failure>();
    let handled = el.promise::<u32, Failure>();
    let chained = handled.0.then(|v| Ok(*v)).catch(|_| Ok(0));
    el.submit(move |_| {
        resolver.reject(Failure::Terminated).unwrap();
        handled.1.reject(Failure::Terminated).unwrap();
    })
    .unwrap();
    el.run_until_idle().unwrap();
    {
        let events = events.lock().unwrap();
        assert_eq!(events.len(), 1, "only p is unhandled: {events:?}");
        assert_eq!(events[0].0, RejectionKind::Unhandled);
    }
    let _ = p.catch(|_| Ok(1));
    el.run_until_idle().unwrap();
    let events = events.lock().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].0, RejectionKind::HandledLater);
    assert_eq!(events[1].1, events[0].1, "same promise");
    assert_eq!(chained.outcome(), Some(&Ok(0)));
    assert_eq!(el.stats().rejections_unhandled, 1);
    assert_eq!(el.stats().rejections_handled_later, 1);
}

/// Node's order within one checkpoint: every "handled later" before any new "unhandled",
/// whatever order the loop learnt of them in (conformance scenario 62).
#[test]
fn handled_later_is_reported_before_new_unhandled_rejections() {
    let events = Arc::new(Mutex::new(Vec::new()));
    let e = Arc::clone(&events);
    let mut el = EventLoop::builder()
        .rejection_hook(move |event| e.lock().unwrap().push((event.kind, event.id)))
        .build();
    let old = Promise::<u32, Failure>::rejected(el.handle().scheduler(), Failure::Cycle);
    el.run_until_idle().unwrap();
    assert_eq!(
        *events.lock().unwrap(),
        [(RejectionKind::Unhandled, old.id())]
    );
    let new = Arc::new(Mutex::new(None));
    let n = Arc::clone(&new);
    el.submit(move |cx| {
        // Kept alive (so its id stays unique) until the end of the test.
        *n.lock().unwrap() = Some(Promise::<u32, Failure>::rejected(
            cx.handle().scheduler(),
            Failure::Cycle,
        ));
        let _ = old.catch(|_| Ok(0)); // after the new rejection
    })
    .unwrap();
    el.run_until_idle().unwrap();
    let events = events.lock().unwrap();
    let fresh = new.lock().unwrap().as_ref().unwrap().id();
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(events[1], (RejectionKind::HandledLater, events[0].1));
    assert_eq!(events[2], (RejectionKind::Unhandled, fresh));
}

#[test]
fn a_handler_in_the_same_checkpoint_prevents_the_report() {
    let events = Arc::new(Mutex::new(0));
    let e = Arc::clone(&events);
    let mut el = EventLoop::builder()
        .rejection_hook(move |_| *e.lock().unwrap() += 1)
        .build();
    el.submit(move |cx| {
        let p = Promise::<u32, Failure>::rejected(cx.handle().scheduler(), Failure::Cycle);
        cx.queue_microtask(move |_| {
            let _ = p.catch(|_| Ok(0));
        })
        .unwrap();
    })
    .unwrap();
    el.run_until_idle().unwrap();
    assert_eq!(*events.lock().unwrap(), 0);
}

#[test]
fn settled_from_another_thread_reactions_run_on_the_loop() {
    let mut el = EventLoop::new();
    let (p, resolver) = el.promise::<u32, Failure>();
    let loop_thread = std::thread::current().id();
    let ran_on = Arc::new(Mutex::new(None));
    let r = Arc::clone(&ran_on);
    let doubled = p.then(move |v| {
        *r.lock().unwrap() = Some(std::thread::current().id());
        Ok(v * 2)
    });
    std::thread::spawn(move || resolver.resolve(21).unwrap())
        .join()
        .unwrap();
    el.run_until_idle().unwrap();
    assert_eq!(doubled.outcome(), Some(&Ok(42)));
    assert_eq!(*ran_on.lock().unwrap(), Some(loop_thread));
}

#[test]
fn a_dropped_resolver_rejects_as_abandoned() {
    let mut el = EventLoop::new();
    let (p, resolver) = el.promise::<u32, Failure>();
    drop(resolver);
    let _ = p.catch(|_| Ok(0));
    el.run_until_idle().unwrap();
    assert_eq!(p.outcome(), Some(&Err(Failure::Abandoned)));
}

#[test]
fn wait_and_await_from_other_threads() {
    let mut el = EventLoop::new();
    let handle = el.handle();
    let (p, resolver) = el.promise::<u32, Failure>();
    let waiter = {
        let p = p.then(|v| Ok(v + 1));
        std::thread::spawn(move || p.wait().unwrap())
    };
    let awaiter = {
        let p = p.clone();
        std::thread::spawn(move || block_on(p.into_future()))
    };
    assert_eq!(p.wait(), Err(crate::promise::WaitOnLoopThread));
    let h = handle.clone();
    std::thread::spawn(move || {
        resolver.resolve(1).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        h.shutdown();
    });
    el.run().unwrap();
    assert_eq!(waiter.join().unwrap(), Ok(2));
    assert_eq!(awaiter.join().unwrap(), Ok(1));
}

/// A worker that finishes before the loop terminates settles its promise (value or panic);
/// one still running when the loop terminates leaves it rejected with `Terminated` (the loop
/// owns it); after termination `promisify` rejects at once and runs nothing.
#[test]
fn promisify_settles_from_a_worker_or_is_terminated_with_the_loop() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
    let mut el = EventLoop::new();
    let handle = el.handle();
    let ok = handle.promisify(|| Ok::<u32, Failure>(5));
    let panicked = handle.promisify(|| -> Result<u32, Failure> { panic!("worker") });
    let (release, blocked) = std::sync::mpsc::channel::<()>();
    let stuck = handle.promisify(move || {
        let _ = blocked.recv();
        Ok::<u32, Failure>(7)
    });
    // Shut down once the two quick workers have settled (their reactions run on the loop).
    let settled = Arc::new(AtomicUsize::new(0));
    for p in [&ok, &panicked] {
        let (settled, h) = (Arc::clone(&settled), handle.clone());
        let _ = p.react(move |_| {
            if settled.fetch_add(1, SeqCst) == 1 {
                h.shutdown();
            }
            crate::promise::Resolution::Settle(Ok::<(), Failure>(()))
        });
    }
    el.run().unwrap();
    assert_eq!(ok.wait(), Ok(Ok(5)));
    assert!(matches!(panicked.wait(), Ok(Err(Failure::Panicked(_)))));
    assert_eq!(stuck.wait(), Ok(Err(Failure::Terminated)));
    release.send(()).unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let r = Arc::clone(&ran);
    let late = handle.promisify(move || {
        r.store(true, SeqCst);
        Ok::<u32, Failure>(6)
    });
    assert_eq!(late.wait(), Ok(Err(Failure::Terminated)));
    assert!(!ran.load(SeqCst), "no worker runs for a terminated loop");
    assert_eq!(handle.stats().promises_terminated, 2);
}

/// A minimal executor: polls on this thread, parks between wake-ups.
fn block_on<F: core::future::Future>(future: F) -> F::Output {
    use alloc::task::Wake;
    use core::task::{Context, Poll};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Arc::new(Unpark(std::thread::current())).into();
    let mut cx = Context::from_waker(&waker);
    let mut future = core::pin::pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::park();
    }
}

/// P3 order across threads: `a` is registered, another thread settles the promise (its
/// reaction job travels through the remote ring), and then, in the same task on the loop
/// thread, `b` is registered on the now settled promise. `a` was registered before `b`, so it
/// runs first, although `b`'s job is queued on the loop thread's own queue.
#[test]
fn a_late_reaction_on_the_loop_thread_runs_after_a_remote_settlements_reactions() {
    let mut el = EventLoop::new();
    let (p, resolver) = el.promise::<u32, Failure>();
    let order = log();
    let a = Arc::clone(&order);
    let _ = p.then(move |v| {
        push(&a, alloc::format!("a{v}"));
        Ok(())
    });
    let b = Arc::clone(&order);
    let c = Arc::clone(&order);
    el.submit(move |cx| {
        std::thread::spawn(move || resolver.resolve(1).unwrap())
            .join()
            .unwrap();
        let _ = p.then(move |v| {
            push(&b, alloc::format!("b{v}"));
            Ok(())
        });
        cx.queue_microtask(move |_| push(&c, "c")).unwrap();
    })
    .unwrap();
    el.run_until_idle().unwrap();
    assert_eq!(entries(&order), ["a1", "b1", "c"]);
}

/// `finally` settles its derived promise only after its callback ran (the callback sees it
/// pending) and after the promise the callback returned settled (the Go original settled it
/// before running the callback).
#[test]
fn finally_settles_only_after_its_callback_ran_and_its_promise_settled() {
    let mut el = EventLoop::new();
    let (p, resolver) = el.promise::<u32, Failure>();
    let (gate, open) = el.promise::<(), Failure>();
    let derived_slot: Arc<Mutex<Option<Promise<u32, Failure>>>> = Arc::new(Mutex::new(None));
    let seen = log();
    let (slot, s) = (Arc::clone(&derived_slot), Arc::clone(&seen));
    let derived = p.finally(move || {
        let derived = slot
            .lock()
            .unwrap()
            .clone()
            .expect("set before the callback runs");
        push(
            &s,
            if derived.is_pending() {
                "pending"
            } else {
                "settled"
            },
        );
        gate
    });
    *derived_slot.lock().unwrap() = Some(derived.clone());
    resolver.resolve(5).unwrap();
    el.run_until_idle().unwrap();
    assert_eq!(
        entries(&seen),
        ["pending"],
        "the callback ran once, before the settlement"
    );
    assert!(
        derived.is_pending(),
        "finally waits for the callback's promise"
    );
    open.resolve(()).unwrap();
    el.run_until_idle().unwrap();
    assert_eq!(derived.outcome(), Some(&Ok(5)));
}

/// The thread-local mark that routes jobs to the running loop's own queue is set only while the
/// loop runs: a mark left behind would point into a loop that may since have moved or died.
#[test]
fn the_driving_mark_lives_exactly_as_long_as_the_run() {
    let mut el = EventLoop::new();
    let seen = Arc::new(Mutex::new(None));
    let s = Arc::clone(&seen);
    el.submit(move |_| *s.lock().unwrap() = Some(super::promises::driving_any_loop()))
        .unwrap();
    assert!(!super::promises::driving_any_loop());
    el.run_until_idle().unwrap();
    assert_eq!(*seen.lock().unwrap(), Some(true));
    assert!(
        !super::promises::driving_any_loop(),
        "cleared when the run returns"
    );
}
