//! Unit tests of the registry on one thread, with a scheduler that queues jobs until told to
//! refuse them (a terminated loop). Races are in `models/tests/registry.rs`; arbitrary operation
//! sequences in the fuzz target `registry_ops`.

use super::{Inbox, MIN_CAPACITY, Registry, SCAVENGE_BATCH};
use crate::promise::{Failure, Job, Promise, Resolver, Scheduler, TrackedRejection, WeakState};
use crate::sync::DynArc;
use alloc::vec::Vec;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};

/// Queues jobs (run with `run`), or refuses them once `terminated`.
#[derive(Default)]
struct Queue {
    jobs: Mutex<Vec<Job>>,
    terminated: AtomicBool,
}

impl Scheduler for Queue {
    fn schedule(&self, job: Job) -> Result<(), Job> {
        if self.terminated.load(SeqCst) {
            return Err(job);
        }
        self.jobs.lock().unwrap().push(job);
        Ok(())
    }
    fn track_rejection(&self, _: TrackedRejection) {}
    fn handled_later(&self, _: TrackedRejection) {}
}

type Pair = (Promise<u32, Failure>, Resolver<u32, Failure>);

fn queue() -> DynArc<Queue> {
    DynArc::new(Queue::default())
}

fn pending(queue: &DynArc<Queue>) -> Pair {
    let scheduler: DynArc<dyn Scheduler> = queue.clone();
    Promise::new(scheduler)
}

/// Settles every pair whose index `keep` rejects; returns the kept resolvers (still pending).
fn keep_pending(pairs: Vec<Pair>, keep: impl Fn(usize) -> bool) -> Vec<Resolver<u32, Failure>> {
    let mut live = Vec::new();
    for (i, (_, r)) in pairs.into_iter().enumerate() {
        if keep(i) {
            live.push(r);
        } else {
            r.resolve(0).unwrap();
        }
    }
    live
}

fn registered(registry: &mut Registry, queue: &DynArc<Queue>, n: usize) -> Vec<Pair> {
    (0..n)
        .map(|_| {
            let pair = pending(queue);
            registry.register(pair.1.downgrade()).unwrap();
            pair
        })
        .collect()
}

#[test]
fn weak_promise_sees_pending_settled_and_dead_and_keeps_nothing_alive() {
    let q = queue();
    let (promise, resolver) = pending(&q);
    let weak = resolver.downgrade();
    assert_eq!(weak.state(), WeakState::Pending);
    resolver.resolve(3).unwrap();
    assert_eq!(weak.state(), WeakState::Settled);
    assert!(
        !weak.reject_terminated(),
        "a settled promise keeps its outcome"
    );
    assert_eq!(promise.outcome(), Some(&Ok(3)));
    drop(promise);
    assert_eq!(weak.state(), WeakState::Dead);
    assert!(!weak.reject_terminated());
}

#[test]
fn reject_terminated_settles_through_the_ordinary_path() {
    let q = queue();
    let (promise, resolver) = pending(&q);
    let derived = promise.then(|v| Ok(v + 1));
    assert!(resolver.downgrade().reject_terminated());
    assert_eq!(promise.outcome(), Some(&Err(Failure::Terminated)));
    assert_eq!(resolver.resolve(1), Err(1), "the resolver lost the race");
    for job in core::mem::take(&mut *q.jobs.lock().unwrap()) {
        job.run();
    }
    assert_eq!(derived.outcome(), Some(&Err(Failure::Terminated)));
}

