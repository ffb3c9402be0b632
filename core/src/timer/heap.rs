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
/// The deadline is kept in whole nanoseconds since the clock origin as a `u64`, saturated at
/// `u64::MAX` (about 584 years; see [`deadline_nanos`]), so the key is two words that compare as
/// one 128-bit number: a `cmp`/`sbb` pair on x86-64, no data-dependent branch. 8 + 8 + 4 bytes,
/// padded to 24.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Entry {
    /// Nanoseconds since the clock origin, saturated.
    deadline: u64,
    seq: u64,
    /// Index of the slot in the pool.
    pub(super) slot: u32,
}

/// `deadline` in whole nanoseconds since the clock origin, saturated at `u64::MAX` (2^64 − 1 ns is
/// about 584 years: a deadline past that, such as `Duration::MAX` for "never", is kept as that
/// instant). Monotone, and exact (no rounding) below the saturation point, so the order of
/// deadlines below it is kept.
#[inline]
pub(super) fn deadline_nanos(deadline: Duration) -> u64 {
    u64::try_from(deadline.as_nanos()).unwrap_or(u64::MAX)
}

impl Entry {
    #[inline]
    pub(super) fn new(deadline: Duration, seq: u64, slot: u32) -> Self {
        Self {
            deadline: deadline_nanos(deadline),
            seq,
            slot,
        }
    }

    /// The deadline as stored (saturated at `u64::MAX` nanoseconds).
    #[inline]
    pub(super) fn deadline(&self) -> Duration {
        Duration::from_nanos(self.deadline)
    }

    /// The deadline in nanoseconds, as [`deadline_nanos`] gave it.
    #[inline]
    pub(super) fn deadline_nanos(&self) -> u64 {
        self.deadline
    }

    #[inline]
    pub(super) fn seq(&self) -> u64 {
        self.seq
    }

    /// The key `(deadline, seq)` as one number: the deadline in the high word.
    #[inline(always)]
    fn key(&self) -> u128 {
        (u128::from(self.deadline) << 64) | u128::from(self.seq)
    }

    /// Strictly earlier in firing order: by deadline, then by scheduling sequence (one 128-bit
    /// comparison, without branches).
    #[inline(always)]
    fn before(&self, other: &Entry) -> bool {
        self.key() < other.key()
    }
}

/// Where the heap records the position of each slot it holds.
pub(super) trait Positions {
    /// The entry of `slot` now sits at `pos`.
    fn set(&mut self, slot: u32, pos: u32);
    /// The entry of `slot` has left the heap: it has no position any more.
    fn clear(&mut self, slot: u32);
}

/// Heaps up to this many entries (384 KiB of entries: about an L2 cache) pick the smallest
/// child in [`Heap::sift_down`] without branches. The child to follow is data-dependent, so the
/// branches mispredict about once per level: in cache that dominates, and the flat tournament is
/// faster. Out of cache the branches win: a predicted branch lets the CPU start loading the next
/// level before the comparison resolves, while the flat version waits for it. Measured in
/// `bench/` (`report timers`, fire row), re-measured with the 128-bit key: at 1k timers about
/// 70–80 ns branching vs 43–47 ns flat; at 1M about 485 ns branching vs 630–640 ns flat.
const FLAT_SIFT_MAX: usize = 1 << 14;

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
            let best = self.smallest_child(first, len);
            let below = self.entries[best];
            if !below.before(&entry) {
                break;
            }
            self.place(hole, below, positions);
            hole = best;
        }
        self.place(hole, entry, positions);
    }

    /// The smallest of the children `first..min(first + D, len)` (`first < len`).
    #[inline(always)]
    fn smallest_child(&self, first: usize, len: usize) -> usize {
        let end = if first + D < len { first + D } else { len };
        if D == 4 && end - first == 4 && len <= FLAT_SIFT_MAX {
            self.smallest_of_four(first)
        } else {
            let mut best = first;
            for child in first + 1..end {
                if self.entries[child].before(&self.entries[best]) {
                    best = child;
                }
            }
            best
        }
    }

    /// The smallest of the four entries from `first`, without branches: a tournament whose two
    /// first-round comparisons are independent.
    #[inline(always)]
    fn smallest_of_four(&self, first: usize) -> usize {
        let c = &self.entries[first..first + 4];
        let a = usize::from(c[1].before(&c[0]));
        let b = 2 + usize::from(c[3].before(&c[2]));
        first + if c[b].before(&c[a]) { b } else { a }
    }

    #[inline(always)]
    fn place(&mut self, pos: usize, entry: Entry, positions: &mut impl Positions) {
        self.entries[pos] = entry;
        // `pos < len <= u32::MAX` (checked on push).
        positions.set(entry.slot, pos as u32);
    }

    /// Checks the heap order and that `position_of` agrees with every entry (tests only: O(n)).
    #[cfg(test)] // a separate attribute, so that cargo-mutants sees test-only code
    #[cfg(not(any(loom, feature = "shuttle")))]
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

#[cfg(test)] // a separate attribute, so that cargo-mutants sees test-only code
#[cfg(not(any(loom, feature = "shuttle")))]
mod tests {
    use super::*;
    use alloc::vec;

