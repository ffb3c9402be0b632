//! Replays the committed corpus of the fuzz target `promise_ops` (`fuzz/corpus/promise_ops/`)
//! through `eventloop_tests::promise_fuzz::promise_ops`, so every `cargo test` re-checks the
//! inputs the fuzzer kept, on stable and without libFuzzer. An empty or missing corpus fails the
//! test.
#![cfg(not(loom))]

use eventloop_tests::corpus::replay;
use eventloop_tests::promise_fuzz;

#[test]
fn corpus_promise_ops() {
    replay("promise_ops", promise_fuzz::promise_ops);
}

/// Degenerate inputs decode to trivial cases rather than panicking in the decoder.
#[test]
fn short_inputs_are_valid_cases() {
    for data in [&[][..], &[0], &[0xff; 3], &[0x80; 17], &[0x1f; 64]] {
        promise_fuzz::promise_ops(data);
    }
}

/// The fixed scenarios: every operation, callback effect and return, step kind.
#[test]
fn sample_scenarios() {
    for scenario in promise_fuzz::sample_scenarios() {
        promise_fuzz::check(&scenario);
    }
}
