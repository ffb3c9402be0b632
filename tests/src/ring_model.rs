//! A single-threaded differential check of the microtask ring against a `VecDeque`.
//!
//! [`check`] runs a list of [`Op`]s on a fresh ring and on the reference at the same time and
//! panics (naming the step and the operation) at the first result that differs. The proptest
//! in `tests/tests/ring_proptest.rs` and the fuzz body [`crate::ring_fuzz::ring_push_pop`] both
//! drive this one interpreter; they differ only in how they generate the operations.
//!
//! What is compared, after every operation (single-threaded, so every answer is exact):
//!
//! - every popped value, and the kind of every `try_pop` error: `Empty` while open, `Closed`
//!   once closed and drained, never `Pending` (nothing is ever half-pushed here);
//! - a push after close hands back the very value it was given;
//! - `close` returns `true` only for the first call, and `is_closed` agrees on both halves;
//! - `len()` equals the reference's length; `is_empty()` agrees with it exactly
//!   (single-threaded it is exact);
//! - how many values are alive (not yet dropped) equals the reference's length: nothing is
//!   duplicated, leaked or dropped early;
//! - whenever a pop leaves the queue empty, `overflow_allocation() <= 2 * OVERFLOW_RESERVE`.
//!
//! At the end the scenario either drains the ring or drops its halves with values still inside,
//! and checks that every value was dropped exactly once.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use eventloop_core::ring::{self, Consumer, OVERFLOW_RESERVE, PopError, Producer, PushError};

/// The ring capacities the checks use: small, so that bursts spill into the overflow.
pub const CAPACITIES: [usize; 4] = [2, 4, 8, 16];

/// Longest operation list the fuzz decoder builds (keeps one input fast).
pub const MAX_OPS: usize = 512;

/// Largest burst of [`Op::PushMany`]: enough to grow the overflow well past
/// [`OVERFLOW_RESERVE`], so that its shrinking after a drain is exercised.
pub const MAX_BURST: u16 = 4 * OVERFLOW_RESERVE as u16;

/// One step of a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Push this value.
    Push(u16),
    /// One `try_pop`.
    Pop,
    /// Push this many fresh values in a row (values distinct from every [`Op::Push`] value).
    PushMany(u16),
    /// This many `try_pop`s in a row.
    PopMany(u16),
    /// `try_pop` until it reports an error.
    Drain,
    /// Close the ring through the consumer (`true`) or a producer (`false`).
    Close {
        /// Which half calls `close`.
        by_consumer: bool,
    },
}

/// How a scenario ends, after its operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Pop everything, then check the final error kind and the overflow allocation.
    Drain,
    /// Drop the consumer (which closes the ring), check a push is refused, drop the producer.
    DropConsumerFirst,
    /// Drop the producers, then the consumer with whatever is still queued.
    DropProducerFirst,
}

/// A whole scenario: the ring capacity, the operations, how it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// Ring capacity, one of [`CAPACITIES`].
    pub capacity: usize,
    /// The operations, in order.
    pub ops: Vec<Op>,
    /// What happens after the operations.
    pub ending: Ending,
}

/// A value in the ring that counts itself alive until it is dropped.
struct Tracked {
    value: u32,
    live: Arc<AtomicUsize>,
}

impl Tracked {
    fn new(value: u32, live: &Arc<AtomicUsize>) -> Self {
        live.fetch_add(1, SeqCst);
        Self {
            value,
            live: Arc::clone(live),
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        let before = self.live.fetch_sub(1, SeqCst);
        assert!(
            before > 0,
            "value {} dropped more often than it was created",
            self.value
        );
    }
}

impl fmt::Debug for Tracked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.value)
    }
}

/// The ring under test and its reference, side by side.
struct Harness {
    producer: Producer<Tracked>,
    /// A second producer handle: pushes alternate between the two (they share one queue).
    other_producer: Producer<Tracked>,
    consumer: Consumer<Tracked>,
    reference: VecDeque<u32>,
    closed: bool,
    live: Arc<AtomicUsize>,
    /// Source of the values of [`Op::PushMany`]; starts above every `u16`.
    next_fresh: u32,
    pushes: usize,
    /// Step being run, for failure messages.
    step: usize,
    op: Option<Op>,
}

impl Harness {
    fn new(capacity: usize) -> Self {
        let (producer, consumer) = match ring::with_capacity(capacity) {
            Ok(halves) => halves,
            Err(err) => panic!("capacity {capacity} rejected: {err}"),
        };
        assert_eq!(
            (producer.capacity(), consumer.capacity()),
            (capacity, capacity)
        );
        Self {
            other_producer: producer.clone(),
            producer,
            consumer,
            reference: VecDeque::new(),
            closed: false,
            live: Arc::new(AtomicUsize::new(0)),
            next_fresh: 1 << 16,
            pushes: 0,
            step: 0,
            op: None,
        }
    }

    fn context(&self) -> String {
        let at = match self.op {
            Some(op) => format!("step {} ({op:?})", self.step),
            None => format!("the ending, after {} steps", self.step),
        };
        let front: Vec<u32> = self.reference.iter().copied().take(8).collect();
        format!(
            "at {at}, capacity {}, closed {}, reference holds {} values, front {front:?}",
            self.consumer.capacity(),
            self.closed,
            self.reference.len()
        )
    }

