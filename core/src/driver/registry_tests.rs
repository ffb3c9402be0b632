//! The loop's promise registry on a real loop: reject-all at termination (waiters wake, values
//! settled during the drain stay), scavenging, compaction, registrations from other threads
//! and after termination, long chains. Races are in `models/tests/registry.rs`.

use super::{EventLoop, Handle};
use crate::promise::{Failure, Promise, Resolver};
use crate::registry::MIN_CAPACITY;
use alloc::sync::Arc;
use alloc::vec::Vec;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc;

type Pair = (Promise<u32, Failure>, Resolver<u32, Failure>);

fn registry_len(el: &EventLoop) -> usize {
    el.local.registry.borrow().len()
}

fn registry_capacity(el: &EventLoop) -> usize {
    el.local.registry.borrow().capacity()
}

/// Runs the loop until idle `ticks` times (each run is at least one tick, so one scavenge).
fn idle_ticks(el: &mut EventLoop, ticks: usize) {
    for _ in 0..ticks {
        el.run_until_idle().unwrap();
    }
}

/// The scenario: another thread holds a resolver forever (until after `run`); at
/// shutdown the promise is rejected with `Terminated`, a thread blocked in `wait` wakes, and the
/// derived promise rejects as abandoned (its reaction is refused, not run).
#[test]
fn a_pending_promise_whose_resolver_another_thread_holds_is_rejected_at_shutdown() {
    let mut el = EventLoop::new();
    let handle = el.handle();
    let (promise, resolver) = el.promise::<u32, Failure>();
    let reaction_ran = Arc::new(AtomicUsize::new(0));
    let ran = Arc::clone(&reaction_ran);
    let derived = promise.then(move |v| {
        ran.fetch_add(1, SeqCst);
        Ok(v + 1)
    });
    let (give_up, hold) = mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let _ = hold.recv(); // holds the resolver until told to try
        resolver.resolve(1)
    });
    let waiter = {
        let promise = promise.clone();
        std::thread::spawn(move || promise.wait())
    };
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(20));
        handle.shutdown()
    });
    el.run().unwrap();
    assert!(stopper.join().unwrap());
    assert_eq!(waiter.join().unwrap(), Ok(Err(Failure::Terminated)));
    assert_eq!(promise.outcome(), Some(&Err(Failure::Terminated)));
    assert_eq!(derived.outcome(), Some(&Err(Failure::Abandoned)));
    assert_eq!(reaction_ran.load(SeqCst), 0);
    give_up.send(()).unwrap();
    assert_eq!(
        holder.join().unwrap(),
        Err(1),
        "the resolver lost to the reject-all"
    );
    assert_eq!(el.stats().promises_terminated, 1);
    assert_eq!(registry_len(&el), 0);
}

/// Work drained by a graceful shutdown settles promises: they keep their values, and their
/// reactions run in the drain; only what is still pending afterwards is rejected.
#[test]
fn a_promise_settled_during_the_graceful_drain_keeps_its_value() {
    let mut el = EventLoop::new();
    let (settled_in_drain, resolver) = el.promise::<u32, Failure>();
    let (left_pending, _held) = el.promise::<u32, Failure>();
    let seen = Arc::new(Mutex::new(None));
    let s = Arc::clone(&seen);
    let _ = settled_in_drain.then(move |v| {
        *s.lock().unwrap() = Some(*v);
        Ok(())
    });
    el.submit(move |_| resolver.resolve(42).unwrap()).unwrap();
    el.handle().shutdown(); // before `run`: the task is drained, then the reject-all
    el.run().unwrap();
    assert_eq!(settled_in_drain.outcome(), Some(&Ok(42)));
    assert_eq!(
        *seen.lock().unwrap(),
        Some(42),
        "its reaction ran in the drain"
    );
    assert_eq!(left_pending.outcome(), Some(&Err(Failure::Terminated)));
    assert_eq!(el.stats().promises_terminated, 1);
}

/// `close` discards the queued work, then rejects what is pending the same way.
#[test]
fn close_rejects_pending_promises_too() {
    let mut el = EventLoop::new();
    let (promise, resolver) = el.promise::<u32, Failure>();
    el.submit(move |_| resolver.resolve(1).unwrap()).unwrap(); // discarded: its resolver drops
    let (other, _held) = el.promise::<u32, Failure>();
    el.handle().close();
    el.run().unwrap();
    assert_eq!(promise.outcome(), Some(&Err(Failure::Abandoned)));
    assert_eq!(other.outcome(), Some(&Err(Failure::Terminated)));
}

