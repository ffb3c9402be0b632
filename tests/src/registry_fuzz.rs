//! A differential check of the promise registry (`eventloop_core::registry::Registry`) against
//! a simple reference, shared by the fuzz target `registry_ops` (through [`registry_ops`]) and
//! the corpus replay in `tests/tests/registry_fuzz_corpus.rs`.
//!
//! The harness owns a registry and promises on a scheduler that queues jobs (run by
//! [`Op::Tick`]) until it is terminated ([`Op::Shutdown`]: it refuses jobs from then on, and the
//! registry's reject-all runs). The reference knows, for every promise, whether it is
//! registered and how it settled (the first of: resolve, reject, resolver dropped, reject-all).
//! Checked after every step:
//!
//! - every promise still held reports the reference's outcome (`None` while pending), and a
//!   settle through its resolver succeeds exactly when the reference says it is unsettled;
//! - no pending registered promise is ever removed: `len ≥ pending`;
//! - `register` on a full vector past `MIN_CAPACITY` sweeps (afterwards `len = pending + 1`) and
//!   grows exactly when more than half of it is pending; otherwise it is one push;
//! - `scavenge(budget)` removes only settled or dead entries, examines at most
//!   `max(budget, 2 · removed + 1)` and at most `len + removed` entries, and leaves
//!   `capacity ≤ max(MIN_CAPACITY, 4 · len + 3)` (compaction); a call whose budget is at least
//!   twice the length leaves exactly the pending entries, and so do repeated small scavenges
//!   ([`Op::Cycle`]) once they examined `len + removed` entries in all, from any cursor
//!   position (a full cursor cycle); `sweep` likewise;
//! - the reject-all settles exactly the pending registered promises (with `Terminated`); later
//!   registrations are refused;
//! - every reaction runs at most once, with its source's outcome, and is dropped exactly once
//!   by the end (after the harness drops everything).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};

use arbitrary::{Arbitrary, Unstructured};
use eventloop_core::promise::{Failure, Job, Promise, Resolver, Scheduler, TrackedRejection};
use eventloop_core::registry::{MIN_CAPACITY, Registry, Scavenged};

/// Longest operation list the fuzz decoder builds (keeps one input fast).
pub const MAX_OPS: usize = 1024;

/// One step of a scenario. Indices pick a promise modulo the number created so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Create a promise; register it unless `register` is false (a promise the loop does not
    /// own).
    Create {
        /// Register it.
        register: bool,
    },
    /// Create this many registered promises at once (bursts fill the vector).
    Burst(u8),
    /// Resolve promise `i` through its resolver (if still held).
    Resolve(u8),
    /// Reject promise `i` through its resolver (if still held).
    Reject(u8),
    /// Drop the resolver of promise `i` (it rejects as abandoned if pending).
    DropResolver(u8),
    /// Drop the promise handle of promise `i` (with its resolver gone too, it is dead).
    DropPromise(u8),
    /// Register a reaction on promise `i` (if its handle is held).
    React(u8),
    /// One `scavenge(budget)`.
    Scavenge(u8),
    /// Repeated `scavenge(budget)` until a full cursor cycle is certain, then the exact check.
    Cycle(u8),
    /// A full `sweep`.
    Sweep,
    /// Run the jobs the scheduler queued (reactions).
    Tick,
    /// Terminate the scheduler and run the registry's reject-all.
    Shutdown,
}

/// A list of operations; the harness ends with a shutdown, a tick and dropping everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// The operations, in order.
    pub ops: Vec<Op>,
}

/// Queues jobs, or refuses them once terminated (a loop that terminated).
#[derive(Default)]
struct Queue {
    jobs: Mutex<VecDeque<Job>>,
    terminated: AtomicBool,
}

impl Scheduler for Queue {
    fn schedule(&self, job: Job) -> Result<(), Job> {
        if self.terminated.load(SeqCst) {
            return Err(job);
        }
        self.jobs.lock().unwrap().push_back(job);
        Ok(())
    }
    fn track_rejection(&self, _: TrackedRejection) {}
    fn handled_later(&self, _: TrackedRejection) {}
}

/// Runs and drops of one reaction, and the outcome it saw.
#[derive(Default)]
struct ReactionLedger {
    ran: AtomicUsize,
    dropped: AtomicUsize,
    seen: Mutex<Option<Result<u32, Failure>>>,
}

