//! Models of the loop state machine and the wake protocol (`core/src/state.rs`,
//! `core/src/driver/`); claims S1–S3 and W1–W3 of `proofs/state.md` and `proofs/wake.md`.
//!
//! In every model the main thread runs the loop (`EventLoop::run`) and spawned threads submit
//! work or stop it. The loop parks with no timeout, so a lost wake-up leaves every thread
//! blocked: loom and shuttle report that as a deadlock, and the model fails.

use std::sync::Arc as StdArc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use eventloop_core::driver::Handle;
use eventloop_core::state::LoopState;
use eventloop_models::ledger::{Ledger, Witness};
use eventloop_models::{Model, check, model_loop, scale, thread};

/// (a) W1/W2 no lost wake-up, de-duplicated unparks: producers submit while the loop decides
/// to sleep; the last task shuts the loop down, so `run` returns only if every wake-up arrived.
#[test]
fn driver_a_submit_races_sleep() {
    check(
        Model::new("driver_a_submit_races_sleep").preemption_bound(2),
        || {
            let producers = scale(2, 3, 3);
            let per_producer = scale(1, 30, 300);
            let mut el = model_loop();
            let handle = el.handle();
            let ran = StdArc::new(AtomicUsize::new(0));
            let total = producers * per_producer;
            let threads: Vec<_> = (0..producers)
                .map(|_| {
                    let handle = handle.clone();
                    let ran = ran.clone();
                    thread::spawn(move || {
                        for _ in 0..per_producer {
                            let ran = ran.clone();
                            handle
                                .submit(move |cx| {
                                    if ran.fetch_add(1, SeqCst) + 1 == total {
                                        cx.shutdown();
                                    }
                                })
                                .expect("the loop accepts work until the last task runs");
                        }
                    })
                })
                .collect();
            el.run().unwrap();
            for t in threads {
                t.join().unwrap();
            }
            assert_eq!(ran.load(SeqCst), total);
            let stats = handle.stats();
            assert!(
                stats.unparks <= stats.sleeps,
                "more than one unpark per sleep: {stats:?}"
            );
            assert_eq!(el.state(), LoopState::Terminated);
        },
    );
}

/// (b) S2 conservation across shutdown: submits (alternating macrotasks and microtasks) race a
/// shutdown from another thread. Accepted ⇒ runs exactly once; rejected ⇒ handed back unrun.
#[test]
fn driver_b_submit_races_shutdown() {
    check(
        Model::new("driver_b_submit_races_shutdown").preemption_bound(2),
        || {
            let submits = scale(2, 40, 400);
            let mut el = model_loop();
            let handle = el.handle();
            let ledgers: Vec<_> = (0..submits).map(|_| Ledger::new()).collect();
            let producer = {
                let handle = handle.clone();
                let ledgers = ledgers.clone();
                thread::spawn(move || {
                    let mut accepted = 0;
                    for (i, l) in ledgers.into_iter().enumerate() {
                        let witness = Witness::new(&l);
                        let task = move |_: &eventloop_core::Cx<'_>| {
                            witness.ran();
                        };
                        // Alternate macrotasks and microtasks: the final drain must keep both.
                        let admitted = if i % 2 == 0 {
                            handle.submit(task)
                        } else {
                            handle.queue_microtask(task)
                        };
                        match admitted {
                            Ok(()) => accepted += 1,
                            Err(back) => {
                                assert_eq!(l.ran.load(SeqCst), 0, "a refused task ran");
                                drop(back.into_inner()); // handed back: dropping it drops the witness
                            }
                        }
                    }
                    accepted
                })
            };
            let stopper = {
                let handle = handle.clone();
                thread::spawn(move || handle.shutdown())
            };
            el.run().unwrap();
            let accepted = producer.join().unwrap();
            assert!(stopper.join().unwrap(), "the only shutdown call must win");
            let mut ran = 0;
            for l in &ledgers {
                let (r, d) = (l.ran.load(SeqCst), l.dropped.load(SeqCst));
                assert!(r <= 1, "a task ran {r} times");
                assert_eq!(d, 1, "a task's closure was dropped {d} times");
                ran += r;
            }
            assert_eq!(ran, accepted, "accepted {accepted} tasks but {ran} ran");
            assert_eq!(el.stats().discarded, 0);
        },
    );
}

/// (c) S1/S3 exactly one cleanup: `shutdown` and `close` race from two threads while the loop
/// runs. Exactly one call wins; the loop terminates once (a second Terminating → Terminated would
/// hit the `unreachable!` in `finish`), and accepted work is run or counted as discarded.
#[test]
fn driver_c_shutdown_races_close() {
    check(
        Model::new("driver_c_shutdown_races_close").preemption_bound(2),
        || {
            let mut el = model_loop();
            let handle = el.handle();
            let l = Ledger::new();
            let witness = Witness::new(&l);
            el.submit(move |_| {
                witness.ran();
            })
            .unwrap();
            let a = {
                let h = handle.clone();
                thread::spawn(move || h.shutdown())
            };
            let b = {
                let h = handle.clone();
                thread::spawn(move || h.close())
            };
            el.run().unwrap();
            let wins = [a.join().unwrap(), b.join().unwrap()]
                .iter()
                .filter(|w| **w)
                .count();
            assert_eq!(wins, 1, "exactly one of shutdown/close wins termination");
            assert_eq!(el.state(), LoopState::Terminated);
            assert_eq!(l.dropped.load(SeqCst), 1);
            let stats = el.stats();
            assert_eq!(
                l.ran.load(SeqCst) + stats.discarded,
                1,
                "the task neither ran nor was counted: {stats:?}"
            );
        },
    );
}

/// (d) S1 no plain store of Sleeping over Terminating: a shutdown from another thread races the
/// loop's decision to sleep with nothing to do. If the loop could overwrite Terminating with
/// Sleeping (the Go original's `Store`), it would park forever: a deadlock the checker reports.
#[test]
fn driver_d_termination_races_sleep_decision() {
    check(
        Model::new("driver_d_termination_races_sleep_decision").preemption_bound(3),
        || {
            let mut el = model_loop();
            let handle: Handle = el.handle();
            let stopper = thread::spawn(move || {
                assert!(handle.shutdown());
                handle
            });
            el.run().unwrap();
            let handle = stopper.join().unwrap();
            assert_eq!(handle.state(), LoopState::Terminated);
        },
    );
}