#[test]
fn settled_and_dead_entries_are_scavenged_each_tick() {
    let mut el = EventLoop::new();
    let mut held = Vec::new();
    let mut kept = Vec::new();
    for i in 0..300 {
        let (promise, resolver) = el.promise::<u32, Failure>();
        match i % 3 {
            0 => held.push(resolver), // pending
            1 => {
                resolver.resolve(0).unwrap(); // settled, handle alive
                kept.push(promise);
            }
            _ => resolver.resolve(0).unwrap(), // settled and dead
        }
    }
    // Registration swept the full vector at 64, 128 and 256 entries (a third was garbage).
    let before = registry_len(&el);
    assert!((100..300).contains(&before), "{before}");
    assert!(registry_capacity(&el) <= 512);
    // A third is garbage: batches stop at their budget, a cycle takes ⌈300 / 32⌉ ticks.
    idle_ticks(&mut el, 300_usize.div_ceil(crate::registry::SCAVENGE_BATCH));
    assert_eq!(registry_len(&el), held.len());
    for resolver in held.drain(..) {
        resolver.resolve(1).unwrap();
    }
    idle_ticks(&mut el, 1); // all garbage: one scavenge goes through all of it
    assert_eq!(registry_len(&el), 0);
}

#[test]
fn memory_is_returned_after_compaction() {
    let n = if cfg!(miri) { 500 } else { 20_000 };
    let mut el = EventLoop::new();
    let pairs: Vec<Pair> = (0..n).map(|_| el.promise()).collect();
    let grown = registry_capacity(&el);
    assert!(grown >= n);
    let mut live = Vec::new();
    for (i, (_, resolver)) in pairs.into_iter().enumerate() {
        if i < 10 {
            live.push(resolver);
        } else {
            resolver.resolve(0).unwrap();
        }
    }
    idle_ticks(&mut el, 1);
    assert_eq!(registry_len(&el), 10);
    let shrunk = registry_capacity(&el);
    assert_eq!(shrunk, MIN_CAPACITY, "{grown} → {shrunk}");
    drop(live);
}

/// Promises created off the loop thread go through the inbox into the registry, and are
/// rejected at termination like the loop's own.
#[test]
fn promises_from_other_threads_join_the_registry() {
    let mut el = EventLoop::new();
    let handle = el.handle();
    let pairs: Vec<Pair> = std::thread::spawn(move || (0..5).map(|_| handle.promise()).collect())
        .join()
        .unwrap();
    assert_eq!(registry_len(&el), 0, "still in the inbox");
    idle_ticks(&mut el, 1);
    assert_eq!(registry_len(&el), 5, "moved in at the end of the tick");
    let mut pairs = pairs.into_iter();
    let (first, first_resolver) = pairs.next().unwrap();
    first_resolver.resolve(3).unwrap();
    el.handle().shutdown();
    el.run().unwrap();
    assert_eq!(first.outcome(), Some(&Ok(3)));
    for (promise, resolver) in pairs {
        assert_eq!(promise.outcome(), Some(&Err(Failure::Terminated)));
        drop(resolver);
    }
    assert_eq!(el.stats().promises_terminated, 4);
}

/// A promise created after the reject-all, on any thread and through any route, is rejected
/// at once: nothing would ever reject it later.
#[test]
fn promises_created_after_termination_are_rejected_at_once() {
    let mut el = EventLoop::new();
    let handle = el.handle();
    handle.shutdown();
    el.run().unwrap();
    let (on_loop_thread, _r1) = el.promise::<u32, Failure>();
    let (through_handle, _r2) = handle.promise::<u32, Failure>();
    let h = handle.clone();
    let (elsewhere, _r3) = std::thread::spawn(move || h.promise::<u32, Failure>())
        .join()
        .unwrap();
    for promise in [&on_loop_thread, &through_handle, &elsewhere] {
        assert_eq!(promise.outcome(), Some(&Err(Failure::Terminated)));
        assert_eq!(
            promise.wait(),
            Ok(Err(Failure::Terminated)),
            "no wait hangs"
        );
    }
    assert_eq!(handle.stats().promises_terminated, 3);
}

