//! Unit tests of the timer pool, the heap and the delay rules. Operation sequences against a
//! reference model run in `tests/` (proptest) and `fuzz/` (`timer_ops`).

use super::heap::{Entry, Heap, Positions};
use super::*;
use alloc::boxed::Box;
use alloc::format;
use alloc::rc::Rc;
use alloc::string::ToString;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::Cell;
use core::mem::size_of;
use core::time::Duration;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A callback that counts its live instances, so a test sees exactly when it is dropped.
struct Tracked {
    name: u32,
    live: Rc<Cell<usize>>,
}

impl Tracked {
    fn new(name: u32, live: &Rc<Cell<usize>>) -> Self {
        live.set(live.get() + 1);
        Self {
            name,
            live: Rc::clone(live),
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.live.set(self.live.get() - 1);
    }
}

/// Fires everything due at `now` (timeouts only: intervals are finished without re-arm) and
/// returns the IDs in firing order.
fn fire_all<F>(pool: &mut TimerPool<F>, now: Duration) -> Vec<TimerId> {
    let mut fired = Vec::new();
    while let Some(due) = pool.take_due(now) {
        fired.push(due.id);
        assert!(pool.finish(due.token, due.callback, None).is_some());
        pool.check_invariants();
    }
    fired
}

#[test]
fn equal_deadlines_fire_in_scheduling_order() {
    let mut pool = TimerPool::new();
    // Enough ties that an unstable heap would scramble them (Go: 8 ties pop as A H G F E D C B).
    let mut expected = Vec::new();
    for i in 0..64u32 {
        let deadline = if i % 3 == 0 { ms(7) } else { ms(5) };
        let id = pool.schedule(deadline, i, TimerKind::Timeout, 0).unwrap();
        expected.push((deadline, id));
        pool.check_invariants();
    }
    expected.sort_by_key(|&(deadline, id)| (deadline, id)); // ids increase with scheduling order
    let expected: Vec<TimerId> = expected.into_iter().map(|(_, id)| id).collect();
    assert_eq!(fire_all(&mut pool, ms(10)), expected);
    assert!(pool.is_empty());
}

#[test]
fn take_due_respects_now_and_next_deadline() {
    let mut pool = TimerPool::new();
    assert_eq!(pool.next_deadline(), None);
    assert!(pool.take_due(Duration::MAX).is_none());
    let late = pool.schedule(ms(20), 0u8, TimerKind::Timeout, 0).unwrap();
    let early = pool.schedule(ms(10), 0u8, TimerKind::Timeout, 3).unwrap();
    assert_eq!(pool.next_deadline(), Some(ms(10)));
    assert_eq!(pool.deadline(late), Some(ms(20)));
    assert!(pool.take_due(ms(9)).is_none());
    let due = pool.take_due(ms(10)).unwrap(); // deadline == now is due
    assert_eq!((due.id, due.deadline, due.nesting), (early, ms(10), 3));
    assert_eq!(due.kind, TimerKind::Timeout);
    assert_eq!(pool.len(), 2, "a firing timer is still live");
    assert_eq!(pool.armed(), 1);
    assert_eq!(pool.deadline(early), None, "not armed while firing");
    assert!(pool.contains(early));
    assert!(pool.finish(due.token, due.callback, None).is_some());
    assert!(!pool.contains(early));
    assert_eq!(pool.next_deadline(), Some(ms(20)));
    pool.check_invariants();
}

#[test]
fn cancel_returns_the_callback_and_it_is_dropped_at_once() {
    let live = Rc::new(Cell::new(0));
    let mut pool = TimerPool::new();
    let a = pool
        .schedule(ms(1), Tracked::new(1, &live), TimerKind::Timeout, 0)
        .unwrap();
    let b = pool
        .schedule(
            ms(2),
            Tracked::new(2, &live),
            TimerKind::Interval { period: ms(2) },
            0,
        )
        .unwrap();
    assert_eq!(live.get(), 2);
    match pool.cancel(b) {
        Cancel::Cancelled(callback) => {
            assert_eq!(callback.name, 2);
            drop(callback);
        }
        other => panic!("expected Cancelled, got {other:?}"),
    }
    assert_eq!(
        live.get(),
        1,
        "the pool kept no copy of the cancelled callback"
    );
    assert_eq!(pool.len(), 1);
    pool.check_invariants();
    // The freed slot is reused and holds only the new callback.
    let c = pool
        .schedule(ms(3), Tracked::new(3, &live), TimerKind::Timeout, 0)
        .unwrap();
    assert_ne!(c, b, "IDs are never reused");
    assert_eq!(live.get(), 2);
    assert_eq!(fire_all(&mut pool, ms(5)), [a, c]);
    assert_eq!(live.get(), 0, "fired timeouts hand their callbacks back");
    pool.check_invariants();
}

#[test]
fn cancel_of_unknown_fired_or_cancelled_ids_is_not_found() {
    let mut pool = TimerPool::new();
    let never = TimerId::new(42).unwrap();
    assert_eq!(
        never.to_string(),
        "42",
        "an ID displays as its number (as in JS)"
    );
    assert!(matches!(pool.cancel(never), Cancel::NotFound));
    assert!(TimerId::new(0).is_none());
    let a = pool.schedule(ms(1), 'a', TimerKind::Timeout, 0).unwrap();
    let b = pool.schedule(ms(1), 'b', TimerKind::Timeout, 0).unwrap();
    assert_eq!(fire_all(&mut pool, ms(1)), [a, b]);
    assert!(matches!(pool.cancel(a), Cancel::NotFound), "fired");
    let c = pool.schedule(ms(9), 'c', TimerKind::Timeout, 0).unwrap();
    assert!(matches!(pool.cancel(c), Cancel::Cancelled('c')));
    assert!(matches!(pool.cancel(c), Cancel::NotFound), "second cancel");
    assert!(!Cancel::<()>::NotFound.found());
    assert!(Cancel::Cancelled(()).found());
    assert!(Cancel::<()>::Firing.found());
    pool.check_invariants();
}

#[test]
fn cancel_from_its_own_callback_stops_an_interval() {
    let live = Rc::new(Cell::new(0));
    let mut pool = TimerPool::new();
    let id = pool
        .schedule(
            ms(10),
            Tracked::new(7, &live),
            TimerKind::Interval { period: ms(10) },
            0,
        )
        .unwrap();
    let due = pool.take_due(ms(10)).unwrap();
    // Inside the callback: clearInterval(id).
    assert!(matches!(pool.cancel(id), Cancel::Firing));
    assert!(!pool.contains(id), "cancelled: no longer live");
    assert!(matches!(pool.cancel(id), Cancel::NotFound), "second cancel");
    assert_eq!(pool.len(), 0);
    pool.check_invariants();
    let rearm = Rearm {
        deadline: ms(20),
        nesting: 1,
    };
    let back = pool.finish(due.token, due.callback, Some(rearm));
    assert_eq!(
        back.as_ref().map(|t| t.name),
        Some(7),
        "not re-armed: handed back"
    );
    drop(back);
    assert_eq!(live.get(), 0);
    assert_eq!(pool.next_deadline(), None);
    pool.check_invariants();
}

#[test]
fn interval_rearm_keeps_its_id_and_goes_behind_equal_deadlines() {
    let mut pool = TimerPool::new();
    let interval = pool
        .schedule(ms(10), "i", TimerKind::Interval { period: ms(10) }, 0)
        .unwrap();
    let due = pool.take_due(ms(10)).unwrap();
    assert_eq!(due.kind, TimerKind::Interval { period: ms(10) });
    // Scheduled while the interval fires, at the deadline the interval will re-arm to.
    let other = pool.schedule(ms(20), "t", TimerKind::Timeout, 0).unwrap();
    let rearm = Rearm {
        deadline: ms(20),
        nesting: due.nesting + 1,
    };
    assert!(pool.finish(due.token, due.callback, Some(rearm)).is_none());
    assert!(pool.contains(interval));
    assert_eq!(pool.deadline(interval), Some(ms(20)));
    pool.check_invariants();
    let first = pool.take_due(ms(20)).unwrap();
    assert_eq!(
        first.id, other,
        "the timer scheduled first goes first on a tie"
    );
    assert!(pool.finish(first.token, first.callback, None).is_some());
    let second = pool.take_due(ms(20)).unwrap();
    assert_eq!((second.id, second.nesting), (interval, 1));
    // Stopping an interval without a cancel: no re-arm given.
    assert_eq!(pool.finish(second.token, second.callback, None), Some("i"));
    assert!(pool.is_empty());
    pool.check_invariants();
}

#[test]
fn rearm_is_ignored_for_a_timeout() {
    let mut pool = TimerPool::new();
    pool.schedule(ms(1), 1, TimerKind::Timeout, 0).unwrap();
    let due = pool.take_due(ms(1)).unwrap();
    let rearm = Some(Rearm {
        deadline: ms(2),
        nesting: 1,
    });
    assert_eq!(pool.finish(due.token, due.callback, rearm), Some(1));
    assert!(pool.is_empty());
    pool.check_invariants();
}

#[test]
fn id_exhaustion_has_no_side_effect() {
    let live = Rc::new(Cell::new(0));
    let mut pool = TimerPool::with_id_limit(3);
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            pool.schedule(ms(5), Tracked::new(i, &live), TimerKind::Timeout, 0)
                .unwrap(),
        );
    }
    assert_eq!(ids.iter().map(|id| id.get()).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(pool.ids_remaining(), 0);
    let before = format!("{pool:?}");
    let err = pool
        .schedule(ms(1), Tracked::new(99, &live), TimerKind::Timeout, 0)
        .unwrap_err();
    assert!(matches!(err, TimerError::IdsExhausted(_)));
    assert_eq!(err.to_string(), "timer IDs exhausted");
    assert_eq!(format!("{pool:?}"), before, "nothing changed");
    assert_eq!(pool.len(), 3);
    assert_eq!(pool.next_deadline(), Some(ms(5)), "nothing inserted");
    let callback = err.into_callback();
    assert_eq!(callback.name, 99, "the callback comes back");
    drop(callback);
    assert_eq!(live.get(), 3);
    pool.check_invariants();
    // Cancelling frees slots, not IDs.
    assert!(matches!(pool.cancel(ids[0]), Cancel::Cancelled(_)));
    assert!(matches!(
        pool.schedule(ms(1), Tracked::new(100, &live), TimerKind::Timeout, 0),
        Err(TimerError::IdsExhausted(_))
    ));
    // An interval keeps re-arming after exhaustion: its ID is already issued.
    let mut pool = TimerPool::with_id_limit(1);
    let id = pool
        .schedule(ms(1), 0u8, TimerKind::Interval { period: ms(1) }, 0)
        .unwrap();
    for n in 1..5 {
        let due = pool.take_due(ms(n)).unwrap();
        assert_eq!(due.id, id);
        let rearm = Rearm {
            deadline: ms(n + 1),
            nesting: 0,
        };
        assert!(pool.finish(due.token, due.callback, Some(rearm)).is_none());
    }
    assert!(
        TimerPool::<u8>::with_id_limit(0)
            .schedule(ms(0), 0u8, TimerKind::Timeout, 0)
            .is_err()
    );
    assert_eq!(TimerPool::<()>::new().ids_remaining(), MAX_TIMER_ID);
}

