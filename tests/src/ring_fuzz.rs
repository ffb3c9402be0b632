//! Fuzz bodies for the microtask ring: `fuzz/fuzz_targets/*` call these, and
//! `tests/tests/fuzz_corpus.rs` replays the committed corpus through them.
//!
//! - [`ring_push_pop`] decodes a [`Scenario`] and runs the single-threaded differential check
//!   of [`crate::ring_model`].
//! - [`ring_push_pop_threads`] decodes a [`ThreadPlan`] and runs it on real threads: 2–4
//!   producers push `(producer, seq)` pairs while the consumer pops; then per-producer FIFO,
//!   conservation (every accepted value popped exactly once) and the close contract are checked.
//!
//! Inputs are decoded with [`arbitrary::Unstructured`]; an input too short for a field reads as
//! the smallest value, so every byte string is a valid (possibly trivial) case.

use std::sync::Barrier;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::thread;

use arbitrary::{Arbitrary, Unstructured};
use eventloop_core::ring::{self, OVERFLOW_RESERVE, PopError, PushError};

use crate::ring_model::{CAPACITIES, Ending, MAX_BURST, MAX_OPS, Op, Scenario};

/// Fuzz body: a single-threaded operation sequence, checked against a `VecDeque`.
///
/// # Panics
/// When the ring disagrees with the reference (see [`crate::ring_model::check`]).
pub fn ring_push_pop(data: &[u8]) {
    let mut u = Unstructured::new(data);
    if let Ok(scenario) = Scenario::arbitrary(&mut u) {
        crate::ring_model::check(&scenario);
    }
}

/// Fuzz body: real producer threads against the consumer (see [`ThreadPlan`]).
///
/// # Panics
/// When FIFO per producer, conservation or the close contract is broken.
pub fn ring_push_pop_threads(data: &[u8]) {
    let mut u = Unstructured::new(data);
    if let Ok(plan) = ThreadPlan::arbitrary(&mut u) {
        run_threads(&plan);
    }
}

impl<'a> Arbitrary<'a> for Scenario {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let capacity = *u.choose(&CAPACITIES)?;
        let ending = *u.choose(&[
            Ending::Drain,
            Ending::DropConsumerFirst,
            Ending::DropProducerFirst,
        ])?;
        let mut ops = Vec::new();
        while !u.is_empty() && ops.len() < MAX_OPS {
            ops.push(decode_op(u, capacity)?);
        }
        Ok(Self {
            capacity,
            ops,
            ending,
        })
    }
}

/// One operation, weighted towards pushes and pops; bursts are mostly up to 3 × capacity (so
/// they spill), sometimes up to [`MAX_BURST`]; closing is rare so that most of a long input
/// runs on an open ring.
fn decode_op(u: &mut Unstructured<'_>, capacity: usize) -> arbitrary::Result<Op> {
    let small_burst = u16::try_from(3 * capacity).unwrap_or(u16::MAX);
    Ok(match u.int_in_range(0u8..=31)? {
        0..=9 => Op::Push(u16::arbitrary(u)?),
        10..=19 => Op::Pop,
        20..=23 => Op::PushMany(u.int_in_range(0..=small_burst)?),
        24 => Op::PushMany(u.int_in_range(0..=MAX_BURST)?),
        25..=28 => Op::PopMany(u.int_in_range(0..=small_burst + 2)?),
        29 | 30 => Op::Drain,
        _ => Op::Close {
            by_consumer: bool::arbitrary(u)?,
        },
    })
}

/// Most pushes one producer makes in [`ring_push_pop_threads`].
pub const MAX_PUSHES_PER_PRODUCER: u16 = 200;

/// Who closes the ring midway in a [`ThreadPlan`], and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closer {
    /// The consumer, right after it has popped this many values.
    Consumer {
        /// Values popped before the close.
        after_pops: u16,
    },
    /// A producer, right before its push number `before_push` (0-based).
    Producer {
        /// Index of the closing producer.
        id: usize,
        /// Pushes it makes before closing.
        before_push: u16,
    },
}