#[test]
fn scavenge_removes_settled_and_dead_entries_and_keeps_pending_ones() {
    let q = queue();
    let mut registry = Registry::new();
    let (mut alive, mut held) = (Vec::new(), Vec::new());
    for (i, (promise, resolver)) in registered(&mut registry, &q, 10).into_iter().enumerate() {
        match i {
            0..3 => {
                resolver.resolve(0).unwrap();
                alive.push(promise); // settled, a handle alive
            }
            3..6 => resolver.resolve(0).unwrap(), // settled, then dead
            _ => held.push(resolver),             // pending (a dropped resolver would settle it)
        }
    }
    assert_eq!(registry.len(), 10);
    let done = registry.scavenge(SCAVENGE_BATCH);
    // A budget past twice the length is a full pass: `len + removed` examinations.
    assert_eq!((done.examined, done.removed), (16, 6));
    assert_eq!(registry.len(), 4);
    assert_eq!(registry.scavenge(SCAVENGE_BATCH).removed, 0);
}

#[test]
fn a_small_budget_covers_every_entry_within_one_cursor_cycle() {
    let q = queue();
    let mut registry = Registry::new();
    // Settle every third promise: a batch is never mostly garbage, so it stops at its budget.
    let mut kept = Vec::new();
    for (i, (_, resolver)) in registered(&mut registry, &q, 100).into_iter().enumerate() {
        if i % 3 == 0 {
            resolver.resolve(0).unwrap();
        } else {
            kept.push(resolver);
        }
    }
    let mut scavenges = 0;
    while registry.len() > kept.len() {
        let done = registry.scavenge(8);
        assert!(done.examined <= 8.max(2 * done.removed + 1));
        scavenges += 1;
        assert!(
            scavenges <= 100 / 8 + 1,
            "a cycle took {scavenges} scavenges"
        );
    }
    assert_eq!(registry.len(), kept.len());
}

#[test]
fn a_batch_that_is_mostly_garbage_goes_on() {
    let q = queue();
    let mut registry = Registry::new();
    let pairs = registered(&mut registry, &q, 1000);
    for (_, r) in pairs {
        r.resolve(1).unwrap();
    }
    let done = registry.scavenge(SCAVENGE_BATCH);
    assert_eq!((done.examined, done.removed), (1000, 1000));
    assert!(registry.is_empty());
}

#[test]
fn compaction_returns_memory_when_few_entries_are_live() {
    let q = queue();
    let mut registry = Registry::new();
    let pairs = registered(&mut registry, &q, 4096);
    assert!(registry.capacity() >= 4096);
    let live = keep_pending(pairs, |i| i < 10);
    while registry.len() > 10 {
        registry.scavenge(SCAVENGE_BATCH);
    }
    assert_eq!(registry.capacity(), MIN_CAPACITY, "shrunk to the minimum");
    for r in live {
        r.resolve(0).unwrap();
    }
    registry.scavenge(SCAVENGE_BATCH);
    assert!(registry.is_empty());
    assert_eq!(registry.capacity(), MIN_CAPACITY, "never below the minimum");
}

#[test]
fn a_full_registry_that_is_mostly_settled_sweeps_instead_of_growing() {
    let q = queue();
    let mut registry = Registry::new();
    let pairs = registered(&mut registry, &q, MIN_CAPACITY);
    assert_eq!(registry.capacity(), MIN_CAPACITY);
    let mut live = keep_pending(pairs, |i| i % 4 == 0); // a quarter stays pending
    live.extend(registered(&mut registry, &q, 1).into_iter().map(|(_, r)| r));
    assert_eq!(registry.capacity(), MIN_CAPACITY, "swept, not doubled");
    assert_eq!(registry.len(), MIN_CAPACITY / 4 + 1);
    // Mostly pending: it grows (doubles).
    live.extend(
        registered(&mut registry, &q, MIN_CAPACITY)
            .into_iter()
            .map(|(_, r)| r),
    );
    assert_eq!(registry.len(), live.len());
    assert_eq!(registry.capacity(), 2 * MIN_CAPACITY);
}

