//! Unit tests of the settlement cell on one thread. Races are in `models/tests/promise.rs`.

use super::cell::{Reaction, SettleCell};
use alloc::sync::Arc;
use alloc::vec::Vec;
use std::sync::Mutex;

type Log = Arc<Mutex<Vec<(u32, u32)>>>;

/// Registers reactions `0..n` on a pending cell; reaction `k` logs `(k, outcome)`.
fn register_logging(cell: &SettleCell<u32>, log: &Log, n: u32) {
    for k in 0..n {
        let log = Arc::clone(log);
        let reaction = Reaction::new(move |v: &u32| log.lock().unwrap().push((k, *v)));
        assert!(cell.register(reaction).is_ok(), "the cell is pending");
    }
}

#[test]
fn reactions_before_and_after_settle_each_run_once_in_order() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let cell = SettleCell::<u32>::new();
    register_logging(&cell, &log, 3);
    assert!(cell.outcome().is_none());
    let mut batches = Vec::new();
    cell.settle(7, |reactions| batches.push(reactions)).unwrap();
    assert_eq!(
        cell.settle(8, |_| unreachable!()).err(),
        Some(8),
        "the second settler loses"
    );
    assert_eq!(batches.len(), 1);
    for batch in batches {
        batch.run_all(cell.outcome().unwrap());
    }
    let log2 = Arc::clone(&log);
    let late = cell
        .register(Reaction::new(move |v: &u32| {
            log2.lock().unwrap().push((3, *v))
        }))
        .err()
        .unwrap();
    late.run(cell.outcome().unwrap());
    assert_eq!(*log.lock().unwrap(), [(0, 7), (1, 7), (2, 7), (3, 7)]);
}

#[test]
fn dropping_cells_drops_outcomes_and_unrun_reactions() {
    let counter = Arc::new(());
    let pending = SettleCell::<Arc<()>>::new();
    let c = Arc::clone(&counter);
    assert!(pending.register(Reaction::new(move |_| drop(c))).is_ok());
    drop(pending);
    let settled = SettleCell::new();
    settled.settle(Arc::clone(&counter), drop).unwrap();
    drop(settled);
    assert_eq!(Arc::strong_count(&counter), 1);
}

#[test]
fn a_cell_settled_from_the_start_hands_reactions_back_and_refuses_settlers() {
    let cell = SettleCell::settled(5u32);
    assert_eq!(cell.outcome(), Some(&5));
    assert_eq!(cell.settle(6, |_| unreachable!()).err(), Some(6));
    let ran = Arc::new(Mutex::new(None));
    let r = Arc::clone(&ran);
    let back = cell
        .register(Reaction::new(move |v: &u32| *r.lock().unwrap() = Some(*v)))
        .expect_err("a settled cell hands the reaction back");
    back.run(cell.outcome().unwrap());
    assert_eq!(*ran.lock().unwrap(), Some(5));
}

/// The batch a settler gets is a list it can take apart: every reaction once, in registration
/// order, as an iterator, and empty once taken. A settlement with nothing registered hands out
/// no batch at all.
#[test]
fn the_settlers_batch_is_an_ordered_iterator_of_the_registered_reactions() {
    let none = SettleCell::<u32>::new();
    let mut batches = 0;
    none.settle(1, |_| batches += 1).unwrap();
    assert_eq!(batches, 0, "no reaction, no batch");

    let log = Arc::new(Mutex::new(Vec::new()));
    let cell = SettleCell::<u32>::new();
    register_logging(&cell, &log, 3);
    let mut taken = Vec::new();
    cell.settle(9, |mut batch| {
        assert!(!batch.is_empty());
        for reaction in batch.by_ref() {
            taken.push(reaction);
        }
        assert!(batch.is_empty(), "a drained batch is empty");
    })
    .unwrap();
    assert_eq!(taken.len(), 3);
    for reaction in taken {
        reaction.run(cell.outcome().unwrap());
    }
    assert_eq!(*log.lock().unwrap(), [(0, 9), (1, 9), (2, 9)]);
}
