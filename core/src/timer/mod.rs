//! The timer pool: `setTimeout`/`setInterval` semantics over an indexed min-heap.
//!
//! A [`TimerPool`] is a plain single-threaded data structure, owned by the loop thread (it is
//! `Send` when its callbacks are, and uses no atomics). It never reads a clock and never runs
//! callback code: the caller passes deadlines (a [`Duration`](core::time::Duration) since its
//! clock origin) and `now`, runs the callbacks the pool hands out, and drops the callbacks the
//! pool hands back. [`normalize_js_delay_ms`] and [`NestingPolicy`] turn JavaScript delay
//! arguments into delays.
//!
//! ```
//! use core::time::Duration;
//! use eventloop_core::timer::{Cancel, TimerKind, TimerPool};
//!
//! let ms = Duration::from_millis;
//! let mut pool = TimerPool::new();
//! let a = pool.schedule(ms(5), "a", TimerKind::Timeout, 0).unwrap();
//! let b = pool.schedule(ms(5), "b", TimerKind::Timeout, 0).unwrap(); // same deadline: after a
//! let c = pool.schedule(ms(1), "c", TimerKind::Timeout, 0).unwrap();
//! assert!(matches!(pool.cancel(c), Cancel::Cancelled("c")));
//! assert!(pool.take_due(ms(4)).is_none());
//! let mut fired = Vec::new();
//! while let Some(due) = pool.take_due(ms(5)) {
//!     fired.push(due.id);
//!     let dropped = pool.finish(due.token, due.callback, None); // a timeout: handed back
//!     assert!(dropped.is_some());
//! }
//! assert_eq!(fired, [a, b]);
//! assert!(pool.is_empty());
//! ```
//!
//! # Ground rules
//!
//! - **Who may touch what.** Everything takes `&mut self`: the loop thread owns the pool.
//!   Cancelling from another thread is the driver's job (it forwards the request to the loop).
//! - **IDs.** A [`TimerId`] is a counter value in `1..=limit` (limit [`MAX_TIMER_ID`] =
//!   2^53 − 1 by default, so IDs are JS safe integers). The counter only grows, so an ID is never
//!   reused, live or not; timeouts and intervals share it. When it reaches the limit,
//!   [`TimerPool::schedule`] fails with [`TimerError::IdsExhausted`] *before any side effect*:
//!   the callback comes back in the error and nothing (slot, map, counter, sequence) changes.
//! - **Order.** Timers fire by `(deadline, seq)`: `seq` is a counter taken at every schedule and
//!   every interval re-arm, so equal deadlines fire in scheduling order (the Go original's heap
//!   was not stable). [`TimerPool::take_due`] hands out the earliest timer with `deadline <= now`.
//!   Deadlines are kept in whole nanoseconds as a `u64`, exact up to 2^64 − 1 ns (about 584
//!   years after the clock origin); a later one (such as `Duration::MAX`, "never") is kept as
//!   that instant, so such timers tie among themselves and fire in scheduling order, once `now`
//!   reaches that instant too. [`Due::deadline`] and [`TimerPool::deadline`] report the kept
//!   value.
//! - **Firing.** `take_due` moves the callback out to the caller; the slot stays reserved in a
//!   *firing* state holding no callback, and the ID stays live, until [`TimerPool::finish`]
//!   takes the callback back with the [`FiringToken`] (not `Clone`: finished exactly once). A
//!   cancel while firing marks the slot so `finish` does not re-arm it ([`Cancel::Firing`]).
//! - **No callback outlives its timer.** Every slot holds its callback as an `Option`, `Some`
//!   exactly while the timer is armed. Cancel, `finish` of a timeout or cancelled interval, and
//!   [`TimerPool::cancel_all`] hand the callback back at once for the caller to drop (the pool
//!   never runs a destructor of user code, so no callback can re-enter it). A freed or firing
//!   slot never holds a callback — the Go original's pooled timers kept theirs.
//! - **Positions cannot go stale.** Each armed slot records its heap position; the heap rewrites
//!   it on every move and clears it when the entry leaves (only the `Armed` state has a
//!   position at all). Cancel removes by that position, after a `debug_assert` that the slot and
//!   `heap[pos]` point at each other. The Go original left a popped timer's index in place, so
//!   a cancel from its own callback could remove an unrelated timer.
//!
//! # Invariants
//!
//! Checked after every operation by the unit tests (`check_invariants`) and, through the
//! public API, by the proptest and the fuzz target `timer_ops` in `tests/`:
//!
//! 1. The heap is ordered by `(deadline, seq)`, and for every heap position `p`,
//!    `slots[heap[p].slot]` is `Armed { pos: p }`; no other slot is `Armed`.
//! 2. A slot is `Armed` ⇔ it holds a callback. `Firing` and `Free` slots hold none.
//! 3. The ID map holds exactly the armed slots and the firing slots not cancelled;
//!    [`TimerPool::len`] is its size.
//! 4. The free list links exactly the `Free` slots, without cycles.
//! 5. IDs issued so far are `1..=issued`, `issued <= limit`; each was mapped at most once.
//!
//! # Complexity and memory
//!
//! With n armed timers: `schedule`, `cancel`, `take_due` and `finish` are O(log n) (one hash
//! map operation, one heap sift; `schedule` amortised over table growth); `next_deadline`,
//! `len` are O(1); `cancel_all` is O(slots). Slots are reused through a free list, so the only
//! allocation per timer is whatever the callback itself owns (a boxed closure): the slot
//! table, the heap and the map grow by doubling and keep their capacity.
//!
//! The heap is 4-ary (`ARITY`): half as deep as a binary heap, and a node's four children are
//! 96 contiguous bytes. `heap_arity_rough_costs` (an ignored unit test; run it in `--release`
//! with `--ignored --nocapture`) times both at 1M entries: on the 2-core development machine,
//! noisy, push 10–21 ns (binary 15–30), removal by position 87–89 ns (binary 110–167), pop-min
//! about equal (220–290 ns). Heap entries carry their key inline, so sifting reads no slot; it
//! writes the moved entry's new position into its slot. (Keeping the positions in a separate
//! dense `Vec<u32>` instead was tried; under the machine's noise it showed no clear gain.)
//!
//! The ID map is a `hashbrown::HashMap<u64, u32>` with foldhash (no_std). IDs are sequential,
//! which an identity-hashed open-addressing table could exploit; that has not been measured
//! yet (next: the criterion benchmark against peers), and until it is shown clearly faster,
//! hashbrown avoids a hand-written table. hashbrown 0.17 was already in the lockfile (through
//! shuttle's build dependencies), so it adds only foldhash.
//!
//! Bytes per live timer, on 64-bit with `F = Box<dyn FnMut()>`: a 56-byte slot, a 24-byte heap
//! entry, and 16 bytes plus one control byte in the map at a load factor between 7/16 and 7/8
//! (19–39 bytes) — about 100–120 bytes, plus the closure's own allocation. The unit test
//! `memory_per_timer` pins the slot and entry sizes.

mod delay;
mod heap;
mod pool;

pub use delay::{
    MAX_JS_DELAY_MS, NESTED_MIN_DELAY, NESTING_CLAMP_LEVEL, NestingPolicy, normalize_js_delay_ms,
};
pub use pool::{
    Cancel, Due, FiringToken, MAX_TIMER_ID, PassMark, Rearm, TimerError, TimerId, TimerKind,
    TimerPool,
};

/// Arity of the pool's heap (see "Complexity and memory").
const ARITY: usize = 4;

#[cfg(not(loom))]
mod assertions {
    use super::{TimerId, TimerPool};
    use alloc::boxed::Box;
    use alloc::rc::Rc;
    use static_assertions::{assert_impl_all, assert_not_impl_any, const_assert_eq};

    assert_impl_all!(TimerPool<Box<dyn FnMut() + Send>>: Send);
    assert_not_impl_any!(TimerPool<Rc<u8>>: Send);
    assert_impl_all!(TimerId: Copy, Send, Sync);
    const_assert_eq!(core::mem::size_of::<Option<TimerId>>(), 8);
    const_assert_eq!(super::MAX_TIMER_ID, 9_007_199_254_740_991);
}

#[cfg(all(test, not(loom), not(feature = "shuttle")))]
mod tests;
