//! Models of timers set and cleared from other threads (`core/src/driver/timers.rs`); claims
//! T4 and T5 of `proofs/timer.md`.
//!
//! The loop runs on the main thread with a [`FrozenClock`](eventloop_models::FrozenClock): every
//! timer is set with a zero delay, so it is due as soon as the loop has applied its request, and
//! no model needs time to pass. The loop parks with no timeout whenever it has no timer, so a
//! lost wake-up leaves every thread blocked, which loom and shuttle report as a deadlock.

use std::sync::Arc as StdArc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use eventloop_core::driver::ClearOutcome;
use eventloop_core::state::LoopState;
use eventloop_core::timer::TimerError;
use eventloop_models::ledger::{Ledger, Witness};
use eventloop_models::{Model, check, pick, scale, thread, timer_model_loop};

/// A callback that records its run in `ledger`, and its drop through a witness.
fn recorded(ledger: &StdArc<Ledger>) -> impl FnOnce(&eventloop_core::Cx<'_>) + Send + 'static {
    let witness = Witness::new(ledger);
    move |_| witness.ran()
}

/// Outcomes seen over all the iterations of model (a), so that it can show both sides of the
/// race were explored.
static CLEAR_WON: AtomicUsize = AtomicUsize::new(0);
static FIRE_WON: AtomicUsize = AtomicUsize::new(0);

/// (a) T4 cancel versus fire: a clear from another thread races the timer's firing. Exactly one
/// of "the callback ran" and "the clear returned Cancelled" holds, and the callback is dropped
/// exactly once, on the loop thread.
#[test]
fn timers_a_foreign_clear_races_firing() {
    CLEAR_WON.store(0, SeqCst);
    FIRE_WON.store(0, SeqCst);
    check(
        Model::new("timers_a_foreign_clear_races_firing").preemption_bound(3),
        || {
            let mut el = timer_model_loop();
            let ledger = Ledger::new();
            let id = el.set_timeout(Duration::ZERO, recorded(&ledger)).unwrap();
            let handle = el.handle();
            let clearer = thread::spawn(move || {
                let outcome = handle.clear_timer(id).wait().unwrap();
                handle.shutdown();
                outcome
            });
            el.run().unwrap();
            let outcome = clearer.join().unwrap();
            let ran = ledger.ran.load(SeqCst);
            match outcome {
                ClearOutcome::Cancelled => {
                    assert_eq!(ran, 0, "the clear said cancelled, but the callback ran");
                    CLEAR_WON.fetch_add(1, SeqCst);
                }
                ClearOutcome::NotPending => {
                    assert_eq!(
                        ran, 1,
                        "the clear found nothing, but the callback never ran"
                    );
                    FIRE_WON.fetch_add(1, SeqCst);
                }
                ClearOutcome::Terminated => panic!("the loop terminated before the clear"),
            }
            assert_eq!(ledger.dropped.load(SeqCst), 1, "callback dropped once");
            let stats = el.stats();
            assert_eq!(stats.timers_fired, ran);
            assert_eq!(stats.timers_cancelled, 1 - ran);
            assert_eq!(el.state(), LoopState::Terminated);
        },
    );
    if cfg!(loom) {
        // Both orders of the race were explored, so each assertion above was exercised.
        assert!(
            CLEAR_WON.load(SeqCst) > 0,
            "no interleaving where the clear won"
        );
        assert!(
            FIRE_WON.load(SeqCst) > 0,
            "no interleaving where the timer fired first"
        );
    }
}

/// (b) T5 no lost wake-up for timers: a timer set from another thread while the loop decides
/// to sleep (with no timer pending, so its park has no timeout) still fires; its callback shuts
/// the loop down, so `run` returns only if the set woke the loop.
#[test]
fn timers_b_foreign_set_races_sleep() {
    check(
        Model::new("timers_b_foreign_set_races_sleep").preemption_bound(3),
        || {
            let mut el = timer_model_loop();
            let handle = el.handle();
            let fired = StdArc::new(AtomicUsize::new(0));
            let f = StdArc::clone(&fired);
            let setter = thread::spawn(move || {
                handle
                    .set_timeout(Duration::ZERO, move |cx| {
                        f.fetch_add(1, SeqCst);
                        cx.shutdown();
                    })
                    .expect("the loop accepts timers until the timer runs")
            });
            el.run().unwrap();
            let id = setter.join().unwrap();
            assert_eq!(id.get(), 1);
            assert_eq!(fired.load(SeqCst), 1);
            let stats = el.stats();
            assert_eq!(stats.timers_fired, 1);
            assert!(stats.unparks <= stats.sleeps, "{stats:?}");
        },
    );
}

/// (c) T4/T7 conservation: several threads set timers and clear some of them (their own or
/// another thread's); the last one then shuts the loop down, possibly before the others are
/// done. Every accepted timer's callback runs once, or a clear reported it cancelled, or
/// termination dropped it — exactly one of the three; a refused set hands its callback back;
/// every callback is dropped exactly once. The loop's counters agree with the ledgers.
#[test]
fn timers_c_threads_set_and_clear_conservation() {
    check(
        Model::new("timers_c_threads_set_and_clear_conservation")
            .preemption_bound(1)
            // Bound 2 (`make verify-deep`): 15.7M interleavings in about 17 minutes at f4d955c.
            .deep_preemption_bound(2)
            .threaded_runs(100),
        || {
            let producers = scale(2, 3, 3);
            let per_producer = scale(1, 4, 20);
            let mut el = timer_model_loop();
            let handle = el.handle();
            // Each producer sets its timers, publishes their IDs, then clears some picked IDs
            // among everything published so far (its own or another producer's).
            let published = StdArc::new(std::sync::Mutex::new(Vec::new()));
            let threads: Vec<_> = (0..producers)
                .map(|p| {
                    let handle = handle.clone();
                    let published = StdArc::clone(&published);
                    thread::spawn(move || {
                        let mut mine = Vec::new();
                        for _ in 0..per_producer {
                            let ledger = Ledger::new();
                            match handle.set_timeout(Duration::ZERO, recorded(&ledger)) {
                                Ok(id) => mine.push((Some(id), ledger)),
                                // Refused after the shutdown: the callback comes back (and is
                                // dropped here, unrun).
                                Err(TimerError::Terminated(_)) => mine.push((None, ledger)),
                                Err(other) => panic!("unexpected {other}"),
                            }
                        }
                        published
                            .lock()
                            .unwrap()
                            .extend(mine.iter().filter_map(|(id, _)| *id));
                        let mut clears = Vec::new();
                        for k in 0..pick(per_producer, p % 2) {
                            let ids = published.lock().unwrap().clone();
                            if ids.is_empty() {
                                break;
                            }
                            let id = ids[pick(ids.len() - 1, k) % ids.len()];
                            let outcome = handle.clear_timer(id).wait().unwrap();
                            clears.push((id, outcome));
                        }
                        if p == producers - 1 {
                            handle.shutdown();
                        }
                        (mine, clears)
                    })
                })
                .collect();
            el.run().unwrap();
            let mut ledgers = Vec::new();
            let mut clears = Vec::new();
            for t in threads {
                let (mine, theirs) = t.join().unwrap();
                ledgers.extend(mine);
                clears.extend(theirs);
            }
            let stats = el.stats();
            let (mut fired, mut cancelled, mut dropped, mut refused) = (0, 0, 0, 0);
            for (id, ledger) in &ledgers {
                let ran = ledger.ran.load(SeqCst);
                assert_eq!(
                    ledger.dropped.load(SeqCst),
                    1,
                    "timer {id:?}'s callback drops"
                );
                let Some(id) = id else {
                    assert_eq!(ran, 0, "a refused timer ran");
                    refused += 1;
                    continue;
                };
                assert!(ran <= 1, "timer {id} ran {ran} times");
                let wins = clears
                    .iter()
                    .filter(|(cleared, outcome)| {
                        cleared == id && *outcome == ClearOutcome::Cancelled
                    })
                    .count();
                assert!(wins <= 1, "timer {id} was cancelled {wins} times");
                assert!(
                    ran + wins <= 1,
                    "timer {id} both ran and was reported cancelled"
                );
                fired += ran;
                cancelled += wins;
                dropped += 1 - ran - wins;
            }
            assert_eq!(
                (
                    stats.timers_fired,
                    stats.timers_cancelled,
                    stats.timers_dropped
                ),
                (fired, cancelled, dropped),
                "the loop's counters disagree with the ledgers"
            );
            assert_eq!(
                fired + cancelled + dropped + refused,
                producers * per_producer
            );
        },
    );
}
