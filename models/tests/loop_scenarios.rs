//! Whole-loop scenario models of the event loop driver (`core/src/driver/`): several producer
//! threads feed one loop while a thread stops it at a random point; conservation is checked
//! per task (claims S2 and S3 of `proofs/state.md`, the admission rule of the driver).
//!
//! In every model the main thread runs the loop (`EventLoop::run`) and spawned threads submit
//! work (macrotasks and microtasks, through `Handle`s) or stop it. Every closure carries a
//! [`Witness`] whose runs and drops are counted in its own [`Ledger`], so each model ends by
//! checking, per closure: it was dropped exactly once; it ran at most once; it ran iff it was
//! accepted (graceful `shutdown`), or `ran + discarded == accepted` (`close`); a refused closure
//! came back inside the error, unrun; after one of its own submits was refused, a producer
//! sees every later submit of that kind refused.
//!
//! Where the stop lands varies from run to run: under shuttle it is drawn from
//! `shuttle::rand` (part of the schedule, so a failing seed replays it); on real threads a
//! per-run counter cycles it; under loom it is fixed (loom replays the body and needs it
//! deterministic) and the interleavings do the varying. Under loom the models are tiny
//! (2 producers × 1 closure); under shuttle 3–4 producers submit hundreds of closures.

use std::sync::Arc as StdArc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};

use eventloop_core::Cx;
use eventloop_core::driver::Handle;
use eventloop_core::state::LoopState;
use eventloop_models::{Model, check, model_loop, pick, scale, thread};

/// Counts the runs and drops of one closure.
#[derive(Default)]
struct Ledger {
    created: AtomicBool,
    accepted: AtomicBool,
    ran: AtomicUsize,
    dropped: AtomicUsize,
}

/// Owned by the closure its ledger belongs to.
struct Witness(StdArc<Ledger>);

impl Witness {
    fn new(ledger: &StdArc<Ledger>) -> Self {
        assert!(
            !ledger.created.swap(true, SeqCst),
            "a closure was created twice"
        );
        Self(StdArc::clone(ledger))
    }

    /// Marks the run (the witness drops with the closure right after).
    fn ran(&self) {
        self.0.ran.fetch_add(1, SeqCst);
    }
}

impl Drop for Witness {
    fn drop(&mut self) {
        self.0.dropped.fetch_add(1, SeqCst);
    }
}

fn ledgers(n: usize) -> Vec<StdArc<Ledger>> {
    (0..n).map(|_| StdArc::new(Ledger::default())).collect()
}

/// Records a submit result: accepted, or refused with the closure handed back unrun (dropping
/// the error must drop it). Returns whether it was accepted.
fn settle<T>(ledger: &Ledger, result: Result<(), T>) -> bool {
    match result {
        Ok(()) => {
            ledger.accepted.store(true, SeqCst);
            true
        }
        Err(back) => {
            assert_eq!(ledger.ran.load(SeqCst), 0, "a refused closure ran");
            assert_eq!(ledger.dropped.load(SeqCst), 0, "a refused closure was lost");
            drop(back);
            assert_eq!(
                ledger.dropped.load(SeqCst),
                1,
                "a refused closure was not handed back"
            );
            false
        }
    }
}

/// What the ledgers add up to.
#[derive(Debug, Default, PartialEq, Eq)]
struct Totals {
    created: usize,
    accepted: usize,
    ran: usize,
}

/// Checks every ledger once the loop and every closure are gone: created ⇒ dropped exactly
/// once and ran at most once; refused ⇒ never ran; never created ⇒ untouched.
fn totals(ledgers: &[StdArc<Ledger>]) -> Totals {
    let mut t = Totals::default();
    for (i, l) in ledgers.iter().enumerate() {
        let (ran, dropped) = (l.ran.load(SeqCst), l.dropped.load(SeqCst));
        if !l.created.load(SeqCst) {
            assert_eq!((ran, dropped), (0, 0), "closure {i} was never created");
            continue;
        }
        t.created += 1;
        assert_eq!(dropped, 1, "closure {i} dropped {dropped} times");
        assert!(ran <= 1, "closure {i} ran {ran} times");
        if l.accepted.load(SeqCst) {
            t.accepted += 1;
        } else {
            assert_eq!(ran, 0, "closure {i} ran although it was refused");
        }
        t.ran += ran;
    }
    t
}

