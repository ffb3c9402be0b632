//! Promise settlement (issue 5, first slice): the settlement core that promises are built on.
//!
//! [`SettleCell`] is the part of a promise that is shared between threads: one outcome, settled
//! once from any thread (the first settler wins; later ones get their outcome back), and the
//! reactions registered before, during or after the settlement. Every registered
//! [`Reaction`] is handed out exactly once — to the settler, in registration order
//! ([`Reactions`], given to its scheduler), or back to its registrar, who found the cell
//! settled — and no reader sees a
//! settled cell without its outcome. If one registration happens-before another, a FIFO
//! scheduler receives them in that order, also when the settlement races both. A reaction costs
//! one allocation: its closure, in a thin
//! node of the lock-free list. The algorithm and its orderings are in the `cell` module docs;
//! the argument is `proofs/promise.md`.
//!
//! ```
//! # if eventloop_core::__loom_build() { return; } // loom primitives work only inside a model
//! use std::sync::{Arc, Mutex};
//! use eventloop_core::promise::{Reaction, SettleCell};
//!
//! let cell = Arc::new(SettleCell::<Result<u32, String>>::new());
//! let seen = Arc::new(Mutex::new(Vec::new()));
//! let s = Arc::clone(&seen);
//! cell.register(Reaction::new(move |o: &Result<u32, String>| s.lock().unwrap().push(o.clone())))
//!     .unwrap(); // pending: the settler takes it
//! // The settler hands the reactions to a scheduler (here a queue standing in for the loop's
//! // microtask queue): the cell never runs user code itself.
//! let queue = Arc::new(Mutex::new(Vec::new()));
//! let (settler, q) = (Arc::clone(&cell), Arc::clone(&queue));
//! std::thread::spawn(move || {
//!     settler
//!         .settle(Ok(7), |reactions| q.lock().unwrap().extend(reactions))
//!         .unwrap()
//! })
//! .join()
//! .unwrap();
//! assert!(cell.settle(Err("late".into()), |_| ()).is_err()); // the first settlement won
//! for reaction in queue.lock().unwrap().drain(..) {
//!     reaction.run(cell.outcome().unwrap());
//! }
//! assert_eq!(*seen.lock().unwrap(), [Ok(7)]);
//! ```
//!
//! # Ground rules
//!
//! - Any thread may settle and register; the cell never runs user code itself: the settler
//!   gets the reactions, a late registrar gets its reaction back, and either schedules them
//!   (the loop runs them as microtasks — the `Promise` type of the next slice does that).
//! - Dropping a cell drops its outcome and any reaction still registered, unrun.
//!
//! Not yet here (the rest of issue 5): `Promise<T, E>` handles with `then`/`catch`/`finally`
//! run as loop microtasks, adoption, combinators, unhandled-rejection tracking, `Future`, the
//! registry.

mod cell;

pub use cell::{Reaction, Reactions, SettleCell};

#[cfg(not(loom))]
mod assertions {
    use super::{Reaction, Reactions, SettleCell};
    use alloc::rc::Rc;
    use static_assertions::{assert_impl_all, assert_not_impl_any};

    assert_impl_all!(SettleCell<u32>: Send, Sync);
    assert_not_impl_any!(SettleCell<Rc<u8>>: Send, Sync);
    assert_impl_all!(Reaction<u32>: Send);
    assert_impl_all!(Reactions<u32>: Send);
}

#[cfg(all(test, not(loom), not(feature = "shuttle")))]
mod tests;
