//! A model-checked concurrency core for JavaScript-style event loops.
//!
//! This crate is the part of an event loop whose correctness depends on concurrency: the
//! [`ring`] that carries microtasks from any thread to the loop thread, the loop [`state`]
//! machine, a [`clock`] abstraction, the [`timer`] pool (`setTimeout`/`setInterval` semantics:
//! ordered ties, O(log n) cancel, IDs that are never reused), [`promise`]s (settled once from
//! any thread, reactions run exactly once as microtasks in JS job order), and (feature `std`)
//! the [`driver`] that composes them into an event loop you can embed.
//!
//! Every protocol here is checked three ways from the same source: the production build, loom
//! (`RUSTFLAGS="--cfg loom"`, all interleavings within a stated preemption bound, under the C11
//! memory model) and shuttle (`--features shuttle`, randomized and PCT schedules of larger
//! scenarios). The claims, their arguments and the limits of that evidence are in `proofs/`.
//!
//! # Features
//!
//! - `alloc` (default through `std`): heap-backed structures. The crate is `no_std`.
//! - `std` (default): std primitives (a futex-backed lock instead of a spin lock) and the driver.
//! - `shuttle`: testing only; swaps every primitive for shuttle's. Not covered by semver.
//!
//! # Example
//!
//! ```
//! # if eventloop_core::__loom_build() { return; } // loom primitives work only inside a model
//! use eventloop_core::ring;
//!
//! let (producer, mut consumer) = ring::with_capacity::<u32>(2).unwrap();
//! let remote = producer.clone();
//! std::thread::spawn(move || {
//!     for i in 0..3 {
//!         remote.push(i).unwrap(); // the third push spills into the overflow: still FIFO
//!     }
//! })
//! .join()
//! .unwrap();
//! let drained: Vec<u32> = std::iter::from_fn(|| consumer.pop()).collect();
//! assert_eq!(drained, [0, 1, 2]);
//! ```
#![no_std]
#![warn(missing_docs, missing_debug_implementations)]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", loom, test))]
extern crate std;

pub(crate) mod sync;

pub mod clock;
#[cfg(feature = "std")]
pub mod driver;
#[cfg(feature = "alloc")]
pub mod promise;
#[cfg(feature = "alloc")]
pub mod registry;
#[cfg(feature = "alloc")]
pub mod ring;
pub mod state;
#[cfg(feature = "alloc")]
pub mod timer;

#[cfg(feature = "std")]
pub use driver::{Cx, EventLoop, Handle};

/// True in a `--cfg loom` build. Doctests link whichever build of the library `cargo test`
/// made, and loom's primitives work only inside a loom model, so examples return early then.
#[doc(hidden)]
pub const fn __loom_build() -> bool {
    cfg!(loom)
}

#[cfg(all(test, not(loom)))]
mod tests {
    /// The doctests' early return must not fire in an ordinary build, or every example would
    /// pass without running.
    #[test]
    fn the_loom_build_flag_is_off_in_an_ordinary_build() {
        assert!(!crate::__loom_build());
    }
}