    fn push(&mut self, value: u32) {
        let tracked = Tracked::new(value, &self.live);
        // Alternate handles: every producer handle pushes to the same queue.
        self.pushes += 1;
        let handle = if self.pushes % 2 == 0 {
            &self.other_producer
        } else {
            &self.producer
        };
        match handle.push(tracked) {
            Ok(()) => {
                assert!(
                    !self.closed,
                    "push of {value} accepted after close; {}",
                    self.context()
                );
                self.reference.push_back(value);
            }
            Err(PushError(back)) => {
                assert!(
                    self.closed,
                    "push of {value} refused while open; {}",
                    self.context()
                );
                assert_eq!(
                    back.value,
                    value,
                    "push after close handed back another value; {}",
                    self.context()
                );
            }
        }
    }

    fn pop(&mut self) -> Result<(), PopError> {
        let got = self.consumer.try_pop();
        let want = match self.reference.pop_front() {
            Some(value) => Ok(value),
            None if self.closed => Err(PopError::Closed),
            None => Err(PopError::Empty),
        };
        let got_value = got.as_ref().map(|t| t.value).map_err(|e| *e);
        assert_eq!(
            got_value,
            want,
            "try_pop disagrees with the reference; {}",
            self.context()
        );
        drop(got);
        if self.reference.is_empty() {
            let allocation = self.consumer.overflow_allocation();
            assert!(
                allocation <= 2 * OVERFLOW_RESERVE,
                "drained, yet {allocation} overflow slots are kept (limit {}); {}",
                2 * OVERFLOW_RESERVE,
                self.context()
            );
        }
        want.map(drop)
    }

    fn close(&mut self, by_consumer: bool) {
        let first = if by_consumer {
            self.consumer.close()
        } else {
            self.producer.close()
        };
        assert_eq!(
            first,
            !self.closed,
            "close() return value; {}",
            self.context()
        );
        self.closed = true;
    }

    fn apply(&mut self, op: Op) {
        self.op = Some(op);
        match op {
            Op::Push(value) => self.push(u32::from(value)),
            Op::Pop => {
                let _ = self.pop();
            }
            Op::PushMany(n) => {
                for _ in 0..n {
                    let value = self.next_fresh;
                    self.next_fresh += 1;
                    self.push(value);
                }
            }
            Op::PopMany(n) => {
                for _ in 0..n {
                    let _ = self.pop();
                }
            }
            Op::Drain => while self.pop().is_ok() {},
            Op::Close { by_consumer } => self.close(by_consumer),
        }
        self.check_observers();
        self.step += 1;
    }

    /// The read-only queries, compared after every operation.
    fn check_observers(&self) {
        let len = self.consumer.len();
        assert_eq!(len, self.reference.len(), "len(); {}", self.context());
        // Single-threaded, `is_empty()` is exact in both directions (a consumer that trusted a
        // false "empty" would sleep on work; a false "non-empty" would spin).
        assert_eq!(
            self.consumer.is_empty(),
            self.reference.is_empty(),
            "is_empty(); {}",
            self.context()
        );
        assert_eq!(
            self.producer.is_closed(),
            self.closed,
            "Producer::is_closed(); {}",
            self.context()
        );
        assert_eq!(
            self.consumer.is_closed(),
            self.closed,
            "Consumer::is_closed(); {}",
            self.context()
        );
        assert_eq!(
            self.live.load(SeqCst),
            self.reference.len(),
            "values alive; {}",
            self.context()
        );
    }

    fn finish(mut self, ending: Ending) {
        self.op = None;
        let live = Arc::clone(&self.live);
        match ending {
            Ending::Drain => {
                while self.pop().is_ok() {}
                let want = if self.closed {
                    PopError::Closed
                } else {
                    PopError::Empty
                };
                assert_eq!(
                    self.consumer.try_pop().map(|t| t.value),
                    Err(want),
                    "after drain; {}",
                    self.context()
                );
                assert!(
                    self.consumer.is_empty(),
                    "is_empty() after a drain; {}",
                    self.context()
                );
                self.check_observers();
            }
            Ending::DropConsumerFirst => {
                let Self {
                    producer,
                    other_producer,
                    consumer,
                    reference,
                    ..
                } = self;
                assert_eq!(live.load(SeqCst), reference.len());
                // Values the consumer already took out of the overflow (its stash) go with it;
                // the rest stay with the shared ring until the last producer is dropped.
                drop(consumer);
                assert!(live.load(SeqCst) <= reference.len());
                assert!(
                    producer.is_closed(),
                    "dropping the consumer did not close the ring"
                );
                let refused = producer.push(Tracked::new(7, &live));
                assert!(
                    matches!(&refused, Err(PushError(t)) if t.value == 7),
                    "push after consumer drop"
                );
                drop(refused);
                drop((producer, other_producer));
            }
            Ending::DropProducerFirst => {
                let Self {
                    producer,
                    other_producer,
                    consumer,
                    ..
                } = self;
                drop((producer, other_producer));
                drop(consumer);
            }
        }
        assert_eq!(
            live.load(SeqCst),
            0,
            "values left undropped or dropped twice at the end ({ending:?})"
        );
    }
}

/// Runs `scenario` on a fresh ring and on a `VecDeque`, panicking at the first difference.
///
/// # Panics
/// On any disagreement between the ring and the reference (the message names the step), or if
/// the capacity is rejected.
pub fn check(scenario: &Scenario) {
    let mut harness = Harness::new(scenario.capacity);
    harness.check_observers();
    for &op in &scenario.ops {
        harness.apply(op);
    }
    harness.finish(scenario.ending);
}