/// How a stopping thread stops the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Shutdown,
    Close,
}

impl Stop {
    fn call(self, handle: &Handle) -> bool {
        match self {
            Stop::Shutdown => handle.shutdown(),
            Stop::Close => handle.close(),
        }
    }
}

/// Joins the producer threads; returns (closures accepted, stop calls that won) summed over them.
fn join_producers(threads: Vec<thread::JoinHandle<(usize, bool)>>) -> (usize, usize) {
    threads.into_iter().fold((0, 0), |(accepted, wins), t| {
        let (a, won) = t.join().unwrap();
        (accepted + a, wins + usize::from(won))
    })
}

/// Producer `p` submits its closures (`ledgers[p * per..][..per]`), microtasks on odd
/// producers and macrotasks on even ones (so both rings are fed and closed concurrently). If
/// `stop` is given, it stops the loop after `stop_after` of its own submits (or after all of
/// them). Returns (accepted, whether its stop call won).
fn spawn_producer(
    handle: &Handle,
    ledgers: &[StdArc<Ledger>],
    p: usize,
    per: usize,
    stop: Option<(Stop, usize)>,
) -> thread::JoinHandle<(usize, bool)> {
    let handle = handle.clone();
    let mine: Vec<_> = ledgers[p * per..(p + 1) * per].to_vec();
    thread::spawn(move || {
        let (mut accepted, mut refused, mut won) = (0, 0, false);
        for (i, ledger) in mine.iter().enumerate() {
            match stop {
                Some((how, after)) if after == i => won = how.call(&handle),
                _ => {}
            }
            let witness = Witness::new(ledger);
            let task = move |_: &Cx<'_>| witness.ran();
            let result = if p % 2 == 1 {
                handle.queue_microtask(task)
            } else {
                handle.submit(task)
            };
            if settle(ledger, result) {
                assert_eq!(refused, 0, "accepted after a refusal on the same ring");
                accepted += 1;
            } else {
                refused += 1;
            }
        }
        match stop {
            Some((how, after)) if after >= mine.len() => won = how.call(&handle),
            _ => {}
        }
        (accepted, won)
    })
}

/// The body shared by (a) and (b): producers, one of which stops the loop at a random point
/// of its own submits; the main thread runs the loop.
fn producers_with_random_stop(stop: Stop) {
    let producers = scale(2, 4, 4);
    let per = scale(1, 100, 200);
    let stop_after = pick(per, 1);
    let stopper = pick(producers - 1, 0);
    let mut el = model_loop();
    let handle = el.handle();
    let all = ledgers(producers * per);
    let threads: Vec<_> = (0..producers)
        .map(|p| {
            let stop = (p == stopper).then_some((stop, stop_after));
            spawn_producer(&handle, &all, p, per, stop)
        })
        .collect();
    el.run().unwrap();
    assert_eq!(el.state(), LoopState::Terminated);
    let (accepted, wins) = join_producers(threads);
    assert_eq!(wins, 1, "the only stop call must win");
    let stats = el.stats();
    drop(el);
    let t = totals(&all);
    assert_eq!((t.created, t.accepted), (producers * per, accepted));
    match stop {
        Stop::Shutdown => {
            assert_eq!(
                t.ran, accepted,
                "graceful shutdown runs every accepted closure"
            );
            assert_eq!(stats.discarded, 0, "{stats:?}");
        }
        Stop::Close => assert_eq!(
            t.ran + stats.discarded,
            accepted,
            "ran + discarded != accepted: {t:?} {stats:?}"
        ),
    }
    assert_eq!(stats.tasks_run + stats.microtasks_run, t.ran, "{stats:?}");
    assert!(
        stats.unparks <= stats.sleeps,
        "more than one unpark per sleep: {stats:?}"
    );
}