/// The Go original's stale-index defect: an interval is popped (its index left at 0), its
/// callback schedules a timeout (which lands at heap position 0), then cancels the interval
/// itself — and `heap.Remove(0)` took out the new timeout. Here the firing slot has no position,
/// so the cancel only marks it, and the timeout survives.
#[test]
fn cancel_while_firing_never_removes_another_timer() {
    let mut pool = TimerPool::new();
    let interval = pool
        .schedule(ms(1), 0, TimerKind::Interval { period: ms(1) }, 0)
        .unwrap();
    let due = pool.take_due(ms(1)).unwrap();
    let timeout = pool.schedule(ms(1), 1, TimerKind::Timeout, 0).unwrap();
    assert!(matches!(pool.cancel(interval), Cancel::Firing));
    assert!(pool.contains(timeout));
    assert_eq!(pool.deadline(timeout), Some(ms(1)));
    pool.check_invariants();
    let rearm = Rearm {
        deadline: ms(2),
        nesting: 1,
    };
    assert_eq!(pool.finish(due.token, due.callback, Some(rearm)), Some(0));
    assert_eq!(fire_all(&mut pool, ms(5)), [timeout]);
}

/// Stale positions after heap moves: cancel timers after many others moved around them, and
/// check each time that exactly the named one left.
#[test]
fn cancel_after_heap_moves_removes_the_right_timer() {
    let mut pool = TimerPool::new();
    let mut live: Vec<(TimerId, u64)> = Vec::new();
    // Deadlines in a scrambled order, so every push moves others.
    for i in 0..200u64 {
        let deadline = (i * 7919) % 211;
        let id = pool
            .schedule(ms(deadline), i, TimerKind::Timeout, 0)
            .unwrap();
        live.push((id, deadline));
    }
    let mut step = 0usize;
    while !live.is_empty() {
        // Interleave: fire the earliest now and then, schedule a new early timer, cancel one.
        if step % 5 == 0 {
            let min = live.iter().map(|&(_, d)| d).min().unwrap();
            let due = pool.take_due(ms(min)).unwrap();
            let pos = live.iter().position(|&(id, _)| id == due.id).unwrap();
            assert_eq!(live.remove(pos).1, min);
            assert!(pool.finish(due.token, due.callback, None).is_some());
        }
        if step % 3 == 0 && step < 300 {
            let deadline = step as u64 % 13;
            let id = pool
                .schedule(ms(deadline), 1000 + step as u64, TimerKind::Timeout, 0)
                .unwrap();
            live.push((id, deadline));
        }
        if !live.is_empty() {
            let (victim, deadline) = live.remove((step * 31) % live.len());
            assert_eq!(pool.deadline(victim), Some(ms(deadline)));
            assert!(matches!(pool.cancel(victim), Cancel::Cancelled(_)));
            assert!(!pool.contains(victim));
            for &(id, deadline) in &live {
                assert_eq!(pool.deadline(id), Some(ms(deadline)), "{id} was disturbed");
            }
        }
        assert_eq!(pool.len(), live.len());
        pool.check_invariants();
        step += 1;
    }
    assert!(pool.is_empty());
}

