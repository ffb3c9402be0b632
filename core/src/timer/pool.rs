//! The timer pool: slots, the ID map, the heap, and the API. See the module docs of
//! [`crate::timer`] for the ground rules and invariants.

use alloc::vec::Vec;
use core::fmt;
use core::num::NonZeroU64;
use core::time::Duration;

use hashbrown::HashMap;

use super::ARITY;
use super::heap::{Entry, Heap, Positions, deadline_nanos};

/// The largest timer ID by default: 2^53 − 1, JavaScript's `Number.MAX_SAFE_INTEGER`, so every ID
/// round-trips through a JS number.
pub const MAX_TIMER_ID: u64 = (1 << 53) - 1;

/// Most slots a pool can hold (`u32` slot indices; `u32::MAX` marks the end of the free list).
const MAX_SLOTS: usize = u32::MAX as usize;

/// End of the free list.
const NIL: u32 = u32::MAX;

/// A timer's ID: a positive integer, unique within its pool for the pool's whole life (IDs come
/// from a counter and are never reused). Timeouts and intervals share one namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimerId(NonZeroU64);

impl TimerId {
    /// The ID with this value, or `None` for 0 (never an ID). A value the pool never issued is a
    /// valid `TimerId` that no timer has: cancelling it reports [`Cancel::NotFound`].
    pub const fn new(value: u64) -> Option<Self> {
        match NonZeroU64::new(value) {
            Some(value) => Some(Self(value)),
            None => None,
        }
    }

    /// The ID's value (at least 1; at most the pool's ID limit, [`MAX_TIMER_ID`] by default).
    pub const fn get(self) -> u64 {
        self.0.get()
    }
}

impl fmt::Display for TimerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// What a timer does after it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimerKind {
    /// Fires once (`setTimeout`).
    Timeout,
    /// Fires repeatedly (`setInterval`): [`TimerPool::finish`] re-arms it with the same ID.
    Interval {
        /// The delay between firings as given (before any nesting clamp, which the caller applies
        /// to each re-arm).
        period: Duration,
    },
}

/// Scheduling failed before any side effect: nothing was inserted, no ID was used, and the
/// callback is handed back.
pub enum TimerError<F> {
    /// Every ID up to the pool's limit has been issued (IDs are never reused).
    IdsExhausted(F),
    /// The pool already holds `u32::MAX − 1` slots (live or firing timers).
    TooManyTimers(F),
    /// [`TimerPool::schedule_with_id`] was given the ID of a live timer.
    IdInUse(F),
    /// The event loop is terminating or terminated, so it takes no more timers (the driver's
    /// error; a bare pool never returns it).
    Terminated(F),
}

impl<F> TimerError<F> {
    /// The callback that was not scheduled.
    pub fn into_callback(self) -> F {
        match self {
            TimerError::IdsExhausted(callback)
            | TimerError::TooManyTimers(callback)
            | TimerError::IdInUse(callback)
            | TimerError::Terminated(callback) => callback,
        }
    }

    /// The same error carrying `f(callback)` (for wrappers that box or unbox the callback).
    pub fn map<G>(self, f: impl FnOnce(F) -> G) -> TimerError<G> {
        match self {
            TimerError::IdsExhausted(callback) => TimerError::IdsExhausted(f(callback)),
            TimerError::TooManyTimers(callback) => TimerError::TooManyTimers(f(callback)),
            TimerError::IdInUse(callback) => TimerError::IdInUse(f(callback)),
            TimerError::Terminated(callback) => TimerError::Terminated(f(callback)),
        }
    }
}

impl<F> fmt::Debug for TimerError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimerError::IdsExhausted(_) => f.write_str("IdsExhausted(..)"),
            TimerError::TooManyTimers(_) => f.write_str("TooManyTimers(..)"),
            TimerError::IdInUse(_) => f.write_str("IdInUse(..)"),
            TimerError::Terminated(_) => f.write_str("Terminated(..)"),
        }
    }
}

impl<F> fmt::Display for TimerError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimerError::IdsExhausted(_) => f.write_str("timer IDs exhausted"),
            TimerError::TooManyTimers(_) => f.write_str("too many timers in one pool"),
            TimerError::IdInUse(_) => f.write_str("the timer ID is already in use"),
            TimerError::Terminated(_) => {
                f.write_str("the event loop has stopped taking timers; the callback is handed back")
            }
        }
    }
}

