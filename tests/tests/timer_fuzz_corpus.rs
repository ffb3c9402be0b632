//! Replays the committed corpus of the fuzz target `timer_ops` (`fuzz/corpus/timer_ops/`)
//! through `eventloop_tests::timer_fuzz::timer_ops`, so every `cargo test` re-checks the inputs
//! the fuzzer kept, on stable and without libFuzzer. An empty or missing corpus fails the test.
#![cfg(not(loom))]

use eventloop_tests::corpus::replay;
use eventloop_tests::timer_fuzz;

#[test]
fn corpus_timer_ops() {
    replay("timer_ops", timer_fuzz::timer_ops);
}

/// Degenerate inputs decode to trivial cases rather than panicking in the decoder.
#[test]
fn short_inputs_are_valid_cases() {
    for data in [&[][..], &[0], &[0xff; 3], &[0x80; 17], &[0x1f; 64]] {
        timer_fuzz::timer_ops(data);
    }
}

/// The fixed scenarios: every operation, both endings, every ID limit (exhaustion included).
#[test]
fn sample_scenarios() {
    for scenario in timer_fuzz::sample_scenarios() {
        timer_fuzz::check(&scenario);
    }
}