#[test]
fn cancel_all_hands_back_every_armed_callback() {
    let live = Rc::new(Cell::new(0));
    let mut pool = TimerPool::new();
    for i in 0..10 {
        let kind = if i % 2 == 0 {
            TimerKind::Timeout
        } else {
            TimerKind::Interval { period: ms(1) }
        };
        pool.schedule(ms(u64::from(i)), Tracked::new(i, &live), kind, 0)
            .unwrap();
    }
    let due = pool.take_due(ms(0)).unwrap(); // firing across the shutdown
    let callbacks = pool.cancel_all();
    assert_eq!(callbacks.len(), 9);
    assert_eq!(
        live.get(),
        10,
        "the pool handed them back; the caller drops them"
    );
    drop(callbacks);
    assert_eq!(live.get(), 1);
    assert!(pool.is_empty());
    assert_eq!(pool.next_deadline(), None);
    pool.check_invariants();
    assert!(matches!(pool.cancel(due.id), Cancel::NotFound));
    let back = pool.finish(due.token, due.callback, None);
    assert!(back.is_some());
    drop(back);
    assert_eq!(live.get(), 0);
    pool.check_invariants();
    // The pool is usable again; IDs continue.
    let next = pool.schedule(ms(1), Tracked::new(11, &live), TimerKind::Timeout, 0);
    assert_eq!(next.unwrap().get(), 11);
    pool.check_invariants();
}