impl<F> core::error::Error for TimerError<F> {}

/// The result of [`TimerPool::cancel`].
pub enum Cancel<F> {
    /// The timer was armed and had not fired (this time): it is gone, and here is its callback,
    /// for the caller to drop now (the pool never runs callback code, destructors included).
    Cancelled(F),
    /// The timer is firing (its callback is out, between [`TimerPool::take_due`] and
    /// [`TimerPool::finish`]): it is marked so that it will not be re-armed, and its ID is gone.
    /// `finish` hands the callback back to be dropped.
    Firing,
    /// No live timer has this ID: never issued, already fired (timeout), already cancelled.
    NotFound,
}

impl<F> Cancel<F> {
    /// True for [`Cancel::Cancelled`] and [`Cancel::Firing`]: the ID named a live timer.
    pub fn found(&self) -> bool {
        !matches!(self, Cancel::NotFound)
    }
}

impl<F> fmt::Debug for Cancel<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cancel::Cancelled(_) => f.write_str("Cancelled(..)"),
            Cancel::Firing => f.write_str("Firing"),
            Cancel::NotFound => f.write_str("NotFound"),
        }
    }
}

/// Proof that a timer is firing, handed out inside [`Due`] and consumed by
/// [`TimerPool::finish`]. Not `Clone`: a firing timer is finished exactly once.
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a firing timer keeps its slot until it is passed to TimerPool::finish"]
pub struct FiringToken {
    slot: u32,
    id: TimerId,
}

impl FiringToken {
    /// The firing timer's ID.
    pub fn id(&self) -> TimerId {
        self.id
    }
}

/// A timer taken out of the heap by [`TimerPool::take_due`] to be run.
pub struct Due<F> {
    /// Its ID.
    pub id: TimerId,
    /// Its callback, now owned by the caller; give it back through [`TimerPool::finish`].
    pub callback: F,
    /// Timeout or interval.
    pub kind: TimerKind,
    /// Its nesting level (the HTML "timer nesting level" its callback runs at; see
    /// [`super::NestingPolicy`]).
    pub nesting: u32,
    /// The deadline it was due at (as kept: saturated at 2^64 − 1 ns, see the module docs).
    pub deadline: Duration,
    /// Pass to [`TimerPool::finish`] after running the callback.
    pub token: FiringToken,
}

impl<F> fmt::Debug for Due<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Due")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("nesting", &self.nesting)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

/// Where a pass over the due timers began, in scheduling order: see
/// [`TimerPool::take_due_before`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PassMark(u64);

/// How [`TimerPool::finish`] re-arms an interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rearm {
    /// The next deadline: a fresh clock reading plus the clamped period (the driver reads the
    /// clock when the callback starts, so the period is measured from then).
    pub deadline: Duration,
    /// The nesting level of the next firing (see [`super::NestingPolicy::apply`]).
    pub nesting: u32,
}

/// Where a slot is. Only `Armed` has a heap position, so a position cannot outlive its entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// In the heap at this position; its ID is in the map; holds its callback.
    Armed { pos: u32 },
    /// Taken by `take_due`, not yet finished; holds no callback. Its ID is in the map unless
    /// `cancelled`.
    Firing { cancelled: bool },
    /// Unused; holds no callback; `next` links the free list.
    Free { next: u32 },
    /// Transient inside one method: just left the heap (set by [`Positions::clear`]).
    Detached,
}

/// One timer's storage (56 bytes on 64-bit for a boxed closure; see `memory_per_timer`).
pub(super) struct Slot<F> {
    callback: Option<F>,
    id: u64,
    period: Option<Duration>,
    nesting: u32,
    place: Place,
}

/// The slots as the heap sees them: a table of positions.
struct SlotPositions<'a, F>(&'a mut [Slot<F>]);

impl<F> Positions for SlotPositions<'_, F> {
    #[inline(always)]
    fn set(&mut self, slot: u32, pos: u32) {
        self.0[slot as usize].place = Place::Armed { pos };
    }

    #[inline(always)]
    fn clear(&mut self, slot: u32) {
        self.0[slot as usize].place = Place::Detached;
    }
}

