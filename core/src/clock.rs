//! Time as the loop sees it: a monotonic [`Clock`], and a [`ManualClock`] for deterministic tests.
//!
//! Times are [`Duration`]s since an arbitrary origin fixed when the clock is created. The loop
//! reads the clock once per tick (its "tick time") and again after every sleep, so nothing is
//! computed from a stale time.

#[cfg(feature = "alloc")]
use core::fmt;
use core::time::Duration;

/// A monotonic clock: `now` never decreases.
pub trait Clock: Send + Sync + 'static {
    /// Time elapsed since this clock's origin.
    fn now(&self) -> Duration;
}

/// The system's monotonic clock (`std::time::Instant`).
#[cfg(feature = "std")]
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: std::time::Instant,
}

#[cfg(feature = "std")]
impl SystemClock {
    /// A clock whose origin is now.
    pub fn new() -> Self {
        Self {
            origin: std::time::Instant::now(),
        }
    }
}

#[cfg(feature = "std")]
impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "std")]
impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// A clock that moves only when told to. Clones share the same time.
#[cfg(feature = "alloc")]
#[derive(Clone, Default)]
pub struct ManualClock {
    now: crate::sync::Arc<crate::sync::Mutex<Duration>>,
}

#[cfg(feature = "alloc")]
impl ManualClock {
    /// A clock at time zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock();
        *now = now.saturating_add(by);
    }

    /// Moves the clock to `to`, if that is later than now (the clock never goes back).
    pub fn advance_to(&self, to: Duration) {
        let mut now = self.now.lock();
        if to > *now {
            *now = to;
        }
    }
}

#[cfg(feature = "alloc")]
impl Clock for ManualClock {
    fn now(&self) -> Duration {
        *self.now.lock()
    }
}

#[cfg(feature = "alloc")]
impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ManualClock").field(&self.now()).finish()
    }
}

#[cfg(all(test, not(loom), not(feature = "shuttle")))]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_forward_and_clones_share_time() {
        let clock = ManualClock::new();
        let other = clock.clone();
        assert_eq!(clock.now(), Duration::ZERO);
        clock.advance(Duration::from_millis(5));
        other.advance_to(Duration::from_millis(3));
        assert_eq!(other.now(), Duration::from_millis(5));
        other.advance_to(Duration::from_millis(9));
        assert_eq!(clock.now(), Duration::from_millis(9));
    }

    #[test]
    #[cfg(feature = "std")]
    fn system_clock_is_monotonic() {
        let clock = SystemClock::new();
        let a = clock.now();
        let b = clock.now();
        assert!(b >= a);
    }
}