#[test]
fn close_refuses_registrations_and_reject_all_settles_only_pending_promises() {
    let q = queue();
    let mut registry = Registry::new();
    assert!(registry.is_empty() && !registry.is_closed());
    let mut pairs = registered(&mut registry, &q, 3);
    assert!(!registry.is_empty() && !registry.is_closed());
    let (p2, r2) = pairs.pop().unwrap();
    let (p1, r1) = pairs.pop().unwrap();
    let (p0, r0) = pairs.pop().unwrap();
    r0.resolve(5).unwrap();
    drop(r1); // abandoned: settled before the reject
    q.terminated.store(true, SeqCst);
    assert_eq!(registry.reject_all(), 1);
    assert!(registry.is_closed() && registry.is_empty());
    assert_eq!(p0.outcome(), Some(&Ok(5)));
    assert_eq!(p1.outcome(), Some(&Err(Failure::Abandoned)));
    assert_eq!(p2.outcome(), Some(&Err(Failure::Terminated)));
    assert_eq!(r2.resolve(9), Err(9));
    let (late, late_resolver) = pending(&q);
    let refused = registry.register(late_resolver.downgrade());
    assert!(refused.is_err(), "a closed registry refuses");
    assert!(
        late.is_pending(),
        "the caller rejects a refused promise, not the registry"
    );
    assert!(registry.absorb(Vec::new()).is_err());
}

#[test]
fn inbox_hands_over_under_its_lock_and_rejects_after_close() {
    let q = queue();
    let inbox = Inbox::new();
    let (p, r) = pending(&q);
    assert_eq!(inbox.register(r.downgrade()), 0);
    let mut registry = Registry::new();
    registry.absorb(inbox.take()).unwrap();
    assert_eq!(registry.len(), 1);
    assert!(inbox.take().is_empty(), "the hint was cleared");
    assert!(inbox.close().is_empty());
    let (late, late_resolver) = pending(&q);
    assert_eq!(inbox.register(late_resolver.downgrade()), 1);
    assert_eq!(late.outcome(), Some(&Err(Failure::Terminated)));
    drop((p, r));
}

#[test]
fn a_full_inbox_sweeps_outside_its_lock_instead_of_growing() {
    let q = queue();
    let inbox = Inbox::new();
    let mut kept = Vec::new();
    for i in 0..10_000 {
        let (_, r) = pending(&q);
        assert_eq!(inbox.register(r.downgrade()), 0);
        if i % 100 == 0 {
            kept.push(r);
        } else {
            r.resolve(0).unwrap();
        }
    }
    let entries = inbox.take();
    assert!(
        entries.capacity() <= 4 * MIN_CAPACITY.max(kept.len()),
        "{} entries in a vector of {} for {} pending promises",
        entries.len(),
        entries.capacity(),
        kept.len()
    );
    let pending_entries = entries.iter().filter(|e| e.is_pending()).count();
    assert_eq!(pending_entries, kept.len(), "no pending entry was lost");
}

#[test]
fn a_sweep_that_finds_the_inbox_closed_rejects_what_it_holds() {
    let q = queue();
    let inbox = Inbox::new();
    // Fill to the sweep threshold with pending promises, close, then trigger a sweep by hand:
    // the put-back finds the inbox closed.
    let pairs: Vec<Pair> = (0..MIN_CAPACITY).map(|_| pending(&q)).collect();
    for (_, r) in &pairs {
        inbox.register(r.downgrade());
    }
    let taken = inbox.close();
    let mut back = super::PutBack {
        inbox: &inbox,
        entries: taken,
    };
    back.entries.retain(crate::promise::WeakPromise::is_pending);
    assert_eq!(back.put_back(), MIN_CAPACITY);
    for (p, _) in &pairs {
        assert_eq!(p.outcome(), Some(&Err(Failure::Terminated)));
    }
}