/// A pool of timers owned by one thread (the loop's): schedule, cancel, and take due timers in
/// `(deadline, scheduling order)`. Deadlines are [`Duration`]s since the caller's clock origin;
/// the pool never reads a clock.
pub struct TimerPool<F> {
    slots: Vec<Slot<F>>,
    /// Head of the free list ([`NIL`] when empty).
    free: u32,
    heap: Heap<ARITY>,
    /// ID → slot, for armed timers and firing ones not cancelled.
    ids: HashMap<u64, u32>,
    /// IDs issued so far; the next ID is `issued + 1`.
    issued: u64,
    id_limit: u64,
    /// Sequence number of the next schedule or re-arm.
    seq: u64,
}

impl<F> Default for TimerPool<F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F> fmt::Debug for TimerPool<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerPool")
            .field("len", &self.len())
            .field("armed", &self.heap.len())
            .field("slots", &self.slots.len())
            .field("next_deadline", &self.next_deadline())
            .field("ids_issued", &self.issued)
            .field("id_limit", &self.id_limit)
            .finish()
    }
}

impl<F> TimerPool<F> {
    /// An empty pool issuing IDs 1..=[`MAX_TIMER_ID`]. Allocates nothing until the first timer.
    pub fn new() -> Self {
        Self::with_id_limit(MAX_TIMER_ID)
    }

    /// An empty pool issuing IDs `1..=id_limit` (0 means every schedule fails). Small limits are
    /// for tests of exhaustion.
    pub fn with_id_limit(id_limit: u64) -> Self {
        Self {
            slots: Vec::new(),
            free: NIL,
            heap: Heap::new(),
            ids: HashMap::default(),
            issued: 0,
            id_limit,
            seq: 0,
        }
    }

    /// Makes room for `additional` more timers without reallocating (slots, heap, ID map).
    pub fn reserve(&mut self, additional: usize) {
        self.slots.reserve(additional);
        self.heap.reserve(additional);
        self.ids.reserve(additional);
    }

    /// Live timers: armed ones, and firing ones not cancelled.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// No live timer.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Timers waiting in the heap (live timers minus the firing ones).
    pub fn armed(&self) -> usize {
        self.heap.len()
    }

    /// IDs that can still be issued before [`TimerError::IdsExhausted`].
    pub fn ids_remaining(&self) -> u64 {
        self.id_limit.saturating_sub(self.issued)
    }

    /// Whether `id` names a live timer (armed, or firing and not cancelled).
    pub fn contains(&self, id: TimerId) -> bool {
        self.ids.contains_key(&id.get())
    }

    /// The deadline of the armed timer `id` (`None` if it is not armed).
    pub fn deadline(&self, id: TimerId) -> Option<Duration> {
        let &slot = self.ids.get(&id.get())?;
        match self.slots[slot as usize].place {
            Place::Armed { pos } => self.heap.get(pos).map(Entry::deadline),
            _ => None,
        }
    }

    /// The earliest deadline among armed timers.
    pub fn next_deadline(&self) -> Option<Duration> {
        self.heap.peek().map(Entry::deadline)
    }

    /// Arms a timer due at `deadline` (since the clock origin) and returns its new ID. `nesting`
    /// is stored and handed back in [`Due::nesting`]; the pool does not interpret it (apply
    /// [`super::NestingPolicy`] to the delay first).
    ///
    /// On error nothing changed — no slot, no ID, no sequence number used — and the callback
    /// comes back in the error. O(log n) (amortised: the slot and map tables grow by doubling).
    pub fn schedule(
        &mut self,
        deadline: Duration,
        callback: F,
        kind: TimerKind,
        nesting: u32,
    ) -> Result<TimerId, TimerError<F>> {
        if self.issued >= self.id_limit {
            return Err(TimerError::IdsExhausted(callback));
        }
        if self.free == NIL && self.slots.len() >= MAX_SLOTS {
            return Err(TimerError::TooManyTimers(callback));
        }
        // No failure past this point.
        self.issued += 1;
        let id = TimerId(NonZeroU64::new(self.issued).unwrap_or_else(|| unreachable!("≥ 1")));
        self.insert(id, deadline, callback, kind, nesting);
        Ok(id)
    }

