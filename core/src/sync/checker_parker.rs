//! The loop thread's sleep primitive under the checkers (loom and shuttle): a flag under the
//! checker's `Mutex` and `Condvar`, included by both `loom_impl` and `shuttle_impl`.
//!
//! Not the thread's park token: loom's `unpark` of a thread that is blocked on a loom `Mutex` or
//! yielding makes it runnable without keeping a token, and can trip loom's own `Notify` assertion,
//! which std's park never does. A timed park does not wait (neither checker models time): it
//! returns as if the timeout had fired at once, one of the behaviours a real timed park allows.

use super::{Condvar, Mutex};

#[derive(Default)]
pub(crate) struct Parker {
    notified: Mutex<bool>,
    wakeup: Condvar,
}

impl Parker {
    pub(crate) fn new() -> Self {
        Self {
            notified: Mutex::new(false),
            wakeup: Condvar::new(),
        }
    }

    pub(crate) fn register_current(&self) {}

    pub(crate) fn park(&self, timeout: Option<core::time::Duration>) {
        let mut notified = self.notified.lock();
        if timeout.is_none() {
            while !*notified {
                notified = self.wakeup.wait(notified);
            }
        }
        *notified = false;
    }

    pub(crate) fn unpark(&self) {
        *self.notified.lock() = true;
        self.wakeup.notify_all();
    }

    /// Models never wait on the loop thread (`Handle::wait_terminated`, `ClearTicket::wait`):
    /// the checkers' threads have no identity to compare, so this is always `false` there.
    pub(crate) fn is_current(&self) -> bool {
        false
    }
}
