//! Property tests of the loop's promises: random scenarios — pending, fulfilled and rejected
//! promises; resolve, reject, adopt (an older promise or itself) and dropped resolvers, from the
//! test thread, from macrotasks on the loop and from other threads; `then`, `catch`,
//! `then_or_else` and `finally` whose callbacks return values, throw, return `Err`, return
//! promises (older ones, their own derived promise, fresh ones) and settle or register on other
//! promises first; runs of the loop in between — checked against the reference interpreter of
//! JS promise semantics in `eventloop_tests::promise_model`, through the differential harness
//! `eventloop_tests::promise_fuzz` (shared with the fuzz target `promise_ops`): the order and
//! arguments of every callback run, every unhandled / handled-later report, and the final state
//! of every promise.
//!
//! No regression files are written (`failure_persistence: None`); a failure prints the minimal
//! scenario instead. `PROPTEST_CASES` raises the number of cases (default 512 here).
#![cfg(not(loom))]

use eventloop_tests::promise_fuzz::{
    self, Callback, Effect, MAX_BATCH, Op, Returns, Scenario, Step,
};
use proptest::prelude::*;
use proptest::test_runner::Config;

fn small() -> impl Strategy<Value = u8> {
    0u8..8
}

fn callback() -> impl Strategy<Value = Callback> {
    let effect = prop_oneof![
        5 => Just(Effect::None),
        1 => (any::<u8>(), small()).prop_map(|(p, value)| Effect::Resolve { p, value }),
        1 => (any::<u8>(), small()).prop_map(|(p, reason)| Effect::Reject { p, reason }),
        1 => any::<u8>().prop_map(|p| Effect::Then { p }),
    ];
    let returns = prop_oneof![
        5 => small().prop_map(Returns::Value),
        2 => small().prop_map(Returns::Throw),
        1 => small().prop_map(Returns::Reject),
        2 => any::<u8>().prop_map(Returns::Promise),
        1 => Just(Returns::OwnDerived),
        1 => (any::<bool>(), small())
            .prop_map(|(fulfilled, value)| Returns::Fresh { fulfilled, value }),
    ];
    (effect, returns).prop_map(|(effect, returns)| Callback { effect, returns })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => Just(Op::Pending),
        1 => small().prop_map(Op::Fulfilled),
        1 => small().prop_map(Op::Rejected),
        3 => (any::<u8>(), small()).prop_map(|(p, value)| Op::Resolve { p, value }),
        2 => (any::<u8>(), small()).prop_map(|(p, reason)| Op::Reject { p, reason }),
        2 => (any::<u8>(), any::<u8>()).prop_map(|(p, other)| Op::Adopt { p, other }),
        1 => any::<u8>().prop_map(|p| Op::DropResolver { p }),
        6 => (any::<u8>(), callback()).prop_map(|(p, on_fulfilled)| Op::Then { p, on_fulfilled }),
        3 => (any::<u8>(), callback()).prop_map(|(p, on_rejected)| Op::Catch { p, on_rejected }),
        3 => (any::<u8>(), callback(), callback()).prop_map(|(p, on_fulfilled, on_rejected)| {
            Op::ThenOrElse { p, on_fulfilled, on_rejected }
        }),
        3 => (any::<u8>(), callback()).prop_map(|(p, on_finally)| Op::Finally { p, on_finally }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        9 => op().prop_map(Step::Outside),
        2 => prop::collection::vec(op(), 1..=MAX_BATCH).prop_map(Step::Task),
        1 => prop::collection::vec(op(), 1..=MAX_BATCH).prop_map(Step::Thread),
        3 => Just(Step::Run),
    ]
}

fn scenario() -> impl Strategy<Value = Scenario> {
    prop::collection::vec(step(), 0..48).prop_map(|steps| Scenario { steps })
}

/// 512 cases, or `PROPTEST_CASES`.
fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(512);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn promises_match_the_reference_interpreter(s in scenario()) {
        promise_fuzz::check(&s);
    }
}

/// The fixed scenarios of `promise_fuzz::sample_scenarios`, so a plain run shows the
/// interpreter works even if the random cases happen to be short.
#[test]
fn hand_written_scenarios() {
    for scenario in promise_fuzz::sample_scenarios() {
        promise_fuzz::check(&scenario);
    }
}