    /// Positions as a plain table.
    struct Table(Vec<Option<u32>>);

    impl Positions for Table {
        fn set(&mut self, slot: u32, pos: u32) {
            self.0[slot as usize] = Some(pos);
        }
        fn clear(&mut self, slot: u32) {
            self.0[slot as usize] = None;
        }
    }

    /// xorshift64*: deterministic test data without a dependency.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// The largest `Duration` kept exactly: `u64::MAX` nanoseconds.
    const SATURATION: Duration = Duration::new(18_446_744_073, 709_551_615);

    #[test]
    fn comparison_matches_the_tuple_order_below_saturation() {
        // Around 0, around the 32-bit marks, and up to the saturation point.
        let secs = [0, 1, 2, u64::from(u32::MAX), SATURATION.as_secs() - 1];
        let nanos = [0, 1, 999_999_998, 999_999_999];
        let seqs = [0, 1, 2, u64::from(u32::MAX), u64::MAX - 1, u64::MAX];
        let mut keys = vec![(SATURATION, 0), (SATURATION, u64::MAX)];
        for &s in &secs {
            for &n in &nanos {
                for &seq in &seqs {
                    keys.push((Duration::new(s, n), seq));
                }
            }
        }
        let mut state = 0x1234_5678_9abc_def1;
        // Every pair is compared: 2,000 random keys is 4.6M pairs, too many for Miri.
        let random = if cfg!(miri) { 60 } else { 2000 };
        for _ in 0..random {
            let s = next(&mut state) % 4;
            let n = (next(&mut state) % 3) as u32;
            keys.push((Duration::new(s, n), next(&mut state) % 4));
        }
        for &(da, sa) in &keys {
            let a = Entry::new(da, sa, 0);
            assert_eq!(a.deadline(), da, "kept exactly below saturation");
            for &(db, sb) in &keys {
                let b = Entry::new(db, sb, 1);
                assert_eq!(a.before(&b), (da, sa) < (db, sb), "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn deadlines_past_saturation_are_kept_as_the_saturation_instant() {
        assert_eq!(deadline_nanos(SATURATION), u64::MAX);
        assert_eq!(
            deadline_nanos(SATURATION - Duration::from_nanos(1)),
            u64::MAX - 1
        );
        for past in [
            SATURATION + Duration::from_nanos(1),
            Duration::new(SATURATION.as_secs() + 1, 0),
            Duration::new(u64::MAX / 1_000_000_000 + 1, 0),
            Duration::MAX,
        ] {
            assert_eq!(deadline_nanos(past), u64::MAX, "{past:?}");
            assert_eq!(Entry::new(past, 0, 0).deadline(), SATURATION);
        }
        // Past saturation, scheduling order decides (the ties rule), not the exact deadline.
        let later = Entry::new(Duration::MAX, 1, 0);
        let sooner_but_scheduled_after = Entry::new(SATURATION + Duration::from_secs(1), 2, 1);
        assert!(later.before(&sooner_but_scheduled_after));
        assert!(Entry::new(SATURATION - Duration::from_nanos(1), 9, 0).before(&later));
    }

    /// Pushes, removals at random positions and pops on a 4-ary heap of `size` entries (both
    /// child-selection paths: `size` below and above `FLAT_SIFT_MAX`), checking the order and
    /// every position after each phase, and that pops come out sorted.
    fn churn(size: u32) {
        let mut heap = Heap::<4>::new();
        let slots = size + size / 2;
        let mut table = Table(vec![None; slots as usize]);
        let mut state = u64::from(size) | 1;
        let mut seq = 0;
        for slot in 0..size {
            let deadline = Duration::from_millis(next(&mut state) % 5000);
            heap.push(Entry::new(deadline, seq, slot), &mut table);
            seq += 1;
        }
        heap.check(|slot| table.0[slot as usize]);
        for round in 0..size / 2 {
            let victim = (next(&mut state) % u64::from(size)) as u32;
            if let Some(pos) = table.0[victim as usize] {
                assert_eq!(heap.remove(pos, &mut table).slot, victim);
            }
            let slot = size + round;
            let deadline = Duration::from_millis(next(&mut state) % 5000);
            heap.push(Entry::new(deadline, seq, slot), &mut table);
            seq += 1;
        }
        heap.check(|slot| table.0[slot as usize]);
        let mut last: Option<Entry> = None;
        while let Some(&root) = heap.peek() {
            assert_eq!(heap.remove(0, &mut table), root);
            if let Some(last) = last {
                assert!(last.before(&root), "pops out of order");
            }
            last = Some(root);
        }
        assert!(table.0.iter().all(Option::is_none));
    }

    #[test]
    fn small_heap_orders_and_tracks_positions() {
        churn(if cfg!(miri) { 100 } else { 1000 });
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "32k entries take many minutes under Miri (`make test` runs it); the sift path for heaps above FLAT_SIFT_MAX is safe code"
    )]
    fn large_heap_orders_and_tracks_positions() {
        churn(FLAT_SIFT_MAX as u32 * 2);
    }
}