struct DropWitness(Arc<ReactionLedger>);

impl Drop for DropWitness {
    fn drop(&mut self) {
        self.0.dropped.fetch_add(1, SeqCst);
    }
}

/// One promise and what the reference knows about it.
struct Slot {
    promise: Option<Promise<u32, Failure>>,
    resolver: Option<Resolver<u32, Failure>>,
    registered: bool,
    /// How it settled (reference), `None` while pending.
    outcome: Option<Result<u32, Failure>>,
    reactions: Vec<Arc<ReactionLedger>>,
}

struct Harness {
    queue: Arc<Queue>,
    registry: Registry,
    slots: Vec<Slot>,
    shut_down: bool,
    next_value: u32,
}

impl Harness {
    fn new() -> Self {
        Self {
            queue: Arc::new(Queue::default()),
            registry: Registry::new(),
            slots: Vec::new(),
            shut_down: false,
            next_value: 0,
        }
    }

    fn pending_registered(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| s.registered && s.outcome.is_none())
            .count()
    }

    fn pick(&mut self, i: u8) -> Option<&mut Slot> {
        if self.slots.is_empty() {
            return None;
        }
        let n = self.slots.len();
        Some(&mut self.slots[usize::from(i) % n])
    }

    fn create(&mut self, register: bool) {
        let scheduler: Arc<dyn Scheduler> = self.queue.clone();
        let (promise, resolver) = Promise::<u32, Failure>::new(scheduler);
        let mut slot = Slot {
            promise: Some(promise),
            resolver: None,
            registered: false,
            outcome: None,
            reactions: Vec::new(),
        };
        if register {
            let (len, capacity) = (self.registry.len(), self.registry.capacity());
            let pending = self.pending_registered();
            let result = self.registry.register(resolver.downgrade());
            if self.shut_down {
                assert!(result.is_err(), "a closed registry refuses");
                // The owner rejects a refused promise at once (the driver does).
                assert!(result.unwrap_err().reject_terminated());
                slot.outcome = Some(Err(Failure::Terminated));
            } else {
                assert!(result.is_ok());
                slot.registered = true;
                let (len_after, capacity_after) = (self.registry.len(), self.registry.capacity());
                if len == capacity && capacity >= MIN_CAPACITY {
                    assert_eq!(len_after, pending + 1, "a full registry sweeps first");
                    let grew = capacity_after > capacity;
                    assert_eq!(
                        grew,
                        pending > capacity / 2,
                        "grows iff more than half is pending ({pending} of {capacity})"
                    );
                } else {
                    assert_eq!(len_after, len + 1, "otherwise a push");
                }
            }
        }
        slot.resolver = Some(resolver);
        self.slots.push(slot);
    }

    fn settle(&mut self, i: u8, outcome: Result<u32, Failure>) {
        let Some(slot) = self.pick(i) else { return };
        let Some(resolver) = slot.resolver.take() else {
            return;
        };
        let result = resolver.settle(outcome.clone());
        if slot.outcome.is_none() {
            assert!(result.is_ok(), "an unsettled promise takes the outcome");
            slot.outcome = Some(outcome);
        } else {
            assert_eq!(result, Err(outcome), "a settled promise hands it back");
        }
    }

    fn apply(&mut self, op: Op) {
        match op {
            Op::Create { register } => self.create(register),
            Op::Burst(n) => {
                for _ in 0..n {
                    self.create(true);
                }
            }
            Op::Resolve(i) => {
                self.next_value += 1;
                let value = self.next_value;
                self.settle(i, Ok(value));
            }
            Op::Reject(i) => self.settle(i, Err(Failure::Cycle)),
            Op::DropResolver(i) => {
                if let Some(slot) = self.pick(i) {
                    if slot.resolver.take().is_some() {
                        slot.outcome.get_or_insert(Err(Failure::Abandoned));
                    }
                }
            }
            Op::DropPromise(i) => {
                if let Some(slot) = self.pick(i) {
                    slot.promise = None;
                }
            }
            Op::React(i) => {
                let Some(slot) = self.pick(i) else { return };
                if let Some(promise) = &slot.promise {
                    let ledger = Arc::new(ReactionLedger::default());
                    let witness = DropWitness(Arc::clone(&ledger));
                    let _ = promise.react(move |outcome: &Result<u32, Failure>| {
                        let ledger = &witness.0;
                        ledger.ran.fetch_add(1, SeqCst);
                        *ledger.seen.lock().unwrap() = Some(outcome.clone());
                        eventloop_core::promise::Resolution::Settle(Ok::<(), Failure>(()))
                    });
                    slot.reactions.push(ledger);
                }
            }
            Op::Scavenge(budget) => {
                self.scavenge(usize::from(budget));
            }
            Op::Cycle(budget) => {
                // From wherever the cursor is, `len + removed` examinations cover every entry
                // present at the start (a removal may move an examined entry into the hole).
                let budget = usize::from(budget).max(1);
                let len = self.registry.len();
                let (mut examined, mut removed) = (0, 0);
                while examined < len + removed {
                    let done = self.scavenge(budget);
                    examined += done.examined;
                    removed += done.removed;
                    if done.examined == 0 {
                        break;
                    }
                }
                assert_eq!(
                    self.registry.len(),
                    self.pending_registered(),
                    "a cursor cycle removes every settled entry"
                );
            }
            Op::Sweep => {
                let len = self.registry.len();
                let removed = self.registry.sweep();
                assert_eq!(removed, len - self.pending_registered());
                assert_eq!(self.registry.len(), self.pending_registered());
            }
            Op::Tick => loop {
                let job = self.queue.jobs.lock().unwrap().pop_front();
                let Some(job) = job else { break };
                job.run();
            },
            Op::Shutdown => {
                if self.shut_down {
                    return;
                }
                self.shut_down = true;
                self.queue.terminated.store(true, SeqCst);
                let pending = self.pending_registered();
                let rejected = self.registry.reject_all();
                assert_eq!(
                    rejected, pending,
                    "reject-all settles exactly the pending ones"
                );
                assert!(self.registry.is_closed() && self.registry.is_empty());
                for slot in &mut self.slots {
                    if slot.registered && slot.outcome.is_none() {
                        slot.outcome = Some(Err(Failure::Terminated));
                    }
                }
            }
        }
    }

    fn scavenge(&mut self, budget: usize) -> Scavenged {
        let len = self.registry.len();
        let pending = self.pending_registered();
        let done = self.registry.scavenge(budget);
        assert_eq!(self.registry.len(), len - done.removed);
        assert!(
            self.registry.len() >= pending,
            "a pending entry was removed"
        );
        assert!(
            done.examined <= budget.max(2 * done.removed + 1),
            "examined {} with budget {budget}, removed {}",
            done.examined,
            done.removed
        );
        assert!(done.examined <= len + done.removed);
        assert!(
            done.examined == len + done.removed
                || self.registry.is_empty()
                || (done.examined >= budget && 2 * done.removed <= done.examined),
            "stopped early: examined {} with budget {budget}, removed {}",
            done.examined,
            done.removed
        );
        if budget >= 2 * len {
            assert_eq!(self.registry.len(), pending, "a full pass");
        }
        let (len, capacity) = (self.registry.len(), self.registry.capacity());
        assert!(
            capacity <= MIN_CAPACITY.max(4 * len + 3),
            "not compacted: {len} entries in {capacity}"
        );
        done
    }

    fn compare(&self) {
        assert!(self.registry.len() >= self.pending_registered());
        for slot in &self.slots {
            if let Some(promise) = &slot.promise {
                assert_eq!(promise.outcome(), slot.outcome.as_ref(), "outcome differs");
            }
            for ledger in &slot.reactions {
                let ran = ledger.ran.load(SeqCst);
                assert!(ran <= 1, "a reaction ran {ran} times");
                if ran == 1 {
                    assert_eq!(
                        ledger.seen.lock().unwrap().as_ref(),
                        slot.outcome.as_ref(),
                        "a reaction saw another outcome"
                    );
                }
            }
        }
    }

    fn finish(mut self) {
        self.apply(Op::Shutdown);
        self.apply(Op::Tick);
        self.compare();
        for slot in &self.slots {
            assert!(slot.outcome.is_some(), "every promise settled by the end");
        }
        let ledgers: Vec<Arc<ReactionLedger>> = self
            .slots
            .iter()
            .flat_map(|s| s.reactions.iter().cloned())
            .collect();
        drop(self);
        for ledger in ledgers {
            assert_eq!(
                ledger.dropped.load(SeqCst),
                1,
                "a reaction was not dropped once"
            );
        }
    }
}