    /// Like [`schedule`](Self::schedule), under an ID the caller allocated (the event loop
    /// allocates IDs from a counter shared with other threads, so that a timer set from another
    /// thread has its ID at once). The pool's own counter is neither used nor checked: a caller
    /// of this method must never reuse an ID, and should not also call `schedule` on the same
    /// pool (its counter would issue the caller's IDs again once they are dead).
    ///
    /// # Errors
    /// [`TimerError::IdInUse`] if `id` names a live timer; [`TimerError::TooManyTimers`]. On
    /// error nothing changed and the callback comes back.
    pub fn schedule_with_id(
        &mut self,
        id: TimerId,
        deadline: Duration,
        callback: F,
        kind: TimerKind,
        nesting: u32,
    ) -> Result<(), TimerError<F>> {
        if self.ids.contains_key(&id.get()) {
            return Err(TimerError::IdInUse(callback));
        }
        if self.free == NIL && self.slots.len() >= MAX_SLOTS {
            return Err(TimerError::TooManyTimers(callback));
        }
        self.insert(id, deadline, callback, kind, nesting);
        Ok(())
    }

    /// Stores and arms a timer whose ID is new and for which a slot is available.
    fn insert(
        &mut self,
        id: TimerId,
        deadline: Duration,
        callback: F,
        kind: TimerKind,
        nesting: u32,
    ) {
        let period = match kind {
            TimerKind::Timeout => None,
            TimerKind::Interval { period } => Some(period),
        };
        let slot = self.alloc_slot(Slot {
            callback: Some(callback),
            id: id.get(),
            period,
            nesting,
            place: Place::Detached,
        });
        let previous = self.ids.insert(id.get(), slot);
        debug_assert!(previous.is_none(), "IDs are never reused");
        self.arm(slot, deadline);
    }

    /// Cancels timer `id`. O(log n): one map removal and one heap removal by position.
    ///
    /// - Armed: it leaves the heap and its slot is freed; its callback is returned
    ///   ([`Cancel::Cancelled`]) for the caller to drop at once.
    /// - Firing (cancelled from its own callback, or while the caller holds it): marked, so
    ///   [`finish`](Self::finish) will not re-arm it ([`Cancel::Firing`]).
    /// - Otherwise [`Cancel::NotFound`].
    ///
    /// In every found case the ID stops being live at once: a second cancel reports `NotFound`.
    pub fn cancel(&mut self, id: TimerId) -> Cancel<F> {
        let Some(slot) = self.ids.remove(&id.get()) else {
            return Cancel::NotFound;
        };
        let index = slot as usize;
        debug_assert_eq!(self.slots[index].id, id.get(), "map and slot disagree");
        match self.slots[index].place {
            Place::Armed { pos } => {
                self.debug_check_position(slot, pos);
                self.heap.remove(pos, &mut SlotPositions(&mut self.slots));
                let callback = self.slots[index].callback.take();
                self.free_slot(slot);
                match callback {
                    Some(callback) => Cancel::Cancelled(callback),
                    None => unreachable!("an armed slot holds its callback"),
                }
            }
            Place::Firing { cancelled: false } => {
                self.slots[index].place = Place::Firing { cancelled: true };
                Cancel::Firing
            }
            place => unreachable!("a live ID maps to a {place:?} slot"),
        }
    }

    /// Takes the earliest armed timer whose deadline is `<= now`, if any, out of the heap and
    /// hands out its callback. The slot stays reserved (holding no callback) until
    /// [`finish`](Self::finish); the ID stays live until then (or until cancelled). O(log n).
    pub fn take_due(&mut self, now: Duration) -> Option<Due<F>> {
        self.take_due_before(now, PassMark(u64::MAX))
    }

    /// A mark for one pass over the due timers: [`take_due_before`](Self::take_due_before) with
    /// this mark hands out only timers armed (scheduled or re-armed) before the mark was taken.
    pub fn pass_mark(&self) -> PassMark {
        PassMark(self.seq)
    }

