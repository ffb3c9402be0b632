//! Models of the settlement cell's orderings (`core/src/promise/cell.rs`; claims P1 and P2 of
//! `proofs/promise.md`), written so that a missing Release/Acquire pair is a *reported race*:
//! the data the cell publishes is read without any other synchronization (no join, no lock in
//! between). `scripts/orderings.py` showed that `promise_a`/`promise_b` could not see the
//! orderings of the outcome's publication or of `schedule`'s effects, because their readers
//! synchronize through a lock or a join first.
//!
//! Under shuttle these bodies run as well, but shuttle is sequentially consistent and does not
//! track plain data: the race checks are loom's (the value and order checks hold for both).

use std::sync::Arc as StdArc;

use eventloop_core::promise::{Reaction, SettleCell};
use eventloop_models::cell::UnsafeCell;
use eventloop_models::{Model, check, thread};

/// A log of reaction identifiers that the settler's `schedule` and a registrar that gets its
/// reaction back both append to, as plain data: the cell must order the two.
struct ScheduleLog(UnsafeCell<Vec<usize>>);

// SAFETY: the model's claim is precisely that the cell orders every access to the log (loom
// reports any access that is not ordered).
unsafe impl Sync for ScheduleLog {}
// SAFETY: as above.
unsafe impl Send for ScheduleLog {}

impl ScheduleLog {
    fn push(&self, id: usize) {
        // SAFETY: exclusive by the cell's ordering (what the model checks).
        self.0.with_mut(|log| unsafe { (*log).push(id) });
    }

    fn read(&self) -> Vec<usize> {
        // SAFETY: read after every writer joined.
        self.0.with(|log| unsafe { (*log).clone() })
    }
}

/// A reaction that only carries its identifier (it is logged when scheduled, not run).
fn tagged(id: usize) -> (usize, Reaction<usize>) {
    (id, Reaction::new(move |_: &usize| ()))
}

/// (a) P2, the outcome is published with the state: one thread settles while another reads
/// `outcome()` with no other synchronization; a reader that sees a settled state reads the
/// winner's value, and the read is ordered after its write (loom checks the outcome cell).
#[test]
fn cell_a_outcome_read_races_settle() {
    check(
        Model::new("cell_a_outcome_read_races_settle").preemption_bound(3),
        || {
            let cell = StdArc::new(SettleCell::<usize>::new());
            let reader = {
                let cell = StdArc::clone(&cell);
                thread::spawn(move || {
                    for _ in 0..2 {
                        if let Some(value) = cell.outcome() {
                            assert_eq!(*value, 7, "a settled state without its outcome");
                        }
                    }
                })
            };
            cell.settle(7, |_| ()).expect("the only settler wins");
            reader.join().unwrap();
        },
    );
}

/// (b) P1, order across the settlement: a registrar registers `0` then `1` while another thread
/// settles. Whatever the settler's `schedule` receives it logs; whatever comes back to the
/// registrar it logs itself. The two writers touch the same plain log, so the cell must order
/// the settler's `schedule` before the registrar's hand-back (S5 Release, R's Acquire read of
/// SETTLED): loom reports the race otherwise. And the log is in registration order.
#[test]
fn cell_b_schedule_happens_before_hand_back() {
    check(
        Model::new("cell_b_schedule_happens_before_hand_back").preemption_bound(3),
        || {
            let cell = StdArc::new(SettleCell::<usize>::new());
            let log = StdArc::new(ScheduleLog(UnsafeCell::new(Vec::new())));
            let registrar = {
                let (cell, log) = (StdArc::clone(&cell), StdArc::clone(&log));
                thread::spawn(move || {
                    for (id, reaction) in [tagged(0), tagged(1)] {
                        if let Err(reaction) = cell.register(reaction) {
                            // Only `register`'s own synchronization orders this push after the
                            // settler's (checking the outcome first would add an Acquire).
                            log.push(id);
                            drop(reaction);
                            assert_eq!(cell.outcome(), Some(&5));
                        }
                    }
                })
            };
            let settler = {
                let (cell, log) = (StdArc::clone(&cell), StdArc::clone(&log));
                thread::spawn(move || {
                    // The settler does not know the identifiers: it counts what it was handed,
                    // which are the first reactions registered (a prefix, in order).
                    let mut handed = 0;
                    cell.settle(5, |reactions| {
                        for reaction in reactions {
                            log.push(handed);
                            handed += 1;
                            drop(reaction);
                        }
                    })
                    .expect("the only settler wins");
                })
            };
            registrar.join().unwrap();
            settler.join().unwrap();
            assert_eq!(
                log.read(),
                [0, 1],
                "each reaction once, in registration order"
            );
        },
    );
}
