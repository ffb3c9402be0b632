//! The one switch point for synchronization primitives.
//!
//! # Ground rules
//!
//! Every atomic, every `UnsafeCell`, every lock, every `Arc` and every spin/yield hint in this
//! crate comes from this module. Nothing else imports `core::sync::atomic`, `std::sync` or
//! `core::cell::UnsafeCell` (enforced by `scripts/check_facade.sh` in `make lint`), so the same
//! source compiles three ways:
//!
//! | build | selected by | primitives |
//! |---|---|---|
//! | production | default | `core::sync::atomic`, `alloc::sync::Arc`, `std::sync::Mutex` (or a spin lock without `std`) |
//! | loom | `RUSTFLAGS="--cfg loom"` | `loom::*`: every interleaving (within a preemption bound) under the C11 model |
//! | shuttle | `--features shuttle` | `shuttle::*`: randomized and PCT schedules, sequentially consistent only |
//!
//! Enabling both checkers at once is a compile error.
//!
//! `UnsafeCell` exposes only the closure API of loom (`with`, `with_mut`), so that the checkers
//! see where each access to shared plain data begins and ends. Under shuttle every access is also
//! a scheduling point and is checked against overlapping accesses from other tasks, because
//! shuttle on its own only switches tasks at its own operations and has no race detector.

#![allow(
    dead_code,
    unused_imports,
    reason = "the facade is complete; not every component uses every primitive yet"
)]

#[cfg(all(loom, feature = "shuttle"))]
compile_error!(
    "`--cfg loom` and the `shuttle` feature select different checkers: enable one of them"
);

#[cfg(not(any(loom, feature = "shuttle")))]
mod std_impl;
#[cfg(not(any(loom, feature = "shuttle")))]
pub(crate) use std_impl::*;

#[cfg(any(loom, feature = "shuttle"))]
mod checker_parker;
#[cfg(any(loom, feature = "shuttle"))]
pub(crate) use checker_parker::Parker;

#[cfg(loom)]
mod loom_impl;
#[cfg(loom)]
pub(crate) use loom_impl::*;

#[cfg(all(feature = "shuttle", not(loom)))]
mod shuttle_impl;
#[cfg(all(feature = "shuttle", not(loom)))]
pub(crate) use shuttle_impl::*;

mod pad;
pub(crate) use pad::CachePadded;

/// `alloc::sync::Arc` in every build, for trait objects (`Arc<dyn Scheduler>`): loom's `Arc`
/// cannot be unsized. Only for shared handles whose reference count is no part of a protocol
/// the checkers verify (a scheduler outlives every promise that holds it; what it points to is
/// synchronized by its own primitives, which come from this facade).
#[cfg(feature = "alloc")]
pub(crate) use alloc::sync::Arc as DynArc;

#[cfg(all(test, loom))]
mod loom_tests {
    use super::{Arc, Parker};

    /// The parker keeps an unpark that comes before the park, and wakes a parked thread.
    #[test]
    fn parker_never_loses_an_unpark() {
        loom::model(|| {
            let parker = Arc::new(Parker::new());
            let remote = Arc::clone(&parker);
            let t = loom::thread::spawn(move || remote.unpark());
            parker.park(None);
            t.join().unwrap();
        });
    }
}