    /// Like [`take_due`](Self::take_due), but only a timer armed before `mark` was taken: a
    /// timer that a callback of this pass scheduled (even with a zero delay), or an interval it
    /// re-armed, waits for a later pass. The pass ends at the first timer in firing order that
    /// is not due or not older than the mark. That loses nothing when every timer armed after
    /// the mark has a deadline at or after the pass's `now` (true when deadlines are a fresh
    /// clock reading plus a delay and the clock is monotonic): such a timer comes after every
    /// timer the pass could still take. Otherwise (a deadline in the past armed mid-pass) the
    /// pass ends early and the due timers behind it wait for the next pass, still in order.
    pub fn take_due_before(&mut self, now: Duration, mark: PassMark) -> Option<Due<F>> {
        let root = *self.heap.peek()?;
        if root.deadline_nanos() > deadline_nanos(now) || root.seq() >= mark.0 {
            return None;
        }
        let slot = root.slot;
        let index = slot as usize;
        self.debug_check_position(slot, 0);
        self.heap.remove(0, &mut SlotPositions(&mut self.slots));
        let entry = &mut self.slots[index];
        entry.place = Place::Firing { cancelled: false };
        let Some(callback) = entry.callback.take() else {
            unreachable!("an armed slot holds its callback")
        };
        let id = TimerId(NonZeroU64::new(entry.id).unwrap_or_else(|| unreachable!("≥ 1")));
        Some(Due {
            id,
            callback,
            kind: match entry.period {
                None => TimerKind::Timeout,
                Some(period) => TimerKind::Interval { period },
            },
            nesting: entry.nesting,
            deadline: root.deadline(),
            token: FiringToken { slot, id },
        })
    }

    /// Ends a firing started by [`take_due`](Self::take_due), after the caller ran `callback`.
    ///
    /// An interval that was not cancelled meanwhile, given `rearm`, is re-armed with the same ID,
    /// the new deadline and nesting level, and a new sequence number (so it fires after timers
    /// already due at that deadline): returns `None`. Otherwise (a timeout, a cancelled timer, or
    /// `rearm` is `None`) the ID stops being live, the slot is freed, and the callback is
    /// returned for the caller to drop. `rearm` is ignored for a timeout. O(log n).
    ///
    /// # Panics
    /// If `token` does not name a firing timer of this pool (it came from another pool).
    pub fn finish(&mut self, token: FiringToken, callback: F, rearm: Option<Rearm>) -> Option<F> {
        let FiringToken { slot, id } = token;
        let index = slot as usize;
        let cancelled = match self.slots.get(index) {
            Some(Slot {
                place: Place::Firing { cancelled },
                id: slot_id,
                ..
            }) if *slot_id == id.get() => *cancelled,
            _ => panic!("TimerPool::finish: the token is not a firing timer of this pool"),
        };
        match rearm {
            Some(rearm) if !cancelled && self.slots[index].period.is_some() => {
                let entry = &mut self.slots[index];
                entry.callback = Some(callback);
                entry.nesting = rearm.nesting;
                self.arm(slot, rearm.deadline);
                None
            }
            _ => {
                if !cancelled {
                    let removed = self.ids.remove(&id.get());
                    debug_assert_eq!(removed, Some(slot), "a firing ID maps to its slot");
                }
                self.free_slot(slot);
                Some(callback)
            }
        }
    }

    /// Cancels every armed timer and returns their callbacks (in no particular order) for the
    /// caller to drop; firing timers are marked cancelled, so their `finish` frees them. The ID
    /// counter is kept: IDs are still never reused. The slot storage is kept for reuse. O(n).
    pub fn cancel_all(&mut self) -> Vec<F> {
        let mut callbacks = Vec::with_capacity(self.heap.len());
        self.heap.clear(&mut SlotPositions(&mut self.slots));
        self.ids.clear();
        self.free = NIL;
        // Rebuild the free list from the top so that low slots are reused first.
        for index in (0..self.slots.len()).rev() {
            let entry = &mut self.slots[index];
            match entry.place {
                Place::Firing { .. } => entry.place = Place::Firing { cancelled: true },
                Place::Detached => {
                    callbacks.extend(entry.callback.take());
                    entry.place = Place::Free { next: self.free };
                    self.free = index as u32;
                }
                Place::Free { .. } => {
                    entry.place = Place::Free { next: self.free };
                    self.free = index as u32;
                }
                Place::Armed { .. } => unreachable!("the heap was cleared"),
            }
        }
        callbacks
    }