/// A threaded scenario: ring capacity, each producer's push count and pacing, an optional close.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadPlan {
    /// Ring capacity, one of [`CAPACITIES`].
    pub capacity: usize,
    /// For each producer (2–4 of them): how many values it pushes, and how often it yields
    /// (every `n`-th push, `0` = never), which varies the interleavings.
    pub producers: Vec<(u16, u8)>,
    /// The consumer yields every `n`-th pop (`0` = never), letting the producers run ahead and
    /// spill into the overflow.
    pub consumer_yield_every: u8,
    /// An optional close in the middle of the run.
    pub closer: Option<Closer>,
}

impl<'a> Arbitrary<'a> for ThreadPlan {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let capacity = *u.choose(&CAPACITIES)?;
        let count = u.int_in_range(2usize..=4)?;
        let mut producers = Vec::with_capacity(count);
        for _ in 0..count {
            producers.push((
                u.int_in_range(0..=MAX_PUSHES_PER_PRODUCER)?,
                u.int_in_range(0..=16)?,
            ));
        }
        let consumer_yield_every = u.int_in_range(0..=16)?;
        let closer = match u.int_in_range(0u8..=3)? {
            0 => Some(Closer::Consumer {
                after_pops: u.int_in_range(0..=MAX_PUSHES_PER_PRODUCER * 4)?,
            }),
            1 => Some(Closer::Producer {
                id: u.int_in_range(0..=count - 1)?,
                before_push: u.int_in_range(0..=MAX_PUSHES_PER_PRODUCER)?,
            }),
            _ => None,
        };
        Ok(Self {
            capacity,
            producers,
            consumer_yield_every,
            closer,
        })
    }
}

/// What one producer thread saw.
#[derive(Debug)]
struct ProducerReport {
    /// Pushes accepted: they must be exactly seqs `0..accepted`, since a close is permanent.
    accepted: u32,
    /// Pushes refused and handed back (each checked to be the value given).
    refused: u32,
}