/// A destructor run by the reject-all (a refused reaction's closure) creates a promise of the
/// same loop: it is rejected at once (the registry is closed), not lost and not a panic.
#[test]
fn a_promise_created_by_a_destructor_during_the_reject_all_is_rejected_at_once() {
    struct OnDrop(Handle, Arc<Mutex<Option<Pair>>>);
    impl Drop for OnDrop {
        fn drop(&mut self) {
            *self.1.lock().unwrap() = Some(self.0.promise());
        }
    }
    let mut el = EventLoop::new();
    let created = Arc::new(Mutex::new(None));
    let (promise, _held) = el.promise::<u32, Failure>();
    let guard = OnDrop(el.handle(), Arc::clone(&created));
    let _ = promise.then(move |_| {
        let _guard = &guard;
        Ok(())
    });
    el.handle().shutdown();
    el.run().unwrap();
    let (late, _) = created.lock().unwrap().take().expect("the destructor ran");
    assert_eq!(late.outcome(), Some(&Err(Failure::Terminated)));
    assert_eq!(el.stats().panics, 0);
}

/// A chain of a hundred thousand `then`s on a promise that termination rejects: the reactions
/// are refused and dropped level by level in a loop, not by recursion (a stack overflow), and a
/// waiter on the far end wakes with `Abandoned`.
#[test]
fn a_long_chain_under_a_terminated_loop_unwinds_without_recursion() {
    let depth = if cfg!(miri) { 200 } else { 100_000 };
    // The loop runs on a thread with a small stack, so recursion would overflow it.
    let (tail, head) = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            let mut el = EventLoop::new();
            let (head, resolver) = el.promise::<u32, Failure>();
            let mut tail = head.clone();
            for _ in 0..depth {
                tail = tail.then(|v| Ok(v + 1));
            }
            let waiter = {
                let tail = tail.clone();
                std::thread::spawn(move || tail.wait())
            };
            el.handle().shutdown();
            el.run().unwrap();
            assert_eq!(waiter.join().unwrap(), Ok(Err(Failure::Abandoned)));
            drop(resolver);
            (tail, head)
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(head.outcome(), Some(&Err(Failure::Terminated)));
    assert_eq!(tail.outcome(), Some(&Err(Failure::Abandoned)));
}

/// A sleeping loop never scavenges: registrations from another thread sweep the inbox
/// themselves when it fills, so it stays proportional to the promises still pending.
#[test]
fn the_inbox_stays_bounded_while_the_loop_sleeps() {
    let el = EventLoop::new();
    let handle = el.handle();
    let kept: Vec<Resolver<u32, Failure>> = std::thread::spawn(move || {
        let mut kept = Vec::new();
        for i in 0..20_000 {
            let (_, resolver) = handle.promise::<u32, Failure>();
            if i % 1000 == 0 {
                kept.push(resolver);
            } else {
                resolver.resolve(0).unwrap();
            }
        }
        kept
    })
    .join()
    .unwrap();
    let entries = el.shared.inbox.take();
    assert!(
        entries.capacity() <= 4 * MIN_CAPACITY,
        "{} entries in a vector of {} for {} pending promises",
        entries.len(),
        entries.capacity(),
        kept.len()
    );
    assert_eq!(
        entries.iter().filter(|e| e.is_pending()).count(),
        kept.len()
    );
}

/// The loop owns the results of its combinator methods: an empty `race` (which never settles)
/// and an `all` over a promise nobody settles are rejected at shutdown, and their waiters wake.
#[test]
fn combinator_results_of_the_loop_are_rejected_at_shutdown() {
    let mut el = EventLoop::new();
    let handle = el.handle();
    let never = handle.race(Vec::<Promise<u32, Failure>>::new());
    let foreign: DynArcScheduler = handle.scheduler();
    let (unowned, _held) = Promise::<u32, Failure>::new(foreign); // not the loop's
    let all = handle.all([unowned.clone()]);
    let waiter = {
        let never = never.clone();
        std::thread::spawn(move || never.wait())
    };
    handle.shutdown();
    el.run().unwrap();
    assert_eq!(waiter.join().unwrap(), Ok(Err(Failure::Terminated)));
    assert_eq!(all.outcome(), Some(&Err(Failure::Terminated)));
    assert!(
        unowned.is_pending(),
        "a promise built with `Promise::new` is not the loop's"
    );
    assert_eq!(el.stats().promises_terminated, 2);
}

type DynArcScheduler = crate::sync::DynArc<dyn crate::promise::Scheduler>;
