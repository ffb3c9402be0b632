//! Replays the committed corpus of the fuzz target `registry_ops` (`fuzz/corpus/registry_ops/`)
//! through `eventloop_tests::registry_fuzz::registry_ops`, so every `cargo test` re-checks the
//! inputs the fuzzer kept, on stable and without libFuzzer. An empty or missing corpus fails the
//! test.
#![cfg(not(loom))]

use eventloop_tests::corpus::replay;
use eventloop_tests::registry_fuzz;

#[test]
fn corpus_registry_ops() {
    replay("registry_ops", registry_fuzz::registry_ops);
}

/// Degenerate inputs decode to trivial cases rather than panicking in the decoder.
#[test]
fn registry_short_inputs_are_valid_cases() {
    for data in [&[][..], &[0], &[0xff; 3], &[0x08; 17], &[0x1f; 64]] {
        registry_fuzz::registry_ops(data);
    }
}

/// The fixed scenarios: sweeps with and without growth, scavenges of every size, compaction,
/// reactions across the shutdown, registrations after it.
#[test]
fn registry_sample_scenarios() {
    for scenario in registry_fuzz::sample_scenarios() {
        registry_fuzz::check(&scenario);
    }
}
