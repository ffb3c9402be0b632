//! Waiting for a promise outside the loop (feature `std`): [`Promise`] is [`IntoFuture`] (so
//! `promise.await` works, and [`PromiseFuture`] runs on any executor) and has a blocking
//! [`Promise::wait`].
//!
//! # Ground rules
//!
//! - A waiter is a reaction like any other: registered through the cell (so it marks the
//!   promise handled, as `await` does in JS), run by the promise's scheduler as a microtask.
//!   Its closure owns a guard that wakes the waiter when the closure is dropped, run or not: a
//!   job refused by a terminated loop still wakes its waiters. Either happens only after the
//!   settlement published the outcome, so a woken waiter always finds it.
//! - `poll` registers one reaction per future (its waker slot) and only replaces the waker on
//!   later polls.
//! - `wait` blocks the calling thread; on the thread that drives the promise's loop it would
//!   block the loop that must run the reaction, so there it returns an error instead.

use core::future::{Future, IntoFuture};
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

use super::cell::Reaction;
use super::handle::{Inner, Promise, Reason, Value};
use crate::sync::{Arc, Condvar, Mutex};

/// The waker of a pending `poll`.
struct WakerSlot {
    waker: Mutex<Option<Waker>>,
}

/// Wakes the slot's waker when dropped (after the reaction ran, or with it unrun).
struct WakeOnDrop(Arc<WakerSlot>);

impl Drop for WakeOnDrop {
    fn drop(&mut self) {
        let waker = self.0.waker.lock().take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// The [`Future`] of a [`Promise`] (`promise.await`, or `promise.into_future()` for any
/// executor): ready with a clone of the outcome once the promise settles.
///
/// `Promise` itself is [`IntoFuture`] rather than `Future`: a `Future` is `#[must_use]`, and
/// JS-style code discards the promises `then` returns all the time.
pub struct PromiseFuture<T, E> {
    promise: Promise<T, E>,
    /// Registered on the first pending poll; later polls only replace the waker.
    slot: Option<Arc<WakerSlot>>,
}

impl<T: Value, E: Reason> IntoFuture for Promise<T, E> {
    type Output = Result<T, E>;
    type IntoFuture = PromiseFuture<T, E>;

    fn into_future(self) -> PromiseFuture<T, E> {
        PromiseFuture {
            promise: self,
            slot: None,
        }
    }
}

impl<T: Value, E: Reason> Future for PromiseFuture<T, E> {
    type Output = Result<T, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T, E>> {
        if let Some(outcome) = self.promise.outcome() {
            return Poll::Ready(outcome.clone());
        }
        match &self.slot {
            Some(slot) => {
                let mut waker = slot.waker.lock();
                match &mut *waker {
                    Some(current) => current.clone_from(cx.waker()),
                    None => *waker = Some(cx.waker().clone()),
                }
            }
            None => {
                let slot = Arc::new(WakerSlot {
                    waker: Mutex::new(Some(cx.waker().clone())),
                });
                let guard = WakeOnDrop(Arc::clone(&slot));
                self.slot = Some(slot);
                Inner::subscribe(
                    &self.promise.inner,
                    Reaction::new(move |_: &Result<T, E>| drop(guard)),
                );
            }
        }
        // Re-check: a settlement between the first check and the registration above has
        // scheduled (or will schedule) the reaction, but the outcome may be readable already.
        match self.promise.outcome() {
            Some(outcome) => Poll::Ready(outcome.clone()),
            None => Poll::Pending,
        }
    }
}

impl<T, E> core::fmt::Debug for PromiseFuture<T, E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PromiseFuture")
            .field("promise", &self.promise)
            .finish_non_exhaustive()
    }
}

/// A blocking wait (`Promise::wait`, `ClearTicket::wait`) was attempted on the loop's own
/// thread, where it would wait for itself. From a callback, use a reaction (or
/// `Cx::clear_timer`, which answers at once) instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitOnLoopThread;

impl core::fmt::Display for WaitOnLoopThread {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("a blocking wait on the loop's own thread would wait for itself")
    }
}

impl core::error::Error for WaitOnLoopThread {}

/// The flag and condition variable of one blocking wait.
struct Parked {
    woken: Mutex<bool>,
    ready: Condvar,
}

/// Signals the blocked thread when dropped (run or not, as `WakeOnDrop`).
struct SignalOnDrop(Arc<Parked>);

impl Drop for SignalOnDrop {
    fn drop(&mut self) {
        *self.0.woken.lock() = true;
        self.0.ready.notify_all();
    }
}

impl<T: Value, E: Reason> Promise<T, E> {
    /// Blocks until the promise settles and returns (a clone of) its outcome. Marks the
    /// promise handled. Waiting needs the promise's loop to run its reactions (or to have
    /// terminated, which wakes every waiter).
    ///
    /// # Errors
    /// [`WaitOnLoopThread`] if the promise is pending and the caller is the thread driving its
    /// loop (it would wait for itself).
    pub fn wait(&self) -> Result<Result<T, E>, WaitOnLoopThread> {
        if let Some(outcome) = self.inner.cell.outcome() {
            return Ok(outcome.clone());
        }
        if self.inner.scheduler.is_current_thread() {
            return Err(WaitOnLoopThread);
        }
        let parked = Arc::new(Parked {
            woken: Mutex::new(false),
            ready: Condvar::new(),
        });
        let guard = SignalOnDrop(Arc::clone(&parked));
        Inner::subscribe(
            &self.inner,
            Reaction::new(move |_: &Result<T, E>| drop(guard)),
        );
        let mut woken = parked.woken.lock();
        loop {
            if let Some(outcome) = self.inner.cell.outcome() {
                return Ok(outcome.clone());
            }
            // A dropped or run waiter reaction comes from a settlement, which publishes the
            // outcome before it hands out (or drops) reactions: woken means settled.
            debug_assert!(!*woken, "woken before the outcome was published");
            woken = parked.ready.wait(woken);
        }
    }
}
