//! [`WeakPromise`]: a weak, type-erased reference to a promise, for a registry that must settle
//! every promise its loop owns when the loop terminates (`crate::registry`; proofs/registry.md).
//!
//! # Ground rules
//!
//! - A `WeakPromise` comes from the promise's [`Resolver`] ([`Resolver::downgrade`]) and carries
//!   one of the resolver's rights: to reject the promise with [`Failure::Terminated`]. It does so
//!   through the ordinary settle path: the first settler wins (a resolver racing it either wins
//!   or gets its outcome back), the reactions go to the promise's scheduler, which drops them if
//!   its loop has terminated (their derived promises then reject as abandoned), and waiters
//!   (`wait`, `.await`) wake either way.
//! - It does not keep the promise alive. In production and shuttle builds it is an `alloc`
//!   [`Weak`] coerced to a trait object: no allocation beyond the promise's own, and a promise
//!   whose handles are all gone is *dead* (its outcome is dropped; the allocation lives until
//!   the weak reference goes). loom's `Arc` has no `Weak`: there the entry holds a strong loom
//!   `Arc` in a box and counts the promise dead once that is the only reference left (strong
//!   count 1) — nobody else can reach it then, so it stays dead. Under loom a dead promise is
//!   therefore freed when its entry is dropped rather than when its last handle goes.
//! - A pending promise with a resolver is never dead: the resolver holds it, and a resolver
//!   dropped unused settles it first ([`Failure::Abandoned`]). Only a promise that has no
//!   resolver (`race` of nothing) can die pending, and then nobody can be waiting on it (a
//!   waiter holds a handle). Either way a dead entry needs no rejection.
//! - Probing ([`WeakPromise::state`]) upgrades for a moment. If every other reference goes
//!   meanwhile, the probe's drop is the last and runs the promise's destructor (its outcome's)
//!   on the probing thread: probe with no lock held that such a destructor could need.

#[cfg(loom)]
use alloc::boxed::Box;
use core::fmt;

use super::handle::{Inner, Promise, Reason, Resolver, Value};
use super::outcome::Failure;
use crate::sync::Arc;
#[cfg(not(loom))]
use crate::sync::Weak;

/// What a [`WeakPromise`] found when it looked (a snapshot: a pending promise may settle, and a
/// settled one die, right after).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeakState {
    /// Every handle and the resolver are gone (it was settled before they went, unless it never
    /// had a resolver).
    Dead,
    /// Settled (its outcome is published).
    Settled,
    /// Not settled yet (a settlement may be in progress).
    Pending,
}

/// A weak, type-erased reference to a promise that can reject it with
/// [`Failure::Terminated`]; see the module docs.
pub struct WeakPromise {
    #[cfg(not(loom))]
    inner: Weak<dyn Erased>,
    #[cfg(loom)]
    inner: Box<dyn Erased>,
}

/// The promise's shared state, type-erased (production and shuttle: through an `alloc` `Arc`,
/// whose `self: Arc<Self>` receiver is object-safe).
#[cfg(not(loom))]
trait Erased: Send + Sync {
    fn is_settled(&self) -> bool;
    fn reject_terminated(self: Arc<Self>) -> bool;
}

#[cfg(not(loom))]
impl<T: Value, E: Reason> Erased for Inner<T, E> {
    fn is_settled(&self) -> bool {
        self.cell.outcome().is_some()
    }

    fn reject_terminated(self: Arc<Self>) -> bool {
        Inner::settle(&self, Err(E::from(Failure::Terminated))).is_ok()
    }
}

/// Under loom: a strong reference, dead when it is the only one left.
#[cfg(loom)]
trait Erased: Send + Sync {
    fn state(&self) -> WeakState;
    fn reject_terminated(&self) -> bool;
}

#[cfg(loom)]
struct Counted<T, E>(Arc<Inner<T, E>>);

#[cfg(loom)]
impl<T: Value, E: Reason> Erased for Counted<T, E> {
    fn state(&self) -> WeakState {
        // Only this entry holds it: nobody can reach the promise again (the entry is not
        // `Clone` and hands out no strong reference), so it stays dead.
        if Arc::strong_count(&self.0) == 1 {
            WeakState::Dead
        } else if self.0.cell.outcome().is_some() {
            WeakState::Settled
        } else {
            WeakState::Pending
        }
    }

    fn reject_terminated(&self) -> bool {
        if Arc::strong_count(&self.0) == 1 {
            return false; // dead: an upgrade would fail in the production build
        }
        Inner::settle(&self.0, Err(E::from(Failure::Terminated))).is_ok()
    }
}

impl WeakPromise {
    /// Whether the promise is dead, settled or pending (a snapshot; see [`WeakState`]).
    pub fn state(&self) -> WeakState {
        #[cfg(not(loom))]
        {
            if self.inner.strong_count() == 0 {
                return WeakState::Dead;
            }
            match self.inner.upgrade() {
                None => WeakState::Dead,
                Some(inner) if inner.is_settled() => WeakState::Settled,
                Some(_) => WeakState::Pending,
            }
        }
        #[cfg(loom)]
        {
            self.inner.state()
        }
    }

    /// Whether the promise is still pending (neither settled nor dead).
    pub fn is_pending(&self) -> bool {
        self.state() == WeakState::Pending
    }

    /// Rejects the promise with [`Failure::Terminated`] through the ordinary settle path, if it
    /// is still alive and no settler came first. Returns whether this call settled it.
    pub fn reject_terminated(&self) -> bool {
        #[cfg(not(loom))]
        {
            self.inner.upgrade().is_some_and(Erased::reject_terminated)
        }
        #[cfg(loom)]
        {
            self.inner.reject_terminated()
        }
    }
}

impl<T: Value, E: Reason> Resolver<T, E> {
    /// A [`WeakPromise`] of this resolver's promise: it does not keep the promise alive, and it
    /// can only reject it with [`Failure::Terminated`] (for a registry that settles every
    /// pending promise when its loop terminates; see `crate::registry`).
    pub fn downgrade(&self) -> WeakPromise {
        let inner = self
            .inner
            .as_ref()
            .expect("a live resolver has its promise");
        WeakPromise::of(inner)
    }
}

impl<T: Value, E: Reason> Promise<T, E> {
    /// A [`WeakPromise`] of a promise whose resolver is internal (a combinator's result), for
    /// the loop that owns it. Crate-private: rejecting is the resolver's right.
    #[cfg(feature = "std")]
    pub(crate) fn registration(&self) -> WeakPromise {
        WeakPromise::of(&self.inner)
    }
}

impl WeakPromise {
    fn of<T: Value, E: Reason>(inner: &Arc<Inner<T, E>>) -> Self {
        #[cfg(not(loom))]
        {
            let weak: Weak<Inner<T, E>> = Arc::downgrade(inner);
            WeakPromise { inner: weak } // unsized here: no allocation
        }
        #[cfg(loom)]
        {
            WeakPromise {
                inner: Box::new(Counted(Arc::clone(inner))),
            }
        }
    }
}

impl fmt::Debug for WeakPromise {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakPromise")
            .field("state", &self.state())
            .finish()
    }
}
