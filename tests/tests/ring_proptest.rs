//! Property tests of the microtask ring: random single-threaded operation sequences, checked
//! step by step against a `VecDeque` by the interpreter in `eventloop_tests::ring_model`
//! (values, `try_pop` error kinds, `len`/`is_empty`, close, drops, overflow shrinking).
//!
//! A plain `proptest!` over whole scenarios: the interpreter is shared with the fuzz target
//! `ring_push_pop`, and a failing case shrinks to a short operation list. No regression files
//! are written (`failure_persistence: None`); a failure prints the minimal scenario instead.
#![cfg(not(loom))]

use eventloop_core::ring::{self, PopError};
use eventloop_tests::ring_model::{self, CAPACITIES, Ending, MAX_BURST, Op, Scenario};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::Config;

fn op(capacity: usize) -> impl Strategy<Value = Op> {
    let small_burst = u16::try_from(3 * capacity).unwrap_or(u16::MAX);
    prop_oneof![
        10 => any::<u16>().prop_map(Op::Push),
        10 => Just(Op::Pop),
        4 => (0..=small_burst).prop_map(Op::PushMany),
        1 => (0..=MAX_BURST).prop_map(Op::PushMany),
        4 => (0..=small_burst + 2).prop_map(Op::PopMany),
        2 => Just(Op::Drain),
        1 => any::<bool>().prop_map(|by_consumer| Op::Close { by_consumer }),
    ]
}

fn scenario() -> impl Strategy<Value = Scenario> {
    select(CAPACITIES.to_vec()).prop_flat_map(|capacity| {
        let ending = select(vec![
            Ending::Drain,
            Ending::DropConsumerFirst,
            Ending::DropProducerFirst,
        ]);
        (prop::collection::vec(op(capacity), 0..160), ending).prop_map(move |(ops, ending)| {
            Scenario {
                capacity,
                ops,
                ending,
            }
        })
    })
}

/// Like [`scenario`], but never closes: long open runs, where the overflow comes and goes.
fn open_scenario() -> impl Strategy<Value = Scenario> {
    scenario().prop_map(|mut s| {
        s.ops.retain(|op| !matches!(op, Op::Close { .. }));
        s
    })
}

proptest! {
    #![proptest_config(Config { cases: 512, failure_persistence: None, ..Config::default() })]

    #[test]
    fn ring_matches_vecdeque(s in scenario()) {
        ring_model::check(&s);
    }

    #[test]
    fn open_ring_matches_vecdeque(s in open_scenario()) {
        ring_model::check(&s);
    }
}

/// A fixed scenario through every feature of the interpreter, so a plain run shows it works
/// even if the random ones happen to be short.
#[test]
fn hand_written_scenarios() {
    for capacity in CAPACITIES {
        for ending in [
            Ending::Drain,
            Ending::DropConsumerFirst,
            Ending::DropProducerFirst,
        ] {
            let ops = vec![
                Op::Push(1),
                Op::PushMany(200),
                Op::Pop,
                Op::Push(2),
                Op::PopMany(100),
                Op::Drain,
                Op::PushMany(3),
                Op::Close {
                    by_consumer: capacity % 4 == 0,
                },
                Op::Push(9),
                Op::Close { by_consumer: true },
                Op::PopMany(2),
            ];
            ring_model::check(&Scenario {
                capacity,
                ops,
                ending,
            });
        }
    }
}

/// Regression: the proptest found that `is_empty()` stayed `false` after an overflow batch had
/// been popped to the end (the `spilled` flag then covered the consumer's stash too and was
/// cleared only by a later `try_pop`). `spilled` now means "the shared queue is non-empty" and is
/// cleared when the consumer takes the batch, so `is_empty()` agrees with `len()`.
#[test]
fn is_empty_agrees_with_len_after_an_overflow_drain() {
    let (producer, mut consumer) = ring::with_capacity::<u32>(2).unwrap();
    for value in 0..3 {
        producer.push(value).unwrap(); // the third spills into the overflow
    }
    for value in 0..3 {
        assert_eq!(consumer.pop(), Some(value));
    }
    assert_eq!(consumer.len(), 0);
    assert!(consumer.is_empty(), "len() is 0 but is_empty() is false");
    assert_eq!(consumer.try_pop(), Err(PopError::Empty));
}
