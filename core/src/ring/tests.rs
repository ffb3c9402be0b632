//! Single-threaded unit tests of the ring. Concurrency is checked in `models/` (loom, shuttle,
//! real threads); operation sequences against `VecDeque` in `tests/` (proptest) and `fuzz/`.

use super::*;
use alloc::string::ToString;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize as StdAtomicUsize, Ordering::SeqCst};

#[test]
fn capacity_must_be_a_power_of_two_in_range() {
    for bad in [0, 1, 3, 6, 4097, MAX_CAPACITY * 2] {
        let err = with_capacity::<u8>(bad).unwrap_err();
        assert_eq!(err.requested, bad);
        assert!(err.to_string().contains("power of two"));
    }
    for good in [2, 4, 1024, 4096] {
        let (p, c) = with_capacity::<u8>(good).unwrap();
        assert_eq!((p.capacity(), c.capacity()), (good, good));
    }
    assert_eq!(new::<u8>().0.capacity(), DEFAULT_CAPACITY);
}

#[test]
fn fifo_within_the_ring() {
    let (p, mut c) = with_capacity(4).unwrap();
    assert_eq!(c.try_pop(), Err(PopError::Empty));
    for round in 0..10u32 {
        for i in 0..4 {
            p.push(round * 4 + i).unwrap();
        }
        assert_eq!(c.len(), 4);
        for i in 0..4 {
            assert_eq!(c.pop(), Some(round * 4 + i));
        }
        assert!(c.is_empty());
    }
}

/// The Go original's DEFECT #4: fill the ring, push A (spills), pop one, push B. A must come
/// before B even though the ring had room again when B was pushed.
#[test]
fn fifo_across_overflow_when_the_ring_has_room_again() {
    let (p, mut c) = with_capacity(2).unwrap();
    p.push("r0").unwrap();
    p.push("r1").unwrap();
    p.push("a").unwrap(); // ring full: spills
    assert_eq!(c.pop(), Some("r0")); // the ring has a free slot now
    p.push("b").unwrap(); // must not overtake "a"
    let rest: Vec<_> = core::iter::from_fn(|| c.pop()).collect();
    assert_eq!(rest, ["r1", "a", "b"]);
    assert_eq!(c.try_pop(), Err(PopError::Empty));
    // Overflow fully drained: the next push takes the lock-free path again.
    p.push("c").unwrap();
    assert!(!p.shared.producers.spilled.load(SeqCst));
    assert_eq!(c.pop(), Some("c"));
}

#[test]
fn burst_then_drain_returns_overflow_memory() {
    let (p, mut c) = with_capacity(8).unwrap();
    for i in 0..10_000u32 {
        p.push(i).unwrap();
    }
    assert_eq!(c.len(), 10_000);
    assert!(c.overflow_allocation() >= 10_000 - 8);
    for i in 0..10_000u32 {
        assert_eq!(c.pop(), Some(i));
    }
    assert_eq!(c.try_pop(), Err(PopError::Empty));
    assert!(
        c.overflow_allocation() <= 2 * OVERFLOW_RESERVE,
        "kept {} slots",
        c.overflow_allocation()
    );
}

#[test]
fn close_hands_values_back_and_keeps_accepted_ones() {
    let (p, mut c) = with_capacity(2).unwrap();
    for i in 0..5 {
        p.push(i).unwrap();
    }
    assert!(p.close());
    assert!(!c.close(), "second close reports it was already closed");
    assert!(p.is_closed() && c.is_closed());
    assert_eq!(p.push(99).unwrap_err().into_inner(), 99);
    let drained: Vec<_> = core::iter::from_fn(|| c.pop()).collect();
    assert_eq!(drained, [0, 1, 2, 3, 4]);
    assert_eq!(c.try_pop(), Err(PopError::Closed));
}

#[test]
fn dropping_the_consumer_closes_the_ring() {
    let (p, c) = with_capacity::<u8>(2).unwrap();
    drop(c);
    assert_eq!(p.push(7), Err(PushError(7)));
}

struct Counted<'a>(&'a StdAtomicUsize);
impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[test]
fn every_remaining_value_is_dropped_exactly_once() {
    for (pushed, popped) in [(0, 0), (1, 0), (3, 1), (8, 3), (40, 20), (40, 40)] {
        let drops = StdAtomicUsize::new(0);
        let (p, mut c) = with_capacity(4).unwrap();
        for _ in 0..pushed {
            p.push(Counted(&drops)).unwrap();
        }
        for _ in 0..popped {
            drop(c.pop().unwrap());
        }
        assert_eq!(drops.load(SeqCst), popped);
        // Drop in either order: the last half frees the ring.
        if pushed % 2 == 0 {
            drop(c);
            drop(p);
        } else {
            drop(p);
            drop(c);
        }
        assert_eq!(
            drops.load(SeqCst),
            pushed,
            "pushed {pushed}, popped {popped}"
        );
    }
}

#[test]
fn indices_wrap_at_the_closed_bit() {
    // Start the counters just below the wrap point of the index space.
    let (p, mut c) = with_capacity(4).unwrap();
    let start = INDEX_MASK - 5;
    p.shared.producers.tail.store(start, SeqCst);
    for (i, slot) in p.shared.slots.iter().enumerate() {
        // Slot of index `start + k` must carry stamp `start + k` (free for that index).
        let k = i.wrapping_sub(start) & 3;
        slot.stamp.store(index_add(start, k), SeqCst);
    }
    c.head = start;
    for i in 0..40u32 {
        p.push(i).unwrap();
        p.push(i + 1000).unwrap();
        assert_eq!(c.pop(), Some(i));
        assert_eq!(c.pop(), Some(i + 1000));
    }
    assert!(c.head < 100, "head wrapped to {}", c.head);
    assert!(!p.is_closed());
}

