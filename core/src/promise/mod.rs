//! Promises: settled once from any thread, with reactions that run as microtasks on the loop,
//! exactly once each, in registration order.
//!
//! Two layers:
//!
//! - [`SettleCell`] is the part of a promise that is shared between threads: one outcome,
//!   settled once from any thread (the first settler wins; later ones get their outcome back),
//!   and the reactions registered before, during or after the settlement. Every registered
//!   [`Reaction`] is handed out exactly once — to the settler, in registration order
//!   ([`Reactions`], given to its scheduler), or back to its registrar, who found the cell
//!   settled — and no reader sees a settled cell without its outcome. The algorithm and its
//!   orderings are in the `cell` module docs; the argument is `proofs/promise.md`.
//! - [`Promise<T, E>`] and its [`Resolver`] build the JS semantics on the cell: `then`,
//!   `catch`, `finally` and the general [`Promise::react`] run as jobs of the promise's
//!   [`Scheduler`] (the event loop's microtask queue; see `Handle::promise` in the driver),
//!   never inside `then` or `resolve`; adoption of another promise with the JS microtask hops; a
//!   cycle error for a promise resolved with itself; a panicking reaction rejects the derived
//!   promise; unhandled rejections are sent to the scheduler for its hook. With `std`, a
//!   `Promise` can be awaited (`IntoFuture`, on any executor) and has a blocking `wait`.
//!
//! ```
//! # if eventloop_core::__loom_build() { return; } // loom primitives work only inside a model
//! use eventloop_core::EventLoop;
//! use eventloop_core::promise::Failure;
//!
//! let mut event_loop = EventLoop::new();
//! let (promise, resolver) = event_loop.promise::<u32, Failure>();
//! let doubled = promise.then(|v| Ok(v * 2)); // runs later, as a microtask on the loop
//! std::thread::spawn(move || resolver.resolve(21)) // settle from any thread
//!     .join()
//!     .unwrap()
//!     .unwrap();
//! assert!(doubled.is_pending()); // nothing runs inside `resolve`
//! event_loop.run_until_idle().unwrap();
//! assert_eq!(doubled.outcome(), Some(&Ok(42)));
//! ```
//!
//! # Ground rules
//!
//! - Any thread may settle and register; neither runs user code: reactions run only in jobs
//!   the scheduler runs (on the loop thread, in FIFO order with other microtasks).
//! - The settlement cell never runs user code itself: the settler gets the reactions, a late
//!   registrar gets its reaction back, and either schedules them.
//! - Dropping a cell drops its outcome and any reaction still registered, unrun. Dropping a
//!   resolver unused rejects its promise with [`Failure::Abandoned`].
//! - [`WeakPromise`] (from [`Resolver::downgrade`]) is the registry's reference to a promise
//!   (`crate::registry`): weak, type-erased, and able to reject the promise with
//!   [`Failure::Terminated`] when its loop terminates.
//!
//! The combinators [`all`], [`race`], [`all_settled`] and [`any`] (JS `Promise.all` and the
//! rest, empty inputs and microtask timing included) are one algorithm, in the `combinators`
//! module docs; the driver offers them as methods too (`handle.all(inputs)`).

mod cell;
mod combinators;
mod handle;
mod job;
mod outcome;
mod scheduler;
#[cfg(feature = "std")]
mod wait;
mod weak;

pub use cell::{Reaction, Reactions, SettleCell};
pub use combinators::{AggregateError, all, all_settled, any, race};
pub use handle::{Promise, Reason, Resolver, Value};
#[cfg(feature = "std")]
pub(crate) use outcome::panic_message;
pub use outcome::{Failure, IntoPromise, Resolution};
pub use scheduler::{Job, Scheduler, TrackedRejection};
#[cfg(feature = "std")]
pub use wait::{PromiseFuture, WaitOnLoopThread};
pub use weak::{WeakPromise, WeakState};

#[cfg(not(loom))]
mod assertions {
    use super::{Reaction, Reactions, SettleCell};
    use alloc::rc::Rc;
    use static_assertions::{assert_impl_all, assert_not_impl_any};

    assert_impl_all!(SettleCell<u32>: Send, Sync);
    assert_not_impl_any!(SettleCell<Rc<u8>>: Send, Sync);
    assert_impl_all!(Reaction<u32>: Send);
    assert_impl_all!(Reactions<u32>: Send);
    assert_impl_all!(super::WeakPromise: Send, Sync);
}

#[cfg(all(test, not(loom), not(feature = "shuttle")))]
mod tests;

#[cfg(all(test, feature = "std", not(loom), not(feature = "shuttle")))]
mod combinator_tests;

#[cfg(all(test, feature = "std", not(loom), not(feature = "shuttle")))]
mod handle_tests;
