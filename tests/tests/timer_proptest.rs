//! Property tests of the timer pool: random operation sequences (schedule timeouts and
//! intervals with tied deadlines, cancel live, fired, unknown and firing IDs, take due timers,
//! finish them with or without re-arm, cancel everything, exhaust small ID limits), checked step
//! by step against a `BTreeMap<(deadline, seq), id>` reference by the interpreter in
//! `eventloop_tests::timer_fuzz` (shared with the fuzz target `timer_ops`).
//!
//! No regression files are written (`failure_persistence: None`); a failure prints the minimal
//! scenario instead. Checked once to catch a broken reference: keying the reference's queue by
//! `(deadline, u64::MAX - seq)` (ties newest first) failed on the sixth case and shrank to
//! `[Schedule { delay: 1 }, Schedule { delay: 1 }, Advance(1), Take]`.
#![cfg(not(loom))]

use eventloop_tests::timer_fuzz::{self, Ending, ID_LIMITS, Op, Scenario};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::Config;

fn op() -> impl Strategy<Value = Op> {
    let small = 0u8..8;
    prop_oneof![
        9 => (small.clone(), proptest::option::of(small.clone()), small.clone())
            .prop_map(|(delay, period, nesting)| Op::Schedule { delay, period, nesting }),
        1 => (any::<u8>(), any::<Option<u8>>(), any::<u8>())
            .prop_map(|(delay, period, nesting)| Op::Schedule { delay, period, nesting }),
        4 => small.clone().prop_map(|back| Op::Cancel { back }),
        1 => any::<u8>().prop_map(|back| Op::Cancel { back }),
        2 => any::<u8>().prop_map(Op::CancelFiring),
        3 => (0u8..6).prop_map(Op::Advance),
        4 => Just(Op::Take),
        4 => (any::<u8>(), any::<bool>()).prop_map(|(which, rearm)| Op::Finish { which, rearm }),
        3 => Just(Op::FireAll),
        1 => Just(Op::CancelAll),
    ]
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        select(ID_LIMITS.to_vec()),
        prop::collection::vec(op(), 0..200),
        select(vec![Ending::CancelAll, Ending::Drop]),
    )
        .prop_map(|(id_limit, ops, ending)| Scenario {
            id_limit,
            ops,
            ending,
        })
}

proptest! {
    #![proptest_config(Config { cases: 512, failure_persistence: None, ..Config::default() })]

    #[test]
    fn timer_pool_matches_reference(s in scenario()) {
        timer_fuzz::check(&s);
    }
}

/// The fixed scenarios of `timer_fuzz::sample_scenarios`, so a plain run shows the interpreter
/// works even if the random cases happen to be short.
#[test]
fn hand_written_scenarios() {
    for scenario in timer_fuzz::sample_scenarios() {
        timer_fuzz::check(&scenario);
    }
}