/// Runs `plan` on real threads and checks per-producer FIFO, conservation and the close
/// contract.
///
/// # Panics
/// On any broken property; the message names the plan.
pub fn run_threads(plan: &ThreadPlan) {
    let (producer, mut consumer) = match ring::with_capacity::<(usize, u32)>(plan.capacity) {
        Ok(halves) => halves,
        Err(err) => panic!("capacity rejected: {err}; {plan:?}"),
    };
    let producers = plan.producers.len();
    let finished = AtomicUsize::new(0);
    let start = Barrier::new(producers + 1);
    // Per producer, the seqs in the order they were popped.
    let mut popped: Vec<Vec<u32>> = vec![Vec::new(); producers];
    let mut closed_by_consumer = false;

    let reports: Vec<ProducerReport> = thread::scope(|scope| {
        let handles: Vec<_> = plan
            .producers
            .iter()
            .enumerate()
            .map(|(id, &(count, yield_every))| {
                let producer = producer.clone();
                let (finished, start) = (&finished, &start);
                let close_at = match plan.closer {
                    Some(Closer::Producer {
                        id: closer,
                        before_push,
                    }) if closer == id => Some(before_push),
                    _ => None,
                };
                scope.spawn(move || {
                    let mut report = ProducerReport {
                        accepted: 0,
                        refused: 0,
                    };
                    start.wait();
                    for seq in 0..count {
                        if close_at == Some(seq) {
                            producer.close();
                        }
                        if yield_every != 0 && seq % u16::from(yield_every) == 0 {
                            thread::yield_now();
                        }
                        match producer.push((id, u32::from(seq))) {
                            Ok(()) => {
                                assert_eq!(
                                    report.refused, 0,
                                    "producer {id}: push {seq} accepted after a refusal"
                                );
                                report.accepted += 1;
                            }
                            Err(PushError(back)) => {
                                assert_eq!(
                                    back,
                                    (id, u32::from(seq)),
                                    "producer {id}: refused push handed back another value"
                                );
                                assert!(
                                    producer.is_closed(),
                                    "producer {id}: push {seq} refused on an open ring"
                                );
                                report.refused += 1;
                            }
                        }
                    }
                    finished.fetch_add(1, SeqCst);
                    report
                })
            })
            .collect();

        start.wait();
        if let Some(Closer::Consumer { after_pops: 0 }) = plan.closer {
            consumer.close();
            closed_by_consumer = true;
        }
        let mut total = 0usize;
        loop {
            // Read before the pop: if every producer had finished, an `Empty` means drained.
            let all_done = finished.load(SeqCst) == producers;
            match consumer.try_pop() {
                Ok((id, seq)) => {
                    assert!(
                        id < producers,
                        "popped a value of unknown producer {id}; {plan:?}"
                    );
                    popped[id].push(seq);
                    total += 1;
                    if let Some(Closer::Consumer { after_pops }) = plan.closer {
                        if total == usize::from(after_pops) {
                            consumer.close();
                            closed_by_consumer = true;
                        }
                    }
                    let every = usize::from(plan.consumer_yield_every);
                    if every != 0 && total % every == 0 {
                        thread::yield_now();
                    }
                }
                Err(PopError::Closed) => {
                    assert!(consumer.is_closed(), "Closed from an open ring; {plan:?}");
                    break;
                }
                Err(PopError::Empty) if all_done => break,
                Err(PopError::Pending) if all_done => {
                    panic!("Pending after every producer finished; {plan:?}")
                }
                Err(PopError::Empty | PopError::Pending) => thread::yield_now(),
            }
        }
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });

    // Every producer has finished and been joined: nothing more can arrive.
    let closed = producer.is_closed();
    let want_end = if closed {
        PopError::Closed
    } else {
        PopError::Empty
    };
    assert_eq!(
        consumer.try_pop(),
        Err(want_end),
        "value left after the consumer stopped; {plan:?}"
    );
    assert_eq!(consumer.len(), 0, "len() after the drain; {plan:?}");
    assert!(consumer.is_empty(), "is_empty() after the drain; {plan:?}");
    let allocation = consumer.overflow_allocation();
    assert!(
        allocation <= 2 * OVERFLOW_RESERVE,
        "drained, yet {allocation} overflow slots are kept; {plan:?}"
    );

    let mut any_refused = false;
    for (id, (report, seqs)) in reports.iter().zip(&popped).enumerate() {
        let (count, _) = plan.producers[id];
        assert_eq!(
            report.accepted + report.refused,
            u32::from(count),
            "producer {id}: pushes unaccounted; {plan:?}"
        );
        // FIFO and conservation at once: exactly the accepted seqs, each once, in push order.
        let in_order = seqs.iter().copied().eq(0..report.accepted);
        assert!(
            in_order,
            "producer {id}: popped {seqs:?}, expected 0..{} in order; {plan:?}",
            report.accepted
        );
        any_refused |= report.refused > 0;
    }
    if any_refused {
        assert!(closed, "pushes refused without a close; {plan:?}");
    }
    match plan.closer {
        None => assert!(!closed, "closed without anyone closing; {plan:?}"),
        Some(Closer::Consumer { .. }) => assert_eq!(
            closed, closed_by_consumer,
            "close by the consumer; {plan:?}"
        ),
        Some(Closer::Producer { id, before_push }) => {
            let (count, _) = plan.producers[id];
            assert_eq!(
                closed,
                before_push < count,
                "close by producer {id}; {plan:?}"
            );
            if closed {
                // The closing producer's own pushes from `before_push` on are all refused.
                assert_eq!(
                    reports[id].accepted,
                    u32::from(before_push),
                    "closing producer {id}; {plan:?}"
                );
            }
        }
    }
}

/// Deterministic [`ThreadPlan`]s for a plain `cargo test`: a few shapes that spill, close early
/// and close late, on every capacity.
pub fn sample_thread_plans() -> Vec<ThreadPlan> {
    let mut plans = Vec::new();
    for &capacity in &CAPACITIES {
        for closer in [
            None,
            Some(Closer::Consumer { after_pops: 5 }),
            Some(Closer::Producer {
                id: 1,
                before_push: 60,
            }),
        ] {
            plans.push(ThreadPlan {
                capacity,
                producers: vec![
                    (MAX_PUSHES_PER_PRODUCER, 0),
                    (150, 3),
                    (MAX_PUSHES_PER_PRODUCER, 7),
                ],
                consumer_yield_every: 4,
                closer,
            });
        }
    }
    plans
}