#[test]
fn multiple_timers_can_fire_at_once() {
    let mut pool = TimerPool::new();
    let a = pool.schedule(ms(1), 'a', TimerKind::Timeout, 0).unwrap();
    let b = pool
        .schedule(ms(1), 'b', TimerKind::Interval { period: ms(1) }, 0)
        .unwrap();
    let first = pool.take_due(ms(1)).unwrap();
    let second = pool.take_due(ms(1)).unwrap();
    assert_eq!((first.id, second.id), (a, b));
    assert_eq!(first.token.id(), a);
    pool.check_invariants();
    let rearm = Rearm {
        deadline: ms(2),
        nesting: 1,
    };
    assert!(
        pool.finish(second.token, second.callback, Some(rearm))
            .is_none()
    );
    assert_eq!(pool.finish(first.token, first.callback, None), Some('a'));
    assert_eq!(pool.len(), 1);
    pool.check_invariants();
}

#[test]
#[should_panic(expected = "not a firing timer of this pool")]
fn finish_with_a_foreign_token_panics() {
    let mut one = TimerPool::new();
    let mut two = TimerPool::new();
    one.schedule(ms(1), 1, TimerKind::Timeout, 0).unwrap();
    two.schedule(ms(1), 2, TimerKind::Timeout, 0).unwrap();
    let due = one.take_due(ms(1)).unwrap();
    let due_two = two.take_due(ms(1)).unwrap();
    two.finish(due_two.token, due_two.callback, None);
    two.finish(due.token, due.callback, None); // slot 0 of `two` is free now
}