#[test]
fn zero_sized_values() {
    let (p, mut c) = with_capacity(2).unwrap();
    for _ in 0..100 {
        p.push(()).unwrap();
    }
    assert_eq!(c.len(), 100);
    assert_eq!(core::iter::from_fn(|| c.pop()).count(), 100);
}

#[test]
fn debug_output_names_the_state() {
    let (p, c) = with_capacity::<u8>(2).unwrap();
    let text = alloc::format!("{p:?} {c:?}");
    assert!(
        text.contains("capacity: 2") && text.contains("closed: false"),
        "{text}"
    );
}

/// R2 (iii): after the consumer takes an overflow batch, pushes go back to the ring while older
/// values still wait in the stash: the stash must be popped first. (loom's models are too small
/// to reach this: it needs five pushes into a capacity-2 ring.)
#[test]
fn stash_is_popped_before_values_pushed_to_the_ring_after_the_batch_take() {
    let (p, mut c) = with_capacity(2).unwrap();
    for i in 0..4 {
        p.push(i).unwrap(); // 0, 1 in the ring; 2, 3 spill
    }
    assert_eq!(c.pop(), Some(0));
    assert_eq!(c.pop(), Some(1));
    assert_eq!(c.pop(), Some(2)); // takes the batch [2, 3] into the stash, clears `spilled`
    assert!(!p.shared.producers.spilled.load(SeqCst));
    p.push(4).unwrap(); // the lock-free ring again
    assert_eq!(
        c.pop(),
        Some(3),
        "the stash (older) must come before the ring"
    );
    assert_eq!(c.pop(), Some(4));
    assert_eq!(c.try_pop(), Err(PopError::Empty));
}

/// The documented bound (2^30 slots on 64-bit targets, 2^28 on 32-bit ones), and the errors'
/// messages, which hand the caller the reason with the value.
#[test]
fn max_capacity_and_error_messages_are_as_documented() {
    #[cfg(target_pointer_width = "64")]
    assert_eq!(MAX_CAPACITY, 1 << 30);
    #[cfg(target_pointer_width = "32")]
    assert_eq!(MAX_CAPACITY, 1 << 28);
    assert!(with_capacity::<u8>(MAX_CAPACITY * 2).is_err());
    let (p, c) = with_capacity::<u8>(2).unwrap();
    assert!(c.close(), "the first close reports that it closed the ring");
    assert!(
        !c.close() && !p.close(),
        "later closes report that it was already closed"
    );
    let refused = p.push(7).unwrap_err();
    assert_eq!(
        refused.to_string(),
        "the ring is closed; the value is handed back"
    );
    assert_eq!(refused.into_inner(), 7);
}

/// `is_empty`, `is_ready` and `len` in every single-threaded state: empty, values in the ring,
/// values only in the shared overflow (the ring drained first), values in the stash.
#[test]
fn observers_agree_with_the_queue_in_every_state() {
    let (p, mut c) = with_capacity::<u32>(2).unwrap();
    assert!(c.is_empty() && !c.is_ready());
    assert_eq!(c.len(), 0);
    p.push(0).unwrap();
    assert!(!c.is_empty() && c.is_ready());
    assert_eq!(c.len(), 1);
    // Ring full, two more spill: ring and overflow both hold values.
    for v in 1..4 {
        p.push(v).unwrap();
    }
    assert_eq!(c.len(), 4);
    assert!(!c.is_empty() && c.is_ready());
    // Drain the ring: the values left are only in the shared overflow queue.
    assert_eq!((c.pop(), c.pop()), (Some(0), Some(1)));
    assert_eq!(c.len(), 2);
    assert!(
        !c.is_empty() && c.is_ready(),
        "an empty ring with a spilled overflow still holds values"
    );
    // The next pop moves the batch into the stash and pops from it.
    assert_eq!(c.pop(), Some(2));
    assert_eq!(c.len(), 1);
    assert!(!c.is_empty() && c.is_ready(), "the stash holds a value");
    assert_eq!(c.pop(), Some(3));
    assert!(c.is_empty() && !c.is_ready());
    assert_eq!(c.len(), 0);
    assert_eq!(c.try_pop(), Err(PopError::Empty));
}

/// A batch taken from the overflow is drained from its buffer without shrinking it on every
/// pop (which would reallocate per value and take the overflow lock each time); it shrinks
/// once the batch is done.
#[test]
fn the_stash_keeps_its_buffer_while_it_drains() {
    let (p, mut c) = with_capacity::<u32>(2).unwrap();
    let burst = 10 * OVERFLOW_RESERVE as u32;
    for v in 0..burst {
        p.push(v).unwrap();
    }
    assert_eq!((c.pop(), c.pop()), (Some(0), Some(1)));
    assert_eq!(c.pop(), Some(2), "takes the batch");
    let held = c.overflow_allocation();
    assert!(held >= burst as usize - 2);
    for v in 3..burst - 1 {
        assert_eq!(c.pop(), Some(v));
        assert_eq!(
            c.overflow_allocation(),
            held,
            "no shrink before the batch is done"
        );
    }
    assert_eq!(c.pop(), Some(burst - 1));
    assert!(c.overflow_allocation() <= 2 * OVERFLOW_RESERVE);
}
