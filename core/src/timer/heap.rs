//! An indexed d-ary min-heap of slot indices keyed by `(deadline, seq)`.
//!
//! Each [`Entry`] carries its whole key inline (24 bytes), so sifting compares entries without
//! touching the slots; the slot is written only to record its new position. The heap keeps every
//! armed slot's position up to date through [`Positions`]: [`Positions::set`] after *every* move,
//! [`Positions::clear`] when an entry leaves. A position can therefore never be stale, which is
//! what made the Go original's `heap.Remove(stale index)` take out an unrelated timer.
//!
//! The arity `D` is a parameter so that the binary and the 4-ary heap can be measured against
//! each other (`timer::tests::heap_arity_rough_costs`); the pool uses [`super::ARITY`].

use alloc::vec::Vec;
use core::time::Duration;

/// One heap entry: the key `(deadline, seq)` and the slot it orders. Keys are unique because
/// `seq` is, so the order is total and ties on the deadline go to the smaller `seq`.
///
/// The deadline is split into its seconds and nanoseconds so that the slot index fits in the
/// padding a `Duration` would have left: 8 + 4 + 4 + 8 = 24 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Entry {
    secs: u64,
    nanos: u32,
    /// Index of the slot in the pool.
    pub(super) slot: u32,
    seq: u64,
}

impl Entry {
    #[inline]
    pub(super) fn new(deadline: Duration, seq: u64, slot: u32) -> Self {
        Self {
            secs: deadline.as_secs(),
            nanos: deadline.subsec_nanos(),
            slot,
            seq,
        }
    }

    #[inline]
    pub(super) fn deadline(&self) -> Duration {
        Duration::new(self.secs, self.nanos)
    }

    #[inline]
    pub(super) fn seq(&self) -> u64 {
        self.seq
    }

    /// Strictly earlier in firing order: by deadline, then by scheduling sequence.
    #[inline(always)]
    fn before(&self, other: &Entry) -> bool {
        (self.secs, self.nanos, self.seq) < (other.secs, other.nanos, other.seq)
    }
}

/// Where the heap records the position of each slot it holds.
pub(super) trait Positions {
    /// The entry of `slot` now sits at `pos`.
    fn set(&mut self, slot: u32, pos: u32);
    /// The entry of `slot` has left the heap: it has no position any more.
    fn clear(&mut self, slot: u32);
}

/// A d-ary min-heap (`D` ≥ 2) of [`Entry`]s. Positions are `u32`: the pool never holds more
/// than `u32::MAX` slots.
#[derive(Debug, Default)]
pub(super) struct Heap<const D: usize> {
    entries: Vec<Entry>,
}

impl<const D: usize> Heap<D> {
    const ARITY_OK: () = assert!(D >= 2, "a heap needs an arity of at least 2");

    pub(super) const fn new() -> Self {
        let () = Self::ARITY_OK;
        Self {
            entries: Vec::new(),
        }
    }

    pub(super) fn reserve(&mut self, additional: usize) {
        self.entries.reserve(additional);
    }

    #[inline]
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The earliest entry.
    #[inline]
    pub(super) fn peek(&self) -> Option<&Entry> {
        self.entries.first()
    }

    /// The entry at `pos` (for the pool's back-pointer checks).
    #[inline]
    pub(super) fn get(&self, pos: u32) -> Option<&Entry> {
        self.entries.get(pos as usize)
    }

    /// Inserts `entry`; `positions` learns where it and every entry it displaced went.
    pub(super) fn push(&mut self, entry: Entry, positions: &mut impl Positions) {
        let hole = self.entries.len();
        debug_assert!(u32::try_from(hole).is_ok(), "heap positions are u32");
        self.entries.push(entry);
        self.sift_up(hole, entry, positions);
    }

    /// Removes and returns the entry at `pos`, clearing its slot's position. The last entry fills
    /// the hole and moves up or down to restore the order.
    ///
    /// # Panics
    /// If `pos` is out of bounds.
    pub(super) fn remove(&mut self, pos: u32, positions: &mut impl Positions) -> Entry {
        let pos = pos as usize;
        let removed = self.entries[pos];
        let last = self
            .entries
            .pop()
            .unwrap_or_else(|| unreachable!("indexed above"));
        if pos < self.entries.len() {
            if pos > 0 && last.before(&self.entries[(pos - 1) / D]) {
                self.sift_up(pos, last, positions);
            } else {
                self.sift_down(pos, last, positions);
            }
        }
        positions.clear(removed.slot);
        removed
    }

    /// Removes every entry, clearing each slot's position.
    pub(super) fn clear(&mut self, positions: &mut impl Positions) {
        for entry in self.entries.drain(..) {
            positions.clear(entry.slot);
        }
    }

    /// Moves the hole at `hole` up until `entry` fits there, then writes `entry`.
    #[inline]
    fn sift_up(&mut self, mut hole: usize, entry: Entry, positions: &mut impl Positions) {
        while hole > 0 {
            let parent = (hole - 1) / D;
            let above = self.entries[parent];
            if !entry.before(&above) {
                break;
            }
            self.place(hole, above, positions);
            hole = parent;
        }
        self.place(hole, entry, positions);
    }

    /// Moves the hole at `hole` down until `entry` fits there, then writes `entry`.
    #[inline]
    fn sift_down(&mut self, mut hole: usize, entry: Entry, positions: &mut impl Positions) {
        let len = self.entries.len();
        loop {
            let first = hole * D + 1;
            if first >= len {
                break;
            }
            let end = if first + D < len { first + D } else { len };
            let mut best = first;
            for child in first + 1..end {
                if self.entries[child].before(&self.entries[best]) {
                    best = child;
                }
            }
            let below = self.entries[best];
            if !below.before(&entry) {
                break;
            }
            self.place(hole, below, positions);
            hole = best;
        }
        self.place(hole, entry, positions);
    }

    #[inline(always)]
    fn place(&mut self, pos: usize, entry: Entry, positions: &mut impl Positions) {
        self.entries[pos] = entry;
        // `pos < len <= u32::MAX` (checked on push).
        positions.set(entry.slot, pos as u32);
    }

    /// Checks the heap order and that `position_of` agrees with every entry (tests only: O(n)).
    #[cfg(all(test, not(loom), not(feature = "shuttle")))]
    pub(super) fn check(&self, position_of: impl Fn(u32) -> Option<u32>) {
        for (pos, entry) in self.entries.iter().enumerate() {
            if pos > 0 {
                let parent = &self.entries[(pos - 1) / D];
                assert!(parent.before(entry), "heap order broken at {pos}");
            }
            assert_eq!(
                position_of(entry.slot),
                Some(pos as u32),
                "slot {} back-pointer disagrees with the heap",
                entry.slot
            );
        }
    }
}