/// (a) S2 across a graceful shutdown at a random point: every accepted closure runs exactly
/// once, every refused one comes back unrun, nothing is discarded.
#[test]
fn loop_scenarios_a_producers_random_shutdown() {
    check(
        Model::new("loop_scenarios_a_producers_random_shutdown").preemption_bound(2),
        || producers_with_random_stop(Stop::Shutdown),
    );
}

/// (b) S2 across `close` at a random point: `ran + discarded == accepted`.
#[test]
fn loop_scenarios_b_producers_random_close() {
    check(
        Model::new("loop_scenarios_b_producers_random_close").preemption_bound(2),
        || producers_with_random_stop(Stop::Close),
    );
}

/// (c) S1/S3 with work in flight: producers submit while a shutdown and a close race from two
/// more threads, each after a random number of the producers' submits (under loom: one
/// producer submits then closes, racing a shutdown from another thread). Exactly one wins; the
/// loop terminates once; `ran + discarded == accepted` (a close during the graceful drain turns
/// the rest of it into a discard).
#[test]
fn loop_scenarios_c_shutdown_races_close_with_work_in_flight() {
    check(
        Model::new("loop_scenarios_c_shutdown_races_close_with_work_in_flight").preemption_bound(2),
        || {
            let producers = scale(1, 3, 3);
            let per = scale(1, 60, 200);
            let total = producers * per;
            // Under loom the close comes from the producer after its submit rather than from a
            // thread of its own: one thread fewer keeps the model under half a minute.
            let close_by_producer = cfg!(loom);
            let mut el = model_loop();
            let handle = el.handle();
            let all = ledgers(total);
            let submitted = StdArc::new(AtomicUsize::new(0));
            let threads: Vec<_> = (0..producers)
                .map(|p| {
                    let (handle, submitted) = (handle.clone(), StdArc::clone(&submitted));
                    let mine: Vec<_> = all[p * per..(p + 1) * per].to_vec();
                    thread::spawn(move || {
                        let mut accepted = 0;
                        for (i, ledger) in mine.iter().enumerate() {
                            let witness = Witness::new(ledger);
                            let task = move |_: &Cx<'_>| witness.ran();
                            let result = if (p + i) % 3 == 2 {
                                handle.queue_microtask(task)
                            } else {
                                handle.submit(task)
                            };
                            accepted += usize::from(settle(ledger, result));
                            submitted.fetch_add(1, SeqCst);
                        }
                        let won = close_by_producer && p == 0 && Stop::Close.call(&handle);
                        (accepted, won)
                    })
                })
                .collect();
            // Each stopper waits (yielding, bounded) until the producers made `target` submits.
            let stops: &[Stop] = if close_by_producer {
                &[Stop::Shutdown]
            } else {
                &[Stop::Shutdown, Stop::Close]
            };
            let stoppers: Vec<_> = stops
                .iter()
                .copied()
                .map(|how| {
                    let target = pick(total, 0);
                    let (handle, submitted) = (handle.clone(), StdArc::clone(&submitted));
                    thread::spawn(move || {
                        for _ in 0..scale(0, 4 * total, 4 * total) {
                            if submitted.load(SeqCst) >= target {
                                break;
                            }
                            thread::yield_now();
                        }
                        how.call(&handle)
                    })
                })
                .collect();
            el.run().unwrap();
            assert_eq!(el.state(), LoopState::Terminated);
            let (accepted, mut wins) = join_producers(threads);
            wins += stoppers
                .into_iter()
                .map(|t| usize::from(t.join().unwrap()))
                .sum::<usize>();
            assert_eq!(wins, 1, "exactly one of shutdown/close wins");
            let stats = el.stats();
            drop(el);
            let t = totals(&all);
            assert_eq!((t.created, t.accepted), (total, accepted));
            assert_eq!(
                t.ran + stats.discarded,
                accepted,
                "ran + discarded != accepted: {t:?} {stats:?}"
            );
            assert_eq!(stats.tasks_run + stats.microtasks_run, t.ran, "{stats:?}");
        },
    );
}