/// Runs `scenario` (see the module docs), panicking at the first difference with the step.
pub fn check(scenario: &Scenario) {
    let mut harness = Harness::new();
    for (step, &op) in scenario.ops.iter().enumerate() {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            harness.apply(op);
            harness.compare();
        }));
        if let Err(panic) = result {
            eprintln!("registry scenario failed at step {step}: {op:?}");
            std::panic::resume_unwind(panic);
        }
    }
    // Unregistered promises may be pending at the end: their resolvers settle them on drop.
    for slot in &mut harness.slots {
        if slot.outcome.is_none() && !slot.registered {
            slot.resolver = None;
            slot.outcome = Some(Err(Failure::Abandoned));
        }
    }
    harness.finish();
}

/// The fuzz body: decodes a [`Scenario`] from `data` and checks it.
pub fn registry_ops(data: &[u8]) {
    let mut u = Unstructured::new(data);
    if let Ok(scenario) = Scenario::arbitrary(&mut u) {
        check(&scenario);
    }
}

impl<'a> Arbitrary<'a> for Scenario {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let mut ops = Vec::new();
        while !u.is_empty() && ops.len() < MAX_OPS {
            ops.push(decode_op(u)?);
        }
        Ok(Self { ops })
    }
}

fn decode_op(u: &mut Unstructured<'_>) -> arbitrary::Result<Op> {
    Ok(match u.int_in_range(0u8..=31)? {
        0..=6 => Op::Create { register: true },
        7 => Op::Create { register: false },
        8 => Op::Burst(u.int_in_range(1..=160)?),
        9..=11 => Op::Resolve(u8::arbitrary(u)?),
        12 | 13 => Op::Reject(u8::arbitrary(u)?),
        14..=16 => Op::DropResolver(u8::arbitrary(u)?),
        17..=19 => Op::DropPromise(u8::arbitrary(u)?),
        20..=22 => Op::React(u8::arbitrary(u)?),
        23..=25 => Op::Scavenge(u.int_in_range(0..=40)?),
        26 => Op::Cycle(u.int_in_range(1..=40)?),
        27 => Op::Sweep,
        28..=30 => Op::Tick,
        _ => Op::Shutdown,
    })
}

