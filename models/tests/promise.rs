//! Models of the promise settlement core (`core/src/promise/cell.rs`); claims P1 and P2 of
//! `proofs/promise.md`.
//!
//! A queue under the checker's lock stands in for the loop's microtask queue: the settler
//! `schedule`s the reactions it hands out into it, and a registrar whose reaction comes back
//! (the cell was settled) pushes it there itself. The main thread then runs the queue in order,
//! as the loop would. Each reaction must run exactly once, with the winning outcome, and the
//! reactions of one registrar in registration order.

use std::sync::Arc as StdArc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use eventloop_core::promise::{Reaction, SettleCell};
use eventloop_models::sync::Mutex;
use eventloop_models::{Model, check, scale, thread};

type Queue = StdArc<Mutex<Vec<Reaction<usize>>>>;

fn enqueue(queue: &Queue, reactions: impl IntoIterator<Item = Reaction<usize>>) {
    queue.lock().unwrap().extend(reactions);
}

/// Registers a reaction; if the cell was already settled, queues it, and checks the outcome is
/// visible (P2).
fn register(cell: &SettleCell<usize>, queue: &Queue, reaction: Reaction<usize>) {
    if let Err(reaction) = cell.register(reaction) {
        assert!(
            cell.outcome().is_some(),
            "a registrar that finds the cell settled sees the outcome"
        );
        enqueue(queue, [reaction]);
    }
}

/// Runs and the last value seen by one reaction; `log` records (registrar, index) in run order.
#[derive(Default)]
struct Ledger {
    runs: AtomicUsize,
    value: AtomicUsize,
}

fn recording(
    ledger: &StdArc<Ledger>,
    log: &StdArc<std::sync::Mutex<Vec<(usize, usize)>>>,
    who: (usize, usize),
) -> Reaction<usize> {
    let (ledger, log) = (StdArc::clone(ledger), StdArc::clone(log));
    Reaction::new(move |value: &usize| {
        ledger.runs.fetch_add(1, SeqCst);
        ledger.value.store(*value, SeqCst);
        log.lock().unwrap().push(who);
    })
}

/// Runs the queue (the loop's checkpoint) after every thread is done.
fn run_queue(cell: &SettleCell<usize>, queue: &Queue) {
    let outcome = cell.outcome().expect("settled");
    for reaction in std::mem::take(&mut *queue.lock().unwrap()) {
        reaction.run(outcome);
    }
}

/// (a) P1 exactly once, in registration order: two threads register reactions while the main
/// thread settles; each reaction runs exactly once with the settled value, and each registrar's
/// reactions run in the order it registered them — also when the settlement splits them between
/// the settler's list and the registrar's own hand-back.
#[test]
fn promise_a_settle_races_register() {
    check(
        Model::new("promise_a_settle_races_register").preemption_bound(3),
        || {
            let per_registrar = scale(2, 3, 10);
            let cell = StdArc::new(SettleCell::<usize>::new());
            let queue: Queue = StdArc::new(Mutex::new(Vec::new()));
            let log = StdArc::new(std::sync::Mutex::new(Vec::new()));
            let registrars: Vec<_> = (0..2)
                .map(|r| {
                    let (cell, queue, log) = (
                        StdArc::clone(&cell),
                        StdArc::clone(&queue),
                        StdArc::clone(&log),
                    );
                    thread::spawn(move || {
                        let ledgers: Vec<_> = (0..per_registrar)
                            .map(|_| StdArc::new(Ledger::default()))
                            .collect();
                        for (k, ledger) in ledgers.iter().enumerate() {
                            register(&cell, &queue, recording(ledger, &log, (r, k)));
                        }
                        ledgers
                    })
                })
                .collect();
            cell.settle(42, |reactions| enqueue(&queue, reactions))
                .expect("the only settler wins");
            let ledgers: Vec<_> = registrars
                .into_iter()
                .flat_map(|t| t.join().unwrap())
                .collect();
            run_queue(&cell, &queue);
            for ledger in &ledgers {
                assert_eq!(ledger.runs.load(SeqCst), 1, "a reaction ran 0 or 2 times");
                assert_eq!(ledger.value.load(SeqCst), 42);
            }
            let log = log.lock().unwrap();
            for r in 0..2 {
                let mine: Vec<usize> = log.iter().filter(|(w, _)| *w == r).map(|w| w.1).collect();
                assert_eq!(
                    mine,
                    (0..per_registrar).collect::<Vec<_>>(),
                    "registrar {r}'s order"
                );
            }
        },
    );
}

/// (b) P2 first settlement wins, published with its value: two settlers race each other and a
/// registrar; exactly one wins, the loser gets its value back, the winner's value is what
/// everyone sees with the settled state, and the reactions registered before and after run once.
#[test]
fn promise_b_settlers_race() {
    check(
        Model::new("promise_b_settlers_race").preemption_bound(3),
        || {
            let cell = StdArc::new(SettleCell::<usize>::new());
            let queue: Queue = StdArc::new(Mutex::new(Vec::new()));
            let log = StdArc::new(std::sync::Mutex::new(Vec::new()));
            let early = StdArc::new(Ledger::default());
            register(&cell, &queue, recording(&early, &log, (0, 0)));
            let settlers: Vec<_> = [1usize, 2]
                .into_iter()
                .map(|value| {
                    let (cell, queue) = (StdArc::clone(&cell), StdArc::clone(&queue));
                    thread::spawn(move || {
                        match cell.settle(value, |reactions| enqueue(&queue, reactions)) {
                            Ok(()) => {
                                assert_eq!(
                                    cell.outcome(),
                                    Some(&value),
                                    "published with its value"
                                );
                                Some(value)
                            }
                            Err(back) => {
                                assert_eq!(back, value, "the loser gets its own value back");
                                None
                            }
                        }
                    })
                })
                .collect();
            let late = StdArc::new(Ledger::default());
            register(&cell, &queue, recording(&late, &log, (0, 1)));
            let winners: Vec<usize> = settlers
                .into_iter()
                .filter_map(|t| t.join().unwrap())
                .collect();
            assert_eq!(winners.len(), 1, "exactly one settler wins: {winners:?}");
            let winner = winners[0];
            assert_eq!(cell.outcome(), Some(&winner));
            run_queue(&cell, &queue);
            for ledger in [&early, &late] {
                assert_eq!(ledger.runs.load(SeqCst), 1);
                assert_eq!(ledger.value.load(SeqCst), winner);
            }
            assert_eq!(*log.lock().unwrap(), [(0, 0), (0, 1)], "registration order");
        },
    );
}
