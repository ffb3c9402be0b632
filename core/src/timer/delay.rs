//! JavaScript-facing delay rules: normalising a millisecond argument, and the HTML nesting clamp.
//!
//! The pool itself takes deadlines and never changes them; a JS host turns `setTimeout(f, ms)`
//! into a deadline with these two steps. The base is the clock *now*, not a cached tick time:
//! a tick time read before a long callback would give a deadline in the past, and the timer
//! would fire early (the Go original's stale-tick-time defect; `proofs/timer.md`, T1).
//!
//! ```
//! use core::time::Duration;
//! use eventloop_core::timer::{NestingPolicy, normalize_js_delay_ms};
//!
//! let now = Duration::from_secs(10); // a fresh clock reading, taken at the call
//! let parent_nesting = 6; // called from a timer callback running at nesting level 6
//! let delay = normalize_js_delay_ms(0.0); // 1 ms (Node's rule)
//! let (delay, nesting) = NestingPolicy::default().apply(parent_nesting, delay);
//! assert_eq!((delay, nesting), (Duration::from_millis(4), 7)); // clamped: level > 5
//! let deadline = now + delay; // then TimerPool::schedule(deadline, f, kind, nesting)
//! # let _ = deadline;
//! ```

use core::time::Duration;

/// Node's `TIMEOUT_MAX`: 2^31 − 1 ms (about 24.8 days), the largest delay a JS timer accepts.
pub const MAX_JS_DELAY_MS: f64 = 2_147_483_647.0;

/// Nesting levels above this one clamp short delays ([`NestingPolicy`]).
pub const NESTING_CLAMP_LEVEL: u32 = 5;

/// The smallest delay of a timer scheduled at a nesting level above [`NESTING_CLAMP_LEVEL`].
pub const NESTED_MIN_DELAY: Duration = Duration::from_millis(4);

/// Normalises a JavaScript delay argument (already converted to a number) by Node's rule: a
/// value outside `1..=2^31−1` becomes 1 ms; otherwise the value is truncated to whole
/// milliseconds.
///
/// | `ms` | result | why |
/// |---|---|---|
/// | `NaN` | 1 ms | not in range (every comparison with NaN is false) |
/// | `-1`, `-∞` | 1 ms | below 1 |
/// | `0`, `0.5` | 1 ms | below 1: Node has no 0 ms timer |
/// | `1` | 1 ms | |
/// | `1.9` | 1 ms | truncated |
/// | `2^31 − 1` | 2147483647 ms | the largest accepted |
/// | `2^31 − 0.5` | 1 ms | compared before truncation: above `TIMEOUT_MAX` |
/// | `2^31`, `+∞` | 1 ms | above `TIMEOUT_MAX` (Node also prints a `TimeoutOverflowWarning`) |
///
/// HTML differs for out-of-range values (WebIDL's `long` conversion wraps modulo 2^32, and
/// negatives become 0); hosts that want that rule can write their own: the pool takes any
/// deadline.
pub fn normalize_js_delay_ms(ms: f64) -> Duration {
    if !(1.0..=MAX_JS_DELAY_MS).contains(&ms) {
        return Duration::from_millis(1);
    }
    // In range: `as` truncates towards zero, and the value fits a u64 exactly.
    Duration::from_millis(ms as u64)
}

/// The HTML timer nesting clamp, as a policy the host can switch off.
///
/// Top-level code runs at nesting level 0; a timer's callback runs at the level stored with the
/// timer ([`crate::timer::Due::nesting`]). A timer scheduled at level `n` (the caller's current
/// level) is stored with level `n + 1`, and if `n > 5` its delay is at least 4 ms. So in a chain
/// of timers each scheduling the next from its callback, the first six are unclamped and the
/// seventh and later are clamped — WHATWG's "nesting level greater than 5" rule. An interval's
/// re-arm is scheduled from its own firing, so its level grows by one per firing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NestingPolicy {
    /// Whether to clamp (default `true`). When off, delays pass unchanged; levels still count.
    pub clamp: bool,
}

impl Default for NestingPolicy {
    fn default() -> Self {
        Self { clamp: true }
    }
}

impl NestingPolicy {
    /// For a timer scheduled at nesting level `parent_nesting` (0 outside timer callbacks) with
    /// `delay`: returns the delay to use and the new timer's nesting level
    /// (`parent_nesting + 1`, saturating).
    pub fn apply(&self, parent_nesting: u32, delay: Duration) -> (Duration, u32) {
        let delay = if self.clamp && parent_nesting > NESTING_CLAMP_LEVEL {
            delay.max(NESTED_MIN_DELAY)
        } else {
            delay
        };
        (delay, parent_nesting.saturating_add(1))
    }
}