/// Fixed scenarios: bursts past the sweep threshold with every mix of pending and settled,
/// small and large scavenges, reactions before and after shutdown, registrations after it.
pub fn sample_scenarios() -> Vec<Scenario> {
    let mut scenarios = Vec::new();
    // A burst of 200, most of it settled, then scavenges of every size.
    let mut ops = vec![Op::Burst(200)];
    ops.extend((0..200u8).filter(|i| i % 5 != 0).map(Op::Resolve));
    ops.extend([Op::Scavenge(1), Op::Scavenge(32), Op::Cycle(7), Op::Sweep]);
    scenarios.push(Scenario { ops });
    // Full at 64 with a third pending (sweep, no growth), then with all pending (growth).
    let mut ops = vec![Op::Burst(64)];
    ops.extend((0..64u8).filter(|i| i % 3 != 0).map(Op::DropResolver));
    ops.push(Op::Burst(100));
    ops.push(Op::Burst(100));
    scenarios.push(Scenario { ops });
    // Full at 64 with just over half pending: it grows.
    let mut ops = vec![Op::Burst(64)];
    ops.extend((0..31u8).map(Op::Resolve));
    ops.push(Op::Burst(1));
    scenarios.push(Scenario { ops });
    // Reactions, settled and pending, dead entries, shutdown, registrations after it.
    scenarios.push(Scenario {
        ops: vec![
            Op::Create { register: true },
            Op::Create { register: true },
            Op::Create { register: false },
            Op::React(0),
            Op::React(1),
            Op::React(2),
            Op::Resolve(0),
            Op::DropPromise(0),
            Op::Tick,
            Op::Scavenge(32),
            Op::Shutdown,
            Op::Create { register: true },
            Op::React(3),
            Op::Resolve(1),
            Op::Tick,
        ],
    });
    scenarios
}