/// A token names a slot *and* an ID: a foreign token whose slot is firing here too, under
/// another ID, is refused as well (not taken for the timer firing in that slot).
#[test]
#[should_panic(expected = "not a firing timer of this pool")]
fn finish_with_a_foreign_token_of_a_firing_slot_panics() {
    let mut one = TimerPool::new();
    let mut two = TimerPool::new();
    one.schedule(ms(1), 1, TimerKind::Timeout, 0).unwrap();
    // `two` uses up ID 1, so its timer in slot 0 has ID 2.
    let cancelled = two.schedule(ms(1), 0, TimerKind::Timeout, 0).unwrap();
    assert!(matches!(two.cancel(cancelled), Cancel::Cancelled(0)));
    two.schedule(ms(1), 2, TimerKind::Timeout, 0).unwrap();
    let due = one.take_due(ms(1)).unwrap();
    let due_two = two.take_due(ms(1)).unwrap();
    assert_ne!(due.id, due_two.id);
    two.finish(due.token, due.callback, None); // slot 0 of `two` is firing, as ID 2
}

/// Bytes per live timer on 64-bit with a boxed closure: a 56-byte slot, a 24-byte heap entry,
/// and 17 map bytes per bucket (a `(u64, u32)` pair padded to 16, plus one control byte) at a
/// load factor between 7/16 and 7/8, so 19–39 bytes: about 100–120 bytes per timer.
#[test]
#[cfg(target_pointer_width = "64")]
fn memory_per_timer() {
    use super::pool::Slot;
    assert_eq!(size_of::<Entry>(), 24);
    assert_eq!(size_of::<Slot<Box<dyn FnMut() + Send>>>(), 56);
    assert_eq!(size_of::<(u64, u32)>(), 16);
}

// ---- heap ----

/// Positions as a plain table, for testing the heap alone.
#[derive(Default)]
struct Table(Vec<Option<u32>>);

impl Positions for Table {
    fn set(&mut self, slot: u32, pos: u32) {
        self.0[slot as usize] = Some(pos);
    }
    fn clear(&mut self, slot: u32) {
        self.0[slot as usize] = None;
    }
}

fn heap_churn<const D: usize>() {
    let mut heap = Heap::<D>::new();
    let mut table = Table(vec![None; 500]);
    let mut in_heap = Vec::new();
    for slot in 0..500u32 {
        let deadline = ms(u64::from((slot * 37) % 50));
        heap.push(Entry::new(deadline, u64::from(slot), slot), &mut table);
        in_heap.push(slot);
        if slot % 4 == 3 {
            let victim = in_heap.swap_remove((slot as usize * 13) % in_heap.len());
            let pos = table.0[victim as usize].unwrap();
            let removed = heap.remove(pos, &mut table);
            assert_eq!(removed.slot, victim);
            assert_eq!(
                table.0[victim as usize], None,
                "position cleared on removal"
            );
        }
        heap.check(|slot| table.0[slot as usize]);
    }
    let mut last = (Duration::ZERO, 0);
    while let Some(&root) = heap.peek() {
        let removed = heap.remove(0, &mut table);
        assert_eq!(removed, root);
        let key = (removed.deadline(), removed.seq());
        assert!(key > last || last == (Duration::ZERO, 0));
        last = key;
        heap.check(|slot| table.0[slot as usize]);
    }
    assert!(table.0.iter().all(Option::is_none));
}

#[test]
fn heap_orders_and_tracks_positions_binary() {
    heap_churn::<2>();
}

#[test]
fn heap_orders_and_tracks_positions_4ary() {
    heap_churn::<4>();
}

#[test]
fn heap_entry_saturates_past_u64_nanoseconds_and_orders_exactly_below() {
    let saturation = Duration::from_nanos(u64::MAX);
    let e = Entry::new(Duration::MAX, u64::MAX, u32::MAX - 1);
    assert_eq!(e.deadline(), saturation);
    let a = Entry::new(Duration::new(5, 999_999_999), 9, 0);
    let b = Entry::new(Duration::new(6, 0), 1, 1);
    let mut heap = Heap::<4>::new();
    let mut table = Table(vec![None; 2]);
    heap.push(b, &mut table);
    heap.push(a, &mut table);
    assert_eq!(heap.peek().map(|e| e.slot), Some(0));
}