    /// Pushes `slot` (not in the heap) into the heap with a fresh sequence number.
    fn arm(&mut self, slot: u32, deadline: Duration) {
        let seq = self.seq;
        self.seq += 1;
        self.heap.push(
            Entry::new(deadline, seq, slot),
            &mut SlotPositions(&mut self.slots),
        );
    }

    fn alloc_slot(&mut self, slot: Slot<F>) -> u32 {
        if self.free == NIL {
            let index = self.slots.len();
            self.slots.push(slot);
            index as u32 // < MAX_SLOTS, checked by `schedule`
        } else {
            let index = self.free;
            let entry = &mut self.slots[index as usize];
            let Place::Free { next } = entry.place else {
                unreachable!("the free list links free slots")
            };
            debug_assert!(entry.callback.is_none(), "a free slot holds no callback");
            self.free = next;
            *entry = slot;
            index
        }
    }

    /// Frees a slot that is out of the heap; its callback must already be gone.
    fn free_slot(&mut self, slot: u32) {
        let entry = &mut self.slots[slot as usize];
        debug_assert!(
            matches!(entry.place, Place::Detached | Place::Firing { .. }),
            "only a slot out of the heap is freed"
        );
        debug_assert!(entry.callback.is_none(), "a freed slot holds no callback");
        entry.place = Place::Free { next: self.free };
        self.free = slot;
    }

    /// The back-pointer invariant: `slot` says it is at `pos`, and `heap[pos]` is `slot`.
    #[inline(always)]
    fn debug_check_position(&self, slot: u32, pos: u32) {
        debug_assert_eq!(
            self.slots[slot as usize].place,
            Place::Armed { pos },
            "slot {slot} is not at heap position {pos}"
        );
        debug_assert_eq!(
            self.heap.get(pos).map(|entry| entry.slot),
            Some(slot),
            "heap position {pos} does not hold slot {slot}"
        );
    }

    /// Checks every invariant of the module docs (tests only: O(n)).
    #[cfg(test)] // a separate attribute, so that cargo-mutants sees test-only code
    #[cfg(not(any(loom, feature = "shuttle")))]
    pub(super) fn check_invariants(&self) {
        self.heap
            .check(|slot| match self.slots[slot as usize].place {
                Place::Armed { pos } => Some(pos),
                _ => None,
            });
        let mut armed = 0;
        let mut firing_live = 0;
        for (index, entry) in self.slots.iter().enumerate() {
            let mapped = self.ids.get(&entry.id) == Some(&(index as u32));
            match entry.place {
                Place::Armed { .. } => {
                    armed += 1;
                    assert!(
                        entry.callback.is_some(),
                        "armed slot {index} lost its callback"
                    );
                    assert!(mapped, "armed slot {index} is not in the ID map");
                }
                Place::Firing { cancelled } => {
                    assert!(
                        entry.callback.is_none(),
                        "firing slot {index} holds a callback"
                    );
                    assert_eq!(mapped, !cancelled, "firing slot {index}: map vs cancelled");
                    firing_live += usize::from(!cancelled);
                }
                Place::Free { .. } => {
                    assert!(
                        entry.callback.is_none(),
                        "free slot {index} holds a callback"
                    );
                    assert!(!mapped, "free slot {index} is in the ID map");
                }
                Place::Detached => panic!("slot {index} left detached"),
            }
        }
        assert_eq!(armed, self.heap.len());
        assert_eq!(armed + firing_live, self.ids.len());
        let mut free = 0;
        let mut cursor = self.free;
        while cursor != NIL {
            let Place::Free { next } = self.slots[cursor as usize].place else {
                panic!("free list reaches non-free slot {cursor}");
            };
            free += 1;
            assert!(free <= self.slots.len(), "free list cycles");
            cursor = next;
        }
        let free_places = self
            .slots
            .iter()
            .filter(|s| matches!(s.place, Place::Free { .. }))
            .count();
        assert_eq!(free, free_places, "every free slot is on the free list");
    }
}