/// Needs the `std` trampoline (`discard_refused`): without `std` refused jobs drop in place.
#[cfg(feature = "std")]
#[test]
fn a_long_chain_rejected_under_a_refusing_scheduler_does_not_recurse() {
    let depth = if cfg!(miri) { 200 } else { 100_000 };
    let q = queue();
    let (head, resolver) = pending(&q);
    let mut tail = head.clone();
    for _ in 0..depth {
        tail = tail.then(|v| Ok(v + 1));
    }
    q.terminated.store(true, SeqCst);
    // On a thread with a small stack: the cascade of refused jobs must run as a loop.
    let weak = resolver.downgrade();
    let cascade = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || weak.reject_terminated())
        .unwrap();
    assert!(cascade.join().unwrap());
    assert_eq!(head.outcome(), Some(&Err(Failure::Terminated)));
    assert_eq!(tail.outcome(), Some(&Err(Failure::Abandoned)));
    drop(resolver);
}

/// The growth rule's boundary: a full registry whose sweep leaves exactly half of it pending
/// does not grow (it grows only when more than half is pending, G4).
#[test]
fn a_full_registry_exactly_half_pending_sweeps_and_keeps_its_capacity() {
    let q = queue();
    let mut registry = Registry::new();
    let pairs = registered(&mut registry, &q, MIN_CAPACITY);
    assert_eq!(registry.capacity(), MIN_CAPACITY);
    let mut live = keep_pending(pairs, |i| i % 2 == 0);
    live.extend(registered(&mut registry, &q, 1).into_iter().map(|(_, r)| r));
    assert_eq!(registry.len(), MIN_CAPACITY / 2 + 1);
    assert_eq!(registry.capacity(), MIN_CAPACITY, "swept, not grown");
}

/// The compaction rule's boundary: a registry with a quarter or more of its capacity live keeps
/// its buffer (shrinking it would copy the entries on every scavenge for nothing).
#[test]
fn compaction_keeps_the_buffer_while_a_quarter_is_live() {
    let q = queue();
    let mut registry = Registry::new();
    let pairs = registered(&mut registry, &q, 4 * MIN_CAPACITY);
    let capacity = registry.capacity();
    assert!(capacity > MIN_CAPACITY);
    let live = keep_pending(pairs, |i| i < capacity / 4);
    while registry.len() > capacity / 4 {
        registry.scavenge(SCAVENGE_BATCH);
    }
    registry.scavenge(SCAVENGE_BATCH);
    assert_eq!(registry.len(), capacity / 4);
    assert_eq!(
        registry.capacity(),
        capacity,
        "a quarter live: not compacted"
    );
    drop(live);
}

/// Compaction leaves room for as many registrations as there are live entries (twice the
/// live count, not just above it), so a registry that keeps its size does not regrow at once.
#[test]
fn compaction_leaves_room_to_double() {
    let q = queue();
    let mut registry = Registry::new();
    let pairs = registered(&mut registry, &q, 16 * MIN_CAPACITY);
    let live_count = 2 * MIN_CAPACITY;
    let live = keep_pending(pairs, |i| i < live_count);
    while registry.len() > live_count {
        registry.scavenge(SCAVENGE_BATCH);
    }
    registry.scavenge(SCAVENGE_BATCH);
    assert_eq!(registry.len(), live_count);
    assert!(
        registry.capacity() >= 2 * live_count && registry.capacity() <= 4 * live_count + 3,
        "capacity {} for {live_count} live entries",
        registry.capacity()
    );
    drop(live);
}

/// An inbox sweeps only when its vector is full past `MIN_CAPACITY`: below that, settled
/// entries wait for the owner's `take` (sweeping every push would make registration O(n)).
#[test]
fn an_inbox_below_its_minimum_capacity_never_sweeps() {
    let q = queue();
    let inbox = Inbox::new();
    let mut kept = Vec::new();
    for i in 0..MIN_CAPACITY {
        let (_, r) = pending(&q);
        assert_eq!(inbox.register(r.downgrade()), 0);
        if i % 2 == 0 {
            kept.push(r);
        } else {
            r.resolve(0).unwrap();
        }
    }
    assert_eq!(inbox.take().len(), MIN_CAPACITY, "nothing swept yet");
    drop(kept);
}
