//! Models of the loop's promise registry (`core/src/registry.rs`, its wiring in
//! `core/src/driver/promises.rs` and `finish`); claims G1–G3 of `proofs/registry.md`.
//!
//! The main thread runs the loop; other threads settle, wait on and create the loop's promises
//! while the loop ticks (each tick ends with a scavenge of the registry) and terminates (the
//! reject-all after the drain). A waiter that is never woken blocks its thread forever: loom
//! and shuttle report that as a deadlock, and the model fails.

use std::sync::Arc as StdArc;
use std::sync::Mutex as StdMutex;

use eventloop_core::promise::{Failure, Resolution};
use eventloop_core::state::LoopState;
use eventloop_models::ledger::{Ledger, Witness};
use eventloop_models::{Model, check, model_loop, thread};

/// (a) G1 one settlement, seen by everyone: a thread resolves a promise of the loop while
/// another shuts the loop down, so the resolve races the loop's ticks (a scavenge after each)
/// and the reject-all of its termination. Exactly one of them settles it; the outcome everyone
/// reads (the resolver's result, the promise, the reaction, a `wait` after `run`) is the
/// winner's; the reaction runs at most once and is dropped exactly once; the derived promise
/// settles; the stats count the reject-all's win.
#[test]
fn registry_a_settle_races_scavenge_and_reject_all() {
    check(
        Model::new("registry_a_settle_races_scavenge_and_reject_all").preemption_bound(2),
        || {
            let mut el = model_loop();
            let handle = el.handle();
            let (promise, resolver) = el.promise::<u32, Failure>();
            let ledger = Ledger::new();
            let witness = Witness::new(&ledger);
            let seen = StdArc::new(StdMutex::new(None));
            let derived = {
                let seen = StdArc::clone(&seen);
                promise.react(move |outcome: &Result<u32, Failure>| {
                    witness.ran();
                    *seen.lock().unwrap() = Some(outcome.clone());
                    Resolution::Settle(Ok::<(), Failure>(()))
                })
            };
            let settler = thread::spawn(move || resolver.resolve(7).is_ok());
            let stopper = thread::spawn(move || handle.shutdown());
            el.run().unwrap();
            let won = settler.join().unwrap();
            assert!(stopper.join().unwrap());
            assert_eq!(el.state(), LoopState::Terminated);
            let expected = if won { Ok(7) } else { Err(Failure::Terminated) };
            assert_eq!(promise.outcome(), Some(&expected), "the winner's outcome");
            assert_eq!(
                promise.wait(),
                Ok(expected.clone()),
                "a late waiter sees it"
            );
            assert_eq!(
                el.stats().promises_terminated,
                usize::from(!won),
                "exactly one settler won"
            );
            let (ran, dropped) = (ledger.ran.load(SEQ), ledger.dropped.load(SEQ));
            assert!(ran <= 1, "the reaction ran {ran} times");
            assert_eq!(dropped, 1, "the reaction was dropped {dropped} times");
            if ran == 1 {
                assert_eq!(*seen.lock().unwrap(), Some(expected), "the reaction saw it");
                assert_eq!(derived.outcome(), Some(&Ok(())));
            } else {
                assert_eq!(derived.outcome(), Some(&Err(Failure::Abandoned)));
            }
        },
    );
}

/// (b) G2 no waiter hangs: the resolver of a loop promise is held (never used) by the main
/// thread; one thread shuts the loop down and then waits on that promise, another creates a
/// promise through a `Handle` (its registration races the reject-all's closing of the inbox)
/// and waits on it. Both waits return `Terminated`: the reject-all wakes the first, and the
/// second was registered before the close (rejected by the reject-all) or after (rejected at
/// once).
#[test]
fn registry_b_waiters_wake_when_termination_rejects() {
    check(
        Model::new("registry_b_waiters_wake_when_termination_rejects").preemption_bound(2),
        || {
            let mut el = model_loop();
            let (held, held_resolver) = el.promise::<u32, Failure>();
            let waiter = {
                let handle = el.handle();
                thread::spawn(move || {
                    handle.shutdown();
                    held.wait()
                })
            };
            let creator = {
                let handle = el.handle();
                thread::spawn(move || {
                    let (late, late_resolver) = handle.promise::<u32, Failure>();
                    let outcome = late.wait();
                    (outcome, late_resolver.resolve(1))
                })
            };
            el.run().unwrap();
            assert_eq!(waiter.join().unwrap(), Ok(Err(Failure::Terminated)));
            let (outcome, resolved) = creator.join().unwrap();
            assert_eq!(outcome, Ok(Err(Failure::Terminated)));
            assert_eq!(resolved, Err(1), "the resolver lost to termination");
            assert_eq!(el.stats().promises_terminated, 2);
            drop(held_resolver);
        },
    );
}

const SEQ: std::sync::atomic::Ordering = std::sync::atomic::Ordering::SeqCst;