#[test]
fn a_never_deadline_fires_only_once_the_clock_saturates_too() {
    let mut pool = TimerPool::new();
    let never = pool
        .schedule(Duration::MAX, "never", TimerKind::Timeout, 0)
        .unwrap();
    let soon = pool.schedule(ms(1), "soon", TimerKind::Timeout, 0).unwrap();
    assert_eq!(pool.next_deadline(), Some(ms(1)));
    let due = pool.take_due(Duration::from_nanos(u64::MAX - 1)).unwrap();
    assert_eq!(due.id, soon);
    assert!(pool.finish(due.token, due.callback, None).is_some());
    assert!(pool.take_due(Duration::from_nanos(u64::MAX - 1)).is_none());
    assert_eq!(pool.deadline(never), Some(Duration::from_nanos(u64::MAX)));
    let due = pool.take_due(Duration::MAX).unwrap();
    assert_eq!((due.id, due.callback), (never, "never"));
}

// ---- delay rules ----

#[test]
fn js_delay_normalisation_table() {
    let two31 = 2_147_483_648.0;
    for (input, expected_ms) in [
        (-1.0, 1),
        (f64::NAN, 1),
        (f64::INFINITY, 1),
        (f64::NEG_INFINITY, 1),
        (0.0, 1),
        (-0.0, 1),
        (0.5, 1),
        (1.0, 1),
        (1.9, 1),
        (2.5, 2),
        (1000.999, 1000),
        (two31 - 1.0, 2_147_483_647),
        (two31 - 0.5, 1), // compared before truncating, as Node does: above TIMEOUT_MAX
        (two31, 1),
        (1e300, 1),
    ] {
        assert_eq!(
            normalize_js_delay_ms(input),
            ms(expected_ms),
            "normalize_js_delay_ms({input})"
        );
    }
}

#[test]
fn nesting_clamp_edges() {
    let policy = NestingPolicy::default();
    assert!(policy.clamp);
    let short = Duration::from_micros(3900);
    // Level 5 is not clamped; level 6 is.
    assert_eq!(policy.apply(5, short), (short, 6));
    assert_eq!(policy.apply(6, short), (ms(4), 7));
    assert_eq!(policy.apply(6, Duration::ZERO), (ms(4), 7));
    // 4 ms and above pass unchanged even when nested.
    assert_eq!(policy.apply(6, ms(4)), (ms(4), 7));
    assert_eq!(policy.apply(100, ms(5)), (ms(5), 101));
    // Top level.
    assert_eq!(policy.apply(0, Duration::ZERO), (Duration::ZERO, 1));
    // Policy off: no clamp, levels still count.
    let off = NestingPolicy { clamp: false };
    assert_eq!(off.apply(6, short), (short, 7));
    assert_eq!(off.apply(u32::MAX, short), (short, u32::MAX), "saturates");
}

/// A chain of timers each scheduling the next at 0 ms: the first six are unclamped, the seventh
/// and later get 4 ms (the HTML rule, as the Go original's `nested_timeout_test.go` checks).
#[test]
fn nesting_chain_clamps_from_the_seventh_timer() {
    let policy = NestingPolicy::default();
    let mut pool = TimerPool::new();
    let mut now = Duration::ZERO;
    let (delay, nesting) = policy.apply(0, Duration::ZERO);
    pool.schedule(now + delay, 0u8, TimerKind::Timeout, nesting)
        .unwrap();
    let mut delays = Vec::new();
    for _ in 0..9 {
        let due = pool.take_due(Duration::MAX).unwrap();
        now = due.deadline;
        // The callback runs at `due.nesting` and schedules the next timer.
        let (delay, nesting) = policy.apply(due.nesting, Duration::ZERO);
        delays.push(delay);
        pool.schedule(now + delay, 0u8, TimerKind::Timeout, nesting)
            .unwrap();
        pool.finish(due.token, due.callback, None);
    }
    // delays[k] is the delay of timer k + 2 (timer 1 was scheduled at top level).
    let zero = Duration::ZERO;
    assert_eq!(
        delays,
        [zero, zero, zero, zero, zero, ms(4), ms(4), ms(4), ms(4)]
    );
}