/// (d) Tasks that submit tasks: each root, when it runs, submits three children — through
/// `Cx::submit`, `Cx::queue_microtask` and a `Handle` — while a stopper shuts the loop down
/// (or closes it, every other run) after a random number of root submits. A child refused
/// during the drain comes back unrun; `Cx::queue_microtask` is never refused while a callback
/// runs; conservation holds over roots and children.
#[test]
fn loop_scenarios_d_tasks_submit_tasks() {
    check(
        Model::new("loop_scenarios_d_tasks_submit_tasks").preemption_bound(2),
        || {
            const CHILDREN: usize = 3;
            let producers = scale(1, 3, 3);
            let roots_per = scale(1, 20, 60);
            let roots = producers * roots_per;
            let close = pick(1, 0) == 1;
            let stop_after = pick(roots, 1);
            let mut el = model_loop();
            let handle = el.handle();
            // Root r's ledger is at r * (1 + CHILDREN); its children follow it.
            let all = ledgers(roots * (1 + CHILDREN));
            let submitted = StdArc::new(AtomicUsize::new(0));
            let refused_microtasks = StdArc::new(AtomicUsize::new(0));
            let threads: Vec<_> = (0..producers)
                .map(|p| {
                    let (handle, submitted) = (handle.clone(), StdArc::clone(&submitted));
                    let refused_microtasks = StdArc::clone(&refused_microtasks);
                    let all = all.clone();
                    thread::spawn(move || {
                        let mut accepted = 0;
                        for r in p * roots_per..(p + 1) * roots_per {
                            let base = r * (1 + CHILDREN);
                            let witness = Witness::new(&all[base]);
                            let children: Vec<_> = all[base + 1..=base + CHILDREN].to_vec();
                            let refused_microtasks = StdArc::clone(&refused_microtasks);
                            let root = move |cx: &Cx<'_>| {
                                witness.ran();
                                for (route, ledger) in children.iter().enumerate() {
                                    let w = Witness::new(ledger);
                                    let child = move |_: &Cx<'_>| w.ran();
                                    let accepted = match route {
                                        0 => settle(ledger, cx.submit(child)),
                                        1 => settle(ledger, cx.queue_microtask(child)),
                                        _ => settle(ledger, cx.handle().submit(child)),
                                    };
                                    if route == 1 && !accepted {
                                        refused_microtasks.fetch_add(1, SeqCst);
                                    }
                                }
                            };
                            accepted += usize::from(settle(&all[base], handle.submit(root)));
                            submitted.fetch_add(1, SeqCst);
                        }
                        accepted
                    })
                })
                .collect();
            let stopper = {
                let (handle, submitted) = (handle.clone(), StdArc::clone(&submitted));
                thread::spawn(move || {
                    for _ in 0..scale(0, 4 * roots, 4 * roots) {
                        if submitted.load(SeqCst) >= stop_after {
                            break;
                        }
                        thread::yield_now();
                    }
                    if close {
                        handle.close()
                    } else {
                        handle.shutdown()
                    }
                })
            };
            el.run().unwrap();
            let roots_accepted: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
            assert!(stopper.join().unwrap(), "the only stop call must win");
            assert_eq!(
                refused_microtasks.load(SeqCst),
                0,
                "Cx::queue_microtask refused while a callback ran"
            );
            let stats = el.stats();
            drop(el);
            let t = totals(&all);
            assert!(t.accepted >= roots_accepted);
            assert_eq!(
                t.ran + stats.discarded,
                t.accepted,
                "ran + discarded != accepted (close: {close}): {t:?} {stats:?}"
            );
            if !close {
                assert_eq!(stats.discarded, 0, "{stats:?}");
            }
            assert_eq!(stats.tasks_run + stats.microtasks_run, t.ran, "{stats:?}");
        },
    );
}
